//! Amazon EventBridge: rules (an event pattern or a schedule) and their
//! targets (Lambda functions, Step Functions, Batch queues, …).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_eventbridge::types::{
    BatchArrayProperties, BatchParameters, BatchRetryStrategy, DeadLetterConfig, RetryPolicy, RuleState, Tag,
    Target as SdkTarget,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{map, opt_expr, tags_value, tags_with_identity, unless_known, In, TAG_NAME, TAG_STACK};

pub(crate) const RULE: &str = "aws:eventbridge:Rule";
pub(crate) const TARGET: &str = "aws:eventbridge:Target";

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    Some(match type_token {
        RULE => &RuleHandler,
        TARGET => &TargetHandler,
        _ => return None,
    })
}

/// Schema of [`Rule`]: the name and bus are its identity; the pattern or
/// schedule, state, description, role and tags update in place (`PutRule`).
pub static RULE_SCHEMA: Schema = Schema {
    replace_on: &["name", "eventBusName"],
    delete_before_replace: true,
    taggable: true,
    ..Schema::new(RULE, "aws")
};

/// Schema of [`Target`]: the rule, bus and target id are its identity;
/// everything else (Batch parameters included) is re-put in place
/// (`PutTargets`).
pub static TARGET_SCHEMA: Schema = Schema {
    replace_on: &["rule", "eventBusName", "targetId"],
    delete_before_replace: true,
    ..Schema::new(TARGET, "aws")
};

/// What fires a rule.
#[derive(Clone, Debug)]
pub enum Trigger {
    /// Events matching a pattern (compared as JSON, not as text).
    Pattern(serde_json::Value),
    /// A schedule: `rate(5 minutes)` or `cron(0 12 * * ? *)` (default bus
    /// only).
    Schedule(String),
}

/// A rule.
///
/// ```
/// use iac_aws::eventbridge::{Rule, Trigger};
/// let landed = Rule::builder()
///     .name("file-landed")
///     .trigger(Trigger::Pattern(serde_json::json!({
///         "source": ["aws.s3"],
///         "detail-type": ["Object Created"],
///         "detail": {"bucket": {"name": ["landing-zone"]}}
///     })))
///     .build();
/// let nightly = Rule::builder().name("nightly").trigger(Trigger::Schedule("cron(0 2 * * ? *)".into())).build();
/// # let _ = (landed, nightly);
/// ```
#[derive(bon::Builder)]
pub struct Rule {
    /// The rule's name (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// The event bus (replaces).
    #[builder(into, default = "default")]
    pub event_bus_name: String,
    /// What fires it.
    pub trigger: Trigger,
    /// What it is for.
    #[builder(into, default)]
    pub description: String,
    /// Whether it fires.
    #[builder(default = true)]
    pub enabled: bool,
    /// A role for targets in other accounts or buses.
    #[builder(into)]
    pub role_arn: Option<Input<String>>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`Rule`].
pub struct RuleOutputs {
    /// Its name (the resource's id), for targets.
    pub name: Output<String>,
    /// Its ARN, for a Lambda permission's `source_arn`.
    pub arn: Output<String>,
}

