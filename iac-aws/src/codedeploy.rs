//! AWS CodeDeploy: applications, deployment groups (how and where a
//! revision rolls out, which alarms stop it, when it rolls back) and custom
//! deployment configurations (canary or linear traffic shifting).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_codedeploy::types::{
    Alarm, AlarmConfiguration, AutoRollbackConfiguration, AutoRollbackEvent, BlueGreenDeploymentConfiguration,
    BlueInstanceTerminationOption, ComputePlatform, DeploymentGroupInfo, DeploymentOption, DeploymentReadyAction,
    DeploymentReadyOption, DeploymentStyle, DeploymentType, Ec2TagFilter, Ec2TagFilterType, EcsService, InstanceAction,
    LoadBalancerInfo, MinimumHealthyHosts as SdkMinimumHealthyHosts, MinimumHealthyHostsType, Tag, TargetGroupInfo,
    TargetGroupPairInfo, TimeBasedCanary, TimeBasedLinear, TrafficRoute, TrafficRoutingConfig, TrafficRoutingType,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{
    list_expr, map, opt_expr, ordered_like, tags_value, tags_with_identity, unless_known, In, TAG_NAME, TAG_STACK,
};

pub(crate) const APPLICATION: &str = "aws:codedeploy:Application";
pub(crate) const GROUP: &str = "aws:codedeploy:DeploymentGroup";
pub(crate) const CONFIG: &str = "aws:codedeploy:DeploymentConfig";

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    Some(match type_token {
        APPLICATION => &ApplicationHandler,
        GROUP => &GroupHandler,
        CONFIG => &ConfigHandler,
        _ => return None,
    })
}

/// Schema of [`Application`]: the name and compute platform are its
/// identity; only tags change in place.
pub static APPLICATION_SCHEMA: Schema = Schema {
    replace_on: &["name", "computePlatform"],
    delete_before_replace: true,
    taggable: true,
    ..Schema::new(APPLICATION, "aws")
};

/// Schema of [`DeploymentGroup`]: the application, name and platform are
/// its identity; everything else updates in place (`UpdateDeploymentGroup`).
pub static GROUP_SCHEMA: Schema = Schema {
    replace_on: &["applicationName", "name", "platform"],
    delete_before_replace: true,
    taggable: true,
    ..Schema::new(GROUP, "aws")
};

/// Schema of [`DeploymentConfig`]: AWS cannot change a deployment
/// configuration, so every input replaces it. The new one is created
/// before the old one is deleted (a configuration in use cannot be), so
/// groups can move over: give the new configuration a new name.
pub static CONFIG_SCHEMA: Schema = Schema {
    replace_on: &["name", "computePlatform", "trafficRouting", "minimumHealthyHosts"],
    ..Schema::new(CONFIG, "aws")
};

/// Where an application's revisions run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    /// Lambda functions (traffic shifted between alias versions).
    Lambda,
    /// ECS services (blue/green task sets behind a load balancer).
    Ecs,
    /// EC2 or on-premises instances.
    Server,
}

impl Platform {
    fn as_str(self) -> &'static str {
        match self {
            Platform::Lambda => "Lambda",
            Platform::Ecs => "ECS",
            Platform::Server => "Server",
        }
    }
}

/// CodeDeploy's names: 1–100 letters, digits and `._+=,@-`.
fn cd_name(c: &mut Checks, field: &str, value: &str) {
    crate::checks::name(
        c,
        field,
        value,
        100,
        |ch| ch.is_ascii_alphanumeric() || "._+=,@-".contains(ch),
        "letters, digits and . _ + = , @ -",
    );
}

fn cd_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

async fn list_tags(p: &AwsProvider, arn: &str) -> Result<Vec<Tag>, ProviderError> {
    let out = p
        .codedeploy()
        .await
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| aws_err("ListTagsForResource", e))?;
    Ok(out.tags().to_vec())
}

fn tag_value(tags: &[Tag]) -> Value {
    tags_value(tags.iter().filter_map(|t| Some((t.key()?, t.value().unwrap_or_default()))))
}

fn is_ours(tags: &[Tag], stack: &str, urn: &Urn) -> bool {
    let get = |k: &str| tags.iter().find(|t| t.key() == Some(k)).and_then(|t| t.value());
    get(TAG_STACK) == Some(stack) && get(TAG_NAME) == Some(urn.as_str())
}

/// Applies a change of the user's tags (identity tags are left alone).
async fn retag(p: &AwsProvider, arn: &str, old: &Value, new: &Value) -> Result<(), ProviderError> {
    let (was, now) = (In::new(old, "TagResource").tags(), In::new(new, "TagResource").tags());
    let cd = p.codedeploy().await;
    let removed: Vec<String> = was.keys().filter(|k| !now.contains_key(*k)).cloned().collect();
    if !removed.is_empty() {
        cd.untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(removed))
            .send()
            .await
            .map_err(|e| aws_err("UntagResource", e))?;
    }
    let added: BTreeMap<String, String> = now.into_iter().filter(|(k, v)| was.get(k) != Some(v)).collect();
    if !added.is_empty() {
        cd.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(cd_tags(&added)))
            .send()
            .await
            .map_err(|e| aws_err("TagResource", e))?;
    }
    Ok(())
}

// ---- Application -----------------------------------------------------------

