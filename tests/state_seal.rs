//! The call's state travels in callback URLs, sealed: whoever can post to
//! `/voice` cannot skip a PIN check, set a variable or switch the silent-
//! caller guard off, and replicas that share a key answer each other's calls.

mod common;

use axum::Router;
use callflow::config::Settings;
use callflow::engine::{CallState, EngineSettings, StateKey};
use callflow::http::{self, AppState};
use callflow::simulator::{CallSetup, SimulatedCall};
use common::{STATE_KEY, capture_log, press, repo_path, webhook};
use http_body_util::BodyExt;
use tower::ServiceExt;

const APOLOGY: &str = "something went wrong";
const PRIVATE_LINE: &str = "+15550009999";

fn vault(engine: EngineSettings) -> Router {
    let flows = callflow::flow::load(&repo_path("tests/fixtures/flows/vault"))
        .unwrap_or_else(|report| panic!("{report}"))
        .flows;
    http::router(AppState::new(flows, engine))
}

/// A caller dialling the vault's number, as its Voice URL names the flow.
fn caller() -> CallSetup {
    CallSetup {
        flow: Some("vault".into()),
        ..CallSetup::default()
    }
}

fn engine_with(vars: &[(&str, &str)]) -> EngineSettings {
    Settings::from_vars(vars).unwrap().engine()
}

