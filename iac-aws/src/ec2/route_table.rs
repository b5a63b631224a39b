//! `RouteTable`, `Route` and `RouteTableAssociation`.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, ResourceType};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use super::{
    identity_filters, tag_map, tag_spec, update_tags, InternetGatewayId, NatGatewayId, RouteTableId, SubnetId, VpcId,
    EC2_FILTER_VALUES,
};
use crate::batch_read::{by, by_id, read_batched, read_by_ids, Chunk};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{map, tags_value, tags_with_identity, unless_known, In};

pub(crate) const TABLE: &str = "aws:ec2:RouteTable";
pub(crate) const ROUTE: &str = "aws:ec2:Route";
pub(crate) const ASSOCIATION: &str = "aws:ec2:RouteTableAssociation";

/// Schema of [`RouteTable`]: its VPC is fixed.
pub static TABLE_SCHEMA: Schema = Schema { replace_on: &["vpcId"], taggable: true, ..Schema::new(TABLE, "aws") };
/// Schema of [`Route`]: the table and destination identify it; the target
/// is replaced in place.
pub static ROUTE_SCHEMA: Schema =
    Schema { replace_on: &["routeTableId", "destinationCidrBlock"], ..Schema::new(ROUTE, "aws") };
/// Schema of [`RouteTableAssociation`]: any change re-associates, removing the
/// old association first (a subnet has one association at a time).
pub static ASSOCIATION_SCHEMA: Schema = Schema {
    replace_on: &["routeTableId", "subnetId"],
    delete_before_replace: true,
    ..Schema::new(ASSOCIATION, "aws")
};

/// A route table of a VPC.
#[derive(bon::Builder)]
pub struct RouteTable {
    /// The VPC.
    #[builder(into)]
    pub vpc_id: Input<VpcId>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`RouteTable`].
pub struct RouteTableOutputs {
    /// Its id.
    pub id: Output<RouteTableId>,
}

impl Resource for RouteTable {
    type Outputs = RouteTableOutputs;
    fn schema() -> &'static Schema {
        &TABLE_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([("vpcId", self.vpc_id.to_expr()), ("tags", Value::from(self.tags.clone()).into())])
    }
    fn outputs(urn: &Urn) -> RouteTableOutputs {
        RouteTableOutputs { id: Output::from_ref(urn, "id") }
    }
}

/// A route in a route table, to an internet gateway or a NAT gateway.
#[derive(bon::Builder)]
pub struct Route {
    /// The table.
    #[builder(into)]
    pub route_table_id: Input<RouteTableId>,
    /// The destination range (`0.0.0.0/0`).
    #[builder(into)]
    pub destination_cidr_block: String,
    /// Target: an internet gateway.
    #[builder(into)]
    pub gateway_id: Option<Input<InternetGatewayId>>,
    /// Target: a NAT gateway.
    #[builder(into)]
    pub nat_gateway_id: Option<Input<NatGatewayId>>,
}

/// Outputs of a [`Route`].
pub struct RouteOutputs {
    /// Its id (`<table>_<destination>`).
    pub id: Output<String>,
}

impl Resource for Route {
    type Outputs = RouteOutputs;
    fn schema() -> &'static Schema {
        &ROUTE_SCHEMA
    }
    fn inputs(&self) -> Expr {
        let opt = |e: Option<Expr>| e.unwrap_or(Expr::Value(Value::Null));
        props([
            ("routeTableId", self.route_table_id.to_expr()),
            ("destinationCidrBlock", Value::from(self.destination_cidr_block.as_str()).into()),
            ("gatewayId", opt(self.gateway_id.as_ref().map(Input::to_expr))),
            ("natGatewayId", opt(self.nat_gateway_id.as_ref().map(Input::to_expr))),
        ])
    }
    fn outputs(urn: &Urn) -> RouteOutputs {
        RouteOutputs { id: Output::from_ref(urn, "id") }
    }
    fn validate(&self, c: &mut Checks) {
        crate::checks::cidr(c, "destinationCidrBlock", &self.destination_cidr_block);
        let targets = self.gateway_id.is_some() as u8 + self.nat_gateway_id.is_some() as u8;
        c.check(targets == 1, "gatewayId", || "a route needs exactly one target: gatewayId or natGatewayId".into());
    }
}

