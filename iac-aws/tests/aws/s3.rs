//! S3 buckets: every configuration block created, read back without
//! drift, updated in place, the bucket replaced and destroyed (emptied
//! when asked), cross-region replication through a second provider, and
//! bad input refused at preview. Checked with the SDK.

use iac_aws::kms::Key;
use iac_aws::policy::{Condition, Effect, PolicyDocument, Principal, Statement};
use iac_aws::s3::{
    Bucket, Encryption, LifecycleRule, Logging, PublicAccessBlock, Replication, ReplicationRule, StorageClass,
    Transition,
};
use iac_aws::{AwsProvider, AwsSettings};
use iac_core::{Error, ResourceOptions, Stack, Urn};

use crate::support::*;

/// A log bucket whose policy lets S3's logging service write into it.
fn log_bucket(s: &Stack, name: &str) -> iac_core::Output<String> {
    s.add(
        "logs",
        Bucket::builder()
            .bucket(name)
            .force_destroy(true)
            .policy(
                PolicyDocument::new().statement(
                    Statement::builder()
                        .sid("S3ServerAccessLogs")
                        .principals(vec![Principal::Service("logging.s3.amazonaws.com".into())])
                        .actions(["s3:PutObject"])
                        .resources(vec![format!("arn:aws:s3:::{name}/*").into()])
                        .build(),
                ),
            )
            .build(),
    )
    .id
    .clone()
}

#[derive(Clone)]
struct Lake {
    name: String,
    logs: String,
    kms: bool,
    versioning: bool,
    archive_after: i32,
    env: &'static str,
    open_policy_reads: bool,
}

