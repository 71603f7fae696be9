//! Menus and gathers in whole calls, played by the simulator: what a step
//! saves when the caller gives nothing, what an empty message says, and
//! where silence and wrong keys lead once the tries run out.

mod common;

use callflow::simulator::{CallEnd, CallSetup, CallerAction, SimulatedCall};
use common::*;

/// Plays `script` against a folder holding `main.yaml`.
async fn call_flow(main: &str, script: Vec<CallerAction>) -> SimulatedCall {
    let folder = Folder::new("menu-calls");
    folder.write("main.yaml", main);
    call(
        folder.path.to_str().unwrap(),
        OPEN,
        CallSetup::default(),
        script,
    )
    .await
}

fn silence() -> CallerAction {
    CallerAction::Silence
}

/// How many lines heard are exactly `line`.
fn times_heard(call: &SimulatedCall, line: &str) -> usize {
    call.heard().iter().filter(|l| **l == line).count()
}

const ECHO_GATHER: &str = r#"
steps:
  ask:
    gather: { say: Enter a code., save_as: code }
    next: echo
  echo:
    say: "Code: {{ vars.code | default('none') }}."
    next: ask
"#;

#[tokio::test]
async fn a_gather_that_hears_nothing_unsets_what_an_earlier_visit_saved() {
    let call = call_flow(
        ECHO_GATHER,
        vec![press("42"), silence(), CallerAction::HangUp],
    )
    .await;
    let heard = call.heard();
    let echoes: Vec<&&str> = heard.iter().filter(|l| l.starts_with("Code:")).collect();
    assert_eq!(
        echoes,
        [&"Code: 42.", &"Code: none."],
        "{}",
        call.transcript()
    );
    // The callback URL, the call's memory, forgot it too.
    let answer_to = |line: &str| {
        let exchange = call.exchanges.iter().find(|e| e.twiml.contains(line));
        exchange
            .unwrap_or_else(|| panic!("no answer says {line}"))
            .twiml
            .clone()
    };
    assert!(answer_to("Code: 42.").contains("var.code=42"));
    assert!(!answer_to("Code: none.").contains("var.code"));
}

#[tokio::test]
async fn a_menu_that_picks_nothing_unsets_the_choice_an_earlier_visit_saved() {
    let flow = r#"
steps:
  choose:
    menu:
      say: Press 1.
      options: { 1: chosen }
      retries: 0
      no_match: ""
      otherwise: report
      save_as: choice
  chosen:
    say: "You chose {{ vars.choice }}."
    next: choose
  report:
    say: "Last choice: {{ vars.choice | default('none') }}."
"#;
    let call = call_flow(flow, vec![press("1"), press("9")]).await;
    assert!(heard(&call, "You chose 1."), "{}", call.transcript());
    assert!(heard(&call, "Last choice: none."), "{}", call.transcript());
}

#[tokio::test]
async fn an_empty_message_writes_no_say_at_all() {
    let flow = r#"
steps:
  choose:
    menu:
      say: Press 1.
      options: { 1: done }
      retries: 1
      no_input: ""
      no_match: "{{ vars.nothing | default('') }}"
  done:
    say: Thanks.
"#;
    let call = call_flow(flow, vec![silence(), press("7")]).await;
    for exchange in &call.exchanges {
        assert!(!exchange.twiml.contains("<Say />"), "{}", exchange.twiml);
        assert!(!exchange.twiml.contains("<Say/>"), "{}", exchange.twiml);
        assert!(!exchange.twiml.contains("Sorry"), "{}", exchange.twiml);
    }
    assert_eq!(
        call.heard(),
        ["Press 1.", "Press 1."],
        "{}",
        call.transcript()
    );
    assert_eq!(call.ended(), Some(&CallEnd::Hangup));
}

#[tokio::test]
async fn a_prompt_that_renders_empty_writes_no_say_inside_the_gather() {
    let flow = r#"
steps:
  ask:
    gather:
      say: "{{ vars.greeting | default('') }}"
      save_as: code
"#;
    let call = call_flow(flow, vec![CallerAction::HangUp]).await;
    let twiml = &call.exchanges[0].twiml;
    assert!(twiml.contains("<Gather"), "{twiml}");
    assert!(!twiml.contains("<Say"), "{twiml}");
}

const ROUTED_MENU: &str = r#"
steps:
  choose:
    menu:
      say: Press 1 for sales.
      options: { 1: sales }
      retries: { no_input: 1, no_match: 3 }
      no_input: Are you there?
      no_match: Not a choice.
      on: { no_input: gone, no_match: operator }
      otherwise: fallback
  sales:
    say: Sales.
  gone:
    say: Goodbye, silent caller.
  operator:
    say: Let me get an operator.
  fallback:
    say: Fallback.
