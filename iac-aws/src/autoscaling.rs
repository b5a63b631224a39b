//! Application Auto Scaling: a scalable target (an ECS service's desired
//! count, say) and target-tracking policies that keep a metric near a value.
//!
//! Both are identified by what they scale (namespace, resource id and
//! dimension), and AWS's register/put calls are upserts, so a run that died
//! after creating one simply registers it again: there is nothing to adopt.

use std::time::Duration;

use async_trait::async_trait;
use std::collections::HashMap;

use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ScalableTarget as SdkTarget,
    ScalingPolicy as SdkPolicy, ServiceNamespace, TargetTrackingScalingPolicyConfiguration,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use crate::batch_read::{read_batched, Chunk};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{map, opt_expr, unless_known, wait_for, In};

pub(crate) const TARGET: &str = "aws:autoscaling:ScalableTarget";
pub(crate) const POLICY: &str = "aws:autoscaling:TargetTrackingPolicy";

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    match type_token {
        TARGET => Some(&TargetHandler),
        POLICY => Some(&PolicyHandler),
        _ => None,
    }
}

/// Schema of [`ScalableTarget`]: what it scales is its identity; the
/// capacity bounds change in place.
pub static TARGET_SCHEMA: Schema = Schema {
    replace_on: &["serviceNamespace", "resourceId", "scalableDimension"],
    delete_before_replace: true,
    ..Schema::new(TARGET, "aws")
};

/// Schema of [`TargetTrackingPolicy`]: its name and target are its identity.
pub static POLICY_SCHEMA: Schema = Schema {
    replace_on: &["name", "serviceNamespace", "resourceId", "scalableDimension"],
    delete_before_replace: true,
    ..Schema::new(POLICY, "aws")
};

const ECS: &str = "ecs";
const ECS_DESIRED_COUNT: &str = "ecs:service:DesiredCount";

/// The capacity bounds of something Application Auto Scaling scales.
///
/// ```no_run
/// use iac_aws::autoscaling::ScalableTarget;
/// fn scaling(s: &iac_core::Stack, cluster: &iac_aws::ecs::ClusterOutputs, svc: &iac_aws::ecs::ServiceOutputs) {
///     s.add("api-scaling", ScalableTarget::ecs_service(&cluster.name, &svc.name, 2, 10));
/// }
/// ```
#[derive(bon::Builder)]
pub struct ScalableTarget {
    /// The service namespace (`ecs`, `dynamodb`, …).
    #[builder(into)]
    pub service_namespace: String,
    /// What is scaled (`service/<cluster>/<service>` for ECS).
    #[builder(into)]
    pub resource_id: Input<String>,
    /// Which of its dimensions (`ecs:service:DesiredCount`).
    #[builder(into)]
    pub scalable_dimension: String,
    /// The least capacity scaling may set.
    pub min_capacity: i32,
    /// The most capacity scaling may set.
    pub max_capacity: i32,
}

impl ScalableTarget {
    /// An ECS service's desired count, between `min` and `max` tasks.
    pub fn ecs_service(cluster_name: &Output<String>, service_name: &Output<String>, min: i32, max: i32) -> Self {
        ScalableTarget {
            service_namespace: ECS.into(),
            resource_id: ecs_resource_id(cluster_name, service_name).into(),
            scalable_dimension: ECS_DESIRED_COUNT.into(),
            min_capacity: min,
            max_capacity: max,
        }
    }
}

/// `service/<cluster>/<service>`, the resource id of an ECS service.
fn ecs_resource_id(cluster: &Output<String>, service: &Output<String>) -> Output<String> {
    cluster.zip(service).map(|(c, s)| format!("service/{c}/{s}"))
}

/// Outputs of a [`ScalableTarget`].
pub struct ScalableTargetOutputs {
    /// Its resource id (the resource's id).
    pub id: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
    /// The service namespace (`ecs`), for policies.
    pub service_namespace: Output<String>,
    /// The scaled resource's id.
    pub resource_id: Output<String>,
    /// The scaled dimension.
    pub scalable_dimension: Output<String>,
}

