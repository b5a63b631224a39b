//! `Method` (an HTTP method of a resource: who may call it, with which
//! parameters) and `Integration` (what serves it: a Lambda function, an HTTP
//! endpoint, a mock).

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_apigateway::types::{IntegrationType, Op};
use iac_core::provider::*;
use iac_core::{props, Checks, Diagnostic, Expr, Graph, Input, Output, Resource, Schema, Urn, Value};

use super::{
    fingerprint, map_patches, map_value, patch, ref_key, report_duplicates, str_map, ApiResourceId, MethodId,
    RestApiId, GONE, HTTP_METHODS,
};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{map, opt_expr, ordered_like, unless_known, In};

pub(crate) const METHOD: &str = "aws:apigateway:Method";
pub(crate) const INTEGRATION: &str = "aws:apigateway:Integration";

/// Schema of [`Method`]: the API, resource and HTTP method are its identity
/// (one method per verb: replaced by deleting first); authorization, the
/// API-key requirement and parameters change in place (`UpdateMethod`).
pub static METHOD_SCHEMA: Schema = Schema {
    replace_on: &["restApiId", "resourceId", "httpMethod"],
    delete_before_replace: true,
    computed_on_update: &["fingerprint"],
    graph_check: Some(check_methods),
    ..Schema::new(METHOD, "aws")
};

/// Schema of [`Integration`]: one per method, of one type (replaced by
/// deleting first); the target, its HTTP method, timeout, credentials and
/// templates change in place (`UpdateIntegration`).
pub static INTEGRATION_SCHEMA: Schema = Schema {
    replace_on: &["method", "type"],
    delete_before_replace: true,
    computed_on_update: &["fingerprint"],
    graph_check: Some(check_integrations),
    ..Schema::new(INTEGRATION, "aws")
};

/// Who may call a method.
#[derive(Clone, Debug, Default)]
pub enum Authorization {
    /// Anyone (`NONE`).
    #[default]
    None,
    /// Callers signing requests with IAM credentials allowed
    /// `execute-api:Invoke` (`AWS_IAM`).
    AwsIam,
    /// A Lambda authorizer of the API, by its id (`CUSTOM`).
    Custom(Input<String>),
    /// A Cognito user pool authorizer of the API (`COGNITO_USER_POOLS`),
    /// optionally requiring OAuth scopes of the access token.
    CognitoUserPools {
        /// The authorizer's id.
        authorizer_id: Input<String>,
        /// Scopes the token must carry (`orders/read`).
        scopes: Vec<String>,
    },
}

impl Authorization {
    fn kind(&self) -> &'static str {
        match self {
            Authorization::None => "NONE",
            Authorization::AwsIam => "AWS_IAM",
            Authorization::Custom(_) => "CUSTOM",
            Authorization::CognitoUserPools { .. } => "COGNITO_USER_POOLS",
        }
    }
}

