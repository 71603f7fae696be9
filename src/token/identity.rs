//! The identity a browser registers under, held as a type that can only be valid.
//!
//! Twilio does not refuse a token with a bad identity when it is issued: the browser gets the
//! token, and then calls silently fail to connect. Checking Twilio's rule here turns that into a
//! 400 that says what is wrong, at the moment someone is looking at the request.

use std::fmt;

use rand::Rng;

/// The longest identity Twilio's Voice SDK accepts.
pub const MAX_IDENTITY_LEN: usize = 121;

/// Twilio's rule, quoted in every rejection so the caller knows how to fix the request.
pub const IDENTITY_RULE: &str = "an identity must be 1 to 121 characters long, using only \
     letters A-Z and a-z, digits 0-9 and underscore (_) (Twilio's rule for Voice identities)";

/// Why a proposed identity was refused. Every message states the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// An empty string, e.g. `?identity=`.
    #[error("the identity is empty: {IDENTITY_RULE}")]
    Empty,
    /// More than [`MAX_IDENTITY_LEN`] characters.
    #[error("the identity is {chars} characters long: {IDENTITY_RULE}")]
    TooLong {
        /// Number of characters given.
        chars: usize,
    },
    /// A character outside `A-Za-z0-9_`, such as a space, a dash or an accented letter.
    #[error("the identity contains {found:?} at position {position}: {IDENTITY_RULE}")]
    BadCharacter {
        /// The first offending character.
        found: char,
        /// Its position, counting characters from 1.
        position: usize,
    },
}

/// An identity that satisfies `^[A-Za-z0-9_]{1,121}$`.
///
/// The only constructors are [`Identity::parse`] and [`Identity::random_guest`], so holding an
/// `Identity` is proof it is valid.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Identity(String);

impl Identity {
    /// Checks Twilio's rule. The first problem found is reported, with the rule.
    pub fn parse(value: &str) -> Result<Self, IdentityError> {
        if value.is_empty() {
            return Err(IdentityError::Empty);
        }
        if let Some((index, found)) = value
            .chars()
            .enumerate()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        {
            return Err(IdentityError::BadCharacter {
                found,
                position: index + 1,
            });
        }
        // Only ASCII is left, so bytes and characters count the same.
        if value.len() > MAX_IDENTITY_LEN {
            return Err(IdentityError::TooLong { chars: value.len() });
        }
        Ok(Self(value.to_owned()))
    }

    /// A fresh identity for a visitor who did not ask for one: `guest_` and ten random
    /// characters.
    ///
    /// The alphabet leaves out letters that are easy to misread (`i l o u`, `0 1`) so the name
    /// can be read aloud from a log; 10 characters of a 30-letter alphabet give about 49 bits,
    /// enough that two visitors never share an identity (and so never receive each other's
    /// incoming calls).
    pub fn random_guest() -> Self {
        Self::random_guest_with(&mut rand::rng())
    }

    /// [`Identity::random_guest`] with a chosen random source, so tests can be repeatable.
    pub fn random_guest_with<R: Rng + ?Sized>(rng: &mut R) -> Self {
        const ALPHABET: &[u8] = b"abcdefghjkmnpqrstvwxyz23456789";
        let mut name = String::from("guest_");
        for _ in 0..10 {
            let index = rng.random_range(0..ALPHABET.len());
            name.push(char::from(ALPHABET[index]));
        }
        Self(name)
    }

    /// The identity as it goes into the token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({})", self.0)
    }
}

impl serde::Serialize for Identity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_letters_digits_underscore_up_to_121() {
        for ok in ["alice", "bob_42", "A", "_", "9", &"x".repeat(121)] {
            assert_eq!(Identity::parse(ok).map(|i| i.0), Ok(ok.to_owned()));
        }
    }

    #[test]
    fn refuses_everything_else_and_says_the_rule() {
        assert_eq!(Identity::parse(""), Err(IdentityError::Empty));
        assert_eq!(
            Identity::parse(&"x".repeat(122)),
            Err(IdentityError::TooLong { chars: 122 })
        );
        assert_eq!(
            Identity::parse("alice smith"),
            Err(IdentityError::BadCharacter {
                found: ' ',
                position: 6
            })
        );
        assert_eq!(
            Identity::parse("zoë"),
            Err(IdentityError::BadCharacter {
                found: 'ë',
                position: 3
            })
        );
        for bad in ["a-b", "a.b", "a@b", "client:alice", "a\nb"] {
            let error = Identity::parse(bad).unwrap_err();
            assert!(error.to_string().contains(IDENTITY_RULE), "{error}");
        }
    }

    #[test]
    fn random_guests_are_valid_and_distinct() {
        let a = Identity::random_guest();
        let b = Identity::random_guest();
        assert_ne!(a, b);
        for guest in [a, b] {
            assert!(guest.as_str().starts_with("guest_"));
            assert_eq!(Identity::parse(guest.as_str()).as_ref(), Ok(&guest));
        }
    }
}
