//! `RestApi`: a REST API, the container of its resources, methods,
//! deployments and stages.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_apigateway::operation::get_rest_api::GetRestApiOutput;
use aws_sdk_apigateway::types::{ApiStatus, EndpointConfiguration, EndpointType as SdkEndpointType, Op};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Output, Resource, Schema, Urn, Value};

use super::{arn, execution_arn, has_identity, patch, region, update_tags, ApiResourceId, RestApiId, GONE};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{map, ordered_like, tags_value, tags_with_identity, wait_for, In};

pub(crate) const TYPE: &str = "aws:apigateway:RestApi";

/// Schema: nothing replaces an API; its name, description, endpoint type,
/// binary media types and tags change in place (`UpdateRestApi`).
pub static SCHEMA: Schema = Schema { taggable: true, ..Schema::new(TYPE, "aws") };

/// Where an API is served from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EndpointType {
    /// Through CloudFront's edge locations (AWS's default).
    #[default]
    Edge,
    /// From the API's region only (clients in or near it; behind your own
    /// CDN).
    Regional,
    /// Only from VPCs, through an interface endpoint (it needs a resource
    /// policy, which this resource does not manage yet).
    Private,
}

impl EndpointType {
    fn as_str(self) -> &'static str {
        match self {
            EndpointType::Edge => "EDGE",
            EndpointType::Regional => "REGIONAL",
            EndpointType::Private => "PRIVATE",
        }
    }
}

/// A REST API.
///
/// ```
/// use iac_aws::apigateway::{EndpointType, RestApi};
/// let api = RestApi::builder()
///     .name("orders")
///     .description("the orders service")
///     .endpoint_type(EndpointType::Regional)
///     .binary_media_types(vec!["image/png".into()])
///     .tags(iac_aws::tags([("Team", "orders")]))
///     .build();
/// # let _ = api;
/// ```
#[derive(bon::Builder)]
pub struct RestApi {
    /// Its name (not unique in AWS; changes in place).
    #[builder(into)]
    pub name: String,
    /// What it is for.
    #[builder(into, default)]
    pub description: String,
    /// Where it is served from.
    #[builder(default)]
    pub endpoint_type: EndpointType,
    /// Content types passed through as binary (`image/png`, `*/*`).
    #[builder(default)]
    pub binary_media_types: Vec<String>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`RestApi`].
pub struct RestApiOutputs {
    /// Its id (the resource's id).
    pub id: Output<RestApiId>,
    /// The id of its root resource (`/`), the parent of top-level paths.
    pub root_resource_id: Output<ApiResourceId>,
    /// `arn:aws:execute-api:<region>:<account>:<id>`: append
    /// `/<stage>/<method>/<path>` (or `/*/*`) for a Lambda permission's
    /// source ARN.
    pub execution_arn: Output<String>,
    /// Its ARN (`arn:aws:apigateway:<region>::/restapis/<id>`).
    pub arn: Output<String>,
}

