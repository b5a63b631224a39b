//! `DbProxy`: RDS Proxy in front of an instance or an Aurora cluster, with
//! its default target group (the connection pool and the registered
//! target) managed as part of it.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_rds::types::{
    ConnectionPoolConfiguration, DbProxy as SdkProxy, DbProxyStatus, EngineFamily as SdkEngineFamily, IamAuthMode,
    TargetType, UserAuthConfig,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use super::{check_identifier, has_identity, list_tags, rds_tags, tag_pairs, update_tags};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{
    drop_computed_when_unset, list_expr, map, ordered_like, tags_value, tags_with_identity, unless_known, wait_for, In,
};

pub(crate) const TYPE: &str = "aws:rds:DbProxy";

/// Schema: name, engine family and subnets are fixed (AWS cannot change
/// them); auth, role, TLS, timeouts, security groups, the pool, the target
/// and tags update in place.
pub static SCHEMA: Schema = Schema {
    replace_on: &["name", "engineFamily", "vpcSubnetIds"],
    delete_before_replace: true,
    taggable: true,
    ..Schema::new(TYPE, "aws")
};

/// The wire protocol a proxy speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineFamily {
    /// PostgreSQL and Aurora PostgreSQL.
    Postgresql,
    /// MySQL, MariaDB and Aurora MySQL.
    Mysql,
    /// SQL Server.
    Sqlserver,
}

impl EngineFamily {
    fn as_str(self) -> &'static str {
        match self {
            EngineFamily::Postgresql => "POSTGRESQL",
            EngineFamily::Mysql => "MYSQL",
            EngineFamily::Sqlserver => "SQLSERVER",
        }
    }
}

/// A database user the proxy may connect as: its credentials' secret.
#[derive(Clone, Debug)]
pub struct ProxyAuth {
    /// The Secrets Manager secret with the user name and password (for
    /// example a cluster's `master_user_secret_arn`).
    pub secret_arn: Input<String>,
    /// Require IAM authentication from clients.
    pub iam_auth: bool,
}

/// What the proxy's default target group points at.
#[derive(Clone, Debug)]
pub enum ProxyTarget {
    /// An Aurora cluster (its writer and readers are tracked).
    Cluster(Input<String>),
    /// An RDS instance.
    Instance(Input<String>),
}

/// The default target group's connection pool.
#[derive(Clone, Copy, Debug, PartialEq, bon::Builder)]
pub struct ConnectionPool {
    /// The share of the database's `max_connections` the proxy may use
    /// (1–100).
    #[builder(default = 100)]
    pub max_connections_percent: i32,
    /// The share of idle connections it keeps open (0–max).
    #[builder(default = 50)]
    pub max_idle_connections_percent: i32,
    /// Seconds a client waits for a pooled connection (0–3600).
    #[builder(default = 120)]
    pub connection_borrow_timeout: i32,
}

/// An RDS Proxy.
///
/// ```
/// use iac_aws::rds::{ConnectionPool, DbProxy, EngineFamily, ProxyAuth, ProxyTarget};
/// let proxy = DbProxy::builder()
///     .name("ledger")
///     .engine_family(EngineFamily::Postgresql)
///     .role_arn("arn:aws:iam::123456789012:role/ledger-proxy")
///     .vpc_subnet_ids(vec!["subnet-0a1".into(), "subnet-0b2".into()])
///     .auth(vec![ProxyAuth { secret_arn: "arn:aws:secretsmanager:…:secret:ledger".into(), iam_auth: true }])
///     .require_tls(true)
///     .target(ProxyTarget::Cluster("ledger".into()))
///     .connection_pool(ConnectionPool::builder().max_connections_percent(90).build())
///     .build();
/// # let _ = proxy;
/// ```
#[derive(bon::Builder)]
pub struct DbProxy {
    /// The proxy's name (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// The protocol (replaces).
    pub engine_family: EngineFamily,
    /// The role that lets the proxy read the auth secrets.
    #[builder(into)]
    pub role_arn: Input<String>,
    /// Its subnets (two AZs at least; replaces).
    pub vpc_subnet_ids: Vec<Input<String>>,
    /// Its security groups.
    #[builder(default)]
    pub vpc_security_group_ids: Vec<Input<String>>,
    /// The users it connects as.
    pub auth: Vec<ProxyAuth>,
    /// Require TLS from clients.
    #[builder(default)]
    pub require_tls: bool,
    /// Seconds before an idle client connection is closed (1–28800).
    #[builder(default = 1800)]
    pub idle_client_timeout: i32,
    /// Log SQL statements (for debugging only).
    #[builder(default)]
    pub debug_logging: bool,
    /// The database behind it.
    pub target: Option<ProxyTarget>,
    /// The connection pool (else AWS's defaults).
    pub connection_pool: Option<ConnectionPool>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`DbProxy`].