impl Resource for Rule {
    type Outputs = RuleOutputs;
    fn schema() -> &'static Schema {
        &RULE_SCHEMA
    }
    fn inputs(&self) -> Expr {
        let (pattern, schedule) = match &self.trigger {
            Trigger::Pattern(p) => (Value::from_json(p), Value::Null),
            Trigger::Schedule(s) => (Value::Null, Value::from(s.as_str())),
        };
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("eventBusName", Value::from(self.event_bus_name.as_str()).into()),
            ("eventPattern", pattern.into()),
            ("scheduleExpression", schedule.into()),
            ("description", Value::from(self.description.as_str()).into()),
            ("enabled", Value::from(self.enabled).into()),
            ("roleArn", opt_expr(self.role_arn.as_ref())),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> RuleOutputs {
        RuleOutputs { name: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
    fn validate(&self, c: &mut Checks) {
        crate::checks::name(
            c,
            "name",
            &self.name,
            64,
            |ch| ch.is_ascii_alphanumeric() || "._-".contains(ch),
            "letters, digits, . _ and -",
        );
        match &self.trigger {
            Trigger::Pattern(p) => {
                c.check(p.as_object().is_some_and(|o| !o.is_empty()), "eventPattern", || {
                    format!("`{p}` is not a non-empty JSON object")
                });
            }
            Trigger::Schedule(s) => {
                let ok = (s.starts_with("rate(") || s.starts_with("cron(")) && s.ends_with(')');
                c.check(ok, "scheduleExpression", || format!("`{s}`: rate(…) or cron(…)"));
                if s.starts_with("cron(") && ok {
                    let fields = s[5..s.len() - 1].split_whitespace().count();
                    c.check(fields == 6, "scheduleExpression", || {
                        format!(
                            "`{s}` has {fields} fields; EventBridge cron has 6 (minutes hours day month weekday year)"
                        )
                    });
                }
                c.check(self.event_bus_name == "default", "scheduleExpression", || {
                    format!("schedules run only on the default bus, not `{}`", self.event_bus_name)
                });
            }
        }
        c.check(self.description.len() <= 512, "description", || {
            format!("{} characters; at most 512", self.description.len())
        });
    }
}

async fn describe_rule(p: &AwsProvider, bus: &str, name: &str) -> Result<Option<(Value, Value)>, ProviderError> {
    let eb = p.eventbridge().await;
    let r = match eb.describe_rule().name(name).event_bus_name(bus).send().await {
        Ok(r) => r,
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
        Err(e) => return Err(aws_err("DescribeRule", e)),
    };
    let arn = r.arn().unwrap_or_default();
    let tags =
        eb.list_tags_for_resource().resource_arn(arn).send().await.map_err(|e| aws_err("ListTagsForResource", e))?;
    let pattern = match r.event_pattern() {
        Some(text) => Value::from_json(
            &serde_json::from_str(text)
                .map_err(|e| ProviderError::fatal("DescribeRule", format!("the event pattern is not JSON: {e}")))?,
        ),
        None => Value::Null,
    };
    let inputs = map([
        ("name", Value::from(r.name())),
        ("eventBusName", Value::from(r.event_bus_name().unwrap_or(bus))),
        ("eventPattern", pattern),
        ("scheduleExpression", Value::from(r.schedule_expression())),
        ("description", Value::from(r.description().unwrap_or_default())),
        ("enabled", Value::from(r.state() == Some(&RuleState::Enabled))),
        ("roleArn", Value::from(r.role_arn())),
        ("tags", tags_value(tags.tags().iter().map(|t| (t.key(), t.value())))),
    ]);
    Ok(Some((inputs, map([("arn", Value::from(arn))]))))
}

async fn put_rule(p: &AwsProvider, i: &In<'_>, tags: Option<Vec<Tag>>) -> Result<String, ProviderError> {
    let out = p
        .eventbridge()
        .await
        .put_rule()
        .name(i.str("name")?)
        .event_bus_name(i.opt_str("eventBusName").unwrap_or("default"))
        .set_event_pattern(i.json("eventPattern").map(|j| j.to_string()))
        .set_schedule_expression(i.opt_str("scheduleExpression").map(str::to_owned))
        .description(i.opt_str("description").unwrap_or_default())
        .state(if i.opt_bool("enabled").unwrap_or(true) { RuleState::Enabled } else { RuleState::Disabled })
        .set_role_arn(i.opt_str("roleArn").map(str::to_owned))
        .set_tags(tags)
        .send()
        .await
        .map_err(|e| aws_err("PutRule", e))?;
    Ok(out.rule_arn().unwrap_or_default().to_owned())
}

fn eb_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok()).collect()
}

fn rule_id(bus: &str, name: &str) -> String {
    if bus == "default" {
        name.to_owned()
    } else {
        format!("{bus}|{name}")
    }
}

