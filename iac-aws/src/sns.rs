//! SNS: topics and subscriptions (alarm notifications and fan-out).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_sns::types::Tag;
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{map, opt_expr, tags_value, tags_with_identity, In, TAG_NAME, TAG_STACK};

pub(crate) const TOPIC: &str = "aws:sns:Topic";
pub(crate) const SUBSCRIPTION: &str = "aws:sns:Subscription";

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    Some(match type_token {
        TOPIC => &TopicHandler,
        SUBSCRIPTION => &SubscriptionHandler,
        _ => return None,
    })
}

/// Schema of [`Topic`]: the name is the identity.
pub static TOPIC_SCHEMA: Schema =
    Schema { replace_on: &["name"], delete_before_replace: true, taggable: true, ..Schema::new(TOPIC, "aws") };

/// Schema of [`Subscription`]: what is delivered where is the identity.
pub static SUBSCRIPTION_SCHEMA: Schema =
    Schema { replace_on: &["topicArn", "protocol", "endpoint"], ..Schema::new(SUBSCRIPTION, "aws") };

/// A topic.
///
/// ```
/// let alarms = iac_aws::sns::Topic::builder().name("alarms").display_name("Platform alarms").build();
/// # let _ = alarms;
/// ```
#[derive(bon::Builder)]
pub struct Topic {
    /// The topic's name; ending in `.fifo` makes a FIFO topic (replaces).
    #[builder(into)]
    pub name: String,
    /// The name shown in SMS and email.
    #[builder(into)]
    pub display_name: Option<String>,
    /// A KMS key (id, ARN or alias) to encrypt messages at rest.
    #[builder(into)]
    pub kms_master_key_id: Option<Input<String>>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`Topic`].
pub struct TopicOutputs {
    /// Its ARN (the resource's id), for alarm actions and subscriptions.
    pub arn: Output<String>,
}

impl Resource for Topic {
    type Outputs = TopicOutputs;
    fn schema() -> &'static Schema {
        &TOPIC_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("displayName", Value::from(self.display_name.clone()).into()),
            ("kmsMasterKeyId", opt_expr(self.kms_master_key_id.as_ref())),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> TopicOutputs {
        TopicOutputs { arn: Output::from_ref(urn, "id") }
    }
    fn validate(&self, c: &mut Checks) {
        let base = self.name.strip_suffix(".fifo").unwrap_or(&self.name);
        crate::checks::name(
            c,
            "name",
            base,
            if self.name.ends_with(".fifo") { 251 } else { 256 },
            |ch| ch.is_ascii_alphanumeric() || "_-".contains(ch),
            "letters, digits, _ and - only (and a .fifo suffix)",
        );
    }
}

fn sns_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok()).collect()
}

async fn describe_topic(p: &AwsProvider, arn: &str) -> Result<Option<Value>, ProviderError> {
    let sns = p.sns().await;
    let attrs = match sns.get_topic_attributes().topic_arn(arn).send().await {
        Ok(o) => o.attributes.unwrap_or_default(),
        Err(e) if is_code(&e, &["NotFound", "NotFoundException"]) => return Ok(None),
        Err(e) => return Err(aws_err("GetTopicAttributes", e)),
    };
    let tags = p
        .tags_or_ask(arn, async {
            let out = sns
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .map_err(|e| aws_err("ListTagsForResource", e))?;
            Ok(out.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect())
        })
        .await?;
    let name = arn.rsplit(':').next().unwrap_or_default();
    Ok(Some(map([
        ("name", Value::from(name)),
        ("displayName", Value::from(attrs.get("DisplayName").filter(|d| !d.is_empty()).cloned())),
        ("kmsMasterKeyId", Value::from(attrs.get("KmsMasterKeyId").filter(|d| !d.is_empty()).cloned())),
        ("tags", tags_value(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))),
    ])))
}

async fn set_topic_attribute(p: &AwsProvider, arn: &str, name: &str, value: Option<&str>) -> Result<(), ProviderError> {
    p.sns()
        .await
        .set_topic_attributes()
        .topic_arn(arn)
        .attribute_name(name)
        .attribute_value(value.unwrap_or(""))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_err("SetTopicAttributes", e))
}

