//! Text messages and voicemail notifications, against local servers
//! standing in for Twilio's REST API and for the operator's webhook.
//!
//! A text goes out exactly as Twilio's helper library sends it, never holds
//! up the call, is retried when Twilio is busy, and never goes to a number
//! the flow may not text. A voicemail's notification goes out when Twilio
//! reports the recording (or its transcript), to a webhook and by text,
//! and only for reports this line sealed.

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use callflow::config::Settings;
use callflow::engine::EngineSettings;
use callflow::flow::FlowSet;
use callflow::http::{self, AppState};
use callflow::simulator::{CallSetup, SimulatedCall};
use common::{heard, setup};
use tokio::sync::Notify;

const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const API_KEY: &str = "SKfedcba9876543210fedcba9876543210";
const API_SECRET: &str = "a made-up API secret";

/// One request the stand-in for Twilio received.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    headers: HeaderMap,
    body: String,
}

/// A stand-in for Twilio's REST API on a loopback port.
#[derive(Default)]
struct Twilio {
    received: Mutex<Vec<Received>>,
    /// Answers these statuses first, in order, then 201.
    failures: Mutex<Vec<StatusCode>>,
    /// While set, holds every answer until it is notified.
    hold: Option<Arc<Notify>>,
    arrived: Notify,
}

impl Twilio {
    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `count` requests have arrived.
    async fn until(&self, count: usize) -> Vec<Received> {
        loop {
            let arrived = self.arrived.notified();
            if self.received.lock().unwrap().len() >= count {
                return self.received();
            }
            tokio::time::timeout(std::time::Duration::from_secs(20), arrived)
                .await
                .expect("the text reaches Twilio");
        }
    }
}

async fn twilio(twilio: Twilio) -> (String, Arc<Twilio>) {
    async fn messages(
        State(twilio): State<Arc<Twilio>>,
        uri: Uri,
        headers: HeaderMap,
        body: String,
    ) -> Response {
        twilio.received.lock().unwrap().push(Received {
            method: "POST".into(),
            path: uri.path().to_owned(),
            headers,
            body,
        });
        twilio.arrived.notify_waiters();
        if let Some(hold) = &twilio.hold {
            hold.notified().await;
        }
        let failure = {
            let mut failures = twilio.failures.lock().unwrap();
            (!failures.is_empty()).then(|| failures.remove(0))
        };
        match failure {
            Some(status) => (
                status,
                r#"{"code": 20429, "message": "Too many requests", "status": 429}"#,
            )
                .into_response(),
            None => (
                StatusCode::CREATED,
                r#"{"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"}"#,
            )
                .into_response(),
        }
    }
    let twilio = Arc::new(twilio);
    let app = Router::new()
        .route(
            "/2010-04-01/Accounts/{account}/Messages.json",
            post(messages),
        )
        .with_state(twilio.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), twilio)
}

/// What loading `text` as flow `main` reports; it must be refused.
fn refusal(text: &str) -> String {
    common::main_flow(text).expect_err("the flow should be refused")
}

fn flows(text: &str) -> FlowSet {
    common::main_flow(text).unwrap_or_else(|report| panic!("{report}"))
}

/// The engine of a server whose settings name `base` as Twilio's API, with
/// an API key, and `extra` settings.
fn engine(base: &str, extra: &[(&str, &str)]) -> EngineSettings {
    let mut vars = vec![
        ("TWILIO_ACCOUNT_SID", ACCOUNT_SID),
        ("TWILIO_API_KEY", API_KEY),
        ("TWILIO_API_SECRET", API_SECRET),
        ("TWILIO_API_BASE", base),
    ];
    vars.extend_from_slice(extra);
    Settings::from_vars(&vars).unwrap().engine()
}

async fn call(flows: FlowSet, engine: EngineSettings, setup: CallSetup) -> SimulatedCall {
    let router = http::router(AppState::new(flows, engine));
    SimulatedCall::play_script(router, setup, Vec::new())
        .await
        .expect("the simulated call runs")
}

/// The tests' numbers are in ranges kept for fiction, which no real caller
/// has: like a dial, a text reaches one only when `allow` names it.
const ORDER_FLOW: &str = r#"
steps:
  text:
    sms:
      body: "Your order {{ vars.order | default('1234') }} ships today. Reply STOP to opt out."
      allow: ["+1555*"]
    next: goodbye
  goodbye:
    say: We have texted you. Goodbye.
"#;