/// Associates a subnet with a route table.
#[derive(bon::Builder)]
pub struct RouteTableAssociation {
    /// The table.
    #[builder(into)]
    pub route_table_id: Input<RouteTableId>,
    /// The subnet.
    #[builder(into)]
    pub subnet_id: Input<SubnetId>,
}

/// Outputs of a [`RouteTableAssociation`].
pub struct RouteTableAssociationOutputs {
    /// Its id (`rtbassoc-…`).
    pub id: Output<String>,
}

impl Resource for RouteTableAssociation {
    type Outputs = RouteTableAssociationOutputs;
    fn schema() -> &'static Schema {
        &ASSOCIATION_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([("routeTableId", self.route_table_id.to_expr()), ("subnetId", self.subnet_id.to_expr())])
    }
    fn outputs(urn: &Urn) -> RouteTableAssociationOutputs {
        RouteTableAssociationOutputs { id: Output::from_ref(urn, "id") }
    }
}

async fn describe_table(p: &AwsProvider, id: &str) -> Result<Option<aws_sdk_ec2::types::RouteTable>, ProviderError> {
    match p.ec2().await.describe_route_tables().route_table_ids(id).send().await {
        Ok(o) => Ok(o.route_tables().first().cloned()),
        Err(e) if is_code(&e, &["InvalidRouteTableID.NotFound"]) => Ok(None),
        Err(e) => Err(aws_err("DescribeRouteTables", e)),
    }
}

/// Route tables by a filter's values (`route-table-id`, or the ids of
/// their associations), every page: only those that exist are answered.
async fn describe_tables_by(
    p: &AwsProvider,
    filter: &str,
    values: Vec<String>,
) -> Result<Vec<aws_sdk_ec2::types::RouteTable>, ProviderError> {
    // A refresh read its VPCs' tables ahead: if they show every value, they
    // answer; a value they do not show is asked for.
    if let Some(ahead) = p.vpcs_read_ahead() {
        let matches = |t: &aws_sdk_ec2::types::RouteTable, v: &str| match filter {
            "route-table-id" => t.route_table_id() == Some(v),
            ASSOCIATION_ID => t.associations().iter().any(|a| a.route_table_association_id() == Some(v)),
            _ => false,
        };
        let found: Vec<_> = ahead.tables.iter().filter(|t| values.iter().any(|v| matches(t, v))).cloned().collect();
        if values.iter().all(|v| found.iter().any(|t| matches(t, v))) {
            return Ok(found);
        }
    }
    p.ec2()
        .await
        .describe_route_tables()
        .filters(Filter::builder().name(filter).set_values(Some(values)).build())
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| aws_err("DescribeRouteTables", e))
}

/// Many route tables in one call, by id.
async fn describe_tables(
    p: &AwsProvider,
    ids: Vec<String>,
) -> Result<Chunk<aws_sdk_ec2::types::RouteTable>, ProviderError> {
    Ok(by(describe_tables_by(p, "route-table-id", ids).await?, |t| t.route_table_id()))
}

pub(crate) struct RouteTableHandler;

fn table_read(req: ReadRequest, t: &aws_sdk_ec2::types::RouteTable) -> ReadResult {
    ReadResult { id: req.id, inputs: table_inputs(t), outputs: Value::map() }
}

fn table_inputs(t: &aws_sdk_ec2::types::RouteTable) -> Value {
    map([("vpcId", Value::from(t.vpc_id())), ("tags", tags_value(tag_map(t.tags())))])
}

