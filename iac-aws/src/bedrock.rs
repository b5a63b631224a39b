//! Amazon Bedrock knowledge bases (Agents for Bedrock): a vector knowledge
//! base over an OpenSearch Serverless collection, and the S3 data sources
//! it ingests.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_bedrockagent::types::{
    BedrockEmbeddingModelConfiguration, ChunkingConfiguration, ChunkingStrategy, DataDeletionPolicy,
    DataSource as SdkDataSource, DataSourceConfiguration, DataSourceStatus, DataSourceType,
    EmbeddingModelConfiguration, FixedSizeChunkingConfiguration, HierarchicalChunkingConfiguration,
    HierarchicalChunkingLevelConfiguration, KnowledgeBase as SdkKnowledgeBase, KnowledgeBaseConfiguration,
    KnowledgeBaseStatus, KnowledgeBaseStorageType, KnowledgeBaseType, OpenSearchServerlessConfiguration,
    OpenSearchServerlessFieldMapping, S3DataSourceConfiguration, SemanticChunkingConfiguration, StorageConfiguration,
    VectorIngestionConfiguration, VectorKnowledgeBaseConfiguration,
};
use aws_smithy_types::error::operation::BuildError;
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{drop_computed_when_unset, map, tags_value, tags_with_identity, wait_for, In, TAG_NAME, TAG_STACK};

pub(crate) const KNOWLEDGE_BASE: &str = "aws:bedrock:KnowledgeBase";
pub(crate) const DATA_SOURCE: &str = "aws:bedrock:DataSource";

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    Some(match type_token {
        KNOWLEDGE_BASE => &KnowledgeBaseHandler,
        DATA_SOURCE => &DataSourceHandler,
        _ => return None,
    })
}

/// Schema of [`KnowledgeBase`]: AWS cannot change how it embeds or where it
/// stores vectors, so those replace; the name, description, role and tags
/// update in place.
pub static KNOWLEDGE_BASE_SCHEMA: Schema = Schema {
    replace_on: &["embeddingModelArn", "embeddingDimensions", "storage"],
    taggable: true,
    ..Schema::new(KNOWLEDGE_BASE, "aws")
};

/// Schema of [`DataSource`]: the knowledge base and the chunking (which AWS
/// cannot change) replace, deleting first (nothing refers to a data source,
/// and its name stays free for the new one); the rest updates in place.
pub static DATA_SOURCE_SCHEMA: Schema = Schema {
    replace_on: &["knowledgeBaseId", "chunking"],
    delete_before_replace: true,
    ..Schema::new(DATA_SOURCE, "aws")
};

/// Knowledge base and data source names: 1–100 letters and digits, each
/// followed by at most one `_` or `-`.
fn kb_name(c: &mut Checks, value: &str) {
    let chars: Vec<char> = value.chars().collect();
    let ok = !chars.is_empty()
        && chars.iter().filter(|ch| ch.is_ascii_alphanumeric()).count() <= 100
        && chars[0].is_ascii_alphanumeric()
        && chars.iter().all(|ch| ch.is_ascii_alphanumeric() || "_-".contains(*ch))
        && !chars.windows(2).any(|w| "_-".contains(w[0]) && "_-".contains(w[1]));
    c.check(ok, "name", || {
        format!("`{value}`: 1–100 letters and digits, a single _ or - after each, starting with a letter or digit")
    });
}

fn description_check(c: &mut Checks, description: &str) {
    c.check(description.chars().count() <= 200, "description", || {
        format!("{} characters; at most 200", description.chars().count())
    });
}

/// The description to send: AWS takes none rather than an empty one.
fn description(i: &In<'_>) -> Option<String> {
    i.opt_str("description").filter(|d| !d.is_empty()).map(str::to_owned)
}

fn build_err(op: &str) -> impl Fn(BuildError) -> ProviderError + '_ {
    move |e| ProviderError::fatal(op, e.to_string())
}

// ---- KnowledgeBase ---------------------------------------------------------

/// Where a knowledge base keeps its vectors: an index of an OpenSearch
/// Serverless vector-search collection, and the index's fields.
#[derive(Clone, Debug, bon::Builder)]
pub struct OpenSearchServerlessStorage {
    /// The collection (its ARN).
    #[builder(into)]
    pub collection_arn: Input<String>,
    /// The vector index in it.
    #[builder(into)]
    pub vector_index_name: String,
    /// The field holding the embeddings.
    #[builder(into)]
    pub vector_field: String,
    /// The field holding the chunk's text.
    #[builder(into, default = "AMAZON_BEDROCK_TEXT_CHUNK")]
    pub text_field: String,
    /// The field holding Bedrock's metadata.
    #[builder(into, default = "AMAZON_BEDROCK_METADATA")]
    pub metadata_field: String,
}

