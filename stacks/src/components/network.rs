//! `Network`: a VPC over N availability zones with public, private and
//! (optionally) database subnets, an internet gateway, NAT per zone, single
//! or none, route tables, flow logs and an S3 gateway endpoint.

use iac_aws::ec2::{
    ElasticIp, FlowLog, FlowLogDestination, FlowLogSource, InternetGateway, NatGateway, Route, RouteTable,
    RouteTableAssociation, RouteTableId, Subnet, SubnetId, Vpc, VpcEndpoint, VpcId,
};
use iac_aws::iam::{Role, RolePolicy};
use iac_aws::logs::LogGroup;
use iac_aws::policy::{PolicyDocument, Principal, Statement};
use iac_core::{Output, Stack};

/// How private subnets reach the internet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatMode {
    /// A NAT gateway in every zone (a zone's outage leaves the others
    /// connected).
    PerZone,
    /// One NAT gateway in the first zone (cheaper; the documents' dev
    /// setting).
    Single,
    /// No outbound internet from private subnets.
    None,
}

/// What a network looks like.
///
/// ```
/// use stacks::components::{NatMode, NetworkArgs};
/// let args = NetworkArgs {
///     cidr: "10.0.0.0/16".into(),
///     azs: vec!["us-east-1a".into(), "us-east-1b".into()],
///     database_subnets: true,
///     nat: NatMode::Single,
///     flow_log_retention_days: Some(30),
///     s3_endpoint: true,
///     eks_cluster_name: None,
/// };
/// # let _ = args;
/// ```
#[derive(Clone, Debug)]
pub struct NetworkArgs {
    /// The VPC's range, a /16 (subnets are /20s carved from it).
    pub cidr: String,
    /// The availability zones to span (at most 4).
    pub azs: Vec<String>,
    /// Whether to make database subnets too (no route to the internet).
    pub database_subnets: bool,
    /// NAT for the private subnets.
    pub nat: NatMode,
    /// VPC flow logs to a CloudWatch log group kept this many days.
    pub flow_log_retention_days: Option<i32>,
    /// An S3 gateway endpoint on the private route tables (free, and keeps
    /// data-lake traffic off the NAT).
    pub s3_endpoint: bool,
    /// Tag subnets for this EKS cluster's load balancers.
    pub eks_cluster_name: Option<String>,
}

/// The network's handles for other components.
pub struct Network {
    /// The VPC.
    pub vpc_id: Output<VpcId>,
    /// The VPC's range.
    pub cidr: String,
    /// One public subnet per zone.
    pub public_subnets: Vec<Output<SubnetId>>,
    /// One private subnet per zone.
    pub private_subnets: Vec<Output<SubnetId>>,
    /// One database subnet per zone (empty unless asked for).
    pub database_subnets: Vec<Output<SubnetId>>,
    /// The private route tables (one per zone with NAT per zone, else one).
    pub private_route_tables: Vec<Output<RouteTableId>>,
    /// The NAT gateways' public addresses.
    pub nat_public_ips: Vec<Output<String>>,
}

/// Checks a platform's configured `region` against the zones its network
/// `name` spans and against the region the AWS provider will use: an
/// unknown region or zone (naming the nearest the AWS catalog holds), a
/// zone of another region, and, when the provider takes its region from
/// the environment, an `AWS_REGION` (or `AWS_DEFAULT_REGION`) naming
/// another region than the config's. Reported on the network's VPC: call
/// it once the network is declared.
pub fn check_region(stack: &Stack, name: &str, region: &str, azs: &[String], provider_from_env: bool) {
    let vpc = iac_core::Urn::new(format!("{name}/vpc"));
    for problem in iac_aws::catalog::regions::check_zones(region, azs) {
        stack.report(&vpc, "availability_zones", format!("config `region` is {region}: {problem}"));
    }
    if provider_from_env {
        if let Some(env) = iac_aws::catalog::regions::environment_region().filter(|e| e != region) {
            stack.report(
                &vpc,
                "region",
                format!(
                    "AWS_REGION (or AWS_DEFAULT_REGION) is {env} but config `region` is {region}: the stack would \
                     be created in {env} with zones of {region}; set AWS_REGION={region} or change the config"
                ),
            );
        }
    }
}

