//! The IPRS portfolio analytics platform (`iprs-platform`, stacks `dev`,
//! `staging` and `prod`): a two-zone network with public and private
//! subnets, an internet gateway and NAT; Aurora PostgreSQL 15 with two
//! instances behind an RDS Proxy; an ECR repository per service; and four
//! Fargate services (marketdata, orchestrator, results, worker) behind one
//! load balancer that routes by path (`/mkt/*` → 8001, `/orch/*` → 8002,
//! `/results/*` → 8003), logging to `/ecs/iprs-<env>`.
//!
//! Each environment's values come from `config/iprs-platform/<stack>.toml`.
//! The document sizes the development environment (its defaults) and lists
//! what to change "for production"; the staging and prod files apply that
//! list and say so. The master password is secret config
//! (`config set --secret db_master_password …`), never plaintext: the
//! cluster takes it, the proxy reads it from a Secrets Manager secret made
//! here, the tasks read the connection string (`DATABASE_URL`) from
//! another, and the `database_url` output is a secret.

use std::collections::BTreeMap;

use iac_aws::ec2::SecurityGroup;
use iac_aws::ecr::{Expire, LifecycleRule, Repository, TagStatus};
use iac_aws::ecs::Cluster;
use iac_aws::logs::LogGroup;
use iac_aws::secretsmanager::{Secret, SecretValue};
use iac_aws::AwsProvider;
use iac_core::{Error, Expr, Input, Output, Stack};
use serde::Deserialize;

use crate::components::*;

/// Where this program's per-stack config files are.
pub const CONFIG_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/iprs-platform");

/// The project name, the prefix of every AWS name.
const PROJECT: &str = "iprs";

/// PostgreSQL's port (the proxy listens on it too).
const PG_PORT: u16 = 5432;

/// One of the document's services.
#[derive(Clone, Debug, Deserialize)]
pub struct ServiceSpec {
    /// Task CPU units.
    pub cpu: u32,
    /// Task memory (MiB).
    pub memory: u32,
    /// Tasks to run.
    pub desired_count: i32,
    /// The container port; none for a service that serves nothing (the
    /// worker).
    #[serde(default)]
    pub port: Option<u16>,
    /// The load balancer path routed to it (`/mkt/*`); none: no route.
    #[serde(default)]
    pub path: Option<String>,
    /// The load balancer's health check path.
    #[serde(default = "default_health_check")]
    pub health_check_path: String,
    /// Auto scaling's floor; with `max_count`, the service scales on CPU.
    #[serde(default)]
    pub min_count: Option<i32>,
    /// Auto scaling's ceiling.
    #[serde(default)]
    pub max_count: Option<i32>,
}

fn default_health_check() -> String {
    "/health".into()
}

/// How private subnets reach the internet: config `nat`.
fn nat_mode(cfg: &iac_core::Config) -> Result<NatMode, Error> {
    match cfg.require::<String>("nat")?.as_str() {
        "single" => Ok(NatMode::Single),
        "per-zone" => Ok(NatMode::PerZone),
        "none" => Ok(NatMode::None),
        other => Err(Error::Config {
            stack: cfg.stack().to_owned(),
            key: "nat".into(),
            path: cfg.path().to_owned(),
            message: format!("`{other}`: one of single, per-zone, none"),
        }),
    }
}

