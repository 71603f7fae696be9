//! What a turn did, for the line's metrics and call events.
//!
//! Everything here is named from the flow files (flows, steps, option keys)
//! or from closed sets (how a turn ended, a dial's outcome): never from the
//! CallSid, a number or what the caller typed, so metrics' label sets stay
//! bounded and events hold no card numbers.

use crate::flow::steps::{Outcome, Route};
use crate::flow::{FlowId, FlowSet, StepId, Target};

/// How a turn ended: the call waits for its next webhook, or it is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnEnd {
    /// A step waits for the caller, a dial or a recording.
    Waiting,
    /// The flow ended the call: it ran to its end, or to a `hangup`.
    Completed,
    /// A `reject` step refused the call.
    Rejected,
    /// Something went wrong; the caller heard the apology.
    Apology,
    /// The caller gave nothing too many turns in a row.
    NoInput,
    /// The callback URL's state was not sealed by this line.
    Refused,
}

impl TurnEnd {
    pub const ALL: [TurnEnd; 6] = [
        TurnEnd::Waiting,
        TurnEnd::Completed,
        TurnEnd::Rejected,
        TurnEnd::Apology,
        TurnEnd::NoInput,
        TurnEnd::Refused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TurnEnd::Waiting => "waiting",
            TurnEnd::Completed => "completed",
            TurnEnd::Rejected => "rejected",
            TurnEnd::Apology => "apology",
            TurnEnd::NoInput => "no_input",
            TurnEnd::Refused => "refused",
        }
    }

    /// Whether the call is over after this turn.
    pub fn ends_call(self) -> bool {
        self != TurnEnd::Waiting
    }
}

/// A step, by the names its flow file gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepName<'f> {
    pub flow: &'f str,
    pub step: &'f str,
}

/// What one turn did.
#[derive(Debug, Clone)]
pub struct TurnReport<'f> {
    /// The call's first webhook: a call started.
    pub started: bool,
    pub end: TurnEnd,
    flows: &'f FlowSet,
    /// Steps run, in order; the first is the step resumed when `resumed`.
    visited: Vec<(FlowId, StepId)>,
    resumed: bool,
    outcomes: Vec<(FlowId, StepId, Outcome)>,
    left: Vec<Left>,
}

/// A step the call left, where it went, and what the step noted on the
/// way: enough to name the route it took, which is only worked out when
/// asked (flow tests' coverage), so a real call pays for no more than this.
#[derive(Debug, Clone, Copy)]
pub(super) struct Left {
    pub flow: FlowId,
    pub step: StepId,
    pub to: Target,
    /// Index of the step's outcome in the turn's.
    pub outcome: Option<usize>,
    /// The place of the route the step said it left by.
    pub route: Option<usize>,
}

impl<'f> TurnReport<'f> {
    pub(super) fn new(
        flows: &'f FlowSet,
        started: bool,
        end: TurnEnd,
        visited: Vec<(FlowId, StepId)>,
        resumed: bool,
        outcomes: Vec<(FlowId, StepId, Outcome)>,
        left: Vec<Left>,
    ) -> Self {
        TurnReport {
            started,
            end,
            flows,
            visited,
            resumed,
            outcomes,
            left,
        }
    }

    fn name(&self, flow: FlowId, step: StepId) -> StepName<'f> {
        let flow = self.flows.get(flow);
        StepName {
            flow: &flow.name,
            step: &flow.step(step).name,
        }
    }

    /// Every step the turn ran, the step it resumed at included.
    pub fn visited(&self) -> impl Iterator<Item = StepName<'f>> + '_ {
        self.visited.iter().map(|&(f, s)| self.name(f, s))
    }

    /// The steps the call entered in this turn: those it ran, less the one
    /// it came back to (entered in the turn before, when it began to wait).
    /// A menu asked again counts again.
    pub fn entered(&self) -> impl Iterator<Item = StepName<'f>> + '_ {
        self.visited().skip(usize::from(self.resumed))
    }

    /// Each move from one step to the next, in order: a route the call
    /// took (`menu` to `sales`), a menu asked again, a jump into another
    /// flow or back from a called one.
    pub fn moves(&self) -> impl Iterator<Item = (StepName<'f>, StepName<'f>)> + '_ {
        self.visited.windows(2).map(|pair| {
            (
                self.name(pair[0].0, pair[0].1),
                self.name(pair[1].0, pair[1].1),
            )
        })
    }

    /// The step the turn came back to, where the call waited.
    pub fn resumed(&self) -> Option<StepName<'f>> {
        self.resumed.then(|| self.visited().next()).flatten()
    }

    /// What steps made of the caller's answers, by step.
    pub fn outcomes(&self) -> impl Iterator<Item = (StepName<'f>, &Outcome)> + '_ {
        self.outcomes
            .iter()
            .map(|(f, s, outcome)| (self.name(*f, *s), outcome))
    }

    /// The routes the call left steps by, in order, each named as the
    /// flow names it (`1`, `busy`, `open`, a branch's condition).
    pub fn routes(&self) -> impl Iterator<Item = (StepName<'f>, Route)> + '_ {
        self.left.iter().filter_map(|left| {
            let step = self.flows.get(left.flow).step(left.step);
            let outcome = left.outcome.map(|i| &self.outcomes[i].2);
            let next = step.next.unwrap_or(Target::End);
            let route = step
                .action
                .route_taken(next, left.to, outcome, left.route)?;
            Some((self.name(left.flow, left.step), route))
        })
    }
}
