//! `SecurityGroup` and `SecurityGroupRule`.
//!
//! Rules are separate resources (like Terraform's
//! `aws_vpc_security_group_ingress_rule`), so a rule can name another group
//! as its source without a cycle between the two groups.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, ResourceType, SecurityGroupRuleRequest, SecurityGroupRuleUpdate, UserIdGroupPair,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use super::{identity_filters, tag_map, tag_spec, update_tags, SecurityGroupId, VpcId, EC2_FILTER_VALUES};
use crate::batch_read::{by, read_batched, read_by_ids, Chunk};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{map, opt_expr, tags_value, tags_with_identity, unless_known, wait_for, In};

pub(crate) const GROUP: &str = "aws:ec2:SecurityGroup";
pub(crate) const RULE: &str = "aws:ec2:SecurityGroupRule";

/// Schema of [`SecurityGroup`]: AWS cannot rename a group, change its
/// description or move it to another VPC. A group's name is unique in its
/// VPC, so a replacement deletes the old group first.
pub static GROUP_SCHEMA: Schema = Schema {
    replace_on: &["name", "description", "vpcId"],
    delete_before_replace: true,
    taggable: true,
    ..Schema::new(GROUP, "aws")
};

/// Schema of [`SecurityGroupRule`]: a rule is what it allows, so everything
/// but its description forces a new rule.
pub static RULE_SCHEMA: Schema = Schema {
    replace_on: &[
        "securityGroupId",
        "direction",
        "protocol",
        "fromPort",
        "toPort",
        "cidrIpv4",
        "sourceSecurityGroupId",
    ],
    ..Schema::new(RULE, "aws")
};

/// A security group of a VPC. Its rules are [`SecurityGroupRule`]s.
///
/// ```
/// use iac_aws::ec2::SecurityGroup;
/// let sg = SecurityGroup::builder()
///     .name("web")
///     .description("HTTPS from the internet")
///     .vpc_id("vpc-0123456789abcdef0")
///     .build();
/// # let _ = sg;
/// ```
#[derive(bon::Builder)]
pub struct SecurityGroup {
    /// The group's name, unique in its VPC (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// What the group is for (replaces when changed).
    #[builder(into, default = "Managed by iac")]
    pub description: String,
    /// The VPC (replaces when changed).
    #[builder(into)]
    pub vpc_id: Input<VpcId>,
    /// Keep AWS's default rule allowing all outbound traffic. Set `false`
    /// to allow only what egress [`SecurityGroupRule`]s allow.
    #[builder(default = true)]
    pub allow_all_egress: bool,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`SecurityGroup`].
pub struct SecurityGroupOutputs {
    /// Its id (`sg-…`).
    pub id: Output<SecurityGroupId>,
    /// Its ARN.
    pub arn: Output<String>,
}

