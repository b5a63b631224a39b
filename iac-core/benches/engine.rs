//! The engine benchmark: `cargo bench -p iac-core --bench engine`.
//!
//! Prints one JSON object per line. Each case runs in a child process (this
//! binary re-executed with the case's name) so its peak RSS is its own.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use iac_core::ops::{RunOptions, Session};
use iac_core::state::local::LocalBackend;
use iac_core::state::Backend;
use iac_core::testing::{TestProvider, THING};
use iac_core::{Expr, Output, ResourceOptions, Stack, Urn, Value};

const CASES: &[&str] = &[
    "plan_create:1000",
    "plan_create:10000",
    "plan_nochange:10000",
    "apply_dag:2000",
    "noop_up:4000",
    "state_bytes:3000",
];

fn main() {
    if let Ok(case) = std::env::var("IAC_BENCH_CASE") {
        let (name, n) = case.split_once(':').expect("case:n");
        let line = run_case(name, n.parse().expect("n"));
        println!("{line}");
        return;
    }
    let exe = std::env::current_exe().expect("current exe");
    for case in CASES {
        let out = Command::new(&exe).env("IAC_BENCH_CASE", case).output().expect("run case");
        if !out.status.success() {
            eprintln!("case {case} failed: {}", String::from_utf8_lossy(&out.stderr));
            std::process::exit(1);
        }
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
}

/// A program of `n` realistic resources in `depth` layers; each resource in a
/// layer reads the id of one in the previous layer.
fn program(n: usize, depth: usize, provider: TestProvider) -> iac_core::ops::Program {
    Arc::new(move |stack: &Stack| {
        stack.provider("test", provider.clone());
        stack.default_tags([("team", "platform"), ("env", "bench")]);
        let per_layer = n.div_ceil(depth);
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
                let dep: Output<String> = Output::from_ref(&prev[i % prev.len()], "id");
                m.insert("parentId".into(), dep.expr().clone());
            }
            let urn = stack.register(&format!("r{i}"), &THING, Expr::Map(m), ResourceOptions::default());
            cur.push(urn);
        }
        stack.export("count", Output::known(n));
        Ok(())
    })
}

fn session(dir: &Path, n: usize, depth: usize, provider: TestProvider) -> (Session, Arc<LocalBackend>) {
    let backend = Arc::new(LocalBackend::new(dir.join("state")));
    let s = Session {
        project: "bench".into(),
        stack: "bench".into(),
        config_dir: dir.join("config"),
        backend: backend.clone(),
        program: program(n, depth, provider),
        observer: Arc::new(|_| {}),
    };
    (s, backend)
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A directory on the real disk (the journal's fsyncs must be real).
fn workdir() -> tempfile::TempDir {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-work");
    std::fs::create_dir_all(&base).expect("bench dir");
    tempfile::tempdir_in(base).expect("temp dir")
}

fn opts(parallel: usize) -> RunOptions {
    RunOptions { refresh: false, targets: vec![], parallel }
}

fn run_case(name: &str, n: usize) -> String {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let dir = workdir();
    let provider = TestProvider::new();
    rt.block_on(async {
        match name {
            "plan_create" => {
                let (s, _) = session(dir.path(), n, 6, provider);
                let t = Instant::now();
                let p = s.preview(&opts(64)).await.expect("preview");
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                assert_eq!(p.plan.changes().count(), n);
                format!(
                    r#"{{"case":"plan_create","resources":{n},"wall_ms":{ms:.1},"peak_rss_mb":{:.1},"ms_per_1k":{:.1}}}"#,
                    peak_rss_mb(),
                    ms * 1000.0 / n as f64
                )
            }
            "plan_nochange" => {
                let (s, _) = session(dir.path(), n, 6, provider);
                s.up(&opts(64), None, &mut |_, _| Ok(true)).await.expect("up");
                let t = Instant::now();
                let p = s.preview(&opts(64)).await.expect("preview");
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                assert_eq!(p.plan.changes().count(), 0);
                format!(r#"{{"case":"plan_nochange","resources":{n},"wall_ms":{ms:.1},"peak_rss_mb":{:.1}}}"#, peak_rss_mb())
            }
            "apply_dag" => {
                let latency = Duration::from_millis(20);
                let (depth, parallel) = (6usize, 64usize);
                let (s, _) = session(dir.path(), n, depth, provider.with_latency(latency));
                let t = Instant::now();
                let a = s.up(&opts(parallel), None, &mut |_, _| Ok(true)).await.expect("up");
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                assert!(a.report.failures.is_empty());
                assert_eq!(a.report.state.resources.len(), n);
                let lat = latency.as_secs_f64() * 1000.0;
                let lower = (depth as f64 * lat).max(n as f64 * lat / parallel as f64);
                format!(
                    r#"{{"case":"apply_dag","resources":{n},"wall_ms":{ms:.1},"peak_rss_mb":{:.1},"depth":{depth},"latency_ms":{lat},"parallel":{parallel},"lower_bound_ms":{lower:.1},"ratio":{:.3}}}"#,
                    peak_rss_mb(),
                    ms / lower
                )
            }
            "noop_up" => {
                let (s, _) = session(dir.path(), n, 6, provider);
                s.up(&opts(64), None, &mut |_, _| Ok(true)).await.expect("up");
                let t = Instant::now();
                let a = s.up(&opts(64), None, &mut |_, _| Ok(true)).await.expect("noop up");
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                assert!(a.plan.changes().next().is_none());
                format!(r#"{{"case":"noop_up","resources":{n},"wall_ms":{ms:.1},"peak_rss_mb":{:.1}}}"#, peak_rss_mb())
            }
            "state_bytes" => {
                let (s, backend) = session(dir.path(), n, 6, provider);
                let t = Instant::now();
                s.up(&opts(64), None, &mut |_, _| Ok(true)).await.expect("up");
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                let written = backend.bytes_written();
                let snapshot = std::fs::metadata(backend.snapshot_location("bench")).expect("snapshot").len();
                format!(
                    r#"{{"case":"state_bytes","resources":{n},"wall_ms":{ms:.1},"peak_rss_mb":{:.1},"bytes_written":{written},"final_state_bytes":{snapshot},"ratio":{:.2}}}"#,
                    peak_rss_mb(),
                    written as f64 / snapshot as f64
                )
            }
            other => panic!("unknown case {other}"),
        }
    })
}
