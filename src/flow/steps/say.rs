//! `say`: words spoken with text to speech, as `<Say>`. Other kinds say
//! things too (a menu's prompt, a dial's warning); they use [`Speech`].
//!
//! Text that is empty, or that a template renders empty, says nothing and
//! writes no `<Say>` at all: Twilio logs warning 13520 for an empty one, and
//! `no_input: ""` is how a menu's built-in apology is silenced.
//!
//! In a flow with `languages` ([`languages`](crate::flow::languages)), a
//! `say` is compiled once per language: `say: { prompt: welcome }` takes
//! each language's text from the prompt table, and any `say` takes each
//! language's voice and `language` attribute where it names none. The
//! call's `language` variable picks one when it is said.

use serde::Deserialize;

use super::{Call, StepError, StepKind, StepSpec, Then};
use crate::flow::compiler::Compiler;
use crate::flow::languages::{self, LANGUAGE_VARIABLE};
use crate::flow::target::Target;
use crate::flow::template::Text;
use crate::flow::yaml::{FromShorthand, Scalar, Shorthand};
use crate::twiml::Element;

/// `say: Hello`, `say: { text: Hello, voice: Polly.Amy }`, or
/// `say: { prompt: welcome }` for a text of the flow's prompt tables.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SaySpec {
    pub(crate) text: Option<Scalar>,
    /// The name of a prompt under the flow's `prompts:`.
    pub(crate) prompt: Option<String>,
    pub(crate) voice: Option<String>,
    pub(crate) language: Option<String>,
    /// How many times to say it; 0 repeats until the caller hangs up.
    #[serde(rename = "loop")]
    pub(crate) loop_count: Option<u32>,
}

impl FromShorthand for SaySpec {
    fn from_shorthand(text: String) -> Self {
        SaySpec {
            text: Some(Scalar(text)),
            prompt: None,
            voice: None,
            language: None,
            loop_count: None,
        }
    }
}

/// Something said with text to speech.
#[derive(Debug, Clone)]
pub struct Speech {
    pub text: Text,
    pub voice: Option<String>,
    pub language: Option<String>,
    pub loop_count: Option<u32>,
    /// In a flow with `languages`: the same speech in each language, the
    /// default first, picked by the call's `language` variable. Empty
    /// otherwise; the fields above are then what is said.
    pub localized: Vec<(String, Speech)>,
}

impl Speech {
    /// Compiles a `say` found at `path`; the flow's voice and language
    /// apply where the `say` names none.
    pub(crate) fn compile(cx: &mut Compiler<'_>, say: &SaySpec, path: &str) -> Speech {
        if say
            .text
            .as_ref()
            .is_some_and(|text| text.as_str().trim().is_empty())
        {
            let at = cx.value(path);
            cx.warning(at, "this says nothing: the text is empty");
        }
        Speech::compile_message(cx, say, path)
    }

