//! The S3 state backend against the emulator's S3 (which enforces
//! `If-None-Match` and `If-Match`): an exclusive lock naming its holder, a
//! lease that lapses when its holder dies and holds while it renews,
//! snapshots that refuse a lost update, the journal as ordered objects, a
//! store without conditional writes refused, and a stack moved between a
//! local directory and S3 and run there.

use std::sync::Arc;
use std::time::Duration;

use iac_aws::backend::S3Backend;
use iac_aws::logs::LogGroup;
use iac_core::state::local::LocalBackend;
use iac_core::state::{Backend, LockInfo};
use iac_core::{Error, Stack};
use iac_tests::moto;

use crate::support::*;

/// A backend as another machine would make it from `IAC_BACKEND`.
pub(crate) fn backend(bucket: &str, lease: Duration) -> S3Backend {
    provider();
    // The backend's SDK config comes from the environment, like a user's.
    std::env::set_var("AWS_ENDPOINT_URL", &moto().endpoint);
    S3Backend::from_url(&format!("s3://{bucket}/teams/?region=us-east-1"), "shop").unwrap().with_lease(lease)
}

pub(crate) async fn bucket(name: &str) {
    let s3 = provider().s3().await.clone();
    s3.create_bucket().bucket(name).send().await.unwrap();
}

pub(crate) async fn object(bucket: &str, key: &str) -> Option<Vec<u8>> {
    let s3 = provider().s3().await.clone();
    match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(o) => Some(o.body.collect().await.unwrap().into_bytes().to_vec()),
        Err(_) => None,
    }
}

pub(crate) async fn keys(bucket: &str, prefix: &str) -> Vec<String> {
    let s3 = provider().s3().await.clone();
    let out = s3.list_objects_v2().bucket(bucket).prefix(prefix).send().await.unwrap();
    out.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect()
}

