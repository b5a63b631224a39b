//! `Function`: a Lambda function whose code the tool packages and hashes.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, Environment, FunctionCode, FunctionConfiguration, LastUpdateStatus, Runtime, State,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use super::code::{Code, Package};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{
    drop_computed_when_unset, keep_write_only, map, opt_expr, tags_value, tags_with_identity, unless_known, wait_for,
    In,
};
use crate::util::{TAG_NAME, TAG_STACK};

pub(crate) const TYPE: &str = "aws:lambda:Function";

/// Schema: the name is the identity; code (by its hash), configuration and
/// tags update in place.
pub static SCHEMA: Schema = Schema {
    replace_on: &["name"],
    delete_before_replace: true,
    taggable: true,
    computed_on_update: &["version", "lastModified", "codeSha256"],
    ..Schema::new(TYPE, "aws")
};

/// A Lambda function.
///
/// Code from a directory is zipped by the tool, deterministically: its
/// SHA-256 is an input, so a preview shows a code change exactly when a
/// file's content changed, and only then is the code uploaded again.
///
/// ```
/// use iac_aws::lambda::{Code, Function};
/// let ingest = Function::builder()
///     .name("ingest")
///     .runtime("python3.12")
///     .handler("index.handler")
///     .role("arn:aws:iam::123456789012:role/ingest")
///     .code(Code::Directory("functions/ingest".into()))
///     .memory_size(512)
///     .timeout(60)
///     .environment(iac_aws::tags([("TABLE", "prices")]).into_iter().map(|(k, v)| (k, v.into())).collect())
///     .build();
/// # let _ = ingest;
/// ```
#[derive(bon::Builder)]
pub struct Function {
    /// The function's name (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// What it does.
    #[builder(into, default)]
    pub description: String,
    /// The runtime (`python3.12`, `nodejs20.x`, `java21`, `provided.al2023`, …).
    #[builder(into)]
    pub runtime: String,
    /// The entry point (`index.handler`).
    #[builder(into)]
    pub handler: String,
    /// The execution role.
    #[builder(into)]
    pub role: Input<String>,
    /// The code.
    pub code: Code,
    /// Memory in MB (128–10240).
    #[builder(default = 128)]
    pub memory_size: i32,
    /// Seconds before an invocation is stopped (1–900).
    #[builder(default = 3)]
    pub timeout: i32,
    /// `x86_64` (default) or `arm64`.
    #[builder(into, default = "x86_64")]
    pub architecture: String,
    /// Environment variables; a secret input stays sealed in state.
    #[builder(default)]
    pub environment: BTreeMap<String, Input<String>>,
    /// The KMS key encrypting the environment at rest (else AWS's).
    #[builder(into)]
    pub kms_key_arn: Option<Input<String>>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
    /// Accepts a runtime the AWS catalog does not
    /// hold, saying why (the catalog is older than what Lambda offers
    /// now); see [`crate::catalog`]. Not sent to AWS.
    #[builder(into)]
    pub catalog_override: Option<crate::catalog::CatalogOverride>,
}

/// Outputs of a [`Function`].
pub struct FunctionOutputs {
    /// Its name (the resource's id).
    pub name: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
    /// The ARN API Gateway and EventBridge invoke.
    pub invoke_arn: Output<String>,
    /// The version `$LATEST` points at.
    pub version: Output<String>,
    /// The deployed code's SHA-256 (base64), known only after an update;
    /// for a [`super::Version`], [`Function::code_sha256`] is known at
    /// preview.
    pub code_sha256: Output<String>,
}

impl Function {
    /// The SHA-256 (base64) of the code as it will be deployed, known at
    /// preview for local code; `None` for S3 code or unreadable files. A
    /// [`super::Version`] given this publishes a new version exactly when
    /// the code changes.
    pub fn code_sha256(&self) -> Option<String> {
        Package::of(&self.code)?.ok().map(|p| p.sha256)
    }

    fn code_inputs(&self) -> (Value, Value) {
        let source = match &self.code {
            Code::Directory(d) => map([("directory", Value::from(d.display().to_string()))]),
            Code::Zip(f) => map([("zip", Value::from(f.display().to_string()))]),
            Code::S3 { bucket, key, version } => map([
                ("s3Bucket", Value::from(bucket.as_str())),
                ("s3Key", Value::from(key.as_str())),
                ("s3Version", Value::from(version.clone())),
            ]),
        };
        let sha = match Package::of(&self.code) {
            Some(Ok(p)) => Value::from(p.sha256),
            _ => Value::Null,
        };
        (source, sha)
    }
}

