//! callflow's TwiML writer against documents written by Twilio's own helper
//! library: same bytes, and the same tree when both are parsed.

use callflow::flow::steps::{dial, gather, hangup, pause, reject, say};
use callflow::twiml::{Element, Response};

fn vector(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/twilio/twiml/{name}.xml",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn document(verbs: Vec<Element>) -> Response {
    Response { verbs }
}

#[track_caller]
fn assert_matches_vector(name: &str, ours: Response) {
    let theirs = vector(name);
    assert_eq!(ours.to_xml(), theirs, "bytes differ from {name}");
    assert_eq!(
        Response::parse(&theirs).unwrap(),
        ours,
        "tree differs from {name}"
    );
}

#[test]
fn say_with_voice_language_and_loop() {
    assert_matches_vector(
        "01_say_voice_language",
        document(vec![say::verb(
            "Welcome to the demo line.",
            Some("Polly.Joanna"),
            Some("en-US"),
            Some(2),
        )]),
    );
}

#[test]
fn gather_with_nested_say_and_pause() {
    let gather = Element::new("Gather")
        .attr("input", "dtmf speech")
        .attr("numDigits", "1")
        .attr("action", "/voice/gather?node=main")
        .attr("method", "POST")
        .attr("timeout", "5")
        .attr("speechTimeout", "auto")
        .attr("hints", "sales, support")
        .attr("language", "en-US")
        .attr("actionOnEmptyResult", "true")
        .child(say::verb(
            "Press 1 or say sales. Press 2 or say support.",
            Some("alice"),
            None,
            None,
        ))
        .child(pause::verb(1));
    assert_matches_vector(
        "02_gather_dtmf_speech_nested_say",
        document(vec![
            gather,
            say::verb("We did not receive any input. Goodbye!", None, None, None),
            hangup::verb(),
        ]),
    );
}

#[test]
fn dial_a_number_with_caller_id() {
    let dial = dial::verb(
        dial::DialAttributes {
            action: "/voice/dial-status",
            caller_id: Some("+15005550006"),
            timeout: Some(20),
            time_limit: Some(600),
            record: Some("record-from-answer"),
            answer_on_bridge: Some(true),
            ring_tone: Some("us"),
            hangup_on_star: None,
            sequential: None,
        },
        vec![
            Element::with_text("Number", "+14155550100")
                .attr("sendDigits", "wwww1928")
                .attr("statusCallback", "/voice/number-status")
                .attr(
                    "statusCallbackEvent",
                    "initiated ringing answered completed",
                ),
        ],
    )
    .attr("method", "POST");
    assert_matches_vector("03_dial_callerid_number", document(vec![dial]));
}

#[test]
fn dial_clients_with_identity_and_parameters() {
    let dial = Element::new("Dial")
        .attr("callerId", "client:ivr")
        .attr("timeout", "30")
        .child(
            Element::new("Client")
                .child(Element::with_text("Identity", "agent_alice"))
                .child(
                    Element::new("Parameter")
                        .attr("name", "ticket")
                        .attr("value", "T-1001"),
                )
                .child(
                    Element::new("Parameter")
                        .attr("name", "queue")
                        .attr("value", "support"),
                ),
        )
        .child(Element::with_text("Client", "agent_bob"));
    assert_matches_vector("04_dial_client_identity_params", document(vec![dial]));
}

#[test]
fn dial_sip() {
    let dial = Element::new("Dial").attr("hangupOnStar", "true").child(
        Element::with_text(
            "Sip",
            "sip:alice@example.sip.twilio.com;transport=tls?X-Custom=1",
        )
        .attr("username", "alice")
        .attr("password", "p@ss"),
    );
    assert_matches_vector("05_dial_sip", document(vec![dial]));
}

#[test]
fn record_a_message() {
    let record = Element::new("Record")
        .attr("action", "/voice/recorded")
        .attr("method", "POST")
        .attr("maxLength", "120")
        .attr("timeout", "5")
        .attr("finishOnKey", "*")
        .attr("playBeep", "true")
        .attr("trim", "trim-silence")
        .attr("transcribe", "false")
        .attr("recordingStatusCallback", "/voice/recording-status");
    assert_matches_vector(
        "06_record_maxlength_action",
        document(vec![
            say::verb(
                "Please leave a message after the beep. Press star when finished.",
                None,
                None,
                None,
            ),
            record,
            say::verb("No recording received.", None, None, None),
        ]),
    );
}

#[test]
fn pause_and_redirect() {
    assert_matches_vector(
        "07_redirect",
        document(vec![
            pause::verb(2),
            gather::redirect("/voice?node=main&retry=1").attr("method", "POST"),
        ]),
    );
}

