//! The `request` step against real HTTP servers started here on port 0:
//! what a call hears when the far server answers, fails, is slow, answers
//! too much or redirects; that secrets reach the far server and nowhere
//! else; that background requests are retried; that a turn's requests
//! share one deadline.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use callflow::engine::EngineSettings;
use callflow::flow::load::Source;
use callflow::flow::{FlowSet, SecretSource};
use callflow::http::{self, AppState};
use callflow::outbound::{Outbound, OutboundSettings, RetryPolicy};
use callflow::simulator::{CallSetup, SimulatedCall};
use common::{capture_log, heard, press};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// The token the tests' flows declare; it must reach the far server and
/// show up nowhere else.
const TOKEN: &str = "tok_live_7f3a9c1e5b";

/// What the far server saw.
#[derive(Default)]
struct Seen {
    hits: Mutex<HashMap<String, usize>>,
    authorization: Mutex<Vec<String>>,
    traceparent: Mutex<Vec<String>>,
    user_agent: Mutex<Vec<String>>,
    bodies: Mutex<Vec<String>>,
}

impl Seen {
    fn hit(&self, path: &str) {
        *self
            .hits
            .lock()
            .unwrap()
            .entry(path.to_owned())
            .or_default() += 1;
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

/// A shop API on a loopback port, answering at once unless asked to wait.
async fn far_server() -> (SocketAddr, Arc<Seen>) {
    async fn order(
        State(seen): State<Arc<Seen>>,
        Path(id): Path<String>,
        headers: HeaderMap,
    ) -> Response {
        seen.hit("/orders");
        let header = |name: header::HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        seen.authorization
            .lock()
            .unwrap()
            .push(header(header::AUTHORIZATION));
        seen.user_agent
            .lock()
            .unwrap()
            .push(header(header::USER_AGENT));
        if let Some(trace) = headers.get("traceparent").and_then(|v| v.to_str().ok()) {
            seen.traceparent.lock().unwrap().push(trace.to_owned());
        }
        if id == "404" {
            return (StatusCode::NOT_FOUND, "{}").into_response();
        }
        axum::Json(serde_json::json!({
            "status": "shipped",
            "delivery": { "eta": "tomorrow" },
            "items": [{ "name": "kettle" }, { "name": "mug" }],
            "id": id,
        }))
        .into_response()
    }
    async fn sleep(Path(ms): Path<u64>) -> impl IntoResponse {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        axum::Json(serde_json::json!({ "slept": ms }))
    }
    async fn flaky(State(seen): State<Arc<Seen>>, body: String) -> StatusCode {
        seen.hit("/survey");
        seen.bodies.lock().unwrap().push(body);
        if seen.hits("/survey") < 3 {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::NO_CONTENT
        }
    }
    let app = Router::new()
        .route("/orders/{id}", get(order))
        .route("/sleep/{ms}", get(sleep))
        .route("/fail", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
        .route("/text", get(|| async { "all good, but not JSON" }))
        .route(
            "/big",
            get(|| async {
                let padding = "x".repeat(300 * 1024);
                axum::Json(serde_json::json!({ "status": "shipped", "padding": padding }))
            }),
        )
        .route(
            "/moved",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/orders/1")]) }),
        )
        .route("/survey", post(flaky));
    let seen = Arc::new(Seen::default());
    let app = app.with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (address, seen)
}

fn flows(text: &str) -> FlowSet {
    let loaded = callflow::flow::load_sources(vec![Source {
        name: "main".into(),
        file: "main.yaml".into(),
        text: text.into(),
    }])
    .unwrap_or_else(|report| panic!("{report}"));
    let secrets = HashMap::from([("SHOP_TOKEN".to_owned(), TOKEN.to_owned())]);
    loaded
        .flows
        .with_secrets(&SecretSource::Given(&secrets))
        .unwrap_or_else(|report| panic!("{report}"))
}

fn router(flows: FlowSet, engine: EngineSettings) -> Router {
    http::router(AppState::new(flows, engine))
}

/// A call that looks an order up at `path` of a far server of its own,
/// with the caller's keys `1#`.
async fn look_up(path: &str) -> (SimulatedCall, Arc<Seen>) {
    let (address, seen) = far_server().await;
    let flows = flows(&lookup_flow(address, path, ""));
    let call = call(router(flows, EngineSettings::default()), vec![press("1#")]).await;
    (call, seen)
}

/// Asserts the caller heard `words`, and that the request's problem (if
/// `problem`) says so.
fn assert_outcome(call: &SimulatedCall, words: &str, problem: Option<&str>) {
    assert!(heard(call, words), "{}", call.transcript());
    if let Some(problem) = problem {
        let said = call.requests()[0].problem.clone().unwrap_or_default();
        assert!(said.contains(problem), "{said}\n{}", call.transcript());
    }
}

async fn call(router: Router, script: Vec<callflow::simulator::CallerAction>) -> SimulatedCall {
    SimulatedCall::play_script(router, CallSetup::default(), script)
        .await
        .expect("the simulated call runs")
}

/// A flow that looks an order up at `path` of the far server and says how
/// it went: the outcome's own words for each way.
fn lookup_flow(address: SocketAddr, path: &str, extra: &str) -> String {
    format!(
        r##"secrets: [SHOP_TOKEN]
steps:
  ask:
    gather: {{ say: Your order number?, save_as: order, finish_on_key: "#" }}
    next: lookup
  lookup:
    request:
      url: "http://{address}{path}"
      headers: {{ Authorization: "Bearer {{{{ secrets.SHOP_TOKEN }}}}" }}
      save: {{ order_status: status, eta: delivery.eta, first_item: items.0.name }}
{extra}
    on: {{ error: failed, timeout: slow }}
    next: tell
  tell:
    say: "Your order has {{{{ vars.order_status }}}}, arriving {{{{ vars.eta }}}}, starting with the {{{{ vars.first_item }}}}."
  failed:
    say: "The lookup failed with status {{{{ vars.http_status | default('none') }}}}."
  slow:
    say: "The lookup took too long{{% if vars.http_status %}} ({{{{ vars.http_status }}}}){{% endif %}}."
"##
    )
}

#[tokio::test]
async fn an_answer_is_saved_and_said() {
    let (address, seen) = far_server().await;
    let flows = flows(&lookup_flow(address, "/orders/{{ vars.order }}", ""));
    let call = call(
        router(flows, EngineSettings::default()),
        vec![press("1234#")],
    )
    .await;
    assert!(
        heard(
            &call,
            "Your order has shipped, arriving tomorrow, starting with the kettle."
        ),
        "{}",
        call.transcript()
    );
    assert_eq!(seen.hits("/orders"), 1);
    // The token reached the far server, and the far server knew who called.
    assert_eq!(
        seen.authorization.lock().unwrap().as_slice(),
        [format!("Bearer {TOKEN}")]
    );
    let agent = seen.user_agent.lock().unwrap()[0].clone();
    assert!(agent.starts_with("callflow/"), "{agent}");
    // The transcript shows the request: method, URL, status, time.
    let request = call.requests()[0].clone();
    assert_eq!(request.method, "GET");
    assert_eq!(request.url, format!("http://{address}/orders/1234"));
    assert_eq!(request.status, Some(200));
    assert!(
        call.transcript().contains(&format!(
            "requests GET http://{address}/orders/1234 -> 200 ("
        )),
        "{}",
        call.transcript()
    );
}

#[tokio::test]
async fn caller_input_is_encoded_into_its_path_segment() {
    let (address, _) = far_server().await;
    let flows = flows(&lookup_flow(address, "/orders/{{ vars.order }}", ""));
    // A variable may hold anything (a speech result, a saved answer): a
    // `/` in it stays inside its segment instead of climbing the path.
    let call = call(
        router(flows, EngineSettings::default()),
        vec![press("1/../../fail#")],
    )
    .await;
    let request = call.requests()[0].clone();
    assert!(
        request.url.ends_with("/orders/1%2F..%2F..%2Ffail"),
        "{}",
        request.url
    );
    assert_eq!(request.status, Some(200), "{}", call.transcript());
}

#[tokio::test]
async fn a_slow_server_takes_the_timeout_route() {
    let (address, _) = far_server().await;
    let flows = flows(&lookup_flow(address, "/sleep/3000", "      timeout: 0.3"));
    let started = Instant::now();
    let call = call(router(flows, EngineSettings::default()), vec![press("1#")]).await;
    assert!(
        heard(&call, "The lookup took too long."),
        "{}",
        call.transcript()
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let request = call.requests()[0].clone();
    assert_eq!(request.status, None);
    assert_eq!(request.problem.as_deref(), Some("no answer in time"));
}

#[tokio::test]
async fn a_server_error_takes_the_error_route_with_its_status() {
    let (call, _) = look_up("/fail").await;
    assert_outcome(
        &call,
        "The lookup failed with status 500.",
        Some("answered 500"),
    );
}

#[tokio::test]
async fn an_answer_that_is_not_json_is_an_error() {
    let (call, _) = look_up("/text").await;
    assert_outcome(
        &call,
        "The lookup failed with status 200.",
        Some("not JSON"),
    );
}

#[tokio::test]
async fn an_answer_over_the_cap_is_an_error() {
    let (call, _) = look_up("/big").await;
    assert_outcome(
        &call,
        "The lookup failed with status none.",
        Some("larger than 262144 bytes"),
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let (call, seen) = look_up("/moved").await;
    assert_outcome(&call, "The lookup failed with status 302.", None);
    assert_eq!(seen.hits("/orders"), 0, "the redirect was followed");
}

#[tokio::test]
async fn without_an_error_route_the_caller_hears_the_apology_and_the_log_names_the_call() {
    let (address, _) = far_server().await;
    let text =
        lookup_flow(address, "/fail", "").replace("    on: { error: failed, timeout: slow }\n", "");
    let (log, _guard) = capture_log();
    let call = call(
        router(flows(&text), EngineSettings::default()),
        vec![press("1#")],
    )
    .await;
    assert!(
        heard(&call, "something went wrong on our side"),
        "{}",
        call.transcript()
    );
    let log = log.text();
    assert!(log.contains(call.call_sid()), "{log}");
    assert!(log.contains("the server answered 500"), "{log}");
}

#[tokio::test]
async fn secrets_reach_the_far_server_and_nowhere_else() {
    let (address, seen) = far_server().await;
    // The token goes in a header and in the query; the call fails, so
    // every log line about it is written.
    let text = lookup_flow(
        address,
        "/fail",
        "      query: { key: \"{{ secrets.SHOP_TOKEN }}\" }",
    )
    .replace("    on: { error: failed, timeout: slow }\n", "");
    let flows = flows(&text);
    const ADMIN: &str = "an-admin-key-for-the-test-long-enough";
    let admin = callflow::http::admin::AdminGate::new(
        Some(callflow::http::admin::AdminKey::parse(ADMIN).unwrap()),
        None,
    );
    let state = AppState::new(flows, EngineSettings::default()).with_admin(admin);
    let (log, _guard) = capture_log();
    let call = call(http::router(state.clone()), vec![press("1#")]).await;
    assert_eq!(seen.hits("/fail"), 0, "the failing route counts nothing");
    let transcript = call.transcript();
    assert!(transcript.contains("/fail?key=***"), "{transcript}");
    let exchanges = serde_json::to_string(&call.exchanges).unwrap();
    let events = serde_json::to_string(&call.events).unwrap();
    // `/flows` shows the flows as served.
    let flows_page = http::router(state)
        .oneshot(
            axum::http::Request::get("/flows")
                .header("authorization", format!("Bearer {ADMIN}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap()
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes();
    let flows_page = String::from_utf8_lossy(&flows_page).into_owned();
    assert!(flows_page.contains("lookup"), "{flows_page}");
    let log = log.text();
    assert!(log.contains(call.call_sid()), "{log}");
    for (place, text) in [
        ("log", &log),
        ("transcript", &transcript),
        ("exchanges", &exchanges),
        ("events", &events),
        ("/flows", &flows_page),
    ] {
        assert!(
            !text.contains(TOKEN),
            "the secret is in the {place}:\n{text}"
        );
    }
}

#[tokio::test]
async fn a_trace_context_is_carried_on_to_the_far_server() {
    let (address, seen) = far_server().await;
    let flows = flows(&lookup_flow(address, "/orders/7", ""));
    let app = router(flows, EngineSettings::default());
    // The first webhook runs `ask`, the second (with the keys) the lookup.
    let first = app
        .clone()
        .oneshot(common::webhook("/voice", "CallSid=CA1&From=%2B15551112222"))
        .await
        .unwrap();
    let body = first.into_body().collect().await.unwrap().to_bytes();
    let twiml = String::from_utf8_lossy(&body).into_owned();
    let action = twiml
        .split("action=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let mut request = common::webhook(&action, "CallSid=CA1&From=%2B15551112222&Digits=7");
    request
        .headers_mut()
        .insert("traceparent", incoming.parse().unwrap());
    let answer = app.oneshot(request).await.unwrap();
    let body = answer.into_body().collect().await.unwrap().to_bytes();
    assert!(
        String::from_utf8_lossy(&body).contains("Your order has shipped"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    let sent = seen.traceparent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{}",
        sent[0]
    );
    assert!(!sent[0].contains("00f067aa0ba902b7"), "{}", sent[0]);
}

#[tokio::test]
async fn the_requests_of_a_turn_share_one_deadline() {
    let (address, _) = far_server().await;
    // Each request may take 5 s, but the turn has 900 ms for all of them:
    // the first takes 500, so the second is cut to what is left.
    let text = format!(
        r#"steps:
  first:
    request: {{ url: "http://{address}/sleep/500" }}
    on: {{ timeout: slow }}
    next: second
  second:
    request: {{ url: "http://{address}/sleep/500" }}
    on: {{ timeout: slow }}
    next: done
  done:
    say: Both answered.
  slow:
    say: The second lookup ran out of time.
"#
    );
    let engine = EngineSettings {
        turn_budget: Duration::from_millis(900),
        ..EngineSettings::default()
    };
    let started = Instant::now();
    let call = call(router(flows(&text), engine), vec![]).await;
    let elapsed = started.elapsed();
    assert!(
        heard(&call, "The second lookup ran out of time."),
        "{}",
        call.transcript()
    );
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
    let requests = call.requests();
    assert_eq!(requests[0].status, Some(200));
    assert_eq!(requests[1].problem.as_deref(), Some("no answer in time"));
    assert!(requests[1].millis < 700, "{}", requests[1].millis);
}

#[tokio::test]
async fn a_background_request_is_retried_and_the_call_goes_on_at_once() {
    let (address, seen) = far_server().await;
    let text = format!(
        r#"steps:
  post:
    request:
      url: "http://{address}/survey"
      method: POST
      json: {{ score: "{{{{ call.From }}}}" }}
      wait: false
    next: thanks
  thanks:
    say: Thank you.
"#
    );
    let engine = EngineSettings {
        outbound: Outbound::network(OutboundSettings {
            retry: RetryPolicy {
                tries: 3,
                first_wait: Duration::from_millis(50),
            },
            ..OutboundSettings::default()
        }),
        ..EngineSettings::default()
    };
    let (log, _guard) = capture_log();
    let call = call(router(flows(&text), engine), vec![]).await;
    assert!(heard(&call, "Thank you."), "{}", call.transcript());
    assert!(
        call.transcript().contains(&format!(
            "requests POST http://{address}/survey (in the background)"
        )),
        "{}",
        call.transcript()
    );
    // The server fails twice, then takes it: three tries in all.
    let deadline = Instant::now() + Duration::from_secs(5);
    while seen.hits("/survey") < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(seen.hits("/survey"), 3);
    let bodies = seen.bodies.lock().unwrap().clone();
    assert!(
        bodies.iter().all(|b| b == r#"{"score":"+15551112222"}"#),
        "{bodies:?}"
    );
    let log = log.text();
    let failures: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("background request failed"))
        .collect();
    assert_eq!(failures.len(), 2, "{log}");
    assert!(
        failures
            .iter()
            .all(|line| line.contains(call.call_sid()) && line.contains("503")),
        "{log}"
    );
}

#[tokio::test]
async fn a_background_request_gives_up_after_three_tries() {
    let text = "steps:\n  post:\n    request: { url: \"http://127.0.0.1:9/x\", method: POST, wait: false }\n    next: thanks\n  thanks:\n    say: Thank you.\n";
    let engine = EngineSettings {
        outbound: Outbound::network(OutboundSettings {
            retry: RetryPolicy {
                tries: 3,
                first_wait: Duration::from_millis(10),
            },
            ..OutboundSettings::default()
        }),
        ..EngineSettings::default()
    };
    let (log, _guard) = capture_log();
    let call = call(router(flows(text), engine), vec![]).await;
    assert!(heard(&call, "Thank you."));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !log.text().contains("giving up") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = log.text();
    let tries = log
        .lines()
        .filter(|line| line.contains("background request failed") && line.contains(call.call_sid()))
        .count();
    assert_eq!(tries, 3, "{log}");
}

#[tokio::test]
async fn the_metrics_time_each_request_by_its_outcome() {
    let (address, _) = far_server().await;
    let state = |path: &str| {
        let flows = flows(&lookup_flow(address, path, ""));
        AppState::new(flows, EngineSettings::default())
    };
    for (path, outcome) in [("/orders/1", "ok"), ("/fail", "error")] {
        let state = state(path);
        call(http::router(state.clone()), vec![press("1#")]).await;
        let text = state.metrics.encode();
        let count = format!(
            "callflow_request_duration_seconds_count{{flow=\"main\",step=\"lookup\",outcome=\"{outcome}\"}} 1"
        );
        assert!(text.contains(&count), "{count}\n---\n{text}");
    }
}
