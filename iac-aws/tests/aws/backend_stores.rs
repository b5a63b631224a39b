//! The S3 state backend on S3-compatible stores that lack conditional
//! operations, emulated by the conditional layer (`moto_conditional.py`) by
//! bucket name: `cond-<op>-<how>-…` makes one operation answer 501, answer
//! 400, ignore its header or refuse whether or not it holds. A store
//! lacking conditional creates or replaces is refused before any cloud
//! call, naming the operation; one lacking conditional deletes or copies
//! works with the same guarantees (two racing runs: exactly one proceeds).
//! A run that cannot release its lock succeeds with a warning naming the
//! lock and when it lapses. `state unlock --force` removes only the lock it
//! showed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use iac_aws::backend::Capabilities;
use iac_aws::logs::LogGroup;
use iac_core::engine::Event;
use iac_core::ops::{ForceUnlocked, Session};
use iac_core::state::{Backend, LockInfo, LockSeen};
use iac_core::{Error, Stack};

use crate::backend::{backend, bucket, keys, locked_by, object};
use crate::support::*;

const HOWS: [&str; 4] = ["501", "400", "ignore", "refuse"];

/// A session on the S3 backend in `bucket` (its own backend, as another
/// machine's run would have) whose program is one log group, and the
/// warnings it reports.
fn s3_session(h: &Harness, bucket: &str, stack: &str, group: &str, retention: i32) -> (Session, Warnings) {
    let g = group.to_owned();
    let mut s = h.session(stack, move |s: &Stack| {
        s.add("logs", LogGroup::builder().name(g.clone()).retention_in_days(retention).build());
    });
    s.project = "shop".into();
    s.backend = Arc::new(backend(bucket, Duration::from_secs(60)));
    let warnings = Warnings::default();
    let w = warnings.clone();
    s.observer = Arc::new(move |e| {
        if let Event::Warning { message } = e {
            w.0.lock().unwrap().push(message.clone());
        }
    });
    (s, warnings)
}

#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

