//! `GET /voice/token`: hands the browser a Twilio Voice access token.
//!
//! This layer only reads the request (peer address, headers, whether they carry the admin key,
//! `identity` query parameter), asks [`TokenService`] for a token, and turns the outcome into
//! JSON; a [`TokenError`] becomes the matching [`HttpError`].
//!
//! The router carries its own state, so the main router can `.merge()` it as is. The per-IP
//! rate limit reads the peer's `ConnectInfo`, which the server loop adds to every request (as
//! `into_make_service_with_connect_info::<SocketAddr>()` would); without
//! it, all requests count as one unknown client (a shared budget) rather than failing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::rejection::ExtensionRejection;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::HttpError;
use super::admin::AdminGate;
use crate::token::access::REALM;
use crate::token::{
    ClientAuth, ClientKey, CorsOrigins, Identity, IssuedToken, TokenError, TokenService, unix_now,
};

/// Where the endpoint is mounted.
pub const TOKEN_PATH: &str = "/voice/token";

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The token endpoint as a self-contained router, ready to `.merge()` into the main one.
///
/// CORS headers are added only when `TOKEN_CORS_ORIGINS` is set; otherwise browsers keep the
/// answer to same-origin pages. `admin` lets the test page in with the admin key.
pub fn router(service: Arc<TokenService>, admin: Arc<AdminGate>) -> Router {
    let cors = cors_layer(service.settings().cors());
    let router = Router::new()
        .route(TOKEN_PATH, get(issue_token))
        .with_state(Endpoint { service, admin });
    match cors {
        Some(layer) => router.layer(layer),
        None => router,
    }
}

fn cors_layer(origins: &CorsOrigins) -> Option<CorsLayer> {
    let allow_origin = match origins {
        CorsOrigins::SameOriginOnly => return None,
        CorsOrigins::Any => AllowOrigin::any(),
        // The settings only admit visible ASCII, which always makes a header value.
        CorsOrigins::List(list) => AllowOrigin::list(
            list.iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok()),
        ),
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([Method::GET])
            // The page sends the bearer secret itself, so the header must be allowed.
            .allow_headers([AUTHORIZATION])
            // So the page can read how long to wait after a 429.
            .expose_headers([RETRY_AFTER])
            .max_age(Duration::from_secs(600)),
    )
}

/// The success body. `region` is `null` when none is configured (Twilio's default, US1).
#[derive(Debug, Serialize)]
struct TokenBody {
    token: String,
    identity: Identity,
    ttl: u32,
    expires_at: u64,
    region: Option<&'static str>,
    edge: &'static str,
}

impl From<IssuedToken> for TokenBody {
    fn from(issued: IssuedToken) -> Self {
        Self {
            token: issued.token,
            identity: issued.identity,
            ttl: issued.ttl.as_secs(),
            expires_at: issued.expires_at,
            region: issued.region.map(|region| region.as_str()),
            edge: issued.edge,
        }
    }
}

/// What the handler shares.
#[derive(Clone)]
struct Endpoint {
    service: Arc<TokenService>,
    admin: Arc<AdminGate>,
}

/// Tokens are credentials: no cache, proxy or browser history should keep one.
const NO_STORE: (HeaderName, HeaderValue) = (CACHE_CONTROL, HeaderValue::from_static("no-store"));

async fn issue_token(
    State(Endpoint { service, admin }): State<Endpoint>,
    peer: Result<ConnectInfo<SocketAddr>, ExtensionRejection>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let peer = peer.ok().map(|ConnectInfo(addr)| addr);
    let operator = admin.admits(&headers);
    match handle(&service, peer, operator, &headers, query.as_deref()) {
        Ok(issued) => ([NO_STORE], Json(TokenBody::from(issued))).into_response(),
        Err(error) => {
            tracing::debug!(error = %error, "refused a browser token");
            refusal(error, service.settings().auth()).into_response()
        }
    }
}

/// The checks in order: rate limit first (so it also slows down password guessing), then
/// who is asking (`operator`: the request carries the admin key), then the identity and the
/// token itself.
fn handle(
    service: &TokenService,
    peer: Option<SocketAddr>,
    operator: bool,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<IssuedToken, TokenError> {
    // With several X-Forwarded-For lines, the last holds the right-most (proxy-written) entry.
    let forwarded_for = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .next_back()
        .and_then(|value| value.to_str().ok());
    let client = ClientKey::for_request(
        peer,
        forwarded_for,
        service.settings().trust_forwarded_for(),
    );
    service.check_rate(client, Instant::now())?;

    let authorization = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let access = service.authorize(operator, authorization)?;

    let identity = identity_param(query)?;
    service.issue(access, identity.as_deref(), unix_now())
}

/// The `identity` query parameter, percent-decoded (`+` is a space, and so refused later).
fn identity_param(query: Option<&str>) -> Result<Option<String>, TokenError> {
    let mut found = None;
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if key == "identity" {
            if found.is_some() {
                return Err(TokenError::BadRequest(
                    "the identity parameter is given more than once; send it once",
                ));
            }
            found = Some(value.into_owned());
        }
    }
    Ok(found)
}

/// A [`TokenError`] as the HTTP refusal it is; [`HttpError`] picks the status.
fn refusal(error: TokenError, auth: &ClientAuth) -> HttpError {
    let message = error.to_string();
    match error {
        TokenError::NotConfigured { missing } => HttpError::NotConfigured { message, missing },
        TokenError::Unauthorized(_) => HttpError::Unauthorized {
            reason: message,
            challenges: auth.challenges(),
        },
        // The admin key is a bearer, whatever else is configured.
        TokenError::Closed => HttpError::Unauthorized {
            reason: message,
            challenges: vec![format!("Bearer realm=\"{REALM}\"")],
        },
        TokenError::BadRequest(_) | TokenError::InvalidIdentity(_) => {
            HttpError::BadRequest(message)
        }
        TokenError::IdentityNotAllowed(_) => HttpError::Forbidden(message),
        TokenError::RateLimited(wait) => HttpError::RateLimited {
            message,
            retry_after: wait.0,
        },
        TokenError::Mint(cause) => {
            HttpError::Internal(format!("could not issue a browser token: {cause}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_param_decodes_and_refuses_duplicates() {
        assert_eq!(identity_param(None).unwrap(), None);
        assert_eq!(identity_param(Some("x=1")).unwrap(), None);
        assert_eq!(
            identity_param(Some("identity=al%69ce")).unwrap().as_deref(),
            Some("alice")
        );
        assert_eq!(
            identity_param(Some("identity=a+b")).unwrap().as_deref(),
            Some("a b")
        );
        assert!(matches!(
            identity_param(Some("identity=a&identity=b")),
            Err(TokenError::BadRequest(_))
        ));
    }
}
