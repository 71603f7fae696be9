//! `reject`: refuses the call before it is answered, as `<Reject>`, so the
//! caller hears a busy tone or an unanswered line and is not billed.

use serde::Deserialize;

use super::{Call, StepError, StepKind, StepSpec, Then};
use crate::flow::compiler::Compiler;
use crate::flow::target::Target;
use crate::twiml::Element;

/// `reject: busy` or `reject: rejected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RejectReason {
    Busy,
    Rejected,
}

#[derive(Debug)]
pub struct Reject {
    pub reason: RejectReason,
}

impl StepKind for Reject {
    type Spec = RejectReason;
    const ENDS: bool = true;
    const USES_NEXT: bool = false;

    fn compile(
        reason: &RejectReason,
        _step: &StepSpec,
        _cx: &mut Compiler<'_>,
        _path: &str,
    ) -> Self {
        Reject { reason: *reason }
    }

    async fn perform<'w>(
        &self,
        call: &mut impl Call<'w>,
        _next: Target,
    ) -> Result<Then, StepError> {
        call.emit(verb(self.reason));
        Ok(Then::Stop)
    }
}

pub fn verb(reason: RejectReason) -> Element {
    Element::new("Reject").attr(
        "reason",
        match reason {
            RejectReason::Busy => "busy",
            RejectReason::Rejected => "rejected",
        },
    )
}
