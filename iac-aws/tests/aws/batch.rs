//! Batch on Fargate: an on-demand compute environment (Batch's
//! service-linked role) and a Spot one (a role of ours), a job queue using
//! both, a job definition, and an EventBridge schedule submitting the job —
//! created, read back without drift, updated in place (a new job definition
//! revision, the old one deregistered; a tags-only change keeping the
//! revision), destroyed (each environment and queue disabled first, the
//! queue before its environments), checked with the SDK; bad inputs refused
//! at preview.

use iac_aws::batch::{ComputeEnvironment, FargateCapacity, JobDefinition, JobQueue};
use iac_aws::ec2::{SecurityGroup, Subnet, Vpc};
use iac_aws::eventbridge::{BatchJob, Rule, Target, Trigger};
use iac_aws::iam::Role;
use iac_aws::policy::{PolicyDocument, Principal, Statement};
use iac_core::ops::Session;
use iac_core::{Error, Stack, Urn};

use crate::support::*;

fn trust(service: &str) -> PolicyDocument {
    PolicyDocument::new().statement(
        Statement::builder().actions(["sts:AssumeRole"]).principals(vec![Principal::Service(service.into())]).build(),
    )
}

#[derive(Clone)]
struct Jobs {
    max_vcpus: i32,
    spot_enabled: bool,
    spot_first: bool,
    priority: i32,
    memory: u32,
    attempts: i32,
    team: &'static str,
    report_team: &'static str,
}

fn program(s: &Stack, x: &Jobs) {
    let vpc = s.add("vpc", Vpc::builder().cidr_block("10.40.0.0/16").build());
    let subnet = s.add(
        "subnet",
        Subnet::builder().vpc_id(vpc.id.clone()).cidr_block("10.40.1.0/24").availability_zone("us-east-1a").build(),
    );
    let sg = s.add(
        "sg",
        SecurityGroup::builder().name("batch-jobs").description("batch jobs").vpc_id(vpc.id.clone()).build(),
    );
    let service_role = s.add(
        "service-role",
        Role::builder().name("batch-service").assume_role_policy(trust("batch.amazonaws.com")).build(),
    );
    let execution_role = s.add(
        "execution-role",
        Role::builder().name("batch-execution").assume_role_policy(trust("ecs-tasks.amazonaws.com")).build(),
    );
    let on_demand = s.add(
        "on-demand",
        ComputeEnvironment::builder()
            .name("batch-on-demand")
            .max_vcpus(x.max_vcpus)
            .subnets(vec![subnet.id.as_string().into()])
            .security_group_ids(vec![sg.id.as_string().into()])
            .tags(iac_aws::tags([("Team", x.team)]))
            .build(),
    );
    let spot = s.add(
        "spot",
        ComputeEnvironment::builder()
            .name("batch-spot")
            .capacity(FargateCapacity::FargateSpot)
            .max_vcpus(16)
            .subnets(vec![subnet.id.as_string().into()])
            .security_group_ids(vec![sg.id.as_string().into()])
            .service_role(service_role.arn.clone())
            .enabled(x.spot_enabled)
            .build(),
    );
    let order = if x.spot_first {
        vec![spot.arn.clone().into(), on_demand.arn.clone().into()]
    } else {
        vec![on_demand.arn.clone().into(), spot.arn.clone().into()]
    };
    let queue = s.add(
        "queue",
        JobQueue::builder()
            .name("batch-nightly")
            .priority(x.priority)
            .compute_environments(order)
            .tags(iac_aws::tags([("Team", x.team)]))
            .build(),
    );
    let report = s.add(
        "report",
        JobDefinition::builder()
            .name("batch-report")
            .image("public.ecr.aws/docker/library/python:3.12")
            .vcpu(0.5)
            .memory(x.memory)
            .execution_role_arn(execution_role.arn.clone())
            .command(vec!["python".into(), "-c".into(), "print('report')".into()])
            .environment(iac_aws::tags([("MODE", "nightly")]))
            .retry_attempts(2)
            .timeout_seconds(600)
            .tags(iac_aws::tags([("Team", x.report_team)]))
            .build(),
    );
    // A nightly schedule submits the report job to the queue.
    let events_role = s.add(
        "events-role",
        Role::builder().name("batch-events-submit").assume_role_policy(trust("events.amazonaws.com")).build(),
    );
    let rule = s.add(
        "nightly",
        Rule::builder().name("batch-nightly").trigger(Trigger::Schedule("cron(0 2 * * ? *)".into())).build(),
    );
    s.add(
        "nightly-report",
        Target::builder()
            .rule(rule.name.clone())
            .target_id("report")
            .arn(queue.arn.clone())
            .role_arn(events_role.arn.clone())
            .batch(
                BatchJob::builder()
                    .job_definition(report.arn.clone())
                    .job_name("nightly-report")
                    .attempts(x.attempts)
                    .build(),
            )
            .build(),
    );
}

