//! The engine: runs plans against providers with journaled state.
//!
//! [`Engine::apply`] turns a [`Plan`] into physical operations (a replace is
//! a create and a delete), orders them as a DAG and runs them with bounded
//! parallelism, a node starting as soon as the nodes it waits for are done.
//! A failed node skips only what depends on it. Every provider call is
//! journaled before and after, and the in-memory state is updated as each
//! call finishes so later nodes resolve their inputs from real outputs.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use indexmap::IndexMap;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::diff::{diff, path_under, PropertyDiff};
use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::output::Urn;
use crate::plan::{Op, Plan};
use crate::provider::{ErrorKind, Provider, ProviderError, ReadRequest, ReadResult, READ_BATCH};
use crate::stack::Providers;
use crate::state::store::{Journal, StateStore};
use crate::state::{Mutation, PendingOp, ResourceState, State};
use crate::value::Value;

mod live;
mod nodes;
mod recover;
mod steps;

use nodes::build_nodes;
use steps::run_node;

/// What a physical operation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Create (or the create half of a replace).
    Create,
    /// Update in place.
    Update,
    /// Delete (or the delete half of a replace).
    Delete,
}

/// Progress reported while the engine works. Only the CLI renders these.
#[derive(Clone, Debug)]
pub enum Event {
    /// An operation started.
    Started {
        /// Resource.
        urn: Urn,
        /// Logical op.
        op: Op,
        /// Physical phase.
        phase: Phase,
    },
    /// An operation finished.
    Finished {
        /// Resource.
        urn: Urn,
        /// Logical op.
        op: Op,
        /// Physical phase.
        phase: Phase,
        /// How long it took.
        elapsed: Duration,
    },
    /// An operation failed for good.
    Failed {
        /// Resource.
        urn: Urn,
        /// Logical op.
        op: Op,
        /// Physical phase.
        phase: Phase,
        /// The error.
        error: String,
    },
    /// An operation was skipped because one it waits for failed.
    Skipped {
        /// Resource.
        urn: Urn,
        /// Logical op.
        op: Op,
        /// The resource whose failure caused the skip.
        because: Urn,
    },
    /// A call failed transiently and is retried.
    Retrying {
        /// Resource.
        urn: Urn,
        /// The failed call.
        error: String,
        /// Attempt number (from 1).
        attempt: u32,
        /// Backoff before the next attempt.
        delay: Duration,
    },
    /// An operation left in flight by an earlier run was resolved.
    Recovered {
        /// The operation.
        op: PendingOp,
        /// What was found.
        outcome: String,
    },
    /// Something the user must know that does not fail the run (a lock
    /// that could not be released after the run finished).
    Warning {
        /// What happened, and what it means.
        message: String,
    },
}

/// Receives events.
pub type Observer = Arc<dyn Fn(&Event) + Send + Sync>;

/// How provider calls are retried.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts in all (first call included).
    pub attempts: u32,
    /// First backoff; doubles each time.
    pub base: Duration,
    /// Longest backoff.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { attempts: 8, base: Duration::from_millis(100), max: Duration::from_secs(10) }
    }
}

/// A refresh's answer for the job at an index: what the cloud holds, if
/// anything.
type Answer = (usize, Option<ReadResult>);

/// The default `--parallel`: enough to overlap cloud latency, bounded so
/// memory stays flat on big stacks.
pub fn default_parallelism() -> usize {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    (cpus * 8).clamp(16, 64)
}

/// The outcome of an apply: the state reached and what failed.
#[derive(Debug)]
pub struct ApplyReport {
    /// The state after the apply (also compacted into the backend).
    pub state: State,
    /// Steps that failed, each with its resource, operation and message.
    pub failures: Vec<String>,
    /// Logical steps skipped because something they need failed.
    pub skipped: usize,
    /// Per-resource durations of finished operations.
    pub durations: Vec<(Urn, Op, Duration)>,
}

/// Drift found by a refresh.
#[derive(Clone, Debug)]
pub struct Drift {
    /// Resource.
    pub urn: Urn,
    /// What changed: `None` when the resource is gone from the cloud.
    pub diffs: Option<Vec<PropertyDiff>>,
}

