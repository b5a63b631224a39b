//! The Bitcoin data pipeline's development environment.
fn main() -> std::process::ExitCode {
    iac_core::cli::Runner::new("bitcoin-pipeline", stacks::bitcoin::program)
        .backend_resolver(iac_aws::backend::resolver())
        .config_dir(stacks::bitcoin::CONFIG_DIR)
        .default_stack("dev")
        .run()
}
