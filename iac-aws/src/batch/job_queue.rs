//! `JobQueue`: where Batch jobs wait for a compute environment.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_batch::types::{ComputeEnvironmentOrder, JobQueueDetail, JqState, JqStatus};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use super::{check_name, has_identity, update_tags};
use crate::error::aws_err;
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{list_expr, map, tags_value, tags_with_identity, unless_known, wait_for, In};

pub(crate) const TYPE: &str = "aws:batch:JobQueue";

/// Schema: the name is the identity; priority, compute environments, state
/// and tags update in place.
pub static SCHEMA: Schema =
    Schema { replace_on: &["name"], delete_before_replace: true, taggable: true, ..Schema::new(TYPE, "aws") };

/// A job queue.
///
/// ```
/// use iac_aws::batch::JobQueue;
/// let nightly = JobQueue::builder()
///     .name("nightly")
///     .priority(10)
///     .compute_environments(vec![
///         "arn:aws:batch:us-east-1:123456789012:compute-environment/reports-spot".into(),
///         "arn:aws:batch:us-east-1:123456789012:compute-environment/reports".into(),
///     ])
///     .build();
/// # let _ = nightly;
/// ```
#[derive(bon::Builder)]
pub struct JobQueue {
    /// The name (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// Queues with a higher priority (0–1000) are scheduled first on a
    /// shared compute environment.
    #[builder(default = 1)]
    pub priority: i32,
    /// The compute environments' ARNs (1–3), tried in this order.
    pub compute_environments: Vec<Input<String>>,
    /// Whether it takes jobs.
    #[builder(default = true)]
    pub enabled: bool,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`JobQueue`].
pub struct JobQueueOutputs {
    /// Its name (the resource's id).
    pub name: Output<String>,
    /// Its ARN, for EventBridge targets and Step Functions tasks.
    pub arn: Output<String>,
}

