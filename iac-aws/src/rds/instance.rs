//! `DbInstance`: an RDS database instance, or a read replica of one.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_rds::types::{DbInstance as SdkInstance, Filter};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use super::{
    check_class, check_db_name, check_identifier, check_master_password, check_monitoring, check_pi_retention,
    check_retention, check_username, has_identity, rds_tags, tag_pairs, update_tags, version_like, MasterPassword,
    AURORA_ENGINES, INSTANCE_ENGINES,
};
use crate::batch_read::{by, read_batched, Chunk};
use crate::catalog::{self, CatalogOverride};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{
    drop_computed_when_unset, keep_write_only, list_expr, map, opt_expr, ordered_like, tags_value, tags_with_identity,
    unless_known, wait_for, In,
};

pub(crate) const TYPE: &str = "aws:rds:DbInstance";

/// Schema: identity, engine, database and user names, encryption, subnet
/// group, zone and a replica's source are fixed; class, storage, version,
/// Multi-AZ, backups, monitoring, security groups, password and tags update
/// in place (`ModifyDBInstance`, applied immediately).
pub static SCHEMA: Schema = Schema {
    replace_on: &[
        "identifier",
        "engine",
        "dbName",
        "username",
        "storageEncrypted",
        "kmsKeyId",
        "subnetGroupName",
        "availabilityZone",
        "replicateSourceDb",
    ],
    delete_before_replace: true,
    taggable: true,
    computed_on_update: &["masterUserSecretArn"],
    graph_check: Some(super::check_graph),
    ..Schema::new(TYPE, "aws")
};