/// Runs plans for one stack.
#[derive(Clone)]
pub struct Engine {
    store: StateStore,
    /// What resources are tagged with to be found again after a crash:
    /// `<project>/<stack>`, so two programs' stacks of one name never adopt
    /// each other's resources.
    identity: String,
    providers: Arc<Providers>,
    observer: Observer,
    retry: RetryPolicy,
}

struct Ctx {
    engine: Engine,
    /// Bounds provider calls in flight (`--parallel`).
    permits: Semaphore,
    graph: Option<Arc<Graph>>,
    state: Mutex<State>,
    journal: Journal,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum NodeKind {
    Create,
    Update,
    /// Delete the copy a replace leaves behind (or replaces first).
    DeleteOld,
    Delete,
}

impl Engine {
    /// An engine over `store` with the program's providers.
    pub fn new(store: StateStore, providers: Providers, observer: Observer) -> Engine {
        let identity = store.stack().to_owned();
        Engine { store, identity, providers: Arc::new(providers), observer, retry: RetryPolicy::default() }
    }

    /// Tags resources with `identity` (the stack's name by default) for
    /// finding them again after a crash.
    pub fn with_identity(mut self, identity: impl Into<String>) -> Engine {
        self.identity = identity.into();
        self
    }

    /// The identity resources are tagged with.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Engine {
        self.retry = retry;
        self
    }

    /// The state store.
    pub fn store(&self) -> &StateStore {
        &self.store
    }

    fn provider(&self, name: &str, urn: &Urn) -> Result<Arc<dyn Provider>> {
        self.providers
            .get(name)
            .cloned()
            .ok_or_else(|| Error::UnknownProvider { urn: urn.clone(), provider: name.to_owned() })
    }

    /// Runs each named provider's preflight once, before anything is touched.
    pub async fn preflight<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Result<()> {
        let mut seen = Vec::new();
        for n in names {
            if n.is_empty() || seen.contains(&n) {
                continue;
            }
            seen.push(n);
            let p = self.provider(n, &Urn::new("*"))?;
            p.preflight()
                .await
                .map_err(|e| Error::ProviderNotReady { provider: n.to_owned(), message: e.to_string() })?;
        }
        Ok(())
    }

