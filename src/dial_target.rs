//! What a flow may dial: parsing, normalising and allow-listing `<Dial>` targets.
//!
//! A dial target often comes from a template over caller input (the browser SDK's `To`
//! parameter, digits typed on the keypad). Whoever controls that input must not be able to make
//! the phone line call somewhere the flow does not allow, run up a bill on a premium-rate or
//! satellite number, or smuggle markup into the TwiML. So every target goes through three gates:
//!
//! 1. [`parse`] turns raw text into a [`DialTarget`] whose text uses only a strict charset per
//!    kind (E.164 digits, Voice SDK identity characters, a conservative SIP URI). Anything odd is
//!    refused, never "cleaned up": a stripped character is a changed meaning.
//! 2. [`AllowList::permits`] matches the canonical form against the flow's glob patterns.
//! 3. Some numbers are refused even when a pattern matches, unless a pattern names them on purpose:
//!    - what Google's libphonenumber metadata (the `metadata` module) says is not a valid number,
//!      or a premium-rate, shared-cost, personal, UAN, voicemail or pager number
//!      ([`REFUSED_TYPES`]). A pattern names one by spelling out the country code and at least
//!      [`NAMED_NATIONAL_DIGITS`] digits of the national number (`+1900*`), or the whole number;
//!    - the [`HIGH_RISK_DESTINATIONS`]: countries, global codes and NANP area codes where
//!      ordinary numbers are favourite targets of revenue-share fraud. A pattern names one by
//!      starting with its prefix (`+53*`).
//!
//!    So `+*`, `+1*` or `+48*` never reach `+1900…`, Cuba or a Polish 70x number. The same
//!    fences stand around SIP addresses whose user part is an international number
//!    (`sip:+19005550100@trunk.example.com`), since a SIP trunk dials those onwards.
//!
//! Twilio's Geo Permissions stay the last fence: they decide which countries the account can
//! call at all, whatever callflow lets through.

mod high_risk;
mod metadata;

use std::fmt;

pub use high_risk::{HIGH_RISK_DESTINATIONS, HighRiskDestination};
use metadata::Reading;
pub use phonenumber::Type as NumberType;

/// Which TwiML noun a target becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetKind {
    /// A phone number, `<Number>`.
    Number,
    /// A Voice SDK (browser or mobile) client, `<Client>`.
    Client,
    /// A SIP endpoint, `<Sip>`.
    Sip,
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetKind::Number => "phone number",
            TargetKind::Client => "browser client",
            TargetKind::Sip => "SIP address",
        })
    }
}

/// A dial target that passed every check: safe to write into TwiML.
///
/// Only [`parse`] builds one, so holding a `DialTarget` proves its text is in the strict charset
/// of its kind (no `<`, `&`, quotes, spaces or control characters can be in it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialTarget {
    kind: TargetKind,
    canonical: String,
}

impl DialTarget {
    /// Which noun this target becomes.
    pub fn kind(&self) -> TargetKind {
        self.kind
    }

    /// Canonical form used for matching and logs: "+15551234567", "client:alice",
    /// "sip:bob@example.com".
    pub fn as_str(&self) -> &str {
        &self.canonical
    }

    /// What goes in the TwiML noun: the E.164 number, the client identity WITHOUT "client:", or
    /// the SIP URI.
    pub fn noun_text(&self) -> &str {
        match self.kind {
            TargetKind::Client => &self.canonical[CLIENT_PREFIX.len()..],
            TargetKind::Number | TargetKind::Sip => &self.canonical,
        }
    }
}

impl fmt::Display for DialTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical)
    }
}

