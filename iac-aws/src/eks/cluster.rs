//! `Cluster`: an EKS control plane.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eks::types::{ClusterStatus, EncryptionConfig, LogSetup, Logging, VpcConfigRequest};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};
use serde::{Deserialize, Serialize};

use super::ClusterName;
use super::{check_name, eks_err, has_identity, list_expr, ordered_like, tag_pairs, update_tags, wait_update};
use crate::error::is_code;
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{drop_computed_when_unset, map, tags_value, tags_with_identity, unless_known, wait_for, In};

pub(crate) const TYPE: &str = "aws:eks:Cluster";

/// Schema: the role and secrets encryption are fixed for a cluster's life,
/// and its name must be unique, so a replacement deletes the old cluster
/// first. The Kubernetes version (`UpdateClusterVersion`), logging, subnets,
/// security groups and endpoint access (`UpdateClusterConfig`) update in
/// place; the `version` output changes with an upgrade.
pub static SCHEMA: Schema = Schema {
    replace_on: &["name", "roleArn", "encryptionKeyArn"],
    delete_before_replace: true,
    taggable: true,
    computed_on_update: &["version"],
    ..Schema::new(TYPE, "aws")
};

const AWS_DEFAULTED: &[&str] = &["version", "publicAccessCidrs"];

/// An EKS cluster.
///
/// The preview refuses a version EKS no longer creates clusters on (past
/// the end of its extended support on AWS's calendar), naming the oldest
/// version still offered.
///
/// ```
/// use iac_aws::eks::{Cluster, LogType};
/// let cluster = Cluster::builder()
///     .name("prod")
///     .version("1.32")
///     .role_arn("arn:aws:iam::123456789012:role/eks-cluster")
///     .subnet_ids(["subnet-0aaa", "subnet-0bbb"])
///     .enabled_cluster_log_types(vec![LogType::Api, LogType::Audit])
///     .build();
/// # let _ = cluster;
/// ```
#[derive(bon::Builder)]
pub struct Cluster {
    /// The cluster's name (1–100 characters; replaces when changed).
    #[builder(into)]
    pub name: String,
    /// The Kubernetes version, `major.minor` (`1.32`); AWS's default when
    /// unset. Raising it upgrades the cluster in place.
    #[builder(into)]
    pub version: Option<String>,
    /// The role the control plane uses (replaces when changed).
    #[builder(into)]
    pub role_arn: Input<String>,
    /// Subnets in at least two availability zones (updated in place).
    #[builder(with = |ids: impl IntoIterator<Item = impl Into<Input<String>>>| ids.into_iter().map(Into::into).collect())]
    pub subnet_ids: Vec<Input<String>>,
    /// Extra security groups for the control plane's interfaces (up to 5;
    /// updated in place).
    #[builder(default, with = |ids: impl IntoIterator<Item = impl Into<Input<String>>>| ids.into_iter().map(Into::into).collect())]
    pub security_group_ids: Vec<Input<String>>,
    /// Whether the API server is reachable from the internet.
    #[builder(default = true)]
    pub endpoint_public_access: bool,
    /// Whether the API server is reachable from inside the VPC.
    #[builder(default)]
    pub endpoint_private_access: bool,
    /// The CIDR blocks allowed to reach the public endpoint (AWS: anywhere).
    #[builder(default)]
    pub public_access_cidrs: Vec<String>,
    /// Control plane logs sent to CloudWatch Logs.
    #[builder(default)]
    pub enabled_cluster_log_types: Vec<LogType>,
    /// A KMS key to encrypt Kubernetes secrets with (replaces when changed).
    #[builder(into)]
    pub encryption_key_arn: Option<Input<String>>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
    /// Accepts a Kubernetes version the AWS catalog does not
    /// hold, saying why (the catalog is older than what EKS offers
    /// now); see [`crate::catalog`]. Not sent to AWS.
    #[builder(into)]
    pub catalog_override: Option<crate::catalog::CatalogOverride>,
}

