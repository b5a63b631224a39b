//! The Bitcoin data pipeline, `dev-stack` and `prod-stack`, as a user runs
//! them: preview offline from empty state, up against the emulator, the
//! document's values checked through the SDK, a refresh that finds nothing
//! to change, one config change planned as exactly one in-place update and
//! applied, destroy, and nothing of the stack left in the emulator. The
//! document's literal values that AWS would reject are refused at preview.

use aws_sdk_ec2::types::Filter;

use crate::cli::*;

const DEV: &str = "dev-stack";
const PROD: &str = "prod-stack";

/// What the document (and its tfvars) says an environment holds.
struct Expected {
    env: &'static str,
    nat_gateways: usize,
    aurora_class: &'static str,
    aurora_instances: usize,
    redis_type: &'static str,
    redis_nodes: usize,
    shards: usize,
    backup_days: i32,
    protected: bool,
    capacity_provider: &'static str,
}

/// The document's services: name, cpu, memory, desired count, port.
const SERVICES: [(&str, &str, &str, i32, i32); 5] = [
    ("sbe-ingestor", "1024", "2048", 2, 8081),
    ("rest-ingestor", "512", "1024", 1, 8080),
    // 1536/3072 in the document, which Fargate has no size for.
    ("aggregator", "2048", "4096", 2, 8082),
    ("data-connector", "2048", "4096", 1, 8083),
    ("inference", "2048", "4096", 3, 8085),
];