impl Resource for SecurityGroup {
    type Outputs = SecurityGroupOutputs;
    fn schema() -> &'static Schema {
        &GROUP_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("description", Value::from(self.description.as_str()).into()),
            ("vpcId", self.vpc_id.to_expr()),
            ("allowAllEgress", Value::from(self.allow_all_egress).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> SecurityGroupOutputs {
        SecurityGroupOutputs { id: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
    fn validate(&self, c: &mut Checks) {
        crate::checks::name(c, "name", &self.name, 255, |ch| ch.is_ascii() && !ch.is_ascii_control(), "ASCII only");
        c.check(!self.name.starts_with("sg-"), "name", || {
            format!("`{}`: a group name may not start with `sg-`", self.name)
        });
        c.check(self.description.len() <= 255 && self.description.is_ascii(), "description", || {
            "at most 255 ASCII characters".into()
        });
    }
}

/// Which traffic a [`SecurityGroupRule`] allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Traffic into the group's members.
    Ingress,
    /// Traffic out of the group's members.
    Egress,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

/// One rule of a [`SecurityGroup`]: a protocol and port range, from (or to)
/// a CIDR block or another group.
///
/// ```
/// use iac_aws::ec2::{Direction, SecurityGroupRule};
/// // HTTPS from anywhere.
/// let https = SecurityGroupRule::builder()
///     .security_group_id("sg-0123456789abcdef0")
///     .direction(Direction::Ingress)
///     .protocol("tcp")
///     .from_port(443)
///     .to_port(443)
///     .cidr_ipv4("0.0.0.0/0")
///     .build();
/// // Postgres from the application tier's group.
/// let db = SecurityGroupRule::builder()
///     .security_group_id("sg-0123456789abcdef0")
///     .direction(Direction::Ingress)
///     .protocol("tcp")
///     .from_port(5432)
///     .to_port(5432)
///     .source_security_group_id("sg-0fedcba9876543210")
///     .description("app to db")
///     .build();
/// # let _ = (https, db);
/// ```
#[derive(bon::Builder)]
pub struct SecurityGroupRule {
    /// The group the rule belongs to.
    #[builder(into)]
    pub security_group_id: Input<SecurityGroupId>,
    /// Ingress or egress.
    pub direction: Direction,
    /// `tcp`, `udp`, `icmp`, a protocol number, or `-1` (`all`) for every
    /// protocol.
    #[builder(into)]
    pub protocol: String,
    /// First port (ICMP: the type); unset for all protocols.
    pub from_port: Option<i32>,
    /// Last port (ICMP: the code); unset for all protocols.
    pub to_port: Option<i32>,
    /// The peer as an IPv4 range.
    #[builder(into)]
    pub cidr_ipv4: Option<String>,
    /// The peer as another security group.
    #[builder(into)]
    pub source_security_group_id: Option<Input<SecurityGroupId>>,
    /// What the rule is for (updated in place).
    #[builder(into)]
    pub description: Option<String>,
}

/// Outputs of a [`SecurityGroupRule`].
pub struct SecurityGroupRuleOutputs {
    /// Its id (`sgr-…`).
    pub id: Output<String>,
}

impl SecurityGroupRule {
    /// The protocol as AWS records it (`all` → `-1`).
    fn protocol_code(&self) -> String {
        match self.protocol.to_ascii_lowercase().as_str() {
            "all" | "-1" => "-1".to_owned(),
            p => p.to_owned(),
        }
    }
}

impl Resource for SecurityGroupRule {
    type Outputs = SecurityGroupRuleOutputs;
    fn schema() -> &'static Schema {
        &RULE_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("securityGroupId", self.security_group_id.to_expr()),
            ("direction", Value::from(self.direction.as_str()).into()),
            ("protocol", Value::from(self.protocol_code()).into()),
            ("fromPort", Value::from(self.from_port.map(i64::from)).into()),
            ("toPort", Value::from(self.to_port.map(i64::from)).into()),
            ("cidrIpv4", Value::from(self.cidr_ipv4.clone()).into()),
            ("sourceSecurityGroupId", opt_expr(self.source_security_group_id.as_ref())),
            ("description", Value::from(self.description.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> SecurityGroupRuleOutputs {
        SecurityGroupRuleOutputs { id: Output::from_ref(urn, "id") }
    }
    fn validate(&self, c: &mut Checks) {
        let peers = self.cidr_ipv4.is_some() as u8 + self.source_security_group_id.is_some() as u8;
        c.check(peers == 1, "cidrIpv4", || "a rule needs exactly one peer: cidrIpv4 or sourceSecurityGroupId".into());
        if let Some(cidr) = &self.cidr_ipv4 {
            crate::checks::cidr(c, "cidrIpv4", cidr);
        }
        let proto = self.protocol_code();
        match proto.as_str() {
            "-1" => c.check(self.from_port.is_none() && self.to_port.is_none(), "fromPort", || {
                "a rule for all protocols covers every port; leave fromPort and toPort unset".into()
            }),
            "tcp" | "udp" | "6" | "17" => match (self.from_port, self.to_port) {
                (Some(from), Some(to)) => {
                    c.check((0..=65535).contains(&from), "fromPort", || format!("{from} is not a port (0–65535)"));
                    c.check((0..=65535).contains(&to), "toPort", || format!("{to} is not a port (0–65535)"));
                    c.check(from <= to, "toPort", || format!("the range {from}–{to} ends before it starts"));
                }
                _ => c.fail("fromPort", format!("a `{proto}` rule needs fromPort and toPort")),
            },
            "icmp" | "1" => c.check(self.from_port.is_some() && self.to_port.is_some(), "fromPort", || {
                "an ICMP rule needs fromPort (type) and toPort (code); -1 for any".into()
            }),
            p if p.parse::<u8>().is_ok() => {}
            p => c.fail("protocol", format!("`{p}` is not tcp, udp, icmp, all (-1) or a protocol number")),
        }
        if let Some(d) = &self.description {
            c.check(d.len() <= 255, "description", || "at most 255 characters".into());
        }
    }
}

async fn describe_group(p: &AwsProvider, id: &str) -> Result<Option<aws_sdk_ec2::types::SecurityGroup>, ProviderError> {
    match p.ec2().await.describe_security_groups().group_ids(id).send().await {
        Ok(o) => Ok(o.security_groups().first().cloned()),
        Err(e) if is_code(&e, &["InvalidGroup.NotFound"]) => Ok(None),
        Err(e) => Err(aws_err("DescribeSecurityGroups", e)),
    }
}

/// Many groups in one call (the `group-id` filter answers only those that
/// exist, where asking by id fails on the first that does not).
async fn describe_groups(
    p: &AwsProvider,
    ids: Vec<String>,
) -> Result<Chunk<aws_sdk_ec2::types::SecurityGroup>, ProviderError> {
    // A refresh read its VPCs' groups ahead: if they show every id, they
    // answer; otherwise the groups are asked for.
    if let Some(ahead) = p.vpcs_read_ahead() {
        let found: Vec<_> = ahead
            .groups
            .iter()
            .filter(|g| g.group_id().is_some_and(|id| ids.iter().any(|i| i == id)))
            .cloned()
            .collect();
        if found.len() == ids.len() {
            return Ok(by(found, |g| g.group_id()));
        }
    }
    let out = p
        .ec2()
        .await
        .describe_security_groups()
        .filters(Filter::builder().name("group-id").set_values(Some(ids)).build())
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| aws_err("DescribeSecurityGroups", e))?;
    Ok(by(out, |g| g.group_id()))
}

fn group_read(req: ReadRequest, g: &aws_sdk_ec2::types::SecurityGroup) -> ReadResult {
    let (inputs, outputs) = group_description(g);
    ReadResult { id: req.id, inputs, outputs }
}

/// Whether a permission is AWS's default "all traffic to anywhere".
fn is_allow_all(perm: &IpPermission) -> bool {
    perm.ip_protocol() == Some("-1") && perm.ip_ranges().iter().any(|r| r.cidr_ip() == Some("0.0.0.0/0"))
}

fn allow_all() -> IpPermission {
    IpPermission::builder().ip_protocol("-1").ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build()).build()
}

fn group_description(g: &aws_sdk_ec2::types::SecurityGroup) -> (Value, Value) {
    let inputs = map([
        ("name", Value::from(g.group_name())),
        ("description", Value::from(g.description())),
        ("vpcId", Value::from(g.vpc_id())),
        ("allowAllEgress", Value::from(g.ip_permissions_egress().iter().any(is_allow_all))),
        ("tags", tags_value(tag_map(g.tags()))),
    ]);
    let outputs = map([("arn", Value::from(g.security_group_arn()))]);
    (inputs, outputs)
}

async fn set_allow_all_egress(p: &AwsProvider, id: &str, allow: bool) -> Result<(), ProviderError> {
    let ec2 = p.ec2().await;
    if allow {
        match ec2.authorize_security_group_egress().group_id(id).ip_permissions(allow_all()).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["InvalidPermission.Duplicate"]) => Ok(()),
            Err(e) => Err(aws_err("AuthorizeSecurityGroupEgress", e)),
        }
    } else {
        match ec2.revoke_security_group_egress().group_id(id).ip_permissions(allow_all()).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["InvalidPermission.NotFound"]) => Ok(()),
            Err(e) => Err(aws_err("RevokeSecurityGroupEgress", e)),
        }
    }
}

