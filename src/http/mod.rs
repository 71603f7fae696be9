//! The HTTP face of callflow: one router, its layers, and the server loop.
//!
//! - [`voice`]: `POST /voice` and `GET /voice`, Twilio's webhook.
//! - [`callbacks`]: Twilio's later reports: a text's delivery, a finished
//!   voicemail (whose notifications go out then).
//! - [`signature`]: reads a webhook once and checks X-Twilio-Signature.
//! - [`token`]: `GET /voice/token`, access tokens for the browser SDK.
//! - [`flows`]: `GET /flows`, the flows serving and the last reload error.
//! - [`health`]: `GET /healthz` (200 while the process lives) and `GET
//!   /readyz` (200 until shutdown begins), and the drain before shutdown.
//! - [`page`]: the browser test page (`/voice-client.html`) and the SDK.
//! - [`simulate`]: `/simulate/calls`, simulated calls for the page.
//! - [`admin`]: the admin key, which `/flows`, `/simulate…` and the page's
//!   token need, and the `/?key=` link that lets a browser in.
//! - [`error`]: every refusal as a status and a JSON reason.
//! - [`server`]: the accept loop, with its connection limits.
//!
//! Every request, production webhooks included, goes through [`router`]
//! and the same tower layers: a trace span (which the webhook's CallSid
//! joins), a [`REQUEST_TIMEOUT`], and a panic guard. Tests drive the same
//! router in-process or serve it with [`run`] on port 0.

pub mod admin;
pub mod callbacks;
pub mod error;
pub mod flows;
pub mod graph;
pub mod health;
pub mod monitor;
pub mod page;
pub mod server;
pub mod signature;
pub mod simulate;
pub mod token;
pub mod voice;

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use axum::middleware::from_fn_with_state;

use crate::engine::EngineSettings;
use crate::flow::FlowSet;
use crate::metrics::Metrics;
use crate::reload::FlowStore;
use crate::token::{TokenService, TokenSettings};
pub use error::HttpError;
pub use server::{Limits, run};
use signature::WebhookAuth;
pub use voice::Fault;

/// How long a request may take, body included. Twilio gives up on a
/// webhook after 15 seconds; a client slower than this is not Twilio and
/// should not hold a connection.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Where "now" comes from: the system clock, or a fixed instant for
/// simulated calls and tests (opening hours, `now` in templates).
#[derive(Debug, Clone, Copy, Default)]
pub enum Clock {
    #[default]
    System,
    Fixed(Timestamp),
}

impl Clock {
    pub fn now(self) -> Timestamp {
        match self {
            Clock::System => Timestamp::now(),
            Clock::Fixed(at) => at,
        }
    }
}

/// What every handler shares. One `Arc`, so the clone each request takes
/// is a single reference count, not one per part.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
#[derive(Clone)]
pub struct Shared {
    /// The flows serving, the versions kept for calls in progress, and
    /// the last reload's outcome.
    pub flows: Arc<FlowStore>,
    pub engine: Arc<EngineSettings>,
    pub clock: Clock,
    pub tokens: Arc<TokenService>,
    /// The line's metrics, which `/metrics` serves.
    pub metrics: Metrics,
    /// `METRICS_PUBLIC`: `/metrics` without the admin key.
    pub metrics_public: bool,
    /// `LOG_INPUTS`: call events show what callers typed and said.
    pub log_inputs: bool,
    /// Checks X-Twilio-Signature on `/voice`.
    pub webhook_auth: Arc<WebhookAuth>,
    /// Where the browser page's files are, and whether it may simulate calls.
    pub page: Arc<page::PageSettings>,
    /// The key to `/flows`, the simulator and the page's token.
    pub admin: Arc<admin::AdminGate>,
    /// Whether `/readyz` says yes; shutdown turns it off first.
    pub readiness: Arc<health::Readiness>,
    /// Set by tests only: see [`Fault`].
    fault: Option<Fault>,
}

impl AppState {
    pub fn new(flows: FlowSet, engine: EngineSettings) -> Self {
        AppState::with_store(Arc::new(FlowStore::fixed(flows)), engine)
    }

