//! Rendering of plans, apply results, drift, outputs, state and graphs as
//! text and JSON.
//!
//! Everything here returns a `String` or a JSON value; nothing is printed.
//! Text results have no trailing newline, so callers print them with
//! `println!`. Values are always shown through [`Value`]'s `Display` or
//! [`Value::to_display_json`], which mask secrets and unknowns; only
//! [`outputs_text`] and [`outputs_json`] reveal secrets, and only when asked.

use std::collections::{BTreeMap, HashMap};
use std::fmt::{Display, Write as _};
use std::time::Duration;

use owo_colors::OwoColorize;
use serde_json::json;

use crate::diff::{DiffKind, PropertyDiff};
use crate::engine::{ApplyReport, Drift};
use crate::graph::Graph;
use crate::output::Urn;
use crate::plan::{Op, Plan, Step};
use crate::state::{OpKind, PendingOp, ResourceState, State};
use crate::value::Value;

/// How text is styled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    /// Whether to use ANSI colors.
    pub color: bool,
}

impl Style {
    /// Colors only when the stream is a terminal and `NO_COLOR` is unset or
    /// empty.
    pub fn detect(stream_is_tty: bool) -> Style {
        let no_color = matches!(std::env::var_os("NO_COLOR"), Some(v) if !v.is_empty());
        Style { color: stream_is_tty && !no_color }
    }

    /// `text` in `tone`, or as is without colors.
    pub(crate) fn paint(self, tone: Tone, text: impl Display) -> String {
        if !self.color {
            return text.to_string();
        }
        match tone {
            Tone::Green => text.green().to_string(),
            Tone::Yellow => text.yellow().to_string(),
            Tone::Red => text.red().to_string(),
            Tone::Magenta => text.magenta().to_string(),
            Tone::Dim => text.dimmed().to_string(),
            Tone::Bold => text.bold().to_string(),
        }
    }

    /// An op's marker, padded to the marker column and colored.
    pub(crate) fn marker(self, op: Op) -> String {
        self.paint(op_tone(op), format_args!("{:<2}", op.marker()))
    }
}

/// A color used in rendering.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Tone {
    Green,
    Yellow,
    Red,
    Magenta,
    Dim,
    Bold,
}

/// The color of an op's marker.
pub(crate) fn op_tone(op: Op) -> Tone {
    match op {
        Op::Same => Tone::Dim,
        Op::Create => Tone::Green,
        Op::Update => Tone::Yellow,
        Op::Replace => Tone::Magenta,
        Op::Delete => Tone::Red,
    }
}

/// The lowercase name of an op (`create`, `update`, ...).
fn op_name(op: Op) -> &'static str {
    match op {
        Op::Same => "same",
        Op::Create => "create",
        Op::Update => "update",
        Op::Replace => "replace",
        Op::Delete => "delete",
    }
}

/// The lowercase name of a journaled operation kind.
pub(crate) fn op_kind_name(op: OpKind) -> &'static str {
    match op {
        OpKind::Create => "create",
        OpKind::Update => "update",
        OpKind::Delete => "delete",
    }
}

/// Text without its trailing newlines (callers add one when printing).
fn trimmed(mut out: String) -> String {
    out.truncate(out.trim_end_matches('\n').len());
    out
}

/// `1 resource` / `3 resources`.
fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A short duration: `0.3s`, `12.5s`, `2m05s`.
pub(crate) fn format_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let s = d.as_secs();
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// Appends one property diff as an indented line (or, for a whole map
/// added or removed at once, one line per top-level key).
fn push_diff(out: &mut String, d: &PropertyDiff, style: Style) {
    let whole = match d.kind {
        DiffKind::Add => &d.new,
        DiffKind::Delete => &d.old,
        DiffKind::Update => &Value::Null,
    };
    if let (true, Value::Map(m)) = (d.path.is_empty(), whole) {
        for (k, v) in m {
            let (old, new) = if d.kind == DiffKind::Add { (&Value::Null, v) } else { (v, &Value::Null) };
            push_diff_line(out, d.kind, k, old, new, d.forces_replace, style);
        }
        return;
    }
    let path = if d.path.is_empty() { "(inputs)" } else { &d.path };
    push_diff_line(out, d.kind, path, &d.old, &d.new, d.forces_replace, style);
}

