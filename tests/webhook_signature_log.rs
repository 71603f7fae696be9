//! The refusal log line of the webhook signature middleware. In its own test binary because a
//! thread-local tracing subscriber can miss events while other tests register the same call
//! sites on other threads.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode, header};
use axum::routing::post;
use callflow::config::Settings;
use callflow::http::signature::verify_twilio_signature;
use tower::ServiceExt;

mod common;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn refusal_is_logged_with_url_and_call_sid_but_not_the_token() {
    let (captured, _guard) = common::capture_log();

    let auth = Settings::from_vars(&[("TWILIO_AUTH_TOKEN", TOKEN)])
        .unwrap()
        .webhook_auth();
    let app = Router::new()
        .route("/voice", post(|body: Bytes| async move { body }))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(auth),
            verify_twilio_signature,
        ));
    let request = Request::post("/voice?x=1")
        .header(header::HOST, "ivr.example.com")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("X-Twilio-Signature", "Zm9yZ2Vk")
        .body(Body::from("CallSid=CA42&From=%2B15551234567"))
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let log = captured.text();
    assert!(log.contains("WARN"), "{log}");
    assert!(log.contains("http://ivr.example.com/voice?x=1"), "{log}");
    assert!(log.contains("call_sid=CA42"), "{log}");
    assert!(!log.contains(TOKEN), "{log}");
}
