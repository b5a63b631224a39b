//! Planning: compare the desired graph with the state and decide, for every
//! resource, one [`Op`], with a property-level diff.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::diff::{diff, overlay, path_under, PropertyDiff};
use crate::error::{Error, Result};
use crate::graph::{Declaration, Graph};
use crate::output::{Resolver, Urn};
use crate::state::{PendingOp, ResourceState, State};
use crate::value::Value;

/// What a step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// Nothing to do.
    Same,
    /// Create a new resource.
    Create,
    /// Update in place.
    Update,
    /// Replace: create the new one, then delete the old (or the reverse).
    Replace,
    /// Delete a resource gone from the program (or an old replaced copy).
    Delete,
}

impl Op {
    /// The plan marker users know: `+ ~ +- -`.
    pub fn marker(self) -> &'static str {
        match self {
            Op::Same => " ",
            Op::Create => "+",
            Op::Update => "~",
            Op::Replace => "+-",
            Op::Delete => "-",
        }
    }
}

/// One resource's planned change.
#[derive(Clone, Debug)]
pub struct Step {
    /// The resource.
    pub urn: Urn,
    /// What happens to it.
    pub op: Op,
    /// Its type token.
    pub type_token: String,
    /// The provider instance that manages it (empty for components).
    pub provider: String,
    /// What the state holds now (for update, replace, delete).
    pub old: Option<ResourceState>,
    /// The desired inputs as far as known now.
    pub new_inputs: Option<Value>,
    /// Changed properties.
    pub diffs: Vec<PropertyDiff>,
    /// For a replace, the properties that forced it.
    pub replace_keys: Vec<String>,
    /// For a replace, whether the old one is deleted first.
    pub delete_before_replace: bool,
    /// For the deletion of a replaced copy left by an earlier run.
    pub retired: bool,
    /// The resource's desired dependencies (for create/update/replace).
    pub deps: Vec<Urn>,
    /// Whether the state's bookkeeping (dependencies, options) changes even
    /// though the cloud does not.
    pub metadata_changed: bool,
}

/// A plan: every step, in the order it will be shown and (dependencies
/// permitting) run: creates and updates in dependency order, then deletes in
/// reverse dependency order.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// All steps, `Same` included.
    pub steps: Vec<Step>,
    /// Stack outputs as far as known now.
    pub outputs: BTreeMap<String, Value>,
    /// Operations a crashed run left in flight.
    pub pending: Vec<PendingOp>,
    /// A fingerprint of the state the plan was made against.
    pub state_fingerprint: String,
    /// Whether this is a destroy plan.
    pub destroy: bool,
}

impl Plan {
    /// The steps that change something.
    pub fn changes(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.op != Op::Same)
    }

    /// Whether the plan changes anything: the cloud, the outputs, or what
    /// the state records of a resource (its options or dependencies: adding
    /// `protect` alone must be recorded, or a later delete would ignore it).
    pub fn has_changes(&self, old_outputs: &BTreeMap<String, Value>) -> bool {
        self.changes().next().is_some()
            || self.bookkeeping().next().is_some()
            || !outputs_equal(&self.outputs, old_outputs)
    }

    /// Unchanged resources whose recorded options or dependencies change:
    /// an `up` records them without calling the cloud.
    pub fn bookkeeping(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.op == Op::Same && s.metadata_changed)
    }

    /// Counts of steps by op.
    pub fn counts(&self) -> BTreeMap<Op, usize> {
        let mut c = BTreeMap::new();
        for s in &self.steps {
            *c.entry(s.op).or_insert(0) += 1;
        }
        c
    }

    /// A stable digest of what the plan will do: compared when a saved plan
    /// is applied, so it runs only if it is still exactly what was shown.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for s in self.changes() {
            h.update(s.urn.as_str());
            h.update(s.op.marker());
            h.update(s.type_token.as_bytes());
            if let Some(n) = &s.new_inputs {
                h.update(n.unwrap_secrets().0.to_display_json().to_string());
            }
            h.update([s.delete_before_replace as u8, s.retired as u8]);
        }
        h.update(self.state_fingerprint.as_bytes());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn outputs_equal(a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>) -> bool {
    a.len() == b.len()
        && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| diff(w, v).is_empty() && !v.contains_unknown()))
}

/// Options for planning.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Limit to these resources (by identity or name) and what they need.
    pub targets: Vec<String>,
    /// Also target everything that depends on the targets (Pulumi's
    /// `--target-dependents`). Without it, deleting or replacing a target
    /// that something untargeted depends on is refused.
    pub target_dependents: bool,
    /// Names that are valid targets even though the state does not hold
    /// them (the program's resources, those an interrupted run already
    /// deleted): targeting one selects nothing rather than being an error.
    pub also_known: Vec<Urn>,
}

/// Resolves outputs while planning: from the state for resources that stay,
/// unknown for those being created or replaced.
struct PlanResolver<'a> {
    state: &'a State,
    ops: HashMap<Urn, Op>,
    graph: &'a Graph,
}