const CLIENT_PREFIX: &str = "client:";
/// Longest raw input looked at. Longer text is refused before any other work so a hostile value
/// cannot make parsing or logging expensive.
const MAX_RAW_BYTES: usize = 512;
/// Twilio's rule for Voice SDK identities: up to 121 letters, digits or `_`.
const MAX_CLIENT_IDENTITY: usize = 121;
const MAX_SIP_URI: usize = 255;
/// Characters people write inside phone numbers for readability. Only these are removed;
/// anything else (letters, `*`, `#`, `w`, `,`, tabs, non-ASCII digits…) is refused.
const NUMBER_SEPARATORS: [char; 5] = [' ', '-', '.', '(', ')'];
/// How much of a refused raw value is quoted in a message.
const SHOWN_CHARS: usize = 40;

/// Why a target was refused. `Display` is a plain sentence for the log that names the cause and
/// quotes at most 40 characters of the raw value, escaped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// Nothing (or only whitespace) to dial.
    #[error("the dial target is empty (did the template render nothing?)")]
    Empty,
    /// Longer than any valid target could be.
    #[error("the dial target is too long ({len} bytes): {shown}")]
    TooLong { len: usize, shown: String },
    /// The flow field names one kind and the value is another (`number:` given `client:bob`).
    #[error("expected a {expected} but got a {found}: {shown}")]
    WrongKind {
        expected: TargetKind,
        found: TargetKind,
        shown: String,
    },
    /// A character that is neither a digit, a leading `+` nor a visual separator.
    #[error("the number {shown} contains {what}, which is not allowed in a phone number")]
    NumberCharacter { shown: String, what: String },
    /// No `+` (or `00`) in front: a national number cannot be dialled safely from a flow.
    #[error("the number {shown} is not in international format (+ and country code)")]
    NotInternational { shown: String },
    /// E.164 numbers have 7 to 15 digits after the `+`.
    #[error("the number {shown} has {digits} digit(s); an international number has 7 to 15")]
    NumberLength { shown: String, digits: usize },
    /// `+0…`: no country code starts with 0.
    #[error("the number {shown} starts with +0, and no country code starts with 0")]
    CountryCodeZero { shown: String },
    /// Not a Voice SDK identity.
    #[error(
        "the browser client identity {shown} is not allowed: use 1 to 121 letters, digits or _ (Twilio's rule for identities)"
    )]
    ClientIdentity { shown: String },
    /// Not a SIP URI in the conservative form callflow dials.
    #[error("the SIP address {shown} is not allowed: {problem}")]
    Sip {
        shown: String,
        problem: &'static str,
    },
}

/// Parses and normalises raw text (usually rendered from a template). `expected`: the kind the
/// flow field names (`number:`, `client:`, `sip:`), or None for a generic `to:` field (infer:
/// "client:" prefix → Client, "sip:"/"sips:" → Sip, else Number).
///
/// With `expected = Some(Client)` a bare identity (`alice`) is accepted as well as
/// `client:alice`; a SIP address must always carry its `sip:`/`sips:` scheme.
pub fn parse(raw: &str, expected: Option<TargetKind>) -> Result<DialTarget, Refusal> {
    if raw.len() > MAX_RAW_BYTES {
        return Err(Refusal::TooLong {
            len: raw.len(),
            shown: shown(raw),
        });
    }
    let text = raw.trim();
    if text.is_empty() {
        return Err(Refusal::Empty);
    }
    let prefixed = prefixed_kind(text);
    let kind = match (expected, prefixed) {
        (None, found) => found.unwrap_or(TargetKind::Number),
        (Some(want), Some(found)) if want != found => {
            return Err(Refusal::WrongKind {
                expected: want,
                found,
                shown: shown(raw),
            });
        }
        (Some(want), _) => want,
    };
    let canonical = match kind {
        TargetKind::Number => parse_number(text).map_err(|e| e.with_shown(raw))?,
        TargetKind::Client => {
            let identity = if prefixed == Some(TargetKind::Client) {
                &text[CLIENT_PREFIX.len()..]
            } else {
                text
            };
            if !is_client_identity(identity) {
                return Err(Refusal::ClientIdentity { shown: shown(raw) });
            }
            format!("{CLIENT_PREFIX}{identity}")
        }
        TargetKind::Sip => parse_sip(text).map_err(|problem| Refusal::Sip {
            shown: shown(raw),
            problem,
        })?,
    };
    Ok(DialTarget { kind, canonical })
}

