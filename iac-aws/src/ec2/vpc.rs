//! `Vpc`: a virtual network.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, ResourceType, Vpc as SdkVpc, VpcState};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Output, Resource, Schema, Urn, Value};

use super::{identity_filters, tag_map, tag_spec, update_tags, VpcId, EC2_FILTER_VALUES};
use crate::batch_read::{by_id, read_batched, Chunk};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{map, tags_value, tags_with_identity, wait_for, In};

pub(crate) const TYPE: &str = "aws:ec2:Vpc";

/// Schema: a new CIDR block means a new VPC.
pub static SCHEMA: Schema = Schema { replace_on: &["cidrBlock"], taggable: true, ..Schema::new(TYPE, "aws") };

/// A VPC.
///
/// ```
/// let vpc = iac_aws::ec2::Vpc::builder().cidr_block("10.0.0.0/16").enable_dns_hostnames(true).build();
/// # let _ = vpc;
/// ```
#[derive(bon::Builder)]
pub struct Vpc {
    /// The IPv4 range (replaces the VPC when changed).
    #[builder(into)]
    pub cidr_block: String,
    /// DNS resolution inside the VPC.
    #[builder(default = true)]
    pub enable_dns_support: bool,
    /// Public DNS host names for instances.
    #[builder(default)]
    pub enable_dns_hostnames: bool,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`Vpc`].
pub struct VpcOutputs {
    /// Its id.
    pub id: Output<VpcId>,
    /// Its ARN.
    pub arn: Output<String>,
    /// Its CIDR block.
    pub cidr_block: Output<String>,
    /// The security group AWS created with it.
    pub default_security_group_id: Output<String>,
    /// The route table AWS created with it.
    pub main_route_table_id: Output<String>,
}

