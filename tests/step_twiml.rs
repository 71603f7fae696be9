//! The TwiML of every step kind, locked by snapshots. Each snapshot was
//! checked against Twilio's TwiML reference (attribute names, values and
//! nesting) when it was accepted.

mod common;

use callflow::engine;
use callflow::twiml::Response;

fn render(step: &str) -> String {
    let flows = callflow::flow::load(&common::repo_path("tests/fixtures/flows/steps"))
        .unwrap_or_else(|r| panic!("{r}"))
        .flows;
    let at = "2026-11-24T10:30:00Z".parse().unwrap();
    let xml = engine::preview_blocking(&flows, &common::sealing_engine(), "kinds", Some(step), at)
        .unwrap();
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
);
