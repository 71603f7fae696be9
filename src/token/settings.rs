//! The token endpoint's settings: the [`Tokens`] group of the settings tree with the parsers for
//! its variables, and the checked [`TokenSettings`] built from it.
//!
//! Everything is checked once, at start-up, so a typo stops the server with a message naming the
//! variable instead of surfacing later as a browser error code. The one exception is a missing
//! Twilio credential: the rest of the service (the phone line itself) works without browser
//! calls, so the server starts, logs one warning and answers 503 on the token endpoint.
//!
//! The group lives here, next to the form it is checked into, and is built from the shared
//! pieces in `crate::setting`; `config` only flattens it into the whole tree.

use std::num::NonZeroU32;
use std::str::FromStr;

use clap::{ArgAction, Args};

use super::access::{ClientAuth, IdentityAllowList};
use super::jwt::{ApiCredentials, Ttl};
use super::region::{self, Region};
use super::sid::{AccountSid, ApiKeySid, AppSid, Secret, SidShapeError};
use crate::rate_limit::RateLimit;
use crate::setting::{SettingProblem, names, parse, setting};

/// The token endpoint's variables under short names, for messages, docs and tests.
pub mod vars {
    pub use crate::setting::names::{
        TOKEN_AUTH_BASIC as AUTH_BASIC, TOKEN_AUTH_BEARER as AUTH_BEARER,
        TOKEN_CORS_ORIGINS as CORS_ORIGINS, TOKEN_IDENTITY_ALLOW as IDENTITY_ALLOW,
        TOKEN_PUBLIC as PUBLIC, TOKEN_RATE_LIMIT as RATE_LIMIT,
        TOKEN_TRUST_FORWARDED_FOR as TRUST_FORWARDED_FOR, TWILIO_ACCOUNT_SID as ACCOUNT_SID,
        TWILIO_API_KEY as API_KEY, TWILIO_API_SECRET as API_SECRET, TWILIO_TOKEN_TTL as TOKEN_TTL,
        TWILIO_TWIML_APP_SID as TWIML_APP_SID, TWILIO_VOICE_REGION as VOICE_REGION,
    };

    /// The four variables without which no token can be minted, in the order reported.
    pub const REQUIRED: [&str; 4] = [ACCOUNT_SID, API_KEY, API_SECRET, TWIML_APP_SID];
}

/// The browser token endpoint (`GET /voice/token`): credentials and protections.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Browser tokens")]
pub struct Tokens {
    /// Your account SID, AC + 32 hex; without the four TWILIO_ credentials browser calls are off.
    #[arg(long, env = names::TWILIO_ACCOUNT_SID, global = true,
          value_parser = setting(sid::<AccountSid>))]
    pub twilio_account_sid: Option<AccountSid>,

    /// The API key SID that signs tokens, SK + 32 hex.
    #[arg(long, env = names::TWILIO_API_KEY, global = true,
          value_parser = setting(sid::<ApiKeySid>))]
    pub twilio_api_key: Option<ApiKeySid>,

    /// The API key's secret.
    #[arg(long, env = names::TWILIO_API_SECRET, global = true, hide_env_values = true,
          value_parser = setting(secret))]
    pub twilio_api_secret: Option<Secret>,

    /// The TwiML App whose Voice URL Twilio calls when the browser dials, AP + 32 hex.
    #[arg(long, env = names::TWILIO_TWIML_APP_SID, global = true,
          value_parser = setting(sid::<AppSid>))]
    pub twilio_twiml_app_sid: Option<AppSid>,

    /// Token lifetime in seconds, 1 to 86400.
    #[arg(long, env = names::TWILIO_TOKEN_TTL, global = true, default_value = "3600",
          value_parser = setting(ttl))]
    pub twilio_token_ttl: Ttl,

    /// The region the API key lives in (us1, ie1, au1, …); unset is Twilio's default, us1.
    #[arg(long, env = names::TWILIO_VOICE_REGION, global = true,
          value_parser = setting(region))]
    pub twilio_voice_region: Option<Region>,

    /// A shared secret callers send as `Authorization: Bearer …` (16 characters or more).
    #[arg(long, env = names::TOKEN_AUTH_BEARER, global = true, hide_env_values = true,
          value_parser = setting(bearer))]
    pub token_auth_bearer: Option<Secret>,

    /// `user:password` for HTTP basic auth on the token endpoint.
    #[arg(long, env = names::TOKEN_AUTH_BASIC, global = true, hide_env_values = true,
          value_parser = setting(basic))]
    pub token_auth_basic: Option<Secret>,

    /// Comma-separated identity patterns allowed a token, such as `agent_*,alice`.
    #[arg(long, env = names::TOKEN_IDENTITY_ALLOW, global = true,
          value_parser = setting(allow_list))]
    pub token_identity_allow: Option<IdentityAllowList>,

    /// Token requests per minute for each client address, or `off`.
    #[arg(long, env = names::TOKEN_RATE_LIMIT, global = true, default_value = "30",
          value_parser = setting(rate_limit))]
    pub token_rate_limit: RateLimitSetting,

    /// Take the client address from X-Forwarded-For (only behind your own proxy).
    #[arg(long, env = names::TOKEN_TRUST_FORWARDED_FOR, global = true, value_name = "YES/NO",
          default_value = "false", num_args = 0..=1, default_missing_value = "true",
          action = ArgAction::Set, value_parser = setting(parse::flag))]
    pub token_trust_forwarded_for: bool,

    /// Origins of pages elsewhere that may call the endpoint (`https://a.example,…` or `*`);
    /// unset is same origin only.
    #[arg(long, env = names::TOKEN_CORS_ORIGINS, global = true,
          value_parser = setting(cors))]
    pub token_cors_origins: Option<CorsOrigins>,

    /// Give a token to anyone who asks, with no credentials (logged as a warning at start-up).
    #[arg(long, env = names::TOKEN_PUBLIC, global = true, value_name = "YES/NO",
          default_value = "false", num_args = 0..=1, default_missing_value = "true",
          action = ArgAction::Set, value_parser = setting(parse::flag))]
    pub token_public: bool,
}

