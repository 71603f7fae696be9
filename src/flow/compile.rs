//! Compiling parsed flows into the model: step names become indexes, text
//! becomes plain strings or compiled templates, and every value is checked.
//!
//! The flow's frame (its start, fallback, numbers, each step's name and
//! `next`) is compiled here; each kind of step compiles its own YAML in its
//! file under [`steps`](super::steps), with the shared helpers of
//! [`Compiler`]: text, targets, variable names, keys. Every mistake is
//! reported and compiling goes on, so one pass finds them all.

use std::collections::HashMap;
use std::path::Path;

use jiff::tz::TimeZone;

use super::diagnostic::{Diagnostic, Position, Report, closest};
use super::position::PositionIndex;
use super::spec::{FlowSpec, Scalar};
use super::steps::{ACTIONS, Action, StepSpec};
use super::template::{Templates, Text};
use super::{Flow, FlowId, Step, StepId, Target};
use crate::dial_target::{self, TargetKind};

/// One parsed flow file, ready to compile.
pub(super) struct FlowSource<'a> {
    pub name: &'a str,
    pub file: &'a Path,
    pub index: &'a PositionIndex,
    pub spec: &'a FlowSpec,
}

/// Every flow's and step's name, gathered before any flow compiles so that
/// any flow can refer to any other.
#[derive(Default)]
pub(super) struct Names {
    pub flows: HashMap<String, FlowId>,
    steps: Vec<HashMap<String, StepId>>,
    starts: Vec<StepId>,
}

impl Names {
    pub fn gather(sources: &[FlowSource<'_>], report: &mut Report) -> Names {
        let mut names = Names::default();
        for (id, flow) in sources.iter().enumerate() {
            names.flows.insert(flow.name.to_owned(), id);
            names.steps.push(
                flow.spec
                    .steps
                    .keys()
                    .cloned()
                    .enumerate()
                    .map(|(i, n)| (n, i))
                    .collect(),
            );
        }
        for (id, flow) in sources.iter().enumerate() {
            let start = start_of(flow, &names.steps[id], report);
            names.starts.push(start);
        }
        names
    }
}

fn start_of(flow: &FlowSource<'_>, steps: &HashMap<String, StepId>, report: &mut Report) -> StepId {
    if flow.spec.steps.is_empty() {
        report.push(Diagnostic::error(
            flow.file,
            flow.index.key("steps"),
            "this flow has no steps: add at least one under `steps:`",
        ));
        return 0;
    }
    let Some(start) = &flow.spec.start else {
        return 0;
    };
    match steps.get(start) {
        Some(&id) => id,
        None => {
            report.push(unknown_step(
                flow.file,
                flow.index.value("start"),
                start,
                steps.keys().map(String::as_str),
            ));
            0
        }
    }
}

fn unknown_step<'a>(
    file: &Path,
    at: Position,
    name: &str,
    known: impl IntoIterator<Item = &'a str> + Clone,
) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        file,
        at,
        format!("there is no step named `{name}` in this flow"),
    );
    match closest(name, known.clone().into_iter().chain(["hangup"])) {
        Some(near) => diagnostic.with_help(format!("did you mean `{near}`?")),
        None => {
            let mut list: Vec<&str> = known.into_iter().collect();
            list.sort();
            diagnostic.with_help(format!(
                "the steps are {}, and `hangup` ends the call",
                list.iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    }
}

/// Whether `name` may name a flow (with `/` for subfolders) or a step.
pub(super) fn valid_name(name: &str, allow_slash: bool) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (allow_slash && b == b'/')
        })
}

fn valid_variable(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.len() <= 64
}

/// Compiles one flow, reporting every problem it finds.
pub(super) fn compile_flow(
    report: &mut Report,
    templates: &mut Templates,
    names: &Names,
    id: FlowId,
    source: &FlowSource<'_>,
) -> Flow {
    let mut compiler = Compiler {
        report,
        templates,
        names,
        flow: id,
        name: source.name,
        file: source.file,
        index: source.index,
        spec: source.spec,
    };
    compiler.flow()
}

/// What step kinds compile with: where they are in the file, the flow's
/// defaults, the names of every flow and step, and the report.
pub(crate) struct Compiler<'a> {
    report: &'a mut Report,
    templates: &'a mut Templates,
    names: &'a Names,
    flow: FlowId,
    name: &'a str,
    file: &'a Path,
    index: &'a PositionIndex,
    spec: &'a FlowSpec,
}

