//! `PostgresDatabase`: PostgreSQL on Aurora (a cluster and its instances)
//! or on RDS (an instance, optionally Multi-AZ, with a read replica), with
//! its subnet group, security group, encryption key, parameter group, the
//! master password kept in Secrets Manager, and an optional RDS Proxy.

use iac_aws::ec2::{Direction, SecurityGroup, SecurityGroupId, SecurityGroupRule, VpcId};
use iac_aws::kms::Key;
use iac_aws::policy::Statement;
use iac_aws::rds::{
    DbCluster, DbClusterInstance, DbClusterParameterGroup, DbInstance, DbParameterGroup, DbProxy, DbSubnetGroup,
    EngineFamily, MasterPassword, Parameter, ProxyAuth, ProxyTarget,
};
use iac_core::{Input, Output, Stack};

use super::iam::service_role;

/// Where PostgreSQL runs.
#[derive(Clone, Debug)]
pub enum PostgresKind {
    /// An Aurora PostgreSQL cluster with `instances` instances (the first
    /// writes, the others read and take over).
    Aurora {
        /// Instances, the writer included.
        instances: u32,
        /// Their class (`db.r6g.large`).
        instance_class: String,
    },
    /// An RDS for PostgreSQL instance.
    Instance {
        /// Its class.
        instance_class: String,
        /// Storage in GiB.
        allocated_storage: i32,
        /// Storage autoscaling's ceiling.
        max_allocated_storage: Option<i32>,
        /// A standby in a second zone.
        multi_az: bool,
        /// A read replica of it.
        read_replica: bool,
    },
}

/// What the database looks like.
#[derive(Clone)]
pub struct PostgresArgs {
    /// The identifier (cluster or instance; instances get `-1`, `-2`, …).
    pub identifier: String,
    /// Aurora or RDS, and the sizes.
    pub kind: PostgresKind,
    /// The engine version (`15.4`).
    pub engine_version: String,
    /// The database created at launch.
    pub database_name: String,
    /// The master user's name.
    pub username: String,
    /// The master password: `None` lets RDS generate it and keep it in
    /// Secrets Manager; `Some` is a secret config value.
    pub password: Option<Output<String>>,
    /// The VPC.
    pub vpc_id: Output<VpcId>,
    /// The subnets (database tier).
    pub subnet_ids: Vec<Input<String>>,
    /// Security groups allowed in on 5432.
    pub allowed_security_groups: Vec<Output<SecurityGroupId>>,
    /// Days of automated backups.
    pub backup_retention_days: i32,
    /// Refuse deletion (production).
    pub deletion_protection: bool,
    /// Performance Insights.
    pub performance_insights: bool,
    /// An RDS Proxy in front (connection pooling), authenticating with the
    /// managed master secret or the one in [`PostgresOptions`].
    pub proxy: bool,
    /// Parameters of the database's own parameter group.
    pub parameters: Vec<(String, String)>,
}

/// Settings most databases leave at their defaults, kept apart from
/// [`PostgresArgs`] so that callers' struct literals stay valid when one is
/// added. `Default` is what [`PostgresDatabase::new`] uses.
#[derive(Clone, Default)]
pub struct PostgresOptions {
    /// The Secrets Manager secret (its ARN) the proxy authenticates with:
    /// a JSON `{"username", "password"}` the caller keeps. Needed for a
    /// proxy when the password is given (no managed secret exists then);
    /// unset, the proxy uses the managed master secret.
    pub proxy_secret_arn: Option<Output<String>>,
    /// Enhanced Monitoring: seconds between OS metric samples (1, 5, 10,
    /// 15, 30 or 60; 0, the default, leaves it off). When on, a role RDS's
    /// monitoring service assumes (`<identifier>-rds-monitoring`, with
    /// `AmazonRDSEnhancedMonitoringRole`) is made, and every instance (the
    /// read replica and Aurora's readers too) is monitored.
    pub monitoring_interval_seconds: i32,
}

/// The database's handles.
pub struct PostgresDatabase {
    /// The writer endpoint.
    pub endpoint: Output<String>,
    /// The reader endpoint (Aurora) or the replica's (RDS), if any.
    pub reader_endpoint: Option<Output<String>>,
    /// The proxy's endpoint, if any.
    pub proxy_endpoint: Option<Output<String>>,
    /// The Secrets Manager secret holding the master password, when RDS
    /// manages it.
    pub master_secret_arn: Option<Output<String>>,
    /// The database's security group.
    pub security_group_id: Output<SecurityGroupId>,
    /// The encryption key's ARN.
    pub kms_key_arn: Output<String>,
}

const PORT: i32 = 5432;

