//! Refresh at scale: `preview --refresh` of the Bitcoin pipeline's prod
//! config (its own stack, ~165 resources) reads the cloud in batches (one
//! describe of many ids per type where AWS allows it), counted at the
//! emulator's fault-injecting endpoint, which counts every call it passes.
//! The batched refresh still finds drift made out of band: a subnet's, a
//! security group's and a log group's tags changed (the last read ahead by
//! the tagging API), an alarm deleted.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, Tag};
use iac_tests::moto;
use serde_json::{json, Value};

use crate::cli::*;
use crate::inventory::Subject;

/// The most AWS calls per resource a refresh may make: issue 17's target.
/// This stack's refresh makes 98 calls (0.59), 40 of them S3's eight
/// configuration reads per bucket (docs/performance.md, "Refresh at
/// scale").
const CALLS_PER_RESOURCE: f64 = 0.6;

/// The same for the refresh that finds the drift below, which costs more:
/// each answer that differs from the record is read again from the
/// resource's own service (a tag read ahead is only a hint), and the plan
/// that follows has changes, whose zones the preview asks AWS about. It
/// makes 101 calls (0.61).
const CALLS_PER_RESOURCE_WITH_DRIFT: f64 = 0.62;

/// `preview --refresh --json` through the counting endpoint: its drift and
/// the AWS calls it made, by operation.
async fn counted_refresh(s: &Subject) -> (Value, BTreeMap<String, u64>) {
    let _one = FAULT_ENDPOINT.lock().await;
    moto().set_faults(&json!({}));
    let out = s.run.faulty(&["preview", "--refresh", "--json"]);
    let counts = moto().faults_injected();
    assert!(out.status.success(), "preview --refresh failed: {}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("preview --json prints JSON");
    let calls = counts["operations"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.strip_prefix("passed:")?.to_owned(), v.as_u64()?)))
        .collect();
    // Nothing was injected: every call is one the refresh made.
    for kind in ["throttle", "error", "stall", "lost", "fail"] {
        assert!(counts.get(kind).is_none(), "{kind} injected: {counts}");
    }
    (doc["drift"].clone(), calls)
}

/// Whether `calls` are at most `bar` per resource (the
/// error says by how much not), printing them by operation either way.
fn few_calls(what: &str, calls: &BTreeMap<String, u64>, resources: usize, bar: f64) -> Result<(), String> {
    let total: u64 = calls.values().sum();
    let mut by_count: Vec<_> = calls.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1));
    eprintln!("{what}: {total} AWS calls for {resources} resources: {by_count:?}");
    if total as f64 <= bar * resources as f64 {
        return Ok(());
    }
    Err(format!(
        "{what}: {total} AWS calls for {resources} resources ({:.2} each), more than {bar} per \
         resource: {by_count:?}",
        total as f64 / resources as f64
    ))
}

/// The stack's first EC2 resource (by identity) that `describe` lists, as
/// (id, identity).
fn first_tagged<'a>(items: impl Iterator<Item = (Option<&'a str>, &'a [Tag])>) -> (String, String) {
    let mut found: Vec<(String, String)> = items
        .filter_map(|(id, tags)| {
            let name = tags.iter().find(|t| t.key() == Some("iac:name"))?.value()?;
            Some((id?.to_owned(), name.to_owned()))
        })
        .collect();
    found.sort_by(|a, b| a.1.cmp(&b.1));
    found.into_iter().next().expect("a resource of the stack")
}

