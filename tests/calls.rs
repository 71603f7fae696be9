//! Whole calls through the default flows, played by the simulator.

mod common;

use callflow::simulator::{CallEnd, CallSetup, CallerAction};
use common::*;

#[tokio::test]
async fn sales_is_busy_so_the_caller_leaves_a_voicemail() {
    let call = call(
        "flows",
        OPEN,
        CallSetup::default(),
        vec![press("1"), outcome("busy")],
    )
    .await;
    assert_eq!(call.heard()[0], "Thanks for calling Acme.");
    assert_eq!(call.dialled(), ["+15551230001"]);
    assert!(
        heard(&call, "leave a message after the tone"),
        "{}",
        call.transcript()
    );
    assert!(call.events.contains(&callflow::simulator::Event::Recording));
    assert!(heard(&call, "Thank you, we will call you back soon."));
    assert_eq!(call.ended(), Some(&CallEnd::Hangup));
}

#[tokio::test]
async fn a_caller_who_says_nothing_twice_hears_goodbye() {
    let call = call(
        "flows",
        OPEN,
        CallSetup::default(),
        vec![CallerAction::Silence, CallerAction::Silence],
    )
    .await;
    let heard_lines = call.heard();
    assert_eq!(
        heard_lines
            .iter()
            .filter(|l| **l == "Sorry, I didn't hear anything.")
            .count(),
        2,
        "{}",
        call.transcript()
    );
    assert_eq!(heard_lines.last(), Some(&"Goodbye!"));
    assert!(call.dialled().is_empty());
    assert_eq!(call.ended(), Some(&CallEnd::Hangup));
}

