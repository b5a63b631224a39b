//! `Role` (with its trust policy) and `RolePolicy` (an inline policy).

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use super::{
    check_name, check_path, details_chunk, has_identity, iam_tags, listed_roles, role_details, tag_changes, tag_pairs,
    RoleName,
};
use crate::batch_read::{by_id, read_batched, Chunk};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::policy::{self, PolicyDocument, PolicyKind};
use crate::provider::AwsProvider;
use crate::util::{map, tags_value, tags_with_identity, unless_known, In};

pub(crate) const ROLE: &str = "aws:iam:Role";
pub(crate) const ROLE_POLICY: &str = "aws:iam:RolePolicy";

/// Schema of [`Role`]: the name and path are its identity (names are unique
/// in the account, so a replacement deletes first).
pub static ROLE_SCHEMA: Schema =
    Schema { replace_on: &["name", "path"], delete_before_replace: true, taggable: true, ..Schema::new(ROLE, "aws") };

/// Schema of [`RolePolicy`]: the role and the policy's name identify it.
pub static ROLE_POLICY_SCHEMA: Schema =
    Schema { replace_on: &["role", "name"], delete_before_replace: true, ..Schema::new(ROLE_POLICY, "aws") };

/// An IAM role.
///
/// ```
/// use iac_aws::iam::Role;
/// use iac_aws::policy::{PolicyDocument, Principal, Statement};
/// let role = Role::builder()
///     .name("web-task")
///     .assume_role_policy(PolicyDocument::new().statement(
///         Statement::builder()
///             .actions(["sts:AssumeRole"])
///             .principals(vec![Principal::Service("ecs-tasks.amazonaws.com".into())])
///             .build(),
///     ))
///     .build();
/// # let _ = role;
/// ```
#[derive(bon::Builder)]
pub struct Role {
    /// The role's name, unique in the account (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// Its path (replaces when changed).
    #[builder(into, default = "/")]
    pub path: String,
    /// Who may assume the role.
    pub assume_role_policy: PolicyDocument,
    /// What the role is for.
    #[builder(into)]
    pub description: Option<String>,
    /// The longest session, in seconds (3600–43200).
    #[builder(default = 3600)]
    pub max_session_duration: i32,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`Role`].
pub struct RoleOutputs {
    /// Its name (the resource's id).
    pub id: Output<RoleName>,
    /// Its ARN.
    pub arn: Output<String>,
    /// Its stable unique id (`AROA…`).
    pub unique_id: Output<String>,
}

