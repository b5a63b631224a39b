//! ElastiCache: a subnet group, a parameter group and two Redis 7
//! replication groups (one with cluster mode) — created, read back with the
//! SDK, updated in place (subnets, parameters, replicas, shards, failover,
//! Multi-AZ, node type, snapshots, security groups, the AUTH token),
//! replaced, destroyed and gone; the token never in state; bad inputs
//! refused at preview.
//!
//! moto 5.2.5 lacks much of ElastiCache (parameter groups, subnet group
//! changes, member clusters, replica and shard changes); the harness
//! emulates those calls (`tests/emulator/moto_elasticache.py`).

use iac_aws::ec2::{SecurityGroup, Subnet, Vpc};
use iac_aws::elasticache::{ClusterMode, ParameterGroup, ReplicationGroup, SubnetGroup};
use iac_core::{Error, Output, Stack, Urn};

use crate::support::*;

#[derive(Clone)]
struct Cache {
    subnet_group: &'static str,
    both_subnets: bool,
    subnet_description: &'static str,
    parameter_group: &'static str,
    parameters: &'static [(&'static str, &'static str)],
    description: &'static str,
    node_type: &'static str,
    clusters: i32,
    failover: bool,
    multi_az: bool,
    retention: i32,
    window: &'static str,
    extra_sg: bool,
    token: &'static str,
    shards: i32,
    env: &'static str,
}

fn cache(s: &Stack, x: &Cache) {
    let vpc = s.add("vpc", Vpc::builder().cidr_block("10.40.0.0/16").build());
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
    let mut subnets = vec![subnet("a", "10.40.1.0/24")];
    let b = subnet("b", "10.40.2.0/24");
    if x.both_subnets {
        subnets.push(b);
    }
    let sg = s.add("sg", SecurityGroup::builder().name("redis").description("redis").vpc_id(vpc.id.clone()).build());
    let sg2 =
        s.add("sg2", SecurityGroup::builder().name("redis-ops").description("ops").vpc_id(vpc.id.clone()).build());
    let mut groups = vec![sg.id.as_string()];
    if x.extra_sg {
        groups.push(sg2.id.as_string());
    }
    let subnet_group = s.add(
        "subnets",
        SubnetGroup::builder()
            .name(x.subnet_group)
            .description(x.subnet_description)
            .subnet_ids(subnets)
            .tags(iac_aws::tags([("Env", x.env)]))
            .build(),
    );
    let params = s.add(
        "params",
        ParameterGroup::builder()
            .name(x.parameter_group)
            .family("redis7")
            .parameters(iac_aws::tags(x.parameters.iter().copied()))
            .tags(iac_aws::tags([("Env", x.env)]))
            .build(),
    );
    let sessions = s.add(
        "sessions",
        ReplicationGroup::builder()
            .id("sessions")
            .description(x.description)
            .engine_version("7.1")
            .node_type(x.node_type)
            .cluster_mode(ClusterMode::Disabled { num_cache_clusters: x.clusters })
            .automatic_failover(x.failover)
            .multi_az(x.multi_az)
            .at_rest_encryption(true)
            .transit_encryption(true)
            .auth_token(Output::known(x.token.to_owned()).secret())
            .snapshot_retention_days(x.retention)
            .snapshot_window(x.window)
            .subnet_group_name(&subnet_group.name)
            .security_group_ids(groups)
            .parameter_group_name(&params.name)
            .tags(iac_aws::tags([("Env", x.env)]))
            .build(),
    );
    s.export("redis", sessions.primary_endpoint_address.clone());
    s.add(
        "sharded",
        ReplicationGroup::builder()
            .id("sharded")
            .node_type("cache.r7g.large")
            .cluster_mode(ClusterMode::Enabled { num_node_groups: x.shards, replicas_per_node_group: 1 })
            .automatic_failover(true)
            .subnet_group_name(&subnet_group.name)
            .build(),
    );
}

