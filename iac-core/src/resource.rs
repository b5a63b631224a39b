//! What a resource type is to the engine: a [`Schema`], inputs lowered to an
//! [`Expr`], typed outputs, validation; and the per-resource options.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::output::{Expr, Output, Urn};

/// Static facts about a resource type that the engine needs to plan it.
#[derive(Debug)]
pub struct Schema {
    /// The type token, for example `aws:ec2:Vpc`.
    pub type_token: &'static str,
    /// The name of the provider that manages it by default (`aws`, `test`),
    /// or `""` for a component, which has no cloud presence.
    pub provider: &'static str,
    /// Top-level inputs whose change forces a replacement.
    pub replace_on: &'static [&'static str],
    /// Replace by deleting first (names that must be unique in the cloud).
    pub delete_before_replace: bool,
    /// Whether the type takes tags (in its `tags` input) and so receives the
    /// stack's default tags.
    pub taggable: bool,
    /// Outputs that may change when the resource is updated in place (for
    /// example a task definition's revision ARN). Every other output keeps
    /// its value across an update, so dependents' previews stay exact.
    pub computed_on_update: &'static [&'static str],
    /// A check across the whole graph (for example overlapping subnets of
    /// one VPC), run once per program however many resources use it.
    pub graph_check: Option<GraphCheck>,
}

/// A check over the whole desired graph; it pushes what it finds.
pub type GraphCheck = fn(&crate::graph::Graph, &mut Vec<crate::error::Diagnostic>);

impl Schema {
    /// A schema for a resource with no replace keys, not taggable.
    pub const fn new(type_token: &'static str, provider: &'static str) -> Schema {
        Schema {
            type_token,
            provider,
            replace_on: &[],
            delete_before_replace: false,
            taggable: false,
            computed_on_update: &[],
            graph_check: None,
        }
    }

    /// Whether this is a component (a grouping with no cloud presence).
    pub fn is_component(&self) -> bool {
        self.provider.is_empty()
    }
}

/// The schema every component resource shares.
pub static COMPONENT: Schema = Schema::new("iac:Component", "");

/// A typed resource: implemented by each resource type's args struct.
pub trait Resource {
    /// The typed outputs handed back when the resource is registered.
    type Outputs;
    /// The type's static facts.
    fn schema() -> &'static Schema;
    /// The inputs as an expression tree (a map), references included.
    fn inputs(&self) -> Expr;
    /// Builds the typed outputs that refer to the registered resource.
    fn outputs(urn: &Urn) -> Self::Outputs;
    /// Cross-field checks run at registration; report every problem found.
    fn validate(&self, _checks: &mut Checks) {}
}

/// Problems found in one resource's inputs, each naming its field.
#[derive(Debug, Default)]
pub struct Checks {
    problems: Vec<(String, String)>,
}

impl Checks {
    /// Reports a problem with `field`.
    pub fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.problems.push((field.into(), message.into()));
    }
    /// Reports a problem with `field` when `ok` is false.
    pub fn check(&mut self, ok: bool, field: &str, message: impl FnOnce() -> String) {
        if !ok {
            self.fail(field, message());
        }
    }
    /// The problems found, as `(field, message)`.
    pub fn into_problems(self) -> Vec<(String, String)> {
        self.problems
    }
}

/// Custom operation timeouts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeouts {
    /// Create timeout.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_secs")]
    pub create: Option<Duration>,
    /// Update timeout.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_secs")]
    pub update: Option<Duration>,
    /// Delete timeout.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_secs")]
    pub delete: Option<Duration>,
}

mod opt_secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.map(Duration::from_secs_f64))
    }
}

/// Options that change how the engine treats one resource.
///
/// ```
/// use iac_core::ResourceOptions;
/// use std::time::Duration;
/// let opts = ResourceOptions::new()
///     .protect()
///     .ignore_changes(["tags.LastDeployed"])
///     .create_timeout(Duration::from_secs(1800));
/// assert!(opts.protect);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceOptions {
    /// Extra dependencies beyond those the inputs imply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<Urn>,
    /// Refuse to delete or replace.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protect: bool,
    /// Input paths whose changes are never a diff.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_changes: Vec<String>,
    /// Input paths whose changes force a replacement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace_on_changes: Vec<String>,
    /// Replace by deleting first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete_before_replace: bool,
    /// On delete, forget the resource but leave it in the cloud.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retain_on_delete: bool,
    /// Custom timeouts.
    #[serde(default, skip_serializing_if = "is_default")]
    pub timeouts: Timeouts,
    /// An explicit provider instance (by name) instead of the type's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

