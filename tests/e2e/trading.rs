//! The AI Trading Platform, `trading-platform --stack dev|prod`, as a user
//! runs it: the Redis AUTH token set as secret config, preview offline from
//! empty state, up against the emulator, the document's values checked
//! through the SDK, a refresh that finds nothing to change, one config
//! change planned as exactly one in-place update and applied, destroy, and
//! nothing of the stack left in the emulator. The token's plaintext is in
//! no file of the stack's directory (state, journal, config) and in no
//! command's output. Document values AWS would refuse are refused at
//! preview.

use aws_sdk_ec2::types::Filter;

use crate::cli::*;

const BIN: &str = "trading-platform";

/// What a stack's config (for prod: the document) says it holds.
struct Expected {
    stack: &'static str,
    env: &'static str,
    token: &'static str,
    nat_gateways: usize,
    interface_endpoints: usize,
    rds_class: &'static str,
    rds_multi_az: bool,
    backup_days: i32,
    monitoring_interval: i32,
    protected: bool,
    cache_type: &'static str,
    cache_nodes: usize,
    cache_multi_az: &'static str,
    snapshot_days: i32,
    log_types: &'static [&'static str],
    /// Node groups: name, capacity type, min, max.
    node_groups: [(&'static str, &'static str, i32, i32); 3],
    /// The general group's max size after the config change.
    general_max_after: i32,
}

