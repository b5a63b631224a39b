//! Checks run at preview, before any API call: each names the field and
//! what AWS would reject.

use ipnet::Ipv4Net;

use iac_core::Checks;

/// Parses an IPv4 CIDR block, reporting a malformed one on `field`.
pub fn cidr(c: &mut Checks, field: &str, value: &str) -> Option<Ipv4Net> {
    match value.parse::<Ipv4Net>() {
        Ok(net) if net.network() == net.addr() => Some(net),
        Ok(net) => {
            c.fail(field, format!("`{value}` has host bits set; the block is `{}`", net.trunc()));
            None
        }
        Err(_) => {
            c.fail(field, format!("`{value}` is not an IPv4 CIDR block (like 10.0.0.0/16)"));
            None
        }
    }
}

/// An AWS-style name: not empty, `max` characters at most, each one
/// `allowed` (`rule` says which, in the error).
pub fn name(c: &mut Checks, field: &str, value: &str, max: usize, allowed: fn(char) -> bool, rule: &str) {
    if value.is_empty() {
        c.fail(field, "must not be empty");
    } else if value.len() > max {
        c.fail(field, format!("`{value}` is {} characters; the limit is {max}", value.len()));
    } else if !value.chars().all(allowed) {
        c.fail(field, format!("`{value}` is not allowed: {rule}"));
    }
}

/// The memory values (MiB) Fargate accepts with a CPU value (CPU units, 1024
/// = 1 vCPU), or `None` for a CPU value Fargate does not offer. ECS tasks
/// and Batch jobs on Fargate share these pairs.
pub fn fargate_memory_options(cpu: u32) -> Option<Vec<u32>> {
    let (lo, hi, step) = match cpu {
        256 => return Some(vec![512, 1024, 2048]),
        512 => (1024, 4096, 1024),
        1024 => (2048, 8192, 1024),
        2048 => (4096, 16384, 1024),
        4096 => (8192, 30720, 1024),
        8192 => (16384, 61440, 4096),
        16384 => (32768, 122880, 8192),
        _ => return None,
    };
    Some((lo..=hi).step_by(step).collect())
}

/// How the memory values Fargate accepts with a CPU value read in a message.
pub fn fargate_memory_rule(cpu: u32) -> String {
    match cpu {
        256 => "512, 1024 or 2048 MiB".into(),
        _ => {
            let opts = fargate_memory_options(cpu).unwrap_or_default();
            let (lo, hi) = (opts.first().copied().unwrap_or(0), opts.last().copied().unwrap_or(0));
            let step = opts.get(1).map_or(0, |s| s - lo);
            format!("{lo} to {hi} MiB in steps of {step}")
        }
    }
}

/// A string input's value when the program knows it at preview: a plain
/// value, or a secret or plain config value (never another resource's
/// output). For checks of secrets in memory: callers never print it.
pub fn known_str(input: &iac_core::Input<String>) -> Option<&str> {
    use iac_core::{Expr, Input, Value};
    match input {
        Input::Value(t) => Some(t.as_str()),
        Input::Output(o) => match o.expr() {
            Expr::Secret(inner) => inner.as_value().and_then(Value::as_str),
            e => e.as_value().and_then(Value::as_str),
        },
    }
}

/// Resources of `type_token` whose plain `field` input is the same name as
/// another's: AWS keeps one such name per account and region, so the
/// second create would fail (or two generated names were cut to one).
/// `fold` compares as AWS does when it stores names in lowercase.
pub fn unique_names(
    g: &iac_core::graph::Graph,
    type_token: &str,
    field: &str,
    fold: bool,
    out: &mut Vec<iac_core::Diagnostic>,
) {
    let mut seen: std::collections::BTreeMap<String, &iac_core::Urn> = std::collections::BTreeMap::new();
    for d in g.resources.values().filter(|d| d.type_token == type_token) {
        let Some(name) = d.plain_input(field).and_then(iac_core::Value::as_str) else { continue };
        let key = if fold { name.to_ascii_lowercase() } else { name.to_owned() };
        // One provider instance is one account and region.
        let key = format!("{}\u{0}{key}", d.provider);
        match seen.get(&key) {
            Some(first) => out.push(iac_core::Diagnostic {
                urn: d.urn.clone(),
                type_token: type_token.to_owned(),
                field: field.to_owned(),
                message: format!("`{name}` is also the name of `{first}`; AWS needs each one unique"),
            }),
            None => {
                seen.insert(key, &d.urn);
            }
        }
    }
}
