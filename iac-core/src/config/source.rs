//! Where a config value came from, and errors about it in a user's words:
//! the line a key is on, what a program read from the file (so a check that
//! fails on a value taken from config can name the key the user edited),
//! and serde's type errors retold without Rust type names.

use std::ops::Range;

use crate::value::Value;

/// The line (from 1) of dotted key `path` in TOML `text`: of the key itself,
/// or, when it is absent, of the deepest table on its way that is there.
pub(super) fn line_of(text: &str, path: &str) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let parts: Vec<&str> = path.split('.').collect();
    let root = doc.as_table();
    root.get(parts[0])?;
    let span = in_table(root, &parts)?;
    Some(text[..span.start.min(text.len())].matches('\n').count() + 1)
}

fn in_table(t: &toml_edit::Table, parts: &[&str]) -> Option<Range<usize>> {
    let Some((first, rest)) = parts.split_first() else { return t.span() };
    let Some((key, item)) = t.get_key_value(first) else { return t.span() };
    let found = match item {
        toml_edit::Item::Table(t) => in_table(t, rest),
        toml_edit::Item::ArrayOfTables(a) => {
            rest.split_first().and_then(|(i, rest)| a.get(i.parse().ok()?).and_then(|t| in_table(t, rest)))
        }
        toml_edit::Item::Value(v) => in_value(v, rest),
        toml_edit::Item::None => None,
    };
    found.or_else(|| key.span()).or_else(|| item.span())
}

fn in_value(v: &toml_edit::Value, parts: &[&str]) -> Option<Range<usize>> {
    let Some((first, rest)) = parts.split_first() else { return v.span() };
    let inner = match v {
        toml_edit::Value::InlineTable(t) => t.get(first).and_then(|x| in_value(x, rest)),
        toml_edit::Value::Array(a) => first.parse().ok().and_then(|i: usize| a.get(i)).and_then(|x| in_value(x, rest)),
        _ => None,
    };
    inner.or_else(|| v.span())
}

/// Every scalar leaf of a config value with its dotted path under `key`.
pub(super) fn leaves(key: &str, v: &toml::Value, out: &mut Vec<(String, toml::Value)>) {
    match v {
        toml::Value::Table(t) => {
            for (k, x) in t {
                leaves(&format!("{key}.{k}"), x, out);
            }
        }
        toml::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                leaves(&format!("{key}.{i}"), x, out);
            }
        }
        other => out.push((key.to_owned(), other.clone())),
    }
}

/// Whether a value a resource was given is the config leaf `leaf`: equal,
/// and distinctive enough that the match means something (not a boolean,
/// not 0 or 1, not a one-letter string).
pub(super) fn same_value(leaf: &toml::Value, v: &Value) -> bool {
    match (leaf, v) {
        (toml::Value::Integer(a), Value::Int(b)) => a == b && !(-1..=1).contains(a),
        (toml::Value::Float(a), Value::Float(b)) => a == b,
        (toml::Value::Integer(a), Value::Float(b)) => (*a as f64) == *b && !(-1..=1).contains(a),
        (toml::Value::String(a), Value::String(b)) => a == b && a.chars().count() > 1,
        _ => false,
    }
}

/// A serde error about a config value, in plain words: "expected a whole
/// number, found the string \"3k\"" rather than "invalid type: string
/// \"3k\", expected i32".
pub(super) fn plain_words(serde_message: &str) -> String {
    let m = serde_message.trim();
    let m = m.strip_suffix('.').unwrap_or(m);
    if let Some(rest) = m.strip_prefix("unknown variant ") {
        if let Some((got, expected)) = rest.split_once(", expected ") {
            let expected = expected.trim_start_matches("one of ");
            return format!("{got} is not one of {expected}");
        }
    }
    if let Some(rest) = m.strip_prefix("missing field ") {
        return format!("{rest} is missing");
    }
    if let Some(rest) = m.strip_prefix("unknown field ") {
        if let Some((got, expected)) = rest.split_once(", expected ") {
            return format!("{got} is not a setting here (expected {})", expected.trim_start_matches("one of "));
        }
        return format!("{rest} is not a setting here");
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = m.strip_prefix(prefix) {
            if let Some((found, expected)) = rest.split_once(", expected ") {
                return format!("expected {}, found {}", kind(expected), found_words(found));
            }
        }
    }
    m.to_owned()
}

/// A serde "expected" phrase in plain words.
fn kind(expected: &str) -> String {
    let e = expected.trim();
    let words = match e {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number",
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number, 0 or more",
        "f32" | "f64" => "a number",
        "a boolean" | "bool" => "true or false",
        "a string" | "a borrowed string" | "char" | "a character" => "a string",
        "a sequence" => "a list",
        "a map" => "a table",
        _ if e.starts_with("struct ") || e.starts_with("a map") => "a table",
        _ if e.starts_with("a sequence") || e.starts_with("a tuple") => "a list",
        _ if e.starts_with("one of ") || e.starts_with("variant identifier") => {
            return format!("one of {}", e.trim_start_matches("one of "));
        }
        _ if e.starts_with("enum ") => "one of the allowed names",
        _ => e,
    };
    words.to_owned()
}

fn found_words(found: &str) -> String {
    let f = found.trim();
    for (serde, plain) in [("integer ", "the number "), ("floating point ", "the number "), ("string ", "the string ")]
    {
        if let Some(v) = f.strip_prefix(serde) {
            return format!("{plain}{}", v.trim_matches('`'));
        }
    }
    match f {
        "sequence" => "a list".into(),
        "map" => "a table".into(),
        "boolean `true`" | "boolean `false`" => f.trim_start_matches("boolean ").trim_matches('`').to_owned(),
        _ => f.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_errors_read_as_plain_words() {
        assert_eq!(
            plain_words("invalid type: string \"3k\", expected i32"),
            "expected a whole number, found the string \"3k\""
        );
        assert_eq!(
            plain_words("invalid value: integer `-1`, expected u32"),
            "expected a whole number, 0 or more, found the number -1"
        );
        assert_eq!(
            plain_words("invalid type: integer `3`, expected a string"),
            "expected a string, found the number 3"
        );
        assert_eq!(
            plain_words("unknown variant `eu`, expected one of `us-east-1`, `eu-west-1`"),
            "`eu` is not one of `us-east-1`, `eu-west-1`"
        );
        assert_eq!(plain_words("invalid type: sequence, expected struct Function"), "expected a table, found a list");
    }

    #[test]
    fn keys_are_found_on_their_lines() {
        let text =
            "region = \"us-east-1\"\n\n[functions.api]\n# the API handler\nmemory = 3000\n\n[[queues]]\nname = \"a\"\n";
        assert_eq!(line_of(text, "region"), Some(1));
        assert_eq!(line_of(text, "functions.api.memory"), Some(5));
        assert_eq!(line_of(text, "functions.api"), Some(3));
        assert_eq!(line_of(text, "queues.0.name"), Some(8));
        assert_eq!(line_of(text, "absent"), None);
    }
}
