//! EC2 networking resources.

mod flow_log;
mod internet_gateway;
mod launch_template;
mod nat;
mod route_table;
mod security_group;
mod subnet;
mod vpc;
mod vpc_endpoint;

pub use flow_log::{FlowLog, FlowLogDestination, FlowLogOutputs, FlowLogSource, FlowLogTraffic};
pub use internet_gateway::{InternetGateway, InternetGatewayOutputs};
pub use launch_template::{BlockDevice, LaunchTemplate, LaunchTemplateOutputs};
pub use nat::{ElasticIp, ElasticIpOutputs, NatGateway, NatGatewayOutputs};
pub use route_table::{
    Route, RouteOutputs, RouteTable, RouteTableAssociation, RouteTableAssociationOutputs, RouteTableOutputs,
};
pub use security_group::{Direction, SecurityGroup, SecurityGroupOutputs, SecurityGroupRule, SecurityGroupRuleOutputs};
pub use subnet::{Subnet, SubnetOutputs};
pub use vpc::{Vpc, VpcOutputs};
pub use vpc_endpoint::{EndpointType, VpcEndpoint, VpcEndpointOutputs};

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use iac_core::{ProviderError, Urn};

use crate::error::aws_err;
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{TAG_NAME, TAG_STACK};

iac_core::typed_id!(
    /// The id of a VPC (`vpc-…`).
    VpcId
);
iac_core::typed_id!(
    /// The id of a subnet (`subnet-…`).
    SubnetId
);
iac_core::typed_id!(
    /// The id of a security group (`sg-…`).
    SecurityGroupId
);
iac_core::typed_id!(
    /// The id of an internet gateway (`igw-…`).
    InternetGatewayId
);
iac_core::typed_id!(
    /// The id of a route table (`rtb-…`).
    RouteTableId
);
iac_core::typed_id!(
    /// The id of a NAT gateway (`nat-…`).
    NatGatewayId
);
iac_core::typed_id!(
    /// The allocation id of an Elastic IP (`eipalloc-…`).
    AllocationId
);
iac_core::typed_id!(
    /// The id of a VPC endpoint (`vpce-…`).
    VpcEndpointId
);
iac_core::typed_id!(
    /// The id of a launch template (`lt-…`).
    LaunchTemplateId
);

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    Some(match type_token {
        vpc::TYPE => &vpc::VpcHandler,
        subnet::TYPE => &subnet::SubnetHandler,
        internet_gateway::TYPE => &internet_gateway::InternetGatewayHandler,
        nat::EIP => &nat::ElasticIpHandler,
        nat::NAT => &nat::NatGatewayHandler,
        route_table::TABLE => &route_table::RouteTableHandler,
        route_table::ROUTE => &route_table::RouteHandler,
        route_table::ASSOCIATION => &route_table::AssociationHandler,
        security_group::GROUP => &security_group::SecurityGroupHandler,
        security_group::RULE => &security_group::SecurityGroupRuleHandler,
        vpc_endpoint::TYPE => &vpc_endpoint::VpcEndpointHandler,
        flow_log::TYPE => &flow_log::FlowLogHandler,
        launch_template::TYPE => &launch_template::LaunchTemplateHandler,
        _ => return None,
    })
}

/// The most ids a batched read asks one EC2 describe for (as one filter's
/// values), well within EC2's limits.
pub(crate) const EC2_FILTER_VALUES: usize = 100;

/// Tags to set at creation, for one EC2 resource type.
pub(crate) fn tag_spec(rt: ResourceType, tags: &BTreeMap<String, String>) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(rt)
        .set_tags(Some(tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()))
        .build()
}

/// Filters that find a resource by its identity tags.
pub(crate) fn identity_filters(stack: &str, urn: &Urn) -> Vec<Filter> {
    vec![
        Filter::builder().name(format!("tag:{TAG_STACK}")).values(stack).build(),
        Filter::builder().name(format!("tag:{TAG_NAME}")).values(urn.as_str()).build(),
    ]
}

/// Tags as a map.
pub(crate) fn tag_map(tags: &[Tag]) -> Vec<(&str, &str)> {
    tags.iter().filter_map(|t| Some((t.key()?, t.value()?))).collect()
}

/// Brings an EC2 resource's user tags from `old` to `new` (identity tags
/// untouched).
pub(crate) async fn update_tags(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Result<(), ProviderError> {
    let removed: Vec<Tag> =
        old.keys().filter(|k| !new.contains_key(*k)).map(|k| Tag::builder().key(k).build()).collect();
    if !removed.is_empty() {
        ec2.delete_tags().resources(id).set_tags(Some(removed)).send().await.map_err(|e| aws_err("DeleteTags", e))?;
    }
    let changed: Vec<Tag> = new
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(v))
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    if !changed.is_empty() {
        ec2.create_tags().resources(id).set_tags(Some(changed)).send().await.map_err(|e| aws_err("CreateTags", e))?;
    }
    Ok(())
}

/// The route tables and security groups of a refresh's VPCs, read ahead.
pub(crate) struct VpcContents {
    pub(crate) tables: Vec<aws_sdk_ec2::types::RouteTable>,
    pub(crate) groups: Vec<aws_sdk_ec2::types::SecurityGroup>,
}

/// The most items one page of the read-ahead describes: a VPC shared with
/// more than this is left, beyond the page, to each type's own describe.
const AHEAD_PAGE: i32 = 1000;

/// Reads the route tables and security groups of the VPCs a refresh reads
/// (two calls, a page each), for the types that read them: route tables,
/// routes, associations, security groups, and each VPC's main table and
/// default group. `None` when no VPC is read or a call fails (each type
/// then asks for itself).
pub(crate) async fn read_vpcs_ahead(p: &AwsProvider, reqs: &[iac_core::provider::ReadRequest]) -> Option<VpcContents> {
    let vpcs: Vec<String> = reqs.iter().filter(|r| r.type_token == vpc::TYPE).map(|r| r.id.clone()).collect();
    if vpcs.is_empty() {
        return None;
    }
    let ec2 = p.ec2().await;
    let by_vpc = || Filter::builder().name("vpc-id").set_values(Some(vpcs.clone())).build();
    let tables = ec2.describe_route_tables().filters(by_vpc()).max_results(AHEAD_PAGE).send();
    let groups = ec2.describe_security_groups().filters(by_vpc()).max_results(AHEAD_PAGE).send();
    match futures::future::join(tables, groups).await {
        (Ok(t), Ok(g)) => Some(VpcContents {
            tables: t.route_tables.unwrap_or_default(),
            groups: g.security_groups.unwrap_or_default(),
        }),
        (t, g) => {
            let e = t
                .err()
                .map(|e| aws_err("DescribeRouteTables", e))
                .or(g.err().map(|e| aws_err("DescribeSecurityGroups", e)));
            tracing::debug!("VPC contents not read ahead, each type describes its own: {e:?}");
            None
        }
    }
}
