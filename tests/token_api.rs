//! `GET /voice/token` as a browser sees it: over the router with `oneshot`, and once over a
//! real socket.
//!
//! The endpoint is closed by default; tests of what a token holds open it with
//! `TOKEN_PUBLIC=true` unless they set client credentials (see [`app`]), and the closed
//! default, the admin key and the public warning have tests of their own at the end.

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use callflow::config::{SettingProblem, Settings, SettingsError};
use callflow::http::admin::{AdminGate, AdminKey};
use callflow::http::token::router;
use callflow::token::{IDENTITY_RULE, Identity, TokenService, TokenSettings, vars};
use http_body_util::BodyExt as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tower::ServiceExt as _;

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const KEY: &str = "SKfedcba9876543210fedcba9876543210";
const APP: &str = "AP00112233445566778899aabbccddeeff";
const SECRET: &str = "tEsT_aPi_SeCrEt_9f8e7d6c5b4a";
const ADMIN: &str = "token-api-admin-key-4567";
const ADMIN_BEARER: &str = "Bearer token-api-admin-key-4567";

fn admin() -> Arc<AdminGate> {
    Arc::new(AdminGate::with_key(AdminKey::parse(ADMIN).unwrap()))
}

/// The token settings from `NAME=value` pairs; no process environment involved.
fn token_settings(pairs: &[(&str, &str)]) -> Result<TokenSettings, SettingsError> {
    Settings::from_vars(pairs).map(|settings| settings.token_settings())
}

fn service_with(pairs: &[(&str, &str)]) -> Arc<TokenService> {
    Arc::new(TokenService::new(
        token_settings(pairs).expect("valid settings"),
    ))
}

fn configured(extra: &[(&str, &str)]) -> Arc<TokenService> {
    let mut pairs = vec![
        (vars::ACCOUNT_SID, ACCOUNT),
        (vars::API_KEY, KEY),
        (vars::API_SECRET, SECRET),
        (vars::TWIML_APP_SID, APP),
    ];
    pairs.extend_from_slice(extra);
    service_with(&pairs)
}

/// The endpoint with the four Twilio values and `extra`; open to anyone (`TOKEN_PUBLIC=true`)
/// unless `extra` sets client credentials, which then guard it.
fn app(extra: &[(&str, &str)]) -> Router {
    let guarded = extra
        .iter()
        .any(|(name, _)| [vars::AUTH_BEARER, vars::AUTH_BASIC].contains(name));
    let mut pairs = extra.to_vec();
    if !guarded {
        pairs.push((vars::PUBLIC, "true"));
    }
    router(configured(&pairs), admin())
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    json: Value,
}

async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("JSON body, got {:?}", String::from_utf8_lossy(&bytes)))
    };
    Reply {
        status,
        headers,
        json,
    }
}

/// A GET from `peer` with the given headers.
fn request_from(peer: [u8; 4], uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::get(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let mut request = builder.body(Body::empty()).unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((peer, 50_000))));
    request
}

async fn get(app: &Router, uri: &str) -> Reply {
    send(app, request_from([198, 51, 100, 1], uri, &[])).await
}

async fn get_with(app: &Router, uri: &str, headers: &[(&str, &str)]) -> Reply {
    send(app, request_from([198, 51, 100, 1], uri, headers)).await
}

/// A GET as the test page sends it: with the admin key.
async fn as_page(app: &Router, uri: &str) -> Reply {
    get_with(app, uri, &[("authorization", ADMIN_BEARER)]).await
}

/// Verifies the signature with `secret` and the time claims against the real clock.
fn verified_claims(token: &str, secret: &str) -> Result<Value, jsonwebtoken::errors::Error> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "sub"]);
    validation.validate_nbf = true;
    validation.set_issuer(&[KEY]);
    validation.sub = Some(ACCOUNT.to_owned());
    jsonwebtoken::decode::<Value>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .map(|data| data.claims)
}

