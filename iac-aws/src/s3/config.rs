//! A bucket's configuration blocks: typed builders for the program, one
//! input shape each (what the program declares and what `read` maps AWS's
//! answer onto), and the checks AWS would otherwise fail on.

use std::collections::BTreeSet;

use iac_core::{Checks, Expr, Input, Value};
use serde::{Deserialize, Serialize};

use crate::util::opt_expr;

/// A storage class objects move to (lifecycle) or are replicated into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StorageClass {
    /// S3 Standard (replication destinations only).
    #[serde(rename = "STANDARD")]
    Standard,
    /// Standard-Infrequent Access (objects at least 30 days old).
    #[serde(rename = "STANDARD_IA")]
    StandardIa,
    /// One Zone-Infrequent Access (objects at least 30 days old).
    #[serde(rename = "ONEZONE_IA")]
    OnezoneIa,
    /// Intelligent-Tiering: AWS moves objects between tiers by access.
    #[serde(rename = "INTELLIGENT_TIERING")]
    IntelligentTiering,
    /// Glacier Instant Retrieval.
    #[serde(rename = "GLACIER_IR")]
    GlacierIr,
    /// Glacier Flexible Retrieval.
    #[serde(rename = "GLACIER")]
    Glacier,
    /// Glacier Deep Archive.
    #[serde(rename = "DEEP_ARCHIVE")]
    DeepArchive,
}

impl StorageClass {
    /// AWS's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageClass::Standard => "STANDARD",
            StorageClass::StandardIa => "STANDARD_IA",
            StorageClass::OnezoneIa => "ONEZONE_IA",
            StorageClass::IntelligentTiering => "INTELLIGENT_TIERING",
            StorageClass::GlacierIr => "GLACIER_IR",
            StorageClass::Glacier => "GLACIER",
            StorageClass::DeepArchive => "DEEP_ARCHIVE",
        }
    }

    /// Parses AWS's name.
    pub fn parse(s: &str) -> Option<StorageClass> {
        serde_json::from_value(serde_json::Value::from(s)).ok()
    }
}

/// Default encryption of new objects.
#[derive(Clone, Debug, Default)]
pub enum Encryption {
    /// S3-managed keys (AES-256), which AWS applies to every bucket anyway.
    #[default]
    SseS3,
    /// A KMS key (`None`: the account's `aws/s3` key).
    Kms {
        /// The key's ARN (or another resource's output).
        key_id: Option<Input<String>>,
        /// Use an S3 bucket key, cutting KMS requests (and cost).
        bucket_key: bool,
    },
}

impl Encryption {
    pub(crate) fn to_expr(&self) -> Expr {
        match self {
            Encryption::SseS3 => Expr::Map([("algorithm".to_owned(), Expr::Value("AES256".into()))].into()),
            Encryption::Kms { key_id, bucket_key } => Expr::Map(
                [
                    ("algorithm".to_owned(), Expr::Value("aws:kms".into())),
                    ("kmsKeyId".to_owned(), opt_expr(key_id.as_ref())),
                    ("bucketKey".to_owned(), Expr::Value((*bucket_key).into())),
                ]
                .into_iter()
                .filter(|(_, e)| !matches!(e, Expr::Value(Value::Null)))
                .collect(),
            ),
        }
    }
}

/// The bucket's public access block. The default blocks everything, as AWS
/// does for new buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, bon::Builder)]
#[serde(rename_all = "camelCase")]
pub struct PublicAccessBlock {
    /// Refuse requests that set public ACLs.
    #[builder(default = true)]
    pub block_public_acls: bool,
    /// Ignore public ACLs already present.
    #[builder(default = true)]
    pub ignore_public_acls: bool,
    /// Refuse bucket policies that grant public access.
    #[builder(default = true)]
    pub block_public_policy: bool,
    /// Limit access under a public policy to AWS services and the account.
    #[builder(default = true)]
    pub restrict_public_buckets: bool,
}

impl Default for PublicAccessBlock {
    fn default() -> Self {
        PublicAccessBlock::builder().build()
    }
}

impl PublicAccessBlock {
    /// No blocking at all (a public website bucket).
    pub fn none() -> PublicAccessBlock {
        PublicAccessBlock {
            block_public_acls: false,
            ignore_public_acls: false,
            block_public_policy: false,
            restrict_public_buckets: false,
        }
    }
}

/// Objects moving to another storage class some days after creation (or,
/// for noncurrent versions, after becoming noncurrent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    /// Days after creation (or after becoming noncurrent).
    pub days: i32,
    /// Where objects go.
    pub storage_class: StorageClass,
}

impl Transition {
    /// Move objects to `storage_class` after `days`.
    pub fn after(days: i32, storage_class: StorageClass) -> Transition {
        Transition { days, storage_class }
    }
}

