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
//! - [`state`]: the call's memory, carried in callback URLs.
//! - [`render`]: compiled steps to TwiML verbs.

pub mod render;
pub mod state;

use std::borrow::Cow;

use jiff::Timestamp;
use minijinja::Value;

use crate::dial_target::{self, TargetKind};
use crate::flow::simple::{Lookup, Root};
use crate::flow::spec::DialOutcome;
use crate::flow::template::Uses;
use crate::flow::{
    Action, Dial, DialNoun, Flow, FlowId, FlowSet, Menu, MenuOption, Prompt, Speech, Step, StepId,
    Target, Text,
};
use crate::twiml::{self, Element, Prewritten};
pub use state::{CallState, Pairs};

/// Most steps one webhook may run before the engine decides the flow is
/// looping without ever waiting for the caller.
pub const MAX_STEPS_PER_TURN: usize = 50;
/// Most turns in a row without any input from the caller before the call is
/// ended politely, so a silent line (or a pocket dial) does not loop forever.
pub const MAX_IDLE_TURNS: u32 = 6;

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
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            public_url: String::new(),
            caller_id: None,
            default_flow: "main".into(),
            outbound_flow: "outbound".into(),
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
    flows: &'f FlowSet,
    visited: Vec<(FlowId, StepId)>,
}

impl Answer<'_> {
    /// The steps this turn took in, in order, as `flow:step` separated by
    /// spaces.
    pub fn visited(&self) -> String {
        let names: Vec<String> = self
            .visited
            .iter()
            .map(|&(flow, step)| {
                let flow = self.flows.get(flow);
                format!("{}:{}", flow.name, flow.step(step).name)
            })
            .collect();
        names.join(" ")
    }
}

/// Answers one webhook. Never fails: problems become an apology.
///
/// `flows` should be the set the call's URL names when the server still
/// has it ([`CallState::version_in`]); callback URLs name `flows`.
pub fn answer<'f>(
    flows: &'f FlowSet,
    settings: &EngineSettings,
    webhook: &Webhook<'_>,
) -> Answer<'f> {
    let mut turn = Turn::new(flows, settings, webhook, Some(flows.version()));
    let outcome = turn.begin().and_then(|target| turn.run(target));
    if let Err(problem) = outcome {
        turn.recover(problem);
    }
    let flow = turn.flow.map(|id| flows.get(id).name.as_str());
    let step = match (turn.flow, turn.step) {
        (Some(flow), Some(step)) => Some(flows.get(flow).step(step).name.as_str()),
        _ => None,
    };
    let problem = turn.problem.take();
    let visited = std::mem::take(&mut turn.visited);
    Answer {
        twiml: turn.finish(),
        flow,
        step,
        problem,
        flows,
        visited,
    }
}

/// The TwiML a call gets when it reaches `step` of `flow` (its start when
/// `None`), with no caller input: what `callflow render` prints.
pub fn preview(
    flows: &FlowSet,
    settings: &EngineSettings,
    flow: &str,
    step: Option<&str>,
    now: Timestamp,
) -> Result<String, String> {
    preview_with(flows, settings, flow, step, now, true)
}