/// The kind announced by a scheme prefix, compared case-insensitively.
fn prefixed_kind(text: &str) -> Option<TargetKind> {
    let starts = |prefix: &str| {
        text.get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    if starts(CLIENT_PREFIX) {
        Some(TargetKind::Client)
    } else if starts("sip:") || starts("sips:") {
        Some(TargetKind::Sip)
    } else {
        None
    }
}

/// A number refusal before the raw value is attached.
enum NumberProblem {
    Character(char),
    NotInternational,
    Length(usize),
    CountryCodeZero,
}

impl NumberProblem {
    fn with_shown(self, raw: &str) -> Refusal {
        let shown = shown(raw);
        match self {
            NumberProblem::Character(c) => Refusal::NumberCharacter {
                shown,
                what: describe_char(c),
            },
            NumberProblem::NotInternational => Refusal::NotInternational { shown },
            NumberProblem::Length(digits) => Refusal::NumberLength { shown, digits },
            NumberProblem::CountryCodeZero => Refusal::CountryCodeZero { shown },
        }
    }
}

/// Normalises to E.164 (`^\+[1-9][0-9]{6,14}$`): separators removed, leading `00` → `+`.
fn parse_number(text: &str) -> Result<String, NumberProblem> {
    let compact: String = text
        .chars()
        .filter(|c| !NUMBER_SEPARATORS.contains(c))
        .collect();
    let number = match compact.strip_prefix("00") {
        Some(rest) => format!("+{rest}"),
        None => compact,
    };
    if let Some(bad) = number
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (c == '+' && i == 0)))
    {
        return Err(NumberProblem::Character(bad.1));
    }
    let Some(digits) = number.strip_prefix('+') else {
        return Err(NumberProblem::NotInternational);
    };
    if digits.starts_with('0') {
        return Err(NumberProblem::CountryCodeZero);
    }
    if !(7..=15).contains(&digits.len()) {
        return Err(NumberProblem::Length(digits.len()));
    }
    Ok(number)
}

fn is_client_identity(identity: &str) -> bool {
    (1..=MAX_CLIENT_IDENTITY).contains(&identity.len())
        && identity
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Characters a SIP URI may contain at all; everything XML- or shell-significant is outside.
fn is_sip_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._+-@:;=[]".contains(c)
}

fn is_sip_user(user: &str) -> bool {
    !user.is_empty()
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
}

/// URI parameters callflow passes on, and the values each may take. `maddr` and friends would
/// let a caller reroute the call to another server, so unknown parameters are refused.
const SIP_PARAMETERS: [&str; 3] = ["transport", "region", "edge"];

