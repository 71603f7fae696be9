//! Stubbed answers for requests, in flow tests (`http:`) and
//! `callflow call --stub FILE`: no request leaves the machine, and one that
//! no stub matches fails.

use std::fmt;
use std::sync::Arc;

use axum::http::Method;
use serde::Deserialize;

use super::{Failure, Prepared, Reply};

/// One stub as written: `match: GET https://shop.example.com/orders/*`,
/// then `respond: { status, json | body }` or `timeout: true`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StubSpec {
    /// A method and a URL, `*` matching anything and secrets written
    /// `***`: `GET https://shop.example.com/orders/*`.
    #[serde(rename = "match")]
    pub pattern: String,
    /// The answer: `{ status: 200, json: … }` or `{ status: 500 }`.
    pub respond: Option<RespondSpec>,
    /// `true`: the request never answers, as if the server were down.
    pub timeout: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RespondSpec {
    /// The HTTP status; 200 when left out.
    pub status: Option<u16>,
    /// A JSON body.
    pub json: Option<serde_json::Value>,
    /// A plain text body.
    pub body: Option<String>,
}

/// A stub, checked.
#[derive(Debug, Clone)]
pub struct Stub {
    method: Method,
    url: String,
    answer: StubAnswer,
}

#[derive(Debug, Clone)]
enum StubAnswer {
    Reply(Reply),
    Timeout,
}

impl Stub {
    /// Checks a stub as written; `Err` says what is wrong, for the file's
    /// report.
    pub fn parse(spec: &StubSpec) -> Result<Stub, String> {
        let (method, url) = spec
            .pattern
            .trim()
            .split_once(' ')
            .ok_or_else(|| format!("`{}` should be a method and a URL, such as `GET https://shop.example.com/orders/*`", spec.pattern))?;
        let method = parse_method(method)?;
        let url = url.trim().to_owned();
        let answer = match (&spec.respond, spec.timeout) {
            (Some(_), Some(true)) => {
                return Err("a stub either responds or times out, not both".into());
            }
            (None, Some(true)) => StubAnswer::Timeout,
            (None, _) => return Err(
                "say what the stub does: `respond: { status: 200, json: ... }` or `timeout: true`"
                    .into(),
            ),
            (Some(respond), _) => StubAnswer::Reply(reply(respond)?),
        };
        Ok(Stub {
            method,
            url,
            answer,
        })
    }

    fn matches(&self, method: &Method, url: &str) -> bool {
        *method == self.method && wildcard_match(&self.url, url)
    }
}

fn reply(respond: &RespondSpec) -> Result<Reply, String> {
    let status = respond.status.unwrap_or(200);
    if !(100..=599).contains(&status) {
        return Err(format!("{status} is not an HTTP status"));
    }
    let body = match (&respond.json, &respond.body) {
        (Some(_), Some(_)) => return Err("a stub responds with `json` or `body`, not both".into()),
        (Some(json), None) => serde_json::to_vec(json).map_err(|e| e.to_string())?,
        (None, Some(body)) => body.clone().into_bytes(),
        (None, None) => Vec::new(),
    };
    Ok(Reply { status, body })
}

/// The methods a request step may use.
pub fn parse_method(text: &str) -> Result<Method, String> {
    match text.trim().to_ascii_uppercase().as_str() {
        "GET" => Ok(Method::GET),
        "POST" => Ok(Method::POST),
        "PUT" => Ok(Method::PUT),
        "PATCH" => Ok(Method::PATCH),
        "DELETE" => Ok(Method::DELETE),
        _ => Err(format!(
            "`{text}` is not a method a request can use: GET, POST, PUT, PATCH or DELETE"
        )),
    }
}

/// `*` matches any run of characters, the rest itself.
pub(crate) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The stubs of one test file or `--stub` file, in the order written: the
/// first that matches answers.
#[derive(Clone, Default)]
pub struct Stubs {
    list: Arc<Vec<Stub>>,
}

impl fmt::Debug for Stubs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.list.iter()).finish()
    }
}

impl Stubs {
    pub fn new(list: Vec<Stub>) -> Self {
        Stubs {
            list: Arc::new(list),
        }
    }

    /// Reads a `--stub` file: a list of stubs, or a map whose `http:` is
    /// one (so a flow test file's stubs can be used as they are).
    pub fn from_yaml(text: &str) -> Result<Stubs, String> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum File {
            List(Vec<StubSpec>),
            Map { http: Vec<StubSpec> },
        }
        let specs = match serde_yaml_ng::from_str::<File>(text) {
            Ok(File::List(specs) | File::Map { http: specs }) => specs,
            Err(error) => {
                return Err(format!(
                    "expected a list of stubs (`- match: GET https://...`): {error}"
                ));
            }
        };
        let list = specs
            .iter()
            .enumerate()
            .map(|(i, spec)| Stub::parse(spec).map_err(|e| format!("stub {}: {e}", i + 1)))
            .collect::<Result<_, _>>()?;
        Ok(Stubs::new(list))
    }

    /// The answer of the first stub matching the request's method and
    /// shown URL (secrets masked, so stubs never hold them).
    pub(super) fn answer(&self, request: &Prepared) -> Result<Reply, Failure> {
        let stub = self
            .list
            .iter()
            .find(|stub| stub.matches(&request.method, &request.shown_url))
            .ok_or(Failure::NotStubbed)?;
        match &stub.answer {
            StubAnswer::Reply(reply) => Ok(reply.clone()),
            StubAnswer::Timeout => Err(Failure::Timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match(
            "https://a.example/*",
            "https://a.example/orders/1"
        ));
        assert!(wildcard_match("https://a.example/x", "https://a.example/x"));
        assert!(!wildcard_match(
            "https://a.example/x",
            "https://a.example/xy"
        ));
        assert!(wildcard_match(
            "https://*.example/*/1",
            "https://b.example/o/1"
        ));
        assert!(!wildcard_match(
            "https://*.example/*/1",
            "https://b.example/o/12"
        ));
        assert!(wildcard_match("*", ""));
    }

    #[test]
    fn a_stub_responds_or_times_out() {
        let spec = |text: &str| serde_yaml_ng::from_str::<StubSpec>(text).unwrap();
        assert!(Stub::parse(&spec("match: GET https://a/\nrespond: { status: 500 }")).is_ok());
        assert!(Stub::parse(&spec("match: GET https://a/\ntimeout: true")).is_ok());
        let neither = Stub::parse(&spec("match: GET https://a/")).unwrap_err();
        assert!(neither.contains("timeout: true"), "{neither}");
        let method = Stub::parse(&spec("match: FETCH https://a/\ntimeout: true")).unwrap_err();
        assert!(method.contains("FETCH"), "{method}");
    }
}
