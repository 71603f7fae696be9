//! The admin key: the one proof that lets a person, or their script, into what shows the flows
//! or acts for the operator: `GET /flows`, the simulator (`/simulate…`) and, for the browser
//! page, `GET /voice/token`.
//!
//! Nothing about where a request comes from grants access. A loopback peer, a loopback `Host`
//! and the absence of proxy headers are exactly what nginx's default `proxy_pass`, an ssh or
//! socat forward and many tunnels produce, so the key is the only thing that counts:
//!
//! - a script sends `Authorization: Bearer <key>`;
//! - a browser opens `/?key=<key>` once: the answer keeps the key in an `HttpOnly;
//!   SameSite=Strict` cookie and redirects to the page without it, so the key stays out of the
//!   address bar and the history. The page's same-origin `fetch` calls then carry the cookie.
//!
//! `ADMIN_KEY` sets the key. Unset, a random one is made at start-up and the log prints the
//! page's link with it, the way notebook servers do, so `cargo run` and a click is still all a
//! newcomer needs. Keys are compared in constant time ([`Secret::matches`]).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, COOKIE, HOST, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::HttpError;
use super::page::PAGE_PATH;
use crate::setting::{PublicUrl, SettingProblem};
use crate::token::Secret;

/// The shortest key accepted: shorter ones could be guessed.
pub const MIN_KEY_LEN: usize = 16;
/// The cookie a browser keeps the key in.
pub const COOKIE_NAME: &str = "callflow_admin";
/// The query parameter of the sign-in link.
pub const KEY_PARAM: &str = "key";
/// The realm named in `WWW-Authenticate`.
const REALM: &str = "callflow admin";
/// Random bytes in a key made at start-up.
const GENERATED_BYTES: usize = 32;

/// A key that is long enough, and made only of characters a link, a cookie and a header carry
/// as they are (RFC 3986's unreserved set). `Debug` never shows it.
#[derive(Clone)]
pub struct AdminKey(Secret);

impl AdminKey {
    /// Checks an `ADMIN_KEY` value; the problem never repeats it.
    pub fn parse(value: &str) -> Result<AdminKey, SettingProblem> {
        let problem = |reason| SettingProblem::AdminKey {
            reason,
            min_len: MIN_KEY_LEN,
        };
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
        {
            return Err(problem(
                "holds a character that a link or a cookie cannot carry as it is",
            ));
        }
        if value.len() < MIN_KEY_LEN {
            return Err(problem("is too short to be safe"));
        }
        Ok(AdminKey(Secret::new(value)))
    }

    /// A new random key: 32 bytes from the operating system's generator, URL-safe base64.
    pub fn generate() -> AdminKey {
        use rand::RngCore as _;
        let mut bytes = [0u8; GENERATED_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        AdminKey(Secret::new(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Whether `candidate` is this key, in constant time.
    fn matches(&self, candidate: &str) -> bool {
        self.0.matches(candidate.as_bytes())
    }
}

impl fmt::Debug for AdminKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminKey([redacted])")
    }
}

/// `ADMIN_KEY` as a setting.
pub fn admin_key(_: &'static str, value: &str) -> Result<AdminKey, SettingProblem> {
    AdminKey::parse(value)
}

/// What a request showed of the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented {
    /// No bearer and no admin cookie.
    Nothing,
    /// A bearer or a cookie, but not the key: a stale cookie from an earlier run, most likely.
    Wrong,
    /// The key.
    Key,
}

/// The key in force and how to tell the operator about it.
#[derive(Debug, Clone)]
pub struct AdminGate {
    key: AdminKey,
    /// Made at start-up rather than set: only then may the log show it.
    generated: bool,
    /// `host[:port]` of an https `PUBLIC_URL`: a sign-in through it gets a `Secure` cookie.
    https_host: Option<String>,
}

impl AdminGate {
    /// The gate for `ADMIN_KEY` (a random key when unset) behind `PUBLIC_URL`.
    pub fn new(key: Option<AdminKey>, public_url: Option<&PublicUrl>) -> Self {
        let https_host = public_url.and_then(|url| {
            let text = url.as_str();
            let rest = text
                .get(..8)
                .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
                .and(text.get(8..))?;
            rest.split('/').next().map(str::to_ascii_lowercase)
        });
        let generated = key.is_none();
        AdminGate {
            key: key.unwrap_or_else(AdminKey::generate),
            generated,
            https_host,
        }
    }

    /// A gate for a known key, as tests and embedders set one.
    pub fn with_key(key: AdminKey) -> Self {
        AdminGate::new(Some(key), None)
    }

