//! The example's binary on the team backend (`IAC_BACKEND=s3://…`) in the
//! emulator's S3, on stores that lack conditional operations (emulated by
//! bucket name, see `moto_conditional.py`): two `up`s at once on a store
//! without conditional deletes (LocalStack's case), a run that cannot
//! release its lock, and `state unlock --force`.

use std::io::Write;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use iac_aws::backend::S3Backend;
use iac_core::state::{Backend, LockInfo};
use iac_tests::moto;

/// A stack of the example on the S3 backend in `bucket`.
struct Team {
    dir: tempfile::TempDir,
    bucket: String,
    stack: &'static str,
}

impl Team {
    async fn new(bucket: &str, stack: &'static str) -> Team {
        let bucket = format!("{bucket}-{}", std::process::id());
        let s3 = aws_sdk_s3::Client::from_conf(super::s3_config());
        s3.create_bucket().bucket(&bucket).send().await.expect("the state bucket");
        Team { dir: tempfile::tempdir().expect("temp dir"), bucket, stack }
    }

    /// `network-example <args>` (through `wrap`, if given), with nothing of
    /// the caller's AWS set-up, the emulator's instead.
    fn command(&self, wrap: Option<&str>, args: &[&str], env: &[(&str, &str)]) -> Command {
        let bin = env!("CARGO_BIN_EXE_network-example");
        let mut cmd = match wrap {
            None => Command::new(bin),
            Some(w) => {
                let mut c = Command::new(w);
                c.args(["-qec", &format!("{bin} {}", args.join(" ")), "/dev/null"]);
                c
            }
        };
        if wrap.is_none() {
            cmd.args(args);
        }
        cmd.current_dir(self.dir.path()).env("NO_COLOR", "1").stdin(Stdio::null());
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") || k.starts_with("IAC_") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(moto().env())
            .env("IAC_BACKEND", format!("s3://{}/team", self.bucket))
            .env("IAC_STACK", self.stack)
            .envs(env.iter().copied());
        cmd
    }

    fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> Child {
        self.command(None, args, env).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("network-example")
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
        report(args, self.spawn(args, env).wait_with_output().unwrap())
    }

    /// `state unlock --force` on a terminal (`script`'s), answering `answer`.
    fn ask(&self, answer: &str) -> (Option<i32>, String, String) {
        let args = ["state", "unlock", "--force"];
        let mut child = self
            .command(Some("script"), &args, &[])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("script(1) from util-linux");
        child.stdin.take().unwrap().write_all(format!("{answer}\n").as_bytes()).unwrap();
        report(&args, child.wait_with_output().unwrap())
    }

    fn lock_key(&self) -> String {
        format!("team/network-example/{}/lock.json", self.stack)
    }

    async fn lock_object(&self) -> Option<Vec<u8>> {
        let s3 = aws_sdk_s3::Client::from_conf(super::s3_config());
        let o = s3.get_object().bucket(&self.bucket).key(self.lock_key()).send().await.ok()?;
        Some(o.body.collect().await.unwrap().into_bytes().to_vec())
    }

    /// Takes the stack's lock as a run that then dies would: the lease
    /// stays live for a minute.
    fn dead_holder(&self) {
        for (k, v) in moto().env() {
            std::env::set_var(k, v);
        }
        let b = S3Backend::from_url(&format!("s3://{}/team", self.bucket), "network-example").unwrap();
        let stack = self.stack;
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(b.lock(stack, &LockInfo::here("up"))).unwrap();
        })
        .join()
        .unwrap();
    }
}

fn report(args: &[&str], out: Output) -> (Option<i32>, String, String) {
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    eprintln!("$ network-example {} → {:?}\n{stdout}{stderr}", args.join(" "), out.status.code());
    (out.status.code(), stdout, stderr)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_ups_on_a_store_without_conditional_deletes_one_proceeds_and_neither_fails_after_applying() {
    let team = Team::new("cond-delete-501-race", "race").await;
    let (a, b) = (team.spawn(&["up", "--yes"], &[]), team.spawn(&["up", "--yes"], &[]));
    let (a, b) = (report(&["up"], a.wait_with_output().unwrap()), report(&["up"], b.wait_with_output().unwrap()));
    let (won, lost) = if a.0 == Some(0) { (a, b) } else { (b, a) };
    assert_eq!(won.0, Some(0), "one of two runs applies and succeeds");
    assert!(!won.2.contains("warning"), "and releases its lock: {}", won.2);
    assert_eq!(lost.0, Some(1), "the other is refused");
    assert!(lost.2.contains("locked by `up`") && lost.2.contains("lease until"), "naming the holder: {}", lost.2);
    // Released: the next runs proceed at once, not a lease later.
    let (code, out, _) = team.run(&["up", "--yes"], &[]);
    assert_eq!(code, Some(0));
    assert!(out.contains("No changes."), "the first run applied everything: {out}");
    assert_eq!(team.run(&["destroy", "--yes"], &[]).0, Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_cannot_release_its_lock_exits_0_with_a_warning() {
    let team = Team::new("cond-lockstuck-example", "stuck").await;
    let lease = [("IAC_LOCK_LEASE_SECONDS", "3")];
    let (code, _, err) = team.run(&["up", "--yes"], &lease);
    assert_eq!(code, Some(0), "a finished run never fails over its lock");
    let lock = format!("s3://{}/{}", team.bucket, team.lock_key());
    assert!(err.contains("warning:") && err.contains(&lock) && err.contains("lapses at"), "{err}");
    assert!(team.lock_object().await.is_some(), "the lock stays until its lease lapses");
    std::thread::sleep(Duration::from_millis(3500));
    // `--json`: one document on stdout, the warning on stderr.
    let (code, out, err) = team.run(&["destroy", "--yes", "--json"], &lease);
    assert_eq!(code, Some(0));
    serde_json::from_str::<serde_json::Value>(&out).expect("one JSON document");
    assert!(err.contains("warning:") && err.contains(&lock), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn state_unlock_force_shows_the_holder_asks_and_removes_that_lock() {
    let team = Team::new("team-force-unlock", "force").await;
    team.dead_holder();
    let (code, _, err) = team.run(&["state", "unlock"], &[]);
    assert_eq!(code, Some(1));
    assert!(err.contains("live lease") && err.contains("--force"), "{err}");

    // No terminal, no --yes: shown, refused, kept.
    let (code, out, err) = team.run(&["state", "unlock", "--force"], &[]);
    assert_eq!(code, Some(1));
    assert!(out.contains("locked by `up`") && out.contains(&team.lock_key()) && out.contains("version"), "{out}");
    assert!(err.contains("--yes"), "{err}");
    assert!(team.lock_object().await.is_some());

    // On a terminal it asks: "n" keeps the lock, "y" removes it.
    let (code, out, _) = team.ask("n");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("Remove this lock?") && out.contains("cancelled"), "{out}");
    assert!(team.lock_object().await.is_some());
    let (code, out, _) = team.ask("y");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("removed the lock held by `up`"), "{out}");
    assert!(team.lock_object().await.is_none());

    // --yes does not ask.
    team.dead_holder();
    let (code, out, _) = team.run(&["state", "unlock", "--force", "--yes"], &[]);
    assert_eq!(code, Some(0));
    assert!(out.contains("removed the lock held by `up`"), "{out}");
    assert!(team.lock_object().await.is_none());
    let (code, out, _) = team.run(&["state", "unlock", "--force", "--yes"], &[]);
    assert_eq!((code, out.trim()), (Some(0), "the stack was not locked"));
}