/// One lifecycle rule.
///
/// ```
/// use iac_aws::s3::{LifecycleRule, StorageClass, Transition};
/// let rule = LifecycleRule::builder()
///     .id("raw-data")
///     .prefix("raw/")
///     .transitions(vec![
///         Transition::after(0, StorageClass::IntelligentTiering),
///         Transition::after(180, StorageClass::Glacier),
///     ])
///     .noncurrent_expiration_days(30)
///     .abort_incomplete_multipart_days(7)
///     .build();
/// # let _ = rule;
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bon::Builder)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleRule {
    /// The rule's id (unique in the bucket).
    #[builder(into)]
    pub id: String,
    /// Only objects under this key prefix (else every object).
    #[builder(into)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Whether the rule is applied.
    #[builder(default = true)]
    pub enabled: bool,
    /// Storage-class transitions of current versions.
    #[builder(default)]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<Transition>,
    /// Delete current versions this many days after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_days: Option<i32>,
    /// Storage-class transitions of noncurrent versions.
    #[builder(default)]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub noncurrent_transitions: Vec<Transition>,
    /// Delete noncurrent versions this many days after they became so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noncurrent_expiration_days: Option<i32>,
    /// Abort multipart uploads left incomplete this many days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_incomplete_multipart_days: Option<i32>,
}

impl LifecycleRule {
    fn validate(&self, c: &mut Checks, field: &str) {
        c.check(!self.id.is_empty() && self.id.len() <= 255, field, || {
            format!("rule id `{}` must be 1–255 characters", self.id)
        });
        let actions = !self.transitions.is_empty()
            || self.expiration_days.is_some()
            || !self.noncurrent_transitions.is_empty()
            || self.noncurrent_expiration_days.is_some()
            || self.abort_incomplete_multipart_days.is_some();
        c.check(actions, field, || format!("rule `{}` has no transition or expiration", self.id));
        for (list, what) in
            [(&self.transitions, "transitions"), (&self.noncurrent_transitions, "noncurrentTransitions")]
        {
            let mut last = -1;
            let mut infrequent: Option<(StorageClass, i32)> = None;
            for t in list {
                let f = format!("{field}.{what}");
                c.check(t.storage_class != StorageClass::Standard, &f, || {
                    format!("rule `{}`: objects cannot transition to STANDARD", self.id)
                });
                c.check(t.days >= 0, &f, || format!("rule `{}`: {} days is negative", self.id, t.days));
                if matches!(t.storage_class, StorageClass::StandardIa | StorageClass::OnezoneIa) {
                    c.check(t.days >= 30, &f, || {
                        format!(
                            "rule `{}`: {} needs objects at least 30 days old, not {}",
                            self.id,
                            t.storage_class.as_str(),
                            t.days
                        )
                    });
                }
                c.check(t.days > last, &f, || {
                    format!("rule `{}`: transitions must be in increasing days ({} after {last})", self.id, t.days)
                });
                // S3 keeps objects at least 30 days in Standard-IA or One
                // Zone-IA before a later transition takes them on.
                if let Some((ia, at)) = infrequent {
                    c.check(t.days >= at + 30, &f, || {
                        format!(
                            "rule `{}`: {} at {} days is less than 30 days after {} at {at}; S3 needs {} days or more",
                            self.id,
                            t.storage_class.as_str(),
                            t.days,
                            ia.as_str(),
                            at + 30
                        )
                    });
                }
                if matches!(t.storage_class, StorageClass::StandardIa | StorageClass::OnezoneIa) {
                    infrequent = Some((t.storage_class, t.days));
                }
                last = t.days;
            }
        }
        if let (Some(exp), Some(last)) = (self.expiration_days, self.transitions.last()) {
            c.check(exp > last.days, &format!("{field}.expirationDays"), || {
                format!("rule `{}`: expiration at {exp} days is not after the last transition ({})", self.id, last.days)
            });
        }
        for (v, what) in [
            (self.expiration_days, "expirationDays"),
            (self.noncurrent_expiration_days, "noncurrentExpirationDays"),
            (self.abort_incomplete_multipart_days, "abortIncompleteMultipartDays"),
        ] {
            if let Some(d) = v {
                c.check(d >= 1, &format!("{field}.{what}"), || {
                    format!("rule `{}`: {d} days must be at least 1", self.id)
                });
            }
        }
    }
}

/// Checks a bucket's lifecycle rules together: each rule, and unique ids.
pub(crate) fn validate_rules(rules: &[LifecycleRule], c: &mut Checks) {
    let mut ids = BTreeSet::new();
    for r in rules {
        r.validate(c, "lifecycleRules");
        c.check(ids.insert(r.id.as_str()), "lifecycleRules", || format!("rule id `{}` is used twice", r.id));
    }
    c.check(rules.len() <= 1000, "lifecycleRules", || format!("{} rules; a bucket takes at most 1000", rules.len()));
}

