//! Reusable components: typed arguments in, a group of resources out.

pub mod network;

pub use network::{Network, NetworkArgs};
