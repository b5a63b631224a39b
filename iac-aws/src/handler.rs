//! How one resource type talks to AWS, and the registry of every type
//! compiled in.

use async_trait::async_trait;
use iac_core::provider::*;

use crate::provider::AwsProvider;

/// Create, read, update and delete of one AWS resource type.
///
/// `read` maps AWS's description back onto the inputs, key for key, so an
/// unchanged resource reads back equal to what was applied (no perpetual
/// diffs). `find` looks a resource up by its identity tags, for adoption
/// after a crash.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Creates the resource and waits until it is ready.
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError>;
    /// Reads it back; `None` if it is gone.
    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError>;
    /// Reads many of this type back (a refresh's batch), answering in the
    /// order asked exactly what `read` would answer for each. The default
    /// reads one by one, concurrently; a type whose API describes many
    /// resources per call overrides it (see `batch_read::read_batched`).
    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        futures::future::try_join_all(reqs.into_iter().map(|r| self.read(p, r))).await
    }
    /// Updates it in place and waits until it is ready.
    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError>;
    /// Deletes it and waits until it is gone; gone already is success.
    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError>;
    /// Finds it by identity tags.
    async fn find(&self, _p: &AwsProvider, _req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(None)
    }
}

/// The handler of a type token, if compiled in.
pub(crate) fn handler_for(type_token: &str) -> Option<&'static dyn Handler> {
    let service = type_token.split(':').nth(1)?;
    match service {
        #[cfg(feature = "apigateway")]
        "apigateway" => crate::apigateway::handler(type_token),
        #[cfg(feature = "appconfig")]
        "appconfig" => crate::appconfig::handler(type_token),
        #[cfg(feature = "autoscaling")]
        "autoscaling" => crate::autoscaling::handler(type_token),
        #[cfg(feature = "batch")]
        "batch" => crate::batch::handler(type_token),
        #[cfg(feature = "bedrock")]
        "bedrock" => crate::bedrock::handler(type_token),
        #[cfg(feature = "cloudwatch")]
        "cloudwatch" => crate::cloudwatch::handler(type_token),
        #[cfg(feature = "codebuild")]
        "codebuild" => crate::codebuild::handler(type_token),
        #[cfg(feature = "codedeploy")]
        "codedeploy" => crate::codedeploy::handler(type_token),
        #[cfg(feature = "codepipeline")]
        "codepipeline" => crate::codepipeline::handler(type_token),
        #[cfg(feature = "ec2")]
        "ec2" => crate::ec2::handler(type_token),
        #[cfg(feature = "ecr")]
        "ecr" => crate::ecr::handler(type_token),
        #[cfg(feature = "ecs")]
        "ecs" => crate::ecs::handler(type_token),
        #[cfg(feature = "eks")]
        "eks" => crate::eks::handler(type_token),
        #[cfg(feature = "elasticache")]
        "elasticache" => crate::elasticache::handler(type_token),
        #[cfg(feature = "elbv2")]
        "elbv2" => crate::elbv2::handler(type_token),
        #[cfg(feature = "eventbridge")]
        "eventbridge" => crate::eventbridge::handler(type_token),
        #[cfg(feature = "iam")]
        "iam" => crate::iam::handler(type_token),
        #[cfg(feature = "kinesis")]
        "kinesis" => crate::kinesis::handler(type_token),
        #[cfg(feature = "kms")]
        "kms" => crate::kms::handler(type_token),
        #[cfg(feature = "lambda")]
        "lambda" => crate::lambda::handler(type_token),
        #[cfg(feature = "logs")]
        "logs" => crate::logs::handler(type_token),
        #[cfg(feature = "msk")]
        "msk" => crate::msk::handler(type_token),
        #[cfg(feature = "opensearchserverless")]
        "opensearchserverless" => crate::opensearchserverless::handler(type_token),
        #[cfg(feature = "rds")]
        "rds" => crate::rds::handler(type_token),
        #[cfg(feature = "s3")]
        "s3" => crate::s3::handler(type_token),
        #[cfg(feature = "secretsmanager")]
        "secretsmanager" => crate::secretsmanager::handler(type_token),
        #[cfg(feature = "sns")]
        "sns" => crate::sns::handler(type_token),
        #[cfg(feature = "stepfunctions")]
        "stepfunctions" => crate::stepfunctions::handler(type_token),
        #[cfg(feature = "timestream")]
        "timestream" => crate::timestream::handler(type_token),
        _ => None,
    }
}