pub(crate) struct SecurityGroupHandler;

#[async_trait]
impl Handler for SecurityGroupHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateSecurityGroup");
        let out = p
            .ec2()
            .await
            .create_security_group()
            .group_name(i.str("name")?)
            .description(i.str("description")?)
            .vpc_id(i.str("vpcId")?)
            .tag_specifications(tag_spec(
                ResourceType::SecurityGroup,
                &tags_with_identity(&req.inputs, &req.stack, &req.urn),
            ))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateSecurityGroup", e))?;
        let id = out.group_id().ok_or_else(|| ProviderError::fatal("CreateSecurityGroup", "no group id returned"))?;
        if !i.opt_bool("allowAllEgress").unwrap_or(true) {
            set_allow_all_egress(p, id, false).await?;
        }
        let g = describe_group(p, id)
            .await?
            .ok_or_else(|| ProviderError::retriable("DescribeSecurityGroups", "group not visible yet"))?;
        Ok(CreateResult { id: id.to_owned(), outputs: group_description(&g).1 })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe_group(p, &req.id).await?.map(|g| group_read(req, &g)))
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        read_by_ids(reqs, EC2_FILTER_VALUES, |ids| describe_groups(p, ids), group_read, |req| self.read(p, req)).await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, ""), In::new(&req.inputs, "UpdateSecurityGroup"));
        if req.changed.iter().any(|k| k == "allowAllEgress") {
            set_allow_all_egress(p, &req.id, new.opt_bool("allowAllEgress").unwrap_or(true)).await?;
        }
        if req.changed.iter().any(|k| k == "tags") {
            update_tags(p.ec2().await, &req.id, &old.tags(), &new.tags()).await?;
        }
        let g = describe_group(p, &req.id)
            .await?
            .ok_or_else(|| ProviderError::fatal("DescribeSecurityGroups", "the group is gone"))?;
        Ok(UpdateResult { outputs: group_description(&g).1 })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        // A group stays "in use" for minutes after the network interfaces of
        // a deleted load balancer, task or function go: keep trying until the
        // delete timeout.
        let ec2 = p.ec2().await;
        wait_for(&format!("security group {} deletable", req.id), req.timeout, Duration::from_secs(900), || async {
            match ec2.delete_security_group().group_id(&req.id).send().await {
                Ok(_) => Ok(Some(())),
                Err(e) if is_code(&e, &["InvalidGroup.NotFound"]) => Ok(Some(())),
                Err(e) if is_code(&e, &["DependencyViolation", "InvalidGroup.InUse"]) => {
                    tracing::debug!(group = %req.id, "security group still in use; retrying");
                    Ok(None)
                }
                Err(e) => Err(aws_err("DeleteSecurityGroup", e)),
            }
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let out = p
            .ec2()
            .await
            .describe_security_groups()
            .set_filters(Some(identity_filters(&req.stack, &req.urn)))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_err("DescribeSecurityGroups", e))?;
        // The old copy of a replace carries the same tags: look past it.
        let group = out.iter().find(|g| g.group_id().is_some_and(|id| !req.is_known(id)));
        Ok(group.and_then(|g| {
            let (inputs, outputs) = group_description(g);
            Some(ReadResult { id: g.group_id()?.to_owned(), inputs, outputs })
        }))
    }
}

