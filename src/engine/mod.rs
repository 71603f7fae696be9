//! Answers one webhook of a call with TwiML.
//!
//! A turn starts where the webhook's URL says the call is waiting (or, for
//! the first webhook, at the flow routing picks), takes in the result Twilio
//! reports (keys pressed, words said, how a dial ended, a recording), then
//! runs steps until one has to wait for the caller again or the call ends.
//!
//! Nothing here can fail a call: an unknown flow or step, a template that
//! breaks at run time, or a runaway loop becomes a short spoken apology and
//! a clean hang-up (or the flow's `fallback` step), logged with the CallSid.
//!
//! Callback URLs name the version of the flows that wrote them. When a call
//! comes back to a different version (a reload replaced its own, or another
//! instance answers) and its step or flow is gone, that is an edit, not a
//! fault: the call goes on at the flow's `fallback` step or its start (or,
//! when the whole flow went, where a new call would be routed), and the
//! caller hears no apology.
//!
//! A turn is an async function, so a step may await (an HTTP API, say);
//! it stays bounded by the steps it may run. Each kind of step renders and
//! resumes itself (see [`crate::flow::steps`]); the engine only routes the
//! call, runs the steps in order, and keeps their limits.
//!
//! - `state`: the call's memory, carried in callback URLs.
//! - `seal`: the MAC that keeps anyone else from rewriting that memory.
//! - `route`: where a webhook continues the call.
//! - `context`: what templates read.
//!
//! Requests a turn makes share one time budget ([`EngineSettings::turn_budget`],
//! [`TURN_BUDGET`] by default): each request's own timeout is cut to what is
//! left of it, and past it a request takes its `timeout` route, so the
//! caller never waits in silence up to the HTTP layer's hard deadline.

mod context;
mod notice;
mod report;
mod route;
mod seal;
pub(crate) mod state;

use std::borrow::Cow;

use jiff::Timestamp;
use minijinja::Value;

use std::time::Duration;

use crate::dial_limit::{DialLimiter, Limited};
use crate::flow::steps::{Call, Outcome, Place, StepError, Then, call, hangup, say};
use crate::flow::template::Uses;
use crate::flow::{Flow, FlowId, FlowSet, StepId, Target, Text};
use crate::messaging::{TextMessage, Texted, Texting};
use crate::outbound::trace::TraceContext;
use crate::outbound::{Outbound, Seen};
use crate::twiml::{self, Element};
/// Most sub-flows a call may have in progress at once.
pub use call::MAX_DEPTH as MAX_CALL_DEPTH;
use context::{ContextParts, TemplateContext, call_value, now_value};
pub use notice::{Noticed, notify};
use report::Left;
pub use report::{StepName, TurnEnd, TurnReport};
pub use seal::{KeyOrigin, ShortSecret, StateKey};
pub use state::{CallState, Leg, Pairs, ReturnPoint, StateRejected};

/// Where Twilio reports a finished recording, or its transcript, for a
/// `record` step that notifies someone.
pub const NOTICE_PATH: &str = "/voice/recording";

/// Most steps one webhook may run before the engine decides the flow is
/// looping without ever waiting for the caller.
pub(crate) const MAX_STEPS_PER_TURN: usize = 50;
/// Most turns in a row without any input from the caller before the call is
/// ended politely, so a silent line (or a pocket dial) does not loop forever.
pub const MAX_IDLE_TURNS: u32 = 6;

/// How long the requests of one turn may take altogether, from the moment
/// the engine starts the turn. Twilio waits 15 s for an answer; the HTTP
/// layer apologises at 8 s ([`crate::http::voice::TURN_DEADLINE`]); this
/// leaves a second for the rest of the turn after a request is cut short.
pub const TURN_BUDGET: Duration = Duration::from_secs(7);

const APOLOGY: &str =
    "We're sorry, something went wrong on our side. Please call again later. Goodbye.";
const IDLE_GOODBYE: &str = "We haven't heard from you, so we will end this call. Goodbye.";

