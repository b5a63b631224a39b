//! `Subnet`: a range of a VPC in one availability zone.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, ResourceType, Subnet as SdkSubnet, SubnetState};
use iac_core::provider::*;
use iac_core::{props, Checks, Diagnostic, Expr, Graph, Input, Output, Resource, Schema, Urn, Value};
use ipnet::Ipv4Net;

use super::{identity_filters, tag_map, tag_spec, update_tags, SubnetId, VpcId, EC2_FILTER_VALUES};
use crate::batch_read::{by, read_by_ids, Chunk};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{drop_computed_when_unset, map, tags_value, tags_with_identity, wait_for, In};

pub(crate) const TYPE: &str = "aws:ec2:Subnet";

/// Schema: VPC, range and zone are fixed for a subnet's life.
pub static SCHEMA: Schema = Schema {
    replace_on: &["vpcId", "cidrBlock", "availabilityZone"],
    taggable: true,
    graph_check: Some(check_ranges),
    ..Schema::new(TYPE, "aws")
};

/// A subnet.
#[derive(bon::Builder)]
pub struct Subnet {
    /// The VPC.
    #[builder(into)]
    pub vpc_id: Input<VpcId>,
    /// The IPv4 range, inside the VPC's.
    #[builder(into)]
    pub cidr_block: String,
    /// The availability zone (`us-east-1a`).
    #[builder(into)]
    pub availability_zone: Option<String>,
    /// Give instances launched here a public IP.
    #[builder(default)]
    pub map_public_ip_on_launch: bool,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
    /// Accepts an Availability Zone the AWS catalog does not
    /// hold, saying why (the catalog is older than what EC2 offers
    /// now); see [`crate::catalog`]. Not sent to AWS.
    #[builder(into)]
    pub catalog_override: Option<crate::catalog::CatalogOverride>,
}

/// Outputs of a [`Subnet`].
pub struct SubnetOutputs {
    /// Its id.
    pub id: Output<SubnetId>,
    /// Its ARN.
    pub arn: Output<String>,
    /// Its zone.
    pub availability_zone: Output<String>,
}

impl Resource for Subnet {
    type Outputs = SubnetOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("vpcId", self.vpc_id.to_expr()),
            ("cidrBlock", Value::from(self.cidr_block.as_str()).into()),
            ("availabilityZone", Value::from(self.availability_zone.clone()).into()),
            ("mapPublicIpOnLaunch", Value::from(self.map_public_ip_on_launch).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> SubnetOutputs {
        SubnetOutputs {
            id: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            availability_zone: Output::from_ref(urn, "availabilityZone"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        if let Some(net) = crate::checks::cidr(c, "cidrBlock", &self.cidr_block) {
            c.check((16..=28).contains(&net.prefix_len()), "cidrBlock", || {
                format!("`{}`: a subnet's prefix must be between /16 and /28", self.cidr_block)
            });
        }
        let mut cat = crate::catalog::Scope::new(self.catalog_override.as_ref());
        if let Some(z) = &self.availability_zone {
            cat.report(c, "availabilityZone", crate::catalog::regions::check_zone(z));
        }
        cat.finish(c);
    }
}

/// Every subnet must lie inside its VPC, no two subnets of one VPC may
/// overlap, and a VPC's subnets are in zones of one region.
fn check_ranges(g: &Graph, out: &mut Vec<Diagnostic>) {
    check_regions(g, out);
    let mut by_vpc: BTreeMap<Urn, Vec<(Urn, Ipv4Net)>> = BTreeMap::new();
    for d in g.resources.values().filter(|d| d.type_token == TYPE) {
        let Some(net) = d.plain_input("cidrBlock").and_then(|v| v.as_str()).and_then(|s| s.parse::<Ipv4Net>().ok())
        else {
            continue;
        };
        let Some(Expr::Ref { urn: vpc, .. }) = d.input("vpcId") else { continue };
        if let Some(vpc_net) = g
            .resources
            .get(vpc)
            .and_then(|v| v.plain_input("cidrBlock"))
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse::<Ipv4Net>().ok())
        {
            if !vpc_net.contains(&net) {
                out.push(Diagnostic {
                    urn: d.urn.clone(),
                    type_token: TYPE.into(),
                    field: "cidrBlock".into(),
                    message: format!("`{net}` is outside its VPC `{vpc}` ({vpc_net})"),
                });
            }
        }
        by_vpc.entry(vpc.clone()).or_default().push((d.urn.clone(), net));
    }
    for subnets in by_vpc.values() {
        for (i, (a, na)) in subnets.iter().enumerate() {
            for (b, nb) in &subnets[i + 1..] {
                if na.contains(&nb.network()) || nb.contains(&na.network()) {
                    out.push(Diagnostic {
                        urn: b.clone(),
                        type_token: TYPE.into(),
                        field: "cidrBlock".into(),
                        message: format!("`{nb}` overlaps subnet `{a}` ({na}) in the same VPC"),
                    });
                }
            }
        }
    }
}

pub(crate) struct SubnetHandler;

async fn describe(p: &AwsProvider, id: &str) -> Result<Option<(Value, Value)>, ProviderError> {
    let out = match p.ec2().await.describe_subnets().subnet_ids(id).send().await {
        Ok(o) => o,
        Err(e) if is_code(&e, &["InvalidSubnetID.NotFound"]) => return Ok(None),
        Err(e) => return Err(aws_err("DescribeSubnets", e)),
    };
    Ok(out.subnets().first().map(values))
}

/// Many subnets in one call (the `subnet-id` filter answers only those
/// that exist, where asking by id fails on the first that does not).
async fn describe_many(p: &AwsProvider, ids: Vec<String>) -> Result<Chunk<SdkSubnet>, ProviderError> {
    let out = p
        .ec2()
        .await
        .describe_subnets()
        .filters(Filter::builder().name("subnet-id").set_values(Some(ids)).build())
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| aws_err("DescribeSubnets", e))?;
    Ok(by(out, |s| s.subnet_id()))
}

fn values(s: &SdkSubnet) -> (Value, Value) {
    let inputs = map([
        ("vpcId", Value::from(s.vpc_id())),
        ("cidrBlock", Value::from(s.cidr_block())),
        ("availabilityZone", Value::from(s.availability_zone())),
        ("mapPublicIpOnLaunch", Value::from(s.map_public_ip_on_launch().unwrap_or(false))),
        ("tags", tags_value(tag_map(s.tags()))),
    ]);
    let outputs = map([("arn", Value::from(s.subnet_arn())), ("availabilityZone", Value::from(s.availability_zone()))]);
    (inputs, outputs)
}

fn read_result(req: ReadRequest, (mut inputs, outputs): (Value, Value)) -> ReadResult {
    drop_computed_when_unset(&mut inputs, &req.inputs, &["availabilityZone"]);
    ReadResult { id: req.id, inputs, outputs }
}

async fn set_public_ip(p: &AwsProvider, id: &str, on: bool) -> Result<(), ProviderError> {
    p.ec2()
        .await
        .modify_subnet_attribute()
        .subnet_id(id)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(on).build())
        .send()
        .await
        .map_err(|e| aws_err("ModifySubnetAttribute", e))?;
    Ok(())
}