/// The case of the recorded library requests called `name`.
fn vector(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(common::repo_path(
        "tests/fixtures/twilio/rest_requests.json",
    ))
    .unwrap();
    let all: serde_json::Value = serde_json::from_str(&text).unwrap();
    all["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|case| case["name"] == name)
        .unwrap_or_else(|| panic!("no case {name}"))["request"]
        .clone()
}

/// The form fields of case `name`, in the order the file holds them.
fn ordered_fields(name: &str) -> Vec<(String, String)> {
    #[derive(serde::Deserialize)]
    struct File {
        cases: Vec<Case>,
    }
    #[derive(serde::Deserialize)]
    struct Case {
        name: String,
        request: Request,
    }
    #[derive(serde::Deserialize)]
    struct Request {
        data: indexmap::IndexMap<String, serde_json::Value>,
    }
    let text = std::fs::read_to_string(common::repo_path(
        "tests/fixtures/twilio/rest_requests.json",
    ))
    .unwrap();
    let file: File = serde_json::from_str(&text).unwrap();
    let case = file
        .cases
        .into_iter()
        .find(|case| case.name == name)
        .unwrap();
    case.request
        .data
        .into_iter()
        .map(|(key, value)| (key, value.as_str().unwrap_or_default().to_owned()))
        .collect()
}

/// Asserts that `received` is the request the helper library sends for
/// `name`: method, URL, form fields in the same order, user, headers.
fn assert_same_request(received: &Received, name: &str) {
    let expected = vector(name);
    assert_eq!(received.method, expected["method"]);
    let url = expected["url"].as_str().unwrap();
    assert_eq!(
        received.path,
        url.strip_prefix("https://api.twilio.com").unwrap()
    );
    let fields: Vec<(String, String)> = form_urlencoded::parse(received.body.as_bytes())
        .into_owned()
        .collect();
    // In the order the library wrote them, which a JSON map does not keep.
    let wanted = ordered_fields(name);
    assert_eq!(fields, wanted, "the form fields, in order");
    for (name, value) in expected["headers"].as_object().unwrap() {
        assert_eq!(
            received
                .headers
                .get(name.as_str())
                .unwrap()
                .to_str()
                .unwrap(),
            value.as_str().unwrap(),
            "header {name}"
        );
    }
    let authorization = received.headers["authorization"].to_str().unwrap();
    let decoded = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        authorization.strip_prefix("Basic ").unwrap(),
    )
    .unwrap();
    let decoded = String::from_utf8(decoded).unwrap();
    let (user, password) = decoded.split_once(':').unwrap();
    assert_eq!(user, expected["auth_user"]);
    assert_eq!(password, API_SECRET);
}

#[tokio::test]
async fn a_text_to_the_caller_is_the_request_twilios_library_sends() {
    let (base, twilio) = twilio(Twilio::default()).await;
    let engine = engine(&base, &[("PUBLIC_URL", "https://ivr.example.com")]);
    let call = call(
        flows(ORDER_FLOW),
        engine,
        setup("+15551112222", "+15553334444"),
    )
    .await;
    // The call went on at once, and the transcript shows the text.
    assert!(heard(&call, "We have texted you."), "{}", call.transcript());
    let texts = call.texts();
    assert_eq!(texts.len(), 1, "{}", call.transcript());
    assert_eq!(texts[0].to, "+15551112222");
    assert_eq!(texts[0].refused, None);
    let received = twilio.until(1).await;
    assert_same_request(&received[0], "sms_to_caller_with_api_key");
}

#[tokio::test]
async fn a_unicode_body_without_a_status_callback_is_sent_as_the_library_sends_it() {
    let (base, twilio) = twilio(Twilio::default()).await;
    // No PUBLIC_URL: Twilio has nowhere to report delivery, and no
    // StatusCallback is sent.
    let engine = engine(&base, &[]);
    let flow = r#"
steps:
  text:
    sms:
      body: "Café üñî — réservation confirmée"
      allow: ["+447700900*"]
"#;
    call(flows(flow), engine, setup("+447700900123", "+15553334444")).await;
    let received = twilio.until(1).await;
    assert_same_request(&received[0], "sms_unicode_body");
}

#[tokio::test]
async fn a_text_never_holds_up_the_call() {
    let hold = Arc::new(Notify::new());
    let (base, twilio) = twilio(Twilio {
        hold: Some(hold.clone()),
        ..Twilio::default()
    })
    .await;
    let call = call(
        flows(ORDER_FLOW),
        engine(&base, &[]),
        setup("+15551112222", "+15553334444"),
    )
    .await;
    // The whole call was answered while Twilio still holds its answer.
    assert!(heard(&call, "Goodbye."), "{}", call.transcript());
    assert_eq!(twilio.until(1).await.len(), 1);
    hold.notify_waiters();
}

