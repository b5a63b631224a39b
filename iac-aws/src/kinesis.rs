//! Kinesis Data Streams.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_kinesis::types::{EncryptionType, ScalingType, StreamMode, StreamModeDetails, StreamStatus};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{map, opt_expr, tags_value, tags_with_identity, unless_known, wait_for, In, TAG_NAME, TAG_STACK};

pub(crate) const TYPE: &str = "aws:kinesis:Stream";

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    (type_token == TYPE).then_some(&StreamHandler as &dyn Handler)
}

/// Schema: the name is the identity; capacity, retention and encryption
/// change in place.
pub static SCHEMA: Schema =
    Schema { replace_on: &["name"], delete_before_replace: true, taggable: true, ..Schema::new(TYPE, "aws") };

/// How a stream's capacity is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capacity {
    /// AWS scales it with the traffic.
    OnDemand,
    /// A fixed number of shards (1 MB/s in, 2 MB/s out each).
    Shards(i32),
}

/// A data stream.
///
/// ```
/// use iac_aws::kinesis::{Capacity, Stream};
/// let prices = Stream::builder()
///     .name("price-ticks")
///     .capacity(Capacity::Shards(2))
///     .retention_hours(48)
///     .kms_key_id("alias/aws/kinesis")
///     .build();
/// # let _ = prices;
/// ```
#[derive(bon::Builder)]
pub struct Stream {
    /// The stream's name (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// On-demand or a fixed shard count.
    pub capacity: Capacity,
    /// Hours records are kept (24–8760).
    #[builder(default = 24)]
    pub retention_hours: i32,
    /// A KMS key (id, ARN or alias) for server-side encryption.
    #[builder(into)]
    pub kms_key_id: Option<Input<String>>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`Stream`].
pub struct StreamOutputs {
    /// Its name (the resource's id).
    pub id: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
}

