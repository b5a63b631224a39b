//! `Policy` (a customer-managed policy) and `RolePolicyAttachment`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use super::{
    check_name, check_path, details_chunk, has_identity, iam_tags, tag_changes, tag_pairs, PolicyArn, RoleName,
};
use crate::batch_read::read_batched;
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::policy::{self, PolicyDocument, PolicyKind};
use crate::provider::AwsProvider;
use crate::util::{map, tags_value, tags_with_identity, In};

pub(crate) const POLICY: &str = "aws:iam:Policy";
pub(crate) const ATTACHMENT: &str = "aws:iam:RolePolicyAttachment";

/// Schema of [`Policy`]: AWS cannot rename a policy, move it or change its
/// description; a new document becomes a new default version.
pub static POLICY_SCHEMA: Schema = Schema {
    replace_on: &["name", "path", "description"],
    delete_before_replace: true,
    taggable: true,
    ..Schema::new(POLICY, "aws")
};

/// Schema of [`RolePolicyAttachment`]: an attachment is its role and policy.
pub static ATTACHMENT_SCHEMA: Schema =
    Schema { replace_on: &["role", "policyArn"], delete_before_replace: true, ..Schema::new(ATTACHMENT, "aws") };

/// A customer-managed IAM policy.
///
/// ```
/// use iac_aws::iam::Policy;
/// use iac_aws::policy::{PolicyDocument, Statement};
/// let pull = Policy::builder()
///     .name("ecr-pull")
///     .document(PolicyDocument::new().statement(
///         Statement::builder()
///             .actions(["ecr:GetAuthorizationToken", "ecr:BatchGetImage"])
///             .resources(vec!["*".into()])
///             .build(),
///     ))
///     .build();
/// # let _ = pull;
/// ```
#[derive(bon::Builder)]
pub struct Policy {
    /// The policy's name (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// Its path (replaces when changed).
    #[builder(into, default = "/")]
    pub path: String,
    /// What it is for (replaces when changed).
    #[builder(into)]
    pub description: Option<String>,
    /// What it allows; a change becomes a new default version.
    pub document: PolicyDocument,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`Policy`].
pub struct PolicyOutputs {
    /// Its ARN (the resource's id).
    pub id: Output<PolicyArn>,
    /// Its ARN as a string, for attachments and documents.
    pub arn: Output<String>,
}

impl Resource for Policy {
    type Outputs = PolicyOutputs;
    fn schema() -> &'static Schema {
        &POLICY_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("path", Value::from(self.path.as_str()).into()),
            ("description", Value::from(self.description.clone()).into()),
            ("document", self.document.to_expr()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> PolicyOutputs {
        PolicyOutputs { id: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "id") }
    }
    fn validate(&self, c: &mut Checks) {
        check_name(c, "name", &self.name, 128);
        check_path(c, "path", &self.path);
        self.document.validate(c, "document", PolicyKind::Identity);
    }
}

struct Described {
    inputs: Value,
}

async fn describe(p: &AwsProvider, arn: &str) -> Result<Option<Described>, ProviderError> {
    let iam = p.iam().await;
    let pol = match iam.get_policy().policy_arn(arn).send().await {
        Ok(o) => match o.policy {
            Some(p) => p,
            None => return Ok(None),
        },
        Err(e) if is_code(&e, &["NoSuchEntity"]) => return Ok(None),
        Err(e) => return Err(aws_err("GetPolicy", e)),
    };
    let version = pol.default_version_id().unwrap_or("v1");
    let doc = iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
        .map_err(|e| aws_err("GetPolicyVersion", e))?;
    let document = doc.policy_version().and_then(|v| v.document()).and_then(policy::parse).unwrap_or(Value::Null);
    let inputs = map([
        ("name", Value::from(pol.policy_name())),
        ("path", Value::from(pol.path())),
        ("description", Value::from(pol.description().filter(|d| !d.is_empty()))),
        ("document", document),
        ("tags", tags_value(tag_pairs(pol.tags()))),
    ]);
    Ok(Some(Described { inputs }))
}

fn doc_text(i: In<'_>, key: &str, op: &str) -> Result<String, ProviderError> {
    i.json(key).map(|j| j.to_string()).ok_or_else(|| ProviderError::fatal(op, format!("input `{key}` is missing")))
}

