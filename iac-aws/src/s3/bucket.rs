//! `Bucket`: the bucket and every configuration block of it, applied and
//! read back as one resource so `preview --refresh` sees drift in any.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::operation::head_bucket::HeadBucketError;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint, BucketLoggingStatus,
    BucketVersioningStatus, CreateBucketConfiguration, Delete, DeleteMarkerReplication, DeleteMarkerReplicationStatus,
    Destination, EncryptionConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRuleFilter, LoggingEnabled,
    NoncurrentVersionExpiration, NoncurrentVersionTransition, ObjectIdentifier, PublicAccessBlockConfiguration,
    ReplicationConfiguration, ReplicationRuleFilter, ReplicationRuleStatus, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    SourceSelectionCriteria, SseKmsEncryptedObjects, SseKmsEncryptedObjectsStatus, Tag, Tagging,
    TransitionStorageClass, VersioningConfiguration,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Output, Resource, Schema, Urn, Value};

use super::config::{
    self, Encryption, LifecycleRule, Logging, LoggingSpec, PublicAccessBlock, Replication, ReplicationRuleSpec,
    ReplicationSpec, StorageClass, Transition,
};
use crate::batch_read::{by_id, read_batched, Chunk};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::policy::{self, PolicyDocument, PolicyKind};
use crate::provider::AwsProvider;
use crate::util::{
    keep_write_only, map, tags_value, tags_with_identity, unless_known, wait_for, In, TAG_NAME, TAG_STACK,
};

pub(crate) const TYPE: &str = "aws:s3:Bucket";

/// Schema: the name is the bucket's identity (global across accounts, so a
/// replacement deletes first); every configuration block updates in place.
pub static SCHEMA: Schema =
    Schema { replace_on: &["bucket"], delete_before_replace: true, taggable: true, ..Schema::new(TYPE, "aws") };

/// An S3 bucket with its configuration.
///
/// Unset blocks mean what AWS does for a new bucket: SSE-S3 encryption,
/// all public access blocked, no versioning, lifecycle, policy, logging or
/// replication.
///
/// ```
/// use iac_aws::policy::{PolicyDocument, Principal, Statement};
/// use iac_aws::s3::{Bucket, Encryption, LifecycleRule, StorageClass, Transition};
/// let lake = Bucket::builder()
///     .bucket("acme-data-lake-prod")
///     .versioning(true)
///     .encryption(Encryption::Kms { key_id: Some("arn:aws:kms:us-east-1:123456789012:key/1".into()), bucket_key: true })
///     .lifecycle_rules(vec![LifecycleRule::builder()
///         .id("tiering")
///         .transitions(vec![Transition::after(0, StorageClass::IntelligentTiering)])
///         .noncurrent_expiration_days(90)
///         .build()])
///     .policy(PolicyDocument::new().statement(
///         Statement::builder()
///             .sid("TlsOnly")
///             .effect(iac_aws::policy::Effect::Deny)
///             .principals(vec![Principal::Any])
///             .actions(["s3:*"])
///             .resources(vec!["arn:aws:s3:::acme-data-lake-prod/*".into()])
///             .conditions(vec![iac_aws::policy::Condition::builder()
///                 .test("Bool")
///                 .variable("aws:SecureTransport")
///                 .values(vec!["false".into()])
///                 .build()])
///             .build(),
///     ))
///     .build();
/// # let _ = lake;
/// ```
#[derive(bon::Builder)]
pub struct Bucket {
    /// The bucket's globally unique name (replaces when changed).
    #[builder(into)]
    pub bucket: String,
    /// Keep every version of every object (suspended when turned off).
    #[builder(default)]
    pub versioning: bool,
    /// Default encryption of new objects.
    #[builder(default)]
    pub encryption: Encryption,
    /// Lifecycle rules.
    #[builder(default)]
    pub lifecycle_rules: Vec<LifecycleRule>,
    /// The public access block (all blocked by default).
    #[builder(default)]
    pub public_access_block: PublicAccessBlock,
    /// The bucket policy.
    pub policy: Option<PolicyDocument>,
    /// Replication of new objects to other buckets.
    pub replication: Option<Replication>,
    /// Server access logging to another bucket.
    pub logging: Option<Logging>,
    /// Send every object event to EventBridge (where rules route them to
    /// functions, state machines and job queues).
    #[builder(default)]
    pub eventbridge_notifications: bool,
    /// On destroy, delete every object and version first (else destroying
    /// a non-empty bucket fails, as AWS refuses it).
    #[builder(default)]
    pub force_destroy: bool,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`Bucket`].