impl Warnings {
    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

async fn log_group_exists(name: &str) -> bool {
    let logs = provider().logs().await.clone();
    let found = logs.describe_log_groups().log_group_name_prefix(name).send().await.unwrap();
    found.log_groups().iter().any(|g| g.log_group_name() == Some(name))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_lacking_conditional_creates_or_replaces_is_refused_before_anything_changes() {
    let h = Harness::new();
    for (op, named) in [("create", "PutObject with `If-None-Match: *`"), ("replace", "PutObject with `If-Match`")] {
        for how in HOWS {
            let name = unique(&format!("cond-{op}-{how}"));
            bucket(&name).await;
            let group = unique("/refused/app");
            let (s, _) = s3_session(&h, &name, "dev", &group, 7);
            let err = s.up(&opts(), None, &mut |_, _| Ok(true)).await.err().unwrap_or_else(|| panic!("{name}: up ran"));
            let err = err.to_string();
            assert!(
                err.contains(named) && err.contains("refused before anything is changed") && err.contains(&name),
                "{name}: the refusal names the missing operation: {err}"
            );
            assert!(!log_group_exists(&group).await, "{name}: no cloud call was made");
            assert_eq!(keys(&name, "").await, Vec::<String>::new(), "{name}: no lock, no state, no probe left");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_conditional_deletes_or_copies_exactly_one_of_two_racing_runs_proceeds() {
    let mut stores = vec![(unique("states-all"), Capabilities { conditional_delete: true, conditional_copy: true })];
    for how in HOWS {
        stores.push((
            unique(&format!("cond-delete-{how}")),
            Capabilities { conditional_delete: false, conditional_copy: true },
        ));
        stores.push((
            unique(&format!("cond-copy-{how}")),
            Capabilities { conditional_delete: true, conditional_copy: false },
        ));
    }
    for (name, expected) in stores {
        bucket(&name).await;
        let (a, b) = (backend(&name, Duration::from_secs(60)), backend(&name, Duration::from_secs(60)));
        assert_eq!(a.capabilities("prod").await.unwrap(), expected, "{name}: the probe's findings");
        assert_eq!(b.capabilities("prod").await.unwrap(), expected, "{name}: the probe's findings");
        // Round 1 races for an absent lock; later rounds for a released one
        // (on a store without conditional deletes, a released lock object).
        for round in 1..=6 {
            let info = LockInfo::here("up");
            let (x, y) = tokio::join!(a.lock("prod", &info), b.lock("prod", &info));
            let (winner, loser) = match (x, y) {
                (Ok(()), Err(e)) => (&a, e),
                (Err(e), Ok(())) => (&b, e),
                (x, y) => panic!("{name} round {round}: exactly one of two runs takes the lock: {x:?} {y:?}"),
            };
            locked_by(loser);
            assert!(a.lock_holder("prod").await.unwrap().is_some(), "{name} round {round}: held");
            winner.unlock("prod").await.unwrap_or_else(|e| panic!("{name} round {round}: release: {e}"));
            assert_eq!(b.lock_holder("prod").await.unwrap(), None, "{name} round {round}: released");
        }
        let lock = object(&name, "teams/shop/prod/lock.json").await;
        assert_eq!(
            lock.is_some(),
            !expected.conditional_delete,
            "{name}: a released lock object stays only without conditional deletes"
        );
        assert!(keys(&name, "teams/shop/prod/.probe/").await.is_empty(), "{name}: the probe cleans up");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_conditional_deletes_or_copies_runs_apply_release_and_back_up() {
    let h = Harness::new();
    for name in
        [unique("cond-delete-501"), unique("cond-delete-ignore"), unique("cond-copy-501"), unique("cond-copy-ignore")]
    {
        bucket(&name).await;
        let group = unique("/stores/app");
        // Two runs at once: the second, refused while the first holds the
        // lock, makes no cloud call; the first applies and releases.
        let (first, first_warnings) = s3_session(&h, &name, "dev", &group, 7);
        let (second, _) = s3_session(&h, &name, "dev", &group, 7);
        let (go, wait_go) = std::sync::mpsc::channel::<()>();
        let (done, wait_done) = std::sync::mpsc::channel::<()>();
        let refused = std::thread::spawn(move || {
            wait_go.recv().unwrap();
            let rt = tokio::runtime::Runtime::new().unwrap();
            let res = rt.block_on(second.up(&opts(), None, &mut |_, _| Ok(true))).err();
            done.send(()).unwrap();
            res
        });
        let applied = first
            .up(&opts(), None, &mut move |_, _| {
                // The second run tries, and ends, while this one holds the lock.
                go.send(()).unwrap();
                wait_done.recv().unwrap();
                Ok(true)
            })
            .await
            .unwrap_or_else(|e| panic!("{name}: up: {e}"));
        let refused = refused.join().unwrap().unwrap_or_else(|| panic!("{name}: the second run proceeded too"));
        assert!(locked_by(refused).contains("`up`"), "{name}");
        assert!(applied.report.failures.is_empty(), "{name}");
        assert!(first_warnings.all().is_empty(), "{name}: released without a warning: {:?}", first_warnings.all());
        assert!(log_group_exists(&group).await, "{name}");

        // The next run proceeds at once, and its snapshot's backup is the
        // snapshot it read.
        let before = object(&name, "teams/shop/dev/snapshot.json").await.expect("a snapshot");
        let (third, third_warnings) = s3_session(&h, &name, "dev", &group, 14);
        up(&third).await;
        assert_eq!(object(&name, "teams/shop/dev/snapshot.json.bak").await, Some(before), "{name}: the backup");
        let (last, _) = s3_session(&h, &name, "dev", &group, 14);
        destroy(&last).await;
        assert!(third_warnings.all().is_empty(), "{name}: {:?}", third_warnings.all());
        assert!(!log_group_exists(&group).await, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_cannot_release_its_lock_succeeds_with_a_warning() {
    let name = unique("cond-lockstuck");
    bucket(&name).await;
    let h = Harness::new();
    let group = unique("/stuck/app");
    let (mut s, warnings) = s3_session(&h, &name, "dev", &group, 7);
    s.backend = Arc::new(backend(&name, Duration::from_secs(3)));
    let applied = s.up(&opts(), None, &mut |_, _| Ok(true)).await.expect("a finished run never fails over its lock");
    assert!(applied.report.failures.is_empty());
    assert!(log_group_exists(&group).await);
    let snapshot = object(&name, "teams/shop/dev/snapshot.json").await.expect("the state was written");
    assert!(String::from_utf8_lossy(&snapshot).contains(&group));
    let w = warnings.all();
    assert_eq!(w.len(), 1, "{w:?}");
    let lock = format!("s3://{name}/teams/shop/dev/lock.json");
    assert!(w[0].contains("`up` finished") && w[0].contains(&lock) && w[0].contains("lapses at"), "{}", w[0]);

    // The lock stays until its lease lapses, then the next run takes it.
    let (next, next_warnings) = s3_session(&h, &name, "dev", &group, 7);
    locked_by(next.destroy(&opts(), &mut |_, _| Ok(true)).await.err().expect("still locked"));
    tokio::time::sleep(Duration::from_millis(3500)).await;
    destroy(&next).await;
    assert!(!log_group_exists(&group).await);
    assert_eq!(next_warnings.all().len(), 1, "{:?}", next_warnings.all());
}

/// A run that took `stack`'s lock and died: its lease stays live.
fn dead_holder(bucket: &str, stack: &str, command: &str) {
    let dead = backend(bucket, Duration::from_secs(60));
    let (stack, command) = (stack.to_owned(), command.to_owned());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(dead.lock(&stack, &LockInfo::here(&command))).unwrap();
    })
    .join()
    .unwrap();
}

/// Replaces `key` as another run taking it over would.
async fn put_lock(bucket: &str, key: &str, command: &str) {
    let mut info = LockInfo::here(command);
    info.expires = Some("2999-01-01T00:00:00Z".into());
    let s3 = provider().s3().await.clone();
    s3.put_object().bucket(bucket).key(key).body(serde_json::to_vec(&info).unwrap().into()).send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn force_unlock_shows_the_holder_asks_and_removes_only_that_lock() {
    for name in [unique("states-force"), unique("cond-delete-501-force")] {
        bucket(&name).await;
        let h = Harness::new();
        let (s, _) = s3_session(&h, &name, "prod", "/unused", 7);
        let key = "teams/shop/prod/lock.json";
        assert_eq!(s.force_unlock(&mut |_| panic!("nothing to show")).await.unwrap(), ForceUnlocked::NotLocked);

        dead_holder(&name, "prod", "up");
        // Plain `state unlock` leaves a live lease alone.
        assert!(locked_by(s.unlock().await.unwrap_err()).contains("live lease"), "{name}");

        // Shown, then declined: nothing changes.
        let mut shown: Option<LockSeen> = None;
        let err = s
            .force_unlock(&mut |seen| {
                shown = Some(seen.clone());
                Ok(false)
            })
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Refused(_)), "{name}: {err}");
        let shown = shown.expect("the holder is shown before anything is removed");
        let info = shown.info.clone().expect("a readable holder");
        assert_eq!((info.command.as_str(), info.pid), ("up", std::process::id()));
        assert!(shown.location.ends_with(key) && !shown.token.is_empty(), "{shown}");
        assert!(shown.to_string().contains("`up`") && shown.to_string().contains(&shown.token), "{shown}");
        assert!(object(&name, key).await.is_some(), "{name}: declined, kept");

        // The lock changes between showing and removing: refused, and the
        // new lock is left alone.
        let err = s
            .force_unlock(&mut |_| {
                tokio::task::block_in_place(|| {
                    tokio::runtime::Handle::current().block_on(put_lock(&name, key, "destroy"))
                });
                Ok(true)
            })
            .await
            .unwrap_err();
        match &err {
            Error::LockChanged { holder, .. } => assert!(holder.contains("`destroy`"), "{name}: {err}"),
            other => panic!("{name}: expected the lock to have changed, got {other}"),
        }
        assert!(err.to_string().contains("nothing was removed"), "{err}");
        let body = object(&name, key).await.expect("the new lock stays");
        assert_eq!(serde_json::from_slice::<LockInfo>(&body).unwrap().command, "destroy");

        // Confirmed and unchanged: removed, and the stack is free at once.
        match s.force_unlock(&mut |_| Ok(true)).await.unwrap() {
            ForceUnlocked::Removed(seen) => assert_eq!(seen.info.unwrap().command, "destroy"),
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(s.backend.lock_holder("prod").await.unwrap(), None);
        let next = backend(&name, Duration::from_secs(60));
        next.lock("prod", &LockInfo::here("up")).await.expect("free after force-unlock");

        // Released by its holder while shown: nothing else is touched.
        let out = s
            .force_unlock(&mut |_| {
                tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(next.unlock("prod")))?;
                Ok(true)
            })
            .await
            .unwrap();
        assert!(matches!(out, ForceUnlocked::ReleasedMeanwhile(_)), "{name}: {out:?}");
        assert_eq!(s.backend.lock_holder("prod").await.unwrap(), None);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_probe_runs_once_per_store_and_leaves_nothing_behind() {
    let name = unique("states-probe");
    bucket(&name).await;
    let s3 = provider().s3().await.clone();
    let versioning = aws_sdk_s3::types::VersioningConfiguration::builder()
        .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
        .build();
    s3.put_bucket_versioning().bucket(&name).versioning_configuration(versioning).send().await.unwrap();
    let b = backend(&name, Duration::from_secs(60));
    for stack in ["dev", "prod", "dev"] {
        b.lock(stack, &LockInfo::here("up")).await.unwrap();
        b.load(stack).await.unwrap();
        b.append_journal(stack, b"{\"seq\":1}\n").await.unwrap();
        b.write_snapshot(stack, b"{}").await.unwrap();
        b.unlock(stack).await.unwrap();
    }
    // Every version ever written, deleted ones too.
    let versions = s3.list_object_versions().bucket(&name).prefix("teams/shop/").send().await.unwrap();
    let mut written: Vec<String> = versions
        .versions()
        .iter()
        .filter_map(|v| v.key())
        .chain(versions.delete_markers().iter().filter_map(|m| m.key()))
        .filter(|k| k.contains("/.probe/"))
        .map(|k| k.trim_end_matches(".copy").to_owned())
        .collect();
    written.sort();
    written.dedup();
    assert_eq!(written.len(), 1, "one probe object for the whole run: {written:?}");
    assert!(written[0].starts_with("teams/shop/dev/.probe/"), "under the first stack's prefix: {written:?}");
    assert!(keys(&name, "teams/shop/dev/.probe/").await.is_empty(), "and removed");
}
