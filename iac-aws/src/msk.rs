//! Amazon MSK (managed Kafka): provisioned clusters and their broker
//! configurations.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_kafka::types::{
    BrokerLogs, BrokerNodeGroupInfo, ClientAuthentication, ClientBroker, CloudWatchLogs, ClusterInfo, ClusterState,
    ConfigurationInfo, EbsStorageInfo, EncryptionAtRest, EncryptionInTransit, EncryptionInfo, EnhancedMonitoring, Iam,
    JmxExporterInfo, LoggingInfo, NodeExporterInfo, OpenMonitoringInfo, PrometheusInfo, Sasl, Scram, StorageInfo, Tls,
    Unauthenticated,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{
    drop_computed_when_unset, list_expr, map, opt_expr, ordered_like, tags_value, tags_with_identity, unless_known,
    wait_for, In, TAG_NAME, TAG_STACK,
};

pub(crate) const CLUSTER: &str = "aws:msk:Cluster";
pub(crate) const CONFIGURATION: &str = "aws:msk:Configuration";

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    Some(match type_token {
        CLUSTER => &ClusterHandler,
        CONFIGURATION => &ConfigurationHandler,
        _ => return None,
    })
}

/// Schema of [`Cluster`]: name, network placement and at-rest encryption
/// are fixed; version, broker count and type, storage, in-transit
/// encryption, client authentication, configuration, monitoring, logging
/// and tags update in place, one MSK operation at a time. The bootstrap
/// broker strings follow the brokers and the ways clients connect, so an
/// update may change them.
pub static CLUSTER_SCHEMA: Schema = Schema {
    replace_on: &["name", "clientSubnets", "securityGroups", "encryptionAtRestKmsKey", "inClusterEncryption"],
    delete_before_replace: true,
    taggable: true,
    computed_on_update: &[
        "bootstrapBrokers",
        "bootstrapBrokersTls",
        "bootstrapBrokersSaslIam",
        "bootstrapBrokersSaslScram",
    ],
    ..Schema::new(CLUSTER, "aws")
};

/// Schema of [`Configuration`]: the name and Kafka versions are fixed; new
/// properties or description make a new revision.
pub static CONFIGURATION_SCHEMA: Schema = Schema {
    replace_on: &["name", "kafkaVersions"],
    delete_before_replace: true,
    computed_on_update: &["latestRevision"],
    ..Schema::new(CONFIGURATION, "aws")
};

/// How clients talk to brokers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ClientBrokerEncryption {
    /// TLS only.
    #[default]
    Tls,
    /// TLS and plaintext.
    TlsPlaintext,
    /// Plaintext only.
    Plaintext,
}

impl ClientBrokerEncryption {
    fn as_str(self) -> &'static str {
        match self {
            ClientBrokerEncryption::Tls => "TLS",
            ClientBrokerEncryption::TlsPlaintext => "TLS_PLAINTEXT",
            ClientBrokerEncryption::Plaintext => "PLAINTEXT",
        }
    }
}

/// How clients authenticate (any combination).
#[derive(Clone, Debug, Default, bon::Builder)]
pub struct ClientAuth {
    /// SASL/IAM.
    #[builder(default)]
    pub iam: bool,
    /// SASL/SCRAM (users in Secrets Manager).
    #[builder(default)]
    pub scram: bool,
    /// Mutual TLS with certificates from these private CAs.
    #[builder(default)]
    pub tls_certificate_authority_arns: Vec<String>,
    /// Unauthenticated access.
    #[builder(default)]
    pub unauthenticated: bool,
}

/// How much CloudWatch gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Monitoring {
    /// Cluster-level metrics.
    #[default]
    Default,
    /// Per broker.
    PerBroker,
    /// Per topic per broker.
    PerTopicPerBroker,
    /// Per topic per partition.
    PerTopicPerPartition,
}

impl Monitoring {
    fn as_str(self) -> &'static str {
        match self {
            Monitoring::Default => "DEFAULT",
            Monitoring::PerBroker => "PER_BROKER",
            Monitoring::PerTopicPerBroker => "PER_TOPIC_PER_BROKER",
            Monitoring::PerTopicPerPartition => "PER_TOPIC_PER_PARTITION",
        }
    }
}