async fn lifecycle(bin: &str, x: Expected) {
    let run = StackRun::new(bin, &config_dir("bitcoin-pipeline"), x.env);
    let aws = aws();
    let p = format!("btc-{}", x.env);

    // Preview from empty state needs no cloud: no credentials, no network.
    let out = run.offline(&["preview"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "offline preview failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("to create") && text.contains("(known after apply)"), "{text}");
    for output in ["alb_dns_name", "ecr_repository_urls", "aurora_endpoint", "redis_endpoint"] {
        assert!(text.contains(output), "output {output} in the plan: {text}");
    }

    run.ok(&["up", "--yes"]);

    // The document's values, as the cloud holds them.
    let ecs = aws.ecs().await;
    let cluster = format!("{p}-cluster");
    let names: Vec<String> = SERVICES.iter().map(|s| s.0.to_owned()).collect();
    let services = ecs.describe_services().cluster(&cluster).set_services(Some(names)).send().await.unwrap();
    assert_eq!(services.services().len(), 5, "five services");
    for (name, cpu, memory, desired, port) in SERVICES {
        let svc = services.services().iter().find(|s| s.service_name() == Some(name)).unwrap();
        assert_eq!(svc.desired_count(), desired, "{name} desired count");
        let td = ecs.describe_task_definition().task_definition(svc.task_definition().unwrap()).send().await.unwrap();
        let td = td.task_definition().unwrap();
        assert_eq!((td.cpu(), td.memory()), (Some(cpu), Some(memory)), "{name} size");
        let c = &td.container_definitions()[0];
        assert_eq!(c.port_mappings()[0].container_port(), Some(port), "{name} port");
        assert!(c.image().unwrap().ends_with(&format!("/{p}-{name}:latest")), "{name} image {:?}", c.image());
    }
    let clusters = ecs.describe_clusters().clusters(&cluster).send().await.unwrap();
    assert_eq!(clusters.clusters()[0].capacity_providers(), [x.capacity_provider]);

    // Path routing to each service's port, health-checked on /health.
    let elb = aws.elbv2().await;
    let lbs = elb.describe_load_balancers().names(format!("{p}-alb")).send().await.unwrap();
    let lb_arn = lbs.load_balancers()[0].load_balancer_arn().unwrap().to_owned();
    let listeners = elb.describe_listeners().load_balancer_arn(&lb_arn).send().await.unwrap();
    let rules =
        elb.describe_rules().listener_arn(listeners.listeners()[0].listener_arn().unwrap()).send().await.unwrap();
    for (name, _, _, _, port) in SERVICES {
        let rule = rules
            .rules()
            .iter()
            .find(|r| {
                r.conditions().iter().any(|c| {
                    let path = format!("/{name}/*");
                    c.values().contains(&path) || c.path_pattern_config().is_some_and(|p| p.values().contains(&path))
                })
            })
            .unwrap_or_else(|| panic!("a rule for /{name}/*"));
        let tg_arn = rule.actions()[0].target_group_arn().unwrap();
        let tg = elb.describe_target_groups().target_group_arns(tg_arn).send().await.unwrap();
        let tg = &tg.target_groups()[0];
        assert_eq!((tg.port(), tg.health_check_path()), (Some(port), Some("/health")), "{name} target group");
    }

    // Aurora PostgreSQL: class, instance count, backups, protection.
    let rds = aws.rds().await;
    let db = rds.describe_db_clusters().db_cluster_identifier(format!("{p}-features")).send().await.unwrap();
    let db = &db.db_clusters()[0];
    assert_eq!(db.engine(), Some("aurora-postgresql"));
    assert_eq!(db.backup_retention_period(), Some(x.backup_days));
    assert_eq!(db.deletion_protection(), Some(x.protected));
    assert_eq!(db.storage_encrypted(), Some(true));
    assert_eq!(db.db_cluster_members().len(), x.aurora_instances, "Aurora instances");
    for m in db.db_cluster_members() {
        let i = rds
            .describe_db_instances()
            .db_instance_identifier(m.db_instance_identifier().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(i.db_instances()[0].db_instance_class(), Some(x.aurora_class));
    }

    // Redis, Kinesis, NAT.
    let cache = aws.elasticache().await;
    let rg = cache.describe_replication_groups().replication_group_id(format!("{p}-hot-state")).send().await.unwrap();
    let rg = &rg.replication_groups()[0];
    assert_eq!(rg.cache_node_type(), Some(x.redis_type));
    assert_eq!(rg.member_clusters().len(), x.redis_nodes, "Redis nodes");
    assert_eq!(rg.at_rest_encryption_enabled(), Some(true));
    let kinesis = aws.kinesis().await;
    let stream = kinesis.describe_stream_summary().stream_name(format!("{p}-market-data")).send().await.unwrap();
    assert_eq!(stream.stream_description_summary().unwrap().open_shard_count(), x.shards as i32);
    let ec2 = aws.ec2().await;
    let vpc = ec2
        .describe_vpcs()
        .filters(Filter::builder().name("tag:iac:stack").values(format!("bitcoin-pipeline/{}", x.env)).build())
        .send()
        .await
        .unwrap();
    assert_eq!(vpc.vpcs().len(), 1, "one VPC");
    let vpc_id = vpc.vpcs()[0].vpc_id().unwrap().to_owned();
    let by_vpc = || Filter::builder().name("vpc-id").values(&vpc_id).build();
    let subnets = ec2.describe_subnets().filters(by_vpc()).send().await.unwrap();
    assert_eq!(subnets.subnets().len(), 9, "public, private and database subnets in 3 zones");
    let nats = ec2.describe_nat_gateways().filter(by_vpc()).send().await.unwrap();
    let live = nats.nat_gateways().iter().filter(|n| n.state().map(|s| s.as_str()) == Some("available")).count();
    assert_eq!(live, x.nat_gateways, "NAT gateways");

    // The document's alert thresholds.
    let cw = aws.cloudwatch().await;
    let alarms = cw.describe_alarms().alarm_name_prefix(format!("{p}-")).send().await.unwrap();
    let alarm = |suffix: &str| {
        let a = alarms.metric_alarms().iter().find(|a| a.alarm_name() == Some(&format!("{p}-{suffix}"))).unwrap();
        (a.threshold().unwrap(), a.period().unwrap() * a.evaluation_periods().unwrap())
    };
    assert_eq!(alarm("inference-cpu"), (80.0, 300), "ECS CPU > 80% for 5 minutes");
    assert_eq!(alarm("rds-cpu"), (70.0, 600), "RDS CPU > 70% for 10 minutes");
    assert_eq!(alarm("kinesis-iterator-age"), (60_000.0, 60), "iterator age > 1 minute");
    assert_eq!(alarm("redis-memory"), (85.0, 300), "Redis memory > 85%");
    assert_eq!(alarm("error-rate"), (5.0, 300), "error rate > 5%");
    let repos = aws.ecr().await.describe_repositories().send().await.unwrap();
    let ours =
        repos.repositories().iter().filter(|r| r.repository_name().unwrap().starts_with(&format!("{p}-"))).count();
    assert_eq!(ours, 5, "a repository per service");

    run.assert_converged();

    // One config value: one in-place update, and nothing else.
    run.edit_config("[services.rest-ingestor]", "desired_count = 1", "desired_count = 2");
    let out = run.cli(&["preview", "--detailed-exitcode"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "changes planned: {text}");
    assert!(text.contains("rest-ingestor/service") && text.contains("1 to update"), "{text}");
    assert!(!text.contains("to create") && !text.contains("to delete") && !text.contains("to replace"), "{text}");
    run.ok(&["up", "--yes"]);
    let svc = ecs.describe_services().cluster(&cluster).services("rest-ingestor").send().await.unwrap();
    assert_eq!(svc.services()[0].desired_count(), 2);
    run.assert_converged();

    if x.protected {
        // Production refuses deletion until protection is lifted.
        run.edit_config("enable_deletion_protection", "true", "false");
        run.ok(&["up", "--yes"]);
    }
    run.ok(&["destroy", "--yes"]);

    // Nothing of the stack is left.
    let vpcs = ec2.describe_vpcs().filters(by_vpc()).send().await.unwrap();
    assert!(vpcs.vpcs().is_empty(), "VPC gone");
    let clusters = ecs.describe_clusters().clusters(&cluster).send().await.unwrap();
    assert!(clusters.clusters().iter().all(|c| c.status() == Some("INACTIVE")), "cluster gone");
    assert!(rds.describe_db_clusters().db_cluster_identifier(format!("{p}-features")).send().await.is_err());
    assert!(cache.describe_replication_groups().replication_group_id(format!("{p}-hot-state")).send().await.is_err());
    assert!(kinesis.describe_stream_summary().stream_name(format!("{p}-market-data")).send().await.is_err());
    let lbs = elb.describe_load_balancers().send().await.unwrap();
    assert!(lbs.load_balancers().iter().all(|l| l.load_balancer_name() != Some(&format!("{p}-alb"))));
    let repos = aws.ecr().await.describe_repositories().send().await.unwrap();
    assert!(repos.repositories().iter().all(|r| !r.repository_name().unwrap().starts_with(&format!("{p}-"))));
    let buckets = aws.s3().await.list_buckets().send().await.unwrap();
    assert!(buckets.buckets().iter().all(|b| !b.name().unwrap().starts_with(&format!("{p}-"))), "buckets gone");
    let alarms = cw.describe_alarms().alarm_name_prefix(format!("{p}-")).send().await.unwrap();
    assert!(alarms.metric_alarms().is_empty(), "alarms gone");
    let roles = aws.iam().await.list_roles().send().await.unwrap();
    assert!(roles.roles().iter().all(|r| !r.role_name().starts_with(&format!("{p}-"))), "roles gone");
    let groups =
        aws.logs().await.describe_log_groups().log_group_name_prefix(format!("/ecs/{p}")).send().await.unwrap();
    assert!(groups.log_groups().is_empty(), "log groups gone");
    let topics = aws.sns().await.list_topics().send().await.unwrap();
    assert!(topics.topics().iter().all(|t| !t.topic_arn().unwrap().ends_with(&format!(":{p}-alerts"))));
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_pipeline_deploys_converges_updates_and_destroys() {
    lifecycle(
        DEV,
        Expected {
            env: "dev",
            nat_gateways: 0,
            aurora_class: "db.t3.medium",
            aurora_instances: 1,
            redis_type: "cache.t3.micro",
            redis_nodes: 1,
            shards: 1,
            backup_days: 1,
            protected: false,
            capacity_provider: "FARGATE_SPOT",
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn prod_pipeline_deploys_converges_updates_and_destroys() {
    lifecycle(
        PROD,
        Expected {
            env: "prod",
            nat_gateways: 3,
            aurora_class: "db.r6g.large",
            aurora_instances: 2,
            redis_type: "cache.r6g.large",
            redis_nodes: 2,
            shards: 4,
            backup_days: 30,
            protected: true,
            capacity_provider: "FARGATE",
        },
    )
    .await;
}

/// The document's literal values AWS would refuse are refused at preview,
/// each naming the resource and field, with nothing created.
#[test]
fn document_values_aws_rejects_are_refused_at_preview() {
    let run = StackRun::new(DEV, &config_dir("bitcoin-pipeline"), "dev");
    run.edit_config("rds_instance_class", "db.t3.medium", "db.t3.micro");
    run.edit_config("[services.aggregator]", "cpu = 2048", "cpu = 1536");
    run.edit_config("[services.aggregator]", "memory = 4096", "memory = 3072");
    let out = run.offline(&["preview"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("feature-store/instance-1") && err.contains("db.t3.micro"), "Aurora class refused: {err}");
    assert!(err.contains("aggregator/task") && err.contains("1536"), "Fargate size refused: {err}");
    assert!(!run.dir.path().join(".iac").join("bitcoin-pipeline").join("dev").join("snapshot.json").exists());
}
