//! ECR: container image repositories.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability,
    Repository as SdkRepository, Tag,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Output, Resource, Schema, Urn, Value};
use serde::{Deserialize, Serialize};

use crate::batch_read::{by, by_id, read_batched, Chunk};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{keep_write_only, map, tags_value, tags_with_identity, unless_known, In, TAG_NAME, TAG_STACK};

pub(crate) const TYPE: &str = "aws:ecr:Repository";

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    (type_token == TYPE).then_some(&RepositoryHandler as &dyn Handler)
}

/// Schema: the name and encryption are fixed at creation.
pub static SCHEMA: Schema = Schema {
    replace_on: &["name", "encryptionType", "kmsKey"],
    delete_before_replace: true,
    taggable: true,
    ..Schema::new(TYPE, "aws")
};

/// Which images a lifecycle rule looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TagStatus {
    /// Images with a tag starting with one of the rule's prefixes.
    Tagged,
    /// Images without tags.
    Untagged,
    /// Every image.
    Any,
}

/// When a lifecycle rule expires images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expire {
    /// Keep the newest `n`; expire the rest.
    KeepLast(u32),
    /// Expire images pushed more than `n` days ago.
    OlderThanDays(u32),
}

/// One rule of a repository's lifecycle policy.
///
/// ```
/// use iac_aws::ecr::{Expire, LifecycleRule, TagStatus};
/// let rules = vec![
///     LifecycleRule::builder().priority(1).tag_status(TagStatus::Untagged).expire(Expire::OlderThanDays(7)).build(),
///     LifecycleRule::builder()
///         .priority(2)
///         .tag_status(TagStatus::Tagged)
///         .tag_prefixes(vec!["v".into()])
///         .expire(Expire::KeepLast(30))
///         .build(),
/// ];
/// # let _ = rules;
/// ```
#[derive(Clone, Debug, bon::Builder)]
pub struct LifecycleRule {
    /// Evaluation order (unique, lowest first).
    pub priority: u32,
    /// What the rule is for.
    #[builder(into)]
    pub description: Option<String>,
    /// Which images it looks at.
    pub tag_status: TagStatus,
    /// For `Tagged`: the tag prefixes.
    #[builder(default)]
    pub tag_prefixes: Vec<String>,
    /// When images expire.
    pub expire: Expire,
}

impl LifecycleRule {
    fn to_json(&self) -> serde_json::Value {
        let mut selection = serde_json::json!({ "tagStatus": self.tag_status });
        if !self.tag_prefixes.is_empty() {
            selection["tagPrefixList"] = serde_json::json!(self.tag_prefixes);
        }
        match self.expire {
            Expire::KeepLast(n) => {
                selection["countType"] = "imageCountMoreThan".into();
                selection["countNumber"] = n.into();
            }
            Expire::OlderThanDays(n) => {
                selection["countType"] = "sinceImagePushed".into();
                selection["countUnit"] = "days".into();
                selection["countNumber"] = n.into();
            }
        }
        let mut rule = serde_json::json!({
            "rulePriority": self.priority,
            "selection": selection,
            "action": { "type": "expire" },
        });
        if let Some(d) = &self.description {
            rule["description"] = d.as_str().into();
        }
        rule
    }
}

/// A container image repository.
///
/// ```
/// use iac_aws::ecr::{Expire, LifecycleRule, Repository, TagStatus};
/// let repo = Repository::builder()
///     .name("platform/api")
///     .scan_on_push(true)
///     .immutable_tags(true)
///     .lifecycle_rules(vec![LifecycleRule::builder()
///         .priority(1)
///         .tag_status(TagStatus::Any)
///         .expire(Expire::KeepLast(50))
///         .build()])
///     .build();
/// # let _ = repo;
/// ```
#[derive(bon::Builder)]
pub struct Repository {
    /// The repository's name (`team/app`; replaces when changed).
    #[builder(into)]
    pub name: String,
    /// Refuse to overwrite an existing tag.
    #[builder(default)]
    pub immutable_tags: bool,
    /// Scan images for vulnerabilities when pushed.
    #[builder(default)]
    pub scan_on_push: bool,
    /// Encrypt with this KMS key instead of AES-256 (replaces).
    #[builder(into)]
    pub kms_key: Option<String>,
    /// Which images expire.
    #[builder(default)]
    pub lifecycle_rules: Vec<LifecycleRule>,
    /// Delete the repository on destroy even if it holds images.
    #[builder(default)]
    pub force_delete: bool,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`Repository`].
