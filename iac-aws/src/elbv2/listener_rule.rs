//! `ListenerRule`: routes requests matching paths or hosts to an action,
//! before the listener's default action.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    HostHeaderConditionConfig, PathPatternConditionConfig, Rule, RuleCondition, RulePriorityPair,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Diagnostic, Expr, Graph, Input, Output, Resource, Schema, Urn, Value};

use super::action::{self, Action};
use super::{
    elb_tags, has_identity, ref_key, tags_of, tags_of_one, update_tags, with_tags, ListenerArn, ListenerRuleArn,
    ARNS_PER_CALL, GONE,
};
use crate::batch_read::{by_id, read_batched};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{map, tags_value, tags_with_identity, In};

pub(crate) const TYPE: &str = "aws:elbv2:ListenerRule";

/// Schema: a rule belongs to one listener; its priority
/// (`SetRulePriorities`), conditions and action (`ModifyRule`) change in
/// place. Two rules of a listener cannot share a priority, which the graph
/// check reports before anything is applied.
pub static SCHEMA: Schema = Schema {
    replace_on: &["listenerArn"],
    taggable: true,
    graph_check: Some(check_priorities),
    ..Schema::new(TYPE, "aws")
};

/// The most condition values (paths and hosts together) a rule may have.
const MAX_VALUES: usize = 5;

/// A listener rule: requests matching every condition given (any of its
/// path patterns, and any of its host names) get its action. Rules are
/// evaluated by priority, lowest first.
///
/// ```
/// use iac_aws::elbv2::{Action, ListenerRule};
/// let api = ListenerRule::builder()
///     .listener_arn("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2")
///     .priority(10)
///     .path_patterns(["/api/*", "/v2/*"])
///     .host_headers(["api.example.com"])
///     .action(Action::forward("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/73e2d6bc24d8a067"))
///     .build();
/// # let _ = api;
/// ```
#[derive(bon::Builder)]
pub struct ListenerRule {
    /// The listener (a [`Listener`](super::Listener)'s `id`; replaces when
    /// changed).
    #[builder(into)]
    pub listener_arn: Input<ListenerArn>,
    /// Its priority (1–50000), unique on the listener.
    pub priority: i32,
    /// Path patterns (`*` and `?` wildcards), any of which matches.
    #[builder(default, with = |v: impl IntoIterator<Item = impl Into<String>>| v.into_iter().map(Into::into).collect())]
    pub path_patterns: Vec<String>,
    /// Host names (`*` and `?` wildcards), any of which matches.
    #[builder(default, with = |v: impl IntoIterator<Item = impl Into<String>>| v.into_iter().map(Into::into).collect())]
    pub host_headers: Vec<String>,
    /// What happens to matching requests.
    pub action: Action,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`ListenerRule`].
pub struct ListenerRuleOutputs {
    /// Its ARN (the resource's id).
    pub id: Output<ListenerRuleArn>,
    /// Its ARN, as a string.
    pub arn: Output<String>,
}

