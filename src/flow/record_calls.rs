//! `record_calls:`: the whole call recorded from its first moment, after a
//! line telling the caller so, as `<Start><Recording>`. The recording runs
//! on while the flow goes on, through dials and queues, until the call
//! ends.

use serde::Deserialize;

use super::compiler::Compiler;
use super::steps::say::{SaySpec, Speech};
use super::yaml::Shorthand;
use crate::twiml::Element;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordCallsSpec {
    /// What the caller hears first, that the call is recorded: text, or `{ prompt: name }` for a line in each language.
    pub(crate) consent: Option<Shorthand<SaySpec>>,
    /// `mono` (one channel) or `dual` (the caller and the other side apart).
    pub channels: Option<Channels>,
    /// Whose audio: `inbound` (the caller), `outbound` or `both` (the default).
    pub track: Option<Track>,
    /// Whether silence at the start and end is cut.
    pub trim: Option<bool>,
    /// Where Twilio posts the finished recording.
    pub status_callback: Option<String>,
    /// A name for the recording, so that a `stop_recording` step can stop it.
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channels {
    Mono,
    Dual,
}

#[derive(Debug, Clone, Copy, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Track {
    Inbound,
    Outbound,
    Both,
}

/// A flow's `record_calls`, checked: what a new call hears, and the verb
/// that starts the recording.
#[derive(Debug)]
pub struct RecordCalls {
    pub consent: Option<Speech>,
    pub start: Element,
}

impl RecordCalls {
    pub(super) fn compile(cx: &mut Compiler<'_>, spec: &RecordCallsSpec) -> RecordCalls {
        let consent = spec
            .consent
            .as_ref()
            .map(|Shorthand(say)| Speech::compile(cx, say, "record_calls.consent"));
        if consent.is_none() {
            let at = cx.key("record_calls");
            cx.warning(
                at,
                "calls are recorded without telling the caller; many places require their consent",
            );
        }
        let recording = recording_noun(
            spec.name.as_deref(),
            spec.channels,
            spec.track,
            spec.trim,
            spec.status_callback.as_deref(),
        );
        RecordCalls {
            consent,
            start: Element::new("Start").child(recording),
        }
    }
}

/// `<Recording>` as `<Start>` and `<Stop>` take it; `name` is what a stop
/// finds it by.
pub(crate) fn recording_noun(
    name: Option<&str>,
    channels: Option<Channels>,
    track: Option<Track>,
    trim: Option<bool>,
    status_callback: Option<&str>,
) -> Element {
    let mut recording = Element::new("Recording")
        .attr_opt("name", name.map(str::to_owned))
        .attr_opt(
            "channels",
            channels.map(|channels| match channels {
                Channels::Mono => "mono",
                Channels::Dual => "dual",
            }),
        )
        .attr_opt(
            "track",
            track.map(|track| match track {
                Track::Inbound => "inbound",
                Track::Outbound => "outbound",
                Track::Both => "both",
            }),
        )
        .attr_opt(
            "trim",
            trim.map(|trim| if trim { "trim-silence" } else { "do-not-trim" }),
        );
    if let Some(callback) = status_callback {
        recording = recording
            .attr("recordingStatusCallback", callback.trim())
            .attr("recordingStatusCallbackEvent", "completed");
    }
    recording
}
