//! CloudWatch: metric alarms and dashboards.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, MetricAlarm as SdkAlarm, Statistic, Tag};
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use crate::batch_read::{by, by_id, read_batched, Chunk};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{list_expr, map, tags_value, tags_with_identity, unless_known, In, TAG_NAME, TAG_STACK};

pub(crate) const ALARM: &str = "aws:cloudwatch:MetricAlarm";
pub(crate) const DASHBOARD: &str = "aws:cloudwatch:Dashboard";

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    Some(match type_token {
        ALARM => &AlarmHandler,
        DASHBOARD => &DashboardHandler,
        _ => return None,
    })
}

/// Schema of [`MetricAlarm`]: the name is the identity.
pub static ALARM_SCHEMA: Schema =
    Schema { replace_on: &["name"], delete_before_replace: true, taggable: true, ..Schema::new(ALARM, "aws") };

/// Schema of [`Dashboard`]: the name is the identity.
pub static DASHBOARD_SCHEMA: Schema =
    Schema { replace_on: &["name"], delete_before_replace: true, ..Schema::new(DASHBOARD, "aws") };

/// How an alarm compares the statistic with its threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// `>`.
    GreaterThan,
    /// `>=`.
    GreaterThanOrEqual,
    /// `<`.
    LessThan,
    /// `<=`.
    LessThanOrEqual,
}

impl Comparison {
    fn as_str(self) -> &'static str {
        match self {
            Comparison::GreaterThan => "GreaterThanThreshold",
            Comparison::GreaterThanOrEqual => "GreaterThanOrEqualToThreshold",
            Comparison::LessThan => "LessThanThreshold",
            Comparison::LessThanOrEqual => "LessThanOrEqualToThreshold",
        }
    }
}

/// The statistic an alarm watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stat {
    /// Mean over the period.
    Average,
    /// Sum over the period.
    Sum,
    /// Smallest value.
    Minimum,
    /// Largest value.
    Maximum,
    /// Number of data points.
    SampleCount,
}

impl Stat {
    fn as_str(self) -> &'static str {
        match self {
            Stat::Average => "Average",
            Stat::Sum => "Sum",
            Stat::Minimum => "Minimum",
            Stat::Maximum => "Maximum",
            Stat::SampleCount => "SampleCount",
        }
    }
}

/// An alarm on one metric.
///
/// ```
/// use iac_aws::cloudwatch::{Comparison, MetricAlarm, Stat};
/// let cpu = MetricAlarm::builder()
///     .name("api-cpu-high")
///     .namespace("AWS/ECS")
///     .metric_name("CPUUtilization")
///     .dimensions(iac_aws::tags([("ClusterName", "prod"), ("ServiceName", "api")]))
///     .statistic(Stat::Average)
///     .period(60)
///     .evaluation_periods(3)
///     .threshold(80.0)
///     .comparison(Comparison::GreaterThan)
///     .alarm_actions(vec!["arn:aws:sns:us-east-1:123456789012:alarms".into()])
///     .build();
/// # let _ = cpu;
/// ```
#[derive(bon::Builder)]
pub struct MetricAlarm {
    /// The alarm's name (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// What it watches for.
    #[builder(into)]
    pub description: Option<String>,
    /// The metric's namespace (`AWS/ECS`).
    #[builder(into)]
    pub namespace: String,
    /// The metric (`CPUUtilization`).
    #[builder(into)]
    pub metric_name: String,
    /// The metric's dimensions.
    #[builder(default)]
    pub dimensions: BTreeMap<String, String>,
    /// The statistic.
    pub statistic: Stat,
    /// Seconds per data point: 10, 30 or a multiple of 60.
    pub period: i32,
    /// How many periods are evaluated.
    pub evaluation_periods: i32,
    /// How many of them must breach (default: all).
    pub datapoints_to_alarm: Option<i32>,
    /// The threshold.
    pub threshold: f64,
    /// How the statistic is compared with the threshold.
    pub comparison: Comparison,
    /// `missing`, `ignore`, `breaching` or `notBreaching` (default `missing`).
    #[builder(into, default = "missing")]
    pub treat_missing_data: String,
    /// What to notify when it fires (SNS topic ARNs, scaling policies).
    #[builder(default)]
    pub alarm_actions: Vec<Input<String>>,
    /// What to notify when it recovers.
    #[builder(default)]
    pub ok_actions: Vec<Input<String>>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`MetricAlarm`].
pub struct MetricAlarmOutputs {
    /// Its name (the resource's id).
    pub id: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
}

