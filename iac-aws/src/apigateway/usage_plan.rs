//! `UsagePlan` (throttling and a quota for the stages it covers, per API
//! key) and `UsagePlanKey` (an API key in a plan).

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_apigateway::operation::get_usage_plan::GetUsagePlanOutput;
use aws_sdk_apigateway::types::{
    ApiStage as SdkApiStage, Op, PatchOperation, QuotaPeriodType, QuotaSettings, ThrottleSettings,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use super::{
    arn, has_identity, num, patch, region, same_items_like, update_tags, ApiKeyId, RestApiId, Throttle, UsagePlanId,
    GONE,
};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{map, tags_value, tags_with_identity, unless_known, In};

pub(crate) const PLAN: &str = "aws:apigateway:UsagePlan";
pub(crate) const PLAN_KEY: &str = "aws:apigateway:UsagePlanKey";

/// Schema of [`UsagePlan`]: everything changes in place (`UpdateUsagePlan`).
pub static PLAN_SCHEMA: Schema = Schema { taggable: true, ..Schema::new(PLAN, "aws") };

/// Schema of [`UsagePlanKey`]: a key's membership of a plan; nothing to
/// change in place.
pub static PLAN_KEY_SCHEMA: Schema = Schema { replace_on: &["usagePlanId", "keyId"], ..Schema::new(PLAN_KEY, "aws") };

/// A stage a usage plan covers.
#[derive(Clone, Debug)]
pub struct ApiStage {
    /// The API.
    pub api_id: Input<RestApiId>,
    /// The stage's name (its `name` output, so the plan waits for it).
    pub stage: Input<String>,
}

/// How often a quota starts again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuotaPeriod {
    /// Every day.
    Day,
    /// Every week.
    Week,
    /// Every month.
    Month,
}

impl QuotaPeriod {
    fn as_str(self) -> &'static str {
        match self {
            QuotaPeriod::Day => "DAY",
            QuotaPeriod::Week => "WEEK",
            QuotaPeriod::Month => "MONTH",
        }
    }
}

/// Requests a key may make in a period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// Requests per period.
    pub limit: i32,
    /// The period.
    pub period: QuotaPeriod,
    /// The day the period starts: 0 for a day; 0 (Sunday) to 6 for a week;
    /// 0 to 27 for a month.
    pub offset: i32,
}

/// A usage plan.
///
/// ```
/// use iac_aws::apigateway::{ApiStage, Quota, QuotaPeriod, Throttle, UsagePlan};
/// let partners = UsagePlan::builder()
///     .name("partners")
///     .api_stages(vec![ApiStage { api_id: "a1b2c3d4e5".into(), stage: "prod".into() }])
///     .throttle(Throttle { burst_limit: 20, rate_limit: 10.0 })
///     .quota(Quota { limit: 10_000, period: QuotaPeriod::Month, offset: 0 })
///     .build();
/// # let _ = partners;
/// ```
#[derive(bon::Builder)]
pub struct UsagePlan {
    /// Its name (not unique in AWS).
    #[builder(into)]
    pub name: String,
    /// What it is for.
    #[builder(into, default)]
    pub description: String,
    /// The stages it covers.
    #[builder(default)]
    pub api_stages: Vec<ApiStage>,
    /// Throttling per key.
    pub throttle: Option<Throttle>,
    /// A quota per key.
    pub quota: Option<Quota>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`UsagePlan`].
pub struct UsagePlanOutputs {
    /// Its id (the resource's id), for usage plan keys.
    pub id: Output<UsagePlanId>,
    /// Its ARN.
    pub arn: Output<String>,
}

