//! ElastiCache for Redis: subnet groups, parameter groups and replication
//! groups (Redis 7, with or without cluster mode).
//!
//! ```text
//! SubnetGroup ◄── ReplicationGroup ──► ParameterGroup
//! ```
//!
//! ElastiCache stores names and ids in lowercase: this crate accepts
//! capitals and lowercases the names itself, as ElastiCache will answer
//! them, so a refresh shows no change.
//! A parameter group's replacement creates the new group first, so the
//! replication groups using it can move over before the old one is deleted
//! (AWS refuses to delete a group in use); since names are unique, change
//! the name along with the family or description. A replication group
//! cannot move to another subnet group: changing it replaces the group.
//!
//! ```no_run
//! use iac_aws::elasticache::{ClusterMode, ParameterGroup, ReplicationGroup, SubnetGroup};
//! fn cache(s: &iac_core::Stack, subnets: Vec<iac_core::Input<String>>, sg: iac_core::Input<String>) {
//!     let subnets = s.add("cache-subnets", SubnetGroup::builder().name("cache").subnet_ids(subnets).build());
//!     let params = s.add(
//!         "cache-params",
//!         ParameterGroup::builder()
//!             .name("sessions")
//!             .family("redis7")
//!             .parameters(iac_aws::tags([("maxmemory-policy", "volatile-lru")]))
//!             .build(),
//!     );
//!     let cache = s.add(
//!         "sessions",
//!         ReplicationGroup::builder()
//!             .id("sessions")
//!             .node_type("cache.t4g.small")
//!             .cluster_mode(ClusterMode::Disabled { num_cache_clusters: 2 })
//!             .automatic_failover(true)
//!             .multi_az(true)
//!             .subnet_group_name(&subnets.name)
//!             .parameter_group_name(&params.name)
//!             .security_group_ids([sg])
//!             .build(),
//!     );
//!     s.export("redis", cache.primary_endpoint_address.clone());
//! }
//! ```

mod parameter_group;
mod replication_group;
mod subnet_group;

pub use parameter_group::{ParameterGroup, ParameterGroupOutputs, FAMILIES};
pub use replication_group::{ClusterMode, ReplicationGroup, ReplicationGroupOutputs, NODE_FAMILIES};
pub use subnet_group::{SubnetGroup, SubnetGroupOutputs};

use std::collections::BTreeMap;

use aws_sdk_elasticache::types::Tag;
use aws_sdk_elasticache::Client;
use iac_core::{Checks, ProviderError};

use crate::error::aws_err;
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{TAG_NAME, TAG_STACK};

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    Some(match type_token {
        subnet_group::TYPE => &subnet_group::SubnetGroupHandler,
        parameter_group::TYPE => &parameter_group::ParameterGroupHandler,
        replication_group::TYPE => &replication_group::ReplicationGroupHandler,
        _ => return None,
    })
}

/// ElastiCache tags from a map.
pub(crate) fn ec_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// A resource's tags, by ARN (read ahead by a refresh, else asked).
pub(crate) async fn tags_of(p: &AwsProvider, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    p.tags_or_ask(arn, async {
        let ec = p.elasticache().await;
        let out = ec
            .list_tags_for_resource()
            .resource_name(arn)
            .send()
            .await
            .map_err(|e| aws_err("ListTagsForResource", e))?;
        Ok(out.tag_list().iter().filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned()))).collect())
    })
    .await
}

/// Whether tags carry this stack's identity for `urn`.
pub(crate) fn has_identity(tags: &BTreeMap<String, String>, stack: &str, urn: &str) -> bool {
    tags.get(TAG_STACK).map(String::as_str) == Some(stack) && tags.get(TAG_NAME).map(String::as_str) == Some(urn)
}

/// Brings a resource's user tags from `old` to `new` (identity tags
/// untouched).
pub(crate) async fn update_tags(
    ec: &Client,
    arn: &str,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Result<(), ProviderError> {
    let removed: Vec<String> = old.keys().filter(|k| !new.contains_key(*k)).cloned().collect();
    if !removed.is_empty() {
        ec.remove_tags_from_resource()
            .resource_name(arn)
            .set_tag_keys(Some(removed))
            .send()
            .await
            .map_err(|e| aws_err("RemoveTagsFromResource", e))?;
    }
    let changed: BTreeMap<String, String> =
        new.iter().filter(|(k, v)| old.get(*k) != Some(v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    if !changed.is_empty() {
        ec.add_tags_to_resource()
            .resource_name(arn)
            .set_tags(Some(ec_tags(&changed)))
            .send()
            .await
            .map_err(|e| aws_err("AddTagsToResource", e))?;
    }
    Ok(())
}

/// An ElastiCache name: `max` characters at most of letters, digits and
/// hyphens, no two hyphens in a row nor a trailing one; starting with a
/// letter when `letter_first`. ElastiCache accepts capitals and stores the
/// name in lowercase, so the resources' inputs hold it lowercased.
pub(crate) fn check_name(c: &mut Checks, field: &str, value: &str, max: usize, letter_first: bool) {
    crate::checks::name(
        c,
        field,
        value,
        max,
        |ch| ch.is_ascii_alphanumeric() || ch == '-',
        "letters, digits and hyphens only",
    );
    if letter_first {
        c.check(value.starts_with(|ch: char| ch.is_ascii_alphabetic()), field, || {
            format!("`{value}` must start with a letter")
        });
    }
    c.check(!value.contains("--") && !value.ends_with('-'), field, || {
        format!("`{value}` must not contain two hyphens in a row or end with one")
    });
}
