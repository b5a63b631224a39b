//! The E-Commerce Analytics Platform, `ecommerce-analytics --stack
//! dev|staging|prod`, as a user runs it: the Redis AUTH token set as secret
//! config, preview offline from empty state, up against the emulator (in
//! us-west-2, the document's region), the document's values checked
//! through the SDK, a refresh that finds nothing to change, one config
//! change planned as exactly one in-place update and applied, destroy, and
//! nothing of the stack left in the emulator. The token's plaintext is in
//! no file of the stack's directory and in no command's output.

use aws_sdk_ec2::types::Filter;

use crate::cli::*;

const BIN: &str = "ecommerce-analytics";
const REGION: &str = "us-west-2";

/// What a stack's config (the document's values for its environment, and
/// ours where it is silent) says it holds.
struct Expected {
    stack: &'static str,
    token: &'static str,
    zones: &'static [&'static str],
    nat_gateways: usize,
    flow_log_days: i32,
    log_types: &'static [&'static str],
    eks_log_days: i32,
    /// Node groups: name, capacity type, instance types, min, max.
    node_groups: &'static [(&'static str, &'static str, &'static [&'static str], i32, i32)],
    /// The Spot group's max size after the config change.
    spot_max_after: i32,
    rds_class: &'static str,
    rds_multi_az: bool,
    rds_storage: i32,
    backup_days: i32,
    performance_insights: bool,
    monitoring_interval: i32,
    work_mem: &'static str,
    protected: bool,
    msk_type: &'static str,
    brokers: i32,
    msk_volume: i32,
    msk_monitoring: &'static str,
    redis_type: &'static str,
    redis_nodes: usize,
    redis_multi_az: &'static str,
    snapshot_days: i32,
    raw_expiration: Option<i32>,
    temp_expiration: i32,
    app_log_days: i32,
    replica_region: Option<&'static str>,
}

/// The stack's identity tag.
fn stack_tag(stack: &str) -> String {
    format!("ecommerce-analytics/{stack}")
}

/// The ARNs of the KMS keys of `stack` in `region`, with their state.
async fn stack_keys(region: &str, stack: &str) -> Vec<(String, String)> {
    let kms = aws_in(region).kms().await.clone();
    let mut keys = Vec::new();
    for k in kms.list_keys().send().await.unwrap().keys() {
        let id = k.key_id().unwrap();
        let tags = kms.list_resource_tags().key_id(id).send().await.unwrap();
        if tags.tags().iter().any(|t| t.tag_key() == "iac:stack" && t.tag_value() == stack_tag(stack)) {
            let d = kms.describe_key().key_id(id).send().await.unwrap();
            let m = d.key_metadata().unwrap();
            keys.push((m.arn().unwrap().to_owned(), m.key_state().map(|s| s.as_str().to_owned()).unwrap_or_default()));
        }
    }
    keys
}

/// The names the stack gives its resources (`ecap-<env>-…`).
struct Names {
    prefix: String,
    cluster_name: String,
    db_id: String,
    redis_id: String,
    kafka_name: String,
    bucket: String,
}

impl Names {
    fn of(env: &str) -> Names {
        let prefix = format!("ecap-{env}");
        Names {
            cluster_name: format!("{prefix}-eks"),
            db_id: format!("{prefix}-postgres"),
            redis_id: format!("{prefix}-redis"),
            kafka_name: format!("{prefix}-kafka"),
            bucket: format!("{prefix}-data-lake"),
            prefix,
        }
    }
}

/// What the checks after `up` found, for the checks after `destroy`.
struct Deployed {
    vpc_id: String,
    flow_group: String,
    nodes_sg: String,
    oidc_arn: String,
    group_name: String,
    msk_arn: String,
    secret_arn: String,
    topic: String,
}

/// A stack output (a string).
fn output_of(outputs: &serde_json::Value, name: &str) -> String {
    outputs[name].as_str().unwrap_or_else(|| panic!("output {name}: {outputs}")).to_owned()
}

/// A log group's retention, the group asserted to exist.
async fn retention(group: String) -> Option<i32> {
    let logs = aws_in(REGION).logs().await.clone();
    let g = logs.describe_log_groups().log_group_name_prefix(&group).send().await.unwrap();
    let g = g.log_groups().iter().find(|g| g.log_group_name() == Some(&group)).unwrap_or_else(|| panic!("{group}"));
    g.retention_in_days()
}

/// A security group's (protocol, from, to, peer) permissions, sorted.
fn rules(perms: &[aws_sdk_ec2::types::IpPermission]) -> Vec<(String, i32, i32, String)> {
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
}

/// A TCP permission.
fn tcp(from: i32, to: i32, peer: &str) -> (String, i32, i32, String) {
    ("tcp".to_owned(), from, to, peer.to_owned())
}

