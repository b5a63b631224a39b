//! S3 Intelligent-Tiering archive configurations: created, read back
//! without drift, updated in place (tiers, prefix, status), replaced under
//! a new name, deleted; bad tiers refused at preview. Checked with the SDK.
//!
//! Emulator gap (moto 5.2.5), not ours: moto has none of the
//! Intelligent-Tiering calls; the harness (`moto_fixes.py`, section
//! `ecommerce-analytics`) emulates Put/Get/List/Delete after AWS's API
//! reference, so these tests check our calls against that model.

use iac_aws::s3::{Bucket, IntelligentTiering};
use iac_core::ops::RunOptions;
use iac_core::{Error, Stack, Urn};

use crate::support::*;

#[derive(Clone, Copy)]
struct Tiers {
    name: &'static str,
    prefix: Option<&'static str>,
    enabled: bool,
    archive: Option<i32>,
    deep: Option<i32>,
}

fn program(s: &Stack, bucket: &str, t: Tiers) {
    let b = s.add("bucket", Bucket::builder().bucket(bucket).versioning(true).force_destroy(true).build());
    s.add(
        "tiering",
        IntelligentTiering::builder()
            .bucket(b.id.clone())
            .name(t.name)
            .maybe_prefix(t.prefix)
            .enabled(t.enabled)
            .maybe_archive_access_days(t.archive)
            .maybe_deep_archive_access_days(t.deep)
            .build(),
    );
}

/// The configuration as S3 holds it: status, prefix, sorted (tier, days).
async fn read(h: &Harness, bucket: &str, name: &str) -> Option<(String, Option<String>, Vec<(String, i32)>)> {
    let s3 = h.aws.s3().await;
    let out = match s3.get_bucket_intelligent_tiering_configuration().bucket(bucket).id(name).send().await {
        Ok(o) => o,
        Err(e) => {
            let text = format!("{e:?}");
            assert!(text.contains("NoSuchConfiguration"), "{text}");
            return None;
        }
    };
    let c = out.intelligent_tiering_configuration().unwrap();
    let mut tiers: Vec<(String, i32)> =
        c.tierings().iter().map(|t| (t.access_tier().as_str().to_owned(), t.days())).collect();
    tiers.sort();
    Some((c.status().as_str().to_owned(), c.filter().and_then(|f| f.prefix()).map(str::to_owned), tiers))
}

#[tokio::test(flavor = "multi_thread")]
async fn intelligent_tiering_lifecycle() {
    let h = Harness::new();
    let bucket = unique("tiering-lake");
    let v1 = Tiers { name: "archive", prefix: Some("raw/"), enabled: true, archive: Some(90), deep: Some(180) };
    let b = bucket.clone();
    let s = h.session("tiering", move |s| program(s, &b, v1));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "tiering").await;
    let id = a.report.state.resources[&Urn::new("tiering")].id.clone();
    assert_eq!(id.as_deref(), Some(format!("{bucket}:archive").as_str()));
    let want = |status: &str, prefix: Option<&str>, tiers: &[(&str, i32)]| {
        Some((
            status.to_owned(),
            prefix.map(str::to_owned),
            tiers.iter().map(|(t, d)| ((*t).to_owned(), *d)).collect::<Vec<_>>(),
        ))
    };
    assert_eq!(
        read(&h, &bucket, "archive").await,
        want("Enabled", Some("raw/"), &[("ARCHIVE_ACCESS", 90), ("DEEP_ARCHIVE_ACCESS", 180)])
    );
    assert_no_drift(&s).await;

    // In place: prefix, status and tiers.
    let v2 = Tiers { prefix: Some("processed/"), enabled: false, archive: Some(120), deep: None, ..v1 };
    let b = bucket.clone();
    let s = h.session("tiering", move |s| program(s, &b, v2));
    let a = up(&s).await;
    assert_eq!(a.report.state.resources[&Urn::new("tiering")].id, id, "updated in place");
    assert_eq!(read(&h, &bucket, "archive").await, want("Disabled", Some("processed/"), &[("ARCHIVE_ACCESS", 120)]));
    assert_no_drift(&s).await;

    // A new name is a new configuration; the old one goes.
    let v3 = Tiers { name: "archive-v2", ..v2 };
    let b = bucket.clone();
    let s = h.session("tiering", move |s| program(s, &b, v3));
    up(&s).await;
    assert_eq!(read(&h, &bucket, "archive").await, None, "the old configuration is gone");
    assert_eq!(read(&h, &bucket, "archive-v2").await, want("Disabled", Some("processed/"), &[("ARCHIVE_ACCESS", 120)]));
    assert_no_drift(&s).await;

    // Deleted outside: drift, and up puts it back.
    h.aws
        .s3()
        .await
        .delete_bucket_intelligent_tiering_configuration()
        .bucket(&bucket)
        .id("archive-v2")
        .send()
        .await
        .unwrap();
    let refresh = RunOptions { refresh: true, ..opts() };
    let p = s.preview(&refresh).await.unwrap();
    assert!(p.plan.changes().any(|st| st.urn == Urn::new("tiering")), "a deleted configuration is re-created");
    let a = s.up(&refresh, None, &mut |_, _| Ok(true)).await.expect("up --refresh");
    assert!(a.report.failures.is_empty(), "{:?}", a.report.failures);
    assert!(read(&h, &bucket, "archive-v2").await.is_some());

    destroy(&s).await;
    assert!(h.aws.s3().await.head_bucket().bucket(&bucket).send().await.is_err(), "bucket gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_tiers_are_refused_at_preview() {
    let h = Harness::new();
    let s = h.session("bad-tiering", |s| {
        for (key, name, archive, deep) in [
            ("short", "ok", Some(30), Some(100)),
            ("order", "ok", Some(200), Some(180)),
            ("none", "has space", None, None),
        ] {
            s.add(
                key,
                IntelligentTiering::builder()
                    .bucket("some-bucket")
                    .name(name)
                    .maybe_archive_access_days(archive)
                    .maybe_deep_archive_access_days(deep)
                    .build(),
            );
        }
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    for (resource, what) in [
        ("short", "Archive Access tier takes 90 to 730"),
        ("short", "Deep Archive Access tier takes 180 to 730"),
        ("order", "must be more"),
        ("none", "no tier"),
        ("none", "not allowed"),
    ] {
        assert!(
            diags.iter().any(|d| d.to_string().contains(resource) && d.to_string().contains(what)),
            "missing `{what}` on {resource}: {text}"
        );
    }
}
