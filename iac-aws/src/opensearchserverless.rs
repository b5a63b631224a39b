//! Amazon OpenSearch Serverless: security policies (encryption, network),
//! data access policies and collections (search, time series, vector
//! search).

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_opensearchserverless::types::{
    AccessPolicyType, CollectionDetail, CollectionFilters, CollectionStatus, CollectionType, SecurityPolicyType,
    StandbyReplicas, Tag,
};
use aws_smithy_types::{Document, Number};
use iac_core::provider::*;
use iac_core::{props, Checks, Diagnostic, Expr, Graph, Input, Output, Resource, Schema, Urn, Value};

use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{
    keep_write_only, map, tags_value, tags_with_identity, unless_known, wait_for, In, TAG_NAME, TAG_STACK,
};

pub(crate) const SECURITY_POLICY: &str = "aws:opensearchserverless:SecurityPolicy";
pub(crate) const ACCESS_POLICY: &str = "aws:opensearchserverless:AccessPolicy";
pub(crate) const COLLECTION: &str = "aws:opensearchserverless:Collection";

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    Some(match type_token {
        SECURITY_POLICY => &SecurityPolicyHandler,
        ACCESS_POLICY => &AccessPolicyHandler,
        COLLECTION => &CollectionHandler,
        _ => return None,
    })
}

/// Schema of [`SecurityPolicy`]: the name and type are its identity; the
/// document and description update in place (each update quoting the
/// policy's current version).
pub static SECURITY_POLICY_SCHEMA: Schema = Schema {
    replace_on: &["name", "type"],
    delete_before_replace: true,
    computed_on_update: &["policyVersion"],
    ..Schema::new(SECURITY_POLICY, "aws")
};

/// Schema of [`AccessPolicy`]: as [`SecurityPolicy`], of type `data`.
pub static ACCESS_POLICY_SCHEMA: Schema = Schema {
    replace_on: &["name"],
    delete_before_replace: true,
    computed_on_update: &["policyVersion"],
    ..Schema::new(ACCESS_POLICY, "aws")
};

/// Schema of [`Collection`]: the name, type and standby replicas are fixed;
/// the description and tags update in place.
pub static COLLECTION_SCHEMA: Schema = Schema {
    replace_on: &["name", "type", "standbyReplicas"],
    delete_before_replace: true,
    taggable: true,
    graph_check: Some(check_encryption_policies),
    ..Schema::new(COLLECTION, "aws")
};

/// Policy names: 3–32 lowercase letters, digits and hyphens, starting with
/// a letter.
fn policy_name(c: &mut Checks, value: &str) {
    let ok = (3..=32).contains(&value.len())
        && value.starts_with(|ch: char| ch.is_ascii_lowercase())
        && value.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-');
    c.check(ok, "name", || format!("`{value}`: 3–32 lowercase letters, digits and hyphens, starting with a letter"));
}

/// Collection names: 3–32 characters, a lowercase letter then lowercase
/// letters, digits and hyphens (`[a-z][a-z0-9-]+`, CreateCollection).
fn collection_name(c: &mut Checks, value: &str) {
    let ok = (3..=32).contains(&value.len())
        && value.starts_with(|ch: char| ch.is_ascii_lowercase())
        && value.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-');
    c.check(ok, "name", || {
        format!("`{value}`: 3–32 characters, a lowercase letter then lowercase letters, digits and hyphens")
    });
}

fn description_check(c: &mut Checks, description: &str) {
    c.check(description.chars().count() <= 1000, "description", || {
        format!("{} characters; at most 1000", description.chars().count())
    });
}

/// A policy document as AWS returns it (a JSON document), as plain JSON.
fn doc_json(d: &Document) -> serde_json::Value {
    match d {
        Document::Object(o) => serde_json::Value::Object(o.iter().map(|(k, v)| (k.clone(), doc_json(v))).collect()),
        Document::Array(a) => serde_json::Value::Array(a.iter().map(doc_json).collect()),
        Document::Number(Number::PosInt(n)) => (*n).into(),
        Document::Number(Number::NegInt(n)) => (*n).into(),
        Document::Number(Number::Float(f)) => {
            serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into)
        }
        Document::String(s) => s.clone().into(),
        Document::Bool(b) => (*b).into(),
        Document::Null => serde_json::Value::Null,
    }
}

fn policy_value(d: Option<&Document>) -> Value {
    d.map_or(Value::Null, |d| Value::from_json(&doc_json(d)))
}

