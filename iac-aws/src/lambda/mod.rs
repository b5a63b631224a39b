//! AWS Lambda: functions whose code the tool packages, their published
//! versions and aliases, and the permissions that let other services invoke
//! them.

mod code;
mod function;
mod permission;
mod version;

pub use code::{Code, Package};
pub use function::{Function, FunctionOutputs};
pub use permission::{Permission, PermissionOutputs};
pub use version::{Alias, AliasOutputs, Version, VersionOutputs};

use crate::handler::Handler;

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    Some(match type_token {
        function::TYPE => &function::FunctionHandler,
        permission::TYPE => &permission::PermissionHandler,
        version::VERSION => &version::VersionHandler,
        version::ALIAS => &version::AliasHandler,
        _ => return None,
    })
}
