//! `TaskDefinition`: a Fargate task (CPU, memory, roles) and its containers.
//!
//! ECS task definitions are immutable: every change registers a new revision
//! of the family (the old one is deregistered), so the `arn` output
//! (`…:task-definition/<family>:<revision>`) changes on update and services
//! that use it update to the new revision in the same run.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, KeyValuePair, LogDriver, NetworkMode, TaskDefinitionField,
    TaskDefinitionStatus, TransportProtocol,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};
use serde::{Deserialize, Serialize};

use super::{ecs_tags, tag_pairs, update_tags};
use crate::batch_read::{read_batched, Chunk};
use crate::error::{aws_err, code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{map, tags_value, tags_with_identity, In, TAG_NAME, TAG_STACK};

pub(crate) const TYPE: &str = "aws:ecs:TaskDefinition";

/// Schema: the family is the identity; any other change registers a new
/// revision, which changes the `arn` and `revision` outputs.
pub static SCHEMA: Schema = Schema {
    replace_on: &["family"],
    taggable: true,
    computed_on_update: &["arn", "revision"],
    ..Schema::new(TYPE, "aws")
};

/// The task CPU values Fargate accepts (CPU units; 1024 = 1 vCPU).
pub const FARGATE_CPU: [u32; 7] = [256, 512, 1024, 2048, 4096, 8192, 16384];

/// The task memory values (MiB) Fargate accepts with a task CPU value, or
/// `None` for a CPU value Fargate does not offer.
///
/// ```
/// use iac_aws::ecs::fargate_memory_options;
/// assert_eq!(fargate_memory_options(256), Some(vec![512, 1024, 2048]));
/// assert!(fargate_memory_options(512).unwrap().contains(&4096));
/// assert_eq!(fargate_memory_options(1536), None);
/// ```
pub fn fargate_memory_options(cpu: u32) -> Option<Vec<u32>> {
    crate::checks::fargate_memory_options(cpu)
}

/// How the valid memory values of a CPU value read in a message.
fn memory_rule(cpu: u32) -> String {
    crate::checks::fargate_memory_rule(cpu)
}

/// A Fargate task definition (network mode `awsvpc`).
///
/// ```
/// use iac_aws::ecs::{Container, HealthCheck, LogConfiguration, PortMapping, TaskDefinition};
/// let task = TaskDefinition::builder()
///     .family("web")
///     .cpu(256)
///     .memory(512)
///     .execution_role_arn("arn:aws:iam::123456789012:role/ecsTaskExecutionRole")
///     .containers(vec![Container::builder()
///         .name("web")
///         .image("nginx:1.27")
///         .port_mappings(vec![PortMapping::tcp(80)])
///         .environment(iac_aws::tags([("MODE", "production")]))
///         .health_check(HealthCheck::builder().command(vec!["CMD-SHELL".into(), "curl -f localhost".into()]).build())
///         .log_configuration(LogConfiguration::builder().group("/ecs/web").region("us-east-1").stream_prefix("web").build())
///         .build()])
///     .build();
/// # let _ = task;
/// ```
#[derive(bon::Builder)]
pub struct TaskDefinition {
    /// The family: the name every revision shares (replaces when changed).
    #[builder(into)]
    pub family: String,
    /// Task CPU units: 256, 512, 1024, 2048, 4096, 8192 or 16384.
    pub cpu: u32,
    /// Task memory in MiB, one of the values Fargate allows with `cpu`.
    pub memory: u32,
    /// The role ECS uses to pull images and write logs.
    #[builder(into)]
    pub execution_role_arn: Option<Input<String>>,
    /// The role the containers run as.
    #[builder(into)]
    pub task_role_arn: Option<Input<String>>,
    /// The containers, in order.
    pub containers: Vec<Container>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// One container of a [`TaskDefinition`].
///
/// ```
/// use iac_aws::ecs::{Container, PortMapping};
/// let sidecar = Container::builder()
///     .name("proxy")
///     .image("envoyproxy/envoy:v1.31")
///     .essential(false)
///     .port_mappings(vec![PortMapping::tcp(9901)])
///     .command(vec!["--log-level".into(), "info".into()])
///     .build();
/// # let _ = sidecar;
/// ```
#[derive(bon::Builder)]
pub struct Container {
    /// The container's name, unique in the task.
    #[builder(into)]
    pub name: String,
    /// The image (`repository:tag` or `…@sha256:…`).
    #[builder(into)]
    pub image: Input<String>,
    /// CPU units reserved for the container.
    pub cpu: Option<u32>,
    /// Hard memory limit in MiB.
    pub memory: Option<u32>,
    /// Whether the task stops when this container stops.
    #[builder(default = true)]
    pub essential: bool,
    /// Ports the container listens on.
    #[builder(default)]
    pub port_mappings: Vec<PortMapping>,
    /// Environment variables.
    #[builder(default)]
    pub environment: BTreeMap<String, String>,
    /// Environment variables filled from Secrets Manager or SSM Parameter
    /// Store: variable name → the secret's or parameter's ARN.
    #[builder(default)]
    pub secrets: BTreeMap<String, Input<String>>,
    /// A command Docker runs to check the container's health.
    pub health_check: Option<HealthCheck>,
    /// Where the container's output goes (CloudWatch Logs).
    pub log_configuration: Option<LogConfiguration>,
    /// The command (overrides the image's `CMD`).
    #[builder(default)]
    pub command: Vec<String>,
}

/// A port a container listens on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    /// The port (1–65535).
    pub container_port: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
}

impl PortMapping {
    /// A TCP port.
    pub fn tcp(port: u16) -> PortMapping {
        PortMapping { container_port: port, protocol: Protocol::Tcp }
    }
    /// A UDP port.
    pub fn udp(port: u16) -> PortMapping {
        PortMapping { container_port: port, protocol: Protocol::Udp }
    }
}

/// A port's transport protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// A container health check. The defaults are ECS's: every 30 s, 5 s
/// timeout, 3 retries, no start period.
///
/// ```
/// let hc = iac_aws::ecs::HealthCheck::builder()
///     .command(vec!["CMD-SHELL".into(), "curl -f http://localhost/ || exit 1".into()])
///     .interval(10)
///     .build();
/// # let _ = hc;
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bon::Builder)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    /// The command: `["CMD", exe, args…]` or `["CMD-SHELL", "shell command"]`.
    pub command: Vec<String>,
    /// Seconds between checks (5–300).
    #[builder(default = 30)]
    pub interval: u32,
    /// Seconds a check may take (2–120).
    #[builder(default = 5)]
    pub timeout: u32,
    /// Failures in a row that make the container unhealthy (1–10).
    #[builder(default = 3)]
    pub retries: u32,
    /// Grace seconds after start during which failures do not count (0–300).
    #[builder(default = 0)]
    pub start_period: u32,
}

