//! AWS Batch on Fargate: compute environments, the job queues that feed
//! them, and job definitions.
//!
//! ```text
//! JobQueue ──► ComputeEnvironment (FARGATE / FARGATE_SPOT) ──► subnets, security groups
//! JobDefinition (name:revision)
//! ```
//!
//! Batch refuses to delete an enabled compute environment or job queue, so
//! deleting one first disables it and waits; a queue is deleted (and waited
//! for) before the compute environments it uses. A job definition revision
//! is immutable: a change registers a new revision and deregisters the old.

mod compute_environment;
mod job_definition;
mod job_queue;

pub use compute_environment::{ComputeEnvironment, ComputeEnvironmentOutputs, FargateCapacity};
pub use job_definition::{JobDefinition, JobDefinitionOutputs, FARGATE_VCPUS};
pub use job_queue::{JobQueue, JobQueueOutputs};

use std::collections::{BTreeMap, HashMap};

use iac_core::{Checks, ProviderError};

use crate::error::aws_err;
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{TAG_NAME, TAG_STACK};

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    Some(match type_token {
        compute_environment::TYPE => &compute_environment::ComputeEnvironmentHandler,
        job_queue::TYPE => &job_queue::JobQueueHandler,
        job_definition::TYPE => &job_definition::JobDefinitionHandler,
        _ => return None,
    })
}

/// Batch's names: 1–128 letters, digits, hyphens and underscores, starting
/// with a letter or digit.
pub(crate) fn check_name(c: &mut Checks, field: &str, name: &str) {
    crate::checks::name(
        c,
        field,
        name,
        128,
        |ch| ch.is_ascii_alphanumeric() || "-_".contains(ch),
        "letters, digits, hyphens and underscores",
    );
    if let Some(first) = name.chars().next() {
        c.check(first.is_ascii_alphanumeric(), field, || format!("`{name}` must start with a letter or digit"));
    }
}

/// Whether Batch tags carry this stack's identity for `urn`.
pub(crate) fn has_identity(tags: Option<&HashMap<String, String>>, stack: &str, urn: &str) -> bool {
    let get = |k: &str| tags.and_then(|t| t.get(k)).map(String::as_str);
    get(TAG_STACK) == Some(stack) && get(TAG_NAME) == Some(urn)
}

/// Brings a Batch resource's user tags from `was` to `now`.
pub(crate) async fn update_tags(
    p: &AwsProvider,
    arn: &str,
    was: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
) -> Result<(), ProviderError> {
    let batch = p.batch().await;
    let removed: Vec<String> = was.keys().filter(|k| !now.contains_key(*k)).cloned().collect();
    if !removed.is_empty() {
        batch
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(removed))
            .send()
            .await
            .map_err(|e| aws_err("UntagResource", e))?;
    }
    let added: HashMap<String, String> =
        now.iter().filter(|(k, v)| was.get(*k) != Some(v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    if !added.is_empty() {
        batch
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(added))
            .send()
            .await
            .map_err(|e| aws_err("TagResource", e))?;
    }
    Ok(())
}
