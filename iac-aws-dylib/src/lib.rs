//! `iac-aws` (with `iac-core` and the AWS SDKs) built as one shared library.
//!
//! A crate that links this library gets `iac-aws` and everything under it
//! from the `.so` rather than from the SDKs' rlibs, so relinking a stack
//! binary after an edit reads a small binary and a symbol table instead of
//! hundreds of megabytes of unoptimised SDK object code. Only for dev
//! builds: the binary then needs the Rust standard library's shared object
//! at run time (`cargo run` and `cargo test` set the library path).
#![allow(unused_imports)]
pub use iac_aws;
pub use iac_core;
