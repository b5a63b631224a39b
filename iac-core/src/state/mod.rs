//! The stored state of a stack: a snapshot plus a journal of what happened
//! since, and the backends that keep them.
//!
//! Every mutating provider call is bracketed by journal records: `begin`
//! (fsynced before the call) and `end` (with the resulting change). Loading
//! replays the journal over the snapshot, so a run that died at any moment
//! leaves a state that knows every resource that was created and every
//! operation that was in flight. At the end of a run the journal is compacted
//! into a new snapshot, written atomically, the previous one kept as a backup.

pub mod backend;
pub mod codec;
pub mod journal;
pub mod local;
pub mod store;

use std::collections::{BTreeMap, HashSet};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::output::{Resolver, Urn};
use crate::resource::ResourceOptions;
use crate::value::Value;

pub use backend::{Backend, LockInfo, LockSeen, Stored};
pub use journal::{Mutation, OpKind, PendingOp, Record};

/// The snapshot schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// One resource as recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceState {
    /// Identity.
    pub urn: Urn,
    /// Type token.
    pub type_token: String,
    /// The provider instance that manages it (empty for components).
    pub provider: String,
    /// The cloud id (`None` for components).
    pub id: Option<String>,
    /// The inputs last applied.
    pub inputs: Value,
    /// The outputs last read.
    pub outputs: Value,
    /// Resources it depends on.
    pub deps: Vec<Urn>,
    /// Its options when last applied.
    pub options: ResourceOptions,
}

impl ResourceState {
    /// An output by dotted path; `id` is the cloud id.
    pub fn output(&self, path: &str) -> Value {
        if path == "id" {
            return self.id.clone().map_or(Value::Null, Value::String);
        }
        self.outputs.get_path(path).clone()
    }
}

/// A copy the state let go of that stays in the cloud.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Released {
    /// The identity it carries.
    pub urn: Urn,
    /// Its cloud id.
    pub id: String,
}

/// The state of one stack, in memory.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct State {
    /// Incremented by every compaction.
    pub serial: u64,
    /// The last journal record folded into this state.
    pub journal_seq: u64,
    /// Live resources, in the order they were recorded.
    pub resources: IndexMap<Urn, ResourceState>,
    /// Old copies of replaced resources, still to be deleted.
    pub retired: Vec<ResourceState>,
    /// Copies the state let go of while they stay in the cloud (retained on
    /// delete, or forgotten by `state rm`): they still carry the stack's
    /// identity, so a create looking for what it made must never take one.
    pub released: Vec<Released>,
    /// Stack outputs.
    pub outputs: BTreeMap<String, Value>,
    /// Operations begun but never finished (a run died mid-call).
    pub pending: Vec<PendingOp>,
}

impl Resolver for State {
    fn output(&self, urn: &Urn, path: &str) -> Value {
        self.resources.get(urn).map_or(Value::Unknown, |r| r.output(path))
    }
}

impl State {
    /// Applies one journaled change.
    pub fn apply(&mut self, m: Mutation) {
        match m {
            Mutation::Upsert(r) => {
                self.resources.insert(r.urn.clone(), r);
            }
            Mutation::Remove { urn } => {
                self.resources.shift_remove(&urn);
            }
            Mutation::Retire { urn } => {
                if let Some(r) = self.resources.shift_remove(&urn) {
                    self.retired.push(r);
                }
            }
            Mutation::DropRetired { urn, id } => {
                self.retired.retain(|r| !(r.urn == urn && r.id.as_deref() == Some(id.as_str())));
            }
            Mutation::Outputs(o) => self.outputs = o,
            Mutation::Release { urn, id } => {
                let r = Released { urn, id };
                if !self.released.contains(&r) {
                    self.released.push(r);
                }
            }
        }
    }

    /// Forgets dependencies on resources that are no longer recorded. A
    /// dependency can go while its dependent stays: it was deleted outside
    /// the tool (and a refresh forgot it), removed from the program, or
    /// deleted first by a delete-before-replace whose new copy was never
    /// made. What is gone orders nothing, and a dangling name would make
    /// the state fail its integrity check on every later load.
    pub fn drop_dangling_deps(&mut self) {
        let live: HashSet<Urn> = self.resources.keys().cloned().collect();
        for r in self.resources.values_mut().chain(self.retired.iter_mut()) {
            if r.deps.iter().any(|d| !live.contains(d)) {
                r.deps.retain(|d| live.contains(d));
            }
        }
    }

    /// Checks the invariants every stored state must hold; returns what is
    /// violated.
    pub fn integrity_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for r in self.resources.values() {
            for d in &r.deps {
                if !self.resources.contains_key(d) {
                    problems.push(format!("`{}` depends on `{d}`, which is not in the state", r.urn));
                }
            }
            if let Some(p) = r.urn.parent() {
                if !self.resources.contains_key(&p) {
                    problems.push(format!("`{}` has parent `{p}`, which is not in the state", r.urn));
                }
            }
            if r.provider.is_empty() != r.id.is_none() {
                problems.push(format!("`{}` has an id but no provider, or a provider but no id", r.urn));
            }
        }
        let mut seen = HashSet::new();
        for p in &self.pending {
            if !seen.insert(p.seq) {
                problems.push(format!("pending operation {} is recorded twice", p.seq));
            }
        }
        problems
    }

    /// Resources (live and retired) in an order where each comes after the
    /// resources it depends on.
    pub fn dependency_order(&self) -> Vec<Urn> {
        // Iterative depth-first search; parents count as dependencies so a
        // component is recorded before its children and deleted after them.
        let mut order = Vec::with_capacity(self.resources.len());
        let mut done: HashSet<Urn> = HashSet::with_capacity(self.resources.len());
        for root in self.resources.keys() {
            let mut stack: Vec<(Urn, bool)> = vec![(root.clone(), false)];
            while let Some((u, expanded)) = stack.pop() {
                if expanded {
                    order.push(u);
                    continue;
                }
                if !done.insert(u.clone()) {
                    continue;
                }
                stack.push((u.clone(), true));
                if let Some(r) = self.resources.get(&u) {
                    for d in r.deps.iter().cloned().chain(u.parent()) {
                        if !done.contains(&d) && self.resources.contains_key(&d) {
                            stack.push((d, false));
                        }
                    }
                }
            }
        }
        order
    }
}

/// The on-disk form of a snapshot.
#[derive(Serialize, Deserialize)]
pub(crate) struct SnapshotFile {
    pub version: u32,
    pub stack: String,
    pub serial: u64,
    pub journal_seq: u64,
    pub resources: Vec<codec::ResourceFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired: Vec<codec::ResourceFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub released: Vec<Released>,
    #[serde(default)]
    pub outputs: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<PendingOp>,
}
