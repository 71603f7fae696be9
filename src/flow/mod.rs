//! Flows: the call scripts a line runs, loaded from YAML and checked.
//!
//! A [`FlowSet`] can only be made by [`load()`], which reads a folder of flow
//! files, checks every reference, template, number and time range, and
//! compiles the result: step names become indexes, text becomes plain
//! strings or compiled templates. The request path uses the set as it is and
//! never re-checks anything.
//!
//! - [`spec`]: the YAML as written.
//! - [`load`](mod@load): reading and checking into a [`FlowSet`].
//! - [`diagnostic`]: mistakes, with file, line and column.
//! - [`position`]: where each key of a YAML file is, for diagnostics.
//! - [`template`]: templated text.
//! - [`simple`]: templates rendered without the template engine.
//! - [`hours`]: opening hours.

mod check;
pub mod diagnostic;
pub mod hours;
pub mod load;
pub mod position;
pub mod simple;
pub mod spec;
pub mod template;

use std::collections::HashMap;
use std::path::PathBuf;

use jiff::tz::TimeZone;

use crate::dial_target::{AllowList, DialTarget, TargetKind};
use crate::twiml::Prewritten;
pub use diagnostic::{Diagnostic, Report};
pub use load::{load, load_sources};
use spec::{DialOutcome, InputMode, RejectReason};
pub use template::{Templates, Text};

pub type FlowId = usize;
pub type StepId = usize;

/// Every flow of the line, checked and compiled.
#[derive(Debug)]
pub struct FlowSet {
    flows: Vec<Flow>,
    by_name: HashMap<String, FlowId>,
    by_number: HashMap<String, FlowId>,
    templates: Templates,
    /// A hash of every source file: what `/flows` reports as the version.
    version: String,
}

impl FlowSet {
    pub fn flows(&self) -> &[Flow] {
        &self.flows
    }

    pub fn get(&self, id: FlowId) -> &Flow {
        &self.flows[id]
    }

    pub fn id_of(&self, name: &str) -> Option<FlowId> {
        self.by_name.get(name).copied()
    }

    pub fn by_name(&self, name: &str) -> Option<&Flow> {
        self.id_of(name).map(|id| &self.flows[id])
    }

    /// The flow whose `numbers` list the called number.
    pub fn for_number(&self, number: &str) -> Option<FlowId> {
        self.by_number.get(number).copied()
    }

    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    pub fn version(&self) -> &str {
        &self.version
    }
}

/// One flow file, compiled.
#[derive(Debug)]
pub struct Flow {
    pub name: String,
    pub description: Option<String>,
    /// The file it came from, for logs and diagnostics.
    pub file: PathBuf,
    pub steps: Vec<Step>,
    step_ids: HashMap<String, StepId>,
    pub start: StepId,
    pub fallback: Option<StepId>,
    pub timezone: TimeZone,
    pub numbers: Vec<String>,
}

impl Flow {
    pub fn step_id(&self, name: &str) -> Option<StepId> {
        self.step_ids.get(name).copied()
    }

    pub fn step(&self, id: StepId) -> &Step {
        &self.steps[id]
    }
}

#[derive(Debug)]
pub struct Step {
    pub name: String,
    pub action: Action,
    /// Where the call goes after this step; `None` ends the call.
    pub next: Option<Target>,
    /// The step's TwiML written at load time, with a hole for the callback
    /// URL, when nothing in it is templated (most steps): a webhook then
    /// copies it instead of building it.
    pub twiml: Option<Prewritten>,
}

impl Step {
    pub fn new(name: String, action: Action, next: Option<Target>) -> Self {
        let twiml = crate::engine::render::prewrite_step(&action);
        Step {
            name,
            action,
            next,
            twiml,
        }
    }
}

/// Where a call goes: a step of the same flow, another flow, or the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Step(StepId),
    Flow(FlowId, StepId),
    Hangup,
}

/// What a step does.
#[derive(Debug)]
pub enum Action {
    Say(Speech),
    Play(Play),
    Pause(u32),
    Gather(Gather),
    Menu(Menu),
    Branch(Vec<BranchArm>),
    Hours {
        schedule: hours::Schedule,
        open: Target,
        closed: Target,
    },
    Set(Vec<(String, Text)>),
    Dial(Dial),
    Record(Record),
    Goto(Target),
    Hangup,
    Reject(RejectReason),
}

