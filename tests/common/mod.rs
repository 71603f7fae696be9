//! Shared helpers: load a folder of flows and play calls against the router.
#![allow(dead_code)]

use std::path::PathBuf;

use callflow::engine::EngineSettings;
use callflow::http::{self, AppState, Clock};
use callflow::simulator::{CallSetup, CallerAction, SimulatedCall};

pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

pub fn router_at(dir: &str, at: &str) -> axum::Router {
    let flows = callflow::flow::load(&repo_path(dir))
        .unwrap_or_else(|report| panic!("{dir} should load:\n{report}"))
        .flows;
    let settings = EngineSettings {
        caller_id: Some("+15550001111".into()),
        ..EngineSettings::default()
    };
    http::router(AppState::new(flows, settings).with_clock(Clock::Fixed(at.parse().unwrap())))
}

/// A Tuesday morning, when the default flow's office is open.
pub const OPEN: &str = "2026-11-24T10:30:00-05:00";
/// The same Tuesday at night.
pub const CLOSED: &str = "2026-11-24T22:00:00-05:00";

pub async fn call(
    dir: &str,
    at: &str,
    setup: CallSetup,
    script: Vec<CallerAction>,
) -> SimulatedCall {
    SimulatedCall::play_script(router_at(dir, at), setup, script)
        .await
        .expect("the simulated call runs")
}

pub fn press(keys: &str) -> CallerAction {
    CallerAction::Press(keys.into())
}

pub fn say(words: &str) -> CallerAction {
    CallerAction::Say(words.into())
}

pub fn outcome(status: &str) -> CallerAction {
    CallerAction::DialOutcome(status.into())
}

pub fn setup(from: &str, to: &str) -> CallSetup {
    CallSetup {
        from: from.into(),
        to: to.into(),
        ..CallSetup::default()
    }
}

/// Whether any line heard contains `needle`.
pub fn heard(call: &SimulatedCall, needle: &str) -> bool {
    call.heard().iter().any(|line| line.contains(needle))
}
