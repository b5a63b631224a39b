//! The AWS catalog: what AWS offers, as of a date, so that a preview that
//! passes is an `up` that AWS accepts. Regions and their zones, the engine
//! versions RDS, Aurora, ElastiCache and MSK create, EKS's Kubernetes
//! versions and their support dates, Lambda's runtimes, the instance
//! classes each engine offers, the EC2 types EKS nodes run on, and the
//! parameter names of the parameter-group families the platforms use.
//!
//! Each table is a text file in `iac-aws/catalog/` (one row a line, fields
//! separated by tabs; `# source:`, `# as-of:` and `# refresh:` lines say
//! where it came from), embedded at build time. `scripts/refresh-catalog`
//! regenerates the files from AWS's own APIs with the user's credentials;
//! [`live`] asks AWS, at preview, what no file can know (one account's
//! zones, the classes orderable in its region).
//!
//! A value the catalog does not hold is an error at preview naming the
//! nearest values it does hold. The catalog can be older than AWS, so the
//! error also says how to go on: refresh the catalog, or put an explicit
//! [`CatalogOverride`] on that one resource
//! (`.catalog_override("RDS creates 15.19 since 2026-11-20")`), which
//! accepts values outside the catalog on that resource only; every other
//! check still runs.

pub mod engine_versions;
pub mod instance_classes;
pub mod kubernetes;
pub mod lambda_runtimes;
pub mod live;
pub mod node_types;
pub mod parameters;
pub mod regions;

use std::sync::LazyLock;

use iac_core::Checks;

/// The command that regenerates the catalog.
pub const REFRESH: &str = "scripts/refresh-catalog";

/// One table of the catalog: its rows and where they came from.
#[derive(Debug)]
pub struct Table {
    /// The file's name in `iac-aws/catalog/`.
    pub file: &'static str,
    /// The pages and APIs it was compiled from (`# source:` lines).
    pub sources: Vec<&'static str>,
    /// The date it was compiled (`# as-of:`).
    pub as_of: &'static str,
    /// How it is refreshed (`# refresh:`).
    pub refresh: &'static str,
    /// The rows, each a list of fields.
    pub rows: Vec<Vec<&'static str>>,
}

impl Table {
    /// Parses a table file: `#` lines are comments (`# source:`, `# as-of:`
    /// and `# refresh:` ones are kept), blank lines are skipped, and every
    /// other line is a row of tab- or space-separated fields.
    pub fn parse(file: &'static str, text: &'static str) -> Table {
        let mut t = Table { file, sources: Vec::new(), as_of: "", refresh: "", rows: Vec::new() };
        for line in text.lines().map(str::trim) {
            if let Some(comment) = line.strip_prefix('#') {
                let comment = comment.trim();
                if let Some(s) = comment.strip_prefix("source:") {
                    t.sources.push(s.trim());
                } else if let Some(d) = comment.strip_prefix("as-of:") {
                    t.as_of = d.trim();
                } else if let Some(r) = comment.strip_prefix("refresh:") {
                    t.refresh = r.trim();
                }
            } else if !line.is_empty() {
                t.rows.push(line.split_whitespace().collect());
            }
        }
        t
    }

    /// The second field of every row whose first is `key`.
    pub fn values_of(&self, key: &str) -> Vec<&'static str> {
        self.rows.iter().filter(|r| r.first() == Some(&key)).filter_map(|r| r.get(1).copied()).collect()
    }

    /// The first field of every row.
    pub fn keys(&self) -> Vec<&'static str> {
        self.rows.iter().filter_map(|r| r.first().copied()).collect()
    }

    /// The row whose first field is `key`.
    pub fn row(&self, key: &str) -> Option<&[&'static str]> {
        self.rows.iter().find(|r| r.first() == Some(&key)).map(Vec::as_slice)
    }
}

/// Declares a lazily parsed table embedded from `iac-aws/catalog/<file>`.
macro_rules! table {
    ($name:ident, $file:literal) => {
        pub(crate) static $name: std::sync::LazyLock<$crate::catalog::Table> = std::sync::LazyLock::new(|| {
            $crate::catalog::Table::parse($file, include_str!(concat!("../../catalog/", $file)))
        });
    };
}
pub(crate) use table;