#[async_trait]
impl Handler for RouteTableHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateRouteTable");
        let out = p
            .ec2()
            .await
            .create_route_table()
            .vpc_id(i.str("vpcId")?)
            .client_token(&req.idempotency_token)
            .tag_specifications(tag_spec(
                ResourceType::RouteTable,
                &tags_with_identity(&req.inputs, &req.stack, &req.urn),
            ))
            .send()
            .await
            .map_err(|e| aws_err("CreateRouteTable", e))?;
        let id = out
            .route_table()
            .and_then(|t| t.route_table_id())
            .ok_or_else(|| ProviderError::fatal("CreateRouteTable", "no route table id returned"))?;
        Ok(CreateResult { id: id.to_owned(), outputs: Value::map() })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe_table(p, &req.id).await?.map(|t| table_read(req, &t)))
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        read_by_ids(reqs, EC2_FILTER_VALUES, |ids| describe_tables(p, ids), table_read, |req| self.read(p, req)).await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, ""), In::new(&req.inputs, ""));
        update_tags(p.ec2().await, &req.id, &old.tags(), &new.tags()).await?;
        Ok(UpdateResult { outputs: Value::map() })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.ec2().await.delete_route_table().route_table_id(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["InvalidRouteTableID.NotFound"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteRouteTable", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let out = p
            .ec2()
            .await
            .describe_route_tables()
            .set_filters(Some(identity_filters(&req.stack, &req.urn)))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_err("DescribeRouteTables", e))?;
        // The old copy of a replace carries the same tags: look past it.
        let table = out.iter().find(|t| t.route_table_id().is_some_and(|id| !req.is_known(id)));
        Ok(table.and_then(|t| {
            Some(ReadResult { id: t.route_table_id()?.to_owned(), inputs: table_inputs(t), outputs: Value::map() })
        }))
    }
}

pub(crate) struct RouteHandler;

/// A route's id is `<table>_<destination>`; it is described by its table.
fn route_table(req: &ReadRequest) -> Result<(String, String), ProviderError> {
    let Some((table, _)) = req.id.split_once('_') else {
        return Err(ProviderError::fatal("DescribeRouteTables", format!("malformed route id `{}`", req.id)));
    };
    Ok((String::new(), table.to_owned()))
}

fn route_read(req: ReadRequest, t: &aws_sdk_ec2::types::RouteTable) -> Option<ReadResult> {
    let (table, dest) = req.id.split_once('_')?;
    let r = t.routes().iter().find(|r| r.destination_cidr_block() == Some(dest))?;
    let inputs = map([
        ("routeTableId", Value::from(table)),
        ("destinationCidrBlock", Value::from(dest)),
        ("gatewayId", Value::from(r.gateway_id())),
        ("natGatewayId", Value::from(r.nat_gateway_id())),
    ]);
    Some(ReadResult { id: req.id, inputs, outputs: Value::map() })
}

async fn put_route(p: &AwsProvider, i: In<'_>, replace: bool) -> Result<(), ProviderError> {
    let ec2 = p.ec2().await;
    let (table, dest) = (i.str("routeTableId")?, i.str("destinationCidrBlock")?);
    let (gw, nat) = (i.opt_str("gatewayId").map(str::to_owned), i.opt_str("natGatewayId").map(str::to_owned));
    if replace {
        ec2.replace_route()
            .route_table_id(table)
            .destination_cidr_block(dest)
            .set_gateway_id(gw)
            .set_nat_gateway_id(nat)
            .send()
            .await
            .map_err(|e| aws_err("ReplaceRoute", e))?;
    } else {
        // Sent once: a repeat finds the route there (`RouteAlreadyExists`).
        ec2.create_route()
            .route_table_id(table)
            .destination_cidr_block(dest)
            .set_gateway_id(gw)
            .set_nat_gateway_id(nat)
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateRoute", e))?;
    }
    Ok(())
}

#[async_trait]
impl Handler for RouteHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateRoute");
        put_route(p, i, false).await?;
        Ok(CreateResult {
            id: format!("{}_{}", i.str("routeTableId")?, i.str("destinationCidrBlock")?),
            outputs: Value::map(),
        })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let (_, table) = route_table(&req)?;
        let Some(t) = describe_table(p, &table).await? else { return Ok(None) };
        Ok(route_read(req, &t))
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        // By their tables, as the single read: a table holds many routes.
        read_batched(
            reqs,
            EC2_FILTER_VALUES,
            route_table,
            |_, ids| describe_tables(p, ids),
            |req, t| async move { Ok(route_read(req, &t)) },
            |req| self.read(p, req),
        )
        .await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        put_route(p, In::new(&req.inputs, "ReplaceRoute"), true).await?;
        Ok(UpdateResult { outputs: Value::map() })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let i = In::new(&req.inputs, "DeleteRoute");
        let res = p
            .ec2()
            .await
            .delete_route()
            .route_table_id(i.str("routeTableId")?)
            .destination_cidr_block(i.str("destinationCidrBlock")?)
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["InvalidRoute.NotFound", "InvalidRouteTableID.NotFound"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteRoute", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // A route is identified by its table and destination.
        let i = In::new(&req.inputs, "DescribeRouteTables");
        let (Some(table), Some(dest)) = (i.opt_str("routeTableId"), i.opt_str("destinationCidrBlock")) else {
            return Ok(None);
        };
        let id = format!("{table}_{dest}");
        // A table holds one route per destination.
        if req.is_known(&id) {
            return Ok(None);
        }
        self.read(
            p,
            ReadRequest {
                type_token: ROUTE_SCHEMA.type_token,
                urn: req.urn,
                id,
                inputs: req.inputs,
                outputs: Value::map(),
            },
        )
        .await
    }
}

