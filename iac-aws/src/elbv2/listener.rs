//! `Listener`: a port a load balancer accepts connections on, and what it
//! does with requests no rule matches.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{Certificate, Listener as SdkListener, ProtocolEnum};
use iac_core::provider::*;
use iac_core::{props, Checks, Diagnostic, Expr, Graph, Input, Output, Resource, Schema, Urn, Value};

use super::action::{self, Action};
use super::{
    elb_tags, has_identity, ref_key, tags_of, tags_of_one, update_tags, with_tags, ListenerArn, LoadBalancerArn,
    ARNS_PER_CALL, GONE,
};
use crate::batch_read::{by_id, read_batched};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{drop_computed_when_unset, map, opt_expr, tags_value, tags_with_identity, In};

pub(crate) const TYPE: &str = "aws:elbv2:Listener";

/// Schema: a listener belongs to one load balancer; its port, protocol,
/// certificate and default action change in place (`ModifyListener`).
pub static SCHEMA: Schema = Schema {
    replace_on: &["loadBalancerArn"],
    taggable: true,
    graph_check: Some(check_ports),
    ..Schema::new(TYPE, "aws")
};

/// A listener's protocol.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ListenerProtocol {
    /// Plain HTTP.
    #[default]
    Http,
    /// HTTPS, terminated at the load balancer (needs a certificate).
    Https,
}

impl ListenerProtocol {
    fn as_str(self) -> &'static str {
        match self {
            ListenerProtocol::Http => "HTTP",
            ListenerProtocol::Https => "HTTPS",
        }
    }
}

/// A listener.
///
/// ```
/// use iac_aws::elbv2::{Action, Listener, ListenerProtocol};
/// let https = Listener::builder()
///     .load_balancer_arn("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188")
///     .port(443)
///     .protocol(ListenerProtocol::Https)
///     .certificate_arn("arn:aws:acm:us-east-1:123456789012:certificate/0c1b4c1e")
///     .ssl_policy("ELBSecurityPolicy-TLS13-1-2-2021-06")
///     .default_action(Action::fixed_response(404, "not found"))
///     .build();
/// # let _ = https;
/// ```
#[derive(bon::Builder)]
pub struct Listener {
    /// The load balancer (a [`LoadBalancer`](super::LoadBalancer)'s `id`;
    /// replaces when changed).
    #[builder(into)]
    pub load_balancer_arn: Input<LoadBalancerArn>,
    /// The port (1–65535), unique on the load balancer.
    pub port: u16,
    /// HTTP or HTTPS.
    #[builder(default)]
    pub protocol: ListenerProtocol,
    /// The default certificate (ACM or IAM ARN); required for HTTPS.
    #[builder(into)]
    pub certificate_arn: Option<Input<String>>,
    /// The TLS policy (`ELBSecurityPolicy-…`) for HTTPS; AWS's default when
    /// unset.
    #[builder(into)]
    pub ssl_policy: Option<String>,
    /// What happens to requests no rule matches.
    pub default_action: Action,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`Listener`].
pub struct ListenerOutputs {
    /// Its ARN (the resource's id), for rules.
    pub id: Output<ListenerArn>,
    /// Its ARN, as a string.
    pub arn: Output<String>,
}

