//! The physical steps of an apply, one function each: create (or the create
//! half of a replace), update, and delete (or the delete half of a replace).
//! Each brackets its provider call with journal records and reports the
//! change it made to the run's in-memory state.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::diff::{diff, overlay, path_under};
use crate::graph::Declaration;
use crate::plan::{Op, Step};
use crate::provider::{
    CreateRequest, DeleteRequest, ErrorKind, FindRequest, Provider, ProviderError, ReadRequest, ReadResult,
    UpdateRequest,
};
use crate::state::{Mutation, OpKind, PendingOp, ResourceState};
use crate::value::Value;

use super::{changed_keys, leak_type, recorded_ids, Ctx, Event, NodeKind, Phase};

/// Runs one node, reporting its start and end as events.
pub(super) async fn run_node(ctx: &Ctx, step: &Step, kind: NodeKind) -> Result<(), String> {
    let engine = &ctx.engine;
    let phase = match kind {
        NodeKind::Create => Phase::Create,
        NodeKind::Update => Phase::Update,
        NodeKind::DeleteOld | NodeKind::Delete => Phase::Delete,
    };
    (engine.observer)(&Event::Started { urn: step.urn.clone(), op: step.op, phase });
    let started = Instant::now();
    let res = match kind {
        NodeKind::Create => create(ctx, step).await,
        NodeKind::Update => update(ctx, step).await,
        NodeKind::DeleteOld | NodeKind::Delete => delete(ctx, step, kind).await,
    };
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

/// What a create or update is to record: the declaration's inputs resolved
/// against the live state, with ignored paths kept as they were recorded
/// (as the plan showed them), and the resource's live record, if any.
struct Desired<'a> {
    decl: &'a Declaration,
    inputs: Value,
    live: Option<ResourceState>,
}

fn desired<'a>(ctx: &'a Ctx, step: &Step) -> Result<Desired<'a>, String> {
    let decl = ctx
        .graph
        .as_ref()
        .and_then(|g| g.resources.get(&step.urn))
        .ok_or("internal: no declaration for a create or update")?;
    let (mut inputs, live) = {
        let st = ctx.state.lock().unwrap_or_else(|p| p.into_inner());
        (decl.inputs.resolve(&*st), st.resources.get(&step.urn).cloned())
    };
    if inputs.contains_unknown() {
        return Err("an input depends on an output that is not known (a dependency was not applied)".into());
    }
    // A replacement keeps ignored paths too: the plan showed it with the
    // recorded values (a delete-first replace has already forgotten its
    // live copy, so the plan's copy of the old record is the source).
    if let Some(old) = live.as_ref().or(step.old.as_ref()) {
        for p in &decl.options.ignore_changes {
            overlay(&mut inputs, &old.inputs, p);
        }
    }
    Ok(Desired { decl, inputs, live })
}

fn record_of(decl: &Declaration, step: &Step) -> ResourceState {
    ResourceState {
        urn: step.urn.clone(),
        type_token: decl.type_token.to_owned(),
        provider: decl.provider.clone(),
        id: None,
        inputs: Value::Null,
        outputs: Value::map(),
        deps: decl.deps.clone(),
        options: decl.options.clone(),
    }
}

async fn update(ctx: &Ctx, step: &Step) -> Result<(), String> {
    let engine = &ctx.engine;
    let Desired { decl, inputs, live } = desired(ctx, step)?;
    let old = live.ok_or("internal: updating a resource that is not in the state")?;
    let mut record = record_of(decl, step);
    record.id = old.id.clone();
    record.outputs = old.outputs.clone();
    let diffs = diff(&old.inputs, &inputs);
    if diffs.is_empty() || step.provider.is_empty() {
        record.inputs = inputs;
        return commit(ctx, None, vec![Mutation::Upsert(record)], None).await;
    }
    let provider = engine.provider(&decl.provider, &step.urn).map_err(|e| e.to_string())?;
    let id = old.id.clone().unwrap_or_default();
    let op = begin(ctx, OpKind::Update, step, Some(id.clone()), None).await?;
    let req = UpdateRequest {
        type_token: decl.type_token,
        urn: step.urn.clone(),
        stack: engine.identity.clone(),
        id,
        old_inputs: old.inputs.clone(),
        old_outputs: old.outputs.clone(),
        inputs: inputs.clone(),
        changed: changed_keys(diffs.iter()),
        timeout: decl.options.timeouts.update,
    };
    let res =
        engine.call(&step.urn, decl.options.timeouts.update, Some(&ctx.permits), || provider.update(req.clone())).await;
    match res {
        Ok(out) => {
            record.outputs = out.outputs;
            record.outputs.mark_secrets_like(&inputs);
            record.inputs = inputs;
            commit(ctx, Some(op.seq), vec![Mutation::Upsert(record)], None).await
        }
        // The record keeps the inputs last known applied; whatever the
        // failed call did change shows in the next plan or refresh.
        Err(e) => fail(ctx, op.seq, "update", e).await,
    }
}

