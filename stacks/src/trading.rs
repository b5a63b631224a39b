//! The AI Trading Platform (`trading-platform`): the infrastructure its
//! Terraform document describes, module by module —
//!
//! - **vpc**: a VPC with DNS over 3 zones, 9 subnets (public, private and
//!   database in each zone), NAT gateways (one per zone in production),
//!   flow logs, an S3 gateway endpoint and, optionally, interface endpoints
//!   for what the nodes call (ECR, STS, CloudWatch Logs);
//! - **security-groups**: the load balancer's, the control plane's extra
//!   group, the rules letting the load balancer reach the nodes, and the
//!   database's and cache's groups, each letting in only the nodes on its
//!   one port;
//! - **eks**: Kubernetes 1.32 (the document says 1.28, which EKS no longer
//!   creates) with node groups per workload, the VPC CNI,
//!   CoreDNS and kube-proxy add-ons, secrets encrypted with KMS and the
//!   control plane's logs in CloudWatch;
//! - **rds**: PostgreSQL 15.4 on an RDS instance (Multi-AZ in production)
//!   with a read replica, KMS encryption, backups, Performance Insights and
//!   Enhanced Monitoring; the master password managed by RDS in Secrets
//!   Manager;
//! - **elasticache**: Redis 7.0 in cluster mode, encrypted at rest and in
//!   transit, with an AUTH token from secret config;
//! - **s3**: market data, model artifacts, backups and compliance buckets,
//!   versioned, KMS-encrypted, with lifecycle rules, the compliance bucket
//!   replicated to a second region;
//! - CloudWatch alarms on the database's and the cache's CPU, memory and
//!   connections.
//!
//! Each stack's values come from `config/trading-platform/<stack>.toml`;
//! `prod` carries the document's production "Key Configuration Parameters"
//! under the document's own variable names. The Redis AUTH token is secret
//! config: `trading-platform --stack <stack> config set --secret
//! elasticache_auth_token <token>`.

use iac_aws::cloudwatch::Stat;
use iac_aws::ec2::{Direction, EndpointType, SecurityGroup, SecurityGroupId, SecurityGroupRule, VpcEndpoint};
use iac_aws::eks::LogType;
use iac_aws::elasticache::ClusterMode;
use iac_aws::s3::{LifecycleRule, StorageClass, Transition};
use iac_aws::AwsProvider;
use iac_core::{Config, Error, Output, Stack};
use serde::Deserialize;

use crate::components::*;

/// Where this program's per-stack config files are.
pub const CONFIG_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/trading-platform");

/// The alarm thresholds of a stack (the document names the metrics, not
/// the thresholds).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmThresholds {
    /// RDS `CPUUtilization` (%), over 10 minutes.
    pub rds_cpu_percent: f64,
    /// RDS `FreeableMemory` below this many MiB, over 10 minutes.
    pub rds_freeable_memory_mib: f64,
    /// RDS `DatabaseConnections`, over 5 minutes.
    pub rds_connections: f64,
    /// ElastiCache `EngineCPUUtilization` (%) of a node, over 10 minutes.
    pub redis_cpu_percent: f64,
    /// ElastiCache `DatabaseMemoryUsagePercentage` of a node, over 5
    /// minutes.
    pub redis_memory_percent: f64,
    /// ElastiCache `CurrConnections` of a node, over 5 minutes.
    pub redis_connections: f64,
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
        "none" => Ok(NatMode::None),
        other => Err(config_error(cfg, "nat_gateways", format!("`{other}`: one of per_zone, single, none"))),
    }
}

/// An ingress rule of `group` on TCP `port` (or a range) from `from`.
fn allow_from_group(
    stack: &Stack,
    key: &str,
    group: &Output<SecurityGroupId>,
    ports: (i32, i32),
    from: &Output<SecurityGroupId>,
    description: &str,
) {
    stack.add(
        key,
        SecurityGroupRule::builder()
            .security_group_id(group.clone())
            .direction(Direction::Ingress)
            .protocol("tcp")
            .from_port(ports.0)
            .to_port(ports.1)
            .source_security_group_id(from.clone())
            .description(description)
            .build(),
    );
}

