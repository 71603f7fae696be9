//! `/voice`: the webhook Twilio calls for every turn of a call.
//!
//! The handler reads the query (the call's state) and the form body
//! (Twilio's parameters), asks the engine for the TwiML, and always answers
//! 200 with a TwiML document: even a panic in the engine becomes a spoken
//! apology, because an HTTP error makes Twilio play its own error message
//! ("an application error has occurred") and drop the caller.

use std::panic::AssertUnwindSafe;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::FutureExt as _;

use super::AppState;
use super::form;
use super::signature::{self, MAX_WEBHOOK_BODY_BYTES};
use crate::engine::{self, Webhook};
use crate::twiml;

/// Response header listing the steps a webhook ran, as `flow:step` separated
/// by spaces, for a request that carries the same header (any value): the
/// simulator asks for it; Twilio does not, and its answers stay lean.
pub const STEPS_HEADER: &str = "x-callflow-steps";

/// [`STEPS_HEADER`] as a header name, so looking for it on every webhook
/// does not parse the name again.
const STEPS: HeaderName = HeaderName::from_static(STEPS_HEADER);

pub fn router() -> Router<AppState> {
    Router::new().route("/voice", get(handle).post(handle))
}

/// Built once: a header value from a string is validated and copied on
/// every use.
const TWIML_TYPE: HeaderValue = HeaderValue::from_static("text/xml; charset=utf-8");

/// Said when the engine itself fails, which a test should never see.
const PANIC_APOLOGY: &str =
    "We're sorry, something went wrong on our side. Please call again later. Goodbye.";

async fn handle(State(state): State<AppState>, request: Request) -> Response {
    answer(&state, request).await
}

/// Answers one webhook: checks its signature when an auth token is set,
/// then asks the engine. Both ways into `/voice` come here: the router,
/// and the server's direct path ([`super::App`]).
pub async fn answer(state: &AppState, request: Request) -> Response {
    let request = match signature::check(&state.webhook_auth, request).await {
        Ok(request) => request,
        Err(refusal) => return refusal,
    };
    let (parts, body) = request.into_parts();
    let wants_steps = parts.headers.contains_key(&STEPS);
    let query = form::parse(parts.uri.query().unwrap_or("").as_bytes());
    let body = if form::is_form(&parts.headers) {
        match form::read(body, MAX_WEBHOOK_BODY_BYTES).await {
            Ok(body) => body,
            Err(unreadable) => {
                let reason = serde_json::json!({ "error": unreadable.reason() });
                return (unreadable.status(), axum::Json(reason)).into_response();
            }
        }
    } else {
        Bytes::new()
    };
    let params = form::parse(&body);
    let webhook = Webhook {
        query: &query,
        params: &params,
        now: state.clock.now(),
    };
    // A call in progress stays on the flows it started with.
    let flows = state
        .flow_store
        .for_call(engine::CallState::version_in(&query));
    let mut visited = String::new();
    let twiml = match AssertUnwindSafe(engine::answer(&flows, &state.engine, &webhook))
        .catch_unwind()
        .await
    {
        Ok(answer) => {
            tracing::debug!(
                call_sid = webhook.call_sid(),
                flow = answer.flow.unwrap_or("-"),
                step = answer.step.unwrap_or("-"),
                "answered"
            );
            if wants_steps {
                visited = answer.visited();
            }
            answer.twiml
        }
        Err(panic) => {
            let cause = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(
                call_sid = webhook.call_sid(),
                cause,
                "the engine panicked; the caller heard an apology"
            );
            let mut response = twiml::Response::new();
            response.push(crate::flow::steps::say::verb(
                PANIC_APOLOGY,
                None,
                None,
                None,
            ));
            response.push(crate::flow::steps::hangup::verb());
            response.to_xml()
        }
    };
    // Built directly: the tuple form would first insert a text/plain type,
    // then replace it.
    let mut response = Response::new(axum::body::Body::from(twiml));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, TWIML_TYPE);
    // The steps taken, for the simulator, flow tests and the browser page.
    if wants_steps && let Ok(value) = HeaderValue::from_str(&visited) {
        response.headers_mut().insert(STEPS, value);
    }
    response
}
