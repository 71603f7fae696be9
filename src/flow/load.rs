//! Reading a folder of flow files into a checked [`FlowSet`].
//!
//! Loading never stops at the first mistake: every file is read, every step
//! compiled, and every problem reported with its file, line and column, so
//! an author fixes a whole edit in one go. A set with any error is refused
//! as a whole; the server then refuses to start (or, on a hot reload, keeps
//! serving the last good set).

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::tz::TimeZone;

use super::diagnostic::{Diagnostic, Position, Report, closest};
use super::hours::Schedule;
use super::position::PositionIndex;
use super::spec::{
    self, FlowSpec, GatherSpec, InputMode, PlaySpec, SaySpec, Scalar, Shorthand, StepSpec,
};
use super::template::{Templates, Text};
use super::*;
use crate::dial_target::{self, AllowList, TargetKind};

/// One flow file's name and text.
#[derive(Debug, Clone)]
pub struct Source {
    /// The flow's name: its path in the folder without `.yaml`.
    pub name: String,
    /// The path shown in diagnostics.
    pub file: PathBuf,
    pub text: String,
}

/// A flow set that loaded, with the warnings found on the way.
#[derive(Debug)]
pub struct Loaded {
    pub flows: FlowSet,
    pub warnings: Report,
}

/// Loads every flow in `dir` (subfolders too). Files ending in `.test.yaml`
/// are flow tests, not flows; hidden files and folders (editor swap files,
/// a Kubernetes ConfigMap's `..data`) are skipped.
pub fn load(dir: &Path) -> Result<Loaded, Report> {
    load_sources(read_sources(dir)?)
}

/// Reads the flow files of `dir` without checking them, as [`load()`] does:
/// hot reload reads first so that it can tell which files changed.
pub fn read_sources(dir: &Path) -> Result<Vec<Source>, Report> {
    let mut report = Report::default();
    let mut sources = Vec::new();
    if let Err(error) = collect_sources(dir, dir, &mut sources) {
        report.push(Diagnostic::error(
            dir,
            Position::START,
            format!("cannot read the flows folder: {error}"),
        ));
        return Err(report);
    }
    if sources.is_empty() {
        report.push(
            Diagnostic::error(
                dir,
                Position::START,
                "there are no flow files in this folder",
            )
            .with_help("a flow is a file such as main.yaml; see the README for the language"),
        );
        return Err(report);
    }
    Ok(sources)
}

fn collect_sources(root: &Path, dir: &Path, out: &mut Vec<Source>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        if file_name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        // Follows symlinks, as ConfigMaps and many deploy tools use them.
        let metadata = std::fs::metadata(&path)?;
        if metadata.is_dir() {
            collect_sources(root, &path, out)?;
            continue;
        }
        let Some(stem) = file_name
            .strip_suffix(".yaml")
            .or_else(|| file_name.strip_suffix(".yml"))
        else {
            continue;
        };
        if stem.ends_with(".test") {
            continue;
        }
        let relative = path.strip_prefix(root).unwrap_or(&path);
        let mut name = relative
            .parent()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        if !name.is_empty() {
            name.push('/');
        }
        name.push_str(stem);
        out.push(Source {
            name,
            file: display_path(&path),
            text: std::fs::read_to_string(&path)?,
        });
    }
    Ok(())
}

/// `./flows/main.yaml` reads better as `flows/main.yaml`.
fn display_path(path: &Path) -> PathBuf {
    path.strip_prefix(".").unwrap_or(path).to_owned()
}

/// A file that parsed, waiting to be compiled.
struct Parsed {
    source: Source,
    spec: Arc<FlowSpec>,
    index: Arc<PositionIndex>,
}

/// Files parsed by earlier loads, by flow name. Parsing is most of the cost
/// of a load, and an edit touches few files, so a hot reload hands the
/// same cache to every load and only edited files are parsed again; every
/// flow is still compiled and checked against the others.
#[derive(Default)]
pub struct ParseCache {
    files: HashMap<String, CachedParse>,
}

struct CachedParse {
    text: String,
    spec: Arc<FlowSpec>,
    index: Arc<PositionIndex>,
}

impl ParseCache {
    /// The file parsed, from the cache when its text is unchanged.
    fn parse(
        &mut self,
        source: &Source,
    ) -> Result<(Arc<FlowSpec>, Arc<PositionIndex>), serde_yaml_ng::Error> {
        if let Some(cached) = self.files.get(&source.name)
            && cached.text == source.text
        {
            return Ok((cached.spec.clone(), cached.index.clone()));
        }
        let spec = Arc::new(serde_yaml_ng::from_str::<FlowSpec>(&source.text)?);
        let index = Arc::new(PositionIndex::build(&source.text));
        self.files.insert(
            source.name.clone(),
            CachedParse {
                text: source.text.clone(),
                spec: spec.clone(),
                index: index.clone(),
            },
        );
        Ok((spec, index))
    }
}

