//! Browser access tokens: the settings and the minting behind `GET /voice/token`.
//!
//! The browser test page (and any softphone built on the Twilio Voice JS SDK) needs a short-lived
//! JWT signed with an API key before it can place or receive calls. This module declares and
//! parses the `TWILIO_*` and `TOKEN_*` variables (the [`Tokens`] group, which the whole settings
//! tree flattens), builds the checked [`TokenSettings`] from them, decides who may have a token
//! ([`TokenService`]), and signs tokens exactly as Twilio's helper libraries do ([`jwt::mint`]).
//! The HTTP face is the `http` module's `token` handler.
//!
//! Because a token lets its holder place calls billed to the account, the endpoint is closed by
//! default, and the protection options (bearer secret, basic auth, identity allow-list, rate
//! limit, `TOKEN_PUBLIC`) live here too, next to the minting they guard.

pub mod access;
pub mod identity;
pub mod jwt;
pub mod region;
pub mod service;
pub mod settings;
pub mod sid;

pub use crate::rate_limit::{ClientKey, RateLimit, RateLimiter, RetryAfter};
pub use access::{AuthFailure, ClientAuth, IdentityAllowList};
pub use identity::{IDENTITY_RULE, Identity, IdentityError};
pub use jwt::{ApiCredentials, MintError, MintedToken, NotBefore, TokenSpec, Ttl, VoiceGrant};
pub use region::{DEFAULT_EDGE, Region};
pub use service::{Access, IssuedToken, TokenError, TokenService, unix_now};
pub use settings::{CorsOrigins, RateLimitSetting, TokenSettings, Tokens, vars};
pub use sid::{AccountSid, ApiKeySid, AppSid, PushCredentialSid, Secret};
