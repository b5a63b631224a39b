//! The IPRS portfolio analytics platform, `iprs-platform` with its stacks
//! `dev`, `staging` and `prod`, as a user runs it: the master password set
//! as secret config with the binary, preview offline from empty state, up
//! against the emulator, the document's values checked through the SDK, the
//! password found nowhere in plaintext (config, state, journal, outputs,
//! terminal), a refresh that finds nothing to change, one config change
//! planned as exactly one in-place update and applied, destroy, and nothing
//! of the stack left in the emulator.
//!
//! The document has no literal value AWS would refuse (its Fargate size,
//! 256 CPU / 512 MB, and its Aurora class, `db.t3.medium`, are offered), so
//! there is no test of such a value; its "15.x" engine names a major
//! version and the config pins a minor of it.

use aws_sdk_ec2::types::Filter;

use crate::cli::*;

const BIN: &str = "iprs-platform";

/// The document's example password (`-var="db_master_password=…"`).
const PASSWORD: &str = "YourSecurePassword123!";

/// What the document (and, where it is silent, the stack's config) says an
/// environment holds.
struct Expected {
    env: &'static str,
    nat_gateways: usize,
    flow_logs: bool,
    aurora_class: &'static str,
    backup_days: i32,
    protected: bool,
    /// CPU and memory of the three API services, then of the worker.
    api_size: (&'static str, &'static str),
    worker_size: (&'static str, &'static str),
    desired: i32,
    /// Auto scaling's (min, max), if any.
    scaling: Option<(i32, i32)>,
    repo_prefix: &'static str,
}

/// The document's services: name, port and path prefix (none for the
/// worker).
const SERVICES: [(&str, Option<i32>, Option<&str>); 4] = [
    ("marketdata", Some(8001), Some("/mkt/*")),
    ("orchestrator", Some(8002), Some("/orch/*")),
    ("results", Some(8003), Some("/results/*")),
    ("worker", None, None),
];

/// No file of the run (config, snapshot, its backup, journal) holds the
/// password, raw or as the URL encodes it.
fn assert_no_plaintext(run: &StackRun, what: &str) {
    let all = files(run.dir.path());
    let state: Vec<_> = all.keys().filter(|p| p.to_string_lossy().contains("/.iac/")).collect();
    assert!(!state.is_empty() || what == "config", "state files exist ({what})");
    for (path, bytes) in &all {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains("YourSecurePassword123"), "{what}: the password in plaintext in {}", path.display());
    }
}

fn assert_no_password(text: &str, what: &str) {
    assert!(!text.contains("YourSecurePassword123"), "{what}: the password in plaintext:\n{text}");
}

