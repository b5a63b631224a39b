//! Timestream: a database encrypted with a KMS key and a table in it —
//! created (through the configured endpoint, not endpoint discovery), read
//! back without drift, retention and magnetic store writes updated in
//! place, out-of-band changes seen, destroyed table first, checked with the
//! SDK; bad names and retention refused at preview.

use iac_aws::kms::Key;
use iac_aws::timestream::{Database, Table};
use iac_core::ops::{RunOptions, Session};
use iac_core::{Error, Stack};

use crate::support::*;

#[derive(Clone)]
struct Ts {
    encrypted: bool,
    memory_hours: i64,
    magnetic_days: i64,
    writes: bool,
    tier: &'static str,
}

fn program(s: &Stack, x: &Ts) {
    let key = s.add("key", Key::builder().description("timestream metrics").deletion_window_in_days(7).build());
    let db = s.add(
        "db",
        Database::builder()
            .name("ts-metrics")
            .maybe_kms_key_id(x.encrypted.then(|| key.arn.clone()))
            .tags(iac_aws::tags([("Team", "observability")]))
            .build(),
    );
    s.add(
        "cpu",
        Table::builder()
            .database_name(db.name.clone())
            .name("cpu")
            .memory_store_retention_hours(x.memory_hours)
            .magnetic_store_retention_days(x.magnetic_days)
            .magnetic_store_writes(x.writes)
            .tags(iac_aws::tags([("Tier", x.tier)]))
            .build(),
    );
}

fn session(h: &Harness, x: &Ts) -> Session {
    let x = x.clone();
    h.session("timestream", move |s| program(s, &x))
}

