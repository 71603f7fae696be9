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
        let assignments = spec
            .iter()
            .map(|(var, value)| {
                let field = format!("{path}.set.{var}");
                cx.check_variable_key(var, &field);
                (var.clone(), cx.text(value.as_str(), &field))
            })
            .collect();
        Set { assignments }
    }

    async fn perform<'w>(&self, call: &mut impl Call<'w>, next: Target) -> Result<Then, StepError> {
        for (name, value) in &self.assignments {
            let value = call.render(value)?;
            call.set_var(name, &value);
        }
        Ok(Then::Go(next))
    }
}
