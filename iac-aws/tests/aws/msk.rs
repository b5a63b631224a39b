//! MSK: a three-zone cluster with IAM authentication, TLS, per-broker
//! metrics and broker logs — created, read back without drift, re-tagged in
//! place, replaced and destroyed, checked with the SDK; bad broker counts
//! refused at preview.
//!
//! Emulator gaps (moto 5.2.5), not ours: moto's Kafka has none of the
//! cluster update operations (`UpdateBrokerCount`, `UpdateSecurity`, …) and
//! no configuration API at all. The tests check that such a call fails with
//! an error naming the resource and the operation, and leaves the cluster
//! and the state as they were; the harness (`moto_fixes.py`) makes a new
//! cluster ACTIVE and a missing one `NotFoundException`, as in AWS.

use iac_aws::ec2::{SecurityGroup, Subnet, Vpc};
use iac_aws::logs::LogGroup;
use iac_aws::msk::{ClientAuth, Cluster, Configuration, Monitoring};
use iac_core::{Error, Stack, Urn};

use crate::support::*;

#[derive(Clone, Copy)]
struct Kafka {
    name: &'static str,
    brokers: i32,
    team: &'static str,
}

fn kafka(s: &Stack, x: Kafka) {
    let vpc = s.add("vpc", Vpc::builder().cidr_block("10.50.0.0/16").build());
    let subnets = ["a", "b", "c"]
        .iter()
        .enumerate()
        .map(|(n, az)| {
            s.add(
                &format!("subnet-{az}"),
                Subnet::builder()
                    .vpc_id(vpc.id.clone())
                    .cidr_block(format!("10.50.{}.0/24", n + 1))
                    .availability_zone(format!("us-east-1{az}"))
                    .build(),
            )
            .id
            .as_string()
            .into()
        })
        .collect();
    let sg =
        s.add("kafka-sg", SecurityGroup::builder().name("kafka").description("brokers").vpc_id(vpc.id.clone()).build());
    let logs = s.add("broker-logs", LogGroup::builder().name("/msk/events").retention_in_days(7).build());
    s.add(
        "events",
        Cluster::builder()
            .name(x.name)
            .kafka_version("3.8.x")
            .broker_count(x.brokers)
            .instance_type("kafka.m7g.large")
            .client_subnets(subnets)
            .security_groups(vec![sg.id.as_string().into()])
            .volume_size(200)
            .client_auth(ClientAuth::builder().iam(true).build())
            .monitoring(Monitoring::PerBroker)
            .log_group(logs.id.clone())
            .tags(iac_aws::tags([("Team", x.team)]))
            .build(),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cluster_lifecycle() {
    let h = Harness::new();
    let msk = h.aws.kafka().await.clone();
    let v1 = Kafka { name: "events", brokers: 3, team: "data" };
    let s = h.session("kafka", move |s| kafka(s, v1));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "kafka").await;
    let arn = a.report.state.resources[&Urn::new("events")].id.clone().expect("cluster ARN");
    assert_adoptable(&h, &a, "kafka", "events").await;

    let c = msk.describe_cluster().cluster_arn(&arn).send().await.unwrap().cluster_info.unwrap();
    assert_eq!(c.cluster_name(), Some("events"));
    assert_eq!(c.number_of_broker_nodes(), Some(3));
    let nodes = c.broker_node_group_info().unwrap();
    assert_eq!(nodes.instance_type(), Some("kafka.m7g.large"));
    assert_eq!(nodes.client_subnets().len(), 3);
    assert_eq!(nodes.storage_info().and_then(|s| s.ebs_storage_info()).and_then(|e| e.volume_size()), Some(200));
    let iam = c.client_authentication().and_then(|a| a.sasl()).and_then(|s| s.iam()).and_then(|i| i.enabled());
    assert_eq!(iam, Some(true));
    let transit = c.encryption_info().and_then(|e| e.encryption_in_transit()).unwrap();
    assert_eq!(transit.client_broker().map(|b| b.as_str()), Some("TLS"));
    assert_eq!(c.enhanced_monitoring().map(|m| m.as_str()), Some("PER_BROKER"));
    let logs = c.logging_info().and_then(|l| l.broker_logs()).and_then(|b| b.cloud_watch_logs()).unwrap();
    assert_eq!(logs.log_group(), Some("/msk/events"));
    assert_eq!(c.tags().and_then(|t| t.get("Team")).map(String::as_str), Some("data"));
    assert!(c.tags().is_some_and(|t| t.contains_key("iac:stack")), "identity tags");
    assert_no_drift(&s).await;

    // In place: tags.
    let v2 = Kafka { team: "streaming", ..v1 };
    let s = h.session("kafka", move |s| kafka(s, v2));
    let b = up(&s).await;
    assert_eq!(b.report.state.resources[&Urn::new("events")].id.as_deref(), Some(arn.as_str()));
    let c = msk.describe_cluster().cluster_arn(&arn).send().await.unwrap().cluster_info.unwrap();
    assert_eq!(c.tags().and_then(|t| t.get("Team")).map(String::as_str), Some("streaming"));
    assert_no_drift(&s).await;

    // In place against AWS, missing in moto: more brokers. The failure names
    // the resource and the operation; the cluster is unchanged.
    let v3 = Kafka { brokers: 6, ..v2 };
    let s = h.session("kafka", move |s| kafka(s, v3));
    let failed = s.up(&opts(), None, &mut |_, _| Ok(true)).await.expect("up runs");
    let text = format!("{:?}", failed.report.failures);
    assert!(text.contains("events") && text.contains("UpdateBrokerCount"), "failure names both: {text}");
    let c = msk.describe_cluster().cluster_arn(&arn).send().await.unwrap().cluster_info.unwrap();
    assert_eq!(c.number_of_broker_nodes(), Some(3));

    // Replace: a new name is a new cluster.
    let v4 = Kafka { name: "events-v2", ..v2 };
    let s = h.session("kafka", move |s| kafka(s, v4));
    let d = up(&s).await;
    let new_arn = d.report.state.resources[&Urn::new("events")].id.clone().unwrap();
    assert_ne!(new_arn, arn);
    assert!(msk.describe_cluster().cluster_arn(&arn).send().await.is_err(), "old cluster gone");
    let c = msk.describe_cluster().cluster_arn(&new_arn).send().await.unwrap().cluster_info.unwrap();
    assert_eq!(c.cluster_name(), Some("events-v2"));
    assert_no_drift(&s).await;

    destroy(&s).await;
    assert!(msk.describe_cluster().cluster_arn(&new_arn).send().await.is_err(), "cluster gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_configuration_failure_names_the_resource_and_the_operation() {
    let h = Harness::new();
    let s = h.session("kafka-config", |s| {
        s.add(
            "config",
            Configuration::builder()
                .name("events-config")
                .kafka_versions(vec!["3.6.0".into()])
                .server_properties(iac_aws::tags([("auto.create.topics.enable", "false")]))
                .build(),
        );
    });
    let failed = s.up(&opts(), None, &mut |_, _| Ok(true)).await.expect("up runs");
    let text = format!("{:?}", failed.report.failures);
    assert!(text.contains("config") && text.contains("CreateConfiguration"), "failure names both: {text}");
    assert!(!failed.report.state.resources.contains_key(&Urn::new("config")), "nothing recorded");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_kafka_inputs_are_refused_at_preview() {
    let h = Harness::new();
    let s = h.session("bad-kafka", |s| {
        s.add(
            "events",
            Cluster::builder()
                .name("9events")
                .kafka_version("three")
                .broker_count(4)
                .instance_type("m5.large")
                .client_subnets(vec!["subnet-a".into(), "subnet-b".into(), "subnet-c".into()])
                .volume_size(0)
                .client_broker(iac_aws::msk::ClientBrokerEncryption::Plaintext)
                .client_auth(ClientAuth::builder().scram(true).build())
                .build(),
        );
        s.add("config", Configuration::builder().name("has space").server_properties(Default::default()).build());
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    for (resource, what) in [
        ("events", "starting with a letter"),
        ("events", "not a Kafka version"),
        ("events", "multiple of the subnet count"),
        ("events", "not an MSK broker type"),
        ("events", "between 1 and 16384"),
        ("events", "need TLS between clients and brokers"),
        ("config", "letters, digits and hyphens"),
        ("config", "no properties"),
    ] {
        assert!(
            diags.iter().any(|d| d.to_string().contains(resource) && d.to_string().contains(what)),
            "missing `{what}` on {resource}: {text}"
        );
    }
}

/// Prometheus open monitoring is sent and read back, and the bootstrap
/// broker strings (`GetBootstrapBrokers`, emulated by the harness after
/// AWS's API reference: moto 5.2.5 lacks it) are the cluster's outputs:
/// one address per broker on the port of each way clients may connect,
/// empty for the others. MSK's `3.8.x` version name is taken.
#[tokio::test(flavor = "multi_thread")]
async fn prometheus_and_bootstrap_brokers() {
    let h = Harness::new();
    let msk = h.aws.kafka().await.clone();
    let s = h.session("kafka-brokers", |s| {
        let vpc = s.add("vpc", Vpc::builder().cidr_block("10.51.0.0/16").build());
        let subnets = ["a", "b"]
            .iter()
            .enumerate()
            .map(|(n, az)| {
                s.add(
                    &format!("subnet-{az}"),
                    Subnet::builder()
                        .vpc_id(vpc.id.clone())
                        .cidr_block(format!("10.51.{}.0/24", n + 1))
                        .availability_zone(format!("us-east-1{az}"))
                        .build(),
                )
                .id
                .as_string()
                .into()
            })
            .collect();
        s.add(
            "clicks",
            Cluster::builder()
                .name("clicks")
                .kafka_version("3.8.x")
                .broker_count(2)
                .instance_type("kafka.t3.small")
                .client_subnets(subnets)
                .client_auth(ClientAuth::builder().iam(true).build())
                .prometheus(true)
                .build(),
        );
    });
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "kafka-brokers").await;
    let r = &a.report.state.resources[&Urn::new("clicks")];
    let arn = r.id.clone().expect("cluster ARN");
    let c = msk.describe_cluster().cluster_arn(&arn).send().await.unwrap().cluster_info.unwrap();
    assert_eq!(c.current_broker_software_info().and_then(|s| s.kafka_version()), Some("3.8.x"));
    let prometheus = c.open_monitoring().and_then(|o| o.prometheus()).expect("open monitoring");
    assert_eq!(prometheus.jmx_exporter().and_then(|j| j.enabled_in_broker()), Some(true));
    assert_eq!(prometheus.node_exporter().and_then(|n| n.enabled_in_broker()), Some(true));
    let iam = r.output("bootstrapBrokersSaslIam");
    let iam = iam.as_str().expect("SASL/IAM brokers");
    assert_eq!(iam.split(',').count(), 2, "{iam}");
    assert!(iam.split(',').all(|b| b.starts_with("b-") && b.ends_with(":9098")), "{iam}");
    let b = msk.get_bootstrap_brokers().cluster_arn(&arn).send().await.unwrap();
    assert_eq!(b.bootstrap_broker_string_sasl_iam(), Some(iam));
    for other in ["bootstrapBrokers", "bootstrapBrokersTls", "bootstrapBrokersSaslScram"] {
        assert_eq!(r.output(other).as_str(), Some(""), "{other}: IAM is the only way in");
    }
    assert_no_drift(&s).await;
    destroy(&s).await;
    assert!(msk.describe_cluster().cluster_arn(&arn).send().await.is_err(), "cluster gone");
}
