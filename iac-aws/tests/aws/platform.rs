//! KMS keys and aliases, log groups, ECR repositories, SNS topics and
//! subscriptions, Secrets Manager secrets: create → read back → update → no
//! drift → replace → delete → gone, checked with the SDK; secret values
//! never in state or output.

use iac_aws::ecr::{Expire, LifecycleRule, Repository, TagStatus};
use iac_aws::kms::{Alias, Key};
use iac_aws::logs::LogGroup;
use iac_aws::secretsmanager::{Secret, SecretValue};
use iac_aws::sns::{Subscription, Topic};
use iac_core::{Error, Output, Stack, Urn};

use crate::support::*;

fn id(a: &iac_core::ops::Applied, name: &str) -> String {
    a.report.state.resources[&Urn::new(name)].id.clone().unwrap_or_else(|| panic!("{name} has no id"))
}

#[derive(Clone, Copy)]
struct Keys {
    rotation: bool,
    alias_to_second: bool,
    alias: &'static str,
    retention: i32,
    group: &'static str,
}

fn keys(s: &Stack, x: Keys) {
    let k1 = s.add(
        "key",
        Key::builder()
            .description(if x.rotation { "rotating" } else { "data" })
            .enable_key_rotation(x.rotation)
            .deletion_window_in_days(7)
            .tags(iac_aws::tags([("Env", if x.rotation { "prod" } else { "dev" })]))
            .build(),
    );
    let k2 = s.add("key2", Key::builder().deletion_window_in_days(7).build());
    s.add(
        "alias",
        Alias::builder()
            .name(x.alias)
            .target_key_id(if x.alias_to_second { k2.id.clone() } else { k1.id.clone() })
            .build(),
    );
    s.add("logs", LogGroup::builder().name(x.group).retention_in_days(x.retention).kms_key_id(k1.arn.clone()).build());
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_aliases_and_log_groups_lifecycle() {
    let h = Harness::new();
    let kms = h.aws.kms().await.clone();
    let logs = h.aws.logs().await.clone();
    let v1 = Keys { rotation: false, alias_to_second: false, alias: "alias/data", retention: 7, group: "/app/web" };

    let s = h.session("keys", move |s| keys(s, v1));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "keys").await;
    for name in ["key", "key2", "logs"] {
        assert_adoptable(&h, &a, "keys", name).await;
    }
    let key = id(&a, "key");
    let meta = kms.describe_key().key_id(&key).send().await.unwrap().key_metadata.unwrap();
    assert_eq!(meta.description(), Some("data"));
    assert!(!kms.get_key_rotation_status().key_id(&key).send().await.unwrap().key_rotation_enabled());
    let aliases = kms.list_aliases().send().await.unwrap();
    let alias = aliases.aliases().iter().find(|x| x.alias_name() == Some("alias/data")).expect("alias");
    assert_eq!(alias.target_key_id(), Some(key.as_str()));
    let groups = logs.describe_log_groups().log_group_name_prefix("/app/web").send().await.unwrap();
    let g = &groups.log_groups()[0];
    assert_eq!(g.retention_in_days(), Some(7));
    assert_eq!(g.kms_key_id(), Some(meta.arn().unwrap()));
    assert_no_drift(&s).await;

    // Update in place: rotation, description, tags; the alias moves to the
    // second key; a longer retention.
    let v2 = Keys { rotation: true, alias_to_second: true, retention: 30, ..v1 };
    let s = h.session("keys", move |s| keys(s, v2));
    let b = up(&s).await;
    assert_eq!(id(&b, "key"), key);
    assert!(kms.get_key_rotation_status().key_id(&key).send().await.unwrap().key_rotation_enabled());
    let meta = kms.describe_key().key_id(&key).send().await.unwrap().key_metadata.unwrap();
    assert_eq!(meta.description(), Some("rotating"));
    let aliases = kms.list_aliases().send().await.unwrap();
    let alias = aliases.aliases().iter().find(|x| x.alias_name() == Some("alias/data")).unwrap();
    assert_eq!(alias.target_key_id(), Some(id(&b, "key2").as_str()));
    let groups = logs.describe_log_groups().log_group_name_prefix("/app/web").send().await.unwrap();
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(30));
    assert_no_drift(&s).await;

    // Replace: a new alias name and a new group name.
    let v3 = Keys { alias: "alias/data-v2", group: "/app/api", ..v2 };
    let s = h.session("keys", move |s| keys(s, v3));
    up(&s).await;
    let aliases = kms.list_aliases().send().await.unwrap();
    let names: Vec<_> = aliases.aliases().iter().filter_map(|x| x.alias_name()).collect();
    assert!(names.contains(&"alias/data-v2") && !names.contains(&"alias/data"), "{names:?}");
    let old = logs.describe_log_groups().log_group_name_prefix("/app/web").send().await.unwrap();
    assert!(old.log_groups().is_empty(), "the old group is deleted");
    assert_no_drift(&s).await;

    // Destroy: keys scheduled for deletion, alias and group gone.
    destroy(&s).await;
    let meta = kms.describe_key().key_id(&key).send().await.unwrap().key_metadata.unwrap();
    assert_eq!(meta.key_state().map(|s| s.as_str()), Some("PendingDeletion"));
    let aliases = kms.list_aliases().send().await.unwrap();
    assert!(!aliases.aliases().iter().any(|x| x.alias_name() == Some("alias/data-v2")));
    let left = logs.describe_log_groups().log_group_name_prefix("/app/").send().await.unwrap();
    assert!(left.log_groups().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn repositories_lifecycle() {
    let h = Harness::new();
    let ecr = h.aws.ecr().await.clone();
    let repo = |name: &'static str, keep: u32, immutable: bool| {
        move |s: &Stack| {
            s.add(
                "repo",
                Repository::builder()
                    .name(name)
                    .scan_on_push(true)
                    .immutable_tags(immutable)
                    .lifecycle_rules(vec![
                        LifecycleRule::builder()
                            .priority(1)
                            .tag_status(TagStatus::Untagged)
                            .expire(Expire::OlderThanDays(7))
                            .build(),
                        LifecycleRule::builder()
                            .priority(2)
                            .tag_status(TagStatus::Any)
                            .expire(Expire::KeepLast(keep))
                            .build(),
                    ])
                    .force_delete(true)
                    .build(),
            );
        }
    };
    let s = h.session("ecr", repo("platform/api", 30, false));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "ecr").await;
    let r = ecr.describe_repositories().repository_names("platform/api").send().await.unwrap();
    let r = &r.repositories()[0];
    assert_eq!(r.image_tag_mutability().map(|m| m.as_str()), Some("MUTABLE"));
    assert_eq!(r.image_scanning_configuration().map(|c| c.scan_on_push()), Some(true));
    let policy = ecr.get_lifecycle_policy().repository_name("platform/api").send().await.unwrap();
    let doc: serde_json::Value = serde_json::from_str(policy.lifecycle_policy_text().unwrap()).unwrap();
    assert_eq!(doc["rules"][1]["selection"]["countNumber"], 30);
    assert_no_drift(&s).await;

    let s = h.session("ecr", repo("platform/api", 10, true));
    up(&s).await;
    let r = ecr.describe_repositories().repository_names("platform/api").send().await.unwrap();
    assert_eq!(r.repositories()[0].image_tag_mutability().map(|m| m.as_str()), Some("IMMUTABLE"));
    let policy = ecr.get_lifecycle_policy().repository_name("platform/api").send().await.unwrap();
    let doc: serde_json::Value = serde_json::from_str(policy.lifecycle_policy_text().unwrap()).unwrap();
    assert_eq!(doc["rules"][1]["selection"]["countNumber"], 10);
    assert_no_drift(&s).await;

    let s = h.session("ecr", repo("platform/api-v2", 10, true));
    up(&s).await;
    assert!(ecr.describe_repositories().repository_names("platform/api").send().await.is_err(), "old repo deleted");
    assert_no_drift(&s).await;
    destroy(&s).await;
    assert!(ecr.describe_repositories().repository_names("platform/api-v2").send().await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn topics_subscriptions_and_secrets_lifecycle() {
    let h = Harness::new();
    let sns = h.aws.sns().await.clone();
    let sm = h.aws.secretsmanager().await.clone();
    let program = |display: &'static str, raw: bool, password_length: u32, secret_name: &'static str| {
        move |s: &Stack| {
            let topic = s.add("topic", Topic::builder().name("alarms").display_name(display).build());
            s.add(
                "sub",
                Subscription::builder()
                    .topic_arn(topic.arn.clone())
                    .protocol("https")
                    .endpoint("https://hooks.example.com/alarms")
                    .raw_message_delivery(raw)
                    .build(),
            );
            s.add(
                "generated",
                Secret::builder()
                    .name(secret_name)
                    .description("db master")
                    .value(SecretValue::Generated {
                        length: password_length,
                        exclude_punctuation: true,
                        exclude_characters: String::new(),
                    })
                    .recovery_window_in_days(0)
                    .build(),
            );
            s.add(
                "given",
                Secret::builder()
                    .name("api-token")
                    .value(SecretValue::Given(Output::known("tok-3f9c2a7e-plaintext".to_owned()).secret().into()))
                    .recovery_window_in_days(0)
                    .build(),
            );
        }
    };
    let s = h.session("notify", program("Alarms", false, 24, "db-master"));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "notify").await;
    for name in ["topic", "generated", "given"] {
        assert_adoptable(&h, &a, "notify", name).await;
    }
    let topic = id(&a, "topic");
    let attrs = sns.get_topic_attributes().topic_arn(&topic).send().await.unwrap().attributes.unwrap();
    assert_eq!(attrs.get("DisplayName").map(String::as_str), Some("Alarms"));
    let subs = sns.list_subscriptions_by_topic().topic_arn(&topic).send().await.unwrap();
    assert_eq!(subs.subscriptions()[0].endpoint(), Some("https://hooks.example.com/alarms"));
    let generated = sm.get_secret_value().secret_id("db-master").send().await.unwrap();
    let password = generated.secret_string().unwrap().to_owned();
    assert_eq!(password.len(), 24, "AWS generated the password");
    let given = sm.get_secret_value().secret_id("api-token").send().await.unwrap();
    assert_eq!(given.secret_string(), Some("tok-3f9c2a7e-plaintext"));
    // Neither value is anywhere in the state directory.
    for entry in walk(h.dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&password), "generated password in {}", entry.display());
        assert!(!text.contains("tok-3f9c2a7e-plaintext"), "given secret in {}", entry.display());
    }
    assert_no_drift(&s).await;

    // Update: topic display name, raw delivery, a longer password (a new
    // value is generated and put).
    let s = h.session("notify", program("Platform alarms", true, 40, "db-master"));
    let b = up(&s).await;
    assert_eq!(id(&b, "topic"), topic);
    let attrs = sns.get_topic_attributes().topic_arn(&topic).send().await.unwrap().attributes.unwrap();
    assert_eq!(attrs.get("DisplayName").map(String::as_str), Some("Platform alarms"));
    let sub = sns.get_subscription_attributes().subscription_arn(id(&b, "sub")).send().await.unwrap();
    assert_eq!(sub.attributes().unwrap().get("RawMessageDelivery").map(String::as_str), Some("true"));
    let generated = sm.get_secret_value().secret_id("db-master").send().await.unwrap();
    assert_eq!(generated.secret_string().unwrap().len(), 40);
    assert_no_drift(&s).await;

    // Replace: a renamed secret.
    let s = h.session("notify", program("Platform alarms", true, 40, "db-master-v2"));
    up(&s).await;
    assert!(sm.describe_secret().secret_id("db-master").send().await.is_err(), "old secret deleted");
    assert_no_drift(&s).await;

    destroy(&s).await;
    assert!(sns.get_topic_attributes().topic_arn(&topic).send().await.is_err(), "topic gone");
    assert!(sm.describe_secret().secret_id("db-master-v2").send().await.is_err(), "secret gone");
    assert!(sm.describe_secret().secret_id("api-token").send().await.is_err(), "secret gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_platform_inputs_are_refused_at_preview_with_every_problem() {
    let h = Harness::new();
    let s = h.session("bad-platform", |s| {
        s.add("key", Key::builder().deletion_window_in_days(3).key_spec("RSA_2048").enable_key_rotation(true).build());
        s.add("alias", Alias::builder().name("data").target_key_id("k").build());
        s.add("logs", LogGroup::builder().name("/x").retention_in_days(10).build());
        s.add(
            "repo",
            Repository::builder()
                .name("Platform/API")
                .lifecycle_rules(vec![
                    LifecycleRule::builder()
                        .priority(1)
                        .tag_status(TagStatus::Tagged)
                        .expire(Expire::KeepLast(1))
                        .build(),
                    LifecycleRule::builder()
                        .priority(1)
                        .tag_status(TagStatus::Untagged)
                        .expire(Expire::KeepLast(0))
                        .build(),
                ])
                .build(),
        );
        s.add("topic", Topic::builder().name("has space").build());
        s.add("secret", Secret::builder().name("s").recovery_window_in_days(3).rotate_after_days(5).build());
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    for (resource, what) in [
        ("key", "7 to 30"),
        ("key", "symmetric"),
        ("alias", "alias/"),
        ("logs", "not a retention"),
        ("repo", "lowercase"),
        ("repo", "used twice"),
        ("repo", "tag prefixes"),
        ("repo", "at least 1"),
        ("topic", "letters, digits"),
        ("secret", "0 (at once) or 7 to 30"),
        ("secret", "rotation_lambda_arn"),
    ] {
        assert!(
            diags.iter().any(|d| d.to_string().contains(resource) && d.to_string().contains(what)),
            "missing `{what}` on {resource}: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn alarms_dashboards_and_streams_lifecycle() {
    use iac_aws::cloudwatch::{Comparison, Dashboard, MetricAlarm, Stat, Widget};
    use iac_aws::kinesis::{Capacity, Stream};
    let h = Harness::new();
    let cw = h.aws.cloudwatch().await.clone();
    let kinesis = h.aws.kinesis().await.clone();
    let program = |threshold: f64, shards: i32, retention: i32, alarm: &'static str, title: &'static str| {
        move |s: &Stack| {
            let topic = s.add("topic", Topic::builder().name("ops").build());
            s.add(
                "alarm",
                MetricAlarm::builder()
                    .name(alarm)
                    .namespace("AWS/ECS")
                    .metric_name("CPUUtilization")
                    .dimensions(iac_aws::tags([("ClusterName", "prod"), ("ServiceName", "api")]))
                    .statistic(Stat::Average)
                    .period(60)
                    .evaluation_periods(3)
                    .threshold(threshold)
                    .comparison(Comparison::GreaterThan)
                    .alarm_actions(vec![topic.arn.clone().into()])
                    .build(),
            );
            s.add(
                "board",
                Dashboard::builder()
                    .name("platform")
                    .widgets(vec![
                        Widget::Text { markdown: format!("# {title}"), width: 24, height: 1 },
                        Widget::Metric {
                            title: "CPU".into(),
                            metrics: vec![(
                                "AWS/ECS".into(),
                                "CPUUtilization".into(),
                                vec![("ServiceName".into(), "api".into())],
                            )],
                            stat: Stat::Average,
                            period: 300,
                            region: "us-east-1".into(),
                            width: 12,
                            height: 6,
                        },
                    ])
                    .build(),
            );
            s.add(
                "stream",
                Stream::builder().name("ticks").capacity(Capacity::Shards(shards)).retention_hours(retention).build(),
            );
        }
    };
    let s = h.session("observe", program(80.0, 1, 24, "cpu-high", "Platform"));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "observe").await;
    for name in ["alarm", "stream"] {
        assert_adoptable(&h, &a, "observe", name).await;
    }
    let alarms = cw.describe_alarms().alarm_names("cpu-high").send().await.unwrap();
    let alarm = &alarms.metric_alarms()[0];
    assert_eq!(alarm.threshold(), Some(80.0));
    assert_eq!(alarm.alarm_actions(), [id(&a, "topic")]);
    assert_eq!(alarm.dimensions().len(), 2);
    let board = cw.get_dashboard().dashboard_name("platform").send().await.unwrap();
    let body: serde_json::Value = serde_json::from_str(board.dashboard_body().unwrap()).unwrap();
    assert_eq!(body["widgets"][1]["properties"]["metrics"][0][1], "CPUUtilization");
    assert_eq!(body["widgets"][1]["y"], 1, "the metric widget wraps below the full-width text");
    let summary = kinesis.describe_stream_summary().stream_name("ticks").send().await.unwrap();
    assert_eq!(summary.stream_description_summary().unwrap().open_shard_count(), 1);
    assert_no_drift(&s).await;

    let s = h.session("observe", program(90.5, 2, 48, "cpu-high", "Platform v2"));
    up(&s).await;
    let alarms = cw.describe_alarms().alarm_names("cpu-high").send().await.unwrap();
    assert_eq!(alarms.metric_alarms()[0].threshold(), Some(90.5));
    let board = cw.get_dashboard().dashboard_name("platform").send().await.unwrap();
    assert!(board.dashboard_body().unwrap().contains("Platform v2"));
    let summary = kinesis.describe_stream_summary().stream_name("ticks").send().await.unwrap();
    let summary = summary.stream_description_summary().unwrap();
    assert_eq!(summary.open_shard_count(), 2);
    assert_eq!(summary.retention_period_hours(), 48);
    assert_no_drift(&s).await;

    let s = h.session("observe", program(90.5, 2, 48, "cpu-very-high", "Platform v2"));
    up(&s).await;
    // Only this test's alarms: target-tracking policies of other tests make
    // alarms of their own in the shared emulator.
    let names: Vec<String> = cw
        .describe_alarms()
        .alarm_name_prefix("cpu-")
        .send()
        .await
        .unwrap()
        .metric_alarms()
        .iter()
        .filter_map(|a| a.alarm_name().map(str::to_owned))
        .collect();
    assert_eq!(names, ["cpu-very-high"], "the old alarm is replaced");
    assert_no_drift(&s).await;

    destroy(&s).await;
    assert!(cw.describe_alarms().alarm_name_prefix("cpu-").send().await.unwrap().metric_alarms().is_empty());
    assert!(cw.get_dashboard().dashboard_name("platform").send().await.is_err());
    assert!(kinesis.describe_stream_summary().stream_name("ticks").send().await.is_err());
}