/// A vector knowledge base: documents from its data sources are chunked,
/// embedded with a Bedrock model and stored in an OpenSearch Serverless
/// collection.
///
/// ```
/// use iac_aws::bedrock::{KnowledgeBase, OpenSearchServerlessStorage};
/// let docs = KnowledgeBase::builder()
///     .name("product-docs")
///     .role_arn("arn:aws:iam::123456789012:role/bedrock-kb")
///     .embedding_model_arn("arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0")
///     .storage(
///         OpenSearchServerlessStorage::builder()
///             .collection_arn("arn:aws:aoss:us-east-1:123456789012:collection/abc123")
///             .vector_index_name("docs-index")
///             .vector_field("embedding")
///             .build(),
///     )
///     .build();
/// # let _ = docs;
/// ```
#[derive(bon::Builder)]
pub struct KnowledgeBase {
    /// Its name.
    #[builder(into)]
    pub name: String,
    /// What it knows.
    #[builder(into, default)]
    pub description: String,
    /// The role Bedrock uses to read the sources, call the model and write
    /// the collection.
    #[builder(into)]
    pub role_arn: Input<String>,
    /// The embedding model (its ARN; replaces).
    #[builder(into)]
    pub embedding_model_arn: Input<String>,
    /// The embeddings' dimensions, for models that offer several
    /// (replaces; else the model's default).
    pub embedding_dimensions: Option<i32>,
    /// Where vectors are stored (replaces).
    pub storage: OpenSearchServerlessStorage,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`KnowledgeBase`].
pub struct KnowledgeBaseOutputs {
    /// Its id (the resource's id), for data sources and agents.
    pub id: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
}