fn split_rule_id(id: &str) -> (&str, &str) {
    id.split_once('|').unwrap_or(("default", id))
}

pub(crate) struct RuleHandler;

#[async_trait]
impl Handler for RuleHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "PutRule");
        let arn = put_rule(p, &i, Some(eb_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn)))).await?;
        let id = rule_id(i.opt_str("eventBusName").unwrap_or("default"), i.str("name")?);
        Ok(CreateResult { id, outputs: map([("arn", Value::from(arn))]) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let (bus, name) = split_rule_id(&req.id);
        Ok(describe_rule(p, bus, name).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, "PutRule"), In::new(&req.inputs, "PutRule"));
        let arn = put_rule(p, &new, None).await?;
        if req.changed.iter().any(|c| c == "tags") {
            let eb = p.eventbridge().await;
            let (was, now) = (old.tags(), new.tags());
            let removed: Vec<String> = was.keys().filter(|k| !now.contains_key(*k)).cloned().collect();
            if !removed.is_empty() {
                eb.untag_resource()
                    .resource_arn(&arn)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .map_err(|e| aws_err("UntagResource", e))?;
            }
            let added: BTreeMap<String, String> = now.into_iter().filter(|(k, v)| was.get(k) != Some(v)).collect();
            if !added.is_empty() {
                eb.tag_resource()
                    .resource_arn(&arn)
                    .set_tags(Some(eb_tags(&added)))
                    .send()
                    .await
                    .map_err(|e| aws_err("TagResource", e))?;
            }
        }
        Ok(UpdateResult { outputs: map([("arn", Value::from(arn))]) })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        // Targets are dependents and are removed first.
        let (bus, name) = split_rule_id(&req.id);
        match p.eventbridge().await.delete_rule().name(name).event_bus_name(bus).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteRule", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let i = In::new(&req.inputs, "");
        let Some(name) = i.opt_str("name") else { return Ok(None) };
        let bus = i.opt_str("eventBusName").unwrap_or("default");
        let Some((inputs, outputs)) = describe_rule(p, bus, name).await? else { return Ok(None) };
        let arn = outputs.get("arn").as_str().unwrap_or_default();
        let tags = p
            .eventbridge()
            .await
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| aws_err("ListTagsForResource", e))?;
        let get = |k: &str| tags.tags().iter().find(|t| t.key() == k).map(|t| t.value());
        if get(TAG_STACK) != Some(req.stack.as_str()) || get(TAG_NAME) != Some(req.urn.as_str()) {
            return Ok(None);
        }
        Ok(unless_known(&req, Some(ReadResult { id: rule_id(bus, name), inputs, outputs })))
    }
}

/// Where a rule sends what matched: a Lambda function, a Step Functions
/// state machine (with a role EventBridge assumes to start executions), a
/// Batch job queue (with a role and the job to submit), or any other
/// target ARN.
///
/// ```
/// use iac_aws::eventbridge::{BatchJob, Target};
/// let to_ingest = Target::builder()
///     .rule("file-landed")
///     .target_id("ingest")
///     .arn("arn:aws:lambda:us-east-1:123456789012:function:ingest")
///     .retry_attempts(3)
///     .build();
/// let to_workflow = Target::builder()
///     .rule("file-landed")
///     .target_id("workflow")
///     .arn("arn:aws:states:us-east-1:123456789012:stateMachine:ingest")
///     .role_arn("arn:aws:iam::123456789012:role/events-start-ingest")
///     .build();
/// let to_batch = Target::builder()
///     .rule("nightly")
///     .target_id("report")
///     .arn("arn:aws:batch:us-east-1:123456789012:job-queue/nightly")
///     .role_arn("arn:aws:iam::123456789012:role/events-submit-report")
///     .batch(BatchJob::builder().job_definition("nightly-report").job_name("nightly-report").attempts(2).build())
///     .build();
/// # let _ = (to_ingest, to_workflow, to_batch);
/// ```
#[derive(bon::Builder)]
pub struct Target {
    /// The rule (its name; replaces).
    #[builder(into)]
    pub rule: Input<String>,
    /// The rule's bus (replaces).
    #[builder(into, default = "default")]
    pub event_bus_name: String,
    /// The target's id within the rule (replaces).
    #[builder(into)]
    pub target_id: String,
    /// What receives the events (a function, state machine, queue, …).
    #[builder(into)]
    pub arn: Input<String>,
    /// The role EventBridge assumes (Step Functions, Batch, ECS targets).
    #[builder(into)]
    pub role_arn: Option<Input<String>>,
    /// A constant JSON input instead of the event.
    pub input: Option<serde_json::Value>,
    /// Only this part of the event (`$.detail`).
    #[builder(into)]
    pub input_path: Option<String>,
    /// Delivery attempts before giving up (0–185).
    pub retry_attempts: Option<i32>,
    /// A queue for events that could not be delivered.
    #[builder(into)]
    pub dead_letter_arn: Option<Input<String>>,
    /// The job to submit, when the target is a Batch job queue.
    pub batch: Option<BatchJob>,
}

