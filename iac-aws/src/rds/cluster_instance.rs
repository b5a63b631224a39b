//! `DbClusterInstance`: a writer or reader instance of an Aurora cluster.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_rds::types::DbInstance as SdkInstance;
use iac_core::provider::*;
use iac_core::{props, Checks, Diagnostic, Expr, Graph, Input, Output, Resource, Schema, Urn, Value};

use super::instance::{describe, describe_many, instance_key, wait_available, FILTER_VALUES};
use super::{
    check_class, check_identifier, check_monitoring, check_pi_retention, has_identity, rds_tags, tag_pairs,
    update_tags, AURORA_ENGINES,
};
use crate::batch_read::read_batched;
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{
    drop_computed_when_unset, map, opt_expr, tags_value, tags_with_identity, unless_known, wait_for, In,
};

pub(crate) const TYPE: &str = "aws:rds:DbClusterInstance";

/// Schema: identity, cluster, engine and zone are fixed; class, parameter
/// group, monitoring, failover tier and tags update in place.
pub static SCHEMA: Schema = Schema {
    replace_on: &["identifier", "clusterIdentifier", "engine", "availabilityZone"],
    delete_before_replace: true,
    taggable: true,
    graph_check: Some(check_clusters),
    ..Schema::new(TYPE, "aws")
};

/// Against its cluster, when the cluster is declared in the program: the
/// same engine, and Serverless v2 scaling on the cluster for a
/// `db.serverless` instance.
fn check_clusters(g: &Graph, out: &mut Vec<Diagnostic>) {
    for d in g.resources.values().filter(|d| d.type_token == TYPE) {
        let Some(Expr::Ref { urn: cluster_urn, .. }) = d.input("clusterIdentifier") else { continue };
        let Some(cluster) = g.resources.get(cluster_urn).filter(|c| c.type_token == super::cluster::TYPE) else {
            continue;
        };
        let mut fail = |field: &str, message: String| {
            out.push(Diagnostic { urn: d.urn.clone(), type_token: TYPE.into(), field: field.into(), message })
        };
        let engine = d.plain_input("engine").and_then(Value::as_str);
        let cluster_engine = cluster.plain_input("engine").and_then(Value::as_str);
        if let (Some(e), Some(ce)) = (engine, cluster_engine) {
            if e != ce {
                fail("engine", format!("`{e}` differs from its cluster `{cluster_urn}`'s engine `{ce}`"));
            }
        }
        let serverless = d.plain_input("instanceClass").and_then(Value::as_str) == Some("db.serverless");
        let scaling = cluster.plain_input("serverlessV2Scaling").is_some_and(|v| !v.is_empty_like());
        if serverless && !scaling {
            fail(
                "instanceClass",
                format!("db.serverless needs Serverless v2 scaling on its cluster `{cluster_urn}`, which has none"),
            );
        }
    }
}

/// An instance in an Aurora cluster.
///
/// ```
/// use iac_aws::rds::DbClusterInstance;
/// let writer = DbClusterInstance::builder()
///     .identifier("ledger-1")
///     .cluster_identifier("ledger")
///     .engine("aurora-postgresql")
///     .instance_class("db.serverless")
///     .performance_insights(true)
///     .build();
/// # let _ = writer;
/// ```
#[derive(bon::Builder)]
pub struct DbClusterInstance {
    /// The instance identifier (replaces when changed).
    #[builder(into)]
    pub identifier: String,
    /// The cluster it belongs to (replaces).
    #[builder(into)]
    pub cluster_identifier: Input<String>,
    /// The cluster's engine (`aurora-postgresql`, `aurora-mysql`).
    #[builder(into)]
    pub engine: String,
    /// An instance class Aurora offers (`db.r6g.large`, `db.t4g.medium`,
    /// `db.serverless`).
    #[builder(into)]
    pub instance_class: String,
    /// A DB parameter group (of the `aurora-…` family).
    #[builder(into)]
    pub parameter_group_name: Option<Input<String>>,
    /// The zone to place it in (replaces).
    #[builder(into)]
    pub availability_zone: Option<String>,
    /// Failover priority (0 first, 15 last).
    pub promotion_tier: Option<i32>,
    /// Reachable from the internet (needs public subnets).
    #[builder(default)]
    pub publicly_accessible: bool,
    /// Performance Insights.
    #[builder(default)]
    pub performance_insights: bool,
    /// Performance Insights retention in days.
    pub performance_insights_retention_period: Option<i32>,
    /// Enhanced monitoring interval in seconds (0 turns it off).
    #[builder(default)]
    pub monitoring_interval: i32,
    /// The role enhanced monitoring publishes with.
    #[builder(into)]
    pub monitoring_role_arn: Option<Input<String>>,
    /// Minor upgrades in the maintenance window.
    #[builder(default = true)]
    pub auto_minor_version_upgrade: bool,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
    /// Accepts an instance class the AWS catalog does not hold, saying why
    /// (the catalog is older than what Aurora offers now); see
    /// [`crate::catalog`]. Not sent to AWS.
    #[builder(into)]
    pub catalog_override: Option<crate::catalog::CatalogOverride>,
}

