//! `EcsService`: one Fargate service with everything it needs — its log
//! group, task and execution roles, security group, task definition, target
//! group and path rule on a shared load balancer, and CPU-tracking auto
//! scaling.

use std::collections::BTreeMap;

use iac_aws::autoscaling::{ScalableTarget, TargetTrackingPolicy, TrackedMetric};
use iac_aws::ec2::{Direction, SecurityGroup, SecurityGroupId, SecurityGroupRule, VpcId};
use iac_aws::ecs::{
    CapacityProviderStrategy, ClusterArn, Container, LaunchType, LoadBalancer as ServiceLoadBalancer, LogConfiguration,
    NetworkConfiguration, PortMapping, Service, TaskDefinition,
};
use iac_aws::elbv2::{Action, HealthCheck, ListenerArn, ListenerRule, TargetGroup};
use iac_aws::logs::LogGroup;
use iac_aws::policy::Statement;
use iac_core::{Input, Output, Stack};

use super::iam::service_role;

/// Where a service is reached on a shared load balancer.
#[derive(Clone)]
pub struct AlbRoute {
    /// The listener to add the rule to.
    pub listener_arn: Output<ListenerArn>,
    /// Paths routed to the service (`/mkt/*`).
    pub path_patterns: Vec<String>,
    /// The rule's priority on the listener (unique there).
    pub priority: i32,
    /// The load balancer's security group, allowed in on the service port.
    pub alb_security_group: Output<SecurityGroupId>,
}

/// Target-tracking auto scaling on average CPU.
#[derive(Clone, Copy, Debug)]
pub struct CpuScaling {
    /// Fewest tasks.
    pub min: i32,
    /// Most tasks.
    pub max: i32,
    /// Average CPU (percent) to hold.
    pub target_percent: f64,
}

/// What the service runs.
///
/// ```no_run
/// # fn f(s: &iac_core::Stack, cluster: iac_core::Output<iac_aws::ecs::ClusterArn>, cluster_name: iac_core::Output<String>, vpc: iac_core::Output<iac_aws::ec2::VpcId>, subnets: Vec<iac_core::Input<String>>) {
/// use stacks::components::{EcsService, EcsServiceArgs};
/// let api = EcsService::new(s, "api", EcsServiceArgs {
///     prefix: "shop-dev".into(),
///     cluster_arn: cluster.clone(),
///     cluster_name,
///     vpc_id: vpc,
///     subnets,
///     extra_security_groups: vec![],
///     region: "us-east-1".into(),
///     image: "public.ecr.aws/nginx/nginx:1.27".into(),
///     cpu: 512,
///     memory: 1024,
///     desired_count: 2,
///     port: 8080,
///     health_check_path: "/health".into(),
///     route: None,
///     environment: Default::default(),
///     secrets: Default::default(),
///     log_retention_days: 30,
///     capacity_providers: vec![],
///     scaling: None,
///     task_policy: vec![],
/// });
/// # let _ = api; }
/// ```
pub struct EcsServiceArgs {
    /// Prefix of every AWS name (`<project>-<env>`).
    pub prefix: String,
    /// The cluster.
    pub cluster_arn: Output<ClusterArn>,
    /// The cluster's name (for auto scaling's resource id).
    pub cluster_name: Output<String>,
    /// The VPC (for the target group and security group).
    pub vpc_id: Output<VpcId>,
    /// The private subnets the tasks run in.
    pub subnets: Vec<Input<String>>,
    /// Security groups the tasks join besides their own (a shared
    /// application group that databases allow in, say).
    pub extra_security_groups: Vec<Input<String>>,
    /// The region (for the log driver).
    pub region: String,
    /// The container image.
    pub image: Input<String>,
    /// Task CPU units (a Fargate size).
    pub cpu: u32,
    /// Task memory (MiB, valid with the CPU).
    pub memory: u32,
    /// Tasks to run.
    pub desired_count: i32,
    /// The container's port.
    pub port: u16,
    /// The health check's path.
    pub health_check_path: String,
    /// The load balancer route, if the service takes traffic.
    pub route: Option<AlbRoute>,
    /// Plain environment variables.
    pub environment: BTreeMap<String, String>,
    /// Variables from Secrets Manager (secret ARNs), resolved by ECS.
    pub secrets: BTreeMap<String, Input<String>>,
    /// Days the service's logs are kept.
    pub log_retention_days: i32,
    /// Capacity providers (`FARGATE`, `FARGATE_SPOT`); empty: the
    /// `FARGATE` launch type.
    pub capacity_providers: Vec<String>,
    /// Auto scaling, if any.
    pub scaling: Option<CpuScaling>,
    /// What the task's own role may do.
    pub task_policy: Vec<Statement>,
}

