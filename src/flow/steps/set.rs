//! `set`: gives the call's variables values, from text or templates. It
//! writes no TwiML; the variables travel in the call's callback URLs.

use indexmap::IndexMap;

use super::{Call, StepError, StepKind, StepSpec, Then};
use crate::flow::compiler::Compiler;
use crate::flow::target::Target;
use crate::flow::template::Text;
use crate::flow::yaml::Scalar;

#[derive(Debug)]
pub struct Set {
    /// Variable names and their values, in the order written.
    pub assignments: Vec<(String, Text)>,
}

impl StepKind for Set {
    /// `set: { account: "{{ call.Digits }}", tries: 0 }`.
    type Spec = IndexMap<String, Scalar>;

    fn compile(spec: &Self::Spec, _step: &StepSpec, cx: &mut Compiler<'_>, path: &str) -> Self {
        Set {
            assignments: assignments(spec, cx, &format!("{path}.set")),
        }
    }

    async fn perform<'w>(&self, call: &mut impl Call<'w>, next: Target) -> Result<Then, StepError> {
        assign(call, &self.assignments)?;
        Ok(Then::Go(next))
    }
}

/// Variables and their values written as a map at `path`, each name
/// checked and each value compiled: `set`, and `call`'s `with` and
/// `return`'s values, which set variables the same way.
pub(super) fn assignments(
    spec: &IndexMap<String, Scalar>,
    cx: &mut Compiler<'_>,
    path: &str,
) -> Vec<(String, Text)> {
    spec.iter()
        .map(|(var, value)| {
            let field = format!("{path}.{var}");
            cx.check_variable_key(var, &field);
            (var.clone(), cx.text(value.as_str(), &field))
        })
        .collect()
}

/// Renders each value and sets its variable, in the order written.
pub(super) fn assign<'w>(
    call: &mut impl Call<'w>,
    assignments: &[(String, Text)],
) -> Result<(), StepError> {
    for (name, value) in assignments {
        let value = call.render(value)?;
        call.set_var(name, &value);
    }
    Ok(())
}
