//! The operations a command runs — preview, up, destroy, refresh, outputs,
//! state surgery — as plain async functions over one stack. The CLI calls
//! these and renders what they return; tests call them directly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::engine::{ApplyReport, Drift, Engine, Observer};
use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::output::Urn;
use crate::plan::{plan_destroy, plan_update, Plan, PlanOptions};
use crate::stack::{Providers, Stack};
use crate::state::codec::SecretsCodec;
use crate::state::store::{Loaded, StateStore};
use crate::state::{Backend, LockInfo, Mutation, State};
use crate::value::Value;

/// A stack program: declares resources on the stack it is given.
pub type Program =
    Arc<dyn Fn(&Stack) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> + Send + Sync>;

/// One stack of one program, with where its config and state live.
#[derive(Clone)]
pub struct Session {
    /// The program (project) name.
    pub project: String,
    /// The stack name.
    pub stack: String,
    /// Where per-stack config files live.
    pub config_dir: PathBuf,
    /// Where states live.
    pub backend: Arc<dyn Backend>,
    /// The program.
    pub program: Program,
    /// Receives progress events.
    pub observer: Observer,
}

/// What a preview found.
pub struct Preview {
    /// The plan.
    pub plan: Plan,
    /// The state it was planned against.
    pub state: State,
    /// Drift found when `--refresh` was given.
    pub drift: Vec<Drift>,
}

/// What an up or destroy did.
pub struct Applied {
    /// The plan that was applied.
    pub plan: Plan,
    /// The outcome.
    pub report: ApplyReport,
}

/// A plan saved by `preview --save-plan`.
#[derive(Serialize, Deserialize)]
pub struct SavedPlan {
    /// Format version.
    pub version: u32,
    /// The stack it is for.
    pub stack: String,
    /// Whether it is a destroy plan.
    pub destroy: bool,
    /// The targets it was made with.
    pub targets: Vec<String>,
    /// Whether the targets' dependents were targeted too.
    #[serde(default)]
    pub target_dependents: bool,
    /// The state fingerprint it was made against.
    pub state_fingerprint: String,
    /// The digest of its steps.
    pub digest: String,
    /// A readable list of its steps (`+ name`), for people.
    pub steps: Vec<String>,
}

impl SavedPlan {
    /// Reads a saved plan.
    pub fn load(path: &Path) -> Result<SavedPlan> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::corrupt(path, format!("not a saved plan: {e}")))
    }
}

/// Options for planning commands.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Refresh from the cloud before planning.
    pub refresh: bool,
    /// Limit to these resources.
    pub targets: Vec<String>,
    /// Parallel provider calls.
    pub parallel: usize,
    /// Also target whatever depends on the targets.
    pub target_dependents: bool,
}

impl RunOptions {
    fn plan_options(&self, also_known: Vec<Urn>) -> PlanOptions {
        PlanOptions { targets: self.targets.clone(), target_dependents: self.target_dependents, also_known }
    }
}

/// Refuses to go on while operations a dead run left in flight are
/// unresolved: planning then could make a resource twice.
fn ensure_resolved(state: &State) -> Result<()> {
    if state.pending.is_empty() {
        return Ok(());
    }
    Err(Error::Unresolved(state.pending.iter().map(|p| format!("{:?} of `{}`", p.op, p.urn).to_lowercase()).collect()))
}

impl Session {
    /// What the stack's resources are tagged with (`iac:stack`) to be
    /// found again after a crash: `<project>/<stack>`.
    pub fn identity(&self) -> String {
        format!("{}/{}", self.project, self.stack)
    }

    /// The stack's config.
    pub fn config(&self) -> Result<Config> {
        Config::load(&self.config_dir, &self.stack)
    }

    /// Runs the program: the desired graph and its providers, or every
    /// problem found.
    pub fn run_program(&self) -> Result<(Graph, Providers)> {
        self.run_program_keeping_stack().map(|(graph, providers, _)| (graph, providers))
    }

