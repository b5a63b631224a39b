//! Step Functions: a Standard state machine built with the typed ASL
//! builder (a Lambda task with retry and catch, Choice, Wait, Parallel, Map,
//! Pass, Succeed, Fail), logging to a log group, tracing, tags; an Express
//! one from JSON; an EventBridge rule starting the first — created, read
//! back without drift (a reformatted definition is no drift, a changed one
//! is), updated in place, replaced and destroyed, checked with the SDK; bad
//! definitions refused at preview.

use std::path::PathBuf;

use iac_aws::eventbridge::{Rule, Target, Trigger};
use iac_aws::iam::Role;
use iac_aws::lambda::{Code, Function};
use iac_aws::logs::LogGroup;
use iac_aws::policy::{PolicyDocument, Principal, Statement};
use iac_aws::stepfunctions::{
    Catch, Choice, Condition, Definition, Fail, LogLevel, Logging, Map, Parallel, Pass, Retry, StateMachine,
    StateMachineType, Succeed, Task, Wait,
};
use iac_core::ops::{RunOptions, Session};
use iac_core::{Error, Stack};
use serde_json::json;

use crate::support::*;

fn trust(service: &str) -> PolicyDocument {
    PolicyDocument::new().statement(
        Statement::builder().actions(["sts:AssumeRole"]).principals(vec![Principal::Service(service.into())]).build(),
    )
}

#[derive(Clone)]
struct Flow {
    wait: u32,
    level: LogLevel,
    tracing: bool,
    team: &'static str,
    hello: StateMachineType,
    dir: PathBuf,
}

fn program(s: &Stack, x: &Flow) {
    let fn_role =
        s.add("fn-role", Role::builder().name("sfn-load-fn").assume_role_policy(trust("lambda.amazonaws.com")).build());
    let f = s.add(
        "load",
        Function::builder()
            .name("sfn-load")
            .runtime("python3.12")
            .handler("index.handler")
            .role(fn_role.arn.clone())
            .code(Code::Directory(x.dir.clone()))
            .build(),
    );
    let states_role = s.add(
        "states-role",
        Role::builder().name("sfn-ingest-states").assume_role_policy(trust("states.amazonaws.com")).build(),
    );
    let logs = s.add("logs", LogGroup::builder().name("/states/sfn-ingest").build());
    let definition = Definition::new("Load")
        .comment("ingest a file")
        .state(
            "Load",
            Task::lambda(f.arn.clone())
                .retry(
                    Retry::errors(["Lambda.TooManyRequestsException"])
                        .interval_seconds(2)
                        .max_attempts(3)
                        .backoff_rate(2.0),
                )
                .catch(Catch::all("Rejected").result_path("$.error"))
                .result_path("$.loaded")
                .next("Route"),
        )
        .state(
            "Route",
            Choice::new()
                .when(Condition::numeric_greater_than("$.loaded.Payload.rows", 1000.0), "Fan")
                .when(Condition::string_equals("$.kind", "later"), "Later")
                .otherwise("Each"),
        )
        .state("Later", Wait::seconds(x.wait).next("Each"))
        .state(
            "Fan",
            Parallel::new()
                .branch(Definition::new("Index").state("Index", Pass::new().result(json!({"indexed": true})).end()))
                .branch(Definition::new("Audit").state("Audit", Pass::new().end()))
                .next("Done"),
        )
        .state(
            "Each",
            Map::new(Definition::new("Check").state("Check", Task::lambda(f.arn.clone()).end()))
                .items_path("$.items")
                .max_concurrency(4)
                .next("Done"),
        )
        .state("Done", Succeed::new())
        .state("Rejected", Fail::new().error("Rejected").cause("the file did not load"));
    let ingest = s.add(
        "ingest",
        StateMachine::builder()
            .name("sfn-ingest")
            .role_arn(states_role.arn.clone())
            .definition(definition)
            .logging(
                Logging::builder().log_group_arn(logs.arn.clone()).level(x.level).include_execution_data(true).build(),
            )
            .tracing(x.tracing)
            .tags(iac_aws::tags([("Team", x.team)]))
            .build(),
    );
    s.add(
        "hello",
        StateMachine::builder()
            .name("sfn-hello")
            .kind(x.hello)
            .role_arn(states_role.arn.clone())
            .definition(json!({
                "Comment": "says hello",
                "StartAt": "Hi",
                "States": {"Hi": {"Type": "Pass", "Result": {"greeting": "hello"}, "End": true}}
            }))
            .build(),
    );
    // A landed file starts the workflow.
    let events_role = s.add(
        "events-role",
        Role::builder().name("sfn-events-start").assume_role_policy(trust("events.amazonaws.com")).build(),
    );
    let rule = s.add(
        "landed",
        Rule::builder().name("sfn-file-landed").trigger(Trigger::Pattern(json!({"source": ["aws.s3"]}))).build(),
    );
    s.add(
        "landed-to-ingest",
        Target::builder()
            .rule(rule.name.clone())
            .target_id("ingest")
            .arn(ingest.arn.clone())
            .role_arn(events_role.arn.clone())
            .input_path("$.detail")
            .build(),
    );
}

