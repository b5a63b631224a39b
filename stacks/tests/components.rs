//! Component-level tests: stack programs built from this crate's
//! components, previewed offline (no credentials, no network) and deployed
//! to the AWS emulator (moto, `iac_tests`), checked with the SDK.
//!
//! `EksCluster`: the arguments' problems at preview; the graph's order
//! (roles and log group before the cluster, node policies before the node
//! groups, add-ons after them); node groups from config; and against the
//! emulator the whole cluster created, read back without drift, a node
//! group scaled in place (an autoscaled one's desired size ignored), and
//! destroyed without a trace, add-ons included (moto has no EKS add-on API;
//! the harness emulates AWS's).

use std::collections::BTreeSet;
use std::sync::Arc;

use iac_aws::eks::{CapacityType, LogType, Taint, TaintEffect};
use iac_aws::{AwsProvider, AwsSettings};
use iac_core::ops::{RunOptions, Session};
use iac_core::state::local::LocalBackend;
use iac_core::{Config, Error, Op, Stack, Urn, Value};
use iac_tests::moto;
use stacks::components::{AddonArgs, EksCluster, EksClusterArgs, NatMode, Network, NetworkArgs, NodeGroupArgs};

type ProgramResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// A provider pointed at the emulator with dummy credentials.
fn emulator() -> AwsProvider {
    let m = moto();
    // The SDK's default chain reads these; they name nothing real.
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    AwsProvider::new(AwsSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some(m.endpoint.clone()),
        ..Default::default()
    })
}

/// A provider no call can succeed through: nothing listens on port 9 (the
/// discard port) of the loopback, so any cloud call fails the preview.
fn offline() -> AwsProvider {
    AwsProvider::new(AwsSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some("http://127.0.0.1:9".into()),
        ..Default::default()
    })
}

/// Sessions over one temp dir (state and config).
struct Harness {
    dir: tempfile::TempDir,
    aws: AwsProvider,
}

impl Harness {
    fn new(aws: AwsProvider) -> Harness {
        Harness { dir: tempfile::tempdir().expect("temp dir"), aws }
    }

    fn session(&self, stack: &str, program: impl Fn(&Stack) -> ProgramResult + Send + Sync + 'static) -> Session {
        let aws = self.aws.clone();
        Session {
            project: "components-test".into(),
            stack: stack.into(),
            config_dir: self.dir.path().join("config"),
            backend: Arc::new(LocalBackend::new(self.dir.path().join("state"))),
            program: Arc::new(move |s: &Stack| {
                s.provider("aws", aws.clone());
                program(s)
            }),
            observer: Arc::new(|e| {
                if let iac_core::engine::Event::Retrying { urn, error, attempt, .. } = e {
                    eprintln!("retrying {urn} (attempt {attempt}): {error}");
                }
            }),
        }
    }
}

fn opts() -> RunOptions {
    RunOptions { parallel: 8, ..RunOptions::default() }
}

/// The cluster the document's EKS modules describe, scaled down: two
/// zones, secrets encryption, three log types, an on-demand and an
/// autoscaled Spot node group, the usual add-ons and IRSA.
#[derive(Clone, Copy)]
struct Shape {
    cluster: &'static str,
    general_desired: i32,
    spot_desired: i32,
    addons: bool,
}

