//! `ReplicationGroup`: a Redis 7 cache, a primary with replicas or (in
//! cluster mode) shards of them.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_elasticache::types::{
    AuthTokenUpdateStrategyType, AutomaticFailoverStatus, CacheCluster, ClusterMode as SdkClusterMode, MultiAzStatus,
    ReplicationGroup as SdkReplicationGroup,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Diagnostic, Expr, Graph, Input, Output, Resource, Schema, Urn, Value};

use super::{check_name, ec_tags, has_identity, parameter_group, tags_of, update_tags};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{
    drop_computed_when_unset, keep_write_only, list_expr, map, opt_expr, ordered_like, tags_value, tags_with_identity,
    unless_known, wait_for, In,
};

pub(crate) const TYPE: &str = "aws:elasticache:ReplicationGroup";

/// Schema: the id, cluster mode, encryption settings and subnet group are
/// fixed for a group's life (a replacement deletes the old group, and its
/// data, first: ids are unique). Node type, engine version, replicas,
/// shards, failover, Multi-AZ, security groups, parameter group, snapshots
/// and the AUTH token change in place.
pub static SCHEMA: Schema = Schema {
    replace_on: &["id", "clusterMode", "atRestEncryption", "kmsKeyId", "transitEncryption", "subnetGroupName"],
    delete_before_replace: true,
    taggable: true,
    graph_check: Some(check_parameter_groups),
    ..Schema::new(TYPE, "aws")
};

/// Node families ElastiCache offers (`cache.<family>.<size>`).
pub const NODE_FAMILIES: &[&str] =
    &["t2", "t3", "t4g", "m3", "m4", "m5", "m6g", "m7g", "r3", "r4", "r5", "r6g", "r6gd", "r7g", "c7gn"];

/// How a replication group's nodes are arranged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterMode {
    /// One shard: a primary and `num_cache_clusters - 1` replicas (1–6
    /// nodes).
    Disabled {
        /// Nodes, the primary included.
        num_cache_clusters: i32,
    },
    /// Data partitioned over shards, each a primary with replicas.
    Enabled {
        /// Shards (1–500).
        num_node_groups: i32,
        /// Replicas of each shard's primary (0–5).
        replicas_per_node_group: i32,
    },
}

impl Default for ClusterMode {
    fn default() -> Self {
        ClusterMode::Disabled { num_cache_clusters: 1 }
    }
}

impl ClusterMode {
    fn replicas(self) -> i32 {
        match self {
            ClusterMode::Disabled { num_cache_clusters } => num_cache_clusters - 1,
            ClusterMode::Enabled { replicas_per_node_group, .. } => replicas_per_node_group,
        }
    }
}

