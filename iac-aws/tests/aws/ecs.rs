//! ECS on Fargate: a cluster with capacity providers, a task definition
//! whose changes register new revisions, and a service in a VPC — created,
//! read back without drift, updated in place, replaced and destroyed,
//! checked with the SDK; bad task sizes refused at preview.

use iac_aws::ec2::{SecurityGroup, Subnet, Vpc};
use iac_aws::ecs::{
    CapacityProviderStrategy, Cluster, Container, HealthCheck, LaunchType, LogConfiguration, NetworkConfiguration,
    PortMapping, Service, TaskDefinition,
};
use iac_aws::iam::Role;
use iac_aws::logs::LogGroup;
use iac_aws::policy::{PolicyDocument, Principal, Statement};
use iac_aws::secretsmanager::{Secret, SecretValue};
use iac_core::{Error, Stack, Urn};

use crate::support::*;

#[derive(Clone, Copy)]
struct App {
    insights: bool,
    desired: i32,
    mode: &'static str,
    service: &'static str,
}

fn app(s: &Stack, x: App) {
    let vpc = s.add("vpc", Vpc::builder().cidr_block("10.20.0.0/16").build());
    let subnets: Vec<_> = [("a", "10.20.1.0/24"), ("b", "10.20.2.0/24")]
        .into_iter()
        .map(|(az, cidr)| {
            s.add(
                &format!("subnet-{az}"),
                Subnet::builder()
                    .vpc_id(vpc.id.clone())
                    .cidr_block(cidr)
                    .availability_zone(format!("us-east-1{az}"))
                    .build(),
            )
            .id
            .as_string()
        })
        .collect();
    let sg =
        s.add("sg", SecurityGroup::builder().name("ecs-app").description("app tasks").vpc_id(vpc.id.clone()).build());
    let role = s.add(
        "execution-role",
        Role::builder()
            .name("ecs-app-execution")
            .assume_role_policy(
                PolicyDocument::new().statement(
                    Statement::builder()
                        .actions(["sts:AssumeRole"])
                        .principals(vec![Principal::Service("ecs-tasks.amazonaws.com".into())])
                        .build(),
                ),
            )
            .build(),
    );
    let logs = s.add("logs", LogGroup::builder().name("/ecs/app").retention_in_days(7).build());
    let secret = s.add(
        "db-password",
        Secret::builder().name("ecs-app/db").value(SecretValue::password()).recovery_window_in_days(0).build(),
    );
    let cluster = s.add(
        "cluster",
        Cluster::builder()
            .name("app")
            .capacity_providers(vec!["FARGATE".into(), "FARGATE_SPOT".into()])
            .default_capacity_provider_strategy(vec![
                CapacityProviderStrategy::builder().capacity_provider("FARGATE").weight(1).base(1).build(),
                CapacityProviderStrategy::builder().capacity_provider("FARGATE_SPOT").weight(3).build(),
            ])
            .container_insights(x.insights)
            .build(),
    );
    let task = s.add(
        "task",
        TaskDefinition::builder()
            .family("app")
            .cpu(512)
            .memory(1024)
            .execution_role_arn(role.arn.clone())
            .containers(vec![Container::builder()
                .name("api")
                .image("public.ecr.aws/nginx/nginx:1.27")
                .port_mappings(vec![PortMapping::tcp(8080)])
                .environment(iac_aws::tags([("MODE", x.mode)]))
                .secrets([("DB_PASSWORD".to_owned(), secret.arn.clone().into())].into())
                .health_check(
                    HealthCheck::builder().command(vec!["CMD-SHELL".into(), "curl -f localhost:8080/".into()]).build(),
                )
                .log_configuration(
                    LogConfiguration::builder().group(logs.id.clone()).region("us-east-1").stream_prefix("api").build(),
                )
                .build()])
            .build(),
    );
    s.add(
        "service",
        Service::builder()
            .name(x.service)
            .cluster_arn(cluster.id.clone())
            .task_definition_arn(task.arn.clone())
            .desired_count(x.desired)
            .launch_type(LaunchType::Fargate)
            .network_configuration(
                NetworkConfiguration::builder().subnets(subnets).security_groups([sg.id.as_string()]).build(),
            )
            // Not set: moto 5.2.5 keeps no deployment configuration, so a
            // circuit breaker would read back as unset.
            .build(),
    );
}

fn id(a: &iac_core::ops::Applied, name: &str) -> String {
    a.report.state.resources[&Urn::new(name)].id.clone().unwrap_or_else(|| panic!("{name} has no id"))
}

