//! Twilio webhook signatures (`X-Twilio-Signature`), as pure functions.
//!
//! Twilio signs every webhook it sends so that callflow can tell a real call from someone posting
//! to `/voice` by hand. The signature is `base64(HMAC-SHA1(auth token, s))` where `s` is the full
//! URL Twilio requested (raw query string included) followed by every form parameter as
//! `name + value`, names in byte order, each name's values sorted and de-duplicated. This module
//! computes and checks that signature; it knows nothing about HTTP, so the rules can be proven
//! against the vectors produced by Twilio's own helper library (`tests/fixtures/twilio/`).
//!
//! Rules copied from twilio-python's `RequestValidator` (9.13.0), because that is what Twilio's
//! servers are tested against:
//! - [`validate`] accepts a signature over the URL with its port removed *or* with the default
//!   port added (`:443` for https, `:80` otherwise; an explicit port is kept). Twilio's own comment
//!   says signature generation on its side is inconsistent about ports.
//! - JSON webhooks carry `bodySHA256=<lowercase hex SHA-256 of the raw body>` in the query; the
//!   signature covers the URL only, and the body is bound to it through that hash
//!   ([`validate_json_body`]).
//! - A request carrying `X-Twilio-Webhooks-Signature-Settings: key=…,algorithm=HMAC_SHA256` was
//!   signed with HMAC-SHA256 and a shared key secret instead of the auth token ([`Algorithm`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use aws_lc_rs::{constant_time, digest, hmac};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// Name of the header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";
/// Name of the header that announces a shared-key (HMAC-SHA256) signature.
pub const SIGNATURE_SETTINGS_HEADER: &str = "X-Twilio-Webhooks-Signature-Settings";

/// The secret Twilio signs webhooks with: the account auth token (or, for
/// [`Algorithm::HmacSha256`], the shared key secret).
///
/// A newtype so it can never end up in a log by accident: `Debug` prints `[redacted]` and there is
/// no `Display`.
#[derive(Clone)]
pub struct AuthToken(String);

/// Why a string cannot be used as an [`AuthToken`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthTokenError {
    /// Empty or only whitespace: every request would be checked against a key nobody has.
    #[error(
        "the Twilio auth token is empty; copy it from the Twilio Console (Account > API keys & tokens)"
    )]
    Empty,
}

impl AuthToken {
    /// Wraps a secret. Surrounding whitespace (a common `.env` copy-paste slip) is trimmed.
    pub fn new(secret: impl Into<String>) -> Result<AuthToken, AuthTokenError> {
        let secret = secret.into();
        let trimmed = secret.trim();
        if trimmed.is_empty() {
            return Err(AuthTokenError::Empty);
        }
        Ok(AuthToken(trimmed.to_owned()))
    }

    /// The secret itself, for keys derived from it; never for display.
    pub(crate) fn secret(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The HMAC Twilio used for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// The classic scheme, keyed with the account auth token. What Twilio uses unless a
    /// Webhooks Rule says otherwise.
    #[default]
    HmacSha1,
    /// Keyed with a shared key secret; announced by `X-Twilio-Webhooks-Signature-Settings`.
    HmacSha256,
}

/// The settings header names an algorithm this code does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported webhook signature algorithm {0:?} (known: HMAC_SHA1, HMAC_SHA256)")]
pub struct UnsupportedAlgorithm(pub String);

impl Algorithm {
    /// Reads `X-Twilio-Webhooks-Signature-Settings` (`key=<SharedKeyId>,algorithm=<name>`).
    ///
    /// No header, or one without `algorithm=`, means [`Algorithm::HmacSha1`], exactly like
    /// twilio-python's `get_signature_algorithm`. Names are compared case-insensitively.
    pub fn from_settings_header(value: Option<&str>) -> Result<Algorithm, UnsupportedAlgorithm> {
        let named = value.unwrap_or("").split(',').find_map(|part| {
            let (name, value) = part.split_once('=')?;
            let value = value.trim();
            (name.trim() == "algorithm" && !value.is_empty()).then_some(value)
        });
        match named {
            None => Ok(Algorithm::HmacSha1),
            Some(name) if name.eq_ignore_ascii_case("HMAC_SHA1") => Ok(Algorithm::HmacSha1),
            Some(name) if name.eq_ignore_ascii_case("HMAC_SHA256") => Ok(Algorithm::HmacSha256),
            Some(other) => Err(UnsupportedAlgorithm(truncate_for_log(other, 40))),
        }
    }