impl Resource for ScalableTarget {
    type Outputs = ScalableTargetOutputs;
    fn schema() -> &'static Schema {
        &TARGET_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("serviceNamespace", Value::from(self.service_namespace.as_str()).into()),
            ("resourceId", self.resource_id.to_expr()),
            ("scalableDimension", Value::from(self.scalable_dimension.as_str()).into()),
            ("minCapacity", Value::from(i64::from(self.min_capacity)).into()),
            ("maxCapacity", Value::from(i64::from(self.max_capacity)).into()),
        ])
    }
    fn outputs(urn: &Urn) -> ScalableTargetOutputs {
        ScalableTargetOutputs {
            id: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            service_namespace: Output::from_ref(urn, "serviceNamespace"),
            resource_id: Output::from_ref(urn, "resourceId"),
            scalable_dimension: Output::from_ref(urn, "scalableDimension"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        c.check(self.min_capacity >= 0, "minCapacity", || format!("{}: must not be negative", self.min_capacity));
        c.check(self.min_capacity <= self.max_capacity, "maxCapacity", || {
            format!("{} is below minCapacity {}", self.max_capacity, self.min_capacity)
        });
        c.check(ServiceNamespace::values().contains(&self.service_namespace.as_str()), "serviceNamespace", || {
            format!("`{}` is not a namespace Application Auto Scaling knows", self.service_namespace)
        });
        c.check(ScalableDimension::values().contains(&self.scalable_dimension.as_str()), "scalableDimension", || {
            format!("`{}` is not a scalable dimension", self.scalable_dimension)
        });
        if let Some(id) = self.resource_id.value() {
            if self.service_namespace == ECS {
                c.check(id.starts_with("service/") && id.split('/').count() == 3, "resourceId", || {
                    format!("`{id}`: an ECS service is `service/<cluster>/<service>`")
                });
            }
        }
    }
}

/// The metric a target-tracking policy holds near its target value.
#[derive(Clone, Debug)]
pub enum TrackedMetric {
    /// An ECS service's average CPU utilisation (percent).
    EcsCpu,
    /// An ECS service's average memory utilisation (percent).
    EcsMemory,
    /// Requests per target of an ALB target group; the label is
    /// `app/<lb>/<id>/targetgroup/<tg>/<id>` (the load balancer's and target
    /// group's ARN suffixes joined by `/`).
    AlbRequestsPerTarget(Input<String>),
}

impl TrackedMetric {
    fn metric_type(&self) -> &'static str {
        match self {
            TrackedMetric::EcsCpu => "ECSServiceAverageCPUUtilization",
            TrackedMetric::EcsMemory => "ECSServiceAverageMemoryUtilization",
            TrackedMetric::AlbRequestsPerTarget(_) => "ALBRequestCountPerTarget",
        }
    }
}

/// A target-tracking scaling policy.
///
/// ```no_run
/// use iac_aws::autoscaling::{ScalableTarget, TargetTrackingPolicy, TrackedMetric};
/// fn scaling(s: &iac_core::Stack, target: &iac_aws::autoscaling::ScalableTargetOutputs) {
///     s.add(
///         "api-cpu",
///         TargetTrackingPolicy::builder()
///             .name("api-cpu")
///             .target(target)
///             .metric(TrackedMetric::EcsCpu)
///             .target_value(60.0)
///             .scale_in_cooldown(300)
///             .build(),
///     );
/// }
/// ```
#[derive(bon::Builder)]
pub struct TargetTrackingPolicy {
    /// The policy's name (unique per scalable target).
    #[builder(into)]
    pub name: String,
    /// The scalable target it scales.
    #[builder(with = |t: &ScalableTargetOutputs| (t.service_namespace.clone(), t.resource_id.clone(), t.scalable_dimension.clone()))]
    pub target: (Output<String>, Output<String>, Output<String>),
    /// What to track.
    pub metric: TrackedMetric,
    /// The value to hold the metric near.
    pub target_value: f64,
    /// Seconds after a scale-in before another.
    pub scale_in_cooldown: Option<i32>,
    /// Seconds after a scale-out before another.
    pub scale_out_cooldown: Option<i32>,
    /// Only ever scale out.
    #[builder(default)]
    pub disable_scale_in: bool,
}

