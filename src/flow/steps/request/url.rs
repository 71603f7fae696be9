//! A request's URL: the scheme and host written out in the flow, so that
//! nothing a caller says or presses can choose the server; values in the
//! path and query are percent-encoded, so they cannot change the URL's
//! shape either (a `/` in an order number stays inside its segment).

use std::borrow::Cow;

use crate::flow::compiler::Compiler;
use crate::flow::steps::{Call, StepError};
use crate::flow::template::Text;

/// The URL as compiled: a literal origin, then text and values.
#[derive(Debug)]
pub struct UrlTemplate {
    /// `https://shop.example.com`, checked when the flow loads.
    origin: String,
    rest: Vec<Part>,
}

#[derive(Debug)]
enum Part {
    Literal(String),
    /// A `{{ ... }}` value, percent-encoded once rendered.
    Value(Text),
}

impl UrlTemplate {
    /// Compiles `source`, reporting at `path` what the checks refuse.
    pub(crate) fn compile(cx: &mut Compiler<'_>, source: &str, path: &str) -> UrlTemplate {
        let empty = UrlTemplate {
            origin: String::new(),
            rest: Vec::new(),
        };
        let at = cx.value(path);
        let Some((scheme, after)) = source.split_once("://") else {
            cx.error(
                at,
                format!("`{source}` is not a URL: write it in full, starting with https://"),
            );
            return empty;
        };
        if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
            cx.error(
                at,
                format!("a request can use http or https, not `{scheme}`"),
            );
            return empty;
        }
        let host_end = after.find(['/', '?', '#']).unwrap_or(after.len());
        let (host, rest) = after.split_at(host_end);
        if Text::is_template_source(host) || Text::is_template_source(scheme) {
            cx.error(at, "the scheme and host of a request's URL must be written out, not templated")
                .help = Some("so that nothing a caller says or presses can choose the server; put values in the path or `query`".into());
            return empty;
        }
        let origin = format!("{}://{host}", scheme.to_ascii_lowercase());
        match reqwest::Url::parse(&origin) {
            Ok(url)
                if url.host_str().is_some_and(|h| !h.is_empty()) && url.username().is_empty() => {}
            _ => {
                cx.error(at, format!("`{host}` is not a host a request can reach"));
                return empty;
            }
        }
        if rest.contains('#') {
            cx.error(at, "a request's URL has no `#` part: servers never see it");
            return empty;
        }
        let mut parts = Vec::new();
        let mut text = rest;
        while !text.is_empty() {
            if let Some(block) = text.find("{%")
                && text.find("{{").is_none_or(|value| block < value)
            {
                cx.error(at, "a URL takes `{{ }}` values only, not `{% %}` blocks")
                    .help = Some("choose between URLs with a `branch` before the request".into());
                return empty;
            }
            let Some(open) = text.find("{{") else {
                parts.push(Part::Literal(text.to_owned()));
                break;
            };
            if open > 0 {
                parts.push(Part::Literal(text[..open].to_owned()));
            }
            let Some(close) = text[open..].find("}}") else {
                cx.error(at, "a `{{` in the URL is never closed with `}}`");
                return empty;
            };
            let value = &text[open..open + close + 2];
            parts.push(Part::Value(cx.request_text(value, path)));
            text = &text[open + close + 2..];
        }
        UrlTemplate {
            origin,
            rest: parts,
        }
    }

    /// The URL for this call: as sent, or with secrets masked.
    pub(crate) fn render<'w>(
        &self,
        call: &mut impl Call<'w>,
        masked: bool,
    ) -> Result<String, StepError> {
        let mut url = self.origin.clone();
        for part in &self.rest {
            match part {
                Part::Literal(text) => url.push_str(text),
                Part::Value(text) => {
                    let value: Cow<'_, str> = call.render_request(text, masked)?;
                    encode_into(&mut url, &value);
                }
            }
        }
        Ok(url)
    }

    /// Whether the URL has `?` already, for appending `query`.
    pub(super) fn has_query(&self) -> bool {
        self.rest
            .iter()
            .any(|part| matches!(part, Part::Literal(text) if text.contains('?')))
    }
}

/// Percent-encodes everything but unreserved characters (and `*`, which
/// cannot change a URL's shape and keeps masked secrets readable).
fn encode_into(out: &mut String, value: &str) {
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'*') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cannot_change_the_shape_of_the_url() {
        let mut out = String::new();
        encode_into(&mut out, "12/../../admin?x=1#y &é");
        assert_eq!(out, "12%2F..%2F..%2Fadmin%3Fx%3D1%23y%20%26%C3%A9");
    }
}
