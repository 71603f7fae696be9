//! `GET /healthz` and `GET /readyz`: what a load balancer or Kubernetes
//! asks before sending a replica calls, and the drain that lets them stop
//! asking in time.
//!
//! - `/healthz` answers `ok` while the process lives (a liveness probe: a
//!   replica that fails it is restarted).
//! - `/readyz` answers 200 once the flows are loaded (the server does not
//!   listen before) and 503 with a JSON reason from the moment shutdown
//!   begins (a readiness probe: a replica that fails it gets no new
//!   traffic).
//!
//! A balancer learns that a replica is going only at its next health check,
//! so on SIGTERM the server first *drains* ([`drain_then_stop`]): `/readyz`
//! fails at once, and every other request is still answered, new ones
//! included, for `SHUTDOWN_DRAIN`. Only then does the graceful shutdown
//! (`SHUTDOWN_GRACE`) stop accepting connections. This is what Kubernetes'
//! preStop hook is usually asked to do, built in.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use super::{AppState, HttpError};

/// Whether this replica should be sent new calls. Shared between the
/// router (which answers `/readyz`) and whatever begins the shutdown.
#[derive(Debug, Default)]
pub struct Readiness {
    draining: AtomicBool,
}

impl Readiness {
    /// From now on `/readyz` fails; nothing else changes.
    pub fn begin_drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
}

#[derive(Serialize)]
struct Ready {
    status: &'static str,
}

async fn ready(State(state): State<AppState>) -> Response {
    if state.readiness.is_draining() {
        return HttpError::Draining.into_response();
    }
    let mut response = Json(Ready { status: "ready" }).into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Waits for `signal` (SIGTERM), then fails readiness and keeps serving for
/// `drain` before resolving, which is when the server stops accepting
/// connections. Pass it as [`run`](super::run)'s shutdown future.
pub async fn drain_then_stop(
    signal: impl Future<Output = ()>,
    readiness: Arc<Readiness>,
    drain: Duration,
) {
    signal.await;
    readiness.begin_drain();
    if !drain.is_zero() {
        tracing::info!(
            "draining: /readyz now fails; still answering every request for {} s",
            drain.as_secs_f64()
        );
        tokio::time::sleep(drain).await;
    }
    tracing::info!("shutting down: finishing webhooks in flight");
}

/// Asks the server at `address` for `path` (`/healthz` or `/readyz`) and
/// says whether it answered 200, within `timeout`. `callflow probe` runs it
/// as a container's `HEALTHCHECK`, where images without a shell or curl
/// have nothing else to ask with.
pub fn probe(address: SocketAddr, path: &str, timeout: Duration) -> Result<(), String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&address, timeout)
        .map_err(|error| format!("nothing answers at {address}: {error}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|error| error.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .map_err(|error| format!("{address} did not take the request: {error}"))?;
    let mut head = [0; 64];
    let read = stream
        .read(&mut head)
        .map_err(|error| format!("{address} did not answer: {error}"))?;
    let status_line = String::from_utf8_lossy(&head[..read]);
    let status_line = status_line.lines().next().unwrap_or("");
    if status_line.starts_with("HTTP/1.1 200") {
        Ok(())
    } else {
        Err(format!("{path} answered `{status_line}`"))
    }
}

/// Where a probe on this machine reaches a server listening on `host`:
/// an address that listens everywhere is reached over loopback.
pub fn probe_address(host: &str, port: u16) -> Result<SocketAddr, String> {
    let ip: IpAddr = match host {
        "0.0.0.0" | "" => IpAddr::from([127, 0, 0, 1]),
        "::" | "[::]" => IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        "localhost" => IpAddr::from([127, 0, 0, 1]),
        other => other
            .trim_matches(['[', ']'])
            .parse()
            .map_err(|_| format!("HOST `{other}` is not an IP address to probe"))?,
    };
    Ok(SocketAddr::new(ip, port))
}
