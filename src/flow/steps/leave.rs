//! `leave`: takes a caller on hold out of their queue (`<Leave>`), from
//! among an `enqueue`'s `hold` steps ("press 1 to leave a message"). The
//! call goes on at the enqueue's `on: leave`, or its `next`.

use serde::Deserializer;

use super::{Call, StepError, StepKind, StepSpec, Then};
use crate::flow::compiler::Compiler;
use crate::flow::target::Target;
use crate::twiml::Element;

#[derive(Debug)]
pub struct Leave;

impl StepKind for Leave {
    /// Nothing: `leave:`, `leave: true` or `leave: {}`.
    type Spec = ();
    const ENDS: bool = true;
    const USES_NEXT: bool = false;

    fn compile(_: &(), _step: &StepSpec, _cx: &mut Compiler<'_>, _path: &str) -> Self {
        Leave
    }

    async fn perform<'w>(
        &self,
        call: &mut impl Call<'w>,
        _next: Target,
    ) -> Result<Then, StepError> {
        call.emit(Element::new("Leave"));
        Ok(Then::Stop)
    }
}

/// `leave:`, `leave: true` or `leave: {}`.
pub(super) fn flag<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Box<()>>, D::Error> {
    super::hangup::word(deserializer, "leave")
}
