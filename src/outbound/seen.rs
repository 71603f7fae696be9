//! What a transcript shows of a request: method, URL with secrets masked,
//! how it went and how long it took.
//!
//! The engine notes each request of a turn; the `/voice` answer carries
//! them in a header when the simulator asks (as it does for the steps run),
//! so `callflow call`, the page and flow tests all show the same thing.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The simulator's request header asking for the requests a webhook made,
/// and the answer's header listing them.
pub const REQUESTS_HEADER: &str = "x-callflow-requests";

/// One request a turn made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub method: String,
    /// With every secret masked.
    pub url: String,
    /// The status the far server answered, if it answered.
    pub status: Option<u16>,
    /// What went wrong, when something did (`no answer in time`, ...).
    pub problem: Option<String>,
    /// How long the call waited for it; 0 for a background request.
    pub millis: u64,
    /// The body sent, with every secret masked.
    pub body: Option<String>,
    /// Sent in the background (`wait: false`): the call did not wait.
    pub background: bool,
}

impl fmt::Display for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "requests {} {}", self.method, self.url)?;
        match (&self.status, &self.problem) {
            (Some(status), None) => write!(f, " -> {status}")?,
            (Some(status), Some(problem)) => write!(f, " -> {status}, {problem}")?,
            (None, Some(problem)) => write!(f, " -> {problem}")?,
            (None, None) => {}
        }
        if self.background {
            return f.write_str(" (in the background)");
        }
        write!(f, " ({} ms)", self.millis)
    }
}

/// The header value listing `seen`: each request form-encoded, separated
/// by spaces (which form encoding never leaves in a value).
pub fn encode(seen: &[Seen]) -> String {
    seen.iter()
        .map(|s| {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("m", &s.method).append_pair("u", &s.url);
            if let Some(status) = s.status {
                form.append_pair("s", &status.to_string());
            }
            if let Some(problem) = &s.problem {
                form.append_pair("p", problem);
            }
            form.append_pair("t", &s.millis.to_string());
            if let Some(body) = &s.body {
                form.append_pair("b", body);
            }
            if s.background {
                form.append_pair("bg", "1");
            }
            form.finish()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The requests listed in a header written by [`encode`].
pub fn decode(header: &str) -> Vec<Seen> {
    header
        .split(' ')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut seen = Seen {
                method: String::new(),
                url: String::new(),
                status: None,
                problem: None,
                millis: 0,
                body: None,
                background: false,
            };
            for (key, value) in form_urlencoded::parse(part.as_bytes()) {
                match key.as_ref() {
                    "m" => seen.method = value.into_owned(),
                    "u" => seen.url = value.into_owned(),
                    "s" => seen.status = value.parse().ok(),
                    "p" => seen.problem = Some(value.into_owned()),
                    "t" => seen.millis = value.parse().unwrap_or(0),
                    "b" => seen.body = Some(value.into_owned()),
                    "bg" => seen.background = true,
                    _ => {}
                }
            }
            seen
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_survive_the_header() {
        let seen = vec![
            Seen {
                method: "POST".into(),
                url: "https://hooks.example.com/survey?a=1&b=two words".into(),
                status: Some(500),
                problem: Some("the server answered 500".into()),
                millis: 12,
                body: Some("{\"score\":\"5\", \"note\":\"très bien\"}".into()),
                background: false,
            },
            Seen {
                method: "GET".into(),
                url: "https://shop.example.com/x".into(),
                status: None,
                problem: None,
                millis: 0,
                body: None,
                background: true,
            },
        ];
        let header = encode(&seen);
        assert!(
            axum::http::HeaderValue::from_str(&header).is_ok(),
            "{header}"
        );
        assert_eq!(decode(&header), seen);
    }
}