impl Resource for KnowledgeBase {
    type Outputs = KnowledgeBaseOutputs;
    fn schema() -> &'static Schema {
        &KNOWLEDGE_BASE_SCHEMA
    }
    fn inputs(&self) -> Expr {
        let s = &self.storage;
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("description", Value::from(self.description.as_str()).into()),
            ("roleArn", self.role_arn.to_expr()),
            ("embeddingModelArn", self.embedding_model_arn.to_expr()),
            ("embeddingDimensions", Value::from(self.embedding_dimensions).into()),
            (
                "storage",
                props([
                    ("type", Value::from("OPENSEARCH_SERVERLESS").into()),
                    ("collectionArn", s.collection_arn.to_expr()),
                    ("vectorIndexName", Value::from(s.vector_index_name.as_str()).into()),
                    ("vectorField", Value::from(s.vector_field.as_str()).into()),
                    ("textField", Value::from(s.text_field.as_str()).into()),
                    ("metadataField", Value::from(s.metadata_field.as_str()).into()),
                ]),
            ),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> KnowledgeBaseOutputs {
        KnowledgeBaseOutputs { id: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
    fn validate(&self, c: &mut Checks) {
        kb_name(c, &self.name);
        description_check(c, &self.description);
        if let Some(arn) = self.role_arn.value() {
            let ok = arn.starts_with("arn:") && arn.contains(":iam::") && arn.contains(":role/");
            c.check(ok, "roleArn", || format!("`{arn}` is not an IAM role ARN"));
        }
        if let Some(arn) = self.embedding_model_arn.value() {
            let ok = arn.starts_with("arn:")
                && arn.contains(":bedrock:")
                && ["foundation-model/", "custom-model/", "provisioned-model/", "inference-profile/"]
                    .iter()
                    .any(|k| arn.contains(k));
            c.check(ok, "embeddingModelArn", || {
                format!("`{arn}` is not a Bedrock model ARN (arn:aws:bedrock:<region>::foundation-model/<model>)")
            });
        }
        if let Some(d) = self.embedding_dimensions {
            c.check(d > 0, "embeddingDimensions", || format!("{d}: a positive number"));
        }
        let s = &self.storage;
        if let Some(arn) = s.collection_arn.value() {
            let ok = arn.starts_with("arn:") && arn.contains(":aoss:") && arn.contains(":collection/");
            c.check(ok, "storage", || format!("`{arn}` is not an OpenSearch Serverless collection ARN"));
        }
        for (field, v) in [
            ("vector index name", &s.vector_index_name),
            ("vector field", &s.vector_field),
            ("text field", &s.text_field),
            ("metadata field", &s.metadata_field),
        ] {
            c.check(!v.is_empty() && v.len() <= 2048, "storage", || format!("the {field} must be 1–2048 characters"));
        }
    }
}

fn kb_configuration(i: &In<'_>, op: &str) -> Result<KnowledgeBaseConfiguration, ProviderError> {
    let embedding = i.opt_i32("embeddingDimensions").map(|d| {
        EmbeddingModelConfiguration::builder()
            .bedrock_embedding_model_configuration(BedrockEmbeddingModelConfiguration::builder().dimensions(d).build())
            .build()
    });
    let vector = VectorKnowledgeBaseConfiguration::builder()
        .embedding_model_arn(i.str("embeddingModelArn")?)
        .set_embedding_model_configuration(embedding)
        .build()
        .map_err(build_err(op))?;
    KnowledgeBaseConfiguration::builder()
        .r#type(KnowledgeBaseType::Vector)
        .vector_knowledge_base_configuration(vector)
        .build()
        .map_err(build_err(op))
}

fn storage_configuration(i: &In<'_>, op: &str) -> Result<StorageConfiguration, ProviderError> {
    let s = i.value("storage");
    let get = |k: &str| s.get(k).as_str().unwrap_or_default();
    let mapping = OpenSearchServerlessFieldMapping::builder()
        .vector_field(get("vectorField"))
        .text_field(get("textField"))
        .metadata_field(get("metadataField"))
        .build()
        .map_err(build_err(op))?;
    let aoss = OpenSearchServerlessConfiguration::builder()
        .collection_arn(get("collectionArn"))
        .vector_index_name(get("vectorIndexName"))
        .field_mapping(mapping)
        .build()
        .map_err(build_err(op))?;
    StorageConfiguration::builder()
        .r#type(KnowledgeBaseStorageType::OpensearchServerless)
        .opensearch_serverless_configuration(aoss)
        .build()
        .map_err(build_err(op))
}

fn kb_values(kb: &SdkKnowledgeBase, tags: &HashMap<String, String>, recorded: &Value) -> (Value, Value) {
    let vector = kb.knowledge_base_configuration().and_then(|c| c.vector_knowledge_base_configuration());
    let dimensions = vector
        .and_then(|v| v.embedding_model_configuration())
        .and_then(|e| e.bedrock_embedding_model_configuration())
        .and_then(|b| b.dimensions());
    let storage =
        kb.storage_configuration().and_then(|s| s.opensearch_serverless_configuration()).map_or(Value::Null, |o| {
            let f = o.field_mapping();
            map([
                ("type", Value::from("OPENSEARCH_SERVERLESS")),
                ("collectionArn", Value::from(o.collection_arn())),
                ("vectorIndexName", Value::from(o.vector_index_name())),
                ("vectorField", Value::from(f.map(|f| f.vector_field()))),
                ("textField", Value::from(f.map(|f| f.text_field()))),
                ("metadataField", Value::from(f.map(|f| f.metadata_field()))),
            ])
        });
    let mut inputs = map([
        ("name", Value::from(kb.name())),
        ("description", Value::from(kb.description().unwrap_or_default())),
        ("roleArn", Value::from(kb.role_arn())),
        ("embeddingModelArn", Value::from(vector.map(|v| v.embedding_model_arn()))),
        ("embeddingDimensions", Value::from(dimensions)),
        ("storage", storage),
        ("tags", tags_value(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))),
    ]);
    // Left unset, the model's default is AWS's to report.
    drop_computed_when_unset(&mut inputs, recorded, &["embeddingDimensions"]);
    (inputs, map([("arn", Value::from(kb.knowledge_base_arn()))]))
}

async fn get_kb(p: &AwsProvider, id: &str) -> Result<Option<SdkKnowledgeBase>, ProviderError> {
    match p.bedrockagent().await.get_knowledge_base().knowledge_base_id(id).send().await {
        Ok(o) => Ok(o.knowledge_base().cloned()),
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(None),
        Err(e) => Err(aws_err("GetKnowledgeBase", e)),
    }
}

async fn kb_tags(p: &AwsProvider, arn: &str) -> Result<HashMap<String, String>, ProviderError> {
    let out = p
        .bedrockagent()
        .await
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| aws_err("ListTagsForResource", e))?;
    Ok(out.tags().cloned().unwrap_or_default())
}

async fn describe_kb(p: &AwsProvider, id: &str, recorded: &Value) -> Result<Option<(Value, Value)>, ProviderError> {
    let Some(kb) = get_kb(p, id).await? else { return Ok(None) };
    if kb.status() == &KnowledgeBaseStatus::Deleting {
        return Ok(None);
    }
    let tags = kb_tags(p, kb.knowledge_base_arn()).await?;
    Ok(Some(kb_values(&kb, &tags, recorded)))
}

/// Waits until the knowledge base is `ACTIVE`; a failed one is an error
/// with AWS's reasons.
async fn wait_kb_active(
    p: &AwsProvider,
    id: &str,
    timeout: Option<Duration>,
) -> Result<SdkKnowledgeBase, ProviderError> {
    wait_for(&format!("knowledge base {id} active"), timeout, Duration::from_secs(15 * 60), || async {
        let Some(kb) = get_kb(p, id).await? else {
            return Err(ProviderError::retriable("GetKnowledgeBase", format!("knowledge base {id} not visible yet")));
        };
        match kb.status() {
            KnowledgeBaseStatus::Active => Ok(Some(kb)),
            KnowledgeBaseStatus::Failed | KnowledgeBaseStatus::UpdateUnsuccessful => Err(ProviderError::fatal(
                "GetKnowledgeBase",
                format!("knowledge base {id} failed: {}", kb.failure_reasons().join("; ")),
            )),
            _ => Ok(None),
        }
    })
    .await
}