impl Resource for Function {
    type Outputs = FunctionOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        let (source, sha) = self.code_inputs();
        let env = Expr::Map(self.environment.iter().map(|(k, v)| (k.clone(), v.to_expr())).collect());
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("description", Value::from(self.description.as_str()).into()),
            ("runtime", Value::from(self.runtime.as_str()).into()),
            ("handler", Value::from(self.handler.as_str()).into()),
            ("role", self.role.to_expr()),
            ("codeSource", source.into()),
            ("codeSha256", sha.into()),
            ("memorySize", Value::from(i64::from(self.memory_size)).into()),
            ("timeout", Value::from(i64::from(self.timeout)).into()),
            ("architecture", Value::from(self.architecture.as_str()).into()),
            ("environment", env),
            ("kmsKeyArn", opt_expr(self.kms_key_arn.as_ref())),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> FunctionOutputs {
        FunctionOutputs {
            name: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            invoke_arn: Output::from_ref(urn, "invokeArn"),
            version: Output::from_ref(urn, "version"),
            code_sha256: Output::from_ref(urn, "codeSha256"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        crate::checks::name(
            c,
            "name",
            &self.name,
            64,
            |ch| ch.is_ascii_alphanumeric() || "-_".contains(ch),
            "letters, digits, hyphens and underscores",
        );
        c.check(!self.handler.is_empty(), "handler", || "an entry point is required (like index.handler)".into());
        let mut cat = crate::catalog::Scope::new(self.catalog_override.as_ref());
        if Runtime::values().contains(&self.runtime.as_str()) {
            match crate::catalog::lambda_runtimes::check(&self.runtime, crate::catalog::today()) {
                Ok(()) => {}
                Err(Ok(why)) => cat.report_dated(c, "runtime", Some(why)),
                Err(Err(miss)) => cat.report(c, "runtime", Some(miss)),
            }
        } else {
            c.fail("runtime", format!("`{}` is not a Lambda runtime (like python3.12 or nodejs20.x)", self.runtime));
        }
        cat.finish(c);
        c.check((128..=10_240).contains(&self.memory_size), "memorySize", || {
            format!("{} MB: between 128 and 10240", self.memory_size)
        });
        c.check((1..=900).contains(&self.timeout), "timeout", || format!("{} s: between 1 and 900", self.timeout));
        c.check(["x86_64", "arm64"].contains(&self.architecture.as_str()), "architecture", || {
            format!("`{}`: x86_64 or arm64", self.architecture)
        });
        for k in self.environment.keys() {
            let ok = k.starts_with(|ch: char| ch.is_ascii_alphabetic())
                && k.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
            c.check(ok, "environment", || format!("`{k}` is not a variable name (a letter, then letters, digits, _)"));
            c.check(!RESERVED_ENV.contains(&k.as_str()), "environment", || format!("`{k}` is reserved by Lambda"));
        }
        match Package::of(&self.code) {
            Some(Err(e)) => c.fail("code", format!("cannot package {:?}: {e}", self.code)),
            Some(Ok(p)) => c.check(p.bytes.len() <= 50 * 1024 * 1024, "code", || {
                format!(
                    "the zip is {} MB; a direct upload is at most 50 MB (put it in S3)",
                    p.bytes.len() / (1024 * 1024)
                )
            }),
            None => {}
        }
    }
}

/// Variables Lambda sets itself and refuses from users.
const RESERVED_ENV: &[&str] = &[
    "_HANDLER",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// The code to send: the package, checked against the hash the plan was
/// made with, or the S3 object.
fn function_code(i: &In<'_>, op: &str) -> Result<FunctionCode, ProviderError> {
    let source = i.value("codeSource");
    let local = match (source.get("directory").as_str(), source.get("zip").as_str()) {
        (Some(d), _) => Some(Code::Directory(d.into())),
        (None, Some(z)) => Some(Code::Zip(z.into())),
        _ => None,
    };
    let Some(code) = local else {
        return Ok(FunctionCode::builder()
            .set_s3_bucket(source.get("s3Bucket").as_str().map(str::to_owned))
            .set_s3_key(source.get("s3Key").as_str().map(str::to_owned))
            .set_s3_object_version(source.get("s3Version").as_str().map(str::to_owned))
            .build());
    };
    let package = Package::of(&code)
        .expect("local code")
        .map_err(|e| ProviderError::fatal(op, format!("cannot package {code:?}: {e}")))?;
    if Some(package.sha256.as_str()) != i.opt_str("codeSha256") {
        return Err(ProviderError::fatal(
            op,
            format!("the code in {code:?} changed after the plan was made; run again to plan the new code"),
        ));
    }
    Ok(FunctionCode::builder().zip_file(Blob::new(package.bytes)).build())
}

fn environment(i: &In<'_>) -> Environment {
    let vars: HashMap<String, String> = i
        .value("environment")
        .as_map()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let v = match v {
                        Value::Secret(s) => s.as_str(),
                        v => v.as_str(),
                    };
                    Some((k.clone(), v?.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default();
    Environment::builder().set_variables(Some(vars)).build()
}

fn values(c: &FunctionConfiguration, tags: Option<&HashMap<String, String>>, recorded: &Value) -> (Value, Value) {
    // A variable given as a secret reads back sealed, never in plaintext.
    let env: BTreeMap<String, Value> = c
        .environment()
        .and_then(|e| e.variables())
        .map(|vars| {
            vars.iter()
                .map(|(k, v)| {
                    let v = Value::from(v.as_str());
                    let sealed = matches!(recorded.get("environment").get(k), Value::Secret(_));
                    (k.clone(), if sealed { Value::Secret(Box::new(v)) } else { v })
                })
                .collect()
        })
        .unwrap_or_default();
    let mut inputs = map([
        ("name", Value::from(c.function_name())),
        ("description", Value::from(c.description().unwrap_or_default())),
        ("runtime", Value::from(c.runtime().map(|r| r.as_str()))),
        ("handler", Value::from(c.handler())),
        ("role", Value::from(c.role())),
        ("codeSha256", Value::from(c.code_sha256())),
        ("memorySize", Value::from(c.memory_size().map(i64::from))),
        ("timeout", Value::from(c.timeout().map(i64::from))),
        ("architecture", Value::from(c.architectures().first().map_or("x86_64", |a| a.as_str()))),
        ("environment", Value::Map(env)),
        ("kmsKeyArn", Value::from(c.kms_key_arn())),
        ("tags", tags_value(tags.into_iter().flat_map(|t| t.iter().map(|(k, v)| (k.as_str(), v.as_str()))))),
    ]);
    // Where the code came from is ours; AWS knows only its hash.
    keep_write_only(&mut inputs, recorded, &["codeSource"]);
    drop_computed_when_unset(&mut inputs, recorded, &["kmsKeyArn"]);
    if recorded.get("codeSha256").is_empty_like() {
        // S3 code: the hash is AWS's to report, not an input.
        if let Value::Map(m) = &mut inputs {
            m.remove("codeSha256");
        }
    }
    let arn = c.function_arn().unwrap_or_default();
    let region = arn.split(':').nth(3).unwrap_or_default();
    let outputs = map([
        ("arn", Value::from(arn)),
        (
            "invokeArn",
            Value::from(format!("arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations")),
        ),
        ("version", Value::from(c.version())),
        ("lastModified", Value::from(c.last_modified())),
        ("codeSha256", Value::from(c.code_sha256())),
    ]);
    (inputs, outputs)
}

async fn describe(p: &AwsProvider, name: &str, recorded: &Value) -> Result<Option<(Value, Value)>, ProviderError> {
    let out = match p.lambda().await.get_function().function_name(name).send().await {
        Ok(o) => o,
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
        Err(e) => return Err(aws_err("GetFunction", e)),
    };
    let Some(c) = out.configuration() else { return Ok(None) };
    Ok(Some(values(c, out.tags(), recorded)))
}

/// Waits until the function is `Active` and its last update finished.
async fn wait_ready(p: &AwsProvider, name: &str, timeout: Option<Duration>) -> Result<(), ProviderError> {
    wait_for(&format!("function {name} active"), timeout, Duration::from_secs(10 * 60), || async {
        let c = p
            .lambda()
            .await
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .map_err(|e| aws_err("GetFunctionConfiguration", e))?;
        if c.state() == Some(&State::Failed) || c.last_update_status() == Some(&LastUpdateStatus::Failed) {
            let why = c.state_reason().or(c.last_update_status_reason()).unwrap_or("no reason given");
            return Err(ProviderError::fatal("GetFunctionConfiguration", format!("function {name} failed: {why}")));
        }
        let active = c.state().is_none_or(|s| s == &State::Active);
        let updated = c.last_update_status().is_none_or(|s| s == &LastUpdateStatus::Successful);
        Ok((active && updated).then_some(()))
    })
    .await
}

pub(crate) struct FunctionHandler;

#[async_trait]
impl Handler for FunctionHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateFunction";
        let i = In::new(&req.inputs, op);
        let name = i.str("name")?;
        let tags: HashMap<String, String> = tags_with_identity(&req.inputs, &req.stack, &req.urn).into_iter().collect();
        p.lambda()
            .await
            .create_function()
            .function_name(name)
            .description(i.opt_str("description").unwrap_or_default())
            .runtime(Runtime::from(i.str("runtime")?))
            .handler(i.str("handler")?)
            .role(i.str("role")?)
            .code(function_code(&i, op)?)
            .memory_size(i.opt_i32("memorySize").unwrap_or(128))
            .timeout(i.opt_i32("timeout").unwrap_or(3))
            .architectures(Architecture::from(i.opt_str("architecture").unwrap_or("x86_64")))
            .environment(environment(&i))
            .set_kms_key_arn(i.opt_str("kmsKeyArn").map(str::to_owned))
            .set_tags(Some(tags))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        wait_ready(p, name, req.timeout).await?;
        let (_, outputs) = describe(p, name, &req.inputs)
            .await?
            .ok_or_else(|| ProviderError::retriable("GetFunction", format!("{name} not visible yet")))?;
        Ok(CreateResult { id: name.to_owned(), outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id, &req.inputs).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, "UpdateFunction"), In::new(&req.inputs, "UpdateFunction"));
        let lambda = p.lambda().await;
        let name = req.id.as_str();
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        // Only a new hash (or a new S3 object) uploads code.
        if changed("codeSha256") || changed("codeSource") || changed("architecture") {
            let code = function_code(&new, "UpdateFunctionCode")?;
            lambda
                .update_function_code()
                .function_name(name)
                .set_zip_file(code.zip_file().cloned())
                .set_s3_bucket(code.s3_bucket().map(str::to_owned))
                .set_s3_key(code.s3_key().map(str::to_owned))
                .set_s3_object_version(code.s3_object_version().map(str::to_owned))
                .architectures(Architecture::from(new.opt_str("architecture").unwrap_or("x86_64")))
                .send()
                .await
                .map_err(|e| aws_err("UpdateFunctionCode", e))?;
            wait_ready(p, name, req.timeout).await?;
        }
        let config = ["description", "runtime", "handler", "role", "memorySize", "timeout", "environment", "kmsKeyArn"];
        if config.iter().any(|k| changed(k)) {
            lambda
                .update_function_configuration()
                .function_name(name)
                .description(new.opt_str("description").unwrap_or_default())
                .runtime(Runtime::from(new.str("runtime")?))
                .handler(new.str("handler")?)
                .role(new.str("role")?)
                .memory_size(new.opt_i32("memorySize").unwrap_or(128))
                .timeout(new.opt_i32("timeout").unwrap_or(3))
                .environment(environment(&new))
                .kms_key_arn(new.opt_str("kmsKeyArn").unwrap_or_default())
                .send()
                .await
                .map_err(|e| aws_err("UpdateFunctionConfiguration", e))?;
            wait_ready(p, name, req.timeout).await?;
        }
        if changed("tags") {
            let arn = In::new(&req.old_outputs, "TagResource").str("arn")?;
            let (was, now) = (old.tags(), new.tags());
            let removed: Vec<String> = was.keys().filter(|k| !now.contains_key(*k)).cloned().collect();
            if !removed.is_empty() {
                lambda
                    .untag_resource()
                    .resource(arn)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .map_err(|e| aws_err("UntagResource", e))?;
            }
            let added: HashMap<String, String> = now.into_iter().filter(|(k, v)| was.get(k) != Some(v)).collect();
            if !added.is_empty() {
                lambda
                    .tag_resource()
                    .resource(arn)
                    .set_tags(Some(added))
                    .send()
                    .await
                    .map_err(|e| aws_err("TagResource", e))?;
            }
        }
        let (_, outputs) = describe(p, name, &req.inputs)
            .await?
            .ok_or_else(|| ProviderError::fatal("GetFunction", format!("{name} is gone")))?;
        Ok(UpdateResult { outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.lambda().await.delete_function().function_name(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteFunction", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let out = match p.lambda().await.get_function().function_name(name).send().await {
            Ok(o) => o,
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
            Err(e) => return Err(aws_err("GetFunction", e)),
        };
        let get = |k: &str| out.tags().and_then(|t| t.get(k)).map(String::as_str);
        if get(TAG_STACK) != Some(req.stack.as_str()) || get(TAG_NAME) != Some(req.urn.as_str()) {
            return Ok(None);
        }
        let Some(c) = out.configuration() else { return Ok(None) };
        let (inputs, outputs) = values(c, out.tags(), &req.inputs);
        Ok(unless_known(&req, Some(ReadResult { id: name.to_owned(), inputs, outputs })))
    }
}