async fn lifecycle(x: Expected) {
    let run = StackRun::new(BIN, &config_dir("ecommerce-analytics"), x.stack);
    let mut rec = Recorder { run: &run, seen: String::new() };

    // Without the token the program says how to set it.
    let out = rec.offline(&["preview"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("config set --secret redis_auth_token"), "{err}");
    let out = rec.offline(&["config", "set", "--secret", "redis_auth_token", x.token]);
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
        "eks_oidc_provider_arn",
        "rds_endpoint",
        "rds_master_secret_arn",
        "msk_cluster_arn",
        "msk_bootstrap_brokers",
        "redis_endpoint",
        "data_lake_bucket",
        "alb_dns_name",
        "alerts_topic_arn",
    ] {
        assert!(text.contains(output), "output {output} in the plan: {text}");
    }

    rec.ok(&["up", "--yes"]);
    let outputs: serde_json::Value = serde_json::from_str(&rec.ok(&["output", "--json"])).expect("outputs as JSON");

    // The document's values, module by module, through the SDK (each check
    // a future of its own on the heap: together they outgrow a test
    // thread's stack).
    let (vpc_id, vpc_cidr, flow_group) = Box::pin(check_network(&x, &outputs)).await;
    let (nodes_sg, oidc_arn, eks_key, control_groups) = Box::pin(check_eks(&x, &outputs)).await;
    let (alb_id, msk_sg_id) = Box::pin(check_security_groups(&x, &vpc_id, &vpc_cidr, &nodes_sg, &control_groups)).await;
    let (rds_key, secret_arn, group_name) = Box::pin(check_rds(&x, &outputs)).await;
    let (msk_arn, msk_key) = Box::pin(check_msk(&x, &outputs, &msk_sg_id)).await;
    let redis_key = Box::pin(check_redis(&x, &outputs)).await;
    let lake_key = Box::pin(check_s3(&x, &outputs)).await;
    Box::pin(check_keys(&x, [eks_key, rds_key, msk_key, redis_key, lake_key])).await;
    Box::pin(check_alb(&x, &outputs, &alb_id)).await;
    let topic = Box::pin(check_cloudwatch(&x, &outputs)).await;
    let deployed = Deployed { vpc_id, flow_group, nodes_sg, oidc_arn, group_name, msk_arn, secret_arn, topic };

    rec.converged();

    // One config value: one in-place update, and nothing else.
    let (_, _, _, _, spot_max) = *x.node_groups.iter().find(|g| g.0 == "spot").unwrap();
    run.edit_config("name = \"spot\"", &format!("max_size = {spot_max}"), &format!("max_size = {}", x.spot_max_after));
    let out = rec.cli(&["preview", "--detailed-exitcode"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "changes planned: {text}");
    assert!(text.contains("eks/node-group-spot") && text.contains("1 to update"), "{text}");
    assert!(!text.contains("to create") && !text.contains("to delete") && !text.contains("to replace"), "{text}");
    rec.ok(&["up", "--yes"]);
    let eks = aws_in(REGION).eks().await.clone();
    let ng = eks
        .describe_nodegroup()
        .cluster_name(Names::of(x.stack).cluster_name)
        .nodegroup_name("spot")
        .send()
        .await
        .unwrap();
    assert_eq!(ng.nodegroup().unwrap().scaling_config().unwrap().max_size(), Some(x.spot_max_after));
    rec.converged();

    if x.protected {
        // Production refuses deletion until protection is lifted: the
        // database's and the load balancer's, and destroy's leave to empty
        // buckets (access logs accumulate).
        run.edit_config("rds_deletion_protection", "true", "false");
        run.edit_config("alb_deletion_protection", "true", "false");
        run.edit_config("force_destroy", "false", "true");
        rec.ok(&["up", "--yes"]);
    }
    rec.ok(&["destroy", "--yes"]);

    Box::pin(check_gone(&x, &deployed)).await;

    // The token's plaintext: in no file (state, journal, config) and in no
    // output, while `config get` shows it masked.
    let out = rec.offline(&["config", "get", "redis_auth_token"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut found = Vec::new();
    files_holding(run.dir.path(), x.token.as_bytes(), &mut found);
    assert!(found.is_empty(), "the AUTH token's plaintext in {found:?}");
    assert!(run.dir.path().join(".iac").exists(), "the state directory was searched");
    assert!(!rec.seen.contains(x.token), "the AUTH token's plaintext in a command's output");
}

/// vpc: DNS, public/private/database subnets in every zone, tagged for
/// EKS's load balancers, NAT, flow logs. Returns the VPC's id and range and
/// the flow logs' group.
async fn check_network(x: &Expected, outputs: &serde_json::Value) -> (String, String, String) {
    let n = Names::of(x.stack);
    let cluster_name = &n.cluster_name;
    let output = |name: &str| output_of(outputs, name);
    let aws = aws_in(REGION);
    let ec2 = aws.ec2().await.clone();
    let vpcs = ec2
        .describe_vpcs()
        .filters(Filter::builder().name("tag:iac:stack").values(stack_tag(x.stack)).build())
        .send()
        .await
        .unwrap();
    assert_eq!(vpcs.vpcs().len(), 1, "one VPC in {REGION}");
    let vpc_id = vpcs.vpcs()[0].vpc_id().unwrap().to_owned();
    let vpc_cidr = vpcs.vpcs()[0].cidr_block().unwrap().to_owned();
    assert_eq!(output("vpc_id"), vpc_id);
    let by_vpc = || Filter::builder().name("vpc-id").values(&vpc_id).build();
    for attribute in [aws_sdk_ec2::types::VpcAttributeName::EnableDnsSupport, "enableDnsHostnames".into()] {
        let a = ec2.describe_vpc_attribute().vpc_id(&vpc_id).attribute(attribute.clone()).send().await.unwrap();
        let on = a.enable_dns_support().or(a.enable_dns_hostnames()).and_then(|v| v.value());
        assert_eq!(on, Some(true), "{attribute:?}");
    }
    let subnets = ec2.describe_subnets().filters(by_vpc()).send().await.unwrap();
    assert_eq!(subnets.subnets().len(), 3 * x.zones.len(), "public, private and database subnets per zone");
    let tag = |s: &aws_sdk_ec2::types::Subnet, k: &str| {
        s.tags().iter().find(|t| t.key() == Some(k)).and_then(|t| t.value()).map(str::to_owned)
    };
    for (tier, elb_role) in [
        ("public", Some("kubernetes.io/role/elb")),
        ("private", Some("kubernetes.io/role/internal-elb")),
        ("database", None),
    ] {
        let of_tier: Vec<_> = subnets.subnets().iter().filter(|s| tag(s, "Tier").as_deref() == Some(tier)).collect();
        let mut zones: Vec<&str> = of_tier.iter().filter_map(|s| s.availability_zone()).collect();
        zones.sort();
        assert_eq!(zones, x.zones, "{tier} subnets");
        for s in of_tier {
            let cluster_tag = tag(s, &format!("kubernetes.io/cluster/{cluster_name}"));
            match elb_role {
                Some(role) => {
                    assert_eq!(tag(s, role).as_deref(), Some("1"), "{tier} subnet tagged {role}");
                    assert_eq!(cluster_tag.as_deref(), Some("shared"), "{tier} subnet tagged for the cluster");
                }
                None => assert_eq!(cluster_tag, None, "database subnets are not the cluster's"),
            }
        }
    }
    let nats = ec2.describe_nat_gateways().filter(by_vpc()).send().await.unwrap();
    let live = nats.nat_gateways().iter().filter(|n| n.state().map(|s| s.as_str()) == Some("available")).count();
    assert_eq!(live, x.nat_gateways, "NAT gateways");
    let flow = ec2
        .describe_flow_logs()
        .filter(Filter::builder().name("resource-id").values(&vpc_id).build())
        .send()
        .await
        .unwrap();
    assert_eq!(flow.flow_logs().len(), 1, "the VPC's flow log");
    let flow_group = flow.flow_logs()[0].log_group_name().unwrap().to_owned();
    let logs = aws.logs().await.clone();
    let retention = |group: String| {
        let logs = logs.clone();
        async move {
            let g = logs.describe_log_groups().log_group_name_prefix(&group).send().await.unwrap();
            let g =
                g.log_groups().iter().find(|g| g.log_group_name() == Some(&group)).unwrap_or_else(|| panic!("{group}"));
            g.retention_in_days()
        }
    };
    assert_eq!(retention(flow_group.clone()).await, Some(x.flow_log_days), "flow log retention");

    (vpc_id, vpc_cidr, flow_group)
}

/// eks: version, OIDC provider, private endpoint, secrets encryption,
/// logging, node groups (the Spot one), add-ons, the node role. Returns the
/// cluster security group, the OIDC provider's ARN, the secrets key and the
/// control plane's extra groups.
async fn check_eks(x: &Expected, outputs: &serde_json::Value) -> (String, String, String, Vec<String>) {
    let cluster_name = Names::of(x.stack).cluster_name;
    let output = |name: &str| output_of(outputs, name);
    let aws = aws_in(REGION);
    let eks = aws.eks().await.clone();
    let cluster = eks.describe_cluster().name(&cluster_name).send().await.unwrap();
    let cluster = cluster.cluster().unwrap();
    assert_eq!(cluster.version(), Some("1.32"));
    assert_eq!(output("eks_cluster_name"), cluster_name);
    assert_eq!(output("eks_cluster_endpoint"), cluster.endpoint().unwrap());
    let eks_key = cluster.encryption_config()[0].provider().and_then(|p| p.key_arn()).expect("secrets key").to_owned();
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
    assert_eq!(retention(format!("/aws/eks/{cluster_name}/cluster")).await, Some(x.eks_log_days));
    let vpc_config = cluster.resources_vpc_config().unwrap();
    assert!(vpc_config.endpoint_private_access(), "private API endpoint");
    assert!(vpc_config.endpoint_public_access(), "public API endpoint (kubectl from a workstation)");
    assert_eq!(vpc_config.subnet_ids().len(), x.zones.len(), "the private subnets");
    let nodes_sg = vpc_config.cluster_security_group_id().expect("the cluster security group").to_owned();
    let issuer = cluster.identity().and_then(|i| i.oidc()).and_then(|o| o.issuer()).expect("an OIDC issuer");
    let oidc_arn = output("eks_oidc_provider_arn");
    let iam = aws.iam().await.clone();
    let provider = iam.get_open_id_connect_provider().open_id_connect_provider_arn(&oidc_arn).send().await.unwrap();
    assert_eq!(provider.url().map(|u| u.trim_start_matches("https://")), Some(issuer.trim_start_matches("https://")));
    assert_eq!(provider.client_id_list(), ["sts.amazonaws.com"], "IRSA audience");
    for (name, capacity, types, min, max) in x.node_groups {
        let ng = eks.describe_nodegroup().cluster_name(&cluster_name).nodegroup_name(*name).send().await.unwrap();
        let ng = ng.nodegroup().unwrap();
        let scaling = ng.scaling_config().unwrap();
        assert_eq!((scaling.min_size(), scaling.max_size()), (Some(*min), Some(*max)), "{name} scaling");
        assert_eq!(ng.capacity_type().map(|c| c.as_str()), Some(*capacity), "{name} capacity");
        assert_eq!(ng.instance_types(), *types, "{name} instance types");
        assert_eq!(ng.labels().and_then(|l| l.get("workload")).map(String::as_str), Some(*name), "{name} label");
    }
    assert!(x.node_groups.iter().any(|(name, capacity, ..)| *name == "spot" && *capacity == "SPOT"), "a Spot group");
    let addons = eks.list_addons().cluster_name(&cluster_name).send().await.unwrap();
    let mut names: Vec<&str> = addons.addons().iter().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["coredns", "kube-proxy", "vpc-cni"]);
    for name in names {
        let a = eks.describe_addon().cluster_name(&cluster_name).addon_name(name).send().await.unwrap();
        assert_eq!(a.addon().unwrap().status().map(|s| s.as_str()), Some("ACTIVE"), "{name}");
    }
    let node_role = cluster_name.clone() + "-node-role";
    let attached = iam.list_attached_role_policies().role_name(&node_role).send().await.unwrap();
    let mut policies: Vec<&str> = attached.attached_policies().iter().filter_map(|p| p.policy_name()).collect();
    policies.sort();
    assert_eq!(
        policies,
        [
            "AmazonEC2ContainerRegistryReadOnly",
            "AmazonEKSWorkerNodePolicy",
            "AmazonEKS_CNI_Policy",
            "CloudWatchAgentServerPolicy"
        ],
        "node role"
    );

    (nodes_sg, oidc_arn, eks_key, vpc_config.security_group_ids().to_vec())
}

/// security-groups: least privilege, by (protocol, from, to, peer). Returns
/// the load balancer's and the brokers' groups.
async fn check_security_groups(
    x: &Expected,
    vpc_id: &str,
    vpc_cidr: &str,
    nodes_sg: &str,
    control_groups: &[String],
) -> (String, String) {
    let Names { prefix, db_id, redis_id, .. } = Names::of(x.stack);
    let ec2 = aws_in(REGION).ec2().await.clone();
    let group = |name: String| {
        let ec2 = ec2.clone();
        let vpc_id = vpc_id.to_owned();
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
    let all_out = [("-1".to_owned(), -1, -1, "0.0.0.0/0".to_owned())];
    let alb_sg = group(format!("{prefix}-alb-alb")).await;
    let alb_id = alb_sg.group_id().unwrap().to_owned();
    assert_eq!(rules(alb_sg.ip_permissions()), [tcp(80, 80, "0.0.0.0/0")], "HTTP into the load balancer");
    let control = group(format!("{prefix}-eks-control-plane")).await;
    assert!(control_groups.contains(&control.group_id().unwrap().to_owned()), "the control plane's extra group");
    assert_eq!(rules(control.ip_permissions()), [tcp(443, 443, vpc_cidr)], "the API from inside the VPC");
    assert!(control.ip_permissions_egress().is_empty(), "no egress from the control plane's extra group");
    let monitoring = group(format!("{prefix}-monitoring")).await;
    let monitoring_id = monitoring.group_id().unwrap().to_owned();
    let msk_sg = group(format!("{prefix}-msk")).await;
    let msk_sg_id = msk_sg.group_id().unwrap().to_owned();
    let mut want = vec![tcp(9098, 9098, nodes_sg), tcp(9092, 9098, &msk_sg_id), tcp(11001, 11002, &monitoring_id)];
    want.sort();
    assert_eq!(rules(msk_sg.ip_permissions()), want, "Kafka from the nodes, exporters to monitoring, brokers");
    assert_eq!(rules(msk_sg.ip_permissions_egress()), [tcp(9092, 9098, &msk_sg_id)], "brokers reach brokers only");
    assert!(monitoring.ip_permissions().is_empty(), "nothing into monitoring (Grafana by port-forward)");
    let mut want = vec![tcp(9100, 9100, nodes_sg), tcp(11001, 11002, &msk_sg_id)];
    want.sort();
    assert_eq!(rules(monitoring.ip_permissions_egress()), want, "monitoring reaches the exporters only");
    let db_sg = group(format!("{db_id}-db")).await;
    assert_eq!(rules(db_sg.ip_permissions()), [tcp(5432, 5432, nodes_sg)], "PostgreSQL from the nodes only");
    assert_eq!(rules(db_sg.ip_permissions_egress()), all_out);
    let cache_sg = group(format!("{redis_id}-redis")).await;
    assert_eq!(rules(cache_sg.ip_permissions()), [tcp(6379, 6379, nodes_sg)], "Redis from the nodes only");
    let nodes = ec2.describe_security_groups().group_ids(nodes_sg).send().await.unwrap();
    let node_rules = rules(nodes.security_groups()[0].ip_permissions());
    assert!(node_rules.contains(&tcp(1024, 65535, &alb_id)), "nodes take the ALB's traffic: {node_rules:?}");
    assert!(node_rules.contains(&tcp(9100, 9100, &monitoring_id)), "node exporters scraped: {node_rules:?}");

    (alb_id, msk_sg_id)
}

/// rds: PostgreSQL 15, the document's database and user, class, Multi-AZ,
/// KMS, backups, protection, monitoring, managed password, the analytics
/// parameters. Returns its key, the password's secret and the parameter
/// group.
async fn check_rds(x: &Expected, outputs: &serde_json::Value) -> (String, String, String) {
    let db_id = Names::of(x.stack).db_id;
    let output = |name: &str| output_of(outputs, name);
    let rds = aws_in(REGION).rds().await.clone();
    let primary = rds.describe_db_instances().db_instance_identifier(&db_id).send().await.unwrap();
    let primary = &primary.db_instances()[0];
    assert_eq!((primary.engine(), primary.engine_version()), (Some("postgres"), Some("15.15")));
    assert_eq!((primary.db_name(), primary.master_username()), (Some("ecommerce_analytics"), Some("ecap_admin")));
    assert_eq!(primary.db_instance_class(), Some(x.rds_class));
    assert_eq!(primary.multi_az(), Some(x.rds_multi_az), "Multi-AZ");
    assert_eq!(primary.allocated_storage(), Some(x.rds_storage));
    assert_eq!(primary.storage_encrypted(), Some(true));
    let rds_key = primary.kms_key_id().expect("a KMS key").to_owned();
    assert_eq!(primary.backup_retention_period(), Some(x.backup_days));
    assert_eq!(primary.deletion_protection(), Some(x.protected));
    assert_eq!(primary.performance_insights_enabled(), Some(x.performance_insights));
    assert_eq!(primary.monitoring_interval(), Some(x.monitoring_interval));
    let secret_arn = primary.master_user_secret().and_then(|s| s.secret_arn()).expect("a managed password").to_owned();
    assert_eq!(output("rds_master_secret_arn"), secret_arn);
    assert_eq!(output("rds_endpoint"), primary.endpoint().unwrap().address().unwrap());
    let group_name = primary.db_parameter_groups()[0].db_parameter_group_name().unwrap().to_owned();
    assert_eq!(group_name, format!("{db_id}-pg15"));
    let params = rds.describe_db_parameters().db_parameter_group_name(&group_name).send().await.unwrap();
    let param = |name: &str| {
        params
            .parameters()
            .iter()
            .find(|p| p.parameter_name() == Some(name))
            .and_then(|p| p.parameter_value())
            .unwrap_or_else(|| panic!("parameter {name}"))
            .to_owned()
    };
    assert_eq!(param("rds.force_ssl"), "1", "TLS required");
    assert_eq!(param("work_mem"), x.work_mem);
    assert_eq!(param("random_page_cost"), "1.1");

    (rds_key, secret_arn, group_name)
}

/// msk: the brokers, their encryption (own key, TLS), IAM auth, monitoring
/// (CloudWatch level, Prometheus), logs; the bootstrap brokers the output
/// gives. Returns the cluster's ARN and its key.
async fn check_msk(x: &Expected, outputs: &serde_json::Value, msk_sg_id: &str) -> (String, String) {
    let kafka_name = Names::of(x.stack).kafka_name;
    let output = |name: &str| output_of(outputs, name);
    let kafka = aws_in(REGION).kafka().await.clone();
    let msk_arn = output("msk_cluster_arn");
    let info = kafka.describe_cluster().cluster_arn(&msk_arn).send().await.unwrap();
    let info = info.cluster_info().unwrap();
    assert_eq!(info.cluster_name(), Some(kafka_name.as_str()));
    assert_eq!(info.current_broker_software_info().and_then(|s| s.kafka_version()), Some("3.8.x"));
    assert_eq!(info.number_of_broker_nodes(), Some(x.brokers));
    let nodes_info = info.broker_node_group_info().unwrap();
    assert_eq!(nodes_info.instance_type(), Some(x.msk_type));
    assert_eq!(nodes_info.client_subnets().len(), x.zones.len(), "a broker subnet per zone");
    assert_eq!(nodes_info.security_groups(), [msk_sg_id.to_owned()]);
    let volume = nodes_info.storage_info().and_then(|s| s.ebs_storage_info()).and_then(|e| e.volume_size());
    assert_eq!(volume, Some(x.msk_volume));
    let encryption = info.encryption_info().unwrap();
    let msk_key =
        encryption.encryption_at_rest().and_then(|e| e.data_volume_kms_key_id()).expect("the brokers' key").to_owned();
    let transit = encryption.encryption_in_transit().unwrap();
    assert_eq!((transit.client_broker().map(|c| c.as_str()), transit.in_cluster()), (Some("TLS"), Some(true)));
    let auth = info.client_authentication().unwrap();
    assert_eq!(auth.sasl().and_then(|s| s.iam()).and_then(|i| i.enabled()), Some(true), "IAM authentication");
    assert_ne!(auth.unauthenticated().and_then(|u| u.enabled()), Some(true), "no unauthenticated access");
    assert_eq!(info.enhanced_monitoring().map(|m| m.as_str()), Some(x.msk_monitoring));
    let prometheus = info.open_monitoring().and_then(|o| o.prometheus()).expect("open monitoring");
    assert_eq!(prometheus.jmx_exporter().and_then(|j| j.enabled_in_broker()), Some(true));
    assert_eq!(prometheus.node_exporter().and_then(|n| n.enabled_in_broker()), Some(true));
    let broker_logs = info.logging_info().and_then(|l| l.broker_logs()).and_then(|b| b.cloud_watch_logs()).unwrap();
    assert_eq!(broker_logs.log_group(), Some(format!("/aws/msk/{kafka_name}").as_str()));
    let bootstrap = kafka.get_bootstrap_brokers().cluster_arn(&msk_arn).send().await.unwrap();
    let iam_brokers = bootstrap.bootstrap_broker_string_sasl_iam().expect("SASL/IAM brokers");
    assert_eq!(output("msk_bootstrap_brokers"), iam_brokers);
    assert_eq!(iam_brokers.split(',').count(), x.brokers as usize);
    assert!(iam_brokers.split(',').all(|b| b.ends_with(":9098")), "{iam_brokers}");

    (msk_arn, msk_key)
}

/// elasticache: Redis 7.1, nodes, Multi-AZ, AUTH, encryption with its own
/// key, snapshots. Returns the key.
async fn check_redis(x: &Expected, outputs: &serde_json::Value) -> String {
    let redis_id = Names::of(x.stack).redis_id;
    let cache = aws_in(REGION).elasticache().await.clone();
    let rg = cache.describe_replication_groups().replication_group_id(&redis_id).send().await.unwrap();
    let rg = &rg.replication_groups()[0];
    assert_eq!(rg.cache_node_type(), Some(x.redis_type));
    assert_eq!(rg.cluster_enabled(), Some(false), "one shard");
    assert_eq!(rg.member_clusters().len(), x.redis_nodes, "nodes");
    assert_eq!(rg.multi_az().map(|m| m.as_str()), Some(x.redis_multi_az));
    assert_eq!(rg.auth_token_enabled(), Some(true), "AUTH token");
    assert_eq!((rg.at_rest_encryption_enabled(), rg.transit_encryption_enabled()), (Some(true), Some(true)));
    let redis_key = rg.kms_key_id().expect("the cache's key").to_owned();
    assert_eq!(rg.snapshot_retention_limit(), Some(x.snapshot_days));
    let primary_endpoint = rg.node_groups()[0].primary_endpoint().and_then(|e| e.address()).expect("primary endpoint");
    assert_eq!(output_of(outputs, "redis_endpoint"), primary_endpoint);
    let node = cache.describe_cache_clusters().cache_cluster_id(&rg.member_clusters()[0]).send().await.unwrap();
    assert!(node.cache_clusters()[0].engine_version().is_some_and(|v| v.starts_with("7.1")));

    redis_key
}

/// s3: the data lake bucket in us-west-2, versioned, KMS, access-logged,
/// Intelligent-Tiering (lifecycle into the class, archive tiers
/// configured), retention; replicated in production. Returns its key.
async fn check_s3(x: &Expected, outputs: &serde_json::Value) -> String {
    let Names { prefix, bucket, .. } = Names::of(x.stack);
    let s3 = aws_in(REGION).s3().await.clone();
    assert_eq!(output_of(outputs, "data_lake_bucket"), bucket);
    let location = s3.get_bucket_location().bucket(&bucket).send().await.unwrap();
    assert_eq!(location.location_constraint().map(|c| c.as_str()), Some(REGION));
    let v = s3.get_bucket_versioning().bucket(&bucket).send().await.unwrap();
    assert_eq!(v.status().map(|s| s.as_str()), Some("Enabled"), "versioning");
    let e = s3.get_bucket_encryption().bucket(&bucket).send().await.unwrap();
    let by_default = e.server_side_encryption_configuration().unwrap().rules()[0]
        .apply_server_side_encryption_by_default()
        .unwrap()
        .clone();
    assert_eq!(by_default.sse_algorithm().as_str(), "aws:kms", "encryption");
    let lake_key = by_default.kms_master_key_id().expect("the lake's key").to_owned();
    let block = s3.get_public_access_block().bucket(&bucket).send().await.unwrap();
    let block = block.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            block.block_public_acls(),
            block.ignore_public_acls(),
            block.block_public_policy(),
            block.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true)),
        "no public access"
    );
    let logging = s3.get_bucket_logging().bucket(&bucket).send().await.unwrap();
    assert_eq!(logging.logging_enabled().map(|l| l.target_bucket()), Some(format!("{prefix}-access-logs").as_str()));
    let lifecycle = s3.get_bucket_lifecycle_configuration().bucket(&bucket).send().await.unwrap();
    let rule =
        |id: &str| lifecycle.rules().iter().find(|r| r.id() == Some(id)).unwrap_or_else(|| panic!("rule {id}")).clone();
    for id in ["raw", "processed"] {
        let r = rule(id);
        assert_eq!(r.filter().and_then(|f| f.prefix()), Some(format!("{id}/").as_str()));
        let t: Vec<(Option<i32>, Option<&str>)> =
            r.transitions().iter().map(|t| (t.days(), t.storage_class().map(|c| c.as_str()))).collect();
        assert_eq!(t, [(Some(0), Some("INTELLIGENT_TIERING"))], "{id}/ into Intelligent-Tiering");
    }
    assert_eq!(rule("raw").expiration().and_then(|e| e.days()), x.raw_expiration, "raw retention");
    assert_eq!(rule("processed").expiration().and_then(|e| e.days()), None, "processed data is kept");
    assert_eq!(rule("temp").expiration().and_then(|e| e.days()), Some(x.temp_expiration), "temp retention");
    let tiering = s3.get_bucket_intelligent_tiering_configuration().bucket(&bucket).id("raw-archive").send().await;
    let tiering = tiering.unwrap();
    let tiering = tiering.intelligent_tiering_configuration().expect("an Intelligent-Tiering configuration");
    assert_eq!(tiering.status().as_str(), "Enabled");
    assert_eq!(tiering.filter().and_then(|f| f.prefix()), Some("raw/"));
    let mut tiers: Vec<(String, i32)> =
        tiering.tierings().iter().map(|t| (t.access_tier().as_str().to_owned(), t.days())).collect();
    tiers.sort();
    assert_eq!(tiers, [("ARCHIVE_ACCESS".to_owned(), 90), ("DEEP_ARCHIVE_ACCESS".to_owned(), 180)]);
    let replication = s3.get_bucket_replication().bucket(&bucket).send().await;
    match x.replica_region {
        None => assert!(replication.is_err(), "no replication outside production"),
        Some(region) => {
            let replication = replication.unwrap();
            let dest = replication.replication_configuration().unwrap().rules()[0].destination().unwrap();
            let replica = format!("{bucket}-{region}");
            assert_eq!(dest.bucket(), format!("arn:aws:s3:::{replica}"));
            let key = dest.encryption_configuration().and_then(|e| e.replica_kms_key_id()).expect("a replica key");
            assert!(key.starts_with(&format!("arn:aws:kms:{region}:")), "{key}");
            let far = aws_in(region).s3().await.clone();
            let location = far.get_bucket_location().bucket(&replica).send().await.unwrap();
            // S3 reports us-east-1 as no constraint at all.
            let constraint = location.location_constraint().map(|c| c.as_str()).filter(|c| !c.is_empty());
            assert_eq!(constraint.unwrap_or("us-east-1"), region, "the replica's region");
            let v = far.get_bucket_versioning().bucket(&replica).send().await.unwrap();
            assert_eq!(v.status().map(|s| s.as_str()), Some("Enabled"), "replica versioning");
        }
    }

    lake_key
}

