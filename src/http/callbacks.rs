//! Twilio's reports after the fact, signed like every webhook:
//!
//! - `POST /voice/sms-status`: how a text message went. A message that
//!   could not be delivered is logged with Twilio's error code; the send
//!   itself was logged with the CallSid and the MessageSid.
//! - `POST /voice/recording`: a `record` step's voicemail is ready (or its
//!   transcript is): its notifications go out ([`engine::notify`]).
//!
//! Both answer `204`: Twilio reads nothing from them. A report whose call
//! state was not sealed by this line is refused with `403`.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::signature::{self, WebhookForm};
use super::{AppState, HttpError};
use crate::engine::{self, CallState, NOTICE_PATH, Webhook};
use crate::messaging::SMS_STATUS_PATH;
use crate::messaging::texted::{self, TEXTS_HEADER};
use crate::outbound::seen::{self, REQUESTS_HEADER};

const REQUESTS: HeaderName = HeaderName::from_static(REQUESTS_HEADER);
const TEXTS: HeaderName = HeaderName::from_static(TEXTS_HEADER);

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(SMS_STATUS_PATH, post(sms_status))
        .route(NOTICE_PATH, post(recording))
        .route_layer(from_fn_with_state(
            state.webhook_auth.clone(),
            signature::verify_twilio_signature,
        ))
        .with_state(state)
}

/// Twilio's delivery report of a text message.
async fn sms_status(form: WebhookForm) -> Response {
    let param = |name: &str| {
        form.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_ref())
    };
    let message_sid = param("MessageSid").unwrap_or("-");
    let status = param("MessageStatus").unwrap_or("-");
    match status {
        "failed" | "undelivered" => tracing::warn!(
            message_sid,
            status,
            error_code = param("ErrorCode"),
            "a text message was not delivered; look the error code up in Twilio's error dictionary"
        ),
        _ => tracing::debug!(message_sid, status, "text message status"),
    }
    StatusCode::NO_CONTENT.into_response()
}

/// Twilio's report of a finished recording, or of its transcript.
async fn recording(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: WebhookForm,
) -> Response {
    let webhook = Webhook {
        query: &form.query,
        params: &form.params,
        now: state.clock.now(),
    };
    let flows = state.flows.for_call(CallState::version_in(&form.query));
    let noticed = match engine::notify(&flows, &state.engine, &webhook).await {
        Ok(noticed) => noticed,
        Err(rejected) => {
            tracing::warn!(
                call_sid = webhook.call_sid(),
                "a recording report was refused: {rejected}"
            );
            return HttpError::Forbidden(rejected.to_string()).into_response();
        }
    };
    let mut response = StatusCode::NO_CONTENT.into_response();
    // What the report set off, for the simulator's transcript, as `/voice`
    // tells it.
    if headers.contains_key(&REQUESTS)
        && !noticed.requests.is_empty()
        && let Ok(value) = HeaderValue::from_str(&seen::encode(&noticed.requests))
    {
        response.headers_mut().insert(REQUESTS, value);
    }
    if headers.contains_key(&TEXTS)
        && !noticed.texts.is_empty()
        && let Ok(value) = HeaderValue::from_str(&texted::encode(&noticed.texts))
    {
        response.headers_mut().insert(TEXTS, value);
    }
    response
}