#[test]
fn say_then_hang_up() {
    assert_matches_vector(
        "08_hangup",
        document(vec![
            say::verb("Goodbye.", None, None, None),
            hangup::verb(),
        ]),
    );
}

#[test]
fn reject_as_busy() {
    assert_matches_vector(
        "09_reject_busy",
        document(vec![reject::verb(reject::RejectReason::Busy)]),
    );
}

#[test]
fn reject_as_rejected() {
    assert_matches_vector(
        "23_reject_rejected",
        document(vec![reject::verb(reject::RejectReason::Rejected)]),
    );
}

#[test]
fn escaping_and_unicode() {
    let text = "Tom & Jerry <say> \"quoted\" 'single' > café üñîçødé 日本語 😀";
    assert_matches_vector(
        "10_xml_escaping_and_unicode",
        document(vec![
            say::verb(text, None, Some("fr-FR"), None),
            Element::with_text("Play", "https://example.com/a.mp3?x=1&y=2").attr("loop", "0"),
            Element::new("Play").attr("digits", "ww1234#"),
            Element::with_text("Redirect", "https://example.com/next?a=1&b=\"2\"<3>")
                .attr("method", "GET"),
            Element::new("Gather")
                .attr("action", "/g?a=1&b=\"x\"<y>'z'")
                .attr("hints", "line1\nline2\ttab"),
        ]),
    );
}

#[test]
fn empty_response() {
    assert_matches_vector("11_empty_response", Response::new());
}

#[test]
fn enqueue_and_leave() {
    assert_matches_vector(
        "12_enqueue",
        document(vec![
            Element::with_text("Enqueue", "support")
                .attr("waitUrl", "/voice/hold-music")
                .attr("waitUrlMethod", "POST")
                .attr("action", "/voice/after-queue"),
        ]),
    );
    assert_matches_vector(
        "12b_leave_in_wait_url",
        document(vec![
            say::verb("All agents are busy.", None, None, None),
            Element::new("Leave"),
        ]),
    );
}

#[test]
fn dial_a_queue() {
    assert_matches_vector(
        "12c_dial_queue",
        document(vec![Element::new("Dial").child(
            Element::with_text("Queue", "support").attr("url", "/voice/whisper"),
        )]),
    );
}

#[test]
fn dial_a_conference() {
    let spec = dial::Conference {
        room: callflow::flow::Text::Plain("Room 1234".into()),
        muted: Some(false),
        beep: Some("false".into()),
        start_on_enter: Some(true),
        end_on_exit: Some(false),
        wait_url: Some(String::new()),
        max_participants: Some(10),
    };
    assert_matches_vector(
        "13_conference",
        document(vec![Element::new("Dial").child(spec.noun("Room 1234"))]),
    );
}

#[test]
fn gather_then_fall_through() {
    let gather = Element::new("Gather")
        .attr("numDigits", "4")
        .attr("action", "/voice/pin")
        .attr("finishOnKey", "#")
        .child(say::verb("Enter your 4 digit PIN.", None, None, None));
    assert_matches_vector(
        "14_gather_defaults_then_fallthrough",
        document(vec![
            gather,
            say::verb("Sorry, I did not get that.", None, None, None),
            gather::redirect("/voice?node=pin"),
        ]),
    );
}

/// A speech gather written in a flow, with the speech model and options
/// from the flow's `speech:` defaults and from the step: the `<Gather>` it
/// answers with is Twilio's, once the sealed callback URL is swapped for
/// the vector's plain one.
#[test]
fn gather_with_speech_model_and_options_from_a_flow() {
    let flow = "\
speech:
  speech_model: googlev2_telephony
  enhanced: false
  profanity_filter: true
steps:
  ask:
    gather:
      say: Tell me what you are calling about.
      input: speech
      speech_timeout: auto
      hints: [billing, orders]
      language: en-US
      action_on_empty_result: true
      barge_in: true
      save_as: topic
";
    let flows = callflow::flow::load_sources(vec![callflow::flow::load::Source {
        name: "main".into(),
        file: "main.yaml".into(),
        text: flow.into(),
    }])
    .unwrap_or_else(|report| panic!("{report}"))
    .flows;
    let at = "2026-11-24T10:30:00Z".parse().unwrap();
    let settings = callflow::engine::EngineSettings::default();
    let xml = callflow::engine::preview_blocking(&flows, &settings, "main", None, at).unwrap();
    let answer = Response::parse(&xml).unwrap();
    let mut gather = answer.verbs[0].clone();
    assert_eq!(gather.name, "Gather", "{xml}");
    let action = gather.get_attr("action").unwrap();
    assert!(action.starts_with("/voice?flow=main&step=ask&"), "{action}");
    gather.set_attr("action", "/voice?flow=main&step=ask");
    assert_matches_vector("15_gather_speech_model_options", document(vec![gather]));
}