/// Server settings the engine needs.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Base of callback URLs (`https://ivr.example.com`); empty for URLs
    /// relative to the webhook.
    pub public_url: String,
    /// `TWILIO_CALLER_ID`, offered to templates as `config.caller_id`.
    pub caller_id: Option<String>,
    /// The flow for calls nothing else routes.
    pub default_flow: String,
    /// The flow for browser calls that name a `To`.
    pub outbound_flow: String,
    /// Seals the call's state in callback URLs.
    pub state_key: StateKey,
    /// Counts the dials of browser calls (`DIAL_RATE_LIMIT`, `DIAL_RATE_LIMIT_TOTAL`). Clones
    /// of the settings share the counts.
    pub dials: DialLimiter,
    /// The way out for `request` steps: the shared client and background
    /// queue, or stubs. Clones share them.
    pub outbound: Outbound,
    /// How long a turn's requests may take altogether ([`TURN_BUDGET`]).
    pub turn_budget: Duration,
    /// How `sms` steps and voicemail notifications send texts: through
    /// Twilio, or into a simulation's transcript.
    pub texting: Texting,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            public_url: String::new(),
            caller_id: None,
            default_flow: "main".into(),
            outbound_flow: "outbound".into(),
            state_key: StateKey::random(),
            dials: DialLimiter::default(),
            outbound: Outbound::default(),
            turn_budget: TURN_BUDGET,
            texting: Texting::default(),
        }
    }
}

impl EngineSettings {
    /// These settings for a simulated call: the same flows and requests,
    /// and text messages noted in the transcript instead of sent.
    pub fn simulated(&self) -> EngineSettings {
        EngineSettings {
            texting: Texting::Simulated,
            ..self.clone()
        }
    }
}

/// One webhook as Twilio sent it.
#[derive(Debug, Clone, Copy)]
pub struct Webhook<'a> {
    /// The URL's query: the call's state after the first webhook.
    pub query: &'a Pairs<'a>,
    /// Twilio's parameters (the form body of a POST).
    pub params: &'a Pairs<'a>,
    pub now: Timestamp,
}

fn find_param<'p>(pairs: &'p Pairs<'_>, name: &str) -> Option<&'p str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_ref())
}

impl<'a> Webhook<'a> {
    /// A parameter from the body, else from the query.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        find_param(self.params, name).or_else(|| find_param(self.query, name))
    }

    fn non_empty(&self, name: &str) -> Option<&'a str> {
        self.param(name).map(str::trim).filter(|v| !v.is_empty())
    }

    pub fn call_sid(&self) -> &'a str {
        self.param("CallSid").unwrap_or("-")
    }
}

/// The TwiML for a webhook, and what happened, for the log.
#[derive(Debug, Clone)]
pub struct Answer<'f> {
    pub twiml: String,
    pub flow: Option<&'f str>,
    /// The step the call waits at or ended at.
    pub step: Option<&'f str>,
    /// What went wrong, when the caller heard an apology or a fallback.
    pub problem: Option<String>,
    /// What the turn did, for metrics and call events.
    pub report: TurnReport<'f>,
    /// The requests the turn made, in order, secrets masked.
    pub requests: Vec<Seen>,
    /// The text messages the turn sent, or would have.
    pub texts: Vec<Texted>,
}

impl Answer<'_> {
    /// The steps this turn took in, in order, as `flow:step` separated by
    /// spaces.
    pub fn visited(&self) -> String {
        let names: Vec<String> = self
            .report
            .visited()
            .map(|name| format!("{}:{}", name.flow, name.step))
            .collect();
        names.join(" ")
    }

    /// The routes this turn's steps left by, form-encoded as
    /// `flow:step=route` pairs: route names are the flow's own words (a
    /// branch's condition, a menu's key), which may hold any character.
    pub fn routes(&self) -> String {
        let mut encoded = form_urlencoded::Serializer::new(String::new());
        for (name, route) in self.report.routes() {
            encoded.append_pair(&format!("{}:{}", name.flow, name.step), &route.label);
        }
        encoded.finish()
    }
}

/// Answers one webhook. Never fails: problems become an apology.
///
/// `flows` should be the set the call's URL names when the server still
/// has it (the `v` of the call's URL); callback URLs name `flows`.
pub async fn answer<'f>(
    flows: &'f FlowSet,
    settings: &EngineSettings,
    webhook: &Webhook<'_>,
) -> Answer<'f> {
    answer_traced(flows, settings, webhook, None).await
}

