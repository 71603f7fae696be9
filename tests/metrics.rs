//! `/metrics` after real (simulated) calls through the router: what an
//! operator's Prometheus scrapes, parsed as Prometheus text, with its label
//! sets bounded by the flow files; and who may read it.

mod common;

use std::collections::BTreeSet;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use callflow::config::Settings;
use callflow::http::admin::{AdminGate, AdminKey};
use callflow::http::{self, AppState};
use callflow::simulator::{CallSetup, SimulatedCall};
use common::*;
use prometheus_parse::{Sample, Scrape, Value};
use tower::ServiceExt;

const ADMIN_KEY: &str = "metrics-test-admin-key-01";
/// A card number a caller might type at a menu: it must never reach a label.
const CARD: &str = "4111111111111111";

fn state() -> AppState {
    state_with_key(ADMIN_KEY)
}

async fn get(router: &Router, path: &str, key: Option<&str>) -> (StatusCode, String) {
    get_with_key(router, path, key).await
}

async fn scrape(router: &Router) -> (String, Vec<Sample>) {
    let (status, text) = get(router, "/metrics", Some(ADMIN_KEY)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let lines = text.lines().map(|line| Ok(line.to_owned()));
    let samples = Scrape::parse(lines).expect("Prometheus text").samples;
    (text, samples)
}

/// The value of `metric` with exactly these labels (others ignored).
fn value(samples: &[Sample], metric: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(v)))
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
            Value::Summary(_) => 0.0,
        })
        .sum()
}

