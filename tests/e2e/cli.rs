//! Runs a stack binary as a user runs it: its own working directory (so its
//! own local state), a copy of its config files that a test may edit, and
//! the emulator's endpoint and dummy credentials — or, offline, no AWS
//! set-up at all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use iac_aws::{AwsProvider, AwsSettings};
use iac_tests::moto;

/// One stack of one program, in a temp dir.
pub struct StackRun {
    pub dir: tempfile::TempDir,
    bin: PathBuf,
    stack: String,
    /// Set for every command (a backend, say).
    env: Vec<(String, String)>,
}

impl StackRun {
    /// Binary `bin` (a name, see [`crate::bins`]) on stack `stack`, with the
    /// config files of `config_dir` copied in.
    pub fn new(bin: &str, config_dir: &str, stack: &str) -> StackRun {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("config")).unwrap();
        for entry in std::fs::read_dir(config_dir).expect("config dir") {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.path().join("config").join(path.file_name().unwrap())).unwrap();
        }
        StackRun { dir, bin: crate::bins::path(bin).into(), stack: stack.into(), env: Vec::new() }
    }

    /// `bin` on stack `stack`, whose config file holds `config`.
    pub fn with_config(bin: &str, stack: &str, config: &str) -> StackRun {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("config")).unwrap();
        std::fs::write(dir.path().join("config").join(format!("{stack}.toml")), config).unwrap();
        StackRun { dir, bin: crate::bins::path(bin).into(), stack: stack.into(), env: Vec::new() }
    }

    /// Sets `key` to `value` for every command of this run.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.push((key.to_owned(), value.to_owned()));
    }

    /// The stack's config file (to edit).
    pub fn config_file(&self) -> PathBuf {
        self.dir.path().join("config").join(format!("{}.toml", self.stack))
    }

    /// Replaces the first `from` after `after` in the config file.
    pub fn edit_config(&self, after: &str, from: &str, to: &str) {
        let path = self.config_file();
        let text = std::fs::read_to_string(&path).unwrap();
        let start = text.find(after).unwrap_or_else(|| panic!("`{after}` in {}", path.display()));
        let at = start + text[start..].find(from).unwrap_or_else(|| panic!("`{from}` after `{after}`"));
        let edited = format!("{}{to}{}", &text[..at], &text[at + from.len()..]);
        std::fs::write(&path, edited).unwrap();
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(["--stack", &self.stack]).args(args).current_dir(self.dir.path()).env("NO_COLOR", "1");
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") || k.starts_with("IAC_") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        cmd.env("IAC_CONFIG_DIR", self.dir.path().join("config"));
        cmd.env("IAC_PASSPHRASE", "stacks-tests-only");
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    fn run(&self, mut cmd: Command, args: &[&str]) -> Output {
        let out = cmd.output().expect("run the stack binary");
        eprintln!(
            "$ {} --stack {} {} → {}\n{}{}",
            self.bin.file_name().unwrap().to_string_lossy(),
            self.stack,
            args.join(" "),
            out.status,
            tail(&String::from_utf8_lossy(&out.stdout)),
            tail(&String::from_utf8_lossy(&out.stderr)),
        );
        out
    }

    /// Against the emulator.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_with(&[], args)
    }

    /// Against the emulator, with extra environment variables.
    pub fn cli_with(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let mut cmd = self.command(args);
        cmd.envs(moto().env()).envs(env.iter().copied());
        self.run(cmd, args)
    }

    /// Against the emulator's fault-injecting endpoint.
    pub fn faulty(&self, args: &[&str]) -> Output {
        self.faulty_with(&[], args)
    }

    /// Against the emulator's fault-injecting endpoint, with extra
    /// environment variables.
    pub fn faulty_with(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let mut cmd = self.command(args);
        cmd.envs(moto().faulty_env()).envs(env.iter().copied());
        self.run(cmd, args)
    }

    /// Starts a run against the emulator without waiting for it (to kill
    /// it mid-run); its output is discarded.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.spawn_to(args, std::process::Stdio::null, std::process::Stdio::null)
    }

    /// Starts a run against the emulator without waiting for it, its output
    /// captured.
    pub fn spawn_captured(&self, args: &[&str]) -> std::process::Child {
        self.spawn_to(args, std::process::Stdio::piped, std::process::Stdio::piped)
    }

    fn spawn_to(
        &self,
        args: &[&str],
        stdout: fn() -> std::process::Stdio,
        stderr: fn() -> std::process::Stdio,
    ) -> std::process::Child {
        let mut cmd = self.command(args);
        cmd.envs(moto().env()).stdout(stdout()).stderr(stderr());
        cmd.spawn().expect("start the stack binary")
    }

    /// With no AWS set-up at all: no credentials, region or endpoint.
    pub fn offline(&self, args: &[&str]) -> Output {
        let mut cmd = self.command(args);
        // Nothing to read: no profile files, no instance metadata.
        cmd.env("AWS_CONFIG_FILE", "/dev/null").env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
        cmd.env("AWS_EC2_METADATA_DISABLED", "true");
        self.run(cmd, args)
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(out.status.success(), "`{}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `preview --refresh --detailed-exitcode` must exit 0: nothing drifted
    /// and nothing to change.
    pub fn assert_converged(&self) {
        let out = self.cli(&["preview", "--refresh", "--detailed-exitcode", "--diff"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "not converged:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The fault-injecting endpoint's settings and counts are process-wide:
/// the tests that use it hold this.
pub static FAULT_ENDPOINT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The last lines of a long output (a failing test shows what matters).
pub fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(40);
    let mut t = lines[from..].join("\n");
    if !t.is_empty() {
        t.push('\n');
    }
    t
}

/// A provider on the emulator, for checking what the cloud holds.
pub fn aws() -> AwsProvider {
    let m = moto();
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    AwsProvider::new(AwsSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some(m.endpoint.clone()),
        ..Default::default()
    })
}

/// A provider on the emulator in `region`, for stacks deployed outside
/// us-east-1.
pub fn aws_in(region: &str) -> AwsProvider {
    let m = moto();
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    AwsProvider::new(AwsSettings {
        region: Some(region.into()),
        endpoint_url: Some(m.endpoint.clone()),
        ..Default::default()
    })
}

/// The config directory of a platform (`stacks/config/<program>`).
pub fn config_dir(program: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../stacks/config").join(program).to_string_lossy().into_owned()
}

/// Every command's output, to search for the token.
pub struct Recorder<'a> {
    pub run: &'a StackRun,
    pub seen: String,
}

impl Recorder<'_> {
    pub fn keep(&mut self, out: Output) -> Output {
        self.seen.push_str(&String::from_utf8_lossy(&out.stdout));
        self.seen.push_str(&String::from_utf8_lossy(&out.stderr));
        out
    }

    pub fn offline(&mut self, args: &[&str]) -> Output {
        let out = self.run.offline(args);
        self.keep(out)
    }

    pub fn cli(&mut self, args: &[&str]) -> Output {
        let out = self.run.cli(args);
        self.keep(out)
    }

    /// Runs against the emulator and asserts success; returns stdout.
    pub fn ok(&mut self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(out.status.success(), "`{}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `preview --refresh --detailed-exitcode` exits 0.
    pub fn converged(&mut self) {
        let out = self.cli(&["preview", "--refresh", "--detailed-exitcode", "--diff"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "not converged:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Every file under `dir`, recursively, with its bytes.
pub fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// Every file under `dir` holding `needle`.
pub fn files_holding(dir: &Path, needle: &[u8], found: &mut Vec<String>) {
    for (path, bytes) in files(dir) {
        if bytes.windows(needle.len()).any(|w| w == needle) {
            found.push(path.display().to_string());
        }
    }
}
