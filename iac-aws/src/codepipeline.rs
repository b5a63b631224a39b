//! CodePipeline: release pipelines (source → build → deploy).

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_codepipeline::types::{
    ActionCategory, ActionDeclaration, ActionOwner, ActionTypeId, ArtifactStore as SdkArtifactStore, ArtifactStoreType,
    EncryptionKey, EncryptionKeyType, InputArtifact, OutputArtifact, PipelineDeclaration,
    PipelineType as SdkPipelineType, StageDeclaration, Tag,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use crate::error::{aws_err, code, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{map, opt_expr, tags_value, tags_with_identity, unless_known, In, TAG_NAME, TAG_STACK};

pub(crate) const TYPE: &str = "aws:codepipeline:Pipeline";

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    (type_token == TYPE).then_some(&PipelineHandler as &dyn Handler)
}

/// Schema: the name is the identity; the structure, role, store and tags
/// change in place (UpdatePipeline bumps the version).
pub static SCHEMA: Schema =
    Schema { replace_on: &["name"], delete_before_replace: true, taggable: true, ..Schema::new(TYPE, "aws") };

/// What an action does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    /// Fetches a revision (only in the first stage).
    Source,
    /// Builds.
    Build,
    /// Tests.
    Test,
    /// Deploys.
    Deploy,
    /// Waits for a person's approval.
    Approval,
    /// Invokes a function.
    Invoke,
    /// Runs commands.
    Compute,
}

impl Category {
    fn as_str(self) -> &'static str {
        match self {
            Category::Source => "Source",
            Category::Build => "Build",
            Category::Test => "Test",
            Category::Deploy => "Deploy",
            Category::Approval => "Approval",
            Category::Invoke => "Invoke",
            Category::Compute => "Compute",
        }
    }
}

/// Who provides an action type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Owner {
    /// AWS (S3, ECR, CodeBuild, ECS, CodeStarSourceConnection, Manual…).
    #[default]
    Aws,
    /// A partner (GitHub version 1 and the like).
    ThirdParty,
    /// A custom action type of this account.
    Custom,
}

impl Owner {
    fn as_str(self) -> &'static str {
        match self {
            Owner::Aws => "AWS",
            Owner::ThirdParty => "ThirdParty",
            Owner::Custom => "Custom",
        }
    }
}

/// V1 or V2 pipelines (V2: triggers, variables, per-execution pricing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PipelineType {
    /// The original type.
    V1,
    /// The current type.
    #[default]
    V2,
}

/// One action of a stage. The constructors cover the common providers;
/// the builder takes any.
///
/// ```
/// use std::collections::BTreeMap;
/// use iac_aws::codepipeline::{Action, Category};
/// let source = Action::s3_source("release-artifacts", "src/api.zip", "src");
/// let approve = Action::builder()
///     .name("Approve")
///     .category(Category::Approval)
///     .provider("Manual")
///     .configuration(BTreeMap::from([("CustomData".to_owned(), "ship it?".into())]))
///     .build();
/// # let _ = (source, approve);
/// ```
#[derive(Clone, Debug, bon::Builder)]
pub struct Action {
    /// Unique in its stage.
    #[builder(into)]
    pub name: String,
    /// What it does.
    pub category: Category,
    /// Who provides the action type.
    #[builder(default)]
    pub owner: Owner,
    /// The provider (`S3`, `ECR`, `CodeBuild`, `ECS`, `Manual`…).
    #[builder(into)]
    pub provider: String,
    /// The action type's version.
    #[builder(into, default = "1".to_owned())]
    pub version: String,
    /// The provider's settings.
    #[builder(default)]
    pub configuration: BTreeMap<String, Input<String>>,
    /// Artifacts it reads, each made by an earlier action.
    #[builder(default)]
    pub input_artifacts: Vec<String>,
    /// Artifacts it makes (names unique in the pipeline).
    #[builder(default)]
    pub output_artifacts: Vec<String>,
    /// Actions of a stage with the same number run in parallel; lower first.
    #[builder(default = 1)]
    pub run_order: i32,
    /// Another region to run in (cross-region actions).
    #[builder(into)]
    pub region: Option<String>,
}

fn config<const N: usize>(pairs: [(&str, Input<String>); N]) -> BTreeMap<String, Input<String>> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

