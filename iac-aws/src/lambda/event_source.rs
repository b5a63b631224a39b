//! `EventSourceMapping`: Lambda polling a stream or queue (Kinesis,
//! DynamoDB Streams, SQS, MSK) and invoking a function with batches of
//! records.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_lambda::operation::get_event_source_mapping::GetEventSourceMappingOutput;
use aws_sdk_lambda::types::{
    DestinationConfig, EventSourcePosition, Filter, FilterCriteria, FunctionResponseType, OnFailure,
};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::idempotency::NoSdkRetry;
use crate::provider::AwsProvider;
use crate::util::{drop_computed_when_unset, map, opt_expr, wait_for, In};

pub(crate) const TYPE: &str = "aws:lambda:EventSourceMapping";

/// Schema: the source and where reading starts are fixed; the function,
/// batching, filters, retries and the on-failure destination update in
/// place.
pub static SCHEMA: Schema = Schema {
    replace_on: &["eventSourceArn", "startingPosition"],
    // AWS refuses a second mapping of one function to one source.
    delete_before_replace: true,
    ..Schema::new(TYPE, "aws")
};

/// Where a stream source starts reading a new mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartingPosition {
    /// The oldest record still in the stream.
    TrimHorizon,
    /// Only records written from now on.
    Latest,
}

impl StartingPosition {
    fn as_str(self) -> &'static str {
        match self {
            StartingPosition::TrimHorizon => "TRIM_HORIZON",
            StartingPosition::Latest => "LATEST",
        }
    }
}

/// Lambda reading a Kinesis or DynamoDB stream, an SQS queue or an MSK
/// topic, and invoking a function with each batch.
///
/// ```
/// use iac_aws::lambda::{EventSourceMapping, StartingPosition};
/// let prices = EventSourceMapping::builder()
///     .function("price-consumer")
///     .event_source_arn("arn:aws:kinesis:us-east-1:123456789012:stream/prices")
///     .starting_position(StartingPosition::Latest)
///     .batch_size(500)
///     .maximum_batching_window_in_seconds(5)
///     .filter_patterns(vec![serde_json::json!({"data": {"symbol": ["BTC"]}})])
///     .build();
/// # let _ = prices;
/// ```
#[derive(bon::Builder)]
pub struct EventSourceMapping {
    /// The function (name or ARN, optionally with an alias).
    #[builder(into)]
    pub function: Input<String>,
    /// The stream, queue or cluster ARN.
    #[builder(into)]
    pub event_source_arn: Input<String>,
    /// Where a stream starts (required for Kinesis, DynamoDB and MSK; not
    /// allowed for SQS).
    pub starting_position: Option<StartingPosition>,
    /// Whether Lambda polls (true).
    #[builder(default = true)]
    pub enabled: bool,
    /// Records per batch (AWS's default: 100 for streams, 10 for SQS).
    pub batch_size: Option<i32>,
    /// How long Lambda gathers records before invoking (0–300 s).
    pub maximum_batching_window_in_seconds: Option<i32>,
    /// Concurrent batches per stream shard (1–10).
    pub parallelization_factor: Option<i32>,
    /// Retries of a failing stream batch (-1 = until it expires, 0–10000).
    pub maximum_retry_attempts: Option<i32>,
    /// Oldest record a stream batch may carry (-1 = no limit, 60–604800 s).
    pub maximum_record_age_in_seconds: Option<i32>,
    /// Split a failing stream batch in two and retry each half.
    #[builder(default)]
    pub bisect_batch_on_function_error: bool,
    /// Let the function report which records failed
    /// (`ReportBatchItemFailures`).
    #[builder(default)]
    pub report_batch_item_failures: bool,
    /// Event patterns (JSON); only matching records are delivered.
    #[builder(default)]
    pub filter_patterns: Vec<serde_json::Value>,
    /// Where a stream batch that failed for good is sent (an SQS queue or
    /// SNS topic ARN).
    #[builder(into)]
    pub on_failure_destination: Option<Input<String>>,
}

/// Outputs of an [`EventSourceMapping`].
pub struct EventSourceMappingOutputs {
    /// The mapping's UUID (the resource's id).
    pub uuid: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
    /// The function's ARN as Lambda resolved it.
    pub function_arn: Output<String>,
}

