//! `/voice`: the webhook Twilio calls for every turn of a call.
//!
//! The handler reads the query (the call's state) and the form body
//! (Twilio's parameters), asks the engine for the TwiML, and always answers
//! 200 with a TwiML document: even a panic in the engine becomes a spoken
//! apology, because an HTTP error makes Twilio play its own error message
//! ("an application error has occurred") and drop the caller.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http_body_util::LengthLimitError;

use super::AppState;
use super::signature::{self, MAX_WEBHOOK_BODY_BYTES};
use crate::engine::{self, Webhook};
use crate::twiml;

/// Response header listing the steps a webhook ran, as `flow:step` separated
/// by spaces, for a request that carries the same header (any value): the
/// simulator asks for it; Twilio does not, and its answers stay lean.
pub const STEPS_HEADER: &str = "x-callflow-steps";

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
    let wants_steps = parts.headers.contains_key(STEPS_HEADER);
    let query = parse_pairs(parts.uri.query().unwrap_or("").as_bytes());
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let body = if is_form {
        match read_body(body, MAX_WEBHOOK_BODY_BYTES).await {
            Ok(body) => body,
            Err(refusal) => return refusal,
        }
    } else {
        Bytes::new()
    };
    let params = parse_pairs(&body);
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
    let twiml = match catch_unwind(AssertUnwindSafe(|| {
        engine::answer(&flows, &state.engine, &webhook)
    })) {
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
            response.push(engine::render::say(PANIC_APOLOGY, None, None, None));
            response.push(engine::render::hangup());
            response.to_xml()
        }
    };
    let mut response = ([(header::CONTENT_TYPE, TWIML_TYPE)], twiml).into_response();
    // The steps taken, for the simulator, flow tests and the browser page.
    if wants_steps && let Ok(value) = HeaderValue::from_str(&visited) {
        response.headers_mut().insert(STEPS_HEADER, value);
    }
    response
}

/// The whole body, up to `limit` bytes, or the answer refusing it.
async fn read_body(body: axum::body::Body, limit: usize) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        if error.into_inner().is::<LengthLimitError>() {
            refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the request body is over {} KiB; Twilio's webhooks are far smaller",
                    limit / 1024
                ),
            )
        } else {
            refusal(
                StatusCode::BAD_REQUEST,
                "the request body could not be read".to_owned(),
            )
        }
    })
}

fn refusal(status: StatusCode, reason: String) -> Response {
    (status, axum::Json(serde_json::json!({ "error": reason }))).into_response()
}

/// Decodes `application/x-www-form-urlencoded` pairs, as
/// `form_urlencoded` does, borrowing every field with nothing to decode:
/// most of Twilio's parameters are plain.
fn parse_pairs(bytes: &[u8]) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    if bytes.is_empty() {
        return Vec::new();
    }
    let mut pairs = Vec::with_capacity(16);
    for part in bytes.split(|&b| b == b'&').filter(|part| !part.is_empty()) {
        let (name, value) = match part.iter().position(|&b| b == b'=') {
            Some(equals) => (&part[..equals], &part[equals + 1..]),
            None => (part, &part[part.len()..]),
        };
        pairs.push((decode(name), decode(value)));
    }
    pairs
}

fn decode(raw: &[u8]) -> Cow<'_, str> {
    if !raw.iter().any(|&b| b == b'%' || b == b'+') {
        // `from_utf8` first: the lossy reader is several times slower on
        // the valid text every real webhook carries.
        return match std::str::from_utf8(raw) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(raw),
        };
    }
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(raw.len());
    let mut at = 0;
    while at < raw.len() {
        match raw[at] {
            b'+' => out.push(b' '),
            b'%' => match (
                raw.get(at + 1).and_then(|&b| hex(b)),
                raw.get(at + 2).and_then(|&b| hex(b)),
            ) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    at += 2;
                }
                // A `%` not followed by two hex digits stays as it is.
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        at += 1;
    }
    Cow::Owned(
        String::from_utf8(out)
            .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::parse_pairs;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decodes_forms_exactly_as_form_urlencoded(body in prop::collection::vec(any::<u8>(), 0..200)) {
            let expected: Vec<_> = form_urlencoded::parse(&body).collect();
            prop_assert_eq!(parse_pairs(&body), expected);
        }

        #[test]
        fn decodes_twilio_shaped_forms(pairs in prop::collection::vec(("[A-Za-z]{1,12}", ".{0,30}"), 0..12)) {
            let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
            let decoded: Vec<(String, String)> = parse_pairs(body.as_bytes())
                .into_iter()
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect();
            prop_assert_eq!(decoded, pairs);
        }
    }
}
