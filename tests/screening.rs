//! A dial's `whisper`: steps run on the called person's phone before the
//! two are joined (`<Number url>`). They end to join the call, or hang up
//! to decline it, and the caller's dial then goes on as no-answer.

mod common;

use callflow::http::{self, AppState};
use callflow::simulator::{CalleeAnswer, CallerAction, SimulatedCall};
use common::{attribute, heard, setup};
use http_body_util::BodyExt;
use tower::ServiceExt;

const SCREENED: &str = r#"
steps:
  remember:
    set: { caller: "{{ call.From }}" }
    next: sales
  sales:
    dial:
      number: "+14155550100"
      caller_id: "+15005550006"
      timeout: 20
      whisper: screen
    on: { no-answer: voicemail }
    next: goodbye
  screen:
    gather:
      say: "Call from {{ vars.caller }}. Press 1 to accept."
      num_digits: 1
      timeout: 5
    next: screen_answer
  screen_answer:
    branch:
      - if: call.Digits == "1"
        goto: joining
      - goto: hangup
  joining:
    say: Connecting.
  voicemail:
    say: Please leave a message.
    next: take_message
  take_message:
    record: {}
  goodbye:
    say: Goodbye.
"#;

fn router() -> axum::Router {
    let flows = common::main_flow(SCREENED).unwrap_or_else(|report| panic!("{report}"));
    http::router(AppState::new(flows, common::sealing_engine()))
}

async fn call(script: Vec<CallerAction>) -> SimulatedCall {
    SimulatedCall::play_script(router(), setup("+15551112222", "+15553334444"), script)
        .await
        .expect("the simulated call runs")
}

fn vector(name: &str) -> String {
    std::fs::read_to_string(common::repo_path(&format!(
        "tests/fixtures/twilio/twiml/{name}.xml"
    )))
    .unwrap()
}

async fn post(url: &str, form: &str) -> String {
    let response = router()
        .oneshot(common::webhook(url, form.to_owned()))
        .await
        .unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

#[tokio::test]
async fn the_dial_and_the_whisper_are_written_as_twilios_library_writes_them() {
    let call = call(vec![CallerAction::HangUp]).await;
    let dial = &call.exchanges[0].twiml;
    let expected = vector("16_dial_number_whisper_url");
    let mut same = dial.clone();
    for name in ["action", "url"] {
        same = same.replace(attribute(dial, name), attribute(&expected, name));
    }
    assert_eq!(same, expected);
    let whisper = attribute(dial, "url").replace("&amp;", "&");
    assert!(whisper.contains("step=sales&leg=callee&"), "{whisper}");

    // The callee's phone fetches the whisper as its own call: its gather
    // comes back on the callee's leg, and silence hangs the callee up.
    let twiml = post(
        &whisper,
        "CallSid=CA2&ParentCallSid=CA1&From=%2B15005550006&To=%2B14155550100&Direction=outbound-dial",
    )
    .await;
    let expected = vector("17_screen_leg_gather");
    assert!(
        attribute(&twiml, "action").contains("step=screen&amp;leg=callee&amp;"),
        "{twiml}"
    );
    let same = twiml.replace(attribute(&twiml, "action"), attribute(&expected, "action"));
    assert_eq!(same, expected);
}

#[tokio::test]
async fn a_callee_who_accepts_is_joined_and_the_caller_goes_on() {
    let call = call(vec![CallerAction::Callee(CalleeAnswer::Accepts)]).await;
    let transcript = call.transcript();
    assert!(
        transcript.contains("callee hears: Call from +15551112222. Press 1 to accept."),
        "whisper steps see the caller's variables: {transcript}"
    );
    assert!(
        transcript.contains("callee hears: Connecting."),
        "{transcript}"
    );
    assert!(
        transcript.contains("callee accepts: the call is joined"),
        "{transcript}"
    );
    assert!(heard(&call, "Goodbye."), "{transcript}");
    assert!(!heard(&call, "Please leave a message."), "{transcript}");
}

#[tokio::test]
async fn a_callee_declines_and_the_caller_reaches_voicemail() {
    for answer in [CalleeAnswer::Declines, CalleeAnswer::Silent] {
        let call = call(vec![CallerAction::Callee(answer), CallerAction::Record]).await;
        let transcript = call.transcript();
        assert!(
            transcript.contains("callee declines: the call is not joined"),
            "{transcript}"
        );
        assert!(heard(&call, "Please leave a message."), "{transcript}");
        assert!(
            transcript.contains("caller leaves a message"),
            "{transcript}"
        );
    }
}

/// Twilio reports a callee who answered but was never joined as a
/// completed dial that was not bridged; for the caller nobody answered.
#[tokio::test]
async fn a_completed_dial_that_was_never_joined_goes_on_as_no_answer() {
    let call = call(vec![CallerAction::HangUp]).await;
    let action = attribute(&call.exchanges[0].twiml, "action").replace("&amp;", "&");
    let declined = post(
        &action,
        "CallSid=CA1&DialCallStatus=completed&DialBridged=false",
    )
    .await;
    assert!(declined.contains("Please leave a message."), "{declined}");
    let talked = post(
        &action,
        "CallSid=CA1&DialCallStatus=completed&DialBridged=true",
    )
    .await;
    assert!(talked.contains("Goodbye."), "{talked}");
}

#[test]
fn a_whisper_that_would_dial_is_named_at_its_line() {
    let report = common::main_flow(
        "\
steps:
  sales:
    dial: { number: \"+14155550100\", whisper: announce }
  announce:
    say: A caller for you.
    next: forward
  forward:
    dial: { number: \"+14155550101\" }
",
    )
    .unwrap_err();
    assert!(
        report.contains("main.yaml:8:5: error: step `forward` runs on the phone of the person `sales` dials, before the call is joined, where Twilio cannot `dial`"),
        "{report}"
    );
}
