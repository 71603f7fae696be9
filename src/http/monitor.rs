//! What the server tells its operator: `GET /metrics`, the timing of every
//! request, one call event per webhook, and `/voice/status`.
//!
//! `/metrics` shows which flows and steps callers take, so it needs the
//! admin key (`Authorization: Bearer`, which Prometheus sends), unless
//! `METRICS_PUBLIC=true` opens it on purpose.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::AppState;
use super::admin::{self, AdminGate};
use super::signature::{self, WebhookForm};
use crate::engine::{Answer, Webhook};
use crate::metrics::Metrics;

/// The OpenMetrics text type Prometheus asks for.
const OPENMETRICS: HeaderValue =
    HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8");

/// Put on a response the signature check refused, so the timing layer
/// counts it without the check knowing about metrics.
#[derive(Debug, Clone, Copy)]
pub struct SignatureRefused;

/// `GET /metrics`, behind the admin key unless `public`.
pub fn router(metrics: Metrics, admin: Arc<AdminGate>, public: bool) -> Router {
    let route = Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics);
    if public {
        route
    } else {
        route.route_layer(from_fn_with_state(admin, admin::require))
    }
}

async fn scrape(State(metrics): State<Metrics>) -> Response {
    ([(header::CONTENT_TYPE, OPENMETRICS)], metrics.encode()).into_response()
}

/// `POST /voice/status`: Twilio's call status callback, signed like every
/// webhook. It ends the call's record: a final event with its status and
/// length, which `callflow report` joins with the call's turns.
pub fn status_router(state: AppState) -> Router {
    Router::new()
        .route("/voice/status", post(call_status))
        .route_layer(from_fn_with_state(
            state.webhook_auth.clone(),
            signature::verify_twilio_signature,
        ))
        .with_state(state)
}

async fn call_status(State(state): State<AppState>, form: WebhookForm) -> Response {
    let param = |name: &str| {
        form.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_ref())
    };
    let status = param("CallStatus").unwrap_or("-");
    let duration = param("CallDuration").and_then(|d| d.parse::<u64>().ok());
    state
        .metrics
        .call_finished(status, duration.map(|seconds| seconds as f64));
    let call_sid = param("CallSid").unwrap_or("-");
    if crate::logging::json() {
        tracing::info!(target: "callflow::call", event = "call_ended", call_sid, status, duration, "call ended");
    } else {
        tracing::debug!(target: "callflow::call", call_sid, status, duration, "call ended");
    }
    axum::http::StatusCode::NO_CONTENT.into_response()
}

/// A layer's function: times every request, by route, and counts
/// webhooks refused for their signature.
pub async fn time_requests(
    State(metrics): State<Metrics>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = route_of(request.uri().path());
    let response = next.run(request).await;
    if response.extensions().get::<SignatureRefused>().is_some() {
        metrics.signature_failure();
    }
    metrics.observe_webhook(route, started.elapsed().as_secs_f64());
    response
}

/// The route a path belongs to, from the closed list the metrics keep.
fn route_of(path: &str) -> Option<&'static str> {
    if path.starts_with("/simulate") {
        return Some("/simulate");
    }
    crate::metrics::ROUTES.iter().copied().find(|r| *r == path)
}

/// Counts a turn and writes its call event: the steps it ran, the kind of
/// answer the caller gave (the answer itself only with `LOG_INPUTS`),
/// what the steps made of it, and how the turn ended.
pub fn record_turn(state: &AppState, webhook: &Webhook<'_>, answer: &Answer<'_>) {
    state.metrics.observe_turn(&answer.report, answer.flow);
    // The event's text is built only when some log will write it: a
    // readable log at `info` drops it, and a webhook need not pay for it.
    let json = crate::logging::json();
    if !json && !tracing::enabled!(target: "callflow::call", tracing::Level::DEBUG) {
        return;
    }
    let report = &answer.report;
    let input = input_kind(webhook);
    let shown = |name| state.log_inputs.then(|| webhook.param(name)).flatten();
    let (digits, speech) = (shown("Digits"), shown("SpeechResult"));
    let mut menus = Vec::new();
    let mut dials = Vec::new();
    let mut requests = Vec::new();
    for (name, outcome) in report.outcomes() {
        let at = format!("{}:{}", name.flow, name.step);
        match outcome {
            crate::flow::steps::Outcome::Menu(result) => {
                let what = match result {
                    crate::flow::steps::MenuResult::Match(key) => {
                        key.split_whitespace().collect::<Vec<_>>().join("_")
                    }
                    other => other.as_str().to_owned(),
                };
                menus.push(format!("{at}={what}"));
            }
            crate::flow::steps::Outcome::Dial(outcome) => {
                dials.push(format!("{at}={}", outcome.as_str()));
            }
            crate::flow::steps::Outcome::Queue(outcome) => {
                dials.push(format!("{at}=queue:{}", outcome.as_str()));
            }
            crate::flow::steps::Outcome::Request { outcome, millis } => {
                requests.push(format!("{at}={outcome}:{millis}ms"));
            }
        }
    }
    let joined = |list: Vec<String>| (!list.is_empty()).then(|| list.join(" "));
    let (menus, dials, requests) = (joined(menus), joined(dials), joined(requests));
    let names = |list: &mut dyn Iterator<Item = crate::engine::StepName<'_>>| {
        let names: Vec<String> = list.map(|n| format!("{}:{}", n.flow, n.step)).collect();
        names.join(" ")
    };
    let entered = names(&mut report.entered());
    let resumed = report.resumed().map(|n| format!("{}:{}", n.flow, n.step));
    let call_sid = webhook.call_sid();
    let flow = answer.flow.unwrap_or("-");
    let step = answer.step.unwrap_or("-");
    let end = report.end.as_str();
    if json {
        tracing::info!(
            target: "callflow::call",
            event = "turn",
            call_sid,
            flow,
            started = report.started,
            resumed,
            entered,
            input,
            digits,
            speech,
            menus,
            dials,
            requests,
            end,
            step,
            problem = answer.problem.as_deref(),
        );
    } else {
        tracing::debug!(target: "callflow::call", call_sid, flow, step, entered, input, end, "answered");
    }
}

/// What kind of answer the webhook brings, never the answer itself.
fn input_kind(webhook: &Webhook<'_>) -> &'static str {
    let given = |name| webhook.param(name).is_some_and(|v| !v.trim().is_empty());
    if given("Digits") {
        "digits"
    } else if given("SpeechResult") {
        "speech"
    } else if given("RecordingUrl") {
        "recording"
    } else if given("DialCallStatus") {
        "dial"
    } else {
        "none"
    }
}