    /// [`Session::run_program`], keeping the stack: its config knows which
    /// keys the program read, to name them in problems found later.
    fn run_program_keeping_stack(&self) -> Result<(Graph, Providers, Stack)> {
        let stack = Stack::new(&self.project, &self.stack, self.config()?);
        (self.program)(&stack).map_err(|e| match e.downcast::<Error>() {
            Ok(e) => *e,
            Err(e) => Error::Program(e.to_string()),
        })?;
        let (graph, providers) = stack.finish_with_providers()?;
        Ok((graph, providers, stack))
    }

    /// The state store, sealing secrets with the stack's passphrase (asked
    /// for only when a secret is met).
    pub fn store(&self) -> StateStore {
        self.store_on(self.backend.clone())
    }

    /// The stack's state store on another backend.
    fn store_on(&self, backend: Arc<dyn Backend>) -> StateStore {
        let dir = self.config_dir.clone();
        let stack = self.stack.clone();
        let codec = SecretsCodec::new(move || {
            let mut cfg = Config::load(&dir, &stack)?;
            if cfg.ensure_encryption_recorded()? {
                cfg.save()?;
            }
            cfg.crypter()
        });
        StateStore::new(backend, &self.stack, codec)
    }

    fn engine(&self, providers: Providers) -> Engine {
        Engine::new(self.store(), providers, self.observer.clone()).with_identity(self.identity())
    }

    async fn plan_with(
        &self,
        graph: &Graph,
        config: &Config,
        engine: &Engine,
        loaded: Loaded,
        opts: &RunOptions,
    ) -> Result<(Plan, State, Vec<Drift>)> {
        let Loaded { mut state, fingerprint } = loaded;
        let mut drift = Vec::new();
        // Settle what a dead run left in flight, in memory only, so the plan
        // shows what `up` will do after settling it the same way (and a
        // plan saved now still matches then). Without a working provider
        // the operations are listed as they are.
        if !state.pending.is_empty()
            && engine.preflight(state.pending.iter().map(|p| p.provider.as_str())).await.is_ok()
        {
            engine.recover_pending(&mut state, Some(graph), None).await?;
        }
        if opts.refresh {
            engine.preflight(state.resources.values().map(|r| r.provider.as_str())).await?;
            let (d, changes) = engine.refresh(&state, opts.parallel.max(1)).await?;
            for c in changes {
                state.apply(c);
            }
            drift = d;
        }
        let mut plan = plan_update(graph, &state, &opts.plan_options(vec![]))?;
        plan.state_fingerprint = fingerprint;
        check_live(graph, config, engine, &plan).await?;
        Ok((plan, state, drift))
    }

    /// Plans without changing anything. From an empty state and without
    /// credentials this needs no cloud call at all; with them, the
    /// providers are asked whether they offer what the plan makes
    /// ([`crate::provider::Provider::check_live`]).
    pub async fn preview(&self, opts: &RunOptions) -> Result<Preview> {
        let (graph, providers, stack) = self.run_program_keeping_stack()?;
        let engine = self.engine(providers);
        let loaded = engine.store().load().await?;
        let (plan, state, drift) = self.plan_with(&graph, stack.config(), &engine, loaded, opts).await?;
        Ok(Preview { plan, state, drift })
    }

    /// Saves a plan for `up --plan`.
    pub fn save_plan(&self, plan: &Plan, opts: &RunOptions, path: &Path) -> Result<()> {
        if !plan.pending.is_empty() {
            return Err(Error::Refused(format!(
                "not saving the plan: {} operation(s) left in flight by an interrupted run could not be \
                 resolved (the cloud could not be asked), so `up` may plan differently; run `refresh` first",
                plan.pending.len()
            )));
        }
        let saved = SavedPlan {
            version: 1,
            stack: self.stack.clone(),
            destroy: plan.destroy,
            targets: opts.targets.clone(),
            target_dependents: opts.target_dependents,
            state_fingerprint: plan.state_fingerprint.clone(),
            digest: plan.digest(),
            steps: plan.changes().map(|s| format!("{} {}", s.op.marker(), s.urn)).collect(),
        };
        let bytes = serde_json::to_vec_pretty(&saved).expect("plans serialize");
        crate::state::local::write_atomic(path, &bytes)
    }

