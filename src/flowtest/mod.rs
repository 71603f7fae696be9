//! Flow tests: calls scripted in YAML next to the flows, played offline.
//!
//! A flow author keeps `*.test.yaml` files beside the flows (usually in
//! `flows/tests/`), each describing calls and what must happen on them.
//! `callflow test` loads the flows, checks every test file as strictly as a
//! flow, plays each call through the simulator against the real router with
//! the call's own clock, and reports like a test runner: one line per call,
//! the expected script against the actual transcript for a failure, and a
//! last line `N passed, M failed` for CI.
//!
//! # Layout
//!
//! - [`spec`]: the test file as written.
//! - [`load`]: checking test files against the flows into scripts.
//! - [`play`]: playing one call against its script.
//! - [`requests`]: the requests a script expects the call to make.
//! - [`coverage`]: the steps and routes no test took.
//! - [`schema`]: the JSON Schema of test files, for editors.

pub mod coverage;
pub mod load;
pub mod play;
pub mod requests;
pub mod schema;
pub mod spec;

use std::io::{self, Write};
use std::path::Path;

use crate::engine::EngineSettings;
use crate::flow::diagnostic::{Diagnostic, Position, Report};
use crate::http::{self, AppState, Clock};
use crate::outbound::Outbound;
use coverage::Coverage;
use load::{TestCall, TestFile};
use play::Failure;

/// How to run the tests.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Play only the calls whose `file: name` contains this text (any case).
    pub filter: Option<String>,
    /// Print the steps and routes no call took.
    pub coverage: bool,
    /// Fail the run when fewer routes than this were taken; prints the
    /// coverage too.
    pub fail_under: Option<coverage::Percent>,
    /// The largest flow or test file read (`FLOW_FILE_MAX_BYTES`).
    pub max_file_bytes: crate::flow::MaxFileBytes,
}

/// What a run came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub filtered_out: usize,
}

impl Summary {
    pub fn all_passed(&self) -> bool {
        self.failed == 0
    }
}

/// What a run came to, with its coverage when that was asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Run {
    pub summary: Summary,
    pub coverage: Option<coverage::Totals>,
    /// Fewer routes were taken than `--fail-under` asks.
    pub below_fail_under: bool,
}

impl Run {
    /// Every call passed, and coverage held its line.
    pub fn succeeded(&self) -> bool {
        self.summary.all_passed() && !self.below_fail_under
    }
}

/// Why no call could be played.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}\ncallflow test: the flows have mistakes, so no call was played")]
    Flows(Report),
    #[error("{0}\ncallflow test: no call was played")]
    TestFiles(Report),
    #[error("callflow test: cannot write the results: {0}")]
    Output(#[from] io::Error),
}

/// Runs every `*.test.yaml` below `dir` against the flows in `dir`,
/// writing results to `out` as each call finishes.
pub async fn run(
    dir: &Path,
    engine: EngineSettings,
    options: &Options,
    out: &mut dyn Write,
) -> Result<Summary, RunError> {
    Ok(run_measured(dir, engine, options, out).await?.summary)
}

