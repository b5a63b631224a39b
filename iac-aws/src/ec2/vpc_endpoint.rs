//! `VpcEndpoint`: private access to an AWS service from a VPC, through
//! route tables (gateway: S3, DynamoDB) or network interfaces in subnets
//! (interface: ECR, Secrets Manager, …).

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{ResourceType, VpcEndpointType};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use super::{
    identity_filters, tag_map, tag_spec, update_tags, RouteTableId, SecurityGroupId, SubnetId, VpcEndpointId, VpcId,
    EC2_FILTER_VALUES,
};
use crate::batch_read::{by, read_by_ids, Chunk};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{
    drop_computed_when_unset, list_expr, map, ordered_like, tags_value, tags_with_identity, wait_for, In,
};

pub(crate) const TYPE: &str = "aws:ec2:VpcEndpoint";

/// Schema: the VPC, service and kind are fixed; route tables, subnets,
/// security groups, policy and private DNS update in place.
pub static SCHEMA: Schema =
    Schema { replace_on: &["vpcId", "serviceName", "endpointType"], taggable: true, ..Schema::new(TYPE, "aws") };

/// How an endpoint reaches its service.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EndpointType {
    /// Routes in route tables (S3 and DynamoDB only; free).
    #[default]
    Gateway,
    /// Network interfaces in subnets, guarded by security groups.
    Interface,
}

impl EndpointType {
    fn as_str(self) -> &'static str {
        match self {
            EndpointType::Gateway => "Gateway",
            EndpointType::Interface => "Interface",
        }
    }
}

/// A VPC endpoint.
///
/// ```
/// use iac_aws::ec2::{EndpointType, VpcEndpoint};
/// // S3 through the private route table, without a NAT gateway.
/// let s3 = VpcEndpoint::builder()
///     .vpc_id("vpc-0123456789abcdef0")
///     .service_name("com.amazonaws.us-east-1.s3")
///     .route_table_ids(vec!["rtb-0123456789abcdef0".into()])
///     .build();
/// // ECR's API through interfaces in two subnets.
/// let ecr = VpcEndpoint::builder()
///     .vpc_id("vpc-0123456789abcdef0")
///     .service_name("com.amazonaws.us-east-1.ecr.api")
///     .endpoint_type(EndpointType::Interface)
///     .subnet_ids(vec!["subnet-0a".into(), "subnet-0b".into()])
///     .security_group_ids(vec!["sg-0123456789abcdef0".into()])
///     .private_dns_enabled(true)
///     .build();
/// # let _ = (s3, ecr);
/// ```
#[derive(bon::Builder)]
pub struct VpcEndpoint {
    /// The VPC (replaces when changed).
    #[builder(into)]
    pub vpc_id: Input<VpcId>,
    /// The service, like `com.amazonaws.<region>.s3` (replaces when changed).
    #[builder(into)]
    pub service_name: String,
    /// Gateway or interface (replaces when changed).
    #[builder(default)]
    pub endpoint_type: EndpointType,
    /// Gateway: the route tables that get a route to the service.
    #[builder(default)]
    pub route_table_ids: Vec<Input<RouteTableId>>,
    /// Interface: one subnet per zone for the endpoint's interfaces.
    #[builder(default)]
    pub subnet_ids: Vec<Input<SubnetId>>,
    /// Interface: the groups guarding the endpoint's interfaces.
    #[builder(default)]
    pub security_group_ids: Vec<Input<SecurityGroupId>>,
    /// Interface: answer the service's public DNS name with the endpoint's
    /// private addresses (AWS's default: on).
    pub private_dns_enabled: Option<bool>,
    /// A policy limiting what may be done through the endpoint (AWS's
    /// default: full access).
    pub policy: Option<serde_json::Value>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`VpcEndpoint`].
pub struct VpcEndpointOutputs {
    /// Its id (`vpce-…`).
    pub id: Output<VpcEndpointId>,
    /// Interface: the DNS names of the endpoint.
    pub dns_names: Output<Vec<String>>,
}

