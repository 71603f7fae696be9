//! `record_calls:`: a new call hears the consent line, then
//! `<Start><Recording>` begins, and the flow's first step follows in the
//! same answer.

mod common;

use callflow::engine::EngineSettings;
use callflow::http::{self, AppState};
use callflow::simulator::SimulatedCall;
use common::{heard, press, setup};

const RECORDED_LINE: &str = r#"
record_calls:
  consent: This call may be recorded for quality.
  channels: dual
  track: both
  trim: false
  status_callback: /voice/recording-status
steps:
  menu:
    menu:
      say: For sales press 1.
      options:
        1: sales
  sales:
    say: Connecting you to sales.
"#;

async fn call(flow: &str) -> SimulatedCall {
    let flows = common::main_flow(flow).unwrap_or_else(|report| panic!("{report}"));
    let router = http::router(AppState::new(flows, EngineSettings::default()));
    SimulatedCall::play_script(
        router,
        setup("+14155552671", "+15553334444"),
        vec![press("1")],
    )
    .await
    .expect("the simulated call runs")
}

#[tokio::test]
async fn the_consent_line_then_the_recording_then_the_menu() {
    let call = call(RECORDED_LINE).await;
    let vector = std::fs::read_to_string(common::repo_path(
        "tests/fixtures/twilio/twiml/19_start_recording_dual.xml",
    ))
    .unwrap();
    // Twilio's library writes the consent and the start as the vector does;
    // there, a redirect stands for the menu that callflow answers at once.
    let (before_redirect, _) = vector.split_once("<Redirect>").unwrap();
    let first = &call.exchanges[0].twiml;
    assert!(first.starts_with(before_redirect), "{first}\n{vector}");
    assert!(
        first[before_redirect.len()..].starts_with("<Gather"),
        "{first}"
    );
    common::assert_in_order(
        &call.transcript(),
        &[
            "hears: This call may be recorded for quality.",
            "starts Recording",
            "hears: For sales press 1.",
            "hears: Connecting you to sales.",
        ],
    );
    // Only the call's first answer starts the recording.
    let starts = call
        .exchanges
        .iter()
        .filter(|exchange| exchange.twiml.contains("<Start>"))
        .count();
    assert_eq!(starts, 1);
    assert!(heard(&call, "Connecting you to sales."));
}

#[test]
fn recording_without_a_consent_line_is_a_warning() {
    let flows = callflow::flow::load_sources(vec![callflow::flow::load::Source {
        name: "main".into(),
        file: "main.yaml".into(),
        text: "record_calls: { channels: mono }\nsteps:\n  hello:\n    say: Hello.\n".into(),
    }])
    .unwrap_or_else(|report| panic!("{report}"));
    let warnings = flows.warnings.to_string();
    assert!(
        warnings.contains("main.yaml:1:1: warning: calls are recorded without telling the caller"),
        "{warnings}"
    );
}

/// `stop_recording` and `start_recording`: a recording named in
/// `record_calls` paused for a card number and started again, each in the
/// answer where the flow reaches it.
#[tokio::test]
async fn a_step_stops_the_recording_and_another_starts_it_again() {
    const PAYMENT: &str = r##"
record_calls: { consent: This call is recorded., name: call }
steps:
  pause_recording:
    stop_recording: call
    next: card
  card:
    gather: { say: Enter your card number., finish_on_key: "#", save_as: card }
    next: resume
  resume:
    start_recording: { name: call, channels: dual }
    next: thanks
  thanks:
    say: Thank you.
"##;
    let flows = common::main_flow(PAYMENT).unwrap_or_else(|report| panic!("{report}"));
    let router = http::router(AppState::new(flows, EngineSettings::default()));
    let call = SimulatedCall::play_script(
        router,
        setup("+14155552671", "+15553334444"),
        vec![press("4111111111111111#")],
    )
    .await
    .expect("the simulated call runs");
    let first = &call.exchanges[0].twiml;
    let start = first.find(r#"<Start><Recording name="call" /></Start>"#);
    let stop = first.find(r#"<Stop><Recording name="call" /></Stop>"#);
    let ask = first.find("<Gather");
    assert!(start < stop && stop < ask && start.is_some(), "{first}");
    let second = &call.exchanges[1].twiml;
    assert!(
        second.starts_with(
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Start><Recording channels="dual" name="call" /></Start><Say>Thank you.</Say>"#
        ),
        "{second}"
    );
    let transcript = call.transcript();
    let order: Vec<usize> = [
        "starts Recording",
        "stops Recording",
        "hears: Enter your card number.",
        "caller presses",
        "starts Recording",
    ]
    .iter()
    .scan(0, |from, line| {
        let at = *from + transcript[*from..].find(line)?;
        *from = at + 1;
        Some(at)
    })
    .collect();
    assert_eq!(order.len(), 5, "{transcript}");
}

#[test]
fn a_recording_name_from_a_template_is_refused() {
    let report = common::main_flow("steps:\n  stop:\n    stop_recording: \"{{ vars.name }}\"\n")
        .unwrap_err();
    assert!(
        report.contains("main.yaml:3:21: error: a recording's name is written out"),
        "{report}"
    );
}