/// A create's outcome: what the cloud holds, and the inputs to record for
/// it (the desired ones, unless an existing copy was adopted that differs
/// in what cannot change in place).
struct Created {
    id: String,
    outputs: Value,
    inputs: Value,
}

async fn create(ctx: &Ctx, step: &Step) -> Result<(), String> {
    let engine = &ctx.engine;
    let Desired { decl, inputs, live } = desired(ctx, step)?;
    let mut record = record_of(decl, step);
    let mut changes = Vec::new();
    if step.op == Op::Replace && !step.delete_before_replace && live.is_some() {
        changes.push(Mutation::Retire { urn: step.urn.clone() });
    }
    if step.provider.is_empty() {
        record.inputs = inputs;
        changes.push(Mutation::Upsert(record));
        return commit(ctx, None, changes, None).await;
    }
    let provider = engine.provider(&decl.provider, &step.urn).map_err(|e| e.to_string())?;
    // During a replace the old copy carries the same identity; it is never
    // what this create made.
    let known_ids = {
        let st = ctx.state.lock().unwrap_or_else(|p| p.into_inner());
        recorded_ids(&st, &step.urn)
    };
    record.inputs = inputs.clone();
    let op = begin(ctx, OpKind::Create, step, None, Some(&record)).await?;
    let req = CreateRequest {
        type_token: decl.type_token,
        urn: step.urn.clone(),
        stack: engine.identity.clone(),
        inputs: inputs.clone(),
        timeout: decl.options.timeouts.create,
        known_ids: known_ids.clone(),
        // One token for every attempt below: a cloud that takes client
        // tokens answers a repeat with what the first attempt made.
        idempotency_token: CreateRequest::new_idempotency_token(),
    };
    let find = FindRequest {
        type_token: decl.type_token,
        urn: step.urn.clone(),
        stack: req.stack.clone(),
        inputs: inputs.clone(),
        known_ids,
    };
    // Whether the last attempt ended with the cloud refusing the create: the
    // only failure after which nothing was made for certain.
    let refused = &AtomicBool::new(false);
    let retried = &AtomicBool::new(false);
    let (provider, req_ref, find_ref) = (&*provider, &req, &find);
    let replace_on = decl.schema.replace_on;
    let res = engine
        .call(&step.urn, decl.options.timeouts.create, Some(&ctx.permits), move || async move {
            refused.store(false, Ordering::SeqCst);
            // A create that failed transiently may still have made the
            // resource (its response was lost, or a later step of it was
            // throttled): look for it before creating again, never a twin.
            if retried.swap(true, Ordering::SeqCst) {
                if let Some(found) = provider.find(find_ref.clone()).await?.filter(|f| !find_ref.is_known(&f.id)) {
                    return settle_found(provider, replace_on, req_ref, found).await;
                }
            }
            match provider.create(req_ref.clone()).await {
                Ok(c) => Ok(Created { id: c.id, outputs: c.outputs, inputs: req_ref.inputs.clone() }),
                Err(e) => {
                    refused.store(e.kind == ErrorKind::Fatal, Ordering::SeqCst);
                    Err(e)
                }
            }
        })
        .await;
    let (created, error) = match res {
        Ok(c) => (c, None),
        Err(e) if refused.load(Ordering::SeqCst) => return fail(ctx, op.seq, "create", e).await,
        // Timed out, panicked, or still failing transiently: the cloud may
        // hold what the call made. Ask once more; only a clear "not there"
        // closes the operation as failed.
        Err(e) => {
            let msg = format!("create failed: {e}");
            match engine.call(&step.urn, None, Some(&ctx.permits), || provider.find(find.clone())).await {
                Ok(Some(found)) if !find.is_known(&found.id) => {
                    let mut adopted = found.inputs;
                    adopted.mark_secrets_like(&inputs);
                    (Created { id: found.id, outputs: found.outputs, inputs: adopted }, Some(msg))
                }
                Ok(_) => return fail(ctx, op.seq, "create", e).await,
                Err(find_err) => {
                    // Neither made nor refused for certain: the operation
                    // stays in flight, for the next run to resolve before it
                    // plans anything.
                    let planned = engine.store.codec().resource_file(&record).map_err(|e| e.to_string())?;
                    let op = PendingOp { planned: Some(Box::new(planned)), ..op };
                    ctx.state.lock().unwrap_or_else(|p| p.into_inner()).pending.push(op);
                    return Err(format!(
                        "{msg}; whether it was made is unknown (looking for it failed: {find_err}); \
                         the next run resolves it first"
                    ));
                }
            }
        }
    };
    record.id = Some(created.id);
    record.outputs = created.outputs;
    record.inputs = created.inputs;
    record.outputs.mark_secrets_like(&record.inputs.clone());
    changes.push(Mutation::Upsert(record));
    commit(ctx, Some(op.seq), changes, error).await
}

