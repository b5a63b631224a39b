//! The engine benchmark: `cargo bench -p iac-core --bench engine [-- FILTER…]`.
//!
//! Prints one JSON object per line: `case`, `resources`, `wall_ms`,
//! `peak_rss_mb`, the case's own figures, and `bar`/`pass` where the case
//! has a bar to meet.
//!
//! Every measurement runs in a fresh process (this binary re-executed with
//! `IAC_BENCH_CASE` set), as every CLI command does: its time includes a
//! cold heap and its peak RSS (`VmHWM`) is its own. A case that needs a
//! matching state first builds it in a separate setup process. Each case is
//! measured `IAC_BENCH_RUNS` times (default 3, each in its own process):
//! `wall_ms` is the median run (whose other figures are shown), `runs_ms`
//! lists every run, and `peak_rss_mb` is the largest.
//!
//! States live under the target directory on the real disk: journal fsyncs
//! must cost what they cost (a tmpfs is refused).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use iac_core::ops::{RunOptions, Session};
use iac_core::state::local::LocalBackend;
use iac_core::state::Backend;
use iac_core::testing::{TestProvider, THING};
use iac_core::{Expr, Output, ResourceOptions, Stack, Urn, Value};
use serde_json::{json, Map, Value as Json};

/// Layers of the dependency graph (each resource reads the id of one in the
/// layer before).
const DEPTH: usize = 6;
/// `--parallel` everywhere.
const PARALLEL: usize = 64;
/// Provider latency of `apply_dag`.
const LATENCY: Duration = Duration::from_millis(20);

struct Case {
    name: &'static str,
    resources: usize,
    /// Needs a state matching the program, made by a setup process.
    setup: bool,
}

const CASES: &[Case] = &[
    Case { name: "plan_create", resources: 1_000, setup: false },
    Case { name: "plan_create", resources: 10_000, setup: false },
    Case { name: "plan_nochange", resources: 10_000, setup: true },
    Case { name: "apply_dag", resources: 2_000, setup: false },
    Case { name: "noop_up", resources: 4_000, setup: true },
    Case { name: "state_bytes", resources: 3_000, setup: false },
];

