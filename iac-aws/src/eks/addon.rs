//! `Addon`: an EKS add-on (`vpc-cni`, `coredns`, `kube-proxy`, …).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eks::operation::create_addon::builders::CreateAddonFluentBuilder;
use aws_sdk_eks::operation::update_addon::builders::UpdateAddonFluentBuilder;
use aws_sdk_eks::types::AddonStatus;
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};
use serde::{Deserialize, Serialize};

use super::{eks_err, has_identity, tag_pairs, update_tags, wait_update, ClusterName};
use crate::error::is_code;
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{
    drop_computed_when_unset, keep_write_only, map, tags_value, tags_with_identity, unless_known, wait_for, In,
};

pub(crate) const TYPE: &str = "aws:eks:Addon";

/// Schema: an add-on is identified by its cluster and name (one of each
/// per cluster, so a replacement deletes first). Version, role and conflict
/// handling update in place (`UpdateAddon`); the `addonVersion` output
/// changes with the version.
pub static SCHEMA: Schema = Schema {
    replace_on: &["clusterName", "addonName"],
    delete_before_replace: true,
    taggable: true,
    computed_on_update: &["addonVersion"],
    ..Schema::new(TYPE, "aws")
};

/// AWS picks the default version when none is given.
const AWS_DEFAULTED: &[&str] = &["addonVersion"];
/// How conflicts were resolved is not part of an add-on's description.
const WRITE_ONLY: &[&str] = &["resolveConflicts"];

/// An EKS add-on.
///
/// ```no_run
/// use iac_aws::eks::{Addon, ResolveConflicts};
/// fn cni(s: &iac_core::Stack, cluster: &iac_aws::eks::ClusterOutputs) {
///     s.add(
///         "vpc-cni",
///         Addon::builder()
///             .cluster_name(cluster.id.clone())
///             .addon_name("vpc-cni")
///             .addon_version("v1.18.3-eksbuild.1")
///             .resolve_conflicts(ResolveConflicts::Overwrite)
///             .build(),
///     );
/// }
/// ```
#[derive(bon::Builder)]
pub struct Addon {
    /// The cluster (replaces when changed).
    #[builder(into)]
    pub cluster_name: Input<ClusterName>,
    /// The add-on (`vpc-cni`, `coredns`, `kube-proxy`, `aws-ebs-csi-driver`,
    /// …; replaces when changed).
    #[builder(into)]
    pub addon_name: String,
    /// The version (`v1.18.3-eksbuild.1`); AWS's default for the cluster's
    /// Kubernetes version when unset.
    #[builder(into)]
    pub addon_version: Option<String>,
    /// What to do when the add-on's settings conflict with changes made in
    /// the cluster.
    pub resolve_conflicts: Option<ResolveConflicts>,
    /// An IAM role for the add-on's service account (IRSA).
    #[builder(into)]
    pub service_account_role_arn: Option<Input<String>>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// How EKS resolves conflicts between an add-on's settings and the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ResolveConflicts {
    /// Fail on a conflict.
    None,
    /// Overwrite the cluster's values.
    Overwrite,
    /// Keep the cluster's values (updates only).
    Preserve,
}

/// Outputs of an [`Addon`].
pub struct AddonOutputs {
    /// `<cluster>:<add-on>` (the resource's id).
    pub id: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
    /// The version installed.
    pub addon_version: Output<String>,
}

