//! IAM: roles, inline and managed policies, attachments, instance profiles
//! and OIDC providers: create → read back → update → no drift → replace →
//! delete → gone, checked with the SDK; a re-ordered policy document is not
//! a change.

use iac_aws::iam::{InstanceProfile, OpenIdConnectProvider, Policy, Role, RolePolicy, RolePolicyAttachment};
use iac_aws::policy::{PolicyDocument, Principal, Statement};
use iac_core::{Error, Stack, Urn};

use crate::support::*;

#[derive(Clone, Copy)]
struct Iam {
    role_name: &'static str,
    /// Also trust EC2, and list the actions in another order.
    wider: bool,
    profile_role_is_second: bool,
    env: &'static str,
    /// Declare every list of the documents in reverse order.
    reversed: bool,
}

fn trust(services: &[&str]) -> PolicyDocument {
    PolicyDocument::new().statement(
        Statement::builder()
            .actions(["sts:AssumeRole"])
            .principals(services.iter().map(|s| Principal::Service((*s).into())).collect())
            .build(),
    )
}

fn iam(s: &Stack, x: Iam) {
    let order = |mut v: Vec<&'static str>| {
        if x.reversed {
            v.reverse();
        }
        v
    };
    let services = order(if x.wider {
        vec!["ec2.amazonaws.com", "ecs-tasks.amazonaws.com"]
    } else {
        vec!["ecs-tasks.amazonaws.com"]
    });
    let services = services.as_slice();
    let role = s.add(
        "role",
        Role::builder()
            .name(x.role_name)
            .assume_role_policy(trust(services))
            .description(format!("task role ({})", x.env))
            .tags(iac_aws::tags([("Env", x.env)]))
            .build(),
    );
    let second =
        s.add("second", Role::builder().name("second-role").assume_role_policy(trust(&["ec2.amazonaws.com"])).build());
    let actions = order(if x.wider {
        vec!["s3:PutObject", "s3:GetObject", "s3:ListBucket"]
    } else {
        vec!["s3:GetObject", "s3:ListBucket"]
    });
    s.add(
        "inline",
        RolePolicy::builder()
            .role(role.id.clone())
            .name("data-access")
            .policy(PolicyDocument::new().statement(
                Statement::builder().sid("Data").actions(actions.iter().copied()).resources(vec!["*".into()]).build(),
            ))
            .build(),
    );
    let managed = s.add(
        "managed",
        Policy::builder()
            .name("logs-write")
            .description("write logs")
            .document(
                PolicyDocument::new().statement(
                    Statement::builder()
                        .actions(order(if x.wider {
                            vec!["logs:PutLogEvents", "logs:CreateLogStream"]
                        } else {
                            vec!["logs:PutLogEvents"]
                        }))
                        .resources(vec!["arn:aws:logs:*:*:*".into()])
                        .build(),
                ),
            )
            .build(),
    );
    s.add("attach", RolePolicyAttachment::builder().role(role.id.clone()).policy_arn(managed.arn.clone()).build());
    s.add(
        "profile",
        InstanceProfile::builder()
            .name("workers")
            .role(if x.profile_role_is_second { second.id.clone() } else { role.id.clone() })
            .build(),
    );
    s.add(
        "oidc",
        OpenIdConnectProvider::builder()
            .url("https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE0123456789")
            // Moto gap: AddClientIDToOpenIDConnectProvider and its Remove are
            // not implemented, so the audiences stay fixed here; the
            // thumbprints (UpdateOpenIDConnectProviderThumbprint) change.
            .client_ids(vec!["sts.amazonaws.com".into()])
            .thumbprints(if x.wider {
                vec!["9e99a48a9960b14926bb7f3b02e22da2b0ab7280".into(), "a".repeat(40)]
            } else {
                vec!["9e99a48a9960b14926bb7f3b02e22da2b0ab7280".into()]
            })
            .build(),
    );
}

fn decode(doc: &str) -> serde_json::Value {
    let text = percent_encoding::percent_decode_str(doc).decode_utf8().unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("policy `{text}`: {e}"))
}

