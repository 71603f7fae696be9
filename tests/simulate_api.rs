//! The simulation API and the page's routes, over the whole router with
//! `oneshot`: what the browser page relies on, without a browser. The page
//! holds the admin key (as its cookie), so these requests send it too.

mod common;

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode, header};
use callflow::config::Settings;
use callflow::engine::EngineSettings;
use callflow::flow::load::Source;
use callflow::http::admin::{AdminGate, AdminKey};
use callflow::http::page::PageSettings;
use callflow::http::simulate::SimulatorMode;
use callflow::http::{self, AppState};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use common::{OPEN, repo_path};

const LOCAL: &str = "127.0.0.1:50000";
const KEY: &str = "simulate-api-admin-key-0123";
const BEARER: &str = "Bearer simulate-api-admin-key-0123";

fn state(simulator: SimulatorMode) -> AppState {
    let flows = callflow::flow::load(&repo_path("flows")).unwrap().flows;
    let engine = EngineSettings {
        caller_id: Some("+15550001111".into()),
        ..EngineSettings::default()
    };
    AppState::new(flows, engine)
        .with_page(PageSettings::new(repo_path("public")).with_simulator(simulator))
        .with_admin(AdminGate::with_key(AdminKey::parse(KEY).unwrap()))
}

/// The router as served, with `peer` as the client's address.
fn app_from(state: AppState, peer: &str) -> Router {
    let peer: SocketAddr = peer.parse().unwrap();
    http::router(state).layer(MockConnectInfo(peer))
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|_| panic!("JSON, got {} {:?}", self.status, self.text))
    }
}

async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::HOST, "localhost:3000")
        .header(header::AUTHORIZATION, BEARER)
        .body(Body::empty())
        .unwrap()
}

