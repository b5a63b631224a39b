//! EKS: a cluster with control-plane logging and secrets encryption and a
//! managed node group — created, read back without drift, updated in place,
//! the node group replaced, destroyed — checked with the SDK. Moto has no
//! add-on API, so the add-on test checks that such a failure is reported
//! with the resource and operation and leaves the rest of the stack whole.

use iac_aws::ec2::{Subnet, Vpc};
use iac_aws::eks::{Addon, CapacityType, Cluster, LogType, NodeGroup, ScalingConfig};
use iac_aws::kms::Key;
use iac_core::{Error, Output, Stack, Urn};

use crate::support::*;

const ACCOUNT_ROLE: &str = "arn:aws:iam::123456789012:role";

fn network(s: &Stack, cidr: &str) -> Vec<Output<String>> {
    let vpc = s.add("vpc", Vpc::builder().cidr_block(format!("{cidr}.0.0/16")).build());
    ["a", "b"]
        .iter()
        .enumerate()
        .map(|(i, az)| {
            s.add(
                &format!("subnet-{az}"),
                Subnet::builder()
                    .vpc_id(vpc.id.clone())
                    .cidr_block(format!("{cidr}.{}.0/24", i + 1))
                    .availability_zone(format!("us-east-1{az}"))
                    .build(),
            )
            .id
            .as_string()
        })
        .collect()
}

#[derive(Clone, Copy)]
struct Eks {
    logs: &'static [LogType],
    private_endpoint: bool,
    desired: i32,
    team: &'static str,
    instance: &'static str,
}