/// Loads flows from memory: the folder loader, hot reload and tests all end
/// up here.
pub fn load_sources(sources: Vec<Source>) -> Result<Loaded, Report> {
    load_sources_with(sources, &mut ParseCache::default())
}

/// [`load_sources`], parsing only the files `cache` has not seen as they
/// are now. The cache then holds this load's files.
pub fn load_sources_with(sources: Vec<Source>, cache: &mut ParseCache) -> Result<Loaded, Report> {
    let mut report = Report::default();
    let version = version_of(&sources);
    {
        let names: HashSet<&str> = sources.iter().map(|s| s.name.as_str()).collect();
        cache.files.retain(|name, _| names.contains(name.as_str()));
    }

    let mut parsed = Vec::new();
    for source in sources {
        if !valid_name(&source.name, true) {
            report.push(Diagnostic::error(
                &source.file,
                Position::START,
                format!(
                    "`{}` cannot be a flow name: name flow files with letters, digits, `_` and `-` only",
                    source.name
                ),
            ));
            continue;
        }
        match cache.parse(&source) {
            Ok((spec, index)) => {
                parsed.push(Parsed {
                    source,
                    spec,
                    index,
                });
            }
            Err(error) => {
                for diagnostic in structural_errors(&source, &error) {
                    report.push(diagnostic);
                }
            }
        }
    }

    // Names first, so that any flow can refer to any other.
    let mut names = Names::default();
    for (id, flow) in parsed.iter().enumerate() {
        names.flows.insert(flow.source.name.clone(), id);
        names.steps.push(
            flow.spec
                .steps
                .keys()
                .cloned()
                .enumerate()
                .map(|(i, n)| (n, i))
                .collect(),
        );
        names.starts.push(0);
    }
    for (id, flow) in parsed.iter().enumerate() {
        names.starts[id] = start_of(flow, &names.steps[id], &mut report);
    }

    let mut templates = Templates::new();
    let mut flows = Vec::with_capacity(parsed.len());
    for (id, flow) in parsed.iter().enumerate() {
        let mut compiler = Compiler {
            report: &mut report,
            templates: &mut templates,
            names: &names,
            flow: (id, flow.source.name.clone()),
            file: &flow.source.file,
            index: &flow.index,
            spec: &flow.spec,
        };
        flows.push(compiler.flow(names.starts[id]));
    }

    let by_number = claim_numbers(&flows, &parsed, &mut report);
    if !report.has_errors() {
        let indexes: Vec<&PositionIndex> = parsed.iter().map(|p| p.index.as_ref()).collect();
        super::check::check_steps(&flows, &indexes, &mut report);
    }
    report.sort();
    if report.has_errors() {
        return Err(report);
    }
    let by_name = names.flows;
    Ok(Loaded {
        flows: FlowSet {
            flows,
            by_name,
            by_number,
            templates,
            version,
        },
        warnings: report,
    })
}

