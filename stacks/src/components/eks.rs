//! `EksCluster`: an EKS cluster with everything it needs around it — the
//! control plane's and the nodes' IAM roles, a KMS key for secrets
//! encryption, the control-plane log group, managed node groups, add-ons
//! and the IAM OpenID Connect provider for service-account roles (IRSA).
//!
//! ```text
//! cluster role ◄─ AmazonEKSClusterPolicy, secrets-key access
//! secrets key ◄─ alias/eks/<name>
//! log group /aws/eks/<name>/cluster
//!        ▲
//! cluster ◄── node groups ◄── add-ons (vpc-cni may come before the nodes)
//!   ▲     ◄── OIDC provider
//! node role ◄─ AmazonEKSWorkerNodePolicy, AmazonEKS_CNI_Policy,
//!              AmazonEC2ContainerRegistryReadOnly, extra policies
//! ```

use std::collections::{BTreeMap, BTreeSet};

use iac_aws::eks::{
    Addon, CapacityType, Cluster, ClusterName, LogType, NodeGroup, ResolveConflicts, ScalingConfig, Taint,
};
use iac_aws::iam::{OpenIdConnectProvider, Role, RoleName, RolePolicy, RolePolicyAttachment};
use iac_aws::kms::{Alias, Key};
use iac_aws::logs::LogGroup;
use iac_aws::policy::{PolicyDocument, Principal, Statement};
use iac_core::{Input, Output, ResourceOptions, Stack, Urn};
use serde::Deserialize;

/// The component's type token.
pub const TYPE: &str = "stacks:EksCluster";

/// The AWS-managed policies the cluster role gets.
pub const CLUSTER_POLICIES: [&str; 1] = ["AmazonEKSClusterPolicy"];

/// The AWS-managed policies the node role gets.
pub const NODE_POLICIES: [&str; 3] =
    ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"];

/// The thumbprint given to the OIDC provider when none is: the root CA of
/// the EKS OIDC issuers. IAM no longer checks it for EKS issuers (it trusts
/// their CA itself) but keeps what it is sent, so a fixed value reads back
/// unchanged where an omitted one would come back filled in.
pub const EKS_OIDC_THUMBPRINT: &str = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";

/// Add-ons whose pods are Deployments: without nodes to run on they never
/// become ACTIVE (EKS reports them DEGRADED).
const NEEDS_NODES: [&str; 2] = ["coredns", "aws-ebs-csi-driver"];

