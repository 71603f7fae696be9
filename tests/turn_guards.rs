//! Nothing breaks a live call, even a bug: a turn that panics or runs past
//! its deadline still answers 200 with the spoken apology, through the
//! path production uses, and the log names the call. In its own test
//! binary because it captures the log with a thread-local subscriber.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use callflow::http::{self, Fault, voice::TURN_DEADLINE};
use common::*;
use http_body_util::BodyExt;
use tower::ServiceExt;

fn first_webhook() -> Request<Body> {
    Request::post("/voice")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(
            "CallSid=CA0000000000000000000000000000beef&From=%2B15551112222&To=%2B15553334444",
        ))
        .unwrap()
}

async fn text_of(response: axum::response::Response) -> (StatusCode, String, String) {
    let status = response.status();
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, kind, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn a_turn_that_panics_is_answered_with_the_apology_over_a_real_socket() {
    let (log, _guard) = capture_log();
    let state = state_at("flows", OPEN).with_fault(Fault::Panic);
    let (address, stop, server) = serve(http::router(state)).await;

    let (status, kind, twiml) = text_of(send_over_socket(address, first_webhook()).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind, "text/xml; charset=utf-8");
    assert!(twiml.contains("<Say>We're sorry"), "{twiml}");
    assert!(twiml.contains("<Hangup />"), "{twiml}");
    assert!(!twiml.contains("Thanks for calling Acme"), "{twiml}");

    // The server lives on, and the next call is answered as usual.
    let healthy = serve(app_at("flows", OPEN)).await;
    let (_, _, twiml) = text_of(send_over_socket(healthy.0, first_webhook()).await).await;
    assert!(twiml.contains("Thanks for calling Acme"), "{twiml}");
    let (status, ..) = text_of(send_over_socket(address, first_webhook()).await).await;
    assert_eq!(status, StatusCode::OK, "the server still answers");

    let log = log.text();
    assert!(log.contains("ERROR"), "{log}");
    assert!(log.contains("panicked"), "{log}");
    assert!(
        log.contains("call_sid=CA0000000000000000000000000000beef"),
        "{log}"
    );
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    healthy.1.send(()).unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_turn_that_outlasts_its_deadline_is_answered_with_the_apology() {
    let (log, _guard) = capture_log();
    let stalled = state_at("flows", OPEN).with_fault(Fault::Stall(Duration::from_secs(60)));
    let started = tokio::time::Instant::now();
    let response = http::router(stalled)
        .oneshot(first_webhook())
        .await
        .unwrap();
    assert_eq!(started.elapsed(), TURN_DEADLINE);
    assert!(
        TURN_DEADLINE < Duration::from_secs(15),
        "inside Twilio's wait"
    );
    let (status, kind, twiml) = text_of(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind, "text/xml; charset=utf-8");
    assert!(twiml.contains("<Say>We're sorry"), "{twiml}");

    // A turn that waits less than the deadline is answered as usual.
    let slow = state_at("flows", OPEN).with_fault(Fault::Stall(Duration::from_secs(3)));
    let (_, _, twiml) = text_of(http::router(slow).oneshot(first_webhook()).await.unwrap()).await;
    assert!(twiml.contains("Thanks for calling Acme"), "{twiml}");

    let log = log.text();
    assert!(log.contains("took longer than"), "{log}");
    assert!(log.contains("CA0000000000000000000000000000beef"), "{log}");
}
