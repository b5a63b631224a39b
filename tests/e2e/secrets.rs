//! Secrets never appear in plaintext. The IPRS platform — secret config
//! (the database master password) and a secret output (`database_url`,
//! which embeds it) — is deployed, refreshed, read and destroyed with its
//! state in the emulator's S3 (the team backend) and every command logging
//! at `RUST_LOG=trace`. Then every state object in S3 (snapshot, journal,
//! lock), every local file (config, anything left behind), every command's
//! output, human and `--json`, and every log line are searched for the
//! password, raw and as the URL encodes it: none may hold it.

use crate::cli::*;

const IPRS: &str = "iprs-platform";
const PASSWORD: &str = "Sweep-Secret-Pa55word-9e2b!";
const ENCODED: &str = "Sweep-Secret-Pa55word-9e2b%21";
const BUCKET: &str = "iac-secrets-sweep-state";

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_in_state_journal_backend_output_or_logs() {
    let run = StackRun::new(IPRS, &config_dir("iprs-platform"), "sweep");
    let dev = std::fs::read_to_string(run.dir.path().join("config").join("dev.toml")).unwrap();
    std::fs::write(run.config_file(), dev.replace("environment = \"dev\"", "environment = \"sweep\"")).unwrap();
    let aws = aws();
    let s3 = aws.s3().await;
    s3.create_bucket().bucket(BUCKET).send().await.expect("the state bucket");
    let backend = format!("s3://{BUCKET}/teams");
    let env = [("IAC_BACKEND", backend.as_str()), ("RUST_LOG", "trace")];

    let mut seen = String::new();
    let mut ok = |args: &[&str]| {
        let out = run.cli_with(&env, args);
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "`{}` failed: {}", args.join(" "), tail(&stderr));
        seen.push_str(&stdout);
        seen.push_str(&stderr);
        stdout.into_owned()
    };
    ok(&["config", "set", "--secret", "db_master_password", PASSWORD]);
    ok(&["preview"]);
    ok(&["preview", "--json"]);
    ok(&["up", "--yes"]);
    run.edit_config("[services.marketdata]", "desired_count = 1", "desired_count = 2");
    ok(&["up", "--yes", "--json"]);
    ok(&["preview", "--refresh", "--diff"]);
    ok(&["preview", "--refresh", "--json"]);
    ok(&["output"]);
    ok(&["output", "--json"]);
    let url = ok(&["output", "database_url"]);
    assert!(!url.contains("postgresql://"), "database_url is masked: {url}");
    ok(&["state", "list"]);

    // The state in S3, while the stack stands.
    let mut objects = backend_objects(s3).await;
    assert!(objects.iter().any(|(k, _)| k.ends_with("snapshot.json")), "{:?}", keys(&objects));
    ok(&["destroy", "--yes", "--json"]);
    objects.extend(backend_objects(s3).await);

    // The logs were on: the SDK's requests are in them.
    assert!(seen.contains("TRACE") && seen.contains("aws_smithy"), "RUST_LOG=trace logged nothing");
    for needle in [PASSWORD, ENCODED] {
        let mut found: Vec<String> = Vec::new();
        files_holding(run.dir.path(), needle.as_bytes(), &mut found);
        for (key, bytes) in &objects {
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                found.push(format!("s3://{BUCKET}/{key}"));
            }
        }
        assert!(found.is_empty(), "`{needle}` in plaintext in {found:?}");
        if let Some(at) = seen.find(needle) {
            let line = seen[..at].rsplit('\n').next().unwrap_or_default();
            panic!("`{needle}` in plaintext in a command's output or log, at: {line}");
        }
    }
}

/// Every object of the backend bucket with its bytes.
async fn backend_objects(s3: &aws_sdk_s3::Client) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let listed = s3.list_objects_v2().bucket(BUCKET).send().await.expect("ListObjectsV2");
    for o in listed.contents() {
        let key = o.key().unwrap_or_default().to_owned();
        let body = s3.get_object().bucket(BUCKET).key(&key).send().await.expect("GetObject").body;
        out.push((key, body.collect().await.unwrap().into_bytes().to_vec()));
    }
    out
}

fn keys(objects: &[(String, Vec<u8>)]) -> Vec<&str> {
    objects.iter().map(|(k, _)| k.as_str()).collect()
}
