//! `ParameterGroup`: engine settings shared by caches.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_elasticache::types::{CacheParameterGroup, ParameterNameValue};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Output, Resource, Schema, Urn, Value};

use super::{check_name, ec_tags, has_identity, tags_of, update_tags};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{map, tags_value, tags_with_identity, unless_known, In};

pub(crate) const TYPE: &str = "aws:elasticache:ParameterGroup";

/// Schema: name, family and description are fixed for a group's life (AWS
/// cannot change them); its parameters change in place
/// (`ModifyCacheParameterGroup`, and `ResetCacheParameterGroup` for those
/// removed). A replacement creates the new group first, so replication
/// groups using the old one move over before it is deleted (AWS refuses to
/// delete a group in use); since names are unique, change the name along
/// with the family or description.
pub static SCHEMA: Schema =
    Schema { replace_on: &["name", "family", "description"], taggable: true, ..Schema::new(TYPE, "aws") };

/// The parameter group families ElastiCache knows.
pub const FAMILIES: &[&str] = &[
    "memcached1.4",
    "memcached1.5",
    "memcached1.6",
    "redis2.6",
    "redis2.8",
    "redis3.2",
    "redis4.0",
    "redis5.0",
    "redis6.x",
    "redis7",
    "valkey7",
    "valkey8",
];

/// How many parameters one Modify or Reset call takes.
const PER_CALL: usize = 20;

/// A cache parameter group: parameters set here override the engine's
/// defaults; one removed goes back to its default.
///
/// ```
/// use iac_aws::elasticache::ParameterGroup;
/// let sessions = ParameterGroup::builder()
///     .name("sessions")
///     .family("redis7")
///     .parameters(iac_aws::tags([("maxmemory-policy", "volatile-lru"), ("timeout", "300")]))
///     .build();
/// # let _ = sessions;
/// ```
#[derive(bon::Builder)]
pub struct ParameterGroup {
    /// Its name (replaces when changed): up to 255 lowercase letters, digits
    /// and hyphens, starting with a letter.
    #[builder(into)]
    pub name: String,
    /// The engine family (`redis7`; replaces when changed).
    #[builder(into)]
    pub family: String,
    /// What it is for (replaces when changed).
    #[builder(into, default = "Managed by iac")]
    pub description: String,
    /// Parameter values by name (`cluster-enabled` = `yes` for cluster mode).
    #[builder(default)]
    pub parameters: BTreeMap<String, String>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
    /// Accepts parameter names the AWS catalog does not
    /// hold, saying why (the catalog is older than what ElastiCache offers
    /// now); see [`crate::catalog`]. Not sent to AWS.
    #[builder(into)]
    pub catalog_override: Option<crate::catalog::CatalogOverride>,
}

/// Outputs of a [`ParameterGroup`].
pub struct ParameterGroupOutputs {
    /// Its name (the resource's id).
    pub id: Output<String>,
    /// Its name, for replication groups.
    pub name: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
}

impl Resource for ParameterGroup {
    type Outputs = ParameterGroupOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.to_ascii_lowercase()).into()),
            ("family", Value::from(self.family.as_str()).into()),
            ("description", Value::from(self.description.as_str()).into()),
            ("parameters", Value::from(self.parameters.clone()).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> ParameterGroupOutputs {
        ParameterGroupOutputs {
            id: Output::from_ref(urn, "id"),
            name: Output::from_ref(urn, "name"),
            arn: Output::from_ref(urn, "arn"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        check_name(c, "name", &self.name, 255, true);
        c.check(!self.name.starts_with("default."), "name", || "`default.` names are AWS's own groups".into());
        c.check(FAMILIES.contains(&self.family.as_str()), "family", || {
            format!("`{}` is not a parameter group family ({})", self.family, FAMILIES.join(", "))
        });
        c.check(!self.description.is_empty() && self.description.len() <= 255, "description", || {
            "a description of 1 to 255 characters is required".into()
        });
        let mut cat = crate::catalog::Scope::new(self.catalog_override.as_ref());
        for (k, v) in &self.parameters {
            c.check(!k.is_empty() && !v.is_empty(), "parameters", || {
                format!("`{k}` = `{v}`: names and values cannot be empty (remove a parameter to reset it)")
            });
            cat.report(c, "parameters", crate::catalog::parameters::check(&self.family, k));
        }
        cat.finish(c);
    }
}

// ---- handler ----------------------------------------------------------

const GONE: &[&str] = &["CacheParameterGroupNotFound"];

async fn get(p: &AwsProvider, name: &str) -> Result<Option<CacheParameterGroup>, ProviderError> {
    match p.elasticache().await.describe_cache_parameter_groups().cache_parameter_group_name(name).send().await {
        Ok(o) => Ok(o.cache_parameter_groups().first().cloned()),
        Err(e) if is_code(&e, GONE) => Ok(None),
        Err(e) => Err(aws_err("DescribeCacheParameterGroups", e)),
    }
}

/// The parameters the user has set (source `user`), every page.
async fn user_parameters(p: &AwsProvider, name: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let ec = p.elasticache().await;
    let mut out = BTreeMap::new();
    let mut marker = None;
    loop {
        let page = ec
            .describe_cache_parameters()
            .cache_parameter_group_name(name)
            .source("user")
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| aws_err("DescribeCacheParameters", e))?;
        for param in page.parameters() {
            if let (Some(k), Some(v)) = (param.parameter_name(), param.parameter_value()) {
                out.insert(k.to_owned(), v.to_owned());
            }
        }
        match page.marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
            _ => return Ok(out),
        }
    }
}

