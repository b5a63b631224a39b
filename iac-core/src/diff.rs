//! Property-level diffs between recorded and desired inputs.

use serde::Serialize;

use crate::value::Value;

/// How one property changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiffKind {
    /// Newly set.
    Add,
    /// No longer set.
    Delete,
    /// Changed.
    Update,
}

/// One changed property.
#[derive(Clone, Debug, PartialEq)]
pub struct PropertyDiff {
    /// Dotted path (`tags.Name`, `containers.0.image`).
    pub path: String,
    /// What happened to it.
    pub kind: DiffKind,
    /// The recorded value.
    pub old: Value,
    /// The desired value (may be unknown).
    pub new: Value,
    /// Whether this change forces a replacement.
    pub forces_replace: bool,
}

/// The differences between `old` and `new`, leaf by leaf. Unset, null and
/// empty collections are equal; secrets compare by plaintext.
pub fn diff(old: &Value, new: &Value) -> Vec<PropertyDiff> {
    let mut out = Vec::new();
    walk("", old, new, &mut out);
    out
}

fn plain(v: &Value) -> &Value {
    match v {
        Value::Secret(inner) => plain(inner),
        v => v,
    }
}

fn walk(path: &str, old: &Value, new: &Value, out: &mut Vec<PropertyDiff>) {
    let (o, n) = (plain(old), plain(new));
    if let Value::Unknown = n {
        out.push(PropertyDiff {
            path: path.to_owned(),
            kind: if o.is_empty_like() { DiffKind::Add } else { DiffKind::Update },
            old: old.clone(),
            new: new.clone(),
            forces_replace: false,
        });
        return;
    }
    if o.is_empty_like() && n.is_empty_like() {
        return;
    }
    match (o, n) {
        (Value::Map(om), Value::Map(nm)) => {
            for (k, ov) in om {
                let p = join(path, k);
                walk(&p, ov, nm.get(k).unwrap_or(&Value::Null), out);
            }
            for (k, nv) in nm {
                if !om.contains_key(k) {
                    walk(&join(path, k), &Value::Null, nv, out);
                }
            }
        }
        (Value::List(ol), Value::List(nl)) if ol.len() == nl.len() => {
            for (i, (ov, nv)) in ol.iter().zip(nl).enumerate() {
                walk(&join(path, &i.to_string()), ov, nv, out);
            }
        }
        (Value::Int(a), Value::Float(b)) | (Value::Float(b), Value::Int(a)) if (*a as f64) == *b => {}
        _ if equal_plain(o, n) => {}
        _ => out.push(PropertyDiff {
            path: path.to_owned(),
            kind: if o.is_empty_like() {
                DiffKind::Add
            } else if n.is_empty_like() {
                DiffKind::Delete
            } else {
                DiffKind::Update
            },
            old: old.clone(),
            new: new.clone(),
            forces_replace: false,
        }),
    }
}

/// Whether two values are equal once secret markers are ignored, compared
/// in place (a create compares its whole input tree against nothing).
fn equal_plain(a: &Value, b: &Value) -> bool {
    match (plain(a), plain(b)) {
        (Value::List(x), Value::List(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equal_plain(a, b)),
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((ka, a), (kb, b))| ka == kb && equal_plain(a, b))
        }
        (a, b) => a == b,
    }
}

fn join(path: &str, k: &str) -> String {
    if path.is_empty() {
        k.to_owned()
    } else {
        format!("{path}.{k}")
    }
}

/// Whether `path` lies at or under `prefix` (`tags.Name` is under `tags`).
pub fn path_under(path: &str, prefix: &str) -> bool {
    path == prefix || (path.starts_with(prefix) && path.as_bytes().get(prefix.len()) == Some(&b'.'))
}

/// Replaces the value at `path` in `target` with the one in `source`
/// (used by `ignore_changes`: the recorded value wins).
pub fn overlay(target: &mut Value, source: &Value, path: &str) {
    let parts: Vec<&str> = path.split('.').collect();
    fn go(t: &mut Value, s: &Value, parts: &[&str]) {
        let Some((first, rest)) = parts.split_first() else { return };
        let sv = s.get_path(first).clone();
        if let Value::Secret(inner) = t {
            return go(inner, s, parts);
        }
        match t {
            Value::Map(m) => {
                if rest.is_empty() {
                    if sv.is_empty_like() {
                        m.remove(*first);
                    } else {
                        m.insert((*first).to_owned(), sv);
                    }
                } else {
                    let child = m.entry((*first).to_owned()).or_insert_with(Value::map);
                    go(child, &sv, rest);
                }
            }
            Value::List(l) => {
                if let Some(item) = first.parse::<usize>().ok().and_then(|i| l.get_mut(i)) {
                    if rest.is_empty() {
                        *item = sv;
                    } else {
                        go(item, &sv, rest);
                    }
                }
            }
            _ => {}
        }
    }
    go(target, source, &parts);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(j: serde_json::Value) -> Value {
        Value::from_json(&j)
    }

    #[test]
    fn reordered_maps_and_empty_values_are_not_diffs() {
        let a = v(serde_json::json!({"a": 1, "b": {"x": [1, 2]}, "c": []}));
        let b = v(serde_json::json!({"b": {"x": [1, 2]}, "a": 1}));
        assert!(diff(&a, &b).is_empty());
    }

    #[test]
    fn leaf_paths_are_reported() {
        let a = v(serde_json::json!({"tags": {"Name": "a", "Env": "dev"}}));
        let b = v(serde_json::json!({"tags": {"Name": "b", "Env": "dev", "New": "x"}}));
        let d = diff(&a, &b);
        assert_eq!(d.iter().map(|d| d.path.as_str()).collect::<Vec<_>>(), ["tags.Name", "tags.New"]);
        assert_eq!(d[1].kind, DiffKind::Add);
    }

    #[test]
    fn overlay_keeps_recorded_value() {
        let mut n = v(serde_json::json!({"tags": {"Name": "new"}, "size": 2}));
        let o = v(serde_json::json!({"tags": {"Name": "old"}, "size": 1}));
        overlay(&mut n, &o, "tags.Name");
        assert_eq!(n.get_path("tags.Name"), &Value::from("old"));
        assert!(path_under("tags.Name", "tags") && !path_under("tagsX", "tags"));
    }
}