#[tokio::test]
async fn calls_steps_menu_answers_dials_and_endings_are_counted() {
    let router = http::router(state());
    // A caller who picks sales, whose dial is answered, and who hears
    // goodbye; and one who types a card number, then hangs up.
    play(&router, vec![press("1"), outcome("completed")]).await;
    play(&router, vec![press(CARD)]).await;

    let (text, samples) = scrape(&router).await;
    let main = [("flow", "main")];
    assert_eq!(
        value(&samples, "callflow_calls_started_total", &main),
        2.0,
        "{text}"
    );
    assert_eq!(
        value(
            &samples,
            "callflow_step_entries_total",
            &[("flow", "main"), ("step", "welcome")]
        ),
        2.0
    );
    assert_eq!(
        value(
            &samples,
            "callflow_step_entries_total",
            &[("flow", "main"), ("step", "sales")]
        ),
        1.0
    );
    let menu = |result| {
        value(
            &samples,
            "callflow_menu_results_total",
            &[("flow", "main"), ("step", "menu"), ("result", result)],
        )
    };
    assert_eq!(menu("match"), 1.0, "{text}");
    assert_eq!(menu("no_match"), 1.0, "{text}");
    assert_eq!(
        value(
            &samples,
            "callflow_dial_outcomes_total",
            &[
                ("flow", "main"),
                ("step", "sales"),
                ("outcome", "completed")
            ]
        ),
        1.0,
        "{text}"
    );
    // Both calls end where the flow says: one after the dial, one when
    // the menu's tries run out.
    assert_eq!(menu("exhausted"), 1.0, "{text}");
    assert_eq!(
        value(
            &samples,
            "callflow_calls_ended_total",
            &[("flow", "main"), ("reason", "completed")]
        ),
        2.0,
        "{text}"
    );
    assert!(
        value(
            &samples,
            "callflow_webhook_duration_seconds",
            &[("route", "/voice")]
        ) >= 5.0
    );
    assert_eq!(value(&samples, "callflow_flows_loaded", &[]), 2.0, "{text}");
    assert!(text.contains(&format!(
        "callflow_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    )));

    // Bounded labels: names from the flow files and closed sets, never
    // what a caller typed.
    assert!(!text.contains(CARD), "{text}");
    let keys: BTreeSet<&str> = samples
        .iter()
        .flat_map(|s| s.labels.keys().map(String::as_str))
        .collect();
    let allowed = [
        "flow", "step", "to", "result", "outcome", "reason", "route", "status", "version", "le",
    ];
    assert!(keys.iter().all(|k| allowed.contains(k)), "{keys:?}");
    let flows = flow_names(&repo_path("flows"));
    for sample in &samples {
        if let Some(flow) = sample.labels.get("flow") {
            assert!(flows.iter().any(|f| f == flow), "{flow} in {text}");
        }
    }
}

#[tokio::test]
async fn forged_state_and_signatures_are_counted_and_the_apology_is_a_reason() {
    let auth = Settings::from_vars(&[("TWILIO_AUTH_TOKEN", "0123456789abcdef0123456789abcdef")])
        .unwrap()
        .webhook_auth();
    let signed = http::router(state().with_webhook_auth(auth));
    let unsigned = webhook("/voice", "CallSid=CA1&From=%2B15551112222");
    let response = signed.clone().oneshot(unsigned).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (_, samples) = scrape(&signed).await;
    assert_eq!(
        value(&samples, "callflow_webhook_signature_failures_total", &[]),
        1.0
    );

    let router = http::router(state());
    let forged = webhook("/voice?flow=main&step=menu", "CallSid=CA2&Digits=1");
    let response = router.clone().oneshot(forged).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (text, samples) = scrape(&router).await;
    assert_eq!(
        value(&samples, "callflow_state_rejected_total", &[]),
        1.0,
        "{text}"
    );
    assert_eq!(
        value(
            &samples,
            "callflow_calls_ended_total",
            &[("reason", "refused")]
        ),
        1.0,
        "{text}"
    );
}

#[tokio::test]
async fn a_template_failure_counts_as_an_apology() {
    let router = http::router(
        state_at("tests/fixtures/flows/resilience", OPEN)
            .with_admin(AdminGate::with_key(AdminKey::parse(ADMIN_KEY).unwrap())),
    );
    let setup = CallSetup {
        flow: Some("broken_template".into()),
        ..CallSetup::default()
    };
    let call = SimulatedCall::start(router.clone(), setup).await.unwrap();
    assert!(
        heard(&call, "something went wrong"),
        "{}",
        call.transcript()
    );
    let (text, samples) = scrape(&router).await;
    let apologies = [("flow", "broken_template"), ("reason", "apology")];
    assert_eq!(
        value(&samples, "callflow_calls_ended_total", &apologies),
        1.0,
        "{text}"
    );
}

#[tokio::test]
async fn metrics_need_the_admin_key_unless_made_public() {
    let router = http::router(state());
    let (status, body) = get(&router, "/metrics", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = get(&router, "/metrics", Some("not-the-key-at-all-000")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = get(&router, "/metrics", Some(ADMIN_KEY)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.ends_with("# EOF\n"), "{body}");

    let settings = Settings::from_vars(&[("METRICS_PUBLIC", "true")]).unwrap();
    let public = http::router(state().with_monitoring(&settings.monitoring));
    let (status, _) = get(&public, "/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn reloads_are_counted_by_result() {
    let folder = Folder::new("metrics-reload");
    folder.write("main.yaml", "steps:\n  hi:\n    say: Hello.\n");
    let store = std::sync::Arc::new(
        callflow::reload::FlowStore::open(&folder.path, &sealing_engine())
            .unwrap()
            .0,
    );
    let router = http::router(
        AppState::with_store(store.clone(), sealing_engine())
            .with_admin(AdminGate::with_key(AdminKey::parse(ADMIN_KEY).unwrap())),
    );
    folder.write("main.yaml", "steps:\n  hi:\n    say: Hello again.\n");
    store.reload();
    folder.write("main.yaml", "steps:\n  hi:\n    sya: Hello.\n");
    store.reload();
    let (text, samples) = scrape(&router).await;
    let reloads = |result| {
        value(
            &samples,
            "callflow_flow_reloads_total",
            &[("result", result)],
        )
    };
    assert_eq!(reloads("swapped"), 1.0, "{text}");
    assert_eq!(reloads("refused"), 1.0, "{text}");
}

#[tokio::test]
async fn the_routes_calls_take_are_counted_and_the_page_s_simulations_are_not() {
    let router = http::router(state());
    // A caller who presses a key the menu does not know, then sales, whose
    // line is busy: the call moves on to voicemail.
    play(&router, vec![press("9"), press("1"), outcome("busy")]).await;
    // The same flow tried on the browser page is an author's test, not a call.
    let simulated = Request::post("/simulate/calls")
        .header("authorization", format!("Bearer {ADMIN_KEY}"))
        .header("content-type", "application/json")
        .body(Body::from(r#"{"flow": "main"}"#))
        .unwrap();
    let response = router.clone().oneshot(simulated).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);

    let (text, samples) = scrape(&router).await;
    let moved = |step, to| {
        value(
            &samples,
            "callflow_routes_taken_total",
            &[("flow", "main"), ("step", step), ("to", to)],
        )
    };
    assert_eq!(moved("welcome", "office_hours"), 1.0, "{text}");
    assert_eq!(moved("office_hours", "menu"), 1.0, "{text}");
    assert_eq!(moved("menu", "menu"), 1.0, "the menu asked again: {text}");
    assert_eq!(moved("menu", "sales"), 1.0, "{text}");
    assert_eq!(moved("sales", "voicemail"), 1.0, "{text}");
    assert_eq!(moved("sales", "goodbye"), 0.0, "{text}");
    assert_eq!(
        value(
            &samples,
            "callflow_calls_started_total",
            &[("flow", "main")]
        ),
        1.0,
        "the simulated call is not counted: {text}"
    );
    assert!(
        text.contains("# HELP callflow_routes_taken Moves of calls"),
        "{text}"
    );
}
