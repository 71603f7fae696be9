//! Requests callflow sends to other servers: a flow's `request` steps now,
//! and whatever else must reach the business later (text messages,
//! voicemail notifications).
//!
//! Everything goes through one [`Outbound`]: one pooled HTTP client for the
//! whole process, a bounded queue for requests sent in the background, and,
//! in flow tests and `callflow call --stub`, stubs that answer in place of
//! the network. A request is prepared first ([`Prepared`]: its URL, headers
//! and body, and what of it may be shown), so the step that builds it never
//! sees the client, and anything that can prepare a request can send it.
//!
//! # Layout
//!
//! - `client`: the shared client, as every request wants it.
//! - `send`: one exchange, with its time limit and body cap.
//! - [`queue`]: the background sender, its bounded queue and retries.
//! - `retry`: which failures are worth another try, and how long to wait.
//! - [`stub`]: stubbed answers and the record of what was asked.
//! - [`seen`]: what a transcript shows of each request.
//! - [`trace`]: W3C `traceparent` for outgoing requests.

mod client;
pub mod queue;
mod retry;
pub mod seen;
mod send;
pub mod stub;
pub mod trace;

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method};

pub use queue::{Job, JobKind, JobPlace};
pub use retry::RetryPolicy;
pub use seen::Seen;
pub use send::{Failure, Reply};
use stub::Stubs;

/// How big a response body may be by default (`REQUEST_MAX_BODY_BYTES`).
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;
/// How many background requests may wait at once before new ones are
/// dropped (with a warning) rather than hold up a call.
pub const DEFAULT_QUEUE_CAPACITY: usize = 1024;
/// How many background requests are in flight at once.
const BACKGROUND_CONCURRENCY: usize = 32;

/// A request ready to go: what it sends, and what of it may be shown.
#[derive(Clone)]
pub struct Prepared {
    pub method: Method,
    /// The URL as sent, secrets and all.
    pub url: String,
    /// The URL with every secret masked: the only form logs and
    /// transcripts ever see.
    pub shown_url: String,
    /// Values holding secrets are marked sensitive.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<Body>,
    /// How long the exchange may take, answer body included.
    pub timeout: Duration,
}

/// A request's body.
#[derive(Clone)]
pub struct Body {
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
    /// The body with every secret masked.
    pub shown: String,
}

/// `Debug` shows only what may be shown: never a header, never a secret.
impl fmt::Debug for Prepared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prepared")
            .field("method", &self.method)
            .field("url", &self.shown_url)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Limits of outgoing requests.
#[derive(Debug, Clone, Copy)]
pub struct OutboundSettings {
    /// The largest answer body read; past it the request failed.
    pub max_body_bytes: usize,
    /// How many background requests may wait.
    pub queue_capacity: usize,
    pub retry: RetryPolicy,
}

impl Default for OutboundSettings {
    fn default() -> Self {
        OutboundSettings {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            retry: RetryPolicy::default(),
        }
    }
}

/// The way out to other servers: the network, or stubs. Clones share the
/// client, the queue and the stubs' record.
#[derive(Clone)]
pub struct Outbound(Arc<Inner>);

struct Inner {
    settings: OutboundSettings,
    transport: Transport,
    /// Started on first use, inside the runtime that first needs it.
    queue: OnceLock<queue::Queue>,
}

enum Transport {
    /// Built on first use: most lines never make a request.
    Network(OnceLock<reqwest::Client>),
    Stubbed(Stubs),
}

impl fmt::Debug for Outbound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let transport = match self.0.transport {
            Transport::Network(_) => "network",
            Transport::Stubbed(_) => "stubbed",
        };
        f.debug_struct("Outbound")
            .field("transport", &transport)
            .field("settings", &self.0.settings)
            .finish()
    }
}

impl Default for Outbound {
    fn default() -> Self {
        Outbound::network(OutboundSettings::default())
    }
}

impl Outbound {
    /// Requests go over the network.
    pub fn network(settings: OutboundSettings) -> Self {
        Outbound::with_transport(settings, Transport::Network(OnceLock::new()))
    }

    /// Requests are answered by `stubs`, which record what was asked.
    pub fn stubbed(stubs: Stubs) -> Self {
        Outbound::with_transport(OutboundSettings::default(), Transport::Stubbed(stubs))
    }

    fn with_transport(settings: OutboundSettings, transport: Transport) -> Self {
        Outbound(Arc::new(Inner {
            settings,
            transport,
            queue: OnceLock::new(),
        }))
    }

    pub fn settings(&self) -> &OutboundSettings {
        &self.0.settings
    }

    /// The stubs, when requests are stubbed.
    pub fn stubs(&self) -> Option<&Stubs> {
        match &self.0.transport {
            Transport::Stubbed(stubs) => Some(stubs),
            Transport::Network(_) => None,
        }
    }

    /// Sends `request` and reads the answer, within its timeout.
    pub async fn send(&self, request: &Prepared) -> Result<Reply, Failure> {
        match &self.0.transport {
            Transport::Network(client) => {
                let client = client.get_or_init(client::build);
                send::exchange(client, request, self.0.settings.max_body_bytes).await
            }
            Transport::Stubbed(stubs) => stubs.answer(request),
        }
    }

    /// Sends `job` in the background, with retries, and returns at once.
    /// When the queue is full the job is dropped with a warning: a busy
    /// far server must never hold up a call. Stubbed, the job is answered
    /// at once, one try, and the answer returned, so a test sees it.
    pub fn send_later(&self, job: Job) -> Option<Result<Reply, Failure>> {
        match &self.0.transport {
            Transport::Stubbed(stubs) => Some(stubs.answer(&job.request)),
            Transport::Network(client) => {
                let queue = self.0.queue.get_or_init(|| {
                    let client = client.get_or_init(client::build).clone();
                    queue::Queue::start(client, self.0.settings, BACKGROUND_CONCURRENCY)
                });
                queue.push(job);
                None
            }
        }
    }
}
