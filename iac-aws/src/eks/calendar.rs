//! EKS's Kubernetes version calendar: which versions AWS still creates
//! clusters on. A version past the end of its extended support is refused
//! by `CreateCluster`, so the preview refuses it first, with the date and
//! the oldest version still offered.

use time::macros::date;
use time::Date;

/// End of extended support per minor version of Kubernetes 1.x, from AWS's
/// EKS release calendar. Versions older than the first entry are long past
/// theirs; versions newer than the last are taken as supported (a release
/// newer than this table is not a reason to refuse).
const END_OF_EXTENDED_SUPPORT: &[(u32, Date)] = &[
    (29, date!(2026 - 03 - 23)),
    (30, date!(2026 - 07 - 23)),
    (31, date!(2026 - 11 - 26)),
    (32, date!(2027 - 03 - 23)),
    (33, date!(2027 - 07 - 29)),
    (34, date!(2027 - 12 - 02)),
];

/// Why EKS would refuse a new cluster of Kubernetes `1.<minor>` on `today`,
/// or `None` when it is offered.
pub(crate) fn unsupported(major: u32, minor: u32, today: Date) -> Option<String> {
    let oldest = END_OF_EXTENDED_SUPPORT.iter().find(|(_, end)| *end > today);
    let offered = match oldest {
        Some((m, end)) => format!("the oldest version EKS still offers is 1.{m} (extended support until {end})"),
        None => "every version this tool knows has left support; pick the newest EKS offers".to_owned(),
    };
    let refused = |why: String| Some(format!("{why}, so EKS no longer creates clusters on it; {offered}"));
    if major != 1 {
        return (major == 0).then(|| format!("Kubernetes {major}.{minor} was never offered by EKS; {offered}"));
    }
    match END_OF_EXTENDED_SUPPORT.iter().find(|(m, _)| *m == minor) {
        Some((_, end)) if *end <= today => refused(format!("Kubernetes 1.{minor} left EKS extended support on {end}")),
        Some(_) => None,
        None if minor < END_OF_EXTENDED_SUPPORT[0].0 => {
            refused(format!("Kubernetes 1.{minor} left EKS extended support by {}", END_OF_EXTENDED_SUPPORT[0].1))
        }
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_past_extended_support_are_refused_with_the_oldest_offered() {
        let today = date!(2026 - 11 - 23);
        let why = unsupported(1, 28, today).expect("1.28 refused");
        assert!(why.contains("1.28") && why.contains("1.31 (extended support until 2026-11-26)"), "{why}");
        let why = unsupported(1, 30, today).expect("1.30 refused");
        assert!(why.contains("left EKS extended support on 2026-07-23"), "{why}");
        assert_eq!(unsupported(1, 31, today), None);
        assert_eq!(unsupported(1, 34, today), None);
        // A release newer than the table is not refused.
        assert_eq!(unsupported(1, 40, today), None);
        // The day support ends, the version is refused.
        assert!(unsupported(1, 31, date!(2026 - 11 - 26)).is_some());
        assert!(unsupported(0, 9, today).is_some());
    }
}
