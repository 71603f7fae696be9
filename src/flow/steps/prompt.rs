//! What a caller hears while a `gather`, `menu` or `record` waits, or before
//! a `dial` rings: a `say`, a `play`, or a `prompt:` list that mixes `say`,
//! `play` and `pause` items. Not a kind of its own; those kinds share it, so
//! an item reads and sounds exactly like the step of the same name.

use serde::Deserialize;

use super::pause;
use super::play::{Play, PlaySpec};
use super::say::{SaySpec, Speech};
use super::{Call, StepError};
use crate::flow::compiler::Compiler;
use crate::flow::yaml::Shorthand;
use crate::twiml::Element;

/// One item of a `prompt:` list: `- say: ...`, `- play: ...` or
/// `- pause: 2`, each in the forms of the step of the same name.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PromptItemSpec {
    pub(crate) say: Option<Shorthand<SaySpec>>,
    pub(crate) play: Option<Shorthand<PlaySpec>>,
    /// Seconds of silence.
    pub(crate) pause: Option<u32>,
}

/// Where a step's prompt is heard, which decides what it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Heard {
    /// Nested in a gather's or menu's `<Gather>`, so the caller can answer
    /// before it ends.
    InGather,
    /// Before a record's or dial's verb.
    BeforeVerb,
}

impl Heard {
    /// The prompts of a step at `path` (such as `steps.ask.gather`) from its
    /// `say`, `play` and `prompt` keys, in the order the caller hears them.
    pub(crate) fn prompts(
        self,
        cx: &mut Compiler<'_>,
        say: &Option<Shorthand<SaySpec>>,
        play: &Option<Shorthand<PlaySpec>>,
        list: &Option<Vec<PromptItemSpec>>,
        path: &str,
    ) -> Vec<Prompt> {
        Prompt::compile_all(cx, say, play, list, path, self == Heard::InGather)
    }
}

#[derive(Debug, Clone)]
pub enum Prompt {
    Say(Speech),
    Play(Play),
    /// Seconds of silence.
    Pause(u32),
}

impl Prompt {
    fn compile_all(
        cx: &mut Compiler<'_>,
        say: &Option<Shorthand<SaySpec>>,
        play: &Option<Shorthand<PlaySpec>>,
        list: &Option<Vec<PromptItemSpec>>,
        path: &str,
        in_gather: bool,
    ) -> Vec<Prompt> {
        let mut prompts = Vec::new();
        if let Some(items) = list {
            let beside: Vec<&str> = [("say", say.is_some()), ("play", play.is_some())]
                .into_iter()
                .filter_map(|(key, present)| present.then_some(key))
                .collect();
            if let Some(first) = beside.first() {
                let at = cx.key(&format!("{path}.prompt"));
                let (keys, both) = match beside.as_slice() {
                    [one] => (format!("`prompt` and `{one}`"), "both"),
                    _ => ("`prompt`, `say` and `play`".to_owned(), "all"),
                };
                cx.error(
                    at,
                    format!("{keys} cannot {both} be given: the list is the whole prompt"),
                )
                .help = Some(format!(
                    "move the `{first}` into the `prompt` list, as `- {first}: ...`"
                ));
            }
            for (i, item) in items.iter().enumerate() {
                let item = Prompt::compile_item(cx, item, &format!("{path}.prompt.{i}"), in_gather);
                prompts.extend(item);
            }
        }
        if let Some(speech) = Speech::compile_optional(cx, say, &format!("{path}.say")) {
            prompts.push(Prompt::Say(speech));
        }
        if let Some(Shorthand(play)) = play {
            prompts.push(compile_play(cx, play, &format!("{path}.play"), in_gather));
        }
        prompts
    }

    /// One item of a `prompt:` list, at `path` (`….prompt.0`).
    fn compile_item(
        cx: &mut Compiler<'_>,
        item: &PromptItemSpec,
        path: &str,
        in_gather: bool,
    ) -> Option<Prompt> {
        let given: Vec<&str> = [
            ("say", item.say.is_some()),
            ("play", item.play.is_some()),
            ("pause", item.pause.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, given)| given.then_some(key))
        .collect();
        if given.len() != 1 {
            // An item's own position is unreliable for a block map: point
            // at its first key when it has one.
            let at = match given.first() {
                Some(key) => cx.key(&format!("{path}.{key}")),
                None => cx.key(path),
            };
            let message = if given.is_empty() {
                "this prompt item is empty: write `- say: ...`, `- play: ...` or `- pause: 1`"
            } else {
                "a prompt item is one `say`, `play` or `pause`: give each its own `- ` line"
            };
            cx.error(at, message);
            return None;
        }
        if let Some(Shorthand(say)) = &item.say {
            Some(Prompt::Say(Speech::compile(
                cx,
                say,
                &format!("{path}.say"),
            )))
        } else if let Some(Shorthand(play)) = &item.play {
            Some(compile_play(cx, play, &format!("{path}.play"), in_gather))
        } else {
            item.pause.map(Prompt::Pause)
        }
    }

    /// Whether the caller hears nothing but silence: no prompt, or pauses
    /// only.
    pub(crate) fn silent(prompts: &[Prompt]) -> bool {
        prompts
            .iter()
            .all(|prompt| matches!(prompt, Prompt::Pause(_)))
    }

    /// The prompts' verbs, rendered for this call. A `say` whose text
    /// renders empty, or a `play` with neither a URL nor keys left, writes
    /// nothing: Twilio would only log a warning for it.
    pub(crate) fn render_all<'w>(
        prompts: &[Prompt],
        call: &mut impl Call<'w>,
    ) -> Result<Vec<Element>, StepError> {
        let mut verbs = Vec::with_capacity(prompts.len());
        for prompt in prompts {
            match prompt {
                Prompt::Say(speech) => {
                    let speech = speech.for_call(call);
                    let text = call.render(&speech.text)?;
                    verbs.extend(speech.verb_saying(&text));
                }
                Prompt::Play(play) => {
                    let url = play.url.as_ref().map(|url| call.render(url)).transpose()?;
                    let url = url.as_deref().filter(|url| !url.trim().is_empty());
                    if url.is_some() || play.digits.is_some() {
                        verbs.push(play.verb_playing(url));
                    }
                }
                Prompt::Pause(seconds) => verbs.push(pause::verb(*seconds)),
            }
        }
        Ok(verbs)
    }
}

/// A `play` at `path`. Twilio refuses `digits` on a `<Play>` nested in
/// `<Gather>`, so there they are reported while the flow loads rather than
/// failing the live call.
fn compile_play(cx: &mut Compiler<'_>, play: &PlaySpec, path: &str, in_gather: bool) -> Prompt {
    if in_gather && play.digits.is_some() {
        let at = cx.key(&format!("{path}.digits"));
        cx.error(
            at,
            "Twilio presses no `digits` while it listens for the caller",
        )
        .help = Some("press them in a `play` step before this one".into());
    }
    Prompt::Play(Play::compile(cx, play, path))
}
