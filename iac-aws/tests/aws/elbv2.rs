//! ELBv2: an application load balancer with a target group, HTTP and HTTPS
//! listeners and path/host rules — created, read back with the SDK, updated
//! in place (subnets, security groups, attributes, health check, actions,
//! priorities), replaced (target group, then the load balancer with its
//! listeners and rules), destroyed and gone; bad inputs and a priority
//! clash refused at preview.

use aws_sdk_elasticloadbalancingv2::types::{ActionTypeEnum, LoadBalancerStateEnum};
use iac_aws::ec2::{SecurityGroup, Subnet, Vpc};
use iac_aws::elbv2::{
    AccessLogs, Action, HealthCheck, Listener, ListenerProtocol, ListenerRule, LoadBalancer, Redirect, Scheme,
    TargetGroup,
};
use iac_core::{Error, Stack, Urn};

use crate::support::*;

#[derive(Clone)]
struct Web {
    cert: String,
    lb_name: &'static str,
    scheme: Scheme,
    three_subnets: bool,
    extra_sg: bool,
    idle: i32,
    protection: bool,
    logs: bool,
    tg_name: &'static str,
    tg_port: u16,
    hc_path: &'static str,
    matcher: &'static str,
    delay: i32,
    https_forwards: bool,
    ssl_policy: &'static str,
    http_port: u16,
    api_priority: i32,
    api_paths: &'static [&'static str],
    admin_status: u16,
    env: &'static str,
}

fn web(s: &Stack, x: &Web) {
    let vpc = s.add("vpc", Vpc::builder().cidr_block("10.30.0.0/16").build());
    let subnet = |az: &str, cidr: &str| {
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
    };
    let mut subnets = vec![subnet("a", "10.30.1.0/24"), subnet("b", "10.30.2.0/24")];
    let c = subnet("c", "10.30.3.0/24");
    if x.three_subnets {
        subnets.push(c);
    }
    let sg = s.add("sg", SecurityGroup::builder().name("alb").description("alb").vpc_id(vpc.id.clone()).build());
    let sg2 =
        s.add("sg2", SecurityGroup::builder().name("alb-extra").description("extra").vpc_id(vpc.id.clone()).build());
    let mut groups = vec![sg.id.as_string()];
    if x.extra_sg {
        groups.push(sg2.id.as_string());
    }
    let alb = s.add(
        "alb",
        LoadBalancer::builder()
            .name(x.lb_name)
            .scheme(x.scheme)
            .subnets(subnets)
            .security_groups(groups)
            .idle_timeout_seconds(x.idle)
            .deletion_protection(x.protection)
            .maybe_access_logs(x.logs.then(|| AccessLogs::builder().bucket("acme-alb-logs").prefix("web").build()))
            .tags(iac_aws::tags([("Env", x.env)]))
            .build(),
    );
    s.export("dns", alb.dns_name.clone());
    let tg = s.add(
        "api",
        TargetGroup::builder()
            .name(x.tg_name)
            .port(x.tg_port)
            .vpc_id(vpc.id.as_string())
            .health_check(
                HealthCheck::builder()
                    .path(x.hc_path)
                    .matcher(x.matcher)
                    .interval_seconds(15)
                    .timeout_seconds(5)
                    .healthy_threshold(3)
                    .build(),
            )
            .deregistration_delay_seconds(x.delay)
            .tags(iac_aws::tags([("Env", x.env)]))
            .build(),
    );
    s.add(
        "http",
        Listener::builder()
            .load_balancer_arn(&alb.id)
            .port(x.http_port)
            .default_action(Action::redirect_to_https())
            .build(),
    );
    let https = s.add(
        "https",
        Listener::builder()
            .load_balancer_arn(&alb.id)
            .port(443)
            .protocol(ListenerProtocol::Https)
            .certificate_arn(x.cert.as_str())
            .ssl_policy(x.ssl_policy)
            .default_action(if x.https_forwards {
                Action::forward(&tg.id)
            } else {
                Action::fixed_response(404, "no route")
            })
            .tags(iac_aws::tags([("Env", x.env)]))
            .build(),
    );
    s.add(
        "api-rule",
        ListenerRule::builder()
            .listener_arn(&https.id)
            .priority(x.api_priority)
            .path_patterns(x.api_paths.iter().copied())
            .action(Action::forward(&tg.id))
            .tags(iac_aws::tags([("Env", x.env)]))
            .build(),
    );
    s.add(
        "admin-rule",
        ListenerRule::builder()
            .listener_arn(&https.id)
            .priority(20)
            .host_headers(["admin.example.com"])
            .path_patterns(["/admin/*"])
            .action(Action::fixed_response(x.admin_status, "admins only"))
            .build(),
    );
}

