//! Scenarios through the real command line (`iac-test-stack`): exit codes,
//! crashes and recovery, malformed state, secrets.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_iac-test-stack");
const SECRET: &str = "hunter2-SECRET-value";

struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    fn new() -> Dir {
        let d = Dir { tmp: tempfile::tempdir().unwrap() };
        std::fs::create_dir_all(d.path().join("config")).unwrap();
        d
    }
    fn path(&self) -> &Path {
        self.tmp.path()
    }
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .current_dir(self.path())
            .env("IAC_TEST_CLOUD", self.path().join("cloud.json"))
            .env("IAC_TEST_CONFIG_DIR", self.path().join("config"))
            .env("IAC_PASSPHRASE", "correct horse battery staple")
            .env_remove("IAC_BACKEND")
            .env_remove("IAC_STACK")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        c
    }
    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(o.status.success(), "{args:?} failed: {}{}", text(&o.stdout), text(&o.stderr));
        text(&o.stdout)
    }
    fn state_dir(&self) -> PathBuf {
        self.path().join(".iac/test-stack/dev")
    }
    fn snapshot(&self) -> PathBuf {
        self.state_dir().join("snapshot.json")
    }
    fn cloud(&self) -> serde_json::Value {
        std::fs::read(self.path().join("cloud.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(serde_json::json!({"resources": {}}))
    }
    /// Cloud inventory as (urn → id), asserting no identity appears twice.
    fn inventory(&self) -> std::collections::BTreeMap<String, String> {
        let mut out = std::collections::BTreeMap::new();
        for (id, r) in self.cloud()["resources"].as_object().unwrap() {
            let urn = r["urn"].as_str().unwrap().to_owned();
            assert!(out.insert(urn.clone(), id.clone()).is_none(), "duplicate in the cloud: {urn}");
        }
        out
    }
    /// The state as (urn → id) for resources that have ids.
    fn recorded(&self) -> std::collections::BTreeMap<String, String> {
        let snap: serde_json::Value = serde_json::from_slice(&std::fs::read(self.snapshot()).unwrap()).unwrap();
        snap["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| Some((r["urn"].as_str()?.to_owned(), r["id"].as_str()?.to_owned())))
            .collect()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn detailed_exitcode_usage_errors_and_confirmation() {
    let d = Dir::new();
    assert_eq!(d.run(&["preview", "--detailed-exitcode"]).status.code(), Some(2), "changes present");
    assert_eq!(d.run(&["preview", "--no-such-flag"]).status.code(), Some(2), "usage error");
    let refused = d.run(&["up"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("--yes"), "{}", text(&refused.stderr));
    assert!(d.inventory().is_empty(), "nothing created without confirmation");
    d.ok(&["up", "--yes"]);
    assert_eq!(d.run(&["preview", "--detailed-exitcode"]).status.code(), Some(0), "no changes");
    d.ok(&["config", "set", "size", "3"]);
    let out = d.run(&["preview", "--detailed-exitcode", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["counts"]["update"], 2, "{doc}");
    d.ok(&["destroy", "--yes"]);
    assert!(d.inventory().is_empty());
}

#[test]
fn malformed_state_is_a_clear_error_and_is_never_overwritten() {
    let d = Dir::new();
    d.ok(&["up", "--yes"]);
    let good = std::fs::read(d.snapshot()).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good[..good.len() / 2].to_vec()),
        ("newer", String::from_utf8(good.clone()).unwrap().replacen("\"version\":1", "\"version\":99", 1).into_bytes()),
    ];
    for (what, bytes) in cases {
        std::fs::write(d.snapshot(), &bytes).unwrap();
        for args in [&["preview"][..], &["up", "--yes"], &["destroy", "--yes"]] {
            let o = d.run(args);
            let err = text(&o.stderr);
            assert_eq!(o.status.code(), Some(1), "{what} {args:?}");
            assert!(err.contains("snapshot.json"), "{what}: the error names the file: {err}");
            if what == "newer" {
                assert!(err.contains("newer"), "{err}");
            }
            assert_eq!(std::fs::read(d.snapshot()).unwrap(), bytes, "{what}: file untouched by {args:?}");
        }
    }
    std::fs::write(d.snapshot(), &good).unwrap();

    // A torn last journal line (an interrupted write) is reported with its
    // line number; `state repair` drops it.
    let journal = d.state_dir().join("journal.jsonl");
    std::fs::write(&journal, b"{\"t\":\"begin\",\"seq\":99,\"op\":\"cre").unwrap();
    let o = d.run(&["preview"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("line 1 is torn"), "{}", text(&o.stderr));
    d.ok(&["state", "repair"]);
    d.ok(&["preview"]);
}

/// Kill `up` (abort right after the Nth cloud call, so the cloud has a
/// resource the state may not) at many moments; the next `up` recovers with
/// no orphan and no duplicate. The same for `destroy`.
#[test]
fn a_killed_run_is_recovered_without_orphans_or_duplicates() {
    // The stack makes 5 cloud calls to create (a network and 4 servers), 4 to
    // update (the servers) and 5 to destroy.
    for n in 1..=5u32 {
        let d = Dir::new();
        d.ok(&["config", "set", "servers", "4"]);
        let crash = |args: &[&str], at: u32| {
            let o = d.cmd(args).env("IAC_TEST_ABORT_ON_CALL", at.to_string()).output().unwrap();
            assert!(!o.status.success(), "{args:?} should have died at call {at}");
            let pre = d.run(&["preview"]);
            assert!(pre.status.success(), "state readable after a crash: {}", text(&pre.stderr));
        };
        crash(&["up", "--yes", "--parallel", "2"], n);
        d.ok(&["up", "--yes"]);
        assert_eq!(d.inventory(), d.recorded(), "after a crash at create call {n}");
        assert_eq!(d.recorded().len(), 5, "net + 4 servers");

        d.ok(&["config", "set", "size", "2"]);
        crash(&["up", "--yes"], (n - 1) % 4 + 1);
        d.ok(&["up", "--yes"]);
        assert_eq!(d.inventory(), d.recorded(), "after a crash at update call {n}");
        let sizes: Vec<i64> = d.cloud()["resources"]
            .as_object()
            .unwrap()
            .values()
            .filter(|r| r["urn"].as_str().unwrap().contains("server"))
            .map(|r| r["inputs"]["size"].as_i64().unwrap())
            .collect();
        assert_eq!(sizes, [2, 2, 2, 2]);
        assert_eq!(d.run(&["preview", "--detailed-exitcode"]).status.code(), Some(0), "converged");

        crash(&["destroy", "--yes"], n);
        d.ok(&["destroy", "--yes"]);
        assert!(d.inventory().is_empty(), "destroy after a crash leaves nothing: {:?}", d.inventory());
    }
}

/// The review's first reproduction, through the real binary, killed at every
/// call of a create-before-delete replace (2 servers: 2 creates, 2 deletes)
/// and of a delete-before-replace one (the protected-by-name bucket).
#[test]
fn a_replace_killed_at_any_call_leaves_no_twin() {
    for n in 1..=4u32 {
        let d = Dir::new();
        d.ok(&["config", "set", "bucket", "logs"]);
        d.ok(&["up", "--yes"]);
        d.ok(&["config", "set", "zone", "b"]);
        d.ok(&["config", "set", "bucket", "logs-2"]);
        let o =
            d.cmd(&["up", "--yes", "--parallel", "1"]).env("IAC_TEST_ABORT_ON_CALL", n.to_string()).output().unwrap();
        assert!(!o.status.success(), "should have died at call {n}");
        d.ok(&["up", "--yes"]);
        // `inventory` asserts no identity is held twice.
        assert_eq!(d.inventory(), d.recorded(), "after a kill at call {n} of the replace");
        let cloud = d.cloud();
        let zones: Vec<&str> =
            cloud["resources"].as_object().unwrap().values().filter_map(|r| r["inputs"]["zone"].as_str()).collect();
        assert_eq!(zones, ["b", "b"], "both servers replaced once");
        assert_eq!(d.run(&["preview", "--refresh", "--detailed-exitcode"]).status.code(), Some(0), "converged");
    }
}

#[test]
fn secrets_never_appear_in_plaintext() {
    let d = Dir::new();
    d.ok(&["config", "set", "--secret", "password", SECRET]);
    d.ok(&["config", "set", "with_password", "true"]);
    let mut seen = String::new();
    for args in [
        &["preview", "--diff"][..],
        &["preview", "--json"],
        &["up", "--yes"],
        &["up", "--yes", "--json"],
        &["output"],
        &["output", "--json"],
        &["output", "connection"],
        &["state", "show", "app/server-0"],
        &["state", "list"],
        &["config", "list"],
        &["config", "get", "password"],
        &["refresh", "--yes"],
    ] {
        let o = d.cmd(args).env("RUST_LOG", "trace").output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
        seen.push_str(&text(&o.stdout));
        seen.push_str(&text(&o.stderr));
    }
    // Leave a journal behind too: a run killed mid-update.
    d.ok(&["config", "set", "size", "2"]);
    let _ = d.cmd(&["up", "--yes"]).env("IAC_TEST_ABORT_ON_CALL", "1").output().unwrap();
    let mut files = vec![d.path().join("config/dev.toml")];
    for e in std::fs::read_dir(d.state_dir()).unwrap() {
        files.push(e.unwrap().path());
    }
    assert!(files.iter().any(|f| f.ends_with("journal.jsonl")), "a journal to search: {files:?}");
    assert!(files.iter().any(|f| f.ends_with("snapshot.json.bak")));
    for f in &files {
        let body = text(&std::fs::read(f).unwrap());
        assert!(!body.contains(SECRET) && !body.contains("hunter2"), "plaintext secret in {}", f.display());
    }
    assert!(!seen.contains(SECRET) && !seen.contains("hunter2"), "plaintext secret in command output");
    assert!(seen.contains("[secret]"), "secrets are shown masked");
    // The value is real: revealed only on request.
    let shown = d.ok(&["output", "connection", "--show-secrets"]);
    assert!(shown.contains(SECRET), "{shown}");
    let wrong = d.cmd(&["output", "connection", "--show-secrets"]).env("IAC_PASSPHRASE", "wrong").output().unwrap();
    assert_eq!(wrong.status.code(), Some(1));
    assert!(text(&wrong.stderr).contains("passphrase"), "{}", text(&wrong.stderr));
}

#[test]
fn a_second_concurrent_run_is_refused_naming_the_holder() {
    let d = Dir::new();
    let mut slow = d
        .cmd(&["up", "--yes"])
        .env("IAC_TEST_LATENCY_MS", "1500")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lock = d.state_dir().join("lock");
    let t = std::time::Instant::now();
    while std::fs::read(&lock).map_or(true, |b| b.is_empty()) {
        assert!(t.elapsed().as_secs() < 20, "the first run never took the lock");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let o = d.run(&["up", "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(err.contains("locked by") && err.contains(&format!("pid {}", slow.id())) && err.contains("`up`"), "{err}");
    // A live holder is named, not overridden.
    let o = d.run(&["state", "unlock"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("still running"), "{}", text(&o.stderr));
    assert!(slow.wait().unwrap().success());
    assert!(std::fs::read(&lock).unwrap().is_empty(), "released and cleared at the end");

    // A holder that died (its lock info left behind) blocks nobody: the
    // operating system released its lock when it died.
    let info = serde_json::json!({"host": "vm", "pid": 999999, "command": "up", "since": "2026-01-01T00:00:00Z"});
    std::fs::write(&lock, info.to_string()).unwrap();
    d.ok(&["up", "--yes"]);
    d.ok(&["state", "unlock"]);
}

#[test]
fn graph_and_state_commands() {
    let d = Dir::new();
    let dot = d.ok(&["graph"]);
    assert!(dot.contains("digraph") && dot.contains("app/server-0"), "{dot}");
    let mermaid = d.ok(&["graph", "--format", "mermaid"]);
    assert!(mermaid.contains("flowchart"), "{mermaid}");
    d.ok(&["up", "--yes"]);
    let list = d.ok(&["state", "list"]);
    assert!(list.contains("app/server-1") && list.contains("test:index:Server"), "{list}");
    let out = d.run(&["state", "rm", "net"]);
    assert_eq!(out.status.code(), Some(1), "net is still depended on");
    d.ok(&["state", "rm", "app/server-1"]);
    assert!(!d.recorded().contains_key("app/server-1"));
    assert!(d.inventory().contains_key("app/server-1"), "state rm leaves the cloud alone");
}

#[test]
fn bad_input_changes_nothing() {
    let d = Dir::new();
    d.ok(&["up", "--yes"]);
    let state = std::fs::read(d.snapshot()).unwrap();
    let cloud = d.cloud();
    for (key, value, expect) in [
        ("cidr", "not-a-cidr", "cidr"),
        ("size", "0", "size"),
        ("cycle", "true", "cycle"),
        ("duplicate", "true", "duplicate"),
        ("servers", "\"many\"", "servers"),
    ] {
        let cfg = d.path().join("config/dev.toml");
        let saved = std::fs::read(&cfg).unwrap_or_default();
        d.ok(&["config", "set", key, value]);
        let o = d.run(&["up", "--yes"]);
        assert_eq!(o.status.code(), Some(1), "{key}={value}");
        assert!(text(&o.stderr).contains(expect), "{key}: {}", text(&o.stderr));
        assert_eq!(std::fs::read(d.snapshot()).unwrap(), state, "{key}: state unchanged");
        assert_eq!(d.cloud(), cloud, "{key}: cloud unchanged");
        std::fs::write(&cfg, saved).unwrap();
    }
    let o = d.run(&["up", "--yes", "--target", "ghost"]);
    assert!(text(&o.stderr).contains("unknown target `ghost`"), "{}", text(&o.stderr));
}

/// A problem with a value taken from config names the key, the file and the
/// line the user wrote it on, and type errors are in plain words.
#[test]
fn errors_point_at_the_config_the_user_wrote() {
    let d = Dir::new();
    let cfg = d.path().join("config/dev.toml");
    let text_of = |o: &Output| text(&o.stderr);
    std::fs::write(&cfg, "# the test stack\ncidr = \"10.0.0.0/16\"\n\n# servers of the app\nsize = 99\nservers = 2\n")
        .unwrap();
    let o = d.run(&["preview"]);
    assert_eq!(o.status.code(), Some(1));
    let err = text_of(&o);
    let at = format!("`size` ({}:5)", cfg.display());
    assert!(err.contains(&at), "names the key and its line: {err}");

    std::fs::write(&cfg, "servers = \"two\"\n").unwrap();
    let err = text_of(&d.run(&["preview"]));
    assert!(err.contains(&format!("config `servers` of stack `dev` ({}:1)", cfg.display())), "{err}");
    assert!(err.contains("expected a whole number, 0 or more, found the string \"two\""), "{err}");
    assert!(!err.contains("u32"), "no Rust type names: {err}");
}

/// With credentials the preview asks the cloud what it offers (here: the
/// zones of the account), and a value it does not offer fails the preview
/// as an offline check does: exit 1, the resource, the field and the config
/// key and line named, nothing changed. Without credentials nothing is
/// asked; an answer that fails is a warning, not a failure.
#[test]
fn preview_asks_the_cloud_what_it_offers_when_it_can() {
    let d = Dir::new();
    let cfg = d.path().join("config/dev.toml");
    std::fs::write(&cfg, "servers = 1\nzone = \"us-east-1c\"\n").unwrap();
    let with = |env: &[(&str, &str)], args: &[&str]| {
        let mut c = d.cmd(args);
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let o = with(&[("IAC_TEST_ZONES", "us-east-1a,us-east-1b")], &["preview"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("app/server-0") && err.contains("zone"), "names the resource and field: {err}");
    assert!(
        err.contains("zone `us-east-1c` is not offered to this account (it offers us-east-1a, us-east-1b)"),
        "{err}"
    );
    assert!(err.contains(&format!("`zone` ({}:2)", cfg.display())), "names the config key and line: {err}");
    let o = with(&[("IAC_TEST_ZONES", "us-east-1a,us-east-1b")], &["up", "--yes"]);
    assert_eq!(o.status.code(), Some(1), "up refuses too: {}", text(&o.stderr));
    assert!(d.cloud()["resources"].as_object().unwrap().is_empty(), "nothing was made");
    assert!(!d.snapshot().exists(), "no state was written");

    // Offline: not asked, and the preview passes.
    let o = with(&[("IAC_TEST_ZONES", "us-east-1a,us-east-1b"), ("IAC_TEST_OFFLINE", "1")], &["preview"]);
    assert!(o.status.success(), "{}", text(&o.stderr));

    // An offered zone passes, in preview and up.
    std::fs::write(&cfg, "servers = 1\nzone = \"us-east-1b\"\n").unwrap();
    d.ok(&["preview"]);
    let o = with(&[("IAC_TEST_ZONES", "us-east-1a,us-east-1b")], &["up", "--yes"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
}
