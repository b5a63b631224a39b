//! ECS on Fargate: clusters, task definitions and services.
//!
//! ```text
//! Cluster ◄── Service ──► TaskDefinition (family:revision)
//! ```
//!
//! A task definition is immutable in ECS: changing one registers a new
//! revision, so its `arn` output changes on update and the services that use
//! it update to the new revision in the same run.

mod cluster;
mod service;
mod task_definition;

pub use cluster::{Cluster, ClusterOutputs};
pub use service::{DeploymentCircuitBreaker, LaunchType, LoadBalancer, NetworkConfiguration, Service, ServiceOutputs};
pub use task_definition::{
    fargate_memory_options, Container, HealthCheck, LogConfiguration, PortMapping, Protocol, TaskDefinition,
    TaskDefinitionOutputs, FARGATE_CPU,
};

use std::collections::BTreeMap;

use aws_sdk_ecs::types::Tag;
use iac_core::{Expr, Input, ProviderError, Value};
use serde::{Deserialize, Serialize};

use crate::error::aws_err;
use crate::handler::Handler;
use crate::util::{TAG_NAME, TAG_STACK};

iac_core::typed_id!(
    /// The ARN of an ECS cluster (`arn:aws:ecs:…:cluster/<name>`).
    ClusterArn
);
iac_core::typed_id!(
    /// The ARN of an ECS service (`arn:aws:ecs:…:service/<cluster>/<name>`).
    ServiceArn
);

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    Some(match type_token {
        cluster::TYPE => &cluster::ClusterHandler,
        task_definition::TYPE => &task_definition::TaskDefinitionHandler,
        service::TYPE => &service::ServiceHandler,
        _ => return None,
    })
}

/// One entry of a capacity provider strategy: how a cluster's default (or a
/// service's) tasks are spread over capacity providers.
///
/// ```
/// use iac_aws::ecs::CapacityProviderStrategy;
/// // One task on regular Fargate, then three Spot tasks for each regular one.
/// let strategy = vec![
///     CapacityProviderStrategy::builder().capacity_provider("FARGATE").weight(1).base(1).build(),
///     CapacityProviderStrategy::builder().capacity_provider("FARGATE_SPOT").weight(3).build(),
/// ];
/// # let _ = strategy;
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bon::Builder)]
#[serde(rename_all = "camelCase")]
pub struct CapacityProviderStrategy {
    /// The capacity provider (`FARGATE`, `FARGATE_SPOT`).
    #[builder(into)]
    pub capacity_provider: String,
    /// The relative share of tasks (0–1000).
    #[builder(default = 1)]
    pub weight: i32,
    /// How many tasks run on this provider before weights apply (0–100000;
    /// at most one entry may set it).
    #[builder(default)]
    #[serde(default)]
    pub base: i32,
}

impl CapacityProviderStrategy {
    pub(crate) fn to_sdk(&self) -> Result<aws_sdk_ecs::types::CapacityProviderStrategyItem, ProviderError> {
        aws_sdk_ecs::types::CapacityProviderStrategyItem::builder()
            .capacity_provider(&self.capacity_provider)
            .weight(self.weight)
            .base(self.base)
            .build()
            .map_err(|e| ProviderError::fatal("capacityProviderStrategy", e.to_string()))
    }

    pub(crate) fn from_sdk(s: &aws_sdk_ecs::types::CapacityProviderStrategyItem) -> Value {
        Value::from_serialize(&CapacityProviderStrategy {
            capacity_provider: s.capacity_provider().to_owned(),
            weight: s.weight(),
            base: s.base(),
        })
    }
}

/// Checks a capacity provider strategy: weights, bases, at most one base.
pub(crate) fn check_strategy(c: &mut iac_core::Checks, field: &str, items: &[CapacityProviderStrategy]) {
    for (n, s) in items.iter().enumerate() {
        check_provider_name(c, field, &s.capacity_provider);
        c.check((0..=1000).contains(&s.weight), field, || {
            format!("`{}` has weight {}; a weight is between 0 and 1000", s.capacity_provider, s.weight)
        });
        c.check((0..=100_000).contains(&s.base), field, || {
            format!("`{}` has base {}; a base is between 0 and 100000", s.capacity_provider, s.base)
        });
        if items[..n].iter().any(|o| o.capacity_provider == s.capacity_provider) {
            c.fail(field, format!("`{}` is listed twice", s.capacity_provider));
        }
    }
    let with_base = items.iter().filter(|s| s.base > 0).count();
    c.check(with_base <= 1, field, || format!("{with_base} entries set a base; at most one may"));
    if !items.is_empty() {
        c.check(items.iter().any(|s| s.weight > 0), field, || "at least one entry needs a weight above 0".into());
    }
}