fn push_diff_line(
    out: &mut String,
    kind: DiffKind,
    path: &str,
    old: &Value,
    new: &Value,
    forces_replace: bool,
    style: Style,
) {
    let (marker, tone, body) = match kind {
        DiffKind::Add => ("+", Tone::Green, format!("{path}: {new}")),
        DiffKind::Delete => ("-", Tone::Red, format!("{path}: {old}")),
        DiffKind::Update => ("~", Tone::Yellow, format!("{path}: {old} => {new}")),
    };
    let forces = if forces_replace { style.paint(Tone::Magenta, " (forces replacement)") } else { String::new() };
    let _ = writeln!(out, "    {} {body}{forces}", style.paint(tone, marker));
}

fn diff_json(d: &PropertyDiff) -> serde_json::Value {
    json!({
        "path": d.path,
        "kind": d.kind,
        "old": d.old.to_display_json(),
        "new": d.new.to_display_json(),
        "forces_replace": d.forces_replace,
    })
}

fn pending_line(p: &PendingOp) -> String {
    let id = p.id.as_ref().map(|id| format!(" id={id}")).unwrap_or_default();
    format!("  {} {} ({}){id}", op_kind_name(p.op), p.urn, p.type_token)
}

/// Appends one step's header line and, when wanted, its property diffs.
fn push_step(out: &mut String, step: &Step, style: Style, show_diff: bool) {
    let mut line = format!(
        "{} {} {}",
        style.marker(step.op),
        step.urn,
        style.paint(Tone::Dim, format_args!("({})", step.type_token))
    );
    if step.op == Op::Replace {
        line.push_str(" replace");
        if !step.replace_keys.is_empty() {
            let _ = write!(line, " (forced by: {})", step.replace_keys.join(", "));
        }
        if step.delete_before_replace {
            line.push_str(" [delete first]");
        }
    }
    if step.op == Op::Delete && step.retired {
        line.push_str(" (old copy from an earlier replace)");
    }
    out.push_str(&line);
    out.push('\n');
    if show_diff || matches!(step.op, Op::Update | Op::Replace) {
        for d in &step.diffs {
            push_diff(out, d, style);
        }
    }
}

/// Counts of a plan's steps by op.
struct Counts {
    create: usize,
    update: usize,
    replace: usize,
    delete: usize,
    same: usize,
}

impl Counts {
    fn of(plan: &Plan) -> Counts {
        let c = plan.counts();
        let get = |op| c.get(&op).copied().unwrap_or(0);
        Counts {
            create: get(Op::Create),
            update: get(Op::Update),
            replace: get(Op::Replace),
            delete: get(Op::Delete),
            same: get(Op::Same),
        }
    }

    /// The non-zero categories, each as `n <label>`.
    fn parts(&self, labels: [&str; 5]) -> Vec<String> {
        [self.create, self.update, self.replace, self.delete, self.same]
            .into_iter()
            .zip(labels)
            .filter(|(n, _)| *n > 0)
            .map(|(n, label)| format!("{n} {label}"))
            .collect()
    }

    fn changed(&self) -> usize {
        self.create + self.update + self.replace + self.delete
    }
}

/// Whether a planned output differs from the recorded one (an unknown one
/// counts as different).
fn output_changed(old: &Value, new: &Value) -> bool {
    new.contains_unknown() || !crate::diff::diff(old, new).is_empty()
}

