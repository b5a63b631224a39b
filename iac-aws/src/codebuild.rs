//! CodeBuild: build projects (container images built and pushed to ECR from
//! a pipeline, a repository or an S3 archive).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_codebuild::types::{
    ArtifactsType, CloudWatchLogsConfig, ComputeType as SdkComputeType, EnvironmentType as SdkEnvironmentType,
    EnvironmentVariable as SdkVariable, EnvironmentVariableType, LogsConfig, LogsConfigStatusType,
    Project as SdkProject, ProjectArtifacts, ProjectEnvironment, ProjectSource, SourceType, Tag,
    VpcConfig as SdkVpcConfig,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use crate::error::{aws_err, code, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{
    drop_computed_when_unset, keep_write_only, list_expr, map, opt_expr, ordered_like, tags_value, tags_with_identity,
    unless_known, In, TAG_NAME, TAG_STACK,
};

pub(crate) const TYPE: &str = "aws:codebuild:Project";

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    (type_token == TYPE).then_some(&ProjectHandler as &dyn Handler)
}

/// Schema: the name is the identity; everything else changes in place
/// through UpdateProject.
pub static SCHEMA: Schema =
    Schema { replace_on: &["name"], delete_before_replace: true, taggable: true, ..Schema::new(TYPE, "aws") };

/// Where a build's source comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The input artifact of the pipeline action that runs the build (pair
    /// with [`Artifacts::CodePipeline`]). The buildspec is inline YAML or a
    /// path in the source; unset means `buildspec.yml` at its root.
    CodePipeline {
        /// Inline buildspec or path.
        buildspec: Option<String>,
    },
    /// A GitHub repository (`https://github.com/owner/repo.git`); the
    /// account needs GitHub credentials imported into CodeBuild.
    GitHub {
        /// The repository's clone URL.
        location: String,
    },
    /// A zip archive in S3, as `bucket/key.zip`.
    S3 {
        /// `bucket/key`.
        location: String,
    },
    /// No source: the buildspec (inline YAML) does everything.
    NoSource {
        /// Inline buildspec.
        buildspec: String,
    },
}

impl Source {
    fn kind(&self) -> &'static str {
        match self {
            Source::CodePipeline { .. } => "CODEPIPELINE",
            Source::GitHub { .. } => "GITHUB",
            Source::S3 { .. } => "S3",
            Source::NoSource { .. } => "NO_SOURCE",
        }
    }

    fn to_value(&self) -> Value {
        let (location, buildspec) = match self {
            Source::CodePipeline { buildspec } => (None, buildspec.as_deref()),
            Source::GitHub { location } | Source::S3 { location } => (Some(location.as_str()), None),
            Source::NoSource { buildspec } => (None, Some(buildspec.as_str())),
        };
        map([
            ("type", Value::from(self.kind())),
            ("location", Value::from(location)),
            ("buildspec", Value::from(buildspec)),
        ])
    }
}

/// What a build produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Artifacts {
    /// Output artifacts handed back to the pipeline (with
    /// [`Source::CodePipeline`] only).
    CodePipeline,
    /// Nothing kept (an image pushed to ECR is the product).
    NoArtifacts,
}

impl Artifacts {
    fn kind(self) -> &'static str {
        match self {
            Artifacts::CodePipeline => "CODEPIPELINE",
            Artifacts::NoArtifacts => "NO_ARTIFACTS",
        }
    }
}

/// The build machine's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComputeType {
    /// 3 GB, 2 vCPUs.
    Small,
    /// 7 GB, 4 vCPUs.
    Medium,
    /// 15 GB, 8 vCPUs.
    Large,
    /// 72 GB, 36 vCPUs.
    XLarge,
    /// 145 GB, 72 vCPUs.
    TwoXLarge,
}

impl ComputeType {
    fn as_str(self) -> &'static str {
        match self {
            ComputeType::Small => "BUILD_GENERAL1_SMALL",
            ComputeType::Medium => "BUILD_GENERAL1_MEDIUM",
            ComputeType::Large => "BUILD_GENERAL1_LARGE",
            ComputeType::XLarge => "BUILD_GENERAL1_XLARGE",
            ComputeType::TwoXLarge => "BUILD_GENERAL1_2XLARGE",
        }
    }
}