#[tokio::test]
async fn a_busy_twilio_gets_the_text_again() {
    let (base, twilio) = twilio(Twilio {
        failures: Mutex::new(vec![StatusCode::TOO_MANY_REQUESTS]),
        ..Twilio::default()
    })
    .await;
    call(
        flows(ORDER_FLOW),
        engine(&base, &[]),
        setup("+15551112222", "+15553334444"),
    )
    .await;
    let received = twilio.until(2).await;
    assert_eq!(received[0].body, received[1].body);
}

#[tokio::test]
async fn the_auth_token_signs_in_as_the_account() {
    let (base, twilio) = twilio(Twilio::default()).await;
    let engine = Settings::from_vars(&[
        ("TWILIO_ACCOUNT_SID", ACCOUNT_SID),
        ("TWILIO_AUTH_TOKEN", "an auth token of this account"),
        ("TWILIO_API_BASE", &base),
    ])
    .unwrap()
    .engine();
    call(
        flows(ORDER_FLOW),
        engine,
        setup("+15551112222", "+15553334444"),
    )
    .await;
    let received = twilio.until(1).await;
    let authorization = received[0].headers["authorization"].to_str().unwrap();
    let decoded = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        authorization.strip_prefix("Basic ").unwrap(),
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        format!("{ACCOUNT_SID}:an auth token of this account")
    );
}

#[tokio::test]
async fn a_premium_or_unlisted_number_is_never_texted() {
    let flow = r#"
steps:
  text_caller:
    sms: "Your code is 1234."
    next: text_agent
  text_agent:
    sms:
      body: "A caller asked for a callback."
      to: "{{ vars.agent | default('+19005550100') }}"
      allow: ["+1555*"]
    next: goodbye
  goodbye:
    say: Goodbye.
"#;
    let (base, twilio) = twilio(Twilio::default()).await;
    // A caller's number can be forged: one on a premium line gets nothing.
    let call = call(
        flows(flow),
        engine(&base, &[]),
        setup("+19005550199", "+15553334444"),
    )
    .await;
    assert!(heard(&call, "Goodbye."), "{}", call.transcript());
    let texts = call.texts();
    assert_eq!(texts.len(), 2, "{}", call.transcript());
    let refused = texts[0].refused.as_deref().unwrap_or_default();
    assert!(refused.contains("premium-rate"), "{refused}");
    let refused = texts[1].refused.as_deref().unwrap_or_default();
    assert!(refused.contains("+19005550100 is not among"), "{refused}");
    // Nothing reached Twilio.
    tokio::task::yield_now().await;
    assert!(twilio.received().is_empty());
}

#[tokio::test]
async fn without_credentials_the_call_goes_on_and_the_transcript_says_why() {
    let call = call(
        flows(ORDER_FLOW),
        EngineSettings::default(),
        setup("+15551112222", "+15553334444"),
    )
    .await;
    assert!(heard(&call, "We have texted you."), "{}", call.transcript());
    let reason = call.texts()[0].refused.clone().unwrap_or_default();
    assert!(reason.contains("no Twilio credentials"), "{reason}");
}

#[tokio::test]
async fn a_simulated_call_notes_the_text_and_sends_nothing() {
    let (base, twilio) = twilio(Twilio::default()).await;
    let engine = engine(&base, &[]).simulated();
    let call = call(
        flows(ORDER_FLOW),
        engine,
        setup("+15551112222", "+15553334444"),
    )
    .await;
    assert!(
        call.transcript().contains(
            "texts +15551112222 from +15553334444: \"Your order 1234 ships today. Reply STOP to opt out.\" (simulated)"
        ),
        "{}",
        call.transcript()
    );
    tokio::task::yield_now().await;
    assert!(twilio.received().is_empty());
}

#[test]
fn a_templated_number_needs_an_allow_list_and_a_written_one_must_be_a_number() {
    let flow = r#"steps:
  notify:
    sms:
      body: Hello
      to: "{{ vars.number }}"
    next: other
  other:
    sms:
      body: Hello
      to: "not a number"
"#;
    let report = refusal(flow);
    assert!(
        report.contains("main.yaml:5:11: error: this text's number comes from a template, so the step needs an `allow` list"),
        "{report}"
    );
    assert!(
        report.contains("main.yaml:10:11: error: cannot text `not a number`"),
        "{report}"
    );
}