pub struct BucketOutputs {
    /// Its name (the resource's id).
    pub id: Output<String>,
    /// Its ARN (`arn:aws:s3:::name`).
    pub arn: Output<String>,
    /// `name.s3.amazonaws.com`.
    pub bucket_domain_name: Output<String>,
    /// `name.s3.<region>.amazonaws.com`.
    pub bucket_regional_domain_name: Output<String>,
    /// The region it lives in.
    pub region: Output<String>,
}

impl Resource for Bucket {
    type Outputs = BucketOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        let lifecycle =
            if self.lifecycle_rules.is_empty() { Value::Null } else { config::to_value(&self.lifecycle_rules) };
        props([
            ("bucket", Value::from(self.bucket.as_str()).into()),
            ("versioning", Value::from(self.versioning).into()),
            ("encryption", self.encryption.to_expr()),
            ("lifecycleRules", lifecycle.into()),
            ("publicAccessBlock", config::to_value(&self.public_access_block).into()),
            ("policy", self.policy.as_ref().map_or(Expr::Value(Value::Null), PolicyDocument::to_expr)),
            ("replication", self.replication.as_ref().map_or(Expr::Value(Value::Null), Replication::to_expr)),
            ("logging", self.logging.as_ref().map_or(Expr::Value(Value::Null), Logging::to_expr)),
            ("eventBridge", Value::from(self.eventbridge_notifications).into()),
            ("forceDestroy", Value::from(self.force_destroy).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> BucketOutputs {
        BucketOutputs {
            id: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            bucket_domain_name: Output::from_ref(urn, "bucketDomainName"),
            bucket_regional_domain_name: Output::from_ref(urn, "bucketRegionalDomainName"),
            region: Output::from_ref(urn, "region"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        config::validate_name(c, &self.bucket);
        config::validate_rules(&self.lifecycle_rules, c);
        if let Some(p) = &self.policy {
            p.validate(c, "policy", PolicyKind::Resource);
        }
        if let Some(r) = &self.replication {
            r.validate(c, self.versioning);
        }
        if let Some(l) = &self.logging {
            if let Some(target) = l.target_bucket.value() {
                c.check(target != &self.bucket, "logging.targetBucket", || {
                    "a bucket cannot log into itself (each log write would be logged)".to_owned()
                });
            }
        }
    }
}

fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn outputs(name: &str, region: &str) -> Value {
    map([
        ("arn", Value::from(format!("arn:{}:s3:::{name}", partition(region)))),
        ("bucketDomainName", Value::from(format!("{name}.s3.amazonaws.com"))),
        ("bucketRegionalDomainName", Value::from(format!("{name}.s3.{region}.amazonaws.com"))),
        ("region", Value::from(region)),
    ])
}

fn build_err(op: &'static str) -> impl Fn(aws_sdk_s3::error::BuildError) -> ProviderError {
    move |e| ProviderError::fatal(op, e.to_string())
}

/// Whether the bucket exists (and is ours to see).
async fn exists(p: &AwsProvider, name: &str) -> Result<bool, ProviderError> {
    match p.s3().await.head_bucket().bucket(name).send().await {
        Ok(_) => Ok(true),
        Err(e) if matches!(e.as_service_error(), Some(HeadBucketError::NotFound(_))) => Ok(false),
        Err(e) if is_code(&e, &["NotFound", "NoSuchBucket"]) => Ok(false),
        Err(e) => Err(aws_err("HeadBucket", e)),
    }
}

/// Reads the bucket and every block back onto the input keys; `None` when
/// it is gone.
async fn describe(p: &AwsProvider, name: &str, recorded: &Value) -> Result<Option<(Value, Value)>, ProviderError> {
    // The existence check names the bucket's region too (S3 answers it in
    // a header); should it not, the location is a call of its own.
    let region = match p.s3().await.head_bucket().bucket(name).send().await {
        Ok(o) => o.bucket_region().map(str::to_owned),
        Err(e) if matches!(e.as_service_error(), Some(HeadBucketError::NotFound(_))) => return Ok(None),
        Err(e) if is_code(&e, &["NotFound", "NoSuchBucket"]) => return Ok(None),
        Err(e) => return Err(aws_err("HeadBucket", e)),
    };
    let region = match region {
        Some(r) => r,
        None => match p.s3().await.get_bucket_location().bucket(name).send().await {
            Ok(o) => match o.location_constraint().map(|c| c.as_str()) {
                None | Some("") => "us-east-1".to_owned(),
                Some("EU") => "eu-west-1".to_owned(),
                Some(r) => r.to_owned(),
            },
            Err(e) => return Err(aws_err("GetBucketLocation", e)),
        },
    };
    configuration(p, name, &region, recorded).await.map(Some)
}

/// Many buckets: which exist, and where, from one listing of the account's
/// buckets in this region under the names' common prefix (at most a page
/// per bucket); one not listed (elsewhere, not ours, or a listing refused
/// or cut short) is read one by one. Each listed bucket's configuration is
/// still a call per block: S3 describes one bucket at a time.
async fn listed(p: &AwsProvider, prefix: &str, names: Vec<String>) -> Result<Chunk<String>, ProviderError> {
    let s3 = p.s3().await;
    let here = p.region().await;
    let mut wanted: HashSet<String> = names.iter().cloned().collect();
    let mut found = HashMap::new();
    let mut token = None;
    for _ in 0..names.len() {
        let out = match s3
            .list_buckets()
            .prefix(prefix)
            .set_bucket_region(here.clone())
            .max_buckets(1000)
            .set_continuation_token(token)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) if is_code(&e, &["AccessDenied"]) => break,
            Err(e) => return Err(aws_err("ListBuckets", e)),
        };
        for b in out.buckets() {
            let Some(name) = b.name().filter(|n| wanted.contains(*n)) else { continue };
            if let Some(region) = b.bucket_region().map(str::to_owned).or_else(|| here.clone()) {
                wanted.remove(name);
                found.insert(name.to_owned(), region);
            }
        }
        token = out.continuation_token().map(str::to_owned);
        if wanted.is_empty() || token.is_none() {
            break;
        }
    }
    // Only what the listing showed is settled: a bucket it did not show is
    // not known to be gone.
    Ok(Chunk::Partial(found))
}

/// The longest prefix all of `names` share.
fn common_prefix(names: &[&str]) -> String {
    let Some((first, rest)) = names.split_first() else { return String::new() };
    let mut len = first.len();
    for n in rest {
        len = first.bytes().zip(n.bytes()).take(len).take_while(|(a, b)| a == b).count();
    }
    while !first.is_char_boundary(len) {
        len -= 1;
    }
    first[..len].to_owned()
}

/// Every configuration block of a bucket that exists in `region`, read
/// back onto the input keys.
async fn configuration(
    p: &AwsProvider,
    name: &str,
    region: &str,
    recorded: &Value,
) -> Result<(Value, Value), ProviderError> {
    let s3 = p.s3().await;
    let versioning =
        s3.get_bucket_versioning().bucket(name).send().await.map_err(|e| aws_err("GetBucketVersioning", e))?;

    let encryption = match s3.get_bucket_encryption().bucket(name).send().await {
        Ok(o) => o
            .server_side_encryption_configuration()
            .and_then(|c| c.rules().first())
            .and_then(|r| {
                let d = r.apply_server_side_encryption_by_default()?;
                Some(match d.sse_algorithm() {
                    ServerSideEncryption::Aes256 => map([("algorithm", Value::from("AES256"))]),
                    alg => map([
                        ("algorithm", Value::from(alg.as_str())),
                        ("kmsKeyId", Value::from(d.kms_master_key_id())),
                        ("bucketKey", Value::from(r.bucket_key_enabled().unwrap_or(false))),
                    ]),
                })
            })
            .unwrap_or(Value::Null),
        Err(e) if is_code(&e, &["ServerSideEncryptionConfigurationNotFoundError"]) => Value::Null,
        Err(e) => return Err(aws_err("GetBucketEncryption", e)),
    };

    let lifecycle = match s3.get_bucket_lifecycle_configuration().bucket(name).send().await {
        Ok(o) => {
            let rules: Vec<LifecycleRule> = o.rules().iter().map(lifecycle_from_aws).collect();
            if rules.is_empty() {
                Value::Null
            } else {
                config::to_value(&rules)
            }
        }
        Err(e) if is_code(&e, &["NoSuchLifecycleConfiguration"]) => Value::Null,
        Err(e) => return Err(aws_err("GetBucketLifecycleConfiguration", e)),
    };

    let block = match s3.get_public_access_block().bucket(name).send().await {
        Ok(o) => {
            let c = o.public_access_block_configuration();
            PublicAccessBlock {
                block_public_acls: c.and_then(|c| c.block_public_acls()).unwrap_or(false),
                ignore_public_acls: c.and_then(|c| c.ignore_public_acls()).unwrap_or(false),
                block_public_policy: c.and_then(|c| c.block_public_policy()).unwrap_or(false),
                restrict_public_buckets: c.and_then(|c| c.restrict_public_buckets()).unwrap_or(false),
            }
        }
        Err(e) if is_code(&e, &["NoSuchPublicAccessBlockConfiguration"]) => PublicAccessBlock::none(),
        Err(e) => return Err(aws_err("GetPublicAccessBlock", e)),
    };

    let policy = match s3.get_bucket_policy().bucket(name).send().await {
        Ok(o) => o.policy().and_then(policy::parse).unwrap_or(Value::Null),
        Err(e) if is_code(&e, &["NoSuchBucketPolicy"]) => Value::Null,
        Err(e) => return Err(aws_err("GetBucketPolicy", e)),
    };

    let replication = match s3.get_bucket_replication().bucket(name).send().await {
        Ok(o) => o.replication_configuration().map(replication_from_aws).map_or(Value::Null, |r| config::to_value(&r)),
        Err(e) if is_code(&e, &["ReplicationConfigurationNotFoundError"]) => Value::Null,
        Err(e) => return Err(aws_err("GetBucketReplication", e)),
    };

    let logging = s3.get_bucket_logging().bucket(name).send().await.map_err(|e| aws_err("GetBucketLogging", e))?;
    let logging = logging.logging_enabled().map_or(Value::Null, |l| {
        config::to_value(&LoggingSpec {
            target_bucket: l.target_bucket().to_owned(),
            target_prefix: l.target_prefix().to_owned(),
        })
    });

    let notifications = s3
        .get_bucket_notification_configuration()
        .bucket(name)
        .send()
        .await
        .map_err(|e| aws_err("GetBucketNotificationConfiguration", e))?;
    let eventbridge = notifications.event_bridge_configuration().is_some();

    let tags = match p.indexed_tags(&format!("arn:{}:s3:::{name}", partition(region))) {
        Some(tags) => tags_value(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        None => match s3.get_bucket_tagging().bucket(name).send().await {
            Ok(o) => tags_value(o.tag_set().iter().map(|t| (t.key(), t.value()))),
            Err(e) if is_code(&e, &["NoSuchTagSet"]) => Value::Map(Default::default()),
            Err(e) => return Err(aws_err("GetBucketTagging", e)),
        },
    };

    let mut inputs = map([
        ("bucket", Value::from(name)),
        ("versioning", Value::from(versioning.status() == Some(&BucketVersioningStatus::Enabled))),
        ("encryption", encryption),
        ("lifecycleRules", lifecycle),
        ("publicAccessBlock", config::to_value(&block)),
        ("policy", policy),
        ("replication", replication),
        ("logging", logging),
        ("eventBridge", Value::from(eventbridge)),
        ("tags", tags),
    ]);
    // Not a property of the bucket: how our delete treats it.
    keep_write_only(&mut inputs, recorded, &["forceDestroy"]);
    Ok((inputs, outputs(name, region)))
}

fn lifecycle_from_aws(r: &aws_sdk_s3::types::LifecycleRule) -> LifecycleRule {
    #[allow(deprecated)] // rules written before filters existed carry a top-level prefix
    let prefix = r.filter().and_then(|f| f.prefix()).or(r.prefix()).filter(|p| !p.is_empty());
    let class = |s: Option<&TransitionStorageClass>| s.and_then(|s| StorageClass::parse(s.as_str()));
    LifecycleRule {
        id: r.id().unwrap_or_default().to_owned(),
        prefix: prefix.map(str::to_owned),
        enabled: r.status() == &ExpirationStatus::Enabled,
        transitions: r
            .transitions()
            .iter()
            .filter_map(|t| Some(Transition { days: t.days()?, storage_class: class(t.storage_class())? }))
            .collect(),
        expiration_days: r.expiration().and_then(|e| e.days()),
        noncurrent_transitions: r
            .noncurrent_version_transitions()
            .iter()
            .filter_map(|t| Some(Transition { days: t.noncurrent_days()?, storage_class: class(t.storage_class())? }))
            .collect(),
        noncurrent_expiration_days: r.noncurrent_version_expiration().and_then(|e| e.noncurrent_days()),
        abort_incomplete_multipart_days: r.abort_incomplete_multipart_upload().and_then(|a| a.days_after_initiation()),
    }
}

fn replication_from_aws(c: &ReplicationConfiguration) -> ReplicationSpec {
    #[allow(deprecated)]
    let rules = c
        .rules()
        .iter()
        .map(|r| ReplicationRuleSpec {
            id: r.id().unwrap_or_default().to_owned(),
            priority: r.priority().unwrap_or(1),
            prefix: r.filter().and_then(|f| f.prefix()).or(r.prefix()).filter(|p| !p.is_empty()).map(str::to_owned),
            destination_bucket_arn: r.destination().map(|d| d.bucket().to_owned()).unwrap_or_default(),
            storage_class: r
                .destination()
                .and_then(|d| d.storage_class())
                .and_then(|s| StorageClass::parse(s.as_str())),
            replicate_delete_markers: r.delete_marker_replication().and_then(|d| d.status())
                == Some(&DeleteMarkerReplicationStatus::Enabled),
            replica_kms_key_id: r
                .destination()
                .and_then(|d| d.encryption_configuration())
                .and_then(|e| e.replica_kms_key_id())
                .map(str::to_owned),
        })
        .collect();
    ReplicationSpec { role: c.role().to_owned(), rules }
}

/// The parsed form of a block input (`None` when unset).
fn block<T: serde::de::DeserializeOwned>(i: In<'_>, key: &str, op: &str) -> Result<Option<T>, ProviderError> {
    i.json(key)
        .map(|j| serde_json::from_value(j).map_err(|e| ProviderError::fatal(op, format!("input `{key}`: {e}"))))
        .transpose()
}

async fn put_tags(p: &AwsProvider, name: &str, tags: BTreeMap<String, String>) -> Result<(), ProviderError> {
    let set = tags
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(build_err("PutBucketTagging")))
        .collect::<Result<Vec<_>, _>>()?;
    p.s3()
        .await
        .put_bucket_tagging()
        .bucket(name)
        .tagging(Tagging::builder().set_tag_set(Some(set)).build().map_err(build_err("PutBucketTagging"))?)
        .send()
        .await
        .map_err(|e| aws_err("PutBucketTagging", e))?;
    Ok(())
}

async fn put_versioning(p: &AwsProvider, name: &str, on: bool) -> Result<(), ProviderError> {
    let status = if on { BucketVersioningStatus::Enabled } else { BucketVersioningStatus::Suspended };
    p.s3()
        .await
        .put_bucket_versioning()
        .bucket(name)
        .versioning_configuration(VersioningConfiguration::builder().status(status).build())
        .send()
        .await
        .map_err(|e| aws_err("PutBucketVersioning", e))?;
    Ok(())
}

async fn put_encryption(p: &AwsProvider, name: &str, i: In<'_>) -> Result<(), ProviderError> {
    let op = "PutBucketEncryption";
    let e = i.json("encryption").unwrap_or_default();
    let kms = e.get("algorithm").and_then(|a| a.as_str()) == Some("aws:kms");
    let default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(if kms { ServerSideEncryption::AwsKms } else { ServerSideEncryption::Aes256 })
        .set_kms_master_key_id(e.get("kmsKeyId").and_then(|k| k.as_str()).map(str::to_owned))
        .build()
        .map_err(build_err(op))?;
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(default)
        .set_bucket_key_enabled(kms.then(|| e.get("bucketKey").and_then(|b| b.as_bool()).unwrap_or(false)))
        .build();
    p.s3()
        .await
        .put_bucket_encryption()
        .bucket(name)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder().rules(rule).build().map_err(build_err(op))?,
        )
        .send()
        .await
        .map_err(|e| aws_err(op, e))?;
    Ok(())
}

async fn put_public_access_block(p: &AwsProvider, name: &str, i: In<'_>) -> Result<(), ProviderError> {
    let b: PublicAccessBlock = block(i, "publicAccessBlock", "PutPublicAccessBlock")?.unwrap_or_default();
    p.s3()
        .await
        .put_public_access_block()
        .bucket(name)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(b.block_public_acls)
                .ignore_public_acls(b.ignore_public_acls)
                .block_public_policy(b.block_public_policy)
                .restrict_public_buckets(b.restrict_public_buckets)
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws_err("PutPublicAccessBlock", e))?;
    Ok(())
}

async fn put_lifecycle(p: &AwsProvider, name: &str, i: In<'_>) -> Result<(), ProviderError> {
    let op = "PutBucketLifecycleConfiguration";
    let s3 = p.s3().await;
    let rules: Vec<LifecycleRule> = block(i, "lifecycleRules", op)?.unwrap_or_default();
    if rules.is_empty() {
        s3.delete_bucket_lifecycle().bucket(name).send().await.map_err(|e| aws_err("DeleteBucketLifecycle", e))?;
        return Ok(());
    }
    let class = |s: StorageClass| TransitionStorageClass::from(s.as_str());
    let mut aws_rules = Vec::new();
    for r in rules {
        let rule = aws_sdk_s3::types::LifecycleRule::builder()
            .id(r.id)
            .status(if r.enabled { ExpirationStatus::Enabled } else { ExpirationStatus::Disabled })
            .filter(LifecycleRuleFilter::builder().prefix(r.prefix.unwrap_or_default()).build())
            .set_transitions(Some(
                r.transitions
                    .iter()
                    .map(|t| {
                        aws_sdk_s3::types::Transition::builder()
                            .days(t.days)
                            .storage_class(class(t.storage_class))
                            .build()
                    })
                    .collect(),
            ))
            .set_expiration(r.expiration_days.map(|d| LifecycleExpiration::builder().days(d).build()))
            .set_noncurrent_version_transitions(Some(
                r.noncurrent_transitions
                    .iter()
                    .map(|t| {
                        NoncurrentVersionTransition::builder()
                            .noncurrent_days(t.days)
                            .storage_class(class(t.storage_class))
                            .build()
                    })
                    .collect(),
            ))
            .set_noncurrent_version_expiration(
                r.noncurrent_expiration_days.map(|d| NoncurrentVersionExpiration::builder().noncurrent_days(d).build()),
            )
            .set_abort_incomplete_multipart_upload(
                r.abort_incomplete_multipart_days
                    .map(|d| AbortIncompleteMultipartUpload::builder().days_after_initiation(d).build()),
            )
            .build()
            .map_err(build_err(op))?;
        aws_rules.push(rule);
    }
    s3.put_bucket_lifecycle_configuration()
        .bucket(name)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder().set_rules(Some(aws_rules)).build().map_err(build_err(op))?,
        )
        .send()
        .await
        .map_err(|e| aws_err(op, e))?;
    Ok(())
}

