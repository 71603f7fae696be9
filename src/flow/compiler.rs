//! What every kind of step compiles with: the report mistakes go to, where
//! each key is in the file, the flow's defaults, the names of every flow
//! and step, and the checks many kinds share (text and templates, targets,
//! variable names, keys on a phone).

use std::collections::HashMap;
use std::path::Path;

use jiff::tz::TimeZone;

use indexmap::IndexMap;

use super::diagnostic::{Diagnostic, Position, Report, closest, codes};
use super::languages::{LanguageSpec, Prompts};
use super::position::LazyIndex;
use super::steps::speech::SpeechOptions;
use super::target::{FlowId, StepId, Target};
use super::template::{Templates, Text};
use super::yaml::Scalar;

/// Every flow's and step's name, gathered before any flow compiles so that
/// any flow can refer to any other. A flow compiled by an earlier load
/// lends its own map of step names.
pub(super) struct Names<'n> {
    pub flows: &'n HashMap<String, FlowId>,
    pub steps: Vec<&'n HashMap<String, StepId>>,
    pub starts: Vec<StepId>,
}

pub(super) fn unknown_step<'a>(
    file: &Path,
    at: Position,
    name: &str,
    known: impl IntoIterator<Item = &'a str> + Clone,
) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        file,
        at,
        format!("there is no step named `{name}` in this flow"),
    )
    .with_code(codes::UNKNOWN_STEP);
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

/// Help for a name that is not one of `known`: "did you mean `x`?" when
/// one is close, else the list (`listed`: "the prompts are"), or `none`
/// when there are none.
pub(crate) fn near_or_list(wrong: &str, known: &[String], listed: &str, none: &str) -> String {
    if let Some(near) = closest(wrong, known.iter().map(String::as_str)) {
        return format!("did you mean `{near}`?");
    }
    if known.is_empty() {
        return none.to_owned();
    }
    let list: Vec<String> = known.iter().map(|name| format!("`{name}`")).collect();
    format!("{listed} {}", list.join(", "))
}

/// Whether `name` may name a flow (with `/` for subfolders) or a step.
pub(crate) fn valid_name(name: &str, allow_slash: bool) -> bool {
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

/// The flow's own settings that its steps fall back on.
pub(super) struct FlowDefaults<'a> {
    pub voice: Option<&'a str>,
    pub language: Option<&'a str>,
    pub timezone: Option<&'a str>,
    /// `returns`: what the flow's `return` steps may set.
    pub returns: &'a [String],
    pub speech: Option<&'a SpeechOptions>,
    /// `languages`: the default first.
    pub languages: &'a IndexMap<String, LanguageSpec>,
    /// `secrets`: what the flow's requests may read.
    pub secrets: &'a [String],
}

/// What step kinds compile with: where they are in the file, the flow's
/// defaults, the names of every flow and step, and the report.
pub(crate) struct Compiler<'a> {
    pub(super) report: &'a mut Report,
    pub(super) templates: &'a Templates,
    pub(super) names: &'a Names<'a>,
    pub(super) flow: FlowId,
    pub(super) name: &'a str,
    pub(super) file: &'a Path,
    pub(super) index: &'a LazyIndex<'a>,
    pub(super) defaults: FlowDefaults<'a>,
    /// The flow's prompt tables, compiled before its steps.
    pub(super) prompts: Prompts,
    /// The other flows its steps lead to: its compiled form holds their
    /// numbers, so it is compiled again when one of them changes.
    pub(super) refers: Vec<String>,
}