impl Resource for MetricAlarm {
    type Outputs = MetricAlarmOutputs;
    fn schema() -> &'static Schema {
        &ALARM_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("description", Value::from(self.description.clone()).into()),
            ("namespace", Value::from(self.namespace.as_str()).into()),
            ("metricName", Value::from(self.metric_name.as_str()).into()),
            ("dimensions", Value::from(self.dimensions.clone()).into()),
            ("statistic", Value::from(self.statistic.as_str()).into()),
            ("period", Value::from(i64::from(self.period)).into()),
            ("evaluationPeriods", Value::from(i64::from(self.evaluation_periods)).into()),
            ("datapointsToAlarm", Value::from(self.datapoints_to_alarm.map(i64::from)).into()),
            ("threshold", Value::from(self.threshold).into()),
            ("comparisonOperator", Value::from(self.comparison.as_str()).into()),
            ("treatMissingData", Value::from(self.treat_missing_data.as_str()).into()),
            ("alarmActions", list_expr(&self.alarm_actions)),
            ("okActions", list_expr(&self.ok_actions)),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> MetricAlarmOutputs {
        MetricAlarmOutputs { id: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
    fn validate(&self, c: &mut Checks) {
        crate::checks::name(c, "name", &self.name, 255, |ch| !ch.is_control(), "no control characters");
        let p = self.period;
        c.check(p == 10 || p == 30 || (p >= 60 && p % 60 == 0), "period", || {
            format!("{p} s: a period is 10, 30 or a multiple of 60 seconds")
        });
        c.check(self.evaluation_periods >= 1, "evaluationPeriods", || "at least 1".into());
        c.check(p.saturating_mul(self.evaluation_periods) <= 86_400 * 7, "evaluationPeriods", || {
            "period × evaluation periods may not exceed 7 days".into()
        });
        if let Some(d) = self.datapoints_to_alarm {
            c.check((1..=self.evaluation_periods).contains(&d), "datapointsToAlarm", || {
                format!("{d}: between 1 and evaluationPeriods ({})", self.evaluation_periods)
            });
        }
        c.check(
            ["missing", "ignore", "breaching", "notBreaching"].contains(&self.treat_missing_data.as_str()),
            "treatMissingData",
            || format!("`{}`: missing, ignore, breaching or notBreaching", self.treat_missing_data),
        );
        c.check(self.dimensions.len() <= 30, "dimensions", || "at most 30 dimensions".into());
    }
}

async fn put_alarm(p: &AwsProvider, i: In<'_>, tags: Option<Vec<Tag>>) -> Result<(), ProviderError> {
    let dims: Vec<Dimension> = i
        .json("dimensions")
        .and_then(|j| serde_json::from_value::<BTreeMap<String, String>>(j).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| Dimension::builder().name(k).value(v).build())
        .collect();
    let threshold = match i.json("threshold") {
        Some(serde_json::Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        _ => 0.0,
    };
    p.cloudwatch()
        .await
        .put_metric_alarm()
        .alarm_name(i.str("name")?)
        .set_alarm_description(i.opt_str("description").map(str::to_owned))
        .namespace(i.str("namespace")?)
        .metric_name(i.str("metricName")?)
        .set_dimensions(Some(dims))
        .statistic(Statistic::from(i.str("statistic")?))
        .period(i.opt_i32("period").unwrap_or(60))
        .evaluation_periods(i.opt_i32("evaluationPeriods").unwrap_or(1))
        .set_datapoints_to_alarm(i.opt_i32("datapointsToAlarm"))
        .threshold(threshold)
        .comparison_operator(ComparisonOperator::from(i.str("comparisonOperator")?))
        .treat_missing_data(i.opt_str("treatMissingData").unwrap_or("missing"))
        .set_alarm_actions(Some(i.strs("alarmActions")))
        .set_ok_actions(Some(i.strs("okActions")))
        .set_tags(tags)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_err("PutMetricAlarm", e))
}

async fn describe_alarm(p: &AwsProvider, name: &str) -> Result<Option<(Value, Value)>, ProviderError> {
    let cw = p.cloudwatch().await;
    let out = cw.describe_alarms().alarm_names(name).send().await.map_err(|e| aws_err("DescribeAlarms", e))?;
    let Some(a) = out.metric_alarms().iter().find(|a| a.alarm_name() == Some(name)) else { return Ok(None) };
    alarm_values(p, a).await
}

/// Up to a hundred alarms in one call (`DescribeAlarms`' limit on names);
/// a name that is not an alarm is not answered.
async fn describe_alarms(p: &AwsProvider, names: Vec<String>) -> Result<Chunk<SdkAlarm>, ProviderError> {
    let out = p
        .cloudwatch()
        .await
        .describe_alarms()
        .set_alarm_names(Some(names))
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| aws_err("DescribeAlarms", e))?;
    Ok(by(out.iter().flat_map(|page| page.metric_alarms().iter().cloned()), |a| a.alarm_name()))
}

/// An alarm's inputs and outputs: its tags are a call of their own (AWS
/// describes no alarm's tags with it).
async fn alarm_values(p: &AwsProvider, a: &SdkAlarm) -> Result<Option<(Value, Value)>, ProviderError> {
    let cw = p.cloudwatch().await;
    let arn = a.alarm_arn().unwrap_or_default();
    let tags = match p.indexed_tags(arn) {
        Some(tags) => cw_tags(&tags),
        None => match cw.list_tags_for_resource().resource_arn(arn).send().await {
            Ok(t) => t.tags().to_vec(),
            Err(e) if is_code(&e, &["ResourceNotFound", "ResourceNotFoundException"]) => return Ok(None),
            Err(e) => return Err(aws_err("ListTagsForResource", e)),
        },
    };
    let dims: BTreeMap<String, String> =
        a.dimensions().iter().filter_map(|d| Some((d.name()?.to_owned(), d.value()?.to_owned()))).collect();
    let inputs = map([
        ("name", Value::from(a.alarm_name())),
        ("description", Value::from(a.alarm_description().filter(|d| !d.is_empty()))),
        ("namespace", Value::from(a.namespace())),
        ("metricName", Value::from(a.metric_name())),
        ("dimensions", Value::from(dims)),
        ("statistic", Value::from(a.statistic().map(|s| s.as_str()))),
        ("period", Value::from(a.period().map(i64::from))),
        ("evaluationPeriods", Value::from(a.evaluation_periods().map(i64::from))),
        ("datapointsToAlarm", Value::from(a.datapoints_to_alarm().map(i64::from))),
        ("threshold", Value::from(a.threshold())),
        ("comparisonOperator", Value::from(a.comparison_operator().map(|c| c.as_str()))),
        ("treatMissingData", Value::from(a.treat_missing_data().unwrap_or("missing"))),
        ("alarmActions", Value::from(a.alarm_actions().to_vec())),
        ("okActions", Value::from(a.ok_actions().to_vec())),
        ("tags", tags_value(tags.iter().filter_map(|t| Some((t.key()?, t.value()?))))),
    ]);
    Ok(Some((inputs, map([("arn", Value::from(arn))]))))
}

fn cw_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

pub(crate) struct AlarmHandler;

#[async_trait]
impl Handler for AlarmHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "PutMetricAlarm");
        put_alarm(p, i, Some(cw_tags(&tags_with_identity(&req.inputs, &req.stack, &req.urn)))).await?;
        let name = i.str("name")?;
        let (_, outputs) = describe_alarm(p, name)
            .await?
            .ok_or_else(|| ProviderError::retriable("DescribeAlarms", "the new alarm is not visible yet"))?;
        Ok(CreateResult { id: name.to_owned(), outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe_alarm(p, &req.id).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn read_many(
        &self,
        p: &AwsProvider,
        reqs: Vec<ReadRequest>,
    ) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        read_batched(
            reqs,
            100,
            by_id,
            |_, names| describe_alarms(p, names),
            |req, a| async move {
                Ok(alarm_values(p, &a).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
            },
            |req| self.read(p, req),
        )
        .await
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, ""), In::new(&req.inputs, "PutMetricAlarm"));
        // PutMetricAlarm replaces the whole definition; tags go separately.
        put_alarm(p, new, None).await?;
        let cw = p.cloudwatch().await;
        let arn = In::new(&req.old_outputs, "TagResource").str("arn")?.to_owned();
        if req.changed.iter().any(|k| k == "tags") {
            let (was, now) = (old.tags(), new.tags());
            let removed: Vec<String> = was.keys().filter(|k| !now.contains_key(*k)).cloned().collect();
            if !removed.is_empty() {
                cw.untag_resource()
                    .resource_arn(&arn)
                    .set_tag_keys(Some(removed))
                    .send()
                    .await
                    .map_err(|e| aws_err("UntagResource", e))?;
            }
            let added: BTreeMap<String, String> = now.into_iter().filter(|(k, v)| was.get(k) != Some(v)).collect();
            if !added.is_empty() {
                cw.tag_resource()
                    .resource_arn(&arn)
                    .set_tags(Some(cw_tags(&added)))
                    .send()
                    .await
                    .map_err(|e| aws_err("TagResource", e))?;
            }
        }
        Ok(UpdateResult { outputs: map([("arn", Value::from(arn))]) })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.cloudwatch().await.delete_alarms().alarm_names(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ResourceNotFound"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteAlarms", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let Some((inputs, outputs)) = describe_alarm(p, name).await? else { return Ok(None) };
        // Adopt only an alarm this stack made for this resource.
        let arn = outputs.get("arn").as_str().unwrap_or_default();
        let tags = p
            .cloudwatch()
            .await
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| aws_err("ListTagsForResource", e))?;
        let get = |k: &str| tags.tags().iter().find(|t| t.key() == Some(k)).and_then(|t| t.value());
        if get(TAG_STACK) != Some(req.stack.as_str()) || get(TAG_NAME) != Some(req.urn.as_str()) {
            return Ok(None);
        }
        Ok(unless_known(&req, Some(ReadResult { id: name.to_owned(), inputs, outputs })))
    }
}

