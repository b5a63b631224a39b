//! Two copies of one resource under one identity, as a create-before-delete
//! replace killed after its create leaves them (the old copy and the new
//! carry the same `iac:stack` and `iac:name` tags): `find` looks past the
//! copies the state records to the other one, never stopping at the first
//! match, and finds nothing when the state records both. Each copy here is
//! made by its own state of one stack; the cloud is checked to hold both.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_ec2::types::Filter;
use iac_aws::apigateway::{ApiKey, EndpointType, RestApi, UsagePlan};
use iac_aws::appconfig::{Application, ConfigurationProfile, DeploymentStrategy, Environment, Growth, ProfileType};
use iac_aws::ec2::{
    ElasticIp, FlowLog, FlowLogDestination, FlowLogSource, InternetGateway, LaunchTemplate, NatGateway, RouteTable,
    SecurityGroup, Subnet, Vpc, VpcEndpoint,
};
use iac_aws::kms::Key;
use iac_core::provider::{CreateRequest, DeleteRequest, Provider};
use iac_core::state::ResourceState;
use iac_core::Stack;

use crate::support::*;

/// One of each EC2 type found by its identity tags. Only the launch
/// template's name differs between the copies (AWS keeps it unique; a
/// replace on a new name leaves two copies like these).
fn network(s: &Stack, template: &'static str) {
    let vpc = s.add("vpc", Vpc::builder().cidr_block("10.60.0.0/16").build());
    let subnet = s.add(
        "subnet",
        Subnet::builder().vpc_id(vpc.id.clone()).cidr_block("10.60.1.0/24").availability_zone("us-east-1a").build(),
    );
    let sg = s.add("sg", SecurityGroup::builder().name("twin").vpc_id(vpc.id.clone()).build());
    let rt = s.add("rt", RouteTable::builder().vpc_id(vpc.id.clone()).build());
    s.add("igw", InternetGateway::builder().vpc_id(vpc.id.clone()).build());
    let eip = s.add("eip", ElasticIp::builder().build());
    s.add("nat", NatGateway::builder().subnet_id(subnet.id.clone()).allocation_id(eip.id.clone()).build());
    s.add(
        "flow-log",
        FlowLog::builder()
            .source(FlowLogSource::Vpc(vpc.id.clone().into()))
            .destination(FlowLogDestination::CloudWatchLogs {
                log_group_name: "/vpc/twins".into(),
                role_arn: "arn:aws:iam::123456789012:role/flow-logs".into(),
            })
            .build(),
    );
    s.add(
        "endpoint",
        VpcEndpoint::builder()
            .vpc_id(vpc.id.clone())
            .service_name("com.amazonaws.us-east-1.s3")
            .route_table_ids(vec![rt.id.clone().into()])
            .build(),
    );
    s.add(
        "lt",
        LaunchTemplate::builder()
            .name(template)
            .image_id("ami-12c6146b")
            .instance_type("t3.micro")
            .security_group_ids(vec![sg.id.clone().into()])
            .build(),
    );
}

const EC2_TYPES: [&str; 10] = ["vpc", "subnet", "sg", "rt", "igw", "eip", "nat", "flow-log", "endpoint", "lt"];

/// The ids of what the cloud holds under `name`'s identity in the
/// `twins-ec2` stack, by a describe call of its type.
async fn held(ec2: &aws_sdk_ec2::Client, name: &str) -> BTreeSet<String> {
    held_by(ec2, "aws-test/twins-ec2", name).await
}

