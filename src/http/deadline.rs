//! A time limit on every request that costs nothing when the request is
//! quick.
//!
//! A request whose body never arrives must not hold a connection forever,
//! so every request has [`REQUEST_TIMEOUT`] to finish and is answered 408
//! after that. The obvious way (a timer per request, as tower-http's
//! `TimeoutLayer` does) puts a timer in tokio's wheel for every webhook, and
//! on a loaded server that is measurably expensive: registering the timer
//! often has to wake the thread parked in `epoll_wait`, which is a futex and
//! an eventfd write per request. It cost about a seventh of `/voice`'s
//! throughput.
//!
//! A webhook from Twilio arrives whole, with its headers, so its handler
//! finishes on its first poll: hyper already holds the body. This layer
//! therefore arms the timer only when a request is still pending after two
//! polls. After the first it wakes its own task, so a request that stalls
//! right away is still polled a second time and still gets its timer: no
//! request escapes the limit. The limit counts from that second poll, a
//! moment after the first, so a quick request does not even read the clock.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::time::Sleep;

/// How long a request may take, body included. Twilio gives up on a
/// webhook after 15 seconds; a client slower than this is not Twilio and
/// should not hold a connection.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Wraps a service so each request gets [`REQUEST_TIMEOUT`], and a 408
/// with a JSON reason after it.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeadlineLayer;

impl<S> tower::Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Deadline { inner }
    }
}

#[derive(Debug, Clone)]
pub struct Deadline<S> {
    inner: S,
}

impl<S> tower::Service<Request> for Deadline<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = DeadlineFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        DeadlineFuture::new(self.inner.call(request))
    }
}

pin_project_lite::pin_project! {
    pub struct DeadlineFuture<F> {
        #[pin]
        inner: F,
        // Polled once already, still waiting.
        polled: bool,
        // Armed on the second poll that finds the request still waiting.
        timer: Option<Pin<Box<Sleep>>>,
    }
}

impl<F> DeadlineFuture<F> {
    /// Gives `inner`, a request's answer, [`REQUEST_TIMEOUT`] to finish.
    pub fn new(inner: F) -> Self {
        DeadlineFuture {
            inner,
            polled: false,
            timer: None,
        }
    }
}

impl<F, E> Future for DeadlineFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.inner.poll(cx) {
            return Poll::Ready(output);
        }
        if !*this.polled {
            // The body is not all here yet. Come back once more before
            // paying for a timer: the part hyper was asked for may be in
            // its buffer already.
            *this.polled = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(REQUEST_TIMEOUT)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Ok(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }
}

fn timed_out() -> Response {
    (
        StatusCode::REQUEST_TIMEOUT,
        axum::Json(serde_json::json!({
            "error": "the request did not arrive in time (Twilio sends a webhook in one piece)"
        })),
    )
        .into_response()
}
