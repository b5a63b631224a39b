//! One moto server per test process on a free loopback port, started on
//! first use, killed when the process ends. Tests fail, never skip, when it
//! cannot start.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running emulator.
pub struct Moto {
    /// Its URL (`http://127.0.0.1:<port>`), for `AWS_ENDPOINT_URL`.
    pub endpoint: String,
    /// The same emulator behind the fault-injecting layer
    /// (`emulator/moto_faults.py`):
    /// see [`Moto::set_faults`].
    pub faults_endpoint: String,
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

    /// Like [`Moto::env`], through the fault-injecting endpoint.
    pub fn faulty_env(&self) -> Vec<(&'static str, String)> {
        let mut env = self.env();
        env[0].1 = self.faults_endpoint.clone();
        env
    }

    /// Sets what the fault-injecting endpoint injects (a JSON document, see
    /// `moto_faults.py`: shares of `throttle`, `error`, `stall` and `lost`
    /// responses, `lost_operations` and `lost_once`, a `seed`, an operation
    /// to `fail` for good) and clears its counts.
    pub fn set_faults(&self, config: &serde_json::Value) {
        self.faults_call("POST", &config.to_string());
    }

    /// What the fault-injecting endpoint injected since it was last set:
    /// counts by kind (`throttle`, `error`, `stall`, `lost`, `fail`,
    /// `passed`) and by `operations` (`kind:Operation`).
    pub fn faults_injected(&self) -> serde_json::Value {
        self.faults_call("GET", "")
    }

    fn faults_call(&self, method: &str, body: &str) -> serde_json::Value {
        use std::io::{Read, Write};
        let addr = self.faults_endpoint.trim_start_matches("http://");
        let mut conn = TcpStream::connect(addr).expect("the fault endpoint");
        write!(conn, "{method} /__faults HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {}\r\n\r\n{body}", body.len())
            .expect("write to the fault endpoint");
        let mut resp = String::new();
        conn.read_to_string(&mut resp).expect("read the fault endpoint");
        let json = resp.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        serde_json::from_str(json).unwrap_or_else(|e| panic!("fault endpoint answered {resp:?}: {e}"))
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
/// CodeDeploy, OpenSearch Serverless and Bedrock calls it lacks, emulated,
/// S3's conditional writes made atomic, client tokens honoured, the
/// tagging API answering ARN lists whole and ECR repositories, and a
/// second, fault-injecting endpoint (see each script's comments).
/// `moto_tokens.py` uses `moto_faults.py`'s `_Call`, so it comes after it.
const MOTO_FIXES: &str = concat!(
    include_str!("../emulator/moto_conditional.py"),
    "\n",
    include_str!("../emulator/moto_faults.py"),
    "\n",
    include_str!("../emulator/moto_tokens.py"),
    "\n",
    include_str!("../emulator/moto_elasticache.py"),
    "\n",
    include_str!("../emulator/moto_deploy.py"),
    "\n",
    include_str!("../emulator/moto_tagging.py"),
    "\n",
    include_str!("../emulator/moto_fixes.py")
);

/// The process's emulator, started on first use. Panics with the reason
/// when it cannot start.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let bin = moto_binary();
        // Both held while the second is picked, so they differ.
        let bind = || TcpListener::bind("127.0.0.1:0").expect("a free port");
        let (a, b) = (bind(), bind());
        let port_of = |l: &TcpListener| l.local_addr().expect("a bound port").port();
        let (port, faults_port) = (port_of(&a), port_of(&b));
        drop((a, b));
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
            .env("IAC_MOTO_FAULTS_PORT", faults_port.to_string())
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
        while TcpStream::connect(("127.0.0.1", port)).is_err()
            || TcpStream::connect(("127.0.0.1", faults_port)).is_err()
        {
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
        Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            faults_endpoint: format!("http://127.0.0.1:{faults_port}"),
            _child: child,
            _lifeline: lifeline,
        }
    })
}