/// Deletes non-default versions, keeping the `keep` newest (AWS keeps at
/// most five, and a policy is deleted only without them).
async fn delete_old_versions(p: &AwsProvider, arn: &str, keep: usize) -> Result<(), ProviderError> {
    let iam = p.iam().await;
    let out = iam.list_policy_versions().policy_arn(arn).send().await.map_err(|e| aws_err("ListPolicyVersions", e))?;
    let mut old: Vec<_> = out.versions().iter().filter(|v| !v.is_default_version()).collect();
    old.sort_by_key(|v| v.create_date().copied());
    let excess = old.len().saturating_sub(keep);
    for v in old.into_iter().take(excess) {
        let Some(id) = v.version_id() else { continue };
        match iam.delete_policy_version().policy_arn(arn).version_id(id).send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, &["NoSuchEntity"]) => {}
            Err(e) => return Err(aws_err("DeletePolicyVersion", e)),
        }
    }
    Ok(())
}

pub(crate) struct PolicyHandler;

#[async_trait]
impl Handler for PolicyHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreatePolicy");
        let out = p
            .iam()
            .await
            .create_policy()
            .policy_name(i.str("name")?)
            .path(i.opt_str("path").unwrap_or("/"))
            .set_description(i.opt_str("description").map(str::to_owned))
            .policy_document(doc_text(i, "document", "CreatePolicy")?)
            .set_tags(Some(iam_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreatePolicy", e))?;
        let arn = out
            .policy()
            .and_then(|p| p.arn())
            .ok_or_else(|| ProviderError::fatal("CreatePolicy", "no policy ARN returned"))?;
        Ok(CreateResult { id: arn.to_owned(), outputs: Value::map() })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id).await?.map(|d| ReadResult { id: req.id, inputs: d.inputs, outputs: Value::map() }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, ""), In::new(&req.inputs, "CreatePolicyVersion"));
        let iam = p.iam().await;
        if req.changed.iter().any(|k| k == "document") {
            // Room for the new version: AWS keeps five.
            delete_old_versions(p, &req.id, 3).await?;
            iam.create_policy_version()
                .policy_arn(&req.id)
                .policy_document(doc_text(new, "document", "CreatePolicyVersion")?)
                .set_as_default(true)
                .send()
                .await
                .map_err(|e| aws_err("CreatePolicyVersion", e))?;
        }
        if req.changed.iter().any(|k| k == "tags") {
            let (removed, added) = tag_changes(&old.tags(), &new.tags());
            if !removed.is_empty() {
                iam.untag_policy()
                    .policy_arn(&req.id)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .map_err(|e| aws_err("UntagPolicy", e))?;
            }
            if !added.is_empty() {
                iam.tag_policy()
                    .policy_arn(&req.id)
                    .set_tags(Some(added))
                    .send()
                    .await
                    .map_err(|e| aws_err("TagPolicy", e))?;
            }
        }
        Ok(UpdateResult { outputs: Value::map() })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match delete_old_versions(p, &req.id, 0).await {
            Err(e) if e.message.contains("NoSuchEntity") => return Ok(()),
            r => r?,
        }
        match p.iam().await.delete_policy().policy_arn(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["NoSuchEntity"]) => Ok(()),
            Err(e) if is_code(&e, &["DeleteConflict"]) => {
                Err(ProviderError::retriable("DeletePolicy", format!("{}: still attached", req.id)))
            }
            Err(e) => Err(aws_err("DeletePolicy", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let i = In::new(&req.inputs, "");
        let Some(name) = i.opt_str("name") else { return Ok(None) };
        let out = p
            .iam()
            .await
            .list_policies()
            .scope(aws_sdk_iam::types::PolicyScopeType::Local)
            .path_prefix(i.opt_str("path").unwrap_or("/"))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_err("ListPolicies", e))?;
        // A policy's name is unique in the account: the one policy holding it.
        let Some(arn) =
            out.iter().find(|p| p.policy_name() == Some(name)).and_then(|p| p.arn()).filter(|arn| !req.is_known(arn))
        else {
            return Ok(None);
        };
        let tags =
            p.iam().await.list_policy_tags().policy_arn(arn).send().await.map_err(|e| aws_err("ListPolicyTags", e))?;
        if !has_identity(tags.tags(), &req.stack, req.urn.as_str()) {
            return Ok(None);
        }
        Ok(describe(p, arn).await?.map(|d| ReadResult { id: arn.to_owned(), inputs: d.inputs, outputs: Value::map() }))
    }
}

/// Attaches a managed policy (AWS's or a [`Policy`]) to a role.
///
/// ```
/// use iac_aws::iam::RolePolicyAttachment;
/// let exec = RolePolicyAttachment::builder()
///     .role("web-task-execution")
///     .policy_arn("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")
///     .build();
/// # let _ = exec;
/// ```
#[derive(bon::Builder)]
pub struct RolePolicyAttachment {
    /// The role.
    #[builder(into)]
    pub role: Input<RoleName>,
    /// The policy's ARN.
    #[builder(into)]
    pub policy_arn: Input<String>,
}