pub(crate) struct TopicHandler;

#[async_trait]
impl Handler for TopicHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateTopic");
        let name = i.str("name")?;
        let mut attrs = std::collections::HashMap::new();
        if name.ends_with(".fifo") {
            attrs.insert("FifoTopic".to_owned(), "true".to_owned());
        }
        if let Some(d) = i.opt_str("displayName") {
            attrs.insert("DisplayName".to_owned(), d.to_owned());
        }
        if let Some(k) = i.opt_str("kmsMasterKeyId") {
            attrs.insert("KmsMasterKeyId".to_owned(), k.to_owned());
        }
        let out = p
            .sns()
            .await
            .create_topic()
            .name(name)
            .set_attributes(Some(attrs).filter(|a| !a.is_empty()))
            .set_tags(Some(sns_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .send()
            .await
            .map_err(|e| aws_err("CreateTopic", e))?;
        let arn = out.topic_arn().ok_or_else(|| ProviderError::fatal("CreateTopic", "no topic ARN returned"))?;
        Ok(CreateResult { id: arn.to_owned(), outputs: Value::map() })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe_topic(p, &req.id).await?.map(|inputs| ReadResult { id: req.id, inputs, outputs: Value::map() }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, ""), In::new(&req.inputs, "SetTopicAttributes"));
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if changed("displayName") {
            set_topic_attribute(p, &req.id, "DisplayName", new.opt_str("displayName")).await?;
        }
        if changed("kmsMasterKeyId") {
            set_topic_attribute(p, &req.id, "KmsMasterKeyId", new.opt_str("kmsMasterKeyId")).await?;
        }
        if changed("tags") {
            let sns = p.sns().await;
            let (was, now) = (old.tags(), new.tags());
            let removed: Vec<String> = was.keys().filter(|k| !now.contains_key(*k)).cloned().collect();
            if !removed.is_empty() {
                sns.untag_resource()
                    .resource_arn(&req.id)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .map_err(|e| aws_err("UntagResource", e))?;
            }
            let added: BTreeMap<String, String> = now.into_iter().filter(|(k, v)| was.get(k) != Some(v)).collect();
            if !added.is_empty() {
                sns.tag_resource()
                    .resource_arn(&req.id)
                    .set_tags(Some(sns_tags(&added)))
                    .send()
                    .await
                    .map_err(|e| aws_err("TagResource", e))?;
            }
        }
        Ok(UpdateResult { outputs: Value::map() })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        // Deleting a topic that is gone succeeds.
        p.sns().await.delete_topic().topic_arn(&req.id).send().await.map(|_| ()).map_err(|e| aws_err("DeleteTopic", e))
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let sns = p.sns().await;
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let mut token = None;
        loop {
            let out = sns.list_topics().set_next_token(token).send().await.map_err(|e| aws_err("ListTopics", e))?;
            for arn in out.topics().iter().filter_map(|t| t.topic_arn()) {
                // A topic's name is unique in the region, so its ARN too.
                if arn.rsplit(':').next() != Some(name) || req.is_known(arn) {
                    continue;
                }
                let tags = sns
                    .list_tags_for_resource()
                    .resource_arn(arn)
                    .send()
                    .await
                    .map_err(|e| aws_err("ListTagsForResource", e))?;
                let get = |k: &str| tags.tags().iter().find(|t| t.key() == k).map(|t| t.value());
                if get(TAG_STACK) == Some(req.stack.as_str()) && get(TAG_NAME) == Some(req.urn.as_str()) {
                    return Ok(describe_topic(p, arn).await?.map(|inputs| ReadResult {
                        id: arn.to_owned(),
                        inputs,
                        outputs: Value::map(),
                    }));
                }
            }
            match out.next_token() {
                Some(t) => token = Some(t.to_owned()),
                None => return Ok(None),
            }
        }
    }
}