/// The build machine's architecture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EnvironmentType {
    /// x86-64 Linux (`LINUX_CONTAINER`).
    #[default]
    Linux,
    /// ARM64 Linux (`ARM_CONTAINER`).
    Arm,
}

impl EnvironmentType {
    fn as_str(self) -> &'static str {
        match self {
            EnvironmentType::Linux => "LINUX_CONTAINER",
            EnvironmentType::Arm => "ARM_CONTAINER",
        }
    }
}

/// An environment variable of the build. Secret values never go in
/// plaintext variables: those are shown in the console and in the project's
/// description. Reference a secret or parameter instead, which CodeBuild
/// resolves at build time.
#[derive(Clone, Debug)]
pub enum EnvVar {
    /// A plain value, visible to anyone who can read the project.
    Plaintext {
        /// Variable name.
        name: String,
        /// Its value.
        value: String,
    },
    /// A Systems Manager parameter's name; resolved at build time.
    ParameterStore {
        /// Variable name.
        name: String,
        /// The parameter's name (`/app/db/host`).
        parameter: String,
    },
    /// A Secrets Manager secret's ARN (optionally `:json-key:stage:version`
    /// appended); resolved at build time.
    SecretsManager {
        /// Variable name.
        name: String,
        /// The secret's ARN.
        secret_arn: Input<String>,
    },
}

impl EnvVar {
    fn name(&self) -> &str {
        match self {
            EnvVar::Plaintext { name, .. }
            | EnvVar::ParameterStore { name, .. }
            | EnvVar::SecretsManager { name, .. } => name,
        }
    }

    fn to_expr(&self) -> Expr {
        let (kind, value) = match self {
            EnvVar::Plaintext { value, .. } => ("PLAINTEXT", Expr::Value(value.as_str().into())),
            EnvVar::ParameterStore { parameter, .. } => ("PARAMETER_STORE", Expr::Value(parameter.as_str().into())),
            EnvVar::SecretsManager { secret_arn, .. } => ("SECRETS_MANAGER", secret_arn.to_expr()),
        };
        props([("name", Expr::Value(self.name().into())), ("type", Expr::Value(kind.into())), ("value", value)])
    }
}

/// The build machine.
///
/// ```
/// use iac_aws::codebuild::{ComputeType, EnvVar, Environment};
/// let env = Environment::builder()
///     .compute_type(ComputeType::Medium)
///     .image("aws/codebuild/standard:7.0")
///     .privileged_mode(true)
///     .variables(vec![EnvVar::Plaintext { name: "IMAGE_REPO".into(), value: "platform/api".into() }])
///     .build();
/// # let _ = env;
/// ```
#[derive(Clone, Debug, bon::Builder)]
pub struct Environment {
    /// Machine size.
    #[builder(default = ComputeType::Small)]
    pub compute_type: ComputeType,
    /// The build image (`aws/codebuild/standard:7.0`).
    #[builder(into)]
    pub image: String,
    /// x86-64 or ARM64.
    #[builder(default)]
    pub kind: EnvironmentType,
    /// Run the Docker daemon: needed to build container images.
    #[builder(default)]
    pub privileged_mode: bool,
    /// Environment variables.
    #[builder(default)]
    pub variables: Vec<EnvVar>,
}

impl Environment {
    fn to_expr(&self) -> Expr {
        props([
            ("computeType", Expr::Value(self.compute_type.as_str().into())),
            ("image", Expr::Value(self.image.as_str().into())),
            ("type", Expr::Value(self.kind.as_str().into())),
            ("privilegedMode", Expr::Value(self.privileged_mode.into())),
            // Empty is unset, as AWS reads it back.
            (
                "variables",
                if self.variables.is_empty() {
                    Expr::Value(Value::Null)
                } else {
                    Expr::List(self.variables.iter().map(EnvVar::to_expr).collect())
                },
            ),
        ])
    }
}

