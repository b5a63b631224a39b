//! Roles the components make: a service may assume them, and they carry
//! AWS managed policies and inline statements.

use iac_aws::iam::{Role, RoleOutputs, RolePolicy, RolePolicyAttachment};
use iac_aws::policy::{PolicyDocument, Principal, Statement};
use iac_core::{Registered, Stack};

/// A role `name` that `service` (like `ecs-tasks.amazonaws.com`) may
/// assume, with AWS managed policies attached (their names after
/// `arn:aws:iam::aws:policy/`) and, if any, one inline policy.
pub fn service_role(
    c: &Stack,
    key: &str,
    name: &str,
    service: &str,
    managed: &[&str],
    inline: Vec<Statement>,
) -> Registered<RoleOutputs> {
    let role = c.add(
        key,
        Role::builder()
            .name(name)
            .assume_role_policy(
                PolicyDocument::new().statement(
                    Statement::builder()
                        .actions(["sts:AssumeRole"])
                        .principals(vec![Principal::Service(service.into())])
                        .build(),
                ),
            )
            .build(),
    );
    for policy in managed {
        let short = policy.rsplit('/').next().unwrap_or(policy);
        c.add(
            &format!("{key}-{short}"),
            RolePolicyAttachment::builder()
                .role(role.id.clone())
                .policy_arn(format!("arn:aws:iam::aws:policy/{policy}"))
                .build(),
        );
    }
    if !inline.is_empty() {
        let mut doc = PolicyDocument::new();
        for st in inline {
            doc = doc.statement(st);
        }
        c.add(&format!("{key}-inline"), RolePolicy::builder().role(role.id.clone()).name("inline").policy(doc).build());
    }
    role
}
