//! The ONS data platform, `ons-data-platform` on its dev, staging and prod
//! stacks, as a user runs it: preview offline from empty state, up against
//! the emulator, the platform's values checked through the SDK, a refresh
//! that finds nothing to change, one config change (a Lambda's memory)
//! planned as exactly one in-place update and applied, destroy, and nothing
//! of the stack left in the emulator.

use crate::cli::*;

const BIN: &str = env!("CARGO_BIN_EXE_ons-data-platform");

/// What a stack's config says it holds.
struct Expected {
    env: &'static str,
    /// router, processor, api, loader memory (MB).
    memory: [i32; 4],
    rate: f64,
    burst: i32,
    magnetic_days: i64,
    log_days: i32,
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
    for output in ["api_gateway_url", "raw_bucket", "processed_bucket", "failed_bucket", "state_machine_arn"] {
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
    assert_eq!(def["StartAt"], "Process");
    assert_eq!(def["States"]["Process"]["Next"], "Load");
    assert!(up.contains(&arn), "state_machine_arn output: {up}");

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
    })
    .await;
}
