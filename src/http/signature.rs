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
//! Settings (environment variables, the [`Webhooks`] group of the settings tree, checked into
//! [`WebhookAuth`]):
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

use std::borrow::Cow;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, OriginalUri, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use clap::{ArgAction, Args};
use http_body_util::LengthLimitError;

use super::error::HttpError;

use crate::setting::names::{PUBLIC_URL, TWILIO_ALLOW_UNSIGNED, TWILIO_AUTH_TOKEN};
use crate::setting::{PublicUrl, SettingProblem, names, parse, setting};
use crate::signature::{
    self, Algorithm, AuthToken, BodyCheckError, SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER,
    truncate_for_log,
};

/// How webhooks are checked to come from Twilio: the group of the settings tree that
/// [`WebhookAuth::new`] checks. (`PUBLIC_URL` belongs to the flows' group, since the engine's
/// callback URLs use it too.)
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Webhook security")]
pub struct Webhooks {
    /// The auth token Twilio signs webhooks with; unset turns the signature check off.
    #[arg(long, env = names::TWILIO_AUTH_TOKEN, global = true, hide_env_values = true,
          value_parser = setting(auth_token))]
    pub twilio_auth_token: Option<AuthToken>,

    /// Without PUBLIC_URL, take scheme and host from X-Forwarded-Proto/-Host (only behind
    /// your own proxy).
    #[arg(long, env = names::TRUST_FORWARDED_HEADERS, global = true, value_name = "YES/NO",
          default_value = "false", num_args = 0..=1, default_missing_value = "true",
          action = ArgAction::Set, value_parser = setting(parse::flag))]
    pub trust_forwarded_headers: bool,

    /// Switch the signature check off although a token is set (local testing only).
    #[arg(long, env = names::TWILIO_ALLOW_UNSIGNED, global = true, value_name = "YES/NO",
          default_value = "false", num_args = 0..=1, default_missing_value = "true",
          action = ArgAction::Set, value_parser = setting(parse::flag))]
    pub twilio_allow_unsigned: bool,
}

/// `TWILIO_AUTH_TOKEN` as a setting.
fn auth_token(name: &'static str, value: &str) -> Result<AuthToken, SettingProblem> {
    AuthToken::new(value).map_err(|_| SettingProblem::Empty { name })
}

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

    /// No check: every webhook passes. For webhooks that never leave the process (the
    /// simulator's), and a server that has not been given its settings yet.
    pub fn unchecked() -> WebhookAuth {
        WebhookAuth {
            auth_token: None,
            public_url: None,
            trust_forwarded: false,
            allow_unsigned: false,
        }
    }

    /// True when requests must carry a valid signature.
    pub fn checks_enabled(&self) -> bool {
        self.auth_token.is_some() && !self.allow_unsigned
    }

    /// What to log at start-up when webhooks are not protected, or `None` when they are.
    pub fn startup_warning(&self) -> Option<String> {
        if self.allow_unsigned {
            return Some(format!(
                "{TWILIO_ALLOW_UNSIGNED}=true: Twilio webhook signatures are NOT checked, so anyone who can reach this server can POST to /voice and drive your call flows. Remove {TWILIO_ALLOW_UNSIGNED} before taking real calls."
            ));
        }
        if self.auth_token.is_none() {
            return Some(format!(
                "!!! WEBHOOKS ARE UNAUTHENTICATED !!! {TWILIO_AUTH_TOKEN} is not set, so callflow cannot check that requests come from Twilio: anyone who finds this server can POST to /voice, drive your call flows and make your line dial out at your expense. Fix: set {TWILIO_AUTH_TOKEN} to your account's auth token (Twilio Console > Account > API keys & tokens), and {PUBLIC_URL} to the https URL Twilio calls if you run behind ngrok or a proxy. To run without checks on purpose (local testing only), set {TWILIO_ALLOW_UNSIGNED}=true."
            ));
        }
        None
    }

    fn enforcing_token(&self) -> Option<&AuthToken> {
        self.auth_token.as_ref().filter(|_| !self.allow_unsigned)
    }
}

/// Middleware for `axum::middleware::from_fn_with_state`: reads the webhook once, checks its
/// `X-Twilio-Signature` when checks are on, and hands the handler both the body (unchanged) and
/// the parsed parameters ([`WebhookForm`]), so nothing downstream reads or parses it again.
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
        Err(refusal) => {
            // A missing or wrong signature; a body too large is no forgery.
            let forged = matches!(refusal, HttpError::Forbidden(_));
            let mut response = refusal.into_response();
            if forged {
                response
                    .extensions_mut()
                    .insert(super::monitor::SignatureRefused);
            }
            response
        }
    }
}

/// A webhook's parameters, decoded once: the callback URL's query (the call's state) and the
/// form body (Twilio's parameters). Put in the request's extensions by
/// [`verify_twilio_signature`]; a handler takes it as an extractor.
#[derive(Debug, Clone)]
pub struct WebhookForm {
    pub query: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    pub params: Vec<(Cow<'static, str>, Cow<'static, str>)>,
}

impl WebhookForm {
    fn decode(bytes: &[u8]) -> Vec<(Cow<'static, str>, Cow<'static, str>)> {
        form_urlencoded::parse(bytes)
            .map(|(name, value)| {
                (
                    Cow::Owned(name.into_owned()),
                    Cow::Owned(value.into_owned()),
                )
            })
            .collect()
    }

