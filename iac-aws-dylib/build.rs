//! Two things the shared library needs beside it.
//!
//! - It is linked `-Bsymbolic`, binding its references to its own symbols,
//!   so loading it needs no symbol lookups: without this a stack binary
//!   spent most of a second at start-up resolving a million relocations
//!   against the library's own exports.
//! - It links the Rust standard library's shared object, which a binary
//!   loading it must find too. The binaries have a run path to the
//!   library's directory (`stacks/build.rs`) and cargo puts that directory
//!   on the library path for tests and doc tests, so a link to the standard
//!   library's shared object is put there, next to the library. (Cargo
//!   adds the toolchain's own directory for `run` and `test`, but not for
//!   the programs of doc tests.)

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        println!("cargo:rustc-link-arg=-Wl,-Bsymbolic");
    }
    let suffix = match os.as_str() {
        "linux" => ".so",
        "macos" => ".dylib",
        _ => return,
    };
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(rustc).args(["--print", "sysroot"]).output().expect("rustc --print sysroot");
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    let target = std::env::var("TARGET").expect("TARGET");
    let std_dir = sysroot.join("lib").join("rustlib").join(target).join("lib");
    // OUT_DIR is <profile dir>/build/iac-aws-dylib-<hash>/out; the library
    // goes to <profile dir>/deps.
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let Some(deps) = out.ancestors().nth(3).map(|profile| profile.join("deps")) else { return };
    for entry in std::fs::read_dir(&std_dir).expect("the standard library's directory") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with("libstd-") && name.ends_with(suffix) {
            link_beside(&path, &deps.join(name));
        }
    }
}

#[cfg(not(unix))]
fn link_beside(_std_lib: &Path, _at: &Path) {}

#[cfg(unix)]
fn link_beside(std_lib: &Path, at: &Path) {
    if std::fs::read_link(at).is_ok_and(|to| to == std_lib) {
        return;
    }
    let _ = std::fs::remove_file(at);
    std::fs::create_dir_all(at.parent().expect("deps")).expect("create the deps directory");
    std::os::unix::fs::symlink(std_lib, at).expect("link the standard library's shared object");
}