impl Action {
    fn aws(name: &str, category: Category, provider: &str, configuration: BTreeMap<String, Input<String>>) -> Action {
        Action::builder().name(name).category(category).provider(provider).configuration(configuration).build()
    }

    /// An S3 source named `Source`: a zip at `key` in a versioned `bucket`.
    pub fn s3_source(bucket: impl Into<Input<String>>, key: impl Into<String>, output: impl Into<String>) -> Action {
        let c = config([("S3Bucket", bucket.into()), ("S3ObjectKey", Input::Value(key.into()))]);
        Action { output_artifacts: vec![output.into()], ..Action::aws("Source", Category::Source, "S3", c) }
    }

    /// An ECR source named `Source`: an image tag of `repository` (its name).
    pub fn ecr_source(
        repository: impl Into<Input<String>>,
        tag: impl Into<String>,
        output: impl Into<String>,
    ) -> Action {
        let c = config([("RepositoryName", repository.into()), ("ImageTag", Input::Value(tag.into()))]);
        Action { output_artifacts: vec![output.into()], ..Action::aws("Source", Category::Source, "ECR", c) }
    }

    /// A CodeStar connection source named `Source` (GitHub, GitLab,
    /// Bitbucket): `owner/repo` at `branch`.
    pub fn codestar_source(
        connection_arn: impl Into<Input<String>>,
        repository_id: impl Into<String>,
        branch: impl Into<String>,
        output: impl Into<String>,
    ) -> Action {
        let c = config([
            ("ConnectionArn", connection_arn.into()),
            ("FullRepositoryId", Input::Value(repository_id.into())),
            ("BranchName", Input::Value(branch.into())),
        ]);
        Action {
            output_artifacts: vec![output.into()],
            ..Action::aws("Source", Category::Source, "CodeStarSourceConnection", c)
        }
    }

    /// A CodeBuild build named `Build` of `project_name` on `input`.
    pub fn codebuild(project_name: impl Into<Input<String>>, input: impl Into<String>, outputs: Vec<String>) -> Action {
        Action {
            input_artifacts: vec![input.into()],
            output_artifacts: outputs,
            ..Action::aws("Build", Category::Build, "CodeBuild", config([("ProjectName", project_name.into())]))
        }
    }

    /// An ECS rolling deployment named `Deploy` of `service` in `cluster`,
    /// with the image definitions file `file_name` of `input`
    /// (`imagedefinitions.json`, usually).
    pub fn ecs_deploy(
        cluster: impl Into<Input<String>>,
        service: impl Into<Input<String>>,
        input: impl Into<String>,
        file_name: impl Into<String>,
    ) -> Action {
        let c = config([
            ("ClusterName", cluster.into()),
            ("ServiceName", service.into()),
            ("FileName", Input::Value(file_name.into())),
        ]);
        Action { input_artifacts: vec![input.into()], ..Action::aws("Deploy", Category::Deploy, "ECS", c) }
    }

    /// The same action under another name.
    pub fn named(self, name: impl Into<String>) -> Action {
        Action { name: name.into(), ..self }
    }

    /// The same action at another run order.
    pub fn with_run_order(self, run_order: i32) -> Action {
        Action { run_order, ..self }
    }

    fn to_expr(&self) -> Expr {
        let configuration = if self.configuration.is_empty() {
            Expr::Value(Value::Null)
        } else {
            Expr::Map(self.configuration.iter().map(|(k, v)| (k.clone(), v.to_expr())).collect())
        };
        props([
            ("name", Expr::Value(self.name.as_str().into())),
            ("category", Expr::Value(self.category.as_str().into())),
            ("owner", Expr::Value(self.owner.as_str().into())),
            ("provider", Expr::Value(self.provider.as_str().into())),
            ("version", Expr::Value(self.version.as_str().into())),
            ("configuration", configuration),
            ("inputArtifacts", Expr::Value(self.input_artifacts.clone().into())),
            ("outputArtifacts", Expr::Value(self.output_artifacts.clone().into())),
            ("runOrder", Expr::Value(self.run_order.into())),
            ("region", Expr::Value(self.region.clone().into())),
        ])
    }
}

/// A stage: actions run by run order.
#[derive(Clone, Debug)]
pub struct Stage {
    /// Unique in the pipeline.
    pub name: String,
    /// Its actions.
    pub actions: Vec<Action>,
}

impl Stage {
    /// A stage of `actions`.
    pub fn new(name: impl Into<String>, actions: Vec<Action>) -> Stage {
        Stage { name: name.into(), actions }
    }
}

