//! The `callflow` command line: `serve` (the default), `call`, `render`,
//! `check`, `graph`, `schema`, `lsp`, `test`, `report`, `config` and `probe`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use jiff::Timestamp;

use crate::config::{CommandLineError, Flows, Settings};
use crate::flow::graph::GraphFormat;
use crate::flow::report_format::{ReportFormat, write_check};
use crate::flow::{self, FlowSet};
use crate::http::{self, AppState, Clock};
use crate::reload::{self, FlowStore, WatchSettings};
use crate::simulator::{CallSetup, CalleeAnswer, CallerAction, QueueEvent, SimulatedCall};

/// Twilio voice call flows written in YAML, served as TwiML.
#[derive(Debug, Parser)]
#[command(name = "callflow", version)]
struct Cli {
    #[command(flatten)]
    settings: Settings,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the flows to Twilio (what `callflow` does with no command).
    Serve,
    /// Play a simulated call through a flow and print what happens.
    Call(CallArgs),
    /// Print the TwiML a call gets when it reaches a step.
    Render {
        /// The flow's name (its file name without .yaml).
        flow: String,
        /// The step; the flow's start when left out.
        step: Option<String>,
        /// The time the flow sees, such as 2026-11-24T10:30:00-05:00.
        #[arg(long)]
        at: Option<Timestamp>,
    },
    /// Check every flow and report all mistakes; exits 1 if there are errors.
    Check {
        /// The folder to check; FLOWS_DIR when left out.
        dir: Option<PathBuf>,
        /// `text` for people, `json` (one object a line) for programs, `github` for
        /// annotations in GitHub Actions.
        #[arg(long, value_enum, default_value_t)]
        format: ReportFormat,
    },
    /// Play the flow tests (*.test.yaml) offline; exits 1 if any fails.
    Test {
        /// The folder of flows and their tests; FLOWS_DIR when left out.
        dir: Option<PathBuf>,
        /// Play only the calls whose file or name contains this text.
        #[arg(long)]
        filter: Option<String>,
        /// Then list the steps and menu options no test reaches.
        #[arg(long)]
        coverage: bool,
        /// Exit 1 when fewer than this percentage of the flows' routes were taken; lists the
        /// coverage too.
        #[arg(long, value_name = "PERCENT")]
        fail_under: Option<crate::flowtest::coverage::Percent>,
    },
    /// Draw a flow: every step, and every way out of it named, as Mermaid (for Markdown) or
    /// Graphviz DOT.
    Graph {
        /// The flow's name (its file name without .yaml).
        flow: String,
        /// `mermaid` (GitHub draws it in Markdown) or `dot` (for `dot -Tsvg`).
        #[arg(long, value_enum, default_value_t)]
        format: GraphFormat,
    },
    /// Print the JSON Schema of flow files, for editors (see the README's "Editor setup").
    Schema {
        /// The schema of flow test files (*.test.yaml) instead.
        #[arg(long)]
        tests: bool,
    },
    /// Serve an editor as a language server over stdin and stdout: the checker's diagnostics as
    /// you type, go to definition, references and rename of steps, completion and hover (see the
    /// README's "Editor setup").
    Lsp {
        /// The flows folder; the editor's root folder when left out.
        dir: Option<PathBuf>,
    },
    /// Print the settings in effect (secrets hidden) and where each came from.
    Config,
    /// Count what callers did, per flow, from JSON logs (LOG_FORMAT=json) of any number of
    /// replicas: calls, steps entered, menu choices, dial outcomes, apologies, where calls
    /// ended and how long they lasted.
    Report {
        /// The log file; standard input when left out or `-` (`kubectl logs … | callflow report`).
        file: Option<PathBuf>,
        /// Only events at or after this date (2026-11-29) or instant (2026-11-29T08:00:00Z).
        #[arg(long, value_parser = since)]
        since: Option<Timestamp>,
        /// Only calls that started in this flow.
        #[arg(long)]
        flow: Option<String>,
        /// `table` for people, `json` for programs.
        #[arg(long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
    },
    /// Ask the server on this machine (HOST, PORT) whether it answers 200; for a container's
    /// HEALTHCHECK. Exits 0 if it does, 1 if not.
    Probe {
        /// The path to ask: /healthz (the process answers) or /readyz (it takes calls).
        #[arg(default_value = "/healthz")]
        path: String,
    },
}

