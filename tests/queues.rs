//! `enqueue`: a caller waits in a queue (`<Enqueue>`) while the hold steps
//! run on the queue's own leg, with Twilio's wait parameters; a `leave`
//! step takes them out, and `on:` routes how the wait ended.

mod common;

use callflow::http::{self, AppState};
use callflow::simulator::{CallerAction, QueueEvent, SimulatedCall};
use common::{attribute, heard, press, setup};

const HELP_DESK: &str = r#"
steps:
  welcome:
    say: All our agents are busy.
    next: wait_for_agent
  wait_for_agent:
    enqueue: { queue: support, hold: position, max_size: 20 }
    on: { bridged: goodbye, leave: voicemail, queue-full: voicemail, hangup: missed, error: sorry }
  position:
    say: "You are number {{ call.QueuePosition }} in line."
    next: offer
  offer:
    gather:
      say: To leave a message, press 1.
      num_digits: 1
    next: offer_answer
  offer_answer:
    branch:
      - if: call.Digits == "1"
        goto: leave_queue
      - goto: music
  music:
    play: https://example.com/hold.mp3
  leave_queue:
    leave: true
  voicemail:
    say: Please leave a message.
    next: take_message
  take_message:
    record: {}
    next: goodbye
  missed:
    set: { missed: "yes" }
  sorry:
    say: Sorry, the queue is not available.
  goodbye:
    say: Goodbye.
"#;

fn router(flow: &str) -> axum::Router {
    let flows = common::main_flow(flow).unwrap_or_else(|report| panic!("{report}"));
    http::router(AppState::new(flows, common::sealing_engine()))
}

async fn call(script: Vec<CallerAction>) -> SimulatedCall {
    SimulatedCall::play_script(
        router(HELP_DESK),
        setup("+14155552671", "+15553334444"),
        script,
    )
    .await
    .expect("the simulated call runs")
}

fn queue(event: QueueEvent) -> CallerAction {
    CallerAction::Queue(event)
}

#[tokio::test]
async fn the_enqueue_is_written_as_twilios_library_writes_it() {
    let call = call(vec![CallerAction::HangUp]).await;
    let vector = std::fs::read_to_string(common::repo_path(
        "tests/fixtures/twilio/twiml/18_enqueue_wait_and_action.xml",
    ))
    .unwrap();
    // The URLs are this line's own, sealed; everything else is the same bytes.
    let ours = &call.exchanges[0].twiml;
    let enqueue = &ours[ours.find("<Enqueue").unwrap()..];
    let mut same = ours.replace("<Say>All our agents are busy.</Say>", "");
    for name in ["action", "waitUrl"] {
        same = same.replace(attribute(enqueue, name), attribute(&vector, name));
    }
    assert_eq!(same, vector);
    // The action comes back to the enqueue; the wait URL does too, on the
    // queue's leg, sealed like every callback.
    assert!(attribute(enqueue, "action").contains("step=wait_for_agent&"));
    let wait = attribute(enqueue, "waitUrl");
    assert!(
        wait.contains("step=wait_for_agent&amp;leg=queue&amp;"),
        "{wait}"
    );
    assert!(wait.contains("seal="), "{wait}");
}

#[tokio::test]
async fn a_caller_hears_their_position_twice_presses_1_and_leaves_a_message() {
    let call = call(vec![
        queue(QueueEvent::Hold),
        queue(QueueEvent::Hold),
        queue(QueueEvent::Hold),
        press("1"),
        CallerAction::Record,
    ])
    .await;
    common::assert_in_order(
        &call.transcript(),
        &[
            "waits in queue support",
            "hears: You are number 2 in line.",
            "hears audio: https://example.com/hold.mp3",
            "hears: You are number 1 in line.",
            "caller presses 1",
            "leaves the queue: leave",
            "hears: Please leave a message.",
            "caller leaves a message",
            "hears: Goodbye.",
        ],
    );
    // The hold steps' webhooks carried Twilio's wait parameters, and the
    // enqueue's action its QueueResult.
    let hold = call
        .exchanges
        .iter()
        .find(|e| e.url.contains("leg=queue"))
        .expect("a hold webhook");
    assert!(hold.params.iter().any(|(k, _)| k == "AvgQueueTime"));
    assert!(call.exchanges.iter().any(|e| {
        e.params
            .iter()
            .any(|(k, v)| k == "QueueResult" && v == "leave")
    }));
}

