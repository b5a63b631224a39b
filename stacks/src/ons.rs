//! The ONS data platform (`ons-data-platform`): a serverless, event-driven
//! pipeline. New raw files land in an S3 data lake (raw, processed and
//! failed buckets) whose events EventBridge routes to the router Lambda,
//! which starts the Step Functions workflow; the workflow sends files above
//! a size threshold to an AWS Batch job on Fargate (in private subnets of a
//! VPC of the stack) and the rest to the processor Lambda, then runs the
//! loader, which writes to Timestream; a Bedrock knowledge base (its vectors
//! in an OpenSearch Serverless collection) ingests the processed bucket; the
//! api Lambda's `live` alias sits behind an API Gateway REST API with a
//! throttled stage and a usage plan; CloudWatch alarms on the Lambdas and
//! the API notify an SNS topic. The functions' environments are encrypted
//! with a KMS key of their own.
//!
//! Each environment's values come from `config/ons-data-platform/<stack>.toml`
//! (the document's `dev.tfvars`, `staging.tfvars`, `prod.tfvars`, which it
//! names but does not print: the sizes there are ours, commented).

use std::collections::BTreeMap;
use std::path::PathBuf;

use iac_aws::apigateway::{
    triggers, ApiKey, ApiResource, ApiStage, Backend, Deployment, EndpointType, Integration, Method, RestApi, Stage,
    Throttle, UsagePlan, UsagePlanKey,
};
use iac_aws::appconfig::{
    Application as ConfigApp, ConfigurationProfile, DeploymentStrategy, Environment, Growth,
    HostedConfigurationVersion, ProfileType,
};
use iac_aws::batch::{ComputeEnvironment, FargateCapacity, JobDefinition, JobQueue};
use iac_aws::bedrock::{Chunking, DataSource, KnowledgeBase, OpenSearchServerlessStorage};
use iac_aws::cloudwatch::Stat;
use iac_aws::codedeploy::{Application, DeploymentGroup, Platform, RollbackOn, Targets};
use iac_aws::ec2::SecurityGroup;
use iac_aws::ecr::{Expire, LifecycleRule as ImageRule, Repository, TagStatus};
use iac_aws::ecs::LogConfiguration;
use iac_aws::eventbridge::{Rule, Target, Trigger};
use iac_aws::kms::Key;
use iac_aws::lambda::{Alias, Code, Function, FunctionOutputs, Permission, Version};
use iac_aws::logs::LogGroup;
use iac_aws::opensearchserverless::{AccessPolicy, Collection, CollectionKind, SecurityPolicy, SecurityPolicyKind};
use iac_aws::policy::Statement;
use iac_aws::s3::LifecycleRule;
use iac_aws::stepfunctions::{Catch, Choice, Condition, Definition, Fail, Retry, StateMachine, Succeed, Task};
use iac_aws::timestream::{Database, Table};
use iac_aws::AwsProvider;
use iac_core::{Config, Error, Input, Output, Registered, ResourceOptions, Stack};
use serde::Deserialize;
use serde_json::json;

use crate::components::iam::service_role;
use crate::components::*;

/// Where this program's per-stack config files are.
pub const CONFIG_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/ons-data-platform");

/// Where the functions' handler sources are (one directory per function).
pub const FUNCTIONS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/functions/ons");

/// One Lambda function's size.
#[derive(Clone, Debug, Deserialize)]
pub struct FunctionSpec {
    /// Memory (MB).
    pub memory: i32,
    /// Timeout (seconds).
    pub timeout: i32,
}

/// The document's four functions' sizes.
#[derive(Clone, Debug, Deserialize)]
pub struct Functions {
    /// Routes a new raw file (by size and type) to processing.
    pub router: FunctionSpec,
    /// Processes a file into the processed bucket.
    pub processor: FunctionSpec,
    /// Serves the REST API.
    pub api: FunctionSpec,
    /// Loads processed data into Timestream.
    pub loader: FunctionSpec,
}

/// One Timestream table's retention.
#[derive(Clone, Debug, Deserialize)]
pub struct TableSpec {
    /// Hours in the memory store.
    pub memory_hours: i64,
    /// Days in the magnetic store.
    pub magnetic_days: i64,
}