fn id(a: &iac_core::ops::Applied, name: &str) -> String {
    a.report.state.resources[&Urn::new(name)].id.clone().unwrap_or_else(|| panic!("{name} has no id"))
}

fn output(a: &iac_core::ops::Applied, name: &str, key: &str) -> iac_core::Value {
    a.report.state.resources[&Urn::new(name)].outputs.get(key).clone()
}

fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn token_nowhere_in_state(h: &Harness, token: &str) {
    for f in files(h.dir.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        assert!(!text.contains(token), "the AUTH token is in {}", f.display());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn subnet_group_parameter_group_and_replication_groups_lifecycle() {
    let h = Harness::new();
    let ec = h.aws.elasticache().await.clone();
    let v1 = Cache {
        subnet_group: "cache-subnets",
        both_subnets: false,
        subnet_description: "cache subnets",
        parameter_group: "sessions",
        parameters: &[("maxmemory-policy", "volatile-lru"), ("timeout", "300")],
        description: "user sessions",
        node_type: "cache.t4g.micro",
        clusters: 1,
        failover: false,
        multi_az: false,
        retention: 1,
        window: "03:00-04:00",
        extra_sg: false,
        token: "first-token-4d1f9a7c2e",
        shards: 2,
        env: "dev",
    };
    let x = v1.clone();
    let s = h.session("cache", move |s| cache(s, &x));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "cache").await;

    let group = ec.describe_cache_subnet_groups().cache_subnet_group_name("cache-subnets").send().await.unwrap();
    let group = &group.cache_subnet_groups()[0];
    assert_eq!(group.cache_subnet_group_description(), Some("cache subnets"));
    assert_eq!(group.subnets().len(), 1);
    assert_eq!(output(&a, "subnets", "vpcId").as_str(), group.vpc_id());
    let tags = ec.list_tags_for_resource().resource_name(group.arn().unwrap()).send().await.unwrap();
    assert!(
        tags.tag_list().iter().any(|t| t.key() == Some("iac:name") && t.value() == Some("subnets")),
        "identity tag"
    );
    let stack_tag = tags.tag_list().iter().find(|t| t.key() == Some("iac:stack")).and_then(|t| t.value()).unwrap();

    let pg = ec.describe_cache_parameter_groups().cache_parameter_group_name("sessions").send().await.unwrap();
    assert_eq!(pg.cache_parameter_groups()[0].cache_parameter_group_family(), Some("redis7"));
    let user_params = |name: &'static str| {
        let ec = ec.clone();
        async move {
            let out =
                ec.describe_cache_parameters().cache_parameter_group_name(name).source("user").send().await.unwrap();
            out.parameters()
                .iter()
                .map(|p| (p.parameter_name().unwrap().to_owned(), p.parameter_value().unwrap().to_owned()))
                .collect::<std::collections::BTreeMap<_, _>>()
        }
    };
    assert_eq!(
        user_params("sessions").await,
        iac_aws::tags([("maxmemory-policy", "volatile-lru"), ("timeout", "300")])
    );

    let rg =
        ec.describe_replication_groups().replication_group_id("sessions").send().await.unwrap().replication_groups()[0]
            .clone();
    assert_eq!(rg.status(), Some("available"));
    assert_eq!((rg.description(), rg.cache_node_type()), (Some("user sessions"), Some("cache.t4g.micro")));
    assert_eq!(rg.member_clusters().len(), 1);
    assert_eq!(rg.cluster_enabled(), Some(false));
    assert_eq!((rg.at_rest_encryption_enabled(), rg.transit_encryption_enabled()), (Some(true), Some(true)));
    assert_eq!(rg.auth_token_enabled(), Some(true));
    assert_eq!((rg.snapshot_retention_limit(), rg.snapshot_window()), (Some(1), Some("03:00-04:00")));
    let primary = rg.node_groups()[0].primary_endpoint().unwrap();
    assert_eq!(output(&a, "sessions", "primaryEndpointAddress").as_str(), primary.address());
    assert_eq!(
        output(&a, "sessions", "readerEndpointAddress").as_str(),
        rg.node_groups()[0].reader_endpoint().unwrap().address()
    );
    assert_eq!(output(&a, "sessions", "port").as_i64(), Some(6379));
    let node = ec.describe_cache_clusters().cache_cluster_id(&rg.member_clusters()[0]).send().await.unwrap();
    let node = &node.cache_clusters()[0];
    assert!(node.engine_version().unwrap().starts_with("7.1"));
    assert_eq!(node.cache_subnet_group_name(), Some("cache-subnets"));
    assert_eq!(node.cache_parameter_group().unwrap().cache_parameter_group_name(), Some("sessions"));
    assert_eq!(node.security_groups().len(), 1);
    let sharded = ec.describe_replication_groups().replication_group_id("sharded").send().await.unwrap();
    let sharded = &sharded.replication_groups()[0];
    assert_eq!((sharded.node_groups().len(), sharded.member_clusters().len()), (2, 4));
    assert_eq!(
        output(&a, "sharded", "configurationEndpointAddress").as_str(),
        sharded.configuration_endpoint().unwrap().address()
    );
    assert!(output(&a, "sharded", "primaryEndpointAddress").is_empty_like(), "no primary endpoint in cluster mode");
    token_nowhere_in_state(&h, v1.token);
    assert_no_drift(&s).await;
    for r in ["subnets", "params", "sessions", "sharded"] {
        assert_adoptable(&h, &a, stack_tag, r).await;
    }

    // In place: a second subnet and a new description; parameters changed,
    // added and reset; a replica with failover and Multi-AZ, a larger node,
    // snapshots, a second security group, a new token; a third shard.
    let first_token_date = rg.auth_token_last_modified_date().cloned();
    let v2 = Cache {
        both_subnets: true,
        subnet_description: "cache subnets, two zones",
        parameters: &[("maxmemory-policy", "allkeys-lru"), ("notify-keyspace-events", "Ex")],
        description: "user sessions (HA)",
        node_type: "cache.t4g.small",
        clusters: 2,
        failover: true,
        multi_az: true,
        retention: 7,
        window: "05:00-06:00",
        extra_sg: true,
        token: "second-token-8b2e6f0a9d",
        shards: 3,
        env: "prod",
        ..v1.clone()
    };
    let x = v2.clone();
    let s = h.session("cache", move |s| cache(s, &x));
    let b = up(&s).await;
    for r in ["subnets", "params", "sessions", "sharded"] {
        assert_eq!(id(&b, r), id(&a, r), "{r} updated in place");
    }
    let group = ec.describe_cache_subnet_groups().cache_subnet_group_name("cache-subnets").send().await.unwrap();
    let group = &group.cache_subnet_groups()[0];
    assert_eq!(group.cache_subnet_group_description(), Some("cache subnets, two zones"));
    assert_eq!(group.subnets().len(), 2);
    assert_eq!(
        user_params("sessions").await,
        iac_aws::tags([("maxmemory-policy", "allkeys-lru"), ("notify-keyspace-events", "Ex")]),
        "timeout reset to its default"
    );
    let rg =
        ec.describe_replication_groups().replication_group_id("sessions").send().await.unwrap().replication_groups()[0]
            .clone();
    assert_eq!(rg.member_clusters().len(), 2);
    assert_eq!(rg.automatic_failover().map(|f| f.as_str()), Some("enabled"));
    assert_eq!(rg.multi_az().map(|m| m.as_str()), Some("enabled"));
    assert_eq!((rg.description(), rg.cache_node_type()), (Some("user sessions (HA)"), Some("cache.t4g.small")));
    assert_eq!((rg.snapshot_retention_limit(), rg.snapshot_window()), (Some(7), Some("05:00-06:00")));
    assert!(rg.auth_token_last_modified_date() > first_token_date.as_ref(), "the token was rotated");
    let node = ec.describe_cache_clusters().cache_cluster_id(&rg.member_clusters()[1]).send().await.unwrap();
    assert_eq!(node.cache_clusters()[0].security_groups().len(), 2);
    let tags = ec.list_tags_for_resource().resource_name(rg.arn().unwrap()).send().await.unwrap();
    assert!(tags.tag_list().iter().any(|t| t.key() == Some("Env") && t.value() == Some("prod")));
    let sharded = ec.describe_replication_groups().replication_group_id("sharded").send().await.unwrap();
    assert_eq!(sharded.replication_groups()[0].node_groups().len(), 3);
    token_nowhere_in_state(&h, v2.token);
    assert_no_drift(&s).await;

    // In place, shrinking: failover and Multi-AZ off before the replica
    // goes (AWS refuses Multi-AZ without one), and one shard fewer.
    let v3 = Cache { clusters: 1, failover: false, multi_az: false, shards: 2, ..v2.clone() };
    let x = v3.clone();
    let s = h.session("cache", move |s| cache(s, &x));
    let c = up(&s).await;
    for r in ["sessions", "sharded"] {
        assert_eq!(id(&c, r), id(&a, r), "{r} updated in place");
    }
    let rg =
        ec.describe_replication_groups().replication_group_id("sessions").send().await.unwrap().replication_groups()[0]
            .clone();
    assert_eq!(rg.member_clusters().len(), 1);
    assert_eq!(rg.multi_az().map(|m| m.as_str()), Some("disabled"));
    assert_eq!(rg.automatic_failover().map(|f| f.as_str()), Some("disabled"));
    let sharded = ec.describe_replication_groups().replication_group_id("sharded").send().await.unwrap();
    assert_eq!(sharded.replication_groups()[0].node_groups().len(), 2);
    assert_no_drift(&s).await;

    // Replace a parameter group in use: the renamed one is created first,
    // the replication group moves to it in place, then the old one goes
    // (AWS refuses to delete a group in use).
    let v4 = Cache { parameter_group: "sessions-v2", ..v3.clone() };
    let x = v4.clone();
    let s = h.session("cache", move |s| cache(s, &x));
    let d = up(&s).await;
    assert_eq!(id(&d, "params"), "sessions-v2");
    assert!(ec.describe_cache_parameter_groups().cache_parameter_group_name("sessions").send().await.is_err());
    assert_eq!(
        user_params("sessions-v2").await,
        iac_aws::tags([("maxmemory-policy", "allkeys-lru"), ("notify-keyspace-events", "Ex")])
    );
    let rg =
        ec.describe_replication_groups().replication_group_id("sessions").send().await.unwrap().replication_groups()[0]
            .clone();
    let node = ec.describe_cache_clusters().cache_cluster_id(&rg.member_clusters()[0]).send().await.unwrap();
    assert_eq!(
        node.cache_clusters()[0].cache_parameter_group().unwrap().cache_parameter_group_name(),
        Some("sessions-v2")
    );
    assert_no_drift(&s).await;

    // Replace the subnet group: a group cannot move subnet groups, so the
    // replication groups in it are replaced too (each deleted first: ids
    // are unique).
    let v5 = Cache { subnet_group: "cache-subnets-v2", ..v4.clone() };
    let x = v5.clone();
    let s = h.session("cache", move |s| cache(s, &x));
    let e = up(&s).await;
    assert_eq!(id(&e, "subnets"), "cache-subnets-v2");
    assert!(ec.describe_cache_subnet_groups().cache_subnet_group_name("cache-subnets").send().await.is_err());
    for rg in ["sessions", "sharded"] {
        let rg = ec.describe_replication_groups().replication_group_id(rg).send().await.unwrap().replication_groups()
            [0]
        .clone();
        assert_eq!(rg.status(), Some("available"));
        let node = ec.describe_cache_clusters().cache_cluster_id(&rg.member_clusters()[0]).send().await.unwrap();
        assert_eq!(node.cache_clusters()[0].cache_subnet_group_name(), Some("cache-subnets-v2"));
    }
    token_nowhere_in_state(&h, v5.token);
    assert_no_drift(&s).await;

    destroy(&s).await;
    for rg in ["sessions", "sharded"] {
        assert!(ec.describe_replication_groups().replication_group_id(rg).send().await.is_err(), "{rg} gone");
    }
    assert!(ec.describe_cache_subnet_groups().cache_subnet_group_name("cache-subnets-v2").send().await.is_err());
    assert!(ec.describe_cache_parameter_groups().cache_parameter_group_name("sessions-v2").send().await.is_err());
    let left = ec.describe_cache_clusters().send().await.unwrap();
    assert!(left.cache_clusters().is_empty(), "no member cluster left: {:?}", left.cache_clusters());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_cache_inputs_are_refused_at_preview() {
    let h = Harness::new();
    let s = h.session("bad-cache", |s| {
        s.add("bad-subnets", SubnetGroup::builder().name("Cache_Subnets").subnet_ids(Vec::<String>::new()).build());
        let old =
            s.add("old-params", ParameterGroup::builder().name("1params").family("redis99").description("").build());
        let plain = s.add("plain-params", ParameterGroup::builder().name("plain").family("redis7").build());
        s.add(
            "bad-rg",
            ReplicationGroup::builder()
                .id("Sessions--")
                .engine_version("6.2")
                .node_type("t4g.micro")
                .cluster_mode(ClusterMode::Disabled { num_cache_clusters: 7 })
                .multi_az(true)
                .auth_token("short")
                .kms_key_id("alias/cache")
                .snapshot_retention_days(40)
                .snapshot_window("03:00-03:30")
                .parameter_group_name(&old.name)
                .build(),
        );
        // Secret config is checked too (it is known at preview), and
        // never quoted.
        s.add(
            "secret-token",
            ReplicationGroup::builder()
                .id("secret-token")
                .node_type("cache.t4g.micro")
                .transit_encryption(true)
                .auth_token(Output::known("sh@rt token".to_owned()).secret())
                .build(),
        );
        s.add(
            "bad-cluster",
            ReplicationGroup::builder()
                .id("sharded")
                .node_type("cache.z9.large")
                .cluster_mode(ClusterMode::Enabled { num_node_groups: 0, replicas_per_node_group: 6 })
                .parameter_group_name(&plain.name)
                .build(),
        );
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    for (resource, field, what) in [
        ("bad-subnets", "name", "letters, digits and hyphens only"),
        ("bad-subnets", "subnetIds", "at least one subnet"),
        ("old-params", "name", "start with a letter"),
        ("old-params", "family", "redis99"),
        ("old-params", "description", "description"),
        ("bad-rg", "id", "two hyphens"),
        ("bad-rg", "engineVersion", "Redis 7"),
        ("bad-rg", "nodeType", "start with `cache.`"),
        ("bad-rg", "numCacheClusters", "1 to 6"),
        ("bad-rg", "multiAz", "automatic failover"),
        ("bad-rg", "authToken", "transit_encryption"),
        ("bad-rg", "authToken", "16 to 128"),
        ("bad-rg", "kmsKeyId", "at_rest_encryption"),
        ("bad-rg", "snapshotRetentionLimit", "0 to 35"),
        ("bad-rg", "snapshotWindow", "at least 60"),
        ("bad-rg", "parameterGroupName", "family `redis99`"),
        ("secret-token", "authToken", "16 to 128"),
        ("secret-token", "authToken", "printable ASCII without spaces"),
        ("bad-cluster", "nodeType", "not a node family"),
        ("bad-cluster", "numNodeGroups", "1 to 500"),
        ("bad-cluster", "replicasPerNodeGroup", "0 to 5"),
        ("bad-cluster", "automaticFailover", "cluster mode requires automatic failover"),
        ("bad-cluster", "parameterGroupName", "cluster-enabled"),
    ] {
        assert!(
            diags.iter().any(|d| d.urn.as_str() == resource && d.field == field && d.message.contains(what)),
            "missing `{what}` on {resource}.{field}: {text}"
        );
    }
    assert!(!text.contains("sh@rt token"), "the token is never quoted: {text}");
}
