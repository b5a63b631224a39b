//! KMS: customer-managed keys and their aliases.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType, Tag};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::policy::{self, PolicyDocument, PolicyKind};
use crate::provider::AwsProvider;
use crate::util::{
    drop_computed_when_unset, keep_write_only, map, tags_value, tags_with_identity, In, TAG_NAME, TAG_STACK,
};

pub(crate) const KEY: &str = "aws:kms:Key";
pub(crate) const ALIAS: &str = "aws:kms:Alias";

iac_core::typed_id!(
    /// The id of a KMS key (a UUID, or `mrk-…` for a multi-Region key).
    KeyId
);

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    Some(match type_token {
        KEY => &KeyHandler,
        ALIAS => &AliasHandler,
        _ => return None,
    })
}

/// Schema of [`Key`]: its kind, usage and reach are fixed.
pub static KEY_SCHEMA: Schema =
    Schema { replace_on: &["keySpec", "keyUsage", "multiRegion"], taggable: true, ..Schema::new(KEY, "aws") };

/// Schema of [`Alias`]: the name is the identity; the key it points at
/// changes in place.
pub static ALIAS_SCHEMA: Schema =
    Schema { replace_on: &["name"], delete_before_replace: true, ..Schema::new(ALIAS, "aws") };

/// A customer-managed KMS key. Deleting it schedules its deletion after
/// `deletion_window_in_days`, as AWS requires.
///
/// ```
/// let key = iac_aws::kms::Key::builder()
///     .description("data lake encryption")
///     .enable_key_rotation(true)
///     .deletion_window_in_days(7)
///     .build();
/// # let _ = key;
/// ```
#[derive(bon::Builder)]
pub struct Key {
    /// What the key is for.
    #[builder(into)]
    pub description: Option<String>,
    /// `SYMMETRIC_DEFAULT` (the default), `RSA_2048`, … (replaces).
    #[builder(into, default = "SYMMETRIC_DEFAULT")]
    pub key_spec: String,
    /// `ENCRYPT_DECRYPT` (the default), `SIGN_VERIFY`, … (replaces).
    #[builder(into, default = "ENCRYPT_DECRYPT")]
    pub key_usage: String,
    /// Rotate the key material every year (symmetric keys only).
    #[builder(default)]
    pub enable_key_rotation: bool,
    /// The key policy (AWS's default — the account may use the key — when
    /// unset).
    pub policy: Option<PolicyDocument>,
    /// Days (7–30) between `destroy` and the key's deletion.
    #[builder(default = 30)]
    pub deletion_window_in_days: i32,
    /// A multi-Region primary key (replaces).
    #[builder(default)]
    pub multi_region: bool,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`Key`].
pub struct KeyOutputs {
    /// Its key id (the resource's id).
    pub id: Output<KeyId>,
    /// Its ARN, for encryption settings and policies.
    pub arn: Output<String>,
}

