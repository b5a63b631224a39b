//! The AWS emulator for tests (feature `testing`): one moto server per test
//! process on a free loopback port, started on first use, killed when the
//! process ends. Tests fail, never skip, when it cannot start.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running emulator.
pub struct Moto {
    /// Its URL (`http://127.0.0.1:<port>`), for `AWS_ENDPOINT_URL`.
    pub endpoint: String,
    _child: Child,
    /// Held open for the life of the test process: when the process ends, for
    /// whatever reason, the pipe closes and the watchdog shell kills moto.
    _lifeline: std::process::ChildStdin,
}

impl Moto {
    /// The environment a child process (a stack binary) needs to talk to
    /// the emulator with dummy credentials, and to nothing else.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_CONFIG_FILE", "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
        ]
    }
}

/// Where moto's server is: `IAC_MOTO_SERVER`, else the workspace's `.venv`
/// (which `./scripts/test` creates).
fn moto_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("IAC_MOTO_SERVER") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server")
}

/// Moto's server with the harness's fixes for where moto answers AWS
/// calls differently from AWS, after the ElastiCache, AppConfig,
/// CodeDeploy, OpenSearch Serverless and Bedrock calls it lacks, emulated
/// (see each script's comments).
const MOTO_FIXES: &str = concat!(
    include_str!("moto_elasticache.py"),
    "\n",
    include_str!("moto_deploy.py"),
    "\n",
    include_str!("moto_fixes.py")
);

/// The process's emulator, started on first use. Panics with the reason
/// when it cannot start.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let bin = moto_binary();
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let log = std::env::temp_dir().join(format!("iac-moto-{port}.log"));
        // `sh` starts moto, then waits for its stdin (our pipe) to close.
        let mut child = Command::new("sh")
            .args(["-c", r#""$0" "$@" </dev/null & m=$!; read _; kill $m"#])
            // The virtualenv's interpreter, next to its `moto_server`.
            .arg(bin.with_file_name("python3"))
            .args(["-c", MOTO_FIXES, "-H", "127.0.0.1", "-p", &port.to_string()])
            // AWS's managed policies (AmazonECSTaskExecutionRolePolicy, …)
            // exist in every account; moto loads them only when asked.
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
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
