//! Who may get a token: an optional shared secret or basic-auth pair, and an optional list of
//! identities.
//!
//! A token lets its holder place calls billed to the Twilio account, so no one gets one without
//! proof. These are the proofs for the operator's own frontends; the test page uses the admin
//! key instead, and with neither the endpoint stays closed unless `TOKEN_PUBLIC` opens it (see
//! the service).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::identity::Identity;
use super::sid::Secret;

/// The realm named in `WWW-Authenticate`, shown by browsers in the password prompt.
pub const REALM: &str = "callflow voice token";

/// The caller did not prove it may have a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// No `Authorization` header, or one with a scheme that is not configured.
    #[error("this endpoint needs credentials: send {expected}")]
    Missing {
        /// The accepted form(s), e.g. `Authorization: Bearer <secret>`.
        expected: &'static str,
    },
    /// The header was there but the secret or the user/password did not match.
    #[error("the credentials in the Authorization header are wrong")]
    Wrong,
}

/// Which credentials are accepted. With neither set, [`ClientAuth::check`] passes everyone, and
/// the service decides whether the endpoint is open at all.
#[derive(Clone, Default)]
pub struct ClientAuth {
    bearer: Option<Secret>,
    /// The whole `user:password` string, compared as one so a wrong user and a wrong password
    /// take the same time.
    basic: Option<Secret>,
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAuth")
            .field("bearer", &self.bearer.as_ref().map(|_| "[redacted]"))
            .field("basic", &self.basic.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl ClientAuth {
    /// Builds the policy. `basic` is the `user:password` pair, already checked for shape.
    pub fn new(bearer: Option<Secret>, basic: Option<Secret>) -> Self {
        Self { bearer, basic }
    }

    /// Whether any credential is required.
    pub fn is_enabled(&self) -> bool {
        self.bearer.is_some() || self.basic.is_some()
    }

    /// The `WWW-Authenticate` challenges to send with a 401, one per accepted scheme.
    pub fn challenges(&self) -> Vec<String> {
        let mut challenges = Vec::new();
        if self.bearer.is_some() {
            challenges.push(format!("Bearer realm=\"{REALM}\""));
        }
        if self.basic.is_some() {
            challenges.push(format!("Basic realm=\"{REALM}\", charset=\"UTF-8\""));
        }
        challenges
    }

    fn expected(&self) -> &'static str {
        match (self.bearer.is_some(), self.basic.is_some()) {
            (true, true) => "\"Authorization: Bearer <secret>\" or HTTP basic auth",
            (true, false) => "\"Authorization: Bearer <secret>\"",
            _ => "HTTP basic auth (user and password)",
        }
    }

    /// Checks the `Authorization` header value, if any.
    ///
    /// Both the bearer secret and the basic pair are compared in constant time (see
    /// [`Secret::matches`]). A scheme that is not configured counts as missing, so the 401
    /// tells the caller which one to use.
    pub fn check(&self, authorization: Option<&str>) -> Result<(), AuthFailure> {
        if !self.is_enabled() {
            return Ok(());
        }
        let missing = AuthFailure::Missing {
            expected: self.expected(),
        };
        let Some((scheme, credentials)) = authorization.and_then(|h| h.trim().split_once(' '))
        else {
            return Err(missing);
        };
        let credentials = credentials.trim();
        let secret = if scheme.eq_ignore_ascii_case("bearer") {
            self.bearer
                .as_ref()
                .map(|s| (s, credentials.as_bytes().to_vec()))
        } else if scheme.eq_ignore_ascii_case("basic") {
            // Undecodable base64 is simply wrong credentials; it is compared as empty.
            let decoded = STANDARD.decode(credentials).unwrap_or_default();
            self.basic.as_ref().map(|s| (s, decoded))
        } else {
            None
        };
        match secret {
            None => Err(missing),
            Some((secret, given)) if secret.matches(&given) => Ok(()),
            Some(_) => Err(AuthFailure::Wrong),
        }
    }
}

/// A problem in `TOKEN_IDENTITY_ALLOW`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the pattern {pattern:?} {reason}")]
pub struct AllowPatternError {
    /// The pattern as written.
    pub pattern: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Identities allowed to get a token: glob patterns where `*` is any run of characters (also
/// none) and `?` is exactly one. Matching is case-sensitive, as Twilio identities are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityAllowList {
    patterns: Vec<String>,
}

impl IdentityAllowList {
    /// Reads a comma-separated list such as `agent_*,alice`. Spaces around entries are ignored.
    ///
    /// A pattern may only use identity characters plus `*` and `?`, because anything else could
    /// never match a valid identity and is surely a typo.
    pub fn parse(list: &str) -> Result<Self, AllowPatternError> {
        let mut patterns = Vec::new();
        for pattern in list.split(',').map(str::trim) {
            if pattern.is_empty() {
                continue;
            }
            if !pattern
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '*' | '?'))
            {
                return Err(AllowPatternError {
                    pattern: pattern.to_owned(),
                    reason: "can never match: identities only use A-Z, a-z, 0-9 and _, \
                             and patterns may add * and ?",
                });
            }
            patterns.push(pattern.to_owned());
        }
        if patterns.is_empty() {
            return Err(AllowPatternError {
                pattern: list.to_owned(),
                reason: "holds no pattern; leave the variable unset to allow every identity",
            });
        }
        Ok(Self { patterns })
    }

