//! `call`: runs another flow (or a step of one) as a sub-flow that comes
//! back. A `return` there, or a step with nowhere more to go, brings the
//! call back to this step's `next`. The sub-flow shares the call's
//! variables; `with` sets some before it starts.
//!
//! Where to come back to travels in the call's sealed callback URLs (see
//! [`crate::engine::state`]), so a sub-flow may wait for the caller as
//! often as it likes. At most [`MAX_DEPTH`] sub-flows may be in progress at
//! once: deeper is a mistake `check` reports where it can see it, and an
//! apology at run time where it cannot.

use indexmap::IndexMap;
use serde::Deserialize;

use super::{Call, Route, StepError, StepKind, StepSpec, Then, set};
use crate::flow::compiler::Compiler;
use crate::flow::target::Target;
use crate::flow::template::Text;
use crate::flow::yaml::{FromShorthand, Scalar, Shorthand};

/// Most sub-flows in progress at once in one call: a bound on the callback
/// URL, and a stop for recursion the checker cannot see.
pub const MAX_DEPTH: usize = 8;

/// `call: verify_caller` or
/// `call: { flow: verify_caller, step: ask_pin, with: { purpose: billing } }`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CallSpec {
    pub(crate) flow: String,
    pub(crate) step: Option<String>,
    /// Variables set before the sub-flow starts, as `set` sets them.
    #[serde(default)]
    pub(crate) with: IndexMap<String, Scalar>,
}

impl FromShorthand for CallSpec {
    fn from_shorthand(flow: String) -> Self {
        CallSpec {
            flow,
            step: None,
            with: IndexMap::new(),
        }
    }
}

#[derive(Debug)]
pub struct CallFlow {
    /// Where the sub-flow starts.
    pub target: Target,
    /// `with`: variable names and their values, in the order written.
    pub with: Vec<(String, Text)>,
}

impl StepKind for CallFlow {
    type Spec = Shorthand<CallSpec>;

    fn compile(
        Shorthand(spec): &Self::Spec,
        _step: &StepSpec,
        cx: &mut Compiler<'_>,
        path: &str,
    ) -> Self {
        let path = format!("{path}.call");
        let target = cx.flow_target(&spec.flow, spec.step.as_deref(), &path);
        let with = set::assignments(&spec.with, cx, &format!("{path}.with"));
        CallFlow { target, with }
    }

    /// The sub-flow, and `next`, where it comes back to.
    fn targets(&self, next: Target, out: &mut Vec<Target>) {
        out.push(self.target);
        out.push(next);
    }

    fn routes(&self, next: Target, out: &mut Vec<Route>) {
        out.extend([Route::new("call", self.target), Route::new("next", next)]);
    }

    fn calls(&self) -> Option<Target> {
        Some(self.target)
    }

    async fn perform<'w>(
        &self,
        call: &mut impl Call<'w>,
        _next: Target,
    ) -> Result<Then, StepError> {
        call.enter_sub_flow()?;
        set::assign(call, &self.with)?;
        Ok(Then::Go(self.target))
    }
}