/// The permission a rule's inputs describe.
fn permission(i: In<'_>) -> Result<IpPermission, ProviderError> {
    let mut perm = IpPermission::builder()
        .ip_protocol(i.str("protocol")?)
        .set_from_port(i.opt_i32("fromPort"))
        .set_to_port(i.opt_i32("toPort"));
    let description = i.opt_str("description").map(str::to_owned);
    if let Some(cidr) = i.opt_str("cidrIpv4") {
        perm = perm.ip_ranges(IpRange::builder().cidr_ip(cidr).set_description(description).build());
    } else if let Some(group) = i.opt_str("sourceSecurityGroupId") {
        perm =
            perm.user_id_group_pairs(UserIdGroupPair::builder().group_id(group).set_description(description).build());
    }
    Ok(perm.build())
}

fn rule_inputs(r: &aws_sdk_ec2::types::SecurityGroupRule) -> Value {
    // AWS reports "all ports" as -1/-1; the inputs leave them unset.
    let port = |p: Option<i32>| if r.ip_protocol() == Some("-1") { None } else { p.map(i64::from) };
    map([
        ("securityGroupId", Value::from(r.group_id())),
        ("direction", Value::from(if r.is_egress() == Some(true) { "egress" } else { "ingress" })),
        ("protocol", Value::from(r.ip_protocol())),
        ("fromPort", Value::from(port(r.from_port()))),
        ("toPort", Value::from(port(r.to_port()))),
        ("cidrIpv4", Value::from(r.cidr_ipv4())),
        ("sourceSecurityGroupId", Value::from(r.referenced_group_info().and_then(|g| g.group_id()))),
        ("description", Value::from(r.description().filter(|d| !d.is_empty()))),
    ])
}

