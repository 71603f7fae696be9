//! `pause`: seconds of silence, as `<Pause>`.

use super::{Call, StepError, StepKind, StepSpec, Then};
use crate::flow::compiler::Compiler;
use crate::flow::target::Target;
use crate::twiml::Element;

#[derive(Debug)]
pub struct Pause {
    pub seconds: u32,
}

impl StepKind for Pause {
    /// `pause: 2`, in seconds.
    type Spec = u32;

    fn compile(seconds: &u32, _step: &StepSpec, _cx: &mut Compiler<'_>, _path: &str) -> Self {
        Pause { seconds: *seconds }
    }

    async fn perform<'w>(&self, call: &mut impl Call<'w>, next: Target) -> Result<Then, StepError> {
        call.emit(verb(self.seconds));
        Ok(Then::Go(next))
    }
}

pub fn verb(seconds: u32) -> Element {
    Element::new("Pause").attr("length", seconds.to_string())
}
