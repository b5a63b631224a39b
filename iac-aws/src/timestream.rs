//! Amazon Timestream for LiveAnalytics: databases and their tables, with
//! memory and magnetic store retention.
//!
//! The write API is reached through endpoint discovery on AWS and through
//! the configured endpoint against an emulator (see
//! [`AwsProvider::timestream`]).

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_timestreamwrite::types::{MagneticStoreWriteProperties, RetentionProperties, TableStatus, Tag};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{map, opt_expr, tags_value, tags_with_identity, unless_known, wait_for, In, TAG_NAME, TAG_STACK};

pub(crate) const DATABASE: &str = "aws:timestream:Database";
pub(crate) const TABLE: &str = "aws:timestream:Table";

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    Some(match type_token {
        DATABASE => &DatabaseHandler,
        TABLE => &TableHandler,
        _ => return None,
    })
}

/// Schema of [`Database`]: the name is its identity; the KMS key and tags
/// update in place.
pub static DATABASE_SCHEMA: Schema =
    Schema { replace_on: &["name"], delete_before_replace: true, taggable: true, ..Schema::new(DATABASE, "aws") };

/// Schema of [`Table`]: the database and name are its identity; retention,
/// magnetic store writes and tags update in place (`UpdateTable`).
pub static TABLE_SCHEMA: Schema = Schema {
    replace_on: &["databaseName", "name"],
    delete_before_replace: true,
    taggable: true,
    ..Schema::new(TABLE, "aws")
};

/// The longest memory store retention, in hours (one year).
pub const MAX_MEMORY_HOURS: i64 = 8766;
/// The longest magnetic store retention, in days (200 years).
pub const MAX_MAGNETIC_DAYS: i64 = 73000;

/// Timestream's database and table names: 3–256 letters, digits, `_`, `.`
/// and `-`.
fn check_name(c: &mut Checks, field: &str, name: &str) {
    crate::checks::name(
        c,
        field,
        name,
        256,
        |ch| ch.is_ascii_alphanumeric() || "_.-".contains(ch),
        "letters, digits, _ . and -",
    );
    c.check(name.is_empty() || name.len() >= 3, field, || format!("`{name}` is {} characters; at least 3", name.len()));
}

/// A Timestream database.
///
/// ```
/// use iac_aws::timestream::Database;
/// let metrics = Database::builder()
///     .name("metrics")
///     .kms_key_id("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")
///     .build();
/// # let _ = metrics;
/// ```
#[derive(bon::Builder)]
pub struct Database {
    /// The name (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// The KMS key's ARN encrypting its data (else Timestream's own key).
    #[builder(into)]
    pub kms_key_id: Option<Input<String>>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`Database`].
pub struct DatabaseOutputs {
    /// Its name (the resource's id), for tables.
    pub name: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
}

impl Resource for Database {
    type Outputs = DatabaseOutputs;
    fn schema() -> &'static Schema {
        &DATABASE_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("kmsKeyId", opt_expr(self.kms_key_id.as_ref())),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> DatabaseOutputs {
        DatabaseOutputs { name: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
    fn validate(&self, c: &mut Checks) {
        check_name(c, "name", &self.name);
        if let Some(k) = self.kms_key_id.as_ref().and_then(Input::value) {
            c.check(!k.trim().is_empty() && k.len() <= 2048, "kmsKeyId", || {
                format!("`{k}`: a key id, ARN or alias of 1 to 2048 characters")
            });
        }
    }
}

fn ts_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok()).collect()
}

async fn list_tags(p: &AwsProvider, arn: &str) -> Result<Vec<Tag>, ProviderError> {
    let out = p
        .timestream()
        .await?
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| aws_err("ListTagsForResource", e))?;
    Ok(out.tags().to_vec())
}

fn has_identity(tags: &[Tag], stack: &str, urn: &str) -> bool {
    let get = |k: &str| tags.iter().find(|t| t.key() == k).map(|t| t.value());
    get(TAG_STACK) == Some(stack) && get(TAG_NAME) == Some(urn)
}