/// A KMS key per service (EKS secrets, RDS, MSK, Redis, the data lake),
/// each rotated, and no other key of the stack's in the region.
async fn check_keys(x: &Expected, [eks_key, rds_key, msk_key, redis_key, lake_key]: [String; 5]) {
    let prefix = Names::of(x.stack).prefix;
    let kms = aws_in(REGION).kms().await.clone();
    let keys = stack_keys(REGION, x.stack).await;
    let arn_of = |k: &str| {
        let k = k.to_owned();
        let kms = kms.clone();
        async move { kms.describe_key().key_id(&k).send().await.unwrap().key_metadata().unwrap().arn().unwrap().to_owned() }
    };
    let mut per_service = vec![
        arn_of(&eks_key).await,
        arn_of(&rds_key).await,
        arn_of(&msk_key).await,
        arn_of(&redis_key).await,
        arn_of(&lake_key).await,
    ];
    assert_eq!(arn_of(&format!("alias/{prefix}-msk")).await, per_service[2], "the MSK key's alias");
    assert_eq!(arn_of(&format!("alias/{prefix}-redis")).await, per_service[3], "the Redis key's alias");
    per_service.sort();
    per_service.dedup();
    assert_eq!(per_service.len(), 5, "a key of its own per service");
    let mut ours: Vec<String> = keys.iter().map(|(arn, _)| arn.clone()).collect();
    ours.sort();
    assert_eq!(ours, per_service, "the stack's keys in {REGION}");
    for arn in &ours {
        let r = kms.get_key_rotation_status().key_id(arn).send().await.unwrap();
        assert!(r.key_rotation_enabled(), "rotation of {arn}");
    }
}

