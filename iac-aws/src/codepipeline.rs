//! CodePipeline (placeholder while CodeBuild lands).

use crate::handler::Handler;

pub(crate) fn handler(_type_token: &str) -> Option<&'static dyn Handler> {
    None
}
