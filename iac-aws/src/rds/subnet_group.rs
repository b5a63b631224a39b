//! `DbSubnetGroup`: the subnets an RDS instance or Aurora cluster may use.

use std::collections::BTreeMap;

use async_trait::async_trait;
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use super::{has_identity, list_tags, rds_tags, tag_pairs, update_tags};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{list_expr, map, ordered_like, tags_value, tags_with_identity, unless_known, In};

pub(crate) const TYPE: &str = "aws:rds:DbSubnetGroup";

/// Schema: the name is the identity; description and subnets update in
/// place (`ModifyDBSubnetGroup`).
pub static SCHEMA: Schema =
    Schema { replace_on: &["name"], delete_before_replace: true, taggable: true, ..Schema::new(TYPE, "aws") };

/// A DB subnet group: subnets in at least two Availability Zones.
///
/// ```
/// use iac_aws::rds::DbSubnetGroup;
/// let group = DbSubnetGroup::builder()
///     .name("orders-db")
///     .description("private subnets of the orders database")
///     .subnet_ids(vec!["subnet-0a1".into(), "subnet-0b2".into()])
///     .build();
/// # let _ = group;
/// ```
#[derive(bon::Builder)]
pub struct DbSubnetGroup {
    /// The group's name (lower case in AWS; replaces when changed).
    #[builder(into)]
    pub name: String,
    /// What it is for.
    #[builder(into, default = "Managed by iac")]
    pub description: String,
    /// Its subnets (two AZs at least).
    pub subnet_ids: Vec<Input<String>>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`DbSubnetGroup`].
pub struct DbSubnetGroupOutputs {
    /// Its name (the resource's id), for instances and clusters.
    pub name: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
    /// The VPC its subnets are in.
    pub vpc_id: Output<String>,
}

impl Resource for DbSubnetGroup {
    type Outputs = DbSubnetGroupOutputs;
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
    fn outputs(urn: &Urn) -> DbSubnetGroupOutputs {
        DbSubnetGroupOutputs {
            name: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            vpc_id: Output::from_ref(urn, "vpcId"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        let n = &self.name;
        // RDS accepts capitals and stores the name in lowercase; the inputs
        // hold it lowercased, as RDS will answer it.
        let ok =
            !n.is_empty() && n.len() <= 255 && n.chars().all(|ch| ch.is_ascii_alphanumeric() || " ._-".contains(ch));
        c.check(ok, "name", || format!("`{n}`: 1–255 letters, digits, spaces, periods, underscores and hyphens"));
        c.check(!n.eq_ignore_ascii_case("default"), "name", || "`default` is RDS's own group".into());
        c.check(!self.description.is_empty(), "description", || "must not be empty".into());
        c.check(self.subnet_ids.len() >= 2, "subnetIds", || {
            format!(
                "{} subnet(s): a DB subnet group needs subnets in at least two Availability Zones",
                self.subnet_ids.len()
            )
        });
    }
}

async fn describe(p: &AwsProvider, name: &str, recorded: &Value) -> Result<Option<(Value, Value)>, ProviderError> {
    let rds = p.rds().await;
    let out = match rds.describe_db_subnet_groups().db_subnet_group_name(name).send().await {
        Ok(o) => o,
        Err(e) if is_code(&e, &["DBSubnetGroupNotFoundFault"]) => return Ok(None),
        Err(e) => return Err(aws_err("DescribeDBSubnetGroups", e)),
    };
    let Some(g) = out.db_subnet_groups().first() else { return Ok(None) };
    let arn = g.db_subnet_group_arn().unwrap_or_default();
    let tags = list_tags(p, arn).await?;
    let subnets: Vec<String> = g.subnets().iter().filter_map(|s| s.subnet_identifier().map(str::to_owned)).collect();
    let inputs = map([
        ("name", Value::from(g.db_subnet_group_name())),
        ("description", Value::from(g.db_subnet_group_description())),
        ("subnetIds", ordered_like(subnets, recorded.get("subnetIds"))),
        ("tags", tags_value(tag_pairs(&tags))),
    ]);
    let outputs = map([("arn", Value::from(arn)), ("vpcId", Value::from(g.vpc_id()))]);
    Ok(Some((inputs, outputs)))
}

pub(crate) struct SubnetGroupHandler;

#[async_trait]
impl Handler for SubnetGroupHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateDBSubnetGroup");
        let name = i.str("name")?;
        p.rds()
            .await
            .create_db_subnet_group()
            .db_subnet_group_name(name)
            .db_subnet_group_description(i.str("description")?)
            .set_subnet_ids(Some(i.strs("subnetIds")))
            .set_tags(Some(rds_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateDBSubnetGroup", e))?;
        let (_, outputs) = describe(p, name, &req.inputs)
            .await?
            .ok_or_else(|| ProviderError::retriable("DescribeDBSubnetGroups", format!("{name} not visible yet")))?;
        Ok(CreateResult { id: name.to_owned(), outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id, &req.inputs).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, ""), In::new(&req.inputs, "ModifyDBSubnetGroup"));
        let rds = p.rds().await;
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if changed("description") || changed("subnetIds") {
            rds.modify_db_subnet_group()
                .db_subnet_group_name(&req.id)
                .db_subnet_group_description(new.str("description")?)
                .set_subnet_ids(Some(new.strs("subnetIds")))
                .send()
                .await
                .map_err(|e| aws_err("ModifyDBSubnetGroup", e))?;
        }
        if changed("tags") {
            let arn = In::new(&req.old_outputs, "ModifyDBSubnetGroup").str("arn")?;
            update_tags(rds, arn, &old.tags(), &new.tags()).await?;
        }
        let (_, outputs) = describe(p, &req.id, &req.inputs)
            .await?
            .ok_or_else(|| ProviderError::fatal("ModifyDBSubnetGroup", format!("{} is gone", req.id)))?;
        Ok(UpdateResult { outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        // A group still used by a deleting instance answers
        // InvalidDBSubnetGroupStateFault, which the engine retries.
        match p.rds().await.delete_db_subnet_group().db_subnet_group_name(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["DBSubnetGroupNotFoundFault"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteDBSubnetGroup", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let Some((inputs, outputs)) = describe(p, name, &req.inputs).await? else { return Ok(None) };
        let arn = outputs.get("arn").as_str().unwrap_or_default();
        if !has_identity(&list_tags(p, arn).await?, &req.stack, req.urn.as_str()) {
            return Ok(None);
        }
        Ok(unless_known(&req, Some(ReadResult { id: name.to_owned(), inputs, outputs })))
    }
}