impl Resource for UsagePlan {
    type Outputs = UsagePlanOutputs;
    fn schema() -> &'static Schema {
        &PLAN_SCHEMA
    }
    fn inputs(&self) -> Expr {
        let stages = if self.api_stages.is_empty() {
            Expr::Value(Value::Null)
        } else {
            Expr::List(
                self.api_stages
                    .iter()
                    .map(|s| props([("apiId", s.api_id.to_expr()), ("stage", s.stage.to_expr())]))
                    .collect(),
            )
        };
        let quota = self.quota.map_or(Value::Null, |q| {
            map([
                ("limit", Value::from(q.limit)),
                ("period", Value::from(q.period.as_str())),
                ("offset", Value::from(q.offset)),
            ])
        });
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("description", Value::from(Some(self.description.as_str()).filter(|d| !d.is_empty())).into()),
            ("apiStages", stages),
            ("throttle", self.throttle.map_or(Value::Null, |t| t.value()).into()),
            ("quota", quota.into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> UsagePlanOutputs {
        UsagePlanOutputs { id: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
    fn validate(&self, c: &mut Checks) {
        c.check(!self.name.trim().is_empty(), "name", || "must not be empty".into());
        if let Some(t) = &self.throttle {
            t.check(c, "throttle");
        }
        if let Some(q) = &self.quota {
            c.check(q.limit >= 0, "quota", || format!("a limit of {}: not negative", q.limit));
            let max_offset = match q.period {
                QuotaPeriod::Day => 0,
                QuotaPeriod::Week => 6,
                QuotaPeriod::Month => 27,
            };
            c.check((0..=max_offset).contains(&q.offset), "quota", || {
                format!("an offset of {} for a {} period: 0 to {max_offset}", q.offset, q.period.as_str())
            });
        }
        let known: Vec<(&RestApiId, &String)> =
            self.api_stages.iter().filter_map(|s| Some((s.api_id.value()?, s.stage.value()?))).collect();
        for (i, s) in known.iter().enumerate() {
            c.check(!known[..i].contains(s), "apiStages", || format!("stage `{}` of `{}` is listed twice", s.1, s.0));
        }
    }
}

fn stage_key(v: &Value) -> Option<String> {
    Some(format!("{}:{}", v.get("apiId").as_str()?, v.get("stage").as_str()?))
}

fn plan_values(u: &GetUsagePlanOutput, recorded: &Value) -> Value {
    let stages: Vec<Value> = u
        .api_stages()
        .iter()
        .map(|s| map([("apiId", Value::from(s.api_id())), ("stage", Value::from(s.stage()))]))
        .collect();
    let quota = u.quota().map(|q| {
        map([
            ("limit", Value::from(q.limit())),
            ("period", Value::from(q.period().map(|p| p.as_str()))),
            ("offset", Value::from(q.offset())),
        ])
    });
    map([
        ("name", Value::from(u.name())),
        ("description", Value::from(u.description().filter(|d| !d.is_empty()))),
        ("apiStages", same_items_like(stages, recorded.get("apiStages"))),
        (
            "throttle",
            Value::from(
                u.throttle().map(|t| Throttle { burst_limit: t.burst_limit(), rate_limit: t.rate_limit() }.value()),
            ),
        ),
        ("quota", Value::from(quota)),
        ("tags", tags_value(u.tags().into_iter().flatten().map(|(k, v)| (k.as_str(), v.as_str())))),
    ])
}

async fn get_plan(p: &AwsProvider, id: &str) -> Result<Option<GetUsagePlanOutput>, ProviderError> {
    match p.apigateway().await.get_usage_plan().usage_plan_id(id).send().await {
        Ok(u) => Ok(Some(u)),
        Err(e) if is_code(&e, GONE) => Ok(None),
        Err(e) => Err(aws_err("GetUsagePlan", e)),
    }
}

async fn plan_outputs(p: &AwsProvider, id: &str) -> Result<Value, ProviderError> {
    let region = region(p).await?;
    Ok(map([("arn", Value::from(arn(&region, &format!("/usageplans/{id}"))))]))
}

fn throttle_of(v: &Value) -> Option<ThrottleSettings> {
    Some(
        ThrottleSettings::builder()
            .burst_limit(v.get("burstLimit").as_i64()? as i32)
            .rate_limit(num(v.get("rateLimit"))?)
            .build(),
    )
}

fn quota_of(v: &Value) -> Option<QuotaSettings> {
    Some(
        QuotaSettings::builder()
            .limit(v.get("limit").as_i64()? as i32)
            .period(QuotaPeriodType::from(v.get("period").as_str()?))
            .offset(v.get("offset").as_i64().unwrap_or(0) as i32)
            .build(),
    )
}

/// The patch operations turning the plan `old` into `new` (everything but
/// tags).
fn plan_patches(old: &In<'_>, new: &In<'_>, changed: &[String]) -> Vec<PatchOperation> {
    let changed = |k: &str| changed.iter().any(|c| c == k);
    let mut ops = Vec::new();
    if changed("name") {
        ops.push(patch(Op::Replace, "/name", new.opt_str("name").map(str::to_owned)));
    }
    if changed("description") {
        ops.push(patch(Op::Replace, "/description", Some(new.opt_str("description").unwrap_or("").to_owned())));
    }
    if changed("apiStages") {
        let keys = |i: &In<'_>| -> Vec<String> {
            i.value("apiStages").as_list().unwrap_or_default().iter().filter_map(stage_key).collect()
        };
        let (was, now) = (keys(old), keys(new));
        for s in was.iter().filter(|s| !now.contains(s)) {
            ops.push(patch(Op::Remove, "/apiStages", Some(s.clone())));
        }
        for s in now.iter().filter(|s| !was.contains(s)) {
            ops.push(patch(Op::Add, "/apiStages", Some(s.clone())));
        }
    }
    // A setting the plan had is replaced; one it lacked is added.
    let settings = |ops: &mut Vec<PatchOperation>, key: &str, fields: &[&str]| {
        let (was, now) = (old.value(key), new.value(key));
        if now.is_empty_like() {
            ops.push(patch(Op::Remove, format!("/{key}"), None));
            return;
        }
        let op = if was.is_empty_like() { Op::Add } else { Op::Replace };
        for f in fields {
            let v = now.get(f);
            let text = match v {
                Value::String(s) => s.clone(),
                v => num(v).map(|n| n.to_string()).unwrap_or_default(),
            };
            if was.get(f) != v {
                ops.push(patch(op.clone(), format!("/{key}/{f}"), Some(text)));
            }
        }
    };
    if changed("throttle") {
        settings(&mut ops, "throttle", &["burstLimit", "rateLimit"]);
    }
    if changed("quota") {
        settings(&mut ops, "quota", &["limit", "period", "offset"]);
    }
    ops
}

pub(crate) struct UsagePlanHandler;

#[async_trait]
impl Handler for UsagePlanHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        // Names are not unique: a create retried after an error that came
        // once the plan existed finds that plan by its identity tags.
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
        let i = In::new(&req.inputs, "CreateUsagePlan");
        let tags: HashMap<String, String> = tags_with_identity(&req.inputs, &req.stack, &req.urn).into_iter().collect();
        let stages: Vec<SdkApiStage> = i
            .value("apiStages")
            .as_list()
            .unwrap_or_default()
            .iter()
            .filter_map(|s| {
                Some(SdkApiStage::builder().api_id(s.get("apiId").as_str()?).stage(s.get("stage").as_str()?).build())
            })
            .collect();
        let out = p
            .apigateway()
            .await
            .create_usage_plan()
            .name(i.str("name")?)
            .set_description(i.opt_str("description").map(str::to_owned))
            .set_api_stages(Some(stages).filter(|s| !s.is_empty()))
            .set_throttle(throttle_of(i.value("throttle")))
            .set_quota(quota_of(i.value("quota")))
            .set_tags(Some(tags))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateUsagePlan", e))?;
        let id = out.id().ok_or_else(|| ProviderError::fatal("CreateUsagePlan", "no id returned"))?.to_owned();
        let outputs = plan_outputs(p, &id).await?;
        Ok(CreateResult { id, outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(u) = get_plan(p, &req.id).await? else { return Ok(None) };
        Ok(Some(ReadResult {
            inputs: plan_values(&u, &req.inputs),
            outputs: plan_outputs(p, &req.id).await?,
            id: req.id,
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, "UpdateUsagePlan"), In::new(&req.inputs, "UpdateUsagePlan"));
        let ops = plan_patches(&old, &new, &req.changed);
        if !ops.is_empty() {
            p.apigateway()
                .await
                .update_usage_plan()
                .usage_plan_id(&req.id)
                .set_patch_operations(Some(ops))
                .send()
                .await
                .map_err(|e| aws_err("UpdateUsagePlan", e))?;
        }
        let outputs = plan_outputs(p, &req.id).await?;
        if req.changed.iter().any(|c| c == "tags") {
            update_tags(p, outputs.get("arn").as_str().unwrap_or_default(), &old, &new).await?;
        }
        Ok(UpdateResult { outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        // AWS refuses to delete a plan still covering stages: they are
        // removed first. Its keys, dependents, are already gone.
        let gw = p.apigateway().await;
        let Some(u) = get_plan(p, &req.id).await? else { return Ok(()) };
        let ops: Vec<PatchOperation> = u
            .api_stages()
            .iter()
            .filter_map(|s| Some(patch(Op::Remove, "/apiStages", Some(format!("{}:{}", s.api_id()?, s.stage()?)))))
            .collect();
        if !ops.is_empty() {
            match gw.update_usage_plan().usage_plan_id(&req.id).set_patch_operations(Some(ops)).send().await {
                Ok(_) => {}
                Err(e) if is_code(&e, GONE) => return Ok(()),
                Err(e) => return Err(aws_err("UpdateUsagePlan", e)),
            }
        }
        match gw.delete_usage_plan().usage_plan_id(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, GONE) => Ok(()),
            Err(e) => Err(aws_err("DeleteUsagePlan", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let gw = p.apigateway().await;
        let mut position = None;
        loop {
            let page = gw
                .get_usage_plans()
                .limit(500)
                .set_position(position)
                .send()
                .await
                .map_err(|e| aws_err("GetUsagePlans", e))?;
            // The old copy of a replace carries the same tags: look past it.
            let mine = req.first_unknown(
                page.items()
                    .iter()
                    .filter(|u| u.name() == Some(name) && has_identity(u.tags(), &req.stack, &req.urn))
                    .filter_map(|u| u.id()),
            );
            if let Some(id) = mine {
                let Some(u) = get_plan(p, id).await? else { return Ok(None) };
                return Ok(Some(ReadResult {
                    id: id.to_owned(),
                    inputs: plan_values(&u, &req.inputs),
                    outputs: plan_outputs(p, id).await?,
                }));
            }
            match page.position() {
                Some(next) if !next.is_empty() => position = Some(next.to_owned()),
                _ => return Ok(None),
            }
        }
    }
}

/// An API key in a usage plan: the plan's throttling and quota apply to it.
///
/// ```
/// use iac_aws::apigateway::UsagePlanKey;
/// let member = UsagePlanKey::builder().usage_plan_id("pl4n").key_id("k3y").build();
/// # let _ = member;
/// ```
#[derive(bon::Builder)]
pub struct UsagePlanKey {
    /// The plan (replaces).
    #[builder(into)]
    pub usage_plan_id: Input<UsagePlanId>,
    /// The key (replaces).
    #[builder(into)]
    pub key_id: Input<ApiKeyId>,
}

/// Outputs of a [`UsagePlanKey`].
pub struct UsagePlanKeyOutputs {
    /// `<plan>/<key>` (the resource's id).
    pub id: Output<String>,
}

impl Resource for UsagePlanKey {
    type Outputs = UsagePlanKeyOutputs;
    fn schema() -> &'static Schema {
        &PLAN_KEY_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([("usagePlanId", self.usage_plan_id.to_expr()), ("keyId", self.key_id.to_expr())])
    }
    fn outputs(urn: &Urn) -> UsagePlanKeyOutputs {
        UsagePlanKeyOutputs { id: Output::from_ref(urn, "id") }
    }
}

async fn describe_plan_key(p: &AwsProvider, plan: &str, key: &str) -> Result<Option<Value>, ProviderError> {
    // The answer carries the key's value: only the ids are kept.
    match p.apigateway().await.get_usage_plan_key().usage_plan_id(plan).key_id(key).send().await {
        Ok(_) => Ok(Some(map([("usagePlanId", Value::from(plan)), ("keyId", Value::from(key))]))),
        Err(e) if is_code(&e, GONE) => Ok(None),
        Err(e) => Err(aws_err("GetUsagePlanKey", e)),
    }
}

pub(crate) struct UsagePlanKeyHandler;

#[async_trait]
impl Handler for UsagePlanKeyHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateUsagePlanKey");
        let (plan, key) = (i.str("usagePlanId")?, i.str("keyId")?);
        match p
            .apigateway()
            .await
            .create_usage_plan_key()
            .usage_plan_id(plan)
            .key_id(key)
            .key_type("API_KEY")
            .send()
            .await
        {
            Ok(_) => {}
            // A create retried after a crash finds the key already in the
            // plan: that is what was asked.
            Err(e) if is_code(&e, &["ConflictException"]) && describe_plan_key(p, plan, key).await?.is_some() => {}
            Err(e) => return Err(aws_err("CreateUsagePlanKey", e)),
        }
        Ok(CreateResult { id: format!("{plan}/{key}"), outputs: Value::map() })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some((plan, key)) = req.id.split_once('/') else { return Ok(None) };
        Ok(describe_plan_key(p, plan, key).await?.map(|inputs| ReadResult {
            id: req.id.clone(),
            inputs,
            outputs: Value::map(),
        }))
    }

    async fn update(&self, _p: &AwsProvider, _req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        // Every input replaces; nothing is left to change in place.
        Ok(UpdateResult { outputs: Value::map() })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let Some((plan, key)) = req.id.split_once('/') else { return Ok(()) };
        match p.apigateway().await.delete_usage_plan_key().usage_plan_id(plan).key_id(key).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, GONE) => Ok(()),
            Err(e) => Err(aws_err("DeleteUsagePlanKey", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // No tags; a key is in a plan at most once.
        let i = In::new(&req.inputs, "");
        let (Some(plan), Some(key)) = (i.opt_str("usagePlanId"), i.opt_str("keyId")) else { return Ok(None) };
        let found = describe_plan_key(p, plan, key).await?.map(|inputs| ReadResult {
            id: format!("{plan}/{key}"),
            inputs,
            outputs: Value::map(),
        });
        Ok(unless_known(&req, found))
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
    fn plan_changes_become_patches() {
        let old = Value::from_json(&serde_json::json!({
            "apiStages": [{"apiId": "a", "stage": "prod"}, {"apiId": "a", "stage": "beta"}],
            "throttle": {"burstLimit": 10, "rateLimit": 5.0},
        }));
        let new = Value::from_json(&serde_json::json!({
            "name": "n2",
            "apiStages": [{"apiId": "a", "stage": "prod"}, {"apiId": "b", "stage": "prod"}],
            "throttle": {"burstLimit": 10, "rateLimit": 2.5},
            "quota": {"limit": 1000, "period": "WEEK", "offset": 1},
        }));
        let changed: Vec<String> = ["name", "apiStages", "throttle", "quota"].map(String::from).to_vec();
        assert_eq!(
            ops(plan_patches(&In::new(&old, ""), &In::new(&new, ""), &changed)),
            [
                "replace /name n2",
                "remove /apiStages a:beta",
                "add /apiStages b:prod",
                "replace /throttle/rateLimit 2.5",
                "add /quota/limit 1000",
                "add /quota/period WEEK",
                "add /quota/offset 1",
            ]
        );
        let back = ops(plan_patches(&In::new(&new, ""), &In::new(&old, ""), &["quota".into()]));
        assert_eq!(back, ["remove /quota -"]);
    }
}
