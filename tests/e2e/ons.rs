//! The ONS data platform, `ons-data-platform` on its dev, staging and prod
//! stacks, as a user runs it: preview offline from empty state, up against
//! the emulator, the platform's values checked through the SDK (the Batch
//! path for large files, the knowledge base on OpenSearch Serverless, the
//! API through the api function's `live` alias included), a refresh that
//! finds nothing to change, one config change (a Lambda's memory) planned as
//! exactly one in-place update and applied, destroy, and nothing of the
//! stack left in the emulator.
//!
//! The emulator creates no vector index in the collection and runs no Batch
//! job or workflow: what is checked is what AWS would hold.

use aws_sdk_ec2::types::Filter;

use crate::cli::*;

const BIN: &str = "ons-data-platform";

/// What a stack's config says it holds.
struct Expected {
    env: &'static str,
    /// router, processor, api, loader memory (MB).
    memory: [i32; 4],
    rate: f64,
    burst: i32,
    magnetic_days: i64,
    log_days: i32,
    /// Availability zones of the VPC (a private subnet each).
    zones: usize,
    /// `FARGATE` or `FARGATE_SPOT`.
    capacity: &'static str,
    /// vCPUs and memory (MiB) of the Batch job, and the environment's ceiling.
    job_vcpu: f64,
    job_memory: i32,
    max_vcpus: i32,
    job_attempts: i32,
    job_timeout: i32,
    /// Standby replicas of the vector collection.
    standby: bool,
}

/// The large-file threshold of every stack's config (100 MiB), in bytes.
const THRESHOLD_BYTES: f64 = 100.0 * 1024.0 * 1024.0;
const TITAN_V2: &str = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0";

/// A policy document the SDK hands back, as JSON.
fn doc_json(d: &aws_smithy_types::Document) -> serde_json::Value {
    use aws_smithy_types::{Document, Number};
    match d {
        Document::Object(o) => serde_json::Value::Object(o.iter().map(|(k, v)| (k.clone(), doc_json(v))).collect()),
        Document::Array(a) => serde_json::Value::Array(a.iter().map(doc_json).collect()),
        Document::Number(Number::PosInt(n)) => (*n).into(),
        Document::Number(Number::NegInt(n)) => (*n).into(),
        Document::Number(Number::Float(f)) => serde_json::json!(f),
        Document::String(s) => s.clone().into(),
        Document::Bool(b) => (*b).into(),
        Document::Null => serde_json::Value::Null,
    }
}

