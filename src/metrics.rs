//! The line's metrics, in Prometheus/OpenMetrics text, for `GET /metrics`.
//!
//! What an operator asks of a phone line: how many calls each flow took,
//! which steps callers reach, what they pick at each menu, how dials end,
//! how often the apology is spoken, and how fast webhooks are answered.
//!
//! Labels come only from the flow files (flow, step) and from closed sets
//! (how a turn ended, a menu's result, a dial's outcome, a route): never
//! from a CallSid, a number or what a caller typed, so the number of series
//! is bounded by the flows, not by the traffic. Counters are per process;
//! Prometheus adds the replicas up.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric, text};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use clap::{ArgAction, Args};

use crate::engine::{StepName, TurnEnd, TurnReport};
use crate::flow::steps::Outcome;
use crate::logging::LogFormat;
use crate::reload::{FlowStore, ReloadResult};
use crate::setting::{names, parse, setting};

/// What the line tells its operator: the settings group of the metrics
/// and the log.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Monitoring")]
pub struct Monitoring {
    /// `text` for readable log lines, `json` for one JSON object a line, with an event for
    /// every webhook that `callflow report` reads.
    #[arg(long, env = names::LOG_FORMAT, global = true, default_value = "text",
          value_parser = setting(LogFormat::parse))]
    pub log_format: LogFormat,

    /// Put the digits and words callers give in call events. Off by default: digits can be
    /// card numbers or PINs.
    #[arg(long, env = names::LOG_INPUTS, global = true, value_name = "YES/NO",
          default_value = "false", num_args = 0..=1, default_missing_value = "true",
          action = ArgAction::Set, value_parser = setting(parse::flag))]
    pub log_inputs: bool,

    /// Serve /metrics to anyone, without the admin key (logged as a warning at start-up).
    #[arg(long, env = names::METRICS_PUBLIC, global = true, value_name = "YES/NO",
          default_value = "false", num_args = 0..=1, default_missing_value = "true",
          action = ArgAction::Set, value_parser = setting(parse::flag))]
    pub metrics_public: bool,
}

/// Buckets for webhook latency, in seconds: a turn takes microseconds
/// without outside calls, and Twilio gives up at 15 s.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Buckets for call durations, in seconds.
const DURATION_BUCKETS: [f64; 10] = [
    5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FlowLabels {
    flow: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndLabels {
    flow: String,
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StepLabels {
    flow: String,
    step: String,
}

/// A move from `step` to `to`: a step of the same flow, or `flow:step`
/// when the move left the flow (`goto`, `call`, or back from a called one).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MoveLabels {
    flow: String,
    step: String,
    to: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    flow: String,
    step: String,
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    flow: String,
    step: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: &'static str,
}

/// The metrics of one process. Clones share the counts.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    calls_started: Family<FlowLabels, Counter>,
    calls_ended: Family<EndLabels, Counter>,
    step_entries: Family<StepLabels, Counter>,
    routes_taken: Family<MoveLabels, Counter>,
    menu_results: Family<ResultLabels, Counter>,
    dial_outcomes: Family<OutcomeLabels, Counter>,
    queue_results: Family<OutcomeLabels, Counter>,
    request_duration: Family<OutcomeLabels, Histogram>,
    webhook_duration: Family<RouteLabels, Histogram>,
    signature_failures: Counter,
    state_rejected: Counter,
    calls_finished: Family<StatusLabels, Counter>,
    call_duration: Histogram,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(None)
    }
}

/// The routes webhook latency is kept for; anything else is `other`, so a
/// scanner trying paths adds no series.
pub const ROUTES: &[&str] = &[
    "/voice",
    "/voice/status",
    "/voice/sms-status",
    "/voice/recording",
    "/voice/token",
    "/flows",
    "/flows/graph",
    "/metrics",
    "/healthz",
    "/readyz",
    "/simulate",
];

/// Twilio's final call statuses; anything else is counted as `other`.
const CALL_STATUSES: &[&str] = &["completed", "busy", "no-answer", "failed", "canceled"];

