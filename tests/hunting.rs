//! `dial: { one_at_a_time: true }`: the people to call ring one after
//! another (`<Dial sequential="true">`), and `on:` takes the last try's
//! outcome.

mod common;

use callflow::engine::EngineSettings;
use callflow::http::{self, AppState};
use callflow::simulator::SimulatedCall;
use common::{heard, outcome, setup};

const FIND_ME: &str = r#"
steps:
  find_me:
    dial:
      number: ["+14155550101", "+14155550102", "+14155550103"]
      one_at_a_time: true
      timeout: 15
    on: { no-answer: voicemail }
    next: thanks
  thanks:
    say: Thanks for calling.
  voicemail:
    say: Nobody could take your call.
"#;

async fn call(dial_ends: &str) -> SimulatedCall {
    let flows = common::main_flow(FIND_ME).unwrap_or_else(|report| panic!("{report}"));
    let router = http::router(AppState::new(flows, EngineSettings::default()));
    SimulatedCall::play_script(
        router,
        setup("+14155552671", "+15553334444"),
        vec![outcome(dial_ends)],
    )
    .await
    .expect("the simulated call runs")
}

#[tokio::test]
async fn three_numbers_are_tried_in_turn_and_the_third_answers() {
    let call = call("completed").await;
    let dial = &call.exchanges[0].twiml;
    assert!(dial.contains(r#"sequential="true""#), "{dial}");
    assert!(dial.contains(r#"timeout="15""#), "{dial}");
    let order: Vec<usize> = ["+14155550101", "+14155550102", "+14155550103"]
        .iter()
        .map(|number| dial.find(number).expect("each number is dialled"))
        .collect();
    assert!(order.is_sorted(), "in the order written: {dial}");
    assert!(heard(&call, "Thanks for calling."), "{}", call.transcript());
}

#[tokio::test]
async fn when_no_one_answers_the_last_outcome_routes() {
    let call = call("no-answer").await;
    assert!(
        heard(&call, "Nobody could take your call."),
        "{}",
        call.transcript()
    );
}

#[test]
fn one_person_rung_in_turn_is_a_warning() {
    let loaded = callflow::flow::load_sources(vec![callflow::flow::load::Source {
        name: "main".into(),
        file: "main.yaml".into(),
        text:
            "steps:\n  one:\n    dial:\n      number: \"+14155550101\"\n      one_at_a_time: true\n"
                .into(),
    }])
    .unwrap_or_else(|report| panic!("{report}"));
    let warnings = loaded.warnings.to_string();
    assert!(
        warnings.contains("main.yaml:5:7: warning: `one_at_a_time` rings several people in turn"),
        "{warnings}"
    );
}