/// Outputs of a [`TargetTrackingPolicy`].
pub struct TargetTrackingPolicyOutputs {
    /// Its ARN (the resource's id).
    pub id: Output<String>,
    /// The CloudWatch alarms AWS made for it.
    pub alarm_arns: Output<Vec<String>>,
}

impl Resource for TargetTrackingPolicy {
    type Outputs = TargetTrackingPolicyOutputs;
    fn schema() -> &'static Schema {
        &POLICY_SCHEMA
    }
    fn inputs(&self) -> Expr {
        let label = match &self.metric {
            TrackedMetric::AlbRequestsPerTarget(l) => Some(l),
            _ => None,
        };
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("serviceNamespace", self.target.0.expr().clone()),
            ("resourceId", self.target.1.expr().clone()),
            ("scalableDimension", self.target.2.expr().clone()),
            ("metricType", Value::from(self.metric.metric_type()).into()),
            ("resourceLabel", opt_expr(label)),
            ("targetValue", Value::Float(self.target_value).into()),
            ("scaleInCooldown", Value::from(self.scale_in_cooldown.map(i64::from)).into()),
            ("scaleOutCooldown", Value::from(self.scale_out_cooldown.map(i64::from)).into()),
            ("disableScaleIn", Value::from(self.disable_scale_in).into()),
        ])
    }
    fn outputs(urn: &Urn) -> TargetTrackingPolicyOutputs {
        TargetTrackingPolicyOutputs { id: Output::from_ref(urn, "id"), alarm_arns: Output::from_ref(urn, "alarmArns") }
    }
    fn validate(&self, c: &mut Checks) {
        crate::checks::name(c, "name", &self.name, 256, |ch| ch != ':' && ch != '/' && ch != '|', "no `:`, `/` or `|`");
        let percent = matches!(self.metric, TrackedMetric::EcsCpu | TrackedMetric::EcsMemory);
        c.check(self.target_value > 0.0 && (!percent || self.target_value <= 100.0), "targetValue", || {
            format!("{}: {}", self.target_value, if percent { "a percentage in (0, 100]" } else { "must be positive" })
        });
        for (v, f) in [(self.scale_in_cooldown, "scaleInCooldown"), (self.scale_out_cooldown, "scaleOutCooldown")] {
            if let Some(v) = v {
                c.check(v >= 0, f, || format!("{v} s: must not be negative"));
            }
        }
    }
}

fn target_key(i: In<'_>) -> Result<(ServiceNamespace, String, ScalableDimension), ProviderError> {
    Ok((
        ServiceNamespace::from(i.str("serviceNamespace")?),
        i.str("resourceId")?.to_owned(),
        ScalableDimension::from(i.str("scalableDimension")?),
    ))
}

async fn describe_target(p: &AwsProvider, recorded: &Value, id: &str) -> Result<Option<(Value, Value)>, ProviderError> {
    let i = In::new(recorded, "DescribeScalableTargets");
    let (ns, _, dim) = target_key(i)?;
    let out = p
        .autoscaling()
        .await
        .describe_scalable_targets()
        .service_namespace(ns)
        .resource_ids(id)
        .scalable_dimension(dim)
        .send()
        .await
        .map_err(|e| aws_err("DescribeScalableTargets", e))?;
    Ok(out.scalable_targets().first().map(target_values))
}

