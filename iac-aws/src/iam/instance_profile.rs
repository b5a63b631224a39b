//! `InstanceProfile`: hands a role to EC2 instances.

use std::collections::BTreeMap;

use async_trait::async_trait;
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use super::{check_name, check_path, has_identity, iam_tags, tag_changes, tag_pairs, RoleName};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{map, opt_expr, tags_value, tags_with_identity, unless_known, In};

pub(crate) const TYPE: &str = "aws:iam:InstanceProfile";

/// Schema: the name and path are its identity; the role changes in place.
pub static SCHEMA: Schema =
    Schema { replace_on: &["name", "path"], delete_before_replace: true, taggable: true, ..Schema::new(TYPE, "aws") };

/// An instance profile (one role at most).
///
/// ```
/// use iac_aws::iam::InstanceProfile;
/// let profile = InstanceProfile::builder().name("workers").role("worker-node").build();
/// # let _ = profile;
/// ```
#[derive(bon::Builder)]
pub struct InstanceProfile {
    /// The profile's name (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// Its path (replaces when changed).
    #[builder(into, default = "/")]
    pub path: String,
    /// The role instances get.
    #[builder(into)]
    pub role: Option<Input<RoleName>>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of an [`InstanceProfile`].
pub struct InstanceProfileOutputs {
    /// Its name (the resource's id).
    pub id: Output<String>,
    /// Its ARN (for launch templates).
    pub arn: Output<String>,
}

impl Resource for InstanceProfile {
    type Outputs = InstanceProfileOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("path", Value::from(self.path.as_str()).into()),
            ("role", opt_expr(self.role.as_ref())),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> InstanceProfileOutputs {
        InstanceProfileOutputs { id: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
    fn validate(&self, c: &mut Checks) {
        check_name(c, "name", &self.name, 128);
        check_path(c, "path", &self.path);
    }
}

async fn get(p: &AwsProvider, name: &str) -> Result<Option<aws_sdk_iam::types::InstanceProfile>, ProviderError> {
    match p.iam().await.get_instance_profile().instance_profile_name(name).send().await {
        Ok(o) => Ok(o.instance_profile),
        Err(e) if is_code(&e, &["NoSuchEntity"]) => Ok(None),
        Err(e) => Err(aws_err("GetInstanceProfile", e)),
    }
}

fn description(ip: &aws_sdk_iam::types::InstanceProfile) -> (Value, Value) {
    let inputs = map([
        ("name", Value::from(ip.instance_profile_name())),
        ("path", Value::from(ip.path())),
        ("role", Value::from(ip.roles().first().map(|r| r.role_name()))),
        ("tags", tags_value(tag_pairs(ip.tags()))),
    ]);
    (inputs, map([("arn", Value::from(ip.arn()))]))
}

async fn set_role(p: &AwsProvider, name: &str, old: Option<&str>, new: Option<&str>) -> Result<(), ProviderError> {
    let iam = p.iam().await;
    if let Some(old) = old.filter(|o| Some(*o) != new) {
        match iam.remove_role_from_instance_profile().instance_profile_name(name).role_name(old).send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, &["NoSuchEntity"]) => {}
            Err(e) => return Err(aws_err("RemoveRoleFromInstanceProfile", e)),
        }
    }
    if let Some(new) = new.filter(|n| Some(*n) != old) {
        match iam.add_role_to_instance_profile().instance_profile_name(name).role_name(new).send().await {
            Ok(_) => {}
            // A profile holds one role: a repeat of an add whose response
            // was lost finds the role there.
            Err(e) if is_code(&e, &["LimitExceeded"]) => {
                let profile = iam
                    .get_instance_profile()
                    .instance_profile_name(name)
                    .send()
                    .await
                    .map_err(|e| aws_err("GetInstanceProfile", e))?;
                if !profile.instance_profile().is_some_and(|p| p.roles().iter().any(|r| r.role_name() == new)) {
                    return Err(aws_err("AddRoleToInstanceProfile", e));
                }
            }
            Err(e) => return Err(aws_err("AddRoleToInstanceProfile", e)),
        }
    }
    Ok(())
}

pub(crate) struct InstanceProfileHandler;

#[async_trait]
impl Handler for InstanceProfileHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateInstanceProfile");
        let name = i.str("name")?;
        let out = p
            .iam()
            .await
            .create_instance_profile()
            .instance_profile_name(name)
            .path(i.opt_str("path").unwrap_or("/"))
            .set_tags(Some(iam_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateInstanceProfile", e))?;
        set_role(p, name, None, i.opt_str("role")).await?;
        let arn = out.instance_profile().map(|ip| ip.arn().to_owned());
        Ok(CreateResult { id: name.to_owned(), outputs: map([("arn", Value::from(arn))]) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(get(p, &req.id).await?.map(|ip| {
            let (inputs, outputs) = description(&ip);
            ReadResult { id: req.id, inputs, outputs }
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, ""), In::new(&req.inputs, "UpdateInstanceProfile"));
        if req.changed.iter().any(|k| k == "role") {
            set_role(p, &req.id, old.opt_str("role"), new.opt_str("role")).await?;
        }
        if req.changed.iter().any(|k| k == "tags") {
            let iam = p.iam().await;
            let (removed, added) = tag_changes(&old.tags(), &new.tags());
            if !removed.is_empty() {
                iam.untag_instance_profile()
                    .instance_profile_name(&req.id)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .map_err(|e| aws_err("UntagInstanceProfile", e))?;
            }
            if !added.is_empty() {
                iam.tag_instance_profile()
                    .instance_profile_name(&req.id)
                    .set_tags(Some(added))
                    .send()
                    .await
                    .map_err(|e| aws_err("TagInstanceProfile", e))?;
            }
        }
        let ip = get(p, &req.id).await?.ok_or_else(|| ProviderError::fatal("GetInstanceProfile", "it is gone"))?;
        Ok(UpdateResult { outputs: description(&ip).1 })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        // A profile with a role cannot be deleted: take the role out first.
        if let Some(ip) = get(p, &req.id).await? {
            for r in ip.roles() {
                set_role(p, &req.id, Some(r.role_name()), None).await?;
            }
        }
        match p.iam().await.delete_instance_profile().instance_profile_name(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["NoSuchEntity"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteInstanceProfile", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let found = get(p, name).await?.filter(|ip| has_identity(ip.tags(), &req.stack, req.urn.as_str())).map(|ip| {
            let (inputs, outputs) = description(&ip);
            ReadResult { id: name.to_owned(), inputs, outputs }
        });
        Ok(unless_known(&req, found))
    }
}