/// The load balancer: internet-facing in the public subnets, its HTTP
/// listener, deletion protection in production.
async fn check_alb(x: &Expected, outputs: &serde_json::Value, alb_id: &str) {
    let prefix = Names::of(x.stack).prefix;
    let elb = aws_in(REGION).elbv2().await.clone();
    let lbs = elb.describe_load_balancers().names(format!("{prefix}-alb")).send().await.unwrap();
    let lb = &lbs.load_balancers()[0];
    assert_eq!(lb.r#type().map(|t| t.as_str()), Some("application"));
    assert_eq!(lb.scheme().map(|s| s.as_str()), Some("internet-facing"));
    assert_eq!(lb.availability_zones().len(), x.zones.len());
    assert_eq!(lb.security_groups(), [alb_id.to_owned()]);
    assert_eq!(output_of(outputs, "alb_dns_name"), lb.dns_name().unwrap());
    let lb_arn = lb.load_balancer_arn().unwrap().to_owned();
    let listeners = elb.describe_listeners().load_balancer_arn(&lb_arn).send().await.unwrap();
    assert_eq!(listeners.listeners().len(), 1);
    assert_eq!(listeners.listeners()[0].port(), Some(80));
    let attrs = elb.describe_load_balancer_attributes().load_balancer_arn(&lb_arn).send().await.unwrap();
    let protection = attrs.attributes().iter().find(|a| a.key() == Some("deletion_protection.enabled"));
    assert_eq!(protection.and_then(|a| a.value()), Some(if x.protected { "true" } else { "false" }));
}

/// CloudWatch: application log groups, alarms to the topic. Returns the
/// topic's ARN.
async fn check_cloudwatch(x: &Expected, outputs: &serde_json::Value) -> String {
    let env = x.stack;
    let prefix = Names::of(env).prefix;
    for app in ["api", "dashboard", "stream-processing", "batch-jobs"] {
        assert_eq!(retention(format!("/ecap/{env}/{app}")).await, Some(x.app_log_days), "{app} logs");
    }
    let cw = aws_in(REGION).cloudwatch().await.clone();
    let alarms = cw.describe_alarms().alarm_name_prefix(format!("{prefix}-")).send().await.unwrap();
    assert_eq!(
        alarms.metric_alarms().len(),
        2 + 2 * x.redis_nodes + x.brokers as usize,
        "the database's two, two per cache node, one per broker"
    );
    let topic = output_of(outputs, "alerts_topic_arn");
    assert!(topic.ends_with(&format!(":{prefix}-alerts")), "{topic}");
    for a in alarms.metric_alarms() {
        assert_eq!(a.alarm_actions(), std::slice::from_ref(&topic), "{:?} notifies the topic", a.alarm_name());
    }
    let disk = alarms
        .metric_alarms()
        .iter()
        .find(|a| a.alarm_name() == Some(&format!("{prefix}-msk-broker-1-disk")))
        .expect("broker 1's disk alarm");
    assert_eq!((disk.namespace(), disk.metric_name()), (Some("AWS/Kafka"), Some("KafkaDataLogsDiskUsed")));

    topic
}

/// Nothing of the stack is left, in either region.
async fn check_gone(x: &Expected, d: &Deployed) {
    let Names { prefix, cluster_name, db_id, redis_id, kafka_name, .. } = Names::of(x.stack);
    let env = x.stack;
    let aws = aws_in(REGION);
    let ec2 = aws.ec2().await.clone();
    let eks = aws.eks().await.clone();
    let iam = aws.iam().await.clone();
    let rds = aws.rds().await.clone();
    let kafka = aws.kafka().await.clone();
    let cache = aws.elasticache().await.clone();
    let elb = aws.elbv2().await.clone();
    let kms = aws.kms().await.clone();
    let cw = aws.cloudwatch().await.clone();
    let logs = aws.logs().await.clone();
    let by_vpc = || Filter::builder().name("vpc-id").values(&d.vpc_id).build();
    let vpcs = ec2.describe_vpcs().filters(by_vpc()).send().await.unwrap();
    assert!(vpcs.vpcs().is_empty(), "VPC gone");
    let tagged = ec2
        .describe_subnets()
        .filters(Filter::builder().name("tag:iac:stack").values(stack_tag(x.stack)).build())
        .send()
        .await
        .unwrap();
    assert!(tagged.subnets().is_empty(), "subnets gone");
    let nats = ec2.describe_nat_gateways().filter(by_vpc()).send().await.unwrap();
    assert!(nats.nat_gateways().iter().all(|n| n.state().map(|s| s.as_str()) == Some("deleted")), "NAT gone");
    let flow = ec2
        .describe_flow_logs()
        .filter(Filter::builder().name("resource-id").values(&d.vpc_id).build())
        .send()
        .await
        .unwrap();
    assert!(flow.flow_logs().is_empty(), "flow log gone");
    assert!(ec2.describe_security_groups().group_ids(&d.nodes_sg).send().await.is_err(), "cluster group gone");
    assert!(eks.describe_cluster().name(&cluster_name).send().await.is_err(), "cluster gone");
    let providers = iam.list_open_id_connect_providers().send().await.unwrap();
    assert!(
        providers.open_id_connect_provider_list().iter().all(|p| p.arn() != Some(d.oidc_arn.as_str())),
        "OIDC provider gone"
    );
    assert!(rds.describe_db_instances().db_instance_identifier(&db_id).send().await.is_err(), "database gone");
    assert!(rds.describe_db_subnet_groups().db_subnet_group_name(&db_id).send().await.is_err());
    // AWS answers a missing group with DBParameterGroupNotFound; moto with
    // an empty list.
    let params = rds.describe_db_parameter_groups().db_parameter_group_name(&d.group_name).send().await;
    assert!(params.map_or(true, |p| p.db_parameter_groups().is_empty()), "parameter group gone");
    assert!(kafka.describe_cluster().cluster_arn(&d.msk_arn).send().await.is_err(), "MSK cluster gone");
    assert!(cache.describe_replication_groups().replication_group_id(&redis_id).send().await.is_err());
    assert!(cache.describe_cache_subnet_groups().cache_subnet_group_name(&redis_id).send().await.is_err());
    let lbs = elb.describe_load_balancers().names(format!("{prefix}-alb")).send().await;
    assert!(lbs.map_or(true, |l| l.load_balancers().is_empty()), "load balancer gone");
    for region in std::iter::once(REGION).chain(x.replica_region) {
        let buckets = aws_in(region).s3().await.list_buckets().send().await.unwrap();
        let left: Vec<&str> = buckets
            .buckets()
            .iter()
            .filter_map(|b| b.name())
            .filter(|n| n.starts_with(&format!("{prefix}-")))
            .collect();
        assert!(left.is_empty(), "buckets left: {left:?}");
        // Keys cannot be deleted at once: every one is scheduled.
        for (arn, state) in stack_keys(region, x.stack).await {
            assert_eq!(state, "PendingDeletion", "key {arn} in {region}");
        }
    }
    let aliases = kms.list_aliases().send().await.unwrap();
    let left: Vec<&str> = aliases
        .aliases()
        .iter()
        .filter_map(|a| a.alias_name())
        .filter(|a| a.starts_with(&format!("alias/{prefix}-")) || a.starts_with(&format!("alias/eks/{prefix}-")))
        .collect();
    assert!(left.is_empty(), "aliases left: {left:?}");
    let alarms = cw.describe_alarms().alarm_name_prefix(format!("{prefix}-")).send().await.unwrap();
    assert!(alarms.metric_alarms().is_empty(), "alarms gone");
    let dashboards = cw.list_dashboards().dashboard_name_prefix(&prefix).send().await.unwrap();
    assert!(dashboards.dashboard_entries().is_empty(), "dashboard gone");
    let roles = iam.list_roles().send().await.unwrap();
    let left: Vec<&str> = roles
        .roles()
        .iter()
        .map(|r| r.role_name())
        .filter(|r| r.starts_with(&format!("{prefix}-")) || r.starts_with(&format!("{}-ecap-vpc-", x.stack)))
        .collect();
    assert!(left.is_empty(), "roles left: {left:?}");
    for group in [
        format!("/aws/eks/{cluster_name}/"),
        format!("/aws/msk/{kafka_name}"),
        format!("/ecap/{env}/"),
        d.flow_group.clone(),
    ] {
        let g = logs.describe_log_groups().log_group_name_prefix(&group).send().await.unwrap();
        assert!(g.log_groups().is_empty(), "{group} gone");
    }
    let topics = aws.sns().await.list_topics().send().await.unwrap();
    assert!(topics.topics().iter().all(|t| t.topic_arn() != Some(d.topic.as_str())), "topic gone");
    let secret = aws.secretsmanager().await.describe_secret().secret_id(&d.secret_arn).send().await;
    assert!(secret.map_or(true, |s| s.deleted_date().is_some()), "the managed password's secret gone");
}

/// Development: the document's small instances, one NAT gateway, Spot, a
/// single zone for the database and the cache, short retention.
#[tokio::test(flavor = "multi_thread")]
async fn dev_ecommerce_analytics_deploys_converges_updates_and_destroys() {
    Box::pin(lifecycle(Expected {
        stack: "dev",
        token: "dev-Redis-AUTH-3c81f0a9d2e4",
        zones: &["us-west-2a", "us-west-2b"],
        nat_gateways: 1,
        flow_log_days: 7,
        log_types: &["api", "audit", "authenticator"],
        eks_log_days: 7,
        node_groups: &[
            ("general", "ON_DEMAND", &["t3.small"], 1, 3),
            ("spot", "SPOT", &["t3.small", "t3a.small"], 0, 4),
        ],
        spot_max_after: 6,
        rds_class: "db.t3.micro",
        rds_multi_az: false,
        rds_storage: 20,
        backup_days: 3,
        performance_insights: false,
        monitoring_interval: 60,
        work_mem: "4096",
        protected: false,
        msk_type: "kafka.t3.small",
        brokers: 2,
        msk_volume: 50,
        msk_monitoring: "DEFAULT",
        redis_type: "cache.t3.micro",
        redis_nodes: 1,
        redis_multi_az: "disabled",
        snapshot_days: 1,
        raw_expiration: Some(30),
        temp_expiration: 3,
        app_log_days: 7,
        replica_region: None,
    }))
    .await;
}

/// Staging: the document's medium instances, Multi-AZ for the data
/// services, three zones, medium retention.
#[tokio::test(flavor = "multi_thread")]
async fn staging_ecommerce_analytics_deploys_converges_updates_and_destroys() {
    Box::pin(lifecycle(Expected {
        stack: "staging",
        token: "staging-Redis-AUTH-94be27c1f05d",
        zones: &["us-west-2a", "us-west-2b", "us-west-2c"],
        nat_gateways: 1,
        flow_log_days: 30,
        log_types: &["api", "audit", "authenticator"],
        eks_log_days: 30,
        node_groups: &[
            ("general", "ON_DEMAND", &["m5.large"], 2, 4),
            ("spot", "SPOT", &["m5.large", "m5a.large", "m6i.large"], 0, 6),
        ],
        spot_max_after: 8,
        rds_class: "db.t3.medium",
        rds_multi_az: true,
        rds_storage: 50,
        backup_days: 7,
        performance_insights: true,
        monitoring_interval: 60,
        work_mem: "16384",
        protected: false,
        msk_type: "kafka.m5.large",
        brokers: 3,
        msk_volume: 100,
        msk_monitoring: "PER_BROKER",
        redis_type: "cache.t3.medium",
        redis_nodes: 2,
        redis_multi_az: "enabled",
        snapshot_days: 3,
        raw_expiration: Some(90),
        temp_expiration: 7,
        app_log_days: 30,
        replica_region: None,
    }))
    .await;
}

/// Production: the document's large instances (m5.xlarge, c5.2xlarge),
/// full Multi-AZ with a NAT gateway per zone, full retention with
/// archival, deletion protection, cross-region replication.
#[tokio::test(flavor = "multi_thread")]
async fn prod_ecommerce_analytics_deploys_converges_updates_and_destroys() {
    Box::pin(lifecycle(Expected {
        stack: "prod",
        token: "prod-Redis-AUTH-5a0d9e37b6c2",
        zones: &["us-west-2a", "us-west-2b", "us-west-2c"],
        nat_gateways: 3,
        flow_log_days: 90,
        log_types: &["api", "audit", "authenticator", "controllerManager", "scheduler"],
        eks_log_days: 90,
        node_groups: &[
            ("general", "ON_DEMAND", &["m5.xlarge"], 3, 9),
            ("compute", "ON_DEMAND", &["c5.2xlarge"], 2, 6),
            ("spot", "SPOT", &["m5.xlarge", "m5a.xlarge", "m6i.xlarge"], 0, 12),
        ],
        spot_max_after: 16,
        rds_class: "db.m5.xlarge",
        rds_multi_az: true,
        rds_storage: 200,
        backup_days: 30,
        performance_insights: true,
        monitoring_interval: 15,
        work_mem: "65536",
        protected: true,
        msk_type: "kafka.m5.xlarge",
        brokers: 3,
        msk_volume: 500,
        msk_monitoring: "PER_TOPIC_PER_BROKER",
        redis_type: "cache.m5.xlarge",
        redis_nodes: 3,
        redis_multi_az: "enabled",
        snapshot_days: 7,
        raw_expiration: None,
        temp_expiration: 7,
        app_log_days: 90,
        replica_region: Some("us-east-1"),
    }))
    .await;
}