/// Access logs written to another bucket.
#[derive(Clone, Debug, bon::Builder)]
pub struct Logging {
    /// The bucket receiving the logs (its name, or its `id` output). It must
    /// let `logging.s3.amazonaws.com` put objects.
    #[builder(into)]
    pub target_bucket: Input<String>,
    /// Key prefix of the log objects.
    #[builder(into, default)]
    pub target_prefix: String,
}

impl Logging {
    pub(crate) fn to_expr(&self) -> Expr {
        Expr::Map(
            [
                ("targetBucket".to_owned(), self.target_bucket.to_expr()),
                ("targetPrefix".to_owned(), Expr::Value(self.target_prefix.as_str().into())),
            ]
            .into(),
        )
    }
}

/// Cross-region (or same-region) replication of new objects. The source
/// bucket and every destination must have versioning enabled.
///
/// ```
/// use iac_aws::s3::{Replication, ReplicationRule, StorageClass};
/// let replication = Replication::builder()
///     .role("arn:aws:iam::123456789012:role/replication")
///     .rules(vec![ReplicationRule::builder()
///         .id("all")
///         .destination_bucket_arn("arn:aws:s3:::backups-us-west-2")
///         .storage_class(StorageClass::StandardIa)
///         .build()])
///     .build();
/// # let _ = replication;
/// ```
#[derive(Clone, Debug, bon::Builder)]
pub struct Replication {
    /// The role S3 assumes to replicate.
    #[builder(into)]
    pub role: Input<String>,
    /// The rules (at least one).
    pub rules: Vec<ReplicationRule>,
}

/// One replication rule.
#[derive(Clone, Debug, bon::Builder)]
pub struct ReplicationRule {
    /// The rule's id.
    #[builder(into)]
    pub id: String,
    /// Higher wins when rules overlap.
    #[builder(default = 1)]
    pub priority: i32,
    /// Only objects under this key prefix.
    #[builder(into)]
    pub prefix: Option<String>,
    /// The destination bucket's ARN (usually another provider's bucket).
    #[builder(into)]
    pub destination_bucket_arn: Input<String>,
    /// The replicas' storage class (else the source object's).
    pub storage_class: Option<StorageClass>,
    /// Replicate delete markers too.
    #[builder(default)]
    pub replicate_delete_markers: bool,
    /// Replicate objects encrypted with KMS, re-encrypting them with this
    /// key in the destination's region.
    #[builder(into)]
    pub replica_kms_key_id: Option<Input<String>>,
}

impl Replication {
    pub(crate) fn to_expr(&self) -> Expr {
        let rules = self
            .rules
            .iter()
            .map(|r| {
                Expr::Map(
                    [
                        ("id", Expr::Value(r.id.as_str().into())),
                        ("priority", Expr::Value(i64::from(r.priority).into())),
                        ("prefix", Expr::Value(r.prefix.clone().into())),
                        ("destinationBucketArn", r.destination_bucket_arn.to_expr()),
                        ("storageClass", Expr::Value(r.storage_class.map(StorageClass::as_str).into())),
                        ("replicateDeleteMarkers", Expr::Value(r.replicate_delete_markers.into())),
                        ("replicaKmsKeyId", opt_expr(r.replica_kms_key_id.as_ref())),
                    ]
                    .into_iter()
                    .filter(|(_, e)| !matches!(e, Expr::Value(Value::Null)))
                    .map(|(k, e)| (k.to_owned(), e))
                    .collect(),
                )
            })
            .collect();
        Expr::Map([("role".to_owned(), self.role.to_expr()), ("rules".to_owned(), Expr::List(rules))].into())
    }

    pub(crate) fn validate(&self, c: &mut Checks, versioning: bool) {
        c.check(versioning, "replication", || "replication needs versioning enabled on the bucket".to_owned());
        c.check(!self.rules.is_empty(), "replication.rules", || "at least one rule is needed".to_owned());
        let mut ids = BTreeSet::new();
        let mut priorities = BTreeSet::new();
        for r in &self.rules {
            c.check(ids.insert(r.id.as_str()), "replication.rules", || format!("rule id `{}` is used twice", r.id));
            c.check(priorities.insert(r.priority), "replication.rules", || {
                format!("rule `{}`: priority {} is used twice", r.id, r.priority)
            });
            if let Some(arn) = r.destination_bucket_arn.value() {
                c.check(arn.starts_with("arn:aws") && arn.contains(":s3:::"), "replication.rules", || {
                    format!("rule `{}`: destination `{arn}` is not a bucket ARN (arn:aws:s3:::name)", r.id)
                });
            }
        }
    }
}