/// An MSK provisioned cluster.
///
/// ```
/// use iac_aws::msk::{ClientAuth, Cluster, Monitoring};
/// let events = Cluster::builder()
///     .name("events")
///     .kafka_version("3.6.0")
///     .broker_count(3)
///     .instance_type("kafka.m7g.large")
///     .client_subnets(vec!["subnet-a".into(), "subnet-b".into(), "subnet-c".into()])
///     .security_groups(vec!["sg-0kafka".into()])
///     .volume_size(500)
///     .client_auth(ClientAuth::builder().iam(true).build())
///     .monitoring(Monitoring::PerBroker)
///     .build();
/// # let _ = events;
/// ```
#[derive(bon::Builder)]
pub struct Cluster {
    /// The cluster's name (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// The Kafka version (upgrades in place).
    #[builder(into)]
    pub kafka_version: String,
    /// Brokers, a multiple of the subnet count (grows in place; MSK cannot
    /// shrink a cluster).
    pub broker_count: i32,
    /// The broker instance type (`kafka.m7g.large`).
    #[builder(into)]
    pub instance_type: String,
    /// One subnet per zone, two or three zones (replaces).
    pub client_subnets: Vec<Input<String>>,
    /// The brokers' security groups (replaces).
    #[builder(default)]
    pub security_groups: Vec<Input<String>>,
    /// EBS storage per broker in GiB (grows in place).
    #[builder(default = 100)]
    pub volume_size: i32,
    /// The KMS key for data at rest (else `aws/kafka`; replaces).
    #[builder(into)]
    pub encryption_at_rest_kms_key: Option<Input<String>>,
    /// Client-to-broker encryption.
    #[builder(default)]
    pub client_broker: ClientBrokerEncryption,
    /// Broker-to-broker TLS (replaces).
    #[builder(default = true)]
    pub in_cluster_encryption: bool,
    /// Client authentication.
    #[builder(default)]
    pub client_auth: ClientAuth,
    /// A broker configuration: its ARN and revision.
    pub configuration: Option<(Input<String>, Input<i64>)>,
    /// CloudWatch metrics level.
    #[builder(default)]
    pub monitoring: Monitoring,
    /// Open monitoring with Prometheus: the JMX and node exporters on every
    /// broker (ports 11001 and 11002), for a Prometheus server in the VPC
    /// to scrape.
    #[builder(default)]
    pub prometheus: bool,
    /// Broker logs to this CloudWatch log group.
    #[builder(into)]
    pub log_group: Option<Input<String>>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
    /// Accepts a Kafka version or broker type the AWS catalog does not
    /// hold, saying why (the catalog is older than what MSK offers
    /// now); see [`crate::catalog`]. Not sent to AWS.
    #[builder(into)]
    pub catalog_override: Option<crate::catalog::CatalogOverride>,
}

/// Outputs of a [`Cluster`].
pub struct ClusterOutputs {
    /// Its ARN (the resource's id).
    pub arn: Output<String>,
    /// The ZooKeeper connection string.
    pub zookeeper_connect_string: Output<String>,
    /// The brokers for plaintext clients (`host:9092,…`), when plaintext
    /// and unauthenticated access are on; else empty.
    pub bootstrap_brokers: Output<String>,
    /// The brokers for TLS clients (`host:9094,…`), when TLS and
    /// unauthenticated or certificate access are on; else empty.
    pub bootstrap_brokers_tls: Output<String>,
    /// The brokers for SASL/IAM clients (`host:9098,…`), when IAM
    /// authentication is on; else empty.
    pub bootstrap_brokers_sasl_iam: Output<String>,
    /// The brokers for SASL/SCRAM clients (`host:9096,…`), when SCRAM
    /// authentication is on; else empty.
    pub bootstrap_brokers_sasl_scram: Output<String>,
}

