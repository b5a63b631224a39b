//! `IntelligentTiering`: a bucket's S3 Intelligent-Tiering archive
//! configuration — after how many days without access objects stored in
//! the `INTELLIGENT_TIERING` class move on to the Archive Access and Deep
//! Archive Access tiers (the frequent, infrequent and archive-instant tiers
//! need no configuration).

use async_trait::async_trait;
use aws_sdk_s3::types::{
    IntelligentTieringAccessTier, IntelligentTieringConfiguration, IntelligentTieringFilter, IntelligentTieringStatus,
    Tiering,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{map, In};

pub(crate) const TYPE: &str = "aws:s3:IntelligentTiering";

/// Schema: a configuration is its bucket's and its name's; the filter,
/// status and tiers update in place (one `Put` replaces them all).
pub static INTELLIGENT_TIERING_SCHEMA: Schema =
    Schema { replace_on: &["bucket", "name"], delete_before_replace: true, ..Schema::new(TYPE, "aws") };

/// An S3 Intelligent-Tiering archive configuration of a bucket.
///
/// Objects reach the `INTELLIGENT_TIERING` storage class by being written
/// in it or by a lifecycle transition; this configuration then archives
/// the ones not read for `archive_access_days` (90–730) and
/// `deep_archive_access_days` (180–730).
///
/// ```
/// use iac_aws::s3::IntelligentTiering;
/// let archive = IntelligentTiering::builder()
///     .bucket("acme-data-lake-prod")
///     .name("processed-archive")
///     .prefix("processed/")
///     .archive_access_days(90)
///     .deep_archive_access_days(180)
///     .build();
/// # let _ = archive;
/// ```
#[derive(bon::Builder)]
pub struct IntelligentTiering {
    /// The bucket (replaces when changed).
    #[builder(into)]
    pub bucket: Input<String>,
    /// The configuration's id in the bucket, up to 64 characters (replaces
    /// when changed).
    #[builder(into)]
    pub name: String,
    /// Only objects under this key prefix (every object when unset).
    #[builder(into)]
    pub prefix: Option<String>,
    /// Whether the configuration is applied (default true).
    #[builder(default = true)]
    pub enabled: bool,
    /// Days without access before the Archive Access tier (90–730).
    pub archive_access_days: Option<i32>,
    /// Days without access before the Deep Archive Access tier (180–730).
    pub deep_archive_access_days: Option<i32>,
}

/// Outputs of an [`IntelligentTiering`].
pub struct IntelligentTieringOutputs {
    /// `<bucket>:<name>` (the resource's id).
    pub id: Output<String>,
}

impl Resource for IntelligentTiering {
    type Outputs = IntelligentTieringOutputs;
    fn schema() -> &'static Schema {
        &INTELLIGENT_TIERING_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("bucket", self.bucket.to_expr()),
            ("name", Value::from(self.name.as_str()).into()),
            ("prefix", Value::from(self.prefix.clone().filter(|p| !p.is_empty())).into()),
            ("enabled", Value::from(self.enabled).into()),
            ("archiveAccessDays", Value::from(self.archive_access_days.map(i64::from)).into()),
            ("deepArchiveAccessDays", Value::from(self.deep_archive_access_days.map(i64::from)).into()),
        ])
    }
    fn outputs(urn: &Urn) -> IntelligentTieringOutputs {
        IntelligentTieringOutputs { id: Output::from_ref(urn, "id") }
    }
    fn validate(&self, c: &mut Checks) {
        crate::checks::name(
            c,
            "name",
            &self.name,
            64,
            |ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch),
            "letters, digits, -, _ and . only",
        );
        let (archive, deep) = (self.archive_access_days, self.deep_archive_access_days);
        c.check(archive.is_some() || deep.is_some(), "tierings", || {
            "no tier: give archive_access_days, deep_archive_access_days or both".into()
        });
        if let Some(d) = archive {
            c.check((90..=730).contains(&d), "archiveAccessDays", || {
                format!("{d} days: the Archive Access tier takes 90 to 730")
            });
        }
        if let Some(d) = deep {
            c.check((180..=730).contains(&d), "deepArchiveAccessDays", || {
                format!("{d} days: the Deep Archive Access tier takes 180 to 730")
            });
        }
        if let (Some(a), Some(d)) = (archive, deep) {
            c.check(d > a, "deepArchiveAccessDays", || {
                format!(
                    "{d} days: objects reach Deep Archive Access after Archive Access ({a} days), so it must be more"
                )
            });
        }
    }
}