/// Checks the rules of a policy: each names a resource type among `types`
/// and resources of the form `<type>/<name or pattern>`; `permissions`
/// says whether each rule must grant `aoss:` permissions.
fn check_rules(c: &mut Checks, what: &str, rules: Option<&serde_json::Value>, types: &[&str], permissions: bool) {
    let Some(rules) = rules.and_then(|r| r.as_array()).filter(|r| !r.is_empty()) else {
        c.fail("policy", format!("{what} has no `Rules`"));
        return;
    };
    for r in rules {
        let kind = r.get("ResourceType").and_then(|t| t.as_str()).unwrap_or_default();
        c.check(types.contains(&kind), "policy", || {
            format!("{what}: ResourceType `{kind}` is not one of {}", types.join(", "))
        });
        let resources = r.get("Resource").and_then(|x| x.as_array()).filter(|x| !x.is_empty());
        c.check(resources.is_some(), "policy", || format!("{what}: a rule without `Resource`"));
        for res in resources.into_iter().flatten() {
            let ok = res
                .as_str()
                .is_some_and(|s| s.split_once('/').is_some_and(|(t, n)| types.contains(&t) && !n.is_empty()));
            c.check(ok, "policy", || format!("{what}: resource {res} is not like `{}/<name>`", types[0]));
        }
        if permissions {
            let perms = r.get("Permission").and_then(|x| x.as_array()).filter(|x| !x.is_empty());
            c.check(perms.is_some(), "policy", || format!("{what}: a rule without `Permission`"));
            for perm in perms.into_iter().flatten() {
                let ok = perm.as_str().is_some_and(|s| s.starts_with("aoss:"));
                c.check(ok, "policy", || format!("{what}: permission {perm} is not like `aoss:ReadDocument`"));
            }
        }
    }
}

/// Whether `pattern` (`collection/name` or `collection/prefix*`) covers
/// collection `name`.
fn matches(pattern: &str, name: &str) -> bool {
    let Some(p) = pattern.strip_prefix("collection/") else { return false };
    match p.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => p == name,
    }
}

/// Whether an encryption policy covers collection `name`.
fn covers(policy: &serde_json::Value, name: &str) -> bool {
    policy.get("Rules").and_then(|r| r.as_array()).is_some_and(|rules| {
        rules.iter().any(|r| {
            r.get("ResourceType").and_then(|t| t.as_str()) == Some("collection")
                && r.get("Resource")
                    .and_then(|x| x.as_array())
                    .is_some_and(|res| res.iter().filter_map(|x| x.as_str()).any(|p| matches(p, name)))
        })
    })
}

// ---- SecurityPolicy --------------------------------------------------------

/// Which kind of security policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityPolicyKind {
    /// Which key encrypts matching collections: an object with `Rules` and
    /// `AWSOwnedKey: true` or a `KmsARN`. A collection needs one before it
    /// can be created.
    Encryption,
    /// Where matching collections and dashboards are reached from: a list
    /// of `{Rules, AllowFromPublic | SourceVPCEs}`.
    Network,
}

impl SecurityPolicyKind {
    fn as_str(self) -> &'static str {
        match self {
            SecurityPolicyKind::Encryption => "encryption",
            SecurityPolicyKind::Network => "network",
        }
    }
}

/// An encryption or network policy; the document is compared as JSON.
///
/// ```
/// use iac_aws::opensearchserverless::{SecurityPolicy, SecurityPolicyKind};
/// let encryption = SecurityPolicy::builder()
///     .name("docs-encryption")
///     .kind(SecurityPolicyKind::Encryption)
///     .policy(serde_json::json!({
///         "Rules": [{"ResourceType": "collection", "Resource": ["collection/docs"]}],
///         "AWSOwnedKey": true
///     }))
///     .build();
/// let network = SecurityPolicy::builder()
///     .name("docs-network")
///     .kind(SecurityPolicyKind::Network)
///     .policy(serde_json::json!([{
///         "Rules": [{"ResourceType": "collection", "Resource": ["collection/docs"]}],
///         "AllowFromPublic": true
///     }]))
///     .build();
/// # let _ = (encryption, network);
/// ```
#[derive(bon::Builder)]
pub struct SecurityPolicy {
    /// Its name (replaces).
    #[builder(into)]
    pub name: String,
    /// Encryption or network (replaces).
    pub kind: SecurityPolicyKind,
    /// The policy document.
    pub policy: serde_json::Value,
    /// What it is for.
    #[builder(into, default)]
    pub description: String,
}

