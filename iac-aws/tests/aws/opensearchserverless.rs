//! OpenSearch Serverless: an encryption policy (a pattern with an
//! AWS-owned key), a network policy, a data access policy and a vector
//! collection waiting for its encryption policy — created, read back with
//! the SDK (policies compared as JSON), updated in place (each policy update
//! quoting the current version), without drift, destroyed and gone; bad
//! policies and a collection its declared policy does not cover refused at
//! preview.
//!
//! Moto 5.2.5 lacks DeleteSecurityPolicy, data access policies and
//! UpdateCollection (emulated in `moto_deploy.py`, gap 6), and its
//! CreateCollection neither matches patterns nor takes an AWS-owned key
//! (corrected in `moto_fixes.py`).

use iac_aws::opensearchserverless::{AccessPolicy, Collection, CollectionKind, SecurityPolicy, SecurityPolicyKind};
use iac_core::{Error, Stack, Urn};
use serde_json::json;

use crate::support::*;

const ROLE: &str = "arn:aws:iam::123456789012:role/search";

#[derive(Clone)]
struct Search {
    public: bool,
    permissions: &'static [&'static str],
    description: &'static str,
    team: &'static str,
}

fn program(s: &Stack, x: &Search) {
    let encryption = s.add(
        "docs-encryption",
        SecurityPolicy::builder()
            .name("docs-encryption")
            .kind(SecurityPolicyKind::Encryption)
            .description("AWS-owned key for the docs collections")
            .policy(json!({
                "Rules": [{"ResourceType": "collection", "Resource": ["collection/docs*"]}],
                "AWSOwnedKey": true
            }))
            .build(),
    );
    let network = if x.public {
        json!([{
            "Rules": [
                {"ResourceType": "collection", "Resource": ["collection/docs"]},
                {"ResourceType": "dashboard", "Resource": ["collection/docs"]}
            ],
            "AllowFromPublic": true
        }])
    } else {
        json!([{
            "Rules": [{"ResourceType": "collection", "Resource": ["collection/docs"]}],
            "AllowFromPublic": false,
            "SourceVPCEs": ["vpce-050f79086ee71ac05"]
        }])
    };
    s.add(
        "docs-network",
        SecurityPolicy::builder().name("docs-network").kind(SecurityPolicyKind::Network).policy(network).build(),
    );
    s.add(
        "docs-readers",
        AccessPolicy::builder()
            .name("docs-readers")
            .policy(json!([{
                "Rules": [{"ResourceType": "index", "Resource": ["index/docs/*"], "Permission": x.permissions}],
                "Principal": [ROLE]
            }]))
            .build(),
    );
    s.add(
        "docs",
        Collection::builder()
            .name("docs")
            .kind(CollectionKind::VectorSearch)
            .description(x.description)
            .standby_replicas(false)
            .encryption_policy(encryption.name.clone())
            .tags(iac_aws::tags([("Team", x.team)]))
            .build(),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn collection_and_policies_lifecycle() {
    let h = Harness::new();
    let aoss = h.aws.opensearchserverless().await.clone();
    let v1 = Search { public: true, permissions: &["aoss:ReadDocument"], description: "product docs", team: "search" };

    let x = v1.clone();
    let s = h.session("aoss", move |s| program(s, &x));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "aoss").await;
    let id = a.report.state.resources[&Urn::new("docs")].id.clone().unwrap();
    let got = aoss.batch_get_collection().ids(&id).send().await.unwrap();
    let c = &got.collection_details()[0];
    assert_eq!(c.name(), Some("docs"));
    assert_eq!(c.status().map(|s| s.as_str()), Some("ACTIVE"));
    assert_eq!(c.r#type().map(|t| t.as_str()), Some("VECTORSEARCH"));
    assert_eq!(c.standby_replicas().map(|s| s.as_str()), Some("DISABLED"));
    assert_eq!(c.kms_key_arn(), Some("auto"), "the AWS-owned key of the pattern policy");
    let outputs = &a.report.state.resources[&Urn::new("docs")].outputs;
    assert_eq!(outputs.get("arn").as_str(), c.arn());
    assert_eq!(outputs.get("endpoint").as_str(), c.collection_endpoint());
    assert!(outputs.get("dashboardEndpoint").as_str().is_some_and(|e| e.ends_with("/_dashboards")));
    let tags = aoss.list_tags_for_resource().resource_arn(c.arn().unwrap()).send().await.unwrap();
    assert!(tags.tags().iter().any(|t| t.key() == "Team" && t.value() == "search"), "{tags:?}");

    let p = aoss
        .get_security_policy()
        .r#type(aws_sdk_opensearchserverless::types::SecurityPolicyType::Network)
        .name("docs-network")
        .send()
        .await
        .unwrap();
    let d = p.security_policy_detail().unwrap();
    let doc = format!("{:?}", d.policy().unwrap());
    assert!(doc.contains("AllowFromPublic") && doc.contains("dashboard"), "{doc}");
    let v1_version = d.policy_version().unwrap().to_owned();
    let ap = aoss
        .get_access_policy()
        .r#type(aws_sdk_opensearchserverless::types::AccessPolicyType::Data)
        .name("docs-readers")
        .send()
        .await
        .unwrap();
    let doc = format!("{:?}", ap.access_policy_detail().unwrap().policy().unwrap());
    assert!(doc.contains("aoss:ReadDocument") && doc.contains(ROLE), "{doc}");

    assert_adoptable(&h, &a, "aoss", "docs").await;
    assert_no_drift(&s).await;

    // In place: the network policy to a VPC endpoint, a second permission,
    // the description and tags.
    let v2 = Search {
        public: false,
        permissions: &["aoss:ReadDocument", "aoss:DescribeIndex"],
        description: "product docs and manuals",
        team: "discovery",
    };
    let x = v2.clone();
    let s = h.session("aoss", move |s| program(s, &x));
    let b = up(&s).await;
    assert_eq!(b.report.state.resources[&Urn::new("docs")].id.as_deref(), Some(id.as_str()), "not replaced");
    let p = aoss
        .get_security_policy()
        .r#type(aws_sdk_opensearchserverless::types::SecurityPolicyType::Network)
        .name("docs-network")
        .send()
        .await
        .unwrap();
    let d = p.security_policy_detail().unwrap();
    assert!(format!("{:?}", d.policy().unwrap()).contains("vpce-050f79086ee71ac05"));
    assert_ne!(d.policy_version(), Some(v1_version.as_str()), "a new document is a new policy version");
    let recorded = b.report.state.resources[&Urn::new("docs-network")].outputs.get("policyVersion").as_str();
    assert_eq!(recorded, d.policy_version(), "the new version is recorded");
    let ap = aoss
        .get_access_policy()
        .r#type(aws_sdk_opensearchserverless::types::AccessPolicyType::Data)
        .name("docs-readers")
        .send()
        .await
        .unwrap();
    assert!(format!("{:?}", ap.access_policy_detail().unwrap().policy().unwrap()).contains("aoss:DescribeIndex"));
    let got = aoss.batch_get_collection().ids(&id).send().await.unwrap();
    let c = &got.collection_details()[0];
    assert_eq!(c.description(), Some("product docs and manuals"));
    let tags = aoss.list_tags_for_resource().resource_arn(c.arn().unwrap()).send().await.unwrap();
    assert!(tags.tags().iter().any(|t| t.key() == "Team" && t.value() == "discovery"), "{tags:?}");
    assert_no_drift(&s).await;

    destroy(&s).await;
    let got = aoss.batch_get_collection().ids(&id).send().await.unwrap();
    assert!(got.collection_details().is_empty(), "collection gone");
    for (kind, name) in [
        (aws_sdk_opensearchserverless::types::SecurityPolicyType::Encryption, "docs-encryption"),
        (aws_sdk_opensearchserverless::types::SecurityPolicyType::Network, "docs-network"),
    ] {
        assert!(aoss.get_security_policy().r#type(kind).name(name).send().await.is_err(), "{name} gone");
    }
    let ap = aoss
        .get_access_policy()
        .r#type(aws_sdk_opensearchserverless::types::AccessPolicyType::Data)
        .name("docs-readers")
        .send()
        .await;
    assert!(ap.is_err(), "access policy gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_opensearch_inputs_are_refused_at_preview() {
    let h = Harness::new();
    let s = h.session("bad-aoss", |s| {
        let enc = s.add(
            "enc",
            SecurityPolicy::builder()
                .name("Enc")
                .kind(SecurityPolicyKind::Encryption)
                .policy(json!({
                    "Rules": [{"ResourceType": "index", "Resource": ["docs"]}],
                    "AWSOwnedKey": true,
                    "KmsARN": "arn:aws:kms:us-east-1:123456789012:key/1"
                }))
                .build(),
        );
        let logs_enc = s.add(
            "logs-enc",
            SecurityPolicy::builder()
                .name("logs-encryption")
                .kind(SecurityPolicyKind::Encryption)
                .policy(json!({
                    "Rules": [{"ResourceType": "collection", "Resource": ["collection/logs-*"]}],
                    "AWSOwnedKey": true
                }))
                .build(),
        );
        let net = s.add(
            "net",
            SecurityPolicy::builder()
                .name("net")
                .kind(SecurityPolicyKind::Network)
                .policy(json!([{
                    "Rules": [{"ResourceType": "collection", "Resource": ["collection/docs"]}],
                    "AllowFromPublic": true,
                    "SourceVPCEs": ["vpce-1"]
                }, {
                    "Rules": [{"ResourceType": "collection", "Resource": ["collection/docs"]}]
                }]))
                .build(),
        );
        s.add(
            "access",
            AccessPolicy::builder()
                .name("access")
                .policy(json!([{
                    "Rules": [{"ResourceType": "index", "Resource": ["index/docs/*"], "Permission": ["es:ESHttpGet"]}]
                }]))
                .build(),
        );
        s.add(
            "uncovered",
            Collection::builder()
                .name("docs")
                .kind(CollectionKind::Search)
                .encryption_policy(logs_enc.name.clone())
                .build(),
        );
        s.add(
            "wrong-kind",
            Collection::builder()
                .name("logs-app")
                .kind(CollectionKind::TimeSeries)
                .encryption_policy(net.name.clone())
                .build(),
        );
        s.add(
            "bad-name",
            Collection::builder()
                .name("Docs_1")
                .kind(CollectionKind::Search)
                .encryption_policy(enc.name.clone())
                .build(),
        );
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    for (resource, what) in [
        ("enc", "3–32 lowercase letters"),
        ("enc", "ResourceType `index`"),
        ("enc", "is not like `collection/<name>`"),
        ("enc", "one of them"),
        ("net", "takes no `SourceVPCEs`"),
        ("net", "needs `AllowFromPublic`"),
        ("access", "not like `aoss:ReadDocument`"),
        ("access", "needs a `Principal` list"),
        ("uncovered", "has no rule for collection/docs"),
        ("wrong-kind", "not an encryption policy"),
        ("bad-name", "3–32 characters"),
    ] {
        assert!(
            diags.iter().any(|d| d.to_string().contains(resource) && d.to_string().contains(what)),
            "missing `{what}` on {resource}: {text}"
        );
    }
}

/// A data access policy naming a role of the same stack through
/// `principals` (an output, unknown at preview): the role's ARN is added to
/// the rule set's principals, read back without drift, and a principal
/// change is an in-place update.
#[tokio::test(flavor = "multi_thread")]
async fn access_policy_principals_from_outputs() {
    use iac_aws::iam::Role;
    use iac_aws::policy::{PolicyDocument, Principal, Statement};
    let h = Harness::new();
    let aoss = h.aws.opensearchserverless().await.clone();
    let program = |role: &'static str| {
        move |s: &Stack| {
            let indexer = s.add(
                "indexer",
                Role::builder()
                    .name(role)
                    .assume_role_policy(
                        PolicyDocument::new().statement(
                            Statement::builder()
                                .actions(["sts:AssumeRole"])
                                .principals(vec![Principal::Service("bedrock.amazonaws.com".into())])
                                .build(),
                        ),
                    )
                    .build(),
            );
            s.add(
                "writers",
                AccessPolicy::builder()
                    .name("docs-writers")
                    .policy(json!([{
                        "Rules": [{"ResourceType": "index", "Resource": ["index/docs/*"],
                                   "Permission": ["aoss:WriteDocument"]}],
                        "Principal": [ROLE]
                    }]))
                    .principals(vec![indexer.arn.clone().into()])
                    .build(),
            );
        }
    };
    let principals = || async {
        let got = aoss
            .get_access_policy()
            .r#type(aws_sdk_opensearchserverless::types::AccessPolicyType::Data)
            .name("docs-writers")
            .send()
            .await
            .unwrap();
        format!("{:?}", got.access_policy_detail().unwrap().policy().unwrap())
    };
    let s = h.session("aoss-principals", program("docs-indexer"));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "aoss-principals").await;
    let doc = principals().await;
    assert!(doc.contains(ROLE) && doc.contains(":role/docs-indexer"), "given and output principals: {doc}");
    assert_no_drift(&s).await;

    let s = h.session("aoss-principals", program("docs-indexer-v2"));
    up(&s).await;
    let doc = principals().await;
    assert!(doc.contains(":role/docs-indexer-v2") && doc.contains(ROLE), "{doc}");
    assert!(!doc.contains(":role/docs-indexer\""), "the old role's ARN replaced: {doc}");
    assert_no_drift(&s).await;

    destroy(&s).await;
    let gone = aoss
        .get_access_policy()
        .r#type(aws_sdk_opensearchserverless::types::AccessPolicyType::Data)
        .name("docs-writers")
        .send()
        .await;
    assert!(gone.is_err(), "access policy gone");
}
