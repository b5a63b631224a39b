//! `Version` and `Alias`: immutable snapshots of a function, and the named
//! pointers (with optional weighted traffic to a second version) that
//! callers and CodeDeploy use.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_lambda::types::AliasRoutingConfiguration;
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{map, unless_known, In};

pub(crate) const VERSION: &str = "aws:lambda:Version";
pub(crate) const ALIAS: &str = "aws:lambda:Alias";

/// Schema of [`Version`]: a version never changes, so new code (its hash)
/// or a new description publishes a new one; the old one is kept until the
/// new one exists, since an alias may point at it.
pub static VERSION_SCHEMA: Schema =
    Schema { replace_on: &["function", "codeSha256", "description"], ..Schema::new(VERSION, "aws") };

/// Schema of [`Alias`]: the function and name are fixed; the version,
/// description and traffic split update in place.
pub static ALIAS_SCHEMA: Schema =
    Schema { replace_on: &["function", "name"], delete_before_replace: true, ..Schema::new(ALIAS, "aws") };

/// A published version of a function's current code and configuration.
///
/// ```
/// # fn f(s: &iac_core::Stack, role: iac_core::Input<String>) {
/// use iac_aws::lambda::{Code, Function, Version};
/// let function = Function::builder()
///     .name("ingest")
///     .runtime("python3.12")
///     .handler("index.handler")
///     .role(role)
///     .code(Code::Directory("functions/ingest".into()))
///     .build();
/// // Known at preview: a new version is planned exactly when the code changes.
/// let sha = function.code_sha256().unwrap_or_default();
/// let ingest = s.add("ingest", function);
/// let v = s.add("ingest-version", Version::builder().function(ingest.name.clone()).code_sha256(sha).build());
/// # let _ = v; }
/// ```
#[derive(bon::Builder)]
pub struct Version {
    /// The function (name or ARN).
    #[builder(into)]
    pub function: Input<String>,
    /// The code the version must hold ([`super::Function::code_sha256`]):
    /// a new hash publishes a new version, and AWS refuses to publish if
    /// the function's code is not that.
    #[builder(into)]
    pub code_sha256: Input<String>,
    /// What changed in it.
    #[builder(into, default)]
    pub description: String,
}

/// Outputs of a [`Version`].
pub struct VersionOutputs {
    /// `<function>:<version>` (the resource's id).
    pub id: Output<String>,
    /// The version number.
    pub version: Output<String>,
    /// The qualified ARN.
    pub arn: Output<String>,
}