/// The Batch job a [`Target`] submits to its job queue.
///
/// ```
/// let job = iac_aws::eventbridge::BatchJob::builder().job_definition("resize").job_name("resize").array_size(10).build();
/// # let _ = job;
/// ```
#[derive(Clone, Debug, bon::Builder)]
pub struct BatchJob {
    /// The job definition: a name (its latest revision), `name:revision` or
    /// an ARN.
    #[builder(into)]
    pub job_definition: Input<String>,
    /// The submitted jobs' name (1–128 letters, digits, `-`, `_`).
    #[builder(into)]
    pub job_name: String,
    /// Submit an array job of this many children (2–10000).
    pub array_size: Option<i32>,
    /// Attempts per job if it fails (1–10).
    pub attempts: Option<i32>,
}

/// Outputs of a [`Target`].
pub struct TargetOutputs {
    /// `<bus>|<rule>|<target id>` (the resource's id).
    pub id: Output<String>,
}

impl Resource for Target {
    type Outputs = TargetOutputs;
    fn schema() -> &'static Schema {
        &TARGET_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("rule", self.rule.to_expr()),
            ("eventBusName", Value::from(self.event_bus_name.as_str()).into()),
            ("targetId", Value::from(self.target_id.as_str()).into()),
            ("arn", self.arn.to_expr()),
            ("roleArn", opt_expr(self.role_arn.as_ref())),
            ("input", self.input.as_ref().map_or(Value::Null, Value::from_json).into()),
            ("inputPath", Value::from(self.input_path.clone()).into()),
            ("retryAttempts", Value::from(self.retry_attempts.map(i64::from)).into()),
            ("deadLetterArn", opt_expr(self.dead_letter_arn.as_ref())),
            (
                "batchParameters",
                self.batch.as_ref().map_or(Expr::Value(Value::Null), |b| {
                    props([
                        ("jobDefinition", b.job_definition.to_expr()),
                        ("jobName", Value::from(b.job_name.as_str()).into()),
                        ("arraySize", Value::from(b.array_size.map(i64::from)).into()),
                        ("attempts", Value::from(b.attempts.map(i64::from)).into()),
                    ])
                }),
            ),
        ])
    }
    fn outputs(urn: &Urn) -> TargetOutputs {
        TargetOutputs { id: Output::from_ref(urn, "id") }
    }
    fn validate(&self, c: &mut Checks) {
        crate::checks::name(
            c,
            "targetId",
            &self.target_id,
            64,
            |ch| ch.is_ascii_alphanumeric() || "._-".contains(ch),
            "letters, digits, . _ and -",
        );
        c.check(self.input.is_none() || self.input_path.is_none(), "input", || {
            "give a constant input or an input path, not both".into()
        });
        if let Some(path) = &self.input_path {
            c.check(path.starts_with('$'), "inputPath", || format!("`{path}` is not a JSONPath (like $.detail)"));
        }
        if let Some(n) = self.retry_attempts {
            c.check((0..=185).contains(&n), "retryAttempts", || format!("{n}: between 0 and 185"));
        }
        // What the target is, when its ARN is known now.
        let arn = self.arn.value().map(String::as_str);
        let state_machine = arn.is_some_and(|a| a.contains(":states:") && a.contains(":stateMachine:"));
        let job_queue = arn.is_some_and(|a| a.contains(":batch:") && a.contains(":job-queue/"));
        if state_machine || job_queue {
            c.check(self.role_arn.is_some(), "roleArn", || {
                let what = if state_machine { "start executions of the state machine" } else { "submit Batch jobs" };
                format!("EventBridge needs a role to {what}")
            });
        }
        c.check(!job_queue || self.batch.is_some(), "batchParameters", || {
            "a Batch job queue target needs the job to submit (`batch`: job definition and job name)".into()
        });
        if let Some(b) = &self.batch {
            if let Some(a) = arn {
                c.check(job_queue, "batchParameters", || {
                    format!("`{a}` is not a Batch job queue; Batch parameters apply only to one")
                });
            }
            crate::checks::name(
                c,
                "batchParameters.jobName",
                &b.job_name,
                128,
                |ch| ch.is_ascii_alphanumeric() || "-_".contains(ch),
                "letters, digits, hyphens and underscores",
            );
            if let Some(n) = b.array_size {
                c.check((2..=10_000).contains(&n), "batchParameters.arraySize", || format!("{n}: between 2 and 10000"));
            }
            if let Some(n) = b.attempts {
                c.check((1..=10).contains(&n), "batchParameters.attempts", || format!("{n}: between 1 and 10"));
            }
            if let Some(d) = b.job_definition.value() {
                c.check(!d.trim().is_empty(), "batchParameters.jobDefinition", || {
                    "a job definition is required".into()
                });
            }
        }
    }
}

