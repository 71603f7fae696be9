//! `requests:` in a test script: a request the call must have made, by
//! method and URL (`*` matching anything), and a part of its body.

use axum::http::Method;
use serde_json::Value;

use crate::flow::steps::request::save::text_of;
use crate::outbound::Seen;
use crate::outbound::stub::wildcard_match;

/// A request a test expects.
#[derive(Debug)]
pub struct RequestExpectation {
    pub method: Method,
    /// With `*` for anything, secrets written as `***`.
    pub url: String,
    /// Fields the JSON body must have (a subset).
    pub json: Option<Value>,
    /// Fields the form body must have.
    pub form: Option<Vec<(String, String)>>,
}

impl RequestExpectation {
    pub fn matches(&self, seen: &Seen) -> bool {
        if seen.method != self.method.as_str() || !wildcard_match(&self.url, &seen.url) {
            return false;
        }
        let body = seen.body.as_deref().unwrap_or("");
        if let Some(expected) = &self.json {
            match serde_json::from_str::<Value>(body) {
                Ok(actual) if json_subset(expected, &actual) => {}
                _ => return false,
            }
        }
        if let Some(expected) = &self.form {
            let actual: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            if !expected.iter().all(|pair| actual.contains(pair)) {
                return false;
            }
        }
        true
    }

    /// The line as written, for reports.
    pub fn describe(&self) -> String {
        let mut line = format!("requests: {} {}", self.method, self.url);
        if let Some(json) = &self.json {
            line.push_str(&format!(" with json {json}"));
        }
        if let Some(form) = &self.form {
            let pairs: Vec<String> = form.iter().map(|(k, v)| format!("{k}={v}")).collect();
            line.push_str(&format!(" with form {}", pairs.join("&")));
        }
        line
    }
}

/// Whether `actual` has everything `expected` has: objects may have more
/// keys, lists must match item by item, and a scalar matches its text
/// (`5` matches `"5"`, since templates send text).
pub fn json_subset(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(wanted), Value::Object(have)) => wanted
            .iter()
            .all(|(key, value)| have.get(key).is_some_and(|found| json_subset(value, found))),
        (Value::Array(wanted), Value::Array(have)) => {
            wanted.len() == have.len() && wanted.iter().zip(have).all(|(w, h)| json_subset(w, h))
        }
        (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => false,
        (wanted, have) => text_of(wanted) == text_of(have),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_subset_of_the_body_is_enough() {
        let actual = json!({ "caller": "+1555", "answers": { "score": "5", "comment": "" } });
        assert!(json_subset(&json!({ "answers": { "score": 5 } }), &actual));
        assert!(!json_subset(&json!({ "answers": { "score": 4 } }), &actual));
        assert!(!json_subset(&json!({ "missing": 1 }), &actual));
        assert!(!json_subset(&json!({ "caller": { "x": 1 } }), &actual));
    }
}