pub(crate) struct KnowledgeBaseHandler;

#[async_trait]
impl Handler for KnowledgeBaseHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateKnowledgeBase";
        let i = In::new(&req.inputs, op);
        let out = p
            .bedrockagent()
            .await
            .create_knowledge_base()
            .client_token(&req.idempotency_token)
            .name(i.str("name")?)
            .set_description(description(&i))
            .role_arn(i.str("roleArn")?)
            .knowledge_base_configuration(kb_configuration(&i, op)?)
            .storage_configuration(storage_configuration(&i, op)?)
            .set_tags(Some(tags_with_identity(&req.inputs, &req.stack, &req.urn).into_iter().collect()))
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        let id = out
            .knowledge_base()
            .map(|kb| kb.knowledge_base_id().to_owned())
            .ok_or_else(|| ProviderError::fatal(op, "no knowledge base returned"))?;
        let kb = wait_kb_active(p, &id, req.timeout).await?;
        Ok(CreateResult { id, outputs: map([("arn", Value::from(kb.knowledge_base_arn()))]) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe_kb(p, &req.id, &req.inputs).await?.map(|(inputs, outputs)| ReadResult {
            id: req.id,
            inputs,
            outputs,
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let op = "UpdateKnowledgeBase";
        let i = In::new(&req.inputs, op);
        let ba = p.bedrockagent().await;
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if changed("name") || changed("description") || changed("roleArn") {
            // AWS takes the configurations again, unchanged.
            ba.update_knowledge_base()
                .knowledge_base_id(&req.id)
                .name(i.str("name")?)
                .set_description(description(&i))
                .role_arn(i.str("roleArn")?)
                .knowledge_base_configuration(kb_configuration(&i, op)?)
                .storage_configuration(storage_configuration(&i, op)?)
                .send()
                .await
                .map_err(|e| aws_err(op, e))?;
            wait_kb_active(p, &req.id, req.timeout).await?;
        }
        if changed("tags") {
            let arn = In::new(&req.old_outputs, "TagResource").str("arn")?;
            let (was, now) = (In::new(&req.old_inputs, "").tags(), i.tags());
            let removed: Vec<String> = was.keys().filter(|k| !now.contains_key(*k)).cloned().collect();
            if !removed.is_empty() {
                ba.untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .map_err(|e| aws_err("UntagResource", e))?;
            }
            let added: HashMap<String, String> = now.into_iter().filter(|(k, v)| was.get(k) != Some(v)).collect();
            if !added.is_empty() {
                ba.tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(added))
                    .send()
                    .await
                    .map_err(|e| aws_err("TagResource", e))?;
            }
        }
        Ok(UpdateResult { outputs: req.old_outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        // Data sources are dependents and are deleted first.
        match p.bedrockagent().await.delete_knowledge_base().knowledge_base_id(&req.id).send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(()),
            Err(e) => return Err(aws_err("DeleteKnowledgeBase", e)),
        }
        wait_for(&format!("knowledge base {} deleted", req.id), req.timeout, Duration::from_secs(15 * 60), || async {
            match get_kb(p, &req.id).await? {
                None => Ok(Some(())),
                Some(kb) if kb.status() == &KnowledgeBaseStatus::DeleteUnsuccessful => Err(ProviderError::fatal(
                    "DeleteKnowledgeBase",
                    format!("knowledge base {} could not be deleted: {}", req.id, kb.failure_reasons().join("; ")),
                )),
                Some(_) => Ok(None),
            }
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let ba = p.bedrockagent().await;
        let mut token = None;
        loop {
            let out = ba
                .list_knowledge_bases()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| aws_err("ListKnowledgeBases", e))?;
            // The old copy of a replace carries the same tags: look past it.
            for s in out
                .knowledge_base_summaries()
                .iter()
                .filter(|s| s.name() == name && !req.is_known(s.knowledge_base_id()))
            {
                let Some(kb) = get_kb(p, s.knowledge_base_id()).await? else { continue };
                let tags = kb_tags(p, kb.knowledge_base_arn()).await?;
                if tags.get(TAG_STACK).map(String::as_str) != Some(req.stack.as_str())
                    || tags.get(TAG_NAME).map(String::as_str) != Some(req.urn.as_str())
                {
                    continue;
                }
                let (inputs, outputs) = kb_values(&kb, &tags, &req.inputs);
                return Ok(Some(ReadResult { id: kb.knowledge_base_id().to_owned(), inputs, outputs }));
            }
            match out.next_token() {
                Some(t) => token = Some(t.to_owned()),
                None => return Ok(None),
            }
        }
    }
}

// ---- DataSource ------------------------------------------------------------

/// How documents are split before they are embedded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chunking {
    /// Chunks of about `max_tokens`, overlapping by a percentage.
    FixedSize {
        /// Tokens per chunk.
        max_tokens: i32,
        /// Overlap between neighbouring chunks (1–99 %).
        overlap_percentage: i32,
    },
    /// Parent chunks split into child chunks; search returns parents.
    Hierarchical {
        /// Tokens per parent chunk.
        parent_max_tokens: i32,
        /// Tokens per child chunk (at most the parent's).
        child_max_tokens: i32,
        /// Tokens repeated between neighbouring chunks.
        overlap_tokens: i32,
    },
    /// Split where the meaning changes.
    Semantic {
        /// Tokens per chunk at most.
        max_tokens: i32,
        /// Sentences on each side compared (0 or 1).
        buffer_size: i32,
        /// The dissimilarity percentile that starts a new chunk (50–99).
        breakpoint_percentile_threshold: i32,
    },
    /// Each file is one chunk.
    None,
}

/// An S3 data source of a knowledge base: the documents it ingests.
///
/// ```
/// use iac_aws::bedrock::{Chunking, DataSource};
/// let manuals = DataSource::builder()
///     .knowledge_base_id("KB12345678")
///     .name("manuals")
///     .bucket_arn("arn:aws:s3:::product-docs")
///     .inclusion_prefixes(vec!["manuals/".into()])
///     .chunking(Chunking::FixedSize { max_tokens: 300, overlap_percentage: 20 })
///     .build();
/// # let _ = manuals;
/// ```
#[derive(bon::Builder)]
pub struct DataSource {
    /// The knowledge base (its id; replaces).
    #[builder(into)]
    pub knowledge_base_id: Input<String>,
    /// Its name.
    #[builder(into)]
    pub name: String,
    /// What it holds.
    #[builder(into, default)]
    pub description: String,
    /// The bucket (its ARN).
    #[builder(into)]
    pub bucket_arn: Input<String>,
    /// Only objects under this prefix (AWS takes one).
    #[builder(default)]
    pub inclusion_prefixes: Vec<String>,
    /// The bucket's account, when it is another one.
    #[builder(into)]
    pub bucket_owner_account_id: Option<String>,
    /// How documents are split (replaces; else AWS's default, fixed
    /// chunks of 300 tokens).
    pub chunking: Option<Chunking>,
    /// Keep the vectors in the store when the data source is deleted.
    #[builder(default)]
    pub retain_data_on_delete: bool,
}

/// Outputs of a [`DataSource`].
pub struct DataSourceOutputs {
    /// `<knowledge base id>/<data source id>` (the resource's id).
    pub id: Output<String>,
    /// The data source's own id, for ingestion jobs.
    pub data_source_id: Output<String>,
}

fn chunking_value(c: &Chunking) -> Value {
    match *c {
        Chunking::FixedSize { max_tokens, overlap_percentage } => map([
            ("strategy", Value::from("FIXED_SIZE")),
            ("maxTokens", Value::from(max_tokens)),
            ("overlapPercentage", Value::from(overlap_percentage)),
        ]),
        Chunking::Hierarchical { parent_max_tokens, child_max_tokens, overlap_tokens } => map([
            ("strategy", Value::from("HIERARCHICAL")),
            ("parentMaxTokens", Value::from(parent_max_tokens)),
            ("childMaxTokens", Value::from(child_max_tokens)),
            ("overlapTokens", Value::from(overlap_tokens)),
        ]),
        Chunking::Semantic { max_tokens, buffer_size, breakpoint_percentile_threshold } => map([
            ("strategy", Value::from("SEMANTIC")),
            ("maxTokens", Value::from(max_tokens)),
            ("bufferSize", Value::from(buffer_size)),
            ("breakpointPercentileThreshold", Value::from(breakpoint_percentile_threshold)),
        ]),
        Chunking::None => map([("strategy", Value::from("NONE"))]),
    }
}

impl Resource for DataSource {
    type Outputs = DataSourceOutputs;
    fn schema() -> &'static Schema {
        &DATA_SOURCE_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("knowledgeBaseId", self.knowledge_base_id.to_expr()),
            ("name", Value::from(self.name.as_str()).into()),
            ("description", Value::from(self.description.as_str()).into()),
            ("bucketArn", self.bucket_arn.to_expr()),
            ("inclusionPrefixes", Value::from(self.inclusion_prefixes.clone()).into()),
            ("bucketOwnerAccountId", Value::from(self.bucket_owner_account_id.clone()).into()),
            ("chunking", self.chunking.as_ref().map_or(Value::Null, chunking_value).into()),
            ("dataDeletionPolicy", Value::from(if self.retain_data_on_delete { "RETAIN" } else { "DELETE" }).into()),
        ])
    }
    fn outputs(urn: &Urn) -> DataSourceOutputs {
        DataSourceOutputs { id: Output::from_ref(urn, "id"), data_source_id: Output::from_ref(urn, "dataSourceId") }
    }
    fn validate(&self, c: &mut Checks) {
        kb_name(c, &self.name);
        description_check(c, &self.description);
        if let Some(arn) = self.bucket_arn.value() {
            let bucket = arn
                .strip_prefix("arn:aws:s3:::")
                .or_else(|| arn.strip_prefix("arn:").and_then(|r| r.split_once(":s3:::")).map(|(_, b)| b));
            c.check(bucket.is_some_and(|b| !b.is_empty() && !b.contains('/')), "bucketArn", || {
                format!("`{arn}` is not a bucket ARN (arn:aws:s3:::<bucket>)")
            });
        }
        c.check(self.inclusion_prefixes.len() <= 1, "inclusionPrefixes", || {
            format!("{} prefixes; AWS takes one", self.inclusion_prefixes.len())
        });
        for p in &self.inclusion_prefixes {
            c.check(!p.is_empty() && p.len() <= 300, "inclusionPrefixes", || format!("`{p}`: 1–300 characters"));
        }
        if let Some(a) = &self.bucket_owner_account_id {
            c.check(a.len() == 12 && a.chars().all(|ch| ch.is_ascii_digit()), "bucketOwnerAccountId", || {
                format!("`{a}` is not a 12-digit account id")
            });
        }
        match self.chunking {
            Some(Chunking::FixedSize { max_tokens, overlap_percentage }) => {
                c.check(max_tokens >= 1, "chunking", || format!("{max_tokens} tokens per chunk: at least 1"));
                c.check((1..=99).contains(&overlap_percentage), "chunking", || {
                    format!("an overlap of {overlap_percentage}%: between 1 and 99")
                });
            }
            Some(Chunking::Hierarchical { parent_max_tokens, child_max_tokens, overlap_tokens }) => {
                c.check(child_max_tokens >= 1, "chunking", || format!("{child_max_tokens} child tokens: at least 1"));
                c.check(parent_max_tokens >= child_max_tokens, "chunking", || {
                    format!("parent chunks ({parent_max_tokens} tokens) smaller than child chunks ({child_max_tokens})")
                });
                c.check(overlap_tokens >= 1, "chunking", || {
                    format!("an overlap of {overlap_tokens} tokens: at least 1")
                });
            }
            Some(Chunking::Semantic { max_tokens, buffer_size, breakpoint_percentile_threshold: t }) => {
                c.check(max_tokens >= 1, "chunking", || format!("{max_tokens} tokens per chunk: at least 1"));
                c.check((0..=1).contains(&buffer_size), "chunking", || format!("a buffer of {buffer_size}: 0 or 1"));
                c.check((50..=99).contains(&t), "chunking", || {
                    format!("a breakpoint percentile of {t}: between 50 and 99")
                });
            }
            Some(Chunking::None) | None => {}
        }
    }
}