fn token_header(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn issues_a_token_twilio_accepts_with_the_body_fields_a_page_needs() {
    let app = app(&[]);
    let reply = get(&app, "/voice/token?identity=alice").await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    let body = reply.json;
    assert_eq!(body["identity"], "alice");
    assert_eq!(body["ttl"], 3600);
    assert_eq!(body["region"], Value::Null);
    assert_eq!(body["edge"], "roaming");

    let token = body["token"].as_str().expect("token string");
    let claims = verified_claims(token, SECRET).expect("signature and claims verify");
    assert!(verified_claims(token, "not-the-secret").is_err());

    let nbf = claims["nbf"].as_u64().unwrap();
    assert_eq!(claims["exp"], body["expires_at"]);
    assert_eq!(claims["exp"].as_u64().unwrap() - nbf, 3600);
    assert_eq!(claims["jti"], format!("{KEY}-{nbf}"));
    assert_eq!(claims["grants"]["identity"], "alice");
    assert_eq!(claims["grants"]["voice"]["incoming"]["allow"], true);
    assert_eq!(
        claims["grants"]["voice"]["outgoing"]["application_sid"],
        APP
    );
    assert_eq!(
        token_header(token),
        serde_json::json!({"typ": "JWT", "alg": "HS256", "cty": "twilio-fpa;v=1"})
    );
}

#[tokio::test]
async fn the_edge_matches_the_configured_region_and_the_token_names_it() {
    for (region, edge) in [
        ("us1", "ashburn"),
        ("ie1", "dublin"),
        ("au1", "sydney"),
        ("br1", "sao-paulo"),
    ] {
        let app = app(&[(vars::VOICE_REGION, region)]);
        let body = get(&app, "/voice/token?identity=alice").await.json;
        assert_eq!(body["region"], region);
        assert_eq!(body["edge"], edge, "{region}");
        let header = token_header(body["token"].as_str().unwrap());
        assert_eq!(header["twr"], region);
    }
}

#[tokio::test]
async fn a_bad_identity_is_a_400_that_states_the_rule() {
    let app = app(&[]);
    let too_long = "a".repeat(122);
    for identity in [
        "alice%20smith",
        "alice+smith",
        too_long.as_str(),
        "zo%C3%AB",
        "",
    ] {
        let reply = get(&app, &format!("/voice/token?identity={identity}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{identity}");
        let error = reply.json["error"].as_str().expect("error string");
        assert!(error.contains(IDENTITY_RULE), "{identity}: {error}");
        assert!(reply.json.get("token").is_none());
    }
    // The longest allowed identity still works.
    let longest = "a".repeat(121);
    let reply = get(&app, &format!("/voice/token?identity={longest}")).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn without_an_identity_each_visitor_gets_a_fresh_valid_one() {
    let app = app(&[]);
    let first = get(&app, "/voice/token").await.json;
    let second = get(&app, "/voice/token").await.json;
    let (a, b) = (
        first["identity"].as_str().unwrap(),
        second["identity"].as_str().unwrap(),
    );
    assert_ne!(a, b);
    for (body, identity) in [(&first, a), (&second, b)] {
        assert!(Identity::parse(identity).is_ok(), "{identity}");
        let claims = verified_claims(body["token"].as_str().unwrap(), SECRET).unwrap();
        assert_eq!(claims["grants"]["identity"], identity);
    }
}

#[tokio::test]
async fn not_configured_is_a_503_naming_what_is_missing_and_never_the_secret() {
    let service = service_with(&[(vars::ACCOUNT_SID, ACCOUNT), (vars::API_SECRET, SECRET)]);
    let warnings = service.log_startup_warnings();
    assert_eq!(warnings.len(), 1, "one warning: {warnings:?}");
    let warning = &warnings[0];
    assert!(warning.contains("TWILIO_API_KEY") && warning.contains("TWILIO_TWIML_APP_SID"));
    assert!(!warning.contains(SECRET));

    let app = router(service, admin());
    // The page, which holds the admin key, is told what is missing.
    let reply = as_page(&app, "/voice/token?identity=alice").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        reply.json["missing"],
        serde_json::json!(["TWILIO_API_KEY", "TWILIO_TWIML_APP_SID"])
    );
    let error = reply.json["error"].as_str().unwrap();
    assert!(
        error.contains("TWILIO_API_KEY, TWILIO_TWIML_APP_SID"),
        "{error}"
    );
    assert!(!reply.json.to_string().contains(SECRET));
}

#[tokio::test]
async fn bearer_secret_is_required_when_configured() {
    let bearer = "a-long-shared-secret-for-the-page";
    let app = app(&[(vars::AUTH_BEARER, bearer)]);

    let missing = get(&app, "/voice/token?identity=alice").await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        missing.headers[header::WWW_AUTHENTICATE],
        "Bearer realm=\"callflow voice token\""
    );
    assert!(missing.json["error"].as_str().unwrap().contains("Bearer"));

    let wrong = get_with(
        &app,
        "/voice/token?identity=alice",
        &[("authorization", "Bearer a-long-shared-secret-for-the-pagE")],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.headers.contains_key(header::WWW_AUTHENTICATE));
    assert!(wrong.json["error"].as_str().unwrap().contains("wrong"));
    assert!(!wrong.json.to_string().contains(bearer));

    let right = get_with(
        &app,
        "/voice/token?identity=alice",
        &[("authorization", &format!("Bearer {bearer}"))],
    )
    .await;
    assert_eq!(right.status, StatusCode::OK);
    assert!(right.json["token"].is_string());
}

#[tokio::test]
async fn basic_auth_is_required_when_configured() {
    let app = app(&[(vars::AUTH_BASIC, "frontdesk:open sesame")]);
    let basic = |pair: &str| format!("Basic {}", STANDARD.encode(pair));

    let missing = get(&app, "/voice/token?identity=alice").await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        missing.headers[header::WWW_AUTHENTICATE],
        "Basic realm=\"callflow voice token\", charset=\"UTF-8\""
    );
    assert!(missing.json["error"].is_string());

    for wrong in ["frontdesk:open sesamE", "backdesk:open sesame", "frontdesk"] {
        let reply = get_with(
            &app,
            "/voice/token?identity=alice",
            &[("authorization", &basic(wrong))],
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{wrong}");
    }

    let right = get_with(
        &app,
        "/voice/token?identity=alice",
        &[("authorization", &basic("frontdesk:open sesame"))],
    )
    .await;
    assert_eq!(right.status, StatusCode::OK);
}

#[tokio::test]
async fn identities_outside_the_allow_list_get_403() {
    let app = app(&[(vars::IDENTITY_ALLOW, "agent_*, alice")]);
    for allowed in ["alice", "agent_7"] {
        let reply = get(&app, &format!("/voice/token?identity={allowed}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{allowed}");
    }
    for refused in ["bob", "alice2"] {
        let reply = get(&app, &format!("/voice/token?identity={refused}")).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{refused}");
        let error = reply.json["error"].as_str().unwrap();
        assert!(
            error.contains(refused) && error.contains("not allowed"),
            "{error}"
        );
    }
    // A visitor without an identity gets a guest_ name, which this list does not admit.
    let guest = get(&app, "/voice/token").await;
    assert_eq!(guest.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after_per_client_address() {
    let app = app(&[(vars::RATE_LIMIT, "3")]);
    let uri = "/voice/token?identity=alice";
    for n in 1..=3 {
        let reply = send(&app, request_from([203, 0, 113, 7], uri, &[])).await;
        assert_eq!(reply.status, StatusCode::OK, "request {n}");
    }
    let limited = send(&app, request_from([203, 0, 113, 7], uri, &[])).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = limited.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in whole seconds");
    assert!(
        (1..=20).contains(&retry),
        "3/minute refills every 20 s: {retry}"
    );
    assert_eq!(limited.json["retry_after"], retry);
    assert!(limited.json["error"].as_str().unwrap().contains("too many"));

    // Another address has its own budget.
    let other = send(&app, request_from([203, 0, 113, 8], uri, &[])).await;
    assert_eq!(other.status, StatusCode::OK);

    // An untrusted X-Forwarded-For does not buy a fresh budget.
    let spoofed = send(
        &app,
        request_from([203, 0, 113, 7], uri, &[("x-forwarded-for", "192.0.2.99")]),
    )
    .await;
    assert_eq!(spoofed.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn forwarded_for_names_the_client_only_when_trusted() {
    let app = app(&[(vars::RATE_LIMIT, "1"), (vars::TRUST_FORWARDED_FOR, "true")]);
    let uri = "/voice/token?identity=alice";
    let proxy = [10, 0, 0, 2];
    let first = send(
        &app,
        request_from(proxy, uri, &[("x-forwarded-for", "192.0.2.10")]),
    )
    .await;
    let second = send(
        &app,
        request_from(proxy, uri, &[("x-forwarded-for", "192.0.2.11")]),
    )
    .await;
    let again = send(
        &app,
        request_from(proxy, uri, &[("x-forwarded-for", "192.0.2.10")]),
    )
    .await;
    assert_eq!(
        [first.status, second.status, again.status],
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

#[tokio::test]
async fn without_connect_info_requests_share_one_budget_and_nothing_panics() {
    let app = app(&[(vars::RATE_LIMIT, "2")]);
    let plain = || Request::get("/voice/token").body(Body::empty()).unwrap();
    assert_eq!(send(&app, plain()).await.status, StatusCode::OK);
    assert_eq!(send(&app, plain()).await.status, StatusCode::OK);
    assert_eq!(
        send(&app, plain()).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn mock_connect_info_layer_is_honoured() {
    let app = app(&[(vars::RATE_LIMIT, "1")])
        .layer(MockConnectInfo(SocketAddr::from(([192, 0, 2, 1], 1234))));
    let plain = || Request::get("/voice/token").body(Body::empty()).unwrap();
    assert_eq!(send(&app, plain()).await.status, StatusCode::OK);
    assert_eq!(
        send(&app, plain()).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // A request carrying its own ConnectInfo is another client.
    let other = send(&app, request_from([192, 0, 2, 2], "/voice/token", &[])).await;
    assert_eq!(other.status, StatusCode::OK);
}

fn preflight(origin: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri("/voice/token")
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn cors_preflight_admits_only_the_configured_origins() {
    let app = app(&[(
        vars::CORS_ORIGINS,
        "https://phone.example.com,http://localhost:5173",
    )]);

    let allowed = send(&app, preflight("https://phone.example.com")).await;
    assert!(allowed.status.is_success());
    assert_eq!(
        allowed.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://phone.example.com"
    );
    let allowed_headers = allowed.headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed_headers.contains("authorization"));

    let refused = send(&app, preflight("https://evil.example.net")).await;
    assert!(
        !refused
            .headers
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    );

    // The actual GET from an allowed origin carries the header too.
    let reply = get_with(
        &app,
        "/voice/token?identity=alice",
        &[("origin", "http://localhost:5173")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "http://localhost:5173"
    );
}

#[tokio::test]
async fn cors_is_off_by_default_and_star_allows_any_origin() {
    let default = send(&app(&[]), preflight("https://phone.example.com")).await;
    assert!(
        !default
            .headers
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    );

    let any = send(
        &app(&[(vars::CORS_ORIGINS, "*")]),
        preflight("https://anywhere.example.org"),
    )
    .await;
    assert_eq!(any.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
}

#[tokio::test]
async fn the_configured_ttl_is_the_tokens_lifetime() {
    let app = app(&[(vars::TOKEN_TTL, "600")]);
    let body = get(&app, "/voice/token?identity=alice").await.json;
    assert_eq!(body["ttl"], 600);
    let claims = verified_claims(body["token"].as_str().unwrap(), SECRET).unwrap();
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["nbf"].as_u64().unwrap(),
        600
    );
}

#[test]
fn a_ttl_over_24_hours_is_refused_at_start_up() {
    let error = token_settings(&[
        (vars::ACCOUNT_SID, ACCOUNT),
        (vars::API_KEY, KEY),
        (vars::API_SECRET, SECRET),
        (vars::TWIML_APP_SID, APP),
        (vars::TOKEN_TTL, "86401"),
    ])
    .expect_err("86401 s is refused");
    assert!(matches!(
        error.problems.as_slice(),
        [SettingProblem::Ttl { .. }]
    ));
    let message = error.to_string();
    assert!(message.contains("TWILIO_TOKEN_TTL"), "{message}");
    assert!(message.contains("86400"), "{message}");
    assert!(!message.contains(SECRET));
}

#[tokio::test]
async fn serves_tokens_over_a_real_socket_with_connect_info() {
    let app = app(&[(vars::RATE_LIMIT, "1"), (vars::VOICE_REGION, "ie1")]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });

    async fn raw_get(address: SocketAddr, target: &str) -> (u16, Value) {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let request =
            format!("GET {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        let text = String::from_utf8(raw).expect("UTF-8 response");
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .expect("status line");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{head}"
        );
        (status, serde_json::from_str(body).expect("JSON body"))
    }

    let (status, body) = raw_get(address, "/voice/token?identity=socket_user").await;
    assert_eq!(status, 200);
    assert_eq!(body["identity"], "socket_user");
    assert_eq!(
        (body["region"].as_str(), body["edge"].as_str()),
        (Some("ie1"), Some("dublin"))
    );
    assert!(verified_claims(body["token"].as_str().unwrap(), SECRET).is_ok());

    // The peer address reached the limiter: a second request from 127.0.0.1 is refused.
    let (status, body) = raw_get(address, "/voice/token?identity=socket_user").await;
    assert_eq!(status, 429);
    assert!(body["error"].is_string());

    server.abort();
}

#[test]
fn every_required_variable_is_reported_when_none_is_set() {
    let settings = token_settings(&[]).expect("missing is not an error");
    let missing: HashSet<&str> = settings.missing_variables().iter().copied().collect();
    assert_eq!(missing, HashSet::from(vars::REQUIRED));
}

/// The four Twilio values and nothing else, as the README's first steps leave a server.
fn closed() -> Router {
    router(configured(&[]), admin())
}

#[tokio::test]
async fn with_only_the_twilio_values_the_endpoint_is_closed_and_says_what_opens_it() {
    let app = closed();
    for headers in [
        &[][..],
        &[("authorization", "Bearer some-guess-at-a-secret-0000")][..],
        &[("cookie", "callflow_admin=an-old-key-from-yesterday")][..],
    ] {
        let reply = get_with(&app, "/voice/token?identity=agent_bob", headers).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{headers:?}");
        assert!(reply.json.get("token").is_none());
        let error = reply.json["error"].as_str().unwrap();
        common::assert_names_the_token_settings(error);
        assert!(error.contains("?key="), "{error}");
        assert!(
            reply.headers[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
    }
}

#[tokio::test]
async fn the_page_gets_any_identity_with_the_admin_key_as_bearer_or_cookie() {
    let app = router(configured(&[(vars::IDENTITY_ALLOW, "agent_*")]), admin());
    let cookie = format!("theme=dark; callflow_admin={ADMIN}");
    for proof in [("authorization", ADMIN_BEARER), ("cookie", cookie.as_str())] {
        let reply = get_with(&app, "/voice/token?identity=agent_bob", &[proof]).await;
        assert_eq!(reply.status, StatusCode::OK, "{proof:?}");
        let claims = verified_claims(reply.json["token"].as_str().unwrap(), SECRET).unwrap();
        assert_eq!(claims["grants"]["identity"], "agent_bob");
        // The operator is not bound by the list that binds frontends, so the page's
        // default, a guest identity, still works.
        let guest = get_with(&app, "/voice/token", &[proof]).await;
        assert_eq!(guest.status, StatusCode::OK, "{proof:?}");
        assert!(
            guest.json["identity"]
                .as_str()
                .unwrap()
                .starts_with("guest_")
        );
    }
}

#[tokio::test]
async fn frontends_keep_their_credentials_and_allow_list_beside_the_admin_key() {
    let bearer = "frontend-shared-secret-0042";
    let app = router(
        configured(&[
            (vars::AUTH_BEARER, bearer),
            (vars::IDENTITY_ALLOW, "agent_*"),
        ]),
        admin(),
    );
    let as_frontend = [("authorization", format!("Bearer {bearer}"))];
    let as_frontend: Vec<(&str, &str)> =
        as_frontend.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let agent = get_with(&app, "/voice/token?identity=agent_bob", &as_frontend).await;
    assert_eq!(agent.status, StatusCode::OK);
    let other = get_with(&app, "/voice/token?identity=alice", &as_frontend).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    let page = as_page(&app, "/voice/token?identity=alice").await;
    assert_eq!(page.status, StatusCode::OK);
    let nobody = get(&app, "/voice/token?identity=agent_bob").await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_rate_limit_is_on_by_default_at_30_a_minute_for_the_page_too() {
    let app = closed();
    for n in 1..=30 {
        let reply = as_page(&app, "/voice/token").await;
        assert_eq!(reply.status, StatusCode::OK, "request {n}");
    }
    let limited = as_page(&app, "/voice/token").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    // Off only when asked for.
    let unlimited = router(configured(&[(vars::RATE_LIMIT, "off")]), admin());
    for n in 1..=40 {
        let reply = as_page(&unlimited, "/voice/token").await;
        assert_eq!(reply.status, StatusCode::OK, "request {n}");
    }
}

#[tokio::test]
async fn token_public_answers_without_credentials_and_is_warned_about_at_start_up() {
    let service = configured(&[(vars::PUBLIC, "true")]);
    let warnings = {
        let (log, _guard) = common::capture_log();
        service.log_startup_warnings();
        log.text()
    };
    assert!(warnings.contains("WARN"), "{warnings}");
    assert!(warnings.contains("TOKEN_PUBLIC=true"), "{warnings}");
    assert!(warnings.contains("anyone"), "{warnings}");

    let app = router(service, admin());
    let reply = get(&app, "/voice/token?identity=agent_bob").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["identity"], "agent_bob");
}