fn lake(s: &Stack, x: &Lake) {
    let logs = log_bucket(s, &x.logs);
    let key = s.add("key", Key::builder().description("lake").deletion_window_in_days(7).build());
    let arn = format!("arn:aws:s3:::{}", x.name);
    let mut actions = vec!["s3:GetObject"];
    if x.open_policy_reads {
        actions.push("s3:ListBucket");
    }
    s.add(
        "lake",
        Bucket::builder()
            .bucket(x.name.as_str())
            .versioning(x.versioning)
            .encryption(if x.kms {
                Encryption::Kms { key_id: Some(key.arn.clone().into()), bucket_key: true }
            } else {
                Encryption::SseS3
            })
            .lifecycle_rules(vec![
                LifecycleRule::builder()
                    .id("tiering")
                    .prefix("raw/")
                    .transitions(vec![
                        Transition::after(0, StorageClass::IntelligentTiering),
                        Transition::after(x.archive_after, StorageClass::Glacier),
                    ])
                    .noncurrent_expiration_days(30)
                    .build(),
                LifecycleRule::builder().id("uploads").abort_incomplete_multipart_days(7).build(),
            ])
            .public_access_block(PublicAccessBlock::builder().restrict_public_buckets(x.open_policy_reads).build())
            .policy(
                PolicyDocument::new().statement(
                    Statement::builder()
                        .sid("TlsOnly")
                        .effect(Effect::Deny)
                        .principals(vec![Principal::Any])
                        .actions(actions)
                        .resources(vec![arn.clone().into(), format!("{arn}/*").into()])
                        .conditions(vec![Condition::builder()
                            .test("Bool")
                            .variable("aws:SecureTransport")
                            .values(vec!["false".into()])
                            .build()])
                        .build(),
                ),
            )
            .logging(Logging::builder().target_bucket(logs).target_prefix("lake/").build())
            // Object events to EventBridge while the lake is KMS-encrypted
            // (any in-place toggle will do).
            .eventbridge_notifications(x.kms)
            .force_destroy(true)
            .tags(iac_aws::tags([("Env", x.env)]))
            .build(),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bucket_lifecycle_with_every_block() {
    let h = Harness::new();
    let s3 = h.aws.s3().await.clone();
    let v1 = Lake {
        name: unique("data-lake"),
        logs: unique("access-logs"),
        kms: true,
        versioning: true,
        archive_after: 90,
        env: "dev",
        open_policy_reads: false,
    };

    let x = v1.clone();
    let s = h.session("lake", move |s| lake(s, &x));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "lake").await;
    for name in ["lake", "key"] {
        assert_adoptable(&h, &a, "lake", name).await;
    }
    let key_arn = a.report.state.resources[&Urn::new("key")].outputs.get("arn").as_str().unwrap().to_owned();
    let name = v1.name.as_str();

    let notifications = s3.get_bucket_notification_configuration().bucket(name).send().await.unwrap();
    assert!(notifications.event_bridge_configuration().is_some(), "object events go to EventBridge");
    let versioning = s3.get_bucket_versioning().bucket(name).send().await.unwrap();
    assert_eq!(versioning.status().map(|s| s.as_str()), Some("Enabled"));
    let enc = s3.get_bucket_encryption().bucket(name).send().await.unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    let default = rule.apply_server_side_encryption_by_default().unwrap();
    assert_eq!(default.sse_algorithm().as_str(), "aws:kms");
    assert_eq!(default.kms_master_key_id(), Some(key_arn.as_str()));
    let lc = s3.get_bucket_lifecycle_configuration().bucket(name).send().await.unwrap();
    let tiering = lc.rules().iter().find(|r| r.id() == Some("tiering")).expect("tiering rule");
    let classes: Vec<_> =
        tiering.transitions().iter().map(|t| t.storage_class().unwrap().as_str().to_owned()).collect();
    assert_eq!(classes, ["INTELLIGENT_TIERING", "GLACIER"]);
    assert_eq!(tiering.transitions()[1].days(), Some(90));
    let pab = s3.get_public_access_block().bucket(name).send().await.unwrap();
    assert_eq!(pab.public_access_block_configuration().unwrap().block_public_acls(), Some(true));
    let policy = s3.get_bucket_policy().bucket(name).send().await.unwrap();
    assert!(policy.policy().unwrap().contains("aws:SecureTransport"), "{:?}", policy.policy());
    let logging = s3.get_bucket_logging().bucket(name).send().await.unwrap();
    assert_eq!(logging.logging_enabled().map(|l| l.target_bucket()), Some(v1.logs.as_str()));
    let tags = s3.get_bucket_tagging().bucket(name).send().await.unwrap();
    let tag = |k: &str| tags.tag_set().iter().find(|t| t.key() == k).map(|t| t.value().to_owned());
    assert_eq!(tag("Env").as_deref(), Some("dev"));
    assert_eq!(tag("iac:stack").as_deref(), Some("aws-test/lake"), "tagged with <project>/<stack>");
    assert_no_drift(&s).await;

    // Objects in a versioned bucket: force_destroy must remove every version.
    for body in ["one", "two"] {
        s3.put_object().bucket(name).key("raw/tick.json").body(body.as_bytes().to_vec().into()).send().await.unwrap();
    }

    // In place: encryption, versioning, lifecycle, public access block,
    // policy and tags change; the bucket and its objects stay.
    let v2 =
        Lake { kms: false, versioning: false, archive_after: 180, env: "prod", open_policy_reads: true, ..v1.clone() };
    let x = v2.clone();
    let s = h.session("lake", move |s| lake(s, &x));
    up(&s).await;
    assert_eq!(s3.list_objects_v2().bucket(name).send().await.unwrap().key_count(), Some(1), "bucket kept");
    let versioning = s3.get_bucket_versioning().bucket(name).send().await.unwrap();
    assert_eq!(versioning.status().map(|s| s.as_str()), Some("Suspended"));
    let notifications = s3.get_bucket_notification_configuration().bucket(name).send().await.unwrap();
    assert!(notifications.event_bridge_configuration().is_none(), "EventBridge notifications off");
    let enc = s3.get_bucket_encryption().bucket(name).send().await.unwrap();
    let default = enc.server_side_encryption_configuration().unwrap().rules()[0]
        .apply_server_side_encryption_by_default()
        .cloned();
    assert_eq!(default.unwrap().sse_algorithm().as_str(), "AES256");
    let lc = s3.get_bucket_lifecycle_configuration().bucket(name).send().await.unwrap();
    let tiering = lc.rules().iter().find(|r| r.id() == Some("tiering")).unwrap();
    assert_eq!(tiering.transitions()[1].days(), Some(180));
    let pab = s3.get_public_access_block().bucket(name).send().await.unwrap();
    assert_eq!(pab.public_access_block_configuration().unwrap().restrict_public_buckets(), Some(true));
    let policy = s3.get_bucket_policy().bucket(name).send().await.unwrap();
    assert!(policy.policy().unwrap().contains("s3:ListBucket"));
    let tags = s3.get_bucket_tagging().bucket(name).send().await.unwrap();
    assert!(tags.tag_set().iter().any(|t| t.key() == "Env" && t.value() == "prod"));
    assert_no_drift(&s).await;

    // Renaming replaces: the old bucket (with its versions) is emptied and
    // deleted first, the new one created.
    let v3 = Lake { name: unique("data-lake"), ..v2.clone() };
    let x = v3.clone();
    let s = h.session("lake", move |s| lake(s, &x));
    up(&s).await;
    assert!(s3.head_bucket().bucket(name).send().await.is_err(), "old bucket gone");
    s3.head_bucket().bucket(&v3.name).send().await.expect("new bucket exists");
    assert_no_drift(&s).await;

    destroy(&s).await;
    for gone in [&v3.name, &v3.logs] {
        assert!(s3.head_bucket().bucket(gone).send().await.is_err(), "{gone} deleted");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_empty_bucket_is_kept_unless_force_destroy() {
    let h = Harness::new();
    let s3 = h.aws.s3().await.clone();
    let name = unique("keep-me");
    let n = name.clone();
    let s = h.session("keep", move |s| {
        s.add("b", Bucket::builder().bucket(n.as_str()).build());
    });
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "keep").await;
    s3.put_object().bucket(&name).key("k").body(b"v".to_vec().into()).send().await.unwrap();
    let a = s.destroy(&opts(), &mut |_, _| Ok(true)).await.expect("destroy runs");
    let failure = format!("{:?}", a.report.failures);
    assert!(failure.contains("force_destroy"), "the error says how to proceed: {failure}");
    s3.head_bucket().bucket(&name).send().await.expect("bucket and data kept");
    s3.delete_object().bucket(&name).key("k").send().await.unwrap();
    destroy(&s).await;
    assert!(s3.head_bucket().bucket(&name).send().await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn cross_region_replication_through_a_second_provider() {
    use iac_aws::iam::Role;
    let h = Harness::new();
    let s3 = h.aws.s3().await.clone();
    let endpoint = iac_tests::moto().endpoint.clone();
    let (src, dst) = (unique("trades"), unique("trades-replica"));
    let (src2, dst2) = (src.clone(), dst.clone());
    let program = move |storage: StorageClass| {
        let (src, dst, endpoint) = (src2.clone(), dst2.clone(), endpoint.clone());
        move |s: &Stack| {
            let west = s.provider(
                "aws-west",
                AwsProvider::new(AwsSettings {
                    region: Some("us-west-2".into()),
                    endpoint_url: Some(endpoint.clone()),
                    ..Default::default()
                }),
            );
            let replica = s.add_with(
                "replica",
                Bucket::builder().bucket(dst.as_str()).versioning(true).force_destroy(true).build(),
                ResourceOptions::default().provider(&west),
            );
            let role = s.add(
                "role",
                Role::builder()
                    .name("s3-replication")
                    .assume_role_policy(
                        PolicyDocument::new().statement(
                            Statement::builder()
                                .actions(["sts:AssumeRole"])
                                .principals(vec![Principal::Service("s3.amazonaws.com".into())])
                                .build(),
                        ),
                    )
                    .build(),
            );
            s.add(
                "source",
                Bucket::builder()
                    .bucket(src.as_str())
                    .versioning(true)
                    .replication(
                        Replication::builder()
                            .role(role.arn.clone())
                            .rules(vec![ReplicationRule::builder()
                                .id("everything")
                                .destination_bucket_arn(replica.arn.clone())
                                .storage_class(storage)
                                // moto always reports delete-marker
                                // replication off and no prefix filter.
                                .replicate_delete_markers(false)
                                .build()])
                            .build(),
                    )
                    .force_destroy(true)
                    .build(),
            );
        }
    };
    let s = h.session("replication", program(StorageClass::StandardIa));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "replication").await;
    let loc = s3.get_bucket_location().bucket(&dst).send().await.unwrap();
    assert_eq!(loc.location_constraint().map(|c| c.as_str()), Some("us-west-2"), "replica in the second region");
    let rep = s3.get_bucket_replication().bucket(&src).send().await.unwrap();
    let rule = &rep.replication_configuration().unwrap().rules()[0];
    let dest = rule.destination().unwrap();
    assert_eq!(dest.bucket(), format!("arn:aws:s3:::{dst}"));
    assert_eq!(dest.storage_class().map(|c| c.as_str()), Some("STANDARD_IA"));
    assert!(rep.replication_configuration().unwrap().role().contains("s3-replication"));
    assert_no_drift(&s).await;

    let s = h.session("replication", program(StorageClass::Glacier));
    up(&s).await;
    let rep = s3.get_bucket_replication().bucket(&src).send().await.unwrap();
    let dest = rep.replication_configuration().unwrap().rules()[0].destination().cloned().unwrap();
    assert_eq!(dest.storage_class().map(|c| c.as_str()), Some("GLACIER"));
    assert_no_drift(&s).await;

    destroy(&s).await;
    for gone in [&src, &dst] {
        assert!(s3.head_bucket().bucket(gone).send().await.is_err(), "{gone} deleted");
    }
}

/// A create repeated after its response was lost (the SDK's retry, the
/// engine's) finds the bucket it made. Outside us-east-1 S3 answers that
/// with `BucketAlreadyOwnedByYou`: the create takes the bucket back when it
/// carries its identity, or none yet, and refuses one another resource's
/// tags are on.
#[tokio::test(flavor = "multi_thread")]
async fn a_repeated_create_outside_us_east_1_takes_its_own_bucket_back() {
    use iac_core::provider::{CreateRequest, DeleteRequest, Provider};
    let _env = provider();
    let west = AwsProvider::new(AwsSettings {
        region: Some("us-west-2".into()),
        endpoint_url: Some(iac_tests::moto().endpoint.clone()),
        ..Default::default()
    });
    let name = unique("repeated");
    let bucket = Bucket::builder().bucket(name.as_str()).build();
    let create = |urn: &str| CreateRequest {
        type_token: "aws:s3:Bucket",
        urn: Urn::new(urn),
        stack: "aws-test/repeated".into(),
        inputs: iac_core::Resource::inputs(&bucket).resolve(&iac_core::state::State::default()),
        timeout: None,
        known_ids: vec![],
        idempotency_token: CreateRequest::new_idempotency_token(),
    };
    // The first attempt made the bucket and stopped before tagging it.
    west.s3()
        .await
        .create_bucket()
        .bucket(&name)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::UsWest2)
                .build(),
        )
        .send()
        .await
        .expect("the first attempt");
    let made = west.create(create("bucket")).await.expect("the repeat takes the untagged bucket");
    assert_eq!(made.id, name);
    let again = west.create(create("bucket")).await.expect("and again, tagged with its identity");
    assert_eq!(again.id, name);
    let other = west.create(create("other")).await.expect_err("another resource's bucket is refused");
    assert!(other.message.contains("BucketAlreadyOwnedByYou"), "{other}");
    let req = create("bucket");
    west.delete(DeleteRequest {
        type_token: req.type_token,
        urn: req.urn,
        id: name.clone(),
        inputs: req.inputs,
        outputs: made.outputs,
        timeout: None,
    })
    .await
    .expect("delete");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_bucket_inputs_are_refused_at_preview_with_every_problem() {
    let h = Harness::new();
    let s = h.session("bad-s3", |s| {
        s.add("upper", Bucket::builder().bucket("Data_Lake").build());
        s.add("ip", Bucket::builder().bucket("10.0.0.1").build());
        s.add(
            "rules",
            Bucket::builder()
                .bucket("ok-name")
                .lifecycle_rules(vec![
                    LifecycleRule::builder()
                        .id("a")
                        .transitions(vec![Transition::after(10, StorageClass::StandardIa)])
                        .build(),
                    LifecycleRule::builder().id("a").build(),
                ])
                .replication(
                    Replication::builder()
                        .role("arn:aws:iam::123456789012:role/r")
                        .rules(vec![ReplicationRule::builder().id("r").destination_bucket_arn("my-bucket").build()])
                        .build(),
                )
                .logging(Logging::builder().target_bucket("ok-name").build())
                .build(),
        );
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    for (resource, what) in [
        ("upper", "lowercase"),
        ("ip", "IP address"),
        ("rules", "at least 30 days"),
        ("rules", "used twice"),
        ("rules", "no transition or expiration"),
        ("rules", "needs versioning"),
        ("rules", "not a bucket ARN"),
        ("rules", "log into itself"),
    ] {
        assert!(
            diags.iter().any(|d| d.to_string().contains(resource) && d.to_string().contains(what)),
            "missing `{what}` on {resource}: {text}"
        );
    }
}
