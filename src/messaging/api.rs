//! Twilio's Messages API, as Twilio's own helper libraries call it.
//!
//! A text goes out as `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`
//! with a form body in the order the helper library writes it (`To`,
//! `StatusCallback`, `From`, `Body`), HTTP Basic authentication (an API key
//! and its secret, or the account SID and its auth token) and `Accept:
//! application/json`. The tests hold every request to the helper library's
//! recorded output.

use std::fmt;
use std::time::Duration;

use axum::http::{HeaderValue, Method, header};
use base64::Engine as _;

use crate::outbound::{Body, Prepared, Reply};
use crate::token::sid::{AccountSid, ApiKeySid};

/// Where Twilio's REST API lives, unless `TWILIO_API_BASE` says otherwise.
pub const DEFAULT_BASE: &str = "https://api.twilio.com";
/// How long one try of a send may take; the queue tries again after.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest body Twilio accepts, in characters.
pub const MAX_BODY_CHARS: usize = 1600;

/// How callflow signs in to Twilio's REST API.
#[derive(Clone)]
pub enum Credentials {
    /// An API key and its secret: what Twilio recommends.
    ApiKey { key: ApiKeySid, secret: String },
    /// The account's auth token, signed in as the account itself.
    AuthToken(String),
}

/// The account's Messages resource, signed in.
#[derive(Clone)]
pub struct MessagesApi {
    url: String,
    authorization: HeaderValue,
    /// Where Twilio reports each text's delivery; none without a public URL.
    status_callback: Option<String>,
}

/// `Debug` never shows the credentials.
impl fmt::Debug for MessagesApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessagesApi")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// One text message, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextMessage {
    pub to: String,
    pub from: String,
    pub body: String,
}

impl MessagesApi {
    /// The Messages resource of `account` at `base` (no trailing slash);
    /// Twilio reports delivery to `status_callback` when there is one.
    pub fn new(
        base: &str,
        account: &AccountSid,
        credentials: &Credentials,
        status_callback: Option<String>,
    ) -> MessagesApi {
        let (user, password) = match credentials {
            Credentials::ApiKey { key, secret } => (key.as_str(), secret.as_str()),
            Credentials::AuthToken(token) => (account.as_str(), token.as_str()),
        };
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let mut authorization = HeaderValue::from_str(&format!("Basic {basic}"))
            .expect("base64 is a valid header value");
        authorization.set_sensitive(true);
        MessagesApi {
            url: format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                base.trim_end_matches('/'),
                account.as_str()
            ),
            authorization,
            status_callback,
        }
    }

    /// The request that sends `message`.
    pub fn request(&self, message: &TextMessage) -> Prepared {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("To", &message.to);
        if let Some(callback) = &self.status_callback {
            form.append_pair("StatusCallback", callback);
        }
        form.append_pair("From", &message.from)
            .append_pair("Body", &message.body);
        let body = form.finish();
        Prepared {
            method: Method::POST,
            url: self.url.clone(),
            shown_url: self.url.clone(),
            headers: vec![
                (header::AUTHORIZATION, self.authorization.clone()),
                (header::ACCEPT, HeaderValue::from_static("application/json")),
            ],
            body: Some(Body {
                content_type: "application/x-www-form-urlencoded",
                shown: body.clone(),
                bytes: body.into_bytes(),
            }),
            timeout: SEND_TIMEOUT,
        }
    }
}

/// What Twilio's answer to a send says: the new message's SID, or why
/// Twilio refused it (`21211 Invalid 'To' Phone Number`).
pub fn read_reply(reply: &Reply) -> Result<String, String> {
    let json: serde_json::Value = serde_json::from_slice(&reply.body).unwrap_or_default();
    if reply.is_success() {
        return json
            .get("sid")
            .and_then(|sid| sid.as_str())
            .map(str::to_owned)
            .ok_or_else(|| "Twilio's answer names no message SID".to_owned());
    }
    let code = json.get("code").and_then(|code| code.as_u64());
    let message = json.get("message").and_then(|message| message.as_str());
    Err(match (code, message) {
        (Some(code), Some(message)) => {
            format!(
                "Twilio refused the message ({}): error {code}, {message}",
                reply.status
            )
        }
        _ => format!("Twilio answered {}", reply.status),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api() -> MessagesApi {
        MessagesApi::new(
            "https://api.twilio.com/",
            &AccountSid::parse("AC0123456789abcdef0123456789abcdef").unwrap(),
            &Credentials::AuthToken("token".into()),
            None,
        )
    }

    #[test]
    fn credentials_never_show_in_debug_output() {
        let shown = format!("{:?}", api());
        assert!(
            !shown.contains("dG9rZW4") && !shown.contains("token\""),
            "{shown}"
        );
        let request = api().request(&TextMessage {
            to: "+15551112222".into(),
            from: "+15553334444".into(),
            body: "hi".into(),
        });
        assert!(!format!("{request:?}").contains("Basic"));
    }

    #[test]
    fn twilio_errors_are_read_out() {
        let refused = Reply {
            status: 400,
            body: br#"{"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}"#
                .to_vec(),
        };
        assert_eq!(
            read_reply(&refused).unwrap_err(),
            "Twilio refused the message (400): error 21211, Invalid 'To' Phone Number"
        );
        let accepted = Reply {
            status: 201,
            body: br#"{"sid": "SM0123", "status": "queued"}"#.to_vec(),
        };
        assert_eq!(read_reply(&accepted).unwrap(), "SM0123");
    }
}
