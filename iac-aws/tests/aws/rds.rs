//! RDS and Aurora: subnet and parameter groups, an instance with an
//! RDS-managed password and its read replica, an instance with a password
//! from the program, an Aurora Serverless v2 cluster with its instances and
//! a proxy — created, read back without drift, updated in place, replaced
//! and destroyed, checked with the SDK; passwords never in state; bad
//! identifiers, engines and classes refused at preview.
//!
//! Emulator gaps (moto 5.2.5), not ours: there is no
//! `ResetDBParameterGroup`, so removing a parameter is not exercised; there
//! is no `ModifyDBProxy`, so the proxy's in-place update goes through its
//! target group (pool and target), which moto does serve.

use iac_aws::ec2::{SecurityGroup, Subnet, Vpc};
use iac_aws::iam::Role;
use iac_aws::policy::{PolicyDocument, Principal, Statement};
use iac_aws::rds::{
    ConnectionPool, DbCluster, DbClusterInstance, DbClusterParameterGroup, DbInstance, DbParameterGroup, DbProxy,
    DbSubnetGroup, EngineFamily, MasterPassword, Parameter, ProxyAuth, ProxyTarget, ServerlessV2Scaling,
};
use iac_aws::secretsmanager::{Secret, SecretValue};
use iac_core::{Error, Output, Stack, Urn};

use crate::support::*;

fn id(a: &iac_core::ops::Applied, name: &str) -> String {
    a.report.state.resources[&Urn::new(name)].id.clone().unwrap_or_else(|| panic!("{name} has no id"))
}

/// A VPC with three private subnets and a database security group; the
/// subnet ids for groups and proxies.
fn network(s: &Stack, cidr: &str, subnets: usize) -> (Vec<iac_core::Input<String>>, iac_core::Input<String>) {
    let vpc = s.add("vpc", Vpc::builder().cidr_block(cidr).build());
    let base: Vec<&str> = cidr.split('.').collect();
    let ids = ["a", "b", "c"][..subnets]
        .iter()
        .enumerate()
        .map(|(n, az)| {
            s.add(
                &format!("subnet-{az}"),
                Subnet::builder()
                    .vpc_id(vpc.id.clone())
                    .cidr_block(format!("{}.{}.{}.0/24", base[0], base[1], n + 1))
                    .availability_zone(format!("us-east-1{az}"))
                    .build(),
            )
            .id
            .as_string()
            .into()
        })
        .collect();
    let sg = s.add("db-sg", SecurityGroup::builder().name("db").description("database").vpc_id(vpc.id.clone()).build());
    (ids, sg.id.as_string().into())
}

#[derive(Clone, Copy)]
struct Groups {
    subnets: usize,
    description: &'static str,
    work_mem: &'static str,
    extra: bool,
    family: &'static str,
    suffix: &'static str,
}

