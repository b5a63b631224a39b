//! AppConfig: an application with an alarm-watched environment, a
//! feature-flag profile holding a hosted version, a validated free-form
//! profile and a deployment strategy — created, read back with the SDK,
//! updated in place (new flag content making a new version), without
//! drift, destroyed and gone; bad inputs refused at preview.
//!
//! Moto 5.2.5 lacks environments, deployment strategies, ListApplications
//! and ListHostedConfigurationVersions; the harness emulates them after
//! AWS's API reference (`moto_deploy.py`, gaps 1–3), so those calls are
//! checked against that model.

use iac_aws::appconfig::{
    Application, ConfigurationProfile, DeploymentStrategy, Environment, Growth, HostedConfigurationVersion, Monitor,
    ProfileType, Validator,
};
use iac_aws::cloudwatch::{Comparison, MetricAlarm, Stat};
use iac_core::provider::{FindRequest, Provider};
use iac_core::{Error, Stack, Urn};
use serde_json::json;

use crate::support::*;

#[derive(Clone)]
struct Flags {
    description: &'static str,
    new_checkout: bool,
    alarms: &'static [&'static str],
    growth: f64,
    bake: i32,
    max_items: i64,
}

fn alarm(s: &Stack, name: &'static str) -> iac_core::Output<String> {
    s.add(
        name,
        MetricAlarm::builder()
            .name(name)
            .namespace("AWS/ApplicationELB")
            .metric_name("HTTPCode_Target_5XX_Count")
            .statistic(Stat::Sum)
            .period(60)
            .evaluation_periods(1)
            .threshold(5.0)
            .comparison(Comparison::GreaterThan)
            .build(),
    )
    .arn
    .clone()
}

fn program(s: &Stack, x: &Flags) {
    let app = s.add(
        "checkout",
        Application::builder()
            .name("checkout")
            .description(x.description)
            .tags(iac_aws::tags([("Team", "payments")]))
            .build(),
    );
    let monitors = x.alarms.iter().map(|a| Monitor::alarm(alarm(s, a))).collect();
    s.add(
        "prod",
        Environment::builder()
            .application_id(app.id.clone())
            .name("prod")
            .description("production")
            .monitors(monitors)
            .tags(iac_aws::tags([("Stage", "prod")]))
            .build(),
    );
    let flags = s.add(
        "checkout-flags",
        ConfigurationProfile::builder()
            .application_id(app.id.clone())
            .name("checkout-flags")
            .profile_type(ProfileType::FeatureFlags)
            .build(),
    );
    s.add(
        "flags-v",
        HostedConfigurationVersion::builder()
            .application_id(app.id.clone())
            .configuration_profile_id(flags.profile_id.clone())
            .content(json!({
                "version": "1",
                "flags": {"newCheckout": {"name": "New checkout"}},
                "values": {"newCheckout": {"enabled": x.new_checkout}}
            }))
            .version_label("release")
            .build(),
    );
    s.add(
        "limits",
        ConfigurationProfile::builder()
            .application_id(app.id.clone())
            .name("limits")
            .description(x.description)
            .profile_type(ProfileType::Freeform)
            .validators(vec![Validator::JsonSchema(json!({
                "type": "object",
                "properties": {"maxItems": {"type": "integer", "maximum": x.max_items}}
            }))])
            .build(),
    );
    s.add(
        "ten-percent",
        DeploymentStrategy::builder()
            .name("ten-percent")
            .description(x.description)
            .deployment_duration_in_minutes(10)
            .growth_factor(x.growth)
            .growth_type(Growth::Linear)
            .final_bake_time_in_minutes(x.bake)
            .tags(iac_aws::tags([("Team", "payments")]))
            .build(),
    );
}

fn id_of(a: &iac_core::ops::Applied, name: &str) -> String {
    a.report.state.resources[&Urn::new(name)].id.clone().unwrap_or_else(|| panic!("{name} has an id"))
}

