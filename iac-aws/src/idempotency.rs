//! Which create calls the SDK may retry, and how the others are kept from
//! making a resource twice.
//!
//! The SDK retries a call that failed transiently (throttling, a 5xx, a
//! timeout, a dropped connection), up to three attempts in all. For a create
//! whose response was lost on the wire that repeats a call AWS already
//! carried out, and unless the call is idempotent the repeat makes a second
//! resource (`CreateVpc`, `CreateKey`) or fails (`CreateRole`:
//! `EntityAlreadyExists`), stranding the first. The engine has its own
//! answer to a transient failure: before retrying a create it `find`s what
//! the failed attempt may have made (by identity tags, or a name AWS keeps
//! unique) and adopts it. So every call of a create is one of:
//!
//! - **Client token**: the API takes one. The create passes
//!   [`CreateRequest::idempotency_token`](iac_core::provider::CreateRequest),
//!   the same on every attempt of the operation, and AWS answers a repeat,
//!   the SDK's or the engine's, with what the first made: EC2
//!   `CreateRouteTable`, `CreateNatGateway`, `CreateVpcEndpoint`,
//!   `CreateFlowLogs` and `CreateLaunchTemplate`; ECS `CreateService`; EKS
//!   `CreateCluster`, `CreateNodegroup` and `CreateAddon`; OpenSearch
//!   Serverless `CreateSecurityPolicy`, `CreateAccessPolicy` and
//!   `CreateCollection`; Bedrock `CreateKnowledgeBase` and
//!   `CreateDataSource`. The SDK keeps retrying these. Secrets Manager's
//!   `CreateSecret` keeps the token the SDK draws for each call (fixed
//!   across its own retries): that token becomes the secret's first version,
//!   whose generated value differs between the engine's attempts.
//! - **Idempotent**: AWS answers a repeat with the first call's result, or
//!   the call sets what it names whatever is there, or the handler takes the
//!   error a repeat gets as success once it has checked that what is there is
//!   what it asked for. SNS `CreateTopic` and `Subscribe`; CloudWatch
//!   `PutMetricAlarm` and `PutDashboard`; EventBridge `PutRule` and
//!   `PutTargets`; Application Auto Scaling `RegisterScalableTarget` and
//!   `PutScalingPolicy`; IAM `PutRolePolicy` and `AttachRolePolicy`; the
//!   `Put*`, `Modify*`, `Enable*` and tagging calls that configure a
//!   resource just made; S3 `CreateBucket` (us-east-1 answers a repeat 200,
//!   other regions `BucketAlreadyOwnedByYou`, which the create takes as its
//!   own bucket when it is untagged or carries this resource's identity);
//!   `AttachInternetGateway` (`Resource.AlreadyAssociated` to the same VPC),
//!   `AddRoleToInstanceProfile` (`LimitExceeded` with the role there),
//!   `RegisterDBProxyTargets` (`DBProxyTargetAlreadyRegisteredFault`),
//!   Lambda `AddPermission` (`ResourceConflictException`, the same
//!   statement) and API Gateway `CreateResource`, `PutMethod`, `CreateStage`
//!   and `CreateUsagePlanKey` (`ConflictException`, their own). The SDK
//!   keeps retrying these.
//! - **Sent once**: every other create call: a server-chosen id with no
//!   token (`CreateVpc`, `CreateSubnet`, `CreateInternetGateway`,
//!   `AllocateAddress`, KMS `CreateKey`, API Gateway `CreateRestApi`,
//!   `CreateApiKey`, `CreateUsagePlan` and `CreateDeployment`, AppConfig's
//!   creates, Lambda `CreateEventSourceMapping` and `PublishVersion`, ECS
//!   `RegisterTaskDefinition`, Batch `RegisterJobDefinition`), or a
//!   caller-chosen name or key a repeat finds taken (`CreateSecurityGroup`,
//!   `AuthorizeSecurityGroupIngress`/`Egress`, `CreateRoute`,
//!   `AssociateRouteTable`, and the named creates of IAM, KMS aliases, Logs,
//!   ECR, Kinesis, ECS clusters, ELBv2, RDS, ElastiCache, CodeBuild,
//!   CodePipeline, CodeDeploy, Batch, Lambda, Step Functions, MSK and
//!   Timestream). [`NoSdkRetry::no_sdk_retry`] turns the SDK's retries off
//!   for that one call; a transient failure goes straight to the engine,
//!   whose retry finds and adopts what the call made. Each such type's
//!   handler has a `find` that sees what the create call itself made: its
//!   identity tags go with the call (`TagSpecifications`, `Tags`), never
//!   after it, and an untaggable one is found by its natural key (a route by
//!   table and destination, an association by its subnet). Registering a
//!   task or job definition makes a revision on every call, so those are
//!   sent once on update too.
//!
//! The SDK keeps retrying every read, update and delete: repeating those
//! changes nothing further (a delete repeated finds the resource gone, which
//! handlers take as success).
//!
//! API Gateway's `CreateDeployment` makes a deployment with neither a name
//! nor tags, so nothing finds it: it is sent once, and a lost response can
//! leave an unused deployment behind, deleted with its API.

/// Turns the SDK's own retries off for one call (through
/// `.customize()`), leaving the client's other calls as they are:
///
/// ```no_run
/// use iac_aws::idempotency::NoSdkRetry;
///
/// async fn vpc(ec2: &aws_sdk_ec2::Client) -> Result<Option<String>, aws_sdk_ec2::Error> {
///     let made = ec2.create_vpc().cidr_block("10.0.0.0/16").customize().no_sdk_retry().send().await?;
///     Ok(made.vpc().and_then(|v| v.vpc_id()).map(str::to_owned))
/// }
/// ```
///
/// For a create that a repeat would make twice or fail: see the
/// [module](self) for which calls, and why that is safe.
pub trait NoSdkRetry {
    /// The call with one attempt only.
    fn no_sdk_retry(self) -> Self;
}

/// Implements [`NoSdkRetry`] for the customizable operations of each SDK.
macro_rules! no_sdk_retry {
    ($(($feature:literal, $krate:ident)),* $(,)?) => {
        $(
            #[cfg(feature = $feature)]
            impl<T, E, B> NoSdkRetry for $krate::client::customize::CustomizableOperation<T, E, B> {
                fn no_sdk_retry(self) -> Self {
                    self.config_override($krate::config::Builder::default().retry_config(aws_smithy_types::retry::RetryConfig::disabled()))
                }
            }
        )*
    };
}

no_sdk_retry!(
    ("apigateway", aws_sdk_apigateway),
    ("appconfig", aws_sdk_appconfig),
    ("batch", aws_sdk_batch),
    ("codebuild", aws_sdk_codebuild),
    ("codedeploy", aws_sdk_codedeploy),
    ("codepipeline", aws_sdk_codepipeline),
    ("ec2", aws_sdk_ec2),
    ("ecr", aws_sdk_ecr),
    ("ecs", aws_sdk_ecs),
    ("elasticache", aws_sdk_elasticache),
    ("elbv2", aws_sdk_elasticloadbalancingv2),
    ("iam", aws_sdk_iam),
    ("kinesis", aws_sdk_kinesis),
    ("kms", aws_sdk_kms),
    ("lambda", aws_sdk_lambda),
    ("logs", aws_sdk_cloudwatchlogs),
    ("msk", aws_sdk_kafka),
    ("rds", aws_sdk_rds),
    ("stepfunctions", aws_sdk_sfn),
    ("timestream", aws_sdk_timestreamwrite),
);
