//! `enqueue`: puts the caller in a queue (`<Enqueue>`) until an agent's
//! `dial: { queue }` takes them, and runs the `hold` steps while they wait.
//!
//! Twilio fetches the queue's wait URL over and over while the caller
//! holds; that URL comes back to this step on the queue's own leg, which
//! runs the `hold` steps with the wait's parameters (`QueuePosition`,
//! `AvgQueueTime`, …) readable as `call.*`. Hold steps end by running out,
//! and Twilio asks for them again; a `leave` step among them takes the
//! caller out of the queue. When the wait is over, Twilio posts the
//! `<Enqueue>`'s action with `QueueResult`, and `on:` says where each
//! result goes.

use serde::Deserialize;

use super::{Call, OnKey, Route, StepError, StepKind, StepSpec, Then, pause, request};
use crate::engine::Leg;
use crate::flow::compiler::Compiler;
use crate::flow::target::{StepId, Target};
use crate::flow::template::Text;
use crate::flow::yaml::{FromShorthand, Scalar, Shorthand};
use crate::twiml::Element;

/// `enqueue: support`, or the full map.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnqueueSpec {
    /// The queue's name, at most 64 characters; a template.
    pub(crate) queue: Scalar,
    /// The first of the steps run while the caller holds, played again each time they run out; Twilio's hold music when left out.
    pub(crate) hold: Option<String>,
    /// Most callers the queue holds; a caller past it goes to `on: queue-full`.
    pub(crate) max_size: Option<u32>,
}

impl FromShorthand for EnqueueSpec {
    fn from_shorthand(queue: String) -> Self {
        EnqueueSpec {
            queue: Scalar(queue),
            hold: None,
            max_size: None,
        }
    }
}

/// How a wait in a queue ended, from Twilio's `QueueResult`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueOutcome {
    /// An agent took the call, and the two have since hung up.
    Bridged,
    /// A `leave` step took the caller out of the queue.
    Leave,
    /// The queue held `max_size` callers already.
    QueueFull,
    /// The caller hung up while holding.
    Hangup,
    /// Twilio could not queue the call.
    Error,
}

impl QueueOutcome {
    pub const ALL: [QueueOutcome; 5] = [
        QueueOutcome::Bridged,
        QueueOutcome::Leave,
        QueueOutcome::QueueFull,
        QueueOutcome::Hangup,
        QueueOutcome::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            QueueOutcome::Bridged => "bridged",
            QueueOutcome::Leave => "leave",
            QueueOutcome::QueueFull => "queue-full",
            QueueOutcome::Hangup => "hangup",
            QueueOutcome::Error => "error",
        }
    }

    /// An `on:` key of a queue; `error` is read as a request's first.
    pub fn parse(text: &str) -> Option<QueueOutcome> {
        QueueOutcome::ALL.into_iter().find(|o| o.as_str() == text)
    }

    /// Twilio's `QueueResult`. A call taken out of the queue by the REST
    /// API (`redirected`) has left it as a `leave` step would have.
    pub fn from_result(result: &str) -> QueueOutcome {
        match result {
            "bridged" | "bridging-in-process" => QueueOutcome::Bridged,
            "leave" | "redirected" => QueueOutcome::Leave,
            "queue-full" => QueueOutcome::QueueFull,
            "hangup" => QueueOutcome::Hangup,
            _ => QueueOutcome::Error,
        }
    }
}

#[derive(Debug)]
pub struct Enqueue {
    pub queue: Text,
    /// The first hold step.
    pub hold: Option<Target>,
    pub max_size: Option<u32>,
    pub routes: Vec<(QueueOutcome, Target)>,
}

/// How long a caller holds in silence before Twilio asks again, when the
/// flow was edited under them and the step lost its `hold`.
const HOLD_WITHOUT_STEPS_SECONDS: u32 = 5;

impl Enqueue {
    fn route(&self, outcome: QueueOutcome) -> Option<Target> {
        self.routes
            .iter()
            .find(|(o, _)| *o == outcome)
            .map(|(_, target)| *target)
    }
}

