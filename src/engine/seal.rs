//! The seal on a call's state: a MAC over the state each callback URL
//! carries, so that whoever can post to `/voice` cannot jump to a step past
//! a PIN check, set a variable, or reset a counter.
//!
//! Twilio's signature already covers the whole URL when `TWILIO_AUTH_TOKEN`
//! is set, but the state must hold without it too (a new line, a test
//! server, a proxy that strips the header), and a seal is cheap: one
//! HMAC-SHA256 over a query of a few hundred bytes.
//!
//! The key is chosen once per process ([`StateKey::choose`]): `STATE_KEY`
//! when set, else one derived from the auth token (replicas that share the
//! token share the key), else a random one, which only this process knows:
//! a call then cannot move to another replica or survive a restart.

use std::fmt;

use aws_lc_rs::{constant_time, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::signature::AuthToken;

/// Bytes of the MAC kept in the URL: 128 bits cannot be guessed, and the
/// URL stays short.
const TAG_BYTES: usize = 16;
/// What the auth token's derived key is for, so the same secret used for
/// another purpose can never produce this key.
const DERIVATION_LABEL: &[u8] = b"callflow call state seal v1";

/// The key that seals call state. `Debug` never shows it.
#[derive(Clone)]
pub struct StateKey {
    key: hmac::Key,
    origin: KeyOrigin,
}

/// Where the key came from, for the start-up log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    /// `STATE_KEY`.
    Configured,
    /// Derived from `TWILIO_AUTH_TOKEN`.
    AuthToken,
    /// Made at start-up; no other process has it.
    Random,
}

/// A `STATE_KEY` shorter than [`StateKey::MIN_SECRET_CHARS`], by its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShortSecret(pub usize);

impl StateKey {
    /// The shortest `STATE_KEY` accepted: shorter secrets can be guessed.
    pub const MIN_SECRET_CHARS: usize = 32;

    /// A key from `STATE_KEY`, which every replica of a line shares.
    pub fn from_secret(secret: &str) -> Result<StateKey, ShortSecret> {
        let secret = secret.trim();
        let chars = secret.chars().count();
        if chars < StateKey::MIN_SECRET_CHARS {
            return Err(ShortSecret(chars));
        }
        Ok(StateKey::new(secret.as_bytes(), KeyOrigin::Configured))
    }

    /// A key derived from the auth token, so replicas that check Twilio's
    /// signature need no second secret.
    pub fn derived_from(token: &AuthToken) -> StateKey {
        let token_key = hmac::Key::new(hmac::HMAC_SHA256, token.secret());
        let derived = hmac::sign(&token_key, DERIVATION_LABEL);
        StateKey::new(derived.as_ref(), KeyOrigin::AuthToken)
    }

    /// A key only this process knows.
    pub fn random() -> StateKey {
        let secret: [u8; 32] = rand::random();
        StateKey::new(&secret, KeyOrigin::Random)
    }

    /// The key a server uses: `STATE_KEY`, else one derived from the auth
    /// token, else a random one.
    pub fn choose(configured: Option<&StateKey>, token: Option<&AuthToken>) -> StateKey {
        match (configured, token) {
            (Some(key), _) => key.clone(),
            (None, Some(token)) => StateKey::derived_from(token),
            (None, None) => StateKey::random(),
        }
    }

    fn new(secret: &[u8], origin: KeyOrigin) -> StateKey {
        StateKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            origin,
        }
    }

    pub fn origin(&self) -> KeyOrigin {
        self.origin
    }

    /// Logged at start-up when calls cannot move between processes.
    pub fn startup_warning(&self) -> Option<String> {
        (self.origin == KeyOrigin::Random).then(|| {
            format!(
                "call state is sealed with a key made at start-up: a restart ends calls in progress with an apology, and replicas behind a load balancer cannot answer each other's calls. Set {} (at least {} random characters, the same on every replica) or {}.",
                crate::setting::names::STATE_KEY,
                StateKey::MIN_SECRET_CHARS,
                crate::setting::names::TWILIO_AUTH_TOKEN,
            )
        })
    }

    /// The seal of a state's canonical query.
    pub fn seal(&self, query: &str) -> String {
        let tag = hmac::sign(&self.key, query.as_bytes());
        URL_SAFE_NO_PAD.encode(&tag.as_ref()[..TAG_BYTES])
    }

    /// Whether `seal` is this key's seal of `query`, compared in constant
    /// time.
    pub fn verify(&self, query: &str, seal: &str) -> bool {
        let Ok(claimed) = URL_SAFE_NO_PAD.decode(seal) else {
            return false;
        };
        let tag = hmac::sign(&self.key, query.as_bytes());
        constant_time::verify_slices_are_equal(&tag.as_ref()[..TAG_BYTES], &claimed).is_ok()
    }
}

impl fmt::Debug for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StateKey({:?}, [redacted])", self.origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_verifies_only_its_own_query_under_its_own_key() {
        let key = StateKey::from_secret(&"k".repeat(32)).unwrap();
        let seal = key.seal("flow=vault&step=pin");
        assert_eq!(seal.len(), 22);
        assert!(key.verify("flow=vault&step=pin", &seal));
        assert!(!key.verify("flow=vault&step=private_menu", &seal));
        assert!(!StateKey::random().verify("flow=vault&step=pin", &seal));
        assert!(!key.verify("flow=vault&step=pin", "not base64!"));
        assert!(!key.verify("flow=vault&step=pin", ""));
    }

    #[test]
    fn replicas_sharing_the_auth_token_share_the_key() {
        let token = AuthToken::new("0123456789abcdef0123456789abcdef").unwrap();
        let one = StateKey::choose(None, Some(&token));
        let other = StateKey::choose(None, Some(&token));
        assert_eq!(one.seal("x"), other.seal("x"));
        assert_eq!(one.origin(), KeyOrigin::AuthToken);
        assert!(one.startup_warning().is_none());
        // The derived key is not the token itself.
        let raw = StateKey::from_secret("0123456789abcdef0123456789abcdef").unwrap();
        assert_ne!(one.seal("x"), raw.seal("x"));
    }

    #[test]
    fn a_random_key_warns_and_differs_per_process() {
        let key = StateKey::choose(None, None);
        assert_ne!(key.seal("x"), StateKey::random().seal("x"));
        assert!(key.startup_warning().unwrap().contains("STATE_KEY"));
    }

    #[test]
    fn a_short_state_key_is_refused_and_debug_hides_the_key() {
        assert_eq!(StateKey::from_secret("short").unwrap_err(), ShortSecret(5));
        let key = StateKey::from_secret(&"s3cret".repeat(6)).unwrap();
        assert!(!format!("{key:?}").contains("s3cret"));
    }
}