/// Every table, for the docs and tests.
pub fn tables() -> Vec<&'static Table> {
    let all: [&'static LazyLock<Table>; 7] = [
        &regions::REGIONS,
        &engine_versions::ENGINE_VERSIONS,
        &kubernetes::KUBERNETES,
        &lambda_runtimes::RUNTIMES,
        &instance_classes::CLASSES,
        &node_types::NODE_TYPES,
        &parameters::PARAMETERS,
    ];
    all.into_iter().map(|t| &**t).collect()
}

/// An explicit, visible decision to accept values the catalog does not
/// hold on one resource (the catalog is older than what AWS offers now),
/// with the reason. Only catalog membership is waived: formats, ranges
/// and cross-field rules are still checked. An override that nothing on
/// its resource needs is itself an error, so none outlives a refresh.
///
/// ```
/// use iac_aws::catalog::CatalogOverride;
/// let o: CatalogOverride = "RDS creates 15.19 since 2026-11-20; catalog not refreshed yet".into();
/// assert!(o.reason().contains("15.19"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogOverride {
    reason: String,
}

impl CatalogOverride {
    /// An override for `reason`.
    pub fn new(reason: impl Into<String>) -> CatalogOverride {
        CatalogOverride { reason: reason.into() }
    }
    /// Why the catalog is overridden.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl From<&str> for CatalogOverride {
    fn from(reason: &str) -> Self {
        CatalogOverride::new(reason)
    }
}

impl From<String> for CatalogOverride {
    fn from(reason: String) -> Self {
        CatalogOverride::new(reason)
    }
}

/// A value the catalog does not hold: what was asked, what is nearest.
#[derive(Debug, Clone, PartialEq)]
pub struct Miss {
    /// What kind of value, for the message (`a PostgreSQL version RDS creates`).
    pub what: String,
    /// The value asked for.
    pub value: String,
    /// The nearest values the catalog holds, nearest first.
    pub nearest: Vec<String>,
    /// The table's file and date.
    pub file: &'static str,
    /// The table's date.
    pub as_of: &'static str,
}

impl Miss {
    /// A miss of `value` among `candidates` of `table`.
    pub fn new(table: &Table, what: impl Into<String>, value: &str, candidates: &[&str]) -> Miss {
        Miss {
            what: what.into(),
            value: value.to_owned(),
            nearest: nearest(value, candidates, 4),
            file: table.file,
            as_of: table.as_of,
        }
    }

    /// The message: the value, the nearest ones, and how to go on.
    pub fn message(&self) -> String {
        let nearest = if self.nearest.is_empty() {
            "the catalog holds none".to_owned()
        } else {
            format!("nearest: {}", self.nearest.join(", "))
        };
        format!(
            "`{}` is not {} (AWS catalog of {}, {}); {nearest}. If AWS offers it since, refresh the catalog \
             ({REFRESH}) or set `.catalog_override(\"why\")` on this resource",
            self.value, self.what, self.as_of, self.file
        )
    }
}

/// The checks of one resource against the catalog, under its override.
pub struct Scope<'a> {
    over: Option<&'a CatalogOverride>,
    used: bool,
}

impl<'a> Scope<'a> {
    /// Checks under `over` (the resource's `catalog_override`).
    pub fn new(over: Option<&'a CatalogOverride>) -> Scope<'a> {
        Scope { over, used: false }
    }

    /// Reports `miss` on `field`, unless the resource overrides the catalog.
    pub fn report(&mut self, c: &mut Checks, field: &str, miss: Option<Miss>) {
        if let Some(m) = miss {
            if self.over.is_some() {
                self.used = true;
            } else {
                c.fail(field, m.message());
            }
        }
    }

    /// Reports a refusal the catalog's dates make (a deprecated runtime),
    /// with how to go on, unless the resource overrides the catalog.
    pub fn report_dated(&mut self, c: &mut Checks, field: &str, why: Option<String>) {
        if let Some(why) = why {
            if self.over.is_some() {
                self.used = true;
            } else {
                c.fail(
                    field,
                    format!(
                        "{why}. If AWS has moved the date since, refresh the catalog ({REFRESH}) or set \
                         `.catalog_override(\"why\")` on this resource"
                    ),
                );
            }
        }
    }

    /// Ends the checks: an override must give a reason and be needed.
    pub fn finish(self, c: &mut Checks) {
        if let Some(o) = self.over {
            c.check(!o.reason.trim().is_empty(), "catalogOverride", || {
                "an override of the AWS catalog must say why (what AWS offers that the catalog does not)".into()
            });
            c.check(self.used, "catalogOverride", || {
                format!(
                    "every value here is in the AWS catalog; remove the override (\"{}\")",
                    o.reason.replace('"', "'")
                )
            });
        }
    }
}

/// Up to `n` of `candidates` nearest to `value`: the longest common prefix
/// first, then the fewest edits, then (versions) the nearest number where
/// they part; ties keep the candidates' order.
pub fn nearest(value: &str, candidates: &[&str], n: usize) -> Vec<String> {
    let mut scored: Vec<(usize, usize, u64, usize, &str)> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let prefix = value.chars().zip(c.chars()).take_while(|(a, b)| a.eq_ignore_ascii_case(b)).count();
            let e = edits(&value.to_ascii_lowercase(), &c.to_ascii_lowercase());
            (usize::MAX - prefix, e, number_gap(value, c, prefix), i, *c)
        })
        .collect();
    scored.sort();
    let mut out: Vec<String> = Vec::new();
    for (_, _, _, _, c) in scored {
        if !out.iter().any(|o| o == c) {
            out.push(c.to_owned());
        }
        if out.len() == n {
            break;
        }
    }
    out
}

