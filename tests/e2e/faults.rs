//! A flaky cloud: the Bitcoin pipeline's dev config (its own stack) run
//! through the emulator's fault-injecting endpoint (`moto_faults.py`),
//! which answers a share of calls with throttling, server errors and
//! stalls before they reach the emulator. `up` and `destroy` still
//! converge, the calls are retried, and nothing is created or recorded
//! twice. Responses lost after the emulator acted (every call's first
//! answer) make no twin either: a create is never repeated blindly, by the
//! SDK or the engine. A call that fails for good fails its resource only:
//! everything independent is created and recorded, and the error names the
//! resource, the operation and the cloud's message.

use iac_tests::moto;
use serde_json::json;

use crate::cli::FAULT_ENDPOINT;
use crate::inventory::Subject;

#[tokio::test(flavor = "multi_thread")]
async fn up_and_destroy_converge_through_throttling_errors_and_stalls() {
    let _one = FAULT_ENDPOINT.lock().await;
    let s = Subject::new("flaky");
    let faults = json!({"throttle": 0.08, "error": 0.04, "stall": 0.02, "stall_seconds": 0.5, "seed": 11});
    moto().set_faults(&faults);
    let up = s.run.faulty(&["up", "--yes"]);
    let injected = moto().faults_injected();
    moto().set_faults(&json!({}));
    assert!(up.status.success(), "up through faults failed: {}", String::from_utf8_lossy(&up.stderr));
    eprintln!("injected during up: {injected}");
    for kind in ["throttle", "error", "stall"] {
        assert!(injected[kind].as_u64().unwrap_or(0) > 0, "no {kind} was injected: {injected}");
    }
    // Every injected fault was retried: the stack is whole, once.
    s.assert_inventory_matches("up through faults").await;

    moto().set_faults(&faults);
    let destroy = s.run.faulty(&["destroy", "--yes"]);
    let injected = moto().faults_injected();
    moto().set_faults(&json!({}));
    assert!(destroy.status.success(), "destroy through faults failed: {}", String::from_utf8_lossy(&destroy.stderr));
    assert!(injected["throttle"].as_u64().unwrap_or(0) > 0, "{injected}");
    s.assert_nothing_left("destroy through faults").await;
}

/// The calls that make the stack's resources, as the fault layer names
/// them: every one of them must have had its answer lost.
const CREATES: &[&str] = &[
    "CreateVpc",
    "CreateSubnet",
    "CreateInternetGateway",
    "CreateRouteTable",
    "CreateRoute",
    "AssociateRouteTable",
    "CreateSecurityGroup",
    "AuthorizeSecurityGroupIngress",
    "CreateVpcEndpoint",
    "CreateFlowLogs",
    "CreateKey",
    "CreateLogGroup",
    "CreateRole",
    "CreateBucket",
    "CreateRepository",
    "CreateCluster",
    "RegisterTaskDefinition",
    "CreateService",
    "CreateLoadBalancer",
    "CreateTargetGroup",
    "CreateListener",
    "CreateRule",
    "CreateDBSubnetGroup",
    "CreateDBClusterParameterGroup",
    "CreateDBCluster",
    "CreateDBInstance",
    "CreateCacheSubnetGroup",
    "CreateReplicationGroup",
    "CreateStream",
    "CreateProject",
    "CreatePipeline",
    "CreateTopic",
    "PutMetricAlarm",
    "RegisterScalableTarget",
];

/// Every call's first response is lost on its way back: the emulator acts
/// on the call, the client gets a server error, and a repeat of the same
/// request (the SDK's retry) is answered. A create the SDK repeated would
/// make a second VPC, subnet, key or task revision, or fail on the name the
/// first took; sent once, or with a client token, or taken back when AWS
/// answers that it exists, each is made once and recorded.
#[tokio::test(flavor = "multi_thread")]
async fn lost_responses_make_no_twins() {
    let _one = FAULT_ENDPOINT.lock().await;
    let s = Subject::new("lost");
    let lost = json!({"lost": 1.0, "lost_once": true});
    moto().set_faults(&lost);
    let up = s.run.faulty(&["up", "--yes"]);
    let injected = moto().faults_injected();
    moto().set_faults(&json!({}));
    assert!(up.status.success(), "up through lost responses failed: {}", String::from_utf8_lossy(&up.stderr));
    eprintln!("injected during up: {injected}");
    let missed: Vec<&&str> =
        CREATES.iter().filter(|op| injected["operations"][format!("lost:{op}")].as_u64().unwrap_or(0) == 0).collect();
    assert!(missed.is_empty(), "no response was lost for {missed:?}: {injected}");
    // One of everything: nothing made twice, nothing left unrecorded.
    s.assert_inventory_matches("up through lost responses").await;

    moto().set_faults(&lost);
    let destroy = s.run.faulty(&["destroy", "--yes"]);
    let injected = moto().faults_injected();
    moto().set_faults(&json!({}));
    assert!(
        destroy.status.success(),
        "destroy through lost responses failed: {}",
        String::from_utf8_lossy(&destroy.stderr)
    );
    assert!(injected["operations"]["lost:DeleteVpc"].as_u64().unwrap_or(0) > 0, "{injected}");
    s.assert_nothing_left("destroy through lost responses").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_failing_for_good_fails_only_its_resource_and_says_why() {
    let _one = FAULT_ENDPOINT.lock().await;
    let s = Subject::new("broken");
    let message = "The stream service is unavailable in this account (injected)";
    moto().set_faults(
        &json!({"fail": {"operation": "CreateStream", "code": "LimitExceededException", "message": message}}),
    );
    let up = s.run.faulty(&["up", "--yes"]);
    moto().set_faults(&json!({}));
    let err = String::from_utf8_lossy(&up.stderr);
    assert_eq!(up.status.code(), Some(1), "{err}");
    // The resource, the operation and the cloud's message.
    assert!(err.contains("market-data") && err.contains("CreateStream"), "{err}");
    assert!(err.contains("LimitExceededException") && err.contains(message), "{err}");

    // Everything that does not need the stream was created and recorded.
    let state = s.state_resources();
    assert!(!state.keys().any(|u| u.contains("market-data") && state[u] == "aws:kinesis:Stream"), "{state:?}");
    for independent in ["aws:ec2:Vpc", "aws:rds:DbCluster", "aws:elasticache:ReplicationGroup", "aws:ecs:Cluster"] {
        assert!(state.values().any(|t| t == independent), "{independent} recorded: {state:?}");
    }
    assert!(state.len() > 100, "only {} resources recorded", state.len());
    let cloud = s.inventory().await;
    assert!(!cloud.contains_key("kinesis:stream"), "{cloud:?}");

    // With the cloud healthy again, up finishes the rest; destroy cleans up.
    s.run.ok(&["up", "--yes"]);
    s.assert_inventory_matches("after the failure cleared").await;
    s.run.ok(&["destroy", "--yes"]);
    s.assert_nothing_left("after the failure cleared").await;
}