/// [`answer`] for a webhook that came with a W3C trace context, which the
/// turn's requests carry on.
pub async fn answer_traced<'f>(
    flows: &'f FlowSet,
    settings: &EngineSettings,
    webhook: &Webhook<'_>,
    trace: Option<TraceContext>,
) -> Answer<'f> {
    let mut turn = Turn::new(flows, settings, webhook, Some(flows.version()));
    turn.trace = trace;
    let outcome = match turn.begin() {
        Ok(Some(target)) => turn.run(target).await,
        Ok(None) => Ok(()),
        Err(problem) => Err(problem),
    };
    let end = match outcome {
        Ok(()) => turn.end,
        Err(problem) => turn.recover(problem).await,
    };
    let flow = turn.flow.map(|id| flows.get(id).name.as_str());
    let step = match (turn.flow, turn.step) {
        (Some(flow), Some(step)) => Some(flows.get(flow).step(step).name.as_str()),
        _ => None,
    };
    let problem = turn.problem.take();
    let report = TurnReport::new(
        flows,
        turn.started,
        end,
        std::mem::take(&mut turn.visited),
        turn.resumed,
        std::mem::take(&mut turn.outcomes),
        std::mem::take(&mut turn.left),
    );
    let requests = std::mem::take(&mut turn.requests);
    let texts = std::mem::take(&mut turn.texts);
    Answer {
        twiml: turn.finish(),
        flow,
        step,
        problem,
        report,
        requests,
        texts,
    }
}

/// The TwiML a call gets when it reaches `step` of `flow` (its start when
/// `None`), with no caller input: what `callflow render` prints.
pub async fn preview(
    flows: &FlowSet,
    settings: &EngineSettings,
    flow: &str,
    step: Option<&str>,
    now: Timestamp,
) -> Result<String, String> {
    let webhook = Webhook {
        query: &[],
        params: &[],
        now,
    };
    // A preview is no call: its URLs name no version.
    let mut turn = Turn::new(flows, settings, &webhook, None);
    let flow_id = flows
        .id_of(flow)
        .ok_or_else(|| Problem::UnknownFlow(flow.to_owned()).to_string())?;
    turn.enter_flow(flow_id);
    let start = match step {
        None => flows.get(flow_id).start,
        Some(name) => flows.get(flow_id).step_id(name).ok_or_else(|| {
            Problem::UnknownStep {
                flow: flow.to_owned(),
                step: name.to_owned(),
            }
            .to_string()
        })?,
    };
    turn.run(Target::Step(start))
        .await
        .map_err(|p| p.to_string())?;
    Ok(turn.finish())
}

/// [`preview`] for callers outside an async runtime, such as the command
/// line: it runs the turn on a runtime of its own.
pub fn preview_blocking(
    flows: &FlowSet,
    settings: &EngineSettings,
    flow: &str,
    step: Option<&str>,
    now: Timestamp,
) -> Result<String, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start a runtime for the preview: {error}"))?
        .block_on(preview(flows, settings, flow, step, now))
}