/// One line of a metric widget: namespace, metric name, and dimension
/// name/value pairs.
pub type MetricLine = (String, String, Vec<(String, String)>);

/// One widget of a [`Dashboard`].
#[derive(Clone, Debug)]
pub enum Widget {
    /// A graph of metrics.
    Metric {
        /// The graph's title.
        title: String,
        /// Each line: namespace, metric name, and dimension pairs.
        metrics: Vec<MetricLine>,
        /// The statistic.
        stat: Stat,
        /// Seconds per point.
        period: i32,
        /// The metrics' region.
        region: String,
        /// Grid width (1–24).
        width: i32,
        /// Grid height.
        height: i32,
    },
    /// Markdown text.
    Text {
        /// The markdown.
        markdown: String,
        /// Grid width (1–24).
        width: i32,
        /// Grid height.
        height: i32,
    },
}

impl Widget {
    fn to_json(&self, x: i32, y: i32) -> serde_json::Value {
        match self {
            Widget::Metric { title, metrics, stat, period, region, width, height } => {
                let lines: Vec<serde_json::Value> = metrics
                    .iter()
                    .map(|(ns, name, dims)| {
                        let mut line = vec![serde_json::json!(ns), serde_json::json!(name)];
                        for (k, v) in dims {
                            line.push(k.as_str().into());
                            line.push(v.as_str().into());
                        }
                        serde_json::Value::Array(line)
                    })
                    .collect();
                serde_json::json!({
                    "type": "metric", "x": x, "y": y, "width": width, "height": height,
                    "properties": {
                        "title": title, "metrics": lines, "stat": stat.as_str(),
                        "period": period, "region": region, "view": "timeSeries",
                    },
                })
            }
            Widget::Text { markdown, width, height } => serde_json::json!({
                "type": "text", "x": x, "y": y, "width": width, "height": height,
                "properties": { "markdown": markdown },
            }),
        }
    }