/// A CodeDeploy application: a name for what is deployed, on one compute
/// platform.
///
/// ```
/// use iac_aws::codedeploy::{Application, Platform};
/// let app = Application::builder().name("checkout").compute_platform(Platform::Lambda).build();
/// # let _ = app;
/// ```
#[derive(bon::Builder)]
pub struct Application {
    /// Its name (replaces).
    #[builder(into)]
    pub name: String,
    /// Lambda, ECS or Server (replaces).
    pub compute_platform: Platform,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of an [`Application`].
pub struct ApplicationOutputs {
    /// Its name (the resource's id), for deployment groups.
    pub name: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
    /// CodeDeploy's id for it.
    pub application_id: Output<String>,
}

impl Resource for Application {
    type Outputs = ApplicationOutputs;
    fn schema() -> &'static Schema {
        &APPLICATION_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("computePlatform", Value::from(self.compute_platform.as_str()).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> ApplicationOutputs {
        ApplicationOutputs {
            name: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            application_id: Output::from_ref(urn, "applicationId"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        cd_name(c, "name", &self.name);
    }
}

async fn application_arn(p: &AwsProvider, name: &str) -> Result<String, ProviderError> {
    Ok(format!("{}:application:{name}", p.arn_prefix("codedeploy").await?))
}

async fn describe_application(p: &AwsProvider, name: &str) -> Result<Option<(Value, Value, Vec<Tag>)>, ProviderError> {
    let out = match p.codedeploy().await.get_application().application_name(name).send().await {
        Ok(o) => o,
        Err(e) if is_code(&e, &["ApplicationDoesNotExistException"]) => return Ok(None),
        Err(e) => return Err(aws_err("GetApplication", e)),
    };
    let Some(a) = out.application() else { return Ok(None) };
    let arn = application_arn(p, name).await?;
    let tags = list_tags(p, &arn).await?;
    let inputs = map([
        ("name", Value::from(a.application_name())),
        ("computePlatform", Value::from(a.compute_platform().map(|c| c.as_str()))),
        ("tags", tag_value(&tags)),
    ]);
    let outputs = map([("arn", Value::from(arn)), ("applicationId", Value::from(a.application_id()))]);
    Ok(Some((inputs, outputs, tags)))
}

pub(crate) struct ApplicationHandler;

#[async_trait]
impl Handler for ApplicationHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateApplication");
        let name = i.str("name")?;
        let out = p
            .codedeploy()
            .await
            .create_application()
            .application_name(name)
            .compute_platform(ComputePlatform::from(i.str("computePlatform")?))
            .set_tags(Some(cd_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateApplication", e))?;
        let outputs = map([
            ("arn", Value::from(application_arn(p, name).await?)),
            ("applicationId", Value::from(out.application_id())),
        ]);
        Ok(CreateResult { id: name.to_owned(), outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe_application(p, &req.id).await?.map(|(inputs, outputs, _)| ReadResult {
            id: req.id,
            inputs,
            outputs,
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        // Only tags change in place.
        let arn = application_arn(p, &req.id).await?;
        retag(p, &arn, &req.old_inputs, &req.inputs).await?;
        Ok(UpdateResult { outputs: req.old_outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.codedeploy().await.delete_application().application_name(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ApplicationDoesNotExistException"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteApplication", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let Some((inputs, outputs, tags)) = describe_application(p, name).await? else { return Ok(None) };
        if !is_ours(&tags, &req.stack, &req.urn) {
            return Ok(None);
        }
        Ok(unless_known(&req, Some(ReadResult { id: name.to_owned(), inputs, outputs })))
    }
}

// ---- DeploymentGroup -------------------------------------------------------

/// What happens to an alarm-watched deployment that fails or is stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RollbackOn {
    /// The deployment failed.
    DeploymentFailure,
    /// A watched alarm went off and stopped it.
    DeploymentStopOnAlarm,
    /// Someone stopped it.
    DeploymentStopOnRequest,
}

impl RollbackOn {
    fn as_str(self) -> &'static str {
        match self {
            RollbackOn::DeploymentFailure => "DEPLOYMENT_FAILURE",
            RollbackOn::DeploymentStopOnAlarm => "DEPLOYMENT_STOP_ON_ALARM",
            RollbackOn::DeploymentStopOnRequest => "DEPLOYMENT_STOP_ON_REQUEST",
        }
    }
}

/// A blue/green ECS deployment: the service, the load balancer listener(s)
/// and the two target groups traffic moves between.
#[derive(Clone, Debug, bon::Builder)]
pub struct EcsBlueGreen {
    /// The service's cluster (its name).
    #[builder(into)]
    pub cluster_name: Input<String>,
    /// The service (its name).
    #[builder(into)]
    pub service_name: Input<String>,
    /// The listener carrying production traffic.
    #[builder(into)]
    pub prod_listener_arn: Input<String>,
    /// A listener for testing the new task set before traffic moves.
    #[builder(into)]
    pub test_listener_arn: Option<Input<String>>,
    /// The blue and the green target group (their names).
    pub target_groups: [Input<String>; 2],
    /// Minutes the old task set is kept after a success (0–2880; 60).
    #[builder(default = 60)]
    pub termination_wait_minutes: i32,
    /// Wait this long (1–2880 minutes) for someone to reroute traffic, then
    /// stop; unset: reroute as soon as the new task set is ready.
    pub manual_reroute_within_minutes: Option<i32>,
}

/// Where a deployment group deploys: it decides the deployment style.
// Built once per declaration and lowered to inputs at once: the size of
// the ECS variant costs nothing worth a box in every user's code.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Targets {
    /// Lambda: blue/green with traffic control (aliases shift between
    /// versions).
    Lambda,
    /// ECS: blue/green with traffic control behind a load balancer.
    Ecs(EcsBlueGreen),
    /// Instances found by EC2 tags (all must match) and/or Auto Scaling
    /// groups, deployed in place.
    Server {
        /// EC2 tags an instance must carry.
        ec2_tags: BTreeMap<String, String>,
        /// Auto Scaling groups (their names).
        auto_scaling_groups: Vec<Input<String>>,
    },
}

impl Targets {
    fn platform(&self) -> Platform {
        match self {
            Targets::Lambda => Platform::Lambda,
            Targets::Ecs(_) => Platform::Ecs,
            Targets::Server { .. } => Platform::Server,
        }
    }
}

/// A deployment group: where an application is deployed, with which
/// configuration (`CodeDeployDefault.LambdaCanary10Percent5Minutes`, …), the
/// alarms that stop a deployment and when it rolls back.
///
/// ```
/// use iac_aws::codedeploy::{DeploymentGroup, RollbackOn, Targets};
/// let live = DeploymentGroup::builder()
///     .application_name("checkout")
///     .name("checkout-live")
///     .service_role_arn("arn:aws:iam::123456789012:role/codedeploy")
///     .targets(Targets::Lambda)
///     .deployment_config_name("CodeDeployDefault.LambdaCanary10Percent5Minutes")
///     .alarms(vec!["checkout-errors".into()])
///     .auto_rollback(vec![RollbackOn::DeploymentFailure, RollbackOn::DeploymentStopOnAlarm])
///     .build();
/// # let _ = live;
/// ```
#[derive(bon::Builder)]
pub struct DeploymentGroup {
    /// The application (its name; replaces).
    #[builder(into)]
    pub application_name: Input<String>,
    /// The group's name (replaces).
    #[builder(into)]
    pub name: String,
    /// The role CodeDeploy acts with.
    #[builder(into)]
    pub service_role_arn: Input<String>,
    /// Where it deploys (its platform replaces).
    pub targets: Targets,
    /// The deployment configuration: a `CodeDeployDefault.…` one of the
    /// platform or a [`DeploymentConfig`]'s name. Unset: all at once
    /// (`CodeDeployDefault.LambdaAllAtOnce`, `….ECSAllAtOnce`,
    /// `….OneAtATime` for servers).
    #[builder(into)]
    pub deployment_config_name: Option<Input<String>>,
    /// CloudWatch alarms (their names, at most 10) that stop a deployment.
    #[builder(default)]
    pub alarms: Vec<Input<String>>,
    /// Carry on when the alarms' state cannot be read.
    #[builder(default)]
    pub ignore_poll_alarm_failure: bool,
    /// When to roll back (none: never automatically).
    #[builder(default)]
    pub auto_rollback: Vec<RollbackOn>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`DeploymentGroup`].
pub struct DeploymentGroupOutputs {
    /// `<application>/<group>` (the resource's id).
    pub id: Output<String>,
    /// Its name.
    pub name: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
    /// CodeDeploy's id for it.
    pub deployment_group_id: Output<String>,
}

impl DeploymentGroup {
    fn config_name(&self) -> Expr {
        match &self.deployment_config_name {
            Some(n) => n.to_expr(),
            None => Value::from(match self.targets.platform() {
                Platform::Lambda => "CodeDeployDefault.LambdaAllAtOnce",
                Platform::Ecs => "CodeDeployDefault.ECSAllAtOnce",
                Platform::Server => "CodeDeployDefault.OneAtATime",
            })
            .into(),
        }
    }
}

impl Resource for DeploymentGroup {
    type Outputs = DeploymentGroupOutputs;
    fn schema() -> &'static Schema {
        &GROUP_SCHEMA
    }
    fn inputs(&self) -> Expr {
        let (ecs, ec2_tags, asgs) = match &self.targets {
            Targets::Lambda => (Expr::Value(Value::Null), Value::Null, Expr::Value(Value::Null)),
            Targets::Ecs(e) => (
                props([
                    ("clusterName", e.cluster_name.to_expr()),
                    ("serviceName", e.service_name.to_expr()),
                    ("prodListenerArn", e.prod_listener_arn.to_expr()),
                    ("testListenerArn", opt_expr(e.test_listener_arn.as_ref())),
                    ("targetGroups", Expr::List(e.target_groups.iter().map(Input::to_expr).collect())),
                    ("terminationWaitMinutes", Value::from(e.termination_wait_minutes).into()),
                    ("manualRerouteWithinMinutes", Value::from(e.manual_reroute_within_minutes).into()),
                ]),
                Value::Null,
                Expr::Value(Value::Null),
            ),
            Targets::Server { ec2_tags, auto_scaling_groups } => {
                (Expr::Value(Value::Null), Value::from(ec2_tags.clone()), list_expr(auto_scaling_groups))
            }
        };
        let rollback: Vec<Value> = self.auto_rollback.iter().map(|r| Value::from(r.as_str())).collect();
        props([
            ("applicationName", self.application_name.to_expr()),
            ("name", Value::from(self.name.as_str()).into()),
            ("serviceRoleArn", self.service_role_arn.to_expr()),
            ("platform", Value::from(self.targets.platform().as_str()).into()),
            ("deploymentConfigName", self.config_name()),
            ("ecs", ecs),
            ("ec2Tags", ec2_tags.into()),
            ("autoScalingGroups", asgs),
            ("alarms", list_expr(&self.alarms)),
            ("ignorePollAlarmFailure", Value::from(self.ignore_poll_alarm_failure).into()),
            ("autoRollbackEvents", Value::List(rollback).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> DeploymentGroupOutputs {
        DeploymentGroupOutputs {
            id: Output::from_ref(urn, "id"),
            name: Output::from_ref(urn, "name"),
            arn: Output::from_ref(urn, "arn"),
            deployment_group_id: Output::from_ref(urn, "deploymentGroupId"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        cd_name(c, "name", &self.name);
        if let Some(arn) = self.service_role_arn.value() {
            let ok = arn.starts_with("arn:") && arn.contains(":iam::") && arn.contains(":role/");
            c.check(ok, "serviceRoleArn", || format!("`{arn}` is not an IAM role ARN"));
        }
        let platform = self.targets.platform();
        if let Some(Input::Value(n)) = &self.deployment_config_name {
            if let Some(rest) = n.strip_prefix("CodeDeployDefault.") {
                let fits = match platform {
                    Platform::Lambda => rest.starts_with("Lambda"),
                    Platform::Ecs => rest.starts_with("ECS"),
                    Platform::Server => !rest.starts_with("Lambda") && !rest.starts_with("ECS"),
                };
                c.check(fits, "deploymentConfigName", || {
                    format!("`{n}` is not a configuration for the {} platform", platform.as_str())
                });
            } else {
                cd_name(c, "deploymentConfigName", n);
            }
        }
        c.check(self.alarms.len() <= 10, "alarms", || format!("{} alarms; at most 10", self.alarms.len()));
        c.check(
            !self.auto_rollback.contains(&RollbackOn::DeploymentStopOnAlarm) || !self.alarms.is_empty(),
            "autoRollbackEvents",
            || "rolling back when an alarm stops a deployment needs alarms".into(),
        );
        let mut seen = Vec::new();
        for r in &self.auto_rollback {
            c.check(!seen.contains(r), "autoRollbackEvents", || format!("{} is listed twice", r.as_str()));
            seen.push(*r);
        }
        if let Targets::Ecs(e) = &self.targets {
            let w = e.termination_wait_minutes;
            c.check((0..=2880).contains(&w), "ecs", || format!("termination wait of {w} minutes: between 0 and 2880"));
            if let Some(m) = e.manual_reroute_within_minutes {
                c.check((1..=2880).contains(&m), "ecs", || {
                    format!("manual reroute within {m} minutes: between 1 and 2880")
                });
            }
            if let (Some(a), Some(b)) = (e.target_groups[0].value(), e.target_groups[1].value()) {
                c.check(a != b, "ecs", || format!("blue and green are the same target group `{a}`"));
            }
            for l in [Some(&e.prod_listener_arn), e.test_listener_arn.as_ref()].into_iter().flatten() {
                if let Some(arn) = l.value() {
                    let ok =
                        arn.starts_with("arn:") && arn.contains(":elasticloadbalancing:") && arn.contains(":listener/");
                    c.check(ok, "ecs", || format!("`{arn}` is not a load balancer listener ARN"));
                }
            }
        }
        if let Targets::Server { ec2_tags, auto_scaling_groups } = &self.targets {
            c.check(!ec2_tags.is_empty() || !auto_scaling_groups.is_empty(), "ec2Tags", || {
                "a server group needs EC2 tags or Auto Scaling groups to find its instances".into()
            });
        }
    }
}

fn split_group_id(id: &str) -> Option<(&str, &str)> {
    id.split_once('/')
}

async fn group_arn(p: &AwsProvider, app: &str, group: &str) -> Result<String, ProviderError> {
    Ok(format!("{}:deploymentgroup:{app}/{group}", p.arn_prefix("codedeploy").await?))
}

/// The settings of a group, as the API takes them.
struct GroupSettings {
    style: DeploymentStyle,
    alarms: AlarmConfiguration,
    rollback: AutoRollbackConfiguration,
    ecs_services: Vec<EcsService>,
    load_balancer: Option<LoadBalancerInfo>,
    blue_green: Option<BlueGreenDeploymentConfiguration>,
    ec2_tags: Vec<Ec2TagFilter>,
    asgs: Vec<String>,
}

fn group_settings(i: &In<'_>) -> Result<GroupSettings, ProviderError> {
    let lambda_or_ecs = i.opt_str("platform") != Some("Server");
    let style = if lambda_or_ecs {
        DeploymentStyle::builder()
            .deployment_type(DeploymentType::BlueGreen)
            .deployment_option(DeploymentOption::WithTrafficControl)
            .build()
    } else {
        DeploymentStyle::builder()
            .deployment_type(DeploymentType::InPlace)
            .deployment_option(DeploymentOption::WithoutTrafficControl)
            .build()
    };
    let alarm_names = i.strs("alarms");
    let alarms = AlarmConfiguration::builder()
        .enabled(!alarm_names.is_empty())
        .ignore_poll_alarm_failure(i.bool("ignorePollAlarmFailure"))
        .set_alarms(Some(alarm_names.iter().map(|n| Alarm::builder().name(n).build()).collect()))
        .build();
    let events = i.strs("autoRollbackEvents");
    let rollback = AutoRollbackConfiguration::builder()
        .enabled(!events.is_empty())
        .set_events(Some(events.iter().map(|e| AutoRollbackEvent::from(e.as_str())).collect()))
        .build();
    let ecs = i.value("ecs");
    let (ecs_services, load_balancer, blue_green) = if ecs.is_empty_like() {
        (Vec::new(), None, None)
    } else {
        let s = |k: &str| ecs.get(k).as_str().map(str::to_owned);
        let service =
            EcsService::builder().set_cluster_name(s("clusterName")).set_service_name(s("serviceName")).build();
        let route = |arn: Option<String>| arn.map(|a| TrafficRoute::builder().listener_arns(a).build());
        let groups: Vec<TargetGroupInfo> = ecs
            .get("targetGroups")
            .as_list()
            .unwrap_or_default()
            .iter()
            .map(|g| TargetGroupInfo::builder().set_name(g.as_str().map(str::to_owned)).build())
            .collect();
        let pair = TargetGroupPairInfo::builder()
            .set_target_groups(Some(groups))
            .set_prod_traffic_route(route(s("prodListenerArn")))
            .set_test_traffic_route(route(s("testListenerArn")))
            .build();
        let wait = ecs.get("terminationWaitMinutes").as_i64().unwrap_or(60) as i32;
        let ready = match ecs.get("manualRerouteWithinMinutes").as_i64() {
            Some(m) => DeploymentReadyOption::builder()
                .action_on_timeout(DeploymentReadyAction::StopDeployment)
                .wait_time_in_minutes(m as i32)
                .build(),
            None => {
                DeploymentReadyOption::builder().action_on_timeout(DeploymentReadyAction::ContinueDeployment).build()
            }
        };
        let bg = BlueGreenDeploymentConfiguration::builder()
            .terminate_blue_instances_on_deployment_success(
                BlueInstanceTerminationOption::builder()
                    .action(InstanceAction::Terminate)
                    .termination_wait_time_in_minutes(wait)
                    .build(),
            )
            .deployment_ready_option(ready)
            .build();
        (vec![service], Some(LoadBalancerInfo::builder().target_group_pair_info_list(pair).build()), Some(bg))
    };
    let ec2_tags = i
        .value("ec2Tags")
        .as_map()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    Ec2TagFilter::builder()
                        .key(k)
                        .set_value(v.as_str().map(str::to_owned))
                        .r#type(Ec2TagFilterType::KeyAndValue)
                        .build()
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(GroupSettings {
        style,
        alarms,
        rollback,
        ecs_services,
        load_balancer,
        blue_green,
        ec2_tags,
        asgs: i.strs("autoScalingGroups"),
    })
}

fn group_values(g: &DeploymentGroupInfo, app: &str, tags: &[Tag], recorded: &Value) -> (Value, Value) {
    let platform = match g.compute_platform() {
        Some(ComputePlatform::Lambda) => "Lambda",
        Some(ComputePlatform::Ecs) => "ECS",
        _ => "Server",
    };
    let alarms = g.alarm_configuration();
    let alarm_names: Vec<String> = alarms
        .filter(|a| a.enabled())
        .map(|a| a.alarms().iter().filter_map(|x| x.name().map(str::to_owned)).collect())
        .unwrap_or_default();
    let events: Vec<String> = g
        .auto_rollback_configuration()
        .filter(|r| r.enabled())
        .map(|r| r.events().iter().map(|e| e.as_str().to_owned()).collect())
        .unwrap_or_default();
    let ecs = match g.ecs_services().first() {
        None => Value::Null,
        Some(s) => {
            let pair = g.load_balancer_info().and_then(|l| l.target_group_pair_info_list().first());
            let listener = |r: Option<&TrafficRoute>| Value::from(r.and_then(|r| r.listener_arns().first()).cloned());
            let groups: Vec<String> = pair
                .map(|p| p.target_groups().iter().filter_map(|t| t.name().map(str::to_owned)).collect())
                .unwrap_or_default();
            let bg = g.blue_green_deployment_configuration();
            let wait = bg
                .and_then(|b| b.terminate_blue_instances_on_deployment_success())
                .map(|t| t.termination_wait_time_in_minutes());
            let ready = bg.and_then(|b| b.deployment_ready_option());
            let manual = ready
                .filter(|r| r.action_on_timeout() == Some(&DeploymentReadyAction::StopDeployment))
                .map(|r| r.wait_time_in_minutes());
            map([
                ("clusterName", Value::from(s.cluster_name())),
                ("serviceName", Value::from(s.service_name())),
                ("prodListenerArn", listener(pair.and_then(|p| p.prod_traffic_route()))),
                ("testListenerArn", listener(pair.and_then(|p| p.test_traffic_route()))),
                ("targetGroups", Value::from(groups)),
                ("terminationWaitMinutes", Value::from(wait)),
                ("manualRerouteWithinMinutes", Value::from(manual)),
            ])
        }
    };
    let ec2_tags: BTreeMap<String, Value> =
        g.ec2_tag_filters().iter().filter_map(|f| Some((f.key()?.to_owned(), Value::from(f.value())))).collect();
    let asgs: Vec<String> = g.auto_scaling_groups().iter().filter_map(|a| a.name().map(str::to_owned)).collect();
    let inputs = map([
        ("applicationName", Value::from(app)),
        ("name", Value::from(g.deployment_group_name())),
        ("serviceRoleArn", Value::from(g.service_role_arn())),
        ("platform", Value::from(platform)),
        ("deploymentConfigName", Value::from(g.deployment_config_name())),
        ("ecs", ecs),
        ("ec2Tags", Value::Map(ec2_tags)),
        ("autoScalingGroups", ordered_like(asgs, recorded.get("autoScalingGroups"))),
        ("alarms", ordered_like(alarm_names, recorded.get("alarms"))),
        ("ignorePollAlarmFailure", Value::from(alarms.is_some_and(|a| a.ignore_poll_alarm_failure()))),
        ("autoRollbackEvents", ordered_like(events, recorded.get("autoRollbackEvents"))),
        ("tags", tag_value(tags)),
    ]);
    let outputs = map([
        ("name", Value::from(g.deployment_group_name())),
        ("deploymentGroupId", Value::from(g.deployment_group_id())),
    ]);
    (inputs, outputs)
}

async fn describe_group(
    p: &AwsProvider,
    app: &str,
    group: &str,
    recorded: &Value,
) -> Result<Option<(Value, Value, Vec<Tag>)>, ProviderError> {
    let out = match p
        .codedeploy()
        .await
        .get_deployment_group()
        .application_name(app)
        .deployment_group_name(group)
        .send()
        .await
    {
        Ok(o) => o,
        Err(e) if is_code(&e, &["ApplicationDoesNotExistException", "DeploymentGroupDoesNotExistException"]) => {
            return Ok(None)
        }
        Err(e) => return Err(aws_err("GetDeploymentGroup", e)),
    };
    let Some(g) = out.deployment_group_info() else { return Ok(None) };
    let arn = group_arn(p, app, group).await?;
    let tags = list_tags(p, &arn).await?;
    let (inputs, mut outputs) = group_values(g, app, &tags, recorded);
    if let Value::Map(m) = &mut outputs {
        m.insert("arn".into(), Value::from(arn));
    }
    Ok(Some((inputs, outputs, tags)))
}

pub(crate) struct GroupHandler;

#[async_trait]
impl Handler for GroupHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateDeploymentGroup";
        let i = In::new(&req.inputs, op);
        let (app, name) = (i.str("applicationName")?, i.str("name")?);
        let s = group_settings(&i)?;
        let out = p
            .codedeploy()
            .await
            .create_deployment_group()
            .application_name(app)
            .deployment_group_name(name)
            .service_role_arn(i.str("serviceRoleArn")?)
            .set_deployment_config_name(i.opt_str("deploymentConfigName").map(str::to_owned))
            .deployment_style(s.style)
            .alarm_configuration(s.alarms)
            .auto_rollback_configuration(s.rollback)
            .set_ecs_services(Some(s.ecs_services).filter(|v| !v.is_empty()))
            .set_load_balancer_info(s.load_balancer)
            .set_blue_green_deployment_configuration(s.blue_green)
            .set_ec2_tag_filters(Some(s.ec2_tags).filter(|v| !v.is_empty()))
            .set_auto_scaling_groups(Some(s.asgs).filter(|v| !v.is_empty()))
            .set_tags(Some(cd_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        let outputs = map([
            ("name", Value::from(name)),
            ("arn", Value::from(group_arn(p, app, name).await?)),
            ("deploymentGroupId", Value::from(out.deployment_group_id())),
        ]);
        Ok(CreateResult { id: format!("{app}/{name}"), outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some((app, group)) = split_group_id(&req.id) else { return Ok(None) };
        Ok(describe_group(p, app, group, &req.inputs).await?.map(|(inputs, outputs, _)| ReadResult {
            id: req.id,
            inputs,
            outputs,
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let op = "UpdateDeploymentGroup";
        let i = In::new(&req.inputs, op);
        let (app, group) = split_group_id(&req.id).ok_or_else(|| ProviderError::fatal(op, "malformed id"))?;
        if req.changed.iter().any(|c| c != "tags") {
            // Every setting is sent: an omitted one would be left as it was.
            let s = group_settings(&i)?;
            p.codedeploy()
                .await
                .update_deployment_group()
                .application_name(app)
                .current_deployment_group_name(group)
                .service_role_arn(i.str("serviceRoleArn")?)
                .set_deployment_config_name(i.opt_str("deploymentConfigName").map(str::to_owned))
                .deployment_style(s.style)
                .alarm_configuration(s.alarms)
                .auto_rollback_configuration(s.rollback)
                .set_ecs_services(Some(s.ecs_services))
                .set_load_balancer_info(s.load_balancer)
                .set_blue_green_deployment_configuration(s.blue_green)
                .set_ec2_tag_filters(Some(s.ec2_tags))
                .set_auto_scaling_groups(Some(s.asgs))
                .send()
                .await
                .map_err(|e| aws_err(op, e))?;
        }
        if req.changed.iter().any(|c| c == "tags") {
            retag(p, &group_arn(p, app, group).await?, &req.old_inputs, &req.inputs).await?;
        }
        Ok(UpdateResult { outputs: req.old_outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let Some((app, group)) = split_group_id(&req.id) else { return Ok(()) };
        match p
            .codedeploy()
            .await
            .delete_deployment_group()
            .application_name(app)
            .deployment_group_name(group)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ApplicationDoesNotExistException", "DeploymentGroupDoesNotExistException"]) => {
                Ok(())
            }
            Err(e) => Err(aws_err("DeleteDeploymentGroup", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // The name is unique in its application; the tags say it is ours.
        let i = In::new(&req.inputs, "");
        let (Some(app), Some(name)) = (i.opt_str("applicationName"), i.opt_str("name")) else { return Ok(None) };
        let Some((inputs, outputs, tags)) = describe_group(p, app, name, &req.inputs).await? else { return Ok(None) };
        if !is_ours(&tags, &req.stack, &req.urn) {
            return Ok(None);
        }
        Ok(unless_known(&req, Some(ReadResult { id: format!("{app}/{name}"), inputs, outputs })))
    }
}

// ---- DeploymentConfig ------------------------------------------------------

/// How traffic moves to a new Lambda version or ECS task set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrafficRouting {
    /// All at once.
    AllAtOnce,
    /// `percentage` first, the rest `interval_minutes` later.
    Canary {
        /// The share moved first (1–99).
        percentage: i32,
        /// Minutes before the rest moves (1–2880).
        interval_minutes: i32,
    },
    /// `percentage` more every `interval_minutes`.
    Linear {
        /// The share moved at each step (1–99).
        percentage: i32,
        /// Minutes between steps (1–2880).
        interval_minutes: i32,
    },
}

/// How many instances must stay healthy during a server deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MinimumHealthyHosts {
    /// At least this many instances.
    HostCount(i32),
    /// At least this percentage of the fleet (0–99).
    FleetPercent(i32),
}

/// A custom deployment configuration: how fast a deployment moves.
///
/// ```
/// use iac_aws::codedeploy::{DeploymentConfig, Platform, TrafficRouting};
/// let canary = DeploymentConfig::builder()
///     .name("Canary25Percent3Minutes")
///     .compute_platform(Platform::Lambda)
///     .traffic_routing(TrafficRouting::Canary { percentage: 25, interval_minutes: 3 })
///     .build();
/// # let _ = canary;
/// ```
#[derive(bon::Builder)]
pub struct DeploymentConfig {
    /// Its name (not `CodeDeployDefault.…`; replaces).
    #[builder(into)]
    pub name: String,
    /// Lambda, ECS or Server (replaces).
    pub compute_platform: Platform,
    /// How traffic moves (Lambda and ECS; replaces).
    pub traffic_routing: Option<TrafficRouting>,
    /// How many instances stay healthy (Server; replaces).
    pub minimum_healthy_hosts: Option<MinimumHealthyHosts>,
}

/// Outputs of a [`DeploymentConfig`].
pub struct DeploymentConfigOutputs {
    /// Its name (the resource's id), for deployment groups.
    pub name: Output<String>,
    /// CodeDeploy's id for it.
    pub deployment_config_id: Output<String>,
}

fn routing_value(r: &TrafficRouting) -> Value {
    match r {
        TrafficRouting::AllAtOnce => map([("type", Value::from("AllAtOnce"))]),
        TrafficRouting::Canary { percentage, interval_minutes } => map([
            ("type", Value::from("TimeBasedCanary")),
            ("percentage", Value::from(*percentage)),
            ("intervalMinutes", Value::from(*interval_minutes)),
        ]),
        TrafficRouting::Linear { percentage, interval_minutes } => map([
            ("type", Value::from("TimeBasedLinear")),
            ("percentage", Value::from(*percentage)),
            ("intervalMinutes", Value::from(*interval_minutes)),
        ]),
    }
}

impl Resource for DeploymentConfig {
    type Outputs = DeploymentConfigOutputs;
    fn schema() -> &'static Schema {
        &CONFIG_SCHEMA
    }
    fn inputs(&self) -> Expr {
        let healthy = match self.minimum_healthy_hosts {
            None => Value::Null,
            Some(MinimumHealthyHosts::HostCount(n)) => {
                map([("type", Value::from("HOST_COUNT")), ("value", Value::from(n))])
            }
            Some(MinimumHealthyHosts::FleetPercent(n)) => {
                map([("type", Value::from("FLEET_PERCENT")), ("value", Value::from(n))])
            }
        };
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("computePlatform", Value::from(self.compute_platform.as_str()).into()),
            ("trafficRouting", self.traffic_routing.as_ref().map_or(Value::Null, routing_value).into()),
            ("minimumHealthyHosts", healthy.into()),
        ])
    }
    fn outputs(urn: &Urn) -> DeploymentConfigOutputs {
        DeploymentConfigOutputs {
            name: Output::from_ref(urn, "id"),
            deployment_config_id: Output::from_ref(urn, "deploymentConfigId"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        cd_name(c, "name", &self.name);
        c.check(!self.name.starts_with("CodeDeployDefault."), "name", || {
            format!("`{}`: the CodeDeployDefault. prefix is AWS's", self.name)
        });
        let server = self.compute_platform == Platform::Server;
        if server {
            c.check(self.minimum_healthy_hosts.is_some(), "minimumHealthyHosts", || {
                "a server configuration needs a minimum of healthy hosts".into()
            });
            c.check(self.traffic_routing.is_none(), "trafficRouting", || {
                "traffic routing is for Lambda and ECS, not servers".into()
            });
        } else {
            c.check(self.traffic_routing.is_some(), "trafficRouting", || {
                format!("a {} configuration needs traffic routing", self.compute_platform.as_str())
            });
            c.check(self.minimum_healthy_hosts.is_none(), "minimumHealthyHosts", || {
                "a minimum of healthy hosts is for servers".into()
            });
        }
        if let Some(
            TrafficRouting::Canary { percentage, interval_minutes }
            | TrafficRouting::Linear { percentage, interval_minutes },
        ) = self.traffic_routing
        {
            c.check((1..=99).contains(&percentage), "trafficRouting", || format!("{percentage}%: between 1 and 99"));
            c.check((1..=2880).contains(&interval_minutes), "trafficRouting", || {
                format!("an interval of {interval_minutes} minutes: between 1 and 2880")
            });
        }
        match self.minimum_healthy_hosts {
            Some(MinimumHealthyHosts::HostCount(n)) => {
                c.check(n >= 0, "minimumHealthyHosts", || format!("{n} hosts: not negative"))
            }
            Some(MinimumHealthyHosts::FleetPercent(n)) => {
                c.check((0..=99).contains(&n), "minimumHealthyHosts", || format!("{n}%: between 0 and 99"))
            }
            None => {}
        }
    }
}

async fn describe_config(p: &AwsProvider, name: &str) -> Result<Option<(Value, Value)>, ProviderError> {
    let out = match p.codedeploy().await.get_deployment_config().deployment_config_name(name).send().await {
        Ok(o) => o,
        Err(e) if is_code(&e, &["DeploymentConfigDoesNotExistException"]) => return Ok(None),
        Err(e) => return Err(aws_err("GetDeploymentConfig", e)),
    };
    let Some(d) = out.deployment_config_info() else { return Ok(None) };
    let routing = d.traffic_routing_config().map_or(Value::Null, |r| match r.r#type() {
        Some(TrafficRoutingType::TimeBasedCanary) => r.time_based_canary().map_or(Value::Null, |c| {
            routing_value(&TrafficRouting::Canary {
                percentage: c.canary_percentage(),
                interval_minutes: c.canary_interval(),
            })
        }),
        Some(TrafficRoutingType::TimeBasedLinear) => r.time_based_linear().map_or(Value::Null, |l| {
            routing_value(&TrafficRouting::Linear {
                percentage: l.linear_percentage(),
                interval_minutes: l.linear_interval(),
            })
        }),
        Some(TrafficRoutingType::AllAtOnce) => routing_value(&TrafficRouting::AllAtOnce),
        _ => Value::Null,
    });
    let healthy = d.minimum_healthy_hosts().map_or(Value::Null, |h| {
        map([("type", Value::from(h.r#type().map(|t| t.as_str()))), ("value", Value::from(h.value()))])
    });
    let inputs = map([
        ("name", Value::from(d.deployment_config_name())),
        ("computePlatform", Value::from(d.compute_platform().map(|c| c.as_str()))),
        ("trafficRouting", routing),
        ("minimumHealthyHosts", healthy),
    ]);
    Ok(Some((inputs, map([("deploymentConfigId", Value::from(d.deployment_config_id()))]))))
}

pub(crate) struct ConfigHandler;

#[async_trait]
impl Handler for ConfigHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateDeploymentConfig";
        let i = In::new(&req.inputs, op);
        let name = i.str("name")?;
        let r = i.value("trafficRouting");
        let (pct, mins) =
            (r.get("percentage").as_i64().unwrap_or(0) as i32, r.get("intervalMinutes").as_i64().unwrap_or(0) as i32);
        let routing = r.get("type").as_str().map(|t| match t {
            "TimeBasedCanary" => TrafficRoutingConfig::builder()
                .r#type(TrafficRoutingType::TimeBasedCanary)
                .time_based_canary(TimeBasedCanary::builder().canary_percentage(pct).canary_interval(mins).build())
                .build(),
            "TimeBasedLinear" => TrafficRoutingConfig::builder()
                .r#type(TrafficRoutingType::TimeBasedLinear)
                .time_based_linear(TimeBasedLinear::builder().linear_percentage(pct).linear_interval(mins).build())
                .build(),
            _ => TrafficRoutingConfig::builder().r#type(TrafficRoutingType::AllAtOnce).build(),
        });
        let h = i.value("minimumHealthyHosts");
        let healthy = h.get("type").as_str().map(|t| {
            SdkMinimumHealthyHosts::builder()
                .r#type(MinimumHealthyHostsType::from(t))
                .value(h.get("value").as_i64().unwrap_or(0) as i32)
                .build()
        });
        let out = p
            .codedeploy()
            .await
            .create_deployment_config()
            .deployment_config_name(name)
            .compute_platform(ComputePlatform::from(i.str("computePlatform")?))
            .set_traffic_routing_config(routing)
            .set_minimum_healthy_hosts(healthy)
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        Ok(CreateResult {
            id: name.to_owned(),
            outputs: map([("deploymentConfigId", Value::from(out.deployment_config_id()))]),
        })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe_config(p, &req.id).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn update(&self, _p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        // Every input replaces; AWS has no update.
        Ok(UpdateResult { outputs: req.old_outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        // Groups using it are dependents and move off it, or go, first.
        match p.codedeploy().await.delete_deployment_config().deployment_config_name(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["DeploymentConfigDoesNotExistException"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteDeploymentConfig", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // Untaggable; the name is unique in the account and region, and a
        // second CreateDeploymentConfig of it is refused.
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let found = describe_config(p, name).await?.map(|(inputs, outputs)| ReadResult {
            id: name.to_owned(),
            inputs,
            outputs,
        });
        Ok(unless_known(&req, found))
    }
}
