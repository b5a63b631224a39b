//! The lifecycle fuzzer: generated programs, sequences of operations, faults
//! at any call or journal write, kills, and changes made behind the engine's
//! back. After every operation, whether it succeeded or not, the engine's
//! promises must hold:
//!
//! - the state loads and passes its integrity check;
//! - every recorded resource exists in the cloud (unless an operation on it
//!   is still in flight, or the test deleted it out of band), and nothing of
//!   the stack's identity is in the cloud unrecorded (no twins, no orphans;
//!   a create still in flight may account for one copy);
//! - protected and retained resources are never deleted;
//! - no secret is in plaintext in any file, event or error;
//! - a preview changes nothing.
//!
//! At the end a clean `up --refresh` converges: a refreshed preview then
//! plans nothing, and a destroy leaves only what was retained.
//!
//! `IAC_FUZZ_CASES` sets how many cases run (a short budget by default; the
//! long one is `scripts/soak`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use iac_core::ops::{RunOptions, SavedPlan, Session};
use iac_core::state::State;
use iac_core::testing::{Fault, THING};
use iac_core::{Error, Expr, Output, ResourceOptions, Stack, Urn, Value};
use proptest::prelude::*;

use crate::support::*;

const SLOTS: usize = 6;
const SECRET: &str = "fuzz-secret-";

/// One declared resource of a generated program.
#[derive(Clone, Debug)]
struct Res {
    /// Changing it forces a replacement.
    key: u8,
    size: u8,
    /// A nested value that `ignore_changes` may cover (`cfg.size`).
    nested: u8,
    /// An earlier slot whose id this one reads.
    dep: Option<usize>,
    /// An earlier slot this one depends on by option only.
    after: Option<usize>,
    in_component: bool,
    protect: bool,
    retain: bool,
    delete_first: bool,
    ignore_nested: bool,
    secret: bool,
}

/// A program: each slot declares a resource or not.
type Prog = Vec<Option<Res>>;

#[derive(Clone, Debug)]
enum CallFault {
    Fail,
    Retriable,
    Lost,
    Hang,
    Panic,
    KillBefore,
    KillAfter,
}

#[derive(Clone, Debug)]
enum Faults {
    None,
    /// The `n`th provider call of the operation.
    Call(u64, CallFault),
    /// The `n`th journal append fails, or the run is killed there.
    Append(u64, bool),
    /// Every `find` fails.
    FindsFail,
}

#[derive(Clone, Debug)]
enum Action {
    Up { prog: usize, faults: Faults, target: Option<usize>, target_dependents: bool },
    SavedPlanUp { prog: usize, faults: Faults },
    Refresh { faults: Faults },
    Destroy { faults: Faults, target: Option<usize> },
    Preview { prog: usize },
    DeleteOutOfBand(prop::sample::Index),
    DriftOutOfBand(prop::sample::Index, u8),
}

fn res(slot: usize) -> impl Strategy<Value = Res> {
    let earlier = move |on: bool, i: prop::sample::Index| (on && slot > 0).then(|| i.index(slot));
    (
        (0u8..3, 1u8..4, 0u8..3),
        (any::<bool>(), any::<prop::sample::Index>(), prop::bool::weighted(0.2), any::<prop::sample::Index>()),
        (prop::bool::weighted(0.3), prop::bool::weighted(0.15), prop::bool::weighted(0.15)),
        (prop::bool::weighted(0.2), prop::bool::weighted(0.3), prop::bool::weighted(0.3)),
    )
        .prop_map(
            move |(
                (key, size, nested),
                (has_dep, dep, has_after, after),
                (in_component, protect, retain),
                (delete_first, ignore_nested, secret),
            )| Res {
                key,
                size,
                nested,
                dep: earlier(has_dep, dep),
                after: earlier(has_after, after),
                in_component,
                protect,
                retain,
                delete_first,
                ignore_nested,
                secret,
            },
        )
}

fn prog() -> impl Strategy<Value = Prog> {
    (0..SLOTS).map(|i| prop::option::weighted(0.7, res(i))).collect::<Vec<_>>()
}