impl Metrics {
    /// The metrics of a server whose flows `store` serves: the reload
    /// counts and the number of flows are read from it at each scrape.
    pub fn new(store: Option<Arc<FlowStore>>) -> Metrics {
        let mut registry = Registry::with_prefix("callflow");
        let calls_started = Family::<FlowLabels, Counter>::default();
        registry.register(
            "calls_started",
            "Calls whose first webhook a flow answered",
            calls_started.clone(),
        );
        let calls_ended = Family::<EndLabels, Counter>::default();
        registry.register(
            "calls_ended",
            "Calls the line ended, by how: completed (the flow ran to its end or a hangup), rejected, apology, no_input (silent too long), refused (state not sealed by this line)",
            calls_ended.clone(),
        );
        let step_entries = Family::<StepLabels, Counter>::default();
        registry.register(
            "step_entries",
            "Times calls entered each step; a menu asked again counts again",
            step_entries.clone(),
        );
        let routes_taken = Family::<MoveLabels, Counter>::default();
        registry.register(
            "routes_taken",
            "Moves of calls from a step to the next (to: a step, or flow:step in another flow); a menu asked again moves to itself",
            routes_taken.clone(),
        );
        let menu_results = Family::<ResultLabels, Counter>::default();
        registry.register(
            "menu_results",
            "Answers to each menu: match, no_input, no_match, exhausted",
            menu_results.clone(),
        );
        let dial_outcomes = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "dial_outcomes",
            "How each dial step's dials ended",
            dial_outcomes.clone(),
        );
        let queue_results = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "queue_results",
            "How each enqueue step's waits ended: bridged, leave, queue-full, hangup, error",
            queue_results.clone(),
        );
        let request_duration =
            Family::<OutcomeLabels, Histogram>::new_with_constructor(latency_histogram);
        registry.register(
            "request_duration_seconds",
            "Time taken by each request step, by outcome",
            request_duration.clone(),
        );
        let webhook_duration =
            Family::<RouteLabels, Histogram>::new_with_constructor(latency_histogram);
        registry.register(
            "webhook_duration_seconds",
            "Time from a request's arrival to its answer, by route",
            webhook_duration.clone(),
        );
        let signature_failures = Counter::default();
        registry.register(
            "webhook_signature_failures",
            "Webhooks refused because X-Twilio-Signature did not match",
            signature_failures.clone(),
        );
        let state_rejected = Counter::default();
        registry.register(
            "state_rejected",
            "Webhooks whose call state was missing its seal or forged",
            state_rejected.clone(),
        );
        let calls_finished = Family::<StatusLabels, Counter>::default();
        registry.register(
            "calls_finished",
            "Calls Twilio reported over, by their final status (from /voice/status)",
            calls_finished.clone(),
        );
        let call_duration = Histogram::new(DURATION_BUCKETS);
        registry.register(
            "call_duration_seconds",
            "Length of calls Twilio reported over (from /voice/status)",
            call_duration.clone(),
        );
        registry.register(
            "build",
            "The callflow version running",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        if let Some(store) = store {
            registry.register_collector(Box::new(StoreCollector(store)));
        }
        Metrics(Arc::new(Inner {
            registry,
            calls_started,
            calls_ended,
            step_entries,
            routes_taken,
            menu_results,
            dial_outcomes,
            queue_results,
            request_duration,
            webhook_duration,
            signature_failures,
            state_rejected,
            calls_finished,
            call_duration,
        }))
    }

    /// Counts what a turn did.
    pub fn observe_turn(&self, report: &TurnReport<'_>, flow: Option<&str>) {
        let m = &self.0;
        if report.end == TurnEnd::Refused {
            m.state_rejected.inc();
        }
        let flow = flow.unwrap_or("-");
        if report.started {
            m.calls_started
                .get_or_create(&FlowLabels { flow: flow.into() })
                .inc();
        }
        for name in report.entered() {
            m.step_entries
                .get_or_create(&StepLabels {
                    flow: name.flow.into(),
                    step: name.step.into(),
                })
                .inc();
        }
        for (from, to) in report.moves() {
            m.routes_taken
                .get_or_create(&MoveLabels {
                    flow: from.flow.into(),
                    step: from.step.into(),
                    to: move_target(from.flow, to),
                })
                .inc();
        }
        for (name, outcome) in report.outcomes() {
            let (flow, step) = (name.flow.into(), name.step.into());
            match outcome {
                Outcome::Menu(result) => {
                    let result = result.as_str();
                    let labels = ResultLabels { flow, step, result };
                    m.menu_results.get_or_create(&labels).inc();
                }
                Outcome::Dial(outcome) => {
                    let outcome = outcome.as_str();
                    let labels = OutcomeLabels {
                        flow,
                        step,
                        outcome,
                    };
                    m.dial_outcomes.get_or_create(&labels).inc();
                }
                Outcome::Queue(outcome) => {
                    let outcome = outcome.as_str();
                    let labels = OutcomeLabels {
                        flow,
                        step,
                        outcome,
                    };
                    m.queue_results.get_or_create(&labels).inc();
                }
                Outcome::Request { outcome, millis } => {
                    let labels = OutcomeLabels {
                        flow,
                        step,
                        outcome,
                    };
                    let seconds = Duration::from_millis(*millis).as_secs_f64();
                    m.request_duration.get_or_create(&labels).observe(seconds);
                }
            }
        }
        if report.end.ends_call() {
            m.calls_ended
                .get_or_create(&EndLabels {
                    flow: flow.into(),
                    reason: report.end.as_str(),
                })
                .inc();
        }
    }

    /// Calls whose first webhook `flow` answered, since start-up.
    pub fn calls_started(&self, flow: &str) -> u64 {
        let labels = FlowLabels { flow: flow.into() };
        self.0.calls_started.get(&labels).map_or(0, |c| c.get())
    }

    /// Times calls entered `step` of `flow`, since start-up.
    pub fn step_entries(&self, flow: &str, step: &str) -> u64 {
        let labels = StepLabels {
            flow: flow.into(),
            step: step.into(),
        };
        self.0.step_entries.get(&labels).map_or(0, |c| c.get())
    }

    /// Times calls moved from `step` of `flow` to `to` (a step of the same
    /// flow, or `flow:step`), since start-up.
    pub fn routes_taken(&self, flow: &str, step: &str, to: &str) -> u64 {
        let labels = MoveLabels {
            flow: flow.into(),
            step: step.into(),
            to: to.into(),
        };
        self.0.routes_taken.get(&labels).map_or(0, |c| c.get())
    }

    /// Times one request; `route` is its matched route (`None` for a path
    /// no route matched).
    pub fn observe_webhook(&self, route: Option<&str>, seconds: f64) {
        let route = route
            .and_then(|r| ROUTES.iter().find(|known| **known == r))
            .copied()
            .unwrap_or("other");
        self.0
            .webhook_duration
            .get_or_create(&RouteLabels { route })
            .observe(seconds);
    }

    pub fn signature_failure(&self) {
        self.0.signature_failures.inc();
    }

    /// A call Twilio reports over, with its final status and length.
    pub fn call_finished(&self, status: &str, seconds: Option<f64>) {
        let status = CALL_STATUSES
            .iter()
            .find(|known| **known == status)
            .copied()
            .unwrap_or("other");
        self.0
            .calls_finished
            .get_or_create(&StatusLabels { status })
            .inc();
        if let Some(seconds) = seconds {
            self.0.call_duration.observe(seconds);
        }
    }

    /// Every metric, in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if text::encode(&mut out, &self.0.registry).is_err() {
            // Writing to a String cannot fail; say so rather than panic.
            let _ = writeln!(out, "# metrics could not be written");
        }
        out
    }
}

