//! The webhook signature middleware over a tiny router: `/voice` echoes its body as text/xml.
//! Requests are signed with `callflow::signature::compute_signature`, which the Twilio vectors
//! prove in `src/signature.rs`.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use callflow::config::{PublicUrl, SettingProblem as ConfigError, Settings};
use callflow::http::signature::{MAX_WEBHOOK_BODY_BYTES, WebhookAuth, verify_twilio_signature};
use callflow::signature::{Algorithm, AuthToken, body_sha256_hex, compute_signature};
use http_body_util::BodyExt;
use tower::ServiceExt;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const FORM: &str = "application/x-www-form-urlencoded";

/// The body Twilio posts at the start of a browser call (percent-encoding included).
const CALL_BODY: &str = "AccountSid=AC0123456789abcdef0123456789abcdef&ApiVersion=2010-04-01&CallSid=CA1234567890abcdef1234567890abcdef&CallStatus=ringing&Called=&Caller=client%3Aalice&Direction=inbound&From=client%3Aalice&To=%2B15551234567&Digits=1&Digits=1&SpeechResult=caf%C3%A9+cr%C3%A8me";

fn settings(pairs: &[(&str, &str)]) -> WebhookAuth {
    read(pairs).expect("valid settings")
}

/// The webhook check from `NAME=value` pairs, or the first thing wrong with them.
fn read(pairs: &[(&str, &str)]) -> Result<WebhookAuth, ConfigError> {
    Settings::from_vars(pairs)
        .map(|settings| settings.webhook_auth())
        .map_err(|mut error| error.problems.remove(0))
}

fn with_token() -> WebhookAuth {
    settings(&[("TWILIO_AUTH_TOKEN", TOKEN)])
}

async fn echo(body: Bytes) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/xml")], body)
}

fn app(auth: WebhookAuth) -> Router {
    Router::new()
        .route("/voice", post(echo).get(echo))
        .route("/voice/gather", post(echo))
        .route("/events", post(echo))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(auth),
            verify_twilio_signature,
        ))
}

fn sign(url: &str, body: &str) -> String {
    let params: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let token = AuthToken::new(TOKEN).unwrap();
    compute_signature(&token, Algorithm::HmacSha1, url, &params)
}

fn form_post(path: &str, host: &str, body: &str, signature: Option<&str>) -> Request<Body> {
    let mut builder = Request::post(path)
        .header(header::HOST, host)
        .header(header::CONTENT_TYPE, FORM);
    if let Some(signature) = signature {
        builder = builder.header("X-Twilio-Signature", signature);
    }
    builder.body(Body::from(body.to_owned())).unwrap()
}

