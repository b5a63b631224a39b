//! Bedrock: a vector knowledge base over an OpenSearch Serverless
//! collection, with an S3 data source — created, read back with the SDK,
//! updated in place, without drift, the data source replaced for new
//! chunking, destroyed and gone; bad inputs refused at preview.
//!
//! Moto 5.2.5 lacks UpdateKnowledgeBase and data sources (emulated in
//! `moto_deploy.py`, gap 7) and answers a knowledge base's status and times
//! in forms the SDK refuses (corrected in `moto_fixes.py`). Moto creates no
//! vector index and calls no model: that the index exists in the collection
//! is not checked here, as AWS would.

use iac_aws::bedrock::{Chunking, DataSource, KnowledgeBase, OpenSearchServerlessStorage};
use iac_aws::iam::Role;
use iac_aws::opensearchserverless::{Collection, CollectionKind, SecurityPolicy, SecurityPolicyKind};
use iac_aws::policy::{PolicyDocument, Principal, Statement};
use iac_aws::s3::Bucket;
use iac_core::provider::{FindRequest, Provider};
use iac_core::{Error, Stack, Urn};
use serde_json::json;

use crate::support::*;

const TITAN: &str = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0";

#[derive(Clone)]
struct Kb {
    description: &'static str,
    ds_description: &'static str,
    role: &'static str,
    prefix: &'static str,
    max_tokens: i32,
    retain: bool,
    team: &'static str,
}

fn bedrock_role(s: &Stack, name: &'static str) -> iac_core::Output<String> {
    s.add(
        name,
        Role::builder()
            .name(name)
            .assume_role_policy(
                PolicyDocument::new().statement(
                    Statement::builder()
                        .actions(["sts:AssumeRole"])
                        .principals(vec![Principal::Service("bedrock.amazonaws.com".into())])
                        .build(),
                ),
            )
            .build(),
    )
    .arn
    .clone()
}