/// A control plane log type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LogType {
    /// The API server.
    Api,
    /// Kubernetes audit events.
    Audit,
    /// The IAM authenticator.
    Authenticator,
    /// The controller manager.
    ControllerManager,
    /// The scheduler.
    Scheduler,
}

impl LogType {
    /// Every log type.
    pub const ALL: [LogType; 5] =
        [LogType::Api, LogType::Audit, LogType::Authenticator, LogType::ControllerManager, LogType::Scheduler];

    fn as_str(self) -> &'static str {
        match self {
            LogType::Api => "api",
            LogType::Audit => "audit",
            LogType::Authenticator => "authenticator",
            LogType::ControllerManager => "controllerManager",
            LogType::Scheduler => "scheduler",
        }
    }
}

/// Outputs of a [`Cluster`].
pub struct ClusterOutputs {
    /// Its name (the resource's id).
    pub id: Output<ClusterName>,
    /// Its ARN.
    pub arn: Output<String>,
    /// The API server's URL.
    pub endpoint: Output<String>,
    /// The cluster CA certificate, base64 (for a kubeconfig).
    pub certificate_authority: Output<String>,
    /// The OpenID Connect issuer URL (for IAM roles for service accounts).
    pub oidc_issuer_url: Output<String>,
    /// The security group EKS created for the control plane and nodes.
    pub cluster_security_group_id: Output<String>,
    /// The Kubernetes version running (changes with an upgrade).
    pub version: Output<String>,
}

fn opt_expr(i: &Option<Input<String>>) -> Expr {
    i.as_ref().map_or(Expr::Value(Value::Null), Input::to_expr)
}

