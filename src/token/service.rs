//! The token service: the checks a request goes through and the token it gets at the end.
//!
//! The HTTP layer only extracts headers (and whether they carry the admin key) and maps
//! [`TokenError`] to statuses; every decision lives here so it can be tested without a server.
//!
//! The endpoint is closed by default ([`TokenService::authorize`]): a token goes to the
//! operator (the admin key, which the test page carries), to the operator's own frontends
//! (`TOKEN_AUTH_BEARER` / `TOKEN_AUTH_BASIC`, bound to `TOKEN_IDENTITY_ALLOW`), or to anyone only
//! with `TOKEN_PUBLIC=true`.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::access::AuthFailure;
use super::identity::{Identity, IdentityError};
use super::jwt::{self, MintError, NotBefore, OutgoingApplication, TokenSpec, Ttl, VoiceGrant};
use super::region::Region;
use super::settings::TokenSettings;
use crate::rate_limit::{ClientKey, RateLimiter, RetryAfter};

/// Why a token was not issued. The HTTP layer maps each variant to one status.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Some Twilio variables are unset (503).
    #[error(
        "browser calls are not set up on this server: set {} and restart",
        .missing.join(", ")
    )]
    NotConfigured {
        /// The unset variables.
        missing: Vec<&'static str>,
    },
    /// Credentials missing or wrong (401).
    #[error(transparent)]
    Unauthorized(AuthFailure),
    /// No credentials are configured and the endpoint is not public (401).
    #[error(
        "GET /voice/token gives calling tokens only to those allowed: the test page once it is opened through the link with ?key= from the server's start-up log (scripts send Authorization: Bearer <ADMIN_KEY>), your own frontends once TOKEN_AUTH_BEARER or TOKEN_AUTH_BASIC is set, or anyone with TOKEN_PUBLIC=true"
    )]
    Closed,
    /// The request itself is malformed, e.g. `identity` given twice (400).
    #[error("{0}")]
    BadRequest(&'static str),
    /// The identity breaks Twilio's rule (400).
    #[error(transparent)]
    InvalidIdentity(#[from] IdentityError),
    /// The identity is valid but not on `TOKEN_IDENTITY_ALLOW` (403).
    #[error("the identity {0} is not allowed to get a token on this server")]
    IdentityNotAllowed(Identity),
    /// Too many requests from this client (429).
    #[error("too many token requests from your address; try again in {} seconds", .0.0)]
    RateLimited(RetryAfter),
    /// Signing failed: a server fault (500).
    #[error(transparent)]
    Mint(#[from] MintError),
}

/// A token and what the browser needs to use it.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The JWT.
    pub token: String,
    /// Who the token is for (given or generated).
    pub identity: Identity,
    /// Lifetime.
    pub ttl: Ttl,
    /// `exp`, Unix seconds.
    pub expires_at: u64,
    /// The configured region, or `None` for Twilio's default (US1).
    pub region: Option<Region>,
    /// The SDK edge to pass to `new Twilio.Device(token, { edge })`.
    pub edge: &'static str,
}

/// Whom a token may go to, as [`TokenService::authorize`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The operator, with the admin key: any valid identity, as on the test page.
    Operator,
    /// A frontend with `TOKEN_AUTH_*` credentials, or anyone under `TOKEN_PUBLIC`:
    /// `TOKEN_IDENTITY_ALLOW` decides which identities.
    Client,
}

/// Settings plus the state shared between requests (the rate-limit table).
#[derive(Debug)]
pub struct TokenService {
    settings: TokenSettings,
    limiter: Option<RateLimiter>,
}

impl TokenService {
    /// A service for checked settings.
    pub fn new(settings: TokenSettings) -> Self {
        let limiter = settings.rate_limit().map(RateLimiter::new);
        Self { settings, limiter }
    }

    /// The settings in force.
    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    /// Logs the start-up warnings (missing Twilio variables, `TOKEN_PUBLIC`) and returns them.
    pub fn log_startup_warnings(&self) -> Vec<String> {
        let warnings: Vec<String> = [
            self.settings.startup_warning(),
            self.settings.public_warning(),
        ]
        .into_iter()
        .flatten()
        .collect();
        for warning in &warnings {
            tracing::warn!("{warning}");
        }
        warnings
    }

    /// Counts the request against its client's budget.
    pub fn check_rate(&self, client: ClientKey, now: Instant) -> Result<(), TokenError> {
        match &self.limiter {
            Some(limiter) => limiter.check(client, now).map_err(TokenError::RateLimited),
            None => Ok(()),
        }
    }

    /// Decides whom the token may go to: the `operator` (the request carries the admin key),
    /// a client whose `Authorization` header matches the configured credentials, or, with
    /// `TOKEN_PUBLIC` and no credentials configured, anyone. Otherwise the endpoint is closed.
    pub fn authorize(
        &self,
        operator: bool,
        authorization: Option<&str>,
    ) -> Result<Access, TokenError> {
        if operator {
            return Ok(Access::Operator);
        }
        let auth = self.settings.auth();
        if auth.is_enabled() {
            auth.check(authorization)
                .map_err(TokenError::Unauthorized)?;
            return Ok(Access::Client);
        }
        if self.settings.public() {
            return Ok(Access::Client);
        }
        Err(TokenError::Closed)
    }

