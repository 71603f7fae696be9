//! The kinds of step a flow can use, one file each.
//!
//! A kind's file holds everything about it: the YAML it accepts, the form it
//! is compiled to, the checks made when flows load, the TwiML it answers
//! with, how it takes in the result of the next webhook when it waits, and
//! where it can lead for the checks across steps. The list at the end of
//! this file is the only place that names every kind: adding one is a new
//! file, its `mod` line, and its line in that list.

pub mod branch;
pub mod call;
pub mod connect;
pub mod dial;
pub mod enqueue;
pub mod gather;
pub mod give_back;
pub mod goto;
pub mod hangup;
pub mod hours;
pub mod leave;
pub mod menu;
pub mod notify;
pub mod pause;
pub mod play;
pub mod prompt;
pub mod record;
pub mod recording;
pub mod reject;
pub mod request;
pub mod say;
pub mod set;
pub mod sms;
pub mod speech;
pub mod start_stream;

use std::borrow::Cow;

use indexmap::IndexMap;
use jiff::Timestamp;
use serde::Deserialize;

use super::compiler::Compiler;
use super::target::{StepId, Target};
use super::template::Text;
use crate::outbound::{JobPlace, Outbound, Seen};
use crate::twiml::Element;

/// One kind of step. Each kind is a type in its own file; the list in
/// [`step_kinds!`] turns the kinds into the step's YAML shape and into
/// [`Action`], which dispatches to them.
pub(crate) trait StepKind: Sized {
    /// The YAML under the kind's key.
    type Spec;

    /// Whether the step hands the call to the caller (or to Twilio) and
    /// resumes in the next webhook.
    const WAITS: bool = false;
    /// Whether the step ends the call.
    const ENDS: bool = false;
    /// Whether the step goes on to its `next`; those that always go
    /// somewhere of their own warn about a `next` written after them.
    const USES_NEXT: bool = true;

    /// Compiles the kind's YAML, reporting every mistake to `cx`. `step` is
    /// the whole step, for the keys beside the kind's own (`on`, `open`),
    /// and `path` the step's place in the file (`steps.menu`).
    fn compile(spec: &Self::Spec, step: &StepSpec, cx: &mut Compiler<'_>, path: &str) -> Self;

    /// Where the call can go from here, `next` being where the step's
    /// `next` leads (or [`Target::End`]): for the checks across steps.
    fn targets(&self, next: Target, out: &mut Vec<Target>) {
        if Self::USES_NEXT {
            out.push(next);
        }
    }

    /// Where the call can go from here, each way named as the flow names
    /// it (`1`, `no_input`, `busy`, `open`): the arrows of `callflow
    /// graph`. The default names every one of [`StepKind::targets`]
    /// `next`; kinds whose ways have names of their own say them.
    fn routes(&self, next: Target, out: &mut Vec<Route>) {
        let mut targets = Vec::new();
        self.targets(next, &mut targets);
        out.extend(targets.into_iter().map(|target| Route::new("next", target)));
    }

    /// The sub-flow the step calls, which comes back to its `next`: for
    /// the checks that follow calls across flows.
    fn calls(&self) -> Option<Target> {
        None
    }

    /// The steps the step runs on a leg of the call other than the
    /// caller's (a queue's hold, a dial's whisper), which may use only the
    /// verbs Twilio allows there: for the checks of those steps.
    fn legs(&self, out: &mut Vec<(crate::engine::Leg, Target)>) {
        let _ = out;
    }

    /// Runs the step in this turn: writes its TwiML, and says where the
    /// call goes on, or that the turn stops here. It may await (an HTTP
    /// call, say); the engine bounds how many steps a turn runs.
    async fn perform<'w>(&self, call: &mut impl Call<'w>, next: Target) -> Result<Then, StepError>;

    /// Takes in the webhook that comes back to this step after it waited,
    /// and says where the call goes. `None` for kinds that never wait: the
    /// flow was edited under a call in progress, and the step runs afresh.
    fn resume<'w>(
        &self,
        call: &mut impl Call<'w>,
        here: StepId,
        next: Target,
    ) -> Result<Option<Target>, StepError> {
        let _ = (call, here, next);
        Ok(None)
    }
}

/// One way out of a step, and the words that name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub label: Cow<'static, str>,
    pub target: Target,
}

impl Route {
    pub fn new(label: impl Into<Cow<'static, str>>, target: Target) -> Route {
        Route {
            label: label.into(),
            target,
        }
    }
}

/// What a turn does after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Then {
    /// Runs the step at this target next.
    Go(Target),
    /// The step waits for a webhook, or the call ends: the turn is over.
    Stop,
}