    /// Calls the provider with retries and the timeout. With `permits`, each
    /// attempt holds one permit: `--parallel` bounds calls in flight, not
    /// journal writes or backoff sleeps.
    async fn call<T, F, Fut>(
        &self,
        urn: &Urn,
        timeout: Option<Duration>,
        permits: Option<&Semaphore>,
        mut f: F,
    ) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ProviderError>>,
    {
        let mut attempt = 1;
        loop {
            let permit = match permits {
                Some(p) => Some(p.acquire().await.map_err(|_| ProviderError::fatal("schedule", "apply was stopped"))?),
                None => None,
            };
            // A panicking provider fails this call like any other error, so
            // the operation's journal record is closed.
            let call = std::panic::AssertUnwindSafe(f()).catch_unwind();
            let res = match timeout {
                Some(t) => match tokio::time::timeout(t, call).await {
                    Ok(r) => r.unwrap_or_else(|p| Err(panicked(p))),
                    Err(_) => Err(ProviderError::fatal("timeout", format!("did not finish within {t:?}"))),
                },
                None => call.await.unwrap_or_else(|p| Err(panicked(p))),
            };
            drop(permit);
            match res {
                Err(e) if e.kind == ErrorKind::Retriable && attempt < self.retry.attempts => {
                    let exp = self.retry.base.saturating_mul(1 << (attempt - 1).min(16));
                    let jitter = rand::random::<f64>() * 0.5 + 0.75;
                    let delay = exp.min(self.retry.max).mul_f64(jitter);
                    (self.observer)(&Event::Retrying { urn: urn.clone(), error: e.to_string(), attempt, delay });
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                r => return r,
            }
        }
    }

    /// Reads every resource back. Returns the drift and the refreshed state
    /// (not written: the caller journals it when asked to).
    pub async fn refresh(&self, state: &State, parallel: usize) -> Result<(Vec<Drift>, Vec<Mutation>)> {
        use futures::stream::{self, StreamExt};
        let jobs: Vec<(&ResourceState, bool)> = state
            .resources
            .values()
            .filter(|r| r.id.is_some())
            .map(|r| (r, false))
            .chain(state.retired.iter().map(|r| (r, true)))
            .collect();
        let reqs: Vec<ReadRequest> = jobs
            .iter()
            .map(|(r, _)| ReadRequest {
                type_token: leak_type(&r.type_token),
                urn: r.urn.clone(),
                id: r.id.clone().unwrap_or_default(),
                inputs: r.inputs.clone(),
                outputs: r.outputs.clone(),
            })
            .collect();
        // One batch per provider and type (at most READ_BATCH each), so a
        // provider that describes many resources per call can.
        let mut groups: IndexMap<(&str, &str), Vec<usize>> = IndexMap::new();
        let mut by_provider: IndexMap<&str, Vec<ReadRequest>> = IndexMap::new();
        for (i, (r, _)) in jobs.iter().enumerate() {
            groups.entry((r.provider.as_str(), r.type_token.as_str())).or_default().push(i);
            by_provider.entry(r.provider.as_str()).or_default().push(reqs[i].clone());
        }
        // Each provider first reads ahead what its types share (the tags of
        // all of them), then the batches run, then the read-ahead is dropped,
        // whatever the batches answered.
        let providers: Vec<Arc<dyn Provider>> =
            by_provider.iter().filter_map(|(name, rs)| self.provider(name, &rs[0].urn).ok()).collect();
        futures::future::join_all(providers.iter().zip(by_provider.values()).map(|(p, rs)| p.read_ahead(rs))).await;
        let batches: Vec<Vec<usize>> = groups
            .into_values()
            .flat_map(|ix| ix.chunks(READ_BATCH).map(<[usize]>::to_vec).collect::<Vec<_>>())
            .collect();
        let (jobs, reqs) = (&jobs, &reqs);
        let results: Vec<Result<Vec<Answer>>> = stream::iter(batches)
            .map(|batch| async move {
                let first = jobs[batch[0]].0;
                let provider = self.provider(&first.provider, &first.urn)?;
                let batch_reqs: Vec<ReadRequest> = batch.iter().map(|&i| reqs[i].clone()).collect();
                let read = self.call(&first.urn, None, None, || provider.read_many(batch_reqs.clone())).await.map_err(
                    |e| {
                        let urns: Vec<&str> = batch.iter().map(|&i| jobs[i].0.urn.as_str()).collect();
                        Error::StepsFailed(vec![format!("{} (read): {e}", urns.join(", "))])
                    },
                )?;
                if read.len() != batch.len() {
                    return Err(Error::StepsFailed(vec![format!(
                        "{} (read): the provider answered {} of {} reads",
                        first.type_token,
                        read.len(),
                        batch.len()
                    )]));
                }
                Ok(batch.into_iter().zip(read).collect())
            })
            .buffered(parallel.max(1))
            .collect()
            .await;
        for p in &providers {
            p.read_done();
        }
        let mut read: Vec<Answer> = Vec::with_capacity(jobs.len());
        for r in results {
            read.extend(r?);
        }
        read.sort_by_key(|(i, _)| *i);
        let mut drift = Vec::new();
        let mut changes = Vec::new();
        for (i, found) in read {
            let (r, retired) = jobs[i];
            let id = r.id.clone().unwrap_or_default();
            match (found, retired) {
                (None, true) => changes.push(Mutation::DropRetired { urn: r.urn.clone(), id }),
                (None, false) => {
                    drift.push(Drift { urn: r.urn.clone(), diffs: None });
                    changes.push(Mutation::Remove { urn: r.urn.clone() });
                }
                (Some(_), true) => {}
                (Some(found), false) => {
                    let new = from_read(r, found);
                    let diffs: Vec<PropertyDiff> = diff(&r.inputs, &new.inputs)
                        .into_iter()
                        .filter(|d| !r.options.ignore_changes.iter().any(|p| path_under(&d.path, p)))
                        .collect();
                    if !diffs.is_empty() {
                        drift.push(Drift { urn: r.urn.clone(), diffs: Some(diffs) });
                    }
                    if new != *r {
                        changes.push(Mutation::Upsert(new));
                    }
                }
            }
        }
        Ok((drift, changes))
    }

    /// Applies `plan` to `state`, journaling every call, and compacts the
    /// result into a new snapshot. Returns the state reached even when steps
    /// failed (their failures are in the report). The plan is shared with
    /// the running steps, not copied: big plans are big.
    pub async fn apply(
        &self,
        graph: Option<Arc<Graph>>,
        plan: Arc<Plan>,
        state: State,
        journal: Journal,
        parallel: usize,
    ) -> Result<ApplyReport> {
        let (nodes, roots) = build_nodes(&plan);
        let parallel = parallel.max(1);
        let ctx = Arc::new(Ctx {
            engine: self.clone(),
            permits: Semaphore::new(parallel),
            graph: graph.clone(),
            state: Mutex::new(state),
            journal,
        });
        let mut nodes = nodes;
        let mut ready: VecDeque<usize> = roots.into();
        let mut skipped = vec![false; nodes.len()];
        let mut done = 0usize;
        let mut failures = Vec::new();
        let mut skipped_steps = std::collections::HashSet::new();
        let mut durations = Vec::new();
        let mut tasks: JoinSet<(usize, Result<Duration, String>)> = JoinSet::new();
        while done < nodes.len() {
            // Every ready node starts now; the semaphore bounds the calls.
            while let Some(i) = ready.pop_front() {
                let ctx = ctx.clone();
                let plan = plan.clone();
                let (step, kind) = (nodes[i].step, nodes[i].kind);
                tasks.spawn(async move {
                    let started = Instant::now();
                    let fut = std::panic::AssertUnwindSafe(run_node(&ctx, &plan.steps[step], kind));
                    let res = match fut.catch_unwind().await {
                        Ok(Ok(())) => Ok(started.elapsed()),
                        Ok(Err(e)) => Err(e),
                        Err(p) => Err(format!(
                            "provider panicked: {}",
                            p.downcast_ref::<&str>()
                                .copied()
                                .or(p.downcast_ref::<String>().map(|s| s.as_str()))
                                .unwrap_or("?")
                        )),
                    };
                    (i, res)
                });
            }
            let Some(joined) = tasks.join_next().await else {
                // Nothing running and nothing ready: what is left was skipped,
                // or waits in a cycle, which is a bug to report, never to
                // pass over in silence.
                let stuck: Vec<String> = (0..nodes.len())
                    .filter(|&n| !skipped[n] && nodes[n].waits > 0)
                    .map(|n| format!("{} ({:?})", plan.steps[nodes[n].step].urn, nodes[n].kind))
                    .collect();
                if !stuck.is_empty() {
                    failures.push(format!("internal: operations wait for each other: {}", stuck.join(", ")));
                }
                break;
            };
            let (i, res) = joined.map_err(|e| Error::StepsFailed(vec![format!("internal: {e}")]))?;
            done += 1;
            let step = &plan.steps[nodes[i].step];
            match res {
                Ok(elapsed) => {
                    durations.push((step.urn.clone(), step.op, elapsed));
                    for d in std::mem::take(&mut nodes[i].dependents) {
                        nodes[d].waits -= 1;
                        if nodes[d].waits == 0 && !skipped[d] {
                            ready.push_back(d);
                        }
                    }
                }
                Err(e) => {
                    failures.push(format!("{} ({}): {e}", step.urn, step.type_token));
                    // Skip everything downstream of the failed node.
                    let mut stack = std::mem::take(&mut nodes[i].dependents);
                    while let Some(d) = stack.pop() {
                        if skipped[d] {
                            continue;
                        }
                        skipped[d] = true;
                        done += 1;
                        let s = &plan.steps[nodes[d].step];
                        if skipped_steps.insert(nodes[d].step) {
                            (self.observer)(&Event::Skipped {
                                urn: s.urn.clone(),
                                op: s.op,
                                because: step.urn.clone(),
                            });
                        }
                        stack.extend(nodes[d].dependents.iter().copied());
                    }
                }
            }
        }
        let ctx = Arc::try_unwrap(ctx)
            .map_err(|_| Error::StepsFailed(vec!["internal: apply context still shared".into()]))?;
        let mut state = ctx.state.into_inner().unwrap_or_else(|p| p.into_inner());
        let journal = ctx.journal;

        // Bookkeeping for resources the cloud did not need to hear about.
        let mut meta = Vec::new();
        if let Some(g) = &graph {
            for s in plan.steps.iter().filter(|s| s.op == Op::Same && s.metadata_changed) {
                let (Some(d), Some(r)) = (g.resources.get(&s.urn), state.resources.get(&s.urn)) else { continue };
                if d.deps.iter().all(|x| state.resources.contains_key(x)) {
                    let mut r = r.clone();
                    r.deps = d.deps.clone();
                    r.options = d.options.clone();
                    meta.push(Mutation::Upsert(r));
                }
            }
            if failures.is_empty() {
                let outputs: BTreeMap<String, Value> =
                    g.exports.iter().map(|(k, e)| (k.clone(), e.resolve(&state))).collect();
                if !outputs.values().any(Value::contains_unknown) && outputs != state.outputs {
                    meta.push(Mutation::Outputs(outputs));
                }
            }
        } else if plan.destroy && state.resources.is_empty() && !state.outputs.is_empty() {
            meta.push(Mutation::Outputs(BTreeMap::new()));
        }
        if !meta.is_empty() {
            journal.end(None, &meta, None).await?;
            for m in meta {
                state.apply(m);
            }
        }
        state.journal_seq = journal.last_seq();
        self.store.compact(&mut state).await?;
        Ok(ApplyReport { state, failures, skipped: skipped_steps.len(), durations })
    }
}

fn panicked(p: Box<dyn std::any::Any + Send>) -> ProviderError {
    let msg = p.downcast_ref::<&str>().copied().or(p.downcast_ref::<String>().map(|s| s.as_str())).unwrap_or("?");
    ProviderError::fatal("provider", format!("provider panicked: {msg}"))
}

fn leak_type(t: &str) -> &'static str {
    // Type tokens are few and live for the whole run; interning them keeps
    // requests cheap to build.
    static INTERN: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut v = INTERN.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(s) = v.iter().find(|s| **s == t) {
        return s;
    }
    let s: &'static str = Box::leak(t.to_owned().into_boxed_str());
    v.push(s);
    s
}