    /// Mints a token for `requested` (or a random guest identity) at `now`, Unix seconds.
    ///
    /// The grant allows both directions: outgoing calls through the configured TwiML App and
    /// incoming calls to the identity. For a [`Access::Client`], a generated guest identity goes
    /// through the allow-list like any other, so a list must include e.g. `guest_*` to admit
    /// anonymous visitors; the operator may take any valid identity.
    pub fn issue(
        &self,
        access: Access,
        requested: Option<&str>,
        now: u64,
    ) -> Result<IssuedToken, TokenError> {
        let (credentials, app_sid) =
            self.settings
                .twilio()
                .ok_or_else(|| TokenError::NotConfigured {
                    missing: self.settings.missing_variables().to_vec(),
                })?;
        let identity = match requested {
            Some(requested) => Identity::parse(requested)?,
            None => Identity::random_guest(),
        };
        if access == Access::Client
            && let Some(list) = self.settings.allow_list()
            && !list.allows(&identity)
        {
            return Err(TokenError::IdentityNotAllowed(identity));
        }

        let grant = VoiceGrant {
            incoming_allow: true,
            outgoing: Some(OutgoingApplication {
                application_sid: app_sid.clone(),
                params: None,
            }),
            ..VoiceGrant::default()
        };
        let (ttl, region) = (self.settings.ttl(), self.settings.region());
        let spec = TokenSpec {
            identity: Some(&identity),
            grant: &grant,
            ttl,
            region,
            not_before: NotBefore::Now,
        };
        let minted = jwt::mint(credentials, &spec, now)?;
        tracing::info!(identity = %identity, expires_at = minted.expires_at, "issued a browser voice token");
        Ok(IssuedToken {
            token: minted.jwt,
            identity,
            ttl,
            expires_at: minted.expires_at,
            region,
            edge: self.settings.edge(),
        })
    }
}

/// The system clock in Unix seconds, for [`TokenService::issue`].
///
/// A clock set before 1970 reads as 0, which yields an already-expired token rather than a
/// panic on the request path.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setting::from_vars;
    use crate::token::settings::{Tokens, vars};

    fn settings(pairs: &[(&str, &str)]) -> TokenSettings {
        TokenSettings::new(&from_vars::<Tokens>(pairs).unwrap())
    }

    fn service(extra: &[(&str, &str)]) -> TokenService {
        let mut vars = vec![
            (vars::ACCOUNT_SID, "AC0123456789abcdef0123456789abcdef"),
            (vars::API_KEY, "SKfedcba9876543210fedcba9876543210"),
            (vars::API_SECRET, "s3cr3t"),
            (vars::TWIML_APP_SID, "AP00112233445566778899aabbccddeeff"),
        ];
        vars.extend_from_slice(extra);
        TokenService::new(settings(&vars))
    }

    #[test]
    fn issues_for_the_requested_identity_with_the_region_edge() {
        let issued = service(&[(vars::VOICE_REGION, "au1"), (vars::TOKEN_TTL, "900")])
            .issue(Access::Client, Some("alice"), 1_700_000_000)
            .unwrap();
        assert_eq!(issued.identity.as_str(), "alice");
        assert_eq!(issued.expires_at, 1_700_000_900);
        assert_eq!((issued.region, issued.edge), (Some(Region::Au1), "sydney"));
    }

    #[test]
    fn allow_list_applies_to_generated_guests_too() {
        let s = service(&[(vars::IDENTITY_ALLOW, "agent_*")]);
        assert!(matches!(
            s.issue(Access::Client, None, 1_700_000_000),
            Err(TokenError::IdentityNotAllowed(_))
        ));
        // The operator is not bound by the list its frontends are.
        assert!(s.issue(Access::Operator, None, 1_700_000_000).is_ok());
        let s = service(&[(vars::IDENTITY_ALLOW, "agent_*,guest_*")]);
        assert!(s.issue(Access::Client, None, 1_700_000_000).is_ok());
    }

    #[test]
    fn closed_unless_operator_credentials_or_public() {
        let closed = service(&[]);
        assert!(matches!(
            closed.authorize(false, None),
            Err(TokenError::Closed)
        ));
        assert!(matches!(
            closed.authorize(false, Some("Bearer anything-at-all-1234")),
            Err(TokenError::Closed)
        ));
        assert_eq!(closed.authorize(true, None).unwrap(), Access::Operator);
        let message = TokenError::Closed.to_string();
        for setting in [
            "ADMIN_KEY",
            "TOKEN_AUTH_BEARER",
            "TOKEN_AUTH_BASIC",
            "TOKEN_PUBLIC",
        ] {
            assert!(message.contains(setting), "{message}");
        }

        let public = service(&[(vars::PUBLIC, "true")]);
        assert_eq!(public.authorize(false, None).unwrap(), Access::Client);
        let guarded = service(&[
            (vars::PUBLIC, "true"),
            (vars::AUTH_BEARER, "frontend-secret-0123456"),
        ]);
        assert!(matches!(
            guarded.authorize(false, None),
            Err(TokenError::Unauthorized(_))
        ));
        assert_eq!(
            guarded
                .authorize(false, Some("Bearer frontend-secret-0123456"))
                .unwrap(),
            Access::Client
        );
    }

    #[test]
    fn not_configured_names_the_missing_variables() {
        let s = TokenService::new(settings(&[]));
        let error = s.issue(Access::Operator, Some("alice"), 0).unwrap_err();
        assert!(matches!(&error, TokenError::NotConfigured { missing } if missing.len() == 4));
        assert_eq!(
            s.log_startup_warnings().first().map(String::as_str),
            s.settings().startup_warning().as_deref()
        );
        assert!(!s.log_startup_warnings().is_empty());
    }
}