#[tokio::test(flavor = "multi_thread")]
async fn database_and_table_lifecycle() {
    let h = Harness::new();
    let ts = h.aws.timestream().await.expect("the Timestream client uses the emulator's endpoint").clone();
    let v1 = Ts { encrypted: true, memory_hours: 12, magnetic_days: 365, writes: true, tier: "hot" };

    let s = session(&h, &v1);
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "timestream").await;
    let key_arn = a.report.state.resources[&iac_core::Urn::new("key")].outputs.get("arn").as_str().unwrap().to_owned();
    let db = ts.describe_database().database_name("ts-metrics").send().await.unwrap().database.unwrap();
    assert_eq!(db.kms_key_id(), Some(key_arn.as_str()), "encrypted with our key");
    let tags = ts.list_tags_for_resource().resource_arn(db.arn().unwrap()).send().await.unwrap();
    assert!(tags.tags().iter().any(|t| t.key() == "Team" && t.value() == "observability"));
    assert!(tags.tags().iter().any(|t| t.key() == "iac:name" && t.value() == "db"));
    let t = ts.describe_table().database_name("ts-metrics").table_name("cpu").send().await.unwrap().table.unwrap();
    let r = t.retention_properties().unwrap();
    assert_eq!(r.memory_store_retention_period_in_hours(), 12);
    assert_eq!(r.magnetic_store_retention_period_in_days(), 365);
    assert!(t.magnetic_store_write_properties().unwrap().enable_magnetic_store_writes());
    let tags = ts.list_tags_for_resource().resource_arn(t.arn().unwrap()).send().await.unwrap();
    assert!(tags.tags().iter().any(|t| t.key() == "Tier" && t.value() == "hot"));
    assert_eq!(a.report.state.resources[&iac_core::Urn::new("cpu")].id.as_deref(), Some("ts-metrics:cpu"));
    assert_adoptable(&h, &a, "timestream", "db").await;
    assert_adoptable(&h, &a, "timestream", "cpu").await;
    assert_no_drift(&s).await;

    // Changed behind our back: the refreshed preview shows it.
    ts.update_table()
        .database_name("ts-metrics")
        .table_name("cpu")
        .retention_properties(
            aws_sdk_timestreamwrite::types::RetentionProperties::builder()
                .memory_store_retention_period_in_hours(48)
                .magnetic_store_retention_period_in_days(365)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let p = s.preview(&RunOptions { refresh: true, ..opts() }).await.unwrap();
    let changes: Vec<String> =
        p.plan.changes().flat_map(|st| st.diffs.iter().map(|d| format!("{}.{}", st.urn, d.path))).collect();
    assert_eq!(changes, ["cpu.memoryStoreRetentionHours"]);

    // In place: retention, magnetic writes, tags, and the database back on
    // Timestream's own key.
    let v2 = Ts { encrypted: false, memory_hours: 24, magnetic_days: 730, writes: false, tier: "warm" };
    let s = session(&h, &v2);
    let a2 = up(&s).await;
    assert_eq!(
        a2.report.state.resources[&iac_core::Urn::new("cpu")].outputs.get("arn"),
        a.report.state.resources[&iac_core::Urn::new("cpu")].outputs.get("arn"),
        "same table"
    );
    let t = ts.describe_table().database_name("ts-metrics").table_name("cpu").send().await.unwrap().table.unwrap();
    let r = t.retention_properties().unwrap();
    assert_eq!(r.memory_store_retention_period_in_hours(), 24);
    assert_eq!(r.magnetic_store_retention_period_in_days(), 730);
    assert!(!t.magnetic_store_write_properties().unwrap().enable_magnetic_store_writes());
    let tags = ts.list_tags_for_resource().resource_arn(t.arn().unwrap()).send().await.unwrap();
    assert!(tags.tags().iter().any(|t| t.key() == "Tier" && t.value() == "warm"));
    let db = ts.describe_database().database_name("ts-metrics").send().await.unwrap().database.unwrap();
    assert_ne!(db.kms_key_id(), Some(key_arn.as_str()), "no longer our key");
    assert_no_drift(&s).await;

    // The emulator, like AWS, refuses to delete a database holding tables:
    // the table goes first.
    let e = ts.delete_database().database_name("ts-metrics").send().await.unwrap_err();
    assert_eq!(iac_aws::error::code(&e), Some("ValidationException"), "a database with tables is not deleted");
    destroy(&s).await;
    let e = ts.describe_table().database_name("ts-metrics").table_name("cpu").send().await.unwrap_err();
    assert_eq!(iac_aws::error::code(&e), Some("ResourceNotFoundException"), "table gone");
    let e = ts.describe_database().database_name("ts-metrics").send().await.unwrap_err();
    assert_eq!(iac_aws::error::code(&e), Some("ResourceNotFoundException"), "database gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_timestream_inputs_are_refused_at_preview() {
    let h = Harness::new();
    let s = h.session("bad-timestream", |s| {
        s.add("short", Database::builder().name("db").build());
        s.add("spaced", Database::builder().name("my metrics").kms_key_id(" ").build());
        s.add(
            "too-short",
            Table::builder()
                .database_name("metrics")
                .name("cpu/load")
                .memory_store_retention_hours(0)
                .magnetic_store_retention_days(73_001)
                .build(),
        );
        s.add(
            "too-long",
            Table::builder()
                .database_name("metrics")
                .name("cpu")
                .memory_store_retention_hours(8767)
                .magnetic_store_retention_days(0)
                .build(),
        );
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    for (resource, field, what) in [
        ("short", "name", "at least 3"),
        ("spaced", "name", "letters, digits, _ . and -"),
        ("spaced", "kmsKeyId", "a key id, ARN or alias"),
        ("too-short", "name", "letters, digits, _ . and -"),
        ("too-short", "memoryStoreRetentionHours", "between 1 and 8766"),
        ("too-short", "magneticStoreRetentionDays", "between 1 and 73000"),
        ("too-long", "memoryStoreRetentionHours", "8767 hours"),
        ("too-long", "magneticStoreRetentionDays", "0 days"),
    ] {
        assert!(
            diags.iter().any(|d| d.urn.as_str() == resource && d.field == field && d.message.contains(what)),
            "missing `{what}` on {resource}.{field}: {text}"
        );
    }
}