/// Checks `sip:`/`sips:` `user@host[:port][;param=value…]` and returns the canonical form
/// (lowercase scheme, host and parameters; the user part keeps its case).
fn parse_sip(text: &str) -> Result<String, &'static str> {
    if text.len() > MAX_SIP_URI {
        return Err("it is longer than 255 characters");
    }
    if !text.chars().all(is_sip_char) {
        return Err(
            "it may only contain letters, digits and . _ + - @ : ; = [ ] (no spaces, quotes, <, >, & or control characters)",
        );
    }
    let (scheme, rest) = text
        .split_once(':')
        .ok_or("it must start with sip: or sips:")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "sip" && scheme != "sips" {
        return Err("it must start with sip: or sips:");
    }
    let (user, host_and_more) = rest
        .split_once('@')
        .ok_or("it needs a user@host part, like sip:bob@example.com")?;
    if host_and_more.contains('@') {
        return Err("it contains more than one @");
    }
    if !is_sip_user(user) {
        return Err("the user part may only use letters, digits and . _ + -");
    }
    let (host_port, params) = match host_and_more.split_once(';') {
        Some((host_port, params)) => (host_port, Some(params)),
        None => (host_and_more, None),
    };
    let (host, port) = split_sip_host(host_port)?;
    let mut canonical = format!("{scheme}:{user}@{host}");
    if let Some(port) = port {
        canonical.push(':');
        canonical.push_str(&port.to_string());
    }
    if let Some(params) = params {
        let mut seen = Vec::new();
        for param in params.split(';') {
            let (name, value) = param
                .split_once('=')
                .ok_or("SIP parameters must be written name=value")?;
            let name = name.to_ascii_lowercase();
            let value = value.to_ascii_lowercase();
            if !SIP_PARAMETERS.contains(&name.as_str()) {
                return Err("only the ;transport=, ;region= and ;edge= parameters are allowed");
            }
            if seen.contains(&name) {
                return Err("a SIP parameter is given twice");
            }
            let valid = if name == "transport" {
                ["udp", "tcp", "tls"].contains(&value.as_str())
            } else {
                (1..=32).contains(&value.len())
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            };
            if !valid {
                return Err(
                    "a SIP parameter has a value callflow does not accept (transport is udp, tcp or tls; region and edge are names like ie1 or dublin)",
                );
            }
            canonical.push(';');
            canonical.push_str(&name);
            canonical.push('=');
            canonical.push_str(&value);
            seen.push(name);
        }
    }
    Ok(canonical)
}

/// Splits `host[:port]` or `[ipv6][:port]`, returning the lowercase host and the port number.
fn split_sip_host(host_port: &str) -> Result<(String, Option<u16>), &'static str> {
    let (host, port) = if let Some(inner_and_more) = host_port.strip_prefix('[') {
        let (inner, after) = inner_and_more
            .split_once(']')
            .ok_or("an IPv6 host needs its closing ]")?;
        let valid_v6 = inner.contains(':')
            && inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        if !valid_v6 {
            return Err("the IPv6 host is not valid");
        }
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or("the host is not valid")?),
        };
        (host_port[..inner.len() + 2].to_ascii_lowercase(), port)
    } else {
        let (host, port) = match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        };
        if !is_host_name(host) {
            return Err("the host must be a name like example.com or an IP address");
        }
        (host.to_ascii_lowercase(), port)
    };
    let port = match port {
        None => None,
        // `u16::from_str` alone would accept a leading `+`; only plain digits are a port.
        Some(text) if text.bytes().all(|b| b.is_ascii_digit()) => match text.parse::<u16>() {
            Ok(number) if number != 0 => Some(number),
            _ => return Err("the port must be a number from 1 to 65535"),
        },
        Some(_) => return Err("the port must be a number from 1 to 65535"),
    };
    Ok((host, port))
}

/// A DNS name or dotted IPv4 address: labels of letters, digits and `-`, not starting or ending
/// with `-`, 1-63 characters each, 253 in all.
fn is_host_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Quotes the first 40 characters of a raw value, escaped so that control characters, quotes and
/// non-ASCII look-alikes (fullwidth digits, bidi overrides) are visible in a log.
fn shown(raw: &str) -> String {
    let mut out = String::from("\"");
    out.extend(raw.chars().take(SHOWN_CHARS).flat_map(char::escape_default));
    if raw.chars().nth(SHOWN_CHARS).is_some() {
        out.push_str("...");
    }
    out.push('"');
    out
}

fn describe_char(c: char) -> String {
    match c {
        '\n' | '\r' => "a line break".to_owned(),
        '\t' => "a tab".to_owned(),
        '\0' => "a NUL byte".to_owned(),
        c if c.is_ascii_graphic() => format!("'{c}'"),
        c if c.is_numeric() => format!("the non-ASCII digit U+{:04X}", u32::from(c)),
        c if c.is_whitespace() => format!("the space character U+{:04X}", u32::from(c)),
        c => format!("the character U+{:04X}", u32::from(c)),
    }
}