impl Compiler<'_> {
    /// Reports an error; the diagnostic is returned for a `help`.
    pub(crate) fn error(&mut self, at: Position, message: impl Into<String>) -> &mut Diagnostic {
        self.report.push(Diagnostic::error(self.file, at, message));
        self.report.diagnostics.last_mut().expect("just pushed")
    }

    pub(crate) fn warning(&mut self, at: Position, message: impl Into<String>) {
        self.report
            .push(Diagnostic::warning(self.file, at, message));
    }

    /// Whether any error has been reported so far, in any file.
    pub(crate) fn has_errors(&self) -> bool {
        self.report.has_errors()
    }

    /// Where the key at `path` (such as `steps.menu.next`) is written.
    pub(crate) fn key(&self, path: &str) -> Position {
        self.index.key(path)
    }

    /// Where the value at `path` is written.
    pub(crate) fn value(&self, path: &str) -> Position {
        self.index.value(path)
    }

    pub(crate) fn flow_voice(&self) -> Option<String> {
        self.spec.voice.clone()
    }

    pub(crate) fn flow_language(&self) -> Option<String> {
        self.spec.language.clone()
    }

    pub(crate) fn flow_timezone(&self) -> Option<String> {
        self.spec.timezone.clone()
    }

    fn flow(&mut self) -> Flow {
        let spec = self.spec;
        let timezone = self.timezone(spec.timezone.as_deref(), "timezone");
        let numbers = spec
            .numbers
            .iter()
            .enumerate()
            .filter_map(|(i, raw)| self.literal_number(raw, &format!("numbers.{i}")))
            .collect();
        let fallback = spec
            .fallback
            .as_ref()
            .map(|name| self.step_target(name, "fallback"));
        let fallback = match fallback {
            Some(Target::Step(id)) => Some(id),
            _ => None,
        };
        let steps = spec
            .steps
            .iter()
            .map(|(name, step)| self.step(name, step))
            .collect();
        Flow {
            name: self.name.to_owned(),
            description: spec.description.clone(),
            file: self.file.to_owned(),
            steps,
            step_ids: self.names.steps[self.flow].clone(),
            start: self.names.starts[self.flow],
            fallback,
            timezone: timezone.unwrap_or(TimeZone::UTC),
            numbers,
        }
    }

    fn step(&mut self, name: &str, spec: &StepSpec) -> Step {
        let path = format!("steps.{name}");
        if !valid_name(name, false) || name == "hangup" {
            let at = self.index.key(&path);
            let message = if name == "hangup" {
                "`hangup` is a built-in target that ends the call; name this step differently"
                    .to_owned()
            } else {
                format!("`{name}` cannot be a step name: use letters, digits, `_` and `-`")
            };
            self.error(at, message);
        }
        let actions = spec.actions();
        let action = match actions.as_slice() {
            [] => {
                let at = self.index.key(&path);
                self.error(at, format!("step `{name}` does nothing")).help =
                    Some(format!("give it one action: {}", ACTIONS.join(", ")));
                Action::Hangup(super::steps::hangup::Hangup)
            }
            [_] => spec
                .compile_action(self, &path)
                .expect("the step has one action"),
            [first, second, ..] => {
                let at = self.index.key(&format!("{path}.{second}"));
                self.error(
                    at,
                    format!("step `{name}` has both `{first}` and `{second}`"),
                )
                .help =
                    Some("a step does one thing: split it into two steps joined by `next`".into());
                Action::Hangup(super::steps::hangup::Hangup)
            }
        };
        let next = spec
            .next
            .as_ref()
            .map(|target| self.step_target(target, &format!("{path}.next")));
        if next.is_some() && !action.uses_next() {
            let at = self.index.key(&format!("{path}.next"));
            self.warning(
                at,
                format!("`next` is never used after `{}`", action.kind()),
            );
        }
        self.check_modifiers(spec, &action, &path);
        Step {
            name: name.to_owned(),
            action,
            next,
        }
    }

    /// `on`, `open` and `closed` belong to one kind of step each.
    fn check_modifiers(&mut self, spec: &StepSpec, action: &Action, path: &str) {
        let misplaced = [
            ("on", spec.on.is_some(), "dial"),
            ("open", spec.open.is_some(), "hours"),
            ("closed", spec.closed.is_some(), "hours"),
        ];
        for (key, present, owner) in misplaced {
            if present && action.kind() != owner {
                let at = self.index.key(&format!("{path}.{key}"));
                self.error(
                    at,
                    format!(
                        "`{key}` belongs to a `{owner}` step, not a `{}` step",
                        action.kind()
                    ),
                );
            }
        }
    }

    /// The time zone named at `path`, reporting an unknown name.
    pub(crate) fn timezone(&mut self, name: Option<&str>, path: &str) -> Option<TimeZone> {
        let name = name?;
        match TimeZone::get(name) {
            Ok(zone) => Some(zone),
            Err(_) => {
                let at = self.index.value(path);
                self.error(at, format!("`{name}` is not a time zone")).help =
                    Some("use an IANA name such as America/New_York or Europe/London".into());
                None
            }
        }
    }

    fn literal_number(&mut self, raw: &str, path: &str) -> Option<String> {
        match dial_target::parse(raw, Some(TargetKind::Number)) {
            Ok(target) => Some(target.as_str().to_owned()),
            Err(refusal) => {
                let at = self.index.value(path);
                self.error(at, refusal.to_string()).help =
                    Some("write numbers with + and the country code, like +15551234567".into());
                None
            }
        }
    }

    /// A step of this flow, or `hangup`, named at `path`.
    pub(crate) fn step_target(&mut self, name: &str, path: &str) -> Target {
        if name == "hangup" {
            return Target::Hangup;
        }
        match self.names.steps[self.flow].get(name) {
            Some(&id) => Target::Step(id),
            None => {
                let at = self.index.value(path);
                let known = self.names.steps[self.flow].keys().map(String::as_str);
                let diagnostic = unknown_step(self.file, at, name, known);
                self.report.push(diagnostic);
                Target::Hangup
            }
        }
    }

    /// Another flow, at its start or at `step`, named at `path`.
    pub(crate) fn flow_target(
        &mut self,
        flow_name: &str,
        step: Option<&str>,
        path: &str,
    ) -> Target {
        let Some(&flow) = self.names.flows.get(flow_name) else {
            let at = self.index.value(path);
            let known: Vec<&str> = self.names.flows.keys().map(String::as_str).collect();
            let diagnostic = self.error(at, format!("there is no flow named `{flow_name}`"));
            if let Some(near) = closest(flow_name, known) {
                diagnostic.help = Some(format!("did you mean `{near}`?"));
            }
            return Target::Hangup;
        };
        let step = match step {
            None => self.names.starts[flow],
            Some(step) => match self.names.steps[flow].get(step) {
                Some(&id) => id,
                None => {
                    let at = self.index.value(&format!("{path}.step"));
                    self.error(at, format!("flow `{flow_name}` has no step named `{step}`"));
                    return Target::Hangup;
                }
            },
        };
        Target::Flow(flow, step)
    }

    /// Text at `path`: plain, or a template compiled and checked.
    pub(crate) fn text(&mut self, source: &str, path: &str) -> Text {
        let name = format!("{}:{path}", self.name);
        match self.templates.compile(name, source) {
            Ok(text) => text,
            Err(message) => {
                let at = self.index.value(path);
                self.error(at, message);
                Text::Plain(String::new())
            }
        }
    }

    /// A condition (`vars.tries > 2`) at `path`, compiled and checked.
    pub(crate) fn condition(&mut self, condition: &str, path: &str) -> Text {
        let name = format!("{}:{path}", self.name);
        match self.templates.compile_condition(name, condition) {
            Ok(text) => text,
            Err(message) => {
                let at = self.index.value(path);
                self.error(at, format!("this condition is not valid: {message}"));
                Text::Plain(String::new())
            }
        }
    }

    /// `finish_on_key`: a key on a phone, or none.
    pub(crate) fn finish_on_key(&mut self, key: &Option<String>, path: &str) -> Option<String> {
        let key = key.as_ref()?;
        if !key
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
        {
            let at = self.index.value(path);
            self.error(
                at,
                format!("`{key}` is not a key on a phone: use 0-9, * or #, or \"\" for none"),
            );
        }
        Some(key.clone())
    }

    /// `speech_timeout`: seconds, or `auto`.
    pub(crate) fn speech_timeout(&mut self, value: &Option<Scalar>, path: &str) -> Option<String> {
        let value = value.as_ref()?.as_str();
        if value != "auto" && value.parse::<u32>().is_err() {
            let at = self.index.value(path);
            self.error(
                at,
                format!("`{value}` is not a speech timeout: use a number of seconds or `auto`"),
            );
        }
        Some(value.to_owned())
    }

    /// `save_as`: a variable name, written as a value.
    pub(crate) fn save_as(&mut self, name: &Option<String>, path: &str) -> Option<String> {
        let name = name.as_ref()?;
        if !valid_variable(name) {
            let at = self.index.value(path);
            self.error(
                at,
                format!("`{name}` cannot be a variable name: use letters, digits and `_`"),
            );
        }
        Some(name.clone())
    }

    /// A variable name written as a key, as in `set`.
    pub(crate) fn check_variable_key(&mut self, name: &str, path: &str) {
        if !valid_variable(name) {
            let at = self.index.key(path);
            self.error(
                at,
                format!("`{name}` cannot be a variable name: use letters, digits and `_`"),
            );
        }
    }
}