fn groups(s: &Stack, x: Groups) {
    let (subnets, _) = network(s, "10.40.0.0/16", 3);
    s.add(
        "subnet-group",
        DbSubnetGroup::builder()
            .name(format!("groups-db{}", x.suffix))
            .description(x.description)
            .subnet_ids(subnets[..x.subnets].to_vec())
            .tags(iac_aws::tags([("Team", "data")]))
            .build(),
    );
    let mut params = vec![
        Parameter::immediate("work_mem", x.work_mem),
        Parameter::pending_reboot("shared_preload_libraries", "pg_stat_statements"),
    ];
    if x.extra {
        params.push(Parameter::immediate("log_min_duration_statement", "500"));
    }
    s.add("params", DbParameterGroup::builder().name("groups-pg").family(x.family).parameters(params.clone()).build());
    s.add(
        "cluster-params",
        DbClusterParameterGroup::builder()
            .name(format!("groups-aurora{}", x.suffix))
            .family("aurora-postgresql16")
            .parameters(vec![Parameter::pending_reboot("rds.force_ssl", if x.extra { "1" } else { "0" })])
            .build(),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn subnet_and_parameter_groups_lifecycle() {
    let h = Harness::new();
    let rds = h.aws.rds().await.clone();
    let v1 =
        Groups { subnets: 2, description: "orders", work_mem: "4096", extra: false, family: "postgres16", suffix: "" };
    let s = h.session("groups", move |s| groups(s, v1));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "groups").await;
    for name in ["subnet-group", "params", "cluster-params"] {
        assert_adoptable(&h, &a, "groups", name).await;
    }

    let g = rds.describe_db_subnet_groups().db_subnet_group_name("groups-db").send().await.unwrap();
    let g = &g.db_subnet_groups()[0];
    assert_eq!(g.db_subnet_group_description(), Some("orders"));
    assert_eq!(g.subnets().len(), 2);
    let tags = rds.list_tags_for_resource().resource_name(g.db_subnet_group_arn().unwrap()).send().await.unwrap();
    assert!(tags.tag_list().iter().any(|t| t.key() == Some("Team") && t.value() == Some("data")));
    assert!(tags.tag_list().iter().any(|t| t.key() == Some("iac:stack")), "identity tags");
    let params = rds.describe_db_parameters().db_parameter_group_name("groups-pg").source("user").send().await.unwrap();
    let value =
        |n: &str| params.parameters().iter().find(|p| p.parameter_name() == Some(n)).and_then(|p| p.parameter_value());
    assert_eq!(value("work_mem"), Some("4096"));
    assert_eq!(value("shared_preload_libraries"), Some("pg_stat_statements"));
    let cp =
        rds.describe_db_cluster_parameters().db_cluster_parameter_group_name("groups-aurora").send().await.unwrap();
    assert!(cp
        .parameters()
        .iter()
        .any(|p| p.parameter_name() == Some("rds.force_ssl") && p.parameter_value() == Some("0")));
    assert_no_drift(&s).await;

    // In place: a third subnet and a new description; a changed and an
    // added parameter.
    let v2 = Groups { subnets: 3, description: "orders and refunds", work_mem: "8192", extra: true, ..v1 };
    let s = h.session("groups", move |s| groups(s, v2));
    let b = up(&s).await;
    assert_eq!(id(&b, "params"), id(&a, "params"));
    let g = rds.describe_db_subnet_groups().db_subnet_group_name("groups-db").send().await.unwrap();
    assert_eq!(g.db_subnet_groups()[0].subnets().len(), 3);
    assert_eq!(g.db_subnet_groups()[0].db_subnet_group_description(), Some("orders and refunds"));
    let params = rds.describe_db_parameters().db_parameter_group_name("groups-pg").source("user").send().await.unwrap();
    let value =
        |n: &str| params.parameters().iter().find(|p| p.parameter_name() == Some(n)).and_then(|p| p.parameter_value());
    assert_eq!(value("work_mem"), Some("8192"));
    assert_eq!(value("log_min_duration_statement"), Some("500"));
    let cp =
        rds.describe_db_cluster_parameters().db_cluster_parameter_group_name("groups-aurora").send().await.unwrap();
    assert!(cp
        .parameters()
        .iter()
        .any(|p| p.parameter_name() == Some("rds.force_ssl") && p.parameter_value() == Some("1")));
    assert_no_drift(&s).await;

    // Replace: a new family cannot be changed in place; new names make new
    // subnet and cluster parameter groups.
    let v3 = Groups { family: "postgres17", suffix: "-v2", ..v2 };
    let s = h.session("groups", move |s| groups(s, v3));
    up(&s).await;
    let pg = rds.describe_db_parameter_groups().db_parameter_group_name("groups-pg").send().await.unwrap();
    assert_eq!(pg.db_parameter_groups()[0].db_parameter_group_family(), Some("postgres17"));
    assert!(rds.describe_db_subnet_groups().db_subnet_group_name("groups-db").send().await.is_err(), "old gone");
    let g = rds.describe_db_subnet_groups().db_subnet_group_name("groups-db-v2").send().await.unwrap();
    assert_eq!(g.db_subnet_groups()[0].subnets().len(), 3);
    let old = rds.describe_db_cluster_parameter_groups().db_cluster_parameter_group_name("groups-aurora").send().await;
    assert!(old.map_or(true, |o| o.db_cluster_parameter_groups().is_empty()), "old cluster parameter group gone");
    let cp =
        rds.describe_db_cluster_parameters().db_cluster_parameter_group_name("groups-aurora-v2").send().await.unwrap();
    assert!(cp.parameters().iter().any(|p| p.parameter_name() == Some("rds.force_ssl")));
    assert_no_drift(&s).await;

    destroy(&s).await;
    assert!(rds.describe_db_subnet_groups().db_subnet_group_name("groups-db-v2").send().await.is_err(), "gone");
    // AWS answers DBParameterGroupNotFound; moto an empty list.
    let pg = rds.describe_db_parameter_groups().db_parameter_group_name("groups-pg").send().await;
    assert!(pg.map_or(true, |o| o.db_parameter_groups().is_empty()), "parameter group gone");
    assert!(
        rds.describe_db_cluster_parameter_groups()
            .db_cluster_parameter_group_name("groups-aurora-v2")
            .send()
            .await
            .map_or(true, |o| o.db_cluster_parameter_groups().is_empty()),
        "cluster parameter group gone"
    );
}

#[derive(Clone, Copy)]
struct Instances {
    class: &'static str,
    storage: i32,
    retention: i32,
    multi_az: bool,
    db_name: &'static str,
    password: &'static str,
}

const PASSWORD_1: &str = "Plaintext-Pa55word-one";
const PASSWORD_2: &str = "Plaintext-Pa55word-two";

fn instances(s: &Stack, x: Instances) {
    let (subnets, sg) = network(s, "10.41.0.0/16", 2);
    let group = s.add("subnet-group", DbSubnetGroup::builder().name("orders-db").subnet_ids(subnets).build());
    let primary = s.add(
        "orders",
        DbInstance::builder()
            .identifier("orders")
            .engine("postgres")
            .engine_version("16")
            .instance_class(x.class)
            .allocated_storage(x.storage)
            .storage_type("gp3")
            .db_name(x.db_name)
            .username("orders_admin")
            .subnet_group_name(group.name.clone())
            .vpc_security_group_ids(vec![sg.clone()])
            .multi_az(x.multi_az)
            .backup_retention_period(x.retention)
            .performance_insights(true)
            .tags(iac_aws::tags([("Tier", "data")]))
            .build(),
    );
    s.add(
        "orders-replica",
        DbInstance::builder()
            .identifier("orders-replica")
            .engine("postgres")
            .instance_class(x.class)
            .replicate_source_db(primary.id.clone())
            .vpc_security_group_ids(vec![sg.clone()])
            .build(),
    );
    s.add(
        "reports",
        DbInstance::builder()
            .identifier("reports")
            .engine("mysql")
            .instance_class("db.t4g.micro")
            .allocated_storage(20)
            .username("reports")
            .master_password(MasterPassword::Given(Output::known(x.password.to_owned()).secret().into()))
            .subnet_group_name(group.name.clone())
            .vpc_security_group_ids(vec![sg])
            .build(),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn instances_with_managed_and_given_passwords_and_a_read_replica() {
    let h = Harness::new();
    let rds = h.aws.rds().await.clone();
    let v1 = Instances {
        class: "db.t4g.medium",
        storage: 50,
        retention: 7,
        multi_az: false,
        db_name: "orders",
        password: PASSWORD_1,
    };
    let s = h.session("instances", move |s| instances(s, v1));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "instances").await;

    let describe = |id: &'static str| {
        let rds = rds.clone();
        async move { rds.describe_db_instances().db_instance_identifier(id).send().await.unwrap().db_instances()[0].clone() }
    };
    let db = describe("orders").await;
    assert_eq!(db.engine(), Some("postgres"));
    assert_eq!(db.db_instance_class(), Some("db.t4g.medium"));
    assert_eq!(db.allocated_storage(), Some(50));
    assert_eq!(db.db_name(), Some("orders"));
    assert_eq!(db.backup_retention_period(), Some(7));
    assert_eq!(db.storage_encrypted(), Some(true), "encrypted by default");
    assert_eq!(db.performance_insights_enabled(), Some(true));
    assert_eq!(db.db_subnet_group().and_then(|g| g.db_subnet_group_name()), Some("orders-db"));
    let secret = db.master_user_secret().and_then(|m| m.secret_arn()).expect("RDS manages the master password");
    for name in ["orders", "orders-replica", "reports"] {
        assert_adoptable(&h, &a, "instances", name).await;
    }
    let outputs = &a.report.state.resources[&Urn::new("orders")].outputs;
    assert_eq!(outputs.get("masterUserSecretArn").as_str(), Some(secret));
    let replica = describe("orders-replica").await;
    assert_eq!(replica.read_replica_source_db_instance_identifier(), Some("orders"));
    let reports = describe("reports").await;
    assert_eq!(reports.engine(), Some("mysql"));
    assert!(reports.master_user_secret().is_none(), "the program's password, not a managed one");
    for entry in walk(h.dir.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&entry).unwrap()).into_owned();
        assert!(!text.contains(PASSWORD_1), "password in plaintext in {}", entry.display());
    }
    assert_no_drift(&s).await;

    // In place: class, storage, backups, Multi-AZ, and a new password.
    let v2 =
        Instances { class: "db.t4g.large", storage: 100, retention: 14, multi_az: true, password: PASSWORD_2, ..v1 };
    let s = h.session("instances", move |s| instances(s, v2));
    let b = up(&s).await;
    assert_eq!(id(&b, "orders"), "orders");
    let db = describe("orders").await;
    assert_eq!(db.db_instance_class(), Some("db.t4g.large"));
    assert_eq!(db.allocated_storage(), Some(100));
    assert_eq!(db.backup_retention_period(), Some(14));
    assert_eq!(db.multi_az(), Some(true));
    assert_eq!(describe("orders-replica").await.db_instance_class(), Some("db.t4g.large"));
    for entry in walk(h.dir.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&entry).unwrap()).into_owned();
        assert!(!text.contains(PASSWORD_2), "new password in plaintext in {}", entry.display());
    }
    assert_no_drift(&s).await;

    // Replace: a new database name means a new instance (and so a new
    // replica of it).
    let v3 = Instances { db_name: "orders_v2", ..v2 };
    let s = h.session("instances", move |s| instances(s, v3));
    up(&s).await;
    assert_eq!(describe("orders").await.db_name(), Some("orders_v2"));
    assert_eq!(describe("orders-replica").await.read_replica_source_db_instance_identifier(), Some("orders"));
    assert_no_drift(&s).await;

    destroy(&s).await;
    for gone in ["orders", "orders-replica", "reports"] {
        assert!(rds.describe_db_instances().db_instance_identifier(gone).send().await.is_err(), "{gone} gone");
    }
    assert!(rds.describe_db_subnet_groups().db_subnet_group_name("orders-db").send().await.is_err());
}

