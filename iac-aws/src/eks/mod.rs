//! EKS: clusters, managed node groups and add-ons.
//!
//! ```text
//! Cluster ◄── NodeGroup
//!         ◄── Addon (vpc-cni, coredns, kube-proxy, …)
//! ```
//!
//! IAM roles and KMS keys are taken as ARNs (`Input<String>`), so they can
//! come from resources declared elsewhere in the program.

mod addon;
mod cluster;
mod nodegroup;

pub use addon::{Addon, AddonOutputs, ResolveConflicts};
pub use cluster::{Cluster, ClusterOutputs, LogType};
pub use nodegroup::{CapacityType, NodeGroup, NodeGroupOutputs, ScalingConfig, Taint, TaintEffect};

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_sdk_eks::types::UpdateStatus;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use iac_core::{Input, ProviderError, Value};

use crate::error::aws_err;
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{wait_for, TAG_NAME, TAG_STACK};

iac_core::typed_id!(
    /// The name of an EKS cluster (its id).
    ClusterName
);

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    Some(match type_token {
        cluster::TYPE => &cluster::ClusterHandler,
        nodegroup::TYPE => &nodegroup::NodeGroupHandler,
        addon::TYPE => &addon::AddonHandler,
        _ => return None,
    })
}

/// The readable text of an HTTP error body (HTML tags dropped, whitespace
/// folded, cut to a few hundred characters).
fn body_text(raw: &HttpResponse) -> String {
    let body = raw.body().bytes().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
    let mut out = String::new();
    let mut in_tag = false;
    for ch in body.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let folded = out.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = folded.chars().take(300).collect();
    if cut.len() < folded.len() {
        cut.push('…');
    }
    cut
}

/// An SDK error from `op` on `what` (`EKS cluster `x``) as a provider
/// error that names both. An answer that is not an AWS error document (an
/// API the endpoint does not serve, a proxy's page) is reported with its HTTP
/// status and text instead of "unknown error".
pub(crate) fn eks_err<E>(op: &str, what: &str, e: SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let raw_detail = |raw: &HttpResponse| {
        let text = body_text(raw);
        let status = raw.status().as_u16();
        if text.is_empty() {
            format!("HTTP {status} with no error document")
        } else {
            format!("HTTP {status}: {text}")
        }
    };
    let unmodeled = match &e {
        SdkError::ServiceError(s) if s.err().code().is_none() => Some(raw_detail(s.raw())),
        SdkError::ResponseError(r) => Some(raw_detail(r.raw())),
        _ => None,
    };
    let mut err = aws_err(op, e);
    err.message = match unmodeled {
        Some(d) => format!("{what}: {d}"),
        None => format!("{what}: {}", err.message),
    };
    err
}

/// Whether an error says the endpoint does not serve this API at all (an
/// HTTP 404 that is not an AWS error document). AWS itself always answers
/// with an error code.
pub(crate) fn api_missing<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    match e {
        SdkError::ServiceError(s) => s.err().code().is_none() && s.raw().status().as_u16() == 404,
        SdkError::ResponseError(r) => r.raw().status().as_u16() == 404,
        _ => false,
    }
}

