//! The AI Trading Platform: `--stack dev` (the default) or `--stack prod`
//! (the document's production environment).
fn main() -> std::process::ExitCode {
    iac_core::cli::Runner::new("trading-platform", stacks::trading::program)
        .backend_resolver(iac_aws::backend::resolver())
        .config_dir(stacks::trading::CONFIG_DIR)
        .default_stack("dev")
        .run()
}