    fn size(&self) -> (i32, i32) {
        match self {
            Widget::Metric { width, height, .. } | Widget::Text { width, height, .. } => (*width, *height),
        }
    }
}

/// A dashboard: widgets laid out left to right, wrapping at 24 columns.
///
/// Dashboards take no tags, so after a crash one is adopted by its name;
/// `PutDashboard` overwrites by name, so a retried create cannot make two.
///
/// ```
/// use iac_aws::cloudwatch::{Dashboard, Stat, Widget};
/// let board = Dashboard::builder()
///     .name("platform")
///     .widgets(vec![
///         Widget::Text { markdown: "# Platform".into(), width: 24, height: 1 },
///         Widget::Metric {
///             title: "API CPU".into(),
///             metrics: vec![("AWS/ECS".into(), "CPUUtilization".into(), vec![("ServiceName".into(), "api".into())])],
///             stat: Stat::Average,
///             period: 300,
///             region: "us-east-1".into(),
///             width: 12,
///             height: 6,
///         },
///     ])
///     .build();
/// # let _ = board;
/// ```
#[derive(bon::Builder)]
pub struct Dashboard {
    /// The dashboard's name (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// The widgets, in reading order.
    pub widgets: Vec<Widget>,
}

/// Outputs of a [`Dashboard`].
pub struct DashboardOutputs {
    /// Its name (the resource's id).
    pub id: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
}

