//! Crash safety of a real multi-service stack: the Bitcoin pipeline
//! (`dev-stack`: VPC, ECS services behind an ALB, Aurora, Redis, Kinesis,
//! S3, IAM, ECR, CodeBuild/CodePipeline, alarms; 153 resources) on a stack
//! of its own, `up` and `destroy` killed with SIGKILL at random moments and
//! run again. After every trial the emulator's inventory is compared with
//! the state: no orphan (a resource of the stack in the cloud that the
//! state does not know), no duplicate (two cloud resources for one
//! declaration), no resource in the state missing from the cloud (a
//! refresh finds nothing changed), and after destroy nothing left.
//!
//! `IAC_SOAK_TRIALS` sets the number of trials (30 by default);
//! `IAC_SOAK_SEED` replays a run's kill times. `scripts/soak` runs a
//! longer soak. A second soak kills `up`s that replace nearly everything
//! (create-before-delete and delete-before-replace), where the old copy of
//! a resource carries the same identity as the new one
//! (`IAC_SOAK_REPLACE_TRIALS`, else a quarter of `IAC_SOAK_TRIALS`, else 6).

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

use crate::cli::*;
use crate::inventory::Subject;

/// Starts `args`, kills it (SIGKILL) after `after`; returns `None` if it
/// was still running when killed, else how long it took to finish.
fn kill_after(run: &StackRun, args: &[&str], after: Duration) -> Option<Duration> {
    let mut child = run.spawn(args);
    let started = Instant::now();
    while started.elapsed() < after {
        if child.try_wait().unwrap().is_some() {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let finished = child.try_wait().unwrap().map(|_| started.elapsed());
    child.kill().unwrap();
    child.wait().unwrap();
    finished
}

/// How long a command takes here: the fastest run seen so far. Kills are
/// drawn from it, so that they land mid-run even when the machine gets
/// faster than it was when the clean runs were timed (other work on it
/// stopped).
struct Pace(Duration);

impl Pace {
    /// Kills `args` at a random point of its expected run; whether the kill
    /// landed mid-run.
    fn kill(&mut self, run: &StackRun, args: &[&str], rng: &mut impl Rng) -> (bool, Duration) {
        let at = self.0.mul_f64(rng.gen_range(0.02..0.9));
        match kill_after(run, args, at) {
            None => (true, at),
            Some(took) => {
                self.0 = self.0.min(took);
                (false, at)
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_ups_and_destroys_leave_no_orphans_duplicates_or_gaps() {
    let trials: usize = std::env::var("IAC_SOAK_TRIALS").ok().and_then(|n| n.parse().ok()).unwrap_or(30);
    let seed: u64 = std::env::var("IAC_SOAK_SEED").ok().and_then(|n| n.parse().ok()).unwrap_or_else(rand::random);
    eprintln!("soak: {trials} trials, IAC_SOAK_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    // Two clean runs first: how long `up` and `destroy` take here (the
    // faster of two, so kills land mid-run).
    let (mut up_time, mut destroy_time) = (Duration::MAX, Duration::MAX);
    for _ in 0..2 {
        let s = Subject::new("soak");
        let t = Instant::now();
        s.run.ok(&["up", "--yes"]);
        up_time = up_time.min(t.elapsed());
        s.assert_inventory_matches("clean run").await;
        let t = Instant::now();
        s.run.ok(&["destroy", "--yes"]);
        destroy_time = destroy_time.min(t.elapsed());
        s.assert_nothing_left("clean run").await;
    }
    eprintln!("soak: up {up_time:?}, destroy {destroy_time:?}");
    let (mut up_pace, mut destroy_pace) = (Pace(up_time), Pace(destroy_time));

    let (mut ups_killed, mut destroys_killed) = (0, 0);
    for trial in 1..=trials {
        let s = Subject::new("soak");
        let (killed, at) = up_pace.kill(&s.run, &["up", "--yes"], &mut rng);
        ups_killed += usize::from(killed);
        let name = format!("trial {trial} (seed {seed}): up killed at {at:?}");
        eprintln!("soak: {name}{}", if killed { "" } else { " (had finished)" });
        s.run.ok(&["up", "--yes"]);
        s.assert_inventory_matches(&name).await;

        let (killed, at) = destroy_pace.kill(&s.run, &["destroy", "--yes"], &mut rng);
        destroys_killed += usize::from(killed);
        let name = format!("trial {trial} (seed {seed}): destroy killed at {at:?}");
        eprintln!("soak: {name}{}", if killed { "" } else { " (had finished)" });
        s.run.ok(&["destroy", "--yes"]);
        s.assert_nothing_left(&name).await;
    }
    eprintln!("soak: {ups_killed}/{trials} ups and {destroys_killed}/{trials} destroys killed mid-run");
    // Most kills must land mid-run, or the trials prove little.
    assert!(ups_killed * 10 >= trials * 8, "only {ups_killed} of {trials} ups were killed mid-run");
    assert!(destroys_killed * 10 >= trials * 8, "only {destroys_killed} of {trials} destroys were killed mid-run");
}

/// Moves the stack to another address range and renames it
/// (`environment`, which every cloud name starts with), so a run replaces
/// nearly every resource: create-before-delete (the VPC, its subnets, route
/// tables and S3 endpoint, found again by their identity tags alone, which
/// the old copy carries too; target groups, the ECS cluster, task
/// definitions, listeners) and delete-before-replace (security groups, the
/// load balancer, Aurora, Redis, buckets, repositories, roles, log groups,
/// the stream, ECS services). The new names still start with the subject's
/// prefix.
fn replacing(s: &Subject, stack: &str) {
    s.run.edit_config("vpc_cidr", "\"10.0.0.0/16\"", "\"10.8.0.0/16\"");
    s.run.edit_config("environment", &format!("\"{stack}\""), &format!("\"{stack}-b\""));
}

/// Replaces killed mid-run: after a clean `up`, `replacing` changes the
/// config and the `up` that replaces is killed (SIGKILL) at a random
/// moment, then run again. The cloud must then match the state as after
/// the other trials: above all no twin, the new copy a dead replace made
/// being adopted rather than left beside another, and no old copy left.
/// `IAC_SOAK_REPLACE_TRIALS` trials; without it a quarter of
/// `IAC_SOAK_TRIALS` if that is set (so `scripts/soak` runs 50), else 6.
/// `IAC_SOAK_SEED` replays.
#[tokio::test(flavor = "multi_thread")]
async fn killed_replaces_leave_no_orphans_duplicates_or_gaps() {
    let var = |name: &str| std::env::var(name).ok().and_then(|n| n.parse::<usize>().ok());
    let trials = var("IAC_SOAK_REPLACE_TRIALS").or_else(|| var("IAC_SOAK_TRIALS").map(|n| (n / 4).max(1))).unwrap_or(6);
    let seed: u64 = std::env::var("IAC_SOAK_SEED").ok().and_then(|n| n.parse().ok()).unwrap_or_else(rand::random);
    eprintln!("replace soak: {trials} trials, IAC_SOAK_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let stack = "rsoak";

    // A clean replace first: how long it takes here.
    let s = Subject::new(stack);
    s.run.ok(&["up", "--yes"]);
    replacing(&s, stack);
    let t = Instant::now();
    s.run.ok(&["up", "--yes"]);
    let replace_time = t.elapsed();
    eprintln!("replace soak: a replacing up takes {replace_time:?}");
    s.assert_inventory_matches("clean replace").await;
    s.run.ok(&["destroy", "--yes"]);
    s.assert_nothing_left("clean replace").await;

    let mut killed_mid_run = 0;
    let mut pace = Pace(replace_time);
    for trial in 1..=trials {
        let s = Subject::new(stack);
        s.run.ok(&["up", "--yes"]);
        replacing(&s, stack);
        let (killed, at) = pace.kill(&s.run, &["up", "--yes"], &mut rng);
        killed_mid_run += usize::from(killed);
        let name = format!("replace trial {trial} (seed {seed}): up killed at {at:?}");
        eprintln!("soak: {name}{}", if killed { "" } else { " (had finished)" });
        s.run.ok(&["up", "--yes"]);
        s.assert_inventory_matches(&name).await;
        s.run.ok(&["destroy", "--yes"]);
        s.assert_nothing_left(&name).await;
    }
    eprintln!("replace soak: {killed_mid_run}/{trials} replacing ups killed mid-run");
    // Few trials: at least half must land mid-run.
    assert!(killed_mid_run * 2 >= trials, "only {killed_mid_run} of {trials} replacing ups were killed mid-run");
}

/// The same on the team backend (state and lock in the emulator's S3): two
/// `up`s started together, one refused by the lock naming its holder; then
/// `up` and `destroy` killed at random moments, each rerun once the dead
/// run's lease has lapsed (`IAC_LOCK_LEASE_SECONDS=3`), with the cloud
/// matching the state after every trial. `IAC_SOAK_S3_TRIALS` trials (4 by
/// default).
#[tokio::test(flavor = "multi_thread")]
async fn on_the_s3_backend_a_second_run_is_locked_out_and_killed_runs_recover() {
    let trials: usize = std::env::var("IAC_SOAK_S3_TRIALS").ok().and_then(|n| n.parse().ok()).unwrap_or(4);
    let seed: u64 = std::env::var("IAC_SOAK_SEED").ok().and_then(|n| n.parse().ok()).unwrap_or_else(rand::random);
    eprintln!("soak on S3: {trials} trials, IAC_SOAK_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let bucket = "iac-crash-soak-state";
    aws().s3().await.create_bucket().bucket(bucket).send().await.expect("the state bucket");
    let lease = Duration::from_secs(3);
    let subject = || {
        let mut s = Subject::new("s3soak");
        s.run.set_env("IAC_BACKEND", &format!("s3://{bucket}/team"));
        s.run.set_env("IAC_LOCK_LEASE_SECONDS", &lease.as_secs().to_string());
        s
    };

    // Two runs at once: the lock admits one.
    let s = subject();
    let t = Instant::now();
    let (first, second) = (s.run.spawn_captured(&["up", "--yes"]), s.run.spawn_captured(&["up", "--yes"]));
    let (first, second) = (first.wait_with_output().unwrap(), second.wait_with_output().unwrap());
    let up_time = t.elapsed();
    let (won, lost) = if first.status.success() { (first, second) } else { (second, first) };
    let refusal = String::from_utf8_lossy(&lost.stderr);
    assert!(won.status.success(), "one of two runs succeeds: {}", String::from_utf8_lossy(&won.stderr));
    assert_eq!(lost.status.code(), Some(1), "the other is refused: {refusal}");
    assert!(
        refusal.contains("locked by `up`") && refusal.contains("lease until"),
        "the refusal names the holder: {refusal}"
    );
    s.assert_inventory_matches("two runs at once").await;
    let t = Instant::now();
    s.run.ok(&["destroy", "--yes"]);
    let destroy_time = t.elapsed();
    s.assert_nothing_left("two runs at once").await;

    let mut paces = [Pace(up_time), Pace(destroy_time)];
    for trial in 1..=trials {
        let s = subject();
        for (args, pace) in [&["up", "--yes"], &["destroy", "--yes"]].into_iter().zip(&mut paces) {
            let (killed, at) = pace.kill(&s.run, args, &mut rng);
            let name = format!("S3 trial {trial} (seed {seed}): {} killed at {at:?}", args[0]);
            eprintln!("soak: {name}{}", if killed { "" } else { " (had finished)" });
            // The dead run's lock holds until its lease lapses.
            std::thread::sleep(lease + Duration::from_millis(500));
            s.run.ok(args);
            if args[0] == "up" {
                s.assert_inventory_matches(&name).await;
            } else {
                s.assert_nothing_left(&name).await;
            }
        }
    }
}
