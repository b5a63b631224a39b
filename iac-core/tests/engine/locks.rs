//! The stack's lock around a run: a lock that cannot be released never
//! fails a finished run (a warning names it instead), and `state unlock
//! --force` on the local backend, in process and through the command line.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use async_trait::async_trait;
use iac_core::engine::Event;
use iac_core::ops::ForceUnlocked;
use iac_core::state::local::LocalBackend;
use iac_core::state::{Backend, LockInfo, LockSeen, Stored};
use iac_core::testing::Server;
use iac_core::{Error, Result};

use crate::support::*;

/// The local backend, except that releasing a lock fails (as a store that
/// denies the delete would), after releasing it underneath.
struct Unreleasable(LocalBackend);

#[async_trait]
impl Backend for Unreleasable {
    fn describe(&self, stack: &str) -> String {
        self.0.describe(stack)
    }
    fn snapshot_location(&self, stack: &str) -> std::path::PathBuf {
        self.0.snapshot_location(stack)
    }
    fn journal_location(&self, stack: &str) -> std::path::PathBuf {
        self.0.journal_location(stack)
    }
    async fn load(&self, stack: &str) -> Result<Stored> {
        self.0.load(stack).await
    }
    async fn append_journal(&self, stack: &str, bytes: &[u8]) -> Result<()> {
        self.0.append_journal(stack, bytes).await
    }
    async fn write_snapshot(&self, stack: &str, bytes: &[u8]) -> Result<()> {
        self.0.write_snapshot(stack, bytes).await
    }
    async fn repair_journal(&self, stack: &str) -> Result<bool> {
        self.0.repair_journal(stack).await
    }
    async fn lock(&self, stack: &str, info: &LockInfo) -> Result<()> {
        self.0.lock(stack, info).await
    }
    async fn unlock(&self, stack: &str) -> Result<()> {
        self.0.unlock(stack).await?;
        Err(Error::LockNotReleased {
            stack: stack.to_owned(),
            location: "s3://states/spec/dev/lock.json".into(),
            lapses: Some("2030-01-01T00:01:00Z".into()),
            message: "DeleteObject: AccessDenied".into(),
        })
    }
    async fn lock_holder(&self, stack: &str) -> Result<Option<LockInfo>> {
        self.0.lock_holder(stack).await
    }
    async fn list_stacks(&self) -> Result<Vec<String>> {
        self.0.list_stacks().await
    }
    fn bytes_written(&self) -> u64 {
        self.0.bytes_written()
    }
}

fn warnings(h: &H) -> Vec<String> {
    let events = h.events.lock().unwrap();
    events
        .iter()
        .filter_map(|e| match e {
            Event::Warning { message } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_finished_run_whose_lock_cannot_be_released_succeeds_with_a_warning() {
    let h = H::new();
    let mut s = h.session(|s| {
        s.add("web", Server::builder().size(1).build());
        Ok(())
    });
    s.backend = Arc::new(Unreleasable(LocalBackend::new(h.dir.path().join("state"))));
    let a = s.up(&opts(), None, &mut |_, _| Ok(true)).await.expect("the run succeeds");
    assert!(a.report.failures.is_empty());
    assert_eq!(s.load_state().await.unwrap().resources.len(), 1, "its state is saved");
    let w = warnings(&h);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("`up` finished and its state is saved")
            && w[0].contains("s3://states/spec/dev/lock.json")
            && w[0].contains("lapses at 2030-01-01T00:01:00Z"),
        "{}",
        w[0]
    );

    // A run that fails keeps its own error; the lock is still reported.
    let err = s.destroy(&opts(), &mut |_, _| Ok(false)).await.err().expect("cancelled");
    assert!(err.to_string().contains("destroy cancelled"), "{err}");
    assert_eq!(warnings(&h).len(), 2);
    assert_eq!(h.cloud.inventory().len(), 1, "nothing was destroyed");
    s.destroy(&opts(), &mut |_, _| Ok(true)).await.expect("destroy succeeds");
    assert!(h.cloud.inventory().is_empty());
    assert_eq!(warnings(&h).len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_released_lock_raises_no_warning() {
    let h = H::new();
    let s = h.session(|s| {
        s.add("web", Server::builder().size(1).build());
        Ok(())
    });
    up(&s).await;
    destroy(&s).await;
    assert_eq!(warnings(&h), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn force_unlock_of_a_file_lock_names_the_live_holder_and_never_breaks_it() {
    let h = H::new();
    let s = h.session(|_| Ok(()));
    assert_eq!(s.force_unlock(&mut |_| panic!("nothing to show")).await.unwrap(), ForceUnlocked::NotLocked);

    // Another open of the lock file, as another process holds it.
    let holder = LocalBackend::new(h.dir.path().join("state"));
    holder.lock("dev", &LockInfo::here("up")).await.unwrap();
    let mut shown: Option<LockSeen> = None;
    let err = s
        .force_unlock(&mut |seen| {
            shown = Some(seen.clone());
            Ok(true)
        })
        .await
        .unwrap_err();
    let shown = shown.expect("shown first");
    assert_eq!(shown.info.as_ref().map(|i| i.command.as_str()), Some("up"));
    assert!(shown.location.ends_with("lock"), "{shown}");
    let msg = err.to_string();
    assert!(
        matches!(err, Error::Locked { .. })
            && msg.contains("cannot be broken")
            && msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );

    // Declined: refused, lock untouched.
    let err = s.force_unlock(&mut |_| Ok(false)).await.unwrap_err();
    assert!(matches!(err, Error::Refused(_)), "{err}");
    assert!(s.backend.lock_holder("dev").await.unwrap().is_some());

    // Another holder took its place between showing and removing.
    let err = s
        .force_unlock(&mut |_| {
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(async {
                    holder.unlock("dev").await?;
                    holder.lock("dev", &LockInfo::here("destroy")).await
                })
            })?;
            Ok(true)
        })
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::LockChanged { holder, .. } if holder.contains("`destroy`")), "{err}");

    // Released while shown; then nothing to do.
    let out = s
        .force_unlock(&mut |_| {
            tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(holder.unlock("dev")))?;
            Ok(true)
        })
        .await
        .unwrap();
    assert!(matches!(out, ForceUnlocked::ReleasedMeanwhile(_)), "{out:?}");
    assert_eq!(s.force_unlock(&mut |_| Ok(true)).await.unwrap(), ForceUnlocked::NotLocked);
}

const BIN: &str = env!("CARGO_BIN_EXE_iac-test-stack");

fn cmd(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args);
    in_dir(&mut c, dir);
    c
}

