//! `ElasticIp` and `NatGateway`.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{ConnectivityType, DomainType, Filter, NatGatewayState, ResourceType};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use super::{
    identity_filters, tag_map, tag_spec, update_tags, AllocationId, NatGatewayId, SubnetId, EC2_FILTER_VALUES,
};
use crate::batch_read::{by, read_by_ids, Chunk};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{map, tags_value, tags_with_identity, wait_for, In};

pub(crate) const EIP: &str = "aws:ec2:ElasticIp";
pub(crate) const NAT: &str = "aws:ec2:NatGateway";

/// Schema of [`ElasticIp`].
pub static EIP_SCHEMA: Schema = Schema { taggable: true, ..Schema::new(EIP, "aws") };
/// Schema of [`NatGateway`]: subnet, address and connectivity are fixed.
pub static NAT_SCHEMA: Schema =
    Schema { replace_on: &["subnetId", "allocationId", "connectivityType"], taggable: true, ..Schema::new(NAT, "aws") };

/// An Elastic IP address in the VPC domain.
#[derive(bon::Builder)]
pub struct ElasticIp {
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of an [`ElasticIp`].
pub struct ElasticIpOutputs {
    /// Its allocation id (the resource's id).
    pub id: Output<AllocationId>,
    /// The address.
    pub public_ip: Output<String>,
}

impl Resource for ElasticIp {
    type Outputs = ElasticIpOutputs;
    fn schema() -> &'static Schema {
        &EIP_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([("domain", Value::from("vpc").into()), ("tags", Value::from(self.tags.clone()).into())])
    }
    fn outputs(urn: &Urn) -> ElasticIpOutputs {
        ElasticIpOutputs { id: Output::from_ref(urn, "id"), public_ip: Output::from_ref(urn, "publicIp") }
    }
}

/// A NAT gateway: public (with an Elastic IP, in a public subnet) or private.
#[derive(bon::Builder)]
pub struct NatGateway {
    /// The subnet it lives in.
    #[builder(into)]
    pub subnet_id: Input<SubnetId>,
    /// The Elastic IP of a public gateway.
    #[builder(into)]
    pub allocation_id: Option<Input<AllocationId>>,
    /// Public (default) or private connectivity.
    #[builder(default = true)]
    pub public: bool,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`NatGateway`].
pub struct NatGatewayOutputs {
    /// Its id.
    pub id: Output<NatGatewayId>,
    /// Its public address (public gateways).
    pub public_ip: Output<String>,
}

