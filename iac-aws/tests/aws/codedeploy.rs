//! CodeDeploy: a Lambda application whose deployment group shifts traffic
//! by a canary, stops on alarms and rolls back, moved to a custom linear
//! configuration; ECS blue/green and in-place server groups beside it —
//! created, read back with the SDK, updated in place, without drift,
//! destroyed and gone; bad inputs refused at preview.
//!
//! Moto 5.2.5 lacks DeleteApplication, UpdateDeploymentGroup,
//! DeleteDeploymentGroup and deployment configurations; the harness
//! emulates them after AWS's API reference (`moto_deploy.py`, gaps 4–5),
//! and makes GetDeploymentGroup return the alarm configuration moto stores
//! but answered empty (`moto_fixes.py`).

use iac_aws::codedeploy::{
    Application, DeploymentConfig, DeploymentGroup, EcsBlueGreen, MinimumHealthyHosts, Platform, RollbackOn, Targets,
    TrafficRouting,
};
use iac_aws::iam::Role;
use iac_aws::policy::{PolicyDocument, Principal, Statement};
use iac_core::{Error, Output, Stack, Urn};

use crate::support::*;

const LISTENER: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2";
const TEST_LISTENER: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/0467ef3c8400ae65";

#[derive(Clone)]
struct Deploy {
    /// The Lambda group's configuration: a default one, or the custom one.
    custom_config: bool,
    alarms: &'static [&'static str],
    rollback: &'static [RollbackOn],
    team: &'static str,
    termination_wait: i32,
}

fn role(s: &Stack) -> Output<String> {
    s.add(
        "codedeploy-role",
        Role::builder()
            .name("codedeploy-service")
            .assume_role_policy(
                PolicyDocument::new().statement(
                    Statement::builder()
                        .actions(["sts:AssumeRole"])
                        .principals(vec![Principal::Service("codedeploy.amazonaws.com".into())])
                        .build(),
                ),
            )
            .build(),
    )
    .arn
    .clone()
}