async fn put_policy(p: &AwsProvider, name: &str, i: In<'_>) -> Result<(), ProviderError> {
    let s3 = p.s3().await;
    match i.json("policy").and_then(|_| policy::to_json(i.value("policy"))) {
        Some(text) => {
            s3.put_bucket_policy().bucket(name).policy(text).send().await.map_err(|e| aws_err("PutBucketPolicy", e))?;
        }
        None => {
            s3.delete_bucket_policy().bucket(name).send().await.map_err(|e| aws_err("DeleteBucketPolicy", e))?;
        }
    }
    Ok(())
}

async fn put_notifications(p: &AwsProvider, name: &str, i: In<'_>) -> Result<(), ProviderError> {
    let config = aws_sdk_s3::types::NotificationConfiguration::builder()
        .set_event_bridge_configuration(
            i.bool("eventBridge").then(|| aws_sdk_s3::types::EventBridgeConfiguration::builder().build()),
        )
        .build();
    p.s3()
        .await
        .put_bucket_notification_configuration()
        .bucket(name)
        .notification_configuration(config)
        .send()
        .await
        .map_err(|e| aws_err("PutBucketNotificationConfiguration", e))?;
    Ok(())
}

async fn put_logging(p: &AwsProvider, name: &str, i: In<'_>) -> Result<(), ProviderError> {
    let op = "PutBucketLogging";
    let spec: Option<LoggingSpec> = block(i, "logging", op)?;
    let status = match spec {
        Some(l) => BucketLoggingStatus::builder()
            .logging_enabled(
                LoggingEnabled::builder()
                    .target_bucket(l.target_bucket)
                    .target_prefix(l.target_prefix)
                    .build()
                    .map_err(build_err(op))?,
            )
            .build(),
        None => BucketLoggingStatus::builder().build(),
    };
    p.s3()
        .await
        .put_bucket_logging()
        .bucket(name)
        .bucket_logging_status(status)
        .send()
        .await
        .map_err(|e| aws_err(op, e))?;
    Ok(())
}

