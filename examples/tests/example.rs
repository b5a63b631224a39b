//! The example stack, run as a user runs it: the real binary against the
//! AWS emulator — preview, up, a second preview showing no changes, destroy
//! — with the cloud checked through the SDK after each step; and on the
//! team backend in the emulator's S3 (`team_backend`).

use std::process::{Command, Output};

use aws_sdk_ec2::types::Filter;
use iac_tests::moto;

mod team_backend;

struct Run {
    dir: tempfile::TempDir,
}

impl Run {
    fn new() -> Run {
        Run { dir: tempfile::tempdir().expect("temp dir") }
    }

    /// Runs `network-example <args>` in its own state directory against the
    /// emulator, with nothing of the caller's AWS set-up.
    fn cli(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_network-example"));
        cmd.args(args).current_dir(self.dir.path()).env("NO_COLOR", "1");
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") || k.starts_with("IAC_") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(moto().env());
        let out = cmd.output().expect("run network-example");
        eprintln!(
            "$ network-example {}\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

fn sdk_config() -> aws_sdk_ec2::config::Config {
    aws_sdk_ec2::config::Builder::new()
        .behavior_version(aws_sdk_ec2::config::BehaviorVersion::latest())
        .region(aws_sdk_ec2::config::Region::new("us-east-1"))
        .endpoint_url(&moto().endpoint)
        .credentials_provider(aws_sdk_ec2::config::Credentials::new("testing", "testing", None, None, "test"))
        .http_client(iac_aws::provider::https_client())
        .build()
}

fn stack_filter() -> Filter {
    Filter::builder().name("tag:iac:stack").values("network-example/dev").build()
}

#[tokio::test(flavor = "multi_thread")]
async fn example_previews_deploys_is_stable_and_destroys_cleanly() {
    let run = Run::new();
    let ec2 = aws_sdk_ec2::Client::from_conf(sdk_config());

    // Preview: a plan of creations, nothing touched.
    let out = run.cli(&["preview"]);
    assert!(out.status.success(), "preview failed");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("vpc") && text.contains("nat") && text.contains("to create"), "{text}");
    assert!(ec2.describe_vpcs().filters(stack_filter()).send().await.unwrap().vpcs().is_empty());

    // Up.
    let out = run.cli(&["up", "--yes"]);
    assert!(out.status.success(), "up failed");
    let vpcs = ec2.describe_vpcs().filters(stack_filter()).send().await.unwrap();
    assert_eq!(vpcs.vpcs().len(), 1, "one VPC");
    let vpc_id = vpcs.vpcs()[0].vpc_id().unwrap().to_owned();
    let by_vpc = || Filter::builder().name("vpc-id").values(&vpc_id).build();
    let subnets = ec2.describe_subnets().filters(by_vpc()).send().await.unwrap();
    let mut zones: Vec<_> = subnets.subnets().iter().filter_map(|s| s.availability_zone()).collect();
    zones.sort();
    assert_eq!(zones, ["us-east-1a", "us-east-1a", "us-east-1b", "us-east-1b"], "public + private in two zones");
    let public: Vec<_> = subnets.subnets().iter().filter(|s| s.map_public_ip_on_launch() == Some(true)).collect();
    assert_eq!(public.len(), 2);
    let nats = ec2.describe_nat_gateways().filter(by_vpc()).send().await.unwrap();
    let nat = nats.nat_gateways().iter().find(|n| n.state().map(|s| s.as_str()) == Some("available")).expect("NAT");
    let nat_subnet = nat.subnet_id().unwrap();
    assert!(public.iter().any(|s| s.subnet_id() == Some(nat_subnet)), "the NAT gateway sits in a public subnet");
    let tables = ec2.describe_route_tables().filters(by_vpc()).send().await.unwrap();
    let default_route_via = |t: &aws_sdk_ec2::types::RouteTable| {
        t.routes().iter().find(|r| r.destination_cidr_block() == Some("0.0.0.0/0")).cloned()
    };
    let private_table = tables
        .route_tables()
        .iter()
        .find(|t| default_route_via(t).is_some_and(|r| r.nat_gateway_id().is_some()))
        .expect("a private route table via the NAT gateway");
    assert_eq!(private_table.associations().iter().filter(|a| a.subnet_id().is_some()).count(), 2);
    let public_table = tables
        .route_tables()
        .iter()
        .find(|t| default_route_via(t).is_some_and(|r| r.gateway_id().is_some_and(|g| g.starts_with("igw-"))))
        .expect("a public route table via the internet gateway");
    assert_eq!(public_table.associations().iter().filter(|a| a.subnet_id().is_some()).count(), 2);

    // The flow logs' bucket: versioned, encrypted, with its lifecycle.
    let s3 = aws_sdk_s3::Client::from_conf(s3_config());
    let bucket = "network-example-dev-flow-logs";
    let versioning = s3.get_bucket_versioning().bucket(bucket).send().await.unwrap();
    assert_eq!(versioning.status().map(|s| s.as_str()), Some("Enabled"));
    let enc = s3.get_bucket_encryption().bucket(bucket).send().await.unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    assert_eq!(rule.apply_server_side_encryption_by_default().unwrap().sse_algorithm().as_str(), "AES256");
    let lc = s3.get_bucket_lifecycle_configuration().bucket(bucket).send().await.unwrap();
    assert_eq!(lc.rules()[0].transitions()[0].storage_class().unwrap().as_str(), "INTELLIGENT_TIERING");
    let flow_logs = ec2
        .describe_flow_logs()
        .filter(Filter::builder().name("resource-id").values(&vpc_id).build())
        .send()
        .await
        .unwrap();
    assert_eq!(
        flow_logs.flow_logs().iter().map(|f| f.log_destination().unwrap_or_default()).collect::<Vec<_>>(),
        [format!("arn:aws:s3:::{bucket}")],
        "the VPC's flow log goes to the bucket"
    );

    // A second preview, plain and refreshed: no changes (exit 0 with
    // --detailed-exitcode; 2 would mean changes).
    for args in [&["preview", "--detailed-exitcode"][..], &["preview", "--refresh", "--detailed-exitcode"]] {
        let out = run.cli(args);
        assert_eq!(out.status.code(), Some(0), "{args:?} must report no changes");
    }

    // Destroy: nothing of the stack is left.
    let out = run.cli(&["destroy", "--yes"]);
    assert!(out.status.success(), "destroy failed");
    assert!(ec2.describe_vpcs().filters(stack_filter()).send().await.unwrap().vpcs().is_empty(), "VPC left");
    let nats = ec2.describe_nat_gateways().filter(by_vpc()).send().await.unwrap();
    assert!(
        nats.nat_gateways().iter().all(|n| n.state().map(|s| s.as_str()) == Some("deleted")),
        "NAT gateway left: {nats:?}"
    );
    let eips = ec2.describe_addresses().filters(stack_filter()).send().await.unwrap();
    assert!(eips.addresses().is_empty(), "Elastic IP left: {eips:?}");
    let subnets = ec2.describe_subnets().filters(by_vpc()).send().await.unwrap();
    assert!(subnets.subnets().is_empty(), "subnets left");
    assert!(s3.head_bucket().bucket(bucket).send().await.is_err(), "bucket left");
}

fn s3_config() -> aws_sdk_s3::config::Config {
    aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(&moto().endpoint)
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "test"))
        .http_client(iac_aws::provider::https_client())
        .build()
}