/// A subscription of an endpoint to a topic.
///
/// ```
/// let page = iac_aws::sns::Subscription::builder()
///     .topic_arn("arn:aws:sns:us-east-1:123456789012:alarms")
///     .protocol("email")
///     .endpoint("oncall@example.com")
///     .build();
/// # let _ = page;
/// ```
#[derive(bon::Builder)]
pub struct Subscription {
    /// The topic (replaces when changed).
    #[builder(into)]
    pub topic_arn: Input<String>,
    /// `email`, `https`, `sqs`, `lambda`, `sms`, … (replaces).
    #[builder(into)]
    pub protocol: String,
    /// Where messages go (replaces).
    #[builder(into)]
    pub endpoint: Input<String>,
    /// Deliver the message body as is, without SNS's JSON envelope.
    #[builder(default)]
    pub raw_message_delivery: bool,
    /// Deliver only messages matching this filter policy.
    pub filter_policy: Option<serde_json::Value>,
}

/// Outputs of a [`Subscription`].
pub struct SubscriptionOutputs {
    /// Its ARN (the resource's id).
    pub arn: Output<String>,
}

const PROTOCOLS: [&str; 9] =
    ["http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose"];

impl Resource for Subscription {
    type Outputs = SubscriptionOutputs;
    fn schema() -> &'static Schema {
        &SUBSCRIPTION_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("topicArn", self.topic_arn.to_expr()),
            ("protocol", Value::from(self.protocol.as_str()).into()),
            ("endpoint", self.endpoint.to_expr()),
            ("rawMessageDelivery", Value::from(self.raw_message_delivery).into()),
            ("filterPolicy", self.filter_policy.as_ref().map_or(Value::Null, Value::from_json).into()),
        ])
    }
    fn outputs(urn: &Urn) -> SubscriptionOutputs {
        SubscriptionOutputs { arn: Output::from_ref(urn, "id") }
    }
    fn validate(&self, c: &mut Checks) {
        c.check(PROTOCOLS.contains(&self.protocol.as_str()), "protocol", || {
            format!("`{}` is not one of {}", self.protocol, PROTOCOLS.join(", "))
        });
        c.check(
            !self.raw_message_delivery || ["http", "https", "sqs", "firehose"].contains(&self.protocol.as_str()),
            "rawMessageDelivery",
            || format!("raw delivery is for http(s), sqs and firehose, not {}", self.protocol),
        );
        if let Some(e) = self.endpoint.value() {
            match self.protocol.as_str() {
                "email" | "email-json" => c.check(is_email(e), "endpoint", || {
                    format!("`{e}` is not an e-mail address (like alerts@example.com)")
                }),
                "http" | "https" => c.check(e.starts_with(&format!("{}://", self.protocol)), "endpoint", || {
                    format!("`{e}` is not an {} URL", self.protocol)
                }),
                "sqs" | "lambda" | "firehose" => c.check(e.starts_with("arn:"), "endpoint", || {
                    format!("`{e}` is not an ARN (a {} endpoint is one)", self.protocol)
                }),
                _ => {}
            }
        }
    }
}

/// An e-mail address SNS can deliver to: one `@`, a local part of
/// printable characters, a domain of dot-separated labels (letters,
/// digits, hyphens) with a top-level label of two letters or more.
pub(crate) fn is_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else { return false };
    let labels: Vec<&str> = domain.split('.').collect();
    !local.is_empty()
        && local.len() <= 64
        && e.len() <= 254
        && local.chars().all(|ch| ch.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(ch))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
        })
        && labels.last().is_some_and(|t| t.len() >= 2 && t.chars().all(|ch| ch.is_ascii_alphabetic()))
}

async fn set_sub_attribute(p: &AwsProvider, arn: &str, name: &str, value: &str) -> Result<(), ProviderError> {
    p.sns()
        .await
        .set_subscription_attributes()
        .subscription_arn(arn)
        .attribute_name(name)
        .attribute_value(value)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_err("SetSubscriptionAttributes", e))
}

pub(crate) struct SubscriptionHandler;

