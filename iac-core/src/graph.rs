//! The desired graph: what a program declared, in declaration order, with
//! its dependencies checked and topologically ordered.

use std::collections::{BTreeMap, HashMap};

use indexmap::IndexMap;

use crate::error::{Error, Result};
use crate::output::{Expr, Urn};
use crate::resource::{ResourceOptions, Schema};

/// One declared resource.
#[derive(Clone, Debug)]
pub struct Declaration {
    /// Identity.
    pub urn: Urn,
    /// Type token (a component may carry its own).
    pub type_token: &'static str,
    /// The type's static facts.
    pub schema: &'static Schema,
    /// Inputs (a map expression).
    pub inputs: Expr,
    /// Resources this one depends on: from its inputs and `depends_on`.
    pub deps: Vec<Urn>,
    /// Options.
    pub options: ResourceOptions,
    /// The provider instance that manages it (empty for components).
    pub provider: String,
}

impl Declaration {
    /// The plain (reference-free) value of a top-level input, if any.
    pub fn plain_input(&self, key: &str) -> Option<&crate::Value> {
        match &self.inputs {
            Expr::Map(m) => m.get(key).and_then(Expr::as_value),
            _ => None,
        }
    }

    /// The expression of a top-level input, if any.
    pub fn input(&self, key: &str) -> Option<&Expr> {
        match &self.inputs {
            Expr::Map(m) => m.get(key),
            _ => None,
        }
    }
}

/// Everything a program declared.
#[derive(Debug, Default)]
pub struct Graph {
    /// The project (program) name.
    pub project: String,
    /// The stack name.
    pub stack: String,
    /// Resources in declaration order.
    pub resources: IndexMap<Urn, Declaration>,
    /// Stack outputs.
    pub exports: IndexMap<String, Expr>,
    /// Tags every taggable resource receives.
    pub default_tags: BTreeMap<String, String>,
}

impl Graph {
    /// Checks that every dependency exists and that there is no cycle;
    /// returns the resources in a dependency order (dependencies first,
    /// otherwise declaration order).
    pub fn topo_order(&self) -> Result<Vec<Urn>> {
        let index: HashMap<&Urn, usize> = self.resources.keys().enumerate().map(|(i, u)| (u, i)).collect();
        let mut indeg = vec![0usize; self.resources.len()];
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); self.resources.len()];
        for (i, d) in self.resources.values().enumerate() {
            for dep in &d.deps {
                let j =
                    *index.get(dep).ok_or_else(|| Error::UnknownDependency { from: d.urn.clone(), to: dep.clone() })?;
                indeg[i] += 1;
                dependents[j].push(i);
            }
        }
        // Kahn's algorithm; a FIFO keeps declaration order among peers.
        let mut queue: std::collections::VecDeque<usize> = (0..indeg.len()).filter(|&i| indeg[i] == 0).collect();
        let mut order = Vec::with_capacity(indeg.len());
        while let Some(i) = queue.pop_front() {
            order.push(i);
            for &k in &dependents[i] {
                indeg[k] -= 1;
                if indeg[k] == 0 {
                    queue.push_back(k);
                }
            }
        }
        if order.len() < indeg.len() {
            return Err(Error::Cycle(self.find_cycle(&indeg, &index)));
        }
        let keys: Vec<&Urn> = self.resources.keys().collect();
        Ok(order.into_iter().map(|i| keys[i].clone()).collect())
    }

    /// A cycle among the nodes Kahn's algorithm could not order.
    fn find_cycle(&self, indeg: &[usize], index: &HashMap<&Urn, usize>) -> Vec<Urn> {
        let decls: Vec<&Declaration> = self.resources.values().collect();
        let start = indeg.iter().position(|&d| d > 0).unwrap_or(0);
        // Walk dependency edges among the stuck nodes until one repeats.
        let mut seen: Vec<usize> = Vec::new();
        let mut cur = start;
        loop {
            if let Some(pos) = seen.iter().position(|&s| s == cur) {
                let mut cyc: Vec<Urn> = seen[pos..].iter().map(|&i| decls[i].urn.clone()).collect();
                cyc.push(decls[cur].urn.clone());
                return cyc;
            }
            seen.push(cur);
            cur = match decls[cur].deps.iter().filter_map(|d| index.get(d)).copied().find(|&j| indeg[j] > 0) {
                Some(j) => j,
                None => return seen.iter().map(|&i| decls[i].urn.clone()).collect(),
            };
        }
    }

    /// The resources whose input `key` is a reference to `urn`'s output.
    pub fn referencing<'a>(&'a self, urn: &'a Urn, key: &'a str) -> impl Iterator<Item = &'a Declaration> + 'a {
        self.resources.values().filter(move |d| {
            let mut deps = Vec::new();
            if let Some(e) = d.input(key) {
                e.collect_deps(&mut deps);
            }
            deps.contains(urn)
        })
    }
}