/// Something that stops a turn from going on as the flow says.
#[derive(Debug, thiserror::Error)]
enum Problem {
    #[error("there is no flow named `{0}`")]
    UnknownFlow(String),
    #[error("no flow answers this call: there is no `{0}` flow")]
    NoFlow(String),
    #[error("flow `{flow}` has no step named `{step}` (was it renamed or removed?)")]
    UnknownStep { flow: String, step: String },
    #[error("step `{step}`: {message}")]
    Template { step: String, message: String },
    #[error("the flow ran {MAX_STEPS_PER_TURN} steps without waiting for the caller: it loops")]
    Loop,
    #[error("the caller gave no input {MAX_IDLE_TURNS} turns in a row")]
    Idle,
    #[error("step `{step}`: {message}")]
    TooDeep { step: String, message: String },
    #[error("{0}; the call is ended with the apology")]
    Tampered(#[from] StateRejected),
    #[error("step `{step}`: {message}")]
    Request { step: String, message: String },
}

struct Turn<'a> {
    flows: &'a FlowSet,
    settings: &'a EngineSettings,
    webhook: &'a Webhook<'a>,
    /// The version written into callback URLs.
    stamp: Option<&'a str>,
    flow: Option<FlowId>,
    step: Option<StepId>,
    state: CallState,
    /// The verbs answered so far.
    xml: twiml::Document,
    /// Parts of the template context, each built on first use and dropped
    /// when what it shows changes.
    context: ContextParts,
    problem: Option<String>,
    visited: Vec<(FlowId, StepId)>,
    /// The call's first webhook.
    started: bool,
    /// Whether the turn began by taking in the answer to a waiting step.
    resumed: bool,
    /// How the steps run so far left the call.
    end: TurnEnd,
    outcomes: Vec<(FlowId, StepId, Outcome)>,
    /// The steps the call left, and where to.
    left: Vec<Left>,
    /// The route the current step said it leaves by.
    leaving: Option<usize>,
    /// When the turn's requests must be done by.
    deadline: tokio::time::Instant,
    trace: Option<TraceContext>,
    requests: Vec<Seen>,
    texts: Vec<Texted>,
}

impl<'a> Turn<'a> {
    /// `stamp` is the flow set's version, written into callback URLs so
    /// the call's next webhook is answered by the same version.
    fn new(
        flows: &'a FlowSet,
        settings: &'a EngineSettings,
        webhook: &'a Webhook<'a>,
        stamp: Option<&'a str>,
    ) -> Self {
        Turn {
            flows,
            settings,
            webhook,
            stamp,
            flow: None,
            step: None,
            state: CallState::default(),
            xml: twiml::Document::start(),
            context: ContextParts::default(),
            problem: None,
            visited: Vec::with_capacity(8),
            started: false,
            resumed: false,
            end: TurnEnd::Completed,
            outcomes: Vec::new(),
            left: Vec::new(),
            leaving: None,
            deadline: tokio::time::Instant::now() + settings.turn_budget,
            trace: None,
            requests: Vec::new(),
            texts: Vec::new(),
        }
    }

    /// A sealed URL on `path` that names the current step and the flow
    /// version, as a webhook coming back to it needs.
    fn url_back_here(&mut self, path: &str) -> String {
        let step = self.step.expect("a step is current");
        self.state.step = self.current_flow().step(step).name.clone();
        self.state.version = self.stamp.map(str::to_owned);
        self.state
            .url_at(&self.settings.public_url, path, &self.settings.state_key)
    }

    /// The whole TwiML document.
    fn finish(self) -> String {
        self.xml.finish()
    }