    /// Runs `f` holding the stack's lock. A lock that cannot be released
    /// never fails the run: once `f` is done its changes are applied and
    /// recorded, so the failure is reported as an
    /// [`crate::engine::Event::Warning`] (naming
    /// the lock and when it lapses) and the run's own result is returned.
    async fn locked<T>(&self, command: &str, f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        self.backend.lock(&self.stack, &LockInfo::here(command)).await?;
        let res = f.await;
        if let Err(e) = self.backend.unlock(&self.stack).await {
            let message = match &res {
                Ok(_) => format!("`{command}` finished and its state is saved, but {e}"),
                Err(_) => e.to_string(),
            };
            (self.observer)(&crate::engine::Event::Warning { message });
        }
        res
    }

    /// Plans and applies. `confirm` sees the plan first and may refuse.
    /// With `saved`, the plan must still match the saved one exactly.
    pub async fn up(
        &self,
        opts: &RunOptions,
        saved: Option<(&Path, SavedPlan)>,
        confirm: &mut (dyn FnMut(&Plan, &State) -> Result<bool> + Send),
    ) -> Result<Applied> {
        let (graph, providers, stack) = self.run_program_keeping_stack()?;
        let graph = Arc::new(graph);
        self.locked("up", async {
            let engine = self.engine(providers);
            let loaded = engine.store().load().await?;
            let opts = match &saved {
                Some((_, s)) => {
                    RunOptions { targets: s.targets.clone(), target_dependents: s.target_dependents, ..opts.clone() }
                }
                None => opts.clone(),
            };
            if let Some((path, s)) = &saved {
                if s.stack != self.stack || s.destroy {
                    return Err(Error::StalePlan {
                        path: path.to_path_buf(),
                        reason: "is for another stack or command".into(),
                    });
                }
                if s.state_fingerprint != loaded.fingerprint {
                    return Err(Error::StalePlan {
                        path: path.to_path_buf(),
                        reason: "the state changed since it was saved".into(),
                    });
                }
            }
            let loaded_seq = loaded.state.journal_seq;
            let mut state = loaded.state;
            let needs_cloud = !state.pending.is_empty() || opts.refresh;
            if needs_cloud {
                engine.preflight(state.resources.values().map(|r| r.provider.as_str())).await?;
            }
            let journal = engine.store().journal(&state);
            if !state.pending.is_empty() {
                engine.recover_pending(&mut state, Some(&graph), Some(&journal)).await?;
                ensure_resolved(&state)?;
            }
            if opts.refresh {
                let (_, changes) = engine.refresh(&state, opts.parallel.max(1)).await?;
                if !changes.is_empty() {
                    journal.end(None, &changes, None).await?;
                    for c in changes {
                        state.apply(c);
                    }
                    state.journal_seq = journal.last_seq();
                }
            }
            let mut plan = plan_update(&graph, &state, &opts.plan_options(vec![]))?;
            plan.state_fingerprint = loaded.fingerprint.clone();
            check_live(&graph, stack.config(), &engine, &plan).await?;
            if let Some((path, s)) = &saved {
                if plan.digest() != s.digest {
                    return Err(Error::StalePlan {
                        path: path.to_path_buf(),
                        reason: "the program now plans different changes".into(),
                    });
                }
            } else if !confirm(&plan, &state)? {
                return Err(Error::Refused("update cancelled".into()));
            }
            if !plan.has_changes(&state.outputs) && state.journal_seq == loaded_seq {
                return Ok(Applied {
                    plan,
                    report: ApplyReport { state, failures: vec![], skipped: 0, durations: vec![] },
                });
            }
            engine.preflight(plan.changes().map(|s| s.provider.as_str())).await?;
            let parallel = opts.parallel.max(1);
            let plan = Arc::new(plan);
            let report = engine.apply(Some(graph.clone()), plan.clone(), state, journal, parallel).await?;
            Ok(Applied { plan: Arc::unwrap_or_clone(plan), report })
        })
        .await
    }