/// An HTTP method of a resource.
///
/// ```
/// use iac_aws::apigateway::{Authorization, Method};
/// let list = Method::builder()
///     .rest_api_id("a1b2c3d4e5")
///     .resource_id("0rders")
///     .http_method("GET")
///     .authorization(Authorization::AwsIam)
///     .api_key_required(true)
///     .request_parameters([("method.request.querystring.page".to_owned(), false)].into_iter().collect())
///     .build();
/// # let _ = list;
/// ```
#[derive(bon::Builder)]
pub struct Method {
    /// The API (replaces).
    #[builder(into)]
    pub rest_api_id: Input<RestApiId>,
    /// The resource (replaces).
    #[builder(into)]
    pub resource_id: Input<ApiResourceId>,
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD`, `OPTIONS` or `ANY`
    /// (replaces).
    #[builder(into)]
    pub http_method: String,
    /// Who may call it.
    #[builder(default)]
    pub authorization: Authorization,
    /// Whether callers must send an API key of a usage plan (`x-api-key`).
    #[builder(default)]
    pub api_key_required: bool,
    /// Request parameters the method takes, each required or not:
    /// `method.request.{path|querystring|header|multivaluequerystring|multivalueheader}.<name>`.
    #[builder(default)]
    pub request_parameters: BTreeMap<String, bool>,
}

/// Outputs of a [`Method`].
pub struct MethodOutputs {
    /// `<api>/<resource>/<HTTP method>` (the resource's id), for its
    /// integration.
    pub id: Output<MethodId>,
    /// A digest of the method's configuration, changing whenever it does:
    /// a deployment's trigger.
    pub fingerprint: Output<String>,
}

impl Resource for Method {
    type Outputs = MethodOutputs;
    fn schema() -> &'static Schema {
        &METHOD_SCHEMA
    }
    fn inputs(&self) -> Expr {
        let (authorizer, scopes) = match &self.authorization {
            Authorization::Custom(id) => (id.to_expr(), Value::Null),
            Authorization::CognitoUserPools { authorizer_id, scopes } => {
                (authorizer_id.to_expr(), Value::from(scopes.clone()))
            }
            _ => (Expr::Value(Value::Null), Value::Null),
        };
        props([
            ("restApiId", self.rest_api_id.to_expr()),
            ("resourceId", self.resource_id.to_expr()),
            ("httpMethod", Value::from(self.http_method.as_str()).into()),
            ("authorizationType", Value::from(self.authorization.kind()).into()),
            ("authorizerId", authorizer),
            ("authorizationScopes", scopes.into()),
            ("apiKeyRequired", Value::from(self.api_key_required).into()),
            ("requestParameters", Value::from(self.request_parameters.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> MethodOutputs {
        MethodOutputs { id: Output::from_ref(urn, "id"), fingerprint: Output::from_ref(urn, "fingerprint") }
    }
    fn validate(&self, c: &mut Checks) {
        check_http_method(c, "httpMethod", &self.http_method);
        for name in self.request_parameters.keys() {
            let rest = name.strip_prefix("method.request.").and_then(|r| r.split_once('.'));
            let ok = rest.is_some_and(|(place, param)| {
                ["path", "querystring", "header", "multivaluequerystring", "multivalueheader"].contains(&place)
                    && !param.is_empty()
            });
            c.check(ok, "requestParameters", || {
                format!("`{name}` is not like method.request.querystring.<name> (path, querystring, header, multivaluequerystring, multivalueheader)")
            });
        }
        if let Authorization::CognitoUserPools { scopes, .. } = &self.authorization {
            for (i, s) in scopes.iter().enumerate() {
                c.check(!s.trim().is_empty(), "authorizationScopes", || "an empty scope".into());
                c.check(!scopes[..i].contains(s), "authorizationScopes", || format!("`{s}` is listed twice"));
            }
        }
    }
}

fn check_http_method(c: &mut Checks, field: &str, m: &str) {
    c.check(HTTP_METHODS.contains(&m), field, || {
        format!("`{m}` is not an HTTP method API Gateway serves: {} (upper case)", HTTP_METHODS.join(", "))
    });
}

/// Across the program: two methods of one verb on one resource.
fn check_methods(g: &Graph, out: &mut Vec<Diagnostic>) {
    report_duplicates(g, out, METHOD, "httpMethod", |d| {
        let (resource, shown) = ref_key(d.input("resourceId"))?;
        let verb = d.plain_input("httpMethod")?.as_str()?;
        Some((format!("{resource}\n{verb}"), format!("{verb} on {shown}")))
    });
}

fn split_method_id(id: &str) -> Option<(&str, &str, &str)> {
    let mut parts = id.splitn(3, '/');
    Some((parts.next()?, parts.next()?, parts.next()?))
}

/// The method as AWS holds it, with its fingerprint.
async fn describe_method(
    p: &AwsProvider,
    api: &str,
    resource: &str,
    verb: &str,
    recorded: &Value,
) -> Result<Option<(Value, Value)>, ProviderError> {
    let m =
        match p.apigateway().await.get_method().rest_api_id(api).resource_id(resource).http_method(verb).send().await {
            Ok(m) => m,
            Err(e) if is_code(&e, GONE) => return Ok(None),
            Err(e) => return Err(aws_err("GetMethod", e)),
        };
    let kind = m.authorization_type().unwrap_or("NONE");
    let inputs = map([
        ("restApiId", Value::from(api)),
        ("resourceId", Value::from(resource)),
        ("httpMethod", Value::from(m.http_method().unwrap_or(verb))),
        ("authorizationType", Value::from(kind)),
        (
            "authorizerId",
            Value::from(m.authorizer_id().filter(|a| !a.is_empty() && matches!(kind, "CUSTOM" | "COGNITO_USER_POOLS"))),
        ),
        ("authorizationScopes", ordered_like(m.authorization_scopes().to_vec(), recorded.get("authorizationScopes"))),
        ("apiKeyRequired", Value::from(m.api_key_required().unwrap_or(false))),
        ("requestParameters", map_value(m.request_parameters())),
    ]);
    let outputs = map([("fingerprint", Value::from(fingerprint(&inputs)))]);
    Ok(Some((inputs, outputs)))
}

fn bool_map(i: &In<'_>, key: &str) -> HashMap<String, bool> {
    i.value(key)
        .as_map()
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_bool()?))).collect())
        .unwrap_or_default()
}

/// The patch operations turning the method `old` into `new`.
fn method_patches(old: &In<'_>, new: &In<'_>, changed: &[String]) -> Vec<aws_sdk_apigateway::types::PatchOperation> {
    let changed = |k: &str| changed.iter().any(|c| c == k);
    let mut ops = Vec::new();
    if changed("authorizationType") {
        ops.push(patch(Op::Replace, "/authorizationType", new.opt_str("authorizationType").map(str::to_owned)));
    }
    if changed("authorizerId") {
        ops.push(patch(Op::Replace, "/authorizerId", Some(new.opt_str("authorizerId").unwrap_or("").to_owned())));
    }
    if changed("authorizationScopes") {
        let (was, now) = (old.strs("authorizationScopes"), new.strs("authorizationScopes"));
        for s in was.iter().filter(|s| !now.contains(s)) {
            ops.push(patch(Op::Remove, "/authorizationScopes", Some(s.clone())));
        }
        for s in now.iter().filter(|s| !was.contains(s)) {
            ops.push(patch(Op::Add, "/authorizationScopes", Some(s.clone())));
        }
    }
    if changed("apiKeyRequired") {
        ops.push(patch(Op::Replace, "/apiKeyRequired", Some(new.bool("apiKeyRequired").to_string())));
    }
    if changed("requestParameters") {
        let as_text =
            |m: HashMap<String, bool>| m.into_iter().map(|(k, v)| (k, v.to_string())).collect::<BTreeMap<_, _>>();
        let (was, now) = (as_text(bool_map(old, "requestParameters")), as_text(bool_map(new, "requestParameters")));
        ops.extend(map_patches("/requestParameters", &was, &now, Op::Add));
    }
    ops
}

pub(crate) struct MethodHandler;

#[async_trait]
impl Handler for MethodHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "PutMethod");
        let (api, resource, verb) = (i.str("restApiId")?, i.str("resourceId")?, i.str("httpMethod")?);
        let params = bool_map(&i, "requestParameters");
        let put = p
            .apigateway()
            .await
            .put_method()
            .rest_api_id(api)
            .resource_id(resource)
            .http_method(verb)
            .authorization_type(i.str("authorizationType")?)
            .set_authorizer_id(i.opt_str("authorizerId").map(str::to_owned))
            .set_authorization_scopes(Some(i.strs("authorizationScopes")).filter(|s| !s.is_empty()))
            .api_key_required(i.bool("apiKeyRequired"))
            .set_request_parameters(Some(params).filter(|p| !p.is_empty()))
            .send()
            .await;
        match put {
            Ok(_) => {}
            // A create retried after a crash finds its own method (one per
            // verb): it is brought to what was asked.
            Err(e) if is_code(&e, &["ConflictException"]) => {
                let Some((have, _)) = describe_method(p, api, resource, verb, &req.inputs).await? else {
                    return Err(aws_err("PutMethod", e));
                };
                let keys: Vec<String> =
                    ["authorizationType", "authorizerId", "authorizationScopes", "apiKeyRequired", "requestParameters"]
                        .into_iter()
                        .filter(|k| !iac_core::diff::diff(have.get(k), req.inputs.get(k)).is_empty())
                        .map(str::to_owned)
                        .collect();
                update_method(p, api, resource, verb, &In::new(&have, "UpdateMethod"), &i, &keys).await?;
            }
            Err(e) => return Err(aws_err("PutMethod", e)),
        }
        let (_, outputs) = describe_method(p, api, resource, verb, &req.inputs)
            .await?
            .ok_or_else(|| ProviderError::fatal("GetMethod", format!("{verb} on {resource} vanished after create")))?;
        Ok(CreateResult { id: format!("{api}/{resource}/{verb}"), outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some((api, resource, verb)) = split_method_id(&req.id) else { return Ok(None) };
        Ok(describe_method(p, api, resource, verb, &req.inputs).await?.map(|(inputs, outputs)| ReadResult {
            id: req.id.clone(),
            inputs,
            outputs,
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, "UpdateMethod"), In::new(&req.inputs, "UpdateMethod"));
        let (api, resource, verb) = split_method_id(&req.id)
            .ok_or_else(|| ProviderError::fatal("UpdateMethod", format!("bad id `{}`", req.id)))?;
        update_method(p, api, resource, verb, &old, &new, &req.changed).await?;
        let (_, outputs) = describe_method(p, api, resource, verb, &req.inputs)
            .await?
            .ok_or_else(|| ProviderError::fatal("GetMethod", format!("{verb} on {resource} is gone")))?;
        Ok(UpdateResult { outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        // Its integration, a dependent, is deleted first.
        let Some((api, resource, verb)) = split_method_id(&req.id) else { return Ok(()) };
        match p.apigateway().await.delete_method().rest_api_id(api).resource_id(resource).http_method(verb).send().await
        {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, GONE) => Ok(()),
            Err(e) => Err(aws_err("DeleteMethod", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // Methods take no tags; a resource has one method per verb.
        let i = In::new(&req.inputs, "");
        let (Some(api), Some(resource), Some(verb)) =
            (i.opt_str("restApiId"), i.opt_str("resourceId"), i.opt_str("httpMethod"))
        else {
            return Ok(None);
        };
        let found = describe_method(p, api, resource, verb, &req.inputs).await?.map(|(inputs, outputs)| ReadResult {
            id: format!("{api}/{resource}/{verb}"),
            inputs,
            outputs,
        });
        Ok(unless_known(&req, found))
    }
}

async fn update_method(
    p: &AwsProvider,
    api: &str,
    resource: &str,
    verb: &str,
    old: &In<'_>,
    new: &In<'_>,
    changed: &[String],
) -> Result<(), ProviderError> {
    let ops = method_patches(old, new, changed);
    if ops.is_empty() {
        return Ok(());
    }
    p.apigateway()
        .await
        .update_method()
        .rest_api_id(api)
        .resource_id(resource)
        .http_method(verb)
        .set_patch_operations(Some(ops))
        .send()
        .await
        .map_err(|e| aws_err("UpdateMethod", e))?;
    Ok(())
}

/// What serves a method.
#[derive(Clone, Debug)]
pub enum Backend {
    /// A Lambda function given the whole request and returning the whole
    /// response (`AWS_PROXY`): its `invoke_arn`. The function also needs a
    /// `lambda::Permission` for `apigateway.amazonaws.com`.
    LambdaProxy(Input<String>),
    /// An HTTP endpoint the request is passed to as it is (`HTTP_PROXY`).
    HttpProxy {
        /// The endpoint's URL; `{name}` path parameters are filled in.
        url: Input<String>,
        /// The HTTP method used to call it (`ANY` passes the caller's).
        method: String,
    },
    /// A response API Gateway makes up from the request templates
    /// (`MOCK`): `{"statusCode": 200}` picks the status.
    Mock,
}

/// What serves a method: one integration per method.
///
/// ```
/// use iac_aws::apigateway::{Backend, Integration};
/// let to_fn = Integration::builder()
///     .method("a1b2c3d4e5/0rders/GET")
///     .backend(Backend::LambdaProxy(
///         "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:orders/invocations".into(),
///     ))
///     .timeout_millis(10_000)
///     .build();
/// let health = Integration::builder()
///     .method("a1b2c3d4e5/h3alth/GET")
///     .backend(Backend::Mock)
///     .request_templates([("application/json".to_owned(), r#"{"statusCode": 200}"#.to_owned())].into_iter().collect())
///     .build();
/// # let _ = (to_fn, health);
/// ```
#[derive(bon::Builder)]
pub struct Integration {
    /// The method served (its `id`; replaces).
    #[builder(into)]
    pub method: Input<MethodId>,
    /// What serves it (a change of kind replaces).
    pub backend: Backend,
    /// Milliseconds API Gateway waits for the backend (50–29000).
    #[builder(default = 29_000)]
    pub timeout_millis: i32,
    /// A role API Gateway assumes to call the backend.
    #[builder(into)]
    pub credentials: Option<Input<String>>,
    /// Mapping templates by content type (`application/json`), for `MOCK`
    /// responses and non-proxy integrations.
    #[builder(default)]
    pub request_templates: BTreeMap<String, String>,
}

/// Outputs of an [`Integration`].
pub struct IntegrationOutputs {
    /// `<api>/<resource>/<HTTP method>` (the resource's id).
    pub id: Output<String>,
    /// A digest of the integration's configuration, changing whenever it
    /// does: a deployment's trigger.
    pub fingerprint: Output<String>,
}

impl Resource for Integration {
    type Outputs = IntegrationOutputs;
    fn schema() -> &'static Schema {
        &INTEGRATION_SCHEMA
    }
    fn inputs(&self) -> Expr {
        let (kind, verb, uri) = match &self.backend {
            Backend::LambdaProxy(arn) => ("AWS_PROXY", Value::from("POST"), arn.to_expr()),
            Backend::HttpProxy { url, method } => ("HTTP_PROXY", Value::from(method.as_str()), url.to_expr()),
            Backend::Mock => ("MOCK", Value::Null, Expr::Value(Value::Null)),
        };
        props([
            ("method", self.method.to_expr()),
            ("type", Value::from(kind).into()),
            ("integrationHttpMethod", verb.into()),
            ("uri", uri),
            ("timeoutInMillis", Value::from(self.timeout_millis).into()),
            ("credentials", opt_expr(self.credentials.as_ref())),
            ("requestTemplates", Value::from(self.request_templates.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> IntegrationOutputs {
        IntegrationOutputs { id: Output::from_ref(urn, "id"), fingerprint: Output::from_ref(urn, "fingerprint") }
    }
    fn validate(&self, c: &mut Checks) {
        if let Some(id) = self.method.value() {
            c.check(split_method_id(id.as_str()).is_some_and(|(_, _, v)| HTTP_METHODS.contains(&v)), "method", || {
                format!("`{id}` is not a method id (<api>/<resource>/<HTTP method>): pass the method's `id` output")
            });
        }
        match &self.backend {
            Backend::LambdaProxy(Input::Value(arn)) => {
                let ok = arn.starts_with("arn:")
                    && arn.contains(":apigateway:")
                    && arn.contains(":lambda:path/")
                    && arn.ends_with("/invocations");
                c.check(ok, "uri", || {
                    format!("`{arn}` is not a Lambda invoke ARN (arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function ARN>/invocations): pass the function's `invoke_arn`")
                });
            }
            Backend::HttpProxy { url, method } => {
                if let Input::Value(url) = url {
                    let ok = (url.starts_with("https://") || url.starts_with("http://"))
                        && url.split("://").nth(1).is_some_and(|h| !h.is_empty());
                    c.check(ok, "uri", || format!("`{url}` is not an http(s) URL"));
                }
                check_http_method(c, "integrationHttpMethod", method);
            }
            _ => {}
        }
        c.check((50..=29_000).contains(&self.timeout_millis), "timeoutInMillis", || {
            format!("{} ms: between 50 and 29000", self.timeout_millis)
        });
        for content_type in self.request_templates.keys() {
            c.check(
                content_type.split_once('/').is_some_and(|(a, b)| !a.is_empty() && !b.is_empty()),
                "requestTemplates",
                || format!("`{content_type}` is not a content type (like application/json)"),
            );
        }
    }
}

/// Across the program: two integrations of one method.
fn check_integrations(g: &Graph, out: &mut Vec<Diagnostic>) {
    report_duplicates(g, out, INTEGRATION, "method", |d| {
        let (method, shown) = ref_key(d.input("method"))?;
        Some((method, format!("an integration of {shown}")))
    });
}

async fn describe_integration(p: &AwsProvider, id: &str) -> Result<Option<(Value, Value)>, ProviderError> {
    let Some((api, resource, verb)) = split_method_id(id) else { return Ok(None) };
    let gw = p.apigateway().await;
    let i = match gw.get_integration().rest_api_id(api).resource_id(resource).http_method(verb).send().await {
        Ok(i) => i,
        Err(e) if is_code(&e, GONE) => return Ok(None),
        Err(e) => return Err(aws_err("GetIntegration", e)),
    };
    let kind = i.r#type().map(|t| t.as_str()).unwrap_or_default();
    let inputs = map([
        ("method", Value::from(id)),
        ("type", Value::from(kind)),
        ("integrationHttpMethod", Value::from(i.http_method().filter(|_| kind != "MOCK"))),
        ("uri", Value::from(i.uri().filter(|u| !u.is_empty()))),
        ("timeoutInMillis", Value::from(i.timeout_in_millis())),
        ("credentials", Value::from(i.credentials().filter(|c| !c.is_empty()))),
        ("requestTemplates", map_value(i.request_templates())),
    ]);
    let outputs = map([("fingerprint", Value::from(fingerprint(&inputs)))]);
    Ok(Some((inputs, outputs)))
}

async fn put_integration(p: &AwsProvider, i: &In<'_>) -> Result<String, ProviderError> {
    let id = i.str("method")?;
    let (api, resource, verb) = split_method_id(id)
        .ok_or_else(|| ProviderError::fatal("PutIntegration", format!("`{id}` is not a method id")))?;
    let templates: HashMap<String, String> = str_map(i, "requestTemplates").into_iter().collect();
    p.apigateway()
        .await
        .put_integration()
        .rest_api_id(api)
        .resource_id(resource)
        .http_method(verb)
        .r#type(IntegrationType::from(i.str("type")?))
        .set_integration_http_method(i.opt_str("integrationHttpMethod").map(str::to_owned))
        .set_uri(i.opt_str("uri").map(str::to_owned))
        .timeout_in_millis(i.opt_i32("timeoutInMillis").unwrap_or(29_000))
        .set_credentials(i.opt_str("credentials").map(str::to_owned))
        .set_request_templates(Some(templates).filter(|t| !t.is_empty()))
        .send()
        .await
        .map_err(|e| aws_err("PutIntegration", e))?;
    Ok(id.to_owned())
}

/// The patch operations turning the integration `old` into `new`.
fn integration_patches(
    old: &In<'_>,
    new: &In<'_>,
    changed: &[String],
) -> Vec<aws_sdk_apigateway::types::PatchOperation> {
    let changed = |k: &str| changed.iter().any(|c| c == k);
    let mut ops = Vec::new();
    for (key, path) in [("uri", "/uri"), ("integrationHttpMethod", "/httpMethod"), ("credentials", "/credentials")] {
        if changed(key) {
            ops.push(patch(Op::Replace, path, Some(new.opt_str(key).unwrap_or("").to_owned())));
        }
    }
    if changed("timeoutInMillis") {
        ops.push(patch(
            Op::Replace,
            "/timeoutInMillis",
            Some(new.opt_i64("timeoutInMillis").unwrap_or(29_000).to_string()),
        ));
    }
    if changed("requestTemplates") {
        ops.extend(map_patches(
            "/requestTemplates",
            &str_map(old, "requestTemplates"),
            &str_map(new, "requestTemplates"),
            Op::Add,
        ));
    }
    ops
}

pub(crate) struct IntegrationHandler;

#[async_trait]
impl Handler for IntegrationHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        // PutIntegration sets the method's integration whole: a retried
        // create puts the same one again.
        let id = put_integration(p, &In::new(&req.inputs, "PutIntegration")).await?;
        let (_, outputs) = describe_integration(p, &id).await?.ok_or_else(|| {
            ProviderError::fatal("GetIntegration", format!("the integration of {id} vanished after create"))
        })?;
        Ok(CreateResult { id, outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe_integration(p, &req.id).await?.map(|(inputs, outputs)| ReadResult {
            id: req.id.clone(),
            inputs,
            outputs,
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, "UpdateIntegration"), In::new(&req.inputs, "UpdateIntegration"));
        let (api, resource, verb) = split_method_id(&req.id)
            .ok_or_else(|| ProviderError::fatal("UpdateIntegration", format!("bad id `{}`", req.id)))?;
        let ops = integration_patches(&old, &new, &req.changed);
        if !ops.is_empty() {
            p.apigateway()
                .await
                .update_integration()
                .rest_api_id(api)
                .resource_id(resource)
                .http_method(verb)
                .set_patch_operations(Some(ops))
                .send()
                .await
                .map_err(|e| aws_err("UpdateIntegration", e))?;
        }
        let (_, outputs) = describe_integration(p, &req.id)
            .await?
            .ok_or_else(|| ProviderError::fatal("GetIntegration", format!("the integration of {} is gone", req.id)))?;
        Ok(UpdateResult { outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let Some((api, resource, verb)) = split_method_id(&req.id) else { return Ok(()) };
        match p
            .apigateway()
            .await
            .delete_integration()
            .rest_api_id(api)
            .resource_id(resource)
            .http_method(verb)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, GONE) => Ok(()),
            Err(e) => Err(aws_err("DeleteIntegration", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // Integrations take no tags; a method has at most one.
        let Some(id) = In::new(&req.inputs, "").opt_str("method") else { return Ok(None) };
        let found = describe_integration(p, id).await?.map(|(inputs, outputs)| ReadResult {
            id: id.to_owned(),
            inputs,
            outputs,
        });
        Ok(unless_known(&req, found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(v: Vec<aws_sdk_apigateway::types::PatchOperation>) -> Vec<String> {
        v.iter()
            .map(|o| format!("{} {} {}", o.op().unwrap().as_str(), o.path().unwrap(), o.value().unwrap_or("-")))
            .collect()
    }

    #[test]
    fn method_changes_become_patches() {
        let old = Value::from_json(&serde_json::json!({
            "authorizationType": "COGNITO_USER_POOLS", "authorizerId": "au1", "authorizationScopes": ["a", "b"],
            "apiKeyRequired": false, "requestParameters": {"method.request.querystring.page": false, "method.request.header.x": true}
        }));
        let new = Value::from_json(&serde_json::json!({
            "authorizationType": "AWS_IAM", "authorizationScopes": ["b", "c"], "apiKeyRequired": true,
            "requestParameters": {"method.request.querystring.page": true, "method.request.path.id": true}
        }));
        let changed: Vec<String> =
            ["authorizationType", "authorizerId", "authorizationScopes", "apiKeyRequired", "requestParameters"]
                .map(String::from)
                .to_vec();
        assert_eq!(
            ops(method_patches(&In::new(&old, ""), &In::new(&new, ""), &changed)),
            [
                "replace /authorizationType AWS_IAM",
                "replace /authorizerId ",
                "remove /authorizationScopes a",
                "add /authorizationScopes c",
                "replace /apiKeyRequired true",
                "remove /requestParameters/method.request.header.x -",
                "add /requestParameters/method.request.path.id true",
                "replace /requestParameters/method.request.querystring.page true",
            ]
        );
    }

    #[test]
    fn integration_changes_become_patches() {
        let old = Value::from_json(
            &serde_json::json!({"uri": "u1", "timeoutInMillis": 29000, "requestTemplates": {"application/json": "{}"}}),
        );
        let new = Value::from_json(
            &serde_json::json!({"uri": "u2", "timeoutInMillis": 1000, "credentials": "arn:aws:iam::1:role/r"}),
        );
        let changed: Vec<String> =
            ["uri", "timeoutInMillis", "credentials", "requestTemplates"].map(String::from).to_vec();
        assert_eq!(
            ops(integration_patches(&In::new(&old, ""), &In::new(&new, ""), &changed)),
            [
                "replace /uri u2",
                "replace /credentials arn:aws:iam::1:role/r",
                "replace /timeoutInMillis 1000",
                "remove /requestTemplates/application~1json -",
            ]
        );
    }
}
