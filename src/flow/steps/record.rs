//! `record`: records a message from the caller, as `<Record>`, and saves
//! the recording's URL in a variable (voicemail). With `notify`, someone
//! hears of it when Twilio has the recording ready ([`super::notify`]).

use serde::Deserialize;

use super::notify::{Notify, NotifySpec};
use super::play::PlaySpec;
use super::prompt::{Heard, Prompt, PromptItemSpec};
use super::say::SaySpec;
use super::{Call, StepError, StepKind, StepSpec, Then};
use crate::flow::compiler::Compiler;
use crate::flow::target::{StepId, Target};
use crate::flow::template::Text;
use crate::flow::yaml::{Scalar, Shorthand};
use crate::twiml::{Element, bool_text};

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordSpec {
    pub(crate) say: Option<Shorthand<SaySpec>>,
    pub(crate) play: Option<Shorthand<PlaySpec>>,
    /// A list of `say`, `play` and `pause` items, instead of `say` and `play`.
    pub(crate) prompt: Option<Vec<PromptItemSpec>>,
    /// Longest message in seconds.
    pub(crate) max_length: Option<u32>,
    /// Seconds of silence that end the recording.
    pub(crate) timeout: Option<u32>,
    pub(crate) finish_on_key: Option<String>,
    pub(crate) play_beep: Option<bool>,
    pub(crate) trim: Option<bool>,
    pub(crate) transcribe: Option<bool>,
    /// Where Twilio posts the transcription.
    pub(crate) transcribe_callback: Option<Scalar>,
    /// Where Twilio posts the finished recording (your voicemail inbox).
    pub(crate) recording_status_callback: Option<Scalar>,
    /// The variable that receives the recording's URL.
    pub(crate) save_as: Option<String>,
    /// Who hears of the voicemail once Twilio has it ready.
    pub(crate) notify: Option<NotifySpec>,
}

#[derive(Debug)]
pub struct Record {
    pub prompts: Vec<Prompt>,
    pub max_length: Option<u32>,
    pub timeout: Option<u32>,
    pub finish_on_key: Option<String>,
    pub play_beep: Option<bool>,
    pub trim: Option<bool>,
    pub transcribe: Option<bool>,
    pub transcribe_callback: Option<Text>,
    pub recording_status_callback: Option<Text>,
    pub save_as: String,
    pub notify: Option<Notify>,
}

impl StepKind for Record {
    type Spec = RecordSpec;
    const WAITS: bool = true;

    fn compile(spec: &RecordSpec, _step: &StepSpec, cx: &mut Compiler<'_>, path: &str) -> Self {
        let path = format!("{path}.record");
        let notify = spec.notify.as_ref().map(|notify| {
            // The notification takes the report Twilio sends: the
            // transcript's when there is one to wait for.
            let (taken, field) = if spec.transcribe == Some(true) {
                (&spec.transcribe_callback, "transcribe_callback")
            } else {
                (&spec.recording_status_callback, "recording_status_callback")
            };
            if taken.is_some() {
                let at = cx.key(&format!("{path}.{field}"));
                cx.error(at, format!("`notify` needs Twilio's report for itself, so this step cannot also set `{field}`"))
                    .help = Some("drop one: `notify: { url: … }` posts the voicemail to a webhook of yours".into());
            }
            Notify::compile(notify, cx, &format!("{path}.notify"))
        });
        Record {
            prompts: Heard::BeforeVerb.prompts(cx, &spec.say, &spec.play, &spec.prompt, &path),
            max_length: spec.max_length,
            timeout: spec.timeout,
            finish_on_key: cx.finish_on_key(&spec.finish_on_key, &format!("{path}.finish_on_key")),
            play_beep: spec.play_beep,
            trim: spec.trim,
            transcribe: spec.transcribe,
            transcribe_callback: spec
                .transcribe_callback
                .as_ref()
                .map(|u| cx.text(u.as_str(), &format!("{path}.transcribe_callback"))),
            recording_status_callback: spec
                .recording_status_callback
                .as_ref()
                .map(|u| cx.text(u.as_str(), &format!("{path}.recording_status_callback"))),
            save_as: cx
                .save_as(&spec.save_as, &format!("{path}.save_as"))
                .unwrap_or_else(|| "recording_url".to_owned()),
            notify,
        }
    }

    async fn perform<'w>(
        &self,
        call: &mut impl Call<'w>,
        _next: Target,
    ) -> Result<Then, StepError> {
        for prompt in Prompt::render_all(&self.prompts, call)? {
            call.emit(prompt);
        }
        let render = |call: &mut _, text: &Option<Text>| -> Result<Option<String>, StepError> {
            text.as_ref()
                .map(|text| Call::render(call, text).map(|t| t.into_owned()))
                .transpose()
        };
        let mut transcribe = render(call, &self.transcribe_callback)?;
        let mut status = render(call, &self.recording_status_callback)?;
        if self.notify.is_some() {
            let notice = Some(call.notice_url());
            if self.transcribe == Some(true) {
                transcribe = notice;
            } else {
                status = notice;
            }
        }
        let url = call.waiting_url();
        call.emit(self.verb(&url, transcribe.as_deref(), status.as_deref()));
        call.emit(super::gather::redirect(&url));
        Ok(Then::Stop)
    }

    fn resume<'w>(
        &self,
        call: &mut impl Call<'w>,
        _here: StepId,
        next: Target,
    ) -> Result<Option<Target>, StepError> {
        if let Some(url) = call.given("RecordingUrl") {
            call.set_var(&self.save_as, url);
        }
        Ok(Some(next))
    }
}

impl Record {
    /// `<Record>` posting to `action`, with its callbacks as rendered.
    pub fn verb(
        &self,
        action: &str,
        transcribe_callback: Option<&str>,
        recording_status_callback: Option<&str>,
    ) -> Element {
        Element::new("Record")
            .attr("action", action)
            .attr_opt("maxLength", self.max_length.map(|n| n.to_string()))
            .attr_opt("timeout", self.timeout.map(|n| n.to_string()))
            .attr_opt("finishOnKey", self.finish_on_key.as_deref())
            .attr_opt("playBeep", self.play_beep.map(bool_text))
            .attr_opt(
                "trim",
                self.trim
                    .map(|trim| if trim { "trim-silence" } else { "do-not-trim" }),
            )
            .attr_opt("transcribe", self.transcribe.map(bool_text))
            .attr_opt(
                "transcribeCallback",
                transcribe_callback.filter(|u| !u.is_empty()),
            )
            .attr_opt(
                "recordingStatusCallback",
                recording_status_callback.filter(|u| !u.is_empty()),
            )
    }
}
