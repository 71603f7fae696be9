//! `goto`: goes on in another flow, at its start or at a named step. It
//! writes no TwiML; the turn simply carries on there.

use serde::Deserialize;

use super::{Call, Route, StepError, StepKind, StepSpec, Then};
use crate::flow::compiler::Compiler;
use crate::flow::target::Target;
use crate::flow::yaml::{FromShorthand, Shorthand};

/// `goto: billing` or `goto: { flow: billing, step: card }`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GotoSpec {
    pub(crate) flow: String,
    pub(crate) step: Option<String>,
}

impl FromShorthand for GotoSpec {
    fn from_shorthand(flow: String) -> Self {
        GotoSpec { flow, step: None }
    }
}

#[derive(Debug)]
pub struct Goto {
    pub target: Target,
}

impl StepKind for Goto {
    type Spec = Shorthand<GotoSpec>;
    const USES_NEXT: bool = false;

    fn compile(
        Shorthand(goto): &Self::Spec,
        _step: &StepSpec,
        cx: &mut Compiler<'_>,
        path: &str,
    ) -> Self {
        Goto {
            target: cx.flow_target(&goto.flow, goto.step.as_deref(), &format!("{path}.goto")),
        }
    }

    fn targets(&self, _next: Target, out: &mut Vec<Target>) {
        out.push(self.target);
    }

    fn routes(&self, _next: Target, out: &mut Vec<Route>) {
        out.push(Route::new("goto", self.target));
    }

    async fn perform<'w>(
        &self,
        _call: &mut impl Call<'w>,
        _next: Target,
    ) -> Result<Then, StepError> {
        Ok(Then::Go(self.target))
    }
}