/// The VPC the Batch jobs run in (the document's platform is otherwise
/// serverless; Fargate jobs need subnets).
#[derive(Clone, Debug, Deserialize)]
pub struct NetworkSpec {
    /// The VPC's /16.
    pub cidr: String,
    /// The zones of its public and private subnets.
    pub availability_zones: Vec<String>,
    /// NAT for the private subnets: `per_zone`, `single` or `none`.
    pub nat_gateways: String,
    /// VPC flow logs kept this many days (none when unset).
    pub flow_log_retention_days: Option<i32>,
}

/// The Batch processing path for large files.
#[derive(Clone, Debug, Deserialize)]
pub struct BatchSpec {
    /// Files above this size (MiB) go to Batch instead of the processor
    /// Lambda.
    pub size_threshold_mb: u64,
    /// vCPUs of a job (a Fargate value).
    pub vcpu: f64,
    /// Memory of a job (MiB; one Fargate pairs with `vcpu`).
    pub memory: u32,
    /// The compute environment's ceiling (vCPUs of all running jobs).
    pub max_vcpus: i32,
    /// Fargate Spot rather than on-demand Fargate.
    pub spot: bool,
    /// Attempts per job.
    pub retry_attempts: u32,
    /// Seconds an attempt may run.
    pub timeout_seconds: u32,
    /// The processor image's tag in the stack's repository.
    pub image_tag: String,
}

/// The Bedrock knowledge base and its OpenSearch Serverless collection.
#[derive(Clone, Debug, Deserialize)]
pub struct KnowledgeBaseSpec {
    /// The embedding model (a Bedrock foundation-model ARN).
    pub embedding_model_arn: String,
    /// The embeddings' dimensions.
    pub embedding_dimensions: i32,
    /// The vector index in the collection.
    pub vector_index: String,
    /// The index's vector field.
    pub vector_field: String,
    /// Standby replicas in another zone (twice the capacity units).
    pub standby_replicas: bool,
    /// Tokens per chunk of an ingested document.
    pub chunk_max_tokens: i32,
    /// Overlap between neighbouring chunks (percent).
    pub chunk_overlap_percent: i32,
}

fn nat_mode(cfg: &Config, value: &str) -> Result<NatMode, Error> {
    match value {
        "per_zone" => Ok(NatMode::PerZone),
        "single" => Ok(NatMode::Single),
        "none" => Ok(NatMode::None),
        other => Err(Error::Config {
            stack: cfg.stack().to_owned(),
            key: "network.nat_gateways".into(),
            path: cfg.path().to_owned(),
            message: format!("`{other}`: one of per_zone, single, none"),
        }),
    }
}

/// What API Gateway invokes for a Lambda function, alias or version ARN.
fn invoke_arn(function_arn: &str) -> String {
    let parts: Vec<&str> = function_arn.split(':').collect();
    let (partition, region) = (parts.get(1).unwrap_or(&"aws"), parts.get(3).unwrap_or(&""));
    format!("arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations")
}

