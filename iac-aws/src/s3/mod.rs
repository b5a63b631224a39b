//! S3: buckets with their versioning, encryption, lifecycle, public access
//! block, policy, replication and access logging as one resource, and
//! their Intelligent-Tiering archive configurations.

mod bucket;
mod config;
mod intelligent_tiering;

pub use bucket::{Bucket, BucketOutputs, SCHEMA};
pub use config::{
    Encryption, LifecycleRule, Logging, PublicAccessBlock, Replication, ReplicationRule, StorageClass, Transition,
};
pub use intelligent_tiering::{IntelligentTiering, IntelligentTieringOutputs, INTELLIGENT_TIERING_SCHEMA};

use crate::handler::Handler;
pub(crate) use config::validate_name as validate_bucket_name;

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    Some(match type_token {
        bucket::TYPE => &bucket::BucketHandler,
        intelligent_tiering::TYPE => &intelligent_tiering::IntelligentTieringHandler,
        _ => return None,
    })
}
