//! Parameter names of the parameter-group families the platforms use
//! (`data/parameters.tsv`).

use super::{table, Miss};

table!(PARAMETERS, "parameters.tsv");

/// The parameter names of `family`; empty for one the catalog does not
/// cover.
pub fn names(family: &str) -> Vec<&'static str> {
    PARAMETERS.values_of(family)
}

/// The families the catalog covers.
pub fn families() -> Vec<&'static str> {
    let mut f = PARAMETERS.keys();
    f.sort_unstable();
    f.dedup();
    f
}

/// `name` in `family`, if the catalog covers the family and does not hold
/// the name.
pub fn check(family: &str, name: &str) -> Option<Miss> {
    let all = names(family);
    if all.is_empty() || all.contains(&name) {
        return None;
    }
    Some(Miss::new(&PARAMETERS, format!("a parameter of family {family}"), name, &all))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_parameters_per_family() {
        for name in ["rds.force_ssl", "log_min_duration_statement", "idle_in_transaction_session_timeout", "work_mem"] {
            assert_eq!(check("postgres15", name), None, "{name}");
            assert_eq!(check("aurora-postgresql15", name), None, "{name}");
        }
        assert_eq!(check("aurora-postgresql15", "apg_plan_mgmt.use_plan_baselines"), None);
        assert!(check("postgres15", "apg_plan_mgmt.use_plan_baselines").is_some());
        assert_eq!(check("redis7", "maxmemory-policy"), None);
        let m = check("postgres15", "log_min_duration_statment").expect("a typo");
        assert_eq!(m.nearest[0], "log_min_duration_statement", "{m:?}");
        assert!(check("redis7", "maxmemory_policy").is_some());
        // A family the catalog does not cover is not refused here.
        assert_eq!(check("postgres16", "anything"), None);
        assert_eq!(families(), ["aurora-postgresql15", "postgres15", "redis7"]);
    }
}