impl Resource for Cluster {
    type Outputs = ClusterOutputs;
    fn schema() -> &'static Schema {
        &CLUSTER_SCHEMA
    }
    fn inputs(&self) -> Expr {
        let auth = map([
            ("iam", Value::from(self.client_auth.iam)),
            ("scram", Value::from(self.client_auth.scram)),
            ("tlsCertificateAuthorityArns", Value::from(self.client_auth.tls_certificate_authority_arns.clone())),
            ("unauthenticated", Value::from(self.client_auth.unauthenticated)),
        ]);
        let configuration = match &self.configuration {
            None => Expr::Value(Value::Null),
            Some((arn, revision)) => props([("arn", arn.to_expr()), ("revision", revision.to_expr())]),
        };
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("kafkaVersion", Value::from(self.kafka_version.as_str()).into()),
            ("brokerCount", Value::from(i64::from(self.broker_count)).into()),
            ("instanceType", Value::from(self.instance_type.as_str()).into()),
            ("clientSubnets", list_expr(&self.client_subnets)),
            ("securityGroups", list_expr(&self.security_groups)),
            ("volumeSize", Value::from(i64::from(self.volume_size)).into()),
            ("encryptionAtRestKmsKey", opt_expr(self.encryption_at_rest_kms_key.as_ref())),
            ("clientBroker", Value::from(self.client_broker.as_str()).into()),
            ("inClusterEncryption", Value::from(self.in_cluster_encryption).into()),
            ("clientAuth", auth.into()),
            ("configuration", configuration),
            ("monitoring", Value::from(self.monitoring.as_str()).into()),
            // Unset when off, so clusters recorded before the option existed
            // read back unchanged.
            ("prometheus", Value::from(self.prometheus.then_some(true)).into()),
            ("logGroup", opt_expr(self.log_group.as_ref())),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> ClusterOutputs {
        ClusterOutputs {
            arn: Output::from_ref(urn, "id"),
            zookeeper_connect_string: Output::from_ref(urn, "zookeeperConnectString"),
            bootstrap_brokers: Output::from_ref(urn, "bootstrapBrokers"),
            bootstrap_brokers_tls: Output::from_ref(urn, "bootstrapBrokersTls"),
            bootstrap_brokers_sasl_iam: Output::from_ref(urn, "bootstrapBrokersSaslIam"),
            bootstrap_brokers_sasl_scram: Output::from_ref(urn, "bootstrapBrokersSaslScram"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        let n = &self.name;
        let ok = !n.is_empty()
            && n.len() <= 64
            && n.starts_with(|ch: char| ch.is_ascii_alphabetic())
            && n.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-');
        c.check(ok, "name", || format!("`{n}`: 1–64 letters, digits and hyphens, starting with a letter"));
        let v = &self.kafka_version;
        c.check(is_kafka_version(v), "kafkaVersion", || format!("`{v}` is not a Kafka version (like 3.6.0 or 3.8.x)"));
        let zones = self.client_subnets.len();
        c.check((2..=3).contains(&zones), "clientSubnets", || {
            format!("{zones} subnet(s): MSK spreads brokers over two or three zones, one subnet each")
        });
        c.check(self.broker_count >= 1, "brokerCount", || format!("{}: at least one broker", self.broker_count));
        if zones > 0 && self.broker_count >= 1 {
            c.check(self.broker_count as usize % zones == 0, "brokerCount", || {
                format!(
                    "{} brokers over {zones} subnets: the broker count must be a multiple of the subnet count",
                    self.broker_count
                )
            });
        }
        let mut cat = crate::catalog::Scope::new(self.catalog_override.as_ref());
        if is_kafka_version(v) {
            cat.report(c, "kafkaVersion", crate::catalog::engine_versions::check("kafka", v));
        }
        let broker = &self.instance_type;
        if broker.starts_with("kafka.") && broker.matches('.').count() == 2 {
            cat.report(c, "instanceType", crate::catalog::instance_classes::check("kafka", broker));
        } else {
            c.fail("instanceType", format!("`{broker}` is not an MSK broker type (like kafka.m7g.large)"));
        }
        c.check((1..=16_384).contains(&self.volume_size), "volumeSize", || {
            format!("{} GiB: between 1 and 16384", self.volume_size)
        });
        let a = &self.client_auth;
        c.check(
            a.iam || a.scram || a.unauthenticated || !a.tls_certificate_authority_arns.is_empty(),
            "clientAuth",
            || "no way for clients to connect: enable IAM, SCRAM, TLS certificates or unauthenticated access".into(),
        );
        if self.client_broker == ClientBrokerEncryption::Plaintext {
            c.check(!(a.iam || a.scram || !a.tls_certificate_authority_arns.is_empty()), "clientAuth", || {
                "IAM, SCRAM and TLS authentication need TLS between clients and brokers, not PLAINTEXT".into()
            });
        }
        cat.finish(c);
    }
}

/// MSK's version names: `3.6.0`, `2.8.2.tiered`, and from 3.7 on `3.7.x`
/// (MSK applies the patch releases itself), `3.7.x.kraft` for KRaft mode.
fn is_kafka_version(v: &str) -> bool {
    if v.ends_with(".tiered") {
        return true;
    }
    let v = v.strip_suffix(".kraft").unwrap_or(v);
    let parts: Vec<&str> = v.split('.').collect();
    let digits = |p: &str| !p.is_empty() && p.chars().all(|ch| ch.is_ascii_digit());
    match parts.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            rest.iter().all(|p| digits(p)) && (digits(last) || (*last == "x" && rest.len() == 2))
        }
        _ => false,
    }
}

fn open_monitoring(i: &In<'_>) -> OpenMonitoringInfo {
    let on = i.opt_bool("prometheus").unwrap_or(false);
    OpenMonitoringInfo::builder()
        .prometheus(
            PrometheusInfo::builder()
                .jmx_exporter(JmxExporterInfo::builder().enabled_in_broker(on).build())
                .node_exporter(NodeExporterInfo::builder().enabled_in_broker(on).build())
                .build(),
        )
        .build()
}

