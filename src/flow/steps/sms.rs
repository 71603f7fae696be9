//! `sms`: texts the caller a link, a confirmation or a code while the call
//! goes on, through Twilio's Messages API ([`crate::messaging`]).
//!
//! A text never delays the call or changes its path: it is sent in the
//! background, and one that cannot go (no number, a refused number, no
//! credentials) is logged with the CallSid while the call carries on.
//!
//! Whom a text goes to is guarded like a dial, because sending texts to
//! premium numbers is a known fraud ("SMS pumping"): by default it goes to
//! the caller, and a caller's number (which can be forged) still has to
//! pass the fences every dialled number passes: no premium-rate, shared-cost
//! or high-risk destination. A `to` built from a template needs an `allow`
//! list, as a dial's does.

use serde::Deserialize;

use super::{Call, StepError, StepKind, StepSpec, Then};
use crate::dial_target::{self, AllowList, DialTarget, TargetKind};
use crate::flow::compiler::Compiler;
use crate::flow::target::Target;
use crate::flow::template::Text;
use crate::flow::yaml::{FromShorthand, Scalar, Shorthand};
use crate::messaging::TextMessage;
use crate::messaging::api::MAX_BODY_CHARS;

/// `sms: "Your code is …"`, or the full map.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SmsSpec {
    /// The message, a template; at most 1,600 characters.
    pub(crate) body: Scalar,
    /// The number to text; the caller's when left out.
    pub(crate) to: Option<Scalar>,
    /// The number the text comes from; the number the caller called when
    /// left out.
    pub(crate) from: Option<Scalar>,
    /// Numbers a templated `to` may be, as a dial's `allow`.
    pub(crate) allow: Option<Vec<String>>,
}

impl FromShorthand for SmsSpec {
    fn from_shorthand(body: String) -> Self {
        SmsSpec {
            body: Scalar(body),
            to: None,
            from: None,
            allow: None,
        }
    }
}

#[derive(Debug)]
pub struct Sms {
    pub body: Text,
    pub to: Recipient,
    /// `None`: the number the caller called (`To`).
    pub from: Option<Text>,
}

/// Whom a text goes to.
#[derive(Debug)]
pub enum Recipient {
    /// The caller's own number, held to `allow` (every ordinary number
    /// when the step has none).
    Caller(AllowList),
    /// A number written in the flow, checked when it loads.
    Fixed(DialTarget),
    /// A number from a template, held to the step's `allow` list.
    Templated { text: Text, allow: AllowList },
}

/// What lets every ordinary number through and keeps the fences standing:
/// `+*` names no premium range and no high-risk destination.
const ANY_ORDINARY_NUMBER: &str = "+*";

impl StepKind for Sms {
    type Spec = Shorthand<SmsSpec>;

    fn compile(
        Shorthand(spec): &Self::Spec,
        _step: &StepSpec,
        cx: &mut Compiler<'_>,
        path: &str,
    ) -> Self {
        let own = format!("{path}.sms");
        let allow = spec.allow.as_ref().and_then(|patterns| {
            AllowList::parse(patterns)
                .map_err(|error| {
                    let at = cx.value(&format!("{own}.allow"));
                    cx.error(at, format!("bad `allow` pattern: {error}"));
                })
                .ok()
        });
        let to = match spec.to.as_ref().map(Scalar::as_str) {
            None => Recipient::Caller(allow.unwrap_or_else(any_ordinary_number)),
            Some(raw) if is_the_caller(raw) => {
                Recipient::Caller(allow.unwrap_or_else(any_ordinary_number))
            }
            Some(raw) if Text::is_template_source(raw) => {
                let field = format!("{own}.to");
                let text = cx.text(raw, &field);
                let allow = allow.unwrap_or_else(|| {
                    if spec.allow.is_none() {
                        let at = cx.value(&field);
                        cx.error(at, "this text's number comes from a template, so the step needs an `allow` list")
                            .help = Some("for example `allow: [\"+1*\"]`: numbers outside it are never texted; left out, `to` is the caller's own number".into());
                    }
                    AllowList::parse(&[]).expect("an empty list parses")
                });
                Recipient::Templated { text, allow }
            }
            Some(raw) => match dial_target::parse(raw, Some(TargetKind::Number)) {
                Ok(number) => Recipient::Fixed(number),
                Err(refusal) => {
                    let at = cx.value(&format!("{own}.to"));
                    cx.error(at, format!("cannot text `{raw}`: {refusal}"));
                    Recipient::Caller(any_ordinary_number())
                }
            },
        };
        Sms {
            // In the short form `sms: text` there is no `body` key: a
            // position looked up there falls back to the step's value.
            body: cx.text(spec.body.as_str(), &format!("{own}.body")),
            to,
            from: spec
                .from
                .as_ref()
                .map(|from| cx.text(from.as_str(), &format!("{own}.from"))),
        }
    }

    async fn perform<'w>(&self, call: &mut impl Call<'w>, next: Target) -> Result<Then, StepError> {
        let body = call.render(&self.body)?.trim().to_owned();
        let from = match &self.from {
            Some(from) => call.render(from)?.trim().to_owned(),
            None => call.param("To").unwrap_or_default().trim().to_owned(),
        };
        let (to, checked) = self.recipient(call)?;
        let refused = match checked {
            Err(reason) => Some(reason),
            Ok(_) if body.is_empty() => Some("the message is empty".to_owned()),
            Ok(_) if body.chars().count() > MAX_BODY_CHARS => Some(format!(
                "the message is longer than the {MAX_BODY_CHARS} characters Twilio accepts"
            )),
            Ok(_) if from.is_empty() => {
                Some("there is no number to send it from: set the step's `from`".to_owned())
            }
            Ok(_) => None,
        };
        call.send_text(TextMessage { to, from, body }, refused);
        Ok(Then::Go(next))
    }
}

impl Sms {
    /// The number this call's text goes to, and whether it may go there.
    fn recipient<'w>(
        &self,
        call: &mut impl Call<'w>,
    ) -> Result<(String, Result<(), String>), StepError> {
        let (raw, allow) = match &self.to {
            Recipient::Fixed(number) => return Ok((number.as_str().to_owned(), Ok(()))),
            Recipient::Caller(allow) => (call.param("From").unwrap_or_default().to_owned(), allow),
            Recipient::Templated { text, allow } => (call.render(text)?.into_owned(), allow),
        };
        let number = match dial_target::parse(&raw, Some(TargetKind::Number)) {
            Ok(number) => number,
            Err(refusal) => return Ok((raw, Err(format!("it cannot be texted: {refusal}")))),
        };
        let checked = allow.check(&number).map_err(|refusal| refusal.to_string());
        Ok((number.as_str().to_owned(), checked))
    }
}

fn any_ordinary_number() -> AllowList {
    AllowList::parse(&[ANY_ORDINARY_NUMBER.to_owned()]).expect("the pattern is valid")
}

/// Whether a `to` is `{{ call.From }}`, however spaced: the caller, as
/// when `to` is left out.
fn is_the_caller(raw: &str) -> bool {
    let inner = raw
        .trim()
        .strip_prefix("{{")
        .and_then(|rest| rest.strip_suffix("}}"));
    inner.is_some_and(|expression| expression.trim() == "call.From")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_is_named_however_it_is_spaced() {
        assert!(is_the_caller("{{ call.From }}"));
        assert!(is_the_caller("{{call.From}}"));
        assert!(!is_the_caller("{{ call.To }}"));
        assert!(!is_the_caller("{{ vars.number }}"));
        assert!(!is_the_caller("+15551112222"));
    }
}