/// The flow's list of targets it may dial, as glob patterns over the canonical form.
///
/// `*` matches any run of characters. Patterns are written like targets: `+1*`, `+44*`,
/// `client:*`, `client:agent_*`, `sip:*@example.com`, `sip:*`. Number patterns may contain the
/// same separators as numbers (`+1 555 *`). An empty list permits nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    kind: TargetKind,
    /// Canonical pattern text (separators removed, scheme and host lowercased).
    glob: String,
}

impl Pattern {
    /// The number the pattern spells out before its first `*`: what decides whether it names a
    /// fenced number on purpose. For a SIP pattern it is the user part (`sip:+1900*@trunk` →
    /// `+1900`), read like a SIP target's number.
    fn literal_number_prefix(&self) -> String {
        let literal = self.glob.split('*').next().unwrap_or("");
        match self.kind {
            TargetKind::Number => literal.to_owned(),
            TargetKind::Client => String::new(),
            TargetKind::Sip => {
                let user = literal.split_once(':').map_or("", |(_, rest)| rest);
                let user = user.split('@').next().unwrap_or("");
                sip_user_number(user).unwrap_or_default()
            }
        }
    }

    fn matches(&self, target: &DialTarget) -> bool {
        self.kind == target.kind && glob_match(self.glob.as_bytes(), target.as_str().as_bytes())
    }
}

/// A pattern in the flow's allow list that cannot be used; says which one and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("allowed dial target #{position} ({pattern}) is not valid: {problem}", position = .index + 1)]
pub struct PatternError {
    /// Position in the list given to [`AllowList::parse`], from 0.
    pub index: usize,
    /// The pattern as written, shortened and escaped.
    pub pattern: String,
    /// What is wrong with it.
    pub problem: PatternProblem,
}

/// What is wrong with an allow-list pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatternProblem {
    #[error("it is empty")]
    Empty,
    #[error(
        "a bare * would allow every kind of target; write +* for any number, client:* for any browser client or sip:* for any SIP address"
    )]
    BareStar,
    #[error("it must start with + (a number), client: or sip:/sips:")]
    UnknownKind,
    #[error("a number pattern must start with + and the country code (or 00)")]
    NumberNotInternational,
    #[error("a number pattern may only contain digits, * and the separators space - . ( )")]
    NumberCharacter,
    #[error("a number pattern cannot start with +0 or have more than 15 digits")]
    NumberImpossible,
    #[error("it has no * and is not a valid number: {0}")]
    NumberInvalid(Refusal),
    #[error(
        "a client pattern is client: followed by letters, digits, _ and * (at most 121 characters)"
    )]
    Client,
    #[error("{0}")]
    Sip(&'static str),
}