/// A Redis 7 replication group.
///
/// ```
/// use iac_aws::elasticache::{ClusterMode, ReplicationGroup};
/// use iac_core::Output;
/// let sessions = ReplicationGroup::builder()
///     .id("sessions")
///     .node_type("cache.r7g.large")
///     .cluster_mode(ClusterMode::Enabled { num_node_groups: 3, replicas_per_node_group: 1 })
///     .automatic_failover(true)
///     .multi_az(true)
///     .at_rest_encryption(true)
///     .transit_encryption(true)
///     // A secret config value in a real program; sealed in state either way.
///     .auth_token(Output::known("a-long-random-token-0123456789".to_owned()).secret())
///     .snapshot_retention_days(7)
///     .snapshot_window("03:00-04:00")
///     .build();
/// # let _ = sessions;
/// ```
#[derive(bon::Builder)]
pub struct ReplicationGroup {
    /// Its id (replaces when changed): up to 40 lowercase letters, digits
    /// and hyphens, starting with a letter.
    #[builder(into)]
    pub id: String,
    /// What it is for.
    #[builder(into, default = "Managed by iac")]
    pub description: String,
    /// The Redis version (`7.0`, `7.1`); upgrades in place.
    #[builder(into, default = "7.1")]
    pub engine_version: String,
    /// The node type (`cache.t4g.micro`, `cache.r7g.large`); scales in place.
    #[builder(into)]
    pub node_type: String,
    /// One shard with replicas, or several shards (replaces when switched;
    /// the counts change in place).
    #[builder(default)]
    pub cluster_mode: ClusterMode,
    /// Promote a replica when the primary fails (needs a replica without
    /// cluster mode; required with it).
    #[builder(default)]
    pub automatic_failover: bool,
    /// Place replicas in other zones than their primary (needs automatic
    /// failover and a replica).
    #[builder(default)]
    pub multi_az: bool,
    /// Encrypt data at rest (replaces when changed).
    #[builder(default)]
    pub at_rest_encryption: bool,
    /// A KMS key for encryption at rest (replaces when changed).
    #[builder(into)]
    pub kms_key_id: Option<Input<String>>,
    /// TLS between clients and nodes (replaces when changed).
    #[builder(default)]
    pub transit_encryption: bool,
    /// The Redis AUTH token (16–128 printable characters without spaces,
    /// `/`, `"` or `@`; needs transit encryption). Stored sealed and never
    /// read back from AWS. A new token is rotated in: the previous one keeps
    /// working until the next change, so clients can move over.
    #[builder(into)]
    pub auth_token: Option<Input<String>>,
    /// Days automatic snapshots are kept (0–35; 0 turns them off).
    #[builder(default)]
    pub snapshot_retention_days: i32,
    /// The daily snapshot window (`hh:mm-hh:mm` UTC, at least an hour); AWS
    /// picks one when unset.
    #[builder(into)]
    pub snapshot_window: Option<String>,
    /// The subnet group (a [`SubnetGroup`](super::SubnetGroup)'s `name`;
    /// replaces when changed).
    #[builder(into)]
    pub subnet_group_name: Option<Input<String>>,
    /// VPC security groups; unset, AWS uses the VPC's default group.
    #[builder(default, with = |ids: impl IntoIterator<Item = impl Into<Input<String>>>| ids.into_iter().map(Into::into).collect())]
    pub security_group_ids: Vec<Input<String>>,
    /// The parameter group (a [`ParameterGroup`](super::ParameterGroup)'s
    /// `name`, family `redis7`); unset, AWS's default for the cluster mode.
    #[builder(into)]
    pub parameter_group_name: Option<Input<String>>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
    /// Accepts an engine version or node type the AWS catalog does not
    /// hold, saying why (the catalog is older than what ElastiCache offers
    /// now); see [`crate::catalog`]. Not sent to AWS.
    #[builder(into)]
    pub catalog_override: Option<crate::catalog::CatalogOverride>,
}

/// Outputs of a [`ReplicationGroup`].
pub struct ReplicationGroupOutputs {
    /// Its id (the resource's id).
    pub id: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
    /// Where to write, without cluster mode.
    pub primary_endpoint_address: Output<String>,
    /// Where to read (spread over the replicas), without cluster mode.
    pub reader_endpoint_address: Output<String>,
    /// Where cluster-aware clients connect, with cluster mode.
    pub configuration_endpoint_address: Output<String>,
    /// The port.
    pub port: Output<u16>,
}

