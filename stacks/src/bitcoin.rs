//! The Bitcoin price-prediction data pipeline (`dev-stack`, `prod-stack`):
//! a 3-zone network, five Fargate services behind one load balancer with
//! auto scaling, an S3 data lake, a Kinesis stream, Aurora PostgreSQL,
//! Redis, alarms with the document's thresholds and a dashboard, and the
//! ECR/CodeBuild/CodePipeline delivery of the services' images.
//!
//! Each environment's values come from `config/bitcoin-pipeline/<stack>.toml`,
//! which carry the document's `dev.tfvars` / `prod.tfvars` and its
//! `services` map.

use std::collections::BTreeMap;

use iac_aws::cloudwatch::Stat;
use iac_aws::ec2::SecurityGroup;
use iac_aws::ecs::{CapacityProviderStrategy, Cluster};
use iac_aws::elasticache::ClusterMode;
use iac_aws::kinesis::{Capacity, Stream};
use iac_aws::policy::Statement;
use iac_aws::AwsProvider;
use iac_core::{Error, Input, Output, Stack};
use serde::Deserialize;

use crate::components::*;

/// Where this program's per-stack config files are.
pub const CONFIG_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/bitcoin-pipeline");

/// One service of the document's `services` map.
#[derive(Clone, Debug, Deserialize)]
pub struct ServiceSpec {
    /// The image tag deployed.
    pub image_tag: String,
    /// Task CPU units.
    pub cpu: u32,
    /// Task memory (MiB).
    pub memory: u32,
    /// Tasks to run.
    pub desired_count: i32,
    /// The container port.
    pub port: u16,
    /// The load balancer's health check path.
    pub health_check_path: String,
    /// `high` for the critical services: never scaled below their count.
    #[serde(default)]
    pub priority: Option<String>,
    /// Most tasks auto scaling may run (10 unless set).
    #[serde(default)]
    pub max_count: Option<i32>,
}

