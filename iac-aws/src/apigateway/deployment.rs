//! `Deployment` (a snapshot of an API's methods and integrations) and
//! `Stage` (a named, served version of the API pointing at a deployment,
//! with its variables, throttling, tracing and access logs).

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_apigateway::operation::get_stage::GetStageOutput;
use aws_sdk_apigateway::types::{Op, PatchOperation};
use iac_core::provider::*;
use iac_core::{props, Checks, Diagnostic, Expr, Graph, Input, Output, Resource, Schema, Urn, Value};

use super::{
    arn, has_identity, map_patches, num, patch, ref_key, region, report_duplicates, str_map, update_tags, DeploymentId,
    RestApiId, Throttle, GONE,
};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{keep_write_only, map, tags_value, tags_with_identity, In};

pub(crate) const DEPLOYMENT: &str = "aws:apigateway:Deployment";
pub(crate) const STAGE: &str = "aws:apigateway:Stage";

/// Schema of [`Deployment`]: a deployment is a snapshot; any change (a
/// trigger above all) makes a new one, which the stages move to before the
/// old one is deleted.
pub static DEPLOYMENT_SCHEMA: Schema =
    Schema { replace_on: &["restApiId", "description", "triggers"], ..Schema::new(DEPLOYMENT, "aws") };

/// Schema of [`Stage`]: the API and the stage's name are its identity
/// (deleted first: names are unique in an API); the deployment it serves,
/// variables, throttling, tracing, access logs and tags change in place
/// (`UpdateStage`).
pub static STAGE_SCHEMA: Schema = Schema {
    replace_on: &["restApiId", "stageName"],
    delete_before_replace: true,
    taggable: true,
    graph_check: Some(check_stages),
    ..Schema::new(STAGE, "aws")
};

/// A deployment: what a stage serves.
///
/// ```
/// use iac_aws::apigateway::Deployment;
/// use iac_core::Output;
/// # fn program(method_fingerprint: Output<String>, integration_fingerprint: Output<String>) {
/// let deployment = Deployment::builder()
///     .rest_api_id("a1b2c3d4e5")
///     .description("orders API")
///     .triggers(iac_aws::apigateway::triggers([("get", &method_fingerprint), ("lambda", &integration_fingerprint)]))
///     .build();
/// # let _ = deployment;
/// # }
/// ```
#[derive(bon::Builder)]
pub struct Deployment {
    /// The API (replaces).
    #[builder(into)]
    pub rest_api_id: Input<RestApiId>,
    /// What it is (replaces).
    #[builder(into, default)]
    pub description: String,
    /// Values whose change makes a new deployment, like Terraform's
    /// `triggers`: the methods' and integrations' `fingerprint`s (so the
    /// deployment also waits for them to exist), a release name. Not sent to
    /// AWS.
    #[builder(default)]
    pub triggers: BTreeMap<String, Input<String>>,
}

/// Outputs of a [`Deployment`].
pub struct DeploymentOutputs {
    /// Its id, for stages.
    pub id: Output<DeploymentId>,
}

impl Resource for Deployment {
    type Outputs = DeploymentOutputs;
    fn schema() -> &'static Schema {
        &DEPLOYMENT_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("restApiId", self.rest_api_id.to_expr()),
            ("description", Value::from(Some(self.description.as_str()).filter(|d| !d.is_empty())).into()),
            ("triggers", Expr::Map(self.triggers.iter().map(|(k, v)| (k.clone(), v.to_expr())).collect())),
        ])
    }
    fn outputs(urn: &Urn) -> DeploymentOutputs {
        DeploymentOutputs { id: Output::from_ref(urn, "deploymentId") }
    }
    fn validate(&self, c: &mut Checks) {
        c.check(!self.triggers.is_empty(), "triggers", || {
            "name what it deploys: the methods' and integrations' fingerprints, so it is made after them and again when \
             they change"
                .into()
        });
        c.check(self.description.len() <= 1024, "description", || {
            format!("{} characters; at most 1024", self.description.len())
        });
    }
}

