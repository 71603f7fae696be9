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
