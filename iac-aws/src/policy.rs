//! IAM policy documents as typed builders, for roles, managed policies and
//! resource policies (buckets, keys, …).
//!
//! A document is lowered to a *canonical* value once its references are
//! known: one-element and many-element lists alike become sorted lists, and
//! map keys are ordered, so a re-ordered document, or AWS's own rewriting of
//! one (`"Action": "s3:GetObject"` for `["s3:GetObject"]`), is not a diff.

use std::sync::Arc;

use iac_core::{Checks, Expr, Input, Value};

/// The policy language version every document uses.
pub const VERSION: &str = "2012-10-17";

/// A policy document: a list of statements.
///
/// ```
/// use iac_aws::policy::{PolicyDocument, Principal, Statement};
/// // A trust policy letting ECS tasks assume a role.
/// let trust = PolicyDocument::new().statement(
///     Statement::builder()
///         .actions(["sts:AssumeRole"])
///         .principals(vec![Principal::Service("ecs-tasks.amazonaws.com".into())])
///         .build(),
/// );
/// // Read access to one bucket's objects.
/// let read = PolicyDocument::new().statement(
///     Statement::builder()
///         .sid("ReadData")
///         .actions(["s3:GetObject", "s3:ListBucket"])
///         .resources(vec!["arn:aws:s3:::data".into(), "arn:aws:s3:::data/*".into()])
///         .build(),
/// );
/// # let _ = (trust, read);
/// ```
#[derive(Clone, Debug, Default)]
pub struct PolicyDocument {
    /// The statements, in order.
    pub statements: Vec<Statement>,
}

/// Allow or deny.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Effect {
    /// Allow what the statement names.
    #[default]
    Allow,
    /// Deny it, whatever else allows it.
    Deny,
}

/// Who a statement is about (trust and resource policies).
#[derive(Clone, Debug)]
pub enum Principal {
    /// Everyone (`"*"`).
    Any,
    /// An account, user or role ARN (or account id).
    Aws(Input<String>),
    /// An AWS service (`ecs-tasks.amazonaws.com`).
    Service(String),
    /// A federated identity provider (an OIDC provider's ARN).
    Federated(Input<String>),
}

/// A condition: `test` (`StringEquals`, `ArnLike`, …) on `variable`
/// (`aws:SourceAccount`, …) against `values`.
#[derive(Clone, Debug, bon::Builder)]
pub struct Condition {
    /// The operator.
    #[builder(into)]
    pub test: String,
    /// The context key.
    #[builder(into)]
    pub variable: String,
    /// The values (any one matches).
    pub values: Vec<Input<String>>,
}

/// One statement of a [`PolicyDocument`].
#[derive(Clone, Debug, bon::Builder)]
pub struct Statement {
    /// An optional statement id.
    #[builder(into)]
    pub sid: Option<String>,
    /// Allow (the default) or deny.
    #[builder(default)]
    pub effect: Effect,
    /// Actions (`s3:GetObject`, `ecr:*`).
    #[builder(default, with = |items: impl IntoIterator<Item = impl Into<String>>| items.into_iter().map(Into::into).collect())]
    pub actions: Vec<String>,
    /// Every action but these.
    #[builder(default, with = |items: impl IntoIterator<Item = impl Into<String>>| items.into_iter().map(Into::into).collect())]
    pub not_actions: Vec<String>,
    /// Resource ARNs (values or other resources' outputs).
    #[builder(default)]
    pub resources: Vec<Input<String>>,
    /// Every resource but these.
    #[builder(default)]
    pub not_resources: Vec<Input<String>>,
    /// Principals (trust and resource policies only).
    #[builder(default)]
    pub principals: Vec<Principal>,
    /// Conditions, all of which must hold.
    #[builder(default)]
    pub conditions: Vec<Condition>,
}

/// What a document is for, which decides what its statements must name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    /// Attached to a role or user: no principals, resources required.
    Identity,
    /// A role's trust policy: principals and `sts:` actions, no resources.
    Trust,
    /// On a resource (bucket, key, …): principals required.
    Resource,
}

impl PolicyDocument {
    /// An empty document.
    pub fn new() -> PolicyDocument {
        PolicyDocument::default()
    }

    /// Adds a statement.
    pub fn statement(mut self, s: Statement) -> PolicyDocument {
        self.statements.push(s);
        self
    }

    /// The document as an input expression, canonical once resolved.
    pub fn to_expr(&self) -> Expr {
        let statements = Expr::List(self.statements.iter().map(Statement::to_expr).collect());
        let doc = Expr::Map(
            [("Version".to_owned(), Expr::Value(VERSION.into())), ("Statement".to_owned(), statements)].into(),
        );
        Expr::Apply(vec![doc], Arc::new(|mut v| canonical(v.pop().unwrap_or(Value::Null))))
    }