async fn put_replication(p: &AwsProvider, name: &str, i: In<'_>) -> Result<(), ProviderError> {
    let op = "PutBucketReplication";
    let s3 = p.s3().await;
    let Some(spec) = block::<ReplicationSpec>(i, "replication", op)? else {
        s3.delete_bucket_replication().bucket(name).send().await.map_err(|e| aws_err("DeleteBucketReplication", e))?;
        return Ok(());
    };
    let mut rules = Vec::new();
    for r in spec.rules {
        let mut dest = Destination::builder()
            .bucket(r.destination_bucket_arn)
            .set_storage_class(r.storage_class.map(|s| aws_sdk_s3::types::StorageClass::from(s.as_str())));
        let mut rule = aws_sdk_s3::types::ReplicationRule::builder()
            .id(r.id)
            .priority(r.priority)
            .status(ReplicationRuleStatus::Enabled)
            .filter(ReplicationRuleFilter::builder().prefix(r.prefix.unwrap_or_default()).build())
            .delete_marker_replication(
                DeleteMarkerReplication::builder()
                    .status(if r.replicate_delete_markers {
                        DeleteMarkerReplicationStatus::Enabled
                    } else {
                        DeleteMarkerReplicationStatus::Disabled
                    })
                    .build(),
            );
        if let Some(key) = r.replica_kms_key_id {
            dest = dest.encryption_configuration(EncryptionConfiguration::builder().replica_kms_key_id(key).build());
            rule = rule.source_selection_criteria(
                SourceSelectionCriteria::builder()
                    .sse_kms_encrypted_objects(
                        SseKmsEncryptedObjects::builder()
                            .status(SseKmsEncryptedObjectsStatus::Enabled)
                            .build()
                            .map_err(build_err(op))?,
                    )
                    .build(),
            );
        }
        rules.push(rule.destination(dest.build().map_err(build_err(op))?).build().map_err(build_err(op))?);
    }
    s3.put_bucket_replication()
        .bucket(name)
        .replication_configuration(
            ReplicationConfiguration::builder()
                .role(spec.role)
                .set_rules(Some(rules))
                .build()
                .map_err(build_err(op))?,
        )
        .send()
        .await
        .map_err(|e| aws_err(op, e))?;
    Ok(())
}