fn program(s: &Stack, x: &Deploy) {
    let role = role(s);
    let app = s.add(
        "checkout",
        Application::builder()
            .name("checkout")
            .compute_platform(Platform::Lambda)
            .tags(iac_aws::tags([("Team", x.team)]))
            .build(),
    );
    let linear = s.add(
        "linear",
        DeploymentConfig::builder()
            .name("Linear20PercentEvery2Minutes")
            .compute_platform(Platform::Lambda)
            .traffic_routing(TrafficRouting::Linear { percentage: 20, interval_minutes: 2 })
            .build(),
    );
    let config: iac_core::Input<String> = if x.custom_config {
        linear.name.clone().into()
    } else {
        "CodeDeployDefault.LambdaCanary10Percent5Minutes".into()
    };
    s.add(
        "checkout-live",
        DeploymentGroup::builder()
            .application_name(app.name.clone())
            .name("checkout-live")
            .service_role_arn(role.clone())
            .targets(Targets::Lambda)
            .deployment_config_name(config)
            .alarms(x.alarms.iter().map(|a| (*a).into()).collect())
            .auto_rollback(x.rollback.to_vec())
            .tags(iac_aws::tags([("Team", x.team)]))
            .build(),
    );
    let web = s.add("web", Application::builder().name("web").compute_platform(Platform::Ecs).build());
    s.add(
        "web-bg",
        DeploymentGroup::builder()
            .application_name(web.name.clone())
            .name("web-blue-green")
            .service_role_arn(role.clone())
            .targets(Targets::Ecs(
                EcsBlueGreen::builder()
                    .cluster_name("prod")
                    .service_name("web")
                    .prod_listener_arn(LISTENER)
                    .test_listener_arn(TEST_LISTENER)
                    .target_groups(["web-blue".into(), "web-green".into()])
                    .termination_wait_minutes(x.termination_wait)
                    .build(),
            ))
            .build(),
    );
    let fleet = s.add("fleet", Application::builder().name("fleet").compute_platform(Platform::Server).build());
    s.add(
        "fleet-in-place",
        DeploymentGroup::builder()
            .application_name(fleet.name.clone())
            .name("fleet-in-place")
            .service_role_arn(role)
            .targets(Targets::Server {
                ec2_tags: iac_aws::tags([("Role", "worker")]),
                auto_scaling_groups: vec!["workers".into()],
            })
            .deployment_config_name("CodeDeployDefault.HalfAtATime")
            .build(),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn codedeploy_lifecycle() {
    let h = Harness::new();
    let cd = h.aws.codedeploy().await.clone();
    let v1 = Deploy {
        custom_config: false,
        alarms: &["checkout-errors"],
        rollback: &[RollbackOn::DeploymentFailure, RollbackOn::DeploymentStopOnAlarm],
        team: "payments",
        termination_wait: 60,
    };

    let x = v1.clone();
    let s = h.session("codedeploy", move |s| program(s, &x));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "codedeploy").await;
    let app = cd.get_application().application_name("checkout").send().await.unwrap();
    assert_eq!(app.application().and_then(|a| a.compute_platform()).map(|c| c.as_str()), Some("Lambda"));
    let app_arn = "arn:aws:codedeploy:us-east-1:123456789012:application:checkout";
    let tags = cd.list_tags_for_resource().resource_arn(app_arn).send().await.unwrap();
    assert!(tags.tags().iter().any(|t| t.key() == Some("Team") && t.value() == Some("payments")), "{tags:?}");

    let g = cd.get_deployment_group().application_name("checkout").deployment_group_name("checkout-live").send().await;
    let g = g.unwrap().deployment_group_info.unwrap();
    assert_eq!(g.deployment_config_name(), Some("CodeDeployDefault.LambdaCanary10Percent5Minutes"));
    let style = g.deployment_style().unwrap();
    assert_eq!(style.deployment_type().map(|t| t.as_str()), Some("BLUE_GREEN"));
    assert_eq!(style.deployment_option().map(|t| t.as_str()), Some("WITH_TRAFFIC_CONTROL"));
    let alarms = g.alarm_configuration().unwrap();
    assert!(alarms.enabled());
    assert_eq!(alarms.alarms().iter().filter_map(|a| a.name()).collect::<Vec<_>>(), ["checkout-errors"]);
    let rollback = g.auto_rollback_configuration().unwrap();
    assert!(rollback.enabled());
    let events: Vec<&str> = rollback.events().iter().map(|e| e.as_str()).collect();
    assert_eq!(events, ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]);
    assert!(g.service_role_arn().unwrap().ends_with(":role/codedeploy-service"));

    let g = cd.get_deployment_group().application_name("web").deployment_group_name("web-blue-green").send().await;
    let g = g.unwrap().deployment_group_info.unwrap();
    assert_eq!(
        g.deployment_config_name(),
        Some("CodeDeployDefault.ECSAllAtOnce"),
        "the platform's all-at-once default"
    );
    let svc = &g.ecs_services()[0];
    assert_eq!((svc.cluster_name(), svc.service_name()), (Some("prod"), Some("web")));
    let pair = &g.load_balancer_info().unwrap().target_group_pair_info_list()[0];
    let groups: Vec<_> = pair.target_groups().iter().filter_map(|t| t.name()).collect();
    assert_eq!(groups, ["web-blue", "web-green"]);
    assert_eq!(pair.prod_traffic_route().unwrap().listener_arns(), [LISTENER]);
    let bg = g.blue_green_deployment_configuration().unwrap();
    assert_eq!(bg.terminate_blue_instances_on_deployment_success().unwrap().termination_wait_time_in_minutes(), 60);

    let g = cd.get_deployment_group().application_name("fleet").deployment_group_name("fleet-in-place").send().await;
    let g = g.unwrap().deployment_group_info.unwrap();
    assert_eq!(g.deployment_style().unwrap().deployment_type().map(|t| t.as_str()), Some("IN_PLACE"));
    assert_eq!(g.ec2_tag_filters()[0].key(), Some("Role"));
    assert_eq!(g.auto_scaling_groups()[0].name(), Some("workers"));

    let c = cd.get_deployment_config().deployment_config_name("Linear20PercentEvery2Minutes").send().await.unwrap();
    let linear = c.deployment_config_info().unwrap().traffic_routing_config().unwrap().time_based_linear().unwrap();
    assert_eq!((linear.linear_percentage(), linear.linear_interval()), (20, 2));

    for name in ["checkout", "checkout-live", "web-bg", "fleet"] {
        assert_adoptable(&h, &a, "codedeploy", name).await;
    }
    assert_no_drift(&s).await;

    // In place: the custom configuration, another alarm, rollback on
    // failure only, new tags, a longer blue/green termination wait.
    let v2 = Deploy {
        custom_config: true,
        alarms: &["checkout-errors", "checkout-latency"],
        rollback: &[RollbackOn::DeploymentFailure],
        team: "checkout",
        termination_wait: 120,
    };
    let x = v2.clone();
    let s = h.session("codedeploy", move |s| program(s, &x));
    let b = up(&s).await;
    let group_id = |a: &iac_core::ops::Applied| {
        a.report.state.resources[&Urn::new("checkout-live")]
            .outputs
            .get("deploymentGroupId")
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(group_id(&b), group_id(&a), "updated in place, not replaced");
    let g = cd.get_deployment_group().application_name("checkout").deployment_group_name("checkout-live").send().await;
    let g = g.unwrap().deployment_group_info.unwrap();
    assert_eq!(g.deployment_config_name(), Some("Linear20PercentEvery2Minutes"));
    assert_eq!(g.alarm_configuration().unwrap().alarms().len(), 2);
    let events: Vec<&str> = g.auto_rollback_configuration().unwrap().events().iter().map(|e| e.as_str()).collect();
    assert_eq!(events, ["DEPLOYMENT_FAILURE"]);
    let group_arn = "arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:checkout/checkout-live";
    let tags = cd.list_tags_for_resource().resource_arn(group_arn).send().await.unwrap();
    assert!(tags.tags().iter().any(|t| t.key() == Some("Team") && t.value() == Some("checkout")), "{tags:?}");
    let tags = cd.list_tags_for_resource().resource_arn(app_arn).send().await.unwrap();
    assert!(tags.tags().iter().any(|t| t.key() == Some("Team") && t.value() == Some("checkout")), "{tags:?}");
    let g = cd.get_deployment_group().application_name("web").deployment_group_name("web-blue-green").send().await;
    let bg = g.unwrap().deployment_group_info.unwrap().blue_green_deployment_configuration.unwrap();
    assert_eq!(bg.terminate_blue_instances_on_deployment_success().unwrap().termination_wait_time_in_minutes(), 120);
    assert_no_drift(&s).await;

    destroy(&s).await;
    for app in ["checkout", "web", "fleet"] {
        assert!(cd.get_application().application_name(app).send().await.is_err(), "{app} gone");
    }
    let c = cd.get_deployment_config().deployment_config_name("Linear20PercentEvery2Minutes").send().await;
    assert!(c.is_err(), "custom configuration gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_codedeploy_inputs_are_refused_at_preview() {
    let h = Harness::new();
    let s = h.session("bad-codedeploy", |s| {
        s.add("app", Application::builder().name("has/slash").compute_platform(Platform::Lambda).build());
        s.add(
            "group",
            DeploymentGroup::builder()
                .application_name("checkout")
                .name("live")
                .service_role_arn("arn:aws:iam::123456789012:user/deployer")
                .targets(Targets::Lambda)
                .deployment_config_name("CodeDeployDefault.ECSAllAtOnce")
                .auto_rollback(vec![RollbackOn::DeploymentStopOnAlarm, RollbackOn::DeploymentStopOnAlarm])
                .build(),
        );
        s.add(
            "ecs",
            DeploymentGroup::builder()
                .application_name("web")
                .name("web")
                .service_role_arn("arn:aws:iam::123456789012:role/cd")
                .targets(Targets::Ecs(
                    EcsBlueGreen::builder()
                        .cluster_name("prod")
                        .service_name("web")
                        .prod_listener_arn("arn:aws:sns:us-east-1:123456789012:not-a-listener")
                        .target_groups(["same".into(), "same".into()])
                        .termination_wait_minutes(3000)
                        .manual_reroute_within_minutes(0)
                        .build(),
                ))
                .build(),
        );
        s.add(
            "fleet",
            DeploymentGroup::builder()
                .application_name("fleet")
                .name("fleet")
                .service_role_arn("arn:aws:iam::123456789012:role/cd")
                .targets(Targets::Server { ec2_tags: Default::default(), auto_scaling_groups: vec![] })
                .deployment_config_name("CodeDeployDefault.LambdaAllAtOnce")
                .build(),
        );
        s.add(
            "config",
            DeploymentConfig::builder()
                .name("CodeDeployDefault.Mine")
                .compute_platform(Platform::Lambda)
                .traffic_routing(TrafficRouting::Canary { percentage: 100, interval_minutes: 0 })
                .minimum_healthy_hosts(MinimumHealthyHosts::FleetPercent(50))
                .build(),
        );
        s.add("server-config", DeploymentConfig::builder().name("servers").compute_platform(Platform::Server).build());
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    for (resource, what) in [
        ("app", "letters, digits and . _ + = , @ -"),
        ("group", "not an IAM role ARN"),
        ("group", "not a configuration for the Lambda platform"),
        ("group", "needs alarms"),
        ("group", "listed twice"),
        ("ecs", "not a load balancer listener ARN"),
        ("ecs", "the same target group"),
        ("ecs", "between 0 and 2880"),
        ("ecs", "between 1 and 2880"),
        ("fleet", "EC2 tags or Auto Scaling groups"),
        ("fleet", "not a configuration for the Server platform"),
        ("config", "CodeDeployDefault. prefix is AWS's"),
        ("config", "between 1 and 99"),
        ("config", "between 1 and 2880"),
        ("config", "a minimum of healthy hosts is for servers"),
        ("server-config", "needs a minimum of healthy hosts"),
    ] {
        assert!(
            diags.iter().any(|d| d.to_string().contains(resource) && d.to_string().contains(what)),
            "missing `{what}` on {resource}: {text}"
        );
    }
}