fn outputs(g: &CacheParameterGroup) -> Value {
    map([("name", Value::from(g.cache_parameter_group_name())), ("arn", Value::from(g.arn()))])
}

async fn values(p: &AwsProvider, g: &CacheParameterGroup) -> Result<Value, ProviderError> {
    let name = g.cache_parameter_group_name().unwrap_or_default();
    let tags = tags_of(p, g.arn().unwrap_or_default()).await?;
    Ok(map([
        ("name", Value::from(name)),
        ("family", Value::from(g.cache_parameter_group_family())),
        ("description", Value::from(g.description())),
        ("parameters", Value::from(user_parameters(p, name).await?)),
        ("tags", tags_value(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))),
    ]))
}

/// Sets `params`, twenty at a time.
async fn set_parameters(p: &AwsProvider, name: &str, params: &BTreeMap<String, String>) -> Result<(), ProviderError> {
    let pairs: Vec<ParameterNameValue> = params
        .iter()
        .map(|(k, v)| ParameterNameValue::builder().parameter_name(k).parameter_value(v).build())
        .collect();
    for chunk in pairs.chunks(PER_CALL) {
        p.elasticache()
            .await
            .modify_cache_parameter_group()
            .cache_parameter_group_name(name)
            .set_parameter_name_values(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| aws_err("ModifyCacheParameterGroup", e))?;
    }
    Ok(())
}

/// Resets `names` to the engine's defaults, twenty at a time.
async fn reset_parameters(p: &AwsProvider, group: &str, names: &[String]) -> Result<(), ProviderError> {
    let pairs: Vec<ParameterNameValue> =
        names.iter().map(|k| ParameterNameValue::builder().parameter_name(k).build()).collect();
    for chunk in pairs.chunks(PER_CALL) {
        p.elasticache()
            .await
            .reset_cache_parameter_group()
            .cache_parameter_group_name(group)
            .reset_all_parameters(false)
            .set_parameter_name_values(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| aws_err("ResetCacheParameterGroup", e))?;
    }
    Ok(())
}

fn parameters(i: &In<'_>) -> BTreeMap<String, String> {
    i.value("parameters")
        .as_map()
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned()))).collect())
        .unwrap_or_default()
}

pub(crate) struct ParameterGroupHandler;

#[async_trait]
impl Handler for ParameterGroupHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateCacheParameterGroup";
        let i = In::new(&req.inputs, op);
        let name = i.str("name")?;
        let out = p
            .elasticache()
            .await
            .create_cache_parameter_group()
            .cache_parameter_group_name(name)
            .cache_parameter_group_family(i.str("family")?)
            .description(i.opt_str("description").unwrap_or("Managed by iac"))
            .set_tags(Some(ec_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        let g = out.cache_parameter_group().ok_or_else(|| ProviderError::fatal(op, "no parameter group returned"))?;
        set_parameters(p, name, &parameters(&i)).await?;
        Ok(CreateResult { id: name.to_owned(), outputs: outputs(g) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(g) = get(p, &req.id).await? else { return Ok(None) };
        Ok(Some(ReadResult { inputs: values(p, &g).await?, outputs: outputs(&g), id: req.id }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let op = "ModifyCacheParameterGroup";
        let (old, new) = (In::new(&req.old_inputs, ""), In::new(&req.inputs, op));
        if req.changed.iter().any(|k| k == "parameters") {
            let (was, now) = (parameters(&old), parameters(&new));
            let removed: Vec<String> = was.keys().filter(|k| !now.contains_key(*k)).cloned().collect();
            reset_parameters(p, &req.id, &removed).await?;
            let changed: BTreeMap<String, String> = now.into_iter().filter(|(k, v)| was.get(k) != Some(v)).collect();
            set_parameters(p, &req.id, &changed).await?;
        }
        let g = get(p, &req.id).await?.ok_or_else(|| ProviderError::fatal(op, "the parameter group is gone"))?;
        if req.changed.iter().any(|k| k == "tags") {
            update_tags(p.elasticache().await, g.arn().unwrap_or_default(), &old.tags(), &new.tags()).await?;
        }
        Ok(UpdateResult { outputs: outputs(&g) })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let op = "DeleteCacheParameterGroup";
        match p.elasticache().await.delete_cache_parameter_group().cache_parameter_group_name(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, GONE) => Ok(()),
            // Still used by a replication group that is being deleted.
            Err(e) if is_code(&e, &["InvalidCacheParameterGroupState"]) => {
                Err(ProviderError { kind: ErrorKind::Retriable, ..aws_err(op, e) })
            }
            Err(e) => Err(aws_err(op, e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let Some(g) = get(p, name).await? else { return Ok(None) };
        let tags = tags_of(p, g.arn().unwrap_or_default()).await?;
        if !has_identity(&tags, &req.stack, req.urn.as_str()) {
            return Ok(None);
        }
        Ok(unless_known(
            &req,
            Some(ReadResult { inputs: values(p, &g).await?, outputs: outputs(&g), id: name.to_owned() }),
        ))
    }
}
