//! Reusable components: typed arguments in, a group of resources out.

pub mod eks;
pub mod network;

pub use eks::{AddonArgs, EksCluster, EksClusterArgs, NodeGroupArgs};
pub use network::{Network, NetworkArgs};