/// A rule of `group` on TCP `port` with an IPv4 range as its peer.
fn allow_cidr(
    stack: &Stack,
    key: &str,
    group: &Output<SecurityGroupId>,
    direction: Direction,
    port: i32,
    cidr: &str,
    description: &str,
) {
    stack.add(
        key,
        SecurityGroupRule::builder()
            .security_group_id(group.clone())
            .direction(direction)
            .protocol("tcp")
            .from_port(port)
            .to_port(port)
            .cidr_ipv4(cidr)
            .description(description)
            .build(),
    );
}

/// The buckets of the document's S3 module, with the lifecycle rules its
/// "cost optimization" asks for (the document gives no ages; chosen here).
fn buckets() -> Vec<LakeBucket> {
    let rule = |id: &str, transitions: Vec<Transition>, expire: Option<i32>, noncurrent: Option<i32>| {
        LifecycleRule::builder()
            .id(id)
            .transitions(transitions)
            .maybe_expiration_days(expire)
            .maybe_noncurrent_expiration_days(noncurrent)
            .abort_incomplete_multipart_days(7)
            .build()
    };
    vec![
        // Market data: hot for a month, read for backtests for a quarter,
        // then archived; old versions go after 90 days.
        LakeBucket::plain("market-data").with_rule(rule(
            "tiering",
            vec![Transition::after(30, StorageClass::StandardIa), Transition::after(90, StorageClass::Glacier)],
            None,
            Some(90),
        )),
        // Model artifacts: the current model is read often; superseded
        // versions are kept 180 days for rollbacks and audits.
        LakeBucket::plain("model-artifacts").with_rule(rule(
            "tiering",
            vec![Transition::after(90, StorageClass::StandardIa)],
            None,
            Some(180),
        )),
        // Database exports and backups: infrequent access after 30 days,
        // archived after 90, deleted after a year.
        LakeBucket::plain("backups").with_rule(rule(
            "tiering",
            vec![Transition::after(30, StorageClass::StandardIa), Transition::after(90, StorageClass::Glacier)],
            Some(365),
            Some(30),
        )),
        // Regulatory documents: kept 7 years (2555 days, the usual
        // brokerage record retention), archived after 90 days, versions
        // never expired early; replicated to the second region.
        LakeBucket {
            replicate: true,
            ..LakeBucket::plain("compliance").with_rule(rule(
                "retention",
                vec![Transition::after(30, StorageClass::StandardIa), Transition::after(90, StorageClass::Glacier)],
                Some(2555),
                None,
            ))
        },
    ]
}