async fn describe_rules(
    p: &AwsProvider,
    group: &str,
) -> Result<Vec<aws_sdk_ec2::types::SecurityGroupRule>, ProviderError> {
    Ok(describe_rules_of(p, vec![group.to_owned()]).await?.unwrap_or_default())
}

/// The rules of `groups`, every page; `None` when EC2 refuses the call
/// because a group is gone.
async fn describe_rules_of(
    p: &AwsProvider,
    groups: Vec<String>,
) -> Result<Option<Vec<aws_sdk_ec2::types::SecurityGroupRule>>, ProviderError> {
    match p
        .ec2()
        .await
        .describe_security_group_rules()
        .filters(Filter::builder().name("group-id").set_values(Some(groups)).build())
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
    {
        Ok(rules) => Ok(Some(rules)),
        Err(e) if is_code(&e, &["InvalidGroup.NotFound"]) => Ok(None),
        Err(e) => Err(aws_err("DescribeSecurityGroupRules", e)),
    }
}

/// A rule's group, what its rules are described by.
fn rule_group(req: &ReadRequest) -> Result<(String, String), ProviderError> {
    let group = In::new(&req.inputs, "DescribeSecurityGroupRules").str("securityGroupId")?;
    Ok((String::new(), group.to_owned()))
}

fn rule_read(req: ReadRequest, rules: &[aws_sdk_ec2::types::SecurityGroupRule]) -> Option<ReadResult> {
    let r = rules.iter().find(|r| r.security_group_rule_id() == Some(req.id.as_str()))?;
    Some(ReadResult { inputs: rule_inputs(r), id: req.id, outputs: Value::map() })
}

pub(crate) struct SecurityGroupRuleHandler;