/// Brings a resource's user tags from `was` to `now`.
async fn update_tags(
    p: &AwsProvider,
    arn: &str,
    was: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
) -> Result<(), ProviderError> {
    let ts = p.timestream().await?;
    let removed: Vec<String> = was.keys().filter(|k| !now.contains_key(*k)).cloned().collect();
    if !removed.is_empty() {
        ts.untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(removed))
            .send()
            .await
            .map_err(|e| aws_err("UntagResource", e))?;
    }
    let added: BTreeMap<String, String> =
        now.iter().filter(|(k, v)| was.get(*k) != Some(v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    if !added.is_empty() {
        ts.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(ts_tags(&added)))
            .send()
            .await
            .map_err(|e| aws_err("TagResource", e))?;
    }
    Ok(())
}

/// The database as AWS describes it, in the shape of the inputs; `None`
/// when it does not exist.
async fn describe_database(
    p: &AwsProvider,
    name: &str,
    recorded: &Value,
) -> Result<Option<(Value, Value, Vec<Tag>)>, ProviderError> {
    let out = match p.timestream().await?.describe_database().database_name(name).send().await {
        Ok(o) => o,
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
        Err(e) => return Err(aws_err("DescribeDatabase", e)),
    };
    let Some(db) = out.database() else { return Ok(None) };
    let arn = db.arn().unwrap_or_default();
    let tags = list_tags(p, arn).await?;
    // AWS answers the key's ARN (Timestream's own key when none was given):
    // a key given by id reads back as given, and AWS's default is no change.
    let given = recorded.get("kmsKeyId").as_str();
    let key = match (given, db.kms_key_id()) {
        (None, _) => None,
        (Some(g), Some(read)) if read == g || read.ends_with(&format!("/{g}")) => Some(g),
        (_, read) => read,
    };
    let inputs = map([
        ("name", Value::from(db.database_name())),
        ("kmsKeyId", Value::from(key)),
        ("tags", tags_value(tags.iter().map(|t| (t.key(), t.value())))),
    ]);
    Ok(Some((inputs, map([("arn", Value::from(arn))]), tags)))
}

pub(crate) struct DatabaseHandler;