async fn lifecycle(x: Expected) {
    let run = StackRun::new(BIN, &config_dir("trading-platform"), x.stack);
    let mut rec = Recorder { run: &run, seen: String::new() };
    let aws = aws();
    let env = x.env;
    let prefix = format!("{env}-trading");
    let cluster_name = format!("{env}-eks-cluster");
    let db_id = format!("{prefix}-postgres");
    let redis_id = format!("{prefix}-redis");

    // Without the token the program says how to set it.
    let out = rec.offline(&["preview"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("config set --secret elasticache_auth_token"), "{err}");
    let out = rec.offline(&["config", "set", "--secret", "elasticache_auth_token", x.token]);
    assert!(out.status.success(), "config set: {}", String::from_utf8_lossy(&out.stderr));

    // Preview from empty state needs no cloud: no credentials, no network.
    let out = rec.offline(&["preview"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "offline preview failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("to create") && text.contains("(known after apply)"), "{text}");
    for output in [
        "vpc_id",
        "eks_cluster_name",
        "eks_cluster_endpoint",
        "rds_endpoint",
        "rds_replica_endpoint",
        "redis_configuration_endpoint",
        "market_data_bucket",
        "model_artifacts_bucket",
        "backups_bucket",
        "compliance_bucket",
    ] {
        assert!(text.contains(output), "output {output} in the plan: {text}");
    }

    rec.ok(&["up", "--yes"]);

    // vpc: DNS, 9 subnets over 3 zones, NAT, endpoints.
    let ec2 = aws.ec2().await;
    let vpcs = ec2
        .describe_vpcs()
        .filters(Filter::builder().name("tag:iac:stack").values(format!("trading-platform/{}", x.stack)).build())
        .send()
        .await
        .unwrap();
    assert_eq!(vpcs.vpcs().len(), 1, "one VPC");
    let vpc_id = vpcs.vpcs()[0].vpc_id().unwrap().to_owned();
    let by_vpc = || Filter::builder().name("vpc-id").values(&vpc_id).build();
    for attribute in [aws_sdk_ec2::types::VpcAttributeName::EnableDnsSupport, "enableDnsHostnames".into()] {
        let a = ec2.describe_vpc_attribute().vpc_id(&vpc_id).attribute(attribute.clone()).send().await.unwrap();
        let on = a.enable_dns_support().or(a.enable_dns_hostnames()).and_then(|v| v.value());
        assert_eq!(on, Some(true), "{attribute:?}");
    }
    let subnets = ec2.describe_subnets().filters(by_vpc()).send().await.unwrap();
    assert_eq!(subnets.subnets().len(), 9, "public, private and database subnets in 3 zones");
    for tier in ["public", "private", "database"] {
        let mut zones: Vec<&str> = subnets
            .subnets()
            .iter()
            .filter(|s| s.tags().iter().any(|t| t.key() == Some("Tier") && t.value() == Some(tier)))
            .filter_map(|s| s.availability_zone())
            .collect();
        zones.sort();
        assert_eq!(zones, ["us-east-1a", "us-east-1b", "us-east-1c"], "{tier} subnets");
    }
    let nats = ec2.describe_nat_gateways().filter(by_vpc()).send().await.unwrap();
    let live = nats.nat_gateways().iter().filter(|n| n.state().map(|s| s.as_str()) == Some("available")).count();
    assert_eq!(live, x.nat_gateways, "NAT gateways");
    let endpoints = ec2.describe_vpc_endpoints().filters(by_vpc()).send().await.unwrap();
    let kind = |k: &str| {
        endpoints.vpc_endpoints().iter().filter(|e| e.vpc_endpoint_type().map(|t| t.as_str()) == Some(k)).count()
    };
    assert_eq!((kind("Gateway"), kind("Interface")), (1, x.interface_endpoints), "S3 gateway and interface endpoints");

    // eks: version, secrets encryption, logging, node groups, add-ons.
    let eks = aws.eks().await;
    let cluster = eks.describe_cluster().name(&cluster_name).send().await.unwrap();
    let cluster = cluster.cluster().unwrap();
    assert_eq!(cluster.version(), Some("1.32"), "the nearest version to the document's 1.28 that EKS still creates");
    let encryption = &cluster.encryption_config()[0];
    assert!(encryption.provider().and_then(|p| p.key_arn()).is_some_and(|k| k.contains(":key/")));
    let mut logged: Vec<&str> = cluster
        .logging()
        .unwrap()
        .cluster_logging()
        .iter()
        .filter(|l| l.enabled() == Some(true))
        .flat_map(|l| l.types().iter().map(|t| t.as_str()))
        .collect();
    logged.sort();
    let mut want: Vec<&str> = x.log_types.to_vec();
    want.sort();
    assert_eq!(logged, want, "control-plane log types");
    let vpc_config = cluster.resources_vpc_config().unwrap();
    let nodes_sg = vpc_config.cluster_security_group_id().expect("the cluster security group").to_owned();
    assert_eq!(vpc_config.subnet_ids().len(), 3, "the private subnets");
    for (name, capacity, min, max) in x.node_groups {
        let ng = eks.describe_nodegroup().cluster_name(&cluster_name).nodegroup_name(name).send().await.unwrap();
        let ng = ng.nodegroup().unwrap();
        let scaling = ng.scaling_config().unwrap();
        assert_eq!((scaling.min_size(), scaling.max_size()), (Some(min), Some(max)), "{name} scaling");
        assert_eq!(ng.capacity_type().map(|c| c.as_str()), Some(capacity), "{name} capacity");
        assert_eq!(ng.labels().and_then(|l| l.get("workload")).map(String::as_str), Some(name), "{name} label");
    }
    let addons = eks.list_addons().cluster_name(&cluster_name).send().await.unwrap();
    let mut names: Vec<&str> = addons.addons().iter().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["coredns", "kube-proxy", "vpc-cni"]);
    for name in ["coredns", "kube-proxy", "vpc-cni"] {
        let a = eks.describe_addon().cluster_name(&cluster_name).addon_name(name).send().await.unwrap();
        assert_eq!(a.addon().unwrap().status().map(|s| s.as_str()), Some("ACTIVE"), "{name}");
    }

    // security-groups: least privilege, the nodes (in the cluster security
    // group) the only way into the database and the cache.
    let group = |name: String| {
        let ec2 = ec2.clone();
        let vpc_id = vpc_id.clone();
        async move {
            let g = ec2
                .describe_security_groups()
                .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
                .filters(Filter::builder().name("group-name").values(&name).build())
                .send()
                .await
                .unwrap();
            assert_eq!(g.security_groups().len(), 1, "group {name}");
            g.security_groups()[0].clone()
        }
    };
    // (protocol, from, to, peer) of each permission.
    let rules = |perms: &[aws_sdk_ec2::types::IpPermission]| {
        let mut r: Vec<(String, i32, i32, String)> = perms
            .iter()
            .flat_map(|p| {
                let (proto, from, to) = (
                    p.ip_protocol().unwrap_or_default().to_owned(),
                    p.from_port().unwrap_or(-1),
                    p.to_port().unwrap_or(-1),
                );
                let cidrs = p.ip_ranges().iter().filter_map(|r| r.cidr_ip().map(str::to_owned));
                let groups = p.user_id_group_pairs().iter().filter_map(|g| g.group_id().map(str::to_owned));
                cidrs.chain(groups).map(move |peer| (proto.clone(), from, to, peer)).collect::<Vec<_>>()
            })
            .collect();
        r.sort();
        r
    };
    let tcp = |from: i32, to: i32, peer: &str| ("tcp".to_owned(), from, to, peer.to_owned());
    let alb = group(format!("{prefix}-alb")).await;
    let alb_id = alb.group_id().unwrap().to_owned();
    assert_eq!(rules(alb.ip_permissions()), [tcp(80, 80, "0.0.0.0/0"), tcp(443, 443, "0.0.0.0/0")]);
    assert_eq!(rules(alb.ip_permissions_egress()), [tcp(1024, 65535, &nodes_sg)], "the ALB reaches only the nodes");
    let db_sg = group(format!("{db_id}-db")).await;
    assert_eq!(rules(db_sg.ip_permissions()), [tcp(5432, 5432, &nodes_sg)], "PostgreSQL from the nodes only");
    let cache_sg = group(format!("{redis_id}-redis")).await;
    assert_eq!(rules(cache_sg.ip_permissions()), [tcp(6379, 6379, &nodes_sg)], "Redis from the nodes only");
    let control = group(format!("{prefix}-eks-control-plane")).await;
    assert!(vpc_config.security_group_ids().contains(&control.group_id().unwrap().to_owned()));
    assert!(control.ip_permissions_egress().is_empty(), "no egress from the control plane's extra group");
    let nodes = ec2.describe_security_groups().group_ids(&nodes_sg).send().await.unwrap();
    let node_rules = rules(nodes.security_groups()[0].ip_permissions());
    assert!(node_rules.contains(&tcp(1024, 65535, &alb_id)), "nodes take the ALB's traffic: {node_rules:?}");

    // rds: PostgreSQL 15.18 (the document's 15.4 is no longer created; see
    // config/trading-platform/prod.toml), the document's class, Multi-AZ, KMS, backups,
    // protection, Performance Insights, enhanced monitoring, a replica.
    let rds = aws.rds().await;
    let primary = rds.describe_db_instances().db_instance_identifier(&db_id).send().await.unwrap();
    let primary = &primary.db_instances()[0];
    assert_eq!((primary.engine(), primary.engine_version()), (Some("postgres"), Some("15.18")));
    assert_eq!(primary.db_instance_class(), Some(x.rds_class));
    assert_eq!(primary.multi_az(), Some(x.rds_multi_az), "Multi-AZ");
    assert_eq!(primary.storage_encrypted(), Some(true));
    let key = primary.kms_key_id().expect("a KMS key").to_owned();
    assert!(key.contains(":key/"), "{key}");
    assert_eq!(primary.backup_retention_period(), Some(x.backup_days));
    assert_eq!(primary.deletion_protection(), Some(x.protected));
    assert_eq!(primary.performance_insights_enabled(), Some(true));
    assert_eq!(primary.monitoring_interval(), Some(x.monitoring_interval));
    assert!(primary.monitoring_role_arn().is_some_and(|r| r.ends_with(&format!("/{db_id}-rds-monitoring"))));
    let secret_arn = primary.master_user_secret().and_then(|s| s.secret_arn()).expect("a managed password").to_owned();
    let replica = rds.describe_db_instances().db_instance_identifier(format!("{db_id}-replica")).send().await.unwrap();
    let replica = &replica.db_instances()[0];
    assert!(replica.read_replica_source_db_instance_identifier().is_some_and(|s| s.ends_with(&db_id)));
    assert_eq!((replica.db_instance_class(), replica.kms_key_id()), (Some(x.rds_class), Some(key.as_str())));
    assert_eq!(replica.monitoring_interval(), Some(x.monitoring_interval));

    // elasticache: Redis 7.0, cluster mode, Multi-AZ, failover, AUTH,
    // encryption, snapshots.
    let cache = aws.elasticache().await;
    let rg = cache.describe_replication_groups().replication_group_id(&redis_id).send().await.unwrap();
    let rg = &rg.replication_groups()[0];
    assert_eq!(rg.cache_node_type(), Some(x.cache_type));
    assert_eq!(rg.cluster_enabled(), Some(true), "cluster mode");
    assert_eq!(rg.member_clusters().len(), x.cache_nodes, "nodes");
    assert_eq!(rg.multi_az().map(|m| m.as_str()), Some(x.cache_multi_az));
    assert_eq!(rg.automatic_failover().map(|f| f.as_str()), Some("enabled"));
    assert_eq!(rg.auth_token_enabled(), Some(true), "AUTH token");
    assert_eq!((rg.at_rest_encryption_enabled(), rg.transit_encryption_enabled()), (Some(true), Some(true)));
    assert_eq!(rg.snapshot_retention_limit(), Some(x.snapshot_days));
    assert!(rg.configuration_endpoint().and_then(|e| e.address()).is_some(), "a configuration endpoint");
    let node = cache.describe_cache_clusters().cache_cluster_id(&rg.member_clusters()[0]).send().await.unwrap();
    assert!(node.cache_clusters()[0].engine_version().is_some_and(|v| v.starts_with("7.0")));

    // s3: four buckets, versioned, KMS, lifecycle; compliance replicated.
    let s3 = aws.s3().await;
    for key in ["market-data", "model-artifacts", "backups", "compliance"] {
        let bucket = format!("ai-trading-{env}-{key}");
        let v = s3.get_bucket_versioning().bucket(&bucket).send().await.unwrap();
        assert_eq!(v.status().map(|s| s.as_str()), Some("Enabled"), "{bucket} versioning");
        let e = s3.get_bucket_encryption().bucket(&bucket).send().await.unwrap();
        let rule = &e.server_side_encryption_configuration().unwrap().rules()[0];
        let by_default = rule.apply_server_side_encryption_by_default().unwrap();
        assert_eq!(by_default.sse_algorithm().as_str(), "aws:kms", "{bucket} encryption");
        let l = s3.get_bucket_lifecycle_configuration().bucket(&bucket).send().await.unwrap();
        assert!(!l.rules().is_empty(), "{bucket} lifecycle");
    }
    let replication = s3.get_bucket_replication().bucket(format!("ai-trading-{env}-compliance")).send().await.unwrap();
    let dest = replication.replication_configuration().unwrap().rules()[0].destination().unwrap();
    let replica_bucket = format!("ai-trading-{env}-compliance-us-west-2");
    assert_eq!(dest.bucket(), format!("arn:aws:s3:::{replica_bucket}"));
    let replica_key = dest.encryption_configuration().and_then(|e| e.replica_kms_key_id()).expect("a replica key");
    assert!(replica_key.starts_with("arn:aws:kms:us-west-2:"), "{replica_key}");
    let e = s3.get_bucket_encryption().bucket(&replica_bucket).send().await.unwrap();
    let rule = &e.server_side_encryption_configuration().unwrap().rules()[0];
    assert_eq!(rule.apply_server_side_encryption_by_default().unwrap().kms_master_key_id(), Some(replica_key));

    // Alarms: the database's and every cache node's CPU, memory and
    // connections.
    let cw = aws.cloudwatch().await;
    let alarms = cw.describe_alarms().alarm_name_prefix(format!("{prefix}-")).send().await.unwrap();
    assert_eq!(alarms.metric_alarms().len(), 3 * (2 + x.cache_nodes), "3 alarms per instance and node");
    let alarm = |name: String| {
        let a =
            alarms.metric_alarms().iter().find(|a| a.alarm_name() == Some(&name)).unwrap_or_else(|| panic!("{name}"));
        (a.metric_name().unwrap().to_owned(), a.comparison_operator().unwrap().as_str().to_owned())
    };
    for who in ["rds", "rds-replica"] {
        assert_eq!(alarm(format!("{prefix}-{who}-cpu")).0, "CPUUtilization");
        assert_eq!(alarm(format!("{prefix}-{who}-memory")), ("FreeableMemory".into(), "LessThanThreshold".into()));
        assert_eq!(alarm(format!("{prefix}-{who}-connections")).0, "DatabaseConnections");
    }
    for node in rg.member_clusters() {
        let key = format!("{prefix}-redis-{}", node.strip_prefix(&format!("{redis_id}-")).unwrap());
        assert_eq!(alarm(format!("{key}-cpu")).0, "EngineCPUUtilization");
        assert_eq!(alarm(format!("{key}-memory")).0, "DatabaseMemoryUsagePercentage");
        assert_eq!(alarm(format!("{key}-connections")).0, "CurrConnections");
    }

    // The document's outputs.
    let outputs = rec.ok(&["output", "--json"]);
    for (name, value) in [
        ("vpc_id", vpc_id.as_str()),
        ("eks_cluster_name", cluster_name.as_str()),
        ("eks_cluster_endpoint", cluster.endpoint().unwrap()),
        ("rds_endpoint", primary.endpoint().unwrap().address().unwrap()),
        ("rds_replica_endpoint", replica.endpoint().unwrap().address().unwrap()),
        ("redis_configuration_endpoint", rg.configuration_endpoint().unwrap().address().unwrap()),
        ("compliance_bucket", &format!("ai-trading-{env}-compliance")),
        ("market_data_bucket", &format!("ai-trading-{env}-market-data")),
    ] {
        assert!(outputs.contains(&format!("\"{name}\": \"{value}\"")), "output {name} = {value}: {outputs}");
    }

    rec.converged();

    // One config value: one in-place update, and nothing else.
    let (_, _, _, max_before) = x.node_groups[0];
    // `config set` rewrote the file: the first node group is the general one.
    run.edit_config(
        "[[eks_node_groups]]",
        &format!("max_size = {max_before}"),
        &format!("max_size = {}", x.general_max_after),
    );
    let out = rec.cli(&["preview", "--detailed-exitcode"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "changes planned: {text}");
    assert!(text.contains("eks/node-group-general") && text.contains("1 to update"), "{text}");
    assert!(!text.contains("to create") && !text.contains("to delete") && !text.contains("to replace"), "{text}");
    rec.ok(&["up", "--yes"]);
    let ng = eks.describe_nodegroup().cluster_name(&cluster_name).nodegroup_name("general").send().await.unwrap();
    assert_eq!(ng.nodegroup().unwrap().scaling_config().unwrap().max_size(), Some(x.general_max_after));
    rec.converged();

    if x.protected {
        // Production refuses deletion until protection is lifted: the
        // database's, and destroy's leave to empty buckets (access logs
        // accumulate in the log bucket).
        run.edit_config("rds_deletion_protection", "true", "false");
        run.edit_config("s3_force_destroy", "false", "true");
        rec.ok(&["up", "--yes"]);
    }
    rec.ok(&["destroy", "--yes"]);

    // Nothing of the stack is left.
    let vpcs = ec2.describe_vpcs().filters(by_vpc()).send().await.unwrap();
    assert!(vpcs.vpcs().is_empty(), "VPC gone");
    assert!(ec2.describe_security_groups().group_ids(&nodes_sg).send().await.is_err(), "cluster group gone");
    assert!(eks.describe_cluster().name(&cluster_name).send().await.is_err(), "cluster gone");
    for id in [db_id.clone(), format!("{db_id}-replica")] {
        assert!(rds.describe_db_instances().db_instance_identifier(id).send().await.is_err());
    }
    assert!(rds.describe_db_subnet_groups().db_subnet_group_name(&db_id).send().await.is_err());
    assert!(cache.describe_replication_groups().replication_group_id(&redis_id).send().await.is_err());
    let buckets = s3.list_buckets().send().await.unwrap();
    let bucket_prefix = format!("ai-trading-{env}-");
    assert!(buckets.buckets().iter().all(|b| !b.name().unwrap().starts_with(&bucket_prefix)), "buckets gone");
    let alarms = cw.describe_alarms().alarm_name_prefix(format!("{prefix}-")).send().await.unwrap();
    assert!(alarms.metric_alarms().is_empty(), "alarms gone");
    let roles = aws.iam().await.list_roles().send().await.unwrap();
    let ours = |r: &&str| {
        r.starts_with(&format!("{cluster_name}-"))
            || r.starts_with(&format!("{prefix}-"))
            || r.starts_with(&bucket_prefix)
            || r.starts_with(&format!("{}-vpc-", x.stack))
    };
    let left: Vec<&str> = roles.roles().iter().map(|r| r.role_name()).filter(ours).collect();
    assert!(left.is_empty(), "roles left: {left:?}");
    let logs = aws.logs().await;
    for group in [format!("/aws/eks/{cluster_name}/"), format!("/vpc/{}-vpc/", x.stack)] {
        let g = logs.describe_log_groups().log_group_name_prefix(&group).send().await.unwrap();
        assert!(g.log_groups().is_empty(), "{group} gone");
    }
    let topics = aws.sns().await.list_topics().send().await.unwrap();
    assert!(topics.topics().iter().all(|t| !t.topic_arn().unwrap().ends_with(&format!(":{prefix}-alerts"))));
    let secret = aws.secretsmanager().await.describe_secret().secret_id(&secret_arn).send().await;
    assert!(secret.map_or(true, |s| s.deleted_date().is_some()), "the managed password's secret gone");
    // The stack's KMS keys (both regions) are scheduled for deletion.
    for region in ["us-east-1", "us-west-2"] {
        let provider = iac_aws::AwsProvider::new(iac_aws::AwsSettings {
            region: Some(region.into()),
            endpoint_url: Some(iac_tests::moto().endpoint.clone()),
            ..Default::default()
        });
        let kms = provider.kms().await;
        for k in kms.list_keys().send().await.unwrap().keys() {
            let id = k.key_id().unwrap();
            let tags = kms.list_resource_tags().key_id(id).send().await.unwrap();
            let stack = format!("trading-platform/{}", x.stack);
            if tags.tags().iter().any(|t| t.tag_key() == "iac:stack" && t.tag_value() == stack) {
                let d = kms.describe_key().key_id(id).send().await.unwrap();
                let state = d.key_metadata().unwrap().key_state().map(|s| s.as_str().to_owned());
                assert_eq!(state.as_deref(), Some("PendingDeletion"), "key {id} in {region}");
            }
        }
    }

    // The token's plaintext: in no file (state, journal, config) and in no
    // output, while `config get` shows it masked.
    let out = rec.offline(&["config", "get", "elasticache_auth_token"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut found = Vec::new();
    files_holding(run.dir.path(), x.token.as_bytes(), &mut found);
    assert!(found.is_empty(), "the AUTH token's plaintext in {found:?}");
    assert!(run.dir.path().join(".iac").exists(), "the state directory was searched");
    assert!(!rec.seen.contains(x.token), "the AUTH token's plaintext in a command's output");
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_trading_platform_deploys_converges_updates_and_destroys() {
    lifecycle(Expected {
        stack: "dev",
        env: "dev",
        token: "dev-Redis-AUTH-7f3c9a1e5b2d",
        nat_gateways: 1,
        interface_endpoints: 0,
        rds_class: "db.t4g.medium",
        rds_multi_az: false,
        backup_days: 7,
        monitoring_interval: 60,
        protected: false,
        cache_type: "cache.t4g.medium",
        cache_nodes: 1,
        cache_multi_az: "disabled",
        snapshot_days: 1,
        log_types: &["api", "audit"],
        node_groups: [("general", "ON_DEMAND", 1, 4), ("trading", "SPOT", 1, 3), ("batch", "SPOT", 0, 3)],
        general_max_after: 6,
    })
    .await;
}

/// The document's production environment: its "Key Configuration
/// Parameters" as the cloud holds them.
#[tokio::test(flavor = "multi_thread")]
async fn prod_trading_platform_deploys_converges_updates_and_destroys() {
    lifecycle(Expected {
        stack: "prod",
        env: "production",
        token: "prod-Redis-AUTH-e41b8d07c6a9",
        nat_gateways: 3,
        interface_endpoints: 4,
        rds_class: "db.r6g.2xlarge",
        rds_multi_az: true,
        backup_days: 30,
        monitoring_interval: 15,
        protected: true,
        cache_type: "cache.r7g.2xlarge",
        cache_nodes: 3,
        cache_multi_az: "enabled",
        snapshot_days: 7,
        log_types: &["api", "audit", "authenticator", "controllerManager", "scheduler"],
        node_groups: [("general", "ON_DEMAND", 3, 9), ("trading", "ON_DEMAND", 3, 12), ("batch", "SPOT", 0, 20)],
        general_max_after: 12,
    })
    .await;
}

/// The document's "3-node cluster" read literally as three single-node
/// shards cannot be Multi-AZ (no replica to fail over to): the preview
/// refuses it, naming the cache, with nothing created. Turning automatic
/// failover off is refused too (cluster mode requires it), and so is an
/// AUTH token outside Redis's 16–128 characters, without printing it, and
/// the document's Kubernetes 1.28, past the end of EKS support.
#[test]
fn document_values_aws_rejects_are_refused_at_preview() {
    let run = StackRun::new(BIN, &config_dir("trading-platform"), "prod");
    let set = run.offline(&["config", "set", "--secret", "elasticache_auth_token", "prod-Redis-AUTH-e41b8d07c6a9"]);
    assert!(set.status.success());
    run.edit_config("elasticache_num_node_groups", "1", "3");
    run.edit_config("elasticache_replicas_per_node_group", "2", "0");
    let out = run.offline(&["preview"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("elasticache/redis") && err.contains("Multi-AZ needs"), "Multi-AZ without replicas: {err}");
    assert!(!run.dir.path().join(".iac").join("trading-platform").join("prod").join("snapshot.json").exists());

    let run = StackRun::new(BIN, &config_dir("trading-platform"), "prod");
    run.edit_config("elasticache_automatic_failover_enabled", "true", "false");
    let out = run.offline(&["preview"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("elasticache_automatic_failover_enabled") && err.contains("cluster mode"), "{err}");

    let run = StackRun::new(BIN, &config_dir("trading-platform"), "dev");
    assert!(run.offline(&["config", "set", "--secret", "elasticache_auth_token", "short-Tok3n"]).status.success());
    let out = run.offline(&["preview"]);
    let (stdout, err) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("elasticache/redis") && err.contains("authToken"), "token length refused: {err}");
    assert!(!err.contains("short-Tok3n") && !stdout.contains("short-Tok3n"), "the token is never printed: {err}");

    // The document's Kubernetes 1.28, which EKS no longer creates clusters on.
    let run = StackRun::new(BIN, &config_dir("trading-platform"), "prod");
    let set = run.offline(&["config", "set", "--secret", "elasticache_auth_token", "prod-Redis-AUTH-e41b8d07c6a9"]);
    assert!(set.status.success());
    run.edit_config("kubernetes_version", "1.32", "1.28");
    let out = run.offline(&["preview"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("eks/cluster") && err.contains("Kubernetes 1.28 left EKS extended support"), "{err}");
    assert!(!run.dir.path().join(".iac").join("trading-platform").join("prod").join("snapshot.json").exists());
}