fn target_values(t: &SdkTarget) -> (Value, Value) {
    let inputs = map([
        ("serviceNamespace", Value::from(t.service_namespace().as_str())),
        ("resourceId", Value::from(t.resource_id())),
        ("scalableDimension", Value::from(t.scalable_dimension().as_str())),
        ("minCapacity", Value::from(i64::from(t.min_capacity()))),
        ("maxCapacity", Value::from(i64::from(t.max_capacity()))),
    ]);
    let outputs = map([
        ("arn", Value::from(t.scalable_target_arn())),
        ("serviceNamespace", Value::from(t.service_namespace().as_str())),
        ("resourceId", Value::from(t.resource_id())),
        ("scalableDimension", Value::from(t.scalable_dimension().as_str())),
    ]);
    (inputs, outputs)
}

/// The most resource ids, or policy names, one describe takes.
const PER_CALL: usize = 50;

/// A batched read's group: what a describe is scoped by, the namespace and
/// (for targets) the dimension, joined by a newline (in neither).
fn scope(ns: &ServiceNamespace, dim: Option<&ScalableDimension>) -> String {
    match dim {
        Some(d) => format!("{}\n{}", ns.as_str(), d.as_str()),
        None => ns.as_str().to_owned(),
    }
}

/// Many targets of one namespace and dimension in one call, by resource id
/// (an id that is not registered is not answered).
async fn describe_targets(p: &AwsProvider, group: &str, ids: Vec<String>) -> Result<Chunk<SdkTarget>, ProviderError> {
    let (ns, dim) = group.split_once('\n').unwrap_or((group, ""));
    let targets: Vec<SdkTarget> = p
        .autoscaling()
        .await
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::from(ns))
        .scalable_dimension(ScalableDimension::from(dim))
        .set_resource_ids(Some(ids))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| aws_err("DescribeScalableTargets", e))?;
    Ok(crate::batch_read::by(targets, |t| Some(t.resource_id())))
}

async fn register(p: &AwsProvider, inputs: &Value, op: &str) -> Result<String, ProviderError> {
    let i = In::new(inputs, op);
    let (ns, id, dim) = target_key(i)?;
    p.autoscaling()
        .await
        .register_scalable_target()
        .service_namespace(ns)
        .resource_id(&id)
        .scalable_dimension(dim)
        .set_min_capacity(i.opt_i32("minCapacity"))
        .set_max_capacity(i.opt_i32("maxCapacity"))
        .send()
        .await
        .map_err(|e| aws_err("RegisterScalableTarget", e))?;
    Ok(id)
}

/// Waits for a registration to be visible (Application Auto Scaling is
/// eventually consistent) and returns its outputs.
async fn registered(
    p: &AwsProvider,
    inputs: &Value,
    id: &str,
    timeout: Option<Duration>,
) -> Result<Value, ProviderError> {
    wait_for(&format!("scalable target {id}"), timeout, Duration::from_secs(120), || async {
        Ok(describe_target(p, inputs, id).await?.map(|(_, o)| o))
    })
    .await
}

pub(crate) struct TargetHandler;

#[async_trait]
impl Handler for TargetHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let id = register(p, &req.inputs, "RegisterScalableTarget").await?;
        let outputs = registered(p, &req.inputs, &id, req.timeout).await?;
        Ok(CreateResult { id, outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe_target(p, &req.inputs, &req.id).await?.map(|(inputs, outputs)| ReadResult {
            id: req.id,
            inputs,
            outputs,
        }))
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        // By resource id, per namespace and dimension, as the single read.
        read_batched(
            reqs,
            PER_CALL,
            |req| {
                let (ns, _, dim) = target_key(In::new(&req.inputs, "DescribeScalableTargets"))?;
                Ok((scope(&ns, Some(&dim)), req.id.clone()))
            },
            |group, ids| async move { describe_targets(p, &group, ids).await },
            |req, t| async move {
                let (inputs, outputs) = target_values(&t);
                Ok(Some(ReadResult { id: req.id, inputs, outputs }))
            },
            |req| self.read(p, req),
        )
        .await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        register(p, &req.inputs, "RegisterScalableTarget").await?;
        Ok(UpdateResult { outputs: registered(p, &req.inputs, &req.id, req.timeout).await? })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let (ns, _, dim) = target_key(In::new(&req.inputs, "DeregisterScalableTarget"))?;
        match p
            .autoscaling()
            .await
            .deregister_scalable_target()
            .service_namespace(ns)
            .resource_id(&req.id)
            .scalable_dimension(dim)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ObjectNotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("DeregisterScalableTarget", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(id) = In::new(&req.inputs, "").opt_str("resourceId") else { return Ok(None) };
        let found = describe_target(p, &req.inputs, id).await?.map(|(inputs, outputs)| ReadResult {
            id: id.to_owned(),
            inputs,
            outputs,
        });
        Ok(unless_known(&req, found))
    }
}