pub struct RepositoryOutputs {
    /// Its name (the resource's id).
    pub id: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
    /// Where to push: `<account>.dkr.ecr.<region>.amazonaws.com/<name>`.
    pub repository_url: Output<String>,
}

impl Repository {
    fn lifecycle_value(&self) -> Value {
        if self.lifecycle_rules.is_empty() {
            return Value::Null;
        }
        let rules: Vec<_> = self.lifecycle_rules.iter().map(LifecycleRule::to_json).collect();
        Value::from_json(&serde_json::json!({ "rules": rules }))
    }
}

impl Resource for Repository {
    type Outputs = RepositoryOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("imageTagMutability", Value::from(if self.immutable_tags { "IMMUTABLE" } else { "MUTABLE" }).into()),
            ("scanOnPush", Value::from(self.scan_on_push).into()),
            ("encryptionType", Value::from(if self.kms_key.is_some() { "KMS" } else { "AES256" }).into()),
            ("kmsKey", Value::from(self.kms_key.clone()).into()),
            ("lifecyclePolicy", self.lifecycle_value().into()),
            ("forceDelete", Value::from(self.force_delete).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> RepositoryOutputs {
        RepositoryOutputs {
            id: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            repository_url: Output::from_ref(urn, "repositoryUrl"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        let n = &self.name;
        let component_ok = |part: &str| {
            !part.is_empty()
                && part.starts_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
                && part.ends_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
                && part.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
        };
        c.check((2..=256).contains(&n.len()) && n.split('/').all(component_ok), "name", || {
            format!(
                "`{n}`: 2–256 characters of lowercase letters, digits and . _ - in /-separated parts, each \
                 starting and ending with a letter or digit"
            )
        });
        for (i, r) in self.lifecycle_rules.iter().enumerate() {
            let field = format!("lifecycleRules[{i}]");
            if self.lifecycle_rules[..i].iter().any(|o| o.priority == r.priority) {
                c.fail(&field, format!("priority {} is used twice", r.priority));
            }
            c.check(r.tag_status != TagStatus::Tagged || !r.tag_prefixes.is_empty(), &field, || {
                "a rule for tagged images needs tag prefixes".into()
            });
            c.check(!matches!(r.expire, Expire::KeepLast(0) | Expire::OlderThanDays(0)), &field, || {
                "the count must be at least 1".into()
            });
        }
        let any = self.lifecycle_rules.iter().filter(|r| r.tag_status == TagStatus::Any).map(|r| r.priority).max();
        if let Some(p) = any {
            c.check(self.lifecycle_rules.iter().all(|r| r.priority <= p), "lifecycleRules", || {
                "a rule for any image must have the highest priority number".into()
            });
        }
    }
}

fn ecr_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok()).collect()
}

async fn describe(p: &AwsProvider, name: &str, recorded: &Value) -> Result<Option<(Value, Value)>, ProviderError> {
    let ecr = p.ecr().await;
    let repo = match ecr.describe_repositories().repository_names(name).send().await {
        Ok(o) => match o.repositories().first() {
            Some(r) => r.clone(),
            None => return Ok(None),
        },
        Err(e) if is_code(&e, &["RepositoryNotFoundException"]) => return Ok(None),
        Err(e) => return Err(aws_err("DescribeRepositories", e)),
    };
    repo_values(p, &repo, recorded).await.map(Some)
}

/// Up to a hundred repositories in one call (`DescribeRepositories`'
/// limit); ECR fails the call when one of them is gone, and then the chunk
/// is read one by one.
async fn describe_many(p: &AwsProvider, names: Vec<String>) -> Result<Chunk<SdkRepository>, ProviderError> {
    let out = p.ecr().await.describe_repositories().set_repository_names(Some(names)).into_paginator().send();
    match out.try_collect().await {
        Ok(pages) => Ok(by(pages.iter().flat_map(|o| o.repositories().iter().cloned()), |r| r.repository_name())),
        Err(e) if is_code(&e, &["RepositoryNotFoundException"]) => Ok(Chunk::one_is_gone()),
        Err(e) => Err(aws_err("DescribeRepositories", e)),
    }
}

/// A repository's inputs and outputs: its lifecycle policy and its tags are
/// a call each.
async fn repo_values(p: &AwsProvider, repo: &SdkRepository, recorded: &Value) -> Result<(Value, Value), ProviderError> {
    let ecr = p.ecr().await;
    let name = repo.repository_name().unwrap_or_default();
    let policy = match ecr.get_lifecycle_policy().repository_name(name).send().await {
        Ok(o) => o
            .lifecycle_policy_text()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
            .map(|j| Value::from_json(&j)),
        Err(e) if is_code(&e, &["LifecyclePolicyNotFoundException"]) => None,
        Err(e) => return Err(aws_err("GetLifecyclePolicy", e)),
    };
    let arn = repo.repository_arn().unwrap_or_default();
    let tags = p
        .tags_or_ask(arn, async {
            let out = ecr
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .map_err(|e| aws_err("ListTagsForResource", e))?;
            Ok(out.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect())
        })
        .await?;
    let enc = repo.encryption_configuration();
    let mut inputs = map([
        ("name", Value::from(repo.repository_name())),
        ("imageTagMutability", Value::from(repo.image_tag_mutability().map(|m| m.as_str()))),
        ("scanOnPush", Value::from(repo.image_scanning_configuration().map(|s| s.scan_on_push()).unwrap_or(false))),
        ("encryptionType", Value::from(enc.map(|e| e.encryption_type().as_str()).unwrap_or("AES256"))),
        ("kmsKey", Value::from(enc.and_then(|e| e.kms_key()))),
        ("lifecyclePolicy", policy.unwrap_or(Value::Null)),
        ("tags", tags_value(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))),
    ]);
    keep_write_only(&mut inputs, recorded, &["forceDelete"]);
    let outputs = map([("arn", Value::from(arn)), ("repositoryUrl", Value::from(repo.repository_uri()))]);
    Ok((inputs, outputs))
}

