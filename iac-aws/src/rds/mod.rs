//! RDS and Aurora: subnet and parameter groups, DB instances (with read
//! replicas), Aurora clusters (provisioned and Serverless v2), their
//! instances, and RDS Proxy.
//!
//! ```text
//! DbSubnetGroup ◄── DbInstance ◄── DbInstance (read replica)
//!       ▲   ▲            │
//!       │   └──────── DbCluster ◄── DbClusterInstance
//!       │                 ▲
//! DbParameterGroup    DbProxy (+ its default target group)
//! ```
//!
//! Master passwords are secrets. By default ([`MasterPassword::Managed`])
//! RDS manages them itself in Secrets Manager, so no password exists
//! in the program, the state or the output at all; the secret's ARN is an
//! output for tasks and proxies to read. A password given by the program is
//! sealed in state like every secret and masked in output.
//!
//! Every change is applied immediately (`ApplyImmediately`), so what AWS
//! reads back after an `up` is what the program declared.

mod cluster;
mod cluster_instance;
mod instance;
mod parameter_group;
mod proxy;
mod subnet_group;

pub use cluster::{DbCluster, DbClusterOutputs, ServerlessV2Scaling};
pub use cluster_instance::{DbClusterInstance, DbClusterInstanceOutputs};
pub use instance::{DbInstance, DbInstanceOutputs};
pub use parameter_group::{ApplyMethod, DbClusterParameterGroup, DbParameterGroup, Parameter, ParameterGroupOutputs};
pub use proxy::{ConnectionPool, DbProxy, DbProxyOutputs, EngineFamily, ProxyAuth, ProxyTarget};
pub use subnet_group::{DbSubnetGroup, DbSubnetGroupOutputs};

use std::collections::BTreeMap;

use aws_sdk_rds::types::Tag;
use iac_core::{Checks, Expr, Input, ProviderError, Value};

use crate::error::aws_err;
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{TAG_NAME, TAG_STACK};

pub(crate) fn handler(type_token: &str) -> Option<&'static dyn Handler> {
    Some(match type_token {
        subnet_group::TYPE => &subnet_group::SubnetGroupHandler,
        parameter_group::INSTANCE_TYPE => &parameter_group::INSTANCE_HANDLER,
        parameter_group::CLUSTER_TYPE => &parameter_group::CLUSTER_HANDLER,
        instance::TYPE => &instance::InstanceHandler,
        cluster::TYPE => &cluster::ClusterHandler,
        cluster_instance::TYPE => &cluster_instance::ClusterInstanceHandler,
        proxy::TYPE => &proxy::ProxyHandler,
        _ => return None,
    })
}

/// How the master user's password is set.
#[derive(Clone, Debug)]
pub enum MasterPassword {
    /// RDS generates it and keeps it in Secrets Manager, encrypted with
    /// this KMS key (else `aws/secretsmanager`). The password never passes
    /// through the program; the secret's ARN is the `masterUserSecretArn`
    /// output.
    Managed {
        /// The KMS key for the secret.
        kms_key_id: Option<Input<String>>,
    },
    /// A value from the program, normally a secret config value: sealed in
    /// state, masked in output, sent only to RDS.
    Given(Input<String>),
}

impl Default for MasterPassword {
    fn default() -> MasterPassword {
        MasterPassword::Managed { kms_key_id: None }
    }
}