    /// Compiles a message that may be empty on purpose, such as a menu's
    /// `no_input: ""`, which silences the built-in words.
    pub(crate) fn compile_message(cx: &mut Compiler<'_>, say: &SaySpec, path: &str) -> Speech {
        let languages = cx.languages();
        let texts: Vec<Text> = match (&say.text, &say.prompt) {
            (Some(text), prompt) => {
                if prompt.is_some() {
                    let at = cx.key(&format!("{path}.prompt"));
                    cx.error(at, "a `say` has `text` or `prompt`, not both")
                        .help =
                        Some("keep `prompt` to say the prompt in the call's language".into());
                }
                // The short form `say: Hello` has no `text` key: a position
                // looked up there falls back to the key's value, where the
                // text is. Nothing is looked up unless the text is wrong.
                vec![cx.text(text.as_str(), &format!("{path}.text"))]
            }
            (None, Some(name)) => cx
                .prompt(name, &format!("{path}.prompt"))
                .unwrap_or_default(),
            (None, None) => {
                let at = cx.key(path);
                cx.error(at, "this `say` has no words: give it `text` or `prompt`");
                Vec::new()
            }
        };
        let in_flow = |text: Text| Speech {
            text,
            voice: say.voice.clone().or_else(|| cx.flow_voice()),
            language: say.language.clone().or_else(|| cx.flow_language()),
            loop_count: say.loop_count,
            localized: Vec::new(),
        };
        if languages.is_empty() {
            return in_flow(
                texts
                    .into_iter()
                    .next()
                    .unwrap_or(Text::Plain(String::new())),
            );
        }
        let localized: Vec<(String, Speech)> = languages
            .into_iter()
            .enumerate()
            .map(|(i, (code, voice))| {
                // A `text` is the same in every language; a prompt's is its own.
                let text = texts
                    .get(i)
                    .or_else(|| texts.first().filter(|_| texts.len() == 1))
                    .cloned()
                    .unwrap_or(Text::Plain(String::new()));
                let speech = Speech {
                    text,
                    voice: say.voice.clone().or(voice),
                    language: Some(say.language.clone().unwrap_or_else(|| code.clone())),
                    loop_count: say.loop_count,
                    localized: Vec::new(),
                };
                (code, speech)
            })
            .collect();
        let mut speech = localized[0].1.clone();
        speech.localized = localized;
        speech
    }

    /// The speech in the call's language: itself in a flow without
    /// `languages`.
    pub(crate) fn for_call<'w>(&self, call: &impl Call<'w>) -> &Speech {
        if self.localized.is_empty() {
            return self;
        }
        let chosen = call.var(LANGUAGE_VARIABLE);
        let at = languages::pick(self.localized.iter().map(|(code, _)| code.as_str()), chosen);
        &self.localized[at].1
    }

    /// A `say` that is optional where it is written.
    pub(crate) fn compile_optional(
        cx: &mut Compiler<'_>,
        say: &Option<Shorthand<SaySpec>>,
        path: &str,
    ) -> Option<Speech> {
        say.as_ref()
            .map(|Shorthand(say)| Speech::compile(cx, say, path))
    }

    /// Built-in words, in the flow's voice and language.
    pub(crate) fn built_in(cx: &Compiler<'_>, text: &str) -> Speech {
        Speech {
            text: Text::Plain(text.to_owned()),
            voice: cx.flow_voice(),
            language: cx.flow_language(),
            loop_count: None,
            localized: Vec::new(),
        }
    }

    /// `<Say>` saying `text`, this speech's text as rendered; `None` when
    /// there is nothing to say.
    pub(crate) fn verb_saying(&self, text: &str) -> Option<Element> {
        (!text.trim().is_empty()).then(|| {
            verb(
                text,
                self.voice.as_deref(),
                self.language.as_deref(),
                self.loop_count,
            )
        })
    }

    /// Says it on the call, unless it renders empty.
    pub(crate) fn say<'w>(&self, call: &mut impl Call<'w>) -> Result<(), StepError> {
        let speech = self.for_call(call);
        let text = call.render(&speech.text)?;
        if let Some(verb) = speech.verb_saying(&text) {
            call.emit(verb);
        }
        Ok(())
    }
}

impl StepKind for Speech {
    type Spec = Shorthand<SaySpec>;

    fn compile(
        Shorthand(say): &Self::Spec,
        _step: &StepSpec,
        cx: &mut Compiler<'_>,
        path: &str,
    ) -> Self {
        Speech::compile(cx, say, &format!("{path}.say"))
    }

    async fn perform<'w>(&self, call: &mut impl Call<'w>, next: Target) -> Result<Then, StepError> {
        self.say(call)?;
        Ok(Then::Go(next))
    }
}

/// `<Say>`; attributes left out keep Twilio's defaults.
pub fn verb(
    text: &str,
    voice: Option<&str>,
    language: Option<&str>,
    loop_count: Option<u32>,
) -> Element {
    Element::with_text("Say", text)
        .attr_opt("voice", voice)
        .attr_opt("language", language)
        .attr_opt("loop", loop_count.map(|n| n.to_string()))
}
