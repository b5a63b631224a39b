//! `LoadBalancer`: an application load balancer.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    LoadBalancer as SdkLoadBalancer, LoadBalancerAttribute, LoadBalancerSchemeEnum, LoadBalancerStateEnum,
    LoadBalancerTypeEnum,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use super::{
    arn_suffix, check_name, elb_tags, has_identity, tags_of_one, update_tags, with_tags, LoadBalancerArn,
    ARNS_PER_CALL, GONE,
};
use crate::batch_read::{by_id, read_batched};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{
    drop_computed_when_unset, list_expr, map, ordered_like, tags_value, tags_with_identity, wait_for, In,
};

pub(crate) const TYPE: &str = "aws:elbv2:LoadBalancer";

/// Schema: the name (unique in the region, part of the DNS name) and the
/// scheme are fixed for a load balancer's life; a replacement deletes the
/// old one first, which takes its listeners and rules with it. Subnets,
/// security groups and attributes update in place.
pub static SCHEMA: Schema =
    Schema { replace_on: &["name", "scheme"], delete_before_replace: true, taggable: true, ..Schema::new(TYPE, "aws") };

/// Whether a load balancer faces the internet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scheme {
    /// Reachable from the internet (public subnets).
    #[default]
    InternetFacing,
    /// Reachable from inside the VPC only.
    Internal,
}

impl Scheme {
    fn as_str(self) -> &'static str {
        match self {
            Scheme::InternetFacing => "internet-facing",
            Scheme::Internal => "internal",
        }
    }
}

