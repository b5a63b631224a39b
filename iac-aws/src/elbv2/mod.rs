//! Elastic Load Balancing v2: application load balancers, their target
//! groups, listeners and listener rules.
//!
//! ```text
//! LoadBalancer ◄── Listener ◄── ListenerRule
//!                     │              │
//!                     └─► TargetGroup ◄┘   (forward actions)
//! ```
//!
//! Every resource's id is its ARN. A target group's replacement creates the
//! new group first, so the listeners and rules that forward to it can move
//! over before the old one is deleted (AWS refuses to delete a group in use);
//! since names are unique, change the name along with the port, protocol,
//! VPC or target type.
//!
//! ```no_run
//! use iac_aws::elbv2::{Action, Listener, ListenerRule, LoadBalancer, TargetGroup};
//! fn web(s: &iac_core::Stack, vpc: iac_core::Input<String>, subnets: Vec<iac_core::Input<String>>, sg: iac_core::Input<String>) {
//!     let alb = s.add("alb", LoadBalancer::builder().name("web").subnets(subnets).security_groups([sg]).build());
//!     let api = s.add("api", TargetGroup::builder().name("api").port(8080).vpc_id(vpc).build());
//!     let https = s.add(
//!         "https",
//!         Listener::builder()
//!             .load_balancer_arn(&alb.id)
//!             .port(443)
//!             .protocol(iac_aws::elbv2::ListenerProtocol::Https)
//!             .certificate_arn("arn:aws:acm:us-east-1:123456789012:certificate/abc")
//!             .default_action(Action::fixed_response(404, "not found"))
//!             .build(),
//!     );
//!     s.add("http", Listener::builder().load_balancer_arn(&alb.id).port(80).default_action(Action::redirect_to_https()).build());
//!     s.add(
//!         "api-rule",
//!         ListenerRule::builder()
//!             .listener_arn(&https.id)
//!             .priority(10)
//!             .path_patterns(["/api/*"])
//!             .action(Action::forward(&api.id))
//!             .build(),
//!     );
//! }
//! ```

mod action;
mod listener;
mod listener_rule;
mod load_balancer;
mod target_group;

pub use action::{Action, FixedResponse, Redirect, RedirectStatus};
pub use listener::{Listener, ListenerOutputs, ListenerProtocol};
pub use listener_rule::{ListenerRule, ListenerRuleOutputs};
pub use load_balancer::{AccessLogs, LoadBalancer, LoadBalancerOutputs, Scheme};
pub use target_group::{HealthCheck, TargetGroup, TargetGroupOutputs, TargetProtocol, TargetType};

use std::collections::{BTreeMap, HashMap};

use aws_sdk_elasticloadbalancingv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_elasticloadbalancingv2::types::Tag;
use aws_sdk_elasticloadbalancingv2::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use iac_core::{Expr, ProviderError};

use crate::batch_read::Chunk;
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{TAG_NAME, TAG_STACK};

iac_core::typed_id!(
    /// The ARN of a load balancer (`arn:aws:elasticloadbalancing:…:loadbalancer/app/<name>/<id>`).
    LoadBalancerArn
);
iac_core::typed_id!(
    /// The ARN of a target group (`arn:aws:elasticloadbalancing:…:targetgroup/<name>/<id>`).
    TargetGroupArn
);
iac_core::typed_id!(
    /// The ARN of a listener (`arn:aws:elasticloadbalancing:…:listener/app/<lb>/<lb-id>/<id>`).
    ListenerArn
);
iac_core::typed_id!(
    /// The ARN of a listener rule (`arn:aws:elasticloadbalancing:…:listener-rule/app/…/<id>`).
    ListenerRuleArn
);

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    Some(match type_token {
        load_balancer::TYPE => &load_balancer::LoadBalancerHandler,
        target_group::TYPE => &target_group::TargetGroupHandler,
        listener::TYPE => &listener::ListenerHandler,
        listener_rule::TYPE => &listener_rule::ListenerRuleHandler,
        _ => return None,
    })
}

/// ELBv2 tags from a map.
pub(crate) fn elb_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// The most ARNs one ELBv2 describe takes (`DescribeTags`'s and
/// `DescribeLoadBalancers`' limit, used for every kind).
pub(crate) const ARNS_PER_CALL: usize = 20;

/// The tags of each of `arns` (DescribeTags takes 20 at a time). A resource
/// that is gone has none.
pub(crate) async fn tags_of(
    elb: &Client,
    arns: &[String],
) -> Result<HashMap<String, BTreeMap<String, String>>, ProviderError> {
    let mut out = HashMap::new();
    for chunk in arns.chunks(ARNS_PER_CALL) {
        let page = match elb.describe_tags().set_resource_arns(Some(chunk.to_vec())).send().await {
            Ok(p) => p,
            // One gone fails the call for all: ask for the others one by one.
            Err(e) if is_code(&e, GONE) && chunk.len() > 1 => {
                for arn in chunk {
                    out.extend(Box::pin(tags_of(elb, std::slice::from_ref(arn))).await?);
                }
                continue;
            }
            Err(e) if is_code(&e, GONE) => continue,
            Err(e) => return Err(aws_err("DescribeTags", e)),
        };
        for d in page.tag_descriptions() {
            let tags = d.tags().iter().filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned()))).collect();
            out.insert(d.resource_arn().unwrap_or_default().to_owned(), tags);
        }
    }
    Ok(out)
}

