//! `InternetGateway`: a VPC's route to the internet, created and attached.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, ResourceType};
use iac_core::provider::*;
use iac_core::{props, Expr, Input, Output, Resource, Schema, Urn, Value};

use super::{identity_filters, tag_map, tag_spec, update_tags, InternetGatewayId, VpcId, EC2_FILTER_VALUES};
use crate::batch_read::{by, by_id, read_batched, Chunk};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{map, tags_value, tags_with_identity, In};

pub(crate) const TYPE: &str = "aws:ec2:InternetGateway";

/// Schema: moving to another VPC detaches and attaches in place.
pub static SCHEMA: Schema = Schema { taggable: true, ..Schema::new(TYPE, "aws") };

/// An internet gateway attached to a VPC.
#[derive(bon::Builder)]
pub struct InternetGateway {
    /// The VPC it is attached to.
    #[builder(into)]
    pub vpc_id: Input<VpcId>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of an [`InternetGateway`].
pub struct InternetGatewayOutputs {
    /// Its id.
    pub id: Output<InternetGatewayId>,
    /// Its ARN.
    pub arn: Output<String>,
}

impl Resource for InternetGateway {
    type Outputs = InternetGatewayOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([("vpcId", self.vpc_id.to_expr()), ("tags", Value::from(self.tags.clone()).into())])
    }
    fn outputs(urn: &Urn) -> InternetGatewayOutputs {
        InternetGatewayOutputs { id: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
}

pub(crate) struct InternetGatewayHandler;

const NOT_FOUND: &[&str] = &["InvalidInternetGatewayID.NotFound"];

async fn describe(p: &AwsProvider, id: &str) -> Result<Option<(Value, Value)>, ProviderError> {
    let out = match p.ec2().await.describe_internet_gateways().internet_gateway_ids(id).send().await {
        Ok(o) => o,
        Err(e) if is_code(&e, NOT_FOUND) => return Ok(None),
        Err(e) => return Err(aws_err("DescribeInternetGateways", e)),
    };
    let Some(igw) = out.internet_gateways().first() else { return Ok(None) };
    Ok(Some(values(p, igw).await))
}

async fn values(p: &AwsProvider, igw: &aws_sdk_ec2::types::InternetGateway) -> (Value, Value) {
    let id = igw.internet_gateway_id().unwrap_or_default();
    let vpc = igw.attachments().iter().find_map(|a| a.vpc_id());
    let region = p.region().await.unwrap_or_default();
    let inputs = map([("vpcId", Value::from(vpc)), ("tags", tags_value(tag_map(igw.tags())))]);
    let arn = format!("arn:aws:ec2:{region}:{}:internet-gateway/{id}", igw.owner_id().unwrap_or_default());
    (inputs, map([("arn", Value::from(arn))]))
}

/// Many gateways in one call (the `internet-gateway-id` filter answers only
/// those that exist, where asking by id fails on the first that does not).
async fn describe_many(
    p: &AwsProvider,
    ids: Vec<String>,
) -> Result<Chunk<aws_sdk_ec2::types::InternetGateway>, ProviderError> {
    let out = p
        .ec2()
        .await
        .describe_internet_gateways()
        .filters(Filter::builder().name("internet-gateway-id").set_values(Some(ids)).build())
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| aws_err("DescribeInternetGateways", e))?;
    Ok(by(out, |g| g.internet_gateway_id()))
}

/// Attaches the gateway to `vpc`; attached there already (a repeat of an
/// attach whose response was lost) is success.
async fn attach(p: &AwsProvider, id: &str, vpc: &str) -> Result<(), ProviderError> {
    match p.ec2().await.attach_internet_gateway().internet_gateway_id(id).vpc_id(vpc).send().await {
        Ok(_) => Ok(()),
        Err(e) if is_code(&e, &["Resource.AlreadyAssociated"]) => {
            let attached = describe(p, id).await?.is_some_and(|(inputs, _)| inputs.get("vpcId").as_str() == Some(vpc));
            if attached {
                Ok(())
            } else {
                Err(aws_err("AttachInternetGateway", e))
            }
        }
        Err(e) => Err(aws_err("AttachInternetGateway", e)),
    }
}

async fn detach(p: &AwsProvider, id: &str, vpc: &str) -> Result<(), ProviderError> {
    match p.ec2().await.detach_internet_gateway().internet_gateway_id(id).vpc_id(vpc).send().await {
        Ok(_) => Ok(()),
        Err(e) if is_code(&e, &["Gateway.NotAttached", "InvalidInternetGatewayID.NotFound"]) => Ok(()),
        Err(e) => Err(aws_err("DetachInternetGateway", e)),
    }
}

#[async_trait]
impl Handler for InternetGatewayHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateInternetGateway");
        let out = p
            .ec2()
            .await
            .create_internet_gateway()
            .tag_specifications(tag_spec(
                ResourceType::InternetGateway,
                &tags_with_identity(&req.inputs, &req.stack, &req.urn),
            ))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateInternetGateway", e))?;
        let id = out
            .internet_gateway()
            .and_then(|g| g.internet_gateway_id())
            .ok_or_else(|| ProviderError::fatal("CreateInternetGateway", "no gateway id returned"))?
            .to_owned();
        attach(p, &id, i.str("vpcId")?).await?;
        let (_, outputs) = describe(p, &id)
            .await?
            .ok_or_else(|| ProviderError::fatal("DescribeInternetGateways", "gateway vanished"))?;
        Ok(CreateResult { id, outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        read_batched(
            reqs,
            EC2_FILTER_VALUES,
            by_id,
            |_, ids| describe_many(p, ids),
            |req, g| async move {
                let (inputs, outputs) = values(p, &g).await;
                Ok(Some(ReadResult { id: req.id, inputs, outputs }))
            },
            |req| self.read(p, req),
        )
        .await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) =
            (In::new(&req.old_inputs, "UpdateInternetGateway"), In::new(&req.inputs, "UpdateInternetGateway"));
        if req.changed.iter().any(|k| k == "vpcId") {
            if let Some(v) = old.opt_str("vpcId") {
                detach(p, &req.id, v).await?;
            }
            attach(p, &req.id, new.str("vpcId")?).await?;
        }
        if req.changed.iter().any(|k| k == "tags") {
            update_tags(p.ec2().await, &req.id, &old.tags(), &new.tags()).await?;
        }
        let (_, outputs) = describe(p, &req.id)
            .await?
            .ok_or_else(|| ProviderError::fatal("DescribeInternetGateways", "gateway is gone"))?;
        Ok(UpdateResult { outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        if let Some(v) = In::new(&req.inputs, "DeleteInternetGateway").opt_str("vpcId") {
            detach(p, &req.id, v).await?;
        }
        match p.ec2().await.delete_internet_gateway().internet_gateway_id(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, NOT_FOUND) => Ok(()),
            Err(e) => Err(aws_err("DeleteInternetGateway", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let out = p
            .ec2()
            .await
            .describe_internet_gateways()
            .set_filters(Some(identity_filters(&req.stack, &req.urn)))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_err("DescribeInternetGateways", e))?;
        // The old copy of a replace carries the same tags: look past it.
        let Some(id) = req.first_unknown(out.iter().filter_map(|g| g.internet_gateway_id())) else { return Ok(None) };
        Ok(describe(p, id).await?.map(|(inputs, outputs)| ReadResult { id: id.to_owned(), inputs, outputs }))
    }
}
