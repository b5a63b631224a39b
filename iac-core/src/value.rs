//! The dynamic property value the engine diffs, stores and shows.
//!
//! Typed resource inputs are lowered to [`Value`] trees when a resource is
//! registered, so the engine can plan and diff any resource type without
//! knowing it. Maps are ordered by key ([`BTreeMap`]), which makes every
//! document canonical: a re-ordered map is never a diff.

use std::collections::BTreeMap;
use std::fmt;

/// A property value: JSON plus two markers, `Secret` and `Unknown`.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    /// Absent or null.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    String(String),
    /// An ordered list.
    List(Vec<Value>),
    /// A map with keys in canonical (sorted) order.
    Map(BTreeMap<String, Value>),
    /// A value that is encrypted at rest and masked in every output.
    Secret(Box<Value>),
    /// A value that is only known after apply (preview only; never stored).
    Unknown,
}

impl Value {
    /// An empty map.
    pub fn map() -> Value {
        Value::Map(BTreeMap::new())
    }

    /// Marks as secret every value of `self` that sits where `template`
    /// holds a secret, at any depth (map keys and list positions): what a
    /// cloud reads back is plaintext, and must be sealed again wherever the
    /// program said it was secret.
    ///
    /// ```
    /// use iac_core::Value;
    /// let mut read = Value::from_json(&serde_json::json!({"db": {"password": "hunter2", "port": 5432}}));
    /// let sent = Value::from_json(&serde_json::json!({"db": {"port": 5432}}));
    /// let mut sent = sent;
    /// if let Value::Map(m) = &mut sent {
    ///     if let Some(Value::Map(db)) = m.get_mut("db") {
    ///         db.insert("password".into(), Value::Secret(Box::new("hunter2".into())));
    ///     }
    /// }
    /// read.mark_secrets_like(&sent);
    /// assert!(matches!(read.get("db").get("password"), Value::Secret(_)));
    /// ```
    pub fn mark_secrets_like(&mut self, template: &Value) {
        match (template, &mut *self) {
            (_, Value::Secret(_)) => {}
            (Value::Secret(_), v) => *v = Value::Secret(Box::new(std::mem::take(v))),
            (Value::Map(t), Value::Map(m)) => {
                for (k, v) in m.iter_mut() {
                    if let Some(tv) = t.get(k) {
                        v.mark_secrets_like(tv);
                    }
                }
            }
            (Value::List(t), Value::List(l)) => {
                for (v, tv) in l.iter_mut().zip(t) {
                    v.mark_secrets_like(tv);
                }
            }
            _ => {}
        }
    }

    /// The string inside, if this is a (non-secret) string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer inside, if this is an integer.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The boolean inside, if this is a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The map inside, if this is a map.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The list inside, if this is a list.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// The value at a dotted path (`a.b.0.c`), or `Null`.
    pub fn get_path(&self, path: &str) -> &Value {
        static NULL: Value = Value::Null;
        let mut cur = self;
        for part in path.split('.').filter(|p| !p.is_empty()) {
            let inner = match cur {
                Value::Secret(v) => v.as_ref(),
                v => v,
            };
            cur = match inner {
                Value::Map(m) => m.get(part).unwrap_or(&NULL),
                Value::List(l) => part.parse::<usize>().ok().and_then(|i| l.get(i)).unwrap_or(&NULL),
                _ => return &NULL,
            };
        }
        cur
    }