/// Outputs of a [`SecurityPolicy`] or [`AccessPolicy`].
pub struct PolicyOutputs {
    /// `<type>/<name>` (the resource's id).
    pub id: Output<String>,
    /// Its name; a [`Collection`]'s `encryption_policy` given this waits
    /// for the policy.
    pub name: Output<String>,
    /// The version AWS gave the current document.
    pub policy_version: Output<String>,
}

impl Resource for SecurityPolicy {
    type Outputs = PolicyOutputs;
    fn schema() -> &'static Schema {
        &SECURITY_POLICY_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("type", Value::from(self.kind.as_str()).into()),
            ("policy", Value::from_json(&self.policy).into()),
            ("description", Value::from(self.description.as_str()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> PolicyOutputs {
        PolicyOutputs {
            id: Output::from_ref(urn, "id"),
            name: Output::from_ref(urn, "name"),
            policy_version: Output::from_ref(urn, "policyVersion"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        policy_name(c, &self.name);
        description_check(c, &self.description);
        let len = self.policy.to_string().len();
        c.check(len <= 20_480, "policy", || format!("{len} bytes; at most 20480"));
        match self.kind {
            SecurityPolicyKind::Encryption => {
                let Some(o) = self.policy.as_object() else {
                    c.fail("policy", format!("an encryption policy is a JSON object, not `{}`", self.policy));
                    return;
                };
                check_rules(c, "the encryption policy", o.get("Rules"), &["collection"], false);
                let owned = o.get("AWSOwnedKey").and_then(|v| v.as_bool()) == Some(true);
                let kms = o.get("KmsARN").and_then(|v| v.as_str());
                c.check(owned != kms.is_some(), "policy", || {
                    "an encryption policy needs `AWSOwnedKey: true` or a `KmsARN`, one of them".into()
                });
                if let Some(k) = kms {
                    c.check(k.starts_with("arn:") && k.contains(":kms:"), "policy", || {
                        format!("`{k}` is not a KMS key ARN")
                    });
                }
            }
            SecurityPolicyKind::Network => {
                let Some(items) = self.policy.as_array().filter(|a| !a.is_empty()) else {
                    c.fail("policy", format!("a network policy is a non-empty JSON list, not `{}`", self.policy));
                    return;
                };
                for item in items {
                    check_rules(c, "the network policy", item.get("Rules"), &["collection", "dashboard"], false);
                    let public = item.get("AllowFromPublic").and_then(|v| v.as_bool());
                    let vpces = item.get("SourceVPCEs").and_then(|v| v.as_array()).is_some_and(|a| !a.is_empty());
                    let services = item.get("SourceServices").and_then(|v| v.as_array()).is_some_and(|a| !a.is_empty());
                    c.check(public.is_some() || vpces || services, "policy", || {
                        "a network rule needs `AllowFromPublic` or `SourceVPCEs`/`SourceServices`".into()
                    });
                    c.check(!(public == Some(true) && (vpces || services)), "policy", || {
                        "a network rule open to the public takes no `SourceVPCEs` or `SourceServices`".into()
                    });
                }
            }
        }
    }
}

fn split_policy_id(id: &str) -> Option<(&str, &str)> {
    id.split_once('/')
}

async fn describe_security_policy(
    p: &AwsProvider,
    kind: &str,
    name: &str,
) -> Result<Option<(Value, Value)>, ProviderError> {
    let out = match p
        .opensearchserverless()
        .await
        .get_security_policy()
        .r#type(SecurityPolicyType::from(kind))
        .name(name)
        .send()
        .await
    {
        Ok(o) => o,
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
        Err(e) => return Err(aws_err("GetSecurityPolicy", e)),
    };
    let Some(d) = out.security_policy_detail() else { return Ok(None) };
    let inputs = map([
        ("name", Value::from(d.name())),
        ("type", Value::from(d.r#type().map(|t| t.as_str()))),
        ("policy", policy_value(d.policy())),
        ("description", Value::from(d.description().unwrap_or_default())),
    ]);
    let outputs = map([("name", Value::from(d.name())), ("policyVersion", Value::from(d.policy_version()))]);
    Ok(Some((inputs, outputs)))
}

fn policy_text(i: &In<'_>, op: &str) -> Result<String, ProviderError> {
    i.json("policy").map(|j| j.to_string()).ok_or_else(|| ProviderError::fatal(op, "input `policy` is missing"))
}

pub(crate) struct SecurityPolicyHandler;

#[async_trait]
impl Handler for SecurityPolicyHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateSecurityPolicy";
        let i = In::new(&req.inputs, op);
        let (name, kind) = (i.str("name")?, i.str("type")?);
        let out = p
            .opensearchserverless()
            .await
            .create_security_policy()
            .client_token(&req.idempotency_token)
            .name(name)
            .r#type(SecurityPolicyType::from(kind))
            .policy(policy_text(&i, op)?)
            .description(i.opt_str("description").unwrap_or_default())
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        let version = out.security_policy_detail().and_then(|d| d.policy_version());
        let outputs = map([("name", Value::from(name)), ("policyVersion", Value::from(version))]);
        Ok(CreateResult { id: format!("{kind}/{name}"), outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some((kind, name)) = split_policy_id(&req.id) else { return Ok(None) };
        Ok(describe_security_policy(p, kind, name).await?.map(|(inputs, outputs)| ReadResult {
            id: req.id,
            inputs,
            outputs,
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let op = "UpdateSecurityPolicy";
        let i = In::new(&req.inputs, op);
        let (kind, name) = split_policy_id(&req.id).ok_or_else(|| ProviderError::fatal(op, "malformed id"))?;
        // AWS refuses an update that does not quote the current version, so
        // it is read just before (someone else may have changed it).
        let (_, current) = describe_security_policy(p, kind, name)
            .await?
            .ok_or_else(|| ProviderError::fatal(op, format!("the {kind} policy {name} is gone")))?;
        let version = In::new(&current, op).str("policyVersion")?;
        let out = p
            .opensearchserverless()
            .await
            .update_security_policy()
            .name(name)
            .r#type(SecurityPolicyType::from(kind))
            .policy_version(version)
            .policy(policy_text(&i, op)?)
            .description(i.opt_str("description").unwrap_or_default())
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        let version = out.security_policy_detail().and_then(|d| d.policy_version());
        Ok(UpdateResult { outputs: map([("name", Value::from(name)), ("policyVersion", Value::from(version))]) })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        // Collections it covers are dependents and are deleted first.
        let Some((kind, name)) = split_policy_id(&req.id) else { return Ok(()) };
        match p
            .opensearchserverless()
            .await
            .delete_security_policy()
            .r#type(SecurityPolicyType::from(kind))
            .name(name)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteSecurityPolicy", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // Untaggable; the name is unique per type, and a second create of
        // it is refused.
        let i = In::new(&req.inputs, "");
        let (Some(name), Some(kind)) = (i.opt_str("name"), i.opt_str("type")) else { return Ok(None) };
        let found = describe_security_policy(p, kind, name).await?.map(|(inputs, outputs)| ReadResult {
            id: format!("{kind}/{name}"),
            inputs,
            outputs,
        });
        Ok(unless_known(&req, found))
    }
}

// ---- AccessPolicy ----------------------------------------------------------

/// A data access policy: which principals may do what to which
/// collections, indexes and models. A list of `{Rules, Principal}`; the
/// document is compared as JSON. Principals that are other resources'
/// outputs (a role made in the same stack) go in `principals`, added to
/// every rule set's `Principal` list.
///
/// ```
/// use iac_aws::opensearchserverless::AccessPolicy;
/// let readers = AccessPolicy::builder()
///     .name("docs-readers")
///     .policy(serde_json::json!([{
///         "Rules": [
///             {"ResourceType": "index", "Resource": ["index/docs/*"],
///              "Permission": ["aoss:ReadDocument", "aoss:DescribeIndex"]}
///         ],
///         "Principal": ["arn:aws:iam::123456789012:role/search"]
///     }]))
///     .build();
/// // A role of the stack (here a known ARN; usually a `Role`'s `arn` output).
/// let writers = AccessPolicy::builder()
///     .name("docs-writers")
///     .policy(serde_json::json!([{
///         "Rules": [
///             {"ResourceType": "index", "Resource": ["index/docs/*"],
///              "Permission": ["aoss:WriteDocument", "aoss:CreateIndex"]}
///         ]
///     }]))
///     .principals(vec!["arn:aws:iam::123456789012:role/indexer".into()])
///     .build();
/// # let _ = (readers, writers);
/// ```
#[derive(bon::Builder)]
pub struct AccessPolicy {
    /// Its name (replaces).
    #[builder(into)]
    pub name: String,
    /// The policy document.
    pub policy: serde_json::Value,
    /// Principals added after those of every rule set's `Principal` list
    /// (which may then be left out): IAM ARNs, possibly outputs.
    #[builder(default)]
    pub principals: Vec<Input<String>>,
    /// What it is for.
    #[builder(into, default)]
    pub description: String,
}

/// The access policy document with `principals` appended to each rule
/// set's `Principal` list.
fn with_principals(policy: &serde_json::Value, principals: &[Input<String>]) -> Expr {
    let Some(items) = policy.as_array().filter(|_| !principals.is_empty()) else {
        return Value::from_json(policy).into();
    };
    Expr::List(
        items
            .iter()
            .map(|item| {
                let Some(o) = item.as_object() else { return Value::from_json(item).into() };
                let mut m: BTreeMap<String, Expr> =
                    o.iter().map(|(k, v)| (k.clone(), Value::from_json(v).into())).collect();
                let mut list: Vec<Expr> = o
                    .get("Principal")
                    .and_then(|p| p.as_array())
                    .into_iter()
                    .flatten()
                    .map(|p| Value::from_json(p).into())
                    .collect();
                list.extend(principals.iter().map(Input::to_expr));
                m.insert("Principal".to_owned(), Expr::List(list));
                Expr::Map(m)
            })
            .collect(),
    )
}

impl Resource for AccessPolicy {
    type Outputs = PolicyOutputs;
    fn schema() -> &'static Schema {
        &ACCESS_POLICY_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("policy", with_principals(&self.policy, &self.principals)),
            ("description", Value::from(self.description.as_str()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> PolicyOutputs {
        PolicyOutputs {
            id: Output::from_ref(urn, "id"),
            name: Output::from_ref(urn, "name"),
            policy_version: Output::from_ref(urn, "policyVersion"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        policy_name(c, &self.name);
        description_check(c, &self.description);
        let len = self.policy.to_string().len();
        c.check(len <= 20_480, "policy", || format!("{len} bytes; at most 20480"));
        for pr in self.principals.iter().filter_map(Input::value) {
            c.check(pr.starts_with("arn:") || pr.starts_with("saml/"), "principals", || {
                format!("principal `{pr}` is not an IAM ARN or `saml/…`")
            });
        }
        let Some(items) = self.policy.as_array().filter(|a| !a.is_empty()) else {
            c.fail("policy", format!("a data access policy is a non-empty JSON list, not `{}`", self.policy));
            return;
        };
        for item in items {
            check_rules(c, "the access policy", item.get("Rules"), &["collection", "index", "model"], true);
            let principals = item.get("Principal").and_then(|v| v.as_array()).filter(|a| !a.is_empty());
            c.check(principals.is_some() || !self.principals.is_empty(), "policy", || {
                "an access rule needs a `Principal` list (or `principals`)".into()
            });
            for pr in principals.into_iter().flatten() {
                let ok = pr.as_str().is_some_and(|s| s.starts_with("arn:") || s.starts_with("saml/"));
                c.check(ok, "policy", || format!("principal {pr} is not an IAM ARN or `saml/…`"));
            }
        }
    }
}

async fn describe_access_policy(p: &AwsProvider, name: &str) -> Result<Option<(Value, Value)>, ProviderError> {
    let out =
        match p.opensearchserverless().await.get_access_policy().r#type(AccessPolicyType::Data).name(name).send().await
        {
            Ok(o) => o,
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
            Err(e) => return Err(aws_err("GetAccessPolicy", e)),
        };
    let Some(d) = out.access_policy_detail() else { return Ok(None) };
    let inputs = map([
        ("name", Value::from(d.name())),
        ("policy", policy_value(d.policy())),
        ("description", Value::from(d.description().unwrap_or_default())),
    ]);
    let outputs = map([("name", Value::from(d.name())), ("policyVersion", Value::from(d.policy_version()))]);
    Ok(Some((inputs, outputs)))
}

pub(crate) struct AccessPolicyHandler;

#[async_trait]
impl Handler for AccessPolicyHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateAccessPolicy";
        let i = In::new(&req.inputs, op);
        let name = i.str("name")?;
        let out = p
            .opensearchserverless()
            .await
            .create_access_policy()
            .client_token(&req.idempotency_token)
            .name(name)
            .r#type(AccessPolicyType::Data)
            .policy(policy_text(&i, op)?)
            .description(i.opt_str("description").unwrap_or_default())
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        let version = out.access_policy_detail().and_then(|d| d.policy_version());
        let outputs = map([("name", Value::from(name)), ("policyVersion", Value::from(version))]);
        Ok(CreateResult { id: format!("data/{name}"), outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some((_, name)) = split_policy_id(&req.id) else { return Ok(None) };
        Ok(describe_access_policy(p, name).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let op = "UpdateAccessPolicy";
        let i = In::new(&req.inputs, op);
        let (_, name) = split_policy_id(&req.id).ok_or_else(|| ProviderError::fatal(op, "malformed id"))?;
        let (_, current) = describe_access_policy(p, name)
            .await?
            .ok_or_else(|| ProviderError::fatal(op, format!("the access policy {name} is gone")))?;
        let version = In::new(&current, op).str("policyVersion")?;
        let out = p
            .opensearchserverless()
            .await
            .update_access_policy()
            .name(name)
            .r#type(AccessPolicyType::Data)
            .policy_version(version)
            .policy(policy_text(&i, op)?)
            .description(i.opt_str("description").unwrap_or_default())
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        let version = out.access_policy_detail().and_then(|d| d.policy_version());
        Ok(UpdateResult { outputs: map([("name", Value::from(name)), ("policyVersion", Value::from(version))]) })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let Some((_, name)) = split_policy_id(&req.id) else { return Ok(()) };
        match p
            .opensearchserverless()
            .await
            .delete_access_policy()
            .r#type(AccessPolicyType::Data)
            .name(name)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteAccessPolicy", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // Untaggable; the name is unique, and a second create is refused.
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let found = describe_access_policy(p, name).await?.map(|(inputs, outputs)| ReadResult {
            id: format!("data/{name}"),
            inputs,
            outputs,
        });
        Ok(unless_known(&req, found))
    }
}

// ---- Collection ------------------------------------------------------------

/// What a collection is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CollectionKind {
    /// Full-text search.
    Search,
    /// Logs and metrics.
    TimeSeries,
    /// Vector embeddings (a Bedrock knowledge base's store).
    VectorSearch,
}

impl CollectionKind {
    fn as_str(self) -> &'static str {
        match self {
            CollectionKind::Search => "SEARCH",
            CollectionKind::TimeSeries => "TIMESERIES",
            CollectionKind::VectorSearch => "VECTORSEARCH",
        }
    }
}

/// A collection. AWS refuses one that no encryption policy covers, so it
/// names that policy: given a [`SecurityPolicy`]'s `name` output, the
/// collection is created after the policy (and deleted before it), and the
/// preview checks that the policy covers it.
///
/// ```
/// # fn f(s: &iac_core::Stack) {
/// use iac_aws::opensearchserverless::{Collection, CollectionKind, SecurityPolicy, SecurityPolicyKind};
/// let encryption = s.add(
///     "docs-encryption",
///     SecurityPolicy::builder()
///         .name("docs-encryption")
///         .kind(SecurityPolicyKind::Encryption)
///         .policy(serde_json::json!({
///             "Rules": [{"ResourceType": "collection", "Resource": ["collection/docs"]}],
///             "AWSOwnedKey": true
///         }))
///         .build(),
/// );
/// let docs = s.add(
///     "docs",
///     Collection::builder()
///         .name("docs")
///         .kind(CollectionKind::VectorSearch)
///         .encryption_policy(encryption.name.clone())
///         .build(),
/// );
/// # let _ = docs; }
/// ```
#[derive(bon::Builder)]
pub struct Collection {
    /// Its name (replaces).
    #[builder(into)]
    pub name: String,
    /// Search, time series or vector search (replaces).
    pub kind: CollectionKind,
    /// What it holds.
    #[builder(into, default)]
    pub description: String,
    /// Standby replicas in another zone (true, AWS's default; replaces).
    #[builder(default = true)]
    pub standby_replicas: bool,
    /// The encryption policy covering it (its name).
    #[builder(into)]
    pub encryption_policy: Input<String>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`Collection`].
pub struct CollectionOutputs {
    /// Its id (the resource's id).
    pub id: Output<String>,
    /// Its ARN, for a knowledge base's storage.
    pub arn: Output<String>,
    /// The endpoint for OpenSearch requests.
    pub endpoint: Output<String>,
    /// The OpenSearch Dashboards endpoint.
    pub dashboard_endpoint: Output<String>,
    /// The key encrypting it (`auto` for an AWS-owned key).
    pub kms_key_arn: Output<String>,
}

impl Resource for Collection {
    type Outputs = CollectionOutputs;
    fn schema() -> &'static Schema {
        &COLLECTION_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("type", Value::from(self.kind.as_str()).into()),
            ("description", Value::from(self.description.as_str()).into()),
            ("standbyReplicas", Value::from(if self.standby_replicas { "ENABLED" } else { "DISABLED" }).into()),
            ("encryptionPolicy", self.encryption_policy.to_expr()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> CollectionOutputs {
        CollectionOutputs {
            id: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            endpoint: Output::from_ref(urn, "endpoint"),
            dashboard_endpoint: Output::from_ref(urn, "dashboardEndpoint"),
            kms_key_arn: Output::from_ref(urn, "kmsKeyArn"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        collection_name(c, &self.name);
        description_check(c, &self.description);
    }
}

/// A collection whose encryption policy is declared in the program must be
/// covered by it, and it must be an encryption policy.
fn check_encryption_policies(g: &Graph, out: &mut Vec<Diagnostic>) {
    for d in g.resources.values().filter(|d| d.type_token == COLLECTION) {
        let Some(Expr::Ref { urn: policy_urn, .. }) = d.input("encryptionPolicy") else { continue };
        let Some(policy) = g.resources.get(policy_urn).filter(|p| p.type_token == SECURITY_POLICY) else { continue };
        let name = d.plain_input("name").and_then(Value::as_str).unwrap_or_default();
        let mut fail = |message: String| {
            out.push(Diagnostic {
                urn: d.urn.clone(),
                type_token: COLLECTION.into(),
                field: "encryptionPolicy".into(),
                message,
            })
        };
        if policy.plain_input("type").and_then(Value::as_str) != Some("encryption") {
            fail(format!("`{policy_urn}` is a network policy, not an encryption policy"));
            continue;
        }
        if let Some(doc) = policy.plain_input("policy").and_then(Value::to_plain_json) {
            if !covers(&doc, name) {
                fail(format!("`{policy_urn}` has no rule for collection/{name} (or a pattern matching it)"));
            }
        }
    }
}

fn collection_values(c: &CollectionDetail, tags: &[Tag], recorded: &Value) -> (Value, Value) {
    let mut inputs = map([
        ("name", Value::from(c.name())),
        ("type", Value::from(c.r#type().map(|t| t.as_str()))),
        ("description", Value::from(c.description().unwrap_or_default())),
        ("standbyReplicas", Value::from(c.standby_replicas().map_or("ENABLED", |s| s.as_str()))),
        ("tags", tags_value(tags.iter().map(|t| (t.key(), t.value())))),
    ]);
    // Which policy covers it is ours to know; AWS matches by rules.
    keep_write_only(&mut inputs, recorded, &["encryptionPolicy"]);
    let outputs = map([
        ("arn", Value::from(c.arn())),
        ("endpoint", Value::from(c.collection_endpoint())),
        ("dashboardEndpoint", Value::from(c.dashboard_endpoint())),
        ("kmsKeyArn", Value::from(c.kms_key_arn())),
    ]);
    (inputs, outputs)
}

async fn get_collection(p: &AwsProvider, id: &str) -> Result<Option<CollectionDetail>, ProviderError> {
    let out = p
        .opensearchserverless()
        .await
        .batch_get_collection()
        .ids(id)
        .send()
        .await
        .map_err(|e| aws_err("BatchGetCollection", e))?;
    Ok(out.collection_details().iter().find(|c| c.id() == Some(id)).cloned())
}

async fn collection_tags(p: &AwsProvider, arn: &str) -> Result<Vec<Tag>, ProviderError> {
    let out = p
        .opensearchserverless()
        .await
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| aws_err("ListTagsForResource", e))?;
    Ok(out.tags().to_vec())
}

async fn describe_collection(
    p: &AwsProvider,
    id: &str,
    recorded: &Value,
) -> Result<Option<(Value, Value)>, ProviderError> {
    let Some(c) = get_collection(p, id).await? else { return Ok(None) };
    if c.status() == Some(&CollectionStatus::Deleting) {
        return Ok(None);
    }
    let tags = collection_tags(p, c.arn().unwrap_or_default()).await?;
    Ok(Some(collection_values(&c, &tags, recorded)))
}

fn aoss_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, ProviderError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder().key(k).value(v).build().map_err(|e| ProviderError::fatal("TagResource", e.to_string()))
        })
        .collect()
}

/// Waits until the collection is `ACTIVE`; a `FAILED` one is an error
/// with AWS's reason.
async fn wait_active(p: &AwsProvider, id: &str, timeout: Option<Duration>) -> Result<CollectionDetail, ProviderError> {
    wait_for(&format!("collection {id} active"), timeout, Duration::from_secs(20 * 60), || async {
        let Some(c) = get_collection(p, id).await? else {
            return Err(ProviderError::retriable("BatchGetCollection", format!("collection {id} not visible yet")));
        };
        match c.status() {
            Some(CollectionStatus::Active) => Ok(Some(c)),
            Some(CollectionStatus::Failed | CollectionStatus::UpdateFailed) => Err(ProviderError::fatal(
                "BatchGetCollection",
                format!(
                    "collection {id} failed: {} {}",
                    c.failure_code().unwrap_or_default(),
                    c.failure_message().unwrap_or("no reason given")
                ),
            )),
            _ => Ok(None),
        }
    })
    .await
}

pub(crate) struct CollectionHandler;

#[async_trait]
impl Handler for CollectionHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateCollection";
        let i = In::new(&req.inputs, op);
        let name = i.str("name")?;
        // Say which policy is wrong, rather than AWS's "no matching policy".
        let policy_name = i.str("encryptionPolicy")?;
        let (policy, _) = describe_security_policy(p, "encryption", policy_name)
            .await?
            .ok_or_else(|| ProviderError::fatal(op, format!("the encryption policy `{policy_name}` does not exist")))?;
        let doc = policy.get("policy").to_plain_json().unwrap_or_default();
        if !covers(&doc, name) {
            return Err(ProviderError::fatal(
                op,
                format!("the encryption policy `{policy_name}` has no rule for collection/{name}"),
            ));
        }
        let out = p
            .opensearchserverless()
            .await
            .create_collection()
            .client_token(&req.idempotency_token)
            .name(name)
            .r#type(CollectionType::from(i.str("type")?))
            .description(i.opt_str("description").unwrap_or_default())
            .standby_replicas(StandbyReplicas::from(i.opt_str("standbyReplicas").unwrap_or("ENABLED")))
            .set_tags(Some(aoss_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))?))
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        let id = out
            .create_collection_detail()
            .and_then(|d| d.id())
            .ok_or_else(|| ProviderError::fatal(op, "no id returned"))?
            .to_owned();
        let c = wait_active(p, &id, req.timeout).await?;
        let (_, outputs) = collection_values(&c, &[], &req.inputs);
        Ok(CreateResult { id, outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe_collection(p, &req.id, &req.inputs).await?.map(|(inputs, outputs)| ReadResult {
            id: req.id,
            inputs,
            outputs,
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let i = In::new(&req.inputs, "UpdateCollection");
        let aoss = p.opensearchserverless().await;
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if changed("description") {
            aoss.update_collection()
                .id(&req.id)
                .description(i.opt_str("description").unwrap_or_default())
                .send()
                .await
                .map_err(|e| aws_err("UpdateCollection", e))?;
            wait_active(p, &req.id, req.timeout).await?;
        }
        if changed("tags") {
            let arn = In::new(&req.old_outputs, "TagResource").str("arn")?;
            let (was, now) = (In::new(&req.old_inputs, "").tags(), i.tags());
            let removed: Vec<String> = was.keys().filter(|k| !now.contains_key(*k)).cloned().collect();
            if !removed.is_empty() {
                aoss.untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .map_err(|e| aws_err("UntagResource", e))?;
            }
            let added: BTreeMap<String, String> = now.into_iter().filter(|(k, v)| was.get(k) != Some(v)).collect();
            if !added.is_empty() {
                aoss.tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(aoss_tags(&added)?))
                    .send()
                    .await
                    .map_err(|e| aws_err("TagResource", e))?;
            }
        }
        // `encryptionPolicy` is ours alone: a change needs no call.
        Ok(UpdateResult { outputs: req.old_outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.opensearchserverless().await.delete_collection().id(&req.id).send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(()),
            Err(e) => return Err(aws_err("DeleteCollection", e)),
        }
        wait_for(&format!("collection {} deleted", req.id), req.timeout, Duration::from_secs(20 * 60), || async {
            Ok(get_collection(p, &req.id).await?.is_none().then_some(()))
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let pages = p
            .opensearchserverless()
            .await
            .list_collections()
            .collection_filters(CollectionFilters::builder().name(name).build())
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_err("ListCollections", e))?;
        let summaries = pages.iter().flat_map(|p| p.collection_summaries());
        for s in summaries.filter(|s| s.name() == Some(name)) {
            let (Some(id), Some(arn)) = (s.id(), s.arn()) else { continue };
            // The old copy of a replace, still being deleted, is listed too.
            if req.is_known(id) {
                continue;
            }
            let tags = collection_tags(p, arn).await?;
            let get = |k: &str| tags.iter().find(|t| t.key() == k).map(|t| t.value());
            if get(TAG_STACK) != Some(req.stack.as_str()) || get(TAG_NAME) != Some(req.urn.as_str()) {
                continue;
            }
            return Ok(describe_collection(p, id, &req.inputs).await?.map(|(inputs, outputs)| ReadResult {
                id: id.to_owned(),
                inputs,
                outputs,
            }));
        }
        Ok(None)
    }
}
