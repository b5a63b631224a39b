//! Live progress of an apply on stderr.
//!
//! [`Progress`] turns engine [`Event`]s into lines: on a terminal, a spinner
//! per operation in flight with its elapsed time, replaced by a result line
//! when it ends; elsewhere one plain line per event; with `--json`, nothing.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use super::render::{format_duration, op_kind_name, Style, Tone};
use crate::engine::{Event, Observer, Phase};
use crate::output::Urn;
use crate::plan::Op;

/// Renders engine events as progress on stderr. Cheap to clone the
/// observer from; safe to share across threads.
pub struct Progress {
    inner: Option<Arc<Inner>>,
}

/// What a non-quiet progress display needs.
struct Inner {
    style: Style,
    /// The live display, when stderr is a terminal.
    live: Option<Live>,
}

struct Live {
    multi: MultiProgress,
    spinner: ProgressStyle,
    /// Spinners of operations in flight, by resource and phase.
    bars: Mutex<HashMap<(Urn, u8), ProgressBar>>,
}

fn phase_key(p: Phase) -> u8 {
    match p {
        Phase::Create => 0,
        Phase::Update => 1,
        Phase::Delete => 2,
    }
}

/// The verb of an operation in progress and once done.
fn verbs(op: Op, phase: Phase) -> (&'static str, &'static str) {
    match (op, phase) {
        (Op::Replace, Phase::Create) => ("creating replacement", "created replacement"),
        (Op::Replace, Phase::Delete) => ("deleting old copy", "deleted old copy"),
        (_, Phase::Create) => ("creating", "created"),
        (_, Phase::Update) => ("updating", "updated"),
        (_, Phase::Delete) => ("deleting", "deleted"),
    }
}

impl Progress {
    /// A progress display. `live`: draw spinners on stderr (a terminal);
    /// otherwise print one plain line per event to stderr. `quiet`: print
    /// nothing at all (used with `--json`).
    pub fn new(live: bool, quiet: bool, style: Style) -> Progress {
        if quiet {
            return Progress { inner: None };
        }
        let live = live.then(|| Live {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            spinner: ProgressStyle::with_template("{spinner} {msg} {secs}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner())
                .with_key("secs", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.1}s", s.elapsed().as_secs_f64());
                }),
            bars: Mutex::new(HashMap::new()),
        });
        Progress { inner: Some(Arc::new(Inner { style, live })) }
    }

    /// The observer to hand to the engine. Does nothing when quiet.
    pub fn observer(&self) -> Observer {
        match &self.inner {
            // Quiet (`--json`): stdout holds one document, but a warning
            // still reaches stderr.
            None => Arc::new(|e: &Event| {
                if let Event::Warning { message } = e {
                    eprintln!("{}", warning_line(Style { color: false }, message));
                }
            }),
            Some(inner) => {
                let inner = inner.clone();
                Arc::new(move |e: &Event| inner.on_event(e))
            }
        }
    }

    /// Clears any spinners still drawn. Safe to call more than once.
    pub fn finish(&self) {
        let Some(live) = self.inner.as_ref().and_then(|i| i.live.as_ref()) else { return };
        let bars: Vec<ProgressBar> =
            live.bars.lock().unwrap_or_else(|p| p.into_inner()).drain().map(|(_, b)| b).collect();
        for b in bars {
            b.finish_and_clear();
            live.multi.remove(&b);
        }
        let _ = live.multi.clear();
    }
}