fn split_target_id(id: &str) -> Option<(&str, &str, &str)> {
    let mut parts = id.splitn(3, '|');
    Some((parts.next()?, parts.next()?, parts.next()?))
}

async fn describe_target(
    p: &AwsProvider,
    bus: &str,
    rule: &str,
    target_id: &str,
) -> Result<Option<Value>, ProviderError> {
    let out = match p.eventbridge().await.list_targets_by_rule().rule(rule).event_bus_name(bus).send().await {
        Ok(o) => o,
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
        Err(e) => return Err(aws_err("ListTargetsByRule", e)),
    };
    let Some(t) = out.targets().iter().find(|t| t.id() == target_id) else { return Ok(None) };
    let input =
        match t.input() {
            Some(text) => Value::from_json(&serde_json::from_str(text).map_err(|e| {
                ProviderError::fatal("ListTargetsByRule", format!("the target's input is not JSON: {e}"))
            })?),
            None => Value::Null,
        };
    Ok(Some(map([
        ("rule", Value::from(rule)),
        ("eventBusName", Value::from(bus)),
        ("targetId", Value::from(t.id())),
        ("arn", Value::from(t.arn())),
        ("roleArn", Value::from(t.role_arn())),
        ("input", input),
        ("inputPath", Value::from(t.input_path())),
        ("retryAttempts", Value::from(t.retry_policy().and_then(|r| r.maximum_retry_attempts()).map(i64::from))),
        ("deadLetterArn", Value::from(t.dead_letter_config().and_then(|d| d.arn()))),
        (
            "batchParameters",
            t.batch_parameters().map_or(Value::Null, |b| {
                map([
                    ("jobDefinition", Value::from(b.job_definition())),
                    ("jobName", Value::from(b.job_name())),
                    ("arraySize", Value::from(b.array_properties().map(|a| i64::from(a.size())))),
                    ("attempts", Value::from(b.retry_strategy().map(|r| i64::from(r.attempts())))),
                ])
            }),
        ),
    ])))
}

