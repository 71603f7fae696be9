//! Call events and `callflow report`, as an operator meets them: the real
//! binary serving with `LOG_FORMAT=json`, webhooks over a socket, the log
//! written to a file, and `callflow report` reading it; and `callflow
//! report` over a fixture log of two replicas.

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use http_body_util::BodyExt;
use serde_json::Value;

const FLOW: &str = "\
steps:
  menu:
    menu:
      say: For sales press 1.
      options: { 1: sales }
      retries: 1
  sales:
    dial: { number: \"+15551230001\" }
    next: goodbye
  goodbye:
    say: Goodbye!
";

/// The card number a caller types by mistake: never in a log by default.
const CARD: &str = "4111111111111111";

struct Server {
    child: Child,
    address: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn serve(folder: &Folder, log: &std::path::Path, extra: &[(&str, &str)]) -> Server {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut command = Command::new(env!("CARGO_BIN_EXE_callflow"));
    command
        .arg("serve")
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("FLOWS_DIR", &folder.path)
        .env("STATE_KEY", STATE_KEY)
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    for (name, value) in extra {
        command.env(name, value);
    }
    let child = command.spawn().expect("callflow starts");
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    while tokio::net::TcpStream::connect(address).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "callflow did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server { child, address }
}

/// Posts a webhook and returns the TwiML.
async fn post(server: &Server, url: &str, form: &str) -> String {
    let response = send_over_socket(server.address, webhook(url, form.to_owned())).await;
    assert_eq!(response.status(), 200, "{url}");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8_lossy(&body).into_owned()
}

/// The URL Twilio would call next: the `action` of the answer's
/// `<Gather>` or `<Dial>`, unescaped.
fn action(twiml: &str) -> String {
    let start = twiml.find("action=\"").expect("an action") + 8;
    let end = start + twiml[start..].find('"').unwrap();
    twiml[start..end].replace("&amp;", "&")
}

/// Plays one call: a wrong number typed, then 1, the dial answered, and
/// Twilio's final status callback.
async fn play_call(server: &Server, sid: &str) {
    let first = post(
        server,
        "/voice",
        &format!("CallSid={sid}&From=%2B15551112222"),
    )
    .await;
    let wrong = post(
        server,
        &action(&first),
        &format!("CallSid={sid}&Digits={CARD}"),
    )
    .await;
    let chose = post(server, &action(&wrong), &format!("CallSid={sid}&Digits=1")).await;
    let done = post(
        server,
        &action(&chose),
        &format!("CallSid={sid}&DialCallStatus=completed"),
    )
    .await;
    assert!(done.contains("Goodbye!"), "{done}");
    let status = send_over_socket(
        server.address,
        webhook(
            "/voice/status",
            format!("CallSid={sid}&CallStatus=completed&CallDuration=42"),
        ),
    )
    .await;
    assert!(status.status().is_success());
}

fn events(log: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["target"] == "callflow::call")
        .collect()
}

/// Waits until the log holds `count` call events.
async fn until_events(log: &std::path::Path, count: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let found = events(log);
        if found.len() >= count || started.elapsed() > Duration::from_secs(5) {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn report(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_callflow"))
        .arg("report")
        .args(args)
        .output()
        .expect("callflow report runs");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn each_webhook_writes_one_event_without_the_digits_and_report_counts_them() {
    let folder = Folder::new("call-events");
    folder.write("main.yaml", FLOW);
    let log = folder.join("callflow.log");
    let server = serve(&folder, &log, &[]).await;
    play_call(&server, "CA0001").await;
    play_call(&server, "CA0002").await;
    let found = until_events(&log, 10).await;
    drop(server);

    let turns: Vec<&Value> = found.iter().filter(|e| e["event"] == "turn").collect();
    assert_eq!(turns.len(), 8, "{found:#?}");
    let first = turns[0];
    assert_eq!(first["call_sid"], "CA0001");
    assert_eq!(first["flow"], "main");
    assert_eq!(first["started"], true);
    assert_eq!(first["entered"], "main:menu");
    assert_eq!(first["end"], "waiting");
    let wrong = turns[1];
    assert_eq!(wrong["input"], "digits");
    assert_eq!(wrong["menus"], "main:menu=no_match");
    assert_eq!(turns[2]["menus"], "main:menu=1");
    assert_eq!(turns[3]["dials"], "main:sales=completed");
    assert_eq!(turns[3]["end"], "completed");
    assert_eq!(turns[3]["entered"], "main:goodbye");
    let ended: Vec<&Value> = found
        .iter()
        .filter(|e| e["event"] == "call_ended")
        .collect();
    assert_eq!(ended.len(), 2);
    assert_eq!(ended[0]["duration"], 42);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains(CARD), "the digits were logged:\n{text}");

    let json: Value =
        serde_json::from_str(&report(&[log.to_str().unwrap(), "--format", "json"])).unwrap();
    let main = &json["flows"]["main"];
    assert_eq!(main["calls"], 2);
    assert_eq!(main["steps"]["main:menu"], 4, "{main:#}");
    assert_eq!(main["menus"]["main:menu"]["1"], 2);
    assert_eq!(main["menus"]["main:menu"]["no_match"], 2);
    assert_eq!(main["dials"]["main:sales"]["completed"], 2);
    assert_eq!(main["ended"]["completed at main:goodbye"], 2);
    assert_eq!(main["duration_p50"], 42);
}

#[tokio::test]
async fn with_log_inputs_the_digits_are_in_the_events() {
    let folder = Folder::new("call-events-inputs");
    folder.write("main.yaml", FLOW);
    let log = folder.join("callflow.log");
    let server = serve(&folder, &log, &[("LOG_INPUTS", "true")]).await;
    play_call(&server, "CA0003").await;
    let found = until_events(&log, 5).await;
    drop(server);
    assert!(found.iter().any(|e| e["digits"] == CARD), "{found:#?}");
}

const FIXTURE: &str = "tests/fixtures/logs/two_replicas.log";

#[test]
fn report_joins_two_replicas_logs_by_call_and_filters_by_flow_and_date() {
    let fixture = repo_path(FIXTURE);
    let table = report(&[fixture.to_str().unwrap()]);
    // Columns are aligned with spaces; compare the words.
    let lines: Vec<String> = table
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    for line in [
        "flow main: calls 3, apologies 1, duration p50 30 s, p95 95 s",
        "menu main:menu:",
        "1 2",
        "no_input 1",
        "dial main:sales:",
        "busy 1",
        "completed 1",
        "completed at main:goodbye 1",
        "hung up at main:menu 1",
        "apology at main:sales 1",
        "main:menu 4",
        "main:sales 2",
        "flow billing: calls 1, apologies 0, duration p50 60 s, p95 60 s",
    ] {
        assert!(lines.iter().any(|l| l == line), "{line}\n---\n{table}");
    }

    let only_billing = report(&[fixture.to_str().unwrap(), "--flow", "billing"]);
    assert!(
        only_billing.contains("flow billing: calls 1"),
        "{only_billing}"
    );
    assert!(!only_billing.contains("flow main"), "{only_billing}");

    let later = report(&[fixture.to_str().unwrap(), "--since", "2026-11-29T10:00:00Z"]);
    assert!(later.contains("flow billing: calls 1"), "{later}");
    assert!(!later.contains("flow main"), "{later}");

    // From standard input, as `kubectl logs … | callflow report` gives it.
    let mut child = Command::new(env!("CARGO_BIN_EXE_callflow"))
        .args(["report", "-", "--format", "json"])
        .stdin(std::fs::File::open(&fixture).unwrap())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
    assert!(child.wait().unwrap().success());
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["flows"]["main"]["calls"], 3);
}
