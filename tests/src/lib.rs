//! The AWS emulator the workspace's tests run against: moto's server, with
//! the corrections and models of `emulator/` loaded into it, on a loopback
//! port of its own for each test process.
//!
//! Any crate's tests take it as a dev-dependency:
//!
//! ```no_run
//! let moto = iac_tests::moto();
//! // A stack binary or an SDK client pointed at the emulator:
//! let env = moto.env(); // AWS_ENDPOINT_URL, AWS_REGION, dummy credentials
//! assert!(env.iter().any(|(k, v)| *k == "AWS_ENDPOINT_URL" && *v == moto.endpoint));
//! ```
//!
//! Where moto is: `IAC_MOTO_SERVER`, else the workspace's `.venv`, which
//! `./scripts/test` (and `./scripts/install-emulator`) create. The Python
//! in `emulator/` is documented in `docs/emulator.md`; `scripts/emulator`
//! starts the same server by hand.

mod moto;

pub use moto::{moto, Moto};