fn encryption(i: &In<'_>) -> EncryptionInfo {
    let at_rest =
        i.opt_str("encryptionAtRestKmsKey").map(|k| EncryptionAtRest::builder().data_volume_kms_key_id(k).build());
    EncryptionInfo::builder()
        .set_encryption_at_rest(at_rest)
        .encryption_in_transit(
            EncryptionInTransit::builder()
                .client_broker(ClientBroker::from(i.opt_str("clientBroker").unwrap_or("TLS")))
                .in_cluster(i.opt_bool("inClusterEncryption").unwrap_or(true))
                .build(),
        )
        .build()
}

fn client_auth(i: &In<'_>) -> ClientAuthentication {
    let a = i.value("clientAuth");
    let flag = |k: &str| a.get(k).as_bool().unwrap_or(false);
    let cas: Vec<String> = a
        .get("tlsCertificateAuthorityArns")
        .as_list()
        .map(|l| l.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    ClientAuthentication::builder()
        .sasl(
            Sasl::builder()
                .iam(Iam::builder().enabled(flag("iam")).build())
                .scram(Scram::builder().enabled(flag("scram")).build())
                .build(),
        )
        .tls(Tls::builder().enabled(!cas.is_empty()).set_certificate_authority_arn_list(Some(cas)).build())
        .unauthenticated(Unauthenticated::builder().enabled(flag("unauthenticated")).build())
        .build()
}

fn configuration_info(i: &In<'_>) -> Option<ConfigurationInfo> {
    let c = i.value("configuration");
    let (arn, revision) = (c.get("arn").as_str()?, c.get("revision").as_i64()?);
    Some(ConfigurationInfo::builder().arn(arn).revision(revision).build())
}

fn logging(i: &In<'_>) -> LoggingInfo {
    let group = i.opt_str("logGroup");
    let cw = CloudWatchLogs::builder().enabled(group.is_some()).set_log_group(group.map(str::to_owned)).build();
    LoggingInfo::builder().broker_logs(BrokerLogs::builder().cloud_watch_logs(cw).build()).build()
}

fn values(d: &ClusterInfo, recorded: &Value) -> (Value, Value) {
    let nodes = d.broker_node_group_info();
    let transit = d.encryption_info().and_then(|e| e.encryption_in_transit());
    let auth = d.client_authentication();
    let sasl = auth.and_then(|a| a.sasl());
    let tls =
        auth.and_then(|a| a.tls()).filter(|t| t.enabled().unwrap_or(!t.certificate_authority_arn_list().is_empty()));
    let software = d.current_broker_software_info();
    let configuration = software
        .and_then(|s| Some((s.configuration_arn()?, s.configuration_revision()?)))
        .filter(|(arn, _)| arn.starts_with("arn:"))
        .map_or(Value::Null, |(arn, rev)| map([("arn", Value::from(arn)), ("revision", Value::from(rev))]));
    let prometheus = d.open_monitoring().and_then(|o| o.prometheus()).is_some_and(|p| {
        p.jmx_exporter().and_then(|j| j.enabled_in_broker()) == Some(true)
            || p.node_exporter().and_then(|n| n.enabled_in_broker()) == Some(true)
    });
    let log_group = d
        .logging_info()
        .and_then(|l| l.broker_logs())
        .and_then(|b| b.cloud_watch_logs())
        .filter(|c| c.enabled() == Some(true))
        .and_then(|c| c.log_group());
    let mut inputs = map([
        ("name", Value::from(d.cluster_name())),
        ("kafkaVersion", Value::from(software.and_then(|s| s.kafka_version()))),
        ("brokerCount", Value::from(d.number_of_broker_nodes().map(i64::from))),
        ("instanceType", Value::from(nodes.and_then(|n| n.instance_type()))),
        (
            "clientSubnets",
            ordered_like(nodes.map(|n| n.client_subnets().to_vec()).unwrap_or_default(), recorded.get("clientSubnets")),
        ),
        (
            "securityGroups",
            ordered_like(
                nodes.map(|n| n.security_groups().to_vec()).unwrap_or_default(),
                recorded.get("securityGroups"),
            ),
        ),
        (
            "volumeSize",
            Value::from(
                nodes
                    .and_then(|n| n.storage_info())
                    .and_then(|s| s.ebs_storage_info())
                    .and_then(|e| e.volume_size())
                    .map(i64::from),
            ),
        ),
        (
            "encryptionAtRestKmsKey",
            Value::from(d.encryption_info().and_then(|e| e.encryption_at_rest()).map(|a| a.data_volume_kms_key_id())),
        ),
        ("clientBroker", Value::from(transit.and_then(|t| t.client_broker()).map_or("TLS", |c| c.as_str()))),
        ("inClusterEncryption", Value::from(transit.and_then(|t| t.in_cluster()).unwrap_or(true))),
        (
            "clientAuth",
            map([
                ("iam", Value::from(sasl.and_then(|s| s.iam()).and_then(|x| x.enabled()).unwrap_or(false))),
                ("scram", Value::from(sasl.and_then(|s| s.scram()).and_then(|x| x.enabled()).unwrap_or(false))),
                (
                    "tlsCertificateAuthorityArns",
                    Value::from(tls.map(|t| t.certificate_authority_arn_list().to_vec()).unwrap_or_default()),
                ),
                (
                    "unauthenticated",
                    Value::from(auth.and_then(|a| a.unauthenticated()).and_then(|u| u.enabled()).unwrap_or(false)),
                ),
            ]),
        ),
        ("configuration", configuration),
        ("monitoring", Value::from(d.enhanced_monitoring().map_or("DEFAULT", |m| m.as_str()))),
        ("prometheus", Value::from(prometheus.then_some(true))),
        ("logGroup", Value::from(log_group)),
        ("tags", tags_value(d.tags().into_iter().flat_map(|t| t.iter().map(|(k, v)| (k.as_str(), v.as_str()))))),
    ]);
    drop_computed_when_unset(&mut inputs, recorded, &["encryptionAtRestKmsKey", "securityGroups"]);
    let outputs = map([("zookeeperConnectString", Value::from(d.zookeeper_connect_string()))]);
    (inputs, outputs)
}

/// The outputs of a cluster: [`values`]' and its bootstrap broker strings
/// (`GetBootstrapBrokers`, answered once the cluster is past CREATING).
async fn outputs_of(p: &AwsProvider, d: &ClusterInfo, recorded: &Value) -> Result<Value, ProviderError> {
    let mut outputs = values(d, recorded).1;
    let arn = d.cluster_arn().unwrap_or_default();
    let b = p
        .kafka()
        .await
        .get_bootstrap_brokers()
        .cluster_arn(arn)
        .send()
        .await
        .map_err(|e| aws_err("GetBootstrapBrokers", e))?;
    if let Value::Map(m) = &mut outputs {
        for (key, value) in [
            ("bootstrapBrokers", b.bootstrap_broker_string()),
            ("bootstrapBrokersTls", b.bootstrap_broker_string_tls()),
            ("bootstrapBrokersSaslIam", b.bootstrap_broker_string_sasl_iam()),
            ("bootstrapBrokersSaslScram", b.bootstrap_broker_string_sasl_scram()),
        ] {
            m.insert(key.to_owned(), Value::from(value.unwrap_or_default()));
        }
    }
    Ok(outputs)
}

async fn describe_cluster(p: &AwsProvider, arn: &str) -> Result<Option<ClusterInfo>, ProviderError> {
    match p.kafka().await.describe_cluster().cluster_arn(arn).send().await {
        Ok(o) => Ok(o.cluster_info.filter(|c| c.state() != Some(&ClusterState::Deleting))),
        Err(e) if is_code(&e, &["NotFoundException"]) => Ok(None),
        Err(e) => Err(aws_err("DescribeCluster", e)),
    }
}

/// Waits for `ACTIVE` (MSK runs one operation at a time) and returns the
/// description, whose `current_version` the next update must quote.
async fn wait_active(p: &AwsProvider, arn: &str, timeout: Option<Duration>) -> Result<ClusterInfo, ProviderError> {
    wait_for(&format!("MSK cluster {arn} active"), timeout, Duration::from_secs(120 * 60), || async {
        match describe_cluster(p, arn).await? {
            Some(c) if c.state() == Some(&ClusterState::Failed) => {
                Err(ProviderError::fatal("DescribeCluster", format!("cluster {arn} failed")))
            }
            Some(c) if c.state() == Some(&ClusterState::Active) => Ok(Some(c)),
            _ => Ok(None),
        }
    })
    .await
}

pub(crate) struct ClusterHandler;

#[async_trait]
impl Handler for ClusterHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateCluster";
        let i = In::new(&req.inputs, op);
        let nodes = BrokerNodeGroupInfo::builder()
            .instance_type(i.str("instanceType")?)
            .set_client_subnets(Some(i.strs("clientSubnets")))
            .set_security_groups(Some(i.strs("securityGroups")).filter(|v| !v.is_empty()))
            .storage_info(
                StorageInfo::builder()
                    .ebs_storage_info(
                        EbsStorageInfo::builder().volume_size(i.opt_i32("volumeSize").unwrap_or(100)).build(),
                    )
                    .build(),
            )
            .build();
        let tags: HashMap<String, String> = tags_with_identity(&req.inputs, &req.stack, &req.urn).into_iter().collect();
        let out = p
            .kafka()
            .await
            .create_cluster()
            .cluster_name(i.str("name")?)
            .kafka_version(i.str("kafkaVersion")?)
            .number_of_broker_nodes(i.opt_i32("brokerCount").unwrap_or(1))
            .broker_node_group_info(nodes)
            .encryption_info(encryption(&i))
            .client_authentication(client_auth(&i))
            .set_configuration_info(configuration_info(&i))
            .enhanced_monitoring(EnhancedMonitoring::from(i.opt_str("monitoring").unwrap_or("DEFAULT")))
            .set_open_monitoring(i.opt_bool("prometheus").unwrap_or(false).then(|| open_monitoring(&i)))
            .logging_info(logging(&i))
            .set_tags(Some(tags))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        let arn = out.cluster_arn().ok_or_else(|| ProviderError::fatal(op, "no cluster ARN returned"))?.to_owned();
        let d = wait_active(p, &arn, req.timeout).await?;
        Ok(CreateResult { outputs: outputs_of(p, &d, &req.inputs).await?, id: arn })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(d) = describe_cluster(p, &req.id).await? else { return Ok(None) };
        let inputs = values(&d, &req.inputs).0;
        // Brokers are listed once the cluster is up; while it is still being
        // created (a run that died waiting) the recorded strings stand.
        let outputs = if d.state() == Some(&ClusterState::Creating) {
            let mut o = values(&d, &req.inputs).1;
            if let (Value::Map(m), Value::Map(old)) = (&mut o, &req.outputs) {
                for (k, v) in old.iter().filter(|(k, _)| k.starts_with("bootstrapBrokers")) {
                    m.insert(k.clone(), v.clone());
                }
            }
            o
        } else {
            outputs_of(p, &d, &req.inputs).await?
        };
        Ok(Some(ReadResult { id: req.id, inputs, outputs }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, "UpdateCluster"), In::new(&req.inputs, "UpdateCluster"));
        let k = p.kafka().await;
        let arn = req.id.as_str();
        let changed = |key: &str| req.changed.iter().any(|c| c == key);
        // Each MSK update quotes the cluster's current version and must
        // finish before the next starts.
        let mut d = wait_active(p, arn, req.timeout).await?;
        let version = |d: &ClusterInfo| d.current_version().unwrap_or_default().to_owned();
        if changed("kafkaVersion") {
            k.update_cluster_kafka_version()
                .cluster_arn(arn)
                .current_version(version(&d))
                .target_kafka_version(new.str("kafkaVersion")?)
                .send()
                .await
                .map_err(|e| aws_err("UpdateClusterKafkaVersion", e))?;
            d = wait_active(p, arn, req.timeout).await?;
        }
        if changed("brokerCount") {
            k.update_broker_count()
                .cluster_arn(arn)
                .current_version(version(&d))
                .target_number_of_broker_nodes(new.opt_i32("brokerCount").unwrap_or(1))
                .send()
                .await
                .map_err(|e| aws_err("UpdateBrokerCount", e))?;
            d = wait_active(p, arn, req.timeout).await?;
        }
        if changed("instanceType") {
            k.update_broker_type()
                .cluster_arn(arn)
                .current_version(version(&d))
                .target_instance_type(new.str("instanceType")?)
                .send()
                .await
                .map_err(|e| aws_err("UpdateBrokerType", e))?;
            d = wait_active(p, arn, req.timeout).await?;
        }
        if changed("volumeSize") {
            k.update_broker_storage()
                .cluster_arn(arn)
                .current_version(version(&d))
                .target_broker_ebs_volume_info(
                    aws_sdk_kafka::types::BrokerEbsVolumeInfo::builder()
                        .kafka_broker_node_id("ALL")
                        .volume_size_gb(new.opt_i32("volumeSize").unwrap_or(100))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| aws_err("UpdateBrokerStorage", e))?;
            d = wait_active(p, arn, req.timeout).await?;
        }
        if changed("clientBroker") || changed("clientAuth") {
            k.update_security()
                .cluster_arn(arn)
                .current_version(version(&d))
                .client_authentication(client_auth(&new))
                .encryption_info(encryption(&new))
                .send()
                .await
                .map_err(|e| aws_err("UpdateSecurity", e))?;
            d = wait_active(p, arn, req.timeout).await?;
        }
        if changed("configuration") {
            if let Some(info) = configuration_info(&new) {
                k.update_cluster_configuration()
                    .cluster_arn(arn)
                    .current_version(version(&d))
                    .configuration_info(info)
                    .send()
                    .await
                    .map_err(|e| aws_err("UpdateClusterConfiguration", e))?;
                d = wait_active(p, arn, req.timeout).await?;
            }
        }
        if changed("monitoring") || changed("logGroup") || changed("prometheus") {
            k.update_monitoring()
                .cluster_arn(arn)
                .current_version(version(&d))
                .enhanced_monitoring(EnhancedMonitoring::from(new.opt_str("monitoring").unwrap_or("DEFAULT")))
                .open_monitoring(open_monitoring(&new))
                .logging_info(logging(&new))
                .send()
                .await
                .map_err(|e| aws_err("UpdateMonitoring", e))?;
            d = wait_active(p, arn, req.timeout).await?;
        }
        if changed("tags") {
            let (was, now) = (old.tags(), new.tags());
            let removed: Vec<String> = was.keys().filter(|key| !now.contains_key(*key)).cloned().collect();
            if !removed.is_empty() {
                k.untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .map_err(|e| aws_err("UntagResource", e))?;
            }
            let added: HashMap<String, String> = now.into_iter().filter(|(key, v)| was.get(key) != Some(v)).collect();
            if !added.is_empty() {
                k.tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(added))
                    .send()
                    .await
                    .map_err(|e| aws_err("TagResource", e))?;
            }
        }
        Ok(UpdateResult { outputs: outputs_of(p, &d, &req.inputs).await? })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.kafka().await.delete_cluster().cluster_arn(&req.id).send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, &["NotFoundException"]) => return Ok(()),
            Err(e) => return Err(aws_err("DeleteCluster", e)),
        }
        wait_for(&format!("MSK cluster {} deleted", req.id), req.timeout, Duration::from_secs(60 * 60), || async {
            Ok(describe_cluster(p, &req.id).await?.is_none().then_some(()))
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let list = p
            .kafka()
            .await
            .list_clusters()
            .cluster_name_filter(name)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_err("ListClusters", e))?;
        // The listing's tags may be partial; the description's are whole.
        // The old copy of a replace carries the same tags: look past it.
        for arn in list
            .iter()
            .filter(|c| c.cluster_name() == Some(name))
            .filter_map(|c| c.cluster_arn())
            .filter(|arn| !req.is_known(arn))
        {
            let Some(d) = describe_cluster(p, arn).await? else { continue };
            let get = |k: &str| d.tags().and_then(|t| t.get(k)).map(String::as_str);
            if get(TAG_STACK) == Some(req.stack.as_str()) && get(TAG_NAME) == Some(req.urn.as_str()) {
                let inputs = values(&d, &req.inputs).0;
                let outputs = if d.state() == Some(&ClusterState::Creating) {
                    values(&d, &req.inputs).1
                } else {
                    outputs_of(p, &d, &req.inputs).await?
                };
                return Ok(Some(ReadResult { id: arn.to_owned(), inputs, outputs }));
            }
        }
        Ok(None)
    }
}

