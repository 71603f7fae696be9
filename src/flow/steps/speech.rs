//! How a `gather` or `menu` listens: the speech model and the options of
//! Twilio's `<Gather>` around it. Not a kind of its own; both waiting kinds
//! share it, and a flow may set defaults for all of them in its `speech:`
//! block, since a line usually wants one model everywhere.
//!
//! `speech_model` is a free string: Twilio's 2025 speech-to-text migration
//! made new models (`googlev2_telephony`, `deepgram_nova-3`, …) plain names
//! that change faster than callflow does. The options that only mean
//! something for speech are written only where the step listens to speech;
//! `barge_in` and `action_on_empty_result` apply to keys too.

use serde::Deserialize;

use crate::flow::compiler::Compiler;
use crate::twiml::{Element, bool_text};

/// Twilio's longest `maxSpeechTime`, in seconds.
const MAX_SPEECH_TIME: u32 = 60;

/// The options of one `<Gather>`, and as written: in a flow's `speech:`
/// block, or beside a step's other keys. `None` leaves the flow's default,
/// or Twilio's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpeechOptions {
    pub speech_model: Option<String>,
    pub enhanced: Option<bool>,
    pub profanity_filter: Option<bool>,
    pub barge_in: Option<bool>,
    pub action_on_empty_result: Option<bool>,
    pub max_speech_time: Option<u32>,
}

/// The options a `gather` or `menu` spec writes beside its other keys
/// (their specs refuse unknown keys, so they cannot flatten them in).
macro_rules! written {
    ($spec:expr) => {
        $crate::flow::steps::speech::SpeechOptions {
            speech_model: $spec.speech_model.clone(),
            enhanced: $spec.enhanced,
            profanity_filter: $spec.profanity_filter,
            barge_in: $spec.barge_in,
            action_on_empty_result: $spec.action_on_empty_result,
            max_speech_time: $spec.max_speech_time,
        }
    };
}
pub(crate) use written;

impl SpeechOptions {
    /// Whether any option that only concerns speech is set.
    fn sets_speech_only(&self) -> bool {
        self.speech_model.is_some()
            || self.enhanced.is_some()
            || self.profanity_filter.is_some()
            || self.max_speech_time.is_some()
    }

    /// Reports the values Twilio would refuse; `path` is where they are
    /// written (`speech` for the flow's block, `steps.ask.gather` for a step).
    pub(crate) fn check(&self, cx: &mut Compiler<'_>, path: &str) {
        if self
            .speech_model
            .as_deref()
            .is_some_and(|m| m.trim().is_empty())
        {
            let at = cx.value(&format!("{path}.speech_model"));
            cx.error(at, "`speech_model` is empty").help = Some(
                "name a model such as googlev2_telephony or deepgram_nova-3, or leave it out for Twilio's default".into(),
            );
        }
        if let Some(seconds) = self.max_speech_time
            && !(1..=MAX_SPEECH_TIME).contains(&seconds)
        {
            let at = cx.value(&format!("{path}.max_speech_time"));
            cx.error(
                at,
                format!(
                    "`max_speech_time` is {seconds}: Twilio allows 1 to {MAX_SPEECH_TIME} seconds"
                ),
            );
        }
    }

    /// The options of a step at `path` (`steps.ask.gather`), over the flow's
    /// defaults. `speech` says whether the step listens to speech.
    pub(crate) fn compile(
        cx: &mut Compiler<'_>,
        spec: &SpeechOptions,
        path: &str,
        speech: bool,
    ) -> SpeechOptions {
        spec.check(cx, path);
        if spec.sets_speech_only() && !speech {
            let at = cx.key(path);
            cx.warning(
                at,
                "speech options are set, but this does not listen to speech: add `speech` to `input`",
            );
        }
        let flow = cx.flow_speech().unwrap_or_default();
        let speech_only = |value: Option<bool>| value.filter(|_| speech);
        SpeechOptions {
            speech_model: spec
                .speech_model
                .clone()
                .or(flow.speech_model)
                .filter(|_| speech),
            enhanced: speech_only(spec.enhanced.or(flow.enhanced)),
            profanity_filter: speech_only(spec.profanity_filter.or(flow.profanity_filter)),
            barge_in: spec.barge_in.or(flow.barge_in),
            action_on_empty_result: spec.action_on_empty_result.or(flow.action_on_empty_result),
            max_speech_time: spec
                .max_speech_time
                .or(flow.max_speech_time)
                .filter(|_| speech),
        }
    }

    /// Writes the options set onto a `<Gather>`, as Twilio names them.
    pub(crate) fn apply(&self, gather: Element) -> Element {
        gather
            .attr_opt("speechModel", self.speech_model.as_deref())
            .attr_opt("enhanced", self.enhanced.map(bool_text))
            .attr_opt("profanityFilter", self.profanity_filter.map(bool_text))
            .attr_opt("bargeIn", self.barge_in.map(bool_text))
            .attr_opt(
                "actionOnEmptyResult",
                self.action_on_empty_result.map(bool_text),
            )
            .attr_opt("maxSpeechTime", self.max_speech_time.map(|n| n.to_string()))
    }
}
