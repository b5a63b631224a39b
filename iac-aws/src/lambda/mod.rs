//! AWS Lambda: functions whose code the tool packages, and the permissions
//! that let other services invoke them.

mod code;
mod function;
mod permission;

pub use code::{Code, Package};
pub use function::{Function, FunctionOutputs};
pub use permission::{Permission, PermissionOutputs};

use crate::handler::Handler;

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    Some(match type_token {
        function::TYPE => &function::FunctionHandler,
        permission::TYPE => &permission::PermissionHandler,
        _ => return None,
    })
}
