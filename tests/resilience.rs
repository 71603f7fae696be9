//! Nothing breaks a live call: every failure is a spoken apology (or the
//! flow's fallback) in a 200 TwiML answer.

mod common;

use axum::body::Body;
use axum::http::Request;
use callflow::simulator::{CallEnd, CallSetup, CallerAction};
use common::*;
use http_body_util::BodyExt;
use tower::ServiceExt;

const DIR: &str = "tests/fixtures/flows/resilience";

fn flow(name: &str) -> CallSetup {
    CallSetup {
        flow: Some(name.into()),
        ..CallSetup::default()
    }
}

#[tokio::test]
async fn a_flow_that_loops_without_waiting_ends_with_an_apology() {
    let call = call(DIR, OPEN, flow("main"), vec![]).await;
    assert_eq!(
        call.heard(),
        ["We're sorry, something went wrong on our side. Please call again later. Goodbye."]
    );
    assert_eq!(call.ended(), Some(&CallEnd::Hangup));
}

#[tokio::test]
async fn a_template_that_fails_at_run_time_ends_with_an_apology() {
    let call = call(DIR, OPEN, flow("broken_template"), vec![]).await;
    assert_eq!(call.exchanges[0].status, 200);
    assert!(heard(&call, "something went wrong"));
}

#[tokio::test]
async fn the_fallback_step_takes_over_when_configured() {
    let call = call(DIR, OPEN, flow("with_fallback"), vec![]).await;
    assert_eq!(
        call.heard(),
        ["Our menu is being updated. Please hold for an operator."]
    );
    assert_eq!(call.dialled(), ["+15551230009"]);
}

#[tokio::test]
async fn a_silent_caller_on_a_menu_that_loops_is_let_go() {
    let call = call(DIR, OPEN, flow("menu_forever"), vec![]).await;
    assert!(
        heard(&call, "We haven't heard from you"),
        "{}",
        call.transcript()
    );
    assert_eq!(call.ended(), Some(&CallEnd::Hangup));
    assert_eq!(
        call.exchanges.len(),
        callflow::engine::MAX_IDLE_TURNS as usize + 1
    );
}

#[tokio::test]
async fn a_callback_for_a_step_that_no_longer_exists_gets_an_apology() {
    let app = app_at(DIR, OPEN);
    let response = app
        .oneshot(
            Request::post(common::sealed_url("menu_forever", "removed_step", None))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from("CallSid=CA123&Digits=1"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/xml; charset=utf-8"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body = String::from_utf8(body.to_vec()).unwrap();
    assert!(
        body.contains("something went wrong") && body.ends_with("<Hangup /></Response>"),
        "{body}"
    );
}

#[tokio::test]
async fn get_webhooks_are_answered_too() {
    let app = app_at("flows", OPEN);
    let response = app
        .oneshot(
            Request::get("/voice?CallSid=CA1&From=%2B15551112222&To=%2B15553334444")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("Thanks for calling Acme"));
}

/// HTTP media types ignore letter case and may carry parameters: the
/// handler reads such a body, as the signature check does.
#[tokio::test]
async fn a_form_is_read_however_its_type_is_written() {
    let response = app_at("flows", OPEN)
        .oneshot(
            Request::post("/voice")
                .header(
                    "content-type",
                    "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
                )
                .body(Body::from("CallSid=CA1&CallerName=Ada"))
                .unwrap(),
        )
        .await
        .unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(
        String::from_utf8_lossy(&body).contains("Thanks for calling Acme, Ada."),
        "{}",
        String::from_utf8_lossy(&body)
    );
}

#[tokio::test]
async fn health_check() {
    let response = app_at("flows", OPEN)
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_caller_can_hang_up_mid_menu() {
    let call = call(
        "flows",
        OPEN,
        CallSetup::default(),
        vec![CallerAction::HangUp],
    )
    .await;
    assert_eq!(call.ended(), Some(&CallEnd::CallerHungUp));
}

#[tokio::test]
async fn with_an_auth_token_only_signed_webhooks_are_answered() {
    use callflow::config::Settings;
    use callflow::signature::{Algorithm, AuthToken, compute_signature};

    let token = "0123456789abcdef0123456789abcdef";
    let auth = Settings::from_vars(&[
        ("TWILIO_AUTH_TOKEN", token),
        ("PUBLIC_URL", "https://ivr.example.com"),
    ])
    .unwrap()
    .webhook_auth();
    let flows = callflow::flow::load(&repo_path("flows")).unwrap().flows;
    let app = callflow::http::router(
        callflow::http::AppState::new(flows, Default::default()).with_webhook_auth(auth),
    );
    let params = [
        ("CallSid", "CA1"),
        ("From", "+15551112222"),
        ("To", "+15553334444"),
    ];
    let body = "CallSid=CA1&From=%2B15551112222&To=%2B15553334444";
    let signature = compute_signature(
        &AuthToken::new(token).unwrap(),
        Algorithm::HmacSha1,
        "https://ivr.example.com/voice",
        &params,
    );
    let post = |signature: Option<&str>| {
        let mut request =
            Request::post("/voice").header("content-type", "application/x-www-form-urlencoded");
        if let Some(signature) = signature {
            request = request.header("x-twilio-signature", signature);
        }
        request.body(Body::from(body)).unwrap()
    };
    let signed = app.clone().oneshot(post(Some(&signature))).await.unwrap();
    assert_eq!(signed.status(), 200);
    let text = signed.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&text).contains("Thanks for calling Acme"));
    let unsigned = app.clone().oneshot(post(None)).await.unwrap();
    assert_eq!(unsigned.status(), 403);
    let forged = app
        .oneshot(post(Some("bm90IGEgc2lnbmF0dXJl")))
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_a_reason() {
    let body = format!("CallSid=CA1&Junk={}", "x".repeat(70 * 1024));
    let response = app_at("flows", OPEN)
        .oneshot(
            Request::post("/voice")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let text = response.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&text).contains("KiB"));
}

/// A body that never arrives, like a client that opens a webhook and stalls.
struct StalledBody;

impl axum::body::HttpBody for StalledBody {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Pending
    }
}