/// Where build logs go in CloudWatch Logs (unset: `/aws/codebuild/<name>`).
#[derive(Clone, Debug, bon::Builder)]
pub struct Logs {
    /// The log group's name.
    #[builder(into)]
    pub group_name: Input<String>,
    /// A stream name prefix.
    #[builder(into)]
    pub stream_name: Option<String>,
}

/// Runs builds inside a VPC (to reach private resources).
#[derive(Clone, Debug, bon::Builder)]
pub struct VpcConfig {
    /// The VPC.
    #[builder(into)]
    pub vpc_id: Input<String>,
    /// Private subnets (with a NAT route to reach AWS APIs).
    pub subnets: Vec<Input<String>>,
    /// Security groups.
    pub security_group_ids: Vec<Input<String>>,
}

/// A build project.
///
/// ```
/// use iac_aws::codebuild::{Artifacts, Environment, Project, Source};
/// let build = Project::builder()
///     .name("api-image")
///     .description("builds the API image and pushes it to ECR")
///     .service_role("arn:aws:iam::123456789012:role/codebuild-api")
///     .source(Source::CodePipeline { buildspec: Some("ci/buildspec.yml".into()) })
///     .artifacts(Artifacts::CodePipeline)
///     .environment(Environment::builder().image("aws/codebuild/standard:7.0").privileged_mode(true).build())
///     .build_timeout_minutes(30)
///     .build();
/// # let _ = build;
/// ```
#[derive(bon::Builder)]
pub struct Project {
    /// The project's name (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// What it builds.
    #[builder(into)]
    pub description: Option<String>,
    /// The IAM role CodeBuild assumes (its ARN).
    #[builder(into)]
    pub service_role: Input<String>,
    /// Where the source comes from.
    pub source: Source,
    /// What the build produces.
    pub artifacts: Artifacts,
    /// The build machine.
    pub environment: Environment,
    /// Minutes before a build is stopped (5–2160).
    #[builder(default = 60)]
    pub build_timeout_minutes: i32,
    /// Minutes a build may wait in the queue (5–480).
    #[builder(default = 480)]
    pub queued_timeout_minutes: i32,
    /// Where logs go.
    pub logs: Option<Logs>,
    /// A KMS key (ARN, or `alias/name`) for the build's artifacts; unset,
    /// AWS's key for S3.
    #[builder(into)]
    pub encryption_key: Option<Input<String>>,
    /// Run builds in a VPC.
    pub vpc_config: Option<VpcConfig>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`Project`].
pub struct ProjectOutputs {
    /// Its name (the resource's id).
    pub id: Output<String>,
    /// Its name, for a pipeline's build action.
    pub name: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
}

/// Names that usually hold secrets: not allowed in plaintext variables.
const SECRET_WORDS: &[&str] = &["PASSWORD", "PASSWD", "SECRET", "TOKEN", "PRIVATE_KEY", "ACCESS_KEY", "API_KEY"];