/// The `to` label of a move out of `flow`: the step's name within the
/// flow, `flow:step` out of it (flow names hold no `:`).
pub fn move_target(flow: &str, to: StepName<'_>) -> String {
    if to.flow == flow {
        to.step.to_owned()
    } else {
        format!("{}:{}", to.flow, to.step)
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// What the flow store knows, read at each scrape.
struct StoreCollector(Arc<FlowStore>);

impl std::fmt::Debug for StoreCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreCollector")
    }
}

impl Collector for StoreCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counts = self.0.reload_counts();
        let counter = ConstCounter::new(0u64);
        let mut family = encoder.encode_descriptor(
            "flow_reloads",
            "Reloads of the flows folder: swapped (a new version serves), refused (it did not check), unchanged",
            None,
            counter.metric_type(),
        )?;
        for result in ReloadResult::ALL {
            let labels = [("result", result.as_str())];
            ConstCounter::new(counts.get(result)).encode(family.encode_family(&labels)?)?;
        }
        let flows = i64::try_from(self.0.current().flows().len()).unwrap_or(i64::MAX);
        let gauge = ConstGauge::new(flows);
        gauge.encode(encoder.encode_descriptor(
            "flows_loaded",
            "Flows in the version serving",
            None,
            gauge.metric_type(),
        )?)?;
        Ok(())
    }
}
