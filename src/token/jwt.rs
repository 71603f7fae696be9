//! Minting Twilio Voice access tokens: the JWT Twilio's helper libraries produce.
//!
//! The layout follows twilio-python 9.13.0 (`twilio/jwt/access_token`), which the fixture
//! `tests/fixtures/twilio/access_tokens.json` was produced with:
//!
//! - header `typ: JWT`, `alg: HS256`, `cty: twilio-fpa;v=1`, and `twr: <region>` only when a
//!   region is set (Twilio answers a wrong header with 20102);
//! - payload `jti` = `<API key SID>-<now>`, `grants` (`voice`, then `identity` if any), `iss` =
//!   API key SID, `exp` = now + TTL, `nbf` = now (unless left out), `sub` = account SID.
//!
//! The clock is a parameter so tests can freeze it and compare with the fixture.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::{Map, Value};

use super::identity::Identity;
use super::region::Region;
use super::sid::{AccountSid, ApiKeySid, AppSid, PushCredentialSid, Secret};

/// The `cty` Twilio requires on every access token.
pub const TWILIO_CONTENT_TYPE: &str = "twilio-fpa;v=1";

/// How long a token stays valid, 1 second to 24 hours.
///
/// Twilio refuses tokens valid for more than 24 hours (20104 in the browser), and a token of
/// 0 seconds is expired on arrival, so neither can be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ttl(u32);

/// A TTL outside 1..=86400 seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TtlError {
    /// 0 seconds.
    #[error("a lifetime of 0 seconds gives tokens that are already expired")]
    Zero,
    /// More than a day.
    #[error(
        "Twilio refuses tokens that live longer than {} seconds (24 hours); the browser would \
         report error 20104",
        Ttl::MAX_SECS
    )]
    TooLong,
}

impl Ttl {
    /// One hour, the default of Twilio's helper libraries.
    pub const DEFAULT: Ttl = Ttl(3600);
    /// 24 hours, Twilio's limit.
    pub const MAX_SECS: u32 = 86_400;

    /// Accepts 1 to [`Ttl::MAX_SECS`] seconds.
    pub fn from_secs(secs: u64) -> Result<Self, TtlError> {
        match secs {
            0 => Err(TtlError::Zero),
            s if s > u64::from(Self::MAX_SECS) => Err(TtlError::TooLong),
            // In range, so it fits in a u32.
            s => u32::try_from(s).map(Ttl).map_err(|_| TtlError::TooLong),
        }
    }

    /// The lifetime in seconds.
    pub fn as_secs(self) -> u32 {
        self.0
    }
}

impl Default for Ttl {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The three values that sign a token. The secret never leaves this struct except to sign.
#[derive(Debug, Clone)]
pub struct ApiCredentials {
    /// Account the calls bill to (`sub`).
    pub account_sid: AccountSid,
    /// API key that signs (`iss`, and the start of `jti`).
    pub api_key: ApiKeySid,
    /// The API key's secret, the HMAC key.
    pub api_secret: Secret,
}

/// What the token lets the browser do, as Twilio's `VoiceGrant`.
///
/// Fields left at their default are left out of the token, as the helper libraries do:
/// `incoming_allow: false` writes no `incoming` key at all, and a default grant is `"voice":{}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VoiceGrant {
    /// Let the browser receive calls to its identity (`incoming.allow`).
    pub incoming_allow: bool,
    /// Let the browser place calls through a TwiML App (`outgoing`).
    pub outgoing: Option<OutgoingApplication>,
    /// Push credential for mobile SDKs (`push_credential_sid`).
    pub push_credential_sid: Option<PushCredentialSid>,
    /// Endpoint id for mobile SDKs (`endpoint_id`); an empty string is left out.
    pub endpoint_id: Option<String>,
}

/// The `outgoing` part of a [`VoiceGrant`].
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingApplication {
    /// The TwiML App Twilio asks for instructions when the browser calls out.
    pub application_sid: AppSid,
    /// Extra parameters for the TwiML App (`outgoing.params`); an empty object is left out.
    pub params: Option<Map<String, Value>>,
}