/// Declares the pipeline.
pub fn program(stack: &Stack) -> Result<(), Error> {
    let cfg = stack.config();
    stack.provider("aws", AwsProvider::from_env());
    let env: String = cfg.require("environment")?;
    let region: String = cfg.require("region")?;
    let prefix = format!("btc-{env}");
    stack.default_tags([("Project", "bitcoin-pipeline"), ("Environment", env.as_str()), ("ManagedBy", "iac")]);
    let multi_az: bool = cfg.require("multi_az")?;
    let protect: bool = cfg.get_or("enable_deletion_protection", false)?;
    let log_days: i32 = cfg.get_or("log_retention_days", 30)?;
    let services: BTreeMap<String, ServiceSpec> = cfg.require("services")?;

    // Network: public/private/database subnets over 3 zones.
    let azs: Vec<String> = ["a", "b", "c"].iter().map(|z| format!("{region}{z}")).collect();
    let net = Network::new(
        stack,
        "network",
        &NetworkArgs {
            cidr: cfg.require("vpc_cidr")?,
            azs: azs.clone(),
            database_subnets: true,
            nat: if cfg.require("enable_nat_gateway")? { NatMode::PerZone } else { NatMode::None },
            flow_log_retention_days: cfg.get("flow_log_retention_days")?,
            s3_endpoint: true,
            eks_cluster_name: None,
        },
    );
    check_region(stack, "network", &region, &azs, true);
    // Every task joins this group; the database and cache let it in.
    let app_sg = stack.add(
        "app-sg",
        SecurityGroup::builder()
            .name(format!("{prefix}-app"))
            .description("pipeline services")
            .vpc_id(net.vpc_id.clone())
            .build(),
    );

    // Data.
    let lake = DataLake::new(
        stack,
        "data-lake",
        &DataLakeArgs {
            prefix: format!("{prefix}-pipeline"),
            buckets: vec![
                LakeBucket::plain("raw").with_rule(tiering_rule("tiering", 30, 90, None)),
                LakeBucket::plain("processed").with_rule(tiering_rule("tiering", 60, 180, None)),
                LakeBucket::plain("models"),
            ],
            kms: true,
            access_logging: true,
            replica_region: None,
            force_destroy: !protect,
        },
    );
    let stream = stack.add(
        "market-data",
        Stream::builder()
            .name(format!("{prefix}-market-data"))
            .capacity(Capacity::Shards(cfg.require("kinesis_shard_count")?))
            .retention_hours(24)
            .build(),
    );
    let db = PostgresDatabase::new(
        stack,
        "feature-store",
        &PostgresArgs {
            identifier: format!("{prefix}-features"),
            kind: PostgresKind::Aurora {
                instances: if multi_az { 2 } else { 1 },
                instance_class: cfg.require("rds_instance_class")?,
            },
            // The document names no version. Aurora no longer creates 15.4
            // (the preview refuses it, naming the versions the AWS catalog
            // holds); 15.10 is Aurora PostgreSQL 15's long-term-support
            // minor, kept for at least three years.
            engine_version: "15.10".into(),
            database_name: "features".into(),
            username: "pipeline_admin".into(),
            password: None,
            vpc_id: net.vpc_id.clone(),
            subnet_ids: net.database_subnet_ids(),
            allowed_security_groups: vec![app_sg.id.clone()],
            backup_retention_days: cfg.require("backup_retention_period")?,
            deletion_protection: protect,
            performance_insights: multi_az,
            proxy: false,
            parameters: vec![("log_min_duration_statement".into(), "1000".into())],
        },
    );
    let redis_id = format!("{prefix}-hot-state");
    let cache = RedisCache::new(
        stack,
        "hot-state",
        &RedisArgs {
            id: redis_id.clone(),
            node_type: cfg.require("redis_node_type")?,
            engine_version: "7.0".into(),
            cluster_mode: ClusterMode::Disabled { num_cache_clusters: if multi_az { 2 } else { 1 } },
            multi_az,
            auth_token: None,
            snapshot_retention_days: if multi_az { 7 } else { 1 },
            vpc_id: net.vpc_id.clone(),
            subnet_ids: net.database_subnet_ids(),
            allowed_security_groups: vec![app_sg.id.clone()],
        },
    );

    // Delivery: a repository per service; the pipeline deploys them.
    let cluster_name = format!("{prefix}-cluster");
    let names: Vec<String> = services.keys().cloned().collect();
    let delivery = DeliveryPipeline::new(
        stack,
        "delivery",
        &DeliveryArgs {
            prefix: prefix.clone(),
            cluster_name: Some(cluster_name.clone()),
            services: names.clone(),
            keep_images: 20,
            force_delete: !protect,
        },
    );

    // Compute: the cluster, the load balancer and the services.
    let providers: Vec<String> = cfg.require("ecs_cluster_capacity_providers")?;
    let cluster = stack.add(
        "cluster",
        Cluster::builder()
            .name(cluster_name.clone())
            .capacity_providers(providers.clone())
            .default_capacity_provider_strategy(
                providers
                    .iter()
                    .map(|p| CapacityProviderStrategy::builder().capacity_provider(p.clone()).weight(1).build())
                    .collect(),
            )
            .container_insights(multi_az)
            .build(),
    );
    let alb = PublicAlb::new(
        stack,
        "alb",
        &net,
        &PublicAlbArgs { name: format!("{prefix}-alb"), deletion_protection: protect, idle_timeout_seconds: 60 },
    );
    let data_access = vec![
        Statement::builder()
            .actions(["s3:GetObject", "s3:PutObject", "s3:ListBucket"])
            .resources(
                lake.arns.values().flat_map(|a| [a.clone().into(), a.map(|a| format!("{a}/*")).into()]).collect(),
            )
            .build(),
        Statement::builder()
            .actions([
                "kinesis:PutRecord",
                "kinesis:PutRecords",
                "kinesis:GetRecords",
                "kinesis:GetShardIterator",
                "kinesis:DescribeStream",
            ])
            .resources(vec![stream.arn.clone().into()])
            .build(),
    ];
    let mut alarms = Vec::new();
    for (i, (name, spec)) in services.iter().enumerate() {
        let high = spec.priority.as_deref() == Some("high");
        let image = delivery.repository_urls[name].map({
            let tag = spec.image_tag.clone();
            move |url| format!("{url}:{tag}")
        });
        let environment = BTreeMap::from([
            ("ENVIRONMENT".to_owned(), env.clone()),
            ("KINESIS_STREAM".to_owned(), format!("{prefix}-market-data")),
            ("RAW_BUCKET".to_owned(), format!("{prefix}-pipeline-raw")),
        ]);
        let svc = EcsServiceArgs {
            prefix: prefix.clone(),
            cluster_arn: cluster.id.clone(),
            cluster_name: cluster.name.clone(),
            vpc_id: net.vpc_id.clone(),
            subnets: net.private_subnet_ids(),
            extra_security_groups: vec![Input::from(app_sg.id.as_string())],
            region: region.clone(),
            image: image.into(),
            cpu: spec.cpu,
            memory: spec.memory,
            desired_count: spec.desired_count,
            port: spec.port,
            health_check_path: spec.health_check_path.clone(),
            route: Some(AlbRoute {
                listener_arn: alb.listener_arn.clone(),
                path_patterns: vec![format!("/{name}/*")],
                priority: 10 * (i as i32 + 1),
                alb_security_group: alb.security_group_id.clone(),
            }),
            environment,
            secrets: BTreeMap::new(),
            log_retention_days: log_days,
            // Services take the cluster's capacity providers.
            capacity_providers: providers.clone(),
            scaling: Some(CpuScaling {
                min: if high { spec.desired_count } else { 1 },
                max: spec.max_count.unwrap_or(10).max(spec.desired_count),
                target_percent: 70.0,
            }),
            task_policy: data_access.clone(),
        };
        EcsService::new(stack, name, svc);
        alarms.push(Alarm::above(
            format!("{prefix}-{name}-cpu"),
            format!("{name}: CPU above 80% for 5 minutes"),
            ("AWS/ECS", "CPUUtilization"),
            &[("ClusterName", cluster_name.as_str()), ("ServiceName", name.as_str())],
            Stat::Average,
            80.0,
            5,
        ));
    }

    // Monitoring with the document's thresholds.
    let db_id = format!("{prefix}-features");
    let stream_name = format!("{prefix}-market-data");
    let primary_node = format!("{redis_id}-001");
    alarms.extend([
        Alarm::above(
            format!("{prefix}-rds-cpu"),
            "Aurora: CPU above 70% for 10 minutes",
            ("AWS/RDS", "CPUUtilization"),
            &[("DBClusterIdentifier", db_id.as_str())],
            Stat::Average,
            70.0,
            10,
        ),
        Alarm::above(
            format!("{prefix}-kinesis-iterator-age"),
            "Kinesis: consumers more than a minute behind",
            ("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds"),
            &[("StreamName", stream_name.as_str())],
            Stat::Maximum,
            60_000.0,
            1,
        ),
        Alarm::above(
            format!("{prefix}-redis-memory"),
            "Redis: memory above 85%",
            ("AWS/ElastiCache", "DatabaseMemoryUsagePercentage"),
            &[("CacheClusterId", primary_node.as_str())],
            Stat::Average,
            85.0,
            5,
        ),
        // The services publish their error rate (percent of requests).
        Alarm::above(
            format!("{prefix}-error-rate"),
            "Application: error rate above 5%",
            ("BitcoinPipeline", "ErrorRate"),
            &[("Environment", env.as_str())],
            Stat::Average,
            5.0,
            5,
        ),
    ]);
    let monitoring = Monitoring::new(
        stack,
        "monitoring",
        &MonitoringArgs { prefix: prefix.clone(), region: region.clone(), email: cfg.get("alert_email")?, alarms },
    );

    stack.export("vpc_id", net.vpc_id.clone());
    stack.export("alb_dns_name", alb.dns_name.clone());
    stack.export("ecr_repository_urls", Output::all(delivery.repository_urls.values().cloned()));
    stack.export("aurora_endpoint", db.endpoint.clone());
    if let Some(reader) = &db.reader_endpoint {
        stack.export("aurora_reader_endpoint", reader.clone());
    }
    if let Some(secret) = &db.master_secret_arn {
        stack.export("aurora_master_secret_arn", secret.clone());
    }
    stack.export("redis_endpoint", cache.endpoint.clone());
    stack.export("kinesis_stream", stream.id.clone());
    stack.export("data_lake_buckets", Output::all(lake.buckets.values().cloned()));
    stack.export("alerts_topic_arn", monitoring.topic_arn.clone());
    stack.export("dashboard", monitoring.dashboard.clone());
    stack.export("pipeline_artifacts_bucket", delivery.artifact_bucket.clone());
    Ok(())
}