    /// What `headers` show of the key: `Authorization: Bearer` or the cookie.
    pub fn presented(&self, headers: &HeaderMap) -> Presented {
        let mut shown = false;
        for candidate in bearer(headers).into_iter().chain(cookies(headers)) {
            if self.key.matches(candidate) {
                return Presented::Key;
            }
            shown = true;
        }
        if shown {
            Presented::Wrong
        } else {
            Presented::Nothing
        }
    }

    /// Whether `headers` carry the key.
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        self.presented(headers) == Presented::Key
    }

    /// `Ok` when `headers` carry the key; otherwise the 401 that says how to get in.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), HttpError> {
        let reason = match self.presented(headers) {
            Presented::Key => return Ok(()),
            Presented::Nothing => {
                "this needs callflow's admin key: open the link with ?key= that the server printed in its log at start-up, or send Authorization: Bearer <ADMIN_KEY>"
            }
            Presented::Wrong => {
                "the admin key sent is not this server's (a key made at start-up changes at every restart): open the link with ?key= from the server's latest start-up log, or send Authorization: Bearer <ADMIN_KEY>"
            }
        };
        Err(unauthorized(reason))
    }

    /// Logged at start-up: the page's link. A key made at start-up is shown, the way notebook
    /// servers do; a key from `ADMIN_KEY` never is.
    pub fn startup_note(&self, bound: SocketAddr, host: &str) -> String {
        let base = format!("http://{}", shown_address(bound, host));
        if self.generated {
            format!(
                "open {base}/?key={} for the test page, the simulator and /flows (scripts send Authorization: Bearer with the same key); the key is new at every start, set ADMIN_KEY to keep one",
                self.key.0.expose()
            )
        } else {
            format!(
                "the test page is at {base}/?key=<ADMIN_KEY>; scripts send Authorization: Bearer <ADMIN_KEY>"
            )
        }
    }

    /// The answer to a sign-in link: the cookie and a redirect to the page without the key, or
    /// a 401 for a wrong key.
    fn sign_in(&self, given: &str, rest: &str, headers: &HeaderMap) -> Response {
        if !self.key.matches(given) {
            return unauthorized(
                "the key in this link is not this server's admin key (a key made at start-up changes at every restart): open the link with ?key= from the server's latest start-up log",
            )
            .into_response();
        }
        let secure = self.https_host.as_deref().is_some_and(|https| {
            headers
                .get(HOST)
                .and_then(|host| host.to_str().ok())
                .is_some_and(|host| host.eq_ignore_ascii_case(https))
        });
        let cookie = format!(
            "{COOKIE_NAME}={}; HttpOnly; SameSite=Strict; Path=/{}",
            self.key.0.expose(),
            if secure { "; Secure" } else { "" }
        );
        let target = if rest.is_empty() {
            PAGE_PATH.to_owned()
        } else {
            format!("{PAGE_PATH}?{rest}")
        };
        let mut response = StatusCode::SEE_OTHER.into_response();
        let headers = response.headers_mut();
        // The key is visible-ASCII by construction, and so is the rest of the query.
        if let (Ok(cookie), Ok(target)) = (
            HeaderValue::from_str(&cookie),
            HeaderValue::from_str(&target),
        ) {
            headers.insert(SET_COOKIE, cookie);
            headers.insert(LOCATION, target);
        }
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
        response
    }
}

/// The 401 every refusal of the key is, with its challenge.
fn unauthorized(reason: &str) -> HttpError {
    HttpError::Unauthorized {
        reason: reason.to_owned(),
        challenges: vec![format!("Bearer realm=\"{REALM}\"")],
    }
}

/// The credentials of `Authorization: Bearer …`, if that is the header's scheme.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim())
}

/// Every value of the admin cookie the request carries.
fn cookies(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE_NAME).then_some(value)
        })
}

/// How the log names the listening address: `localhost` for a wildcard `HOST`, else `HOST`
/// itself (an IPv6 address in brackets), always with the port actually bound.
fn shown_address(bound: SocketAddr, host: &str) -> String {
    let port = bound.port();
    match host.parse::<IpAddr>() {
        Ok(ip) if ip.is_unspecified() => format!("localhost:{port}"),
        Ok(ip) => SocketAddr::new(ip, port).to_string(),
        Err(_) if host.is_empty() => format!("localhost:{port}"),
        Err(_) => format!("{host}:{port}"),
    }
}

/// A layer's function: lets a request through only with the key.
pub async fn require(State(gate): State<Arc<AdminGate>>, request: Request, next: Next) -> Response {
    match gate.check(request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refused) => refused.into_response(),
    }
}