impl Resource for JobQueue {
    type Outputs = JobQueueOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("priority", Value::from(i64::from(self.priority)).into()),
            ("computeEnvironments", list_expr(&self.compute_environments)),
            ("enabled", Value::from(self.enabled).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> JobQueueOutputs {
        JobQueueOutputs { name: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
    fn validate(&self, c: &mut Checks) {
        check_name(c, "name", &self.name);
        c.check((0..=1000).contains(&self.priority), "priority", || format!("{}: between 0 and 1000", self.priority));
        let n = self.compute_environments.len();
        c.check((1..=3).contains(&n), "computeEnvironments", || {
            format!("{n} compute environments: a queue takes 1 to 3")
        });
        for (i, ce) in self.compute_environments.iter().enumerate() {
            if let Some(arn) = ce.value() {
                c.check(
                    arn.starts_with("arn:") && arn.contains(":compute-environment/"),
                    "computeEnvironments",
                    || format!("`{arn}` is not a compute environment ARN (give the environment's `arn` output)"),
                );
                if self.compute_environments[..i].iter().any(|o| o.value() == Some(arn)) {
                    c.fail("computeEnvironments", format!("`{arn}` is listed twice"));
                }
            }
        }
    }
}

/// The queue's description; `None` when it does not exist or is being
/// deleted.
async fn describe(p: &AwsProvider, name: &str) -> Result<Option<JobQueueDetail>, ProviderError> {
    let out = p
        .batch()
        .await
        .describe_job_queues()
        .job_queues(name)
        .send()
        .await
        .map_err(|e| aws_err("DescribeJobQueues", e))?;
    Ok(out
        .job_queues()
        .iter()
        .find(|q| q.job_queue_name() == Some(name) || q.job_queue_arn() == Some(name))
        .filter(|q| !matches!(q.status(), Some(JqStatus::Deleted | JqStatus::Deleting)))
        .cloned())
}

fn values(q: &JobQueueDetail) -> (Value, Value) {
    let mut order: Vec<(i32, String)> = q
        .compute_environment_order()
        .iter()
        .filter_map(|o| Some((o.order().unwrap_or(0), o.compute_environment()?.to_owned())))
        .collect();
    order.sort();
    let inputs = map([
        ("name", Value::from(q.job_queue_name())),
        ("priority", Value::from(q.priority().map(i64::from))),
        ("computeEnvironments", Value::from(order.into_iter().map(|(_, ce)| ce).collect::<Vec<_>>())),
        ("enabled", Value::from(q.state() == Some(&JqState::Enabled))),
        ("tags", tags_value(q.tags().into_iter().flatten().map(|(k, v)| (k.as_str(), v.as_str())))),
    ]);
    (inputs, map([("arn", Value::from(q.job_queue_arn()))]))
}

fn order(i: &In<'_>) -> Vec<ComputeEnvironmentOrder> {
    i.strs("computeEnvironments")
        .into_iter()
        .enumerate()
        .map(|(n, ce)| ComputeEnvironmentOrder::builder().order(n as i32 + 1).compute_environment(ce).build())
        .collect()
}

fn state(i: &In<'_>) -> JqState {
    if i.opt_bool("enabled").unwrap_or(true) {
        JqState::Enabled
    } else {
        JqState::Disabled
    }
}

/// Waits until the queue is `VALID`; `INVALID` is an error with AWS's
/// reason.
async fn wait_valid(p: &AwsProvider, name: &str, timeout: Option<Duration>) -> Result<JobQueueDetail, ProviderError> {
    wait_for(&format!("job queue {name} valid"), timeout, Duration::from_secs(10 * 60), || async {
        let Some(q) = describe(p, name).await? else {
            return Err(ProviderError::retriable("DescribeJobQueues", format!("{name} is not visible yet")));
        };
        match q.status() {
            Some(JqStatus::Valid) => Ok(Some(q)),
            Some(JqStatus::Invalid) => Err(ProviderError::fatal(
                "DescribeJobQueues",
                format!("job queue {name} is INVALID: {}", q.status_reason().unwrap_or("no reason given")),
            )),
            _ => Ok(None),
        }
    })
    .await
}

pub(crate) struct JobQueueHandler;

#[async_trait]
impl Handler for JobQueueHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateJobQueue";
        let i = In::new(&req.inputs, op);
        let name = i.str("name")?;
        p.batch()
            .await
            .create_job_queue()
            .job_queue_name(name)
            .priority(i.opt_i32("priority").unwrap_or(1))
            .state(state(&i))
            .set_compute_environment_order(Some(order(&i)))
            .set_tags(Some(tags_with_identity(&req.inputs, &req.stack, &req.urn).into_iter().collect()))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        let q = wait_valid(p, name, req.timeout).await?;
        Ok(CreateResult { id: name.to_owned(), outputs: values(&q).1 })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id).await?.map(|q| {
            let (inputs, outputs) = values(&q);
            ReadResult { id: req.id, inputs, outputs }
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let op = "UpdateJobQueue";
        let (old, new) = (In::new(&req.old_inputs, op), In::new(&req.inputs, op));
        if req.changed.iter().any(|k| k != "tags") {
            p.batch()
                .await
                .update_job_queue()
                .job_queue(&req.id)
                .priority(new.opt_i32("priority").unwrap_or(1))
                .state(state(&new))
                .set_compute_environment_order(Some(order(&new)))
                .send()
                .await
                .map_err(|e| aws_err(op, e))?;
            wait_valid(p, &req.id, req.timeout).await?;
        }
        if req.changed.iter().any(|k| k == "tags") {
            let arn = In::new(&req.old_outputs, "TagResource").str("arn")?;
            update_tags(p, arn, &old.tags(), &new.tags()).await?;
        }
        Ok(UpdateResult { outputs: req.old_outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let name = req.id.as_str();
        let Some(q) = describe(p, name).await? else { return Ok(()) };
        let batch = p.batch().await;
        // Batch deletes only a disabled queue.
        if q.state() != Some(&JqState::Disabled) {
            batch
                .update_job_queue()
                .job_queue(name)
                .state(JqState::Disabled)
                .send()
                .await
                .map_err(|e| aws_err("UpdateJobQueue", e))?;
        }
        let present =
            wait_for(&format!("job queue {name} disabled"), req.timeout, Duration::from_secs(10 * 60), || async {
                Ok(match describe(p, name).await? {
                    None => Some(false),
                    Some(q) if q.status() == Some(&JqStatus::Valid) && q.state() == Some(&JqState::Disabled) => {
                        Some(true)
                    }
                    Some(_) => None,
                })
            })
            .await?;
        if !present {
            return Ok(());
        }
        batch.delete_job_queue().job_queue(name).send().await.map_err(|e| aws_err("DeleteJobQueue", e))?;
        // Its compute environments can go only once it is gone.
        wait_for(&format!("job queue {name} deleted"), req.timeout, Duration::from_secs(20 * 60), || async {
            Ok(describe(p, name).await?.is_none().then_some(()))
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let Some(q) = describe(p, name).await? else { return Ok(None) };
        if !has_identity(q.tags(), &req.stack, req.urn.as_str()) {
            return Ok(None);
        }
        let (inputs, outputs) = values(&q);
        Ok(unless_known(&req, Some(ReadResult { id: name.to_owned(), inputs, outputs })))
    }
}
