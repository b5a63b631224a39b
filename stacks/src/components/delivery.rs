//! `DeliveryPipeline`: an ECR repository per service, a CodeBuild project
//! that builds and pushes their images, and a CodePipeline that takes the
//! source from S3, builds, and rolls each ECS service onto its new image.

use std::collections::BTreeMap;

use iac_aws::codebuild::{Artifacts, ComputeType, EnvVar, Environment, Logs, Project, Source};
use iac_aws::codepipeline::{Action, ArtifactStore, Pipeline, Stage};
use iac_aws::ecr::{Expire, LifecycleRule, Repository, TagStatus};
use iac_aws::logs::LogGroup;
use iac_aws::policy::Statement;
use iac_aws::s3::Bucket;
use iac_core::{Output, Stack};

use super::iam::service_role;

/// What is delivered.
#[derive(Clone, Debug)]
pub struct DeliveryArgs {
    /// Prefix of every name (`<project>-<env>`).
    pub prefix: String,
    /// The ECS cluster the services run in (deploy actions), if deployed
    /// by the pipeline.
    pub cluster_name: Option<String>,
    /// The services, each with a repository `<prefix>-<service>`.
    pub services: Vec<String>,
    /// Untagged images are expired beyond this many.
    pub keep_images: u32,
    /// Let destroy delete repositories that still hold images, and empty
    /// the artifact bucket (development).
    pub force_delete: bool,
}

/// The pipeline's handles.
pub struct DeliveryPipeline {
    /// Repository URL by service (the `ecr_repository_urls` output).
    pub repository_urls: BTreeMap<String, Output<String>>,
    /// The artifact bucket, where the source zip is put.
    pub artifact_bucket: Output<String>,
    /// The pipeline's name.
    pub pipeline: Output<String>,
}

impl DeliveryPipeline {
    /// Declares the delivery pipeline as component `name` of `stack`.
    pub fn new(stack: &Stack, name: &str, args: &DeliveryArgs) -> DeliveryPipeline {
        let c = stack.component("stacks:DeliveryPipeline", name);
        let p = &args.prefix;
        let mut repository_urls = BTreeMap::new();
        let mut repo_arns = Vec::new();
        for svc in &args.services {
            let repo = c.add(
                &format!("repo-{svc}"),
                Repository::builder()
                    .name(format!("{p}-{svc}"))
                    .scan_on_push(true)
                    .lifecycle_rules(vec![LifecycleRule::builder()
                        .priority(1)
                        .description(format!("keep the last {} untagged images", args.keep_images))
                        .tag_status(TagStatus::Untagged)
                        .expire(Expire::KeepLast(args.keep_images))
                        .build()])
                    .force_delete(args.force_delete)
                    .build(),
            );
            repository_urls.insert(svc.clone(), repo.repository_url.clone());
            repo_arns.push(repo.arn.clone().into());
        }
        let artifacts = c.add(
            "artifacts",
            Bucket::builder()
                .bucket(format!("{p}-pipeline-artifacts"))
                .versioning(true)
                .force_destroy(args.force_delete)
                .build(),
        );
        let artifacts_access = || {
            Statement::builder()
                .actions(["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:GetBucketVersioning"])
                .resources(vec![artifacts.arn.clone().into(), artifacts.arn.map(|a| format!("{a}/*")).into()])
                .build()
        };
        let build_logs = c.add(
            "build-logs",
            LogGroup::builder().name(format!("/codebuild/{p}-images")).retention_in_days(30).build(),
        );
        let build_role = service_role(
            &c,
            "build-role",
            &format!("{p}-build"),
            "codebuild.amazonaws.com",
            &[],
            vec![
                artifacts_access(),
                Statement::builder().actions(["ecr:GetAuthorizationToken"]).resources(vec!["*".into()]).build(),
                Statement::builder()
                    .actions([
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:InitiateLayerUpload",
                        "ecr:UploadLayerPart",
                        "ecr:CompleteLayerUpload",
                        "ecr:PutImage",
                        "ecr:BatchGetImage",
                    ])
                    .resources(repo_arns)
                    .build(),
                Statement::builder()
                    .actions(["logs:CreateLogStream", "logs:PutLogEvents"])
                    .resources(vec![build_logs.arn.map(|a| format!("{a}:*")).into()])
                    .build(),
            ],
        );
        let build = c.add(
            "build",
            Project::builder()
                .name(format!("{p}-images"))
                .description("builds and pushes the service images")
                .service_role(build_role.arn.clone())
                .source(Source::CodePipeline { buildspec: Some("buildspec.yml".into()) })
                .artifacts(Artifacts::CodePipeline)
                .environment(
                    Environment::builder()
                        .compute_type(ComputeType::Medium)
                        .image("aws/codebuild/standard:7.0")
                        .privileged_mode(true)
                        .variables(vec![
                            EnvVar::Plaintext { name: "REPOSITORY_PREFIX".into(), value: p.clone() },
                            EnvVar::Plaintext { name: "SERVICES".into(), value: args.services.join(" ") },
                        ])
                        .build(),
                )
                .build_timeout_minutes(30)
                .logs(Logs::builder().group_name(build_logs.id.clone()).build())
                .build(),
        );
        let pipeline_role = service_role(
            &c,
            "pipeline-role",
            &format!("{p}-pipeline"),
            "codepipeline.amazonaws.com",
            &[],
            vec![
                artifacts_access(),
                Statement::builder()
                    .actions(["codebuild:StartBuild", "codebuild:BatchGetBuilds"])
                    .resources(vec![build.arn.clone().into()])
                    .build(),
                Statement::builder()
                    .actions([
                        "ecs:DescribeServices",
                        "ecs:DescribeTaskDefinition",
                        "ecs:RegisterTaskDefinition",
                        "ecs:UpdateService",
                        "iam:PassRole",
                    ])
                    .resources(vec!["*".into()])
                    .build(),
            ],
        );
        let mut stages = vec![
            Stage::new("Source", vec![Action::s3_source(artifacts.id.clone(), "source/source.zip", "src")]),
            Stage::new("Build", vec![Action::codebuild(build.name.clone(), "src", vec!["imagedefs".into()])]),
        ];
        if let Some(cluster) = &args.cluster_name {
            let deploys = args
                .services
                .iter()
                .map(|svc| {
                    Action::ecs_deploy(
                        cluster.clone(),
                        svc.clone(),
                        "imagedefs",
                        format!("imagedefinitions-{svc}.json"),
                    )
                    .named(format!("Deploy-{svc}"))
                })
                .collect();
            stages.push(Stage::new("Deploy", deploys));
        }
        let pipeline = c.add(
            "pipeline",
            Pipeline::builder()
                .name(format!("{p}-release"))
                .role_arn(pipeline_role.arn.clone())
                .artifact_store(ArtifactStore::builder().bucket(artifacts.id.clone()).build())
                .stages(stages)
                .build(),
        );
        DeliveryPipeline { repository_urls, artifact_bucket: artifacts.id.clone(), pipeline: pipeline.id.clone() }
    }
}
