//! VPCs and subnets: create → read back → update → no drift → replace →
//! delete → gone, checked with the SDK.

use iac_aws::ec2::{Subnet, Vpc};
use iac_core::{Error, Urn};

use crate::support::*;

fn network(s: &iac_core::Stack, cidr: &str, public: bool, env: &str) {
    let vpc = s.add(
        "vpc",
        Vpc::builder().cidr_block(cidr).enable_dns_hostnames(true).tags(iac_aws::tags([("Env", env)])).build(),
    );
    let base = cidr.split('.').take(2).collect::<Vec<_>>().join(".");
    s.add(
        "public-a",
        Subnet::builder()
            .vpc_id(vpc.id.clone())
            .cidr_block(format!("{base}.1.0/24"))
            .availability_zone("us-east-1a")
            .map_public_ip_on_launch(public)
            .build(),
    );
    s.export("vpc_id", vpc.id.clone());
}

#[tokio::test(flavor = "multi_thread")]
async fn vpc_and_subnet_lifecycle() {
    let h = Harness::new();
    let ec2 = h.aws.ec2().await.clone();

    // Create.
    let s = h.session("net", |s| network(s, "10.10.0.0/16", false, "dev"));
    let a = up(&s).await;
    let vpc_id = a.report.state.resources[&Urn::new("vpc")].id.clone().unwrap();
    let subnet_id = a.report.state.resources[&Urn::new("public-a")].id.clone().unwrap();
    let vpcs = ec2.describe_vpcs().vpc_ids(&vpc_id).send().await.unwrap();
    let vpc = &vpcs.vpcs()[0];
    assert_eq!(vpc.cidr_block(), Some("10.10.0.0/16"));
    let tag = |k: &str| vpc.tags().iter().find(|t| t.key() == Some(k)).and_then(|t| t.value()).map(str::to_owned);
    assert_eq!(tag("Env").as_deref(), Some("dev"));
    assert_eq!(tag("iac:name").as_deref(), Some("vpc"), "identity tag lets a crashed create be found");
    let sub = ec2.describe_subnets().subnet_ids(&subnet_id).send().await.unwrap();
    assert_eq!(sub.subnets()[0].vpc_id(), Some(vpc_id.as_str()));
    assert_eq!(sub.subnets()[0].map_public_ip_on_launch(), Some(false));
    assert_no_drift(&s).await;

    // Update in place: a tag and the public-IP flag.
    let s = h.session("net", |s| network(s, "10.10.0.0/16", true, "prod"));
    let a = up(&s).await;
    assert_eq!(a.report.state.resources[&Urn::new("vpc")].id.as_deref(), Some(vpc_id.as_str()), "updated in place");
    let sub = ec2.describe_subnets().subnet_ids(&subnet_id).send().await.unwrap();
    assert_eq!(sub.subnets()[0].map_public_ip_on_launch(), Some(true));
    let vpcs = ec2.describe_vpcs().vpc_ids(&vpc_id).send().await.unwrap();
    assert!(vpcs.vpcs()[0].tags().iter().any(|t| t.key() == Some("Env") && t.value() == Some("prod")));
    assert_no_drift(&s).await;

    // Replace on a new CIDR: new VPC and subnet, old ones gone.
    let s = h.session("net", |s| network(s, "10.20.0.0/16", true, "prod"));
    let a = up(&s).await;
    let new_vpc = a.report.state.resources[&Urn::new("vpc")].id.clone().unwrap();
    assert_ne!(new_vpc, vpc_id);
    let gone = ec2.describe_vpcs().vpc_ids(&vpc_id).send().await;
    assert!(gone.is_err() || gone.unwrap().vpcs().is_empty(), "old VPC deleted");
    assert_no_drift(&s).await;

    // Destroy: nothing of the stack left.
    destroy(&s).await;
    let left = ec2
        .describe_vpcs()
        .filters(aws_sdk_ec2::types::Filter::builder().name("tag:iac:stack").values("net").build())
        .send()
        .await
        .unwrap();
    assert!(left.vpcs().is_empty(), "no VPC of the stack left: {:?}", left.vpcs());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_networks_are_refused_at_preview_with_every_problem() {
    let h = Harness::new();
    let s = h.session("bad", |s| {
        let vpc = s.add("vpc", Vpc::builder().cidr_block("10.0.0.0/16").build());
        s.add("outside", Subnet::builder().vpc_id(vpc.id.clone()).cidr_block("10.1.0.0/24").build());
        s.add("a", Subnet::builder().vpc_id(vpc.id.clone()).cidr_block("10.0.1.0/24").build());
        s.add("overlap", Subnet::builder().vpc_id(vpc.id.clone()).cidr_block("10.0.1.0/25").build());
        s.add("junk", Subnet::builder().vpc_id(vpc.id.clone()).cidr_block("10.0.300.0/24").build());
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    assert_eq!(diags.len(), 3, "{text}");
    assert!(text.contains("outside") && text.contains("outside its VPC"), "{text}");
    assert!(text.contains("overlap") && text.contains("overlaps subnet `a`"), "{text}");
    assert!(text.contains("junk") && text.contains("not an IPv4 CIDR"), "{text}");
}
