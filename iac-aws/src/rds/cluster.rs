//! `DbCluster`: an Aurora cluster (PostgreSQL or MySQL), provisioned or
//! Serverless v2. Its compute is the `DbClusterInstance`s in it.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_rds::types::{
    CloudwatchLogsExportConfiguration, DbCluster as SdkCluster, ServerlessV2ScalingConfiguration,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use super::{
    check_db_name, check_identifier, check_retention, check_username, has_identity, rds_tags, tag_pairs, update_tags,
    version_like, MasterPassword, AURORA_ENGINES,
};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{
    drop_computed_when_unset, keep_write_only, list_expr, map, opt_expr, ordered_like, tags_value, tags_with_identity,
    unless_known, wait_for, In,
};

pub(crate) const TYPE: &str = "aws:rds:DbCluster";

/// Schema: identity, engine, database and user names, encryption and
/// subnet group are fixed; version, scaling, backups, security groups,
/// parameter group, password and tags update in place.
pub static SCHEMA: Schema = Schema {
    replace_on: &[
        "identifier",
        "engine",
        "databaseName",
        "username",
        "storageEncrypted",
        "kmsKeyId",
        "subnetGroupName",
    ],
    delete_before_replace: true,
    taggable: true,
    computed_on_update: &["masterUserSecretArn"],
    graph_check: Some(super::check_graph),
    ..Schema::new(TYPE, "aws")
};

/// Aurora Serverless v2 capacity range, in Aurora capacity units (ACUs,
/// steps of 0.5). A cluster with it runs `db.serverless` instances.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ServerlessV2Scaling {
    /// The floor (0–256; 0 lets the cluster pause where the engine allows).
    pub min_capacity: f64,
    /// The ceiling (1–256).
    pub max_capacity: f64,
}

/// An Aurora DB cluster.
///
/// ```
/// use iac_aws::rds::{DbCluster, ServerlessV2Scaling};
/// let ledger = DbCluster::builder()
///     .identifier("ledger")
///     .engine("aurora-postgresql")
///     .engine_version("16.4")
///     .database_name("ledger")
///     .username("ledger_admin")
///     .subnet_group_name("ledger-db")
///     .serverless_v2_scaling(ServerlessV2Scaling { min_capacity: 0.5, max_capacity: 16.0 })
///     .backup_retention_period(14)
///     .deletion_protection(true)
///     .build();
/// # let _ = ledger;
/// ```
#[derive(bon::Builder)]
pub struct DbCluster {
    /// The cluster identifier (replaces when changed).
    #[builder(into)]
    pub identifier: String,
    /// `aurora-postgresql` or `aurora-mysql` (replaces).
    #[builder(into)]
    pub engine: String,
    /// The engine version; raising it upgrades in place.
    #[builder(into)]
    pub engine_version: Option<String>,
    /// The database created with it (replaces).
    #[builder(into)]
    pub database_name: Option<String>,
    /// The master user name (replaces).
    #[builder(into)]
    pub username: String,
    /// The master password: RDS-managed by default.
    #[builder(default)]
    pub master_password: MasterPassword,
    /// The DB subnet group (replaces).
    #[builder(into)]
    pub subnet_group_name: Option<Input<String>>,
    /// VPC security groups.
    #[builder(default)]
    pub vpc_security_group_ids: Vec<Input<String>>,
    /// A DB cluster parameter group.
    #[builder(into)]
    pub cluster_parameter_group_name: Option<Input<String>>,
    /// The port (else the engine's).
    pub port: Option<i32>,
    /// Encryption at rest (on by default; replaces).
    #[builder(default = true)]
    pub storage_encrypted: bool,
    /// The KMS key for storage (else `aws/rds`; replaces).
    #[builder(into)]
    pub kms_key_id: Option<Input<String>>,
    /// Days automated backups are kept (1–35).
    pub backup_retention_period: Option<i32>,
    /// The daily backup window (`03:00-04:00`, UTC).
    #[builder(into)]
    pub backup_window: Option<String>,
    /// The weekly maintenance window (`sun:05:00-sun:06:00`, UTC).
    #[builder(into)]
    pub maintenance_window: Option<String>,
    /// Refuse deletion while on.
    #[builder(default)]
    pub deletion_protection: bool,
    /// Serverless v2 capacity (for `db.serverless` instances).
    pub serverless_v2_scaling: Option<ServerlessV2Scaling>,
    /// Logs exported to CloudWatch (`postgresql`; `audit`, `error`, …).
    #[builder(default)]
    pub cloudwatch_logs_exports: Vec<String>,
    /// IAM database authentication.
    #[builder(default)]
    pub iam_database_authentication: bool,
    /// Copy tags to snapshots.
    #[builder(default = true)]
    pub copy_tags_to_snapshot: bool,
    /// A snapshot taken on `destroy` under this name; none skips it.
    #[builder(into)]
    pub final_snapshot_identifier: Option<String>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
    /// Accepts an engine version the AWS catalog does not hold, saying why
    /// (the catalog is older than what Aurora offers now); see
    /// [`crate::catalog`]. Not sent to AWS.
    #[builder(into)]
    pub catalog_override: Option<crate::catalog::CatalogOverride>,
}

