//! `S3Backend`: stacks' states in S3, for teams sharing stacks across
//! machines (`IAC_BACKEND=s3://bucket/prefix`).
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
//!                         may be taken over (atomically, with If-Match)
//! ```
//!
//! Before its first lock the backend checks that the store enforces these
//! preconditions (a second `If-None-Match: *` write of one object must be
//! refused) and refuses a store that does not: on it two runs could both
//! take the lock.

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
use iac_core::state::{Backend, LockInfo, Stored};
use iac_core::{Error, Result};
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
    checked: tokio::sync::OnceCell<()>,
    written: AtomicU64,
}

/// What this run knows of one stack's objects.
#[derive(Default)]
struct StackObjects {
    /// The snapshot's ETag when this run read it (`None`: there was none).
    snapshot_etag: Option<String>,
    /// The next journal object's number.
    next_journal: u64,
    loaded: bool,
    held: Option<HeldLock>,
}

/// A lock this run holds, and its renewal.
struct HeldLock {
    etag: Arc<Mutex<String>>,
    lost: Arc<AtomicBool>,
    renewal: tokio::task::JoinHandle<()>,
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
            checked: tokio::sync::OnceCell::new(),
            written: AtomicU64::new(0),
        })
    }

    /// Sets how long a lock lasts unless renewed.
    pub fn with_lease(mut self, lease: Duration) -> S3Backend {
        self.lease = lease;
        self
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

    /// Refuses a store that does not enforce `If-None-Match: *`.
    async fn check_preconditions(&self) -> Result<()> {
        self.checked
            .get_or_try_init(|| async {
                let key = format!("{}/.conditional-write-probe", self.root);
                let probe = b"iac: this store must refuse a second create of this object\n".to_vec();
                self.put_if(&key, probe.clone(), &Condition::Absent).await?;
                match self.put_if(&key, probe, &Condition::Absent).await? {
                    None => Ok(()),
                    Some(_) => Err(Error::backend(
                        self.url(&key),
                        "the store ignored `If-None-Match: *` (it overwrote an object that exists); \
                         without conditional writes two runs could both take a stack's lock and one \
                         overwrite the other's state, so this store is refused",
                    )),
                }
            })
            .await
            .map(|_| ())
    }

    /// This run's lock body for `info`, leased from now.
    fn lease_body(&self, info: &LockInfo) -> Vec<u8> {
        let mut info = info.clone();
        info.expires = Some(rfc3339(OffsetDateTime::now_utc() + self.lease));
        serde_json::to_vec(&info).expect("lock info serializes")
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

    fn start_renewal(&self, stack: &str, info: &LockInfo, etag: String) -> HeldLock {
        let etag = Arc::new(Mutex::new(etag));
        let lost = Arc::new(AtomicBool::new(false));
        let (client, bucket, key) = (self.aws.clone(), self.bucket.clone(), self.key(stack, "lock.json"));
        let (lease, info) = (self.lease, info.clone());
        let (etag2, lost2) = (etag.clone(), lost.clone());
        let renewal = tokio::spawn(async move {
            let mut expires = OffsetDateTime::now_utc() + lease;
            loop {
                tokio::time::sleep(lease / 3).await;
                let mut next = info.clone();
                let until = OffsetDateTime::now_utc() + lease;
                next.expires = Some(rfc3339(until));
                let body = serde_json::to_vec(&next).expect("lock info serializes");
                let current = etag2.lock().unwrap_or_else(|e| e.into_inner()).clone();
                match put_if(client.s3().await, &bucket, &key, body, &Condition::Matches(current)).await {
                    Ok(Some(new)) => {
                        *etag2.lock().unwrap_or_else(|e| e.into_inner()) = new;
                        expires = until;
                    }
                    // Someone broke or took the lock.
                    Ok(None) => {
                        tracing::error!(%key, "lost the state lock: it was broken or taken over");
                        lost2.store(true, Ordering::SeqCst);
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(%key, error = %e, "could not renew the state lock; retrying");
                        if OffsetDateTime::now_utc() >= expires {
                            lost2.store(true, Ordering::SeqCst);
                            return;
                        }
                    }
                }
            }
        });
        HeldLock { etag, lost, renewal }
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
        self.with_stack(stack, |s| {
            s.snapshot_etag = etag;
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
        if !self.with_stack(stack, |s| s.loaded) {
            self.load(stack).await?;
        }
        let key = self.key(stack, "snapshot.json");
        let etag = self.with_stack(stack, |s| s.snapshot_etag.clone());
        if let Some(etag) = &etag {
            let bak = self.key(stack, "snapshot.json.bak");
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
        let condition = etag.map_or(Condition::Absent, Condition::Matches);
        let Some(new) = self.put_if(&key, bytes.to_vec(), &condition).await? else {
            return Err(Error::backend(
                self.url(&key),
                "the snapshot changed since this run read it (another writer): refusing to overwrite it",
            ));
        };
        self.written.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        self.with_stack(stack, |s| s.snapshot_etag = Some(new));
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
        self.check_preconditions().await?;
        let key = self.key(stack, "lock.json");
        let etag = match self.put_if(&key, self.lease_body(info), &Condition::Absent).await? {
            Some(etag) => etag,
            None => {
                let Some((bytes, etag)) = self.get(&key).await? else {
                    // Released between the two calls: try once more.
                    return match self.put_if(&key, self.lease_body(info), &Condition::Absent).await? {
                        Some(etag) => {
                            let held = self.start_renewal(stack, info, etag);
                            self.with_stack(stack, |s| s.held = Some(held));
                            Ok(())
                        }
                        None => Err(Error::Locked { stack: stack.to_owned(), holder: "another run".into() }),
                    };
                };
                let holder: Option<LockInfo> = serde_json::from_slice(&bytes).ok();
                match holder {
                    // A lapsed lease: its holder stopped renewing (it died).
                    // Take it over only if nobody else did meanwhile.
                    Some(h) if lapsed(&h) => {
                        match self.put_if(&key, self.lease_body(info), &Condition::Matches(etag)).await? {
                            Some(etag) => {
                                tracing::warn!(stack, holder = %h, "took over a lapsed state lock");
                                etag
                            }
                            None => {
                                return Err(Error::Locked { stack: stack.to_owned(), holder: "another run".into() })
                            }
                        }
                    }
                    Some(h) => return Err(Error::Locked { stack: stack.to_owned(), holder: h.to_string() }),
                    None => {
                        return Err(Error::Locked {
                            stack: stack.to_owned(),
                            holder: format!("an unreadable lock at {}", self.url(&key)),
                        })
                    }
                }
            }
        };
        let held = self.start_renewal(stack, info, etag);
        self.with_stack(stack, |s| s.held = Some(held));
        Ok(())
    }

    async fn unlock(&self, stack: &str) -> Result<()> {
        let key = self.key(stack, "lock.json");
        let held = self.with_stack(stack, |s| s.held.take());
        let etag = match held {
            Some(h) => {
                h.renewal.abort();
                let etag = h.etag.lock().unwrap_or_else(|e| e.into_inner()).clone();
                if h.lost.load(Ordering::SeqCst) {
                    // Someone else holds it now; it is not ours to delete.
                    return Ok(());
                }
                etag
            }
            // `state unlock`: break a lock whose lease lapsed; a live lease's
            // holder is still running.
            None => {
                let Some((bytes, etag)) = self.get(&key).await? else { return Ok(()) };
                if let Ok(h) = serde_json::from_slice::<LockInfo>(&bytes) {
                    if !lapsed(&h) {
                        return Err(Error::Locked {
                            stack: stack.to_owned(),
                            holder: format!("{h}, a live lease: stop that run or wait until the lease lapses"),
                        });
                    }
                }
                etag
            }
        };
        match self.client().await.delete_object().bucket(&self.bucket).key(&key).if_match(etag).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_conflict(&e) => Ok(()),
            Err(e) => Err(self.err(&key, "DeleteObject", e)),
        }
    }

    async fn lock_holder(&self, stack: &str) -> Result<Option<LockInfo>> {
        Ok(self.get(&self.key(stack, "lock.json")).await?.and_then(|(b, _)| serde_json::from_slice(&b).ok()))
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
}
