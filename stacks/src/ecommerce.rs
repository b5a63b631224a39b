//! The E-Commerce Analytics Platform (`ecommerce-analytics`): the
//! infrastructure its Terraform document describes, in us-west-2, every
//! name prefixed `ecap-<env>` — module by module:
//!
//! - **vpc**: a VPC with DNS over the zones, public, private and database
//!   subnets in each, NAT gateways (one in development and staging, one
//!   per zone in production), flow logs to CloudWatch, an S3 gateway
//!   endpoint, and the subnet tags EKS's load balancers look for
//!   (`kubernetes.io/role/elb`, `…/internal-elb`, the cluster's own);
//! - **security-groups**: least privilege for the load balancer (HTTP in),
//!   the EKS control plane (the API from inside the VPC), the nodes (the
//!   cluster security group EKS makes: the load balancer's and the
//!   monitoring's traffic in), RDS and Redis (the nodes only, on their
//!   port), MSK (the nodes on the IAM port, the monitoring on the
//!   Prometheus exporters' ports, the brokers among themselves) and
//!   monitoring (out to the exporters only);
//! - **eks**: the `ecap-<env>-eks` cluster with its OIDC provider (IRSA),
//!   managed node groups — an on-demand one and a Spot one everywhere, a
//!   compute-optimized one in production — the VPC CNI, CoreDNS and
//!   kube-proxy add-ons, secrets encrypted with a KMS key of its own,
//!   control-plane logs in CloudWatch, a private API endpoint beside the
//!   public one, and the CloudWatch agent's policy on the nodes;
//! - **rds**: PostgreSQL 15 (`ecommerce_analytics`, master user
//!   `ecap_admin`) on an RDS instance, Multi-AZ outside development, its
//!   own KMS key, automated backups, the master password generated and
//!   kept by RDS in Secrets Manager, parameters for analytics (memory per
//!   sort and maintenance, SSD costs, TLS required, slow statements
//!   logged), Performance Insights and Enhanced Monitoring where sized for
//!   them;
//! - **msk**: Kafka over the private subnets, one broker per zone (or a
//!   multiple), its own KMS key, TLS everywhere, IAM authentication (the
//!   pods' IRSA roles, no passwords), CloudWatch metrics, Prometheus
//!   exporters and broker logs in CloudWatch;
//! - **elasticache**: Redis 7.1 encrypted at rest (its own KMS key) and in
//!   transit, with an AUTH token from secret config, replicas and Multi-AZ
//!   outside development;
//! - **s3**: the data lake bucket (`raw/`, `processed/`, `analytics/`,
//!   `temp/`), versioned, encrypted with its own KMS key, access-logged,
//!   `raw/` and `processed/` moved to Intelligent-Tiering with the archive
//!   tiers configured for `raw/`, retention per environment, and in
//!   production replicated to a second region;
//! - load balancer: an internet-facing ALB in the public subnets (its
//!   listener answers 404 until the AWS Load Balancer Controller routes
//!   Ingresses to the nodes);
//! - CloudWatch: application log groups, and alarms (database, cache,
//!   brokers' disks) notifying an SNS topic, with a dashboard.
//!
//! Each stack's values come from `config/ecommerce-analytics/<stack>.toml`
//! (`dev`, `staging`, `prod`: the document's three environments). The
//! Redis AUTH token is secret config: `ecommerce-analytics --stack <stack>
//! config set --secret redis_auth_token <token>`.

use std::collections::BTreeMap;

use iac_aws::cloudwatch::Stat;
use iac_aws::ec2::{Direction, SecurityGroup, SecurityGroupId, SecurityGroupRule};
use iac_aws::eks::LogType;
use iac_aws::elasticache::ClusterMode;
use iac_aws::kms::{Alias, Key};
use iac_aws::logs::LogGroup;
use iac_aws::msk::{ClientAuth, ClientBrokerEncryption, Cluster as KafkaCluster, Monitoring as KafkaMonitoring};
use iac_aws::s3::{LifecycleRule, StorageClass, Transition};
use iac_aws::{AwsProvider, AwsSettings};
use iac_core::{Config, Error, Input, Output, Stack};
use serde::Deserialize;

use crate::components::*;

/// Where this program's per-stack config files are.
pub const CONFIG_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/ecommerce-analytics");