async fn send(app: Router, request: Request<Body>) -> (StatusCode, Option<String>, String) {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

/// Asserts a JSON refusal and returns its `error` sentence.
fn refusal(
    status: StatusCode,
    content_type: Option<String>,
    body: &str,
    want: StatusCode,
) -> String {
    assert_eq!(status, want, "{body}");
    assert_eq!(content_type.as_deref(), Some("application/json"));
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    json["error"].as_str().expect("error sentence").to_owned()
}

#[tokio::test]
async fn signed_post_passes_and_handler_sees_the_whole_body() {
    let signature = sign("http://ivr.example.com/voice", CALL_BODY);
    let request = form_post("/voice", "ivr.example.com", CALL_BODY, Some(&signature));
    let (status, content_type, body) = send(app(with_token()), request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type.as_deref(), Some("text/xml"));
    assert_eq!(body, CALL_BODY);
}

#[tokio::test]
async fn unsigned_post_is_refused_with_a_reason() {
    let request = form_post("/voice", "ivr.example.com", CALL_BODY, None);
    let (status, content_type, body) = send(app(with_token()), request).await;
    let reason = refusal(status, content_type, &body, StatusCode::FORBIDDEN);
    assert!(reason.contains("missing X-Twilio-Signature"), "{reason}");
}

#[tokio::test]
async fn wrongly_signed_posts_are_refused() {
    let url = "http://ivr.example.com/voice";
    let good = sign(url, CALL_BODY);
    let cases = [
        // Garbage signature.
        (CALL_BODY.to_owned(), "bm90IGEgc2lnbmF0dXJl".to_owned()),
        // Signed with another token.
        (CALL_BODY.to_owned(), {
            let other = AuthToken::new("fedcba9876543210fedcba9876543210").unwrap();
            compute_signature::<&str, &str>(&other, Algorithm::HmacSha1, url, &[])
        }),
        // A parameter changed after signing.
        (
            CALL_BODY.replace("To=%2B15551234567", "To=%2B19005550100"),
            good.clone(),
        ),
        // A parameter added after signing.
        (format!("{CALL_BODY}&Extra=1"), good.clone()),
        // Over-long header.
        (CALL_BODY.to_owned(), "A".repeat(500)),
    ];
    for (body, signature) in cases {
        let request = form_post("/voice", "ivr.example.com", &body, Some(&signature));
        let (status, content_type, text) = send(app(with_token()), request).await;
        refusal(status, content_type, &text, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn signature_for_another_path_or_query_is_refused() {
    let signature = sign("http://ivr.example.com/voice/gather?node=menu", CALL_BODY);
    for path in ["/voice", "/voice/gather?node=other", "/voice/gather"] {
        let request = form_post(path, "ivr.example.com", CALL_BODY, Some(&signature));
        let (status, ..) = send(app(with_token()), request).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test]
async fn raw_query_is_checked_as_received() {
    // Twilio signs the query exactly as it requested it: %2B and %20 must not be decoded, and
    // the order must not change.
    let path = "/voice/gather?z=1&To=%2B15551234567&note=a%20b&a=2";
    let signature = sign(&format!("http://ivr.example.com{path}"), CALL_BODY);
    let request = form_post(path, "ivr.example.com", CALL_BODY, Some(&signature));
    let (status, ..) = send(app(with_token()), request).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn forwarded_headers_count_only_when_trusted() {
    let signature = sign("https://abc.ngrok.app/voice", CALL_BODY);
    let proxied = || {
        let mut request = form_post("/voice", "127.0.0.1:3000", CALL_BODY, Some(&signature));
        let headers = request.headers_mut();
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        headers.insert(
            "x-forwarded-host",
            HeaderValue::from_static("abc.ngrok.app"),
        );
        request
    };
    let trusted = settings(&[
        ("TWILIO_AUTH_TOKEN", TOKEN),
        ("TRUST_FORWARDED_HEADERS", "true"),
    ]);
    let (status, ..) = send(app(trusted.clone()), proxied()).await;
    assert_eq!(status, StatusCode::OK);

    let (status, ..) = send(app(with_token()), proxied()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A chain of proxies: the first value is what Twilio used.
    let mut request = proxied();
    request
        .headers_mut()
        .insert("x-forwarded-proto", HeaderValue::from_static("https, http"));
    let (status, ..) = send(app(trusted.clone()), request).await;
    assert_eq!(status, StatusCode::OK);

    // ngrok sets only X-Forwarded-Proto and keeps the public Host.
    let mut request = form_post("/voice", "abc.ngrok.app", CALL_BODY, Some(&signature));
    request
        .headers_mut()
        .insert("x-forwarded-proto", HeaderValue::from_static("https"));
    let (status, ..) = send(app(trusted.clone()), request).await;
    assert_eq!(status, StatusCode::OK);

    // A nonsense scheme is refused, not guessed.
    let mut request = proxied();
    request
        .headers_mut()
        .insert("x-forwarded-proto", HeaderValue::from_static("gopher"));
    let (status, content_type, body) = send(app(trusted), request).await;
    let reason = refusal(status, content_type, &body, StatusCode::FORBIDDEN);
    assert!(reason.contains("X-Forwarded-Proto"), "{reason}");
}

#[tokio::test]
async fn public_url_decides_the_checked_url() {
    let auth = settings(&[
        ("TWILIO_AUTH_TOKEN", TOKEN),
        ("PUBLIC_URL", "https://abc.ngrok.app/"),
    ]);
    let over_public = sign("https://abc.ngrok.app/voice?flow=main", CALL_BODY);
    let request = form_post(
        "/voice?flow=main",
        "127.0.0.1:3000",
        CALL_BODY,
        Some(&over_public),
    );
    let (status, ..) = send(app(auth.clone()), request).await;
    assert_eq!(status, StatusCode::OK);

    // PUBLIC_URL wins over Host and over forwarded headers, even trusted ones.
    let over_host = sign("http://127.0.0.1:3000/voice?flow=main", CALL_BODY);
    let request = form_post(
        "/voice?flow=main",
        "127.0.0.1:3000",
        CALL_BODY,
        Some(&over_host),
    );
    let (status, ..) = send(app(auth), request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn signed_get_with_query_passes() {
    let path = "/voice?CallSid=CA123&From=%2B14155550100&To=%2B14155550199";
    let signature = sign(&format!("https://ivr.example.com{path}"), "");
    let auth = settings(&[
        ("TWILIO_AUTH_TOKEN", TOKEN),
        ("PUBLIC_URL", "https://ivr.example.com"),
    ]);
    let request = Request::get(path)
        .header(header::HOST, "internal:8080")
        .header("X-Twilio-Signature", &signature)
        .body(Body::empty())
        .unwrap();
    let (status, ..) = send(app(auth.clone()), request).await;
    assert_eq!(status, StatusCode::OK);

    // The same URL with a changed query is refused.
    let request = Request::get(path.replace("CA123", "CA999"))
        .header("X-Twilio-Signature", &signature)
        .body(Body::empty())
        .unwrap();
    let (status, ..) = send(app(auth.clone()), request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A GET must not smuggle an unsigned body to the handler.
    let request = Request::get(path)
        .header("X-Twilio-Signature", &signature)
        .body(Body::from("Digits=9"))
        .unwrap();
    let (status, ..) = send(app(auth), request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn default_port_is_interchangeable() {
    let trusted = settings(&[
        ("TWILIO_AUTH_TOKEN", TOKEN),
        ("TRUST_FORWARDED_HEADERS", "true"),
    ]);
    // (host Twilio's request arrived with, URL Twilio signed, accepted)
    let cases = [
        ("ivr.example.com", "https://ivr.example.com:443/voice", true),
        ("ivr.example.com:443", "https://ivr.example.com/voice", true),
        (
            "ivr.example.com:443",
            "https://ivr.example.com:443/voice",
            true,
        ),
        (
            "ivr.example.com:8443",
            "https://ivr.example.com/voice",
            true,
        ),
        (
            "ivr.example.com:8443",
            "https://ivr.example.com:8443/voice",
            true,
        ),
        (
            "ivr.example.com",
            "https://ivr.example.com:8443/voice",
            false,
        ),
    ];
    for (host, signed_url, accepted) in cases {
        let signature = sign(signed_url, CALL_BODY);
        let mut request = form_post("/voice", "127.0.0.1", CALL_BODY, Some(&signature));
        let headers = request.headers_mut();
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        headers.insert("x-forwarded-host", HeaderValue::from_str(host).unwrap());
        let (status, ..) = send(app(trusted.clone()), request).await;
        let want = if accepted {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(status, want, "{host} signed over {signed_url}");
    }
}

#[tokio::test]
async fn no_token_configured_lets_requests_through() {
    let auth = settings(&[]);
    assert!(!auth.checks_enabled());
    let request = form_post("/voice", "ivr.example.com", CALL_BODY, None);
    let (status, _, body) = send(app(auth), request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, CALL_BODY);
}

#[tokio::test]
async fn token_with_allow_unsigned_lets_requests_through() {
    let auth = settings(&[
        ("TWILIO_AUTH_TOKEN", TOKEN),
        ("TWILIO_ALLOW_UNSIGNED", "true"),
    ]);
    assert!(!auth.checks_enabled());
    let request = form_post("/voice", "ivr.example.com", CALL_BODY, Some("wrong"));
    let (status, _, body) = send(app(auth), request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, CALL_BODY);
}

#[tokio::test]
async fn oversized_body_is_refused_with_413() {
    let big = format!("CallSid=CA1&Pad={}", "x".repeat(MAX_WEBHOOK_BODY_BYTES));
    let signature = sign("http://ivr.example.com/voice", &big);
    // Refused from the declared length, before reading.
    let mut request = form_post("/voice", "ivr.example.com", &big, Some(&signature));
    request
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(big.len()));
    let (status, content_type, body) = send(app(with_token()), request).await;
    let reason = refusal(status, content_type, &body, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(reason.contains("64 KiB"), "{reason}");

    // No declared length: refused while reading.
    let request = form_post("/voice", "ivr.example.com", &big, Some(&signature));
    assert!(request.headers().get(header::CONTENT_LENGTH).is_none());
    let (status, content_type, body) = send(app(with_token()), request).await;
    refusal(status, content_type, &body, StatusCode::PAYLOAD_TOO_LARGE);

    // Exactly at the limit is fine.
    let at_limit = format!(
        "CallSid=CA1&Pad={}",
        "x".repeat(MAX_WEBHOOK_BODY_BYTES - 16)
    );
    assert_eq!(at_limit.len(), MAX_WEBHOOK_BODY_BYTES);
    let signature = sign("http://ivr.example.com/voice", &at_limit);
    let request = form_post("/voice", "ivr.example.com", &at_limit, Some(&signature));
    let (status, _, body) = send(app(with_token()), request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.len(), MAX_WEBHOOK_BODY_BYTES);
}

#[tokio::test]
async fn json_body_is_bound_through_body_sha256() {
    let body = r#"{"CallSid":"CA123","Event":"status","Note":"café"}"#;
    let path = format!("/events?bodySHA256={}", body_sha256_hex(body.as_bytes()));
    let signature = sign(&format!("http://ivr.example.com{path}"), "");
    let json_post = |payload: &str| {
        Request::post(path.as_str())
            .header(header::HOST, "ivr.example.com")
            .header(header::CONTENT_TYPE, "application/json")
            .header("X-Twilio-Signature", &signature)
            .body(Body::from(payload.to_owned()))
            .unwrap()
    };
    let (status, _, echoed) = send(app(with_token()), json_post(body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(echoed, body);

    let tampered = body.replace("status", "answer");
    let (status, content_type, text) = send(app(with_token()), json_post(&tampered)).await;
    let reason = refusal(status, content_type, &text, StatusCode::FORBIDDEN);
    assert!(reason.contains("bodySHA256"), "{reason}");

    // Dropping the body while keeping the signed URL is refused too.
    let (status, ..) = send(app(with_token()), json_post("")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn body_not_covered_by_the_signature_is_refused() {
    // Signed over the bare URL (as if no params), then a JSON body without bodySHA256.
    let signature = sign("http://ivr.example.com/voice", "");
    let request = Request::post("/voice")
        .header(header::HOST, "ivr.example.com")
        .header(header::CONTENT_TYPE, "application/json")
        .header("X-Twilio-Signature", &signature)
        .body(Body::from(r#"{"To":"+19005550100"}"#))
        .unwrap();
    let (status, content_type, body) = send(app(with_token()), request).await;
    let reason = refusal(status, content_type, &body, StatusCode::FORBIDDEN);
    assert!(reason.contains("not covered"), "{reason}");

    // The same signature with an empty body is a valid (parameterless) request.
    let request = Request::post("/voice")
        .header(header::HOST, "ivr.example.com")
        .header("X-Twilio-Signature", &signature)
        .body(Body::empty())
        .unwrap();
    let (status, ..) = send(app(with_token()), request).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn shared_key_signatures_are_refused_with_an_explanation() {
    let url = "http://ivr.example.com/voice";
    let params: Vec<(String, String)> = form_urlencoded::parse(CALL_BODY.as_bytes())
        .into_owned()
        .collect();
    let token = AuthToken::new(TOKEN).unwrap();
    let signature = compute_signature(&token, Algorithm::HmacSha256, url, &params);
    let mut request = form_post("/voice", "ivr.example.com", CALL_BODY, Some(&signature));
    request.headers_mut().insert(
        "X-Twilio-Webhooks-Signature-Settings",
        HeaderValue::from_static("key=KS123,algorithm=HMAC_SHA256"),
    );
    let (status, content_type, body) = send(app(with_token()), request).await;
    let reason = refusal(status, content_type, &body, StatusCode::FORBIDDEN);
    assert!(reason.contains("HMAC_SHA256"), "{reason}");

    // An explicit HMAC_SHA1 setting is the classic scheme.
    let signature = sign(url, CALL_BODY);
    let mut request = form_post("/voice", "ivr.example.com", CALL_BODY, Some(&signature));
    request.headers_mut().insert(
        "X-Twilio-Webhooks-Signature-Settings",
        HeaderValue::from_static("algorithm=HMAC_SHA1"),
    );
    let (status, ..) = send(app(with_token()), request).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn nested_router_checks_the_full_path() {
    let auth = Arc::new(with_token());
    let inner =
        Router::new()
            .route("/voice", post(echo))
            .layer(axum::middleware::from_fn_with_state(
                auth,
                verify_twilio_signature,
            ));
    let app = Router::new().nest("/twilio", inner);
    let signature = sign("http://ivr.example.com/twilio/voice", CALL_BODY);
    let request = form_post(
        "/twilio/voice",
        "ivr.example.com",
        CALL_BODY,
        Some(&signature),
    );
    let (status, ..) = send(app, request).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn invalid_host_is_refused() {
    let signature = sign("http://ivr.example.com/voice", CALL_BODY);
    let request = form_post("/voice", "evil.com/x?", CALL_BODY, Some(&signature));
    let (status, content_type, body) = send(app(with_token()), request).await;
    let reason = refusal(status, content_type, &body, StatusCode::FORBIDDEN);
    assert!(reason.contains("host"), "{reason}");
}

#[test]
fn settings_are_validated() {
    let auth = read(&[
        ("TWILIO_AUTH_TOKEN", " 0123 \n"),
        ("PUBLIC_URL", "https://abc.ngrok.app///"),
        ("TRUST_FORWARDED_HEADERS", "Yes"),
        ("TWILIO_ALLOW_UNSIGNED", "false"),
    ])
    .unwrap();
    assert!(auth.checks_enabled());
    assert_eq!(
        auth.public_url.as_ref().unwrap().as_str(),
        "https://abc.ngrok.app"
    );
    assert!(auth.trust_forwarded);
    assert!(!auth.allow_unsigned);
    let debug = format!("{auth:?}");
    assert!(
        debug.contains("[redacted]") && !debug.contains("0123"),
        "{debug}"
    );

    // Empty values count as unset.
    let auth = read(&[("TWILIO_AUTH_TOKEN", "  "), ("PUBLIC_URL", "")]).unwrap();
    assert!(auth.auth_token.is_none() && auth.public_url.is_none());

    assert!(matches!(
        read(&[("TWILIO_ALLOW_UNSIGNED", "maybe")]),
        Err(ConfigError::Flag {
            name: "TWILIO_ALLOW_UNSIGNED",
            ..
        })
    ));
    for bad in [
        "abc.ngrok.app",
        "ftp://abc.ngrok.app",
        "https://",
        "https:///voice",
        "https://abc.ngrok.app/?x=1",
        "https://abc.ngrok.app/#top",
        "https://user:pw@abc.ngrok.app",
        "https://abc ngrok.app",
    ] {
        let error = PublicUrl::parse(bad).unwrap_err();
        assert!(
            error.to_string().starts_with("PUBLIC_URL"),
            "{bad}: {error}"
        );
    }
    assert_eq!(
        PublicUrl::parse("https://example.com/callflow/")
            .unwrap()
            .as_str(),
        "https://example.com/callflow"
    );
}

#[test]
fn startup_warning_only_when_unprotected() {
    let unprotected = settings(&[]).startup_warning().expect("a warning");
    assert!(unprotected.contains("TWILIO_AUTH_TOKEN"), "{unprotected}");
    assert!(unprotected.contains("anyone"), "{unprotected}");
    assert!(unprotected.contains("/voice"), "{unprotected}");
    assert!(
        unprotected.contains("TWILIO_ALLOW_UNSIGNED=true"),
        "{unprotected}"
    );

    assert_eq!(with_token().startup_warning(), None);

    let switched_off = settings(&[
        ("TWILIO_AUTH_TOKEN", TOKEN),
        ("TWILIO_ALLOW_UNSIGNED", "true"),
    ]);
    let reminder = switched_off.startup_warning().expect("a reminder");
    assert!(reminder.contains("NOT checked"), "{reminder}");
}