/// `TOKEN_RATE_LIMIT` as read: a limit, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSetting(pub Option<RateLimit>);

/// The shortest bearer secret accepted: shorter ones can be guessed, and the rate limit can be
/// switched off.
pub const MIN_BEARER_LEN: usize = 16;

/// Which origins may call the endpoint from a page served elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CorsOrigins {
    /// No CORS headers: only pages from the same origin can read the answer.
    #[default]
    SameOriginOnly,
    /// `*`: any page may read it. Pair it with authentication.
    Any,
    /// Exactly these origins (`scheme://host[:port]`, lower case).
    List(Vec<String>),
}

/// Twilio credentials, or the names of those that are missing.
#[derive(Debug, Clone)]
enum TwilioAccount {
    Ready {
        credentials: ApiCredentials,
        app_sid: AppSid,
    },
    Missing(Vec<&'static str>),
}

/// Everything the token endpoint needs, checked.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    account: TwilioAccount,
    ttl: Ttl,
    region: Option<Region>,
    auth: ClientAuth,
    allow_list: Option<IdentityAllowList>,
    rate_limit: Option<RateLimit>,
    trust_forwarded_for: bool,
    cors: CorsOrigins,
    public: bool,
}

impl TokenSettings {
    /// The endpoint with no variable set: its defaults, and no Twilio credentials, so the
    /// endpoint answers 503 and names what to set. For a server not given its settings yet.
    pub fn unconfigured() -> Self {
        let none = crate::setting::from_lookup::<Tokens>(|_| None)
            .expect("the defaults of the token settings are valid");
        Self::new(&none)
    }

