//! The emulator harness: one moto server per test binary on a free loopback
//! port, started on first use. Tests fail (never skip) if it cannot start.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use iac_aws::{AwsProvider, AwsSettings};
use iac_core::ops::{RunOptions, Session};
use iac_core::state::local::LocalBackend;
use iac_core::Stack;

pub struct Moto {
    pub endpoint: String,
    _child: Child,
    /// Held open for the life of the test process: when the process ends, for
    /// whatever reason, the pipe closes and the watchdog shell kills moto.
    _lifeline: std::process::ChildStdin,
}

fn moto_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("IAC_MOTO_SERVER") {
        return PathBuf::from(p);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    root.join(".venv/bin/moto_server")
}

/// The shared emulator. Panics with the reason when it cannot start.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let bin = moto_binary();
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let log = std::env::temp_dir().join(format!("iac-moto-{port}.log"));
        // `sh` starts moto, then waits for its stdin (our pipe) to close.
        let mut child = Command::new("sh")
            .args(["-c", r#""$0" "$@" </dev/null & m=$!; read _; kill $m"#])
            .arg(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            // Moto logs every request; a pipe nobody reads would fill and stall it.
            .stderr(std::fs::File::create(&log).expect("moto log file"))
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start the AWS emulator {}: {e}. Run the tests with ./scripts/test, which installs it",
                    bin.display()
                )
            });
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if !bin.exists() {
                panic!(
                    "the AWS emulator {} is not installed. Run the tests with ./scripts/test, which installs it",
                    bin.display()
                );
            }
            if let Ok(Some(status)) = child.try_wait() {
                let err = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("the AWS emulator exited ({status}): {err}");
            }
            assert!(started.elapsed() < Duration::from_secs(30), "the AWS emulator did not listen within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        let lifeline = child.stdin.take().expect("piped stdin");
        Moto { endpoint: format!("http://127.0.0.1:{port}"), _child: child, _lifeline: lifeline }
    })
}

/// A provider pointed at the emulator with dummy credentials.
pub fn provider() -> AwsProvider {
    let m = moto();
    // The SDK's default chain reads these; they name nothing real.
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
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
            observer: Arc::new(|_| {}),
        }
    }
}

pub fn opts() -> RunOptions {
    RunOptions { refresh: false, targets: vec![], parallel: 8 }
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
