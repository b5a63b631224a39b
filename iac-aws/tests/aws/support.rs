//! The emulator harness: sessions against the test binary's moto server
//! (`iac_tests`), which fails the test, never skips it, when it
//! cannot start.

use std::sync::Arc;

use iac_aws::{AwsProvider, AwsSettings};
use iac_core::ops::{Applied, RunOptions, Session};
use iac_core::provider::{FindRequest, Provider, ReadRequest, ReadResult};
use iac_core::state::local::LocalBackend;
use iac_core::state::ResourceState;
use iac_core::{Stack, Urn};
use iac_tests::moto;

/// A provider pointed at the emulator with dummy credentials.
pub fn provider() -> AwsProvider {
    // `RUST_LOG=aws_smithy_runtime=debug` shows the SDK's attempts.
    if std::env::var_os("RUST_LOG").is_some() {
        use tracing_subscriber::prelude::*;
        let directives = std::env::var("RUST_LOG").unwrap_or_default();
        let filter: tracing_subscriber::filter::Targets =
            directives.parse().expect("RUST_LOG as target=level directives");
        let fmt = tracing_subscriber::fmt::layer().with_test_writer();
        let _ = tracing_subscriber::registry().with(fmt).with(filter).try_init();
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

/// The identity a session of `stack_tag` tags with, `<project>/<stack>`
/// (a tag read from the cloud is that already).
fn identity(stack_tag: &str) -> String {
    if stack_tag.contains('/') {
        stack_tag.to_owned()
    } else {
        format!("aws-test/{stack_tag}")
    }
}

/// The resource `name` as `a` recorded it.
pub fn recorded<'a>(a: &'a Applied, name: &str) -> &'a ResourceState {
    a.report.state.resources.get(&Urn::new(name)).unwrap_or_else(|| panic!("{name} is recorded"))
}

/// `find` for the recorded resource `r`, under `identity` and `urn`, with
/// the state already recording `known`.
async fn find_knowing(h: &Harness, r: &ResourceState, identity: &str, urn: &str, known: &[&str]) -> Option<ReadResult> {
    let req = FindRequest {
        type_token: Box::leak(r.type_token.clone().into_boxed_str()),
        urn: Urn::new(urn),
        stack: identity.to_owned(),
        inputs: r.inputs.clone(),
        known_ids: known.iter().map(|k| (*k).to_owned()).collect(),
    };
    h.aws.find(req).await.unwrap_or_else(|e| panic!("find {urn} knowing {known:?}: {e}"))
}

/// Whether the cloud still holds the recorded resource `r` (the handler's
/// describe calls).
async fn in_cloud(h: &Harness, r: &ResourceState) -> bool {
    let req = ReadRequest {
        type_token: Box::leak(r.type_token.clone().into_boxed_str()),
        urn: r.urn.clone(),
        id: r.id.clone().expect("an id"),
        inputs: r.inputs.clone(),
        outputs: r.outputs.clone(),
    };
    h.aws.read(req).await.unwrap_or_else(|e| panic!("read {}: {e}", r.urn)).is_some()
}

/// A resource `up` created is found again by its identity tags, as a create
/// whose run died before recording it would be; under another identity it
/// is not; and once the state records it, never (it is still there, but a
/// find must look past the copies the state records: during a replace the
/// old copy carries the same identity).
#[allow(dead_code)]
pub async fn assert_adoptable(h: &Harness, a: &Applied, stack_tag: &str, name: &str) {
    let r = recorded(a, name);
    let identity = identity(stack_tag);
    let found = find_knowing(h, r, &identity, name, &[]).await;
    assert_eq!(found.as_ref().map(|f| &f.id), r.id.as_ref(), "{name} found by its identity tags");
    let found = found.unwrap();
    assert!(
        iac_core::diff::diff(&r.inputs, &found.inputs).is_empty(),
        "{name} adopted as recorded: {:?}",
        found.inputs
    );
    let other = find_knowing(h, r, &identity, &format!("{name}-other"), &[]).await;
    assert!(other.is_none(), "{name} is not found under another identity");
    let id = r.id.as_deref().unwrap();
    let again = find_knowing(h, r, &identity, name, &[id]).await;
    assert!(again.is_none(), "{name}: find answered {:?}, which the state already records", again.map(|f| f.id));
    assert!(in_cloud(h, r).await, "{name} is still in the cloud");
}

/// Types whose handler has no `find`: a deployment has neither a name nor
/// tags (one a lost create leaves behind is unused, and goes with its API).
const NOT_FINDABLE: &[&str] = &["aws:apigateway:Deployment"];

/// For every resource of the `aws` provider that `up` recorded, taggable
/// or found by a natural key: `find` answers with it while the state does
/// not record it, and with nothing once it does, though the cloud still
/// holds it (a test's stack holds one copy of each).
#[allow(dead_code)]
pub async fn assert_find_skips_known(h: &Harness, a: &Applied, stack_tag: &str) {
    let identity = identity(stack_tag);
    let mut checked = std::collections::BTreeSet::new();
    for r in a.report.state.resources.values().filter(|r| r.provider == "aws") {
        let (Some(id), name) = (r.id.as_deref(), r.urn.as_str()) else { continue };
        if NOT_FINDABLE.contains(&r.type_token.as_str()) {
            continue;
        }
        let found = find_knowing(h, r, &identity, name, &[]).await;
        assert_eq!(found.map(|f| f.id).as_deref(), Some(id), "{name} ({}) is found while unrecorded", r.type_token);
        let again = find_knowing(h, r, &identity, name, &[id]).await;
        assert!(
            again.is_none(),
            "{name} ({}): find answered {:?}, which the state already records",
            r.type_token,
            again.map(|f| f.id)
        );
        assert!(in_cloud(h, r).await, "{name} is still in the cloud");
        checked.insert(r.type_token.clone());
    }
    eprintln!("find skips known ids of {checked:?}");
}

/// `first` (recorded by a state) and the cloud resource `second` are two
/// copies of one resource with one identity, as a create-before-delete
/// replace killed after its create leaves them: `find` looks past whichever
/// copies the state records to the other, and finds nothing when it
/// records both.
#[allow(dead_code)]
pub async fn assert_finds_the_twin(h: &Harness, stack_tag: &str, first: &ResourceState, second: &str) {
    let identity = identity(stack_tag);
    let name = first.urn.as_str();
    let id1 = first.id.as_deref().unwrap();
    assert_ne!(id1, second, "{name}: two copies");
    let copy = ResourceState { id: Some(second.to_owned()), ..first.clone() };
    assert!(in_cloud(h, first).await && in_cloud(h, &copy).await, "{name}: the cloud holds both copies");
    for (known, want) in [(vec![id1], Some(second)), (vec![second], Some(id1)), (vec![id1, second], None)] {
        let found = find_knowing(h, first, &identity, name, &known).await.map(|f| f.id);
        assert_eq!(found.as_deref(), want, "{name}: the state knowing {known:?}, find answers the other copy");
    }
    let either = find_knowing(h, first, &identity, name, &[]).await.map(|f| f.id);
    assert!(either.as_deref() == Some(id1) || either.as_deref() == Some(second), "{name}: found {either:?}");
}