    /// The endpoint's settings from the parsed variables; every value is already valid, so
    /// only missing credentials remain to be noticed.
    pub fn new(tokens: &Tokens) -> Self {
        let account = match (
            &tokens.twilio_account_sid,
            &tokens.twilio_api_key,
            &tokens.twilio_api_secret,
            &tokens.twilio_twiml_app_sid,
        ) {
            (Some(account_sid), Some(api_key), Some(api_secret), Some(app_sid)) => {
                TwilioAccount::Ready {
                    credentials: ApiCredentials {
                        account_sid: account_sid.clone(),
                        api_key: api_key.clone(),
                        api_secret: api_secret.clone(),
                    },
                    app_sid: app_sid.clone(),
                }
            }
            (account_sid, api_key, api_secret, app_sid) => {
                let set = [
                    account_sid.is_some(),
                    api_key.is_some(),
                    api_secret.is_some(),
                    app_sid.is_some(),
                ];
                TwilioAccount::Missing(
                    vars::REQUIRED
                        .into_iter()
                        .zip(set)
                        .filter_map(|(var, set)| (!set).then_some(var))
                        .collect(),
                )
            }
        };
        Self {
            account,
            ttl: tokens.twilio_token_ttl,
            region: tokens.twilio_voice_region,
            auth: ClientAuth::new(
                tokens.token_auth_bearer.clone(),
                tokens.token_auth_basic.clone(),
            ),
            allow_list: tokens.token_identity_allow.clone(),
            rate_limit: tokens.token_rate_limit.0,
            trust_forwarded_for: tokens.token_trust_forwarded_for,
            cors: tokens.token_cors_origins.clone().unwrap_or_default(),
            public: tokens.token_public,
        }
    }

    /// The required Twilio variables that are unset or empty; empty when tokens can be minted.
    pub fn missing_variables(&self) -> &[&'static str] {
        match &self.account {
            TwilioAccount::Ready { .. } => &[],
            TwilioAccount::Missing(missing) => missing,
        }
    }

    /// The one start-up warning, if the Twilio variables are incomplete.
    pub fn startup_warning(&self) -> Option<String> {
        let missing = self.missing_variables();
        (!missing.is_empty()).then(|| {
            format!(
                "browser calls are off: GET /voice/token will answer 503 until these are set: {}",
                missing.join(", ")
            )
        })
    }

    /// The warning `TOKEN_PUBLIC=true` earns at start-up: what it opens, or that credentials
    /// override it.
    pub fn public_warning(&self) -> Option<String> {
        if !self.public {
            return None;
        }
        Some(if self.auth.is_enabled() {
            "TOKEN_PUBLIC=true is ignored: TOKEN_AUTH_BEARER or TOKEN_AUTH_BASIC is set, so GET /voice/token still asks for those credentials".to_owned()
        } else {
            let limit = self.rate_limit.map_or_else(
                || "no rate limit (TOKEN_RATE_LIMIT=off)".to_owned(),
                |limit| format!("{} per minute per address", limit.requests_per_minute()),
            );
            format!(
                "TOKEN_PUBLIC=true: GET /voice/token gives a calling token to anyone who asks, limited only by TOKEN_IDENTITY_ALLOW and {limit}; each token can place calls billed to your Twilio account and answer calls rung at client:NAME. Set TOKEN_AUTH_BEARER or TOKEN_AUTH_BASIC instead unless that is what you want"
            )
        })
    }

    /// Whether anyone may have a token without credentials (`TOKEN_PUBLIC`; never when
    /// credentials are set).
    pub fn public(&self) -> bool {
        self.public && !self.auth.is_enabled()
    }

    /// The credentials and TwiML App, when all four are set.
    pub fn twilio(&self) -> Option<(&ApiCredentials, &AppSid)> {
        match &self.account {
            TwilioAccount::Ready {
                credentials,
                app_sid,
            } => Some((credentials, app_sid)),
            TwilioAccount::Missing(_) => None,
        }
    }

    /// Token lifetime.
    pub fn ttl(&self) -> Ttl {
        self.ttl
    }

    /// Configured region, if any.
    pub fn region(&self) -> Option<Region> {
        self.region
    }

    /// The SDK edge that matches [`TokenSettings::region`].
    pub fn edge(&self) -> &'static str {
        region::edge_for(self.region)
    }

    /// Required client credentials.
    pub fn auth(&self) -> &ClientAuth {
        &self.auth
    }

    /// Identity allow-list, if any.
    pub fn allow_list(&self) -> Option<&IdentityAllowList> {
        self.allow_list.as_ref()
    }

    /// Per-client rate limit, if any.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.rate_limit
    }

    /// Whether `X-Forwarded-For` names the client.
    pub fn trust_forwarded_for(&self) -> bool {
        self.trust_forwarded_for
    }

    /// Allowed cross-origin callers.
    pub fn cors(&self) -> &CorsOrigins {
        &self.cors
    }
}