fn split_id(id: &str) -> Option<(&str, &str)> {
    id.split_once('/')
}

async fn describe_deployment(
    p: &AwsProvider,
    id: &str,
    recorded: &Value,
) -> Result<Option<(Value, Value)>, ProviderError> {
    let Some((api, deployment)) = split_id(id) else { return Ok(None) };
    let d = match p.apigateway().await.get_deployment().rest_api_id(api).deployment_id(deployment).send().await {
        Ok(d) => d,
        Err(e) if is_code(&e, GONE) => return Ok(None),
        Err(e) => return Err(aws_err("GetDeployment", e)),
    };
    let mut inputs =
        map([("restApiId", Value::from(api)), ("description", Value::from(d.description().filter(|d| !d.is_empty())))]);
    // The triggers are ours; AWS never sees them.
    keep_write_only(&mut inputs, recorded, &["triggers"]);
    Ok(Some((inputs, map([("deploymentId", Value::from(deployment))]))))
}

pub(crate) struct DeploymentHandler;

#[async_trait]
impl Handler for DeploymentHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        // Deployments have neither names nor tags: a create retried after
        // an error can leave an unused deployment behind, deleted with the
        // API.
        let i = In::new(&req.inputs, "CreateDeployment");
        let api = i.str("restApiId")?;
        let out = p
            .apigateway()
            .await
            .create_deployment()
            .rest_api_id(api)
            .set_description(i.opt_str("description").map(str::to_owned))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateDeployment", e))?;
        let deployment = out.id().ok_or_else(|| ProviderError::fatal("CreateDeployment", "no id returned"))?;
        Ok(CreateResult {
            id: format!("{api}/{deployment}"),
            outputs: map([("deploymentId", Value::from(deployment))]),
        })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe_deployment(p, &req.id, &req.inputs).await?.map(|(inputs, outputs)| ReadResult {
            id: req.id.clone(),
            inputs,
            outputs,
        }))
    }

    async fn update(&self, _p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        // Every input replaces; nothing is left to change in place.
        Ok(UpdateResult { outputs: req.old_outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        // Stages, dependents, have moved to the new deployment or gone.
        let Some((api, deployment)) = split_id(&req.id) else { return Ok(()) };
        match p.apigateway().await.delete_deployment().rest_api_id(api).deployment_id(deployment).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, GONE) => Ok(()),
            Err(e) => Err(aws_err("DeleteDeployment", e)),
        }
    }
}

/// Where a stage writes one line per request.
#[derive(Clone, Debug)]
pub struct AccessLog {
    /// A CloudWatch Logs group's ARN (without the trailing `:*`), or a
    /// Firehose stream's whose name starts with `amazon-apigateway-`.
    /// CloudWatch Logs needs the account's API Gateway logging role
    /// (`UpdateAccount`), set once per region.
    pub destination_arn: Input<String>,
    /// The line, with `$context` variables; it must include
    /// `$context.requestId` or `$context.extendedRequestId`.
    pub format: String,
}

/// A stage: a served version of an API at
/// `https://<api>.execute-api.<region>.amazonaws.com/<stage>`.
///
/// Its throttling and the rest of its `*/*` method settings are this
/// resource's.
///
/// ```
/// use iac_aws::apigateway::{AccessLog, Stage, Throttle};
/// let prod = Stage::builder()
///     .rest_api_id("a1b2c3d4e5")
///     .deployment_id("d3pl0y")
///     .stage_name("prod")
///     .variables(iac_aws::tags([("TABLE", "orders")]))
///     .throttle(Throttle { burst_limit: 100, rate_limit: 50.0 })
///     .tracing_enabled(true)
///     .access_log(AccessLog {
///         destination_arn: "arn:aws:logs:us-east-1:123456789012:log-group:api-access".into(),
///         format: r#"{"id":"$context.requestId","status":"$context.status"}"#.into(),
///     })
///     .build();
/// # let _ = prod;
/// ```
#[derive(bon::Builder)]
pub struct Stage {
    /// The API (replaces).
    #[builder(into)]
    pub rest_api_id: Input<RestApiId>,
    /// The deployment it serves.
    #[builder(into)]
    pub deployment_id: Input<DeploymentId>,
    /// Its name, the URL's first path part (replaces).
    #[builder(into)]
    pub stage_name: String,
    /// What it is.
    #[builder(into, default)]
    pub description: String,
    /// Stage variables (`${stageVariables.TABLE}` in integrations).
    #[builder(default)]
    pub variables: BTreeMap<String, String>,
    /// Throttling of every method (`*/*`); unset leaves the account's.
    pub throttle: Option<Throttle>,
    /// X-Ray tracing of requests.
    #[builder(default)]
    pub tracing_enabled: bool,
    /// Access logging.
    pub access_log: Option<AccessLog>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`Stage`].
