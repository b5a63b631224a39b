//! CloudWatch Logs: log groups.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::LogGroup as SdkLogGroup;
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use crate::batch_read::{by, by_id, read_batched, Chunk};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{map, opt_expr, tags_value, tags_with_identity, unless_known, In, TAG_NAME, TAG_STACK};

pub(crate) const TYPE: &str = "aws:logs:LogGroup";

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    (type_token == TYPE).then_some(&LogGroupHandler as &dyn Handler)
}

/// Schema: the name is the identity (unique in the region, so a rename
/// deletes first).
pub static SCHEMA: Schema =
    Schema { replace_on: &["name"], delete_before_replace: true, taggable: true, ..Schema::new(TYPE, "aws") };

/// The retention periods CloudWatch Logs accepts, in days.
pub const RETENTION_DAYS: [i32; 22] =
    [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/// A log group.
///
/// ```
/// let group = iac_aws::logs::LogGroup::builder().name("/ecs/web").retention_in_days(30).build();
/// # let _ = group;
/// ```
#[derive(bon::Builder)]
pub struct LogGroup {
    /// The group's name (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// Days to keep events; unset keeps them forever.
    pub retention_in_days: Option<i32>,
    /// A KMS key ARN to encrypt the group with.
    #[builder(into)]
    pub kms_key_id: Option<Input<String>>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`LogGroup`].
pub struct LogGroupOutputs {
    /// Its name (the resource's id).
    pub id: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
}

impl Resource for LogGroup {
    type Outputs = LogGroupOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("retentionInDays", Value::from(self.retention_in_days.map(i64::from)).into()),
            ("kmsKeyId", opt_expr(self.kms_key_id.as_ref())),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> LogGroupOutputs {
        LogGroupOutputs { id: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
    fn validate(&self, c: &mut Checks) {
        crate::checks::name(
            c,
            "name",
            &self.name,
            512,
            |ch| ch.is_ascii_alphanumeric() || "_-/.#".contains(ch),
            "letters, digits and _ - / . # only",
        );
        if let Some(d) = self.retention_in_days {
            c.check(RETENTION_DAYS.contains(&d), "retentionInDays", || {
                format!("{d} days is not a retention CloudWatch Logs offers (1, 3, 5, 7, 14, 30, 60, 90, … 3653)")
            });
        }
    }
}

async fn describe(p: &AwsProvider, name: &str) -> Result<Option<(Value, Value)>, ProviderError> {
    let logs = p.logs().await;
    let out = logs
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .map_err(|e| aws_err("DescribeLogGroups", e))?;
    let Some(g) = out.log_groups().iter().find(|g| g.log_group_name() == Some(name)) else { return Ok(None) };
    group_values(p, g).await
}

/// The most groups one `DescribeLogGroups` names (`logGroupIdentifiers`).
const NAMES_PER_CALL: usize = 50;

/// The groups named `names`, described by name in one call (a group not
/// answered is gone).
async fn describe_many(p: &AwsProvider, names: Vec<String>) -> Result<Chunk<SdkLogGroup>, ProviderError> {
    let out = p
        .logs()
        .await
        .describe_log_groups()
        .set_log_group_identifiers(Some(names))
        .send()
        .await
        .map_err(|e| aws_err("DescribeLogGroups", e))?;
    Ok(by(out.log_groups.unwrap_or_default(), |g| g.log_group_name()))
}

/// A group's inputs and outputs: its tags are a call of their own.
async fn group_values(p: &AwsProvider, g: &SdkLogGroup) -> Result<Option<(Value, Value)>, ProviderError> {
    let logs = p.logs().await;
    // AWS's ARN ends in `:*`; the group's own ARN does not.
    let arn = g.arn().map(|a| a.trim_end_matches(":*").to_owned()).unwrap_or_default();
    let tags = match p.indexed_tags(&arn) {
        Some(tags) => tags.into_iter().collect(),
        None => match logs.list_tags_for_resource().resource_arn(&arn).send().await {
            Ok(t) => t.tags.unwrap_or_default(),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
            Err(e) => return Err(aws_err("ListTagsForResource", e)),
        },
    };
    let inputs = map([
        ("name", Value::from(g.log_group_name())),
        ("retentionInDays", Value::from(g.retention_in_days().map(i64::from))),
        ("kmsKeyId", Value::from(g.kms_key_id())),
        ("tags", tags_value(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))),
    ]);
    Ok(Some((inputs, map([("arn", Value::from(arn))]))))
}

async fn set_retention(p: &AwsProvider, name: &str, days: Option<i32>) -> Result<(), ProviderError> {
    let logs = p.logs().await;
    match days {
        Some(d) => logs
            .put_retention_policy()
            .log_group_name(name)
            .retention_in_days(d)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_err("PutRetentionPolicy", e)),
        None => logs
            .delete_retention_policy()
            .log_group_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_err("DeleteRetentionPolicy", e)),
    }
}