impl Resource for Cluster {
    type Outputs = ClusterOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        let logs: Vec<&str> = self.enabled_cluster_log_types.iter().map(|l| l.as_str()).collect();
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("version", Value::from(self.version.clone()).into()),
            ("roleArn", self.role_arn.to_expr()),
            ("subnetIds", list_expr(&self.subnet_ids)),
            ("securityGroupIds", list_expr(&self.security_group_ids)),
            ("endpointPublicAccess", Value::from(self.endpoint_public_access).into()),
            ("endpointPrivateAccess", Value::from(self.endpoint_private_access).into()),
            ("publicAccessCidrs", Value::from(self.public_access_cidrs.clone()).into()),
            ("enabledClusterLogTypes", Value::from(logs).into()),
            ("encryptionKeyArn", opt_expr(&self.encryption_key_arn)),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> ClusterOutputs {
        ClusterOutputs {
            id: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            endpoint: Output::from_ref(urn, "endpoint"),
            certificate_authority: Output::from_ref(urn, "certificateAuthority"),
            oidc_issuer_url: Output::from_ref(urn, "oidcIssuerUrl"),
            cluster_security_group_id: Output::from_ref(urn, "clusterSecurityGroupId"),
            version: Output::from_ref(urn, "version"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        use crate::catalog;
        let mut cat = catalog::Scope::new(self.catalog_override.as_ref());
        check_name(c, "name", &self.name, 100);
        if let Some(v) = &self.version {
            match parse_major_minor(v) {
                None => c.fail(
                    "version",
                    format!(
                        "`{v}` is not a Kubernetes version of the form major.minor (like `1.32`); EKS picks the patch"
                    ),
                ),
                Some((major, minor)) => match catalog::kubernetes::check(&format!("{major}.{minor}"), catalog::today())
                {
                    Ok(()) => {}
                    Err(Ok(why)) => c.fail("version", why),
                    Err(Err(miss)) => cat.report(c, "version", Some(miss)),
                },
            }
        }
        c.check(self.subnet_ids.len() >= 2, "subnetIds", || {
            format!("{} subnet(s) given; EKS needs subnets in at least two availability zones", self.subnet_ids.len())
        });
        c.check(self.security_group_ids.len() <= 5, "securityGroupIds", || {
            format!("{} security groups given; a cluster takes at most 5", self.security_group_ids.len())
        });
        c.check(self.endpoint_public_access || self.endpoint_private_access, "endpointPublicAccess", || {
            "the API server needs a public or a private endpoint (or both); both are disabled".into()
        });
        if !self.public_access_cidrs.is_empty() {
            c.check(self.endpoint_public_access, "publicAccessCidrs", || {
                "public access CIDRs are set but the public endpoint is disabled".into()
            });
            for cidr in &self.public_access_cidrs {
                crate::checks::cidr(c, "publicAccessCidrs", cidr);
            }
        }
        for (n, l) in self.enabled_cluster_log_types.iter().enumerate() {
            if self.enabled_cluster_log_types[..n].contains(l) {
                c.fail("enabledClusterLogTypes", format!("`{}` is listed twice", l.as_str()));
            }
        }
        cat.finish(c);
    }
}

/// `1.32` → `(1, 32)`: digits, one dot, digits.
pub(crate) fn parse_major_minor(v: &str) -> Option<(u32, u32)> {
    let (major, minor) = v.split_once('.')?;
    let num = |p: &str| (!p.is_empty() && p.chars().all(|c| c.is_ascii_digit())).then(|| p.parse().ok()).flatten();
    Some((num(major)?, num(minor)?))
}

pub(crate) struct ClusterHandler;

fn what(name: &str) -> String {
    format!("EKS cluster `{name}`")
}

pub(crate) async fn describe(
    p: &AwsProvider,
    name: &str,
) -> Result<Option<aws_sdk_eks::types::Cluster>, ProviderError> {
    match p.eks().await.describe_cluster().name(name).send().await {
        Ok(o) => Ok(o.cluster().filter(|c| c.status() != Some(&ClusterStatus::Deleting)).cloned()),
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(None),
        Err(e) => Err(eks_err("DescribeCluster", &what(name), e)),
    }
}

fn values(c: &aws_sdk_eks::types::Cluster, recorded: &Value) -> (Value, Value) {
    let vpc = c.resources_vpc_config();
    let enabled: Vec<String> = c
        .logging()
        .map(|l| {
            l.cluster_logging()
                .iter()
                .filter(|s| s.enabled() == Some(true))
                .flat_map(|s| s.types().iter().map(|t| t.as_str().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let key = c.encryption_config().iter().find_map(|e| e.provider().and_then(|p| p.key_arn()));
    let mut inputs = map([
        ("name", Value::from(c.name())),
        ("version", Value::from(c.version())),
        ("roleArn", Value::from(c.role_arn())),
        (
            "subnetIds",
            ordered_like(vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default(), recorded.get("subnetIds")),
        ),
        (
            "securityGroupIds",
            ordered_like(
                vpc.map(|v| v.security_group_ids().to_vec()).unwrap_or_default(),
                recorded.get("securityGroupIds"),
            ),
        ),
        ("endpointPublicAccess", Value::from(vpc.map(|v| v.endpoint_public_access()))),
        ("endpointPrivateAccess", Value::from(vpc.map(|v| v.endpoint_private_access()))),
        (
            "publicAccessCidrs",
            ordered_like(
                vpc.map(|v| v.public_access_cidrs().to_vec()).unwrap_or_default(),
                recorded.get("publicAccessCidrs"),
            ),
        ),
        ("enabledClusterLogTypes", ordered_like(enabled, recorded.get("enabledClusterLogTypes"))),
        ("encryptionKeyArn", Value::from(key)),
        ("tags", tags_value(tag_pairs(c.tags()))),
    ]);
    drop_computed_when_unset(&mut inputs, recorded, AWS_DEFAULTED);
    (inputs, outputs(c))
}

fn outputs(c: &aws_sdk_eks::types::Cluster) -> Value {
    map([
        ("arn", Value::from(c.arn())),
        ("endpoint", Value::from(c.endpoint())),
        ("certificateAuthority", Value::from(c.certificate_authority().and_then(|a| a.data()))),
        ("oidcIssuerUrl", Value::from(c.identity().and_then(|i| i.oidc()).and_then(|o| o.issuer()))),
        ("clusterSecurityGroupId", Value::from(c.resources_vpc_config().and_then(|v| v.cluster_security_group_id()))),
        ("version", Value::from(c.version())),
    ])
}

/// The logging setting for a list of enabled log types: those enabled, the
/// rest disabled.
fn logging(enabled: &[String]) -> Logging {
    let on: Vec<aws_sdk_eks::types::LogType> =
        enabled.iter().map(|t| aws_sdk_eks::types::LogType::from(t.as_str())).collect();
    let off: Vec<aws_sdk_eks::types::LogType> = LogType::ALL
        .iter()
        .filter(|t| !enabled.iter().any(|e| e == t.as_str()))
        .map(|t| aws_sdk_eks::types::LogType::from(t.as_str()))
        .collect();
    let mut l = Logging::builder();
    if !on.is_empty() {
        l = l.cluster_logging(LogSetup::builder().set_types(Some(on)).enabled(true).build());
    }
    if !off.is_empty() {
        l = l.cluster_logging(LogSetup::builder().set_types(Some(off)).enabled(false).build());
    }
    l.build()
}

/// Waits until the cluster is ACTIVE; FAILED is an error.
async fn wait_active(
    p: &AwsProvider,
    name: &str,
    timeout: Option<Duration>,
    default: Duration,
) -> Result<aws_sdk_eks::types::Cluster, ProviderError> {
    wait_for(&format!("{} active", what(name)), timeout, default, || async {
        match describe(p, name).await? {
            Some(c) if c.status() == Some(&ClusterStatus::Active) => Ok(Some(c)),
            Some(c) if c.status() == Some(&ClusterStatus::Failed) => {
                let issues: Vec<String> = c
                    .health()
                    .map(|h| h.issues().iter().map(|i| i.message().unwrap_or_default().to_owned()).collect())
                    .unwrap_or_default();
                Err(ProviderError::fatal(
                    "CreateCluster",
                    format!(
                        "{} failed: {}",
                        what(name),
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
impl Handler for ClusterHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateCluster");
        let name = i.str("name")?;
        let cidrs = i.strs("publicAccessCidrs");
        let vpc = VpcConfigRequest::builder()
            .set_subnet_ids(Some(i.strs("subnetIds")))
            .set_security_group_ids(Some(i.strs("securityGroupIds")).filter(|l| !l.is_empty()))
            .endpoint_public_access(i.opt_bool("endpointPublicAccess").unwrap_or(true))
            .endpoint_private_access(i.bool("endpointPrivateAccess"))
            .set_public_access_cidrs(Some(cidrs).filter(|l| !l.is_empty()))
            .build();
        // `resources: ["secrets"]` is what the API documents for envelope
        // encryption with a key of one's own; newer SDKs mark the field
        // deprecated since EKS now encrypts all API data, but still send it.
        #[allow(deprecated)]
        let encryption = i.opt_str("encryptionKeyArn").map(|k| {
            EncryptionConfig::builder()
                .resources("secrets")
                .provider(aws_sdk_eks::types::Provider::builder().key_arn(k).build())
                .build()
        });
        p.eks()
            .await
            .create_cluster()
            .client_request_token(&req.idempotency_token)
            .name(name)
            .set_version(i.opt_str("version").map(str::to_owned))
            .role_arn(i.str("roleArn")?)
            .resources_vpc_config(vpc)
            .logging(logging(&i.strs("enabledClusterLogTypes")))
            .set_encryption_config(encryption.map(|e| vec![e]))
            .set_tags(Some(tags_with_identity(&req.inputs, &req.stack, &req.urn).into_iter().collect()))
            .send()
            .await
            .map_err(|e| eks_err("CreateCluster", &what(name), e))?;
        // A control plane takes 10–15 minutes.
        let c = wait_active(p, name, req.timeout, Duration::from_secs(1800)).await?;
        Ok(CreateResult { id: name.to_owned(), outputs: outputs(&c) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id).await?.map(|c| {
            let (inputs, outputs) = values(&c, &req.inputs);
            ReadResult { id: req.id, inputs, outputs }
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let i = In::new(&req.inputs, "UpdateClusterConfig");
        let name = req.id.as_str();
        let w = what(name);
        let eks = p.eks().await;
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        let step = Duration::from_secs(3600);
        // EKS runs one update at a time: each is waited for before the next.
        if changed("enabledClusterLogTypes") {
            let out = eks
                .update_cluster_config()
                .name(name)
                .logging(logging(&i.strs("enabledClusterLogTypes")))
                .send()
                .await
                .map_err(|e| eks_err("UpdateClusterConfig", &w, e))?;
            wait_update(p, &w, name, None, None, out.update().and_then(|u| u.id()), req.timeout, step).await?;
            wait_active(p, name, req.timeout, step).await?;
        }
        // The whole VPC configuration goes in one update: EKS changes
        // subnets and security groups in place (same VPC and zones), and
        // what is sent is what the cluster then has.
        if ["subnetIds", "securityGroupIds", "endpointPublicAccess", "endpointPrivateAccess", "publicAccessCidrs"]
            .iter()
            .any(|k| changed(k))
        {
            let mut cidrs = i.strs("publicAccessCidrs");
            if cidrs.is_empty() && !In::new(&req.old_inputs, "").strs("publicAccessCidrs").is_empty() {
                // Unsetting the list means AWS's default again: anywhere.
                cidrs.push("0.0.0.0/0".into());
            }
            let vpc = VpcConfigRequest::builder()
                .set_subnet_ids(Some(i.strs("subnetIds")))
                .set_security_group_ids(Some(i.strs("securityGroupIds")))
                .endpoint_public_access(i.opt_bool("endpointPublicAccess").unwrap_or(true))
                .endpoint_private_access(i.bool("endpointPrivateAccess"))
                .set_public_access_cidrs(Some(cidrs).filter(|l| !l.is_empty()))
                .build();
            let out = eks
                .update_cluster_config()
                .name(name)
                .resources_vpc_config(vpc)
                .send()
                .await
                .map_err(|e| eks_err("UpdateClusterConfig", &w, e))?;
            wait_update(p, &w, name, None, None, out.update().and_then(|u| u.id()), req.timeout, step).await?;
            wait_active(p, name, req.timeout, step).await?;
        }
        if changed("version") {
            if let Some(v) = i.opt_str("version") {
                let out = eks
                    .update_cluster_version()
                    .name(name)
                    .version(v)
                    .send()
                    .await
                    .map_err(|e| eks_err("UpdateClusterVersion", &w, e))?;
                wait_update(p, &w, name, None, None, out.update().and_then(|u| u.id()), req.timeout, step).await?;
                wait_active(p, name, req.timeout, step).await?;
            }
        }
        if changed("tags") {
            let arn = req.old_outputs.get("arn").as_str().unwrap_or_default().to_owned();
            update_tags(p, &w, &arn, &In::new(&req.old_inputs, "").tags(), &i.tags()).await?;
        }
        let c = wait_active(p, name, req.timeout, step).await?;
        Ok(UpdateResult { outputs: outputs(&c) })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let w = what(&req.id);
        match p.eks().await.delete_cluster().name(&req.id).send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(()),
            // ResourceInUseException (node groups still deleting) is retried.
            Err(e) => return Err(eks_err("DeleteCluster", &w, e)),
        }
        wait_for(&format!("{w} deleted"), req.timeout, Duration::from_secs(1200), || async {
            match p.eks().await.describe_cluster().name(&req.id).send().await {
                Ok(_) => Ok(None),
                Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(Some(())),
                Err(e) => Err(eks_err("DescribeCluster", &w, e)),
            }
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // Names are unique per region; adopt only a cluster with our identity.
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let Some(c) = describe(p, name).await? else { return Ok(None) };
        if !has_identity(c.tags(), &req.stack, req.urn.as_str()) {
            return Ok(None);
        }
        let (inputs, outputs) = values(&c, &req.inputs);
        Ok(unless_known(&req, Some(ReadResult { id: name.to_owned(), inputs, outputs })))
    }
}
