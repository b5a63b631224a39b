//! IAM: roles (with trust policies and inline policies), managed policies
//! and their attachments, instance profiles and OpenID Connect providers.
//!
//! Policy documents are built with [`crate::policy`] and compared in
//! canonical form, so a re-ordered document is not a diff.

mod instance_profile;
mod oidc;
mod policy;
mod role;

pub use instance_profile::{InstanceProfile, InstanceProfileOutputs};
pub use oidc::{OpenIdConnectProvider, OpenIdConnectProviderOutputs};
pub use policy::{Policy, PolicyOutputs, RolePolicyAttachment, RolePolicyAttachmentOutputs};
pub use role::{Role, RoleOutputs, RolePolicy, RolePolicyOutputs};

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;

use aws_sdk_iam::error::SdkError;
use aws_sdk_iam::types::{Role as SdkRole, RoleDetail, Tag};
use iac_core::provider::ReadRequest;
use iac_core::{Checks, ProviderError};

use crate::batch_read::Chunk;
use crate::error::{aws_err, code};
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{TAG_NAME, TAG_STACK};

iac_core::typed_id!(
    /// The name of an IAM role (its id).
    RoleName
);
iac_core::typed_id!(
    /// The ARN of a managed IAM policy (its id).
    PolicyArn
);

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    Some(match type_token {
        role::ROLE => &role::RoleHandler,
        role::ROLE_POLICY => &role::RolePolicyHandler,
        policy::POLICY => &policy::PolicyHandler,
        policy::ATTACHMENT => &policy::AttachmentHandler,
        instance_profile::TYPE => &instance_profile::InstanceProfileHandler,
        oidc::TYPE => &oidc::OidcHandler,
        _ => return None,
    })
}

/// IAM tags from a map.
pub(crate) fn iam_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok()).collect()
}

/// IAM tags as key/value pairs.
pub(crate) fn tag_pairs(tags: &[Tag]) -> Vec<(&str, &str)> {
    tags.iter().map(|t| (t.key(), t.value())).collect()
}

/// Whether IAM tags carry this stack's identity for `urn`.
pub(crate) fn has_identity(tags: &[Tag], stack: &str, urn: &str) -> bool {
    let get = |k: &str| tags.iter().find(|t| t.key() == k).map(|t| t.value());
    get(TAG_STACK) == Some(stack) && get(TAG_NAME) == Some(urn)
}