/// The plan as text: one line per change (with property diffs), a counts
/// line, the outputs and any operations left in flight by a crashed run.
pub fn plan_text(plan: &Plan, old_outputs: &BTreeMap<String, Value>, style: Style, show_diff: bool) -> String {
    let mut out = String::new();
    for step in plan.changes() {
        push_step(&mut out, step, style, show_diff);
    }
    let counts = Counts::of(plan);
    if counts.changed() > 0 {
        out.push('\n');
        let parts = counts.parts(["to create", "to update", "to replace", "to delete", "unchanged"]);
        let _ = writeln!(out, "Resources: {}.", parts.join(", "));
    } else {
        let head = if plan.has_changes(old_outputs) { "No resource changes." } else { "No changes." };
        out.push_str(&style.paint(Tone::Bold, head));
        if counts.same > 0 {
            let _ = write!(out, " {} unchanged.", plural(counts.same, "resource"));
        }
        out.push('\n');
    }

    let recorded: Vec<&str> = plan.bookkeeping().map(|s| s.urn.as_str()).collect();
    if !recorded.is_empty() {
        let _ = writeln!(
            out,
            "Options or dependencies to record (no cloud change): {}.",
            recorded.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", ")
        );
    }

    let removed: Vec<&String> = old_outputs.keys().filter(|k| !plan.outputs.contains_key(*k)).collect();
    if !plan.outputs.is_empty() || !removed.is_empty() {
        out.push_str("\nOutputs:\n");
        for (name, value) in &plan.outputs {
            let marker = match old_outputs.get(name) {
                None => style.paint(Tone::Green, "+"),
                Some(old) if output_changed(old, value) => style.paint(Tone::Yellow, "~"),
                Some(_) => " ".to_owned(),
            };
            let _ = writeln!(out, "  {marker} {name}: {value}");
        }
        for name in removed {
            let _ = writeln!(out, "  {} {name}", style.paint(Tone::Red, "-"));
        }
    }

    if !plan.pending.is_empty() {
        out.push_str("\nOperations left in flight by an interrupted run (resolved on the next up or refresh):\n");
        for p in &plan.pending {
            out.push_str(&pending_line(p));
            out.push('\n');
        }
    }
    trimmed(out)
}