async fn put_lifecycle(p: &AwsProvider, name: &str, i: In<'_>) -> Result<(), ProviderError> {
    let ecr = p.ecr().await;
    match i.json("lifecyclePolicy") {
        Some(doc) => ecr
            .put_lifecycle_policy()
            .repository_name(name)
            .lifecycle_policy_text(doc.to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_err("PutLifecyclePolicy", e)),
        None => match ecr.delete_lifecycle_policy().repository_name(name).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["LifecyclePolicyNotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteLifecyclePolicy", e)),
        },
    }
}

pub(crate) struct RepositoryHandler;

#[async_trait]
impl Handler for RepositoryHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateRepository");
        let name = i.str("name")?;
        let enc = EncryptionConfiguration::builder()
            .encryption_type(EncryptionType::from(i.opt_str("encryptionType").unwrap_or("AES256")))
            .set_kms_key(i.opt_str("kmsKey").map(str::to_owned))
            .build()
            .map_err(|e| ProviderError::fatal("CreateRepository", e.to_string()))?;
        p.ecr()
            .await
            .create_repository()
            .repository_name(name)
            .image_tag_mutability(ImageTagMutability::from(i.opt_str("imageTagMutability").unwrap_or("MUTABLE")))
            .image_scanning_configuration(
                ImageScanningConfiguration::builder().scan_on_push(i.bool("scanOnPush")).build(),
            )
            .encryption_configuration(enc)
            .set_tags(Some(ecr_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateRepository", e))?;
        if i.json("lifecyclePolicy").is_some() {
            put_lifecycle(p, name, i).await?;
        }
        let (_, outputs) = describe(p, name, &req.inputs)
            .await?
            .ok_or_else(|| ProviderError::retriable("DescribeRepositories", "the new repository is not visible yet"))?;
        Ok(CreateResult { id: name.to_owned(), outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id, &req.inputs).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        read_batched(
            reqs,
            100,
            by_id,
            |_, names| describe_many(p, names),
            |req, repo| async move {
                let (inputs, outputs) = repo_values(p, &repo, &req.inputs).await?;
                Ok(Some(ReadResult { id: req.id, inputs, outputs }))
            },
            |req| self.read(p, req),
        )
        .await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, ""), In::new(&req.inputs, "UpdateRepository"));
        let ecr = p.ecr().await;
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if changed("imageTagMutability") {
            ecr.put_image_tag_mutability()
                .repository_name(&req.id)
                .image_tag_mutability(ImageTagMutability::from(new.opt_str("imageTagMutability").unwrap_or("MUTABLE")))
                .send()
                .await
                .map_err(|e| aws_err("PutImageTagMutability", e))?;
        }
        if changed("scanOnPush") {
            ecr.put_image_scanning_configuration()
                .repository_name(&req.id)
                .image_scanning_configuration(
                    ImageScanningConfiguration::builder().scan_on_push(new.bool("scanOnPush")).build(),
                )
                .send()
                .await
                .map_err(|e| aws_err("PutImageScanningConfiguration", e))?;
        }
        if changed("lifecyclePolicy") {
            put_lifecycle(p, &req.id, new).await?;
        }
        if changed("tags") {
            let arn = In::new(&req.old_outputs, "TagResource").str("arn")?.to_owned();
            let (was, now) = (old.tags(), new.tags());
            let removed: Vec<String> = was.keys().filter(|k| !now.contains_key(*k)).cloned().collect();
            if !removed.is_empty() {
                ecr.untag_resource()
                    .resource_arn(&arn)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .map_err(|e| aws_err("UntagResource", e))?;
            }
            let added: BTreeMap<String, String> = now.into_iter().filter(|(k, v)| was.get(k) != Some(v)).collect();
            if !added.is_empty() {
                ecr.tag_resource()
                    .resource_arn(&arn)
                    .set_tags(Some(ecr_tags(&added)))
                    .send()
                    .await
                    .map_err(|e| aws_err("TagResource", e))?;
            }
        }
        let (_, outputs) = describe(p, &req.id, &req.inputs)
            .await?
            .ok_or_else(|| ProviderError::fatal("DescribeRepositories", "the repository is gone"))?;
        Ok(UpdateResult { outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let force = In::new(&req.inputs, "").bool("forceDelete");
        match p.ecr().await.delete_repository().repository_name(&req.id).force(force).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["RepositoryNotFoundException"]) => Ok(()),
            Err(e) if is_code(&e, &["RepositoryNotEmptyException"]) => Err(ProviderError::fatal(
                "DeleteRepository",
                format!("repository `{}` still holds images; set force_delete(true) to delete them with it", req.id),
            )),
            Err(e) => Err(aws_err("DeleteRepository", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let Some((inputs, outputs)) = describe(p, name, &req.inputs).await? else { return Ok(None) };
        let arn = outputs.get("arn").as_str().unwrap_or_default().to_owned();
        let tags = p
            .ecr()
            .await
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
            .map_err(|e| aws_err("ListTagsForResource", e))?;
        let get = |k: &str| tags.tags().iter().find(|t| t.key() == k).map(|t| t.value());
        let ours = get(TAG_STACK) == Some(req.stack.as_str()) && get(TAG_NAME) == Some(req.urn.as_str());
        Ok(unless_known(&req, ours.then(|| ReadResult { id: name.to_owned(), inputs, outputs })))
    }
}
