//! S3: buckets with their versioning, encryption, lifecycle, public access
//! block, policy, replication and access logging as one resource.

mod bucket;
mod config;

pub use bucket::{Bucket, BucketOutputs, SCHEMA};
pub use config::{
    Encryption, LifecycleRule, Logging, PublicAccessBlock, Replication, ReplicationRule, StorageClass, Transition,
};

use crate::handler::Handler;
pub(crate) use config::validate_name as validate_bucket_name;

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    (type_token == bucket::TYPE).then_some(&bucket::BucketHandler as &dyn Handler)
}