impl Action {
    /// The name of the action key, as written in YAML.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Say(_) => "say",
            Action::Play(_) => "play",
            Action::Pause(_) => "pause",
            Action::Gather(_) => "gather",
            Action::Menu(_) => "menu",
            Action::Branch(_) => "branch",
            Action::Hours { .. } => "hours",
            Action::Set(_) => "set",
            Action::Dial(_) => "dial",
            Action::Record(_) => "record",
            Action::Goto(_) => "goto",
            Action::Hangup => "hangup",
            Action::Reject(_) => "reject",
        }
    }

    /// Steps that hand the call to the caller (or to Twilio) and resume in
    /// the next webhook.
    pub fn waits(&self) -> bool {
        matches!(
            self,
            Action::Gather(_) | Action::Menu(_) | Action::Dial(_) | Action::Record(_)
        )
    }
}

/// Something said with text to speech.
#[derive(Debug, Clone)]
pub struct Speech {
    pub text: Text,
    pub voice: Option<String>,
    pub language: Option<String>,
    pub loop_count: Option<u32>,
    /// The `<Say>` written at load time; a templated text is its hole.
    pub xml: Option<Prewritten>,
}

impl Speech {
    pub fn new(
        text: Text,
        voice: Option<String>,
        language: Option<String>,
        loop_count: Option<u32>,
    ) -> Self {
        let mut speech = Speech {
            text,
            voice,
            language,
            loop_count,
            xml: None,
        };
        speech.xml = crate::engine::render::prewrite_say(&speech);
        speech
    }
}

#[derive(Debug, Clone)]
pub struct Play {
    pub url: Option<Text>,
    pub loop_count: Option<u32>,
    pub digits: Option<String>,
}

/// What a caller hears while a gather waits.
#[derive(Debug, Clone)]
pub enum Prompt {
    Say(Speech),
    Play(Play),
}

impl Prompt {
    /// What is rendered per call: the words said, or the URL played.
    pub fn text(&self) -> Option<&Text> {
        match self {
            Prompt::Say(speech) => Some(&speech.text),
            Prompt::Play(play) => play.url.as_ref(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Gather {
    pub prompts: Vec<Prompt>,
    pub input: Vec<InputMode>,
    pub num_digits: Option<u32>,
    pub finish_on_key: Option<String>,
    pub timeout: Option<u32>,
    pub speech_timeout: Option<String>,
    pub hints: Option<String>,
    pub language: Option<String>,
    pub save_as: Option<String>,
}

#[derive(Debug)]
pub struct Menu {
    pub gather: Gather,
    pub options: Vec<MenuOption>,
    pub retries: u32,
    pub no_input: Option<Speech>,
    pub no_match: Option<Speech>,
    /// Where the call goes when the tries are used up; `None` ends it.
    pub otherwise: Option<Target>,
}

#[derive(Debug)]
pub struct MenuOption {
    /// As written: `1`, `sales`.
    pub key: String,
    /// Lowercase words a caller may say for this option, when it is a word.
    pub words: Option<String>,
    pub target: Target,
}

#[derive(Debug)]
pub struct BranchArm {
    /// `None` always holds (the last, "else" arm).
    pub condition: Option<Text>,
    pub target: Target,
}

#[derive(Debug)]
pub struct Dial {
    pub before: Option<Speech>,
    pub nouns: Vec<DialNoun>,
    pub caller_id: Option<Text>,
    pub timeout: Option<u32>,
    pub time_limit: Option<u32>,
    pub record: Option<spec::DialRecord>,
    pub answer_on_bridge: Option<bool>,
    pub ring_tone: Option<String>,
    pub hangup_on_star: Option<bool>,
    /// Checks targets built from templates; `None` when every target is
    /// written literally in the flow.
    pub allow: Option<AllowList>,
    pub refused: Speech,
    pub routes: Vec<(DialOutcome, Target)>,
}

impl Dial {
    pub fn route(&self, outcome: DialOutcome) -> Option<Target> {
        self.routes
            .iter()
            .find(|(o, _)| *o == outcome)
            .map(|(_, target)| *target)
    }
}

#[derive(Debug)]
pub enum DialNoun {
    /// Written in the flow and checked at load time.
    Fixed(DialTarget),
    /// Rendered per call and checked against the step's `allow` list.
    Templated {
        text: Text,
        kind: Option<TargetKind>,
    },
    Conference(Conference),
    Queue(Text),
}

#[derive(Debug)]
pub struct Conference {
    pub room: Text,
    pub muted: Option<bool>,
    pub beep: Option<String>,
    pub start_on_enter: Option<bool>,
    pub end_on_exit: Option<bool>,
    pub wait_url: Option<String>,
    pub max_participants: Option<u32>,
}

#[derive(Debug)]
pub struct Record {
    pub prompts: Vec<Prompt>,
    pub max_length: Option<u32>,
    pub timeout: Option<u32>,
    pub finish_on_key: Option<String>,
    pub play_beep: Option<bool>,
    pub trim: Option<bool>,
    pub transcribe: Option<bool>,
    pub transcribe_callback: Option<Text>,
    pub recording_status_callback: Option<Text>,
    pub save_as: String,
}
