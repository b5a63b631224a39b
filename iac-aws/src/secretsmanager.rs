//! Secrets Manager: secrets whose values never reach the state in
//! plaintext — generated inside AWS, or given as a secret input (sealed in
//! state like every secret).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_secretsmanager::types::{RotationRulesType, Tag};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{keep_write_only, map, opt_expr, tags_value, tags_with_identity, In, TAG_NAME, TAG_STACK};

pub(crate) const TYPE: &str = "aws:secretsmanager:Secret";

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    (type_token == TYPE).then_some(&SecretHandler as &dyn Handler)
}

/// Schema: the name is the identity.
pub static SCHEMA: Schema =
    Schema { replace_on: &["name"], delete_before_replace: true, taggable: true, ..Schema::new(TYPE, "aws") };

/// Where a secret's value comes from.
#[derive(Clone, Debug)]
pub enum SecretValue {
    /// A random password made by AWS (`GetRandomPassword`) at creation; a
    /// change of the spec makes a new one. The value passes through this
    /// process only on its way back to AWS (`CreateSecret`,
    /// `PutSecretValue`): it is never stored, logged or shown.
    Generated {
        /// Characters (8–4096).
        length: u32,
        /// Leave out punctuation (for systems that choke on it).
        exclude_punctuation: bool,
        /// Characters never to use (RDS refuses `/`, `@`, `"` and space).
        exclude_characters: String,
    },
    /// A value from the program, normally a secret config value
    /// (`config.require_secret(…)`): sealed in state, masked in output.
    Given(Input<String>),
}

impl SecretValue {
    /// A 32-character password without the characters RDS refuses.
    pub fn password() -> SecretValue {
        SecretValue::Generated { length: 32, exclude_punctuation: false, exclude_characters: "/@\" ".into() }
    }
}

/// A secret.
///
/// ```
/// use iac_aws::secretsmanager::{Secret, SecretValue};
/// let db = Secret::builder()
///     .name("prod/db/master")
///     .description("database master password")
///     .value(SecretValue::password())
///     .recovery_window_in_days(7)
///     .build();
/// # let _ = db;
/// ```
#[derive(bon::Builder)]
pub struct Secret {
    /// The secret's name (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// What it is for.
    #[builder(into)]
    pub description: Option<String>,
    /// A KMS key to encrypt it with (else `aws/secretsmanager`).
    #[builder(into)]
    pub kms_key_id: Option<Input<String>>,
    /// Its value; none leaves it to be put by someone else.
    pub value: Option<SecretValue>,
    /// A rotation function's ARN (a Lambda function).
    #[builder(into)]
    pub rotation_lambda_arn: Option<Input<String>>,
    /// Days between rotations (with `rotation_lambda_arn`).
    pub rotate_after_days: Option<i64>,
    /// Days (7–30) AWS keeps it after `destroy`; 0 deletes it at once.
    #[builder(default = 30)]
    pub recovery_window_in_days: i64,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`Secret`].
pub struct SecretOutputs {
    /// Its ARN (the resource's id), for task definitions and proxies.
    pub arn: Output<String>,
}