impl AllowList {
    /// Checks every pattern up front, so a flow with a mistyped pattern fails at load time
    /// instead of silently never matching.
    pub fn parse(patterns: &[String]) -> Result<AllowList, PatternError> {
        let patterns = patterns
            .iter()
            .enumerate()
            .map(|(index, raw)| {
                compile_pattern(raw).map_err(|problem| PatternError {
                    index,
                    pattern: shown(raw),
                    problem,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AllowList { patterns })
    }

    /// True when the flow may dial this target.
    pub fn permits(&self, target: &DialTarget) -> bool {
        self.check(target).is_ok()
    }

    /// Like [`permits`](Self::permits), but says why not, for the log.
    ///
    /// A target matching a pattern is still refused while one of its fences (see `fences`) stands:
    /// a pattern opens a fence only when its literal text (before its first `*`) starts with
    /// the fence's prefix, so only a pattern that names the range on purpose opens it.
    pub fn check(&self, target: &DialTarget) -> Result<(), NotPermitted> {
        let mut matching = self
            .patterns
            .iter()
            .filter(|p| p.matches(target))
            .peekable();
        if matching.peek().is_none() {
            return Err(NotPermitted::NotAllowed {
                target: target.as_str().to_owned(),
            });
        }
        let fences = fences(target);
        let mut standing = None;
        for pattern in matching {
            let literal = pattern.literal_number_prefix();
            match fences
                .iter()
                .find(|f| !literal.starts_with(f.prefix.as_str()))
            {
                Some(fence) => standing = Some(fence),
                None => return Ok(()),
            }
        }
        Err(match standing {
            Some(fence) => NotPermitted::Denied {
                target: target.as_str().to_owned(),
                prefix: fence.prefix.clone(),
                reason: fence.reason(),
            },
            None => NotPermitted::NotAllowed {
                target: target.as_str().to_owned(),
            },
        })
    }

    /// Whether any pattern matches `target`, fences aside: for lists that
    /// pick out callers, where no call is placed and so nothing is fenced.
    pub fn matches(&self, target: &DialTarget) -> bool {
        self.patterns.iter().any(|pattern| pattern.matches(target))
    }

    /// True when the list has no patterns (and so permits nothing).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

/// Why a valid target may not be dialled by this flow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotPermitted {
    /// No pattern in the flow's list matches.
    #[error("{target} is not among the targets this flow may dial")]
    NotAllowed { target: String },
    /// A pattern matches, but the number is refused by default and no matching pattern names
    /// it on purpose.
    #[error(
        "{target} is refused: {reason}; to dial it on purpose, add an allowed pattern that starts with {prefix}"
    )]
    Denied {
        target: String,
        /// What a pattern must start with to open it.
        prefix: String,
        /// Why it is refused, as a phrase.
        reason: String,
    },
}

/// How many digits of the national number a pattern must spell out, after the country code,
/// to open a number the metadata refuses (`+1900*`, `+44909*`): enough to name one range,
/// never a whole country.
pub const NAMED_NATIONAL_DIGITS: usize = 3;

/// The number types refused by default, and why. The others (fixed line, mobile, toll-free,
/// VoIP) are dialled.
pub const REFUSED_TYPES: &[(NumberType, &str)] = &[
    (
        NumberType::PremiumRate,
        "it is a premium-rate number, billed far above a normal call with a share paid to its owner",
    ),
    (
        NumberType::SharedCost,
        "it is a shared-cost number, billed above a normal call with part of the charge paid to its owner",
    ),
    (
        NumberType::PersonalNumber,
        "it is a personal (follow-me) number, which can forward anywhere and often costs premium rates",
    ),
    (
        NumberType::Uan,
        "it is a UAN (universal access) number, a non-geographic business number whose rate its owner's plan sets",
    ),
    (
        NumberType::Voicemail,
        "it is a voicemail access number, which reaches a mailbox system rather than a person",
    ),
    (
        NumberType::Pager,
        "it is a pager number, which cannot take a voice call and in some ranges costs premium rates",
    ),
];

/// The phrase for a number that is not valid.
const NOT_VALID: &str = "it is not a valid number (no range of its country holds it in Google's libphonenumber metadata)";
/// The phrase for a number whose calling code no country uses.
const NO_SUCH_CODE: &str = "no country or global service uses its calling code";

/// Something that keeps a number out of every pattern that does not name it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fence {
    /// What a pattern must start with to open it.
    prefix: String,
    reason: &'static str,
    /// Whether the reason is a high-risk destination's, rather than the number's type.
    high_risk: bool,
}

impl Fence {
    fn reason(&self) -> String {
        if self.high_risk {
            format!(
                "it is on the list of high-risk destinations ({})",
                self.reason
            )
        } else {
            self.reason.to_owned()
        }
    }
}