fn main() {
    if let Ok(case) = std::env::var("IAC_BENCH_CASE") {
        let (name, n) = case.split_once(':').expect("IAC_BENCH_CASE is name:resources");
        let dir = PathBuf::from(std::env::var_os("IAC_BENCH_DIR").expect("IAC_BENCH_DIR"));
        let setup = std::env::var("IAC_BENCH_PHASE").is_ok_and(|p| p == "setup");
        let line = child(name, n.parse().expect("a resource count"), &dir, setup);
        println!("{line}");
        return;
    }
    // `cargo bench` passes `--bench`; any other argument filters cases.
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let runs: usize = std::env::var("IAC_BENCH_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(3).max(1);
    let work = work_root();
    let mut missed = Vec::new();
    for case in CASES {
        let label = format!("{}:{}", case.name, case.resources);
        if !filters.is_empty() && !filters.iter().any(|f| label.contains(f.as_str())) {
            continue;
        }
        let line = measure(case, runs, &work);
        if line.get("pass") == Some(&Json::Bool(false)) {
            missed.push(label);
        }
        println!("{}", Json::Object(line));
    }
    if !missed.is_empty() {
        eprintln!("bars missed: {}", missed.join(", "));
    }
}

/// Runs one case `runs` times and summarizes.
fn measure(case: &Case, runs: usize, work: &Path) -> Map<String, Json> {
    let spec = format!("{}:{}", case.name, case.resources);
    let shared = case.setup.then(|| {
        let dir = tempfile::tempdir_in(work).expect("a work dir");
        run_child(&spec, dir.path(), true);
        dir
    });
    let mut lines: Vec<Map<String, Json>> = (0..runs)
        .map(|_| match &shared {
            Some(dir) => run_child(&spec, dir.path(), false),
            None => run_child(&spec, tempfile::tempdir_in(work).expect("a work dir").path(), false),
        })
        .collect();
    let ms = |l: &Map<String, Json>| l["wall_ms"].as_f64().expect("wall_ms");
    let rss = |l: &Map<String, Json>| l["peak_rss_mb"].as_f64().expect("peak_rss_mb");
    let runs_ms: Vec<f64> = lines.iter().map(ms).collect();
    let peak = lines.iter().map(rss).fold(0.0, f64::max);
    lines.sort_by(|a, b| ms(a).total_cmp(&ms(b)));
    let mut line = lines.swap_remove(lines.len() / 2);
    line.insert("peak_rss_mb".into(), json!(peak));
    line.insert("runs_ms".into(), json!(runs_ms));
    let wall = ms(&line);
    let num = |k: &str| line[k].as_f64().expect(k);
    let bar = match (case.name, case.resources) {
        ("plan_create", 10_000) => Some(("wall_ms <= 1000 && peak_rss_mb <= 300", wall <= 1000.0 && peak <= 300.0)),
        ("plan_nochange", _) => Some(("wall_ms <= 1000", wall <= 1000.0)),
        ("apply_dag", _) => Some(("wall_ms <= 1.15 * lower_bound_ms", wall <= 1.15 * num("lower_bound_ms"))),
        ("noop_up", _) => Some(("wall_ms <= 2000", wall <= 2000.0)),
        ("state_bytes", _) => {
            Some(("bytes_written <= 3 * final_state_bytes", num("bytes_written") <= 3.0 * num("final_state_bytes")))
        }
        _ => None,
    };
    if let Some((bar, pass)) = bar {
        line.insert("bar".into(), json!(bar));
        line.insert("pass".into(), json!(pass));
    }
    line
}

/// Runs this binary for one case in `dir`; returns the line it printed.
fn run_child(spec: &str, dir: &Path, setup: bool) -> Map<String, Json> {
    let exe = std::env::current_exe().expect("the benchmark's own path");
    let out = Command::new(exe)
        .env("IAC_BENCH_CASE", spec)
        .env("IAC_BENCH_DIR", dir)
        .env("IAC_BENCH_PHASE", if setup { "setup" } else { "measure" })
        .output()
        .expect("run a case");
    if !out.status.success() {
        eprintln!("case {spec} failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
        std::process::exit(1);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    match serde_json::from_str(stdout.trim()) {
        Ok(Json::Object(line)) => line,
        _ => panic!("case {spec} printed {stdout:?}, not one JSON object"),
    }
}

/// `<target dir>/bench-work`, checked not to be a tmpfs.
fn work_root() -> PathBuf {
    let exe = std::env::current_exe().expect("the benchmark's own path");
    // <target>/<profile>/deps/<bench binary>
    let target = exe.ancestors().nth(3).expect("the benchmark runs from a target directory");
    let root = target.join("bench-work");
    std::fs::create_dir_all(&root).expect("create the work dir");
    let root = root.canonicalize().expect("the work dir");
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let fs = mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((f.next()?, f.next()?, f.next()?))
        })
        .filter(|(_, at, _)| root.starts_with(at))
        .max_by_key(|(_, at, _)| at.len())
        .map(|(_, _, fs)| fs);
    assert!(
        !matches!(fs, Some("tmpfs" | "ramfs")),
        "{} is on a {}: the benchmark needs a real disk",
        root.display(),
        fs.unwrap_or("?")
    );
    root
}

/// A program of `n` resources in [`DEPTH`] layers. Each has the inputs of a
/// typical cloud resource (strings, numbers, a flag, a list, tags) and reads
/// the id of one resource in the layer before.
fn program(n: usize, provider: TestProvider) -> iac_core::ops::Program {
    Arc::new(move |stack: &Stack| {
        stack.provider("test", provider.clone());
        stack.default_tags([("team", "platform"), ("env", "bench")]);
        let per_layer = n.div_ceil(DEPTH);
        let mut prev: Vec<Urn> = Vec::new();
        let mut cur: Vec<Urn> = Vec::with_capacity(per_layer);
        for i in 0..n {
            if i % per_layer == 0 && i > 0 {
                prev = std::mem::take(&mut cur);
            }
            let mut m: BTreeMap<String, Expr> = BTreeMap::new();
            m.insert("key".into(), Expr::Value(Value::from(format!("resource-{i}"))));
            m.insert("size".into(), Expr::Value(Value::from((i % 64) as i64)));
            m.insert("zone".into(), Expr::Value(Value::from(["us-east-1a", "us-east-1b", "us-east-1c"][i % 3])));
            m.insert("enabled".into(), Expr::Value(Value::from(i % 2 == 0)));
            m.insert("description".into(), Expr::Value(Value::from(format!("benchmark resource number {i}"))));
            m.insert("ports".into(), Expr::Value(Value::from(vec![80i64, 443, 8080 + (i % 10) as i64])));
            m.insert("tags".into(), Expr::Value(Value::from(BTreeMap::from([("Name".to_string(), format!("r{i}"))]))));
            if !prev.is_empty() {
                let parent: Output<String> = Output::from_ref(&prev[i % prev.len()], "id");
                m.insert("parentId".into(), parent.expr().clone());
            }
            cur.push(stack.register(&format!("r{i}"), &THING, Expr::Map(m), ResourceOptions::default()));
        }
        stack.export("count", Output::known(n));
        Ok(())
    })
}

fn session(dir: &Path, n: usize, provider: TestProvider) -> (Session, Arc<LocalBackend>) {
    let backend = Arc::new(LocalBackend::new(dir.join("state")));
    let s = Session {
        project: "bench".into(),
        stack: "bench".into(),
        config_dir: dir.join("config"),
        backend: backend.clone(),
        program: program(n, provider),
        observer: Arc::new(|_| {}),
    };
    (s, backend)
}

fn opts() -> RunOptions {
    RunOptions { parallel: PARALLEL, ..RunOptions::default() }
}

/// This process's peak resident set so far, in MiB.
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// One run of a case (or its setup) in this process; returns its line.
fn child(name: &str, n: usize, dir: &Path, setup: bool) -> String {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    let provider = TestProvider::new();
    let mut out = json!({ "case": name, "resources": n });
    rt.block_on(async {
        if setup {
            // A state matching the program, made with no latency.
            let (s, _) = session(dir, n, provider);
            let a = s.up(&opts(), None, &mut |_, _| Ok(true)).await.expect("setup up");
            assert!(a.report.failures.is_empty() && a.report.state.resources.len() == n);
            return;
        }
        let (s, backend) = session(dir, n, provider.clone());
        let w = out.as_object_mut().expect("an object");
        match name {
            "plan_create" => {
                let t = Instant::now();
                let p = s.preview(&opts()).await.expect("preview");
                let ms = ms_since(t);
                assert_eq!(p.plan.changes().count(), n);
                timed(w, ms);
                w.insert("ms_per_1k".into(), json!(round(ms * 1000.0 / n as f64)));
            }
            "plan_nochange" => {
                let t = Instant::now();
                let p = s.preview(&opts()).await.expect("preview");
                let ms = ms_since(t);
                assert_eq!(p.plan.changes().count(), 0, "the setup state should match the program");
                assert_eq!(p.state.resources.len(), n);
                timed(w, ms);
            }
            "apply_dag" => {
                provider.set_latency(LATENCY);
                let t = Instant::now();
                let a = s.up(&opts(), None, &mut |_, _| Ok(true)).await.expect("up");
                let ms = ms_since(t);
                assert!(a.report.failures.is_empty(), "{:?}", a.report.failures);
                assert_eq!(a.report.state.resources.len(), n);
                let lat = LATENCY.as_secs_f64() * 1000.0;
                let lower = (DEPTH as f64 * lat).max(n as f64 * lat / PARALLEL as f64);
                timed(w, ms);
                w.insert("lower_bound_ms".into(), json!(round(lower)));
                w.insert("ratio".into(), json!((ms / lower * 1000.0).round() / 1000.0));
                w.insert("depth".into(), json!(DEPTH));
                w.insert("latency_ms".into(), json!(lat));
                w.insert("parallel".into(), json!(PARALLEL));
                w.insert("provider_calls".into(), json!(provider.calls()));
            }
            "noop_up" => {
                let t = Instant::now();
                let a = s.up(&opts(), None, &mut |_, _| Ok(true)).await.expect("up");
                let ms = ms_since(t);
                assert_eq!(a.plan.changes().count(), 0, "the setup state should match the program");
                assert_eq!(provider.calls(), 0);
                timed(w, ms);
            }
            "state_bytes" => {
                let t = Instant::now();
                let a = s.up(&opts(), None, &mut |_, _| Ok(true)).await.expect("up");
                let ms = ms_since(t);
                assert!(a.report.failures.is_empty() && a.report.state.resources.len() == n);
                let written = backend.bytes_written();
                let snapshot = std::fs::metadata(backend.snapshot_location("bench")).expect("a snapshot").len();
                timed(w, ms);
                w.insert("bytes_written".into(), json!(written));
                w.insert("final_state_bytes".into(), json!(snapshot));
                w.insert("ratio".into(), json!((written as f64 / snapshot as f64 * 100.0).round() / 100.0));
            }
            other => panic!("unknown case {other}"),
        }
    });
    // At the very end, so it covers everything the case did.
    out["peak_rss_mb"] = json!(round(peak_rss_mb()));
    out.to_string()
}

/// Records the measured time, keeping a place for the peak RSS beside it.
fn timed(w: &mut Map<String, Json>, ms: f64) {
    w.insert("wall_ms".into(), json!(round(ms)));
    w.insert("peak_rss_mb".into(), Json::Null);
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
