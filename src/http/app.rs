//! What the server runs on each connection: Twilio's webhook goes straight
//! to its handler, every other request through axum's router.
//!
//! `/voice` is the one path that carries load: every turn of every call is a
//! webhook, and each asks for an answer within Twilio's 15 seconds. Through
//! the router, a webhook pays for the path lookup, a map of request
//! extensions (the matched path, the peer's address), the method router and
//! two boxed handler futures. Callgrind put that at a sixth of a webhook's
//! instructions (30,600 with the router, 25,700 without), close to what
//! the flow engine itself costs. [`App`] looks at
//! the method and path, calls [`voice::answer`] for a webhook and hands
//! anything else to the router, so the page, tokens and simulated calls
//! keep axum's routing, extractors and error answers.
//!
//! Both ways to `/voice` share everything after the dispatch: the router's
//! `/voice` route calls the same [`voice::answer`], which checks the
//! signature, and a webhook here gets the same
//! [`REQUEST_TIMEOUT`](super::deadline::REQUEST_TIMEOUT) as
//! the router's requests.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::Method;
use axum::response::Response;

use super::deadline::DeadlineFuture;
use super::{AppState, router, voice};

/// The answer to one request, whichever way it went.
type Answering = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

/// The whole server as one service: see the module documentation.
#[derive(Clone)]
pub struct App {
    state: AppState,
    router: Router,
    /// The connection's remote address, for handlers that show or check it
    /// (`ConnectInfo`); set per connection by the server loop.
    peer: Option<SocketAddr>,
}

impl App {
    pub fn new(state: AppState) -> App {
        App {
            router: router(state.clone()),
            state,
            peer: None,
        }
    }

    /// This app as seen by a connection from `peer`.
    pub fn with_peer(mut self, peer: SocketAddr) -> App {
        self.peer = Some(peer);
        self
    }

    /// Answers one request: a webhook directly, anything else through the
    /// router.
    pub fn answer(&self, mut request: Request) -> Answering {
        if is_webhook(&request) {
            let state = self.state.clone();
            let answer = async move { Ok(voice::answer(&state, request).await) };
            return Box::pin(DeadlineFuture::new(answer));
        }
        if let Some(peer) = self.peer {
            request.extensions_mut().insert(ConnectInfo(peer));
        }
        // `Router::call` takes `&mut`; a clone is one reference count, and
        // only requests off the hot path pay it.
        Box::pin(tower::Service::call(&mut self.router.clone(), request))
    }
}

/// True for the requests [`voice::answer`] takes directly. HEAD and other
/// methods go through the router, which answers them as before.
fn is_webhook(request: &Request) -> bool {
    request.uri().path() == "/voice" && matches!(*request.method(), Method::POST | Method::GET)
}

/// For tests and for serving the app some other way (`oneshot`, a tower
/// stack).
impl tower::Service<Request> for App {
    type Response = Response;
    type Error = Infallible;
    type Future = Answering;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Neither path holds back: the router is always ready, and so is a
        // webhook's handler.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Answering {
        self.answer(request)
    }
}

/// What the server loop ([`super::server`]) runs for each request of a
/// connection.
impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for App {
    type Response = Response;
    type Error = Infallible;
    type Future = Answering;

    fn call(&self, request: hyper::Request<hyper::body::Incoming>) -> Answering {
        self.answer(request.map(axum::body::Body::new))
    }
}
