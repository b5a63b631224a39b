//! `Network`: a VPC over N availability zones with public, private and
//! database subnets, an internet gateway and public routing.

use iac_aws::ec2::{InternetGateway, Route, RouteTable, RouteTableAssociation, Subnet, SubnetId, Vpc, VpcId};
use iac_core::{Output, Stack};

/// What a network looks like.
#[derive(Clone, Debug)]
pub struct NetworkArgs {
    /// The VPC's range, a /16.
    pub cidr: String,
    /// The availability zones to span.
    pub azs: Vec<String>,
    /// Whether to make database subnets too.
    pub database_subnets: bool,
}

/// The network's handles for other components.
pub struct Network {
    /// The VPC.
    pub vpc_id: Output<VpcId>,
    /// One public subnet per zone.
    pub public_subnets: Vec<Output<SubnetId>>,
    /// One private subnet per zone.
    pub private_subnets: Vec<Output<SubnetId>>,
    /// One database subnet per zone (empty unless asked for).
    pub database_subnets: Vec<Output<SubnetId>>,
}

impl Network {
    /// Declares the network as component `name` of `stack`. Subnets are /20s
    /// carved from the VPC's /16: public from .0, private from .64, database
    /// from .128 (third octet), one per zone.
    pub fn new(stack: &Stack, name: &str, args: &NetworkArgs) -> Network {
        let c = stack.component("stacks:Network", name);
        let vpc = c.add(
            "vpc",
            Vpc::builder()
                .cidr_block(args.cidr.clone())
                .enable_dns_hostnames(true)
                .tags(iac_aws::tags([("Name", format!("{}-{name}", stack.name()))]))
                .build(),
        );
        let octets: Vec<&str> = args.cidr.split('.').collect();
        let prefix = format!("{}.{}", octets.first().unwrap_or(&"10"), octets.get(1).unwrap_or(&"0"));
        let tier = |tier: &str, base: usize, public: bool| -> Vec<Output<SubnetId>> {
            args.azs
                .iter()
                .enumerate()
                .map(|(i, az)| {
                    let s = c.add(
                        &format!("{tier}-{az}"),
                        Subnet::builder()
                            .vpc_id(vpc.id.clone())
                            .cidr_block(format!("{prefix}.{}.0/20", base + i * 16))
                            .availability_zone(az.clone())
                            .map_public_ip_on_launch(public)
                            .tags(iac_aws::tags([("Tier", tier)]))
                            .build(),
                    );
                    s.id.clone()
                })
                .collect()
        };
        let public_subnets = tier("public", 0, true);
        // Public subnets route to the internet through the gateway.
        let igw = c.add("igw", InternetGateway::builder().vpc_id(vpc.id.clone()).build());
        let public_rt = c.add("public-rt", RouteTable::builder().vpc_id(vpc.id.clone()).build());
        c.add(
            "public-default-route",
            Route::builder()
                .route_table_id(public_rt.id.clone())
                .destination_cidr_block("0.0.0.0/0")
                .gateway_id(igw.id.clone())
                .build(),
        );
        for (az, subnet) in args.azs.iter().zip(&public_subnets) {
            c.add(
                &format!("public-{az}-rt"),
                RouteTableAssociation::builder().route_table_id(public_rt.id.clone()).subnet_id(subnet.clone()).build(),
            );
        }
        let private_subnets = tier("private", 64, false);
        let database_subnets = if args.database_subnets { tier("database", 128, false) } else { Vec::new() };
        Network { vpc_id: vpc.id.clone(), public_subnets, private_subnets, database_subnets }
    }
}
