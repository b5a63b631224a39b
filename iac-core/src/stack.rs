//! The program context a stack author writes against.
//!
//! ```
//! use iac_core::{Stack, Config};
//! use iac_core::testing::{Server, ServerArgs, TestProvider};
//!
//! let stack = Stack::new("demo", "dev", Config::from_table("dev", Default::default()));
//! stack.provider("test", TestProvider::new());
//! let net = stack.component("demo:Network", "network");
//! let web = net.add("web", ServerArgs::builder().size(2).build());
//! stack.export("web_id", web.id.clone());
//! let graph = stack.finish().unwrap();
//! assert!(graph.resources.contains_key(&iac_core::Urn::new("network/web")));
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;
use serde::Serialize;

use crate::config::Config;
use crate::error::{Diagnostic, Error, Result};
use crate::graph::{Declaration, Graph};
use crate::output::{Expr, Output, Urn};
use crate::provider::{Provider, ProviderHandle};
use crate::resource::{Checks, GraphCheck, Registered, Resource, ResourceOptions, Schema, COMPONENT};
use crate::value::Value;

#[derive(Default)]
struct Recorder {
    graph: Graph,
    diagnostics: Vec<Diagnostic>,
    duplicates: Vec<Urn>,
    graph_checks: Vec<GraphCheck>,
    providers: IndexMap<String, Arc<dyn Provider>>,
}

/// A stack being declared, or a component scope inside one. Cheap to clone.
#[derive(Clone)]
pub struct Stack {
    rec: Arc<Mutex<Recorder>>,
    config: Arc<Config>,
    stack: Arc<str>,
    prefix: Option<Urn>,
}

/// The providers a program registered, by instance name.
pub type Providers = IndexMap<String, Arc<dyn Provider>>;

