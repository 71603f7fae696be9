//! Reading flow test files and checking them against the flows.
//!
//! A test file is checked as strictly as a flow: every mistake of every file
//! is reported at once with its file, line and column, and names that should
//! exist (a flow, a step, a dial outcome) are looked up so that a typo is a
//! "did you mean" here rather than a test that fails for the wrong reason.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use regex::{Regex, RegexBuilder};

use super::requests::RequestExpectation;
use super::spec::{
    self, CallSpec, ItemSpec, RequestsSpec, SetsSpec, StubSpec, TestFileSpec, TextSpec, Written,
};
use crate::flow::FlowSet;
use crate::flow::diagnostic::{Diagnostic, Position, Report, closest};
use crate::flow::languages::LANGUAGE_VARIABLE;
use crate::flow::position::PositionIndex;
use crate::outbound::stub::{Stub, Stubs, parse_method};
use crate::simulator::CallSetup;
use crate::simulator::{CalleeAnswer, QueueEvent};

/// The clock a call sees when neither it nor its file says `at`: a
/// Wednesday at noon in New York. Fixed, so a test never depends on the
/// time it runs at; a flow with opening hours should say `at` anyway.
pub const DEFAULT_AT: &str = "2026-01-14T12:00:00-05:00";

/// One test file, checked.
#[derive(Debug)]
pub struct TestFile {
    /// The path shown in diagnostics and failures, for an editor to open.
    pub path: PathBuf,
    /// The path below the folder under test, shown on PASS and FAIL lines.
    pub name: String,
    pub calls: Vec<TestCall>,
}

/// One call of a test file, ready to play.
#[derive(Debug)]
pub struct TestCall {
    pub name: String,
    /// Where the call's `name:` is written.
    pub position: Position,
    pub setup: CallSetup,
    pub at: Timestamp,
    pub script: Vec<Line>,
    /// What answers the call's requests: its own stubs, then its file's.
    pub stubs: Stubs,
}

/// One line of a script and where it is written.
#[derive(Debug)]
pub struct Line {
    pub position: Position,
    pub item: Item,
}

/// What one line of a script does or expects.
#[derive(Debug)]
pub enum Item {
    /// Expects something said (or played) from here on.
    Hears(Pattern),
    /// Expects a dial of this target; plays its outcome when given.
    Dials {
        target: Pattern,
        outcome: Option<String>,
    },
    /// Expects a recording, and leaves a message there.
    Records,
    /// Expects the call to pass through a step (`flow:step`, or a step name
    /// of any flow).
    Reaches {
        flow: Option<String>,
        step: String,
    },
    /// Expects variables to hold values (any value for `None`).
    Sets(Vec<(String, Option<Pattern>)>),
    /// Plays the call to its end, then checks how it ended.
    Ends(Ending),
    Press(String),
    Say(String),
    Silence,
    /// How the dial the call waits at ends.
    Outcome(String),
    HangUp,
    /// Expects a request to have been made.
    Requests(RequestExpectation),
    /// Expects a `<Connect>` to this URL, then ends its session so.
    Connects {
        url: Pattern,
        end: crate::simulator::CallerAction,
    },
    /// Expects a text message, to a number and holding words.
    Texts {
        to: Option<Pattern>,
        body: Option<Pattern>,
    },
    /// Expects the caller to enter a queue; holds, or ends the wait so.
    Queued {
        queue: Pattern,
        event: QueueEvent,
    },
    /// What happens next to a caller in a queue.
    Queue(QueueEvent),
    /// How the callee answers a whisper.
    Callee(CalleeAnswer),
    /// Expects the callee to hear this in a whisper.
    CalleeHears(Pattern),
}