/// The ids of what the cloud holds under `name`'s identity in `stack`.
async fn held_by(ec2: &aws_sdk_ec2::Client, stack: &str, name: &str) -> BTreeSet<String> {
    let f = Some(vec![
        Filter::builder().name("tag:iac:stack").values(stack).build(),
        Filter::builder().name("tag:iac:name").values(name).build(),
    ]);
    let ids: Vec<Option<String>> = match name {
        "vpc" => {
            ec2.describe_vpcs().set_filters(f).send().await.unwrap().vpcs().iter().map(|v| v.vpc_id.clone()).collect()
        }
        "subnet" => ec2
            .describe_subnets()
            .set_filters(f)
            .send()
            .await
            .unwrap()
            .subnets()
            .iter()
            .map(|x| x.subnet_id.clone())
            .collect(),
        "sg" => ec2
            .describe_security_groups()
            .set_filters(f)
            .send()
            .await
            .unwrap()
            .security_groups()
            .iter()
            .map(|x| x.group_id.clone())
            .collect(),
        "rt" => ec2
            .describe_route_tables()
            .set_filters(f)
            .send()
            .await
            .unwrap()
            .route_tables()
            .iter()
            .map(|x| x.route_table_id.clone())
            .collect(),
        "igw" => ec2
            .describe_internet_gateways()
            .set_filters(f)
            .send()
            .await
            .unwrap()
            .internet_gateways()
            .iter()
            .map(|x| x.internet_gateway_id.clone())
            .collect(),
        "eip" => ec2
            .describe_addresses()
            .set_filters(f)
            .send()
            .await
            .unwrap()
            .addresses()
            .iter()
            .map(|x| x.allocation_id.clone())
            .collect(),
        "nat" => ec2
            .describe_nat_gateways()
            .set_filter(f)
            .send()
            .await
            .unwrap()
            .nat_gateways()
            .iter()
            .filter(|x| x.state() != Some(&aws_sdk_ec2::types::NatGatewayState::Deleted))
            .map(|x| x.nat_gateway_id.clone())
            .collect(),
        "flow-log" => ec2
            .describe_flow_logs()
            .set_filter(f)
            .send()
            .await
            .unwrap()
            .flow_logs()
            .iter()
            .map(|x| x.flow_log_id.clone())
            .collect(),
        "endpoint" => ec2
            .describe_vpc_endpoints()
            .set_filters(f)
            .send()
            .await
            .unwrap()
            .vpc_endpoints()
            .iter()
            .filter(|x| x.state().map(|s| s.as_str()) != Some("deleted"))
            .map(|x| x.vpc_endpoint_id.clone())
            .collect(),
        "lt" => ec2
            .describe_launch_templates()
            .set_filters(f)
            .send()
            .await
            .unwrap()
            .launch_templates()
            .iter()
            .map(|x| x.launch_template_id.clone())
            .collect(),
        other => panic!("no describe for {other}"),
    };
    ids.into_iter().flatten().collect()
}

fn id(a: &iac_core::ops::Applied, name: &str) -> String {
    a.report.state.resources[&iac_core::Urn::new(name)].id.clone().unwrap_or_else(|| panic!("{name} has no id"))
}

#[tokio::test(flavor = "multi_thread")]
async fn find_looks_past_known_ec2_copies() {
    let (h1, h2) = (Harness::new(), Harness::new());
    let ec2 = h1.aws.ec2().await.clone();
    let s1 = h1.session("twins-ec2", |s| network(s, "twins-1"));
    let s2 = h2.session("twins-ec2", |s| network(s, "twins-2"));
    let first = up(&s1).await;
    let second = up(&s2).await;
    for name in EC2_TYPES {
        let want: BTreeSet<String> = [id(&first, name), id(&second, name)].into();
        assert_eq!(held(&ec2, name).await, want, "the cloud holds both copies of {name} under one identity");
        assert_finds_the_twin(&h1, "twins-ec2", recorded(&first, name), &id(&second, name)).await;
    }
    destroy(&s2).await;
    destroy(&s1).await;
    for name in EC2_TYPES {
        assert!(held(&ec2, name).await.is_empty(), "no copy of {name} left");
    }
}

