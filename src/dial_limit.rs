//! How many dials browser calls may make: a limit per Voice SDK identity, and one for all
//! browser identities together.
//!
//! A browser call (`From: client:IDENTITY`, placed with the Voice SDK) dials what its `To` says,
//! within the flow's `allow` list. Whoever holds a token can place such calls in a loop, and
//! every dial is billed to the account, so each dial a browser call places counts against its
//! identity's limit (`DIAL_RATE_LIMIT`, 10 a minute by default) and against the limit of all
//! browser calls together (`DIAL_RATE_LIMIT_TOTAL`, 60 a minute). Past either, the dial step
//! takes the flow's `refused` path, as for a target outside `allow`, and the log line names the
//! limit and the CallSid.
//!
//! What counts: a `dial` step that calls a number, a browser client or a SIP address, in a call
//! from `client:…`. Joining a conference or a queue places no call and is not counted; neither
//! are calls from phones, whose callers pay for the call that carries their input.
//!
//! The counts are kept in memory, per process: each replica behind a load balancer counts on
//! its own, so N replicas allow up to N times the limits. Memory is bounded by the limiter's cap
//! on tracked identities.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Instant;

use crate::rate_limit::{RateLimit, RateLimiter};
use crate::setting::SettingProblem;
use crate::signature::truncate_for_log;

/// The default `DIAL_RATE_LIMIT`: dials per minute for one browser identity. Enough for a
/// person retrying a busy line, far from what a script would place.
pub const DEFAULT_PER_IDENTITY: u32 = 10;
/// The default `DIAL_RATE_LIMIT_TOTAL`: dials per minute for all browser identities together.
pub const DEFAULT_TOTAL: u32 = 60;
/// The longest part of an identity used as its key. Twilio's identities are at most 121
/// characters; a longer `From` (possible only on an unsigned webhook) is cut, not stored whole.
const MAX_KEY_BYTES: usize = 128;

/// A limit in dials per minute, or none (`off`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DialRate(Option<RateLimit>);

impl DialRate {
    /// No limit.
    pub const OFF: DialRate = DialRate(None);

    /// At most `dials` a minute.
    pub fn per_minute(dials: NonZeroU32) -> DialRate {
        DialRate(Some(RateLimit::per_minute(dials)))
    }

    /// The limit, unless it is off.
    pub fn limit(self) -> Option<RateLimit> {
        self.0
    }
}

/// As the setting is written: the number of dials a minute, or `off`.
impl fmt::Display for DialRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(limit) => write!(f, "{}", limit.requests_per_minute()),
            None => f.write_str("off"),
        }
    }
}

/// `DIAL_RATE_LIMIT` and `DIAL_RATE_LIMIT_TOTAL`: a whole number of dials per minute, 1 or
/// more, or `off`.
pub fn dial_rate(name: &'static str, value: &str) -> Result<DialRate, SettingProblem> {
    if value.eq_ignore_ascii_case("off") {
        return Ok(DialRate::OFF);
    }
    value
        .parse::<u32>()
        .ok()
        .and_then(NonZeroU32::new)
        .map(DialRate::per_minute)
        .ok_or_else(|| SettingProblem::DialRate {
            name,
            shown: truncate_for_log(value, 40),
        })
}

/// The two limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DialLimits {
    /// Dials per minute for one browser identity (`DIAL_RATE_LIMIT`).
    pub per_identity: DialRate,
    /// Dials per minute for all browser identities together (`DIAL_RATE_LIMIT_TOTAL`).
    pub total: DialRate,
}

impl Default for DialLimits {
    fn default() -> Self {
        let rate = |n| DialRate::per_minute(NonZeroU32::new(n).expect("the defaults are above 0"));
        DialLimits {
            per_identity: rate(DEFAULT_PER_IDENTITY),
            total: rate(DEFAULT_TOTAL),
        }
    }
}

/// Which limit a dial ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Limited {
    /// This identity's calls dialled too often.
    #[error(
        "this browser identity has reached its limit of {per_minute} dials a minute (DIAL_RATE_LIMIT); the next is allowed in {retry_after} s"
    )]
    Identity { per_minute: u32, retry_after: u64 },
    /// Browser calls together dialled too often.
    #[error(
        "browser calls together have reached their limit of {per_minute} dials a minute (DIAL_RATE_LIMIT_TOTAL); the next is allowed in {retry_after} s"
    )]
    Total { per_minute: u32, retry_after: u64 },
}