fn ds_configuration(i: &In<'_>, op: &str) -> Result<DataSourceConfiguration, ProviderError> {
    let s3 = S3DataSourceConfiguration::builder()
        .bucket_arn(i.str("bucketArn")?)
        .set_inclusion_prefixes(Some(i.strs("inclusionPrefixes")).filter(|p| !p.is_empty()))
        .set_bucket_owner_account_id(i.opt_str("bucketOwnerAccountId").map(str::to_owned))
        .build()
        .map_err(build_err(op))?;
    DataSourceConfiguration::builder().r#type(DataSourceType::S3).s3_configuration(s3).build().map_err(build_err(op))
}

fn ingestion(i: &In<'_>, op: &str) -> Result<Option<VectorIngestionConfiguration>, ProviderError> {
    let c = i.value("chunking");
    let Some(strategy) = c.get("strategy").as_str() else { return Ok(None) };
    let n = |k: &str| c.get(k).as_i64().unwrap_or(0) as i32;
    let b = ChunkingConfiguration::builder().chunking_strategy(ChunkingStrategy::from(strategy));
    let chunking = match strategy {
        "FIXED_SIZE" => b.fixed_size_chunking_configuration(
            FixedSizeChunkingConfiguration::builder()
                .max_tokens(n("maxTokens"))
                .overlap_percentage(n("overlapPercentage"))
                .build()
                .map_err(build_err(op))?,
        ),
        "HIERARCHICAL" => {
            let level =
                |t: i32| HierarchicalChunkingLevelConfiguration::builder().max_tokens(t).build().map_err(build_err(op));
            b.hierarchical_chunking_configuration(
                HierarchicalChunkingConfiguration::builder()
                    .level_configurations(level(n("parentMaxTokens"))?)
                    .level_configurations(level(n("childMaxTokens"))?)
                    .overlap_tokens(n("overlapTokens"))
                    .build()
                    .map_err(build_err(op))?,
            )
        }
        "SEMANTIC" => b.semantic_chunking_configuration(
            SemanticChunkingConfiguration::builder()
                .max_tokens(n("maxTokens"))
                .buffer_size(n("bufferSize"))
                .breakpoint_percentile_threshold(n("breakpointPercentileThreshold"))
                .build()
                .map_err(build_err(op))?,
        ),
        _ => b,
    };
    Ok(Some(
        VectorIngestionConfiguration::builder()
            .chunking_configuration(chunking.build().map_err(build_err(op))?)
            .build(),
    ))
}