/// Sends a container's output to a CloudWatch Logs group (`awslogs` driver).
#[derive(bon::Builder)]
pub struct LogConfiguration {
    /// The log group's name.
    #[builder(into)]
    pub group: Input<String>,
    /// The log group's region.
    #[builder(into)]
    pub region: String,
    /// Streams are named `<prefix>/<container>/<task id>`.
    #[builder(into)]
    pub stream_prefix: String,
}

impl LogConfiguration {
    /// As a resource input (ECS containers and Batch jobs alike).
    pub(crate) fn to_expr(&self) -> Expr {
        props([
            ("logDriver", Value::from("awslogs").into()),
            (
                "options",
                props([
                    ("awslogs-group", self.group.to_expr()),
                    ("awslogs-region", Value::from(self.region.as_str()).into()),
                    ("awslogs-stream-prefix", Value::from(self.stream_prefix.as_str()).into()),
                ]),
            ),
        ])
    }
}

/// Outputs of a [`TaskDefinition`].
pub struct TaskDefinitionOutputs {
    /// The family (the resource's id).
    pub id: Output<String>,
    /// The ARN of the current revision (`…:task-definition/<family>:<revision>`);
    /// it changes whenever the definition does.
    pub arn: Output<String>,
    /// The family.
    pub family: Output<String>,
    /// The current revision number.
    pub revision: Output<i64>,
}

fn opt_expr(i: &Option<Input<String>>) -> Expr {
    i.as_ref().map_or(Expr::Value(Value::Null), Input::to_expr)
}

