//! The one place an HTTP failure becomes a status and a body.
//!
//! Every handler that can refuse a request returns [`HttpError`]; its
//! [`IntoResponse`] picks the status and writes `{"error": "…"}` with the
//! sentence a person can act on, plus the extra fields a client needs to
//! recover (`missing`, `retry_after`, the simulated `call`). Failures that
//! are the server's own are logged in full and answered with a sentence
//! that points at the log, so no internal detail or secret leaves the
//! process.

use axum::Json;
use axum::http::header::{CACHE_CONTROL, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A request refused, or a failure on the server's side.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The request is malformed: a bad parameter, a body that breaks off.
    #[error("{0}")]
    BadRequest(String),
    /// Credentials are missing or wrong; `challenges` become
    /// `WWW-Authenticate` headers.
    #[error("{reason}")]
    Unauthorized {
        reason: String,
        challenges: Vec<String>,
    },
    /// The client may not have this: an unsigned webhook, a simulator
    /// switched off.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// The request did not arrive within the server's time limit.
    #[error("the request did not arrive in time (Twilio sends a webhook in one piece, at once)")]
    Timeout,
    #[error("{0}")]
    Conflict(String),
    #[error(
        "the request body is over {} KiB; Twilio's webhooks are far smaller",
        limit / 1024
    )]
    TooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The request was understood but what it asked for failed, with
    /// what the client needs to show why (a simulated call so far).
    #[error("{error}")]
    Unprocessable {
        error: String,
        call: Option<Box<serde_json::Value>>,
    },
    /// Too many requests from this client; try again after `retry_after`
    /// seconds.
    #[error("{message}")]
    RateLimited { message: String, retry_after: u64 },
    /// A feature is switched off until the operator sets `missing`.
    #[error("{message}")]
    NotConfigured {
        message: String,
        missing: Vec<&'static str>,
    },
    /// Shutdown has begun: this replica answers what reaches it but should
    /// be sent nothing new.
    #[error("shutting down: this replica is draining; send new calls to another")]
    Draining,
    /// The server's own failure: logged, and shown only as "see the log".
    #[error("{0}")]
    Internal(String),
}

impl HttpError {
    pub fn status(&self) -> StatusCode {
        match self {
            HttpError::BadRequest(_) => StatusCode::BAD_REQUEST,
            HttpError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            HttpError::Forbidden(_) => StatusCode::FORBIDDEN,
            HttpError::NotFound(_) => StatusCode::NOT_FOUND,
            HttpError::Timeout => StatusCode::REQUEST_TIMEOUT,
            HttpError::Conflict(_) => StatusCode::CONFLICT,
            HttpError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            HttpError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            HttpError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            HttpError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            HttpError::NotConfigured { .. } | HttpError::Draining => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            HttpError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The JSON body of every refusal.
#[derive(Serialize)]
struct ErrorBody {
    error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    missing: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    call: Option<Box<serde_json::Value>>,
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut body = ErrorBody {
            error: self.to_string(),
            missing: None,
            retry_after: None,
            call: None,
        };
        let mut challenges = Vec::new();
        match self {
            HttpError::Internal(detail) => {
                tracing::error!(error = %detail, "a request failed on the server's side");
                body.error = "the server could not answer; its log has the details".to_owned();
            }
            HttpError::Unauthorized { challenges: c, .. } => challenges = c,
            HttpError::RateLimited { retry_after, .. } => body.retry_after = Some(retry_after),
            HttpError::NotConfigured { missing, .. } => body.missing = Some(missing),
            HttpError::Unprocessable { call, .. } => body.call = call,
            _ => {}
        }
        let retry_after = body.retry_after;
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        // A refusal describes this moment (a rate limit, a missing
        // setting), so no cache should keep it.
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        for challenge in challenges {
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                headers.append(WWW_AUTHENTICATE, value);
            }
        }
        if let Some(seconds) = retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_of(error: HttpError) -> (StatusCode, serde_json::Value, Response) {
        let response = error.into_response();
        let status = response.status();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap();
        (
            status,
            json,
            Response::from_parts(parts, axum::body::Body::empty()),
        )
    }

    #[tokio::test]
    async fn a_server_failure_shows_no_detail() {
        let (status, json, _) = body_of(HttpError::Internal("key file unreadable".into())).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!json["error"].as_str().unwrap().contains("key file"));
    }

    #[tokio::test]
    async fn a_rate_limit_says_when_to_come_back_in_body_and_header() {
        let limited = HttpError::RateLimited {
            message: "slow down".into(),
            retry_after: 7,
        };
        let (status, json, response) = body_of(limited).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(json["retry_after"], 7);
        assert_eq!(response.headers()[RETRY_AFTER], "7");
    }
}
