//! Where a call goes: a flow and a step by index, or the end of the call.
//! Steps and flows are named in YAML and numbered when they compile, so a
//! turn follows indexes and never looks a name up.

pub type FlowId = usize;
pub type StepId = usize;

/// Where a call goes: a step of the same flow, another flow, or the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Step(StepId),
    Flow(FlowId, StepId),
    /// Hangs up, wherever the call is: `hangup`, written out.
    Hangup,
    /// The flow has nowhere more to go (a step without `next`, or
    /// `return`): a sub-flow comes back to the step that called it, and a
    /// call in no sub-flow ends.
    End,
}