/// Posts a webhook as anyone on the internet could, and returns the TwiML.
async fn post(router: &Router, url: &str, body: &'static str) -> String {
    let response = router.clone().oneshot(webhook(url, body)).await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

/// The URL the call's last answer asks Twilio to post the caller's input to.
fn callback_of(call: &SimulatedCall) -> String {
    let twiml = &call.exchanges.last().unwrap().twiml;
    let start = twiml.find("action=\"").expect("a callback URL") + "action=\"".len();
    let end = start + twiml[start..].find('"').unwrap();
    twiml[start..end].replace("&amp;", "&")
}

fn assert_refused(twiml: &str, what: &str) {
    assert!(twiml.contains(APOLOGY), "{what}: {twiml}");
    assert!(twiml.ends_with("<Hangup /></Response>"), "{what}: {twiml}");
    assert!(!twiml.contains(PRIVATE_LINE), "{what} dialled: {twiml}");
    assert!(!twiml.contains("private line"), "{what}: {twiml}");
}

#[tokio::test]
async fn a_real_caller_still_gets_through_with_the_pin_and_not_without() {
    let router = vault(EngineSettings::default());
    let mut call = SimulatedCall::start(router.clone(), caller())
        .await
        .unwrap();
    call.respond(press("4321")).await.unwrap();
    assert_eq!(call.dialled(), vec![PRIVATE_LINE], "{}", call.transcript());

    let mut wrong = SimulatedCall::start(router, caller()).await.unwrap();
    wrong.respond(press("1111")).await.unwrap();
    assert!(wrong.dialled().is_empty());
    assert!(common::heard(&wrong, "not right"), "{}", wrong.transcript());
}

/// The red-team's reproductions: state written by hand, with no seal.
#[tokio::test]
async fn hand_written_state_gets_the_apology_and_a_tampering_log_line() {
    let router = vault(EngineSettings::default());
    for forged in [
        "/voice?flow=vault&step=private_menu",
        "/voice?flow=vault&step=check_pin&var.pin=4321",
        "/voice?flow=vault&step=ask_pin&idle=4294967295",
    ] {
        let (log, _guard) = capture_log();
        let twiml = post(&router, forged, "CallSid=CAforged01&Digits=4321").await;
        assert_refused(&twiml, forged);
        let log = log.text();
        assert!(log.contains("state tampered"), "{log}");
        assert!(log.contains("CAforged01"), "{log}");
    }
}

#[tokio::test]
async fn a_sealed_url_changed_in_any_way_is_refused() {
    let router = vault(EngineSettings::default());
    let call = SimulatedCall::start(router.clone(), caller())
        .await
        .unwrap();
    let url = callback_of(&call);
    assert!(
        url.contains("step=ask_pin") && url.contains("&seal="),
        "{url}"
    );

    // The genuine URL goes on as the flow says.
    let twiml = post(&router, &url, "CallSid=CA1&Digits=4321").await;
    assert!(twiml.contains(PRIVATE_LINE), "{twiml}");

    for (what, edited) in [
        (
            "a step past the PIN",
            url.replace("step=ask_pin", "step=private_menu"),
        ),
        ("a variable added", format!("{url}&var.pin=4321")),
        ("a counter added", format!("{url}&idle=4294967295")),
        (
            "the seal removed",
            url.split("&seal=").next().unwrap().to_owned(),
        ),
    ] {
        let twiml = post(&router, &edited, "CallSid=CA1&Digits=1111").await;
        assert_refused(&twiml, what);
    }
}

#[tokio::test]
async fn the_voice_url_from_the_console_needs_no_seal() {
    let router = vault(EngineSettings::default());
    let twiml = post(&router, "/voice?flow=vault", "CallSid=CA1").await;
    assert!(twiml.contains("Enter your four digit PIN"), "{twiml}");
}

/// A call that started on one replica goes on on another, or after a
/// restart, when both have the same `STATE_KEY`, or the same auth token.
#[tokio::test]
async fn replicas_sharing_a_key_answer_each_others_calls() {
    let shared = [
        vec![("STATE_KEY", STATE_KEY)],
        vec![("TWILIO_AUTH_TOKEN", "0123456789abcdef0123456789abcdef")],
    ];
    for vars in shared {
        let one = vault(engine_with(&vars));
        let other = vault(engine_with(&vars));
        let call = SimulatedCall::start(one, caller()).await.unwrap();
        let twiml = post(&other, &callback_of(&call), "CallSid=CA1&Digits=4321").await;
        assert!(twiml.contains(PRIVATE_LINE), "{vars:?}: {twiml}");
    }
}

#[tokio::test]
async fn a_server_with_another_key_refuses_the_state() {
    let one = vault(engine_with(&[("STATE_KEY", STATE_KEY)]));
    let call = SimulatedCall::start(one, caller()).await.unwrap();
    // No STATE_KEY and no auth token: a key made at start-up.
    let restarted = vault(engine_with(&[]));
    let twiml = post(&restarted, &callback_of(&call), "CallSid=CA1&Digits=4321").await;
    assert_refused(&twiml, "another key");
}

/// Even a genuine counter at its largest value cannot wrap around to zero:
/// one more silent turn ends the call as the silent-caller guard says.
#[tokio::test]
async fn a_counter_at_its_limit_does_not_wrap() {
    let key = StateKey::from_secret(STATE_KEY).unwrap();
    let router = vault(common::sealing_engine());
    let state = CallState {
        flow: "vault".into(),
        step: "ask_pin".into(),
        idle: u32::MAX,
        ..CallState::default()
    };
    let twiml = post(&router, &state.url("", &key), "CallSid=CA1").await;
    assert!(twiml.contains("haven't heard from you"), "{twiml}");
}

#[test]
fn state_key_settings_are_checked_and_explained() {
    let short = Settings::from_vars(&[("STATE_KEY", "hunter2")]).unwrap_err();
    let message = short.to_string();
    assert!(
        message.contains("STATE_KEY is 7 characters long"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");

    let random = engine_with(&[]);
    let warning = random.state_key.startup_warning().expect("a warning");
    assert!(
        warning.contains("STATE_KEY") && warning.contains("replicas"),
        "{warning}"
    );
    assert!(
        engine_with(&[("STATE_KEY", STATE_KEY)])
            .state_key
            .startup_warning()
            .is_none()
    );
    assert!(
        engine_with(&[("TWILIO_AUTH_TOKEN", "0123456789abcdef0123456789abcdef")])
            .state_key
            .startup_warning()
            .is_none()
    );
    // The key never shows in the settings' debug output.
    let settings = Settings::from_vars(&[("STATE_KEY", STATE_KEY)]).unwrap();
    assert!(!format!("{settings:?}").contains(STATE_KEY));
}