fn id(a: &iac_core::ops::Applied, name: &str) -> String {
    a.report.state.resources[&Urn::new(name)].id.clone().unwrap_or_else(|| panic!("{name} has no id"))
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_lifecycle() {
    let h = Harness::new();
    let client = h.aws.iam().await.clone();
    let v1 = Iam { role_name: "task-role", wider: false, profile_role_is_second: false, env: "dev", reversed: false };

    // Create.
    let s = h.session("iam", move |s| iam(s, v1));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "iam").await;
    for name in ["role", "managed", "profile", "oidc"] {
        assert_adoptable(&h, &a, "iam", name).await;
    }
    let role = client.get_role().role_name("task-role").send().await.unwrap().role.unwrap();
    let trust_doc = decode(role.assume_role_policy_document().unwrap());
    assert_eq!(trust_doc["Statement"][0]["Principal"]["Service"], serde_json::json!(["ecs-tasks.amazonaws.com"]));
    assert_eq!(role.description(), Some("task role (dev)"));
    assert!(role.tags().iter().any(|t| t.key() == "iac:name" && t.value() == "role"), "identity tag");
    let inline = client.get_role_policy().role_name("task-role").policy_name("data-access").send().await.unwrap();
    assert_eq!(
        decode(inline.policy_document())["Statement"][0]["Action"],
        serde_json::json!(["s3:GetObject", "s3:ListBucket"])
    );
    let policy_arn = id(&a, "managed");
    let attached = client.list_attached_role_policies().role_name("task-role").send().await.unwrap();
    assert_eq!(attached.attached_policies()[0].policy_arn(), Some(policy_arn.as_str()));
    let profile = client.get_instance_profile().instance_profile_name("workers").send().await.unwrap();
    assert_eq!(profile.instance_profile().unwrap().roles()[0].role_name(), "task-role");
    let oidc = client.get_open_id_connect_provider().open_id_connect_provider_arn(id(&a, "oidc")).send().await.unwrap();
    assert_eq!(oidc.client_id_list(), ["sts.amazonaws.com"]);
    assert_no_drift(&s).await;

    // Update in place: a wider trust policy, more actions (listed in another
    // order), a new managed-policy version, the profile's role, thumbprints.
    let v2 = Iam { wider: true, profile_role_is_second: true, env: "prod", ..v1 };
    let s = h.session("iam", move |s| iam(s, v2));
    let b = up(&s).await;
    assert_eq!(id(&b, "role"), "task-role");
    let role = client.get_role().role_name("task-role").send().await.unwrap().role.unwrap();
    assert_eq!(
        decode(role.assume_role_policy_document().unwrap())["Statement"][0]["Principal"]["Service"],
        serde_json::json!(["ec2.amazonaws.com", "ecs-tasks.amazonaws.com"])
    );
    assert_eq!(role.description(), Some("task role (prod)"));
    let inline = client.get_role_policy().role_name("task-role").policy_name("data-access").send().await.unwrap();
    assert_eq!(decode(inline.policy_document())["Statement"][0]["Action"].as_array().unwrap().len(), 3);
    let pol = client.get_policy().policy_arn(&policy_arn).send().await.unwrap().policy.unwrap();
    assert_eq!(id(&b, "managed"), policy_arn, "a new document is a new version, not a new policy");
    let version = pol.default_version_id().unwrap().to_owned();
    assert_ne!(version, "v1");
    // The same documents declared in another order are not a change.
    let reversed = Iam { reversed: true, ..v2 };
    let p = h.session("iam", move |s| iam(s, reversed)).preview(&opts()).await.unwrap();
    assert_eq!(p.plan.changes().count(), 0, "re-ordered documents must not be a diff");
    let doc = client.get_policy_version().policy_arn(&policy_arn).version_id(&version).send().await.unwrap();
    assert_eq!(
        decode(doc.policy_version().unwrap().document().unwrap())["Statement"][0]["Action"].as_array().unwrap().len(),
        2
    );
    let profile = client.get_instance_profile().instance_profile_name("workers").send().await.unwrap();
    assert_eq!(profile.instance_profile().unwrap().roles()[0].role_name(), "second-role");
    let oidc = client.get_open_id_connect_provider().open_id_connect_provider_arn(id(&b, "oidc")).send().await.unwrap();
    let mut thumbprints = oidc.thumbprint_list().to_vec();
    thumbprints.sort();
    assert_eq!(thumbprints, ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280".to_owned(), "a".repeat(40)]);
    assert_no_drift(&s).await;

    // Replace: a renamed role is a new role; its inline policy and
    // attachment follow it, and the old role is gone.
    let v3 = Iam { role_name: "task-role-v2", ..v2 };
    let s = h.session("iam", move |s| iam(s, v3));
    let c = up(&s).await;
    assert_eq!(id(&c, "role"), "task-role-v2");
    assert!(client.get_role().role_name("task-role").send().await.is_err(), "the old role is deleted");
    let attached = client.list_attached_role_policies().role_name("task-role-v2").send().await.unwrap();
    assert_eq!(attached.attached_policies()[0].policy_arn(), Some(policy_arn.as_str()));
    client
        .get_role_policy()
        .role_name("task-role-v2")
        .policy_name("data-access")
        .send()
        .await
        .expect("inline policy moved");
    assert_no_drift(&s).await;

    // Destroy: nothing left.
    destroy(&s).await;
    for name in ["task-role-v2", "second-role"] {
        assert!(client.get_role().role_name(name).send().await.is_err(), "role {name} left");
    }
    assert!(client.get_policy().policy_arn(&policy_arn).send().await.is_err(), "policy left");
    assert!(client.get_instance_profile().instance_profile_name("workers").send().await.is_err(), "profile left");
    let oidcs = client.list_open_id_connect_providers().send().await.unwrap();
    assert!(oidcs.open_id_connect_provider_list().is_empty(), "OIDC provider left");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_iam_inputs_are_refused_at_preview_with_every_problem() {
    let h = Harness::new();
    let s = h.session("bad-iam", |s| {
        s.add(
            "role",
            Role::builder()
                .name("has spaces")
                .path("no-slashes")
                .assume_role_policy(
                    PolicyDocument::new()
                        .statement(Statement::builder().actions(["s3:GetObject"]).resources(vec!["*".into()]).build()),
                )
                .max_session_duration(60)
                .build(),
        );
        s.add(
            "policy",
            Policy::builder()
                .name("p")
                .document(PolicyDocument::new().statement(
                    Statement::builder().sid("dup").actions(["GetObject"]).principals(vec![Principal::Any]).build(),
                ))
                .build(),
        );
        s.add(
            "oidc",
            OpenIdConnectProvider::builder()
                .url("http://issuer")
                .client_ids(vec![])
                .thumbprints(vec!["abc".into()])
                .build(),
        );
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    for (resource, what) in [
        ("role", "letters, digits"),
        ("role", "is not a path"),
        ("role", "needs a principal"),
        ("role", "names no resources"),
        ("role", "sts: actions only"),
        ("role", "3600 to 43200"),
        ("policy", "not an action like"),
        ("policy", "names no principals"),
        ("policy", "names no resources"),
        ("oidc", "https://"),
        ("oidc", "at least one audience"),
        ("oidc", "SHA-1"),
    ] {
        assert!(
            diags.iter().any(|d| d.to_string().contains(resource) && d.to_string().contains(what)),
            "missing `{what}` on {resource}: {text}"
        );
    }
}
