//! What can be wrong with a setting, in words that name the variable.
//!
//! Every message says which variable is wrong and what would be right, and never repeats the
//! value of a credential: start-up errors end up in shared logs and terminals, and people do
//! paste a secret into the wrong variable.
//!
//! The token endpoint's problems carry what their messages need from the token module (the
//! known regions, the shortest bearer secret, the pattern's fault) as data, so that this module
//! does not depend on the module whose settings it describes.

/// One setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingProblem {
    /// A yes/no setting with some other value.
    #[error("{name}=\"{shown}\" is not understood; use true or false")]
    Flag {
        /// The variable.
        name: &'static str,
        /// The value given, shortened and escaped.
        shown: String,
    },
    /// A count or port that is not a whole number in range.
    #[error("{name}=\"{shown}\" must be a whole number from {min} to {max}")]
    Number {
        /// The variable.
        name: &'static str,
        /// The value given, shortened and escaped.
        shown: String,
        /// The smallest value accepted.
        min: u64,
        /// The largest value accepted.
        max: u64,
    },
    /// A flag given on the command line with an empty value.
    #[error("{name} is given but empty; leave it out to use its default, or give a value")]
    Empty {
        /// The variable.
        name: &'static str,
    },
    /// `RUST_LOG` is not a log filter.
    #[error(
        "RUST_LOG=\"{shown}\" is not a log filter: {reason}; use a level such as info, or \
         per-module levels such as callflow=debug,tower_http=warn"
    )]
    LogFilter {
        /// The value given, shortened and escaped.
        shown: String,
        /// What the filter parser said.
        reason: String,
    },
    /// `PUBLIC_URL` is not an absolute http(s) URL without query.
    #[error("PUBLIC_URL \"{shown}\" cannot be used: {problem}")]
    PublicUrl {
        /// The value given, shortened and escaped.
        shown: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// `TWILIO_API_BASE` is not an absolute http(s) URL without query.
    #[error("TWILIO_API_BASE \"{shown}\" cannot be used: {problem}")]
    ApiBase {
        /// The value given, shortened and escaped.
        shown: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// `SIMULATOR` is not on, off or local.
    #[error(
        "SIMULATOR={shown:?} is not understood; use on (the default: for whoever holds the admin \
         key) or off"
    )]
    Simulator {
        /// The value given, shortened.
        shown: String,
    },
    /// `ADMIN_KEY` is too short or holds a character a link or cookie cannot carry.
    #[error(
        "ADMIN_KEY {reason}; use at least {min_len} letters, digits, '-', '_', '.' or '~', for \
         example the output of `openssl rand -hex 24`, or leave it unset to get a new key at \
         every start"
    )]
    AdminKey {
        /// What is wrong (the value is never shown).
        reason: &'static str,
        /// The shortest key accepted.
        min_len: usize,
    },
    /// A SID without its expected prefix and 32 hex characters.
    #[error(
        "{var} does not look right: expected {expected}; copy it again from the Twilio Console \
         (the value is not shown here in case a secret was pasted into it)"
    )]
    MalformedSid {
        /// The variable.
        var: &'static str,
        /// The expected shape.
        expected: &'static str,
    },
    /// `TWILIO_TOKEN_TTL` is not 1..=86400.
    #[error(
        "TWILIO_TOKEN_TTL={value:?} cannot be used: {reason}; give the token lifetime in whole \
         seconds from 1 to 86400, or leave it unset for 3600 (one hour)"
    )]
    Ttl {
        /// The value given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// `TWILIO_VOICE_REGION` is not a known region.
    #[error(
        "TWILIO_VOICE_REGION={value:?} is not a Twilio region this service knows; use one of: \
         {known} (the region your API key was created in), or leave it unset for Twilio's \
         default region, us1"
    )]
    UnknownRegion {
        /// The value given.
        value: String,
        /// The regions callflow knows, comma-separated.
        known: String,
    },
    /// `TOKEN_AUTH_BEARER` is too short or holds whitespace.
    #[error(
        "TOKEN_AUTH_BEARER {reason}; use a random value of at least {min_len} \
         characters, for example the output of `openssl rand -hex 24`"
    )]
    Bearer {
        /// What is wrong (the value is never shown).
        reason: &'static str,
        /// The shortest secret accepted.
        min_len: usize,
    },
    /// A secret too short to resist guessing (its value is never shown).
    #[error(
        "{name} is {chars} characters long; use at least {min} random characters, for example \
         the output of `openssl rand -hex 32`"
    )]
    ShortSecret {
        /// The variable.
        name: &'static str,
        /// How long the value given is.
        chars: usize,
        /// The shortest secret accepted.
        min: usize,
    },
    /// `TOKEN_AUTH_BASIC` is not `user:password`.
    #[error(
        "TOKEN_AUTH_BASIC must be user:password, with a user name (no colon) before the first \
         colon and a password after it"
    )]
    BasicShape,
    /// `TOKEN_IDENTITY_ALLOW` has a pattern that can never match.
    #[error("TOKEN_IDENTITY_ALLOW: {0}")]
    AllowList(
        /// Which pattern, and what is wrong with it.
        String,
    ),
    /// `TOKEN_RATE_LIMIT` is not a positive whole number or `off`.
    #[error(
        "TOKEN_RATE_LIMIT={value:?} must be a whole number of token requests per minute for each \
         client address, 1 or more, or off for no limit; leave it unset for the default, 30"
    )]
    RateLimit {
        /// The value given.
        value: String,
    },
    /// `DIAL_RATE_LIMIT` or `DIAL_RATE_LIMIT_TOTAL` is neither a positive whole number nor `off`.
    #[error(
        "{name}=\"{shown}\" must be a whole number of dials per minute, 1 or more, or off for no limit"
    )]
    DialRate {
        /// The variable.
        name: &'static str,
        /// The value given, shortened and escaped.
        shown: String,
    },
    /// `TOKEN_CORS_ORIGINS` has an entry a browser would never send as `Origin`.
    #[error("TOKEN_CORS_ORIGINS: {origin:?} {reason}")]
    CorsOrigin {
        /// The entry as written.
        origin: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `LOG_FORMAT` is neither `text` nor `json`.
    #[error("LOG_FORMAT={shown:?} is not understood; use text (the default) or json")]
    LogFormat {
        /// The value given, shortened.
        shown: String,
    },
    /// A name given to [`from_vars`](super::from_vars) that callflow does not read: a typo
    /// there would otherwise go unnoticed.
    #[error("{name} is not a setting callflow reads")]
    Unknown {
        /// The name given.
        name: String,
    },
    /// Anything else the command-line parser refused.
    #[error("{0}")]
    Refused(String),
}

/// Every problem found in the settings, reported together so they can be fixed in one go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", join(.problems))]
pub struct SettingsError {
    /// The problems, in the order the settings are declared.
    pub problems: Vec<SettingProblem>,
}

fn join(problems: &[SettingProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
