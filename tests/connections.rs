//! Over real sockets: what a client may hold. A client that sends
//! nothing, or stops half way, or floods the server with idle connections,
//! must not keep Twilio's webhooks from being answered.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use callflow::http::Limits;
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

const WEBHOOK_BODY: &str = "CallSid=CA1&From=%2B15551112222&To=%2B15553334444";

fn quick(max_connections: usize) -> Limits {
    Limits {
        header_timeout: Duration::from_secs(1),
        max_connections,
        ..Limits::default()
    }
}

fn webhook_head() -> String {
    format!(
        "POST /voice HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        WEBHOOK_BODY.len()
    )
}

/// Sends a whole webhook on a new connection and reads the answer's head.
async fn webhook(address: SocketAddr) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(format!("{}{WEBHOOK_BODY}", webhook_head()).as_bytes())
        .await
        .unwrap();
    read_some(&mut stream).await
}

async fn read_some(stream: &mut TcpStream) -> String {
    let mut buffer = vec![0; 4096];
    let read = stream.read(&mut buffer).await.unwrap_or(0);
    String::from_utf8_lossy(&buffer[..read]).into_owned()
}

/// How long until the server closes `stream` (reads end of file), at most
/// `limit`.
async fn closed_after(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0; 1024];
    timeout(limit, async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    })
    .await
    .ok()
    .map(|()| started.elapsed())
}

#[test]
fn by_default_a_client_has_ten_seconds_to_send_its_header() {
    assert_eq!(Limits::default().header_timeout, Duration::from_secs(10));
    assert!(Limits::default().shutdown_grace < Duration::from_secs(15));
    // The settings start from the same bounds, and change them.
    let defaults = callflow::config::Settings::from_vars(&[]).unwrap();
    assert_eq!(defaults.server.limits(), Limits::default());
    let set = callflow::config::Settings::from_vars(&[
        ("HEADER_TIMEOUT", "3"),
        ("MAX_CONNECTIONS", "50"),
        ("SHUTDOWN_GRACE", "5"),
    ])
    .unwrap();
    assert_eq!(
        set.server.limits(),
        Limits {
            header_timeout: Duration::from_secs(3),
            max_connections: 50,
            shutdown_grace: Duration::from_secs(5),
        }
    );
    assert!(
        callflow::config::Settings::from_vars(&[("HEADER_TIMEOUT", "0")])
            .unwrap_err()
            .to_string()
            .contains("HEADER_TIMEOUT")
    );
}

#[tokio::test]
async fn a_connection_that_never_finishes_its_header_is_closed() {
    let (address, stop, _) = serve_with(app_at("flows", OPEN), quick(100)).await;
    let mut silent = TcpStream::connect(address).await.unwrap();
    let mut half = TcpStream::connect(address).await.unwrap();
    half.write_all(b"POST /voice HTTP/1.1\r\nHost: loc")
        .await
        .unwrap();
    let started = Instant::now();
    for stream in [&mut silent, &mut half] {
        closed_after(stream, Duration::from_secs(5))
            .await
            .expect("the server closes the connection");
        let closed = started.elapsed();
        assert!(closed >= Duration::from_millis(900), "{closed:?}");
    }
    stop.send(()).unwrap();
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let (address, stop, _) = serve_with(app_at("flows", OPEN), quick(100)).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    assert!(read_some(&mut stream).await.starts_with("HTTP/1.1 200"));
    // Kept alive, it can carry another request at once...
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    assert!(read_some(&mut stream).await.starts_with("HTTP/1.1 200"));
    // ...but not sit there for ever.
    let closed = closed_after(&mut stream, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "the idle connection stays open");
    stop.send(()).unwrap();
}

#[tokio::test]
async fn the_server_recovers_from_a_flood_of_idle_connections_by_itself() {
    let (address, stop, _) = serve_with(app_at("flows", OPEN), quick(4)).await;
    // Far more idle connections than the server will hold, kept open by
    // the client for the whole test.
    let mut flood = Vec::new();
    for _ in 0..12 {
        flood.push(TcpStream::connect(address).await.unwrap());
    }
    let started = Instant::now();
    let answer = timeout(Duration::from_secs(8), webhook(address))
        .await
        .expect("the webhook is answered while the flood still holds on");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(8));
    // The server let go of the flood's connections itself.
    for stream in &mut flood {
        assert!(closed_after(stream, Duration::from_secs(5)).await.is_some());
    }
    stop.send(()).unwrap();
}

#[tokio::test]
async fn a_request_in_flight_is_answered_while_the_connections_are_all_taken() {
    let (address, stop, _) = serve_with(app_at("flows", OPEN), quick(2)).await;
    // A webhook whose body is on its way takes one connection...
    let mut in_flight = TcpStream::connect(address).await.unwrap();
    in_flight
        .write_all(webhook_head().as_bytes())
        .await
        .unwrap();
    in_flight
        .write_all(&WEBHOOK_BODY.as_bytes()[..10])
        .await
        .unwrap();
    // ...and more clients than the cap connect behind it.
    let mut others = Vec::new();
    for _ in 0..6 {
        others.push(TcpStream::connect(address).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    in_flight
        .write_all(&WEBHOOK_BODY.as_bytes()[10..])
        .await
        .unwrap();
    let answer = timeout(Duration::from_secs(2), read_some(&mut in_flight))
        .await
        .expect("the request in flight is answered");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("Thanks for calling Acme"), "{answer}");
    stop.send(()).unwrap();
}