#[test]
fn a_secret_cannot_be_texted() {
    let flow = r#"secrets: [SHOP_TOKEN]
steps:
  text:
    sms: "Your token is {{ secrets.SHOP_TOKEN }}"
"#;
    let report = refusal(flow);
    assert!(report.contains("main.yaml:4:10: error:"), "{report}");
    assert!(report.contains("secrets"), "{report}");
}

/// The operator's webhook on a loopback port: answers 503 to the first
/// `failures` posts, then 200.
#[derive(Default)]
struct Hook {
    bodies: Mutex<Vec<serde_json::Value>>,
    failures: Mutex<usize>,
    arrived: Notify,
}

impl Hook {
    async fn until(&self, count: usize) -> Vec<serde_json::Value> {
        loop {
            let arrived = self.arrived.notified();
            if self.bodies.lock().unwrap().len() >= count {
                return self.bodies.lock().unwrap().clone();
            }
            tokio::time::timeout(std::time::Duration::from_secs(20), arrived)
                .await
                .expect("the notification arrives");
        }
    }
}

async fn hook(failures: usize) -> (String, Arc<Hook>) {
    async fn receive(State(hook): State<Arc<Hook>>, body: String) -> StatusCode {
        hook.bodies
            .lock()
            .unwrap()
            .push(serde_json::from_str(&body).expect("the notification is JSON"));
        hook.arrived.notify_waiters();
        let mut failures = hook.failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return StatusCode::SERVICE_UNAVAILABLE;
        }
        StatusCode::OK
    }
    let hook = Arc::new(Hook {
        failures: Mutex::new(failures),
        ..Hook::default()
    });
    let app = Router::new()
        .route("/hooks/voicemail", post(receive))
        .with_state(hook.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), hook)
}

/// A voicemail line that notifies `hook` and texts the on-call phone.
fn voicemail_flow(hook: &str, transcribe: bool) -> String {
    format!(
        r#"
steps:
  ask:
    gather: {{ say: "Your account number?", save_as: account }}
    next: voicemail
  voicemail:
    record:
      say: Please leave a message after the tone.
      transcribe: {transcribe}
      notify:
        url: "{hook}/hooks/voicemail"
        sms: "+15550001234"
    next: thanks
  thanks:
    say: Thank you. Goodbye.
"#
    )
}

/// The TwiML that asked for the recording.
fn record_twiml(call: &SimulatedCall) -> String {
    call.exchanges
        .iter()
        .find(|exchange| exchange.twiml.contains("<Record"))
        .expect("a <Record>")
        .twiml
        .clone()
}

async fn leave_voicemail(flow: &str, engine: EngineSettings) -> SimulatedCall {
    let router = http::router(AppState::new(flows(flow), engine));
    SimulatedCall::play_script(
        router,
        setup("+15551112222", "+15553334444"),
        vec![
            common::press("4321"),
            callflow::simulator::CallerAction::Record,
        ],
    )
    .await
    .expect("the simulated call runs")
}