    /// Serves the flows of `store`, which may reload them.
    pub fn with_store(store: Arc<FlowStore>, engine: EngineSettings) -> Self {
        AppState(Arc::new(Shared {
            metrics: Metrics::new(Some(store.clone())),
            metrics_public: false,
            log_inputs: false,
            flows: store,
            engine: Arc::new(engine),
            clock: Clock::System,
            tokens: Arc::new(TokenService::new(TokenSettings::unconfigured())),
            webhook_auth: Arc::new(WebhookAuth::unchecked()),
            page: Arc::new(page::PageSettings::default()),
            // A key no one knows until the server logs it or a caller sets one.
            admin: Arc::new(admin::AdminGate::new(None, None)),
            readiness: Arc::new(health::Readiness::default()),
            fault: None,
        }))
    }

    /// The parts, to change before serving; copied if already shared.
    pub(crate) fn parts_mut(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.0)
    }

    pub fn with_webhook_auth(mut self, auth: WebhookAuth) -> Self {
        self.parts_mut().webhook_auth = Arc::new(auth);
        self
    }

    pub fn with_tokens(mut self, tokens: TokenService) -> Self {
        self.parts_mut().tokens = Arc::new(tokens);
        self
    }

    pub fn with_page(mut self, page: page::PageSettings) -> Self {
        self.parts_mut().page = Arc::new(page);
        self
    }

    pub fn with_admin(mut self, admin: admin::AdminGate) -> Self {
        self.parts_mut().admin = Arc::new(admin);
        self
    }

    /// `METRICS_PUBLIC` and `LOG_INPUTS`.
    pub fn with_monitoring(mut self, monitoring: &crate::metrics::Monitoring) -> Self {
        let parts = self.parts_mut();
        parts.metrics_public = monitoring.metrics_public;
        parts.log_inputs = monitoring.log_inputs;
        self
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.parts_mut().clock = clock;
        self
    }

    /// Answers turns with `engine` instead.
    pub fn with_engine(mut self, engine: EngineSettings) -> Self {
        self.parts_mut().engine = Arc::new(engine);
        self
    }

    /// Puts `fault` in the way of every turn, to test the guards around
    /// turns; the server never sets one.
    #[doc(hidden)]
    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.parts_mut().fault = Some(fault);
        self
    }
}

/// Every route, with the layers every request goes through.
pub fn router(state: AppState) -> Router {
    let tokens = token::router(state.tokens.clone(), state.admin.clone());
    let page = page::router(&state.page, state.admin.clone());
    let simulations = simulate::router(state.clone());
    let metrics = monitor::router(
        state.metrics.clone(),
        state.admin.clone(),
        state.metrics_public,
    );
    let timing = from_fn_with_state(state.metrics.clone(), monitor::time_requests);
    Router::new()
        .merge(flows::router(state.admin.clone()))
        .merge(graph::router(state.admin.clone()))
        .merge(health::router())
        .with_state(state.clone())
        .merge(voice::router(state.clone()))
        .merge(callbacks::router(state.clone()))
        .merge(monitor::status_router(state))
        .merge(tokens)
        .merge(simulations)
        .merge(page)
        .merge(metrics)
        .layer(
            ServiceBuilder::new()
                // Failures are logged where they happen, with their cause
                // (HttpError::Internal, the turn's guards), not again here.
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_failure(()),
                )
                .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                    HttpError::Timeout
                }))
                .layer(tower::timeout::TimeoutLayer::new(REQUEST_TIMEOUT))
                .layer(CatchPanicLayer::custom(internal_error)),
        )
        .layer(timing)
}

/// The span every log line of a request is written in. A webhook's
/// CallSid joins it once the body is read ([`signature::check`]).
fn request_span(request: &Request) -> tracing::Span {
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = request.uri().path(),
        call_sid = tracing::field::Empty,
    )
}

/// A panic outside `/voice` (which apologises in TwiML) is the server's
/// own failure: logged, answered 500.
fn internal_error(panic: Box<dyn Any + Send + 'static>) -> Response {
    let cause = panic_cause(panic.as_ref());
    HttpError::Internal(format!("a handler panicked: {cause}")).into_response()
}

/// The message a panic was raised with, for the log.
fn panic_cause(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("")
}
