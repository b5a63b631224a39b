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

use iac_aws::codebuild::{Artifacts, ComputeType, EnvVar, Environment, Logs, Project, Source};
use iac_aws::iam::Role;
use iac_aws::policy::{PolicyDocument, Principal, Statement};
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
    assert!(failures.contains("build") && failures.contains("UpdateProject"), "{failures}");
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
