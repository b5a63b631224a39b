//! `OpenIdConnectProvider`: lets an identity provider (an EKS cluster's
//! OIDC issuer) federate into IAM roles.

use std::collections::BTreeMap;

use async_trait::async_trait;
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use super::{has_identity, iam_tags, tag_changes, tag_pairs};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{map, ordered_like, tags_value, tags_with_identity, In};

pub(crate) const TYPE: &str = "aws:iam:OpenIdConnectProvider";

/// Schema: the issuer URL is the identity; audiences and thumbprints
/// change in place.
pub static SCHEMA: Schema =
    Schema { replace_on: &["url"], delete_before_replace: true, taggable: true, ..Schema::new(TYPE, "aws") };

/// An IAM OpenID Connect provider.
///
/// ```
/// use iac_aws::iam::OpenIdConnectProvider;
/// let oidc = OpenIdConnectProvider::builder()
///     .url("https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE")
///     .client_ids(vec!["sts.amazonaws.com".into()])
///     .thumbprints(vec!["9e99a48a9960b14926bb7f3b02e22da2b0ab7280".into()])
///     .build();
/// # let _ = oidc;
/// ```
#[derive(bon::Builder)]
pub struct OpenIdConnectProvider {
    /// The issuer URL, `https://…` (replaces when changed). Often an EKS
    /// cluster's `oidc_issuer_url` output.
    #[builder(into)]
    pub url: Input<String>,
    /// The audiences (`sts.amazonaws.com` for service-account roles).
    pub client_ids: Vec<String>,
    /// SHA-1 thumbprints of the issuer's certificate chain (40 hex digits).
    #[builder(default)]
    pub thumbprints: Vec<String>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of an [`OpenIdConnectProvider`].
pub struct OpenIdConnectProviderOutputs {
    /// Its ARN (the resource's id), for trust policies' `Federated` principal.
    pub arn: Output<String>,
}

impl Resource for OpenIdConnectProvider {
    type Outputs = OpenIdConnectProviderOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("url", self.url.to_expr()),
            ("clientIds", Value::from(self.client_ids.clone()).into()),
            ("thumbprints", Value::from(self.thumbprints.clone()).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> OpenIdConnectProviderOutputs {
        OpenIdConnectProviderOutputs { arn: Output::from_ref(urn, "id") }
    }
    fn validate(&self, c: &mut Checks) {
        if let Some(url) = self.url.value() {
            c.check(url.starts_with("https://"), "url", || format!("`{url}` is not an https:// URL"));
        }
        c.check(!self.client_ids.is_empty(), "clientIds", || "at least one audience (sts.amazonaws.com)".into());
        for t in &self.thumbprints {
            c.check(t.len() == 40 && t.chars().all(|ch| ch.is_ascii_hexdigit()), "thumbprints", || {
                format!("`{t}` is not a SHA-1 thumbprint (40 hex digits)")
            });
        }
        c.check(self.thumbprints.len() <= 5, "thumbprints", || "at most 5 thumbprints".into());
    }
}

async fn describe(p: &AwsProvider, arn: &str, recorded: &Value) -> Result<Option<Value>, ProviderError> {
    let out = match p.iam().await.get_open_id_connect_provider().open_id_connect_provider_arn(arn).send().await {
        Ok(o) => o,
        Err(e) if is_code(&e, &["NoSuchEntity"]) => return Ok(None),
        Err(e) => return Err(aws_err("GetOpenIDConnectProvider", e)),
    };
    // AWS answers the URL without its scheme.
    let url = out.url().map(|u| if u.starts_with("https://") { u.to_owned() } else { format!("https://{u}") });
    Ok(Some(map([
        ("url", Value::from(url)),
        ("clientIds", ordered_like(out.client_id_list().to_vec(), recorded.get("clientIds"))),
        ("thumbprints", ordered_like(out.thumbprint_list().to_vec(), recorded.get("thumbprints"))),
        ("tags", tags_value(tag_pairs(out.tags()))),
    ])))
}

pub(crate) struct OidcHandler;

#[async_trait]
impl Handler for OidcHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateOpenIDConnectProvider");
        let out = p
            .iam()
            .await
            .create_open_id_connect_provider()
            .url(i.str("url")?)
            .set_client_id_list(Some(i.strs("clientIds")))
            .set_thumbprint_list(Some(i.strs("thumbprints")).filter(|t| !t.is_empty()))
            .set_tags(Some(iam_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn))))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err("CreateOpenIDConnectProvider", e))?;
        let arn = out
            .open_id_connect_provider_arn()
            .ok_or_else(|| ProviderError::fatal("CreateOpenIDConnectProvider", "no ARN returned"))?;
        Ok(CreateResult { id: arn.to_owned(), outputs: Value::map() })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id, &req.inputs).await?.map(|inputs| ReadResult {
            id: req.id,
            inputs,
            outputs: Value::map(),
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, ""), In::new(&req.inputs, "UpdateOpenIDConnectProvider"));
        let iam = p.iam().await;
        let (was, now) = (old.strs("clientIds"), new.strs("clientIds"));
        for id in now.iter().filter(|c| !was.contains(c)) {
            iam.add_client_id_to_open_id_connect_provider()
                .open_id_connect_provider_arn(&req.id)
                .client_id(id)
                .send()
                .await
                .map_err(|e| aws_err("AddClientIDToOpenIDConnectProvider", e))?;
        }
        for id in was.iter().filter(|c| !now.contains(c)) {
            iam.remove_client_id_from_open_id_connect_provider()
                .open_id_connect_provider_arn(&req.id)
                .client_id(id)
                .send()
                .await
                .map_err(|e| aws_err("RemoveClientIDFromOpenIDConnectProvider", e))?;
        }
        if req.changed.iter().any(|k| k == "thumbprints") {
            iam.update_open_id_connect_provider_thumbprint()
                .open_id_connect_provider_arn(&req.id)
                .set_thumbprint_list(Some(new.strs("thumbprints")))
                .send()
                .await
                .map_err(|e| aws_err("UpdateOpenIDConnectProviderThumbprint", e))?;
        }
        if req.changed.iter().any(|k| k == "tags") {
            let (removed, added) = tag_changes(&old.tags(), &new.tags());
            if !removed.is_empty() {
                iam.untag_open_id_connect_provider()
                    .open_id_connect_provider_arn(&req.id)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .map_err(|e| aws_err("UntagOpenIDConnectProvider", e))?;
            }
            if !added.is_empty() {
                iam.tag_open_id_connect_provider()
                    .open_id_connect_provider_arn(&req.id)
                    .set_tags(Some(added))
                    .send()
                    .await
                    .map_err(|e| aws_err("TagOpenIDConnectProvider", e))?;
            }
        }
        Ok(UpdateResult { outputs: Value::map() })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.iam().await.delete_open_id_connect_provider().open_id_connect_provider_arn(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["NoSuchEntity"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteOpenIDConnectProvider", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let iam = p.iam().await;
        let list =
            iam.list_open_id_connect_providers().send().await.map_err(|e| aws_err("ListOpenIDConnectProviders", e))?;
        // The old copy of a replace carries the same tags: look past it.
        for arn in list.open_id_connect_provider_list().iter().filter_map(|e| e.arn()).filter(|arn| !req.is_known(arn))
        {
            let tags = iam
                .list_open_id_connect_provider_tags()
                .open_id_connect_provider_arn(arn)
                .send()
                .await
                .map_err(|e| aws_err("ListOpenIDConnectProviderTags", e))?;
            if has_identity(tags.tags(), &req.stack, req.urn.as_str()) {
                return Ok(describe(p, arn, &req.inputs).await?.map(|inputs| ReadResult {
                    id: arn.to_owned(),
                    inputs,
                    outputs: Value::map(),
                }));
            }
        }
        Ok(None)
    }
}
