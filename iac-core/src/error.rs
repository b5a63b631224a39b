//! The engine's error type.

use std::path::PathBuf;

use crate::output::Urn;

/// One problem found in a resource's inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The resource's identity.
    pub urn: Urn,
    /// Its type token.
    pub type_token: String,
    /// The input field at fault.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}: {}", self.urn, self.type_token, self.field, self.message)
    }
}

/// Everything that can go wrong in `iac-core`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The program's inputs failed validation; every problem is listed.
    #[error("{} problem(s) in the stack's inputs:\n{}", .0.len(), .0.iter().map(|d| format!("  - {d}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Diagnostic>),
    /// Two resources have the same identity.
    #[error("duplicate resource name `{0}`: every resource needs a unique name within its parent")]
    DuplicateName(Urn),
    /// The dependency graph has a cycle.
    #[error("dependency cycle: {}", .0.iter().map(|u| u.as_str()).collect::<Vec<_>>().join(" -> "))]
    Cycle(Vec<Urn>),
    /// A resource depends on one that was never declared.
    #[error("`{from}` depends on `{to}`, which is not declared in the stack")]
    UnknownDependency {
        /// The dependent.
        from: Urn,
        /// The missing dependency.
        to: Urn,
    },
    /// A `--target` names no resource.
    #[error("unknown target `{0}`: no resource with that name in the stack or its state")]
    UnknownTarget(String),
    /// A resource uses a provider that was not registered.
    #[error("`{urn}` uses provider `{provider}`, which the stack does not register")]
    UnknownProvider {
        /// The resource.
        urn: Urn,
        /// The provider name.
        provider: String,
    },
    /// A protected resource would be deleted or replaced.
    #[error("`{0}` is protected: refusing to {1} it (remove `protect` first)")]
    Protected(Urn, &'static str),
    /// A provider could not start (credentials, region, …).
    #[error("provider `{provider}` is not ready: {message}")]
    ProviderNotReady {
        /// The provider name.
        provider: String,
        /// Why.
        message: String,
    },
    /// Reading or writing a state file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A state, journal, plan or config file is malformed.
    #[error("{}: {message}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A remote state backend failed or refused a write.
    #[error("state backend {location}: {message}")]
    Backend {
        /// Where (a URL).
        location: String,
        /// What happened.
        message: String,
    },
    /// The stack is locked by another run.
    #[error("stack `{stack}` is locked by {holder}")]
    Locked {
        /// The stack.
        stack: String,
        /// Who holds the lock.
        holder: String,
    },
    /// A saved plan no longer matches the state or the program.
    #[error("the saved plan {}: {reason}; run `preview --save-plan` again", path.display())]
    StalePlan {
        /// The plan file.
        path: PathBuf,
        /// What changed.
        reason: String,
    },
    /// A configuration key is missing or has the wrong type.
    #[error("config `{key}` of stack `{stack}` ({}): {message}", path.display())]
    Config {
        /// The stack.
        stack: String,
        /// The key.
        key: String,
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Secrets could not be encrypted or decrypted.
    #[error("secrets: {0}")]
    Secrets(String),
    /// The run was refused (no terminal to confirm, user said no).
    #[error("{0}")]
    Refused(String),
    /// One or more steps of an apply failed; the rest was applied and recorded.
    #[error("{} step(s) failed:\n{}", .0.len(), .0.iter().map(|s| format!("  - {s}")).collect::<Vec<_>>().join("\n"))]
    StepsFailed(Vec<String>),
    /// The journal could not be written.
    #[error("journal: {0}")]
    Journal(String),
    /// Operations a dead run left in flight could not be resolved (the
    /// cloud could not be asked whether they happened); nothing is planned
    /// until they are, or a resource could be made twice.
    #[error("{} operation(s) left in flight by an interrupted run could not be resolved, so nothing was changed:\n{}\nrun the command again once the cloud answers", .0.len(), .0.iter().map(|s| format!("  - {s}")).collect::<Vec<_>>().join("\n"))]
    Unresolved(Vec<String>),
    /// Deleting a targeted resource would leave resources outside the
    /// targets depending on something gone.
    #[error("`{target}` is depended on by {}, which {} not targeted: add {} to the targets, or pass --target-dependents", .dependents.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", "), if .dependents.len() == 1 { "is" } else { "are" }, if .dependents.len() == 1 { "it" } else { "them" })]
    UntargetedDependents {
        /// The targeted resource to be deleted or replaced.
        target: Urn,
        /// What depends on it and is not targeted.
        dependents: Vec<Urn>,
    },
    /// The program itself reported an error.
    #[error("the stack program failed: {0}")]
    Program(String),
    /// `state unlock --force`: the lock is no longer the one shown.
    #[error(
        "the lock of stack `{stack}` ({location}) changed since it was shown: it is now held by {holder}; \
         nothing was removed (run `state unlock --force` again to see who holds it)"
    )]
    LockChanged {
        /// The stack.
        stack: String,
        /// Where the lock is.
        location: String,
        /// Who holds it now.
        holder: String,
    },
    /// A run's lock could not be released. After a run that finished this
    /// is a warning, never the run's failure.
    #[error("the lock of stack `{stack}` ({location}) could not be released: {message}; {}", match lapses {
        Some(t) => format!("its lease lapses at {t}, until then other runs of the stack are refused \
                            (`state unlock --force` removes it sooner)"),
        None => "it is released when this process exits".to_owned(),
    })]
    LockNotReleased {
        /// The stack.
        stack: String,
        /// Where the lock is (a path or URL).
        location: String,
        /// When the lock lapses by itself (RFC 3339), for leases.
        lapses: Option<String>,
        /// Why it could not be released.
        message: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }
    /// A remote backend's failure at `location`.
    pub fn backend(location: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Backend { location: location.into(), message: message.into() }
    }
    pub(crate) fn corrupt(path: impl Into<PathBuf>, message: impl Into<String>) -> Error {
        Error::Corrupt { path: path.into(), message: message.into() }
    }
}

/// The result type of `iac-core`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
