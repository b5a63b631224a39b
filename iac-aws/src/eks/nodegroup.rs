//! `NodeGroup`: an EKS managed node group.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eks::types::{
    AmiTypes, CapacityTypes, NodegroupScalingConfig, NodegroupStatus, UpdateLabelsPayload, UpdateTaintsPayload,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};
use serde::{Deserialize, Serialize};

use super::ClusterName;
use super::{check_name, eks_err, has_identity, list_expr, ordered_like, tag_pairs, update_tags, wait_update};
use crate::error::is_code;
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{drop_computed_when_unset, map, tags_value, tags_with_identity, unless_known, wait_for, In};

pub(crate) const TYPE: &str = "aws:eks:NodeGroup";

/// Schema: scaling, labels, taints and tags update in place
/// (`UpdateNodegroupConfig`); the rest is fixed for a node group's life,
/// and its name must be unique in the cluster, so a replacement deletes the
/// old node group first.
pub static SCHEMA: Schema = Schema {
    replace_on: &[
        "clusterName",
        "nodegroupName",
        "nodeRoleArn",
        "subnetIds",
        "instanceTypes",
        "capacityType",
        "diskSize",
        "amiType",
    ],
    delete_before_replace: true,
    taggable: true,
    ..Schema::new(TYPE, "aws")
};

const AWS_DEFAULTED: &[&str] = &["diskSize", "amiType"];

/// An EKS managed node group. A cluster autoscaler changes the desired size:
/// ignore it with `ResourceOptions::ignore_changes(["scaling.desiredSize"])`.
///
/// ```no_run
/// use iac_aws::eks::{CapacityType, NodeGroup, ScalingConfig};
/// fn nodes(s: &iac_core::Stack, cluster: &iac_aws::eks::ClusterOutputs) {
///     s.add(
///         "general",
///         NodeGroup::builder()
///             .cluster_name(cluster.id.clone())
///             .nodegroup_name("general")
///             .node_role_arn("arn:aws:iam::123456789012:role/eks-node")
///             .subnet_ids(["subnet-0aaa", "subnet-0bbb"])
///             .instance_types(vec!["m6i.large".into()])
///             .capacity_type(CapacityType::Spot)
///             .scaling(ScalingConfig::builder().min_size(1).desired_size(2).max_size(5).build())
///             .build(),
///     );
/// }
/// ```
#[derive(bon::Builder)]
pub struct NodeGroup {
    /// The cluster (replaces when changed).
    #[builder(into)]
    pub cluster_name: Input<ClusterName>,
    /// The node group's name, unique in the cluster (replaces when changed).
    #[builder(into)]
    pub nodegroup_name: String,
    /// The role the nodes run as (replaces when changed).
    #[builder(into)]
    pub node_role_arn: Input<String>,
    /// Subnets the nodes go in (replaces when changed).
    #[builder(with = |ids: impl IntoIterator<Item = impl Into<Input<String>>>| ids.into_iter().map(Into::into).collect())]
    pub subnet_ids: Vec<Input<String>>,
    /// Instance types (replaces when changed).
    pub instance_types: Vec<String>,
    /// On-demand or Spot capacity (replaces when changed).
    #[builder(default = CapacityType::OnDemand)]
    pub capacity_type: CapacityType,
    /// How many nodes (updates in place).
    pub scaling: ScalingConfig,
    /// Root volume size in GiB (AWS default 20; replaces when changed).
    pub disk_size: Option<i32>,
    /// Kubernetes labels of the nodes (update in place).
    #[builder(default)]
    pub labels: BTreeMap<String, String>,
    /// Kubernetes taints of the nodes (update in place).
    #[builder(default)]
    pub taints: Vec<Taint>,
    /// The AMI type (`AL2023_x86_64_STANDARD`, `BOTTLEROCKET_ARM_64`, …);
    /// AWS picks one for the instance types when unset. Replaces when
    /// changed.
    #[builder(into)]
    pub ami_type: Option<String>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
    /// Accepts EC2 instance types the AWS catalog does not
    /// hold, saying why (the catalog is older than what EC2 offers
    /// now); see [`crate::catalog`]. Not sent to AWS.
    #[builder(into)]
    pub catalog_override: Option<crate::catalog::CatalogOverride>,
}