    /// The call this webhook is about, for logs.
    pub fn call_sid(&self) -> Option<&str> {
        self.params
            .iter()
            .chain(&self.query)
            .find(|(name, _)| name == "CallSid")
            .map(|(_, value)| value.as_ref())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for WebhookForm {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, HttpError> {
        parts.extensions.remove::<WebhookForm>().ok_or_else(|| {
            HttpError::Internal(
                "a webhook route is missing the verify_twilio_signature layer".to_owned(),
            )
        })
    }
}

/// Whether the request says its body is a form (any letter case, any parameters after the media
/// type, as HTTP allows).
fn is_form(headers: &HeaderMap) -> bool {
    header_str(headers, header::CONTENT_TYPE.as_str())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The check itself: the request to hand on, its body buffered and its [`WebhookForm`] in the
/// extensions, or the refusal to send back.
pub async fn check(auth: &WebhookAuth, request: Request) -> Result<Request, HttpError> {
    let (mut parts, body) = request.into_parts();
    let mut form = WebhookForm {
        query: WebhookForm::decode(parts.uri.query().unwrap_or("").as_bytes()),
        params: Vec::new(),
    };
    let token = auth.enforcing_token();
    // The URL is only needed to check a signature; work it out first so a refusal can name it.
    let url = match token.map(|_| requested_url(auth, &parts)) {
        None => String::new(),
        Some(Ok(url)) => url,
        Some(Err(problem)) => {
            return Err(refusal(HttpError::Forbidden(problem), &parts, "-", &form));
        }
    };
    let signature = match token {
        Some(_) => Some(signature_of(&parts).map_err(|r| refusal(r, &parts, &url, &form))?),
        None => None,
    };

    let declared_too_large = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|len| len > MAX_WEBHOOK_BODY_BYTES as u64);
    let too_large = HttpError::TooLarge {
        limit: MAX_WEBHOOK_BODY_BYTES,
    };
    if declared_too_large {
        return Err(refusal(too_large, &parts, &url, &form));
    }
    let bytes = match axum::body::to_bytes(body, MAX_WEBHOOK_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(error) => {
            let refused = if error.into_inner().is::<LengthLimitError>() {
                too_large
            } else {
                HttpError::BadRequest("the request body could not be read".to_owned())
            };
            return Err(refusal(refused, &parts, &url, &form));
        }
    };

    // Form POSTs carry the parameters in the body and the signature covers them. Anything else
    // (GET, an empty POST) is signed over the URL alone, and a body is only acceptable when the
    // URL binds it with bodySHA256 (Twilio's JSON webhooks): an unsigned body never reaches the
    // handler.
    let form_post = parts.method == Method::POST && is_form(&parts.headers);
    if form_post {
        form.params = WebhookForm::decode(&bytes);
    }
    if let Some(call_sid) = form.call_sid() {
        tracing::Span::current().record(
            "call_sid",
            tracing::field::display(truncate_for_log(call_sid, 64)),
        );
    }
    if let (Some(token), Some((algorithm, signature))) = (token, signature) {
        let verdict =
            if form_post || (bytes.is_empty() && signature::body_hash_param(&url).is_none()) {
                signature::validate(token, algorithm, &url, &form.params, &signature)
                    .then_some(())
                    .ok_or(BodyCheckError::Signature)
            } else {
                signature::validate_json_body(token, algorithm, &url, &bytes, &signature)
            };
        if let Err(error) = verdict {
            let hint = (error == BodyCheckError::Signature).then_some(MISMATCH_HINT);
            let refused = HttpError::Forbidden(error.to_string());
            return Err(refusal_with_hint(refused, hint, &parts, &url, &form));
        }
    }
    parts.extensions.insert(form);
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The signature header and the algorithm it was made with, or why the request cannot be
/// checked.
fn signature_of(parts: &Parts) -> Result<(Algorithm, String), HttpError> {
    let Some(signature) = header_str(&parts.headers, SIGNATURE_HEADER) else {
        return Err(HttpError::Forbidden(format!(
            "missing {SIGNATURE_HEADER} header: this URL only accepts requests signed by Twilio"
        )));
    };
    if signature.len() > MAX_SIGNATURE_LEN {
        return Err(HttpError::Forbidden(format!(
            "the {SIGNATURE_HEADER} header is not a Twilio signature"
        )));
    }
    match Algorithm::from_settings_header(header_str(&parts.headers, SIGNATURE_SETTINGS_HEADER)) {
        Ok(Algorithm::HmacSha1) => Ok((Algorithm::HmacSha1, signature.to_owned())),
        // A shared-key signature needs a secret callflow is not configured with; the auth token
        // would never match, so say what is going on instead of "signature mismatch".
        Ok(Algorithm::HmacSha256) => Err(HttpError::Forbidden(format!(
            "this request is signed with a Twilio shared key (HMAC_SHA256, see {SIGNATURE_SETTINGS_HEADER}); callflow checks auth-token signatures only, so remove the Webhooks Rule for this URL"
        ))),
        Err(unsupported) => Err(HttpError::Forbidden(unsupported.to_string())),
    }
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

/// Logs a refusal (URL checked, CallSid; never the token) and hands it back to be answered.
fn refusal(refused: HttpError, parts: &Parts, url: &str, form: &WebhookForm) -> HttpError {
    refusal_with_hint(refused, None, parts, url, form)
}

/// [`refusal`], with advice for the log only.
fn refusal_with_hint(
    refused: HttpError,
    hint: Option<&'static str>,
    parts: &Parts,
    url: &str,
    form: &WebhookForm,
) -> HttpError {
    let call_sid = form
        .call_sid()
        .map_or_else(|| "-".to_owned(), |sid| truncate_for_log(sid, 64));
    tracing::warn!(
        method = %parts.method,
        url = %truncate_for_log(url, 300),
        call_sid = %call_sid,
        status = refused.status().as_u16(),
        reason = %refused,
        hint = hint.unwrap_or("-"),
        "refused a webhook that failed the Twilio signature check"
    );
    refused
}