pub(crate) fn locked_by(e: Error) -> String {
    match e {
        Error::Locked { holder, .. } => holder,
        other => panic!("expected a lock error, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_s3_lock_is_exclusive_and_names_its_holder() {
    let name = unique("states-lock");
    bucket(&name).await;
    let (a, b) = (backend(&name, Duration::from_secs(60)), backend(&name, Duration::from_secs(60)));
    a.lock("prod", &LockInfo::here("up")).await.expect("first lock");
    let holder = locked_by(b.lock("prod", &LockInfo::here("destroy")).await.unwrap_err());
    assert!(holder.contains("`up`") && holder.contains("lease until"), "{holder}");

    // The lock is an object naming its holder and its lease.
    let body = object(&name, "teams/shop/prod/lock.json").await.expect("lock object");
    let info: LockInfo = serde_json::from_slice(&body).unwrap();
    assert_eq!((info.command.as_str(), info.pid), ("up", std::process::id()));
    assert!(info.expires.is_some());

    // `state unlock` from elsewhere does not break a live lease.
    let live = locked_by(b.unlock("prod").await.unwrap_err());
    assert!(live.contains("live lease"), "{live}");
    assert!(object(&name, "teams/shop/prod/lock.json").await.is_some());

    a.unlock("prod").await.unwrap();
    assert!(object(&name, "teams/shop/prod/lock.json").await.is_none(), "released");
    b.lock("prod", &LockInfo::here("destroy")).await.expect("free again");
    b.unlock("prod").await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshots_refuse_a_lost_update_and_the_journal_is_ordered_objects() {
    let name = unique("states-cas");
    bucket(&name).await;
    let (a, b) = (backend(&name, Duration::from_secs(60)), backend(&name, Duration::from_secs(60)));
    assert!(a.load("dev").await.unwrap().snapshot.is_none());
    assert!(b.load("dev").await.unwrap().snapshot.is_none());

    a.append_journal("dev", b"{\"seq\":1}\n").await.unwrap();
    a.append_journal("dev", b"{\"seq\":2}\n").await.unwrap();
    assert_eq!(keys(&name, "teams/shop/dev/journal/").await.len(), 2);
    assert_eq!(a.load("dev").await.unwrap().journal, b"{\"seq\":1}\n{\"seq\":2}\n");

    a.write_snapshot("dev", b"one").await.unwrap();
    assert!(keys(&name, "teams/shop/dev/journal/").await.is_empty(), "compaction clears the journal");
    // b read the stack before a wrote it: its write would lose a's.
    let err = b.write_snapshot("dev", b"two").await.unwrap_err().to_string();
    assert!(err.contains("changed since this run read it") && err.contains("snapshot.json"), "{err}");
    assert_eq!(object(&name, "teams/shop/dev/snapshot.json").await.as_deref(), Some(&b"one"[..]));

    a.write_snapshot("dev", b"three").await.unwrap();
    assert_eq!(object(&name, "teams/shop/dev/snapshot.json").await.as_deref(), Some(&b"three"[..]));
    assert_eq!(object(&name, "teams/shop/dev/snapshot.json.bak").await.as_deref(), Some(&b"one"[..]));
    // Read again, b may write.
    assert_eq!(b.load("dev").await.unwrap().snapshot.as_deref(), Some(&b"three"[..]));
    b.write_snapshot("dev", b"four").await.unwrap();
    assert_eq!(b.list_stacks().await.unwrap(), vec!["dev".to_owned()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lapsed_lease_is_taken_over_and_a_renewed_one_is_not() {
    let name = unique("states-lease");
    bucket(&name).await;
    let lease = Duration::from_secs(3);
    // A run that dies holding the lock: its runtime (and renewal) ends.
    let dead = backend(&name, lease);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(dead.lock("dev", &LockInfo::here("up"))).unwrap();
    })
    .join()
    .unwrap();
    // A live run that keeps renewing.
    let live = backend(&name, lease);
    live.lock("prod", &LockInfo::here("up")).await.unwrap();

    let other = backend(&name, lease);
    locked_by(other.lock("dev", &LockInfo::here("up")).await.unwrap_err());
    tokio::time::sleep(lease + Duration::from_millis(1500)).await;
    other.lock("dev", &LockInfo::here("up")).await.expect("a lapsed lease is taken over");
    let holder = locked_by(other.lock("prod", &LockInfo::here("up")).await.unwrap_err());
    assert!(holder.contains("`up`"), "a renewed lease holds: {holder}");

    // The dead run's lock now names the new holder.
    let body = object(&name, "teams/shop/dev/lock.json").await.unwrap();
    let info: LockInfo = serde_json::from_slice(&body).unwrap();
    assert_eq!(info.pid, std::process::id());
    other.unlock("dev").await.unwrap();
    live.unlock("prod").await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_without_conditional_writes_is_refused() {
    let name = unique("no-preconditions-states");
    bucket(&name).await;
    let b = backend(&name, Duration::from_secs(60));
    let err = b.lock("dev", &LockInfo::here("up")).await.unwrap_err().to_string();
    assert!(err.contains("ignored `If-None-Match: *`") && err.contains(&name), "{err}");
    assert!(object(&name, "teams/shop/dev/lock.json").await.is_none(), "no lock taken");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_moves_between_a_directory_and_s3_and_runs_there() {
    let name = unique("states-move");
    bucket(&name).await;
    let h = Harness::new();
    let group = unique("/moved/app");
    let g = group.clone();
    let local = h.session("moved", move |s: &Stack| {
        s.add("logs", LogGroup::builder().name(g.clone()).retention_in_days(7).build());
    });
    up(&local).await;

    let s3: Arc<dyn Backend> = Arc::new(backend(&name, Duration::from_secs(60)));
    assert_eq!(local.copy_state(local.backend.clone(), s3.clone(), false).await.unwrap(), 1);
    assert!(object(&name, "teams/shop/moved/snapshot.json").await.is_some());

    // On S3 the stack is up to date; a change applies there.
    let mut remote = local.clone();
    remote.backend = s3.clone();
    let p = remote.preview(&opts()).await.unwrap();
    assert_eq!(p.plan.changes().count(), 0, "nothing to do after the move");
    let g = group.clone();
    remote.program = Arc::new(move |s: &Stack| {
        s.provider("aws", provider());
        s.add("logs", LogGroup::builder().name(g.clone()).retention_in_days(14).build());
        Ok(())
    });
    up(&remote).await;
    let logs = provider().logs().await.clone();
    let found = logs.describe_log_groups().log_group_name_prefix(&group).send().await.unwrap();
    assert_eq!(found.log_groups()[0].retention_in_days(), Some(14));

    // Back into a directory: refused over a state already there, unless forced.
    let err = remote.copy_state(s3.clone(), local.backend.clone(), false).await.unwrap_err().to_string();
    assert!(err.contains("already holds a state") && err.contains("--force"), "{err}");
    let fresh: Arc<dyn Backend> = Arc::new(LocalBackend::new(h.dir.path().join("pulled")));
    assert_eq!(remote.copy_state(s3.clone(), fresh.clone(), false).await.unwrap(), 1);
    let mut pulled = remote.clone();
    pulled.backend = fresh;
    let state = pulled.load_state().await.unwrap();
    let r = state.resources.values().next().unwrap();
    assert_eq!(r.inputs.get("retentionInDays").as_i64(), Some(14), "the pulled state holds the S3 run's change");
    destroy(&pulled).await;
}
