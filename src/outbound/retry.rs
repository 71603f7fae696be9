//! Which failures of a background request are worth another try, and how
//! long to wait before it.

use std::time::Duration;

use super::{Failure, Reply};

/// Tries and waits for background requests: at most `tries` in all, the
/// wait doubling from `first_wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub tries: u32,
    pub first_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            tries: 3,
            first_wait: Duration::from_millis(500),
        }
    }
}

impl RetryPolicy {
    /// How long to wait after failed try number `done` (from 1).
    pub fn wait_after(&self, done: u32) -> Duration {
        self.first_wait
            .saturating_mul(2u32.saturating_pow(done.saturating_sub(1)))
    }

    /// Whether an outcome may go better next time: the network failed or
    /// timed out, the server was overloaded (429) or failed (5xx). Any other
    /// answer would be the same again.
    pub fn worth_retrying(outcome: &Result<Reply, Failure>) -> bool {
        match outcome {
            Ok(reply) => reply.status == 429 || (500..600).contains(&reply.status),
            Err(Failure::Network(_) | Failure::Timeout) => true,
            Err(Failure::TooLarge(_) | Failure::NotStubbed) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.wait_after(1), Duration::from_millis(500));
        assert_eq!(policy.wait_after(2), Duration::from_millis(1000));
    }

    #[test]
    fn only_passing_failures_are_retried() {
        let reply = |status| {
            Ok(Reply {
                status,
                body: Vec::new(),
            })
        };
        assert!(RetryPolicy::worth_retrying(&reply(503)));
        assert!(RetryPolicy::worth_retrying(&reply(429)));
        assert!(!RetryPolicy::worth_retrying(&reply(404)));
        assert!(!RetryPolicy::worth_retrying(&reply(200)));
        assert!(RetryPolicy::worth_retrying(&Err(Failure::Timeout)));
        assert!(!RetryPolicy::worth_retrying(&Err(Failure::TooLarge(1))));
    }
}