impl Resource for Listener {
    type Outputs = ListenerOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("loadBalancerArn", self.load_balancer_arn.to_expr()),
            ("port", Value::from(self.port).into()),
            ("protocol", Value::from(self.protocol.as_str()).into()),
            ("certificateArn", opt_expr(self.certificate_arn.as_ref())),
            ("sslPolicy", Value::from(self.ssl_policy.clone()).into()),
            ("defaultAction", self.default_action.to_expr()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> ListenerOutputs {
        ListenerOutputs { id: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
    fn validate(&self, c: &mut Checks) {
        c.check(self.port >= 1, "port", || format!("{}: ports are 1 to 65535", self.port));
        match self.protocol {
            ListenerProtocol::Https => {
                c.check(self.certificate_arn.is_some(), "certificateArn", || {
                    "an HTTPS listener needs a certificate (an ACM or IAM certificate ARN)".into()
                });
            }
            ListenerProtocol::Http => {
                c.check(self.certificate_arn.is_none(), "certificateArn", || {
                    "an HTTP listener takes no certificate; use HTTPS".into()
                });
                c.check(self.ssl_policy.is_none(), "sslPolicy", || "an HTTP listener takes no TLS policy".into());
            }
        }
        if let Some(policy) = &self.ssl_policy {
            c.check(policy.starts_with("ELBSecurityPolicy-"), "sslPolicy", || {
                format!("`{policy}` is not a predefined policy (`ELBSecurityPolicy-…`)")
            });
        }
        self.default_action.validate(c, "defaultAction");
    }
}

/// Two listeners of one load balancer cannot share a port.
fn check_ports(g: &Graph, out: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<(String, i64), Vec<&Urn>> = BTreeMap::new();
    let mut names = BTreeMap::new();
    for d in g.resources.values().filter(|d| d.type_token == TYPE) {
        let (Some((lb, shown)), Some(port)) =
            (ref_key(d.input("loadBalancerArn")), d.plain_input("port").and_then(Value::as_i64))
        else {
            continue;
        };
        names.insert(lb.clone(), shown);
        seen.entry((lb, port)).or_default().push(&d.urn);
    }
    for ((lb, port), urns) in seen.into_iter().filter(|(_, u)| u.len() > 1) {
        for &urn in &urns {
            let others: Vec<String> = urns.iter().filter(|u| **u != urn).map(|u| format!("`{u}`")).collect();
            out.push(Diagnostic {
                urn: urn.clone(),
                type_token: TYPE.into(),
                field: "port".into(),
                message: format!("port {port} of load balancer {} is also used by {}", names[&lb], others.join(", ")),
            });
        }
    }
}

// ---- handler ----------------------------------------------------------

async fn get(p: &AwsProvider, arn: &str) -> Result<Option<SdkListener>, ProviderError> {
    match p.elbv2().await.describe_listeners().listener_arns(arn).send().await {
        Ok(o) => Ok(o.listeners().first().cloned()),
        Err(e) if is_code(&e, GONE) => Ok(None),
        Err(e) => Err(aws_err("DescribeListeners", e)),
    }
}

fn values(l: &SdkListener, tags: &BTreeMap<String, String>, recorded: &Value) -> Value {
    let https = l.protocol() == Some(&ProtocolEnum::Https);
    // The first certificate is the default one; others are for SNI.
    let cert = l.certificates().iter().find(|c| c.is_default() != Some(false)).and_then(|c| c.certificate_arn());
    let mut inputs = map([
        ("loadBalancerArn", Value::from(l.load_balancer_arn())),
        ("port", Value::from(l.port())),
        ("protocol", Value::from(l.protocol().map(|p| p.as_str()))),
        ("certificateArn", Value::from(cert.filter(|_| https))),
        ("sslPolicy", Value::from(l.ssl_policy().filter(|_| https))),
        ("defaultAction", action::last(l.default_actions()).map_or(Value::Null, action::from_sdk)),
        ("tags", tags_value(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))),
    ]);
    // AWS picks a policy for an HTTPS listener that names none.
    drop_computed_when_unset(&mut inputs, recorded, &["sslPolicy"]);
    inputs
}

fn outputs(arn: &str) -> Value {
    map([("arn", Value::from(arn))])
}

pub(crate) struct ListenerHandler;

#[async_trait]
impl Handler for ListenerHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateListener";
        let i = In::new(&req.inputs, op);
        let https = i.opt_str("protocol") == Some("HTTPS");
        let out = p
            .elbv2()
            .await
            .create_listener()
            .load_balancer_arn(i.str("loadBalancerArn")?)
            .set_port(i.opt_i32("port"))
            .protocol(ProtocolEnum::from(i.opt_str("protocol").unwrap_or("HTTP")))
            .set_certificates(
                i.opt_str("certificateArn")
                    .filter(|_| https)
                    .map(|c| vec![Certificate::builder().certificate_arn(c).build()]),
            )
            .set_ssl_policy(i.opt_str("sslPolicy").filter(|_| https).map(str::to_owned))
            .default_actions(action::to_sdk(op, "defaultAction", i.json("defaultAction"))?)
            .set_tags(Some(elb_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        let arn = out
            .listeners()
            .first()
            .and_then(|l| l.listener_arn())
            .ok_or_else(|| ProviderError::fatal(op, "no listener ARN returned"))?
            .to_owned();
        Ok(CreateResult { outputs: outputs(&arn), id: arn })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(l) = get(p, &req.id).await? else { return Ok(None) };
        let tags = tags_of_one(p, &req.id).await?;
        Ok(Some(ReadResult { inputs: values(&l, &tags, &req.inputs), outputs: outputs(&req.id), id: req.id }))
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
                let described = elb.describe_listeners().set_listener_arns(Some(arns)).send().await;
                with_tags(p, "DescribeListeners", described.map(|o| o.listeners().to_vec()), |l| l.listener_arn()).await
            },
            |req, (l, tags)| async move {
                Ok(Some(ReadResult { inputs: values(&l, &tags, &req.inputs), outputs: outputs(&req.id), id: req.id }))
            },
            |req| self.read(p, req),
        )
        .await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let op = "ModifyListener";
        let i = In::new(&req.inputs, op);
        let elb = p.elbv2().await;
        if req.changed.iter().any(|k| k != "tags") {
            // The whole listener is sent: a protocol change needs the
            // certificate and policy that go with it.
            let https = i.opt_str("protocol") == Some("HTTPS");
            elb.modify_listener()
                .listener_arn(&req.id)
                .set_port(i.opt_i32("port"))
                .protocol(ProtocolEnum::from(i.opt_str("protocol").unwrap_or("HTTP")))
                .set_certificates(
                    i.opt_str("certificateArn")
                        .filter(|_| https)
                        .map(|c| vec![Certificate::builder().certificate_arn(c).build()]),
                )
                .set_ssl_policy(i.opt_str("sslPolicy").filter(|_| https).map(str::to_owned))
                .default_actions(action::to_sdk(op, "defaultAction", i.json("defaultAction"))?)
                .send()
                .await
                .map_err(|e| aws_err(op, e))?;
        }
        if req.changed.iter().any(|k| k == "tags") {
            update_tags(elb, &req.id, &In::new(&req.old_inputs, "").tags(), &i.tags()).await?;
        }
        Ok(UpdateResult { outputs: outputs(&req.id) })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        // Deleting a listener deletes its rules; it is gone at once.
        match p.elbv2().await.delete_listener().listener_arn(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, GONE) => Ok(()),
            Err(e) => Err(aws_err("DeleteListener", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(lb) = In::new(&req.inputs, "").opt_str("loadBalancerArn") else { return Ok(None) };
        let elb = p.elbv2().await;
        let listeners =
            match elb.describe_listeners().load_balancer_arn(lb).into_paginator().items().send().try_collect().await {
                Ok(l) => l,
                Err(e) if is_code(&e, GONE) => return Ok(None),
                Err(e) => return Err(aws_err("DescribeListeners", e)),
            };
        // The old copy of a replace carries the same tags: look past it.
        let listeners: Vec<_> =
            listeners.into_iter().filter(|l| l.listener_arn().is_some_and(|arn| !req.is_known(arn))).collect();
        let arns: Vec<String> = listeners.iter().filter_map(|l| l.listener_arn()).map(str::to_owned).collect();
        let tags = tags_of(elb, &arns).await?;
        for l in &listeners {
            let arn = l.listener_arn().unwrap_or_default();
            if let Some(t) = tags.get(arn).filter(|t| has_identity(t, &req.stack, req.urn.as_str())) {
                return Ok(Some(ReadResult {
                    inputs: values(l, t, &req.inputs),
                    outputs: outputs(arn),
                    id: arn.to_owned(),
                }));
            }
        }
        Ok(None)
    }
}