impl Resource for Role {
    type Outputs = RoleOutputs;
    fn schema() -> &'static Schema {
        &ROLE_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("path", Value::from(self.path.as_str()).into()),
            ("assumeRolePolicy", self.assume_role_policy.to_expr()),
            ("description", Value::from(self.description.clone()).into()),
            ("maxSessionDuration", Value::from(i64::from(self.max_session_duration)).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> RoleOutputs {
        RoleOutputs {
            id: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            unique_id: Output::from_ref(urn, "uniqueId"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        check_name(c, "name", &self.name, 64);
        check_path(c, "path", &self.path);
        self.assume_role_policy.validate(c, "assumeRolePolicy", PolicyKind::Trust);
        c.check((3600..=43200).contains(&self.max_session_duration), "maxSessionDuration", || {
            format!("{} s: a session lasts 3600 to 43200 s", self.max_session_duration)
        });
        if let Some(d) = &self.description {
            c.check(d.chars().count() <= 1000, "description", || "at most 1000 characters".into());
        }
    }
}

fn role_description(r: &aws_sdk_iam::types::Role) -> (Value, Value) {
    let inputs = map([
        ("name", Value::from(r.role_name())),
        ("path", Value::from(r.path())),
        ("assumeRolePolicy", r.assume_role_policy_document().and_then(policy::parse).unwrap_or(Value::Null)),
        ("description", Value::from(r.description().filter(|d| !d.is_empty()))),
        ("maxSessionDuration", Value::from(r.max_session_duration().map(i64::from))),
        ("tags", tags_value(tag_pairs(r.tags()))),
    ]);
    let outputs = map([("arn", Value::from(r.arn())), ("uniqueId", Value::from(r.role_id()))]);
    (inputs, outputs)
}

async fn get_role(p: &AwsProvider, name: &str) -> Result<Option<aws_sdk_iam::types::Role>, ProviderError> {
    match p.iam().await.get_role().role_name(name).send().await {
        Ok(o) => Ok(o.role),
        Err(e) if is_code(&e, &["NoSuchEntity"]) => Ok(None),
        Err(e) => Err(aws_err("GetRole", e)),
    }
}

/// Many roles: `GetRole` is the only call that answers a role whole, so a
/// batch reads it from two account-wide listings, `ListRoles` (all but the
/// tags) and `GetAccountAuthorizationDetails` (the tags), each at most a
/// page per two roles. A role only one listing shows (made or deleted
/// between them), or any a listing cut short missed, is read one by one.
async fn describe_roles(p: &AwsProvider, names: Vec<String>) -> Result<Chunk<aws_sdk_iam::types::Role>, ProviderError> {
    let wanted: HashSet<String> = names.into_iter().collect();
    let budget = wanted.len().div_ceil(2);
    let (listed, listed_all) = listed_roles(p, &wanted, budget).await?;
    let (mut details, detailed_all) = role_details(p, &wanted, budget).await?;
    let mut settled = listed_all && detailed_all && listed.len() == details.len();
    let mut found = HashMap::new();
    for (name, mut role) in listed {
        match details.remove(&name) {
            Some(d) => {
                role.tags = d.tags;
                found.insert(name, role);
            }
            None => settled = false,
        }
    }
    Ok(if settled { Chunk::Found(found) } else { Chunk::Partial(found) })
}

fn doc_text(i: In<'_>, key: &str, op: &str) -> Result<String, ProviderError> {
    i.json(key).map(|j| j.to_string()).ok_or_else(|| ProviderError::fatal(op, format!("input `{key}` is missing")))
}

pub(crate) struct RoleHandler;

#[async_trait]
impl Handler for RoleHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateRole");
        let out = p
            .iam()
            .await
            .create_role()
            .role_name(i.str("name")?)
            .path(i.opt_str("path").unwrap_or("/"))
            .assume_role_policy_document(doc_text(i, "assumeRolePolicy", "CreateRole")?)
            .set_description(i.opt_str("description").map(str::to_owned))
            .set_max_session_duration(i.opt_i32("maxSessionDuration"))
            .set_tags(Some(iam_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateRole", e))?;
        let role = out.role().ok_or_else(|| ProviderError::fatal("CreateRole", "no role returned"))?;
        Ok(CreateResult { id: role.role_name().to_owned(), outputs: role_description(role).1 })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(get_role(p, &req.id).await?.map(|r| {
            let (inputs, outputs) = role_description(&r);
            ReadResult { id: req.id, inputs, outputs }
        }))
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        read_batched(
            reqs,
            READ_BATCH,
            by_id,
            |_, names| describe_roles(p, names),
            |req, r| async move {
                let (inputs, outputs) = role_description(&r);
                Ok(Some(ReadResult { id: req.id, inputs, outputs }))
            },
            |req| self.read(p, req),
        )
        .await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, ""), In::new(&req.inputs, "UpdateRole"));
        let iam = p.iam().await;
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if changed("assumeRolePolicy") {
            iam.update_assume_role_policy()
                .role_name(&req.id)
                .policy_document(doc_text(new, "assumeRolePolicy", "UpdateAssumeRolePolicy")?)
                .send()
                .await
                .map_err(|e| aws_err("UpdateAssumeRolePolicy", e))?;
        }
        if changed("description") || changed("maxSessionDuration") {
            iam.update_role()
                .role_name(&req.id)
                .description(new.opt_str("description").unwrap_or(""))
                .set_max_session_duration(new.opt_i32("maxSessionDuration"))
                .send()
                .await
                .map_err(|e| aws_err("UpdateRole", e))?;
        }
        if changed("tags") {
            let (removed, added) = tag_changes(&old.tags(), &new.tags());
            if !removed.is_empty() {
                iam.untag_role()
                    .role_name(&req.id)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .map_err(|e| aws_err("UntagRole", e))?;
            }
            if !added.is_empty() {
                iam.tag_role()
                    .role_name(&req.id)
                    .set_tags(Some(added))
                    .send()
                    .await
                    .map_err(|e| aws_err("TagRole", e))?;
            }
        }
        let r = get_role(p, &req.id).await?.ok_or_else(|| ProviderError::fatal("GetRole", "the role is gone"))?;
        Ok(UpdateResult { outputs: role_description(&r).1 })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        // Attachments and inline policies are resources of their own and go
        // first; a conflict left is one being deleted right now (retried).
        match p.iam().await.delete_role().role_name(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["NoSuchEntity"]) => Ok(()),
            Err(e) if is_code(&e, &["DeleteConflict"]) => {
                Err(ProviderError::retriable("DeleteRole", format!("{}: still has policies or profiles", req.id)))
            }
            Err(e) => Err(aws_err("DeleteRole", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let found =
            get_role(p, name).await?.filter(|r| has_identity(r.tags(), &req.stack, req.urn.as_str())).map(|r| {
                let (inputs, outputs) = role_description(&r);
                ReadResult { id: name.to_owned(), inputs, outputs }
            });
        Ok(unless_known(&req, found))
    }
}

/// An inline policy of a role: it lives and dies with the role.
///
/// ```
/// use iac_aws::iam::RolePolicy;
/// use iac_aws::policy::{PolicyDocument, Statement};
/// let logs = RolePolicy::builder()
///     .role("web-task")
///     .name("write-logs")
///     .policy(PolicyDocument::new().statement(
///         Statement::builder()
///             .actions(["logs:CreateLogStream", "logs:PutLogEvents"])
///             .resources(vec!["arn:aws:logs:*:*:log-group:/ecs/web:*".into()])
///             .build(),
///     ))
///     .build();
/// # let _ = logs;
/// ```
#[derive(bon::Builder)]
pub struct RolePolicy {
    /// The role (replaces when changed).
    #[builder(into)]
    pub role: Input<RoleName>,
    /// The policy's name in the role (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// What it allows.
    pub policy: PolicyDocument,
}

/// Outputs of a [`RolePolicy`].
pub struct RolePolicyOutputs {
    /// Its id (`<role>:<name>`).
    pub id: Output<String>,
}

impl Resource for RolePolicy {
    type Outputs = RolePolicyOutputs;
    fn schema() -> &'static Schema {
        &ROLE_POLICY_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("role", self.role.to_expr()),
            ("name", Value::from(self.name.as_str()).into()),
            ("policy", self.policy.to_expr()),
        ])
    }
    fn outputs(urn: &Urn) -> RolePolicyOutputs {
        RolePolicyOutputs { id: Output::from_ref(urn, "id") }
    }
    fn validate(&self, c: &mut Checks) {
        check_name(c, "name", &self.name, 128);
        self.policy.validate(c, "policy", PolicyKind::Identity);
    }
}

