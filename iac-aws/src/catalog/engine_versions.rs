//! Engine versions AWS creates (`data/engine_versions.tsv`): RDS
//! PostgreSQL and MySQL, Aurora PostgreSQL and MySQL, ElastiCache Redis,
//! Valkey and Memcached, MSK's Kafka.

use super::{table, Miss};

table!(ENGINE_VERSIONS, "engine_versions.tsv");

/// The versions of `engine` (`postgres`, `aurora-postgresql`, `redis`,
/// `kafka`, …) the catalog holds; empty for an engine it does not cover.
pub fn versions(engine: &str) -> Vec<&'static str> {
    ENGINE_VERSIONS.values_of(engine)
}

/// Whether the catalog covers `engine` at all.
pub fn covers(engine: &str) -> bool {
    !versions(engine).is_empty()
}

fn describe(engine: &str) -> String {
    let (name, service) = match engine {
        "postgres" => ("PostgreSQL", "RDS"),
        "mysql" => ("MySQL", "RDS"),
        "aurora-postgresql" => ("Aurora PostgreSQL", "Aurora"),
        "aurora-mysql" => ("Aurora MySQL", "Aurora"),
        "redis" => ("Redis OSS", "ElastiCache"),
        "valkey" => ("Valkey", "ElastiCache"),
        "memcached" => ("Memcached", "ElastiCache"),
        "kafka" => ("Kafka", "MSK"),
        other => (other, "AWS"),
    };
    format!("a {name} version {service} creates")
}

/// `version` of `engine`, if the catalog covers the engine and does not
/// hold it. RDS and Aurora PostgreSQL take a major version alone (`16`),
/// meaning its newest minor: it passes when the catalog holds a minor of
/// it.
pub fn check(engine: &str, version: &str) -> Option<Miss> {
    let all = versions(engine);
    if all.is_empty() || all.contains(&version) {
        return None;
    }
    let major_alone = matches!(engine, "postgres" | "aurora-postgresql" | "mysql")
        && !version.is_empty()
        && all.iter().any(|v| v.strip_prefix(version).is_some_and(|rest| rest.starts_with('.')));
    (!major_alone).then(|| Miss::new(&ENGINE_VERSIONS, describe(engine), version, &all))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_engine_versions_refuse_what_aws_no_longer_creates() {
        for (engine, ok, refused) in [
            ("postgres", "15.18", "15.4"),
            ("postgres", "16", "15.99"),
            ("aurora-postgresql", "15.10", "15.4"),
            ("mysql", "8.4.9", "5.7.44"),
            ("aurora-mysql", "8.0.mysql_aurora.3.10.0", "5.7.mysql_aurora.2.11.2"),
            ("redis", "7.1", "7.3"),
            ("valkey", "8.0", "6.0"),
            ("memcached", "1.6.22", "1.3.0"),
            ("kafka", "3.8.x", "3.6.0"),
        ] {
            assert_eq!(check(engine, ok), None, "{engine} {ok}");
            let m = check(engine, refused).unwrap_or_else(|| panic!("{engine} {refused} passed"));
            assert!(!m.nearest.is_empty(), "{m:?}");
        }
        let m = check("postgres", "15.99").unwrap();
        assert!(m.nearest.iter().all(|v| v.starts_with("15.")), "{m:?}");
        assert!(m.message().contains("a PostgreSQL version RDS creates"), "{}", m.message());
        // An engine the catalog does not cover is not refused here.
        assert_eq!(check("oracle-ee", "19.0.0.0.ru-2026-10.rur-2026-10.r1"), None);
    }
}
