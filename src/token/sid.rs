//! Twilio identifiers and secrets as types that can only hold well-formed values.
//!
//! A token built from a mistyped SID is not refused by anyone on our side: the browser only
//! reports a vague 20101 when it tries to register, long after start-up. Checking the shape when
//! the settings are read turns that into a clear start-up message naming the variable.
//!
//! Error messages never repeat the value they reject. SIDs are not secret, but people do paste
//! the API secret into the wrong variable, and start-up errors end up in shared logs.

use std::fmt;

use aws_lc_rs::{constant_time, digest};

/// The value did not have the shape Twilio gives this kind of identifier.
///
/// It carries only the expected shape, never the rejected value (see the module comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}")]
pub struct SidShapeError {
    /// The shape, in words, e.g. "AC followed by 32 hexadecimal characters".
    pub expected: &'static str,
}

/// Checks `value` is `prefix` followed by exactly 32 hexadecimal characters.
fn has_sid_shape(value: &str, prefix: &str) -> bool {
    value
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
}

macro_rules! sid_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $shape:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// The two letters every SID of this kind starts with.
            pub const PREFIX: &'static str = $prefix;
            /// The expected shape in words, used in error messages.
            pub const SHAPE: &'static str = $shape;

            /// Accepts only `PREFIX` followed by 32 hexadecimal characters.
            pub fn parse(value: &str) -> Result<Self, SidShapeError> {
                if has_sid_shape(value, $prefix) {
                    Ok(Self(value.to_owned()))
                } else {
                    Err(SidShapeError { expected: $shape })
                }
            }

            /// The SID as Twilio writes it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = SidShapeError;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::parse(value)
            }
        }
    };
}

sid_type!(
    /// The account the tokens bill to (`sub` claim). Shown on the Twilio Console dashboard.
    AccountSid,
    "AC",
    "AC followed by 32 hexadecimal characters"
);
sid_type!(
    /// The API key that signs tokens (`iss` claim). An auth token or account SID does not work
    /// here: Twilio only accepts access tokens signed with an API key and its secret.
    ApiKeySid,
    "SK",
    "SK followed by 32 hexadecimal characters"
);
sid_type!(
    /// The TwiML App whose Voice URL Twilio requests when the browser places a call.
    AppSid,
    "AP",
    "AP followed by 32 hexadecimal characters"
);
sid_type!(
    /// A push credential, used by mobile SDKs for incoming-call notifications.
    PushCredentialSid,
    "CR",
    "CR followed by 32 hexadecimal characters"
);

/// A value that must never be shown: the API secret, the bearer secret, the basic-auth pair.
///
/// `Debug` prints `[redacted]` and there is no `Display` or `Serialize`, so the value cannot
/// reach a log line, a panic message or a response by accident; the only way out is
/// [`Secret::expose`], which is easy to grep for.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value, for signing. Every call site is a place the secret leaves this type.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares `candidate` with the secret without leaking where they differ or how long the
    /// secret is.
    ///
    /// Both sides are hashed first because `verify_slices_are_equal` returns early on a length
    /// mismatch; comparing the fixed-size digests keeps the secret's length out of the timing.
    pub fn matches(&self, candidate: &[u8]) -> bool {
        let expected = digest::digest(&digest::SHA256, self.0.as_bytes());
        let given = digest::digest(&digest::SHA256, candidate);
        constant_time::verify_slices_are_equal(expected.as_ref(), given.as_ref()).is_ok()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_accept_only_their_prefix_and_32_hex_characters() {
        assert!(AccountSid::parse("AC0123456789abcdef0123456789abcdef").is_ok());
        assert!(AccountSid::parse("AC0123456789ABCDEF0123456789ABCDEF").is_ok());
        // Wrong prefix: an API key pasted where the account SID goes.
        assert!(AccountSid::parse("SK0123456789abcdef0123456789abcdef").is_err());
        // One character short, one too many, a non-hex letter.
        assert!(ApiKeySid::parse("SK0123456789abcdef0123456789abcde").is_err());
        assert!(ApiKeySid::parse("SK0123456789abcdef0123456789abcdef0").is_err());
        assert!(AppSid::parse("AP0123456789abcdef0123456789abcdeg").is_err());
        assert!(AppSid::parse("").is_err());
        assert_eq!(
            AppSid::parse("nope").unwrap_err().to_string(),
            "expected AP followed by 32 hexadecimal characters"
        );
    }

    #[test]
    fn secret_debug_never_shows_the_value() {
        let secret = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(secret)), "Some([redacted])");
    }

    #[test]
    fn secret_matches_only_the_exact_value() {
        let secret = Secret::new("correct horse");
        assert!(secret.matches(b"correct horse"));
        assert!(!secret.matches(b"correct hors"));
        assert!(!secret.matches(b"correct horse "));
        assert!(!secret.matches(b""));
    }
}