/// What stops a step from going on as the flow says.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StepError {
    #[error("{0}")]
    Template(String),
    #[error("the caller gave no input too many turns in a row")]
    Idle,
    /// A request failed and its step has no `on` route for it.
    #[error("{0}")]
    Request(String),
    #[error("a `call` would start sub-flow {} while {} are in progress, the most there may be", call::MAX_DEPTH + 1, call::MAX_DEPTH)]
    TooDeep,
}

/// The call in progress, as a step sees it: the engine's turn provides it,
/// so steps need nothing from the engine and the engine only runs them.
pub(crate) trait Call<'w> {
    /// A parameter of the webhook, as Twilio sent it.
    fn param(&self, name: &str) -> Option<&'w str>;
    /// A parameter of the webhook, trimmed, when it is not empty: what the
    /// caller pressed, said or recorded.
    fn given(&self, name: &str) -> Option<&'w str>;
    fn now(&self) -> Timestamp;
    /// The text as this call reads it: templates rendered.
    fn render<'t>(&mut self, text: &'t Text) -> Result<Cow<'t, str>, StepError>;
    /// Whether a branch condition holds for this call.
    fn holds(&mut self, condition: &Text) -> Result<bool, StepError>;
    /// A variable of the call, such as `language`.
    fn var(&self, name: &str) -> Option<&str>;
    fn set_var(&mut self, name: &str, value: &str);
    /// Forgets a variable, in templates and in the callback URL alike.
    fn unset_var(&mut self, name: &str);
    /// Appends a verb to the answer.
    fn emit(&mut self, verb: Element);
    /// The URL that brings the next webhook back to the current step.
    fn waiting_url(&mut self) -> String;
    /// Whose phone this webhook is about: the caller's, a caller on hold,
    /// or a callee hearing a whisper.
    fn leg(&self) -> crate::engine::Leg;
    /// The URL that brings a webhook of another leg (`leg`) back to the
    /// current step: a queue's hold, a dial's whisper.
    fn leg_url(&mut self, leg: crate::engine::Leg) -> String;
    /// The URL Twilio reports the current step's recording to, for its
    /// notifications: the call's state, and who called whom.
    fn notice_url(&mut self) -> String;
    /// Counts a turn with or without input from the caller; too many
    /// silent turns in a row end the call.
    fn heard(&mut self, input: bool) -> Result<(), StepError>;
    /// Marks the current step as where the sub-flow about to start comes
    /// back to; `Err` when [`call::MAX_DEPTH`] sub-flows are in progress.
    fn enter_sub_flow(&mut self) -> Result<(), StepError>;
    /// The failed tries of the current step, which a menu counts.
    fn attempt(&mut self) -> &mut u32;
    /// The wrong answers at the current step, for a menu that counts them
    /// apart from silence.
    fn misses(&mut self) -> &mut u32;
    /// Counts a dial the call is about to place against the line's dial limits (only browser
    /// calls are counted); `Err` names the limit it ran into.
    fn count_dial(&mut self) -> Result<(), crate::dial_limit::Limited>;
    /// Which call, flow and step this is, for logs.
    fn place(&self) -> Place<'_>;
    /// Notes what the current step made of the caller's answer, for the
    /// line's metrics and call events.
    fn note(&mut self, outcome: Outcome);
    /// Names the route the current step leaves by, by its place in the
    /// step's [`StepKind::routes`], for a step whose outcome does not say
    /// it and whose routes may lead to the same step (two branch arms).
    fn leaves_by(&mut self, route: usize);
    /// A request's part rendered for this call: with the secrets' values,
    /// or, `masked`, with `***` for each, which is all anyone may see.
    fn render_request<'t>(
        &mut self,
        text: &'t Text,
        masked: bool,
    ) -> Result<Cow<'t, str>, StepError>;
    /// The way out to other servers.
    fn outbound(&self) -> Outbound;
    /// What is left of the turn's time for requests: past it the caller
    /// would hear silence, or Twilio would give up.
    fn time_left(&self) -> std::time::Duration;
    /// The `traceparent` of an outgoing request, when the webhook came
    /// with a trace context.
    fn traceparent(&self) -> Option<String>;
    /// Notes a request made, for the transcript.
    fn saw_request(&mut self, seen: Seen);
    /// Sends a text message in the background (or, in a simulation, only
    /// notes it), for the transcript either way; `refused` says why the
    /// step would not send it, which is logged instead.
    fn send_text(&mut self, message: crate::messaging::TextMessage, refused: Option<String>);
}

