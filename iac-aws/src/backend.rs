//! `S3Backend`: stacks' states in S3, for teams sharing stacks across
//! machines (`IAC_BACKEND=s3://bucket/prefix`), on AWS or any S3-compatible
//! store that has the conditional operations below (docs/team-backend.md).
//!
//! Each stack of project `p` lives under `prefix/p/<stack>/`:
//!
//! ```text
//! snapshot.json           the snapshot, replaced only with If-Match on the
//!                         ETag this run read (If-None-Match: * when there
//!                         was none), so a lost update is impossible
//! snapshot.json.bak       the previous snapshot
//! journal/000000000001.jsonl, …
//!                         the journal, one object per durable append,
//!                         created with If-None-Match: * (S3 cannot append)
//! lock.json               the lock: created with If-None-Match: *, a lease
//!                         its holder renews with If-Match; a lapsed lease
//!                         may be taken over (atomically, with If-Match);
//!                         released with a delete If-Match on its ETag
//! .probe/<run>            the probe's scratch object, removed after it
//! ```
//!
//! **The probe.** Before its first lock (or other write) the backend probes,
//! once per store for the run, every conditional operation it relies on, on
//! a scratch object of its own under the stack's prefix: a create with
//! `If-None-Match: *` must be refused when the object exists; a replace
//! with `If-Match`, a copy with `x-amz-copy-source-if-match` and a delete
//! with `If-Match` must each be refused on a stale ETag and done on the
//! current one. A store may show it lacks one by answering 501, 400 (or
//! another client error that is not about access), by refusing even the
//! current ETag, or by silently ignoring the header; all count as missing.
//!
//! - Conditional creates and replaces have no safe substitute (the lock is
//!   taken by a create and renewed, taken over and released by replaces;
//!   the snapshot is replaced on the ETag read): a store lacking either is
//!   refused at once, before any cloud call, naming the operation.
//! - Conditional copies only keep `snapshot.json.bak` the snapshot this run
//!   read. Without them the backup is written from the bytes this run read,
//!   which is the same object by construction.
//! - Conditional deletes release the lock (and `state unlock` removes one)
//!   only if it is still the one this run holds. Without them the lock is
//!   released by a conditional *replace* instead: `lock.json` is overwritten,
//!   `If-Match` on the holder's ETag, with a body marked `released` (and a
//!   lease that has lapsed, for older versions of this tool). A released
//!   lock names no holder; the next run takes it over with `If-Match` on
//!   its ETag, exactly as it takes over a lapsed lease. This is as atomic
//!   as the conditional delete it replaces: the store decides the write
//!   against the ETag, so it cannot overwrite a lock another run has taken
//!   meanwhile.
//!
//!   What is *not* safe, and not done, is to read the lock, see it is still
//!   ours, then delete it unconditionally. Between the read and the delete
//!   this run's lease can lapse (a pause, a slow store, an SDK retry that
//!   lands late, clocks that disagree) and another run take it over; the
//!   delete then removes the new holder's lock and a third run may lock a
//!   stack the second is still writing. Bounding the gap by the lease would
//!   need bounds on request delays and clock skew that nothing enforces.
//!
//! A lock that cannot be released after a run finished never fails the
//! run (see `Session`): the lease lapses by itself.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use iac_core::cli::BackendResolver;
use iac_core::state::{Backend, LockInfo, LockSeen, Stored};
use iac_core::{Error, Result};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::{AwsProvider, AwsSettings};

/// How long a lock lasts unless renewed; its holder renews it every third
/// of this. A run that dies leaves a lease that lapses within this time.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// The `IAC_BACKEND` resolver for `s3://bucket/prefix[?region=…]` URLs, for
/// [`iac_core::cli::Runner::backend_resolver`]. `IAC_LOCK_LEASE_SECONDS`
/// sets the lock's lease.
///
/// ```no_run
/// fn program(_: &iac_core::Stack) -> Result<(), iac_core::Error> { Ok(()) }
/// iac_core::cli::Runner::new("shop", program).backend_resolver(iac_aws::backend::resolver()).run();
/// ```
pub fn resolver() -> BackendResolver {
    Arc::new(|url: &str, project: &str| {
        url.starts_with("s3://").then(|| {
            let lease = match std::env::var("IAC_LOCK_LEASE_SECONDS") {
                Ok(s) => match s.parse::<u64>() {
                    Ok(n) if n >= 3 => Duration::from_secs(n),
                    _ => {
                        return Err(Error::Refused(format!(
                            "IAC_LOCK_LEASE_SECONDS `{s}`: want whole seconds, at least 3"
                        )))
                    }
                },
                Err(_) => DEFAULT_LEASE,
            };
            S3Backend::from_url(url, project).map(|b| Arc::new(b.with_lease(lease)) as Arc<dyn Backend>)
        })
    })
}

