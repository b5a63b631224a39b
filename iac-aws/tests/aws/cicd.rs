//! CodeBuild projects and CodePipeline pipelines: created, read back with
//! the SDK, updated in place, without drift, replaced on a new name,
//! destroyed and gone; bad inputs refused at preview, all at once.
//!
//! Moto 5.2.5 has no UpdateProject, so the CodeBuild test runs the update
//! path and asserts that its failure names the project and the operation and
//! leaves the project as it was; against real AWS the same update applies in
//! place (one UpdateProject carrying every setting). The harness lets moto
//! take CODEPIPELINE and NO_SOURCE projects without a location, as AWS does
//! (`moto_fixes.py`).

use std::collections::BTreeMap;

use iac_aws::codebuild::{Artifacts, ComputeType, EnvVar, Environment, Logs, Project, Source};
use iac_aws::codepipeline::{Action, ArtifactStore, Category, Pipeline, Stage};
use iac_aws::ecr::Repository;
use iac_aws::iam::Role;
use iac_aws::policy::{PolicyDocument, Principal, Statement};
use iac_aws::s3::Bucket;
use iac_core::{Error, Output, Stack, Urn};

use crate::support::*;

const SECRET_ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:cicd-registry-AbCdEf";

/// A role `service` may assume (one service per statement: moto's
/// CodePipeline reads the principal as a single string).
fn service_role(s: &Stack, name: &str, service: &str) -> Output<String> {
    s.add(
        name,
        Role::builder()
            .name(name)
            .assume_role_policy(
                PolicyDocument::new().statement(
                    Statement::builder()
                        .actions(["sts:AssumeRole"])
                        .principals(vec![Principal::Service(service.into())])
                        .build(),
                ),
            )
            .build(),
    )
    .arn
    .clone()
}

fn image_build(role: Output<String>, name: &str, timeout: i32, description: &str) -> Project {
    Project::builder()
        .name(name)
        .description(description)
        .service_role(role)
        .source(Source::CodePipeline { buildspec: Some("ci/buildspec.yml".into()) })
        .artifacts(Artifacts::CodePipeline)
        .environment(
            Environment::builder()
                .compute_type(ComputeType::Medium)
                .image("aws/codebuild/standard:7.0")
                .privileged_mode(true)
                .variables(vec![
                    EnvVar::Plaintext { name: "IMAGE_REPO".into(), value: "cicd-api".into() },
                    EnvVar::ParameterStore { name: "DB_HOST".into(), parameter: "/cicd/db/host".into() },
                    EnvVar::SecretsManager { name: "REGISTRY_PASSWORD".into(), secret_arn: SECRET_ARN.into() },
                ])
                .build(),
        )
        .build_timeout_minutes(timeout)
        .logs(Logs::builder().group_name("/cicd/builds").stream_name("api").build())
        .tags(iac_aws::tags([("Team", "platform")]))
        .build()
}

#[derive(Clone, Copy)]
struct Build {
    name: &'static str,
    timeout: i32,
    description: &'static str,
}

fn build_stack(s: &Stack, x: Build) {
    let role = service_role(s, "cicd-build-role", "codebuild.amazonaws.com");
    s.add("build", image_build(role, x.name, x.timeout, x.description));
}

