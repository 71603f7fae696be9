//! Which flow answers a call, and what a caller hears when something is wrong.

mod common;

use callflow::simulator::{CallEnd, CallSetup};
use common::*;

const DIR: &str = "tests/fixtures/flows/routing";

#[tokio::test]
async fn the_flow_parameter_wins() {
    let mut setup = setup("client:alice", "+15557654321");
    setup.flow = Some("support".into());
    let call = call(DIR, OPEN, setup, vec![]).await;
    assert_eq!(call.heard(), ["This is the support flow."]);
}

#[tokio::test]
async fn a_browser_call_with_a_to_goes_to_the_outbound_flow() {
    let call = call(DIR, OPEN, setup("client:alice", "+15557654321"), vec![]).await;
    assert_eq!(
        call.heard(),
        ["This is the outbound flow, calling +15557654321."]
    );
}

#[tokio::test]
async fn a_browser_call_without_a_to_goes_to_the_default_flow() {
    let call = call(DIR, OPEN, setup("client:alice", ""), vec![]).await;
    assert_eq!(call.heard(), ["This is the main flow."]);
}

#[tokio::test]
async fn the_called_number_picks_its_flow() {
    let call = call(DIR, OPEN, setup("+15551112222", "+1 555 000 2222"), vec![]).await;
    assert_eq!(call.heard(), ["This is the support flow."]);
}

#[tokio::test]
async fn other_calls_go_to_the_default_flow() {
    let call = call(DIR, OPEN, setup("+15551112222", "+15559999999"), vec![]).await;
    assert_eq!(call.heard(), ["This is the main flow."]);
}

#[tokio::test]
async fn an_unknown_flow_gets_an_apology_not_an_error() {
    let setup = CallSetup {
        flow: Some("nonexistent".into()),
        ..CallSetup::default()
    };
    let call = call(DIR, OPEN, setup, vec![]).await;
    assert_eq!(call.exchanges[0].status, 200);
    assert!(heard(&call, "something went wrong"));
    assert_eq!(call.ended(), Some(&CallEnd::Hangup));
}

/// The steps a webhook ran travel back only to those who ask (the
/// simulator, flow tests); Twilio's answers carry no extra header.
#[tokio::test]
async fn the_steps_header_is_sent_only_when_asked_for() {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    let webhook = |ask: bool| {
        let mut request =
            Request::post("/voice").header("content-type", "application/x-www-form-urlencoded");
        if ask {
            request = request.header("x-callflow-steps", "?");
        }
        request
            .body(Body::from(
                "CallSid=CA1&From=%2B15551112222&To=%2B15559999999",
            ))
            .unwrap()
    };
    let router = router_at(DIR, OPEN);
    let plain = router.clone().oneshot(webhook(false)).await.unwrap();
    assert_eq!(plain.status(), 200);
    assert!(plain.headers().get("x-callflow-steps").is_none());
    let asked = router.oneshot(webhook(true)).await.unwrap();
    assert_eq!(
        asked.headers().get("x-callflow-steps").unwrap(),
        "main:hello"
    );
}