/// A short content hash of every file: equal sets have equal versions.
fn version_of(sources: &[Source]) -> String {
    let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut sorted: Vec<&Source> = sources.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for source in sorted {
        context.update(source.name.as_bytes());
        context.update(&[0]);
        context.update(source.text.as_bytes());
        context.update(&[0]);
    }
    let digest = context.finish();
    digest.as_ref()[..6]
        .iter()
        .fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

#[derive(Default)]
struct Names {
    flows: HashMap<String, FlowId>,
    steps: Vec<HashMap<String, StepId>>,
    starts: Vec<StepId>,
}

fn start_of(flow: &Parsed, steps: &HashMap<String, StepId>, report: &mut Report) -> StepId {
    let file = &flow.source.file;
    if flow.spec.steps.is_empty() {
        report.push(Diagnostic::error(
            file,
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
                file,
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

/// The flow's top level with each step kept as raw YAML, to tell a mistake
/// in the top level from mistakes in steps.
#[derive(serde::Deserialize)]
struct ShallowFlow {
    #[serde(default)]
    steps: indexmap::IndexMap<String, serde_yaml_ng::Value>,
    #[serde(flatten)]
    _rest: HashMap<String, serde_yaml_ng::Value>,
}

/// Every structural mistake of a file that serde refused. serde stops at
/// the first error, so each step is parsed again on its own, from its own
/// lines of the file (columns untouched, lines offset), and reports its own
/// mistake at its real position.
fn structural_errors(source: &Source, first: &serde_yaml_ng::Error) -> Vec<Diagnostic> {
    let whole = yaml_error(&source.file, first);
    let Ok(shallow) = serde_yaml_ng::from_str::<ShallowFlow>(&source.text) else {
        return vec![whole];
    };
    let index = PositionIndex::build(&source.text);
    let lines: Vec<&str> = source.text.lines().collect();
    let names: Vec<&String> = shallow.steps.keys().collect();
    let mut found = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let key = index.key(&format!("steps.{name}"));
        let value = index.value(&format!("steps.{name}"));
        let end_line = names
            .get(i + 1)
            .map(|next| index.key(&format!("steps.{next}")).line - 1)
            .unwrap_or(lines.len());
        let Some(slice) = step_text(&lines, key, value, end_line) else {
            continue;
        };
        if let Err(error) = serde_yaml_ng::from_str::<StepSpec>(&slice) {
            let mut diagnostic = yaml_error(&source.file, &error);
            diagnostic.position.line += value.line - 1;
            let path = format!("steps.{name}");
            diagnostic.message = diagnostic
                .message
                .replace(" in `", &format!(" in `{path}."))
                .replace(&format!("`{path}.`"), &format!("`{path}`"));
            if !diagnostic.message.contains(" in `") {
                diagnostic.message.push_str(&format!(" in `{path}`"));
            }
            found.push(diagnostic);
        }
    }
    if found.is_empty() {
        found.push(whole);
    }
    found
}

/// The text of one step's value, with the lines before it blanked so line
/// and column numbers stay those of the file.
fn step_text(lines: &[&str], key: Position, value: Position, end_line: usize) -> Option<String> {
    if value.line == 0 || end_line < value.line || end_line > lines.len() {
        return None;
    }
    let mut text = String::new();
    for (offset, line) in lines[value.line - 1..end_line].iter().enumerate() {
        if offset == 0 && value.line == key.line {
            // `menu: { ... }`: keep only the value, in its column.
            let start = line
                .char_indices()
                .nth(value.column - 1)
                .map_or(line.len(), |(at, _)| at);
            text.push_str(&" ".repeat(value.column - 1));
            text.push_str(&line[start..]);
        } else {
            text.push_str(line);
        }
        text.push('\n');
    }
    Some(text)
}

/// Turns serde's message into one for a flow author, at serde's position.
pub(crate) fn yaml_error(file: &Path, error: &serde_yaml_ng::Error) -> Diagnostic {
    let position = error
        .location()
        .map(|l| Position {
            line: l.line(),
            column: l.column(),
        })
        .unwrap_or(Position::START);
    let message = plain_types(&without_positions(&error.to_string()));
    // serde_yaml names where it was as `steps.menu.menu: ...`.
    let (path, detail) = match message.split_once(": ") {
        Some((path, detail)) if !path.contains(' ') => (Some(path.to_owned()), detail.to_owned()),
        _ => (None, message.clone()),
    };
    let within = path
        .as_deref()
        .map(|p| format!(" in `{p}`"))
        .unwrap_or_default();

    if let Some((field, expected)) = parse_unknown_field(&detail) {
        let is_step = path
            .as_deref()
            .is_some_and(|p| p.starts_with("steps.") && p.matches('.').count() == 1);
        let diagnostic =
            Diagnostic::error(file, position, format!("unknown key `{field}`{within}"));
        if field.contains(' ') {
            return diagnostic.with_help(
                "inside `{ ... }` a comma separates settings: put text that contains a comma in quotes",
            );
        }
        if let Some(near) = closest(&field, expected.iter().map(String::as_str)) {
            return diagnostic.with_help(format!("did you mean `{near}`?"));
        }
        let help = if is_step {
            format!(
                "a step has one action ({}) and may have `next`",
                spec::ACTIONS.join(", ")
            )
        } else {
            format!("the keys allowed here are {}", expected.join(", "))
        };
        return diagnostic.with_help(help);
    }
    if let Some(rest) = detail.strip_prefix("unknown variant ") {
        return Diagnostic::error(file, position, format!("unknown value {rest}{within}"));
    }
    if let Some(field) = detail
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
    {
        return Diagnostic::error(file, position, format!("`{field}` is missing{within}"));
    }
    Diagnostic::error(file, position, format!("{detail}{within}"))
}

/// Drops serde's " at line 5 column 1": the diagnostic has the position.
fn without_positions(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(" at line ") {
        out.push_str(&rest[..at]);
        let after = &rest[at + " at line ".len()..];
        let skip = after
            .find(|c: char| !(c.is_ascii_digit() || c == ' ' || "column".contains(c)))
            .unwrap_or(after.len());
        rest = &after[skip..];
    }
    out.push_str(rest);
    out
}

/// Rust's type names as a flow author would say them.
fn plain_types(message: &str) -> String {
    [
        ("expected u32", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected a sequence", "expected a list"),
        ("expected a boolean", "expected true or false"),
        ("expected a string", "expected text"),
    ]
    .iter()
    .fold(message.to_owned(), |m, (from, to)| m.replace(from, to))
}

/// Reads serde's "unknown field `x`, expected one of `a`, `b`".
fn parse_unknown_field(detail: &str) -> Option<(String, Vec<String>)> {
    let rest = detail.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    Some((field.to_owned(), expected))
}

fn valid_name(name: &str, allow_slash: bool) -> bool {
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

/// Numbers that route calls: each may belong to one flow only.
fn claim_numbers(
    flows: &[Flow],
    parsed: &[Parsed],
    report: &mut Report,
) -> HashMap<String, FlowId> {
    let mut by_number: HashMap<String, FlowId> = HashMap::new();
    for (id, flow) in flows.iter().enumerate() {
        for (i, number) in flow.numbers.iter().enumerate() {
            if let Some(&owner) = by_number.get(number) {
                report.push(
                    Diagnostic::error(
                        &flow.file,
                        parsed[id].index.value(&format!("numbers.{i}")),
                        format!(
                            "{number} is already answered by flow `{}`",
                            flows[owner].name
                        ),
                    )
                    .with_help("a number can route to one flow only: remove it from one of them"),
                );
            } else {
                by_number.insert(number.clone(), id);
            }
        }
    }
    by_number
}

/// Compiles one flow, reporting every problem it finds.
struct Compiler<'a> {
    report: &'a mut Report,
    templates: &'a mut Templates,
    names: &'a Names,
    flow: (FlowId, String),
    file: &'a Path,
    index: &'a PositionIndex,
    spec: &'a FlowSpec,
}

impl Compiler<'_> {
    fn error(&mut self, at: Position, message: impl Into<String>) -> &mut Diagnostic {
        self.report.push(Diagnostic::error(self.file, at, message));
        self.report.diagnostics.last_mut().expect("just pushed")
    }

    fn warning(&mut self, at: Position, message: impl Into<String>) {
        self.report
            .push(Diagnostic::warning(self.file, at, message));
    }

    fn flow(&mut self, start: StepId) -> Flow {
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
            name: self.flow.1.clone(),
            description: spec.description.clone(),
            file: self.file.to_owned(),
            steps,
            step_ids: self.names.steps[self.flow.0].clone(),
            start,
            fallback,
            timezone: timezone.unwrap_or(TimeZone::UTC),
            numbers,
        }
    }

    fn timezone(&mut self, name: Option<&str>, path: &str) -> Option<TimeZone> {
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

    fn step_target(&mut self, name: &str, path: &str) -> Target {
        if name == "hangup" {
            return Target::Hangup;
        }
        match self.names.steps[self.flow.0].get(name) {
            Some(&id) => Target::Step(id),
            None => {
                let at = self.index.value(path);
                let known = self.names.steps[self.flow.0].keys().map(String::as_str);
                let diagnostic = unknown_step(self.file, at, name, known);
                self.report.push(diagnostic);
                Target::Hangup
            }
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
                    Some(format!("give it one action: {}", spec::ACTIONS.join(", ")));
                Action::Hangup
            }
            [_] => self.action(name, spec, &path),
            [first, second, ..] => {
                let at = self.index.key(&format!("{path}.{second}"));
                self.error(
                    at,
                    format!("step `{name}` has both `{first}` and `{second}`"),
                )
                .help =
                    Some("a step does one thing: split it into two steps joined by `next`".into());
                Action::Hangup
            }
        };
        let next = spec
            .next
            .as_ref()
            .map(|target| self.step_target(target, &format!("{path}.next")));
        if next.is_some()
            && matches!(
                action,
                Action::Goto(_) | Action::Hangup | Action::Reject(_) | Action::Hours { .. }
            )
        {
            let at = self.index.key(&format!("{path}.next"));
            self.warning(
                at,
                format!("`next` is never used after `{}`", action.kind()),
            );
        }
        self.check_modifiers(spec, &action, &path);
        Step::new(name.to_owned(), action, next)
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

    fn action(&mut self, name: &str, spec: &StepSpec, path: &str) -> Action {
        if let Some(Shorthand(say)) = &spec.say {
            return Action::Say(self.speech(say, &format!("{path}.say")));
        }
        if let Some(Shorthand(play)) = &spec.play {
            return Action::Play(self.play(play, &format!("{path}.play")));
        }
        if let Some(seconds) = spec.pause {
            return Action::Pause(seconds);
        }
        if let Some(gather) = &spec.gather {
            return Action::Gather(self.gather(gather, &format!("{path}.gather")));
        }
        if let Some(menu) = &spec.menu {
            return Action::Menu(self.menu(menu, &format!("{path}.menu")));
        }
        if let Some(arms) = &spec.branch {
            return Action::Branch(self.branch(
                arms,
                spec.next.is_some(),
                &format!("{path}.branch"),
            ));
        }
        if let Some(hours) = &spec.hours {
            return self.hours(hours, spec, path);
        }
        if let Some(assignments) = &spec.set {
            let assignments = assignments
                .iter()
                .map(|(var, value)| {
                    let field = format!("{path}.set.{var}");
                    if !valid_variable(var) {
                        let at = self.index.key(&field);
                        self.error(
                            at,
                            format!(
                                "`{var}` cannot be a variable name: use letters, digits and `_`"
                            ),
                        );
                    }
                    (var.clone(), self.text(value.as_str(), &field))
                })
                .collect();
            return Action::Set(assignments);
        }
        if let Some(dial) = &spec.dial {
            return Action::Dial(self.dial(dial, spec, path));
        }
        if let Some(record) = &spec.record {
            return Action::Record(self.record(record, &format!("{path}.record")));
        }
        if let Some(Shorthand(goto)) = &spec.goto {
            return Action::Goto(self.flow_target(goto, &format!("{path}.goto")));
        }
        if let Some(reason) = spec.reject {
            return Action::Reject(reason);
        }
        debug_assert!(spec.hangup.is_some(), "step {name} has an action");
        Action::Hangup
    }

    fn text(&mut self, source: &str, path: &str) -> Text {
        let name = format!("{}:{path}", self.flow.1);
        match self.templates.compile(name, source) {
            Ok(text) => text,
            Err(message) => {
                let at = self.index.value(path);
                self.error(at, message);
                Text::Plain(String::new())
            }
        }
    }

    fn speech(&mut self, say: &SaySpec, path: &str) -> Speech {
        // The short form `say: Hello` has its text at the key's value.
        let text_path = if self.index.value(path) == self.index.value(&format!("{path}.text")) {
            path.to_owned()
        } else {
            format!("{path}.text")
        };
        if say.text.as_str().trim().is_empty() {
            let at = self.index.value(path);
            self.warning(at, "this says nothing: the text is empty");
        }
        Speech::new(
            self.text(say.text.as_str(), &text_path),
            say.voice.clone().or_else(|| self.spec.voice.clone()),
            say.language.clone().or_else(|| self.spec.language.clone()),
            say.loop_count,
        )
    }

    fn optional_speech(&mut self, say: &Option<Shorthand<SaySpec>>, path: &str) -> Option<Speech> {
        say.as_ref().map(|Shorthand(say)| self.speech(say, path))
    }

    fn play(&mut self, play: &PlaySpec, path: &str) -> Play {
        if play.url.is_none() && play.digits.is_none() {
            let at = self.index.key(path);
            self.error(
                at,
                "`play` needs a `url` of an audio file, or `digits` to press",
            );
        }
        if let Some(digits) = play.digits.as_ref().filter(|digits| {
            !digits
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'w' | 'W'))
        }) {
            let at = self.index.value(&format!("{path}.digits"));
            self.error(
                at,
                format!("`{digits}` are not keys: use 0-9, *, # and w (a half-second wait)"),
            );
        }
        let url_path = if play.digits.is_none() && play.loop_count.is_none() {
            path.to_owned()
        } else {
            format!("{path}.url")
        };
        Play {
            url: play
                .url
                .as_ref()
                .map(|url| self.text(url.as_str(), &url_path)),
            loop_count: play.loop_count,
            digits: play.digits.clone(),
        }
    }

    fn prompts(
        &mut self,
        say: &Option<Shorthand<SaySpec>>,
        play: &Option<Shorthand<PlaySpec>>,
        path: &str,
    ) -> Vec<Prompt> {
        let mut prompts = Vec::new();
        if let Some(speech) = self.optional_speech(say, &format!("{path}.say")) {
            prompts.push(Prompt::Say(speech));
        }
        if let Some(Shorthand(play)) = play {
            prompts.push(Prompt::Play(self.play(play, &format!("{path}.play"))));
        }
        prompts
    }

    fn finish_on_key(&mut self, key: &Option<String>, path: &str) -> Option<String> {
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

    fn speech_timeout(&mut self, value: &Option<Scalar>, path: &str) -> Option<String> {
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

    fn save_as(&mut self, name: &Option<String>, path: &str) -> Option<String> {
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

    fn gather(&mut self, spec: &GatherSpec, path: &str) -> Gather {
        let input = spec
            .input
            .as_ref()
            .map(|i| i.0.clone())
            .unwrap_or_else(|| vec![InputMode::Dtmf]);
        let prompts = self.prompts(&spec.say, &spec.play, path);
        if prompts.is_empty() {
            let at = self.index.key(path);
            self.warning(
                at,
                "the caller hears nothing while this waits: add `say` or `play`",
            );
        }
        let speech = input.contains(&InputMode::Speech);
        Gather {
            prompts,
            num_digits: spec.num_digits,
            finish_on_key: self
                .finish_on_key(&spec.finish_on_key, &format!("{path}.finish_on_key")),
            timeout: spec.timeout,
            speech_timeout: self
                .speech_timeout(&spec.speech_timeout, &format!("{path}.speech_timeout")),
            hints: spec.hints.as_ref().map(|h| h.0.join(", ")),
            language: spec
                .language
                .clone()
                .or_else(|| self.spec.language.clone())
                .filter(|_| speech),
            save_as: self.save_as(&spec.save_as, &format!("{path}.save_as")),
            input,
        }
    }

    fn menu(&mut self, spec: &spec::MenuSpec, path: &str) -> Menu {
        let mut options = Vec::new();
        for (i, (key, target)) in spec.options.iter().enumerate() {
            let key = key.as_str().trim().to_owned();
            let option_path = format!("{path}.options.{key}");
            let is_keys = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '*' || c == '#');
            let words = (!is_keys).then(|| normalise_speech(&key));
            if words.as_deref() == Some("") {
                let at = self.index.key(&format!("{path}.options"));
                self.error(at, format!("option {} has no key or word", i + 1));
            }
            options.push(MenuOption {
                target: self.step_target(target, &option_path),
                key,
                words,
            });
        }
        if options.is_empty() {
            let at = self.index.key(&format!("{path}.options"));
            self.error(at, "a menu needs at least one option, such as `1: sales`");
        }
        let has_words = options.iter().any(|o| o.words.is_some());
        let input = match &spec.input {
            Some(input) => input.0.clone(),
            None if has_words => vec![InputMode::Dtmf, InputMode::Speech],
            None => vec![InputMode::Dtmf],
        };
        if has_words && !input.contains(&InputMode::Speech) {
            let at = self.index.value(&format!("{path}.input"));
            self.warning(at, "some options are words, but this menu does not listen to speech: add `speech` to `input`");
        }
        let speech = input.contains(&InputMode::Speech);
        let key_lengths: Vec<usize> = options
            .iter()
            .filter(|o| o.words.is_none())
            .map(|o| o.key.len())
            .collect();
        // One-key menus answer as soon as the key is pressed.
        let num_digits = match key_lengths.first() {
            Some(&len) if key_lengths.iter().all(|&l| l == len) => Some(len as u32),
            _ => None,
        };
        let hints = match &spec.hints {
            Some(hints) => Some(hints.0.join(", ")),
            None if speech && has_words => Some(
                options
                    .iter()
                    .filter_map(|o| o.words.as_deref())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            None => None,
        };
        let prompts = self.prompts(&spec.say, &spec.play, path);
        if prompts.is_empty() {
            let at = self.index.key(path);
            self.warning(
                at,
                "the caller hears no choices: add `say` or `play` to the menu",
            );
        }
        let english = self
            .spec
            .language
            .as_deref()
            .is_none_or(|l| l.to_lowercase().starts_with("en"));
        let default_message = |text: &str| {
            english.then(|| {
                Speech::new(
                    Text::Plain(text.to_owned()),
                    self.spec.voice.clone(),
                    self.spec.language.clone(),
                    None,
                )
            })
        };
        let no_input = match &spec.no_input {
            Some(Shorthand(say)) => Some(self.speech(say, &format!("{path}.no_input"))),
            None => default_message("Sorry, I didn't catch that."),
        };
        let no_match = match &spec.no_match {
            Some(Shorthand(say)) => Some(self.speech(say, &format!("{path}.no_match"))),
            None => default_message("Sorry, that is not one of the choices."),
        };
        Menu {
            gather: Gather {
                prompts,
                input,
                num_digits,
                finish_on_key: None,
                timeout: spec.timeout,
                speech_timeout: self
                    .speech_timeout(&spec.speech_timeout, &format!("{path}.speech_timeout")),
                hints,
                language: spec
                    .language
                    .clone()
                    .or_else(|| self.spec.language.clone())
                    .filter(|_| speech),
                save_as: self.save_as(&spec.save_as, &format!("{path}.save_as")),
            },
            options,
            retries: spec.retries.unwrap_or(2),
            no_input,
            no_match,
            otherwise: spec
                .otherwise
                .as_ref()
                .map(|t| self.step_target(t, &format!("{path}.otherwise"))),
        }
    }

    fn branch(
        &mut self,
        arms: &[spec::BranchArmSpec],
        has_next: bool,
        path: &str,
    ) -> Vec<BranchArm> {
        if arms.is_empty() {
            let at = self.index.key(path);
            self.error(at, "a branch needs at least one `- if: ... goto: ...`");
        }
        let mut compiled = Vec::with_capacity(arms.len());
        let mut always_at: Option<usize> = None;
        for (i, arm) in arms.iter().enumerate() {
            let arm_path = format!("{path}.{i}");
            if let Some(first) = always_at {
                let at = self.index.key(&arm_path);
                self.warning(
                    at,
                    format!(
                        "this is never reached: choice {} has no `if` and always applies",
                        first + 1
                    ),
                );
            }
            let condition = arm.condition.as_ref().map(|condition| {
                let name = format!("{}:{arm_path}.if", self.flow.1);
                match self.templates.compile_condition(name, condition) {
                    Ok(text) => text,
                    Err(message) => {
                        let at = self.index.value(&format!("{arm_path}.if"));
                        self.error(at, format!("this condition is not valid: {message}"));
                        Text::Plain(String::new())
                    }
                }
            });
            if condition.is_none() && always_at.is_none() {
                always_at = Some(i);
            }
            compiled.push(BranchArm {
                condition,
                target: self.step_target(&arm.goto, &format!("{arm_path}.goto")),
            });
        }
        if always_at.is_none() && !has_next {
            let at = self.index.key(path);
            self.warning(at, "when no condition holds the call ends: add a last `- goto: ...` without `if`, or `next`");
        }
        compiled
    }

    fn hours(&mut self, spec: &spec::HoursSpec, step: &StepSpec, path: &str) -> Action {
        let hours_path = format!("{path}.hours");
        let zone = match &spec.timezone {
            Some(name) => self.timezone(Some(name), &format!("{hours_path}.timezone")),
            None => match &self.spec.timezone {
                Some(name) => self.timezone(Some(name), "timezone"),
                None => {
                    let at = self.index.key(&hours_path);
                    self.error(at, "opening hours need a time zone")
                        .help = Some("add `timezone: America/New_York` (any IANA name) to the hours or to the flow".into());
                    None
                }
            },
        };
        let mut schedule = Schedule::new(zone.unwrap_or(TimeZone::UTC));
        for (days, ranges) in &spec.open {
            for range in &ranges.0 {
                if let Err(message) = schedule.open(days, range) {
                    let at = self.index.key(&format!("{hours_path}.open.{days}"));
                    self.error(at, message);
                }
            }
        }
        for (i, day) in spec.closed_on.iter().enumerate() {
            if let Err(message) = schedule.close_on(day.as_str()) {
                let at = self.index.value(&format!("{hours_path}.closed_on.{i}"));
                self.error(at, message);
            }
        }
        let mut route = |key: &str, target: &Option<String>| match target {
            Some(target) => self.step_target(target, &format!("{path}.{key}")),
            None => {
                let at = self.index.key(path);
                self.error(
                    at,
                    format!("an `hours` step needs `{key}:` with the step to go to"),
                );
                Target::Hangup
            }
        };
        let open = route("open", &step.open);
        let closed = route("closed", &step.closed);
        Action::Hours {
            schedule,
            open,
            closed,
        }
    }

    fn dial(&mut self, spec: &spec::DialSpec, step: &StepSpec, path: &str) -> Dial {
        let dial_path = format!("{path}.dial");
        let mut nouns = Vec::new();
        let mut templated = false;
        let mut add = |this: &mut Self, raw: &Scalar, kind: Option<TargetKind>, field: String| {
            let raw = raw.as_str();
            if Text::is_template_source(raw) {
                templated = true;
                let text = this.text(raw, &field);
                nouns.push(DialNoun::Templated { text, kind });
                return;
            }
            match dial_target::parse(raw, kind) {
                Ok(target) => nouns.push(DialNoun::Fixed(target)),
                Err(refusal) => {
                    let at = this.index.value(&field);
                    this.error(at, format!("cannot dial `{raw}`: {refusal}"));
                }
            }
        };
        if let Some(to) = &spec.to {
            add(self, to, None, format!("{dial_path}.to"));
        }
        for (field, kind, values) in [
            ("number", TargetKind::Number, &spec.number),
            ("client", TargetKind::Client, &spec.client),
        ] {
            if let Some(values) = values {
                let many = values.0.len() > 1;
                for (i, value) in values.0.iter().enumerate() {
                    let field = if many {
                        format!("{dial_path}.{field}.{i}")
                    } else {
                        format!("{dial_path}.{field}")
                    };
                    add(self, value, Some(kind), field);
                }
            }
        }
        if let Some(sip) = &spec.sip {
            add(self, sip, Some(TargetKind::Sip), format!("{dial_path}.sip"));
        }
        let people = nouns.len();
        if let Some(Shorthand(conference)) = &spec.conference {
            let room = self.text(conference.room.as_str(), &format!("{dial_path}.conference"));
            nouns.push(DialNoun::Conference(Conference {
                room,
                muted: conference.muted,
                beep: conference.beep.as_ref().map(|b| b.as_str().to_owned()),
                start_on_enter: conference.start_on_enter,
                end_on_exit: conference.end_on_exit,
                wait_url: conference.wait_url.clone(),
                max_participants: conference.max_participants,
            }));
        }
        if let Some(queue) = &spec.queue {
            let queue = self.text(queue.as_str(), &format!("{dial_path}.queue"));
            nouns.push(DialNoun::Queue(queue));
        }
        if nouns.is_empty() && !self.report.has_errors() {
            let at = self.index.key(&dial_path);
            self.error(at, "a dial needs someone to call: `to`, `number`, `client`, `sip`, `conference` or `queue`");
        }
        if nouns.len() > people && (people > 0 || nouns.len() - people > 1) {
            let at = self.index.key(&dial_path);
            self.error(
                at,
                "a conference or queue is dialled on its own: use a separate step for it",
            );
        }
        let allow = match &spec.allow {
            Some(patterns) => match AllowList::parse(patterns) {
                Ok(list) => Some(list),
                Err(error) => {
                    let at = self.index.value(&format!("{dial_path}.allow"));
                    self.error(at, format!("bad `allow` pattern: {error}"));
                    None
                }
            },
            None => {
                if templated {
                    let at = self.index.key(&dial_path);
                    self.error(at, "this dial's target comes from a template, so it needs an `allow` list")
                        .help = Some("for example `allow: [\"+1*\", \"client:*\"]`: targets outside it are refused, never dialled".into());
                }
                None
            }
        };
        let caller_id = spec
            .caller_id
            .as_ref()
            .map(|c| self.text(c.as_str(), &format!("{dial_path}.caller_id")));
        let refused = match &spec.refused {
            Some(Shorthand(say)) => self.speech(say, &format!("{dial_path}.refused")),
            None => Speech::new(
                Text::Plain("Sorry, that number cannot be called from this line.".into()),
                self.spec.voice.clone(),
                self.spec.language.clone(),
                None,
            ),
        };
        let routes = step
            .on
            .iter()
            .flatten()
            .map(|(outcome, target)| {
                (
                    *outcome,
                    self.step_target(target, &format!("{path}.on.{}", outcome.as_str())),
                )
            })
            .collect();
        Dial {
            before: self.optional_speech(&spec.say, &format!("{dial_path}.say")),
            nouns,
            caller_id,
            timeout: spec.timeout,
            time_limit: spec.time_limit,
            record: spec.record,
            answer_on_bridge: spec.answer_on_bridge,
            ring_tone: spec.ring_tone.clone(),
            hangup_on_star: spec.hangup_on_star,
            allow,
            refused,
            routes,
        }
    }

    fn record(&mut self, spec: &spec::RecordSpec, path: &str) -> Record {
        Record {
            prompts: self.prompts(&spec.say, &spec.play, path),
            max_length: spec.max_length,
            timeout: spec.timeout,
            finish_on_key: self
                .finish_on_key(&spec.finish_on_key, &format!("{path}.finish_on_key")),
            play_beep: spec.play_beep,
            trim: spec.trim,
            transcribe: spec.transcribe,
            transcribe_callback: spec
                .transcribe_callback
                .as_ref()
                .map(|u| self.text(u.as_str(), &format!("{path}.transcribe_callback"))),
            recording_status_callback: spec
                .recording_status_callback
                .as_ref()
                .map(|u| self.text(u.as_str(), &format!("{path}.recording_status_callback"))),
            save_as: self
                .save_as(&spec.save_as, &format!("{path}.save_as"))
                .unwrap_or_else(|| "recording_url".to_owned()),
        }
    }

    fn flow_target(&mut self, spec: &spec::GotoSpec, path: &str) -> Target {
        let Some(&flow) = self.names.flows.get(&spec.flow) else {
            let at = self.index.value(path);
            let known: Vec<&str> = self.names.flows.keys().map(String::as_str).collect();
            let diagnostic = self.error(at, format!("there is no flow named `{}`", spec.flow));
            if let Some(near) = closest(&spec.flow, known) {
                diagnostic.help = Some(format!("did you mean `{near}`?"));
            }
            return Target::Hangup;
        };
        let step = match &spec.step {
            None => self.names.starts[flow],
            Some(step) => match self.names.steps[flow].get(step) {
                Some(&id) => id,
                None => {
                    let at = self.index.value(&format!("{path}.step"));
                    self.error(
                        at,
                        format!("flow `{}` has no step named `{step}`", spec.flow),
                    );
                    return Target::Hangup;
                }
            },
        };
        Target::Flow(flow, step)
    }
}

/// Lowercase words without punctuation: how speech results are compared
/// with menu options, so "Sales." matches `sales`.
pub fn normalise_speech(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_lowercase().next().unwrap_or(c)
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