/// What an EKS cluster looks like.
///
/// ```
/// use iac_aws::eks::{CapacityType, LogType};
/// use stacks::components::{AddonArgs, EksClusterArgs, NodeGroupArgs};
/// let args = EksClusterArgs::builder()
///     .cluster_name("production-eks-cluster")
///     .kubernetes_version("1.32")
///     .subnet_ids(["subnet-0aaa", "subnet-0bbb", "subnet-0ccc"])
///     .enabled_log_types(vec![LogType::Api, LogType::Audit])
///     .log_retention_days(30)
///     .node_groups(vec![NodeGroupArgs::builder()
///         .name("spot")
///         .instance_types(vec!["m6i.large".into(), "m5.large".into()])
///         .capacity_type(CapacityType::Spot)
///         .min_size(0)
///         .desired_size(1)
///         .max_size(10)
///         .build()])
///     .addons(vec![AddonArgs::named("vpc-cni"), AddonArgs::named("coredns")])
///     .build();
/// assert!(args.encrypt_secrets && args.create_oidc_provider);
/// ```
#[derive(Debug, bon::Builder)]
pub struct EksClusterArgs {
    /// The cluster's name (unique in the region). It also names the IAM
    /// roles (`<name>-cluster-role`, `<name>-node-role`; IAM names are
    /// unique in the account, across regions), the key alias
    /// (`alias/eks/<name>`) and the log group (`/aws/eks/<name>/cluster`).
    #[builder(into)]
    pub cluster_name: String,
    /// The Kubernetes version, `major.minor` (`1.32`); AWS's default when
    /// unset. Raising it upgrades the control plane in place.
    #[builder(into)]
    pub kubernetes_version: Option<String>,
    /// The (private) subnets of the control plane's interfaces and of the
    /// nodes, in at least two availability zones.
    #[builder(with = |ids: impl IntoIterator<Item = impl Into<Input<String>>>| ids.into_iter().map(Into::into).collect())]
    pub subnet_ids: Vec<Input<String>>,
    /// Extra security groups for the control plane's interfaces (EKS makes
    /// a cluster security group of its own either way).
    #[builder(default, with = |ids: impl IntoIterator<Item = impl Into<Input<String>>>| ids.into_iter().map(Into::into).collect())]
    pub security_group_ids: Vec<Input<String>>,
    /// Whether the API server is reachable from the internet (default true).
    #[builder(default = true)]
    pub endpoint_public_access: bool,
    /// Whether the API server is reachable from inside the VPC (default
    /// true: nodes then reach it without leaving the VPC).
    #[builder(default = true)]
    pub endpoint_private_access: bool,
    /// The CIDR blocks allowed to reach the public endpoint (AWS: anywhere).
    #[builder(default)]
    pub public_access_cidrs: Vec<String>,
    /// Control-plane logs sent to CloudWatch Logs (default: API server,
    /// audit and authenticator).
    #[builder(default = vec![LogType::Api, LogType::Audit, LogType::Authenticator])]
    pub enabled_log_types: Vec<LogType>,
    /// Days the control-plane logs are kept (default 90; one of the periods
    /// CloudWatch Logs offers).
    #[builder(default = 90)]
    pub log_retention_days: i32,
    /// Encrypt Kubernetes secrets with a KMS key of the cluster's own,
    /// created here with yearly rotation (default true). Changing it
    /// replaces the cluster.
    #[builder(default = true)]
    pub encrypt_secrets: bool,
    /// Days between `destroy` and the secrets key's deletion (7–30,
    /// default 30).
    #[builder(default = 30)]
    pub kms_deletion_window_days: i32,
    /// Managed node groups.
    #[builder(default)]
    pub node_groups: Vec<NodeGroupArgs>,
    /// Add-ons.
    #[builder(default)]
    pub addons: Vec<AddonArgs>,
    /// Create the IAM OpenID Connect provider for the cluster's issuer, so
    /// service accounts can assume IAM roles (IRSA; default true).
    #[builder(default = true)]
    pub create_oidc_provider: bool,
    /// Thumbprints for the OIDC provider (default: [`EKS_OIDC_THUMBPRINT`]).
    #[builder(default = vec![EKS_OIDC_THUMBPRINT.to_owned()])]
    pub oidc_thumbprints: Vec<String>,
    /// More managed policies for the node role, by ARN (such as
    /// `arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore`).
    #[builder(default)]
    pub node_role_policy_arns: Vec<String>,
    /// Tags for every resource of the cluster (the stack's default tags
    /// apply too).
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// A managed node group. Deserializable, so node groups can come from a
/// stack's config:
///
/// ```
/// use stacks::components::NodeGroupArgs;
/// let cfg = iac_core::Config::from_table("dev", toml::toml! {
///     [[node_groups]]
///     name = "spot"
///     instance_types = ["t3.medium", "t3a.medium"]
///     capacity_type = "SPOT"
///     min_size = 0
///     desired_size = 1
///     max_size = 3
///     labels = { workload = "batch" }
///     taints = [{ key = "spot", value = "true", effect = "NO_SCHEDULE" }]
/// });
/// let groups: Vec<NodeGroupArgs> = cfg.require("node_groups").unwrap();
/// assert_eq!(groups[0].capacity_type, iac_aws::eks::CapacityType::Spot);
/// ```
#[derive(Clone, Debug, Deserialize, bon::Builder)]
#[serde(deny_unknown_fields)]
pub struct NodeGroupArgs {
    /// The node group's name, unique in the cluster.
    #[builder(into)]
    pub name: String,
    /// Instance types (several spread Spot capacity over more pools).
    pub instance_types: Vec<String>,
    /// `ON_DEMAND` (the default) or `SPOT`.
    #[builder(default = CapacityType::OnDemand)]
    #[serde(default = "on_demand")]
    pub capacity_type: CapacityType,
    /// The fewest nodes.
    pub min_size: i32,
    /// The nodes wanted now.
    pub desired_size: i32,
    /// The most nodes.
    pub max_size: i32,
    /// Root volume size in GiB (AWS: 20).
    pub disk_size: Option<i32>,
    /// Kubernetes labels of the nodes.
    #[builder(default)]
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Kubernetes taints of the nodes.
    #[builder(default)]
    #[serde(default)]
    pub taints: Vec<Taint>,
    /// The AMI type (`AL2023_x86_64_STANDARD`, `BOTTLEROCKET_ARM_64`, …);
    /// AWS picks one for the instance types when unset.
    #[builder(into)]
    pub ami_type: Option<String>,
    /// Leave the desired size to a cluster autoscaler: a change made in the
    /// cloud is not a diff, and the program's value only counts at creation.
    #[builder(default)]
    #[serde(default)]
    pub ignore_desired_size: bool,
}

fn on_demand() -> CapacityType {
    CapacityType::OnDemand
}

fn overwrite() -> ResolveConflicts {
    ResolveConflicts::Overwrite
}

/// An EKS add-on (`vpc-cni`, `coredns`, `kube-proxy`, `aws-ebs-csi-driver`,
/// …). Deserializable from config, except the service-account role, which
/// is usually another resource's output.
#[derive(Clone, Debug, Deserialize, bon::Builder)]
#[serde(deny_unknown_fields)]
pub struct AddonArgs {
    /// The add-on's name.
    #[builder(into)]
    pub name: String,
    /// Its version (`v1.15.1-eksbuild.1`); AWS's default for the cluster's
    /// Kubernetes version when unset.
    #[builder(into)]
    pub version: Option<String>,
    /// How conflicts with settings changed in the cluster are resolved
    /// (default `OVERWRITE`, as the add-on is managed here).
    #[builder(default = ResolveConflicts::Overwrite)]
    #[serde(default = "overwrite")]
    pub resolve_conflicts: ResolveConflicts,
    /// Install it before the node groups rather than after them: for
    /// `vpc-cni`, so nodes come up with the managed CNI. Add-ons that run
    /// Deployments (`coredns`, `aws-ebs-csi-driver`) need nodes and cannot.
    #[builder(default)]
    #[serde(default)]
    pub before_node_groups: bool,
    /// An IAM role for the add-on's service account (IRSA), such as one
    /// with `AmazonEBSCSIDriverPolicy` for `aws-ebs-csi-driver`.
    #[builder(into)]
    #[serde(skip)]
    pub service_account_role_arn: Option<Input<String>>,
}

impl AddonArgs {
    /// The add-on at AWS's default version, installed after the node groups.
    pub fn named(name: impl Into<String>) -> AddonArgs {
        AddonArgs::builder().name(name).build()
    }
}

/// The cluster's handles for other components and for exports.
pub struct EksCluster {
    /// The cluster's name.
    pub cluster_name: Output<ClusterName>,
    /// Its ARN.
    pub arn: Output<String>,
    /// The API server's URL.
    pub endpoint: Output<String>,
    /// The cluster CA certificate, base64 (for a kubeconfig).
    pub certificate_authority: Output<String>,
    /// The security group EKS made for the control plane and the nodes.
    pub cluster_security_group_id: Output<String>,
    /// The Kubernetes version running.
    pub kubernetes_version: Output<String>,
    /// The cluster's OpenID Connect issuer URL (`https://oidc.eks.…`).
    pub oidc_issuer_url: Output<String>,
    /// The IAM OIDC provider's ARN, the `Federated` principal of
    /// service-account roles (when created).
    pub oidc_provider_arn: Option<Output<String>>,
    /// The control plane's role.
    pub cluster_role_arn: Output<String>,
    /// The nodes' role.
    pub node_role_arn: Output<String>,
    /// The nodes' role's name, to attach more policies to it elsewhere.
    pub node_role_name: Output<RoleName>,
    /// The secrets encryption key's ARN (when encrypting).
    pub kms_key_arn: Option<Output<String>>,
    /// The control-plane log group's name.
    pub log_group_name: Output<String>,
    /// Each node group's ARN, by node group name.
    pub node_group_arns: BTreeMap<String, Output<String>>,
}

/// The ARN of AWS-managed policy `name` in the partition of `role_arn`.
fn managed_policy(role_arn: &Output<String>, name: &'static str) -> Output<String> {
    role_arn.map(move |arn: String| {
        let partition = arn.split(':').nth(1).filter(|p| !p.is_empty()).unwrap_or("aws").to_owned();
        format!("arn:{partition}:iam::aws:policy/{name}")
    })
}

/// A trust policy letting `service` assume a role.
fn trust(service: &str) -> PolicyDocument {
    PolicyDocument::new().statement(
        Statement::builder()
            .actions(["sts:AssumeRole"])
            .principals(vec![Principal::Service(service.to_owned())])
            .build(),
    )
}

/// The last part of a policy ARN (`…:policy/service-role/X` → `X`), to name
/// its attachment.
fn policy_short_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

impl EksCluster {
    /// Declares the cluster as component `name` of `stack`.
    ///
    /// Problems with the arguments as a whole (a node group or add-on named
    /// twice, an add-on that needs nodes without any, a node policy given
    /// twice) are reported on the component at preview; each resource's own
    /// inputs (scaling, subnets, names, retention, …) are checked by the
    /// resource, under this component's name.
    ///
    /// ```
    /// use iac_core::{Config, Stack, Urn};
    /// use stacks::components::{AddonArgs, EksCluster, EksClusterArgs, NodeGroupArgs};
    ///
    /// let stack = Stack::new("platform", "prod", Config::from_table("prod", Default::default()));
    /// stack.provider("aws", iac_aws::AwsProvider::from_env());
    /// let eks = EksCluster::new(
    ///     &stack,
    ///     "eks",
    ///     &EksClusterArgs::builder()
    ///         .cluster_name("production-eks-cluster")
    ///         .kubernetes_version("1.32")
    ///         .subnet_ids(["subnet-0aaa", "subnet-0bbb", "subnet-0ccc"])
    ///         .node_groups(vec![NodeGroupArgs::builder()
    ///             .name("general")
    ///             .instance_types(vec!["m6i.large".into()])
    ///             .min_size(2)
    ///             .desired_size(3)
    ///             .max_size(6)
    ///             .build()])
    ///         .addons(vec![
    ///             AddonArgs::builder().name("vpc-cni").before_node_groups(true).build(),
    ///             AddonArgs::named("coredns"),
    ///             AddonArgs::named("kube-proxy"),
    ///         ])
    ///         .build(),
    /// );
    /// stack.export("cluster_endpoint", &eks.endpoint);
    /// stack.export("oidc_provider_arn", eks.oidc_provider_arn.as_ref().unwrap());
    /// // Declaring makes no cloud call; the graph holds the whole cluster.
    /// let graph = stack.finish().expect("valid arguments");
    /// for name in [
    ///     "cluster-role", "node-role", "secrets-key", "log-group", "cluster",
    ///     "node-group-general", "addon-coredns", "oidc-provider",
    /// ] {
    ///     assert!(graph.resources.contains_key(&Urn::new(format!("eks/{name}"))), "{name}");
    /// }
    /// ```
    pub fn new(stack: &Stack, name: &str, args: &EksClusterArgs) -> EksCluster {
        let c = stack.component(TYPE, name);
        let cluster_name = args.cluster_name.as_str();
        let tags = &args.tags;

        // The control plane's role.
        let cluster_role = c.add(
            "cluster-role",
            Role::builder()
                .name(format!("{cluster_name}-cluster-role"))
                .description(format!("EKS control plane of cluster {cluster_name}"))
                .assume_role_policy(trust("eks.amazonaws.com"))
                .tags(tags.clone())
                .build(),
        );
        // Problems with the arguments as a whole are the component's.
        let component: Urn = cluster_role.urn().parent().unwrap_or_else(|| cluster_role.urn().clone());
        let mut cluster_deps: Vec<Urn> = Vec::new();
        for policy in CLUSTER_POLICIES {
            let a = c.add(
                &format!("cluster-role-{policy}"),
                RolePolicyAttachment::builder()
                    .role(cluster_role.id.clone())
                    .policy_arn(managed_policy(&cluster_role.arn, policy))
                    .build(),
            );
            cluster_deps.push(a.urn().clone());
        }

        // Secrets encryption: a key of the cluster's own, which the control
        // plane's role may use (the key's default policy defers to IAM).
        let key = args.encrypt_secrets.then(|| {
            let key = c.add(
                "secrets-key",
                Key::builder()
                    .description(format!("EKS secrets encryption of cluster {cluster_name}"))
                    .enable_key_rotation(true)
                    .deletion_window_in_days(args.kms_deletion_window_days)
                    .tags(tags.clone())
                    .build(),
            );
            c.add(
                "secrets-key-alias",
                Alias::builder().name(format!("alias/eks/{cluster_name}")).target_key_id(key.id.clone()).build(),
            );
            let access = c.add(
                "cluster-role-secrets-key",
                RolePolicy::builder()
                    .role(cluster_role.id.clone())
                    .name("secrets-encryption")
                    .policy(
                        PolicyDocument::new().statement(
                            Statement::builder()
                                .sid("ClusterSecretsEncryption")
                                .actions(["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"])
                                .resources(vec![key.arn.clone().into()])
                                .build(),
                        ),
                    )
                    .build(),
            );
            cluster_deps.push(access.urn().clone());
            key.arn.clone()
        });

        // The log group EKS writes to, made first so its retention holds
        // (EKS would otherwise make it, keeping logs forever).
        let log_group = c.add(
            "log-group",
            LogGroup::builder()
                .name(format!("/aws/eks/{cluster_name}/cluster"))
                .retention_in_days(args.log_retention_days)
                .tags(tags.clone())
                .build(),
        );
        cluster_deps.push(log_group.urn().clone());

        let cluster = c.add_with(
            "cluster",
            Cluster::builder()
                .name(cluster_name)
                .maybe_version(args.kubernetes_version.clone())
                .role_arn(cluster_role.arn.clone())
                .subnet_ids(args.subnet_ids.clone())
                .security_group_ids(args.security_group_ids.clone())
                .endpoint_public_access(args.endpoint_public_access)
                .endpoint_private_access(args.endpoint_private_access)
                .public_access_cidrs(args.public_access_cidrs.clone())
                .enabled_cluster_log_types(args.enabled_log_types.clone())
                .maybe_encryption_key_arn(key.clone())
                .tags(tags.clone())
                .build(),
            cluster_deps.iter().fold(ResourceOptions::new(), ResourceOptions::depends_on),
        );

        // The nodes' role.
        let node_role = c.add(
            "node-role",
            Role::builder()
                .name(format!("{cluster_name}-node-role"))
                .description(format!("EKS nodes of cluster {cluster_name}"))
                .assume_role_policy(trust("ec2.amazonaws.com"))
                .tags(tags.clone())
                .build(),
        );
        let mut node_deps: Vec<Urn> = Vec::new();
        for policy in NODE_POLICIES {
            let a = c.add(
                &format!("node-role-{policy}"),
                RolePolicyAttachment::builder()
                    .role(node_role.id.clone())
                    .policy_arn(managed_policy(&node_role.arn, policy))
                    .build(),
            );
            node_deps.push(a.urn().clone());
        }
        let mut extra_names: BTreeSet<&str> = NODE_POLICIES.into_iter().collect();
        for (n, arn) in args.node_role_policy_arns.iter().enumerate() {
            let short = policy_short_name(arn);
            if !extra_names.insert(short) {
                stack.report(
                    &component,
                    &format!("node_role_policy_arns[{n}]"),
                    format!("`{arn}`: a policy named `{short}` is already attached to the node role"),
                );
                continue;
            }
            let a = c.add(
                &format!("node-role-{short}"),
                RolePolicyAttachment::builder().role(node_role.id.clone()).policy_arn(arn.clone()).build(),
            );
            node_deps.push(a.urn().clone());
        }

        // Node groups, once their role may do what nodes do.
        let mut node_groups: BTreeMap<String, Output<String>> = BTreeMap::new();
        let mut node_group_urns: Vec<Urn> = Vec::new();
        for (n, ng) in args.node_groups.iter().enumerate() {
            if node_groups.contains_key(&ng.name) {
                stack.report(
                    &component,
                    &format!("node_groups[{n}].name"),
                    format!("node group `{}` is declared twice; names are unique in a cluster", ng.name),
                );
                continue;
            }
            let mut opts = node_deps.iter().fold(ResourceOptions::new(), ResourceOptions::depends_on);
            if ng.ignore_desired_size {
                opts = opts.ignore_changes(["scaling.desiredSize"]);
            }
            let group = c.add_with(
                &format!("node-group-{}", ng.name),
                NodeGroup::builder()
                    .cluster_name(cluster.id.clone())
                    .nodegroup_name(ng.name.clone())
                    .node_role_arn(node_role.arn.clone())
                    .subnet_ids(args.subnet_ids.clone())
                    .instance_types(ng.instance_types.clone())
                    .capacity_type(ng.capacity_type)
                    .scaling(ScalingConfig {
                        min_size: ng.min_size,
                        desired_size: ng.desired_size,
                        max_size: ng.max_size,
                    })
                    .maybe_disk_size(ng.disk_size)
                    .labels(ng.labels.clone())
                    .taints(ng.taints.clone())
                    .maybe_ami_type(ng.ami_type.clone())
                    .tags(tags.clone())
                    .build(),
                opts,
            );
            node_group_urns.push(group.urn().clone());
            node_groups.insert(ng.name.clone(), group.arn.clone());
        }

        // Add-ons, after the node groups unless asked otherwise.
        let mut addons: BTreeSet<&str> = BTreeSet::new();
        for (n, addon) in args.addons.iter().enumerate() {
            if !addons.insert(addon.name.as_str()) {
                stack.report(
                    &component,
                    &format!("addons[{n}].name"),
                    format!("add-on `{}` is declared twice; a cluster has one of each", addon.name),
                );
                continue;
            }
            if NEEDS_NODES.contains(&addon.name.as_str()) {
                if node_group_urns.is_empty() {
                    stack.report(
                        &component,
                        &format!("addons[{n}]"),
                        format!(
                            "add-on `{}` runs pods that need nodes, and the cluster has no node group: \
                             it would stay DEGRADED",
                            addon.name
                        ),
                    );
                } else if addon.before_node_groups {
                    stack.report(
                        &component,
                        &format!("addons[{n}].before_node_groups"),
                        format!(
                            "add-on `{}` runs pods that need nodes, so it cannot be installed before the node groups",
                            addon.name
                        ),
                    );
                }
            }
            let opts = if addon.before_node_groups {
                ResourceOptions::new()
            } else {
                node_group_urns.iter().fold(ResourceOptions::new(), ResourceOptions::depends_on)
            };
            c.add_with(
                &format!("addon-{}", addon.name),
                Addon::builder()
                    .cluster_name(cluster.id.clone())
                    .addon_name(addon.name.clone())
                    .maybe_addon_version(addon.version.clone())
                    .resolve_conflicts(addon.resolve_conflicts)
                    .maybe_service_account_role_arn(addon.service_account_role_arn.clone())
                    .tags(tags.clone())
                    .build(),
                opts,
            );
        }

        // The cluster's OIDC issuer as an IAM identity provider (IRSA).
        let oidc_provider_arn = args.create_oidc_provider.then(|| {
            c.add(
                "oidc-provider",
                OpenIdConnectProvider::builder()
                    .url(cluster.oidc_issuer_url.clone())
                    .client_ids(vec!["sts.amazonaws.com".into()])
                    .thumbprints(args.oidc_thumbprints.clone())
                    .tags(tags.clone())
                    .build(),
            )
            .arn
            .clone()
        });

        EksCluster {
            cluster_name: cluster.id.clone(),
            arn: cluster.arn.clone(),
            endpoint: cluster.endpoint.clone(),
            certificate_authority: cluster.certificate_authority.clone(),
            cluster_security_group_id: cluster.cluster_security_group_id.clone(),
            kubernetes_version: cluster.version.clone(),
            oidc_issuer_url: cluster.oidc_issuer_url.clone(),
            oidc_provider_arn,
            cluster_role_arn: cluster_role.arn.clone(),
            node_role_arn: node_role.arn.clone(),
            node_role_name: node_role.id.clone(),
            kms_key_arn: key,
            log_group_name: log_group.id.clone(),
            node_group_arns: node_groups,
        }
    }
}