impl Container {
    fn to_expr(&self) -> Expr {
        let secrets = if self.secrets.is_empty() {
            Expr::Value(Value::Null)
        } else {
            Expr::Map(self.secrets.iter().map(|(k, v)| (k.clone(), v.to_expr())).collect())
        };
        let log = self.log_configuration.as_ref().map_or(Expr::Value(Value::Null), LogConfiguration::to_expr);
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("image", self.image.to_expr()),
            // 0 CPU units is how ECS says "no reservation".
            ("cpu", Value::from(self.cpu.filter(|c| *c > 0)).into()),
            ("memory", Value::from(self.memory).into()),
            ("essential", Value::from(self.essential).into()),
            ("portMappings", Value::from_serialize(&self.port_mappings).into()),
            ("environment", Value::from(self.environment.clone()).into()),
            ("secrets", secrets),
            ("healthCheck", Value::from_serialize(&self.health_check).into()),
            ("logConfiguration", log),
            ("command", Value::from(self.command.clone()).into()),
        ])
    }
}

impl Resource for TaskDefinition {
    type Outputs = TaskDefinitionOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("family", Value::from(self.family.as_str()).into()),
            ("cpu", Value::from(self.cpu).into()),
            ("memory", Value::from(self.memory).into()),
            ("networkMode", Value::from("awsvpc").into()),
            ("requiresCompatibilities", Value::from(vec!["FARGATE"]).into()),
            ("executionRoleArn", opt_expr(&self.execution_role_arn)),
            ("taskRoleArn", opt_expr(&self.task_role_arn)),
            ("containers", Expr::List(self.containers.iter().map(Container::to_expr).collect())),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> TaskDefinitionOutputs {
        TaskDefinitionOutputs {
            id: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            family: Output::from_ref(urn, "family"),
            revision: Output::from_ref(urn, "revision"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        crate::checks::name(
            c,
            "family",
            &self.family,
            255,
            super::cluster::name_char,
            "letters, digits, hyphens and underscores only",
        );
        match fargate_memory_options(self.cpu) {
            None => c.fail(
                "cpu",
                format!(
                    "`{}` is not a Fargate task CPU value; use one of {} (CPU units, 1024 = 1 vCPU)",
                    self.cpu,
                    FARGATE_CPU.map(|v| v.to_string()).join(", ")
                ),
            ),
            Some(opts) => c.check(opts.contains(&self.memory), "memory", || {
                format!(
                    "`{}` MiB does not go with cpu {} on Fargate: valid memory is {}",
                    self.memory,
                    self.cpu,
                    memory_rule(self.cpu)
                )
            }),
        }
        c.check(!self.containers.is_empty(), "containers", || "a task definition needs at least one container".into());
        for (n, k) in self.containers.iter().enumerate() {
            let field = format!("containers.{n}");
            crate::checks::name(
                c,
                &format!("{field}.name"),
                &k.name,
                255,
                super::cluster::name_char,
                "letters, digits, hyphens and underscores only",
            );
            if self.containers[..n].iter().any(|o| o.name == k.name) {
                c.fail(
                    format!("{field}.name"),
                    format!("container name `{}` is used twice; names must be unique in a task", k.name),
                );
            }
            if let Some(img) = k.image.value() {
                c.check(!img.trim().is_empty(), &format!("{field}.image"), || {
                    format!("container `{}` has an empty image", k.name)
                });
            }
            for p in &k.port_mappings {
                c.check(p.container_port >= 1, &format!("{field}.portMappings"), || {
                    format!("container `{}`: port {} is out of range; ports are 1 to 65535", k.name, p.container_port)
                });
            }
            for (i, p) in k.port_mappings.iter().enumerate() {
                if k.port_mappings[..i].iter().any(|o| o.container_port == p.container_port && o.protocol == p.protocol)
                {
                    c.fail(
                        format!("{field}.portMappings"),
                        format!("container `{}` maps port {} twice", k.name, p.container_port),
                    );
                }
            }
            if let Some(m) = k.memory {
                c.check(m >= 6, &format!("{field}.memory"), || {
                    format!("container `{}`: {m} MiB is below the 6 MiB minimum", k.name)
                });
            }
            if let Some(h) = &k.health_check {
                let f = format!("{field}.healthCheck");
                c.check(!h.command.is_empty(), &f, || {
                    format!("container `{}`: the health check has no command", k.name)
                });
                if let Some(first) = h.command.first() {
                    c.check(first == "CMD" || first == "CMD-SHELL", &f, || {
                        format!(
                            "container `{}`: a health check command starts with `CMD` or `CMD-SHELL`, not `{first}`",
                            k.name
                        )
                    });
                }
                let ranges = [
                    ("interval", h.interval, 5, 300),
                    ("timeout", h.timeout, 2, 120),
                    ("retries", h.retries, 1, 10),
                    ("startPeriod", h.start_period, 0, 300),
                ];
                for (what, v, lo, hi) in ranges {
                    c.check((lo..=hi).contains(&v), &f, || {
                        format!("container `{}`: health check {what} {v} is outside {lo}..={hi}", k.name)
                    });
                }
            }
        }
        if !self.containers.is_empty() {
            c.check(self.containers.iter().any(|k| k.essential), "containers", || {
                "no container is essential; at least one must be".into()
            });
        }
        let cpu_sum: u32 = self.containers.iter().filter_map(|k| k.cpu).sum();
        c.check(cpu_sum <= self.cpu, "containers", || {
            format!("the containers reserve {cpu_sum} CPU units, more than the task's {}", self.cpu)
        });
        let mem_sum: u32 = self.containers.iter().filter_map(|k| k.memory).sum();
        c.check(mem_sum <= self.memory, "containers", || {
            format!("the containers' memory limits add up to {mem_sum} MiB, more than the task's {}", self.memory)
        });
    }
}

// ---- handler ----------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContainerSpec {
    name: String,
    image: String,
    cpu: Option<i32>,
    memory: Option<i32>,
    #[serde(default = "yes")]
    essential: bool,
    #[serde(default)]
    port_mappings: Vec<PortMapping>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default)]
    secrets: BTreeMap<String, String>,
    health_check: Option<HealthCheck>,
    log_configuration: Option<LogSpec>,
    #[serde(default)]
    command: Vec<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogSpec {
    log_driver: String,
    #[serde(default)]
    options: HashMap<String, String>,
}

