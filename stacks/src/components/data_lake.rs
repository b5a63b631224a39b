//! `DataLake`: a set of S3 buckets sharing one policy — versioned,
//! encrypted (SSE-S3 or a dedicated KMS key with bucket keys), public
//! access blocked, access-logged into a log bucket, with per-bucket
//! lifecycle rules, optional Intelligent-Tiering archive configurations
//! and optional cross-region replication (with a KMS key
//! of the replica region's own when the lake is KMS-encrypted: S3 skips
//! KMS-encrypted objects unless the rule names a key to re-encrypt them
//! with there).

use std::collections::BTreeMap;

use iac_aws::kms::Key;
use iac_aws::policy::{PolicyDocument, Principal, Statement};
use iac_aws::s3::{
    Bucket, Encryption, IntelligentTiering, LifecycleRule, Logging, Replication, ReplicationRule, StorageClass,
};
use iac_aws::{AwsProvider, AwsSettings};
use iac_core::{Output, ResourceOptions, Stack};

use super::iam::service_role;

/// One bucket of the lake.
#[derive(Clone, Debug)]
pub struct LakeBucket {
    /// Its role in the lake (`raw`, `processed`); the bucket is named
    /// `<prefix>-<key>`.
    pub key: String,
    /// Its lifecycle rules.
    pub lifecycle: Vec<LifecycleRule>,
    /// Replicate it to the replica region.
    pub replicate: bool,
    /// Send its object events to EventBridge.
    pub eventbridge: bool,
    /// Its Intelligent-Tiering archive configurations.
    pub archive_tiering: Vec<ArchiveTiering>,
}

/// An S3 Intelligent-Tiering archive configuration of a lake bucket:
/// objects in the `INTELLIGENT_TIERING` class (written so, or moved there
/// by a lifecycle rule) not read for so many days move on to the Archive
/// Access and Deep Archive Access tiers.
#[derive(Clone, Debug)]
pub struct ArchiveTiering {
    /// Its name in the bucket.
    pub name: String,
    /// Only objects under this key prefix (every object when unset).
    pub prefix: Option<String>,
    /// Days without access before Archive Access (90–730).
    pub archive_access_days: Option<i32>,
    /// Days without access before Deep Archive Access (180–730).
    pub deep_archive_access_days: Option<i32>,
}

impl LakeBucket {
    /// A bucket with no lifecycle, replication, events or archive tiers.
    pub fn plain(key: &str) -> LakeBucket {
        LakeBucket {
            key: key.into(),
            lifecycle: Vec::new(),
            replicate: false,
            eventbridge: false,
            archive_tiering: Vec::new(),
        }
    }

    /// With a lifecycle rule.
    pub fn with_rule(mut self, rule: LifecycleRule) -> LakeBucket {
        self.lifecycle.push(rule);
        self
    }

    /// With an Intelligent-Tiering archive configuration.
    pub fn with_archive_tiering(mut self, tiering: ArchiveTiering) -> LakeBucket {
        self.archive_tiering.push(tiering);
        self
    }
}

/// What the lake looks like.
#[derive(Clone, Debug)]
pub struct DataLakeArgs {
    /// Bucket name prefix (globally unique: include the project and
    /// environment).
    pub prefix: String,
    /// The buckets.
    pub buckets: Vec<LakeBucket>,
    /// Encrypt with a dedicated KMS key (else SSE-S3).
    pub kms: bool,
    /// Log every bucket's access into `<prefix>-access-logs`.
    pub access_logging: bool,
    /// The region replicas live in (buckets with `replicate`). With `kms`,
    /// the replicas are encrypted with a key made in that region.
    pub replica_region: Option<String>,
    /// Let destroy empty the buckets (development).
    pub force_destroy: bool,
}

/// The lake's handles.
pub struct DataLake {
    /// Bucket name by key.
    pub buckets: BTreeMap<String, Output<String>>,
    /// Bucket ARN by key.
    pub arns: BTreeMap<String, Output<String>>,
    /// The KMS key's ARN, if the lake has one.
    pub kms_key_arn: Option<Output<String>>,
}

/// A rule moving objects to cheaper storage: Standard-IA after `ia` days,
/// Glacier after `glacier` days, and deleting them after `expire` days.
pub fn tiering_rule(id: &str, ia: i32, glacier: i32, expire: Option<i32>) -> LifecycleRule {
    use iac_aws::s3::Transition;
    LifecycleRule::builder()
        .id(id)
        .transitions(vec![
            Transition::after(ia, StorageClass::StandardIa),
            Transition::after(glacier, StorageClass::Glacier),
        ])
        .maybe_expiration_days(expire)
        .noncurrent_expiration_days(90)
        .abort_incomplete_multipart_days(7)
        .build()
}