/// On-demand or Spot instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CapacityType {
    /// On-demand instances.
    OnDemand,
    /// Spot instances.
    Spot,
}

impl CapacityType {
    fn as_str(self) -> &'static str {
        match self {
            CapacityType::OnDemand => "ON_DEMAND",
            CapacityType::Spot => "SPOT",
        }
    }
}

/// A node group's size: `min_size ≤ desired_size ≤ max_size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, bon::Builder)]
#[serde(rename_all = "camelCase")]
pub struct ScalingConfig {
    /// The fewest nodes.
    pub min_size: i32,
    /// The nodes wanted now.
    pub desired_size: i32,
    /// The most nodes (at least 1).
    pub max_size: i32,
}

/// A Kubernetes taint put on every node of the group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bon::Builder)]
pub struct Taint {
    /// The key.
    #[builder(into)]
    pub key: String,
    /// The value.
    #[builder(into)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What the taint does to pods that do not tolerate it.
    pub effect: TaintEffect,
}

/// What a taint does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaintEffect {
    /// Pods are not scheduled.
    NoSchedule,
    /// Pods are not scheduled and running ones are evicted.
    NoExecute,
    /// Pods are scheduled elsewhere when possible.
    PreferNoSchedule,
}

/// Outputs of a [`NodeGroup`].
pub struct NodeGroupOutputs {
    /// `<cluster>:<node group>` (the resource's id).
    pub id: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
    /// Its name.
    pub nodegroup_name: Output<String>,
    /// The Auto Scaling groups EKS manages for it.
    pub autoscaling_groups: Output<Vec<String>>,
}