fn session(h: &Harness, x: &Flow) -> Session {
    let x = x.clone();
    h.session("stepfunctions", move |s| program(s, &x))
}

/// The paths a refreshed preview would change.
async fn drifted(s: &Session) -> Vec<String> {
    let p = s.preview(&RunOptions { refresh: true, ..opts() }).await.expect("preview --refresh");
    p.plan.changes().flat_map(|st| st.diffs.iter().map(|d| format!("{}.{}", st.urn, d.path))).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn state_machine_lifecycle() {
    let h = Harness::new();
    let sfn = h.aws.sfn().await.clone();
    let eb = h.aws.eventbridge().await.clone();
    let code = tempfile::tempdir().unwrap();
    std::fs::write(code.path().join("index.py"), "def handler(event, context):\n    return {'rows': 1}\n").unwrap();
    let v1 = Flow {
        wait: 30,
        level: LogLevel::All,
        tracing: true,
        team: "data",
        hello: StateMachineType::Express,
        dir: code.path().into(),
    };

    let s = session(&h, &v1);
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "stepfunctions").await;
    let arn = a.report.state.resources[&iac_core::Urn::new("ingest")].id.clone().unwrap();
    assert!(arn.ends_with(":stateMachine:sfn-ingest"), "{arn}");
    let function_arn = h
        .aws
        .lambda()
        .await
        .get_function()
        .function_name("sfn-load")
        .send()
        .await
        .unwrap()
        .configuration
        .unwrap()
        .function_arn
        .unwrap();
    let d = sfn.describe_state_machine().state_machine_arn(&arn).send().await.unwrap();
    assert_eq!(d.r#type().as_str(), "STANDARD");
    assert!(d.role_arn().ends_with(":role/sfn-ingest-states"), "{}", d.role_arn());
    let def: serde_json::Value = serde_json::from_str(d.definition()).unwrap();
    assert_eq!(def["StartAt"], "Load");
    assert_eq!(def["Comment"], "ingest a file");
    let load = &def["States"]["Load"];
    assert_eq!(load["Type"], "Task");
    assert_eq!(load["Resource"], "arn:aws:states:::lambda:invoke");
    assert_eq!(load["Parameters"]["FunctionName"], function_arn.as_str(), "the task invokes the function by its ARN");
    assert_eq!(load["Parameters"]["Payload.$"], "$");
    assert_eq!(load["Retry"][0]["ErrorEquals"][0], "Lambda.TooManyRequestsException");
    assert_eq!(load["Retry"][0]["BackoffRate"], 2.0);
    assert_eq!(load["Retry"][0]["MaxAttempts"], 3);
    assert_eq!(load["Catch"][0]["Next"], "Rejected");
    assert_eq!(load["Catch"][0]["ResultPath"], "$.error");
    assert_eq!(load["Next"], "Route");
    assert_eq!(def["States"]["Route"]["Choices"][0]["NumericGreaterThan"], 1000);
    assert_eq!(def["States"]["Route"]["Default"], "Each");
    assert_eq!(def["States"]["Later"]["Seconds"], 30);
    assert_eq!(def["States"]["Fan"]["Branches"].as_array().unwrap().len(), 2);
    assert_eq!(def["States"]["Fan"]["Branches"][0]["States"]["Index"]["Result"]["indexed"], true);
    assert_eq!(def["States"]["Each"]["ItemProcessor"]["StartAt"], "Check");
    assert_eq!(def["States"]["Each"]["MaxConcurrency"], 4);
    assert_eq!(def["States"]["Rejected"]["Error"], "Rejected");
    let logging = d.logging_configuration().unwrap();
    assert_eq!(logging.level().map(|l| l.as_str()), Some("ALL"));
    assert!(logging.include_execution_data());
    let group = logging.destinations()[0].cloud_watch_logs_log_group().unwrap().log_group_arn().unwrap();
    assert!(group.ends_with(":log-group:/states/sfn-ingest:*"), "AWS wants the `:*` form: {group}");
    assert!(d.tracing_configuration().unwrap().enabled());
    let tags = sfn.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    let tag = |k: &str| tags.tags().iter().find(|t| t.key() == Some(k)).and_then(|t| t.value()).map(str::to_owned);
    assert_eq!(tag("Team").as_deref(), Some("data"));
    assert_eq!(tag("iac:name").as_deref(), Some("ingest"));
    let hello_arn = a.report.state.resources[&iac_core::Urn::new("hello")].id.clone().unwrap();
    let hello = sfn.describe_state_machine().state_machine_arn(&hello_arn).send().await.unwrap();
    assert_eq!(hello.r#type().as_str(), "EXPRESS");
    let t = eb.list_targets_by_rule().rule("sfn-file-landed").send().await.unwrap();
    assert_eq!(t.targets()[0].arn(), arn, "the rule starts the state machine");
    assert!(t.targets()[0].role_arn().unwrap().ends_with(":role/sfn-events-start"));
    assert_adoptable(&h, &a, "stepfunctions", "ingest").await;
    assert_adoptable(&h, &a, "stepfunctions", "hello").await;
    assert_no_drift(&s).await;

    // The same definition, reformatted and its keys reordered, is no drift.
    let mut states: Vec<(String, serde_json::Value)> = def["States"].as_object().unwrap().clone().into_iter().collect();
    states.reverse();
    let reordered =
        json!({"States": serde_json::Map::from_iter(states), "StartAt": "Load", "Comment": "ingest a file"});
    sfn.update_state_machine()
        .state_machine_arn(&arn)
        .definition(serde_json::to_string_pretty(&reordered).unwrap())
        .send()
        .await
        .unwrap();
    assert_no_drift(&s).await;
    // A changed one is, and `up --refresh` puts it back.
    let mut changed = def.clone();
    changed["States"]["Later"]["Seconds"] = json!(999);
    sfn.update_state_machine().state_machine_arn(&arn).definition(changed.to_string()).send().await.unwrap();
    assert_eq!(drifted(&s).await, ["ingest.definition.States.Later.Seconds"]);
    let fixed = s.up(&RunOptions { refresh: true, ..opts() }, None, &mut |_, _| Ok(true)).await.expect("up --refresh");
    assert!(fixed.report.failures.is_empty(), "up --refresh failed: {:?}", fixed.report.failures);
    let d = sfn.describe_state_machine().state_machine_arn(&arn).send().await.unwrap();
    let def: serde_json::Value = serde_json::from_str(d.definition()).unwrap();
    assert_eq!(def["States"]["Later"]["Seconds"], 30);

    // In place: the definition, logging level, tracing and tags.
    let v2 = Flow { wait: 60, level: LogLevel::Error, tracing: false, team: "ingest", ..v1 };
    let s = session(&h, &v2);
    let a = up(&s).await;
    assert_eq!(
        a.report.state.resources[&iac_core::Urn::new("ingest")].id.as_deref(),
        Some(arn.as_str()),
        "same machine"
    );
    let d = sfn.describe_state_machine().state_machine_arn(&arn).send().await.unwrap();
    let def: serde_json::Value = serde_json::from_str(d.definition()).unwrap();
    assert_eq!(def["States"]["Later"]["Seconds"], 60);
    assert_eq!(d.logging_configuration().unwrap().level().map(|l| l.as_str()), Some("ERROR"));
    assert!(!d.tracing_configuration().unwrap().enabled());
    let tags = sfn.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    assert!(tags.tags().iter().any(|t| t.key() == Some("Team") && t.value() == Some("ingest")));
    assert_no_drift(&s).await;

    // Replace: Express to Standard is a new machine of the same name.
    let v3 = Flow { hello: StateMachineType::Standard, ..v2 };
    let s = session(&h, &v3);
    up(&s).await;
    let hello = sfn.describe_state_machine().state_machine_arn(&hello_arn).send().await.unwrap();
    assert_eq!(hello.r#type().as_str(), "STANDARD");
    assert_no_drift(&s).await;

    destroy(&s).await;
    for gone in [&arn, &hello_arn] {
        let e = sfn.describe_state_machine().state_machine_arn(gone.as_str()).send().await.unwrap_err();
        assert_eq!(iac_aws::error::code(&e), Some("StateMachineDoesNotExist"), "{gone} gone");
    }
    assert!(eb.describe_rule().name("sfn-file-landed").send().await.is_err(), "rule gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_state_machines_are_refused_at_preview() {
    let h = Harness::new();
    let long = "s".repeat(81);
    let role = "arn:aws:iam::123456789012:role/states";
    let s = h.session("bad-stepfunctions", move |s| {
        s.add(
            "broken",
            StateMachine::builder()
                .name("has space")
                .kind(StateMachineType::Express)
                .role_arn(role)
                .definition(json!({
                    "StartAt": "Nope",
                    "States": {
                        "A": {"Type": "Pass", "Next": "Missing"},
                        "B": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::batch:submitJob.sync",
                            "End": true,
                            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Gone"}]
                        },
                        long.clone(): {"Type": "Succeed"},
                        "W": {"Type": "Wait", "Seconds": 1, "Timestamp": "2026-01-01T00:00:00Z", "End": true},
                        "C": {"Type": "Choice", "Choices": []},
                        "X": {"Type": "Sleep", "End": true}
                    }
                }))
                .build(),
        );
        s.add(
            "loops",
            StateMachine::builder()
                .name("s".repeat(81))
                .role_arn("not-a-role")
                .definition(json!({
                    "StartAt": "A",
                    "States": {
                        "A": {"Type": "Pass", "Next": "B"},
                        "B": {"Type": "Pass", "Next": "A"},
                        "Orphan": {"Type": "Pass", "Next": "A"}
                    }
                }))
                .logging(Logging::builder().log_group_arn("my-group").build())
                .build(),
        );
        s.add(
            "typed",
            StateMachine::builder()
                .name("typed")
                .role_arn(role)
                .definition(
                    Definition::new("P")
                        .state(
                            "P",
                            Parallel::new()
                                .branch(Definition::new("X").state("X", Pass::new().next("Done")))
                                .next("Work"),
                        )
                        .state(
                            "Work",
                            Task::resource("arn:aws:lambda:us-east-1:123456789012:function:f")
                                .retry(Retry::all().backoff_rate(0.5))
                                .timeout_seconds(10)
                                .heartbeat_seconds(10),
                        )
                        .state("Done", Succeed::new())
                        .state("Done", Succeed::new()),
                )
                .build(),
        );
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    for (resource, field, what) in [
        ("broken", "name", "no whitespace"),
        ("broken", "definition.StartAt", "StartAt names `Nope`"),
        ("broken", "definition.States.A.Next", "Next `Missing` is not a state here"),
        ("broken", "definition.States.B.Catch.0.Next", "catch rule's Next `Gone` is not a state here"),
        ("broken", "definition.States.B.Resource", "EXPRESS state machines do not support .sync"),
        ("broken", &format!("definition.States.{}", "s".repeat(81)), "1 to 80"),
        ("broken", "definition.States.W", "exactly one of Seconds, Timestamp, SecondsPath, TimestampPath"),
        ("broken", "definition.States.C.Choices", "needs at least one rule"),
        ("broken", "definition.States.X.Type", "`Sleep` is not a state type"),
        ("loops", "name", "the limit is 80"),
        ("loops", "roleArn", "not an IAM role ARN"),
        ("loops", "logging.logGroupArn", "not a log group ARN"),
        ("loops", "definition.States", "no terminal state"),
        ("loops", "definition.States.Orphan", "cannot be reached from StartAt"),
        ("typed", "definition.States", "state `Done` is defined twice"),
        ("typed", "definition.States.P.Branches.0.States.X.Next", "Next `Done` is not a state here"),
        ("typed", "definition.States.Work", "exactly one of Next and End is required (it has neither)"),
        ("typed", "definition.States.Work.Retry.0", "BackoffRate 0.5; at least 1.0"),
        ("typed", "definition.States.Work.HeartbeatSeconds", "below TimeoutSeconds"),
    ] {
        assert!(
            diags.iter().any(|d| d.urn.as_str() == resource && d.field == field && d.message.contains(what)),
            "missing `{what}` on {resource}.{field}: {text}"
        );
    }
}