#[async_trait]
impl Handler for DatabaseHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateDatabase");
        let name = i.str("name")?;
        let out = p
            .timestream()
            .await?
            .create_database()
            .database_name(name)
            .set_kms_key_id(i.opt_str("kmsKeyId").map(str::to_owned))
            .set_tags(Some(ts_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateDatabase", e))?;
        let arn = out.database().and_then(|d| d.arn()).unwrap_or_default();
        Ok(CreateResult { id: name.to_owned(), outputs: map([("arn", Value::from(arn))]) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe_database(p, &req.id, &req.inputs).await?.map(|(inputs, outputs, _)| ReadResult {
            id: req.id,
            inputs,
            outputs,
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, "UpdateDatabase"), In::new(&req.inputs, "UpdateDatabase"));
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if changed("kmsKeyId") {
            // Without a key of its own the database goes back to Timestream's.
            let key = new.opt_str("kmsKeyId").unwrap_or("alias/aws/timestream");
            p.timestream()
                .await?
                .update_database()
                .database_name(&req.id)
                .kms_key_id(key)
                .send()
                .await
                .map_err(|e| aws_err("UpdateDatabase", e))?;
        }
        if changed("tags") {
            let arn = In::new(&req.old_outputs, "TagResource").str("arn")?;
            update_tags(p, arn, &old.tags(), &new.tags()).await?;
        }
        Ok(UpdateResult { outputs: req.old_outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        // Its tables are dependents and are deleted first.
        match p.timestream().await?.delete_database().database_name(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteDatabase", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let Some((inputs, outputs, tags)) = describe_database(p, name, &req.inputs).await? else { return Ok(None) };
        if !has_identity(&tags, &req.stack, req.urn.as_str()) {
            return Ok(None);
        }
        Ok(unless_known(&req, Some(ReadResult { id: name.to_owned(), inputs, outputs })))
    }
}

/// A Timestream table: recent data in the memory store, older data in the
/// magnetic store, each kept for its retention period.
///
/// ```
/// use iac_aws::timestream::Table;
/// let cpu = Table::builder()
///     .database_name("metrics")
///     .name("cpu")
///     .memory_store_retention_hours(24)
///     .magnetic_store_retention_days(365)
///     .magnetic_store_writes(true)
///     .build();
/// # let _ = cpu;
/// ```
#[derive(bon::Builder)]
pub struct Table {
    /// The database (its name; replaces).
    #[builder(into)]
    pub database_name: Input<String>,
    /// The table's name (replaces).
    #[builder(into)]
    pub name: String,
    /// Hours data stays in the memory store (1–8766).
    #[builder(default = 6)]
    pub memory_store_retention_hours: i64,
    /// Days data stays in the magnetic store (1–73000).
    #[builder(default = 73000)]
    pub magnetic_store_retention_days: i64,
    /// Whether late data (older than the memory store keeps) may be
    /// written straight to the magnetic store.
    #[builder(default)]
    pub magnetic_store_writes: bool,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`Table`].
pub struct TableOutputs {
    /// `<database>:<table>` (the resource's id).
    pub id: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
}

impl Resource for Table {
    type Outputs = TableOutputs;
    fn schema() -> &'static Schema {
        &TABLE_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("databaseName", self.database_name.to_expr()),
            ("name", Value::from(self.name.as_str()).into()),
            ("memoryStoreRetentionHours", Value::from(self.memory_store_retention_hours).into()),
            ("magneticStoreRetentionDays", Value::from(self.magnetic_store_retention_days).into()),
            ("magneticStoreWrites", Value::from(self.magnetic_store_writes).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> TableOutputs {
        TableOutputs { id: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
    fn validate(&self, c: &mut Checks) {
        check_name(c, "name", &self.name);
        if let Some(db) = self.database_name.value() {
            check_name(c, "databaseName", db);
        }
        let hours = self.memory_store_retention_hours;
        c.check((1..=MAX_MEMORY_HOURS).contains(&hours), "memoryStoreRetentionHours", || {
            format!("{hours} hours: between 1 and {MAX_MEMORY_HOURS} (a year)")
        });
        let days = self.magnetic_store_retention_days;
        c.check((1..=MAX_MAGNETIC_DAYS).contains(&days), "magneticStoreRetentionDays", || {
            format!("{days} days: between 1 and {MAX_MAGNETIC_DAYS} (200 years)")
        });
    }
}

fn retention(i: &In<'_>, op: &str) -> Result<RetentionProperties, ProviderError> {
    RetentionProperties::builder()
        .memory_store_retention_period_in_hours(i.opt_i64("memoryStoreRetentionHours").unwrap_or(6))
        .magnetic_store_retention_period_in_days(i.opt_i64("magneticStoreRetentionDays").unwrap_or(MAX_MAGNETIC_DAYS))
        .build()
        .map_err(|e| ProviderError::fatal(op, e.to_string()))
}

fn magnetic_writes(i: &In<'_>, op: &str) -> Result<MagneticStoreWriteProperties, ProviderError> {
    MagneticStoreWriteProperties::builder()
        .enable_magnetic_store_writes(i.bool("magneticStoreWrites"))
        .build()
        .map_err(|e| ProviderError::fatal(op, e.to_string()))
}

fn split_table_id(id: &str) -> Option<(&str, &str)> {
    id.split_once(':')
}

/// The table as AWS describes it; `None` when it does not exist or is
/// being deleted.
async fn describe_table(
    p: &AwsProvider,
    database: &str,
    name: &str,
) -> Result<Option<(Value, Value, Vec<Tag>)>, ProviderError> {
    let out = match p.timestream().await?.describe_table().database_name(database).table_name(name).send().await {
        Ok(o) => o,
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
        Err(e) => return Err(aws_err("DescribeTable", e)),
    };
    let Some(t) = out.table().filter(|t| t.table_status() != Some(&TableStatus::Deleting)) else { return Ok(None) };
    let arn = t.arn().unwrap_or_default();
    let tags = list_tags(p, arn).await?;
    let r = t.retention_properties();
    let inputs = map([
        ("databaseName", Value::from(t.database_name())),
        ("name", Value::from(t.table_name())),
        ("memoryStoreRetentionHours", Value::from(r.map(|r| r.memory_store_retention_period_in_hours()))),
        ("magneticStoreRetentionDays", Value::from(r.map(|r| r.magnetic_store_retention_period_in_days()))),
        (
            "magneticStoreWrites",
            Value::from(t.magnetic_store_write_properties().is_some_and(|m| m.enable_magnetic_store_writes())),
        ),
        ("tags", tags_value(tags.iter().map(|t| (t.key(), t.value())))),
    ]);
    Ok(Some((inputs, map([("arn", Value::from(arn))]), tags)))
}

pub(crate) struct TableHandler;

#[async_trait]
impl Handler for TableHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateTable";
        let i = In::new(&req.inputs, op);
        let (database, name) = (i.str("databaseName")?, i.str("name")?);
        let out = p
            .timestream()
            .await?
            .create_table()
            .database_name(database)
            .table_name(name)
            .retention_properties(retention(&i, op)?)
            .magnetic_store_write_properties(magnetic_writes(&i, op)?)
            .set_tags(Some(ts_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        let arn = out.table().and_then(|t| t.arn()).unwrap_or_default();
        Ok(CreateResult { id: format!("{database}:{name}"), outputs: map([("arn", Value::from(arn))]) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some((database, name)) = split_table_id(&req.id) else { return Ok(None) };
        Ok(describe_table(p, database, name).await?.map(|(inputs, outputs, _)| ReadResult {
            id: req.id,
            inputs,
            outputs,
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let op = "UpdateTable";
        let (old, new) = (In::new(&req.old_inputs, op), In::new(&req.inputs, op));
        let Some((database, name)) = split_table_id(&req.id) else {
            return Err(ProviderError::fatal(op, format!("`{}` is not <database>:<table>", req.id)));
        };
        if req.changed.iter().any(|k| k != "tags") {
            p.timestream()
                .await?
                .update_table()
                .database_name(database)
                .table_name(name)
                .retention_properties(retention(&new, op)?)
                .magnetic_store_write_properties(magnetic_writes(&new, op)?)
                .send()
                .await
                .map_err(|e| aws_err(op, e))?;
        }
        if req.changed.iter().any(|k| k == "tags") {
            let arn = In::new(&req.old_outputs, "TagResource").str("arn")?;
            update_tags(p, arn, &old.tags(), &new.tags()).await?;
        }
        Ok(UpdateResult { outputs: req.old_outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let Some((database, name)) = split_table_id(&req.id) else { return Ok(()) };
        let ts = p.timestream().await?;
        match ts.delete_table().database_name(database).table_name(name).send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(()),
            Err(e) => return Err(aws_err("DeleteTable", e)),
        }
        // A table is DELETING for a while; its database cannot go until
        // it is gone.
        wait_for(&format!("table {} deleted", req.id), req.timeout, Duration::from_secs(10 * 60), || async {
            match ts.describe_table().database_name(database).table_name(name).send().await {
                Ok(_) => Ok(None),
                Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(Some(())),
                Err(e) => Err(aws_err("DescribeTable", e)),
            }
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let i = In::new(&req.inputs, "");
        let (Some(database), Some(name)) = (i.opt_str("databaseName"), i.opt_str("name")) else { return Ok(None) };
        let Some((inputs, outputs, tags)) = describe_table(p, database, name).await? else { return Ok(None) };
        if !has_identity(&tags, &req.stack, req.urn.as_str()) {
            return Ok(None);
        }
        Ok(unless_known(&req, Some(ReadResult { id: format!("{database}:{name}"), inputs, outputs })))
    }
}
