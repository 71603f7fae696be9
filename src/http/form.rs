//! Twilio's webhook parameters: `application/x-www-form-urlencoded`, in
//! the body of a POST and in the query of every callback URL. The
//! signature check and the webhook handler read the body through here, so
//! they agree on what a form is and on how a body is refused.

use std::borrow::Cow;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use http_body_util::LengthLimitError;

/// Whether the request says its body is a form (any letter case, any
/// parameters after the media type, as HTTP allows).
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Why a webhook's body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// Over the limit given to [`read`].
    TooLarge { limit: usize },
    /// The client broke off or sent something that is not a body.
    Broken,
}

impl Unreadable {
    pub fn status(self) -> StatusCode {
        match self {
            Unreadable::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Unreadable::Broken => StatusCode::BAD_REQUEST,
        }
    }

    /// The sentence sent back as `{"error": ...}`.
    pub fn reason(self) -> String {
        match self {
            Unreadable::TooLarge { limit } => format!(
                "the request body is over {} KiB; Twilio's webhooks are far smaller",
                limit / 1024
            ),
            Unreadable::Broken => "the request body could not be read".to_owned(),
        }
    }
}

/// The whole body, up to `limit` bytes. A webhook's body is already in
/// hyper's buffer when its handler runs, so this is one frame.
pub async fn read(body: Body, limit: usize) -> Result<Bytes, Unreadable> {
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        if error.into_inner().is::<LengthLimitError>() {
            Unreadable::TooLarge { limit }
        } else {
            Unreadable::Broken
        }
    })
}

/// Decodes `application/x-www-form-urlencoded` pairs, as
/// `form_urlencoded` does, borrowing every field with nothing to decode:
/// most of Twilio's parameters are plain.
///
/// A body that is valid UTF-8 (every real webhook) is checked once, not
/// field by field, and one pass over it finds the fields and whether each
/// needs decoding. Splitting first and then scanning each field again cost
/// more than the rest of the handler outside the engine; so did `memchr`,
/// whose setup outweighs its speed on fields this short.
pub fn parse(body: &[u8]) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    if body.is_empty() {
        // A first webhook's URL has no query: nothing to allocate.
        return Vec::new();
    }
    let text = std::str::from_utf8(body).ok();
    let field = |range: std::ops::Range<usize>, encoded: bool| match text {
        // The bytes that end a field are ASCII, so it starts and ends on
        // characters.
        Some(text) if !encoded => Cow::Borrowed(&text[range]),
        _ => decode(&body[range]),
    };
    let mut pairs = Vec::with_capacity(16);
    let mut push = |start: usize, equals: Option<usize>, end: usize, encoded: [bool; 2]| {
        if end > start {
            let (name_end, value_start) = equals.map_or((end, end), |at| (at, at + 1));
            pairs.push((
                field(start..name_end, encoded[0]),
                field(value_start..end, encoded[1]),
            ));
        }
    };
    // The field being read: where it starts, where its first `=` is, and
    // whether its name and its value have a `%` or `+` to decode.
    let (mut start, mut equals, mut encoded) = (0, None, [false; 2]);
    for (at, &byte) in body.iter().enumerate() {
        if !FORM_SPECIAL[usize::from(byte)] {
            continue;
        }
        match byte {
            b'&' => {
                push(start, equals, at, encoded);
                (start, equals, encoded) = (at + 1, None, [false; 2]);
            }
            b'=' if equals.is_none() => equals = Some(at),
            b'=' => {}
            // `%` or `+`: in the name until the first `=`, then the value.
            _ => encoded[usize::from(equals.is_some())] = true,
        }
    }
    push(start, equals, body.len(), encoded);
    pairs
}

/// The bytes [`parse`] stops at.
const FORM_SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    table[b'&' as usize] = true;
    table[b'=' as usize] = true;
    table[b'%' as usize] = true;
    table[b'+' as usize] = true;
    table
};

fn decode(raw: &[u8]) -> Cow<'_, str> {
    if !raw.iter().any(|&b| b == b'%' || b == b'+') {
        // `from_utf8` first: the lossy reader is several times slower on
        // the valid text every real webhook carries.
        return match std::str::from_utf8(raw) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(raw),
        };
    }
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(raw.len());
    let mut at = 0;
    while at < raw.len() {
        match raw[at] {
            b'+' => out.push(b' '),
            b'%' => match (
                raw.get(at + 1).and_then(|&b| hex(b)),
                raw.get(at + 2).and_then(|&b| hex(b)),
            ) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    at += 2;
                }
                // A `%` not followed by two hex digits stays as it is.
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        at += 1;
    }
    Cow::Owned(
        String::from_utf8(out)
            .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::parse;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decodes_forms_exactly_as_form_urlencoded(body in prop::collection::vec(any::<u8>(), 0..200)) {
            let expected: Vec<_> = form_urlencoded::parse(&body).collect();
            prop_assert_eq!(parse(&body), expected);
        }

        #[test]
        fn decodes_twilio_shaped_forms(pairs in prop::collection::vec(("[A-Za-z]{1,12}", ".{0,30}"), 0..12)) {
            let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
            let decoded: Vec<(String, String)> = parse(body.as_bytes())
                .into_iter()
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect();
            prop_assert_eq!(decoded, pairs);
        }
    }
}
