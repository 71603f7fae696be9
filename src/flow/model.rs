//! The compiled model a call runs on: the set of flows, each flow, each
//! step. It is built only by loading, which checks it whole, so the request
//! path trusts it as it is.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use jiff::tz::TimeZone;

use super::diagnostic::Report;
use super::secrets::{DeclaredSecret, SecretSource, SecretValues};
use super::steps::Action;
use super::target::{FlowId, StepId, Target};

/// Every flow of the line, checked and compiled.
///
/// Each flow is held behind an `Arc`, and so are the maps that find one:
/// the versions a reload keeps for calls in progress share every flow an
/// edit did not change, and the maps while no flow came or went and no
/// number moved.
#[derive(Debug)]
pub struct FlowSet {
    pub(super) flows: Vec<Arc<Flow>>,
    pub(super) by_name: Arc<HashMap<String, FlowId>>,
    pub(super) by_number: Arc<HashMap<String, FlowId>>,
    /// A hash of every source file: what `/flows` reports as the version.
    pub(super) version: String,
    /// The values of the secrets the flows declare, once read.
    pub(super) secrets: SecretValues,
}

impl FlowSet {
    pub fn flows(&self) -> &[Arc<Flow>] {
        &self.flows
    }

    /// The compiled flow named `name`, as shared with other versions.
    pub fn shared(&self, name: &str) -> Option<&Arc<Flow>> {
        self.id_of(name).map(|id| &self.flows[id])
    }

    pub fn get(&self, id: FlowId) -> &Flow {
        &self.flows[id]
    }

    pub fn id_of(&self, name: &str) -> Option<FlowId> {
        self.by_name.get(name).copied()
    }

    pub fn by_name(&self, name: &str) -> Option<&Flow> {
        self.id_of(name).map(|id| self.flows[id].as_ref())
    }

    /// The flow whose `numbers` list the called number.
    pub fn for_number(&self, number: &str) -> Option<FlowId> {
        self.by_number.get(number).copied()
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub(crate) fn secrets(&self) -> &SecretValues {
        &self.secrets
    }

    /// The set with its declared secrets read from `source`; `Err` names
    /// each one `source` lacks, at its `secrets:` entry.
    pub fn with_secrets(mut self, source: &SecretSource<'_>) -> Result<FlowSet, Report> {
        let (values, report) = SecretValues::resolve(&self, source, true);
        if report.has_errors() {
            return Err(report);
        }
        self.secrets = values;
        Ok(self)
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
    pub(super) step_ids: HashMap<String, StepId>,
    pub start: StepId,
    pub fallback: Option<StepId>,
    pub timezone: TimeZone,
    pub numbers: Vec<String>,
    /// The environment variables its requests may read.
    pub secrets: Vec<DeclaredSecret>,
    /// Callers turned away before the first step.
    pub callers: Option<super::callers::Callers>,
    /// Every call recorded from its start.
    pub record_calls: Option<super::record_calls::RecordCalls>,
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
    /// Where the call goes after this step; `None` ends the flow (see
    /// [`Target::End`]).
    pub next: Option<Target>,
}