#[tokio::test]
async fn an_agent_taking_the_call_goes_to_bridged() {
    let call = call(vec![queue(QueueEvent::Hold), queue(QueueEvent::Bridged)]).await;
    assert!(heard(&call, "You are number 2 in line."));
    assert!(heard(&call, "Goodbye."), "{}", call.transcript());
    assert!(!heard(&call, "Please leave a message."));
}

#[tokio::test]
async fn a_full_queue_goes_to_voicemail_without_hold() {
    let call = call(vec![queue(QueueEvent::Full), CallerAction::Record]).await;
    assert!(!heard(&call, "in line"), "{}", call.transcript());
    assert!(heard(&call, "Please leave a message."));
}

#[tokio::test]
async fn a_queue_error_is_apologised_for() {
    let call = call(vec![queue(QueueEvent::Error)]).await;
    assert!(heard(&call, "Sorry, the queue is not available."));
}

#[tokio::test]
async fn a_caller_who_hangs_up_while_holding_is_reported_to_the_flow() {
    let call = call(vec![queue(QueueEvent::Hold), queue(QueueEvent::Hangup)]).await;
    let last = call.exchanges.last().unwrap();
    assert!(
        last.params
            .iter()
            .any(|(k, v)| k == "QueueResult" && v == "hangup")
    );
    assert_eq!(last.steps, ["main:wait_for_agent", "main:missed"]);
    assert_eq!(
        call.ended(),
        Some(&callflow::simulator::CallEnd::CallerHungUp)
    );
}

/// The leg is part of the sealed state: a URL moved onto the queue's leg
/// by anyone but this line is refused, and runs no hold step.
#[tokio::test]
async fn a_forged_leg_is_refused() {
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let call = call(vec![CallerAction::HangUp]).await;
    let action = attribute(&call.exchanges[0].twiml, "action").replace("&amp;", "&");
    let forged = action.replace("&seal=", "&leg=queue&seal=");
    let response = router(HELP_DESK)
        .oneshot(common::webhook(&forged, "CallSid=CA1&From=%2B14155552671"))
        .await
        .unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let twiml = String::from_utf8(body.to_vec()).unwrap();
    assert!(!twiml.contains("in line"), "{twiml}");
    assert!(twiml.contains("something went wrong"), "{twiml}");
}

#[test]
fn steps_twilio_cannot_run_on_hold_are_named_at_their_lines() {
    let report = common::main_flow(
        "\
steps:
  wait:
    enqueue: { queue: support, hold: hold }
    on: { bridged: outside }
  hold:
    say: Please hold.
    next: message
  message:
    record: {}
  outside:
    leave: true
",
    )
    .unwrap_err();
    assert!(
        report.contains("main.yaml:9:5: error: step `message` runs while a caller holds in the queue of `wait`, where Twilio cannot `record`"),
        "{report}"
    );
    assert!(
        report.contains("main.yaml:11:5: error: step `outside` is a `leave`"),
        "{report}"
    );
}

#[test]
fn an_outcome_a_queue_never_has_is_refused() {
    let report = common::main_flow(
        "\
steps:
  wait:
    enqueue: support
    on: { busy: wait }
",
    )
    .unwrap_err();
    assert!(
        report.contains("main.yaml:4:11: error: `busy` is not how a wait in a queue ends"),
        "{report}"
    );
}

/// An edit that removed the enqueue step under a caller on hold keeps
/// them waiting, in their place, rather than running the flow's first
/// steps in the queue (or apologising and hanging up).
#[tokio::test]
async fn an_edit_that_removed_the_queue_keeps_the_caller_holding() {
    use callflow::engine::{CallState, Leg, StateKey};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let state = CallState {
        flow: "main".into(),
        step: "old_queue".into(),
        version: Some("an-older-version".into()),
        leg: Leg::Queue,
        ..CallState::default()
    };
    let url = state.url("", &StateKey::from_secret(common::STATE_KEY).unwrap());
    let response = router(HELP_DESK)
        .oneshot(common::webhook(&url, "CallSid=CA1&QueuePosition=3"))
        .await
        .unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let twiml = String::from_utf8(body.to_vec()).unwrap();
    assert_eq!(
        twiml,
        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Pause length="5" /></Response>"#
    );
}
