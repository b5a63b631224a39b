//! What the preview asks AWS with credentials (`catalog::live`): the zones
//! this account sees and the DB classes orderable for an engine version,
//! asked of the emulator, and the problems `check_live` reports from them.
//!
//! Emulator gaps (moto 5.2.5), not ours: moto lists orderable classes for
//! `aurora-postgresql` (versions up to 15.2) and none for `postgres` or
//! `mysql`, and ignores `DBInstanceClass` filters; its zones in us-east-1
//! are `a` to `f`.

use iac_aws::catalog::live;
use iac_core::provider::{LiveCheckRequest, Provider};
use iac_core::value::Value;
use iac_core::Urn;

use crate::support::*;

fn request(name: &str, type_token: &str, fields: &[(&str, &str)]) -> LiveCheckRequest {
    let inputs = Value::Map(fields.iter().map(|(k, v)| (k.to_string(), Value::from(*v))).collect());
    LiveCheckRequest { urn: Urn::new(name), type_token: type_token.into(), inputs }
}

#[tokio::test]
async fn aws_says_which_regions_zones_and_classes_it_offers() {
    let p = provider();
    let zones = live::zones(p.ec2().await).await.unwrap();
    for z in ["us-east-1a", "us-east-1b", "us-east-1f"] {
        assert!(zones.contains(&z.to_owned()), "{z} not among {zones:?}");
    }
    assert!(zones.windows(2).all(|w| w[0] < w[1]), "zones unsorted or repeated: {zones:?}");
    let azs = live::availability_zones(p.ec2().await).await.unwrap();
    assert!(!azs.is_empty() && azs.iter().all(|z| zones.contains(z)), "{azs:?} ⊄ {zones:?}");
    let regions = live::regions(p.ec2().await).await.unwrap();
    for r in ["us-east-1", "eu-west-1", "ap-southeast-2"] {
        assert!(regions.contains(&r.to_owned()), "{r} not among {regions:?}");
    }

    let classes = live::orderable_classes(p.rds().await, "aurora-postgresql", Some("15.2")).await.unwrap();
    assert!(classes.contains(&"db.r6g.large".to_owned()), "{classes:?}");
    assert!(classes.contains(&"db.serverless".to_owned()), "{classes:?}");
    assert!(!classes.contains(&"db.m5.large".to_owned()), "Aurora offers no db.m5: {classes:?}");
    let every = live::orderable_classes(p.rds().await, "aurora-postgresql", None).await.unwrap();
    assert!(every.len() >= classes.len() && classes.iter().all(|c| every.contains(c)));
}

#[tokio::test]
async fn check_live_names_each_zone_and_class_aws_does_not_offer() {
    let p = provider();
    let reqs = vec![
        request("subnet-a", "aws:ec2:Subnet", &[("availabilityZone", "us-east-1a")]),
        request("subnet-z", "aws:ec2:Subnet", &[("availabilityZone", "us-east-1z")]),
        // Not a zone of the provider's region: the catalog's check, not this one.
        request("named", "aws:s3:Bucket", &[("bucket", "us-east-1-logs")]),
        request(
            "writer",
            "aws:rds:DbInstance",
            &[("engine", "aurora-postgresql"), ("engineVersion", "15.2"), ("instanceClass", "db.r6g.large")],
        ),
        request(
            "reader",
            "aws:rds:DbInstance",
            &[("engine", "aurora-postgresql"), ("engineVersion", "15.2"), ("instanceClass", "db.m5.large")],
        ),
        request(
            "member",
            "aws:rds:DbClusterInstance",
            &[("engine", "aurora-postgresql"), ("instanceClass", "db.x9.huge")],
        ),
        // AWS lists no class for it here: left to the catalog's checks.
        request("plain", "aws:rds:DbInstance", &[("engine", "postgres"), ("instanceClass", "db.t4g.micro")]),
    ];
    let found = p.check_live(reqs).await.unwrap();
    let named: Vec<(String, String)> = found.iter().map(|d| (d.urn.to_string(), d.field.clone())).collect();
    assert_eq!(
        named,
        [
            ("subnet-z".to_owned(), "availabilityZone".to_owned()),
            ("reader".to_owned(), "instanceClass".to_owned()),
            ("member".to_owned(), "instanceClass".to_owned()),
        ],
        "{found:#?}"
    );
    assert!(found[0].message.contains("us-east-1z") && found[0].message.contains("us-east-1a"), "{}", found[0].message);
    assert!(
        found[1].message.contains("db.m5.large") && found[1].message.contains("aurora-postgresql 15.2"),
        "{}",
        found[1].message
    );
    assert!(found[1].message.contains("nearest it offers: db.r"), "{}", found[1].message);
}
