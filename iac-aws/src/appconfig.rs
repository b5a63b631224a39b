//! AWS AppConfig: applications, their environments (watched by CloudWatch
//! alarms), configuration profiles (feature flags or free-form), hosted
//! configuration versions holding the content, and deployment strategies.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_appconfig::primitives::Blob;
use aws_sdk_appconfig::types::{
    GrowthType, Monitor as SdkMonitor, ReplicateTo, Validator as SdkValidator, ValidatorType,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{map, opt_expr, tags_value, tags_with_identity, In, TAG_NAME, TAG_STACK};

pub(crate) const APPLICATION: &str = "aws:appconfig:Application";
pub(crate) const ENVIRONMENT: &str = "aws:appconfig:Environment";
pub(crate) const PROFILE: &str = "aws:appconfig:ConfigurationProfile";
pub(crate) const STRATEGY: &str = "aws:appconfig:DeploymentStrategy";
pub(crate) const VERSION: &str = "aws:appconfig:HostedConfigurationVersion";

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    Some(match type_token {
        APPLICATION => &ApplicationHandler,
        ENVIRONMENT => &EnvironmentHandler,
        PROFILE => &ProfileHandler,
        STRATEGY => &StrategyHandler,
        VERSION => &VersionHandler,
        _ => return None,
    })
}

/// Schema of [`Application`]: the name, description and tags update in
/// place (AppConfig ids are its own, names need not be unique).
pub static APPLICATION_SCHEMA: Schema = Schema { taggable: true, ..Schema::new(APPLICATION, "aws") };

/// Schema of [`Environment`]: the application is its identity; the name,
/// description, monitors and tags update in place.
pub static ENVIRONMENT_SCHEMA: Schema = Schema {
    replace_on: &["applicationId"],
    taggable: true,
    computed_on_update: &["state"],
    ..Schema::new(ENVIRONMENT, "aws")
};

/// Schema of [`ConfigurationProfile`]: the application, where the content
/// lives and the profile's type are fixed; the rest updates in place.
pub static PROFILE_SCHEMA: Schema =
    Schema { replace_on: &["applicationId", "locationUri", "type"], taggable: true, ..Schema::new(PROFILE, "aws") };

/// Schema of [`DeploymentStrategy`]: the name and where it is replicated
/// are fixed (`UpdateDeploymentStrategy` takes neither); the pace updates
/// in place.
pub static STRATEGY_SCHEMA: Schema =
    Schema { replace_on: &["name", "replicateTo"], taggable: true, ..Schema::new(STRATEGY, "aws") };

/// Schema of [`HostedConfigurationVersion`]: a version never changes, so
/// new content (or a new description or label) creates a new version; the
/// old one is deleted once the new one exists.
pub static VERSION_SCHEMA: Schema = Schema {
    replace_on: &["applicationId", "configurationProfileId", "content", "description", "versionLabel"],
    ..Schema::new(VERSION, "aws")
};

fn name_check(c: &mut Checks, field: &str, value: &str, max: usize) {
    if value.is_empty() {
        c.fail(field, "must not be empty");
    } else if value.chars().count() > max {
        c.fail(field, format!("`{value}` is {} characters; the limit is {max}", value.chars().count()));
    }
}

fn description_check(c: &mut Checks, description: &str) {
    c.check(description.chars().count() <= 1024, "description", || {
        format!("{} characters; at most 1024", description.chars().count())
    });
}

async fn list_tags(p: &AwsProvider, arn: &str) -> Result<HashMap<String, String>, ProviderError> {
    let out = p
        .appconfig()
        .await
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| aws_err("ListTagsForResource", e))?;
    Ok(out.tags().cloned().unwrap_or_default())
}

/// Whether the tags say this stack made this resource under this name.
fn is_ours(tags: &HashMap<String, String>, stack: &str, urn: &Urn) -> bool {
    tags.get(TAG_STACK).map(String::as_str) == Some(stack)
        && tags.get(TAG_NAME).map(String::as_str) == Some(urn.as_str())
}

fn tag_value(tags: &HashMap<String, String>) -> Value {
    tags_value(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

fn identity_tags(inputs: &Value, stack: &str, urn: &Urn) -> HashMap<String, String> {
    tags_with_identity(inputs, stack, urn).into_iter().collect()
}

/// Applies a change of the user's tags (identity tags are left alone).
async fn retag(p: &AwsProvider, arn: &str, old: &Value, new: &Value) -> Result<(), ProviderError> {
    let (was, now) = (In::new(old, "TagResource").tags(), In::new(new, "TagResource").tags());
    let ac = p.appconfig().await;
    let removed: Vec<String> = was.keys().filter(|k| !now.contains_key(*k)).cloned().collect();
    if !removed.is_empty() {
        ac.untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(removed))
            .send()
            .await
            .map_err(|e| aws_err("UntagResource", e))?;
    }
    let added: HashMap<String, String> = now.into_iter().filter(|(k, v)| was.get(k) != Some(v)).collect();
    if !added.is_empty() {
        ac.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(added))
            .send()
            .await
            .map_err(|e| aws_err("TagResource", e))?;
    }
    Ok(())
}

/// Splits a `<application>/<child>` id.
fn split2(id: &str) -> Option<(&str, &str)> {
    id.split_once('/')
}

// ---- Application -----------------------------------------------------------