pub(crate) struct RolePolicyHandler;

/// An inline policy's id, `<role>:<name>`, as (role, name).
pub(crate) fn inline_policy_id(req: &ReadRequest) -> Result<(&str, &str), ProviderError> {
    req.id
        .split_once(':')
        .ok_or_else(|| ProviderError::fatal("GetRolePolicy", format!("malformed inline policy id `{}`", req.id)))
}

/// What a read answers for an inline policy AWS holds with `doc`.
fn inline_policy_read(req: ReadRequest, doc: &str) -> ReadResult {
    let (role, name) = req.id.split_once(':').unwrap_or_default();
    ReadResult {
        inputs: map([
            ("role", Value::from(role)),
            ("name", Value::from(name)),
            ("policy", policy::parse(doc).unwrap_or(Value::Null)),
        ]),
        id: req.id,
        outputs: Value::map(),
    }
}

async fn put_role_policy(p: &AwsProvider, i: In<'_>) -> Result<(), ProviderError> {
    p.iam()
        .await
        .put_role_policy()
        .role_name(i.str("role")?)
        .policy_name(i.str("name")?)
        .policy_document(doc_text(i, "policy", "PutRolePolicy")?)
        .send()
        .await
        .map_err(|e| aws_err("PutRolePolicy", e))?;
    Ok(())
}

#[async_trait]
impl Handler for RolePolicyHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "PutRolePolicy");
        put_role_policy(p, i).await?;
        Ok(CreateResult { id: format!("{}:{}", i.str("role")?, i.str("name")?), outputs: Value::map() })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let (role, name) = inline_policy_id(&req)?;
        match p.iam().await.get_role_policy().role_name(role).policy_name(name).send().await {
            Ok(o) => Ok(Some(inline_policy_read(req.clone(), o.policy_document()))),
            Err(e) if is_code(&e, &["NoSuchEntity"]) => Ok(None),
            Err(e) => Err(aws_err("GetRolePolicy", e)),
        }
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        // By their roles: the account's role details list each role's
        // inline policies, documents and all.
        read_batched(
            reqs,
            READ_BATCH,
            |req| Ok((String::new(), inline_policy_id(req)?.0.to_owned())),
            |_, roles| details_chunk(p, roles),
            |req, role| async move {
                let (_, name) = inline_policy_id(&req)?;
                let doc = role.role_policy_list().iter().find(|d| d.policy_name() == Some(name));
                Ok(doc.map(|d| inline_policy_read(req.clone(), d.policy_document().unwrap_or_default())))
            },
            |req| self.read(p, req),
        )
        .await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        put_role_policy(p, In::new(&req.inputs, "PutRolePolicy")).await?;
        Ok(UpdateResult { outputs: Value::map() })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let i = In::new(&req.inputs, "DeleteRolePolicy");
        match p.iam().await.delete_role_policy().role_name(i.str("role")?).policy_name(i.str("name")?).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["NoSuchEntity"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteRolePolicy", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // An inline policy is named by its role and name.
        let i = In::new(&req.inputs, "");
        let (Some(role), Some(name)) = (i.opt_str("role"), i.opt_str("name")) else { return Ok(None) };
        let id = format!("{role}:{name}");
        if req.is_known(&id) {
            return Ok(None);
        }
        self.read(
            p,
            ReadRequest {
                type_token: ROLE_POLICY,
                urn: req.urn,
                id,
                inputs: req.inputs.clone(),
                outputs: Value::map(),
            },
        )
        .await
    }
}