    /// Whether `identity` matches at least one pattern.
    pub fn allows(&self, identity: &Identity) -> bool {
        self.patterns
            .iter()
            .any(|pattern| glob_matches(pattern.as_bytes(), identity.as_str().as_bytes()))
    }

    /// The patterns, for messages.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }
}

/// Glob match with `*` and `?` over ASCII, iterative with one backtrack point, so a hostile
/// pattern cannot make it exponential.
fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(value: &str) -> Identity {
        Identity::parse(value).unwrap()
    }

    #[test]
    fn glob_patterns_match_as_documented() {
        let list = IdentityAllowList::parse(" agent_* , alice,desk_?? ").unwrap();
        for allowed in ["alice", "agent_", "agent_bob", "desk_01"] {
            assert!(list.allows(&id(allowed)), "{allowed}");
        }
        for refused in ["alice2", "Alice", "bob", "desk_1", "desk_001", "xagent_1"] {
            assert!(!list.allows(&id(refused)), "{refused}");
        }
        assert!(IdentityAllowList::parse("*").unwrap().allows(&id("anyone")));
        assert!(
            IdentityAllowList::parse("a*b*c")
                .unwrap()
                .allows(&id("aXbYbZc"))
        );
        assert!(
            !IdentityAllowList::parse("a*b*c")
                .unwrap()
                .allows(&id("aXbYbZ"))
        );
    }

    #[test]
    fn patterns_that_can_never_match_are_refused() {
        assert!(IdentityAllowList::parse("agent-*").is_err());
        assert!(IdentityAllowList::parse(" , ").is_err());
    }

    fn basic(user_password: &str) -> String {
        format!("Basic {}", STANDARD.encode(user_password))
    }

    #[test]
    fn bearer_and_basic_accept_only_the_configured_credentials() {
        let auth = ClientAuth::new(Some(Secret::new("tok-123")), Some(Secret::new("ops:pw")));
        assert_eq!(auth.check(Some("Bearer tok-123")), Ok(()));
        assert_eq!(auth.check(Some("bearer  tok-123 ")), Ok(()));
        assert_eq!(auth.check(Some(&basic("ops:pw"))), Ok(()));
        assert_eq!(auth.check(Some("Bearer tok-12")), Err(AuthFailure::Wrong));
        assert_eq!(auth.check(Some(&basic("ops:pW"))), Err(AuthFailure::Wrong));
        assert_eq!(auth.check(Some("Basic !!!")), Err(AuthFailure::Wrong));
        assert!(matches!(auth.check(None), Err(AuthFailure::Missing { .. })));
        assert!(matches!(
            auth.check(Some("Digest x")),
            Err(AuthFailure::Missing { .. })
        ));
        assert_eq!(auth.challenges().len(), 2);
    }

    #[test]
    fn an_unconfigured_scheme_is_not_accepted() {
        let bearer_only = ClientAuth::new(Some(Secret::new("tok")), None);
        assert!(matches!(
            bearer_only.check(Some(&basic("tok:tok"))),
            Err(AuthFailure::Missing { .. })
        ));
        assert_eq!(
            bearer_only.challenges(),
            ["Bearer realm=\"callflow voice token\""]
        );
    }

    #[test]
    fn no_auth_configured_lets_everyone_through() {
        assert_eq!(ClientAuth::default().check(None), Ok(()));
        assert!(ClientAuth::default().challenges().is_empty());
    }
}
