//! Flows: the call scripts a line runs, loaded from YAML and checked.
//!
//! A [`FlowSet`] can only be made by [`load()`], which reads a folder of flow
//! files, checks every reference, template, number and time range, and
//! compiles the result: step names become indexes, text becomes plain
//! strings or compiled templates. The request path uses the set as it is and
//! never re-checks anything.
//!
//! - [`steps`]: each kind of step, one file each: its YAML, its compiled
//!   form, its checks, its TwiML and how it resumes.
//! - [`load`](mod@load): loading a set: read, parse, compile, check.
//! - `read`: reading flow files from disk.
//! - `yaml_error`: serde's YAML errors, said to the flow's author.
//! - `compile`: the flow's frame, and the helpers every kind compiles with.
//! - `check`: checks across steps and flows (unreachable steps, loops).
//! - `spec`: the YAML of a flow file's frame, and shapes shared by kinds.
//! - [`diagnostic`]: mistakes, with file, line and column.
//! - `position`: where each key of a YAML file is, for diagnostics.
//! - `template`: templated text.
//! - `schedule`: opening hours.

mod check;
pub(crate) mod compile;
pub mod diagnostic;
pub mod load;
pub(crate) mod position;
mod read;
pub(crate) mod schedule;
pub(crate) mod spec;
pub mod steps;
pub(crate) mod template;
pub(crate) mod yaml_error;

use std::collections::HashMap;
use std::path::PathBuf;

use jiff::tz::TimeZone;

pub use diagnostic::{Diagnostic, Report};
pub use load::{Loaded, load, load_sources};
pub use steps::Action;
pub(crate) use template::Templates;
pub use template::Text;

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

    pub(crate) fn templates(&self) -> &Templates {
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
}

/// Where a call goes: a step of the same flow, another flow, or the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Step(StepId),
    Flow(FlowId, StepId),
    Hangup,
}
