//! `JobDefinition`: a containerised Batch job on Fargate.
//!
//! A job definition revision is immutable: every change but tags registers
//! a new revision (`<name>:<revision>`) and deregisters the old one, so the
//! `arn` output changes on update.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_batch::types::{
    AssignPublicIp, ContainerProperties, FargatePlatformConfiguration, JobDefinition as SdkJobDefinition,
    JobDefinitionType, JobTimeout, KeyValuePair, LogConfiguration as SdkLogConfiguration, LogDriver,
    NetworkConfiguration, PlatformCapability, ResourceRequirement, ResourceType, RetryStrategy,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use super::{check_name, has_identity, update_tags};
use crate::ecs::LogConfiguration;
use crate::error::aws_err;
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{map, opt_expr, tags_value, tags_with_identity, In, TAG_NAME, TAG_STACK};

pub(crate) const TYPE: &str = "aws:batch:JobDefinition";

/// Schema: the name is the identity; any other change registers a new
/// revision, which changes the `arn` and `revision` outputs.
pub static SCHEMA: Schema = Schema {
    replace_on: &["name"],
    taggable: true,
    computed_on_update: &["arn", "revision"],
    ..Schema::new(TYPE, "aws")
};

/// The vCPU values a Fargate job may ask for.
pub const FARGATE_VCPUS: [f64; 7] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0];

/// A Batch job definition for Fargate (a single container).
///
/// ```
/// use iac_aws::batch::JobDefinition;
/// let report = JobDefinition::builder()
///     .name("nightly-report")
///     .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/report:1.4")
///     .vcpu(0.5)
///     .memory(1024)
///     .execution_role_arn("arn:aws:iam::123456789012:role/batch-execution")
///     .job_role_arn("arn:aws:iam::123456789012:role/report")
///     .command(vec!["python".into(), "report.py".into(), "--since".into(), "Ref::since".into()])
///     .environment(iac_aws::tags([("BUCKET", "reports")]))
///     .retry_attempts(3)
///     .timeout_seconds(3600)
///     .log_configuration(
///         iac_aws::ecs::LogConfiguration::builder()
///             .group("/aws/batch/nightly-report")
///             .region("us-east-1")
///             .stream_prefix("report")
///             .build(),
///     )
///     .build();
/// # let _ = report;
/// ```
#[derive(bon::Builder)]
pub struct JobDefinition {
    /// The name every revision shares (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// The container image.
    #[builder(into)]
    pub image: Input<String>,
    /// vCPUs: 0.25, 0.5, 1, 2, 4, 8 or 16.
    pub vcpu: f64,
    /// Memory in MiB, one of the values Fargate pairs with `vcpu`.
    pub memory: u32,
    /// The role ECS uses to pull the image and write logs (required on
    /// Fargate).
    #[builder(into)]
    pub execution_role_arn: Input<String>,
    /// The role the job runs as.
    #[builder(into)]
    pub job_role_arn: Option<Input<String>>,
    /// The command (overrides the image's `CMD`; `Ref::name` takes a job
    /// parameter).
    #[builder(default)]
    pub command: Vec<String>,
    /// Environment variables.
    #[builder(default)]
    pub environment: BTreeMap<String, String>,
    /// Attempts before a job fails (1–10; AWS: 1).
    pub retry_attempts: Option<u32>,
    /// Seconds an attempt may run before Batch stops it (at least 60).
    pub timeout_seconds: Option<u32>,
    /// Whether the job's network interface gets a public IP (needed to
    /// pull images from a public subnet without a NAT gateway).
    #[builder(default)]
    pub assign_public_ip: bool,
    /// Where the container's output goes (`awslogs` driver); unset, Batch's
    /// default `/aws/batch/job` group.
    pub log_configuration: Option<LogConfiguration>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`JobDefinition`].
pub struct JobDefinitionOutputs {
    /// The name (the resource's id).
    pub id: Output<String>,
    /// The ARN of the current revision (`…:job-definition/<name>:<revision>`);
    /// it changes whenever the definition does.
    pub arn: Output<String>,
    /// The current revision number.
    pub revision: Output<i64>,
}

/// A vCPU value as Batch writes it (`0.25`, `1`).
fn vcpu_text(v: f64) -> String {
    v.to_string()
}