impl Resource for Stream {
    type Outputs = StreamOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        let (mode, shards) = match self.capacity {
            Capacity::OnDemand => ("ON_DEMAND", None),
            Capacity::Shards(n) => ("PROVISIONED", Some(i64::from(n))),
        };
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("streamMode", Value::from(mode).into()),
            ("shardCount", Value::from(shards).into()),
            ("retentionHours", Value::from(i64::from(self.retention_hours)).into()),
            ("kmsKeyId", opt_expr(self.kms_key_id.as_ref())),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> StreamOutputs {
        StreamOutputs { id: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
    fn validate(&self, c: &mut Checks) {
        crate::checks::name(
            c,
            "name",
            &self.name,
            128,
            |ch| ch.is_ascii_alphanumeric() || "_.-".contains(ch),
            "letters, digits, _ . and - only",
        );
        if let Capacity::Shards(n) = self.capacity {
            c.check(n >= 1, "shardCount", || format!("{n}: at least one shard"));
        }
        c.check((24..=8760).contains(&self.retention_hours), "retentionHours", || {
            format!("{} h: between 24 and 8760 hours", self.retention_hours)
        });
    }
}

async fn describe(p: &AwsProvider, name: &str) -> Result<Option<(Value, Value, Option<StreamStatus>)>, ProviderError> {
    let k = p.kinesis().await;
    let s = match k.describe_stream_summary().stream_name(name).send().await {
        Ok(o) => match o.stream_description_summary {
            Some(s) => s,
            None => return Ok(None),
        },
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
        Err(e) => return Err(aws_err("DescribeStreamSummary", e)),
    };
    if s.stream_status() == &StreamStatus::Deleting {
        return Ok(None);
    }
    let tags = p
        .tags_or_ask(s.stream_arn(), async {
            let out =
                k.list_tags_for_stream().stream_name(name).send().await.map_err(|e| aws_err("ListTagsForStream", e))?;
            Ok(out.tags().iter().map(|t| (t.key().to_owned(), t.value().unwrap_or_default().to_owned())).collect())
        })
        .await?;
    let on_demand = s.stream_mode_details().map(|m| m.stream_mode()) == Some(&StreamMode::OnDemand);
    let encrypted = s.encryption_type() == Some(&EncryptionType::Kms);
    let inputs = map([
        ("name", Value::from(s.stream_name())),
        ("streamMode", Value::from(if on_demand { "ON_DEMAND" } else { "PROVISIONED" })),
        ("shardCount", Value::from((!on_demand).then(|| i64::from(s.open_shard_count())))),
        ("retentionHours", Value::from(i64::from(s.retention_period_hours()))),
        ("kmsKeyId", Value::from(s.key_id().filter(|_| encrypted))),
        ("tags", tags_value(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))),
    ]);
    let status = Some(s.stream_status().clone());
    Ok(Some((inputs, map([("arn", Value::from(s.stream_arn()))]), status)))
}

async fn wait_active(p: &AwsProvider, name: &str, timeout: Option<Duration>) -> Result<Value, ProviderError> {
    wait_for(&format!("stream {name} active"), timeout, Duration::from_secs(600), || async {
        Ok(match describe(p, name).await? {
            Some((_, outputs, Some(StreamStatus::Active))) => Some(outputs),
            _ => None,
        })
    })
    .await
}

pub(crate) struct StreamHandler;

#[async_trait]
impl Handler for StreamHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateStream");
        let name = i.str("name")?;
        let k = p.kinesis().await;
        let mode =
            if i.opt_str("streamMode") == Some("ON_DEMAND") { StreamMode::OnDemand } else { StreamMode::Provisioned };
        k.create_stream()
            .stream_name(name)
            .set_shard_count(i.opt_i32("shardCount"))
            .stream_mode_details(
                StreamModeDetails::builder()
                    .stream_mode(mode)
                    .build()
                    .map_err(|e| ProviderError::fatal("CreateStream", e.to_string()))?,
            )
            .set_tags(Some(tags_with_identity(&req.inputs, &req.stack, &req.urn).into_iter().collect()))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateStream", e))?;
        wait_active(p, name, req.timeout).await?;
        let hours = i.opt_i32("retentionHours").unwrap_or(24);
        if hours > 24 {
            k.increase_stream_retention_period()
                .stream_name(name)
                .retention_period_hours(hours)
                .send()
                .await
                .map_err(|e| aws_err("IncreaseStreamRetentionPeriod", e))?;
            wait_active(p, name, req.timeout).await?;
        }
        if let Some(key) = i.opt_str("kmsKeyId") {
            k.start_stream_encryption()
                .stream_name(name)
                .encryption_type(EncryptionType::Kms)
                .key_id(key)
                .send()
                .await
                .map_err(|e| aws_err("StartStreamEncryption", e))?;
        }
        let outputs = wait_active(p, name, req.timeout).await?;
        Ok(CreateResult { id: name.to_owned(), outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id).await?.map(|(inputs, outputs, _)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, ""), In::new(&req.inputs, "UpdateStream"));
        let k = p.kinesis().await;
        let name = req.id.as_str();
        let changed = |key: &str| req.changed.iter().any(|c| c == key);
        if changed("streamMode") {
            let arn = In::new(&req.old_outputs, "UpdateStreamMode").str("arn")?;
            let mode = if new.opt_str("streamMode") == Some("ON_DEMAND") {
                StreamMode::OnDemand
            } else {
                StreamMode::Provisioned
            };
            k.update_stream_mode()
                .stream_arn(arn)
                .stream_mode_details(
                    StreamModeDetails::builder()
                        .stream_mode(mode)
                        .build()
                        .map_err(|e| ProviderError::fatal("UpdateStreamMode", e.to_string()))?,
                )
                .send()
                .await
                .map_err(|e| aws_err("UpdateStreamMode", e))?;
            wait_active(p, name, req.timeout).await?;
        }
        if changed("shardCount") {
            if let Some(n) = new.opt_i32("shardCount") {
                k.update_shard_count()
                    .stream_name(name)
                    .target_shard_count(n)
                    .scaling_type(ScalingType::UniformScaling)
                    .send()
                    .await
                    .map_err(|e| aws_err("UpdateShardCount", e))?;
                wait_active(p, name, req.timeout).await?;
            }
        }
        if changed("retentionHours") {
            let (was, now) = (old.opt_i32("retentionHours").unwrap_or(24), new.opt_i32("retentionHours").unwrap_or(24));
            if now > was {
                k.increase_stream_retention_period()
                    .stream_name(name)
                    .retention_period_hours(now)
                    .send()
                    .await
                    .map_err(|e| aws_err("IncreaseStreamRetentionPeriod", e))?;
            } else {
                k.decrease_stream_retention_period()
                    .stream_name(name)
                    .retention_period_hours(now)
                    .send()
                    .await
                    .map_err(|e| aws_err("DecreaseStreamRetentionPeriod", e))?;
            }
            wait_active(p, name, req.timeout).await?;
        }
        if changed("kmsKeyId") {
            if let Some(key) = old.opt_str("kmsKeyId") {
                k.stop_stream_encryption()
                    .stream_name(name)
                    .encryption_type(EncryptionType::Kms)
                    .key_id(key)
                    .send()
                    .await
                    .map_err(|e| aws_err("StopStreamEncryption", e))?;
                wait_active(p, name, req.timeout).await?;
            }
            if let Some(key) = new.opt_str("kmsKeyId") {
                k.start_stream_encryption()
                    .stream_name(name)
                    .encryption_type(EncryptionType::Kms)
                    .key_id(key)
                    .send()
                    .await
                    .map_err(|e| aws_err("StartStreamEncryption", e))?;
            }
        }
        if changed("tags") {
            let (was, now) = (old.tags(), new.tags());
            let removed: Vec<String> = was.keys().filter(|key| !now.contains_key(*key)).cloned().collect();
            if !removed.is_empty() {
                k.remove_tags_from_stream()
                    .stream_name(name)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .map_err(|e| aws_err("RemoveTagsFromStream", e))?;
            }
            let added: std::collections::HashMap<String, String> =
                now.into_iter().filter(|(key, v)| was.get(key) != Some(v)).collect();
            if !added.is_empty() {
                k.add_tags_to_stream()
                    .stream_name(name)
                    .set_tags(Some(added))
                    .send()
                    .await
                    .map_err(|e| aws_err("AddTagsToStream", e))?;
            }
        }
        let outputs = wait_active(p, name, req.timeout).await?;
        Ok(UpdateResult { outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.kinesis().await.delete_stream().stream_name(&req.id).enforce_consumer_deletion(true).send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(()),
            Err(e) => return Err(aws_err("DeleteStream", e)),
        }
        wait_for(&format!("stream {} deleted", req.id), req.timeout, Duration::from_secs(600), || async {
            Ok(describe(p, &req.id).await?.is_none().then_some(()))
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let tags = match p.kinesis().await.list_tags_for_stream().stream_name(name).send().await {
            Ok(t) => t,
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
            Err(e) => return Err(aws_err("ListTagsForStream", e)),
        };
        let get = |key: &str| tags.tags().iter().find(|t| t.key() == key).and_then(|t| t.value());
        if get(TAG_STACK) != Some(req.stack.as_str()) || get(TAG_NAME) != Some(req.urn.as_str()) {
            return Ok(None);
        }
        let found =
            describe(p, name).await?.map(|(inputs, outputs, _)| ReadResult { id: name.to_owned(), inputs, outputs });
        Ok(unless_known(&req, found))
    }
}
