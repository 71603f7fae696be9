//! The server loop: accepts connections and serves HTTP/1.1 on each with
//! hyper, every request answered by [`App`].
//!
//! `axum::serve` does the same job in a more general way, and a webhook
//! paid for the generality: it sniffs every connection for HTTP/2 and
//! then reads through a rewinding wrapper, clones the whole service for
//! each request, and is itself a second layer of polling around hyper's.
//! Twilio, and the proxies that sit in front of a server like this one,
//! speak HTTP/1.1, so callflow serves that alone.
//!
//! Shutdown works as before: stop accepting, tell every connection to
//! finish the request it is in (an idle keep-alive connection closes at
//! once), and return when the last one has.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::App;

/// Serves `app` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish.
pub async fn run(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Every connection holds a receiver: `send` asks them to finish, and
    // `closed` resolves once the last one has dropped its receiver.
    let (stopping, stop) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            // The client gave up before we took the connection: nothing to do.
            Err(error) if is_connection_error(&error) => continue,
            Err(error) => {
                // Out of file descriptors, most likely: calls in progress
                // keep being answered, and new ones wait a moment.
                tracing::error!("cannot accept a connection: {error}; retrying in a second");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let app = app.clone().with_peer(peer);
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), app);
            let mut connection = pin!(connection);
            tokio::select! {
                biased;
                _ = connection.as_mut() => return,
                _ = stop.changed() => connection.as_mut().graceful_shutdown(),
            }
            let _ = connection.await;
        });
    }
    drop(listener);
    drop(stop);
    let _ = stopping.send(());
    stopping.closed().await;
    Ok(())
}

fn is_connection_error(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    )
}