impl Resource for NodeGroup {
    type Outputs = NodeGroupOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("clusterName", self.cluster_name.to_expr()),
            ("nodegroupName", Value::from(self.nodegroup_name.as_str()).into()),
            ("nodeRoleArn", self.node_role_arn.to_expr()),
            ("subnetIds", list_expr(&self.subnet_ids)),
            ("instanceTypes", Value::from(self.instance_types.clone()).into()),
            ("capacityType", Value::from(self.capacity_type.as_str()).into()),
            ("scaling", Value::from_serialize(&self.scaling).into()),
            ("diskSize", Value::from(self.disk_size).into()),
            ("labels", Value::from(self.labels.clone()).into()),
            ("taints", Value::from_serialize(&self.taints).into()),
            ("amiType", Value::from(self.ami_type.clone()).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> NodeGroupOutputs {
        NodeGroupOutputs {
            id: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            nodegroup_name: Output::from_ref(urn, "nodegroupName"),
            autoscaling_groups: Output::from_ref(urn, "autoscalingGroups"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        check_name(c, "nodegroupName", &self.nodegroup_name, 63);
        let s = self.scaling;
        c.check(s.min_size >= 0, "scaling", || format!("minSize {} cannot be negative", s.min_size));
        c.check(s.max_size >= 1, "scaling", || format!("maxSize {} must be at least 1", s.max_size));
        c.check(s.min_size <= s.desired_size && s.desired_size <= s.max_size, "scaling", || {
            format!("minSize {} ≤ desiredSize {} ≤ maxSize {} does not hold", s.min_size, s.desired_size, s.max_size)
        });
        c.check(!self.instance_types.is_empty(), "instanceTypes", || {
            "a node group needs at least one instance type".into()
        });
        let mut cat = crate::catalog::Scope::new(self.catalog_override.as_ref());
        for (n, t) in self.instance_types.iter().enumerate() {
            if t.contains('.') {
                cat.report(c, "instanceTypes", crate::catalog::node_types::check(t));
            } else {
                c.fail("instanceTypes", format!("`{t}` is not an instance type (like `m6i.large`)"));
            }
            if self.instance_types[..n].contains(t) {
                c.fail("instanceTypes", format!("`{t}` is listed twice"));
            }
        }
        c.check(!self.subnet_ids.is_empty(), "subnetIds", || "a node group needs at least one subnet".into());
        if let Some(d) = self.disk_size {
            c.check((1..=16384).contains(&d), "diskSize", || format!("`{d}` GiB is outside 1..=16384"));
        }
        c.check(self.taints.len() <= 50, "taints", || format!("{} taints given; at most 50", self.taints.len()));
        cat.finish(c);
    }
}

pub(crate) struct NodeGroupHandler;

fn what(cluster: &str, name: &str) -> String {
    format!("EKS node group `{name}` of cluster `{cluster}`")
}

/// `<cluster>:<node group>` → the two names.
fn split_id(id: &str) -> Result<(&str, &str), ProviderError> {
    id.split_once(':')
        .ok_or_else(|| ProviderError::fatal("DescribeNodegroup", format!("`{id}` is not `<cluster>:<node group>`")))
}

async fn describe(
    p: &AwsProvider,
    cluster: &str,
    name: &str,
) -> Result<Option<aws_sdk_eks::types::Nodegroup>, ProviderError> {
    match p.eks().await.describe_nodegroup().cluster_name(cluster).nodegroup_name(name).send().await {
        Ok(o) => Ok(o.nodegroup().filter(|n| n.status() != Some(&NodegroupStatus::Deleting)).cloned()),
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(None),
        Err(e) => Err(eks_err("DescribeNodegroup", &what(cluster, name), e)),
    }
}

fn taint_values(n: &aws_sdk_eks::types::Nodegroup) -> Value {
    Value::List(
        n.taints()
            .iter()
            .map(|t| {
                map([
                    ("key", Value::from(t.key())),
                    ("value", Value::from(t.value())),
                    ("effect", Value::from(t.effect().map(|e| e.as_str()))),
                ])
            })
            .collect(),
    )
}

fn values(n: &aws_sdk_eks::types::Nodegroup, recorded: &Value) -> (Value, Value) {
    let scaling = n.scaling_config().map_or(Value::Null, |s| {
        map([
            ("minSize", Value::from(s.min_size())),
            ("desiredSize", Value::from(s.desired_size())),
            ("maxSize", Value::from(s.max_size())),
        ])
    });
    let labels: BTreeMap<String, Value> =
        n.labels().map(|l| l.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect()).unwrap_or_default();
    let mut inputs = map([
        ("clusterName", Value::from(n.cluster_name())),
        ("nodegroupName", Value::from(n.nodegroup_name())),
        ("nodeRoleArn", Value::from(n.node_role())),
        ("subnetIds", ordered_like(n.subnets().to_vec(), recorded.get("subnetIds"))),
        ("instanceTypes", Value::from(n.instance_types().to_vec())),
        ("capacityType", Value::from(n.capacity_type().map(|c| c.as_str()))),
        ("scaling", scaling),
        ("diskSize", Value::from(n.disk_size())),
        ("labels", Value::Map(labels)),
        ("taints", taint_values(n)),
        ("amiType", Value::from(n.ami_type().map(|a| a.as_str()))),
        ("tags", tags_value(tag_pairs(n.tags()))),
    ]);
    drop_computed_when_unset(&mut inputs, recorded, AWS_DEFAULTED);
    (inputs, outputs(n))
}

fn outputs(n: &aws_sdk_eks::types::Nodegroup) -> Value {
    let asgs: Vec<String> = n
        .resources()
        .map(|r| r.auto_scaling_groups().iter().filter_map(|g| g.name().map(str::to_owned)).collect())
        .unwrap_or_default();
    map([
        ("arn", Value::from(n.nodegroup_arn())),
        ("nodegroupName", Value::from(n.nodegroup_name())),
        ("autoscalingGroups", Value::from(asgs)),
    ])
}

fn scaling_sdk(v: &Value) -> Option<NodegroupScalingConfig> {
    let s: ScalingConfig = serde_json::from_value(v.to_plain_json()?).ok()?;
    Some(
        NodegroupScalingConfig::builder()
            .min_size(s.min_size)
            .desired_size(s.desired_size)
            .max_size(s.max_size)
            .build(),
    )
}

fn taints_in(v: &Value) -> Vec<Taint> {
    v.to_plain_json().and_then(|j| serde_json::from_value(j).ok()).unwrap_or_default()
}

fn taint_sdk(t: &Taint) -> aws_sdk_eks::types::Taint {
    aws_sdk_eks::types::Taint::builder()
        .key(&t.key)
        .set_value(t.value.clone())
        .effect(aws_sdk_eks::types::TaintEffect::from(match t.effect {
            TaintEffect::NoSchedule => "NO_SCHEDULE",
            TaintEffect::NoExecute => "NO_EXECUTE",
            TaintEffect::PreferNoSchedule => "PREFER_NO_SCHEDULE",
        }))
        .build()
}

/// Waits until the node group is ACTIVE; a failed create is an error with
/// AWS's health issues.
async fn wait_active(
    p: &AwsProvider,
    cluster: &str,
    name: &str,
    timeout: Option<Duration>,
) -> Result<aws_sdk_eks::types::Nodegroup, ProviderError> {
    let w = what(cluster, name);
    wait_for(&format!("{w} active"), timeout, Duration::from_secs(3600), || async {
        match describe(p, cluster, name).await? {
            Some(n) if n.status() == Some(&NodegroupStatus::Active) => Ok(Some(n)),
            Some(n) if matches!(n.status(), Some(NodegroupStatus::CreateFailed) | Some(NodegroupStatus::Degraded)) => {
                let issues: Vec<String> = n
                    .health()
                    .map(|h| {
                        h.issues()
                            .iter()
                            .map(|i| {
                                format!(
                                    "{}: {}",
                                    i.code().map_or("issue", |c| c.as_str()),
                                    i.message().unwrap_or("no message")
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Err(ProviderError::fatal(
                    "CreateNodegroup",
                    format!(
                        "{w} is {}: {}",
                        n.status().map_or("failed", |s| s.as_str()),
                        if issues.is_empty() { "no reason given".into() } else { issues.join("; ") }
                    ),
                ))
            }
            _ => Ok(None),
        }
    })
    .await
}

#[async_trait]
impl Handler for NodeGroupHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateNodegroup");
        let cluster = i.str("clusterName")?;
        let name = i.str("nodegroupName")?;
        let w = what(cluster, name);
        let labels: std::collections::HashMap<String, String> =
            string_map(req.inputs.get("labels")).into_iter().collect();
        p.eks()
            .await
            .create_nodegroup()
            .client_request_token(&req.idempotency_token)
            .cluster_name(cluster)
            .nodegroup_name(name)
            .node_role(i.str("nodeRoleArn")?)
            .set_subnets(Some(i.strs("subnetIds")))
            .set_instance_types(Some(i.strs("instanceTypes")))
            .capacity_type(CapacityTypes::from(i.opt_str("capacityType").unwrap_or("ON_DEMAND")))
            .set_scaling_config(scaling_sdk(req.inputs.get("scaling")))
            .set_disk_size(i.opt_i32("diskSize"))
            .set_labels(Some(labels).filter(|l| !l.is_empty()))
            .set_taints(
                Some(taints_in(req.inputs.get("taints")).iter().map(taint_sdk).collect::<Vec<_>>())
                    .filter(|t| !t.is_empty()),
            )
            .set_ami_type(i.opt_str("amiType").map(AmiTypes::from))
            .set_tags(Some(tags_with_identity(&req.inputs, &req.stack, &req.urn).into_iter().collect()))
            .send()
            .await
            .map_err(|e| eks_err("CreateNodegroup", &w, e))?;
        let n = wait_active(p, cluster, name, req.timeout).await?;
        Ok(CreateResult { id: format!("{cluster}:{name}"), outputs: outputs(&n) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let (cluster, name) = split_id(&req.id)?;
        Ok(describe(p, cluster, name).await?.map(|n| {
            let (inputs, outputs) = values(&n, &req.inputs);
            ReadResult { id: req.id.clone(), inputs, outputs }
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (cluster, name) = split_id(&req.id)?;
        let w = what(cluster, name);
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if changed("scaling") || changed("labels") || changed("taints") {
            let mut u = p.eks().await.update_nodegroup_config().cluster_name(cluster).nodegroup_name(name);
            if changed("scaling") {
                u = u.set_scaling_config(scaling_sdk(req.inputs.get("scaling")));
            }
            if changed("labels") {
                let old = string_map(req.old_inputs.get("labels"));
                let new = string_map(req.inputs.get("labels"));
                let add: std::collections::HashMap<String, String> =
                    new.iter().filter(|(k, v)| old.get(*k) != Some(v)).map(|(k, v)| (k.clone(), v.clone())).collect();
                let remove: Vec<String> = old.keys().filter(|k| !new.contains_key(*k)).cloned().collect();
                u = u.labels(
                    UpdateLabelsPayload::builder()
                        .set_add_or_update_labels(Some(add).filter(|a| !a.is_empty()))
                        .set_remove_labels(Some(remove).filter(|r| !r.is_empty()))
                        .build(),
                );
            }
            if changed("taints") {
                let old = taints_in(req.old_inputs.get("taints"));
                let new = taints_in(req.inputs.get("taints"));
                let add: Vec<_> = new.iter().filter(|t| !old.contains(t)).map(taint_sdk).collect();
                // A taint is identified by key and effect; one replaced by
                // add-or-update needs no removal.
                let remove: Vec<_> = old
                    .iter()
                    .filter(|t| !new.iter().any(|n| n.key == t.key && n.effect == t.effect))
                    .map(taint_sdk)
                    .collect();
                u = u.taints(
                    UpdateTaintsPayload::builder()
                        .set_add_or_update_taints(Some(add).filter(|a| !a.is_empty()))
                        .set_remove_taints(Some(remove).filter(|r| !r.is_empty()))
                        .build(),
                );
            }
            let out = u.send().await.map_err(|e| eks_err("UpdateNodegroupConfig", &w, e))?;
            let id = out.update().and_then(|u| u.id());
            wait_update(p, &w, cluster, Some(name), None, id, req.timeout, Duration::from_secs(3600)).await?;
        }
        if changed("tags") {
            let arn = req.old_outputs.get("arn").as_str().unwrap_or_default().to_owned();
            let (old, new) = (In::new(&req.old_inputs, "").tags(), In::new(&req.inputs, "").tags());
            update_tags(p, &w, &arn, &old, &new).await?;
        }
        let n = wait_active(p, cluster, name, req.timeout).await?;
        Ok(UpdateResult { outputs: outputs(&n) })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let (cluster, name) = split_id(&req.id)?;
        let w = what(cluster, name);
        let eks = p.eks().await;
        match eks.delete_nodegroup().cluster_name(cluster).nodegroup_name(name).send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(()),
            Err(e) => return Err(eks_err("DeleteNodegroup", &w, e)),
        }
        wait_for(&format!("{w} deleted"), req.timeout, Duration::from_secs(3600), || async {
            match eks.describe_nodegroup().cluster_name(cluster).nodegroup_name(name).send().await {
                Ok(o) if o.nodegroup().and_then(|n| n.status()) == Some(&NodegroupStatus::DeleteFailed) => {
                    Err(ProviderError::fatal("DeleteNodegroup", format!("{w}: delete failed")))
                }
                Ok(_) => Ok(None),
                Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(Some(())),
                Err(e) => Err(eks_err("DescribeNodegroup", &w, e)),
            }
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let i = In::new(&req.inputs, "");
        let (Some(cluster), Some(name)) = (i.opt_str("clusterName"), i.opt_str("nodegroupName")) else {
            return Ok(None);
        };
        let Some(n) = describe(p, cluster, name).await? else { return Ok(None) };
        if !has_identity(n.tags(), &req.stack, req.urn.as_str()) {
            return Ok(None);
        }
        let (inputs, outputs) = values(&n, &req.inputs);
        Ok(unless_known(&req, Some(ReadResult { id: format!("{cluster}:{name}"), inputs, outputs })))
    }
}

/// A map of strings from an input value (labels).
fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_map()
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned()))).collect())
        .unwrap_or_default()
}