    fn hmac(self) -> hmac::Algorithm {
        match self {
            Algorithm::HmacSha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Algorithm::HmacSha256 => hmac::HMAC_SHA256,
        }
    }
}

/// The exact text Twilio signs: `url` followed by `name + value` for each distinct name in byte
/// order and, within a name, each distinct value in byte order.
///
/// `params` are the form-decoded POST parameters in any order; a name may repeat. Empty values
/// still contribute their name. Byte order of UTF-8 equals code point order, which is what
/// Python's `sorted()` uses.
pub fn string_to_sign<K, V>(url: &str, params: &[(K, V)]) -> String
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut grouped: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, value) in params {
        grouped
            .entry(name.as_ref())
            .or_default()
            .insert(value.as_ref());
    }
    let extra: usize = grouped
        .iter()
        .map(|(name, values)| values.iter().map(|v| name.len() + v.len()).sum::<usize>())
        .sum();
    let mut s = String::with_capacity(url.len() + extra);
    s.push_str(url);
    for (name, values) in grouped {
        for value in values {
            s.push_str(name);
            s.push_str(value);
        }
    }
    s
}

/// The signature Twilio would send for this request: standard base64 (with padding) of the HMAC
/// of [`string_to_sign`].
pub fn compute_signature<K, V>(
    secret: &AuthToken,
    algorithm: Algorithm,
    url: &str,
    params: &[(K, V)],
) -> String
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    sign(secret, algorithm, &string_to_sign(url, params))
}

fn sign(secret: &AuthToken, algorithm: Algorithm, message: &str) -> String {
    let key = hmac::Key::new(algorithm.hmac(), secret.secret());
    BASE64.encode(hmac::sign(&key, message.as_bytes()).as_ref())
}

/// Checks a form-POST (or GET) webhook signature.
///
/// `url` is the full URL Twilio requested, raw query included. For a GET webhook pass no params:
/// the parameters are in the query and thus already in the URL. Accepts a signature over either
/// port variant of `url` (see [`url_port_variants`]). The comparison is constant-time.
pub fn validate<K, V>(
    secret: &AuthToken,
    algorithm: Algorithm,
    url: &str,
    params: &[(K, V)],
    signature: &str,
) -> bool
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let signature = signature.trim();
    let variants = url_port_variants(url);
    let matches = |candidate: &str| {
        let expected = compute_signature(secret, algorithm, candidate, params);
        constant_time::verify_slices_are_equal(expected.as_bytes(), signature.as_bytes()).is_ok()
    };
    // Both variants are tried because Twilio's signing side is inconsistent about ports; the
    // second HMAC only runs when the first fails and the URLs really differ.
    matches(&variants.without_port)
        || (variants.with_port != variants.without_port && matches(&variants.with_port))
}

/// Why a JSON-body webhook failed its check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BodyCheckError {
    /// The URL has no `bodySHA256` query parameter, so nothing binds the body to the signature.
    #[error(
        "the URL has no bodySHA256 parameter, so the request body is not covered by the signature"
    )]
    MissingBodyHash,
    /// The signature over the URL is wrong.
    #[error("X-Twilio-Signature does not match this request")]
    Signature,
    /// The signature is right but the body is not the one Twilio hashed.
    #[error("the request body does not match the bodySHA256 value Twilio signed")]
    BodyHash,
}

