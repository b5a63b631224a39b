//! `TargetGroup`: where a load balancer sends requests, and how it checks
//! that the targets are healthy.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    Matcher, ProtocolEnum, TargetGroup as SdkTargetGroup, TargetGroupAttribute, TargetTypeEnum,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};
use serde::{Deserialize, Serialize};

use super::{
    arn_suffix, check_name, elb_tags, has_identity, tags_of_one, update_tags, with_tags, TargetGroupArn, ARNS_PER_CALL,
    GONE,
};
use crate::batch_read::{by_id, read_batched};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{map, tags_value, tags_with_identity, wait_for, In};

pub(crate) const TYPE: &str = "aws:elbv2:TargetGroup";

/// Schema: name, port, protocol, VPC and target type are fixed for a
/// group's life. A replacement creates the new group first, so listeners and
/// rules forwarding to the old one move over before it is deleted (AWS
/// refuses to delete a group in use); change the name along with the others,
/// since two groups cannot share one.
pub static SCHEMA: Schema = Schema {
    replace_on: &["name", "port", "protocol", "vpcId", "targetType"],
    taggable: true,
    graph_check: Some(check_names),
    ..Schema::new(TYPE, "aws")
};

/// Target group names are unique per account and region.
fn check_names(g: &iac_core::graph::Graph, out: &mut Vec<iac_core::Diagnostic>) {
    crate::checks::unique_names(g, TYPE, "name", false, out);
}

/// What a target group's targets are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TargetType {
    /// IP addresses: Fargate tasks and other `awsvpc` interfaces.
    #[default]
    Ip,
    /// EC2 instance ids.
    Instance,
}

impl TargetType {
    fn as_str(self) -> &'static str {
        match self {
            TargetType::Ip => "ip",
            TargetType::Instance => "instance",
        }
    }
}

/// The protocol from the load balancer to the targets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TargetProtocol {
    /// Plain HTTP.
    #[default]
    Http,
    /// HTTPS (targets present any certificate; it is not verified).
    Https,
}

impl TargetProtocol {
    fn as_str(self) -> &'static str {
        match self {
            TargetProtocol::Http => "HTTP",
            TargetProtocol::Https => "HTTPS",
        }
    }
}

/// A target group.
///
/// ```
/// use iac_aws::elbv2::{HealthCheck, TargetGroup};
/// let api = TargetGroup::builder()
///     .name("api")
///     .port(8080)
///     .vpc_id("vpc-0abc")
///     .health_check(HealthCheck::builder().path("/healthz").matcher("200-399").interval_seconds(15).build())
///     .deregistration_delay_seconds(30)
///     .build();
/// # let _ = api;
/// ```
#[derive(bon::Builder)]
pub struct TargetGroup {
    /// Its name (replaces when changed): up to 32 letters, digits and
    /// hyphens, not starting or ending with a hyphen.
    #[builder(into)]
    pub name: String,
    /// IP targets (Fargate) or instances (replaces when changed).
    #[builder(default)]
    pub target_type: TargetType,
    /// HTTP or HTTPS to the targets (replaces when changed).
    #[builder(default)]
    pub protocol: TargetProtocol,
    /// The targets' port (replaces when changed).
    pub port: u16,
    /// The VPC the targets are in (replaces when changed).
    #[builder(into)]
    pub vpc_id: Input<String>,
    /// How targets are checked (AWS's defaults when not given).
    #[builder(default)]
    pub health_check: HealthCheck,
    /// Seconds a deregistering target keeps its in-flight requests (0–3600).
    #[builder(default = 300)]
    pub deregistration_delay_seconds: i32,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// A target group's health check. Each field defaults to AWS's default for
/// an HTTP(S) target group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bon::Builder)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    /// The path requested (starts with `/`).
    #[builder(into, default = "/")]
    pub path: String,
    /// The HTTP codes that mean healthy: `200`, `200,202` or `200-399`
    /// (codes 200–499).
    #[builder(into, default = "200")]
    pub matcher: String,
    /// Seconds between checks (5–300).
    #[builder(default = 30)]
    pub interval_seconds: i32,
    /// Seconds without a response that fail a check (2–120, less than the
    /// interval).
    #[builder(default = 5)]
    pub timeout_seconds: i32,
    /// Consecutive successes that make a target healthy (2–10).
    #[builder(default = 5)]
    pub healthy_threshold: i32,
    /// Consecutive failures that make a target unhealthy (2–10).
    #[builder(default = 2)]
    pub unhealthy_threshold: i32,
}

