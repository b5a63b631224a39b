//! With the `dynamic` feature the binaries load `libiac_aws_dylib.so` and the
//! Rust standard library's shared object at run time. `cargo run` and
//! `cargo test` set the library path for them; the run paths written here
//! let the binaries also run on their own (`target/debug/prod-stack up`),
//! as the tests and users run them.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let unix = matches!(std::env::var("CARGO_CFG_TARGET_OS").as_deref(), Ok("linux" | "macos"));
    if std::env::var_os("CARGO_FEATURE_DYNAMIC").is_none() || !unix {
        return;
    }
    let origin =
        if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("macos") { "@loader_path" } else { "$ORIGIN" };
    // Binaries sit in target/<profile>/, the shared library in its deps/.
    println!("cargo:rustc-link-arg-bins=-Wl,-rpath,{origin}/deps");
    println!("cargo:rustc-link-arg-tests=-Wl,-rpath,{origin}");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(rustc).args(["--print", "sysroot"]).output().expect("rustc --print sysroot");
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    let target = std::env::var("TARGET").expect("TARGET");
    let std_dir = sysroot.join("lib").join("rustlib").join(target).join("lib");
    println!("cargo:rustc-link-arg-bins=-Wl,-rpath,{}", std_dir.display());
    println!("cargo:rustc-link-arg-tests=-Wl,-rpath,{}", std_dir.display());
}