impl Resource for ReplicationGroup {
    type Outputs = ReplicationGroupOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        let (cluster, clusters, shards, replicas) = match self.cluster_mode {
            ClusterMode::Disabled { num_cache_clusters } => (false, Some(num_cache_clusters), None, None),
            ClusterMode::Enabled { num_node_groups, replicas_per_node_group } => {
                (true, None, Some(num_node_groups), Some(replicas_per_node_group))
            }
        };
        // Whatever the program passed, the token is stored sealed.
        let token = self.auth_token.as_ref().map_or(Expr::Value(Value::Null), |t| Expr::Secret(Box::new(t.to_expr())));
        props([
            ("id", Value::from(self.id.to_ascii_lowercase()).into()),
            ("description", Value::from(self.description.as_str()).into()),
            ("engineVersion", Value::from(self.engine_version.as_str()).into()),
            ("nodeType", Value::from(self.node_type.as_str()).into()),
            ("clusterMode", Value::from(cluster).into()),
            ("numCacheClusters", Value::from(clusters).into()),
            ("numNodeGroups", Value::from(shards).into()),
            ("replicasPerNodeGroup", Value::from(replicas).into()),
            ("automaticFailover", Value::from(self.automatic_failover).into()),
            ("multiAz", Value::from(self.multi_az).into()),
            ("atRestEncryption", Value::from(self.at_rest_encryption).into()),
            ("kmsKeyId", opt_expr(self.kms_key_id.as_ref())),
            ("transitEncryption", Value::from(self.transit_encryption).into()),
            ("authToken", token),
            ("snapshotRetentionLimit", Value::from(self.snapshot_retention_days).into()),
            ("snapshotWindow", Value::from(self.snapshot_window.clone()).into()),
            ("subnetGroupName", opt_expr(self.subnet_group_name.as_ref())),
            ("securityGroupIds", list_expr(&self.security_group_ids)),
            ("parameterGroupName", opt_expr(self.parameter_group_name.as_ref())),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> ReplicationGroupOutputs {
        ReplicationGroupOutputs {
            id: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            primary_endpoint_address: Output::from_ref(urn, "primaryEndpointAddress"),
            reader_endpoint_address: Output::from_ref(urn, "readerEndpointAddress"),
            configuration_endpoint_address: Output::from_ref(urn, "configurationEndpointAddress"),
            port: Output::from_ref(urn, "port"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        check_name(c, "id", &self.id, 40, true);
        c.check(!self.description.is_empty(), "description", || "a description is required".into());
        c.check(is_redis7(&self.engine_version), "engineVersion", || {
            format!("`{}` is not a Redis 7 version (like 7.0 or 7.1)", self.engine_version)
        });
        let mut cat = crate::catalog::Scope::new(self.catalog_override.as_ref());
        if is_redis7(&self.engine_version) {
            cat.report(c, "engineVersion", crate::catalog::engine_versions::check("redis", &self.engine_version));
        }
        if let Err(why) = check_node_type(&self.node_type) {
            c.fail("nodeType", format!("`{}`: {why}", self.node_type));
        } else {
            cat.report(c, "nodeType", crate::catalog::instance_classes::check("elasticache", &self.node_type));
        }
        let replicas = self.cluster_mode.replicas();
        match self.cluster_mode {
            ClusterMode::Disabled { num_cache_clusters: n } => {
                c.check((1..=6).contains(&n), "numCacheClusters", || {
                    format!("{n} nodes: a group without cluster mode has 1 to 6 (a primary and up to 5 replicas)")
                });
                c.check(!self.automatic_failover || n >= 2, "automaticFailover", || {
                    format!("automatic failover needs a replica to promote; num_cache_clusters is {n}, at least 2")
                });
            }
            ClusterMode::Enabled { num_node_groups: s, replicas_per_node_group: r } => {
                c.check((1..=500).contains(&s), "numNodeGroups", || format!("{s} shards: 1 to 500"));
                c.check((0..=5).contains(&r), "replicasPerNodeGroup", || format!("{r} replicas: 0 to 5 per shard"));
                c.check(self.automatic_failover, "automaticFailover", || {
                    "cluster mode requires automatic failover".into()
                });
            }
        }
        if self.multi_az {
            c.check(self.automatic_failover && replicas >= 1, "multiAz", || {
                format!(
                    "Multi-AZ needs automatic failover and at least one replica (failover {}, {replicas} replicas)",
                    if self.automatic_failover { "on" } else { "off" }
                )
            });
        }
        c.check(self.kms_key_id.is_none() || self.at_rest_encryption, "kmsKeyId", || {
            "a KMS key needs at_rest_encryption".into()
        });
        if let Some(token) = &self.auth_token {
            c.check(self.transit_encryption, "authToken", || {
                "an AUTH token needs transit_encryption (AWS only accepts one over TLS)".into()
            });
            if let Some(t) = known_token(token) {
                c.check((16..=128).contains(&t.len()), "authToken", || {
                    format!("the token is {} characters; 16 to 128 are allowed", t.len())
                });
                c.check(t.chars().all(|ch| ch.is_ascii_graphic() && !"/\"@".contains(ch)), "authToken", || {
                    "the token may only hold printable ASCII without spaces, /, \" or @".into()
                });
            }
        }
        c.check((0..=35).contains(&self.snapshot_retention_days), "snapshotRetentionLimit", || {
            format!("{} days: 0 to 35", self.snapshot_retention_days)
        });
        if let Some(w) = &self.snapshot_window {
            if let Err(why) = check_window(w) {
                c.fail("snapshotWindow", format!("`{w}`: {why}"));
            }
        }
        cat.finish(c);
    }
}

fn is_redis7(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts[0] == "7"
        && (2..=3).contains(&parts.len())
        && parts[1..].iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// Checks `cache.<family>.<size>`.
fn check_node_type(t: &str) -> Result<(), String> {
    let Some(rest) = t.strip_prefix("cache.") else {
        return Err("node types start with `cache.` (like cache.t4g.micro)".into());
    };
    let Some((family, size)) = rest.split_once('.') else {
        return Err("a node type is `cache.<family>.<size>` (like cache.r7g.large)".into());
    };
    if !NODE_FAMILIES.contains(&family) {
        return Err(format!("`{family}` is not a node family ({})", NODE_FAMILIES.join(", ")));
    }
    let known = ["micro", "small", "medium", "large", "xlarge"].contains(&size)
        || size.strip_suffix("xlarge").is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    if known {
        Ok(())
    } else {
        Err(format!("`{size}` is not a node size (micro, small, medium, large, xlarge, 2xlarge, …)"))
    }
}

/// Checks `hh:mm-hh:mm` (UTC) spanning at least an hour.
fn check_window(w: &str) -> Result<(), String> {
    // Minutes after midnight of `hh:mm`.
    let minutes = |s: &str| -> Option<i32> {
        let (h, m) = s.split_once(':')?;
        if h.len() != 2 || m.len() != 2 || !(h.chars().chain(m.chars())).all(|c| c.is_ascii_digit()) {
            return None;
        }
        let (h, m) = (h.parse::<i32>().ok()?, m.parse::<i32>().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    };
    let (Some(start), Some(end)) = w.split_once('-').map_or((None, None), |(a, b)| (minutes(a), minutes(b))) else {
        return Err("a window is `hh:mm-hh:mm` in 24-hour UTC time, like 03:00-04:00".into());
    };
    let span = (end - start).rem_euclid(24 * 60);
    if span < 60 {
        return Err(format!("the window is {span} minutes; it must be at least 60"));
    }
    Ok(())
}

/// A parameter group declared in the program must suit the group using it:
/// family `redis7`, and `cluster-enabled` set to `yes` exactly when cluster
/// mode is on (AWS would refuse either at create).
fn check_parameter_groups(g: &Graph, out: &mut Vec<Diagnostic>) {
    for d in g.resources.values().filter(|d| d.type_token == TYPE) {
        let Some(Expr::Ref { urn, .. }) = d.input("parameterGroupName") else { continue };
        let Some(pg) = g.resources.get(urn).filter(|r| r.type_token == parameter_group::TYPE) else { continue };
        let mut report = |message: String| {
            out.push(Diagnostic {
                urn: d.urn.clone(),
                type_token: TYPE.into(),
                field: "parameterGroupName".into(),
                message,
            })
        };
        if let Some(family) = pg.plain_input("family").and_then(Value::as_str).filter(|f| *f != "redis7") {
            report(format!("parameter group `{urn}` is of family `{family}`; Redis 7 needs `redis7`"));
        }
        let Some(Value::Bool(cluster)) = d.plain_input("clusterMode") else { continue };
        let enabled = pg.plain_input("parameters").is_some_and(|p| p.get("cluster-enabled").as_str() == Some("yes"));
        if *cluster && !enabled {
            report(format!("cluster mode needs parameter group `{urn}` to set `cluster-enabled` to `yes`"));
        } else if !*cluster && enabled {
            report(format!("parameter group `{urn}` sets `cluster-enabled` to `yes`, but cluster mode is off"));
        }
    }
}

// ---- handler ----------------------------------------------------------

const GONE: &[&str] = &["ReplicationGroupNotFoundFault"];
/// AWS's parameter group for Redis 7 in cluster mode, used when the program
/// names none (the plain default would not enable cluster mode).
const DEFAULT_CLUSTER_PARAMETERS: &str = "default.redis7.cluster.on";
const DEFAULT_PARAMETERS: &str = "default.redis7";

async fn get(p: &AwsProvider, id: &str) -> Result<Option<SdkReplicationGroup>, ProviderError> {
    match p.elasticache().await.describe_replication_groups().replication_group_id(id).send().await {
        Ok(o) => Ok(o.replication_groups().first().cloned()),
        Err(e) if is_code(&e, GONE) => Ok(None),
        Err(e) => Err(aws_err("DescribeReplicationGroups", e)),
    }
}

/// A member cluster: AWS reports the engine version, subnet group, security
/// groups and parameter group per cluster, not per replication group.
async fn member(p: &AwsProvider, rg: &SdkReplicationGroup) -> Result<Option<CacheCluster>, ProviderError> {
    let Some(id) = rg.member_clusters().first() else { return Ok(None) };
    match p.elasticache().await.describe_cache_clusters().cache_cluster_id(id).send().await {
        Ok(o) => Ok(o.cache_clusters().first().cloned()),
        Err(e) if is_code(&e, &["CacheClusterNotFound"]) => Ok(None),
        Err(e) => Err(aws_err("DescribeCacheClusters", e)),
    }
}

fn is_cluster(rg: &SdkReplicationGroup) -> bool {
    rg.cluster_enabled() == Some(true) || rg.cluster_mode() == Some(&SdkClusterMode::Enabled)
}

fn outputs(rg: &SdkReplicationGroup) -> Value {
    let primary = rg.node_groups().first().filter(|_| !is_cluster(rg));
    let config = rg.configuration_endpoint().filter(|_| is_cluster(rg));
    let port =
        config.and_then(|e| e.port()).or_else(|| primary.and_then(|g| g.primary_endpoint()).and_then(|e| e.port()));
    map([
        ("arn", Value::from(rg.arn())),
        ("primaryEndpointAddress", Value::from(primary.and_then(|g| g.primary_endpoint()).and_then(|e| e.address()))),
        ("readerEndpointAddress", Value::from(primary.and_then(|g| g.reader_endpoint()).and_then(|e| e.address()))),
        ("configurationEndpointAddress", Value::from(config.and_then(|e| e.address()))),
        ("port", Value::from(port)),
    ])
}

/// AWS reports the full version (`7.1.0`) for the one asked for (`7.1`).
fn engine_version(actual: Option<&str>, recorded: Option<&str>) -> Option<String> {
    let actual = actual?;
    match recorded {
        Some(r) if actual == r || actual.strip_prefix(r).is_some_and(|rest| rest.starts_with('.')) => {
            Some(r.to_owned())
        }
        _ => Some(actual.to_owned()),
    }
}

/// AWS reports a key's ARN for the id (or ARN) given.
fn kms_key(actual: Option<&str>, recorded: Option<&str>) -> Option<String> {
    let actual = actual?;
    match recorded {
        Some(r) if actual == r || actual.ends_with(&format!("/{r}")) => Some(r.to_owned()),
        _ => Some(actual.to_owned()),
    }
}

fn values(
    rg: &SdkReplicationGroup,
    node: Option<&CacheCluster>,
    tags: &BTreeMap<String, String>,
    recorded: &Value,
) -> Value {
    let cluster = is_cluster(rg);
    let members = rg.member_clusters().len() as i64;
    let shards = rg.node_groups().len().max(1) as i64;
    let token_enabled = rg.auth_token_enabled() == Some(true);
    let groups: Vec<String> = node
        .map(|n| n.security_groups().iter().filter_map(|g| g.security_group_id()).map(str::to_owned).collect())
        .unwrap_or_default();
    let mut inputs = map([
        ("id", Value::from(rg.replication_group_id())),
        ("description", Value::from(rg.description())),
        (
            "engineVersion",
            Value::from(engine_version(node.and_then(|n| n.engine_version()), recorded.get("engineVersion").as_str())),
        ),
        ("nodeType", Value::from(rg.cache_node_type())),
        ("clusterMode", Value::from(cluster)),
        ("numCacheClusters", Value::from((!cluster).then_some(members))),
        ("numNodeGroups", Value::from(cluster.then_some(shards))),
        ("replicasPerNodeGroup", Value::from(cluster.then_some(members / shards - 1))),
        (
            "automaticFailover",
            Value::from(matches!(
                rg.automatic_failover(),
                Some(AutomaticFailoverStatus::Enabled | AutomaticFailoverStatus::Enabling)
            )),
        ),
        ("multiAz", Value::from(rg.multi_az() == Some(&MultiAzStatus::Enabled))),
        ("atRestEncryption", Value::from(rg.at_rest_encryption_enabled().unwrap_or(false))),
        ("kmsKeyId", Value::from(kms_key(rg.kms_key_id(), recorded.get("kmsKeyId").as_str()))),
        ("transitEncryption", Value::from(rg.transit_encryption_enabled().unwrap_or(false))),
        ("snapshotRetentionLimit", Value::from(rg.snapshot_retention_limit().unwrap_or(0))),
        ("snapshotWindow", Value::from(rg.snapshot_window())),
        ("subnetGroupName", Value::from(node.and_then(|n| n.cache_subnet_group_name()))),
        ("securityGroupIds", ordered_like(groups, recorded.get("securityGroupIds"))),
        (
            "parameterGroupName",
            Value::from(node.and_then(|n| n.cache_parameter_group()).and_then(|g| g.cache_parameter_group_name())),
        ),
        ("tags", tags_value(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))),
    ]);
    // AWS chooses these when they are not given.
    drop_computed_when_unset(
        &mut inputs,
        recorded,
        &["snapshotWindow", "securityGroupIds", "parameterGroupName", "subnetGroupName", "kmsKeyId"],
    );
    // AWS never returns the token, only whether there is one: the recorded
    // (sealed) value stands while one is set.
    if token_enabled {
        keep_write_only(&mut inputs, recorded, &["authToken"]);
    }
    inputs
}

async fn describe(p: &AwsProvider, rg: &SdkReplicationGroup, recorded: &Value) -> Result<Value, ProviderError> {
    let node = member(p, rg).await?;
    let tags = tags_of(p, rg.arn().unwrap_or_default()).await?;
    Ok(values(rg, node.as_ref(), &tags, recorded))
}

/// Waits until the group is available (creation and node-type changes take
/// tens of minutes).
async fn wait_available(
    p: &AwsProvider,
    id: &str,
    timeout: Option<Duration>,
) -> Result<SdkReplicationGroup, ProviderError> {
    wait_for(&format!("replication group {id} available"), timeout, Duration::from_secs(3600), || async {
        let Some(rg) = get(p, id).await? else { return Ok(None) };
        match rg.status() {
            Some("available") => Ok(Some(rg)),
            Some("create-failed") => {
                Err(ProviderError::fatal("CreateReplicationGroup", format!("replication group {id} failed to create")))
            }
            _ => Ok(None),
        }
    })
    .await
}

async fn set_replicas(
    p: &AwsProvider,
    id: &str,
    was: i32,
    now: i32,
    timeout: Option<Duration>,
) -> Result<(), ProviderError> {
    let ec = p.elasticache().await;
    if now > was {
        ec.increase_replica_count()
            .replication_group_id(id)
            .new_replica_count(now)
            .apply_immediately(true)
            .send()
            .await
            .map_err(|e| aws_err("IncreaseReplicaCount", e))?;
    } else {
        ec.decrease_replica_count()
            .replication_group_id(id)
            .new_replica_count(now)
            .apply_immediately(true)
            .send()
            .await
            .map_err(|e| aws_err("DecreaseReplicaCount", e))?;
    }
    wait_available(p, id, timeout).await?;
    Ok(())
}

async fn set_shards(p: &AwsProvider, id: &str, now: i32, timeout: Option<Duration>) -> Result<(), ProviderError> {
    let op = "ModifyReplicationGroupShardConfiguration";
    let rg = get(p, id).await?.ok_or_else(|| ProviderError::fatal(op, "the replication group is gone"))?;
    let mut ids: Vec<&str> = rg.node_groups().iter().filter_map(|g| g.node_group_id()).collect();
    ids.sort_unstable();
    // Shrinking removes the newest shards; their slots move to the others.
    let remove: Vec<String> = ids.iter().skip(now.max(0) as usize).map(|s| (*s).to_owned()).collect();
    p.elasticache()
        .await
        .modify_replication_group_shard_configuration()
        .replication_group_id(id)
        .node_group_count(now)
        .apply_immediately(true)
        .set_node_groups_to_remove(Some(remove).filter(|r| !r.is_empty()))
        .send()
        .await
        .map_err(|e| aws_err(op, e))?;
    wait_available(p, id, timeout).await?;
    Ok(())
}

fn replicas(i: &In<'_>) -> i32 {
    if i.bool("clusterMode") {
        i.opt_i32("replicasPerNodeGroup").unwrap_or(0)
    } else {
        i.opt_i32("numCacheClusters").unwrap_or(1) - 1
    }
}

/// The AUTH token when it is known at preview: given as a value, or (the
/// usual way) secret config, a known value marked secret. The checks never
/// quote it.
fn known_token(token: &Input<String>) -> Option<&str> {
    match token {
        Input::Value(t) => Some(t.as_str()),
        Input::Output(o) => match o.expr() {
            Expr::Secret(inner) => inner.as_value().and_then(Value::as_str),
            e => e.as_value().and_then(Value::as_str),
        },
    }
}

pub(crate) struct ReplicationGroupHandler;

#[async_trait]
impl Handler for ReplicationGroupHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateReplicationGroup";
        let i = In::new(&req.inputs, op);
        let id = i.str("id")?;
        let sgs = i.strs("securityGroupIds");
        let parameters = i.opt_str("parameterGroupName").map(str::to_owned);
        let c = p
            .elasticache()
            .await
            .create_replication_group()
            .replication_group_id(id)
            .replication_group_description(i.opt_str("description").unwrap_or("Managed by iac"))
            .engine("redis")
            .engine_version(i.str("engineVersion")?)
            .cache_node_type(i.str("nodeType")?)
            .automatic_failover_enabled(i.bool("automaticFailover"))
            .multi_az_enabled(i.bool("multiAz"))
            .at_rest_encryption_enabled(i.bool("atRestEncryption"))
            .set_kms_key_id(i.opt_str("kmsKeyId").map(str::to_owned))
            .transit_encryption_enabled(i.bool("transitEncryption"))
            .set_auth_token(i.opt_str("authToken").map(str::to_owned))
            .snapshot_retention_limit(i.opt_i32("snapshotRetentionLimit").unwrap_or(0))
            .set_snapshot_window(i.opt_str("snapshotWindow").map(str::to_owned))
            .set_cache_subnet_group_name(i.opt_str("subnetGroupName").map(str::to_owned))
            .set_security_group_ids(Some(sgs).filter(|s| !s.is_empty()))
            .set_tags(Some(ec_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))));
        let c = if i.bool("clusterMode") {
            c.cluster_mode(SdkClusterMode::Enabled)
                .set_num_node_groups(i.opt_i32("numNodeGroups"))
                .set_replicas_per_node_group(i.opt_i32("replicasPerNodeGroup"))
                .cache_parameter_group_name(parameters.unwrap_or_else(|| DEFAULT_CLUSTER_PARAMETERS.to_owned()))
        } else {
            c.cluster_mode(SdkClusterMode::Disabled)
                .set_num_cache_clusters(i.opt_i32("numCacheClusters"))
                .set_cache_parameter_group_name(parameters)
        };
        c.customize().no_sdk_retry().send().await.map_err(|e| aws_err(op, e))?;
        let rg = wait_available(p, id, req.timeout).await?;
        Ok(CreateResult { id: id.to_owned(), outputs: outputs(&rg) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        // A group still `deleting` exists: its subnet and parameter groups
        // stay in use until it is gone, so a delete a dead run left in
        // flight must be finished (waited for), not taken as done.
        let Some(rg) = get(p, &req.id).await? else { return Ok(None) };
        Ok(Some(ReadResult { inputs: describe(p, &rg, &req.inputs).await?, outputs: outputs(&rg), id: req.id }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let op = "ModifyReplicationGroup";
        let (old, new) = (In::new(&req.old_inputs, ""), In::new(&req.inputs, op));
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        let id = req.id.as_str();
        let ec = p.elasticache().await;
        let cluster = new.bool("clusterMode");
        let (replicas_was, replicas_now) = (replicas(&old), replicas(&new));
        let shards_was = old.opt_i32("numNodeGroups").unwrap_or(1);
        let shards_now = new.opt_i32("numNodeGroups").unwrap_or(1);

        // Grow first: Multi-AZ and failover need the replicas to exist.
        if replicas_now > replicas_was {
            set_replicas(p, id, replicas_was, replicas_now, req.timeout).await?;
        }
        if cluster && shards_now > shards_was {
            set_shards(p, id, shards_now, req.timeout).await?;
        }

        let mut m = ec.modify_replication_group().replication_group_id(id).apply_immediately(true);
        let mut modify = false;
        if changed("description") {
            m = m.replication_group_description(new.opt_str("description").unwrap_or("Managed by iac"));
            modify = true;
        }
        if changed("engineVersion") {
            m = m.engine_version(new.str("engineVersion")?);
            modify = true;
        }
        if changed("nodeType") {
            m = m.cache_node_type(new.str("nodeType")?);
            modify = true;
        }
        if changed("automaticFailover") {
            m = m.automatic_failover_enabled(new.bool("automaticFailover"));
            modify = true;
        }
        if changed("multiAz") {
            m = m.multi_az_enabled(new.bool("multiAz"));
            modify = true;
        }
        if changed("securityGroupIds") && !new.strs("securityGroupIds").is_empty() {
            m = m.set_security_group_ids(Some(new.strs("securityGroupIds")));
            modify = true;
        }
        if changed("parameterGroupName") {
            let default = if cluster { DEFAULT_CLUSTER_PARAMETERS } else { DEFAULT_PARAMETERS };
            m = m.cache_parameter_group_name(new.opt_str("parameterGroupName").unwrap_or(default));
            modify = true;
        }
        if changed("snapshotRetentionLimit") {
            m = m.snapshot_retention_limit(new.opt_i32("snapshotRetentionLimit").unwrap_or(0));
            modify = true;
        }
        if changed("snapshotWindow") {
            if let Some(w) = new.opt_str("snapshotWindow") {
                m = m.snapshot_window(w);
                modify = true;
            }
        }
        if modify {
            m.send().await.map_err(|e| aws_err(op, e))?;
            wait_available(p, id, req.timeout).await?;
        }

        // The token goes alone: AWS takes no other change with it.
        if changed("authToken") {
            let Some(token) = new.opt_str("authToken") else {
                return Err(ProviderError::fatal(
                    op,
                    format!(
                        "replication group {id}: AWS cannot remove an AUTH token (only move to RBAC user groups); \
                         keep a token, or replace the group under a new id"
                    ),
                ));
            };
            ec.modify_replication_group()
                .replication_group_id(id)
                .auth_token(token)
                .auth_token_update_strategy(AuthTokenUpdateStrategyType::Rotate)
                .apply_immediately(true)
                .send()
                .await
                .map_err(|e| aws_err(op, e))?;
            wait_available(p, id, req.timeout).await?;
        }

        // Shrink last, once Multi-AZ no longer needs the replicas.
        if cluster && shards_now < shards_was {
            set_shards(p, id, shards_now, req.timeout).await?;
        }
        if replicas_now < replicas_was {
            set_replicas(p, id, replicas_was, replicas_now, req.timeout).await?;
        }

        let rg = wait_available(p, id, req.timeout).await?;
        if changed("tags") {
            update_tags(ec, rg.arn().unwrap_or_default(), &old.tags(), &new.tags()).await?;
        }
        Ok(UpdateResult { outputs: outputs(&rg) })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let op = "DeleteReplicationGroup";
        match p.elasticache().await.delete_replication_group().replication_group_id(&req.id).send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, GONE) => return Ok(()),
            // Already deleting (a run that died mid-delete): wait it out.
            Err(e)
                if is_code(&e, &["InvalidReplicationGroupState"])
                    && get(p, &req.id).await?.is_some_and(|rg| rg.status() == Some("deleting")) => {}
            // Still creating or modifying: deletable once that is done.
            Err(e) if is_code(&e, &["InvalidReplicationGroupState"]) => {
                return Err(ProviderError { kind: ErrorKind::Retriable, ..aws_err(op, e) })
            }
            Err(e) => return Err(aws_err(op, e)),
        }
        // `deleting` until its nodes are gone; only then are its subnet and
        // parameter groups free.
        wait_for(&format!("replication group {} deleted", req.id), req.timeout, Duration::from_secs(2400), || async {
            Ok(get(p, &req.id).await?.is_none().then_some(()))
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(id) = In::new(&req.inputs, "").opt_str("id") else { return Ok(None) };
        let Some(rg) = get(p, id).await?.filter(|rg| rg.status() != Some("deleting")) else { return Ok(None) };
        let tags = tags_of(p, rg.arn().unwrap_or_default()).await?;
        if !has_identity(&tags, &req.stack, req.urn.as_str()) {
            return Ok(None);
        }
        let found =
            ReadResult { inputs: describe(p, &rg, &req.inputs).await?, outputs: outputs(&rg), id: id.to_owned() };
        Ok(unless_known(&req, Some(found)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_types() {
        for ok in ["cache.t4g.micro", "cache.r7g.large", "cache.m6g.12xlarge", "cache.r6gd.xlarge"] {
            assert_eq!(check_node_type(ok), Ok(()), "{ok}");
        }
        for bad in ["t4g.micro", "cache.x9.large", "cache.t4g", "cache.t4g.huge", "cache.r7g.xxlarge"] {
            assert!(check_node_type(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn snapshot_windows() {
        for ok in ["03:00-04:00", "23:30-00:30", "05:00-09:00"] {
            assert_eq!(check_window(ok), Ok(()), "{ok}");
        }
        for bad in ["03:00-03:30", "3:00-4:00", "25:00-26:00", "03:00", "03:00-04:60"] {
            assert!(check_window(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_read_back_as_given() {
        assert!(is_redis7("7.1") && is_redis7("7.0.7") && !is_redis7("6.2") && !is_redis7("7") && !is_redis7("7.x"));
        assert_eq!(engine_version(Some("7.1.0"), Some("7.1")).as_deref(), Some("7.1"));
        assert_eq!(engine_version(Some("7.10.0"), Some("7.1")).as_deref(), Some("7.10.0"));
        assert_eq!(kms_key(Some("arn:aws:kms:us-east-1:1:key/abc"), Some("abc")).as_deref(), Some("abc"));
    }
}