/// Stacks' states in an S3 bucket, locked and replaced with conditional
/// writes.
pub struct S3Backend {
    aws: AwsProvider,
    bucket: String,
    /// `prefix/project` (no leading or trailing slash).
    root: String,
    lease: Duration,
    stacks: Mutex<HashMap<String, StackObjects>>,
    /// What the store supports, probed once before the first write.
    capabilities: tokio::sync::OnceCell<Capabilities>,
    written: AtomicU64,
}

/// The conditional operations a store was found to have beyond the two it
/// must have (creates with `If-None-Match: *`, replaces with `If-Match`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// `DeleteObject` with `If-Match`. Without it a lock is released by a
    /// conditional replace with a released marker.
    pub conditional_delete: bool,
    /// `CopyObject` with `x-amz-copy-source-if-match`. Without it the
    /// snapshot's backup is written from the bytes this run read.
    pub conditional_copy: bool,
}

/// What this run knows of one stack's objects.
#[derive(Default)]
struct StackObjects {
    /// The snapshot's ETag when this run read it (`None`: there was none).
    snapshot_etag: Option<String>,
    /// The snapshot's bytes as this run read them, for its backup on a
    /// store without conditional copies.
    snapshot_bytes: Option<Arc<Vec<u8>>>,
    /// The next journal object's number.
    next_journal: u64,
    loaded: bool,
    held: Option<HeldLock>,
}

/// A lock this run holds, and its renewal.
struct HeldLock {
    /// This acquisition's id, written in the lock's body.
    run: String,
    etag: Arc<Mutex<String>>,
    /// When the lease lapses unless renewed again.
    expires: Arc<Mutex<OffsetDateTime>>,
    lost: Arc<AtomicBool>,
    stop: Arc<tokio::sync::Notify>,
    renewal: tokio::task::JoinHandle<()>,
}

/// `lock.json`'s body: who holds it, this acquisition's id, and whether it
/// was released (on a store without conditional deletes the released lock
/// stays, naming no holder).
#[derive(Serialize, Deserialize)]
struct LockBody {
    #[serde(flatten)]
    info: LockInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    run: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    released: Option<String>,
}

impl LockBody {
    fn parse(bytes: &[u8]) -> Option<LockBody> {
        serde_json::from_slice(bytes).ok()
    }

    fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("lock bodies serialize")
    }

    /// A released lock's body: lapsed already, so that older versions of
    /// this tool take it over as they take over a lapsed lease.
    fn released() -> LockBody {
        let now = rfc3339(OffsetDateTime::now_utc());
        let mut info = LockInfo::here("unlock");
        info.expires = Some(now.clone());
        LockBody { info, run: None, released: Some(now) }
    }
}

/// The operations the probe checks, as messages name them.
const CREATE: &str = "conditional creates (PutObject with `If-None-Match: *`)";
const REPLACE: &str = "conditional replaces (PutObject with `If-Match`)";
const COPY: &str = "conditional copies (CopyObject with `x-amz-copy-source-if-match`)";
const DELETE: &str = "conditional deletes (DeleteObject with `If-Match`)";

/// An ETag no object has.
const STALE_ETAG: &str = "\"00000000000000000000000000000000\"";

/// How a store answered one conditional request of the probe.
enum Answer {
    /// Done; the object's new ETag (empty for a delete).
    Done(String),
    /// Refused on its precondition (412, or 409 on a race).
    Refused,
    /// Not implemented, or the header rejected: what the store said.
    Unsupported(String),
}