    fn current_flow(&self) -> &'a Flow {
        self.flows
            .get(self.flow.expect("a flow is chosen before steps run"))
    }

    fn enter_flow(&mut self, flow: FlowId) {
        if self.flow != Some(flow) {
            self.flow = Some(flow);
            self.state.flow = self.flows.get(flow).name.clone();
            // `now` is in the flow's time zone.
            self.context.now = None;
        }
    }

    /// Runs steps from `target` until one waits or the call ends.
    async fn run(&mut self, mut target: Target) -> Result<(), Problem> {
        for _ in 0..MAX_STEPS_PER_TURN {
            let id = match target {
                Target::Hangup => {
                    self.emit(hangup::verb());
                    // A callee who hangs up on a whisper declines the call;
                    // the caller's dial goes on.
                    self.end = match self.state.leg {
                        Leg::Callee => TurnEnd::Waiting,
                        Leg::Caller | Leg::Queue => TurnEnd::Completed,
                    };
                    return Ok(());
                }
                // The end of hold steps has Twilio play them again; the end
                // of a whisper joins the callee to the caller. Neither ends
                // the call.
                Target::End if self.state.leg != Leg::Caller => {
                    self.end = TurnEnd::Waiting;
                    return Ok(());
                }
                Target::End => match self.come_back()? {
                    Some(to) => {
                        target = to;
                        continue;
                    }
                    None => {
                        self.emit(hangup::verb());
                        self.end = TurnEnd::Completed;
                        return Ok(());
                    }
                },
                Target::Step(id) => id,
                Target::Flow(flow, id) => {
                    self.enter_flow(flow);
                    id
                }
            };
            if self.step != Some(id) {
                self.state.attempt = 0;
                self.state.misses = 0;
            }
            self.step = Some(id);
            self.visit(id);
            let step = self.current_flow().step(id);
            let next = step.next.unwrap_or(Target::End);
            let noted = self.outcomes.len();
            self.leaving = None;
            match step.action.perform(self, next).await {
                Ok(Then::Go(to)) => {
                    self.leave(id, to, noted);
                    target = to;
                }
                Ok(Then::Stop) => {
                    // On another leg only a hang-up on hold ends the call:
                    // a callee hung up, or a caller leaving the queue, goes
                    // on with the caller's own steps.
                    let caller_goes_on = match (self.state.leg, &step.action) {
                        (Leg::Caller, _) => false,
                        (Leg::Queue, crate::flow::Action::Hangup(_)) => false,
                        (Leg::Queue | Leg::Callee, _) => true,
                    };
                    self.end = if step.action.waits() || caller_goes_on {
                        TurnEnd::Waiting
                    } else if matches!(step.action, crate::flow::Action::Reject(_)) {
                        TurnEnd::Rejected
                    } else {
                        TurnEnd::Completed
                    };
                    return Ok(());
                }
                Err(error) => return Err(self.problem_of(error)),
            }
        }
        Err(Problem::Loop)
    }

    /// Where the call goes at the end of a flow: the `next` of the `call`
    /// step that started the sub-flow it is in, or `None` when it is in no
    /// sub-flow and the call ends. A calling step with no `next` of its own
    /// ends its flow in turn, so this unwinds as far as it must.
    fn come_back(&mut self) -> Result<Option<Target>, Problem> {
        while let Some(point) = self.state.returns.pop() {
            let flow = self
                .flows
                .id_of(&point.flow)
                .ok_or_else(|| Problem::UnknownFlow(point.flow.clone()))?;
            let step =
                self.flows
                    .get(flow)
                    .step_id(&point.step)
                    .ok_or_else(|| Problem::UnknownStep {
                        flow: point.flow.clone(),
                        step: point.step.clone(),
                    })?;
            self.enter_flow(flow);
            self.step = Some(step);
            let next = self.current_flow().step(step).next;
            self.leave(step, next.unwrap_or(Target::End), self.outcomes.len());
            match next {
                Some(next) => return Ok(Some(next)),
                None => continue,
            }
        }
        Ok(None)
    }

    fn problem_of(&self, error: StepError) -> Problem {
        let step = || {
            self.step
                .map(|id| self.current_flow().step(id).name.clone())
                .unwrap_or_default()
        };
        match error {
            StepError::Idle => Problem::Idle,
            StepError::Template(message) => Problem::Template {
                step: step(),
                message,
            },
            StepError::TooDeep => Problem::TooDeep {
                step: step(),
                message: error.to_string(),
            },
            StepError::Request(message) => Problem::Request {
                step: step(),
                message,
            },
        }
    }

    fn visit(&mut self, step: StepId) {
        let flow = self.flow.expect("a flow is chosen before steps run");
        self.visited.push((flow, step));
    }

    /// Notes that the call left `step` of the current flow for `to`, with
    /// what the step noted since outcome `noted`, so the route it took can
    /// be named.
    fn leave(&mut self, step: StepId, to: Target, noted: usize) {
        let flow = self.flow.expect("a flow is chosen before steps run");
        let outcome = self.outcomes[noted..]
            .iter()
            .rposition(|&(f, s, _)| f == flow && s == step)
            .map(|i| noted + i);
        let route = self.leaving.take();
        self.left.push(Left {
            flow,
            step,
            to,
            outcome,
            route,
        });
    }

    fn emit(&mut self, verb: Element) {
        verb.write_to(self.xml.verbs());
    }

    fn render_text<'t>(&mut self, text: &'t Text) -> Result<Cow<'t, str>, StepError> {
        if let Text::Plain(plain) = text {
            return Ok(Cow::Borrowed(plain));
        }
        let context = self.context(text.uses());
        text.render(&context).map_err(StepError::Template)
    }

    /// What templates can read: `call`, `vars`, `now`, `config`, `flow`,
    /// `step`; only the parts `uses` names are built.
    fn context(&mut self, uses: Uses) -> Value {
        self.context_with(uses, Value::UNDEFINED)
    }

    /// [`Turn::context`] with `secrets` reading `secrets`.
    fn context_with(&mut self, uses: Uses, secrets: Value) -> Value {
        if uses.call && self.context.call.is_none() {
            self.context.call = Some(call_value(self.webhook));
        }
        if uses.vars && self.context.vars.is_none() {
            self.context.vars = Some(Value::from_serialize(&self.state.vars));
        }
        if uses.now && self.context.now.is_none() {
            self.context.now = Some(now_value(self.webhook.now, &self.current_flow().timezone));
        }
        let caller_id = self.settings.caller_id.as_deref().unwrap_or("");
        let config = self
            .context
            .config
            .get_or_insert_with(|| minijinja::context! { caller_id })
            .clone();
        let part = |part: &Option<Value>| part.clone().unwrap_or(Value::UNDEFINED);
        let flow = self.current_flow();
        Value::from_object(TemplateContext {
            call: part(&self.context.call),
            vars: part(&self.context.vars),
            now: part(&self.context.now),
            config,
            flow: Value::from(flow.name.as_str()),
            step: Value::from(
                self.step
                    .map(|id| flow.step(id).name.as_str())
                    .unwrap_or(""),
            ),
            secrets,
        })
    }

    /// Turns a problem into the flow's fallback step or an apology, and
    /// logs it with the CallSid; says how the turn ended.
    async fn recover(&mut self, problem: Problem) -> TurnEnd {
        let flow_name = self.flow.map(|id| self.flows.get(id).name.clone());
        if let Problem::Idle = problem {
            tracing::info!(call_sid = self.webhook.call_sid(), flow = ?flow_name, "{problem}; ending the call");
            self.emit(say::verb(IDLE_GOODBYE, None, None, None));
            self.emit(hangup::verb());
            return TurnEnd::NoInput;
        }
        let end = match problem {
            Problem::Tampered(_) => TurnEnd::Refused,
            _ => TurnEnd::Apology,
        };
        tracing::error!(call_sid = self.webhook.call_sid(), flow = ?flow_name, "{problem}");
        self.problem = Some(problem.to_string());
        // The fallback speaks to the caller: never on a callee's phone or
        // in place of hold steps.
        let fallback = self
            .flow
            .and_then(|id| self.flows.get(id).fallback)
            .filter(|_| self.state.leg == Leg::Caller);
        if let Some(fallback) = fallback.filter(|&f| self.step != Some(f)) {
            self.state.attempt = 0;
            self.state.misses = 0;
            if let Err(second) = self.run(Target::Step(fallback)).await {
                tracing::error!(call_sid = self.webhook.call_sid(), flow = ?flow_name, "the fallback step failed too: {second}");
            } else {
                return self.end;
            }
        }
        let (voice, language) = self.flow.map_or((None, None), |id| {
            let flow = self.flows.get(id);
            let first_say = flow.steps.iter().find_map(|s| match &s.action {
                crate::flow::Action::Say(speech) => Some(speech),
                _ => None,
            });
            (
                first_say.and_then(|s| s.voice.clone()),
                first_say.and_then(|s| s.language.clone()),
            )
        });
        self.xml = apology_document(voice.as_deref(), language.as_deref());
        end
    }
}

