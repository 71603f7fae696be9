//! `branch`: goes to the first step whose condition holds for this call.
//! It writes no TwiML.

use serde::Deserialize;

use super::{Call, Route, StepError, StepKind, StepSpec, Then};
use crate::flow::compiler::Compiler;
use crate::flow::target::Target;
use crate::flow::template::Text;

/// One `- if: ... goto: ...` of a branch; without `if` it always holds.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BranchArmSpec {
    #[serde(rename = "if")]
    pub(crate) condition: Option<String>,
    pub(crate) goto: String,
}

#[derive(Debug)]
pub struct Branch {
    pub arms: Vec<BranchArm>,
}

#[derive(Debug)]
pub struct BranchArm {
    /// `None` always holds (the last, "else" arm).
    pub condition: Option<Text>,
    /// The condition as written, which diagrams show.
    pub written: Option<String>,
    pub target: Target,
}

impl StepKind for Branch {
    type Spec = Vec<BranchArmSpec>;

    fn compile(arms: &Self::Spec, step: &StepSpec, cx: &mut Compiler<'_>, path: &str) -> Self {
        let path = format!("{path}.branch");
        if arms.is_empty() {
            let at = cx.key(&path);
            cx.error(at, "a branch needs at least one `- if: ... goto: ...`");
        }
        let mut compiled = Vec::with_capacity(arms.len());
        let mut always_at: Option<usize> = None;
        for (i, arm) in arms.iter().enumerate() {
            let arm_path = format!("{path}.{i}");
            if let Some(first) = always_at {
                let at = cx.key(&arm_path);
                cx.warning(
                    at,
                    format!(
                        "this is never reached: choice {} has no `if` and always applies",
                        first + 1
                    ),
                );
            }
            let condition = arm
                .condition
                .as_ref()
                .map(|condition| cx.condition(condition, &format!("{arm_path}.if")));
            if condition.is_none() && always_at.is_none() {
                always_at = Some(i);
            }
            compiled.push(BranchArm {
                condition,
                written: arm.condition.clone(),
                target: cx.step_target(&arm.goto, &format!("{arm_path}.goto")),
            });
        }
        if always_at.is_none() && step.next.is_none() {
            let at = cx.key(&path);
            cx.warning(at, "when no condition holds the call ends: add a last `- goto: ...` without `if`, or `next`");
        }
        Branch { arms: compiled }
    }

    fn targets(&self, next: Target, out: &mut Vec<Target>) {
        out.extend(self.arms.iter().map(|arm| arm.target));
        if self.arms.iter().all(|arm| arm.condition.is_some()) {
            out.push(next);
        }
    }

    /// Each arm by its condition; the arm without one, or `next` when
    /// every arm has one, as `else`.
    fn routes(&self, next: Target, out: &mut Vec<Route>) {
        let mut targets = Vec::new();
        self.targets(next, &mut targets);
        let labels = self.arms.iter().map(|arm| arm.written.clone());
        let labels = labels
            .chain([None])
            .map(|written| written.unwrap_or_else(|| "else".into()));
        out.extend(
            labels
                .zip(targets)
                .map(|(label, target)| Route::new(label, target)),
        );
    }

    async fn perform<'w>(&self, call: &mut impl Call<'w>, next: Target) -> Result<Then, StepError> {
        for (i, arm) in self.arms.iter().enumerate() {
            let holds = match &arm.condition {
                None => true,
                Some(condition) => call.holds(condition)?,
            };
            if holds {
                call.leaves_by(i);
                return Ok(Then::Go(arm.target));
            }
        }
        call.leaves_by(self.arms.len());
        Ok(Then::Go(next))
    }
}