/// Outputs of a [`DbCluster`].
pub struct DbClusterOutputs {
    /// Its identifier (the resource's id), for its instances.
    pub id: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
    /// The writer endpoint.
    pub endpoint: Output<String>,
    /// The load-balanced reader endpoint.
    pub reader_endpoint: Output<String>,
    /// The port.
    pub port: Output<i64>,
    /// The RDS-managed master secret's ARN (when RDS manages the password).
    pub master_user_secret_arn: Output<String>,
    /// The cluster's resource id (`cluster-…`).
    pub resource_id: Output<String>,
    /// Its engine, for its instances.
    pub engine: Output<String>,
}

impl Resource for DbCluster {
    type Outputs = DbClusterOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        let [manage, secret_key, password] = self.master_password.exprs();
        let int = |v: Option<i32>| Expr::from(Value::from(v.map(i64::from)));
        let scaling = self.serverless_v2_scaling.map_or(Value::Null, |s| {
            map([("minCapacity", Value::Float(s.min_capacity)), ("maxCapacity", Value::Float(s.max_capacity))])
        });
        props([
            ("identifier", Value::from(self.identifier.as_str()).into()),
            ("engine", Value::from(self.engine.as_str()).into()),
            ("engineVersion", Value::from(self.engine_version.clone()).into()),
            ("databaseName", Value::from(self.database_name.clone()).into()),
            ("username", Value::from(self.username.as_str()).into()),
            manage,
            secret_key,
            password,
            ("subnetGroupName", opt_expr(self.subnet_group_name.as_ref())),
            ("vpcSecurityGroupIds", list_expr(&self.vpc_security_group_ids)),
            ("clusterParameterGroupName", opt_expr(self.cluster_parameter_group_name.as_ref())),
            ("port", int(self.port)),
            ("storageEncrypted", Value::from(self.storage_encrypted).into()),
            ("kmsKeyId", opt_expr(self.kms_key_id.as_ref())),
            ("backupRetentionPeriod", int(self.backup_retention_period)),
            ("backupWindow", Value::from(self.backup_window.clone()).into()),
            ("maintenanceWindow", Value::from(self.maintenance_window.clone()).into()),
            ("deletionProtection", Value::from(self.deletion_protection).into()),
            ("serverlessV2Scaling", scaling.into()),
            ("cloudwatchLogsExports", Value::from(self.cloudwatch_logs_exports.clone()).into()),
            ("iamDatabaseAuthentication", Value::from(self.iam_database_authentication).into()),
            ("copyTagsToSnapshot", Value::from(self.copy_tags_to_snapshot).into()),
            ("finalSnapshotIdentifier", Value::from(self.final_snapshot_identifier.clone()).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> DbClusterOutputs {
        DbClusterOutputs {
            id: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            endpoint: Output::from_ref(urn, "endpoint"),
            reader_endpoint: Output::from_ref(urn, "readerEndpoint"),
            port: Output::from_ref(urn, "port"),
            master_user_secret_arn: Output::from_ref(urn, "masterUserSecretArn"),
            resource_id: Output::from_ref(urn, "resourceId"),
            engine: Output::from_ref(urn, "engine"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        check_identifier(c, "identifier", &self.identifier);
        c.check(AURORA_ENGINES.contains(&self.engine.as_str()), "engine", || {
            format!("`{}` is not an Aurora engine; one of {}", self.engine, AURORA_ENGINES.join(", "))
        });
        check_username(c, "username", &self.engine, &self.username);
        if let Some(n) = &self.database_name {
            check_db_name(c, "databaseName", n);
        }
        c.check(self.kms_key_id.is_none() || self.storage_encrypted, "kmsKeyId", || {
            "a storage KMS key needs storageEncrypted".into()
        });
        check_retention(c, self.backup_retention_period, 1);
        if let Some(s) = self.serverless_v2_scaling {
            let half = |x: f64| (x * 2.0).fract() == 0.0;
            c.check((0.0..=256.0).contains(&s.min_capacity) && half(s.min_capacity), "serverlessV2Scaling", || {
                format!("minCapacity {}: 0–256 ACUs in steps of 0.5", s.min_capacity)
            });
            c.check((1.0..=256.0).contains(&s.max_capacity) && half(s.max_capacity), "serverlessV2Scaling", || {
                format!("maxCapacity {}: 1–256 ACUs in steps of 0.5", s.max_capacity)
            });
            c.check(s.min_capacity <= s.max_capacity, "serverlessV2Scaling", || {
                format!("minCapacity {} is above maxCapacity {}", s.min_capacity, s.max_capacity)
            });
        }
        if let Some(p) = self.port {
            c.check((1150..=65_535).contains(&p), "port", || format!("{p}: between 1150 and 65535"));
        }
        if let Some(s) = &self.final_snapshot_identifier {
            check_identifier(c, "finalSnapshotIdentifier", s);
        }
        super::check_master_password(c, &self.engine, &self.master_password);
        let mut cat = crate::catalog::Scope::new(self.catalog_override.as_ref());
        if let Some(v) = &self.engine_version {
            cat.report(c, "engineVersion", crate::catalog::engine_versions::check(&self.engine, v));
        }
        cat.finish(c);
    }
}

/// Keys RDS picks itself when they are left unset.
const COMPUTED: &[&str] = &[
    "engineVersion",
    "databaseName",
    "masterUserSecretKmsKeyId",
    "subnetGroupName",
    "vpcSecurityGroupIds",
    "clusterParameterGroupName",
    "port",
    "kmsKeyId",
    "backupRetentionPeriod",
    "backupWindow",
    "maintenanceWindow",
];

/// Inputs AWS never returns.
const WRITE_ONLY: &[&str] = &["masterPassword", "finalSnapshotIdentifier"];

fn values(d: &SdkCluster, recorded: &Value) -> (Value, Value) {
    let int = |v: Option<i32>| Value::from(v.map(i64::from));
    let groups: Vec<String> =
        d.vpc_security_groups().iter().filter_map(|g| g.vpc_security_group_id().map(str::to_owned)).collect();
    let secret = d.master_user_secret();
    let scaling = d.serverless_v2_scaling_configuration().map_or(Value::Null, |s| {
        map([
            ("minCapacity", Value::Float(s.min_capacity().unwrap_or(0.0))),
            ("maxCapacity", Value::Float(s.max_capacity().unwrap_or(0.0))),
        ])
    });
    let mut inputs = map([
        ("identifier", Value::from(d.db_cluster_identifier())),
        ("engine", Value::from(d.engine())),
        ("engineVersion", version_like(d.engine_version(), recorded.get("engineVersion"))),
        ("databaseName", Value::from(d.database_name())),
        ("username", Value::from(d.master_username())),
        ("manageMasterUserPassword", Value::from(secret.is_some())),
        ("masterUserSecretKmsKeyId", Value::from(secret.and_then(|s| s.kms_key_id()))),
        ("subnetGroupName", Value::from(d.db_subnet_group())),
        ("vpcSecurityGroupIds", ordered_like(groups, recorded.get("vpcSecurityGroupIds"))),
        ("clusterParameterGroupName", Value::from(d.db_cluster_parameter_group())),
        ("port", int(d.port())),
        ("storageEncrypted", Value::from(d.storage_encrypted().unwrap_or(false))),
        ("kmsKeyId", Value::from(d.kms_key_id())),
        ("backupRetentionPeriod", int(d.backup_retention_period())),
        ("backupWindow", Value::from(d.preferred_backup_window())),
        ("maintenanceWindow", Value::from(d.preferred_maintenance_window())),
        ("deletionProtection", Value::from(d.deletion_protection().unwrap_or(false))),
        ("serverlessV2Scaling", scaling),
        ("cloudwatchLogsExports", Value::from(d.enabled_cloudwatch_logs_exports().to_vec())),
        ("iamDatabaseAuthentication", Value::from(d.iam_database_authentication_enabled().unwrap_or(false))),
        ("copyTagsToSnapshot", Value::from(d.copy_tags_to_snapshot().unwrap_or(false))),
        ("tags", tags_value(tag_pairs(d.tag_list()))),
    ]);
    drop_computed_when_unset(&mut inputs, recorded, COMPUTED);
    keep_write_only(&mut inputs, recorded, WRITE_ONLY);
    let outputs = map([
        ("arn", Value::from(d.db_cluster_arn())),
        ("endpoint", Value::from(d.endpoint())),
        ("readerEndpoint", Value::from(d.reader_endpoint())),
        ("port", int(d.port())),
        ("masterUserSecretArn", Value::from(secret.and_then(|s| s.secret_arn()))),
        ("resourceId", Value::from(d.db_cluster_resource_id())),
        ("engine", Value::from(d.engine())),
    ]);
    (inputs, outputs)
}

async fn describe(p: &AwsProvider, id: &str) -> Result<Option<SdkCluster>, ProviderError> {
    match p.rds().await.describe_db_clusters().db_cluster_identifier(id).send().await {
        Ok(o) => Ok(o.db_clusters().first().cloned()),
        Err(e) if is_code(&e, &["DBClusterNotFoundFault"]) => Ok(None),
        Err(e) => Err(aws_err("DescribeDBClusters", e)),
    }
}

async fn wait_available(p: &AwsProvider, id: &str, timeout: Option<Duration>) -> Result<SdkCluster, ProviderError> {
    wait_for(&format!("DB cluster {id} available"), timeout, Duration::from_secs(60 * 60), || async {
        Ok(describe(p, id).await?.filter(|d| d.status() == Some("available")))
    })
    .await
}

fn scaling(i: &In<'_>) -> Option<ServerlessV2ScalingConfiguration> {
    let s = i.value("serverlessV2Scaling");
    let num = |k: &str| match s.get(k) {
        Value::Float(f) => Some(*f),
        Value::Int(n) => Some(*n as f64),
        _ => None,
    };
    num("maxCapacity").map(|max| {
        ServerlessV2ScalingConfiguration::builder().set_min_capacity(num("minCapacity")).max_capacity(max).build()
    })
}

pub(crate) struct ClusterHandler;

#[async_trait]
impl Handler for ClusterHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateDBCluster");
        let id = i.str("identifier")?.to_owned();
        let managed = i.opt_bool("manageMasterUserPassword").unwrap_or(true);
        p.rds()
            .await
            .create_db_cluster()
            .db_cluster_identifier(&id)
            .engine(i.str("engine")?)
            .set_engine_version(i.opt_str("engineVersion").map(str::to_owned))
            .set_database_name(i.opt_str("databaseName").map(str::to_owned))
            .master_username(i.str("username")?)
            .manage_master_user_password(managed)
            .set_master_user_secret_kms_key_id(
                i.opt_str("masterUserSecretKmsKeyId").filter(|_| managed).map(str::to_owned),
            )
            .set_master_user_password(i.opt_str("masterPassword").filter(|_| !managed).map(str::to_owned))
            .set_db_subnet_group_name(i.opt_str("subnetGroupName").map(str::to_owned))
            .set_vpc_security_group_ids(Some(i.strs("vpcSecurityGroupIds")).filter(|v| !v.is_empty()))
            .set_db_cluster_parameter_group_name(i.opt_str("clusterParameterGroupName").map(str::to_owned))
            .set_port(i.opt_i32("port"))
            .storage_encrypted(i.bool("storageEncrypted"))
            .set_kms_key_id(i.opt_str("kmsKeyId").map(str::to_owned))
            .set_backup_retention_period(i.opt_i32("backupRetentionPeriod"))
            .set_preferred_backup_window(i.opt_str("backupWindow").map(str::to_owned))
            .set_preferred_maintenance_window(i.opt_str("maintenanceWindow").map(str::to_owned))
            .deletion_protection(i.bool("deletionProtection"))
            .set_serverless_v2_scaling_configuration(scaling(&i))
            .set_enable_cloudwatch_logs_exports(Some(i.strs("cloudwatchLogsExports")))
            .enable_iam_database_authentication(i.bool("iamDatabaseAuthentication"))
            .copy_tags_to_snapshot(i.bool("copyTagsToSnapshot"))
            .set_tags(Some(rds_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateDBCluster", e))?;
        let d = wait_available(p, &id, req.timeout).await?;
        Ok(CreateResult { id, outputs: values(&d, &req.inputs).1 })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id).await?.map(|d| {
            let (inputs, outputs) = values(&d, &req.inputs);
            ReadResult { id: req.id, inputs, outputs }
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, "ModifyDBCluster"), In::new(&req.inputs, "ModifyDBCluster"));
        let rds = p.rds().await;
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        let mut call = rds.modify_db_cluster().db_cluster_identifier(&req.id).apply_immediately(true);
        let mut any = false;
        macro_rules! set {
            ($key:literal, $setter:ident, $value:expr) => {
                if changed($key) {
                    call = call.$setter($value);
                    any = true;
                }
            };
        }
        if changed("engineVersion") {
            let major = |v: Option<&str>| v.and_then(|v| v.split('.').next()).map(str::to_owned);
            let upgrade = major(old.opt_str("engineVersion")) != major(new.opt_str("engineVersion"));
            call = call
                .set_engine_version(new.opt_str("engineVersion").map(str::to_owned))
                .allow_major_version_upgrade(upgrade);
            any = true;
        }
        if changed("manageMasterUserPassword") || changed("masterUserSecretKmsKeyId") || changed("masterPassword") {
            if new.opt_bool("manageMasterUserPassword") == Some(true) {
                call = call
                    .manage_master_user_password(true)
                    .set_master_user_secret_kms_key_id(new.opt_str("masterUserSecretKmsKeyId").map(str::to_owned));
            } else {
                if old.opt_bool("manageMasterUserPassword") == Some(true) {
                    call = call.manage_master_user_password(false);
                }
                call = call.set_master_user_password(new.opt_str("masterPassword").map(str::to_owned));
            }
            any = true;
        }
        set!(
            "vpcSecurityGroupIds",
            set_vpc_security_group_ids,
            Some(new.strs("vpcSecurityGroupIds")).filter(|v| !v.is_empty())
        );
        set!(
            "clusterParameterGroupName",
            set_db_cluster_parameter_group_name,
            new.opt_str("clusterParameterGroupName").map(str::to_owned)
        );
        set!("port", set_port, new.opt_i32("port"));
        set!("backupRetentionPeriod", set_backup_retention_period, new.opt_i32("backupRetentionPeriod"));
        set!("backupWindow", set_preferred_backup_window, new.opt_str("backupWindow").map(str::to_owned));
        set!(
            "maintenanceWindow",
            set_preferred_maintenance_window,
            new.opt_str("maintenanceWindow").map(str::to_owned)
        );
        set!("deletionProtection", deletion_protection, new.bool("deletionProtection"));
        set!("serverlessV2Scaling", set_serverless_v2_scaling_configuration, scaling(&new));
        if changed("cloudwatchLogsExports") {
            let (was, now) = (old.strs("cloudwatchLogsExports"), new.strs("cloudwatchLogsExports"));
            call = call.cloudwatch_logs_export_configuration(
                CloudwatchLogsExportConfiguration::builder()
                    .set_enable_log_types(Some(now.iter().filter(|l| !was.contains(l)).cloned().collect()))
                    .set_disable_log_types(Some(was.iter().filter(|l| !now.contains(l)).cloned().collect()))
                    .build(),
            );
            any = true;
        }
        set!("iamDatabaseAuthentication", enable_iam_database_authentication, new.bool("iamDatabaseAuthentication"));
        set!("copyTagsToSnapshot", copy_tags_to_snapshot, new.bool("copyTagsToSnapshot"));
        if any {
            call.send().await.map_err(|e| aws_err("ModifyDBCluster", e))?;
        }
        if changed("tags") {
            let arn = In::new(&req.old_outputs, "AddTagsToResource").str("arn")?;
            update_tags(rds, arn, &old.tags(), &new.tags()).await?;
        }
        let d = wait_available(p, &req.id, req.timeout).await?;
        Ok(UpdateResult { outputs: values(&d, &req.inputs).1 })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let snapshot = In::new(&req.inputs, "").opt_str("finalSnapshotIdentifier");
        let call = p
            .rds()
            .await
            .delete_db_cluster()
            .db_cluster_identifier(&req.id)
            .skip_final_snapshot(snapshot.is_none())
            .set_final_db_snapshot_identifier(snapshot.map(str::to_owned));
        match call.send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, &["DBClusterNotFoundFault"]) => return Ok(()),
            // A delete a killed run started: wait it out. (Reads show a
            // deleting cluster as still there, so its subnet and
            // parameter groups are not deleted before it is gone.)
            Err(e) if is_code(&e, &["InvalidDBClusterStateFault", "InvalidDBClusterState"]) => {
                let deleting = describe(p, &req.id).await?.is_some_and(|d| d.status() == Some("deleting"));
                if !deleting {
                    return Err(aws_err("DeleteDBCluster", e));
                }
            }
            Err(e) => return Err(aws_err("DeleteDBCluster", e)),
        }
        wait_for(&format!("DB cluster {} deleted", req.id), req.timeout, Duration::from_secs(60 * 60), || async {
            Ok(describe(p, &req.id).await?.is_none().then_some(()))
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(id) = In::new(&req.inputs, "").opt_str("identifier") else { return Ok(None) };
        let Some(d) = describe(p, id).await? else { return Ok(None) };
        if !has_identity(d.tag_list(), &req.stack, req.urn.as_str()) {
            return Ok(None);
        }
        let (inputs, outputs) = values(&d, &req.inputs);
        Ok(unless_known(&req, Some(ReadResult { id: id.to_owned(), inputs, outputs })))
    }
}