/// How far apart the numbers are where `a` and `b` part (after their
/// common prefix of `prefix` characters): `15.4` and `15.15` part in
/// their minors, 11 apart. `u64::MAX` where either has no number there.
fn number_gap(a: &str, b: &str, prefix: usize) -> u64 {
    let number = |s: &str| -> Option<u64> {
        let chars: Vec<char> = s.chars().collect();
        let mut start = prefix.min(chars.len());
        while start > 0 && chars[start - 1].is_ascii_digit() {
            start -= 1;
        }
        let digits: String = chars[start..].iter().take_while(|c| c.is_ascii_digit()).collect();
        digits.parse().ok()
    };
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x.abs_diff(y),
        _ => u64::MAX,
    }
}

/// Levenshtein distance.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Today (UTC), for the tables with dates.
pub(crate) fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

/// `2026-12-07` as a date.
pub(crate) fn date(s: &str) -> Option<time::Date> {
    let mut p = s.splitn(3, '-').map(str::parse::<u16>);
    let (y, m, d) = (p.next()?.ok()?, p.next()?.ok()?, p.next()?.ok()?);
    time::Date::from_calendar_date(
        i32::from(y),
        time::Month::try_from(u8::try_from(m).ok()?).ok()?,
        u8::try_from(d).ok()?,
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_tables_say_where_they_came_from_and_when() {
        for t in tables() {
            assert!(!t.rows.is_empty(), "{} is empty", t.file);
            assert!(!t.sources.is_empty(), "{} names no source", t.file);
            assert!(t.sources.iter().any(|s| s.starts_with("https://docs.aws.amazon.com/")), "{}", t.file);
            assert!(date(t.as_of).is_some(), "{}: as-of `{}`", t.file, t.as_of);
            assert!(!t.refresh.is_empty(), "{} does not say how it is refreshed", t.file);
        }
    }

    #[test]
    fn catalog_nearest_prefers_the_common_prefix_then_the_fewest_edits() {
        let c = ["15.15", "15.16", "16.11", "14.20", "kafka.t3.small"];
        assert_eq!(nearest("15.4", &c, 2), ["15.15", "15.16"]);
        assert_eq!(nearest("7.3", &["7.0", "7.1", "6.2"], 2), ["7.1", "7.0"]);
        assert_eq!(number_gap("15.4", "15.15", 3), 11);
        assert_eq!(nearest("kafka.t3.medium", &c, 1), ["kafka.t3.small"]);
        assert_eq!(edits("kitten", "sitting"), 3);
    }

    #[test]
    fn catalog_misses_name_the_nearest_values_the_refresh_and_the_override() {
        let t = Table::parse("x.tsv", "# as-of: 2026-12-07\nredis 7.0\nredis 7.1\n");
        let m = Miss::new(&t, "a Redis version ElastiCache creates", "7.3", &t.values_of("redis"));
        let msg = m.message();
        for needle in ["`7.3`", "nearest: 7.1, 7.0", "2026-12-07", "scripts/refresh-catalog", ".catalog_override("] {
            assert!(msg.contains(needle), "{needle}: {msg}");
        }
    }

    #[test]
    fn catalog_overrides_waive_misses_and_must_be_needed_and_explained() {
        let t = Table::parse("x.tsv", "redis 7.1\n");
        let miss = || Some(Miss::new(&t, "a version", "7.3", &t.values_of("redis")));
        let mut c = Checks::default();
        let mut s = Scope::new(None);
        s.report(&mut c, "engineVersion", miss());
        s.finish(&mut c);
        assert_eq!(c.into_problems().len(), 1);

        let o = CatalogOverride::from("ElastiCache creates 7.3 since yesterday");
        let mut c = Checks::default();
        let mut s = Scope::new(Some(&o));
        s.report(&mut c, "engineVersion", miss());
        s.finish(&mut c);
        assert!(c.into_problems().is_empty());

        let mut c = Checks::default();
        Scope::new(Some(&o)).finish(&mut c);
        let p = c.into_problems();
        assert!(p[0].0 == "catalogOverride" && p[0].1.contains("remove the override"), "{p:?}");

        let blank = CatalogOverride::from(" ");
        let mut c = Checks::default();
        let mut s = Scope::new(Some(&blank));
        s.report(&mut c, "engineVersion", miss());
        s.finish(&mut c);
        assert!(c.into_problems()[0].1.contains("must say why"));
    }
}

/// The catalog through resources' own checks, as the preview runs them.
#[cfg(all(test, feature = "rds", feature = "msk", feature = "elasticache"))]
mod resource_tests {
    use iac_core::{Checks, Resource};

    fn problems(r: &impl Resource) -> Vec<(String, String)> {
        let mut c = Checks::default();
        r.validate(&mut c);
        c.into_problems()
    }

    fn db(version: &str, over: Option<&str>) -> crate::rds::DbInstance {
        crate::rds::DbInstance::builder()
            .identifier("orders")
            .engine("postgres")
            .engine_version(version)
            .instance_class("db.t4g.medium")
            .allocated_storage(20)
            .username("orders_admin")
            .maybe_catalog_override(over)
            .build()
    }

    #[test]
    fn catalog_preview_errors_name_the_nearest_values_and_the_override() {
        assert!(problems(&db("15.18", None)).is_empty());
        let p = problems(&db("15.4", None));
        assert_eq!(p.len(), 1, "{p:?}");
        let (field, msg) = &p[0];
        assert_eq!(field, "engineVersion");
        for needle in [
            "`15.4` is not a PostgreSQL version RDS creates",
            "nearest: 15.15, 15.16, 15.17, 15.18",
            "refresh the catalog (scripts/refresh-catalog)",
            "`.catalog_override(\"why\")` on this resource",
        ] {
            assert!(msg.contains(needle), "{needle}: {msg}");
        }
        // The override lets the one resource through, and only while needed.
        assert!(problems(&db("15.19", Some("RDS creates 15.19 since 2026-11-20"))).is_empty());
        let p = problems(&db("15.18", Some("RDS creates 15.19 since 2026-11-20")));
        assert!(p.len() == 1 && p[0].0 == "catalogOverride", "{p:?}");
        // Rules still hold under an override.
        let mut bad = db("15.19", Some("RDS creates 15.19"));
        bad.allocated_storage = Some(5);
        assert!(problems(&bad).iter().any(|(f, _)| f == "allocatedStorage"));
    }

    #[test]
    fn catalog_msk_and_elasticache_refuse_what_they_do_not_offer() {
        let msk = crate::msk::Cluster::builder()
            .name("events")
            .kafka_version("3.8.x")
            .broker_count(2)
            .instance_type("kafka.t3.medium")
            .client_subnets(vec!["subnet-a".into(), "subnet-b".into()])
            .build();
        let p = problems(&msk);
        assert!(p.iter().any(|(f, m)| f == "instanceType" && m.contains("nearest: kafka.t3.small")), "{p:?}");
        let rg = crate::elasticache::ReplicationGroup::builder()
            .id("Sessions")
            .engine_version("7.3")
            .node_type("cache.t4g.micro")
            .build();
        let p = problems(&rg);
        assert_eq!(p.len(), 1, "capitals in the id are accepted: {p:?}");
        assert!(p[0].0 == "engineVersion" && p[0].1.contains("nearest: 7.1"), "{p:?}");
    }
}