pub(crate) struct AssociationHandler;

/// The filter that finds the table an association belongs to.
const ASSOCIATION_ID: &str = "association.route-table-association-id";

fn association_read(req: &ReadRequest, t: &aws_sdk_ec2::types::RouteTable) -> Option<ReadResult> {
    let a = t.associations().iter().find(|a| a.route_table_association_id() == Some(req.id.as_str()))?;
    Some(ReadResult {
        id: req.id.clone(),
        inputs: map([("routeTableId", Value::from(t.route_table_id())), ("subnetId", Value::from(a.subnet_id()))]),
        outputs: Value::map(),
    })
}

#[async_trait]
impl Handler for AssociationHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "AssociateRouteTable");
        let out = p
            .ec2()
            .await
            .associate_route_table()
            .route_table_id(i.str("routeTableId")?)
            .subnet_id(i.str("subnetId")?)
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("AssociateRouteTable", e))?;
        let id =
            out.association_id().ok_or_else(|| ProviderError::fatal("AssociateRouteTable", "no association id"))?;
        Ok(CreateResult { id: id.to_owned(), outputs: Value::map() })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let tables = describe_tables_by(p, ASSOCIATION_ID, vec![req.id.clone()]).await?;
        Ok(tables.iter().find_map(|t| association_read(&req, t)))
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
            |_, ids| async move {
                // Each association's table (a table has many associations).
                let tables = describe_tables_by(p, ASSOCIATION_ID, ids).await?;
                let mut by_association = HashMap::new();
                for t in tables {
                    for a in t.associations() {
                        if let Some(id) = a.route_table_association_id() {
                            by_association.insert(id.to_owned(), t.clone());
                        }
                    }
                }
                Ok(Chunk::Found(by_association))
            },
            |req, t| async move { Ok(association_read(&req, &t)) },
            |req| self.read(p, req),
        )
        .await
    }

    async fn update(&self, _p: &AwsProvider, _req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        // Every input forces a replacement (see the schema).
        Err(ProviderError::fatal("RouteTableAssociation", "an association is replaced, never updated in place"))
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.ec2().await.disassociate_route_table().association_id(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["InvalidAssociationID.NotFound"]) => Ok(()),
            Err(e) => Err(aws_err("DisassociateRouteTable", e)),
        }
    }

    /// An association is untaggable; AWS keeps its natural key unique: a
    /// subnet has at most one explicit association. Found when the
    /// subnet's is with this route table.
    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let i = In::new(&req.inputs, "");
        let (Some(table), Some(subnet)) = (i.opt_str("routeTableId"), i.opt_str("subnetId")) else { return Ok(None) };
        let out = p
            .ec2()
            .await
            .describe_route_tables()
            .filters(Filter::builder().name("association.subnet-id").values(subnet).build())
            .send()
            .await
            .map_err(|e| aws_err("DescribeRouteTables", e))?;
        let id = out
            .route_tables()
            .iter()
            .filter(|t| t.route_table_id() == Some(table))
            .flat_map(|t| t.associations())
            .find(|a| a.subnet_id() == Some(subnet))
            .and_then(|a| a.route_table_association_id());
        let found = id.map(|id| ReadResult {
            id: id.to_owned(),
            inputs: map([("routeTableId", Value::from(table)), ("subnetId", Value::from(subnet))]),
            outputs: Value::map(),
        });
        Ok(unless_known(&req, found))
    }
}