/// The resolved replication input: what is sent to AWS and what `read`
/// maps AWS's answer onto.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReplicationSpec {
    pub role: String,
    pub rules: Vec<ReplicationRuleSpec>,
}

/// One resolved replication rule.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReplicationRuleSpec {
    pub id: String,
    pub priority: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    pub destination_bucket_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<StorageClass>,
    #[serde(default)]
    pub replicate_delete_markers: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_kms_key_id: Option<String>,
}

/// The resolved logging input.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LoggingSpec {
    pub target_bucket: String,
    #[serde(default)]
    pub target_prefix: String,
}

/// A serializable block as an input value.
pub(crate) fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).map(|j| Value::from_json(&j)).unwrap_or(Value::Null)
}

/// Bucket naming rules (general purpose buckets).
pub(crate) fn validate_name(c: &mut Checks, name: &str) {
    let f = "bucket";
    if !(3..=63).contains(&name.len()) {
        c.fail(f, format!("`{name}` is {} characters; bucket names are 3–63", name.len()));
    }
    if !name.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '.') {
        c.fail(f, format!("`{name}`: only lowercase letters, digits, dots and hyphens"));
    }
    let edge_ok = |ch: Option<char>| ch.is_some_and(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit());
    if !edge_ok(name.chars().next()) || !edge_ok(name.chars().last()) {
        c.fail(f, format!("`{name}` must begin and end with a letter or digit"));
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        c.fail(f, format!("`{name}`: no two adjacent dots, nor a dot next to a hyphen"));
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        c.fail(f, format!("`{name}` must not look like an IP address"));
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if name.starts_with(prefix) {
            c.fail(f, format!("`{name}` must not start with `{prefix}` (reserved)"));
        }
    }
    for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
        if name.ends_with(suffix) {
            c.fail(f, format!("`{name}` must not end with `{suffix}` (reserved)"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(f: impl FnOnce(&mut Checks)) -> Vec<String> {
        let mut c = Checks::default();
        f(&mut c);
        c.into_problems().into_iter().map(|(field, m)| format!("{field}: {m}")).collect()
    }

    #[test]
    fn bucket_names_follow_aws_rules() {
        assert!(problems(|c| validate_name(c, "data-lake.prod-1")).is_empty());
        for bad in ["ab", "Data", "-data", "data-", "a..b", "192.168.1.1", "xn--data", "data-s3alias", "a_b"] {
            assert!(!problems(|c| validate_name(c, bad)).is_empty(), "{bad} should be refused");
        }
    }

    #[test]
    fn lifecycle_rules_are_checked_together() {
        let ok = LifecycleRule::builder()
            .id("a")
            .transitions(vec![
                Transition::after(30, StorageClass::StandardIa),
                Transition::after(90, StorageClass::Glacier),
            ])
            .expiration_days(365)
            .build();
        assert!(problems(|c| validate_rules(std::slice::from_ref(&ok), c)).is_empty());
        let bad = LifecycleRule::builder()
            .id("a")
            .transitions(vec![
                Transition::after(10, StorageClass::StandardIa),
                Transition::after(5, StorageClass::Glacier),
            ])
            .expiration_days(3)
            .build();
        let p = problems(|c| validate_rules(&[bad, ok], c));
        assert_eq!(p.len(), 5, "{p:#?}");
    }

    #[test]
    fn lifecycle_transitions_after_infrequent_access_wait_30_days() {
        let rule = |ia: i32, then: i32, class: StorageClass| {
            LifecycleRule::builder()
                .id("r")
                .transitions(vec![Transition::after(ia, StorageClass::StandardIa), Transition::after(then, class)])
                .build()
        };
        assert!(problems(|c| validate_rules(&[rule(30, 60, StorageClass::Glacier)], c)).is_empty());
        let p = problems(|c| validate_rules(&[rule(30, 45, StorageClass::Glacier)], c));
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(p[0].contains("GLACIER at 45 days is less than 30 days after STANDARD_IA at 30; S3 needs 60"), "{p:?}");
        assert_eq!(problems(|c| validate_rules(&[rule(40, 69, StorageClass::DeepArchive)], c)).len(), 1);
        let nc = LifecycleRule::builder()
            .id("n")
            .noncurrent_transitions(vec![
                Transition::after(30, StorageClass::OnezoneIa),
                Transition::after(31, StorageClass::GlacierIr),
            ])
            .build();
        assert_eq!(problems(|c| validate_rules(&[nc], c)).len(), 1);
    }

    #[test]
    fn storage_classes_round_trip_aws_names() {
        for s in [StorageClass::IntelligentTiering, StorageClass::DeepArchive, StorageClass::GlacierIr] {
            assert_eq!(StorageClass::parse(s.as_str()), Some(s));
        }
    }
}