/// An application load balancer.
///
/// ```no_run
/// use iac_aws::elbv2::{AccessLogs, LoadBalancer};
/// fn alb(s: &iac_core::Stack, subnets: Vec<iac_core::Input<String>>, sg: iac_core::Input<String>) {
///     let alb = s.add(
///         "alb",
///         LoadBalancer::builder()
///             .name("web")
///             .subnets(subnets)
///             .security_groups([sg])
///             .idle_timeout_seconds(120)
///             .deletion_protection(true)
///             .access_logs(AccessLogs::builder().bucket("acme-alb-logs").prefix("web").build())
///             .build(),
///     );
///     s.export("url", alb.dns_name.clone());
/// }
/// ```
#[derive(bon::Builder)]
pub struct LoadBalancer {
    /// Its name (replaces when changed): up to 32 letters, digits and
    /// hyphens, not starting or ending with a hyphen nor starting with
    /// `internal-`.
    #[builder(into)]
    pub name: String,
    /// Internet-facing or internal (replaces when changed).
    #[builder(default)]
    pub scheme: Scheme,
    /// Subnets (ids or references) in at least two availability zones, one
    /// per zone.
    #[builder(with = |ids: impl IntoIterator<Item = impl Into<Input<String>>>| ids.into_iter().map(Into::into).collect())]
    pub subnets: Vec<Input<String>>,
    /// Security groups (up to 5); unset, AWS uses the VPC's default group.
    #[builder(default, with = |ids: impl IntoIterator<Item = impl Into<Input<String>>>| ids.into_iter().map(Into::into).collect())]
    pub security_groups: Vec<Input<String>>,
    /// Seconds a connection may be idle (1–4000).
    #[builder(default = 60)]
    pub idle_timeout_seconds: i32,
    /// Refuse deletion (a destroy fails until this is turned off and applied).
    #[builder(default)]
    pub deletion_protection: bool,
    /// Access logs to an S3 bucket.
    pub access_logs: Option<AccessLogs>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Where a load balancer writes its access logs. The bucket's policy must
/// let the region's load balancing account write to it.
#[derive(Clone, Debug, bon::Builder)]
pub struct AccessLogs {
    /// The S3 bucket.
    #[builder(into)]
    pub bucket: Input<String>,
    /// A key prefix (no leading or trailing `/`, not containing `AWSLogs`).
    #[builder(into)]
    pub prefix: Option<String>,
    /// Whether logs are written.
    #[builder(default = true)]
    pub enabled: bool,
}

/// Outputs of a [`LoadBalancer`].
pub struct LoadBalancerOutputs {
    /// Its ARN (the resource's id).
    pub id: Output<LoadBalancerArn>,
    /// Its ARN, as a string.
    pub arn: Output<String>,
    /// Its DNS name, for CNAME or alias records.
    pub dns_name: Output<String>,
    /// The Route 53 hosted zone of its DNS name, for alias records.
    pub zone_id: Output<String>,
    /// `app/<name>/<id>`, its `LoadBalancer` dimension in CloudWatch.
    pub arn_suffix: Output<String>,
    /// Its VPC.
    pub vpc_id: Output<String>,
}

impl Resource for LoadBalancer {
    type Outputs = LoadBalancerOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        let logs = self.access_logs.as_ref().map_or(Expr::Value(Value::Null), |l| {
            props([
                ("bucket", l.bucket.to_expr()),
                ("prefix", Value::from(l.prefix.clone()).into()),
                ("enabled", Value::from(l.enabled).into()),
            ])
        });
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("scheme", Value::from(self.scheme.as_str()).into()),
            ("subnets", list_expr(&self.subnets)),
            ("securityGroups", list_expr(&self.security_groups)),
            ("idleTimeoutSeconds", Value::from(self.idle_timeout_seconds).into()),
            ("deletionProtection", Value::from(self.deletion_protection).into()),
            ("accessLogs", logs),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> LoadBalancerOutputs {
        LoadBalancerOutputs {
            id: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            dns_name: Output::from_ref(urn, "dnsName"),
            zone_id: Output::from_ref(urn, "zoneId"),
            arn_suffix: Output::from_ref(urn, "arnSuffix"),
            vpc_id: Output::from_ref(urn, "vpcId"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        check_name(c, &self.name);
        c.check(!self.name.starts_with("internal-"), "name", || {
            format!("`{}`: a load balancer's name cannot start with `internal-`", self.name)
        });
        c.check(self.subnets.len() >= 2, "subnets", || {
            format!(
                "{} subnet(s) given; an application load balancer needs subnets in at least two zones",
                self.subnets.len()
            )
        });
        let plain: Vec<&String> = self.subnets.iter().filter_map(Input::value).collect();
        for (n, s) in plain.iter().enumerate() {
            c.check(!plain[..n].contains(s), "subnets", || format!("`{s}` is listed twice"));
        }
        c.check(self.security_groups.len() <= 5, "securityGroups", || {
            format!("{} security groups given; a load balancer takes at most 5", self.security_groups.len())
        });
        c.check((1..=4000).contains(&self.idle_timeout_seconds), "idleTimeoutSeconds", || {
            format!("{} s: between 1 and 4000 seconds", self.idle_timeout_seconds)
        });
        if let Some(l) = &self.access_logs {
            if let Some(b) = l.bucket.value() {
                c.check(!b.is_empty(), "accessLogs.bucket", || "the bucket name is empty".into());
            }
            if let Some(p) = &l.prefix {
                c.check(!p.starts_with('/') && !p.ends_with('/'), "accessLogs.prefix", || {
                    format!("`{p}` must not start or end with /")
                });
                c.check(!p.contains("AWSLogs"), "accessLogs.prefix", || {
                    format!("`{p}` must not contain `AWSLogs` (AWS adds it)")
                });
            }
        }
    }
}

// ---- handler ----------------------------------------------------------

const IDLE: &str = "idle_timeout.timeout_seconds";
const DELETION: &str = "deletion_protection.enabled";
const LOGS_ON: &str = "access_logs.s3.enabled";
const LOGS_BUCKET: &str = "access_logs.s3.bucket";
const LOGS_PREFIX: &str = "access_logs.s3.prefix";

fn attr(key: &str, value: impl Into<String>) -> LoadBalancerAttribute {
    LoadBalancerAttribute::builder().key(key).value(value).build()
}

/// The attributes the inputs set, every one of them (idempotent to send).
fn attributes(i: &In<'_>) -> Vec<LoadBalancerAttribute> {
    let mut out = vec![
        attr(IDLE, i.opt_i64("idleTimeoutSeconds").unwrap_or(60).to_string()),
        attr(DELETION, i.bool("deletionProtection").to_string()),
    ];
    let logs = i.value("accessLogs");
    if logs.is_empty_like() {
        out.push(attr(LOGS_ON, "false"));
    } else {
        out.push(attr(LOGS_ON, logs.get("enabled").as_bool().unwrap_or(true).to_string()));
        out.push(attr(LOGS_BUCKET, logs.get("bucket").as_str().unwrap_or_default()));
        out.push(attr(LOGS_PREFIX, logs.get("prefix").as_str().unwrap_or_default()));
    }
    out
}

async fn set_attributes(p: &AwsProvider, arn: &str, i: &In<'_>) -> Result<(), ProviderError> {
    p.elbv2()
        .await
        .modify_load_balancer_attributes()
        .load_balancer_arn(arn)
        .set_attributes(Some(attributes(i)))
        .send()
        .await
        .map_err(|e| aws_err("ModifyLoadBalancerAttributes", e))?;
    Ok(())
}

async fn get(p: &AwsProvider, arn: &str) -> Result<Option<SdkLoadBalancer>, ProviderError> {
    match p.elbv2().await.describe_load_balancers().load_balancer_arns(arn).send().await {
        Ok(o) => Ok(o.load_balancers().first().cloned()),
        Err(e) if is_code(&e, GONE) => Ok(None),
        Err(e) => Err(aws_err("DescribeLoadBalancers", e)),
    }
}

fn outputs(lb: &SdkLoadBalancer) -> Value {
    let arn = lb.load_balancer_arn().unwrap_or_default();
    map([
        ("arn", Value::from(arn)),
        ("dnsName", Value::from(lb.dns_name())),
        ("zoneId", Value::from(lb.canonical_hosted_zone_id())),
        ("arnSuffix", Value::from(arn_suffix(arn, "loadbalancer/"))),
        ("vpcId", Value::from(lb.vpc_id())),
    ])
}

/// Reads the load balancer back onto the input keys.
async fn describe(p: &AwsProvider, lb: &SdkLoadBalancer, recorded: &Value) -> Result<Value, ProviderError> {
    let tags = tags_of_one(p, lb.load_balancer_arn().unwrap_or_default()).await?;
    describe_tagged(p, lb, &tags, recorded).await
}

/// [`describe`] with the tags already read.
async fn describe_tagged(
    p: &AwsProvider,
    lb: &SdkLoadBalancer,
    tags: &BTreeMap<String, String>,
    recorded: &Value,
) -> Result<Value, ProviderError> {
    let elb = p.elbv2().await;
    let arn = lb.load_balancer_arn().unwrap_or_default();
    let attrs = elb
        .describe_load_balancer_attributes()
        .load_balancer_arn(arn)
        .send()
        .await
        .map_err(|e| aws_err("DescribeLoadBalancerAttributes", e))?;
    let attr = |k: &str| attrs.attributes().iter().find(|a| a.key() == Some(k)).and_then(|a| a.value());
    let logs_on = attr(LOGS_ON) == Some("true");
    let bucket = attr(LOGS_BUCKET).unwrap_or_default();
    // Logs turned off keep their bucket in AWS; unless the program declares
    // them (disabled), that is no access logs at all.
    let logs = if logs_on || (!bucket.is_empty() && !recorded.get("accessLogs").is_empty_like()) {
        map([
            ("bucket", Value::from(bucket)),
            ("prefix", Value::from(attr(LOGS_PREFIX).filter(|p| !p.is_empty()))),
            ("enabled", Value::from(logs_on)),
        ])
    } else {
        Value::Null
    };
    let subnets: Vec<String> =
        lb.availability_zones().iter().filter_map(|z| z.subnet_id()).map(str::to_owned).collect();
    let mut inputs = map([
        ("name", Value::from(lb.load_balancer_name())),
        ("scheme", Value::from(lb.scheme().map(|s| s.as_str()))),
        ("subnets", ordered_like(subnets, recorded.get("subnets"))),
        ("securityGroups", ordered_like(lb.security_groups().to_vec(), recorded.get("securityGroups"))),
        // AWS's default when the attribute was never set.
        ("idleTimeoutSeconds", Value::from(attr(IDLE).and_then(|v| v.parse::<i64>().ok()).unwrap_or(60))),
        ("deletionProtection", Value::from(attr(DELETION) == Some("true"))),
        ("accessLogs", logs),
        ("tags", tags_value(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))),
    ]);
    // Without groups of its own, an ALB gets the VPC's default group.
    drop_computed_when_unset(&mut inputs, recorded, &["securityGroups"]);
    Ok(inputs)
}

/// Waits until the load balancer is active (provisioning takes minutes).
async fn wait_active(p: &AwsProvider, arn: &str, timeout: Option<Duration>) -> Result<SdkLoadBalancer, ProviderError> {
    wait_for(&format!("load balancer {arn} active"), timeout, Duration::from_secs(900), || async {
        let Some(lb) = get(p, arn).await? else {
            return Err(ProviderError::fatal("DescribeLoadBalancers", format!("load balancer {arn} vanished")));
        };
        match lb.state().and_then(|s| s.code()) {
            Some(LoadBalancerStateEnum::Active) => Ok(Some(lb)),
            Some(LoadBalancerStateEnum::Failed) => Err(ProviderError::fatal(
                "CreateLoadBalancer",
                format!(
                    "load balancer {arn} failed: {}",
                    lb.state().and_then(|s| s.reason()).unwrap_or("no reason given")
                ),
            )),
            _ => Ok(None),
        }
    })
    .await
}

pub(crate) struct LoadBalancerHandler;

#[async_trait]
impl Handler for LoadBalancerHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateLoadBalancer";
        let i = In::new(&req.inputs, op);
        let sgs = i.strs("securityGroups");
        let out = p
            .elbv2()
            .await
            .create_load_balancer()
            .name(i.str("name")?)
            .r#type(LoadBalancerTypeEnum::Application)
            .scheme(LoadBalancerSchemeEnum::from(i.opt_str("scheme").unwrap_or("internet-facing")))
            .set_subnets(Some(i.strs("subnets")))
            .set_security_groups(Some(sgs).filter(|s| !s.is_empty()))
            .set_tags(Some(elb_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        let arn = out
            .load_balancers()
            .first()
            .and_then(|l| l.load_balancer_arn())
            .ok_or_else(|| ProviderError::fatal(op, "no load balancer ARN returned"))?
            .to_owned();
        set_attributes(p, &arn, &i).await?;
        let lb = wait_active(p, &arn, req.timeout).await?;
        Ok(CreateResult { id: arn, outputs: outputs(&lb) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(lb) = get(p, &req.id).await? else { return Ok(None) };
        let inputs = describe(p, &lb, &req.inputs).await?;
        Ok(Some(ReadResult { id: req.id, inputs, outputs: outputs(&lb) }))
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
                let described = elb.describe_load_balancers().set_load_balancer_arns(Some(arns)).send().await;
                let described = described.map(|o| o.load_balancers().to_vec());
                with_tags(p, "DescribeLoadBalancers", described, |lb| lb.load_balancer_arn()).await
            },
            |req, (lb, tags)| async move {
                let inputs = describe_tagged(p, &lb, &tags, &req.inputs).await?;
                Ok(Some(ReadResult { id: req.id, inputs, outputs: outputs(&lb) }))
            },
            |req| self.read(p, req),
        )
        .await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let i = In::new(&req.inputs, "UpdateLoadBalancer");
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        let elb = p.elbv2().await;
        if changed("subnets") {
            elb.set_subnets()
                .load_balancer_arn(&req.id)
                .set_subnets(Some(i.strs("subnets")))
                .send()
                .await
                .map_err(|e| aws_err("SetSubnets", e))?;
        }
        if changed("securityGroups") {
            elb.set_security_groups()
                .load_balancer_arn(&req.id)
                .set_security_groups(Some(i.strs("securityGroups")))
                .send()
                .await
                .map_err(|e| aws_err("SetSecurityGroups", e))?;
        }
        if ["idleTimeoutSeconds", "deletionProtection", "accessLogs"].iter().any(|k| changed(k)) {
            set_attributes(p, &req.id, &i).await?;
        }
        if changed("tags") {
            update_tags(elb, &req.id, &In::new(&req.old_inputs, "").tags(), &i.tags()).await?;
        }
        let lb = wait_active(p, &req.id, req.timeout).await?;
        Ok(UpdateResult { outputs: outputs(&lb) })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let op = "DeleteLoadBalancer";
        match p.elbv2().await.delete_load_balancer().load_balancer_arn(&req.id).send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, GONE) => return Ok(()),
            Err(e) if is_code(&e, &["OperationNotPermitted"]) => {
                return Err(ProviderError::fatal(
                    op,
                    format!(
                        "load balancer {} has deletion protection on: turn `deletion_protection` off and run `up` \
                         before destroying it",
                        req.id
                    ),
                ))
            }
            Err(e) => return Err(aws_err(op, e)),
        }
        wait_for(&format!("load balancer {} deleted", req.id), req.timeout, Duration::from_secs(600), || async {
            Ok(get(p, &req.id).await?.is_none().then_some(()))
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let elb = p.elbv2().await;
        let lb = match elb.describe_load_balancers().names(name).send().await {
            Ok(o) => o.load_balancers().first().cloned(),
            Err(e) if is_code(&e, GONE) => None,
            Err(e) => return Err(aws_err("DescribeLoadBalancers", e)),
        };
        let Some(lb) = lb else { return Ok(None) };
        // Names are unique in the region: the one balancer holding it.
        let Some(arn) = lb.load_balancer_arn().filter(|arn| !req.is_known(arn)).map(str::to_owned) else {
            return Ok(None);
        };
        if !has_identity(&tags_of_one(p, &arn).await?, &req.stack, req.urn.as_str()) {
            return Ok(None);
        }
        let inputs = describe(p, &lb, &req.inputs).await?;
        Ok(Some(ReadResult { id: arn, inputs, outputs: outputs(&lb) }))
    }
}