/// `--queue`: one of the turns a wait in a queue can take.
fn queue_event(value: &str) -> Result<String, String> {
    crate::simulator::QueueEvent::parse(value)
        .map(|event| event.as_str().to_owned())
        .ok_or_else(|| format!("`{value}` is not one of hold, bridged, full, hangup, error"))
}

/// `--callee`: how a callee answers a whisper.
fn callee_answer(value: &str) -> Result<String, String> {
    crate::simulator::CalleeAnswer::parse(value)
        .map(|answer| answer.to_string())
        .ok_or_else(|| {
            format!(
                "`{value}` is not one of accepts, declines, silent, or a key the callee presses"
            )
        })
}

/// `--since`: an instant, or a date taken as its start in UTC.
fn since(value: &str) -> Result<Timestamp, String> {
    if let Ok(at) = value.parse::<Timestamp>() {
        return Ok(at);
    }
    value
        .parse::<jiff::civil::Date>()
        .and_then(|date| date.to_zoned(jiff::tz::TimeZone::UTC))
        .map(|zoned| zoned.timestamp())
        .map_err(|_| format!("`{value}` is not a date such as 2026-11-29 or an instant such as 2026-11-29T08:00:00Z"))
}

#[derive(Debug, clap::Args)]
struct CallArgs {
    /// The flow to call; routing picks it (by number, then `main`) when left out.
    flow: Option<String>,
    /// The caller's number (or client:NAME for a browser call).
    #[arg(long, default_value = "+15551112222")]
    from: String,
    /// The number called (or, for a browser call, what it dials).
    #[arg(long, default_value = "+15553334444")]
    to: String,
    /// The time the flow sees, such as 2026-11-24T10:30:00-05:00.
    #[arg(long)]
    at: Option<Timestamp>,
    /// Keys the caller presses at the next menu or gather (repeatable).
    #[arg(long, value_name = "KEYS")]
    press: Vec<String>,
    /// Words the caller says at the next menu or gather (repeatable).
    #[arg(long, value_name = "WORDS")]
    say: Vec<String>,
    /// The caller stays silent at the next menu or gather (repeatable).
    #[arg(long, action = clap::ArgAction::Count)]
    silence: u8,
    /// How the next dial ends: completed, busy, no-answer, failed, canceled (repeatable).
    #[arg(long, value_name = "OUTCOME")]
    dial_outcome: Vec<String>,
    /// How the next agent session (`connect`) ends: the JSON it hands over, such as
    /// '{"reason":"billing"}', or `failed` (repeatable).
    #[arg(long, value_name = "JSON")]
    agent_handoff: Vec<String>,
    /// What happens next to a caller in a queue: hold (the hold steps play again), bridged
    /// (an agent takes the call), full, hangup or error (repeatable).
    #[arg(long, value_name = "EVENT", value_parser = queue_event)]
    queue: Vec<String>,
    /// How the next person dialled with a whisper answers it: accepts (presses 1), declines
    /// (hangs up), silent, or a key they press such as 2 (repeatable).
    #[arg(long, value_name = "ANSWER", value_parser = callee_answer)]
    callee: Vec<String>,
    /// Hang up once the inputs above are used, instead of staying silent,
    /// letting dials complete, leaving messages and ending agent sessions.
    #[arg(long)]
    hang_up: bool,
    /// Another parameter for the first webhook, as NAME=VALUE (repeatable).
    #[arg(long, value_name = "NAME=VALUE")]
    param: Vec<String>,
    /// Answer the flow's requests from this file of stubs (a flow test's `http:` list)
    /// instead of the network.
    #[arg(long, value_name = "FILE")]
    stub: Option<PathBuf>,
}

