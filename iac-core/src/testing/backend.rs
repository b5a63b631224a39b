//! A state backend that fails on demand, and the kill switch that lets a
//! test "kill" a run in process.
//!
//! A real kill stops everything at one instant: nothing more reaches the
//! disk and nothing more reaches the cloud. [`KillSwitch`] does the same in
//! process: once pulled, the [`TestProvider`](super::TestProvider) sharing
//! it refuses every call without acting and [`FaultyBackend`] refuses every
//! write, so whatever the doomed run still does changes nothing. The test
//! then releases the switch and starts the next run, which finds exactly
//! what a run after a real kill would.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::state::backend::LockSeen;
use crate::state::{Backend, LockInfo, Stored};

/// Freezes the test cloud and the test backend at once (see the module).
#[derive(Clone, Debug, Default)]
pub struct KillSwitch(Arc<AtomicBool>);

impl KillSwitch {
    /// Kills: from now on nothing reaches the cloud or the state.
    pub fn pull(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether the run was killed.
    pub fn pulled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
    /// Starts the world again, for the next run.
    pub fn release(&self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// A backend wrapping another that fails chosen journal appends, can kill
/// the run at a chosen append, and writes nothing once its kill switch is
/// pulled. Locks pass through: the OS releases a dead process's locks.
pub struct FaultyBackend {
    inner: Arc<dyn Backend>,
    switch: KillSwitch,
    appends: AtomicU64,
    fail_appends: Mutex<BTreeSet<u64>>,
    kill_at_append: Mutex<Option<u64>>,
}

impl FaultyBackend {
    /// Wraps `inner`; `switch` is shared with the test cloud.
    pub fn new(inner: Arc<dyn Backend>, switch: KillSwitch) -> FaultyBackend {
        FaultyBackend {
            inner,
            switch,
            appends: AtomicU64::new(0),
            fail_appends: Mutex::default(),
            kill_at_append: Mutex::default(),
        }
    }

    /// The `n`th journal append from now (counting from 1) fails, writing
    /// nothing.
    pub fn fail_append(&self, n: u64) {
        let at = self.appends.load(Ordering::SeqCst) + n;
        self.fail_appends.lock().unwrap().insert(at);
    }

    /// The run is killed just before its `n`th journal append from now
    /// (that append and everything after it is lost).
    pub fn kill_at_append(&self, n: u64) {
        *self.kill_at_append.lock().unwrap() = Some(self.appends.load(Ordering::SeqCst) + n);
    }

    /// Removes every injected fault (the kill switch is released apart).
    pub fn clear_faults(&self) {
        self.fail_appends.lock().unwrap().clear();
        *self.kill_at_append.lock().unwrap() = None;
    }

    /// How many appends were asked for.
    pub fn appends(&self) -> u64 {
        self.appends.load(Ordering::SeqCst)
    }

    fn refuse_if_killed(&self, stack: &str) -> Result<()> {
        if self.switch.pulled() {
            return Err(Error::backend(self.inner.describe(stack), "killed (injected)"));
        }
        Ok(())
    }
}

#[async_trait]
impl Backend for FaultyBackend {
    fn describe(&self, stack: &str) -> String {
        self.inner.describe(stack)
    }
    fn snapshot_location(&self, stack: &str) -> PathBuf {
        self.inner.snapshot_location(stack)
    }
    fn journal_location(&self, stack: &str) -> PathBuf {
        self.inner.journal_location(stack)
    }
    async fn load(&self, stack: &str) -> Result<Stored> {
        self.inner.load(stack).await
    }
    async fn append_journal(&self, stack: &str, bytes: &[u8]) -> Result<()> {
        self.refuse_if_killed(stack)?;
        let n = self.appends.fetch_add(1, Ordering::SeqCst) + 1;
        if *self.kill_at_append.lock().unwrap() == Some(n) {
            self.switch.pull();
            return self.refuse_if_killed(stack);
        }
        if self.fail_appends.lock().unwrap().contains(&n) {
            return Err(Error::backend(self.inner.describe(stack), format!("append {n} failed (injected)")));
        }
        self.inner.append_journal(stack, bytes).await
    }
    async fn write_snapshot(&self, stack: &str, bytes: &[u8]) -> Result<()> {
        self.refuse_if_killed(stack)?;
        self.inner.write_snapshot(stack, bytes).await
    }
    async fn repair_journal(&self, stack: &str) -> Result<bool> {
        self.refuse_if_killed(stack)?;
        self.inner.repair_journal(stack).await
    }
    async fn lock(&self, stack: &str, info: &LockInfo) -> Result<()> {
        self.inner.lock(stack, info).await
    }
    async fn unlock(&self, stack: &str) -> Result<()> {
        self.inner.unlock(stack).await
    }
    async fn lock_holder(&self, stack: &str) -> Result<Option<LockInfo>> {
        self.inner.lock_holder(stack).await
    }
    async fn lock_seen(&self, stack: &str) -> Result<Option<LockSeen>> {
        self.inner.lock_seen(stack).await
    }
    async fn force_unlock(&self, stack: &str, seen: &LockSeen) -> Result<bool> {
        self.inner.force_unlock(stack, seen).await
    }
    async fn list_stacks(&self) -> Result<Vec<String>> {
        self.inner.list_stacks().await
    }
    fn bytes_written(&self) -> u64 {
        self.inner.bytes_written()
    }
}