/// Outputs of a [`DbClusterInstance`].
pub struct DbClusterInstanceOutputs {
    /// Its identifier (the resource's id).
    pub id: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
    /// Its own endpoint address.
    pub address: Output<String>,
}

impl Resource for DbClusterInstance {
    type Outputs = DbClusterInstanceOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        let int = |v: Option<i32>| Expr::from(Value::from(v.map(i64::from)));
        props([
            ("identifier", Value::from(self.identifier.as_str()).into()),
            ("clusterIdentifier", self.cluster_identifier.to_expr()),
            ("engine", Value::from(self.engine.as_str()).into()),
            ("instanceClass", Value::from(self.instance_class.as_str()).into()),
            ("parameterGroupName", opt_expr(self.parameter_group_name.as_ref())),
            ("availabilityZone", Value::from(self.availability_zone.clone()).into()),
            ("promotionTier", int(self.promotion_tier)),
            ("publiclyAccessible", Value::from(self.publicly_accessible).into()),
            ("performanceInsights", Value::from(self.performance_insights).into()),
            ("performanceInsightsRetentionPeriod", int(self.performance_insights_retention_period)),
            ("monitoringInterval", Value::from(i64::from(self.monitoring_interval)).into()),
            ("monitoringRoleArn", opt_expr(self.monitoring_role_arn.as_ref())),
            ("autoMinorVersionUpgrade", Value::from(self.auto_minor_version_upgrade).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> DbClusterInstanceOutputs {
        DbClusterInstanceOutputs {
            id: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            address: Output::from_ref(urn, "address"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        check_identifier(c, "identifier", &self.identifier);
        c.check(AURORA_ENGINES.contains(&self.engine.as_str()), "engine", || {
            format!("`{}` is not an Aurora engine; one of {}", self.engine, AURORA_ENGINES.join(", "))
        });
        let mut cat = crate::catalog::Scope::new(self.catalog_override.as_ref());
        if check_class(c, "instanceClass", &self.instance_class) {
            let miss = crate::catalog::instance_classes::check(&self.engine, &self.instance_class);
            cat.report(c, "instanceClass", miss);
        }
        if let Some(t) = self.promotion_tier {
            c.check((0..=15).contains(&t), "promotionTier", || format!("{t}: between 0 and 15"));
        }
        check_pi_retention(c, self.performance_insights_retention_period);
        check_monitoring(c, self.monitoring_interval, self.monitoring_role_arn.is_some());
        cat.finish(c);
    }
}

const COMPUTED: &[&str] = &[
    "parameterGroupName",
    "availabilityZone",
    "promotionTier",
    "performanceInsightsRetentionPeriod",
    "monitoringRoleArn",
];

fn values(d: &SdkInstance, recorded: &Value) -> (Value, Value) {
    let int = |v: Option<i32>| Value::from(v.map(i64::from));
    let mut inputs = map([
        ("identifier", Value::from(d.db_instance_identifier())),
        ("clusterIdentifier", Value::from(d.db_cluster_identifier())),
        ("engine", Value::from(d.engine())),
        ("instanceClass", Value::from(d.db_instance_class())),
        ("parameterGroupName", Value::from(d.db_parameter_groups().first().and_then(|g| g.db_parameter_group_name()))),
        ("availabilityZone", Value::from(d.availability_zone())),
        ("promotionTier", int(d.promotion_tier())),
        ("publiclyAccessible", Value::from(d.publicly_accessible().unwrap_or(false))),
        ("performanceInsights", Value::from(d.performance_insights_enabled().unwrap_or(false))),
        ("performanceInsightsRetentionPeriod", int(d.performance_insights_retention_period())),
        ("monitoringInterval", Value::from(i64::from(d.monitoring_interval().unwrap_or(0)))),
        ("monitoringRoleArn", Value::from(d.monitoring_role_arn())),
        ("autoMinorVersionUpgrade", Value::from(d.auto_minor_version_upgrade().unwrap_or(true))),
        ("tags", tags_value(tag_pairs(d.tag_list()))),
    ]);
    drop_computed_when_unset(&mut inputs, recorded, COMPUTED);
    let outputs = map([
        ("arn", Value::from(d.db_instance_arn())),
        ("address", Value::from(d.endpoint().and_then(|e| e.address()))),
    ]);
    (inputs, outputs)
}

pub(crate) struct ClusterInstanceHandler;

#[async_trait]
impl Handler for ClusterInstanceHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateDBInstance");
        let id = i.str("identifier")?.to_owned();
        p.rds()
            .await
            .create_db_instance()
            .db_instance_identifier(&id)
            .db_cluster_identifier(i.str("clusterIdentifier")?)
            .engine(i.str("engine")?)
            .db_instance_class(i.str("instanceClass")?)
            .set_db_parameter_group_name(i.opt_str("parameterGroupName").map(str::to_owned))
            .set_availability_zone(i.opt_str("availabilityZone").map(str::to_owned))
            .set_promotion_tier(i.opt_i32("promotionTier"))
            .publicly_accessible(i.bool("publiclyAccessible"))
            .enable_performance_insights(i.bool("performanceInsights"))
            .set_performance_insights_retention_period(i.opt_i32("performanceInsightsRetentionPeriod"))
            .monitoring_interval(i.opt_i32("monitoringInterval").unwrap_or(0))
            .set_monitoring_role_arn(i.opt_str("monitoringRoleArn").map(str::to_owned))
            .auto_minor_version_upgrade(i.opt_bool("autoMinorVersionUpgrade").unwrap_or(true))
            .set_tags(Some(rds_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateDBInstance", e))?;
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
        let fields = [
            "instanceClass",
            "parameterGroupName",
            "promotionTier",
            "publiclyAccessible",
            "performanceInsights",
            "performanceInsightsRetentionPeriod",
            "monitoringInterval",
            "monitoringRoleArn",
            "autoMinorVersionUpgrade",
        ];
        if fields.iter().any(|f| changed(f)) {
            let mut call = rds.modify_db_instance().db_instance_identifier(&req.id).apply_immediately(true);
            if changed("instanceClass") {
                call = call.db_instance_class(new.str("instanceClass")?);
            }
            if changed("parameterGroupName") {
                call = call.set_db_parameter_group_name(new.opt_str("parameterGroupName").map(str::to_owned));
            }
            if changed("promotionTier") {
                call = call.set_promotion_tier(new.opt_i32("promotionTier"));
            }
            if changed("publiclyAccessible") {
                call = call.publicly_accessible(new.bool("publiclyAccessible"));
            }
            if changed("performanceInsights") || changed("performanceInsightsRetentionPeriod") {
                call = call
                    .enable_performance_insights(new.bool("performanceInsights"))
                    .set_performance_insights_retention_period(new.opt_i32("performanceInsightsRetentionPeriod"));
            }
            if changed("monitoringInterval") || changed("monitoringRoleArn") {
                call = call
                    .monitoring_interval(new.opt_i32("monitoringInterval").unwrap_or(0))
                    .set_monitoring_role_arn(new.opt_str("monitoringRoleArn").map(str::to_owned));
            }
            if changed("autoMinorVersionUpgrade") {
                call = call.auto_minor_version_upgrade(new.bool("autoMinorVersionUpgrade"));
            }
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
        // Cluster instances have no final snapshot of their own: the
        // cluster's covers them.
        match p.rds().await.delete_db_instance().db_instance_identifier(&req.id).send().await {
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