pub fn main() -> ExitCode {
    // Before the command is built: clap reads the environment then.
    let _ = dotenvy::dotenv();
    let matches = match crate::config::read_command_line(Cli::command()) {
        Ok(matches) => matches,
        Err(CommandLineError::Settings(error)) => {
            for problem in &error.problems {
                eprintln!("callflow: {problem}");
            }
            return ExitCode::from(2);
        }
        Err(CommandLineError::Clap(error)) => error.exit(),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    // Flow tests refuse dials on purpose; their report says what matters.
    let default_level = match cli.command {
        Some(Command::Test { .. }) => "error",
        _ => "info",
    };
    crate::logging::init(
        cli.settings
            .server
            .rust_log
            .as_deref()
            .unwrap_or(default_level),
        cli.settings.monitoring.log_format,
    );
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("callflow: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    let flows = &cli.settings.flows;
    match cli.command {
        None | Some(Command::Serve) => runtime.block_on(serve(&cli.settings)),
        Some(Command::Probe { path }) => probe(&cli.settings, &path),
        Some(Command::Config) => {
            print!("{}", crate::config::effective(&Cli::command(), &matches));
            ExitCode::SUCCESS
        }
        Some(Command::Report {
            file,
            since,
            flow,
            format,
        }) => report(file, crate::report::Filter { since, flow }, &format),
        Some(Command::Check { dir, format }) => check(
            dir.unwrap_or_else(|| flows.flows_dir.clone()),
            flows.flow_file_max_bytes,
            format,
        ),
        Some(Command::Test {
            dir,
            filter,
            coverage,
            fail_under,
        }) => {
            let options = crate::flowtest::Options {
                filter,
                coverage,
                fail_under,
                max_file_bytes: flows.flow_file_max_bytes,
            };
            let dir = dir.unwrap_or_else(|| flows.flows_dir.clone());
            runtime.block_on(test(&dir, flows.engine(), &options))
        }
        Some(Command::Graph { flow, format }) => graph(flows, &flow, format),
        Some(Command::Lsp { dir }) => match crate::lsp::run(dir, flows.flow_file_max_bytes) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("callflow lsp: {error}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Schema { tests }) => {
            if tests {
                print!("{}", crate::flowtest::schema::test_schema_json());
            } else {
                print!("{}", flow::schema::flow_schema_json());
            }
            ExitCode::SUCCESS
        }
        Some(Command::Render { flow, step, at }) => render(flows, &flow, step.as_deref(), at),
        Some(Command::Call(args)) => {
            let order = matches
                .subcommand_matches("call")
                .map(input_order)
                .unwrap_or_default();
            runtime.block_on(call(flows, args, order))
        }
    }
}

/// `callflow report`.
fn report(file: Option<PathBuf>, filter: crate::report::Filter, format: &str) -> ExitCode {
    let read = match file.filter(|path| path.as_os_str() != "-") {
        Some(path) => match std::fs::File::open(&path) {
            Ok(opened) => crate::report::read(std::io::BufReader::new(opened), &filter),
            Err(error) => {
                eprintln!("callflow: cannot read {}: {error}", path.display());
                return ExitCode::FAILURE;
            }
        },
        None => crate::report::read(std::io::stdin().lock(), &filter),
    };
    let report = match read {
        Ok(report) => report,
        Err(error) => {
            eprintln!("callflow: cannot read the log: {error}");
            return ExitCode::FAILURE;
        }
    };
    if format == "json" {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(error) => {
                eprintln!("callflow: {error}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{report}");
    }
    ExitCode::SUCCESS
}

/// Loads the flows, printing the report; `None` when there are errors.
fn load_flows(settings: &Flows) -> Option<FlowSet> {
    match flow::load_limited(&settings.flows_dir, settings.flow_file_max_bytes) {
        Ok(loaded) => {
            if !loaded.warnings.is_empty() {
                eprintln!("{}", loaded.warnings);
            }
            Some(loaded.flows)
        }
        Err(report) => {
            eprintln!("{report}");
            None
        }
    }
}

async fn serve(settings: &Settings) -> ExitCode {
    let flows = &settings.flows;
    // Once: without STATE_KEY or an auth token, each call makes a new key.
    let engine = settings.engine();
    if let Some(warning) = engine.state_key.startup_warning() {
        tracing::warn!("{warning}");
    }
    let store = match FlowStore::open_limited(&flows.flows_dir, flows.flow_file_max_bytes, &engine)
    {
        Ok((store, warnings)) => {
            if !warnings.is_empty() {
                eprintln!("{warnings}");
            }
            Arc::new(store.with_kept_versions(settings.server.flow_versions_kept))
        }
        Err(report) => {
            eprintln!("{report}");
            eprintln!(
                "callflow: not starting: fix the flows above (`callflow check` lists them again)"
            );
            return ExitCode::FAILURE;
        }
    };
    if let Some(warning) = engine.texting.startup_warning(&store.current()) {
        tracing::warn!("{warning}");
    }
    let tokens = crate::token::TokenService::new(settings.token_settings());
    tokens.log_startup_warnings();
    let webhook_auth = settings.webhook_auth();
    if let Some(warning) = webhook_auth.startup_warning() {
        tracing::warn!("{warning}");
    }
    let page = settings.page();
    tracing::info!("{}", page.startup_note());
    if let Some(warning) = page.simulator.startup_warning() {
        tracing::warn!("{warning}");
    }
    let admin = settings.admin();
    let count = store.current().flows().len();
    let version = store.current().version().to_owned();
    let _watching =
        reload::spawn_watcher(store.clone(), WatchSettings::default()).inspect_err(|error| {
            tracing::warn!("not watching the flows (SIGHUP cannot reload either): {error}")
        });
    let state = AppState::with_store(store, engine)
        .with_tokens(tokens)
        .with_webhook_auth(webhook_auth)
        .with_page(page)
        .with_admin(admin.clone())
        .with_monitoring(&settings.monitoring);
    if settings.monitoring.metrics_public {
        tracing::warn!(
            "METRICS_PUBLIC=true: anyone who can reach this server can read /metrics (which flows and steps callers take)"
        );
    }
    // Before the port opens: a SIGTERM that comes as soon as the server
    // listens must drain and stop it, not kill it on the spot.
    let signal = shutdown_signal();
    let address = format!("{}:{}", settings.server.host, settings.server.port);
    let listener = match tokio::net::TcpListener::bind(&address).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("callflow: cannot listen on {address}: {error} (set PORT to another port)");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        "callflow serving {count} flows from {} (version {version}) on http://{address}",
        flows.flows_dir.display()
    );
    if let Ok(bound) = listener.local_addr() {
        tracing::info!("{}", admin.startup_note(bound, &settings.server.host));
    }
    let stop = http::health::drain_then_stop(
        signal,
        state.readiness.clone(),
        settings.server.shutdown_drain,
    );
    match http::run(
        listener,
        http::router(state),
        settings.server.limits(),
        stop,
    )
    .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("callflow: the server stopped: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM, so webhooks in flight can finish. The
/// SIGTERM handler is in place when this returns, not when it is first
/// awaited.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let terminate = async {
            match terminate.as_mut() {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {},
            () = terminate => {},
        }
    }
}

fn probe(settings: &Settings, path: &str) -> ExitCode {
    let server = &settings.server;
    let asked = http::health::probe_address(&server.host, server.port)
        .and_then(|address| http::health::probe(address, path, std::time::Duration::from_secs(3)));
    match asked {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("callflow: probe: {problem}");
            ExitCode::FAILURE
        }
    }
}

fn check(dir: PathBuf, max: flow::MaxFileBytes, format: ReportFormat) -> ExitCode {
    // `ready`: the last line when the flows load; a failed load's report
    // ends with its own count of errors.
    let (reports, ready, code) = match flow::load_limited(&dir, max) {
        Ok(loaded) => {
            // `check` may run far from the server (in CI, say): a secret
            // missing here is a warning; the server refuses to start on it.
            let (_, missing) = flow::secrets::SecretValues::resolve(
                &loaded.flows,
                &flow::SecretSource::Environment,
                false,
            );
            let ready = format!(
                "{} flows in {} are ready to serve",
                loaded.flows.flows().len(),
                dir.display()
            );
            (
                vec![loaded.warnings, missing],
                Some(ready),
                ExitCode::SUCCESS,
            )
        }
        Err(report) => (vec![report], None, ExitCode::FAILURE),
    };
    let written = write_check(
        &reports,
        ready.as_deref(),
        format,
        &mut std::io::stdout().lock(),
    );
    match written {
        Ok(()) => code,
        // Stdout is gone (a closed pipe): nowhere left to say anything.
        Err(_) => ExitCode::FAILURE,
    }
}

async fn test(
    dir: &std::path::Path,
    engine: crate::engine::EngineSettings,
    options: &crate::flowtest::Options,
) -> ExitCode {
    match crate::flowtest::run_measured(dir, engine, options, &mut std::io::stdout().lock()).await {
        Ok(run) if run.succeeded() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        // Stdout is gone (a closed pipe): nowhere left to say anything.
        Err(crate::flowtest::RunError::Output(_)) => ExitCode::FAILURE,
        Err(error) => {
            println!("{error}");
            ExitCode::FAILURE
        }
    }
}

fn render(settings: &Flows, flow: &str, step: Option<&str>, at: Option<Timestamp>) -> ExitCode {
    let Some(flows) = load_flows(settings) else {
        return ExitCode::FAILURE;
    };
    match crate::engine::preview_blocking(
        &flows,
        &settings.engine(),
        flow,
        step,
        at.unwrap_or_else(Timestamp::now),
    ) {
        Ok(twiml) => {
            println!("{twiml}");
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("callflow: {problem}");
            ExitCode::FAILURE
        }
    }
}

/// `callflow graph`.
fn graph(settings: &Flows, name: &str, format: GraphFormat) -> ExitCode {
    let Some(flows) = load_flows(settings) else {
        return ExitCode::FAILURE;
    };
    let Some(graph) = flow::graph::build(&flows, name) else {
        let known: Vec<String> = flows.flows().iter().map(|f| f.name.clone()).collect();
        let help = flow::compiler::near_or_list(name, &known, "the flows are", "");
        eprintln!("callflow: there is no flow named `{name}`: {help}");
        return ExitCode::FAILURE;
    };
    match format {
        GraphFormat::Mermaid => print!("{}", flow::graph::mermaid::write(&graph)),
        GraphFormat::Dot => print!("{}", flow::graph::dot::write(&graph)),
    }
    ExitCode::SUCCESS
}

/// The caller's inputs in the order they were given on the command line.
fn input_order(matches: &ArgMatches) -> Vec<CallerAction> {
    let mut inputs: Vec<(usize, CallerAction)> = Vec::new();
    let mut take = |name: &str, make: fn(String) -> CallerAction| {
        if let (Some(indices), Some(values)) =
            (matches.indices_of(name), matches.get_many::<String>(name))
        {
            inputs.extend(indices.zip(values).map(|(i, v)| (i, make(v.clone()))));
        }
    };
    take("press", CallerAction::Press);
    take("say", CallerAction::Say);
    take("dial_outcome", CallerAction::DialOutcome);
    take("agent_handoff", |handoff| match handoff.trim() {
        "failed" => CallerAction::AgentFails,
        "" => CallerAction::AgentEnds(None),
        json => CallerAction::AgentEnds(Some(json.to_owned())),
    });
    take("queue", |event| {
        CallerAction::Queue(QueueEvent::parse(&event).unwrap_or(QueueEvent::Hold))
    });
    take("callee", |answer| {
        CallerAction::Callee(CalleeAnswer::parse(&answer).unwrap_or(CalleeAnswer::Accepts))
    });
    if let Some(indices) = matches.indices_of("silence") {
        inputs.extend(indices.map(|i| (i, CallerAction::Silence)));
    }
    inputs.sort_by_key(|(i, _)| *i);
    inputs.into_iter().map(|(_, action)| action).collect()
}

async fn call(settings: &Flows, args: CallArgs, mut script: Vec<CallerAction>) -> ExitCode {
    let Some(flows) = load_flows(settings) else {
        return ExitCode::FAILURE;
    };
    // A simulated call makes real requests (it is the operator's own tool)
    // but sends no texts: they show in the transcript.
    let mut engine = settings.engine().simulated();
    // Real requests need the real secrets; stubbed ones need none.
    let secrets = match &args.stub {
        None => flow::SecretSource::Environment,
        Some(file) => {
            let stubs = std::fs::read_to_string(file)
                .map_err(|error| error.to_string())
                .and_then(|text| crate::outbound::stub::Stubs::from_yaml(&text));
            match stubs {
                Ok(stubs) => engine.outbound = crate::outbound::Outbound::stubbed(stubs),
                Err(error) => {
                    eprintln!(
                        "callflow: cannot use the stubs in {}: {error}",
                        file.display()
                    );
                    return ExitCode::FAILURE;
                }
            }
            flow::SecretSource::Placeholders
        }
    };
    let flows = match flows.with_secrets(&secrets) {
        Ok(flows) => flows,
        Err(report) => {
            eprintln!("{report}");
            return ExitCode::FAILURE;
        }
    };
    let clock = args.at.map_or(Clock::System, Clock::Fixed);
    let router = http::router(AppState::new(flows, engine).with_clock(clock));
    if args.hang_up {
        script.push(CallerAction::HangUp);
    }
    let mut params = Vec::new();
    for pair in &args.param {
        match pair.split_once('=') {
            Some((name, value)) => params.push((name.to_owned(), value.to_owned())),
            None => {
                eprintln!("callflow: --param takes NAME=VALUE, not `{pair}`");
                return ExitCode::FAILURE;
            }
        }
    }
    let setup = CallSetup {
        from: args.from,
        to: args.to,
        flow: args.flow,
        params,
    };
    println!("call from {} to {}", setup.from, setup.to);
    match SimulatedCall::play_script(router, setup, script).await {
        Ok(call) => {
            print!("{}", call.transcript());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("callflow: the simulated call failed: {error}");
            ExitCode::FAILURE
        }
    }
}