impl Default for HealthCheck {
    fn default() -> Self {
        HealthCheck::builder().build()
    }
}

/// Outputs of a [`TargetGroup`].
pub struct TargetGroupOutputs {
    /// Its ARN (the resource's id), for listeners and rules.
    pub id: Output<TargetGroupArn>,
    /// Its ARN, as a string (for an ECS service's load balancers).
    pub arn: Output<String>,
    /// `targetgroup/<name>/<id>`, its `TargetGroup` dimension in CloudWatch.
    pub arn_suffix: Output<String>,
    /// Its name.
    pub name: Output<String>,
}

impl Resource for TargetGroup {
    type Outputs = TargetGroupOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("targetType", Value::from(self.target_type.as_str()).into()),
            ("protocol", Value::from(self.protocol.as_str()).into()),
            ("port", Value::from(self.port).into()),
            ("vpcId", self.vpc_id.to_expr()),
            ("healthCheck", Value::from_serialize(&self.health_check).into()),
            ("deregistrationDelaySeconds", Value::from(self.deregistration_delay_seconds).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> TargetGroupOutputs {
        TargetGroupOutputs {
            id: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            arn_suffix: Output::from_ref(urn, "arnSuffix"),
            name: Output::from_ref(urn, "name"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        check_name(c, &self.name);
        c.check(self.port >= 1, "port", || format!("{}: ports are 1 to 65535", self.port));
        let h = &self.health_check;
        c.check(h.path.starts_with('/') && h.path.len() <= 1024, "healthCheck.path", || {
            format!("`{}`: a path starting with / of at most 1024 characters", h.path)
        });
        if let Err(why) = check_matcher(&h.matcher) {
            c.fail("healthCheck.matcher", format!("`{}`: {why}", h.matcher));
        }
        c.check((5..=300).contains(&h.interval_seconds), "healthCheck.intervalSeconds", || {
            format!("{} s: between 5 and 300 seconds", h.interval_seconds)
        });
        c.check((2..=120).contains(&h.timeout_seconds), "healthCheck.timeoutSeconds", || {
            format!("{} s: between 2 and 120 seconds", h.timeout_seconds)
        });
        c.check(h.timeout_seconds < h.interval_seconds, "healthCheck.timeoutSeconds", || {
            format!("{} s must be less than the interval ({} s)", h.timeout_seconds, h.interval_seconds)
        });
        for (field, n) in [
            ("healthCheck.healthyThreshold", h.healthy_threshold),
            ("healthCheck.unhealthyThreshold", h.unhealthy_threshold),
        ] {
            c.check((2..=10).contains(&n), field, || format!("{n}: between 2 and 10 checks"));
        }
        c.check((0..=3600).contains(&self.deregistration_delay_seconds), "deregistrationDelaySeconds", || {
            format!("{} s: between 0 and 3600 seconds", self.deregistration_delay_seconds)
        });
    }
}

/// Checks an HTTP success-code matcher: codes or ranges of codes, comma
/// separated, each between 200 and 499.
fn check_matcher(m: &str) -> Result<(), String> {
    if m.is_empty() {
        return Err("empty; give codes like 200, 200,202 or 200-399".into());
    }
    for part in m.split(',') {
        let code = |s: &str| -> Result<u16, String> {
            match s.parse::<u16>() {
                Ok(c) if (200..=499).contains(&c) => Ok(c),
                Ok(c) => Err(format!("{c} is not between 200 and 499")),
                Err(_) => Err(format!("`{part}` is not a code or a range like 200-399")),
            }
        };
        match part.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi) = (code(lo)?, code(hi)?);
                if lo > hi {
                    return Err(format!("the range {lo}-{hi} is backwards"));
                }
            }
            None => {
                code(part)?;
            }
        }
    }
    Ok(())
}

// ---- handler ----------------------------------------------------------

const DEREGISTRATION: &str = "deregistration_delay.timeout_seconds";

fn health(i: &In<'_>, op: &str) -> Result<HealthCheck, ProviderError> {
    match i.json("healthCheck") {
        Some(j) => serde_json::from_value(j).map_err(|e| ProviderError::fatal(op, format!("input `healthCheck`: {e}"))),
        None => Ok(HealthCheck::default()),
    }
}