impl Inner {
    fn on_event(&self, e: &Event) {
        let s = self.style;
        match e {
            Event::Started { urn, op, phase } => {
                let line = format!("{} {urn}  {}…", s.marker(*op), verbs(*op, *phase).0);
                match &self.live {
                    Some(live) => live.start((urn.clone(), phase_key(*phase)), line),
                    None => eprintln!("{line}"),
                }
            }
            Event::Finished { urn, op, phase, elapsed } => {
                let done = verbs(*op, *phase).1;
                let line = format!("{} {done} {urn} ({})", s.paint(Tone::Green, "✓"), format_duration(*elapsed));
                self.end(Some((urn, *phase)), line);
            }
            Event::Failed { urn, phase, error, .. } => {
                let line = s.paint(Tone::Red, format_args!("✗ failed {urn}: {error}"));
                self.end(Some((urn, *phase)), line);
            }
            Event::Skipped { urn, because, .. } => {
                self.end(None, s.paint(Tone::Dim, format_args!("- skipped {urn} (needs {because})")));
            }
            Event::Retrying { urn, error, attempt, delay } => {
                let line = format!(
                    "{} {urn}: {error}, retry {attempt} in {}ms",
                    s.paint(Tone::Yellow, "↻"),
                    delay.as_millis()
                );
                self.end(None, line);
            }
            Event::Recovered { op, outcome } => {
                self.end(None, format!("recovered {} {}: {outcome}", op_kind_name(op.op), op.urn));
            }
            Event::Warning { message } => self.end(None, warning_line(s, message)),
        }
    }

    /// Prints a result line, first removing the spinner of `bar` if any.
    fn end(&self, bar: Option<(&Urn, Phase)>, line: impl Display) {
        let Some(live) = &self.live else {
            eprintln!("{line}");
            return;
        };
        if let Some((urn, phase)) = bar {
            let key = (urn.clone(), phase_key(phase));
            if let Some(b) = live.bars.lock().unwrap_or_else(|p| p.into_inner()).remove(&key) {
                b.finish_and_clear();
                live.multi.remove(&b);
            }
        }
        let _ = live.multi.println(line.to_string());
    }
}

/// A warning, as one line on stderr.
fn warning_line(s: Style, message: &str) -> String {
    s.paint(Tone::Yellow, format_args!("warning: {message}"))
}

impl Live {
    fn start(&self, key: (Urn, u8), message: String) {
        let bar = self.multi.add(ProgressBar::new_spinner().with_style(self.spinner.clone()).with_message(message));
        bar.enable_steady_tick(Duration::from_millis(100));
        if let Some(old) = self.bars.lock().unwrap_or_else(|p| p.into_inner()).insert(key, bar) {
            old.finish_and_clear();
            self.multi.remove(&old);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{OpKind, PendingOp};

    fn events() -> Vec<Event> {
        let urn = Urn::new("web");
        vec![
            Event::Started { urn: urn.clone(), op: Op::Create, phase: Phase::Create },
            Event::Retrying {
                urn: urn.clone(),
                error: "throttled".into(),
                attempt: 1,
                delay: Duration::from_millis(5),
            },
            Event::Finished {
                urn: urn.clone(),
                op: Op::Create,
                phase: Phase::Create,
                elapsed: Duration::from_millis(1),
            },
            Event::Started { urn: urn.clone(), op: Op::Update, phase: Phase::Update },
            Event::Failed { urn: urn.clone(), op: Op::Update, phase: Phase::Update, error: "boom".into() },
            Event::Skipped { urn: Urn::new("app"), op: Op::Create, because: urn.clone() },
            Event::Recovered {
                op: PendingOp {
                    seq: 1,
                    op: OpKind::Create,
                    urn,
                    type_token: "t".into(),
                    provider: "p".into(),
                    id: None,
                    planned: None,
                },
                outcome: "never created".into(),
            },
            Event::Started { urn: Urn::new("left"), op: Op::Delete, phase: Phase::Delete },
            Event::Warning { message: "the lock could not be released".into() },
        ]
    }

    #[test]
    fn every_mode_handles_every_event() {
        for (live, quiet) in [(false, true), (false, false), (true, false)] {
            let p = Progress::new(live, quiet, Style { color: false });
            let obs = p.observer();
            for e in events() {
                obs(&e);
            }
            p.finish();
            p.finish();
        }
    }

    #[test]
    fn progress_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Progress>();
    }
}
