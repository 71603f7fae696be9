//! Where a webhook continues the call: routing a new call to its flow,
//! resuming the step a call waits at, and carrying on calls whose flow was
//! edited since their last webhook.

use super::{CallState, Leg, Problem, Turn, TurnEnd};
use crate::dial_target::{self, TargetKind};
use crate::flow::languages::LANGUAGE_VARIABLE;
use crate::flow::steps::{pause, reject};
use crate::flow::{FlowId, Step, StepId, Target};

/// How long a caller on hold waits in silence before Twilio asks for the
/// hold steps again, when an edit removed them.
const HOLD_AFTER_EDIT_SECONDS: u32 = 5;

impl<'a> Turn<'a> {
    /// Finds where this webhook continues the call; `None` when the turn
    /// is over before any step: a new call the flow's `callers` turns
    /// away, which gets `<Reject>` and is never answered.
    pub(super) fn begin(&mut self) -> Result<Option<Target>, Problem> {
        let target = self.find_start()?;
        if self.started
            && let Some(callers) = &self.current_flow().callers
            && let Some(why) = callers.turns_away(self.webhook.param("From"))
        {
            tracing::info!(
                call_sid = self.webhook.call_sid(),
                flow = %self.current_flow().name,
                "the call was turned away unanswered: {why}"
            );
            self.emit(reject::verb(callers.reason));
            self.end = TurnEnd::Rejected;
            return Ok(None);
        }
        if self.started
            && let Some(record) = &self.current_flow().record_calls
        {
            if let Some(consent) = &record.consent {
                consent.say(self).map_err(|error| self.problem_of(error))?;
            }
            self.emit(record.start.clone());
        }
        Ok(Some(target))
    }

    /// Where this webhook continues the call.
    fn find_start(&mut self) -> Result<Target, Problem> {
        let Some(state) = CallState::from_query(self.webhook.query, &self.settings.state_key)?
        else {
            self.started = true;
            let flow = self.route(true)?;
            self.enter_flow(flow);
            // A call may start in a language, as it may start in a flow: a
            // TwiML App URL's `?language=es-US`, a browser call's custom
            // parameter. The flow's first language speaks for one it does
            // not list.
            if let Some(language) = self.webhook.non_empty(LANGUAGE_VARIABLE) {
                self.state.set_var(LANGUAGE_VARIABLE, language);
            }
            return Ok(Target::Step(self.current_flow().start));
        };
        let edited = state
            .version
            .as_deref()
            .is_some_and(|version| version != self.flows.version());
        let Some(flow) = self.flows.id_of(&state.flow) else {
            if !edited {
                return Err(Problem::UnknownFlow(state.flow));
            }
            if state.leg != Leg::Caller {
                self.state = state;
                return Ok(self.leg_gone());
            }
            // The URL's `flow` is the flow that went: route by number.
            let flow = self.route(false)?;
            tracing::info!(
                call_sid = self.webhook.call_sid(),
                gone = %state.flow,
                to = %self.flows.get(flow).name,
                "an edit removed the flow of this call; it starts again where a new call would"
            );
            self.state = state;
            // It starts afresh: no sub-flow it was in is in progress.
            self.state.returns.clear();
            self.enter_flow(flow);
            return Ok(Target::Step(self.current_flow().start));
        };
        self.enter_flow(flow);
        let step_name = state.step.clone();
        self.state = state;
        let flow = self.current_flow();
        let Some(step) = flow.step_id(&step_name) else {
            if !edited {
                return Err(Problem::UnknownStep {
                    flow: flow.name.clone(),
                    step: step_name,
                });
            }
            if self.state.leg != Leg::Caller {
                return Ok(self.leg_gone());
            }
            let to = flow.fallback.unwrap_or(flow.start);
            tracing::info!(
                call_sid = self.webhook.call_sid(),
                flow = %flow.name,
                gone = %step_name,
                to = %flow.step(to).name,
                "an edit removed the step this call waited at; it goes on at the flow's fallback or start"
            );
            return Ok(Target::Step(to));
        };
        self.step = Some(step);
        self.visit(step);
        self.resumed = true;
        self.resume(flow.step(step), step)
    }

    /// Where a hold or a whisper goes when an edit removed the step it
    /// ran from: a whisper joins the callee, as a dial without one would;
    /// hold waits a moment and asks again, keeping the caller's place.
    fn leg_gone(&mut self) -> Target {
        tracing::info!(
            call_sid = self.webhook.call_sid(),
            leg = self.state.leg.as_str(),
            "an edit removed the step this leg ran from; it goes on without it"
        );
        if self.state.leg == Leg::Queue {
            self.emit(pause::verb(HOLD_AFTER_EDIT_SECONDS));
        }
        Target::End
    }

    /// Picks the flow for a call's first webhook, in the documented order;
    /// without `by_flow_parameter` when the `flow` parameter is known stale.
    fn route(&self, by_flow_parameter: bool) -> Result<FlowId, Problem> {
        if let Some(name) = self.webhook.non_empty("flow").filter(|_| by_flow_parameter) {
            return self
                .flows
                .id_of(name)
                .ok_or_else(|| Problem::UnknownFlow(name.to_owned()));
        }
        let from = self.webhook.param("From").unwrap_or("");
        let to = self.webhook.non_empty("To");
        if from.starts_with("client:") && to.is_some() {
            let name = &self.settings.outbound_flow;
            return self
                .flows
                .id_of(name)
                .ok_or_else(|| Problem::NoFlow(name.clone()));
        }
        if let Some(flow) = to.and_then(|to| self.flow_for_number(to)) {
            return Ok(flow);
        }
        let name = &self.settings.default_flow;
        self.flows
            .id_of(name)
            .ok_or_else(|| Problem::NoFlow(name.clone()))
    }

    /// The flow that claims the number `to`, however it is written.
    fn flow_for_number(&self, to: &str) -> Option<FlowId> {
        if let Some(flow) = self.flows.for_number(to) {
            return Some(flow);
        }
        // Twilio sends numbers as E.164, which the lookup above has tried:
        // only other spellings need reading.
        let e164 = to
            .strip_prefix('+')
            .is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_digit()));
        if e164 {
            return None;
        }
        let number = dial_target::parse(to, Some(TargetKind::Number)).ok()?;
        self.flows.for_number(number.as_str())
    }

    /// Takes in the result of the step the call was waiting at.
    fn resume(&mut self, step: &'a Step, id: StepId) -> Result<Target, Problem> {
        let next = step.next.unwrap_or(Target::End);
        let noted = self.outcomes.len();
        self.leaving = None;
        match step.action.resume(self, id, next) {
            Ok(Some(target)) => {
                self.leave(id, target, noted);
                Ok(target)
            }
            // The flow changed under a call in progress and this step no
            // longer waits: run it afresh.
            Ok(None) => Ok(Target::Step(id)),
            Err(error) => Err(self.problem_of(error)),
        }
    }
}
