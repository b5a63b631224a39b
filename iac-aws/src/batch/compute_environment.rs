//! `ComputeEnvironment`: managed Fargate capacity for Batch jobs.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_batch::types::{
    CeState, CeStatus, CeType, ComputeEnvironmentDetail, ComputeResource, ComputeResourceUpdate, CrType,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use super::{check_name, has_identity, update_tags};
use crate::error::aws_err;
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{
    drop_computed_when_unset, list_expr, map, opt_expr, ordered_like, tags_value, tags_with_identity, unless_known,
};
use crate::util::{wait_for, In};

pub(crate) const TYPE: &str = "aws:batch:ComputeEnvironment";

/// Schema: the name and the kind of Fargate capacity are the identity; the
/// vCPU ceiling, network, service role, state and tags update in place.
pub static SCHEMA: Schema = Schema { replace_on: &["name", "computeType"], taggable: true, ..Schema::new(TYPE, "aws") };

/// On-demand or Spot Fargate capacity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FargateCapacity {
    /// Regular Fargate.
    #[default]
    Fargate,
    /// Fargate Spot: cheaper, and may be interrupted.
    FargateSpot,
}

impl FargateCapacity {
    fn as_str(self) -> &'static str {
        match self {
            FargateCapacity::Fargate => "FARGATE",
            FargateCapacity::FargateSpot => "FARGATE_SPOT",
        }
    }
}

/// A managed Fargate compute environment.
///
/// ```
/// use iac_aws::batch::{ComputeEnvironment, FargateCapacity};
/// let spot = ComputeEnvironment::builder()
///     .name("reports-spot")
///     .capacity(FargateCapacity::FargateSpot)
///     .max_vcpus(64)
///     .subnets(vec!["subnet-0a1b2c3d".into(), "subnet-4e5f6a7b".into()])
///     .security_group_ids(vec!["sg-0123456789abcdef0".into()])
///     .build();
/// # let _ = spot;
/// ```
#[derive(bon::Builder)]
pub struct ComputeEnvironment {
    /// The name (replaces when changed; a replacement needs a new name,
    /// since the old environment goes only after its queues let go of it).
    #[builder(into)]
    pub name: String,
    /// Fargate or Fargate Spot (replaces).
    #[builder(default)]
    pub capacity: FargateCapacity,
    /// The most vCPUs its jobs may use at once.
    pub max_vcpus: i32,
    /// The subnets jobs run in (1–16).
    pub subnets: Vec<Input<String>>,
    /// The security groups of the jobs' network interfaces (1–5).
    pub security_group_ids: Vec<Input<String>>,
    /// The role Batch calls other services with (else its service-linked
    /// role, `AWSServiceRoleForBatch`). AWS cannot switch an environment
    /// between the two.
    #[builder(into)]
    pub service_role: Option<Input<String>>,
    /// Whether it takes jobs.
    #[builder(default = true)]
    pub enabled: bool,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`ComputeEnvironment`].
pub struct ComputeEnvironmentOutputs {
    /// Its name (the resource's id).
    pub name: Output<String>,
    /// Its ARN, for a job queue's compute environment order.
    pub arn: Output<String>,
    /// The ECS cluster Batch runs its jobs in.
    pub ecs_cluster_arn: Output<String>,
}