impl Item {
    /// The line as the author wrote it, for the expected script in a
    /// failure report.
    pub fn describe(&self) -> String {
        match self {
            Item::Hears(pattern) => format!("hears: {pattern}"),
            Item::Dials {
                target,
                outcome: Some(outcome),
            } => format!("dials: {target}, outcome: {outcome}"),
            Item::Dials {
                target,
                outcome: None,
            } => format!("dials: {target}"),
            Item::Records => "records: true".into(),
            Item::Reaches {
                flow: Some(flow),
                step,
            } => format!("reaches: {flow}:{step}"),
            Item::Reaches { flow: None, step } => format!("reaches: {step}"),
            Item::Sets(vars) => {
                let vars: Vec<String> = vars
                    .iter()
                    .map(|(name, value)| match value {
                        Some(value) => format!("{name} = {value}"),
                        None => name.clone(),
                    })
                    .collect();
                format!("sets: {}", vars.join(", "))
            }
            Item::Ends(ending) => format!("ends: {ending}"),
            Item::Press(keys) => format!("press: {keys}"),
            Item::Say(words) => format!("say: {words}"),
            Item::Silence => "silence".into(),
            Item::Outcome(outcome) => format!("outcome: {outcome}"),
            Item::HangUp => "hangup".into(),
            Item::Requests(expected) => expected.describe(),
            Item::Connects { url, end } => format!("connects: {url}, then {end}"),
            Item::Queued {
                queue,
                event: QueueEvent::Hold,
            } => format!("queued: {queue}"),
            Item::Queued { queue, event } => {
                format!("queued: {queue}, outcome: {}", event.as_str())
            }
            Item::Queue(event) => format!("queue: {}", event.as_str()),
            Item::Callee(answer) => format!("callee: {answer}"),
            Item::CalleeHears(pattern) => format!("callee_hears: {pattern}"),
            Item::Texts { to, body } => {
                let mut line = "texts:".to_owned();
                if let Some(to) = to {
                    line.push_str(&format!(" to {to}"));
                }
                if let Some(body) = body {
                    line.push_str(&format!(" \"{body}\""));
                }
                line
            }
        }
    }
}

/// How a call is expected to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The flow hung up (a `hangup` step, or a step with nowhere to go).
    Hangup,
    /// The flow rejected the call.
    Reject,
    /// The last thing on the call was a dial that was answered: the caller
    /// talked to someone, then heard at most a goodbye.
    DialCompleted,
}

impl Ending {
    const NAMES: [&str; 3] = ["hangup", "reject", "dial completed"];

    /// Every way of writing an ending, in lower case, for editors: the
    /// names, and the others [`Ending::parse`] takes.
    pub const SPELLINGS: [&str; 9] = [
        "hangup",
        "hang up",
        "hang-up",
        "hang_up",
        "reject",
        "rejected",
        "dial completed",
        "dial-completed",
        "dial_completed",
    ];

    pub(crate) fn parse(text: &str) -> Option<Ending> {
        match text.trim().to_lowercase().replace(['-', '_'], " ").as_str() {
            "hangup" | "hang up" => Some(Ending::Hangup),
            "reject" | "rejected" => Some(Ending::Reject),
            "dial completed" => Some(Ending::DialCompleted),
            _ => None,
        }
    }
}

impl std::fmt::Display for Ending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Ending::Hangup => "hangup",
            Ending::Reject => "reject",
            Ending::DialCompleted => "dial completed",
        })
    }
}

/// What an expectation looks for in text: words (compared without regard
/// to case or runs of spaces), an exact value, or `/a regex/`.
#[derive(Debug)]
pub struct Pattern {
    written: String,
    matcher: Matcher,
}

#[derive(Debug)]
enum Matcher {
    Contains(String),
    Equals(String),
    Regex(Regex),
}

impl Pattern {
    /// Text that must appear in what is matched (`hears`), or a regex.
    pub fn contains(written: &str) -> Result<Pattern, String> {
        Pattern::build(written, || Matcher::Contains(fold(written)))
    }

    /// A value that must be matched whole (`dials`, `sets`), or a regex.
    pub fn equals(written: &str, value: String) -> Result<Pattern, String> {
        Pattern::build(written, || Matcher::Equals(value))
    }