fn preview_with(
    flows: &FlowSet,
    settings: &EngineSettings,
    flow: &str,
    step: Option<&str>,
    now: Timestamp,
    precompiled: bool,
) -> Result<String, String> {
    let webhook = Webhook {
        query: &[],
        params: &[],
        now,
    };
    // A preview is no call: its URLs name no version.
    let mut turn = Turn::new(flows, settings, &webhook, None);
    turn.precompiled = precompiled;
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
    turn.run(Target::Step(start)).map_err(|p| p.to_string())?;
    Ok(turn.finish())
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
    /// Use what was compiled at load time: the TwiML written for a step,
    /// templates rendered without minijinja. Off only in the tests that
    /// hold both to the general path.
    precompiled: bool,
    /// Parts of the template context, each built on first use and dropped
    /// when what it shows changes.
    context: ContextParts,
    problem: Option<String>,
    visited: Vec<(FlowId, StepId)>,
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
            precompiled: true,
            context: ContextParts::default(),
            problem: None,
            visited: Vec::with_capacity(8),
        }
    }

    /// The whole TwiML document.
    fn finish(self) -> String {
        self.xml.finish()
    }

    fn current_flow(&self) -> &'a Flow {
        self.flows
            .get(self.flow.expect("a flow is chosen before steps run"))
    }

    /// Finds where this webhook continues the call.
    fn begin(&mut self) -> Result<Target, Problem> {
        let Some(state) = CallState::from_query(self.webhook.query) else {
            let flow = self.route(true)?;
            self.enter_flow(flow);
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
            // The URL's `flow` is the flow that went: route by number.
            let flow = self.route(false)?;
            tracing::info!(
                call_sid = self.webhook.call_sid(),
                gone = %state.flow,
                to = %self.flows.get(flow).name,
                "an edit removed the flow of this call; it starts again where a new call would"
            );
            self.state = state;
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
        self.resume(flow.step(step), step)
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

    fn enter_flow(&mut self, flow: FlowId) {
        if self.flow != Some(flow) {
            self.flow = Some(flow);
            self.state.flow = self.flows.get(flow).name.clone();
            // `now` is in the flow's time zone.
            self.context.now = None;
        }
    }

    /// Takes in the result of the step the call was waiting at.
    fn resume(&mut self, step: &'a Step, id: StepId) -> Result<Target, Problem> {
        let after = step.next.unwrap_or(Target::Hangup);
        match &step.action {
            Action::Gather(gather) => {
                let input = self.caller_input();
                self.note_input(input.is_some())?;
                if let (Some(var), Some(input)) = (&gather.save_as, input) {
                    self.set_var(var, input);
                }
                Ok(after)
            }
            Action::Menu(menu) => self.resume_menu(menu, id),
            Action::Dial(dial) => {
                let status = self.webhook.param("DialCallStatus").unwrap_or("failed");
                let outcome = DialOutcome::parse(status).unwrap_or(DialOutcome::Failed);
                Ok(dial.route(outcome).unwrap_or(after))
            }
            Action::Record(record) => {
                if let Some(url) = self.webhook.non_empty("RecordingUrl") {
                    self.set_var(&record.save_as, url);
                }
                Ok(after)
            }
            // The flow changed under a call in progress and this step no
            // longer waits: run it afresh.
            _ => Ok(Target::Step(id)),
        }
    }

    fn caller_input(&self) -> Option<&'a str> {
        self.webhook
            .non_empty("Digits")
            .or_else(|| self.webhook.non_empty("SpeechResult"))
    }

    /// Counts turns without input, ending the call after too many.
    fn note_input(&mut self, heard: bool) -> Result<(), Problem> {
        if heard {
            self.state.idle = 0;
            return Ok(());
        }
        self.state.idle += 1;
        if self.state.idle >= MAX_IDLE_TURNS {
            return Err(Problem::Idle);
        }
        Ok(())
    }

    fn resume_menu(&mut self, menu: &'a Menu, id: StepId) -> Result<Target, Problem> {
        let digits = self.webhook.non_empty("Digits");
        let speech = self.webhook.non_empty("SpeechResult");
        self.note_input(digits.is_some() || speech.is_some())?;
        if let Some(option) = choose(menu, digits, speech) {
            self.state.attempt = 0;
            if let Some(var) = &menu.gather.save_as {
                self.set_var(var, &option.key);
            }
            return Ok(option.target);
        }
        let message = if digits.is_none() && speech.is_none() {
            &menu.no_input
        } else {
            &menu.no_match
        };
        if let Some(message) = message {
            self.say(message)?;
        }
        self.state.attempt += 1;
        if self.state.attempt > menu.retries {
            self.state.attempt = 0;
            return Ok(menu.otherwise.unwrap_or(Target::Hangup));
        }
        Ok(Target::Step(id))
    }

    /// Runs steps from `target` until one waits or the call ends.
    fn run(&mut self, mut target: Target) -> Result<(), Problem> {
        for _ in 0..MAX_STEPS_PER_TURN {
            let id = match target {
                Target::Hangup => {
                    self.emit(render::hangup());
                    return Ok(());
                }
                Target::Step(id) => id,
                Target::Flow(flow, id) => {
                    self.enter_flow(flow);
                    id
                }
            };
            if self.step != Some(id) {
                self.state.attempt = 0;
            }
            self.step = Some(id);
            self.visit(id);
            let step = self.current_flow().step(id);
            match self.perform(step)? {
                Some(next) => target = next,
                None => return Ok(()),
            }
        }
        Err(Problem::Loop)
    }

    /// Performs one step: `Some(target)` to go on, `None` when the step
    /// waits for a webhook or ends the call.
    fn perform(&mut self, step: &'a Step) -> Result<Option<Target>, Problem> {
        let after = Some(step.next.unwrap_or(Target::Hangup));
        if let Some(twiml) = step.twiml.as_ref().filter(|_| self.precompiled) {
            let goes_on = self.perform_prewritten(step, twiml)?;
            return Ok(if goes_on { after } else { None });
        }
        match &step.action {
            Action::Say(speech) => {
                self.say(speech)?;
                Ok(after)
            }
            Action::Play(play) => {
                let url = self.render_opt(play.url.as_ref())?;
                self.emit(render::play(play, url.as_deref()));
                Ok(after)
            }
            Action::Pause(seconds) => {
                self.emit(render::pause(*seconds));
                Ok(after)
            }
            Action::Set(assignments) => {
                for (name, value) in assignments {
                    let value = self.render(value)?;
                    self.set_var(name, &value);
                }
                Ok(after)
            }
            Action::Branch(arms) => {
                for arm in arms {
                    let holds = match &arm.condition {
                        None => true,
                        Some(condition) => {
                            let context = self.context(condition.uses());
                            self.flows
                                .templates()
                                .holds(condition, &context)
                                .map_err(|message| self.template_problem(message))?
                        }
                    };
                    if holds {
                        return Ok(Some(arm.target));
                    }
                }
                Ok(after)
            }
            Action::Hours {
                schedule,
                open,
                closed,
            } => Ok(Some(if schedule.is_open(self.webhook.now) {
                *open
            } else {
                *closed
            })),
            Action::Goto(target) => Ok(Some(*target)),
            Action::Hangup => {
                self.emit(render::hangup());
                Ok(None)
            }
            Action::Reject(reason) => {
                self.emit(render::reject(*reason));
                Ok(None)
            }
            Action::Gather(gather) => {
                let prompts = self.prompts(&gather.prompts)?;
                let url = self.waiting_url();
                self.emit(render::gather(gather, &url, prompts));
                self.emit(render::redirect(&url));
                Ok(None)
            }
            Action::Menu(menu) => {
                let prompts = self.prompts(&menu.gather.prompts)?;
                let url = self.waiting_url();
                self.emit(render::gather(&menu.gather, &url, prompts));
                self.emit(render::redirect(&url));
                Ok(None)
            }
            Action::Dial(dial) => self.dial(dial, step),
            Action::Record(record) => {
                for prompt in self.prompts(&record.prompts)? {
                    self.emit(prompt);
                }
                let transcribe = self.render_opt(record.transcribe_callback.as_ref())?;
                let status = self.render_opt(record.recording_status_callback.as_ref())?;
                let url = self.waiting_url();
                self.emit(render::record(
                    record,
                    &url,
                    transcribe.as_deref(),
                    status.as_deref(),
                ));
                self.emit(render::redirect(&url));
                Ok(None)
            }
        }
    }

    /// Performs a step whose TwiML was written at load time; `false` when
    /// the step waits or ends the call.
    fn perform_prewritten(&mut self, step: &'a Step, twiml: &Prewritten) -> Result<bool, Problem> {
        if let Action::Dial(Dial {
            before: Some(before),
            ..
        }) = &step.action
        {
            self.say(before)?;
        }
        if step.action.waits() {
            let url = self.waiting_url();
            twiml.write(&[&url], self.xml.verbs());
            return Ok(false);
        }
        twiml.write(&[], self.xml.verbs());
        Ok(!matches!(step.action, Action::Hangup | Action::Reject(_)))
    }

    fn dial(&mut self, dial: &'a Dial, step: &'a Step) -> Result<Option<Target>, Problem> {
        let mut nouns = Vec::with_capacity(dial.nouns.len());
        for noun in &dial.nouns {
            let element = match noun {
                DialNoun::Fixed(target) => render::target_noun(target),
                DialNoun::Templated { text, kind } => {
                    let raw = self.render(text)?;
                    let checked = dial_target::parse(&raw, *kind)
                        .map_err(|refusal| refusal.to_string())
                        .and_then(|target| match &dial.allow {
                            Some(allow) => allow
                                .check(&target)
                                .map(|()| target)
                                .map_err(|refusal| refusal.to_string()),
                            None => Err("the step has no allow list".to_owned()),
                        });
                    match checked {
                        Ok(target) => render::target_noun(&target),
                        Err(reason) => {
                            tracing::warn!(
                                call_sid = self.webhook.call_sid(),
                                flow = %self.current_flow().name,
                                step = %step.name,
                                %reason,
                                "refused to dial a target built from caller input"
                            );
                            self.say(&dial.refused)?;
                            let next = dial.route(DialOutcome::Refused).unwrap_or(Target::Hangup);
                            return Ok(Some(next));
                        }
                    }
                }
                DialNoun::Conference(conference) => {
                    let room = self.render(&conference.room)?;
                    render::conference(conference, &room)
                }
                DialNoun::Queue(queue) => {
                    Element::with_text("Queue", self.render(queue)?.into_owned())
                }
            };
            nouns.push(element);
        }
        if let Some(before) = &dial.before {
            self.say(before)?;
        }
        let caller_id = self.render_opt(dial.caller_id.as_ref())?;
        let url = self.waiting_url();
        self.emit(render::dial(
            render::DialAttributes {
                action: &url,
                caller_id: caller_id.as_deref(),
                timeout: dial.timeout,
                time_limit: dial.time_limit,
                record: dial.record.map(|r| r.as_str()),
                answer_on_bridge: dial.answer_on_bridge,
                ring_tone: dial.ring_tone.as_deref(),
                hangup_on_star: dial.hangup_on_star,
            },
            nouns,
        ));
        Ok(None)
    }

    fn visit(&mut self, step: StepId) {
        let flow = self.flow.expect("a flow is chosen before steps run");
        self.visited.push((flow, step));
    }

    /// The callback URL for the step now waiting.
    fn waiting_url(&mut self) -> String {
        let step = self.step.expect("a waiting step is current");
        self.state.step = self.current_flow().step(step).name.clone();
        self.state.version = self.stamp.map(str::to_owned);
        self.state.url(&self.settings.public_url)
    }

    fn prompts(&mut self, prompts: &'a [Prompt]) -> Result<Vec<Element>, Problem> {
        prompts
            .iter()
            .map(|prompt| {
                let rendered = self.render_opt(prompt.text())?;
                Ok(render::prompt(prompt, rendered.as_deref()))
            })
            .collect()
    }

    fn emit(&mut self, verb: Element) {
        verb.write_to(self.xml.verbs());
    }

    /// Says `speech`: its `<Say>` written at load time, with the rendered
    /// text in its hole when it is a template.
    fn say(&mut self, speech: &'a Speech) -> Result<(), Problem> {
        let text = self.render(&speech.text)?;
        match speech.xml.as_ref().filter(|_| self.precompiled) {
            Some(xml) if matches!(speech.text, Text::Plain(_)) => xml.write(&[], self.xml.verbs()),
            // An empty text closes the element (`<Say />`): not the hole's shape.
            Some(xml) if !text.is_empty() => xml.write(&[&text], self.xml.verbs()),
            _ => {
                self.emit(render::spoken(speech, &text));
            }
        }
        Ok(())
    }

    fn render<'t>(&mut self, text: &'t Text) -> Result<Cow<'t, str>, Problem> {
        match text {
            Text::Plain(plain) => return Ok(Cow::Borrowed(plain)),
            Text::Template {
                simple: Some(simple),
                ..
            } if self.precompiled => {
                // Room for a sentence, so it is not grown piece by piece.
                let mut out = String::with_capacity(128);
                simple.render(&|lookup| self.lookup(lookup), &mut out);
                return Ok(Cow::Owned(out));
            }
            Text::Template { .. } => {}
        }
        let context = self.context(text.uses());
        self.flows
            .templates()
            .render(text, &context)
            .map_err(|message| self.template_problem(message))
    }

    fn render_opt<'t>(&mut self, text: Option<&'t Text>) -> Result<Option<Cow<'t, str>>, Problem> {
        text.map(|t| self.render(t)).transpose()
    }

    /// What `call.Name` or `vars.name` reads, as the template context
    /// shows it (see [`CallParams`]).
    fn lookup(&self, lookup: &Lookup) -> Option<&str> {
        match lookup.root {
            Root::Call => call_pairs(self.webhook)
                .rev()
                .find(|(name, _)| *name == lookup.key)
                .map(|(_, value)| value),
            Root::Vars => self.state.vars.get(&lookup.key).map(String::as_str),
        }
    }

    fn template_problem(&self, message: String) -> Problem {
        let step = self
            .step
            .map(|id| self.current_flow().step(id).name.clone())
            .unwrap_or_default();
        Problem::Template { step, message }
    }

    fn set_var(&mut self, name: &str, value: &str) {
        self.state.set_var(name, value);
        self.context.vars = None;
    }

    /// What templates can read: `call`, `vars`, `now`, `config`, `flow`,
    /// `step`; only the parts `uses` names are built.
    fn context(&mut self, uses: Uses) -> Value {
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
        })
    }

    /// Turns a problem into the flow's fallback step or an apology, and
    /// logs it with the CallSid.
    fn recover(&mut self, problem: Problem) {
        let flow_name = self.flow.map(|id| self.flows.get(id).name.clone());
        if let Problem::Idle = problem {
            tracing::info!(call_sid = self.webhook.call_sid(), flow = ?flow_name, "{problem}; ending the call");
            self.emit(render::say(IDLE_GOODBYE, None, None, None));
            self.emit(render::hangup());
            return;
        }
        tracing::error!(call_sid = self.webhook.call_sid(), flow = ?flow_name, "{problem}");
        self.problem = Some(problem.to_string());
        let fallback = self.flow.and_then(|id| self.flows.get(id).fallback);
        if let Some(fallback) = fallback.filter(|&f| self.step != Some(f)) {
            self.state.attempt = 0;
            if let Err(second) = self.run(Target::Step(fallback)) {
                tracing::error!(call_sid = self.webhook.call_sid(), flow = ?flow_name, "the fallback step failed too: {second}");
            } else {
                return;
            }
        }
        let (voice, language) = self.flow.map_or((None, None), |id| {
            let flow = self.flows.get(id);
            let first_say = flow.steps.iter().find_map(|s| match &s.action {
                Action::Say(speech) => Some(speech),
                _ => None,
            });
            (
                first_say.and_then(|s| s.voice.clone()),
                first_say.and_then(|s| s.language.clone()),
            )
        });
        self.xml = twiml::Document::start();
        self.emit(render::say(
            APOLOGY,
            voice.as_deref(),
            language.as_deref(),
            None,
        ));
        self.emit(render::hangup());
    }
}

