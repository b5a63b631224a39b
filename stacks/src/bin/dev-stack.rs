//! The Bitcoin data pipeline's development environment.
fn main() -> std::process::ExitCode {
    iac_core::cli::Runner::new("bitcoin-pipeline", stacks::bitcoin::program)
        .config_dir(stacks::bitcoin::CONFIG_DIR)
        .default_stack("dev")
        .run()
}
