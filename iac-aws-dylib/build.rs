//! Binds the library's references to its own symbols when it is linked
//! (`-Bsymbolic`), so loading it needs no symbol lookups: without this a
//! stack binary spent most of a second at start-up resolving a million
//! relocations against the library's own exports.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg=-Wl,-Bsymbolic");
    }
}