async fn set_deregistration_delay(p: &AwsProvider, arn: &str, i: &In<'_>) -> Result<(), ProviderError> {
    let seconds = i.opt_i64("deregistrationDelaySeconds").unwrap_or(300);
    p.elbv2()
        .await
        .modify_target_group_attributes()
        .target_group_arn(arn)
        .attributes(TargetGroupAttribute::builder().key(DEREGISTRATION).value(seconds.to_string()).build())
        .send()
        .await
        .map_err(|e| aws_err("ModifyTargetGroupAttributes", e))?;
    Ok(())
}

async fn get(p: &AwsProvider, arn: &str) -> Result<Option<SdkTargetGroup>, ProviderError> {
    match p.elbv2().await.describe_target_groups().target_group_arns(arn).send().await {
        Ok(o) => Ok(o.target_groups().first().cloned()),
        Err(e) if is_code(&e, GONE) => Ok(None),
        Err(e) => Err(aws_err("DescribeTargetGroups", e)),
    }
}

fn outputs(tg: &SdkTargetGroup) -> Value {
    let arn = tg.target_group_arn().unwrap_or_default();
    map([
        ("arn", Value::from(arn)),
        ("arnSuffix", Value::from(arn_suffix(arn, "targetgroup/"))),
        ("name", Value::from(tg.target_group_name())),
    ])
}

async fn describe(p: &AwsProvider, tg: &SdkTargetGroup) -> Result<Value, ProviderError> {
    let tags = tags_of_one(p, tg.target_group_arn().unwrap_or_default()).await?;
    describe_tagged(p, tg, &tags).await
}

/// [`describe`] with the tags already read.
async fn describe_tagged(
    p: &AwsProvider,
    tg: &SdkTargetGroup,
    tags: &BTreeMap<String, String>,
) -> Result<Value, ProviderError> {
    let elb = p.elbv2().await;
    let arn = tg.target_group_arn().unwrap_or_default();
    let attrs = elb
        .describe_target_group_attributes()
        .target_group_arn(arn)
        .send()
        .await
        .map_err(|e| aws_err("DescribeTargetGroupAttributes", e))?;
    let delay = attrs
        .attributes()
        .iter()
        .find(|a| a.key() == Some(DEREGISTRATION))
        .and_then(|a| a.value())
        .and_then(|v| v.parse::<i64>().ok());
    let check = map([
        ("path", Value::from(tg.health_check_path())),
        ("matcher", Value::from(tg.matcher().and_then(|m| m.http_code()))),
        ("intervalSeconds", Value::from(tg.health_check_interval_seconds())),
        ("timeoutSeconds", Value::from(tg.health_check_timeout_seconds())),
        ("healthyThreshold", Value::from(tg.healthy_threshold_count())),
        ("unhealthyThreshold", Value::from(tg.unhealthy_threshold_count())),
    ]);
    Ok(map([
        ("name", Value::from(tg.target_group_name())),
        ("targetType", Value::from(tg.target_type().map(|t| t.as_str()))),
        ("protocol", Value::from(tg.protocol().map(|p| p.as_str()))),
        ("port", Value::from(tg.port())),
        ("vpcId", Value::from(tg.vpc_id())),
        ("healthCheck", check),
        ("deregistrationDelaySeconds", Value::from(delay)),
        ("tags", tags_value(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))),
    ]))
}

pub(crate) struct TargetGroupHandler;