impl Network {
    /// Declares the network as component `name` of `stack`. Subnets are /20s
    /// carved from the VPC's /16: public from .0, private from .64, database
    /// from .128 (third octet), one per zone.
    pub fn new(stack: &Stack, name: &str, args: &NetworkArgs) -> Network {
        let c = stack.component("stacks:Network", name);
        let label = format!("{}-{name}", stack.name());
        let vpc = c.add(
            "vpc",
            Vpc::builder()
                .cidr_block(args.cidr.clone())
                .enable_dns_hostnames(true)
                .tags(iac_aws::tags([("Name", label.clone())]))
                .build(),
        );
        if args.azs.is_empty() || args.azs.len() > 4 {
            c.report(vpc.urn(), "azs", format!("{} zones; a network spans 1 to 4", args.azs.len()));
        }
        let octets: Vec<&str> = args.cidr.split('.').collect();
        let prefix = format!("{}.{}", octets.first().unwrap_or(&"10"), octets.get(1).unwrap_or(&"0"));
        let elb_tag = |public: bool| -> Vec<(String, String)> {
            let Some(cluster) = &args.eks_cluster_name else { return Vec::new() };
            let role = if public { "kubernetes.io/role/elb" } else { "kubernetes.io/role/internal-elb" };
            vec![(role.to_owned(), "1".to_owned()), (format!("kubernetes.io/cluster/{cluster}"), "shared".to_owned())]
        };
        let tier = |tier: &str, base: usize, public: bool| -> Vec<Output<SubnetId>> {
            args.azs
                .iter()
                .enumerate()
                .map(|(i, az)| {
                    let mut tags = iac_aws::tags([("Tier", tier.to_owned()), ("Name", format!("{label}-{tier}-{az}"))]);
                    if tier != "database" {
                        tags.extend(elb_tag(public));
                    }
                    c.add(
                        &format!("{tier}-{az}"),
                        Subnet::builder()
                            .vpc_id(vpc.id.clone())
                            .cidr_block(format!("{prefix}.{}.0/20", base + i * 16))
                            .availability_zone(az.clone())
                            .map_public_ip_on_launch(public)
                            .tags(tags)
                            .build(),
                    )
                    .id
                    .clone()
                })
                .collect()
        };
        let public_subnets = tier("public", 0, true);
        let private_subnets = tier("private", 64, false);
        let database_subnets = if args.database_subnets { tier("database", 128, false) } else { Vec::new() };

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

        // NAT gateways live in public subnets, each with its own address.
        let nat_zones = match args.nat {
            NatMode::PerZone => args.azs.len(),
            NatMode::Single => 1.min(args.azs.len()),
            NatMode::None => 0,
        };
        let mut nats = Vec::new();
        let mut nat_public_ips = Vec::new();
        for (az, subnet) in args.azs.iter().zip(&public_subnets).take(nat_zones) {
            let eip = c.add(
                &format!("nat-{az}-eip"),
                ElasticIp::builder().tags(iac_aws::tags([("Name", format!("{label}-nat-{az}"))])).build(),
            );
            let nat = c.add(
                &format!("nat-{az}"),
                NatGateway::builder()
                    .subnet_id(subnet.clone())
                    .allocation_id(eip.id.clone())
                    .tags(iac_aws::tags([("Name", format!("{label}-nat-{az}"))]))
                    .build(),
            );
            nat_public_ips.push(eip.public_ip.clone());
            nats.push(nat.id.clone());
        }

        // Private route tables: one per zone with a NAT per zone, else one
        // shared (through the single NAT, or nowhere).
        let tables = if args.nat == NatMode::PerZone { args.azs.len() } else { 1.min(args.azs.len()) };
        let private_route_tables: Vec<_> = (0..tables)
            .map(|i| {
                let key = if tables == 1 { "private-rt".to_owned() } else { format!("private-{}-rt", args.azs[i]) };
                let rt = c.add(&key, RouteTable::builder().vpc_id(vpc.id.clone()).build());
                if let Some(nat) = nats.get(i).or(nats.first()) {
                    c.add(
                        &format!("{key}-default-route"),
                        Route::builder()
                            .route_table_id(rt.id.clone())
                            .destination_cidr_block("0.0.0.0/0")
                            .nat_gateway_id(nat.clone())
                            .build(),
                    );
                }
                rt.id.clone()
            })
            .collect();
        for (i, (az, subnet)) in args.azs.iter().zip(&private_subnets).enumerate() {
            let rt = &private_route_tables[i.min(private_route_tables.len() - 1)];
            c.add(
                &format!("private-{az}-rt-assoc"),
                RouteTableAssociation::builder().route_table_id(rt.clone()).subnet_id(subnet.clone()).build(),
            );
        }
        // Database subnets: local traffic only.
        if !database_subnets.is_empty() {
            let rt = c.add("database-rt", RouteTable::builder().vpc_id(vpc.id.clone()).build());
            for (az, subnet) in args.azs.iter().zip(&database_subnets) {
                c.add(
                    &format!("database-{az}-rt-assoc"),
                    RouteTableAssociation::builder().route_table_id(rt.id.clone()).subnet_id(subnet.clone()).build(),
                );
            }
        }

        if args.s3_endpoint {
            let region = args.azs.first().map(|az| az[..az.len() - 1].to_owned()).unwrap_or_default();
            c.add(
                "s3-endpoint",
                VpcEndpoint::builder()
                    .vpc_id(vpc.id.clone())
                    .service_name(format!("com.amazonaws.{region}.s3"))
                    .route_table_ids(private_route_tables.iter().map(|r| r.clone().into()).collect())
                    .build(),
            );
        }

        if let Some(days) = args.flow_log_retention_days {
            let group = c.add(
                "flow-logs",
                LogGroup::builder().name(format!("/vpc/{label}/flow-logs")).retention_in_days(days).build(),
            );
            let role = c.add(
                "flow-logs-role",
                Role::builder()
                    .name(format!("{label}-flow-logs"))
                    .assume_role_policy(
                        PolicyDocument::new().statement(
                            Statement::builder()
                                .actions(["sts:AssumeRole"])
                                .principals(vec![Principal::Service("vpc-flow-logs.amazonaws.com".into())])
                                .build(),
                        ),
                    )
                    .build(),
            );
            c.add(
                "flow-logs-write",
                RolePolicy::builder()
                    .role(role.id.clone())
                    .name("write-flow-logs")
                    .policy(
                        PolicyDocument::new().statement(
                            Statement::builder()
                                .actions(["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"])
                                .resources(vec![group.arn.clone().into()])
                                .build(),
                        ),
                    )
                    .build(),
            );
            c.add(
                "flow-log",
                FlowLog::builder()
                    .source(FlowLogSource::Vpc(vpc.id.clone().into()))
                    .destination(FlowLogDestination::CloudWatchLogs {
                        log_group_name: group.id.clone().into(),
                        role_arn: role.arn.clone().into(),
                    })
                    .build(),
            );
        }

        Network {
            vpc_id: vpc.id.clone(),
            cidr: args.cidr.clone(),
            public_subnets,
            private_subnets,
            database_subnets,
            private_route_tables,
            nat_public_ips,
        }
    }

    /// The private subnets as plain string inputs (what most resources take).
    pub fn private_subnet_ids(&self) -> Vec<iac_core::Input<String>> {
        self.private_subnets.iter().map(|s| s.as_string().into()).collect()
    }

    /// The public subnets as plain string inputs.
    pub fn public_subnet_ids(&self) -> Vec<iac_core::Input<String>> {
        self.public_subnets.iter().map(|s| s.as_string().into()).collect()
    }

    /// The database subnets as plain string inputs.
    pub fn database_subnet_ids(&self) -> Vec<iac_core::Input<String>> {
        self.database_subnets.iter().map(|s| s.as_string().into()).collect()
    }
}