/// Whether to write `nbf`. Twilio-python writes it by default; twilio-node does not. Both work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NotBefore {
    /// `nbf` = now.
    #[default]
    Now,
    /// No `nbf` claim.
    Omit,
}

/// Everything about one token except the credentials and the clock.
#[derive(Debug, Clone, Copy)]
pub struct TokenSpec<'a> {
    /// `grants.identity`; `None` leaves it out (only useful for tokens that cannot receive calls).
    pub identity: Option<&'a Identity>,
    /// `grants.voice`.
    pub grant: &'a VoiceGrant,
    /// `exp` − now.
    pub ttl: Ttl,
    /// Source of the `twr` header (see [`Region::twr`]).
    pub region: Option<Region>,
    /// Whether to write `nbf`.
    pub not_before: NotBefore,
}

/// A signed token and when it stops working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintedToken {
    /// The compact JWT for `new Twilio.Device(token)`.
    pub jwt: String,
    /// `exp`, in Unix seconds.
    pub expires_at: u64,
}

/// Signing failed. Neither case should happen with a sane clock; both mean a server problem.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    /// The clock is so far in the future that `now + ttl` overflows.
    #[error("the server clock reads {now} seconds, too large to compute an expiry time")]
    ClockOutOfRange {
        /// The clock value, Unix seconds.
        now: u64,
    },
    /// The JWT library refused to sign.
    #[error("could not sign the access token: {0}")]
    Signing(#[from] jsonwebtoken::errors::Error),
}

#[derive(Serialize)]
struct Claims<'a> {
    jti: String,
    grants: Grants<'a>,
    iss: &'a str,
    exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
    sub: &'a str,
}

#[derive(Serialize)]
struct Grants<'a> {
    voice: VoiceClaims<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<&'a str>,
}

#[derive(Serialize)]
struct VoiceClaims<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    incoming: Option<Incoming>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outgoing: Option<Outgoing<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    push_credential_sid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint_id: Option<&'a str>,
}

#[derive(Serialize)]
struct Incoming {
    allow: bool,
}

#[derive(Serialize)]
struct Outgoing<'a> {
    application_sid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a Map<String, Value>>,
}

impl<'a> VoiceClaims<'a> {
    fn from_grant(grant: &'a VoiceGrant) -> Self {
        Self {
            incoming: grant.incoming_allow.then_some(Incoming { allow: true }),
            outgoing: grant.outgoing.as_ref().map(|outgoing| Outgoing {
                application_sid: outgoing.application_sid.as_str(),
                params: outgoing.params.as_ref().filter(|params| !params.is_empty()),
            }),
            push_credential_sid: grant.push_credential_sid.as_ref().map(|sid| sid.as_str()),
            endpoint_id: grant.endpoint_id.as_deref().filter(|id| !id.is_empty()),
        }
    }
}

