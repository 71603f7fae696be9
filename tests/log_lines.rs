//! Values from requests never start a log line of their own.

mod common;

use common::{OPEN, app_at, capture_log, webhook};
use tower::ServiceExt;

#[tokio::test]
async fn a_line_break_in_a_flow_name_or_call_sid_cannot_forge_a_log_line() {
    let (log, _guard) = capture_log();
    let forged = "2026-11-29T04:00:00.000000Z ERROR callflow: admin signed in";
    let flow = format!("nosuch\n{forged}");
    let url = format!(
        "/voice?flow={}",
        form_urlencoded::byte_serialize(flow.as_bytes()).collect::<String>()
    );
    let body = format!(
        "CallSid={}",
        form_urlencoded::byte_serialize(format!("CA1\r\n{forged}").as_bytes()).collect::<String>()
    );
    let response = app_at("flows", OPEN)
        .oneshot(webhook(&url, body))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let log = log.text();
    assert!(log.contains("there is no flow named"), "{log}");
    assert!(log.contains("nosuch\\n2026-11-29"), "{log}");
    assert!(log.contains("CA1\\r\\n2026-11-29"), "{log}");
    for line in log.lines() {
        assert!(
            !line.starts_with("2026-11-29T04:00:00.000000Z"),
            "forged line: {line}"
        );
    }
}