/// The fences around a target: a number, or a SIP address whose user part is an international
/// number (`sip:+19005550100@trunk.example.com` reaches the same premium line through a SIP
/// trunk). At most two: what the metadata says about the number, and the high-risk list.
fn fences(target: &DialTarget) -> Vec<Fence> {
    let number = match target.kind {
        TargetKind::Number => target.canonical.clone(),
        TargetKind::Client => return Vec::new(),
        TargetKind::Sip => {
            let user = target
                .canonical
                .split_once(':')
                .and_then(|(_, rest)| rest.split('@').next())
                .unwrap_or("");
            match sip_user_number(user) {
                Some(number) => number,
                None => return Vec::new(),
            }
        }
    };
    let mut fences = Vec::with_capacity(2);
    let digits = &number[1..];
    let named = |code_digits: usize| {
        let end = (1 + code_digits + NAMED_NATIONAL_DIGITS).min(number.len());
        number[..end].to_owned()
    };
    let refused = match metadata::read(digits) {
        Reading::NoSuchCountryCode => Some((number.clone(), NO_SUCH_CODE)),
        Reading::Invalid { code_digits } => Some((named(code_digits), NOT_VALID)),
        Reading::Valid { code_digits, kind } => REFUSED_TYPES
            .iter()
            .find(|(refused, _)| *refused == kind)
            .map(|(_, reason)| (named(code_digits), *reason)),
    };
    if let Some((prefix, reason)) = refused {
        fences.push(Fence {
            prefix,
            reason,
            high_risk: false,
        });
    }
    if let Some(destination) = high_risk::destination_of(&number) {
        fences.push(Fence {
            prefix: destination.prefix.to_owned(),
            reason: destination.reason,
            high_risk: true,
        });
    }
    fences
}

/// Reads a SIP user part as an international number when it is one: `+` or `00`, then digits,
/// with the `-` and `.` separators a SIP user may contain removed. Prefixes count too (`+1900`
/// from a pattern's literal text).
fn sip_user_number(user: &str) -> Option<String> {
    let compact: String = user.chars().filter(|&c| c != '-' && c != '.').collect();
    let digits = compact
        .strip_prefix('+')
        .or_else(|| compact.strip_prefix("00"))?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then(|| format!("+{digits}"))
}

fn compile_pattern(raw: &str) -> Result<Pattern, PatternProblem> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(PatternProblem::Empty);
    }
    if text.chars().all(|c| c == '*') {
        return Err(PatternProblem::BareStar);
    }
    match prefixed_kind(text) {
        Some(TargetKind::Client) => {
            let identity = &text[CLIENT_PREFIX.len()..];
            let literal_len = identity.bytes().filter(|&b| b != b'*').count();
            let valid = !identity.is_empty()
                && literal_len <= MAX_CLIENT_IDENTITY
                && identity
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'*');
            if !valid {
                return Err(PatternProblem::Client);
            }
            Ok(Pattern {
                kind: TargetKind::Client,
                glob: format!("{CLIENT_PREFIX}{identity}"),
            })
        }
        Some(TargetKind::Sip) => Ok(Pattern {
            kind: TargetKind::Sip,
            glob: compile_sip_pattern(text).map_err(PatternProblem::Sip)?,
        }),
        Some(TargetKind::Number) | None => compile_number_pattern(text).map(|glob| Pattern {
            kind: TargetKind::Number,
            glob,
        }),
    }
}

fn compile_number_pattern(text: &str) -> Result<String, PatternProblem> {
    let first = text.chars().next().unwrap_or(' ');
    if !(first == '+' || first.is_ascii_digit() || NUMBER_SEPARATORS.contains(&first)) {
        return Err(PatternProblem::UnknownKind);
    }
    if !text.contains('*') {
        return parse(text, Some(TargetKind::Number))
            .map(|target| target.canonical)
            .map_err(PatternProblem::NumberInvalid);
    }
    let compact: String = text
        .chars()
        .filter(|c| !NUMBER_SEPARATORS.contains(c))
        .collect();
    let glob = match compact.strip_prefix("00") {
        Some(rest) => format!("+{rest}"),
        None => compact,
    };
    let Some(body) = glob.strip_prefix('+') else {
        return Err(PatternProblem::NumberNotInternational);
    };
    if !body.bytes().all(|b| b.is_ascii_digit() || b == b'*') {
        return Err(PatternProblem::NumberCharacter);
    }
    let digits = body.bytes().filter(u8::is_ascii_digit).count();
    if body.starts_with('0') || digits > 15 {
        return Err(PatternProblem::NumberImpossible);
    }
    Ok(glob)
}