fn eks_args(x: Shape, subnets: Vec<iac_core::Output<String>>) -> EksClusterArgs {
    let addons = if x.addons {
        vec![
            AddonArgs::builder().name("vpc-cni").version("v1.15.1-eksbuild.1").before_node_groups(true).build(),
            AddonArgs::named("kube-proxy"),
            AddonArgs::named("coredns"),
            AddonArgs::named("aws-ebs-csi-driver"),
        ]
    } else {
        vec![]
    };
    EksClusterArgs::builder()
        .cluster_name(x.cluster)
        .kubernetes_version("1.33")
        .subnet_ids(subnets)
        .enabled_log_types(vec![LogType::Api, LogType::Audit, LogType::Authenticator])
        .log_retention_days(30)
        .kms_deletion_window_days(7)
        .node_groups(vec![
            NodeGroupArgs::builder()
                .name("general")
                .instance_types(vec!["m6i.large".into()])
                .min_size(2)
                .desired_size(x.general_desired)
                .max_size(4)
                .disk_size(50)
                .labels(iac_aws::tags([("workload", "general")]))
                .build(),
            NodeGroupArgs::builder()
                .name("spot")
                .instance_types(vec!["t3.large".into(), "t3a.large".into()])
                .capacity_type(CapacityType::Spot)
                .min_size(0)
                .desired_size(x.spot_desired)
                .max_size(3)
                .taints(vec![Taint::builder().key("spot").value("true").effect(TaintEffect::NoSchedule).build()])
                .ignore_desired_size(true)
                .build(),
        ])
        .addons(addons)
        .tags(iac_aws::tags([("Component", "eks")]))
        .build()
}

/// The program: a network, the cluster in its private subnets, exports.
fn platform(s: &Stack, x: Shape) {
    let net = Network::new(
        s,
        "network",
        &NetworkArgs {
            cidr: "10.40.0.0/16".into(),
            azs: vec!["us-east-1a".into(), "us-east-1b".into()],
            database_subnets: false,
            nat: NatMode::None,
            flow_log_retention_days: None,
            s3_endpoint: false,
            eks_cluster_name: Some("components-eks".into()),
        },
    );
    let subnets = net.private_subnets.iter().map(|id| id.as_string()).collect();
    let eks = EksCluster::new(s, "eks", &eks_args(x, subnets));
    s.export("vpc_id", net.vpc_id.clone());
    s.export("cluster_name", eks.cluster_name.clone());
    s.export("cluster_arn", eks.arn.clone());
    s.export("cluster_endpoint", eks.endpoint.clone());
    s.export("cluster_ca", eks.certificate_authority.clone());
    s.export("kubernetes_version", eks.kubernetes_version.clone());
    s.export("oidc_issuer_url", eks.oidc_issuer_url.clone());
    s.export("oidc_provider_arn", eks.oidc_provider_arn.clone().expect("created"));
    s.export("cluster_role_arn", eks.cluster_role_arn.clone());
    s.export("node_role_arn", eks.node_role_arn.clone());
    s.export("kms_key_arn", eks.kms_key_arn.clone().expect("encrypting"));
    s.export("log_group", eks.log_group_name.clone());
    s.export("general_arn", eks.node_group_arns["general"].clone());
}

fn program(x: Shape) -> impl Fn(&Stack) -> ProgramResult + Send + Sync + 'static {
    move |s| {
        platform(s, x);
        Ok(())
    }
}

fn urn(name: &str) -> Urn {
    Urn::new(format!("eks/{name}"))
}