/// Declares the platform.
pub fn program(stack: &Stack) -> Result<(), Error> {
    let cfg = stack.config();
    stack.provider("aws", AwsProvider::from_env());
    let env: String = cfg.require("environment")?;
    let region: String = cfg.require("region")?;
    let prefix = format!("{env}-trading");
    stack.default_tags([("Project", "ai-trading-platform"), ("Environment", env.as_str()), ("ManagedBy", "iac")]);

    // The document's key configuration parameters, under its names.
    let rds_class: String = cfg.require("rds_instance_class")?;
    let cache_type: String = cfg.require("elasticache_node_type")?;
    let rds_multi_az: bool = cfg.require("rds_multi_az")?;
    let cache_multi_az: bool = cfg.require("elasticache_multi_az_enabled")?;
    let cache_failover: bool = cfg.require("elasticache_automatic_failover_enabled")?;
    let protect: bool = cfg.require("rds_deletion_protection")?;
    let auth_enabled: bool = cfg.require("elasticache_auth_token_enabled")?;
    let backup_days: i32 = cfg.require("rds_backup_retention_period")?;
    let snapshot_days: i32 = cfg.require("elasticache_snapshot_retention_limit")?;
    // Cluster mode is on (the document's "Redis 7.0 with cluster mode
    // enabled"), and ElastiCache requires automatic failover with it.
    if !cache_failover {
        return Err(config_error(
            cfg,
            "elasticache_automatic_failover_enabled",
            "the cache runs in cluster mode, which ElastiCache only offers with automatic failover",
        ));
    }
    let auth_token = if auth_enabled { Some(cfg.require_secret::<String>("elasticache_auth_token")?) } else { None };

    // vpc: public, private and database subnets over the zones.
    let cidr: String = cfg.require("vpc_cidr")?;
    let zones: Vec<String> = cfg.require("availability_zones")?;
    let cluster_name = format!("{env}-eks-cluster");
    let net = Network::new(
        stack,
        "vpc",
        &NetworkArgs {
            cidr: cidr.clone(),
            azs: zones.clone(),
            database_subnets: true,
            nat: nat_mode(cfg)?,
            flow_log_retention_days: cfg.get("flow_log_retention_days")?,
            s3_endpoint: true,
            eks_cluster_name: Some(cluster_name.clone()),
        },
    );
    check_region(stack, "vpc", &region, &zones, true);

    // security-groups. The load balancer (made by the AWS Load Balancer
    // Controller from an Ingress naming this group) takes HTTP and HTTPS
    // from anywhere and may only reach the nodes.
    let alb_sg = stack.add(
        "alb-sg",
        SecurityGroup::builder()
            .name(format!("{prefix}-alb"))
            .description("Internet-facing load balancer: HTTP(S) in, to the EKS nodes only")
            .vpc_id(net.vpc_id.clone())
            .allow_all_egress(false)
            .build(),
    );
    allow_cidr(stack, "alb-https", &alb_sg.id, Direction::Ingress, 443, "0.0.0.0/0", "HTTPS from the internet");
    allow_cidr(stack, "alb-http", &alb_sg.id, Direction::Ingress, 80, "0.0.0.0/0", "HTTP (redirected to HTTPS)");
    // The control plane's extra group: the API server from inside the VPC
    // (CI runners, bastions). The control plane and the nodes talk through
    // the cluster security group EKS makes.
    let control_plane_sg = stack.add(
        "eks-control-plane-sg",
        SecurityGroup::builder()
            .name(format!("{prefix}-eks-control-plane"))
            .description("EKS control plane: the Kubernetes API from inside the VPC")
            .vpc_id(net.vpc_id.clone())
            .allow_all_egress(false)
            .build(),
    );
    allow_cidr(
        stack,
        "eks-api-from-vpc",
        &control_plane_sg.id,
        Direction::Ingress,
        443,
        &cidr,
        "Kubernetes API from inside the VPC",
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
            .public_access_cidrs(cfg.get_or("eks_public_access_cidrs", Vec::new())?)
            .enabled_log_types(log_types)
            .log_retention_days(cfg.require("eks_log_retention_days")?)
            .kms_deletion_window_days(cfg.get_or("kms_deletion_window_days", 30)?)
            .node_groups(node_groups)
            .addons(vec![
                // Nodes come up with the managed CNI; AWS's default
                // versions for the cluster's Kubernetes version.
                AddonArgs::builder().name("vpc-cni").before_node_groups(true).build(),
                AddonArgs::named("coredns"),
                AddonArgs::named("kube-proxy"),
            ])
            .build(),
    );
    // Managed node groups without a launch template run in the cluster
    // security group EKS makes (which lets the control plane and the
    // nodes talk): that group is the nodes' group everything else names.
    let nodes_sg: Output<SecurityGroupId> = eks.cluster_security_group_id.map(SecurityGroupId::from);
    stack.add(
        "alb-to-nodes",
        SecurityGroupRule::builder()
            .security_group_id(alb_sg.id.clone())
            .direction(Direction::Egress)
            .protocol("tcp")
            .from_port(1024)
            .to_port(65535)
            .source_security_group_id(nodes_sg.clone())
            .description("To the pods and node ports")
            .build(),
    );
    allow_from_group(stack, "nodes-from-alb", &nodes_sg, (1024, 65535), &alb_sg.id, "From the load balancer");

    // Optional interface endpoints: images, credentials and logs without
    // the NAT gateways.
    if cfg.get_or("enable_vpc_endpoints", false)? {
        let endpoints_sg = stack.add(
            "endpoints-sg",
            SecurityGroup::builder()
                .name(format!("{prefix}-endpoints"))
                .description("Interface VPC endpoints: HTTPS from inside the VPC")
                .vpc_id(net.vpc_id.clone())
                .allow_all_egress(false)
                .build(),
        );
        allow_cidr(stack, "endpoints-https", &endpoints_sg.id, Direction::Ingress, 443, &cidr, "HTTPS from the VPC");
        for service in ["ecr.api", "ecr.dkr", "sts", "logs"] {
            stack.add(
                &format!("endpoint-{}", service.replace('.', "-")),
                VpcEndpoint::builder()
                    .vpc_id(net.vpc_id.clone())
                    .service_name(format!("com.amazonaws.{region}.{service}"))
                    .endpoint_type(EndpointType::Interface)
                    .subnet_ids(net.private_subnets.iter().map(|s| s.clone().into()).collect())
                    .security_group_ids(vec![endpoints_sg.id.clone().into()])
                    .private_dns_enabled(true)
                    .build(),
            );
        }
    }

    // rds.
    let db_id = format!("{prefix}-postgres");
    let replica = cfg.require::<bool>("rds_read_replica")?;
    let db = PostgresDatabase::with_options(
        stack,
        "rds",
        &PostgresArgs {
            identifier: db_id.clone(),
            kind: PostgresKind::Instance {
                instance_class: rds_class,
                allocated_storage: cfg.require("rds_allocated_storage")?,
                max_allocated_storage: cfg.get("rds_max_allocated_storage")?,
                multi_az: rds_multi_az,
                read_replica: replica,
            },
            engine_version: cfg.require("rds_engine_version")?,
            database_name: "trading".into(),
            username: "trading_admin".into(),
            // RDS generates it and keeps it in Secrets Manager.
            password: None,
            vpc_id: net.vpc_id.clone(),
            subnet_ids: net.database_subnet_ids(),
            allowed_security_groups: vec![nodes_sg.clone()],
            backup_retention_days: backup_days,
            deletion_protection: protect,
            performance_insights: cfg.require("rds_performance_insights")?,
            proxy: false,
            // "Optimized parameters": TLS required (the document's
            // encryption in transit), slow statements logged, sessions
            // idle in a transaction ended. All dynamic: no reboot.
            parameters: vec![
                ("rds.force_ssl".into(), "1".into()),
                ("log_min_duration_statement".into(), "500".into()),
                ("idle_in_transaction_session_timeout".into(), "300000".into()),
            ],
        },
        &PostgresOptions { monitoring_interval_seconds: cfg.require("rds_monitoring_interval")?, ..Default::default() },
    );

    // elasticache.
    let redis_id = format!("{prefix}-redis");
    let shards: i32 = cfg.require("elasticache_num_node_groups")?;
    let replicas: i32 = cfg.require("elasticache_replicas_per_node_group")?;
    let cache = RedisCache::new(
        stack,
        "elasticache",
        &RedisArgs {
            id: redis_id.clone(),
            node_type: cache_type,
            engine_version: cfg.require("elasticache_engine_version")?,
            cluster_mode: ClusterMode::Enabled { num_node_groups: shards, replicas_per_node_group: replicas },
            multi_az: cache_multi_az,
            auth_token,
            snapshot_retention_days: snapshot_days,
            vpc_id: net.vpc_id.clone(),
            subnet_ids: net.database_subnet_ids(),
            allowed_security_groups: vec![nodes_sg.clone()],
        },
    );

    // s3.
    let lake = DataLake::new(
        stack,
        "s3",
        &DataLakeArgs {
            prefix: format!("ai-trading-{env}"),
            buckets: buckets(),
            kms: true,
            // The document's audit logging of data access.
            access_logging: true,
            replica_region: cfg.get("compliance_replica_region")?,
            force_destroy: cfg.get_or("s3_force_destroy", false)?,
        },
    );

    // Alarms on the database's and the cache's CPU, memory, connections.
    let t: AlarmThresholds = cfg.require("alarms")?;
    let mut alarms = Vec::new();
    let mut instances = vec![db_id.clone()];
    if replica {
        instances.push(format!("{db_id}-replica"));
    }
    for (n, instance) in instances.iter().enumerate() {
        let who = if n == 0 { "rds" } else { "rds-replica" };
        let dims = [("DBInstanceIdentifier", instance.as_str())];
        alarms.extend([
            Alarm::above(
                format!("{prefix}-{who}-cpu"),
                format!("{instance}: CPU above {}%", t.rds_cpu_percent),
                ("AWS/RDS", "CPUUtilization"),
                &dims,
                Stat::Average,
                t.rds_cpu_percent,
                10,
            ),
            Alarm::below(
                format!("{prefix}-{who}-memory"),
                format!("{instance}: freeable memory below {} MiB", t.rds_freeable_memory_mib),
                ("AWS/RDS", "FreeableMemory"),
                &dims,
                Stat::Average,
                t.rds_freeable_memory_mib * 1024.0 * 1024.0,
                10,
            ),
            Alarm::above(
                format!("{prefix}-{who}-connections"),
                format!("{instance}: more than {} connections", t.rds_connections),
                ("AWS/RDS", "DatabaseConnections"),
                &dims,
                Stat::Maximum,
                t.rds_connections,
                5,
            ),
        ]);
    }
    // ElastiCache reports per node: `<group>-<shard:4>-<node:3>` in
    // cluster mode.
    for shard in 1..=shards {
        for node in 1..=replicas + 1 {
            let id = format!("{redis_id}-{shard:04}-{node:03}");
            let key = format!("{prefix}-redis-{shard:04}-{node:03}");
            let dims = [("CacheClusterId", id.as_str())];
            alarms.extend([
                Alarm::above(
                    format!("{key}-cpu"),
                    format!("{id}: engine CPU above {}%", t.redis_cpu_percent),
                    ("AWS/ElastiCache", "EngineCPUUtilization"),
                    &dims,
                    Stat::Average,
                    t.redis_cpu_percent,
                    10,
                ),
                Alarm::above(
                    format!("{key}-memory"),
                    format!("{id}: memory above {}%", t.redis_memory_percent),
                    ("AWS/ElastiCache", "DatabaseMemoryUsagePercentage"),
                    &dims,
                    Stat::Average,
                    t.redis_memory_percent,
                    5,
                ),
                Alarm::above(
                    format!("{key}-connections"),
                    format!("{id}: more than {} connections", t.redis_connections),
                    ("AWS/ElastiCache", "CurrConnections"),
                    &dims,
                    Stat::Maximum,
                    t.redis_connections,
                    5,
                ),
            ]);
        }
    }
    let monitoring = Monitoring::new(
        stack,
        "monitoring",
        &MonitoringArgs { prefix: prefix.clone(), region: region.clone(), email: cfg.get("alert_email")?, alarms },
    );

    // The document's outputs.
    stack.export("vpc_id", net.vpc_id.clone());
    stack.export("eks_cluster_name", eks.cluster_name.clone());
    stack.export("eks_cluster_endpoint", eks.endpoint.clone());
    if let Some(oidc) = &eks.oidc_provider_arn {
        stack.export("eks_oidc_provider_arn", oidc.clone());
    }
    stack.export("rds_endpoint", db.endpoint.clone());
    if let Some(reader) = &db.reader_endpoint {
        stack.export("rds_replica_endpoint", reader.clone());
    }
    if let Some(secret) = &db.master_secret_arn {
        stack.export("rds_master_secret_arn", secret.clone());
    }
    stack.export("redis_configuration_endpoint", cache.endpoint.clone());
    for (key, output) in [
        ("market-data", "market_data_bucket"),
        ("model-artifacts", "model_artifacts_bucket"),
        ("backups", "backups_bucket"),
        ("compliance", "compliance_bucket"),
    ] {
        stack.export(output, lake.buckets[key].clone());
    }
    stack.export("alerts_topic_arn", monitoring.topic_arn.clone());
    Ok(())
}
