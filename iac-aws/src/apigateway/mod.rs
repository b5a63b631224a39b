//! Amazon API Gateway (REST APIs, v1): the API, its resources (paths),
//! methods and their integrations (a Lambda function, an HTTP endpoint, a
//! mock), deployments and the stages that serve them, and usage plans with
//! their API keys.
//!
//! A REST API is served only once deployed: a [`Deployment`] is a snapshot
//! of the API's methods and integrations, and a [`Stage`] points at one.
//! Give the deployment the [`MethodOutputs::fingerprint`] and
//! [`IntegrationOutputs::fingerprint`] of what it deploys as `triggers`: it
//! is then made after them, and made again (with the stage moved to it)
//! whenever one of them changes.
//!
//! ```
//! use iac_aws::apigateway::{ApiResource, Backend, Deployment, Integration, Method, RestApi, Stage};
//! use iac_aws::lambda::Permission;
//! # fn program(stack: &iac_core::Stack, function: &iac_aws::lambda::FunctionOutputs) {
//! let api = stack.add("api", RestApi::builder().name("orders").build());
//! let proxy = stack.add(
//!     "proxy",
//!     ApiResource::builder().rest_api_id(api.id.clone()).parent_id(api.root_resource_id.clone()).path_part("{proxy+}").build(),
//! );
//! let any = stack.add(
//!     "proxy-any",
//!     Method::builder().rest_api_id(api.id.clone()).resource_id(proxy.id.clone()).http_method("ANY").build(),
//! );
//! let lambda = stack.add(
//!     "proxy-lambda",
//!     Integration::builder().method(any.id.clone()).backend(Backend::LambdaProxy(function.invoke_arn.clone().into())).build(),
//! );
//! let deployment = stack.add(
//!     "deployment",
//!     Deployment::builder()
//!         .rest_api_id(api.id.clone())
//!         .triggers(iac_aws::apigateway::triggers([("method", &any.fingerprint), ("lambda", &lambda.fingerprint)]))
//!         .build(),
//! );
//! let prod = stack.add(
//!     "prod",
//!     Stage::builder().rest_api_id(api.id.clone()).deployment_id(deployment.id.clone()).stage_name("prod").build(),
//! );
//! stack.add(
//!     "api-invokes-fn",
//!     Permission::builder()
//!         .function(function.name.clone())
//!         .statement_id("api-gateway")
//!         .principal("apigateway.amazonaws.com")
//!         .source_arn(api.execution_arn.map(|arn| format!("{arn}/*/*")))
//!         .build(),
//! );
//! stack.export("url", prod.invoke_url.clone());
//! # }
//! ```

mod api_key;
mod deployment;
mod method;
mod resource;
mod rest_api;
mod usage_plan;

pub use api_key::{ApiKey, ApiKeyOutputs};
pub use deployment::{AccessLog, Deployment, DeploymentOutputs, Stage, StageOutputs};
pub use method::{Authorization, Backend, Integration, IntegrationOutputs, Method, MethodOutputs};
pub use resource::{ApiResource, ApiResourceOutputs};
pub use rest_api::{EndpointType, RestApi, RestApiOutputs};
pub use usage_plan::{ApiStage, Quota, QuotaPeriod, UsagePlan, UsagePlanKey, UsagePlanKeyOutputs, UsagePlanOutputs};

use std::collections::{BTreeMap, HashMap};

use aws_sdk_apigateway::types::{Op, PatchOperation};
use iac_core::{Checks, Diagnostic, Expr, Graph, Input, Output, ProviderError, Urn, Value};

use crate::error::aws_err;
use crate::provider::AwsProvider;
use crate::util::{map, In};

iac_core::typed_id!(
    /// The id of a REST API (`a1b2c3d4e5`).
    RestApiId
);
iac_core::typed_id!(
    /// The id of a resource (a path) of a REST API, the root's included.
    ApiResourceId
);
iac_core::typed_id!(
    /// A method of a resource: `<api id>/<resource id>/<HTTP method>`.
    MethodId
);
iac_core::typed_id!(
    /// The id of a deployment of a REST API.
    DeploymentId
);
iac_core::typed_id!(
    /// The id of a usage plan.
    UsagePlanId
);
iac_core::typed_id!(
    /// The id of an API key (not its value).
    ApiKeyId
);

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn crate::handler::Handler> {
    Some(match type_token {
        rest_api::TYPE => &rest_api::RestApiHandler,
        resource::TYPE => &resource::ApiResourceHandler,
        method::METHOD => &method::MethodHandler,
        method::INTEGRATION => &method::IntegrationHandler,
        deployment::DEPLOYMENT => &deployment::DeploymentHandler,
        deployment::STAGE => &deployment::StageHandler,
        api_key::TYPE => &api_key::ApiKeyHandler,
        usage_plan::PLAN => &usage_plan::UsagePlanHandler,
        usage_plan::PLAN_KEY => &usage_plan::UsagePlanKeyHandler,
        _ => return None,
    })
}

