//! The HTTP face of callflow: the router and the server loop.
//!
//! - [`app`]: what the server runs, [`App`]: webhooks straight to
//!   [`voice`], everything else through [`router`].
//! - [`voice`]: `POST /voice` and `GET /voice`, Twilio's webhook.
//! - [`signature`]: checks X-Twilio-Signature on every webhook.
//! - [`token`]: `GET /voice/token`, access tokens for the browser SDK.
//! - [`flows`]: `GET /flows`, the flows serving and the last reload error.
//! - `GET /healthz`: 200 while the server runs, for load balancers.
//! - [`page`]: the browser test page (`/voice-client.html`) and the SDK.
//! - [`simulate`]: `/simulate/calls`, simulated calls for the page.
//!
//! Every request has ten seconds to arrive and be answered ([`deadline`]).
//!
//! [`run`] takes a bound listener, the [`App`] and a shutdown future, so
//! tests can serve on port 0 and stop the server when they are done.

pub mod app;
pub mod deadline;
pub mod flows;
pub mod form;
pub mod page;
pub mod server;
pub mod signature;
pub mod simulate;
pub mod token;
pub mod voice;

use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::Router;
use axum::routing::get;
use jiff::Timestamp;

use crate::engine::EngineSettings;
use crate::flow::FlowSet;
use crate::reload::FlowStore;
use crate::token::TokenService;
pub use app::App;
pub use server::run;
use signature::WebhookAuth;

/// The flow set now serving. A webhook takes one atomic load of it; a
/// reload swaps in a new set without ever blocking a request.
pub type SharedFlows = Arc<ArcSwap<FlowSet>>;

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
    pub flows: SharedFlows,
    /// Owns `flows`: pinned versions for calls in progress, reload status.
    pub flow_store: Arc<FlowStore>,
    pub engine: Arc<EngineSettings>,
    pub clock: Clock,
    pub tokens: Arc<TokenService>,
    /// Checks X-Twilio-Signature on `/voice`.
    pub webhook_auth: Arc<WebhookAuth>,
    /// Where the browser page's files are, and who may simulate calls.
    pub page: Arc<page::PageSettings>,
}

impl AppState {
    pub fn new(flows: FlowSet, engine: EngineSettings) -> Self {
        AppState::with_store(Arc::new(FlowStore::fixed(flows)), engine)
    }

    /// Serves the flows of `store`, which may reload them.
    pub fn with_store(store: Arc<FlowStore>, engine: EngineSettings) -> Self {
        AppState(Arc::new(Shared {
            flows: store.flows().clone(),
            flow_store: store,
            engine: Arc::new(engine),
            clock: Clock::System,
            tokens: Arc::new(unconfigured_tokens()),
            webhook_auth: Arc::new(
                WebhookAuth::from_lookup(|_| None)
                    .expect("no settings cannot be malformed settings"),
            ),
            page: Arc::new(page::PageSettings::default()),
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

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.parts_mut().clock = clock;
        self
    }
}

pub fn router(state: AppState) -> Router {
    let tokens = token::router(state.tokens.clone());
    let page = page::router(&state.page);
    let simulations = simulate::router(state.clone());
    Router::new()
        .merge(voice::router())
        .merge(flows::router())
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
        .merge(tokens)
        .merge(simulations)
        .merge(page)
        .layer(deadline::DeadlineLayer)
}

/// A token service with no Twilio credentials: `/voice/token` answers 503
/// and names what to set.
fn unconfigured_tokens() -> TokenService {
    TokenService::from_lookup(|_| None).expect("no settings cannot be malformed settings")
}