/// The Prometheus exporters' ports on every MSK broker (JMX, node).
const MSK_EXPORTER_PORTS: (i32, i32) = (11001, 11002);
/// The brokers' port for SASL/IAM clients.
const MSK_IAM_PORT: i32 = 9098;

/// The alarm thresholds of a stack (the document asks for "automated
/// alerting for system health" without thresholds).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmThresholds {
    /// RDS `CPUUtilization` (%), over 10 minutes.
    pub rds_cpu_percent: f64,
    /// RDS `FreeStorageSpace` below this many GiB, over 10 minutes.
    pub rds_free_storage_gib: f64,
    /// ElastiCache `EngineCPUUtilization` (%) of a node, over 10 minutes.
    pub redis_cpu_percent: f64,
    /// ElastiCache `DatabaseMemoryUsagePercentage` of a node, over 5
    /// minutes.
    pub redis_memory_percent: f64,
    /// MSK `KafkaDataLogsDiskUsed` (%) of a broker, over 10 minutes.
    pub msk_disk_used_percent: f64,
}

/// The data lake's lifecycle (the document: intelligent tiering, automated
/// transitions, retention per environment).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataLakeConfig {
    /// Days `raw/` objects are kept (unset: kept, the archive tiers holding
    /// them cheaply).
    pub raw_expiration_days: Option<i32>,
    /// Days `temp/` (staging of jobs) objects are kept.
    pub temp_expiration_days: i32,
    /// Days a replaced or deleted object's old version is kept.
    pub noncurrent_expiration_days: i32,
    /// Days without access before `raw/` objects move to Archive Access.
    pub archive_access_days: i32,
    /// Days without access before they move to Deep Archive Access.
    pub deep_archive_access_days: i32,
    /// A second region the bucket is replicated to (disaster recovery).
    pub replica_region: Option<String>,
    /// Let destroy empty the buckets.
    pub force_destroy: bool,
}

/// A config error naming the key and the file.
fn config_error(cfg: &Config, key: &str, message: impl Into<String>) -> Error {
    Error::Config {
        stack: cfg.stack().to_owned(),
        key: key.to_owned(),
        path: cfg.path().to_owned(),
        message: message.into(),
    }
}

/// How private subnets reach the internet, from config.
fn nat_mode(cfg: &Config) -> Result<NatMode, Error> {
    match cfg.require::<String>("nat_gateways")?.as_str() {
        "per_zone" => Ok(NatMode::PerZone),
        "single" => Ok(NatMode::Single),
        other => Err(config_error(cfg, "nat_gateways", format!("`{other}`: one of per_zone, single"))),
    }
}

/// MSK's CloudWatch metrics level, from config.
fn kafka_monitoring(cfg: &Config) -> Result<KafkaMonitoring, Error> {
    match cfg.require::<String>("msk_enhanced_monitoring")?.as_str() {
        "DEFAULT" => Ok(KafkaMonitoring::Default),
        "PER_BROKER" => Ok(KafkaMonitoring::PerBroker),
        "PER_TOPIC_PER_BROKER" => Ok(KafkaMonitoring::PerTopicPerBroker),
        "PER_TOPIC_PER_PARTITION" => Ok(KafkaMonitoring::PerTopicPerPartition),
        other => Err(config_error(
            cfg,
            "msk_enhanced_monitoring",
            format!("`{other}`: one of DEFAULT, PER_BROKER, PER_TOPIC_PER_BROKER, PER_TOPIC_PER_PARTITION"),
        )),
    }
}

/// A TCP rule of `group` (ports `from`–`to`) with another group as peer.
fn tcp_rule(
    stack: &Stack,
    key: &str,
    group: &Output<SecurityGroupId>,
    direction: Direction,
    (from, to): (i32, i32),
    peer: &Output<SecurityGroupId>,
    description: &str,
) {
    stack.add(
        key,
        SecurityGroupRule::builder()
            .security_group_id(group.clone())
            .direction(direction)
            .protocol("tcp")
            .from_port(from)
            .to_port(to)
            .source_security_group_id(peer.clone())
            .description(description)
            .build(),
    );
}