impl Resolver for PlanResolver<'_> {
    fn output(&self, urn: &Urn, path: &str) -> Value {
        match self.ops.get(urn) {
            Some(Op::Same) => self.state.output(urn, path),
            Some(Op::Update) => {
                let top = path.split('.').next().unwrap_or(path);
                let volatile =
                    self.graph.resources.get(urn).is_some_and(|d| d.schema.computed_on_update.contains(&top));
                if volatile {
                    Value::Unknown
                } else {
                    self.state.output(urn, path)
                }
            }
            _ => Value::Unknown,
        }
    }
}

/// Resolves a target name to identities: an exact identity, or a name that
/// matches the last segment of exactly the resources it names.
fn resolve_targets(targets: &[String], known: &HashSet<&Urn>, also_known: &[Urn]) -> Result<HashSet<Urn>> {
    let mut out = HashSet::new();
    for t in targets {
        let exact = Urn::new(t);
        if known.contains(&exact) {
            out.insert(exact);
            continue;
        }
        let matches: Vec<&&Urn> = known.iter().filter(|u| u.name() == t).collect();
        if matches.is_empty() {
            if also_known.iter().any(|u| u == &exact || u.name() == t) {
                continue;
            }
            return Err(Error::UnknownTarget(t.clone()));
        }
        out.extend(matches.into_iter().map(|u| (*u).clone()));
    }
    Ok(out)
}

/// What depends on each recorded resource: its recorded dependents and its
/// children.
fn state_dependents(state: &State) -> HashMap<Urn, Vec<Urn>> {
    let mut out: HashMap<Urn, Vec<Urn>> = HashMap::new();
    for r in state.resources.values() {
        for d in r.deps.iter().cloned().chain(r.urn.parent()) {
            let list = out.entry(d).or_default();
            if !list.contains(&r.urn) {
                list.push(r.urn.clone());
            }
        }
    }
    out
}

/// What depends on each declared resource in the program.
fn graph_dependents(graph: &Graph) -> HashMap<Urn, Vec<Urn>> {
    let mut out: HashMap<Urn, Vec<Urn>> = HashMap::new();
    for d in graph.resources.values() {
        for dep in &d.deps {
            out.entry(dep.clone()).or_default().push(d.urn.clone());
        }
    }
    out
}

/// Plans an update of the stack to the desired graph.
pub fn plan_update(graph: &Graph, state: &State, opts: &PlanOptions) -> Result<Plan> {
    let order = graph.topo_order()?;
    let mut resolver = PlanResolver { state, ops: HashMap::with_capacity(order.len()), graph };
    let mut steps = Vec::with_capacity(order.len());
    for urn in &order {
        let decl = &graph.resources[urn];
        let step = plan_one(decl, state.resources.get(urn), &resolver)?;
        resolver.ops.insert(urn.clone(), step.op);
        steps.push(step);
    }
    // Resources gone from the program, dependents first.
    let mut deletes: Vec<Step> = state
        .dependency_order()
        .into_iter()
        .rev()
        .filter(|u| !graph.resources.contains_key(u))
        .map(|u| delete_step(&state.resources[&u], false))
        .collect::<Result<_>>()?;
    deletes.extend(state.retired.iter().map(|r| delete_step(r, true)).collect::<Result<Vec<_>>>()?);
    steps.extend(deletes);

    if !opts.targets.is_empty() {
        let known: HashSet<&Urn> = graph.resources.keys().chain(state.resources.keys()).collect();
        let mut targets = resolve_targets(&opts.targets, &known, &opts.also_known)?;
        let dependents = state_dependents(state);
        if opts.target_dependents {
            let desired_dependents = graph_dependents(graph);
            let mut stack: Vec<Urn> = targets.iter().cloned().collect();
            while let Some(u) = stack.pop() {
                let more = dependents.get(&u).into_iter().chain(desired_dependents.get(&u)).flatten();
                for d in more {
                    if targets.insert(d.clone()) {
                        stack.push(d.clone());
                    }
                }
            }
        }
        // Targets plus everything they depend on (desired graph).
        let mut keep: HashSet<Urn> = HashSet::new();
        let mut stack: Vec<Urn> = targets.into_iter().collect();
        while let Some(u) = stack.pop() {
            if keep.insert(u.clone()) {
                if let Some(d) = graph.resources.get(&u) {
                    stack.extend(d.deps.iter().cloned());
                }
            }
        }
        // Deleting or replacing what an untargeted resource still uses
        // would leave it pointing at something gone. An old copy of an
        // interrupted replace just waits for a run that covers its users.
        let untargeted = |u: &Urn| -> Vec<Urn> {
            let mut out: Vec<Urn> =
                dependents.get(u).into_iter().flatten().filter(|d| !keep.contains(*d)).cloned().collect();
            out.sort();
            out
        };
        let mut kept = Vec::with_capacity(steps.len());
        for s in steps.into_iter().filter(|s| keep.contains(&s.urn)) {
            let outside = untargeted(&s.urn);
            match s.op {
                Op::Delete if s.retired && !outside.is_empty() => continue,
                Op::Delete | Op::Replace if !outside.is_empty() => {
                    return Err(Error::UntargetedDependents { target: s.urn.clone(), dependents: outside });
                }
                _ => kept.push(s),
            }
        }
        steps = kept;
    }

    let outputs = graph.exports.iter().map(|(k, e)| (k.clone(), e.resolve(&resolver))).collect();
    Ok(Plan { steps, outputs, pending: state.pending.clone(), state_fingerprint: String::new(), destroy: false })
}