fn build_err(op: &'static str) -> impl Fn(aws_sdk_s3::error::BuildError) -> ProviderError {
    move |e| ProviderError::fatal(op, e.to_string())
}

/// `<bucket>:<name>` → the two (the name holds no `:`).
fn split_id(id: &str) -> (&str, &str) {
    id.rsplit_once(':').unwrap_or((id, ""))
}

async fn put(p: &AwsProvider, i: In<'_>) -> Result<String, ProviderError> {
    let op = "PutBucketIntelligentTieringConfiguration";
    let (bucket, name) = (i.str("bucket")?, i.str("name")?);
    let mut tierings = Vec::new();
    for (key, tier) in [
        ("archiveAccessDays", IntelligentTieringAccessTier::ArchiveAccess),
        ("deepArchiveAccessDays", IntelligentTieringAccessTier::DeepArchiveAccess),
    ] {
        if let Some(days) = i.opt_i32(key) {
            tierings.push(Tiering::builder().days(days).access_tier(tier).build().map_err(build_err(op))?);
        }
    }
    let config = IntelligentTieringConfiguration::builder()
        .id(name)
        .set_filter(i.opt_str("prefix").map(|p| IntelligentTieringFilter::builder().prefix(p).build()))
        .status(if i.opt_bool("enabled").unwrap_or(true) {
            IntelligentTieringStatus::Enabled
        } else {
            IntelligentTieringStatus::Disabled
        })
        .set_tierings(Some(tierings))
        .build()
        .map_err(build_err(op))?;
    p.s3()
        .await
        .put_bucket_intelligent_tiering_configuration()
        .bucket(bucket)
        .id(name)
        .intelligent_tiering_configuration(config)
        .send()
        .await
        .map_err(|e| aws_err(op, e))?;
    Ok(format!("{bucket}:{name}"))
}

/// The configuration as inputs; `None` when it (or its bucket) is gone.
async fn describe(p: &AwsProvider, id: &str) -> Result<Option<Value>, ProviderError> {
    let (bucket, name) = split_id(id);
    let out = match p.s3().await.get_bucket_intelligent_tiering_configuration().bucket(bucket).id(name).send().await {
        Ok(o) => o,
        Err(e) if is_code(&e, &["NoSuchConfiguration", "NoSuchBucket", "NotFound"]) => return Ok(None),
        Err(e) => return Err(aws_err("GetBucketIntelligentTieringConfiguration", e)),
    };
    let Some(c) = out.intelligent_tiering_configuration() else { return Ok(None) };
    let days = |tier: IntelligentTieringAccessTier| {
        c.tierings().iter().find(|t| t.access_tier() == &tier).map(|t| i64::from(t.days()))
    };
    Ok(Some(map([
        ("bucket", Value::from(bucket)),
        ("name", Value::from(c.id())),
        ("prefix", Value::from(c.filter().and_then(|f| f.prefix()).filter(|p| !p.is_empty()))),
        ("enabled", Value::from(c.status() == &IntelligentTieringStatus::Enabled)),
        ("archiveAccessDays", Value::from(days(IntelligentTieringAccessTier::ArchiveAccess))),
        ("deepArchiveAccessDays", Value::from(days(IntelligentTieringAccessTier::DeepArchiveAccess))),
    ])))
}

pub(crate) struct IntelligentTieringHandler;

#[async_trait]
impl Handler for IntelligentTieringHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let id = put(p, In::new(&req.inputs, "PutBucketIntelligentTieringConfiguration")).await?;
        Ok(CreateResult { id, outputs: Value::map() })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id).await?.map(|inputs| ReadResult { id: req.id, inputs, outputs: Value::map() }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        put(p, In::new(&req.inputs, "PutBucketIntelligentTieringConfiguration")).await?;
        Ok(UpdateResult { outputs: Value::map() })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let (bucket, name) = split_id(&req.id);
        match p.s3().await.delete_bucket_intelligent_tiering_configuration().bucket(bucket).id(name).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["NoSuchConfiguration", "NoSuchBucket", "NotFound"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteBucketIntelligentTieringConfiguration", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // Configurations take no tags; the name is unique in its bucket,
        // and a put under it would overwrite it anyway.
        let i = In::new(&req.inputs, "");
        let (Some(bucket), Some(name)) = (i.opt_str("bucket"), i.opt_str("name")) else { return Ok(None) };
        let id = format!("{bucket}:{name}");
        if req.is_known(&id) {
            return Ok(None);
        }
        Ok(describe(p, &id).await?.map(|inputs| ReadResult { id, inputs, outputs: Value::map() }))
    }
}