/// Deletes every object version and delete marker (for `force_destroy`).
async fn empty(p: &AwsProvider, name: &str) -> Result<(), ProviderError> {
    let s3 = p.s3().await;
    let (mut key_marker, mut version_marker) = (None, None);
    loop {
        let page = s3
            .list_object_versions()
            .bucket(name)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send()
            .await
            .map_err(|e| aws_err("ListObjectVersions", e))?;
        let ids = page
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(page.delete_markers().iter().map(|m| (m.key(), m.version_id())))
            .filter_map(|(k, v)| {
                ObjectIdentifier::builder()
                    .set_key(k.map(str::to_owned))
                    .set_version_id(v.map(str::to_owned))
                    .build()
                    .ok()
            })
            .collect::<Vec<_>>();
        // A page holds at most 1000 entries, DeleteObjects' limit.
        if !ids.is_empty() {
            let out = s3
                .delete_objects()
                .bucket(name)
                .delete(
                    Delete::builder().set_objects(Some(ids)).quiet(true).build().map_err(build_err("DeleteObjects"))?,
                )
                .send()
                .await
                .map_err(|e| aws_err("DeleteObjects", e))?;
            if let Some(err) = out.errors().first() {
                return Err(ProviderError::fatal(
                    "DeleteObjects",
                    format!("emptying {name}: {} on {}", err.message().unwrap_or("error"), err.key().unwrap_or("?")),
                ));
            }
        }
        if page.is_truncated() != Some(true) {
            return Ok(());
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
    }
}

pub(crate) struct BucketHandler;

/// Whether `name`, a bucket this account owns, is what an earlier attempt of
/// this create made: it carries the resource's identity tags, or none at
/// all (the attempt stopped before tagging, which comes first after the
/// create). As us-east-1 answers a repeated create, for every region.
async fn own_attempt(p: &AwsProvider, name: &str, req: &CreateRequest) -> Result<bool, ProviderError> {
    match p.s3().await.get_bucket_tagging().bucket(name).send().await {
        Ok(t) => {
            let get = |key: &str| t.tag_set().iter().find(|t| t.key() == key).map(|t| t.value());
            Ok(get(TAG_STACK) == Some(req.stack.as_str()) && get(TAG_NAME) == Some(req.urn.as_str()))
        }
        Err(e) if is_code(&e, &["NoSuchTagSet"]) => Ok(true),
        Err(e) => Err(aws_err("GetBucketTagging", e)),
    }
}

#[async_trait]
impl Handler for BucketHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateBucket");
        let name = i.str("bucket")?;
        let region = p.region().await.unwrap_or_else(|| "us-east-1".to_owned());
        let location = (region != "us-east-1").then(|| {
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build()
        });
        // A repeat (the SDK's retry after a lost response) is answered 200
        // in us-east-1 and `BucketAlreadyOwnedByYou` elsewhere: the bucket
        // is this create's own unless another resource's tags are on it.
        match p.s3().await.create_bucket().bucket(name).set_create_bucket_configuration(location).send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, &["BucketAlreadyOwnedByYou"]) && own_attempt(p, name, &req).await? => {}
            Err(e) => return Err(aws_err("CreateBucket", e)),
        }
        // S3 is eventually consistent about new buckets.
        wait_for(&format!("bucket {name} visible"), req.timeout, Duration::from_secs(120), || async {
            Ok(exists(p, name).await?.then_some(()))
        })
        .await?;
        // Identity tags first, so a run dying mid-configuration leaves a
        // bucket the next run can find and finish.
        put_tags(p, name, tags_with_identity(&req.inputs, &req.stack, &req.urn)).await?;
        put_public_access_block(p, name, i).await?;
        put_encryption(p, name, i).await?;
        if i.bool("versioning") {
            put_versioning(p, name, true).await?;
        }
        if i.json("lifecycleRules").is_some() {
            put_lifecycle(p, name, i).await?;
        }
        if i.json("policy").is_some() {
            put_policy(p, name, i).await?;
        }
        if i.json("logging").is_some() {
            put_logging(p, name, i).await?;
        }
        if i.bool("eventBridge") {
            put_notifications(p, name, i).await?;
        }
        if i.json("replication").is_some() {
            put_replication(p, name, i).await?;
        }
        Ok(CreateResult { id: name.to_owned(), outputs: outputs(name, &region) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id, &req.inputs).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        let prefix = common_prefix(&reqs.iter().map(|r| r.id.as_str()).collect::<Vec<_>>());
        let prefix = &prefix;
        read_batched(
            reqs,
            READ_BATCH,
            by_id,
            |_, names| async move { listed(p, prefix, names).await },
            |req, region| async move {
                let (inputs, outputs) = configuration(p, &req.id, &region, &req.inputs).await?;
                Ok(Some(ReadResult { id: req.id, inputs, outputs }))
            },
            |req| self.read(p, req),
        )
        .await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let i = In::new(&req.inputs, "UpdateBucket");
        let name = req.id.as_str();
        let changed = |key: &str| req.changed.iter().any(|c| c == key);
        if changed("tags") {
            put_tags(p, name, tags_with_identity(&req.inputs, &req.stack, &req.urn)).await?;
        }
        if changed("publicAccessBlock") {
            put_public_access_block(p, name, i).await?;
        }
        if changed("encryption") {
            put_encryption(p, name, i).await?;
        }
        // Replication needs versioning: enable versioning before adding
        // replication, and drop replication before suspending versioning.
        if changed("replication") && i.json("replication").is_none() {
            put_replication(p, name, i).await?;
        }
        if changed("versioning") {
            put_versioning(p, name, i.bool("versioning")).await?;
        }
        if changed("replication") && i.json("replication").is_some() {
            put_replication(p, name, i).await?;
        }
        if changed("lifecycleRules") {
            put_lifecycle(p, name, i).await?;
        }
        if changed("policy") {
            put_policy(p, name, i).await?;
        }
        if changed("logging") {
            put_logging(p, name, i).await?;
        }
        if changed("eventBridge") {
            put_notifications(p, name, i).await?;
        }
        let region = p.region().await.unwrap_or_else(|| "us-east-1".to_owned());
        Ok(UpdateResult { outputs: outputs(name, &region) })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let name = req.id.as_str();
        if !exists(p, name).await? {
            return Ok(());
        }
        let force = In::new(&req.inputs, "DeleteBucket").bool("forceDestroy");
        // Objects can keep arriving while we empty the bucket (access logs,
        // replication, a last writer), so a forced delete empties again.
        let mut attempts = 0;
        loop {
            if force {
                empty(p, name).await?;
            }
            match p.s3().await.delete_bucket().bucket(name).send().await {
                Ok(_) => break,
                Err(e) if is_code(&e, &["NoSuchBucket"]) => return Ok(()),
                Err(e) if is_code(&e, &["BucketNotEmpty"]) && force && attempts < 5 => attempts += 1,
                Err(e) if is_code(&e, &["BucketNotEmpty"]) && !force => {
                    return Err(ProviderError::fatal(
                        "DeleteBucket",
                        format!(
                            "bucket {name} still holds objects; empty it, or set `force_destroy` to let destroy do it"
                        ),
                    ))
                }
                Err(e) => return Err(aws_err("DeleteBucket", e)),
            }
        }
        wait_for(&format!("bucket {name} deleted"), req.timeout, Duration::from_secs(120), || async {
            Ok((!exists(p, name).await?).then_some(()))
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("bucket") else { return Ok(None) };
        let tags = match p.s3().await.get_bucket_tagging().bucket(name).send().await {
            Ok(t) => t,
            Err(e) if is_code(&e, &["NoSuchBucket", "NoSuchTagSet", "AccessDenied"]) => return Ok(None),
            Err(e) => return Err(aws_err("GetBucketTagging", e)),
        };
        let get = |key: &str| tags.tag_set().iter().find(|t| t.key() == key).map(|t| t.value());
        if get(TAG_STACK) != Some(req.stack.as_str()) || get(TAG_NAME) != Some(req.urn.as_str()) {
            return Ok(None);
        }
        let found = describe(p, name, &req.inputs).await?.map(|(inputs, outputs)| ReadResult {
            id: name.to_owned(),
            inputs,
            outputs,
        });
        Ok(unless_known(&req, found))
    }
}