/// The plan as JSON (`Same` steps omitted; values masked).
pub fn plan_json(plan: &Plan, old_outputs: &BTreeMap<String, Value>) -> serde_json::Value {
    let steps: Vec<serde_json::Value> = plan
        .changes()
        .map(|s| {
            json!({
                "urn": s.urn,
                "type": s.type_token,
                "op": op_name(s.op),
                "replace_keys": s.replace_keys,
                "delete_before_replace": s.delete_before_replace,
                "retired": s.retired,
                "diffs": s.diffs.iter().map(diff_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    let c = Counts::of(plan);
    json!({
        "stack_fingerprint": plan.state_fingerprint,
        "destroy": plan.destroy,
        "steps": steps,
        "counts": {
            "create": c.create,
            "update": c.update,
            "replace": c.replace,
            "delete": c.delete,
            "same": c.same,
        },
        "outputs": masked_outputs(&plan.outputs),
        "pending": plan.pending,
        "has_changes": plan.has_changes(old_outputs),
    })
}

fn masked_outputs(outputs: &BTreeMap<String, Value>) -> serde_json::Value {
    outputs.iter().map(|(k, v)| (k.clone(), v.to_display_json())).collect::<serde_json::Map<_, _>>().into()
}

/// Drift found by a refresh, as text: each drifted resource with its
/// changed properties, or a note that it is gone from the cloud.
pub fn drift_text(drift: &[Drift], style: Style) -> String {
    if drift.is_empty() {
        return "No drift: the cloud matches the state.".to_owned();
    }
    let mut out = String::new();
    for d in drift {
        match &d.diffs {
            None => {
                let _ = writeln!(out, "{} {} (deleted outside of this program)", style.marker(Op::Delete), d.urn);
            }
            Some(diffs) => {
                let _ = writeln!(out, "{} {} (changed outside of this program)", style.marker(Op::Update), d.urn);
                for pd in diffs {
                    push_diff(&mut out, pd, style);
                }
            }
        }
    }
    let _ = writeln!(out, "\n{} drifted.", plural(drift.len(), "resource"));
    trimmed(out)
}

/// Drift as JSON: `[{"urn", "status": "gone"|"changed", "diffs": [...]}]`.
pub fn drift_json(drift: &[Drift]) -> serde_json::Value {
    drift
        .iter()
        .map(|d| {
            json!({
                "urn": d.urn,
                "status": if d.diffs.is_some() { "changed" } else { "gone" },
                "diffs": d.diffs.iter().flatten().map(diff_json).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// Counts of the plan's steps that fully finished, derived from the
/// report's per-operation durations (a replace is done when both its
/// halves are).
fn done_counts(plan: &Plan, report: &ApplyReport) -> Counts {
    let mut finished: HashMap<(&Urn, Op), usize> = HashMap::new();
    for (urn, op, _) in &report.durations {
        *finished.entry((urn, *op)).or_insert(0) += 1;
    }
    let mut c = Counts { create: 0, update: 0, replace: 0, delete: 0, same: 0 };
    for s in &plan.steps {
        let needed = if s.op == Op::Replace { 2 } else { 1 };
        let slot = match finished.get_mut(&(&s.urn, s.op)) {
            Some(n) if *n >= needed => {
                *n -= needed;
                true
            }
            _ => false,
        };
        match s.op {
            Op::Same => c.same += 1,
            Op::Create if slot => c.create += 1,
            Op::Update if slot => c.update += 1,
            Op::Replace if slot => c.replace += 1,
            Op::Delete if slot => c.delete += 1,
            _ => {}
        }
    }
    c
}

/// The end of an apply as text: failures, skipped steps, what was done,
/// how long it took and the stack outputs (masked).
pub fn summary_text(plan: &Plan, report: &ApplyReport, elapsed: Duration, style: Style) -> String {
    let mut out = String::new();
    for f in &report.failures {
        let _ = writeln!(out, "{}", style.paint(Tone::Red, format_args!("✗ {f}")));
    }
    if report.skipped > 0 {
        let _ = writeln!(out, "{} skipped (they need something that failed)", plural(report.skipped, "step"));
    }
    let done = done_counts(plan, report);
    if done.changed() > 0 {
        let parts = done.parts(["created", "updated", "replaced", "deleted", "unchanged"]);
        let _ = writeln!(out, "Resources: {}.", parts.join(", "));
    } else if report.failures.is_empty() {
        let _ = writeln!(out, "No changes. {} unchanged.", plural(done.same, "resource"));
    } else {
        out.push_str("No resources were changed.\n");
    }
    let _ = writeln!(out, "Duration: {}", format_duration(elapsed));
    if !report.state.outputs.is_empty() {
        out.push_str("\nOutputs:\n");
        for (name, value) in &report.state.outputs {
            let _ = writeln!(out, "  {name}: {value}");
        }
    }
    trimmed(out)
}

/// The end of an apply as JSON (outputs masked).
pub fn apply_json(plan: &Plan, report: &ApplyReport, elapsed: Duration) -> serde_json::Value {
    let done = done_counts(plan, report);
    let steps: Vec<serde_json::Value> = report
        .durations
        .iter()
        .map(|(urn, op, d)| json!({ "urn": urn, "op": op_name(*op), "ms": d.as_millis() as u64 }))
        .collect();
    json!({
        "ok": report.failures.is_empty(),
        "failures": report.failures,
        "skipped": report.skipped,
        "elapsed_ms": elapsed.as_millis() as u64,
        "counts": {
            "created": done.create,
            "updated": done.update,
            "replaced": done.replace,
            "deleted": done.delete,
            "unchanged": done.same,
        },
        "steps": steps,
        "outputs": masked_outputs(&report.state.outputs),
    })
}

/// The stack outputs as text, one `name: value` line each; secrets are
/// masked unless `show_secrets`.
pub fn outputs_text(outputs: &BTreeMap<String, Value>, show_secrets: bool) -> String {
    if outputs.is_empty() {
        return "No outputs.".to_owned();
    }
    let mut out = String::new();
    for (name, value) in outputs {
        if show_secrets {
            let _ = writeln!(out, "{name}: {}", value.unwrap_secrets().0);
        } else {
            let _ = writeln!(out, "{name}: {value}");
        }
    }
    trimmed(out)
}

/// The stack outputs as a JSON object; secrets are masked unless
/// `show_secrets`.
pub fn outputs_json(outputs: &BTreeMap<String, Value>, show_secrets: bool) -> serde_json::Value {
    if !show_secrets {
        return masked_outputs(outputs);
    }
    outputs
        .iter()
        .map(|(k, v)| (k.clone(), v.to_plain_json().unwrap_or_else(|| v.to_display_json())))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// The resources in the state, one line each: identity, type and cloud id
/// (old copies of replaced resources still to be deleted are marked).
pub fn state_list_text(state: &State) -> String {
    if state.resources.is_empty() && state.retired.is_empty() {
        return "No resources in the state.".to_owned();
    }
    let all: Vec<(&ResourceState, bool)> =
        state.resources.values().map(|r| (r, false)).chain(state.retired.iter().map(|r| (r, true))).collect();
    let urn_w = all.iter().map(|(r, _)| r.urn.as_str().len()).max().unwrap_or(0);
    let type_w = all.iter().map(|(r, _)| r.type_token.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (r, retired) in all {
        let id = r.id.as_deref().unwrap_or("-");
        let note = if retired { "  (old copy, to be deleted)" } else { "" };
        let line = format!("{:<urn_w$}  {:<type_w$}  {id}{note}", r.urn.as_str(), r.type_token);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    trimmed(out)
}

/// Pretty JSON indented by two spaces, values masked.
fn pretty(v: &Value) -> String {
    let text = serde_json::to_string_pretty(&v.to_display_json()).unwrap_or_default();
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// One resource as recorded, for `state show`: identity, type, provider,
/// id, dependencies, options, and inputs and outputs (secrets masked).
pub fn resource_text(r: &ResourceState) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "urn:      {}", r.urn);
    let _ = writeln!(out, "type:     {}", r.type_token);
    let _ = writeln!(out, "provider: {}", if r.provider.is_empty() { "(component)" } else { &r.provider });
    let _ = writeln!(out, "id:       {}", r.id.as_deref().unwrap_or("-"));
    let deps: Vec<&str> = r.deps.iter().map(Urn::as_str).collect();
    let _ = writeln!(out, "deps:     {}", if deps.is_empty() { "-".to_owned() } else { deps.join(", ") });
    if let Ok(serde_json::Value::Object(opts)) = serde_json::to_value(&r.options) {
        if !opts.is_empty() {
            let _ = writeln!(out, "options:  {}", serde_json::Value::Object(opts));
        }
    }
    out.push_str("inputs:\n");
    out.push_str(&pretty(&r.inputs));
    out.push_str("outputs:\n");
    out.push_str(&pretty(&r.outputs));
    trimmed(out)
}

/// Text made safe inside a DOT quoted string.
fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The graph in Graphviz DOT: a node per resource labelled with its
/// identity and type, an edge from each dependency to its dependent.
pub fn graph_dot(graph: &Graph) -> String {
    let mut out = String::from("digraph stack {\n  node [shape=box];\n");
    for d in graph.resources.values() {
        let urn = dot_escape(d.urn.as_str());
        let _ = writeln!(out, "  \"{urn}\" [label=\"{urn}\\n{}\"];", dot_escape(d.type_token));
    }
    for d in graph.resources.values() {
        for dep in &d.deps {
            let _ = writeln!(out, "  \"{}\" -> \"{}\";", dot_escape(dep.as_str()), dot_escape(d.urn.as_str()));
        }
    }
    out.push_str("}\n");
    trimmed(out)
}

/// Text made safe inside a Mermaid `["..."]` label.
fn mermaid_escape(s: &str) -> String {
    s.replace('"', "#quot;").replace('<', "#lt;").replace('>', "#gt;")
}

/// The graph as a Mermaid `flowchart TD`: nodes get safe ids (`n0`, `n1`,
/// ...) and labels with identity and type; edges go from dependency to
/// dependent.
pub fn graph_mermaid(graph: &Graph) -> String {
    let mut out = String::from("flowchart TD\n");
    let ids: HashMap<&Urn, usize> = graph.resources.keys().enumerate().map(|(i, u)| (u, i)).collect();
    for (i, d) in graph.resources.values().enumerate() {
        let _ = writeln!(out, "  n{i}[\"{}<br/>{}\"]", mermaid_escape(d.urn.as_str()), mermaid_escape(d.type_token));
    }
    for (i, d) in graph.resources.values().enumerate() {
        for dep in &d.deps {
            if let Some(j) = ids.get(dep) {
                let _ = writeln!(out, "  n{j} --> n{i}");
            }
        }
    }
    trimmed(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::ResourceOptions;

    const PLAIN: Style = Style { color: false };

    fn secret(s: &str) -> Value {
        Value::Secret(Box::new(Value::from(s)))
    }

    fn old(urn: &str, inputs: Value) -> ResourceState {
        ResourceState {
            urn: Urn::new(urn),
            type_token: "test:Thing".into(),
            provider: "test".into(),
            id: Some(format!("{urn}-id")),
            inputs,
            outputs: Value::map(),
            deps: vec![],
            options: ResourceOptions::default(),
        }
    }

    fn step(urn: &str, op: Op, diffs: Vec<PropertyDiff>) -> Step {
        Step {
            urn: Urn::new(urn),
            op,
            type_token: "test:Thing".into(),
            provider: "test".into(),
            old: (op != Op::Create).then(|| old(urn, Value::map())),
            new_inputs: None,
            diffs,
            replace_keys: vec![],
            delete_before_replace: false,
            retired: false,
            deps: vec![],
            metadata_changed: false,
        }
    }

    fn pd(path: &str, kind: DiffKind, old: Value, new: Value) -> PropertyDiff {
        PropertyDiff { path: path.into(), kind, old, new, forces_replace: false }
    }

    fn sample_plan() -> Plan {
        let create_inputs = Value::Map(BTreeMap::from([
            ("name".to_owned(), Value::from("web")),
            ("password".to_owned(), secret("hunter2")),
        ]));
        let mut replace = step(
            "db",
            Op::Replace,
            vec![PropertyDiff { forces_replace: true, ..pd("engine", DiffKind::Update, "pg14".into(), "pg16".into()) }],
        );
        replace.replace_keys = vec!["engine".into()];
        replace.delete_before_replace = true;
        let mut retired = step("db", Op::Delete, vec![]);
        retired.retired = true;
        Plan {
            steps: vec![
                step("net", Op::Same, vec![]),
                step("web", Op::Create, crate::diff::diff(&Value::Null, &create_inputs)),
                step("cfg", Op::Update, vec![pd("token", DiffKind::Update, secret("hunter2"), secret("hunter3"))]),
                replace,
                step("old", Op::Delete, vec![]),
                retired,
            ],
            outputs: BTreeMap::from([
                ("url".to_owned(), Value::Unknown),
                ("password".to_owned(), secret("hunter2")),
                ("name".to_owned(), Value::from("web")),
            ]),
            pending: vec![PendingOp {
                seq: 7,
                op: OpKind::Create,
                urn: Urn::new("lost"),
                type_token: "test:Thing".into(),
                provider: "test".into(),
                id: None,
                planned: None,
            }],
            state_fingerprint: "fp".into(),
            destroy: false,
        }
    }

    fn old_outputs() -> BTreeMap<String, Value> {
        BTreeMap::from([("name".to_owned(), Value::from("web")), ("gone".to_owned(), Value::from(1))])
    }

    #[test]
    fn plan_text_shows_markers_counts_and_outputs() {
        let text = plan_text(&sample_plan(), &old_outputs(), PLAIN, true);
        assert!(text.contains("+  web (test:Thing)"), "{text}");
        assert!(text.contains("~  cfg (test:Thing)"), "{text}");
        assert!(text.contains("+- db (test:Thing) replace (forced by: engine) [delete first]"), "{text}");
        assert!(text.contains("-  old (test:Thing)"), "{text}");
        assert!(text.contains("(old copy from an earlier replace)"), "{text}");
        assert!(text.contains("    ~ engine: \"pg14\" => \"pg16\" (forces replacement)"), "{text}");
        assert!(text.contains("    + name: \"web\""), "{text}");
        assert!(text.contains("    + password: [secret]"), "{text}");
        assert!(
            text.contains("Resources: 1 to create, 1 to update, 1 to replace, 2 to delete, 1 unchanged."),
            "{text}"
        );
        assert!(text.contains("  + url: (known after apply)"), "{text}");
        assert!(text.contains("    name: \"web\""), "{text}");
        assert!(text.contains("  - gone"), "{text}");
        assert!(text.contains("  create lost (test:Thing)"), "{text}");
        assert!(!text.contains("hunter"), "{text}");
        assert!(!text.contains('\u{1b}'), "no colors without color: {text}");
    }

    #[test]
    fn plan_text_lists_create_inputs_only_with_diff() {
        let text = plan_text(&sample_plan(), &old_outputs(), PLAIN, false);
        assert!(!text.contains("    + name:") && !text.contains("    + password:"), "{text}");
        assert!(text.contains("    ~ token: [secret] => [secret]"), "updates always show diffs: {text}");
        assert!(!text.contains("hunter"), "{text}");
    }

    #[test]
    fn colors_only_when_asked() {
        let text = plan_text(&sample_plan(), &old_outputs(), Style { color: true }, true);
        assert!(text.contains(&"+ ".green().to_string()), "{text}");
        assert!(text.contains(&"+-".magenta().to_string()), "{text}");
        assert!(!text.contains("hunter"), "{text}");
    }

    #[test]
    fn plan_json_is_masked_and_complete() {
        let j = plan_json(&sample_plan(), &old_outputs());
        let s = j.to_string();
        assert!(!s.contains("hunter"), "{s}");
        assert_eq!(j["steps"].as_array().map(Vec::len), Some(5));
        assert_eq!(j["steps"][0]["op"], "create");
        assert_eq!(j["steps"][2]["replace_keys"][0], "engine");
        assert_eq!(j["counts"]["delete"], 2);
        assert_eq!(j["outputs"]["url"], crate::value::UNKNOWN_TEXT);
        assert_eq!(j["outputs"]["password"], crate::value::SECRET_MASK);
        assert_eq!(j["has_changes"], true);
        assert_eq!(j["pending"][0]["urn"], "lost");
    }

    #[test]
    fn empty_plan_says_no_changes() {
        let text = plan_text(&Plan::default(), &BTreeMap::new(), PLAIN, true);
        assert_eq!(text, "No changes.");
        let steps = (0..10).map(|i| step(&format!("r{i}"), Op::Same, vec![])).collect();
        let plan = Plan { steps, ..Plan::default() };
        let text = plan_text(&plan, &BTreeMap::new(), PLAIN, true);
        assert_eq!(text, "No changes. 10 resources unchanged.");
        assert_eq!(plan_json(&plan, &BTreeMap::new())["has_changes"], false);
    }

    fn report(plan: &Plan) -> ApplyReport {
        let mut outputs = plan.outputs.clone();
        outputs.insert("url".into(), Value::from("http://x"));
        let state = State { outputs, ..State::default() };
        let ms = Duration::from_millis(5);
        ApplyReport {
            state,
            failures: vec!["old (test:Thing): delete failed: boom".into()],
            skipped: 1,
            durations: vec![
                (Urn::new("web"), Op::Create, ms),
                (Urn::new("cfg"), Op::Update, ms),
                (Urn::new("db"), Op::Replace, ms),
                (Urn::new("db"), Op::Replace, ms),
                (Urn::new("db"), Op::Delete, ms),
            ],
        }
    }

    #[test]
    fn summary_counts_what_finished_and_masks_outputs() {
        let plan = sample_plan();
        let rep = report(&plan);
        let text = summary_text(&plan, &rep, Duration::from_millis(1234), PLAIN);
        assert!(text.contains("✗ old (test:Thing): delete failed: boom"), "{text}");
        assert!(text.contains("1 step skipped"), "{text}");
        assert!(text.contains("Resources: 1 created, 1 updated, 1 replaced, 1 deleted, 1 unchanged."), "{text}");
        assert!(text.contains("Duration: 1.2s"), "{text}");
        assert!(text.contains("  password: [secret]"), "{text}");
        assert!(!text.contains("hunter"), "{text}");
        let j = apply_json(&plan, &rep, Duration::from_millis(1234));
        assert_eq!(j["ok"], false);
        assert_eq!(j["elapsed_ms"], 1234);
        assert_eq!(j["steps"].as_array().map(Vec::len), Some(5));
        assert!(!j.to_string().contains("hunter"));
    }

    #[test]
    fn outputs_reveal_secrets_only_when_asked() {
        let outputs = BTreeMap::from([("password".to_owned(), secret("hunter2"))]);
        assert_eq!(outputs_text(&outputs, false), "password: [secret]");
        assert_eq!(outputs_text(&outputs, true), "password: \"hunter2\"");
        assert_eq!(outputs_json(&outputs, false)["password"], "[secret]");
        assert_eq!(outputs_json(&outputs, true)["password"], "hunter2");
    }

    #[test]
    fn drift_and_state_views_mask_secrets() {
        let drift = vec![
            Drift { urn: Urn::new("a"), diffs: Some(vec![pd("pw", DiffKind::Update, secret("hunter2"), secret("x"))]) },
            Drift { urn: Urn::new("b"), diffs: None },
        ];
        let text = drift_text(&drift, PLAIN);
        assert!(text.contains("~  a") && text.contains("-  b") && !text.contains("hunter"), "{text}");
        assert_eq!(drift_json(&drift)[1]["status"], "gone");
        assert!(drift_text(&[], PLAIN).starts_with("No drift"));

        let mut state = State::default();
        let r = old("a", Value::Map(BTreeMap::from([("pw".to_owned(), secret("hunter2"))])));
        state.resources.insert(r.urn.clone(), r.clone());
        assert_eq!(state_list_text(&state), "a  test:Thing  a-id");
        let shown = resource_text(&r);
        assert!(shown.contains("\"pw\": \"[secret]\"") && !shown.contains("hunter"), "{shown}");
    }

    #[test]
    fn graphs_have_nodes_and_edges() {
        static SCHEMA: crate::resource::Schema = crate::resource::Schema {
            type_token: "test:Thing",
            provider: "test",
            replace_on: &[],
            delete_before_replace: false,
            taggable: false,
            computed_on_update: &[],
            graph_check: None,
        };
        let decl = |urn: &str, deps: &[&str]| crate::graph::Declaration {
            urn: Urn::new(urn),
            type_token: "test:Thing",
            schema: &SCHEMA,
            inputs: crate::output::Expr::Value(Value::map()),
            deps: deps.iter().map(Urn::new).collect(),
            options: ResourceOptions::default(),
            provider: "test".into(),
        };
        let mut graph = Graph::default();
        for d in [decl("net/vpc", &[]), decl("app \"x\"", &["net/vpc"])] {
            graph.resources.insert(d.urn.clone(), d);
        }
        let dot = graph_dot(&graph);
        assert!(dot.starts_with("digraph stack {\n"), "{dot}");
        assert!(dot.contains("  \"net/vpc\" [label=\"net/vpc\\ntest:Thing\"];\n"), "{dot}");
        assert!(dot.contains("  \"net/vpc\" -> \"app \\\"x\\\"\";\n"), "{dot}");
        let mermaid = graph_mermaid(&graph);
        assert_eq!(
            mermaid,
            "flowchart TD\n  n0[\"net/vpc<br/>test:Thing\"]\n  n1[\"app #quot;x#quot;<br/>test:Thing\"]\n  n0 --> n1"
        );
    }
}