/// What a step made of a webhook, in words from the flow file and from
/// closed sets only: never what the caller typed or said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A menu's answer: the option chosen (its key as the flow writes it),
    /// or why none was.
    Menu(MenuResult),
    /// How a dial ended.
    Dial(dial::DialOutcome),
    /// How a request the call waited for went (`ok`, `error`, `timeout`),
    /// and how long the call waited.
    Request { outcome: &'static str, millis: u64 },
    /// How a wait in a queue ended.
    Queue(enqueue::QueueOutcome),
}

impl Outcome {
    /// Which way out of its step the outcome says the call took.
    fn way(&self) -> Way<'_> {
        match self {
            Outcome::Menu(MenuResult::Match(key)) => Way::Named(key),
            Outcome::Menu(MenuResult::NoInput | MenuResult::NoMatch) => Way::Stays,
            Outcome::Menu(MenuResult::Exhausted(failure)) => Way::Named(failure.as_str()),
            Outcome::Dial(outcome) => Way::Named(outcome.as_str()),
            // `ok` names no route: the request went on to `next`.
            Outcome::Request { outcome, .. } => Way::Named(outcome),
            Outcome::Queue(outcome) => Way::Named(outcome.as_str()),
        }
    }
}

/// Which way out of a step an [`Outcome`] names.
enum Way<'a> {
    /// The route of this name; when the flow routes no such outcome, the
    /// step's default way.
    Named(&'a str),
    /// The step asks again: the call has not left it.
    Stays,
}

/// The routes a step takes when nothing it noted names another: its own
/// `next`, a menu's `otherwise`, a branch's `else`.
const DEFAULT_WAYS: [&str; 3] = ["next", "otherwise", "else"];

impl Action {
    /// The route a step left by when it sent the call to `to`, `outcome`
    /// being what it noted of the call's answer, and `route` the place of
    /// the route it said it left by ([`Call::leaves_by`]), if anything. Two
    /// routes of a step may lead to the same place (`busy` and `no-answer`
    /// both to `voicemail`): the outcome tells them apart; where it names
    /// none of them the step went its default way, and where nothing tells
    /// them apart the first is taken. `None` when no route leads there: a
    /// menu asking again, a refused dial hanging up.
    pub fn route_taken(
        &self,
        next: Target,
        to: Target,
        outcome: Option<&Outcome>,
        route: Option<usize>,
    ) -> Option<Route> {
        let named = match outcome.map(Outcome::way) {
            Some(Way::Stays) => return None,
            Some(Way::Named(name)) => Some(name),
            None => None,
        };
        let mut routes = Vec::new();
        self.routes(next, &mut routes);
        if let Some(said) = route.filter(|&i| routes.get(i).is_some_and(|r| r.target == to)) {
            return Some(routes.swap_remove(said));
        }
        routes.retain(|route| route.target == to);
        let position = named
            .and_then(|name| routes.iter().position(|route| route.label == name))
            .or_else(|| {
                routes
                    .iter()
                    .position(|route| DEFAULT_WAYS.contains(&route.label.as_ref()))
            })
            .unwrap_or(0);
        (position < routes.len()).then(|| routes.swap_remove(position))
    }
}

/// What a menu made of one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuResult {
    /// The caller chose the option with this key.
    Match(String),
    /// Silence, with tries left.
    NoInput,
    /// A wrong answer, with tries left.
    NoMatch,
    /// The last try failed, by silence or by a wrong answer: the call goes
    /// to `no_input`/`no_match`/`otherwise`.
    Exhausted(menu::Failure),
}

impl MenuResult {
    pub fn as_str(&self) -> &'static str {
        match self {
            MenuResult::Match(_) => "match",
            MenuResult::NoInput => "no_input",
            MenuResult::NoMatch => "no_match",
            MenuResult::Exhausted(_) => "exhausted",
        }
    }
}

/// A key of a step's `on`: how a `dial` ended, how a `request` went, or
/// how a wait in a queue ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum OnKey {
    Dial(dial::DialOutcome),
    Request(request::RequestOutcome),
    Queue(enqueue::QueueOutcome),
}

/// Every key `on` takes, for the message about one it does not.
pub(crate) const ON_KEYS: &[&str] = &[
    "completed",
    "answered",
    "busy",
    "no-answer",
    "failed",
    "canceled",
    "refused",
    "error",
    "timeout",
    "bridged",
    "leave",
    "queue-full",
    "hangup",
];

impl OnKey {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OnKey::Dial(outcome) => outcome.as_str(),
            OnKey::Request(outcome) => outcome.as_str(),
            OnKey::Queue(outcome) => outcome.as_str(),
        }
    }
}