fn batch_parameters(i: &In<'_>) -> Result<Option<BatchParameters>, ProviderError> {
    let b = i.value("batchParameters");
    if b.is_empty_like() {
        return Ok(None);
    }
    let int = |k: &str| b.get(k).as_i64().map(|n| n as i32);
    BatchParameters::builder()
        .set_job_definition(b.get("jobDefinition").as_str().map(str::to_owned))
        .set_job_name(b.get("jobName").as_str().map(str::to_owned))
        .set_array_properties(int("arraySize").map(|n| BatchArrayProperties::builder().size(n).build()))
        .set_retry_strategy(int("attempts").map(|n| BatchRetryStrategy::builder().attempts(n).build()))
        .build()
        .map(Some)
        .map_err(|e| ProviderError::fatal("PutTargets", format!("input `batchParameters`: {e}")))
}

async fn put_target(p: &AwsProvider, i: &In<'_>) -> Result<(String, String, String), ProviderError> {
    let (bus, rule, id) = (i.opt_str("eventBusName").unwrap_or("default"), i.str("rule")?, i.str("targetId")?);
    let target = SdkTarget::builder()
        .id(id)
        .arn(i.str("arn")?)
        .set_role_arn(i.opt_str("roleArn").map(str::to_owned))
        .set_input(i.json("input").map(|j| j.to_string()))
        .set_input_path(i.opt_str("inputPath").map(str::to_owned))
        .set_retry_policy(i.opt_i32("retryAttempts").map(|n| RetryPolicy::builder().maximum_retry_attempts(n).build()))
        .set_dead_letter_config(i.opt_str("deadLetterArn").map(|a| DeadLetterConfig::builder().arn(a).build()))
        .set_batch_parameters(batch_parameters(i)?)
        .build()
        .map_err(|e| ProviderError::fatal("PutTargets", e.to_string()))?;
    let out = p
        .eventbridge()
        .await
        .put_targets()
        .rule(rule)
        .event_bus_name(bus)
        .targets(target)
        .send()
        .await
        .map_err(|e| aws_err("PutTargets", e))?;
    if let Some(f) = out.failed_entries().first() {
        return Err(ProviderError::fatal(
            "PutTargets",
            format!("{}: {}", f.error_code().unwrap_or("failed"), f.error_message().unwrap_or("no message")),
        ));
    }
    Ok((bus.to_owned(), rule.to_owned(), id.to_owned()))
}

pub(crate) struct TargetHandler;

#[async_trait]
impl Handler for TargetHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let (bus, rule, id) = put_target(p, &In::new(&req.inputs, "PutTargets")).await?;
        Ok(CreateResult { id: format!("{bus}|{rule}|{id}"), outputs: Value::map() })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some((bus, rule, id)) = split_target_id(&req.id) else { return Ok(None) };
        Ok(describe_target(p, bus, rule, id).await?.map(|inputs| ReadResult {
            id: req.id,
            inputs,
            outputs: Value::map(),
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        // PutTargets replaces the target with this id whole.
        put_target(p, &In::new(&req.inputs, "PutTargets")).await?;
        Ok(UpdateResult { outputs: Value::map() })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let Some((bus, rule, id)) = split_target_id(&req.id) else { return Ok(()) };
        match p.eventbridge().await.remove_targets().rule(rule).event_bus_name(bus).ids(id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("RemoveTargets", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // Targets take no tags; the id is unique within its rule, and
        // PutTargets with the same id overwrites rather than duplicates.
        let i = In::new(&req.inputs, "");
        let (Some(rule), Some(id)) = (i.opt_str("rule"), i.opt_str("targetId")) else { return Ok(None) };
        let bus = i.opt_str("eventBusName").unwrap_or("default");
        let found = describe_target(p, bus, rule, id).await?.map(|inputs| ReadResult {
            id: format!("{bus}|{rule}|{id}"),
            inputs,
            outputs: Value::map(),
        });
        Ok(unless_known(&req, found))
    }
}
