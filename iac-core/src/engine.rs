//! The engine: runs plans against providers with journaled state.
//!
//! [`Engine::apply`] turns a [`Plan`] into physical operations (a replace is
//! a create and a delete), orders them as a DAG and runs them with bounded
//! parallelism, a node starting as soon as the nodes it waits for are done.
//! A failed node skips only what depends on it. Every provider call is
//! journaled before and after, and the in-memory state is updated as each
//! call finishes so later nodes resolve their inputs from real outputs.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::diff::{diff, overlay, path_under, PropertyDiff};
use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::output::Urn;
use crate::plan::{Op, Plan, Step};
use crate::provider::{
    CreateRequest, CreateResult, DeleteRequest, ErrorKind, FindRequest, Provider, ProviderError, ReadRequest,
    ReadResult, UpdateRequest,
};
use crate::stack::Providers;
use crate::state::store::{Journal, StateStore};
use crate::state::{Mutation, OpKind, PendingOp, ResourceState, State};
use crate::value::Value;

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

struct Node {
    step: usize,
    kind: NodeKind,
    waits: usize,
    dependents: Vec<usize>,
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
                    Err(_) => Err(ProviderError::fatal("timeout", format!("did not finish within {}s", t.as_secs()))),
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

    /// Resolves operations a crashed run left in flight by asking the
    /// provider: a create is looked for by identity and adopted if found; an
    /// update or delete is settled by reading the resource back.
    pub async fn recover_pending(&self, state: &mut State, graph: Option<&Graph>, journal: &Journal) -> Result<()> {
        let pending = std::mem::take(&mut state.pending);
        let mut left = Vec::new();
        for op in pending {
            let provider = match self.provider(&op.provider, &op.urn) {
                Ok(p) => p,
                Err(_) if op.provider.is_empty() => {
                    journal.end(Some(op.seq), &[], None).await?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let urn = op.urn.clone();
            let (changes, outcome) = match op.op {
                OpKind::Create => {
                    let inputs = graph
                        .and_then(|g| g.resources.get(&urn))
                        .map(|d| d.inputs.resolve(&*state))
                        .unwrap_or(Value::Null);
                    // During a replace the old copy carries the same identity;
                    // it is never what the dead create made.
                    let recorded = recorded_ids(state, &urn);
                    let req = FindRequest {
                        type_token: leak_type(&op.type_token),
                        urn: urn.clone(),
                        stack: self.identity.clone(),
                        inputs: inputs.clone(),
                        known_ids: recorded.clone(),
                    };
                    let found = self.call(&urn, None, None, || provider.find(req.clone())).await;
                    match found.map(|f| f.filter(|f| !recorded.contains(&f.id))) {
                        Ok(Some(found)) => {
                            let deps = graph
                                .and_then(|g| g.resources.get(&urn))
                                .map(|d| d.deps.clone())
                                .unwrap_or_default()
                                .into_iter()
                                .filter(|d| state.resources.contains_key(d))
                                .collect();
                            let options = graph
                                .and_then(|g| g.resources.get(&urn))
                                .map(|d| d.options.clone())
                                .unwrap_or_default();
                            let mut rs = ResourceState {
                                urn: urn.clone(),
                                type_token: op.type_token.clone(),
                                provider: op.provider.clone(),
                                id: Some(found.id.clone()),
                                // What the cloud holds, not the desired inputs: a
                                // run that died mid-create may have made the
                                // resource without finishing its configuration
                                // (a bucket without its policy), and the plan must
                                // see that to finish it. `find` reads back in the
                                // shape of the desired inputs, as a refresh does.
                                inputs: remark_secrets(&inputs, found.inputs),
                                outputs: found.outputs,
                                deps,
                                options,
                            };
                            mark_secret_outputs(&rs.inputs.clone(), &mut rs.outputs);
                            let mut ch = Vec::new();
                            if state.resources.contains_key(&urn) {
                                ch.push(Mutation::Retire { urn: urn.clone() });
                            }
                            ch.push(Mutation::Upsert(rs));
                            (ch, format!("adopted {} found by its identity", found.id))
                        }
                        Ok(None) => (vec![], "never created; nothing to adopt".to_owned()),
                        Err(e) => {
                            left.push(op.clone());
                            (vec![], format!("unresolved: {e}"))
                        }
                    }
                }
                OpKind::Update | OpKind::Delete => {
                    let id = op.id.clone().unwrap_or_default();
                    let known =
                        state.resources.get(&urn).filter(|r| r.id.as_deref() == Some(&id)).cloned().or_else(|| {
                            state.retired.iter().find(|r| r.urn == urn && r.id.as_deref() == Some(&id)).cloned()
                        });
                    let retired = state.resources.get(&urn).is_none_or(|r| r.id.as_deref() != Some(&id));
                    match known {
                        None => (vec![], "already settled".to_owned()),
                        Some(r) => {
                            let req = ReadRequest {
                                type_token: leak_type(&r.type_token),
                                urn: urn.clone(),
                                id: id.clone(),
                                inputs: r.inputs.clone(),
                                outputs: r.outputs.clone(),
                            };
                            match self.call(&urn, None, None, || provider.read(req.clone())).await {
                                Ok(None) if retired => {
                                    (vec![Mutation::DropRetired { urn: urn.clone(), id }], "gone: forgotten".to_owned())
                                }
                                Ok(None) => (vec![Mutation::Remove { urn: urn.clone() }], "gone: forgotten".to_owned()),
                                Ok(Some(read)) if !retired => {
                                    let rs = from_read(&r, read);
                                    (vec![Mutation::Upsert(rs)], "still exists: read back".to_owned())
                                }
                                Ok(Some(_)) => (vec![], "still exists: will be deleted".to_owned()),
                                Err(e) => {
                                    left.push(op.clone());
                                    (vec![], format!("unresolved: {e}"))
                                }
                            }
                        }
                    }
                }
            };
            if !left.iter().any(|l| l.seq == op.seq) {
                journal.end(Some(op.seq), &changes, None).await?;
                for c in changes {
                    state.apply(c);
                }
            }
            (self.observer)(&Event::Recovered { op, outcome });
        }
        state.pending = left;
        state.journal_seq = journal.last_seq();
        Ok(())
    }

    /// Reads every resource back. Returns the drift and the refreshed state
    /// (not written: the caller journals it when asked to).
    pub async fn refresh(&self, state: &State, parallel: usize) -> Result<(Vec<Drift>, Vec<Mutation>)> {
        use futures::stream::{self, StreamExt};
        let jobs: Vec<(ResourceState, bool)> = state
            .resources
            .values()
            .filter(|r| r.id.is_some())
            .map(|r| (r.clone(), false))
            .chain(state.retired.iter().map(|r| (r.clone(), true)))
            .collect();
        let results: Vec<Result<(Option<Drift>, Option<Mutation>)>> = stream::iter(jobs)
            .map(|(r, retired)| async move {
                let provider = self.provider(&r.provider, &r.urn)?;
                let id = r.id.clone().unwrap_or_default();
                let req = ReadRequest {
                    type_token: leak_type(&r.type_token),
                    urn: r.urn.clone(),
                    id: id.clone(),
                    inputs: r.inputs.clone(),
                    outputs: r.outputs.clone(),
                };
                let read = self
                    .call(&r.urn, None, None, || provider.read(req.clone()))
                    .await
                    .map_err(|e| Error::StepsFailed(vec![format!("{} (read): {e}", r.urn)]))?;
                Ok(match (read, retired) {
                    (None, true) => (None, Some(Mutation::DropRetired { urn: r.urn.clone(), id })),
                    (None, false) => {
                        (Some(Drift { urn: r.urn.clone(), diffs: None }), Some(Mutation::Remove { urn: r.urn.clone() }))
                    }
                    (Some(_), true) => (None, None),
                    (Some(read), false) => {
                        let new = from_read(&r, read);
                        let diffs: Vec<PropertyDiff> = diff(&r.inputs, &new.inputs)
                            .into_iter()
                            .filter(|d| !r.options.ignore_changes.iter().any(|p| path_under(&d.path, p)))
                            .collect();
                        let changed = new != r;
                        (
                            (!diffs.is_empty()).then(|| Drift { urn: r.urn.clone(), diffs: Some(diffs) }),
                            changed.then_some(Mutation::Upsert(new)),
                        )
                    }
                })
            })
            .buffered(parallel.max(1))
            .collect()
            .await;
        let mut drift = Vec::new();
        let mut changes = Vec::new();
        for r in results {
            let (d, m) = r?;
            drift.extend(d);
            changes.extend(m);
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
                break; // nothing running and nothing ready: everything left was skipped
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

/// Turns logical steps into physical nodes and the edges between them.
fn build_nodes(plan: &Plan) -> (Vec<Node>, Vec<usize>) {
    let mut nodes: Vec<Node> = Vec::new();
    // Per resource: its create/update node, and its delete node(s).
    let mut up: HashMap<&Urn, usize> = HashMap::new();
    let mut del: HashMap<&Urn, Vec<usize>> = HashMap::new();
    let mut dbr_pairs = Vec::new();
    let add = |nodes: &mut Vec<Node>, step, kind| {
        nodes.push(Node { step, kind, waits: 0, dependents: Vec::new() });
        nodes.len() - 1
    };
    for (si, s) in plan.steps.iter().enumerate() {
        match s.op {
            Op::Same => {}
            Op::Create => {
                up.insert(&s.urn, add(&mut nodes, si, NodeKind::Create));
            }
            Op::Update => {
                up.insert(&s.urn, add(&mut nodes, si, NodeKind::Update));
            }
            Op::Replace => {
                let c = add(&mut nodes, si, NodeKind::Create);
                let d = add(&mut nodes, si, NodeKind::DeleteOld);
                up.insert(&s.urn, c);
                del.entry(&s.urn).or_default().push(d);
                if s.delete_before_replace {
                    dbr_pairs.push((d, c));
                } else {
                    dbr_pairs.push((c, d));
                }
            }
            Op::Delete => {
                let d = add(&mut nodes, si, NodeKind::Delete);
                if !s.retired {
                    del.entry(&s.urn).or_default().push(d);
                }
            }
        }
    }
    let mut edges: Vec<(usize, usize)> = dbr_pairs;
    for s in &plan.steps {
        // Creates and updates wait for the creates and updates they read.
        if let Some(&n) = up.get(&s.urn) {
            for d in &s.deps {
                if let Some(&m) = up.get(d) {
                    edges.push((m, n));
                }
            }
        }
        // Deleting a resource waits until nothing in the old state that
        // depends on it is left: dependents being deleted (or replaced) go
        // first, dependents that stay are first updated away from it. When
        // the dependency is replaced delete-first, its new copy must exist
        // before dependents can move to it, so those edges would be cycles.
        if let Some(old) = &s.old {
            for dep in &old.deps {
                let Some(dep_dels) = del.get(dep) else { continue };
                for &dx in dep_dels {
                    let x = &plan.steps[nodes[dx].step];
                    let x_dbr = x.op == Op::Replace && x.delete_before_replace;
                    let s_cbd = s.op == Op::Replace && !s.delete_before_replace;
                    for &ds in del.get(&s.urn).into_iter().flatten() {
                        if !(x_dbr && s_cbd) {
                            edges.push((ds, dx));
                        }
                    }
                    if let Some(&us) = up.get(&s.urn) {
                        if !x_dbr {
                            edges.push((us, dx));
                        }
                    }
                }
            }
        }
    }
    edges.sort_unstable();
    edges.dedup();
    for (a, b) in edges {
        if a != b {
            nodes[a].dependents.push(b);
            nodes[b].waits += 1;
        }
    }
    let roots = (0..nodes.len()).filter(|&i| nodes[i].waits == 0).collect();
    (nodes, roots)
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

/// Marks as secret every output whose top-level key is a secret input.
fn mark_secret_outputs(inputs: &Value, outputs: &mut Value) {
    let (Value::Map(i), Value::Map(o)) = (inputs, outputs) else { return };
    for (k, v) in o.iter_mut() {
        if matches!(i.get(k), Some(Value::Secret(_))) && !matches!(v, Value::Secret(_)) {
            *v = Value::Secret(Box::new(std::mem::take(v)));
        }
    }
}

/// Keeps the secret marking of inputs on values read back from the cloud.
fn remark_secrets(old: &Value, mut new: Value) -> Value {
    mark_secret_outputs(old, &mut new);
    new
}

fn from_read(r: &ResourceState, read: ReadResult) -> ResourceState {
    let mut outputs = read.outputs;
    mark_secret_outputs(&r.inputs, &mut outputs);
    ResourceState { id: Some(read.id), inputs: remark_secrets(&r.inputs, read.inputs), outputs, ..r.clone() }
}

async fn run_node(ctx: &Ctx, step: &Step, kind: NodeKind) -> Result<(), String> {
    let engine = &ctx.engine;
    let phase = match kind {
        NodeKind::Create => Phase::Create,
        NodeKind::Update => Phase::Update,
        NodeKind::DeleteOld | NodeKind::Delete => Phase::Delete,
    };
    (engine.observer)(&Event::Started { urn: step.urn.clone(), op: step.op, phase });
    let started = Instant::now();
    let res = run_node_inner(ctx, step, kind).await;
    match &res {
        Ok(()) => (engine.observer)(&Event::Finished {
            urn: step.urn.clone(),
            op: step.op,
            phase,
            elapsed: started.elapsed(),
        }),
        Err(e) => (engine.observer)(&Event::Failed { urn: step.urn.clone(), op: step.op, phase, error: e.clone() }),
    }
    res
}

async fn commit(ctx: &Ctx, of: Option<u64>, changes: Vec<Mutation>) -> Result<(), String> {
    ctx.journal.end(of, &changes, None).await.map_err(|e| e.to_string())?;
    let mut st = ctx.state.lock().unwrap_or_else(|p| p.into_inner());
    for c in changes {
        st.apply(c);
    }
    Ok(())
}

async fn run_node_inner(ctx: &Ctx, step: &Step, kind: NodeKind) -> Result<(), String> {
    let engine = &ctx.engine;
    let stack = engine.identity.clone();
    let decl = ctx.graph.as_ref().and_then(|g| g.resources.get(&step.urn));
    let is_component = step.provider.is_empty();
    match kind {
        NodeKind::Create | NodeKind::Update => {
            let decl = decl.ok_or("internal: no declaration for a create or update")?;
            let mut inputs = {
                let st = ctx.state.lock().unwrap_or_else(|p| p.into_inner());
                decl.inputs.resolve(&*st)
            };
            if inputs.contains_unknown() {
                return Err("an input depends on an output that is not known (a dependency was not applied)".into());
            }
            let old_live = {
                let st = ctx.state.lock().unwrap_or_else(|p| p.into_inner());
                st.resources.get(&step.urn).cloned()
            };
            let mut new_state = ResourceState {
                urn: step.urn.clone(),
                type_token: decl.type_token.to_owned(),
                provider: decl.provider.clone(),
                id: None,
                inputs: Value::Null,
                outputs: Value::map(),
                deps: decl.deps.clone(),
                options: decl.options.clone(),
            };
            if kind == NodeKind::Update {
                let old = old_live.ok_or("internal: updating a resource that is not in the state")?;
                for p in &decl.options.ignore_changes {
                    overlay(&mut inputs, &old.inputs, p);
                }
                let diffs = diff(&old.inputs, &inputs);
                new_state.id = old.id.clone();
                new_state.outputs = old.outputs.clone();
                if diffs.is_empty() || is_component {
                    new_state.inputs = inputs;
                    return commit(ctx, None, vec![Mutation::Upsert(new_state)]).await;
                }
                let provider = engine.provider(&decl.provider, &step.urn).map_err(|e| e.to_string())?;
                let id = old.id.clone().unwrap_or_default();
                let seq = begin(ctx, OpKind::Update, step, Some(id.clone())).await?;
                let changed = changed_keys(diffs.iter());
                let req = UpdateRequest {
                    type_token: decl.type_token,
                    urn: step.urn.clone(),
                    stack,
                    id,
                    old_inputs: old.inputs.clone(),
                    old_outputs: old.outputs.clone(),
                    inputs: inputs.clone(),
                    changed,
                    timeout: decl.options.timeouts.update,
                };
                let res = engine
                    .call(&step.urn, decl.options.timeouts.update, Some(&ctx.permits), || provider.update(req.clone()))
                    .await;
                return match res {
                    Ok(out) => {
                        new_state.outputs = out.outputs;
                        mark_secret_outputs(&inputs, &mut new_state.outputs);
                        new_state.inputs = inputs;
                        commit(ctx, Some(seq), vec![Mutation::Upsert(new_state)]).await
                    }
                    Err(e) => fail(ctx, seq, "update", e).await,
                };
            }
            // Create (possibly the create half of a replace).
            let mut changes = Vec::new();
            if step.op == Op::Replace && !step.delete_before_replace && old_live.is_some() {
                changes.push(Mutation::Retire { urn: step.urn.clone() });
            }
            if is_component {
                new_state.inputs = inputs;
                changes.push(Mutation::Upsert(new_state));
                return commit(ctx, None, changes).await;
            }
            let provider = engine.provider(&decl.provider, &step.urn).map_err(|e| e.to_string())?;
            let seq = begin(ctx, OpKind::Create, step, None).await?;
            // During a replace the old copy carries the same identity; it is
            // never what a failed create made.
            let recorded = {
                let st = ctx.state.lock().unwrap_or_else(|p| p.into_inner());
                recorded_ids(&st, &step.urn)
            };
            let req = CreateRequest {
                type_token: decl.type_token,
                urn: step.urn.clone(),
                stack,
                inputs: inputs.clone(),
                timeout: decl.options.timeouts.create,
                known_ids: recorded.clone(),
            };
            let find = FindRequest {
                type_token: decl.type_token,
                urn: step.urn.clone(),
                stack: req.stack.clone(),
                inputs: inputs.clone(),
                known_ids: recorded.clone(),
            };
            let (provider, req, find, retried) = (&*provider, &req, &find, &AtomicBool::new(false));
            let recorded = &recorded;
            let replace_on = decl.schema.replace_on;
            let created = engine
                .call(&step.urn, decl.options.timeouts.create, Some(&ctx.permits), move || async move {
                    // A create that failed transiently may still have made the
                    // resource (its response was lost, or a later step of it
                    // was throttled): look for it before creating again, so a
                    // retry never makes a twin.
                    if retried.swap(true, Ordering::SeqCst) {
                        let found = provider.find(find.clone()).await?.filter(|f| !recorded.contains(&f.id));
                        if let Some(found) = found {
                            return settle_found(provider, replace_on, req, found).await;
                        }
                    }
                    provider.create(req.clone()).await
                })
                .await;
            match created {
                Ok(out) => {
                    new_state.id = Some(out.id);
                    new_state.outputs = out.outputs;
                    mark_secret_outputs(&inputs, &mut new_state.outputs);
                    new_state.inputs = inputs;
                    changes.push(Mutation::Upsert(new_state));
                    commit(ctx, Some(seq), changes).await
                }
                Err(e) => fail(ctx, seq, "create", e).await,
            }
        }
        NodeKind::DeleteOld | NodeKind::Delete => {
            let old = step.old.as_ref().ok_or("internal: deleting a resource with no recorded state")?;
            let retired_copy = step.retired || (kind == NodeKind::DeleteOld && !step.delete_before_replace);
            let forget = if retired_copy {
                Mutation::DropRetired { urn: step.urn.clone(), id: old.id.clone().unwrap_or_default() }
            } else {
                Mutation::Remove { urn: step.urn.clone() }
            };
            if is_component || old.options.retain_on_delete {
                return commit(ctx, None, vec![forget]).await;
            }
            let provider = engine.provider(&old.provider, &step.urn).map_err(|e| e.to_string())?;
            let id = old.id.clone().unwrap_or_default();
            let seq = begin(ctx, OpKind::Delete, step, Some(id.clone())).await?;
            let req = DeleteRequest {
                type_token: leak_type(&old.type_token),
                urn: step.urn.clone(),
                id,
                inputs: old.inputs.clone(),
                outputs: old.outputs.clone(),
                timeout: old.options.timeouts.delete,
            };
            match engine
                .call(&step.urn, old.options.timeouts.delete, Some(&ctx.permits), || provider.delete(req.clone()))
                .await
            {
                Ok(()) => commit(ctx, Some(seq), vec![forget]).await,
                Err(e) => fail(ctx, seq, "delete", e).await,
            }
        }
    }
}

/// The cloud ids the state records for `urn`: its live copy and any old
/// copies of a replace still to be deleted.
fn recorded_ids(state: &State, urn: &Urn) -> Vec<String> {
    let old_copies = state.retired.iter().filter(|r| &r.urn == urn);
    state.resources.get(urn).into_iter().chain(old_copies).filter_map(|r| r.id.clone()).collect()
}

/// The top-level input keys that `diffs` touch, each once (an update
/// request names keys, not paths).
fn changed_keys<'a>(diffs: impl Iterator<Item = &'a PropertyDiff>) -> Vec<String> {
    let mut keys: Vec<String> = diffs.map(|d| d.path.split('.').next().unwrap_or(&d.path).to_owned()).collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Finishes a create whose resource turned up when its call was retried:
/// what the cloud holds may lack the configuration the failed attempt did
/// not reach, so what differs (and can change in place) is updated.
async fn settle_found(
    provider: &dyn Provider,
    replace_on: &[&str],
    req: &CreateRequest,
    found: ReadResult,
) -> Result<CreateResult, ProviderError> {
    let old_inputs = remark_secrets(&req.inputs, found.inputs);
    let diffs = diff(&old_inputs, &req.inputs);
    let changed = changed_keys(diffs.iter().filter(|d| !replace_on.iter().any(|k| path_under(&d.path, k))));
    if changed.is_empty() {
        return Ok(CreateResult { id: found.id, outputs: found.outputs });
    }
    let update = UpdateRequest {
        type_token: req.type_token,
        urn: req.urn.clone(),
        stack: req.stack.clone(),
        id: found.id.clone(),
        old_inputs,
        old_outputs: found.outputs,
        inputs: req.inputs.clone(),
        changed,
        timeout: req.timeout,
    };
    let out = provider.update(update).await?;
    Ok(CreateResult { id: found.id, outputs: out.outputs })
}

async fn begin(ctx: &Ctx, op: OpKind, step: &Step, id: Option<String>) -> Result<u64, String> {
    let provider =
        step.old.as_ref().filter(|_| op == OpKind::Delete).map_or(step.provider.clone(), |o| o.provider.clone());
    ctx.journal
        .begin(PendingOp { seq: 0, op, urn: step.urn.clone(), type_token: step.type_token.clone(), provider, id })
        .await
        .map_err(|e| e.to_string())
}

async fn fail(ctx: &Ctx, seq: u64, what: &str, e: ProviderError) -> Result<(), String> {
    let msg = format!("{what} failed: {e}");
    ctx.journal.end(Some(seq), &[], Some(msg.clone())).await.map_err(|e| e.to_string())?;
    Err(msg)
}