/// Finishes a create whose resource turned up when its call was retried:
/// what the cloud holds may lack the configuration the failed attempt did
/// not reach, so what differs (and can change in place) is updated. What
/// cannot change in place is recorded as found, so the next plan shows it.
async fn settle_found(
    provider: &dyn Provider,
    replace_on: &[&str],
    req: &CreateRequest,
    found: ReadResult,
) -> Result<Created, ProviderError> {
    let mut held = found.inputs;
    held.mark_secrets_like(&req.inputs);
    let diffs = diff(&held, &req.inputs);
    let changed = changed_keys(diffs.iter().filter(|d| !replace_on.iter().any(|k| path_under(&d.path, k))));
    let mut recorded = held.clone();
    if let (Value::Map(r), Value::Map(want)) = (&mut recorded, &req.inputs) {
        for k in &changed {
            match want.get(k) {
                Some(v) => r.insert(k.clone(), v.clone()),
                None => r.remove(k),
            };
        }
    }
    if changed.is_empty() {
        return Ok(Created { id: found.id, outputs: found.outputs, inputs: recorded });
    }
    let update = UpdateRequest {
        type_token: req.type_token,
        urn: req.urn.clone(),
        stack: req.stack.clone(),
        id: found.id.clone(),
        old_inputs: held,
        old_outputs: found.outputs,
        inputs: req.inputs.clone(),
        changed,
        timeout: req.timeout,
    };
    let out = provider.update(update).await?;
    Ok(Created { id: found.id, outputs: out.outputs, inputs: recorded })
}