impl Resource for VpcEndpoint {
    type Outputs = VpcEndpointOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("vpcId", self.vpc_id.to_expr()),
            ("serviceName", Value::from(self.service_name.as_str()).into()),
            ("endpointType", Value::from(self.endpoint_type.as_str()).into()),
            ("routeTableIds", list_expr(&self.route_table_ids)),
            ("subnetIds", list_expr(&self.subnet_ids)),
            ("securityGroupIds", list_expr(&self.security_group_ids)),
            ("privateDnsEnabled", Value::from(self.private_dns_enabled).into()),
            ("policy", self.policy.as_ref().map_or(Value::Null, Value::from_json).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> VpcEndpointOutputs {
        VpcEndpointOutputs { id: Output::from_ref(urn, "id"), dns_names: Output::from_ref(urn, "dnsNames") }
    }
    fn validate(&self, c: &mut Checks) {
        c.check(
            self.service_name.starts_with("com.amazonaws.") || self.service_name.starts_with("com.amazon."),
            "serviceName",
            || format!("`{}` is not a service name like com.amazonaws.us-east-1.s3", self.service_name),
        );
        match self.endpoint_type {
            EndpointType::Gateway => {
                c.check(self.subnet_ids.is_empty(), "subnetIds", || {
                    "a gateway endpoint takes route tables, not subnets".into()
                });
                c.check(self.security_group_ids.is_empty(), "securityGroupIds", || {
                    "a gateway endpoint has no security groups".into()
                });
                c.check(self.private_dns_enabled != Some(true), "privateDnsEnabled", || {
                    "private DNS is for interface endpoints".into()
                });
                let svc = self.service_name.rsplit('.').next().unwrap_or_default();
                c.check(svc == "s3" || svc == "dynamodb", "serviceName", || {
                    format!(
                        "`{}` has no gateway endpoint (only s3 and dynamodb do); use EndpointType::Interface",
                        self.service_name
                    )
                });
            }
            EndpointType::Interface => {
                c.check(self.route_table_ids.is_empty(), "routeTableIds", || {
                    "an interface endpoint takes subnets, not route tables".into()
                });
            }
        }
    }
}

async fn describe(p: &AwsProvider, id: &str) -> Result<Option<aws_sdk_ec2::types::VpcEndpoint>, ProviderError> {
    match p.ec2().await.describe_vpc_endpoints().vpc_endpoint_ids(id).send().await {
        Ok(o) => Ok(o.vpc_endpoints().first().filter(|e| state(e) != "deleted").cloned()),
        Err(e) if is_code(&e, &["InvalidVpcEndpointId.NotFound"]) => Ok(None),
        Err(e) => Err(aws_err("DescribeVpcEndpoints", e)),
    }
}

/// Many endpoints in one call by id. Moto knows no `vpc-endpoint-id`
/// filter, and AWS fails a describe by ids on the first missing one: a
/// chunk holding a deleted endpoint is read one by one.
async fn describe_many(
    p: &AwsProvider,
    ids: Vec<String>,
) -> Result<Chunk<aws_sdk_ec2::types::VpcEndpoint>, ProviderError> {
    let out = p.ec2().await.describe_vpc_endpoints().set_vpc_endpoint_ids(Some(ids)).into_paginator().items().send();
    match out.try_collect().await {
        Ok(found) => Ok(by(found.into_iter().filter(|e| state(e) != "deleted"), |e| e.vpc_endpoint_id())),
        Err(e) if is_code(&e, &["InvalidVpcEndpointId.NotFound"]) => Ok(Chunk::one_is_gone()),
        Err(e) => Err(aws_err("DescribeVpcEndpoints", e)),
    }
}

fn endpoint_read(req: ReadRequest, e: &aws_sdk_ec2::types::VpcEndpoint) -> ReadResult {
    let (inputs, outputs) = description(e, &req.inputs);
    ReadResult { id: req.id, inputs, outputs }
}

/// An endpoint's state, lower-cased: AWS documents `Available` but answers
/// `available`.
fn state(e: &aws_sdk_ec2::types::VpcEndpoint) -> String {
    e.state().map(|s| s.as_str().to_ascii_lowercase()).unwrap_or_default()
}

/// Inputs and outputs as AWS describes them, lists in the recorded order.
fn description(e: &aws_sdk_ec2::types::VpcEndpoint, recorded: &Value) -> (Value, Value) {
    let ids = |v: &[String]| v.to_vec();
    let groups: Vec<String> = e.groups().iter().filter_map(|g| g.group_id().map(str::to_owned)).collect();
    let mut inputs = map([
        ("vpcId", Value::from(e.vpc_id())),
        ("serviceName", Value::from(e.service_name())),
        ("endpointType", Value::from(e.vpc_endpoint_type().map(|t| t.as_str()))),
        ("routeTableIds", ordered_like(ids(e.route_table_ids()), recorded.get("routeTableIds"))),
        ("subnetIds", ordered_like(ids(e.subnet_ids()), recorded.get("subnetIds"))),
        ("securityGroupIds", ordered_like(groups, recorded.get("securityGroupIds"))),
        ("privateDnsEnabled", Value::from(e.private_dns_enabled())),
        (
            "policy",
            e.policy_document()
                .and_then(|d| serde_json::from_str(d).ok())
                .map_or(Value::Null, |j| Value::from_json(&j)),
        ),
        ("tags", tags_value(tag_map(e.tags()))),
    ]);
    // AWS fills in a full-access policy and a private-DNS flag when unset.
    drop_computed_when_unset(&mut inputs, recorded, &["policy", "privateDnsEnabled"]);
    let dns: Vec<String> = e.dns_entries().iter().filter_map(|d| d.dns_name().map(str::to_owned)).collect();
    let outputs = map([("dnsNames", Value::from(dns))]);
    (inputs, outputs)
}

fn policy_text(i: In<'_>) -> Option<String> {
    i.json("policy").map(|j| j.to_string())
}

async fn wait_available(
    p: &AwsProvider,
    id: &str,
    timeout: Option<Duration>,
) -> Result<aws_sdk_ec2::types::VpcEndpoint, ProviderError> {
    wait_for(&format!("VPC endpoint {id} available"), timeout, Duration::from_secs(600), || async {
        match describe(p, id).await? {
            Some(e) if state(&e) == "available" => Ok(Some(e)),
            Some(e) if state(&e) == "failed" || state(&e) == "rejected" => {
                Err(ProviderError::fatal("CreateVpcEndpoint", format!("endpoint {id} is {}", state(&e))))
            }
            _ => Ok(None),
        }
    })
    .await
}

pub(crate) struct VpcEndpointHandler;

#[async_trait]
impl Handler for VpcEndpointHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateVpcEndpoint");
        let out = p
            .ec2()
            .await
            .create_vpc_endpoint()
            .vpc_id(i.str("vpcId")?)
            .service_name(i.str("serviceName")?)
            .vpc_endpoint_type(VpcEndpointType::from(i.str("endpointType")?))
            .set_route_table_ids(Some(i.strs("routeTableIds")).filter(|v| !v.is_empty()))
            .set_subnet_ids(Some(i.strs("subnetIds")).filter(|v| !v.is_empty()))
            .set_security_group_ids(Some(i.strs("securityGroupIds")).filter(|v| !v.is_empty()))
            .set_private_dns_enabled(i.opt_bool("privateDnsEnabled"))
            .set_policy_document(policy_text(i))
            .client_token(&req.idempotency_token)
            .tag_specifications(tag_spec(
                ResourceType::VpcEndpoint,
                &tags_with_identity(&req.inputs, &req.stack, &req.urn),
            ))
            .send()
            .await
            .map_err(|e| aws_err("CreateVpcEndpoint", e))?;
        let id = out
            .vpc_endpoint()
            .and_then(|e| e.vpc_endpoint_id())
            .ok_or_else(|| ProviderError::fatal("CreateVpcEndpoint", "no endpoint id returned"))?
            .to_owned();
        let e = wait_available(p, &id, req.timeout).await?;
        Ok(CreateResult { outputs: description(&e, &req.inputs).1, id })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id).await?.map(|e| endpoint_read(req, &e)))
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        read_by_ids(reqs, EC2_FILTER_VALUES, |ids| describe_many(p, ids), endpoint_read, |req| self.read(p, req)).await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, ""), In::new(&req.inputs, "ModifyVpcEndpoint"));
        let diff = |k: &str| {
            let (o, n) = (old.strs(k), new.strs(k));
            let add: Vec<String> = n.iter().filter(|x| !o.contains(x)).cloned().collect();
            let remove: Vec<String> = o.iter().filter(|x| !n.contains(x)).cloned().collect();
            (Some(add).filter(|v| !v.is_empty()), Some(remove).filter(|v| !v.is_empty()))
        };
        let (add_rt, rm_rt) = diff("routeTableIds");
        let (add_sn, rm_sn) = diff("subnetIds");
        let (add_sg, rm_sg) = diff("securityGroupIds");
        let policy_changed = req.changed.iter().any(|k| k == "policy");
        let mut call = p
            .ec2()
            .await
            .modify_vpc_endpoint()
            .vpc_endpoint_id(&req.id)
            .set_add_route_table_ids(add_rt)
            .set_remove_route_table_ids(rm_rt)
            .set_add_subnet_ids(add_sn)
            .set_remove_subnet_ids(rm_sn)
            .set_add_security_group_ids(add_sg)
            .set_remove_security_group_ids(rm_sg);
        if req.changed.iter().any(|k| k == "privateDnsEnabled") {
            call = call.set_private_dns_enabled(new.opt_bool("privateDnsEnabled"));
        }
        if policy_changed {
            call = match policy_text(new) {
                Some(doc) => call.policy_document(doc),
                None => call.reset_policy(true),
            };
        }
        if req.changed.iter().any(|k| k != "tags") {
            call.send().await.map_err(|e| aws_err("ModifyVpcEndpoint", e))?;
        }
        if req.changed.iter().any(|k| k == "tags") {
            update_tags(p.ec2().await, &req.id, &old.tags(), &new.tags()).await?;
        }
        let e = wait_available(p, &req.id, req.timeout).await?;
        Ok(UpdateResult { outputs: description(&e, &req.inputs).1 })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let out = match p.ec2().await.delete_vpc_endpoints().vpc_endpoint_ids(&req.id).send().await {
            Ok(o) => o,
            Err(e) if is_code(&e, &["InvalidVpcEndpointId.NotFound"]) => return Ok(()),
            Err(e) => return Err(aws_err("DeleteVpcEndpoints", e)),
        };
        if let Some(err) = out.unsuccessful().iter().find_map(|u| u.error()) {
            if err.code() != Some("InvalidVpcEndpoint.NotFound") && err.code() != Some("InvalidVpcEndpointId.NotFound")
            {
                return Err(ProviderError::retriable(
                    "DeleteVpcEndpoints",
                    format!("{}: {}", err.code().unwrap_or("Unknown"), err.message().unwrap_or_default()),
                ));
            }
        }
        wait_for(&format!("VPC endpoint {} deleted", req.id), req.timeout, Duration::from_secs(600), || async {
            Ok(describe(p, &req.id).await?.is_none().then_some(()))
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let out = p
            .ec2()
            .await
            .describe_vpc_endpoints()
            .set_filters(Some(identity_filters(&req.stack, &req.urn)))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_err("DescribeVpcEndpoints", e))?;
        // The old copy of a replace carries the same tags: look past it.
        let live =
            out.iter().find(|e| state(e) != "deleted" && e.vpc_endpoint_id().is_some_and(|id| !req.is_known(id)));
        Ok(live.and_then(|e| {
            let (inputs, outputs) = description(e, &req.inputs);
            Some(ReadResult { id: e.vpc_endpoint_id()?.to_owned(), inputs, outputs })
        }))
    }
}