fn program(s: &Stack, x: &Kb) {
    let role = bedrock_role(s, x.role);
    let docs = s.add("kb-docs", Bucket::builder().bucket("kb-product-docs").force_destroy(true).build());
    let enc = s.add(
        "kb-encryption",
        SecurityPolicy::builder()
            .name("kb-encryption")
            .kind(SecurityPolicyKind::Encryption)
            .policy(json!({
                "Rules": [{"ResourceType": "collection", "Resource": ["collection/kb-vectors"]}],
                "AWSOwnedKey": true
            }))
            .build(),
    );
    let vectors = s.add(
        "kb-vectors",
        Collection::builder()
            .name("kb-vectors")
            .kind(CollectionKind::VectorSearch)
            .encryption_policy(enc.name.clone())
            .build(),
    );
    let kb = s.add(
        "product-docs",
        KnowledgeBase::builder()
            .name("product-docs")
            .description(x.description)
            .role_arn(role)
            .embedding_model_arn(TITAN)
            .embedding_dimensions(1024)
            .storage(
                OpenSearchServerlessStorage::builder()
                    .collection_arn(vectors.arn.clone())
                    .vector_index_name("docs-index")
                    .vector_field("embedding")
                    .build(),
            )
            .tags(iac_aws::tags([("Team", x.team)]))
            .build(),
    );
    s.add(
        "manuals",
        DataSource::builder()
            .knowledge_base_id(kb.id.clone())
            .name("manuals")
            .description(x.ds_description)
            .bucket_arn(docs.arn.clone())
            .inclusion_prefixes(vec![x.prefix.into()])
            .chunking(Chunking::FixedSize { max_tokens: x.max_tokens, overlap_percentage: 20 })
            .retain_data_on_delete(x.retain)
            .build(),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn knowledge_base_lifecycle() {
    let h = Harness::new();
    let ba = h.aws.bedrockagent().await.clone();
    let v1 = Kb {
        description: "product manuals",
        ds_description: "manuals in PDF",
        role: "kb-role",
        prefix: "manuals/",
        max_tokens: 300,
        retain: false,
        team: "support",
    };

    let x = v1.clone();
    let s = h.session("bedrock", move |s| program(s, &x));
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "bedrock").await;
    let kb_id = a.report.state.resources[&Urn::new("product-docs")].id.clone().unwrap();
    let collection_arn =
        a.report.state.resources[&Urn::new("kb-vectors")].outputs.get("arn").as_str().unwrap().to_owned();
    let kb = ba.get_knowledge_base().knowledge_base_id(&kb_id).send().await.unwrap().knowledge_base.unwrap();
    assert_eq!(kb.name(), "product-docs");
    assert_eq!(kb.status().as_str(), "ACTIVE");
    assert!(kb.role_arn().ends_with(":role/kb-role"));
    let vector = kb.knowledge_base_configuration().unwrap().vector_knowledge_base_configuration().unwrap();
    assert_eq!(vector.embedding_model_arn(), TITAN);
    let dims = vector.embedding_model_configuration().and_then(|e| e.bedrock_embedding_model_configuration());
    assert_eq!(dims.and_then(|d| d.dimensions()), Some(1024));
    let aoss = kb.storage_configuration().unwrap().opensearch_serverless_configuration().unwrap();
    assert_eq!(aoss.collection_arn(), collection_arn, "stored in the stack's collection");
    assert_eq!(aoss.vector_index_name(), "docs-index");
    let fields = aoss.field_mapping().unwrap();
    assert_eq!(
        (fields.vector_field(), fields.text_field(), fields.metadata_field()),
        ("embedding", "AMAZON_BEDROCK_TEXT_CHUNK", "AMAZON_BEDROCK_METADATA")
    );
    let tags = ba.list_tags_for_resource().resource_arn(kb.knowledge_base_arn()).send().await.unwrap();
    assert_eq!(tags.tags().and_then(|t| t.get("Team")).map(String::as_str), Some("support"));

    let ds_id = a.report.state.resources[&Urn::new("manuals")].id.clone().unwrap();
    let (_, ds) = ds_id.split_once('/').unwrap();
    let d =
        ba.get_data_source().knowledge_base_id(&kb_id).data_source_id(ds).send().await.unwrap().data_source.unwrap();
    assert_eq!(d.status().as_str(), "AVAILABLE");
    let s3 = d.data_source_configuration().unwrap().s3_configuration().unwrap();
    assert_eq!(s3.bucket_arn(), "arn:aws:s3:::kb-product-docs");
    assert_eq!(s3.inclusion_prefixes(), ["manuals/"]);
    let chunking = d.vector_ingestion_configuration().unwrap().chunking_configuration().unwrap();
    assert_eq!(chunking.chunking_strategy().as_str(), "FIXED_SIZE");
    let fixed = chunking.fixed_size_chunking_configuration().unwrap();
    assert_eq!((fixed.max_tokens(), fixed.overlap_percentage()), (300, 20));
    assert_eq!(d.data_deletion_policy().map(|p| p.as_str()), Some("DELETE"));

    assert_adoptable(&h, &a, "bedrock", "product-docs").await;
    // The data source takes no tags: it is found by its name in the
    // stack's knowledge base.
    let r = &a.report.state.resources[&Urn::new("manuals")];
    let found = h
        .aws
        .find(FindRequest {
            type_token: "aws:bedrock:DataSource",
            urn: Urn::new("manuals"),
            stack: "bedrock".into(),
            inputs: r.inputs.clone(),
            known_ids: vec![],
        })
        .await
        .unwrap()
        .expect("found");
    assert_eq!(Some(&found.id), r.id.as_ref());
    assert!(iac_core::diff::diff(&r.inputs, &found.inputs).is_empty(), "adopted as recorded: {:?}", found.inputs);
    assert_no_drift(&s).await;

    // In place: description, a new role, tags; the data source's prefix and
    // deletion policy.
    let v2 = Kb {
        description: "product manuals and FAQs",
        ds_description: "manuals and FAQs",
        role: "kb-role-v2",
        prefix: "faq/",
        retain: true,
        team: "cx",
        ..v1
    };
    let x = v2.clone();
    let s = h.session("bedrock", move |s| program(s, &x));
    let b = up(&s).await;
    assert_eq!(b.report.state.resources[&Urn::new("product-docs")].id.as_deref(), Some(kb_id.as_str()), "not replaced");
    let kb = ba.get_knowledge_base().knowledge_base_id(&kb_id).send().await.unwrap().knowledge_base.unwrap();
    assert_eq!(kb.description(), Some("product manuals and FAQs"));
    assert!(kb.role_arn().ends_with(":role/kb-role-v2"));
    let tags = ba.list_tags_for_resource().resource_arn(kb.knowledge_base_arn()).send().await.unwrap();
    assert_eq!(tags.tags().and_then(|t| t.get("Team")).map(String::as_str), Some("cx"));
    assert_eq!(b.report.state.resources[&Urn::new("manuals")].id.as_deref(), Some(ds_id.as_str()), "not replaced");
    let d =
        ba.get_data_source().knowledge_base_id(&kb_id).data_source_id(ds).send().await.unwrap().data_source.unwrap();
    assert_eq!(d.data_source_configuration().unwrap().s3_configuration().unwrap().inclusion_prefixes(), ["faq/"]);
    assert_eq!(d.data_deletion_policy().map(|p| p.as_str()), Some("RETAIN"));
    assert_eq!(d.description(), Some("manuals and FAQs"));
    assert_no_drift(&s).await;

    // New chunking: AWS cannot change it, so the data source is replaced.
    let v3 = Kb { max_tokens: 512, ds_description: "", ..v2 };
    let x = v3.clone();
    let s = h.session("bedrock", move |s| program(s, &x));
    let c = up(&s).await;
    let new_id = c.report.state.resources[&Urn::new("manuals")].id.clone().unwrap();
    assert_ne!(new_id, ds_id, "replaced");
    assert!(ba.get_data_source().knowledge_base_id(&kb_id).data_source_id(ds).send().await.is_err(), "old one gone");
    let (_, new_ds) = new_id.split_once('/').unwrap();
    let d = ba.get_data_source().knowledge_base_id(&kb_id).data_source_id(new_ds).send().await.unwrap();
    let d = d.data_source.unwrap();
    assert_eq!(d.description(), None, "no description is sent as none, not empty");
    let chunking = d.vector_ingestion_configuration.unwrap().chunking_configuration.unwrap();
    assert_eq!(chunking.fixed_size_chunking_configuration().unwrap().max_tokens(), 512);
    assert_no_drift(&s).await;

    destroy(&s).await;
    assert!(ba.get_knowledge_base().knowledge_base_id(&kb_id).send().await.is_err(), "knowledge base gone");
    let listed = ba.list_knowledge_bases().send().await.unwrap();
    assert!(listed.knowledge_base_summaries().iter().all(|k| k.name() != "product-docs"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_bedrock_inputs_are_refused_at_preview() {
    let h = Harness::new();
    let s = h.session("bad-bedrock", |s| {
        s.add(
            "kb",
            KnowledgeBase::builder()
                .name("docs--kb")
                .description("x".repeat(201))
                .role_arn("arn:aws:iam::123456789012:user/me")
                .embedding_model_arn("amazon.titan-embed-text-v2:0")
                .embedding_dimensions(0)
                .storage(
                    OpenSearchServerlessStorage::builder()
                        .collection_arn("arn:aws:s3:::not-a-collection")
                        .vector_index_name("")
                        .vector_field("embedding")
                        .build(),
                )
                .build(),
        );
        s.add(
            "ds",
            DataSource::builder()
                .knowledge_base_id("KB12345678")
                .name("_manuals")
                .bucket_arn("arn:aws:s3:::bucket/key")
                .inclusion_prefixes(vec!["a/".into(), "b/".into()])
                .bucket_owner_account_id("1234")
                .chunking(Chunking::FixedSize { max_tokens: 0, overlap_percentage: 100 })
                .build(),
        );
        s.add(
            "ds-h",
            DataSource::builder()
                .knowledge_base_id("KB12345678")
                .name("h")
                .bucket_arn("arn:aws:s3:::bucket")
                .chunking(Chunking::Hierarchical { parent_max_tokens: 100, child_max_tokens: 300, overlap_tokens: 0 })
                .build(),
        );
        s.add(
            "ds-s",
            DataSource::builder()
                .knowledge_base_id("KB12345678")
                .name("s")
                .bucket_arn("arn:aws:s3:::bucket")
                .chunking(Chunking::Semantic { max_tokens: 300, buffer_size: 2, breakpoint_percentile_threshold: 20 })
                .build(),
        );
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    for (resource, what) in [
        ("kb", "a single _ or - after each"),
        ("kb", "at most 200"),
        ("kb", "not an IAM role ARN"),
        ("kb", "not a Bedrock model ARN"),
        ("kb", "a positive number"),
        ("kb", "not an OpenSearch Serverless collection ARN"),
        ("kb", "the vector index name must be"),
        ("ds", "a single _ or - after each"),
        ("ds", "not a bucket ARN"),
        ("ds", "AWS takes one"),
        ("ds", "not a 12-digit account id"),
        ("ds", "at least 1"),
        ("ds", "between 1 and 99"),
        ("ds-h", "smaller than child chunks"),
        ("ds-h", "an overlap of 0 tokens"),
        ("ds-s", "0 or 1"),
        ("ds-s", "between 50 and 99"),
    ] {
        assert!(
            diags.iter().any(|d| d.to_string().contains(resource) && d.to_string().contains(what)),
            "missing `{what}` on {resource}: {text}"
        );
    }
}
