//! The binaries the suites run: the platforms' stack programs (`stacks`),
//! `network-example` and `iac-test-stack`. Binaries of other packages are
//! not built for this one's tests, so the first use builds them, with the
//! cargo that runs the tests, into the same target directory and profile.
//! It is the build a user's `cargo run --bin prod-stack` makes: the same
//! packages and features, so neither rebuilds anything for the other.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The path of binary `name`, built on first use.
pub fn path(name: &str) -> String {
    static BUILT: OnceLock<BTreeMap<String, PathBuf>> = OnceLock::new();
    let built = BUILT.get_or_init(build);
    let path = built.get(name).unwrap_or_else(|| panic!("no binary `{name}` among {:?}", built.keys()));
    path.to_string_lossy().into_owned()
}

fn build() -> BTreeMap<String, PathBuf> {
    // This test binary is <target dir>/<profile dir>/deps/e2e-<hash>.
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("the profile directory");
    let target_dir = profile_dir.parent().expect("the target directory");
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut build = Command::new(cargo);
    // Cargo runs this test with the variables of its own package set
    // (`CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME`, …). Build scripts that watch
    // them (`ring`'s does) would see them change and rebuild, and with them
    // everything above: the build runs with the environment a shell has.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let of_this_package =
            ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CRATE_", "CARGO_BIN_"].iter().any(|p| key.starts_with(p))
                || ["CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "OUT_DIR"].contains(&key.as_ref());
        if of_this_package {
            build.env_remove(key.as_ref());
        }
    }
    let out = build
        .args(["build", "--bins", "-p", "stacks", "-p", "iac-examples", "-p", "iac-core"])
        .args(["--profile", profile, "--message-format=json-render-diagnostics", "--target-dir"])
        .arg(target_dir)
        .current_dir(&workspace)
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo build for the stack binaries");
    assert!(out.status.success(), "building the stack binaries failed ({})", out.status);
    let mut built = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if let (Some(name), Some(exe)) = (msg["target"]["name"].as_str(), msg["executable"].as_str()) {
            built.insert(name.to_owned(), PathBuf::from(exe));
        }
    }
    built
}
