//! `FlowLog`: a record of the IP traffic of a VPC, subnet or network
//! interface, delivered to CloudWatch Logs or S3.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{FlowLogsResourceType, LogDestinationType, ResourceType, TrafficType};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use super::{identity_filters, tag_map, tag_spec, update_tags, EC2_FILTER_VALUES};
use crate::batch_read::{by, read_by_ids, Chunk};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{drop_computed_when_unset, map, opt_expr, tags_value, tags_with_identity, In};

pub(crate) const TYPE: &str = "aws:ec2:FlowLog";

/// Schema: AWS cannot change a flow log, only its tags; and it refuses a
/// second log of one resource to one destination, so a replacement deletes
/// the old log first.
pub static SCHEMA: Schema = Schema {
    replace_on: &[
        "resourceId",
        "resourceType",
        "trafficType",
        "logDestinationType",
        "logDestination",
        "logGroupName",
        "deliverLogsPermissionArn",
        "maxAggregationInterval",
        "logFormat",
    ],
    delete_before_replace: true,
    taggable: true,
    ..Schema::new(TYPE, "aws")
};

/// What a flow log watches.
#[derive(Clone, Debug)]
pub enum FlowLogSource {
    /// Every interface in a VPC.
    Vpc(Input<super::VpcId>),
    /// Every interface in a subnet.
    Subnet(Input<super::SubnetId>),
    /// One network interface (`eni-…`).
    NetworkInterface(Input<String>),
}

/// Where a flow log's records go.
#[derive(Clone, Debug)]
pub enum FlowLogDestination {
    /// A CloudWatch Logs group, written with a role that may write to it.
    CloudWatchLogs {
        /// The log group's name.
        log_group_name: Input<String>,
        /// A role that VPC Flow Logs may assume to write to the group.
        role_arn: Input<String>,
    },
    /// An S3 bucket (`arn:aws:s3:::bucket[/prefix]`).
    S3 {
        /// The bucket's (or folder's) ARN.
        arn: Input<String>,
    },
}

/// Which traffic a flow log records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FlowLogTraffic {
    /// Accepted and rejected traffic.
    #[default]
    All,
    /// Accepted traffic only.
    Accept,
    /// Rejected traffic only.
    Reject,
}

/// A VPC flow log.
///
/// ```
/// use iac_aws::ec2::{FlowLog, FlowLogDestination, FlowLogSource};
/// let log = FlowLog::builder()
///     .source(FlowLogSource::Vpc("vpc-0123456789abcdef0".into()))
///     .destination(FlowLogDestination::S3 { arn: "arn:aws:s3:::my-flow-logs/vpc".into() })
///     .max_aggregation_interval(60)
///     .build();
/// # let _ = log;
/// ```
#[derive(bon::Builder)]
pub struct FlowLog {
    /// What to watch (replaces when changed).
    pub source: FlowLogSource,
    /// Where the records go (replaces when changed).
    pub destination: FlowLogDestination,
    /// Which traffic to record (replaces when changed).
    #[builder(default)]
    pub traffic: FlowLogTraffic,
    /// Seconds over which records are aggregated: 60 or 600 (the default).
    pub max_aggregation_interval: Option<i32>,
    /// A custom record format (`${version} ${srcaddr} …`); AWS's default
    /// format when unset.
    #[builder(into)]
    pub log_format: Option<String>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`FlowLog`].
pub struct FlowLogOutputs {
    /// Its id (`fl-…`).
    pub id: Output<String>,
}