impl<'de> Deserialize<'de> for OnKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if let Some(outcome) = dial::DialOutcome::parse(&text) {
            return Ok(OnKey::Dial(outcome));
        }
        if let Some(outcome) = request::RequestOutcome::parse(&text) {
            return Ok(OnKey::Request(outcome));
        }
        if let Some(outcome) = enqueue::QueueOutcome::parse(&text) {
            return Ok(OnKey::Queue(outcome));
        }
        Err(serde::de::Error::unknown_variant(&text, ON_KEYS))
    }
}

/// Which call, flow and step a log line is about.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place<'a> {
    pub call_sid: &'a str,
    pub flow: &'a str,
    pub step: &'a str,
}

impl Place<'_> {
    /// The place, owned, for a job that outlives the turn.
    pub(crate) fn job(&self) -> JobPlace {
        JobPlace {
            call_sid: self.call_sid.to_owned(),
            flow: self.flow.to_owned(),
            step: self.step.to_owned(),
        }
    }
}

/// A kind's key as written in YAML: `r#return` is `return`.
const fn key_name(field: &'static str) -> &'static str {
    match field.as_bytes() {
        [b'r', b'#', rest @ ..] => match std::str::from_utf8(rest) {
            Ok(key) => key,
            Err(_) => field,
        },
        _ => field,
    }
}

/// Writes the list of kinds out as the step's YAML shape, the compiled
/// [`Action`] and its dispatch, and the action names used in messages.
macro_rules! step_kinds {
    ($( $(#[$field:meta])* $key:ident => $Variant:ident($Kind:ty), )*) => {
        /// One step as written: exactly one action key, plus where to go
        /// next and the keys some kinds read beside their own.
        #[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct StepSpec {
            // Boxed: a step has one action, and a spec of every kind inline
            // would make each parsed step as large as all of them together.
            $( $(#[$field])* pub(crate) $key: Option<Box<<$Kind as StepKind>::Spec>>, )*
            /// The step that follows; a step with nowhere to go ends its
            /// flow: the call ends, or a sub-flow comes back to its `call`.
            pub(crate) next: Option<String>,
            /// `dial`, `enqueue`, `request` and `connect` only: where each outcome leads.
            pub(crate) on: Option<IndexMap<OnKey, String>>,
            /// `hours` only: where calls go while open.
            pub(crate) open: Option<String>,
            /// `hours` only: where calls go while closed.
            pub(crate) closed: Option<String>,
        }

        /// The action keys a step may have, in the order of the language
        /// reference, for messages.
        pub(crate) const ACTIONS: &[&str] = &[$(key_name(stringify!($key))),*];

        impl StepSpec {
            /// The action keys present, in the order of [`ACTIONS`].
            pub(crate) fn actions(&self) -> Vec<&'static str> {
                let mut present = Vec::new();
                $( if self.$key.is_some() { present.push(key_name(stringify!($key))); } )*
                present
            }

            /// Compiles the step's first action; `None` when it has none.
            pub(crate) fn compile_action(&self, cx: &mut Compiler<'_>, path: &str) -> Option<Action> {
                $(
                    if let Some(spec) = &self.$key {
                        return Some(Action::$Variant(<$Kind as StepKind>::compile(spec, self, cx, path)));
                    }
                )*
                None
            }
        }

        /// What a step does: its kind, compiled.
        #[derive(Debug)]
        pub enum Action {
            $( $Variant($Kind), )*
        }

        impl Action {
            /// The name of the action key, as written in YAML.
            pub fn kind(&self) -> &'static str {
                match self { $( Action::$Variant(_) => key_name(stringify!($key)), )* }
            }

            /// Whether the step hands the call to the caller (or to Twilio)
            /// and resumes in the next webhook.
            pub fn waits(&self) -> bool {
                match self { $( Action::$Variant(_) => <$Kind as StepKind>::WAITS, )* }
            }

            /// Whether the step ends the call.
            pub(crate) fn ends(&self) -> bool {
                match self { $( Action::$Variant(_) => <$Kind as StepKind>::ENDS, )* }
            }

            pub(crate) fn uses_next(&self) -> bool {
                match self { $( Action::$Variant(_) => <$Kind as StepKind>::USES_NEXT, )* }
            }

            pub(crate) fn targets(&self, next: Target, out: &mut Vec<Target>) {
                match self { $( Action::$Variant(kind) => kind.targets(next, out), )* }
            }

            /// Where the call can go from here, each way with its name.
            pub fn routes(&self, next: Target, out: &mut Vec<Route>) {
                match self { $( Action::$Variant(kind) => kind.routes(next, out), )* }
            }

            /// The sub-flow the step calls, which comes back to its `next`.
            pub(crate) fn calls(&self) -> Option<Target> {
                match self { $( Action::$Variant(kind) => kind.calls(), )* }
            }

            /// The steps it runs on another leg of the call.
            pub(crate) fn legs(&self, out: &mut Vec<(crate::engine::Leg, Target)>) {
                match self { $( Action::$Variant(kind) => kind.legs(out), )* }
            }

            pub(crate) async fn perform<'w>(
                &self,
                call: &mut impl Call<'w>,
                next: Target,
            ) -> Result<Then, StepError> {
                match self { $( Action::$Variant(kind) => kind.perform(call, next).await, )* }
            }

            pub(crate) fn resume<'w>(
                &self,
                call: &mut impl Call<'w>,
                here: StepId,
                next: Target,
            ) -> Result<Option<Target>, StepError> {
                match self { $( Action::$Variant(kind) => kind.resume(call, here, next), )* }
            }
        }
    };
}

