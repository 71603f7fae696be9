//! Text messages: what a flow's `sms` steps and voicemail notifications
//! send, through Twilio's Messages API.
//!
//! A text never holds up a call: it goes into the background queue of
//! [`Outbound`], which retries on 429 and 5xx answers and logs the new
//! MessageSid, or why Twilio refused it, with the CallSid. Simulated calls
//! (`callflow call`, the page, flow tests) never send one: the text shows in
//! their transcript instead.
//!
//! - [`api`]: the Messages API request, exactly as Twilio's helper library
//!   writes it, and what its answer says.
//! - [`texted`]: what a transcript shows of a text.

pub mod api;
pub mod texted;

use std::sync::Arc;

use crate::flow::FlowSet;
use crate::flow::steps::Action;
use crate::outbound::{Job, JobKind, JobPlace, Outbound};
use crate::setting::PublicUrl;
use crate::setting::names::{
    TWILIO_ACCOUNT_SID, TWILIO_API_KEY, TWILIO_API_SECRET, TWILIO_AUTH_TOKEN,
};
use crate::signature::AuthToken;
use crate::token::Tokens;
pub use api::{Credentials, MessagesApi, TextMessage};
pub use texted::Texted;

/// Where Twilio reports how a text message went.
pub const SMS_STATUS_PATH: &str = "/voice/sms-status";

/// What a text lacks without credentials, for its log line and the
/// transcript.
pub const NOT_CONFIGURED: &str = "this server has no Twilio credentials to send texts with";

/// How this server sends text messages.
#[derive(Debug, Clone, Default)]
pub enum Texting {
    /// Through Twilio's Messages API.
    Twilio(Arc<MessagesApi>),
    /// Not at all: the settings hold no credentials. Each text is logged as
    /// not sent, naming the settings it needs.
    #[default]
    Unconfigured,
    /// Into the transcript only: simulated calls and flow tests.
    Simulated,
}

impl Texting {
    /// Texts go through Twilio when the settings have an account SID and
    /// either an API key with its secret or the auth token; the key is
    /// preferred, as Twilio recommends. Twilio needs a full URL to report
    /// delivery to: without `public_url`, sends are logged and deliveries
    /// are not.
    pub fn from_settings(
        tokens: &Tokens,
        auth_token: Option<&AuthToken>,
        base: &str,
        public_url: Option<&PublicUrl>,
    ) -> Texting {
        let Some(account) = &tokens.twilio_account_sid else {
            return Texting::Unconfigured;
        };
        let credentials = match (
            &tokens.twilio_api_key,
            &tokens.twilio_api_secret,
            auth_token,
        ) {
            (Some(key), Some(secret), _) => Credentials::ApiKey {
                key: key.clone(),
                secret: secret.expose().to_owned(),
            },
            (_, _, Some(token)) => {
                Credentials::AuthToken(String::from_utf8_lossy(token.secret()).into_owned())
            }
            _ => return Texting::Unconfigured,
        };
        let status_callback = public_url.map(|url| format!("{url}{SMS_STATUS_PATH}"));
        Texting::Twilio(Arc::new(MessagesApi::new(
            base,
            account,
            &credentials,
            status_callback,
        )))
    }

    /// The warning a server that cannot send texts gives at start-up when
    /// its flows would send some, naming one step that does.
    pub fn startup_warning(&self, flows: &FlowSet) -> Option<String> {
        if !matches!(self, Texting::Unconfigured) {
            return None;
        }
        let texting = flows.flows().iter().find_map(|flow| {
            flow.steps
                .iter()
                .find(|step| match &step.action {
                    Action::Sms(_) => true,
                    Action::Record(record) => record
                        .notify
                        .as_ref()
                        .is_some_and(|notify| !notify.sms.is_empty()),
                    _ => false,
                })
                .map(|step| (flow.name.as_str(), step.name.as_str()))
        })?;
        let (flow, step) = texting;
        Some(format!(
            "flow {flow} sends text messages (step {step}), but this server has no Twilio credentials to send them with: they will be logged and dropped. Set {}",
            Texting::missing_settings()
        ))
    }

    /// Which settings a server that cannot send texts needs, for its
    /// warning at start-up.
    pub fn missing_settings() -> String {
        format!(
            "{TWILIO_ACCOUNT_SID}, and {TWILIO_API_KEY} with {TWILIO_API_SECRET} (or {TWILIO_AUTH_TOKEN})"
        )
    }

    /// Sends `message` in the background for the call at `place`, or notes
    /// it when this server does not send texts, and says what the
    /// transcript shows. `refused` says why the flow would not send it,
    /// which is logged instead.
    pub fn send(
        &self,
        outbound: &Outbound,
        message: TextMessage,
        refused: Option<String>,
        place: JobPlace,
    ) -> Texted {
        let refused = match (refused, self) {
            (Some(reason), _) => {
                tracing::warn!(
                    call_sid = place.call_sid,
                    flow = place.flow,
                    step = place.step,
                    "a text message was not sent: {reason}"
                );
                Some(reason)
            }
            (None, texting) => texting.hand_over(outbound, &message, place),
        };
        Texted {
            to: message.to,
            from: message.from,
            body: message.body,
            refused,
            simulated: matches!(self, Texting::Simulated),
        }
    }

    /// Hands a text the flow may send to Twilio; why it did not go, when
    /// that is known at once.
    fn hand_over(
        &self,
        outbound: &Outbound,
        message: &TextMessage,
        place: JobPlace,
    ) -> Option<String> {
        match self {
            Texting::Twilio(api) => {
                let request = api.request(message);
                // Stubbed transports answer at once; the network after the turn.
                let answered = outbound.send_later(Job {
                    request,
                    place,
                    kind: JobKind::TextMessage,
                });
                answered.and_then(|answer| match answer {
                    Ok(reply) => api::read_reply(&reply).err(),
                    Err(failure) => Some(failure.to_string()),
                })
            }
            Texting::Unconfigured => {
                tracing::error!(
                    call_sid = place.call_sid,
                    flow = place.flow,
                    step = place.step,
                    "a text message was not sent: {NOT_CONFIGURED}; set {}",
                    Texting::missing_settings()
                );
                Some(NOT_CONFIGURED.to_owned())
            }
            Texting::Simulated => None,
        }
    }
}