async fn describe_policy(p: &AwsProvider, recorded: &Value) -> Result<Option<(String, Value, Value)>, ProviderError> {
    let i = In::new(recorded, "DescribeScalingPolicies");
    let (ns, id, dim) = target_key(i)?;
    let name = i.str("name")?;
    let out = p
        .autoscaling()
        .await
        .describe_scaling_policies()
        .service_namespace(ns)
        .resource_id(&id)
        .scalable_dimension(dim)
        .policy_names(name)
        .send()
        .await
        .map_err(|e| aws_err("DescribeScalingPolicies", e))?;
    // Filter here too: moto ignores `PolicyNames`.
    Ok(out.scaling_policies().iter().find(|sp| sp.policy_name() == name).map(policy_values))
}

fn policy_values(sp: &SdkPolicy) -> (String, Value, Value) {
    let c = sp.target_tracking_scaling_policy_configuration();
    let metric = c.and_then(|c| c.predefined_metric_specification());
    let inputs = map([
        ("name", Value::from(sp.policy_name())),
        ("serviceNamespace", Value::from(sp.service_namespace().as_str())),
        ("resourceId", Value::from(sp.resource_id())),
        ("scalableDimension", Value::from(sp.scalable_dimension().as_str())),
        ("metricType", Value::from(metric.map(|m| m.predefined_metric_type().as_str()))),
        ("resourceLabel", Value::from(metric.and_then(|m| m.resource_label()))),
        ("targetValue", Value::Float(c.map_or(0.0, |c| c.target_value()))),
        ("scaleInCooldown", Value::from(c.and_then(|c| c.scale_in_cooldown()).map(i64::from))),
        ("scaleOutCooldown", Value::from(c.and_then(|c| c.scale_out_cooldown()).map(i64::from))),
        ("disableScaleIn", Value::from(c.and_then(|c| c.disable_scale_in()).unwrap_or(false))),
    ]);
    let alarms: Vec<String> = sp.alarms().iter().map(|a| a.alarm_arn().to_owned()).collect();
    let outputs = map([("alarmArns", Value::from(alarms))]);
    (sp.policy_arn().to_owned(), inputs, outputs)
}

/// What a policy is known by in a batch: a name is unique per scaled
/// resource and dimension only, so all three, newline-joined.
fn policy_key(resource: &str, dim: &str, name: &str) -> String {
    format!("{resource}\n{dim}\n{name}")
}

/// Many policies of one namespace in one call, by name (at most
/// [`PER_CALL`] names; a chunk holds at most that many keys), indexed by
/// [`policy_key`]: names repeat across resources, so the call may answer
/// policies no key asks for, which are dropped.
async fn describe_policies(p: &AwsProvider, ns: &str, keys: Vec<String>) -> Result<Chunk<SdkPolicy>, ProviderError> {
    let mut names: Vec<String> = keys.iter().filter_map(|k| k.rsplit('\n').next().map(str::to_owned)).collect();
    names.sort();
    names.dedup();
    let policies: Vec<SdkPolicy> = p
        .autoscaling()
        .await
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::from(ns))
        .set_policy_names(Some(names))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| aws_err("DescribeScalingPolicies", e))?;
    let found: HashMap<String, SdkPolicy> = policies
        .into_iter()
        .map(|sp| (policy_key(sp.resource_id(), sp.scalable_dimension().as_str(), sp.policy_name()), sp))
        .collect();
    Ok(Chunk::Found(found))
}