/// An RDS DB instance (PostgreSQL, MySQL, MariaDB, Oracle, SQL Server).
///
/// The master password defaults to one RDS manages in Secrets Manager.
///
/// ```
/// use iac_aws::rds::DbInstance;
/// let db = DbInstance::builder()
///     .identifier("orders")
///     .engine("postgres")
///     .engine_version("16")
///     .instance_class("db.t4g.medium")
///     .allocated_storage(50)
///     .max_allocated_storage(200)
///     .db_name("orders")
///     .username("orders_admin")
///     .subnet_group_name("orders-db")
///     .multi_az(true)
///     .backup_retention_period(14)
///     .deletion_protection(true)
///     .performance_insights(true)
///     .build();
/// // A replica in the same region, of the instance above.
/// let replica = DbInstance::builder()
///     .identifier("orders-replica")
///     .engine("postgres")
///     .instance_class("db.t4g.medium")
///     .replicate_source_db("orders")
///     .build();
/// # let _ = (db, replica);
/// ```
#[derive(bon::Builder)]
pub struct DbInstance {
    /// The instance identifier (replaces when changed).
    #[builder(into)]
    pub identifier: String,
    /// The engine (`postgres`, `mysql`, `mariadb`, …; replaces).
    #[builder(into)]
    pub engine: String,
    /// The engine version; a major version alone (`16`) takes the newest
    /// minor one. Raising it upgrades in place.
    #[builder(into)]
    pub engine_version: Option<String>,
    /// The instance class (`db.t4g.medium`).
    #[builder(into)]
    pub instance_class: String,
    /// Storage in GiB (not for replicas, which take the source's).
    pub allocated_storage: Option<i32>,
    /// The ceiling for storage autoscaling, in GiB.
    pub max_allocated_storage: Option<i32>,
    /// `gp3`, `gp2`, `io1`, `io2` or (magnetic, legacy) `standard`.
    #[builder(into)]
    pub storage_type: Option<String>,
    /// Provisioned IOPS (io1, io2, gp3).
    pub iops: Option<i32>,
    /// The database created with it (replaces).
    #[builder(into)]
    pub db_name: Option<String>,
    /// The master user name (replaces; not for replicas).
    #[builder(into)]
    pub username: Option<String>,
    /// The master password: RDS-managed by default.
    #[builder(default)]
    pub master_password: MasterPassword,
    /// The DB subnet group (replaces).
    #[builder(into)]
    pub subnet_group_name: Option<Input<String>>,
    /// VPC security groups.
    #[builder(default)]
    pub vpc_security_group_ids: Vec<Input<String>>,
    /// A DB parameter group.
    #[builder(into)]
    pub parameter_group_name: Option<Input<String>>,
    /// The Availability Zone of a single-AZ instance (replaces).
    #[builder(into)]
    pub availability_zone: Option<String>,
    /// A standby in a second zone.
    #[builder(default)]
    pub multi_az: bool,
    /// Encryption at rest (on by default; replaces).
    #[builder(default = true)]
    pub storage_encrypted: bool,
    /// The KMS key for storage (else `aws/rds`; replaces).
    #[builder(into)]
    pub kms_key_id: Option<Input<String>>,
    /// Days automated backups are kept (0–35; 0 turns them off).
    pub backup_retention_period: Option<i32>,
    /// The daily backup window (`03:00-04:00`, UTC).
    #[builder(into)]
    pub backup_window: Option<String>,
    /// The weekly maintenance window (`sun:05:00-sun:06:00`, UTC).
    #[builder(into)]
    pub maintenance_window: Option<String>,
    /// Refuse deletion while on (`destroy` fails until it is turned off).
    #[builder(default)]
    pub deletion_protection: bool,
    /// Performance Insights.
    #[builder(default)]
    pub performance_insights: bool,
    /// Performance Insights retention in days (7, 31×n up to 713, 731).
    pub performance_insights_retention_period: Option<i32>,
    /// The KMS key for Performance Insights data.
    #[builder(into)]
    pub performance_insights_kms_key_id: Option<Input<String>>,
    /// Enhanced monitoring interval in seconds (0 turns it off).
    #[builder(default)]
    pub monitoring_interval: i32,
    /// The role enhanced monitoring publishes with.
    #[builder(into)]
    pub monitoring_role_arn: Option<Input<String>>,
    /// Reachable from the internet (needs public subnets).
    #[builder(default)]
    pub publicly_accessible: bool,
    /// IAM database authentication.
    #[builder(default)]
    pub iam_database_authentication: bool,
    /// Logs exported to CloudWatch (`postgresql`, `upgrade`, `error`, …).
    #[builder(default)]
    pub cloudwatch_logs_exports: Vec<String>,
    /// The port (else the engine's).
    pub port: Option<i32>,
    /// Minor upgrades in the maintenance window.
    #[builder(default = true)]
    pub auto_minor_version_upgrade: bool,
    /// Copy tags to snapshots.
    #[builder(default = true)]
    pub copy_tags_to_snapshot: bool,
    /// The source instance (identifier, or ARN across regions): this
    /// instance is then its read replica (replaces).
    #[builder(into)]
    pub replicate_source_db: Option<Input<String>>,
    /// A snapshot taken on `destroy` under this name; none skips it.
    #[builder(into)]
    pub final_snapshot_identifier: Option<String>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
    /// Accepts an engine version, instance class or zone the AWS catalog
    /// does not hold (it is older than what RDS offers now), saying why;
    /// see [`crate::catalog`]. Not sent to AWS.
    #[builder(into)]
    pub catalog_override: Option<CatalogOverride>,
}

/// Outputs of a [`DbInstance`].
pub struct DbInstanceOutputs {
    /// Its identifier (the resource's id).
    pub id: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
    /// The DNS name to connect to.
    pub address: Output<String>,
    /// The port to connect to.
    pub port: Output<i64>,
    /// `address:port`.
    pub endpoint: Output<String>,
    /// The RDS-managed master secret's ARN (when RDS manages the password).
    pub master_user_secret_arn: Output<String>,
    /// The instance's resource id (`db-…`), for IAM database auth policies.
    pub resource_id: Output<String>,
}

impl DbInstance {
    fn is_replica(&self) -> bool {
        self.replicate_source_db.is_some()
    }
}

