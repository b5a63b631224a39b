//! Typed references between resources: [`Output`], [`Input`] and the
//! expression tree ([`Expr`]) they lower to.
//!
//! A stack program runs once, before anything is planned. Whatever it reads
//! from another resource is therefore not a value but an expression over that
//! resource's outputs, resolved later: against the stored state while
//! planning (where an output that is not yet known resolves to
//! [`Value::Unknown`]) and against the real outputs while applying. The
//! expression also knows which resources it reads, which is where the
//! dependency graph comes from.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::value::Value;

/// The identity of a resource in a stack: its name prefixed by the names of
/// its parent components, joined with `/` (for example `network/vpc`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Urn(Arc<str>);

impl Urn {
    /// Makes an identity from its full path.
    pub fn new(path: impl AsRef<str>) -> Urn {
        Urn(Arc::from(path.as_ref()))
    }
    /// The full path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The parent component's identity, if any.
    pub fn parent(&self) -> Option<Urn> {
        self.0.rsplit_once('/').map(|(p, _)| Urn::new(p))
    }
    /// The last segment: the name given at registration.
    pub fn name(&self) -> &str {
        self.0.rsplit_once('/').map_or(&self.0, |(_, n)| n)
    }
}

impl fmt::Display for Urn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for Urn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

/// Something that knows resources' outputs: the state while planning, the
/// results of finished steps while applying.
pub trait Resolver {
    /// The output at `path` of resource `urn` (`"id"` is the cloud id), or
    /// [`Value::Unknown`] when it is not known yet.
    fn output(&self, urn: &Urn, path: &str) -> Value;
}

type ApplyFn = Arc<dyn Fn(Vec<Value>) -> Value + Send + Sync>;

/// An untyped input expression: a tree of plain values and references to
/// other resources' outputs.
#[derive(Clone)]
pub enum Expr {
    /// A plain value.
    Value(Value),
    /// The output `path` of resource `urn`.
    Ref {
        /// Which resource.
        urn: Urn,
        /// Which output (`"id"` or a dotted path).
        path: Arc<str>,
    },
    /// A list of expressions.
    List(Vec<Expr>),
    /// A map of expressions.
    Map(BTreeMap<String, Expr>),
    /// A function of other expressions, run once they are all known.
    Apply(Vec<Expr>, ApplyFn),
    /// The inner value, marked secret.
    Secret(Box<Expr>),
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Value(v) => write!(f, "{v}"),
            Expr::Ref { urn, path } => write!(f, "{urn}.{path}"),
            Expr::List(l) => f.debug_list().entries(l).finish(),
            Expr::Map(m) => f.debug_map().entries(m).finish(),
            Expr::Apply(a, _) => write!(f, "apply{a:?}"),
            Expr::Secret(_) => f.write_str("[secret]"),
        }
    }
}

impl Expr {
    /// Resolves against known outputs. Anything that reads an unknown output
    /// becomes [`Value::Unknown`]; secrets stay marked.
    pub fn resolve(&self, r: &dyn Resolver) -> Value {
        match self {
            Expr::Value(v) => v.clone(),
            Expr::Ref { urn, path } => r.output(urn, path),
            Expr::List(l) => Value::List(l.iter().map(|e| e.resolve(r)).collect()),
            Expr::Map(m) => Value::Map(m.iter().map(|(k, e)| (k.clone(), e.resolve(r))).collect()),
            Expr::Secret(e) => match e.resolve(r) {
                Value::Unknown => Value::Unknown,
                v @ Value::Secret(_) => v,
                v => Value::Secret(Box::new(v)),
            },
            Expr::Apply(args, f) => {
                let vals: Vec<Value> = args.iter().map(|e| e.resolve(r)).collect();
                if vals.iter().any(Value::contains_unknown) {
                    return Value::Unknown;
                }
                let secret = vals.iter().any(Value::contains_secret);
                let plain = vals.into_iter().map(|v| v.unwrap_secrets().0).collect();
                let out = f(plain);
                if secret {
                    Value::Secret(Box::new(out))
                } else {
                    out
                }
            }
        }
    }

    /// Adds every resource this expression reads to `deps`.
    pub fn collect_deps(&self, deps: &mut Vec<Urn>) {
        match self {
            Expr::Value(_) => {}
            Expr::Ref { urn, .. } => {
                if !deps.contains(urn) {
                    deps.push(urn.clone())
                }
            }
            Expr::List(l) => l.iter().for_each(|e| e.collect_deps(deps)),
            Expr::Map(m) => m.values().for_each(|e| e.collect_deps(deps)),
            Expr::Apply(a, _) => a.iter().for_each(|e| e.collect_deps(deps)),
            Expr::Secret(e) => e.collect_deps(deps),
        }
    }