#[tokio::test]
async fn a_voicemail_is_posted_to_the_webhook_and_texted_to_the_on_call_phone() {
    let (hook_base, hook) = hook(0).await;
    let (twilio_base, twilio) = twilio(Twilio::default()).await;
    let call = leave_voicemail(
        &voicemail_flow(&hook_base, false),
        engine(&twilio_base, &[]),
    )
    .await;
    assert!(heard(&call, "Thank you."), "{}", call.transcript());
    // The recording's report came to this line's notice path, sealed.
    let record = record_twiml(&call);
    assert!(
        record.contains("recordingStatusCallback=\"/voice/recording?flow=main&amp;step=voicemail"),
        "{record}"
    );
    assert!(record.contains("seal="), "{record}");
    assert!(!record.contains("transcribeCallback"), "{record}");

    let body = hook.until(1).await.remove(0);
    assert_eq!(body["event"], "voicemail");
    assert_eq!(body["flow"], "main");
    assert_eq!(body["step"], "voicemail");
    assert_eq!(body["from"], "+15551112222");
    assert_eq!(body["to"], "+15553334444");
    assert_eq!(body["duration"], 7);
    assert_eq!(body["vars"]["account"], "4321");
    assert_eq!(body["transcript"], serde_json::Value::Null);
    let recording = body["recording_url"].as_str().unwrap();
    assert!(recording.contains("/Recordings/RE"), "{recording}");
    let text = body["text"].as_str().unwrap();
    assert!(
        text.starts_with("New voicemail on main from +15551112222 (7 s): https://api.twilio.com/"),
        "{text}"
    );

    // The on-call phone got the same line, from the number that was called.
    let received = twilio.until(1).await;
    let fields: Vec<(String, String)> = form_urlencoded::parse(received[0].body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(fields[0], ("To".into(), "+15550001234".into()));
    assert!(fields.contains(&("From".into(), "+15553334444".into())));
    assert!(fields.contains(&("Body".into(), text.to_owned())));

    // The transcript shows both.
    assert_eq!(call.requests().len(), 1, "{}", call.transcript());
    assert_eq!(call.texts().len(), 1, "{}", call.transcript());
}

#[tokio::test]
async fn with_transcribe_the_notification_waits_for_the_transcript() {
    let (hook_base, hook) = hook(0).await;
    let (twilio_base, _twilio) = twilio(Twilio::default()).await;
    let call = leave_voicemail(&voicemail_flow(&hook_base, true), engine(&twilio_base, &[])).await;
    let record = record_twiml(&call);
    assert!(
        record.contains("transcribeCallback=\"/voice/recording?"),
        "{record}"
    );
    assert!(!record.contains("recordingStatusCallback"), "{record}");
    let body = hook.until(1).await.remove(0);
    assert_eq!(
        body["transcript"],
        callflow::simulator::SIMULATED_TRANSCRIPT
    );
    let text = body["text"].as_str().unwrap();
    assert!(
        text.ends_with(&format!(
            "\"{}\"",
            callflow::simulator::SIMULATED_TRANSCRIPT
        )),
        "{text}"
    );
}

#[tokio::test]
async fn a_webhook_that_fails_gets_the_notification_again() {
    let (hook_base, hook) = hook(2).await;
    let (twilio_base, _twilio) = twilio(Twilio::default()).await;
    leave_voicemail(
        &voicemail_flow(&hook_base, false),
        engine(&twilio_base, &[]),
    )
    .await;
    let bodies = hook.until(3).await;
    assert_eq!(bodies[0], bodies[2]);
}

#[tokio::test]
async fn a_report_this_line_did_not_seal_is_refused() {
    let (hook_base, hook) = hook(0).await;
    let router = http::router(AppState::new(
        flows(&voicemail_flow(&hook_base, false)),
        EngineSettings::default(),
    ));
    // Someone who knows the flow posts a report to set off notifications.
    let forged = common::webhook(
        "/voice/recording?flow=main&step=voicemail&seal=AAAA",
        "CallSid=CA1&RecordingUrl=https%3A%2F%2Fevil.example%2Fr&RecordingStatus=completed",
    );
    let response = tower::ServiceExt::oneshot(router, forged).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(body["error"].as_str().unwrap().contains("seal"), "{body}");
    tokio::task::yield_now().await;
    assert!(hook.bodies.lock().unwrap().is_empty());
}

#[test]
fn notify_mistakes_are_named_at_their_lines() {
    let flow = r#"steps:
  voicemail:
    record:
      recording_status_callback: https://example.com/mine
      notify:
        sms: "{{ vars.boss }}"
    next: empty
  empty:
    record:
      notify: {}
"#;
    let report = refusal(flow);
    assert!(
        report.contains("main.yaml:4:7: error: `notify` needs Twilio's report for itself, so this step cannot also set `recording_status_callback`"),
        "{report}"
    );
    assert!(
        report.contains("main.yaml:6:14: error: write the number to text out"),
        "{report}"
    );
    assert!(
        report.contains("main.yaml:10:7: error: `notify` needs a `url`, an `sms` number, or both"),
        "{report}"
    );
}

#[test]
fn a_server_without_credentials_warns_at_start_up_naming_a_step_and_the_settings() {
    let warning = callflow::messaging::Texting::Unconfigured
        .startup_warning(&flows(ORDER_FLOW))
        .expect("a warning");
    assert!(
        warning.starts_with(
            "flow main sends text messages (step text), but this server has no Twilio credentials"
        ),
        "{warning}"
    );
    for setting in [
        "TWILIO_ACCOUNT_SID",
        "TWILIO_API_KEY",
        "TWILIO_API_SECRET",
        "TWILIO_AUTH_TOKEN",
    ] {
        assert!(warning.contains(setting), "{warning}");
    }
    assert!(
        engine("https://api.twilio.com", &[])
            .texting
            .startup_warning(&flows(ORDER_FLOW))
            .is_none()
    );
    let quiet = flows("steps:\n  hello:\n    say: Hello.\n");
    assert!(
        callflow::messaging::Texting::Unconfigured
            .startup_warning(&quiet)
            .is_none()
    );
}
