//! The platforms this project deploys, as stack programs, and the reusable
//! components they are built from.
#![warn(missing_docs)]

pub mod bitcoin;
pub mod components;
pub mod ecommerce;
pub mod iprs;
pub mod ons;
pub mod trading;