fn ds_values(d: &SdkDataSource, recorded: &Value) -> (Value, Value) {
    let s3 = d.data_source_configuration().and_then(|c| c.s3_configuration());
    let chunking =
        d.vector_ingestion_configuration().and_then(|v| v.chunking_configuration()).map_or(Value::Null, |c| {
            match c.chunking_strategy() {
                ChunkingStrategy::FixedSize => c.fixed_size_chunking_configuration().map_or(Value::Null, |f| {
                    chunking_value(&Chunking::FixedSize {
                        max_tokens: f.max_tokens(),
                        overlap_percentage: f.overlap_percentage(),
                    })
                }),
                ChunkingStrategy::Hierarchical => c.hierarchical_chunking_configuration().map_or(Value::Null, |h| {
                    let levels = h.level_configurations();
                    chunking_value(&Chunking::Hierarchical {
                        parent_max_tokens: levels.first().map_or(0, |l| l.max_tokens()),
                        child_max_tokens: levels.get(1).map_or(0, |l| l.max_tokens()),
                        overlap_tokens: h.overlap_tokens(),
                    })
                }),
                ChunkingStrategy::Semantic => c.semantic_chunking_configuration().map_or(Value::Null, |s| {
                    chunking_value(&Chunking::Semantic {
                        max_tokens: s.max_tokens(),
                        buffer_size: s.buffer_size(),
                        breakpoint_percentile_threshold: s.breakpoint_percentile_threshold(),
                    })
                }),
                ChunkingStrategy::None => chunking_value(&Chunking::None),
                other => map([("strategy", Value::from(other.as_str()))]),
            }
        });
    let mut inputs = map([
        ("knowledgeBaseId", Value::from(d.knowledge_base_id())),
        ("name", Value::from(d.name())),
        ("description", Value::from(d.description().unwrap_or_default())),
        ("bucketArn", Value::from(s3.map(|s| s.bucket_arn()))),
        ("inclusionPrefixes", Value::from(s3.map(|s| s.inclusion_prefixes().to_vec()).unwrap_or_default())),
        ("bucketOwnerAccountId", Value::from(s3.and_then(|s| s.bucket_owner_account_id()))),
        ("chunking", chunking),
        ("dataDeletionPolicy", Value::from(d.data_deletion_policy().map_or("DELETE", |p| p.as_str()))),
    ]);
    // Left unset, the chunking is AWS's default to report.
    drop_computed_when_unset(&mut inputs, recorded, &["chunking"]);
    (inputs, map([("dataSourceId", Value::from(d.data_source_id()))]))
}