fn id(a: &iac_core::ops::Applied, name: &str) -> String {
    a.report.state.resources[&Urn::new(name)].id.clone().unwrap_or_else(|| panic!("{name} has no id"))
}

fn output(a: &iac_core::ops::Applied, name: &str, key: &str) -> String {
    a.report.state.resources[&Urn::new(name)]
        .outputs
        .get(key)
        .as_str()
        .unwrap_or_else(|| panic!("{name}.{key}"))
        .to_owned()
}

/// An IAM server certificate for the HTTPS listener (the emulator does not
/// check the PEM).
async fn certificate(h: &Harness) -> String {
    let out = h
        .aws
        .iam()
        .await
        .upload_server_certificate()
        .server_certificate_name(unique("alb-cert"))
        .certificate_body("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----")
        .private_key("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----")
        .send()
        .await
        .unwrap();
    out.server_certificate_metadata().unwrap().arn().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn load_balancer_target_group_listeners_and_rules_lifecycle() {
    let h = Harness::new();
    let elb = h.aws.elbv2().await.clone();
    let v1 = Web {
        cert: certificate(&h).await,
        lb_name: "web",
        scheme: Scheme::InternetFacing,
        three_subnets: false,
        extra_sg: false,
        idle: 120,
        protection: true,
        logs: true,
        tg_name: "api",
        tg_port: 8080,
        hc_path: "/healthz",
        matcher: "200-399",
        delay: 30,
        https_forwards: false,
        ssl_policy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
        http_port: 80,
        api_priority: 10,
        api_paths: &["/api/*"],
        admin_status: 403,
        env: "dev",
    };

    let x = v1.clone();
    let s = h.session("elb", move |s| web(s, &x));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "elb").await;
    let lb_arn = id(&a, "alb");
    let lbs = elb.describe_load_balancers().load_balancer_arns(&lb_arn).send().await.unwrap();
    let lb = &lbs.load_balancers()[0];
    assert_eq!(lb.load_balancer_name(), Some("web"));
    assert_eq!(lb.scheme().map(|s| s.as_str()), Some("internet-facing"));
    assert_eq!(lb.state().and_then(|s| s.code()), Some(&LoadBalancerStateEnum::Active));
    assert_eq!(lb.availability_zones().len(), 2);
    assert_eq!(lb.security_groups().len(), 1);
    assert_eq!(output(&a, "alb", "dnsName"), lb.dns_name().unwrap());
    assert_eq!(output(&a, "alb", "zoneId"), lb.canonical_hosted_zone_id().unwrap());
    let suffix = output(&a, "alb", "arnSuffix");
    assert!(suffix.starts_with("app/web/") && lb_arn.ends_with(&format!("loadbalancer/{suffix}")), "{suffix}");
    let attrs = elb.describe_load_balancer_attributes().load_balancer_arn(&lb_arn).send().await.unwrap();
    let attr =
        |k: &str| attrs.attributes().iter().find(|a| a.key() == Some(k)).and_then(|a| a.value()).map(str::to_owned);
    assert_eq!(attr("idle_timeout.timeout_seconds").as_deref(), Some("120"));
    assert_eq!(attr("deletion_protection.enabled").as_deref(), Some("true"));
    assert_eq!(attr("access_logs.s3.enabled").as_deref(), Some("true"));
    assert_eq!(attr("access_logs.s3.bucket").as_deref(), Some("acme-alb-logs"));
    assert_eq!(attr("access_logs.s3.prefix").as_deref(), Some("web"));
    let tags = elb.describe_tags().resource_arns(&lb_arn).send().await.unwrap();
    let lb_tags = tags.tag_descriptions()[0].tags();
    assert!(lb_tags.iter().any(|t| t.key() == Some("Env") && t.value() == Some("dev")));
    assert!(lb_tags.iter().any(|t| t.key() == Some("iac:name") && t.value() == Some("alb")), "identity tag");

    let tg_arn = id(&a, "api");
    let tgs = elb.describe_target_groups().target_group_arns(&tg_arn).send().await.unwrap();
    let tg = &tgs.target_groups()[0];
    assert_eq!((tg.port(), tg.protocol().map(|p| p.as_str())), (Some(8080), Some("HTTP")));
    assert_eq!(tg.target_type().map(|t| t.as_str()), Some("ip"));
    assert_eq!(tg.health_check_path(), Some("/healthz"));
    assert_eq!(tg.matcher().and_then(|m| m.http_code()), Some("200-399"));
    assert_eq!((tg.health_check_interval_seconds(), tg.health_check_timeout_seconds()), (Some(15), Some(5)));
    assert_eq!((tg.healthy_threshold_count(), tg.unhealthy_threshold_count()), (Some(3), Some(2)));
    assert_eq!(output(&a, "api", "arnSuffix"), format!("targetgroup/{}", tg_arn.split("targetgroup/").nth(1).unwrap()));
    let tg_attrs = elb.describe_target_group_attributes().target_group_arn(&tg_arn).send().await.unwrap();
    let delay = tg_attrs.attributes().iter().find(|a| a.key() == Some("deregistration_delay.timeout_seconds")).cloned();
    assert_eq!(delay.and_then(|a| a.value().map(str::to_owned)).as_deref(), Some("30"));

    let listeners = elb.describe_listeners().load_balancer_arn(&lb_arn).send().await.unwrap();
    assert_eq!(listeners.listeners().len(), 2);
    let http = elb.describe_listeners().listener_arns(id(&a, "http")).send().await.unwrap().listeners()[0].clone();
    assert_eq!((http.port(), http.protocol().map(|p| p.as_str())), (Some(80), Some("HTTP")));
    let redirect = http.default_actions()[0].redirect_config().unwrap();
    assert_eq!((redirect.protocol(), redirect.port()), (Some("HTTPS"), Some("443")));
    assert_eq!(redirect.status_code().map(|s| s.as_str()), Some("HTTP_301"));
    let https_arn = id(&a, "https");
    let https = elb.describe_listeners().listener_arns(&https_arn).send().await.unwrap().listeners()[0].clone();
    assert_eq!(https.protocol().map(|p| p.as_str()), Some("HTTPS"));
    assert_eq!(https.certificates()[0].certificate_arn(), Some(v1.cert.as_str()));
    assert_eq!(https.ssl_policy(), Some("ELBSecurityPolicy-TLS13-1-2-2021-06"));
    let fixed = https.default_actions()[0].fixed_response_config().unwrap();
    assert_eq!((fixed.status_code(), fixed.message_body()), (Some("404"), Some("no route")));

    let api_rule = id(&a, "api-rule");
    let rule = elb.describe_rules().rule_arns(&api_rule).send().await.unwrap().rules()[0].clone();
    assert_eq!(rule.priority(), Some("10"));
    assert_eq!(rule.conditions()[0].path_pattern_config().unwrap().values(), ["/api/*"]);
    assert_eq!(rule.actions()[0].target_group_arn(), Some(tg_arn.as_str()));
    let rules = elb.describe_rules().listener_arn(&https_arn).send().await.unwrap();
    assert_eq!(rules.rules().iter().filter(|r| r.is_default() != Some(true)).count(), 2);
    assert_no_drift(&s).await;
    let stack_tag = lb_tags.iter().find(|t| t.key() == Some("iac:stack")).and_then(|t| t.value()).unwrap();
    for r in ["alb", "api", "https", "api-rule"] {
        assert_adoptable(&h, &a, stack_tag, r).await;
    }

    // In place: a third subnet and a second security group, attributes,
    // the health check and deregistration delay, the HTTPS listener's
    // default action and policy, the HTTP listener's port, the API rule's
    // priority and paths, the admin rule's response, tags.
    let v2 = Web {
        three_subnets: true,
        extra_sg: true,
        idle: 300,
        protection: false,
        logs: false,
        hc_path: "/ready",
        matcher: "200,204",
        delay: 60,
        https_forwards: true,
        ssl_policy: "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        http_port: 8081,
        api_priority: 15,
        api_paths: &["/api/*", "/v2/*"],
        admin_status: 401,
        env: "prod",
        ..v1.clone()
    };
    let x = v2.clone();
    let s = h.session("elb", move |s| web(s, &x));
    let b = up(&s).await;
    for r in ["alb", "api", "http", "https", "api-rule", "admin-rule"] {
        assert_eq!(id(&b, r), id(&a, r), "{r} updated in place");
    }
    let lb =
        elb.describe_load_balancers().load_balancer_arns(&lb_arn).send().await.unwrap().load_balancers()[0].clone();
    assert_eq!(lb.availability_zones().len(), 3);
    assert_eq!(lb.security_groups().len(), 2);
    let attrs = elb.describe_load_balancer_attributes().load_balancer_arn(&lb_arn).send().await.unwrap();
    let attr =
        |k: &str| attrs.attributes().iter().find(|a| a.key() == Some(k)).and_then(|a| a.value()).map(str::to_owned);
    assert_eq!(attr("idle_timeout.timeout_seconds").as_deref(), Some("300"));
    assert_eq!(attr("deletion_protection.enabled").as_deref(), Some("false"));
    assert_eq!(attr("access_logs.s3.enabled").as_deref(), Some("false"));
    let tg = elb.describe_target_groups().target_group_arns(&tg_arn).send().await.unwrap().target_groups()[0].clone();
    assert_eq!(tg.health_check_path(), Some("/ready"));
    assert_eq!(tg.matcher().and_then(|m| m.http_code()), Some("200,204"));
    let https = elb.describe_listeners().listener_arns(&https_arn).send().await.unwrap().listeners()[0].clone();
    assert_eq!(https.default_actions()[0].r#type(), Some(&ActionTypeEnum::Forward));
    assert_eq!(https.default_actions()[0].target_group_arn(), Some(tg_arn.as_str()));
    assert_eq!(https.ssl_policy(), Some("ELBSecurityPolicy-TLS13-1-2-Res-2021-06"));
    let http = elb.describe_listeners().listener_arns(id(&b, "http")).send().await.unwrap().listeners()[0].clone();
    assert_eq!(http.port(), Some(8081));
    let rule = elb.describe_rules().rule_arns(&api_rule).send().await.unwrap().rules()[0].clone();
    assert_eq!(rule.priority(), Some("15"));
    assert_eq!(rule.conditions()[0].path_pattern_config().unwrap().values(), ["/api/*", "/v2/*"]);
    let admin = elb.describe_rules().rule_arns(id(&b, "admin-rule")).send().await.unwrap().rules()[0].clone();
    assert_eq!(admin.actions()[0].fixed_response_config().unwrap().status_code(), Some("401"));
    let tags = elb.describe_tags().resource_arns(&https_arn).send().await.unwrap();
    assert!(tags.tag_descriptions()[0].tags().iter().any(|t| t.key() == Some("Env") && t.value() == Some("prod")));
    assert_no_drift(&s).await;

    // Replace the target group (a new name and port): the new group is
    // created first, the listener and rule move to it, the old one goes.
    let v3 = Web { tg_name: "api-v2", tg_port: 9090, ..v2.clone() };
    let x = v3.clone();
    let s = h.session("elb", move |s| web(s, &x));
    let c = up(&s).await;
    let tg2 = id(&c, "api");
    assert_ne!(tg2, tg_arn, "target group replaced");
    assert!(elb.describe_target_groups().target_group_arns(&tg_arn).send().await.is_err(), "old group deleted");
    let tg = elb.describe_target_groups().target_group_arns(&tg2).send().await.unwrap().target_groups()[0].clone();
    assert_eq!((tg.target_group_name(), tg.port()), (Some("api-v2"), Some(9090)));
    let rule = elb.describe_rules().rule_arns(&api_rule).send().await.unwrap().rules()[0].clone();
    assert_eq!(rule.actions()[0].target_group_arn(), Some(tg2.as_str()), "rule forwards to the new group");
    assert_eq!(id(&c, "api-rule"), api_rule, "rule updated in place");
    assert_no_drift(&s).await;

    // Replace the load balancer (internal now): its listeners and rules are
    // replaced with it.
    let v4 = Web { scheme: Scheme::Internal, ..v3.clone() };
    let x = v4.clone();
    let s = h.session("elb", move |s| web(s, &x));
    let d = up(&s).await;
    let lb2 = id(&d, "alb");
    assert_ne!(lb2, lb_arn, "load balancer replaced");
    assert!(elb.describe_load_balancers().load_balancer_arns(&lb_arn).send().await.is_err(), "old one deleted");
    let lb = elb.describe_load_balancers().load_balancer_arns(&lb2).send().await.unwrap().load_balancers()[0].clone();
    assert_eq!(lb.scheme().map(|s| s.as_str()), Some("internal"));
    for r in ["http", "https", "api-rule", "admin-rule"] {
        assert_ne!(id(&d, r), id(&c, r), "{r} replaced with its load balancer");
    }
    let listeners = elb.describe_listeners().load_balancer_arn(&lb2).send().await.unwrap();
    assert_eq!(listeners.listeners().len(), 2);
    let rules = elb.describe_rules().listener_arn(id(&d, "https")).send().await.unwrap();
    assert_eq!(rules.rules().iter().filter(|r| r.is_default() != Some(true)).count(), 2);
    assert_no_drift(&s).await;

    destroy(&s).await;
    assert!(elb.describe_load_balancers().load_balancer_arns(&lb2).send().await.is_err(), "load balancer gone");
    assert!(elb.describe_target_groups().target_group_arns(&tg2).send().await.is_err(), "target group gone");
    assert!(elb.describe_listeners().listener_arns(id(&d, "https")).send().await.is_err(), "listener gone");
    assert!(elb.describe_rules().rule_arns(id(&d, "api-rule")).send().await.is_err(), "rule gone");
    let all = elb.describe_load_balancers().send().await.unwrap();
    assert!(all.load_balancers().iter().all(|l| l.load_balancer_name() != Some("web")), "no load balancer left");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_load_balancer_inputs_and_priority_clashes_are_refused_at_preview() {
    let h = Harness::new();
    let s = h.session("bad-elb", |s| {
        let lb_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188";
        s.add(
            "internal-name",
            LoadBalancer::builder()
                .name("internal-web")
                .subnets(["subnet-1"])
                .idle_timeout_seconds(0)
                .access_logs(AccessLogs::builder().bucket("logs").prefix("/AWSLogs/").build())
                .build(),
        );
        s.add(
            "long-name",
            LoadBalancer::builder()
                .name("a-load-balancer-name-over-32-chars")
                .subnets(["subnet-1", "subnet-2"])
                .build(),
        );
        s.add(
            "bad-tg",
            TargetGroup::builder()
                .name("api_v1")
                .port(0)
                .vpc_id("vpc-1")
                .health_check(
                    HealthCheck::builder()
                        .path("healthz")
                        .matcher("2xx")
                        .interval_seconds(3)
                        .timeout_seconds(10)
                        .healthy_threshold(1)
                        .unhealthy_threshold(11)
                        .build(),
                )
                .deregistration_delay_seconds(4000)
                .build(),
        );
        s.add(
            "no-cert",
            Listener::builder()
                .load_balancer_arn(lb_arn)
                .port(443)
                .protocol(ListenerProtocol::Https)
                .default_action(Action::fixed_response(302, "moved"))
                .build(),
        );
        s.add(
            "http-policy",
            Listener::builder()
                .load_balancer_arn(lb_arn)
                .port(443)
                .ssl_policy("ELBSecurityPolicy-2016-08")
                .default_action(Action::Redirect(Redirect::builder().build()))
                .build(),
        );
        let listener = s.add(
            "listener",
            Listener::builder()
                .load_balancer_arn(lb_arn)
                .port(80)
                .default_action(Action::fixed_response(404, ""))
                .build(),
        );
        s.add(
            "rule-a",
            ListenerRule::builder()
                .listener_arn(&listener.id)
                .priority(7)
                .path_patterns(["/a/*"])
                .action(Action::fixed_response(200, "a"))
                .build(),
        );
        s.add(
            "rule-b",
            ListenerRule::builder()
                .listener_arn(&listener.id)
                .priority(7)
                .host_headers(["b.example.com"])
                .action(Action::fixed_response(200, "b"))
                .build(),
        );
        s.add(
            "rule-bad",
            ListenerRule::builder()
                .listener_arn(&listener.id)
                .priority(60_000)
                .action(Action::fixed_response(200, ""))
                .build(),
        );
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    for (resource, field, what) in [
        ("internal-name", "name", "internal-"),
        ("internal-name", "subnets", "at least two zones"),
        ("internal-name", "idleTimeoutSeconds", "between 1 and 4000"),
        ("internal-name", "accessLogs.prefix", "start or end with /"),
        ("internal-name", "accessLogs.prefix", "AWSLogs"),
        ("long-name", "name", "the limit is 32"),
        ("bad-tg", "name", "letters, digits and hyphens"),
        ("bad-tg", "port", "1 to 65535"),
        ("bad-tg", "healthCheck.path", "starting with /"),
        ("bad-tg", "healthCheck.matcher", "2xx"),
        ("bad-tg", "healthCheck.intervalSeconds", "between 5 and 300"),
        ("bad-tg", "healthCheck.timeoutSeconds", "less than the interval"),
        ("bad-tg", "healthCheck.healthyThreshold", "between 2 and 10"),
        ("bad-tg", "healthCheck.unhealthyThreshold", "between 2 and 10"),
        ("bad-tg", "deregistrationDelaySeconds", "between 0 and 3600"),
        ("no-cert", "certificateArn", "needs a certificate"),
        ("no-cert", "defaultAction", "2XX, 4XX or 5XX"),
        ("http-policy", "sslPolicy", "no TLS policy"),
        ("http-policy", "defaultAction", "redirect to itself"),
        // Two listeners of one load balancer on 443, each naming the other.
        ("no-cert", "port", "http-policy"),
        ("http-policy", "port", "no-cert"),
        // The clash names both rules, on each of them.
        ("rule-a", "priority", "rule-b"),
        ("rule-b", "priority", "rule-a"),
        ("rule-bad", "priority", "between 1 and 50000"),
        ("rule-bad", "pathPatterns", "at least one condition"),
    ] {
        assert!(
            diags.iter().any(|d| d.urn.as_str() == resource && d.field == field && d.message.contains(what)),
            "missing `{what}` on {resource}.{field}: {text}"
        );
    }
}