#[tokio::test(flavor = "multi_thread")]
async fn prod_refresh_batches_reads_and_still_finds_drift() {
    let s = Subject::of("prod-stack", "prod", "refresh");
    s.run.ok(&["up", "--yes"]);
    let types = s.state_resources();
    let resources = types.len();
    let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
    for t in types.values() {
        *by_type.entry(t).or_default() += 1;
    }
    eprintln!("{resources} resources by type: {by_type:?}");
    assert!(resources >= 150, "the prod config is ~165 resources, the state holds {resources}");

    // Nothing drifted. (The call counts are checked last, after the drift
    // and the clean-up: a count over the bar must not hide a wrong drift,
    // nor leave the stack behind.)
    let (drift, calls) = counted_refresh(&s).await;
    assert_eq!(drift, json!([]), "no drift right after up");

    // Out of band: a subnet's and a security group's tags changed, an alarm
    // deleted.
    let aws = aws();
    let ec2 = aws.ec2().await;
    let mine = || Filter::builder().name("tag:iac:stack").values(&s.identity).build();
    let subnets = ec2.describe_subnets().filters(mine()).send().await.unwrap();
    let (subnet, subnet_urn) = first_tagged(subnets.subnets().iter().map(|x| (x.subnet_id(), x.tags())));
    let groups = ec2.describe_security_groups().filters(mine()).send().await.unwrap();
    let (group, group_urn) = first_tagged(groups.security_groups().iter().map(|x| (x.group_id(), x.tags())));
    for id in [&subnet, &group] {
        let tag = Tag::builder().key("Owner").value("someone-else").build();
        ec2.create_tags().resources(id).tags(tag).send().await.unwrap();
    }
    let cw = aws.cloudwatch().await;
    let alarms = cw.describe_alarms().alarm_name_prefix(&s.prefix).send().await.unwrap();
    let alarm = alarms.metric_alarms().first().expect("an alarm of the stack");
    let tags = cw.list_tags_for_resource().resource_arn(alarm.alarm_arn().unwrap()).send().await.unwrap();
    let alarm_urn = tags.tags().iter().find(|t| t.key() == Some("iac:name")).and_then(|t| t.value()).unwrap();
    cw.delete_alarms().alarm_names(alarm.alarm_name().unwrap()).send().await.unwrap();
    // And a log group's tags changed: its tags are read ahead by the
    // tagging API, not by the describe that finds it.
    let logs = aws.logs().await;
    let mut ours = Vec::new();
    for g in logs.describe_log_groups().send().await.unwrap().log_groups() {
        let arn = g.arn().unwrap().trim_end_matches(":*").to_owned();
        let tags = logs.list_tags_for_resource().resource_arn(&arn).send().await.unwrap().tags.unwrap_or_default();
        if tags.get("iac:stack") == Some(&s.identity) {
            ours.push((tags["iac:name"].clone(), arn));
        }
    }
    ours.sort();
    let (log_urn, group_arn) = ours.into_iter().next().expect("a log group of the stack");
    logs.tag_resource().resource_arn(&group_arn).tags("Owner", "someone-else").send().await.unwrap();

    // The batched refresh reports exactly that.
    let (drift, calls_after) = counted_refresh(&s).await;
    let mut found: Vec<(String, String, Vec<String>)> = drift
        .as_array()
        .expect("drift is a list")
        .iter()
        .map(|d| {
            let paths = d["diffs"].as_array().unwrap().iter().map(|p| p["path"].as_str().unwrap().to_owned());
            (d["urn"].as_str().unwrap().to_owned(), d["status"].as_str().unwrap().to_owned(), paths.collect())
        })
        .collect();
    found.sort();
    let mut expected = vec![
        (subnet_urn, "changed".to_owned(), vec!["tags.Owner".to_owned()]),
        (group_urn, "changed".to_owned(), vec!["tags.Owner".to_owned()]),
        (alarm_urn.to_owned(), "gone".to_owned(), vec![]),
        (log_urn, "changed".to_owned(), vec!["tags.Owner".to_owned()]),
    ];
    expected.sort();
    assert_eq!(found, expected, "the drift a refresh finds: {drift:#}");

    // Production refuses deletion until protection is lifted.
    s.run.edit_config("enable_deletion_protection", "true", "false");
    s.run.ok(&["up", "--yes", "--refresh"]);
    s.run.assert_converged();
    s.run.ok(&["destroy", "--yes"]);
    s.assert_nothing_left("destroy after the refresh").await;

    // Both refreshes read the whole stack in few calls.
    let ok =
        [("refresh", &calls, CALLS_PER_RESOURCE), ("refresh after drift", &calls_after, CALLS_PER_RESOURCE_WITH_DRIFT)]
            .map(|(what, c, bar)| few_calls(what, c, resources, bar));
    assert!(
        ok.iter().all(Result::is_ok),
        "{}",
        ok.iter().filter_map(|r| r.as_ref().err()).cloned().collect::<Vec<_>>().join("\n")
    );
}
