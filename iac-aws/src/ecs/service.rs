//! `Service`: keeps a number of tasks of a task definition running.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ecs::types::{AwsVpcConfiguration, DeploymentConfiguration, DeploymentRolloutState, ServiceField};
use iac_core::provider::*;
use iac_core::{props, Checks, Diagnostic, Expr, Graph, Input, Output, Resource, Schema, Urn, Value};
use serde::{Deserialize, Serialize};

use super::{check_strategy, ecs_tags, has_identity, list_expr, ordered_like, strategy_in, tag_pairs, update_tags};
use super::{CapacityProviderStrategy, ClusterArn, ServiceArn};
use crate::batch_read::{read_batched, Chunk};
use crate::error::{aws_err, code};
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{
    drop_computed_when_unset, keep_write_only, map, tags_value, tags_with_identity, unless_known, wait_for, In,
};

pub(crate) const TYPE: &str = "aws:ecs:Service";

/// Schema: the name, cluster, launch type and load balancers are fixed for
/// a service's life; a same-named service cannot coexist in its cluster, so
/// the old one is deleted first. Everything else updates in place
/// (`UpdateService`).
pub static SCHEMA: Schema = Schema {
    replace_on: &["name", "cluster", "launchType", "loadBalancers"],
    delete_before_replace: true,
    taggable: true,
    graph_check: Some(check_load_balancers),
    ..Schema::new(TYPE, "aws")
};

/// Inputs that are not sent to AWS.
const LOCAL_ONLY: &[&str] = &["waitForSteadyState"];
/// Inputs AWS fills in with its own value when they are unset.
const AWS_DEFAULTED: &[&str] = &[
    "launchType",
    "capacityProviderStrategy",
    "deploymentCircuitBreaker",
    "deploymentMinimumHealthyPercent",
    "deploymentMaximumPercent",
    "healthCheckGracePeriodSeconds",
];

/// An ECS service.
///
/// ```no_run
/// use iac_aws::ecs::{Cluster, LaunchType, NetworkConfiguration, Service, TaskDefinition};
/// fn web(s: &iac_core::Stack, cluster: &iac_aws::ecs::ClusterOutputs, task: &iac_aws::ecs::TaskDefinitionOutputs) {
///     s.add(
///         "web",
///         Service::builder()
///             .name("web")
///             .cluster_arn(cluster.id.clone())
///             .task_definition_arn(task.arn.clone())
///             .desired_count(2)
///             .launch_type(LaunchType::Fargate)
///             .network_configuration(
///                 NetworkConfiguration::builder().subnets(["subnet-0abc"]).security_groups(["sg-0abc"]).build(),
///             )
///             .build(),
///     );
/// }
/// ```
#[derive(bon::Builder)]
pub struct Service {
    /// The service's name, unique in its cluster (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// The cluster (replaces when changed).
    #[builder(into)]
    pub cluster_arn: Input<ClusterArn>,
    /// The task definition revision to run (a [`TaskDefinition`](super::TaskDefinition)'s
    /// `arn`); a new revision rolls out in place.
    #[builder(into)]
    pub task_definition_arn: Input<String>,
    /// How many tasks to keep running.
    #[builder(default = 1)]
    pub desired_count: i32,
    /// Where tasks run; leave unset to use a capacity provider strategy (or
    /// the cluster's default one). Replaces when changed.
    pub launch_type: Option<LaunchType>,
    /// How tasks spread over capacity providers (instead of a launch type).
    #[builder(default)]
    pub capacity_provider_strategy: Vec<CapacityProviderStrategy>,
    /// The `awsvpc` network of the tasks (required on Fargate).
    pub network_configuration: Option<NetworkConfiguration>,
    /// Target groups that the tasks register with (replaces when changed).
    #[builder(default)]
    pub load_balancers: Vec<LoadBalancer>,
    /// Roll back a deployment whose tasks keep failing.
    pub deployment_circuit_breaker: Option<DeploymentCircuitBreaker>,
    /// Lower bound of running tasks during a deployment, in percent of the
    /// desired count (ECS default 100).
    pub deployment_minimum_healthy_percent: Option<i32>,
    /// Upper bound of tasks during a deployment, in percent of the desired
    /// count (ECS default 200).
    pub deployment_maximum_percent: Option<i32>,
    /// Seconds to ignore failing load balancer health checks after a task
    /// starts.
    pub health_check_grace_period_seconds: Option<i32>,
    /// Allow `aws ecs execute-command` into the tasks.
    #[builder(default)]
    pub enable_execute_command: bool,
    /// After a create or update, wait until the deployment has finished and
    /// the desired count of tasks is running (bounded by the resource's
    /// timeout), rather than only until the service is active.
    #[builder(default)]
    pub wait_for_steady_state: bool,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Where a service's tasks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LaunchType {
    /// AWS Fargate.
    Fargate,
    /// EC2 container instances of the cluster.
    Ec2,
    /// External (ECS Anywhere) instances.
    External,
}