/// A SID of the type the variable holds; the message names the variable and the expected shape,
/// never the value (an API secret pasted into the wrong variable must not be echoed).
pub fn sid<T: FromStr<Err = SidShapeError>>(
    var: &'static str,
    value: &str,
) -> Result<T, SettingProblem> {
    value
        .parse()
        .map_err(|error: SidShapeError| SettingProblem::MalformedSid {
            var,
            expected: error.expected,
        })
}

/// The API key's secret: any text, wrapped so it never prints.
pub fn secret(_: &'static str, value: &str) -> Result<Secret, SettingProblem> {
    Ok(Secret::new(value))
}

/// `TWILIO_TOKEN_TTL`: whole seconds, 1 to 86400.
pub fn ttl(_: &'static str, value: &str) -> Result<Ttl, SettingProblem> {
    let refused = |reason: String| SettingProblem::Ttl {
        value: value.to_owned(),
        reason,
    };
    let secs = value
        .parse::<u64>()
        .map_err(|_| refused("it is not a whole number".to_owned()))?;
    Ttl::from_secs(secs).map_err(|error| refused(error.to_string()))
}

/// `TWILIO_VOICE_REGION`: a region code, in any case.
pub fn region(_: &'static str, value: &str) -> Result<Region, SettingProblem> {
    Region::parse(value).map_err(|_| SettingProblem::UnknownRegion {
        value: value.to_owned(),
        known: Region::list(),
    })
}

/// `TOKEN_AUTH_BEARER`: long enough not to be guessed, and sendable in a header.
pub fn bearer(_: &'static str, value: &str) -> Result<Secret, SettingProblem> {
    if value.chars().any(char::is_whitespace) {
        return Err(SettingProblem::Bearer {
            reason: "contains a space or line break, which cannot be sent in a header reliably",
            min_len: MIN_BEARER_LEN,
        });
    }
    if value.chars().count() < MIN_BEARER_LEN {
        return Err(SettingProblem::Bearer {
            reason: "is too short to be safe",
            min_len: MIN_BEARER_LEN,
        });
    }
    Ok(Secret::new(value))
}

/// `TOKEN_AUTH_BASIC`: `user:password`, both parts present.
pub fn basic(_: &'static str, value: &str) -> Result<Secret, SettingProblem> {
    match value.split_once(':') {
        Some((user, password)) if !user.is_empty() && !password.is_empty() => {
            Ok(Secret::new(value))
        }
        _ => Err(SettingProblem::BasicShape),
    }
}

/// `TOKEN_IDENTITY_ALLOW`: comma-separated identity patterns.
pub fn allow_list(_: &'static str, value: &str) -> Result<IdentityAllowList, SettingProblem> {
    IdentityAllowList::parse(value).map_err(|error| SettingProblem::AllowList(error.to_string()))
}

/// `TOKEN_RATE_LIMIT`: requests per minute, 1 or more, or `off`. `0` is refused rather than
/// read as either "no limit" or "no tokens".
pub fn rate_limit(_: &'static str, value: &str) -> Result<RateLimitSetting, SettingProblem> {
    if value.eq_ignore_ascii_case("off") {
        return Ok(RateLimitSetting(None));
    }
    value
        .parse::<u32>()
        .ok()
        .and_then(NonZeroU32::new)
        .map(|n| RateLimitSetting(Some(RateLimit::per_minute(n))))
        .ok_or_else(|| SettingProblem::RateLimit {
            value: value.to_owned(),
        })
}

/// `TOKEN_CORS_ORIGINS`: `*`, or a list of `scheme://host[:port]`.
pub fn cors(_: &'static str, value: &str) -> Result<CorsOrigins, SettingProblem> {
    parse_cors(value)
}

