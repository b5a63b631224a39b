//! The Bitcoin price-prediction data pipeline (`dev-stack`, `prod-stack`):
//! its environments' values come from `config/bitcoin-pipeline/<stack>.toml`,
//! which carry the document's `dev.tfvars` / `prod.tfvars`.

use iac_aws::AwsProvider;
use iac_core::{Error, Stack};

use crate::components::{Network, NetworkArgs};

/// Where this program's per-stack config files are.
pub const CONFIG_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/bitcoin-pipeline");

/// Declares the pipeline.
pub fn program(stack: &Stack) -> Result<(), Error> {
    let cfg = stack.config();
    stack.provider("aws", AwsProvider::from_env());
    let environment: String = cfg.require("environment")?;
    stack.default_tags([("Project", "bitcoin-pipeline"), ("Environment", environment.as_str()), ("ManagedBy", "iac")]);
    let region: String = cfg.require("region")?;
    let azs: Vec<String> = ["a", "b", "c"].iter().map(|z| format!("{region}{z}")).collect();
    let net = Network::new(
        stack,
        "network",
        &NetworkArgs { cidr: cfg.get_or("vpc_cidr", "10.0.0.0/16".to_string())?, azs, database_subnets: true },
    );
    stack.export("vpc_id", net.vpc_id.clone());
    Ok(())
}
