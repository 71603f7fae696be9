//! `hangup`: ends the call, as `<Hangup>`. A `next` or target of `hangup`
//! ends it the same way.

use serde::{Deserialize, Deserializer, de};

use super::{Call, StepError, StepKind, StepSpec, Then};
use crate::flow::compiler::Compiler;
use crate::flow::target::Target;
use crate::twiml::Element;

#[derive(Debug)]
pub struct Hangup;

impl StepKind for Hangup {
    /// Nothing: `hangup:`, `hangup: true` or `hangup: {}` (see [`flag`]).
    type Spec = ();
    const ENDS: bool = true;
    const USES_NEXT: bool = false;

    fn compile(_: &(), _step: &StepSpec, _cx: &mut Compiler<'_>, _path: &str) -> Self {
        Hangup
    }

    async fn perform<'w>(
        &self,
        call: &mut impl Call<'w>,
        _next: Target,
    ) -> Result<Then, StepError> {
        call.emit(verb());
        Ok(Then::Stop)
    }
}

pub fn verb() -> Element {
    Element::new("Hangup")
}

/// `hangup:` with no value, `hangup: true` or `hangup: {}` all mean "hang up";
/// `hangup: false` is refused rather than read as "do not hang up", which a
/// step has no way to mean.
pub(super) fn flag<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Box<()>>, D::Error> {
    word(deserializer, "hangup")
}

/// A step kind written as a word with nothing to set (`hangup`, `leave`):
/// no value, `true` and `{}` all mean "do it"; `false` is refused.
pub(super) fn word<'de, D: Deserializer<'de>>(
    deserializer: D,
    key: &str,
) -> Result<Option<Box<()>>, D::Error> {
    let value = serde_yaml_ng::Value::deserialize(deserializer)?;
    match value {
        serde_yaml_ng::Value::Bool(false) => Err(de::Error::custom(format!(
            "`{key}` cannot be `false`, which has no meaning for a step: remove the step, or write `{key}: true`"
        ))),
        _ => Ok(Some(Box::new(()))),
    }
}
