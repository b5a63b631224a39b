//! `StateMachine`: a Step Functions state machine.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sfn::types::{
    CloudWatchLogsLogGroup, LogDestination, LogLevel as SdkLogLevel, LoggingConfiguration, StateMachineStatus,
    StateMachineType as SdkType, Tag, TracingConfiguration,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use super::asl::{self, Definition};
use crate::error::{aws_err, code, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{map, tags_value, tags_with_identity, wait_for, In, TAG_NAME, TAG_STACK};

pub(crate) const TYPE: &str = "aws:stepfunctions:StateMachine";

/// Schema: the name and type are the identity; the definition, role,
/// logging, tracing and tags update in place (`UpdateStateMachine`).
pub static SCHEMA: Schema =
    Schema { replace_on: &["name", "type"], delete_before_replace: true, taggable: true, ..Schema::new(TYPE, "aws") };

/// Standard (long-running, exactly once) or Express (short, at least once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StateMachineType {
    /// Up to a year per execution, each step run exactly once.
    #[default]
    Standard,
    /// Up to five minutes per execution, at high rates.
    Express,
}

impl StateMachineType {
    fn as_str(self) -> &'static str {
        match self {
            StateMachineType::Standard => "STANDARD",
            StateMachineType::Express => "EXPRESS",
        }
    }
}

/// A definition given as ASL JSON or built with [`Definition`].
#[derive(Clone, Debug)]
pub enum Asl {
    /// ASL JSON as it is (compared as JSON, so reformatting is no change).
    Json(serde_json::Value),
    /// Built with the typed builder; task resources may be other
    /// resources' outputs.
    Typed(Definition),
}

impl From<serde_json::Value> for Asl {
    fn from(j: serde_json::Value) -> Asl {
        Asl::Json(j)
    }
}

impl From<Definition> for Asl {
    fn from(d: Definition) -> Asl {
        Asl::Typed(d)
    }
}

impl Asl {
    fn to_expr(&self) -> Expr {
        match self {
            Asl::Json(j) => Value::from_json(j).into(),
            Asl::Typed(d) => d.to_expr(true),
        }
    }
}

/// What execution history goes to CloudWatch Logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    /// Every event.
    All,
    /// Errors only.
    Error,
    /// Fatal errors only.
    Fatal,
    /// Nothing.
    Off,
}

impl LogLevel {
    fn as_str(self) -> &'static str {
        match self {
            LogLevel::All => "ALL",
            LogLevel::Error => "ERROR",
            LogLevel::Fatal => "FATAL",
            LogLevel::Off => "OFF",
        }
    }
}

/// Execution history sent to a CloudWatch Logs group.
///
/// ```
/// use iac_aws::stepfunctions::{LogLevel, Logging};
/// let logging = Logging::builder()
///     .log_group_arn("arn:aws:logs:us-east-1:123456789012:log-group:/aws/states/ingest")
///     .level(LogLevel::Error)
///     .include_execution_data(true)
///     .build();
/// # let _ = logging;
/// ```
#[derive(Clone, Debug, bon::Builder)]
pub struct Logging {
    /// The log group's ARN (with or without the `:*` AWS wants; it is added
    /// when sent).
    #[builder(into)]
    pub log_group_arn: Input<String>,
    /// What is logged.
    #[builder(default = LogLevel::All)]
    pub level: LogLevel,
    /// Whether inputs and outputs are logged too (they may hold data you
    /// would not put in logs).
    #[builder(default)]
    pub include_execution_data: bool,
}