impl S3Backend {
    /// A backend for `s3://bucket[/prefix][?region=…]`, holding `project`'s
    /// stacks under `prefix/project/`.
    pub fn from_url(url: &str, project: &str) -> Result<S3Backend> {
        let bad = |why: &str| Error::Refused(format!("IAC_BACKEND `{url}`: {why}"));
        let rest = url.strip_prefix("s3://").ok_or_else(|| bad("not an s3:// URL"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut region = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("region", r)) if !r.is_empty() => region = Some(r.to_owned()),
                _ => return Err(bad(&format!("unknown parameter `{pair}` (only `region=` is understood)"))),
            }
        }
        let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
        let mut checks = iac_core::Checks::default();
        crate::s3::validate_bucket_name(&mut checks, bucket);
        let problems: Vec<String> = checks.into_problems().into_iter().map(|(_, m)| m).collect();
        if !problems.is_empty() {
            return Err(bad(&problems.join("; ")));
        }
        let prefix = prefix.trim_matches('/');
        let root = if prefix.is_empty() { project.to_owned() } else { format!("{prefix}/{project}") };
        let aws = AwsProvider::new(AwsSettings { region, ..Default::default() });
        Ok(S3Backend {
            aws,
            bucket: bucket.to_owned(),
            root,
            lease: DEFAULT_LEASE,
            stacks: Mutex::default(),
            capabilities: tokio::sync::OnceCell::new(),
            written: AtomicU64::new(0),
        })
    }

    /// Sets how long a lock lasts unless renewed.
    pub fn with_lease(mut self, lease: Duration) -> S3Backend {
        self.lease = lease;
        self
    }

    /// What the store supports, probing it first (once for this backend)
    /// on a scratch object under `stack`'s prefix; refuses a store that
    /// lacks conditional creates or replaces.
    pub async fn capabilities(&self, stack: &str) -> Result<Capabilities> {
        self.capabilities.get_or_try_init(|| self.probe(stack)).await.copied()
    }

    fn key(&self, stack: &str, name: &str) -> String {
        format!("{}/{stack}/{name}", self.root)
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    fn err<E>(&self, key: &str, operation: &str, e: SdkError<E, HttpResponse>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        Error::backend(self.url(key), crate::error::aws_err(operation, e).to_string())
    }

    async fn client(&self) -> &Client {
        self.aws.s3().await
    }

    fn with_stack<T>(&self, stack: &str, f: impl FnOnce(&mut StackObjects) -> T) -> T {
        let mut stacks = self.stacks.lock().unwrap_or_else(|e| e.into_inner());
        f(stacks.entry(stack.to_owned()).or_default())
    }

    /// The object's bytes and ETag, or `None` when there is none.
    async fn get(&self, key: &str) -> Result<Option<(Vec<u8>, String)>> {
        match self.client().await.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(o) => {
                let etag = o.e_tag().unwrap_or_default().to_owned();
                let bytes = o.body.collect().await.map_err(|e| Error::backend(self.url(key), e.to_string()))?;
                Ok(Some((bytes.into_bytes().to_vec(), etag)))
            }
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(self.err(key, "GetObject", e)),
        }
    }

    /// Every key under `prefix`, in order.
    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut pages =
            self.client().await.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.err(prefix, "ListObjectsV2", e))?;
            keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
        }
        keys.sort();
        Ok(keys)
    }

    /// Writes `bytes` at `key` only if `condition` holds; `Ok(None)` when
    /// the store refused on the precondition.
    async fn put_if(&self, key: &str, bytes: Vec<u8>, condition: &Condition) -> Result<Option<String>> {
        put_if(self.client().await, &self.bucket, key, bytes, condition)
            .await
            .map_err(|e| self.err(key, "PutObject", e))
    }

    /// Probes the store's conditional operations on a scratch object of
    /// this run under `stack`'s prefix, then removes it.
    async fn probe(&self, stack: &str) -> Result<Capabilities> {
        let key = self.key(stack, &format!(".probe/{}", run_id()));
        let copy = format!("{key}.copy");
        let found = self.probe_at(&key, &copy).await;
        let client = self.client().await;
        for k in [&key, &copy] {
            if let Err(e) = client.delete_object().bucket(&self.bucket).key(k.as_str()).send().await {
                tracing::warn!(key = %k, error = %crate::error::aws_err("DeleteObject", e), "could not remove the probe's object");
            }
        }
        let found = found?;
        if !found.conditional_delete {
            tracing::info!(bucket = %self.bucket, "the store has no {DELETE}: locks are released by a conditional replace");
        }
        if !found.conditional_copy {
            tracing::info!(bucket = %self.bucket, "the store has no {COPY}: backups are written from the snapshot read");
        }
        Ok(found)
    }

    async fn probe_at(&self, key: &str, copy: &str) -> Result<Capabilities> {
        let missing = |operation: &str, how: String| {
            Error::backend(
                self.url(key),
                format!(
                    "this store does not support {operation}: {how}. The state backend takes a stack's lock by a \
                     conditional create and renews, takes over and releases it and replaces the snapshot by \
                     conditional replaces; without either two runs could both hold a stack's lock and one \
                     overwrite the other's state, so this store is refused before anything is changed \
                     (docs/team-backend.md lists what a store must support)"
                ),
            )
        };
        let unsupported = |a: String| format!("it answered {a}");
        let body = |n: u8| format!("iac: a probe of this store's conditional writes ({n})\n").into_bytes();

        // Create: done when absent, refused when present.
        let etag = match self.probe_put(key, body(1), &Condition::Absent).await? {
            Answer::Done(e) => e,
            Answer::Refused => return Err(missing(CREATE, "it refused to create an object that did not exist".into())),
            Answer::Unsupported(a) => return Err(missing(CREATE, unsupported(a))),
        };
        match self.probe_put(key, body(2), &Condition::Absent).await? {
            Answer::Refused => {}
            Answer::Done(_) => {
                return Err(missing(
                    CREATE,
                    "it ignored `If-None-Match: *` (it overwrote an object that exists)".into(),
                ))
            }
            Answer::Unsupported(a) => return Err(missing(CREATE, unsupported(a))),
        }
        // Replace: refused on a stale ETag, done on the current one.
        match self.probe_put(key, body(3), &Condition::Matches(STALE_ETAG.into())).await? {
            Answer::Refused => {}
            Answer::Done(_) => {
                return Err(missing(
                    REPLACE,
                    "it ignored `If-Match` (it overwrote an object whose ETag differs)".into(),
                ))
            }
            Answer::Unsupported(a) => return Err(missing(REPLACE, unsupported(a))),
        }
        let etag = match self.probe_put(key, body(4), &Condition::Matches(etag)).await? {
            Answer::Done(e) => e,
            Answer::Refused => {
                return Err(missing(REPLACE, "it refused a replace on the object's current ETag".into()))
            }
            Answer::Unsupported(a) => return Err(missing(REPLACE, unsupported(a))),
        };
        // Copy: the same, with the source's ETag.
        let conditional_copy = match self.probe_copy(key, copy, STALE_ETAG).await? {
            Answer::Refused => matches!(self.probe_copy(key, copy, &etag).await?, Answer::Done(_)),
            Answer::Done(_) | Answer::Unsupported(_) => false,
        };
        // Delete: refused on a stale ETag; on the current one, done, and
        // the object gone.
        let conditional_delete = match self.probe_delete(key, STALE_ETAG).await? {
            Answer::Refused => {
                matches!(self.probe_delete(key, &etag).await?, Answer::Done(_)) && self.get(key).await?.is_none()
            }
            Answer::Done(_) | Answer::Unsupported(_) => false,
        };
        Ok(Capabilities { conditional_delete, conditional_copy })
    }

    async fn probe_put(&self, key: &str, bytes: Vec<u8>, condition: &Condition) -> Result<Answer> {
        let client = self.client().await;
        let req = client.put_object().bucket(&self.bucket).key(key).body(ByteStream::from(bytes));
        let req = match condition {
            Condition::Absent => req.if_none_match("*"),
            Condition::Matches(etag) => req.if_match(etag),
        };
        match req.send().await {
            Ok(o) => Ok(Answer::Done(o.e_tag().unwrap_or_default().to_owned())),
            Err(e) => match probe_answer(&e) {
                Some(answer) => Ok(answer),
                None => Err(self.err(key, "PutObject", e)),
            },
        }
    }

    async fn probe_copy(&self, key: &str, to: &str, etag: &str) -> Result<Answer> {
        let client = self.client().await;
        let req = client
            .copy_object()
            .bucket(&self.bucket)
            .key(to)
            .copy_source(format!("{}/{key}", self.bucket))
            .copy_source_if_match(etag);
        match req.send().await {
            Ok(_) => Ok(Answer::Done(String::new())),
            Err(e) => match probe_answer(&e) {
                Some(answer) => Ok(answer),
                None => Err(self.err(to, "CopyObject", e)),
            },
        }
    }

    async fn probe_delete(&self, key: &str, etag: &str) -> Result<Answer> {
        match self.client().await.delete_object().bucket(&self.bucket).key(key).if_match(etag).send().await {
            Ok(_) => Ok(Answer::Done(String::new())),
            Err(e) => match probe_answer(&e) {
                Some(answer) => Ok(answer),
                None => Err(self.err(key, "DeleteObject", e)),
            },
        }
    }

    /// Removes the lock at `key` only if it still has `etag`: a conditional
    /// delete, or on a store without them a conditional replace with a
    /// released lock (see the module's notes). `Ok(false)`: it has another
    /// ETag now, or is gone.
    async fn remove_lock_if(&self, key: &str, etag: &str, caps: Capabilities) -> Result<bool> {
        if caps.conditional_delete {
            match self.client().await.delete_object().bucket(&self.bucket).key(key).if_match(etag).send().await {
                Ok(_) => Ok(true),
                Err(e) if is_conflict(&e) => Ok(false),
                Err(e) => Err(self.err(key, "DeleteObject", e)),
            }
        } else {
            let released = LockBody::released().to_bytes();
            Ok(self.put_if(key, released, &Condition::Matches(etag.to_owned())).await?.is_some())
        }
    }

    /// This run's lock body for `info`, leased from now.
    fn lease_body(&self, info: &LockInfo, run: &str) -> Vec<u8> {
        let mut info = info.clone();
        info.expires = Some(rfc3339(OffsetDateTime::now_utc() + self.lease));
        LockBody { info, run: Some(run.to_owned()), released: None }.to_bytes()
    }

    /// Fails if this run's lock on `stack` was lost (its lease lapsed and
    /// another run took it, or it was broken): writing on would race.
    fn ensure_held(&self, stack: &str) -> Result<()> {
        let lost = self.with_stack(stack, |s| s.held.as_ref().map(|h| h.lost.load(Ordering::SeqCst)));
        match lost {
            Some(true) => Err(Error::backend(
                self.url(&self.key(stack, "lock.json")),
                "this run's lock was lost (its lease could not be renewed and another run may hold it now); \
                 stopping before writing state",
            )),
            _ => Ok(()),
        }
    }

    /// Takes the lock at `key` when `create` found one there: over a
    /// released lock or a lapsed lease, only if nobody else did meanwhile.
    async fn take_over(&self, stack: &str, key: &str, info: &LockInfo, run: &str) -> Result<String> {
        let another = || Error::Locked { stack: stack.to_owned(), holder: "another run".into() };
        let Some((bytes, etag)) = self.get(key).await? else {
            // Released between the two calls: try once more.
            return self.put_if(key, self.lease_body(info, run), &Condition::Absent).await?.ok_or_else(another);
        };
        match LockBody::parse(&bytes) {
            Some(b) if b.released.is_some() || lapsed(&b.info) => {
                let etag = self.put_if(key, self.lease_body(info, run), &Condition::Matches(etag)).await?;
                let etag = etag.ok_or_else(another)?;
                if b.released.is_none() {
                    // Its holder stopped renewing (it died).
                    tracing::warn!(stack, holder = %b.info, "took over a lapsed state lock");
                }
                Ok(etag)
            }
            Some(b) => Err(Error::Locked { stack: stack.to_owned(), holder: b.info.to_string() }),
            None => Err(Error::Locked {
                stack: stack.to_owned(),
                holder: format!("an unreadable lock at {}", self.url(key)),
            }),
        }
    }

    fn start_renewal(&self, stack: &str, info: &LockInfo, run: String, etag: String) -> HeldLock {
        let etag = Arc::new(Mutex::new(etag));
        let expires = Arc::new(Mutex::new(OffsetDateTime::now_utc() + self.lease));
        let lost = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(tokio::sync::Notify::new());
        let (client, bucket, key) = (self.aws.clone(), self.bucket.clone(), self.key(stack, "lock.json"));
        let lease = self.lease;
        let mut next = LockBody { info: info.clone(), run: Some(run.clone()), released: None };
        let (etag2, expires2, lost2, stop2) = (etag.clone(), expires.clone(), lost.clone(), stop.clone());
        let renewal = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(lease / 3) => {}
                    _ = stop2.notified() => return,
                }
                let until = OffsetDateTime::now_utc() + lease;
                next.info.expires = Some(rfc3339(until));
                let current = etag2.lock().unwrap_or_else(|e| e.into_inner()).clone();
                match put_if(client.s3().await, &bucket, &key, next.to_bytes(), &Condition::Matches(current)).await {
                    Ok(Some(new)) => {
                        *etag2.lock().unwrap_or_else(|e| e.into_inner()) = new;
                        *expires2.lock().unwrap_or_else(|e| e.into_inner()) = until;
                    }
                    // Someone broke or took the lock.
                    Ok(None) => {
                        tracing::error!(%key, "lost the state lock: it was broken or taken over");
                        lost2.store(true, Ordering::SeqCst);
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(%key, error = %crate::error::aws_err("PutObject", e), "could not renew the state lock; retrying");
                        if OffsetDateTime::now_utc() >= *expires2.lock().unwrap_or_else(|e| e.into_inner()) {
                            lost2.store(true, Ordering::SeqCst);
                            return;
                        }
                    }
                }
            }
        });
        HeldLock { run, etag, expires, lost, stop, renewal }
    }

    /// Releases a lock this run holds: stops its renewal, then removes it
    /// if it is still this run's. A failure is [`Error::LockNotReleased`],
    /// naming the lock and when its lease lapses.
    async fn release(&self, stack: &str, held: HeldLock) -> Result<()> {
        let key = self.key(stack, "lock.json");
        // Let a renewal in flight finish, so its new ETag is known.
        held.stop.notify_one();
        let mut renewal = held.renewal;
        if tokio::time::timeout((self.lease / 3).min(Duration::from_secs(10)), &mut renewal).await.is_err() {
            renewal.abort();
        }
        if held.lost.load(Ordering::SeqCst) {
            // Another run may hold it now; it is not ours to remove.
            return Ok(());
        }
        let lapses = rfc3339(*held.expires.lock().unwrap_or_else(|e| e.into_inner()));
        let not_released = |e: Error| Error::LockNotReleased {
            stack: stack.to_owned(),
            location: self.url(&key),
            lapses: Some(lapses.clone()),
            message: e.to_string(),
        };
        let caps = self.capabilities(stack).await.map_err(not_released)?;
        let etag = held.etag.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if self.remove_lock_if(&key, &etag, caps).await.map_err(not_released)? {
            return Ok(());
        }
        // Not the ETag this run last knew: a renewal whose answer was lost
        // may have changed it. It is still ours if it still names this run.
        let Some((bytes, etag)) = self.get(&key).await.map_err(not_released)? else { return Ok(()) };
        let ours = LockBody::parse(&bytes).is_some_and(|b| b.released.is_none() && b.run.as_ref() == Some(&held.run));
        if !ours {
            tracing::warn!(%key, "this run's lock was taken over before it was released");
            return Ok(());
        }
        self.remove_lock_if(&key, &etag, caps).await.map_err(not_released)?;
        Ok(())
    }
}