impl Resource for Project {
    type Outputs = ProjectOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Expr::Value(self.name.as_str().into())),
            ("description", Expr::Value(self.description.clone().into())),
            ("serviceRole", self.service_role.to_expr()),
            ("source", Expr::Value(self.source.to_value())),
            ("artifacts", Expr::Value(self.artifacts.kind().into())),
            ("environment", self.environment.to_expr()),
            ("timeoutInMinutes", Expr::Value(self.build_timeout_minutes.into())),
            ("queuedTimeoutInMinutes", Expr::Value(self.queued_timeout_minutes.into())),
            (
                "logs",
                self.logs.as_ref().map_or(Expr::Value(Value::Null), |l| {
                    props([
                        ("groupName", l.group_name.to_expr()),
                        ("streamName", Expr::Value(l.stream_name.clone().into())),
                    ])
                }),
            ),
            ("encryptionKey", opt_expr(self.encryption_key.as_ref())),
            (
                "vpcConfig",
                self.vpc_config.as_ref().map_or(Expr::Value(Value::Null), |v| {
                    props([
                        ("vpcId", v.vpc_id.to_expr()),
                        ("subnets", list_expr(&v.subnets)),
                        ("securityGroupIds", list_expr(&v.security_group_ids)),
                    ])
                }),
            ),
            ("tags", Expr::Value(self.tags.clone().into())),
        ])
    }
    fn outputs(urn: &Urn) -> ProjectOutputs {
        ProjectOutputs {
            id: Output::from_ref(urn, "id"),
            name: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        let n = &self.name;
        let ok = (2..=255).contains(&n.len())
            && n.starts_with(|ch: char| ch.is_ascii_alphanumeric())
            && n.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_".contains(ch));
        c.check(ok, "name", || {
            format!("`{n}`: 2–255 characters of letters, digits, - and _, starting with a letter or digit")
        });
        if let Some(d) = &self.description {
            c.check(d.len() <= 255, "description", || format!("{} characters; the limit is 255", d.len()));
        }
        if let Some(role) = self.service_role.value() {
            c.check(role.starts_with("arn:") && role.contains(":role/"), "serviceRole", || {
                format!("`{role}` is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
            });
        }
        let pipeline_source = matches!(self.source, Source::CodePipeline { .. });
        let pipeline_artifacts = self.artifacts == Artifacts::CodePipeline;
        c.check(pipeline_source == pipeline_artifacts, "artifacts", || {
            if pipeline_source {
                "a CodePipeline source needs CodePipeline artifacts".into()
            } else {
                "CodePipeline artifacts need a CodePipeline source".into()
            }
        });
        match &self.source {
            Source::GitHub { location } => c.check(location.starts_with("https://github.com/"), "source", || {
                format!("`{location}`: a GitHub location is a clone URL, https://github.com/<owner>/<repo>.git")
            }),
            Source::S3 { location } => {
                let ok = !location.starts_with("s3://")
                    && location.split_once('/').is_some_and(|(b, k)| !b.is_empty() && !k.is_empty());
                c.check(ok, "source", || format!("`{location}`: an S3 location is `bucket/key.zip` (no s3://)"));
            }
            Source::NoSource { buildspec } => {
                c.check(!buildspec.trim().is_empty(), "source", || "a project without source needs a buildspec".into())
            }
            Source::CodePipeline { buildspec } => {
                c.check(buildspec.as_ref().is_none_or(|b| !b.trim().is_empty()), "source", || {
                    "the buildspec is empty; leave it unset for buildspec.yml".into()
                })
            }
        }
        c.check((5..=2160).contains(&self.build_timeout_minutes), "timeoutInMinutes", || {
            format!("{} minutes: between 5 and 2160", self.build_timeout_minutes)
        });
        c.check((5..=480).contains(&self.queued_timeout_minutes), "queuedTimeoutInMinutes", || {
            format!("{} minutes: between 5 and 480", self.queued_timeout_minutes)
        });
        c.check(!self.environment.image.is_empty(), "environment.image", || "must not be empty".into());
        for (i, v) in self.environment.variables.iter().enumerate() {
            let field = format!("environment.variables[{i}]");
            let name = v.name();
            if name.is_empty() {
                c.fail(&field, "the name must not be empty");
            } else if self.environment.variables[..i].iter().any(|o| o.name() == name) {
                c.fail(&field, format!("`{name}` is defined twice"));
            }
            match v {
                EnvVar::Plaintext { .. } => {
                    let upper = name.to_ascii_uppercase();
                    if let Some(word) = SECRET_WORDS.iter().find(|w| upper.contains(*w)) {
                        c.fail(
                            &field,
                            format!(
                                "`{name}` looks like a secret ({word}); plaintext variables are readable by anyone \
                                 who can see the project: use EnvVar::SecretsManager or EnvVar::ParameterStore"
                            ),
                        );
                    }
                }
                EnvVar::ParameterStore { parameter, .. } => {
                    c.check(!parameter.is_empty(), &field, || "the parameter name must not be empty".into())
                }
                EnvVar::SecretsManager { secret_arn, .. } => {
                    if let Some(arn) = secret_arn.value() {
                        c.check(arn.starts_with("arn:") && arn.contains(":secretsmanager:"), &field, || {
                            format!("`{arn}` is not a Secrets Manager secret ARN")
                        });
                    }
                }
            }
        }
        if let Some(v) = &self.vpc_config {
            c.check(!v.subnets.is_empty(), "vpcConfig.subnets", || "at least one subnet".into());
            c.check(!v.security_group_ids.is_empty(), "vpcConfig.securityGroupIds", || {
                "at least one security group".into()
            });
        }
        if let Some(l) = &self.logs {
            if let Some(g) = l.group_name.value() {
                c.check(!g.is_empty(), "logs.groupName", || "must not be empty".into());
            }
        }
    }
}

fn fatal(op: &str) -> impl Fn(aws_smithy_types::error::operation::BuildError) -> ProviderError + '_ {
    move |e| ProviderError::fatal(op, e.to_string())
}

