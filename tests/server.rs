//! What the server runs: every request, webhooks included, through the one
//! router. Served over a real socket ([`callflow::http::run`], as in
//! production), it must answer exactly as the router does in-process (as
//! the simulator and flow tests drive it), and every route must be reached.

mod common;

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use axum::response::Response;
use common::*;
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::ServiceExt;

async fn read(response: Response) -> (StatusCode, Option<String>, Bytes) {
    let status = response.status();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        status,
        kind,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

/// Each request sent over a socket and in-process, with the answers side
/// by side.
async fn both(
    at: &str,
    request: impl Fn() -> Request<Body>,
) -> [(StatusCode, Option<String>, Bytes); 2] {
    let (address, stop, server) = serve(app_at("flows", at)).await;
    let served = send_over_socket(address, request()).await;
    let served = read(served).await;
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    let routed = router_at("flows", at).oneshot(request()).await.unwrap();
    [served, read(routed).await]
}

/// Builds the same request again for each side.
type MakeRequest = fn() -> Request<Body>;

fn form(uri: &str, body: &'static str) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn webhooks_are_answered_as_the_router_answers_them() {
    let webhooks: [(&str, MakeRequest); 6] = [
        ("a first webhook", || {
            form(
                "/voice",
                "CallSid=CA1&From=%2B15551112222&To=%2B15553334444",
            )
        }),
        ("a menu choice", || {
            form(
                &common::sealed_url("main", "menu", None),
                "CallSid=CA1&From=%2B15551112222&Digits=1",
            )
        }),
        ("a step that is gone", || {
            form(
                &common::sealed_url("main", "no_such_step", None),
                "CallSid=CA1",
            )
        }),
        ("a GET webhook", || {
            Request::get("/voice?CallSid=CA1&From=%2B15551112222")
                .body(Body::empty())
                .unwrap()
        }),
        ("a body that is not a form", || {
            Request::post("/voice")
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap()
        }),
        ("a PUT, which /voice refuses", || {
            Request::put("/voice").body(Body::empty()).unwrap()
        }),
    ];
    for at in [OPEN, CLOSED] {
        for (what, webhook) in webhooks {
            let [direct, routed] = both(at, webhook).await;
            assert_eq!(direct, routed, "{what} at {at}");
        }
    }
    // And they are real answers, not two copies of the same mistake.
    let [(status, kind, body), _] = both(OPEN, webhooks[0].1).await;
    assert_eq!(status, 200);
    assert_eq!(kind.as_deref(), Some("text/xml; charset=utf-8"));
    assert!(String::from_utf8_lossy(&body).contains("Thanks for calling Acme"));
    let [(status, ..), _] = both(OPEN, webhooks[5].1).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn other_paths_still_reach_their_routes() {
    let app = app_at("flows", OPEN);
    let health = app
        .clone()
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(read(health).await.2, "ok");
    let page = app
        .clone()
        .oneshot(
            Request::get("/voice-client.html")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let missing = app
        .oneshot(Request::get("/voice/nowhere").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

/// `/flows` shows itself only to the server's own machine, which it can
/// tell only if the connection's address reaches the handler.
#[tokio::test]
async fn routes_see_who_is_connected() {
    let (address, stop, server) = serve(app_at("flows", OPEN)).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /flows HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"name\":\"main\""), "{answer}");

    // Without a connection behind it the same request is refused: the
    // check above did look at the address.
    let unknown = app_at("flows", OPEN)
        .oneshot(Request::get("/flows").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::FORBIDDEN);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