#[derive(Default)]
struct ContextParts {
    call: Option<Value>,
    vars: Option<Value>,
    now: Option<Value>,
    config: Option<Value>,
}

/// What a template sees at its top level: one object whose parts are
/// shared with the turn, rather than a map built for every render.
#[derive(Debug)]
struct TemplateContext {
    call: Value,
    vars: Value,
    now: Value,
    config: Value,
    flow: Value,
    step: Value,
}

impl minijinja::value::Object for TemplateContext {
    fn get_value(self: &std::sync::Arc<Self>, key: &Value) -> Option<Value> {
        let part = match key.as_str()? {
            "call" => &self.call,
            "vars" => &self.vars,
            "now" => &self.now,
            "config" => &self.config,
            "flow" => &self.flow,
            "step" => &self.step,
            _ => return None,
        };
        Some(part.clone())
    }

    fn enumerate(self: &std::sync::Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Str(crate::flow::template::CONTEXT_NAMES)
    }
}

/// Twilio's parameters (and custom ones), without callflow's own state
/// keys, as a template sees them in `call`. Looked up on use rather than
/// converted up front: a greeting reads one parameter of a dozen. All
/// names and values share one string, so building it is two allocations.
#[derive(Debug)]
struct CallParams {
    text: String,
    /// Where each name starts, where it ends (and its value starts), and
    /// where the value ends, in `text`.
    bounds: Vec<(usize, usize, usize)>,
}