impl Resource for JobDefinition {
    type Outputs = JobDefinitionOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("type", Value::from("container").into()),
            ("platformCapabilities", Value::from(vec!["FARGATE"]).into()),
            ("image", self.image.to_expr()),
            ("vcpu", Value::from(vcpu_text(self.vcpu)).into()),
            ("memory", Value::from(self.memory).into()),
            ("executionRoleArn", self.execution_role_arn.to_expr()),
            ("jobRoleArn", opt_expr(self.job_role_arn.as_ref())),
            ("command", Value::from(self.command.clone()).into()),
            ("environment", Value::from(self.environment.clone()).into()),
            ("retryAttempts", Value::from(self.retry_attempts).into()),
            ("timeoutSeconds", Value::from(self.timeout_seconds).into()),
            ("assignPublicIp", Value::from(self.assign_public_ip).into()),
            (
                "logConfiguration",
                self.log_configuration.as_ref().map_or(Expr::Value(Value::Null), LogConfiguration::to_expr),
            ),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> JobDefinitionOutputs {
        JobDefinitionOutputs {
            id: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            revision: Output::from_ref(urn, "revision"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        check_name(c, "name", &self.name);
        if let Some(img) = self.image.value() {
            c.check(!img.trim().is_empty(), "image", || "an image is required".into());
        }
        if FARGATE_VCPUS.contains(&self.vcpu) {
            let units = (self.vcpu * 1024.0) as u32;
            let ok = crate::checks::fargate_memory_options(units).is_some_and(|m| m.contains(&self.memory));
            c.check(ok, "memory", || {
                format!(
                    "{} MiB does not go with {} vCPU on Fargate: valid memory is {}",
                    self.memory,
                    vcpu_text(self.vcpu),
                    crate::checks::fargate_memory_rule(units)
                )
            });
        } else {
            c.fail(
                "vcpu",
                format!(
                    "{} is not a Fargate vCPU value; use one of {}",
                    vcpu_text(self.vcpu),
                    FARGATE_VCPUS.map(vcpu_text).join(", ")
                ),
            );
        }
        if let Some(l) = &self.log_configuration {
            if let Some(g) = l.group.value() {
                let ok = !g.is_empty()
                    && g.len() <= 512
                    && g.chars().all(|ch| ch.is_ascii_alphanumeric() || "_-/.#".contains(ch));
                c.check(ok, "logConfiguration", || format!("`{g}` is not a log group name"));
            }
            c.check(!l.region.is_empty(), "logConfiguration", || "the log group's region is required".into());
            c.check(!l.stream_prefix.is_empty() && !l.stream_prefix.contains(':'), "logConfiguration", || {
                format!("`{}`: a stream prefix is required, without `:`", l.stream_prefix)
            });
        }
        for (field, role) in
            [("executionRoleArn", Some(&self.execution_role_arn)), ("jobRoleArn", self.job_role_arn.as_ref())]
        {
            if let Some(r) = role.and_then(Input::value) {
                c.check(r.starts_with("arn:") && r.contains(":role/"), field, || {
                    format!("`{r}` is not an IAM role ARN")
                });
            }
        }
        if let Some(n) = self.retry_attempts {
            c.check((1..=10).contains(&n), "retryAttempts", || format!("{n}: between 1 and 10"));
        }
        if let Some(t) = self.timeout_seconds {
            c.check(t >= 60, "timeoutSeconds", || format!("{t} s: at least 60"));
        }
        for k in self.environment.keys() {
            let ok = k.starts_with(|ch: char| ch.is_ascii_alphabetic() || ch == '_')
                && k.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
            c.check(ok, "environment", || {
                format!("`{k}` is not a variable name (a letter or _, then letters, digits, _)")
            });
            c.check(!k.starts_with("AWS_BATCH"), "environment", || {
                format!("`{k}`: names starting AWS_BATCH are reserved by Batch")
            });
        }
    }
}

fn bad(op: &str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::fatal(op, e.to_string())
}

/// Registers a revision from the inputs, with the identity tags.
async fn register(
    p: &AwsProvider,
    req_inputs: &Value,
    stack: &str,
    urn: &Urn,
) -> Result<SdkJobDefinition, ProviderError> {
    let op = "RegisterJobDefinition";
    let i = In::new(req_inputs, op);
    let name = i.str("name")?;
    let memory = i.opt_i64("memory").ok_or_else(|| bad(op, "input `memory` is missing"))?;
    let env = i
        .value("environment")
        .as_map()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some(KeyValuePair::builder().name(k).value(v.as_str()?).build()))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let log = i.value("logConfiguration");
    let log = match log.get("logDriver").as_str() {
        Some(driver) => {
            let options: HashMap<String, String> = log
                .get("options")
                .as_map()
                .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
                .unwrap_or_default();
            Some(SdkLogConfiguration::builder().log_driver(LogDriver::from(driver)).set_options(Some(options)).build())
        }
        None => None,
    };
    let container = ContainerProperties::builder()
        .image(i.str("image")?)
        .resource_requirements(ResourceRequirement::builder().r#type(ResourceType::Vcpu).value(i.str("vcpu")?).build())
        .resource_requirements(
            ResourceRequirement::builder().r#type(ResourceType::Memory).value(memory.to_string()).build(),
        )
        .execution_role_arn(i.str("executionRoleArn")?)
        .set_job_role_arn(i.opt_str("jobRoleArn").map(str::to_owned))
        .set_command(Some(i.strs("command")).filter(|c| !c.is_empty()))
        .set_environment(Some(env).filter(|e| !e.is_empty()))
        .network_configuration(
            NetworkConfiguration::builder()
                .assign_public_ip(if i.bool("assignPublicIp") {
                    AssignPublicIp::Enabled
                } else {
                    AssignPublicIp::Disabled
                })
                .build(),
        )
        .fargate_platform_configuration(FargatePlatformConfiguration::builder().platform_version("LATEST").build())
        .set_log_configuration(log)
        .build();
    let tags: HashMap<String, String> = tags_with_identity(req_inputs, stack, urn).into_iter().collect();
    let batch = p.batch().await;
    let out = batch
        .register_job_definition()
        .job_definition_name(name)
        .r#type(JobDefinitionType::Container)
        .platform_capabilities(PlatformCapability::Fargate)
        .container_properties(container)
        .set_retry_strategy(i.opt_i32("retryAttempts").map(|n| RetryStrategy::builder().attempts(n).build()))
        .set_timeout(i.opt_i32("timeoutSeconds").map(|t| JobTimeout::builder().attempt_duration_seconds(t).build()))
        .set_tags(Some(tags))
        .customize()
        .no_sdk_retry()
        .send()
        .await
        .map_err(|e| aws_err(op, e))?;
    let arn = out.job_definition_arn().unwrap_or_default();
    describe(p, arn)
        .await?
        .ok_or_else(|| ProviderError::retriable("DescribeJobDefinitions", format!("{arn} not visible yet")))
}

/// One revision, by ARN; `None` when it does not exist or is deregistered.
async fn describe(p: &AwsProvider, which: &str) -> Result<Option<SdkJobDefinition>, ProviderError> {
    let out = p
        .batch()
        .await
        .describe_job_definitions()
        .job_definitions(which)
        .send()
        .await
        .map_err(|e| aws_err("DescribeJobDefinitions", e))?;
    Ok(out
        .job_definitions()
        .iter()
        .find(|d| d.job_definition_arn() == Some(which))
        .filter(|d| d.status() == Some("ACTIVE"))
        .cloned())
}

/// Every ACTIVE revision of a name, oldest first.
async fn active_revisions(p: &AwsProvider, name: &str) -> Result<Vec<SdkJobDefinition>, ProviderError> {
    let batch = p.batch().await;
    let mut defs = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = batch
            .describe_job_definitions()
            .job_definition_name(name)
            .status("ACTIVE")
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| aws_err("DescribeJobDefinitions", e))?;
        defs.extend(out.job_definitions().iter().filter(|d| d.job_definition_name() == Some(name)).cloned());
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    defs.sort_by_key(|d| d.revision().unwrap_or_default());
    Ok(defs)
}

fn values(d: &SdkJobDefinition) -> (Value, Value) {
    let c = d.container_properties();
    let requirement = |t: ResourceType| {
        c.and_then(|c| c.resource_requirements().iter().find(|r| r.r#type() == Some(&t))).and_then(|r| r.value())
    };
    let env: BTreeMap<String, Value> = c
        .map(|c| c.environment())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| Some((e.name()?.to_owned(), Value::from(e.value().unwrap_or_default()))))
        .collect();
    let inputs = map([
        ("name", Value::from(d.job_definition_name())),
        ("type", Value::from(d.r#type())),
        ("platformCapabilities", Value::from(d.platform_capabilities().iter().map(|c| c.as_str()).collect::<Vec<_>>())),
        ("image", Value::from(c.and_then(|c| c.image()))),
        // Batch keeps the text it was given; "1.0" and "1" are one value.
        (
            "vcpu",
            Value::from(
                requirement(ResourceType::Vcpu).map(|v| v.parse::<f64>().map_or_else(|_| v.to_owned(), vcpu_text)),
            ),
        ),
        ("memory", Value::from(requirement(ResourceType::Memory).and_then(|v| v.parse::<i64>().ok()))),
        ("executionRoleArn", Value::from(c.and_then(|c| c.execution_role_arn()))),
        ("jobRoleArn", Value::from(c.and_then(|c| c.job_role_arn()))),
        ("command", Value::from(c.map(|c| c.command().to_vec()).unwrap_or_default())),
        ("environment", Value::Map(env)),
        ("retryAttempts", Value::from(d.retry_strategy().and_then(|r| r.attempts()).map(i64::from))),
        ("timeoutSeconds", Value::from(d.timeout().and_then(|t| t.attempt_duration_seconds()).map(i64::from))),
        (
            "assignPublicIp",
            Value::from(
                c.and_then(|c| c.network_configuration()).and_then(|n| n.assign_public_ip())
                    == Some(&AssignPublicIp::Enabled),
            ),
        ),
        ("logConfiguration", log_value(c.and_then(|c| c.log_configuration()))),
        ("tags", tags_value(d.tags().into_iter().flatten().map(|(k, v)| (k.as_str(), v.as_str())))),
    ]);
    let outputs =
        map([("arn", Value::from(d.job_definition_arn())), ("revision", Value::from(d.revision().map(i64::from)))]);
    (inputs, outputs)
}

/// A container's log configuration as recorded inputs.
fn log_value(l: Option<&SdkLogConfiguration>) -> Value {
    l.map_or(Value::Null, |l| {
        let options: BTreeMap<String, Value> = l
            .options()
            .map(|o| o.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect())
            .unwrap_or_default();
        map([("logDriver", Value::from(l.log_driver().map(|d| d.as_str()))), ("options", Value::Map(options))])
    })
}

async fn deregister(p: &AwsProvider, arn: &str) -> Result<(), ProviderError> {
    p.batch()
        .await
        .deregister_job_definition()
        .job_definition(arn)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_err("DeregisterJobDefinition", e))
}

fn tag<'a>(d: &'a SdkJobDefinition, key: &str) -> Option<&'a str> {
    d.tags().and_then(|t| t.get(key)).map(String::as_str)
}

pub(crate) struct JobDefinitionHandler;

#[async_trait]
impl Handler for JobDefinitionHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let d = register(p, &req.inputs, &req.stack, &req.urn).await?;
        let name = d.job_definition_name().unwrap_or_default().to_owned();
        Ok(CreateResult { id: name, outputs: values(&d).1 })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        // The revision this resource last registered; a deregistered one is gone.
        let Some(arn) = req.outputs.get("arn").as_str() else { return Ok(None) };
        Ok(describe(p, arn).await?.map(|d| {
            let (inputs, outputs) = values(&d);
            ReadResult { id: req.id, inputs, outputs }
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let old_arn = req.old_outputs.get("arn").as_str().map(str::to_owned);
        if req.changed.iter().all(|k| k == "tags") {
            // Tags alone do not need a new revision.
            if let Some(arn) = &old_arn {
                let (old, new) = (In::new(&req.old_inputs, "").tags(), In::new(&req.inputs, "").tags());
                update_tags(p, arn, &old, &new).await?;
            }
            return Ok(UpdateResult { outputs: req.old_outputs });
        }
        let d = register(p, &req.inputs, &req.stack, &req.urn).await?;
        // Jobs already submitted keep running on the old revision.
        if let Some(old) = old_arn.filter(|a| Some(a.as_str()) != d.job_definition_arn()) {
            deregister(p, &old).await?;
        }
        Ok(UpdateResult { outputs: values(&d).1 })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        // Deregister every active revision of the name that this resource
        // registered (identity tags), never someone else's.
        let recorded = req.outputs.get("arn").as_str();
        let stack = match recorded {
            Some(arn) => describe(p, arn).await?.and_then(|d| tag(&d, TAG_STACK).map(str::to_owned)),
            None => None,
        };
        for d in active_revisions(p, &req.id).await? {
            let arn = d.job_definition_arn().unwrap_or_default();
            let ours = Some(arn) == recorded
                || (tag(&d, TAG_NAME) == Some(req.urn.as_str())
                    && (stack.is_none() || tag(&d, TAG_STACK) == stack.as_deref()));
            if ours {
                deregister(p, arn).await?;
            }
        }
        Ok(())
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        // The name is the id: every revision of it is the copy the state
        // records, if it records one.
        if req.is_known(name) {
            return Ok(None);
        }
        for d in active_revisions(p, name).await?.iter().rev() {
            if has_identity(d.tags(), &req.stack, req.urn.as_str()) {
                let (inputs, outputs) = values(d);
                return Ok(Some(ReadResult { id: name.to_owned(), inputs, outputs }));
            }
        }
        Ok(None)
    }
}