/// A layer's function for the page: `GET /?key=…` and `GET /voice-client.html?key=…` sign the
/// browser in; everything else goes on to the page's files.
pub async fn sign_in(State(gate): State<Arc<AdminGate>>, request: Request, next: Next) -> Response {
    let is_link = matches!(*request.method(), Method::GET | Method::HEAD)
        && matches!(request.uri().path(), "/" | PAGE_PATH);
    let query = request.uri().query().unwrap_or_default();
    let key = is_link
        .then(|| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(name, _)| name == KEY_PARAM)
                .map(|(_, value)| value.into_owned())
        })
        .flatten();
    let Some(key) = key else {
        return next.run(request).await;
    };
    let rest: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            form_urlencoded::parse(query.as_bytes()).filter(|(name, _)| name != KEY_PARAM),
        )
        .finish();
    gate.sign_in(&key, &rest, request.headers())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "test-admin-key-0123456789";

    fn gate() -> AdminGate {
        AdminGate::with_key(AdminKey::parse(KEY).unwrap())
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn a_key_must_be_long_and_plain_and_never_shows() {
        for bad in [
            "short-key",
            "has space in it 0123",
            "semi;colon-0123456789",
            "plus+sign0123456789",
        ] {
            let problem = AdminKey::parse(bad).unwrap_err();
            assert!(!problem.to_string().contains(bad), "{problem}");
            assert!(problem.to_string().contains("ADMIN_KEY"), "{problem}");
        }
        let key = AdminKey::parse(KEY).unwrap();
        assert_eq!(format!("{key:?}"), "AdminKey([redacted])");
        assert!(!format!("{:?}", gate()).contains(KEY));
    }

    #[test]
    fn generated_keys_are_long_urlsafe_and_fresh() {
        let (a, b) = (AdminKey::generate(), AdminKey::generate());
        assert_eq!(a.0.expose().len(), 43);
        assert!(AdminKey::parse(a.0.expose()).is_ok());
        assert_ne!(a.0.expose(), b.0.expose());
    }

    #[test]
    fn the_key_comes_as_a_bearer_or_a_cookie_and_nothing_else() {
        let gate = gate();
        let bearer = format!("Bearer {KEY}");
        let cookie = format!("theme=dark; {COOKIE_NAME}={KEY}");
        assert_eq!(
            gate.presented(&headers(&[("authorization", &bearer)])),
            Presented::Key
        );
        assert_eq!(
            gate.presented(&headers(&[("cookie", &cookie)])),
            Presented::Key
        );
        assert_eq!(gate.presented(&HeaderMap::new()), Presented::Nothing);
        assert_eq!(
            gate.presented(&headers(&[("cookie", "theme=dark"), ("host", "localhost")])),
            Presented::Nothing
        );
        assert_eq!(
            gate.presented(&headers(&[("authorization", "Bearer not-the-key-at-all")])),
            Presented::Wrong
        );
        let stale = format!("{COOKIE_NAME}=old-key-from-yesterday");
        assert_eq!(
            gate.presented(&headers(&[("cookie", &stale)])),
            Presented::Wrong
        );
        // A stale cookie does not hide a right bearer.
        assert_eq!(
            gate.presented(&headers(&[("cookie", &stale), ("authorization", &bearer)])),
            Presented::Key
        );
        let basic = format!("Basic {KEY}");
        assert_eq!(
            gate.presented(&headers(&[("authorization", &basic)])),
            Presented::Nothing
        );
    }

    #[test]
    fn the_log_shows_a_made_key_but_never_a_set_one() {
        let bound: SocketAddr = "0.0.0.0:3000".parse().unwrap();
        let set = gate().startup_note(bound, "0.0.0.0");
        assert!(
            set.contains("http://localhost:3000/?key=<ADMIN_KEY>"),
            "{set}"
        );
        assert!(!set.contains(KEY), "{set}");
        let made = AdminGate::new(None, None);
        let note = made.startup_note("[::]:4000".parse().unwrap(), "::");
        let link = format!("http://localhost:4000/?key={}", made.key.0.expose());
        assert!(note.contains(&link), "{note}");
        assert!(
            made.startup_note(bound, "127.0.0.1")
                .contains("http://127.0.0.1:3000/?key=")
        );
        assert!(
            made.startup_note(bound, "::1")
                .contains("http://[::1]:3000/?key=")
        );
    }

    #[test]
    fn the_cookie_is_secure_only_through_an_https_public_url() {
        let url = PublicUrl::parse("https://IVR.example.com/base").unwrap();
        let gate = AdminGate::new(Some(AdminKey::parse(KEY).unwrap()), Some(&url));
        let cookie = |host: &str| {
            let response = gate.sign_in(KEY, "", &headers(&[("host", host)]));
            response.headers()[SET_COOKIE].to_str().unwrap().to_owned()
        };
        assert!(cookie("ivr.example.com").ends_with("; Secure"));
        assert!(!cookie("localhost:3000").contains("Secure"));
        let plain = PublicUrl::parse("http://ivr.example.com").unwrap();
        let gate = AdminGate::new(None, Some(&plain));
        assert_eq!(gate.https_host, None);
    }
}
