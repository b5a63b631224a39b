//! The engine's specification, as tests: one scenario per test, against the
//! in-memory test provider (`lifecycle`) and through the real command line
//! (`cli`), plus generated programs (`generated`).

mod cli;
mod generated;
mod lifecycle;
mod locks;
mod regressions;
mod support;