pub struct DbProxyOutputs {
    /// Its name (the resource's id).
    pub name: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
    /// The endpoint clients connect to.
    pub endpoint: Output<String>,
}

impl Resource for DbProxy {
    type Outputs = DbProxyOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        let auth = Expr::List(
            self.auth
                .iter()
                .map(|a| {
                    props([
                        ("secretArn", a.secret_arn.to_expr()),
                        ("iamAuth", Value::from(if a.iam_auth { "REQUIRED" } else { "DISABLED" }).into()),
                    ])
                })
                .collect(),
        );
        let target = match &self.target {
            None => Expr::Value(Value::Null),
            Some(ProxyTarget::Cluster(c)) => props([("cluster", c.to_expr())]),
            Some(ProxyTarget::Instance(i)) => props([("instance", i.to_expr())]),
        };
        let pool = self.connection_pool.map_or(Value::Null, |p| pool_value(&p));
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("engineFamily", Value::from(self.engine_family.as_str()).into()),
            ("roleArn", self.role_arn.to_expr()),
            ("vpcSubnetIds", list_expr(&self.vpc_subnet_ids)),
            ("vpcSecurityGroupIds", list_expr(&self.vpc_security_group_ids)),
            ("auth", auth),
            ("requireTls", Value::from(self.require_tls).into()),
            ("idleClientTimeout", Value::from(i64::from(self.idle_client_timeout)).into()),
            ("debugLogging", Value::from(self.debug_logging).into()),
            ("target", target),
            ("connectionPool", pool.into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> DbProxyOutputs {
        DbProxyOutputs {
            name: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            endpoint: Output::from_ref(urn, "endpoint"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        check_identifier(c, "name", &self.name);
        c.check(self.vpc_subnet_ids.len() >= 2, "vpcSubnetIds", || {
            format!("{} subnet(s): a proxy needs subnets in at least two Availability Zones", self.vpc_subnet_ids.len())
        });
        c.check(!self.auth.is_empty(), "auth", || "a proxy needs at least one secret to connect with".into());
        c.check((1..=28_800).contains(&self.idle_client_timeout), "idleClientTimeout", || {
            format!("{} s: between 1 and 28800", self.idle_client_timeout)
        });
        if let Some(p) = self.connection_pool {
            c.check((1..=100).contains(&p.max_connections_percent), "connectionPool", || {
                format!("maxConnectionsPercent {}: between 1 and 100", p.max_connections_percent)
            });
            c.check(
                (0..=p.max_connections_percent).contains(&p.max_idle_connections_percent),
                "connectionPool",
                || {
                    format!(
                        "maxIdleConnectionsPercent {}: between 0 and maxConnectionsPercent ({})",
                        p.max_idle_connections_percent, p.max_connections_percent
                    )
                },
            );
            c.check((0..=3600).contains(&p.connection_borrow_timeout), "connectionPool", || {
                format!("connectionBorrowTimeout {} s: between 0 and 3600", p.connection_borrow_timeout)
            });
        }
    }
}

fn pool_value(p: &ConnectionPool) -> Value {
    map([
        ("maxConnectionsPercent", Value::from(i64::from(p.max_connections_percent))),
        ("maxIdleConnectionsPercent", Value::from(i64::from(p.max_idle_connections_percent))),
        ("connectionBorrowTimeout", Value::from(i64::from(p.connection_borrow_timeout))),
    ])
}

async fn describe_proxy(p: &AwsProvider, name: &str) -> Result<Option<SdkProxy>, ProviderError> {
    match p.rds().await.describe_db_proxies().db_proxy_name(name).send().await {
        Ok(o) => Ok(o.db_proxies().first().cloned()),
        Err(e) if is_code(&e, &["DBProxyNotFoundFault"]) => Ok(None),
        Err(e) => Err(aws_err("DescribeDBProxies", e)),
    }
}

async fn describe(p: &AwsProvider, name: &str, recorded: &Value) -> Result<Option<(Value, Value)>, ProviderError> {
    let Some(d) = describe_proxy(p, name).await? else { return Ok(None) };
    if d.status() == Some(&DbProxyStatus::Deleting) {
        return Ok(None);
    }
    let rds = p.rds().await;
    let arn = d.db_proxy_arn().unwrap_or_default();
    let tags = list_tags(p, arn).await?;
    let targets = rds
        .describe_db_proxy_targets()
        .db_proxy_name(name)
        .send()
        .await
        .map_err(|e| aws_err("DescribeDBProxyTargets", e))?;
    let tracked =
        |t: &TargetType| targets.targets().iter().find(|x| x.r#type() == Some(t)).and_then(|x| x.rds_resource_id());
    let target = match (tracked(&TargetType::TrackedCluster), tracked(&TargetType::RdsInstance)) {
        (Some(c), _) => map([("cluster", Value::from(c))]),
        (None, Some(i)) => map([("instance", Value::from(i))]),
        (None, None) => Value::Null,
    };
    let groups = rds
        .describe_db_proxy_target_groups()
        .db_proxy_name(name)
        .target_group_name("default")
        .send()
        .await
        .map_err(|e| aws_err("DescribeDBProxyTargetGroups", e))?;
    let pool = groups.target_groups().first().and_then(|g| g.connection_pool_config()).map_or(Value::Null, |c| {
        pool_value(&ConnectionPool {
            max_connections_percent: c.max_connections_percent().unwrap_or(100),
            max_idle_connections_percent: c.max_idle_connections_percent().unwrap_or(50),
            connection_borrow_timeout: c.connection_borrow_timeout().unwrap_or(120),
        })
    });
    let auth: Vec<Value> = d
        .auth()
        .iter()
        .map(|a| {
            map([
                ("secretArn", Value::from(a.secret_arn())),
                ("iamAuth", Value::from(a.iam_auth().map_or("DISABLED", |m| m.as_str()))),
            ])
        })
        .collect();
    let mut inputs = map([
        ("name", Value::from(d.db_proxy_name())),
        ("engineFamily", Value::from(d.engine_family())),
        ("roleArn", Value::from(d.role_arn())),
        ("vpcSubnetIds", ordered_like(d.vpc_subnet_ids().to_vec(), recorded.get("vpcSubnetIds"))),
        ("vpcSecurityGroupIds", ordered_like(d.vpc_security_group_ids().to_vec(), recorded.get("vpcSecurityGroupIds"))),
        ("auth", Value::List(auth)),
        ("requireTls", Value::from(d.require_tls().unwrap_or(false))),
        ("idleClientTimeout", Value::from(d.idle_client_timeout().map(i64::from))),
        ("debugLogging", Value::from(d.debug_logging().unwrap_or(false))),
        ("target", target),
        ("connectionPool", pool),
        ("tags", tags_value(tag_pairs(&tags))),
    ]);
    drop_computed_when_unset(&mut inputs, recorded, &["vpcSecurityGroupIds", "connectionPool"]);
    let outputs = map([("arn", Value::from(arn)), ("endpoint", Value::from(d.endpoint()))]);
    Ok(Some((inputs, outputs)))
}

fn auth_configs(i: &In<'_>) -> Vec<UserAuthConfig> {
    i.value("auth")
        .as_list()
        .unwrap_or_default()
        .iter()
        .map(|a| {
            let secret = match a.get("secretArn") {
                Value::Secret(s) => s.as_str(),
                v => v.as_str(),
            };
            UserAuthConfig::builder()
                .auth_scheme(aws_sdk_rds::types::AuthScheme::Secrets)
                .set_secret_arn(secret.map(str::to_owned))
                .iam_auth(IamAuthMode::from(a.get("iamAuth").as_str().unwrap_or("DISABLED")))
                .build()
        })
        .collect()
}

async fn set_target(p: &AwsProvider, name: &str, target: &Value, register: bool) -> Result<(), ProviderError> {
    let rds = p.rds().await;
    let cluster = target.get("cluster").as_str().map(|c| vec![c.to_owned()]);
    let instance = target.get("instance").as_str().map(|i| vec![i.to_owned()]);
    if cluster.is_none() && instance.is_none() {
        return Ok(());
    }
    if register {
        match rds
            .register_db_proxy_targets()
            .db_proxy_name(name)
            .target_group_name("default")
            .set_db_cluster_identifiers(cluster)
            .set_db_instance_identifiers(instance)
            .send()
            .await
        {
            Ok(_) => {}
            // Registered already: a repeat of a call whose response was lost.
            Err(e) if is_code(&e, &["DBProxyTargetAlreadyRegisteredFault"]) => {}
            Err(e) => return Err(aws_err("RegisterDBProxyTargets", e)),
        }
    } else {
        match rds
            .deregister_db_proxy_targets()
            .db_proxy_name(name)
            .target_group_name("default")
            .set_db_cluster_identifiers(cluster)
            .set_db_instance_identifiers(instance)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if is_code(&e, &["DBProxyTargetNotFoundFault"]) => {}
            Err(e) => return Err(aws_err("DeregisterDBProxyTargets", e)),
        }
    }
    Ok(())
}

async fn set_pool(p: &AwsProvider, name: &str, pool: &Value) -> Result<(), ProviderError> {
    let int = |k: &str| pool.get(k).as_i64().map(|n| n as i32);
    let Some(max) = int("maxConnectionsPercent") else { return Ok(()) };
    p.rds()
        .await
        .modify_db_proxy_target_group()
        .db_proxy_name(name)
        .target_group_name("default")
        .connection_pool_config(
            ConnectionPoolConfiguration::builder()
                .max_connections_percent(max)
                .set_max_idle_connections_percent(int("maxIdleConnectionsPercent"))
                .set_connection_borrow_timeout(int("connectionBorrowTimeout"))
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws_err("ModifyDBProxyTargetGroup", e))?;
    Ok(())
}

async fn wait_available(p: &AwsProvider, name: &str, timeout: Option<Duration>) -> Result<(), ProviderError> {
    wait_for(&format!("DB proxy {name} available"), timeout, Duration::from_secs(30 * 60), || async {
        Ok(describe_proxy(p, name).await?.filter(|d| d.status() == Some(&DbProxyStatus::Available)).map(|_| ()))
    })
    .await
}

pub(crate) struct ProxyHandler;

#[async_trait]
impl Handler for ProxyHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateDBProxy");
        let name = i.str("name")?.to_owned();
        p.rds()
            .await
            .create_db_proxy()
            .db_proxy_name(&name)
            .engine_family(SdkEngineFamily::from(i.str("engineFamily")?))
            .role_arn(i.str("roleArn")?)
            .set_vpc_subnet_ids(Some(i.strs("vpcSubnetIds")))
            .set_vpc_security_group_ids(Some(i.strs("vpcSecurityGroupIds")).filter(|v| !v.is_empty()))
            .set_auth(Some(auth_configs(&i)))
            .require_tls(i.bool("requireTls"))
            .set_idle_client_timeout(i.opt_i32("idleClientTimeout"))
            .debug_logging(i.bool("debugLogging"))
            .set_tags(Some(rds_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateDBProxy", e))?;
        wait_available(p, &name, req.timeout).await?;
        set_pool(p, &name, i.value("connectionPool")).await?;
        set_target(p, &name, i.value("target"), true).await?;
        let (_, outputs) = describe(p, &name, &req.inputs)
            .await?
            .ok_or_else(|| ProviderError::retriable("DescribeDBProxies", format!("{name} not visible yet")))?;
        Ok(CreateResult { id: name, outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id, &req.inputs).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, "ModifyDBProxy"), In::new(&req.inputs, "ModifyDBProxy"));
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        let proxy_fields =
            ["roleArn", "vpcSecurityGroupIds", "auth", "requireTls", "idleClientTimeout", "debugLogging"];
        if proxy_fields.iter().any(|f| changed(f)) {
            p.rds()
                .await
                .modify_db_proxy()
                .db_proxy_name(&req.id)
                .role_arn(new.str("roleArn")?)
                .set_security_groups(Some(new.strs("vpcSecurityGroupIds")).filter(|v| !v.is_empty()))
                .set_auth(Some(auth_configs(&new)))
                .require_tls(new.bool("requireTls"))
                .set_idle_client_timeout(new.opt_i32("idleClientTimeout"))
                .debug_logging(new.bool("debugLogging"))
                .send()
                .await
                .map_err(|e| aws_err("ModifyDBProxy", e))?;
            wait_available(p, &req.id, req.timeout).await?;
        }
        if changed("connectionPool") {
            // Unset means AWS's defaults again.
            let defaults = pool_value(&ConnectionPool::builder().build());
            let pool = new.value("connectionPool");
            set_pool(p, &req.id, if pool.is_empty_like() { &defaults } else { pool }).await?;
        }
        if changed("target") {
            set_target(p, &req.id, old.value("target"), false).await?;
            set_target(p, &req.id, new.value("target"), true).await?;
        }
        if changed("tags") {
            let arn = In::new(&req.old_outputs, "AddTagsToResource").str("arn")?;
            update_tags(p.rds().await, arn, &old.tags(), &new.tags()).await?;
        }
        let (_, outputs) = describe(p, &req.id, &req.inputs)
            .await?
            .ok_or_else(|| ProviderError::fatal("ModifyDBProxy", format!("{} is gone", req.id)))?;
        Ok(UpdateResult { outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        if describe_proxy(p, &req.id).await?.is_none() {
            return Ok(());
        }
        match p.rds().await.delete_db_proxy().db_proxy_name(&req.id).send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, &["DBProxyNotFoundFault"]) => return Ok(()),
            Err(e) => return Err(aws_err("DeleteDBProxy", e)),
        }
        wait_for(&format!("DB proxy {} deleted", req.id), req.timeout, Duration::from_secs(30 * 60), || async {
            Ok(describe_proxy(p, &req.id).await?.is_none().then_some(()))
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let Some((inputs, outputs)) = describe(p, name, &req.inputs).await? else { return Ok(None) };
        let arn = outputs.get("arn").as_str().unwrap_or_default();
        if !has_identity(&list_tags(p, arn).await?, &req.stack, req.urn.as_str()) {
            return Ok(None);
        }
        Ok(unless_known(&req, Some(ReadResult { id: name.to_owned(), inputs, outputs })))
    }
}