impl CallParams {
    fn pairs(&self) -> impl DoubleEndedIterator<Item = (&str, &str)> {
        self.bounds
            .iter()
            .map(|&(start, middle, end)| (&self.text[start..middle], &self.text[middle..end]))
    }
}

impl minijinja::value::Object for CallParams {
    fn get_value(self: &std::sync::Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        // The last wins, as in `call_pairs`.
        self.pairs()
            .rev()
            .find(|(name, _)| *name == key)
            .map(|(_, value)| Value::from(value))
    }

    fn enumerate(self: &std::sync::Arc<Self>) -> minijinja::value::Enumerator {
        let mut names: Vec<&str> = self.pairs().map(|(name, _)| name).collect();
        names.sort_unstable();
        names.dedup();
        minijinja::value::Enumerator::Values(names.into_iter().map(Value::from).collect())
    }
}

/// What `call` shows, in order: the query's parameters that are not
/// callflow's state, then the body's. A name given twice reads the last.
fn call_pairs<'w>(webhook: &Webhook<'w>) -> impl DoubleEndedIterator<Item = (&'w str, &'w str)> {
    webhook
        .query
        .iter()
        .filter(|(key, _)| !CallState::is_state_key(key))
        .chain(webhook.params)
        .map(|(name, value)| (name.as_ref(), value.as_ref()))
}