    /// Checks the document for `kind`, reporting problems on `field`.
    pub fn validate(&self, c: &mut Checks, field: &str, kind: PolicyKind) {
        c.check(!self.statements.is_empty(), field, || "a policy needs at least one statement".into());
        for (n, s) in self.statements.iter().enumerate() {
            let at = format!("{field}.Statement[{n}]");
            c.check(!s.actions.is_empty() || !s.not_actions.is_empty(), &at, || "names no actions".into());
            for a in s.actions.iter().chain(&s.not_actions) {
                c.check(
                    a == "*" || a.split_once(':').is_some_and(|(svc, op)| !svc.is_empty() && !op.is_empty()),
                    &at,
                    || format!("`{a}` is not an action like s3:GetObject"),
                );
            }
            match kind {
                PolicyKind::Identity => {
                    c.check(s.principals.is_empty(), &at, || "an identity policy names no principals".into());
                    c.check(!s.resources.is_empty() || !s.not_resources.is_empty(), &at, || {
                        "names no resources".into()
                    });
                }
                PolicyKind::Trust => {
                    c.check(!s.principals.is_empty(), &at, || "a trust policy statement needs a principal".into());
                    c.check(s.resources.is_empty(), &at, || "a trust policy names no resources".into());
                    for a in &s.actions {
                        c.check(a.starts_with("sts:"), &at, || {
                            format!("`{a}`: a trust policy allows sts: actions only")
                        });
                    }
                }
                PolicyKind::Resource => {
                    c.check(!s.principals.is_empty(), &at, || "a resource policy statement needs a principal".into());
                }
            }
            if let Some(sid) = &s.sid {
                c.check(sid.chars().all(|ch| ch.is_ascii_alphanumeric()), &at, || {
                    format!("Sid `{sid}` may hold letters and digits only")
                });
                if self.statements[..n].iter().any(|o| o.sid.as_deref() == Some(sid)) {
                    c.fail(at, format!("Sid `{sid}` is used twice"));
                }
            }
        }
    }
}

impl Statement {
    fn to_expr(&self) -> Expr {
        let strs = |v: &[String]| Expr::List(v.iter().map(|s| Expr::Value(s.as_str().into())).collect());
        let inputs = |v: &[Input<String>]| Expr::List(v.iter().map(Input::to_expr).collect());
        let mut m = std::collections::BTreeMap::new();
        if let Some(sid) = &self.sid {
            m.insert("Sid".to_owned(), Expr::Value(sid.as_str().into()));
        }
        let effect = match self.effect {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        };
        m.insert("Effect".to_owned(), Expr::Value(effect.into()));
        for (k, v) in [("Action", strs(&self.actions)), ("NotAction", strs(&self.not_actions))] {
            if matches!(&v, Expr::List(l) if !l.is_empty()) {
                m.insert(k.to_owned(), v);
            }
        }
        for (k, v) in [("Resource", inputs(&self.resources)), ("NotResource", inputs(&self.not_resources))] {
            if matches!(&v, Expr::List(l) if !l.is_empty()) {
                m.insert(k.to_owned(), v);
            }
        }
        if self.principals.iter().any(|p| matches!(p, Principal::Any)) {
            m.insert("Principal".to_owned(), Expr::Value("*".into()));
        } else if !self.principals.is_empty() {
            let mut by_kind: std::collections::BTreeMap<String, Vec<Expr>> = Default::default();
            for p in &self.principals {
                let (k, e) = match p {
                    Principal::Any => continue,
                    Principal::Aws(a) => ("AWS", a.to_expr()),
                    Principal::Service(s) => ("Service", Expr::Value(s.as_str().into())),
                    Principal::Federated(f) => ("Federated", f.to_expr()),
                };
                by_kind.entry(k.to_owned()).or_default().push(e);
            }
            m.insert("Principal".to_owned(), Expr::Map(by_kind.into_iter().map(|(k, v)| (k, Expr::List(v))).collect()));
        }
        if !self.conditions.is_empty() {
            let mut by_test: std::collections::BTreeMap<String, std::collections::BTreeMap<String, Expr>> =
                Default::default();
            for c in &self.conditions {
                by_test.entry(c.test.clone()).or_default().insert(c.variable.clone(), inputs(&c.values));
            }
            m.insert("Condition".to_owned(), Expr::Map(by_test.into_iter().map(|(k, v)| (k, Expr::Map(v))).collect()));
        }
        Expr::Map(m)
    }
}

/// A policy document (as a value) in canonical form: `Statement` a list;
/// actions, resources, principals and condition values sorted lists; empty
/// `Sid`s dropped. Applied to what the program declares and to what AWS
/// returns, so the two compare equal when they mean the same.
pub fn canonical(doc: Value) -> Value {
    let Value::Map(mut m) = doc else { return doc };
    let statements = match m.remove("Statement") {
        Some(Value::List(l)) => l,
        Some(v @ Value::Map(_)) => vec![v],
        _ => Vec::new(),
    };
    m.insert("Statement".into(), Value::List(statements.into_iter().map(canonical_statement).collect()));
    m.entry("Version".into()).or_insert_with(|| VERSION.into());
    Value::Map(m)
}