/// SIP patterns: `sip:*` (any SIP address of that scheme) or `user-glob@host[:port][;params]`,
/// where the host is a plain name, `*` or `*.example.com`. A `*` glued to a host name
/// (`example.com*`) is refused because it would also match `example.com.attacker.net`.
fn compile_sip_pattern(text: &str) -> Result<String, &'static str> {
    const SHAPE: &str = "write SIP patterns as sip:user@host (a * may stand for the user, the whole host, a leading *. of the host, the port or the parameters), or sip:* for any SIP address";
    let (scheme, rest) = text.split_once(':').ok_or(SHAPE)?;
    let scheme = scheme.to_ascii_lowercase();
    if text.len() > MAX_SIP_URI || !text.chars().all(|c| c == '*' || is_sip_char(c)) {
        return Err(
            "a SIP pattern may only contain letters, digits, * and . _ + - @ : ; = [ ] (at most 255 characters)",
        );
    }
    if rest == "*" {
        return Ok(format!("{scheme}:*"));
    }
    let (user, host_and_more) = rest.split_once('@').ok_or(SHAPE)?;
    if host_and_more.contains('@')
        || user.is_empty()
        || !user
            .split('*')
            .all(|part| part.is_empty() || is_sip_user(part))
    {
        return Err(SHAPE);
    }
    let host_end = if host_and_more.starts_with('[') {
        host_and_more
            .find(']')
            .map_or(host_and_more.len(), |i| i + 1)
    } else {
        host_and_more
            .find([':', ';'])
            .unwrap_or(host_and_more.len())
    };
    let (host, tail) = host_and_more.split_at(host_end);
    let host = host.to_ascii_lowercase();
    let literal_host = match host.strip_prefix('*') {
        None => host.as_str(),
        Some("") => "",
        Some(rest) => rest.strip_prefix('.').ok_or(SHAPE)?,
    };
    if literal_host.contains('*') {
        return Err(
            "in a SIP pattern the host may be *, *.example.com or a plain host name; a * elsewhere in the host would also match other domains",
        );
    }
    if !literal_host.is_empty() && split_sip_host(literal_host).is_err() {
        return Err("the host in this SIP pattern is not a valid host name or address");
    }
    Ok(format!(
        "{scheme}:{user}@{host}{}",
        tail.to_ascii_lowercase()
    ))
}

/// Glob match where `*` matches any run of bytes (including none). Iterative with a single
/// backtrack point, so it is linear-ish and cannot blow up on hostile input.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_basics() {
        assert!(glob_match(b"+1*", b"+15551234567"));
        assert!(glob_match(b"*", b""));
        assert!(glob_match(b"a*b*c", b"aXXbYYc"));
        assert!(!glob_match(b"a*b*c", b"aXXbYY"));
        assert!(glob_match(b"sip:*@example.com", b"sip:bob@example.com"));
        assert!(!glob_match(
            b"sip:*@example.com",
            b"sip:bob@example.com.evil.net"
        ));
        assert!(glob_match(b"exact", b"exact"));
        assert!(!glob_match(b"exact", b"exactly"));
    }

    #[test]
    fn shown_is_escaped_and_short() {
        assert_eq!(shown("a\"<\n"), r#""a\"<\n""#);
        let long = "9".repeat(100);
        assert_eq!(shown(&long), format!("\"{}...\"", "9".repeat(40)));
    }
}