fn faults() -> impl Strategy<Value = Faults> {
    let call = prop_oneof![
        Just(CallFault::Fail),
        Just(CallFault::Retriable),
        Just(CallFault::Lost),
        Just(CallFault::Hang),
        Just(CallFault::Panic),
        Just(CallFault::KillBefore),
        Just(CallFault::KillAfter),
    ];
    prop_oneof![
        3 => Just(Faults::None),
        6 => (1u64..16, call).prop_map(|(n, f)| Faults::Call(n, f)),
        2 => (1u64..16, any::<bool>()).prop_map(|(n, k)| Faults::Append(n, k)),
        1 => Just(Faults::FindsFail),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let target = prop::option::weighted(0.2, 0..SLOTS);
    prop_oneof![
        6 => (0usize..3, faults(), target, any::<bool>()).prop_map(|(prog, faults, target, target_dependents)| {
            Action::Up { prog, faults, target, target_dependents }
        }),
        1 => (0usize..3, faults()).prop_map(|(prog, faults)| Action::SavedPlanUp { prog, faults }),
        2 => faults().prop_map(|faults| Action::Refresh { faults }),
        1 => (faults(), prop::option::weighted(0.7, 0..SLOTS)).prop_map(|(faults, target)| Action::Destroy { faults, target }),
        1 => (0usize..3).prop_map(|prog| Action::Preview { prog }),
        1 => any::<prop::sample::Index>().prop_map(Action::DeleteOutOfBand),
        1 => (any::<prop::sample::Index>(), 10u8..20).prop_map(|(i, v)| Action::DriftOutOfBand(i, v)),
    ]
}

fn name(slot: usize, r: &Res) -> String {
    if r.in_component {
        format!("group/r{slot}")
    } else {
        format!("r{slot}")
    }
}

fn declare(s: &Stack, prog: &Prog) {
    let comp = s.component("gen:Group", "group");
    let mut urns: Vec<Option<Urn>> = vec![None; SLOTS];
    for (slot, r) in prog.iter().enumerate() {
        let Some(r) = r else { continue };
        let mut cfg = BTreeMap::new();
        cfg.insert("size".to_owned(), Expr::Value(Value::from(r.nested as i64)));
        if r.secret {
            let plain = Expr::Value(Value::from(format!("{SECRET}{slot}")));
            cfg.insert("secret".to_owned(), Expr::Secret(Box::new(plain)));
        }
        let mut m = BTreeMap::new();
        m.insert("key".to_owned(), Expr::Value(Value::from(r.key as i64)));
        m.insert("size".to_owned(), Expr::Value(Value::from(r.size as i64)));
        m.insert("cfg".to_owned(), Expr::Map(cfg));
        if let Some(d) = r.dep.and_then(|d| urns[d].clone()) {
            let o: Output<String> = Output::from_ref(&d, "id");
            m.insert("dep".to_owned(), o.expr().clone());
        }
        let limit = Duration::from_millis(400);
        let mut o = ResourceOptions::new()
            .protect_if(r.protect)
            .create_timeout(limit)
            .update_timeout(limit)
            .delete_timeout(limit);
        o.retain_on_delete = r.retain;
        o.delete_before_replace = r.delete_first;
        if r.ignore_nested {
            o = o.ignore_changes(["cfg.size"]);
        }
        if let Some(a) = r.after.and_then(|a| urns[a].clone()) {
            o = o.depends_on(&a);
        }
        let target = if r.in_component { &comp } else { s };
        urns[slot] = Some(target.register(&format!("r{slot}"), &THING, Expr::Map(m), o));
    }
}

/// Options the program declares, by identity.
fn declared(prog: &Prog) -> BTreeMap<String, (bool, bool)> {
    prog.iter().enumerate().filter_map(|(i, r)| r.as_ref().map(|r| (name(i, r), (r.protect, r.retain)))).collect()
}

struct Fuzz {
    h: H,
    progs: Vec<Prog>,
    /// The program of the last `up` (what `refresh` and `destroy` run).
    current: usize,
    /// Ids deleted behind the engine's back, not yet seen by a refresh.
    gone: BTreeSet<String>,
    /// Retained resources the state let go of: they stay in the cloud.
    released: BTreeSet<String>,
    /// Whether the last operation was a refresh that read everything.
    refreshed: bool,
}

impl Fuzz {
    fn session(&self, prog: usize) -> Session {
        let p = self.progs[prog].clone();
        self.h.session(move |s| {
            declare(s, &p);
            Ok(())
        })
    }

    fn arm(&self, faults: &Faults) {
        let h = &self.h;
        match faults {
            Faults::None => {}
            Faults::Call(n, f) => {
                let fault = match f {
                    CallFault::Fail => Fault::Fail,
                    CallFault::Retriable => Fault::Retriable(1),
                    CallFault::Lost => Fault::LostResponse(1),
                    CallFault::Hang => Fault::Hang,
                    CallFault::Panic => Fault::Panic,
                    CallFault::KillBefore => Fault::Kill { after: false },
                    CallFault::KillAfter => Fault::Kill { after: true },
                };
                h.cloud.fault_on_call(h.cloud.calls() + n, fault);
            }
            Faults::Append(n, false) => h.backend.fail_append(*n),
            Faults::Append(n, true) => h.backend.kill_at_append(*n),
            Faults::FindsFail => {
                for slot in 0..SLOTS {
                    for urn in [format!("r{slot}"), format!("group/r{slot}")] {
                        h.cloud.fault_on_resource(&urn, "find", Fault::Fail);
                    }
                }
            }
        }
    }

    async fn state(&self) -> State {
        self.h.session(|_| Ok(())).load_state().await.expect("the state always loads and passes its integrity check")
    }

    /// What must survive the next operation: recorded protected and
    /// retained resources, and those the program about to run declares so.
    async fn guarded(&self, prog: Option<usize>) -> BTreeMap<String, String> {
        let state = self.state().await;
        let declared = prog.map(|p| declared(&self.progs[p])).unwrap_or_default();
        // A deletion an earlier run already began cannot be taken back.
        let deleting: BTreeSet<&str> = state
            .pending
            .iter()
            .filter(|p| p.op == iac_core::state::OpKind::Delete)
            .filter_map(|p| p.id.as_deref())
            .collect();
        let mut out = BTreeMap::new();
        for r in state.resources.values().chain(&state.retired) {
            if r.id.as_deref().is_some_and(|id| deleting.contains(id)) {
                continue;
            }
            let (p, k) = declared.get(r.urn.as_str()).copied().unwrap_or_default();
            let live = state.resources.get(&r.urn).is_some_and(|l| l.id == r.id);
            let protect = r.options.protect || (live && p);
            if let Some(id) = r.id.clone().filter(|_| protect || r.options.retain_on_delete || k) {
                out.insert(id, r.urn.to_string());
            }
        }
        out
    }

    async fn run(&mut self, action: &Action) -> String {
        let h = &self.h;
        let mut said = String::new();
        match action {
            Action::Up { prog, faults, target, target_dependents } => {
                self.current = *prog;
                self.arm(faults);
                let targets = target.map(|t| vec![format!("r{t}")]).unwrap_or_default();
                let o = RunOptions { targets, target_dependents: *target_dependents && target.is_some(), ..opts() };
                said = outcome(self.session(*prog).up(&o, None, &mut |_, _| Ok(true)).await);
            }
            Action::SavedPlanUp { prog, faults } => {
                self.current = *prog;
                let s = self.session(*prog);
                let file = h.dir.path().join("plan.json");
                let saved = match s.preview(&opts()).await {
                    Ok(p) => s.save_plan(&p.plan, &opts(), &file).map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                said.push_str(&format!("{saved:?}\n"));
                if saved.is_ok() {
                    self.arm(faults);
                    let plan = SavedPlan::load(&file).unwrap();
                    let res = s.up(&opts(), Some((&file, plan)), &mut |_, _| Ok(true)).await;
                    if let Err(e @ Error::StalePlan { .. }) = &res {
                        panic!("a plan saved just now is stale: {e}");
                    }
                    said.push_str(&outcome(res));
                }
            }
            Action::Refresh { faults } => {
                self.arm(faults);
                let res = self.session(self.current).refresh(8, &mut |_| Ok(true)).await;
                // What went behind the engine's back is forgotten now (once
                // the check after this operation has seen it go).
                self.refreshed = res.is_ok() && !h.cloud.kill_switch().pulled();
                said = format!("{:?}", res.map(|(d, w)| (d.len(), w)).map_err(|e| e.to_string()));
            }
            Action::Destroy { faults, target } => {
                self.arm(faults);
                let targets = target.map(|t| vec![format!("r{t}")]).unwrap_or_default();
                let o = RunOptions { targets, ..opts() };
                said = outcome(self.session(self.current).destroy(&o, &mut |_, _| Ok(true)).await);
            }
            Action::Preview { prog } => {
                let files = files(h.dir.path());
                let cloud = h.cloud.inventory();
                let res = self.session(*prog).preview(&opts()).await;
                assert_eq!(files, self::files(h.dir.path()), "a preview wrote to the state");
                assert_eq!(cloud, h.cloud.inventory(), "a preview changed the cloud");
                said = format!("{:?}", res.map(|p| p.plan.changes().count()).map_err(|e| e.to_string()));
            }
            Action::DeleteOutOfBand(i) => {
                let ids: Vec<String> =
                    h.cloud.inventory().into_keys().filter(|id| !self.released.contains(id)).collect();
                if !ids.is_empty() {
                    let id = i.get(&ids).clone();
                    h.cloud.remove_behind_back(&id);
                    self.gone.insert(id);
                }
            }
            Action::DriftOutOfBand(i, v) => {
                let ids: Vec<String> = h.cloud.inventory().into_keys().collect();
                if !ids.is_empty() {
                    let id: &String = i.get(&ids);
                    h.cloud.tamper(id, "size", serde_json::json!(*v));
                }
            }
        }
        said
    }

    /// The promises that hold after every operation.
    async fn check(&mut self, guarded: &BTreeMap<String, String>, said: &str) {
        let h = &self.h;
        let said = &format!("{said}\nlog: {:?}", h.cloud.call_log());
        let state = self.state().await;
        let cloud = h.cloud.inventory();
        let pending = |urn: &str| state.pending.iter().filter(|p| p.urn.as_str() == urn).count();
        // Protected and retained resources are never deleted.
        for (id, urn) in guarded {
            if !self.gone.contains(id) {
                assert!(cloud.contains_key(id), "{urn} ({id}) is protected or retained, but was deleted\n{said}");
            }
            let still = state.resources.values().chain(&state.retired).any(|r| r.id.as_deref() == Some(id));
            if !still {
                self.released.insert(id.clone());
            }
        }
        // Every recorded copy exists under its identity.
        let mut recorded = BTreeSet::new();
        for r in state.resources.values().chain(&state.retired) {
            let Some(id) = &r.id else { continue };
            assert!(recorded.insert(id.clone()), "{id} is recorded twice");
            match cloud.get(id) {
                Some(c) => assert_eq!(c.urn, r.urn.as_str(), "{id} recorded as {} but is {}", r.urn, c.urn),
                None => assert!(
                    self.gone.contains(id) || pending(r.urn.as_str()) > 0,
                    "{} ({id}) is recorded but not in the cloud\n{said}",
                    r.urn
                ),
            }
        }
        // Nothing of the stack's identity is in the cloud unrecorded, beyond
        // one copy per create still in flight.
        // A copy the state says it let go of on purpose (retained) is not
        // an orphan; the engine records those only on a retained delete.
        let let_go: BTreeSet<&str> = state.released.iter().map(|r| r.id.as_str()).collect();
        let may_retain: BTreeSet<String> = self
            .progs
            .iter()
            .flat_map(|p| p.iter().enumerate().filter_map(|(i, r)| r.as_ref().filter(|r| r.retain).map(|r| name(i, r))))
            .collect();
        for r in &state.released {
            assert!(may_retain.contains(r.urn.as_str()), "{} ({}) let go of, but never retained\n{said}", r.urn, r.id);
        }
        let mut unrecorded: BTreeMap<&str, usize> = BTreeMap::new();
        for (id, c) in &cloud {
            if !recorded.contains(id) && !self.released.contains(id) && !let_go.contains(id.as_str()) {
                *unrecorded.entry(c.urn.as_str()).or_default() += 1;
            }
        }
        for (urn, n) in unrecorded {
            let creates = state
                .pending
                .iter()
                .filter(|p| p.urn.as_str() == urn && p.op == iac_core::state::OpKind::Create)
                .count();
            assert!(
                n <= creates,
                "{n} unrecorded cloud copies of {urn} (orphans or twins); {creates} create(s) in flight\n{said}"
            );
        }
        // No secret in plaintext: files, events, what the operation said.
        assert_no_plaintext(h.dir.path(), SECRET);
        let events = format!("{:?}", h.events.lock().unwrap());
        assert!(!events.contains(SECRET), "plaintext secret in an event");
        assert!(!said.contains(SECRET), "plaintext secret in what the operation said: {said}");
        self.h.cloud.clear_log();
    }

    /// A clean, refreshed `up` converges, then a destroy leaves only what
    /// was retained.
    async fn converge_and_destroy(&mut self) {
        self.h.restart();
        // Unprotect everything first, so the stack can be replaced where
        // the program asks and then destroyed.
        self.session(self.current).state_unprotect(None).await.expect("unprotect");
        for p in &mut self.progs {
            for r in p.iter_mut().flatten() {
                r.protect = false;
            }
        }
        let s = self.session(self.current);
        let refresh = RunOptions { refresh: true, ..opts() };
        let mut failures = Vec::new();
        for _ in 0..3 {
            let guarded = self.guarded(Some(self.current)).await;
            let a = s.up(&refresh, None, &mut |_, _| Ok(true)).await.expect("a clean up runs");
            failures = a.report.failures;
            self.check(&guarded, "").await;
            // The refresh saw what went behind the engine's back.
            self.gone.clear();
            if failures.is_empty() {
                break;
            }
        }
        assert!(failures.is_empty(), "a clean up still fails: {failures:?}");
        let p = s.preview(&refresh).await.unwrap();
        let changes: Vec<_> = p.plan.changes().map(|st| format!("{:?} {}", st.op, st.urn)).collect();
        assert!(!p.plan.has_changes(&p.state.outputs), "a refreshed preview after a clean up plans {changes:?}");
        let guarded = self.guarded(None).await;
        let d = destroy(&s).await;
        assert!(d.report.failures.is_empty(), "{:?}", d.report.failures);
        self.check(&guarded, "").await;
        let state = self.state().await;
        let mut retained = self.released.clone();
        retained.extend(state.released.iter().map(|r| r.id.clone()));
        let left: BTreeSet<String> = self.h.cloud.inventory().into_keys().collect();
        assert!(left.is_subset(&retained), "left after destroy: {left:?}, retained: {retained:?}");
    }
}

fn outcome(r: Result<iac_core::ops::Applied, Error>) -> String {
    match r {
        Ok(a) => format!("ok, {} change(s), failures: {:?}", a.plan.changes().count(), a.report.failures),
        Err(e) => format!("error: {e}"),
    }
}

fn shrinks() -> u32 {
    std::env::var("IAC_FUZZ_SHRINKS").ok().and_then(|v| v.parse().ok()).unwrap_or(400)
}

fn cases() -> u32 {
    std::env::var("IAC_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: shrinks(), ..ProptestConfig::default() })]
    #[test]
    fn the_engine_keeps_its_promises_under_any_sequence(
        progs in prop::collection::vec(prog(), 3),
        actions in prop::collection::vec(action(), 1..8),
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut f = Fuzz { h: H::new(), progs, current: 0, gone: BTreeSet::new(), released: BTreeSet::new(), refreshed: false };
            for action in &actions {
                let prog = match action {
                    Action::Up { prog, .. } | Action::SavedPlanUp { prog, .. } => Some(*prog),
                    Action::Refresh { .. } => Some(f.current),
                    _ => None,
                };
                let guarded = f.guarded(prog).await;
                let said = f.run(action).await;
                // A killed run has stopped; the next one starts afresh.
                f.h.restart();
                if std::env::var_os("IAC_FUZZ_TRACE").is_some() {
                    let st = f.state().await;
                    let recs: Vec<String> = st.resources.values().chain(&st.retired).map(|r| format!("{}={:?} retain={} deps={:?}", r.urn, r.id, r.options.retain_on_delete, r.deps)).collect();
                    eprintln!("{action:?}\n  said: {said}\n  log: {:?}\n  state: {recs:?} pending: {:?}", f.h.cloud.call_log(), st.pending.iter().map(|p| format!("{:?} {}", p.op, p.urn)).collect::<Vec<_>>());
                }
                f.check(&guarded, &format!("after {action:?}: {said}")).await;
                if std::mem::take(&mut f.refreshed) {
                    f.gone.clear();
                }
            }
            f.converge_and_destroy().await;
        });
    }
}