impl Stack {
    /// Starts declaring stack `stack` of project `project`.
    pub fn new(project: &str, stack: &str, config: Config) -> Stack {
        let rec = Recorder {
            graph: Graph { project: project.to_owned(), stack: stack.to_owned(), ..Graph::default() },
            ..Recorder::default()
        };
        Stack { rec: Arc::new(Mutex::new(rec)), config: Arc::new(config), stack: Arc::from(stack), prefix: None }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recorder> {
        self.rec.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The stack's name (`dev`, `prod`, …).
    pub fn name(&self) -> &str {
        &self.stack
    }

    /// The stack's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn urn_for(&self, name: &str) -> Urn {
        match &self.prefix {
            Some(p) => Urn::new(format!("{p}/{name}")),
            None => Urn::new(name),
        }
    }

    /// Registers a provider instance under `name`. Resources use the one
    /// named like their type's provider (`aws`, `test`) unless their options
    /// name another.
    pub fn provider(&self, name: &str, p: impl Provider) -> ProviderHandle {
        self.lock().providers.insert(name.to_owned(), Arc::new(p));
        ProviderHandle::new(name.to_owned())
    }

    /// Registers a shared provider instance under `name`.
    pub fn provider_arc(&self, name: &str, p: Arc<dyn Provider>) -> ProviderHandle {
        self.lock().providers.insert(name.to_owned(), p);
        ProviderHandle::new(name.to_owned())
    }

    /// Sets tags every taggable resource in the stack receives.
    pub fn default_tags<K: Into<String>, V: Into<String>>(&self, tags: impl IntoIterator<Item = (K, V)>) {
        let mut r = self.lock();
        r.graph.default_tags.extend(tags.into_iter().map(|(k, v)| (k.into(), v.into())));
    }

    /// Declares a resource.
    pub fn add<R: Resource>(&self, name: &str, resource: R) -> Registered<R::Outputs> {
        self.add_with(name, resource, ResourceOptions::default())
    }

    /// Declares a resource with options.
    pub fn add_with<R: Resource>(&self, name: &str, resource: R, options: ResourceOptions) -> Registered<R::Outputs> {
        let schema = R::schema();
        let mut checks = Checks::default();
        resource.validate(&mut checks);
        let urn = self.register(name, schema, resource.inputs(), options);
        if let Some(gc) = schema.graph_check {
            let mut r = self.lock();
            if !r.graph_checks.iter().any(|f| std::ptr::fn_addr_eq(*f, gc)) {
                r.graph_checks.push(gc);
            }
        }
        self.report_all(&urn, schema.type_token, checks);
        let outputs = R::outputs(&urn);
        Registered::new(urn, outputs)
    }

    fn report_all(&self, urn: &Urn, type_token: &str, checks: Checks) {
        let mut r = self.lock();
        for (field, message) in checks.into_problems() {
            r.diagnostics.push(Diagnostic { urn: urn.clone(), type_token: type_token.to_owned(), field, message });
        }
    }

    /// Reports a problem with a resource's input found by the program itself.
    pub fn report(&self, urn: &Urn, field: &str, message: impl Into<String>) {
        let mut r = self.lock();
        let type_token = r.graph.resources.get(urn).map_or("", |d| d.type_token).to_owned();
        r.diagnostics.push(Diagnostic { urn: urn.clone(), type_token, field: field.into(), message: message.into() });
    }

    /// Declares a resource from an untyped schema and input expression. Typed
    /// resources go through [`Stack::add`]; this is for generic tooling.
    pub fn register(&self, name: &str, schema: &'static Schema, inputs: Expr, options: ResourceOptions) -> Urn {
        self.register_typed(name, schema.type_token, schema, inputs, options)
    }

    fn register_typed(
        &self,
        name: &str,
        type_token: &'static str,
        schema: &'static Schema,
        mut inputs: Expr,
        options: ResourceOptions,
    ) -> Urn {
        let urn = self.urn_for(name);
        let mut r = self.lock();
        if schema.taggable && !r.graph.default_tags.is_empty() {
            inputs = merge_default_tags(inputs, &r.graph.default_tags);
        }
        // A child is recorded after its parent component and deleted before
        // it, so the parent is an ordering dependency.
        let mut deps: Vec<Urn> = urn.parent().into_iter().collect();
        inputs.collect_deps(&mut deps);
        for d in &options.depends_on {
            if !deps.contains(d) {
                deps.push(d.clone());
            }
        }
        let provider = if schema.is_component() {
            String::new()
        } else {
            options.provider.clone().unwrap_or_else(|| schema.provider.to_owned())
        };
        let decl = Declaration { urn: urn.clone(), type_token, schema, inputs, deps, options, provider };
        if r.graph.resources.insert(urn.clone(), decl).is_some() {
            r.duplicates.push(urn.clone());
        }
        urn
    }

    /// Opens a component: a named group whose children's identities are
    /// prefixed with its name, so the same component can be instantiated
    /// twice without clashes.
    pub fn component(&self, type_token: &'static str, name: &str) -> Stack {
        let urn = self.register_typed(name, type_token, &COMPONENT, Expr::Map(Default::default()), Default::default());
        Stack { rec: self.rec.clone(), config: self.config.clone(), stack: self.stack.clone(), prefix: Some(urn) }
    }

    /// Exports a stack output.
    pub fn export<T>(&self, name: &str, output: impl Into<ExportValue<T>>) {
        let e = output.into().0;
        self.lock().graph.exports.insert(name.to_owned(), e);
    }

    /// Exports a stack output whose value is secret.
    pub fn export_secret<T>(&self, name: &str, output: impl Into<ExportValue<T>>) {
        let e = Expr::Secret(Box::new(output.into().0));
        self.lock().graph.exports.insert(name.to_owned(), e);
    }

    /// Ends the program: runs the graph checks and returns the graph, or
    /// every problem found at once.
    pub fn finish(&self) -> Result<Graph> {
        self.finish_with_providers().map(|(g, _)| g)
    }

    /// Like [`Stack::finish`], also handing back the registered providers.
    pub fn finish_with_providers(&self) -> Result<(Graph, Providers)> {
        let mut r = self.lock();
        if let Some(d) = r.duplicates.first() {
            return Err(Error::DuplicateName(d.clone()));
        }
        let mut diags = std::mem::take(&mut r.diagnostics);
        for check in r.graph_checks.clone() {
            check(&r.graph, &mut diags);
        }
        // Declared dependencies must exist before we can order anything.
        for d in r.graph.resources.values() {
            for dep in &d.deps {
                if !r.graph.resources.contains_key(dep) {
                    return Err(Error::UnknownDependency { from: d.urn.clone(), to: dep.clone() });
                }
            }
            if !d.schema.is_component() && !r.providers.contains_key(&d.provider) {
                return Err(Error::UnknownProvider { urn: d.urn.clone(), provider: d.provider.clone() });
            }
        }
        if !diags.is_empty() {
            for d in &mut diags {
                name_config_origin(&self.config, &r.graph, d);
            }
            return Err(Error::Invalid(diags));
        }
        let graph = std::mem::take(&mut r.graph);
        let providers = std::mem::take(&mut r.providers);
        Ok((graph, providers))
    }
}

/// Adds to a problem with a resource's input where its value came from,
/// when the program read it from the stack's config: the user edits
/// `memory` in `dev.toml`, not `memorySize`.
pub(crate) fn name_config_origin(config: &Config, graph: &Graph, d: &mut Diagnostic) {
    struct NothingKnown;
    impl crate::output::Resolver for NothingKnown {
        fn output(&self, _: &Urn, _: &str) -> Value {
            Value::Unknown
        }
    }
    let Some(decl) = graph.resources.get(&d.urn) else { return };
    let value = decl.inputs.resolve(&NothingKnown);
    let origins = config.origins_of(&value.get_path(&d.field).unwrap_secrets().0);
    if !origins.is_empty() && origins.len() <= 3 {
        d.message.push_str(&format!(" (set by config {})", origins.join(" or ")));
    }
}

/// Anything that can be exported: an output or a plain value.
pub struct ExportValue<T>(Expr, std::marker::PhantomData<T>);

impl<T> From<Output<T>> for ExportValue<T> {
    fn from(o: Output<T>) -> Self {
        ExportValue(o.expr().clone(), std::marker::PhantomData)
    }
}
impl<T> From<&Output<T>> for ExportValue<T> {
    fn from(o: &Output<T>) -> Self {
        ExportValue(o.expr().clone(), std::marker::PhantomData)
    }
}
impl<T: Serialize> From<crate::output::Input<T>> for ExportValue<T> {
    fn from(i: crate::output::Input<T>) -> Self {
        ExportValue(i.to_expr(), std::marker::PhantomData)
    }
}
impl From<&str> for ExportValue<String> {
    fn from(s: &str) -> Self {
        ExportValue(Expr::Value(Value::from(s)), std::marker::PhantomData)
    }
}

fn merge_default_tags(inputs: Expr, defaults: &BTreeMap<String, String>) -> Expr {
    let Expr::Map(mut m) = inputs else { return inputs };
    let tags = m.remove("tags");
    let merged = match tags {
        None => Expr::Value(Value::from(defaults.clone())),
        Some(Expr::Value(Value::Map(own))) => {
            let mut all: BTreeMap<String, Value> =
                defaults.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect();
            all.extend(own);
            Expr::Value(Value::Map(all))
        }
        Some(Expr::Map(own)) => {
            let mut all: BTreeMap<String, Expr> =
                defaults.iter().map(|(k, v)| (k.clone(), Expr::Value(Value::from(v.as_str())))).collect();
            all.extend(own);
            Expr::Map(all)
        }
        Some(other) => other,
    };
    m.insert("tags".into(), merged);
    Expr::Map(m)
}
