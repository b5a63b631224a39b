//! Mapping AWS SDK errors onto provider errors: the operation, AWS's code
//! and message, and whether retrying can help.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use iac_core::ProviderError;

/// Codes that mean "slow down" on any service.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "SlowDown",
    "ProvisionedThroughputExceededException",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Codes that mean "not yet": eventual consistency between resources (a
/// security group or subnet still used by a deleting network interface, an
/// IAM role not yet visible, a resource still changing state).
const EVENTUALLY: &[&str] = &[
    "DependencyViolation",
    "InvalidGroup.InUse",
    "IncorrectState",
    "IncorrectInstanceState",
    "InvalidDBInstanceState",
    "InvalidDBClusterStateFault",
    "InvalidDBSubnetGroupStateFault",
    "ResourceInUseException",
    "OperationAborted",
    "ConcurrentModificationException",
    "ResourceNotReady",
    "InvalidParameterException.RoleNotReady",
];

/// The AWS error code of an SDK error, if it has one.
pub fn code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<&str> {
    match e {
        SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    }
}

/// Whether an SDK error carries one of `codes`.
pub fn is_code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>, codes: &[&str]) -> bool {
    code(e).is_some_and(|c| codes.contains(&c))
}

/// Converts an SDK error from `operation` into a provider error.
pub fn aws_err<E>(operation: &str, e: SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match &e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            let status = s.raw().status().as_u16();
            let text = match (err.code(), err.message()) {
                (Some(c), msg) => format!("{c}: {}", msg.unwrap_or("(no message)")),
                // Not an AWS error document: an API the endpoint does not
                // serve, a proxy's page. Say what came back.
                (None, _) => format!("HTTP {status} without an AWS error: {}", body_text(s.raw())),
            };
            let c = err.code().unwrap_or("");
            if THROTTLING.contains(&c) || EVENTUALLY.contains(&c) || status >= 500 {
                ProviderError::retriable(operation, text)
            } else {
                ProviderError::fatal(operation, text)
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ProviderError::retriable(
                operation,
                format!("{}", aws_smithy_types::error::display::DisplayErrorContext(&e)),
            )
        }
        _ => ProviderError::fatal(operation, format!("{}", aws_smithy_types::error::display::DisplayErrorContext(&e))),
    }
}

/// The readable text of an HTTP body (markup dropped, whitespace folded,
/// cut to 300 characters).
pub fn body_text(raw: &HttpResponse) -> String {
    let body = raw.body().bytes().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
    let mut out = String::new();
    let mut in_tag = false;
    for ch in body.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let folded = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.is_empty() {
        return "(empty body)".into();
    }
    let mut cut: String = folded.chars().take(300).collect();
    if cut.len() < folded.len() {
        cut.push('…');
    }
    cut
}

/// A provider error for an input the handler could not use.
pub fn bad_input(operation: &str, message: impl Into<String>) -> ProviderError {
    ProviderError::fatal(operation, message)
}