/// The keys removed and the tags added or changed from `old` to `new`.
pub(crate) fn tag_changes(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> (Vec<String>, Vec<Tag>) {
    let removed = old.keys().filter(|k| !new.contains_key(*k)).cloned().collect();
    let changed: BTreeMap<String, String> =
        new.iter().filter(|(k, v)| old.get(*k) != Some(v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    (removed, iam_tags(&changed))
}

/// IAM's name rule: `max` characters of letters, digits and `+=,.@_-`.
pub(crate) fn check_name(c: &mut Checks, field: &str, value: &str, max: usize) {
    crate::checks::name(
        c,
        field,
        value,
        max,
        |ch| ch.is_ascii_alphanumeric() || "+=,.@_-".contains(ch),
        "letters, digits and +=,.@_- only",
    );
}

/// IAM's path rule: `/` or `/…/`.
pub(crate) fn check_path(c: &mut Checks, field: &str, value: &str) {
    c.check(
        value.starts_with('/') && value.ends_with('/') && value.len() <= 512 && !value.contains("//"),
        field,
        || format!("`{value}` is not a path like / or /service/"),
    );
}

/// The most items IAM lists per page.
const PAGE: i32 = 1000;

/// What an account-wide IAM listing found of `wanted` (by name), read page
/// by page (`page` answers a page and the next marker, or `None` when IAM
/// refuses the listing, as a policy granting only `GetRole` does) until
/// every wanted name is found, the listing ends, or `budget` pages are read:
/// IAM lists whole accounts, and a batch must not cost more than reading
/// its roles one by one. The flag tells whether every wanted name not found
/// is known to be gone.
async fn list_wanted<T, F, Fut>(
    wanted: &HashSet<String>,
    budget: usize,
    mut page: F,
) -> Result<(HashMap<String, T>, bool), ProviderError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Option<(Vec<(String, T)>, Option<String>)>, ProviderError>>,
{
    let mut found = HashMap::new();
    let mut marker = None;
    for _ in 0..budget.max(1) {
        let Some((items, next)) = page(marker).await? else { return Ok((found, false)) };
        found.extend(items.into_iter().filter(|(name, _)| wanted.contains(name)));
        if found.len() == wanted.len() || next.is_none() {
            return Ok((found, true));
        }
        marker = next;
    }
    Ok((found, false))
}

/// Whether IAM refused a listing for want of permission.
fn refused<E: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    code(e).is_some_and(|c| c.starts_with("AccessDenied"))
}

/// The roles of `wanted` as `GetAccountAuthorizationDetails` details them
/// (tags, inline policies, attached policies; no description), by name.
pub(crate) async fn role_details(
    p: &AwsProvider,
    wanted: &HashSet<String>,
    budget: usize,
) -> Result<(HashMap<String, RoleDetail>, bool), ProviderError> {
    if let Some(found) = p.roles_read_ahead(wanted) {
        return Ok((found, true));
    }
    let iam = p.iam().await;
    list_wanted(wanted, budget, |marker| async move {
        let out = iam
            .get_account_authorization_details()
            .filter(aws_sdk_iam::types::EntityType::Role)
            .max_items(PAGE)
            .set_marker(marker)
            .send()
            .await;
        match out {
            Ok(o) => {
                let next = o.marker().filter(|_| o.is_truncated()).map(str::to_owned);
                let roles = o.role_detail_list.unwrap_or_default();
                Ok(Some((roles.into_iter().filter_map(|r| Some((r.role_name.clone()?, r))).collect(), next)))
            }
            Err(e) if refused(&e) => Ok(None),
            Err(e) => Err(aws_err("GetAccountAuthorizationDetails", e)),
        }
    })
    .await
}

/// The details of every role a refresh reads through them (roles, their
/// inline policies, their attachments), in one listing for the three types
/// instead of one each, at most a page per role; `None` when no role is
/// read or IAM refuses the listing.
pub(crate) async fn read_roles_ahead(
    p: &AwsProvider,
    reqs: &[ReadRequest],
) -> Option<(HashMap<String, RoleDetail>, bool)> {
    let wanted: HashSet<String> = reqs
        .iter()
        .filter_map(|r| match r.type_token {
            role::ROLE => Some(r.id.clone()),
            role::ROLE_POLICY => role::inline_policy_id(r).ok().map(|(role, _)| role.to_owned()),
            policy::ATTACHMENT => policy::attachment_id(r).ok().map(|(role, _)| role.to_owned()),
            _ => None,
        })
        .collect();
    if wanted.is_empty() {
        return None;
    }
    match role_details(p, &wanted, wanted.len()).await {
        Ok(answer) => Some(answer),
        Err(e) => {
            tracing::debug!("roles not read ahead, each type lists them instead: {e}");
            None
        }
    }
}

/// The roles of `wanted` as `ListRoles` lists them (description and
/// session duration; no tags), by name.
pub(crate) async fn listed_roles(
    p: &AwsProvider,
    wanted: &HashSet<String>,
    budget: usize,
) -> Result<(HashMap<String, SdkRole>, bool), ProviderError> {
    let iam = p.iam().await;
    list_wanted(wanted, budget, |marker| async move {
        match iam.list_roles().max_items(PAGE).set_marker(marker).send().await {
            Ok(o) => {
                let next = o.marker().filter(|_| o.is_truncated).map(str::to_owned);
                Ok(Some((o.roles.into_iter().map(|r| (r.role_name.clone(), r)).collect(), next)))
            }
            Err(e) if refused(&e) => Ok(None),
            Err(e) => Err(aws_err("ListRoles", e)),
        }
    })
    .await
}

/// A chunk of roles' details for the batched reads of what lives in a role
/// (inline policies, attachments): one listing, at most a page per role.
pub(crate) async fn details_chunk(p: &AwsProvider, roles: Vec<String>) -> Result<Chunk<RoleDetail>, ProviderError> {
    let wanted: HashSet<String> = roles.into_iter().collect();
    let (found, complete) = role_details(p, &wanted, wanted.len()).await?;
    Ok(if complete { Chunk::Found(found) } else { Chunk::Partial(found) })
}