async fn lifecycle(x: Expected) {
    let run = StackRun::new(BIN, &config_dir("iprs-platform"), x.env);
    let aws = aws();
    let p = format!("iprs-{}", x.env);

    // The password is secret config, set with the binary; the config file
    // holds it sealed.
    let out = run.offline(&["config", "set", "--secret", "db_master_password", PASSWORD]);
    assert!(out.status.success(), "config set --secret: {}", String::from_utf8_lossy(&out.stderr));
    assert_no_plaintext(&run, "config");
    let out = run.offline(&["config", "get", "db_master_password"]);
    assert_no_password(&String::from_utf8_lossy(&out.stdout), "config get");

    // Preview from empty state needs no cloud: no credentials, no network.
    let out = run.offline(&["preview"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "offline preview failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("to create") && text.contains("(known after apply)"), "{text}");
    for output in ["alb_dns_name", "rds_proxy_endpoint", "ecr_repository_urls", "database_url"] {
        assert!(text.contains(output), "output {output} in the plan: {text}");
    }
    assert_no_password(&text, "preview");

    let up = run.ok(&["up", "--yes"]);
    assert_no_password(&up, "up");

    // Network: the document's range over two zones, public and private
    // subnets, an internet gateway, NAT.
    let ec2 = aws.ec2().await;
    let vpc = ec2
        .describe_vpcs()
        .filters(Filter::builder().name("tag:iac:stack").values(format!("iprs-platform/{}", x.env)).build())
        .send()
        .await
        .unwrap();
    assert_eq!(vpc.vpcs().len(), 1, "one VPC");
    assert_eq!(vpc.vpcs()[0].cidr_block(), Some("10.0.0.0/16"));
    let vpc_id = vpc.vpcs()[0].vpc_id().unwrap().to_owned();
    let by_vpc = || Filter::builder().name("vpc-id").values(&vpc_id).build();
    let subnets = ec2.describe_subnets().filters(by_vpc()).send().await.unwrap();
    assert_eq!(subnets.subnets().len(), 4, "public and private subnets in 2 zones");
    for (az, public) in [("us-east-1a", true), ("us-east-1a", false), ("us-east-1b", true), ("us-east-1b", false)] {
        let n = subnets
            .subnets()
            .iter()
            .filter(|s| s.availability_zone() == Some(az) && s.map_public_ip_on_launch() == Some(public))
            .count();
        assert_eq!(n, 1, "one {} subnet in {az}", if public { "public" } else { "private" });
    }
    let igws = ec2
        .describe_internet_gateways()
        .filters(Filter::builder().name("attachment.vpc-id").values(&vpc_id).build())
        .send()
        .await
        .unwrap();
    assert_eq!(igws.internet_gateways().len(), 1, "an internet gateway");
    let nats = ec2.describe_nat_gateways().filter(by_vpc()).send().await.unwrap();
    let live: Vec<_> =
        nats.nat_gateways().iter().filter(|n| n.state().map(|s| s.as_str()) == Some("available")).collect();
    assert_eq!(live.len(), x.nat_gateways, "NAT gateways");
    let public_subnets: Vec<&str> = subnets
        .subnets()
        .iter()
        .filter(|s| s.map_public_ip_on_launch() == Some(true))
        .filter_map(|s| s.subnet_id())
        .collect();
    assert!(live.iter().all(|n| public_subnets.contains(&n.subnet_id().unwrap())), "NAT in public subnets");
    let flow_logs = ec2
        .describe_flow_logs()
        .filter(Filter::builder().name("resource-id").values(&vpc_id).build())
        .send()
        .await
        .unwrap();
    assert_eq!(flow_logs.flow_logs().len(), usize::from(x.flow_logs), "VPC flow logs");

    // Aurora PostgreSQL 15 with 2 instances, behind an RDS Proxy.
    let rds = aws.rds().await;
    let db_id = format!("{p}-aurora");
    let db = rds.describe_db_clusters().db_cluster_identifier(&db_id).send().await.unwrap();
    let db = &db.db_clusters()[0];
    assert_eq!(db.engine(), Some("aurora-postgresql"));
    assert!(db.engine_version().unwrap().starts_with("15."), "15.x: {:?}", db.engine_version());
    assert_eq!(db.backup_retention_period(), Some(x.backup_days));
    assert_eq!(db.deletion_protection(), Some(x.protected));
    assert_eq!(db.storage_encrypted(), Some(true));
    assert_eq!(db.master_username(), Some("iprs_admin"));
    assert_eq!(db.database_name(), Some("iprs"));
    assert_eq!(db.db_cluster_members().len(), 2, "Aurora instances");
    let kms_key = db.kms_key_id().unwrap().to_owned();
    for m in db.db_cluster_members() {
        let i = rds
            .describe_db_instances()
            .db_instance_identifier(m.db_instance_identifier().unwrap())
            .send()
            .await
            .unwrap();
        let i = &i.db_instances()[0];
        assert_eq!(i.db_instance_class(), Some(x.aurora_class));
        assert_eq!(i.publicly_accessible(), Some(false), "not publicly accessible");
    }
    let proxy = rds.describe_db_proxies().db_proxy_name(format!("{db_id}-proxy")).send().await.unwrap();
    let proxy = &proxy.db_proxies()[0];
    assert_eq!(proxy.engine_family(), Some("POSTGRESQL"));
    assert_eq!(proxy.require_tls(), Some(true));
    let targets = rds.describe_db_proxy_targets().db_proxy_name(format!("{db_id}-proxy")).send().await.unwrap();
    assert!(targets.targets().iter().any(|t| t.rds_resource_id() == Some(&db_id)), "the proxy targets the cluster");

    // The proxy's credentials and the tasks' DATABASE_URL are in Secrets
    // Manager; the output carries the same URL, as a secret.
    let sm = aws.secretsmanager().await;
    let creds_arn = proxy.auth()[0].secret_arn().unwrap().to_owned();
    let creds = sm.get_secret_value().secret_id(&creds_arn).send().await.unwrap();
    assert_eq!(creds.name(), Some(format!("{p}/db-credentials").as_str()));
    let creds: serde_json::Value = serde_json::from_str(creds.secret_string().unwrap()).unwrap();
    assert_eq!(creds, serde_json::json!({ "username": "iprs_admin", "password": PASSWORD }));
    let endpoint = run.ok(&["output", "rds_proxy_endpoint"]).trim().to_owned();
    assert_eq!(Some(endpoint.as_str()), proxy.endpoint(), "rds_proxy_endpoint");
    let url = run.ok(&["output", "database_url", "--show-secrets"]).trim().to_owned();
    assert_eq!(url, format!("postgresql://iprs_admin:YourSecurePassword123%21@{endpoint}:5432/iprs?sslmode=require"));
    let url_secret = sm.get_secret_value().secret_id(format!("{p}/database-url")).send().await.unwrap();
    assert_eq!(url_secret.secret_string(), Some(url.as_str()), "DATABASE_URL secret");
    let url_secret_arn = url_secret.arn().unwrap().to_owned();

    // The outputs, secrets masked.
    let outputs = run.ok(&["output", "--json"]);
    assert_no_password(&outputs, "output --json");
    let outputs: serde_json::Value = serde_json::from_str(&outputs).unwrap();
    assert!(!outputs["database_url"].as_str().unwrap_or_default().contains("postgresql://"), "{outputs}");
    assert_no_password(&run.ok(&["output", "database_url"]), "output database_url");
    assert_no_plaintext(&run, "after up");

    // ECR: a repository per service, as the output lists them.
    let ecr = aws.ecr().await;
    let repos = ecr.describe_repositories().send().await.unwrap();
    for (name, _, _) in SERVICES {
        let repo = repos
            .repositories()
            .iter()
            .find(|r| r.repository_name() == Some(&format!("{}-{name}", x.repo_prefix)))
            .unwrap_or_else(|| panic!("repository {}-{name}", x.repo_prefix));
        assert_eq!(outputs["ecr_repository_urls"][name].as_str(), repo.repository_uri(), "{name} URL output");
    }

    // ECS: the four services, their sizes, ports, images, log group and
    // DATABASE_URL from Secrets Manager.
    let ecs = aws.ecs().await;
    let cluster = format!("{p}-cluster");
    let names: Vec<String> = SERVICES.iter().map(|s| s.0.to_owned()).collect();
    let services = ecs.describe_services().cluster(&cluster).set_services(Some(names)).send().await.unwrap();
    assert_eq!(services.services().len(), 4, "four services");
    for (name, port, _) in SERVICES {
        let svc = services.services().iter().find(|s| s.service_name() == Some(name)).unwrap();
        assert_eq!(svc.desired_count(), x.desired, "{name} desired count");
        assert_eq!(svc.launch_type().map(|l| l.as_str()), Some("FARGATE"), "{name} on Fargate");
        let td = ecs.describe_task_definition().task_definition(svc.task_definition().unwrap()).send().await.unwrap();
        let td = td.task_definition().unwrap();
        let size = if port.is_some() { x.api_size } else { x.worker_size };
        assert_eq!((td.cpu(), td.memory()), (Some(size.0), Some(size.1)), "{name} size");
        let c = &td.container_definitions()[0];
        let ports: Vec<_> = c.port_mappings().iter().filter_map(|m| m.container_port()).collect();
        assert_eq!(ports, port.into_iter().collect::<Vec<_>>(), "{name} port");
        assert!(c.image().unwrap().ends_with(&format!("/{}-{name}:latest", x.repo_prefix)), "{name} image");
        let log = c.log_configuration().unwrap();
        assert_eq!(log.options().unwrap().get("awslogs-group").map(String::as_str), Some(format!("/ecs/{p}").as_str()));
        let secret = c.secrets().iter().find(|s| s.name() == "DATABASE_URL").expect("DATABASE_URL");
        assert_eq!(secret.value_from(), url_secret_arn, "{name} DATABASE_URL from Secrets Manager");
        assert!(c.environment().iter().all(|e| !e.value().unwrap_or_default().contains("postgresql://")));
    }
    let groups =
        aws.logs().await.describe_log_groups().log_group_name_prefix(format!("/ecs/{p}")).send().await.unwrap();
    let groups: Vec<_> = groups.log_groups().iter().filter_map(|g| g.log_group_name()).collect();
    assert_eq!(groups, [format!("/ecs/{p}")], "one log group for the services");

    // ECS auto scaling ("for production").
    let scaling = aws.autoscaling().await;
    let targets = scaling.describe_scalable_targets().service_namespace("ecs".into()).send().await.unwrap();
    for (name, _, _) in SERVICES {
        let id = format!("service/{cluster}/{name}");
        let t = targets.scalable_targets().iter().find(|t| t.resource_id() == id);
        assert_eq!(t.map(|t| (t.min_capacity(), t.max_capacity())), x.scaling, "{name} auto scaling");
    }

    // The load balancer routes by path to each service's port, health
    // checked on /health; the worker has no route.
    let elb = aws.elbv2().await;
    let lbs = elb.describe_load_balancers().names(format!("{p}-alb")).send().await.unwrap();
    let lb = &lbs.load_balancers()[0];
    assert_eq!(outputs["alb_dns_name"].as_str(), lb.dns_name(), "alb_dns_name");
    let lb_arn = lb.load_balancer_arn().unwrap().to_owned();
    let attrs = elb.describe_load_balancer_attributes().load_balancer_arn(&lb_arn).send().await.unwrap();
    let protection = attrs.attributes().iter().find(|a| a.key() == Some("deletion_protection.enabled"));
    assert_eq!(protection.and_then(|a| a.value()), Some(if x.protected { "true" } else { "false" }));
    let listeners = elb.describe_listeners().load_balancer_arn(&lb_arn).send().await.unwrap();
    let rules =
        elb.describe_rules().listener_arn(listeners.listeners()[0].listener_arn().unwrap()).send().await.unwrap();
    assert_eq!(rules.rules().iter().filter(|r| r.is_default() != Some(true)).count(), 3, "three path rules");
    for (name, port, path) in SERVICES {
        let Some(path) = path else { continue };
        let rule = rules
            .rules()
            .iter()
            .find(|r| {
                r.conditions().iter().any(|c| {
                    c.values().iter().any(|v| v == path)
                        || c.path_pattern_config().is_some_and(|p| p.values().iter().any(|v| v == path))
                })
            })
            .unwrap_or_else(|| panic!("a rule for {path}"));
        let tg_arn = rule.actions()[0].target_group_arn().unwrap();
        let tg = elb.describe_target_groups().target_group_arns(tg_arn).send().await.unwrap();
        let tg = &tg.target_groups()[0];
        assert_eq!((tg.port(), tg.health_check_path()), (port, Some("/health")), "{name} target group");
    }

    run.assert_converged();

    // One config value: one in-place update, and nothing else.
    run.edit_config(
        "[services.results]",
        &format!("desired_count = {}", x.desired),
        &format!("desired_count = {}", x.desired + 1),
    );
    let out = run.cli(&["preview", "--detailed-exitcode"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "changes planned: {text}");
    assert!(text.contains("results/service") && text.contains("1 to update"), "{text}");
    assert!(!text.contains("to create") && !text.contains("to delete") && !text.contains("to replace"), "{text}");
    run.ok(&["up", "--yes"]);
    let svc = ecs.describe_services().cluster(&cluster).services("results").send().await.unwrap();
    assert_eq!(svc.services()[0].desired_count(), x.desired + 1);
    run.assert_converged();

    if x.protected {
        // Protected stacks refuse deletion until protection is lifted.
        run.edit_config("deletion_protection", "true", "false");
        run.ok(&["up", "--yes"]);
    }
    assert_no_password(&run.ok(&["destroy", "--yes"]), "destroy");
    assert_no_plaintext(&run, "after destroy");

    // Nothing of the stack is left.
    let vpcs = ec2.describe_vpcs().filters(by_vpc()).send().await.unwrap();
    assert!(vpcs.vpcs().is_empty(), "VPC gone");
    let nats = ec2.describe_nat_gateways().filter(by_vpc()).send().await.unwrap();
    assert!(nats.nat_gateways().iter().all(|n| n.state().map(|s| s.as_str()) == Some("deleted")), "NAT gone");
    let eips = ec2
        .describe_addresses()
        .filters(Filter::builder().name("tag:iac:stack").values(format!("iprs-platform/{}", x.env)).build())
        .send()
        .await
        .unwrap();
    assert!(eips.addresses().is_empty(), "NAT addresses released");
    let clusters = ecs.describe_clusters().clusters(&cluster).send().await.unwrap();
    assert!(clusters.clusters().iter().all(|c| c.status() == Some("INACTIVE")), "cluster gone");
    assert!(rds.describe_db_clusters().db_cluster_identifier(&db_id).send().await.is_err(), "Aurora gone");
    for n in 1..=2 {
        assert!(rds.describe_db_instances().db_instance_identifier(format!("{db_id}-{n}")).send().await.is_err());
    }
    assert!(rds.describe_db_proxies().db_proxy_name(format!("{db_id}-proxy")).send().await.is_err(), "proxy gone");
    assert!(rds.describe_db_subnet_groups().db_subnet_group_name(&db_id).send().await.is_err(), "subnets gone");
    let key = aws.kms().await.describe_key().key_id(&kms_key).send().await.unwrap();
    assert_eq!(
        key.key_metadata().unwrap().key_state().map(|s| s.as_str()),
        Some("PendingDeletion"),
        "storage key scheduled for deletion"
    );
    for secret in ["db-credentials", "database-url"] {
        match sm.describe_secret().secret_id(format!("{p}/{secret}")).send().await {
            Err(_) => {}
            Ok(s) => assert!(s.deleted_date().is_some(), "{secret} deleted or scheduled for deletion"),
        }
    }
    let lbs = elb.describe_load_balancers().send().await.unwrap();
    assert!(lbs.load_balancers().iter().all(|l| l.load_balancer_name() != Some(&format!("{p}-alb"))));
    let tgs = elb.describe_target_groups().send().await.unwrap();
    assert!(tgs.target_groups().iter().all(|t| !t.target_group_name().unwrap().starts_with(&format!("{p}-"))));
    let repos = ecr.describe_repositories().send().await.unwrap();
    let mine = |name: &str| SERVICES.iter().any(|s| name == format!("{}-{}", x.repo_prefix, s.0));
    assert!(repos.repositories().iter().all(|r| !mine(r.repository_name().unwrap())), "repositories gone");
    let roles = aws.iam().await.list_roles().send().await.unwrap();
    assert!(roles.roles().iter().all(|r| !r.role_name().starts_with(&format!("{p}-"))), "roles gone");
    let groups =
        aws.logs().await.describe_log_groups().log_group_name_prefix(format!("/ecs/{p}")).send().await.unwrap();
    assert!(groups.log_groups().is_empty(), "log group gone");
    let flow = format!("{}-iprs-network", x.env);
    let groups = aws.logs().await.describe_log_groups().log_group_name_prefix(format!("/vpc/{flow}")).send().await;
    assert!(groups.unwrap().log_groups().is_empty(), "flow log group gone");
    assert!(roles.roles().iter().all(|r| !r.role_name().starts_with(&flow)), "flow log role gone");
    let targets = scaling.describe_scalable_targets().service_namespace("ecs".into()).send().await.unwrap();
    assert!(targets.scalable_targets().iter().all(|t| !t.resource_id().starts_with(&format!("service/{cluster}/"))));
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_iprs_deploys_converges_updates_and_destroys() {
    lifecycle(Expected {
        env: "dev",
        nat_gateways: 1,
        flow_logs: false,
        aurora_class: "db.t3.medium",
        backup_days: 7,
        protected: false,
        api_size: ("256", "512"),
        worker_size: ("256", "512"),
        desired: 1,
        scaling: None,
        repo_prefix: "iprs",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn staging_iprs_deploys_converges_updates_and_destroys() {
    lifecycle(Expected {
        env: "staging",
        nat_gateways: 2,
        flow_logs: true,
        aurora_class: "db.r6g.large",
        backup_days: 14,
        protected: true,
        api_size: ("512", "1024"),
        worker_size: ("1024", "2048"),
        desired: 2,
        scaling: Some((2, 4)),
        repo_prefix: "iprs-staging",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn prod_iprs_deploys_converges_updates_and_destroys() {
    lifecycle(Expected {
        env: "prod",
        nat_gateways: 2,
        flow_logs: true,
        aurora_class: "db.r6g.xlarge",
        backup_days: 30,
        protected: true,
        api_size: ("1024", "2048"),
        worker_size: ("2048", "4096"),
        desired: 2,
        scaling: Some((2, 10)),
        repo_prefix: "iprs-prod",
    })
    .await;
}

/// The master password is secret config or nothing: missing, or written in
/// the config file in plaintext, the preview refuses with a message saying
/// how to set it, and nothing is created.
#[test]
fn the_master_password_must_be_secret_config() {
    let run = StackRun::new(BIN, &config_dir("iprs-platform"), "dev");
    let out = run.offline(&["preview"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("db_master_password") && err.contains("config set --secret"), "{err}");

    let path = run.config_file();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("db_master_password = \"{PASSWORD}\"\n{text}")).unwrap();
    let out = run.offline(&["preview"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("db_master_password") && err.contains("must be a secret"), "{err}");
    assert_no_password(&err, "the refusal");
    assert!(!run.dir.path().join(".iac").join("iprs-platform").join("dev").join("snapshot.json").exists());
}