impl Resource for Key {
    type Outputs = KeyOutputs;
    fn schema() -> &'static Schema {
        &KEY_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("description", Value::from(self.description.clone()).into()),
            ("keySpec", Value::from(self.key_spec.as_str()).into()),
            ("keyUsage", Value::from(self.key_usage.as_str()).into()),
            ("enableKeyRotation", Value::from(self.enable_key_rotation).into()),
            ("policy", self.policy.as_ref().map_or(Expr::Value(Value::Null), PolicyDocument::to_expr)),
            ("deletionWindowInDays", Value::from(i64::from(self.deletion_window_in_days)).into()),
            ("multiRegion", Value::from(self.multi_region).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> KeyOutputs {
        KeyOutputs { id: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
    fn validate(&self, c: &mut Checks) {
        c.check((7..=30).contains(&self.deletion_window_in_days), "deletionWindowInDays", || {
            format!("{} days: AWS allows 7 to 30", self.deletion_window_in_days)
        });
        c.check(!self.enable_key_rotation || self.key_spec == "SYMMETRIC_DEFAULT", "enableKeyRotation", || {
            format!("automatic rotation is for symmetric keys, not {}", self.key_spec)
        });
        if let Some(p) = &self.policy {
            p.validate(c, "policy", PolicyKind::Resource);
        }
        if let Some(d) = &self.description {
            c.check(d.len() <= 8192, "description", || "at most 8192 characters".into());
        }
    }
}

fn kms_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().filter_map(|(k, v)| Tag::builder().tag_key(k).tag_value(v).build().ok()).collect()
}

async fn describe(p: &AwsProvider, id: &str, recorded: &Value) -> Result<Option<(Value, Value)>, ProviderError> {
    let kms = p.kms().await;
    let meta = match kms.describe_key().key_id(id).send().await {
        Ok(o) => match o.key_metadata {
            Some(m) => m,
            None => return Ok(None),
        },
        Err(e) if is_code(&e, &["NotFoundException"]) => return Ok(None),
        Err(e) => return Err(aws_err("DescribeKey", e)),
    };
    // A key scheduled for deletion is gone as far as the stack goes.
    if matches!(meta.key_state(), Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)) {
        return Ok(None);
    }
    let rotation = match kms.get_key_rotation_status().key_id(id).send().await {
        Ok(r) => r.key_rotation_enabled(),
        Err(e) if is_code(&e, &["UnsupportedOperationException"]) => false,
        Err(e) => return Err(aws_err("GetKeyRotationStatus", e)),
    };
    let policy = kms
        .get_key_policy()
        .key_id(id)
        .policy_name("default")
        .send()
        .await
        .map_err(|e| aws_err("GetKeyPolicy", e))?
        .policy
        .and_then(|t| policy::parse(&t));
    let tags = match meta.arn().and_then(|arn| p.indexed_tags(arn)) {
        Some(tags) => kms_tags(&tags),
        None => {
            let out = kms.list_resource_tags().key_id(id).send().await.map_err(|e| aws_err("ListResourceTags", e))?;
            out.tags().to_vec()
        }
    };
    let mut inputs = map([
        ("description", Value::from(meta.description().filter(|d| !d.is_empty()))),
        ("keySpec", Value::from(meta.key_spec().map(KeySpec::as_str))),
        ("keyUsage", Value::from(meta.key_usage().map(KeyUsageType::as_str))),
        ("enableKeyRotation", Value::from(rotation)),
        ("policy", policy.unwrap_or(Value::Null)),
        ("multiRegion", Value::from(meta.multi_region().unwrap_or(false))),
        ("tags", tags_value(tags.iter().map(|t| (t.tag_key(), t.tag_value())))),
    ]);
    // AWS writes a default policy when none is given; the deletion window
    // is only ever sent, never described.
    drop_computed_when_unset(&mut inputs, recorded, &["policy"]);
    keep_write_only(&mut inputs, recorded, &["deletionWindowInDays"]);
    Ok(Some((inputs, map([("arn", Value::from(meta.arn()))]))))
}

/// The policy AWS gives a key created without one: the account (through
/// IAM) may use it.
fn default_key_policy(key_arn: &str) -> String {
    let account = key_arn.split(':').nth(4).unwrap_or_default();
    serde_json::json!({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "kms:*",
            "Resource": "*",
        }],
    })
    .to_string()
}

fn policy_text(i: In<'_>) -> Option<String> {
    i.json("policy").map(|j| j.to_string())
}

pub(crate) struct KeyHandler;