impl Compiler<'_> {
    /// Reports an error; the diagnostic is returned for a `help`, or a
    /// more precise `code` than "a value this key does not take".
    pub(crate) fn error(&mut self, at: Position, message: impl Into<String>) -> &mut Diagnostic {
        self.report
            .push(Diagnostic::error(self.file, at, message).with_code(codes::INVALID_SETTING));
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

    /// The flow's voice: `voice`, or the default language's.
    pub(crate) fn flow_voice(&self) -> Option<String> {
        self.defaults
            .languages
            .first()
            .and_then(|(_, language)| language.voice.as_deref())
            .or(self.defaults.voice)
            .map(str::to_owned)
    }

    /// The flow's language: `language`, or the first of `languages`.
    pub(crate) fn flow_language(&self) -> Option<String> {
        self.defaults
            .language
            .or_else(|| self.defaults.languages.keys().next().map(String::as_str))
            .map(str::to_owned)
    }

    /// The languages the flow speaks (codes, the default first), each with
    /// its voice or the flow's; empty for a flow without `languages`.
    pub(crate) fn languages(&self) -> Vec<(String, Option<String>)> {
        self.defaults
            .languages
            .iter()
            .map(|(code, language)| {
                let voice = language.voice.as_deref().or(self.defaults.voice);
                (code.clone(), voice.map(str::to_owned))
            })
            .collect()
    }

    /// The texts of the prompt `name`, one per language; reports a name the
    /// flow's `prompts` do not have, at `path`.
    pub(crate) fn prompt(&mut self, name: &str, path: &str) -> Option<Vec<Text>> {
        if let Some(texts) = self.prompts.texts.get(name) {
            if let Some(missing) = self.prompts.missing.get(name) {
                let languages = missing.languages.join(", ");
                let diagnostic = Diagnostic::error(
                    &missing.file,
                    missing.at,
                    format!(
                        "prompt `{name}` has no {languages} text, and flow `{}` speaks {languages} and uses it: a caller in {languages} would hear nothing",
                        self.name
                    ),
                )
                .with_code(codes::MISSING_TRANSLATION)
                .with_help(format!(
                    "add a text for {languages}, or take the language out of the flow's `languages`"
                ));
                self.report.push(diagnostic);
            }
            return Some(texts.clone());
        }
        let at = self.index.value(path);
        let known: Vec<String> = self.prompts.texts.keys().cloned().collect();
        let help = near_or_list(
            name,
            &known,
            "the prompts are",
            "add it under `prompts:`, with a text for each of `languages`",
        );
        let diagnostic = self.error(
            at,
            format!("there is no prompt named `{name}` in this flow"),
        );
        diagnostic.code = codes::UNKNOWN_PROMPT;
        diagnostic.help = Some(help);
        None
    }

    pub(crate) fn flow_speech(&self) -> Option<SpeechOptions> {
        self.defaults.speech.cloned()
    }

    pub(crate) fn flow_timezone(&self) -> Option<String> {
        self.defaults.timezone.map(str::to_owned)
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
        if !self.refers.iter().any(|name| name == flow_name) {
            self.refers.push(flow_name.to_owned());
        }
        let Some(&flow) = self.names.flows.get(flow_name) else {
            let at = self.index.value(path);
            let known: Vec<&str> = self.names.flows.keys().map(String::as_str).collect();
            let diagnostic = self.error(at, format!("there is no flow named `{flow_name}`"));
            diagnostic.code = codes::UNKNOWN_FLOW;
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
                    self.error(at, format!("flow `{flow_name}` has no step named `{step}`"))
                        .code = codes::UNKNOWN_STEP;
                    return Target::Hangup;
                }
            },
        };
        Target::Flow(flow, step)
    }

    /// Text at `path`: plain, or a template compiled and checked.
    pub(crate) fn text(&mut self, source: &str, path: &str) -> Text {
        match self.templates.compile(source) {
            Ok(text) => text,
            Err(message) => {
                let at = self.index.value(path);
                self.error(at, message).code = codes::INVALID_TEMPLATE;
                Text::Plain(String::new())
            }
        }
    }

    /// Text at `path` that goes to a request's far server: a template may
    /// also read the secrets the flow declares, and only those.
    pub(crate) fn request_text(&mut self, source: &str, path: &str) -> Text {
        let text = match self.templates.compile_request(source) {
            Ok(text) => text,
            Err(message) => {
                let at = self.index.value(path);
                self.error(at, message).code = codes::INVALID_TEMPLATE;
                return Text::Plain(String::new());
            }
        };
        match self.templates.secret_names(&text) {
            Ok(names) => {
                for name in names {
                    if !self.defaults.secrets.contains(&name) {
                        let at = self.index.value(path);
                        let help = match closest(
                            &name,
                            self.defaults.secrets.iter().map(String::as_str),
                        ) {
                            Some(near) => format!("did you mean `{near}`?"),
                            None => {
                                format!("declare it at the top of the file: `secrets: [{name}]`")
                            }
                        };
                        let diagnostic = self.error(
                            at,
                            format!("`secrets.{name}` is not declared in this flow's `secrets`"),
                        );
                        diagnostic.code = codes::UNDECLARED_SECRET;
                        diagnostic.help = Some(help);
                    }
                }
            }
            Err(message) => {
                let at = self.index.value(path);
                self.error(at, message).code = codes::INVALID_TEMPLATE;
            }
        }
        text
    }

    /// A condition (`vars.tries > 2`) at `path`, compiled and checked.
    pub(crate) fn condition(&mut self, condition: &str, path: &str) -> Text {
        match self.templates.compile_condition(condition) {
            Ok(text) => text,
            Err(message) => {
                let at = self.index.value(path);
                self.error(at, format!("this condition is not valid: {message}"))
                    .code = codes::INVALID_TEMPLATE;
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
        self.check_variable_value(name, path);
        Some(name.clone())
    }

    /// A variable name written as a value, as in `save_as` or `returns`.
    pub(crate) fn check_variable_value(&mut self, name: &str, path: &str) {
        let at = self.index.value(path);
        self.check_variable(name, at);
    }

    /// A name a `return` sets, at `path`: one the flow declares in
    /// `returns`, so that its callers know what they get back.
    pub(crate) fn check_declared_return(&mut self, name: &str, path: &str) {
        if self
            .defaults
            .returns
            .iter()
            .any(|declared| declared == name)
        {
            return;
        }
        let at = self.index.key(path);
        let known = self.defaults.returns.iter().map(String::as_str);
        let help = match closest(name, known) {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!("declare it at the top of the file: `returns: [{name}]`"),
        };
        self.error(
            at,
            format!("`return` sets `{name}`, which this flow does not declare in `returns`"),
        )
        .help = Some(help);
    }

    /// A variable name written as a key, as in `set`.
    pub(crate) fn check_variable_key(&mut self, name: &str, path: &str) {
        let at = self.index.key(path);
        self.check_variable(name, at);
    }

    fn check_variable(&mut self, name: &str, at: Position) {
        if !valid_variable(name) {
            self.error(
                at,
                format!("`{name}` cannot be a variable name: use letters, digits and `_`"),
            );
        }
    }
}