impl Resource for FlowLog {
    type Outputs = FlowLogOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        let (rtype, rid) = match &self.source {
            FlowLogSource::Vpc(id) => ("VPC", id.to_expr()),
            FlowLogSource::Subnet(id) => ("Subnet", id.to_expr()),
            FlowLogSource::NetworkInterface(id) => ("NetworkInterface", id.to_expr()),
        };
        let (dtype, dest, group, role) = match &self.destination {
            FlowLogDestination::CloudWatchLogs { log_group_name, role_arn } => {
                ("cloud-watch-logs", opt_expr::<String>(None), log_group_name.to_expr(), role_arn.to_expr())
            }
            FlowLogDestination::S3 { arn } => ("s3", arn.to_expr(), opt_expr::<String>(None), opt_expr::<String>(None)),
        };
        let traffic = match self.traffic {
            FlowLogTraffic::All => "ALL",
            FlowLogTraffic::Accept => "ACCEPT",
            FlowLogTraffic::Reject => "REJECT",
        };
        props([
            ("resourceType", Value::from(rtype).into()),
            ("resourceId", rid),
            ("trafficType", Value::from(traffic).into()),
            ("logDestinationType", Value::from(dtype).into()),
            ("logDestination", dest),
            ("logGroupName", group),
            ("deliverLogsPermissionArn", role),
            ("maxAggregationInterval", Value::from(self.max_aggregation_interval.map(i64::from)).into()),
            ("logFormat", Value::from(self.log_format.clone()).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> FlowLogOutputs {
        FlowLogOutputs { id: Output::from_ref(urn, "id") }
    }
    fn validate(&self, c: &mut Checks) {
        if let Some(n) = self.max_aggregation_interval {
            c.check(n == 60 || n == 600, "maxAggregationInterval", || format!("{n}: AWS allows 60 or 600 seconds"));
        }
        if let FlowLogDestination::S3 { arn: Input::Value(arn) } = &self.destination {
            c.check(arn.starts_with("arn:aws:s3:::") || arn.starts_with("arn:aws-"), "logDestination", || {
                format!("`{arn}` is not an S3 bucket ARN (arn:aws:s3:::bucket)")
            });
        }
    }
}

async fn describe(p: &AwsProvider, id: &str) -> Result<Option<aws_sdk_ec2::types::FlowLog>, ProviderError> {
    match p.ec2().await.describe_flow_logs().flow_log_ids(id).send().await {
        Ok(o) => Ok(o.flow_logs().first().cloned()),
        Err(e) if is_code(&e, &["InvalidFlowLogId.NotFound"]) => Ok(None),
        Err(e) => Err(aws_err("DescribeFlowLogs", e)),
    }
}

/// Many flow logs in one call (the `flow-log-id` filter answers only those
/// that exist, where asking by id fails on the first that does not).
async fn describe_many(p: &AwsProvider, ids: Vec<String>) -> Result<Chunk<aws_sdk_ec2::types::FlowLog>, ProviderError> {
    let out = p
        .ec2()
        .await
        .describe_flow_logs()
        .filter(aws_sdk_ec2::types::Filter::builder().name("flow-log-id").set_values(Some(ids)).build())
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| aws_err("DescribeFlowLogs", e))?;
    Ok(by(out, |f| f.flow_log_id()))
}

fn flow_log_read(req: ReadRequest, f: &aws_sdk_ec2::types::FlowLog) -> ReadResult {
    ReadResult { inputs: description(f, &req.inputs), id: req.id, outputs: Value::map() }
}

fn description(f: &aws_sdk_ec2::types::FlowLog, recorded: &Value) -> Value {
    let rid = f.resource_id().unwrap_or_default();
    let rtype = if rid.starts_with("vpc-") {
        "VPC"
    } else if rid.starts_with("subnet-") {
        "Subnet"
    } else {
        "NetworkInterface"
    };
    let dtype = f.log_destination_type().map(|t| t.as_str());
    let s3 = dtype == Some("s3");
    let mut inputs = map([
        ("resourceType", Value::from(rtype)),
        ("resourceId", Value::from(rid)),
        ("trafficType", Value::from(f.traffic_type().map(|t| t.as_str()))),
        ("logDestinationType", Value::from(dtype)),
        ("logDestination", Value::from(f.log_destination().filter(|_| s3))),
        ("logGroupName", Value::from(f.log_group_name().filter(|_| !s3))),
        ("deliverLogsPermissionArn", Value::from(f.deliver_logs_permission_arn().filter(|_| !s3))),
        ("maxAggregationInterval", Value::from(f.max_aggregation_interval().map(i64::from))),
        ("logFormat", Value::from(f.log_format())),
        ("tags", tags_value(tag_map(f.tags()))),
    ]);
    // AWS fills in its default interval and record format.
    drop_computed_when_unset(&mut inputs, recorded, &["maxAggregationInterval", "logFormat"]);
    inputs
}

pub(crate) struct FlowLogHandler;

#[async_trait]
impl Handler for FlowLogHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateFlowLogs");
        let out = p
            .ec2()
            .await
            .create_flow_logs()
            .resource_type(FlowLogsResourceType::from(i.str("resourceType")?))
            .resource_ids(i.str("resourceId")?)
            .traffic_type(TrafficType::from(i.str("trafficType")?))
            .log_destination_type(LogDestinationType::from(i.str("logDestinationType")?))
            .set_log_destination(i.opt_str("logDestination").map(str::to_owned))
            .set_log_group_name(i.opt_str("logGroupName").map(str::to_owned))
            .set_deliver_logs_permission_arn(i.opt_str("deliverLogsPermissionArn").map(str::to_owned))
            .set_max_aggregation_interval(i.opt_i32("maxAggregationInterval"))
            .set_log_format(i.opt_str("logFormat").map(str::to_owned))
            .client_token(&req.idempotency_token)
            .tag_specifications(tag_spec(
                ResourceType::VpcFlowLog,
                &tags_with_identity(&req.inputs, &req.stack, &req.urn),
            ))
            .send()
            .await
            .map_err(|e| aws_err("CreateFlowLogs", e))?;
        if let Some(err) = out.unsuccessful().iter().find_map(|u| u.error()) {
            return Err(ProviderError::fatal(
                "CreateFlowLogs",
                format!("{}: {}", err.code().unwrap_or("Unknown"), err.message().unwrap_or_default()),
            ));
        }
        let id = out
            .flow_log_ids()
            .first()
            .ok_or_else(|| ProviderError::fatal("CreateFlowLogs", "no flow log id returned"))?
            .clone();
        Ok(CreateResult { id, outputs: Value::map() })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id).await?.map(|f| flow_log_read(req, &f)))
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        read_by_ids(reqs, EC2_FILTER_VALUES, |ids| describe_many(p, ids), flow_log_read, |req| self.read(p, req)).await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        // Only tags update in place (see the schema).
        let (old, new) = (In::new(&req.old_inputs, ""), In::new(&req.inputs, ""));
        update_tags(p.ec2().await, &req.id, &old.tags(), &new.tags()).await?;
        Ok(UpdateResult { outputs: Value::map() })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let out = match p.ec2().await.delete_flow_logs().flow_log_ids(&req.id).send().await {
            Ok(o) => o,
            Err(e) if is_code(&e, &["InvalidFlowLogId.NotFound"]) => return Ok(()),
            Err(e) => return Err(aws_err("DeleteFlowLogs", e)),
        };
        match out.unsuccessful().iter().find_map(|u| u.error()) {
            Some(err) if err.code() != Some("InvalidFlowLogId.NotFound") => Err(ProviderError::retriable(
                "DeleteFlowLogs",
                format!("{}: {}", err.code().unwrap_or("Unknown"), err.message().unwrap_or_default()),
            )),
            _ => Ok(()),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let out = p
            .ec2()
            .await
            .describe_flow_logs()
            .set_filter(Some(identity_filters(&req.stack, &req.urn)))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_err("DescribeFlowLogs", e))?;
        // The old copy of a replace carries the same tags: look past it.
        let log = out.iter().find(|f| f.flow_log_id().is_some_and(|id| !req.is_known(id)));
        Ok(log.and_then(|f| {
            Some(ReadResult {
                id: f.flow_log_id()?.to_owned(),
                inputs: description(f, &req.inputs),
                outputs: Value::map(),
            })
        }))
    }
}
