//! Shared harness: a temp directory holding state and config, one in-memory
//! cloud, and sessions whose program is a closure.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use iac_core::engine::Event;
use iac_core::ops::{Applied, RunOptions, Session};
use iac_core::state::local::LocalBackend;
use iac_core::state::State;
use iac_core::testing::{FaultyBackend, TestProvider};
use iac_core::{Error, Stack};

pub struct H {
    pub dir: tempfile::TempDir,
    pub cloud: TestProvider,
    /// The state's backend: local, with faults on demand, stopped with the
    /// cloud when a run is killed.
    pub backend: Arc<FaultyBackend>,
    pub events: Arc<Mutex<Vec<Event>>>,
}

impl H {
    pub fn new() -> H {
        // Stacks with secrets seal them under this passphrase; set once,
        // before any test reads it.
        static PASSPHRASE: std::sync::Once = std::sync::Once::new();
        PASSPHRASE.call_once(|| std::env::set_var("IAC_PASSPHRASE", "engine-tests"));
        let dir = tempfile::tempdir().unwrap();
        let cloud = TestProvider::new();
        let local = Arc::new(LocalBackend::new(dir.path().join("state")));
        let backend = Arc::new(FaultyBackend::new(local, cloud.kill_switch()));
        H { dir, cloud, backend, events: Arc::default() }
    }

    /// After a run killed in process: the world starts again, faults gone.
    pub fn restart(&self) {
        self.cloud.clear_faults();
        self.backend.clear_faults();
        self.cloud.kill_switch().release();
    }

    pub fn session(&self, program: impl Fn(&Stack) -> Result<(), Error> + Send + Sync + 'static) -> Session {
        let cloud = self.cloud.clone();
        let events = self.events.clone();
        Session {
            project: "spec".into(),
            stack: "dev".into(),
            config_dir: self.dir.path().join("config"),
            backend: self.backend.clone(),
            program: Arc::new(move |s: &Stack| {
                s.provider("test", cloud.clone());
                program(s).map_err(Into::into)
            }),
            observer: Arc::new(move |e: &Event| events.lock().unwrap().push(e.clone())),
        }
    }

    pub fn snapshot_path(&self) -> PathBuf {
        self.dir.path().join("state/dev/snapshot.json")
    }

    pub fn journal_path(&self) -> PathBuf {
        self.dir.path().join("state/dev/journal.jsonl")
    }

    /// Cloud resources by identity (each identity must appear once).
    pub fn cloud_by_urn(&self) -> std::collections::BTreeMap<String, String> {
        let mut out = std::collections::BTreeMap::new();
        for (id, r) in self.cloud.inventory() {
            assert!(out.insert(r.urn.clone(), id).is_none(), "duplicate in the cloud: {}", r.urn);
        }
        out
    }

    /// The cloud holds exactly what the state records, id for id.
    pub fn assert_cloud_matches(&self, state: &State) {
        let cloud = self.cloud_by_urn();
        let recorded: std::collections::BTreeMap<String, String> =
            state.resources.values().filter_map(|r| r.id.clone().map(|id| (r.urn.to_string(), id))).collect();
        assert_eq!(cloud, recorded, "cloud and state disagree");
    }
}

pub fn opts() -> RunOptions {
    RunOptions { parallel: 8, ..RunOptions::default() }
}

pub async fn up(s: &Session) -> Applied {
    let a = s.up(&opts(), None, &mut |_, _| Ok(true)).await.expect("up");
    assert!(a.report.failures.is_empty(), "up failed: {:?}", a.report.failures);
    a
}

pub async fn destroy(s: &Session) -> Applied {
    s.destroy(&opts(), &mut |_, _| Ok(true)).await.expect("destroy")
}

/// Index of the first call-log line equal to `line`.
pub fn pos(log: &[String], line: &str) -> usize {
    log.iter().position(|l| l == line).unwrap_or_else(|| panic!("`{line}` not in call log {log:?}"))
}

/// Every file under `dir` with its bytes.
pub fn files(dir: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.display().to_string(), std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    out
}

/// No file under `dir` (state, journal, backup, config) holds `secret` in
/// plaintext.
pub fn assert_no_plaintext(dir: &std::path::Path, secret: &str) {
    for (path, bytes) in files(dir) {
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "plaintext secret in {path}");
    }
}