    /// The value at a key of a map, or `Null`.
    pub fn get(&self, key: &str) -> &Value {
        static NULL: Value = Value::Null;
        match self {
            Value::Map(m) => m.get(key).unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    /// Whether the value is `Unknown` or holds an `Unknown` anywhere.
    pub fn contains_unknown(&self) -> bool {
        match self {
            Value::Unknown => true,
            Value::List(l) => l.iter().any(Value::contains_unknown),
            Value::Map(m) => m.values().any(Value::contains_unknown),
            Value::Secret(v) => v.contains_unknown(),
            _ => false,
        }
    }

    /// Whether the value is a secret or holds one anywhere.
    pub fn contains_secret(&self) -> bool {
        match self {
            Value::Secret(_) => true,
            Value::List(l) => l.iter().any(Value::contains_secret),
            Value::Map(m) => m.values().any(Value::contains_secret),
            _ => false,
        }
    }

    /// The value with every secret marker removed (the plaintext view), and
    /// whether any was removed.
    pub fn unwrap_secrets(&self) -> (Value, bool) {
        match self {
            Value::Secret(v) => (v.unwrap_secrets().0, true),
            Value::List(l) => {
                let mut any = false;
                let l = l
                    .iter()
                    .map(|v| {
                        let (v, s) = v.unwrap_secrets();
                        any |= s;
                        v
                    })
                    .collect();
                (Value::List(l), any)
            }
            Value::Map(m) => {
                let mut any = false;
                let m = m
                    .iter()
                    .map(|(k, v)| {
                        let (v, s) = v.unwrap_secrets();
                        any |= s;
                        (k.clone(), v)
                    })
                    .collect();
                (Value::Map(m), any)
            }
            v => (v.clone(), false),
        }
    }

    /// Converts to JSON for display or machine output: secrets become
    /// `"[secret]"` and unknowns `"(known after apply)"`.
    pub fn to_display_json(&self) -> serde_json::Value {
        match self {
            Value::Secret(_) => serde_json::Value::String(SECRET_MASK.into()),
            Value::Unknown => serde_json::Value::String(UNKNOWN_TEXT.into()),
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => (*i).into(),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into),
            Value::String(s) => s.clone().into(),
            Value::List(l) => l.iter().map(Value::to_display_json).collect(),
            Value::Map(m) => m.iter().map(|(k, v)| (k.clone(), v.to_display_json())).collect(),
        }
    }

    /// Converts plaintext JSON (no markers) to a value.
    pub fn from_json(j: &serde_json::Value) -> Value {
        match j {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => {
                n.as_i64().map(Value::Int).unwrap_or_else(|| Value::Float(n.as_f64().unwrap_or(0.0)))
            }
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(a) => Value::List(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => {
                Value::Map(o.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect())
            }
        }
    }

    /// Converts to plaintext JSON, revealing secrets. `None` if an unknown is
    /// inside. Used to hand values to providers and to typed `map` closures.
    pub fn to_plain_json(&self) -> Option<serde_json::Value> {
        Some(match self {
            Value::Unknown => return None,
            Value::Secret(v) => return v.to_plain_json(),
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => (*i).into(),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into),
            Value::String(s) => s.clone().into(),
            Value::List(l) => l.iter().map(Value::to_plain_json).collect::<Option<Vec<_>>>()?.into(),
            Value::Map(m) => m
                .iter()
                .map(|(k, v)| Some((k.clone(), v.to_plain_json()?)))
                .collect::<Option<serde_json::Map<_, _>>>()?
                .into(),
        })
    }

    /// Builds a value from any serializable Rust value.
    pub fn from_serialize<T: serde::Serialize + ?Sized>(v: &T) -> Value {
        Value::from_json(&serde_json::to_value(v).unwrap_or(serde_json::Value::Null))
    }

    /// Whether the value is `Null`, an empty list or an empty map: all of them
    /// mean "not set" to a cloud API, so they compare equal in a diff.
    pub fn is_empty_like(&self) -> bool {
        match self {
            Value::Null => true,
            Value::List(l) => l.is_empty(),
            Value::Map(m) => m.is_empty(),
            _ => false,
        }
    }
}

/// How a secret is shown everywhere.
pub const SECRET_MASK: &str = "[secret]";
/// How an unknown value is shown in a preview.
pub const UNKNOWN_TEXT: &str = "(known after apply)";

impl fmt::Display for Value {
    /// Compact one-line rendering with secrets masked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Secret(_) => f.write_str(SECRET_MASK),
            Value::Unknown => f.write_str(UNKNOWN_TEXT),
            Value::String(s) => write!(f, "{s:?}"),
            v => write!(f, "{}", v.to_display_json()),
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $v:ident as $c:ty),* $(,)?) => {$(
        impl From<$t> for Value { fn from(x: $t) -> Value { Value::$v(x as $c) } }
    )*};
}
value_from!(bool => Bool as bool, i64 => Int as i64, i32 => Int as i64, u32 => Int as i64, u16 => Int as i64, u8 => Int as i64, usize => Int as i64, f64 => Float as f64);

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}
impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Value {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}
impl<T: Into<Value>> From<BTreeMap<String, T>> for Value {
    fn from(m: BTreeMap<String, T>) -> Value {
        Value::Map(m.into_iter().map(|(k, v)| (k, v.into())).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_masks_secrets_and_unknowns() {
        let v = Value::Map(BTreeMap::from([
            ("a".into(), Value::Secret(Box::new("hunter2".into()))),
            ("b".into(), Value::Unknown),
        ]));
        let s = v.to_string();
        assert!(!s.contains("hunter2"));
        assert!(s.contains(SECRET_MASK) && s.contains(UNKNOWN_TEXT));
    }

    #[test]
    fn paths_reach_into_maps_and_lists() {
        let v = Value::from_json(&serde_json::json!({"a": {"b": [1, {"c": "x"}]}}));
        assert_eq!(v.get_path("a.b.1.c"), &Value::from("x"));
        assert_eq!(v.get_path("a.z"), &Value::Null);
    }
}