/// Where the pipeline keeps artifacts between stages.
#[derive(Clone, Debug, bon::Builder)]
pub struct ArtifactStore {
    /// An S3 bucket (its name) in the pipeline's region.
    #[builder(into)]
    pub bucket: Input<String>,
    /// A KMS key (ARN or alias ARN); unset, AWS's key for S3.
    #[builder(into)]
    pub kms_key_id: Option<Input<String>>,
}

/// A pipeline.
///
/// ```
/// use iac_aws::codepipeline::{Action, ArtifactStore, Pipeline, Stage};
/// let release = Pipeline::builder()
///     .name("api-release")
///     .role_arn("arn:aws:iam::123456789012:role/api-pipeline")
///     .artifact_store(ArtifactStore::builder().bucket("api-release-artifacts").build())
///     .stages(vec![
///         Stage::new("Source", vec![Action::codestar_source(
///             "arn:aws:codestar-connections:us-east-1:123456789012:connection/abc",
///             "acme/api",
///             "main",
///             "src",
///         )]),
///         Stage::new("Build", vec![Action::codebuild("api-image", "src", vec!["imagedefs".into()])]),
///         Stage::new("Deploy", vec![Action::ecs_deploy("prod", "api", "imagedefs", "imagedefinitions.json")]),
///     ])
///     .build();
/// # let _ = release;
/// ```
#[derive(bon::Builder)]
pub struct Pipeline {
    /// The pipeline's name (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// The IAM role CodePipeline assumes (its ARN).
    #[builder(into)]
    pub role_arn: Input<String>,
    /// Where artifacts are kept.
    pub artifact_store: ArtifactStore,
    /// Source first, then build, test, deploy…
    pub stages: Vec<Stage>,
    /// V2 unless set.
    #[builder(default)]
    pub pipeline_type: PipelineType,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`Pipeline`].
pub struct PipelineOutputs {
    /// Its name (the resource's id).
    pub id: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
    /// Its structure's version (1, then one more per update).
    pub version: Output<i64>,
}

fn name_ok(n: &str, max: usize, extra: &str) -> bool {
    (1..=max).contains(&n.len()) && n.chars().all(|ch| ch.is_ascii_alphanumeric() || extra.contains(ch))
}

