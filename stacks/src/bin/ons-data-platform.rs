//! The ONS data platform: `--stack dev` (default), `staging`, `prod`.
fn main() -> std::process::ExitCode {
    iac_core::cli::Runner::new("ons-data-platform", stacks::ons::program)
        .backend_resolver(iac_aws::backend::resolver())
        .config_dir(stacks::ons::CONFIG_DIR)
        .default_stack("dev")
        .run()
}
