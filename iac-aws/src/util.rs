//! Small helpers every handler uses: reading inputs, tags, waiting.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use iac_core::provider::{FindRequest, ReadResult};
use iac_core::{Expr, Input, ProviderError, Urn, Value};
use serde::Serialize;

/// The tag naming the stack a resource belongs to.
pub const TAG_STACK: &str = "iac:stack";
/// The tag naming a resource's identity in its stack.
pub const TAG_NAME: &str = "iac:name";

/// Typed access to a resource's resolved inputs (secrets revealed: the
/// caller sends them to AWS and nowhere else).
#[derive(Clone, Copy)]
pub struct In<'a> {
    v: &'a Value,
    op: &'a str,
}

impl<'a> In<'a> {
    /// Wraps the inputs of `op`.
    pub fn new(v: &'a Value, op: &'a str) -> In<'a> {
        In { v, op }
    }

    fn get(&self, key: &str) -> &'a Value {
        match self.v.get(key) {
            Value::Secret(inner) => inner,
            v => v,
        }
    }

    /// The raw value of an input (secret revealed; null when unset).
    pub fn value(&self, key: &str) -> &'a Value {
        self.get(key)
    }

    /// A required string.
    pub fn str(&self, key: &str) -> Result<&'a str, ProviderError> {
        self.get(key).as_str().ok_or_else(|| ProviderError::fatal(self.op, format!("input `{key}` is missing")))
    }

    /// An optional string.
    pub fn opt_str(&self, key: &str) -> Option<&'a str> {
        self.get(key).as_str()
    }

    /// An optional boolean.
    pub fn opt_bool(&self, key: &str) -> Option<bool> {
        self.get(key).as_bool()
    }

    /// A boolean, `false` when unset.
    pub fn bool(&self, key: &str) -> bool {
        self.opt_bool(key).unwrap_or(false)
    }

    /// An optional integer.
    pub fn opt_i64(&self, key: &str) -> Option<i64> {
        match self.get(key) {
            Value::Int(i) => Some(*i),
            Value::Float(f) => Some(*f as i64),
            _ => None,
        }
    }

    /// An optional integer as `i32`.
    pub fn opt_i32(&self, key: &str) -> Option<i32> {
        self.opt_i64(key).map(|i| i as i32)
    }

    /// A list of strings (empty when unset).
    pub fn strs(&self, key: &str) -> Vec<String> {
        self.get(key)
            .as_list()
            .map(|l| l.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }

    /// A nested value (plain JSON, secrets revealed), `None` when unset.
    pub fn json(&self, key: &str) -> Option<serde_json::Value> {
        let v = self.get(key);
        if v.is_empty_like() {
            None
        } else {
            v.to_plain_json()
        }
    }

    /// The user's tags (without identity tags).
    pub fn tags(&self) -> BTreeMap<String, String> {
        self.get("tags")
            .as_map()
            .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned()))).collect())
            .unwrap_or_default()
    }
}

/// The tags to put on a resource: the user's (stack defaults included) plus
/// the identity tags that let a crashed run's resource be found again.
pub fn tags_with_identity(inputs: &Value, stack: &str, urn: &Urn) -> BTreeMap<String, String> {
    let mut t = In::new(inputs, "tags").tags();
    t.insert(TAG_STACK.to_owned(), stack.to_owned());
    t.insert(TAG_NAME.to_owned(), urn.to_string());
    t
}

/// Tags read from AWS, as an input value: identity and AWS-internal tags
/// dropped so they never show as a diff.
pub fn tags_value<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    Value::Map(
        tags.into_iter()
            .filter(|(k, _)| !k.starts_with("iac:") && !k.starts_with("aws:"))
            .map(|(k, v)| (k.to_owned(), Value::from(v)))
            .collect(),
    )
}

/// What a find by a natural key AWS keeps unique (a name, or for an
/// untaggable resource what it is) answers: the one resource holding the
/// key, unless the state already records it. No other resource can hold
/// the key, so there is then nothing to find.
pub fn unless_known(req: &FindRequest, found: Option<ReadResult>) -> Option<ReadResult> {
    found.filter(|f| !req.is_known(&f.id))
}

/// Builds an input or output map, dropping unset values.
pub fn map<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Map(pairs.into_iter().filter(|(_, v)| !v.is_empty_like()).map(|(k, v)| (k.to_owned(), v)).collect())
}

/// An optional input as an expression (null when unset).
pub fn opt_expr<T: Serialize>(i: Option<&Input<T>>) -> Expr {
    i.map_or(Expr::Value(Value::Null), Input::to_expr)
}

/// A list of inputs (each a value or another resource's output) as an
/// expression; null when empty, so an empty list and an unset one agree.
pub fn list_expr<T: Serialize>(items: &[Input<T>]) -> Expr {
    if items.is_empty() {
        Expr::Value(Value::Null)
    } else {
        Expr::List(items.iter().map(Input::to_expr).collect())
    }
}

/// A list read from AWS, in the order the user recorded it when it holds
/// the same items: AWS returns sets (subnets, groups) in its own order,
/// which is not a change.
pub fn ordered_like(read: Vec<String>, recorded: &Value) -> Value {
    let rec: Vec<&str> = recorded.as_list().map(|l| l.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let mut a: Vec<&str> = read.iter().map(String::as_str).collect();
    let mut b = rec.clone();
    a.sort_unstable();
    b.sort_unstable();
    if a == b {
        Value::from(rec.into_iter().map(str::to_owned).collect::<Vec<_>>())
    } else {
        Value::from(read)
    }
}

/// Keeps the recorded value for keys AWS never returns (passwords,
/// write-only settings), so they read back unchanged.
pub fn keep_write_only(read: &mut Value, recorded: &Value, keys: &[&str]) {
    if let (Value::Map(r), Value::Map(old)) = (read, recorded) {
        for k in keys {
            if let Some(v) = old.get(*k) {
                r.insert((*k).to_owned(), v.clone());
            }
        }
    }
}

/// Drops from a read-back description the inputs AWS chooses when they are
/// left unset (a subnet's zone, say): if the user did not set them, AWS's
/// choice is not a change.
pub fn drop_computed_when_unset(read: &mut Value, recorded: &Value, keys: &[&str]) {
    if let Value::Map(r) = read {
        for k in keys {
            if recorded.get(k).is_empty_like() {
                r.remove(*k);
            }
        }
    }
}

/// Polls `check` until it yields a value, the timeout passes (an error naming
/// `what`), or it fails. Backs off from 1 s to 15 s between polls.
pub async fn wait_for<T, F, Fut>(
    what: &str,
    timeout: Option<Duration>,
    default: Duration,
    mut check: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, ProviderError>>,
{
    let deadline = Instant::now() + timeout.unwrap_or(default);
    let mut delay = Duration::from_millis(250);
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            return Err(ProviderError::fatal(
                "wait",
                format!(
                    "{what}: not ready after {}s (raise the resource's timeout if this is expected)",
                    timeout.unwrap_or(default).as_secs()
                ),
            ));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(15));
    }
}
