//! A small, complete stack: a VPC across two availability zones with a
//! public and a private subnet in each, an internet gateway, one NAT gateway
//! for the private subnets' outbound traffic, the routes between them, and
//! the VPC's flow logs in an encrypted, versioned S3 bucket.
//!
//! ```text
//! vpc ─┬─ public-a, public-b ──► public route table ──► internet gateway
//!      ├─ private-a, private-b ─► private route table ─► NAT gateway (in public-a, with an Elastic IP)
//!      └─ flow log ──► flow-logs bucket (versioned, SSE-S3, Intelligent-Tiering after 30 days)
//! ```
//!
//! Run it with `cargo run -p iac-examples --bin network-example -- preview`
//! (see docs/writing-stacks.md for the emulator and for AWS).

use iac_aws::ec2::{
    ElasticIp, FlowLog, FlowLogDestination, FlowLogSource, InternetGateway, NatGateway, Route, RouteTable,
    RouteTableAssociation, Subnet, SubnetId, Vpc,
};
use iac_aws::s3::{Bucket, Encryption, LifecycleRule, StorageClass, Transition};
use iac_aws::AwsProvider;
use iac_core::{Error, Output, Stack};

fn program(stack: &Stack) -> Result<(), Error> {
    stack.provider("aws", AwsProvider::from_env());
    stack.default_tags([("Project", "network-example"), ("Stack", stack.name())]);
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    let zones = [format!("{region}a"), format!("{region}b")];

    // The address plan comes from the stack's config when it has one
    // (`vpcCidr`, `publicSubnets`, `privateSubnets`: one CIDR per zone);
    // the preview checks it (prefixes, subnets inside the VPC, no overlap).
    let cfg = stack.config();
    let vpc_cidr: String = cfg.get_or("vpcCidr", "10.0.0.0/16".to_owned())?;
    let public_cidrs: Vec<String> = cfg.get_or("publicSubnets", vec!["10.0.0.0/24".into(), "10.0.1.0/24".into()])?;
    let private_cidrs: Vec<String> =
        cfg.get_or("privateSubnets", vec!["10.0.10.0/24".into(), "10.0.11.0/24".into()])?;
    let vpc = stack.add("vpc", Vpc::builder().cidr_block(vpc_cidr).enable_dns_hostnames(true).build());
    let subnets = |tier: &str, cidrs: &[String], public: bool| -> Vec<Output<SubnetId>> {
        zones
            .iter()
            .zip(cidrs)
            .map(|(zone, cidr)| {
                stack
                    .add(
                        &format!("{tier}-{}", &zone[zone.len() - 1..]),
                        Subnet::builder()
                            .vpc_id(vpc.id.clone())
                            .cidr_block(cidr.clone())
                            .availability_zone(zone.clone())
                            .map_public_ip_on_launch(public)
                            .tags(iac_aws::tags([("Tier", tier)]))
                            .build(),
                    )
                    .id
                    .clone()
            })
            .collect()
    };
    let public = subnets("public", &public_cidrs, true);
    let private = subnets("private", &private_cidrs, false);

    // Public subnets route to the internet gateway.
    let igw = stack.add("igw", InternetGateway::builder().vpc_id(vpc.id.clone()).build());
    let public_rt = stack.add("public-rt", RouteTable::builder().vpc_id(vpc.id.clone()).build());
    stack.add(
        "public-default",
        Route::builder()
            .route_table_id(public_rt.id.clone())
            .destination_cidr_block("0.0.0.0/0")
            .gateway_id(igw.id.clone())
            .build(),
    );

    // Private subnets reach out through one NAT gateway in the first zone.
    let eip = stack.add("nat-eip", ElasticIp::builder().build());
    let nat =
        stack.add("nat", NatGateway::builder().subnet_id(public[0].clone()).allocation_id(eip.id.clone()).build());
    let private_rt = stack.add("private-rt", RouteTable::builder().vpc_id(vpc.id.clone()).build());
    stack.add(
        "private-default",
        Route::builder()
            .route_table_id(private_rt.id.clone())
            .destination_cidr_block("0.0.0.0/0")
            .nat_gateway_id(nat.id.clone())
            .build(),
    );
    for (tier, ids, table) in [("public", &public, &public_rt.id), ("private", &private, &private_rt.id)] {
        for (i, subnet) in ids.iter().enumerate() {
            stack.add(
                &format!("{tier}-assoc-{i}"),
                RouteTableAssociation::builder().route_table_id(table.clone()).subnet_id(subnet.clone()).build(),
            );
        }
    }

    // The VPC's flow logs, kept a year in a bucket whose name is global:
    // set `flowLogBucket` in the stack's config to choose another.
    let bucket: String =
        stack.config().get("flowLogBucket")?.unwrap_or_else(|| format!("network-example-{}-flow-logs", stack.name()));
    let logs = stack.add(
        "flow-logs",
        Bucket::builder()
            .bucket(bucket)
            .versioning(true)
            .encryption(Encryption::SseS3)
            .lifecycle_rules(vec![LifecycleRule::builder()
                .id("archive")
                .transitions(vec![Transition::after(30, StorageClass::IntelligentTiering)])
                .expiration_days(365)
                .noncurrent_expiration_days(30)
                .build()])
            .force_destroy(true)
            .build(),
    );
    stack.add(
        "vpc-flow-log",
        FlowLog::builder()
            .source(FlowLogSource::Vpc(vpc.id.clone().into()))
            .destination(FlowLogDestination::S3 { arn: logs.arn.clone().into() })
            .build(),
    );

    stack.export("vpc_id", vpc.id.clone());
    stack.export("flow_log_bucket", logs.id.clone());
    stack.export("nat_public_ip", eip.public_ip.clone());
    Ok(())
}

fn main() -> std::process::ExitCode {
    iac_core::cli::Runner::new("network-example", program)
        .backend_resolver(iac_aws::backend::resolver())
        .default_stack("dev")
        .run()
}