#[async_trait]
impl Handler for SecurityGroupRuleHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "AuthorizeSecurityGroupRule");
        let ec2 = p.ec2().await;
        let group = i.str("securityGroupId")?;
        let rules = if i.opt_str("direction") == Some("egress") {
            ec2.authorize_security_group_egress()
                .group_id(group)
                .ip_permissions(permission(i)?)
                .customize()
                .no_sdk_retry()
                .send()
                .await
                .map_err(|e| aws_err("AuthorizeSecurityGroupEgress", e))?
                .security_group_rules
        } else {
            ec2.authorize_security_group_ingress()
                .group_id(group)
                .ip_permissions(permission(i)?)
                .customize()
                .no_sdk_retry()
                .send()
                .await
                .map_err(|e| aws_err("AuthorizeSecurityGroupIngress", e))?
                .security_group_rules
        };
        let id = rules
            .unwrap_or_default()
            .into_iter()
            .find_map(|r| r.security_group_rule_id)
            .ok_or_else(|| ProviderError::fatal("AuthorizeSecurityGroupRule", "no rule id returned"))?;
        Ok(CreateResult { id, outputs: Value::map() })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let (_, group) = rule_group(&req)?;
        let rules = describe_rules(p, &group).await?;
        Ok(rule_read(req, &rules))
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        // By their groups, as the single read: a group's rules in one call.
        read_batched(
            reqs,
            EC2_FILTER_VALUES,
            rule_group,
            |_, groups| async move {
                let Some(rules) = describe_rules_of(p, groups).await? else { return Ok(Chunk::one_is_gone()) };
                let mut by_group: HashMap<String, Vec<aws_sdk_ec2::types::SecurityGroupRule>> = HashMap::new();
                for r in rules {
                    by_group.entry(r.group_id().unwrap_or_default().to_owned()).or_default().push(r);
                }
                Ok(Chunk::Found(by_group))
            },
            |req, rules| async move { Ok(rule_read(req, &rules)) },
            |req| self.read(p, req),
        )
        .await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        // Only the description updates in place (see the schema).
        let i = In::new(&req.inputs, "ModifySecurityGroupRules");
        let mut rule = SecurityGroupRuleRequest::builder()
            .ip_protocol(i.str("protocol")?)
            .set_from_port(i.opt_i32("fromPort"))
            .set_to_port(i.opt_i32("toPort"))
            .set_cidr_ipv4(i.opt_str("cidrIpv4").map(str::to_owned))
            .set_referenced_group_id(i.opt_str("sourceSecurityGroupId").map(str::to_owned))
            .description(i.opt_str("description").unwrap_or(""));
        if i.opt_str("protocol") == Some("-1") {
            rule = rule.from_port(-1).to_port(-1);
        }
        p.ec2()
            .await
            .modify_security_group_rules()
            .group_id(i.str("securityGroupId")?)
            .security_group_rules(
                SecurityGroupRuleUpdate::builder()
                    .security_group_rule_id(&req.id)
                    .security_group_rule(rule.build())
                    .build(),
            )
            .send()
            .await
            .map_err(|e| aws_err("ModifySecurityGroupRules", e))?;
        Ok(UpdateResult { outputs: Value::map() })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let i = In::new(&req.inputs, "RevokeSecurityGroupRule");
        let ec2 = p.ec2().await;
        let group = i.str("securityGroupId")?;
        let gone = ["InvalidPermission.NotFound", "InvalidGroup.NotFound", "InvalidSecurityGroupRuleId.NotFound"];
        let res = if i.opt_str("direction") == Some("egress") {
            ec2.revoke_security_group_egress()
                .group_id(group)
                .security_group_rule_ids(&req.id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| (is_code(&e, &gone), aws_err("RevokeSecurityGroupEgress", e)))
        } else {
            ec2.revoke_security_group_ingress()
                .group_id(group)
                .security_group_rule_ids(&req.id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| (is_code(&e, &gone), aws_err("RevokeSecurityGroupIngress", e)))
        };
        match res {
            Ok(()) | Err((true, _)) => Ok(()),
            Err((false, e)) => Err(e),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // A rule is what it allows: AWS refuses a duplicate, so the rule with
        // the same group, direction, protocol, ports and peer is this one.
        let Some(group) = In::new(&req.inputs, "").opt_str("securityGroupId") else { return Ok(None) };
        let key = |v: &Value| {
            ["direction", "protocol", "fromPort", "toPort", "cidrIpv4", "sourceSecurityGroupId"]
                .map(|k| v.get(k).clone())
        };
        let want = key(&req.inputs);
        let found = describe_rules(p, group).await?.iter().find_map(|r| {
            let inputs = rule_inputs(r);
            (key(&inputs) == want).then(|| ReadResult {
                id: r.security_group_rule_id().unwrap_or_default().to_owned(),
                inputs,
                outputs: Value::map(),
            })
        });
        Ok(unless_known(&req, found))
    }
}