/// Checks a webhook with a raw (usually JSON) body: the signature must be valid over `url` with no
/// params, and `bodySHA256` in the query must equal the lowercase hex SHA-256 of `raw_body`.
pub fn validate_json_body(
    secret: &AuthToken,
    algorithm: Algorithm,
    url: &str,
    raw_body: &[u8],
    signature: &str,
) -> Result<(), BodyCheckError> {
    let claimed = body_hash_param(url).ok_or(BodyCheckError::MissingBodyHash)?;
    if !validate::<&str, &str>(secret, algorithm, url, &[], signature) {
        return Err(BodyCheckError::Signature);
    }
    let actual = body_sha256_hex(raw_body);
    constant_time::verify_slices_are_equal(actual.as_bytes(), claimed.as_bytes())
        .map_err(|_| BodyCheckError::BodyHash)
}

/// Lowercase hex SHA-256 of a raw body, as Twilio puts it in `bodySHA256`.
pub fn body_sha256_hex(raw_body: &[u8]) -> String {
    let hash = digest::digest(&digest::SHA256, raw_body);
    let mut hex = String::with_capacity(64);
    for byte in hash.as_ref() {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The first `bodySHA256` value in the URL's query, form-decoded (twilio-python uses the first
/// one too).
pub fn body_hash_param(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "bodySHA256")
        .map(|(_, value)| value.into_owned())
}

/// The two spellings of a URL that [`validate`] accepts signatures for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlPortVariants {
    /// The URL with any port removed (`https://h:8443/x` → `https://h/x`).
    pub without_port: String,
    /// The URL with the default port added when it had none (`https://h/x` → `https://h:443/x`);
    /// an explicit port is kept as it is.
    pub with_port: String,
}

/// Splits a URL into the two port spellings twilio-python checks.
///
/// Unlike twilio-python's `remove_port` (which cuts the netloc at the first `:`), this keeps
/// `user:pass@` and IPv6 literals like `[::1]:8080` intact. A URL it cannot take apart (no
/// `scheme://`, or a port that is not a number) is returned unchanged in both fields, so it is
/// still checked exactly as given.
pub fn url_port_variants(url: &str) -> UrlPortVariants {
    let unchanged = || UrlPortVariants {
        without_port: url.to_owned(),
        with_port: url.to_owned(),
    };
    let Some(parts) = UrlParts::split(url) else {
        return unchanged();
    };
    match parts.port {
        Some(port) if !port.bytes().all(|b| b.is_ascii_digit()) => unchanged(),
        // `host:` with an empty port: treat it as no port at all.
        Some(port) if !port.is_empty() => UrlPortVariants {
            without_port: format!("{}{}", parts.before_host_end, parts.rest),
            with_port: url.to_owned(),
        },
        _ => {
            let default_port = if parts.scheme.eq_ignore_ascii_case("https") {
                "443"
            } else {
                "80"
            };
            UrlPortVariants {
                without_port: format!("{}{}", parts.before_host_end, parts.rest),
                with_port: format!("{}:{}{}", parts.before_host_end, default_port, parts.rest),
            }
        }
    }
}

/// Borrowed pieces of `scheme://[userinfo@]host[:port]rest`.
struct UrlParts<'a> {
    scheme: &'a str,
    /// Everything from the start up to the end of the host (`scheme://userinfo@host`).
    before_host_end: &'a str,
    /// The port text after `:`, if there was a `:`.
    port: Option<&'a str>,
    /// Path, query and fragment.
    rest: &'a str,
}

