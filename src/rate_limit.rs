//! A per-client limit on requests per minute, with bounded memory.
//!
//! Two parts of callflow count things that cost the account money: token requests (each token
//! can place calls billed to the account, so a script hammering the endpoint is worth slowing
//! down even when authentication is on), counted per client address ([`ClientKey`]), and the
//! dials of browser calls, counted per Voice SDK identity and overall (`crate::dial_limit`).
//! Both use this limiter, keyed by whatever they count against. It is a GCRA (the "leaky bucket
//! as a meter"): each client has one timestamp, a burst of up to the per-minute limit is
//! allowed, and the budget refills evenly over the minute.
//!
//! Memory: a client whose bucket has refilled is indistinguishable from a new client, so its
//! entry is dropped in the periodic sweep. If more than `max_clients` clients are active at once
//! (a flood from many addresses), the newcomers share one overflow bucket instead of growing the
//! table, so memory stays bounded and the flood is still limited.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The whole-minute window the limit is expressed in.
const WINDOW: Duration = Duration::from_secs(60);

/// The default cap on tracked clients: about a megabyte of table at most.
pub const DEFAULT_MAX_CLIENTS: usize = 10_000;

/// Who a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// An IPv4 address, or the /64 network of an IPv6 address.
    ///
    /// One IPv6 customer usually holds a whole /64, so limiting single addresses would let a
    /// single machine pick a fresh address for every request.
    Ip(IpAddr),
    /// The peer address was not available (the server was not started with connect info). All
    /// such requests share one bucket: safe rather than unlimited.
    Unknown,
}

impl ClientKey {
    /// Works out who to count a request against.
    ///
    /// With `trust_forwarded_for`, the right-most valid address in `X-Forwarded-For` is used: it
    /// is the one the proxy in front of us wrote, while entries further left come from the client
    /// and can be forged. Without it, or when the header has no valid address, the TCP peer is
    /// used.
    pub fn for_request(
        peer: Option<SocketAddr>,
        forwarded_for: Option<&str>,
        trust_forwarded_for: bool,
    ) -> Self {
        let forwarded = forwarded_for
            .filter(|_| trust_forwarded_for)
            .and_then(|header| header.rsplit(',').find_map(parse_forwarded_entry));
        match forwarded.or(peer.map(|p| p.ip())) {
            Some(ip) => Self::from_ip(ip),
            None => Self::Unknown,
        }
    }

    /// Normalises an address: IPv4-mapped IPv6 becomes IPv4, other IPv6 is cut to its /64.
    pub fn from_ip(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::Ip(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::Ip(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & (u128::MAX << 64);
                    Self::Ip(IpAddr::V6(Ipv6Addr::from(prefix)))
                }
            },
        }
    }
}

/// One `X-Forwarded-For` entry: a bare address, or `1.2.3.4:port` / `[v6]:port` as some
/// proxies write.
fn parse_forwarded_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// Requests per minute per client (`TOKEN_RATE_LIMIT`, `DIAL_RATE_LIMIT`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    per_minute: NonZeroU32,
}

impl RateLimit {
    /// A limit of `per_minute` requests per client per minute.
    pub fn per_minute(per_minute: NonZeroU32) -> Self {
        Self { per_minute }
    }

    /// The configured number.
    pub fn requests_per_minute(self) -> u32 {
        self.per_minute.get()
    }

    /// Time between two requests at the sustained rate.
    fn interval(self) -> Duration {
        WINDOW / self.per_minute.get()
    }

    /// How far ahead of now a client's schedule may run: a full minute's burst, less one slot.
    fn burst(self) -> Duration {
        self.interval() * (self.per_minute.get() - 1)
    }
}

/// A request was refused; try again after this long (whole seconds, at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

#[derive(Debug)]
struct Table<K> {
    /// Per client: the "theoretical arrival time" of its next request.
    clients: HashMap<K, Instant>,
    /// Shared by clients that arrive when the table is full.
    overflow: Option<Instant>,
    last_sweep: Instant,
}

/// Counts requests per client, `K` saying who a client is (an address by default). Cheap to
/// share behind an `Arc`; one short lock per request.
#[derive(Debug)]
pub struct RateLimiter<K = ClientKey> {
    limit: RateLimit,
    max_clients: usize,
    table: Mutex<Table<K>>,
}

impl<K: Eq + Hash> RateLimiter<K> {
    /// A limiter tracking at most [`DEFAULT_MAX_CLIENTS`] clients.
    pub fn new(limit: RateLimit) -> Self {
        Self::with_max_clients(limit, DEFAULT_MAX_CLIENTS)
    }

    /// A limiter tracking at most `max_clients` clients (at least 1).
    pub fn with_max_clients(limit: RateLimit, max_clients: usize) -> Self {
        Self {
            limit,
            max_clients: max_clients.max(1),
            table: Mutex::new(Table {
                clients: HashMap::new(),
                overflow: None,
                last_sweep: Instant::now(),
            }),
        }
    }

