//! Regions and their Availability Zone names (`data/regions.tsv`).

use super::{table, Miss};

table!(REGIONS, "regions.tsv");

/// The regions the catalog holds.
pub fn regions() -> Vec<&'static str> {
    REGIONS.keys()
}

/// The zone names of `region`, if the catalog holds it.
pub fn zones(region: &str) -> Option<Vec<&'static str>> {
    REGIONS.row(region).map(|r| r[1..].to_vec())
}

/// The region a zone name belongs to, if the catalog holds the zone.
pub fn region_of(zone: &str) -> Option<&'static str> {
    REGIONS.rows.iter().find(|r| r[1..].contains(&zone)).map(|r| r[0])
}

/// A region the catalog does not hold.
pub fn check_region(region: &str) -> Option<Miss> {
    let all = regions();
    (!all.contains(&region)).then(|| Miss::new(&REGIONS, "an AWS region", region, &all))
}

/// A zone the catalog does not hold (in any region): the nearest are
/// those of the zone's own region when it is known.
pub fn check_zone(zone: &str) -> Option<Miss> {
    if region_of(zone).is_some() {
        return None;
    }
    let own = zone.get(..zone.len().saturating_sub(1)).and_then(zones);
    let all: Vec<&str> = own.unwrap_or_else(|| REGIONS.rows.iter().flat_map(|r| r[1..].iter().copied()).collect());
    Some(Miss::new(&REGIONS, "an Availability Zone", zone, &all))
}

/// What is wrong with using `zones` in `region`: an unknown region, an
/// unknown zone, or a zone of another region (each a sentence).
pub fn check_zones(region: &str, zones: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(m) = check_region(region) {
        out.push(m.message());
    }
    for z in zones {
        match region_of(z) {
            Some(r) if r != region => out.push(format!("zone `{z}` is in {r}, not in {region}")),
            Some(_) => {}
            None => {
                let m = match self::zones(region) {
                    Some(own) => Miss::new(&REGIONS, format!("an Availability Zone of {region}"), z, &own),
                    None => check_zone(z).expect("an unknown zone"),
                };
                out.push(m.message());
            }
        }
    }
    out
}

/// The region the environment selects (`AWS_REGION`, else
/// `AWS_DEFAULT_REGION`), as the SDK reads it; `None` when neither is set
/// (a profile may still name one).
pub fn environment_region() -> Option<String> {
    ["AWS_REGION", "AWS_DEFAULT_REGION"].iter().find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_regions_hold_their_zones() {
        assert_eq!(region_of("us-east-1f"), Some("us-east-1"));
        assert!(zones("us-west-2").unwrap().contains(&"us-west-2d"));
        assert_eq!(check_region("us-east-1"), None);
        assert_eq!(check_zone("eu-west-1c"), None);
        for (region, zones) in REGIONS.rows.iter().map(|r| (r[0], &r[1..])) {
            assert!(zones.len() >= 2, "{region}");
            for z in zones {
                assert!(z.len() == region.len() + 1 && z.starts_with(region), "{z} in {region}");
            }
        }
    }

    #[test]
    fn catalog_unknown_regions_and_zones_name_the_nearest() {
        let m = check_zone("us-east-1g").expect("refused");
        assert_eq!(m.nearest.len(), 4);
        assert!(m.nearest.iter().all(|z| z.starts_with("us-east-1")), "{m:?}");
        let m = check_region("us-east-7").expect("refused");
        assert!(m.nearest.contains(&"us-east-1".to_owned()), "{m:?}");
        let p = check_zones("us-east-1", &["us-east-1a".into(), "us-west-2a".into(), "us-east-1z".into()]);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("`us-west-2a` is in us-west-2, not in us-east-1"), "{p:?}");
        assert!(p[1].contains("an Availability Zone of us-east-1"), "{p:?}");
    }
}
