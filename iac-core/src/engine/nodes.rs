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
    // Edges a plan cannot do without (a replace's two halves, a create or
    // update after what it reads), then orderings of deletes that keep the
    // cloud consistent along the way. Those are added only where they close
    // no cycle: a chain of delete-first replaces and removals can ask for
    // an order no schedule has, and an apply must then still run.
    let mut edges: Vec<(usize, usize)> = dbr_pairs;
    let mut deletes_after: Vec<(usize, usize)> = Vec::new();
    let mut moves_first: Vec<(usize, usize)> = Vec::new();
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
                            deletes_after.push((ds, dx));
                        }
                    }
                    if let Some(&us) = up.get(&s.urn) {
                        if !x_dbr {
                            moves_first.push((us, dx));
                        }
                    }
                }
            }
        }
    }
    let optional: Vec<(usize, usize)> = deletes_after.into_iter().chain(moves_first).collect();
    let build = |check: bool| {
        let mut after: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
        for (i, &(a, b)) in edges.iter().chain(&optional).enumerate() {
            let optional = i >= edges.len();
            if a == b || after[a].contains(&b) || (check && optional && reaches(&after, b, a)) {
                continue;
            }
            after[a].push(b);
        }
        after
    };
    // Checking each optional edge costs a walk of the graph; only a plan
    // whose orderings do form a cycle pays for it.
    let mut after = build(false);
    if has_cycle(&after) {
        after = build(true);
    }
    for (a, bs) in after.into_iter().enumerate() {
        for b in bs {
            nodes[b].waits += 1;
            nodes[a].dependents.push(b);
        }
    }
    let roots = (0..nodes.len()).filter(|&i| nodes[i].waits == 0).collect();
    (nodes, roots)
}

/// Whether node `to` can be reached from node `from` along `after`.
fn reaches(after: &[Vec<usize>], from: usize, to: usize) -> bool {
    let mut seen = vec![false; after.len()];
    let mut stack = vec![from];
    while let Some(n) = stack.pop() {
        if n == to {
            return true;
        }
        if !std::mem::replace(&mut seen[n], true) {
            stack.extend(after[n].iter().copied());
        }
    }
    false
}

/// Whether `after` has a cycle (Kahn's algorithm leaves nodes unvisited).
fn has_cycle(after: &[Vec<usize>]) -> bool {
    let mut waits = vec![0usize; after.len()];
    for bs in after {
        for &b in bs {
            waits[b] += 1;
        }
    }
    let mut ready: Vec<usize> = (0..after.len()).filter(|&i| waits[i] == 0).collect();
    let mut seen = 0;
    while let Some(n) = ready.pop() {
        seen += 1;
        for &b in &after[n] {
            waits[b] -= 1;
            if waits[b] == 0 {
                ready.push(b);
            }
        }
    }
    seen < after.len()
}
