//! Recovery: settling the operations a dead run left in flight by asking
//! the cloud what happened.

use crate::error::Result;
use crate::graph::Graph;
use crate::output::Urn;
use crate::provider::{FindRequest, ReadRequest};
use crate::state::store::Journal;
use crate::state::{Mutation, OpKind, PendingOp, ResourceState, State};
use crate::value::Value;

use super::{from_read, leak_type, recorded_ids, Engine, Event};

/// How one operation left in flight was settled.
struct Settled {
    changes: Vec<Mutation>,
    outcome: String,
}

impl Engine {
    /// Resolves operations a dead run left in flight by asking the provider:
    /// a create is looked for by identity (skipping the copies the state
    /// already records) and adopted if found; an update or delete is settled
    /// by reading the resource back. Operations the cloud could not be asked
    /// about stay in `state.pending`.
    ///
    /// With a `journal`, each settlement is journaled; without one (a
    /// preview) it is applied to `state` in memory only.
    ///
    /// A create is adopted as its `begin` record planned it (dependencies,
    /// options, which inputs are secret), so recovery never needs the
    /// program: `destroy` recovers exactly as `up` does. `graph` is only
    /// consulted for records written before creates carried their plan.
    pub async fn recover_pending(
        &self,
        state: &mut State,
        graph: Option<&Graph>,
        journal: Option<&Journal>,
    ) -> Result<()> {
        let pending = std::mem::take(&mut state.pending);
        let mut left = Vec::new();
        for op in pending {
            let settled = match op.op {
                _ if op.provider.is_empty() => Ok(Settled { changes: vec![], outcome: "nothing to do".into() }),
                OpKind::Create => self.settle_create(state, graph, &op).await?,
                OpKind::Update | OpKind::Delete => self.settle_change(state, &op).await?,
            };
            let outcome = match settled {
                Ok(Settled { changes, outcome }) => {
                    if let Some(journal) = journal {
                        journal.end(Some(op.seq), &changes, None).await?;
                    }
                    for c in changes {
                        state.apply(c);
                    }
                    outcome
                }
                Err(why) => {
                    left.push(op.clone());
                    format!("unresolved: {why}")
                }
            };
            (self.observer)(&Event::Recovered { op, outcome });
        }
        state.pending = left;
        if let Some(journal) = journal {
            state.journal_seq = journal.last_seq();
        }
        Ok(())
    }

    /// The resource a pending create meant to record.
    fn planned(&self, state: &State, graph: Option<&Graph>, op: &PendingOp) -> Result<ResourceState> {
        if let Some(f) = &op.planned {
            return self.store.codec().resource_from_file((**f).clone());
        }
        let decl = graph.and_then(|g| g.resources.get(&op.urn));
        Ok(ResourceState {
            urn: op.urn.clone(),
            type_token: op.type_token.clone(),
            provider: op.provider.clone(),
            id: None,
            inputs: decl.map(|d| d.inputs.resolve(state)).unwrap_or(Value::Null),
            outputs: Value::map(),
            deps: decl.map(|d| d.deps.clone()).unwrap_or_default(),
            options: decl.map(|d| d.options.clone()).unwrap_or_default(),
        })
    }

    async fn settle_create(
        &self,
        state: &State,
        graph: Option<&Graph>,
        op: &PendingOp,
    ) -> Result<Result<Settled, String>> {
        let provider = self.provider(&op.provider, &op.urn)?;
        let urn = op.urn.clone();
        let planned = self.planned(state, graph, op)?;
        let req = FindRequest {
            type_token: leak_type(&op.type_token),
            urn: urn.clone(),
            stack: self.identity.clone(),
            inputs: planned.inputs.clone(),
            known_ids: recorded_ids(state, &urn),
        };
        let found = match self.call(&urn, None, None, || provider.find(req.clone())).await {
            Ok(found) => found.filter(|f| !req.is_known(&f.id)),
            Err(e) => return Ok(Err(format!("could not look for what the create made: {e}"))),
        };
        let Some(found) = found else {
            return Ok(Ok(Settled { changes: vec![], outcome: "never created; nothing to adopt".into() }));
        };
        let mut inputs = found.inputs;
        // What the cloud holds, not the desired inputs: a run that died
        // mid-create may have made the resource without finishing its
        // configuration, and the plan must see that to finish it.
        inputs.mark_secrets_like(&planned.inputs);
        let mut outputs = found.outputs;
        outputs.mark_secrets_like(&inputs);
        let deps: Vec<Urn> = planned.deps.iter().filter(|d| state.resources.contains_key(*d)).cloned().collect();
        let adopted = ResourceState { id: Some(found.id.clone()), inputs, outputs, deps, ..planned };
        let mut changes = Vec::new();
        // The create half of a replace: the copy recorded live is the old one.
        if state.resources.contains_key(&urn) {
            changes.push(Mutation::Retire { urn: urn.clone() });
        }
        changes.push(Mutation::Upsert(adopted));
        Ok(Ok(Settled { changes, outcome: format!("adopted {} found by its identity", found.id) }))
    }

    async fn settle_change(&self, state: &State, op: &PendingOp) -> Result<Result<Settled, String>> {
        let urn = op.urn.clone();
        let id = op.id.clone().unwrap_or_default();
        let live = state.resources.get(&urn).filter(|r| r.id.as_deref() == Some(&id));
        let known = live.or_else(|| state.retired.iter().find(|r| r.urn == urn && r.id.as_deref() == Some(&id)));
        let Some(r) = known.cloned() else {
            return Ok(Ok(Settled { changes: vec![], outcome: "already settled".into() }));
        };
        let retired = live.is_none();
        let provider = self.provider(&op.provider, &op.urn)?;
        let req = ReadRequest {
            type_token: leak_type(&r.type_token),
            urn: urn.clone(),
            id: id.clone(),
            inputs: r.inputs.clone(),
            outputs: r.outputs.clone(),
        };
        let read = match self.call(&urn, None, None, || provider.read(req.clone())).await {
            Ok(read) => read,
            Err(e) => return Ok(Err(format!("could not read it back: {e}"))),
        };
        let (changes, outcome) = match read {
            None if retired => (vec![Mutation::DropRetired { urn, id }], "gone: forgotten"),
            None => (vec![Mutation::Remove { urn }], "gone: forgotten"),
            Some(read) if !retired => (vec![Mutation::Upsert(from_read(&r, read))], "still exists: read back"),
            Some(_) => (vec![], "still exists: will be deleted"),
        };
        Ok(Ok(Settled { changes, outcome: outcome.into() }))
    }
}
