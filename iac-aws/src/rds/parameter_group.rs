//! `DbParameterGroup` and `DbClusterParameterGroup`: engine settings for
//! instances and for Aurora clusters. The two differ only in the API calls,
//! so one handler serves both.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_rds::types::Parameter as SdkParameter;
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Output, Resource, Schema, Urn, Value};

use super::{check_group_name, has_identity, list_tags, rds_tags, tag_pairs, update_tags};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{map, tags_value, tags_with_identity, unless_known, In};

pub(crate) const INSTANCE_TYPE: &str = "aws:rds:DbParameterGroup";
pub(crate) const CLUSTER_TYPE: &str = "aws:rds:DbClusterParameterGroup";

/// Schema of [`DbParameterGroup`]: name, family and description are fixed
/// (AWS cannot change them); parameters and tags update in place.
pub static INSTANCE_SCHEMA: Schema = Schema {
    replace_on: &["name", "family", "description"],
    delete_before_replace: true,
    taggable: true,
    ..Schema::new(INSTANCE_TYPE, "aws")
};

/// Schema of [`DbClusterParameterGroup`]: as [`INSTANCE_SCHEMA`].
pub static CLUSTER_SCHEMA: Schema = Schema {
    replace_on: &["name", "family", "description"],
    delete_before_replace: true,
    taggable: true,
    ..Schema::new(CLUSTER_TYPE, "aws")
};

/// When RDS applies a parameter change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyMethod {
    /// At once (dynamic parameters only).
    Immediate,
    /// At the next reboot (required for static parameters).
    PendingReboot,
}

impl ApplyMethod {
    fn as_str(self) -> &'static str {
        match self {
            ApplyMethod::Immediate => "immediate",
            ApplyMethod::PendingReboot => "pending-reboot",
        }
    }
}

/// One engine parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Parameter {
    /// Its name, as the engine spells it (`log_min_duration_statement`).
    pub name: String,
    /// Its value.
    pub value: String,
    /// When it takes effect.
    pub apply_method: ApplyMethod,
}

impl Parameter {
    /// A dynamic parameter, applied at once.
    pub fn immediate(name: impl Into<String>, value: impl Into<String>) -> Parameter {
        Parameter { name: name.into(), value: value.into(), apply_method: ApplyMethod::Immediate }
    }

    /// A static parameter, applied at the next reboot.
    pub fn pending_reboot(name: impl Into<String>, value: impl Into<String>) -> Parameter {
        Parameter { name: name.into(), value: value.into(), apply_method: ApplyMethod::PendingReboot }
    }
}

/// A DB parameter group (for `DbInstance` and `DbClusterInstance`).
///
/// ```
/// use iac_aws::rds::{DbParameterGroup, Parameter};
/// let pg = DbParameterGroup::builder()
///     .name("orders-pg16")
///     .family("postgres16")
///     .parameters(vec![
///         Parameter::immediate("log_min_duration_statement", "500"),
///         Parameter::pending_reboot("shared_preload_libraries", "pg_stat_statements"),
///     ])
///     .build();
/// # let _ = pg;
/// ```
#[derive(bon::Builder)]
pub struct DbParameterGroup {
    /// The group's name (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// The engine family (`postgres16`, `mysql8.0`, `aurora-postgresql16`;
    /// replaces when changed).
    #[builder(into)]
    pub family: String,
    /// What it is for (replaces when changed).
    #[builder(into, default = "Managed by iac")]
    pub description: String,
    /// Parameters that differ from the family's defaults.
    #[builder(default)]
    pub parameters: Vec<Parameter>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
    /// Accepts parameter names the AWS catalog does not hold for the
    /// family, saying why; see [`crate::catalog`]. Not sent to AWS.
    #[builder(into)]
    pub catalog_override: Option<crate::catalog::CatalogOverride>,
}

/// A DB cluster parameter group (for an Aurora `DbCluster`).
///
/// ```
/// use iac_aws::rds::{DbClusterParameterGroup, Parameter};
/// let pg = DbClusterParameterGroup::builder()
///     .name("ledger-aurora-pg16")
///     .family("aurora-postgresql16")
///     .parameters(vec![Parameter::pending_reboot("rds.force_ssl", "1")])
///     .build();
/// # let _ = pg;
/// ```
#[derive(bon::Builder)]
pub struct DbClusterParameterGroup {
    /// The group's name (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// The engine family (`aurora-postgresql16`, `aurora-mysql8.0`;
    /// replaces when changed).
    #[builder(into)]
    pub family: String,
    /// What it is for (replaces when changed).
    #[builder(into, default = "Managed by iac")]
    pub description: String,
    /// Parameters that differ from the family's defaults.
    #[builder(default)]
    pub parameters: Vec<Parameter>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
    /// Accepts parameter names the AWS catalog does not hold for the
    /// family, saying why; see [`crate::catalog`]. Not sent to AWS.
    #[builder(into)]
    pub catalog_override: Option<crate::catalog::CatalogOverride>,
}