fn sorted_list(v: Value) -> Value {
    let mut items = match v {
        Value::List(l) => l,
        Value::Null => Vec::new(),
        v => vec![v],
    };
    items.sort_by_key(|a| a.to_string());
    items.dedup();
    Value::List(items)
}

fn canonical_statement(s: Value) -> Value {
    let Value::Map(mut m) = s else { return s };
    for k in ["Action", "NotAction", "Resource", "NotResource"] {
        if let Some(v) = m.remove(k) {
            m.insert(k.into(), sorted_list(v));
        }
    }
    if m.get("Sid").and_then(Value::as_str) == Some("") {
        m.remove("Sid");
    }
    for k in ["Principal", "NotPrincipal"] {
        match m.remove(k) {
            Some(Value::Map(p)) => {
                m.insert(k.into(), Value::Map(p.into_iter().map(|(k, v)| (k, sorted_list(v))).collect()));
            }
            Some(v) => {
                m.insert(k.into(), v);
            }
            None => {}
        }
    }
    if let Some(Value::Map(c)) = m.remove("Condition") {
        let c = c
            .into_iter()
            .map(|(test, vars)| match vars {
                Value::Map(vars) => (test, Value::Map(vars.into_iter().map(|(k, v)| (k, sorted_list(v))).collect())),
                v => (test, v),
            })
            .collect();
        m.insert("Condition".into(), Value::Map(c));
    }
    Value::Map(m)
}

/// Parses a policy document AWS returned (IAM answers URL-encoded JSON;
/// other services plain JSON) into its canonical value.
pub fn parse(text: &str) -> Option<Value> {
    let decoded;
    let json = if text.trim_start().starts_with('{') {
        text
    } else {
        decoded = percent_encoding::percent_decode_str(text).decode_utf8().ok()?;
        decoded.as_ref()
    };
    let j: serde_json::Value = serde_json::from_str(json).ok()?;
    Some(canonical(Value::from_json(&j)))
}

/// A resolved document as the JSON text AWS takes, in the compact form AWS
/// itself writes: a one-element list of actions, resources or principals as
/// a plain string (some services, and the emulator, match those literally).
pub fn to_json(doc: &Value) -> Option<String> {
    let mut j = doc.to_plain_json()?;
    if let Some(statements) = j.get_mut("Statement").and_then(serde_json::Value::as_array_mut) {
        for s in statements {
            for k in ["Action", "NotAction", "Resource", "NotResource"] {
                compact(s.get_mut(k));
            }
            for k in ["Principal", "NotPrincipal"] {
                if let Some(p) = s.get_mut(k).and_then(serde_json::Value::as_object_mut) {
                    p.values_mut().for_each(|v| compact(Some(v)));
                }
            }
        }
    }
    Some(j.to_string())
}

fn compact(v: Option<&mut serde_json::Value>) {
    if let Some(v) = v {
        if let Some([only]) = v.as_array().map(Vec::as_slice) {
            *v = only.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reordered_or_rewritten_document_is_the_same_value() {
        let a = parse(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":["arn:b","arn:a"],"Principal":{"AWS":"arn:aws:iam::1:root"}}}"#).unwrap();
        let b = parse(r#"{"Statement":[{"Principal":{"AWS":["arn:aws:iam::1:root"]},"Resource":["arn:a","arn:b"],"Action":["s3:GetObject"],"Effect":"Allow","Sid":""}],"Version":"2012-10-17"}"#).unwrap();
        assert_eq!(a, b);
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%5B%22arn%3Aa%22%2C%22arn%3Ab%22%5D%2C%22Principal%22%3A%7B%22AWS%22%3A%22arn%3Aaws%3Aiam%3A%3A1%3Aroot%22%7D%7D%7D";
        assert_eq!(parse(encoded).unwrap(), a, "IAM's URL-encoded answer");
    }

    #[test]
    fn the_builder_lowers_to_the_canonical_form() {
        let doc = PolicyDocument::new().statement(
            Statement::builder()
                .actions(["s3:PutObject", "s3:GetObject"])
                .resources(vec!["arn:b".into(), "arn:a".into()])
                .principals(vec![Principal::Any])
                .build(),
        );
        struct NoRefs;
        impl iac_core::output::Resolver for NoRefs {
            fn output(&self, _: &iac_core::Urn, _: &str) -> Value {
                Value::Unknown
            }
        }
        let v = doc.to_expr().resolve(&NoRefs);
        let parsed = parse(&to_json(&v).unwrap()).unwrap();
        assert_eq!(v, parsed, "what we send reads back equal");
        assert_eq!(
            v.get("Statement").as_list().unwrap()[0].get("Action").as_list().unwrap()[0].as_str(),
            Some("s3:GetObject")
        );
        assert_eq!(v.get("Statement").as_list().unwrap()[0].get("Principal").as_str(), Some("*"));
    }
}