    fn build(written: &str, plain: impl FnOnce() -> Matcher) -> Result<Pattern, String> {
        let trimmed = written.trim();
        let matcher = match trimmed
            .strip_prefix('/')
            .and_then(|rest| rest.strip_suffix('/'))
        {
            Some(source) if !source.is_empty() => RegexBuilder::new(source)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
                .map(Matcher::Regex)
                .map_err(|error| {
                    // The regex crate draws a caret over several lines; the
                    // diagnostic already points at the pattern.
                    let message = error.to_string();
                    let last = message.lines().last().unwrap_or_default();
                    format!(
                        "this is not a valid regex: {}",
                        last.trim_start_matches("error: ")
                    )
                })?,
            _ => plain(),
        };
        Ok(Pattern {
            written: trimmed.to_owned(),
            matcher,
        })
    }

    pub fn matches(&self, text: &str) -> bool {
        match &self.matcher {
            Matcher::Contains(words) => fold(text).contains(words.as_str()),
            Matcher::Equals(value) => text == value,
            Matcher::Regex(regex) => regex.is_match(text),
        }
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.written)
    }
}

/// Lowercase with single spaces, so a prompt folded over two YAML lines or
/// written with other capitals still matches.
fn fold(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Reads and checks one test file. `name` is its path below the folder
/// under test; `path` is how diagnostics name it.
pub fn check_file(
    flows: &FlowSet,
    name: String,
    path: &Path,
    text: &str,
    report: &mut Report,
) -> Option<TestFile> {
    let index = match crate::flow::shape::checked_index(path, text) {
        Ok(index) => index,
        Err(problems) => {
            for problem in problems {
                report.push(problem);
            }
            return None;
        }
    };
    let spec = match serde_yaml_ng::from_str::<TestFileSpec>(text) {
        Ok(spec) => spec,
        Err(error) => {
            report.push(crate::flow::yaml_error::yaml_error(path, &error));
            return None;
        }
    };
    let mut checker = Checker {
        flows,
        path,
        source: text,
        index: &index,
        report,
        errors: 0,
    };
    let file_flow = checker.flow(spec.flow.as_deref(), "flow");
    let file_stubs = checker.stubs(&spec.http, "http");
    if spec.calls.is_empty() {
        checker.warning(
            checker.index.key("calls"),
            "this file has no calls: add `- name: ...` under `calls:`",
        );
    }
    let mut calls = Vec::with_capacity(spec.calls.len());
    for (i, call) in spec.calls.iter().enumerate() {
        let path = format!("calls.{i}");
        if spec.calls[..i].iter().any(|c| c.name == call.name) {
            checker.warning(
                checker.index.value(&format!("{path}.name")),
                format!("another call of this file is named `{}` too: `--filter` and the results cannot tell them apart", call.name),
            );
        }
        if let Some(mut call) = checker.call(&spec, call, file_flow.as_deref(), &path) {
            let mut stubs = checker.stubs(&spec.calls[i].http, &format!("{path}.http"));
            stubs.extend(file_stubs.iter().cloned());
            call.stubs = Stubs::new(stubs);
            calls.push(call);
        }
    }
    (checker.errors == 0).then(|| TestFile {
        path: path.to_owned(),
        name,
        calls,
    })
}

struct Checker<'a> {
    flows: &'a FlowSet,
    path: &'a Path,
    source: &'a str,
    index: &'a PositionIndex,
    report: &'a mut Report,
    errors: usize,
}