fn webhook_with(body: Body) -> Request<Body> {
    Request::post("/voice")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .unwrap()
}

/// Both ways to `/voice` (the server's direct path, the router's route)
/// cut a stalled request off after ten seconds.
#[tokio::test(start_paused = true)]
async fn a_stalled_request_is_cut_off_with_a_reason() {
    let started = tokio::time::Instant::now();
    let direct = app_at("flows", OPEN)
        .oneshot(webhook_with(Body::new(StalledBody)))
        .await
        .unwrap();
    assert_eq!(started.elapsed().as_secs(), 10);
    let routed = router_at("flows", OPEN)
        .oneshot(webhook_with(Body::new(StalledBody)))
        .await
        .unwrap();
    assert_eq!(started.elapsed().as_secs(), 20);
    for response in [direct, routed] {
        assert_eq!(response.status(), 408);
        let text = response.into_body().collect().await.unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&text).contains("did not arrive in time"));
    }
}

/// A body sent in parts over a channel, the way a slow client sends it.
struct BodyInParts(tokio::sync::mpsc::Receiver<&'static str>);

impl axum::body::HttpBody for BodyInParts {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|part| part.map(|text| Ok(http_body::Frame::data(text.into()))))
    }
}

fn body_in_parts() -> (tokio::sync::mpsc::Sender<&'static str>, Body) {
    let (send, receive) = tokio::sync::mpsc::channel(4);
    (send, Body::new(BodyInParts(receive)))
}

#[tokio::test(start_paused = true)]
async fn a_request_that_stalls_half_way_is_cut_off() {
    let (send, body) = body_in_parts();
    send.send("CallSid=CA1&From=%2B1").await.unwrap();
    let response = app_at("flows", OPEN)
        .oneshot(webhook_with(body))
        .await
        .unwrap();
    assert_eq!(response.status(), 408);
    drop(send);
}

#[tokio::test(start_paused = true)]
async fn a_slow_request_that_arrives_in_time_is_answered() {
    let (send, body) = body_in_parts();
    tokio::spawn(async move {
        send.send("CallSid=CA1&From=%2B1555").await.unwrap();
        tokio::time::sleep(std::time::Duration::from_secs(9)).await;
        send.send("1112222").await.unwrap();
    });
    let response = app_at("flows", OPEN)
        .oneshot(webhook_with(body))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&text).contains("<Response>"));
}

/// A body that breaks off, like a client that disconnects mid-request.
struct BrokenBody;

impl axum::body::HttpBody for BrokenBody {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::ErrorKind::ConnectionReset.into())))
    }
}

#[tokio::test]
async fn a_body_that_breaks_off_is_refused_with_a_reason() {
    let response = app_at("flows", OPEN)
        .oneshot(webhook_with(Body::new(BrokenBody)))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let text = response.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&text).contains("could not be read"));
}