    /// Deletes every resource of the stack (or the targets and their
    /// dependents).
    pub async fn destroy(
        &self,
        opts: &RunOptions,
        confirm: &mut (dyn FnMut(&Plan, &State) -> Result<bool> + Send),
    ) -> Result<Applied> {
        // The program is run for its providers and the names it declares;
        // what is destroyed, and how, comes from the state alone.
        let (graph, providers) = self.run_program()?;
        self.locked("destroy", async {
            let engine = self.engine(providers);
            let loaded = engine.store().load().await?;
            let mut state = loaded.state;
            let journal = engine.store().journal(&state);
            // A target an interrupted run already deleted, or one the program
            // declares but the state does not hold, selects nothing.
            let mut also_known: Vec<Urn> = graph.resources.keys().cloned().collect();
            also_known.extend(state.pending.iter().map(|p| p.urn.clone()));
            if !state.pending.is_empty() {
                engine.preflight(state.pending.iter().map(|p| p.provider.as_str())).await?;
                engine.recover_pending(&mut state, Some(&graph), Some(&journal)).await?;
                ensure_resolved(&state)?;
            }
            let mut plan = plan_destroy(&state, &opts.plan_options(also_known))?;
            plan.state_fingerprint = loaded.fingerprint.clone();
            if !confirm(&plan, &state)? {
                return Err(Error::Refused("destroy cancelled".into()));
            }
            engine.preflight(plan.changes().map(|s| s.provider.as_str())).await?;
            let plan = Arc::new(plan);
            let report = engine.apply(None, plan.clone(), state, journal, opts.parallel.max(1)).await?;
            Ok(Applied { plan: Arc::unwrap_or_clone(plan), report })
        })
        .await
    }

    /// Reads every resource back, resolves operations left in flight, and
    /// reports drift; with `write`, records what was read.
    pub async fn refresh(
        &self,
        parallel: usize,
        confirm: &mut (dyn FnMut(&[Drift]) -> Result<bool> + Send),
    ) -> Result<(Vec<Drift>, bool)> {
        let (graph, providers) = self.run_program().map(|(g, p)| (Some(g), p))?;
        self.locked("refresh", async {
            let engine = self.engine(providers);
            let loaded = engine.store().load().await?;
            let mut state = loaded.state;
            engine.preflight(state.resources.values().map(|r| r.provider.as_str())).await?;
            let journal = engine.store().journal(&state);
            let had_pending = !state.pending.is_empty();
            if had_pending {
                engine.recover_pending(&mut state, graph.as_ref(), Some(&journal)).await?;
            }
            let (drift, changes) = engine.refresh(&state, parallel.max(1)).await?;
            let write = confirm(&drift)?;
            if write && !changes.is_empty() {
                journal.end(None, &changes, None).await?;
                for c in changes {
                    state.apply(c);
                }
            }
            if write || had_pending {
                state.journal_seq = journal.last_seq();
                engine.store().compact(&mut state).await?;
            }
            Ok((drift, write))
        })
        .await
    }

    /// Loads the state without running the program.
    pub async fn load_state(&self) -> Result<State> {
        Ok(self.store().load().await?.state)
    }

    /// The stack's recorded outputs.
    pub async fn outputs(&self) -> Result<BTreeMap<String, Value>> {
        Ok(self.load_state().await?.outputs)
    }

