//! `play`: an audio file played to the caller, or keys pressed on the line,
//! as `<Play>`. A gather's or recording's prompt may be a `play` too.

use serde::Deserialize;

use super::{Call, StepError, StepKind, StepSpec, Then};
use crate::flow::compiler::Compiler;
use crate::flow::target::Target;
use crate::flow::template::Text;
use crate::flow::yaml::{FromShorthand, Scalar, Shorthand};
use crate::twiml::Element;

/// `play: https://.../hold.mp3` or `play: { url: ..., loop: 2 }`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlaySpec {
    pub(crate) url: Option<Scalar>,
    #[serde(rename = "loop")]
    pub(crate) loop_count: Option<u32>,
    /// Keys to press on the line (DTMF); `w` waits half a second.
    pub(crate) digits: Option<String>,
}

impl FromShorthand for PlaySpec {
    fn from_shorthand(url: String) -> Self {
        PlaySpec {
            url: Some(Scalar(url)),
            loop_count: None,
            digits: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Play {
    pub url: Option<Text>,
    pub loop_count: Option<u32>,
    pub digits: Option<String>,
}

impl Play {
    /// Compiles a `play` found at `path`.
    pub(crate) fn compile(cx: &mut Compiler<'_>, play: &PlaySpec, path: &str) -> Play {
        if play.url.is_none() && play.digits.is_none() {
            let at = cx.key(path);
            cx.error(
                at,
                "`play` needs a `url` of an audio file, or `digits` to press",
            );
        }
        if let Some(digits) = play.digits.as_ref().filter(|digits| {
            !digits
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'w' | 'W'))
        }) {
            let at = cx.value(&format!("{path}.digits"));
            cx.error(
                at,
                format!("`{digits}` are not keys: use 0-9, *, # and w (a half-second wait)"),
            );
        }
        let url_path = if play.digits.is_none() && play.loop_count.is_none() {
            path.to_owned()
        } else {
            format!("{path}.url")
        };
        Play {
            url: play
                .url
                .as_ref()
                .map(|url| cx.text(url.as_str(), &url_path)),
            loop_count: play.loop_count,
            digits: play.digits.clone(),
        }
    }

    /// `<Play>` of `url`, this play's URL as rendered.
    pub(crate) fn verb_playing(&self, url: Option<&str>) -> Element {
        let element = match url {
            Some(url) => Element::with_text("Play", url),
            None => Element::new("Play"),
        };
        element
            .attr_opt("loop", self.loop_count.map(|n| n.to_string()))
            .attr_opt("digits", self.digits.as_deref())
    }
}

impl StepKind for Play {
    type Spec = Shorthand<PlaySpec>;

    fn compile(
        Shorthand(play): &Self::Spec,
        _step: &StepSpec,
        cx: &mut Compiler<'_>,
        path: &str,
    ) -> Self {
        Play::compile(cx, play, &format!("{path}.play"))
    }

    async fn perform<'w>(&self, call: &mut impl Call<'w>, next: Target) -> Result<Then, StepError> {
        let url = self.url.as_ref().map(|url| call.render(url)).transpose()?;
        let verb = self.verb_playing(url.as_deref());
        call.emit(verb);
        Ok(Then::Go(next))
    }
}
