//! The platforms this project deploys, as stack programs, and the reusable
//! components they are built from.
#![warn(missing_docs)]

// Linking the shared library makes rustc take iac-aws and the SDKs from it.
#[cfg(feature = "dynamic")]
use iac_aws_dylib as _;

pub mod bitcoin;
pub mod components;
pub mod ecommerce;
pub mod iprs;
pub mod ons;
pub mod trading;
