//! The IPRS portfolio analytics platform: `--stack dev` (the default),
//! `staging` or `prod`.
fn main() -> std::process::ExitCode {
    iac_core::cli::Runner::new("iprs-platform", stacks::iprs::program)
        .backend_resolver(iac_aws::backend::resolver())
        .config_dir(stacks::iprs::CONFIG_DIR)
        .default_stack("dev")
        .run()
}