pub(crate) struct LogGroupHandler;

#[async_trait]
impl Handler for LogGroupHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateLogGroup");
        let name = i.str("name")?;
        p.logs()
            .await
            .create_log_group()
            .log_group_name(name)
            .set_kms_key_id(i.opt_str("kmsKeyId").map(str::to_owned))
            .set_tags(Some(tags_with_identity(&req.inputs, &req.stack, &req.urn).into_iter().collect()))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateLogGroup", e))?;
        if let Some(d) = i.opt_i32("retentionInDays") {
            set_retention(p, name, Some(d)).await?;
        }
        let (_, outputs) = describe(p, name)
            .await?
            .ok_or_else(|| ProviderError::retriable("DescribeLogGroups", "the new group is not visible yet"))?;
        Ok(CreateResult { id: name.to_owned(), outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        read_batched(
            reqs,
            NAMES_PER_CALL,
            by_id,
            |_, names| async move { describe_many(p, names).await },
            |req, g| async move {
                Ok(group_values(p, &g).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
            },
            |req| self.read(p, req),
        )
        .await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, ""), In::new(&req.inputs, "UpdateLogGroup"));
        let logs = p.logs().await;
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if changed("retentionInDays") {
            set_retention(p, &req.id, new.opt_i32("retentionInDays")).await?;
        }
        if changed("kmsKeyId") {
            match new.opt_str("kmsKeyId") {
                Some(key) => logs
                    .associate_kms_key()
                    .log_group_name(&req.id)
                    .kms_key_id(key)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| aws_err("AssociateKmsKey", e))?,
                None => logs
                    .disassociate_kms_key()
                    .log_group_name(&req.id)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| aws_err("DisassociateKmsKey", e))?,
            }
        }
        if changed("tags") {
            let (was, now) = (old.tags(), new.tags());
            let arn = In::new(&req.old_outputs, "TagResource").str("arn")?;
            let removed: Vec<String> = was.keys().filter(|k| !now.contains_key(*k)).cloned().collect();
            if !removed.is_empty() {
                logs.untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .map_err(|e| aws_err("UntagResource", e))?;
            }
            let added: std::collections::HashMap<String, String> =
                now.into_iter().filter(|(k, v)| was.get(k) != Some(v)).collect();
            if !added.is_empty() {
                logs.tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(added))
                    .send()
                    .await
                    .map_err(|e| aws_err("TagResource", e))?;
            }
        }
        let (_, outputs) = describe(p, &req.id)
            .await?
            .ok_or_else(|| ProviderError::fatal("DescribeLogGroups", "the group is gone"))?;
        Ok(UpdateResult { outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.logs().await.delete_log_group().log_group_name(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteLogGroup", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let Some((inputs, outputs)) = describe(p, name).await? else { return Ok(None) };
        let arn = outputs.get("arn").as_str().unwrap_or_default();
        let tags = p
            .logs()
            .await
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| aws_err("ListTagsForResource", e))?
            .tags
            .unwrap_or_default();
        let ours = tags.get(TAG_STACK).map(String::as_str) == Some(req.stack.as_str())
            && tags.get(TAG_NAME).map(String::as_str) == Some(req.urn.as_str());
        Ok(unless_known(&req, ours.then(|| ReadResult { id: name.to_owned(), inputs, outputs })))
    }
}