async fn lifecycle(x: Expected) {
    let run = StackRun::new(BIN, &config_dir("ons-data-platform"), x.env);
    let aws = aws();
    let p = format!("ons-{}", x.env);

    // Preview from empty state needs no cloud.
    let out = run.offline(&["preview"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "offline preview failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("to create") && text.contains("(known after apply)"), "{text}");
    for output in [
        "api_gateway_url",
        "raw_bucket",
        "processed_bucket",
        "failed_bucket",
        "state_machine_arn",
        "knowledge_base_id",
        "opensearch_collection_endpoint",
    ] {
        assert!(text.contains(output), "output {output} in the plan: {text}");
    }

    let up = run.ok(&["up", "--yes"]);

    // S3: three encrypted, versioned, access-logged buckets; raw events to
    // EventBridge.
    let s3 = aws.s3().await;
    for b in ["raw", "processed", "failed"] {
        let name = format!("{p}-data-{b}");
        let enc = s3.get_bucket_encryption().bucket(&name).send().await.unwrap();
        let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
        assert_eq!(rule.apply_server_side_encryption_by_default().unwrap().sse_algorithm().as_str(), "AES256", "{b}");
        let v = s3.get_bucket_versioning().bucket(&name).send().await.unwrap();
        assert_eq!(v.status().map(|s| s.as_str()), Some("Enabled"), "{b} versioned");
        let l = s3.get_bucket_logging().bucket(&name).send().await.unwrap();
        assert_eq!(l.logging_enabled().unwrap().target_bucket(), format!("{p}-data-access-logs"), "{b} logged");
        let lc = s3.get_bucket_lifecycle_configuration().bucket(&name).send().await.unwrap();
        assert!(!lc.rules().is_empty(), "{b} lifecycle");
    }
    let n = s3.get_bucket_notification_configuration().bucket(format!("{p}-data-raw")).send().await.unwrap();
    assert!(n.event_bridge_configuration().is_some(), "raw bucket events to EventBridge");

    // Lambda: four functions with their memory, env encrypted with our key.
    let lambda = aws.lambda().await;
    for (name, memory) in ["router", "processor", "api", "loader"].into_iter().zip(x.memory) {
        let f = lambda.get_function_configuration().function_name(format!("{p}-{name}")).send().await.unwrap();
        assert_eq!(f.memory_size(), Some(memory), "{name} memory");
        assert!(f.kms_key_arn().is_some_and(|k| k.contains(":key/")), "{name} env encrypted: {:?}", f.kms_key_arn());
        assert_eq!(f.environment().unwrap().variables().unwrap()["ENVIRONMENT"], x.env);
    }
    let alias = lambda.get_alias().function_name(format!("{p}-api")).name("live").send().await.unwrap();
    assert_eq!(alias.function_version(), Some("1"), "live alias on the published version");

    // EventBridge: new raw files to the router.
    let eb = aws.eventbridge().await;
    let rule = eb.describe_rule().name(format!("{p}-raw-file-created")).send().await.unwrap();
    assert!(rule.event_pattern().unwrap().contains(&format!("{p}-data-raw")));
    let targets = eb.list_targets_by_rule().rule(format!("{p}-raw-file-created")).send().await.unwrap();
    assert!(targets.targets().iter().any(|t| t.arn().ends_with(&format!(":function:{p}-router"))), "to the router");

    // Step Functions: process then load.
    let sfn = aws.sfn().await;
    let machines = sfn.list_state_machines().send().await.unwrap();
    let arn = machines
        .state_machines()
        .iter()
        .find(|m| m.name() == format!("{p}-processing"))
        .expect("the processing state machine")
        .state_machine_arn()
        .to_owned();
    let sm = sfn.describe_state_machine().state_machine_arn(&arn).send().await.unwrap();
    let def: serde_json::Value = serde_json::from_str(sm.definition()).unwrap();
    assert!(up.contains(&arn), "state_machine_arn output: {up}");
    let router = lambda.get_function_configuration().function_name(format!("{p}-router")).send().await.unwrap();
    assert_eq!(
        router.environment().unwrap().variables().unwrap()["STATE_MACHINE_ARN"],
        arn,
        "the router starts the workflow"
    );

    // Batch: large files to a Fargate job in the stack's private subnets.
    let ec2 = aws.ec2().await;
    let vpcs = ec2
        .describe_vpcs()
        .filters(Filter::builder().name("tag:iac:stack").values(format!("ons-data-platform/{}", x.env)).build())
        .send()
        .await
        .unwrap();
    assert_eq!(vpcs.vpcs().len(), 1, "one VPC");
    let vpc_id = vpcs.vpcs()[0].vpc_id().unwrap().to_owned();
    let by_vpc = || Filter::builder().name("vpc-id").values(&vpc_id).build();
    let private = ec2
        .describe_subnets()
        .filters(by_vpc())
        .filters(Filter::builder().name("tag:Tier").values("private").build())
        .send()
        .await
        .unwrap();
    let mut private: Vec<String> = private.subnets().iter().filter_map(|s| s.subnet_id()).map(str::to_owned).collect();
    private.sort();
    assert_eq!(private.len(), x.zones, "a private subnet per zone");
    let sgs = ec2
        .describe_security_groups()
        .filters(by_vpc())
        .filters(Filter::builder().name("group-name").values(format!("{p}-batch")).build())
        .send()
        .await
        .unwrap();
    let sg_id = sgs.security_groups()[0].group_id().unwrap().to_owned();
    let batch = aws.batch().await;
    let ces = batch.describe_compute_environments().compute_environments(format!("{p}-large-files")).send().await;
    let ces = ces.unwrap();
    let ce = &ces.compute_environments()[0];
    assert_eq!(ce.state().map(|s| s.as_str()), Some("ENABLED"));
    assert_eq!(ce.status().map(|s| s.as_str()), Some("VALID"));
    let cr = ce.compute_resources().unwrap();
    assert_eq!(cr.r#type().map(|t| t.as_str()), Some(x.capacity));
    assert_eq!(cr.maxv_cpus(), Some(x.max_vcpus));
    let mut subnets = cr.subnets().to_vec();
    subnets.sort();
    assert_eq!(subnets, private, "jobs in the private subnets");
    assert_eq!(cr.security_group_ids(), [sg_id], "the jobs' own security group");
    let queues = batch.describe_job_queues().job_queues(format!("{p}-large-files")).send().await.unwrap();
    let queue = &queues.job_queues()[0];
    assert_eq!(queue.state().map(|s| s.as_str()), Some("ENABLED"));
    let order = queue.compute_environment_order();
    assert_eq!(order.len(), 1);
    assert_eq!(order[0].compute_environment(), ce.compute_environment_arn(), "the queue feeds the environment");
    let queue_arn = queue.job_queue_arn().unwrap().to_owned();
    assert!(up.contains(&queue_arn), "batch_job_queue_arn output: {up}");
    let defs = batch
        .describe_job_definitions()
        .job_definition_name(format!("{p}-large-file-processor"))
        .status("ACTIVE")
        .send()
        .await
        .unwrap();
    assert_eq!(defs.job_definitions().len(), 1, "one active revision");
    let jd = &defs.job_definitions()[0];
    assert_eq!(jd.platform_capabilities().iter().map(|c| c.as_str()).collect::<Vec<_>>(), ["FARGATE"]);
    assert_eq!(jd.retry_strategy().and_then(|r| r.attempts()), Some(x.job_attempts));
    assert_eq!(jd.timeout().and_then(|t| t.attempt_duration_seconds()), Some(x.job_timeout));
    let c = jd.container_properties().unwrap();
    let requirement = |t: &str| {
        c.resource_requirements().iter().find(|r| r.r#type().map(|t| t.as_str()) == Some(t)).and_then(|r| r.value())
    };
    assert_eq!(requirement("VCPU").and_then(|v| v.parse::<f64>().ok()), Some(x.job_vcpu));
    assert_eq!(requirement("MEMORY").and_then(|v| v.parse::<i32>().ok()), Some(x.job_memory));
    assert!(c.image().unwrap().ends_with(&format!("/{p}-batch-processor:latest")), "{:?}", c.image());
    assert!(c.execution_role_arn().unwrap().ends_with(&format!(":role/{p}-batch-execution")));
    assert!(c.job_role_arn().unwrap().ends_with(&format!(":role/{p}-batch-job")));
    assert!(c.command().contains(&"Ref::key".to_owned()), "the file's key from the submit: {:?}", c.command());
    let log = c.log_configuration().unwrap();
    assert_eq!(log.log_driver().map(|d| d.as_str()), Some("awslogs"));
    let log_options = log.options().unwrap();
    assert_eq!(log_options["awslogs-group"], format!("/aws/batch/{p}-large-files"), "the job's own log group");
    let groups = aws.logs().await.describe_log_groups().log_group_name_prefix(format!("/aws/batch/{p}-")).send();
    let groups = groups.await.unwrap();
    assert_eq!(groups.log_groups().len(), 1);
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(x.log_days));
    let repos = aws.ecr().await.describe_repositories().repository_names(format!("{p}-batch-processor")).send();
    assert_eq!(repos.await.unwrap().repositories().len(), 1, "the processor image's repository");

    // Step Functions: files above the threshold to the Batch job (waiting
    // for it), the rest to the processor Lambda; both then load.
    assert_eq!(def["StartAt"], "Route");
    let route = &def["States"]["Route"];
    assert_eq!(route["Type"], "Choice");
    assert_eq!(route["Choices"][0]["Next"], "ProcessLarge");
    let rule = route["Choices"][0]["And"].as_array().expect("size present and above the threshold");
    assert!(
        rule.iter().any(|c| c["Variable"] == "$.size" && c["NumericGreaterThan"].as_f64() == Some(THRESHOLD_BYTES)),
        "{route}"
    );
    assert_eq!(route["Default"], "Process");
    let large = &def["States"]["ProcessLarge"];
    assert_eq!(large["Resource"], "arn:aws:states:::batch:submitJob.sync");
    assert_eq!(large["Parameters"]["JobQueue"], queue_arn.as_str());
    assert_eq!(large["Parameters"]["JobDefinition"], jd.job_definition_arn().unwrap());
    assert_eq!(large["Parameters"]["Parameters"]["key.$"], "$.key");
    assert_eq!(large["Next"], "Load");
    assert_eq!(def["States"]["Process"]["Next"], "Load");
    assert_eq!(def["States"]["Load"]["Next"], "Done");

    // OpenSearch Serverless: the vector collection and its policies.
    let aoss = aws.opensearchserverless().await;
    let cols = aoss.list_collections().send().await.unwrap();
    let col = cols
        .collection_summaries()
        .iter()
        .find(|c| c.name() == Some(&format!("{p}-kb")))
        .expect("the knowledge base's collection");
    let got = aoss.batch_get_collection().ids(col.id().unwrap()).send().await.unwrap();
    let col = &got.collection_details()[0];
    assert_eq!(col.r#type().map(|t| t.as_str()), Some("VECTORSEARCH"));
    assert_eq!(col.status().map(|s| s.as_str()), Some("ACTIVE"));
    assert_eq!(col.standby_replicas().map(|s| s.as_str()), Some(if x.standby { "ENABLED" } else { "DISABLED" }));
    assert_eq!(col.kms_key_arn(), Some("auto"), "the AWS-owned key of its encryption policy");
    let collection_arn = col.arn().unwrap().to_owned();
    let endpoint = col.collection_endpoint().unwrap();
    assert!(up.contains(endpoint), "opensearch_collection_endpoint output: {up}");
    let policy = |kind: &'static str, name: String| {
        let aoss = aoss.clone();
        async move {
            let got = aoss.get_security_policy().r#type(kind.into()).name(name).send().await.unwrap();
            doc_json(got.security_policy_detail().unwrap().policy().unwrap())
        }
    };
    let enc = policy("encryption", format!("{p}-kb-encryption")).await;
    assert_eq!(enc["AWSOwnedKey"], true);
    assert_eq!(enc["Rules"][0]["Resource"][0], format!("collection/{p}-kb"));
    let net = policy("network", format!("{p}-kb-network")).await;
    assert_eq!(net[0]["Rules"][0]["Resource"][0], format!("collection/{p}-kb"));
    assert_eq!(net[0]["AllowFromPublic"], true);
    let access = aoss.get_access_policy().r#type("data".into()).name(format!("{p}-kb-access")).send().await.unwrap();
    let access = doc_json(access.access_policy_detail().unwrap().policy().unwrap());
    let principals = access[0]["Principal"].as_array().unwrap();
    assert!(
        principals.len() == 1 && principals[0].as_str().unwrap().ends_with(&format!(":role/{p}-kb")),
        "only the knowledge base's role: {access}"
    );
    let index_rule = access[0]["Rules"].as_array().unwrap().iter().find(|r| r["ResourceType"] == "index").unwrap();
    assert_eq!(index_rule["Resource"][0], format!("index/{p}-kb/*"));
    assert!(index_rule["Permission"].as_array().unwrap().iter().any(|p| p == "aoss:WriteDocument"), "{access}");

    // Bedrock: the knowledge base in the collection, over the processed
    // bucket.
    let ba = aws.bedrockagent().await;
    let kbs = ba.list_knowledge_bases().send().await.unwrap();
    let kb_id = kbs
        .knowledge_base_summaries()
        .iter()
        .find(|k| k.name() == format!("{p}-knowledge-base"))
        .expect("the knowledge base")
        .knowledge_base_id()
        .to_owned();
    assert!(
        up.lines().any(|l| l.contains("knowledge_base_id") && l.contains(&kb_id)),
        "knowledge_base_id output: {up}"
    );
    let kb = ba.get_knowledge_base().knowledge_base_id(&kb_id).send().await.unwrap().knowledge_base.unwrap();
    assert_eq!(kb.status().as_str(), "ACTIVE");
    assert!(kb.role_arn().ends_with(&format!(":role/{p}-kb")));
    let vector = kb.knowledge_base_configuration().unwrap().vector_knowledge_base_configuration().unwrap();
    assert_eq!(vector.embedding_model_arn(), TITAN_V2);
    let dims = vector.embedding_model_configuration().and_then(|e| e.bedrock_embedding_model_configuration());
    assert_eq!(dims.and_then(|d| d.dimensions()), Some(1024));
    let store = kb.storage_configuration().unwrap().opensearch_serverless_configuration().unwrap();
    assert_eq!(store.collection_arn(), collection_arn, "vectors in the stack's collection");
    assert_eq!(store.vector_index_name(), "bedrock-knowledge-base-default-index");
    assert_eq!(store.field_mapping().unwrap().vector_field(), "bedrock-knowledge-base-default-vector");
    let sources = ba.list_data_sources().knowledge_base_id(&kb_id).send().await.unwrap();
    assert_eq!(sources.data_source_summaries().len(), 1, "one data source");
    let ds_id = sources.data_source_summaries()[0].data_source_id().to_owned();
    let ds = ba.get_data_source().knowledge_base_id(&kb_id).data_source_id(&ds_id).send().await.unwrap();
    let ds = ds.data_source.unwrap();
    assert_eq!(ds.name(), "processed-data");
    let s3_source = ds.data_source_configuration().unwrap().s3_configuration().unwrap();
    assert_eq!(s3_source.bucket_arn(), format!("arn:aws:s3:::{p}-data-processed"), "over the processed bucket");
    let chunking = ds.vector_ingestion_configuration().unwrap().chunking_configuration().unwrap();
    let fixed = chunking.fixed_size_chunking_configuration().unwrap();
    assert_eq!((fixed.max_tokens(), fixed.overlap_percentage()), (300, 20));

    // Timestream: the database and its tables' retention.
    let ts = aws.timestream().await.expect("timestream client").clone();
    for table in ["generation", "consumption"] {
        let t = ts.describe_table().database_name(format!("{p}-energy")).table_name(table).send().await.unwrap();
        let r = t.table.unwrap();
        let r = r.retention_properties().unwrap();
        assert_eq!(r.memory_store_retention_period_in_hours(), 24, "{table}");
        assert_eq!(r.magnetic_store_retention_period_in_days(), x.magnetic_days, "{table}");
    }

    // API Gateway: the stage's throttling and the usage plan.
    let gw = aws.apigateway().await;
    let apis = gw.get_rest_apis().send().await.unwrap();
    let api = apis.items().iter().find(|a| a.name() == Some(&format!("{p}-api"))).expect("the REST API");
    let api_id = api.id().unwrap().to_owned();
    let stage = gw.get_stage().rest_api_id(&api_id).stage_name(x.env).send().await.unwrap();
    let m = &stage.method_settings().unwrap()["*/*"];
    assert_eq!((m.throttling_rate_limit(), m.throttling_burst_limit()), (x.rate, x.burst), "stage throttling");
    let plans = gw.get_usage_plans().send().await.unwrap();
    let plan = plans.items().iter().find(|u| u.name() == Some(&format!("{p}-api"))).expect("the usage plan");
    assert_eq!(plan.api_stages()[0].stage(), Some(x.env));
    assert_eq!(plan.throttle().unwrap().rate_limit(), x.rate);
    let url = format!("https://{api_id}.execute-api.us-east-1.amazonaws.com/{}", x.env);
    assert!(up.contains(&url), "api_gateway_url {url} in the outputs: {up}");
    // Through the `live` alias: the integration invokes it, and its own
    // policy lets this API do so.
    let resources = gw.get_resources().rest_api_id(&api_id).send().await.unwrap();
    let proxy = resources.items().iter().find(|r| r.path() == Some("/{proxy+}")).expect("the proxy resource");
    let integration =
        gw.get_integration().rest_api_id(&api_id).resource_id(proxy.id().unwrap()).http_method("ANY").send().await;
    let integration = integration.unwrap();
    assert_eq!(integration.r#type().map(|t| t.as_str()), Some("AWS_PROXY"));
    let uri = integration.uri().unwrap();
    assert!(
        uri.starts_with("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:")
            && uri.ends_with(&format!(":function:{p}-api:live/invocations")),
        "the integration invokes the live alias: {uri}"
    );
    let policy = lambda.get_policy().function_name(format!("{p}-api")).qualifier("live").send().await.unwrap();
    let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let statement = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "api-gateway")
        .expect("API Gateway's statement on the alias");
    assert!(statement["Resource"].as_str().unwrap().ends_with(&format!(":function:{p}-api:live")), "{statement}");
    assert_eq!(statement["Principal"]["Service"], "apigateway.amazonaws.com");
    assert!(statement.to_string().contains(&format!(":{api_id}/*/*")), "only this API: {statement}");
    let unqualified = lambda.get_policy().function_name(format!("{p}-api")).send().await;
    assert!(
        unqualified.map_or(true, |o| !o.policy().unwrap_or_default().contains("api-gateway")),
        "nothing on the unqualified function"
    );

    // Alarms to SNS.
    let cw = aws.cloudwatch().await;
    let alarms = cw.describe_alarms().alarm_name_prefix(format!("{p}-")).send().await.unwrap();
    for suffix in ["router-errors", "api-duration", "loader-throttles", "api-4xx", "api-5xx", "api-latency"] {
        let a = alarms.metric_alarms().iter().find(|a| a.alarm_name() == Some(&format!("{p}-{suffix}")));
        let a = a.unwrap_or_else(|| panic!("alarm {suffix}"));
        assert!(a.alarm_actions()[0].ends_with(&format!(":{p}-alerts")), "{suffix} notifies the topic");
    }
    let a = alarms.metric_alarms().iter().find(|a| a.alarm_name() == Some(&format!("{p}-api-duration"))).unwrap();
    assert_eq!(a.threshold(), Some(29_000.0 * 0.8), "api duration alarm at 80% of its timeout");
    let groups = aws.logs().await.describe_log_groups().log_group_name_prefix(format!("/aws/lambda/{p}-")).send();
    let groups = groups.await.unwrap();
    assert_eq!(groups.log_groups().len(), 4, "a log group per function");
    assert!(groups.log_groups().iter().all(|g| g.retention_in_days() == Some(x.log_days)));

    // CodeDeploy: canary on the api function, rolled back on its alarms.
    let cd = aws.codedeploy().await;
    let g = cd
        .get_deployment_group()
        .application_name(format!("{p}-api"))
        .deployment_group_name(format!("{p}-api-live"))
        .send()
        .await
        .unwrap();
    let g = g.deployment_group_info().unwrap();
    assert_eq!(g.deployment_config_name(), Some("CodeDeployDefault.LambdaCanary10Percent5Minutes"));
    let names: Vec<&str> = g.alarm_configuration().unwrap().alarms().iter().filter_map(|a| a.name()).collect();
    assert!(names.contains(&format!("{p}-api-5xx").as_str()), "{names:?}");
    assert!(g.auto_rollback_configuration().unwrap().enabled());

    // AppConfig: the feature-flag profile of the platform's application.
    let ac = aws.appconfig().await;
    let apps = ac.list_applications().send().await.unwrap();
    let app = apps.items().iter().find(|a| a.name() == Some(&format!("{p}-platform"))).expect("AppConfig app");
    let profiles = ac.list_configuration_profiles().application_id(app.id().unwrap()).send().await.unwrap();
    assert!(
        profiles
            .items()
            .iter()
            .any(|c| c.name() == Some("feature-flags") && c.r#type() == Some("AWS.AppConfig.FeatureFlags")),
        "feature flags profile"
    );

    run.assert_converged();

    // One config value: one in-place update, and nothing else.
    let from = format!("memory = {}", x.memory[0]);
    let to = format!("memory = {}", x.memory[0] * 2);
    run.edit_config("[functions.router]", &from, &to);
    let out = run.cli(&["preview", "--detailed-exitcode"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "changes planned: {text}");
    assert!(text.contains("router") && text.contains("1 to update"), "{text}");
    assert!(!text.contains("to create") && !text.contains("to delete") && !text.contains("to replace"), "{text}");
    run.ok(&["up", "--yes"]);
    let f = lambda.get_function_configuration().function_name(format!("{p}-router")).send().await.unwrap();
    assert_eq!(f.memory_size(), Some(x.memory[0] * 2));
    run.assert_converged();

    if x.env == "prod" {
        // Prod's buckets are not emptied by destroy: let it, as an operator would.
        run.edit_config("force_destroy", "false", "true");
        run.ok(&["up", "--yes"]);
    }
    run.ok(&["destroy", "--yes"]);

    // Nothing of the stack is left.
    let buckets = s3.list_buckets().send().await.unwrap();
    assert!(buckets.buckets().iter().all(|b| !b.name().unwrap().starts_with(&format!("{p}-"))), "buckets gone");
    let fns = lambda.list_functions().send().await.unwrap();
    assert!(
        fns.functions().iter().all(|f| !f.function_name().unwrap().starts_with(&format!("{p}-"))),
        "functions gone"
    );
    assert!(eb.describe_rule().name(format!("{p}-raw-file-created")).send().await.is_err(), "rule gone");
    assert!(sfn.describe_state_machine().state_machine_arn(&arn).send().await.is_err(), "state machine gone");
    assert!(ts.describe_database().database_name(format!("{p}-energy")).send().await.is_err(), "database gone");
    let apis = gw.get_rest_apis().send().await.unwrap();
    assert!(apis.items().iter().all(|a| a.name() != Some(&format!("{p}-api"))), "API gone");
    let plans = gw.get_usage_plans().send().await.unwrap();
    assert!(plans.items().iter().all(|u| u.name() != Some(&format!("{p}-api"))), "usage plan gone");
    let keys = gw.get_api_keys().send().await.unwrap();
    assert!(keys.items().iter().all(|k| k.name() != Some(&format!("{p}-clients"))), "API key gone");
    let alarms = cw.describe_alarms().alarm_name_prefix(format!("{p}-")).send().await.unwrap();
    assert!(alarms.metric_alarms().is_empty(), "alarms gone");
    let roles = aws.iam().await.list_roles().send().await.unwrap();
    assert!(roles.roles().iter().all(|r| !r.role_name().starts_with(&format!("{p}-"))), "roles gone");
    let groups = aws.logs().await.describe_log_groups().log_group_name_prefix(format!("/aws/lambda/{p}-")).send();
    assert!(groups.await.unwrap().log_groups().is_empty(), "log groups gone");
    let apps = aws.codedeploy().await.list_applications().send().await.unwrap();
    assert!(apps.applications().iter().all(|a| a != &format!("{p}-api")), "CodeDeploy application gone");
    let apps = aws.appconfig().await.list_applications().send().await.unwrap();
    assert!(apps.items().iter().all(|a| a.name() != Some(&format!("{p}-platform"))), "AppConfig app gone");
    let topics = aws.sns().await.list_topics().send().await.unwrap();
    assert!(topics.topics().iter().all(|t| !t.topic_arn().unwrap().ends_with(&format!(":{p}-alerts"))));
    // The Batch path, its network and image repository.
    let ces = batch.describe_compute_environments().send().await.unwrap();
    assert!(
        ces.compute_environments().iter().all(|c| c.compute_environment_name() != Some(&format!("{p}-large-files"))),
        "compute environment gone"
    );
    let queues = batch.describe_job_queues().send().await.unwrap();
    assert!(queues.job_queues().iter().all(|q| q.job_queue_name() != Some(&format!("{p}-large-files"))), "queue gone");
    let defs = batch.describe_job_definitions().status("ACTIVE").send().await.unwrap();
    assert!(
        defs.job_definitions().iter().all(|d| d.job_definition_name() != Some(&format!("{p}-large-file-processor"))),
        "job definition deregistered"
    );
    let repos = aws.ecr().await.describe_repositories().send().await.unwrap();
    assert!(
        repos.repositories().iter().all(|r| r.repository_name() != Some(&format!("{p}-batch-processor"))),
        "repository gone"
    );
    let vpcs = ec2.describe_vpcs().filters(by_vpc()).send().await.unwrap();
    assert!(vpcs.vpcs().is_empty(), "VPC gone");
    let sgs = ec2
        .describe_security_groups()
        .filters(Filter::builder().name("group-name").values(format!("{p}-batch")).build())
        .send()
        .await
        .unwrap();
    assert!(sgs.security_groups().is_empty(), "security group gone");
    let network_roles = format!("{}-ons-network", x.env);
    assert!(roles.roles().iter().all(|r| !r.role_name().starts_with(&network_roles)), "flow-log role gone");
    let groups = aws.logs().await.describe_log_groups().send().await.unwrap();
    assert!(
        groups.log_groups().iter().all(|g| {
            let name = g.log_group_name().unwrap_or_default();
            !name.starts_with(&format!("/aws/batch/{p}-")) && !name.starts_with(&format!("/vpc/{network_roles}/"))
        }),
        "Batch and flow-log groups gone"
    );
    // The knowledge base, its collection and policies.
    let kbs = ba.list_knowledge_bases().send().await.unwrap();
    assert!(
        kbs.knowledge_base_summaries().iter().all(|k| k.name() != format!("{p}-knowledge-base")),
        "knowledge base gone"
    );
    assert!(ba.list_data_sources().knowledge_base_id(&kb_id).send().await.is_err(), "its data source with it");
    let cols = aoss.list_collections().send().await.unwrap();
    assert!(cols.collection_summaries().iter().all(|c| c.name() != Some(&format!("{p}-kb"))), "collection gone");
    for kind in ["encryption", "network"] {
        let listed = aoss.list_security_policies().r#type(kind.into()).send().await.unwrap();
        assert!(
            listed
                .security_policy_summaries()
                .iter()
                .all(|s| !s.name().unwrap_or_default().starts_with(&format!("{p}-kb"))),
            "{kind} policy gone"
        );
    }
    let listed = aoss.list_access_policies().r#type("data".into()).send().await.unwrap();
    assert!(
        listed.access_policy_summaries().iter().all(|s| !s.name().unwrap_or_default().starts_with(&format!("{p}-kb"))),
        "access policy gone"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_platform_deploys_converges_updates_and_destroys() {
    lifecycle(Expected {
        env: "dev",
        memory: [256, 1024, 256, 512],
        rate: 50.0,
        burst: 100,
        magnetic_days: 30,
        log_days: 7,
        zones: 2,
        capacity: "FARGATE_SPOT",
        job_vcpu: 1.0,
        job_memory: 4096,
        max_vcpus: 16,
        job_attempts: 2,
        job_timeout: 3600,
        standby: false,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn staging_platform_deploys_converges_updates_and_destroys() {
    lifecycle(Expected {
        env: "staging",
        memory: [512, 2048, 512, 1024],
        rate: 200.0,
        burst: 400,
        magnetic_days: 365,
        log_days: 30,
        zones: 2,
        capacity: "FARGATE_SPOT",
        job_vcpu: 2.0,
        job_memory: 8192,
        max_vcpus: 64,
        job_attempts: 3,
        job_timeout: 7200,
        standby: false,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn prod_platform_deploys_converges_updates_and_destroys() {
    lifecycle(Expected {
        env: "prod",
        memory: [1024, 4096, 1024, 2048],
        rate: 1000.0,
        burst: 2000,
        magnetic_days: 2555,
        log_days: 90,
        zones: 3,
        capacity: "FARGATE",
        job_vcpu: 4.0,
        job_memory: 16384,
        max_vcpus: 256,
        job_attempts: 3,
        job_timeout: 14400,
        standby: true,
    })
    .await;
}
