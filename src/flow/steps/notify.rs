//! `record: { notify: … }`: tells someone a voicemail arrived, with a
//! webhook (a chat channel's incoming webhook, a helpdesk) and texts to the
//! numbers on call.
//!
//! Twilio reports a recording when it is ready, after the call has moved
//! on: the `<Record>` points its report (or, with `transcribe`, its
//! transcript) at this server's [`NOTICE_PATH`](crate::engine::NOTICE_PATH)
//! with the call's sealed state, and the engine hands the report to
//! [`Notify::send`]. Both go out in the background, retried like a
//! request's `wait: false`, so a slow receiver costs nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::Method;
use serde::Deserialize;

use super::request::url::UrlTemplate;
use super::{Call, StepError};
use crate::dial_target::{self, DialTarget, TargetKind};
use crate::flow::compiler::Compiler;
use crate::flow::template::Text;
use crate::flow::yaml::{OneOrMany, Scalar};
use crate::messaging::TextMessage;
use crate::outbound::{Body, Job, JobKind, Prepared, Seen};

/// How long one try of a notification may take; the queue tries again.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotifySpec {
    /// A webhook that gets the voicemail as JSON; its host written out.
    pub(crate) url: Option<String>,
    /// Numbers texted about the voicemail, written out.
    pub(crate) sms: Option<OneOrMany<Scalar>>,
}

#[derive(Debug)]
pub struct Notify {
    pub url: Option<UrlTemplate>,
    pub sms: Vec<DialTarget>,
}

impl Notify {
    pub(crate) fn compile(spec: &NotifySpec, cx: &mut Compiler<'_>, path: &str) -> Notify {
        let url = spec
            .url
            .as_ref()
            .map(|url| UrlTemplate::compile(cx, url, &format!("{path}.url")));
        let mut sms = Vec::new();
        let numbers = spec.sms.as_ref().map_or(&[][..], |list| list.0.as_slice());
        for (i, number) in numbers.iter().enumerate() {
            let field = if numbers.len() > 1 {
                format!("{path}.sms.{i}")
            } else {
                format!("{path}.sms")
            };
            let raw = number.as_str();
            if Text::is_template_source(raw) {
                let at = cx.value(&field);
                cx.error(at, "write the number to text out: it cannot come from a template")
                    .help = Some("a voicemail is texted to the line's own staff, such as `sms: \"+15551230000\"`".into());
                continue;
            }
            match dial_target::parse(raw, Some(TargetKind::Number)) {
                Ok(number) => sms.push(number),
                Err(refusal) => {
                    let at = cx.value(&field);
                    cx.error(at, format!("cannot text `{raw}`: {refusal}"));
                }
            }
        }
        if spec.url.is_none() && numbers.is_empty() {
            let at = cx.key(path);
            cx.error(at, "`notify` needs a `url`, an `sms` number, or both");
        }
        Notify { url, sms }
    }

    /// Sends the notifications of `voicemail`, in the background.
    pub(crate) async fn send<'w>(
        &self,
        call: &mut impl Call<'w>,
        voicemail: &Voicemail<'_>,
    ) -> Result<(), StepError> {
        let place = call.place().job();
        let summary = voicemail.summary(&place.flow);
        if let Some(url) = &self.url {
            let sent = url.render(call, false)?;
            let shown_url = url.render(call, true)?;
            let body = serde_json::json!({
                "text": summary,
                "event": "voicemail",
                "call_sid": place.call_sid,
                "flow": place.flow,
                "step": place.step,
                "from": voicemail.from,
                "to": voicemail.to,
                "recording_url": voicemail.recording_url,
                "recording_sid": voicemail.recording_sid,
                "duration": voicemail.duration,
                "transcript": voicemail.transcript,
                "vars": voicemail.vars,
            })
            .to_string();
            let request = Prepared {
                method: Method::POST,
                url: sent,
                shown_url: shown_url.clone(),
                headers: Vec::new(),
                body: Some(Body {
                    content_type: "application/json",
                    shown: body.clone(),
                    bytes: body.clone().into_bytes(),
                }),
                timeout: NOTIFY_TIMEOUT,
            };
            // Stubs answer at once; the network answers after this report.
            let answered = call.outbound().send_later(Job {
                request,
                place: place.clone(),
                kind: JobKind::Notification,
            });
            let (status, problem) = match answered {
                Some(Ok(reply)) => (Some(reply.status), None),
                Some(Err(failure)) => (None, Some(failure.to_string())),
                None => (None, None),
            };
            call.saw_request(Seen {
                method: Method::POST.to_string(),
                url: shown_url,
                status,
                problem,
                millis: 0,
                body: Some(body),
                background: true,
            });
        }
        for number in &self.sms {
            let from = voicemail.to.unwrap_or_default().to_owned();
            let refused = from
                .is_empty()
                .then(|| "Twilio's report names no number to send it from".to_owned());
            let message = TextMessage {
                to: number.as_str().to_owned(),
                from,
                body: summary.clone(),
            };
            call.send_text(message, refused);
        }
        Ok(())
    }
}

/// A finished voicemail, as Twilio reported it.
#[derive(Debug, Clone)]
pub struct Voicemail<'a> {
    pub recording_url: &'a str,
    pub recording_sid: Option<&'a str>,
    /// Seconds; Twilio's transcript report does not give it.
    pub duration: Option<u32>,
    pub transcript: Option<&'a str>,
    /// The caller.
    pub from: Option<&'a str>,
    /// The number the caller called.
    pub to: Option<&'a str>,
    pub vars: BTreeMap<String, String>,
}

/// Longest transcript quoted in a text, in characters, so the whole
/// message stays within a few SMS segments.
const TEXT_TRANSCRIPT_CHARS: usize = 300;

impl Voicemail<'_> {
    /// One line for a person: who, how long, where to listen, and what was
    /// said.
    pub fn summary(&self, flow: &str) -> String {
        let mut line = format!(
            "New voicemail on {flow} from {}",
            self.from.unwrap_or("an unknown caller")
        );
        if let Some(seconds) = self.duration {
            line.push_str(&format!(" ({seconds} s)"));
        }
        line.push_str(&format!(": {}", self.recording_url));
        if let Some(transcript) = self.transcript.filter(|t| !t.trim().is_empty()) {
            let mut quoted: String = transcript
                .trim()
                .chars()
                .take(TEXT_TRANSCRIPT_CHARS)
                .collect();
            if quoted.len() < transcript.trim().len() {
                quoted.push('…');
            }
            line.push_str(&format!("\n\"{quoted}\""));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_says_who_how_long_where_and_what() {
        let voicemail = Voicemail {
            recording_url: "https://api.twilio.com/rec/RE1",
            recording_sid: Some("RE1"),
            duration: Some(12),
            transcript: Some(" Please call me back about my order. "),
            from: Some("+15551112222"),
            to: Some("+15553334444"),
            vars: BTreeMap::new(),
        };
        assert_eq!(
            voicemail.summary("support"),
            "New voicemail on support from +15551112222 (12 s): https://api.twilio.com/rec/RE1\n\"Please call me back about my order.\""
        );
        let long = "word ".repeat(100);
        let voicemail = Voicemail {
            transcript: Some(&long),
            duration: None,
            from: None,
            ..voicemail
        };
        let summary = voicemail.summary("support");
        assert!(summary.starts_with("New voicemail on support from an unknown caller: "));
        assert!(summary.ends_with("…\""), "{summary}");
    }
}