fn eks(s: &Stack, x: Eks) {
    let subnets = network(s, "10.30");
    let key = s.add("secrets-key", Key::builder().description("eks secrets").deletion_window_in_days(7).build());
    let cluster = s.add(
        "cluster",
        Cluster::builder()
            .name("platform")
            .version("1.33")
            .role_arn(format!("{ACCOUNT_ROLE}/eks-cluster"))
            .subnet_ids(subnets.clone())
            .endpoint_private_access(x.private_endpoint)
            .enabled_cluster_log_types(x.logs.to_vec())
            .encryption_key_arn(key.arn.clone())
            .build(),
    );
    s.add(
        "nodes",
        NodeGroup::builder()
            .cluster_name(cluster.id.clone())
            .nodegroup_name("general")
            .node_role_arn(format!("{ACCOUNT_ROLE}/eks-node"))
            .subnet_ids(subnets)
            .instance_types(vec![x.instance.into()])
            .capacity_type(CapacityType::Spot)
            .scaling(ScalingConfig::builder().min_size(1).desired_size(x.desired).max_size(5).build())
            .labels(iac_aws::tags([("team", x.team)]))
            .build(),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cluster_and_node_group_lifecycle() {
    let h = Harness::new();
    let client = h.aws.eks().await.clone();
    let v1 = Eks { logs: &[LogType::Api], private_endpoint: false, desired: 2, team: "data", instance: "m6i.large" };

    let s = h.session("eks", move |s| eks(s, v1));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "eks").await;
    for name in ["cluster", "nodes", "secrets-key"] {
        assert_adoptable(&h, &a, "eks", name).await;
    }
    let c = client.describe_cluster().name("platform").send().await.unwrap().cluster.unwrap();
    assert_eq!(c.version(), Some("1.33"));
    assert_eq!(c.status().map(|s| s.as_str()), Some("ACTIVE"));
    assert_eq!(c.resources_vpc_config().unwrap().subnet_ids().len(), 2);
    let key_arn = a.report.state.resources[&Urn::new("secrets-key")].outputs.get("arn").as_str().unwrap().to_owned();
    let enc = c.encryption_config()[0].provider().and_then(|p| p.key_arn());
    assert_eq!(enc, Some(key_arn.as_str()), "secrets encrypted with the stack's key");
    let ng = client.describe_nodegroup().cluster_name("platform").nodegroup_name("general").send().await.unwrap();
    let ng = ng.nodegroup.unwrap();
    assert_eq!(ng.capacity_type().map(|c| c.as_str()), Some("SPOT"));
    assert_eq!(ng.scaling_config().and_then(|s| s.desired_size()), Some(2));
    assert_eq!(ng.labels().unwrap()["team"], "data");
    let ng_arn = ng.nodegroup_arn().unwrap().to_owned();
    assert_no_drift(&s).await;

    // In place: logging, endpoint access, scaling and labels.
    let v2 = Eks { logs: &[LogType::Api, LogType::Audit], private_endpoint: true, desired: 3, team: "ml", ..v1 };
    let s = h.session("eks", move |s| eks(s, v2));
    up(&s).await;
    let c = client.describe_cluster().name("platform").send().await.unwrap().cluster.unwrap();
    assert!(c.resources_vpc_config().unwrap().endpoint_private_access());
    let enabled: Vec<_> = c
        .logging()
        .unwrap()
        .cluster_logging()
        .iter()
        .filter(|l| l.enabled() == Some(true))
        .flat_map(|l| l.types().iter().map(|t| t.as_str().to_owned()))
        .collect();
    assert!(enabled.contains(&"audit".to_owned()) && enabled.contains(&"api".to_owned()), "{enabled:?}");
    let ng = client.describe_nodegroup().cluster_name("platform").nodegroup_name("general").send().await.unwrap();
    let ng = ng.nodegroup.unwrap();
    assert_eq!(ng.nodegroup_arn(), Some(ng_arn.as_str()), "node group updated in place");
    assert_eq!(ng.scaling_config().and_then(|s| s.desired_size()), Some(3));
    assert_eq!(ng.labels().unwrap()["team"], "ml");
    assert_no_drift(&s).await;

    // Another instance type replaces the node group.
    let v3 = Eks { instance: "m6i.xlarge", ..v2 };
    let s = h.session("eks", move |s| eks(s, v3));
    up(&s).await;
    let ng = client.describe_nodegroup().cluster_name("platform").nodegroup_name("general").send().await.unwrap();
    assert_eq!(ng.nodegroup.unwrap().instance_types(), ["m6i.xlarge"]);
    assert_no_drift(&s).await;

    destroy(&s).await;
    assert!(client.describe_cluster().name("platform").send().await.is_err(), "cluster deleted");
}

#[derive(Clone, Copy)]
struct Addons {
    version: Option<&'static str>,
    team: &'static str,
}

fn addons(s: &Stack, x: Addons) {
    let subnets = network(s, "10.31");
    let cluster = s.add(
        "cluster",
        Cluster::builder()
            .name("addons")
            .version("1.33")
            .role_arn(format!("{ACCOUNT_ROLE}/eks-cluster"))
            .subnet_ids(subnets)
            .build(),
    );
    s.add(
        "vpc-cni",
        Addon::builder()
            .cluster_name(cluster.id.clone())
            .addon_name("vpc-cni")
            .maybe_addon_version(x.version.map(str::to_owned))
            .tags(iac_aws::tags([("Team", x.team)]))
            .build(),
    );
}

/// Add-ons (moto has no add-on API; the harness emulates AWS's): AWS's
/// default version when none is asked for (not drift), a version and tags
/// changed in place, gone with destroy; an add-on on a missing cluster
/// fails alone, naming itself and the call.
#[tokio::test(flavor = "multi_thread")]
async fn addon_lifecycle_and_failure() {
    let h = Harness::new();
    let client = h.aws.eks().await.clone();
    let v1 = Addons { version: None, team: "net" };
    let s = h.session("eks-addon", move |s| addons(s, v1));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "eks-addon").await;
    let got = client.describe_addon().cluster_name("addons").addon_name("vpc-cni").send().await.unwrap();
    let got = got.addon().unwrap();
    assert!(got.addon_version().is_some_and(|v| v.contains("eksbuild")), "AWS's default version: {got:?}");
    assert_eq!(got.tags().and_then(|t| t.get("Team")).map(String::as_str), Some("net"));
    assert_eq!(a.report.state.resources[&Urn::new("vpc-cni")].id.as_deref(), Some("addons:vpc-cni"));
    assert_no_drift(&s).await;

    let v2 = Addons { version: Some("v1.19.0-eksbuild.1"), team: "platform" };
    let s = h.session("eks-addon", move |s| addons(s, v2));
    up(&s).await;
    let got = client.describe_addon().cluster_name("addons").addon_name("vpc-cni").send().await.unwrap();
    let got = got.addon().unwrap();
    assert_eq!(got.addon_version(), Some("v1.19.0-eksbuild.1"), "updated in place");
    assert_eq!(got.tags().and_then(|t| t.get("Team")).map(String::as_str), Some("platform"));
    assert_no_drift(&s).await;

    destroy(&s).await;
    assert!(client.describe_addon().cluster_name("addons").addon_name("vpc-cni").send().await.is_err());
    assert!(client.describe_cluster().name("addons").send().await.is_err(), "cluster deleted");

    let s = h.session("eks-addon-orphan", |s| {
        s.add("lonely", Addon::builder().cluster_name("no-such-cluster").addon_name("coredns").build());
    });
    let a = s.up(&opts(), None, &mut |_, _| Ok(true)).await.expect("up runs");
    let failures = format!("{:?}", a.report.failures);
    assert!(failures.contains("lonely") && failures.contains("CreateAddon"), "{failures}");
    assert!(!a.report.state.resources.contains_key(&Urn::new("lonely")), "nothing recorded");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_eks_inputs_are_refused_at_preview() {
    let h = Harness::new();
    let s = h.session("bad-eks", |s| {
        s.add(
            "cluster",
            Cluster::builder()
                .name("x")
                .version("1.31.2")
                .role_arn(format!("{ACCOUNT_ROLE}/r"))
                .subnet_ids(["subnet-1"])
                .endpoint_public_access(false)
                .build(),
        );
        // A version AWS no longer creates clusters on.
        s.add(
            "old",
            Cluster::builder()
                .name("old")
                .version("1.28")
                .role_arn(format!("{ACCOUNT_ROLE}/r"))
                .subnet_ids(["subnet-1", "subnet-2"])
                .build(),
        );
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    for field in ["version", "subnetIds", "endpointPublicAccess"] {
        assert!(diags.iter().any(|d| d.to_string().contains(field)), "missing {field}: {text}");
    }
    assert!(
        diags.iter().any(|d| {
            let d = d.to_string();
            d.contains("old") && d.contains("Kubernetes 1.28 left EKS extended support") && d.contains("oldest version")
        }),
        "1.28 refused with the oldest version offered: {text}"
    );
}
