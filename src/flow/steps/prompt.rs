//! What a caller hears while a `gather`, `menu` or `record` waits: a `say`,
//! a `play`, or both. Not a kind of its own; the waiting kinds share it.

use super::play::{Play, PlaySpec};
use super::say::{SaySpec, Speech};
use super::{Call, StepError};
use crate::flow::compiler::Compiler;
use crate::flow::yaml::Shorthand;
use crate::twiml::Element;

#[derive(Debug, Clone)]
pub enum Prompt {
    Say(Speech),
    Play(Play),
}

impl Prompt {
    /// The prompts of a waiting step at `path`, from its `say` and `play`.
    pub(crate) fn compile_all(
        cx: &mut Compiler<'_>,
        say: &Option<Shorthand<SaySpec>>,
        play: &Option<Shorthand<PlaySpec>>,
        path: &str,
    ) -> Vec<Prompt> {
        let mut prompts = Vec::new();
        if let Some(speech) = Speech::compile_optional(cx, say, &format!("{path}.say")) {
            prompts.push(Prompt::Say(speech));
        }
        if let Some(Shorthand(play)) = play {
            prompts.push(Prompt::Play(Play::compile(
                cx,
                play,
                &format!("{path}.play"),
            )));
        }
        prompts
    }

    /// The prompts' verbs, rendered for this call; text that renders
    /// empty says nothing.
    pub(crate) fn render_all<'w>(
        prompts: &[Prompt],
        call: &mut impl Call<'w>,
    ) -> Result<Vec<Element>, StepError> {
        let mut verbs = Vec::with_capacity(prompts.len());
        for prompt in prompts {
            match prompt {
                Prompt::Say(speech) => {
                    verbs.extend(speech.verb_saying(&call.render(&speech.text)?))
                }
                Prompt::Play(play) => {
                    let url = play.url.as_ref().map(|url| call.render(url)).transpose()?;
                    verbs.push(play.verb_playing(url.as_deref()));
                }
            }
        }
        Ok(verbs)
    }
}