/// A deployment's triggers from named outputs (a method's or an
/// integration's fingerprint, a resource's path, any string).
///
/// ```
/// use iac_core::Output;
/// let t = iac_aws::apigateway::triggers([("release", &Output::known("2024-06".to_owned()))]);
/// assert!(t.contains_key("release"));
/// ```
pub fn triggers<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a Output<String>)>) -> BTreeMap<String, Input<String>> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), Input::from(v))).collect()
}

/// Request throttling: a steady rate and a burst above it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Throttle {
    /// Requests that may arrive at once (the token bucket's size).
    pub burst_limit: i32,
    /// Requests per second, on average.
    pub rate_limit: f64,
}

impl Throttle {
    pub(crate) fn value(&self) -> Value {
        map([("burstLimit", Value::from(self.burst_limit)), ("rateLimit", Value::from(self.rate_limit))])
    }

    pub(crate) fn check(&self, c: &mut Checks, field: &str) {
        c.check(self.burst_limit >= 0, field, || format!("a burst limit of {}: not negative", self.burst_limit));
        c.check(self.rate_limit.is_finite() && self.rate_limit >= 0.0, field, || {
            format!("a rate limit of {}: a number of requests per second, not negative", self.rate_limit)
        });
    }
}

/// The HTTP methods API Gateway serves (`ANY` matches every one).
pub(crate) const HTTP_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"];

/// Codes meaning the thing (or the API holding it) is gone.
pub(crate) const GONE: &[&str] = &["NotFoundException"];

/// The ARN of an API Gateway resource (`/restapis/…`, `/apikeys/…`), for
/// tagging.
pub(crate) fn arn(region: &str, path: &str) -> String {
    let partition = if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    };
    format!("arn:{partition}:apigateway:{region}::{path}")
}

/// The execute-api ARN of an API (`…/<stage>/<method>/<path>` under it is
/// what a Lambda permission's source ARN names).
pub(crate) fn execution_arn(region: &str, account: &str, api_id: &str) -> String {
    let partition = arn(region, "").split(':').nth(1).unwrap_or("aws").to_owned();
    format!("arn:{partition}:execute-api:{region}:{account}:{api_id}")
}

/// The provider's region, which ARNs and URLs carry.
pub(crate) async fn region(p: &AwsProvider) -> Result<String, ProviderError> {
    p.region().await.ok_or_else(|| ProviderError::fatal("configure", "no AWS region"))
}

/// A key of a patch path, escaped as a JSON Pointer (`image/png` →
/// `image~1png`).
pub(crate) fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// One patch operation.
pub(crate) fn patch(op: Op, path: impl Into<String>, value: Option<String>) -> PatchOperation {
    PatchOperation::builder().op(op).path(path).set_value(value).build()
}

/// The operations turning the string map `old` into `new` under `prefix`
/// (`/variables`): `replace` adds or changes a key, `remove` drops one.
pub(crate) fn map_patches(
    prefix: &str,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
    add_op: Op,
) -> Vec<PatchOperation> {
    let mut ops: Vec<PatchOperation> = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .map(|k| patch(Op::Remove, format!("{prefix}/{}", escape(k)), None))
        .collect();
    for (k, v) in new {
        if old.get(k) != Some(v) {
            let op = if old.contains_key(k) { Op::Replace } else { add_op.clone() };
            ops.push(patch(op, format!("{prefix}/{}", escape(k)), Some(v.clone())));
        }
    }
    ops
}

/// A map of strings among the inputs (empty when unset).
pub(crate) fn str_map(i: &In<'_>, key: &str) -> BTreeMap<String, String> {
    i.value(key)
        .as_map()
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
        .unwrap_or_default()
}

/// A map read from AWS, as an input value.
pub(crate) fn map_value<V: Clone + Into<Value>>(m: Option<&HashMap<String, V>>) -> Value {
    Value::Map(m.into_iter().flatten().map(|(k, v)| (k.clone(), v.clone().into())).collect())
}

/// A number among the inputs, integer or not.
pub(crate) fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// A list read from AWS in the order the user recorded it when it holds
/// the same items: AWS keeps these as sets.
pub(crate) fn same_items_like(read: Vec<Value>, recorded: &Value) -> Value {
    let rec = recorded.as_list().unwrap_or_default();
    let same = rec.len() == read.len() && rec.iter().all(|r| read.contains(r)) && read.iter().all(|r| rec.contains(r));
    Value::List(if same { rec.to_vec() } else { read })
}

/// Puts the user's tag changes on a resource: identity tags stay.
pub(crate) async fn update_tags(p: &AwsProvider, arn: &str, old: &In<'_>, new: &In<'_>) -> Result<(), ProviderError> {
    let gw = p.apigateway().await;
    let (was, now) = (old.tags(), new.tags());
    let removed: Vec<String> = was.keys().filter(|k| !now.contains_key(*k)).cloned().collect();
    if !removed.is_empty() {
        gw.untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(removed))
            .send()
            .await
            .map_err(|e| aws_err("UntagResource", e))?;
    }
    let added: HashMap<String, String> = now.into_iter().filter(|(k, v)| was.get(k) != Some(v)).collect();
    if !added.is_empty() {
        gw.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(added))
            .send()
            .await
            .map_err(|e| aws_err("TagResource", e))?;
    }
    Ok(())
}