impl Resource for Vpc {
    type Outputs = VpcOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("cidrBlock", Value::from(self.cidr_block.as_str()).into()),
            ("enableDnsSupport", Value::from(self.enable_dns_support).into()),
            ("enableDnsHostnames", Value::from(self.enable_dns_hostnames).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> VpcOutputs {
        VpcOutputs {
            id: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            cidr_block: Output::from_ref(urn, "cidrBlock"),
            default_security_group_id: Output::from_ref(urn, "defaultSecurityGroupId"),
            main_route_table_id: Output::from_ref(urn, "mainRouteTableId"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        if let Some(net) = crate::checks::cidr(c, "cidrBlock", &self.cidr_block) {
            c.check((16..=28).contains(&net.prefix_len()), "cidrBlock", || {
                format!("`{}`: a VPC's prefix must be between /16 and /28", self.cidr_block)
            });
        }
    }
}

pub(crate) struct VpcHandler;

async fn describe(p: &AwsProvider, id: &str, inputs_tags_only: bool) -> Result<Option<(Value, Value)>, ProviderError> {
    let out = match p.ec2().await.describe_vpcs().vpc_ids(id).send().await {
        Ok(o) => o,
        Err(e) if is_code(&e, &["InvalidVpcID.NotFound"]) => return Ok(None),
        Err(e) => return Err(aws_err("DescribeVpcs", e)),
    };
    let Some(vpc) = out.vpcs().first() else { return Ok(None) };
    let dns = if inputs_tags_only { (None, None) } else { dns(p, id).await? };
    let defaults = defaults(p, vec![id.to_owned()]).await?;
    Ok(Some(values(p, vpc, dns, &defaults).await))
}

/// Whether DNS resolution and DNS host names are on: one call each, for
/// AWS answers one attribute per call.
async fn dns(p: &AwsProvider, id: &str) -> Result<(Option<bool>, Option<bool>), ProviderError> {
    let ec2 = p.ec2().await;
    let attr = |a| async move {
        ec2.describe_vpc_attribute()
            .vpc_id(id)
            .attribute(a)
            .send()
            .await
            .map_err(|e| aws_err("DescribeVpcAttribute", e))
    };
    let s = attr(aws_sdk_ec2::types::VpcAttributeName::EnableDnsSupport).await?;
    let h = attr(aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames).await?;
    Ok((s.enable_dns_support().and_then(|v| v.value()), h.enable_dns_hostnames().and_then(|v| v.value())))
}

/// The default security group and main route table of each of `vpcs` (by
/// VPC id), two calls however many VPCs.
struct Defaults {
    groups: HashMap<String, String>,
    tables: HashMap<String, String>,
}

async fn defaults(p: &AwsProvider, vpcs: Vec<String>) -> Result<Defaults, ProviderError> {
    // A refresh read its VPCs' groups and tables ahead: if they show each
    // VPC's default group and main table, they answer.
    if let Some(ahead) = p.vpcs_read_ahead() {
        let mine = |vpc: Option<&str>| vpc.is_some_and(|v| vpcs.iter().any(|w| w == v));
        let groups: Vec<_> = ahead
            .groups
            .iter()
            .filter(|g| mine(g.vpc_id()) && g.group_name() == Some("default"))
            .map(|g| (g.vpc_id(), g.group_id()))
            .collect();
        let tables: Vec<_> = ahead
            .tables
            .iter()
            .filter(|t| mine(t.vpc_id()) && t.associations().iter().any(|a| a.main() == Some(true)))
            .map(|t| (t.vpc_id(), t.route_table_id()))
            .collect();
        let d = Defaults { groups: by_vpc_index(groups), tables: by_vpc_index(tables) };
        if d.groups.len() == vpcs.len() && d.tables.len() == vpcs.len() {
            return Ok(d);
        }
    }
    let ec2 = p.ec2().await;
    let by_vpc = || Filter::builder().name("vpc-id").set_values(Some(vpcs.clone())).build();
    let groups: Vec<_> = ec2
        .describe_security_groups()
        .filters(by_vpc())
        .filters(Filter::builder().name("group-name").values("default").build())
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| aws_err("DescribeSecurityGroups", e))?;
    let tables: Vec<_> = ec2
        .describe_route_tables()
        .filters(by_vpc())
        .filters(Filter::builder().name("association.main").values("true").build())
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| aws_err("DescribeRouteTables", e))?;
    Ok(Defaults {
        groups: by_vpc_index(groups.iter().map(|g| (g.vpc_id(), g.group_id())).collect()),
        tables: by_vpc_index(tables.iter().map(|t| (t.vpc_id(), t.route_table_id())).collect()),
    })
}

/// (VPC id, item id) pairs as a map from each VPC to its first item.
fn by_vpc_index(pairs: Vec<(Option<&str>, Option<&str>)>) -> HashMap<String, String> {
    let mut m = HashMap::new();
    for (vpc, id) in pairs {
        if let (Some(vpc), Some(id)) = (vpc, id) {
            m.entry(vpc.to_owned()).or_insert_with(|| id.to_owned());
        }
    }
    m
}

async fn values(p: &AwsProvider, vpc: &SdkVpc, dns: (Option<bool>, Option<bool>), d: &Defaults) -> (Value, Value) {
    let id = vpc.vpc_id().unwrap_or_default();
    let inputs = map([
        ("cidrBlock", Value::from(vpc.cidr_block())),
        ("enableDnsSupport", Value::from(dns.0)),
        ("enableDnsHostnames", Value::from(dns.1)),
        ("tags", tags_value(tag_map(vpc.tags()))),
    ]);
    let region = p.region().await.unwrap_or_default();
    let outputs = map([
        ("arn", Value::from(format!("arn:aws:ec2:{region}:{}:vpc/{id}", vpc.owner_id().unwrap_or_default()))),
        ("cidrBlock", Value::from(vpc.cidr_block())),
        ("defaultSecurityGroupId", Value::from(d.groups.get(id).cloned())),
        ("mainRouteTableId", Value::from(d.tables.get(id).cloned())),
    ]);
    (inputs, outputs)
}

/// Many VPCs: one call for the VPCs (the `vpc-id` filter answers only those
/// that exist), two for their defaults, two per VPC for its DNS settings.
async fn describe_many(p: &AwsProvider, ids: Vec<String>) -> Result<Chunk<(Value, Value)>, ProviderError> {
    let vpcs: Vec<SdkVpc> = p
        .ec2()
        .await
        .describe_vpcs()
        .filters(Filter::builder().name("vpc-id").set_values(Some(ids)).build())
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| aws_err("DescribeVpcs", e))?;
    let found: Vec<String> = vpcs.iter().filter_map(|v| v.vpc_id().map(str::to_owned)).collect();
    let defaults = &defaults(p, found).await?;
    let described = futures::future::try_join_all(vpcs.iter().map(|vpc| async move {
        let id = vpc.vpc_id().unwrap_or_default();
        let dns = dns(p, id).await?;
        Ok::<_, ProviderError>((id.to_owned(), values(p, vpc, dns, defaults).await))
    }))
    .await?;
    Ok(Chunk::Found(described.into_iter().collect()))
}