    /// Forgets a resource (and its children) without touching the cloud.
    pub async fn state_rm(&self, name: &str) -> Result<Vec<Urn>> {
        self.locked("state rm", async {
            let store = self.store();
            let mut state = store.load().await?.state;
            let urn = Urn::new(name);
            if !state.resources.contains_key(&urn) {
                return Err(Error::UnknownTarget(name.to_owned()));
            }
            let prefix = format!("{name}/");
            let removed: Vec<Urn> =
                state.resources.keys().filter(|u| **u == urn || u.as_str().starts_with(&prefix)).cloned().collect();
            let dependents: Vec<String> = state
                .resources
                .values()
                .filter(|r| !removed.contains(&r.urn) && r.deps.iter().any(|d| removed.contains(d)))
                .map(|r| r.urn.to_string())
                .collect();
            if !dependents.is_empty() {
                return Err(Error::Refused(format!(
                    "cannot forget `{name}`: still depended on by {}",
                    dependents.join(", ")
                )));
            }
            for u in &removed {
                // It stays in the cloud with the stack's identity: no later
                // create may take it for what it made.
                if let Some(id) = state.resources.get(u).and_then(|r| r.id.clone()) {
                    state.apply(Mutation::Release { urn: u.clone(), id });
                }
                state.apply(Mutation::Remove { urn: u.clone() });
            }
            store.compact(&mut state).await?;
            Ok(removed)
        })
        .await
    }

    /// Removes a stale lock (one whose holder is gone); a live holder is
    /// named, not overridden.
    pub async fn unlock(&self) -> Result<Option<LockInfo>> {
        let holder = self.backend.lock_holder(&self.stack).await?;
        self.backend.unlock(&self.stack).await?;
        Ok(holder)
    }

    /// `state unlock --force`, for a holder known to be dead whose lock is
    /// still live (a lease that has not lapsed): reads the lock, shows it to
    /// `confirm`, and removes it only if it is still that very lock (same
    /// ETag or content); refuses with [`Error::LockChanged`] when another
    /// lock took its place meanwhile.
    pub async fn force_unlock(
        &self,
        confirm: &mut (dyn FnMut(&crate::state::LockSeen) -> Result<bool> + Send),
    ) -> Result<ForceUnlocked> {
        let Some(seen) = self.backend.lock_seen(&self.stack).await? else { return Ok(ForceUnlocked::NotLocked) };
        if !confirm(&seen)? {
            return Err(Error::Refused("unlock cancelled; the lock is left as it was".into()));
        }
        Ok(if self.backend.force_unlock(&self.stack, &seen).await? {
            ForceUnlocked::Removed(seen)
        } else {
            ForceUnlocked::ReleasedMeanwhile(seen)
        })
    }

    /// Copies this stack's state from `from` to `to` (`state push` and
    /// `state pull`), holding both locks: the source is loaded and verified
    /// (journal replayed, operations in flight kept), written to `to` as
    /// one snapshot, and read back from `to` to check that it holds the
    /// same. Refuses when `to` already holds a state of the stack, unless
    /// `force`. Returns how many resources were copied.
    pub async fn copy_state(&self, from: Arc<dyn Backend>, to: Arc<dyn Backend>, force: bool) -> Result<usize> {
        let (src, dst) = (from.describe(&self.stack), to.describe(&self.stack));
        if src == dst {
            return Err(Error::Refused(format!("{src} is both the source and the destination")));
        }
        from.lock(&self.stack, &LockInfo::here("state copy")).await?;
        let res = async {
            to.lock(&self.stack, &LockInfo::here("state copy")).await?;
            let res = self.copy_locked(&from, &to, force).await;
            self.release_after_copy(&to, to.unlock(&self.stack).await, &res);
            res
        }
        .await;
        self.release_after_copy(&from, from.unlock(&self.stack).await, &res);
        res
    }

    /// A copy that finished never fails over a lock it could not release
    /// (the lease lapses by itself): the failure is a warning, as for `up`.
    fn release_after_copy(&self, on: &Arc<dyn Backend>, unlocked: Result<()>, copied: &Result<usize>) {
        if let Err(e) = unlocked {
            let message = match copied {
                Ok(_) => format!("the state copy to or from {} finished, but {e}", on.describe(&self.stack)),
                Err(_) => e.to_string(),
            };
            (self.observer)(&crate::engine::Event::Warning { message });
        }
    }

