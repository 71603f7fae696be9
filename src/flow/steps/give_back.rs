//! `return`: ends a sub-flow and goes back to the `call` step that started
//! it, on to that step's `next`. It may set variables on the way
//! (`return: { verified: "yes" }`), which must be among the flow's
//! declared `returns`, so the flows that call it know what they get.
//! Outside any sub-flow it ends the call, as a step without `next` does.
//!
//! The file is not `return.rs` because `return` is a Rust keyword.

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, de};

use super::{Call, Route, StepError, StepKind, StepSpec, Then, set};
use crate::flow::compiler::Compiler;
use crate::flow::target::Target;
use crate::flow::template::Text;
use crate::flow::yaml::Scalar;

#[derive(Debug)]
pub struct Return {
    /// Variable names and their values, in the order written.
    pub values: Vec<(String, Text)>,
}

impl StepKind for Return {
    /// `return:` alone, or `return: { verified: "yes" }` (see [`values`]).
    type Spec = IndexMap<String, Scalar>;
    const USES_NEXT: bool = false;

    fn compile(spec: &Self::Spec, _step: &StepSpec, cx: &mut Compiler<'_>, path: &str) -> Self {
        let path = format!("{path}.return");
        for var in spec.keys() {
            cx.check_declared_return(var, &format!("{path}.{var}"));
        }
        let values = set::assignments(spec, cx, &path);
        Return { values }
    }

    fn targets(&self, _next: Target, out: &mut Vec<Target>) {
        out.push(Target::End);
    }

    fn routes(&self, _next: Target, out: &mut Vec<Route>) {
        out.push(Route::new("return", Target::End));
    }

    async fn perform<'w>(
        &self,
        call: &mut impl Call<'w>,
        _next: Target,
    ) -> Result<Then, StepError> {
        set::assign(call, &self.values)?;
        Ok(Then::Go(Target::End))
    }
}

/// `return:` with no value, `return: true` and `return: {}` come back with
/// nothing; a map gives values back. Anything else is refused with the
/// forms that work.
pub(super) fn values<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Box<IndexMap<String, Scalar>>>, D::Error> {
    let value = serde_yaml_ng::Value::deserialize(deserializer)?;
    match value {
        serde_yaml_ng::Value::Null | serde_yaml_ng::Value::Bool(true) => Ok(Some(Box::default())),
        serde_yaml_ng::Value::Mapping(_) => IndexMap::<String, Scalar>::deserialize(value)
            .map(|values| Some(Box::new(values)))
            .map_err(de::Error::custom),
        _ => Err(de::Error::custom(
            "`return` takes nothing (`return:`) or the values it gives back (`return: { verified: \"yes\" }`)",
        )),
    }
}
