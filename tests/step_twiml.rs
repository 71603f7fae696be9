//! The TwiML of every step kind, locked by snapshots. Each snapshot was
//! checked against Twilio's TwiML reference (attribute names, values and
//! nesting) when it was accepted.

mod common;

use callflow::engine;
use callflow::twiml::Response;

/// The TwiML of the fixture's `step`, as one document.
fn preview(step: &str) -> String {
    let flows = callflow::flow::load(&common::repo_path("tests/fixtures/flows/steps"))
        .unwrap_or_else(|r| panic!("{r}"))
        .flows;
    let at = "2026-11-24T10:30:00Z".parse().unwrap();
    engine::preview_blocking(&flows, &common::sealing_engine(), "kinds", Some(step), at).unwrap()
}

fn render(step: &str) -> String {
    let xml = preview(step);
    // Every document parses back: well-formed whatever the step.
    Response::parse(&xml).expect("well-formed TwiML");
    xml.replace("><", ">\n<")
}

macro_rules! snapshot_steps {
    ($($step:ident),* $(,)?) => {$(
        #[test]
        fn $step() {
            insta::assert_snapshot!(render(stringify!($step)));
        }
    )*};
}

snapshot_steps!(
    enqueue,
    leave,
    dial_whisper,
    start_recording,
    stop_recording,
    say,
    play,
    pause,
    gather,
    menu,
    set,
    branch,
    hours,
    dial_number,
    dial_client,
    dial_sip,
    dial_conference,
    dial_queue,
    record,
    goto,
    call,
    give_back,
    hang_up,
    reject,
    gather_prompt_list,
    menu_prompt_list,
    record_prompt_list,
    dial_prompt_list,
    menu_play,
    record_say_full,
    dial_say_full,
    reject_rejected,
    hang_up_bare,
    hang_up_empty_map,
    play_digits,
    say_forever,
);

/// The verbs of the step's TwiML, and of the verb named `inside`, by name.
fn verb_names(step: &str, inside: Option<&str>) -> Vec<String> {
    let xml = preview(step);
    let verbs = Response::parse(&xml).expect("well-formed TwiML").verbs;
    let verbs = match inside {
        Some(name) => {
            let parent = verbs.into_iter().find(|v| v.name == name);
            parent
                .unwrap_or_else(|| panic!("no <{name}> in {xml}"))
                .children
        }
        None => verbs,
    };
    verbs.iter().map(|v| v.name.to_string()).collect()
}

/// A gather's and a menu's prompt list is all inside the `<Gather>`, in
/// the order written, so the caller can answer before it ends.
#[test]
fn a_prompt_list_is_nested_inside_the_gather_in_order() {
    assert_eq!(
        verb_names("gather_prompt_list", Some("Gather")),
        ["Say", "Play", "Pause", "Say"]
    );
    assert_eq!(
        verb_names("menu_prompt_list", Some("Gather")),
        ["Say", "Pause", "Play"]
    );
}

/// A record's and a dial's prompt list is heard before the verb.
#[test]
fn a_record_or_dial_prompt_list_comes_before_the_verb() {
    assert_eq!(
        verb_names("record_prompt_list", None),
        ["Say", "Play", "Record", "Redirect"]
    );
    assert_eq!(
        verb_names("dial_prompt_list", None),
        ["Say", "Pause", "Play", "Dial"]
    );
}

/// The list's last item renders to empty text: it writes no `<Say />`,
/// which Twilio would log a warning for on every turn.
#[test]
fn a_prompt_item_that_renders_empty_writes_nothing() {
    let xml = render("gather_prompt_list");
    assert_eq!(xml.matches("<Say").count(), 2, "{xml}");
    assert!(
        !xml.contains("<Say />") && !xml.contains("></Say>"),
        "{xml}"
    );
}
