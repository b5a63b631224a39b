//! The storage interface a state backend implements.
//!
//! The engine only ever needs five things of storage: read what is there,
//! append to the journal durably, replace the snapshot atomically (keeping a
//! backup, clearing the journal), and take and release an exclusive lock.
//! The local directory backend is in [`super::local`]; an object-store backend
//! implements the same trait with conditional writes.
//!
//! `state unlock --force` adds two more: read the lock together with a token
//! naming that very lock ([`Backend::lock_seen`]), and remove it only if it
//! still has that token ([`Backend::force_unlock`]).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// What a backend holds for one stack.
#[derive(Clone, Debug, Default)]
pub struct Stored {
    /// The snapshot's bytes, if one was ever written.
    pub snapshot: Option<Vec<u8>>,
    /// The journal's bytes (empty when compacted).
    pub journal: Vec<u8>,
}

/// Who holds a stack's lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// The command being run (`up`, `destroy`, …).
    pub command: String,
    /// When the lock was taken (RFC 3339).
    pub since: String,
    /// When the lock lapses unless its holder renews it (RFC 3339), for
    /// backends whose locks are leases (S3); a lapsed lease's holder is
    /// taken to be gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

impl LockInfo {
    /// A lock for this process running `command`.
    pub fn here(command: &str) -> LockInfo {
        let host = hostname::get().map(|h| h.to_string_lossy().into_owned()).unwrap_or_else(|_| "unknown".into());
        let since =
            time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        LockInfo { host, pid: std::process::id(), command: command.to_owned(), since, expires: None }
    }
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` (pid {} on {}) since {}", self.command, self.pid, self.host, self.since)?;
        match &self.expires {
            Some(e) => write!(f, ", lease until {e}"),
            None => Ok(()),
        }
    }
}

/// A lock as read for `state unlock --force`: who holds it, and a token
/// that names this very lock (an object's ETag, a lock file's content), so
/// that only the lock shown is removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockSeen {
    /// Who holds it, as the lock says (`None`: the lock cannot be read).
    pub info: Option<LockInfo>,
    /// Where the lock is (a path or URL), for messages.
    pub location: String,
    /// What names this very lock; [`Backend::force_unlock`] compares it.
    pub token: String,
}

impl std::fmt::Display for LockSeen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.info {
            Some(i) => write!(f, "{i}")?,
            None => write!(f, "an unreadable lock")?,
        }
        write!(f, " ({}, version {})", self.location, self.token)
    }
}

/// Where stacks' states live.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// A human description (a path or URL) for messages.
    fn describe(&self, stack: &str) -> String;
    /// The snapshot's location, for messages about it.
    fn snapshot_location(&self, stack: &str) -> std::path::PathBuf;
    /// The journal's location, for messages about it.
    fn journal_location(&self, stack: &str) -> std::path::PathBuf;
    /// Reads the snapshot and journal.
    async fn load(&self, stack: &str) -> Result<Stored>;
    /// Appends bytes to the journal; returns once they are durable.
    async fn append_journal(&self, stack: &str, bytes: &[u8]) -> Result<()>;
    /// Replaces the snapshot atomically, keeping the previous one as a
    /// backup, then clears the journal.
    async fn write_snapshot(&self, stack: &str, bytes: &[u8]) -> Result<()>;
    /// Drops the journal's torn last line, if it has one; returns whether it
    /// did.
    async fn repair_journal(&self, stack: &str) -> Result<bool>;
    /// Takes the stack's lock, or fails with [`crate::Error::Locked`].
    async fn lock(&self, stack: &str, info: &LockInfo) -> Result<()>;
    /// Releases the lock this process holds.
    async fn unlock(&self, stack: &str) -> Result<()>;
    /// Who holds the lock, if anyone.
    async fn lock_holder(&self, stack: &str) -> Result<Option<LockInfo>>;
    /// The lock as it is now, with the token that names it, for
    /// `state unlock --force`; `None` when the stack is not locked.
    async fn lock_seen(&self, stack: &str) -> Result<Option<LockSeen>> {
        Ok(self.lock_holder(stack).await?.map(|info| LockSeen {
            token: serde_json::to_string(&info).unwrap_or_default(),
            location: self.describe(stack),
            info: Some(info),
        }))
    }
    /// Removes the lock `seen` even though its holder looks alive (its lease
    /// is live), but only if it is still that very lock: `Ok(true)` when
    /// removed, `Ok(false)` when it was released meanwhile, and
    /// [`crate::Error::LockChanged`] when another lock is there now.
    async fn force_unlock(&self, stack: &str, seen: &LockSeen) -> Result<bool> {
        let _ = seen;
        Err(crate::Error::Refused(format!("{}: this backend cannot remove a lock by force", self.describe(stack))))
    }
    /// The stacks this backend holds.
    async fn list_stacks(&self) -> Result<Vec<String>>;
    /// Total bytes this backend has written (for the benchmark).
    fn bytes_written(&self) -> u64;
}
