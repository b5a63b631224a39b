//! With the `dynamic` feature the binaries load `libiac_aws_dylib.so`, and
//! the Rust standard library's shared object linked beside it
//! (`iac-aws-dylib/build.rs`), at run time. `cargo run` and `cargo test` set
//! the library path for them; the run paths written here let the binaries
//! also run on their own (`target/debug/prod-stack up`), as the tests and
//! users run them.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS");
    if std::env::var_os("CARGO_FEATURE_DYNAMIC").is_none() || !matches!(os.as_deref(), Ok("linux" | "macos")) {
        return;
    }
    let origin = if os.as_deref() == Ok("macos") { "@loader_path" } else { "$ORIGIN" };
    // Binaries sit in target/<profile>/, the shared library in its deps/,
    // beside the test binaries.
    println!("cargo:rustc-link-arg-bins=-Wl,-rpath,{origin}/deps");
    println!("cargo:rustc-link-arg-tests=-Wl,-rpath,{origin}");
}