/// Signs a Voice access token at `now` (Unix seconds).
///
/// The HTTP handler passes the system clock; tests pass a frozen time.
pub fn mint(
    credentials: &ApiCredentials,
    spec: &TokenSpec<'_>,
    now: u64,
) -> Result<MintedToken, MintError> {
    let expires_at = now
        .checked_add(u64::from(spec.ttl.as_secs()))
        .ok_or(MintError::ClockOutOfRange { now })?;

    let mut header = Header::new(Algorithm::HS256);
    header.cty = Some(TWILIO_CONTENT_TYPE.to_owned());
    if let Some(twr) = spec.region.and_then(Region::twr) {
        header.extras.insert("twr", twr);
    }

    let claims = Claims {
        jti: format!("{}-{now}", credentials.api_key),
        grants: Grants {
            voice: VoiceClaims::from_grant(spec.grant),
            identity: spec.identity.map(Identity::as_str),
        },
        iss: credentials.api_key.as_str(),
        exp: expires_at,
        nbf: match spec.not_before {
            NotBefore::Now => Some(now),
            NotBefore::Omit => None,
        },
        sub: credentials.account_sid.as_str(),
    };

    let key = EncodingKey::from_secret(credentials.api_secret.expose().as_bytes());
    let jwt = jsonwebtoken::encode(&header, &claims, &key)?;
    Ok(MintedToken { jwt, expires_at })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{DecodingKey, Validation};
    use serde_json::{Value, json};

    use super::*;

    /// Tokens made by twilio-python 9.13.0; see `tests/fixtures/twilio/README.md`.
    const VECTORS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/twilio/access_tokens.json"
    ));

    fn decode_segment(segment: &str) -> Value {
        let bytes = URL_SAFE_NO_PAD.decode(segment).expect("base64url segment");
        serde_json::from_slice(&bytes).expect("JSON segment")
    }

    fn split(token: &str) -> (Value, Value) {
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3, "a JWT has three parts: {token}");
        (decode_segment(parts[0]), decode_segment(parts[1]))
    }

    /// Checks the HMAC only; the fixture's frozen clock is long past, so time claims are not
    /// checked here.
    fn signature_verifies(token: &str, secret: &str) -> bool {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims = HashSet::new();
        jsonwebtoken::decode::<Value>(
            token,
            &DecodingKey::from_secret(secret.as_bytes()),
            &validation,
        )
        .is_ok()
    }

    fn str_field<'a>(value: &'a Value, key: &str) -> &'a str {
        value[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} is a string"))
    }

    /// Turns a fixture case's `voice_grant_kwargs` into a grant, refusing any option this code
    /// does not know, so a fixture with a new option fails instead of being half-checked.
    fn grant_from_kwargs(kwargs: &Value) -> VoiceGrant {
        let kwargs = kwargs.as_object().expect("voice_grant_kwargs object");
        let mut grant = VoiceGrant::default();
        let mut app_sid = None;
        let mut params = None;
        for (key, value) in kwargs {
            match key.as_str() {
                "incoming_allow" => grant.incoming_allow = value.as_bool().expect("bool"),
                "outgoing_application_sid" => {
                    app_sid = Some(AppSid::parse(value.as_str().expect("str")).expect("AP sid"));
                }
                "outgoing_application_params" => {
                    params = Some(value.as_object().expect("params object").clone());
                }
                "push_credential_sid" => {
                    grant.push_credential_sid = Some(
                        PushCredentialSid::parse(value.as_str().expect("str")).expect("CR sid"),
                    );
                }
                "endpoint_id" => grant.endpoint_id = Some(value.as_str().expect("str").into()),
                other => {
                    panic!("fixture uses a VoiceGrant option this test does not know: {other}")
                }
            }
        }
        grant.outgoing = app_sid.map(|application_sid| OutgoingApplication {
            application_sid,
            params,
        });
        grant
    }

    #[test]
    fn reproduces_every_twilio_python_vector() {
        let vectors: Value = serde_json::from_str(VECTORS).expect("fixture is JSON");
        let now = vectors["frozen_time_time"].as_u64().expect("frozen time");
        let inputs = &vectors["inputs"];
        let secret = str_field(inputs, "api_key_secret");
        let credentials = ApiCredentials {
            account_sid: AccountSid::parse(str_field(inputs, "account_sid")).unwrap(),
            api_key: ApiKeySid::parse(str_field(inputs, "api_key_sid")).unwrap(),
            api_secret: Secret::new(secret),
        };

        let cases = vectors["cases"].as_array().expect("cases");
        assert_eq!(cases.len(), 7, "the fixture has seven cases");
        for case in cases {
            let name = str_field(case, "name");
            let input = &case["input"];
            let identity = input["identity"]
                .as_str()
                .map(|id| Identity::parse(id).expect("fixture identity is valid"));
            let grant = grant_from_kwargs(&input["voice_grant_kwargs"]);
            let spec = TokenSpec {
                identity: identity.as_ref(),
                grant: &grant,
                ttl: Ttl::from_secs(input["ttl"].as_u64().expect("ttl")).expect("ttl in range"),
                region: input["region"]
                    .as_str()
                    .map(|r| Region::parse(r).expect("known region")),
                not_before: match str_field(input, "nbf") {
                    "default (now)" => NotBefore::Now,
                    "omitted (nbf=None)" => NotBefore::Omit,
                    other => panic!("{name}: unknown nbf mode {other}"),
                },
            };

            let minted = mint(&credentials, &spec, now).expect("mint");
            let (header, payload) = split(&minted.jwt);
            assert_eq!(header, case["header"], "{name}: header");
            assert_eq!(payload, case["payload"], "{name}: payload");
            assert_eq!(
                Some(minted.expires_at),
                case["payload"]["exp"].as_u64(),
                "{name}: expires_at"
            );
            assert!(
                signature_verifies(&minted.jwt, secret),
                "{name}: our signature verifies with the secret"
            );
            assert!(
                !signature_verifies(&minted.jwt, "another-secret"),
                "{name}: and not with another secret"
            );
            // The fixture's own token passes the same check, so the check itself is sound.
            assert!(
                signature_verifies(str_field(case, "token"), secret),
                "{name}: fixture token verifies"
            );
        }
    }

    fn test_credentials() -> ApiCredentials {
        ApiCredentials {
            account_sid: AccountSid::parse("AC0123456789abcdef0123456789abcdef").unwrap(),
            api_key: ApiKeySid::parse("SKfedcba9876543210fedcba9876543210").unwrap(),
            api_secret: Secret::new("s3cr3t"),
        }
    }

    #[test]
    fn gll_region_writes_no_twr() {
        let grant = VoiceGrant::default();
        let spec = TokenSpec {
            identity: None,
            grant: &grant,
            ttl: Ttl::DEFAULT,
            region: Some(Region::Gll),
            not_before: NotBefore::Now,
        };
        let minted = mint(&test_credentials(), &spec, 1_700_000_000).unwrap();
        let (header, _) = split(&minted.jwt);
        assert_eq!(
            header,
            json!({"typ": "JWT", "alg": "HS256", "cty": "twilio-fpa;v=1"})
        );
    }

    #[test]
    fn empty_params_and_endpoint_are_left_out_like_the_helpers_do() {
        let grant = VoiceGrant {
            incoming_allow: false,
            outgoing: Some(OutgoingApplication {
                application_sid: AppSid::parse("AP00112233445566778899aabbccddeeff").unwrap(),
                params: Some(Map::new()),
            }),
            push_credential_sid: None,
            endpoint_id: Some(String::new()),
        };
        let spec = TokenSpec {
            identity: None,
            grant: &grant,
            ttl: Ttl::DEFAULT,
            region: None,
            not_before: NotBefore::Now,
        };
        let minted = mint(&test_credentials(), &spec, 1_700_000_000).unwrap();
        let (_, payload) = split(&minted.jwt);
        assert_eq!(
            payload["grants"],
            json!({"voice": {"outgoing": {"application_sid": "AP00112233445566778899aabbccddeeff"}}})
        );
    }

    #[test]
    fn ttl_accepts_one_second_to_one_day() {
        assert_eq!(Ttl::from_secs(0), Err(TtlError::Zero));
        assert_eq!(Ttl::from_secs(1).map(Ttl::as_secs), Ok(1));
        assert_eq!(Ttl::from_secs(86_400).map(Ttl::as_secs), Ok(86_400));
        assert_eq!(Ttl::from_secs(86_401), Err(TtlError::TooLong));
        assert_eq!(Ttl::from_secs(u64::MAX), Err(TtlError::TooLong));
        assert_eq!(Ttl::default().as_secs(), 3600);
    }

    #[test]
    fn a_clock_near_the_end_of_time_is_an_error_not_a_panic() {
        let grant = VoiceGrant::default();
        let spec = TokenSpec {
            identity: None,
            grant: &grant,
            ttl: Ttl::DEFAULT,
            region: None,
            not_before: NotBefore::Now,
        };
        assert!(matches!(
            mint(&test_credentials(), &spec, u64::MAX),
            Err(MintError::ClockOutOfRange { .. })
        ));
    }
}