/// The test stack's environment, in its own directory.
fn in_dir<'a>(c: &'a mut Command, dir: &Path) -> &'a mut Command {
    c.current_dir(dir)
        .env("IAC_TEST_CLOUD", dir.join("cloud.json"))
        .env("IAC_TEST_CONFIG_DIR", dir.join("config"))
        .env("IAC_PASSPHRASE", "correct horse battery staple")
        .env_remove("IAC_BACKEND")
        .env_remove("IAC_STACK")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn state_unlock_force_through_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("config")).unwrap();
    let o = cmd(dir, &["state", "unlock", "--force", "--yes"]).output().unwrap();
    assert!(o.status.success() && text(&o).0.contains("not locked"), "{:?}", text(&o));
    let o = cmd(dir, &["state", "unlock", "--yes"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "--yes only goes with --force: {:?}", text(&o));

    let mut slow = cmd(dir, &["up", "--yes"])
        .env("IAC_TEST_LATENCY_MS", "1500")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lock = dir.join(".iac/test-stack/dev/lock");
    let t = std::time::Instant::now();
    while std::fs::read(&lock).map_or(true, |b| b.is_empty()) {
        assert!(t.elapsed().as_secs() < 20, "the first run never took the lock");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // No terminal and no --yes: the holder is shown, nothing is removed.
    let o = cmd(dir, &["state", "unlock", "--force"]).output().unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(out.contains("is locked by `up`") && out.contains(&format!("pid {}", slow.id())), "{out}");
    assert!(err.contains("--yes"), "{err}");
    // With --yes: a live file lock is named, never broken.
    let o = cmd(dir, &["state", "unlock", "--force", "--yes"]).output().unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(err.contains("cannot be broken") && err.contains(&format!("pid {}", slow.id())), "{err}");
    #[cfg(target_os = "linux")]
    {
        // On a terminal it asks; "n" leaves the lock.
        let o = ask(dir, "n");
        assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
        let (out, _) = text(&o);
        assert!(out.contains("Remove this lock?") && out.contains("cancelled"), "{out}");
    }
    assert!(slow.wait().unwrap().success(), "the holder ran to the end");
}

/// `state unlock --force` on a terminal (`script`'s), answering `answer`.
#[cfg(target_os = "linux")]
fn ask(dir: &Path, answer: &str) -> Output {
    use std::io::Write;
    let mut c = Command::new("script");
    c.args(["-qec", &format!("{BIN} state unlock --force"), "/dev/null"]);
    in_dir(&mut c, dir).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("script(1) from util-linux");
    child.stdin.take().unwrap().write_all(format!("{answer}\n").as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}
