//! What AWS itself says it offers this account and region, asked with the
//! user's credentials: the zones the account sees and the instance classes
//! orderable for an engine version. The preview asks it of what a plan
//! creates or changes ([`check`], through `Provider::check_live`), since no
//! catalog shipped with the program can know one account's zones, and the
//! `refresh-catalog` binary (run by `scripts/refresh-catalog`) writes the
//! catalog's region and RDS class rows from the same functions.

use std::collections::BTreeMap;
#[cfg(any(feature = "ec2", feature = "rds"))]
use std::collections::BTreeSet;

use iac_core::provider::{LiveCheckRequest, ProviderError};
use iac_core::value::Value;
use iac_core::Diagnostic;

#[cfg(any(feature = "ec2", feature = "rds"))]
use crate::error::aws_err;
use crate::provider::AwsProvider;

/// The zones this account sees in the client's region (availability zones,
/// and the local and wavelength zones it opted into), sorted: what a
/// resource may be placed in.
#[cfg(feature = "ec2")]
pub async fn zones(ec2: &aws_sdk_ec2::Client) -> Result<Vec<String>, ProviderError> {
    zones_of_type(ec2, None).await
}

/// The availability zones (no local or wavelength zones) this account sees
/// in the client's region, sorted: the catalog's rows.
#[cfg(feature = "ec2")]
pub async fn availability_zones(ec2: &aws_sdk_ec2::Client) -> Result<Vec<String>, ProviderError> {
    zones_of_type(ec2, Some("availability-zone")).await
}

#[cfg(feature = "ec2")]
async fn zones_of_type(ec2: &aws_sdk_ec2::Client, zone_type: Option<&str>) -> Result<Vec<String>, ProviderError> {
    let filter = zone_type.map(|t| aws_sdk_ec2::types::Filter::builder().name("zone-type").values(t).build());
    let out = ec2
        .describe_availability_zones()
        .set_filters(filter.map(|f| vec![f]))
        .send()
        .await
        .map_err(|e| aws_err("DescribeAvailabilityZones", e))?;
    let zones: BTreeSet<String> =
        out.availability_zones().iter().filter_map(|z| z.zone_name()).map(str::to_owned).collect();
    Ok(zones.into_iter().collect())
}

/// The regions enabled for this account, sorted.
#[cfg(feature = "ec2")]
pub async fn regions(ec2: &aws_sdk_ec2::Client) -> Result<Vec<String>, ProviderError> {
    let out = ec2.describe_regions().send().await.map_err(|e| aws_err("DescribeRegions", e))?;
    let regions: BTreeSet<String> = out.regions().iter().filter_map(|r| r.region_name()).map(str::to_owned).collect();
    Ok(regions.into_iter().collect())
}

/// The DB instance classes orderable for `engine` (at `version`, if given)
/// in the client's region, sorted and unique: one call per thousand
/// offerings.
#[cfg(feature = "rds")]
pub async fn orderable_classes(
    rds: &aws_sdk_rds::Client,
    engine: &str,
    version: Option<&str>,
) -> Result<Vec<String>, ProviderError> {
    let mut classes = BTreeSet::new();
    let mut pages = rds
        .describe_orderable_db_instance_options()
        .engine(engine)
        .set_engine_version(version.map(str::to_owned))
        .max_records(1000)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_err("DescribeOrderableDBInstanceOptions", e))?;
        let offered = page.orderable_db_instance_options().iter().filter_map(|o| o.db_instance_class());
        classes.extend(offered.map(str::to_owned));
    }
    Ok(classes.into_iter().collect())
}