fn session(h: &Harness, x: &Jobs) -> Session {
    let x = x.clone();
    h.session("batch", move |s| program(s, &x))
}

fn output(a: &iac_core::ops::Applied, name: &str, key: &str) -> String {
    a.report.state.resources[&Urn::new(name)].outputs.get(key).as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn fargate_batch_lifecycle() {
    let h = Harness::new();
    let batch = h.aws.batch().await.clone();
    let eb = h.aws.eventbridge().await.clone();
    let v1 = Jobs {
        max_vcpus: 8,
        spot_enabled: true,
        spot_first: true,
        priority: 10,
        memory: 1024,
        attempts: 1,
        team: "reports",
        report_team: "reports",
    };

    let s = session(&h, &v1);
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "batch").await;
    let (od_arn, spot_arn) = (output(&a, "on-demand", "arn"), output(&a, "spot", "arn"));
    let envs = batch
        .describe_compute_environments()
        .compute_environments("batch-on-demand")
        .compute_environments("batch-spot")
        .send()
        .await
        .unwrap();
    let env = |name: &str| {
        envs.compute_environments().iter().find(|e| e.compute_environment_name() == Some(name)).unwrap().clone()
    };
    let od = env("batch-on-demand");
    assert_eq!(od.r#type().map(|t| t.as_str()), Some("MANAGED"));
    assert_eq!(od.state().map(|s| s.as_str()), Some("ENABLED"));
    let cr = od.compute_resources().unwrap();
    assert_eq!(cr.r#type().map(|t| t.as_str()), Some("FARGATE"));
    assert_eq!(cr.maxv_cpus(), Some(8));
    let subnet_id = a.report.state.resources[&Urn::new("subnet")].id.clone().unwrap();
    assert_eq!(cr.subnets(), [subnet_id]);
    assert_eq!(cr.security_group_ids().len(), 1);
    assert!(
        od.service_role().unwrap().ends_with(":role/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch"),
        "no role given: Batch's service-linked role, {:?}",
        od.service_role()
    );
    assert_eq!(od.tags().and_then(|t| t.get("Team")).map(String::as_str), Some("reports"));
    let spot = env("batch-spot");
    assert_eq!(spot.compute_resources().unwrap().r#type().map(|t| t.as_str()), Some("FARGATE_SPOT"));
    assert!(spot.service_role().unwrap().ends_with(":role/batch-service"));
    let q = batch.describe_job_queues().job_queues("batch-nightly").send().await.unwrap().job_queues()[0].clone();
    assert_eq!(q.priority(), Some(10));
    assert_eq!(q.state().map(|s| s.as_str()), Some("ENABLED"));
    let order: Vec<(i32, &str)> =
        q.compute_environment_order().iter().map(|o| (o.order().unwrap(), o.compute_environment().unwrap())).collect();
    assert_eq!(order, [(1, spot_arn.as_str()), (2, od_arn.as_str())], "Spot first");
    let jd_arn = output(&a, "report", "arn");
    assert!(jd_arn.ends_with(":job-definition/batch-report:1"), "{jd_arn}");
    let jd =
        batch.describe_job_definitions().job_definitions(&jd_arn).send().await.unwrap().job_definitions()[0].clone();
    assert_eq!(jd.status(), Some("ACTIVE"));
    assert_eq!(jd.r#type(), Some("container"));
    assert_eq!(jd.platform_capabilities().iter().map(|c| c.as_str()).collect::<Vec<_>>(), ["FARGATE"]);
    let c = jd.container_properties().unwrap();
    assert_eq!(c.image(), Some("public.ecr.aws/docker/library/python:3.12"));
    let req = |t: &str| {
        c.resource_requirements()
            .iter()
            .find(|r| r.r#type().map(|x| x.as_str()) == Some(t))
            .and_then(|r| r.value())
            .map(str::to_owned)
    };
    assert_eq!(req("VCPU").as_deref(), Some("0.5"));
    assert_eq!(req("MEMORY").as_deref(), Some("1024"));
    assert!(c.execution_role_arn().unwrap().ends_with(":role/batch-execution"));
    assert_eq!(c.command(), ["python", "-c", "print('report')"]);
    assert_eq!(c.environment()[0].name(), Some("MODE"));
    assert_eq!(jd.retry_strategy().and_then(|r| r.attempts()), Some(2));
    assert_eq!(jd.timeout().and_then(|t| t.attempt_duration_seconds()), Some(600));
    assert_eq!(jd.tags().and_then(|t| t.get("iac:name")).map(String::as_str), Some("report"));
    let t = eb.list_targets_by_rule().rule("batch-nightly").send().await.unwrap().targets()[0].clone();
    assert_eq!(t.arn(), output(&a, "queue", "arn"));
    assert!(t.role_arn().unwrap().ends_with(":role/batch-events-submit"));
    let bp = t.batch_parameters().unwrap();
    assert_eq!(bp.job_definition(), jd_arn, "the schedule submits the current revision");
    assert_eq!(bp.job_name(), "nightly-report");
    assert_eq!(bp.retry_strategy().map(|r| r.attempts()), Some(1));
    for name in ["on-demand", "spot", "queue", "report"] {
        assert_adoptable(&h, &a, "batch", name).await;
    }
    assert_no_drift(&s).await;

    // In place: vCPU ceiling, a disabled Spot environment, the queue's
    // priority and order, a new revision for more memory (and the target
    // follows it), tags.
    let v2 = Jobs {
        max_vcpus: 32,
        spot_enabled: false,
        spot_first: false,
        priority: 20,
        memory: 2048,
        attempts: 3,
        team: "analytics",
        report_team: "analytics",
    };
    let s = session(&h, &v2);
    let a = up(&s).await;
    assert_eq!(output(&a, "on-demand", "arn"), od_arn, "same environment");
    let envs = batch
        .describe_compute_environments()
        .compute_environments("batch-on-demand")
        .compute_environments("batch-spot")
        .send()
        .await
        .unwrap();
    let env = |name: &str| {
        envs.compute_environments().iter().find(|e| e.compute_environment_name() == Some(name)).unwrap().clone()
    };
    assert_eq!(env("batch-on-demand").compute_resources().unwrap().maxv_cpus(), Some(32));
    assert_eq!(env("batch-on-demand").tags().and_then(|t| t.get("Team")).map(String::as_str), Some("analytics"));
    assert_eq!(env("batch-spot").state().map(|s| s.as_str()), Some("DISABLED"));
    let q = batch.describe_job_queues().job_queues("batch-nightly").send().await.unwrap().job_queues()[0].clone();
    assert_eq!(q.priority(), Some(20));
    let order: Vec<(i32, &str)> =
        q.compute_environment_order().iter().map(|o| (o.order().unwrap(), o.compute_environment().unwrap())).collect();
    assert_eq!(order, [(1, od_arn.as_str()), (2, spot_arn.as_str())], "on-demand first now");
    assert_eq!(q.tags().and_then(|t| t.get("Team")).map(String::as_str), Some("analytics"));
    let jd2_arn = output(&a, "report", "arn");
    assert!(jd2_arn.ends_with(":job-definition/batch-report:2"), "a new revision: {jd2_arn}");
    let all = batch.describe_job_definitions().job_definition_name("batch-report").send().await.unwrap();
    let status = |arn: &str| {
        all.job_definitions()
            .iter()
            .find(|d| d.job_definition_arn() == Some(arn))
            .and_then(|d| d.status())
            .map(str::to_owned)
    };
    assert_eq!(status(&jd_arn).as_deref(), Some("INACTIVE"), "the old revision is deregistered");
    assert_eq!(status(&jd2_arn).as_deref(), Some("ACTIVE"));
    let jd2 = all.job_definitions().iter().find(|d| d.job_definition_arn() == Some(jd2_arn.as_str())).unwrap();
    assert!(jd2.container_properties().unwrap().resource_requirements().iter().any(|r| r.value() == Some("2048")));
    assert_eq!(jd2.tags().and_then(|t| t.get("Team")).map(String::as_str), Some("analytics"));
    let t = eb.list_targets_by_rule().rule("batch-nightly").send().await.unwrap().targets()[0].clone();
    assert_eq!(t.batch_parameters().unwrap().job_definition(), jd2_arn, "the target follows the new revision");
    assert_eq!(t.batch_parameters().unwrap().retry_strategy().map(|r| r.attempts()), Some(3));
    assert_no_drift(&s).await;

    // Tags alone keep the revision.
    let v3 = Jobs { report_team: "finance", ..v2 };
    let s = session(&h, &v3);
    let a = up(&s).await;
    assert_eq!(output(&a, "report", "arn"), jd2_arn, "same revision");
    let jd =
        batch.describe_job_definitions().job_definitions(&jd2_arn).send().await.unwrap().job_definitions()[0].clone();
    assert_eq!(jd.tags().and_then(|t| t.get("Team")).map(String::as_str), Some("finance"));
    assert_no_drift(&s).await;

    // The emulator, like AWS, deletes only disabled environments and queues,
    // and an environment only once no queue uses it: destroy must disable
    // and order them.
    let e = batch.delete_job_queue().job_queue("batch-nightly").send().await.unwrap_err();
    assert_eq!(iac_aws::error::code(&e), Some("ClientException"), "an enabled queue is not deleted");
    let e = batch.delete_compute_environment().compute_environment("batch-spot").send().await.unwrap_err();
    assert_eq!(iac_aws::error::code(&e), Some("ClientException"), "an environment a queue uses is not deleted");
    destroy(&s).await;
    let envs = batch
        .describe_compute_environments()
        .compute_environments("batch-on-demand")
        .compute_environments("batch-spot")
        .send()
        .await
        .unwrap();
    assert!(envs.compute_environments().is_empty(), "environments gone: {envs:?}");
    let qs = batch.describe_job_queues().job_queues("batch-nightly").send().await.unwrap();
    assert!(qs.job_queues().is_empty(), "queue gone");
    let active =
        batch.describe_job_definitions().job_definition_name("batch-report").status("ACTIVE").send().await.unwrap();
    assert!(active.job_definitions().is_empty(), "every revision deregistered");
    assert!(eb.describe_rule().name("batch-nightly").send().await.is_err(), "schedule gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_batch_inputs_are_refused_at_preview() {
    let h = Harness::new();
    let s = h.session("bad-batch", |s| {
        s.add(
            "env",
            ComputeEnvironment::builder()
                .name("-leading-hyphen")
                .max_vcpus(0)
                .subnets(vec![])
                .security_group_ids((0..6).map(|n| format!("sg-{n}").into()).collect())
                .service_role("batch-service")
                .build(),
        );
        s.add(
            "queue",
            JobQueue::builder()
                .name("nightly queue")
                .priority(1001)
                .compute_environments(vec![
                    "batch-on-demand".into(),
                    "arn:aws:batch:us-east-1:123456789012:compute-environment/a".into(),
                    "arn:aws:batch:us-east-1:123456789012:compute-environment/a".into(),
                    "arn:aws:batch:us-east-1:123456789012:compute-environment/b".into(),
                ])
                .build(),
        );
        s.add(
            "odd-vcpu",
            JobDefinition::builder()
                .name("odd")
                .image("busybox")
                .vcpu(0.75)
                .memory(1024)
                .execution_role_arn("arn:aws:iam::123456789012:role/exec")
                .build(),
        );
        s.add(
            "small-memory",
            JobDefinition::builder()
                .name("small")
                .image(" ")
                .vcpu(1.0)
                .memory(1024)
                .execution_role_arn("exec")
                .retry_attempts(11)
                .timeout_seconds(30)
                .environment(iac_aws::tags([("AWS_BATCH_JOB_ID", "x"), ("1BAD", "y")]))
                .log_configuration(
                    iac_aws::ecs::LogConfiguration::builder()
                        .group("logs for jobs")
                        .region("us-east-1")
                        .stream_prefix("a:b")
                        .build(),
                )
                .build(),
        );
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    for (resource, field, what) in [
        ("env", "name", "must start with a letter or digit"),
        ("env", "maxVcpus", "at least 1 vCPU"),
        ("env", "subnets", "0 subnets"),
        ("env", "securityGroupIds", "6 security groups"),
        ("env", "serviceRole", "not an IAM role ARN"),
        ("queue", "name", "letters, digits, hyphens and underscores"),
        ("queue", "priority", "between 0 and 1000"),
        ("queue", "computeEnvironments", "4 compute environments"),
        ("queue", "computeEnvironments", "`batch-on-demand` is not a compute environment ARN"),
        ("queue", "computeEnvironments", "is listed twice"),
        ("odd-vcpu", "vcpu", "0.75 is not a Fargate vCPU value"),
        ("small-memory", "memory", "1024 MiB does not go with 1 vCPU on Fargate: valid memory is 2048 to 8192 MiB"),
        ("small-memory", "image", "an image is required"),
        ("small-memory", "executionRoleArn", "not an IAM role ARN"),
        ("small-memory", "retryAttempts", "between 1 and 10"),
        ("small-memory", "timeoutSeconds", "at least 60"),
        ("small-memory", "environment", "reserved by Batch"),
        ("small-memory", "environment", "not a variable name"),
        ("small-memory", "logConfiguration", "`logs for jobs` is not a log group name"),
        ("small-memory", "logConfiguration", "a stream prefix is required, without `:`"),
    ] {
        assert!(
            diags.iter().any(|d| d.urn.as_str() == resource && d.field == field && d.message.contains(what)),
            "missing `{what}` on {resource}.{field}: {text}"
        );
    }
}

fn logged_program(s: &Stack, prefix: &'static str) {
    let execution_role = s.add(
        "execution-role",
        Role::builder().name("batch-logged-execution").assume_role_policy(trust("ecs-tasks.amazonaws.com")).build(),
    );
    let logs =
        s.add("logs", iac_aws::logs::LogGroup::builder().name("/aws/batch/convert").retention_in_days(7).build());
    s.add(
        "convert",
        JobDefinition::builder()
            .name("batch-convert")
            .image("public.ecr.aws/docker/library/python:3.12")
            .vcpu(1.0)
            .memory(2048)
            .execution_role_arn(execution_role.arn.clone())
            .log_configuration(
                iac_aws::ecs::LogConfiguration::builder()
                    .group(logs.id.clone())
                    .region("us-east-1")
                    .stream_prefix(prefix)
                    .build(),
            )
            .build(),
    );
}

/// A job definition sending its output to a log group of the stack: the
/// `awslogs` options read back without drift, a new stream prefix is a new
/// revision, and one without a log configuration still reads as none.
#[tokio::test(flavor = "multi_thread")]
async fn job_definition_logs_to_its_log_group() {
    let h = Harness::new();
    let batch = h.aws.batch().await.clone();
    let s = h.session("batch-logs", |s| logged_program(s, "convert"));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "batch-logs").await;
    let arn = output(&a, "convert", "arn");
    let jd = batch.describe_job_definitions().job_definitions(&arn).send().await.unwrap().job_definitions()[0].clone();
    let log = jd.container_properties().unwrap().log_configuration().expect("a log configuration");
    assert_eq!(log.log_driver().map(|d| d.as_str()), Some("awslogs"));
    let options = log.options().unwrap();
    assert_eq!(options["awslogs-group"], "/aws/batch/convert");
    assert_eq!(options["awslogs-region"], "us-east-1");
    assert_eq!(options["awslogs-stream-prefix"], "convert");
    assert_no_drift(&s).await;

    let s = h.session("batch-logs", |s| logged_program(s, "convert-v2"));
    let b = up(&s).await;
    let arn2 = output(&b, "convert", "arn");
    assert!(arn2.ends_with(":job-definition/batch-convert:2"), "a new revision: {arn2}");
    let jd = batch.describe_job_definitions().job_definitions(&arn2).send().await.unwrap().job_definitions()[0].clone();
    let options = jd.container_properties().unwrap().log_configuration().unwrap().options().unwrap().clone();
    assert_eq!(options["awslogs-stream-prefix"], "convert-v2");
    assert_no_drift(&s).await;

    destroy(&s).await;
    let active =
        batch.describe_job_definitions().job_definition_name("batch-convert").status("ACTIVE").send().await.unwrap();
    assert!(active.job_definitions().is_empty(), "every revision deregistered");
}