fn bad(op: &str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::fatal(op, e.to_string())
}

fn container_definition(op: &str, k: ContainerSpec) -> Result<ContainerDefinition, ProviderError> {
    let mut b = ContainerDefinition::builder().name(k.name).image(k.image).essential(k.essential);
    if let Some(cpu) = k.cpu {
        b = b.cpu(cpu);
    }
    b = b.set_memory(k.memory);
    for p in k.port_mappings {
        let proto = match p.protocol {
            Protocol::Tcp => TransportProtocol::Tcp,
            Protocol::Udp => TransportProtocol::Udp,
        };
        b = b.port_mappings(
            aws_sdk_ecs::types::PortMapping::builder()
                .container_port(i32::from(p.container_port))
                .protocol(proto)
                .build(),
        );
    }
    for (name, value) in k.environment {
        b = b.environment(KeyValuePair::builder().name(name).value(value).build());
    }
    for (name, from) in k.secrets {
        b = b.secrets(
            aws_sdk_ecs::types::Secret::builder().name(name).value_from(from).build().map_err(|e| bad(op, e))?,
        );
    }
    if let Some(h) = k.health_check {
        b = b.health_check(
            aws_sdk_ecs::types::HealthCheck::builder()
                .set_command(Some(h.command))
                .interval(h.interval as i32)
                .timeout(h.timeout as i32)
                .retries(h.retries as i32)
                .start_period(h.start_period as i32)
                .build()
                .map_err(|e| bad(op, e))?,
        );
    }
    if let Some(l) = k.log_configuration {
        b = b.log_configuration(
            aws_sdk_ecs::types::LogConfiguration::builder()
                .log_driver(LogDriver::from(l.log_driver.as_str()))
                .set_options(Some(l.options))
                .build()
                .map_err(|e| bad(op, e))?,
        );
    }
    if !k.command.is_empty() {
        b = b.set_command(Some(k.command));
    }
    Ok(b.build())
}