/// A Step Functions state machine.
///
/// The definition is ASL JSON or a typed [`Definition`]; either way it is
/// checked at preview (every transition names a state, every state is
/// reachable, a terminal state exists) and compared as JSON, so
/// reformatting it is no change.
///
/// ```
/// use iac_aws::stepfunctions::{Definition, LogLevel, Logging, Pass, StateMachine, StateMachineType, Task};
/// let ingest = StateMachine::builder()
///     .name("ingest")
///     .role_arn("arn:aws:iam::123456789012:role/ingest-states")
///     .definition(
///         Definition::new("Load")
///             .state("Load", Task::lambda("arn:aws:lambda:us-east-1:123456789012:function:load").next("Done"))
///             .state("Done", Pass::new().end()),
///     )
///     .logging(Logging::builder().log_group_arn("arn:aws:logs:us-east-1:123456789012:log-group:/states/ingest").level(LogLevel::Error).build())
///     .tracing(true)
///     .build();
/// let from_json = StateMachine::builder()
///     .name("hello")
///     .kind(StateMachineType::Express)
///     .role_arn("arn:aws:iam::123456789012:role/hello-states")
///     .definition(serde_json::json!({"StartAt": "Hi", "States": {"Hi": {"Type": "Pass", "End": true}}}))
///     .build();
/// # let _ = (ingest, from_json);
/// ```
#[derive(bon::Builder)]
pub struct StateMachine {
    /// The name (1–80 characters; replaces when changed).
    #[builder(into)]
    pub name: String,
    /// Standard or Express (replaces).
    #[builder(default)]
    pub kind: StateMachineType,
    /// The role Step Functions runs as (trusting `states.amazonaws.com`).
    #[builder(into)]
    pub role_arn: Input<String>,
    /// The definition.
    #[builder(into)]
    pub definition: Asl,
    /// Execution history to CloudWatch Logs.
    pub logging: Option<Logging>,
    /// X-Ray tracing.
    #[builder(default)]
    pub tracing: bool,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`StateMachine`].
pub struct StateMachineOutputs {
    /// Its ARN (the resource's id), for EventBridge targets and IAM
    /// policies.
    pub arn: Output<String>,
    /// Its name.
    pub name: Output<String>,
}

/// Characters Step Functions refuses in names.
fn name_char(ch: char) -> bool {
    !(ch.is_whitespace() || ch.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(ch))
}

