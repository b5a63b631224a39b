//! The command line every stack binary shares, and the only module that
//! prints.
//!
//! ```no_run
//! use iac_core::cli::Runner;
//! use iac_core::testing::{Server, TestProvider};
//!
//! fn main() -> std::process::ExitCode {
//!     Runner::new("demo", |stack| {
//!         stack.provider("test", TestProvider::new());
//!         let web = stack.add("web", Server::builder().size(2).build());
//!         stack.export("ip", web.ip.clone());
//!         Ok::<(), iac_core::Error>(())
//!     })
//!     .config_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/config"))
//!     .run()
//! }
//! ```

pub mod progress;
pub mod render;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};

use crate::engine::default_parallelism;
use crate::error::{Error, Result};
use crate::ops::{ForceUnlocked, Program, RunOptions, SavedPlan, Session};
use crate::stack::Stack;
use crate::state::local::LocalBackend;
use crate::state::Backend;
use crate::value::Value;
use progress::Progress;
use render::Style;

/// Makes a backend from an `IAC_BACKEND` URL it understands (`None` if the
/// scheme is not its own). Lets cloud crates add remote backends without
/// `iac-core` knowing them.
pub type BackendResolver = Arc<dyn Fn(&str, &str) -> Option<Result<Arc<dyn Backend>>> + Send + Sync>;

/// Runs a stack program as a command-line tool.
pub struct Runner {
    project: String,
    program: Program,
    config_dir: PathBuf,
    default_stack: String,
    resolvers: Vec<BackendResolver>,
}

