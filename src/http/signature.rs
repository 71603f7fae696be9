//! Axum middleware that refuses webhooks not signed by Twilio.
//!
//! Twilio posts to `/voice` (and the action URLs a flow hands out) for every turn of a call. Without
//! this check anyone who finds the URL can drive the flows and make the line dial out. The layer
//! rebuilds the URL exactly as Twilio requested it, reads the form parameters, and checks
//! `X-Twilio-Signature` with [`crate::signature`]; only then does the handler run, with the body
//! passed on unchanged.
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use axum::{Router, routing::post};
//! use callflow::http::signature::verify_twilio_signature;
//! use callflow::config::Settings;
//! # async fn voice() -> &'static str { "<Response/>" }
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = Settings::from_vars(&[("TWILIO_AUTH_TOKEN", "0123456789abcdef")])?;
//! let auth = Arc::new(settings.webhook_auth());
//! if let Some(warning) = auth.startup_warning() {
//!     tracing::warn!("{warning}");
//! }
//! let webhooks: Router = Router::new()
//!     .route("/voice", post(voice))
//!     .layer(axum::middleware::from_fn_with_state(auth, verify_twilio_signature));
//! # Ok(())
//! # }
//! ```
//!
//! Settings (environment variables, read by [`crate::config`] into [`WebhookAuth`]):
//! - `TWILIO_AUTH_TOKEN`: the key Twilio signs with. Unset means checks are off and
//!   [`WebhookAuth::startup_warning`] says so loudly.
//! - `PUBLIC_URL`: the public base URL Twilio calls (`https://abc.ngrok.app`). Needed behind a
//!   proxy or tunnel, because the signature covers the URL Twilio saw, not the one this server saw.
//! - `TRUST_FORWARDED_HEADERS=true`: without `PUBLIC_URL`, take the scheme and host from
//!   `X-Forwarded-Proto` / `X-Forwarded-Host`. Only safe when a proxy you run sets them.
//! - `TWILIO_ALLOW_UNSIGNED=true`: the explicit switch to turn the check off although a token is set.
//!
//! What is checked:
//! - URL: `PUBLIC_URL` + the request's path and query exactly as received (the full path, even
//!   under `Router::nest`); else `X-Forwarded-Proto`/`X-Forwarded-Host` when trusted, else `http`
//!   and the `Host` header. Both port spellings are accepted (see [`crate::signature::validate`]).
//! - Body: a form POST's parameters are signed; a GET or an empty body is signed over the URL
//!   alone; any other body must be bound by `bodySHA256` in the URL (Twilio's JSON webhooks), so an
//!   unsigned body never reaches a handler. Bodies over [`MAX_WEBHOOK_BODY_BYTES`] are refused.
//! - Shared-key (HMAC_SHA256) signatures are refused with an explanation: callflow is configured
//!   with the auth token only.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::form;

use crate::config::{PublicUrl, Settings, SettingsError, Webhooks};
use crate::signature::{
    self, Algorithm, AuthToken, BodyCheckError, SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER,
    truncate_for_log,
};

/// Environment variable holding the Twilio auth token.
pub const ENV_AUTH_TOKEN: &str = "TWILIO_AUTH_TOKEN";
/// Environment variable holding the public base URL Twilio calls.
pub const ENV_PUBLIC_URL: &str = "PUBLIC_URL";
/// Environment variable that lets `X-Forwarded-Proto`/`X-Forwarded-Host` decide the URL.
pub const ENV_TRUST_FORWARDED: &str = "TRUST_FORWARDED_HEADERS";
/// Environment variable that explicitly switches signature checks off.
pub const ENV_ALLOW_UNSIGNED: &str = "TWILIO_ALLOW_UNSIGNED";

/// Largest webhook body read. Twilio's form posts are a few kilobytes; anything bigger is not
/// Twilio, and buffering it would let anyone make the server hold memory.
pub const MAX_WEBHOOK_BODY_BYTES: usize = 64 * 1024;

/// Logged with a signature mismatch: the usual causes when the request really came from Twilio.
const MISMATCH_HINT: &str = "if this was Twilio, the URL above differs from the one Twilio called (set PUBLIC_URL to the https address configured in Twilio when behind ngrok or a proxy) or TWILIO_AUTH_TOKEN is not the token of the account that owns the number";

/// Longest signature header looked at (an HMAC-SHA256 in base64 is 44 characters).
const MAX_SIGNATURE_LEN: usize = 128;

/// How webhook signatures are checked. Build it once at start-up and share it with
/// [`verify_twilio_signature`] through `Arc`.
///
/// Without an auth token requests pass (with a loud [`startup_warning`](Self::startup_warning)),
/// so a first local run works; with a token, checks are on unless `allow_unsigned` is set.
#[derive(Debug, Clone)]
pub struct WebhookAuth {
    /// The key Twilio signs with (`TWILIO_AUTH_TOKEN`). `None` switches checks off.
    pub auth_token: Option<AuthToken>,
    /// Public base URL (`PUBLIC_URL`); when set it decides scheme and host of the checked URL.
    pub public_url: Option<PublicUrl>,
    /// Use `X-Forwarded-Proto`/`X-Forwarded-Host` (`TRUST_FORWARDED_HEADERS`).
    pub trust_forwarded: bool,
    /// Explicitly switch checks off (`TWILIO_ALLOW_UNSIGNED=true`).
    pub allow_unsigned: bool,
}

