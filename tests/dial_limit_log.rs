//! The log line of a dial refused by a browser dial limit: it names the limit and the CallSid.
//! In its own test binary because a thread-local tracing subscriber can miss events while other
//! tests register the same call sites on other threads.

use callflow::config::Settings;
use callflow::simulator::SimulatedCall;

mod common;

#[tokio::test(start_paused = true)]
async fn a_dial_past_a_limit_is_logged_with_the_limit_and_the_call_sid() {
    let (captured, _guard) = common::capture_log();
    let settings = Settings::from_vars(&[("DIAL_RATE_LIMIT", "1")]).unwrap();
    let router = callflow::http::router(
        common::state_at("flows", common::OPEN).with_engine(settings.engine()),
    );
    let play = |router: axum::Router| async move {
        SimulatedCall::play_script(
            router,
            common::setup("client:alice", "+12125550143"),
            vec![common::outcome("completed")],
        )
        .await
        .unwrap()
    };
    let first = play(router.clone()).await;
    assert_eq!(first.dialled(), ["+12125550143"]);
    assert!(!captured.text().contains("dial limit"));
    let second = play(router).await;
    assert!(second.dialled().is_empty());

    let log = captured.text();
    let line = log
        .lines()
        .find(|line| line.contains("a browser dial limit is reached"))
        .unwrap_or_else(|| panic!("no refusal logged:\n{log}"));
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("limit=\"DIAL_RATE_LIMIT\""), "{line}");
    assert!(
        line.contains(&format!("call_sid={}", second.call_sid())),
        "{line}"
    );
}
