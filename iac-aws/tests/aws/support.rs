//! The emulator harness: sessions against the test binary's moto server
//! (`iac_aws::testing`), which fails the test, never skips it, when it
//! cannot start.

use std::sync::Arc;

use iac_aws::testing::moto;
use iac_aws::{AwsProvider, AwsSettings};
use iac_core::ops::{RunOptions, Session};
use iac_core::state::local::LocalBackend;
use iac_core::Stack;

/// A provider pointed at the emulator with dummy credentials.
pub fn provider() -> AwsProvider {
    // `RUST_LOG=aws_smithy_runtime=debug` shows the SDK's attempts.
    if std::env::var_os("RUST_LOG").is_some() {
        let filter = tracing_subscriber::EnvFilter::from_default_env();
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    }
    let m = moto();
    // The SDK's default chain reads these; they name nothing real.
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    // Stacks holding secrets seal them under this passphrase.
    std::env::set_var("IAC_PASSPHRASE", "emulator-tests-only");
    AwsProvider::new(AwsSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some(m.endpoint.clone()),
        ..Default::default()
    })
}

/// A session over a temp state dir whose program is `program`, with the
/// emulator's provider registered as `aws`.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub aws: AwsProvider,
}

impl Harness {
    pub fn new() -> Harness {
        Harness { dir: tempfile::tempdir().expect("temp dir"), aws: provider() }
    }

    pub fn session(&self, stack: &str, program: impl Fn(&Stack) + Send + Sync + 'static) -> Session {
        let aws = self.aws.clone();
        Session {
            project: "aws-test".into(),
            stack: stack.into(),
            config_dir: self.dir.path().join("config"),
            backend: Arc::new(LocalBackend::new(self.dir.path().join("state"))),
            program: Arc::new(move |s: &Stack| {
                s.provider("aws", aws.clone());
                program(s);
                Ok(())
            }),
            // Retries are shown with a failing test's output: a retried
            // create is where duplicates come from.
            observer: Arc::new(|e| {
                if let iac_core::engine::Event::Retrying { urn, error, attempt, .. } = e {
                    eprintln!("retrying {urn} (attempt {attempt}): {error}");
                }
            }),
        }
    }
}

pub fn opts() -> RunOptions {
    RunOptions { parallel: 8, ..RunOptions::default() }
}

/// `up` that must fully succeed.
pub async fn up(s: &Session) -> iac_core::ops::Applied {
    let a = s.up(&opts(), None, &mut |_, _| Ok(true)).await.expect("up");
    assert!(a.report.failures.is_empty(), "up failed: {:?}", a.report.failures);
    a
}

/// `destroy` that must fully succeed.
pub async fn destroy(s: &Session) {
    let a = s.destroy(&opts(), &mut |_, _| Ok(true)).await.expect("destroy");
    assert!(a.report.failures.is_empty(), "destroy failed: {:?}", a.report.failures);
}

/// `preview --refresh` must show no changes (no drift, no perpetual diff).
pub async fn assert_no_drift(s: &Session) {
    let p = s.preview(&RunOptions { refresh: true, ..opts() }).await.expect("preview --refresh");
    let changes: Vec<String> = p
        .plan
        .changes()
        .map(|st| format!("{} {} {:?}", st.op.marker(), st.urn, st.diffs.iter().map(|d| &d.path).collect::<Vec<_>>()))
        .collect();
    assert!(changes.is_empty(), "expected no changes after refresh, got {changes:?}; drift {:?}", p.drift);
}

/// A unique suffix for names that must be unique in the emulator's account.
#[allow(dead_code)]
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}-{}-{}", std::process::id() % 100000, N.fetch_add(1, Ordering::SeqCst))
}

/// Every file under `dir` (state, journal, config), to search for leaked
/// secrets.
pub fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A resource `up` created is found again by its identity tags, as a create
/// whose run died before recording it would be; under another identity it
/// is not.
#[allow(dead_code)]
pub async fn assert_adoptable(h: &Harness, a: &iac_core::ops::Applied, stack_tag: &str, name: &str) {
    use iac_core::provider::{FindRequest, Provider};
    use iac_core::Urn;
    let r = &a.report.state.resources[&Urn::new(name)];
    let token: &'static str = Box::leak(r.type_token.clone().into_boxed_str());
    // Sessions here tag with `<project>/<stack>`; a tag read from the cloud
    // is that already.
    let identity = if stack_tag.contains('/') { stack_tag.to_owned() } else { format!("aws-test/{stack_tag}") };
    let find = |urn: &str| FindRequest {
        type_token: token,
        urn: Urn::new(urn),
        stack: identity.clone(),
        inputs: r.inputs.clone(),
        known_ids: vec![],
    };
    let found = h.aws.find(find(name)).await.unwrap_or_else(|e| panic!("find {name}: {e}"));
    assert_eq!(found.as_ref().map(|f| &f.id), r.id.as_ref(), "{name} found by its identity tags");
    let found = found.unwrap();
    assert!(
        iac_core::diff::diff(&r.inputs, &found.inputs).is_empty(),
        "{name} adopted as recorded: {:?}",
        found.inputs
    );
    let other = h.aws.find(find(&format!("{name}-other"))).await.unwrap_or_else(|e| panic!("find {name}: {e}"));
    assert!(other.is_none(), "{name} is not found under another identity");
}