impl Checker<'_> {
    fn error(&mut self, at: Position, message: impl Into<String>) -> &mut Diagnostic {
        self.errors += 1;
        self.report.push(Diagnostic::error(self.path, at, message));
        self.report.diagnostics.last_mut().expect("just pushed")
    }

    fn warning(&mut self, at: Position, message: impl Into<String>) {
        self.report
            .push(Diagnostic::warning(self.path, at, message));
    }

    /// A scalar's text as written: YAML reads `press: 0123` as the number
    /// 123, but the caller presses four keys.
    fn raw(&self, written: &Written, path: &str) -> String {
        if !written.number {
            return written.text.clone();
        }
        let at = self.index.value(path);
        self.source
            .lines()
            .nth(at.line.saturating_sub(1))
            .map(|line| {
                line.chars()
                    .skip(at.column.saturating_sub(1))
                    .collect::<String>()
            })
            .map(|rest| rest.split(" #").next().unwrap_or("").trim().to_owned())
            .filter(|raw| {
                !raw.is_empty()
                    && raw
                        .chars()
                        .all(|c| c.is_ascii_digit() || ".+-_eE".contains(c))
            })
            .unwrap_or_else(|| written.text.clone())
    }

    /// A flow name that must exist; `None` when left out or wrong.
    fn flow(&mut self, name: Option<&str>, path: &str) -> Option<String> {
        let name = name?;
        if self.flows.id_of(name).is_some() {
            return Some(name.to_owned());
        }
        let known: Vec<&str> = self.flows.flows().iter().map(|f| f.name.as_str()).collect();
        let at = self.index.value(path);
        let diagnostic = self.error(at, format!("there is no flow named `{name}`"));
        diagnostic.help = Some(match closest(name, known.iter().copied()) {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!("the flows are {}", known.join(", ")),
        });
        None
    }

    fn call(
        &mut self,
        file: &TestFileSpec,
        spec: &CallSpec,
        file_flow: Option<&str>,
        path: &str,
    ) -> Option<TestCall> {
        let errors_before = self.errors;
        if spec.name.trim().is_empty() {
            let at = self.index.value(&format!("{path}.name"));
            self.error(at, "give the call a name: it is what the results show");
        }
        let flow = match &spec.flow {
            Some(name) => self.flow(Some(name), &format!("{path}.flow")),
            None => file_flow.map(str::to_owned),
        };
        let defaults = CallSetup::default();
        let from = self.party(spec.from.as_ref(), file.from.as_ref(), path, "from");
        let to = self.party(spec.to.as_ref(), file.to.as_ref(), path, "to");
        let at = self.at(spec.at.as_ref(), file.at.as_ref(), path);
        let mut params: Vec<(String, String)> = file
            .params
            .iter()
            .filter(|(name, _)| !spec.params.contains_key(*name))
            .map(|(name, value)| (name.clone(), value.text.clone()))
            .collect();
        params.extend(
            spec.params
                .iter()
                .map(|(name, value)| (name.clone(), value.text.clone())),
        );
        // `language: es-US` starts the call in that language, as the
        // `language` parameter of a real call's first webhook does.
        if let Some(language) = spec.language.as_ref().or(file.language.as_ref()) {
            params.retain(|(name, _)| name != LANGUAGE_VARIABLE);
            params.push((LANGUAGE_VARIABLE.to_owned(), language.clone()));
        }
        if spec.steps.is_empty() {
            let at = self.index.key(path);
            self.warning(at, "this call checks nothing: add `steps:`");
        }
        let mut script = Vec::with_capacity(spec.steps.len());
        let last = spec.steps.len().saturating_sub(1);
        for (i, line) in spec.steps.iter().enumerate() {
            let line_path = format!("{path}.steps.{i}");
            // A step is where its first key is written (the word itself for
            // `- silence`); the item's own mark is past that key.
            let first_key = line.0.keys().first().copied().unwrap_or_default();
            let at = self.index.key(&format!("{line_path}.{first_key}"));
            if let Some(item) = self.item(&line.0, flow.as_deref(), &line_path) {
                if matches!(item, Item::Ends(_)) && i != last {
                    self.error(
                        at,
                        "`ends` plays the call to its end, so it must be the last step of the call",
                    );
                }
                script.push(Line { position: at, item });
            }
        }
        (self.errors == errors_before).then(|| TestCall {
            name: spec.name.clone(),
            position: self.index.value(&format!("{path}.name")),
            setup: CallSetup {
                from: from.unwrap_or(defaults.from),
                to: to.unwrap_or(defaults.to),
                flow,
                params,
            },
            at: at.unwrap_or_else(|| DEFAULT_AT.parse().expect("DEFAULT_AT is a timestamp")),
            script,
            stubs: Stubs::default(),
        })
    }

    /// `from` or `to`: the call's own, else the file's.
    fn party(
        &mut self,
        own: Option<&Written>,
        file: Option<&Written>,
        path: &str,
        key: &str,
    ) -> Option<String> {
        let (value, at_path) = match (own, file) {
            (Some(own), _) => (own, format!("{path}.{key}")),
            (None, Some(file)) => (file, key.to_owned()),
            (None, None) => return None,
        };
        if value.number {
            let at = self.index.value(&at_path);
            self.error(
                at,
                format!(
                    "YAML reads this as the number {}: put the phone number in quotes",
                    value.text
                ),
            )
            .help = Some(format!(
                "{key}: \"+{}\"",
                value.text.trim_start_matches('+')
            ));
            return None;
        }
        Some(value.text.clone())
    }

    fn at(
        &mut self,
        own: Option<&Written>,
        file: Option<&Written>,
        path: &str,
    ) -> Option<Timestamp> {
        let (value, at_path) = match (own, file) {
            (Some(own), _) => (own, format!("{path}.at")),
            (None, Some(file)) => (file, "at".to_owned()),
            (None, None) => return None,
        };
        match value.text.trim().parse::<Timestamp>() {
            Ok(at) => Some(at),
            Err(_) => {
                let at = self.index.value(&at_path);
                self.error(at, format!("`{}` is not a moment in time", value.text))
                    .help = Some("write a date, a time and its offset from UTC, such as 2026-11-24T10:30:00-05:00".into());
                None
            }
        }
    }

    fn item(&mut self, spec: &ItemSpec, flow: Option<&str>, path: &str) -> Option<Item> {
        let keys = spec.keys();
        let key = match keys.as_slice() {
            [] => {
                let at = self.index.key(path);
                self.error(at, "this step is empty").help =
                    Some(format!("write one of {}", spec::ITEM_KEYS.join(", ")));
                return None;
            }
            ["dials", "outcome"] | ["connects", "handoff" | "fails"] | [_] => keys[0],
            ["outcome", "queued"] => "queued",
            [first, second, ..] => {
                let at = self.index.key(&format!("{path}.{second}"));
                self.error(at, format!("this step has both `{first}` and `{second}`"))
                    .help = Some("each step of a call does one thing: write them as two steps (only `dials` may carry the dial's `outcome`)".into());
                return None;
            }
        };
        let value_at = self.index.value(&format!("{path}.{key}"));
        let item = match key {
            "hears" => {
                let text = spec.hears.as_ref()?.as_str();
                if text.trim().is_empty() {
                    self.error(value_at, "`hears` needs the words to listen for");
                    return None;
                }
                Item::Hears(self.pattern(Pattern::contains(text), value_at)?)
            }
            "press" => {
                let keys = self.raw(spec.press.as_ref()?, &format!("{path}.press"));
                let keys = keys.trim().to_owned();
                if keys.is_empty()
                    || !keys
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
                {
                    self.error(
                        value_at,
                        format!("a caller can only press 0-9, * and #, not `{keys}`"),
                    )
                    .help = Some("put keys with # or * in quotes: press: \"1234#\"".into());
                    return None;
                }
                Item::Press(keys)
            }
            "say" => Item::Say(spec.say.as_ref()?.text.clone()),
            "silence" => self.flag(spec.silence?, value_at, "silence", Item::Silence)?,
            "hangup" => self.flag(spec.hangup?, value_at, "hangup", Item::HangUp)?,
            "records" => self.flag(spec.records?, value_at, "records", Item::Records)?,
            "dials" => {
                let written = spec.dials.as_ref()?;
                if written.number {
                    self.error(
                        value_at,
                        format!(
                            "YAML reads this as the number {}: put the phone number in quotes",
                            written.text
                        ),
                    )
                    .help = Some(format!("dials: \"+{}\"", written.text));
                    return None;
                }
                let target = crate::dial_target::parse(written.as_str(), None)
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_else(|_| written.text.trim().to_owned());
                let target = self.pattern(Pattern::equals(written.as_str(), target), value_at);
                let outcome = match &spec.outcome {
                    Some(outcome) => {
                        let at = self.index.value(&format!("{path}.outcome"));
                        Some(self.outcome(outcome, at)?)
                    }
                    None => None,
                };
                Item::Dials {
                    target: target?,
                    outcome,
                }
            }
            "outcome" => Item::Outcome(self.outcome(spec.outcome.as_ref()?, value_at)?),
            "reaches" => self.reaches(spec.reaches.as_ref()?.as_str(), flow, value_at)?,
            "sets" => self.sets(spec.sets.as_ref()?, path)?,
            "requests" => self.requests(spec.requests.as_ref()?, value_at)?,
            "texts" => self.texts(&spec.texts.as_ref()?.0, value_at)?,
            "connects" => {
                let url = spec.connects.as_ref()?.text.trim().to_owned();
                let url = self.pattern(Pattern::equals(&url, url.clone()), value_at)?;
                let end = match (&spec.handoff, spec.fails) {
                    (_, Some(true)) => crate::simulator::CallerAction::AgentFails,
                    (Some(handoff), _) => {
                        crate::simulator::CallerAction::AgentEnds(Some(handoff.to_string()))
                    }
                    (None, _) => crate::simulator::CallerAction::AgentEnds(None),
                };
                Item::Connects { url, end }
            }
            "queued" => {
                let queue = spec.queued.as_ref()?.text.trim().to_owned();
                let queue = self.pattern(Pattern::equals(&queue, queue.clone()), value_at);
                let event = match &spec.outcome {
                    Some(outcome) => {
                        let at = self.index.value(&format!("{path}.outcome"));
                        match QueueEvent::parse(outcome.as_str()) {
                            Some(event) if event != QueueEvent::Hold => event,
                            _ => {
                                self.error(at, format!("a wait in a queue cannot end `{}`", outcome.as_str()))
                                    .help = Some("it ends bridged, full, hangup or error; a `leave` step ends it from the flow".into());
                                return None;
                            }
                        }
                    }
                    None => QueueEvent::Hold,
                };
                Item::Queued {
                    queue: queue?,
                    event,
                }
            }
            "queue" => {
                let text = spec.queue.as_ref()?.as_str();
                match QueueEvent::parse(text) {
                    Some(event) => Item::Queue(event),
                    None => {
                        self.error(value_at, format!("`{text}` is not something that happens to a caller in a queue"))
                            .help = Some("write hold, bridged, full, hangup or error; a `leave` step ends the wait from the flow".into());
                        return None;
                    }
                }
            }
            "callee" => {
                let text = spec.callee.as_ref()?.as_str();
                match CalleeAnswer::parse(text) {
                    Some(answer) => Item::Callee(answer),
                    None => {
                        self.error(
                            value_at,
                            format!("a callee cannot answer a whisper `{text}`"),
                        )
                        .help =
                            Some("write accepts (presses 1), declines (hangs up), silent, or a key the callee presses (\"2\")".into());
                        return None;
                    }
                }
            }
            "callee_hears" => {
                let text = spec.callee_hears.as_ref()?.as_str();
                Item::CalleeHears(self.pattern(Pattern::contains(text), value_at)?)
            }
            "handoff" | "fails" => {
                self.error(
                    value_at,
                    format!("`{key}` goes with `connects`, in the same step"),
                );
                return None;
            }
            "ends" => {
                let text = spec.ends.as_ref()?.as_str();
                match Ending::parse(text) {
                    Some(ending) => Item::Ends(ending),
                    None => {
                        let diagnostic =
                            self.error(value_at, format!("a call cannot end with `{text}`"));
                        diagnostic.help = Some(match closest(text, Ending::NAMES) {
                            Some(near) => format!("did you mean `{near}`?"),
                            None => format!("a call ends with {}", Ending::NAMES.join(", ")),
                        });
                        return None;
                    }
                }
            }
            other => unreachable!("ItemSpec::keys returned `{other}`"),
        };
        Some(item)
    }

    /// The stubs of an `http:` list, each checked.
    fn stubs(&mut self, specs: &[StubSpec], path: &str) -> Vec<Stub> {
        let mut stubs = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            match Stub::parse(spec) {
                Ok(stub) => stubs.push(stub),
                Err(message) => {
                    let at = self.index.value(&format!("{path}.{i}.match"));
                    self.error(at, message);
                }
            }
        }
        stubs
    }

    /// `texts:`: the number texted, and words of the message.
    fn texts(&mut self, spec: &TextSpec, at: Position) -> Option<Item> {
        if spec.to.is_none() && spec.body.is_none() {
            self.error(
                at,
                "`texts` needs the words of the message, or `to` and `body`",
            );
            return None;
        }
        let to = match &spec.to {
            Some(written) if written.number => {
                self.error(
                    at,
                    format!(
                        "YAML reads this as the number {}: put the phone number in quotes",
                        written.text
                    ),
                );
                return None;
            }
            Some(written) => Some(self.pattern(
                Pattern::equals(written.as_str(), written.text.trim().to_owned()),
                at,
            )?),
            None => None,
        };
        let body = match &spec.body {
            Some(words) => Some(self.pattern(Pattern::contains(words), at)?),
            None => None,
        };
        Some(Item::Texts { to, body })
    }

    /// `requests:`: a method and URL, and maybe part of the body.
    fn requests(&mut self, spec: &RequestsSpec, at: Position) -> Option<Item> {
        let (method, url, json, form) = match spec {
            RequestsSpec::Line(line) => match line.trim().split_once(' ') {
                Some((method, url)) => (Some(method.to_owned()), url.trim().to_owned(), None, None),
                None => (None, line.trim().to_owned(), None, None),
            },
            RequestsSpec::Full(full) => (
                full.method.clone(),
                full.url.trim().to_owned(),
                full.json.clone(),
                full.form.as_ref().map(|form| {
                    form.iter()
                        .map(|(name, value)| (name.clone(), value.text.clone()))
                        .collect()
                }),
            ),
        };
        let method = match method.as_deref().map(parse_method) {
            None => axum::http::Method::GET,
            Some(Ok(method)) => method,
            Some(Err(message)) => {
                self.error(at, message);
                return None;
            }
        };
        if !url.starts_with("http://") && !url.starts_with("https://") && !url.starts_with('*') {
            self.error(
                at,
                format!("`{url}` is not a URL: write it in full, `*` matching anything"),
            );
            return None;
        }
        if json.is_some() && form.is_some() {
            self.error(at, "a request has a `json` or a `form` body, not both");
            return None;
        }
        Some(Item::Requests(RequestExpectation {
            method,
            url,
            json,
            form,
        }))
    }

    fn pattern(&mut self, built: Result<Pattern, String>, at: Position) -> Option<Pattern> {
        built.map_err(|message| self.error(at, message)).ok()
    }

    fn flag(&mut self, value: bool, at: Position, key: &str, item: Item) -> Option<Item> {
        if value {
            return Some(item);
        }
        self.error(
            at,
            format!("`{key}: false` has no meaning: remove the step, or write `{key}`"),
        );
        None
    }

    /// A dial outcome as Twilio reports it.
    fn outcome(&mut self, written: &Written, at: Position) -> Option<String> {
        const OUTCOMES: [&str; 6] = [
            "completed",
            "answered",
            "busy",
            "no-answer",
            "failed",
            "canceled",
        ];
        let text = written.text.trim();
        if OUTCOMES.contains(&text) {
            return Some(text.to_owned());
        }
        let diagnostic = self.error(at, format!("a dial cannot end with `{text}`"));
        diagnostic.help = Some(match closest(text, OUTCOMES) {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!("a dial ends with {}", OUTCOMES.join(", ")),
        });
        None
    }

    /// `step` (of any flow) or `flow:step`, which must exist.
    fn reaches(&mut self, written: &str, call_flow: Option<&str>, at: Position) -> Option<Item> {
        let written = written.trim();
        let (flow, step) = match written.rsplit_once(':') {
            Some((flow, step)) => (Some(flow), step),
            None => (None, written),
        };
        let candidates: Vec<&crate::flow::Flow> = match flow {
            Some(name) => match self.flows.by_name(name) {
                Some(found) => vec![found],
                None => {
                    let known: Vec<&str> =
                        self.flows.flows().iter().map(|f| f.name.as_str()).collect();
                    let diagnostic = self.error(at, format!("there is no flow named `{name}`"));
                    if let Some(near) = closest(name, known) {
                        diagnostic.help = Some(format!("did you mean `{near}`?"));
                    }
                    return None;
                }
            },
            None => self.flows.flows().iter().map(AsRef::as_ref).collect(),
        };
        if candidates.iter().any(|f| f.step_id(step).is_some()) {
            return Some(Item::Reaches {
                flow: flow.map(str::to_owned),
                step: step.to_owned(),
            });
        }
        // Suggest from the flow the call is in when there is one.
        let near_flow = flow.or(call_flow).and_then(|name| self.flows.by_name(name));
        let known: Vec<&str> = match near_flow {
            Some(found) => found.steps.iter().map(|s| s.name.as_str()).collect(),
            None => candidates
                .iter()
                .flat_map(|f| f.steps.iter().map(|s| s.name.as_str()))
                .collect(),
        };
        let message = match flow {
            Some(name) => format!("flow `{name}` has no step named `{step}`"),
            None => format!("no flow has a step named `{step}`"),
        };
        let diagnostic = self.error(at, message);
        if let Some(near) = closest(step, known) {
            diagnostic.help = Some(format!("did you mean `{near}`?"));
        }
        None
    }

    fn sets(&mut self, spec: &SetsSpec, path: &str) -> Option<Item> {
        match spec {
            SetsSpec::Name(name) => {
                let name = name.trim();
                if name.is_empty() {
                    let at = self.index.value(&format!("{path}.sets"));
                    self.error(
                        at,
                        "`sets` needs a variable name, or a map of names and values",
                    );
                    return None;
                }
                Some(Item::Sets(vec![(name.to_owned(), None)]))
            }
            SetsSpec::Values(values) => {
                if values.is_empty() {
                    let at = self.index.value(&format!("{path}.sets"));
                    self.error(at, "`sets` needs at least one variable");
                    return None;
                }
                let mut vars = Vec::with_capacity(values.len());
                for (name, value) in values {
                    let value_path = format!("{path}.sets.{name}");
                    let at = self.index.value(&value_path);
                    let text = self.raw(value, &value_path);
                    let pattern = self.pattern(Pattern::equals(&text, text.clone()), at)?;
                    vars.push((name.clone(), Some(pattern)));
                }
                Some(Item::Sets(vars))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_written_twice_in_a_test_file_names_both_lines() {
        let flows = crate::flow::load(Path::new("flows")).unwrap().flows;
        let text = "calls:\n  - name: a\n    name: b\n    script: [hangup]\n";
        let mut report = Report::default();
        let file = check_file(
            &flows,
            "main.test.yaml".into(),
            Path::new("main.test.yaml"),
            text,
            &mut report,
        );
        assert!(file.is_none());
        assert_eq!(
            report.to_string().lines().next(),
            Some(
                "main.test.yaml:3:5: error: duplicate key `name` in `calls.0`; first defined at line 2"
            )
        );
    }

    #[test]
    fn hears_ignores_case_and_runs_of_spaces() {
        let pattern = Pattern::contains("leave  a\nMessage").unwrap();
        assert!(pattern.matches("Please leave a message after the tone."));
        assert!(!pattern.matches("Please leave no message."));
    }

    #[test]
    fn slashes_make_a_regex_in_any_case() {
        let pattern = Pattern::contains("/closed (now|today)/").unwrap();
        assert!(pattern.matches("We are CLOSED now."));
        assert!(!pattern.matches("We are closed."));
        assert!(Pattern::contains("/([a/").is_err());
        // A lone slash is text, not an empty regex.
        assert!(Pattern::contains("/").unwrap().matches("either/or"));
    }

    #[test]
    fn equals_matches_the_whole_value() {
        let pattern = Pattern::equals("123456", "123456".into()).unwrap();
        assert!(pattern.matches("123456"));
        assert!(!pattern.matches("1234567"));
    }

    #[test]
    fn endings_are_read_loosely() {
        assert_eq!(Ending::parse("dial-completed"), Some(Ending::DialCompleted));
        assert_eq!(Ending::parse("Rejected"), Some(Ending::Reject));
        assert_eq!(Ending::parse("hang up"), Some(Ending::Hangup));
        assert_eq!(Ending::parse("busy"), None);
    }
}