async fn get_ds(p: &AwsProvider, kb: &str, id: &str) -> Result<Option<SdkDataSource>, ProviderError> {
    match p.bedrockagent().await.get_data_source().knowledge_base_id(kb).data_source_id(id).send().await {
        Ok(o) => Ok(o.data_source().cloned()),
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(None),
        Err(e) => Err(aws_err("GetDataSource", e)),
    }
}

/// Waits until the data source is `AVAILABLE`; a failed one is an error
/// with AWS's reasons.
async fn wait_ds_available(
    p: &AwsProvider,
    kb: &str,
    id: &str,
    timeout: Option<Duration>,
) -> Result<(), ProviderError> {
    wait_for(&format!("data source {id} available"), timeout, Duration::from_secs(10 * 60), || async {
        let Some(d) = get_ds(p, kb, id).await? else {
            return Err(ProviderError::retriable("GetDataSource", format!("data source {id} not visible yet")));
        };
        match d.status() {
            DataSourceStatus::Available => Ok(Some(())),
            DataSourceStatus::Failed => Err(ProviderError::fatal(
                "GetDataSource",
                format!("data source {id} failed: {}", d.failure_reasons().join("; ")),
            )),
            _ => Ok(None),
        }
    })
    .await
}

fn split_ds_id(id: &str) -> Option<(&str, &str)> {
    id.split_once('/')
}