/// Zone names found anywhere in a resource's inputs, with their dotted
/// paths: `us-east-1a` in `us-east-1`, or a local zone such as
/// `us-west-2-lax-1a` in `us-west-2`.
fn zones_in(inputs: &Value, region: &str) -> Vec<(String, String)> {
    fn walk(v: &Value, path: &str, region: &str, out: &mut Vec<(String, String)>) {
        let join = |k: &str| if path.is_empty() { k.to_owned() } else { format!("{path}.{k}") };
        match v {
            Value::String(s) if is_zone_of(s, region) => out.push((path.to_owned(), s.clone())),
            Value::List(items) => {
                items.iter().enumerate().for_each(|(i, v)| walk(v, &join(&i.to_string()), region, out))
            }
            Value::Map(m) => m.iter().for_each(|(k, v)| walk(v, &join(k), region, out)),
            Value::Secret(v) => walk(v, path, region, out),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(inputs, "", region, &mut out);
    out
}

fn is_zone_of(s: &str, region: &str) -> bool {
    let Some(rest) = s.strip_prefix(region) else { return false };
    let letter = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase());
    match rest.strip_prefix('-') {
        // A local or wavelength zone: `-lax-1a`, `-wl1-las-wlz-1`.
        Some(local) => {
            local.chars().any(|c| c.is_ascii_digit()) && local.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        }
        None => rest.len() == 1 && letter(rest.chars().next()),
    }
}

/// The DB instances of a plan as (engine, version, class, urn, type): an
/// Aurora cluster member's version is its cluster's, unknown here, so its
/// class is checked against every version of its engine.
fn db_classes(reqs: &[LiveCheckRequest]) -> Vec<(String, Option<String>, String, &LiveCheckRequest)> {
    reqs.iter()
        .filter(|r| matches!(r.type_token.as_str(), "aws:rds:DbInstance" | "aws:rds:DbClusterInstance"))
        .filter_map(|r| {
            let engine = r.inputs.get("engine").as_str()?.to_owned();
            let class = r.inputs.get("instanceClass").as_str()?.to_owned();
            let version = r.inputs.get("engineVersion").as_str().map(str::to_owned);
            Some((engine, version, class, r))
        })
        .collect()
}

/// Checks what a plan creates or changes against what AWS offers this
/// account in the provider's region: every zone named in any input, and
/// each DB instance's class for its engine version. An engine version for
/// which AWS lists no class at all is left to the catalog's version check.
pub async fn check(p: &AwsProvider, reqs: Vec<LiveCheckRequest>) -> Result<Vec<Diagnostic>, ProviderError> {
    let Some(region) = p.region().await else { return Ok(Vec::new()) };
    #[cfg_attr(not(any(feature = "ec2", feature = "rds")), allow(unused_mut))]
    let mut found = Vec::new();
    let diag = |r: &LiveCheckRequest, field: &str, message: String| Diagnostic {
        urn: r.urn.clone(),
        type_token: r.type_token.clone(),
        field: field.to_owned(),
        message,
    };

    let named: Vec<(&LiveCheckRequest, String, String)> = reqs
        .iter()
        .flat_map(|r| zones_in(&r.inputs, &region).into_iter().map(move |(path, zone)| (r, path, zone)))
        .collect();
    #[cfg(feature = "ec2")]
    if !named.is_empty() {
        let offered = zones(p.ec2().await).await?;
        for (r, path, zone) in &named {
            if !offered.contains(zone) {
                found.push(diag(
                    r,
                    path,
                    format!(
                        "AWS does not offer zone `{zone}` to this account in {region} (it offers {}); in older \
                         regions each account sees its own subset of zone letters",
                        offered.join(", ")
                    ),
                ));
            }
        }
    }
    #[cfg(not(feature = "ec2"))]
    let _ = named;

    #[cfg(feature = "rds")]
    {
        let mut offered: BTreeMap<(String, Option<String>), Vec<String>> = BTreeMap::new();
        for (engine, version, class, r) in db_classes(&reqs) {
            let key = (engine.clone(), version.clone());
            if !offered.contains_key(&key) {
                let classes = orderable_classes(p.rds().await, &engine, version.as_deref()).await?;
                offered.insert(key.clone(), classes);
            }
            let classes = &offered[&key];
            if !classes.is_empty() && !classes.contains(&class) {
                let candidates: Vec<&str> = classes.iter().map(String::as_str).collect();
                let nearest = super::nearest(&class, &candidates, 3).join(", ");
                let what = match &version {
                    Some(v) => format!("{engine} {v}"),
                    None => engine.clone(),
                };
                found.push(diag(
                    r,
                    "instanceClass",
                    format!("AWS does not offer `{class}` for {what} in {region} (nearest it offers: {nearest})"),
                ));
            }
        }
    }
    #[cfg(not(feature = "rds"))]
    let _ = (db_classes, BTreeMap::<(), ()>::new);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_names_are_found_at_any_depth_and_only_for_the_region() {
        let inputs = crate::util::map([
            ("availabilityZone", Value::from("us-east-1a")),
            (
                "subnets",
                Value::List(vec![
                    crate::util::map([("zone", Value::from("us-east-1-bos-1a"))]),
                    crate::util::map([("zone", Value::from("us-west-2a"))]),
                ]),
            ),
            ("name", Value::from("us-east-1-logs")),
            ("region", Value::from("us-east-1")),
        ]);
        let found = zones_in(&inputs, "us-east-1");
        assert_eq!(
            found,
            [
                ("availabilityZone".to_owned(), "us-east-1a".to_owned()),
                ("subnets.0.zone".to_owned(), "us-east-1-bos-1a".to_owned())
            ]
        );
    }
}
