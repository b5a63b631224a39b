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
    assert_find_skips_known(&h, &a, "net").await;
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

/// ```text
/// vpc ◄── igw ◄────────────── route (0.0.0.0/0 → igw)
///     ◄── public-rt ◄──────── route, assoc ──► subnet
///     ◄── subnet
/// ```
fn public_network(s: &iac_core::Stack, env: &str, second_table: bool) {
    use iac_aws::ec2::{InternetGateway, Route, RouteTable, RouteTableAssociation};
    let vpc = s.add("vpc", Vpc::builder().cidr_block("10.30.0.0/16").build());
    let igw =
        s.add("igw", InternetGateway::builder().vpc_id(vpc.id.clone()).tags(iac_aws::tags([("Env", env)])).build());
    let subnet = s.add(
        "public-a",
        Subnet::builder().vpc_id(vpc.id.clone()).cidr_block("10.30.1.0/24").availability_zone("us-east-1a").build(),
    );
    let rt = s.add("public-rt", RouteTable::builder().vpc_id(vpc.id.clone()).build());
    s.add(
        "default-route",
        Route::builder()
            .route_table_id(rt.id.clone())
            .destination_cidr_block("0.0.0.0/0")
            .gateway_id(igw.id.clone())
            .build(),
    );
    let table = if second_table {
        s.add("other-rt", RouteTable::builder().vpc_id(vpc.id.clone()).build()).id.clone()
    } else {
        rt.id.clone()
    };
    s.add(
        "public-a-assoc",
        RouteTableAssociation::builder().route_table_id(table).subnet_id(subnet.id.clone()).build(),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn internet_gateway_route_table_route_and_association_lifecycle() {
    let h = Harness::new();
    let ec2 = h.aws.ec2().await.clone();
    let s = h.session("public", |s| public_network(s, "dev", false));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "public").await;
    let id = |n: &str| a.report.state.resources[&Urn::new(n)].id.clone().unwrap();
    let (vpc, igw, rt, subnet) = (id("vpc"), id("igw"), id("public-rt"), id("public-a"));
    let gws = ec2.describe_internet_gateways().internet_gateway_ids(&igw).send().await.unwrap();
    assert_eq!(gws.internet_gateways()[0].attachments()[0].vpc_id(), Some(vpc.as_str()), "attached to the VPC");
    let tables = ec2.describe_route_tables().route_table_ids(&rt).send().await.unwrap();
    let table = &tables.route_tables()[0];
    let default =
        table.routes().iter().find(|r| r.destination_cidr_block() == Some("0.0.0.0/0")).expect("default route");
    assert_eq!(default.gateway_id(), Some(igw.as_str()));
    assert!(table.associations().iter().any(|x| x.subnet_id() == Some(subnet.as_str())), "subnet associated");
    assert_no_drift(&s).await;

    // In place: the gateway's tags. Replace: the association moves to
    // another table (disassociated first).
    let s = h.session("public", |s| public_network(s, "prod", true));
    let a = up(&s).await;
    assert_eq!(a.report.state.resources[&Urn::new("igw")].id.as_deref(), Some(igw.as_str()), "updated in place");
    let gws = ec2.describe_internet_gateways().internet_gateway_ids(&igw).send().await.unwrap();
    assert!(gws.internet_gateways()[0].tags().iter().any(|t| t.key() == Some("Env") && t.value() == Some("prod")));
    let other = a.report.state.resources[&Urn::new("other-rt")].id.clone().unwrap();
    let tables = ec2.describe_route_tables().route_table_ids(&other).send().await.unwrap();
    assert!(tables.route_tables()[0].associations().iter().any(|x| x.subnet_id() == Some(subnet.as_str())));
    assert_no_drift(&s).await;

    destroy(&s).await;
    let stack_filter = aws_sdk_ec2::types::Filter::builder().name("tag:iac:stack").values("public").build();
    let left = ec2.describe_internet_gateways().filters(stack_filter.clone()).send().await.unwrap();
    assert!(left.internet_gateways().is_empty(), "gateway gone");
    let left = ec2.describe_route_tables().filters(stack_filter.clone()).send().await.unwrap();
    assert!(left.route_tables().is_empty(), "route tables gone");
    let left = ec2.describe_vpcs().filters(stack_filter).send().await.unwrap();
    assert!(left.vpcs().is_empty(), "VPC gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn nat_gateway_with_elastic_ip_routes_a_private_subnet() {
    use iac_aws::ec2::{ElasticIp, InternetGateway, NatGateway, Route, RouteTable};
    let h = Harness::new();
    let ec2 = h.aws.ec2().await.clone();
    let prog = |env: &'static str| {
        move |s: &iac_core::Stack| {
            let vpc = s.add("vpc", Vpc::builder().cidr_block("10.40.0.0/16").build());
            s.add("igw", InternetGateway::builder().vpc_id(vpc.id.clone()).build());
            let public = s.add("public", Subnet::builder().vpc_id(vpc.id.clone()).cidr_block("10.40.1.0/24").build());
            let eip = s.add("nat-ip", ElasticIp::builder().tags(iac_aws::tags([("Env", env)])).build());
            let nat = s.add(
                "nat",
                NatGateway::builder()
                    .subnet_id(public.id.clone())
                    .allocation_id(eip.id.clone())
                    .tags(iac_aws::tags([("Env", env)]))
                    .build(),
            );
            let rt = s.add("private-rt", RouteTable::builder().vpc_id(vpc.id.clone()).build());
            s.add(
                "private-default",
                Route::builder()
                    .route_table_id(rt.id.clone())
                    .destination_cidr_block("0.0.0.0/0")
                    .nat_gateway_id(nat.id.clone())
                    .build(),
            );
            s.export("nat_ip", nat.public_ip.clone());
        }
    };
    let s = h.session("nat", prog("dev"));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "nat").await;
    let id = |n: &str| a.report.state.resources[&Urn::new(n)].id.clone().unwrap();
    let (nat, eip, rt) = (id("nat"), id("nat-ip"), id("private-rt"));
    let gw = ec2.describe_nat_gateways().nat_gateway_ids(&nat).send().await.unwrap();
    let gw = &gw.nat_gateways()[0];
    assert_eq!(gw.state(), Some(&aws_sdk_ec2::types::NatGatewayState::Available));
    assert_eq!(gw.nat_gateway_addresses()[0].allocation_id(), Some(eip.as_str()));
    let tables = ec2.describe_route_tables().route_table_ids(&rt).send().await.unwrap();
    let route =
        tables.route_tables()[0].routes().iter().find(|r| r.destination_cidr_block() == Some("0.0.0.0/0")).cloned();
    assert_eq!(route.and_then(|r| r.nat_gateway_id().map(str::to_owned)), Some(nat.clone()));
    assert!(matches!(&a.report.state.outputs["nat_ip"], iac_core::Value::String(ip) if !ip.is_empty()));
    assert_no_drift(&s).await;

    // Tags update in place on both.
    let s = h.session("nat", prog("prod"));
    let a = up(&s).await;
    assert_eq!(a.report.state.resources[&Urn::new("nat")].id.as_deref(), Some(nat.as_str()));
    let addrs = ec2.describe_addresses().allocation_ids(&eip).send().await.unwrap();
    assert!(addrs.addresses()[0].tags().iter().any(|t| t.value() == Some("prod")));
    assert_no_drift(&s).await;

    destroy(&s).await;
    let gw = ec2.describe_nat_gateways().nat_gateway_ids(&nat).send().await.unwrap();
    assert!(
        gw.nat_gateways().iter().all(|g| g.state() == Some(&aws_sdk_ec2::types::NatGatewayState::Deleted)),
        "NAT deleted"
    );
    let addrs = ec2.describe_addresses().send().await.unwrap();
    assert!(addrs.addresses().iter().all(|a| a.allocation_id() != Some(eip.as_str())), "address released");
}