impl Resource for EventSourceMapping {
    type Outputs = EventSourceMappingOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        let patterns: Vec<Value> = self.filter_patterns.iter().map(|p| Value::from(p.to_string())).collect();
        props([
            ("function", self.function.to_expr()),
            ("eventSourceArn", self.event_source_arn.to_expr()),
            ("startingPosition", Value::from(self.starting_position.map(StartingPosition::as_str)).into()),
            ("enabled", Value::from(self.enabled).into()),
            ("batchSize", Value::from(self.batch_size.map(i64::from)).into()),
            (
                "maximumBatchingWindowInSeconds",
                Value::from(self.maximum_batching_window_in_seconds.map(i64::from)).into(),
            ),
            ("parallelizationFactor", Value::from(self.parallelization_factor.map(i64::from)).into()),
            ("maximumRetryAttempts", Value::from(self.maximum_retry_attempts.map(i64::from)).into()),
            ("maximumRecordAgeInSeconds", Value::from(self.maximum_record_age_in_seconds.map(i64::from)).into()),
            ("bisectBatchOnFunctionError", Value::from(self.bisect_batch_on_function_error).into()),
            ("reportBatchItemFailures", Value::from(self.report_batch_item_failures).into()),
            ("filterPatterns", Value::List(patterns).into()),
            ("onFailureDestination", opt_expr(self.on_failure_destination.as_ref())),
        ])
    }
    fn outputs(urn: &Urn) -> EventSourceMappingOutputs {
        EventSourceMappingOutputs {
            uuid: Output::from_ref(urn, "id"),
            arn: Output::from_ref(urn, "arn"),
            function_arn: Output::from_ref(urn, "functionArn"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        let range = |c: &mut Checks, field: &str, v: Option<i32>, lo: i32, hi: i32| {
            if let Some(v) = v {
                c.check((lo..=hi).contains(&v), field, || format!("{v} is outside {lo}–{hi}"));
            }
        };
        range(c, "batchSize", self.batch_size, 1, 10_000);
        range(c, "maximumBatchingWindowInSeconds", self.maximum_batching_window_in_seconds, 0, 300);
        range(c, "parallelizationFactor", self.parallelization_factor, 1, 10);
        range(c, "maximumRetryAttempts", self.maximum_retry_attempts, -1, 10_000);
        if let Some(age) = self.maximum_record_age_in_seconds {
            c.check(age == -1 || (60..=604_800).contains(&age), "maximumRecordAgeInSeconds", || {
                format!("{age} is neither -1 (no limit) nor within 60–604800")
            });
        }
        for (n, p) in self.filter_patterns.iter().enumerate() {
            c.check(p.is_object(), "filterPatterns", || format!("pattern {n} is not a JSON object: {p}"));
        }
        c.check(self.filter_patterns.len() <= 5, "filterPatterns", || {
            format!("{} patterns; at most 5", self.filter_patterns.len())
        });
        // The source's kind is known at preview only when the ARN is.
        if let Some(arn) = self.event_source_arn.value() {
            let service = arn.split(':').nth(2).unwrap_or_default();
            let stream = matches!(service, "kinesis" | "dynamodb" | "kafka");
            c.check(matches!(service, "kinesis" | "dynamodb" | "kafka" | "sqs"), "eventSourceArn", || {
                format!("`{arn}` is not a Kinesis stream, DynamoDB stream, SQS queue or MSK cluster ARN")
            });
            if service == "sqs" {
                c.check(self.starting_position.is_none(), "startingPosition", || {
                    "an SQS queue has no starting position".into()
                });
                let stream_only = [
                    ("parallelizationFactor", self.parallelization_factor.is_some()),
                    ("maximumRetryAttempts", self.maximum_retry_attempts.is_some()),
                    ("maximumRecordAgeInSeconds", self.maximum_record_age_in_seconds.is_some()),
                    ("bisectBatchOnFunctionError", self.bisect_batch_on_function_error),
                    ("onFailureDestination", self.on_failure_destination.is_some()),
                ];
                for (field, set) in stream_only {
                    c.check(!set, field, || "applies to stream sources only, not to an SQS queue".into());
                }
            } else if stream {
                c.check(self.starting_position.is_some(), "startingPosition", || {
                    "a stream source needs a starting position (TrimHorizon or Latest)".into()
                });
            }
        }
    }
}

fn filter_criteria(i: &In) -> Option<FilterCriteria> {
    let patterns: Vec<Filter> =
        i.strs("filterPatterns").into_iter().map(|p| Filter::builder().pattern(p).build()).collect();
    Some(FilterCriteria::builder().set_filters(Some(patterns)).build())
}

fn destination(i: &In) -> DestinationConfig {
    DestinationConfig::builder()
        .on_failure(OnFailure::builder().set_destination(i.opt_str("onFailureDestination").map(str::to_owned)).build())
        .build()
}

fn response_types(i: &In) -> Vec<FunctionResponseType> {
    if i.bool("reportBatchItemFailures") {
        vec![FunctionResponseType::ReportBatchItemFailures]
    } else {
        Vec::new()
    }
}

/// The recorded function as the user wrote it when AWS's ARN names it.
fn function_like(arn: &str, recorded: &Value) -> String {
    match recorded.get("function").as_str() {
        Some(f) if f == arn || arn.ends_with(&format!(":function:{f}")) => f.to_owned(),
        _ => arn.to_owned(),
    }
}

/// Patterns compared as JSON, so AWS's re-serialisation is not a change.
fn patterns_like(read: Vec<String>, recorded: &Value) -> Value {
    let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
    let rec: Vec<String> = recorded
        .get("filterPatterns")
        .as_list()
        .map(|l| l.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let same =
        rec.len() == read.len() && rec.iter().zip(&read).all(|(a, b)| parse(a).is_some() && parse(a) == parse(b));
    Value::from(if same { rec } else { read })
}

fn values(m: &GetEventSourceMappingOutput, recorded: &Value) -> (Value, Value) {
    let function_arn = m.function_arn().unwrap_or_default();
    let patterns: Vec<String> = m
        .filter_criteria()
        .map(|f| f.filters().iter().filter_map(|f| f.pattern().map(str::to_owned)).collect())
        .unwrap_or_default();
    let state = m.state().unwrap_or_default();
    let mut inputs = map([
        ("function", Value::from(function_like(function_arn, recorded))),
        ("eventSourceArn", Value::from(m.event_source_arn())),
        ("startingPosition", Value::from(m.starting_position().map(|p| p.as_str()))),
        ("enabled", Value::from(matches!(state, "Enabled" | "Enabling" | "Creating" | "Updating"))),
        ("batchSize", Value::from(m.batch_size().map(i64::from))),
        ("maximumBatchingWindowInSeconds", Value::from(m.maximum_batching_window_in_seconds().map(i64::from))),
        ("parallelizationFactor", Value::from(m.parallelization_factor().map(i64::from))),
        ("maximumRetryAttempts", Value::from(m.maximum_retry_attempts().map(i64::from))),
        ("maximumRecordAgeInSeconds", Value::from(m.maximum_record_age_in_seconds().map(i64::from))),
        ("bisectBatchOnFunctionError", Value::from(m.bisect_batch_on_function_error().unwrap_or(false))),
        (
            "reportBatchItemFailures",
            Value::from(m.function_response_types().contains(&FunctionResponseType::ReportBatchItemFailures)),
        ),
        ("filterPatterns", patterns_like(patterns, recorded)),
        (
            "onFailureDestination",
            Value::from(m.destination_config().and_then(|d| d.on_failure()).and_then(|o| o.destination())),
        ),
    ]);
    // AWS fills in its defaults for what the user left unset.
    drop_computed_when_unset(
        &mut inputs,
        recorded,
        &[
            "batchSize",
            "maximumBatchingWindowInSeconds",
            "parallelizationFactor",
            "maximumRetryAttempts",
            "maximumRecordAgeInSeconds",
            "startingPosition",
        ],
    );
    let outputs = map([
        ("arn", Value::from(m.event_source_mapping_arn())),
        ("functionArn", Value::from(function_arn)),
        ("state", Value::from(state)),
    ]);
    (inputs, outputs)
}

async fn describe(p: &AwsProvider, uuid: &str) -> Result<Option<GetEventSourceMappingOutput>, ProviderError> {
    match p.lambda().await.get_event_source_mapping().uuid(uuid).send().await {
        Ok(m) if m.state() == Some("Deleting") => Ok(None),
        Ok(m) => Ok(Some(m)),
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(None),
        Err(e) => Err(aws_err("GetEventSourceMapping", e)),
    }
}

/// Waits until the mapping has settled in `Enabled` or `Disabled`.
async fn wait_settled(
    p: &AwsProvider,
    uuid: &str,
    timeout: Option<Duration>,
) -> Result<GetEventSourceMappingOutput, ProviderError> {
    wait_for(&format!("event source mapping {uuid} settled"), timeout, Duration::from_secs(10 * 60), || async {
        let m = describe(p, uuid)
            .await?
            .ok_or_else(|| ProviderError::fatal("GetEventSourceMapping", format!("{uuid} is gone")))?;
        Ok(matches!(m.state(), Some("Enabled" | "Disabled") | None).then_some(m))
    })
    .await
}

pub(crate) struct EventSourceMappingHandler;

#[async_trait]
impl Handler for EventSourceMappingHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let op = "CreateEventSourceMapping";
        let i = In::new(&req.inputs, op);
        let out = p
            .lambda()
            .await
            .create_event_source_mapping()
            .function_name(i.str("function")?)
            .event_source_arn(i.str("eventSourceArn")?)
            .set_starting_position(i.opt_str("startingPosition").map(EventSourcePosition::from))
            .enabled(i.bool("enabled"))
            .set_batch_size(i.opt_i32("batchSize"))
            .set_maximum_batching_window_in_seconds(i.opt_i32("maximumBatchingWindowInSeconds"))
            .set_parallelization_factor(i.opt_i32("parallelizationFactor"))
            .set_maximum_retry_attempts(i.opt_i32("maximumRetryAttempts"))
            .set_maximum_record_age_in_seconds(i.opt_i32("maximumRecordAgeInSeconds"))
            .set_bisect_batch_on_function_error(i.bool("bisectBatchOnFunctionError").then_some(true))
            .set_function_response_types(Some(response_types(&i)).filter(|t| !t.is_empty()))
            .set_filter_criteria(filter_criteria(&i).filter(|f| !f.filters().is_empty()))
            .set_destination_config(i.opt_str("onFailureDestination").is_some().then(|| destination(&i)))
            .customize()
            .no_sdk_retry()
            .send()
            .await
            .map_err(|e| aws_err(op, e))?;
        let uuid = out.uuid().unwrap_or_default().to_owned();
        let m = wait_settled(p, &uuid, req.timeout).await?;
        Ok(CreateResult { id: uuid, outputs: values(&m, &req.inputs).1 })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id).await?.map(|m| {
            let (inputs, outputs) = values(&m, &req.inputs);
            ReadResult { id: req.id, inputs, outputs }
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let op = "UpdateEventSourceMapping";
        let i = In::new(&req.inputs, op);
        let stream = !i.str("eventSourceArn")?.starts_with("arn:aws:sqs:");
        let mut call = p
            .lambda()
            .await
            .update_event_source_mapping()
            .uuid(&req.id)
            .function_name(i.str("function")?)
            .enabled(i.bool("enabled"))
            .set_batch_size(i.opt_i32("batchSize"))
            .set_maximum_batching_window_in_seconds(i.opt_i32("maximumBatchingWindowInSeconds"))
            // An empty list clears what was there.
            .set_function_response_types(Some(response_types(&i)))
            .set_filter_criteria(filter_criteria(&i));
        if stream {
            call = call
                .set_parallelization_factor(i.opt_i32("parallelizationFactor"))
                .set_maximum_retry_attempts(i.opt_i32("maximumRetryAttempts"))
                .set_maximum_record_age_in_seconds(i.opt_i32("maximumRecordAgeInSeconds"))
                .bisect_batch_on_function_error(i.bool("bisectBatchOnFunctionError"))
                .destination_config(destination(&i));
        }
        call.send().await.map_err(|e| aws_err(op, e))?;
        let m = wait_settled(p, &req.id, req.timeout).await?;
        Ok(UpdateResult { outputs: values(&m, &req.inputs).1 })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.lambda().await.delete_event_source_mapping().uuid(&req.id).send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(()),
            Err(e) => return Err(aws_err("DeleteEventSourceMapping", e)),
        }
        let uuid = req.id.as_str();
        wait_for(&format!("event source mapping {uuid} deleted"), req.timeout, Duration::from_secs(10 * 60), || async {
            Ok(describe(p, uuid).await?.is_none().then_some(()))
        })
        .await
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // One mapping per function and source (AWS refuses a second), so
        // the pair identifies it without tags.
        let i = In::new(&req.inputs, "");
        let (Some(function), Some(source)) = (i.opt_str("function"), i.opt_str("eventSourceArn")) else {
            return Ok(None);
        };
        let list = match p
            .lambda()
            .await
            .list_event_source_mappings()
            .function_name(function)
            .event_source_arn(source)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
        {
            Ok(l) => l,
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
            Err(e) => return Err(aws_err("ListEventSourceMappings", e)),
        };
        // The old copy of a replace may still be listed (being deleted).
        let Some(uuid) = req.first_unknown(list.iter().filter_map(|m| m.uuid())) else { return Ok(None) };
        Ok(describe(p, uuid).await?.map(|m| {
            let (inputs, outputs) = values(&m, &req.inputs);
            ReadResult { id: uuid.to_owned(), inputs, outputs }
        }))
    }
}