#[tokio::test]
async fn saying_sales_reaches_sales() {
    let call = call(
        "flows",
        OPEN,
        CallSetup::default(),
        vec![say("Sales, please."), outcome("completed")],
    )
    .await;
    assert_eq!(call.dialled(), ["+15551230001"]);
    // The first menu webhook listened to speech with the options as hints.
    let twiml = &call.exchanges[0].twiml;
    assert!(
        twiml.contains(r#"input="dtmf speech""#) && twiml.contains(r#"hints="sales, support""#),
        "{twiml}"
    );
}

#[tokio::test]
async fn a_wrong_key_then_a_right_one() {
    let call = call(
        "flows",
        OPEN,
        CallSetup::default(),
        vec![press("9"), press("1"), outcome("completed")],
    )
    .await;
    assert!(heard(&call, "that's not one of the options"));
    assert_eq!(call.dialled(), ["+15551230001"]);
}

#[tokio::test]
async fn support_checks_the_account_number_before_dialling() {
    let call = call(
        "flows",
        OPEN,
        CallSetup::default(),
        vec![
            press("2"),
            press("12345#"),
            press("123456#"),
            outcome("completed"),
        ],
    )
    .await;
    assert!(heard(&call, "doesn't look right"), "{}", call.transcript());
    assert_eq!(call.dialled(), ["+15551230002"]);
    // The account number travelled in the callback URL, not in a session.
    assert!(
        call.exchanges
            .iter()
            .any(|e| e.url.contains("var.account=123456"))
    );
}

#[tokio::test]
async fn after_hours_callers_hear_the_hours_and_can_leave_a_message() {
    let call = call("flows", CLOSED, CallSetup::default(), vec![]).await;
    assert!(
        heard(&call, "We are closed right now"),
        "{}",
        call.transcript()
    );
    assert!(call.events.contains(&callflow::simulator::Event::Recording));
    assert!(call.dialled().is_empty());
}

#[tokio::test]
async fn christmas_is_closed_even_during_office_hours() {
    let call = call(
        "flows",
        "2026-12-25T11:00:00-05:00",
        CallSetup::default(),
        vec![],
    )
    .await;
    assert!(heard(&call, "We are closed right now"));
}

#[tokio::test]
async fn the_caller_name_is_greeted_and_escaped() {
    let mut setup = CallSetup::default();
    setup
        .params
        .push(("CallerName".into(), "Tom & Jerry <Hangup/>".into()));
    let call = call("flows", OPEN, setup, vec![CallerAction::HangUp]).await;
    assert_eq!(
        call.heard()[0],
        "Thanks for calling Acme, Tom & Jerry <Hangup/>."
    );
    assert!(
        call.exchanges[0]
            .twiml
            .contains("Tom &amp; Jerry &lt;Hangup/&gt;")
    );
    assert_eq!(call.ended(), Some(&CallEnd::CallerHungUp));
}

#[tokio::test]
async fn a_browser_call_dials_the_number_it_names_with_the_caller_id() {
    let call = call(
        "flows",
        OPEN,
        setup("client:alice", "+1 (212) 555-0143"),
        vec![outcome("completed")],
    )
    .await;
    assert_eq!(call.dialled(), ["+12125550143"]);
    let twiml = &call.exchanges[0].twiml;
    assert!(twiml.contains(r#"callerId="+15550001111""#), "{twiml}");
}

#[tokio::test]
async fn a_browser_call_can_dial_another_browser() {
    let call = call(
        "flows",
        OPEN,
        setup("client:alice", "client:bob"),
        vec![outcome("completed")],
    )
    .await;
    assert_eq!(call.dialled(), ["client:bob"]);
    assert!(call.exchanges[0].twiml.contains("<Client>bob</Client>"));
}

#[tokio::test]
async fn a_browser_call_outside_the_allow_list_is_refused_and_never_dialled() {
    for target in [
        "+442071234567",
        "+1 900 555 0100",
        "+19765550100",
        "+1555<Hangup/>",
        "client:bob\"/><Dial>",
        "sip:evil@example.com",
    ] {
        let call = call("flows", OPEN, setup("client:alice", target), vec![]).await;
        assert!(call.dialled().is_empty(), "{target} was dialled");
        assert!(
            heard(&call, "can only call numbers in North America"),
            "{target}: {}",
            call.transcript()
        );
        assert!(!call.exchanges[0].twiml.contains("<Dial"), "{target}");
        assert_eq!(call.ended(), Some(&CallEnd::Hangup));
    }
}

#[tokio::test]
async fn a_busy_browser_dial_is_explained() {
    let call = call(
        "flows",
        OPEN,
        setup("client:alice", "+12125550143"),
        vec![outcome("busy")],
    )
    .await;
    assert!(heard(&call, "The line is busy"));
}

/// Flows whose `main` calls `verify_caller` from two steps.
const SUB_FLOWS: &str = "tests/fixtures/flows/sub_flows";

/// Posts a webhook to `router` and returns the TwiML.
async fn post(router: axum::Router, url: &str, body: &'static str) -> String {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let response = router.oneshot(webhook(url, body)).await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

/// The URL an answer asks Twilio to post the caller's input to.
fn action_of(twiml: &str) -> String {
    let start = twiml.find("action=\"").expect("a callback URL") + "action=\"".len();
    let end = start + twiml[start..].find('"').unwrap();
    twiml[start..end].replace("&amp;", "&")
}

#[tokio::test]
async fn a_sub_flow_called_from_two_places_comes_back_to_each() {
    for (key, purpose, back) in [
        (
            "1",
            "To reach billing, enter your PIN.",
            "Billing here. Verified: yes.",
        ),
        (
            "2",
            "To reach orders, enter your PIN.",
            "Orders here. Verified: yes.",
        ),
    ] {
        let call = call(
            SUB_FLOWS,
            OPEN,
            CallSetup::default(),
            vec![press(key), press("1234")],
        )
        .await;
        let transcript = call.transcript();
        // `with` gave the sub-flow its purpose; `return` gave back `verified`.
        assert!(heard(&call, purpose), "{transcript}");
        assert_eq!(call.heard().last(), Some(&back), "{transcript}");
        assert_eq!(call.heard().len(), 3, "{transcript}");
        assert_eq!(call.ended(), Some(&CallEnd::Hangup), "{transcript}");
    }
}

#[tokio::test]
async fn a_sub_flow_that_waits_comes_back_on_a_later_webhook() {
    let call = call(
        SUB_FLOWS,
        OPEN,
        CallSetup::default(),
        vec![press("2"), press("1234")],
    )
    .await;
    // The PIN was asked in one answer and given in the next webhook: the
    // calling step travelled in the sealed URL.
    let pin = call
        .exchanges
        .iter()
        .find(|exchange| exchange.url.contains("step=ask_pin"))
        .unwrap_or_else(|| panic!("no webhook at the PIN:\n{}", call.transcript()));
    assert!(
        pin.url.contains("flow=verify_caller") && pin.url.contains("ret=main%3Aorders"),
        "{}",
        pin.url
    );
    assert_eq!(
        pin.steps,
        [
            "verify_caller:ask_pin",
            "verify_caller:check",
            "verify_caller:good",
            "main:orders_done"
        ]
    );
    assert_eq!(call.heard().last(), Some(&"Orders here. Verified: yes."));
}

#[tokio::test]
async fn the_end_of_a_sub_flow_comes_back_as_return_does() {
    let call = call(
        SUB_FLOWS,
        OPEN,
        CallSetup::default(),
        vec![press("1"), press("9999")],
    )
    .await;
    // A wrong PIN runs to `bad`, which has no `next`: the end of the
    // sub-flow, which comes back instead of hanging up.
    assert_eq!(
        call.heard().last(),
        Some(&"Billing here. Verified: no."),
        "{}",
        call.transcript()
    );
}

#[tokio::test]
async fn return_with_no_call_in_progress_ends_the_call() {
    let setup = CallSetup {
        flow: Some("verify_caller".into()),
        ..CallSetup::default()
    };
    let call = call(SUB_FLOWS, OPEN, setup, vec![press("1234")]).await;
    assert_eq!(
        call.exchanges
            .last()
            .unwrap()
            .steps
            .last()
            .map(String::as_str),
        Some("verify_caller:good")
    );
    assert_eq!(call.heard().len(), 1, "{}", call.transcript());
    assert_eq!(call.ended(), Some(&CallEnd::Hangup));
}

#[tokio::test]
async fn a_ninth_sub_flow_in_progress_ends_with_the_apology() {
    let key = callflow::engine::StateKey::from_secret(STATE_KEY).unwrap();
    let mut state = callflow::engine::CallState {
        flow: "main".into(),
        step: "menu".into(),
        ..Default::default()
    };
    let point = callflow::engine::ReturnPoint {
        flow: "main".into(),
        step: "billing".into(),
    };
    // Eight in progress, as only a flow that changed under the call could
    // leave it: `check` refuses flows that nest so deep.
    state.returns = vec![point; callflow::engine::MAX_CALL_DEPTH];
    let twiml = post(
        router_at(SUB_FLOWS, OPEN),
        &state.url("", &key),
        "CallSid=CA1&Digits=1",
    )
    .await;
    assert!(twiml.contains("something went wrong"), "{twiml}");
    assert!(!twiml.contains("enter your PIN"), "{twiml}");
    assert!(twiml.ends_with("<Hangup /></Response>"), "{twiml}");
    // One fewer in progress, and the call goes in.
    state.returns.pop();
    let twiml = post(
        router_at(SUB_FLOWS, OPEN),
        &state.url("", &key),
        "CallSid=CA1&Digits=1",
    )
    .await;
    assert!(
        twiml.contains("To reach billing, enter your PIN."),
        "{twiml}"
    );
}

#[tokio::test]
async fn a_return_point_rewritten_in_the_url_is_refused() {
    let router = router_at(SUB_FLOWS, OPEN);
    let first = post(router.clone(), "/voice", "CallSid=CA1&From=%2B15551112222").await;
    let at_pin = post(router.clone(), &action_of(&first), "CallSid=CA1&Digits=1").await;
    let url = action_of(&at_pin);
    assert!(url.contains("ret=main%3Abilling"), "{url}");
    let genuine = post(router.clone(), &url, "CallSid=CA1&Digits=1234").await;
    assert!(genuine.contains("Billing here"), "{genuine}");
    // Coming back to another step (one the caller did not choose) breaks the seal.
    for edited in [
        url.replace("ret=main%3Abilling", "ret=main%3Aorders"),
        url.replace("&ret=main%3Abilling", ""),
    ] {
        let twiml = post(router.clone(), &edited, "CallSid=CA1&Digits=1234").await;
        assert!(twiml.contains("something went wrong"), "{edited}: {twiml}");
        assert!(!twiml.contains("here. Verified"), "{edited}: {twiml}");
    }
}

const FORMS: &str = "tests/fixtures/flows/forms";

/// Asserts that an answer of the call wrote `needle`: a verb with its
/// attributes, as Twilio reads it.
fn assert_wrote(call: &callflow::simulator::SimulatedCall, needle: &str) {
    assert!(
        call.exchanges.iter().any(|e| e.twiml.contains(needle)),
        "no answer wrote {needle}\n{}",
        call.transcript()
    );
}

#[tokio::test]
async fn a_prompt_list_is_heard_in_order_and_the_caller_answers_it() {
    let call = call(FORMS, OPEN, CallSetup::default(), vec![press("2")]).await;
    assert_eq!(
        call.heard()[..2],
        ["Welcome back.", "For billing press 1. To leave press 2."],
        "{}",
        call.transcript()
    );
    let first = &call.exchanges[0].twiml;
    assert!(
        first.contains(r#"<Say language="en-US">Welcome back.</Say><Pause length="1" /><Say"#),
        "{first}"
    );
    assert!(
        first.find("<Gather") < first.find("Welcome back."),
        "{first}"
    );
    // Option 2 leads to a branch whose last arm is `goto: hangup`.
    assert_eq!(call.ended(), Some(&CallEnd::Hangup));
}

#[tokio::test]
async fn a_menus_messages_in_full_form_use_their_own_voice_and_language() {
    let call = call(
        FORMS,
        OPEN,
        CallSetup::default(),
        vec![CallerAction::Silence, press("9")],
    )
    .await;
    assert_wrote(
        &call,
        r#"<Say language="es-US" voice="Polly.Lupe">¿Hola?</Say>"#,
    );
    assert_wrote(
        &call,
        r#"<Say language="es-US" voice="Polly.Lupe">Esa no es una opción.</Say>"#,
    );
    // One retry, then `otherwise`: a branch to `hangup`.
    assert_eq!(
        call.ended(),
        Some(&CallEnd::Hangup),
        "{}",
        call.transcript()
    );
}

#[tokio::test]
async fn a_dials_refusal_in_full_form_uses_its_own_voice() {
    let call = call(FORMS, OPEN, CallSetup::default(), vec![press("1")]).await;
    assert!(call.dialled().is_empty(), "{}", call.transcript());
    assert_wrote(
        &call,
        r#"<Say language="es-US" voice="Polly.Lupe">Lo siento, no puedo llamar a ese número.</Say>"#,
    );
    assert_eq!(call.ended(), Some(&CallEnd::Hangup));
}
