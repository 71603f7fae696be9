//! Start-up settings for the token endpoint, read from environment variables.
//!
//! Everything is checked once, at start-up, so a typo stops the server with a message naming the
//! variable instead of surfacing later as a browser error code. The one exception is a missing
//! Twilio credential: the rest of the service (the phone line itself) works without browser
//! calls, so the server starts, logs one warning and answers 503 on the token endpoint.
//!
//! Settings are built from a lookup function so tests never touch the process environment.

use std::num::NonZeroU32;

use super::access::{AllowPatternError, ClientAuth, IdentityAllowList};
use super::jwt::{ApiCredentials, Ttl};
use super::rate_limit::RateLimit;
use super::region::{self, Region};
use super::sid::{AccountSid, ApiKeySid, AppSid, Secret};

/// Names of the environment variables, so messages, docs and tests spell them one way.
pub mod vars {
    /// Account SID, `AC` + 32 hex. Required.
    pub const ACCOUNT_SID: &str = "TWILIO_ACCOUNT_SID";
    /// API key SID, `SK` + 32 hex. Required.
    pub const API_KEY: &str = "TWILIO_API_KEY";
    /// The API key's secret. Required.
    pub const API_SECRET: &str = "TWILIO_API_SECRET";
    /// TwiML App SID, `AP` + 32 hex. Required.
    pub const TWIML_APP_SID: &str = "TWILIO_TWIML_APP_SID";
    /// Token lifetime in seconds, 1..=86400, default 3600.
    pub const TOKEN_TTL: &str = "TWILIO_TOKEN_TTL";
    /// Twilio region of the API key (`twr`), optional.
    pub const VOICE_REGION: &str = "TWILIO_VOICE_REGION";
    /// Shared secret for `Authorization: Bearer`, optional.
    pub const AUTH_BEARER: &str = "TOKEN_AUTH_BEARER";
    /// `user:password` for HTTP basic auth, optional.
    pub const AUTH_BASIC: &str = "TOKEN_AUTH_BASIC";
    /// Comma-separated identity glob patterns, optional.
    pub const IDENTITY_ALLOW: &str = "TOKEN_IDENTITY_ALLOW";
    /// Requests per minute per client address, optional.
    pub const RATE_LIMIT: &str = "TOKEN_RATE_LIMIT";
    /// Whether to trust `X-Forwarded-For`, default false.
    pub const TRUST_FORWARDED_FOR: &str = "TOKEN_TRUST_FORWARDED_FOR";
    /// Comma-separated allowed CORS origins or `*`, optional.
    pub const CORS_ORIGINS: &str = "TOKEN_CORS_ORIGINS";

    /// The four variables without which no token can be minted, in the order reported.
    pub const REQUIRED: [&str; 4] = [ACCOUNT_SID, API_KEY, API_SECRET, TWIML_APP_SID];
}

/// The shortest bearer secret accepted: shorter ones can be guessed, and the rate limit is off
/// by default.
pub const MIN_BEARER_LEN: usize = 16;