impl StepKind for Enqueue {
    type Spec = Shorthand<EnqueueSpec>;
    const WAITS: bool = true;

    fn compile(
        Shorthand(spec): &Self::Spec,
        step: &StepSpec,
        cx: &mut Compiler<'_>,
        path: &str,
    ) -> Self {
        let own = format!("{path}.enqueue");
        let queue = cx.text(spec.queue.as_str(), &format!("{own}.queue"));
        if let Text::Plain(name) = &queue
            && (name.trim().is_empty() || name.chars().count() > 64)
        {
            let at = cx.value(&format!("{own}.queue"));
            cx.error(at, "a queue's name has 1 to 64 characters");
        }
        let hold = spec
            .hold
            .as_deref()
            .map(|name| cx.step_target(name, &format!("{own}.hold")));
        if hold == Some(Target::Hangup) && spec.hold.as_deref() == Some("hangup") {
            let at = cx.value(&format!("{own}.hold"));
            cx.error(
                at,
                "`hold` names the first step callers hear while they wait",
            );
        }
        let mut routes = Vec::new();
        for (key, target) in step.on.iter().flatten() {
            let field = format!("{path}.on.{}", key.as_str());
            let outcome = match key {
                OnKey::Queue(outcome) => Some(*outcome),
                OnKey::Request(request::RequestOutcome::Error) => Some(QueueOutcome::Error),
                _ => None,
            };
            match outcome {
                Some(outcome) => routes.push((outcome, cx.step_target(target, &field))),
                None => {
                    let at = cx.key(&field);
                    cx.error(
                        at,
                        format!("`{}` is not how a wait in a queue ends", key.as_str()),
                    )
                    .help = Some(
                        "an enqueue's `on` takes bridged, leave, queue-full, hangup and error"
                            .into(),
                    );
                }
            }
        }
        Enqueue {
            queue,
            hold,
            max_size: spec.max_size,
            routes,
        }
    }

    fn targets(&self, next: Target, out: &mut Vec<Target>) {
        out.extend(self.routes.iter().map(|(_, target)| *target));
        out.push(next);
    }

    fn routes(&self, next: Target, out: &mut Vec<Route>) {
        let on = self.routes.iter();
        out.extend(on.map(|(outcome, target)| Route::new(outcome.as_str(), *target)));
        out.push(Route::new("next", next));
        out.extend(self.hold.map(|hold| Route::new("hold", hold)));
    }

    fn legs(&self, out: &mut Vec<(Leg, Target)>) {
        out.extend(self.hold.map(|hold| (Leg::Queue, hold)));
    }

    async fn perform<'w>(
        &self,
        call: &mut impl Call<'w>,
        _next: Target,
    ) -> Result<Then, StepError> {
        let queue = call.render(&self.queue)?.into_owned();
        let action = call.waiting_url();
        let mut enqueue = Element::with_text("Enqueue", queue)
            .attr("action", action)
            .attr("method", "POST")
            .attr_opt("maxQueueSize", self.max_size.map(|n| n.to_string()));
        if self.hold.is_some() {
            enqueue = enqueue
                .attr("waitUrl", call.leg_url(Leg::Queue))
                .attr("waitUrlMethod", "POST");
        }
        call.emit(enqueue);
        Ok(Then::Stop)
    }

    fn resume<'w>(
        &self,
        call: &mut impl Call<'w>,
        _here: StepId,
        next: Target,
    ) -> Result<Option<Target>, StepError> {
        if call.leg() == Leg::Queue {
            // Twilio asks for the hold steps, again.
            return Ok(Some(match self.hold {
                Some(hold) => hold,
                None => {
                    call.emit(pause::verb(HOLD_WITHOUT_STEPS_SECONDS));
                    Target::End
                }
            }));
        }
        let outcome = QueueOutcome::from_result(call.param("QueueResult").unwrap_or("error"));
        call.note(super::Outcome::Queue(outcome));
        Ok(Some(self.route(outcome).unwrap_or(next)))
    }
}
