//! The workspace's build layout, checked so it cannot regress unseen
//! (ARCHITECTURE.md's invariants on `iac-aws-dylib` and `src/`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Each package of a `cargo tree` selection with the features it is built
/// with, host (build-script and proc-macro) dependencies left out.
fn features(args: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--offline", "--prefix", "none", "--format", "{p}|{f}"])
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("run cargo tree");
    assert!(out.status.success(), "cargo tree {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let line = line.trim_end_matches(" (*)");
        let Some((package, features)) = line.split_once('|') else { continue };
        let features = features.split(',').filter(|f| !f.is_empty()).map(str::to_owned);
        found.entry(package.trim().to_owned()).or_default().extend(features);
    }
    found
}

/// Cargo names `libiac_aws_dylib.so` without a hash, so if the tests'
/// build (every package, dev-dependencies too) resolved any crate inside it
/// with other features than `cargo run --bin prod-stack` does, the two would
/// overwrite one shared library with another, rebuild it at every switch,
/// and fail to link ("cannot satisfy dependencies so `std` only shows up
/// once"). A `testing` feature or a dev-dependency adding a feature does
/// that.
#[test]
fn every_build_resolves_the_shared_library_alike() {
    let run = features(&["-p", "stacks", "-e", "normal"]);
    let tests = features(&["--workspace", "-e", "normal,dev"]);
    let differ: Vec<String> = run
        .iter()
        .filter(|(package, f)| tests.get(*package).is_some_and(|t| t != *f))
        .map(|(package, f)| format!("{package}: run {f:?}, tests {:?}", tests[package]))
        .collect();
    assert!(run.keys().any(|p| p.starts_with("iac-aws-dylib ")), "{:?}", run.keys());
    assert!(differ.is_empty(), "features differ between `cargo run` and the tests' build:\n{}", differ.join("\n"));
}

/// No crate's `src/` holds anything but that crate's Rust code.
#[test]
fn sources_hold_only_rust() {
    let mut stray = Vec::new();
    let mut dirs: Vec<PathBuf> = ["iac-core", "iac-aws", "iac-aws-dylib", "stacks", "tests"]
        .iter()
        .map(|c| workspace().join(c).join("src"))
        .collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_none_or(|e| e != "rs") {
                stray.push(path.display().to_string());
            }
        }
    }
    assert!(stray.is_empty(), "not Rust, under a src/: {stray:?}");
}
