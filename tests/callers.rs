//! `callers:`: a flow turns blocked callers away with `<Reject>` before its
//! first step, so they are never answered or billed, and a private line
//! answers only the callers it lists.

mod common;

use axum::http::StatusCode;
use callflow::engine::EngineSettings;
use callflow::http::{self, AppState};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// The first webhook of a call from `from` (left out when `None`) to a flow
/// written as `text`: its TwiML.
async fn first_webhook(text: &str, from: Option<&str>) -> String {
    let flows = common::main_flow(text).unwrap_or_else(|report| panic!("{report}"));
    let router = http::router(AppState::new(flows, EngineSettings::default()));
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("CallSid", "CA0123")
        .append_pair("To", "+15553330100");
    if let Some(from) = from {
        form.append_pair("From", from);
    }
    let response = router
        .oneshot(common::webhook("/voice", form.finish()))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

const BLOCKING: &str = r#"
callers:
  block: ["+1900*", anonymous]
steps:
  hello:
    say: Welcome to Acme.
"#;

/// What Twilio's library writes for `<Reject reason="rejected">`.
fn rejected() -> String {
    std::fs::read_to_string(common::repo_path(
        "tests/fixtures/twilio/twiml/23_reject_rejected.xml",
    ))
    .unwrap()
}

#[tokio::test]
async fn an_anonymous_caller_is_rejected_however_the_number_is_withheld() {
    for from in [
        None,
        Some(""),
        Some("anonymous"),
        Some("Anonymous"),
        Some("Restricted"),
        Some("Unknown"),
        Some("+266696687"),
    ] {
        assert_eq!(first_webhook(BLOCKING, from).await, rejected(), "{from:?}");
    }
}

#[tokio::test]
async fn a_blocked_range_is_rejected_and_everyone_else_answered() {
    assert_eq!(
        first_webhook(BLOCKING, Some("+19005550100")).await,
        rejected()
    );
    let answered = first_webhook(BLOCKING, Some("+14155552671")).await;
    assert!(answered.contains("Welcome to Acme."), "{answered}");
}

#[tokio::test]
async fn a_private_line_answers_only_its_callers() {
    let private = r#"
callers:
  allow: ["+1415555*", "+442071230000"]
  answer_blocked_with: busy
steps:
  hello:
    say: Hello, team.
"#;
    for from in ["+14155552671", "+44 20 7123 0000"] {
        let answered = first_webhook(private, Some(from)).await;
        assert!(answered.contains("Hello, team."), "{from}: {answered}");
    }
    for from in [Some("+14155560000"), Some("+442071230001"), None] {
        let turned_away = first_webhook(private, from).await;
        assert!(
            turned_away.contains(r#"<Reject reason="busy" />"#),
            "{from:?}: {turned_away}"
        );
        assert!(!turned_away.contains("Hello"), "{turned_away}");
    }
}

#[test]
fn caller_mistakes_are_named_at_their_lines() {
    let report = common::main_flow(
        r#"callers:
  block: [anonymous, "+1900*", "premium"]
steps:
  hello:
    say: Hello.
"#,
    )
    .expect_err("the flow is refused");
    assert!(
        report.contains("main.yaml:2:32: error: \"premium\" is not a caller pattern"),
        "{report}"
    );
    let report = common::main_flow("callers: {}\nsteps:\n  hello:\n    say: Hello.\n")
        .expect_err("the flow is refused");
    assert!(
        report.contains("main.yaml:1:1: error: `callers` needs `block`, `allow`, or both"),
        "{report}"
    );
}