#[tokio::test(flavor = "multi_thread")]
async fn cluster_task_definition_and_service_lifecycle() {
    let h = Harness::new();
    let ecs = h.aws.ecs().await.clone();
    let v1 = App { insights: true, desired: 1, mode: "blue", service: "api" };

    let s = h.session("ecs", move |s| app(s, v1));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "ecs").await;
    for name in ["cluster", "task", "service", "logs", "execution-role"] {
        assert_adoptable(&h, &a, "ecs", name).await;
    }
    let cluster_arn = id(&a, "cluster");
    let clusters = ecs
        .describe_clusters()
        .clusters(&cluster_arn)
        .include(aws_sdk_ecs::types::ClusterField::Settings)
        .send()
        .await
        .unwrap();
    let cluster = &clusters.clusters()[0];
    assert_eq!(cluster.status(), Some("ACTIVE"));
    assert_eq!(cluster.capacity_providers(), ["FARGATE", "FARGATE_SPOT"]);
    let insights = cluster.settings().iter().find(|s| s.name().map(|n| n.as_str()) == Some("containerInsights"));
    assert_eq!(insights.and_then(|s| s.value()), Some("enabled"));

    let td1 = a.report.state.resources[&Urn::new("task")].outputs.get("arn").as_str().unwrap().to_owned();
    let td = ecs.describe_task_definition().task_definition(&td1).send().await.unwrap().task_definition.unwrap();
    assert_eq!((td.cpu(), td.memory()), (Some("512"), Some("1024")));
    let c = &td.container_definitions()[0];
    assert_eq!(c.environment()[0].value(), Some("blue"));
    assert!(c.secrets()[0].value_from().contains("ecs-app/db"), "secret by reference, never by value");
    assert_eq!(c.log_configuration().unwrap().options().unwrap()["awslogs-group"], "/ecs/app");

    let services = ecs.describe_services().cluster(&cluster_arn).services("api").send().await.unwrap();
    let svc = &services.services()[0];
    assert_eq!(svc.desired_count(), 1);
    assert_eq!(svc.task_definition(), Some(td1.as_str()));
    let net = svc.network_configuration().unwrap().awsvpc_configuration().unwrap();
    assert_eq!(net.subnets().len(), 2);
    assert_no_drift(&s).await;

    // In place: container insights off, two tasks, and a container change
    // that registers revision 2 and rolls the service onto it.
    let v2 = App { insights: false, desired: 2, mode: "green", ..v1 };
    let s = h.session("ecs", move |s| app(s, v2));
    let a = up(&s).await;
    assert_eq!(id(&a, "cluster"), cluster_arn, "cluster updated in place");
    let td2 = a.report.state.resources[&Urn::new("task")].outputs.get("arn").as_str().unwrap().to_owned();
    assert!(td2.ends_with(":2"), "a new revision: {td2}");
    let old = ecs.describe_task_definition().task_definition(&td1).send().await.unwrap().task_definition.unwrap();
    assert_eq!(old.status().map(|s| s.as_str()), Some("INACTIVE"), "the old revision is deregistered");
    let services = ecs.describe_services().cluster(&cluster_arn).services("api").send().await.unwrap();
    let svc = &services.services()[0];
    assert_eq!((svc.desired_count(), svc.task_definition()), (2, Some(td2.as_str())));
    let clusters = ecs
        .describe_clusters()
        .clusters(&cluster_arn)
        .include(aws_sdk_ecs::types::ClusterField::Settings)
        .send()
        .await
        .unwrap();
    let insights = clusters.clusters()[0]
        .settings()
        .iter()
        .find(|s| s.name().map(|n| n.as_str()) == Some("containerInsights"))
        .cloned();
    assert_eq!(insights.and_then(|s| s.value().map(str::to_owned)).as_deref(), Some("disabled"));
    assert_no_drift(&s).await;

    // A new service name replaces the service.
    let v3 = App { service: "api-v2", ..v2 };
    let s = h.session("ecs", move |s| app(s, v3));
    up(&s).await;
    let services =
        ecs.describe_services().cluster(&cluster_arn).services("api").services("api-v2").send().await.unwrap();
    let status = |n: &str| {
        services.services().iter().find(|s| s.service_name() == Some(n)).and_then(|s| s.status()).map(str::to_owned)
    };
    assert_eq!(status("api-v2").as_deref(), Some("ACTIVE"));
    assert_ne!(status("api").as_deref(), Some("ACTIVE"), "the old service is deleted");
    assert_no_drift(&s).await;

    destroy(&s).await;
    let clusters = ecs.describe_clusters().clusters(&cluster_arn).send().await.unwrap();
    assert!(clusters.clusters().iter().all(|c| c.status() == Some("INACTIVE")), "cluster deleted: {clusters:?}");
    let td = ecs.describe_task_definition().task_definition(&td2).send().await.unwrap().task_definition.unwrap();
    assert_eq!(td.status().map(|s| s.as_str()), Some("INACTIVE"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_task_sizes_and_services_are_refused_at_preview() {
    let h = Harness::new();
    let s = h.session("bad-ecs", |s| {
        let container = || Container::builder().name("c").image("nginx").build();
        s.add(
            "odd-cpu",
            TaskDefinition::builder().family("a").cpu(1536).memory(2048).containers(vec![container()]).build(),
        );
        s.add(
            "small-mem",
            TaskDefinition::builder().family("b").cpu(1024).memory(512).containers(vec![container()]).build(),
        );
        s.add(
            "svc",
            Service::builder()
                .name("svc")
                .cluster_arn("arn:aws:ecs:us-east-1:123456789012:cluster/x")
                .task_definition_arn("arn:aws:ecs:us-east-1:123456789012:task-definition/a:1")
                .launch_type(LaunchType::Fargate)
                .desired_count(-1)
                .build(),
        );
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    for (resource, field) in
        [("odd-cpu", "cpu"), ("small-mem", "memory"), ("svc", "desiredCount"), ("svc", "networkConfiguration")]
    {
        assert!(
            diags.iter().any(|d| d.to_string().contains(resource) && d.to_string().contains(field)),
            "missing {field} on {resource}: {text}"
        );
    }
}

#[derive(Clone, Copy)]
struct Scaling {
    min: i32,
    max: i32,
    cpu: f64,
    memory_policy: bool,
}

fn scaled_service(s: &Stack, x: Scaling) {
    use iac_aws::autoscaling::{ScalableTarget, TargetTrackingPolicy, TrackedMetric};
    let vpc = s.add("vpc", Vpc::builder().cidr_block("10.21.0.0/16").build());
    let subnet = s.add("subnet", Subnet::builder().vpc_id(vpc.id.clone()).cidr_block("10.21.1.0/24").build());
    let sg = s.add("sg", SecurityGroup::builder().name("scaled").description("scaled").vpc_id(vpc.id.clone()).build());
    let cluster = s.add("cluster", Cluster::builder().name("scaled").build());
    let task = s.add(
        "task",
        TaskDefinition::builder()
            .family("scaled")
            .cpu(256)
            .memory(512)
            .containers(vec![Container::builder().name("web").image("nginx:1.27").build()])
            .build(),
    );
    let svc = s.add(
        "service",
        Service::builder()
            .name("web")
            .cluster_arn(cluster.id.clone())
            .task_definition_arn(task.arn.clone())
            .desired_count(2)
            .launch_type(LaunchType::Fargate)
            .network_configuration(
                NetworkConfiguration::builder()
                    .subnets([subnet.id.as_string()])
                    .security_groups([sg.id.as_string()])
                    .build(),
            )
            .build(),
    );
    let target = s.add("scaling", ScalableTarget::ecs_service(&cluster.name, &svc.name, x.min, x.max));
    s.add(
        "cpu",
        TargetTrackingPolicy::builder()
            .name("cpu")
            .target(&target)
            .metric(TrackedMetric::EcsCpu)
            .target_value(x.cpu)
            .scale_in_cooldown(300)
            .scale_out_cooldown(60)
            .build(),
    );
    if x.memory_policy {
        s.add(
            "memory",
            TargetTrackingPolicy::builder()
                .name("memory")
                .target(&target)
                .metric(TrackedMetric::EcsMemory)
                .target_value(75.0)
                .build(),
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn service_auto_scaling_lifecycle() {
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    let h = Harness::new();
    let aas = h.aws.autoscaling().await.clone();
    let targets = || {
        aas.describe_scalable_targets()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_ids("service/scaled/web")
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .send()
    };
    let policies = || {
        aas.describe_scaling_policies()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id("service/scaled/web")
            .send()
    };

    let v1 = Scaling { min: 2, max: 6, cpu: 60.0, memory_policy: true };
    let s = h.session("scaling", move |s| scaled_service(s, v1));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "scaling").await;
    let t = targets().await.unwrap();
    assert_eq!((t.scalable_targets()[0].min_capacity(), t.scalable_targets()[0].max_capacity()), (2, 6));
    let p = policies().await.unwrap();
    let cpu = p.scaling_policies().iter().find(|p| p.policy_name() == "cpu").expect("cpu policy");
    let cfg = cpu.target_tracking_scaling_policy_configuration().unwrap();
    assert_eq!(cfg.target_value(), 60.0);
    assert_eq!(
        cfg.predefined_metric_specification().unwrap().predefined_metric_type().as_str(),
        "ECSServiceAverageCPUUtilization"
    );
    assert_eq!(p.scaling_policies().len(), 2);
    assert_no_drift(&s).await;

    // In place: new bounds and target; the memory policy goes.
    let v2 = Scaling { min: 3, max: 10, cpu: 45.0, memory_policy: false };
    let s = h.session("scaling", move |s| scaled_service(s, v2));
    up(&s).await;
    let t = targets().await.unwrap();
    assert_eq!((t.scalable_targets()[0].min_capacity(), t.scalable_targets()[0].max_capacity()), (3, 10));
    let p = policies().await.unwrap();
    let names: Vec<_> = p.scaling_policies().iter().map(|p| p.policy_name().to_owned()).collect();
    assert_eq!(names, ["cpu"]);
    assert_eq!(p.scaling_policies()[0].target_tracking_scaling_policy_configuration().unwrap().target_value(), 45.0);
    assert_no_drift(&s).await;

    destroy(&s).await;
    assert!(targets().await.unwrap().scalable_targets().is_empty(), "target deregistered");
    assert!(policies().await.unwrap().scaling_policies().is_empty(), "policies deleted");
}