/// A capacity provider's name: AWS's own are `FARGATE` and `FARGATE_SPOT`,
/// in capitals (ECS matches names exactly), and the name of one of the
/// account's own may not start with `aws`, `ecs` or `fargate`.
pub(crate) fn check_provider_name(c: &mut iac_core::Checks, field: &str, name: &str) {
    let own = ["FARGATE", "FARGATE_SPOT"];
    if let Some(upper) = own.iter().find(|o| o.eq_ignore_ascii_case(name) && **o != name) {
        c.fail(field, format!("`{name}`: ECS's capacity provider is `{upper}`, in capitals"));
    } else if !own.contains(&name) {
        let lower = name.to_ascii_lowercase();
        let reserved = ["aws", "ecs", "fargate"].into_iter().find(|p| lower.starts_with(p));
        c.check(reserved.is_none(), field, || {
            format!(
                "`{name}` is not FARGATE or FARGATE_SPOT, and names of the account's own capacity providers \
                 cannot start with `{}`",
                reserved.unwrap_or_default()
            )
        });
        crate::checks::name(
            c,
            field,
            name,
            255,
            |ch| ch.is_ascii_alphanumeric() || "-_".contains(ch),
            "letters, digits, hyphens and underscores",
        );
    }
}

/// Parses a list of strategy entries from an input value.
pub(crate) fn strategy_in(v: Option<serde_json::Value>) -> Result<Vec<CapacityProviderStrategy>, ProviderError> {
    match v {
        None => Ok(Vec::new()),
        Some(j) => {
            serde_json::from_value(j).map_err(|e| ProviderError::fatal("capacityProviderStrategy", e.to_string()))
        }
    }
}

/// A list of strings or references as an expression; unset when empty.
pub(crate) fn list_expr(items: &[Input<String>]) -> Expr {
    if items.is_empty() {
        Expr::Value(Value::Null)
    } else {
        Expr::List(items.iter().map(Input::to_expr).collect())
    }
}

/// ECS tags from a map.
pub(crate) fn ecs_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// ECS tags as key/value pairs.
pub(crate) fn tag_pairs(tags: &[Tag]) -> Vec<(&str, &str)> {
    tags.iter().filter_map(|t| Some((t.key()?, t.value()?))).collect()
}

/// Whether ECS tags carry this stack's identity for `urn`.
pub(crate) fn has_identity(tags: &[Tag], stack: &str, urn: &str) -> bool {
    let get = |k: &str| tags.iter().find(|t| t.key() == Some(k)).and_then(|t| t.value());
    get(TAG_STACK) == Some(stack) && get(TAG_NAME) == Some(urn)
}

/// Brings an ECS resource's user tags from `old` to `new` (identity tags
/// untouched).
pub(crate) async fn update_tags(
    ecs: &aws_sdk_ecs::Client,
    arn: &str,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Result<(), ProviderError> {
    let removed: Vec<String> = old.keys().filter(|k| !new.contains_key(*k)).cloned().collect();
    if !removed.is_empty() {
        ecs.untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(removed))
            .send()
            .await
            .map_err(|e| aws_err("UntagResource", e))?;
    }
    let changed: BTreeMap<String, String> =
        new.iter().filter(|(k, v)| old.get(*k) != Some(v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    if !changed.is_empty() {
        ecs.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(ecs_tags(&changed)))
            .send()
            .await
            .map_err(|e| aws_err("TagResource", e))?;
    }
    Ok(())
}

/// A list read from AWS, in the order the user recorded it when it holds the
/// same items (AWS may reorder sets such as subnets).
pub(crate) fn ordered_like(read: Vec<String>, recorded: &Value) -> Value {
    let rec: Vec<&str> = recorded.as_list().map(|l| l.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let mut a: Vec<&str> = read.iter().map(String::as_str).collect();
    let mut b = rec.clone();
    a.sort_unstable();
    b.sort_unstable();
    if a == b {
        Value::from(rec.into_iter().map(str::to_owned).collect::<Vec<_>>())
    } else {
        Value::from(read)
    }
}

/// The last segment of an ARN (`…/name` → `name`).
pub(crate) fn arn_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}
