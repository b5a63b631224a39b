//! The E-Commerce Analytics Platform: `--stack dev` (the default),
//! `--stack staging` or `--stack prod`.
fn main() -> std::process::ExitCode {
    iac_core::cli::Runner::new("ecommerce-analytics", stacks::ecommerce::program)
        .backend_resolver(iac_aws::backend::resolver())
        .config_dir(stacks::ecommerce::CONFIG_DIR)
        .default_stack("dev")
        .run()
}