/// The request parts shared by CreateProject and UpdateProject.
struct Spec {
    source: ProjectSource,
    artifacts: ProjectArtifacts,
    environment: ProjectEnvironment,
    logs: LogsConfig,
    vpc: Option<SdkVpcConfig>,
}

fn spec(i: In<'_>, op: &str) -> Result<Spec, ProviderError> {
    let src = i.value("source");
    let source = ProjectSource::builder()
        .r#type(SourceType::from(src.get("type").as_str().unwrap_or("NO_SOURCE")))
        .set_location(src.get("location").as_str().map(str::to_owned))
        .set_buildspec(src.get("buildspec").as_str().map(str::to_owned))
        .build()
        .map_err(fatal(op))?;
    let artifacts = ProjectArtifacts::builder()
        .r#type(ArtifactsType::from(i.opt_str("artifacts").unwrap_or("NO_ARTIFACTS")))
        .build()
        .map_err(fatal(op))?;
    let env = i.value("environment");
    let mut variables = Vec::new();
    for v in env.get("variables").as_list().unwrap_or_default() {
        // A secret-marked value (a SecretsManager ARN from a sealed output)
        // is revealed only here, on its way to AWS.
        let value = match v.get("value") {
            Value::Secret(inner) => inner.as_str(),
            other => other.as_str(),
        };
        variables.push(
            SdkVariable::builder()
                .name(v.get("name").as_str().unwrap_or_default())
                .value(value.unwrap_or_default())
                .r#type(EnvironmentVariableType::from(v.get("type").as_str().unwrap_or("PLAINTEXT")))
                .build()
                .map_err(fatal(op))?,
        );
    }
    let environment = ProjectEnvironment::builder()
        .r#type(SdkEnvironmentType::from(env.get("type").as_str().unwrap_or("LINUX_CONTAINER")))
        .image(env.get("image").as_str().unwrap_or_default())
        .compute_type(SdkComputeType::from(env.get("computeType").as_str().unwrap_or("BUILD_GENERAL1_SMALL")))
        .privileged_mode(env.get("privilegedMode").as_bool().unwrap_or(false))
        .set_environment_variables(Some(variables))
        .build()
        .map_err(fatal(op))?;
    // Unset logs: CloudWatch on, in CodeBuild's default group (what AWS does
    // without a logs config), so removing the setting restores the default.
    let l = i.value("logs");
    let logs = LogsConfig::builder()
        .cloud_watch_logs(
            CloudWatchLogsConfig::builder()
                .status(LogsConfigStatusType::Enabled)
                .set_group_name(l.get("groupName").as_str().map(str::to_owned))
                .set_stream_name(l.get("streamName").as_str().map(str::to_owned))
                .build()
                .map_err(fatal(op))?,
        )
        .build();
    let v = i.value("vpcConfig");
    let strs =
        |key: &str| v.get(key).as_list().map(|l| l.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect());
    let vpc = v.get("vpcId").as_str().map(|id| {
        SdkVpcConfig::builder()
            .vpc_id(id)
            .set_subnets(strs("subnets"))
            .set_security_group_ids(strs("securityGroupIds"))
            .build()
    });
    Ok(Spec { source, artifacts, environment, logs, vpc })
}

