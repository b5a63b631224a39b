//! `iac-aws`: AWS resources for `iac-core`, over the official AWS SDK for
//! Rust.
//!
//! Register [`AwsProvider`] under the name `aws` and declare resources from
//! the service modules; each service is a cargo feature named like its
//! module (`ec2`, `ecs`, `eks`, `iam`, `kms`, `logs`, `rds`, `s3`, …; all on
//! by default), so a program compiles only the SDKs it uses.
#![warn(missing_docs)]

#[cfg(feature = "s3")]
pub mod backend;
#[allow(dead_code)] // which helpers are used depends on the services compiled in
pub(crate) mod batch_read;
pub mod catalog;
pub mod checks;
pub mod error;
pub mod handler;
pub mod idempotency;
pub mod policy;
pub mod provider;
pub(crate) mod read_ahead;
pub mod util;

#[cfg(feature = "apigateway")]
pub mod apigateway;
#[cfg(feature = "appconfig")]
pub mod appconfig;
#[cfg(feature = "autoscaling")]
pub mod autoscaling;
#[cfg(feature = "batch")]
pub mod batch;
#[cfg(feature = "bedrock")]
pub mod bedrock;
#[cfg(feature = "cloudwatch")]
pub mod cloudwatch;
#[cfg(feature = "codebuild")]
pub mod codebuild;
#[cfg(feature = "codedeploy")]
pub mod codedeploy;
#[cfg(feature = "codepipeline")]
pub mod codepipeline;
#[cfg(feature = "ec2")]
pub mod ec2;
#[cfg(feature = "ecr")]
pub mod ecr;
#[cfg(feature = "ecs")]
pub mod ecs;
#[cfg(feature = "eks")]
pub mod eks;
#[cfg(feature = "elasticache")]
pub mod elasticache;
#[cfg(feature = "elbv2")]
pub mod elbv2;
#[cfg(feature = "eventbridge")]
pub mod eventbridge;
#[cfg(feature = "iam")]
pub mod iam;
#[cfg(feature = "kinesis")]
pub mod kinesis;
#[cfg(feature = "kms")]
pub mod kms;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "logs")]
pub mod logs;
#[cfg(feature = "msk")]
pub mod msk;
#[cfg(feature = "opensearchserverless")]
pub mod opensearchserverless;
#[cfg(feature = "rds")]
pub mod rds;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "secretsmanager")]
pub mod secretsmanager;
#[cfg(feature = "sns")]
pub mod sns;
#[cfg(feature = "stepfunctions")]
pub mod stepfunctions;
#[cfg(feature = "timestream")]
pub mod timestream;

pub use catalog::CatalogOverride;
pub use provider::{AwsProvider, AwsSettings};

/// Builds a tag map from pairs.
///
/// ```
/// let t = iac_aws::tags([("Name", "web"), ("Tier", "public")]);
/// assert_eq!(t["Name"], "web");
/// ```
pub fn tags<K: Into<String>, V: Into<String>>(
    pairs: impl IntoIterator<Item = (K, V)>,
) -> std::collections::BTreeMap<String, String> {
    pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect()
}