fn post(uri: &str, body: Value) -> Request<Body> {
    Request::post(uri)
        .header(header::HOST, "localhost:3000")
        .header(header::AUTHORIZATION, BEARER)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn start(app: &Router, body: Value) -> Value {
    let reply = send(app, post("/simulate/calls", body)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.json()
}

async fn act(app: &Router, id: &str, action: &str, value: Option<&str>) -> Value {
    let reply = send(
        app,
        post(
            &format!("/simulate/calls/{id}"),
            json!({ "action": action, "value": value }),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.json()
}

fn heard(view: &Value) -> Vec<String> {
    view["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "heard")
        .map(|e| e["text"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_page_walks_a_call_through_main() {
    let app = app_from(state(SimulatorMode::default()), LOCAL);
    let status = send(&app, get("/simulate")).await.json();
    assert_eq!(status["enabled"], true);
    assert_eq!(status["mode"], "on");

    let call = start(&app, json!({ "flow": "main", "at": OPEN })).await;
    let id = call["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("sim_") && id.len() > 30, "unguessable: {id}");
    assert_eq!(call["waiting"]["for"], "input");
    assert_eq!(call["waiting"]["num_digits"], 1);
    assert_eq!(call["setup"]["flow"], "main");
    assert_eq!(call["exchanges"][0]["url"], "/voice");
    assert!(
        call["exchanges"][0]["twiml"]
            .as_str()
            .unwrap()
            .contains("<Gather")
    );
    assert_eq!(
        call["steps"],
        json!(["main:welcome", "main:office_hours", "main:menu"])
    );

    let call = act(&app, &id, "press", Some("2")).await;
    assert!(heard(&call).iter().any(|h| h.contains("account number")));
    let call = act(&app, &id, "press", Some("123456#")).await;
    assert_eq!(
        call["waiting"],
        json!({ "for": "dial", "targets": ["+15551230002"] })
    );

    let call = act(&app, &id, "dial_outcome", Some("busy")).await;
    assert_eq!(call["vars"]["account"], "123456");
    assert_eq!(call["waiting"]["for"], "record");
    assert!(
        call["steps"]
            .as_array()
            .unwrap()
            .contains(&json!("main:voicemail"))
    );
    let call = act(&app, &id, "record", None).await;
    assert_eq!(call["waiting"]["for"], "ended");
    assert_eq!(call["waiting"]["end"]["how"], "hangup");
    // Each answer holds the whole call so far.
    let again = send(&app, get(&format!("/simulate/calls/{id}")))
        .await
        .json();
    assert_eq!(again["events"], call["events"]);

    let forget = Request::delete(format!("/simulate/calls/{id}"))
        .header(header::HOST, "localhost")
        .header(header::AUTHORIZATION, BEARER)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, forget).await.status, StatusCode::NO_CONTENT);
    let gone = send(&app, get(&format!("/simulate/calls/{id}"))).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert!(
        gone.json()["error"]
            .as_str()
            .unwrap()
            .contains("start a new call")
    );
}

#[tokio::test]
async fn from_and_to_route_the_call() {
    let app = app_from(state(SimulatorMode::default()), LOCAL);
    let call = start(
        &app,
        json!({ "from": "client:alice", "to": "+12125550143", "params": { "CallerName": "Alice" } }),
    )
    .await;
    assert_eq!(
        call["waiting"],
        json!({ "for": "dial", "targets": ["+12125550143"] })
    );
    assert_eq!(call["steps"], json!(["outbound:dial_out"]));
    let call = act(
        &app,
        call["id"].as_str().unwrap(),
        "dial_outcome",
        Some("no-answer"),
    )
    .await;
    assert!(heard(&call).iter().any(|h| h.contains("Nobody answered")));
}

#[tokio::test]
async fn mistakes_are_explained_in_json() {
    let app = app_from(state(SimulatorMode::default()), LOCAL);
    let cases = [
        (
            json!({ "flow": "mian" }),
            StatusCode::BAD_REQUEST,
            "main, outbound",
        ),
        (
            json!({ "at": "tuesday" }),
            StatusCode::BAD_REQUEST,
            "2026-11-24T10:30:00-05:00",
        ),
        (
            json!({ "form": "+1555" }),
            StatusCode::BAD_REQUEST,
            "unknown field `form`",
        ),
        (
            json!({ "to": "x".repeat(300) }),
            StatusCode::BAD_REQUEST,
            "at most 256",
        ),
    ];
    for (body, status, says) in cases {
        let reply = send(&app, post("/simulate/calls", body.clone())).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.text);
        let error = reply.json()["error"].as_str().unwrap().to_owned();
        assert!(error.contains(says), "{body}: {error}");
    }

    let form = Request::post("/simulate/calls")
        .header(header::HOST, "localhost")
        .header(header::AUTHORIZATION, BEARER)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("from=x"))
        .unwrap();
    let reply = send(&app, form).await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(reply.json()["error"].as_str().unwrap().contains("JSON"));

    let call = start(&app, json!({ "flow": "main", "at": OPEN })).await;
    let id = call["id"].as_str().unwrap();
    let uri = format!("/simulate/calls/{id}");
    let cases = [
        (
            json!({ "action": "dance" }),
            StatusCode::BAD_REQUEST,
            "is not one of",
        ),
        (
            json!({ "action": "press" }),
            StatusCode::BAD_REQUEST,
            "give the keys",
        ),
        (
            json!({ "action": "press", "value": "1a" }),
            StatusCode::BAD_REQUEST,
            "0-9",
        ),
        (
            json!({ "action": "dial_outcome", "value": "maybe" }),
            StatusCode::BAD_REQUEST,
            "busy",
        ),
        (
            json!({ "action": "record" }),
            StatusCode::CONFLICT,
            "waiting for keys or speech",
        ),
    ];
    for (body, status, says) in cases {
        let reply = send(&app, post(&uri, body.clone())).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.text);
        let error = reply.json()["error"].as_str().unwrap().to_owned();
        assert!(error.contains(says), "{body}: {error}");
    }
    act(&app, id, "hang_up", None).await;
    let reply = send(&app, post(&uri, json!({ "action": "silence" }))).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert!(reply.json()["error"].as_str().unwrap().contains("ended"));

    let unknown = send(
        &app,
        post("/simulate/calls/sim_nope", json!({ "action": "silence" })),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn who_may_simulate() {
    let refused = |reply: Reply| {
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
        reply.json()["error"].as_str().unwrap().to_owned()
    };
    let off = app_from(state(SimulatorMode::Off), LOCAL);
    let status = send(&off, get("/simulate")).await.json();
    assert_eq!(status["enabled"], false);
    assert!(status["reason"].as_str().unwrap().contains("SIMULATOR=off"));
    let error = refused(send(&off, post("/simulate/calls", json!({}))).await);
    assert!(error.contains("SIMULATOR=off"), "{error}");

    // The default: whoever holds the key, from anywhere, and no one without it, from
    // anywhere (a loopback peer and Host included).
    let without_key = |host: &str| {
        Request::post("/simulate/calls")
            .header(header::HOST, host)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap()
    };
    let local = app_from(state(SimulatorMode::default()), LOCAL);
    for host in ["localhost:3000", "127.0.0.1:3000"] {
        let reply = send(&local, without_key(host)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
        assert!(reply.json()["error"].as_str().unwrap().contains("?key="));
    }
    let status = send(
        &local,
        Request::get("/simulate").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status.status, StatusCode::UNAUTHORIZED);
    // `local`, the old default, is `on` now.
    let remote = app_from(state(SimulatorMode::Local), "203.0.113.7:40000");
    assert_eq!(send(&remote, get("/simulate")).await.json()["mode"], "on");
    start(&remote, json!({})).await;

    let on = app_from(state(SimulatorMode::On), "203.0.113.7:40000");
    start(&on, json!({})).await;
}

#[tokio::test]
async fn simulated_calls_skip_signatures_that_real_webhooks_need() {
    let auth = Settings::from_vars(&[("TWILIO_AUTH_TOKEN", "0123456789abcdef0123456789abcdef")])
        .unwrap()
        .webhook_auth();
    let app = app_from(
        state(SimulatorMode::default()).with_webhook_auth(auth),
        LOCAL,
    );
    let forged = Request::post("/voice")
        .header(header::HOST, "localhost")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("From=%2B15551112222&To=%2B15553334444"))
        .unwrap();
    assert_eq!(send(&app, forged).await.status, StatusCode::FORBIDDEN);
    let call = start(&app, json!({ "flow": "main", "at": OPEN })).await;
    assert_eq!(call["waiting"]["for"], "input");
}

fn flows_saying(greeting: &str) -> callflow::flow::FlowSet {
    let text = format!(
        "start: hello\nsteps:\n  hello:\n    say: {greeting}\n    next: ask\n  ask:\n    gather:\n      say: Press a key.\n      save_as: key\n    next: bye\n  bye:\n    say: Bye from {greeting}\n"
    );
    callflow::flow::load_sources(vec![Source {
        name: "main".into(),
        file: "main.yaml".into(),
        text,
    }])
    .unwrap_or_else(|report| panic!("{report}"))
    .flows
}

#[tokio::test]
async fn a_reload_reaches_the_next_simulated_webhook() {
    let state = state(SimulatorMode::default());
    state
        .flows
        .flows()
        .store(std::sync::Arc::new(flows_saying("version one")));
    let app = app_from(state.clone(), LOCAL);
    let call = start(&app, json!({})).await;
    assert_eq!(heard(&call)[0], "version one");
    let id = call["id"].as_str().unwrap().to_owned();

    // What a hot reload does: swap the flow set under the running server.
    state
        .flows
        .flows()
        .store(std::sync::Arc::new(flows_saying("version two")));
    let call = act(&app, &id, "press", Some("5")).await;
    assert_eq!(heard(&call).last().unwrap(), "Bye from version two");
    let next = start(&app, json!({})).await;
    assert_eq!(heard(&next)[0], "version two");
}

#[tokio::test]
async fn a_looping_flow_ends_the_call_instead_of_hanging_the_page() {
    let looping = callflow::flow::load_sources(vec![Source {
        name: "main".into(),
        file: "main.yaml".into(),
        text:
            "start: a\nsteps:\n  a:\n    say: Round\n    next: b\n  b:\n    branch:\n      - if: vars.stop\n        goto: done\n      - goto: a\n  done:\n    say: Done.\n"
                .into(),
    }])
    .unwrap()
    .flows;
    let state = state(SimulatorMode::default());
    state.flows.flows().store(std::sync::Arc::new(looping));
    let app = app_from(state, LOCAL);
    let call = start(&app, json!({})).await;
    assert_eq!(call["waiting"]["for"], "ended");
    assert!(
        heard(&call)
            .last()
            .unwrap()
            .contains("something went wrong")
    );
}

/// The page plays a queue's hold and a whisper's answer through the same
/// actions as `callflow call`: `queue` and `callee`.
#[tokio::test]
async fn a_page_holds_in_a_queue_and_answers_a_whisper() {
    let flows = callflow::flow::load(&repo_path("examples/flows"))
        .unwrap()
        .flows;
    let state = state(SimulatorMode::default());
    state.flows.flows().store(std::sync::Arc::new(flows));
    let app = app_from(state, LOCAL);

    let call = start(&app, json!({ "flow": "queue_hold" })).await;
    let id = call["id"].as_str().unwrap().to_owned();
    assert_eq!(
        call["waiting"],
        json!({ "for": "queue", "queue": "helpdesk", "holds": 0 })
    );
    let call = act(&app, &id, "queue", Some("hold")).await;
    assert!(
        heard(&call)
            .iter()
            .any(|h| h == "You are number 2 in line.")
    );
    assert_eq!(call["waiting"]["for"], "input");
    assert_eq!(call["waiting"]["holding"], true);
    let call = act(&app, &id, "queue", Some("bridged")).await;
    assert!(
        heard(&call)
            .iter()
            .any(|h| h == "Thanks for calling Acme. Goodbye.")
    );
    let bad = send(
        &app,
        post(
            &format!("/simulate/calls/{id}"),
            json!({ "action": "queue", "value": "leave" }),
        ),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);

    let call = start(&app, json!({ "flow": "screening" })).await;
    let id = call["id"].as_str().unwrap().to_owned();
    assert_eq!(call["waiting"]["whisper"], true);
    let call = act(&app, &id, "callee", Some("declines")).await;
    let events = call["events"].as_array().unwrap();
    assert!(events.iter().any(|e| {
        e["event"] == "callee_heard"
            && e["text"]
                .as_str()
                .unwrap()
                .starts_with("After-hours call from")
    }));
    assert!(
        events
            .iter()
            .any(|e| e == &json!({ "event": "callee_answered", "joined": false }))
    );
    assert_eq!(call["waiting"]["for"], "record");
}

#[tokio::test]
async fn the_page_and_the_sdk_are_served() {
    let app = app_from(state(SimulatorMode::default()), LOCAL);
    let root = send(&app, get("/")).await;
    assert!(root.status.is_redirection());
    assert_eq!(root.headers[header::LOCATION], "/voice-client.html");

    let page = send(&app, get("/voice-client.html")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text.contains("js/app.js"));
    let script = send(&app, get("/js/app.js")).await;
    assert!(
        script.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("javascript")
    );

    let outside = send(&app, get("/../Cargo.toml")).await;
    assert!(!outside.status.is_success(), "{}", outside.status);
    assert_eq!(
        send(&app, get("/nothing-here.html")).await.status,
        StatusCode::NOT_FOUND
    );

    // No SDK installed: the page is told, and the bundle's URL says what to run.
    let mut page = PageSettings::new(repo_path("public"));
    page.sdk_file = repo_path("tests/fixtures/no-such-sdk.js");
    let bare = app_from(state(SimulatorMode::default()).with_page(page), LOCAL);
    let status = send(&bare, get("/vendor/status")).await.json();
    assert_eq!(status["twilio_sdk"]["installed"], false);
    assert!(
        status["twilio_sdk"]["fix"]
            .as_str()
            .unwrap()
            .contains("npm ci")
    );
    let sdk = send(&bare, get("/vendor/twilio.min.js")).await;
    assert_eq!(sdk.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(sdk.text.contains("npm ci"));
}

#[tokio::test]
async fn the_diagram_s_layout_library_is_served_like_the_sdk() {
    let app = app_from(state(SimulatorMode::default()), LOCAL);
    // The page's files hold no secret: no key is needed, as for the SDK.
    let without_key = || {
        Request::get("/vendor/dagre.js")
            .body(Body::empty())
            .unwrap()
    };
    let library = send(&app, without_key()).await;
    assert_eq!(library.status, StatusCode::OK);
    assert!(
        library.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    assert!(library.text.contains("layout"), "dagre's ES module");
    let sdk = send(
        &app,
        Request::get("/vendor/twilio.min.js")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(library.headers.contains_key(header::LAST_MODIFIED));
    for cached in [header::LAST_MODIFIED, header::ETAG, header::CACHE_CONTROL] {
        assert_eq!(
            library.headers.get(&cached).is_some(),
            sdk.headers.get(&cached).is_some(),
            "{cached} as for the SDK"
        );
    }
    let status = send(&app, get("/vendor/status")).await.json();
    assert_eq!(status["diagram"]["installed"], true);
    assert_eq!(status["diagram"]["url"], "/vendor/dagre.js");

    let mut page = PageSettings::new(repo_path("public"));
    page.diagram_file = repo_path("tests/fixtures/no-such-diagram-library.js");
    let bare = app_from(state(SimulatorMode::default()).with_page(page), LOCAL);
    let status = send(&bare, get("/vendor/status")).await.json();
    assert_eq!(status["diagram"]["installed"], false);
    assert!(
        status["diagram"]["fix"]
            .as_str()
            .unwrap()
            .contains("npm ci")
    );
    assert_eq!(status["twilio_sdk"]["installed"], true);
    let missing = send(&bare, without_key()).await;
    assert_eq!(missing.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(missing.text.contains("@dagrejs/dagre"), "{}", missing.text);
}

#[test]
fn page_settings_read_the_environment_names_in_the_readme() {
    let settings =
        Settings::from_vars(&[("PUBLIC_DIR", "/srv/callflow/public"), ("SIMULATOR", "on")])
            .unwrap()
            .page();
    assert_eq!(
        settings.public_dir,
        std::path::Path::new("/srv/callflow/public")
    );
    assert_eq!(
        settings.sdk_file,
        std::path::Path::new("/srv/callflow/node_modules/@twilio/voice-sdk/dist/twilio.min.js")
    );
    assert_eq!(settings.simulator, SimulatorMode::On);
}