fn cb_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

fn tag<'a>(p: &'a SdkProject, key: &str) -> Option<&'a str> {
    p.tags().iter().find(|t| t.key() == Some(key)).and_then(|t| t.value())
}

async fn get(p: &AwsProvider, name: &str) -> Result<Option<SdkProject>, ProviderError> {
    let out = p
        .codebuild()
        .await
        .batch_get_projects()
        .names(name)
        .send()
        .await
        .map_err(|e| aws_err("BatchGetProjects", e))?;
    Ok(out.projects().iter().find(|x| x.name() == Some(name)).cloned())
}

/// A project as inputs (the shape [`Project::inputs`] gives) and outputs.
fn describe(p: &SdkProject, recorded: &Value) -> (Value, Value) {
    let source = p.source().map_or(Value::Null, |s| {
        let kind = s.r#type().as_str();
        let with_location = matches!(kind, "GITHUB" | "S3");
        map([
            ("type", Value::from(kind)),
            ("location", Value::from(s.location().filter(|_| with_location))),
            ("buildspec", Value::from(s.buildspec())),
        ])
    });
    let environment = p.environment().map_or(Value::Null, |e| {
        let variables: Vec<Value> = e
            .environment_variables()
            .iter()
            .map(|v| {
                map([
                    ("name", Value::from(v.name())),
                    ("type", Value::from(v.r#type().map_or("PLAINTEXT", |t| t.as_str()))),
                    ("value", Value::from(v.value())),
                ])
            })
            .collect();
        map([
            ("computeType", Value::from(e.compute_type().as_str())),
            ("image", Value::from(e.image())),
            ("type", Value::from(e.r#type().as_str())),
            ("privilegedMode", Value::from(e.privileged_mode().unwrap_or(false))),
            ("variables", Value::List(variables)),
        ])
    });
    let cw = p.logs_config().and_then(|l| l.cloud_watch_logs());
    let logs = cw.filter(|c| c.status() == &LogsConfigStatusType::Enabled).map_or(Value::Null, |c| {
        map([("groupName", Value::from(c.group_name())), ("streamName", Value::from(c.stream_name()))])
    });
    let rec_vpc = recorded.get("vpcConfig");
    let vpc = p.vpc_config().filter(|v| v.vpc_id().is_some_and(|id| !id.is_empty())).map_or(Value::Null, |v| {
        map([
            ("vpcId", Value::from(v.vpc_id())),
            ("subnets", ordered_like(v.subnets().to_vec(), rec_vpc.get("subnets"))),
            ("securityGroupIds", ordered_like(v.security_group_ids().to_vec(), rec_vpc.get("securityGroupIds"))),
        ])
    });
    let mut inputs = map([
        ("name", Value::from(p.name())),
        ("description", Value::from(p.description().filter(|d| !d.is_empty()))),
        ("serviceRole", Value::from(p.service_role())),
        ("source", source),
        ("artifacts", Value::from(p.artifacts().map(|a| a.r#type().as_str()))),
        ("environment", environment),
        ("timeoutInMinutes", Value::from(p.timeout_in_minutes())),
        ("queuedTimeoutInMinutes", Value::from(p.queued_timeout_in_minutes())),
        ("logs", logs),
        ("encryptionKey", Value::from(p.encryption_key())),
        ("vpcConfig", vpc),
        ("tags", tags_value(p.tags().iter().filter_map(|t| Some((t.key()?, t.value().unwrap_or_default()))))),
    ]);
    // Unset, AWS uses its own key for S3: not a change.
    drop_computed_when_unset(&mut inputs, recorded, &["encryptionKey"]);
    // An `alias/name` given comes back as the alias's ARN: the same key.
    if let (Some(given), Some(read)) = (recorded.get("encryptionKey").as_str(), p.encryption_key()) {
        if given.starts_with("alias/") && read.ends_with(&format!(":{given}")) {
            keep_write_only(&mut inputs, recorded, &["encryptionKey"]);
        }
    }
    (inputs, map([("arn", Value::from(p.arn()))]))
}

pub(crate) struct ProjectHandler;

#[async_trait]
impl Handler for ProjectHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        const OP: &str = "CreateProject";
        let i = In::new(&req.inputs, OP);
        let name = i.str("name")?;
        let s = spec(i, OP)?;
        let created = p
            .codebuild()
            .await
            .create_project()
            .name(name)
            .set_description(i.opt_str("description").map(str::to_owned))
            .service_role(i.str("serviceRole")?)
            .source(s.source)
            .artifacts(s.artifacts)
            .environment(s.environment)
            .set_timeout_in_minutes(i.opt_i32("timeoutInMinutes"))
            .set_queued_timeout_in_minutes(i.opt_i32("queuedTimeoutInMinutes"))
            .logs_config(s.logs)
            .set_encryption_key(i.opt_str("encryptionKey").map(str::to_owned))
            .set_vpc_config(s.vpc)
            .set_tags(Some(cb_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .customize()
            .no_sdk_retry()
            .send()
            .await;
        let project = match created {
            Ok(o) => o.project.ok_or_else(|| ProviderError::fatal(OP, "AWS returned no project"))?,
            // A role created moments ago is not yet assumable by CodeBuild.
            Err(e)
                if code(&e) == Some("InvalidInputException")
                    && e.as_service_error()
                        .and_then(|s| s.meta().message())
                        .is_some_and(|m| m.contains("AssumeRole")) =>
            {
                return Err(ProviderError::retriable(OP, format!("the service role is not assumable yet: {e:?}")))
            }
            Err(e) => return Err(aws_err(OP, e)),
        };
        let (_, outputs) = describe(&project, &req.inputs);
        Ok(CreateResult { id: name.to_owned(), outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(get(p, &req.id).await?.map(|project| {
            let (inputs, outputs) = describe(&project, &req.inputs);
            ReadResult { id: req.id, inputs, outputs }
        }))
    }

    /// One UpdateProject carries every setting (tags too: CodeBuild has no
    /// separate tagging call), so removed settings are sent as AWS's
    /// defaults.
    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        const OP: &str = "UpdateProject";
        let (old, new) = (In::new(&req.old_inputs, ""), In::new(&req.inputs, OP));
        let s = spec(new, OP)?;
        let key = match (new.opt_str("encryptionKey"), old.opt_str("encryptionKey")) {
            (Some(k), _) => Some(k.to_owned()),
            (None, Some(_)) => Some("alias/aws/s3".to_owned()),
            (None, None) => None,
        };
        let vpc = match (s.vpc, old.value("vpcConfig").is_empty_like()) {
            (Some(v), _) => Some(v),
            (None, false) => Some(SdkVpcConfig::builder().build()),
            (None, true) => None,
        };
        let updated = p
            .codebuild()
            .await
            .update_project()
            .name(&req.id)
            .description(new.opt_str("description").unwrap_or_default())
            .service_role(new.str("serviceRole")?)
            .source(s.source)
            .artifacts(s.artifacts)
            .environment(s.environment)
            .set_timeout_in_minutes(new.opt_i32("timeoutInMinutes"))
            .set_queued_timeout_in_minutes(new.opt_i32("queuedTimeoutInMinutes"))
            .logs_config(s.logs)
            .set_encryption_key(key)
            .set_vpc_config(vpc)
            .set_tags(Some(cb_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .send()
            .await
            .map_err(|e| aws_err(OP, e))?;
        let project = updated.project.ok_or_else(|| ProviderError::fatal(OP, "AWS returned no project"))?;
        let (_, outputs) = describe(&project, &req.inputs);
        Ok(UpdateResult { outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.codebuild().await.delete_project().name(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteProject", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let Some(project) = get(p, name).await? else { return Ok(None) };
        if tag(&project, TAG_STACK) != Some(req.stack.as_str()) || tag(&project, TAG_NAME) != Some(req.urn.as_str()) {
            return Ok(None);
        }
        let (inputs, outputs) = describe(&project, &req.inputs);
        Ok(unless_known(&req, Some(ReadResult { id: name.to_owned(), inputs, outputs })))
    }
}