impl Resource for Pipeline {
    type Outputs = PipelineOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        let stages = self
            .stages
            .iter()
            .map(|s| {
                props([
                    ("name", Expr::Value(s.name.as_str().into())),
                    ("actions", Expr::List(s.actions.iter().map(Action::to_expr).collect())),
                ])
            })
            .collect();
        props([
            ("name", Expr::Value(self.name.as_str().into())),
            ("roleArn", self.role_arn.to_expr()),
            (
                "artifactStore",
                props([
                    ("bucket", self.artifact_store.bucket.to_expr()),
                    ("kmsKeyId", opt_expr(self.artifact_store.kms_key_id.as_ref())),
                ]),
            ),
            ("stages", Expr::List(stages)),
            (
                "pipelineType",
                Expr::Value(
                    match self.pipeline_type {
                        PipelineType::V1 => "V1",
                        PipelineType::V2 => "V2",
                    }
                    .into(),
                ),
            ),
            ("tags", Expr::Value(self.tags.clone().into())),
        ])
    }
    fn outputs(urn: &Urn) -> PipelineOutputs {
        PipelineOutputs {
            id: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            version: Output::from_ref(urn, "version"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        const NAMES: &str = "1–100 letters, digits and . @ - _";
        c.check(name_ok(&self.name, 100, ".@-_"), "name", || format!("`{}`: {NAMES}", self.name));
        if let Some(role) = self.role_arn.value() {
            c.check(role.starts_with("arn:") && role.contains(":role/"), "roleArn", || {
                format!("`{role}` is not an IAM role ARN")
            });
        }
        if let Some(b) = self.artifact_store.bucket.value() {
            c.check(!b.is_empty() && !b.starts_with("arn:") && !b.contains('/'), "artifactStore.bucket", || {
                format!("`{b}`: the bucket's name, not an ARN or path")
            });
        }
        c.check(self.stages.len() >= 2, "stages", || {
            format!("{} stage(s): a pipeline needs a source stage and at least one more", self.stages.len())
        });
        // Artifacts made so far: by earlier stages, and in this stage by
        // actions with a lower run order.
        let mut made: Vec<(&str, usize, i32)> = Vec::new();
        for (si, stage) in self.stages.iter().enumerate() {
            let sf = format!("stages[{si}]");
            c.check(name_ok(&stage.name, 100, ".@-_"), &sf, || format!("stage name `{}`: {NAMES}", stage.name));
            if self.stages[..si].iter().any(|o| o.name == stage.name) {
                c.fail(&sf, format!("stage name `{}` is used twice", stage.name));
            }
            c.check((1..=50).contains(&stage.actions.len()), &sf, || {
                format!("stage `{}` has {} actions: 1 to 50", stage.name, stage.actions.len())
            });
            for (ai, a) in stage.actions.iter().enumerate() {
                let af = format!("stages[{si}].actions[{ai}]");
                c.check(name_ok(&a.name, 100, ".@-_"), &af, || format!("action name `{}`: {NAMES}", a.name));
                if stage.actions[..ai].iter().any(|o| o.name == a.name) {
                    c.fail(&af, format!("action name `{}` is used twice in stage `{}`", a.name, stage.name));
                }
                let source = a.category == Category::Source;
                if si == 0 && !source {
                    c.fail(
                        &af,
                        format!(
                            "`{}` is a {} action; the first stage holds source actions only",
                            a.name,
                            a.category.as_str()
                        ),
                    );
                }
                if si > 0 && source {
                    c.fail(&af, format!("`{}` is a source action; only the first stage may hold them", a.name));
                }
                if source && !a.input_artifacts.is_empty() {
                    c.fail(&af, format!("source action `{}` cannot take input artifacts", a.name));
                }
                c.check((1..=999).contains(&a.run_order), &af, || format!("run order {}: 1 to 999", a.run_order));
                c.check(!a.provider.is_empty() && !a.version.is_empty(), &af, || {
                    "the provider and version must not be empty".into()
                });
                for input in &a.input_artifacts {
                    let earlier = made.iter().any(|(n, s, r)| *n == input && (*s < si || *r < a.run_order));
                    c.check(earlier, &af, || {
                        format!("input artifact `{input}` of `{}` is not made by an earlier action", a.name)
                    });
                }
            }
            for a in &stage.actions {
                for out in &a.output_artifacts {
                    let af = format!(
                        "stages[{si}].actions[{}]",
                        stage.actions.iter().position(|x| x.name == a.name).unwrap_or(0)
                    );
                    c.check(name_ok(out, 100, "-_"), &af, || {
                        format!("artifact name `{out}`: 1–100 letters, digits, - and _")
                    });
                    if made.iter().any(|(n, ..)| n == out) {
                        c.fail(&af, format!("output artifact `{out}` is made twice; artifact names are unique"));
                    }
                    made.push((out, si, a.run_order));
                }
            }
        }
    }
}

fn fatal(op: &str) -> impl Fn(aws_smithy_types::error::operation::BuildError) -> ProviderError + '_ {
    move |e| ProviderError::fatal(op, e.to_string())
}

