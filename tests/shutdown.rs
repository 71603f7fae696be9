//! Over a real socket: on shutdown (SIGTERM in production) the server stops
//! accepting calls but finishes the webhook it is in the middle of.

mod common;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn a_webhook_in_flight_is_finished_after_shutdown_begins() {
    let (address, stop, server) = common::serve(common::app_at("flows", common::OPEN)).await;

    // A webhook whose body is still on its way when shutdown begins.
    let body = "CallSid=CA1&From=%2B15551112222&To=%2B15553334444";
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /voice HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..10]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    stop.send(()).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    stream.write_all(&body.as_bytes()[10..]).await.unwrap();

    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("Thanks for calling Acme"), "{answer}");

    // And the server has stopped.
    tokio::time::timeout(std::time::Duration::from_secs(5), server)
        .await
        .expect("the server stops once the webhook is answered")
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(address).await.is_err());
}

/// Twilio keeps connections open between webhooks; one that sits idle must
/// not hold the server up when it stops.
#[tokio::test]
async fn an_idle_kept_alive_connection_does_not_delay_shutdown() {
    let (address, stop, server) = common::serve(common::app_at("flows", common::OPEN)).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0; 512];
    let read = stream.read(&mut answer).await.unwrap();
    assert!(answer[..read].starts_with(b"HTTP/1.1 200"));

    // The connection stays open, idle, while the server stops.
    stop.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(2), server)
        .await
        .expect("the server stops without waiting for the idle connection")
        .unwrap()
        .unwrap();
    assert_eq!(
        stream.read(&mut answer).await.unwrap(),
        0,
        "closed by the server"
    );
}

/// SIGTERM (what a container platform sends) ends the process within its
/// grace period, even with clients that stopped half way through a request:
/// one in its header, one in its body.
#[cfg(unix)]
#[tokio::test]
async fn sigterm_ends_the_server_in_time_whatever_clients_do() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut server = Command::new(env!("CARGO_BIN_EXE_callflow"))
        .arg("serve")
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("FLOWS_DIR", common::repo_path("flows"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("callflow starts");
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    let mut stuck_in_header = loop {
        match TcpStream::connect(address).await {
            Ok(stream) => break stream,
            Err(_) if started.elapsed() < Duration::from_secs(20) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("callflow did not start listening: {error}"),
        }
    };
    stuck_in_header
        .write_all(b"POST /voice HTTP/1.1\r\nHost: local")
        .await
        .unwrap();
    let mut stuck_in_body = TcpStream::connect(address).await.unwrap();
    stuck_in_body
        .write_all(
            b"POST /voice HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nCallSid=CA",
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let terminated = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = loop {
        if let Some(exit) = server.try_wait().unwrap() {
            break exit;
        }
        if terminated.elapsed() > Duration::from_secs(20) {
            let _ = server.kill();
            panic!("callflow was still running 20 s after SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        terminated.elapsed() < Duration::from_secs(15),
        "{:?}",
        terminated.elapsed()
    );
    assert!(exit.success(), "{exit}");
    // Both clients are still holding on, and neither kept the server up.
    drop((stuck_in_header, stuck_in_body));
}
