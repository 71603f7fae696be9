//! `connect`: a call handed to an AI agent (`<Connect><ConversationRelay>`)
//! or a media server (`<Connect><Stream>`), and what the flow does when the
//! session ends: the agent's handoff data in variables, `on.error` when it
//! fails. And `start_stream`, a copy of the audio sent beside the call.

mod common;

use callflow::engine::EngineSettings;
use callflow::http::{self, AppState};
use callflow::simulator::{CallerAction, SimulatedCall};
use common::{heard, setup};

const AGENT_LINE: &str = r#"
steps:
  agent:
    connect:
      conversation_relay:
        url: wss://agent.example.com/relay
        welcome_greeting: "Hi! How can I help?"
        language: en-US
        voice: UgBBYS2sOqTuMpoF3BR0
        tts_provider: ElevenLabs
        transcription_provider: Deepgram
        interruptible: any
        dtmf_detection: true
        parameters: { flow: main, caller: "{{ call.From }}" }
      save: { handoff_reason: reason, handoff_queue: queue.name }
    on: { error: operator }
    next: route
  route:
    branch:
      - if: vars.handoff_reason == "billing"
        goto: billing
    next: goodbye
  billing:
    say: "Connecting you to {{ vars.handoff_queue }}."
    next: billing_queue
  billing_queue:
    dial: { queue: "{{ vars.handoff_queue }}" }
  operator:
    say: Let me find a person for you.
    next: operator_dial
  operator_dial:
    dial: { number: "+14155550142" }
  goodbye:
    say: Thanks for calling. Goodbye.
"#;

async fn call(flow: &str, script: Vec<CallerAction>) -> SimulatedCall {
    let flows = common::main_flow(flow).unwrap_or_else(|report| panic!("{report}"));
    let router = http::router(AppState::new(flows, EngineSettings::default()));
    SimulatedCall::play_script(router, setup("+15551112222", "+15553334444"), script)
        .await
        .expect("the simulated call runs")
}

/// The TwiML with its `<Connect>`'s action replaced by the vector's: the
/// action is this line's own sealed URL, the rest must be the same bytes.
fn with_action_of_vector(twiml: &str, vector: &str) -> String {
    let action = |xml: &str| {
        let start = xml.find("action=\"").expect("an action") + "action=\"".len();
        let end = start + xml[start..].find('"').unwrap();
        xml[start..end].to_owned()
    };
    twiml.replace(&action(twiml), &action(vector))
}

fn vector(name: &str) -> String {
    std::fs::read_to_string(common::repo_path(&format!(
        "tests/fixtures/twilio/twiml/{name}.xml"
    )))
    .unwrap()
}

#[tokio::test]
async fn a_conversation_relay_is_written_as_twilios_library_writes_it() {
    let call = call(AGENT_LINE, vec![CallerAction::HangUp]).await;
    let twiml = &call.exchanges[0].twiml;
    let expected = vector("20_connect_conversation_relay");
    assert_eq!(with_action_of_vector(twiml, &expected), expected);
    assert!(
        twiml.contains("action=\"/voice?flow=main&amp;step=agent&amp;") && twiml.contains("seal="),
        "{twiml}"
    );
}

#[tokio::test]
async fn a_stream_is_written_as_twilios_library_writes_it() {
    let flow = r#"
steps:
  media:
    connect:
      stream: { url: "wss://media.example.com/stream", name: agent, parameters: { flow: main } }
"#;
    let call = call(flow, vec![CallerAction::HangUp]).await;
    let expected = vector("21_connect_stream");
    assert_eq!(
        with_action_of_vector(&call.exchanges[0].twiml, &expected),
        expected
    );
}

#[tokio::test]
async fn an_agent_that_hands_over_to_billing_puts_the_caller_in_the_billing_queue() {
    let call = call(
        AGENT_LINE,
        vec![CallerAction::AgentEnds(Some(
            r#"{"reason": "billing", "queue": {"name": "billing"}}"#.into(),
        ))],
    )
    .await;
    assert!(
        call.transcript()
            .contains("connects to ConversationRelay wss://agent.example.com/relay"),
        "{}",
        call.transcript()
    );
    assert!(
        heard(&call, "Connecting you to billing."),
        "{}",
        call.transcript()
    );
    assert_eq!(
        call.dialled(),
        vec!["queue:billing"],
        "{}",
        call.transcript()
    );
}

#[tokio::test]
async fn an_agent_that_ends_without_a_handoff_goes_on_to_next() {
    let call = call(AGENT_LINE, vec![CallerAction::AgentEnds(None)]).await;
    assert!(heard(&call, "Thanks for calling."), "{}", call.transcript());
}

#[tokio::test]
async fn a_failed_session_goes_to_a_person() {
    let call = call(AGENT_LINE, vec![CallerAction::AgentFails]).await;
    assert!(
        heard(&call, "Let me find a person for you."),
        "{}",
        call.transcript()
    );
    assert_eq!(call.dialled(), vec!["+14155550142"]);
}

#[tokio::test]
async fn a_forked_stream_starts_and_the_flow_goes_on_in_the_same_answer() {
    let flow = r#"
steps:
  monitor:
    start_stream: { url: "wss://media.example.com/fork", name: monitor, track: both_tracks }
    next: hello
  hello:
    say: Connecting you now.
"#;
    let call = call(flow, Vec::new()).await;
    // The vector's document ends after the say; a flow that ends hangs up.
    let expected = vector("22_start_stream_fork").replace("</Response>", "<Hangup /></Response>");
    assert_eq!(call.exchanges[0].twiml, expected);
    assert!(
        call.transcript()
            .starts_with("starts Stream\nhears: Connecting you now.")
    );
}

#[test]
fn connect_mistakes_are_named_at_their_lines() {
    let report = common::main_flow(
        r#"steps:
  agent:
    connect:
      conversation_relay: { url: "wss://{{ vars.host }}/relay" }
    next: plain
  plain:
    connect:
      stream: { url: "https://media.example.com/stream" }
    on: { busy: agent }
  both:
    connect: {}
"#,
    )
    .expect_err("the flow is refused");
    for expected in [
        "main.yaml:4:34: error: the host must be written out",
        "main.yaml:8:22: error: a `connect` URL starts with wss://",
        "main.yaml:9:11: error: `busy` is not how a `connect` session ends",
        "main.yaml:11:5: error: a `connect` takes one of `conversation_relay` (an AI agent) or `stream` (your media server)",
    ] {
        assert!(report.contains(expected), "{expected}\n{report}");
    }
}