/// A KMS key of one service (`alias/ecap-<env>-<service>`), rotated
/// yearly: the document's "separate KMS keys per service, key rotation
/// enabled".
fn service_key(stack: &Stack, prefix: &str, service: &str, window: i32) -> Output<String> {
    let key = stack.add(
        &format!("{service}-key"),
        Key::builder()
            .description(format!("{prefix} {service} encryption at rest"))
            .enable_key_rotation(true)
            .deletion_window_in_days(window)
            .build(),
    );
    stack.add(
        &format!("{service}-key-alias"),
        Alias::builder().name(format!("alias/{prefix}-{service}")).target_key_id(key.id.clone()).build(),
    );
    key.arn.clone()
}

/// The data lake bucket: one bucket in the document's "organized folder
/// structure" — `raw/` events as ingested, `processed/` cleaned and
/// partitioned, `analytics/` aggregates the dashboards read, `temp/` jobs'
/// scratch space.
fn data_lake_bucket(d: &DataLakeConfig) -> LakeBucket {
    let rule = |id: &str, prefix: &str, transitions: Vec<Transition>, expire: Option<i32>| {
        LifecycleRule::builder()
            .id(id)
            .prefix(prefix)
            .transitions(transitions)
            .maybe_expiration_days(expire)
            .noncurrent_expiration_days(d.noncurrent_expiration_days)
            .abort_incomplete_multipart_days(7)
            .build()
    };
    // Intelligent-Tiering from day 0: S3 moves each object between the
    // frequent and infrequent tiers by its own access pattern (no retrieval
    // fees), the analytics jobs' access being unpredictable.
    let tiering = || vec![Transition::after(0, StorageClass::IntelligentTiering)];
    LakeBucket {
        replicate: d.replica_region.is_some(),
        ..LakeBucket::plain("data-lake")
            .with_rule(rule("raw", "raw/", tiering(), d.raw_expiration_days))
            .with_rule(rule("processed", "processed/", tiering(), None))
            .with_rule(rule("analytics", "analytics/", Vec::new(), None))
            .with_rule(rule("temp", "temp/", Vec::new(), Some(d.temp_expiration_days)))
            // Raw events are read again only to reprocess: archived when
            // untouched.
            .with_archive_tiering(ArchiveTiering {
                name: "raw-archive".into(),
                prefix: Some("raw/".into()),
                archive_access_days: Some(d.archive_access_days),
                deep_archive_access_days: Some(d.deep_archive_access_days),
            })
    }
}

