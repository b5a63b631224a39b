//! `iac-core`: the engine of an infrastructure-as-code tool embedded in Rust.
//!
//! A stack is an ordinary Rust program. It declares resources on a
//! [`Stack`] with typed builders; the engine records them as a [`Graph`],
//! plans the differences from the stored [`State`](state::State), and applies
//! the [`Plan`] through [`Provider`]s, journaling every cloud call so a crash
//! at any moment is recoverable. [`cli::Runner`] gives every stack binary the
//! same command line (`preview`, `up`, `destroy`, `refresh`, `output`,
//! `state`, `config`, `graph`).
//!
//! This crate knows nothing about any cloud: providers live in other crates
//! (`iac-aws`), and [`testing`] has an in-memory one.
#![warn(missing_docs)]

pub mod cli;
pub mod config;
pub mod diff;
pub mod engine;
pub mod error;
pub mod graph;
pub mod ops;
pub mod output;
pub mod plan;
pub mod provider;
pub mod resource;
pub mod secrets;
pub mod stack;
pub mod state;
pub mod testing;
pub mod value;

pub use config::Config;
pub use engine::{Engine, Event};
pub use error::{Diagnostic, Error, Result};
pub use graph::{Declaration, Graph};
pub use output::{Expr, Input, Output, Resolver, Urn};
pub use plan::{Op, Plan, Step};
pub use provider::{
    CreateRequest, CreateResult, DeleteRequest, ErrorKind, FindRequest, Provider, ProviderError, ProviderHandle,
    ReadRequest, ReadResult, UpdateRequest, UpdateResult,
};
pub use resource::{props, Checks, Registered, Resource, ResourceOptions, Schema, Timeouts};
pub use stack::Stack;
pub use value::Value;

/// Re-exports used by the [`typed_id!`] macro and resource crates.
#[doc(hidden)]
pub mod __private {
    pub use async_trait::async_trait;
    pub use serde;
}
pub use async_trait::async_trait;
