//! `Monitoring`: an SNS topic for alerts (with an optional e-mail
//! subscriber), CloudWatch alarms that notify it, and a dashboard graphing
//! what the alarms watch.

use std::collections::BTreeMap;

use iac_aws::cloudwatch::{Comparison, Dashboard, MetricAlarm, Stat, Widget};
use iac_aws::sns::{Subscription, Topic};
use iac_core::{Output, Stack};

/// One alarm: `metric` of `namespace` (with `dimensions`), its `stat` over
/// `period` seconds, beyond `threshold` (above it, or below it for
/// [`Alarm::below`]) for `evaluation_periods` periods.
#[derive(Clone, Debug)]
pub struct Alarm {
    /// The alarm's name (unique in the account and region).
    pub name: String,
    /// What it means when it fires.
    pub description: String,
    /// The metric's namespace (`AWS/ECS`).
    pub namespace: String,
    /// The metric (`CPUUtilization`).
    pub metric: String,
    /// Its dimensions.
    pub dimensions: BTreeMap<String, String>,
    /// The statistic.
    pub stat: Stat,
    /// Seconds per period.
    pub period: i32,
    /// Periods over the threshold before it fires.
    pub evaluation_periods: i32,
    /// The threshold.
    pub threshold: f64,
    /// How the metric compares with the threshold when the alarm fires
    /// (`GreaterThan` for [`Alarm::above`], `LessThan` for
    /// [`Alarm::below`]).
    pub comparison: Comparison,
}

impl Alarm {
    /// An alarm firing when `stat(metric) > threshold` for `minutes`
    /// minutes, evaluated in 5-minute periods (1-minute ones when `minutes`
    /// is under 5).
    pub fn above(
        name: impl Into<String>,
        description: impl Into<String>,
        (namespace, metric): (&str, &str),
        dimensions: &[(&str, &str)],
        stat: Stat,
        threshold: f64,
        minutes: i32,
    ) -> Alarm {
        let period = if minutes < 5 { 60 } else { 300 };
        Alarm {
            name: name.into(),
            description: description.into(),
            namespace: namespace.into(),
            metric: metric.into(),
            dimensions: dimensions.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            stat,
            period,
            evaluation_periods: (minutes * 60 / period).max(1),
            threshold,
            comparison: Comparison::GreaterThan,
        }
    }

    /// An alarm firing when `stat(metric) < threshold` for `minutes`
    /// minutes (free memory or storage running out), evaluated as
    /// [`Alarm::above`] is.
    pub fn below(
        name: impl Into<String>,
        description: impl Into<String>,
        metric: (&str, &str),
        dimensions: &[(&str, &str)],
        stat: Stat,
        threshold: f64,
        minutes: i32,
    ) -> Alarm {
        Alarm {
            comparison: Comparison::LessThan,
            ..Alarm::above(name, description, metric, dimensions, stat, threshold, minutes)
        }
    }
}

/// What is watched.
#[derive(Clone, Debug)]
pub struct MonitoringArgs {
    /// Prefix of the topic's, alarms' and dashboard's names.
    pub prefix: String,
    /// The region (for the dashboard's graphs).
    pub region: String,
    /// Who gets the alerts by e-mail.
    pub email: Option<String>,
    /// The alarms.
    pub alarms: Vec<Alarm>,
}

/// The monitoring's handles.
pub struct Monitoring {
    /// The alerts topic.
    pub topic_arn: Output<String>,
    /// The dashboard's name.
    pub dashboard: Output<String>,
}

impl Monitoring {
    /// Declares the monitoring as component `name` of `stack`.
    pub fn new(stack: &Stack, name: &str, args: &MonitoringArgs) -> Monitoring {
        let c = stack.component("stacks:Monitoring", name);
        let topic = c.add("alerts", Topic::builder().name(format!("{}-alerts", args.prefix)).build());
        if let Some(email) = &args.email {
            c.add(
                "alerts-email",
                Subscription::builder().topic_arn(topic.arn.clone()).protocol("email").endpoint(email.clone()).build(),
            );
        }
        let mut widgets = vec![Widget::Text { markdown: format!("# {}", args.prefix), width: 24, height: 1 }];
        for alarm in &args.alarms {
            let key = alarm.name.strip_prefix(&format!("{}-", args.prefix)).unwrap_or(&alarm.name).to_owned();
            c.add(
                &key,
                MetricAlarm::builder()
                    .name(alarm.name.clone())
                    .description(alarm.description.clone())
                    .namespace(alarm.namespace.clone())
                    .metric_name(alarm.metric.clone())
                    .dimensions(alarm.dimensions.clone())
                    .statistic(alarm.stat)
                    .period(alarm.period)
                    .evaluation_periods(alarm.evaluation_periods)
                    .threshold(alarm.threshold)
                    .comparison(alarm.comparison)
                    .treat_missing_data("notBreaching")
                    .alarm_actions(vec![topic.arn.clone().into()])
                    .ok_actions(vec![topic.arn.clone().into()])
                    .build(),
            );
            widgets.push(Widget::Metric {
                title: alarm.description.clone(),
                metrics: vec![(
                    alarm.namespace.clone(),
                    alarm.metric.clone(),
                    alarm.dimensions.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                )],
                stat: alarm.stat,
                period: alarm.period,
                region: args.region.clone(),
                width: 12,
                height: 6,
            });
        }
        let dashboard = c.add("dashboard", Dashboard::builder().name(args.prefix.clone()).widgets(widgets).build());
        Monitoring { topic_arn: topic.arn.clone(), dashboard: dashboard.id.clone() }
    }
}