/// Whether tags read from AWS carry this resource's identity.
pub(crate) fn has_identity(tags: Option<&HashMap<String, String>>, stack: &str, urn: &Urn) -> bool {
    let get = |k: &str| tags.and_then(|t| t.get(k)).map(String::as_str);
    get(crate::util::TAG_STACK) == Some(stack) && get(crate::util::TAG_NAME) == Some(urn.as_str())
}

/// A short digest of what AWS holds for a method or integration: it
/// changes exactly when their configuration does.
pub(crate) fn fingerprint(inputs: &Value) -> String {
    use sha2::{Digest, Sha256};
    let text = inputs.to_plain_json().map(|j| j.to_string()).unwrap_or_default();
    Sha256::digest(text.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// What an input expression refers to, as a key that is equal for two
/// inputs naming the same thing (the same output of the same resource, or
/// the same literal), and how to show it.
pub(crate) fn ref_key(e: Option<&Expr>) -> Option<(String, String)> {
    match e? {
        Expr::Ref { urn, path } => Some((format!("{urn}#{path}"), format!("`{urn}`"))),
        Expr::Value(v) => v.as_str().map(|s| (s.to_owned(), format!("`{s}`"))),
        _ => None,
    }
}

/// Reports, on each of them, resources of `type_token` that share a key
/// AWS keeps unique (two stages of one name on an API, two methods of one
/// verb on a resource).
pub(crate) fn report_duplicates(
    g: &Graph,
    out: &mut Vec<Diagnostic>,
    type_token: &str,
    field: &str,
    key: impl Fn(&iac_core::Declaration) -> Option<(String, String)>,
) {
    let mut seen: BTreeMap<String, (String, Vec<&Urn>)> = BTreeMap::new();
    for d in g.resources.values().filter(|d| d.type_token == type_token) {
        if let Some((k, shown)) = key(d) {
            seen.entry(k).or_insert_with(|| (shown, Vec::new())).1.push(&d.urn);
        }
    }
    for (shown, urns) in seen.into_values().filter(|(_, u)| u.len() > 1) {
        for &urn in &urns {
            let others: Vec<String> = urns.iter().filter(|u| **u != urn).map(|u| format!("`{u}`")).collect();
            out.push(Diagnostic {
                urn: urn.clone(),
                type_token: type_token.into(),
                field: field.into(),
                message: format!("{shown} is also declared by {}", others.join(", ")),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_paths_escape_like_json_pointers() {
        assert_eq!(escape("image/png"), "image~1png");
        assert_eq!(escape("a~b/c"), "a~0b~1c");
    }

    #[test]
    fn map_patches_replace_add_and_remove() {
        let old = BTreeMap::from([("a".to_owned(), "1".to_owned()), ("b".to_owned(), "2".to_owned())]);
        let new = BTreeMap::from([
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "3".to_owned()),
            ("c/d".to_owned(), "4".to_owned()),
        ]);
        let ops: Vec<(String, String, Option<String>)> = map_patches("/variables", &old, &new, Op::Add)
            .iter()
            .map(|o| (o.op().unwrap().as_str().to_owned(), o.path().unwrap().to_owned(), o.value().map(str::to_owned)))
            .collect();
        assert_eq!(
            ops,
            [
                ("replace".to_owned(), "/variables/b".to_owned(), Some("3".to_owned())),
                ("add".to_owned(), "/variables/c~1d".to_owned(), Some("4".to_owned())),
            ]
        );
        let ops = map_patches("/variables", &new, &BTreeMap::new(), Op::Add);
        assert_eq!(ops.len(), 3);
        assert!(ops.iter().all(|o| o.op() == Some(&Op::Remove) && o.value().is_none()));
    }

    #[test]
    fn arns_follow_the_partition() {
        assert_eq!(arn("us-east-1", "/restapis/abc"), "arn:aws:apigateway:us-east-1::/restapis/abc");
        assert_eq!(arn("cn-north-1", "/apikeys/k"), "arn:aws-cn:apigateway:cn-north-1::/apikeys/k");
        assert_eq!(
            execution_arn("us-gov-west-1", "123456789012", "abc"),
            "arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:abc"
        );
    }

    #[test]
    fn fingerprints_change_with_the_configuration_only() {
        let a = Value::from_json(&serde_json::json!({"timeout": 1, "uri": "x"}));
        let b = Value::from_json(&serde_json::json!({"uri": "x", "timeout": 1}));
        let c = Value::from_json(&serde_json::json!({"uri": "x", "timeout": 2}));
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
        assert_eq!(fingerprint(&a).len(), 16);
    }
}
