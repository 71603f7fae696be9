//! The accept loop: serves the router over HTTP/1.1 with the connection
//! controls a server facing the internet needs.
//!
//! `axum::serve` would do the serving, but it cannot bound what a client
//! that sends nothing can hold. This loop is hyper-util's documented
//! pattern plus those bounds ([`Limits`]): a client must send a request's
//! header within [`Limits::header_timeout`] of connecting or of the last
//! answer (so a silent or idle connection closes on its own), no more than
//! [`Limits::max_connections`] are open at once (the rest wait in the
//! kernel's queue rather than fail), and shutdown ends within
//! [`Limits::shutdown_grace`] whatever clients do. Every request still goes
//! through the one router and its layers.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// The bounds on what clients may hold. The defaults suit a server that
/// Twilio (and a load balancer) reach over the internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long a client has to send a complete request header, counted
    /// from connecting or from the end of the previous answer on a kept-alive
    /// connection. Twilio sends a webhook at once; a client that keeps
    /// quiet longer is closed, which is also how idle keep-alive
    /// connections end.
    pub header_timeout: Duration,
    /// Connections open at once. Past it, new connections wait to be
    /// accepted until one closes; keep it below the open-file limit
    /// (`ulimit -n`) so the process never runs out of descriptors.
    pub max_connections: usize,
    /// How long shutdown waits for answers in flight before it closes
    /// whatever is still open.
    pub shutdown_grace: Duration,
}

/// The settings' defaults (`HEADER_TIMEOUT`, `MAX_CONNECTIONS`, `SHUTDOWN_GRACE`).
impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            max_connections: 1000,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish, for at most [`Limits::shutdown_grace`].
pub async fn run(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut shutdown = pin!(shutdown);
    loop {
        // Forget the connections that have closed since the last accept.
        while connections.try_join_next().is_some() {}
        let slot = tokio::select! {
            biased;
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    wait_after_accept_error(&error).await;
                    continue;
                }
            },
        };
        // Handlers that check who is asking (`ConnectInfo`) see the peer.
        let service = router
            .clone()
            .map_request(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        connections.spawn(serve(connection, slot));
    }
    // No new connections; idle ones close now, busy ones after their answer.
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "shutdown: closing the connections still open after {} s",
            limits.shutdown_grace.as_secs()
        );
    }
    connections.abort_all();
    Ok(())
}

/// Runs one connection to its end, holding its slot until then.
async fn serve<C, E>(connection: C, _slot: OwnedSemaphorePermit)
where
    C: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    if let Err(error) = connection.await {
        // A client that timed out or broke off: its business, not the
        // operator's.
        tracing::debug!("a connection ended with an error: {error}");
    }
}

/// After a failed accept: a client that gave up is nothing to wait for;
/// anything else (out of file descriptors, most likely) gets a moment to
/// pass, while the connections already open keep being answered.
async fn wait_after_accept_error(error: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!("cannot accept a connection: {error}; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
