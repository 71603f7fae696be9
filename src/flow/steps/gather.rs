//! `gather`: waits for keys or words from the caller, as `<Gather>`, and
//! saves them in a variable. A `menu` is a gather with options.

use serde::Deserialize;

use crate::engine::Leg;

use super::play::PlaySpec;
use super::prompt::{Heard, Prompt, PromptItemSpec};
use super::say::SaySpec;
use super::speech::{self, SpeechOptions};
use super::{Call, StepError, StepKind, StepSpec, Then};
use crate::flow::compiler::Compiler;
use crate::flow::languages::{self, LANGUAGE_VARIABLE};
use crate::flow::target::{StepId, Target};
use crate::flow::yaml::{OneOrMany, Scalar, Shorthand};
use crate::twiml::Element;

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GatherSpec {
    pub(crate) say: Option<Shorthand<SaySpec>>,
    pub(crate) play: Option<Shorthand<PlaySpec>>,
    /// A list of `say`, `play` and `pause` items, instead of `say` and `play`.
    pub(crate) prompt: Option<Vec<PromptItemSpec>>,
    pub(crate) input: Option<OneOrMany<InputMode>>,
    pub(crate) num_digits: Option<u32>,
    pub(crate) finish_on_key: Option<String>,
    pub(crate) timeout: Option<u32>,
    pub(crate) speech_timeout: Option<Scalar>,
    pub(crate) hints: Option<OneOrMany<String>>,
    pub(crate) language: Option<String>,
    /// How the step listens ([`speech`]): over the flow's `speech:`.
    pub(crate) speech_model: Option<String>,
    pub(crate) enhanced: Option<bool>,
    pub(crate) profanity_filter: Option<bool>,
    pub(crate) barge_in: Option<bool>,
    pub(crate) action_on_empty_result: Option<bool>,
    pub(crate) max_speech_time: Option<u32>,
    /// The variable that receives what the caller pressed or said.
    pub(crate) save_as: Option<String>,
}

/// How the caller may answer a `gather` or `menu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum InputMode {
    Dtmf,
    Speech,
}

#[derive(Debug, Clone)]
pub struct Gather {
    pub prompts: Vec<Prompt>,
    pub input: Vec<InputMode>,
    pub num_digits: Option<u32>,
    pub finish_on_key: Option<String>,
    pub timeout: Option<u32>,
    pub speech_timeout: Option<String>,
    pub hints: Option<String>,
    pub language: Option<String>,
    /// In a flow with `languages`, when the step names no `language` of its
    /// own and listens to speech: the languages to listen in, the default
    /// first, picked by the call's `language` variable.
    pub languages: Vec<String>,
    pub speech: SpeechOptions,
    pub save_as: Option<String>,
}

impl StepKind for Gather {
    type Spec = GatherSpec;
    const WAITS: bool = true;

    fn compile(spec: &GatherSpec, _step: &StepSpec, cx: &mut Compiler<'_>, path: &str) -> Self {
        let path = format!("{path}.gather");
        let input = spec
            .input
            .as_ref()
            .map(|i| i.0.clone())
            .unwrap_or_else(|| vec![InputMode::Dtmf]);
        // A gather without a prompt of its own is checked across steps
        // (`check`): the `say` just before it may be its prompt.
        let prompts = Heard::InGather.prompts(cx, &spec.say, &spec.play, &spec.prompt, &path);
        let speech = input.contains(&InputMode::Speech);
        Gather {
            prompts,
            num_digits: spec.num_digits,
            finish_on_key: cx.finish_on_key(&spec.finish_on_key, &format!("{path}.finish_on_key")),
            timeout: spec.timeout,
            speech_timeout: cx
                .speech_timeout(&spec.speech_timeout, &format!("{path}.speech_timeout")),
            hints: spec.hints.as_ref().map(|h| h.0.join(", ")),
            language: spec
                .language
                .clone()
                .or_else(|| cx.flow_language())
                .filter(|_| speech),
            languages: listen_in(cx, &spec.language, speech),
            speech: SpeechOptions::compile(cx, &speech::written!(spec), &path, speech),
            save_as: cx.save_as(&spec.save_as, &format!("{path}.save_as")),
            input,
        }
    }

    async fn perform<'w>(
        &self,
        call: &mut impl Call<'w>,
        _next: Target,
    ) -> Result<Then, StepError> {
        self.wait(call)?;
        Ok(Then::Stop)
    }

    fn resume<'w>(
        &self,
        call: &mut impl Call<'w>,
        _here: StepId,
        next: Target,
    ) -> Result<Option<Target>, StepError> {
        let input = call.given("Digits").or_else(|| call.given("SpeechResult"));
        call.heard(input.is_some())?;
        // Nothing heard leaves the variable unset, even when an earlier
        // visit set it: a flow that loops back must not act on that answer.
        match (&self.save_as, input) {
            (Some(var), Some(input)) => call.set_var(var, input),
            (Some(var), None) => call.unset_var(var),
            (None, _) => {}
        }
        Ok(Some(next))
    }
}

impl Gather {
    /// Writes the `<Gather>` that waits for the caller, and the redirect
    /// back here for when the caller gives nothing.
    pub(crate) fn wait<'w>(&self, call: &mut impl Call<'w>) -> Result<(), StepError> {
        let prompts = Prompt::render_all(&self.prompts, call)?;
        let language = match self.languages.as_slice() {
            [] => self.language.clone(),
            codes => {
                let chosen = call.var(LANGUAGE_VARIABLE);
                let at = languages::pick(codes.iter().map(String::as_str), chosen);
                Some(codes[at].clone())
            }
        };
        let url = call.waiting_url();
        call.emit(self.verb(&url, language.as_deref(), prompts));
        // A callee who lets a whisper's question pass declines the call.
        if call.leg() == Leg::Callee {
            call.emit(super::hangup::verb());
        } else {
            call.emit(redirect(&url));
        }
        Ok(())
    }

    /// `<Gather>` posting to `action`; the prompts go inside so the caller
    /// can answer before they finish.
    /// `language` is the one the caller is heard in.
    pub(crate) fn verb(
        &self,
        action: &str,
        language: Option<&str>,
        prompts: Vec<Element>,
    ) -> Element {
        let input = self
            .input
            .iter()
            .map(|mode| match mode {
                InputMode::Dtmf => "dtmf",
                InputMode::Speech => "speech",
            })
            .collect::<Vec<_>>()
            .join(" ");
        let element = Element::new("Gather")
            .attr("action", action)
            .attr_opt("input", (input != "dtmf").then_some(input))
            .attr_opt("numDigits", self.num_digits.map(|n| n.to_string()))
            .attr_opt("finishOnKey", self.finish_on_key.as_deref())
            .attr_opt("timeout", self.timeout.map(|n| n.to_string()))
            .attr_opt("speechTimeout", self.speech_timeout.as_deref())
            .attr_opt("hints", self.hints.as_deref())
            .attr_opt("language", language);
        let mut element = self.speech.apply(element);
        element.children = prompts;
        element
    }
}

/// The languages a `gather` or `menu` listens in, by the call's `language`:
/// those of the flow, unless the step names its own or hears keys only.
pub(crate) fn listen_in(cx: &Compiler<'_>, own: &Option<String>, speech: bool) -> Vec<String> {
    if own.is_some() || !speech {
        return Vec::new();
    }
    cx.languages().into_iter().map(|(code, _)| code).collect()
}

/// `<Redirect>` back to the waiting step: Twilio reaches it when a gather
/// times out or a recording is empty, so the step learns there was no input.
pub fn redirect(url: &str) -> Element {
    Element::with_text("Redirect", url)
}