impl Dashboard {
    /// The dashboard body AWS takes.
    pub fn body(&self) -> serde_json::Value {
        let (mut x, mut y, mut row) = (0, 0, 0);
        let widgets: Vec<_> = self
            .widgets
            .iter()
            .map(|w| {
                let (width, height) = w.size();
                if x + width > 24 {
                    x = 0;
                    y += row;
                    row = 0;
                }
                let j = w.to_json(x, y);
                x += width;
                row = row.max(height);
                j
            })
            .collect();
        serde_json::json!({ "widgets": widgets })
    }
}

impl Resource for Dashboard {
    type Outputs = DashboardOutputs;
    fn schema() -> &'static Schema {
        &DASHBOARD_SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([("name", Value::from(self.name.as_str()).into()), ("body", Value::from_json(&self.body()).into())])
    }
    fn outputs(urn: &Urn) -> DashboardOutputs {
        DashboardOutputs { id: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
    fn validate(&self, c: &mut Checks) {
        crate::checks::name(
            c,
            "name",
            &self.name,
            255,
            |ch| ch.is_ascii_alphanumeric() || "_-".contains(ch),
            "letters, digits, _ and - only",
        );
        c.check(!self.widgets.is_empty(), "widgets", || "a dashboard needs at least one widget".into());
        for (n, w) in self.widgets.iter().enumerate() {
            let (width, height) = w.size();
            c.check((1..=24).contains(&width) && (1..=1000).contains(&height), &format!("widgets[{n}]"), || {
                format!("size {width}×{height}: width 1–24, height 1–1000")
            });
            if let Widget::Metric { metrics, period, .. } = w {
                c.check(!metrics.is_empty(), &format!("widgets[{n}]"), || "a metric widget needs a metric".into());
                c.check(
                    *period == 1 || *period == 5 || *period == 10 || *period == 30 || period % 60 == 0,
                    &format!("widgets[{n}]"),
                    || format!("{period} s is not a CloudWatch period"),
                );
            }
        }
    }
}

async fn describe_dashboard(p: &AwsProvider, name: &str) -> Result<Option<(Value, Value)>, ProviderError> {
    let out = match p.cloudwatch().await.get_dashboard().dashboard_name(name).send().await {
        Ok(o) => o,
        Err(e) if is_code(&e, &["ResourceNotFound", "ResourceNotFoundException"]) => return Ok(None),
        Err(e) => return Err(aws_err("GetDashboard", e)),
    };
    let body = out
        .dashboard_body()
        .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
        .map_or(Value::Null, |j| Value::from_json(&j));
    let inputs = map([("name", Value::from(out.dashboard_name())), ("body", body)]);
    Ok(Some((inputs, map([("arn", Value::from(out.dashboard_arn()))]))))
}

async fn put_dashboard(p: &AwsProvider, i: In<'_>) -> Result<(), ProviderError> {
    let body = i.json("body").map(|b| b.to_string()).unwrap_or_default();
    let out = p
        .cloudwatch()
        .await
        .put_dashboard()
        .dashboard_name(i.str("name")?)
        .dashboard_body(body)
        .send()
        .await
        .map_err(|e| aws_err("PutDashboard", e))?;
    match out.dashboard_validation_messages().first() {
        Some(m) => {
            Err(ProviderError::fatal("PutDashboard", m.message().unwrap_or("invalid dashboard body").to_owned()))
        }
        None => Ok(()),
    }
}

pub(crate) struct DashboardHandler;

#[async_trait]
impl Handler for DashboardHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "PutDashboard");
        put_dashboard(p, i).await?;
        let name = i.str("name")?;
        let outputs = describe_dashboard(p, name).await?.map(|(_, o)| o).unwrap_or_else(Value::map);
        Ok(CreateResult { id: name.to_owned(), outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe_dashboard(p, &req.id).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        put_dashboard(p, In::new(&req.inputs, "PutDashboard")).await?;
        let outputs = describe_dashboard(p, &req.id).await?.map(|(_, o)| o).unwrap_or_else(Value::map);
        Ok(UpdateResult { outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.cloudwatch().await.delete_dashboards().dashboard_names(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ResourceNotFound", "ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteDashboards", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some(name) = In::new(&req.inputs, "").opt_str("name") else { return Ok(None) };
        let found = describe_dashboard(p, name).await?.map(|(inputs, outputs)| ReadResult {
            id: name.to_owned(),
            inputs,
            outputs,
        });
        Ok(unless_known(&req, found))
    }
}