impl Resource for Secret {
    type Outputs = SecretOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        let (generated, given) = match &self.value {
            Some(SecretValue::Generated { length, exclude_punctuation, exclude_characters }) => (
                Value::from_json(&serde_json::json!({
                    "length": length,
                    "excludePunctuation": exclude_punctuation,
                    "excludeCharacters": exclude_characters,
                }))
                .into(),
                Expr::Value(Value::Null),
            ),
            // Whatever the program passed, it is stored sealed.
            Some(SecretValue::Given(v)) => (Expr::Value(Value::Null), Expr::Secret(Box::new(v.to_expr()))),
            None => (Expr::Value(Value::Null), Expr::Value(Value::Null)),
        };
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("description", Value::from(self.description.clone()).into()),
            ("kmsKeyId", opt_expr(self.kms_key_id.as_ref())),
            ("generate", generated),
            ("value", given),
            ("rotationLambdaArn", opt_expr(self.rotation_lambda_arn.as_ref())),
            ("rotateAfterDays", Value::from(self.rotate_after_days).into()),
            ("recoveryWindowInDays", Value::from(self.recovery_window_in_days).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> SecretOutputs {
        SecretOutputs { arn: Output::from_ref(urn, "id") }
    }
    fn validate(&self, c: &mut Checks) {
        crate::checks::name(
            c,
            "name",
            &self.name,
            512,
            |ch| ch.is_ascii_alphanumeric() || "/_+=.@-".contains(ch),
            "letters, digits and /_+=.@- only",
        );
        c.check(
            self.recovery_window_in_days == 0 || (7..=30).contains(&self.recovery_window_in_days),
            "recoveryWindowInDays",
            || format!("{} days: 0 (at once) or 7 to 30", self.recovery_window_in_days),
        );
        if let Some(SecretValue::Generated { length, .. }) = &self.value {
            c.check((8..=4096).contains(length), "value", || {
                format!("a generated password of {length} characters: 8 to 4096")
            });
        }
        if let Some(d) = self.rotate_after_days {
            c.check((1..=1000).contains(&d), "rotateAfterDays", || format!("{d} days: 1 to 1000"));
        }
        c.check(self.rotate_after_days.is_none() || self.rotation_lambda_arn.is_some(), "rotateAfterDays", || {
            "rotation needs rotation_lambda_arn".into()
        });
    }
}

fn sm_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// The value to store: a generated password or the given one.
async fn value_to_put(p: &AwsProvider, i: In<'_>) -> Result<Option<String>, ProviderError> {
    if let Some(v) = i.opt_str("value") {
        return Ok(Some(v.to_owned()));
    }
    let Some(spec) = i.json("generate") else { return Ok(None) };
    let out = p
        .secretsmanager()
        .await
        .get_random_password()
        .password_length(spec["length"].as_i64().unwrap_or(32))
        .exclude_punctuation(spec["excludePunctuation"].as_bool().unwrap_or(false))
        .exclude_characters(spec["excludeCharacters"].as_str().unwrap_or_default())
        .send()
        .await
        .map_err(|e| aws_err("GetRandomPassword", e))?;
    Ok(out.random_password)
}

async fn describe(p: &AwsProvider, id: &str, recorded: &Value) -> Result<Option<Value>, ProviderError> {
    let out = match p.secretsmanager().await.describe_secret().secret_id(id).send().await {
        Ok(o) => o,
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
        Err(e) => return Err(aws_err("DescribeSecret", e)),
    };
    // Scheduled for deletion: gone as far as the stack goes.
    if out.deleted_date().is_some() {
        return Ok(None);
    }
    let rotation = out.rotation_enabled().unwrap_or(false);
    let mut inputs = map([
        ("name", Value::from(out.name())),
        ("description", Value::from(out.description().filter(|d| !d.is_empty()))),
        ("kmsKeyId", Value::from(out.kms_key_id())),
        ("rotationLambdaArn", Value::from(out.rotation_lambda_arn().filter(|a| rotation && !a.is_empty()))),
        (
            "rotateAfterDays",
            Value::from(out.rotation_rules().and_then(|r| r.automatically_after_days()).filter(|_| rotation)),
        ),
        ("tags", tags_value(out.tags().iter().filter_map(|t| Some((t.key()?, t.value()?))))),
    ]);
    // The value is never read back: what was put stays recorded (sealed).
    keep_write_only(&mut inputs, recorded, &["generate", "value", "recoveryWindowInDays"]);
    if recorded.get("kmsKeyId").is_empty_like() {
        crate::util::drop_computed_when_unset(&mut inputs, recorded, &["kmsKeyId"]);
    }
    Ok(Some(inputs))
}

async fn rotate(p: &AwsProvider, arn: &str, i: In<'_>) -> Result<(), ProviderError> {
    let sm = p.secretsmanager().await;
    match i.opt_str("rotationLambdaArn") {
        Some(lambda) => {
            sm.rotate_secret()
                .secret_id(arn)
                .rotation_lambda_arn(lambda)
                .set_rotation_rules(
                    i.opt_i64("rotateAfterDays")
                        .map(|d| RotationRulesType::builder().automatically_after_days(d).build()),
                )
                .rotate_immediately(false)
                .send()
                .await
                .map_err(|e| aws_err("RotateSecret", e))?;
        }
        None => {
            sm.cancel_rotate_secret().secret_id(arn).send().await.map_err(|e| aws_err("CancelRotateSecret", e))?;
        }
    }
    Ok(())
}

pub(crate) struct SecretHandler;

#[async_trait]
impl Handler for SecretHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateSecret");
        let value = value_to_put(p, i).await?;
        let out = p
            .secretsmanager()
            .await
            .create_secret()
            .name(i.str("name")?)
            .set_description(i.opt_str("description").map(str::to_owned))
            .set_kms_key_id(i.opt_str("kmsKeyId").map(str::to_owned))
            .set_secret_string(value)
            .set_tags(Some(sm_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .send()
            .await
            .map_err(|e| aws_err("CreateSecret", e))?;
        let arn = out.arn().ok_or_else(|| ProviderError::fatal("CreateSecret", "no ARN returned"))?.to_owned();
        if i.opt_str("rotationLambdaArn").is_some() {
            rotate(p, &arn, i).await?;
        }
        Ok(CreateResult { id: arn, outputs: Value::map() })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id, &req.inputs).await?.map(|inputs| ReadResult {
            id: req.id,
            inputs,
            outputs: Value::map(),
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, ""), In::new(&req.inputs, "UpdateSecret"));
        let sm = p.secretsmanager().await;
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if changed("description") || changed("kmsKeyId") {
            sm.update_secret()
                .secret_id(&req.id)
                .description(new.opt_str("description").unwrap_or(""))
                .set_kms_key_id(new.opt_str("kmsKeyId").map(str::to_owned))
                .send()
                .await
                .map_err(|e| aws_err("UpdateSecret", e))?;
        }
        if changed("value") || changed("generate") {
            if let Some(v) = value_to_put(p, new).await? {
                sm.put_secret_value()
                    .secret_id(&req.id)
                    .secret_string(v)
                    .send()
                    .await
                    .map_err(|e| aws_err("PutSecretValue", e))?;
            }
        }
        if changed("rotationLambdaArn") || changed("rotateAfterDays") {
            rotate(p, &req.id, new).await?;
        }
        if changed("tags") {
            let (was, now) = (old.tags(), new.tags());
            let removed: Vec<String> = was.keys().filter(|k| !now.contains_key(*k)).cloned().collect();
            if !removed.is_empty() {
                sm.untag_resource()
                    .secret_id(&req.id)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .map_err(|e| aws_err("UntagResource", e))?;
            }
            let added: BTreeMap<String, String> = now.into_iter().filter(|(k, v)| was.get(k) != Some(v)).collect();
            if !added.is_empty() {
                sm.tag_resource()
                    .secret_id(&req.id)
                    .set_tags(Some(sm_tags(&added)))
                    .send()
                    .await
                    .map_err(|e| aws_err("TagResource", e))?;
            }
        }
        Ok(UpdateResult { outputs: Value::map() })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let days = In::new(&req.inputs, "").opt_i64("recoveryWindowInDays").unwrap_or(30);
        let call = p.secretsmanager().await.delete_secret().secret_id(&req.id);
        let call =
            if days == 0 { call.force_delete_without_recovery(true) } else { call.recovery_window_in_days(days) };
        match call.send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteSecret", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let out = match p.secretsmanager().await.describe_secret().secret_id(name).send().await {
            Ok(o) => o,
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
            Err(e) => return Err(aws_err("DescribeSecret", e)),
        };
        let get = |k: &str| out.tags().iter().find(|t| t.key() == Some(k)).and_then(|t| t.value());
        if get(TAG_STACK) != Some(req.stack.as_str()) || get(TAG_NAME) != Some(req.urn.as_str()) {
            return Ok(None);
        }
        // A secret's name is unique in the region: the one secret holding it.
        let Some(arn) = out.arn().filter(|arn| !req.is_known(arn)) else { return Ok(None) };
        Ok(describe(p, arn, &req.inputs).await?.map(|inputs| ReadResult {
            id: arn.to_owned(),
            inputs,
            outputs: Value::map(),
        }))
    }
}