/// The cloud ids the state knows for `urn`: its live copy, old copies of
/// a replace still to be deleted, and copies it let go of that stay in the
/// cloud.
fn recorded_ids(state: &State, urn: &Urn) -> Vec<String> {
    let old_copies = state.retired.iter().filter(|r| &r.urn == urn);
    let released = state.released.iter().filter(|r| &r.urn == urn).map(|r| r.id.clone());
    state.resources.get(urn).into_iter().chain(old_copies).filter_map(|r| r.id.clone()).chain(released).collect()
}

/// The top-level input keys that `diffs` touch, each once (an update
/// request names keys, not paths).
fn changed_keys<'a>(diffs: impl Iterator<Item = &'a PropertyDiff>) -> Vec<String> {
    let mut keys: Vec<String> = diffs.map(|d| d.path.split('.').next().unwrap_or(&d.path).to_owned()).collect();
    keys.sort();
    keys.dedup();
    keys
}

fn from_read(r: &ResourceState, read: ReadResult) -> ResourceState {
    let mut inputs = read.inputs;
    inputs.mark_secrets_like(&r.inputs);
    let mut outputs = read.outputs;
    outputs.mark_secrets_like(&r.inputs);
    ResourceState { id: Some(read.id), inputs, outputs, ..r.clone() }
}