/// Declares the platform.
pub fn program(stack: &Stack) -> Result<(), Error> {
    let cfg = stack.config();
    stack.provider("aws", AwsProvider::from_env());
    let env: String = cfg.require("environment")?;
    let region: String = cfg.require("region")?;
    let prefix = format!("ons-{env}");
    stack.default_tags([("Project", "ons-data-platform"), ("Environment", env.as_str()), ("ManagedBy", "iac")]);
    let force_destroy: bool = cfg.get_or("force_destroy", false)?;
    let log_days: i32 = cfg.require("log_retention_days")?;
    let specs: Functions = cfg.require("functions")?;
    let router_spec = specs.router.clone();
    let functions: Vec<(&str, FunctionSpec)> =
        vec![("router", specs.router), ("processor", specs.processor), ("api", specs.api), ("loader", specs.loader)];
    let tables: BTreeMap<String, TableSpec> = cfg.require("timestream_tables")?;

    // S3: raw, processed and failed buckets, encrypted (AES-256, as the
    // document says), access-logged, with lifecycle; raw files' events go to
    // EventBridge.
    let raw_ia: i32 = cfg.require("raw_transition_ia_days")?;
    let raw_glacier: i32 = cfg.require("raw_transition_glacier_days")?;
    let failed_expire: i32 = cfg.require("failed_expiration_days")?;
    let raw = LakeBucket { eventbridge: true, ..LakeBucket::plain("raw") }.with_rule(tiering_rule(
        "archive",
        raw_ia,
        raw_glacier,
        None,
    ));
    let lake = DataLake::new(
        stack,
        "data-lake",
        &DataLakeArgs {
            prefix: format!("{prefix}-data"),
            buckets: vec![
                raw,
                LakeBucket::plain("processed").with_rule(tiering_rule("archive", 90, 365, None)),
                // Failed files are kept for investigation, then expire.
                LakeBucket::plain("failed").with_rule(
                    LifecycleRule::builder()
                        .id("expire")
                        .expiration_days(failed_expire)
                        .noncurrent_expiration_days(failed_expire)
                        .abort_incomplete_multipart_days(7)
                        .build(),
                ),
            ],
            kms: false,
            access_logging: true,
            // Replication is optional in the document; it stays off here.
            replica_region: None,
            force_destroy,
        },
    );

    // Timestream: the energy time series.
    let ts = stack.add("timestream", Database::builder().name(format!("{prefix}-energy")).build());
    for (name, t) in &tables {
        stack.add(
            &format!("timestream-{name}"),
            Table::builder()
                .database_name(ts.name.clone())
                .name(name.clone())
                .memory_store_retention_hours(t.memory_hours)
                .magnetic_store_retention_days(t.magnetic_days)
                .build(),
        );
    }

    // Lambda: router, processor, api and loader, environments encrypted
    // with their own KMS key.
    let key = stack.add(
        "lambda-key",
        Key::builder()
            .description(format!("{prefix} Lambda environment"))
            .enable_key_rotation(true)
            .deletion_window_in_days(7)
            .build(),
    );
    let bucket_arns: Vec<Output<String>> = lake.arns.values().cloned().collect();
    let data_access = vec![
        Statement::builder()
            .actions(["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject"])
            .resources(
                bucket_arns.iter().flat_map(|a| [a.clone().into(), a.map(|a| format!("{a}/*")).into()]).collect(),
            )
            .build(),
        Statement::builder()
            .actions(["timestream:WriteRecords", "timestream:Select", "timestream:DescribeEndpoints"])
            .resources(vec!["*".into()])
            .build(),
        Statement::builder().actions(["kms:Decrypt"]).resources(vec![key.arn.clone().into()]).build(),
        Statement::builder().actions(["states:StartExecution"]).resources(vec!["*".into()]).build(),
    ];
    let environment = BTreeMap::from([
        ("ENVIRONMENT".to_owned(), env.clone()),
        ("RAW_BUCKET".to_owned(), format!("{prefix}-data-raw")),
        ("PROCESSED_BUCKET".to_owned(), format!("{prefix}-data-processed")),
        ("FAILED_BUCKET".to_owned(), format!("{prefix}-data-failed")),
        ("TIMESTREAM_DATABASE".to_owned(), format!("{prefix}-energy")),
    ]);
    // One function with its role and log group; `extra` adds to the shared
    // environment.
    let add_function = |name: &str,
                        spec: &FunctionSpec,
                        extra: Vec<(String, Input<String>)>|
     -> (Registered<FunctionOutputs>, String) {
        let fname = format!("{prefix}-{name}");
        let role = service_role(
            stack,
            &format!("{name}-role"),
            &fname,
            "lambda.amazonaws.com",
            &["service-role/AWSLambdaBasicExecutionRole"],
            data_access.clone(),
        );
        stack.add(
            &format!("{name}-logs"),
            LogGroup::builder().name(format!("/aws/lambda/{fname}")).retention_in_days(log_days).build(),
        );
        let function = Function::builder()
            .name(fname)
            .description(format!("ONS data platform {name}"))
            .runtime("python3.12")
            .handler("index.handler")
            .role(role.arn.clone())
            .code(Code::Directory(PathBuf::from(FUNCTIONS_DIR).join(name)))
            .memory_size(spec.memory)
            .timeout(spec.timeout)
            .environment(environment.iter().map(|(k, v)| (k.clone(), v.clone().into())).chain(extra).collect())
            .kms_key_arn(key.arn.clone())
            .build();
        let sha = function.code_sha256().unwrap_or_default();
        (stack.add(&format!("{name}-fn"), function), sha)
    };
    // The router comes last: it starts the workflow, which needs the others.
    let mut fns = BTreeMap::new();
    let mut shas = BTreeMap::new();
    for (name, spec) in functions.iter().filter(|(name, _)| *name != "router") {
        let (function, sha) = add_function(name, spec, vec![]);
        shas.insert(*name, sha);
        fns.insert(*name, function);
    }
    let (processor, api_fn, loader) = (&fns["processor"], &fns["api"], &fns["loader"]);

    // The api function is served through a `live` alias on a published
    // version (what blue-green deployments shift).
    let api_version = stack.add(
        "api-version",
        // Given explicitly: a version without one takes the function's
        // description (AWS's PublishVersion), which `Version` reads back
        // as drift from "".
        Version::builder()
            .function(api_fn.name.clone())
            .code_sha256(shas["api"].clone())
            .description("ONS data platform api")
            .build(),
    );
    let live = stack.add(
        "api-live",
        Alias::builder()
            .function(api_fn.name.clone())
            .name("live")
            .function_version(api_version.version.clone())
            .build(),
    );

    // Network for the Batch jobs: a VPC of public and private subnets, the
    // jobs in the private ones (out through NAT; S3 through a gateway
    // endpoint).
    let net_spec: NetworkSpec = cfg.require("network")?;
    let net = Network::new(
        stack,
        "ons-network",
        &NetworkArgs {
            cidr: net_spec.cidr.clone(),
            azs: net_spec.availability_zones.clone(),
            database_subnets: false,
            nat: nat_mode(cfg, &net_spec.nat_gateways)?,
            flow_log_retention_days: net_spec.flow_log_retention_days,
            s3_endpoint: true,
            eks_cluster_name: None,
        },
    );
    check_region(stack, "ons-network", &region, &net_spec.availability_zones, true);
    let batch_sg = stack.add(
        "batch-sg",
        SecurityGroup::builder()
            .name(format!("{prefix}-batch"))
            .description("ONS Batch jobs: no inbound, outbound to AWS APIs")
            .vpc_id(net.vpc_id.clone())
            .build(),
    );

    // Batch: large files are processed by a Fargate job (the processor's
    // image, pushed to the stack's repository), logging to its own group.
    let batch: BatchSpec = cfg.require("batch")?;
    let repo = stack.add(
        "batch-image",
        Repository::builder()
            .name(format!("{prefix}-batch-processor"))
            .scan_on_push(true)
            .lifecycle_rules(vec![ImageRule::builder()
                .priority(1)
                .description("keep the last 10 untagged images")
                .tag_status(TagStatus::Untagged)
                .expire(Expire::KeepLast(10))
                .build()])
            .force_delete(force_destroy)
            .build(),
    );
    let batch_logs = stack.add(
        "batch-logs",
        LogGroup::builder().name(format!("/aws/batch/{prefix}-large-files")).retention_in_days(log_days).build(),
    );
    let batch_execution = service_role(
        stack,
        "batch-execution-role",
        &format!("{prefix}-batch-execution"),
        "ecs-tasks.amazonaws.com",
        &["service-role/AmazonECSTaskExecutionRolePolicy"],
        vec![],
    );
    let batch_job_role = service_role(
        stack,
        "batch-job-role",
        &format!("{prefix}-batch-job"),
        "ecs-tasks.amazonaws.com",
        &[],
        data_access.clone(),
    );
    let compute = stack.add(
        "batch-compute",
        ComputeEnvironment::builder()
            .name(format!("{prefix}-large-files"))
            .capacity(if batch.spot { FargateCapacity::FargateSpot } else { FargateCapacity::Fargate })
            .max_vcpus(batch.max_vcpus)
            .subnets(net.private_subnet_ids())
            .security_group_ids(vec![batch_sg.id.as_string().into()])
            .build(),
    );
    let queue = stack.add(
        "batch-queue",
        JobQueue::builder()
            .name(format!("{prefix}-large-files"))
            .compute_environments(vec![compute.arn.clone().into()])
            .build(),
    );
    let job = stack.add(
        "batch-job",
        JobDefinition::builder()
            .name(format!("{prefix}-large-file-processor"))
            .image(repo.repository_url.map({
                let tag = batch.image_tag.clone();
                move |url| format!("{url}:{tag}")
            }))
            .vcpu(batch.vcpu)
            .memory(batch.memory)
            .execution_role_arn(batch_execution.arn.clone())
            .job_role_arn(batch_job_role.arn.clone())
            .command(
                ["python", "-m", "processor", "--bucket", "Ref::bucket", "--key", "Ref::key"]
                    .map(String::from)
                    .to_vec(),
            )
            .environment(environment.clone())
            .retry_attempts(batch.retry_attempts)
            .timeout_seconds(batch.timeout_seconds)
            .log_configuration(
                LogConfiguration::builder()
                    .group(batch_logs.id.clone())
                    .region(region.clone())
                    .stream_prefix("processor")
                    .build(),
            )
            .build(),
    );

    // Step Functions: large files to the Batch job, the rest to the
    // processor Lambda; then load; failures end in Failed.
    let states_role = service_role(
        stack,
        "states-role",
        &format!("{prefix}-states"),
        "states.amazonaws.com",
        &[],
        vec![
            Statement::builder()
                .actions(["lambda:InvokeFunction"])
                .resources(vec![processor.arn.clone().into(), loader.arn.clone().into()])
                .build(),
            Statement::builder()
                .actions(["batch:SubmitJob"])
                .resources(vec![queue.arn.clone().into(), job.arn.clone().into()])
                .build(),
            // DescribeJobs takes no resource; the job a run submitted is
            // stopped when the run is.
            Statement::builder()
                .actions(["batch:DescribeJobs", "batch:TerminateJob"])
                .resources(vec!["*".into()])
                .build(),
            // `.sync` waits on Batch's events through this managed rule.
            Statement::builder()
                .actions(["events:PutTargets", "events:PutRule", "events:DescribeRule"])
                .resources(
                    vec![format!("arn:aws:events:{region}:*:rule/StepFunctionsGetEventsForBatchJobsRule").into()],
                )
                .build(),
        ],
    );
    let retry = || {
        Retry::errors(["Lambda.TooManyRequestsException", "Lambda.ServiceException"])
            .interval_seconds(2)
            .max_attempts(3)
            .backoff_rate(2.0)
    };
    let threshold_bytes = batch.size_threshold_mb * 1024 * 1024;
    let definition = Definition::new("Route")
        .comment("process a raw file (large ones on Batch), then load it into Timestream")
        .state(
            "Route",
            // The router starts a run with the file's bucket, key and size.
            Choice::new()
                .when(
                    Condition::and(vec![
                        Condition::is_present("$.size", true),
                        Condition::numeric_greater_than("$.size", threshold_bytes as f64),
                    ]),
                    "ProcessLarge",
                )
                .otherwise("Process"),
        )
        .state(
            "ProcessLarge",
            Task::resource("arn:aws:states:::batch:submitJob.sync")
                .parameter("JobName", format!("{prefix}-large-file"))
                .parameter("JobQueue", queue.arn.clone())
                .parameter("JobDefinition", job.arn.clone())
                .parameters(json!({"Parameters": {"bucket.$": "$.bucket", "key.$": "$.key"}}))
                // Every attempt, and half an hour to be placed.
                .timeout_seconds(batch.timeout_seconds * batch.retry_attempts + 1800)
                .retry(Retry::errors(["Batch.AWSBatchException"]).interval_seconds(5).max_attempts(3).backoff_rate(2.0))
                .catch(Catch::all("Failed").result_path("$.error"))
                .result_path("$.processed")
                .next("Load"),
        )
        .state(
            "Process",
            Task::lambda(processor.arn.clone())
                .retry(retry())
                .catch(Catch::all("Failed").result_path("$.error"))
                .result_path("$.processed")
                .next("Load"),
        )
        .state(
            "Load",
            Task::lambda(loader.arn.clone())
                .retry(retry())
                .catch(Catch::all("Failed").result_path("$.error"))
                .result_path("$.loaded")
                .next("Done"),
        )
        .state("Done", Succeed::new())
        .state("Failed", Fail::new().error("ProcessingFailed").cause("the file could not be processed"));
    let workflow = stack.add(
        "processing",
        StateMachine::builder()
            .name(format!("{prefix}-processing"))
            .role_arn(states_role.arn.clone())
            .definition(definition)
            .build(),
    );

    // The router: starts the workflow for each new raw file.
    let (router, _) =
        add_function("router", &router_spec, vec![("STATE_MACHINE_ARN".to_owned(), workflow.arn.clone().into())]);

    // EventBridge: a new raw file goes to the router.
    let rule = stack.add(
        "raw-file-created",
        Rule::builder()
            .name(format!("{prefix}-raw-file-created"))
            .description("a new file in the raw bucket")
            .trigger(Trigger::Pattern(json!({
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {"bucket": {"name": [format!("{prefix}-data-raw")]}}
            })))
            .build(),
    );
    stack.add(
        "raw-file-to-router",
        Target::builder().rule(rule.name.clone()).target_id("router").arn(router.arn.clone()).build(),
    );
    stack.add(
        "router-from-events",
        Permission::builder()
            .function(router.name.clone())
            .statement_id("eventbridge")
            .principal("events.amazonaws.com")
            .source_arn(rule.arn.clone())
            .build(),
    );

    // Bedrock knowledge base over the processed data: its vectors in an
    // OpenSearch Serverless collection (AWS-owned key; reachable over the
    // public endpoint, data only through the access policy below and IAM).
    let kb_spec: KnowledgeBaseSpec = cfg.require("knowledge_base")?;
    let collection_name = format!("{prefix}-kb");
    let kb_encryption = stack.add(
        "kb-encryption",
        SecurityPolicy::builder()
            .name(format!("{prefix}-kb-encryption"))
            .kind(SecurityPolicyKind::Encryption)
            .description("ONS knowledge base vectors: AWS-owned key")
            .policy(json!({
                "Rules": [{"ResourceType": "collection", "Resource": [format!("collection/{collection_name}")]}],
                "AWSOwnedKey": true
            }))
            .build(),
    );
    let kb_network = stack.add(
        "kb-network",
        SecurityPolicy::builder()
            .name(format!("{prefix}-kb-network"))
            .kind(SecurityPolicyKind::Network)
            .description("ONS knowledge base vectors: the collection's endpoint")
            .policy(json!([{
                "Rules": [{"ResourceType": "collection", "Resource": [format!("collection/{collection_name}")]}],
                "AllowFromPublic": true
            }]))
            .build(),
    );
    let vectors = stack.add(
        "kb-collection",
        Collection::builder()
            .name(collection_name.clone())
            .kind(CollectionKind::VectorSearch)
            .description("ONS knowledge base vectors")
            .standby_replicas(kb_spec.standby_replicas)
            .encryption_policy(kb_encryption.name.clone())
            .build(),
    );
    let processed_arn = lake.arns["processed"].clone();
    let kb_role = service_role(
        stack,
        "kb-role",
        &format!("{prefix}-kb"),
        "bedrock.amazonaws.com",
        &[],
        vec![
            Statement::builder()
                .actions(["bedrock:InvokeModel"])
                .resources(vec![kb_spec.embedding_model_arn.clone().into()])
                .build(),
            Statement::builder().actions(["aoss:APIAccessAll"]).resources(vec![vectors.arn.clone().into()]).build(),
            Statement::builder()
                .actions(["s3:GetObject", "s3:ListBucket"])
                .resources(vec![processed_arn.clone().into(), processed_arn.map(|a| format!("{a}/*")).into()])
                .build(),
        ],
    );
    let kb_access = stack.add(
        "kb-access",
        AccessPolicy::builder()
            .name(format!("{prefix}-kb-access"))
            .description("ONS knowledge base: Bedrock reads and writes its vector index")
            .policy(json!([{
                "Rules": [
                    {
                        "ResourceType": "collection",
                        "Resource": [format!("collection/{collection_name}")],
                        "Permission": ["aoss:CreateCollectionItems", "aoss:DescribeCollectionItems", "aoss:UpdateCollectionItems"]
                    },
                    {
                        "ResourceType": "index",
                        "Resource": [format!("index/{collection_name}/*")],
                        "Permission": [
                            "aoss:CreateIndex", "aoss:DescribeIndex", "aoss:UpdateIndex",
                            "aoss:ReadDocument", "aoss:WriteDocument"
                        ]
                    }
                ]
            }]))
            .principals(vec![kb_role.arn.clone().into()])
            .build(),
    );
    let kb = stack.add_with(
        "knowledge-base",
        KnowledgeBase::builder()
            .name(format!("{prefix}-knowledge-base"))
            .description("ONS energy data, for natural-language queries")
            .role_arn(kb_role.arn.clone())
            .embedding_model_arn(kb_spec.embedding_model_arn.clone())
            .embedding_dimensions(kb_spec.embedding_dimensions)
            .storage(
                OpenSearchServerlessStorage::builder()
                    .collection_arn(vectors.arn.clone())
                    .vector_index_name(kb_spec.vector_index.clone())
                    .vector_field(kb_spec.vector_field.clone())
                    .build(),
            )
            .build(),
        // Bedrock checks that it may reach the collection and its index.
        ResourceOptions::new().depends_on(kb_access.urn()).depends_on(kb_network.urn()),
    );
    stack.add(
        "kb-processed-data",
        DataSource::builder()
            .knowledge_base_id(kb.id.clone())
            .name("processed-data")
            .description("the processed bucket")
            .bucket_arn(processed_arn)
            .chunking(Chunking::FixedSize {
                max_tokens: kb_spec.chunk_max_tokens,
                overlap_percentage: kb_spec.chunk_overlap_percent,
            })
            .build(),
    );

    // API Gateway: every path to the api function's live alias.
    let api = stack.add(
        "api",
        RestApi::builder()
            .name(format!("{prefix}-api"))
            .description("ONS data platform API")
            .endpoint_type(EndpointType::Regional)
            .build(),
    );
    let proxy = stack.add(
        "api-proxy",
        ApiResource::builder()
            .rest_api_id(api.id.clone())
            .parent_id(api.root_resource_id.clone())
            .path_part("{proxy+}")
            .build(),
    );
    let any = stack.add(
        "api-proxy-any",
        Method::builder()
            .rest_api_id(api.id.clone())
            .resource_id(proxy.id.clone())
            .http_method("ANY")
            .request_parameters([("method.request.path.proxy".to_owned(), true)].into_iter().collect())
            .build(),
    );
    let to_fn = stack.add(
        "api-proxy-lambda",
        Integration::builder()
            .method(any.id.clone())
            .backend(Backend::LambdaProxy(live.arn.map(|arn| invoke_arn(&arn)).into()))
            .build(),
    );
    let deployment = stack.add(
        "api-deployment",
        Deployment::builder()
            .rest_api_id(api.id.clone())
            .description("ONS data platform API")
            .triggers(triggers([("proxy-any", &any.fingerprint), ("proxy-lambda", &to_fn.fingerprint)]))
            .build(),
    );
    let throttle =
        Throttle { burst_limit: cfg.require("api_burst_limit")?, rate_limit: cfg.require("api_rate_limit")? };
    let stage = stack.add(
        "api-stage",
        Stage::builder()
            .rest_api_id(api.id.clone())
            .deployment_id(deployment.id.clone())
            .stage_name(env.clone())
            .throttle(throttle)
            .build(),
    );
    // On the alias: API Gateway invokes `function:<api>:live`.
    stack.add_with(
        "api-invokes-fn",
        Permission::builder()
            .function(api_fn.name.clone())
            .qualifier("live")
            .statement_id("api-gateway")
            .principal("apigateway.amazonaws.com")
            .source_arn(api.execution_arn.map(|arn| format!("{arn}/*/*")))
            .build(),
        ResourceOptions::new().depends_on(live.urn()),
    );
    let plan = stack.add(
        "api-usage-plan",
        UsagePlan::builder()
            .name(format!("{prefix}-api"))
            .description("ONS data platform API clients")
            .api_stages(vec![ApiStage { api_id: api.id.clone().into(), stage: stage.name.clone().into() }])
            .throttle(throttle)
            .build(),
    );
    let api_key = stack.add("api-key", ApiKey::builder().name(format!("{prefix}-clients")).build());
    stack.add(
        "api-usage-plan-key",
        UsagePlanKey::builder().usage_plan_id(plan.id.clone()).key_id(api_key.id.clone()).build(),
    );

    // CloudWatch alarms to SNS.
    let error_threshold: f64 = cfg.require("lambda_error_threshold")?;
    let duration_percent: f64 = cfg.require("lambda_duration_alarm_percent")?;
    let api_name = format!("{prefix}-api");
    let mut alarms = Vec::new();
    for (name, spec) in &functions {
        let fname = format!("{prefix}-{name}");
        let dims = [("FunctionName", fname.as_str())];
        alarms.push(Alarm::above(
            format!("{fname}-errors"),
            format!("{name}: more than {error_threshold} errors in 5 minutes"),
            ("AWS/Lambda", "Errors"),
            &dims,
            Stat::Sum,
            error_threshold,
            5,
        ));
        alarms.push(Alarm::above(
            format!("{fname}-duration"),
            format!("{name}: duration above {duration_percent}% of its timeout"),
            ("AWS/Lambda", "Duration"),
            &dims,
            Stat::Maximum,
            f64::from(spec.timeout) * 1000.0 * duration_percent / 100.0,
            5,
        ));
        alarms.push(Alarm::above(
            format!("{fname}-throttles"),
            format!("{name}: throttled"),
            ("AWS/Lambda", "Throttles"),
            &dims,
            Stat::Sum,
            0.0,
            5,
        ));
    }
    let api_dims = [("ApiName", api_name.as_str()), ("Stage", env.as_str())];
    alarms.extend([
        Alarm::above(
            format!("{prefix}-api-4xx"),
            "API: 4xx errors",
            ("AWS/ApiGateway", "4XXError"),
            &api_dims,
            Stat::Sum,
            cfg.require("api_4xx_threshold")?,
            5,
        ),
        Alarm::above(
            format!("{prefix}-api-5xx"),
            "API: 5xx errors",
            ("AWS/ApiGateway", "5XXError"),
            &api_dims,
            Stat::Sum,
            cfg.require("api_5xx_threshold")?,
            5,
        ),
        Alarm::above(
            format!("{prefix}-api-latency"),
            "API: latency",
            ("AWS/ApiGateway", "Latency"),
            &api_dims,
            Stat::Average,
            cfg.require("api_latency_threshold_ms")?,
            5,
        ),
    ]);
    let monitoring = Monitoring::new(
        stack,
        "monitoring",
        &MonitoringArgs { prefix: prefix.clone(), region: region.clone(), email: cfg.get("alert_email")?, alarms },
    );

    // CodeDeploy: new api versions shift the `live` alias by canary (10%
    // for 5 minutes), rolled back on failure or when the api's error or 5xx
    // alarm fires.
    let deploy_role = service_role(
        stack,
        "codedeploy-role",
        &format!("{prefix}-codedeploy"),
        "codedeploy.amazonaws.com",
        &["service-role/AWSCodeDeployRoleForLambda"],
        vec![],
    );
    let app = stack.add(
        "codedeploy-app",
        Application::builder().name(format!("{prefix}-api")).compute_platform(Platform::Lambda).build(),
    );
    stack.add(
        "codedeploy-api",
        DeploymentGroup::builder()
            .application_name(app.name.clone())
            .name(format!("{prefix}-api-live"))
            .service_role_arn(deploy_role.arn.clone())
            .targets(Targets::Lambda)
            .deployment_config_name("CodeDeployDefault.LambdaCanary10Percent5Minutes")
            .alarms(vec![format!("{prefix}-api-errors").into(), format!("{prefix}-api-5xx").into()])
            .auto_rollback(vec![RollbackOn::DeploymentFailure, RollbackOn::DeploymentStopOnAlarm])
            .build(),
    );

    // AppConfig: the platform's feature flags, rolled out gradually (20%
    // steps over 10 minutes, then 5 minutes' bake).
    let flags_app = stack.add(
        "appconfig-app",
        ConfigApp::builder().name(format!("{prefix}-platform")).description("ONS data platform").build(),
    );
    stack.add("appconfig-env", Environment::builder().application_id(flags_app.id.clone()).name(env.clone()).build());
    let flags = stack.add(
        "appconfig-flags",
        ConfigurationProfile::builder()
            .application_id(flags_app.id.clone())
            .name("feature-flags")
            .profile_type(ProfileType::FeatureFlags)
            .build(),
    );
    stack.add(
        "appconfig-flags-v",
        HostedConfigurationVersion::builder()
            .application_id(flags_app.id.clone())
            .configuration_profile_id(flags.profile_id.clone())
            .content(json!({
                "version": "1",
                "flags": {"knowledgeBaseQueries": {"name": "Knowledge base queries"}},
                "values": {"knowledgeBaseQueries": {"enabled": false}}
            }))
            .build(),
    );
    stack.add(
        "appconfig-strategy",
        DeploymentStrategy::builder()
            .name(format!("{prefix}-gradual"))
            .deployment_duration_in_minutes(10)
            .growth_factor(20.0)
            .growth_type(Growth::Linear)
            .final_bake_time_in_minutes(5)
            .build(),
    );

    stack.export("api_gateway_url", stage.invoke_url.clone());
    stack.export("raw_bucket", lake.buckets["raw"].clone());
    stack.export("processed_bucket", lake.buckets["processed"].clone());
    stack.export("failed_bucket", lake.buckets["failed"].clone());
    stack.export("state_machine_arn", workflow.arn.clone());
    stack.export("timestream_database", ts.name.clone());
    stack.export("alerts_topic_arn", monitoring.topic_arn.clone());
    stack.export("batch_job_queue_arn", queue.arn.clone());
    stack.export("batch_repository_url", repo.repository_url.clone());
    stack.export("knowledge_base_id", kb.id.clone());
    stack.export("opensearch_collection_endpoint", vectors.endpoint.clone());
    Ok(())
}
