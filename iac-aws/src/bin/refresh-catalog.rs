//! Prints catalog rows asked of AWS with the caller's credentials, through
//! the same functions the preview's live checks use
//! (`iac_aws::catalog::live`). `scripts/refresh-catalog` runs it for the
//! region and RDS class tables and adds each file's header.
//!
//! ```text
//! refresh-catalog regions                 # region <TAB> zone... per enabled region
//! refresh-catalog db-classes ENGINE...    # engine <TAB> class, orderable in AWS_REGION
//! ```

use std::error::Error;
use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use iac_aws::catalog::live;
use iac_aws::{AwsProvider, AwsSettings};

#[derive(Parser)]
#[command(about = "Prints AWS catalog rows asked of AWS with your credentials")]
struct Cli {
    /// The region asked (default: the SDK's, from AWS_REGION or the profile).
    #[arg(long, global = true)]
    region: Option<String>,
    #[command(subcommand)]
    table: Table,
}

#[derive(Subcommand)]
enum Table {
    /// Every region enabled for the account, with its availability zones.
    Regions,
    /// The DB instance classes orderable for each engine in the region.
    DbClasses {
        /// RDS engines (`postgres`, `aurora-mysql`, …).
        #[arg(required = true)]
        engines: Vec<String>,
    },
}

fn provider(region: Option<String>) -> AwsProvider {
    AwsProvider::new(AwsSettings { region, ..Default::default() })
}

async fn run(cli: Cli) -> Result<(), Box<dyn Error>> {
    // Written, not printed: a closed pipe (`| head`) is an error, not a panic.
    let mut out = std::io::stdout().lock();
    match cli.table {
        Table::Regions => {
            let regions = live::regions(provider(cli.region).ec2().await).await?;
            for region in regions {
                let zones = live::availability_zones(provider(Some(region.clone())).ec2().await).await?;
                writeln!(out, "{region}\t{}", zones.join("\t"))?;
            }
        }
        Table::DbClasses { engines } => {
            let p = provider(cli.region);
            for engine in engines {
                for class in live::orderable_classes(p.rds().await, &engine, None).await? {
                    writeln!(out, "{engine}\t{class}")?;
                }
            }
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("refresh-catalog: {e}");
            ExitCode::FAILURE
        }
    }
}
