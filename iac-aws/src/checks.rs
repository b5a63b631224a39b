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