impl Resource for Addon {
    type Outputs = AddonOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("clusterName", self.cluster_name.to_expr()),
            ("addonName", Value::from(self.addon_name.as_str()).into()),
            ("addonVersion", Value::from(self.addon_version.clone()).into()),
            ("resolveConflicts", Value::from_serialize(&self.resolve_conflicts).into()),
            (
                "serviceAccountRoleArn",
                self.service_account_role_arn.as_ref().map_or(Expr::Value(Value::Null), Input::to_expr),
            ),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> AddonOutputs {
        AddonOutputs {
            id: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            addon_version: Output::from_ref(urn, "addonVersion"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        crate::checks::name(
            c,
            "addonName",
            &self.addon_name,
            100,
            |ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '_' || ch == '.',
            "lowercase letters, digits, hyphens, underscores and dots (like `vpc-cni`)",
        );
        if let Some(v) = &self.addon_version {
            c.check(!v.trim().is_empty(), "addonVersion", || {
                "an empty version; leave it unset for AWS's default".into()
            });
        }
    }
}

/// The parameters of an add-on's requests, from its inputs.
#[derive(Debug, PartialEq)]
pub(crate) struct AddonRequest {
    pub cluster: String,
    pub addon: String,
    pub version: Option<String>,
    pub role: Option<String>,
    pub resolve: Option<aws_sdk_eks::types::ResolveConflicts>,
}

impl AddonRequest {
    pub(crate) fn from_inputs(inputs: &Value, op: &str) -> Result<AddonRequest, ProviderError> {
        let i = In::new(inputs, op);
        Ok(AddonRequest {
            cluster: i.str("clusterName")?.to_owned(),
            addon: i.str("addonName")?.to_owned(),
            version: i.opt_str("addonVersion").map(str::to_owned),
            role: i.opt_str("serviceAccountRoleArn").map(str::to_owned),
            resolve: i.opt_str("resolveConflicts").map(aws_sdk_eks::types::ResolveConflicts::from),
        })
    }

    pub(crate) fn what(&self) -> String {
        what(&self.cluster, &self.addon)
    }

    /// The `CreateAddon` request.
    pub(crate) fn create(&self, eks: &aws_sdk_eks::Client, tags: HashMap<String, String>) -> CreateAddonFluentBuilder {
        eks.create_addon()
            .cluster_name(&self.cluster)
            .addon_name(&self.addon)
            .set_addon_version(self.version.clone())
            .set_service_account_role_arn(self.role.clone())
            .set_resolve_conflicts(self.resolve.clone())
            .set_tags(Some(tags))
    }

    /// The `UpdateAddon` request for the changed inputs.
    pub(crate) fn update(&self, eks: &aws_sdk_eks::Client, changed: &[String]) -> UpdateAddonFluentBuilder {
        let changed = |k: &str| changed.iter().any(|c| c == k);
        let mut u = eks.update_addon().cluster_name(&self.cluster).addon_name(&self.addon);
        if changed("addonVersion") {
            u = u.set_addon_version(self.version.clone());
        }
        if changed("serviceAccountRoleArn") {
            // An empty ARN takes the role off the service account.
            u = u.service_account_role_arn(self.role.clone().unwrap_or_default());
        }
        u.set_resolve_conflicts(self.resolve.clone())
    }
}

fn what(cluster: &str, addon: &str) -> String {
    format!("EKS add-on `{addon}` of cluster `{cluster}`")
}

fn split_id(id: &str) -> Result<(&str, &str), ProviderError> {
    id.split_once(':')
        .ok_or_else(|| ProviderError::fatal("DescribeAddon", format!("`{id}` is not `<cluster>:<add-on>`")))
}

async fn describe(
    p: &AwsProvider,
    cluster: &str,
    addon: &str,
) -> Result<Option<aws_sdk_eks::types::Addon>, ProviderError> {
    match p.eks().await.describe_addon().cluster_name(cluster).addon_name(addon).send().await {
        Ok(o) => Ok(o.addon().filter(|a| a.status() != Some(&AddonStatus::Deleting)).cloned()),
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(None),
        Err(e) => Err(eks_err("DescribeAddon", &what(cluster, addon), e)),
    }
}

fn values(a: &aws_sdk_eks::types::Addon, recorded: &Value) -> (Value, Value) {
    let mut inputs = map([
        ("clusterName", Value::from(a.cluster_name())),
        ("addonName", Value::from(a.addon_name())),
        ("addonVersion", Value::from(a.addon_version())),
        ("serviceAccountRoleArn", Value::from(a.service_account_role_arn())),
        ("tags", tags_value(tag_pairs(a.tags()))),
    ]);
    drop_computed_when_unset(&mut inputs, recorded, AWS_DEFAULTED);
    keep_write_only(&mut inputs, recorded, WRITE_ONLY);
    (inputs, outputs(a))
}

fn outputs(a: &aws_sdk_eks::types::Addon) -> Value {
    map([("arn", Value::from(a.addon_arn())), ("addonVersion", Value::from(a.addon_version()))])
}

async fn wait_active(
    p: &AwsProvider,
    cluster: &str,
    addon: &str,
    timeout: Option<Duration>,
) -> Result<aws_sdk_eks::types::Addon, ProviderError> {
    let w = what(cluster, addon);
    wait_for(&format!("{w} active"), timeout, Duration::from_secs(1200), || async {
        match describe(p, cluster, addon).await? {
            Some(a) if a.status() == Some(&AddonStatus::Active) => Ok(Some(a)),
            Some(a)
                if matches!(
                    a.status(),
                    Some(AddonStatus::CreateFailed | AddonStatus::UpdateFailed | AddonStatus::Degraded)
                ) =>
            {
                let issues: Vec<String> = a
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
                    "DescribeAddon",
                    format!(
                        "{w} is {}: {}",
                        a.status().map_or("failed", |s| s.as_str()),
                        if issues.is_empty() { "no reason given".into() } else { issues.join("; ") }
                    ),
                ))
            }
            _ => Ok(None),
        }
    })
    .await
}