/// A container as AWS describes it, in the shape of the `containers` input.
fn container_value(k: &ContainerDefinition) -> Value {
    let ports: Vec<Value> = k
        .port_mappings()
        .iter()
        .map(|p| {
            map([
                ("containerPort", Value::from(p.container_port())),
                ("protocol", Value::from(p.protocol().map_or("tcp", |x| x.as_str()))),
            ])
        })
        .collect();
    let env: BTreeMap<String, Value> = k
        .environment()
        .iter()
        .filter_map(|e| Some((e.name()?.to_owned(), Value::from(e.value().unwrap_or_default()))))
        .collect();
    let secrets: BTreeMap<String, Value> =
        k.secrets().iter().map(|s| (s.name().to_owned(), Value::from(s.value_from()))).collect();
    let health = k.health_check().map_or(Value::Null, |h| {
        map([
            ("command", Value::from(h.command().to_vec())),
            ("interval", Value::from(h.interval().unwrap_or(30))),
            ("timeout", Value::from(h.timeout().unwrap_or(5))),
            ("retries", Value::from(h.retries().unwrap_or(3))),
            ("startPeriod", Value::from(h.start_period().unwrap_or(0))),
        ])
    });
    let log = k.log_configuration().map_or(Value::Null, |l| {
        let opts: BTreeMap<String, Value> = l
            .options()
            .map(|o| o.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect())
            .unwrap_or_default();
        map([("logDriver", Value::from(l.log_driver().as_str())), ("options", Value::Map(opts))])
    });
    map([
        ("name", Value::from(k.name())),
        ("image", Value::from(k.image())),
        ("cpu", Value::from(Some(k.cpu()).filter(|c| *c > 0))),
        ("memory", Value::from(k.memory())),
        ("essential", Value::from(k.essential().unwrap_or(true))),
        ("portMappings", Value::List(ports)),
        ("environment", Value::Map(env)),
        ("secrets", Value::Map(secrets)),
        ("healthCheck", health),
        ("logConfiguration", log),
        ("command", Value::from(k.command().to_vec())),
    ])
}

fn num(s: Option<&str>) -> Value {
    match s.and_then(|s| s.trim().parse::<i64>().ok()) {
        Some(n) => Value::Int(n),
        None => Value::from(s),
    }
}

fn values(td: &aws_sdk_ecs::types::TaskDefinition, tags: &[aws_sdk_ecs::types::Tag]) -> (Value, Value) {
    let inputs = map([
        ("family", Value::from(td.family())),
        ("cpu", num(td.cpu())),
        ("memory", num(td.memory())),
        ("networkMode", Value::from(td.network_mode().map(|m| m.as_str()))),
        (
            "requiresCompatibilities",
            Value::from(td.requires_compatibilities().iter().map(|c| c.as_str()).collect::<Vec<_>>()),
        ),
        ("executionRoleArn", Value::from(td.execution_role_arn())),
        ("taskRoleArn", Value::from(td.task_role_arn())),
        ("containers", Value::List(td.container_definitions().iter().map(container_value).collect())),
        ("tags", tags_value(tag_pairs(tags))),
    ]);
    (inputs, outputs(td))
}

fn outputs(td: &aws_sdk_ecs::types::TaskDefinition) -> Value {
    map([
        ("arn", Value::from(td.task_definition_arn())),
        ("family", Value::from(td.family())),
        ("revision", Value::from(td.revision())),
    ])
}

/// Registers a revision from the inputs, with the identity tags.
async fn register(
    p: &AwsProvider,
    inputs: &Value,
    stack: &str,
    urn: &Urn,
    op: &str,
) -> Result<aws_sdk_ecs::types::TaskDefinition, ProviderError> {
    let i = In::new(inputs, op);
    let specs: Vec<ContainerSpec> = match i.json("containers") {
        Some(j) => serde_json::from_value(j).map_err(|e| bad(op, format!("input `containers`: {e}")))?,
        None => Vec::new(),
    };
    let containers = specs.into_iter().map(|k| container_definition(op, k)).collect::<Result<Vec<_>, _>>()?;
    let int_str = |k: &str| i.opt_i64(k).map(|n| n.to_string());
    let out = p
        .ecs()
        .await
        .register_task_definition()
        .family(i.str("family")?)
        .set_cpu(int_str("cpu"))
        .set_memory(int_str("memory"))
        .network_mode(NetworkMode::from(i.opt_str("networkMode").unwrap_or("awsvpc")))
        .set_requires_compatibilities(Some(
            i.strs("requiresCompatibilities").iter().map(|c| Compatibility::from(c.as_str())).collect(),
        ))
        .set_execution_role_arn(i.opt_str("executionRoleArn").map(str::to_owned))
        .set_task_role_arn(i.opt_str("taskRoleArn").map(str::to_owned))
        .set_container_definitions(Some(containers))
        .set_tags(Some(ecs_tags(&tags_with_identity(inputs, stack, urn))))
        .customize()
        .no_sdk_retry()
        .send()
        .await
        .map_err(|e| aws_err("RegisterTaskDefinition", e))?;
    out.task_definition()
        .cloned()
        .ok_or_else(|| ProviderError::fatal("RegisterTaskDefinition", "no task definition returned"))
}