#[async_trait]
impl Handler for KeyHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateKey");
        let kms = p.kms().await;
        let out = kms
            .create_key()
            .set_description(i.opt_str("description").map(str::to_owned))
            .key_spec(KeySpec::from(i.opt_str("keySpec").unwrap_or("SYMMETRIC_DEFAULT")))
            .key_usage(KeyUsageType::from(i.opt_str("keyUsage").unwrap_or("ENCRYPT_DECRYPT")))
            .set_policy(policy_text(i))
            .multi_region(i.bool("multiRegion"))
            .set_tags(Some(kms_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateKey", e))?;
        let meta = out.key_metadata().ok_or_else(|| ProviderError::fatal("CreateKey", "no key returned"))?;
        let id = meta.key_id().to_owned();
        if i.bool("enableKeyRotation") {
            kms.enable_key_rotation().key_id(&id).send().await.map_err(|e| aws_err("EnableKeyRotation", e))?;
        }
        Ok(CreateResult { outputs: map([("arn", Value::from(meta.arn()))]), id })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id, &req.inputs).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, ""), In::new(&req.inputs, "UpdateKey"));
        let kms = p.kms().await;
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if changed("description") {
            kms.update_key_description()
                .key_id(&req.id)
                .description(new.opt_str("description").unwrap_or(""))
                .send()
                .await
                .map_err(|e| aws_err("UpdateKeyDescription", e))?;
        }
        if changed("enableKeyRotation") {
            if new.bool("enableKeyRotation") {
                kms.enable_key_rotation().key_id(&req.id).send().await.map_err(|e| aws_err("EnableKeyRotation", e))?;
            } else {
                kms.disable_key_rotation()
                    .key_id(&req.id)
                    .send()
                    .await
                    .map_err(|e| aws_err("DisableKeyRotation", e))?;
            }
        }
        if changed("policy") {
            // Unset means AWS's default policy again, not the last one kept.
            let doc = match policy_text(new) {
                Some(doc) => doc,
                None => default_key_policy(In::new(&req.old_outputs, "PutKeyPolicy").str("arn")?),
            };
            kms.put_key_policy()
                .key_id(&req.id)
                .policy_name("default")
                .policy(doc)
                .send()
                .await
                .map_err(|e| aws_err("PutKeyPolicy", e))?;
        }
        if changed("tags") {
            let (was, now) = (old.tags(), new.tags());
            let removed: Vec<String> = was.keys().filter(|k| !now.contains_key(*k)).cloned().collect();
            if !removed.is_empty() {
                kms.untag_resource()
                    .key_id(&req.id)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .map_err(|e| aws_err("UntagResource", e))?;
            }
            let added: BTreeMap<String, String> = now.into_iter().filter(|(k, v)| was.get(k) != Some(v)).collect();
            if !added.is_empty() {
                kms.tag_resource()
                    .key_id(&req.id)
                    .set_tags(Some(kms_tags(&added)))
                    .send()
                    .await
                    .map_err(|e| aws_err("TagResource", e))?;
            }
        }
        let (_, outputs) = describe(p, &req.id, &req.inputs)
            .await?
            .ok_or_else(|| ProviderError::fatal("DescribeKey", "the key is gone"))?;
        Ok(UpdateResult { outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let days = In::new(&req.inputs, "").opt_i32("deletionWindowInDays").unwrap_or(30);
        match p.kms().await.schedule_key_deletion().key_id(&req.id).pending_window_in_days(days).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["NotFoundException"]) => Ok(()),
            // Already scheduled.
            Err(e) if is_code(&e, &["KMSInvalidStateException"]) => Ok(()),
            Err(e) => Err(aws_err("ScheduleKeyDeletion", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let kms = p.kms().await;
        let mut marker = None;
        loop {
            let out = kms.list_keys().set_marker(marker).send().await.map_err(|e| aws_err("ListKeys", e))?;
            for k in out.keys() {
                // The old copy of a replace carries the same tags: look past it.
                let Some(id) = k.key_id().filter(|id| !req.is_known(id)) else { continue };
                let tags = match kms.list_resource_tags().key_id(id).send().await {
                    Ok(t) => t,
                    // AWS-managed keys refuse tag listing to us.
                    Err(_) => continue,
                };
                let get = |key: &str| tags.tags().iter().find(|t| t.tag_key() == key).map(|t| t.tag_value());
                if get(TAG_STACK) == Some(req.stack.as_str()) && get(TAG_NAME) == Some(req.urn.as_str()) {
                    if let Some((inputs, outputs)) = describe(p, id, &req.inputs).await? {
                        return Ok(Some(ReadResult { id: id.to_owned(), inputs, outputs }));
                    }
                }
            }
            match out.next_marker() {
                Some(m) if out.truncated() => marker = Some(m.to_owned()),
                _ => return Ok(None),
            }
        }
    }
}

/// A friendly name for a key (`alias/…`).
///
/// ```
/// let alias = iac_aws::kms::Alias::builder().name("alias/data-lake").target_key_id("1234abcd-12ab-34cd-56ef-1234567890ab").build();
/// # let _ = alias;
/// ```
#[derive(bon::Builder)]
pub struct Alias {
    /// The alias, `alias/<name>` (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// The key it names.
    #[builder(into)]
    pub target_key_id: Input<KeyId>,
}

/// Outputs of an [`Alias`].
pub struct AliasOutputs {
    /// The alias name (the resource's id).
    pub id: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
}

impl Resource for Alias {
    type Outputs = AliasOutputs;
    fn schema() -> &'static Schema {
        &ALIAS_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([("name", Value::from(self.name.as_str()).into()), ("targetKeyId", self.target_key_id.to_expr())])
    }
    fn outputs(urn: &Urn) -> AliasOutputs {
        AliasOutputs { id: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
    fn validate(&self, c: &mut Checks) {
        let rest = self.name.strip_prefix("alias/");
        c.check(rest.is_some(), "name", || format!("`{}` must start with alias/", self.name));
        c.check(!self.name.starts_with("alias/aws/"), "name", || "alias/aws/ is reserved for AWS-managed keys".into());
        if let Some(rest) = rest {
            crate::checks::name(
                c,
                "name",
                rest,
                250,
                |ch| ch.is_ascii_alphanumeric() || "/_-".contains(ch),
                "letters, digits and / _ - only after alias/",
            );
        }
    }
}

async fn find_alias(p: &AwsProvider, name: &str) -> Result<Option<aws_sdk_kms::types::AliasListEntry>, ProviderError> {
    let kms = p.kms().await;
    let mut marker = None;
    loop {
        let out = kms.list_aliases().set_marker(marker).send().await.map_err(|e| aws_err("ListAliases", e))?;
        if let Some(a) = out.aliases().iter().find(|a| a.alias_name() == Some(name)) {
            return Ok(Some(a.clone()));
        }
        match out.next_marker() {
            Some(m) if out.truncated() => marker = Some(m.to_owned()),
            _ => return Ok(None),
        }
    }
}

pub(crate) struct AliasHandler;

#[async_trait]
impl Handler for AliasHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateAlias");
        let name = i.str("name")?;
        p.kms()
            .await
            .create_alias()
            .alias_name(name)
            .target_key_id(i.str("targetKeyId")?)
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateAlias", e))?;
        let arn = find_alias(p, name).await?.and_then(|a| a.alias_arn().map(str::to_owned));
        Ok(CreateResult { id: name.to_owned(), outputs: map([("arn", Value::from(arn))]) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(find_alias(p, &req.id).await?.map(|a| ReadResult {
            inputs: map([("name", Value::from(a.alias_name())), ("targetKeyId", Value::from(a.target_key_id()))]),
            outputs: map([("arn", Value::from(a.alias_arn()))]),
            id: req.id,
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let i = In::new(&req.inputs, "UpdateAlias");
        p.kms()
            .await
            .update_alias()
            .alias_name(&req.id)
            .target_key_id(i.str("targetKeyId")?)
            .send()
            .await
            .map_err(|e| aws_err("UpdateAlias", e))?;
        let arn = find_alias(p, &req.id).await?.and_then(|a| a.alias_arn().map(str::to_owned));
        Ok(UpdateResult { outputs: map([("arn", Value::from(arn))]) })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.kms().await.delete_alias().alias_name(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["NotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteAlias", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let id = name.to_owned();
        // An alias name is unique in the region.
        if req.is_known(&id) {
            return Ok(None);
        }
        self.read(
            p,
            ReadRequest { type_token: ALIAS, urn: req.urn, id, inputs: req.inputs.clone(), outputs: Value::map() },
        )
        .await
    }
}