impl Resource for ListenerRule {
    type Outputs = ListenerRuleOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("listenerArn", self.listener_arn.to_expr()),
            ("priority", Value::from(self.priority).into()),
            ("pathPatterns", Value::from(self.path_patterns.clone()).into()),
            ("hostHeaders", Value::from(self.host_headers.clone()).into()),
            ("action", self.action.to_expr()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> ListenerRuleOutputs {
        ListenerRuleOutputs { id: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
    fn validate(&self, c: &mut Checks) {
        c.check((1..=50_000).contains(&self.priority), "priority", || {
            format!("{}: a rule's priority is between 1 and 50000", self.priority)
        });
        c.check(!self.path_patterns.is_empty() || !self.host_headers.is_empty(), "pathPatterns", || {
            "a rule needs at least one condition: path patterns or host headers".into()
        });
        let total = self.path_patterns.len() + self.host_headers.len();
        c.check(total <= MAX_VALUES, "pathPatterns", || {
            format!("{total} condition values (paths and hosts together); a rule takes at most {MAX_VALUES}")
        });
        for p in &self.path_patterns {
            c.check(!p.is_empty() && p.len() <= 128, "pathPatterns", || format!("`{p}`: 1 to 128 characters"));
            c.check(
                p.chars().all(|ch| ch.is_ascii_alphanumeric() || "_-.$/~\"'@:+&*?".contains(ch)),
                "pathPatterns",
                || format!("`{p}`: only letters, digits, wildcards (* ?) and _-.$/~\"'@:+& are allowed"),
            );
        }
        for h in &self.host_headers {
            c.check(!h.is_empty() && h.len() <= 128, "hostHeaders", || format!("`{h}`: 1 to 128 characters"));
            c.check(h.chars().all(|ch| ch.is_ascii_alphanumeric() || "-.*?".contains(ch)), "hostHeaders", || {
                format!("`{h}`: only letters, digits, hyphens, dots and wildcards (* ?) are allowed")
            });
        }
        self.action.validate(c, "action");
    }
}

/// Two rules of one listener cannot share a priority (AWS would refuse the
/// second with `PriorityInUse`, after the first was applied).
fn check_priorities(g: &Graph, out: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<(String, i64), Vec<&Urn>> = BTreeMap::new();
    let mut names = BTreeMap::new();
    for d in g.resources.values().filter(|d| d.type_token == TYPE) {
        let (Some((listener, shown)), Some(priority)) =
            (ref_key(d.input("listenerArn")), d.plain_input("priority").and_then(Value::as_i64))
        else {
            continue;
        };
        names.insert(listener.clone(), shown);
        seen.entry((listener, priority)).or_default().push(&d.urn);
    }
    for ((listener, priority), urns) in seen.into_iter().filter(|(_, u)| u.len() > 1) {
        for &urn in &urns {
            let others: Vec<String> = urns.iter().filter(|u| **u != urn).map(|u| format!("`{u}`")).collect();
            out.push(Diagnostic {
                urn: urn.clone(),
                type_token: TYPE.into(),
                field: "priority".into(),
                message: format!(
                    "priority {priority} on listener {} is also used by {}; each rule of a listener needs its own",
                    names[&listener],
                    others.join(", ")
                ),
            });
        }
    }
}

// ---- handler ----------------------------------------------------------

fn conditions(i: &In<'_>) -> Vec<RuleCondition> {
    let mut out = Vec::new();
    let paths = i.strs("pathPatterns");
    if !paths.is_empty() {
        out.push(
            RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(PathPatternConditionConfig::builder().set_values(Some(paths)).build())
                .build(),
        );
    }
    let hosts = i.strs("hostHeaders");
    if !hosts.is_empty() {
        out.push(
            RuleCondition::builder()
                .field("host-header")
                .host_header_config(HostHeaderConditionConfig::builder().set_values(Some(hosts)).build())
                .build(),
        );
    }
    out
}

/// A condition's values, whether given in its config or (the older form)
/// directly.
fn condition_values(r: &Rule, field: &str) -> Vec<String> {
    let Some(c) = r.conditions().iter().find(|c| c.field() == Some(field)) else { return Vec::new() };
    let configured = match field {
        "path-pattern" => c.path_pattern_config().map(|p| p.values().to_vec()),
        _ => c.host_header_config().map(|h| h.values().to_vec()),
    };
    configured.filter(|v| !v.is_empty()).unwrap_or_else(|| c.values().to_vec())
}

/// The listener a rule belongs to, from the rule's ARN
/// (`…:listener-rule/app/<lb>/<lb-id>/<listener-id>/<rule-id>`).
fn listener_of(rule_arn: &str) -> Option<String> {
    let (prefix, _) = rule_arn.rsplit_once('/')?;
    Some(prefix.replacen(":listener-rule/", ":listener/", 1))
}

async fn get(p: &AwsProvider, arn: &str) -> Result<Option<Rule>, ProviderError> {
    match p.elbv2().await.describe_rules().rule_arns(arn).send().await {
        Ok(o) => Ok(o.rules().first().cloned()),
        Err(e) if is_code(&e, GONE) => Ok(None),
        Err(e) => Err(aws_err("DescribeRules", e)),
    }
}

fn values(r: &Rule, tags: &BTreeMap<String, String>) -> Value {
    let arn = r.rule_arn().unwrap_or_default();
    map([
        ("listenerArn", Value::from(listener_of(arn))),
        ("priority", Value::from(r.priority().and_then(|p| p.parse::<i64>().ok()))),
        ("pathPatterns", Value::from(condition_values(r, "path-pattern"))),
        ("hostHeaders", Value::from(condition_values(r, "host-header"))),
        ("action", action::last(r.actions()).map_or(Value::Null, action::from_sdk)),
        ("tags", tags_value(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))),
    ])
}

fn outputs(arn: &str) -> Value {
    map([("arn", Value::from(arn))])
}

pub(crate) struct ListenerRuleHandler;

#[async_trait]
impl Handler for ListenerRuleHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateRule";
        let i = In::new(&req.inputs, op);
        let priority = i.opt_i32("priority").ok_or_else(|| ProviderError::fatal(op, "input `priority` is missing"))?;
        let out = p
            .elbv2()
            .await
            .create_rule()
            .listener_arn(i.str("listenerArn")?)
            .priority(priority)
            .set_conditions(Some(conditions(&i)))
            .actions(action::to_sdk(op, "action", i.json("action"))?)
            .set_tags(Some(elb_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        let arn = out
            .rules()
            .first()
            .and_then(|r| r.rule_arn())
            .ok_or_else(|| ProviderError::fatal(op, "no rule ARN returned"))?
            .to_owned();
        Ok(CreateResult { outputs: outputs(&arn), id: arn })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(r) = get(p, &req.id).await? else { return Ok(None) };
        let tags = tags_of_one(p, &req.id).await?;
        Ok(Some(ReadResult { inputs: values(&r, &tags), outputs: outputs(&req.id), id: req.id }))
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        let elb = p.elbv2().await;
        read_batched(
            reqs,
            ARNS_PER_CALL,
            by_id,
            |_, arns| async move {
                let described = elb.describe_rules().set_rule_arns(Some(arns)).send().await;
                with_tags(p, "DescribeRules", described.map(|o| o.rules().to_vec()), |r| r.rule_arn()).await
            },
            |req, (r, tags)| async move {
                Ok(Some(ReadResult { inputs: values(&r, &tags), outputs: outputs(&req.id), id: req.id }))
            },
            |req| self.read(p, req),
        )
        .await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let op = "ModifyRule";
        let i = In::new(&req.inputs, op);
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        let elb = p.elbv2().await;
        if ["pathPatterns", "hostHeaders", "action"].iter().any(|k| changed(k)) {
            elb.modify_rule()
                .rule_arn(&req.id)
                .set_conditions(Some(conditions(&i)))
                .actions(action::to_sdk(op, "action", i.json("action"))?)
                .send()
                .await
                .map_err(|e| aws_err(op, e))?;
        }
        if changed("priority") {
            let priority =
                i.opt_i32("priority").ok_or_else(|| ProviderError::fatal(op, "input `priority` is missing"))?;
            elb.set_rule_priorities()
                .rule_priorities(RulePriorityPair::builder().rule_arn(&req.id).priority(priority).build())
                .send()
                .await
                .map_err(|e| aws_err("SetRulePriorities", e))?;
        }
        if changed("tags") {
            update_tags(elb, &req.id, &In::new(&req.old_inputs, "").tags(), &i.tags()).await?;
        }
        Ok(UpdateResult { outputs: outputs(&req.id) })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.elbv2().await.delete_rule().rule_arn(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, GONE) => Ok(()),
            Err(e) => Err(aws_err("DeleteRule", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(listener) = In::new(&req.inputs, "").opt_str("listenerArn") else { return Ok(None) };
        let elb = p.elbv2().await;
        let rules =
            match elb.describe_rules().listener_arn(listener).into_paginator().items().send().try_collect().await {
                Ok(r) => r,
                Err(e) if is_code(&e, GONE) => return Ok(None),
                Err(e) => return Err(aws_err("DescribeRules", e)),
            };
        // The old copy of a replace carries the same tags: look past it.
        let rules: Vec<Rule> = rules
            .into_iter()
            .filter(|r| r.is_default() != Some(true) && r.rule_arn().is_some_and(|arn| !req.is_known(arn)))
            .collect();
        let arns: Vec<String> = rules.iter().filter_map(|r| r.rule_arn()).map(str::to_owned).collect();
        let tags = tags_of(elb, &arns).await?;
        for r in &rules {
            let arn = r.rule_arn().unwrap_or_default();
            if let Some(t) = tags.get(arn).filter(|t| has_identity(t, &req.stack, req.urn.as_str())) {
                return Ok(Some(ReadResult { inputs: values(r, t), outputs: outputs(arn), id: arn.to_owned() }));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::listener_of;

    #[test]
    fn a_rule_names_its_listener() {
        let rule = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee";
        assert_eq!(
            listener_of(rule).as_deref(),
            Some("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2")
        );
    }
}