fn parse_cors(value: &str) -> Result<CorsOrigins, SettingProblem> {
    let entries: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    if entries == ["*"] {
        return Ok(CorsOrigins::Any);
    }
    let mut origins = Vec::new();
    for entry in entries {
        let problem = |reason| SettingProblem::CorsOrigin {
            origin: entry.to_owned(),
            reason,
        };
        if entry == "*" {
            return Err(problem(
                "already allows every origin; give either * alone or a list",
            ));
        }
        let rest = entry
            .strip_prefix("https://")
            .or_else(|| entry.strip_prefix("http://"))
            .ok_or_else(|| problem("must start with https:// or http://"))?;
        if rest.is_empty() {
            return Err(problem("has no host name"));
        }
        if rest.contains('/') {
            return Err(problem(
                "must not have a path or trailing slash; browsers send only scheme://host[:port]",
            ));
        }
        if !rest.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(problem("may only use visible ASCII characters"));
        }
        origins.push(entry.to_ascii_lowercase());
    }
    Ok(CorsOrigins::List(origins))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setting::SettingsError;

    const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
    const KEY: &str = "SKfedcba9876543210fedcba9876543210";
    const APP: &str = "AP00112233445566778899aabbccddeeff";
    const SECRET: &str = "s3cr3t_api_key_secret_for_tests";

    fn settings(pairs: &[(&str, &str)]) -> Result<TokenSettings, SettingsError> {
        crate::setting::from_vars::<Tokens>(pairs).map(|tokens| TokenSettings::new(&tokens))
    }

    fn configured(extra: &[(&str, &str)]) -> Result<TokenSettings, SettingsError> {
        let mut pairs = vec![
            (vars::ACCOUNT_SID, ACCOUNT),
            (vars::API_KEY, KEY),
            (vars::API_SECRET, SECRET),
            (vars::TWIML_APP_SID, APP),
        ];
        pairs.extend_from_slice(extra);
        settings(&pairs)
    }

    fn problems(result: Result<TokenSettings, SettingsError>) -> Vec<SettingProblem> {
        result.expect_err("settings should be refused").problems
    }

    #[test]
    fn defaults_with_only_the_four_twilio_values() {
        let s = configured(&[]).unwrap();
        assert!(s.missing_variables().is_empty());
        assert_eq!(s.startup_warning(), None);
        assert_eq!(s.ttl().as_secs(), 3600);
        assert_eq!((s.region(), s.edge()), (None, "roaming"));
        assert!(!s.auth().is_enabled());
        assert!(s.allow_list().is_none());
        assert_eq!(s.rate_limit().map(RateLimit::requests_per_minute), Some(30));
        assert!(!s.public());
        assert_eq!(s.public_warning(), None);
        assert!(!s.trust_forwarded_for());
        assert_eq!(s.cors(), &CorsOrigins::SameOriginOnly);
    }

    #[test]
    fn missing_or_blank_twilio_values_are_named_in_one_warning() {
        let s = settings(&[(vars::ACCOUNT_SID, ACCOUNT), (vars::API_SECRET, "  \n")]).unwrap();
        assert_eq!(
            s.missing_variables(),
            [
                "TWILIO_API_KEY",
                "TWILIO_API_SECRET",
                "TWILIO_TWIML_APP_SID"
            ]
        );
        let warning = s.startup_warning().unwrap();
        assert_eq!(
            warning,
            "browser calls are off: GET /voice/token will answer 503 until these are set: \
             TWILIO_API_KEY, TWILIO_API_SECRET, TWILIO_TWIML_APP_SID"
        );
        assert!(!warning.contains('\n'));
    }

    #[test]
    fn malformed_sids_name_the_variable_and_shape_but_not_the_value() {
        // The secret pasted into the key variable must not be echoed.
        let error =
            configured(&[(vars::API_KEY, SECRET), (vars::TWIML_APP_SID, "AP123")]).unwrap_err();
        assert_eq!(
            error.problems,
            [
                SettingProblem::MalformedSid {
                    var: "TWILIO_API_KEY",
                    expected: "SK followed by 32 hexadecimal characters"
                },
                SettingProblem::MalformedSid {
                    var: "TWILIO_TWIML_APP_SID",
                    expected: "AP followed by 32 hexadecimal characters"
                },
            ]
        );
        let message = error.to_string();
        assert!(
            message.contains("TWILIO_API_KEY does not look right"),
            "{message}"
        );
        assert!(!message.contains(SECRET), "{message}");
    }

    #[test]
    fn ttl_must_be_1_to_86400_seconds() {
        assert_eq!(
            configured(&[(vars::TOKEN_TTL, "600")])
                .unwrap()
                .ttl()
                .as_secs(),
            600
        );
        assert_eq!(
            configured(&[(vars::TOKEN_TTL, "86400")])
                .unwrap()
                .ttl()
                .as_secs(),
            86_400
        );
        for bad in ["0", "86401", "1h", "-5", "3600.5"] {
            let message = configured(&[(vars::TOKEN_TTL, bad)])
                .unwrap_err()
                .to_string();
            assert!(message.contains("TWILIO_TOKEN_TTL"), "{bad}: {message}");
            assert!(message.contains("1 to 86400"), "{bad}: {message}");
        }
    }

    #[test]
    fn unknown_region_lists_the_valid_ones() {
        let s = configured(&[(vars::VOICE_REGION, "IE1")]).unwrap();
        assert_eq!((s.region(), s.edge()), (Some(Region::Ie1), "dublin"));
        let message = configured(&[(vars::VOICE_REGION, "eu-west")])
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("us1, us2, ie1, au1, de1, jp1, sg1, br1, gll"),
            "{message}"
        );
    }

    #[test]
    fn auth_settings_are_checked_without_showing_them() {
        let short = "abc";
        let message = configured(&[(vars::AUTH_BEARER, short)])
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("TOKEN_AUTH_BEARER is too short"),
            "{message}"
        );
        assert!(!message.contains("abc"), "{message}");

        for bad in ["nocolon", ":pw", "user:"] {
            assert_eq!(
                problems(configured(&[(vars::AUTH_BASIC, bad)])),
                [SettingProblem::BasicShape]
            );
        }
        let s = configured(&[
            (vars::AUTH_BASIC, "ops:pa:ss"),
            (vars::AUTH_BEARER, "bearer-Zq8x-unique-value"),
        ])
        .unwrap();
        assert!(s.auth().is_enabled());
        let debug = format!("{s:?}");
        assert!(!debug.contains("pa:ss") && !debug.contains("bearer-Zq8x-unique-value"));
        assert!(!debug.contains(SECRET), "{debug}");
    }

    #[test]
    fn rate_limit_flag_and_cors_are_validated() {
        let s = configured(&[
            (vars::RATE_LIMIT, "30"),
            (vars::TRUST_FORWARDED_FOR, "TRUE"),
            (
                vars::CORS_ORIGINS,
                "https://Phone.Example.com, http://localhost:5173",
            ),
        ])
        .unwrap();
        assert_eq!(s.rate_limit().map(RateLimit::requests_per_minute), Some(30));
        assert!(s.trust_forwarded_for());
        assert_eq!(
            s.cors(),
            &CorsOrigins::List(vec![
                "https://phone.example.com".into(),
                "http://localhost:5173".into()
            ])
        );
        assert_eq!(
            configured(&[(vars::CORS_ORIGINS, "*")]).unwrap().cors(),
            &CorsOrigins::Any
        );

        let found = problems(configured(&[
            (vars::RATE_LIMIT, "0"),
            (vars::TRUST_FORWARDED_FOR, "maybe"),
            (vars::CORS_ORIGINS, "https://example.com/"),
        ]));
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(matches!(found[0], SettingProblem::RateLimit { .. }));
        assert!(matches!(found[1], SettingProblem::Flag { .. }));
        assert!(matches!(found[2], SettingProblem::CorsOrigin { .. }));

        let off = configured(&[(vars::RATE_LIMIT, "OFF")]).unwrap();
        assert_eq!(off.rate_limit(), None);
    }

    #[test]
    fn token_public_opens_the_endpoint_with_a_warning_unless_credentials_are_set() {
        let open = configured(&[(vars::PUBLIC, "true")]).unwrap();
        assert!(open.public());
        let warning = open.public_warning().unwrap();
        assert!(
            warning.contains("anyone") && warning.contains("30 per minute"),
            "{warning}"
        );
        let unlimited = configured(&[(vars::PUBLIC, "yes"), (vars::RATE_LIMIT, "off")]).unwrap();
        assert!(
            unlimited
                .public_warning()
                .unwrap()
                .contains("no rate limit")
        );

        let both = configured(&[
            (vars::PUBLIC, "true"),
            (vars::AUTH_BEARER, "bearer-Zq8x-unique-value"),
        ])
        .unwrap();
        assert!(!both.public());
        assert!(both.public_warning().unwrap().contains("ignored"));
        assert!(matches!(
            problems(configured(&[(vars::PUBLIC, "maybe")])).as_slice(),
            [SettingProblem::Flag { .. }]
        ));
    }
}