impl PostgresDatabase {
    /// Declares the database as component `name` of `stack`.
    pub fn new(stack: &Stack, name: &str, args: &PostgresArgs) -> PostgresDatabase {
        PostgresDatabase::with_options(stack, name, args, &PostgresOptions::default())
    }

    /// Declares the database as component `name` of `stack`, with
    /// `options` beyond the usual.
    pub fn with_options(stack: &Stack, name: &str, args: &PostgresArgs, options: &PostgresOptions) -> PostgresDatabase {
        let c = stack.component("stacks:PostgresDatabase", name);
        let id = &args.identifier;
        let major = args.engine_version.split('.').next().unwrap_or("15").to_owned();
        // Enhanced Monitoring publishes through a role of its own.
        let interval = options.monitoring_interval_seconds;
        let monitoring_role: Option<Output<String>> = (interval > 0).then(|| {
            service_role(
                &c,
                "monitoring-role",
                &format!("{id}-rds-monitoring"),
                "monitoring.rds.amazonaws.com",
                &["service-role/AmazonRDSEnhancedMonitoringRole"],
                vec![],
            )
            .arn
            .clone()
        });
        let key = c.add(
            "key",
            Key::builder()
                .description(format!("{id} storage"))
                .enable_key_rotation(true)
                .deletion_window_in_days(7)
                .build(),
        );
        let subnets = c.add(
            "subnets",
            DbSubnetGroup::builder()
                .name(id.clone())
                .description(format!("{id} subnets"))
                .subnet_ids(args.subnet_ids.clone())
                .build(),
        );
        let sg = c.add(
            "sg",
            SecurityGroup::builder()
                .name(format!("{id}-db"))
                .description(format!("{id} PostgreSQL"))
                .vpc_id(args.vpc_id.clone())
                .build(),
        );
        for (i, from) in args.allowed_security_groups.iter().enumerate() {
            c.add(
                &format!("ingress-{i}"),
                SecurityGroupRule::builder()
                    .security_group_id(sg.id.clone())
                    .direction(Direction::Ingress)
                    .protocol("tcp")
                    .from_port(PORT)
                    .to_port(PORT)
                    .source_security_group_id(from.clone())
                    .description("PostgreSQL from an application")
                    .build(),
            );
        }
        let password = || match &args.password {
            Some(p) => MasterPassword::Given(p.clone().into()),
            None => MasterPassword::Managed { kms_key_id: None },
        };
        let parameters: Vec<Parameter> =
            args.parameters.iter().map(|(k, v)| Parameter::immediate(k.clone(), v.clone())).collect();
        let sgs = vec![Input::from(sg.id.as_string())];
        let (endpoint, reader_endpoint, master_secret_arn, proxy_target) = match &args.kind {
            PostgresKind::Aurora { instances, instance_class } => {
                let params = c.add(
                    "params",
                    DbClusterParameterGroup::builder()
                        .name(format!("{id}-aurora-pg{major}"))
                        .family(format!("aurora-postgresql{major}"))
                        .description(format!("{id} cluster parameters"))
                        .parameters(parameters)
                        .build(),
                );
                let cluster = c.add(
                    "cluster",
                    DbCluster::builder()
                        .identifier(id.clone())
                        .engine("aurora-postgresql")
                        .engine_version(args.engine_version.clone())
                        .database_name(args.database_name.clone())
                        .username(args.username.clone())
                        .master_password(password())
                        .subnet_group_name(subnets.name.clone())
                        .vpc_security_group_ids(sgs.clone())
                        .cluster_parameter_group_name(params.name.clone())
                        .storage_encrypted(true)
                        .kms_key_id(key.arn.clone())
                        .backup_retention_period(args.backup_retention_days)
                        .deletion_protection(args.deletion_protection)
                        .cloudwatch_logs_exports(vec!["postgresql".into()])
                        .copy_tags_to_snapshot(true)
                        .build(),
                );
                for n in 1..=*instances {
                    c.add(
                        &format!("instance-{n}"),
                        DbClusterInstance::builder()
                            .identifier(format!("{id}-{n}"))
                            .cluster_identifier(cluster.id.clone())
                            .engine("aurora-postgresql")
                            .instance_class(instance_class.clone())
                            .promotion_tier(n as i32 - 1)
                            .performance_insights(args.performance_insights)
                            .monitoring_interval(interval)
                            .maybe_monitoring_role_arn(monitoring_role.clone().map(Input::from))
                            .build(),
                    );
                }
                let secret = args.password.is_none().then(|| cluster.master_user_secret_arn.clone());
                (
                    cluster.endpoint.clone(),
                    Some(cluster.reader_endpoint.clone()),
                    secret,
                    ProxyTarget::Cluster(cluster.id.clone().into()),
                )
            }
            PostgresKind::Instance {
                instance_class,
                allocated_storage,
                max_allocated_storage,
                multi_az,
                read_replica,
            } => {
                let params = c.add(
                    "params",
                    DbParameterGroup::builder()
                        .name(format!("{id}-pg{major}"))
                        .family(format!("postgres{major}"))
                        .description(format!("{id} parameters"))
                        .parameters(parameters)
                        .build(),
                );
                let primary = c.add(
                    "primary",
                    DbInstance::builder()
                        .identifier(id.clone())
                        .engine("postgres")
                        .engine_version(args.engine_version.clone())
                        .instance_class(instance_class.clone())
                        .allocated_storage(*allocated_storage)
                        .maybe_max_allocated_storage(*max_allocated_storage)
                        .storage_type("gp3")
                        .db_name(args.database_name.clone())
                        .username(args.username.clone())
                        .master_password(password())
                        .subnet_group_name(subnets.name.clone())
                        .vpc_security_group_ids(sgs.clone())
                        .parameter_group_name(params.name.clone())
                        .multi_az(*multi_az)
                        .storage_encrypted(true)
                        .kms_key_id(key.arn.clone())
                        .backup_retention_period(args.backup_retention_days)
                        .deletion_protection(args.deletion_protection)
                        .performance_insights(args.performance_insights)
                        .monitoring_interval(interval)
                        .maybe_monitoring_role_arn(monitoring_role.clone().map(Input::from))
                        .cloudwatch_logs_exports(vec!["postgresql".into()])
                        .copy_tags_to_snapshot(true)
                        .build(),
                );
                let replica = read_replica.then(|| {
                    c.add(
                        "replica",
                        DbInstance::builder()
                            .identifier(format!("{id}-replica"))
                            .engine("postgres")
                            .instance_class(instance_class.clone())
                            .replicate_source_db(primary.arn.clone())
                            .vpc_security_group_ids(sgs.clone())
                            .parameter_group_name(params.name.clone())
                            .storage_encrypted(true)
                            .kms_key_id(key.arn.clone())
                            .performance_insights(args.performance_insights)
                            .monitoring_interval(interval)
                            .maybe_monitoring_role_arn(monitoring_role.clone().map(Input::from))
                            // Its own slow queries (reports, analytics)
                            // are logged as the primary's are.
                            .cloudwatch_logs_exports(vec!["postgresql".into()])
                            .build(),
                    )
                    .address
                    .clone()
                });
                let secret = args.password.is_none().then(|| primary.master_user_secret_arn.clone());
                (primary.address.clone(), replica, secret, ProxyTarget::Instance(primary.id.clone().into()))
            }
        };
        let proxy_endpoint = args.proxy.then(|| {
            let secret = options.proxy_secret_arn.clone().or_else(|| master_secret_arn.clone()).unwrap_or_else(|| {
                stack.report(
                    sg.urn(),
                    "proxy",
                    "an RDS Proxy authenticates with a secret: leave the password unset (the managed master \
                     secret) or give the proxy's secret (`PostgresOptions::proxy_secret_arn`)",
                );
                Output::known(String::new())
            });
            // The proxy shares the database's group; a group does not let
            // its own members in unless a rule says so.
            c.add(
                "ingress-proxy",
                SecurityGroupRule::builder()
                    .security_group_id(sg.id.clone())
                    .direction(Direction::Ingress)
                    .protocol("tcp")
                    .from_port(PORT)
                    .to_port(PORT)
                    .source_security_group_id(sg.id.clone())
                    .description("PostgreSQL from the proxy")
                    .build(),
            );
            let role = service_role(
                &c,
                "proxy-role",
                &format!("{id}-proxy"),
                "rds.amazonaws.com",
                &[],
                vec![Statement::builder()
                    .actions(["secretsmanager:GetSecretValue"])
                    .resources(vec![secret.clone().into()])
                    .build()],
            );
            c.add(
                "proxy",
                DbProxy::builder()
                    .name(format!("{id}-proxy"))
                    .engine_family(EngineFamily::Postgresql)
                    .role_arn(role.arn.clone())
                    .vpc_subnet_ids(args.subnet_ids.clone())
                    .vpc_security_group_ids(sgs.clone())
                    .auth(vec![ProxyAuth { secret_arn: secret.into(), iam_auth: false }])
                    .require_tls(true)
                    .target(proxy_target)
                    .build(),
            )
            .endpoint
            .clone()
        });
        PostgresDatabase {
            endpoint,
            reader_endpoint,
            proxy_endpoint,
            master_secret_arn,
            security_group_id: sg.id.clone(),
            kms_key_arn: key.arn.clone(),
        }
    }
}