impl MasterPassword {
    /// The inputs `manageMasterUserPassword`, `masterUserSecretKmsKeyId`
    /// and `masterPassword`.
    pub(crate) fn exprs(&self) -> [(&'static str, Expr); 3] {
        let null = || Expr::Value(Value::Null);
        match self {
            MasterPassword::Managed { kms_key_id } => [
                ("manageMasterUserPassword", Value::from(true).into()),
                ("masterUserSecretKmsKeyId", kms_key_id.as_ref().map_or_else(null, Input::to_expr)),
                ("masterPassword", null()),
            ],
            MasterPassword::Given(p) => [
                ("manageMasterUserPassword", Value::from(false).into()),
                ("masterUserSecretKmsKeyId", null()),
                ("masterPassword", Expr::Secret(Box::new(p.to_expr()))),
            ],
        }
    }
}

/// RDS tags from a map.
pub(crate) fn rds_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// RDS tags as key/value pairs.
pub(crate) fn tag_pairs(tags: &[Tag]) -> Vec<(&str, &str)> {
    tags.iter().filter_map(|t| Some((t.key()?, t.value().unwrap_or_default()))).collect()
}

/// Whether tags carry this stack's identity for `urn`.
pub(crate) fn has_identity(tags: &[Tag], stack: &str, urn: &str) -> bool {
    let get = |k: &str| tags.iter().find(|t| t.key() == Some(k)).and_then(|t| t.value());
    get(TAG_STACK) == Some(stack) && get(TAG_NAME) == Some(urn)
}

/// The tags of an RDS resource (read ahead by a refresh, else asked).
pub(crate) async fn list_tags(p: &AwsProvider, arn: &str) -> Result<Vec<Tag>, ProviderError> {
    let tags = p
        .tags_or_ask(arn, async {
            let out = p
                .rds()
                .await
                .list_tags_for_resource()
                .resource_name(arn)
                .send()
                .await
                .map_err(|e| aws_err("ListTagsForResource", e))?;
            Ok(out
                .tag_list()
                .iter()
                .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
                .collect())
        })
        .await?;
    Ok(tags.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect())
}

/// Brings an RDS resource's user tags from `old` to `new` (identity tags
/// untouched).
pub(crate) async fn update_tags(
    rds: &aws_sdk_rds::Client,
    arn: &str,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Result<(), ProviderError> {
    let removed: Vec<String> = old.keys().filter(|k| !new.contains_key(*k)).cloned().collect();
    if !removed.is_empty() {
        rds.remove_tags_from_resource()
            .resource_name(arn)
            .set_tag_keys(Some(removed))
            .send()
            .await
            .map_err(|e| aws_err("RemoveTagsFromResource", e))?;
    }
    let changed: BTreeMap<String, String> =
        new.iter().filter(|(k, v)| old.get(*k) != Some(v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    if !changed.is_empty() {
        rds.add_tags_to_resource()
            .resource_name(arn)
            .set_tags(Some(rds_tags(&changed)))
            .send()
            .await
            .map_err(|e| aws_err("AddTagsToResource", e))?;
    }
    Ok(())
}

/// The engine version read back, as the user wrote it when it is a prefix
/// of it: `16` asks for the newest 16.x, and AWS answering `16.4` is not a
/// change.
pub(crate) fn version_like(read: Option<&str>, recorded: &Value) -> Value {
    match (read, recorded.as_str()) {
        (Some(r), Some(want)) if r == want || r.starts_with(&format!("{want}.")) => Value::from(want),
        (r, _) => Value::from(r),
    }
}

/// The engines `DbInstance` runs (Aurora engines run in a `DbCluster`).
pub const INSTANCE_ENGINES: &[&str] = &[
    "postgres",
    "mysql",
    "mariadb",
    "oracle-ee",
    "oracle-ee-cdb",
    "oracle-se2",
    "oracle-se2-cdb",
    "sqlserver-ee",
    "sqlserver-se",
    "sqlserver-ex",
    "sqlserver-web",
    "db2-se",
    "db2-ae",
];

/// The engines of an Aurora `DbCluster`.
pub const AURORA_ENGINES: &[&str] = &["aurora-postgresql", "aurora-mysql"];

/// An instance, cluster or proxy identifier: 1–63 letters, digits and
/// hyphens, starting with a letter, no trailing or doubled hyphen.
pub(crate) fn check_identifier(c: &mut Checks, field: &str, value: &str) {
    let rule = "1–63 letters, digits and hyphens, starting with a letter, without a trailing or doubled hyphen";
    let ok = !value.is_empty()
        && value.len() <= 63
        && value.starts_with(|ch: char| ch.is_ascii_alphabetic())
        && value.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
        && !value.ends_with('-')
        && !value.contains("--");
    c.check(ok, field, || format!("`{value}` is not a valid identifier: {rule}"));
}

/// A parameter group name: 1–255 letters, digits and hyphens, starting with
/// a letter, no trailing or doubled hyphen.
pub(crate) fn check_group_name(c: &mut Checks, field: &str, value: &str) {
    let ok = !value.is_empty()
        && value.len() <= 255
        && value.starts_with(|ch: char| ch.is_ascii_alphabetic())
        && value.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
        && !value.ends_with('-')
        && !value.contains("--");
    c.check(ok, field, || {
        format!(
            "`{value}` is not a valid name: 1–255 letters, digits and hyphens, starting with a letter, \
             without a trailing or doubled hyphen"
        )
    });
}

/// An instance class: `db.<family>.<size>`.
pub(crate) fn check_class(c: &mut Checks, field: &str, class: &str) -> bool {
    let parts: Vec<&str> = class.split('.').collect();
    let ok =
        class == "db.serverless" || (parts.len() == 3 && parts[0] == "db" && parts[1..].iter().all(|p| !p.is_empty()));
    c.check(ok, field, || format!("`{class}` is not an instance class (like db.t4g.medium)"));
    ok
}

/// The instance classes Aurora offers: memory-optimised families, burstable
/// ones from `medium` up, and `db.serverless`.
pub fn aurora_offers(class: &str) -> bool {
    const FAMILIES: &[&str] = &["r5", "r6g", "r6gd", "r6i", "r6id", "r7g", "r7i", "r8g", "x2g", "x2iedn", "r5b", "r5d"];
    let mut parts = class.split('.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("db"), Some("serverless"), None) => true,
        (Some("db"), Some("t3" | "t4g"), Some("medium" | "large")) => true,
        (Some("db"), Some(f), Some(_)) => FAMILIES.contains(&f),
        _ => false,
    }
}

/// A master user name: a letter, then letters, digits and underscores; at
/// most 16 characters for MySQL-family engines, 63 otherwise.
pub(crate) fn check_username(c: &mut Checks, field: &str, engine: &str, user: &str) {
    let max = if engine.contains("mysql") || engine == "mariadb" { 16 } else { 63 };
    let ok = !user.is_empty()
        && user.len() <= max
        && user.starts_with(|ch: char| ch.is_ascii_alphabetic())
        && user.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
    c.check(ok, field, || {
        format!("`{user}`: 1–{max} letters, digits and underscores, starting with a letter, for {engine}")
    });
    c.check(!["rdsadmin", "rdsrepladmin"].contains(&user), field, || format!("`{user}` is reserved by RDS"));
}

/// A database name: a letter, then letters, digits and underscores, 63 at
/// most (the tightest engine's limit).
pub(crate) fn check_db_name(c: &mut Checks, field: &str, name: &str) {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|ch: char| ch.is_ascii_alphabetic())
        && name.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
    c.check(ok, field, || format!("`{name}`: 1–63 letters, digits and underscores, starting with a letter"));
}

/// Backup retention in days (`min`–35).
pub(crate) fn check_retention(c: &mut Checks, days: Option<i32>, min: i32) {
    if let Some(d) = days {
        c.check((min..=35).contains(&d), "backupRetentionPeriod", || format!("{d} days: between {min} and 35"));
    }
}

/// Performance Insights retention: 7 (free), a multiple of 31 up to 713,
/// or 731 days.
pub(crate) fn check_pi_retention(c: &mut Checks, days: Option<i32>) {
    if let Some(d) = days {
        let ok = d == 7 || d == 731 || (d % 31 == 0 && (31..=713).contains(&d));
        c.check(ok, "performanceInsightsRetentionPeriod", || {
            format!("{d} days: 7, 731, or a multiple of 31 up to 713")
        });
    }
}

/// Enhanced monitoring: one of AWS's intervals, and a role when on.
pub(crate) fn check_monitoring(c: &mut Checks, interval: i32, role: bool) {
    c.check([0, 1, 5, 10, 15, 30, 60].contains(&interval), "monitoringInterval", || {
        format!("{interval} s: one of 0, 1, 5, 10, 15, 30, 60")
    });
    c.check(interval == 0 || role, "monitoringRoleArn", || {
        format!("enhanced monitoring every {interval} s needs a monitoring role")
    });
}

/// A master password the program gives (a plain or secret config value
/// known at preview): the length the engine takes and only the characters
/// RDS allows (printable ASCII but `/`, `'`, `"`, `@` and space). Checked
/// in memory; the message never holds the password.
pub(crate) fn check_master_password(c: &mut Checks, engine: &str, password: &MasterPassword) {
    let MasterPassword::Given(p) = password else { return };
    let Some(p) = crate::checks::known_str(p) else { return };
    let max = if engine.contains("mysql") || engine == "mariadb" {
        41
    } else if engine.starts_with("oracle") {
        30
    } else {
        128
    };
    let len = p.chars().count();
    c.check((8..=max).contains(&len), "masterPassword", || {
        format!("the password is {len} characters; {engine} takes 8 to {max}")
    });
    let bad: Vec<String> = ['/', '\'', '"', '@', ' ']
        .into_iter()
        .filter(|ch| p.contains(*ch))
        .map(|ch| if ch == ' ' { "space".to_owned() } else { format!("`{ch}`") })
        .collect();
    let other = p.chars().any(|ch| !ch.is_ascii_graphic() && ch != ' ');
    c.check(bad.is_empty() && !other, "masterPassword", || {
        let mut what = bad.join(", ");
        if other {
            what.push_str(if what.is_empty() { "a character that is not printable ASCII" } else { " and non-ASCII" });
        }
        format!(
            "the password holds {what}; RDS takes printable ASCII except /, ', \", @ and space \
             (the password itself is not shown)"
        )
    });
}

/// The source instance of a replica declared in the program, by reference
/// or by identifier.
fn replica_source<'g>(
    g: &'g iac_core::graph::Graph,
    d: &iac_core::graph::Declaration,
) -> Option<&'g iac_core::graph::Declaration> {
    let source = match d.input("replicateSourceDb")? {
        Expr::Ref { urn, .. } => g.resources.get(urn),
        Expr::Value(v) => {
            let id = v.as_str()?;
            g.resources.values().find(|s| {
                s.type_token == instance::TYPE && s.plain_input("identifier").and_then(Value::as_str) == Some(id)
            })
        }
        _ => None,
    };
    source.filter(|s| s.type_token == instance::TYPE)
}

/// Checks across instances: a read replica's source must keep automated
/// backups (RDS creates replicas only of instances with a backup retention
/// of 1 day or more), and the replica runs the source's engine.
pub(crate) fn check_replicas(g: &iac_core::graph::Graph, out: &mut Vec<iac_core::Diagnostic>) {
    for d in g.resources.values().filter(|d| d.type_token == instance::TYPE) {
        let Some(src) = replica_source(g, d) else { continue };
        let mut fail = |field: &str, message: String| {
            out.push(iac_core::Diagnostic {
                urn: d.urn.clone(),
                type_token: instance::TYPE.into(),
                field: field.into(),
                message,
            })
        };
        if src.plain_input("backupRetentionPeriod").and_then(Value::as_i64) == Some(0) {
            fail(
                "replicateSourceDb",
                format!(
                    "its source `{}` keeps no automated backups (backupRetentionPeriod 0); RDS creates read \
                     replicas only of instances with backups on: set the source's retention to 1 day or more",
                    src.urn
                ),
            );
        }
        let engine =
            |r: &iac_core::graph::Declaration| r.plain_input("engine").and_then(Value::as_str).map(str::to_owned);
        if let (Some(a), Some(b)) = (engine(d), engine(src)) {
            if a != b {
                fail("engine", format!("`{a}` differs from its source `{}`'s engine `{b}`", src.urn));
            }
        }
    }
}

/// The parameter group family of an engine version (`postgres` `15.18`
/// → `postgres15`, `aurora-postgresql` `16` → `aurora-postgresql16`,
/// `mysql` `8.0.40` → `mysql8.0`), for the engines whose rule is known.
pub(crate) fn family_of(engine: &str, version: &str) -> Option<String> {
    let mut parts = version.split('.');
    let major = parts.next().filter(|m| !m.is_empty() && m.chars().all(|c| c.is_ascii_digit()))?;
    match engine {
        "postgres" | "aurora-postgresql" => Some(format!("{engine}{major}")),
        "mysql" => Some(format!("mysql{major}.{}", parts.next()?)),
        "aurora-mysql" => Some(format!("aurora-mysql{major}.{}", parts.next()?)),
        _ => None,
    }
}

/// A parameter group declared in the program must be of the family of the
/// engine version using it (RDS refuses `postgres14` parameters for a
/// PostgreSQL 15 instance).
pub(crate) fn check_group_families(g: &iac_core::graph::Graph, out: &mut Vec<iac_core::Diagnostic>) {
    for (ty, field, group_ty) in [
        (instance::TYPE, "parameterGroupName", parameter_group::INSTANCE_TYPE),
        (cluster::TYPE, "clusterParameterGroupName", parameter_group::CLUSTER_TYPE),
    ] {
        for d in g.resources.values().filter(|d| d.type_token == ty) {
            let Some(Expr::Ref { urn, .. }) = d.input(field) else { continue };
            let Some(pg) = g.resources.get(urn).filter(|r| r.type_token == group_ty) else { continue };
            let s =
                |r: &iac_core::graph::Declaration, k: &str| r.plain_input(k).and_then(Value::as_str).map(str::to_owned);
            let (Some(engine), Some(version), Some(family)) = (s(d, "engine"), s(d, "engineVersion"), s(pg, "family"))
            else {
                continue;
            };
            if let Some(want) = family_of(&engine, &version) {
                if want != family {
                    out.push(iac_core::Diagnostic {
                        urn: d.urn.clone(),
                        type_token: ty.into(),
                        field: field.into(),
                        message: format!(
                            "`{}` is of family `{family}`, but {engine} {version} takes family `{want}`",
                            pg.urn
                        ),
                    });
                }
            }
        }
    }
}

/// The checks across RDS resources of a program (replicas and their
/// sources, parameter group families), run once.
pub(crate) fn check_graph(g: &iac_core::graph::Graph, out: &mut Vec<iac_core::Diagnostic>) {
    check_replicas(g, out);
    check_group_families(g, out);
    // RDS stores identifiers in lowercase.
    crate::checks::unique_names(g, instance::TYPE, "identifier", true, out);
    crate::checks::unique_names(g, cluster::TYPE, "identifier", true, out);
}

#[cfg(test)]
mod catalog_checks {
    use super::*;