/// [`run`], saying also how much of the flows the calls took.
pub async fn run_measured(
    dir: &Path,
    engine: EngineSettings,
    options: &Options,
    out: &mut dyn Write,
) -> Result<Run, RunError> {
    let loaded = crate::flow::load_limited(dir, options.max_file_bytes).map_err(RunError::Flows)?;
    // Requests are stubbed, so a test needs no real secret, and never
    // depends on the machine it runs on.
    let flows = loaded
        .flows
        .with_secrets(&crate::flow::SecretSource::Placeholders)
        .map_err(RunError::Flows)?;
    let loaded = crate::flow::Loaded {
        flows,
        warnings: loaded.warnings,
    };
    let (files, report) = read_tests(dir, &loaded.flows, options.max_file_bytes);
    if report.has_errors() {
        return Err(RunError::TestFiles(report));
    }
    if !report.is_empty() {
        writeln!(out, "{report}")?;
    }
    let state = AppState::new(loaded.flows, engine.clone());
    let flows = state.flows.current();
    let filter = options.filter.as_deref().map(str::to_lowercase);
    let mut summary = Summary::default();
    let mut coverage = Coverage::default();
    for file in &files {
        for call in &file.calls {
            let title = format!("{}: {}", file.name, call.name);
            if filter
                .as_deref()
                .is_some_and(|f| !title.to_lowercase().contains(f))
            {
                summary.filtered_out += 1;
                continue;
            }
            // Each call is played as on a server that has dialled nothing yet, so the dial
            // limits of browser calls never depend on the order tests run in.
            // Its requests are answered by its stubs, never the network, and
            // its texts are only noted.
            let fresh = EngineSettings {
                dials: engine.dials.fresh(),
                outbound: Outbound::stubbed(call.stubs.clone()),
                ..engine.simulated()
            };
            let router = http::router(
                state
                    .clone()
                    .with_clock(Clock::Fixed(call.at))
                    .with_engine(fresh),
            );
            let played = play::play(router, call).await;
            if let Some(simulated) = &played.call {
                coverage.record(&flows, simulated);
            }
            match &played.failure {
                None => {
                    summary.passed += 1;
                    writeln!(out, "PASS {title}")?;
                }
                Some(failure) => {
                    summary.failed += 1;
                    writeln!(out, "FAIL {title}")?;
                    let transcript = played
                        .call
                        .as_ref()
                        .map(|c| c.transcript())
                        .unwrap_or_default();
                    write!(out, "{}", failure_report(file, call, failure, &transcript))?;
                }
            }
            out.flush()?;
        }
    }
    let mut run = Run {
        summary,
        ..Run::default()
    };
    if options.coverage || options.fail_under.is_some() {
        write!(out, "{}", coverage.report(&flows, options.max_file_bytes))?;
        run.coverage = Some(coverage.totals(&flows));
    }
    if summary.filtered_out > 0 {
        writeln!(out, "{} filtered out", summary.filtered_out)?;
    }
    writeln!(out, "{} passed, {} failed", summary.passed, summary.failed)?;
    if let (Some(line), Some(totals)) = (options.fail_under, run.coverage)
        && totals.percent() < line.value()
    {
        run.below_fail_under = true;
        writeln!(
            out,
            "coverage failed: {} of {} routes taken ({}), below --fail-under {line}",
            totals.taken,
            totals.routes,
            coverage::percent(totals.percent())
        )?;
    }
    out.flush()?;
    Ok(run)
}

/// Finds, reads and checks every test file below `dir`, under the same
/// rules as flow files (regular files, links inside the folder, at most
/// `max` bytes). Files with mistakes are left out; the report says why.
pub fn read_tests(
    dir: &Path,
    flows: &crate::flow::FlowSet,
    max: crate::flow::MaxFileBytes,
) -> (Vec<TestFile>, Report) {
    let (found, mut report) = match crate::flow::files::read_folder(dir, max, is_test_file) {
        Ok(read) => read,
        Err(error) => {
            let mut report = Report::default();
            report.push(Diagnostic::error(
                dir,
                Position::START,
                format!("cannot read the folder: {error}"),
            ));
            return (Vec::new(), report);
        }
    };
    if found.is_empty() && !report.has_errors() {
        report.push(
            Diagnostic::error(dir, Position::START, "there are no flow tests (*.test.yaml) in this folder")
                .with_help("put test files such as tests/main.test.yaml next to the flows; see the README's \"Testing flows\""),
        );
        return (Vec::new(), report);
    }
    let mut files = Vec::with_capacity(found.len());
    for found in found {
        let name = found.relative.to_string_lossy().replace('\\', "/");
        let shown = found.path.strip_prefix(".").unwrap_or(&found.path);
        if let Some(file) = load::check_file(flows, name, shown, &found.text, &mut report) {
            files.push(file);
        }
    }
    report.sort();
    (files, report)
}

/// `*.test.yaml` (or `.test.yml`).
fn is_test_file(name: &str) -> bool {
    name.ends_with(".test.yaml") || name.ends_with(".test.yml")
}

/// The failing line, the script as expected, and the call as it went.
fn failure_report(file: &TestFile, call: &TestCall, failure: &Failure, transcript: &str) -> String {
    let position = failure
        .line
        .map_or(call.position, |n| call.script[n].position);
    let mut out = format!(
        "  {}:{}:{}: {}\n  but {}\n  expected:\n",
        file.path.display(),
        position.line,
        position.column,
        failure.expected,
        failure.actual
    );
    let width = call
        .script
        .last()
        .map_or(1, |l| l.position.line.to_string().len());
    for (n, line) in call.script.iter().enumerate() {
        let marker = if failure.line == Some(n) { '>' } else { ' ' };
        out.push_str(&format!(
            "   {marker} {:>width$}  {}\n",
            line.position.line,
            line.item.describe()
        ));
    }
    out.push_str("  actual:\n");
    if transcript.is_empty() {
        out.push_str("    (the call was not placed)\n");
    }
    for line in transcript.lines() {
        out.push_str(&format!("    {line}\n"));
    }
    out
}