#[async_trait]
impl Handler for TargetGroupHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateTargetGroup";
        let i = In::new(&req.inputs, op);
        let h = health(&i, op)?;
        let out = p
            .elbv2()
            .await
            .create_target_group()
            .name(i.str("name")?)
            .target_type(TargetTypeEnum::from(i.opt_str("targetType").unwrap_or("ip")))
            .protocol(ProtocolEnum::from(i.opt_str("protocol").unwrap_or("HTTP")))
            .set_port(i.opt_i32("port"))
            .vpc_id(i.str("vpcId")?)
            .health_check_enabled(true)
            .health_check_path(&h.path)
            .matcher(Matcher::builder().http_code(&h.matcher).build())
            .health_check_interval_seconds(h.interval_seconds)
            .health_check_timeout_seconds(h.timeout_seconds)
            .healthy_threshold_count(h.healthy_threshold)
            .unhealthy_threshold_count(h.unhealthy_threshold)
            .set_tags(Some(elb_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        let tg =
            out.target_groups().first().cloned().ok_or_else(|| ProviderError::fatal(op, "no target group returned"))?;
        let arn = tg.target_group_arn().unwrap_or_default().to_owned();
        set_deregistration_delay(p, &arn, &i).await?;
        Ok(CreateResult { id: arn, outputs: outputs(&tg) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(tg) = get(p, &req.id).await? else { return Ok(None) };
        Ok(Some(ReadResult { inputs: describe(p, &tg).await?, outputs: outputs(&tg), id: req.id }))
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        let elb = p.elbv2().await;
        read_batched(
            reqs,
            ARNS_PER_CALL,
            by_id,
            |_, arns| async move {
                let described = elb.describe_target_groups().set_target_group_arns(Some(arns)).send().await;
                let described = described.map(|o| o.target_groups().to_vec());
                with_tags(p, "DescribeTargetGroups", described, |tg| tg.target_group_arn()).await
            },
            |req, (tg, tags)| async move {
                Ok(Some(ReadResult {
                    inputs: describe_tagged(p, &tg, &tags).await?,
                    outputs: outputs(&tg),
                    id: req.id,
                }))
            },
            |req| self.read(p, req),
        )
        .await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let op = "ModifyTargetGroup";
        let i = In::new(&req.inputs, op);
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        let elb = p.elbv2().await;
        if changed("healthCheck") {
            let h = health(&i, op)?;
            elb.modify_target_group()
                .target_group_arn(&req.id)
                .health_check_path(&h.path)
                .matcher(Matcher::builder().http_code(&h.matcher).build())
                .health_check_interval_seconds(h.interval_seconds)
                .health_check_timeout_seconds(h.timeout_seconds)
                .healthy_threshold_count(h.healthy_threshold)
                .unhealthy_threshold_count(h.unhealthy_threshold)
                .send()
                .await
                .map_err(|e| aws_err(op, e))?;
        }
        if changed("deregistrationDelaySeconds") {
            set_deregistration_delay(p, &req.id, &i).await?;
        }
        if changed("tags") {
            update_tags(elb, &req.id, &In::new(&req.old_inputs, "").tags(), &i.tags()).await?;
        }
        let tg = get(p, &req.id).await?.ok_or_else(|| ProviderError::fatal(op, "the target group is gone"))?;
        Ok(UpdateResult { outputs: outputs(&tg) })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let op = "DeleteTargetGroup";
        match p.elbv2().await.delete_target_group().target_group_arn(&req.id).send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, GONE) => return Ok(()),
            // A listener that just moved away can still hold it for a moment.
            Err(e) if is_code(&e, &["ResourceInUse"]) => {
                return Err(ProviderError { kind: ErrorKind::Retriable, ..aws_err(op, e) })
            }
            Err(e) => return Err(aws_err(op, e)),
        }
        wait_for(&format!("target group {} deleted", req.id), req.timeout, Duration::from_secs(300), || async {
            Ok(get(p, &req.id).await?.is_none().then_some(()))
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let elb = p.elbv2().await;
        let tg = match elb.describe_target_groups().names(name).send().await {
            Ok(o) => o.target_groups().first().cloned(),
            Err(e) if is_code(&e, GONE) => None,
            Err(e) => return Err(aws_err("DescribeTargetGroups", e)),
        };
        let Some(tg) = tg else { return Ok(None) };
        // Names are unique in the region: the one group holding it.
        let Some(arn) = tg.target_group_arn().filter(|arn| !req.is_known(arn)).map(str::to_owned) else {
            return Ok(None);
        };
        if !has_identity(&tags_of_one(p, &arn).await?, &req.stack, req.urn.as_str()) {
            return Ok(None);
        }
        Ok(Some(ReadResult { inputs: describe(p, &tg).await?, outputs: outputs(&tg), id: arn }))
    }
}

#[cfg(test)]
mod tests {
    use super::check_matcher;

    #[test]
    fn matchers() {
        for ok in ["200", "200,202", "200-399", "200-299,404"] {
            assert_eq!(check_matcher(ok), Ok(()), "{ok}");
        }
        for bad in ["", "2xx", "100", "200-", "399-200", "200-600", "200;201"] {
            assert!(check_matcher(bad).is_err(), "{bad}");
        }
    }
}