step_kinds! {
    say => Say(say::Speech),
    play => Play(play::Play),
    pause => Pause(pause::Pause),
    gather => Gather(gather::Gather),
    menu => Menu(menu::Menu),
    branch => Branch(branch::Branch),
    hours => Hours(hours::Hours),
    set => Set(set::Set),
    dial => Dial(dial::Dial),
    enqueue => Enqueue(enqueue::Enqueue),
    #[serde(default, deserialize_with = "leave::flag")]
    #[schemars(schema_with = "crate::flow::schema::leave")]
    leave => Leave(leave::Leave),
    record => Record(record::Record),
    goto => Goto(goto::Goto),
    call => Call(call::CallFlow),
    #[serde(default, deserialize_with = "give_back::values")]
    #[schemars(schema_with = "crate::flow::schema::give_back")]
    r#return => Return(give_back::Return),
    #[serde(default, deserialize_with = "hangup::flag")]
    #[schemars(schema_with = "crate::flow::schema::hangup")]
    hangup => Hangup(hangup::Hangup),
    reject => Reject(reject::Reject),
    request => Request(request::Request),
    sms => Sms(sms::Sms),
    connect => Connect(connect::Connect),
    start_stream => StartStream(start_stream::StartStream),
    start_recording => StartRecording(recording::StartRecording),
    stop_recording => StopRecording(recording::StopRecording),
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    /// serde's list of the keys a step may have is the kinds' list plus
    /// the keys beside them: the macro wrote every kind into the shape.
    #[test]
    fn the_step_shape_has_a_key_per_kind() {
        let error = serde_yaml_ng::from_str::<StepSpec>("nonsense: 1").unwrap_err();
        let message = error.to_string();
        let mut expected: Vec<&str> = ACTIONS.to_vec();
        expected.extend(["next", "on", "open", "closed"]);
        let listed: Vec<&str> = message.split('`').skip(3).step_by(2).collect();
        assert_eq!(listed, expected, "{message}");
    }

    /// Each kind compiles to the action of its own key.
    #[test]
    fn each_key_compiles_to_its_own_kind() {
        let flows = crate::flow::load(Path::new("tests/fixtures/flows/steps"))
            .unwrap_or_else(|report| panic!("{report}"))
            .flows;
        let kinds: BTreeSet<&str> = flows
            .flows()
            .iter()
            .flat_map(|flow| &flow.steps)
            .map(|step| step.action.kind())
            .collect();
        // The fixture holds one step of every kind, for the TwiML
        // snapshots: a new kind needs one there too.
        assert_eq!(kinds, ACTIONS.iter().copied().collect());
        for flow in flows.flows() {
            for step in &flow.steps {
                if ACTIONS.contains(&step.name.as_str()) {
                    assert_eq!(step.action.kind(), step.name);
                }
            }
        }
    }

    /// Waiting and ending are what break a loop; the kinds say which they do.
    #[test]
    fn the_kinds_that_wait_and_end() {
        let flows = crate::flow::load(Path::new("tests/fixtures/flows/steps"))
            .unwrap_or_else(|report| panic!("{report}"))
            .flows;
        let of = |which: fn(&Action) -> bool| -> BTreeSet<&str> {
            flows
                .flows()
                .iter()
                .flat_map(|flow| &flow.steps)
                .filter(|step| which(&step.action))
                .map(|step| step.action.kind())
                .collect()
        };
        assert_eq!(
            of(Action::waits),
            ["connect", "dial", "enqueue", "gather", "menu", "record"].into()
        );
        assert_eq!(of(Action::ends), ["hangup", "leave", "reject"].into());
    }
}
