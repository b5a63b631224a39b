//! The instance classes each engine offers (`data/instance_classes.tsv`):
//! RDS and Aurora DB instance classes, ElastiCache node types, MSK broker
//! types.

use super::{table, Miss};

table!(CLASSES, "instance_classes.tsv");

/// The classes of `engine` (`postgres`, `aurora-postgresql`,
/// `elasticache`, `kafka`, …); empty for one the catalog does not cover.
pub fn classes(engine: &str) -> Vec<&'static str> {
    CLASSES.values_of(engine)
}

/// `class` for `engine`, if the catalog covers the engine and does not
/// hold the class.
pub fn check(engine: &str, class: &str) -> Option<Miss> {
    let all = classes(engine);
    if all.is_empty() || all.contains(&class) {
        return None;
    }
    let what = match engine {
        "postgres" => "an instance class RDS offers for PostgreSQL".to_owned(),
        "mysql" => "an instance class RDS offers for MySQL".to_owned(),
        "aurora-postgresql" | "aurora-mysql" => format!("an instance class Aurora offers for {engine}"),
        "elasticache" => "a node type ElastiCache offers".to_owned(),
        "kafka" => "a broker type MSK offers".to_owned(),
        other => format!("an instance class {other} offers"),
    };
    Some(Miss::new(&CLASSES, what, class, &all))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_instance_classes_per_engine() {
        for (engine, ok, refused) in [
            ("postgres", "db.t4g.medium", "db.t4g.nano"),
            ("postgres", "db.r6g.2xlarge", "db.r6g.metal"),
            ("aurora-postgresql", "db.serverless", "db.t3.micro"),
            ("aurora-postgresql", "db.r6g.xlarge", "db.m5.large"),
            ("elasticache", "cache.r7g.2xlarge", "cache.x9.huge"),
            ("kafka", "kafka.t3.small", "kafka.t3.medium"),
        ] {
            assert_eq!(check(engine, ok), None, "{engine} {ok}");
            let m = check(engine, refused).unwrap_or_else(|| panic!("{engine} {refused} passed"));
            assert!(!m.nearest.is_empty());
        }
        let m = check("kafka", "kafka.t3.medium").unwrap();
        assert_eq!(m.nearest[0], "kafka.t3.small", "{m:?}");
        assert!(m.message().contains("a broker type MSK offers"));
    }
}