impl Resource for NatGateway {
    type Outputs = NatGatewayOutputs;
    fn schema() -> &'static Schema {
        &NAT_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("subnetId", self.subnet_id.to_expr()),
            ("allocationId", self.allocation_id.as_ref().map_or(Expr::Value(Value::Null), Input::to_expr)),
            ("connectivityType", Value::from(if self.public { "public" } else { "private" }).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> NatGatewayOutputs {
        NatGatewayOutputs { id: Output::from_ref(urn, "id"), public_ip: Output::from_ref(urn, "publicIp") }
    }
    fn validate(&self, c: &mut Checks) {
        c.check(self.public == self.allocation_id.is_some(), "allocationId", || {
            "a public NAT gateway needs an Elastic IP (allocationId); a private one takes none".into()
        });
    }
}

pub(crate) struct ElasticIpHandler;

async fn describe_eip(p: &AwsProvider, id: &str) -> Result<Option<(Value, Value)>, ProviderError> {
    let out = match p.ec2().await.describe_addresses().allocation_ids(id).send().await {
        Ok(o) => o,
        Err(e) if is_code(&e, &["InvalidAllocationID.NotFound"]) => return Ok(None),
        Err(e) => return Err(aws_err("DescribeAddresses", e)),
    };
    Ok(out.addresses().first().map(eip_values))
}

fn eip_values(a: &aws_sdk_ec2::types::Address) -> (Value, Value) {
    (
        map([("domain", Value::from("vpc")), ("tags", tags_value(tag_map(a.tags())))]),
        map([("publicIp", Value::from(a.public_ip()))]),
    )
}

/// Many addresses in one call (the `allocation-id` filter answers only
/// those that exist, where asking by id fails on the first that does not).
async fn describe_eips(p: &AwsProvider, ids: Vec<String>) -> Result<Chunk<aws_sdk_ec2::types::Address>, ProviderError> {
    let out = p
        .ec2()
        .await
        .describe_addresses()
        .filters(Filter::builder().name("allocation-id").set_values(Some(ids)).build())
        .send()
        .await
        .map_err(|e| aws_err("DescribeAddresses", e))?;
    Ok(by(out.addresses().iter().cloned(), |a| a.allocation_id()))
}

#[async_trait]
impl Handler for ElasticIpHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let out = p
            .ec2()
            .await
            .allocate_address()
            .domain(DomainType::Vpc)
            .tag_specifications(tag_spec(
                ResourceType::ElasticIp,
                &tags_with_identity(&req.inputs, &req.stack, &req.urn),
            ))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("AllocateAddress", e))?;
        let id = out.allocation_id().ok_or_else(|| ProviderError::fatal("AllocateAddress", "no allocation id"))?;
        Ok(CreateResult { id: id.to_owned(), outputs: map([("publicIp", Value::from(out.public_ip()))]) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe_eip(p, &req.id).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        read_by_ids(
            reqs,
            EC2_FILTER_VALUES,
            |ids| describe_eips(p, ids),
            |req, a| {
                let (inputs, outputs) = eip_values(a);
                ReadResult { id: req.id, inputs, outputs }
            },
            |req| self.read(p, req),
        )
        .await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        update_tags(p.ec2().await, &req.id, &In::new(&req.old_inputs, "").tags(), &In::new(&req.inputs, "").tags())
            .await?;
        Ok(UpdateResult { outputs: req.old_outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.ec2().await.release_address().allocation_id(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["InvalidAllocationID.NotFound"]) => Ok(()),
            Err(e) => Err(aws_err("ReleaseAddress", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let out = p
            .ec2()
            .await
            .describe_addresses()
            .set_filters(Some(identity_filters(&req.stack, &req.urn)))
            .send()
            .await
            .map_err(|e| aws_err("DescribeAddresses", e))?;
        // The old copy of a replace carries the same tags: look past it.
        let Some(id) = req.first_unknown(out.addresses().iter().filter_map(|a| a.allocation_id())) else {
            return Ok(None);
        };
        Ok(describe_eip(p, id).await?.map(|(inputs, outputs)| ReadResult { id: id.to_owned(), inputs, outputs }))
    }
}

pub(crate) struct NatGatewayHandler;

async fn nat(p: &AwsProvider, id: &str) -> Result<Option<aws_sdk_ec2::types::NatGateway>, ProviderError> {
    match p.ec2().await.describe_nat_gateways().nat_gateway_ids(id).send().await {
        Ok(o) => Ok(o.nat_gateways().first().filter(|n| live(n)).cloned()),
        Err(e) if is_code(&e, &["NatGatewayNotFound", "InvalidNatGatewayID.NotFound"]) => Ok(None),
        Err(e) => Err(aws_err("DescribeNatGateways", e)),
    }
}

/// A deleted gateway stays listed for a while: it is gone.
fn live(n: &aws_sdk_ec2::types::NatGateway) -> bool {
    n.state() != Some(&NatGatewayState::Deleted)
}

/// Many gateways in one call (the `nat-gateway-id` filter answers only
/// those that exist, where asking by id fails on the first that does not).
async fn describe_nats(
    p: &AwsProvider,
    ids: Vec<String>,
) -> Result<Chunk<aws_sdk_ec2::types::NatGateway>, ProviderError> {
    let out = p
        .ec2()
        .await
        .describe_nat_gateways()
        .filter(Filter::builder().name("nat-gateway-id").set_values(Some(ids)).build())
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| aws_err("DescribeNatGateways", e))?;
    Ok(by(out.into_iter().filter(live), |n| n.nat_gateway_id()))
}

fn nat_read(req: ReadRequest, n: &aws_sdk_ec2::types::NatGateway) -> ReadResult {
    let (inputs, outputs) = nat_values(n);
    ReadResult { id: req.id, inputs, outputs }
}

fn nat_values(n: &aws_sdk_ec2::types::NatGateway) -> (Value, Value) {
    let addr = n.nat_gateway_addresses().first();
    let public = n.connectivity_type() != Some(&ConnectivityType::Private);
    (
        map([
            ("subnetId", Value::from(n.subnet_id())),
            ("allocationId", Value::from(addr.and_then(|a| a.allocation_id()).filter(|_| public))),
            ("connectivityType", Value::from(if public { "public" } else { "private" })),
            ("tags", tags_value(tag_map(n.tags()))),
        ]),
        map([("publicIp", Value::from(addr.and_then(|a| a.public_ip())))]),
    )
}

#[async_trait]
impl Handler for NatGatewayHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateNatGateway");
        let connectivity = if i.opt_str("connectivityType") == Some("private") {
            ConnectivityType::Private
        } else {
            ConnectivityType::Public
        };
        let out = p
            .ec2()
            .await
            .create_nat_gateway()
            .subnet_id(i.str("subnetId")?)
            .set_allocation_id(i.opt_str("allocationId").map(str::to_owned))
            .connectivity_type(connectivity)
            .client_token(&req.idempotency_token)
            .tag_specifications(tag_spec(
                ResourceType::Natgateway,
                &tags_with_identity(&req.inputs, &req.stack, &req.urn),
            ))
            .send()
            .await
            .map_err(|e| aws_err("CreateNatGateway", e))?;
        let id = out
            .nat_gateway()
            .and_then(|n| n.nat_gateway_id())
            .ok_or_else(|| ProviderError::fatal("CreateNatGateway", "no NAT gateway id returned"))?
            .to_owned();
        // NAT gateways take minutes to become available on AWS.
        let ready = wait_for(&format!("NAT gateway {id} available"), req.timeout, Duration::from_secs(900), || async {
            match nat(p, &id).await? {
                Some(n) if n.state() == Some(&NatGatewayState::Available) => Ok(Some(n)),
                Some(n) if n.state() == Some(&NatGatewayState::Failed) => Err(ProviderError::fatal(
                    "CreateNatGateway",
                    format!("NAT gateway {id} failed: {}", n.failure_message().unwrap_or("no reason given")),
                )),
                _ => Ok(None),
            }
        })
        .await?;
        Ok(CreateResult { id, outputs: nat_values(&ready).1 })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(nat(p, &req.id).await?.map(|n| nat_read(req, &n)))
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        read_by_ids(reqs, EC2_FILTER_VALUES, |ids| describe_nats(p, ids), nat_read, |req| self.read(p, req)).await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        update_tags(p.ec2().await, &req.id, &In::new(&req.old_inputs, "").tags(), &In::new(&req.inputs, "").tags())
            .await?;
        Ok(UpdateResult { outputs: req.old_outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.ec2().await.delete_nat_gateway().nat_gateway_id(&req.id).send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, &["NatGatewayNotFound", "InvalidNatGatewayID.NotFound"]) => return Ok(()),
            Err(e) => return Err(aws_err("DeleteNatGateway", e)),
        }
        // Its Elastic IP stays associated until the gateway is gone.
        wait_for(&format!("NAT gateway {} deleted", req.id), req.timeout, Duration::from_secs(900), || async {
            Ok(nat(p, &req.id).await?.is_none().then_some(()))
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let out = p
            .ec2()
            .await
            .describe_nat_gateways()
            .set_filter(Some(identity_filters(&req.stack, &req.urn)))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_err("DescribeNatGateways", e))?;
        // The old copy of a replace carries the same tags: look past it.
        let found = out.iter().find(|n| live(n) && n.nat_gateway_id().is_some_and(|id| !req.is_known(id)));
        Ok(found.and_then(|n| {
            let (inputs, outputs) = nat_values(n);
            Some(ReadResult { id: n.nat_gateway_id()?.to_owned(), inputs, outputs })
        }))
    }
}
