//! AWS Lambda: functions whose code the tool packages, their published
//! versions and aliases, and the permissions that let other services invoke
//! them, and the mappings that feed them from streams and queues.

mod code;
mod event_source;
mod function;
mod permission;
mod version;

pub use code::{Code, Package};
pub use event_source::{EventSourceMapping, EventSourceMappingOutputs, StartingPosition};
pub use function::{Function, FunctionOutputs};
pub use permission::{Permission, PermissionOutputs};
pub use version::{Alias, AliasOutputs, Version, VersionOutputs};

use crate::handler::Handler;

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    Some(match type_token {
        event_source::TYPE => &event_source::EventSourceMappingHandler,
        function::TYPE => &function::FunctionHandler,
        permission::TYPE => &permission::PermissionHandler,
        version::VERSION => &version::VersionHandler,
        version::ALIAS => &version::AliasHandler,
        _ => return None,
    })
}
