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

/// Over a socket, `/flows` answers the admin key and nothing else: not the
/// loopback address the request comes from, nor its loopback `Host`.
#[tokio::test]
async fn flows_over_a_socket_need_the_key_even_from_loopback() {
    let key = "server-test-admin-key-0001";
    let state = state_at("flows", OPEN).with_admin(callflow::http::admin::AdminGate::with_key(
        callflow::http::admin::AdminKey::parse(key).unwrap(),
    ));
    let (address, stop, server) = serve(callflow::http::router(state)).await;
    let flows = |auth: String| async move {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let request =
            format!("GET /flows HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    };
    let answer = flows(format!("Authorization: Bearer {key}\r\n")).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"name\":\"main\""), "{answer}");
    let refused = flows(String::new()).await;
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// Handlers that count per client (the token endpoint's rate limit) see
/// the connection's address: a request without one is another client.
#[tokio::test]
async fn routes_see_who_is_connected() {
    let settings = callflow::config::Settings::from_vars(&[
        ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef"),
        ("TWILIO_API_KEY", "SKfedcba9876543210fedcba9876543210"),
        ("TWILIO_API_SECRET", "not_a_real_secret_4f9a2c"),
        ("TWILIO_TWIML_APP_SID", "AP00112233445566778899aabbccddeeff"),
        ("TOKEN_PUBLIC", "true"),
        ("TOKEN_RATE_LIMIT", "1"),
    ])
    .unwrap();
    let app = callflow::http::router(state_at("flows", OPEN).with_tokens(
        callflow::token::TokenService::new(settings.token_settings()),
    ));
    let (address, stop, server) = serve(app.clone()).await;
    let over_socket = || async move {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream
            .write_all(b"GET /voice/token HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    };
    let first = over_socket().await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    // Without a connection behind it the request counts as an unknown
    // client, whose budget is its own.
    let unknown = app
        .oneshot(Request::get("/voice/token").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::OK);
    let second = over_socket().await;
    assert!(second.starts_with("HTTP/1.1 429"), "{second}");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
