//! `SubnetGroup`: the subnets a cache's nodes may be placed in.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_elasticache::types::CacheSubnetGroup;
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use super::{check_name, ec_tags, has_identity, tags_of, update_tags};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{list_expr, map, ordered_like, tags_value, tags_with_identity, unless_known, In};

pub(crate) const TYPE: &str = "aws:elasticache:SubnetGroup";

/// Schema: the name is the identity; description and subnets change in
/// place (`ModifyCacheSubnetGroup`).
pub static SCHEMA: Schema =
    Schema { replace_on: &["name"], delete_before_replace: true, taggable: true, ..Schema::new(TYPE, "aws") };

/// A cache subnet group.
///
/// ```
/// use iac_aws::elasticache::SubnetGroup;
/// let subnets = SubnetGroup::builder().name("cache").subnet_ids(["subnet-0aaa", "subnet-0bbb"]).build();
/// # let _ = subnets;
/// ```
#[derive(bon::Builder)]
pub struct SubnetGroup {
    /// Its name (replaces when changed): up to 255 lowercase letters, digits
    /// and hyphens.
    #[builder(into)]
    pub name: String,
    /// What it is for.
    #[builder(into, default = "Managed by iac")]
    pub description: String,
    /// Subnets (ids or references) of one VPC.
    #[builder(with = |ids: impl IntoIterator<Item = impl Into<Input<String>>>| ids.into_iter().map(Into::into).collect())]
    pub subnet_ids: Vec<Input<String>>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`SubnetGroup`].
pub struct SubnetGroupOutputs {
    /// Its name (the resource's id).
    pub id: Output<String>,
    /// Its name, for replication groups.
    pub name: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
    /// The VPC of its subnets.
    pub vpc_id: Output<String>,
}

impl Resource for SubnetGroup {
    type Outputs = SubnetGroupOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.to_ascii_lowercase()).into()),
            ("description", Value::from(self.description.as_str()).into()),
            ("subnetIds", list_expr(&self.subnet_ids)),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> SubnetGroupOutputs {
        SubnetGroupOutputs {
            id: Output::from_ref(urn, "id"),
            name: Output::from_ref(urn, "name"),
            arn: Output::from_ref(urn, "arn"),
            vpc_id: Output::from_ref(urn, "vpcId"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        check_name(c, "name", &self.name, 255, false);
        c.check(!self.description.is_empty() && self.description.len() <= 255, "description", || {
            "a description of 1 to 255 characters is required".into()
        });
        c.check(!self.subnet_ids.is_empty(), "subnetIds", || "a subnet group needs at least one subnet".into());
        let plain: Vec<&String> = self.subnet_ids.iter().filter_map(Input::value).collect();
        for (n, s) in plain.iter().enumerate() {
            c.check(!plain[..n].contains(s), "subnetIds", || format!("`{s}` is listed twice"));
        }
    }
}

// ---- handler ----------------------------------------------------------

const GONE: &[&str] = &["CacheSubnetGroupNotFoundFault"];

async fn get(p: &AwsProvider, name: &str) -> Result<Option<CacheSubnetGroup>, ProviderError> {
    match p.elasticache().await.describe_cache_subnet_groups().cache_subnet_group_name(name).send().await {
        Ok(o) => Ok(o.cache_subnet_groups().first().cloned()),
        Err(e) if is_code(&e, GONE) => Ok(None),
        Err(e) => Err(aws_err("DescribeCacheSubnetGroups", e)),
    }
}

fn outputs(g: &CacheSubnetGroup) -> Value {
    map([
        ("name", Value::from(g.cache_subnet_group_name())),
        ("arn", Value::from(g.arn())),
        ("vpcId", Value::from(g.vpc_id())),
    ])
}

async fn values(p: &AwsProvider, g: &CacheSubnetGroup, recorded: &Value) -> Result<Value, ProviderError> {
    let tags = tags_of(p, g.arn().unwrap_or_default()).await?;
    let subnets: Vec<String> = g.subnets().iter().filter_map(|s| s.subnet_identifier()).map(str::to_owned).collect();
    Ok(map([
        ("name", Value::from(g.cache_subnet_group_name())),
        ("description", Value::from(g.cache_subnet_group_description())),
        ("subnetIds", ordered_like(subnets, recorded.get("subnetIds"))),
        ("tags", tags_value(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))),
    ]))
}

pub(crate) struct SubnetGroupHandler;

#[async_trait]
impl Handler for SubnetGroupHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateCacheSubnetGroup";
        let i = In::new(&req.inputs, op);
        let name = i.str("name")?;
        let out = p
            .elasticache()
            .await
            .create_cache_subnet_group()
            .cache_subnet_group_name(name)
            .cache_subnet_group_description(i.opt_str("description").unwrap_or("Managed by iac"))
            .set_subnet_ids(Some(i.strs("subnetIds")))
            .set_tags(Some(ec_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        let g = out.cache_subnet_group().ok_or_else(|| ProviderError::fatal(op, "no subnet group returned"))?;
        Ok(CreateResult { id: name.to_owned(), outputs: outputs(g) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(g) = get(p, &req.id).await? else { return Ok(None) };
        Ok(Some(ReadResult { inputs: values(p, &g, &req.inputs).await?, outputs: outputs(&g), id: req.id }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let op = "ModifyCacheSubnetGroup";
        let i = In::new(&req.inputs, op);
        let ec = p.elasticache().await;
        if req.changed.iter().any(|k| k == "description" || k == "subnetIds") {
            ec.modify_cache_subnet_group()
                .cache_subnet_group_name(&req.id)
                .cache_subnet_group_description(i.opt_str("description").unwrap_or("Managed by iac"))
                .set_subnet_ids(Some(i.strs("subnetIds")))
                .send()
                .await
                .map_err(|e| aws_err(op, e))?;
        }
        let g = get(p, &req.id).await?.ok_or_else(|| ProviderError::fatal(op, "the subnet group is gone"))?;
        if req.changed.iter().any(|k| k == "tags") {
            let arn = g.arn().unwrap_or_default();
            update_tags(ec, arn, &In::new(&req.old_inputs, "").tags(), &i.tags()).await?;
        }
        Ok(UpdateResult { outputs: outputs(&g) })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let op = "DeleteCacheSubnetGroup";
        match p.elasticache().await.delete_cache_subnet_group().cache_subnet_group_name(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, GONE) => Ok(()),
            // A replication group being deleted holds it until its nodes are gone.
            Err(e) if is_code(&e, &["CacheSubnetGroupInUse"]) => {
                Err(ProviderError { kind: ErrorKind::Retriable, ..aws_err(op, e) })
            }
            Err(e) => Err(aws_err(op, e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let Some(g) = get(p, name).await? else { return Ok(None) };
        let tags = tags_of(p, g.arn().unwrap_or_default()).await?;
        if !has_identity(&tags, &req.stack, req.urn.as_str()) {
            return Ok(None);
        }
        let found = ReadResult { inputs: values(p, &g, &req.inputs).await?, outputs: outputs(&g), id: name.to_owned() };
        Ok(unless_known(&req, Some(found)))
    }
}