impl DataLake {
    /// Declares the lake as component `name` of `stack`.
    pub fn new(stack: &Stack, name: &str, args: &DataLakeArgs) -> DataLake {
        let c = stack.component("stacks:DataLake", name);
        let key = args.kms.then(|| {
            c.add(
                "key",
                Key::builder()
                    .description(format!("{} data lake", args.prefix))
                    .enable_key_rotation(true)
                    .deletion_window_in_days(7)
                    .build(),
            )
        });
        let encryption = || match &key {
            Some(k) => Encryption::Kms { key_id: Some(k.arn.clone().into()), bucket_key: true },
            None => Encryption::SseS3,
        };
        let log_bucket = args.access_logging.then(|| {
            c.add(
                "access-logs",
                Bucket::builder()
                    .bucket(format!("{}-access-logs", args.prefix))
                    .versioning(true)
                    // Log delivery writes with SSE-S3 only.
                    .encryption(Encryption::SseS3)
                    .lifecycle_rules(vec![tiering_rule("age-out", 30, 90, Some(365))])
                    .policy(
                        PolicyDocument::new().statement(
                            Statement::builder()
                                .sid("S3ServerAccessLogs")
                                .actions(["s3:PutObject"])
                                .principals(vec![Principal::Service("logging.s3.amazonaws.com".into())])
                                .resources(vec![format!("arn:aws:s3:::{}-access-logs/*", args.prefix).into()])
                                .build(),
                        ),
                    )
                    .force_destroy(args.force_destroy)
                    .build(),
            )
        });
        // Replicas live in a second region, through a provider of their own.
        let replication =
            args.replica_region.as_ref().filter(|_| args.buckets.iter().any(|b| b.replicate)).map(|region| {
                let west = c.provider(
                    &format!("aws-{region}"),
                    AwsProvider::new(AwsSettings { region: Some(region.clone()), ..Default::default() }),
                );
                let role = service_role(
                    &c,
                    "replication-role",
                    &format!("{}-replication", args.prefix),
                    "s3.amazonaws.com",
                    &[],
                    vec![],
                );
                // S3 replicates KMS-encrypted objects only when the rule
                // names a key in the destination's region to re-encrypt
                // them with (a KMS key never leaves its region).
                let replica_key = key.as_ref().map(|_| {
                    c.add_with(
                        "replica-key",
                        Key::builder()
                            .description(format!("{} data lake replicas ({region})", args.prefix))
                            .enable_key_rotation(true)
                            .deletion_window_in_days(7)
                            .build(),
                        ResourceOptions::default().provider(&west),
                    )
                    .arn
                    .clone()
                });
                (west, role, region.clone(), replica_key)
            });
        let mut buckets = BTreeMap::new();
        let mut arns = BTreeMap::new();
        let mut replication_statements = Vec::new();
        for b in &args.buckets {
            let name = format!("{}-{}", args.prefix, b.key);
            let replication_config = match (&replication, b.replicate) {
                (Some((west, role, region, replica_key)), true) => {
                    let replica = c.add_with(
                        &format!("{}-replica", b.key),
                        Bucket::builder()
                            .bucket(format!("{name}-{region}"))
                            .versioning(true)
                            .encryption(match replica_key {
                                Some(k) => Encryption::Kms { key_id: Some(k.clone().into()), bucket_key: true },
                                None => Encryption::SseS3,
                            })
                            .force_destroy(args.force_destroy)
                            .build(),
                        ResourceOptions::default().provider(west),
                    );
                    replication_statements.push(
                        Statement::builder()
                            .actions(["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"])
                            .resources(vec![replica.arn.map(|a| format!("{a}/*")).into()])
                            .build(),
                    );
                    Some(
                        Replication::builder()
                            .role(role.arn.clone())
                            .rules(vec![ReplicationRule::builder()
                                .id("everything")
                                .destination_bucket_arn(replica.arn.clone())
                                .storage_class(StorageClass::StandardIa)
                                .maybe_replica_kms_key_id(replica_key.clone())
                                .build()])
                            .build(),
                    )
                }
                _ => None,
            };
            let bucket = c.add(
                &b.key,
                Bucket::builder()
                    .bucket(name.clone())
                    .versioning(true)
                    .encryption(encryption())
                    .lifecycle_rules(b.lifecycle.clone())
                    .maybe_logging(log_bucket.as_ref().map(|l| {
                        Logging::builder().target_bucket(l.id.clone()).target_prefix(format!("{}/", b.key)).build()
                    }))
                    .maybe_replication(replication_config)
                    .eventbridge_notifications(b.eventbridge)
                    .force_destroy(args.force_destroy)
                    .build(),
            );
            for t in &b.archive_tiering {
                c.add(
                    &format!("{}-tiering-{}", b.key, t.name),
                    IntelligentTiering::builder()
                        .bucket(bucket.id.clone())
                        .name(t.name.clone())
                        .maybe_prefix(t.prefix.clone())
                        .maybe_archive_access_days(t.archive_access_days)
                        .maybe_deep_archive_access_days(t.deep_archive_access_days)
                        .build(),
                );
            }
            if b.replicate && replication.is_some() {
                replication_statements.push(
                    Statement::builder()
                        .actions([
                            "s3:GetReplicationConfiguration",
                            "s3:ListBucket",
                            "s3:GetObjectVersionForReplication",
                        ])
                        .resources(vec![bucket.arn.clone().into(), bucket.arn.map(|a| format!("{a}/*")).into()])
                        .build(),
                );
            }
            buckets.insert(b.key.clone(), bucket.id.clone());
            arns.insert(b.key.clone(), bucket.arn.clone());
        }
        if let Some((_, role, _, replica_key)) = &replication {
            // Reading KMS-encrypted objects and re-encrypting the replicas.
            if let (Some(source), Some(replica)) = (&key, replica_key) {
                replication_statements.push(
                    Statement::builder().actions(["kms:Decrypt"]).resources(vec![source.arn.clone().into()]).build(),
                );
                replication_statements.push(
                    Statement::builder().actions(["kms:Encrypt"]).resources(vec![replica.clone().into()]).build(),
                );
            }
            let mut doc = PolicyDocument::new();
            for st in replication_statements {
                doc = doc.statement(st);
            }
            c.add(
                "replication-policy",
                iac_aws::iam::RolePolicy::builder().role(role.id.clone()).name("replicate").policy(doc).build(),
            );
        }
        DataLake { buckets, arns, kms_key_arn: key.map(|k| k.arn.clone()) }
    }
}