/// Outputs of a parameter group.
pub struct ParameterGroupOutputs {
    /// Its name (the resource's id).
    pub name: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
}

fn group_inputs(
    name: &str,
    family: &str,
    description: &str,
    parameters: &[Parameter],
    tags: &BTreeMap<String, String>,
) -> Expr {
    let params: BTreeMap<String, Value> = parameters
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                map([("value", Value::from(p.value.as_str())), ("applyMethod", Value::from(p.apply_method.as_str()))]),
            )
        })
        .collect();
    props([
        ("name", Value::from(name).into()),
        ("family", Value::from(family).into()),
        ("description", Value::from(description).into()),
        ("parameters", Value::Map(params).into()),
        ("tags", Value::from(tags.clone()).into()),
    ])
}

fn validate_group(
    c: &mut Checks,
    name: &str,
    family: &str,
    description: &str,
    parameters: &[Parameter],
    over: Option<&crate::catalog::CatalogOverride>,
) {
    check_group_name(c, "name", name);
    c.check(!family.is_empty(), "family", || "must not be empty (like postgres16)".into());
    c.check(!description.is_empty(), "description", || "must not be empty".into());
    let mut cat = crate::catalog::Scope::new(over);
    for (n, p) in parameters.iter().enumerate() {
        c.check(!p.name.is_empty(), "parameters", || format!("parameter {n} has no name"));
        if parameters[..n].iter().any(|o| o.name == p.name) {
            c.fail("parameters", format!("`{}` is set twice", p.name));
        }
        cat.report(c, "parameters", crate::catalog::parameters::check(family, &p.name));
    }
    cat.finish(c);
}

