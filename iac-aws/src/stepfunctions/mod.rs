//! AWS Step Functions: state machines, their definitions written as JSON or
//! with a typed builder of Amazon States Language, and checked at preview.
//!
//! ```text
//! StateMachine ──► Definition (StartAt, States: Task, Pass, Choice, Wait,
//!                  Succeed, Fail, Parallel, Map)
//! ```

mod asl;
mod state_machine;

pub use asl::{Catch, Choice, Condition, Definition, Fail, Map, Parallel, Pass, Retry, State, Succeed, Task, Wait};
pub use state_machine::{Asl, LogLevel, Logging, StateMachine, StateMachineOutputs, StateMachineType};

use crate::handler::Handler;

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    Some(match type_token {
        state_machine::TYPE => &state_machine::StateMachineHandler,
        _ => return None,
    })
}