impl<'a> UrlParts<'a> {
    fn split(url: &'a str) -> Option<UrlParts<'a>> {
        let scheme_end = url.find("://")?;
        let authority_start = scheme_end + 3;
        let authority_end = url[authority_start..]
            .find(['/', '?', '#'])
            .map_or(url.len(), |i| authority_start + i);
        let authority = &url[authority_start..authority_end];
        let host_start = authority.rfind('@').map_or(0, |i| i + 1);
        let host_port = &authority[host_start..];
        let host_len = if host_port.starts_with('[') {
            // IPv6 literal: the port, if any, follows the closing bracket.
            let close = host_port.find(']')?;
            let after = &host_port[close + 1..];
            if !after.is_empty() && !after.starts_with(':') {
                return None;
            }
            close + 1
        } else {
            host_port.find(':').unwrap_or(host_port.len())
        };
        let host_end = authority_start + host_start + host_len;
        let port = url[host_end..authority_end].strip_prefix(':');
        Some(UrlParts {
            scheme: &url[..scheme_end],
            before_host_end: &url[..host_end],
            port,
            rest: &url[authority_end..],
        })
    }
}

/// Shortens and escapes text that came from a request before it goes into a log line or error.
pub(crate) fn truncate_for_log(raw: &str, max_chars: usize) -> String {
    let mut out: String = raw
        .chars()
        .take(max_chars)
        .flat_map(char::escape_default)
        .collect();
    if raw.chars().nth(max_chars).is_some() {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    //! Every case of `tests/fixtures/twilio/signatures.json` (made by twilio-python's
    //! RequestValidator) plus the port rules it implies.

    use super::*;
    use serde_json::Value;

    const VECTORS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/twilio/signatures.json"
    ));

    fn vectors() -> Value {
        serde_json::from_str(VECTORS).expect("fixture is valid JSON")
    }

    fn token(value: &Value) -> AuthToken {
        AuthToken::new(value.as_str().expect("auth_token is a string")).expect("non-empty token")
    }