/// Describes one revision (an ARN, `family:revision` or a family's latest)
/// with its tags; `None` when it does not exist or is no longer active.
async fn describe(
    p: &AwsProvider,
    which: &str,
) -> Result<Option<(aws_sdk_ecs::types::TaskDefinition, Vec<aws_sdk_ecs::types::Tag>)>, ProviderError> {
    let out =
        p.ecs().await.describe_task_definition().task_definition(which).include(TaskDefinitionField::Tags).send().await;
    match out {
        Ok(o) => Ok(o
            .task_definition()
            .filter(|t| t.status() == Some(&TaskDefinitionStatus::Active))
            .map(|t| (t.clone(), o.tags().to_vec()))),
        // ECS answers ClientException for an unknown task definition.
        Err(e) if matches!(code(&e), Some("ClientException" | "ResourceNotFoundException")) => Ok(None),
        Err(e) => Err(aws_err("DescribeTaskDefinition", e)),
    }
}

/// The revision a resource last registered: its ARN, else its family (the
/// family's latest).
fn recorded_revision(req: &ReadRequest) -> String {
    req.outputs.get("arn").as_str().unwrap_or(&req.id).to_owned()
}

/// Which of `arns` are active revisions, from the region's listing of
/// active revisions (at most a page per ARN asked; a listing cut short
/// settles only what it showed).
async fn active(p: &AwsProvider, arns: Vec<String>) -> Result<Chunk<()>, ProviderError> {
    let ecs = p.ecs().await;
    let wanted: HashSet<String> = arns.iter().cloned().collect();
    let mut found = HashMap::new();
    let mut token: Option<String> = None;
    for _ in 0..arns.len() {
        let out = ecs
            .list_task_definitions()
            .status(TaskDefinitionStatus::Active)
            .max_results(100)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| aws_err("ListTaskDefinitions", e))?;
        found.extend(out.task_definition_arns().iter().filter(|a| wanted.contains(*a)).map(|a| (a.clone(), ())));
        match out.next_token() {
            Some(t) if !t.is_empty() && found.len() < wanted.len() => token = Some(t.to_owned()),
            // A family recorded without its revision's ARN (a state from
            // before outputs held it) is no ARN to find: unsettled.
            _ if arns.iter().any(|a| !a.starts_with("arn:")) => return Ok(Chunk::Partial(found)),
            _ => return Ok(Chunk::Found(found)),
        }
    }
    Ok(Chunk::Partial(found))
}

/// Every ACTIVE revision ARN of a family, oldest first.
async fn active_revisions(p: &AwsProvider, family: &str) -> Result<Vec<String>, ProviderError> {
    let ecs = p.ecs().await;
    let mut arns = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = ecs
            .list_task_definitions()
            .family_prefix(family)
            .status(TaskDefinitionStatus::Active)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| aws_err("ListTaskDefinitions", e))?;
        // The prefix is matched exactly by AWS; keep only this family anyway.
        arns.extend(
            out.task_definition_arns()
                .iter()
                .filter(|a| a.rsplit('/').next().and_then(|fr| fr.rsplit_once(':')).is_some_and(|(f, _)| f == family))
                .cloned(),
        );
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    Ok(arns)
}

async fn deregister(p: &AwsProvider, arn: &str) -> Result<(), ProviderError> {
    match p.ecs().await.deregister_task_definition().task_definition(arn).send().await {
        Ok(_) => Ok(()),
        Err(e) if matches!(code(&e), Some("ClientException" | "ResourceNotFoundException")) => Ok(()),
        Err(e) => Err(aws_err("DeregisterTaskDefinition", e)),
    }
}

fn tag<'a>(tags: &'a [aws_sdk_ecs::types::Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.key() == Some(key)).and_then(|t| t.value())
}