/// An AppConfig application: the unit that owns environments and
/// configuration profiles.
///
/// ```
/// use iac_aws::appconfig::Application;
/// let app = Application::builder().name("checkout").description("checkout service flags").build();
/// # let _ = app;
/// ```
#[derive(bon::Builder)]
pub struct Application {
    /// Its name (1–64 characters; updates in place).
    #[builder(into)]
    pub name: String,
    /// What it is.
    #[builder(into, default)]
    pub description: String,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of an [`Application`].
pub struct ApplicationOutputs {
    /// Its AppConfig id (the resource's id).
    pub id: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
}

impl Resource for Application {
    type Outputs = ApplicationOutputs;
    fn schema() -> &'static Schema {
        &APPLICATION_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("description", Value::from(self.description.as_str()).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> ApplicationOutputs {
        ApplicationOutputs { id: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
    fn validate(&self, c: &mut Checks) {
        name_check(c, "name", &self.name, 64);
        description_check(c, &self.description);
    }
}

async fn application_arn(p: &AwsProvider, id: &str) -> Result<String, ProviderError> {
    Ok(format!("{}:application/{id}", p.arn_prefix("appconfig").await?))
}

async fn describe_application(p: &AwsProvider, id: &str) -> Result<Option<(Value, Value)>, ProviderError> {
    let a = match p.appconfig().await.get_application().application_id(id).send().await {
        Ok(a) => a,
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
        Err(e) => return Err(aws_err("GetApplication", e)),
    };
    let arn = application_arn(p, id).await?;
    let tags = list_tags(p, &arn).await?;
    let inputs = map([
        ("name", Value::from(a.name())),
        ("description", Value::from(a.description().unwrap_or_default())),
        ("tags", tag_value(&tags)),
    ]);
    Ok(Some((inputs, map([("arn", Value::from(arn))]))))
}

pub(crate) struct ApplicationHandler;

#[async_trait]
impl Handler for ApplicationHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateApplication");
        let out = p
            .appconfig()
            .await
            .create_application()
            .name(i.str("name")?)
            .description(i.opt_str("description").unwrap_or_default())
            .set_tags(Some(identity_tags(&req.inputs, &req.stack, &req.urn)))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateApplication", e))?;
        let id = out.id().ok_or_else(|| ProviderError::fatal("CreateApplication", "no id returned"))?.to_owned();
        let arn = application_arn(p, &id).await?;
        Ok(CreateResult { id, outputs: map([("arn", Value::from(arn))]) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe_application(p, &req.id).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let i = In::new(&req.inputs, "UpdateApplication");
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if changed("name") || changed("description") {
            p.appconfig()
                .await
                .update_application()
                .application_id(&req.id)
                .name(i.str("name")?)
                .description(i.opt_str("description").unwrap_or_default())
                .send()
                .await
                .map_err(|e| aws_err("UpdateApplication", e))?;
        }
        let arn = application_arn(p, &req.id).await?;
        if changed("tags") {
            retag(p, &arn, &req.old_inputs, &req.inputs).await?;
        }
        Ok(UpdateResult { outputs: map([("arn", Value::from(arn))]) })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        // Environments and profiles are dependents and are deleted first.
        match p.appconfig().await.delete_application().application_id(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteApplication", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // Names are not unique in AppConfig: the identity tags decide.
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let ac = p.appconfig().await;
        let mut token = None;
        loop {
            let out = ac
                .list_applications()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| aws_err("ListApplications", e))?;
            for a in out.items().iter().filter(|a| a.name() == Some(name)) {
                // The old copy of a replace carries the same tags: look past it.
                let Some(id) = a.id().filter(|id| !req.is_known(id)) else { continue };
                if is_ours(&list_tags(p, &application_arn(p, id).await?).await?, &req.stack, &req.urn) {
                    return Ok(describe_application(p, id).await?.map(|(inputs, outputs)| ReadResult {
                        id: id.to_owned(),
                        inputs,
                        outputs,
                    }));
                }
            }
            match out.next_token() {
                Some(t) => token = Some(t.to_owned()),
                None => return Ok(None),
            }
        }
    }
}

// ---- Environment -----------------------------------------------------------

/// A CloudWatch alarm AppConfig watches during a deployment: when it goes
/// into alarm, the deployment rolls back.
#[derive(Clone, Debug)]
pub struct Monitor {
    /// The alarm's ARN.
    pub alarm_arn: Input<String>,
    /// A role AppConfig assumes to read the alarm (else its service-linked
    /// role).
    pub alarm_role_arn: Option<Input<String>>,
}

impl Monitor {
    /// A monitor on `alarm_arn`, read with AppConfig's service-linked role.
    pub fn alarm(alarm_arn: impl Into<Input<String>>) -> Monitor {
        Monitor { alarm_arn: alarm_arn.into(), alarm_role_arn: None }
    }
}

/// A deployment target of an application (`prod`, `beta`), with the alarms
/// that roll a bad deployment back.
///
/// ```
/// use iac_aws::appconfig::{Environment, Monitor};
/// let prod = Environment::builder()
///     .application_id("abc1234")
///     .name("prod")
///     .monitors(vec![Monitor::alarm("arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-5xx")])
///     .build();
/// # let _ = prod;
/// ```
#[derive(bon::Builder)]
pub struct Environment {
    /// The application (its id; replaces).
    #[builder(into)]
    pub application_id: Input<String>,
    /// Its name (1–64 characters).
    #[builder(into)]
    pub name: String,
    /// What it is.
    #[builder(into, default)]
    pub description: String,
    /// Alarms watched during deployments (at most 5).
    #[builder(default)]
    pub monitors: Vec<Monitor>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of an [`Environment`].
pub struct EnvironmentOutputs {
    /// `<application id>/<environment id>` (the resource's id).
    pub id: Output<String>,
    /// The environment's own id, for deployments.
    pub environment_id: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
    /// `READY_FOR_DEPLOYMENT`, `DEPLOYING`, `ROLLING_BACK`, `ROLLED_BACK`, …
    pub state: Output<String>,
}

impl Resource for Environment {
    type Outputs = EnvironmentOutputs;
    fn schema() -> &'static Schema {
        &ENVIRONMENT_SCHEMA
    }
    fn inputs(&self) -> Expr {
        let monitors = if self.monitors.is_empty() {
            Expr::Value(Value::Null)
        } else {
            Expr::List(
                self.monitors
                    .iter()
                    .map(|m| {
                        props([
                            ("alarmArn", m.alarm_arn.to_expr()),
                            ("alarmRoleArn", opt_expr(m.alarm_role_arn.as_ref())),
                        ])
                    })
                    .collect(),
            )
        };
        props([
            ("applicationId", self.application_id.to_expr()),
            ("name", Value::from(self.name.as_str()).into()),
            ("description", Value::from(self.description.as_str()).into()),
            ("monitors", monitors),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> EnvironmentOutputs {
        EnvironmentOutputs {
            id: Output::from_ref(urn, "id"),
            environment_id: Output::from_ref(urn, "environmentId"),
            arn: Output::from_ref(urn, "arn"),
            state: Output::from_ref(urn, "state"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        name_check(c, "name", &self.name, 64);
        description_check(c, &self.description);
        c.check(self.monitors.len() <= 5, "monitors", || format!("{} alarms; at most 5", self.monitors.len()));
        for m in &self.monitors {
            if let Some(arn) = m.alarm_arn.value() {
                let ok = arn.starts_with("arn:") && arn.contains(":cloudwatch:") && arn.contains(":alarm:");
                c.check(ok, "monitors", || {
                    format!("`{arn}` is not a CloudWatch alarm ARN (arn:aws:cloudwatch:…:alarm:…)")
                });
            }
            if let Some(role) = m.alarm_role_arn.as_ref().and_then(Input::value) {
                c.check(is_role_arn(role), "monitors", || format!("`{role}` is not an IAM role ARN"));
            }
        }
    }
}

fn is_role_arn(arn: &str) -> bool {
    arn.starts_with("arn:") && arn.contains(":iam::") && arn.contains(":role/")
}

fn monitors(i: &In<'_>) -> Result<Vec<SdkMonitor>, ProviderError> {
    i.value("monitors")
        .as_list()
        .unwrap_or_default()
        .iter()
        .map(|m| {
            SdkMonitor::builder()
                .alarm_arn(m.get("alarmArn").as_str().unwrap_or_default())
                .set_alarm_role_arn(m.get("alarmRoleArn").as_str().map(str::to_owned))
                .build()
                .map_err(|e| ProviderError::fatal("CreateEnvironment", e.to_string()))
        })
        .collect()
}

async fn environment_arn(p: &AwsProvider, app: &str, env: &str) -> Result<String, ProviderError> {
    Ok(format!("{}:application/{app}/environment/{env}", p.arn_prefix("appconfig").await?))
}

async fn describe_environment(p: &AwsProvider, app: &str, env: &str) -> Result<Option<(Value, Value)>, ProviderError> {
    let e = match p.appconfig().await.get_environment().application_id(app).environment_id(env).send().await {
        Ok(e) => e,
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
        Err(e) => return Err(aws_err("GetEnvironment", e)),
    };
    let arn = environment_arn(p, app, env).await?;
    let tags = list_tags(p, &arn).await?;
    let monitors: Vec<Value> = e
        .monitors()
        .iter()
        .map(|m| map([("alarmArn", Value::from(m.alarm_arn())), ("alarmRoleArn", Value::from(m.alarm_role_arn()))]))
        .collect();
    let inputs = map([
        ("applicationId", Value::from(app)),
        ("name", Value::from(e.name())),
        ("description", Value::from(e.description().unwrap_or_default())),
        ("monitors", Value::List(monitors)),
        ("tags", tag_value(&tags)),
    ]);
    let outputs = map([
        ("environmentId", Value::from(env)),
        ("arn", Value::from(arn)),
        ("state", Value::from(e.state().map(|s| s.as_str()))),
    ]);
    Ok(Some((inputs, outputs)))
}

pub(crate) struct EnvironmentHandler;

#[async_trait]
impl Handler for EnvironmentHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateEnvironment");
        let app = i.str("applicationId")?;
        let out = p
            .appconfig()
            .await
            .create_environment()
            .application_id(app)
            .name(i.str("name")?)
            .description(i.opt_str("description").unwrap_or_default())
            .set_monitors(Some(monitors(&i)?))
            .set_tags(Some(identity_tags(&req.inputs, &req.stack, &req.urn)))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateEnvironment", e))?;
        let env = out.id().ok_or_else(|| ProviderError::fatal("CreateEnvironment", "no id returned"))?;
        let outputs = map([
            ("environmentId", Value::from(env)),
            ("arn", Value::from(environment_arn(p, app, env).await?)),
            ("state", Value::from(out.state().map(|s| s.as_str()))),
        ]);
        Ok(CreateResult { id: format!("{app}/{env}"), outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some((app, env)) = split2(&req.id) else { return Ok(None) };
        Ok(describe_environment(p, app, env).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let i = In::new(&req.inputs, "UpdateEnvironment");
        let (app, env) = split2(&req.id).ok_or_else(|| ProviderError::fatal("UpdateEnvironment", "malformed id"))?;
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if ["name", "description", "monitors"].iter().any(|k| changed(k)) {
            p.appconfig()
                .await
                .update_environment()
                .application_id(app)
                .environment_id(env)
                .name(i.str("name")?)
                .description(i.opt_str("description").unwrap_or_default())
                .set_monitors(Some(monitors(&i)?))
                .send()
                .await
                .map_err(|e| aws_err("UpdateEnvironment", e))?;
        }
        if changed("tags") {
            retag(p, &environment_arn(p, app, env).await?, &req.old_inputs, &req.inputs).await?;
        }
        let (_, outputs) = describe_environment(p, app, env)
            .await?
            .ok_or_else(|| ProviderError::fatal("GetEnvironment", format!("environment {env} is gone")))?;
        Ok(UpdateResult { outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let Some((app, env)) = split2(&req.id) else { return Ok(()) };
        match p.appconfig().await.delete_environment().application_id(app).environment_id(env).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteEnvironment", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let i = In::new(&req.inputs, "");
        let (Some(app), Some(name)) = (i.opt_str("applicationId"), i.opt_str("name")) else { return Ok(None) };
        let ac = p.appconfig().await;
        let mut token = None;
        loop {
            let out = match ac.list_environments().application_id(app).set_next_token(token).send().await {
                Ok(o) => o,
                Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
                Err(e) => return Err(aws_err("ListEnvironments", e)),
            };
            for e in out.items().iter().filter(|e| e.name() == Some(name)) {
                // The old copy of a replace carries the same tags: look past it.
                let Some(env) = e.id().filter(|env| !req.is_known(&format!("{app}/{env}"))) else { continue };
                if is_ours(&list_tags(p, &environment_arn(p, app, env).await?).await?, &req.stack, &req.urn) {
                    return Ok(describe_environment(p, app, env).await?.map(|(inputs, outputs)| ReadResult {
                        id: format!("{app}/{env}"),
                        inputs,
                        outputs,
                    }));
                }
            }
            match out.next_token() {
                Some(t) => token = Some(t.to_owned()),
                None => return Ok(None),
            }
        }
    }
}

// ---- ConfigurationProfile --------------------------------------------------

/// What a configuration profile holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileType {
    /// Feature flags (`AWS.AppConfig.FeatureFlags`), hosted by AppConfig;
    /// AppConfig checks the content's flag schema.
    FeatureFlags,
    /// Any content (`AWS.Freeform`).
    Freeform,
}

impl ProfileType {
    fn as_str(self) -> &'static str {
        match self {
            ProfileType::FeatureFlags => "AWS.AppConfig.FeatureFlags",
            ProfileType::Freeform => "AWS.Freeform",
        }
    }
}

/// A check AppConfig runs on new content before deploying it.
#[derive(Clone, Debug)]
pub enum Validator {
    /// A JSON Schema the content must satisfy.
    JsonSchema(serde_json::Value),
    /// A Lambda function (its ARN) that accepts or rejects the content.
    Lambda(Input<String>),
}

/// A configuration profile: what the configuration is, where it lives
/// (`hosted` for AppConfig's own store) and how it is validated.
///
/// ```
/// use iac_aws::appconfig::{ConfigurationProfile, ProfileType, Validator};
/// let flags = ConfigurationProfile::builder()
///     .application_id("abc1234")
///     .name("checkout-flags")
///     .profile_type(ProfileType::FeatureFlags)
///     .build();
/// let limits = ConfigurationProfile::builder()
///     .application_id("abc1234")
///     .name("limits")
///     .profile_type(ProfileType::Freeform)
///     .validators(vec![Validator::JsonSchema(serde_json::json!({
///         "type": "object",
///         "properties": {"maxItems": {"type": "integer"}}
///     }))])
///     .build();
/// # let _ = (flags, limits);
/// ```
#[derive(bon::Builder)]
pub struct ConfigurationProfile {
    /// The application (its id; replaces).
    #[builder(into)]
    pub application_id: Input<String>,
    /// Its name (1–128 characters).
    #[builder(into)]
    pub name: String,
    /// What it is.
    #[builder(into, default)]
    pub description: String,
    /// Where the content lives (replaces): `hosted` (AppConfig's store, the
    /// default), `ssm-parameter://…`, `ssm-document://…`, `s3://…`,
    /// `secretsmanager://…` or `codepipeline://…`.
    #[builder(into, default = "hosted")]
    pub location_uri: String,
    /// Feature flags or free-form (replaces).
    pub profile_type: ProfileType,
    /// The role AppConfig assumes to read content stored outside AppConfig
    /// (not for `hosted`).
    #[builder(into)]
    pub retrieval_role_arn: Option<Input<String>>,
    /// Checks run on new content (at most 2).
    #[builder(default)]
    pub validators: Vec<Validator>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`ConfigurationProfile`].
pub struct ConfigurationProfileOutputs {
    /// `<application id>/<profile id>` (the resource's id).
    pub id: Output<String>,
    /// The profile's own id, for versions and deployments.
    pub profile_id: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
}

const LOCATIONS: &[&str] = &["ssm-parameter://", "ssm-document://", "s3://", "secretsmanager://", "codepipeline://"];

impl Resource for ConfigurationProfile {
    type Outputs = ConfigurationProfileOutputs;
    fn schema() -> &'static Schema {
        &PROFILE_SCHEMA
    }
    fn inputs(&self) -> Expr {
        let validators = if self.validators.is_empty() {
            Expr::Value(Value::Null)
        } else {
            Expr::List(
                self.validators
                    .iter()
                    .map(|v| match v {
                        Validator::JsonSchema(s) => props([
                            ("type", Value::from("JSON_SCHEMA").into()),
                            ("content", Value::from_json(s).into()),
                        ]),
                        Validator::Lambda(arn) => {
                            props([("type", Value::from("LAMBDA").into()), ("content", arn.to_expr())])
                        }
                    })
                    .collect(),
            )
        };
        props([
            ("applicationId", self.application_id.to_expr()),
            ("name", Value::from(self.name.as_str()).into()),
            ("description", Value::from(self.description.as_str()).into()),
            ("locationUri", Value::from(self.location_uri.as_str()).into()),
            ("type", Value::from(self.profile_type.as_str()).into()),
            ("retrievalRoleArn", opt_expr(self.retrieval_role_arn.as_ref())),
            ("validators", validators),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> ConfigurationProfileOutputs {
        ConfigurationProfileOutputs {
            id: Output::from_ref(urn, "id"),
            profile_id: Output::from_ref(urn, "profileId"),
            arn: Output::from_ref(urn, "arn"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        name_check(c, "name", &self.name, 128);
        description_check(c, &self.description);
        let loc = self.location_uri.as_str();
        let hosted = loc == "hosted";
        c.check(hosted || LOCATIONS.iter().any(|p| loc.starts_with(p) && loc.len() > p.len()), "locationUri", || {
            format!("`{loc}`: `hosted` or a URI starting ssm-parameter://, ssm-document://, s3://, secretsmanager:// or codepipeline://")
        });
        c.check(self.profile_type != ProfileType::FeatureFlags || hosted, "type", || {
            format!("feature flags are hosted by AppConfig; the location must be `hosted`, not `{loc}`")
        });
        match (&self.retrieval_role_arn, hosted) {
            (Some(_), true) => c.fail("retrievalRoleArn", "hosted content needs no retrieval role"),
            (None, false) if !loc.starts_with("codepipeline://") => {
                c.fail("retrievalRoleArn", format!("content at `{loc}` needs a role AppConfig can read it with"))
            }
            (Some(Input::Value(r)), _) if !is_role_arn(r) => {
                c.fail("retrievalRoleArn", format!("`{r}` is not an IAM role ARN"))
            }
            _ => {}
        }
        c.check(self.validators.len() <= 2, "validators", || {
            format!("{} validators; at most 2", self.validators.len())
        });
        for v in &self.validators {
            match v {
                Validator::JsonSchema(s) => {
                    c.check(s.is_object(), "validators", || format!("the JSON Schema `{s}` is not a JSON object"));
                    let len = s.to_string().len();
                    c.check(len <= 32_768, "validators", || format!("the JSON Schema is {len} bytes; at most 32768"));
                }
                Validator::Lambda(Input::Value(arn)) => {
                    let ok = arn.starts_with("arn:") && arn.contains(":lambda:") && arn.contains(":function:");
                    c.check(ok, "validators", || format!("`{arn}` is not a Lambda function ARN"));
                }
                Validator::Lambda(_) => {}
            }
        }
    }
}

fn validators(i: &In<'_>) -> Result<Vec<SdkValidator>, ProviderError> {
    i.value("validators")
        .as_list()
        .unwrap_or_default()
        .iter()
        .map(|v| {
            let (kind, content) = match v.get("type").as_str() {
                Some("LAMBDA") => (ValidatorType::Lambda, v.get("content").as_str().unwrap_or_default().to_owned()),
                _ => (
                    ValidatorType::JsonSchema,
                    v.get("content").to_plain_json().map(|j| j.to_string()).unwrap_or_default(),
                ),
            };
            SdkValidator::builder()
                .r#type(kind)
                .content(content)
                .build()
                .map_err(|e| ProviderError::fatal("CreateConfigurationProfile", e.to_string()))
        })
        .collect()
}

async fn profile_arn(p: &AwsProvider, app: &str, profile: &str) -> Result<String, ProviderError> {
    Ok(format!("{}:application/{app}/configurationprofile/{profile}", p.arn_prefix("appconfig").await?))
}

async fn describe_profile(p: &AwsProvider, app: &str, id: &str) -> Result<Option<(Value, Value)>, ProviderError> {
    let c = match p
        .appconfig()
        .await
        .get_configuration_profile()
        .application_id(app)
        .configuration_profile_id(id)
        .send()
        .await
    {
        Ok(c) => c,
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
        Err(e) => return Err(aws_err("GetConfigurationProfile", e)),
    };
    let arn = profile_arn(p, app, id).await?;
    let tags = list_tags(p, &arn).await?;
    let validators: Vec<Value> = c
        .validators()
        .iter()
        .map(|v| {
            let content = match v.r#type() {
                // A schema is compared as JSON, not as text.
                ValidatorType::JsonSchema => serde_json::from_str(v.content())
                    .map(|j: serde_json::Value| Value::from_json(&j))
                    .unwrap_or_else(|_| Value::from(v.content())),
                _ => Value::from(v.content()),
            };
            map([("type", Value::from(v.r#type().as_str())), ("content", content)])
        })
        .collect();
    let inputs = map([
        ("applicationId", Value::from(app)),
        ("name", Value::from(c.name())),
        ("description", Value::from(c.description().unwrap_or_default())),
        ("locationUri", Value::from(c.location_uri())),
        ("type", Value::from(c.r#type())),
        ("retrievalRoleArn", Value::from(c.retrieval_role_arn())),
        ("validators", Value::List(validators)),
        ("tags", tag_value(&tags)),
    ]);
    Ok(Some((inputs, map([("profileId", Value::from(id)), ("arn", Value::from(arn))]))))
}

pub(crate) struct ProfileHandler;

#[async_trait]
impl Handler for ProfileHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateConfigurationProfile";
        let i = In::new(&req.inputs, op);
        let app = i.str("applicationId")?;
        let out = p
            .appconfig()
            .await
            .create_configuration_profile()
            .application_id(app)
            .name(i.str("name")?)
            .description(i.opt_str("description").unwrap_or_default())
            .location_uri(i.opt_str("locationUri").unwrap_or("hosted"))
            .r#type(i.str("type")?)
            .set_retrieval_role_arn(i.opt_str("retrievalRoleArn").map(str::to_owned))
            .set_validators(Some(validators(&i)?))
            .set_tags(Some(identity_tags(&req.inputs, &req.stack, &req.urn)))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        let id = out.id().ok_or_else(|| ProviderError::fatal(op, "no id returned"))?;
        let outputs = map([("profileId", Value::from(id)), ("arn", Value::from(profile_arn(p, app, id).await?))]);
        Ok(CreateResult { id: format!("{app}/{id}"), outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some((app, id)) = split2(&req.id) else { return Ok(None) };
        Ok(describe_profile(p, app, id).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let op = "UpdateConfigurationProfile";
        let i = In::new(&req.inputs, op);
        let (app, id) = split2(&req.id).ok_or_else(|| ProviderError::fatal(op, "malformed id"))?;
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if ["name", "description", "retrievalRoleArn", "validators"].iter().any(|k| changed(k)) {
            p.appconfig()
                .await
                .update_configuration_profile()
                .application_id(app)
                .configuration_profile_id(id)
                .name(i.str("name")?)
                .description(i.opt_str("description").unwrap_or_default())
                .set_retrieval_role_arn(i.opt_str("retrievalRoleArn").map(str::to_owned))
                .set_validators(Some(validators(&i)?))
                .send()
                .await
                .map_err(|e| aws_err(op, e))?;
        }
        let arn = profile_arn(p, app, id).await?;
        if changed("tags") {
            retag(p, &arn, &req.old_inputs, &req.inputs).await?;
        }
        Ok(UpdateResult { outputs: map([("profileId", Value::from(id)), ("arn", Value::from(arn))]) })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        // Hosted versions are dependents and are deleted first.
        let Some((app, id)) = split2(&req.id) else { return Ok(()) };
        match p
            .appconfig()
            .await
            .delete_configuration_profile()
            .application_id(app)
            .configuration_profile_id(id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteConfigurationProfile", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let i = In::new(&req.inputs, "");
        let (Some(app), Some(name)) = (i.opt_str("applicationId"), i.opt_str("name")) else { return Ok(None) };
        let ac = p.appconfig().await;
        let mut token = None;
        loop {
            let out = match ac.list_configuration_profiles().application_id(app).set_next_token(token).send().await {
                Ok(o) => o,
                Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
                Err(e) => return Err(aws_err("ListConfigurationProfiles", e)),
            };
            for c in out.items().iter().filter(|c| c.name() == Some(name)) {
                // The old copy of a replace carries the same tags: look past it.
                let Some(id) = c.id().filter(|id| !req.is_known(&format!("{app}/{id}"))) else { continue };
                if is_ours(&list_tags(p, &profile_arn(p, app, id).await?).await?, &req.stack, &req.urn) {
                    return Ok(describe_profile(p, app, id).await?.map(|(inputs, outputs)| ReadResult {
                        id: format!("{app}/{id}"),
                        inputs,
                        outputs,
                    }));
                }
            }
            match out.next_token() {
                Some(t) => token = Some(t.to_owned()),
                None => return Ok(None),
            }
        }
    }
}

// ---- DeploymentStrategy ----------------------------------------------------

/// How a deployment's share of targets grows over its duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Growth {
    /// By the growth factor (a percentage) at each step.
    Linear,
    /// `G*(2^N)`: the growth factor doubles at each step.
    Exponential,
}

/// How fast a configuration rolls out and how long AppConfig watches the
/// alarms afterwards.
///
/// ```
/// use iac_aws::appconfig::{DeploymentStrategy, Growth};
/// let canary = DeploymentStrategy::builder()
///     .name("ten-percent-every-minute")
///     .deployment_duration_in_minutes(10)
///     .growth_factor(10.0)
///     .growth_type(Growth::Linear)
///     .final_bake_time_in_minutes(5)
///     .build();
/// # let _ = canary;
/// ```
#[derive(bon::Builder)]
pub struct DeploymentStrategy {
    /// Its name (1–64 characters; replaces).
    #[builder(into)]
    pub name: String,
    /// What it is.
    #[builder(into, default)]
    pub description: String,
    /// Minutes the rollout takes (0–1440).
    pub deployment_duration_in_minutes: i32,
    /// The percentage of targets added at each step (1–100).
    pub growth_factor: f64,
    /// Linear (default) or exponential growth.
    #[builder(default = Growth::Linear)]
    pub growth_type: Growth,
    /// Minutes the alarms are watched once every target has it (0–1440).
    #[builder(default = 0)]
    pub final_bake_time_in_minutes: i32,
    /// Also save the strategy as a Systems Manager document (replaces).
    #[builder(default)]
    pub replicate_to_ssm_document: bool,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`DeploymentStrategy`].
pub struct DeploymentStrategyOutputs {
    /// Its id (the resource's id), for deployments.
    pub id: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
}

impl Resource for DeploymentStrategy {
    type Outputs = DeploymentStrategyOutputs;
    fn schema() -> &'static Schema {
        &STRATEGY_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("description", Value::from(self.description.as_str()).into()),
            ("deploymentDurationInMinutes", Value::from(self.deployment_duration_in_minutes).into()),
            ("growthFactor", Value::Float(self.growth_factor).into()),
            ("growthType", Value::from(growth_str(self.growth_type)).into()),
            ("finalBakeTimeInMinutes", Value::from(self.final_bake_time_in_minutes).into()),
            ("replicateTo", Value::from(if self.replicate_to_ssm_document { "SSM_DOCUMENT" } else { "NONE" }).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> DeploymentStrategyOutputs {
        DeploymentStrategyOutputs { id: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
    fn validate(&self, c: &mut Checks) {
        name_check(c, "name", &self.name, 64);
        description_check(c, &self.description);
        let d = self.deployment_duration_in_minutes;
        c.check((0..=1440).contains(&d), "deploymentDurationInMinutes", || format!("{d} minutes: between 0 and 1440"));
        let b = self.final_bake_time_in_minutes;
        c.check((0..=1440).contains(&b), "finalBakeTimeInMinutes", || format!("{b} minutes: between 0 and 1440"));
        let g = self.growth_factor;
        c.check((1.0..=100.0).contains(&g), "growthFactor", || format!("{g}: a percentage between 1 and 100"));
    }
}

fn growth_str(g: Growth) -> &'static str {
    match g {
        Growth::Linear => "LINEAR",
        Growth::Exponential => "EXPONENTIAL",
    }
}

async fn strategy_arn(p: &AwsProvider, id: &str) -> Result<String, ProviderError> {
    Ok(format!("{}:deploymentstrategy/{id}", p.arn_prefix("appconfig").await?))
}

/// A growth factor as AWS keeps it (a 32-bit float) read back as the
/// decimal the user wrote: 7.5 stays 7.5, 0.1-ish noise is dropped.
fn growth_factor(f: f32) -> Value {
    Value::Float((f64::from(f) * 1e4).round() / 1e4)
}

async fn describe_strategy(p: &AwsProvider, id: &str) -> Result<Option<(Value, Value)>, ProviderError> {
    let s = match p.appconfig().await.get_deployment_strategy().deployment_strategy_id(id).send().await {
        Ok(s) => s,
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
        Err(e) => return Err(aws_err("GetDeploymentStrategy", e)),
    };
    let arn = strategy_arn(p, id).await?;
    let tags = list_tags(p, &arn).await?;
    let inputs = map([
        ("name", Value::from(s.name())),
        ("description", Value::from(s.description().unwrap_or_default())),
        ("deploymentDurationInMinutes", Value::from(s.deployment_duration_in_minutes())),
        ("growthFactor", s.growth_factor().map_or(Value::Null, growth_factor)),
        ("growthType", Value::from(s.growth_type().map_or("LINEAR", |g| g.as_str()))),
        ("finalBakeTimeInMinutes", Value::from(s.final_bake_time_in_minutes())),
        ("replicateTo", Value::from(s.replicate_to().map_or("NONE", |r| r.as_str()))),
        ("tags", tag_value(&tags)),
    ]);
    Ok(Some((inputs, map([("arn", Value::from(arn))]))))
}

fn growth_of(i: &In<'_>) -> GrowthType {
    GrowthType::from(i.opt_str("growthType").unwrap_or("LINEAR"))
}

fn factor_of(i: &In<'_>) -> Option<f32> {
    match i.value("growthFactor") {
        Value::Float(f) => Some(*f as f32),
        Value::Int(n) => Some(*n as f32),
        _ => None,
    }
}

pub(crate) struct StrategyHandler;

#[async_trait]
impl Handler for StrategyHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateDeploymentStrategy";
        let i = In::new(&req.inputs, op);
        let out = p
            .appconfig()
            .await
            .create_deployment_strategy()
            .name(i.str("name")?)
            .description(i.opt_str("description").unwrap_or_default())
            .set_deployment_duration_in_minutes(i.opt_i32("deploymentDurationInMinutes"))
            .set_growth_factor(factor_of(&i))
            .growth_type(growth_of(&i))
            .set_final_bake_time_in_minutes(i.opt_i32("finalBakeTimeInMinutes"))
            .replicate_to(ReplicateTo::from(i.opt_str("replicateTo").unwrap_or("NONE")))
            .set_tags(Some(identity_tags(&req.inputs, &req.stack, &req.urn)))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        let id = out.id().ok_or_else(|| ProviderError::fatal(op, "no id returned"))?.to_owned();
        let arn = strategy_arn(p, &id).await?;
        Ok(CreateResult { id, outputs: map([("arn", Value::from(arn))]) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe_strategy(p, &req.id).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let op = "UpdateDeploymentStrategy";
        let i = In::new(&req.inputs, op);
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        let pace =
            ["description", "deploymentDurationInMinutes", "growthFactor", "growthType", "finalBakeTimeInMinutes"];
        if pace.iter().any(|k| changed(k)) {
            p.appconfig()
                .await
                .update_deployment_strategy()
                .deployment_strategy_id(&req.id)
                .description(i.opt_str("description").unwrap_or_default())
                .set_deployment_duration_in_minutes(i.opt_i32("deploymentDurationInMinutes"))
                .set_growth_factor(factor_of(&i))
                .growth_type(growth_of(&i))
                .set_final_bake_time_in_minutes(i.opt_i32("finalBakeTimeInMinutes"))
                .send()
                .await
                .map_err(|e| aws_err(op, e))?;
        }
        let arn = strategy_arn(p, &req.id).await?;
        if changed("tags") {
            retag(p, &arn, &req.old_inputs, &req.inputs).await?;
        }
        Ok(UpdateResult { outputs: map([("arn", Value::from(arn))]) })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.appconfig().await.delete_deployment_strategy().deployment_strategy_id(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteDeploymentStrategy", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let ac = p.appconfig().await;
        let mut token = None;
        loop {
            let out = ac
                .list_deployment_strategies()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| aws_err("ListDeploymentStrategies", e))?;
            for s in out.items().iter().filter(|s| s.name() == Some(name)) {
                // The old copy of a replace carries the same tags: look past it.
                let Some(id) = s.id().filter(|id| !req.is_known(id)) else { continue };
                if is_ours(&list_tags(p, &strategy_arn(p, id).await?).await?, &req.stack, &req.urn) {
                    return Ok(describe_strategy(p, id).await?.map(|(inputs, outputs)| ReadResult {
                        id: id.to_owned(),
                        inputs,
                        outputs,
                    }));
                }
            }
            match out.next_token() {
                Some(t) => token = Some(t.to_owned()),
                None => return Ok(None),
            }
        }
    }
}

// ---- HostedConfigurationVersion --------------------------------------------

/// A version of a hosted configuration: JSON content (feature flags or
/// free-form) AppConfig keeps for deployments. Versions never change: new
/// content makes a new version, and the old one is deleted after it.
///
/// ```
/// use iac_aws::appconfig::HostedConfigurationVersion;
/// let flags = HostedConfigurationVersion::builder()
///     .application_id("abc1234")
///     .configuration_profile_id("def5678")
///     .content(serde_json::json!({
///         "version": "1",
///         "flags": {"newCheckout": {"name": "New checkout"}},
///         "values": {"newCheckout": {"enabled": false}}
///     }))
///     .version_label("v1")
///     .build();
/// # let _ = flags;
/// ```
#[derive(bon::Builder)]
pub struct HostedConfigurationVersion {
    /// The application (its id).
    #[builder(into)]
    pub application_id: Input<String>,
    /// The hosted configuration profile (its profile id).
    #[builder(into)]
    pub configuration_profile_id: Input<String>,
    /// The content, sent as `application/json` and compared as JSON. For a
    /// feature-flag profile: `{"version": "1", "flags": {…}, "values": {…}}`.
    pub content: serde_json::Value,
    /// What changed in it.
    #[builder(into, default)]
    pub description: String,
    /// A label of the version (`v2.1`; at most 64 characters, not only
    /// digits).
    #[builder(into)]
    pub version_label: Option<String>,
}

/// Outputs of a [`HostedConfigurationVersion`].
pub struct HostedConfigurationVersionOutputs {
    /// `<application id>/<profile id>/<version>` (the resource's id).
    pub id: Output<String>,
    /// The version number, for deployments.
    pub version_number: Output<i64>,
}

impl Resource for HostedConfigurationVersion {
    type Outputs = HostedConfigurationVersionOutputs;
    fn schema() -> &'static Schema {
        &VERSION_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("applicationId", self.application_id.to_expr()),
            ("configurationProfileId", self.configuration_profile_id.to_expr()),
            ("content", Value::from_json(&self.content).into()),
            ("description", Value::from(self.description.as_str()).into()),
            ("versionLabel", Value::from(self.version_label.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> HostedConfigurationVersionOutputs {
        HostedConfigurationVersionOutputs {
            id: Output::from_ref(urn, "id"),
            version_number: Output::from_ref(urn, "versionNumber"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        description_check(c, &self.description);
        c.check(self.content.is_object() || self.content.is_array(), "content", || {
            format!("`{}` is not a JSON object or array", self.content)
        });
        if self.content.get("flags").is_some() {
            check_feature_flags(c, &self.content);
        }
        if let Some(l) = &self.version_label {
            let ok = !l.is_empty() && l.chars().count() <= 64 && !l.chars().all(|ch| ch.is_ascii_digit());
            c.check(ok, "versionLabel", || format!("`{l}`: 1–64 characters, not only digits"));
        }
    }
}

/// The shape AppConfig demands of feature-flag content: version "1", flags
/// as an object, and a value (with `enabled`) only for a declared flag.
fn check_feature_flags(c: &mut Checks, doc: &serde_json::Value) {
    c.check(doc.get("version").and_then(|v| v.as_str()) == Some("1"), "content", || {
        "feature flags need `\"version\": \"1\"`".into()
    });
    let Some(flags) = doc.get("flags").and_then(|f| f.as_object()) else {
        c.fail("content", "`flags` is not a JSON object of flag definitions");
        return;
    };
    let values = doc.get("values");
    let Some(values) = values.map(|v| v.as_object()) else { return };
    let Some(values) = values else {
        c.fail("content", "`values` is not a JSON object of flag values");
        return;
    };
    for (k, v) in values {
        c.check(flags.contains_key(k), "content", || format!("a value for `{k}`, which is not a declared flag"));
        c.check(v.get("enabled").is_some_and(|e| e.is_boolean()), "content", || {
            format!("the value of flag `{k}` needs a boolean `enabled`")
        });
    }
}

fn split3(id: &str) -> Option<(&str, &str, i32)> {
    let mut parts = id.splitn(3, '/');
    Some((parts.next()?, parts.next()?, parts.next()?.parse().ok()?))
}

async fn describe_version(
    p: &AwsProvider,
    app: &str,
    profile: &str,
    n: i32,
) -> Result<Option<(Value, Value)>, ProviderError> {
    let v = match p
        .appconfig()
        .await
        .get_hosted_configuration_version()
        .application_id(app)
        .configuration_profile_id(profile)
        .version_number(n)
        .send()
        .await
    {
        Ok(v) => v,
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
        Err(e) => return Err(aws_err("GetHostedConfigurationVersion", e)),
    };
    let bytes = v.content().map(|b| b.as_ref()).unwrap_or_default();
    // JSON is compared as JSON; anything else shows as a change of text.
    let content = serde_json::from_slice::<serde_json::Value>(bytes)
        .map(|j| Value::from_json(&j))
        .unwrap_or_else(|_| Value::from(String::from_utf8_lossy(bytes).into_owned()));
    let inputs = map([
        ("applicationId", Value::from(app)),
        ("configurationProfileId", Value::from(profile)),
        ("content", content),
        ("description", Value::from(v.description().unwrap_or_default())),
        ("versionLabel", Value::from(v.version_label())),
    ]);
    Ok(Some((inputs, map([("versionNumber", Value::from(v.version_number()))]))))
}

pub(crate) struct VersionHandler;

#[async_trait]
impl Handler for VersionHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateHostedConfigurationVersion";
        let i = In::new(&req.inputs, op);
        let (app, profile) = (i.str("applicationId")?, i.str("configurationProfileId")?);
        let content = i.json("content").ok_or_else(|| ProviderError::fatal(op, "input `content` is missing"))?;
        let description = i.opt_str("description").filter(|d| !d.is_empty());
        let out = p
            .appconfig()
            .await
            .create_hosted_configuration_version()
            .application_id(app)
            .configuration_profile_id(profile)
            .content(Blob::new(serde_json::to_vec(&content).expect("JSON serializes")))
            .content_type("application/json")
            .set_description(description.map(str::to_owned))
            .set_version_label(i.opt_str("versionLabel").map(str::to_owned))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        let n = out.version_number();
        Ok(CreateResult { id: format!("{app}/{profile}/{n}"), outputs: map([("versionNumber", Value::from(n))]) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some((app, profile, n)) = split3(&req.id) else { return Ok(None) };
        Ok(describe_version(p, app, profile, n).await?.map(|(inputs, outputs)| ReadResult {
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
        let Some((app, profile, n)) = split3(&req.id) else { return Ok(()) };
        match p
            .appconfig()
            .await
            .delete_hosted_configuration_version()
            .application_id(app)
            .configuration_profile_id(profile)
            .version_number(n)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteHostedConfigurationVersion", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // Versions take no tags. A version holding exactly this content,
        // description and label is this resource's: the newest such is
        // adopted, as for a published Lambda version.
        let i = In::new(&req.inputs, "");
        let (Some(app), Some(profile)) = (i.opt_str("applicationId"), i.opt_str("configurationProfileId")) else {
            return Ok(None);
        };
        let ac = p.appconfig().await;
        let mut numbers = Vec::new();
        let mut token = None;
        loop {
            let out = match ac
                .list_hosted_configuration_versions()
                .application_id(app)
                .configuration_profile_id(profile)
                .set_next_token(token)
                .send()
                .await
            {
                Ok(o) => o,
                Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
                Err(e) => return Err(aws_err("ListHostedConfigurationVersions", e)),
            };
            numbers.extend(
                out.items()
                    .iter()
                    .filter(|v| v.description().unwrap_or_default() == i.opt_str("description").unwrap_or_default())
                    .filter(|v| v.version_label() == i.opt_str("versionLabel"))
                    .map(|v| v.version_number())
                    .filter(|n| !req.is_known(&format!("{app}/{profile}/{n}"))),
            );
            match out.next_token() {
                Some(t) => token = Some(t.to_owned()),
                None => break,
            }
        }
        numbers.sort_unstable_by(|a, b| b.cmp(a));
        for n in numbers {
            let Some((inputs, outputs)) = describe_version(p, app, profile, n).await? else { continue };
            if iac_core::diff::diff(&req.inputs, &inputs).is_empty() {
                return Ok(Some(ReadResult { id: format!("{app}/{profile}/{n}"), inputs, outputs }));
            }
        }
        Ok(None)
    }
}