/// One thing wrong in the settings. Messages name the variable and say what would be right, and
/// never repeat a credential's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingProblem {
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
         {list} (the region your API key was created in), or leave it unset for Twilio's \
         default region, us1",
        list = Region::list()
    )]
    UnknownRegion {
        /// The value given.
        value: String,
    },
    /// `TOKEN_AUTH_BEARER` is too short or holds whitespace.
    #[error(
        "TOKEN_AUTH_BEARER {reason}; use a random value of at least {MIN_BEARER_LEN} \
         characters, for example the output of `openssl rand -hex 24`"
    )]
    Bearer {
        /// What is wrong (the value is never shown).
        reason: &'static str,
    },
    /// `TOKEN_AUTH_BASIC` is not `user:password`.
    #[error(
        "TOKEN_AUTH_BASIC must be user:password, with a user name (no colon) before the first \
         colon and a password after it"
    )]
    BasicShape,
    /// `TOKEN_IDENTITY_ALLOW` has a pattern that can never match.
    #[error("TOKEN_IDENTITY_ALLOW: {0}")]
    AllowList(#[from] AllowPatternError),
    /// `TOKEN_RATE_LIMIT` is not a positive whole number.
    #[error(
        "TOKEN_RATE_LIMIT={value:?} must be a whole number of token requests per minute for each \
         client address, 1 or more; leave it unset for no limit"
    )]
    RateLimit {
        /// The value given.
        value: String,
    },
    /// A true/false variable with another value.
    #[error("{var}={value:?} must be true or false")]
    Flag {
        /// The variable.
        var: &'static str,
        /// The value given.
        value: String,
    },
    /// `TOKEN_CORS_ORIGINS` has an entry a browser would never send as `Origin`.
    #[error("TOKEN_CORS_ORIGINS: {origin:?} {reason}")]
    CorsOrigin {
        /// The entry as written.
        origin: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Every problem found in the settings, reported together so they can be fixed in one go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the browser token endpoint (GET /voice/token) cannot start: {}", join(.problems))]
pub struct SettingsError {
    /// The problems, in the order the variables are read.
    pub problems: Vec<SettingProblem>,
}

fn join(problems: &[SettingProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

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
}

impl TokenSettings {
    /// Reads the settings from the process environment.
    ///
    /// A value that is not valid UTF-8 is read lossily, so it is reported as malformed rather
    /// than as missing.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| {
            std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
        })
    }

    /// Reads the settings through `lookup` (a variable name in, its value out).
    ///
    /// Values are trimmed, and a value that is empty after trimming counts as unset: a stray
    /// newline from copying a secret is a common cause of "invalid token" errors.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let mut problems = Vec::new();

        let account = read_account(&get, &mut problems);

        let ttl = match get(vars::TOKEN_TTL) {
            None => Ttl::DEFAULT,
            Some(value) => match value.parse::<u64>() {
                Ok(secs) => Ttl::from_secs(secs).unwrap_or_else(|error| {
                    problems.push(SettingProblem::Ttl {
                        value,
                        reason: error.to_string(),
                    });
                    Ttl::DEFAULT
                }),
                Err(_) => {
                    problems.push(SettingProblem::Ttl {
                        value,
                        reason: "it is not a whole number".to_owned(),
                    });
                    Ttl::DEFAULT
                }
            },
        };

        let region = get(vars::VOICE_REGION).and_then(|value| {
            Region::parse(&value)
                .map_err(|_| problems.push(SettingProblem::UnknownRegion { value }))
                .ok()
        });

        let bearer = get(vars::AUTH_BEARER).and_then(|value| {
            let reason = if value.chars().any(char::is_whitespace) {
                Some("contains a space or line break, which cannot be sent in a header reliably")
            } else if value.chars().count() < MIN_BEARER_LEN {
                Some("is too short to be safe")
            } else {
                None
            };
            match reason {
                Some(reason) => {
                    problems.push(SettingProblem::Bearer { reason });
                    None
                }
                None => Some(Secret::new(value)),
            }
        });

        let basic = get(vars::AUTH_BASIC).and_then(|value| match value.split_once(':') {
            Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                Some(Secret::new(value))
            }
            _ => {
                problems.push(SettingProblem::BasicShape);
                None
            }
        });

        let allow_list = get(vars::IDENTITY_ALLOW).and_then(|value| {
            IdentityAllowList::parse(&value)
                .map_err(|error| problems.push(error.into()))
                .ok()
        });

        let rate_limit = get(vars::RATE_LIMIT).and_then(|value| {
            match value.parse::<u32>().ok().and_then(NonZeroU32::new) {
                Some(n) => Some(RateLimit::per_minute(n)),
                None => {
                    problems.push(SettingProblem::RateLimit { value });
                    None
                }
            }
        });

        let trust_forwarded_for = match get(vars::TRUST_FORWARDED_FOR) {
            None => false,
            Some(value) => parse_flag(&value).unwrap_or_else(|| {
                problems.push(SettingProblem::Flag {
                    var: vars::TRUST_FORWARDED_FOR,
                    value,
                });
                false
            }),
        };

        let cors = match get(vars::CORS_ORIGINS) {
            None => CorsOrigins::SameOriginOnly,
            Some(value) => parse_cors(&value).unwrap_or_else(|problem| {
                problems.push(problem);
                CorsOrigins::SameOriginOnly
            }),
        };

        if !problems.is_empty() {
            return Err(SettingsError { problems });
        }
        Ok(Self {
            account,
            ttl,
            region,
            auth: ClientAuth::new(bearer, basic),
            allow_list,
            rate_limit,
            trust_forwarded_for,
            cors,
        })
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

type Get<'a> = dyn Fn(&str) -> Option<String> + 'a;

fn read_account(get: &Get<'_>, problems: &mut Vec<SettingProblem>) -> TwilioAccount {
    fn sid<T>(
        get: &Get<'_>,
        var: &'static str,
        parse: fn(&str) -> Result<T, super::sid::SidShapeError>,
        problems: &mut Vec<SettingProblem>,
    ) -> Option<T> {
        let value = get(var)?;
        parse(&value)
            .map_err(|error| {
                problems.push(SettingProblem::MalformedSid {
                    var,
                    expected: error.expected,
                })
            })
            .ok()
    }

    let missing: Vec<&'static str> = vars::REQUIRED
        .into_iter()
        .filter(|var| get(var).is_none())
        .collect();
    // Shapes are checked even when something else is missing, so all mistakes show at once.
    let account_sid = sid(get, vars::ACCOUNT_SID, AccountSid::parse, problems);
    let api_key = sid(get, vars::API_KEY, ApiKeySid::parse, problems);
    let app_sid = sid(get, vars::TWIML_APP_SID, AppSid::parse, problems);
    let api_secret = get(vars::API_SECRET).map(Secret::new);

    match (account_sid, api_key, api_secret, app_sid) {
        (Some(account_sid), Some(api_key), Some(api_secret), Some(app_sid)) => {
            TwilioAccount::Ready {
                credentials: ApiCredentials {
                    account_sid,
                    api_key,
                    api_secret,
                },
                app_sid,
            }
        }
        _ => TwilioAccount::Missing(missing),
    }
}

fn parse_flag(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
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
    use std::collections::HashMap;

    use super::*;

    const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
    const KEY: &str = "SKfedcba9876543210fedcba9876543210";
    const APP: &str = "AP00112233445566778899aabbccddeeff";
    const SECRET: &str = "s3cr3t_api_key_secret_for_tests";

    fn settings(pairs: &[(&str, &str)]) -> Result<TokenSettings, SettingsError> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TokenSettings::from_lookup(|name| env.get(name).cloned())
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
        assert!(s.rate_limit().is_none());
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
    }
}
