//! What a transcript shows of a text message a turn sent: whom to, from
//! which number, what it said, and whether it went out.
//!
//! Like requests ([`crate::outbound::seen`]), texts travel from the engine
//! to the simulator in a header of the `/voice` answer, when the simulator
//! asks, so `callflow call`, the page and flow tests show the same thing.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The simulator's request header asking for the texts a webhook sent, and
/// the answer's header listing them.
pub const TEXTS_HEADER: &str = "x-callflow-texts";

/// One text message a turn sent, or would have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Texted {
    pub to: String,
    pub from: String,
    pub body: String,
    /// Why it could not go, when it could not: a number the flow may not
    /// text, no Twilio credentials, Twilio's refusal.
    pub refused: Option<String>,
    /// Only noted, as every text of a simulated call is.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub simulated: bool,
}

impl fmt::Display for Texted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "texts {} from {}: \"{}\"", self.to, self.from, self.body)?;
        match &self.refused {
            Some(reason) => write!(f, " (not sent: {reason})"),
            None if self.simulated => f.write_str(" (simulated)"),
            None => Ok(()),
        }
    }
}

/// The header value listing `texts`: their JSON, percent-encoded, as a
/// header carries only visible ASCII.
pub fn encode(texts: &[Texted]) -> String {
    let json = serde_json::to_string(texts).unwrap_or_default();
    form_urlencoded::byte_serialize(json.as_bytes()).collect()
}

/// The texts listed in a header written by [`encode`].
pub fn decode(header: &str) -> Vec<Texted> {
    let json: String = form_urlencoded::parse(format!("t={header}").as_bytes())
        .map(|(_, value)| value.into_owned())
        .next()
        .unwrap_or_default();
    serde_json::from_str(&json).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_survive_the_header() {
        let texts = vec![
            Texted {
                to: "+15551112222".into(),
                from: "+15553334444".into(),
                body: "Café üñî — 50% off & more\nsee https://x.example/?a=1".into(),
                refused: None,
                simulated: true,
            },
            Texted {
                to: "+447700900123".into(),
                from: "+15553334444".into(),
                body: String::new(),
                refused: Some("the message is empty".into()),
                simulated: false,
            },
        ];
        let header = encode(&texts);
        assert!(
            axum::http::HeaderValue::from_str(&header).is_ok(),
            "{header}"
        );
        assert_eq!(decode(&header), texts);
    }
}