#[async_trait]
impl Handler for SubnetHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateSubnet");
        let ec2 = p.ec2().await;
        let out = ec2
            .create_subnet()
            .vpc_id(i.str("vpcId")?)
            .cidr_block(i.str("cidrBlock")?)
            .set_availability_zone(i.opt_str("availabilityZone").map(str::to_owned))
            .tag_specifications(tag_spec(ResourceType::Subnet, &tags_with_identity(&req.inputs, &req.stack, &req.urn)))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateSubnet", e))?;
        let id = out
            .subnet()
            .and_then(|s| s.subnet_id())
            .ok_or_else(|| ProviderError::fatal("CreateSubnet", "no subnet id returned"))?
            .to_owned();
        wait_for(&format!("subnet {id} available"), req.timeout, Duration::from_secs(300), || async {
            match ec2.describe_subnets().subnet_ids(&id).send().await {
                Ok(o) => Ok(o.subnets().first().filter(|s| s.state() == Some(&SubnetState::Available)).map(|_| ())),
                Err(e) if is_code(&e, &["InvalidSubnetID.NotFound"]) => Ok(None),
                Err(e) => Err(aws_err("DescribeSubnets", e)),
            }
        })
        .await?;
        if i.bool("mapPublicIpOnLaunch") {
            set_public_ip(p, &id, true).await?;
        }
        let (_, outputs) =
            describe(p, &id).await?.ok_or_else(|| ProviderError::fatal("DescribeSubnets", "subnet vanished"))?;
        Ok(CreateResult { id, outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id).await?.map(|d| read_result(req, d)))
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        read_by_ids(
            reqs,
            EC2_FILTER_VALUES,
            |ids| describe_many(p, ids),
            |req, s| read_result(req, values(s)),
            |req| self.read(p, req),
        )
        .await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let i = In::new(&req.inputs, "UpdateSubnet");
        if req.changed.iter().any(|k| k == "mapPublicIpOnLaunch") {
            set_public_ip(p, &req.id, i.bool("mapPublicIpOnLaunch")).await?;
        }
        if req.changed.iter().any(|k| k == "tags") {
            update_tags(p.ec2().await, &req.id, &In::new(&req.old_inputs, "").tags(), &i.tags()).await?;
        }
        let (_, outputs) =
            describe(p, &req.id).await?.ok_or_else(|| ProviderError::fatal("DescribeSubnets", "subnet is gone"))?;
        Ok(UpdateResult { outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.ec2().await.delete_subnet().subnet_id(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["InvalidSubnetID.NotFound"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteSubnet", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let out = p
            .ec2()
            .await
            .describe_subnets()
            .set_filters(Some(identity_filters(&req.stack, &req.urn)))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_err("DescribeSubnets", e))?;
        // The old copy of a replace carries the same tags: look past it.
        let Some(id) = req.first_unknown(out.iter().filter_map(|s| s.subnet_id())) else { return Ok(None) };
        Ok(describe(p, id).await?.map(|(inputs, outputs)| ReadResult { id: id.to_owned(), inputs, outputs }))
    }
}

/// A VPC lives in one region: its subnets' zones must all be of it.
fn check_regions(g: &Graph, out: &mut Vec<Diagnostic>) {
    let mut first: BTreeMap<Urn, (&str, &Urn)> = BTreeMap::new();
    for d in g.resources.values().filter(|d| d.type_token == TYPE) {
        let Some(Expr::Ref { urn: vpc, .. }) = d.input("vpcId") else { continue };
        let Some(zone) = d.plain_input("availabilityZone").and_then(|v| v.as_str()) else { continue };
        let Some(region) = crate::catalog::regions::region_of(zone) else { continue };
        match first.get(vpc) {
            Some((r, other)) if *r != region => out.push(Diagnostic {
                urn: d.urn.clone(),
                type_token: TYPE.into(),
                field: "availabilityZone".into(),
                message: format!(
                    "`{zone}` is in {region}, but `{other}` of the same VPC is in {r}; a VPC is in one region"
                ),
            }),
            Some(_) => {}
            None => {
                first.insert(vpc.clone(), (region, &d.urn));
            }
        }
    }
}