fn str_list(v: &Value) -> Vec<&str> {
    v.as_list().map(|l| l.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

const CLUSTER_RESOURCES: [&str; 17] = [
    "cluster-role",
    "cluster-role-AmazonEKSClusterPolicy",
    "secrets-key",
    "secrets-key-alias",
    "cluster-role-secrets-key",
    "log-group",
    "cluster",
    "node-role",
    "node-role-AmazonEKSWorkerNodePolicy",
    "node-role-AmazonEKS_CNI_Policy",
    "node-role-AmazonEC2ContainerRegistryReadOnly",
    "node-group-general",
    "node-group-spot",
    "oidc-provider",
    "addon-vpc-cni",
    "addon-kube-proxy",
    "addon-coredns",
];

#[tokio::test(flavor = "multi_thread")]
async fn eks_cluster_previews_offline_in_dependency_order() {
    let h = Harness::new(offline());
    let shape = Shape { cluster: "preview-eks", general_desired: 2, spot_desired: 1, addons: true };
    let s = h.session("preview", program(shape));
    // From an empty state a preview makes no cloud call: every call would
    // fail against the offline endpoint.
    let p = s.preview(&opts()).await.expect("an offline preview");
    let creates: BTreeSet<&str> =
        p.plan.steps.iter().filter(|st| st.op == Op::Create).map(|st| st.urn.as_str()).collect();
    for name in CLUSTER_RESOURCES.iter().chain(&["addon-aws-ebs-csi-driver"]) {
        assert!(creates.contains(urn(name).as_str()), "{name} is created: {creates:?}");
    }
    assert!(p.plan.steps.iter().all(|st| st.op == Op::Create), "everything is new");
    let step =
        |name: &str| p.plan.steps.iter().find(|st| st.urn == urn(name)).unwrap_or_else(|| panic!("{name} planned"));
    let inputs = |name: &str| step(name).new_inputs.clone().unwrap_or_else(|| panic!("{name} has inputs"));

    let cluster = inputs("cluster");
    assert_eq!(cluster.get("name").as_str(), Some("preview-eks"));
    assert_eq!(cluster.get("version").as_str(), Some("1.33"));
    assert_eq!(str_list(cluster.get("enabledClusterLogTypes")), ["api", "audit", "authenticator"]);
    assert_eq!(cluster.get("endpointPrivateAccess").as_bool(), Some(true));
    assert!(cluster.get("encryptionKeyArn").contains_unknown(), "the key is made in the same run");
    assert_eq!(inputs("log-group").get("name").as_str(), Some("/aws/eks/preview-eks/cluster"));
    assert_eq!(inputs("log-group").get("retentionInDays").as_i64(), Some(30));
    assert_eq!(inputs("secrets-key").get("enableKeyRotation").as_bool(), Some(true));
    assert_eq!(inputs("secrets-key-alias").get("name").as_str(), Some("alias/eks/preview-eks"));
    assert_eq!(inputs("cluster-role").get("name").as_str(), Some("preview-eks-cluster-role"));
    let trust = format!("{:?}", inputs("node-role").get("assumeRolePolicy"));
    assert!(trust.contains("ec2.amazonaws.com") && trust.contains("sts:AssumeRole"), "{trust}");
    let spot = inputs("node-group-spot");
    assert_eq!(spot.get("capacityType").as_str(), Some("SPOT"));
    assert_eq!(spot.get_path("scaling.minSize").as_i64(), Some(0));
    assert_eq!(spot.get_path("scaling.maxSize").as_i64(), Some(3));
    assert_eq!(spot.get_path("taints.0.effect").as_str(), Some("NO_SCHEDULE"));
    assert_eq!(inputs("node-group-general").get("capacityType").as_str(), Some("ON_DEMAND"));
    assert_eq!(inputs("node-group-general").get("diskSize").as_i64(), Some(50));
    assert_eq!(inputs("addon-vpc-cni").get("addonVersion").as_str(), Some("v1.15.1-eksbuild.1"));
    assert_eq!(inputs("addon-coredns").get("resolveConflicts").as_str(), Some("OVERWRITE"));
    assert_eq!(inputs("addon-coredns").get("tags").get("Component").as_str(), Some("eks"));

    // The order the engine follows comes from the graph.
    let (graph, _) = s.run_program().expect("the program runs");
    let deps = |name: &str| -> Vec<String> {
        graph.resources[&urn(name)].deps.iter().map(|u| u.as_str().trim_start_matches("eks/").to_owned()).collect()
    };
    let has = |name: &str, on: &[&str]| {
        let d = deps(name);
        for o in on {
            assert!(d.iter().any(|x| x == o), "{name} depends on {o}: {d:?}");
        }
    };
    has(
        "cluster",
        &[
            "cluster-role",
            "cluster-role-AmazonEKSClusterPolicy",
            "cluster-role-secrets-key",
            "secrets-key",
            "log-group",
        ],
    );
    has(
        "node-group-general",
        &[
            "cluster",
            "node-role",
            "node-role-AmazonEKSWorkerNodePolicy",
            "node-role-AmazonEKS_CNI_Policy",
            "node-role-AmazonEC2ContainerRegistryReadOnly",
        ],
    );
    for addon in ["kube-proxy", "coredns", "aws-ebs-csi-driver"] {
        has(&format!("addon-{addon}"), &["cluster", "node-group-general", "node-group-spot"]);
    }
    has("addon-vpc-cni", &["cluster"]);
    assert!(!deps("addon-vpc-cni").iter().any(|d| d.starts_with("node-group")), "vpc-cni goes before the nodes");
    has("oidc-provider", &["cluster"]);
    let spot = &graph.resources[&urn("node-group-spot")].options;
    assert_eq!(spot.ignore_changes, ["scaling.desiredSize"], "the autoscaled group's desired size is ignored");
    assert!(graph.resources[&urn("node-group-general")].options.ignore_changes.is_empty());
    assert_eq!(graph.resources[&Urn::new("eks")].type_token, "stacks:EksCluster");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_eks_arguments_are_reported_at_preview() {
    let h = Harness::new(offline());
    let s = h.session("bad", |s| {
        let group = |name: &str, min: i32, desired: i32, max: i32| {
            NodeGroupArgs::builder()
                .name(name)
                .instance_types(vec!["m6i.large".into()])
                .min_size(min)
                .desired_size(desired)
                .max_size(max)
                .build()
        };
        EksCluster::new(
            s,
            "bad",
            &EksClusterArgs::builder()
                .cluster_name("bad-eks")
                .subnet_ids(Vec::<String>::new())
                .log_retention_days(45)
                .node_groups(vec![group("general", 1, 2, 3), group("general", 1, 1, 1), group("batch", 3, 1, 2)])
                .addons(vec![
                    AddonArgs::named("coredns"),
                    AddonArgs::named("coredns"),
                    AddonArgs::builder().name("aws-ebs-csi-driver").before_node_groups(true).build(),
                ])
                .node_role_policy_arns(vec!["arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy".into()])
                .build(),
        );
        EksCluster::new(
            s,
            "no-nodes",
            &EksClusterArgs::builder()
                .cluster_name("no-nodes")
                .subnet_ids(["subnet-0aaa", "subnet-0bbb"])
                .addons(vec![AddonArgs::named("kube-proxy"), AddonArgs::named("coredns")])
                .build(),
        );
        Ok(())
    });
    let err = s.preview(&opts()).await.err().expect("the preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected every problem at once, got {err}") };
    let text = err.to_string();
    let expect = |urn: &str, field: &str, words: &[&str]| {
        let found = diags
            .iter()
            .any(|d| d.urn.as_str() == urn && d.field == field && words.iter().all(|w| d.message.contains(w)));
        assert!(found, "expected {urn} {field} {words:?} in:\n{text}");
    };
    // The component's own checks, on the component, by argument.
    expect("bad", "node_groups[1].name", &["`general`", "twice"]);
    expect("bad", "addons[1].name", &["`coredns`", "twice"]);
    expect("bad", "addons[2].before_node_groups", &["aws-ebs-csi-driver", "before the node groups"]);
    expect("bad", "node_role_policy_arns[0]", &["AmazonEKS_CNI_Policy", "already attached"]);
    expect("no-nodes", "addons[1]", &["coredns", "no node group", "DEGRADED"]);
    // The resources' own checks, under the component's name.
    expect("bad/cluster", "subnetIds", &["0 subnet(s)"]);
    expect("bad/node-group-batch", "scaling", &["minSize 3", "maxSize 2"]);
    expect("bad/log-group", "retentionInDays", &["45"]);
    // No subnets: each node group says so too.
    expect("bad/node-group-general", "subnetIds", &["at least one subnet"]);
    expect("bad/node-group-batch", "subnetIds", &["at least one subnet"]);
    // Nothing else: the duplicates were left out (no name clash), and an
    // add-on that needs no nodes is fine without them.
    assert_eq!(diags.len(), 10, "{text}");
    assert!(!text.contains("kube-proxy"), "kube-proxy runs without node groups: {text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn node_groups_come_from_config_and_bad_values_name_the_key() {
    let h = Harness::new(offline());
    let config_dir = h.dir.path().join("config");
    std::fs::create_dir_all(&config_dir).unwrap();
    let program = |s: &Stack| -> ProgramResult {
        let groups: Vec<NodeGroupArgs> = s.config().require("node_groups")?;
        EksCluster::new(
            s,
            "eks",
            &EksClusterArgs::builder()
                .cluster_name("from-config")
                .subnet_ids(["subnet-0aaa", "subnet-0bbb"])
                .node_groups(groups)
                .build(),
        );
        Ok(())
    };

    let good = r#"
[[node_groups]]
name = "spot"
instance_types = ["t3.medium", "t3a.medium"]
capacity_type = "SPOT"
min_size = 0
desired_size = 1
max_size = 3
ignore_desired_size = true
taints = [{ key = "spot", value = "true", effect = "NO_SCHEDULE" }]
"#;
    std::fs::write(config_dir.join("good.toml"), good).unwrap();
    let p = h.session("good", program).preview(&opts()).await.expect("preview");
    let ng = p.plan.steps.iter().find(|st| st.urn == urn("node-group-spot")).expect("node group planned");
    let inputs = ng.new_inputs.as_ref().unwrap();
    assert_eq!(inputs.get("capacityType").as_str(), Some("SPOT"));
    assert_eq!(inputs.get_path("scaling.desiredSize").as_i64(), Some(1));

    for (stack, text, words) in [
        ("lowercase", good.replace("\"SPOT\"", "\"spot\""), &["node_groups", "`spot` is not one of", "SPOT"][..]),
        ("typo", good.replace("desired_size", "desired_capacity"), &["node_groups", "desired_capacity"][..]),
    ] {
        std::fs::write(config_dir.join(format!("{stack}.toml")), text).unwrap();
        let err = h.session(stack, program).preview(&opts()).await.err().expect("a bad value fails");
        let msg = err.to_string();
        for w in words {
            assert!(msg.contains(w), "`{w}` in: {msg}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn eks_cluster_lifecycle_on_the_emulator() {
    let h = Harness::new(emulator());
    let name = "components-eks";
    let v1 = Shape { cluster: name, general_desired: 2, spot_desired: 1, addons: false };
    let s = h.session("eks", program(v1));
    let a = s.up(&opts(), None, &mut |_, _| Ok(true)).await.expect("up");
    assert!(a.report.failures.is_empty(), "up failed: {:?}", a.report.failures);
    let out = &a.report.state.outputs;
    let export = |k: &str| out.get(k).and_then(Value::as_str).unwrap_or_else(|| panic!("{k} exported: {out:?}"));

    // The control plane.
    let eks = h.aws.eks().await;
    let c = eks.describe_cluster().name(name).send().await.expect("cluster").cluster.expect("cluster");
    assert_eq!(c.version(), Some("1.33"));
    assert_eq!(c.role_arn(), Some(export("cluster_role_arn")));
    assert_eq!(c.arn(), Some(export("cluster_arn")));
    assert_eq!(c.endpoint(), Some(export("cluster_endpoint")));
    assert_eq!(c.certificate_authority().and_then(|ca| ca.data()), Some(export("cluster_ca")));
    assert_eq!(export("kubernetes_version"), "1.33");
    let vpc = c.resources_vpc_config().expect("VPC config");
    assert_eq!(vpc.subnet_ids().len(), 2, "the two private subnets");
    assert!(vpc.endpoint_private_access() && vpc.endpoint_public_access());
    let logging: BTreeSet<String> = c
        .logging()
        .expect("logging")
        .cluster_logging()
        .iter()
        .filter(|l| l.enabled() == Some(true))
        .flat_map(|l| l.types().iter().map(|t| t.as_str().to_owned()))
        .collect();
    assert_eq!(logging, BTreeSet::from(["api", "audit", "authenticator"].map(String::from)));
    let enc = &c.encryption_config()[0];
    assert_eq!(enc.provider().and_then(|p| p.key_arn()), Some(export("kms_key_arn")));
    #[allow(deprecated)]
    let resources = enc.resources();
    assert_eq!(resources, ["secrets"]);
    assert_eq!(c.tags().and_then(|t| t.get("Component")).map(String::as_str), Some("eks"));

    // The node groups.
    let ng = |group: &'static str| {
        let eks = eks.clone();
        async move {
            let out = eks.describe_nodegroup().cluster_name(name).nodegroup_name(group).send().await;
            out.unwrap_or_else(|e| panic!("node group {group}: {e:?}")).nodegroup.expect("node group")
        }
    };
    let general = ng("general").await;
    assert_eq!(general.capacity_type().map(|c| c.as_str()), Some("ON_DEMAND"));
    assert_eq!(general.instance_types(), ["m6i.large"]);
    let scaling = general.scaling_config().expect("scaling");
    assert_eq!((scaling.min_size(), scaling.desired_size(), scaling.max_size()), (Some(2), Some(2), Some(4)));
    assert_eq!(general.disk_size(), Some(50));
    assert_eq!(general.labels().expect("labels")["workload"], "general");
    assert_eq!(general.node_role(), Some(export("node_role_arn")));
    assert_eq!(general.subnets().len(), 2);
    assert_eq!(general.nodegroup_arn(), Some(export("general_arn")));
    let spot = ng("spot").await;
    assert_eq!(spot.capacity_type().map(|c| c.as_str()), Some("SPOT"));
    assert_eq!(spot.instance_types(), ["t3.large", "t3a.large"]);
    let scaling = spot.scaling_config().expect("scaling");
    assert_eq!((scaling.min_size(), scaling.desired_size(), scaling.max_size()), (Some(0), Some(1), Some(3)));
    let taint = &spot.taints()[0];
    assert_eq!((taint.key(), taint.value()), (Some("spot"), Some("true")));
    assert_eq!(taint.effect().map(|e| e.as_str()), Some("NO_SCHEDULE"));

    // The roles and what they may do.
    let iam = h.aws.iam().await;
    let attached = |role: String| {
        let iam = iam.clone();
        async move {
            let out = iam.list_attached_role_policies().role_name(&role).send().await.expect("attached policies");
            out.attached_policies().iter().filter_map(|p| p.policy_name().map(str::to_owned)).collect::<BTreeSet<_>>()
        }
    };
    assert_eq!(attached(format!("{name}-cluster-role")).await, BTreeSet::from(["AmazonEKSClusterPolicy".to_owned()]));
    assert_eq!(
        attached(format!("{name}-node-role")).await,
        BTreeSet::from(
            ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"]
                .map(String::from)
        )
    );
    let role = iam.get_role().role_name(format!("{name}-cluster-role")).send().await.expect("cluster role");
    let trust = role.role().and_then(|r| r.assume_role_policy_document()).unwrap_or_default();
    assert!(trust.contains("eks.amazonaws.com"), "{trust}");
    let kms_access = iam
        .get_role_policy()
        .role_name(format!("{name}-cluster-role"))
        .policy_name("secrets-encryption")
        .send()
        .await
        .expect("the cluster role may use the key");
    assert!(
        kms_access.policy_document().contains("kms%3ADecrypt") || kms_access.policy_document().contains("kms:Decrypt")
    );

    // The secrets key, rotating, with its alias.
    let kms = h.aws.kms().await;
    let key_arn = export("kms_key_arn");
    let rotation = kms.get_key_rotation_status().key_id(key_arn).send().await.expect("rotation status");
    assert!(rotation.key_rotation_enabled(), "the key rotates");
    let alias_name = format!("alias/eks/{name}");
    let aliases = kms.list_aliases().send().await.expect("aliases");
    let alias = aliases.aliases().iter().find(|a| a.alias_name() == Some(alias_name.as_str()));
    let key_id = key_arn.rsplit('/').next().unwrap();
    assert_eq!(alias.and_then(|a| a.target_key_id()), Some(key_id), "alias/eks/{name} names the key");

    // The log group, made with its retention.
    let logs = h.aws.logs().await;
    let group = format!("/aws/eks/{name}/cluster");
    assert_eq!(export("log_group"), group);
    let groups = logs.describe_log_groups().log_group_name_prefix(&group).send().await.expect("log groups");
    assert_eq!(groups.log_groups().len(), 1);
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(30));

    // IRSA: the cluster's issuer as an IAM identity provider.
    let issuer = c.identity().and_then(|i| i.oidc()).and_then(|o| o.issuer()).expect("an issuer");
    assert_eq!(export("oidc_issuer_url"), issuer);
    let provider_arn = export("oidc_provider_arn").to_owned();
    let provider = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&provider_arn)
        .send()
        .await
        .expect("the OIDC provider");
    assert_eq!(
        provider.url().map(|u| u.trim_start_matches("https://")),
        Some(issuer.trim_start_matches("https://")),
        "the provider is the cluster's issuer"
    );
    assert_eq!(provider.client_id_list(), ["sts.amazonaws.com"]);

    // Read back, nothing differs.
    let p = s.preview(&RunOptions { refresh: true, ..opts() }).await.expect("preview --refresh");
    let changes: Vec<String> = p.plan.changes().map(|st| format!("{} {}", st.op.marker(), st.urn)).collect();
    assert!(p.drift.is_empty(), "no drift: {:?}", p.drift);
    assert!(changes.is_empty(), "no changes: {changes:?}");

    // Scaling: the general group in place; the autoscaled group's desired
    // size is the autoscaler's, so a new value in the program is no change.
    let v2 = Shape { general_desired: 3, spot_desired: 2, ..v1 };
    let s = h.session("eks", program(v2));
    let a = s.up(&opts(), None, &mut |_, _| Ok(true)).await.expect("up");
    assert!(a.report.failures.is_empty(), "up failed: {:?}", a.report.failures);
    let changed: Vec<(&str, Op)> = a.plan.changes().map(|st| (st.urn.as_str(), st.op)).collect();
    assert_eq!(changed, [("eks/node-group-general", Op::Update)]);
    let general = ng("general").await;
    assert_eq!(general.scaling_config().and_then(|s| s.desired_size()), Some(3));
    assert_eq!(general.nodegroup_arn(), Some(export("general_arn")), "scaled in place");
    assert_eq!(ng("spot").await.scaling_config().and_then(|s| s.desired_size()), Some(1));

    // Add-ons (moto 5.2.5 has no add-on API; the harness emulates AWS's):
    // created at the version asked for or the add-on's default, read back
    // without drift, and removed with the cluster.
    let v3 = Shape { addons: true, ..v2 };
    let s = h.session("eks", program(v3));
    let a = s.up(&opts(), None, &mut |_, _| Ok(true)).await.expect("up runs");
    assert!(a.report.failures.is_empty(), "up failed: {:?}", a.report.failures);
    let changed: BTreeSet<String> = a.plan.changes().map(|st| format!("{} {}", st.op.marker(), st.urn)).collect();
    assert_eq!(changed.len(), 4, "only the add-ons: {changed:?}");
    assert!(changed.iter().all(|c| c.starts_with("+ eks/addon-")), "{changed:?}");
    let listed = eks.list_addons().cluster_name(name).send().await.expect("add-ons");
    let mut listed: Vec<&str> = listed.addons().iter().map(String::as_str).collect();
    listed.sort_unstable();
    assert_eq!(listed, ["aws-ebs-csi-driver", "coredns", "kube-proxy", "vpc-cni"]);
    let cni = eks.describe_addon().cluster_name(name).addon_name("vpc-cni").send().await.expect("vpc-cni");
    let cni = cni.addon().expect("vpc-cni");
    assert_eq!(cni.addon_version(), Some("v1.15.1-eksbuild.1"));
    assert_eq!(cni.status().map(|s| s.as_str()), Some("ACTIVE"));
    let dns = eks.describe_addon().cluster_name(name).addon_name("coredns").send().await.expect("coredns");
    assert_eq!(dns.addon().and_then(|a| a.tags()).and_then(|t| t.get("Component")).map(String::as_str), Some("eks"));
    let p = s.preview(&RunOptions { refresh: true, ..opts() }).await.expect("preview --refresh");
    assert!(p.drift.is_empty(), "no drift: {:?}", p.drift);
    assert_eq!(p.plan.changes().count(), 0, "nothing to change");

    // Destroy leaves nothing.
    let vpc_id = export("vpc_id").to_owned();
    let d = s.destroy(&opts(), &mut |_, _| Ok(true)).await.expect("destroy");
    assert!(d.report.failures.is_empty(), "destroy failed: {:?}", d.report.failures);
    assert!(d.report.state.resources.is_empty(), "{:?}", d.report.state.resources.keys().collect::<Vec<_>>());
    let clusters = eks.list_clusters().send().await.expect("clusters");
    assert!(!clusters.clusters().iter().any(|c| c == name), "cluster deleted: {:?}", clusters.clusters());
    let roles = iam.list_roles().send().await.expect("roles");
    let ours: Vec<&str> = roles.roles().iter().map(|r| r.role_name()).filter(|r| r.starts_with(name)).collect();
    assert!(ours.is_empty(), "roles deleted: {ours:?}");
    let providers = iam.list_open_id_connect_providers().send().await.expect("OIDC providers");
    assert!(
        !providers.open_id_connect_provider_list().iter().any(|p| p.arn() == Some(provider_arn.as_str())),
        "OIDC provider deleted"
    );
    let aliases = kms.list_aliases().send().await.expect("aliases");
    assert!(!aliases.aliases().iter().any(|a| a.alias_name() == Some(alias_name.as_str())), "alias deleted");
    let key = kms.describe_key().key_id(key_id).send().await.expect("key");
    assert_eq!(
        key.key_metadata().and_then(|m| m.key_state()).map(|s| s.as_str()),
        Some("PendingDeletion"),
        "the key is scheduled for deletion"
    );
    let groups = logs.describe_log_groups().log_group_name_prefix(&group).send().await.expect("log groups");
    assert!(groups.log_groups().is_empty(), "log group deleted");
    let ec2 = h.aws.ec2().await;
    let vpcs = ec2.describe_vpcs().send().await.expect("VPCs");
    assert!(!vpcs.vpcs().iter().any(|v| v.vpc_id() == Some(vpc_id.as_str())), "VPC deleted");
}

/// Without secrets encryption or IRSA, neither the key (with its alias and
/// the role's access to it) nor the OIDC provider is declared.
#[test]
fn without_encryption_or_irsa_no_key_or_provider_is_declared() {
    let stack = Stack::new("p", "dev", Config::from_table("dev", Default::default()));
    stack.provider("aws", offline());
    let eks = EksCluster::new(
        &stack,
        "eks",
        &EksClusterArgs::builder()
            .cluster_name("plain")
            .subnet_ids(["subnet-0aaa", "subnet-0bbb"])
            .encrypt_secrets(false)
            .create_oidc_provider(false)
            .build(),
    );
    assert!(eks.kms_key_arn.is_none() && eks.oidc_provider_arn.is_none());
    let graph = stack.finish().expect("valid");
    for absent in ["secrets-key", "secrets-key-alias", "cluster-role-secrets-key", "oidc-provider"] {
        assert!(!graph.resources.contains_key(&urn(absent)), "{absent} not declared");
    }
    let iac_core::Expr::Map(inputs) = &graph.resources[&urn("cluster")].inputs else { panic!("cluster inputs") };
    assert!(!inputs.contains_key("encryptionKeyArn"), "no encryption config");
}