/// A batched read's chunk of one ELBv2 kind, with each resource's tags:
/// `described` is what `op`, a describe of the chunk's ARNs, answered. When
/// ELBv2 refused it because one of them is gone (it fails the whole call),
/// the chunk is read one by one.
pub(crate) async fn with_tags<T, E>(
    p: &AwsProvider,
    op: &str,
    described: Result<Vec<T>, SdkError<E, HttpResponse>>,
    arn: impl Fn(&T) -> Option<&str>,
) -> Result<Chunk<(T, BTreeMap<String, String>)>, ProviderError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let items = match described {
        Ok(items) => items,
        Err(e) if is_code(&e, GONE) => return Ok(Chunk::one_is_gone()),
        Err(e) => return Err(aws_err(op, e)),
    };
    let arns: Vec<String> = items.iter().filter_map(|i| arn(i).map(str::to_owned)).collect();
    let mut tags = tags_hinted(p, &arns).await?;
    Ok(Chunk::Found(
        items
            .into_iter()
            .filter_map(|i| {
                let a = arn(&i)?.to_owned();
                let t = tags.remove(&a).unwrap_or_default();
                Some((a, (i, t)))
            })
            .collect(),
    ))
}

/// The tags of each of `arns`: those a refresh read ahead, and the others
/// asked of ELBv2.
async fn tags_hinted(
    p: &AwsProvider,
    arns: &[String],
) -> Result<HashMap<String, BTreeMap<String, String>>, ProviderError> {
    let mut out = HashMap::new();
    let mut ask = Vec::new();
    for arn in arns {
        match p.indexed_tags(arn) {
            Some(tags) => {
                out.insert(arn.clone(), tags);
            }
            None => ask.push(arn.clone()),
        }
    }
    if !ask.is_empty() {
        out.extend(tags_of(p.elbv2().await, &ask).await?);
    }
    Ok(out)
}

/// The tags of one resource.
pub(crate) async fn tags_of_one(p: &AwsProvider, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    Ok(tags_hinted(p, &[arn.to_owned()]).await?.remove(arn).unwrap_or_default())
}

/// Whether tags carry this stack's identity for `urn`.
pub(crate) fn has_identity(tags: &BTreeMap<String, String>, stack: &str, urn: &str) -> bool {
    tags.get(TAG_STACK).map(String::as_str) == Some(stack) && tags.get(TAG_NAME).map(String::as_str) == Some(urn)
}

/// Brings a resource's user tags from `old` to `new` (identity tags
/// untouched).
pub(crate) async fn update_tags(
    elb: &Client,
    arn: &str,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Result<(), ProviderError> {
    let removed: Vec<String> = old.keys().filter(|k| !new.contains_key(*k)).cloned().collect();
    if !removed.is_empty() {
        elb.remove_tags()
            .resource_arns(arn)
            .set_tag_keys(Some(removed))
            .send()
            .await
            .map_err(|e| aws_err("RemoveTags", e))?;
    }
    let changed: BTreeMap<String, String> =
        new.iter().filter(|(k, v)| old.get(*k) != Some(v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    if !changed.is_empty() {
        elb.add_tags()
            .resource_arns(arn)
            .set_tags(Some(elb_tags(&changed)))
            .send()
            .await
            .map_err(|e| aws_err("AddTags", e))?;
    }
    Ok(())
}

/// Error codes meaning the resource (or its parent) no longer exists.
pub(crate) const GONE: &[&str] = &["LoadBalancerNotFound", "TargetGroupNotFound", "ListenerNotFound", "RuleNotFound"];

/// What CloudWatch names a resource by: its ARN from `marker` on
/// (`app/<name>/<id>` for `loadbalancer/`, `targetgroup/<name>/<id>`).
pub(crate) fn arn_suffix<'a>(arn: &'a str, marker: &str) -> &'a str {
    match arn.find(marker) {
        Some(i) if marker == "loadbalancer/" => &arn[i + marker.len()..],
        Some(i) => &arn[i..],
        None => arn,
    }
}

/// How a graph check keys a reference: the same resource's output, or the
/// same literal ARN, is the same thing.
pub(crate) fn ref_key(e: Option<&Expr>) -> Option<(String, String)> {
    match e? {
        Expr::Ref { urn, path } => Some((format!("{urn}#{path}"), format!("`{urn}`"))),
        Expr::Value(v) => v.as_str().map(|s| (s.to_owned(), format!("`{s}`"))),
        _ => None,
    }
}

/// An ELBv2 name: up to 32 letters, digits and hyphens, not starting or
/// ending with a hyphen.
pub(crate) fn check_name(c: &mut iac_core::Checks, value: &str) {
    crate::checks::name(
        c,
        "name",
        value,
        32,
        |ch| ch.is_ascii_alphanumeric() || ch == '-',
        "letters, digits and hyphens only",
    );
    c.check(!value.starts_with('-') && !value.ends_with('-'), "name", || {
        format!("`{value}` must not start or end with a hyphen")
    });
}

#[cfg(test)]
mod tests {
    use super::arn_suffix;

    #[test]
    fn arn_suffixes_are_what_cloudwatch_names() {
        let lb = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188";
        assert_eq!(arn_suffix(lb, "loadbalancer/"), "app/web/50dc6c495c0c9188");
        let tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/73e2d6bc24d8a067";
        assert_eq!(arn_suffix(tg, "targetgroup/"), "targetgroup/api/73e2d6bc24d8a067");
    }
}
