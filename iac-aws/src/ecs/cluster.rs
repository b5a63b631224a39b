//! `Cluster`: an ECS cluster with Fargate capacity providers.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ecs::types::{ClusterField, ClusterSetting, ClusterSettingName};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Output, Resource, Schema, Urn, Value};

use super::{check_strategy, ecs_tags, has_identity, ordered_like, strategy_in, tag_pairs, update_tags};
use super::{CapacityProviderStrategy, ClusterArn};
use crate::batch_read::{read_by_ids, Chunk};
use crate::error::{aws_err, code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{map, tags_value, tags_with_identity, unless_known, wait_for, In};

pub(crate) const TYPE: &str = "aws:ecs:Cluster";

/// Schema: only the name is fixed; settings, capacity providers and tags
/// update in place (`UpdateCluster`, `PutClusterCapacityProviders`).
pub static SCHEMA: Schema = Schema { replace_on: &["name"], taggable: true, ..Schema::new(TYPE, "aws") };

/// An ECS cluster.
///
/// ```
/// use iac_aws::ecs::{CapacityProviderStrategy, Cluster};
/// let cluster = Cluster::builder()
///     .name("web")
///     .capacity_providers(vec!["FARGATE".into(), "FARGATE_SPOT".into()])
///     .default_capacity_provider_strategy(vec![
///         CapacityProviderStrategy::builder().capacity_provider("FARGATE").weight(1).base(1).build(),
///         CapacityProviderStrategy::builder().capacity_provider("FARGATE_SPOT").weight(3).build(),
///     ])
///     .container_insights(true)
///     .build();
/// # let _ = cluster;
/// ```
#[derive(bon::Builder)]
pub struct Cluster {
    /// The cluster's name (unique in the region; replaces the cluster when
    /// changed).
    #[builder(into)]
    pub name: String,
    /// Capacity providers the cluster may use (`FARGATE`, `FARGATE_SPOT`).
    #[builder(default)]
    pub capacity_providers: Vec<String>,
    /// How services that name no launch type or strategy spread their tasks.
    #[builder(default)]
    pub default_capacity_provider_strategy: Vec<CapacityProviderStrategy>,
    /// CloudWatch Container Insights.
    #[builder(default)]
    pub container_insights: bool,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`Cluster`].
pub struct ClusterOutputs {
    /// Its ARN (the resource's id).
    pub id: Output<ClusterArn>,
    /// Its ARN, as a string.
    pub arn: Output<String>,
    /// Its name.
    pub name: Output<String>,
}

impl Resource for Cluster {
    type Outputs = ClusterOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("capacityProviders", Value::from(self.capacity_providers.clone()).into()),
            ("defaultCapacityProviderStrategy", Value::from_serialize(&self.default_capacity_provider_strategy).into()),
            ("containerInsights", Value::from(insights(self.container_insights)).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> ClusterOutputs {
        ClusterOutputs {
            id: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            name: Output::from_ref(urn, "name"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        crate::checks::name(c, "name", &self.name, 255, name_char, "letters, digits, hyphens and underscores only");
        for (n, p) in self.capacity_providers.iter().enumerate() {
            super::check_provider_name(c, "capacityProviders", p);
            if self.capacity_providers[..n].contains(p) {
                c.fail("capacityProviders", format!("`{p}` is listed twice"));
            }
        }
        check_strategy(c, "defaultCapacityProviderStrategy", &self.default_capacity_provider_strategy);
        for s in &self.default_capacity_provider_strategy {
            c.check(self.capacity_providers.contains(&s.capacity_provider), "defaultCapacityProviderStrategy", || {
                format!(
                    "`{}` is not one of the cluster's capacity providers ({}); add it to capacityProviders",
                    s.capacity_provider,
                    if self.capacity_providers.is_empty() { "none".into() } else { self.capacity_providers.join(", ") }
                )
            });
        }
    }
}

pub(crate) fn name_char(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'
}

fn insights(on: bool) -> &'static str {
    if on {
        "enabled"
    } else {
        "disabled"
    }
}

pub(crate) struct ClusterHandler;

async fn describe(p: &AwsProvider, id: &str) -> Result<Option<aws_sdk_ecs::types::Cluster>, ProviderError> {
    let out = p
        .ecs()
        .await
        .describe_clusters()
        .clusters(id)
        .include(ClusterField::Tags)
        .include(ClusterField::Settings)
        .send()
        .await;
    match out {
        Ok(o) => Ok(o.clusters().first().filter(|c| c.status() != Some("INACTIVE")).cloned()),
        Err(e) if code(&e) == Some("ClusterNotFoundException") => Ok(None),
        Err(e) => Err(aws_err("DescribeClusters", e)),
    }
}

/// Up to a hundred clusters in one call (`DescribeClusters`' limit); a
/// missing one is reported as a failure, not an error. Each is indexed by
/// its ARN and its name (an id is either).
async fn describe_many(p: &AwsProvider, ids: Vec<String>) -> Result<Chunk<aws_sdk_ecs::types::Cluster>, ProviderError> {
    let out = p
        .ecs()
        .await
        .describe_clusters()
        .set_clusters(Some(ids))
        .include(ClusterField::Tags)
        .include(ClusterField::Settings)
        .send()
        .await;
    let out = match out {
        Ok(o) => o,
        // AWS reports a missing cluster as a failure; should it refuse the
        // call instead, the chunk is read one by one.
        Err(e) if code(&e) == Some("ClusterNotFoundException") => return Ok(Chunk::one_is_gone()),
        Err(e) => return Err(aws_err("DescribeClusters", e)),
    };
    let mut found = HashMap::new();
    for c in out.clusters().iter().filter(|c| c.status() != Some("INACTIVE")) {
        for key in [c.cluster_arn(), c.cluster_name()].into_iter().flatten() {
            found.insert(key.to_owned(), c.clone());
        }
    }
    Ok(Chunk::Found(found))
}

fn cluster_read(req: ReadRequest, c: &aws_sdk_ecs::types::Cluster) -> ReadResult {
    let (inputs, outputs) = values(c, &req.inputs);
    ReadResult { id: req.id, inputs, outputs }
}

fn values(c: &aws_sdk_ecs::types::Cluster, recorded: &Value) -> (Value, Value) {
    let insights = c
        .settings()
        .iter()
        .find(|s| s.name() == Some(&ClusterSettingName::ContainerInsights))
        .and_then(|s| s.value())
        .unwrap_or("disabled");
    let inputs = map([
        ("name", Value::from(c.cluster_name())),
        ("capacityProviders", ordered_like(c.capacity_providers().to_vec(), recorded.get("capacityProviders"))),
        (
            "defaultCapacityProviderStrategy",
            Value::List(
                c.default_capacity_provider_strategy().iter().map(CapacityProviderStrategy::from_sdk).collect(),
            ),
        ),
        ("containerInsights", Value::from(insights)),
        ("tags", tags_value(tag_pairs(c.tags()))),
    ]);
    let outputs = map([("arn", Value::from(c.cluster_arn())), ("name", Value::from(c.cluster_name()))]);
    (inputs, outputs)
}

/// Waits until the cluster is ACTIVE and its capacity providers attached.
async fn wait_ready(
    p: &AwsProvider,
    id: &str,
    timeout: Option<Duration>,
) -> Result<aws_sdk_ecs::types::Cluster, ProviderError> {
    wait_for(&format!("ECS cluster {id} active"), timeout, Duration::from_secs(600), || async {
        let Some(c) = describe(p, id).await? else { return Ok(None) };
        if c.status() == Some("FAILED") || c.attachments_status() == Some("UPDATE_FAILED") {
            return Err(ProviderError::fatal(
                "CreateCluster",
                format!(
                    "ECS cluster {id} failed (status {}, capacity provider attachments {})",
                    c.status().unwrap_or("?"),
                    c.attachments_status().unwrap_or("?")
                ),
            ));
        }
        let attaching = c.attachments_status() == Some("UPDATE_IN_PROGRESS");
        Ok((c.status() == Some("ACTIVE") && !attaching).then_some(c))
    })
    .await
}

fn strategy_sdk(
    items: &[CapacityProviderStrategy],
) -> Result<Vec<aws_sdk_ecs::types::CapacityProviderStrategyItem>, ProviderError> {
    items.iter().map(CapacityProviderStrategy::to_sdk).collect()
}

#[async_trait]
impl Handler for ClusterHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateCluster");
        let name = i.str("name")?;
        let strategy = strategy_in(i.json("defaultCapacityProviderStrategy"))?;
        let insights = i.opt_str("containerInsights").unwrap_or("disabled");
        let out = p
            .ecs()
            .await
            .create_cluster()
            .cluster_name(name)
            .set_capacity_providers(Some(i.strs("capacityProviders")).filter(|l| !l.is_empty()))
            .set_default_capacity_provider_strategy(Some(strategy_sdk(&strategy)?).filter(|l| !l.is_empty()))
            .settings(ClusterSetting::builder().name(ClusterSettingName::ContainerInsights).value(insights).build())
            .set_tags(Some(ecs_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateCluster", e))?;
        let arn = out
            .cluster()
            .and_then(|c| c.cluster_arn())
            .ok_or_else(|| ProviderError::fatal("CreateCluster", "no cluster ARN returned"))?
            .to_owned();
        let c = wait_ready(p, &arn, req.timeout).await?;
        Ok(CreateResult { id: arn, outputs: values(&c, &req.inputs).1 })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id).await?.map(|c| cluster_read(req, &c)))
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        read_by_ids(reqs, 100, |ids| describe_many(p, ids), cluster_read, |req| self.read(p, req)).await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let i = In::new(&req.inputs, "UpdateCluster");
        let ecs = p.ecs().await;
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if changed("containerInsights") {
            // UpdateCluster takes the same settings as UpdateClusterSettings.
            ecs.update_cluster()
                .cluster(&req.id)
                .settings(
                    ClusterSetting::builder()
                        .name(ClusterSettingName::ContainerInsights)
                        .value(i.opt_str("containerInsights").unwrap_or("disabled"))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| aws_err("UpdateCluster", e))?;
        }
        if changed("capacityProviders") || changed("defaultCapacityProviderStrategy") {
            // Both lists are replaced whole, so both are always sent.
            let strategy = strategy_in(i.json("defaultCapacityProviderStrategy"))?;
            ecs.put_cluster_capacity_providers()
                .cluster(&req.id)
                .set_capacity_providers(Some(i.strs("capacityProviders")))
                .set_default_capacity_provider_strategy(Some(strategy_sdk(&strategy)?))
                .send()
                .await
                .map_err(|e| aws_err("PutClusterCapacityProviders", e))?;
        }
        if changed("tags") {
            update_tags(ecs, &req.id, &In::new(&req.old_inputs, "").tags(), &i.tags()).await?;
        }
        let c = wait_ready(p, &req.id, req.timeout).await?;
        Ok(UpdateResult { outputs: values(&c, &req.inputs).1 })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.ecs().await.delete_cluster().cluster(&req.id).send().await {
            Ok(_) => {}
            Err(e) if code(&e) == Some("ClusterNotFoundException") => return Ok(()),
            // Tasks of a just-deleted service may still be stopping.
            Err(e)
                if matches!(code(&e), Some("ClusterContainsServicesException" | "ClusterContainsTasksException")) =>
            {
                let mut err = aws_err("DeleteCluster", e);
                err.kind = ErrorKind::Retriable;
                return Err(err);
            }
            Err(e) => return Err(aws_err("DeleteCluster", e)),
        }
        wait_for(&format!("ECS cluster {} deleted", req.id), req.timeout, Duration::from_secs(600), || async {
            Ok(describe(p, &req.id).await?.is_none().then_some(()))
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // Cluster names are unique per region: look the name up and adopt it
        // only if it carries this resource's identity tags.
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let Some(c) = describe(p, name).await? else { return Ok(None) };
        if !has_identity(c.tags(), &req.stack, req.urn.as_str()) {
            return Ok(None);
        }
        let Some(arn) = c.cluster_arn().map(str::to_owned) else { return Ok(None) };
        let (inputs, outputs) = values(&c, &req.inputs);
        Ok(unless_known(&req, Some(ReadResult { id: arn, inputs, outputs })))
    }
}