impl Limited {
    /// The setting behind the limit, for the log.
    pub fn setting(self) -> &'static str {
        match self {
            Limited::Identity { .. } => crate::setting::names::DIAL_RATE_LIMIT,
            Limited::Total { .. } => crate::setting::names::DIAL_RATE_LIMIT_TOTAL,
        }
    }
}

/// Counts the dials of browser calls. Clones share the counts: one server, one count.
#[derive(Debug, Clone)]
pub struct DialLimiter(Arc<Counts>);

#[derive(Debug)]
struct Counts {
    limits: DialLimits,
    per_identity: Option<RateLimiter<String>>,
    total: Option<RateLimiter<()>>,
}

impl DialLimiter {
    /// A limiter that has counted nothing yet.
    pub fn new(limits: DialLimits) -> DialLimiter {
        DialLimiter(Arc::new(Counts {
            limits,
            per_identity: limits.per_identity.limit().map(RateLimiter::new),
            total: limits.total.limit().map(RateLimiter::new),
        }))
    }

    /// The limits in force.
    pub fn limits(&self) -> DialLimits {
        self.0.limits
    }

    /// A limiter with the same limits and no counts, for a call played on its own (a flow
    /// test).
    pub fn fresh(&self) -> DialLimiter {
        DialLimiter::new(self.limits())
    }

    /// Counts one dial by a call from `client:IDENTITY` at `now`, or says which limit it ran
    /// into. The identity's limit is checked first, so an identity over its own limit does not
    /// use up everyone's.
    pub fn count(&self, identity: &str, now: Instant) -> Result<(), Limited> {
        if let Some(limiter) = &self.0.per_identity {
            let mut end = identity.len().min(MAX_KEY_BYTES);
            while !identity.is_char_boundary(end) {
                end -= 1;
            }
            let key = identity[..end].to_owned();
            limiter.check(key, now).map_err(|retry| Limited::Identity {
                per_minute: limiter.limit().requests_per_minute(),
                retry_after: retry.0,
            })?;
        }
        if let Some(limiter) = &self.0.total {
            limiter.check((), now).map_err(|retry| Limited::Total {
                per_minute: limiter.limit().requests_per_minute(),
                retry_after: retry.0,
            })?;
        }
        Ok(())
    }
}

impl Default for DialLimiter {
    fn default() -> Self {
        DialLimiter::new(DialLimits::default())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn limiter(per_identity: u32, total: u32) -> DialLimiter {
        let rate = |n| DialRate::per_minute(NonZeroU32::new(n).unwrap());
        DialLimiter::new(DialLimits {
            per_identity: rate(per_identity),
            total: rate(total),
        })
    }

    #[test]
    fn each_identity_has_its_own_budget_within_the_total() {
        let dials = limiter(2, 3);
        let t0 = Instant::now();
        assert_eq!(dials.count("alice", t0), Ok(()));
        assert_eq!(dials.count("alice", t0), Ok(()));
        assert!(matches!(
            dials.count("alice", t0),
            Err(Limited::Identity { per_minute: 2, .. })
        ));
        // Alice's refused dial did not use up the total.
        assert_eq!(dials.count("bob", t0), Ok(()));
        assert!(matches!(
            dials.count("carol", t0),
            Err(Limited::Total { per_minute: 3, .. })
        ));
        // A minute later the budgets have refilled.
        assert_eq!(dials.count("alice", t0 + Duration::from_secs(60)), Ok(()));
    }

    #[test]
    fn off_is_no_limit_and_clones_share_counts() {
        let dials = DialLimiter::new(DialLimits {
            per_identity: DialRate::OFF,
            total: DialRate::OFF,
        });
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert_eq!(dials.count("alice", t0), Ok(()));
        }
        let shared = limiter(1, 10);
        let clone = shared.clone();
        assert_eq!(shared.count("alice", t0), Ok(()));
        assert!(clone.count("alice", t0).is_err());
        assert_eq!(shared.fresh().count("alice", t0), Ok(()));
    }

    #[test]
    fn settings_read_numbers_and_off() {
        assert_eq!(dial_rate("DIAL_RATE_LIMIT", "off"), Ok(DialRate::OFF));
        assert_eq!(
            dial_rate("DIAL_RATE_LIMIT", "5").map(|r| r.to_string()),
            Ok("5".to_owned())
        );
        for bad in ["0", "-1", "ten", "1.5"] {
            let problem = dial_rate("DIAL_RATE_LIMIT", bad).unwrap_err().to_string();
            assert!(problem.contains("DIAL_RATE_LIMIT"), "{problem}");
            assert!(problem.contains("off"), "{problem}");
        }
    }
}
