//! The EC2 instance types EKS nodes run on (`data/node_instance_types.tsv`).

use super::{table, Miss};

table!(NODE_TYPES, "node_instance_types.tsv");

/// An instance type the catalog does not hold.
pub fn check(instance_type: &str) -> Option<Miss> {
    let all = NODE_TYPES.keys();
    (!all.contains(&instance_type)).then(|| Miss::new(&NODE_TYPES, "an EC2 instance type", instance_type, &all))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_node_types_hold_ec2_types_but_not_mac_or_made_up_ones() {
        for ok in ["t3.large", "m6i.2xlarge", "c6i.large", "m6a.2xlarge", "t3a.small", "g5.xlarge"] {
            assert_eq!(check(ok), None, "{ok}");
        }
        for refused in ["t3.huge", "mac2.metal", "m6i.3xlarge", "M5.large"] {
            assert!(check(refused).is_some(), "{refused}");
        }
        assert_eq!(check("m5.xlarg").unwrap().nearest[0], "m5.xlarge");
    }
}