    #[test]
    fn master_passwords_are_checked_without_being_shown() {
        let given = |p: &str| MasterPassword::Given(Input::Value(p.to_owned()));
        let problems = |engine: &str, p: &str| {
            let mut c = Checks::default();
            check_master_password(&mut c, engine, &given(p));
            c.into_problems()
        };
        assert!(problems("postgres", "a-Good_pass#1").is_empty());
        let p = problems("postgres", "sec/ret@pass word");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].1.contains("`/`, `@`, space") && !p[0].1.contains("sec/ret"), "{p:?}");
        assert!(problems("postgres", "short").iter().any(|(_, m)| m.contains("5 characters") && !m.contains("short")));
        assert!(!problems("mysql", &"x".repeat(42)).is_empty());
        assert!(problems("postgres", &"x".repeat(42)).is_empty());
        assert!(!problems("postgres", "pass\u{e9}word1").is_empty());
        // A managed password is not the program's to check.
        let mut c = Checks::default();
        check_master_password(&mut c, "postgres", &MasterPassword::default());
        assert!(c.into_problems().is_empty());
    }

    #[test]
    fn families_follow_engine_versions() {
        assert_eq!(family_of("postgres", "15.18").as_deref(), Some("postgres15"));
        assert_eq!(family_of("aurora-postgresql", "16").as_deref(), Some("aurora-postgresql16"));
        assert_eq!(family_of("mysql", "8.0.40").as_deref(), Some("mysql8.0"));
        assert_eq!(family_of("aurora-mysql", "8.0.mysql_aurora.3.10.0").as_deref(), Some("aurora-mysql8.0"));
        assert_eq!(family_of("oracle-ee", "19"), None);
    }
}
