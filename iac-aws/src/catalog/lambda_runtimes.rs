//! Lambda's managed runtimes and their deprecation
//! (`data/lambda_runtimes.tsv`).

use time::Date;

use super::{date, table, Miss};

table!(RUNTIMES, "lambda_runtimes.tsv");

/// A runtime's deprecation date and the date AWS blocks updates.
pub fn dates(runtime: &str) -> Option<(Date, Option<Date>)> {
    let r = RUNTIMES.row(runtime)?;
    Some((date(r.get(1)?)?, r.get(2).and_then(|d| date(d))))
}

/// The runtimes not deprecated on `today`.
pub fn supported(today: Date) -> Vec<&'static str> {
    RUNTIMES.keys().into_iter().filter(|r| dates(r).is_some_and(|(dep, _)| dep > today)).collect()
}

/// Why a function on `runtime` would not be created on `today`: deprecated
/// (naming the supported runtimes of its language), or not in the catalog
/// (a [`Miss`]).
pub fn check(runtime: &str, today: Date) -> Result<(), Result<String, Miss>> {
    let supported = supported(today);
    match dates(runtime) {
        Some((dep, update)) if dep <= today => {
            let lang: String = runtime.chars().take_while(char::is_ascii_alphabetic).collect();
            let same: Vec<&str> = supported.iter().copied().filter(|r| r.starts_with(&lang)).collect();
            let blocked = update.map(|u| format!(" and from {u} updating them")).unwrap_or_default();
            Err(Ok(format!(
                "Lambda deprecated `{runtime}` on {dep}: AWS blocks creating functions on it{blocked}; supported: {}",
                if same.is_empty() { supported.join(", ") } else { same.join(", ") }
            )))
        }
        Some(_) => Ok(()),
        None => Err(Err(Miss::new(&RUNTIMES, "a Lambda runtime", runtime, &supported))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn catalog_lambda_runtimes_refuse_deprecated_and_unknown_ones() {
        let today = date!(2026 - 12 - 07);
        assert_eq!(check("python3.12", today), Ok(()));
        assert_eq!(check("nodejs22.x", today), Ok(()));
        let why = check("python3.9", today).unwrap_err().unwrap();
        assert!(why.contains("deprecated `python3.9` on 2025-12-15") && why.contains("python3.12"), "{why}");
        assert!(!why.contains("nodejs"), "{why}");
        let miss = check("python3.99", today).unwrap_err().unwrap_err();
        assert!(miss.nearest.iter().all(|r| r.starts_with("python3.")), "{miss:?}");
        for r in RUNTIMES.keys() {
            let (dep, update) = dates(r).unwrap_or_else(|| panic!("{r} has no dates"));
            assert!(update.is_none_or(|u| u >= dep), "{r}");
        }
    }
}