/// A broker configuration: `server.properties` for a set of Kafka versions.
/// A change of properties or description makes a new revision; clusters
/// pick one with [`ConfigurationOutputs::latest_revision`].
///
/// ```
/// use iac_aws::msk::Configuration;
/// let cfg = Configuration::builder()
///     .name("events")
///     .kafka_versions(vec!["3.6.0".into()])
///     .server_properties(iac_aws::tags([("auto.create.topics.enable", "false"), ("min.insync.replicas", "2")]))
///     .build();
/// # let _ = cfg;
/// ```
#[derive(bon::Builder)]
pub struct Configuration {
    /// The configuration's name (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// What it is for.
    #[builder(into, default)]
    pub description: String,
    /// The Kafka versions it applies to (replaces).
    #[builder(default)]
    pub kafka_versions: Vec<String>,
    /// The broker properties.
    pub server_properties: BTreeMap<String, String>,
}

/// Outputs of a [`Configuration`].
pub struct ConfigurationOutputs {
    /// Its ARN (the resource's id).
    pub arn: Output<String>,
    /// Its newest revision, for a cluster's `configuration`.
    pub latest_revision: Output<i64>,
}

impl Resource for Configuration {
    type Outputs = ConfigurationOutputs;
    fn schema() -> &'static Schema {
        &CONFIGURATION_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("description", Value::from(self.description.as_str()).into()),
            ("kafkaVersions", Value::from(self.kafka_versions.clone()).into()),
            ("serverProperties", Value::from(self.server_properties.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> ConfigurationOutputs {
        ConfigurationOutputs {
            arn: Output::from_ref(urn, "id"),
            latest_revision: Output::from_ref(urn, "latestRevision"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        let n = &self.name;
        let ok = !n.is_empty() && n.len() <= 64 && n.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-');
        c.check(ok, "name", || format!("`{n}`: 1–64 letters, digits and hyphens"));
        c.check(!self.server_properties.is_empty(), "serverProperties", || "no properties to set".into());
        for (k, v) in &self.server_properties {
            c.check(!k.is_empty() && !k.contains(['=', '\n']) && !v.contains('\n'), "serverProperties", || {
                format!("`{k}={v}` cannot be written as one server.properties line")
            });
        }
    }
}

fn properties_text(i: &In<'_>) -> String {
    i.value("serverProperties")
        .as_map()
        .map(|m| m.iter().map(|(k, v)| format!("{k}={}\n", v.as_str().unwrap_or_default())).collect())
        .unwrap_or_default()
}

fn parse_properties(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())))
        .collect()
}

async fn describe_configuration(p: &AwsProvider, arn: &str) -> Result<Option<(Value, Value)>, ProviderError> {
    let k = p.kafka().await;
    let c = match k.describe_configuration().arn(arn).send().await {
        Ok(c) => c,
        Err(e) if is_code(&e, &["NotFoundException"]) => return Ok(None),
        Err(e) => return Err(aws_err("DescribeConfiguration", e)),
    };
    if c.state().map(|s| s.as_str()) == Some("DELETING") {
        return Ok(None);
    }
    let revision = c.latest_revision().and_then(|r| r.revision()).unwrap_or(1);
    let rev = k
        .describe_configuration_revision()
        .arn(arn)
        .revision(revision)
        .send()
        .await
        .map_err(|e| aws_err("DescribeConfigurationRevision", e))?;
    let text = rev.server_properties().map(|b| String::from_utf8_lossy(b.as_ref()).into_owned()).unwrap_or_default();
    let inputs = map([
        ("name", Value::from(c.name())),
        ("description", Value::from(c.description().unwrap_or_default())),
        ("kafkaVersions", Value::from(c.kafka_versions().to_vec())),
        ("serverProperties", Value::from(parse_properties(&text))),
    ]);
    Ok(Some((inputs, map([("latestRevision", Value::from(revision))]))))
}

pub(crate) struct ConfigurationHandler;

#[async_trait]
impl Handler for ConfigurationHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateConfiguration");
        let out = p
            .kafka()
            .await
            .create_configuration()
            .name(i.str("name")?)
            .description(i.opt_str("description").unwrap_or_default())
            .set_kafka_versions(Some(i.strs("kafkaVersions")).filter(|v| !v.is_empty()))
            .server_properties(aws_smithy_types::Blob::new(properties_text(&i)))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateConfiguration", e))?;
        let arn = out.arn().ok_or_else(|| ProviderError::fatal("CreateConfiguration", "no ARN returned"))?.to_owned();
        let revision = out.latest_revision().and_then(|r| r.revision()).unwrap_or(1);
        Ok(CreateResult { id: arn, outputs: map([("latestRevision", Value::from(revision))]) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe_configuration(p, &req.id).await?.map(|(inputs, outputs)| ReadResult {
            id: req.id,
            inputs,
            outputs,
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let i = In::new(&req.inputs, "UpdateConfiguration");
        let out = p
            .kafka()
            .await
            .update_configuration()
            .arn(&req.id)
            .description(i.opt_str("description").unwrap_or_default())
            .server_properties(aws_smithy_types::Blob::new(properties_text(&i)))
            .send()
            .await
            .map_err(|e| aws_err("UpdateConfiguration", e))?;
        let revision = out.latest_revision().and_then(|r| r.revision()).unwrap_or(1);
        Ok(UpdateResult { outputs: map([("latestRevision", Value::from(revision))]) })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        // A configuration still used by a cluster is refused (BadRequest);
        // clusters are deleted first as dependents.
        match p.kafka().await.delete_configuration().arn(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["NotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteConfiguration", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // Configurations take no tags; the name is unique per account and
        // region, and CreateConfiguration refuses a second one.
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let list = p
            .kafka()
            .await
            .list_configurations()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_err("ListConfigurations", e))?;
        let Some(arn) = list.iter().find(|c| c.name() == Some(name)).and_then(|c| c.arn()) else {
            return Ok(None);
        };
        let found = describe_configuration(p, arn).await?.map(|(inputs, outputs)| ReadResult {
            id: arn.to_owned(),
            inputs,
            outputs,
        });
        Ok(unless_known(&req, found))
    }
}

#[cfg(test)]
mod tests {
    use super::is_kafka_version;

    #[test]
    fn msk_version_names() {
        for ok in ["3.6.0", "2.8.1", "2.8.2.tiered", "3.7.x", "3.7.x.kraft", "3.8.x", "4.0.x"] {
            assert!(is_kafka_version(ok), "{ok}");
        }
        for bad in ["three", "3", "3.x", "3.8.y", "x.8.1", "3..1", "3.8.x.y", ""] {
            assert!(!is_kafka_version(bad), "{bad}");
        }
    }
}