    /// Params are either an object (one value per name) or a list of `[name, value]` pairs.
    fn params(value: Option<&Value>) -> Vec<(String, String)> {
        match value {
            None => Vec::new(),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("string value").to_owned()))
                .collect(),
            Some(Value::Array(pairs)) => pairs
                .iter()
                .map(|pair| {
                    (
                        pair[0].as_str().expect("name").to_owned(),
                        pair[1].as_str().expect("value").to_owned(),
                    )
                })
                .collect(),
            Some(other) => panic!("unexpected params shape: {other}"),
        }
    }

    fn algorithm(case: &Value) -> Algorithm {
        match case.get("algorithm").and_then(Value::as_str) {
            None => Algorithm::HmacSha1,
            Some(name) => {
                Algorithm::from_settings_header(Some(&format!("key=KS123,algorithm={name}")))
                    .expect("known algorithm")
            }
        }
    }

    #[test]
    fn every_vector_case_reproduces() {
        let vectors = vectors();
        let cases = vectors["cases"].as_array().expect("cases");
        assert_eq!(
            cases.len(),
            16,
            "a case was added or removed: update this test"
        );
        let mut checked = 0;
        for case in cases {
            let name = case["name"].as_str().expect("name");
            let secret = token(&case["auth_token"]);
            let url = case["url"].as_str().expect("url");
            let expected = case["expected_signature"].as_str().expect("signature");
            let algorithm = algorithm(case);

            if let Some(raw_body) = case.get("raw_body").and_then(Value::as_str) {
                // JSON body: signature over the URL alone, body bound through bodySHA256.
                let body_hash = case["body_sha256_hex"].as_str().expect("hash");
                assert_eq!(body_sha256_hex(raw_body.as_bytes()), body_hash, "{name}");
                assert_eq!(body_hash_param(url).as_deref(), Some(body_hash), "{name}");
                let computed = compute_signature::<&str, &str>(&secret, algorithm, url, &[]);
                assert_eq!(computed, expected, "{name}");
                if let Some(also) = case.get("computed_signature").and_then(Value::as_str) {
                    assert_eq!(computed, also, "{name}");
                }
                let with_raw = case["validate_with_raw_body"].as_bool().expect("bool");
                let result =
                    validate_json_body(&secret, algorithm, url, raw_body.as_bytes(), expected);
                assert_eq!(result.is_ok(), with_raw, "{name}: {result:?}");
                let tampered = format!("{raw_body} ");
                let result =
                    validate_json_body(&secret, algorithm, url, tampered.as_bytes(), expected);
                assert_eq!(result, Err(BodyCheckError::BodyHash), "{name}");
                if let Some(want) = case.get("validate_with_tampered_body") {
                    assert_eq!(result.is_ok(), want.as_bool().expect("bool"), "{name}");
                }
            } else {
                let params = params(case.get("params"));
                if let Some(s) = case.get("string_to_sign").and_then(Value::as_str) {
                    assert_eq!(string_to_sign(url, &params), s, "{name}");
                }
                assert_eq!(
                    compute_signature(&secret, algorithm, url, &params),
                    expected,
                    "{name}"
                );
                let want = case["validate_same_url"].as_bool().expect("bool");
                assert_eq!(
                    validate(&secret, algorithm, url, &params, expected),
                    want,
                    "{name}"
                );
                // One changed value must break it.
                let mut forged = params.clone();
                forged.push(("Injected".to_owned(), "1".to_owned()));
                assert!(
                    !validate(&secret, algorithm, url, &forged, expected),
                    "{name}"
                );
            }
            checked += 1;
        }
        assert_eq!(checked, cases.len());
    }

    #[test]
    fn every_port_matrix_row_reproduces() {
        let vectors = vectors();
        let matrix = &vectors["port_matrix"];
        let secret = token(&matrix["auth_token"]);
        let params = params(matrix.get("params"));
        let signed_over = [
            (
                "sig_signed_over_no_port_url",
                "https://ivr.example.com/voice?x=1",
            ),
            (
                "sig_signed_over_443_url",
                "https://ivr.example.com:443/voice?x=1",
            ),
            (
                "sig_signed_over_8443_url",
                "https://ivr.example.com:8443/voice?x=1",
            ),
        ];
        for (key, url) in signed_over {
            assert_eq!(
                compute_signature(&secret, Algorithm::HmacSha1, url, &params),
                matrix[key].as_str().expect("signature"),
                "{key}"
            );
        }
        let rows = matrix["results"].as_array().expect("results");
        assert_eq!(rows.len(), 7);
        for row in rows {
            let url = row["validate_url"].as_str().expect("url");
            let key = row["signature"].as_str().expect("key");
            let signature = matrix[key].as_str().expect("signature");
            let want = row["valid"].as_bool().expect("bool");
            assert_eq!(
                validate(&secret, Algorithm::HmacSha1, url, &params, signature),
                want,
                "{url} with {key}"
            );
        }
    }

    #[test]
    fn sha256_signature_needs_the_sha256_algorithm() {
        let vectors = vectors();
        let case = vectors["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .find(|c| c["name"] == "hmac_sha256_variant")
            .expect("sha256 case");
        let secret = token(&case["auth_token"]);
        let params = params(case.get("params"));
        let url = case["url"].as_str().expect("url");
        let signature = case["expected_signature"].as_str().expect("sig");
        assert!(validate(
            &secret,
            Algorithm::HmacSha256,
            url,
            &params,
            signature
        ));
        assert!(!validate(
            &secret,
            Algorithm::HmacSha1,
            url,
            &params,
            signature
        ));
    }

    #[test]
    fn port_variants() {
        let cases = [
            ("https://h/x?a=1", "https://h/x?a=1", "https://h:443/x?a=1"),
            ("https://h:443/x", "https://h/x", "https://h:443/x"),
            ("http://h/x", "http://h/x", "http://h:80/x"),
            ("HTTPS://h/x", "HTTPS://h/x", "HTTPS://h:443/x"),
            ("https://h:8443/x", "https://h/x", "https://h:8443/x"),
            ("https://h", "https://h", "https://h:443"),
            ("https://h?q=a:b", "https://h?q=a:b", "https://h:443?q=a:b"),
            (
                "https://user:pass@h:8080/x",
                "https://user:pass@h/x",
                "https://user:pass@h:8080/x",
            ),
            (
                "https://user:pass@h/x",
                "https://user:pass@h/x",
                "https://user:pass@h:443/x",
            ),
            (
                "http://[::1]:8080/voice",
                "http://[::1]/voice",
                "http://[::1]:8080/voice",
            ),
            (
                "http://[::1]/voice",
                "http://[::1]/voice",
                "http://[::1]:80/voice",
            ),
            ("https://h:/x", "https://h/x", "https://h:443/x"),
            // Not a URL we can take apart: checked exactly as given.
            ("https://h:abc/x", "https://h:abc/x", "https://h:abc/x"),
            ("/voice", "/voice", "/voice"),
            ("http://[::1/x", "http://[::1/x", "http://[::1/x"),
        ];
        for (url, without, with) in cases {
            let got = url_port_variants(url);
            assert_eq!(got.without_port, without, "{url}");
            assert_eq!(got.with_port, with, "{url}");
        }
    }

    #[test]
    fn duplicate_values_are_deduplicated_and_sorted() {
        let params = [("b", "2"), ("a", "z"), ("a", "y"), ("a", "z"), ("a", "")];
        assert_eq!(string_to_sign("u", &params), "uaayazb2");
    }

    #[test]
    fn signature_is_compared_exactly() {
        let secret = AuthToken::new("12345").unwrap();
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let params = [("CallSid", "CA1")];
        let good = compute_signature(&secret, Algorithm::HmacSha1, url, &params);
        assert!(validate(&secret, Algorithm::HmacSha1, url, &params, &good));
        assert!(validate(
            &secret,
            Algorithm::HmacSha1,
            url,
            &params,
            &format!(" {good} ")
        ));
        assert!(!validate(&secret, Algorithm::HmacSha1, url, &params, ""));
        assert!(!validate(
            &secret,
            Algorithm::HmacSha1,
            url,
            &params,
            &good[..good.len() - 1]
        ));
        assert!(!validate(
            &secret,
            Algorithm::HmacSha1,
            url,
            &params,
            &good.to_lowercase()
        ));
        let other = AuthToken::new("54321").unwrap();
        assert!(!validate(&other, Algorithm::HmacSha1, url, &params, &good));
        // The query is part of the signed text.
        assert!(!validate(
            &secret,
            Algorithm::HmacSha1,
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            &params,
            &good
        ));
    }

    #[test]
    fn json_body_without_hash_is_refused() {
        let secret = AuthToken::new("12345").unwrap();
        let url = "https://h/events";
        let sig = compute_signature::<&str, &str>(&secret, Algorithm::HmacSha1, url, &[]);
        assert_eq!(
            validate_json_body(&secret, Algorithm::HmacSha1, url, b"{}", &sig),
            Err(BodyCheckError::MissingBodyHash)
        );
        let url = format!("https://h/events?bodySHA256={}", body_sha256_hex(b"{}"));
        assert_eq!(
            validate_json_body(&secret, Algorithm::HmacSha1, &url, b"{}", "bogus"),
            Err(BodyCheckError::Signature)
        );
    }

    #[test]
    fn settings_header_selects_algorithm() {
        let parse = Algorithm::from_settings_header;
        assert_eq!(parse(None), Ok(Algorithm::HmacSha1));
        assert_eq!(parse(Some("")), Ok(Algorithm::HmacSha1));
        assert_eq!(parse(Some("key=KS1")), Ok(Algorithm::HmacSha1));
        assert_eq!(
            parse(Some("key=KS1,algorithm=HMAC_SHA256")),
            Ok(Algorithm::HmacSha256)
        );
        assert_eq!(
            parse(Some(" algorithm = hmac_sha256 , key=KS1")),
            Ok(Algorithm::HmacSha256)
        );
        assert_eq!(parse(Some("algorithm=HMAC_SHA1")), Ok(Algorithm::HmacSha1));
        assert!(parse(Some("algorithm=MD5")).is_err());
    }

    #[test]
    fn auth_token_never_prints() {
        let token = AuthToken::new("  0123456789abcdef  ").unwrap();
        assert_eq!(format!("{token:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(token)), "Some([redacted])");
        assert_eq!(AuthToken::new(" \n").unwrap_err(), AuthTokenError::Empty);
    }

    #[test]
    fn log_text_is_short_and_escaped() {
        assert_eq!(truncate_for_log("CA1\n\"x\"", 40), "CA1\\n\\\"x\\\"");
        assert_eq!(truncate_for_log("abcdef", 3), "abc...");
        assert_eq!(truncate_for_log("é", 3), "\\u{e9}");
    }
}