fn call_value(webhook: &Webhook<'_>) -> Value {
    let size = call_pairs(webhook)
        .map(|(name, value)| name.len() + value.len())
        .sum();
    let mut params = CallParams {
        text: String::with_capacity(size),
        bounds: Vec::with_capacity(webhook.query.len() + webhook.params.len()),
    };
    for (name, value) in call_pairs(webhook) {
        let start = params.text.len();
        params.text.push_str(name);
        let middle = params.text.len();
        params.text.push_str(value);
        params.bounds.push((start, middle, params.text.len()));
    }
    Value::from_object(params)
}

fn now_value(now: Timestamp, zone: &jiff::tz::TimeZone) -> Value {
    let local = now.to_zoned(zone.clone());
    minijinja::context! {
        iso => local.timestamp().to_string(),
        date => local.date().to_string(),
        time => format!("{:02}:{:02}", local.hour(), local.minute()),
        hour => local.hour(),
        minute => local.minute(),
        weekday => crate::flow::hours::weekday_name(local.weekday()),
        day => local.day(),
        month => local.month(),
        year => local.year(),
    }
}

/// Spoken digits, so "one" or "1" picks option 1 by speech.
const SPOKEN_DIGITS: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];

/// The option a caller picked, by keys or by words. Public so flow test
/// coverage counts options exactly as calls choose them.
pub fn choose<'m>(
    menu: &'m Menu,
    digits: Option<&str>,
    speech: Option<&str>,
) -> Option<&'m MenuOption> {
    if let Some(option) = digits.and_then(|digits| {
        menu.options
            .iter()
            .find(|o| o.words.is_none() && o.key == digits)
    }) {
        return Some(option);
    }
    let said = crate::flow::load::normalise_speech(speech?);
    let padded = format!(" {said} ");
    let by_words = menu.options.iter().find(|o| {
        o.words
            .as_deref()
            .is_some_and(|w| said == w || padded.contains(&format!(" {w} ")))
    });
    by_words.or_else(|| {
        let as_digit = SPOKEN_DIGITS
            .iter()
            .position(|d| *d == said)
            .map(|d| d.to_string())
            .unwrap_or(said);
        menu.options
            .iter()
            .find(|o| o.words.is_none() && o.key == as_digit)
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use proptest::prelude::*;

    use super::*;

    /// Templates of the shape `flow::simple` renders itself.
    fn simple_template() -> impl Strategy<Value = String> {
        let lookup = prop::sample::select(vec![
            "call.CallerName",
            "call.From",
            "call.flow",
            "call.step",
            "vars.name",
            "vars.account",
        ]);
        let value = (lookup.clone(), "[ \t]{0,2}", "[ \t]{0,2}")
            .prop_map(|(lookup, before, after)| format!("{{{{{before}{lookup}{after}}}}}"));
        let piece = prop_oneof!["[A-Za-z ,.!?]{0,8}", value];
        let condition =
            (lookup, prop::collection::vec(piece.clone(), 0..3)).prop_map(|(lookup, body)| {
                format!("{{% if {lookup} %}}{}{{% endif %}}", body.concat())
            });
        prop::collection::vec(prop_oneof![piece, condition], 1..5).prop_map(|p| p.concat())
    }

    fn pairs(
        names: &[&'static str],
    ) -> impl Strategy<Value = Vec<(Cow<'static, str>, Cow<'static, str>)>> {
        prop::collection::vec((prop::sample::select(names.to_vec()), "[a-z ]{0,4}"), 0..5).prop_map(
            |pairs| {
                pairs
                    .into_iter()
                    .map(|(name, value)| (Cow::Borrowed(name), Cow::Owned(value)))
                    .collect()
            },
        )
    }

    proptest! {
        /// Rendered directly or by minijinja, a simple template says the
        /// same, whichever parameters and variables the call has.
        #[test]
        fn simple_templates_render_as_minijinja_does(
            template in simple_template(),
            params in pairs(&["CallerName", "From", "flow", "step"]),
            query in pairs(&["CallerName", "flow", "step", "var.name", "var.account"]),
        ) {
            let source = format!("steps:\n  speak:\n    say: \"{template}\"\n");
            let flows = crate::flow::load_sources(vec![crate::flow::load::Source {
                name: "main".into(),
                file: "main.yaml".into(),
                text: source,
            }])
            .unwrap()
            .flows;
            let Action::Say(speech) = &flows.get(0).step(0).action else {
                unreachable!("the flow is one say step")
            };
            let webhook = Webhook { query: &query, params: &params, now: Timestamp::UNIX_EPOCH };
            let settings = EngineSettings::default();
            let rendered = |precompiled| {
                let mut turn = Turn::new(&flows, &settings, &webhook, None);
                turn.precompiled = precompiled;
                turn.state = CallState::from_query(&query).unwrap_or_default();
                turn.enter_flow(0);
                turn.step = Some(0);
                turn.render(&speech.text).map(Cow::into_owned).map_err(|p| p.to_string())
            };
            prop_assert_eq!(rendered(true), rendered(false), "{}", template);
        }
    }

    /// Every step of every flow we ship, answered with the TwiML written at
    /// load time and with the element writer: the bytes must be the same.
    #[test]
    fn prewritten_twiml_is_what_the_element_writer_writes() {
        let settings = EngineSettings::default();
        let mut prewritten_steps = 0;
        for dir in [
            "flows",
            "examples/flows",
            "tests/fixtures/flows/steps",
            "tests/fixtures/flows/routing",
        ] {
            let flows = crate::flow::load(Path::new(dir))
                .unwrap_or_else(|report| panic!("{dir}: {report}"))
                .flows;
            for flow in flows.flows() {
                for step in &flow.steps {
                    prewritten_steps += usize::from(step.twiml.is_some());
                    for now in ["2026-11-24T15:30:00Z", "2026-11-24T03:30:00Z"] {
                        let now = now.parse().unwrap();
                        let answer = |precompiled| {
                            preview_with(
                                &flows,
                                &settings,
                                &flow.name,
                                Some(&step.name),
                                now,
                                precompiled,
                            )
                        };
                        assert_eq!(
                            answer(true),
                            answer(false),
                            "{dir}: {}.{}",
                            flow.name,
                            step.name
                        );
                    }
                }
            }
        }
        assert!(
            prewritten_steps > 20,
            "only {prewritten_steps} steps prewritten"
        );
    }
}