#[derive(Clone, Copy)]
struct Aurora {
    max_acu: f64,
    retention: i32,
    reader_class: &'static str,
    pool: i32,
    proxy_to_cluster: bool,
    identifier: &'static str,
}

fn aurora(s: &Stack, x: Aurora) {
    let (subnets, sg) = network(s, "10.42.0.0/16", 2);
    let group = s.add("subnet-group", DbSubnetGroup::builder().name("ledger-db").subnet_ids(subnets.clone()).build());
    let params = s.add(
        "cluster-params",
        DbClusterParameterGroup::builder()
            .name("ledger-aurora")
            .family("aurora-postgresql16")
            .parameters(vec![Parameter::pending_reboot("rds.force_ssl", "1")])
            .build(),
    );
    let cluster = s.add(
        "ledger",
        DbCluster::builder()
            .identifier(x.identifier)
            .engine("aurora-postgresql")
            .engine_version("16.8")
            .database_name("ledger")
            .username("ledger_admin")
            .subnet_group_name(group.name.clone())
            .vpc_security_group_ids(vec![sg.clone()])
            .cluster_parameter_group_name(params.name.clone())
            .serverless_v2_scaling(ServerlessV2Scaling { min_capacity: 0.5, max_capacity: x.max_acu })
            .backup_retention_period(x.retention)
            .build(),
    );
    s.add(
        "ledger-1",
        DbClusterInstance::builder()
            .identifier("ledger-1")
            .cluster_identifier(cluster.id.clone())
            .engine("aurora-postgresql")
            .instance_class("db.serverless")
            .build(),
    );
    let reader = s.add(
        "ledger-2",
        DbClusterInstance::builder()
            .identifier("ledger-2")
            .cluster_identifier(cluster.id.clone())
            .engine("aurora-postgresql")
            .instance_class(x.reader_class)
            .promotion_tier(2)
            .build(),
    );
    let role = s.add(
        "proxy-role",
        Role::builder()
            .name("ledger-proxy")
            .assume_role_policy(
                PolicyDocument::new().statement(
                    Statement::builder()
                        .actions(["sts:AssumeRole"])
                        .principals(vec![Principal::Service("rds.amazonaws.com".into())])
                        .build(),
                ),
            )
            .build(),
    );
    // The proxy connects as its own user: a secret that outlives the
    // cluster's replacement (moto has no ModifyDBProxy to move it to a new
    // cluster's managed secret).
    let proxy_user = s.add(
        "proxy-user",
        Secret::builder().name("ledger-proxy-user").value(SecretValue::password()).recovery_window_in_days(0).build(),
    );
    s.add(
        "proxy",
        DbProxy::builder()
            .name(x.identifier)
            .engine_family(EngineFamily::Postgresql)
            .role_arn(role.arn.clone())
            .vpc_subnet_ids(subnets)
            .vpc_security_group_ids(vec![sg])
            .auth(vec![ProxyAuth { secret_arn: proxy_user.arn.clone().into(), iam_auth: true }])
            .require_tls(true)
            .target(if x.proxy_to_cluster {
                ProxyTarget::Cluster(cluster.id.clone().into())
            } else {
                ProxyTarget::Instance(reader.id.clone().into())
            })
            .connection_pool(
                ConnectionPool::builder().max_connections_percent(x.pool).max_idle_connections_percent(10).build(),
            )
            .build(),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn aurora_serverless_v2_cluster_instances_and_proxy() {
    let h = Harness::new();
    let rds = h.aws.rds().await.clone();
    let v1 = Aurora {
        max_acu: 8.0,
        retention: 7,
        reader_class: "db.r6g.large",
        pool: 90,
        proxy_to_cluster: true,
        identifier: "ledger",
    };
    let s = h.session("aurora", move |s| aurora(s, v1));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "aurora").await;

    let cluster = || {
        let rds = rds.clone();
        async move {
            rds.describe_db_clusters().db_cluster_identifier("ledger").send().await.unwrap().db_clusters()[0].clone()
        }
    };
    let c = cluster().await;
    assert_eq!(c.engine(), Some("aurora-postgresql"));
    assert_eq!(c.database_name(), Some("ledger"));
    assert_eq!(c.backup_retention_period(), Some(7));
    assert_eq!(c.storage_encrypted(), Some(true));
    assert_eq!(c.db_cluster_parameter_group(), Some("ledger-aurora"));
    let scaling = c.serverless_v2_scaling_configuration().expect("serverless v2");
    assert_eq!((scaling.min_capacity(), scaling.max_capacity()), (Some(0.5), Some(8.0)));
    let secret = c.master_user_secret().and_then(|m| m.secret_arn()).expect("managed password").to_owned();
    for name in ["ledger", "ledger-1", "ledger-2", "proxy"] {
        assert_adoptable(&h, &a, "aurora", name).await;
    }
    let state = &a.report.state.resources[&Urn::new("ledger")].outputs;
    assert_eq!(state.get("masterUserSecretArn").as_str(), Some(secret.as_str()), "the secret's ARN is an output");
    let writer = rds.describe_db_instances().db_instance_identifier("ledger-1").send().await.unwrap();
    assert_eq!(writer.db_instances()[0].db_instance_class(), Some("db.serverless"));
    assert_eq!(writer.db_instances()[0].db_cluster_identifier(), Some("ledger"));
    let proxy = rds.describe_db_proxies().db_proxy_name("ledger").send().await.unwrap();
    let proxy = &proxy.db_proxies()[0];
    assert_eq!(proxy.require_tls(), Some(true));
    let user = h.aws.secretsmanager().await.describe_secret().secret_id("ledger-proxy-user").send().await.unwrap();
    assert_eq!(proxy.auth()[0].secret_arn(), user.arn(), "the proxy connects with its user's secret");
    assert_eq!(proxy.auth()[0].iam_auth().map(|m| m.as_str()), Some("REQUIRED"));
    let targets = rds.describe_db_proxy_targets().db_proxy_name("ledger").send().await.unwrap();
    assert!(targets.targets().iter().any(|t| t.rds_resource_id() == Some("ledger")), "cluster registered");
    let tg = rds.describe_db_proxy_target_groups().db_proxy_name("ledger").send().await.unwrap();
    let pool = tg.target_groups()[0].connection_pool_config().unwrap();
    assert_eq!(pool.max_connections_percent(), Some(90));
    assert_no_drift(&s).await;

    // In place: capacity, backups, the reader's class, the pool, and the
    // proxy's target moves to the reader.
    let v2 =
        Aurora { max_acu: 16.0, retention: 14, reader_class: "db.r6g.xlarge", pool: 75, proxy_to_cluster: false, ..v1 };
    let s = h.session("aurora", move |s| aurora(s, v2));
    up(&s).await;
    let c = cluster().await;
    assert_eq!(c.serverless_v2_scaling_configuration().and_then(|s| s.max_capacity()), Some(16.0));
    assert_eq!(c.backup_retention_period(), Some(14));
    let reader = rds.describe_db_instances().db_instance_identifier("ledger-2").send().await.unwrap();
    assert_eq!(reader.db_instances()[0].db_instance_class(), Some("db.r6g.xlarge"));
    let tg = rds.describe_db_proxy_target_groups().db_proxy_name("ledger").send().await.unwrap();
    assert_eq!(tg.target_groups()[0].connection_pool_config().unwrap().max_connections_percent(), Some(75));
    let targets = rds.describe_db_proxy_targets().db_proxy_name("ledger").send().await.unwrap();
    let ids: Vec<_> = targets.targets().iter().filter_map(|t| t.rds_resource_id()).collect();
    assert_eq!(ids, ["ledger-2"], "target moved to the reader");
    assert_no_drift(&s).await;

    // Replace: a new identifier means a new cluster, and new instances in
    // it. (Not a new database name under the same identifier: moto keeps a
    // deleted cluster's automated snapshot, named by the minute, and
    // refuses to take another of that name.)
    let v3 = Aurora { identifier: "ledger-v2", ..v2 };
    let s = h.session("aurora", move |s| aurora(s, v3));
    up(&s).await;
    assert!(rds.describe_db_clusters().db_cluster_identifier("ledger").send().await.is_err(), "old cluster gone");
    let writer = rds.describe_db_instances().db_instance_identifier("ledger-1").send().await.unwrap();
    assert_eq!(writer.db_instances()[0].db_cluster_identifier(), Some("ledger-v2"));
    assert!(rds.describe_db_proxies().db_proxy_name("ledger").send().await.is_err(), "old proxy gone");
    let targets = rds.describe_db_proxy_targets().db_proxy_name("ledger-v2").send().await.unwrap();
    let ids: Vec<_> = targets.targets().iter().filter_map(|t| t.rds_resource_id()).collect();
    assert_eq!(ids, ["ledger-2"], "the new proxy fronts the new cluster's reader");
    assert_no_drift(&s).await;

    destroy(&s).await;
    assert!(rds.describe_db_clusters().db_cluster_identifier("ledger-v2").send().await.is_err(), "cluster gone");
    for gone in ["ledger-1", "ledger-2"] {
        assert!(rds.describe_db_instances().db_instance_identifier(gone).send().await.is_err(), "{gone} gone");
    }
    assert!(rds.describe_db_proxies().db_proxy_name("ledger-v2").send().await.is_err(), "proxy gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_database_inputs_are_refused_at_preview_with_every_problem() {
    let h = Harness::new();
    let s = h.session("bad-rds", |s| {
        s.add("group", DbSubnetGroup::builder().name("has/slash").subnet_ids(vec!["subnet-1".into()]).build());
        s.add("params", DbParameterGroup::builder().name("1-starts-with-digit").family("postgres16").build());
        s.add(
            "db",
            DbInstance::builder()
                .identifier("orders--db")
                .engine("postgresql")
                .instance_class("t3.micro")
                .allocated_storage(5)
                .username("1admin")
                .backup_retention_period(40)
                .monitoring_interval(7)
                .build(),
        );
        s.add(
            "aurora-db",
            DbInstance::builder()
                .identifier("a")
                .engine("aurora-postgresql")
                .instance_class("db.r6g.large")
                .allocated_storage(20)
                .username("admin")
                .build(),
        );
        s.add(
            "cluster",
            DbCluster::builder()
                .identifier("never-created")
                .engine("aurora-postgresql")
                .username("ledger")
                .serverless_v2_scaling(ServerlessV2Scaling { min_capacity: 4.0, max_capacity: 2.25 })
                .backup_retention_period(0)
                .build(),
        );
        s.add(
            "member",
            DbClusterInstance::builder()
                .identifier("ledger-1")
                .cluster_identifier("ledger")
                .engine("aurora-postgresql")
                .instance_class("db.t3.micro")
                .build(),
        );
        let provisioned = s.add(
            "provisioned",
            DbCluster::builder().identifier("provisioned").engine("aurora-mysql").username("admin_user").build(),
        );
        s.add(
            "serverless-member",
            DbClusterInstance::builder()
                .identifier("provisioned-1")
                .cluster_identifier(provisioned.id.clone())
                .engine("aurora-postgresql")
                .instance_class("db.serverless")
                .build(),
        );
        s.add(
            "proxy",
            DbProxy::builder()
                .name("ledger-proxy-")
                .engine_family(EngineFamily::Postgresql)
                .role_arn("arn:aws:iam::123456789012:role/p")
                .vpc_subnet_ids(vec!["subnet-1".into()])
                .auth(vec![])
                .connection_pool(
                    ConnectionPool::builder().max_connections_percent(50).max_idle_connections_percent(60).build(),
                )
                .build(),
        );
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    for (resource, what) in [
        ("group", "`has/slash`: 1–255 letters, digits, spaces, periods, underscores and hyphens"),
        ("group", "two Availability Zones"),
        ("params", "starting with a letter"),
        ("db", "doubled hyphen"),
        ("db", "not an RDS engine"),
        ("db", "not an instance class"),
        ("db", "between 20 and 65536"),
        ("db", "starting with a letter, for postgresql"),
        ("db", "between 0 and 35"),
        ("db", "one of 0, 1, 5, 10, 15, 30, 60"),
        ("aurora-db", "runs in a DbCluster"),
        ("cluster", "steps of 0.5"),
        ("cluster", "above maxCapacity"),
        ("cluster", "between 1 and 35"),
        ("member", "`db.t3.micro` is not an instance class Aurora offers"),
        ("serverless-member", "differs from its cluster `provisioned`'s engine `aurora-mysql`"),
        ("serverless-member", "db.serverless needs Serverless v2 scaling"),
        ("proxy", "not a valid identifier"),
        ("proxy", "two Availability Zones"),
        ("proxy", "at least one secret"),
        ("proxy", "maxIdleConnectionsPercent 60"),
    ] {
        assert!(
            diags.iter().any(|d| d.to_string().contains(resource) && d.to_string().contains(what)),
            "missing `{what}` on {resource}: {text}"
        );
    }
    // Nothing reached the cloud.
    let rds = h.aws.rds().await;
    assert!(rds.describe_db_clusters().db_cluster_identifier("never-created").send().await.is_err());
}
