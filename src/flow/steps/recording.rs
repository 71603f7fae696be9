//! `start_recording` and `stop_recording`: record the call from a point of
//! the flow (after the caller agreed, say) and stop before a part that
//! must not be kept (a card number), as `<Start><Recording>` and
//! `<Stop><Recording>`. The flow goes on at once; the recording runs beside
//! the call. Twilio finds the recording to stop by its name, so every
//! recording a step starts has one: `call` unless the step names it.

use serde::Deserialize;

use super::{Call, StepError, StepKind, StepSpec, Then};
use crate::flow::compiler::Compiler;
use crate::flow::record_calls::{Channels, Track, recording_noun};
use crate::flow::target::Target;
use crate::flow::yaml::{FromShorthand, Shorthand};
use crate::twiml::Element;

/// The name of a recording whose steps name none.
pub const DEFAULT_NAME: &str = "call";

/// `start_recording: {}`, `start_recording: NAME`, or the full map.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StartRecordingSpec {
    /// The recording's name, which `stop_recording` finds it by; `call` when left out.
    pub(crate) name: Option<String>,
    /// `mono` (one channel) or `dual` (the caller and the other side apart).
    pub(crate) channels: Option<Channels>,
    /// Whose audio: `inbound` (the caller), `outbound` or `both` (the default).
    pub(crate) track: Option<Track>,
    /// Whether silence at the start and end is cut.
    pub(crate) trim: Option<bool>,
    /// Where Twilio posts the finished recording.
    pub(crate) status_callback: Option<String>,
}

impl FromShorthand for StartRecordingSpec {
    fn from_shorthand(name: String) -> Self {
        StartRecordingSpec {
            name: Some(name),
            ..StartRecordingSpec::default()
        }
    }
}

/// `stop_recording: {}`, `stop_recording: NAME` or `{ name }`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StopRecordingSpec {
    /// The name of the recording to stop; `call` when left out.
    pub(crate) name: Option<String>,
}

impl FromShorthand for StopRecordingSpec {
    fn from_shorthand(name: String) -> Self {
        StopRecordingSpec { name: Some(name) }
    }
}

/// A name as written, or the default one.
fn name_of(cx: &mut Compiler<'_>, name: Option<&str>, path: &str) -> String {
    let name = name.map(str::trim).unwrap_or(DEFAULT_NAME);
    if name.is_empty() || name.contains(['{', '}']) {
        let at = cx.value(path);
        cx.error(
            at,
            "a recording's name is written out, so that the step that stops it finds it",
        );
    }
    name.to_owned()
}

#[derive(Debug)]
pub struct StartRecording {
    /// `<Start><Recording>`, the same for every call.
    pub verb: Element,
}

impl StepKind for StartRecording {
    type Spec = Shorthand<StartRecordingSpec>;

    fn compile(
        Shorthand(spec): &Self::Spec,
        _step: &StepSpec,
        cx: &mut Compiler<'_>,
        path: &str,
    ) -> Self {
        let name = name_of(
            cx,
            spec.name.as_deref(),
            &format!("{path}.start_recording.name"),
        );
        let noun = recording_noun(
            Some(&name),
            spec.channels,
            spec.track,
            spec.trim,
            spec.status_callback.as_deref(),
        );
        StartRecording {
            verb: Element::new("Start").child(noun),
        }
    }

    async fn perform<'w>(&self, call: &mut impl Call<'w>, next: Target) -> Result<Then, StepError> {
        call.emit(self.verb.clone());
        Ok(Then::Go(next))
    }
}

#[derive(Debug)]
pub struct StopRecording {
    pub name: String,
}

impl StepKind for StopRecording {
    type Spec = Shorthand<StopRecordingSpec>;

    fn compile(
        Shorthand(spec): &Self::Spec,
        _step: &StepSpec,
        cx: &mut Compiler<'_>,
        path: &str,
    ) -> Self {
        let name = name_of(
            cx,
            spec.name.as_deref(),
            &format!("{path}.stop_recording.name"),
        );
        StopRecording { name }
    }

    async fn perform<'w>(&self, call: &mut impl Call<'w>, next: Target) -> Result<Then, StepError> {
        let noun = Element::new("Recording").attr("name", self.name.clone());
        call.emit(Element::new("Stop").child(noun));
        Ok(Then::Go(next))
    }
}
