//! From a plan's logical steps to the physical nodes of the apply DAG and
//! the edges between them.

use std::collections::HashMap;

use crate::output::Urn;
use crate::plan::{Op, Plan};

use super::NodeKind;

/// One physical operation of an apply.
pub(super) struct Node {
    pub step: usize,
    pub kind: NodeKind,
    /// How many nodes must finish before this one starts.
    pub waits: usize,
    /// Nodes that wait for this one.
    pub dependents: Vec<usize>,
}

/// Turns logical steps into physical nodes and the edges between them.
pub(super) fn build_nodes(plan: &Plan) -> (Vec<Node>, Vec<usize>) {
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
            // An old copy left by an interrupted replace counts as one of
            // the resource's deletes too: whatever still uses it must move
            // off it (or go) first, as for the old copy of a replace.
            Op::Delete => {
                let d = add(&mut nodes, si, NodeKind::Delete);
                del.entry(&s.urn).or_default().push(d);
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
            // A parent is a dependency too: children go before it.
            let parent = old.urn.parent().filter(|p| !old.deps.contains(p));
            for dep in old.deps.iter().chain(parent.as_ref()) {
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