impl Resource for StateMachine {
    type Outputs = StateMachineOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        let logging = self.logging.as_ref().map_or(Expr::Value(Value::Null), |l| {
            props([
                ("level", Value::from(l.level.as_str()).into()),
                ("includeExecutionData", Value::from(l.include_execution_data).into()),
                ("logGroupArn", l.log_group_arn.to_expr()),
            ])
        });
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("type", Value::from(self.kind.as_str()).into()),
            ("roleArn", self.role_arn.to_expr()),
            ("definition", self.definition.to_expr()),
            ("logging", logging),
            ("tracing", Value::from(self.tracing).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> StateMachineOutputs {
        StateMachineOutputs { arn: Output::from_ref(urn, "id"), name: Output::from_ref(urn, "name") }
    }
    fn validate(&self, c: &mut Checks) {
        crate::checks::name(
            c,
            "name",
            &self.name,
            80,
            name_char,
            "no whitespace, control characters or any of < > { } [ ] ? * \" # % \\ ^ | ~ ` $ & , ; : /",
        );
        if let Some(role) = self.role_arn.value() {
            c.check(role.starts_with("arn:") && role.contains(":iam::") && role.contains(":role/"), "roleArn", || {
                format!("`{role}` is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
            });
        }
        if let Asl::Typed(d) = &self.definition {
            d.check_duplicates(c, "definition");
        }
        let express = self.kind == StateMachineType::Express;
        let skeleton = asl::skeleton(&self.definition.to_expr());
        asl::check(c, "definition", &skeleton, express);
        if let Asl::Json(j) = &self.definition {
            let size = j.to_string().len();
            c.check(size <= 1024 * 1024, "definition", || format!("{size} bytes; at most 1 MiB"));
        }
        if let Some(l) = &self.logging {
            if let Some(arn) = l.log_group_arn.value() {
                c.check(arn.starts_with("arn:") && arn.contains(":log-group:"), "logging.logGroupArn", || {
                    format!("`{arn}` is not a log group ARN (arn:aws:logs:<region>:<account>:log-group:<name>)")
                });
            }
        }
    }
}

/// AWS wants a log group ARN ending `:*`.
fn log_destination_arn(arn: &str) -> String {
    if arn.ends_with(":*") {
        arn.to_owned()
    } else {
        format!("{arn}:*")
    }
}

fn logging_config(i: &In<'_>) -> LoggingConfiguration {
    let l = i.value("logging");
    match l.get("logGroupArn").as_str() {
        None => LoggingConfiguration::builder().level(SdkLogLevel::Off).include_execution_data(false).build(),
        Some(arn) => LoggingConfiguration::builder()
            .level(SdkLogLevel::from(l.get("level").as_str().unwrap_or("ALL")))
            .include_execution_data(l.get("includeExecutionData").as_bool().unwrap_or(false))
            .destinations(
                LogDestination::builder()
                    .cloud_watch_logs_log_group(
                        CloudWatchLogsLogGroup::builder().log_group_arn(log_destination_arn(arn)).build(),
                    )
                    .build(),
            )
            .build(),
    }
}

fn definition_text(i: &In<'_>, op: &str) -> Result<String, ProviderError> {
    i.json("definition").map(|j| j.to_string()).ok_or_else(|| ProviderError::fatal(op, "input `definition` is missing"))
}

/// Reads a state machine by ARN; `None` when gone or being deleted.
async fn describe(p: &AwsProvider, arn: &str, recorded: &Value) -> Result<Option<(Value, Value)>, ProviderError> {
    let sfn = p.sfn().await;
    let d = match sfn.describe_state_machine().state_machine_arn(arn).send().await {
        Ok(d) => d,
        Err(e) if is_code(&e, &["StateMachineDoesNotExist"]) => return Ok(None),
        Err(e) => return Err(aws_err("DescribeStateMachine", e)),
    };
    if d.status() == Some(&StateMachineStatus::Deleting) {
        return Ok(None);
    }
    let tags =
        sfn.list_tags_for_resource().resource_arn(arn).send().await.map_err(|e| aws_err("ListTagsForResource", e))?;
    let definition: serde_json::Value = serde_json::from_str(d.definition())
        .map_err(|e| ProviderError::fatal("DescribeStateMachine", format!("the definition is not JSON: {e}")))?;
    let logging = d.logging_configuration().and_then(|l| {
        let group = l.destinations().iter().find_map(|d| d.cloud_watch_logs_log_group()?.log_group_arn())?;
        // Read back in the form it was given: with or without the `:*`.
        let given = recorded.get("logging").get("logGroupArn").as_str().unwrap_or_default();
        let group = if given.ends_with(":*") { group } else { group.strip_suffix(":*").unwrap_or(group) };
        Some(map([
            ("level", Value::from(l.level().map_or("OFF", |v| v.as_str()))),
            ("includeExecutionData", Value::from(l.include_execution_data())),
            ("logGroupArn", Value::from(group)),
        ]))
    });
    let inputs = map([
        ("name", Value::from(d.name())),
        ("type", Value::from(d.r#type().as_str())),
        ("roleArn", Value::from(d.role_arn())),
        ("definition", Value::from_json(&definition)),
        ("logging", logging.unwrap_or(Value::Null)),
        ("tracing", Value::from(d.tracing_configuration().is_some_and(|t| t.enabled()))),
        ("tags", tags_value(tags.tags().iter().filter_map(|t| Some((t.key()?, t.value()?))))),
    ]);
    Ok(Some((inputs, map([("name", Value::from(d.name()))]))))
}

fn sfn_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// Whether the error is Step Functions not yet able to assume a role that
/// was just created (IAM is eventually consistent).
fn role_not_ready<E: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> bool {
    match e {
        aws_smithy_runtime_api::client::result::SdkError::ServiceError(s) => {
            s.err().message().is_some_and(|m| m.contains("assume the provided role"))
        }
        _ => false,
    }
}

/// Looks a state machine up by name (ListStateMachines).
async fn arn_by_name(p: &AwsProvider, name: &str) -> Result<Option<String>, ProviderError> {
    let sfn = p.sfn().await;
    let mut token: Option<String> = None;
    loop {
        let out = sfn
            .list_state_machines()
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| aws_err("ListStateMachines", e))?;
        if let Some(m) = out.state_machines().iter().find(|m| m.name() == name) {
            return Ok(Some(m.state_machine_arn().to_owned()));
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(None),
        }
    }
}

pub(crate) struct StateMachineHandler;

#[async_trait]
impl Handler for StateMachineHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateStateMachine";
        let i = In::new(&req.inputs, op);
        let out = p
            .sfn()
            .await
            .create_state_machine()
            .name(i.str("name")?)
            .r#type(SdkType::from(i.opt_str("type").unwrap_or("STANDARD")))
            .role_arn(i.str("roleArn")?)
            .definition(definition_text(&i, op)?)
            .logging_configuration(logging_config(&i))
            .tracing_configuration(TracingConfiguration::builder().enabled(i.bool("tracing")).build())
            .set_tags(Some(sfn_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .customize()
            .no_sdk_retry()
            .send()
            .await;
        let out = match out {
            Ok(o) => o,
            // A machine of this name still being deleted, or a role IAM
            // has not finished creating: both pass.
            Err(e) if is_code(&e, &["StateMachineDeleting"]) || role_not_ready(&e) => {
                let err = aws_err(op, e);
                return Err(ProviderError::retriable(err.operation, err.message));
            }
            Err(e) => return Err(aws_err(op, e)),
        };
        let arn = out.state_machine_arn().to_owned();
        Ok(CreateResult { id: arn, outputs: map([("name", Value::from(i.str("name")?))]) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id, &req.inputs).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let op = "UpdateStateMachine";
        let (old, new) = (In::new(&req.old_inputs, op), In::new(&req.inputs, op));
        let sfn = p.sfn().await;
        let arn = req.id.as_str();
        if req.changed.iter().any(|k| k != "tags") {
            let res = sfn
                .update_state_machine()
                .state_machine_arn(arn)
                .role_arn(new.str("roleArn")?)
                .definition(definition_text(&new, op)?)
                .logging_configuration(logging_config(&new))
                .tracing_configuration(TracingConfiguration::builder().enabled(new.bool("tracing")).build())
                .send()
                .await;
            match res {
                Ok(_) => {}
                Err(e) if role_not_ready(&e) => {
                    let err = aws_err(op, e);
                    return Err(ProviderError::retriable(err.operation, err.message));
                }
                Err(e) => return Err(aws_err(op, e)),
            }
        }
        if req.changed.iter().any(|k| k == "tags") {
            let (was, now) = (old.tags(), new.tags());
            let removed: Vec<String> = was.keys().filter(|k| !now.contains_key(*k)).cloned().collect();
            if !removed.is_empty() {
                sfn.untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .map_err(|e| aws_err("UntagResource", e))?;
            }
            let added: BTreeMap<String, String> = now.into_iter().filter(|(k, v)| was.get(k) != Some(v)).collect();
            if !added.is_empty() {
                sfn.tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(sfn_tags(&added)))
                    .send()
                    .await
                    .map_err(|e| aws_err("TagResource", e))?;
            }
        }
        Ok(UpdateResult { outputs: req.old_outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let sfn = p.sfn().await;
        match sfn.delete_state_machine().state_machine_arn(&req.id).send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, &["StateMachineDoesNotExist"]) => return Ok(()),
            Err(e) => return Err(aws_err("DeleteStateMachine", e)),
        }
        // Deletion is asynchronous (DELETING until running executions
        // stop); wait until it is gone so the name can be used again.
        wait_for(&format!("state machine {} deleted", req.id), req.timeout, Duration::from_secs(10 * 60), || async {
            match sfn.describe_state_machine().state_machine_arn(&req.id).send().await {
                Ok(_) => Ok(None),
                Err(e) if is_code(&e, &["StateMachineDoesNotExist"]) => Ok(Some(())),
                Err(e) => Err(aws_err("DescribeStateMachine", e)),
            }
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        // Names are unique in the region: the one machine holding it.
        let Some(arn) = arn_by_name(p, name).await?.filter(|arn| !req.is_known(arn)) else { return Ok(None) };
        let tags = match p.sfn().await.list_tags_for_resource().resource_arn(&arn).send().await {
            Ok(t) => t,
            Err(e) if matches!(code(&e), Some("ResourceNotFound" | "StateMachineDoesNotExist")) => return Ok(None),
            Err(e) => return Err(aws_err("ListTagsForResource", e)),
        };
        let get = |k: &str| tags.tags().iter().find(|t| t.key() == Some(k)).and_then(|t| t.value());
        if get(TAG_STACK) != Some(req.stack.as_str()) || get(TAG_NAME) != Some(req.urn.as_str()) {
            return Ok(None);
        }
        Ok(describe(p, &arn, &req.inputs).await?.map(|(inputs, outputs)| ReadResult { id: arn, inputs, outputs }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_group_arns_get_the_suffix_aws_wants_once() {
        assert_eq!(
            log_destination_arn("arn:aws:logs:us-east-1:1:log-group:/a"),
            "arn:aws:logs:us-east-1:1:log-group:/a:*"
        );
        assert_eq!(
            log_destination_arn("arn:aws:logs:us-east-1:1:log-group:/a:*"),
            "arn:aws:logs:us-east-1:1:log-group:/a:*"
        );
    }
}