/// The pipeline's declaration from its inputs.
fn declaration(i: In<'_>, op: &str) -> Result<PipelineDeclaration, ProviderError> {
    let s = |v: &Value| match v {
        Value::Secret(inner) => inner.as_str().map(str::to_owned),
        other => other.as_str().map(str::to_owned),
    };
    let store = i.value("artifactStore");
    let key = match s(store.get("kmsKeyId")) {
        Some(id) => Some(EncryptionKey::builder().id(id).r#type(EncryptionKeyType::Kms).build().map_err(fatal(op))?),
        None => None,
    };
    let artifact_store = SdkArtifactStore::builder()
        .r#type(ArtifactStoreType::S3)
        .location(s(store.get("bucket")).unwrap_or_default())
        .set_encryption_key(key)
        .build()
        .map_err(fatal(op))?;
    let mut stages = Vec::new();
    for st in i.value("stages").as_list().unwrap_or_default() {
        let mut actions = Vec::new();
        for a in st.get("actions").as_list().unwrap_or_default() {
            let names = |key: &str| -> Vec<String> {
                a.get(key).as_list().unwrap_or_default().iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()
            };
            let configuration: Option<HashMap<String, String>> = a
                .get("configuration")
                .as_map()
                .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), s(v)?))).collect());
            let inputs = names("inputArtifacts")
                .into_iter()
                .map(|n| InputArtifact::builder().name(n).build().map_err(fatal(op)))
                .collect::<Result<Vec<_>, _>>()?;
            let outputs = names("outputArtifacts")
                .into_iter()
                .map(|n| OutputArtifact::builder().name(n).build().map_err(fatal(op)))
                .collect::<Result<Vec<_>, _>>()?;
            let type_id = ActionTypeId::builder()
                .category(ActionCategory::from(a.get("category").as_str().unwrap_or_default()))
                .owner(ActionOwner::from(a.get("owner").as_str().unwrap_or("AWS")))
                .provider(a.get("provider").as_str().unwrap_or_default())
                .version(a.get("version").as_str().unwrap_or("1"))
                .build()
                .map_err(fatal(op))?;
            actions.push(
                ActionDeclaration::builder()
                    .name(a.get("name").as_str().unwrap_or_default())
                    .action_type_id(type_id)
                    .run_order(a.get("runOrder").as_i64().unwrap_or(1) as i32)
                    .set_configuration(configuration)
                    .set_input_artifacts(Some(inputs))
                    .set_output_artifacts(Some(outputs))
                    .set_region(a.get("region").as_str().map(str::to_owned))
                    .build()
                    .map_err(fatal(op))?,
            );
        }
        stages.push(
            StageDeclaration::builder()
                .name(st.get("name").as_str().unwrap_or_default())
                .set_actions(Some(actions))
                .build()
                .map_err(fatal(op))?,
        );
    }
    PipelineDeclaration::builder()
        .name(i.str("name")?)
        .role_arn(i.str("roleArn")?)
        .artifact_store(artifact_store)
        .set_stages(Some(stages))
        .pipeline_type(SdkPipelineType::from(i.opt_str("pipelineType").unwrap_or("V2")))
        .build()
        .map_err(fatal(op))
}

/// The pipeline as inputs (the shape [`Pipeline::inputs`] gives), its
/// outputs, and its tags (identity tags included), or `None` if gone.
async fn describe(p: &AwsProvider, name: &str) -> Result<Option<(Value, Value, Vec<Tag>)>, ProviderError> {
    let cp = p.codepipeline().await;
    let got = match cp.get_pipeline().name(name).send().await {
        Ok(o) => o,
        Err(e) if is_code(&e, &["PipelineNotFoundException"]) => return Ok(None),
        Err(e) => return Err(aws_err("GetPipeline", e)),
    };
    let Some(d) = got.pipeline() else { return Ok(None) };
    let arn = got.metadata().and_then(|m| m.pipeline_arn()).unwrap_or_default();
    let tags = match p.indexed_tags(arn) {
        Some(tags) => cp_tags(&tags)?,
        None => match cp.list_tags_for_resource().resource_arn(arn).send().await {
            Ok(t) => t.tags().to_vec(),
            Err(e) if is_code(&e, &["ResourceNotFoundException", "PipelineNotFoundException"]) => return Ok(None),
            Err(e) => return Err(aws_err("ListTagsForResource", e)),
        },
    };
    let home = p.region().await;
    let stages: Vec<Value> = d
        .stages()
        .iter()
        .map(|st| {
            let actions: Vec<Value> = st
                .actions()
                .iter()
                .map(|a| {
                    let t = a.action_type_id();
                    let configuration: BTreeMap<String, Value> = a
                        .configuration()
                        .map(|c| c.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect())
                        .unwrap_or_default();
                    let names = |l: Vec<&str>| Value::from(l.into_iter().map(str::to_owned).collect::<Vec<_>>());
                    map([
                        ("name", Value::from(a.name())),
                        ("category", Value::from(t.map(|t| t.category().as_str()))),
                        ("owner", Value::from(t.map(|t| t.owner().as_str()))),
                        ("provider", Value::from(t.map(|t| t.provider()))),
                        ("version", Value::from(t.map(|t| t.version()))),
                        ("configuration", Value::Map(configuration)),
                        ("inputArtifacts", names(a.input_artifacts().iter().map(|x| x.name()).collect())),
                        ("outputArtifacts", names(a.output_artifacts().iter().map(|x| x.name()).collect())),
                        ("runOrder", Value::from(a.run_order().unwrap_or(1))),
                        // The pipeline's own region is where an action runs
                        // without one.
                        ("region", Value::from(a.region().filter(|r| Some(*r) != home.as_deref()))),
                    ])
                })
                .collect();
            map([("name", Value::from(st.name())), ("actions", Value::List(actions))])
        })
        .collect();
    let store = d.artifact_store().map_or(Value::Null, |s| {
        map([("bucket", Value::from(s.location())), ("kmsKeyId", Value::from(s.encryption_key().map(|k| k.id())))])
    });
    let inputs = map([
        ("name", Value::from(d.name())),
        ("roleArn", Value::from(d.role_arn())),
        ("artifactStore", store),
        ("stages", Value::List(stages)),
        ("pipelineType", Value::from(d.pipeline_type().map_or("V1", |t| t.as_str()))),
        ("tags", tags_value(tags.iter().map(|t| (t.key(), t.value())))),
    ]);
    let outputs = map([("arn", Value::from(arn)), ("version", Value::from(d.version().map(i64::from)))]);
    Ok(Some((inputs, outputs, tags)))
}