#[derive(Parser)]
#[command(about = "Preview, deploy and manage this stack", disable_help_subcommand = true)]
struct Cli {
    /// Which stack (environment) of the program.
    #[arg(long, short, global = true, env = "IAC_STACK")]
    stack: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show what `up` would change, without changing anything.
    Preview {
        /// Show every property of every change.
        #[arg(long)]
        diff: bool,
        /// Print one JSON document instead of text.
        #[arg(long)]
        json: bool,
        /// Read the cloud first and plan against what it holds.
        #[arg(long)]
        refresh: bool,
        /// Limit to these resources and what they depend on.
        #[arg(long = "target", value_name = "NAME")]
        targets: Vec<String>,
        /// With --target: also target whatever depends on the targets
        /// (needed to delete or replace a target something else uses).
        #[arg(long, requires = "targets")]
        target_dependents: bool,
        /// Save the plan for `up --plan`.
        #[arg(long, value_name = "FILE")]
        save_plan: Option<PathBuf>,
        /// Exit 0 when there are no changes, 2 when there are, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Create, update and delete resources to match the program.
    Up {
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
        /// How many provider calls run at once.
        #[arg(long, value_name = "N")]
        parallel: Option<usize>,
        /// Read the cloud first and plan against what it holds.
        #[arg(long)]
        refresh: bool,
        /// Limit to these resources and what they depend on.
        #[arg(long = "target", value_name = "NAME")]
        targets: Vec<String>,
        /// With --target: also target whatever depends on the targets
        /// (needed to delete or replace a target something else uses).
        #[arg(long, requires = "targets")]
        target_dependents: bool,
        /// Apply a plan saved by `preview --save-plan`, refusing if stale.
        #[arg(long, value_name = "FILE")]
        plan: Option<PathBuf>,
        /// Print one JSON document instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Delete every resource of the stack.
    Destroy {
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
        /// How many provider calls run at once.
        #[arg(long, value_name = "N")]
        parallel: Option<usize>,
        /// Limit to these resources and what depends on them.
        #[arg(long = "target", value_name = "NAME")]
        targets: Vec<String>,
        /// Print one JSON document instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Read every resource back and report drift.
    Refresh {
        /// Record what was read in the state.
        #[arg(long, short)]
        yes: bool,
        /// Print one JSON document instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show the stack's outputs.
    Output {
        /// One output only.
        name: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Reveal secret values.
        #[arg(long)]
        show_secrets: bool,
    },
    /// Inspect and repair the stored state.
    State {
        #[command(subcommand)]
        command: StateCommand,
    },
    /// Read and write the stack's configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Print the dependency graph.
    Graph {
        /// Output format.
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
}

#[derive(Subcommand)]
enum StateCommand {
    /// List every resource in the state.
    List,
    /// Show one resource.
    Show {
        /// The resource's name (identity).
        name: String,
    },
    /// Forget a resource without deleting it from the cloud.
    Rm {
        /// The resource's name (identity).
        name: String,
    },
    /// Remove a stale lock left by a run that died.
    Unlock {
        /// Remove a live lock too (a lease that has not lapsed), for a
        /// holder known to be dead: shows the holder, asks, and removes that
        /// very lock only, refusing if it changed meanwhile.
        #[arg(long)]
        force: bool,
        /// With `--force`: do not ask for confirmation.
        #[arg(long, short, requires = "force")]
        yes: bool,
    },
    /// Drop a torn last journal line left by an interrupted write.
    Repair,
    /// Copy this stack's state to another backend (`s3://bucket/prefix` or
    /// a directory), then point `IAC_BACKEND` there.
    Push {
        /// Where to: a backend URL, as `IAC_BACKEND` takes.
        url: String,
        /// Overwrite a state of this stack already there.
        #[arg(long)]
        force: bool,
    },
    /// Copy this stack's state from another backend into this one.
    Pull {
        /// Where from: a backend URL, as `IAC_BACKEND` takes.
        url: String,
        /// Overwrite this backend's state of the stack.
        #[arg(long)]
        force: bool,
    },
    /// Clear `protect` in the state, so the resource can be deleted or
    /// replaced (the program must not protect it either).
    Unprotect {
        /// The resource's name (identity).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        name: Option<String>,
        /// Every resource of the stack.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Set a value (parsed as TOML when it parses, else a string).
    Set {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// Store it encrypted; it is masked everywhere.
        #[arg(long)]
        secret: bool,
    },
    /// Print a value.
    Get {
        /// The key.
        key: String,
        /// Reveal it if it is a secret.
        #[arg(long)]
        show_secrets: bool,
    },
    /// List every key.
    List,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    Dot,
    Mermaid,
}

impl Runner {
    /// A runner for the program `project`.
    pub fn new<E>(
        project: &str,
        program: impl Fn(&Stack) -> std::result::Result<(), E> + Send + Sync + 'static,
    ) -> Runner
    where
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        Runner {
            project: project.to_owned(),
            program: Arc::new(move |s| program(s).map_err(Into::into)),
            config_dir: PathBuf::from("."),
            default_stack: "dev".to_owned(),
            resolvers: Vec::new(),
        }
    }

    /// Where the per-stack config files (`<stack>.toml`) are.
    pub fn config_dir(mut self, dir: impl Into<PathBuf>) -> Runner {
        self.config_dir = dir.into();
        self
    }

    /// The stack used when none is named.
    pub fn default_stack(mut self, stack: &str) -> Runner {
        self.default_stack = stack.to_owned();
        self
    }

    /// Adds a backend for `IAC_BACKEND` URLs of another scheme.
    pub fn backend_resolver(mut self, r: BackendResolver) -> Runner {
        self.resolvers.push(r);
        self
    }

    /// Parses the process's arguments, runs the command, and returns the
    /// exit code: 0 success, 1 error, 2 usage error (or changes present with
    /// `preview --detailed-exitcode`).
    pub fn run(self) -> ExitCode {
        self.run_with(std::env::args_os())
    }

    /// Like [`Runner::run`] with explicit arguments.
    pub fn run_with<I, T>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let cli = match Cli::try_parse_from(args) {
            Ok(c) => c,
            Err(e) => {
                let _ = e.print();
                return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
            }
        };
        init_tracing();
        let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("error: cannot start the async runtime: {e}");
                return ExitCode::from(1);
            }
        };
        match rt.block_on(self.execute(cli)) {
            Ok(code) => ExitCode::from(code),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        }
    }

    fn backend(&self) -> Result<Arc<dyn Backend>> {
        self.backend_at(&std::env::var("IAC_BACKEND").unwrap_or_default())
    }

    /// The backend of a URL as `IAC_BACKEND` takes it (empty: `./.iac`).
    fn backend_at(&self, url: &str) -> Result<Arc<dyn Backend>> {
        if url.is_empty() {
            return Ok(Arc::new(LocalBackend::new(PathBuf::from(".iac").join(&self.project))));
        }
        for r in &self.resolvers {
            if let Some(b) = r(url, &self.project) {
                return b;
            }
        }
        if let Some(path) = url.strip_prefix("file://").or((!url.contains("://")).then_some(url)) {
            return Ok(Arc::new(LocalBackend::new(PathBuf::from(path).join(&self.project))));
        }
        Err(Error::Refused(format!("IAC_BACKEND `{url}`: no backend for this scheme in this program")))
    }

    async fn execute(self, cli: Cli) -> Result<u8> {
        let stack = cli.stack.clone().unwrap_or_else(|| self.default_stack.clone());
        let out_tty = std::io::stdout().is_terminal();
        let err_tty = std::io::stderr().is_terminal();
        let style = Style::detect(out_tty);
        let json = matches!(
            cli.command,
            Command::Preview { json: true, .. }
                | Command::Up { json: true, .. }
                | Command::Destroy { json: true, .. }
                | Command::Refresh { json: true, .. }
        );
        let progress = Progress::new(err_tty, json, Style::detect(err_tty));
        let session = Session {
            project: self.project.clone(),
            stack: stack.clone(),
            // `IAC_CONFIG_DIR` points a program at another set of stack
            // config files (a checkout's own, or a test's).
            config_dir: std::env::var_os("IAC_CONFIG_DIR").map_or_else(|| self.config_dir.clone(), PathBuf::from),
            backend: self.backend()?,
            program: self.program.clone(),
            observer: progress.observer(),
        };
        let res = self.command(cli.command, &session, &stack, style, &progress).await;
        progress.finish();
        res
    }

    async fn command(
        &self,
        command: Command,
        session: &Session,
        stack: &str,
        style: Style,
        progress: &Progress,
    ) -> Result<u8> {
        let mut out = std::io::stdout().lock();
        match command {
            Command::Preview { diff, json, refresh, targets, target_dependents, save_plan, detailed_exitcode } => {
                let opts = RunOptions {
                    refresh,
                    targets: targets.clone(),
                    target_dependents,
                    parallel: default_parallelism(),
                };
                let p = session.preview(&opts).await?;
                if json {
                    let mut doc = render::plan_json(&p.plan, &p.state.outputs);
                    if refresh {
                        doc["drift"] = render::drift_json(&p.drift);
                    }
                    println_out(&mut out, &serde_json::to_string_pretty(&doc).unwrap_or_default());
                } else {
                    println_out(&mut out, &format!("Previewing stack `{stack}` of {}:\n", self.project));
                    if refresh && !p.drift.is_empty() {
                        println_out(&mut out, &render::drift_text(&p.drift, style));
                    }
                    println_out(&mut out, &render::plan_text(&p.plan, &p.state.outputs, style, diff));
                }
                if let Some(path) = save_plan {
                    session.save_plan(&p.plan, &opts, &path)?;
                    if !json {
                        println_out(
                            &mut out,
                            &format!("Plan saved to {}; apply it with `up --plan {}`.", path.display(), path.display()),
                        );
                    }
                }
                let changes = p.plan.has_changes(&p.state.outputs);
                Ok(if detailed_exitcode && changes { 2 } else { 0 })
            }
            Command::Up { yes, parallel, refresh, targets, target_dependents, plan, json } => {
                let parallel = parallel.unwrap_or_else(default_parallelism);
                let opts = RunOptions { refresh, targets, target_dependents, parallel };
                let saved = match &plan {
                    Some(path) => Some((path.as_path(), SavedPlan::load(path)?)),
                    None => None,
                };
                let started = Instant::now();
                let mut confirm = |plan: &crate::Plan, state: &crate::state::State| {
                    if !json {
                        let mut o = std::io::stdout().lock();
                        println_out(&mut o, &format!("Updating stack `{stack}` of {}:\n", self.project));
                        println_out(&mut o, &render::plan_text(plan, &state.outputs, style, false));
                    }
                    if !plan.has_changes(&state.outputs) {
                        return Ok(true);
                    }
                    confirm_or_refuse(yes, "Do you want to perform this update?")
                };
                let applied = session.up(&opts, saved, &mut confirm).await?;
                progress.finish();
                report_applied(&mut out, &applied, started, json, style)
            }
            Command::Destroy { yes, parallel, targets, json } => {
                let opts = RunOptions {
                    targets,
                    parallel: parallel.unwrap_or_else(default_parallelism),
                    ..RunOptions::default()
                };
                let started = Instant::now();
                let mut confirm = |plan: &crate::Plan, state: &crate::state::State| {
                    if !json {
                        let mut o = std::io::stdout().lock();
                        println_out(&mut o, &format!("Destroying stack `{stack}` of {}:\n", self.project));
                        println_out(&mut o, &render::plan_text(plan, &state.outputs, style, false));
                    }
                    if plan.changes().next().is_none() {
                        return Ok(true);
                    }
                    confirm_or_refuse(yes, "Do you want to delete these resources?")
                };
                let applied = session.destroy(&opts, &mut confirm).await?;
                progress.finish();
                report_applied(&mut out, &applied, started, json, style)
            }
            Command::Refresh { yes, json } => {
                let mut confirm = |drift: &[crate::engine::Drift]| {
                    if !json {
                        let mut o = std::io::stdout().lock();
                        println_out(&mut o, &render::drift_text(drift, style));
                    }
                    if drift.is_empty() || yes {
                        return Ok(yes);
                    }
                    if std::io::stdin().is_terminal() {
                        ask("Record these changes in the state?")
                    } else {
                        Ok(false)
                    }
                };
                let (drift, written) = session.refresh(default_parallelism(), &mut confirm).await?;
                if json {
                    let doc = serde_json::json!({ "drift": render::drift_json(&drift), "written": written });
                    println_out(&mut out, &serde_json::to_string_pretty(&doc).unwrap_or_default());
                } else if !drift.is_empty() && !written {
                    println_out(&mut out, "The state was not changed; run `refresh --yes` to record what was read.");
                }
                Ok(0)
            }
            Command::Output { name, json, show_secrets } => {
                let outputs = session.outputs().await?;
                match name {
                    Some(n) => {
                        let v = outputs.get(&n).ok_or_else(|| Error::UnknownTarget(format!("output {n}")))?;
                        let shown =
                            if show_secrets { v.unwrap_secrets().0.to_display_json() } else { v.to_display_json() };
                        let text = match (&shown, json) {
                            (serde_json::Value::String(s), false) => s.clone(),
                            _ => serde_json::to_string_pretty(&shown).unwrap_or_default(),
                        };
                        println_out(&mut out, &text);
                    }
                    None if json => println_out(
                        &mut out,
                        &serde_json::to_string_pretty(&render::outputs_json(&outputs, show_secrets))
                            .unwrap_or_default(),
                    ),
                    None => println_out(&mut out, &render::outputs_text(&outputs, show_secrets)),
                }
                Ok(0)
            }
            Command::State { command } => {
                match command {
                    StateCommand::List => println_out(&mut out, &render::state_list_text(&session.load_state().await?)),
                    StateCommand::Show { name } => {
                        let state = session.load_state().await?;
                        let r = state.resources.get(&crate::Urn::new(&name)).ok_or(Error::UnknownTarget(name))?;
                        println_out(&mut out, &render::resource_text(r));
                    }
                    StateCommand::Rm { name } => {
                        for u in session.state_rm(&name).await? {
                            println_out(&mut out, &format!("forgot {u} (it is still in the cloud)"));
                        }
                    }
                    StateCommand::Unlock { force: false, .. } => match session.unlock().await? {
                        Some(h) => println_out(&mut out, &format!("removed the lock held by {h}")),
                        None => println_out(&mut out, "the stack was not locked"),
                    },
                    StateCommand::Unlock { force: true, yes } => {
                        let mut confirm = |seen: &crate::state::LockSeen| {
                            let mut o = std::io::stdout().lock();
                            println_out(&mut o, &format!("Stack `{stack}` is locked by {seen}."));
                            confirm_or_refuse(
                                yes,
                                "Remove this lock? Do so only if that run is dead: two runs at once can \
                                 corrupt the state.",
                            )
                        };
                        match session.force_unlock(&mut confirm).await? {
                            ForceUnlocked::NotLocked => println_out(&mut out, "the stack was not locked"),
                            ForceUnlocked::Removed(seen) => {
                                println_out(&mut out, &format!("removed the lock held by {seen}"))
                            }
                            ForceUnlocked::ReleasedMeanwhile(seen) => println_out(
                                &mut out,
                                &format!("the lock held by {seen} was released meanwhile; nothing was removed"),
                            ),
                        }
                    }
                    StateCommand::Push { url, force } => {
                        let there = self.backend_at(&url)?;
                        let copied = session.copy_state(session.backend.clone(), there, force).await?;
                        println_out(
                            &mut out,
                            &format!(
                                "copied stack `{stack}` ({copied} resources) from {} to {}; \
                                 set IAC_BACKEND={url} to use it there (the copy here is left as it was)",
                                session.backend.describe(stack),
                                self.backend_at(&url)?.describe(stack),
                            ),
                        );
                    }
                    StateCommand::Pull { url, force } => {
                        let there = self.backend_at(&url)?;
                        let from = there.describe(stack);
                        let copied = session.copy_state(there, session.backend.clone(), force).await?;
                        println_out(
                            &mut out,
                            &format!(
                                "copied stack `{stack}` ({copied} resources) from {from} to {}",
                                session.backend.describe(stack)
                            ),
                        );
                    }
                    StateCommand::Repair => {
                        if session.repair().await? {
                            println_out(&mut out, "dropped the torn last journal record; run `refresh` to reconcile");
                        } else {
                            println_out(&mut out, "the journal is intact; nothing to repair");
                        }
                    }
                    StateCommand::Unprotect { name, all: _ } => {
                        for u in session.state_unprotect(name.as_deref()).await? {
                            println_out(&mut out, &format!("unprotected {u}"));
                        }
                    }
                }
                Ok(0)
            }
            Command::Config { command } => {
                let mut cfg = session.config()?;
                match command {
                    ConfigCommand::Set { key, value, secret } => {
                        if secret {
                            cfg.set_secret(&key, &value)?;
                        } else {
                            cfg.set(&key, &value);
                        }
                        cfg.save()?;
                    }
                    ConfigCommand::Get { key, show_secrets } => {
                        let entry = cfg.list().into_iter().find(|(k, _)| *k == key);
                        let Some((_, v)) = entry else {
                            return Err(Error::Config {
                                stack: stack.to_owned(),
                                key,
                                path: cfg.path().to_path_buf(),
                                message: "is not set".into(),
                            });
                        };
                        let text = if matches!(v, Value::Secret(_)) && show_secrets {
                            let o: crate::Output<toml::Value> = cfg.require_secret(&key)?;
                            o.expr()
                                .resolve(&crate::state::State::default())
                                .unwrap_secrets()
                                .0
                                .to_display_json()
                                .to_string()
                        } else {
                            v.to_string()
                        };
                        println_out(&mut out, &text);
                    }
                    ConfigCommand::List => {
                        for (k, v) in cfg.list() {
                            println_out(&mut out, &format!("{k} = {v}"));
                        }
                    }
                }
                Ok(0)
            }
            Command::Graph { format } => {
                let (graph, _) = session.run_program()?;
                let text = match format {
                    GraphFormat::Dot => render::graph_dot(&graph),
                    GraphFormat::Mermaid => render::graph_mermaid(&graph),
                };
                println_out(&mut out, &text);
                Ok(0)
            }
        }
    }
}

fn report_applied(
    out: &mut impl Write,
    applied: &crate::ops::Applied,
    started: Instant,
    json: bool,
    style: Style,
) -> Result<u8> {
    let elapsed = started.elapsed();
    if json {
        let doc = render::apply_json(&applied.plan, &applied.report, elapsed);
        println_out(out, &serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        println_out(out, &render::summary_text(&applied.plan, &applied.report, elapsed, style));
    }
    if applied.report.failures.is_empty() {
        Ok(0)
    } else {
        Err(Error::StepsFailed(applied.report.failures.clone()))
    }
}

fn println_out(out: &mut impl Write, s: &str) {
    let _ = writeln!(out, "{s}");
}

fn confirm_or_refuse(yes: bool, question: &str) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::Refused("no terminal to confirm on: pass --yes to proceed without asking".into()));
    }
    ask(question)
}

fn ask(question: &str) -> Result<bool> {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(|e| Error::Refused(format!("could not read the answer: {e}")))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// Logs to standard error at the levels `RUST_LOG` sets, as `target=level`
/// directives (`debug`, `aws_smithy_runtime=debug,warn`); `warn` when unset
/// or unreadable. `Targets` reads `EnvFilter`'s syntax less its span-field
/// filters, without putting a regex engine in every stack binary.
fn init_tracing() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| directives.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::WARN));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let _ = tracing_subscriber::registry().with(fmt).with(filter).try_init();
}