async fn put_policy(p: &AwsProvider, inputs: &Value) -> Result<(String, Value), ProviderError> {
    let op = "PutScalingPolicy";
    let i = In::new(inputs, op);
    let (ns, id, dim) = target_key(i)?;
    let metric = PredefinedMetricSpecification::builder()
        .predefined_metric_type(MetricType::from(i.str("metricType")?))
        .set_resource_label(i.opt_str("resourceLabel").map(str::to_owned))
        .build()
        .map_err(|e| ProviderError::fatal(op, e.to_string()))?;
    let target = match i.value("targetValue") {
        Value::Float(f) => *f,
        Value::Int(n) => *n as f64,
        _ => return Err(ProviderError::fatal(op, "input `targetValue` is missing")),
    };
    let config = TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(target)
        .predefined_metric_specification(metric)
        .set_scale_in_cooldown(i.opt_i32("scaleInCooldown"))
        .set_scale_out_cooldown(i.opt_i32("scaleOutCooldown"))
        .disable_scale_in(i.bool("disableScaleIn"))
        .build()
        .map_err(|e| ProviderError::fatal(op, e.to_string()))?;
    let out = p
        .autoscaling()
        .await
        .put_scaling_policy()
        .policy_name(i.str("name")?)
        .service_namespace(ns)
        .resource_id(id)
        .scalable_dimension(dim)
        .policy_type(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(config)
        .send()
        .await
        .map_err(|e| aws_err(op, e))?;
    let alarms: Vec<String> = out.alarms().iter().map(|a| a.alarm_arn().to_owned()).collect();
    Ok((out.policy_arn().to_owned(), map([("alarmArns", Value::from(alarms))])))
}

pub(crate) struct PolicyHandler;

#[async_trait]
impl Handler for PolicyHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let (id, outputs) = put_policy(p, &req.inputs).await?;
        Ok(CreateResult { id, outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe_policy(p, &req.inputs).await?.map(|(_, inputs, outputs)| ReadResult {
            id: req.id,
            inputs,
            outputs,
        }))
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        // By name, per namespace, as the single read (which also scopes by
        // resource and dimension: so does the key).
        read_batched(
            reqs,
            PER_CALL,
            |req| {
                let i = In::new(&req.inputs, "DescribeScalingPolicies");
                let (ns, id, dim) = target_key(i)?;
                Ok((scope(&ns, None), policy_key(&id, dim.as_str(), i.str("name")?)))
            },
            |ns, keys| async move { describe_policies(p, &ns, keys).await },
            |req, sp| async move {
                let (_, inputs, outputs) = policy_values(&sp);
                Ok(Some(ReadResult { id: req.id, inputs, outputs }))
            },
            |req| self.read(p, req),
        )
        .await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (_, outputs) = put_policy(p, &req.inputs).await?;
        Ok(UpdateResult { outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let i = In::new(&req.inputs, "DeleteScalingPolicy");
        let (ns, id, dim) = target_key(i)?;
        match p
            .autoscaling()
            .await
            .delete_scaling_policy()
            .policy_name(i.str("name")?)
            .service_namespace(ns)
            .resource_id(id)
            .scalable_dimension(dim)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ObjectNotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteScalingPolicy", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        if In::new(&req.inputs, "").opt_str("resourceId").is_none() {
            return Ok(None);
        }
        let found =
            describe_policy(p, &req.inputs).await?.map(|(id, inputs, outputs)| ReadResult { id, inputs, outputs });
        Ok(unless_known(&req, found))
    }
}