fn is_default<T: Default + PartialEq>(t: &T) -> bool {
    *t == T::default()
}

impl ResourceOptions {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }
    /// Depend on another resource explicitly.
    pub fn depends_on(mut self, r: impl AsRef<Urn>) -> Self {
        self.depends_on.push(r.as_ref().clone());
        self
    }
    /// Refuse to delete or replace this resource.
    pub fn protect(mut self) -> Self {
        self.protect = true;
        self
    }
    /// Protect the resource when `on` is true.
    pub fn protect_if(mut self, on: bool) -> Self {
        self.protect = on;
        self
    }
    /// Never diff these input paths (`tags`, `tags.Owner`, …).
    pub fn ignore_changes<S: Into<String>>(mut self, paths: impl IntoIterator<Item = S>) -> Self {
        self.ignore_changes.extend(paths.into_iter().map(Into::into));
        self
    }
    /// Replace (rather than update) when these input paths change.
    pub fn replace_on_changes<S: Into<String>>(mut self, paths: impl IntoIterator<Item = S>) -> Self {
        self.replace_on_changes.extend(paths.into_iter().map(Into::into));
        self
    }
    /// Replace by deleting the old resource first.
    pub fn delete_before_replace(mut self) -> Self {
        self.delete_before_replace = true;
        self
    }
    /// Leave the resource in the cloud when it is deleted from the stack.
    pub fn retain_on_delete(mut self) -> Self {
        self.retain_on_delete = true;
        self
    }
    /// Create timeout.
    pub fn create_timeout(mut self, d: Duration) -> Self {
        self.timeouts.create = Some(d);
        self
    }
    /// Update timeout.
    pub fn update_timeout(mut self, d: Duration) -> Self {
        self.timeouts.update = Some(d);
        self
    }
    /// Delete timeout.
    pub fn delete_timeout(mut self, d: Duration) -> Self {
        self.timeouts.delete = Some(d);
        self
    }
    /// Manage the resource with an explicit provider instance.
    pub fn provider(mut self, p: &crate::ProviderHandle) -> Self {
        self.provider = Some(p.name().to_owned());
        self
    }
}

/// A registered resource: its identity plus its typed outputs (reachable
/// through `Deref`).
#[derive(Clone, Debug)]
pub struct Registered<O> {
    urn: Urn,
    outputs: O,
}

impl<O> Registered<O> {
    pub(crate) fn new(urn: Urn, outputs: O) -> Self {
        Registered { urn, outputs }
    }
    /// The resource's identity.
    pub fn urn(&self) -> &Urn {
        &self.urn
    }
    /// The cloud id of the resource, as a plain string.
    pub fn id_string(&self) -> Output<String> {
        Output::from_ref(&self.urn, "id")
    }
}

impl<O> std::ops::Deref for Registered<O> {
    type Target = O;
    fn deref(&self) -> &O {
        &self.outputs
    }
}

impl<O> AsRef<Urn> for Registered<O> {
    fn as_ref(&self) -> &Urn {
        &self.urn
    }
}

impl AsRef<Urn> for Urn {
    fn as_ref(&self) -> &Urn {
        self
    }
}

/// Builds an input map from `(key, expr)` pairs; `Null` values are dropped so
/// an unset optional input and an absent one are the same.
pub fn props<const N: usize>(pairs: [(&str, Expr); N]) -> Expr {
    Expr::Map(
        pairs
            .into_iter()
            .filter(|(_, e)| !matches!(e, Expr::Value(v) if v.is_empty_like()))
            .map(|(k, e)| (k.to_owned(), e))
            .collect::<BTreeMap<_, _>>(),
    )
}
