//! EKS's Kubernetes versions and their support dates
//! (`data/kubernetes.tsv`): EKS creates clusters on a version until its
//! extended support ends.

use time::Date;

use super::{date, table, Miss};

table!(KUBERNETES, "kubernetes.tsv");

/// A version's end of standard and of extended support.
pub fn support(version: &str) -> Option<(Date, Date)> {
    let r = KUBERNETES.row(version)?;
    Some((date(r.get(1)?)?, date(r.get(2)?)?))
}

/// The versions EKS creates clusters on, on `today`.
pub fn offered(today: Date) -> Vec<&'static str> {
    KUBERNETES.keys().into_iter().filter(|v| support(v).is_some_and(|(_, ext)| ext > today)).collect()
}

/// Why EKS would refuse a new cluster of Kubernetes `version` on `today`:
/// past its extended support (naming the oldest version still offered),
/// or not in the catalog (a [`Miss`], which an override waives).
pub fn check(version: &str, today: Date) -> Result<(), Result<String, Miss>> {
    let offered = offered(today);
    match support(version) {
        Some((_, ext)) if ext <= today => {
            let oldest = match offered.first().and_then(|v| Some((v, support(v)?))) {
                Some((v, (_, end))) => {
                    format!("the oldest version EKS still offers is {v} (extended support until {end})")
                }
                None => "every version the catalog holds has left support; refresh the catalog".to_owned(),
            };
            Err(Ok(format!(
                "Kubernetes {version} left EKS extended support on {ext}, so EKS no longer creates clusters on it; {oldest}"
            )))
        }
        Some(_) => Ok(()),
        None => Err(Err(Miss::new(&KUBERNETES, "a Kubernetes version EKS creates", version, &offered))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn catalog_kubernetes_versions_past_extended_support_are_refused_with_the_oldest_offered() {
        let today = date!(2026 - 12 - 07);
        let why = check("1.28", today).unwrap_err().unwrap();
        assert!(why.contains("Kubernetes 1.28 left EKS extended support on 2025-11-26"), "{why}");
        assert!(why.contains("1.32 (extended support until 2027-03-23)"), "{why}");
        assert!(check("1.31", today).unwrap_err().is_ok(), "1.31 left on 2026-11-26");
        assert_eq!(check("1.32", today), Ok(()));
        assert_eq!(check("1.36", today), Ok(()));
        // The day extended support ends, the version is refused.
        assert!(check("1.32", date!(2027 - 03 - 23)).is_err());
        // A version the catalog does not hold: the nearest offered ones.
        let miss = check("1.40", today).unwrap_err().unwrap_err();
        assert!(miss.nearest.iter().all(|v| offered(today).contains(&v.as_str())), "{miss:?}");
        assert!(check("2.1", today).unwrap_err().is_err());
    }

    #[test]
    fn catalog_kubernetes_extended_support_follows_standard_support() {
        for v in KUBERNETES.keys() {
            let (std, ext) = support(v).unwrap_or_else(|| panic!("{v} has no dates"));
            assert!(std < ext, "{v}");
        }
    }
}