fn cp_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, ProviderError> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(fatal("TagResource"))).collect()
}

pub(crate) struct PipelineHandler;

#[async_trait]
impl Handler for PipelineHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        const OP: &str = "CreatePipeline";
        let i = In::new(&req.inputs, OP);
        let name = i.str("name")?;
        let created = p
            .codepipeline()
            .await
            .create_pipeline()
            .pipeline(declaration(i, OP)?)
            .set_tags(Some(cp_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))?))
            .customize()
            .no_sdk_retry()
            .send()
            .await;
        match created {
            Ok(_) => {}
            // A role created moments ago is not yet assumable.
            Err(e)
                if code(&e) == Some("InvalidStructureException")
                    && e.as_service_error()
                        .and_then(|s| aws_smithy_types::error::metadata::ProvideErrorMetadata::message(s))
                        .is_some_and(|m| m.contains("AssumeRole")) =>
            {
                return Err(ProviderError::retriable(OP, format!("the role is not assumable yet: {}", aws_err(OP, e))))
            }
            Err(e) => return Err(aws_err(OP, e)),
        }
        let (_, outputs, _) = describe(p, name)
            .await?
            .ok_or_else(|| ProviderError::retriable("GetPipeline", "the new pipeline is not visible yet"))?;
        Ok(CreateResult { id: name.to_owned(), outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id).await?.map(|(inputs, outputs, _)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, ""), In::new(&req.inputs, "UpdatePipeline"));
        let cp = p.codepipeline().await;
        if req.changed.iter().any(|c| c != "tags" && !c.starts_with("tags.")) {
            cp.update_pipeline()
                .pipeline(declaration(new, "UpdatePipeline")?)
                .send()
                .await
                .map_err(|e| aws_err("UpdatePipeline", e))?;
        }
        if req.changed.iter().any(|c| c == "tags" || c.starts_with("tags.")) {
            let arn = In::new(&req.old_outputs, "TagResource").str("arn")?.to_owned();
            let (was, now) = (old.tags(), new.tags());
            let removed: Vec<String> = was.keys().filter(|k| !now.contains_key(*k)).cloned().collect();
            if !removed.is_empty() {
                cp.untag_resource()
                    .resource_arn(&arn)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .map_err(|e| aws_err("UntagResource", e))?;
            }
            let added: BTreeMap<String, String> = now.into_iter().filter(|(k, v)| was.get(k) != Some(v)).collect();
            if !added.is_empty() {
                cp.tag_resource()
                    .resource_arn(&arn)
                    .set_tags(Some(cp_tags(&added)?))
                    .send()
                    .await
                    .map_err(|e| aws_err("TagResource", e))?;
            }
        }
        let (_, outputs, _) =
            describe(p, &req.id).await?.ok_or_else(|| ProviderError::fatal("GetPipeline", "the pipeline is gone"))?;
        Ok(UpdateResult { outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.codepipeline().await.delete_pipeline().name(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["PipelineNotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("DeletePipeline", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let Some((inputs, outputs, tags)) = describe(p, name).await? else { return Ok(None) };
        let get = |k: &str| tags.iter().find(|t| t.key() == k).map(|t| t.value());
        let ours = get(TAG_STACK) == Some(req.stack.as_str()) && get(TAG_NAME) == Some(req.urn.as_str());
        Ok(unless_known(&req, ours.then(|| ReadResult { id: name.to_owned(), inputs, outputs })))
    }
}