impl Resource for Version {
    type Outputs = VersionOutputs;
    fn schema() -> &'static Schema {
        &VERSION_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("function", self.function.to_expr()),
            ("codeSha256", self.code_sha256.to_expr()),
            ("description", Value::from(self.description.as_str()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> VersionOutputs {
        VersionOutputs {
            id: Output::from_ref(urn, "id"),
            version: Output::from_ref(urn, "version"),
            arn: Output::from_ref(urn, "arn"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        c.check(self.description.len() <= 256, "description", || {
            format!("{} characters; at most 256", self.description.len())
        });
    }
}

fn split_qualified(id: &str) -> (&str, &str) {
    id.rsplit_once(':').unwrap_or((id, ""))
}

async fn describe_version(
    p: &AwsProvider,
    function: &str,
    version: &str,
) -> Result<Option<(Value, Value)>, ProviderError> {
    let c = match p.lambda().await.get_function_configuration().function_name(function).qualifier(version).send().await
    {
        Ok(c) => c,
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
        Err(e) => return Err(aws_err("GetFunctionConfiguration", e)),
    };
    let inputs = map([
        ("function", Value::from(function)),
        ("codeSha256", Value::from(c.code_sha256())),
        ("description", Value::from(c.description().unwrap_or_default())),
    ]);
    let outputs = map([("version", Value::from(c.version())), ("arn", Value::from(c.function_arn()))]);
    Ok(Some((inputs, outputs)))
}

pub(crate) struct VersionHandler;

#[async_trait]
impl Handler for VersionHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "PublishVersion");
        let function = i.str("function")?;
        let out = p
            .lambda()
            .await
            .publish_version()
            .function_name(function)
            .code_sha256(i.str("codeSha256")?)
            .description(i.opt_str("description").unwrap_or_default())
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("PublishVersion", e))?;
        let version = out.version().ok_or_else(|| ProviderError::fatal("PublishVersion", "no version returned"))?;
        let outputs = map([("version", Value::from(version)), ("arn", Value::from(out.function_arn()))]);
        Ok(CreateResult { id: format!("{function}:{version}"), outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let (function, version) = split_qualified(&req.id);
        Ok(describe_version(p, function, version).await?.map(|(inputs, outputs)| ReadResult {
            id: req.id,
            inputs,
            outputs,
        }))
    }

    async fn update(&self, _p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        // Every input replaces; a version is immutable.
        Ok(UpdateResult { outputs: req.old_outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let (function, version) = split_qualified(&req.id);
        match p.lambda().await.delete_function().function_name(function).qualifier(version).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteFunction", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // Publishing the same code twice returns the same version, so the
        // version holding this code is this resource's.
        let i = In::new(&req.inputs, "");
        let (Some(function), Some(sha)) = (i.opt_str("function"), i.opt_str("codeSha256")) else { return Ok(None) };
        let versions = match p
            .lambda()
            .await
            .list_versions_by_function()
            .function_name(function)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
        {
            Ok(o) => o,
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
            Err(e) => return Err(aws_err("ListVersionsByFunction", e)),
        };
        // The newest such version the state does not already record.
        let Some(v) = versions
            .iter()
            .filter(|v| v.version() != Some("$LATEST") && v.code_sha256() == Some(sha))
            .filter_map(|v| v.version())
            .rfind(|v| !req.is_known(&format!("{function}:{v}")))
        else {
            return Ok(None);
        };
        Ok(describe_version(p, function, v).await?.map(|(inputs, outputs)| ReadResult {
            id: format!("{function}:{v}"),
            inputs,
            outputs,
        }))
    }
}

/// A named pointer to a version, optionally sending a share of the traffic
/// to a second version (a canary).
///
/// ```
/// use iac_aws::lambda::Alias;
/// let live = Alias::builder()
///     .function("ingest")
///     .name("live")
///     .function_version("7")
///     .canary(("8".into(), 0.1))
///     .build();
/// # let _ = live;
/// ```
#[derive(bon::Builder)]
pub struct Alias {
    /// The function (name or ARN; replaces).
    #[builder(into)]
    pub function: Input<String>,
    /// The alias's name (replaces).
    #[builder(into)]
    pub name: String,
    /// The version it points at.
    #[builder(into)]
    pub function_version: Input<String>,
    /// What it is for.
    #[builder(into, default)]
    pub description: String,
    /// A second version and the share of traffic (0–1) it gets.
    pub canary: Option<(Input<String>, f64)>,
}

/// Outputs of an [`Alias`].
pub struct AliasOutputs {
    /// `<function>:<alias>` (the resource's id).
    pub id: Output<String>,
    /// The alias's ARN, what callers invoke.
    pub arn: Output<String>,
}

impl Resource for Alias {
    type Outputs = AliasOutputs;
    fn schema() -> &'static Schema {
        &ALIAS_SCHEMA
    }
    fn inputs(&self) -> Expr {
        let canary = match &self.canary {
            None => Expr::Value(Value::Null),
            Some((v, w)) => props([("version", v.to_expr()), ("weight", Value::Float(*w).into())]),
        };
        props([
            ("function", self.function.to_expr()),
            ("name", Value::from(self.name.as_str()).into()),
            ("functionVersion", self.function_version.to_expr()),
            ("description", Value::from(self.description.as_str()).into()),
            ("canary", canary),
        ])
    }
    fn outputs(urn: &Urn) -> AliasOutputs {
        AliasOutputs { id: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
    fn validate(&self, c: &mut Checks) {
        let n = &self.name;
        let ok = !n.is_empty()
            && n.len() <= 128
            && !n.chars().all(|ch| ch.is_ascii_digit())
            && n.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_".contains(ch));
        c.check(ok, "name", || format!("`{n}`: 1–128 letters, digits, - and _, not only digits (that is a version)"));
        if let Some((_, w)) = self.canary {
            c.check((0.0..=1.0).contains(&w), "canary", || format!("weight {w}: between 0 and 1"));
        }
    }
}

fn routing(i: &In<'_>) -> AliasRoutingConfiguration {
    let c = i.value("canary");
    let weights: HashMap<String, f64> = match (c.get("version").as_str(), c.get("weight")) {
        (Some(v), Value::Float(w)) => [(v.to_owned(), *w)].into(),
        (Some(v), Value::Int(w)) => [(v.to_owned(), *w as f64)].into(),
        _ => HashMap::new(),
    };
    AliasRoutingConfiguration::builder().set_additional_version_weights(Some(weights)).build()
}

async fn describe_alias(p: &AwsProvider, function: &str, name: &str) -> Result<Option<(Value, Value)>, ProviderError> {
    let a = match p.lambda().await.get_alias().function_name(function).name(name).send().await {
        Ok(a) => a,
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
        Err(e) => return Err(aws_err("GetAlias", e)),
    };
    let canary = a
        .routing_config()
        .and_then(|r| r.additional_version_weights())
        .and_then(|w| w.iter().next())
        .map_or(Value::Null, |(v, w)| map([("version", Value::from(v.as_str())), ("weight", Value::Float(*w))]));
    let inputs = map([
        ("function", Value::from(function)),
        ("name", Value::from(a.name())),
        ("functionVersion", Value::from(a.function_version())),
        ("description", Value::from(a.description().unwrap_or_default())),
        ("canary", canary),
    ]);
    Ok(Some((inputs, map([("arn", Value::from(a.alias_arn()))]))))
}

pub(crate) struct AliasHandler;

#[async_trait]
impl Handler for AliasHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateAlias");
        let (function, name) = (i.str("function")?, i.str("name")?);
        let out = p
            .lambda()
            .await
            .create_alias()
            .function_name(function)
            .name(name)
            .function_version(i.str("functionVersion")?)
            .description(i.opt_str("description").unwrap_or_default())
            .routing_config(routing(&i))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateAlias", e))?;
        Ok(CreateResult { id: format!("{function}:{name}"), outputs: map([("arn", Value::from(out.alias_arn()))]) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let (function, name) = split_qualified(&req.id);
        Ok(describe_alias(p, function, name).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let i = In::new(&req.inputs, "UpdateAlias");
        let (function, name) = split_qualified(&req.id);
        let out = p
            .lambda()
            .await
            .update_alias()
            .function_name(function)
            .name(name)
            .function_version(i.str("functionVersion")?)
            .description(i.opt_str("description").unwrap_or_default())
            .routing_config(routing(&i))
            .send()
            .await
            .map_err(|e| aws_err("UpdateAlias", e))?;
        Ok(UpdateResult { outputs: map([("arn", Value::from(out.alias_arn()))]) })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let (function, name) = split_qualified(&req.id);
        match p.lambda().await.delete_alias().function_name(function).name(name).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteAlias", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // Aliases take no tags; the name is unique per function and
        // CreateAlias refuses a second one.
        let i = In::new(&req.inputs, "");
        let (Some(function), Some(name)) = (i.opt_str("function"), i.opt_str("name")) else { return Ok(None) };
        let found = describe_alias(p, function, name).await?.map(|(inputs, outputs)| ReadResult {
            id: format!("{function}:{name}"),
            inputs,
            outputs,
        });
        Ok(unless_known(&req, found))
    }
}