/// Waits for an EKS update (`DescribeUpdate`) to succeed; a failed or
/// cancelled update is an error carrying AWS's reasons. The caller then
/// waits for the resource itself to be ACTIVE again.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn wait_update(
    p: &AwsProvider,
    what: &str,
    cluster: &str,
    nodegroup: Option<&str>,
    addon: Option<&str>,
    update_id: Option<&str>,
    timeout: Option<Duration>,
    default: Duration,
) -> Result<(), ProviderError> {
    let Some(id) = update_id else { return Ok(()) };
    let eks = p.eks().await;
    wait_for(&format!("{what}: update {id}"), timeout, default, || async {
        let out = eks
            .describe_update()
            .name(cluster)
            .update_id(id)
            .set_nodegroup_name(nodegroup.map(str::to_owned))
            .set_addon_name(addon.map(str::to_owned))
            .send()
            .await;
        let out = match out {
            Ok(o) => o,
            Err(e) if api_missing(&e) => {
                // Only an endpoint without the update API (an emulator) gets
                // here; the resource's own status is then all there is.
                tracing::warn!("{what}: DescribeUpdate is not served by this endpoint; waiting on the status only");
                return Ok(Some(()));
            }
            Err(e) => return Err(eks_err("DescribeUpdate", what, e)),
        };
        let Some(u) = out.update() else { return Ok(None) };
        match u.status() {
            Some(UpdateStatus::Successful) => Ok(Some(())),
            Some(UpdateStatus::Failed) | Some(UpdateStatus::Cancelled) => {
                let reasons: Vec<String> = u
                    .errors()
                    .iter()
                    .map(|e| {
                        format!(
                            "{}: {}",
                            e.error_code().map_or("error", |c| c.as_str()),
                            e.error_message().unwrap_or("no message")
                        )
                    })
                    .collect();
                Err(ProviderError::fatal(
                    "DescribeUpdate",
                    format!(
                        "{what}: update {id} {}: {}",
                        u.status().map_or("failed", |s| s.as_str()).to_lowercase(),
                        if reasons.is_empty() { "no reason given".into() } else { reasons.join("; ") }
                    ),
                ))
            }
            _ => Ok(None),
        }
    })
    .await
}

/// A list of strings or references as an expression; unset when empty.
pub(crate) fn list_expr(items: &[Input<String>]) -> iac_core::Expr {
    if items.is_empty() {
        iac_core::Expr::Value(Value::Null)
    } else {
        iac_core::Expr::List(items.iter().map(Input::to_expr).collect())
    }
}

/// Whether EKS tags carry this stack's identity for `urn`.
pub(crate) fn has_identity(tags: Option<&HashMap<String, String>>, stack: &str, urn: &str) -> bool {
    tags.is_some_and(|t| {
        t.get(TAG_STACK).map(String::as_str) == Some(stack) && t.get(TAG_NAME).map(String::as_str) == Some(urn)
    })
}

/// Tag pairs of an EKS tag map.
pub(crate) fn tag_pairs(tags: Option<&HashMap<String, String>>) -> Vec<(&str, &str)> {
    tags.map(|t| t.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()).unwrap_or_default()
}

/// Brings an EKS resource's user tags from `old` to `new` (identity tags
/// untouched).
pub(crate) async fn update_tags(
    p: &AwsProvider,
    what: &str,
    arn: &str,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Result<(), ProviderError> {
    let eks = p.eks().await;
    let removed: Vec<String> = old.keys().filter(|k| !new.contains_key(*k)).cloned().collect();
    if !removed.is_empty() {
        eks.untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(removed))
            .send()
            .await
            .map_err(|e| eks_err("UntagResource", what, e))?;
    }
    let changed: HashMap<String, String> =
        new.iter().filter(|(k, v)| old.get(*k) != Some(v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    if !changed.is_empty() {
        eks.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(changed))
            .send()
            .await
            .map_err(|e| eks_err("TagResource", what, e))?;
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

/// Checks a cluster or node group name: 1–`max` characters, letters, digits,
/// hyphens and underscores, starting with a letter or digit.
pub(crate) fn check_name(c: &mut iac_core::Checks, field: &str, value: &str, max: usize) {
    let rule = "letters, digits, hyphens and underscores, starting with a letter or digit";
    let allowed = |ch: char| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_';
    crate::checks::name(c, field, value, max, allowed, rule);
    if let Some(first) = value.chars().next() {
        if value.len() <= max && value.chars().all(allowed) && !first.is_ascii_alphanumeric() {
            c.fail(field, format!("`{value}` starts with `{first}`; a name starts with a letter or digit"));
        }
    }
}