    /// The limit in force.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Counts one request from `client` at `now`, or says how long to wait.
    pub fn check(&self, client: K, now: Instant) -> Result<(), RetryAfter> {
        // A panic elsewhere while holding the lock leaves the table consistent (every update is
        // a single assignment), so a poisoned lock is still usable.
        let mut table = self
            .table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());

        // Sweep once a minute, or once a second while the table is full: often enough to make
        // room, rarely enough that a flood does not turn every request into a full scan.
        let since_sweep = now.saturating_duration_since(table.last_sweep);
        let full = table.clients.len() >= self.max_clients;
        if since_sweep >= WINDOW || (full && since_sweep >= Duration::from_secs(1)) {
            // A schedule at or before now means a full bucket: the entry carries no information.
            table.clients.retain(|_, next| *next > now);
            if table.overflow.is_some_and(|next| next <= now) {
                table.overflow = None;
            }
            table.last_sweep = now;
        }

        let tracked = table.clients.contains_key(&client);
        let slot = if tracked || table.clients.len() < self.max_clients {
            table.clients.entry(client).or_insert(now)
        } else {
            table.overflow.get_or_insert(now)
        };

        let next = (*slot).max(now);
        let allowed_until = now + self.limit.burst();
        if next > allowed_until {
            let wait = next - allowed_until;
            // Round up: "retry after 0 seconds" would invite an immediate, refused retry.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(RetryAfter(secs.max(1)));
        }
        *slot = next + self.limit.interval();
        Ok(())
    }

    /// How many clients are tracked now (for tests and diagnostics).
    pub fn tracked_clients(&self) -> usize {
        self.table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clients
            .len()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn limiter(per_minute: u32) -> RateLimiter {
        RateLimiter::new(RateLimit::per_minute(NonZeroU32::new(per_minute).unwrap()))
    }

    fn ip(last: u8) -> ClientKey {
        ClientKey::Ip(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)))
    }

    #[test]
    fn allows_a_burst_of_the_limit_then_refuses_with_the_wait() {
        let limiter = limiter(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check(ip(1), t0), Ok(()));
        }
        // The budget refills one request every 20 seconds.
        assert_eq!(limiter.check(ip(1), t0), Err(RetryAfter(20)));
        // Another client is not affected.
        assert_eq!(limiter.check(ip(2), t0), Ok(()));
        assert_eq!(
            limiter.check(ip(1), t0 + Duration::from_secs(19)),
            Err(RetryAfter(1))
        );
        assert_eq!(limiter.check(ip(1), t0 + Duration::from_secs(20)), Ok(()));
        assert_eq!(
            limiter.check(ip(1), t0 + Duration::from_secs(20)),
            Err(RetryAfter(20))
        );
    }

    #[test]
    fn idle_clients_are_forgotten() {
        let limiter = limiter(2);
        let t0 = Instant::now();
        for last in 0..50 {
            limiter.check(ip(last), t0).unwrap();
        }
        assert_eq!(limiter.tracked_clients(), 50);
        limiter
            .check(ip(200), t0 + Duration::from_secs(61))
            .unwrap();
        assert_eq!(limiter.tracked_clients(), 1);
    }

    #[test]
    fn memory_stays_bounded_and_the_overflow_is_still_limited() {
        let limiter =
            RateLimiter::with_max_clients(RateLimit::per_minute(NonZeroU32::new(2).unwrap()), 4);
        let t0 = Instant::now();
        for last in 0..4 {
            limiter.check(ip(last), t0).unwrap();
        }
        // Newcomers share one bucket of 2 once the table is full.
        assert_eq!(limiter.check(ip(10), t0), Ok(()));
        assert_eq!(limiter.check(ip(11), t0), Ok(()));
        assert!(limiter.check(ip(12), t0).is_err());
        assert_eq!(limiter.tracked_clients(), 4);
        // Known clients keep their own bucket.
        assert_eq!(limiter.check(ip(0), t0), Ok(()));
    }

    #[test]
    fn forwarded_for_is_used_only_when_trusted_and_right_most_wins() {
        let peer = Some(SocketAddr::from(([10, 0, 0, 1], 5555)));
        let header = Some("203.0.113.9, 198.51.100.7");
        assert_eq!(
            ClientKey::for_request(peer, header, false),
            ClientKey::from_ip([10, 0, 0, 1].into())
        );
        assert_eq!(
            ClientKey::for_request(peer, header, true),
            ClientKey::from_ip([198, 51, 100, 7].into())
        );
        assert_eq!(
            ClientKey::for_request(peer, Some("garbage"), true),
            ClientKey::from_ip([10, 0, 0, 1].into())
        );
        assert_eq!(
            ClientKey::for_request(None, Some("[2001:db8::1]:443"), true),
            ClientKey::from_ip("2001:db8::ffff".parse().unwrap())
        );
        assert_eq!(ClientKey::for_request(None, None, true), ClientKey::Unknown);
    }

    #[test]
    fn ipv6_addresses_in_one_slash_64_share_a_bucket() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientKey::from_ip(a), ClientKey::from_ip(b));
        assert_ne!(ClientKey::from_ip(a), ClientKey::from_ip(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(ClientKey::from_ip(mapped), ip(1));
    }
}