impl Resource for DbInstance {
    type Outputs = DbInstanceOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        let null = || Expr::Value(Value::Null);
        // A replica takes its password from the source.
        let [manage, secret_key, password] = if self.is_replica() {
            [("manageMasterUserPassword", null()), ("masterUserSecretKmsKeyId", null()), ("masterPassword", null())]
        } else {
            self.master_password.exprs()
        };
        let int = |v: Option<i32>| Expr::from(Value::from(v.map(i64::from)));
        props([
            ("identifier", Value::from(self.identifier.as_str()).into()),
            ("engine", Value::from(self.engine.as_str()).into()),
            ("engineVersion", Value::from(self.engine_version.clone()).into()),
            ("instanceClass", Value::from(self.instance_class.as_str()).into()),
            ("allocatedStorage", int(self.allocated_storage)),
            ("maxAllocatedStorage", int(self.max_allocated_storage)),
            ("storageType", Value::from(self.storage_type.clone()).into()),
            ("iops", int(self.iops)),
            ("dbName", Value::from(self.db_name.clone()).into()),
            ("username", Value::from(self.username.clone()).into()),
            manage,
            secret_key,
            password,
            ("subnetGroupName", opt_expr(self.subnet_group_name.as_ref())),
            ("vpcSecurityGroupIds", list_expr(&self.vpc_security_group_ids)),
            ("parameterGroupName", opt_expr(self.parameter_group_name.as_ref())),
            ("availabilityZone", Value::from(self.availability_zone.clone()).into()),
            ("multiAz", Value::from(self.multi_az).into()),
            ("storageEncrypted", Value::from(self.storage_encrypted).into()),
            ("kmsKeyId", opt_expr(self.kms_key_id.as_ref())),
            ("backupRetentionPeriod", int(self.backup_retention_period)),
            ("backupWindow", Value::from(self.backup_window.clone()).into()),
            ("maintenanceWindow", Value::from(self.maintenance_window.clone()).into()),
            ("deletionProtection", Value::from(self.deletion_protection).into()),
            ("performanceInsights", Value::from(self.performance_insights).into()),
            ("performanceInsightsRetentionPeriod", int(self.performance_insights_retention_period)),
            ("performanceInsightsKmsKeyId", opt_expr(self.performance_insights_kms_key_id.as_ref())),
            ("monitoringInterval", Value::from(i64::from(self.monitoring_interval)).into()),
            ("monitoringRoleArn", opt_expr(self.monitoring_role_arn.as_ref())),
            ("publiclyAccessible", Value::from(self.publicly_accessible).into()),
            ("iamDatabaseAuthentication", Value::from(self.iam_database_authentication).into()),
            ("cloudwatchLogsExports", Value::from(self.cloudwatch_logs_exports.clone()).into()),
            ("port", int(self.port)),
            ("autoMinorVersionUpgrade", Value::from(self.auto_minor_version_upgrade).into()),
            ("copyTagsToSnapshot", Value::from(self.copy_tags_to_snapshot).into()),
            ("replicateSourceDb", opt_expr(self.replicate_source_db.as_ref())),
            ("finalSnapshotIdentifier", Value::from(self.final_snapshot_identifier.clone()).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> DbInstanceOutputs {
        DbInstanceOutputs {
            id: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            address: Output::from_ref(urn, "address"),
            port: Output::from_ref(urn, "port"),
            endpoint: Output::from_ref(urn, "endpoint"),
            master_user_secret_arn: Output::from_ref(urn, "masterUserSecretArn"),
            resource_id: Output::from_ref(urn, "resourceId"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        check_identifier(c, "identifier", &self.identifier);
        if AURORA_ENGINES.contains(&self.engine.as_str()) {
            c.fail(
                "engine",
                format!("`{}` runs in a DbCluster with DbClusterInstances, not a DbInstance", self.engine),
            );
        } else {
            c.check(INSTANCE_ENGINES.contains(&self.engine.as_str()), "engine", || {
                format!("`{}` is not an RDS engine; one of {}", self.engine, INSTANCE_ENGINES.join(", "))
            });
        }
        check_class(c, "instanceClass", &self.instance_class);
        c.check(self.instance_class != "db.serverless", "instanceClass", || {
            "db.serverless is for Aurora Serverless v2 cluster instances".into()
        });
        if self.is_replica() {
            for (field, set) in [
                ("username", self.username.is_some()),
                ("dbName", self.db_name.is_some()),
                ("allocatedStorage", self.allocated_storage.is_some()),
                ("masterPassword", matches!(self.master_password, MasterPassword::Given(_))),
            ] {
                c.check(!set, field, || "a read replica takes this from its source; leave it unset".into());
            }
        } else {
            match &self.username {
                Some(u) => check_username(c, "username", &self.engine, u),
                None => c.fail("username", "a master user name is required (except for read replicas)"),
            }
            match self.allocated_storage {
                None => c.fail("allocatedStorage", "storage in GiB is required (except for read replicas)"),
                Some(gib) => {
                    let min = if matches!(self.storage_type.as_deref(), Some("io1" | "io2")) { 100 } else { 20 };
                    c.check((min..=65_536).contains(&gib), "allocatedStorage", || {
                        format!("{gib} GiB: between {min} and 65536 for this storage type")
                    });
                }
            }
        }
        if let (Some(max), Some(gib)) = (self.max_allocated_storage, self.allocated_storage) {
            c.check(max > gib, "maxAllocatedStorage", || {
                format!("{max} GiB must be above allocatedStorage ({gib} GiB) to allow autoscaling")
            });
        }
        if let Some(t) = &self.storage_type {
            c.check(["gp2", "gp3", "io1", "io2", "standard"].contains(&t.as_str()), "storageType", || {
                format!("`{t}`: one of gp2, gp3, io1, io2, standard")
            });
        }
        if self.iops.is_some() {
            c.check(matches!(self.storage_type.as_deref(), Some("io1" | "io2" | "gp3")), "iops", || {
                "provisioned IOPS need storageType io1, io2 or gp3".into()
            });
        }
        if let Some(n) = &self.db_name {
            check_db_name(c, "dbName", n);
        }
        c.check(self.kms_key_id.is_none() || self.storage_encrypted, "kmsKeyId", || {
            "a storage KMS key needs storageEncrypted".into()
        });
        check_retention(c, self.backup_retention_period, 0);
        check_pi_retention(c, self.performance_insights_retention_period);
        c.check(
            self.performance_insights
                || (self.performance_insights_retention_period.is_none()
                    && self.performance_insights_kms_key_id.is_none()),
            "performanceInsights",
            || "retention or a KMS key is set but Performance Insights is off".into(),
        );
        check_monitoring(c, self.monitoring_interval, self.monitoring_role_arn.is_some());
        c.check(!(self.multi_az && self.availability_zone.is_some()), "availabilityZone", || {
            "a Multi-AZ instance's zones are chosen by RDS; leave availabilityZone unset".into()
        });
        if let Some(p) = self.port {
            c.check((1150..=65_535).contains(&p), "port", || format!("{p}: between 1150 and 65535"));
        }
        if let Some(s) = &self.final_snapshot_identifier {
            check_identifier(c, "finalSnapshotIdentifier", s);
        }
        if !self.is_replica() {
            check_master_password(c, &self.engine, &self.master_password);
        }
        let mut cat = catalog::Scope::new(self.catalog_override.as_ref());
        if let Some(v) = &self.engine_version {
            cat.report(c, "engineVersion", catalog::engine_versions::check(&self.engine, v));
        }
        cat.report(c, "instanceClass", catalog::instance_classes::check(&self.engine, &self.instance_class));
        if let Some(z) = &self.availability_zone {
            cat.report(c, "availabilityZone", catalog::regions::check_zone(z));
        }
        cat.finish(c);
    }
}

/// Keys RDS picks itself when they are left unset.
const COMPUTED: &[&str] = &[
    "engineVersion",
    "storageType",
    "iops",
    "maxAllocatedStorage",
    "dbName",
    "username",
    "allocatedStorage",
    "masterUserSecretKmsKeyId",
    "manageMasterUserPassword",
    "subnetGroupName",
    "vpcSecurityGroupIds",
    "parameterGroupName",
    "availabilityZone",
    "kmsKeyId",
    "backupRetentionPeriod",
    "backupWindow",
    "maintenanceWindow",
    "performanceInsightsRetentionPeriod",
    "performanceInsightsKmsKeyId",
    "monitoringRoleArn",
    "port",
];

/// Inputs AWS never returns.
const WRITE_ONLY: &[&str] = &["masterPassword", "finalSnapshotIdentifier", "replicateSourceDb"];

fn values(d: &SdkInstance, recorded: &Value) -> (Value, Value) {
    let int = |v: Option<i32>| Value::from(v.map(i64::from));
    let groups: Vec<String> =
        d.vpc_security_groups().iter().filter_map(|g| g.vpc_security_group_id().map(str::to_owned)).collect();
    let secret = d.master_user_secret();
    let replica = d.read_replica_source_db_instance_identifier().is_some();
    let mut inputs = map([
        ("identifier", Value::from(d.db_instance_identifier())),
        ("engine", Value::from(d.engine())),
        ("engineVersion", version_like(d.engine_version(), recorded.get("engineVersion"))),
        ("instanceClass", Value::from(d.db_instance_class())),
        ("allocatedStorage", int(d.allocated_storage())),
        ("maxAllocatedStorage", int(d.max_allocated_storage())),
        ("storageType", Value::from(d.storage_type())),
        ("iops", int(d.iops())),
        ("dbName", Value::from(d.db_name())),
        ("username", Value::from(d.master_username())),
        ("manageMasterUserPassword", Value::from((!replica).then_some(secret.is_some()))),
        ("masterUserSecretKmsKeyId", Value::from(secret.and_then(|s| s.kms_key_id()))),
        ("subnetGroupName", Value::from(d.db_subnet_group().and_then(|g| g.db_subnet_group_name()))),
        ("vpcSecurityGroupIds", ordered_like(groups, recorded.get("vpcSecurityGroupIds"))),
        ("parameterGroupName", Value::from(d.db_parameter_groups().first().and_then(|g| g.db_parameter_group_name()))),
        ("availabilityZone", Value::from(d.availability_zone())),
        ("multiAz", Value::from(d.multi_az().unwrap_or(false))),
        ("storageEncrypted", Value::from(d.storage_encrypted().unwrap_or(false))),
        ("kmsKeyId", Value::from(d.kms_key_id())),
        ("backupRetentionPeriod", int(d.backup_retention_period())),
        ("backupWindow", Value::from(d.preferred_backup_window())),
        ("maintenanceWindow", Value::from(d.preferred_maintenance_window())),
        ("deletionProtection", Value::from(d.deletion_protection().unwrap_or(false))),
        ("performanceInsights", Value::from(d.performance_insights_enabled().unwrap_or(false))),
        ("performanceInsightsRetentionPeriod", int(d.performance_insights_retention_period())),
        ("performanceInsightsKmsKeyId", Value::from(d.performance_insights_kms_key_id())),
        ("monitoringInterval", Value::from(i64::from(d.monitoring_interval().unwrap_or(0)))),
        ("monitoringRoleArn", Value::from(d.monitoring_role_arn())),
        ("publiclyAccessible", Value::from(d.publicly_accessible().unwrap_or(false))),
        ("iamDatabaseAuthentication", Value::from(d.iam_database_authentication_enabled().unwrap_or(false))),
        ("cloudwatchLogsExports", Value::from(d.enabled_cloudwatch_logs_exports().to_vec())),
        ("port", int(d.endpoint().and_then(|e| e.port()).or(d.db_instance_port()))),
        ("autoMinorVersionUpgrade", Value::from(d.auto_minor_version_upgrade().unwrap_or(true))),
        ("copyTagsToSnapshot", Value::from(d.copy_tags_to_snapshot().unwrap_or(false))),
        ("tags", tags_value(tag_pairs(d.tag_list()))),
    ]);
    drop_computed_when_unset(&mut inputs, recorded, COMPUTED);
    keep_write_only(&mut inputs, recorded, WRITE_ONLY);
    let address = d.endpoint().and_then(|e| e.address());
    let port = d.endpoint().and_then(|e| e.port());
    let outputs = map([
        ("arn", Value::from(d.db_instance_arn())),
        ("address", Value::from(address)),
        ("port", int(port)),
        ("endpoint", Value::from(address.zip(port).map(|(a, p)| format!("{a}:{p}")))),
        ("masterUserSecretArn", Value::from(secret.and_then(|s| s.secret_arn()))),
        ("resourceId", Value::from(d.dbi_resource_id())),
    ]);
    (inputs, outputs)
}

pub(crate) async fn describe(p: &AwsProvider, id: &str) -> Result<Option<SdkInstance>, ProviderError> {
    match p.rds().await.describe_db_instances().db_instance_identifier(id).send().await {
        Ok(o) => Ok(o.db_instances().first().cloned()),
        Err(e) if is_code(&e, &["DBInstanceNotFound", "DBInstanceNotFoundFault"]) => Ok(None),
        Err(e) => Err(aws_err("DescribeDBInstances", e)),
    }
}

/// Many instances in one call, by the `db-instance-id` filter (it answers
/// only those that exist), each under its identifier lower-cased: AWS keeps
/// identifiers lower-cased and matches them regardless of case.
pub(crate) async fn describe_many(p: &AwsProvider, ids: Vec<String>) -> Result<Chunk<SdkInstance>, ProviderError> {
    let found: Vec<SdkInstance> = p
        .rds()
        .await
        .describe_db_instances()
        .filters(Filter::builder().name("db-instance-id").set_values(Some(ids)).build())
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| aws_err("DescribeDBInstances", e))?;
    Ok(by(found, |d| d.db_instance_identifier()).lower_cased())
}

/// An instance's key in a batch: its identifier, lower-cased.
pub(crate) fn instance_key(req: &ReadRequest) -> Result<(String, String), ProviderError> {
    Ok((String::new(), req.id.to_ascii_lowercase()))
}

/// The most identifiers one `db-instance-id` filter takes.
pub(crate) const FILTER_VALUES: usize = 100;

/// Waits for `available` and for pending modifications to be applied.
pub(crate) async fn wait_available(
    p: &AwsProvider,
    id: &str,
    timeout: Option<Duration>,
) -> Result<SdkInstance, ProviderError> {
    wait_for(&format!("DB instance {id} available"), timeout, Duration::from_secs(60 * 60), || async {
        Ok(describe(p, id).await?.filter(|d| {
            d.db_instance_status() == Some("available")
                && d.pending_modified_values().is_none_or(|m| {
                    m.db_instance_class().is_none() && m.allocated_storage().is_none() && m.engine_version().is_none()
                })
        }))
    })
    .await
}

pub(crate) struct InstanceHandler;

#[async_trait]
impl Handler for InstanceHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let rds = p.rds().await;
        let tags = rds_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn));
        let id = In::new(&req.inputs, "").str("identifier")?.to_owned();
        if let Some(source) = In::new(&req.inputs, "").opt_str("replicateSourceDb") {
            let i = In::new(&req.inputs, "CreateDBInstanceReadReplica");
            rds.create_db_instance_read_replica()
                .db_instance_identifier(&id)
                .source_db_instance_identifier(source)
                .db_instance_class(i.str("instanceClass")?)
                .set_storage_type(i.opt_str("storageType").map(str::to_owned))
                .set_iops(i.opt_i32("iops"))
                .set_max_allocated_storage(i.opt_i32("maxAllocatedStorage"))
                .set_vpc_security_group_ids(Some(i.strs("vpcSecurityGroupIds")).filter(|v| !v.is_empty()))
                .set_db_parameter_group_name(i.opt_str("parameterGroupName").map(str::to_owned))
                .set_availability_zone(i.opt_str("availabilityZone").map(str::to_owned))
                .multi_az(i.bool("multiAz"))
                .set_kms_key_id(i.opt_str("kmsKeyId").map(str::to_owned))
                .deletion_protection(i.bool("deletionProtection"))
                .enable_performance_insights(i.bool("performanceInsights"))
                .set_performance_insights_retention_period(i.opt_i32("performanceInsightsRetentionPeriod"))
                .set_performance_insights_kms_key_id(i.opt_str("performanceInsightsKmsKeyId").map(str::to_owned))
                .monitoring_interval(i.opt_i32("monitoringInterval").unwrap_or(0))
                .set_monitoring_role_arn(i.opt_str("monitoringRoleArn").map(str::to_owned))
                .publicly_accessible(i.bool("publiclyAccessible"))
                .enable_iam_database_authentication(i.bool("iamDatabaseAuthentication"))
                .set_enable_cloudwatch_logs_exports(Some(i.strs("cloudwatchLogsExports")))
                .set_port(i.opt_i32("port"))
                .auto_minor_version_upgrade(i.opt_bool("autoMinorVersionUpgrade").unwrap_or(true))
                .copy_tags_to_snapshot(i.bool("copyTagsToSnapshot"))
                .set_tags(Some(tags))
                .customize()
                .no_sdk_retry()
                .send()
                .await
                .map_err(|e| aws_err("CreateDBInstanceReadReplica", e))?;
        } else {
            let i = In::new(&req.inputs, "CreateDBInstance");
            let managed = i.opt_bool("manageMasterUserPassword").unwrap_or(true);
            rds.create_db_instance()
                .db_instance_identifier(&id)
                .engine(i.str("engine")?)
                .set_engine_version(i.opt_str("engineVersion").map(str::to_owned))
                .db_instance_class(i.str("instanceClass")?)
                .set_allocated_storage(i.opt_i32("allocatedStorage"))
                .set_max_allocated_storage(i.opt_i32("maxAllocatedStorage"))
                .set_storage_type(i.opt_str("storageType").map(str::to_owned))
                .set_iops(i.opt_i32("iops"))
                .set_db_name(i.opt_str("dbName").map(str::to_owned))
                .set_master_username(i.opt_str("username").map(str::to_owned))
                .manage_master_user_password(managed)
                .set_master_user_secret_kms_key_id(
                    i.opt_str("masterUserSecretKmsKeyId").filter(|_| managed).map(str::to_owned),
                )
                .set_master_user_password(i.opt_str("masterPassword").filter(|_| !managed).map(str::to_owned))
                .set_db_subnet_group_name(i.opt_str("subnetGroupName").map(str::to_owned))
                .set_vpc_security_group_ids(Some(i.strs("vpcSecurityGroupIds")).filter(|v| !v.is_empty()))
                .set_db_parameter_group_name(i.opt_str("parameterGroupName").map(str::to_owned))
                .set_availability_zone(i.opt_str("availabilityZone").map(str::to_owned))
                .multi_az(i.bool("multiAz"))
                .storage_encrypted(i.bool("storageEncrypted"))
                .set_kms_key_id(i.opt_str("kmsKeyId").map(str::to_owned))
                .set_backup_retention_period(i.opt_i32("backupRetentionPeriod"))
                .set_preferred_backup_window(i.opt_str("backupWindow").map(str::to_owned))
                .set_preferred_maintenance_window(i.opt_str("maintenanceWindow").map(str::to_owned))
                .deletion_protection(i.bool("deletionProtection"))
                .enable_performance_insights(i.bool("performanceInsights"))
                .set_performance_insights_retention_period(i.opt_i32("performanceInsightsRetentionPeriod"))
                .set_performance_insights_kms_key_id(i.opt_str("performanceInsightsKmsKeyId").map(str::to_owned))
                .monitoring_interval(i.opt_i32("monitoringInterval").unwrap_or(0))
                .set_monitoring_role_arn(i.opt_str("monitoringRoleArn").map(str::to_owned))
                .publicly_accessible(i.bool("publiclyAccessible"))
                .enable_iam_database_authentication(i.bool("iamDatabaseAuthentication"))
                .set_enable_cloudwatch_logs_exports(Some(i.strs("cloudwatchLogsExports")))
                .set_port(i.opt_i32("port"))
                .auto_minor_version_upgrade(i.opt_bool("autoMinorVersionUpgrade").unwrap_or(true))
                .copy_tags_to_snapshot(i.bool("copyTagsToSnapshot"))
                .set_tags(Some(tags))
                .customize()
                .no_sdk_retry()
                .send()
                .await
                .map_err(|e| aws_err("CreateDBInstance", e))?;
        }
        let d = wait_available(p, &id, req.timeout).await?;
        Ok(CreateResult { id, outputs: values(&d, &req.inputs).1 })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id).await?.map(|d| {
            let (inputs, outputs) = values(&d, &req.inputs);
            ReadResult { id: req.id, inputs, outputs }
        }))
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        read_batched(
            reqs,
            FILTER_VALUES,
            instance_key,
            |_, ids| describe_many(p, ids),
            |req, d| async move {
                let (inputs, outputs) = values(&d, &req.inputs);
                Ok(Some(ReadResult { id: req.id, inputs, outputs }))
            },
            |req| self.read(p, req),
        )
        .await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, "ModifyDBInstance"), In::new(&req.inputs, "ModifyDBInstance"));
        let rds = p.rds().await;
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        let mut call = rds.modify_db_instance().db_instance_identifier(&req.id).apply_immediately(true);
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
        set!("instanceClass", db_instance_class, new.str("instanceClass")?);
        set!("allocatedStorage", set_allocated_storage, new.opt_i32("allocatedStorage"));
        // Zero turns storage autoscaling off.
        set!("maxAllocatedStorage", max_allocated_storage, new.opt_i32("maxAllocatedStorage").unwrap_or(0));
        set!("storageType", set_storage_type, new.opt_str("storageType").map(str::to_owned));
        set!("iops", set_iops, new.opt_i32("iops"));
        if changed("manageMasterUserPassword") || changed("masterUserSecretKmsKeyId") || changed("masterPassword") {
            let managed = new.opt_bool("manageMasterUserPassword");
            if managed == Some(true) {
                call = call
                    .manage_master_user_password(true)
                    .set_master_user_secret_kms_key_id(new.opt_str("masterUserSecretKmsKeyId").map(str::to_owned));
            } else if managed == Some(false) {
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
        set!("parameterGroupName", set_db_parameter_group_name, new.opt_str("parameterGroupName").map(str::to_owned));
        set!("multiAz", multi_az, new.bool("multiAz"));
        set!("backupRetentionPeriod", set_backup_retention_period, new.opt_i32("backupRetentionPeriod"));
        set!("backupWindow", set_preferred_backup_window, new.opt_str("backupWindow").map(str::to_owned));
        set!(
            "maintenanceWindow",
            set_preferred_maintenance_window,
            new.opt_str("maintenanceWindow").map(str::to_owned)
        );
        set!("deletionProtection", deletion_protection, new.bool("deletionProtection"));
        if changed("performanceInsights")
            || changed("performanceInsightsRetentionPeriod")
            || changed("performanceInsightsKmsKeyId")
        {
            call = call
                .enable_performance_insights(new.bool("performanceInsights"))
                .set_performance_insights_retention_period(new.opt_i32("performanceInsightsRetentionPeriod"))
                .set_performance_insights_kms_key_id(new.opt_str("performanceInsightsKmsKeyId").map(str::to_owned));
            any = true;
        }
        if changed("monitoringInterval") || changed("monitoringRoleArn") {
            call = call
                .monitoring_interval(new.opt_i32("monitoringInterval").unwrap_or(0))
                .set_monitoring_role_arn(new.opt_str("monitoringRoleArn").map(str::to_owned));
            any = true;
        }
        set!("publiclyAccessible", publicly_accessible, new.bool("publiclyAccessible"));
        set!("iamDatabaseAuthentication", enable_iam_database_authentication, new.bool("iamDatabaseAuthentication"));
        if changed("cloudwatchLogsExports") {
            let (was, now) = (old.strs("cloudwatchLogsExports"), new.strs("cloudwatchLogsExports"));
            let enable: Vec<String> = now.iter().filter(|l| !was.contains(l)).cloned().collect();
            let disable: Vec<String> = was.iter().filter(|l| !now.contains(l)).cloned().collect();
            call = call.cloudwatch_logs_export_configuration(
                aws_sdk_rds::types::CloudwatchLogsExportConfiguration::builder()
                    .set_enable_log_types(Some(enable))
                    .set_disable_log_types(Some(disable))
                    .build(),
            );
            any = true;
        }
        set!("port", set_db_port_number, new.opt_i32("port"));
        set!("autoMinorVersionUpgrade", auto_minor_version_upgrade, new.bool("autoMinorVersionUpgrade"));
        set!("copyTagsToSnapshot", copy_tags_to_snapshot, new.bool("copyTagsToSnapshot"));
        if any {
            call.send().await.map_err(|e| aws_err("ModifyDBInstance", e))?;
        }
        if changed("tags") {
            let arn = In::new(&req.old_outputs, "AddTagsToResource").str("arn")?;
            update_tags(rds, arn, &old.tags(), &new.tags()).await?;
        }
        let d = wait_available(p, &req.id, req.timeout).await?;
        Ok(UpdateResult { outputs: values(&d, &req.inputs).1 })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let i = In::new(&req.inputs, "DeleteDBInstance");
        let snapshot = i.opt_str("finalSnapshotIdentifier");
        let call = p
            .rds()
            .await
            .delete_db_instance()
            .db_instance_identifier(&req.id)
            .skip_final_snapshot(snapshot.is_none())
            .set_final_db_snapshot_identifier(snapshot.map(str::to_owned));
        match call.send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, &["DBInstanceNotFound", "DBInstanceNotFoundFault"]) => return Ok(()),
            // A delete a killed run started: wait it out. (Reads show a
            // deleting instance as still there, so its subnet and
            // parameter groups are not deleted before it is gone.)
            Err(e) if is_code(&e, &["InvalidDBInstanceState", "InvalidDBInstanceStateFault"]) => {
                let deleting = describe(p, &req.id).await?.is_some_and(|d| d.db_instance_status() == Some("deleting"));
                if !deleting {
                    return Err(aws_err("DeleteDBInstance", e));
                }
            }
            Err(e) => return Err(aws_err("DeleteDBInstance", e)),
        }
        wait_for(&format!("DB instance {} deleted", req.id), req.timeout, Duration::from_secs(60 * 60), || async {
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
