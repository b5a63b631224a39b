//! `iac-aws`: AWS resources for `iac-core`, over the official AWS SDK for
//! Rust.
//!
//! Register [`AwsProvider`] under the name `aws` and declare resources from
//! the service modules; each service is a cargo feature (`ec2`, `ecs`, `eks`,
//! `rds`, `s3`, all on by default).
#![warn(missing_docs)]

pub mod checks;
pub mod error;
pub mod handler;
pub mod policy;
pub mod provider;
#[cfg(feature = "testing")]
pub mod testing;
pub mod util;

#[cfg(feature = "ec2")]
pub mod ec2;
#[cfg(feature = "ecs")]
pub mod ecs;
#[cfg(feature = "eks")]
pub mod eks;
#[cfg(feature = "iam")]
pub mod iam;
#[cfg(feature = "rds")]
pub mod rds;
#[cfg(feature = "s3")]
pub mod s3;

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