pub(crate) struct DataSourceHandler;

#[async_trait]
impl Handler for DataSourceHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateDataSource";
        let i = In::new(&req.inputs, op);
        let kb = i.str("knowledgeBaseId")?;
        let out = p
            .bedrockagent()
            .await
            .create_data_source()
            .client_token(&req.idempotency_token)
            .knowledge_base_id(kb)
            .name(i.str("name")?)
            .set_description(description(&i))
            .data_source_configuration(ds_configuration(&i, op)?)
            .set_vector_ingestion_configuration(ingestion(&i, op)?)
            .data_deletion_policy(DataDeletionPolicy::from(i.opt_str("dataDeletionPolicy").unwrap_or("DELETE")))
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        let id = out
            .data_source()
            .map(|d| d.data_source_id().to_owned())
            .ok_or_else(|| ProviderError::fatal(op, "no data source returned"))?;
        wait_ds_available(p, kb, &id, req.timeout).await?;
        Ok(CreateResult { id: format!("{kb}/{id}"), outputs: map([("dataSourceId", Value::from(id.as_str()))]) })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some((kb, id)) = split_ds_id(&req.id) else { return Ok(None) };
        let Some(d) = get_ds(p, kb, id).await? else { return Ok(None) };
        if d.status() == &DataSourceStatus::Deleting {
            return Ok(None);
        }
        let (inputs, outputs) = ds_values(&d, &req.inputs);
        Ok(Some(ReadResult { id: req.id, inputs, outputs }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let op = "UpdateDataSource";
        let i = In::new(&req.inputs, op);
        let (kb, id) = split_ds_id(&req.id).ok_or_else(|| ProviderError::fatal(op, "malformed id"))?;
        // Every setting is sent again; the chunking cannot change, so it
        // is sent as it was.
        p.bedrockagent()
            .await
            .update_data_source()
            .knowledge_base_id(kb)
            .data_source_id(id)
            .name(i.str("name")?)
            .set_description(description(&i))
            .data_source_configuration(ds_configuration(&i, op)?)
            .set_vector_ingestion_configuration(ingestion(&i, op)?)
            .data_deletion_policy(DataDeletionPolicy::from(i.opt_str("dataDeletionPolicy").unwrap_or("DELETE")))
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        wait_ds_available(p, kb, id, req.timeout).await?;
        Ok(UpdateResult { outputs: req.old_outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let Some((kb, id)) = split_ds_id(&req.id) else { return Ok(()) };
        match p.bedrockagent().await.delete_data_source().knowledge_base_id(kb).data_source_id(id).send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(()),
            Err(e) => return Err(aws_err("DeleteDataSource", e)),
        }
        wait_for(&format!("data source {id} deleted"), req.timeout, Duration::from_secs(10 * 60), || async {
            match get_ds(p, kb, id).await? {
                None => Ok(Some(())),
                Some(d) if d.status() == &DataSourceStatus::DeleteUnsuccessful => Err(ProviderError::fatal(
                    "DeleteDataSource",
                    format!("data source {id} could not be deleted: {}", d.failure_reasons().join("; ")),
                )),
                Some(_) => Ok(None),
            }
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // Data sources take no tags. The knowledge base is this stack's
        // (found by its own tags), and within it a data source is adopted
        // by its name only when exactly one carries it.
        let i = In::new(&req.inputs, "");
        let (Some(kb), Some(name)) = (i.opt_str("knowledgeBaseId"), i.opt_str("name")) else { return Ok(None) };
        let ba = p.bedrockagent().await;
        let mut ids = Vec::new();
        let mut token = None;
        loop {
            let out = match ba.list_data_sources().knowledge_base_id(kb).set_next_token(token).send().await {
                Ok(o) => o,
                Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
                Err(e) => return Err(aws_err("ListDataSources", e)),
            };
            ids.extend(
                out.data_source_summaries()
                    .iter()
                    .filter(|s| s.name() == name && s.status() != &DataSourceStatus::Deleting)
                    .map(|s| s.data_source_id().to_owned())
                    // The old copy of a replace holds the same name: look past it.
                    .filter(|id| !req.is_known(&format!("{kb}/{id}"))),
            );
            match out.next_token() {
                Some(t) => token = Some(t.to_owned()),
                None => break,
            }
        }
        let [id] = ids.as_slice() else { return Ok(None) };
        let Some(d) = get_ds(p, kb, id).await? else { return Ok(None) };
        let (inputs, outputs) = ds_values(&d, &req.inputs);
        Ok(Some(ReadResult { id: format!("{kb}/{id}"), inputs, outputs }))
    }
}
