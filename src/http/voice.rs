//! `/voice`: the webhook Twilio calls for every turn of a call.
//!
//! The signature layer has already read the request once and handed over
//! its parameters ([`WebhookForm`]); the handler asks the engine for the
//! TwiML and always answers 200 with a TwiML document. An HTTP error makes
//! Twilio play its own "an application error has occurred" and drop the
//! caller, so a turn that panics or runs past [`TURN_DEADLINE`] is answered
//! with a spoken apology instead, and logged with the CallSid.

use std::any::Any;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;

use super::AppState;
use super::signature::{self, WebhookForm};
use crate::engine::{self, CallState, Webhook};
use crate::messaging::texted;
use crate::outbound::seen;
use crate::outbound::trace::TraceContext;

use crate::simulator::ROUTES_HEADER;
/// The simulator's header asking which steps a webhook ran; declared there,
/// since the simulator sits below the router it drives.
pub use crate::simulator::STEPS_HEADER;

const STEPS: HeaderName = HeaderName::from_static(STEPS_HEADER);
const ROUTES: HeaderName = HeaderName::from_static(ROUTES_HEADER);
const REQUESTS: HeaderName = HeaderName::from_static(seen::REQUESTS_HEADER);
const TEXTS: HeaderName = HeaderName::from_static(texted::TEXTS_HEADER);
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

const TWIML_TYPE: HeaderValue = HeaderValue::from_static("text/xml; charset=utf-8");

/// How long one turn may take, from the moment the webhook has arrived.
/// Twilio gives up after 15 seconds and plays its own error; past this the
/// caller hears the apology with time to spare.
pub const TURN_DEADLINE: Duration = Duration::from_secs(8);

/// `/voice` for GET and POST. Its own panic guard answers with the
/// apology in TwiML, so even a bug keeps the call's last words polite.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/voice", get(answer).post(answer))
        .route_layer(from_fn_with_state(
            state.webhook_auth.clone(),
            signature::verify_twilio_signature,
        ))
        .route_layer(CatchPanicLayer::custom(apologise_for_panic))
        .with_state(state)
}

/// Answers one webhook with the TwiML of the call's next turn.
async fn answer(State(state): State<AppState>, headers: HeaderMap, form: WebhookForm) -> Response {
    let webhook = Webhook {
        query: &form.query,
        params: &form.params,
        now: state.clock.now(),
    };
    // A call in progress stays on the flows it started with.
    let flows = state.flows.for_call(CallState::version_in(&form.query));
    let trace = headers
        .get(&TRACEPARENT)
        .and_then(|value| value.to_str().ok())
        .and_then(TraceContext::parse);
    let turn = async {
        if let Some(fault) = state.fault {
            fault.strike().await;
        }
        engine::answer_traced(&flows, &state.engine, &webhook, trace).await
    };
    let mut visited = None;
    let mut routes = None;
    let mut requests = None;
    let mut texts = None;
    let twiml = match tokio::time::timeout(TURN_DEADLINE, turn).await {
        Ok(answer) => {
            super::monitor::record_turn(&state, &webhook, &answer);
            if headers.contains_key(&STEPS) {
                visited = Some(answer.visited());
            }
            if headers.contains_key(&ROUTES) {
                routes = Some(answer.routes());
            }
            if headers.contains_key(&REQUESTS) && !answer.requests.is_empty() {
                requests = Some(seen::encode(&answer.requests));
            }
            if headers.contains_key(&TEXTS) && !answer.texts.is_empty() {
                texts = Some(texted::encode(&answer.texts));
            }
            answer.twiml
        }
        Err(_) => {
            tracing::error!(
                call_sid = webhook.call_sid(),
                "the turn took longer than {} s; the caller heard an apology",
                TURN_DEADLINE.as_secs()
            );
            engine::apology()
        }
    };
    let mut response = twiml_response(twiml);
    // The steps taken, for the simulator, flow tests and the browser page.
    if let Some(value) = visited.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert(STEPS, value);
    }
    // The routes they left by, for flow tests' coverage.
    if let Some(value) = routes.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert(ROUTES, value);
    }
    // The requests made, secrets masked, for the same transcripts.
    if let Some(value) = requests.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert(REQUESTS, value);
    }
    // And the texts sent, or noted when the call is simulated.
    if let Some(value) = texts.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert(TEXTS, value);
    }
    response
}

fn twiml_response(twiml: String) -> Response {
    ([(header::CONTENT_TYPE, TWIML_TYPE)], Body::from(twiml)).into_response()
}

/// What [`CatchPanicLayer`] answers when a turn panics. The request's span
/// carries the CallSid, so the log line names the call.
fn apologise_for_panic(panic: Box<dyn Any + Send + 'static>) -> Response {
    let cause = super::panic_cause(panic.as_ref());
    tracing::error!(cause, "the turn panicked; the caller heard an apology");
    twiml_response(engine::apology())
}

/// A failure put in a turn's way on purpose, to prove that the guards
/// around it hold. Only tests set one ([`AppState::with_fault`]).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The turn panics before the engine runs.
    Panic,
    /// The turn waits this long before the engine runs, like a step
    /// waiting on a slow outside service.
    Stall(Duration),
}

impl Fault {
    async fn strike(self) {
        match self {
            Fault::Panic => panic!("a fault put in the turn's way"),
            Fault::Stall(wait) => tokio::time::sleep(wait).await,
        }
    }
}