fn plan_one(decl: &Declaration, old: Option<&ResourceState>, resolver: &PlanResolver<'_>) -> Result<Step> {
    let mut news = decl.inputs.resolve(resolver);
    let mut step = Step {
        urn: decl.urn.clone(),
        op: Op::Create,
        type_token: decl.type_token.to_owned(),
        provider: decl.provider.clone(),
        old: old.cloned(),
        new_inputs: None,
        diffs: Vec::new(),
        replace_keys: Vec::new(),
        delete_before_replace: decl.schema.delete_before_replace || decl.options.delete_before_replace,
        retired: false,
        deps: decl.deps.clone(),
        metadata_changed: false,
    };
    let Some(old) = old else {
        step.diffs = diff(&Value::Null, &news);
        step.new_inputs = Some(news);
        return Ok(step);
    };
    for path in &decl.options.ignore_changes {
        overlay(&mut news, &old.inputs, path);
    }
    let mut diffs = diff(&old.inputs, &news);
    let mut replace_keys = Vec::new();
    if old.type_token != decl.type_token {
        replace_keys.push("(type)".to_owned());
    }
    if old.provider != decl.provider {
        replace_keys.push("(provider)".to_owned());
    }
    for d in &mut diffs {
        let forced = decl.schema.replace_on.iter().any(|k| path_under(&d.path, k))
            || decl.options.replace_on_changes.iter().any(|k| path_under(&d.path, k));
        if forced {
            d.forces_replace = true;
            let top = d.path.split('.').next().unwrap_or(&d.path).to_owned();
            if !replace_keys.contains(&top) {
                replace_keys.push(top);
            }
        }
    }
    step.op = if !replace_keys.is_empty() {
        if old.options.protect || decl.options.protect {
            return Err(Error::Protected(decl.urn.clone(), "replace"));
        }
        Op::Replace
    } else if diffs.is_empty() {
        Op::Same
    } else {
        Op::Update
    };
    step.metadata_changed = old.deps != decl.deps || old.options != decl.options;
    step.diffs = diffs;
    step.replace_keys = replace_keys;
    step.new_inputs = Some(news);
    Ok(step)
}

fn delete_step(r: &ResourceState, retired: bool) -> Result<Step> {
    if r.options.protect && !retired {
        return Err(Error::Protected(r.urn.clone(), "delete"));
    }
    Ok(Step {
        urn: r.urn.clone(),
        op: Op::Delete,
        type_token: r.type_token.clone(),
        provider: r.provider.clone(),
        old: Some(r.clone()),
        new_inputs: None,
        diffs: diff(&r.inputs, &Value::Null),
        replace_keys: Vec::new(),
        delete_before_replace: false,
        retired,
        deps: Vec::new(),
        metadata_changed: false,
    })
}

/// Plans the destruction of the stack (or of the targets and everything
/// that depends on them).
pub fn plan_destroy(state: &State, opts: &PlanOptions) -> Result<Plan> {
    let mut keep: Option<HashSet<Urn>> = None;
    if !opts.targets.is_empty() {
        let known: HashSet<&Urn> = state.resources.keys().collect();
        let targets = resolve_targets(&opts.targets, &known, &opts.also_known)?;
        // Targets plus everything that depends on them, and their children.
        let mut set: HashSet<Urn> = targets;
        loop {
            let before = set.len();
            for r in state.resources.values() {
                let parent_in = r.urn.parent().is_some_and(|p| set.contains(&p));
                if parent_in || r.deps.iter().any(|d| set.contains(d)) {
                    set.insert(r.urn.clone());
                }
            }
            if set.len() == before {
                break;
            }
        }
        keep = Some(set);
    }
    let mut steps = Vec::new();
    for u in state.dependency_order().into_iter().rev() {
        if keep.as_ref().is_none_or(|k| k.contains(&u)) {
            steps.push(delete_step(&state.resources[&u], false)?);
        }
    }
    if keep.is_none() {
        for r in &state.retired {
            steps.push(delete_step(r, true)?);
        }
    }
    let outputs = if keep.is_none() { BTreeMap::new() } else { state.outputs.clone() };
    Ok(Plan { steps, outputs, pending: state.pending.clone(), state_fingerprint: String::new(), destroy: true })
}