#[tokio::test(flavor = "multi_thread")]
async fn appconfig_lifecycle() {
    let h = Harness::new();
    let ac = h.aws.appconfig().await.clone();
    let v1 = Flags {
        description: "checkout flags",
        new_checkout: false,
        alarms: &["checkout-5xx"],
        growth: 10.0,
        bake: 5,
        max_items: 50,
    };

    let x = v1.clone();
    let s = h.session("appconfig", move |s| program(s, &x));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "appconfig").await;
    let app = id_of(&a, "checkout");
    let got = ac.get_application().application_id(&app).send().await.unwrap();
    assert_eq!(got.name(), Some("checkout"));
    assert_eq!(got.description(), Some("checkout flags"));
    let app_arn = a.report.state.resources[&Urn::new("checkout")].outputs.get("arn").as_str().unwrap().to_owned();
    assert_eq!(app_arn, format!("arn:aws:appconfig:us-east-1:123456789012:application/{app}"));
    let tags = ac.list_tags_for_resource().resource_arn(&app_arn).send().await.unwrap();
    assert_eq!(tags.tags().and_then(|t| t.get("Team")).map(String::as_str), Some("payments"));

    let (_, env) = id_of(&a, "prod").split_once('/').map(|(x, y)| (x.to_owned(), y.to_owned())).unwrap();
    let e = ac.get_environment().application_id(&app).environment_id(&env).send().await.unwrap();
    assert_eq!(e.name(), Some("prod"));
    assert_eq!(e.state().map(|s| s.as_str()), Some("READY_FOR_DEPLOYMENT"));
    let alarms: Vec<&str> = e.monitors().iter().map(|m| m.alarm_arn()).collect();
    assert_eq!(alarms, ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-5xx"]);

    let flags_profile = id_of(&a, "checkout-flags").split_once('/').unwrap().1.to_owned();
    let p = ac
        .get_configuration_profile()
        .application_id(&app)
        .configuration_profile_id(&flags_profile)
        .send()
        .await
        .unwrap();
    assert_eq!(p.r#type(), Some("AWS.AppConfig.FeatureFlags"));
    assert_eq!(p.location_uri(), Some("hosted"));
    let limits = id_of(&a, "limits").split_once('/').unwrap().1.to_owned();
    let p = ac.get_configuration_profile().application_id(&app).configuration_profile_id(&limits).send().await.unwrap();
    assert_eq!(p.r#type(), Some("AWS.Freeform"));
    let schema: serde_json::Value = serde_json::from_str(p.validators()[0].content()).unwrap();
    assert_eq!(schema["properties"]["maxItems"]["maximum"], 50);

    let v = ac
        .get_hosted_configuration_version()
        .application_id(&app)
        .configuration_profile_id(&flags_profile)
        .version_number(1)
        .send()
        .await
        .unwrap();
    let content: serde_json::Value = serde_json::from_slice(v.content().unwrap().as_ref()).unwrap();
    assert_eq!(content["values"]["newCheckout"]["enabled"], false);
    assert_eq!(v.content_type(), Some("application/json"));
    assert_eq!(v.version_label(), Some("release"));

    let strategy = id_of(&a, "ten-percent");
    let st = ac.get_deployment_strategy().deployment_strategy_id(&strategy).send().await.unwrap();
    assert_eq!(st.deployment_duration_in_minutes(), 10);
    assert_eq!(st.growth_factor(), Some(10.0));
    assert_eq!(st.growth_type().map(|g| g.as_str()), Some("LINEAR"));
    assert_eq!(st.final_bake_time_in_minutes(), 5);
    assert_eq!(st.replicate_to().map(|r| r.as_str()), Some("NONE"));

    for name in ["checkout", "prod", "checkout-flags", "limits", "ten-percent"] {
        assert_adoptable(&h, &a, "appconfig", name).await;
    }
    // The hosted version takes no tags: it is found again by its content.
    let r = &a.report.state.resources[&Urn::new("flags-v")];
    let found = h
        .aws
        .find(FindRequest {
            type_token: "aws:appconfig:HostedConfigurationVersion",
            urn: Urn::new("flags-v"),
            stack: "appconfig".into(),
            inputs: r.inputs.clone(),
            known_ids: vec![],
        })
        .await
        .unwrap();
    assert_eq!(found.map(|f| f.id), r.id.clone(), "the version holding this content is adopted");
    assert_no_drift(&s).await;

    // In place: descriptions, a second alarm, the strategy's pace, the
    // schema; the flag's new value makes a new version.
    let v2 = Flags {
        description: "checkout flags and limits",
        new_checkout: true,
        alarms: &["checkout-5xx", "checkout-latency"],
        growth: 7.5,
        bake: 10,
        max_items: 80,
    };
    let x = v2.clone();
    let s = h.session("appconfig", move |s| program(s, &x));
    let b = up(&s).await;
    assert_eq!(id_of(&b, "checkout"), app, "the application is updated, not replaced");
    let got = ac.get_application().application_id(&app).send().await.unwrap();
    assert_eq!(got.description(), Some("checkout flags and limits"));
    let e = ac.get_environment().application_id(&app).environment_id(&env).send().await.unwrap();
    assert_eq!(e.monitors().len(), 2);
    let st = ac.get_deployment_strategy().deployment_strategy_id(&strategy).send().await.unwrap();
    assert_eq!((st.growth_factor(), st.final_bake_time_in_minutes()), (Some(7.5), 10));
    assert_eq!(st.description(), Some("checkout flags and limits"));
    let p = ac.get_configuration_profile().application_id(&app).configuration_profile_id(&limits).send().await.unwrap();
    let schema: serde_json::Value = serde_json::from_str(p.validators()[0].content()).unwrap();
    assert_eq!(schema["properties"]["maxItems"]["maximum"], 80);
    let new_version = id_of(&b, "flags-v");
    assert_eq!(new_version, format!("{app}/{flags_profile}/2"), "new content, new version");
    let v = ac
        .get_hosted_configuration_version()
        .application_id(&app)
        .configuration_profile_id(&flags_profile)
        .version_number(2)
        .send()
        .await
        .unwrap();
    let content: serde_json::Value = serde_json::from_slice(v.content().unwrap().as_ref()).unwrap();
    assert_eq!(content["values"]["newCheckout"]["enabled"], true);
    let old = ac
        .get_hosted_configuration_version()
        .application_id(&app)
        .configuration_profile_id(&flags_profile)
        .version_number(1)
        .send()
        .await;
    assert!(old.is_err(), "the old version is deleted once the new one exists");
    assert_no_drift(&s).await;

    destroy(&s).await;
    assert!(ac.get_application().application_id(&app).send().await.is_err(), "application gone");
    assert!(ac.get_environment().application_id(&app).environment_id(&env).send().await.is_err(), "environment gone");
    assert!(ac.get_deployment_strategy().deployment_strategy_id(&strategy).send().await.is_err(), "strategy gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_appconfig_inputs_are_refused_at_preview() {
    let h = Harness::new();
    let s = h.session("bad-appconfig", |s| {
        s.add("app", Application::builder().name("").description("x".repeat(1025)).build());
        s.add(
            "env",
            Environment::builder()
                .application_id("abc1234")
                .name("prod")
                .monitors(vec![Monitor::alarm("arn:aws:sns:us-east-1:123456789012:topic")])
                .build(),
        );
        s.add(
            "flags",
            ConfigurationProfile::builder()
                .application_id("abc1234")
                .name("flags")
                .location_uri("s3://bucket/flags.json")
                .profile_type(ProfileType::FeatureFlags)
                .build(),
        );
        s.add(
            "limits",
            ConfigurationProfile::builder()
                .application_id("abc1234")
                .name("limits")
                .location_uri("ftp://somewhere")
                .profile_type(ProfileType::Freeform)
                .validators(vec![
                    Validator::JsonSchema(json!("not a schema")),
                    Validator::Lambda("arn:aws:sqs:us-east-1:123456789012:q".into()),
                    Validator::JsonSchema(json!({})),
                ])
                .build(),
        );
        s.add(
            "strategy",
            DeploymentStrategy::builder()
                .name("fast")
                .deployment_duration_in_minutes(1441)
                .growth_factor(0.5)
                .final_bake_time_in_minutes(-1)
                .build(),
        );
        s.add(
            "version",
            HostedConfigurationVersion::builder()
                .application_id("abc1234")
                .configuration_profile_id("def5678")
                .content(json!({
                    "version": "2",
                    "flags": {"a": {}},
                    "values": {"b": {"enabled": "yes"}}
                }))
                .version_label("42")
                .build(),
        );
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    for (resource, what) in [
        ("app", "must not be empty"),
        ("app", "at most 1024"),
        ("env", "not a CloudWatch alarm ARN"),
        ("flags", "location must be `hosted`"),
        ("flags", "needs a role AppConfig can read it with"),
        ("limits", "`ftp://somewhere`"),
        ("limits", "at most 2"),
        ("limits", "is not a JSON object"),
        ("limits", "not a Lambda function ARN"),
        ("strategy", "between 0 and 1440"),
        ("strategy", "between 1 and 100"),
        ("version", "\"version\": \"1\""),
        ("version", "not a declared flag"),
        ("version", "boolean `enabled`"),
        ("version", "not only digits"),
    ] {
        assert!(
            diags.iter().any(|d| d.to_string().contains(resource) && d.to_string().contains(what)),
            "missing `{what}` on {resource}: {text}"
        );
    }
}