impl WebhookAuth {
    /// The check as the settings describe it; `public_url` is `PUBLIC_URL`, shared with the
    /// engine's callback URLs.
    pub fn new(settings: &Webhooks, public_url: Option<PublicUrl>) -> WebhookAuth {
        WebhookAuth {
            auth_token: settings.twilio_auth_token.clone(),
            public_url,
            trust_forwarded: settings.trust_forwarded_headers,
            allow_unsigned: settings.twilio_allow_unsigned,
        }
    }

    /// Reads the settings through `lookup` (see [`Settings::from_lookup`]); for embedding, and
    /// for a check that lets everything through (`|_| None`).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<WebhookAuth, SettingsError> {
        Settings::from_lookup(lookup).map(|settings| settings.webhook_auth())
    }

    /// True when requests must carry a valid signature.
    pub fn checks_enabled(&self) -> bool {
        self.auth_token.is_some() && !self.allow_unsigned
    }

    /// What to log at start-up when webhooks are not protected, or `None` when they are.
    pub fn startup_warning(&self) -> Option<String> {
        if self.allow_unsigned {
            return Some(format!(
                "{ENV_ALLOW_UNSIGNED}=true: Twilio webhook signatures are NOT checked, so anyone who can reach this server can POST to /voice and drive your call flows. Remove {ENV_ALLOW_UNSIGNED} before taking real calls."
            ));
        }
        if self.auth_token.is_none() {
            return Some(format!(
                "!!! WEBHOOKS ARE UNAUTHENTICATED !!! {ENV_AUTH_TOKEN} is not set, so callflow cannot check that requests come from Twilio: anyone who finds this server can POST to /voice, drive your call flows and make your line dial out at your expense. Fix: set {ENV_AUTH_TOKEN} to your account's auth token (Twilio Console > Account > API keys & tokens), and {ENV_PUBLIC_URL} to the https URL Twilio calls if you run behind ngrok or a proxy. To run without checks on purpose (local testing only), set {ENV_ALLOW_UNSIGNED}=true."
            ));
        }
        None
    }

    fn enforcing_token(&self) -> Option<&AuthToken> {
        self.auth_token.as_ref().filter(|_| !self.allow_unsigned)
    }
}

/// Middleware for `axum::middleware::from_fn_with_state`: lets a request through only if its
/// `X-Twilio-Signature` is valid for the URL Twilio requested and the form parameters it sent.
///
/// Refusals are `403` with `{"error": "..."}` (`413` for a body over
/// [`MAX_WEBHOOK_BODY_BYTES`], `400` for a body that cannot be read) and a `warn` log line with
/// the URL that was checked and the CallSid, never the token. The refusal does no work beyond
/// reading the capped body and at most two HMACs.
pub async fn verify_twilio_signature(
    State(auth): State<Arc<WebhookAuth>>,
    request: Request,
    next: Next,
) -> Response {
    match check(&auth, request).await {
        Ok(request) => next.run(request).await,
        Err(refusal) => refusal,
    }
}