/// Settings most services leave at their defaults, kept apart from
/// [`EcsServiceArgs`] so that callers' struct literals stay valid when one
/// is added. `Default` is what [`EcsService::new`] uses.
#[derive(Clone, Default)]
pub struct EcsServiceOptions {
    /// Write the container's logs to this existing log group (its name;
    /// streams are prefixed with the service's name) instead of a group
    /// of the service's own, `/ecs/<prefix>/<name>`.
    pub log_group: Option<Output<String>>,
    /// Publish no container port: a worker that serves nothing (`port` is
    /// then unused). Such a service takes no load balancer route.
    pub without_port: bool,
}

/// The service's handles.
pub struct EcsService {
    /// The service's name.
    pub name: Output<String>,
    /// The target group's ARN suffix (for CloudWatch), when routed.
    pub target_group_arn_suffix: Option<Output<String>>,
    /// The tasks' security group.
    pub security_group_id: Output<SecurityGroupId>,
    /// The log group's name.
    pub log_group: Output<String>,
}

impl EcsService {
    /// Declares the service `name` as a component of `stack`.
    pub fn new(stack: &Stack, name: &str, args: EcsServiceArgs) -> EcsService {
        EcsService::with_options(stack, name, args, EcsServiceOptions::default())
    }

    /// Declares the service `name` as a component of `stack`, with
    /// `options` beyond the usual.
    pub fn with_options(stack: &Stack, name: &str, args: EcsServiceArgs, options: EcsServiceOptions) -> EcsService {
        let c = stack.component("stacks:EcsService", name);
        let full = format!("{}-{name}", args.prefix);
        let log_group = match options.log_group {
            Some(shared) => shared,
            None => c
                .add(
                    "logs",
                    LogGroup::builder()
                        .name(format!("/ecs/{}/{name}", args.prefix))
                        .retention_in_days(args.log_retention_days)
                        .build(),
                )
                .id
                .clone(),
        };
        let mut execution_statements = Vec::new();
        if !args.secrets.is_empty() {
            execution_statements.push(
                Statement::builder()
                    .actions(["secretsmanager:GetSecretValue"])
                    .resources(args.secrets.values().cloned().collect())
                    .build(),
            );
        }
        let execution = service_role(
            &c,
            "execution-role",
            &format!("{full}-execution"),
            "ecs-tasks.amazonaws.com",
            &["service-role/AmazonECSTaskExecutionRolePolicy"],
            execution_statements,
        );
        let task_role =
            service_role(&c, "task-role", &format!("{full}-task"), "ecs-tasks.amazonaws.com", &[], args.task_policy);
        let sg = c.add(
            "sg",
            SecurityGroup::builder()
                .name(format!("{full}-tasks"))
                .description(format!("{name} tasks"))
                .vpc_id(args.vpc_id.clone())
                .build(),
        );
        if options.without_port && args.route.is_some() {
            c.report(sg.urn(), "route", "a service without a port takes no load balancer route");
        }
        if let Some(route) = &args.route {
            c.add(
                "from-alb",
                SecurityGroupRule::builder()
                    .security_group_id(sg.id.clone())
                    .direction(Direction::Ingress)
                    .protocol("tcp")
                    .from_port(i32::from(args.port))
                    .to_port(i32::from(args.port))
                    .source_security_group_id(route.alb_security_group.clone())
                    .description("from the load balancer")
                    .build(),
            );
        }
        let task = c.add(
            "task",
            TaskDefinition::builder()
                .family(full.clone())
                .cpu(args.cpu)
                .memory(args.memory)
                .execution_role_arn(execution.arn.clone())
                .task_role_arn(task_role.arn.clone())
                .containers(vec![Container::builder()
                    .name(name)
                    .image(args.image)
                    .port_mappings(if options.without_port { vec![] } else { vec![PortMapping::tcp(args.port)] })
                    .environment(args.environment)
                    .secrets(args.secrets)
                    .log_configuration(
                        LogConfiguration::builder()
                            .group(log_group.clone())
                            .region(args.region.clone())
                            .stream_prefix(name)
                            .build(),
                    )
                    .build()])
                .build(),
        );
        let mut load_balancers = Vec::new();
        let mut target_group_arn_suffix = None;
        if let Some(route) = &args.route {
            let tg_name = short_name(&format!("{full}-tg"), 32);
            let tg = c.add(
                "tg",
                TargetGroup::builder()
                    .name(tg_name)
                    .port(args.port)
                    .vpc_id(args.vpc_id.as_string())
                    .health_check(HealthCheck::builder().path(args.health_check_path.clone()).build())
                    .deregistration_delay_seconds(30)
                    .build(),
            );
            c.add(
                "rule",
                ListenerRule::builder()
                    .listener_arn(route.listener_arn.clone())
                    .priority(route.priority)
                    .path_patterns(route.path_patterns.clone())
                    .action(Action::forward(tg.id.clone()))
                    .build(),
            );
            load_balancers.push(
                ServiceLoadBalancer::builder()
                    .target_group_arn(tg.arn.clone())
                    .container_name(name)
                    .container_port(args.port)
                    .build(),
            );
            target_group_arn_suffix = Some(tg.arn_suffix.clone());
        }
        let strategy: Vec<CapacityProviderStrategy> = args
            .capacity_providers
            .iter()
            .map(|p| CapacityProviderStrategy::builder().capacity_provider(p.clone()).weight(1).build())
            .collect();
        let service = c.add(
            "service",
            Service::builder()
                .name(name)
                .cluster_arn(args.cluster_arn.clone())
                .task_definition_arn(task.arn.clone())
                .desired_count(args.desired_count)
                .maybe_launch_type(strategy.is_empty().then_some(LaunchType::Fargate))
                .capacity_provider_strategy(strategy)
                .network_configuration(
                    NetworkConfiguration::builder()
                        .subnets(args.subnets)
                        .security_groups(
                            std::iter::once(Input::from(sg.id.as_string()))
                                .chain(args.extra_security_groups)
                                .collect::<Vec<_>>(),
                        )
                        .build(),
                )
                .load_balancers(load_balancers)
                .maybe_health_check_grace_period_seconds(args.route.as_ref().map(|_| 60))
                .build(),
        );
        if let Some(scaling) = args.scaling {
            let target = c.add(
                "scaling-target",
                ScalableTarget::ecs_service(&args.cluster_name, &service.name, scaling.min, scaling.max),
            );
            c.add(
                "scaling-cpu",
                TargetTrackingPolicy::builder()
                    .name(format!("{full}-cpu"))
                    .target(&target)
                    .metric(TrackedMetric::EcsCpu)
                    .target_value(scaling.target_percent)
                    .build(),
            );
        }
        EcsService { name: service.name.clone(), target_group_arn_suffix, security_group_id: sg.id.clone(), log_group }
    }
}

/// `name` if it fits in `max` characters; else its first characters and a
/// hash of the whole name (`…-3f2a`), so two long names that share their
/// first `max` characters never become one (the preview also refuses two
/// target groups of one name). Never a silent cut.
pub fn short_name(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_owned();
    }
    // FNV-1a: stable across builds and platforms.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let head: String = name.chars().take(max - 5).collect();
    format!("{}-{:04x}", head.trim_end_matches('-'), hash & 0xffff)
}

#[cfg(test)]
mod short_name_tests {
    use super::short_name;

    #[test]
    fn long_names_keep_apart() {
        assert_eq!(short_name("btc-dev-api-tg", 32), "btc-dev-api-tg");
        let a = short_name("btc-production-pipeline-rest-ingestor-tg", 32);
        let b = short_name("btc-production-pipeline-rest-ingestor-2-tg", 32);
        assert!(a.len() <= 32 && b.len() <= 32, "{a} {b}");
        assert_ne!(a, b);
        assert_eq!(a, short_name("btc-production-pipeline-rest-ingestor-tg", 32));
    }
}