pub(crate) struct AddonHandler;

#[async_trait]
impl Handler for AddonHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let r = AddonRequest::from_inputs(&req.inputs, "CreateAddon")?;
        let tags = tags_with_identity(&req.inputs, &req.stack, &req.urn).into_iter().collect();
        r.create(p.eks().await, tags)
            .client_request_token(&req.idempotency_token)
            .send()
            .await
            .map_err(|e| eks_err("CreateAddon", &r.what(), e))?;
        let a = wait_active(p, &r.cluster, &r.addon, req.timeout).await?;
        Ok(CreateResult { id: format!("{}:{}", r.cluster, r.addon), outputs: outputs(&a) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let (cluster, addon) = split_id(&req.id)?;
        Ok(describe(p, cluster, addon).await?.map(|a| {
            let (inputs, outputs) = values(&a, &req.inputs);
            ReadResult { id: req.id.clone(), inputs, outputs }
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let r = AddonRequest::from_inputs(&req.inputs, "UpdateAddon")?;
        let w = r.what();
        if req.changed.iter().any(|k| k != "tags") {
            let out = r.update(p.eks().await, &req.changed).send().await.map_err(|e| eks_err("UpdateAddon", &w, e))?;
            let id = out.update().and_then(|u| u.id());
            wait_update(p, &w, &r.cluster, None, Some(&r.addon), id, req.timeout, Duration::from_secs(1200)).await?;
        }
        if req.changed.iter().any(|k| k == "tags") {
            let arn = req.old_outputs.get("arn").as_str().unwrap_or_default().to_owned();
            let (old, new) = (In::new(&req.old_inputs, "").tags(), In::new(&req.inputs, "").tags());
            update_tags(p, &w, &arn, &old, &new).await?;
        }
        let a = wait_active(p, &r.cluster, &r.addon, req.timeout).await?;
        Ok(UpdateResult { outputs: outputs(&a) })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let (cluster, addon) = split_id(&req.id)?;
        let w = what(cluster, addon);
        let eks = p.eks().await;
        match eks.delete_addon().cluster_name(cluster).addon_name(addon).send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(()),
            Err(e) => return Err(eks_err("DeleteAddon", &w, e)),
        }
        wait_for(&format!("{w} deleted"), req.timeout, Duration::from_secs(1200), || async {
            match eks.describe_addon().cluster_name(cluster).addon_name(addon).send().await {
                Ok(o) if o.addon().and_then(|a| a.status()) == Some(&AddonStatus::DeleteFailed) => {
                    Err(ProviderError::fatal("DeleteAddon", format!("{w}: delete failed")))
                }
                Ok(_) => Ok(None),
                Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(Some(())),
                Err(e) => Err(eks_err("DescribeAddon", &w, e)),
            }
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let i = In::new(&req.inputs, "");
        let (Some(cluster), Some(addon)) = (i.opt_str("clusterName"), i.opt_str("addonName")) else {
            return Ok(None);
        };
        let Some(a) = describe(p, cluster, addon).await? else { return Ok(None) };
        if !has_identity(a.tags(), &req.stack, req.urn.as_str()) {
            return Ok(None);
        }
        let (inputs, outputs) = values(&a, &req.inputs);
        Ok(unless_known(&req, Some(ReadResult { id: format!("{cluster}:{addon}"), inputs, outputs })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> aws_sdk_eks::Client {
        let conf = aws_sdk_eks::Config::builder()
            .behavior_version(aws_sdk_eks::config::BehaviorVersion::latest())
            .region(aws_sdk_eks::config::Region::new("us-east-1"))
            .build();
        aws_sdk_eks::Client::from_conf(conf)
    }

    fn inputs() -> Value {
        Value::from_json(&serde_json::json!({
            "clusterName": "prod",
            "addonName": "vpc-cni",
            "addonVersion": "v1.18.3-eksbuild.1",
            "resolveConflicts": "OVERWRITE",
            "serviceAccountRoleArn": "arn:aws:iam::123456789012:role/cni",
            "tags": {"Team": "platform"},
        }))
    }

    #[test]
    fn create_request_carries_every_input_and_the_identity_tags() {
        let r = AddonRequest::from_inputs(&inputs(), "CreateAddon").unwrap();
        let tags = tags_with_identity(&inputs(), "dev", &Urn::new("cni")).into_iter().collect();
        let eks = client();
        let b = r.create(&eks, tags);
        let input = b.as_input();
        assert_eq!(input.get_cluster_name().as_deref(), Some("prod"));
        assert_eq!(input.get_addon_name().as_deref(), Some("vpc-cni"));
        assert_eq!(input.get_addon_version().as_deref(), Some("v1.18.3-eksbuild.1"));
        assert_eq!(input.get_service_account_role_arn().as_deref(), Some("arn:aws:iam::123456789012:role/cni"));
        assert_eq!(input.get_resolve_conflicts(), &Some(aws_sdk_eks::types::ResolveConflicts::Overwrite));
        let tags = input.get_tags().clone().unwrap();
        assert_eq!(tags.get("Team").map(String::as_str), Some("platform"));
        assert_eq!(tags.get("iac:stack").map(String::as_str), Some("dev"));
        assert_eq!(tags.get("iac:name").map(String::as_str), Some("cni"));
    }

    #[test]
    fn update_request_sends_only_what_changed() {
        let r = AddonRequest::from_inputs(&inputs(), "UpdateAddon").unwrap();
        let eks = client();
        let b = r.update(&eks, &["addonVersion".into()]);
        let input = b.as_input();
        assert_eq!(input.get_addon_version().as_deref(), Some("v1.18.3-eksbuild.1"));
        assert_eq!(input.get_service_account_role_arn(), &None, "the role did not change");
        // The role removed: an empty ARN unbinds it.
        let mut no_role = inputs();
        if let Value::Map(m) = &mut no_role {
            m.remove("serviceAccountRoleArn");
        }
        let r = AddonRequest::from_inputs(&no_role, "UpdateAddon").unwrap();
        let b = r.update(&eks, &["serviceAccountRoleArn".into()]);
        assert_eq!(b.as_input().get_service_account_role_arn().as_deref(), Some(""));
        assert_eq!(b.as_input().get_addon_version(), &None);
    }

    #[test]
    fn a_missing_required_input_is_named() {
        let err = AddonRequest::from_inputs(&Value::from_json(&serde_json::json!({"clusterName": "x"})), "CreateAddon")
            .unwrap_err();
        assert!(err.to_string().contains("addonName"), "{err}");
    }
}