impl Resource for DbParameterGroup {
    type Outputs = ParameterGroupOutputs;
    fn schema() -> &'static Schema {
        &INSTANCE_SCHEMA
    }
    fn inputs(&self) -> Expr {
        group_inputs(&self.name, &self.family, &self.description, &self.parameters, &self.tags)
    }
    fn outputs(urn: &Urn) -> ParameterGroupOutputs {
        ParameterGroupOutputs { name: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
    fn validate(&self, c: &mut Checks) {
        validate_group(
            c,
            &self.name,
            &self.family,
            &self.description,
            &self.parameters,
            self.catalog_override.as_ref(),
        );
    }
}

impl Resource for DbClusterParameterGroup {
    type Outputs = ParameterGroupOutputs;
    fn schema() -> &'static Schema {
        &CLUSTER_SCHEMA
    }
    fn inputs(&self) -> Expr {
        group_inputs(&self.name, &self.family, &self.description, &self.parameters, &self.tags)
    }
    fn outputs(urn: &Urn) -> ParameterGroupOutputs {
        ParameterGroupOutputs { name: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
    fn validate(&self, c: &mut Checks) {
        validate_group(
            c,
            &self.name,
            &self.family,
            &self.description,
            &self.parameters,
            self.catalog_override.as_ref(),
        );
        c.check(self.family.starts_with("aurora"), "family", || {
            format!("`{}` is not an Aurora family (like aurora-postgresql16)", self.family)
        });
    }
}

/// One handler for both kinds; `cluster` picks the API calls.
pub(crate) struct ParameterGroupHandler {
    cluster: bool,
}

pub(crate) static INSTANCE_HANDLER: ParameterGroupHandler = ParameterGroupHandler { cluster: false };
pub(crate) static CLUSTER_HANDLER: ParameterGroupHandler = ParameterGroupHandler { cluster: true };

/// RDS takes at most 20 parameters per modify or reset call.
const BATCH: usize = 20;

fn sdk_params(i: &In<'_>, names: &[String]) -> Vec<SdkParameter> {
    names
        .iter()
        .map(|n| {
            let p = i.value("parameters").get(n);
            SdkParameter::builder()
                .parameter_name(n)
                .set_parameter_value(p.get("value").as_str().map(str::to_owned))
                .apply_method(p.get("applyMethod").as_str().unwrap_or("immediate").into())
                .build()
        })
        .collect()
}

impl ParameterGroupHandler {
    fn op(&self, instance: &'static str, cluster: &'static str) -> &'static str {
        if self.cluster {
            cluster
        } else {
            instance
        }
    }

    /// Name, family, description and ARN; `None` when gone.
    async fn group(&self, p: &AwsProvider, name: &str) -> Result<Option<[String; 4]>, ProviderError> {
        let rds = p.rds().await;
        const GONE: &[&str] = &["DBParameterGroupNotFound", "DBClusterParameterGroupNotFound"];
        if self.cluster {
            let out =
                match rds.describe_db_cluster_parameter_groups().db_cluster_parameter_group_name(name).send().await {
                    Ok(o) => o,
                    Err(e) if is_code(&e, GONE) => return Ok(None),
                    Err(e) => return Err(aws_err("DescribeDBClusterParameterGroups", e)),
                };
            Ok(out.db_cluster_parameter_groups().first().map(|g| {
                [
                    g.db_cluster_parameter_group_name().unwrap_or_default().to_owned(),
                    g.db_parameter_group_family().unwrap_or_default().to_owned(),
                    g.description().unwrap_or_default().to_owned(),
                    g.db_cluster_parameter_group_arn().unwrap_or_default().to_owned(),
                ]
            }))
        } else {
            let out = match rds.describe_db_parameter_groups().db_parameter_group_name(name).send().await {
                Ok(o) => o,
                Err(e) if is_code(&e, GONE) => return Ok(None),
                Err(e) => return Err(aws_err("DescribeDBParameterGroups", e)),
            };
            Ok(out.db_parameter_groups().first().map(|g| {
                [
                    g.db_parameter_group_name().unwrap_or_default().to_owned(),
                    g.db_parameter_group_family().unwrap_or_default().to_owned(),
                    g.description().unwrap_or_default().to_owned(),
                    g.db_parameter_group_arn().unwrap_or_default().to_owned(),
                ]
            }))
        }
    }

    /// The parameters the user set (source `user`), every page.
    async fn user_parameters(&self, p: &AwsProvider, name: &str) -> Result<Vec<SdkParameter>, ProviderError> {
        let rds = p.rds().await;
        let mut all = Vec::new();
        let mut marker = None;
        loop {
            let (page, next) = if self.cluster {
                let o = rds
                    .describe_db_cluster_parameters()
                    .db_cluster_parameter_group_name(name)
                    .source("user")
                    .set_marker(marker)
                    .send()
                    .await
                    .map_err(|e| aws_err("DescribeDBClusterParameters", e))?;
                (o.parameters().to_vec(), o.marker().map(str::to_owned))
            } else {
                let o = rds
                    .describe_db_parameters()
                    .db_parameter_group_name(name)
                    .source("user")
                    .set_marker(marker)
                    .send()
                    .await
                    .map_err(|e| aws_err("DescribeDBParameters", e))?;
                (o.parameters().to_vec(), o.marker().map(str::to_owned))
            };
            all.extend(page);
            match next {
                Some(m) if !m.is_empty() => marker = Some(m),
                _ => return Ok(all),
            }
        }
    }

    async fn describe(&self, p: &AwsProvider, name: &str) -> Result<Option<(Value, Value)>, ProviderError> {
        let Some([name, family, description, arn]) = self.group(p, name).await? else { return Ok(None) };
        let params: BTreeMap<String, Value> = self
            .user_parameters(p, &name)
            .await?
            .iter()
            .filter_map(|sp| {
                let method = sp.apply_method().map_or("immediate", |m| m.as_str());
                Some((
                    sp.parameter_name()?.to_owned(),
                    map([("value", Value::from(sp.parameter_value())), ("applyMethod", Value::from(method))]),
                ))
            })
            .collect();
        let tags = list_tags(p, &arn).await?;
        let inputs = map([
            ("name", Value::from(name)),
            ("family", Value::from(family)),
            ("description", Value::from(description)),
            ("parameters", Value::Map(params)),
            ("tags", tags_value(tag_pairs(&tags))),
        ]);
        Ok(Some((inputs, map([("arn", Value::from(arn))]))))
    }

    async fn modify(&self, p: &AwsProvider, name: &str, params: Vec<SdkParameter>) -> Result<(), ProviderError> {
        let rds = p.rds().await;
        for chunk in params.chunks(BATCH) {
            if self.cluster {
                rds.modify_db_cluster_parameter_group()
                    .db_cluster_parameter_group_name(name)
                    .set_parameters(Some(chunk.to_vec()))
                    .send()
                    .await
                    .map_err(|e| aws_err("ModifyDBClusterParameterGroup", e))?;
            } else {
                rds.modify_db_parameter_group()
                    .db_parameter_group_name(name)
                    .set_parameters(Some(chunk.to_vec()))
                    .send()
                    .await
                    .map_err(|e| aws_err("ModifyDBParameterGroup", e))?;
            }
        }
        Ok(())
    }

    /// Puts parameters back to the family's defaults.
    async fn reset(&self, p: &AwsProvider, name: &str, params: Vec<SdkParameter>) -> Result<(), ProviderError> {
        let rds = p.rds().await;
        for chunk in params.chunks(BATCH) {
            if self.cluster {
                rds.reset_db_cluster_parameter_group()
                    .db_cluster_parameter_group_name(name)
                    .set_parameters(Some(chunk.to_vec()))
                    .send()
                    .await
                    .map_err(|e| aws_err("ResetDBClusterParameterGroup", e))?;
            } else {
                rds.reset_db_parameter_group()
                    .db_parameter_group_name(name)
                    .set_parameters(Some(chunk.to_vec()))
                    .send()
                    .await
                    .map_err(|e| aws_err("ResetDBParameterGroup", e))?;
            }
        }
        Ok(())
    }
}

fn param_names(i: &In<'_>) -> Vec<String> {
    i.value("parameters").as_map().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

#[async_trait]
impl Handler for ParameterGroupHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = self.op("CreateDBParameterGroup", "CreateDBClusterParameterGroup");
        let i = In::new(&req.inputs, op);
        let name = i.str("name")?;
        let tags = rds_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn));
        let rds = p.rds().await;
        if self.cluster {
            rds.create_db_cluster_parameter_group()
                .db_cluster_parameter_group_name(name)
                .db_parameter_group_family(i.str("family")?)
                .description(i.str("description")?)
                .set_tags(Some(tags))
                .customize()
                .no_sdk_retry()
                .send()
                .await
                .map_err(|e| aws_err(op, e))?;
        } else {
            rds.create_db_parameter_group()
                .db_parameter_group_name(name)
                .db_parameter_group_family(i.str("family")?)
                .description(i.str("description")?)
                .set_tags(Some(tags))
                .customize()
                .no_sdk_retry()
                .send()
                .await
                .map_err(|e| aws_err(op, e))?;
        }
        self.modify(p, name, sdk_params(&i, &param_names(&i))).await?;
        let (_, outputs) = self
            .describe(p, name)
            .await?
            .ok_or_else(|| ProviderError::retriable(op, format!("{name} not visible yet")))?;
        Ok(CreateResult { id: name.to_owned(), outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(self.describe(p, &req.id).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let op = self.op("ModifyDBParameterGroup", "ModifyDBClusterParameterGroup");
        let (old, new) = (In::new(&req.old_inputs, op), In::new(&req.inputs, op));
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if changed("parameters") {
            let (was, now) = (param_names(&old), param_names(&new));
            let removed: Vec<String> = was.iter().filter(|n| !now.contains(n)).cloned().collect();
            if !removed.is_empty() {
                self.reset(p, &req.id, sdk_params(&old, &removed)).await?;
            }
            let set: Vec<String> =
                now.into_iter().filter(|n| old.value("parameters").get(n) != new.value("parameters").get(n)).collect();
            self.modify(p, &req.id, sdk_params(&new, &set)).await?;
        }
        if changed("tags") {
            let arn = In::new(&req.old_outputs, op).str("arn")?;
            update_tags(p.rds().await, arn, &old.tags(), &new.tags()).await?;
        }
        let (_, outputs) =
            self.describe(p, &req.id).await?.ok_or_else(|| ProviderError::fatal(op, format!("{} is gone", req.id)))?;
        Ok(UpdateResult { outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let rds = p.rds().await;
        const GONE: &[&str] = &["DBParameterGroupNotFound", "DBClusterParameterGroupNotFound"];
        // A group still used by a deleting instance answers
        // InvalidDBParameterGroupState; the engine retries it.
        let result = if self.cluster {
            rds.delete_db_cluster_parameter_group().db_cluster_parameter_group_name(&req.id).send().await.map(|_| ())
        } else {
            match rds.delete_db_parameter_group().db_parameter_group_name(&req.id).send().await {
                Ok(_) => Ok(()),
                Err(e) if is_code(&e, GONE) => return Ok(()),
                Err(e) => return Err(aws_err("DeleteDBParameterGroup", e)),
            }
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) if is_code(&e, GONE) => Ok(()),
            Err(e) => Err(aws_err("DeleteDBClusterParameterGroup", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let Some((inputs, outputs)) = self.describe(p, name).await? else { return Ok(None) };
        let arn = outputs.get("arn").as_str().unwrap_or_default();
        if !has_identity(&list_tags(p, arn).await?, &req.stack, req.urn.as_str()) {
            return Ok(None);
        }
        Ok(unless_known(&req, Some(ReadResult { id: name.to_owned(), inputs, outputs })))
    }
}