impl LaunchType {
    fn as_str(self) -> &'static str {
        match self {
            LaunchType::Fargate => "FARGATE",
            LaunchType::Ec2 => "EC2",
            LaunchType::External => "EXTERNAL",
        }
    }
}

/// The `awsvpc` network of a service's tasks.
///
/// ```
/// let net = iac_aws::ecs::NetworkConfiguration::builder()
///     .subnets(["subnet-0aaa", "subnet-0bbb"])
///     .security_groups(["sg-0ccc"])
///     .build();
/// # let _ = net;
/// ```
#[derive(bon::Builder)]
pub struct NetworkConfiguration {
    /// Subnets (ids or references) the tasks' interfaces go in (1–16).
    #[builder(with = |ids: impl IntoIterator<Item = impl Into<Input<String>>>| ids.into_iter().map(Into::into).collect())]
    pub subnets: Vec<Input<String>>,
    /// Security groups of the tasks' interfaces (up to 5).
    #[builder(default, with = |ids: impl IntoIterator<Item = impl Into<Input<String>>>| ids.into_iter().map(Into::into).collect())]
    pub security_groups: Vec<Input<String>>,
    /// Give each task a public IP (needed in public subnets without a NAT
    /// gateway to pull images).
    #[builder(default)]
    pub assign_public_ip: bool,
}

/// A target group a service's tasks register with.
#[derive(bon::Builder)]
pub struct LoadBalancer {
    /// The target group's ARN.
    #[builder(into)]
    pub target_group_arn: Input<String>,
    /// The container that receives the traffic.
    #[builder(into)]
    pub container_name: String,
    /// Its port (as in its port mappings).
    pub container_port: u16,
}

/// The deployment circuit breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentCircuitBreaker {
    /// Stop a deployment whose tasks keep failing to start.
    pub enable: bool,
    /// Then roll back to the last deployment that completed.
    pub rollback: bool,
}

/// Outputs of a [`Service`].
pub struct ServiceOutputs {
    /// Its ARN (the resource's id).
    pub id: Output<ServiceArn>,
    /// Its ARN, as a string.
    pub arn: Output<String>,
    /// Its name.
    pub name: Output<String>,
    /// Its cluster's ARN.
    pub cluster_arn: Output<String>,
}

impl NetworkConfiguration {
    fn to_expr(&self) -> Expr {
        props([
            ("subnets", list_expr(&self.subnets)),
            ("securityGroups", list_expr(&self.security_groups)),
            ("assignPublicIp", Value::from(self.assign_public_ip).into()),
        ])
    }
}