/// The check itself, for a service that calls its handler directly rather
/// than through a middleware stack (the server's `/voice` path): the
/// request to hand on, its body buffered, or the refusal to send back.
pub async fn check(auth: &WebhookAuth, request: Request) -> Result<Request, Response> {
    let Some(token) = auth.enforcing_token() else {
        return Ok(request);
    };
    let (parts, body) = request.into_parts();
    let url = match requested_url(auth, &parts) {
        Ok(url) => url,
        Err(problem) => return Err(refusal(Refused::forbidden(problem), &parts, "-", None)),
    };
    let Some(signature) = header_str(&parts.headers, SIGNATURE_HEADER) else {
        let reason = format!(
            "missing {SIGNATURE_HEADER} header: this URL only accepts requests signed by Twilio"
        );
        return Err(refusal(Refused::forbidden(reason), &parts, &url, None));
    };
    if signature.len() > MAX_SIGNATURE_LEN {
        let reason = format!("the {SIGNATURE_HEADER} header is not a Twilio signature");
        return Err(refusal(Refused::forbidden(reason), &parts, &url, None));
    }
    let algorithm = match Algorithm::from_settings_header(header_str(
        &parts.headers,
        SIGNATURE_SETTINGS_HEADER,
    )) {
        Ok(Algorithm::HmacSha1) => Algorithm::HmacSha1,
        // A shared-key signature needs a secret callflow is not configured with; the auth token
        // would never match, so say what is going on instead of "signature mismatch".
        Ok(Algorithm::HmacSha256) => {
            let reason = format!(
                "this request is signed with a Twilio shared key (HMAC_SHA256, see {SIGNATURE_SETTINGS_HEADER}); callflow checks auth-token signatures only, so remove the Webhooks Rule for this URL"
            );
            return Err(refusal(Refused::forbidden(reason), &parts, &url, None));
        }
        Err(unsupported) => {
            return Err(refusal(
                Refused::forbidden(unsupported.to_string()),
                &parts,
                &url,
                None,
            ));
        }
    };

    let declared_too_large = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|len| len > MAX_WEBHOOK_BODY_BYTES as u64);
    if declared_too_large {
        let too_large = form::Unreadable::TooLarge {
            limit: MAX_WEBHOOK_BODY_BYTES,
        };
        return Err(refusal(too_large.into(), &parts, &url, None));
    }
    let bytes = match form::read(body, MAX_WEBHOOK_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(unreadable) => return Err(refusal(unreadable.into(), &parts, &url, None)),
    };

    // Form POSTs carry the parameters in the body and the signature covers them. Anything else
    // (GET, an empty POST) is signed over the URL alone, and a body is only acceptable when the
    // URL binds it with bodySHA256 (Twilio's JSON webhooks): an unsigned body never reaches the
    // handler.
    let form_post = parts.method == Method::POST && form::is_form(&parts.headers);
    let params = if form_post {
        form::parse(&bytes)
    } else {
        Vec::new()
    };
    let call_sid = params
        .iter()
        .find(|(name, _)| name == "CallSid")
        .map(|(_, value)| value.as_ref());
    let verdict = if form_post || (bytes.is_empty() && signature::body_hash_param(&url).is_none()) {
        signature::validate(token, algorithm, &url, &params, signature)
            .then_some(())
            .ok_or(BodyCheckError::Signature)
    } else {
        signature::validate_json_body(token, algorithm, &url, &bytes, signature)
    };
    if let Err(error) = verdict {
        let mut refused = Refused::forbidden(error.to_string());
        if error == BodyCheckError::Signature {
            refused.hint = Some(MISMATCH_HINT);
        }
        return Err(refusal(refused, &parts, &url, call_sid));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The URL Twilio requested: `PUBLIC_URL` + path-and-query, or scheme and host from the
/// (trusted) forwarded headers or the `Host` header. The path and query are used exactly as
/// received, never re-encoded, because the signature covers the raw text.
fn requested_url(auth: &WebhookAuth, parts: &Parts) -> Result<String, String> {
    // Inside a nested router axum strips the prefix from `parts.uri`; Twilio signed the full path.
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |original| &original.0);
    let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
    if let Some(public) = &auth.public_url {
        return Ok(format!("{}{path_and_query}", public.as_str()));
    }
    let forwarded = |name: &str| {
        auth.trust_forwarded
            .then(|| header_str(&parts.headers, name))
            .flatten()
            // Several proxies append to the list; the first entry is what the client used.
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let scheme = match forwarded("x-forwarded-proto") {
        None => "http",
        Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
        Some(proto) if proto.eq_ignore_ascii_case("http") => "http",
        Some(other) => {
            return Err(format!(
                "X-Forwarded-Proto \"{}\" is neither http nor https",
                truncate_for_log(other, 20)
            ));
        }
    };
    let host = forwarded("x-forwarded-host")
        .or_else(|| header_str(&parts.headers, header::HOST.as_str()))
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .ok_or_else(|| "the request has no Host header".to_owned())?;
    let host_ok = host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_:[]".contains(&b));
    if !host_ok {
        return Err(format!(
            "the host \"{}\" is not a valid host name",
            truncate_for_log(host, 40)
        ));
    }
    Ok(format!("{scheme}://{host}{path_and_query}"))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A refusal: status and the sentence sent back as `{"error": ...}`.
struct Refused {
    status: StatusCode,
    reason: String,
    /// Advice for the log only.
    hint: Option<&'static str>,
}

impl From<form::Unreadable> for Refused {
    fn from(unreadable: form::Unreadable) -> Refused {
        Refused {
            status: unreadable.status(),
            reason: unreadable.reason(),
            hint: None,
        }
    }
}

impl Refused {
    fn forbidden(reason: impl Into<String>) -> Refused {
        Refused {
            status: StatusCode::FORBIDDEN,
            reason: reason.into(),
            hint: None,
        }
    }
}

/// Logs the refusal (URL checked, CallSid; never the token) and builds the JSON response.
fn refusal(refused: Refused, parts: &Parts, url: &str, call_sid: Option<&str>) -> Response {
    let call_sid = call_sid
        .map(str::to_owned)
        .or_else(|| query_call_sid(parts))
        .map_or_else(|| "-".to_owned(), |sid| truncate_for_log(&sid, 64));
    tracing::warn!(
        url = %truncate_for_log(url, 300),
        call_sid = %call_sid,
        status = refused.status.as_u16(),
        reason = %refused.reason,
        hint = refused.hint.unwrap_or("-"),
        "refused a webhook that failed the Twilio signature check"
    );
    (
        refused.status,
        Json(serde_json::json!({ "error": refused.reason })),
    )
        .into_response()
}

/// CallSid from the query string (GET webhooks), for the log line.
fn query_call_sid(parts: &Parts) -> Option<String> {
    let query = parts.uri.query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "CallSid")
        .map(|(_, value)| value.into_owned())
}