async fn set_dns(p: &AwsProvider, id: &str, i: In<'_>) -> Result<(), ProviderError> {
    let ec2 = p.ec2().await;
    // One attribute per call: the API refuses both at once.
    let support = i.opt_bool("enableDnsSupport").unwrap_or(true);
    ec2.modify_vpc_attribute()
        .vpc_id(id)
        .enable_dns_support(AttributeBooleanValue::builder().value(support).build())
        .send()
        .await
        .map_err(|e| aws_err("ModifyVpcAttribute", e))?;
    ec2.modify_vpc_attribute()
        .vpc_id(id)
        .enable_dns_hostnames(AttributeBooleanValue::builder().value(i.bool("enableDnsHostnames")).build())
        .send()
        .await
        .map_err(|e| aws_err("ModifyVpcAttribute", e))?;
    Ok(())
}

#[async_trait]
impl Handler for VpcHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateVpc");
        let ec2 = p.ec2().await;
        let out = ec2
            .create_vpc()
            .cidr_block(i.str("cidrBlock")?)
            .tag_specifications(tag_spec(ResourceType::Vpc, &tags_with_identity(&req.inputs, &req.stack, &req.urn)))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateVpc", e))?;
        let id = out
            .vpc()
            .and_then(|v| v.vpc_id())
            .ok_or_else(|| ProviderError::fatal("CreateVpc", "no VPC id returned"))?
            .to_owned();
        wait_for(&format!("VPC {id} available"), req.timeout, Duration::from_secs(300), || async {
            let d = ec2.describe_vpcs().vpc_ids(&id).send().await;
            match d {
                Ok(o) => Ok(o.vpcs().first().filter(|v| v.state() == Some(&VpcState::Available)).map(|_| ())),
                Err(e) if is_code(&e, &["InvalidVpcID.NotFound"]) => Ok(None),
                Err(e) => Err(aws_err("DescribeVpcs", e)),
            }
        })
        .await?;
        set_dns(p, &id, i).await?;
        let (_, outputs) = describe(p, &id, true)
            .await?
            .ok_or_else(|| ProviderError::fatal("DescribeVpcs", "VPC vanished after create"))?;
        Ok(CreateResult { id, outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id, false).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
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
            |req, (inputs, outputs)| async move { Ok(Some(ReadResult { id: req.id, inputs, outputs })) },
            |req| self.read(p, req),
        )
        .await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let i = In::new(&req.inputs, "UpdateVpc");
        if req.changed.iter().any(|k| k.starts_with("enableDns")) {
            set_dns(p, &req.id, i).await?;
        }
        if req.changed.iter().any(|k| k == "tags") {
            update_tags(p.ec2().await, &req.id, &In::new(&req.old_inputs, "").tags(), &i.tags()).await?;
        }
        let (_, outputs) =
            describe(p, &req.id, true).await?.ok_or_else(|| ProviderError::fatal("DescribeVpcs", "VPC is gone"))?;
        Ok(UpdateResult { outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.ec2().await.delete_vpc().vpc_id(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["InvalidVpcID.NotFound"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteVpc", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let out = p
            .ec2()
            .await
            .describe_vpcs()
            .set_filters(Some(identity_filters(&req.stack, &req.urn)))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_err("DescribeVpcs", e))?;
        // The old copy of a replace carries the same tags: look past it.
        let Some(id) = req.first_unknown(out.iter().filter_map(|v| v.vpc_id())) else { return Ok(None) };
        Ok(describe(p, id, false).await?.map(|(inputs, outputs)| ReadResult { id: id.to_owned(), inputs, outputs }))
    }
}