/// A write's precondition.
enum Condition {
    /// `If-None-Match: *`: only if no object is there.
    Absent,
    /// `If-Match`: only if the object there has this ETag.
    Matches(String),
}

async fn put_if(
    client: &Client,
    bucket: &str,
    key: &str,
    bytes: Vec<u8>,
    condition: &Condition,
) -> std::result::Result<Option<String>, SdkError<aws_sdk_s3::operation::put_object::PutObjectError, HttpResponse>> {
    let req = client.put_object().bucket(bucket).key(key).body(ByteStream::from(bytes));
    let req = match condition {
        Condition::Absent => req.if_none_match("*"),
        Condition::Matches(etag) => req.if_match(etag),
    };
    match req.send().await {
        Ok(o) => Ok(Some(o.e_tag().unwrap_or_default().to_owned())),
        Err(e) if is_conflict(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// 412 Precondition Failed, or 409 when a concurrent conditional write won
/// (AWS's `ConditionalRequestConflict`), or 404 for `If-Match` on an object
/// that is gone: the condition did not hold.
fn is_conflict<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    match e {
        SdkError::ServiceError(s) => {
            matches!(s.raw().status().as_u16(), 412 | 409 | 404)
                || matches!(s.err().code(), Some("PreconditionFailed" | "ConditionalRequestConflict" | "NoSuchKey"))
        }
        _ => false,
    }
}

/// What a refused probe request says: refused on its precondition, or the
/// operation not supported (501; 400 or another client error that is not
/// about access, throttling or a timeout). `None`: an error, no verdict.
fn probe_answer<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> Option<Answer> {
    let SdkError::ServiceError(s) = e else { return None };
    let status = s.raw().status().as_u16();
    let code = s.err().code().unwrap_or_default();
    if matches!(status, 412 | 409) || matches!(code, "PreconditionFailed" | "ConditionalRequestConflict") {
        return Some(Answer::Refused);
    }
    let transient_or_access = matches!(status, 401 | 403 | 404 | 408 | 429)
        || matches!(
            code,
            "RequestTimeout" | "ExpiredToken" | "InvalidToken" | "TokenRefreshRequired" | "SlowDown" | "AccessDenied"
        );
    if status == 501 || ((400..500).contains(&status) && !transient_or_access) {
        let message = s.err().message().unwrap_or_default();
        return Some(Answer::Unsupported(
            format!("{status} {code}: {message}").trim_end_matches([' ', ':']).to_owned(),
        ));
    }
    None
}

fn is_missing<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    match e {
        SdkError::ServiceError(s) => {
            s.raw().status().as_u16() == 404 || matches!(s.err().code(), Some("NoSuchKey" | "NotFound"))
        }
        _ => false,
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn lapsed(info: &LockInfo) -> bool {
    info.expires
        .as_deref()
        .and_then(|e| OffsetDateTime::parse(e, &Rfc3339).ok())
        .is_some_and(|e| e <= OffsetDateTime::now_utc())
}

/// An id for one lock acquisition or probe of this process.
fn run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    static N: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i128(OffsetDateTime::now_utc().unix_timestamp_nanos());
    h.write_u64(N.fetch_add(1, Ordering::Relaxed));
    format!("{}-{:016x}", std::process::id(), h.finish())
}

/// `journal/000000000042.jsonl` → 42.
fn journal_number(key: &str) -> Option<u64> {
    key.rsplit('/').next()?.strip_suffix(".jsonl")?.parse().ok()
}

#[async_trait]
impl Backend for S3Backend {
    fn describe(&self, stack: &str) -> String {
        format!("s3://{}/{}/{stack}", self.bucket, self.root)
    }
    fn snapshot_location(&self, stack: &str) -> PathBuf {
        PathBuf::from(self.url(&self.key(stack, "snapshot.json")))
    }
    fn journal_location(&self, stack: &str) -> PathBuf {
        PathBuf::from(self.url(&self.key(stack, "journal/")))
    }

    async fn load(&self, stack: &str) -> Result<Stored> {
        let snapshot = self.get(&self.key(stack, "snapshot.json")).await?;
        let keys = self.list(&self.key(stack, "journal/")).await?;
        let mut journal = Vec::new();
        for key in &keys {
            // A journal object deleted by a compaction between the listing
            // and this read is already in the snapshot.
            if let Some((bytes, _)) = self.get(key).await? {
                journal.extend_from_slice(&bytes);
            }
        }
        let next = keys.iter().filter_map(|k| journal_number(k)).max().unwrap_or(0) + 1;
        let etag = snapshot.as_ref().map(|(_, e)| e.clone());
        let bytes = snapshot.as_ref().map(|(b, _)| Arc::new(b.clone()));
        self.with_stack(stack, |s| {
            s.snapshot_etag = etag;
            s.snapshot_bytes = bytes;
            s.next_journal = s.next_journal.max(next);
            s.loaded = true;
        });
        Ok(Stored { snapshot: snapshot.map(|(b, _)| b), journal })
    }

    async fn append_journal(&self, stack: &str, bytes: &[u8]) -> Result<()> {
        self.ensure_held(stack)?;
        if !self.with_stack(stack, |s| s.loaded) {
            self.load(stack).await?;
        }
        let n = self.with_stack(stack, |s| {
            let n = s.next_journal;
            s.next_journal += 1;
            n
        });
        let key = self.key(stack, &format!("journal/{n:012}.jsonl"));
        match self.put_if(&key, bytes.to_vec(), &Condition::Absent).await? {
            Some(_) => {
                self.written.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                Ok(())
            }
            None => Err(Error::backend(
                self.url(&key),
                "this journal object already exists: another run is writing this stack's state",
            )),
        }
    }

    async fn write_snapshot(&self, stack: &str, bytes: &[u8]) -> Result<()> {
        self.ensure_held(stack)?;
        let caps = self.capabilities(stack).await?;
        if !self.with_stack(stack, |s| s.loaded) {
            self.load(stack).await?;
        }
        let key = self.key(stack, "snapshot.json");
        let (etag, read) = self.with_stack(stack, |s| (s.snapshot_etag.clone(), s.snapshot_bytes.clone()));
        let bak = self.key(stack, "snapshot.json.bak");
        match (&etag, read) {
            (Some(etag), _) if caps.conditional_copy => {
                self.client()
                    .await
                    .copy_object()
                    .bucket(&self.bucket)
                    .key(&bak)
                    .copy_source(format!("{}/{key}", self.bucket))
                    .copy_source_if_match(etag)
                    .send()
                    .await
                    .map_err(|e| self.err(&bak, "CopyObject", e))?;
            }
            // The snapshot this run read is the one with `etag`: the same
            // backup a conditional copy makes, without asking the store.
            (Some(_), Some(read)) => {
                self.client()
                    .await
                    .put_object()
                    .bucket(&self.bucket)
                    .key(&bak)
                    .body(ByteStream::from(read.to_vec()))
                    .send()
                    .await
                    .map_err(|e| self.err(&bak, "PutObject", e))?;
            }
            _ => {}
        }
        let condition = etag.map_or(Condition::Absent, Condition::Matches);
        let Some(new) = self.put_if(&key, bytes.to_vec(), &condition).await? else {
            return Err(Error::backend(
                self.url(&key),
                "the snapshot changed since this run read it (another writer): refusing to overwrite it",
            ));
        };
        self.written.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        self.with_stack(stack, |s| {
            s.snapshot_etag = Some(new);
            s.snapshot_bytes = Some(Arc::new(bytes.to_vec()));
        });
        // The snapshot records the last journal sequence it holds, so a
        // crash before these deletes replays nothing twice.
        for key in self.list(&self.key(stack, "journal/")).await? {
            self.client()
                .await
                .delete_object()
                .bucket(&self.bucket)
                .key(&key)
                .send()
                .await
                .map_err(|e| self.err(&key, "DeleteObject", e))?;
        }
        Ok(())
    }

    async fn repair_journal(&self, stack: &str) -> Result<bool> {
        let Some(last) = self.list(&self.key(stack, "journal/")).await?.pop() else { return Ok(false) };
        let Some((bytes, etag)) = self.get(&last).await? else { return Ok(false) };
        if bytes.is_empty() || bytes.ends_with(b"\n") {
            return Ok(false);
        }
        let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        match self.put_if(&last, bytes[..keep].to_vec(), &Condition::Matches(etag)).await? {
            Some(_) => Ok(true),
            None => Err(Error::backend(self.url(&last), "the journal changed while it was being repaired")),
        }
    }

    async fn lock(&self, stack: &str, info: &LockInfo) -> Result<()> {
        self.capabilities(stack).await?;
        let key = self.key(stack, "lock.json");
        let run = run_id();
        let etag = match self.put_if(&key, self.lease_body(info, &run), &Condition::Absent).await? {
            Some(etag) => etag,
            None => self.take_over(stack, &key, info, &run).await?,
        };
        let held = self.start_renewal(stack, info, run, etag);
        if let Some(old) = self.with_stack(stack, |s| s.held.replace(held)) {
            old.renewal.abort();
        }
        Ok(())
    }

    async fn unlock(&self, stack: &str) -> Result<()> {
        if let Some(held) = self.with_stack(stack, |s| s.held.take()) {
            return self.release(stack, held).await;
        }
        // `state unlock`: remove a released lock, or one whose lease lapsed
        // (its holder is gone); a live lease's holder is still running.
        let caps = self.capabilities(stack).await?;
        let key = self.key(stack, "lock.json");
        let Some((bytes, etag)) = self.get(&key).await? else { return Ok(()) };
        if let Some(b) = LockBody::parse(&bytes) {
            if b.released.is_some() {
                return Ok(());
            }
            if !lapsed(&b.info) {
                return Err(Error::Locked {
                    stack: stack.to_owned(),
                    holder: format!(
                        "{}, a live lease: stop that run or wait until the lease lapses \
                         (if that run is dead, `state unlock --force` removes it)",
                        b.info
                    ),
                });
            }
        }
        // Changed meanwhile (taken over or released): nothing of ours to do.
        self.remove_lock_if(&key, &etag, caps).await?;
        Ok(())
    }

    async fn lock_holder(&self, stack: &str) -> Result<Option<LockInfo>> {
        let body = self.get(&self.key(stack, "lock.json")).await?.and_then(|(b, _)| LockBody::parse(&b));
        Ok(body.filter(|b| b.released.is_none()).map(|b| b.info))
    }

    async fn lock_seen(&self, stack: &str) -> Result<Option<LockSeen>> {
        let key = self.key(stack, "lock.json");
        let Some((bytes, etag)) = self.get(&key).await? else { return Ok(None) };
        let body = LockBody::parse(&bytes);
        if body.as_ref().is_some_and(|b| b.released.is_some()) {
            return Ok(None);
        }
        Ok(Some(LockSeen { info: body.map(|b| b.info), location: self.url(&key), token: etag }))
    }

    async fn force_unlock(&self, stack: &str, seen: &LockSeen) -> Result<bool> {
        let caps = self.capabilities(stack).await?;
        let key = self.key(stack, "lock.json");
        if self.remove_lock_if(&key, &seen.token, caps).await? {
            return Ok(true);
        }
        match self.lock_seen(stack).await? {
            None => Ok(false),
            Some(now) => Err(Error::LockChanged {
                stack: stack.to_owned(),
                location: now.location.clone(),
                holder: now.to_string(),
            }),
        }
    }

    async fn list_stacks(&self) -> Result<Vec<String>> {
        let prefix = format!("{}/", self.root);
        let mut stacks: Vec<String> = self
            .list(&prefix)
            .await?
            .iter()
            .filter_map(|k| {
                let rest = k.strip_prefix(&prefix)?;
                let (stack, object) = rest.split_once('/')?;
                (object == "snapshot.json" || object.starts_with("journal/")).then(|| stack.to_owned())
            })
            .collect();
        stacks.dedup();
        Ok(stacks)
    }

    fn bytes_written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_bucket_a_prefix_and_a_region() {
        let b = S3Backend::from_url("s3://team-states/infra/?region=eu-west-1", "shop").unwrap();
        assert_eq!((b.bucket.as_str(), b.root.as_str()), ("team-states", "infra/shop"));
        assert_eq!(b.aws.settings().region.as_deref(), Some("eu-west-1"));
        assert_eq!(b.key("prod", "lock.json"), "infra/shop/prod/lock.json");
        let b = S3Backend::from_url("s3://team-states", "shop").unwrap();
        assert_eq!(b.root, "shop");
        for bad in ["s3://", "s3://Bad_Bucket/x", "s3://ok-bucket?colour=blue"] {
            let e = S3Backend::from_url(bad, "shop").err().expect(bad).to_string();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn journal_objects_are_numbered_in_order() {
        assert_eq!(journal_number("p/s/journal/000000000042.jsonl"), Some(42));
        assert_eq!(journal_number("p/s/journal/notes.txt"), None);
        assert!(format!("{:012}", 9) < format!("{:012}", 10));
    }

    #[test]
    fn a_released_lock_reads_as_lapsed_to_older_versions_and_free_to_this_one() {
        let body = LockBody::released().to_bytes();
        let old: LockInfo = serde_json::from_slice(&body).unwrap();
        assert!(lapsed(&old), "an older version takes it over as a lapsed lease");
        assert!(LockBody::parse(&body).unwrap().released.is_some());
        let held = LockBody { info: LockInfo::here("up"), run: Some(run_id()), released: None }.to_bytes();
        assert!(LockBody::parse(&held).unwrap().released.is_none());
        assert_ne!(run_id(), run_id());
    }
}