/// Every call's first response is lost on its way back (the emulator's
/// fault endpoint: it acts on the call, then answers a server error; the
/// same request repeated is answered). Each EC2 type is made once: a create
/// with a client token is answered again by the emulator (as AWS answers
/// it), one sent once is found and adopted, an attach repeated finds itself
/// done.
#[tokio::test(flavor = "multi_thread")]
async fn lost_responses_make_no_ec2_twins() {
    let mut h = Harness::new();
    let ec2 = h.aws.ec2().await.clone();
    h.aws = iac_aws::AwsProvider::new(iac_aws::AwsSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some(iac_tests::moto().faults_endpoint.clone()),
        ..Default::default()
    });
    let s = h.session("lost-ec2", |s| network(s, "lost-ec2"));
    // The fault endpoint is this test binary's alone: no other test sets it.
    iac_tests::moto().set_faults(&serde_json::json!({"lost": 1.0, "lost_once": true}));
    let made = s.up(&opts(), None, &mut |_, _| Ok(true)).await;
    let injected = iac_tests::moto().faults_injected();
    iac_tests::moto().set_faults(&serde_json::json!({}));
    let made = made.expect("up through lost responses");
    assert!(made.report.failures.is_empty(), "up through lost responses failed: {:?}", made.report.failures);
    for op in [
        "CreateVpc",
        "CreateSubnet",
        "CreateSecurityGroup",
        "CreateRouteTable",
        "CreateInternetGateway",
        "AttachInternetGateway",
        "AllocateAddress",
        "CreateNatGateway",
        "CreateFlowLogs",
        "CreateVpcEndpoint",
        "CreateLaunchTemplate",
    ] {
        let lost = injected["operations"][format!("lost:{op}")].as_u64().unwrap_or(0);
        assert!(lost > 0, "no response of {op} was lost: {injected}");
    }
    for name in EC2_TYPES {
        let want: BTreeSet<String> = [id(&made, name)].into();
        assert_eq!(held_by(&ec2, "aws-test/lost-ec2", name).await, want, "one {name}, the one recorded");
    }
    assert_no_drift(&s).await;
    destroy(&s).await;
    for name in EC2_TYPES {
        assert!(held_by(&ec2, "aws-test/lost-ec2", name).await.is_empty(), "no {name} left");
    }
}

/// KMS keys, API Gateway APIs, keys and plans, AppConfig applications and
/// strategies: names are not unique (or absent), so only the identity tags
/// decide. The second copy's environment and profile are in the first
/// copy's application (`app`), beside the first copy's. API Gateway's
/// resources are left out of the second copy (`apis`): their creates adopt
/// an earlier attempt found by identity, so the second copy is made by a
/// create that knows the first, as a replace's is.
fn services(s: &Stack, app: Option<String>, apis: bool) {
    s.add("key", Key::builder().description("twins").deletion_window_in_days(7).build());
    if apis {
        s.add("api", RestApi::builder().name("twins").endpoint_type(EndpointType::Regional).build());
        s.add("api-key", ApiKey::builder().name("twins").build());
        s.add("plan", UsagePlan::builder().name("twins").build());
    }
    s.add(
        "strategy",
        DeploymentStrategy::builder()
            .name("twins")
            .deployment_duration_in_minutes(10)
            .growth_factor(10.0)
            .growth_type(Growth::Linear)
            .final_bake_time_in_minutes(5)
            .build(),
    );
    let own = s.add("app", Application::builder().name("twins").build());
    let app: iac_core::Input<String> = app.map_or_else(|| own.id.clone().into(), Into::into);
    s.add("env", Environment::builder().application_id(app.clone()).name("prod").build());
    s.add(
        "profile",
        ConfigurationProfile::builder().application_id(app).name("flags").profile_type(ProfileType::Freeform).build(),
    );
}

const API_TYPES: [&str; 3] = ["api", "api-key", "plan"];
const SERVICE_TYPES: [&str; 5] = ["key", "strategy", "app", "env", "profile"];

fn token(r: &ResourceState) -> &'static str {
    Box::leak(r.type_token.clone().into_boxed_str())
}

