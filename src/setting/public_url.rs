//! `PUBLIC_URL`: the one place its text becomes a URL, for both the webhook signature check and
//! the engine's callback URLs.

use std::fmt;

use super::SettingProblem;
use crate::signature::truncate_for_log;

/// The public base URL Twilio calls, validated: absolute `http`/`https`, a host, no query,
/// fragment or credentials. Trailing `/` are trimmed so a request path can be appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    /// Validates a `PUBLIC_URL` value such as `https://abc.ngrok.app` or
    /// `https://example.com/callflow` (a path prefix is kept, for proxies that strip it).
    pub fn parse(raw: &str) -> Result<PublicUrl, SettingProblem> {
        let problem = |problem: &'static str| SettingProblem::PublicUrl {
            shown: truncate_for_log(raw, 80),
            problem,
        };
        let text = raw.trim();
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(problem("it contains spaces or control characters"));
        }
        let lower = text.to_ascii_lowercase();
        let rest = if lower.starts_with("https://") {
            &text[8..]
        } else if lower.starts_with("http://") {
            &text[7..]
        } else {
            return Err(problem(
                "it must be an absolute URL starting with https:// (or http://)",
            ));
        };
        if text.contains(['?', '#']) {
            return Err(problem(
                "it must not have a query or fragment; give only the base, like https://abc.ngrok.app",
            ));
        }
        let authority = rest.split('/').next().unwrap_or("");
        if authority.is_empty() {
            return Err(problem("it has no host name"));
        }
        if authority.contains('@') {
            return Err(problem("it must not contain user:password@"));
        }
        Ok(PublicUrl(text.trim_end_matches('/').to_owned()))
    }

    /// The URL without trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// [`PublicUrl::parse`] as a setting.
pub fn public_url(_: &'static str, value: &str) -> Result<PublicUrl, SettingProblem> {
    PublicUrl::parse(value)
}