    async fn copy_locked(&self, from: &Arc<dyn Backend>, to: &Arc<dyn Backend>, force: bool) -> Result<usize> {
        let src = self.store_on(from.clone());
        let dst = self.store_on(to.clone());
        let stored = from.load(&self.stack).await?;
        if stored.snapshot.is_none() && stored.journal.is_empty() {
            return Err(Error::Refused(format!(
                "there is no state of stack `{}` at {}",
                self.stack,
                from.describe(&self.stack)
            )));
        }
        let mut state = src.load().await?.state;
        let existing = dst.load().await?.state;
        if !force && (!existing.resources.is_empty() || !existing.pending.is_empty() || existing.serial > 0) {
            return Err(Error::Refused(format!(
                "{} already holds a state of stack `{}` ({} resources); pass --force to overwrite it",
                to.describe(&self.stack),
                self.stack,
                existing.resources.len()
            )));
        }
        state.serial = state.serial.max(existing.serial);
        dst.compact(&mut state).await?;
        let copied = dst.load().await?.state;
        let same = copied.resources.len() == state.resources.len()
            && copied.resources.iter().all(|(u, r)| state.resources.get(u).is_some_and(|s| s.id == r.id))
            && copied.pending.len() == state.pending.len()
            && copied.outputs.len() == state.outputs.len();
        if !same {
            return Err(Error::backend(
                to.describe(&self.stack),
                "the copy read back differs from the source; the source is unchanged",
            ));
        }
        Ok(state.resources.len())
    }

    /// Clears `protect` in the state on one resource (`None`: on all), as
    /// Pulumi's `state unprotect` does: a protected resource can be deleted
    /// or replaced only once the state no longer protects it. Written as
    /// one atomic snapshot. Returns the resources that changed.
    pub async fn state_unprotect(&self, name: Option<&str>) -> Result<Vec<Urn>> {
        self.locked("state unprotect", async {
            let store = self.store();
            let mut state = store.load().await?.state;
            if let Some(n) = name {
                let in_flight = state.pending.iter().any(|p| p.urn.as_str() == n);
                if !state.resources.contains_key(&Urn::new(n)) && !in_flight {
                    return Err(Error::UnknownTarget(n.to_owned()));
                }
            }
            let mut changed = Vec::new();
            let picked: Vec<Urn> = state
                .resources
                .values()
                .filter(|r| r.options.protect && name.is_none_or(|n| r.urn.as_str() == n))
                .map(|r| r.urn.clone())
                .collect();
            for urn in picked {
                let mut r = state.resources[&urn].clone();
                r.options.protect = false;
                state.apply(Mutation::Upsert(r));
                changed.push(urn);
            }
            // A create a dead run left in flight is adopted as it planned:
            // unprotect that plan too, or recovery would protect it again.
            for op in &mut state.pending {
                let Some(planned) = op.planned.as_deref_mut() else { continue };
                if planned.options.protect && name.is_none_or(|n| op.urn.as_str() == n) {
                    planned.options.protect = false;
                    changed.push(op.urn.clone());
                }
            }
            if !changed.is_empty() {
                store.compact(&mut state).await?;
            }
            Ok(changed)
        })
        .await
    }

    /// Drops a torn last journal line (left by an interrupted write).
    pub async fn repair(&self) -> Result<bool> {
        self.locked("state repair", async { self.backend.repair_journal(&self.stack).await }).await
    }
}

/// What `state unlock --force` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForceUnlocked {
    /// There was no lock.
    NotLocked,
    /// This lock was removed.
    Removed(crate::state::LockSeen),
    /// This lock was released by its holder (or lapsed and was cleared)
    /// before it could be removed; nothing else was touched.
    ReleasedMeanwhile(crate::state::LockSeen),
}

/// What the providers that can be reached say of the plan
/// ([`Engine::check_live`]): every problem at once, each naming the config
/// key its value came from, before anything changes.
async fn check_live(graph: &Graph, config: &Config, engine: &Engine, plan: &Plan) -> Result<()> {
    let mut diags = engine.check_live(plan).await?;
    if diags.is_empty() {
        return Ok(());
    }
    for d in &mut diags {
        crate::stack::name_config_origin(config, graph, d);
    }
    Err(Error::Invalid(diags))
}