/// Declares the platform.
pub fn program(stack: &Stack) -> Result<(), Error> {
    let cfg = stack.config();
    let env: String = cfg.require("environment")?;
    let region: String = cfg.require("region")?;
    // The document deploys to one region whatever the shell says.
    stack.provider("aws", AwsProvider::new(AwsSettings { region: Some(region.clone()), ..Default::default() }));
    let prefix = format!("ecap-{env}");
    stack.default_tags([
        ("Project", "E-Commerce Analytics Platform"),
        ("Environment", env.as_str()),
        ("ManagedBy", "iac"),
    ]);
    let auth_token = cfg.require_secret::<String>("redis_auth_token")?;
    let kms_window: i32 = cfg.require("kms_deletion_window_days")?;

    // vpc.
    let cidr: String = cfg.require("vpc_cidr")?;
    let zones: Vec<String> = cfg.require("availability_zones")?;
    let cluster_name = format!("{prefix}-eks");
    let net = Network::new(
        stack,
        "ecap-vpc",
        &NetworkArgs {
            cidr: cidr.clone(),
            azs: zones.clone(),
            database_subnets: true,
            nat: nat_mode(cfg)?,
            flow_log_retention_days: Some(cfg.require("flow_log_retention_days")?),
            s3_endpoint: true,
            eks_cluster_name: Some(cluster_name.clone()),
        },
    );
    // The provider's region is the config's (above), whatever AWS_REGION says.
    check_region(stack, "ecap-vpc", &region, &zones, false);

    // security-groups: the control plane's extra group and the MSK and
    // monitoring groups here; the load balancer's, the database's and the
    // cache's come with their components; the nodes run in the cluster
    // security group EKS makes.
    let sg = stack.component("ecap:SecurityGroups", "security-groups");
    let control_plane_sg = sg.add(
        "eks-control-plane",
        SecurityGroup::builder()
            .name(format!("{prefix}-eks-control-plane"))
            .description("EKS control plane: the Kubernetes API from inside the VPC")
            .vpc_id(net.vpc_id.clone())
            .allow_all_egress(false)
            .build(),
    );
    sg.add(
        "eks-api-from-vpc",
        SecurityGroupRule::builder()
            .security_group_id(control_plane_sg.id.clone())
            .direction(Direction::Ingress)
            .protocol("tcp")
            .from_port(443)
            .to_port(443)
            .cidr_ipv4(cidr.clone())
            .description("Kubernetes API from inside the VPC")
            .build(),
    );
    let msk_sg = sg.add(
        "msk",
        SecurityGroup::builder()
            .name(format!("{prefix}-msk"))
            .description("MSK brokers: Kafka from the EKS nodes, exporters to monitoring")
            .vpc_id(net.vpc_id.clone())
            .allow_all_egress(false)
            .build(),
    );
    let monitoring_sg = sg.add(
        "monitoring",
        SecurityGroup::builder()
            .name(format!("{prefix}-monitoring"))
            .description("Prometheus and Grafana: scrape the brokers' and nodes' exporters")
            .vpc_id(net.vpc_id.clone())
            .allow_all_egress(false)
            .build(),
    );

    // eks.
    let node_groups: Vec<NodeGroupArgs> = cfg.require("eks_node_groups")?;
    let log_types: Vec<LogType> = cfg.require("eks_log_types")?;
    let eks = EksCluster::new(
        stack,
        "eks",
        &EksClusterArgs::builder()
            .cluster_name(cluster_name.clone())
            .kubernetes_version(cfg.require::<String>("kubernetes_version")?)
            .subnet_ids(net.private_subnet_ids())
            .security_group_ids([control_plane_sg.id.as_string()])
            .endpoint_private_access(true)
            .endpoint_public_access(cfg.require("eks_endpoint_public_access")?)
            .public_access_cidrs(cfg.get_or("eks_public_access_cidrs", Vec::new())?)
            .enabled_log_types(log_types)
            .log_retention_days(cfg.require("eks_log_retention_days")?)
            .kms_deletion_window_days(kms_window)
            .node_groups(node_groups)
            .addons(vec![
                // Nodes come up with the managed CNI; AWS's default
                // versions for the cluster's Kubernetes version.
                AddonArgs::builder().name("vpc-cni").before_node_groups(true).build(),
                AddonArgs::named("coredns"),
                AddonArgs::named("kube-proxy"),
            ])
            // "Application logs centralized in CloudWatch": the CloudWatch
            // agent / Fluent Bit on the nodes ship them.
            .node_role_policy_arns(vec!["arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy".into()])
            .build(),
    );
    let nodes_sg: Output<SecurityGroupId> = eks.cluster_security_group_id.map(SecurityGroupId::from);

    // The load balancer (its own group: HTTP from anywhere).
    let alb = PublicAlb::new(
        stack,
        "alb",
        &net,
        &PublicAlbArgs {
            name: format!("{prefix}-alb"),
            deletion_protection: cfg.require("alb_deletion_protection")?,
            idle_timeout_seconds: 60,
        },
    );
    let alb_sg = alb.security_group_id.clone();

    // The rules between the groups.
    tcp_rule(&sg, "nodes-from-alb", &nodes_sg, Direction::Ingress, (1024, 65535), &alb_sg, "From the load balancer");
    tcp_rule(
        &sg,
        "nodes-from-monitoring",
        &nodes_sg,
        Direction::Ingress,
        (9100, 9100),
        &monitoring_sg.id,
        "Node exporter scrapes",
    );
    tcp_rule(
        &sg,
        "msk-from-nodes",
        &msk_sg.id,
        Direction::Ingress,
        (MSK_IAM_PORT, MSK_IAM_PORT),
        &nodes_sg,
        "Kafka (TLS, IAM) from the EKS nodes",
    );
    tcp_rule(
        &sg,
        "msk-between-brokers",
        &msk_sg.id,
        Direction::Ingress,
        (9092, MSK_IAM_PORT),
        &msk_sg.id,
        "Replication between the brokers",
    );
    tcp_rule(
        &sg,
        "msk-to-brokers",
        &msk_sg.id,
        Direction::Egress,
        (9092, MSK_IAM_PORT),
        &msk_sg.id,
        "Replication between the brokers",
    );
    tcp_rule(
        &sg,
        "msk-from-monitoring",
        &msk_sg.id,
        Direction::Ingress,
        MSK_EXPORTER_PORTS,
        &monitoring_sg.id,
        "Prometheus exporters",
    );
    tcp_rule(
        &sg,
        "monitoring-to-msk",
        &monitoring_sg.id,
        Direction::Egress,
        MSK_EXPORTER_PORTS,
        &msk_sg.id,
        "Scrape the brokers' exporters",
    );
    tcp_rule(
        &sg,
        "monitoring-to-nodes",
        &monitoring_sg.id,
        Direction::Egress,
        (9100, 9100),
        &nodes_sg,
        "Scrape the node exporters",
    );

    // rds.
    let db_id = format!("{prefix}-postgres");
    let parameters: BTreeMap<String, String> = cfg.require("rds_parameters")?;
    let db = PostgresDatabase::with_options(
        stack,
        "rds",
        &PostgresArgs {
            identifier: db_id.clone(),
            kind: PostgresKind::Instance {
                instance_class: cfg.require("rds_instance_class")?,
                allocated_storage: cfg.require("rds_allocated_storage")?,
                max_allocated_storage: cfg.get("rds_max_allocated_storage")?,
                multi_az: cfg.require("rds_multi_az")?,
                read_replica: false,
            },
            engine_version: cfg.require("rds_engine_version")?,
            // The document's `psql -U ecap_admin -d ecommerce_analytics`.
            database_name: "ecommerce_analytics".into(),
            username: "ecap_admin".into(),
            // "Secrets Manager integration": RDS generates the password
            // and keeps it there.
            password: None,
            vpc_id: net.vpc_id.clone(),
            subnet_ids: net.database_subnet_ids(),
            allowed_security_groups: vec![nodes_sg.clone()],
            backup_retention_days: cfg.require("rds_backup_retention_days")?,
            deletion_protection: cfg.require("rds_deletion_protection")?,
            performance_insights: cfg.require("rds_performance_insights")?,
            proxy: false,
            parameters: parameters.into_iter().collect(),
        },
        &PostgresOptions { monitoring_interval_seconds: cfg.require("rds_monitoring_interval")?, ..Default::default() },
    );

    // msk.
    let kafka = stack.component("ecap:Kafka", "msk");
    let kafka_key = service_key(&kafka, &prefix, "msk", kms_window);
    let kafka_name = format!("{prefix}-kafka");
    let broker_logs = kafka.add(
        "broker-logs",
        LogGroup::builder()
            .name(format!("/aws/msk/{kafka_name}"))
            .retention_in_days(cfg.require("msk_log_retention_days")?)
            .build(),
    );
    let brokers: i32 = cfg.require("msk_broker_count")?;
    let msk = kafka.add(
        "cluster",
        KafkaCluster::builder()
            .name(kafka_name.clone())
            .kafka_version(cfg.require::<String>("msk_kafka_version")?)
            .broker_count(brokers)
            .instance_type(cfg.require::<String>("msk_instance_type")?)
            .client_subnets(net.private_subnet_ids())
            .security_groups(vec![Input::from(msk_sg.id.as_string())])
            .volume_size(cfg.require("msk_volume_size")?)
            .encryption_at_rest_kms_key(kafka_key)
            .client_broker(ClientBrokerEncryption::Tls)
            .in_cluster_encryption(true)
            .client_auth(ClientAuth::builder().iam(true).build())
            .monitoring(kafka_monitoring(cfg)?)
            .prometheus(cfg.require("msk_prometheus")?)
            .log_group(broker_logs.id.clone())
            .build(),
    );

    // elasticache.
    let cache_key = service_key(stack, &prefix, "redis", kms_window);
    let redis_id = format!("{prefix}-redis");
    let redis_nodes: i32 = cfg.require("redis_num_cache_nodes")?;
    let cache = RedisCache::with_options(
        stack,
        "elasticache",
        &RedisArgs {
            id: redis_id.clone(),
            node_type: cfg.require("redis_node_type")?,
            engine_version: cfg.require("redis_engine_version")?,
            cluster_mode: ClusterMode::Disabled { num_cache_clusters: redis_nodes },
            multi_az: cfg.require("redis_multi_az")?,
            auth_token: Some(auth_token),
            snapshot_retention_days: cfg.require("redis_snapshot_retention_days")?,
            vpc_id: net.vpc_id.clone(),
            subnet_ids: net.database_subnet_ids(),
            allowed_security_groups: vec![nodes_sg.clone()],
        },
        &RedisOptions { kms_key_arn: Some(cache_key) },
    );

    // s3.
    let d: DataLakeConfig = cfg.require("data_lake")?;
    let lake = DataLake::new(
        stack,
        "s3",
        &DataLakeArgs {
            prefix: prefix.clone(),
            buckets: vec![data_lake_bucket(&d)],
            kms: true,
            access_logging: true,
            replica_region: d.replica_region.clone(),
            force_destroy: d.force_destroy,
        },
    );

    // CloudWatch: application log groups and alarms.
    let app_logs: Vec<String> = cfg.require("application_log_groups")?;
    let app_retention: i32 = cfg.require("application_log_retention_days")?;
    for app in &app_logs {
        stack.add(
            &format!("logs-{app}"),
            LogGroup::builder().name(format!("/ecap/{env}/{app}")).retention_in_days(app_retention).build(),
        );
    }
    let t: AlarmThresholds = cfg.require("alarms")?;
    let db_dims = [("DBInstanceIdentifier", db_id.as_str())];
    let mut alarms = vec![
        Alarm::above(
            format!("{prefix}-rds-cpu"),
            format!("{db_id}: CPU above {}%", t.rds_cpu_percent),
            ("AWS/RDS", "CPUUtilization"),
            &db_dims,
            Stat::Average,
            t.rds_cpu_percent,
            10,
        ),
        Alarm::below(
            format!("{prefix}-rds-storage"),
            format!("{db_id}: free storage below {} GiB", t.rds_free_storage_gib),
            ("AWS/RDS", "FreeStorageSpace"),
            &db_dims,
            Stat::Minimum,
            t.rds_free_storage_gib * 1024.0 * 1024.0 * 1024.0,
            10,
        ),
    ];
    // ElastiCache reports per node: `<group>-<node:3>` without cluster mode.
    for node in 1..=redis_nodes {
        let id = format!("{redis_id}-{node:03}");
        let dims = [("CacheClusterId", id.as_str())];
        alarms.extend([
            Alarm::above(
                format!("{prefix}-redis-{node:03}-cpu"),
                format!("{id}: engine CPU above {}%", t.redis_cpu_percent),
                ("AWS/ElastiCache", "EngineCPUUtilization"),
                &dims,
                Stat::Average,
                t.redis_cpu_percent,
                10,
            ),
            Alarm::above(
                format!("{prefix}-redis-{node:03}-memory"),
                format!("{id}: memory above {}%", t.redis_memory_percent),
                ("AWS/ElastiCache", "DatabaseMemoryUsagePercentage"),
                &dims,
                Stat::Average,
                t.redis_memory_percent,
                5,
            ),
        ]);
    }
    // MSK reports per broker (`Cluster Name`, `Broker ID` 1…n).
    for broker in 1..=brokers {
        let id = broker.to_string();
        alarms.push(Alarm::above(
            format!("{prefix}-msk-broker-{broker}-disk"),
            format!("{kafka_name} broker {broker}: data disk above {}%", t.msk_disk_used_percent),
            ("AWS/Kafka", "KafkaDataLogsDiskUsed"),
            &[("Cluster Name", kafka_name.as_str()), ("Broker ID", id.as_str())],
            Stat::Maximum,
            t.msk_disk_used_percent,
            10,
        ));
    }
    let monitoring = Monitoring::new(
        stack,
        "monitoring",
        &MonitoringArgs { prefix: prefix.clone(), region: region.clone(), email: cfg.get("alert_email")?, alarms },
    );

    // The outputs.
    stack.export("vpc_id", net.vpc_id.clone());
    stack.export("eks_cluster_name", eks.cluster_name.clone());
    stack.export("eks_cluster_endpoint", eks.endpoint.clone());
    if let Some(oidc) = &eks.oidc_provider_arn {
        stack.export("eks_oidc_provider_arn", oidc.clone());
    }
    stack.export("rds_endpoint", db.endpoint.clone());
    if let Some(secret) = &db.master_secret_arn {
        stack.export("rds_master_secret_arn", secret.clone());
    }
    stack.export("msk_cluster_arn", msk.arn.clone());
    stack.export("msk_bootstrap_brokers", msk.bootstrap_brokers_sasl_iam.clone());
    stack.export("redis_endpoint", cache.endpoint.clone());
    stack.export("data_lake_bucket", lake.buckets["data-lake"].clone());
    stack.export("alb_dns_name", alb.dns_name.clone());
    stack.export("alerts_topic_arn", monitoring.topic_arn.clone());
    Ok(())
}