    /// The expression if it is a plain value with no references.
    pub fn as_value(&self) -> Option<&Value> {
        match self {
            Expr::Value(v) => Some(v),
            _ => None,
        }
    }
}

impl From<Value> for Expr {
    fn from(v: Value) -> Expr {
        Expr::Value(v)
    }
}

/// A value of type `T` that may only be known once other resources exist.
///
/// ```
/// use iac_core::{Output, Value};
/// let port: Output<u16> = Output::known(8080);
/// let url = port.map(|p| format!("http://localhost:{p}"));
/// # let _ = url;
/// ```
pub struct Output<T> {
    expr: Expr,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Output<T> {
    fn clone(&self) -> Self {
        Output { expr: self.expr.clone(), _t: PhantomData }
    }
}

impl<T> fmt::Debug for Output<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Output({:?})", self.expr)
    }
}

impl<T> Output<T> {
    /// An output of a resource's property. Resource types use this to build
    /// their typed outputs; stack authors get outputs from registration.
    pub fn from_ref(urn: &Urn, path: &str) -> Output<T> {
        Output { expr: Expr::Ref { urn: urn.clone(), path: Arc::from(path) }, _t: PhantomData }
    }

    /// Wraps an untyped expression. The caller vouches that it yields a `T`.
    pub fn from_expr(expr: Expr) -> Output<T> {
        Output { expr, _t: PhantomData }
    }

    /// The untyped expression.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The same value, marked secret: encrypted in state, masked in output.
    pub fn secret(self) -> Output<T> {
        Output { expr: Expr::Secret(Box::new(self.expr)), _t: PhantomData }
    }

    /// The resources this output reads.
    pub fn deps(&self) -> Vec<Urn> {
        let mut d = Vec::new();
        self.expr.collect_deps(&mut d);
        d
    }
}

impl<T: Serialize> Output<T> {
    /// An output whose value is already known.
    pub fn known(v: T) -> Output<T> {
        Output { expr: Expr::Value(Value::from_serialize(&v)), _t: PhantomData }
    }
}

fn decode<T: DeserializeOwned>(v: Value) -> Option<T> {
    v.to_plain_json().and_then(|j| serde_json::from_value(j).ok())
}

impl<T: DeserializeOwned + 'static> Output<T> {
    /// Transforms the value once it is known.
    pub fn map<U: Serialize + 'static>(&self, f: impl Fn(T) -> U + Send + Sync + 'static) -> Output<U> {
        Output {
            expr: Expr::Apply(
                vec![self.expr.clone()],
                Arc::new(move |mut v| match decode::<T>(v.pop().unwrap_or_default()) {
                    Some(t) => Value::from_serialize(&f(t)),
                    None => Value::Null,
                }),
            ),
            _t: PhantomData,
        }
    }

    /// Combines two outputs into one.
    pub fn zip<U: DeserializeOwned + Serialize + 'static>(&self, other: &Output<U>) -> Output<(T, U)>
    where
        T: Serialize,
    {
        Output {
            expr: Expr::Apply(
                vec![self.expr.clone(), other.expr.clone()],
                Arc::new(|v| {
                    let mut it = v.into_iter();
                    let (a, b) = (it.next().unwrap_or_default(), it.next().unwrap_or_default());
                    Value::List(vec![a, b])
                }),
            ),
            _t: PhantomData,
        }
    }

    /// Combines many outputs of one type into a list.
    pub fn all(outputs: impl IntoIterator<Item = Output<T>>) -> Output<Vec<T>> {
        Output {
            expr: Expr::Apply(outputs.into_iter().map(|o| o.expr).collect(), Arc::new(Value::List)),
            _t: PhantomData,
        }
    }
}

/// An input that is either a plain value or another resource's output.
///
/// Every input field of a resource builder is an `Input<T>`, so it takes
/// either: `.cidr_block("10.0.0.0/16")` or `.vpc_id(vpc.id.clone())`.
pub enum Input<T> {
    /// A value known now.
    Value(T),
    /// A value from another resource.
    Output(Output<T>),
}

impl<T: Clone> Clone for Input<T> {
    fn clone(&self) -> Self {
        match self {
            Input::Value(v) => Input::Value(v.clone()),
            Input::Output(o) => Input::Output(o.clone()),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Input<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Value(v) => v.fmt(f),
            Input::Output(o) => o.fmt(f),
        }
    }
}