#[tokio::test(flavor = "multi_thread")]
async fn codebuild_project_lifecycle() {
    let h = Harness::new();
    let cb = h.aws.codebuild().await.clone();
    let v1 = Build { name: "cicd-api-image", timeout: 30, description: "builds the API image" };

    let s = h.session("cicd-build", move |s| build_stack(s, v1));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "cicd-build").await;
    let role_arn =
        a.report.state.resources[&Urn::new("cicd-build-role")].outputs.get("arn").as_str().unwrap().to_owned();
    let got = cb.batch_get_projects().names("cicd-api-image").send().await.unwrap();
    let p = &got.projects()[0];
    assert_eq!(p.description(), Some("builds the API image"));
    assert_eq!(p.service_role(), Some(role_arn.as_str()));
    assert_eq!(p.timeout_in_minutes(), Some(30));
    assert_eq!(p.queued_timeout_in_minutes(), Some(480));
    let src = p.source().unwrap();
    assert_eq!(src.r#type().as_str(), "CODEPIPELINE");
    assert_eq!(src.buildspec(), Some("ci/buildspec.yml"));
    assert_eq!(p.artifacts().unwrap().r#type().as_str(), "CODEPIPELINE");
    let env = p.environment().unwrap();
    assert_eq!(env.compute_type().as_str(), "BUILD_GENERAL1_MEDIUM");
    assert_eq!(env.image(), "aws/codebuild/standard:7.0");
    assert_eq!(env.r#type().as_str(), "LINUX_CONTAINER");
    assert_eq!(env.privileged_mode(), Some(true));
    let vars: Vec<_> =
        env.environment_variables().iter().map(|v| (v.name(), v.r#type().map(|t| t.as_str()), v.value())).collect();
    assert_eq!(
        vars,
        [
            ("IMAGE_REPO", Some("PLAINTEXT"), "cicd-api"),
            ("DB_HOST", Some("PARAMETER_STORE"), "/cicd/db/host"),
            ("REGISTRY_PASSWORD", Some("SECRETS_MANAGER"), SECRET_ARN),
        ]
    );
    let cw = p.logs_config().and_then(|l| l.cloud_watch_logs()).unwrap();
    assert_eq!((cw.group_name(), cw.stream_name()), (Some("/cicd/builds"), Some("api")));
    let tag = |k: &str| p.tags().iter().find(|t| t.key() == Some(k)).and_then(|t| t.value()).map(str::to_owned);
    assert_eq!(tag("Team").as_deref(), Some("platform"));
    assert_eq!(tag("iac:name").as_deref(), Some("build"), "identity tags for adoption");
    let arn = p.arn().unwrap().to_owned();
    assert_eq!(a.report.state.resources[&Urn::new("build")].outputs.get("arn").as_str(), Some(arn.as_str()));
    assert_no_drift(&s).await;

    // In place: a longer timeout and a new description go through
    // UpdateProject, which moto lacks. The failure names the project and the
    // operation, and the project is left as it was.
    let v2 = Build { timeout: 60, description: "builds and pushes the API image", ..v1 };
    let s = h.session("cicd-build", move |s| build_stack(s, v2));
    let b = s.up(&opts(), None, &mut |_, _| Ok(true)).await.expect("up runs");
    let failures = format!("{:?}", b.report.failures);
    assert!(failures.contains("build (aws:codebuild:Project)") && failures.contains("UpdateProject"), "{failures}");
    let got = cb.batch_get_projects().names("cicd-api-image").send().await.unwrap();
    assert_eq!(got.projects()[0].arn(), Some(arn.as_str()), "not replaced");
    assert_eq!(got.projects()[0].timeout_in_minutes(), Some(30), "unchanged after the failed update");
    let s = h.session("cicd-build", move |s| build_stack(s, v1));
    assert_no_drift(&s).await;

    // A new name replaces the project.
    let v3 = Build { name: "cicd-api-image-v2", ..v1 };
    let s = h.session("cicd-build", move |s| build_stack(s, v3));
    up(&s).await;
    let got = cb.batch_get_projects().names("cicd-api-image").names("cicd-api-image-v2").send().await.unwrap();
    let names: Vec<_> = got.projects().iter().filter_map(|p| p.name()).collect();
    assert_eq!(names, ["cicd-api-image-v2"], "the old project is deleted");
    assert_no_drift(&s).await;

    destroy(&s).await;
    let got = cb.batch_get_projects().names("cicd-api-image-v2").send().await.unwrap();
    assert!(got.projects().is_empty(), "project deleted");
    let listed = cb.list_projects().send().await.unwrap();
    assert!(!listed.projects().iter().any(|n| n.starts_with("cicd-api-image")), "{:?}", listed.projects());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_codebuild_inputs_are_refused_at_preview_with_every_problem() {
    let h = Harness::new();
    let s = h.session("cicd-bad-build", |s| {
        s.add(
            "build",
            Project::builder()
                .name("-bad name")
                .service_role("codebuild-role")
                .source(Source::GitHub { location: "git@github.com:acme/api.git".into() })
                .artifacts(Artifacts::CodePipeline)
                .environment(
                    Environment::builder()
                        .image("aws/codebuild/standard:7.0")
                        .variables(vec![
                            EnvVar::Plaintext { name: "DB_PASSWORD".into(), value: "hunter2".into() },
                            EnvVar::Plaintext { name: "DB_PASSWORD".into(), value: "again".into() },
                            EnvVar::SecretsManager { name: "TOKEN".into(), secret_arn: "my-token".into() },
                        ])
                        .build(),
                )
                .build_timeout_minutes(3000)
                .queued_timeout_minutes(1)
                .build(),
        );
        s.add(
            "nosource",
            Project::builder()
                .name("cicd-ok")
                .service_role("arn:aws:iam::123456789012:role/r")
                .source(Source::S3 { location: "s3://bucket/src.zip".into() })
                .artifacts(Artifacts::NoArtifacts)
                .environment(Environment::builder().image("").build())
                .build(),
        );
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    for (resource, field, what) in [
        ("build", "name", "starting with a letter or digit"),
        ("build", "serviceRole", "not an IAM role ARN"),
        ("build", "artifacts", "need a CodePipeline source"),
        ("build", "source", "clone URL"),
        ("build", "environment.variables[0]", "looks like a secret"),
        ("build", "environment.variables[1]", "defined twice"),
        ("build", "environment.variables[2]", "not a Secrets Manager secret ARN"),
        ("build", "timeoutInMinutes", "between 5 and 2160"),
        ("build", "queuedTimeoutInMinutes", "between 5 and 480"),
        ("nosource", "source", "no s3://"),
        ("nosource", "environment.image", "must not be empty"),
    ] {
        assert!(
            diags.iter().any(|d| {
                let d = d.to_string();
                d.contains(resource) && d.contains(field) && d.contains(what)
            }),
            "missing `{what}` on {resource}.{field}: {text}"
        );
    }
    assert!(!text.contains("hunter2"), "a plaintext value is not echoed: {text}");
}

#[derive(Clone, Copy)]
struct Release {
    name: &'static str,
    base_tag: &'static str,
    approval: bool,
    team: &'static str,
}

/// A release pipeline for an ECS service: the app's source zip and a base
/// image in, CodeBuild builds and pushes the image, ECS deploys it.
fn release_stack(s: &Stack, x: Release) {
    let artifacts =
        s.add("cicd-artifacts", Bucket::builder().bucket("cicd-release-artifacts").force_destroy(true).build());
    let pipeline_role = service_role(s, "cicd-pipeline-role", "codepipeline.amazonaws.com");
    let build_role = service_role(s, "cicd-image-build-role", "codebuild.amazonaws.com");
    let repo = s.add("cicd-repo", Repository::builder().name("cicd-base").force_delete(true).build());
    let build = s.add("cicd-image-build", image_build(build_role, "cicd-release-build", 30, "release image"));
    let mut deploy = vec![Action::ecs_deploy("cicd-cluster", "cicd-api", "imagedefs", "imagedefinitions.json")];
    if x.approval {
        deploy[0] = deploy[0].clone().with_run_order(2);
        deploy.insert(
            0,
            Action::builder()
                .name("Approve")
                .category(Category::Approval)
                .provider("Manual")
                .configuration(BTreeMap::from([("CustomData".to_owned(), "ship the API?".into())]))
                .build(),
        );
    }
    s.add(
        "pipeline",
        Pipeline::builder()
            .name(x.name)
            .role_arn(pipeline_role)
            .artifact_store(ArtifactStore::builder().bucket(artifacts.id.clone()).build())
            .stages(vec![
                Stage::new(
                    "Source",
                    vec![
                        Action::s3_source(artifacts.id.clone(), "src/api.zip", "src"),
                        Action::ecr_source(repo.id.clone(), x.base_tag, "base").named("BaseImage"),
                    ],
                ),
                Stage::new("Build", vec![Action::codebuild(build.name.clone(), "src", vec!["imagedefs".into()])]),
                Stage::new("Deploy", deploy),
            ])
            .tags(iac_aws::tags([("Team", x.team)]))
            .build(),
    );
}

type Shape = Vec<(String, Vec<(String, String, Vec<String>, Vec<String>, i32)>)>;

/// Stages as (name, [(action, provider, inputs, outputs, run order)]).
fn shape(d: &aws_sdk_codepipeline::types::PipelineDeclaration) -> Shape {
    d.stages()
        .iter()
        .map(|st| {
            let actions = st
                .actions()
                .iter()
                .map(|a| {
                    (
                        a.name().to_owned(),
                        a.action_type_id().unwrap().provider().to_owned(),
                        a.input_artifacts().iter().map(|x| x.name().to_owned()).collect(),
                        a.output_artifacts().iter().map(|x| x.name().to_owned()).collect(),
                        a.run_order().unwrap_or(1),
                    )
                })
                .collect();
            (st.name().to_owned(), actions)
        })
        .collect()
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn codepipeline_release_lifecycle() {
    let h = Harness::new();
    let cp = h.aws.codepipeline().await.clone();
    let v1 = Release { name: "cicd-api-release", base_tag: "base", approval: false, team: "platform" };

    let s = h.session("cicd-release", move |s| release_stack(s, v1));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "cicd-release").await;
    let state = &a.report.state.resources;
    let role_arn = state[&Urn::new("cicd-pipeline-role")].outputs.get("arn").as_str().unwrap().to_owned();
    let got = cp.get_pipeline().name("cicd-api-release").send().await.unwrap();
    let d = got.pipeline().unwrap();
    let arn = got.metadata().unwrap().pipeline_arn().unwrap().to_owned();
    assert_eq!(d.role_arn(), role_arn);
    assert_eq!(d.version(), Some(1));
    assert_eq!(d.pipeline_type().map(|t| t.as_str()), Some("V2"));
    assert_eq!(d.artifact_store().unwrap().location(), "cicd-release-artifacts");
    assert_eq!(
        shape(d),
        vec![
            (
                "Source".to_owned(),
                vec![
                    ("Source".into(), "S3".into(), vec![], strs(&["src"]), 1),
                    ("BaseImage".into(), "ECR".into(), vec![], strs(&["base"]), 1),
                ]
            ),
            ("Build".to_owned(), vec![("Build".into(), "CodeBuild".into(), strs(&["src"]), strs(&["imagedefs"]), 1)]),
            ("Deploy".to_owned(), vec![("Deploy".into(), "ECS".into(), strs(&["imagedefs"]), vec![], 1)]),
        ]
    );
    let config = |stage: usize, action: usize| -> BTreeMap<String, String> {
        d.stages()[stage].actions()[action].configuration().unwrap().clone().into_iter().collect()
    };
    assert_eq!(
        config(0, 0),
        BTreeMap::from([
            ("S3Bucket".to_owned(), "cicd-release-artifacts".to_owned()),
            ("S3ObjectKey".to_owned(), "src/api.zip".to_owned()),
        ])
    );
    assert_eq!(config(0, 1)["RepositoryName"], "cicd-base", "the repository's name flows from its output");
    assert_eq!(config(0, 1)["ImageTag"], "base");
    assert_eq!(config(1, 0)["ProjectName"], "cicd-release-build");
    assert_eq!(config(2, 0).len(), 3);
    assert_eq!(config(2, 0)["FileName"], "imagedefinitions.json");
    let tags = cp.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    let tag = |k: &str| tags.tags().iter().find(|t| t.key() == k).map(|t| t.value().to_owned());
    assert_eq!(tag("Team").as_deref(), Some("platform"));
    assert_eq!(tag("iac:name").as_deref(), Some("pipeline"), "identity tags for adoption");
    let out = &state[&Urn::new("pipeline")].outputs;
    assert_eq!(out.get("arn").as_str(), Some(arn.as_str()));
    assert_eq!(out.get("version").as_i64(), Some(1));
    assert_no_drift(&s).await;

    // In place: a manual approval before the deploy, another base tag, new
    // tags. UpdatePipeline bumps the version; the ARN stays.
    let v2 = Release { base_tag: "2024-lts", approval: true, team: "delivery", ..v1 };
    let s = h.session("cicd-release", move |s| release_stack(s, v2));
    let b = up(&s).await;
    let got = cp.get_pipeline().name("cicd-api-release").send().await.unwrap();
    let d = got.pipeline().unwrap();
    assert_eq!(got.metadata().unwrap().pipeline_arn(), Some(arn.as_str()), "updated in place");
    assert_eq!(d.version(), Some(2));
    assert_eq!(
        shape(d)[2],
        (
            "Deploy".to_owned(),
            vec![
                ("Approve".into(), "Manual".into(), vec![], vec![], 1),
                ("Deploy".into(), "ECS".into(), strs(&["imagedefs"]), vec![], 2),
            ]
        )
    );
    assert_eq!(d.stages()[0].actions()[1].configuration().unwrap()["ImageTag"], "2024-lts");
    assert_eq!(d.stages()[2].actions()[0].configuration().unwrap()["CustomData"], "ship the API?");
    let tags = cp.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    assert!(tags.tags().iter().any(|t| t.key() == "Team" && t.value() == "delivery"), "{:?}", tags.tags());
    assert!(tags.tags().iter().any(|t| t.key() == "iac:stack"), "identity tags kept");
    assert_eq!(b.report.state.resources[&Urn::new("pipeline")].outputs.get("version").as_i64(), Some(2));
    assert_no_drift(&s).await;

    // A new name replaces the pipeline.
    let v3 = Release { name: "cicd-api-release-v2", ..v2 };
    let s = h.session("cicd-release", move |s| release_stack(s, v3));
    up(&s).await;
    assert!(cp.get_pipeline().name("cicd-api-release").send().await.is_err(), "the old pipeline is deleted");
    let got = cp.get_pipeline().name("cicd-api-release-v2").send().await.unwrap();
    assert_eq!(got.pipeline().unwrap().version(), Some(1));
    assert_no_drift(&s).await;

    destroy(&s).await;
    let listed = cp.list_pipelines().send().await.unwrap();
    let left: Vec<_> = listed.pipelines().iter().filter_map(|p| p.name()).filter(|n| n.starts_with("cicd-")).collect();
    assert!(left.is_empty(), "pipelines left: {left:?}");
    let builds = h.aws.codebuild().await.batch_get_projects().names("cicd-release-build").send().await.unwrap();
    assert!(builds.projects().is_empty(), "the build project is deleted");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_pipeline_inputs_are_refused_at_preview_with_every_problem() {
    let h = Harness::new();
    let s = h.session("cicd-bad-pipeline", |s| {
        let store = || ArtifactStore::builder().bucket("cicd-store").build();
        s.add(
            "lonely",
            Pipeline::builder()
                .name("cicd-lonely")
                .role_arn("arn:aws:iam::123456789012:role/p")
                .artifact_store(store())
                .stages(vec![Stage::new("Source", vec![Action::s3_source("b", "k.zip", "src")])])
                .build(),
        );
        s.add(
            "tangled",
            Pipeline::builder()
                .name("cicd tangled!")
                .role_arn("pipeline-role")
                .artifact_store(ArtifactStore::builder().bucket("arn:aws:s3:::cicd-store").build())
                .stages(vec![
                    Stage::new(
                        "Source",
                        vec![
                            Action::s3_source("b", "k.zip", "src"),
                            Action::codebuild("p", "src", vec![]).named("EarlyBuild"),
                        ],
                    ),
                    Stage::new(
                        "Build",
                        vec![
                            Action::codebuild("p", "missing", vec!["src".into()]),
                            Action::codebuild("p", "src", vec![]),
                            Action::ecr_source("r", "latest", "img").named("LateSource"),
                        ],
                    ),
                    Stage::new("Build", vec![Action::ecs_deploy("c", "s", "src", "f.json").with_run_order(0)]),
                ])
                .build(),
        );
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    for (resource, field, what) in [
        ("lonely", "stages", "at least one more"),
        ("tangled", "name", "letters, digits and . @ - _"),
        ("tangled", "roleArn", "not an IAM role ARN"),
        ("tangled", "artifactStore.bucket", "not an ARN"),
        ("tangled", "stages[0].actions[1]", "source actions only"),
        ("tangled", "stages[1].actions[0]", "`missing` of `Build` is not made by an earlier action"),
        ("tangled", "stages[1].actions[0]", "`src` is made twice"),
        ("tangled", "stages[1].actions[1]", "used twice in stage `Build`"),
        ("tangled", "stages[1].actions[2]", "only the first stage"),
        ("tangled", "stages[2]", "stage name `Build` is used twice"),
        ("tangled", "stages[2].actions[0]", "run order 0"),
    ] {
        assert!(
            diags.iter().any(|d| {
                let d = d.to_string();
                d.contains(resource) && d.contains(field) && d.contains(what)
            }),
            "missing `{what}` on {resource}.{field}: {text}"
        );
    }
}
