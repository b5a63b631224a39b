//! Lambda: a function packaged from a directory, with a sealed secret in
//! its environment and a permission for S3 to invoke it — created, read
//! back without drift, reconfigured without a code upload, redeployed only
//! when a file's content changes, replaced and destroyed, checked with the
//! SDK.

use std::path::{Path, PathBuf};

use iac_aws::iam::Role;
use iac_aws::kinesis::{Capacity, Stream};
use iac_aws::lambda::{Alias, Code, EventSourceMapping, Function, Package, Permission, StartingPosition, Version};
use iac_aws::policy::{PolicyDocument, Principal, Statement};
use iac_core::ops::{RunOptions, Session};
use iac_core::{Error, Output, Stack};

use crate::support::*;

const TOKEN: &str = "tok-lambda-9c1e-plaintext";

#[derive(Clone)]
struct Fn {
    name: &'static str,
    memory: i32,
    dir: PathBuf,
}

fn program(s: &Stack, x: &Fn) {
    let role = s.add(
        "role",
        Role::builder()
            .name("ingest-fn")
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
    let function = Function::builder()
        .name(x.name)
        .runtime("python3.12")
        .handler("index.handler")
        .role(role.arn.clone())
        .code(Code::Directory(x.dir.clone()))
        .memory_size(x.memory)
        .timeout(30)
        .environment(
            [
                ("TABLE".to_owned(), "prices".into()),
                ("API_TOKEN".to_owned(), Output::known(TOKEN.to_owned()).secret().into()),
            ]
            .into_iter()
            .collect(),
        )
        .tags(iac_aws::tags([("Team", "data")]))
        .build();
    let sha = function.code_sha256().expect("local code");
    let f = s.add("ingest", function);
    let version = s.add("ingest-version", Version::builder().function(f.name.clone()).code_sha256(sha).build());
    s.add(
        "live",
        Alias::builder().function(f.name.clone()).name("live").function_version(version.version.clone()).build(),
    );
    s.add(
        "from-bucket",
        Permission::builder()
            .function(f.name.clone())
            .statement_id("s3-landing")
            .principal("s3.amazonaws.com")
            .source_arn("arn:aws:s3:::landing-zone")
            .source_account("123456789012")
            .build(),
    );
}

fn session(h: &Harness, x: &Fn) -> Session {
    let x = x.clone();
    h.session("lambda", move |s| program(s, &x))
}

fn write_code(dir: &Path, body: &str) {
    std::fs::write(dir.join("index.py"), format!("def handler(event, context):\n    return {body}\n")).unwrap();
}

/// The paths a preview (no refresh) would change.
async fn planned(s: &Session) -> Vec<String> {
    let p = s.preview(&RunOptions { refresh: false, ..opts() }).await.expect("preview");
    p.plan.changes().flat_map(|st| st.diffs.iter().map(|d| format!("{}.{}", st.urn, d.path))).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn function_and_permission_lifecycle() {
    let h = Harness::new();
    let lambda = h.aws.lambda().await.clone();
    let code = tempfile::tempdir().unwrap();
    write_code(code.path(), "1");
    let hash = |dir: &Path| Package::of(&Code::Directory(dir.to_path_buf())).unwrap().unwrap().sha256;
    let v1 = Fn { name: "ingest", memory: 128, dir: code.path().to_path_buf() };

    let s = session(&h, &v1);
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "lambda").await;
    let f = lambda.get_function().function_name("ingest").send().await.unwrap();
    let c = f.configuration().unwrap();
    assert_eq!(c.runtime().map(|r| r.as_str()), Some("python3.12"));
    assert_eq!(c.handler(), Some("index.handler"));
    assert_eq!(c.memory_size(), Some(128));
    assert_eq!(c.code_sha256(), Some(hash(code.path()).as_str()), "AWS holds the package we built");
    let vars = c.environment().and_then(|e| e.variables()).unwrap();
    assert_eq!(vars.get("TABLE").map(String::as_str), Some("prices"));
    assert_eq!(vars.get("API_TOKEN").map(String::as_str), Some(TOKEN));
    assert_eq!(f.tags().and_then(|t| t.get("Team")).map(String::as_str), Some("data"));
    let policy = lambda.get_policy().function_name("ingest").send().await.unwrap().policy.unwrap();
    assert!(policy.contains("s3-landing") && policy.contains("arn:aws:s3:::landing-zone"), "{policy}");
    assert_adoptable(&h, &a, "lambda", "ingest").await;
    let live = lambda.get_alias().function_name("ingest").name("live").send().await.unwrap();
    assert_eq!(live.function_version(), Some("1"), "the alias points at the published version");
    let v1_conf = lambda.get_function_configuration().function_name("ingest").qualifier("1").send().await.unwrap();
    assert_eq!(v1_conf.code_sha256(), Some(hash(code.path()).as_str()));
    for entry in walk(h.dir.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&entry).unwrap()).into_owned();
        assert!(!text.contains(TOKEN), "secret environment value in plaintext in {}", entry.display());
    }
    assert_no_drift(&s).await;

    // Rewriting a file with the same content is no change at all.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    write_code(code.path(), "1");
    assert_eq!(planned(&s).await, Vec::<String>::new());

    // Configuration only: no code upload.
    let v2 = Fn { memory: 256, ..v1.clone() };
    let s = session(&h, &v2);
    assert_eq!(planned(&s).await, ["ingest.memorySize"]);
    let before = lambda.get_function_configuration().function_name("ingest").send().await.unwrap();
    up(&s).await;
    let after = lambda.get_function_configuration().function_name("ingest").send().await.unwrap();
    assert_eq!(after.memory_size(), Some(256));
    assert_eq!(after.code_sha256(), before.code_sha256(), "same code");
    assert_no_drift(&s).await;

    // A code change, and only that, redeploys.
    write_code(code.path(), "2");
    // The function's code, a new version of it, and the alias moving there.
    assert_eq!(planned(&s).await, ["ingest.codeSha256", "ingest-version.codeSha256", "live.functionVersion"]);
    up(&s).await;
    let after = lambda.get_function_configuration().function_name("ingest").send().await.unwrap();
    assert_eq!(after.code_sha256(), Some(hash(code.path()).as_str()), "new code deployed");
    assert_ne!(after.code_sha256(), before.code_sha256());
    // A new version is published for it and the alias moves over.
    let live = lambda.get_alias().function_name("ingest").name("live").send().await.unwrap();
    let moved = live.function_version().unwrap().to_owned();
    assert_ne!(moved, "1");
    let conf = lambda.get_function_configuration().function_name("ingest").qualifier(&moved).send().await.unwrap();
    assert_eq!(conf.code_sha256(), after.code_sha256());
    assert_no_drift(&s).await;

    // Replace: a new name is a new function, and a new permission on it.
    let v3 = Fn { name: "ingest-v2", ..v2 };
    let s = session(&h, &v3);
    up(&s).await;
    assert!(lambda.get_function().function_name("ingest").send().await.is_err(), "old function gone");
    let policy = lambda.get_policy().function_name("ingest-v2").send().await.unwrap().policy.unwrap();
    assert!(policy.contains("s3-landing"), "{policy}");
    assert_no_drift(&s).await;

    destroy(&s).await;
    assert!(lambda.get_function().function_name("ingest-v2").send().await.is_err(), "function gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_lambda_inputs_are_refused_at_preview() {
    let h = Harness::new();
    let s = h.session("bad-lambda", |s| {
        s.add(
            "f",
            Function::builder()
                .name("has space")
                .runtime("python2.0")
                .handler("")
                .role("arn:aws:iam::123456789012:role/r")
                .code(Code::Directory("/no/such/directory".into()))
                .memory_size(64)
                .timeout(901)
                .architecture("sparc")
                .environment(
                    [("AWS_REGION".to_owned(), "x".into()), ("1BAD".to_owned(), "x".into())].into_iter().collect(),
                )
                .build(),
        );
        s.add(
            "p",
            Permission::builder()
                .function("f")
                .qualifier("v 1")
                .statement_id("bad id")
                .action("s3:GetObject")
                .principal("somebody")
                .source_account("12")
                .build(),
        );
        s.add("a", Alias::builder().function("f").name("7").function_version("1").canary(("2".into(), 1.5)).build());
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    for (resource, what) in [
        ("f", "letters, digits, hyphens and underscores"),
        ("f", "not a Lambda runtime"),
        ("f", "an entry point is required"),
        ("f", "cannot package"),
        ("f", "between 128 and 10240"),
        ("f", "between 1 and 900"),
        ("f", "x86_64 or arm64"),
        ("f", "reserved by Lambda"),
        ("f", "not a variable name"),
        ("p", "letters, digits, hyphens and underscores"),
        ("p", "not a Lambda action"),
        ("p", "neither a service principal"),
        ("p", "not a 12-digit account id"),
        ("p", "is not an alias or version"),
        ("a", "not only digits"),
        ("a", "between 0 and 1"),
    ] {
        assert!(
            diags.iter().any(|d| d.to_string().contains(resource) && d.to_string().contains(what)),
            "missing `{what}` on {resource}: {text}"
        );
    }
}

#[derive(Clone)]
struct Feed {
    batch: i32,
    patterns: Vec<serde_json::Value>,
    enabled: bool,
}

fn feed_program(s: &Stack, dir: &Path, x: &Feed) {
    let role = s.add(
        "role",
        Role::builder()
            .name("consumer-fn")
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
    let stream = s.add("prices", Stream::builder().name("prices-feed").capacity(Capacity::Shards(1)).build());
    let f = s.add(
        "consumer",
        Function::builder()
            .name("price-consumer")
            .runtime("python3.12")
            .handler("index.handler")
            .role(role.arn.clone())
            .code(Code::Directory(dir.to_path_buf()))
            .build(),
    );
    s.add(
        "feed",
        EventSourceMapping::builder()
            .function(f.name.clone())
            .event_source_arn(stream.arn.clone())
            .starting_position(StartingPosition::Latest)
            .batch_size(x.batch)
            .maximum_retry_attempts(3)
            .bisect_batch_on_function_error(true)
            .report_batch_item_failures(true)
            .filter_patterns(x.patterns.clone())
            .enabled(x.enabled)
            .build(),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn event_source_mapping_lifecycle() {
    let h = Harness::new();
    let lambda = h.aws.lambda().await.clone();
    let code = tempfile::tempdir().unwrap();
    write_code(code.path(), "1");
    let session = |x: Feed| {
        let dir = code.path().to_path_buf();
        h.session("lambda-feed", move |s| feed_program(s, &dir, &x))
    };
    let v1 = Feed { batch: 200, patterns: vec![serde_json::json!({"data": {"symbol": ["BTC"]}})], enabled: true };
    let s = session(v1.clone());
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "lambda-feed").await;
    let recorded = &a.report.state.resources[&iac_core::Urn::new("feed")];
    let uuid = recorded.id.clone().expect("mapping recorded");
    let m = lambda.get_event_source_mapping().uuid(&uuid).send().await.unwrap();
    let stream_arn = h.aws.kinesis().await.describe_stream_summary().stream_name("prices-feed").send().await.unwrap();
    let stream_arn = stream_arn.stream_description_summary().unwrap().stream_arn().to_owned();
    assert_eq!(m.event_source_arn(), Some(stream_arn.as_str()));
    assert!(m.function_arn().unwrap().ends_with(":function:price-consumer"));
    assert_eq!(m.batch_size(), Some(200));
    assert_eq!(m.starting_position().map(|p| p.as_str()), Some("LATEST"));
    assert_eq!(m.maximum_retry_attempts(), Some(3));
    assert_eq!(m.bisect_batch_on_function_error(), Some(true));
    assert_eq!(m.state(), Some("Enabled"));
    let patterns: Vec<&str> = m.filter_criteria().unwrap().filters().iter().filter_map(|f| f.pattern()).collect();
    assert_eq!(patterns.len(), 1);
    assert_eq!(serde_json::from_str::<serde_json::Value>(patterns[0]).unwrap(), v1.patterns[0]);
    assert_no_drift(&s).await;

    // A crashed create is found by its function and source, not made twice.
    let found = iac_core::provider::Provider::find(
        &h.aws,
        iac_core::provider::FindRequest {
            type_token: "aws:lambda:EventSourceMapping",
            urn: iac_core::Urn::new("feed"),
            stack: "lambda-feed".into(),
            inputs: recorded.inputs.clone(),
            known_ids: vec![],
        },
    )
    .await
    .expect("find")
    .expect("found by function and source");
    assert_eq!(found.id, uuid);
    assert!(
        iac_core::diff::diff(&recorded.inputs, &found.inputs).is_empty(),
        "adopted as recorded: {:?}",
        found.inputs
    );

    // Batch size, filters and state change in place: the same mapping.
    let v2 = Feed { batch: 50, patterns: vec![], enabled: false };
    let s = session(v2);
    up(&s).await;
    let m = lambda.get_event_source_mapping().uuid(&uuid).send().await.unwrap();
    assert_eq!(m.batch_size(), Some(50));
    assert_eq!(m.state(), Some("Disabled"));
    assert!(m.filter_criteria().is_none_or(|f| f.filters().is_empty()), "filters cleared: {:?}", m.filter_criteria());
    assert_no_drift(&s).await;

    destroy(&s).await;
    assert!(lambda.get_event_source_mapping().uuid(&uuid).send().await.is_err(), "mapping gone");
    let left = lambda.list_event_source_mappings().send().await.unwrap();
    assert!(left.event_source_mappings().iter().all(|m| m.uuid() != Some(uuid.as_str())));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_event_source_mappings_are_refused_at_preview() {
    let h = Harness::new();
    let s = h.session("bad-feed", |s| {
        s.add(
            "queue",
            EventSourceMapping::builder()
                .function("f")
                .event_source_arn("arn:aws:sqs:us-east-1:123456789012:jobs")
                .starting_position(StartingPosition::Latest)
                .parallelization_factor(2)
                .batch_size(0)
                .build(),
        );
        s.add(
            "stream",
            EventSourceMapping::builder()
                .function("f")
                .event_source_arn("arn:aws:kinesis:us-east-1:123456789012:stream/s")
                .maximum_record_age_in_seconds(30)
                .filter_patterns(vec![serde_json::json!("not an object")])
                .build(),
        );
        s.add("bucket", EventSourceMapping::builder().function("f").event_source_arn("arn:aws:s3:::landing").build());
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    for (resource, field, what) in [
        ("queue", "startingPosition", "no starting position"),
        ("queue", "parallelizationFactor", "stream sources only"),
        ("queue", "batchSize", "outside 1–10000"),
        ("stream", "startingPosition", "needs a starting position"),
        ("stream", "maximumRecordAgeInSeconds", "neither -1"),
        ("stream", "filterPatterns", "not a JSON object"),
        ("bucket", "eventSourceArn", "not a Kinesis stream"),
    ] {
        assert!(
            diags.iter().any(|d| {
                let d = d.to_string();
                d.contains(resource) && d.contains(field) && d.contains(what)
            }),
            "missing `{what}` on {resource}.{field}: {text}"
        );
    }
}

fn alias_program(s: &Stack, dir: &Path, source: Option<&'static str>) {
    let role = s.add(
        "role",
        Role::builder()
            .name("orders-fn")
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
    let function = Function::builder()
        .name("orders")
        .runtime("python3.12")
        .handler("index.handler")
        .role(role.arn.clone())
        .code(Code::Directory(dir.to_path_buf()))
        .build();
    let sha = function.code_sha256().expect("local code");
    let f = s.add("orders", function);
    let version = s.add("orders-version", Version::builder().function(f.name.clone()).code_sha256(sha).build());
    let live = s.add(
        "live",
        Alias::builder().function(f.name.clone()).name("live").function_version(version.version.clone()).build(),
    );
    if let Some(source) = source {
        s.add_with(
            "from-api",
            Permission::builder()
                .function(f.name.clone())
                .qualifier("live")
                .statement_id("api-gateway")
                .principal("apigateway.amazonaws.com")
                .source_arn(source)
                .build(),
            iac_core::ResourceOptions::new().depends_on(live.urn()),
        );
    }
}

/// A permission on an alias: in the alias's own policy (its statement's
/// resource the alias), not the function's; kept when the alias moves to a
/// new version; a new source replaces it; removed from the alias.
#[tokio::test(flavor = "multi_thread")]
async fn alias_permission_lifecycle() {
    let h = Harness::new();
    let lambda = h.aws.lambda().await.clone();
    let code = tempfile::tempdir().unwrap();
    write_code(code.path(), "1");
    let dir = code.path().to_path_buf();
    const API_A: &str = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/*";
    const API_B: &str = "arn:aws:execute-api:us-east-1:123456789012:f6a7b8c9d0/*/*";
    let on_alias = || async {
        let p = lambda.get_policy().function_name("orders").qualifier("live").send().await.unwrap();
        let p: serde_json::Value = serde_json::from_str(p.policy().unwrap()).unwrap();
        p["Statement"].as_array().unwrap().iter().find(|s| s["Sid"] == "api-gateway").cloned().expect("statement")
    };

    let d = dir.clone();
    let s = h.session("lambda-alias", move |s| alias_program(s, &d, Some(API_A)));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "lambda-alias").await;
    assert_eq!(
        a.report.state.resources[&iac_core::Urn::new("from-api")].id.as_deref(),
        Some("orders/live/api-gateway")
    );
    let st = on_alias().await;
    assert!(st["Resource"].as_str().unwrap().ends_with(":function:orders:live"), "{st}");
    assert_eq!(st["Principal"]["Service"], "apigateway.amazonaws.com");
    assert!(st.to_string().contains("a1b2c3d4e5"), "{st}");
    assert!(lambda.get_policy().function_name("orders").send().await.is_err(), "nothing on the function itself");
    assert_no_drift(&s).await;

    // New code: the alias moves to version 2 and keeps its policy.
    write_code(code.path(), "2");
    up(&s).await;
    let live = lambda.get_alias().function_name("orders").name("live").send().await.unwrap();
    assert_eq!(live.function_version(), Some("2"));
    assert!(on_alias().await["Resource"].as_str().unwrap().ends_with(":function:orders:live"));
    assert_no_drift(&s).await;

    // Another API: the statement is replaced.
    let d = dir.clone();
    let s = h.session("lambda-alias", move |s| alias_program(s, &d, Some(API_B)));
    up(&s).await;
    let st = on_alias().await;
    assert!(st.to_string().contains("f6a7b8c9d0") && !st.to_string().contains("a1b2c3d4e5"), "{st}");
    assert_no_drift(&s).await;

    // Dropped: the alias's policy no longer holds it.
    let d = dir.clone();
    let s = h.session("lambda-alias", move |s| alias_program(s, &d, None));
    up(&s).await;
    let left = lambda.get_policy().function_name("orders").qualifier("live").send().await;
    assert!(left.map_or(true, |p| !p.policy().unwrap_or_default().contains("api-gateway")), "statement removed");

    destroy(&s).await;
    assert!(lambda.get_function().function_name("orders").send().await.is_err(), "function gone");
}