/// `s` percent-encoded for a URL's user-info part: everything but RFC 3986's
/// unreserved characters.
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Declares the platform.
pub fn program(stack: &Stack) -> Result<(), Error> {
    let cfg = stack.config();
    stack.provider("aws", AwsProvider::from_env());
    let env: String = cfg.require("environment")?;
    let region: String = cfg.require("region")?;
    let prefix = format!("{PROJECT}-{env}");
    stack.default_tags([("Project", PROJECT), ("Environment", env.as_str()), ("ManagedBy", "iac")]);
    let protect: bool = cfg.require("deletion_protection")?;
    let services: BTreeMap<String, ServiceSpec> = cfg.require("services")?;
    // Secret config: sealed in the config file and in state, masked in
    // every output.
    let password: Output<String> = cfg.require_secret("db_master_password")?;
    let username: String = cfg.require("database_username")?;
    let database: String = cfg.require("database_name")?;

    // Network: public and private subnets in the document's two zones. The
    // component names its account-wide parts (the flow-log role and group)
    // after the stack and itself: `<env>-iprs-network` keeps them apart from
    // other platforms' stacks of the same name.
    let azs: Vec<String> = cfg.require("availability_zones")?;
    let net = Network::new(
        stack,
        "iprs-network",
        &NetworkArgs {
            cidr: cfg.require("vpc_cidr")?,
            azs: azs.clone(),
            // "Private subnets for compute and data layers": the database
            // shares the private subnets.
            database_subnets: false,
            nat: nat_mode(cfg)?,
            flow_log_retention_days: cfg.get("flow_log_retention_days")?,
            // The document lists no VPC endpoints.
            s3_endpoint: false,
            eks_cluster_name: None,
        },
    );
    check_region(stack, "iprs-network", &region, &azs, true);
    // The document's "ECS security group": every task joins it, and only it
    // reaches the database (through the proxy).
    let ecs_sg = stack.add(
        "ecs-sg",
        SecurityGroup::builder()
            .name(format!("{prefix}-ecs"))
            .description("IPRS ECS tasks")
            .vpc_id(net.vpc_id.clone())
            .build(),
    );

    // The proxy authenticates with a secret holding the user and password;
    // the password is given, so that secret is ours to make.
    let recovery_days: i64 = cfg.require("secret_recovery_days")?;
    let credentials = stack.add(
        "db-credentials",
        Secret::builder()
            .name(format!("{prefix}/db-credentials"))
            .description("IPRS Aurora master credentials, for the RDS Proxy")
            .value(SecretValue::Given(
                password
                    .map({
                        let username = username.clone();
                        move |p| serde_json::json!({ "username": username, "password": p }).to_string()
                    })
                    .into(),
            ))
            .recovery_window_in_days(recovery_days)
            .build(),
    );
    let db = PostgresDatabase::with_options(
        stack,
        "aurora",
        &PostgresArgs {
            identifier: format!("{prefix}-aurora"),
            kind: PostgresKind::Aurora {
                instances: cfg.require("aurora_instances")?,
                instance_class: cfg.require("aurora_instance_class")?,
            },
            engine_version: cfg.require("aurora_engine_version")?,
            database_name: database.clone(),
            username: username.clone(),
            password: Some(password.clone()),
            vpc_id: net.vpc_id.clone(),
            subnet_ids: net.private_subnet_ids(),
            allowed_security_groups: vec![ecs_sg.id.clone()],
            backup_retention_days: cfg.require("backup_retention_days")?,
            deletion_protection: protect,
            performance_insights: cfg.require("performance_insights")?,
            proxy: true,
            parameters: Vec::new(),
        },
        &PostgresOptions { proxy_secret_arn: Some(credentials.arn.clone()), ..Default::default() },
    );
    let proxy_endpoint = db.proxy_endpoint.clone().expect("the database has a proxy");
    // The services connect through the proxy, which requires TLS.
    let database_url = password.zip(&proxy_endpoint).map({
        let (username, database) = (username.clone(), database.clone());
        move |(p, host)| {
            format!("postgresql://{username}:{}@{host}:{PG_PORT}/{database}?sslmode=require", url_encode(&p))
        }
    });
    let url_secret = stack.add(
        "database-url",
        Secret::builder()
            .name(format!("{prefix}/database-url"))
            .description("IPRS PostgreSQL connection string through the RDS Proxy (DATABASE_URL)")
            .value(SecretValue::Given(database_url.clone().into()))
            .recovery_window_in_days(recovery_days)
            .build(),
    );

    // Images: a repository `iprs-<service>` per service.
    let repo_prefix: String = cfg.require("ecr_repository_prefix")?;
    let mut repository_urls = BTreeMap::new();
    for name in services.keys() {
        let repo = stack.add(
            &format!("ecr-{name}"),
            Repository::builder()
                .name(format!("{repo_prefix}-{name}"))
                .scan_on_push(true)
                .lifecycle_rules(vec![LifecycleRule::builder()
                    .priority(1)
                    .description("keep the last 20 untagged images")
                    .tag_status(TagStatus::Untagged)
                    .expire(Expire::KeepLast(20))
                    .build()])
                .force_delete(!protect)
                .build(),
        );
        repository_urls.insert(name.clone(), repo.repository_url.clone());
    }

    // Compute: the cluster, the load balancer, the services.
    let cluster = stack.add(
        "cluster",
        Cluster::builder()
            .name(format!("{prefix}-cluster"))
            .container_insights(cfg.require("container_insights")?)
            .build(),
    );
    let log_days: i32 = cfg.require("log_retention_days")?;
    let logs =
        stack.add("logs", LogGroup::builder().name(format!("/ecs/{prefix}")).retention_in_days(log_days).build());
    let alb = PublicAlb::new(
        stack,
        "alb",
        &net,
        &PublicAlbArgs { name: format!("{prefix}-alb"), deletion_protection: protect, idle_timeout_seconds: 60 },
    );
    let mut priority = 0;
    for (name, spec) in &services {
        let route = spec.path.as_ref().map(|path| {
            priority += 10;
            AlbRoute {
                listener_arn: alb.listener_arn.clone(),
                path_patterns: vec![path.clone()],
                priority,
                alb_security_group: alb.security_group_id.clone(),
            }
        });
        let scaling = match (spec.min_count, spec.max_count) {
            (Some(min), Some(max)) => Some(CpuScaling { min, max, target_percent: 70.0 }),
            _ => None,
        };
        let image = repository_urls[name].map(|url| format!("{url}:latest"));
        EcsService::with_options(
            stack,
            name,
            EcsServiceArgs {
                prefix: prefix.clone(),
                cluster_arn: cluster.id.clone(),
                cluster_name: cluster.name.clone(),
                vpc_id: net.vpc_id.clone(),
                subnets: net.private_subnet_ids(),
                extra_security_groups: vec![Input::from(ecs_sg.id.as_string())],
                region: region.clone(),
                image: image.into(),
                cpu: spec.cpu,
                memory: spec.memory,
                desired_count: spec.desired_count,
                port: spec.port.unwrap_or_default(),
                health_check_path: spec.health_check_path.clone(),
                route,
                environment: BTreeMap::from([("ENVIRONMENT".to_owned(), env.clone())]),
                secrets: BTreeMap::from([("DATABASE_URL".to_owned(), Input::from(url_secret.arn.clone()))]),
                // The shared group's retention applies.
                log_retention_days: log_days,
                capacity_providers: Vec::new(),
                scaling,
                task_policy: Vec::new(),
            },
            EcsServiceOptions { log_group: Some(logs.id.clone()), without_port: spec.port.is_none() },
        );
    }

    stack.export("vpc_id", net.vpc_id.clone());
    stack.export("alb_dns_name", alb.dns_name.clone());
    stack.export("rds_proxy_endpoint", proxy_endpoint);
    stack.export("aurora_endpoint", db.endpoint.clone());
    if let Some(reader) = &db.reader_endpoint {
        stack.export("aurora_reader_endpoint", reader.clone());
    }
    stack.export::<BTreeMap<String, String>>(
        "ecr_repository_urls",
        Output::from_expr(Expr::Map(repository_urls.iter().map(|(k, v)| (k.clone(), v.expr().clone())).collect())),
    );
    stack.export_secret("database_url", database_url);
    stack.export("ecs_cluster_name", cluster.name.clone());
    stack.export("log_group", logs.id.clone());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::url_encode;

    #[test]
    fn passwords_are_percent_encoded_in_the_url() {
        assert_eq!(url_encode("YourSecurePassword123!"), "YourSecurePassword123%21");
        assert_eq!(url_encode("a:b@c/d e"), "a%3Ab%40c%2Fd%20e");
        assert_eq!(url_encode("Az09-._~"), "Az09-._~");
    }
}