/// The apology and a hang-up, in `voice` and `language` when given.
fn apology_document(voice: Option<&str>, language: Option<&str>) -> twiml::Document {
    let mut xml = twiml::Document::start();
    say::verb(APOLOGY, voice, language, None).write_to(xml.verbs());
    hangup::verb().write_to(xml.verbs());
    xml
}

/// The apology and a hang-up as a whole TwiML answer, for a turn that
/// could not finish at all (it panicked, or ran past its deadline).
pub fn apology() -> String {
    apology_document(None, None).finish()
}

/// What the steps of a turn see of the call.
impl<'a> Call<'a> for Turn<'a> {
    fn param(&self, name: &str) -> Option<&'a str> {
        self.webhook.param(name)
    }

    fn given(&self, name: &str) -> Option<&'a str> {
        self.webhook.non_empty(name)
    }

    fn now(&self) -> Timestamp {
        self.webhook.now
    }

    fn render<'t>(&mut self, text: &'t Text) -> Result<Cow<'t, str>, StepError> {
        self.render_text(text)
    }

    fn holds(&mut self, condition: &Text) -> Result<bool, StepError> {
        let context = self.context(condition.uses());
        condition.holds(&context).map_err(StepError::Template)
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.state.vars.get(name).map(String::as_str)
    }

    fn set_var(&mut self, name: &str, value: &str) {
        self.state.set_var(name, value);
        self.context.vars = None;
    }

    fn unset_var(&mut self, name: &str) {
        self.state.unset_var(name);
        self.context.vars = None;
    }

    fn emit(&mut self, verb: Element) {
        Turn::emit(self, verb);
    }

    fn waiting_url(&mut self) -> String {
        self.url_back_here("/voice")
    }

    fn leg(&self) -> Leg {
        self.state.leg
    }

    fn leg_url(&mut self, leg: Leg) -> String {
        let step = self.step.expect("a step is current");
        let mut state = self.state.clone();
        state.step = self.current_flow().step(step).name.clone();
        state.version = self.stamp.map(str::to_owned);
        state.leg = leg;
        // A leg starts with counts of its own.
        (state.attempt, state.misses, state.idle) = (0, 0, 0);
        state.url_at(
            &self.settings.public_url,
            "/voice",
            &self.settings.state_key,
        )
    }

    fn notice_url(&mut self) -> String {
        let mut url = self.url_back_here(NOTICE_PATH);
        // Twilio's recording report names neither number; the seal need not
        // cover them, as they steer nothing and Twilio's signature covers
        // the whole URL.
        let mut numbers = form_urlencoded::Serializer::new(String::new());
        for name in ["From", "To"] {
            if let Some(value) = self.webhook.param(name) {
                numbers.append_pair(name, value);
            }
        }
        let numbers = numbers.finish();
        if !numbers.is_empty() {
            url.push('&');
            url.push_str(&numbers);
        }
        url
    }

    fn heard(&mut self, input: bool) -> Result<(), StepError> {
        if input {
            self.state.idle = 0;
            return Ok(());
        }
        self.state.idle = self.state.idle.saturating_add(1);
        if self.state.idle >= MAX_IDLE_TURNS {
            return Err(StepError::Idle);
        }
        Ok(())
    }

    fn enter_sub_flow(&mut self) -> Result<(), StepError> {
        if self.state.returns.len() >= call::MAX_DEPTH {
            return Err(StepError::TooDeep);
        }
        let flow = self.current_flow();
        let step = self.step.expect("a calling step is current");
        self.state.returns.push(ReturnPoint {
            flow: flow.name.clone(),
            step: flow.step(step).name.clone(),
        });
        Ok(())
    }

    fn attempt(&mut self) -> &mut u32 {
        &mut self.state.attempt
    }

    fn misses(&mut self) -> &mut u32 {
        &mut self.state.misses
    }

    fn count_dial(&mut self) -> Result<(), Limited> {
        let identity = self
            .webhook
            .param("From")
            .and_then(|from| from.strip_prefix("client:"));
        match identity {
            // Tokio's clock, which tests can pause and move on.
            Some(identity) => self
                .settings
                .dials
                .count(identity, tokio::time::Instant::now().into_std()),
            None => Ok(()),
        }
    }

    fn note(&mut self, outcome: Outcome) {
        if let (Some(flow), Some(step)) = (self.flow, self.step) {
            self.outcomes.push((flow, step, outcome));
        }
    }

    fn leaves_by(&mut self, route: usize) {
        self.leaving = Some(route);
    }

    fn render_request<'t>(
        &mut self,
        text: &'t Text,
        masked: bool,
    ) -> Result<Cow<'t, str>, StepError> {
        if !text.uses().secrets {
            return self.render_text(text);
        }
        let secrets = self.flows.secrets().context(masked);
        let context = self.context_with(text.uses(), secrets);
        text.render(&context).map_err(StepError::Template)
    }

    fn outbound(&self) -> Outbound {
        self.settings.outbound.clone()
    }

    fn time_left(&self) -> Duration {
        self.deadline
            .saturating_duration_since(tokio::time::Instant::now())
    }

    fn traceparent(&self) -> Option<String> {
        self.trace.as_ref().map(TraceContext::child)
    }

    fn saw_request(&mut self, seen: Seen) {
        self.requests.push(seen);
    }

    fn send_text(&mut self, message: TextMessage, refused: Option<String>) {
        let place = self.place().job();
        let texted = self
            .settings
            .texting
            .send(&self.settings.outbound, message, refused, place);
        self.texts.push(texted);
    }

    fn place(&self) -> Place<'_> {
        Place {
            call_sid: self.webhook.call_sid(),
            flow: self.flow.map_or("-", |id| self.flows.get(id).name.as_str()),
            step: match (self.flow, self.step) {
                (Some(flow), Some(step)) => self.flows.get(flow).step(step).name.as_str(),
                _ => "-",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flows(text: &str) -> FlowSet {
        crate::flow::load_sources(vec![crate::flow::load::Source {
            name: "main".into(),
            file: "main.yaml".into(),
            text: text.into(),
        }])
        .unwrap_or_else(|report| panic!("{report}"))
        .flows
    }

    /// The server runs turns on a multi-threaded runtime: a turn must stay
    /// `Send` whatever its steps hold across an await.
    #[test]
    fn a_turn_can_move_between_threads() {
        fn send<T: Send>(_: &T) {}
        let flows = flows("steps:\n  hello:\n    say: Hello\n");
        let settings = EngineSettings::default();
        let webhook = Webhook {
            query: &[],
            params: &[],
            now: Timestamp::UNIX_EPOCH,
        };
        send(&answer(&flows, &settings, &webhook));
    }

    /// A branch whose way out never holds passes the load-time loop check;
    /// the step limit still ends the turn, with an apology.
    #[tokio::test]
    async fn a_turn_runs_a_bounded_number_of_steps() {
        let flows = flows(
            "steps:\n  a:\n    set: { n: x }\n    next: b\n  b:\n    branch:\n      - if: vars.n == \"y\"\n        goto: hangup\n    next: a\n",
        );
        let webhook = Webhook {
            query: &[],
            params: &[],
            now: Timestamp::UNIX_EPOCH,
        };
        let answer = answer(&flows, &EngineSettings::default(), &webhook).await;
        assert_eq!(answer.report.visited().count(), MAX_STEPS_PER_TURN);
        assert!(answer.twiml.contains(APOLOGY), "{}", answer.twiml);
        assert!(answer.problem.unwrap().contains("loops"));
    }

    /// A calling step with no `next` ends its own flow when its sub-flow
    /// comes back, so the end of the innermost flow unwinds to the first
    /// calling step that has somewhere to go.
    #[tokio::test]
    async fn the_end_of_nested_sub_flows_unwinds_to_the_first_next() {
        let source = |name: &str, text: &str| crate::flow::load::Source {
            name: name.into(),
            file: format!("{name}.yaml").into(),
            text: text.into(),
        };
        let flows = crate::flow::load_sources(vec![
            source(
                "main",
                "steps:\n  outer:\n    call: middle\n    next: back\n  back:\n    say: Back in main.\n",
            ),
            source("middle", "steps:\n  inner:\n    call: leaf\n"),
            source("leaf", "steps:\n  hello:\n    say: Hello from the leaf.\n"),
        ])
        .unwrap_or_else(|report| panic!("{report}"))
        .flows;
        let webhook = Webhook {
            query: &[],
            params: &[],
            now: Timestamp::UNIX_EPOCH,
        };
        let answer = answer(&flows, &EngineSettings::default(), &webhook).await;
        assert_eq!(
            answer.visited(),
            "main:outer middle:inner leaf:hello main:back"
        );
        let leaf = answer.twiml.find("Hello from the leaf.").unwrap();
        let back = answer.twiml.find("Back in main.").unwrap();
        assert!(leaf < back, "{}", answer.twiml);
        assert!(
            answer.twiml.ends_with("<Hangup /></Response>"),
            "{}",
            answer.twiml
        );
        assert_eq!((answer.flow, answer.step), (Some("main"), Some("back")));
    }
}