impl Resource for Service {
    type Outputs = ServiceOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        let lbs = if self.load_balancers.is_empty() {
            Expr::Value(Value::Null)
        } else {
            Expr::List(
                self.load_balancers
                    .iter()
                    .map(|l| {
                        props([
                            ("targetGroupArn", l.target_group_arn.to_expr()),
                            ("containerName", Value::from(l.container_name.as_str()).into()),
                            ("containerPort", Value::from(l.container_port).into()),
                        ])
                    })
                    .collect(),
            )
        };
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("cluster", self.cluster_arn.to_expr()),
            ("taskDefinition", self.task_definition_arn.to_expr()),
            ("desiredCount", Value::from(self.desired_count).into()),
            ("launchType", Value::from(self.launch_type.map(LaunchType::as_str)).into()),
            ("capacityProviderStrategy", Value::from_serialize(&self.capacity_provider_strategy).into()),
            (
                "networkConfiguration",
                self.network_configuration.as_ref().map_or(Expr::Value(Value::Null), |n| n.to_expr()),
            ),
            ("loadBalancers", lbs),
            ("deploymentCircuitBreaker", Value::from_serialize(&self.deployment_circuit_breaker).into()),
            ("deploymentMinimumHealthyPercent", Value::from(self.deployment_minimum_healthy_percent).into()),
            ("deploymentMaximumPercent", Value::from(self.deployment_maximum_percent).into()),
            ("healthCheckGracePeriodSeconds", Value::from(self.health_check_grace_period_seconds).into()),
            ("enableExecuteCommand", Value::from(self.enable_execute_command).into()),
            ("waitForSteadyState", Value::from(self.wait_for_steady_state).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> ServiceOutputs {
        ServiceOutputs {
            id: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            name: Output::from_ref(urn, "name"),
            cluster_arn: Output::from_ref(urn, "cluster"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        crate::checks::name(
            c,
            "name",
            &self.name,
            255,
            super::cluster::name_char,
            "letters, digits, hyphens and underscores only",
        );
        c.check(self.desired_count >= 0, "desiredCount", || {
            format!("`{}`: a service's desired count cannot be negative", self.desired_count)
        });
        if let Some(lt) = self.launch_type {
            c.check(self.capacity_provider_strategy.is_empty(), "launchType", || {
                format!(
                    "`{}` and a capacityProviderStrategy are both set; a service takes either a launch type or a capacity provider strategy, not both",
                    lt.as_str()
                )
            });
        }
        check_strategy(c, "capacityProviderStrategy", &self.capacity_provider_strategy);
        let fargate = self.launch_type == Some(LaunchType::Fargate)
            || self.capacity_provider_strategy.iter().any(|s| s.capacity_provider.starts_with("FARGATE"));
        c.check(!fargate || self.network_configuration.is_some(), "networkConfiguration", || {
            "Fargate tasks use the awsvpc network mode: set networkConfiguration (subnets and security groups)".into()
        });
        if let Some(n) = &self.network_configuration {
            c.check((1..=16).contains(&n.subnets.len()), "networkConfiguration.subnets", || {
                format!("{} subnets given; a service takes 1 to 16", n.subnets.len())
            });
            c.check(n.security_groups.len() <= 5, "networkConfiguration.securityGroups", || {
                format!("{} security groups given; a service takes at most 5", n.security_groups.len())
            });
        }
        for l in &self.load_balancers {
            c.check(l.container_port >= 1, "loadBalancers", || {
                format!(
                    "container `{}`: port {} is out of range; ports are 1 to 65535",
                    l.container_name, l.container_port
                )
            });
            c.check(!l.container_name.is_empty(), "loadBalancers", || "a load balancer needs a container name".into());
        }
        if let Some(min) = self.deployment_minimum_healthy_percent {
            c.check((0..=100).contains(&min), "deploymentMinimumHealthyPercent", || {
                format!("`{min}` is outside 0..=100")
            });
        }
        if let Some(max) = self.deployment_maximum_percent {
            c.check(max >= 100, "deploymentMaximumPercent", || format!("`{max}` is below 100"));
        }
        if let Some(g) = self.health_check_grace_period_seconds {
            c.check(g >= 0, "healthCheckGracePeriodSeconds", || format!("`{g}` cannot be negative"));
        }
    }
}

/// A load balancer's container and port must exist in the task definition
/// the service runs, when that task definition is declared in the program.
fn check_load_balancers(g: &Graph, out: &mut Vec<Diagnostic>) {
    for d in g.resources.values().filter(|d| d.type_token == TYPE) {
        let Some(Expr::Ref { urn: td, .. }) = d.input("taskDefinition") else { continue };
        let Some(task) = g.resources.get(td).filter(|t| t.type_token == super::task_definition::TYPE) else {
            continue;
        };
        let Some(Expr::List(containers)) = task.input("containers") else { continue };
        let mut known: Vec<(String, Vec<i64>)> = Vec::new();
        for k in containers {
            let Expr::Map(m) = k else { continue };
            let Some(name) = m.get("name").and_then(Expr::as_value).and_then(|v| v.as_str()) else { continue };
            let ports = m
                .get("portMappings")
                .and_then(Expr::as_value)
                .and_then(|v| v.as_list())
                .map(|l| l.iter().filter_map(|p| p.get("containerPort").as_i64()).collect())
                .unwrap_or_default();
            known.push((name.to_owned(), ports));
        }
        let Some(Expr::List(lbs)) = d.input("loadBalancers") else { continue };
        for lb in lbs {
            let Expr::Map(m) = lb else { continue };
            let name = m.get("containerName").and_then(Expr::as_value).and_then(|v| v.as_str()).unwrap_or_default();
            let port = m.get("containerPort").and_then(Expr::as_value).and_then(|v| v.as_i64()).unwrap_or_default();
            let message = match known.iter().find(|(n, _)| n == name) {
                None => Some(format!(
                    "container `{name}` is not in task definition `{td}` (its containers: {})",
                    known.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
                )),
                Some((_, ports)) if !ports.contains(&port) => {
                    Some(format!("container `{name}` of task definition `{td}` maps no port {port}"))
                }
                _ => None,
            };
            if let Some(message) = message {
                out.push(Diagnostic {
                    urn: d.urn.clone(),
                    type_token: TYPE.into(),
                    field: "loadBalancers".into(),
                    message,
                });
            }
        }
    }
}

// ---- handler ----------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NetworkSpec {
    #[serde(default)]
    subnets: Vec<String>,
    #[serde(default)]
    security_groups: Vec<String>,
    #[serde(default)]
    assign_public_ip: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoadBalancerSpec {
    target_group_arn: String,
    container_name: String,
    container_port: i32,
}

const GONE: &[&str] = &["ServiceNotFoundException", "ServiceNotActiveException", "ClusterNotFoundException"];

fn bad(op: &str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::fatal(op, e.to_string())
}

fn network(i: &In<'_>, op: &str) -> Result<Option<aws_sdk_ecs::types::NetworkConfiguration>, ProviderError> {
    let Some(j) = i.json("networkConfiguration") else { return Ok(None) };
    let n: NetworkSpec =
        serde_json::from_value(j).map_err(|e| bad(op, format!("input `networkConfiguration`: {e}")))?;
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(n.subnets))
        .set_security_groups(Some(n.security_groups).filter(|l| !l.is_empty()))
        .assign_public_ip(if n.assign_public_ip {
            aws_sdk_ecs::types::AssignPublicIp::Enabled
        } else {
            aws_sdk_ecs::types::AssignPublicIp::Disabled
        })
        .build()
        .map_err(|e| bad(op, e))?;
    Ok(Some(aws_sdk_ecs::types::NetworkConfiguration::builder().awsvpc_configuration(vpc).build()))
}

/// The deployment configuration from the inputs, ECS's defaults for what is
/// unset; `None` when nothing is set.
fn deployment(i: &In<'_>, always: bool) -> Option<DeploymentConfiguration> {
    let breaker: Option<DeploymentCircuitBreaker> =
        i.json("deploymentCircuitBreaker").and_then(|j| serde_json::from_value(j).ok());
    let min = i.opt_i32("deploymentMinimumHealthyPercent");
    let max = i.opt_i32("deploymentMaximumPercent");
    if !always && breaker.is_none() && min.is_none() && max.is_none() {
        return None;
    }
    let breaker = breaker.unwrap_or(DeploymentCircuitBreaker { enable: false, rollback: false });
    Some(
        DeploymentConfiguration::builder()
            .deployment_circuit_breaker(
                aws_sdk_ecs::types::DeploymentCircuitBreaker::builder()
                    .enable(breaker.enable)
                    .rollback(breaker.rollback)
                    .build(),
            )
            .minimum_healthy_percent(min.unwrap_or(100))
            .maximum_percent(max.unwrap_or(200))
            .build(),
    )
}

fn strategy(i: &In<'_>) -> Result<Vec<aws_sdk_ecs::types::CapacityProviderStrategyItem>, ProviderError> {
    strategy_in(i.json("capacityProviderStrategy"))?.iter().map(CapacityProviderStrategy::to_sdk).collect()
}

/// The cluster a recorded service lives in (its ARN or name).
fn cluster_of(outputs: &Value, inputs: &Value) -> Option<String> {
    outputs.get("cluster").as_str().or_else(|| inputs.get("cluster").as_str()).map(str::to_owned)
}

async fn describe(
    p: &AwsProvider,
    cluster: &str,
    service: &str,
) -> Result<Option<aws_sdk_ecs::types::Service>, ProviderError> {
    let out =
        p.ecs().await.describe_services().cluster(cluster).services(service).include(ServiceField::Tags).send().await;
    match out {
        Ok(o) => Ok(o.services().first().filter(|s| s.status() != Some("INACTIVE")).cloned()),
        Err(e) if GONE.contains(&code(&e).unwrap_or_default()) => Ok(None),
        Err(e) => Err(aws_err("DescribeServices", e)),
    }
}

/// Up to ten services of one cluster in one call (`DescribeServices`'s
/// limit); a missing service is reported as a failure, not an error. Each
/// is indexed by its ARN and its name (an id is either).
async fn describe_many(
    p: &AwsProvider,
    cluster: &str,
    services: Vec<String>,
) -> Result<Chunk<aws_sdk_ecs::types::Service>, ProviderError> {
    let out = p
        .ecs()
        .await
        .describe_services()
        .cluster(cluster)
        .set_services(Some(services))
        .include(ServiceField::Tags)
        .send()
        .await;
    let out = match out {
        Ok(o) => o,
        // The cluster is gone, and every service in it.
        Err(e) if code(&e) == Some("ClusterNotFoundException") => return Ok(Chunk::Found(HashMap::new())),
        // A missing service is a failure, not an error; should AWS refuse
        // the call for one, the chunk is read one by one.
        Err(e) if GONE.contains(&code(&e).unwrap_or_default()) => return Ok(Chunk::one_is_gone()),
        Err(e) => return Err(aws_err("DescribeServices", e)),
    };
    let mut found = HashMap::new();
    for s in out.services().iter().filter(|s| s.status() != Some("INACTIVE")) {
        for key in [s.service_arn(), s.service_name()].into_iter().flatten() {
            found.insert(key.to_owned(), s.clone());
        }
    }
    Ok(Chunk::Found(found))
}

fn service_read(req: ReadRequest, s: &aws_sdk_ecs::types::Service) -> ReadResult {
    let (inputs, outputs) = values(s, &req.inputs);
    ReadResult { id: req.id, inputs, outputs }
}

fn values(s: &aws_sdk_ecs::types::Service, recorded: &Value) -> (Value, Value) {
    let recorded_cluster = recorded.get("cluster").as_str().unwrap_or_default();
    let cluster_arn = s.cluster_arn().unwrap_or_default();
    // A cluster or task definition given by name reads back by name.
    let cluster = if recorded_cluster.starts_with("arn:") || recorded_cluster.is_empty() {
        cluster_arn
    } else {
        super::arn_name(cluster_arn)
    };
    let td_arn = s.task_definition().unwrap_or_default();
    let recorded_td = recorded.get("taskDefinition").as_str().unwrap_or_default();
    let td = if !recorded_td.is_empty() && !recorded_td.starts_with("arn:") {
        let fam_rev = super::arn_name(td_arn);
        if fam_rev == recorded_td || fam_rev.split(':').next() == Some(recorded_td) {
            recorded_td
        } else {
            fam_rev
        }
    } else {
        td_arn
    };
    let strategy: Vec<Value> = s.capacity_provider_strategy().iter().map(CapacityProviderStrategy::from_sdk).collect();
    // With a strategy, AWS reports no launch type (an emulator may report its default).
    let launch_type = if strategy.is_empty() { Value::from(s.launch_type().map(|l| l.as_str())) } else { Value::Null };
    let net = s.network_configuration().and_then(|n| n.awsvpc_configuration()).map_or(Value::Null, |v| {
        let rec = recorded.get("networkConfiguration");
        map([
            ("subnets", ordered_like(v.subnets().to_vec(), rec.get("subnets"))),
            ("securityGroups", ordered_like(v.security_groups().to_vec(), rec.get("securityGroups"))),
            ("assignPublicIp", Value::from(v.assign_public_ip() == Some(&aws_sdk_ecs::types::AssignPublicIp::Enabled))),
        ])
    });
    let lbs: Vec<Value> = s
        .load_balancers()
        .iter()
        .map(|l| {
            map([
                ("targetGroupArn", Value::from(l.target_group_arn())),
                ("containerName", Value::from(l.container_name())),
                ("containerPort", Value::from(l.container_port())),
            ])
        })
        .collect();
    let dc = s.deployment_configuration();
    let breaker = dc.and_then(|d| d.deployment_circuit_breaker()).map_or(Value::Null, |b| {
        Value::from_serialize(&DeploymentCircuitBreaker { enable: b.enable(), rollback: b.rollback() })
    });
    let mut inputs = map([
        ("name", Value::from(s.service_name())),
        ("cluster", Value::from(cluster)),
        ("taskDefinition", Value::from(td)),
        ("desiredCount", Value::from(s.desired_count())),
        ("launchType", launch_type),
        ("capacityProviderStrategy", Value::List(strategy)),
        ("networkConfiguration", net),
        ("loadBalancers", Value::List(lbs)),
        ("deploymentCircuitBreaker", breaker),
        ("deploymentMinimumHealthyPercent", Value::from(dc.and_then(|d| d.minimum_healthy_percent()))),
        ("deploymentMaximumPercent", Value::from(dc.and_then(|d| d.maximum_percent()))),
        ("healthCheckGracePeriodSeconds", Value::from(s.health_check_grace_period_seconds())),
        ("enableExecuteCommand", Value::from(s.enable_execute_command())),
        ("tags", tags_value(tag_pairs(s.tags()))),
    ]);
    drop_computed_when_unset(&mut inputs, recorded, AWS_DEFAULTED);
    keep_write_only(&mut inputs, recorded, LOCAL_ONLY);
    let outputs = map([
        ("arn", Value::from(s.service_arn())),
        ("name", Value::from(s.service_name())),
        ("cluster", Value::from(cluster_arn)),
    ]);
    (inputs, outputs)
}

/// Waits until the service is ACTIVE, and with `steady` until its
/// deployment has finished with the desired count running.
async fn wait_ready(
    p: &AwsProvider,
    cluster: &str,
    arn: &str,
    steady: bool,
    timeout: Option<Duration>,
) -> Result<aws_sdk_ecs::types::Service, ProviderError> {
    let what = if steady { "steady" } else { "active" };
    let default = Duration::from_secs(if steady { 1800 } else { 600 });
    wait_for(&format!("ECS service {arn} {what}"), timeout, default, || async {
        let Some(s) = describe(p, cluster, arn).await? else { return Ok(None) };
        if s.status() != Some("ACTIVE") {
            return Ok(None);
        }
        if !steady {
            return Ok(Some(s));
        }
        let primary = s.deployments().iter().find(|d| d.status() == Some("PRIMARY"));
        if let Some(d) = primary.filter(|d| d.rollout_state() == Some(&DeploymentRolloutState::Failed)) {
            return Err(ProviderError::fatal(
                "UpdateService",
                format!(
                    "ECS service {arn}: deployment {} failed: {}",
                    d.id().unwrap_or("?"),
                    d.rollout_state_reason().unwrap_or("no reason given")
                ),
            ));
        }
        let done = s.deployments().len() == 1 && s.running_count() == s.desired_count();
        Ok(done.then_some(s))
    })
    .await
}

pub(crate) struct ServiceHandler;

#[async_trait]
impl Handler for ServiceHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateService";
        let i = In::new(&req.inputs, op);
        let cluster = i.str("cluster")?;
        let lbs: Vec<LoadBalancerSpec> = match i.json("loadBalancers") {
            Some(j) => serde_json::from_value(j).map_err(|e| bad(op, format!("input `loadBalancers`: {e}")))?,
            None => Vec::new(),
        };
        let strategy = strategy(&i)?;
        let out = p
            .ecs()
            .await
            .create_service()
            .cluster(cluster)
            .service_name(i.str("name")?)
            .task_definition(i.str("taskDefinition")?)
            .desired_count(i.opt_i32("desiredCount").unwrap_or(1))
            .set_launch_type(i.opt_str("launchType").map(aws_sdk_ecs::types::LaunchType::from))
            .set_capacity_provider_strategy(Some(strategy).filter(|s| !s.is_empty()))
            .set_network_configuration(network(&i, op)?)
            .set_load_balancers(
                Some(
                    lbs.into_iter()
                        .map(|l| {
                            aws_sdk_ecs::types::LoadBalancer::builder()
                                .target_group_arn(l.target_group_arn)
                                .container_name(l.container_name)
                                .container_port(l.container_port)
                                .build()
                        })
                        .collect::<Vec<_>>(),
                )
                .filter(|l| !l.is_empty()),
            )
            .set_deployment_configuration(deployment(&i, false))
            .set_health_check_grace_period_seconds(i.opt_i32("healthCheckGracePeriodSeconds"))
            .enable_execute_command(i.bool("enableExecuteCommand"))
            .set_tags(Some(ecs_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .client_token(&req.idempotency_token)
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        let arn = out
            .service()
            .and_then(|s| s.service_arn())
            .ok_or_else(|| ProviderError::fatal(op, "no service ARN returned"))?
            .to_owned();
        let s = wait_ready(p, cluster, &arn, i.bool("waitForSteadyState"), req.timeout).await?;
        Ok(CreateResult { id: arn, outputs: values(&s, &req.inputs).1 })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(cluster) = cluster_of(&req.outputs, &req.inputs) else { return Ok(None) };
        Ok(describe(p, &cluster, &req.id).await?.map(|s| service_read(req, &s)))
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        // Per cluster, as the single read; a service of no cluster is gone
        // (the group no describe answers).
        read_batched(
            reqs,
            10,
            |req| Ok((cluster_of(&req.outputs, &req.inputs).unwrap_or_default(), req.id.clone())),
            |cluster, services| async move {
                if cluster.is_empty() {
                    return Ok(Chunk::Found(HashMap::new()));
                }
                describe_many(p, &cluster, services).await
            },
            |req, s| async move { Ok(Some(service_read(req, &s))) },
            |req| self.read(p, req),
        )
        .await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let op = "UpdateService";
        let i = In::new(&req.inputs, op);
        let cluster = cluster_of(&req.old_outputs, &req.old_inputs)
            .ok_or_else(|| ProviderError::fatal(op, "the service's cluster is not recorded"))?;
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        let ecs = p.ecs().await;
        let service_keys = req.changed.iter().any(|k| k != "tags" && !LOCAL_ONLY.contains(&k.as_str()));
        if service_keys {
            let mut u = ecs.update_service().cluster(&cluster).service(&req.id);
            if changed("desiredCount") {
                u = u.desired_count(i.opt_i32("desiredCount").unwrap_or(1));
            }
            if changed("taskDefinition") {
                u = u.task_definition(i.str("taskDefinition")?);
            }
            if changed("networkConfiguration") {
                u = u.set_network_configuration(network(&i, op)?);
            }
            if changed("capacityProviderStrategy") {
                // A new strategy only applies to tasks of a new deployment.
                u = u.set_capacity_provider_strategy(Some(strategy(&i)?)).force_new_deployment(true);
            }
            if ["deploymentCircuitBreaker", "deploymentMinimumHealthyPercent", "deploymentMaximumPercent"]
                .iter()
                .any(|k| changed(k))
            {
                u = u.set_deployment_configuration(deployment(&i, true));
            }
            if changed("healthCheckGracePeriodSeconds") {
                u = u.health_check_grace_period_seconds(i.opt_i32("healthCheckGracePeriodSeconds").unwrap_or(0));
            }
            if changed("enableExecuteCommand") {
                u = u.enable_execute_command(i.bool("enableExecuteCommand"));
            }
            u.send().await.map_err(|e| aws_err(op, e))?;
        }
        if changed("tags") {
            update_tags(ecs, &req.id, &In::new(&req.old_inputs, "").tags(), &i.tags()).await?;
        }
        let s = wait_ready(p, &cluster, &req.id, i.bool("waitForSteadyState") && service_keys, req.timeout).await?;
        Ok(UpdateResult { outputs: values(&s, &req.inputs).1 })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let Some(cluster) = cluster_of(&req.outputs, &req.inputs) else { return Ok(()) };
        let ecs = p.ecs().await;
        // Scale to zero first so the tasks drain, then delete.
        match ecs.update_service().cluster(&cluster).service(&req.id).desired_count(0).send().await {
            Ok(_) => {}
            Err(e) if GONE.contains(&code(&e).unwrap_or_default()) => return Ok(()),
            Err(e) => return Err(aws_err("UpdateService", e)),
        }
        match ecs.delete_service().cluster(&cluster).service(&req.id).force(true).send().await {
            Ok(_) => {}
            Err(e) if GONE.contains(&code(&e).unwrap_or_default()) => return Ok(()),
            Err(e) => return Err(aws_err("DeleteService", e)),
        }
        // DRAINING until its tasks have stopped, then INACTIVE.
        wait_for(&format!("ECS service {} deleted", req.id), req.timeout, Duration::from_secs(1200), || async {
            Ok(describe(p, &cluster, &req.id).await?.is_none().then_some(()))
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let i = In::new(&req.inputs, "");
        let (Some(cluster), Some(name)) = (i.opt_str("cluster"), i.opt_str("name")) else { return Ok(None) };
        let Some(s) = describe(p, cluster, name).await? else { return Ok(None) };
        if !has_identity(s.tags(), &req.stack, req.urn.as_str()) {
            return Ok(None);
        }
        let Some(arn) = s.service_arn().map(str::to_owned) else { return Ok(None) };
        let (inputs, outputs) = values(&s, &req.inputs);
        Ok(unless_known(&req, Some(ReadResult { id: arn, inputs, outputs })))
    }
}
