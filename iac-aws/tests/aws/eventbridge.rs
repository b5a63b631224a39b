//! EventBridge: a pattern rule and a schedule rule sending to a Lambda
//! function (with the permission that lets them) — created, read back
//! without drift, updated in place, replaced and destroyed, checked with the
//! SDK; bad rules and targets refused at preview.

use iac_aws::eventbridge::{BatchJob, Rule, Target, Trigger};
use iac_aws::iam::Role;
use iac_aws::lambda::{Code, Function, Permission};
use iac_aws::policy::{PolicyDocument, Principal, Statement};
use iac_core::{Error, Stack};

use crate::support::*;

#[derive(Clone)]
struct Events {
    rule: &'static str,
    bucket: &'static str,
    enabled: bool,
    retries: i32,
    dir: std::path::PathBuf,
}

fn events(s: &Stack, x: &Events) {
    let role = s.add(
        "role",
        Role::builder()
            .name("events-fn")
            .assume_role_policy(
                PolicyDocument::new().statement(
                    Statement::builder()
                        .actions(["sts:AssumeRole"])
                        .principals(vec![Principal::Service("lambda.amazonaws.com".into())])
                        .build(),
                ),
            )
            .build(),
    );
    let f = s.add(
        "on-file",
        Function::builder()
            .name("on-file")
            .runtime("python3.12")
            .handler("index.handler")
            .role(role.arn.clone())
            .code(Code::Directory(x.dir.clone()))
            .build(),
    );
    let rule = s.add(
        "landed",
        Rule::builder()
            .name(x.rule)
            .description("a file landed")
            .trigger(Trigger::Pattern(serde_json::json!({
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {"bucket": {"name": [x.bucket]}}
            })))
            .enabled(x.enabled)
            .tags(iac_aws::tags([("Team", "data")]))
            .build(),
    );
    s.add(
        "landed-to-fn",
        Target::builder()
            .rule(rule.name.clone())
            .target_id("on-file")
            .arn(f.arn.clone())
            .input_path("$.detail")
            .retry_attempts(x.retries)
            .build(),
    );
    s.add(
        "events-invoke",
        Permission::builder()
            .function(f.name.clone())
            .statement_id("eventbridge")
            .principal("events.amazonaws.com")
            .source_arn(rule.arn.clone())
            .build(),
    );
    s.add(
        "nightly",
        Rule::builder().name("nightly-compaction").trigger(Trigger::Schedule("cron(0 2 * * ? *)".into())).build(),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_and_targets_lifecycle() {
    let h = Harness::new();
    let eb = h.aws.eventbridge().await.clone();
    let code = tempfile::tempdir().unwrap();
    std::fs::write(code.path().join("index.py"), "def handler(event, context):\n    return event\n").unwrap();
    let v1 = Events { rule: "file-landed", bucket: "landing-zone", enabled: true, retries: 3, dir: code.path().into() };

    let x = v1.clone();
    let s = h.session("events", move |s| events(s, &x));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "events").await;
    let r = eb.describe_rule().name("file-landed").send().await.unwrap();
    let pattern: serde_json::Value = serde_json::from_str(r.event_pattern().unwrap()).unwrap();
    assert_eq!(pattern["detail"]["bucket"]["name"][0], "landing-zone");
    assert_eq!(r.state().map(|s| s.as_str()), Some("ENABLED"));
    let targets = eb.list_targets_by_rule().rule("file-landed").send().await.unwrap();
    let t = &targets.targets()[0];
    assert_eq!(t.id(), "on-file");
    assert!(t.arn().ends_with(":function:on-file"), "{}", t.arn());
    assert_eq!(t.input_path(), Some("$.detail"));
    assert_eq!(t.retry_policy().and_then(|p| p.maximum_retry_attempts()), Some(3));
    let nightly = eb.describe_rule().name("nightly-compaction").send().await.unwrap();
    assert_eq!(nightly.schedule_expression(), Some("cron(0 2 * * ? *)"));
    let policy = h.aws.lambda().await.get_policy().function_name("on-file").send().await.unwrap().policy.unwrap();
    assert!(policy.contains(r.arn().unwrap()), "the function lets the rule invoke it: {policy}");
    assert_adoptable(&h, &a, "events", "landed").await;
    assert_no_drift(&s).await;

    // In place: the pattern, the state, the target's retries.
    let v2 = Events { bucket: "landing-zone-v2", enabled: false, retries: 5, ..v1 };
    let x = v2.clone();
    let s = h.session("events", move |s| events(s, &x));
    up(&s).await;
    let r = eb.describe_rule().name("file-landed").send().await.unwrap();
    assert!(r.event_pattern().unwrap().contains("landing-zone-v2"));
    assert_eq!(r.state().map(|s| s.as_str()), Some("DISABLED"));
    let targets = eb.list_targets_by_rule().rule("file-landed").send().await.unwrap();
    assert_eq!(targets.targets()[0].retry_policy().and_then(|p| p.maximum_retry_attempts()), Some(5));
    assert_no_drift(&s).await;

    // Replace: a renamed rule, its target and permission with it.
    let v3 = Events { rule: "object-landed", ..v2 };
    let x = v3.clone();
    let s = h.session("events", move |s| events(s, &x));
    up(&s).await;
    assert!(eb.describe_rule().name("file-landed").send().await.is_err(), "old rule gone");
    let targets = eb.list_targets_by_rule().rule("object-landed").send().await.unwrap();
    assert_eq!(targets.targets().len(), 1);
    assert_no_drift(&s).await;

    destroy(&s).await;
    for gone in ["object-landed", "nightly-compaction"] {
        assert!(eb.describe_rule().name(gone).send().await.is_err(), "{gone} gone");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_rules_and_targets_are_refused_at_preview() {
    let h = Harness::new();
    let s = h.session("bad-events", |s| {
        s.add("empty", Rule::builder().name("has space").trigger(Trigger::Pattern(serde_json::json!({}))).build());
        s.add("cron", Rule::builder().name("c").trigger(Trigger::Schedule("cron(0 2 * * *)".into())).build());
        s.add(
            "bus",
            Rule::builder().name("b").event_bus_name("orders").trigger(Trigger::Schedule("every day".into())).build(),
        );
        s.add(
            "t",
            Target::builder()
                .rule("c")
                .target_id("bad id")
                .arn("arn:aws:lambda:us-east-1:123456789012:function:f")
                .input(serde_json::json!({"a": 1}))
                .input_path("detail")
                .retry_attempts(500)
                .build(),
        );
        s.add(
            "to-workflow",
            Target::builder()
                .rule("c")
                .target_id("workflow")
                .arn("arn:aws:states:us-east-1:123456789012:stateMachine:ingest")
                .build(),
        );
        s.add(
            "to-queue",
            Target::builder()
                .rule("c")
                .target_id("queue")
                .arn("arn:aws:batch:us-east-1:123456789012:job-queue/nightly")
                .build(),
        );
        s.add(
            "to-function-batch",
            Target::builder()
                .rule("c")
                .target_id("fn")
                .arn("arn:aws:lambda:us-east-1:123456789012:function:f")
                .batch(BatchJob::builder().job_definition("").job_name("bad name").array_size(1).attempts(11).build())
                .build(),
        );
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    for (resource, what) in [
        ("empty", "letters, digits, . _ and -"),
        ("empty", "not a non-empty JSON object"),
        ("cron", "has 5 fields"),
        ("bus", "rate(…) or cron(…)"),
        ("bus", "only on the default bus"),
        ("t", "letters, digits, . _ and -"),
        ("t", "not both"),
        ("t", "not a JSONPath"),
        ("t", "between 0 and 185"),
        ("to-workflow", "needs a role to start executions of the state machine"),
        ("to-queue", "needs a role to submit Batch jobs"),
        ("to-queue", "needs the job to submit"),
        ("to-function-batch", "is not a Batch job queue"),
        ("to-function-batch", "letters, digits, hyphens and underscores"),
        ("to-function-batch", "between 2 and 10000"),
        ("to-function-batch", "between 1 and 10"),
        ("to-function-batch", "a job definition is required"),
    ] {
        assert!(
            diags.iter().any(|d| d.to_string().contains(resource) && d.to_string().contains(what)),
            "missing `{what}` on {resource}: {text}"
        );
    }
}
