//! `/healthz`, `/readyz` and the drain before shutdown: a replica that is
//! going says so at once on `/readyz`, yet answers every webhook (new ones
//! too) until the drain delay is over, then stops.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use callflow::http::{self, health};
use common::process::{Process, first_webhook, free_port, get};

fn json_body(answer: &str) -> serde_json::Value {
    let body = answer.split_once("\r\n\r\n").expect("a body").1;
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

#[tokio::test]
async fn readiness_fails_at_once_while_the_drain_keeps_answering() {
    let state = common::state_at("flows", common::OPEN);
    let readiness = state.readiness.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let drain = Duration::from_millis(800);
    let server = tokio::spawn(http::run(
        listener,
        http::router(state),
        http::Limits::default(),
        health::drain_then_stop(
            async {
                let _ = stopped.await;
            },
            Arc::clone(&readiness),
            drain,
        ),
    ));

    let ready = get(address, "/readyz").await;
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    assert_eq!(json_body(&ready)["status"], "ready");

    stop.send(()).unwrap();
    let stopping = Instant::now();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let draining = get(address, "/readyz").await;
    assert!(draining.starts_with("HTTP/1.1 503"), "{draining}");
    assert!(
        json_body(&draining)["error"]
            .as_str()
            .unwrap()
            .contains("draining"),
        "{draining}"
    );
    // Calls the balancer still sends are answered, on new connections too.
    let webhook = first_webhook(address).await;
    assert!(webhook.starts_with("HTTP/1.1 200"), "{webhook}");
    assert!(webhook.contains("Thanks for calling Acme"), "{webhook}");
    assert!(get(address, "/healthz").await.starts_with("HTTP/1.1 200"));
    assert!(
        stopping.elapsed() < drain,
        "the checks took the whole drain"
    );

    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stops after the drain")
        .unwrap()
        .unwrap();
    assert!(stopping.elapsed() >= drain, "{:?}", stopping.elapsed());
    assert!(tokio::net::TcpStream::connect(address).await.is_err());
}

/// `callflow serve` of the repository's flows, with `env` on top.
async fn serve_example_flows(env: &[(&str, &str)]) -> Process {
    let flows = common::repo_path("flows");
    let mut all = vec![("FLOWS_DIR", flows.to_str().unwrap()), ("RUST_LOG", "warn")];
    all.extend_from_slice(env);
    Process::serve(free_port(), &all, None).await
}

/// `callflow probe PATH`, as a container's HEALTHCHECK runs it: whether the
/// server on `port` answers 200.
fn probe(port: u16, path: &str) -> bool {
    std::process::Command::new(env!("CARGO_BIN_EXE_callflow"))
        .args(["probe", path])
        .env("PORT", port.to_string())
        .env("HOST", "0.0.0.0")
        .output()
        .expect("callflow runs")
        .status
        .success()
}

/// The binary itself, as Kubernetes stops it: SIGTERM, then `/readyz`
/// fails while webhooks are still answered for `SHUTDOWN_DRAIN` seconds,
/// and the process exits cleanly after it.
#[cfg(unix)]
#[tokio::test]
async fn sigterm_drains_for_shutdown_drain_then_exits() {
    let mut server = serve_example_flows(&[("SHUTDOWN_DRAIN", "2")]).await;
    let ready = get(server.address, "/readyz").await;
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    let port = server.address.port();
    assert!(probe(port, "/healthz") && probe(port, "/readyz"));

    server.terminate();
    let terminated = Instant::now();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!probe(port, "/readyz"), "ready while draining");
    assert!(probe(port, "/healthz"), "alive while draining");
    let draining = get(server.address, "/readyz").await;
    assert!(draining.starts_with("HTTP/1.1 503"), "{draining}");
    assert!(draining.contains("draining"), "{draining}");
    let webhook = first_webhook(server.address).await;
    assert!(webhook.starts_with("HTTP/1.1 200"), "{webhook}");
    assert!(webhook.contains("Thanks for calling Acme"), "{webhook}");
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "still running during the drain"
    );

    let exit = server.wait(Duration::from_secs(20)).await;
    assert!(exit.success(), "{exit}");
    let took = terminated.elapsed();
    assert!(
        took >= Duration::from_secs(2),
        "stopped before the drain ended: {took:?}"
    );
    assert!(took < Duration::from_secs(12), "{took:?}");
    assert!(!probe(port, "/healthz"), "alive after it stopped");
}

/// Without `SHUTDOWN_DRAIN` (its default is 0) SIGTERM stops the server
/// straight away, as before the setting existed.
#[cfg(unix)]
#[tokio::test]
async fn without_a_drain_sigterm_stops_at_once() {
    let mut server = serve_example_flows(&[]).await;
    server.terminate();
    let terminated = Instant::now();
    let exit = server.wait(Duration::from_secs(20)).await;
    assert!(exit.success(), "{exit}");
    assert!(
        terminated.elapsed() < Duration::from_secs(3),
        "{:?}",
        terminated.elapsed()
    );
}