impl<T> Input<T> {
    /// The plain value, if known now (validation checks only those).
    pub fn value(&self) -> Option<&T> {
        match self {
            Input::Value(v) => Some(v),
            Input::Output(_) => None,
        }
    }
}

impl<T: Serialize> Input<T> {
    /// The input as an expression.
    pub fn to_expr(&self) -> Expr {
        match self {
            Input::Value(v) => Expr::Value(Value::from_serialize(v)),
            Input::Output(o) => o.expr.clone(),
        }
    }
}

impl<T> From<Output<T>> for Input<T> {
    fn from(o: Output<T>) -> Self {
        Input::Output(o)
    }
}
impl<T> From<&Output<T>> for Input<T> {
    fn from(o: &Output<T>) -> Self {
        Input::Output(o.clone())
    }
}
impl<'a, T: From<&'a str>> From<&'a str> for Input<T> {
    fn from(s: &'a str) -> Self {
        Input::Value(T::from(s))
    }
}
impl From<&String> for Input<String> {
    fn from(s: &String) -> Self {
        Input::Value(s.clone())
    }
}
impl From<Output<&'static str>> for Input<String> {
    fn from(o: Output<&'static str>) -> Self {
        Input::Output(Output::from_expr(o.expr))
    }
}
macro_rules! input_from_plain {
    ($($t:ty),*) => {$(
        impl From<$t> for Input<$t> { fn from(v: $t) -> Self { Input::Value(v) } }
    )*};
}
input_from_plain!(String, bool, i64, i32, u32, u16, u8, f64, Value);
impl<T> From<Vec<T>> for Input<Vec<T>> {
    fn from(v: Vec<T>) -> Self {
        Input::Value(v)
    }
}
impl<T> From<BTreeMap<String, T>> for Input<BTreeMap<String, T>> {
    fn from(v: BTreeMap<String, T>) -> Self {
        Input::Value(v)
    }
}

/// Marks a typed identifier: a string underneath.
pub trait StringId {}

impl<T: StringId> Output<T> {
    /// The id as a plain string output.
    pub fn as_string(&self) -> Output<String> {
        Output::from_expr(self.expr.clone())
    }
}

impl<T: StringId> Input<T> {
    /// The id as a plain string input.
    pub fn as_string(&self) -> Input<String>
    where
        T: Clone + Into<String>,
    {
        match self {
            Input::Value(v) => Input::Value(v.clone().into()),
            Input::Output(o) => Input::Output(o.as_string()),
        }
    }
}

/// Declares a typed cloud identifier: a string newtype usable as an
/// [`Input`], so passing a subnet id where a VPC id is wanted does not compile.
///
/// ```
/// iac_core::typed_id!(
///     /// The id of a widget.
///     WidgetId
/// );
/// let id = WidgetId::from("w-123");
/// assert_eq!(id.as_str(), "w-123");
/// ```
#[macro_export]
macro_rules! typed_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);
        impl $name {
            /// The identifier as a string.
            pub fn as_str(&self) -> &str { &self.0 }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result { f.write_str(&self.0) }
        }
        impl From<&str> for $name { fn from(s: &str) -> Self { $name(s.to_owned()) } }
        impl From<String> for $name { fn from(s: String) -> Self { $name(s) } }
        impl From<$name> for String { fn from(s: $name) -> String { s.0 } }
        impl From<$name> for $crate::Input<$name> { fn from(v: $name) -> Self { $crate::Input::Value(v) } }
        impl $crate::output::StringId for $name {}
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Known;
    impl Resolver for Known {
        fn output(&self, urn: &Urn, path: &str) -> Value {
            if urn.as_str() == "a" {
                Value::from(format!("{path}-of-a"))
            } else {
                Value::Unknown
            }
        }
    }

    #[test]
    fn map_zip_all_resolve_and_propagate_unknowns() {
        let a: Output<String> = Output::from_ref(&Urn::new("a"), "id");
        let b: Output<String> = Output::from_ref(&Urn::new("b"), "id");
        assert_eq!(a.map(|s| s.len()).expr().resolve(&Known), Value::Int(7));
        assert_eq!(a.zip(&b).expr().resolve(&Known), Value::Unknown);
        let all = Output::all([a.clone(), a.clone()]);
        assert_eq!(all.expr().resolve(&Known), Value::from(vec!["id-of-a", "id-of-a"]));
        assert_eq!(all.deps(), vec![Urn::new("a")]);
    }

    #[test]
    fn secrets_propagate_through_map() {
        let s = Output::known("pw".to_string()).secret();
        let v = s.map(|p| format!("postgres://u:{p}@h")).expr().resolve(&Known);
        assert!(matches!(v, Value::Secret(_)));
    }
}