/// Outputs of a [`RolePolicyAttachment`].
pub struct RolePolicyAttachmentOutputs {
    /// Its id (`<role>:<policy ARN>`).
    pub id: Output<String>,
}

impl Resource for RolePolicyAttachment {
    type Outputs = RolePolicyAttachmentOutputs;
    fn schema() -> &'static Schema {
        &ATTACHMENT_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([("role", self.role.to_expr()), ("policyArn", self.policy_arn.to_expr())])
    }
    fn outputs(urn: &Urn) -> RolePolicyAttachmentOutputs {
        RolePolicyAttachmentOutputs { id: Output::from_ref(urn, "id") }
    }
    fn validate(&self, c: &mut Checks) {
        if let Some(arn) = self.policy_arn.value() {
            c.check(arn.starts_with("arn:") && arn.contains(":policy/"), "policyArn", || {
                format!("`{arn}` is not a policy ARN (arn:aws:iam::…:policy/…)")
            });
        }
    }
}

pub(crate) struct AttachmentHandler;

/// An attachment's id, `<role>:<policy ARN>`, as (role, ARN).
pub(crate) fn attachment_id(req: &ReadRequest) -> Result<(&str, &str), ProviderError> {
    req.id
        .split_once(':')
        .ok_or_else(|| ProviderError::fatal("ListAttachedRolePolicies", format!("malformed id `{}`", req.id)))
}

/// What a read answers for an attachment AWS holds.
fn attachment_read(req: &ReadRequest) -> ReadResult {
    let (role, arn) = req.id.split_once(':').unwrap_or_default();
    ReadResult {
        inputs: map([("role", Value::from(role)), ("policyArn", Value::from(arn))]),
        id: req.id.clone(),
        outputs: Value::map(),
    }
}

async fn attached(p: &AwsProvider, role: &str, arn: &str) -> Result<Option<bool>, ProviderError> {
    let iam = p.iam().await;
    let mut marker = None;
    loop {
        let out = match iam.list_attached_role_policies().role_name(role).set_marker(marker).send().await {
            Ok(o) => o,
            Err(e) if is_code(&e, &["NoSuchEntity"]) => return Ok(None),
            Err(e) => return Err(aws_err("ListAttachedRolePolicies", e)),
        };
        if out.attached_policies().iter().any(|a| a.policy_arn() == Some(arn)) {
            return Ok(Some(true));
        }
        match out.marker() {
            Some(m) if out.is_truncated() => marker = Some(m.to_owned()),
            _ => return Ok(Some(false)),
        }
    }
}

#[async_trait]
impl Handler for AttachmentHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "AttachRolePolicy");
        let (role, arn) = (i.str("role")?, i.str("policyArn")?);
        p.iam()
            .await
            .attach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| aws_err("AttachRolePolicy", e))?;
        Ok(CreateResult { id: format!("{role}:{arn}"), outputs: Value::map() })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let (role, arn) = attachment_id(&req)?;
        Ok((attached(p, role, arn).await? == Some(true)).then(|| attachment_read(&req)))
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        // By their roles: the account's role details list each role's
        // attached policies.
        read_batched(
            reqs,
            READ_BATCH,
            |req| Ok((String::new(), attachment_id(req)?.0.to_owned())),
            |_, roles| details_chunk(p, roles),
            |req, role| async move {
                let (_, arn) = attachment_id(&req)?;
                let on = role.attached_managed_policies().iter().any(|a| a.policy_arn() == Some(arn));
                Ok(on.then(|| attachment_read(&req)))
            },
            |req| self.read(p, req),
        )
        .await
    }

    async fn update(&self, _p: &AwsProvider, _req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        Err(ProviderError::fatal("RolePolicyAttachment", "an attachment is replaced, never updated in place"))
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let i = In::new(&req.inputs, "DetachRolePolicy");
        match p.iam().await.detach_role_policy().role_name(i.str("role")?).policy_arn(i.str("policyArn")?).send().await
        {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["NoSuchEntity"]) => Ok(()),
            Err(e) => Err(aws_err("DetachRolePolicy", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let i = In::new(&req.inputs, "");
        let (Some(role), Some(arn)) = (i.opt_str("role"), i.opt_str("policyArn")) else { return Ok(None) };
        let id = format!("{role}:{arn}");
        // A role holds a managed policy once.
        if req.is_known(&id) {
            return Ok(None);
        }
        self.read(
            p,
            ReadRequest { type_token: ATTACHMENT, urn: req.urn, id, inputs: req.inputs.clone(), outputs: Value::map() },
        )
        .await
    }
}