pub(crate) struct TaskDefinitionHandler;

#[async_trait]
impl Handler for TaskDefinitionHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let td = register(p, &req.inputs, &req.stack, &req.urn, "RegisterTaskDefinition").await?;
        let family = td.family().unwrap_or_default().to_owned();
        Ok(CreateResult { id: family, outputs: outputs(&td) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        // The revision this resource last registered; a deregistered one is gone.
        let which = req.outputs.get("arn").as_str().unwrap_or(&req.id).to_owned();
        Ok(describe(p, &which).await?.map(|(td, tags)| {
            let (inputs, outputs) = values(&td, &tags);
            ReadResult { id: req.id, inputs, outputs }
        }))
    }

    /// A revision never changes once registered (ECS edits none; an update
    /// registers the next), so what a single read would describe is what
    /// the state records, but for whether the revision is still active and
    /// its tags. A batch asks one listing of the active revisions for the
    /// first, and takes the second from the refresh's read-ahead; a
    /// revision either leaves unsettled is described on its own.
    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        read_batched(
            reqs,
            iac_core::provider::READ_BATCH,
            |req| Ok((String::new(), recorded_revision(req))),
            |_, arns| async move { active(p, arns).await },
            |req, ()| async move {
                let Some(tags) = p.indexed_tags(&recorded_revision(&req)) else { return self.read(p, req).await };
                let mut inputs = req.inputs;
                if let Value::Map(m) = &mut inputs {
                    m.insert("tags".to_owned(), tags_value(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
                }
                Ok(Some(ReadResult { id: req.id, inputs, outputs: req.outputs }))
            },
            |req| self.read(p, req),
        )
        .await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let old_arn = req.old_outputs.get("arn").as_str().map(str::to_owned);
        if req.changed.iter().all(|k| k == "tags") {
            // Tags alone do not need a new revision.
            if let Some(arn) = &old_arn {
                let (old, new) = (In::new(&req.old_inputs, "").tags(), In::new(&req.inputs, "").tags());
                update_tags(p.ecs().await, arn, &old, &new).await?;
            }
            return Ok(UpdateResult { outputs: req.old_outputs });
        }
        let td = register(p, &req.inputs, &req.stack, &req.urn, "RegisterTaskDefinition").await?;
        // Services still on the old revision keep running it; ECS only stops
        // new tasks from being started from a deregistered revision.
        if let Some(old) = old_arn.filter(|a| Some(a.as_str()) != td.task_definition_arn()) {
            deregister(p, &old).await?;
        }
        Ok(UpdateResult { outputs: outputs(&td) })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        // Deregister every active revision of the family that this resource
        // registered (identity tags), never someone else's.
        let recorded = req.outputs.get("arn").as_str().map(str::to_owned);
        let stack = match &recorded {
            Some(arn) => describe(p, arn).await?.and_then(|(_, tags)| tag(&tags, TAG_STACK).map(str::to_owned)),
            None => None,
        };
        for arn in active_revisions(p, &req.id).await? {
            let ours = if Some(&arn) == recorded.as_ref() {
                true
            } else {
                match describe(p, &arn).await? {
                    Some((_, tags)) => {
                        tag(&tags, TAG_NAME) == Some(req.urn.as_str())
                            && (stack.is_none() || tag(&tags, TAG_STACK) == stack.as_deref())
                    }
                    None => false,
                }
            };
            if ours {
                deregister(p, &arn).await?;
            }
        }
        if let Some(arn) = recorded {
            deregister(p, &arn).await?;
        }
        Ok(())
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(family) = In::new(&req.inputs, "").opt_str("family") else { return Ok(None) };
        // The family is the id: every revision of it is the copy the state
        // records, if it records one.
        if req.is_known(family) {
            return Ok(None);
        }
        for arn in active_revisions(p, family).await?.iter().rev() {
            if let Some((td, tags)) = describe(p, arn).await? {
                if tag(&tags, TAG_STACK) == Some(req.stack.as_str()) && tag(&tags, TAG_NAME) == Some(req.urn.as_str()) {
                    let (inputs, outputs) = values(&td, &tags);
                    return Ok(Some(ReadResult { id: family.to_owned(), inputs, outputs }));
                }
            }
        }
        Ok(None)
    }
}