#[tokio::test(flavor = "multi_thread")]
async fn find_looks_past_known_copies_of_untagged_names() {
    let (h1, h2) = (Harness::new(), Harness::new());
    let s1 = h1.session("twins-svc", |s| services(s, None, true));
    let first = up(&s1).await;
    let app = id(&first, "app");
    let s2 = h2.session("twins-svc", move |s| services(s, Some(app.clone()), false));
    let second = up(&s2).await;
    let mut twins: BTreeMap<&str, String> = SERVICE_TYPES.iter().map(|n| (*n, id(&second, n))).collect();

    // API Gateway's creates look for an earlier attempt of their own by
    // identity: one that knows the first copy (a replace's) makes a second.
    for name in API_TYPES {
        let r = recorded(&first, name);
        let req = CreateRequest {
            type_token: token(r),
            urn: r.urn.clone(),
            stack: "aws-test/twins-svc".into(),
            inputs: r.inputs.clone(),
            timeout: None,
            known_ids: vec![id(&first, name)],
            idempotency_token: CreateRequest::new_idempotency_token(),
        };
        let made = h2.aws.create(req).await.unwrap_or_else(|e| panic!("create {name}: {e}"));
        assert_ne!(made.id, id(&first, name), "{name}: a create knowing the first copy makes another");
        twins.insert(name, made.id);
    }

    // The cloud holds both copies of each, with one identity.
    let kms = h1.aws.kms().await.clone();
    for key in [id(&first, "key"), twins["key"].clone()] {
        let tags = kms.list_resource_tags().key_id(&key).send().await.unwrap();
        let tag = |k: &str| tags.tags().iter().find(|t| t.tag_key() == k).map(|t| t.tag_value().to_owned());
        assert_eq!((tag("iac:stack"), tag("iac:name")), (Some("aws-test/twins-svc".into()), Some("key".into())));
    }
    let both = |name: &str| -> BTreeSet<String> { [id(&first, name), twins[name].clone()].into() };
    let gw = h1.aws.apigateway().await.clone();
    let ours = |tags: Option<&HashMap<String, String>>, name: &str| {
        tags.is_some_and(|t| {
            t.get("iac:stack").map(String::as_str) == Some("aws-test/twins-svc")
                && t.get("iac:name").map(String::as_str) == Some(name)
        })
    };
    let apis = gw.get_rest_apis().limit(500).send().await.unwrap();
    let held: BTreeSet<String> =
        apis.items().iter().filter(|a| ours(a.tags(), "api")).filter_map(|a| a.id().map(str::to_owned)).collect();
    assert_eq!(held, both("api"), "both APIs");
    let keys = gw.get_api_keys().name_query("twins").limit(500).send().await.unwrap();
    let held: BTreeSet<String> =
        keys.items().iter().filter(|k| ours(k.tags(), "api-key")).filter_map(|k| k.id().map(str::to_owned)).collect();
    assert_eq!(held, both("api-key"), "both API keys");
    let plans = gw.get_usage_plans().limit(500).send().await.unwrap();
    let held: BTreeSet<String> =
        plans.items().iter().filter(|u| ours(u.tags(), "plan")).filter_map(|u| u.id().map(str::to_owned)).collect();
    assert_eq!(held, both("plan"), "both usage plans");
    let ac = h1.aws.appconfig().await.clone();
    let app = id(&first, "app");
    let envs = ac.list_environments().application_id(&app).send().await.unwrap();
    let held: BTreeSet<String> = envs
        .items()
        .iter()
        .filter(|e| e.name() == Some("prod"))
        .filter_map(|e| e.id().map(|e| format!("{app}/{e}")))
        .collect();
    assert_eq!(held, both("env"), "both environments, in one application");
    let profiles = ac.list_configuration_profiles().application_id(&app).send().await.unwrap();
    let held: BTreeSet<String> = profiles
        .items()
        .iter()
        .filter(|p| p.name() == Some("flags"))
        .filter_map(|p| p.id().map(|p| format!("{app}/{p}")))
        .collect();
    assert_eq!(held, both("profile"), "both profiles, in one application");
    let apps = ac.list_applications().send().await.unwrap();
    let held: BTreeSet<String> =
        apps.items().iter().filter(|a| a.name() == Some("twins")).filter_map(|a| a.id().map(str::to_owned)).collect();
    assert!(held.is_superset(&both("app")), "both applications: {held:?}");
    let strategies = ac.list_deployment_strategies().send().await.unwrap();
    let held: BTreeSet<String> = strategies
        .items()
        .iter()
        .filter(|s| s.name() == Some("twins"))
        .filter_map(|s| s.id().map(str::to_owned))
        .collect();
    assert!(held.is_superset(&both("strategy")), "both strategies: {held:?}");

    for (name, twin) in &twins {
        assert_finds_the_twin(&h1, "twins-svc", recorded(&first, name), twin).await;
    }

    destroy(&s2).await;
    for name in API_TYPES {
        let r = recorded(&first, name);
        let req = DeleteRequest {
            type_token: token(r),
            urn: r.urn.clone(),
            id: twins[name].clone(),
            inputs: r.inputs.clone(),
            outputs: r.outputs.clone(),
            timeout: None,
        };
        h2.aws.delete(req).await.unwrap_or_else(|e| panic!("delete {name}: {e}"));
    }
    destroy(&s1).await;
    let left = gw.get_rest_apis().limit(500).send().await.unwrap();
    assert!(!left.items().iter().any(|a| ours(a.tags(), "api")), "no API left");
}
