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

use std::collections::BTreeMap;

use aws_sdk_iam::types::Tag;
use iac_core::Checks;

use crate::handler::Handler;
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