impl Resource for RestApi {
    type Outputs = RestApiOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("description", Value::from(Some(self.description.as_str()).filter(|d| !d.is_empty())).into()),
            ("endpointType", Value::from(self.endpoint_type.as_str()).into()),
            ("binaryMediaTypes", Value::from(self.binary_media_types.clone()).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> RestApiOutputs {
        RestApiOutputs {
            id: Output::from_ref(urn, "id"),
            root_resource_id: Output::from_ref(urn, "rootResourceId"),
            execution_arn: Output::from_ref(urn, "executionArn"),
            arn: Output::from_ref(urn, "arn"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        c.check(!self.name.trim().is_empty(), "name", || "must not be empty".into());
        c.check(self.name.len() <= 1024, "name", || format!("{} characters; at most 1024", self.name.len()));
        for (i, t) in self.binary_media_types.iter().enumerate() {
            let ok = t.split_once('/').is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && !b.contains('/'));
            c.check(ok, "binaryMediaTypes", || format!("`{t}` is not a media type (like image/png or */*)"));
            c.check(!self.binary_media_types[..i].contains(t), "binaryMediaTypes", || format!("`{t}` is listed twice"));
        }
    }
}

fn values(api: &GetRestApiOutput, recorded: &Value, region: &str, account: &str) -> (Value, Value) {
    let id = api.id().unwrap_or_default();
    let endpoint = api.endpoint_configuration().and_then(|e| e.types().first()).map(|t| t.as_str().to_owned());
    let inputs = map([
        ("name", Value::from(api.name())),
        ("description", Value::from(api.description().filter(|d| !d.is_empty()))),
        ("endpointType", Value::from(endpoint.unwrap_or_else(|| "EDGE".into()))),
        ("binaryMediaTypes", ordered_like(api.binary_media_types().to_vec(), recorded.get("binaryMediaTypes"))),
        ("tags", tags_value(api.tags().into_iter().flatten().map(|(k, v)| (k.as_str(), v.as_str())))),
    ]);
    let outputs = map([
        ("rootResourceId", Value::from(api.root_resource_id())),
        ("executionArn", Value::from(execution_arn(region, account, id))),
        ("arn", Value::from(arn(region, &format!("/restapis/{id}")))),
    ]);
    (inputs, outputs)
}

async fn get(p: &AwsProvider, id: &str) -> Result<Option<GetRestApiOutput>, ProviderError> {
    match p.apigateway().await.get_rest_api().rest_api_id(id).send().await {
        Ok(o) => Ok(Some(o)),
        Err(e) if is_code(&e, GONE) => Ok(None),
        Err(e) => Err(aws_err("GetRestApi", e)),
    }
}

async fn describe(p: &AwsProvider, id: &str, recorded: &Value) -> Result<Option<(Value, Value)>, ProviderError> {
    let Some(api) = get(p, id).await? else { return Ok(None) };
    let (region, account) = (super::region(p).await?, p.account_id().await?);
    Ok(Some(values(&api, recorded, &region, &account)))
}

/// Waits until the API is no longer being set up or changed (its security
/// policy and endpoint are applied).
async fn wait_available(p: &AwsProvider, id: &str, timeout: Option<Duration>) -> Result<(), ProviderError> {
    wait_for(&format!("REST API {id} available"), timeout, Duration::from_secs(10 * 60), || async {
        // Not visible yet is not ready yet.
        let Some(api) = get(p, id).await? else { return Ok(None) };
        match api.api_status() {
            Some(ApiStatus::Failed) => Err(ProviderError::fatal(
                "GetRestApi",
                format!("REST API {id} failed: {}", api.api_status_message().unwrap_or("no reason given")),
            )),
            Some(ApiStatus::Pending | ApiStatus::Updating) => Ok(None),
            _ => Ok(Some(())),
        }
    })
    .await
}

fn endpoint(i: &In<'_>) -> EndpointConfiguration {
    EndpointConfiguration::builder().types(SdkEndpointType::from(i.opt_str("endpointType").unwrap_or("EDGE"))).build()
}

pub(crate) struct RestApiHandler;

#[async_trait]
impl Handler for RestApiHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateRestApi");
        // Known before anything is made, so a missing account id cannot
        // fail the create after the API exists.
        p.account_id().await?;
        // Names are not unique: a create retried after an error that came
        // once the API existed finds that API by its identity tags.
        let retried = FindRequest {
            type_token: req.type_token,
            urn: req.urn.clone(),
            stack: req.stack.clone(),
            inputs: req.inputs.clone(),
            known_ids: req.known_ids.clone(),
        };
        if let Some(found) = self.find(p, retried).await? {
            return Ok(CreateResult { id: found.id, outputs: found.outputs });
        }
        let tags: HashMap<String, String> = tags_with_identity(&req.inputs, &req.stack, &req.urn).into_iter().collect();
        let out = p
            .apigateway()
            .await
            .create_rest_api()
            .name(i.str("name")?)
            .set_description(i.opt_str("description").map(str::to_owned))
            .endpoint_configuration(endpoint(&i))
            .set_binary_media_types(Some(i.strs("binaryMediaTypes")).filter(|t| !t.is_empty()))
            .set_tags(Some(tags))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateRestApi", e))?;
        let id = out.id().ok_or_else(|| ProviderError::fatal("CreateRestApi", "no id returned"))?.to_owned();
        wait_available(p, &id, req.timeout).await?;
        let (_, outputs) = describe(p, &id, &req.inputs)
            .await?
            .ok_or_else(|| ProviderError::fatal("GetRestApi", format!("{id} vanished after create")))?;
        Ok(CreateResult { id, outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id, &req.inputs).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, "UpdateRestApi"), In::new(&req.inputs, "UpdateRestApi"));
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        let mut ops = Vec::new();
        if changed("name") {
            ops.push(patch(Op::Replace, "/name", Some(new.str("name")?.to_owned())));
        }
        if changed("description") {
            ops.push(patch(Op::Replace, "/description", Some(new.opt_str("description").unwrap_or("").to_owned())));
        }
        if changed("endpointType") {
            // The path names the type being replaced.
            let was = old.opt_str("endpointType").unwrap_or("EDGE");
            let now = new.opt_str("endpointType").unwrap_or("EDGE");
            ops.push(patch(Op::Replace, format!("/endpointConfiguration/types/{was}"), Some(now.to_owned())));
        }
        if changed("binaryMediaTypes") {
            let (was, now) = (old.strs("binaryMediaTypes"), new.strs("binaryMediaTypes"));
            for t in was.iter().filter(|t| !now.contains(t)) {
                ops.push(patch(Op::Remove, format!("/binaryMediaTypes/{}", super::escape(t)), None));
            }
            for t in now.iter().filter(|t| !was.contains(t)) {
                ops.push(patch(Op::Add, format!("/binaryMediaTypes/{}", super::escape(t)), None));
            }
        }
        if !ops.is_empty() {
            p.apigateway()
                .await
                .update_rest_api()
                .rest_api_id(&req.id)
                .set_patch_operations(Some(ops))
                .send()
                .await
                .map_err(|e| aws_err("UpdateRestApi", e))?;
            wait_available(p, &req.id, req.timeout).await?;
        }
        if changed("tags") {
            let region = region(p).await?;
            update_tags(p, &arn(&region, &format!("/restapis/{}", req.id)), &old, &new).await?;
        }
        let (_, outputs) = describe(p, &req.id, &req.inputs)
            .await?
            .ok_or_else(|| ProviderError::fatal("GetRestApi", format!("{} is gone", req.id)))?;
        Ok(UpdateResult { outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        // Deleting takes the API's resources, methods, deployments and
        // stages with it. AWS allows few deletes a minute: throttling is
        // retried.
        match p.apigateway().await.delete_rest_api().rest_api_id(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, GONE) => Ok(()),
            Err(e) => Err(aws_err("DeleteRestApi", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let gw = p.apigateway().await;
        let mut position = None;
        loop {
            let page = gw
                .get_rest_apis()
                .limit(500)
                .set_position(position)
                .send()
                .await
                .map_err(|e| aws_err("GetRestApis", e))?;
            // The old copy of a replace carries the same tags: look past it.
            let mine = req.first_unknown(
                page.items()
                    .iter()
                    .filter(|a| a.name() == Some(name) && has_identity(a.tags(), &req.stack, &req.urn))
                    .filter_map(|a| a.id()),
            );
            if let Some(id) = mine {
                return Ok(describe(p, id, &req.inputs).await?.map(|(inputs, outputs)| ReadResult {
                    id: id.to_owned(),
                    inputs,
                    outputs,
                }));
            }
            match page.position() {
                Some(next) if !next.is_empty() => position = Some(next.to_owned()),
                _ => return Ok(None),
            }
        }
    }
}