pub struct StageOutputs {
    /// Its name.
    pub name: Output<String>,
    /// `https://<api>.execute-api.<region>.amazonaws.com/<stage>`.
    pub invoke_url: Output<String>,
    /// `arn:aws:execute-api:<region>:<account>:<api>/<stage>`: append
    /// `/<method>/<path>` for a Lambda permission of this stage only.
    pub execution_arn: Output<String>,
    /// Its ARN (for WAF and tagging).
    pub arn: Output<String>,
}

impl Resource for Stage {
    type Outputs = StageOutputs;
    fn schema() -> &'static Schema {
        &STAGE_SCHEMA
    }
    fn inputs(&self) -> Expr {
        let access_log = match &self.access_log {
            Some(a) => props([
                ("destinationArn", a.destination_arn.to_expr()),
                ("format", Value::from(a.format.as_str()).into()),
            ]),
            None => Expr::Value(Value::Null),
        };
        props([
            ("restApiId", self.rest_api_id.to_expr()),
            ("deploymentId", self.deployment_id.to_expr()),
            ("stageName", Value::from(self.stage_name.as_str()).into()),
            ("description", Value::from(Some(self.description.as_str()).filter(|d| !d.is_empty())).into()),
            ("variables", Value::from(self.variables.clone()).into()),
            ("throttle", self.throttle.map_or(Value::Null, |t| t.value()).into()),
            ("tracingEnabled", Value::from(self.tracing_enabled).into()),
            ("accessLog", access_log),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> StageOutputs {
        StageOutputs {
            name: Output::from_ref(urn, "stageName"),
            invoke_url: Output::from_ref(urn, "invokeUrl"),
            execution_arn: Output::from_ref(urn, "executionArn"),
            arn: Output::from_ref(urn, "arn"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        crate::checks::name(
            c,
            "stageName",
            &self.stage_name,
            128,
            |ch| ch.is_ascii_alphanumeric() || "-_".contains(ch),
            "letters, digits, hyphens and underscores",
        );
        for (k, v) in &self.variables {
            let name_ok = !k.is_empty() && k.len() <= 64 && k.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
            c.check(name_ok, "variables", || format!("`{k}` is not a variable name (1–64 letters, digits and _)"));
            let value_ok = !v.is_empty()
                && v.len() <= 512
                && v.chars().all(|ch| ch.is_ascii_alphanumeric() || "-._~:/?#&=,".contains(ch));
            c.check(value_ok, "variables", || {
                format!("the value of `{k}`, `{v}`, is not 1–512 of letters, digits and -._~:/?#&=,")
            });
        }
        if let Some(t) = &self.throttle {
            t.check(c, "throttle");
        }
        if let Some(a) = &self.access_log {
            c.check(
                a.format.contains("$context.requestId") || a.format.contains("$context.extendedRequestId"),
                "accessLog",
                || "the format must include $context.requestId or $context.extendedRequestId".into(),
            );
            if let Some(dest) = a.destination_arn.value() {
                let logs = dest.starts_with("arn:") && dest.contains(":logs:") && dest.contains(":log-group:");
                let firehose = dest.starts_with("arn:") && dest.contains(":deliverystream/amazon-apigateway-");
                c.check(logs || firehose, "accessLog", || {
                    format!("`{dest}` is neither a log group ARN nor a Firehose stream named amazon-apigateway-…")
                });
                c.check(!dest.ends_with(":*"), "accessLog", || format!("`{dest}`: leave out the trailing `:*`"));
            }
        }
        c.check(self.description.len() <= 1024, "description", || {
            format!("{} characters; at most 1024", self.description.len())
        });
    }
}

/// Across the program: two stages of one name on one API.
fn check_stages(g: &Graph, out: &mut Vec<Diagnostic>) {
    report_duplicates(g, out, STAGE, "stageName", |d| {
        let (api, shown) = ref_key(d.input("restApiId"))?;
        let name = d.plain_input("stageName")?.as_str()?;
        Some((format!("{api}\n{name}"), format!("stage `{name}` of {shown}")))
    });
}

/// The settings of every method (`*/*`).
const ALL_METHODS: &str = "*/*";

fn stage_values(s: &GetStageOutput, api: &str) -> Value {
    let throttle = s
        .method_settings()
        .and_then(|m| m.get(ALL_METHODS))
        .map(|m| Throttle { burst_limit: m.throttling_burst_limit(), rate_limit: m.throttling_rate_limit() }.value());
    let access_log = s
        .access_log_settings()
        .filter(|a| a.destination_arn().is_some())
        .map(|a| map([("destinationArn", Value::from(a.destination_arn())), ("format", Value::from(a.format()))]));
    map([
        ("restApiId", Value::from(api)),
        ("deploymentId", Value::from(s.deployment_id())),
        ("stageName", Value::from(s.stage_name())),
        ("description", Value::from(s.description().filter(|d| !d.is_empty()))),
        ("variables", super::map_value(s.variables())),
        ("throttle", Value::from(throttle)),
        ("tracingEnabled", Value::from(s.tracing_enabled())),
        ("accessLog", Value::from(access_log)),
        ("tags", tags_value(s.tags().into_iter().flatten().map(|(k, v)| (k.as_str(), v.as_str())))),
    ])
}

async fn stage_outputs(p: &AwsProvider, api: &str, stage: &str) -> Result<Value, ProviderError> {
    let (region, account) = (region(p).await?, p.account_id().await?);
    let dns = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
    Ok(map([
        ("stageName", Value::from(stage)),
        ("invokeUrl", Value::from(format!("https://{api}.execute-api.{region}.{dns}/{stage}"))),
        ("executionArn", Value::from(format!("{}/{stage}", super::execution_arn(&region, &account, api)))),
        ("arn", Value::from(arn(&region, &format!("/restapis/{api}/stages/{stage}")))),
    ]))
}

async fn get_stage(p: &AwsProvider, api: &str, stage: &str) -> Result<Option<GetStageOutput>, ProviderError> {
    match p.apigateway().await.get_stage().rest_api_id(api).stage_name(stage).send().await {
        Ok(s) => Ok(Some(s)),
        Err(e) if is_code(&e, GONE) => Ok(None),
        Err(e) => Err(aws_err("GetStage", e)),
    }
}

async fn describe_stage(p: &AwsProvider, api: &str, stage: &str) -> Result<Option<(Value, Value)>, ProviderError> {
    let Some(s) = get_stage(p, api, stage).await? else { return Ok(None) };
    Ok(Some((stage_values(&s, api), stage_outputs(p, api, stage).await?)))
}

/// The patch operations turning the stage `old` into `new` (everything but
/// tags). A stage just created is patched from its creation's inputs, so
/// only throttling and access logs are left.
fn stage_patches(old: &In<'_>, new: &In<'_>, changed: &[String]) -> Vec<PatchOperation> {
    let changed = |k: &str| changed.iter().any(|c| c == k);
    let mut ops = Vec::new();
    if changed("deploymentId") {
        ops.push(patch(Op::Replace, "/deploymentId", new.opt_str("deploymentId").map(str::to_owned)));
    }
    if changed("description") {
        ops.push(patch(Op::Replace, "/description", Some(new.opt_str("description").unwrap_or("").to_owned())));
    }
    if changed("variables") {
        ops.extend(map_patches("/variables", &str_map(old, "variables"), &str_map(new, "variables"), Op::Replace));
    }
    if changed("tracingEnabled") {
        ops.push(patch(Op::Replace, "/tracingEnabled", Some(new.bool("tracingEnabled").to_string())));
    }
    if changed("throttle") {
        let t = new.value("throttle");
        match (t.get("burstLimit").as_i64(), num(t.get("rateLimit"))) {
            (Some(burst), Some(rate)) => {
                ops.push(patch(Op::Replace, format!("/{ALL_METHODS}/throttling/burstLimit"), Some(burst.to_string())));
                ops.push(patch(Op::Replace, format!("/{ALL_METHODS}/throttling/rateLimit"), Some(rate.to_string())));
            }
            _ => ops.push(patch(Op::Remove, format!("/{ALL_METHODS}"), None)),
        }
    }
    if changed("accessLog") {
        let a = new.value("accessLog");
        match (a.get("destinationArn").as_str(), a.get("format").as_str()) {
            (Some(dest), Some(format)) => {
                ops.push(patch(Op::Replace, "/accessLogSettings/destinationArn", Some(dest.to_owned())));
                ops.push(patch(Op::Replace, "/accessLogSettings/format", Some(format.to_owned())));
            }
            _ => ops.push(patch(Op::Remove, "/accessLogSettings", None)),
        }
    }
    ops
}

async fn update_stage(p: &AwsProvider, api: &str, stage: &str, ops: Vec<PatchOperation>) -> Result<(), ProviderError> {
    if ops.is_empty() {
        return Ok(());
    }
    p.apigateway()
        .await
        .update_stage()
        .rest_api_id(api)
        .stage_name(stage)
        .set_patch_operations(Some(ops))
        .send()
        .await
        .map_err(|e| aws_err("UpdateStage", e))?;
    Ok(())
}

pub(crate) struct StageHandler;

#[async_trait]
impl Handler for StageHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateStage");
        let (api, stage) = (i.str("restApiId")?, i.str("stageName")?);
        let tags: HashMap<String, String> = tags_with_identity(&req.inputs, &req.stack, &req.urn).into_iter().collect();
        let variables: HashMap<String, String> = str_map(&i, "variables").into_iter().collect();
        let created = p
            .apigateway()
            .await
            .create_stage()
            .rest_api_id(api)
            .stage_name(stage)
            .deployment_id(i.str("deploymentId")?)
            .set_description(i.opt_str("description").map(str::to_owned))
            .set_variables(Some(variables).filter(|v| !v.is_empty()))
            .tracing_enabled(i.bool("tracingEnabled"))
            .set_tags(Some(tags))
            .send()
            .await;
        // What CreateStage cannot set, or, for a create retried after a
        // crash that finds its own stage, whatever differs.
        let from = match created {
            Ok(_) => {
                let mut base = req.inputs.clone();
                if let Value::Map(m) = &mut base {
                    m.remove("throttle");
                    m.remove("accessLog");
                }
                base
            }
            Err(e) if is_code(&e, &["ConflictException"]) => match get_stage(p, api, stage).await? {
                Some(s) if has_identity(s.tags(), &req.stack, &req.urn) => stage_values(&s, api),
                _ => return Err(aws_err("CreateStage", e)),
            },
            Err(e) => return Err(aws_err("CreateStage", e)),
        };
        let keys = ["deploymentId", "description", "variables", "tracingEnabled", "throttle", "accessLog"];
        let changed: Vec<String> = keys
            .into_iter()
            .filter(|k| !iac_core::diff::diff(from.get(k), req.inputs.get(k)).is_empty())
            .map(str::to_owned)
            .collect();
        update_stage(p, api, stage, stage_patches(&In::new(&from, ""), &i, &changed)).await?;
        Ok(CreateResult { id: format!("{api}/{stage}"), outputs: stage_outputs(p, api, stage).await? })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some((api, stage)) = split_id(&req.id) else { return Ok(None) };
        Ok(describe_stage(p, api, stage).await?.map(|(inputs, outputs)| ReadResult {
            id: req.id.clone(),
            inputs,
            outputs,
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, "UpdateStage"), In::new(&req.inputs, "UpdateStage"));
        let (api, stage) =
            split_id(&req.id).ok_or_else(|| ProviderError::fatal("UpdateStage", format!("bad id `{}`", req.id)))?;
        update_stage(p, api, stage, stage_patches(&old, &new, &req.changed)).await?;
        if req.changed.iter().any(|c| c == "tags") {
            let region = region(p).await?;
            update_tags(p, &arn(&region, &format!("/restapis/{api}/stages/{stage}")), &old, &new).await?;
        }
        Ok(UpdateResult { outputs: stage_outputs(p, api, stage).await? })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let Some((api, stage)) = split_id(&req.id) else { return Ok(()) };
        match p.apigateway().await.delete_stage().rest_api_id(api).stage_name(stage).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, GONE) => Ok(()),
            Err(e) => Err(aws_err("DeleteStage", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let i = In::new(&req.inputs, "");
        let (Some(api), Some(stage)) = (i.opt_str("restApiId"), i.opt_str("stageName")) else { return Ok(None) };
        // A stage's name is unique in its API.
        if req.is_known(&format!("{api}/{stage}")) {
            return Ok(None);
        }
        let Some(s) = get_stage(p, api, stage).await? else { return Ok(None) };
        if !has_identity(s.tags(), &req.stack, &req.urn) {
            return Ok(None);
        }
        Ok(Some(ReadResult {
            id: format!("{api}/{stage}"),
            inputs: stage_values(&s, api),
            outputs: stage_outputs(p, api, stage).await?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(v: Vec<PatchOperation>) -> Vec<String> {
        v.iter()
            .map(|o| format!("{} {} {}", o.op().unwrap().as_str(), o.path().unwrap(), o.value().unwrap_or("-")))
            .collect()
    }

    #[test]
    fn stage_changes_become_patches() {
        let old = Value::from_json(&serde_json::json!({
            "deploymentId": "d1", "variables": {"A": "1", "B": "2"}, "tracingEnabled": true,
            "throttle": {"burstLimit": 10, "rateLimit": 5.0},
            "accessLog": {"destinationArn": "arn:aws:logs:us-east-1:1:log-group:g", "format": "$context.requestId"}
        }));
        let new = Value::from_json(&serde_json::json!({
            "deploymentId": "d2", "description": "v2", "variables": {"A": "1", "C": "3"}, "tracingEnabled": false,
            "throttle": {"burstLimit": 20, "rateLimit": 7.5}
        }));
        let changed: Vec<String> =
            ["deploymentId", "description", "variables", "tracingEnabled", "throttle", "accessLog"]
                .map(String::from)
                .to_vec();
        assert_eq!(
            ops(stage_patches(&In::new(&old, ""), &In::new(&new, ""), &changed)),
            [
                "replace /deploymentId d2",
                "replace /description v2",
                "remove /variables/B -",
                "replace /variables/C 3",
                "replace /tracingEnabled false",
                "replace /*/*/throttling/burstLimit 20",
                "replace /*/*/throttling/rateLimit 7.5",
                "remove /accessLogSettings -",
            ]
        );
        // Throttling dropped: the `*/*` settings go.
        let back = ops(stage_patches(&In::new(&new, ""), &In::new(&old, ""), &["throttle".into()]));
        assert_eq!(back, ["replace /*/*/throttling/burstLimit 10", "replace /*/*/throttling/rateLimit 5"]);
        let none = Value::from_json(&serde_json::json!({}));
        assert_eq!(
            ops(stage_patches(&In::new(&old, ""), &In::new(&none, ""), &["throttle".into()])),
            ["remove /*/* -"]
        );
    }
}