#[async_trait]
impl Handler for SubscriptionHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "Subscribe");
        let mut attrs = std::collections::HashMap::new();
        if i.bool("rawMessageDelivery") {
            attrs.insert("RawMessageDelivery".to_owned(), "true".to_owned());
        }
        if let Some(f) = i.json("filterPolicy") {
            attrs.insert("FilterPolicy".to_owned(), f.to_string());
        }
        let out = p
            .sns()
            .await
            .subscribe()
            .topic_arn(i.str("topicArn")?)
            .protocol(i.str("protocol")?)
            .endpoint(i.str("endpoint")?)
            .set_attributes(Some(attrs).filter(|a| !a.is_empty()))
            // The ARN even while an email subscription awaits confirmation.
            .return_subscription_arn(true)
            .send()
            .await
            .map_err(|e| aws_err("Subscribe", e))?;
        let arn = out.subscription_arn().ok_or_else(|| ProviderError::fatal("Subscribe", "no subscription ARN"))?;
        Ok(CreateResult { id: arn.to_owned(), outputs: Value::map() })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let attrs = match p.sns().await.get_subscription_attributes().subscription_arn(&req.id).send().await {
            Ok(o) => o.attributes.unwrap_or_default(),
            Err(e) if is_code(&e, &["NotFound", "NotFoundException"]) => return Ok(None),
            Err(e) => return Err(aws_err("GetSubscriptionAttributes", e)),
        };
        let filter = attrs
            .get("FilterPolicy")
            .and_then(|f| serde_json::from_str::<serde_json::Value>(f).ok())
            .map_or(Value::Null, |j| Value::from_json(&j));
        let inputs = map([
            ("topicArn", Value::from(attrs.get("TopicArn").cloned())),
            ("protocol", Value::from(attrs.get("Protocol").cloned())),
            ("endpoint", Value::from(attrs.get("Endpoint").cloned())),
            ("rawMessageDelivery", Value::from(attrs.get("RawMessageDelivery").is_some_and(|r| r == "true"))),
            ("filterPolicy", filter),
        ]);
        Ok(Some(ReadResult { id: req.id, inputs, outputs: Value::map() }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let i = In::new(&req.inputs, "SetSubscriptionAttributes");
        if req.changed.iter().any(|k| k == "rawMessageDelivery") {
            set_sub_attribute(
                p,
                &req.id,
                "RawMessageDelivery",
                if i.bool("rawMessageDelivery") { "true" } else { "false" },
            )
            .await?;
        }
        if req.changed.iter().any(|k| k == "filterPolicy") {
            let f = i.json("filterPolicy").map(|f| f.to_string()).unwrap_or_default();
            set_sub_attribute(p, &req.id, "FilterPolicy", &f).await?;
        }
        Ok(UpdateResult { outputs: Value::map() })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.sns().await.unsubscribe().subscription_arn(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["NotFound", "NotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("Unsubscribe", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // A subscription is what it delivers where.
        let i = In::new(&req.inputs, "");
        let (Some(topic), Some(protocol), Some(endpoint)) =
            (i.opt_str("topicArn"), i.opt_str("protocol"), i.opt_str("endpoint"))
        else {
            return Ok(None);
        };
        let out = p
            .sns()
            .await
            .list_subscriptions_by_topic()
            .topic_arn(topic)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_err("ListSubscriptionsByTopic", e))?;
        let Some(arn) = req.first_unknown(
            out.iter()
                .filter(|s| s.protocol() == Some(protocol) && s.endpoint() == Some(endpoint))
                .filter_map(|s| s.subscription_arn()),
        ) else {
            return Ok(None);
        };
        let id = arn.to_owned();
        self.read(
            p,
            ReadRequest {
                type_token: SUBSCRIPTION,
                urn: req.urn,
                id,
                inputs: req.inputs.clone(),
                outputs: Value::map(),
            },
        )
        .await
    }
}

#[cfg(test)]
mod email_tests {
    use super::is_email;

    #[test]
    fn email_addresses() {
        for ok in ["alerts@example.com", "ops+trading@mail.example.co.uk", "a.b@x-y.io"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in
            ["alerts", "alerts@", "@example.com", "a@@b.com", "a@b", "a b@c.com", "a@-b.com", "a..b@c.com", "a@b.c0m"]
        {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