"#;

#[tokio::test]
async fn menu_silence_goes_to_its_own_step_after_its_own_tries() {
    let call = call_flow(ROUTED_MENU, vec![silence(), silence()]).await;
    assert_eq!(
        times_heard(&call, "Are you there?"),
        2,
        "{}",
        call.transcript()
    );
    assert_eq!(times_heard(&call, "Press 1 for sales."), 2);
    assert!(
        heard(&call, "Goodbye, silent caller."),
        "{}",
        call.transcript()
    );
    assert!(!heard(&call, "operator") && !heard(&call, "Fallback."));
}

#[tokio::test]
async fn menu_wrong_keys_go_to_their_own_step_after_their_own_tries() {
    let wrong = || press("9");
    let call = call_flow(ROUTED_MENU, vec![wrong(), wrong(), wrong(), wrong()]).await;
    assert_eq!(
        times_heard(&call, "Not a choice."),
        4,
        "{}",
        call.transcript()
    );
    assert_eq!(times_heard(&call, "Press 1 for sales."), 4);
    assert!(
        heard(&call, "Let me get an operator."),
        "{}",
        call.transcript()
    );
    assert!(!heard(&call, "Goodbye, silent caller."));

    // Three wrong keys still leave a try, and so does one silence among them.
    let call = call_flow(
        ROUTED_MENU,
        vec![wrong(), silence(), wrong(), wrong(), press("1")],
    )
    .await;
    assert!(heard(&call, "Sales."), "{}", call.transcript());
    assert!(!heard(&call, "operator") && !heard(&call, "Goodbye, silent caller."));
}

#[tokio::test]
async fn with_one_count_the_last_failure_picks_the_route_and_otherwise_backs_up_the_rest() {
    let together = ROUTED_MENU.replace("retries: { no_input: 1, no_match: 3 }", "retries: 2");
    // Silence, a wrong key, silence: three failures of the two retries'
    // three tries, the last one silent.
    let call = call_flow(&together, vec![silence(), press("9"), silence()]).await;
    assert!(
        heard(&call, "Goodbye, silent caller."),
        "{}",
        call.transcript()
    );
    let call = call_flow(&together, vec![silence(), silence(), press("9")]).await;
    assert!(
        heard(&call, "Let me get an operator."),
        "{}",
        call.transcript()
    );

    // A route left out falls back to `otherwise`.
    let only_silence = together.replace(
        "on: { no_input: gone, no_match: operator }",
        "on: { no_input: gone }",
    );
    let call = call_flow(&only_silence, vec![press("9"), press("9"), press("9")]).await;
    assert!(heard(&call, "Fallback."), "{}", call.transcript());
}

#[tokio::test]
async fn the_flows_speech_defaults_reach_a_menu_that_listens_and_a_step_overrides_them() {
    let flow = r#"
speech: { speech_model: deepgram_nova-3, barge_in: false, max_speech_time: 20 }
steps:
  choose:
    menu:
      say: Say sales or support.
      options: { sales: keys, support: keys }
      max_speech_time: 10
  keys:
    gather: { say: Enter your PIN., save_as: pin }
"#;
    let call = call_flow(flow, vec![say("sales"), CallerAction::HangUp]).await;
    let menu = &call.exchanges[0].twiml;
    assert!(
        menu.contains(r#"bargeIn="false""#)
            && menu.contains(r#"maxSpeechTime="10""#)
            && menu.contains(r#"speechModel="deepgram_nova-3""#),
        "{menu}"
    );
    // A gather that listens to keys only takes barge-in, not the model.
    let keys = &call.exchanges[1].twiml;
    assert!(keys.contains(r#"bargeIn="false""#), "{keys}");
    assert!(
        !keys.contains("speechModel") && !keys.contains("maxSpeechTime"),
        "{keys}"
    );
}

/// A wrong-key counter at its largest value cannot wrap around to zero and
/// grant a fresh set of tries: one more wrong key takes its route.
#[tokio::test]
async fn a_wrong_key_counter_at_its_limit_does_not_wrap() {
    use callflow::engine::{CallState, StateKey};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let folder = Folder::new("menu-counter");
    folder.write("main.yaml", ROUTED_MENU);
    let state = CallState {
        flow: "main".into(),
        step: "choose".into(),
        misses: u32::MAX,
        ..CallState::default()
    };
    let url = state.url("", &StateKey::from_secret(STATE_KEY).unwrap());
    let router = router_at(folder.path.to_str().unwrap(), OPEN);
    let response = router
        .oneshot(webhook(&url, "CallSid=CA1&Digits=9"))
        .await
        .unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let twiml = String::from_utf8(body.to_vec()).unwrap();
    assert!(twiml.contains("Let me get an operator."), "{twiml}");
}