async fn delete(ctx: &Ctx, step: &Step, kind: NodeKind) -> Result<(), String> {
    let engine = &ctx.engine;
    let old = step.old.as_ref().ok_or("internal: deleting a resource with no recorded state")?;
    let retired_copy = step.retired || (kind == NodeKind::DeleteOld && !step.delete_before_replace);
    let forget = if retired_copy {
        Mutation::DropRetired { urn: step.urn.clone(), id: old.id.clone().unwrap_or_default() }
    } else {
        Mutation::Remove { urn: step.urn.clone() }
    };
    // The old copy of a replace (this run's, or one an interrupted run left)
    // is retained if the program now says so too.
    let declared_retain = (kind == NodeKind::DeleteOld || step.retired)
        && ctx.graph.as_ref().and_then(|g| g.resources.get(&step.urn)).is_some_and(|d| d.options.retain_on_delete);
    if old.provider.is_empty() {
        return commit(ctx, None, vec![forget], None).await;
    }
    if old.options.retain_on_delete || declared_retain {
        let release = Mutation::Release { urn: step.urn.clone(), id: old.id.clone().unwrap_or_default() };
        return commit(ctx, None, vec![forget, release], None).await;
    }
    let provider = engine.provider(&old.provider, &step.urn).map_err(|e| e.to_string())?;
    let id = old.id.clone().unwrap_or_default();
    let op = begin(ctx, OpKind::Delete, step, Some(id.clone()), None).await?;
    let req = DeleteRequest {
        type_token: leak_type(&old.type_token),
        urn: step.urn.clone(),
        id,
        inputs: old.inputs.clone(),
        outputs: old.outputs.clone(),
        timeout: old.options.timeouts.delete,
    };
    let refused = &AtomicBool::new(false);
    let (provider, req_ref) = (&*provider, &req);
    let res = engine
        .call(&step.urn, old.options.timeouts.delete, Some(&ctx.permits), move || async move {
            let res = provider.delete(req_ref.clone()).await;
            refused.store(matches!(&res, Err(e) if e.kind == ErrorKind::Fatal), Ordering::SeqCst);
            res
        })
        .await;
    match res {
        Ok(()) => commit(ctx, Some(op.seq), vec![forget], None).await,
        // Refused: still there, still recorded; the next run tries again.
        Err(e) if refused.load(Ordering::SeqCst) => fail(ctx, op.seq, "delete", e).await,
        // Timed out, panicked, or still failing transiently: it may be gone.
        // Read it back so the state never records what the cloud no longer
        // holds; if even that fails, the operation stays in flight.
        Err(e) => {
            let msg = format!("delete failed: {e}");
            let read = ReadRequest {
                type_token: req.type_token,
                urn: step.urn.clone(),
                id: req.id.clone(),
                inputs: req.inputs.clone(),
                outputs: req.outputs.clone(),
            };
            match engine.call(&step.urn, None, Some(&ctx.permits), || provider.read(read.clone())).await {
                Ok(None) => commit(ctx, Some(op.seq), vec![forget], Some(msg)).await,
                Ok(Some(_)) => fail(ctx, op.seq, "delete", e).await,
                Err(read_err) => {
                    ctx.state.lock().unwrap_or_else(|p| p.into_inner()).pending.push(op);
                    Err(format!(
                        "{msg}; whether it is gone is unknown (reading it back failed: {read_err}); \
                         the next run resolves it first"
                    ))
                }
            }
        }
    }
}

/// Journals `changes` (closing operation `of`) and applies them to the
/// run's state. The state takes them even when the journal could not: what
/// the cloud now holds must reach the run's snapshot, or it would be lost.
async fn commit(ctx: &Ctx, of: Option<u64>, changes: Vec<Mutation>, error: Option<String>) -> Result<(), String> {
    let journaled = ctx.journal.end(of, &changes, error.clone()).await;
    let mut st = ctx.state.lock().unwrap_or_else(|p| p.into_inner());
    for c in changes {
        st.apply(c);
    }
    match (journaled, error) {
        (Err(e), _) => Err(format!("done, but not journaled ({e}); it is recorded in the run's snapshot")),
        (Ok(_), Some(error)) => Err(error),
        (Ok(_), None) => Ok(()),
    }
}

async fn begin(
    ctx: &Ctx,
    op: OpKind,
    step: &Step,
    id: Option<String>,
    planned: Option<&ResourceState>,
) -> Result<PendingOp, String> {
    let provider =
        step.old.as_ref().filter(|_| op == OpKind::Delete).map_or(step.provider.clone(), |o| o.provider.clone());
    let pending = PendingOp {
        seq: 0,
        op,
        urn: step.urn.clone(),
        type_token: step.type_token.clone(),
        provider,
        id,
        planned: None,
    };
    let seq = ctx.journal.begin(pending.clone(), planned).await.map_err(|e| e.to_string())?;
    Ok(PendingOp { seq, ..pending })
}

async fn fail(ctx: &Ctx, seq: u64, what: &str, e: ProviderError) -> Result<(), String> {
    let msg = format!("{what} failed: {e}");
    // Failing to journal the failure changes nothing: the operation stays
    // in flight and the next run settles it by asking the cloud.
    let _ = ctx.journal.end(Some(seq), &[], Some(msg.clone())).await;
    Err(msg)
}
