//! The one HTTP client every outgoing request shares.
//!
//! One client means one connection pool: a flow that looks up an order on
//! every call reuses warm connections (keep-alive, HTTP/2 where the server
//! offers it over TLS) instead of paying a handshake per call. Redirects are
//! not followed, so a request only ever reaches the host written in the
//! flow.

use std::time::Duration;

/// `callflow/<version>`, so the far server's operators know who calls.
pub const USER_AGENT: &str = concat!("callflow/", env!("CARGO_PKG_VERSION"));

/// The client, built once per [`super::Outbound`].
pub(super) fn build() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(64)
        .tcp_keepalive(Duration::from_secs(60))
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        .build()
        // Only a TLS back end that cannot start fails here, which no
        // configuration of ours can cause or fix.
        .expect("the HTTP client starts")
}