impl Resource for ComputeEnvironment {
    type Outputs = ComputeEnvironmentOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("computeType", Value::from(self.capacity.as_str()).into()),
            ("maxVcpus", Value::from(i64::from(self.max_vcpus)).into()),
            ("subnets", list_expr(&self.subnets)),
            ("securityGroupIds", list_expr(&self.security_group_ids)),
            ("serviceRole", opt_expr(self.service_role.as_ref())),
            ("enabled", Value::from(self.enabled).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> ComputeEnvironmentOutputs {
        ComputeEnvironmentOutputs {
            name: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            ecs_cluster_arn: Output::from_ref(urn, "ecsClusterArn"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        check_name(c, "name", &self.name);
        c.check(self.max_vcpus >= 1, "maxVcpus", || format!("{}: at least 1 vCPU", self.max_vcpus));
        let n = self.subnets.len();
        c.check((1..=16).contains(&n), "subnets", || format!("{n} subnets: Fargate jobs need 1 to 16"));
        let n = self.security_group_ids.len();
        c.check((1..=5).contains(&n), "securityGroupIds", || format!("{n} security groups: Fargate jobs need 1 to 5"));
        if let Some(role) = self.service_role.as_ref().and_then(Input::value) {
            c.check(role.starts_with("arn:") && role.contains(":role/"), "serviceRole", || {
                format!("`{role}` is not an IAM role ARN")
            });
        }
    }
}

/// The environment's description; `None` when it does not exist or is
/// being deleted.
pub(crate) async fn describe(p: &AwsProvider, name: &str) -> Result<Option<ComputeEnvironmentDetail>, ProviderError> {
    let out = p
        .batch()
        .await
        .describe_compute_environments()
        .compute_environments(name)
        .send()
        .await
        .map_err(|e| aws_err("DescribeComputeEnvironments", e))?;
    Ok(out
        .compute_environments()
        .iter()
        .find(|e| e.compute_environment_name() == Some(name) || e.compute_environment_arn() == Some(name))
        .filter(|e| !matches!(e.status(), Some(CeStatus::Deleted | CeStatus::Deleting)))
        .cloned())
}

fn values(e: &ComputeEnvironmentDetail, recorded: &Value) -> (Value, Value) {
    let cr = e.compute_resources();
    let mut inputs = map([
        ("name", Value::from(e.compute_environment_name())),
        ("computeType", Value::from(cr.and_then(|c| c.r#type()).map(|t| t.as_str()))),
        ("maxVcpus", Value::from(cr.and_then(|c| c.maxv_cpus()).map(i64::from))),
        ("subnets", ordered_like(cr.map(|c| c.subnets().to_vec()).unwrap_or_default(), recorded.get("subnets"))),
        (
            "securityGroupIds",
            ordered_like(
                cr.map(|c| c.security_group_ids().to_vec()).unwrap_or_default(),
                recorded.get("securityGroupIds"),
            ),
        ),
        ("serviceRole", Value::from(e.service_role())),
        ("enabled", Value::from(e.state() == Some(&CeState::Enabled))),
        ("tags", tags_value(e.tags().into_iter().flatten().map(|(k, v)| (k.as_str(), v.as_str())))),
    ]);
    // Without a role of ours, Batch uses its service-linked role.
    drop_computed_when_unset(&mut inputs, recorded, &["serviceRole"]);
    let outputs =
        map([("arn", Value::from(e.compute_environment_arn())), ("ecsClusterArn", Value::from(e.ecs_cluster_arn()))]);
    (inputs, outputs)
}

/// Waits until the environment is `VALID` (created or updated); `INVALID`
/// is an error with AWS's reason.
async fn wait_valid(
    p: &AwsProvider,
    name: &str,
    timeout: Option<Duration>,
) -> Result<ComputeEnvironmentDetail, ProviderError> {
    wait_for(&format!("compute environment {name} valid"), timeout, Duration::from_secs(15 * 60), || async {
        let Some(e) = describe(p, name).await? else {
            return Err(ProviderError::retriable("DescribeComputeEnvironments", format!("{name} is not visible yet")));
        };
        match e.status() {
            Some(CeStatus::Valid) => Ok(Some(e)),
            Some(CeStatus::Invalid) => Err(ProviderError::fatal(
                "DescribeComputeEnvironments",
                format!("compute environment {name} is INVALID: {}", e.status_reason().unwrap_or("no reason given")),
            )),
            _ => Ok(None),
        }
    })
    .await
}

pub(crate) struct ComputeEnvironmentHandler;

#[async_trait]
impl Handler for ComputeEnvironmentHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateComputeEnvironment";
        let i = In::new(&req.inputs, op);
        let name = i.str("name")?;
        let resources = ComputeResource::builder()
            .r#type(CrType::from(i.str("computeType")?))
            .maxv_cpus(i.opt_i32("maxVcpus").unwrap_or(1))
            .set_subnets(Some(i.strs("subnets")))
            .set_security_group_ids(Some(i.strs("securityGroupIds")))
            .build();
        p.batch()
            .await
            .create_compute_environment()
            .compute_environment_name(name)
            .r#type(CeType::Managed)
            .state(if i.opt_bool("enabled").unwrap_or(true) { CeState::Enabled } else { CeState::Disabled })
            .compute_resources(resources)
            .set_service_role(i.opt_str("serviceRole").map(str::to_owned))
            .set_tags(Some(tags_with_identity(&req.inputs, &req.stack, &req.urn).into_iter().collect()))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        let e = wait_valid(p, name, req.timeout).await?;
        Ok(CreateResult { id: name.to_owned(), outputs: values(&e, &req.inputs).1 })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id).await?.map(|e| {
            let (inputs, outputs) = values(&e, &req.inputs);
            ReadResult { id: req.id, inputs, outputs }
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let op = "UpdateComputeEnvironment";
        let (old, new) = (In::new(&req.old_inputs, op), In::new(&req.inputs, op));
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if changed("serviceRole") && (old.opt_str("serviceRole").is_none() || new.opt_str("serviceRole").is_none()) {
            return Err(ProviderError::fatal(
                op,
                format!(
                    "compute environment {}: AWS cannot switch between Batch's service-linked role and a role of \
                     yours; give the environment a new name to replace it",
                    req.id
                ),
            ));
        }
        if ["maxVcpus", "subnets", "securityGroupIds", "serviceRole", "enabled"].iter().any(|k| changed(k)) {
            // Compute resources only when they changed: a state change alone
            // is no infrastructure update.
            let resources = ["maxVcpus", "subnets", "securityGroupIds"].iter().any(|k| changed(k)).then(|| {
                ComputeResourceUpdate::builder()
                    .maxv_cpus(new.opt_i32("maxVcpus").unwrap_or(1))
                    .set_subnets(Some(new.strs("subnets")))
                    .set_security_group_ids(Some(new.strs("securityGroupIds")))
                    .build()
            });
            p.batch()
                .await
                .update_compute_environment()
                .compute_environment(&req.id)
                .state(if new.opt_bool("enabled").unwrap_or(true) { CeState::Enabled } else { CeState::Disabled })
                .set_compute_resources(resources)
                .set_service_role(new.opt_str("serviceRole").filter(|_| changed("serviceRole")).map(str::to_owned))
                .send()
                .await
                .map_err(|e| aws_err(op, e))?;
            wait_valid(p, &req.id, req.timeout).await?;
        }
        if changed("tags") {
            let arn = In::new(&req.old_outputs, "TagResource").str("arn")?;
            update_tags(p, arn, &old.tags(), &new.tags()).await?;
        }
        let e = describe(p, &req.id)
            .await?
            .ok_or_else(|| ProviderError::fatal("DescribeComputeEnvironments", format!("{} is gone", req.id)))?;
        Ok(UpdateResult { outputs: values(&e, &req.inputs).1 })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let name = req.id.as_str();
        let Some(e) = describe(p, name).await? else { return Ok(()) };
        let batch = p.batch().await;
        // Batch deletes only a disabled environment.
        if e.state() != Some(&CeState::Disabled) {
            batch
                .update_compute_environment()
                .compute_environment(name)
                .state(CeState::Disabled)
                .send()
                .await
                .map_err(|e| aws_err("UpdateComputeEnvironment", e))?;
        }
        let present = wait_for(
            &format!("compute environment {name} disabled"),
            req.timeout,
            Duration::from_secs(15 * 60),
            || async {
                Ok(match describe(p, name).await? {
                    None => Some(false),
                    Some(e) if e.status() == Some(&CeStatus::Valid) && e.state() == Some(&CeState::Disabled) => {
                        Some(true)
                    }
                    Some(_) => None,
                })
            },
        )
        .await?;
        if !present {
            return Ok(());
        }
        match batch.delete_compute_environment().compute_environment(name).send().await {
            Ok(_) => {}
            // A queue that let go of it a moment ago still holds it.
            Err(e) if is_relationship(&e) => {
                let err = aws_err("DeleteComputeEnvironment", e);
                return Err(ProviderError::retriable(err.operation, err.message));
            }
            Err(e) => return Err(aws_err("DeleteComputeEnvironment", e)),
        }
        wait_for(&format!("compute environment {name} deleted"), req.timeout, Duration::from_secs(20 * 60), || async {
            Ok(describe(p, name).await?.is_none().then_some(()))
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let Some(e) = describe(p, name).await? else { return Ok(None) };
        if !has_identity(e.tags(), &req.stack, req.urn.as_str()) {
            return Ok(None);
        }
        let (inputs, outputs) = values(&e, &req.inputs);
        Ok(unless_known(&req, Some(ReadResult { id: name.to_owned(), inputs, outputs })))
    }
}

/// Whether Batch refused a delete because a job queue still uses the
/// environment.
fn is_relationship<E: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> bool {
    match e {
        aws_smithy_runtime_api::client::result::SdkError::ServiceError(s) => {
            s.err().message().is_some_and(|m| m.contains("JobQueue relationship"))
        }
        _ => false,
    }
}
