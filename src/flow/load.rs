//! Loading a set of flows: read, parse, compile, check, in that order.
//!
//! Loading never stops at the first mistake: every file is read, every step
//! compiled, and every problem reported with its file, line and column, so
//! an author fixes a whole edit in one go. A set with any error is refused
//! as a whole; the server then refuses to start (or, on a hot reload, keeps
//! serving the last good set).
//!
//! A [`Loader`] remembers every flow it compiled, so that a hot reload costs
//! what changed: it reads only the files whose stamp changed, parses and
//! compiles only the files whose text changed (and the flows whose `goto`
//! or `call` lead into a flow that changed, came or went, as their compiled
//! targets hold its numbers), and hands every other flow on as the same
//! `Arc`, shared with the versions kept for calls in progress. The checks
//! that span flows (references, numbers claimed twice, loops and sub-flows
//! across flows) run over the whole set each time: they follow compiled
//! indexes and cost little next to parsing. Files are parsed and compiled on
//! every core.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use rayon::prelude::*;

use super::compile::{FlowSource, compile_flow, start_of, step_names};
use super::compiler::{Names, valid_name};
use super::diagnostic::{Diagnostic, Position, Report};
use super::files::{MaxFileBytes, Stamp, read_again};
use super::languages::PromptSource;
use super::model::{Flow, FlowSet};
use super::position::LazyIndex;
use super::positions::Positions;
use super::prompt_files::{self, PromptFiles};
pub use super::read::Source;
pub(crate) use super::read::{Digest, Input, read_inputs, read_overlaid};
use super::secrets::{SecretSource, SecretValues};
use super::shape::checked_shape;
use super::spec::FlowSpec;
use super::target::{FlowId, StepId};
use super::template::Templates;
use super::yaml_error::structural_errors;

/// A flow set that loaded, with the warnings found on the way.
#[derive(Debug)]
pub struct Loaded {
    pub flows: FlowSet,
    pub warnings: Report,
}

/// Loads every flow in `dir` (subfolders too). Files ending in `.test.yaml`
/// are flow tests, not flows, and files inside a folder named `prompts` are
/// shared prompt tables, not flows; hidden files and folders (editor swap files,
/// a Kubernetes ConfigMap's `..data`) are skipped. Files over the default
/// [`MaxFileBytes`] are refused.
pub fn load(dir: &Path) -> Result<Loaded, Report> {
    load_limited(dir, MaxFileBytes::default())
}

/// [`load()`], refusing files over `max`.
pub fn load_limited(dir: &Path, max: MaxFileBytes) -> Result<Loaded, Report> {
    Loader::new(max).load_folder(dir)
}

/// Loads flows from memory: tests, and whatever holds flows elsewhere.
pub fn load_sources(sources: Vec<Source>) -> Result<Loaded, Report> {
    Loader::new(MaxFileBytes::default()).load(sources.into_iter().map(Input::from).collect())
}

/// What a load remembers for the next: every flow it compiled.
pub(crate) struct Loader {
    max: MaxFileBytes,
    compiled: HashMap<String, Compiled>,
    templates: Templates,
    by_name: Arc<HashMap<String, FlowId>>,
    by_number: Arc<HashMap<String, FlowId>>,
}

/// A flow as a load compiled it, without a mistake of its own.
struct Compiled {
    /// Its file's stamp and when it was read, for a stamp is trusted only
    /// once settled; `None` for a source handed over in memory.
    stamp: Option<(Stamp, SystemTime)>,
    digest: Digest,
    /// Its steps' names and start, as flows that lead into it depend on.
    outline: Outline,
    flow: Arc<Flow>,
    /// The warnings its compile reported.
    warnings: Vec<Diagnostic>,
    /// The flows its steps lead to, each with the number and digest it had.
    refers: Vec<(String, Option<(FlowId, Outline)>)>,
    /// The prompt files it uses, each with the digest it had.
    prompts: Vec<(String, Option<Digest>)>,
    /// What the checks across flows found in it, for a flow that no other
    /// flow leads into and that leads into none: that depends on it alone.
    /// `None` until they ran on it.
    checked: Option<Vec<Diagnostic>>,
}

/// A hash of a flow's step names, in order, and its start: what another
/// flow's compiled `goto` or `call` into it depends on.
type Outline = u64;

fn outline<'a>(steps: impl Iterator<Item = &'a String>, start: StepId) -> Outline {
    let mut hasher = DefaultHasher::new();
    for step in steps {
        step.hash(&mut hasher);
    }
    start.hash(&mut hasher);
    hasher.finish()
}

/// Times the phases of a load, for `RUST_LOG=callflow::flow::load=debug`.
struct Phase(Instant);

impl Phase {
    fn start() -> Phase {
        Phase(Instant::now())
    }

    /// Logs the time since the last phase ended.
    fn done(&mut self, phase: &str) {
        tracing::debug!(took = ?self.0.elapsed(), "{phase}");
        self.0 = Instant::now();
    }
}

/// Where one flow of a load stands.
enum Member<'a> {
    /// Unchanged, and so is every flow it leads to: it is kept as it is.
    Kept(&'a Compiled),
    Parsed(Box<Parsed>),
}

/// A file parsed, to be compiled.
struct Parsed {
    spec: FlowSpec,
    /// The text, when it had to be read again for this.
    read_again: Option<String>,
}

impl Default for Loader {
    fn default() -> Self {
        Loader::new(MaxFileBytes::default())
    }
}

impl Loader {
    pub(crate) fn new(max: MaxFileBytes) -> Loader {
        Loader {
            max,
            compiled: HashMap::new(),
            templates: Templates::new(),
            by_name: Arc::default(),
            by_number: Arc::default(),
        }
    }

    /// Reads `dir`, leaving unread the files whose stamp says they are the
    /// ones compiled, and loads it.
    pub(crate) fn load_folder(&mut self, dir: &Path) -> Result<Loaded, Report> {
        let began = Instant::now();
        let inputs = self.read(dir)?;
        tracing::debug!(files = inputs.len(), took = ?began.elapsed(), "flows folder read");
        self.load(inputs)
    }

    /// Reads `dir`, leaving unread the files whose stamp says they are the
    /// ones compiled.
    pub(crate) fn read(&self, dir: &Path) -> Result<Vec<Input>, Report> {
        read_inputs(dir, self.max, &|name, stamp| self.held(name, stamp))
    }

    /// The digest of flow `name`'s text when a file with `stamp` is the one
    /// compiled.
    fn held(&self, name: &str, stamp: &Stamp) -> Option<Digest> {
        let compiled = self.compiled.get(name)?;
        let (held, read_at) = compiled.stamp.as_ref()?;
        (held == stamp && stamp.settled(*read_at)).then_some(compiled.digest)
    }

    /// Loads `inputs`, compiling what this loader has not compiled as it
    /// is, and remembers the result for the next load.
    pub(crate) fn load(&mut self, inputs: Vec<Input>) -> Result<Loaded, Report> {
        let mut phase = Phase::start();
        let mut report = Report::default();
        let version = version_of(&inputs);
        let (prompt_inputs, inputs): (Vec<Input>, Vec<Input>) = inputs
            .into_iter()
            .partition(|input| prompt_files::is_prompt_file(&input.name));
        let (prompt_files, prompt_digests) = self.prompt_files(&prompt_inputs, &mut report);
        let inputs: Vec<Input> = inputs
            .into_iter()
            .filter(|input| {
                let valid = valid_name(&input.name, true);
                if !valid {
                    report.push(Diagnostic::error(
                        &input.file,
                        Position::START,
                        format!(
                            "`{}` cannot be a flow name: name flow files with letters, digits, `_` and `-` only",
                            input.name
                        ),
                    ));
                }
                valid
            })
            .collect();

        // Parse what changed, on every core.
        let compiled = &self.compiled;
        let max = self.max;
        let parsed: Vec<Option<Result<Parsed, Vec<Diagnostic>>>> = inputs
            .par_iter()
            .map(|input| {
                let kept = compiled
                    .get(&input.name)
                    .is_some_and(|c| c.digest == input.digest);
                (!kept).then(|| parse(input, max))
            })
            .collect();
        let mut members: Vec<(&Input, Member<'_>)> = Vec::with_capacity(inputs.len());
        for (input, parsed) in inputs.iter().zip(parsed) {
            match parsed {
                None => members.push((input, Member::Kept(&compiled[&input.name]))),
                Some(Ok(parsed)) => members.push((input, Member::Parsed(Box::new(parsed)))),
                Some(Err(diagnostics)) => diagnostics.into_iter().for_each(|d| report.push(d)),
            }
        }
        phase.done("parsed");
        let by_name = self.names_of(members.iter().map(|(input, _)| input.name.as_str()));

        // Every flow's steps, by name, before any flow compiles.
        let mut own_reports: Vec<Report> = members.iter().map(|_| Report::default()).collect();
        let gathered: Vec<Option<HashMap<String, StepId>>> = members
            .iter()
            .map(|(_, member)| match member {
                Member::Parsed(parsed) => Some(step_names(&parsed.spec)),
                Member::Kept(_) => None,
            })
            .collect();
        let mut names = Names {
            flows: &by_name,
            steps: Vec::with_capacity(members.len()),
            starts: Vec::with_capacity(members.len()),
        };
        let mut outlines = Vec::with_capacity(members.len());
        for (id, (input, member)) in members.iter().enumerate() {
            let (steps, start, outline) = match member {
                Member::Kept(kept) => (&kept.flow.step_ids, kept.flow.start, kept.outline),
                Member::Parsed(parsed) => {
                    let steps = gathered[id]
                        .as_ref()
                        .expect("gathered for every parsed flow");
                    let index = LazyIndex::new(text_of(input, parsed));
                    let source = source_of(input, parsed, &index);
                    let start = start_of(&source, steps, &mut own_reports[id]);
                    (steps, start, outline(parsed.spec.steps.keys(), start))
                }
            };
            names.steps.push(steps);
            names.starts.push(start);
            outlines.push(outline);
        }

        // A kept flow that leads into a flow whose number or steps moved is
        // compiled again: its targets hold those numbers.
        let signature = |name: &str| by_name.get(name).map(|&id| (id, outlines[id]));
        // So is one whose prompt file changed.
        let prompt_digest = |name: &str| prompt_digests.get(name).copied();
        let moved: Vec<usize> = (0..members.len())
            .filter(|&id| match members[id].1 {
                Member::Kept(kept) => {
                    kept.refers
                        .iter()
                        .any(|(name, was)| signature(name) != *was)
                        || kept
                            .prompts
                            .iter()
                            .any(|(name, was)| prompt_digest(name) != *was)
                }
                Member::Parsed(_) => false,
            })
            .collect();
        let reparsed: Vec<Result<Parsed, Vec<Diagnostic>>> = moved
            .par_iter()
            .map(|&id| parse(members[id].0, max))
            .collect();
        for (id, parsed) in moved.into_iter().zip(reparsed) {
            let Ok(parsed) = parsed else {
                // It parsed before with this text: it changed meanwhile,
                // and the change brings another reload.
                report.push(Diagnostic::error(
                    &members[id].0.file,
                    Position::START,
                    "this file changed while it was read: it is read again on the next reload",
                ));
                return Err(report);
            };
            // Its steps and start are those of the kept flow: same text.
            members[id].1 = Member::Parsed(Box::new(parsed));
        }

        phase.done("named");
        // Compile what was parsed, on every core.
        let templates = &self.templates;
        let prompt_files = &prompt_files;
        let fresh: Vec<Option<(Flow, Vec<String>)>> = members
            .par_iter()
            .zip(own_reports.par_iter_mut())
            .enumerate()
            .map(|(id, ((input, member), own))| match member {
                Member::Parsed(parsed) => {
                    let index = LazyIndex::new(text_of(input, parsed));
                    let source = source_of(input, parsed, &index);
                    Some(compile_flow(
                        own,
                        templates,
                        &names,
                        id,
                        &source,
                        prompt_files,
                    ))
                }
                Member::Kept(_) => None,
            })
            .collect();

        phase.done("compiled");
        let mut positions = Positions::new(max);
        let mut flows: Vec<Arc<Flow>> = Vec::with_capacity(members.len());
        let mut remembered = HashMap::with_capacity(members.len());
        // Where each flow leads, whether it was compiled now, and what the
        // checks found in it before.
        let mut leads_to: Vec<Vec<String>> = Vec::with_capacity(members.len());
        let mut compiled_now: Vec<bool> = Vec::with_capacity(members.len());
        let mut checked_before: Vec<Option<Vec<Diagnostic>>> = Vec::with_capacity(members.len());
        let assembling = members.into_iter().zip(fresh).zip(own_reports);
        for (id, (((input, member), fresh), own)) in assembling.enumerate() {
            let stamp = input.stamp.map(|stamp| (stamp, input.read_at));
            match (member, fresh) {
                (Member::Kept(kept), _) => {
                    leads_to.push(kept.refers.iter().map(|(name, _)| name.clone()).collect());
                    compiled_now.push(false);
                    checked_before.push(kept.checked.clone());
                    kept.warnings.iter().for_each(|d| report.push(d.clone()));
                    positions.push(&input.file, input.text.as_deref());
                    flows.push(kept.flow.clone());
                    remembered.insert(
                        input.name.clone(),
                        Compiled {
                            stamp,
                            digest: kept.digest,
                            outline: kept.outline,
                            flow: kept.flow.clone(),
                            warnings: kept.warnings.clone(),
                            refers: kept.refers.clone(),
                            prompts: kept.prompts.clone(),
                            checked: kept.checked.clone(),
                        },
                    );
                }
                (Member::Parsed(parsed), Some((flow, refers))) => {
                    leads_to.push(refers.clone());
                    compiled_now.push(true);
                    checked_before.push(None);
                    positions.push(&input.file, input.text.as_deref());
                    let prompts = prompt_files_of(&input.name, &parsed.spec)
                        .map(|name| {
                            let digest = prompt_digest(&name);
                            (name, digest)
                        })
                        .collect();
                    let flow = Arc::new(flow);
                    flows.push(flow.clone());
                    if !own.has_errors() {
                        let refers = refers
                            .into_iter()
                            .map(|name| {
                                let at = signature(&name);
                                (name, at)
                            })
                            .collect();
                        remembered.insert(
                            input.name.clone(),
                            Compiled {
                                stamp,
                                digest: input.digest,
                                outline: outlines[id],
                                flow,
                                warnings: own.diagnostics.clone(),
                                refers,
                                prompts,
                                checked: None,
                            },
                        );
                    }
                    own.diagnostics.into_iter().for_each(|d| report.push(d));
                }
                (Member::Parsed(_), None) => unreachable!("every parsed flow is compiled"),
            }
        }

        phase.done("assembled");
        let by_number = self.numbers_of(&flows, &positions, &mut report);
        // The checks across flows look at the flows that are linked to
        // others and at those compiled now; what they found before in any
        // other flow still holds, as it depends on that flow alone.
        let led_into: HashSet<&str> = leads_to.iter().flatten().map(String::as_str).collect();
        let linked: Vec<bool> = flows
            .iter()
            .zip(&leads_to)
            .map(|(flow, leads)| !leads.is_empty() || led_into.contains(flow.name.as_str()))
            .collect();
        let mut scope = Vec::new();
        for (id, checked) in checked_before.into_iter().enumerate() {
            match checked {
                Some(found) if !linked[id] && !compiled_now[id] => {
                    found.into_iter().for_each(|d| report.push(d));
                }
                _ => scope.push(id),
            }
        }
        if !report.has_errors() {
            let mut checks = Report::default();
            super::check::check_steps(&flows, &scope, &positions, &mut checks);
            let alone: HashMap<&Path, &str> = scope
                .iter()
                .filter(|&&id| !linked[id])
                .map(|&id| (flows[id].file.as_path(), flows[id].name.as_str()))
                .collect();
            for &id in scope.iter().filter(|&&id| !linked[id]) {
                if let Some(compiled) = remembered.get_mut(&flows[id].name) {
                    compiled.checked = Some(Vec::new());
                }
            }
            for diagnostic in checks.diagnostics {
                let found_in = alone
                    .get(diagnostic.file.as_path())
                    .and_then(|name| remembered.get_mut(*name))
                    .and_then(|compiled| compiled.checked.as_mut());
                if let Some(found) = found_in {
                    found.push(diagnostic.clone());
                }
                report.push(diagnostic);
            }
        }
        report.sort();
        drop(positions);
        phase.done("checked across flows");
        self.compiled = remembered;
        self.templates.forget_unused();
        phase.done("remembered");
        if report.has_errors() {
            return Err(report);
        }
        self.by_name = by_name;
        self.by_number = by_number;
        Ok(Loaded {
            flows: FlowSet {
                flows,
                by_name: self.by_name.clone(),
                by_number: self.by_number.clone(),
                version,
                secrets: SecretValues::default(),
            },
            warnings: report,
        })
    }
}

impl Loader {
    /// The flows' ids by name: the last load's map while the names and
    /// their order are the same, as they are after most edits, so a reload
    /// does not build it again.
    fn names_of<'a>(
        &self,
        names: impl ExactSizeIterator<Item = &'a str> + Clone,
    ) -> Arc<HashMap<String, FlowId>> {
        let same = names.len() == self.by_name.len()
            && names
                .clone()
                .enumerate()
                .all(|(id, name)| self.by_name.get(name) == Some(&id));
        if same {
            return self.by_name.clone();
        }
        Arc::new(
            names
                .enumerate()
                .map(|(id, name)| (name.to_owned(), id))
                .collect(),
        )
    }

    /// The flows' ids by the numbers they answer, each claimed once: the
    /// last load's map while every flow claims the numbers it did.
    fn numbers_of(
        &self,
        flows: &[Arc<Flow>],
        positions: &Positions<'_>,
        report: &mut Report,
    ) -> Arc<HashMap<String, FlowId>> {
        let claimed: usize = flows.iter().map(|flow| flow.numbers.len()).sum();
        let same = claimed == self.by_number.len()
            && flows.iter().enumerate().all(|(id, flow)| {
                flow.numbers
                    .iter()
                    .all(|number| self.by_number.get(number) == Some(&id))
            });
        if same {
            return self.by_number.clone();
        }
        Arc::new(claim_numbers(flows, positions, report))
    }

    /// Parses every prompt file (few, and small), read again where the
    /// load was not handed its text; with each one's digest.
    fn prompt_files(
        &self,
        inputs: &[Input],
        report: &mut Report,
    ) -> (PromptFiles, HashMap<String, Digest>) {
        let mut files = PromptFiles::new();
        let mut digests = HashMap::new();
        for input in inputs {
            let Some(text) = input
                .text
                .clone()
                .or_else(|| read_again(&input.file, self.max))
            else {
                report.push(Diagnostic::error(
                    &input.file,
                    Position::START,
                    "cannot read this file again",
                ));
                continue;
            };
            let source = Source {
                name: input.name.clone(),
                file: input.file.clone(),
                text,
            };
            match prompt_files::parse(&source) {
                Ok(file) => {
                    files.insert(input.name.clone(), file);
                    digests.insert(input.name.clone(), input.digest);
                }
                Err(diagnostics) => diagnostics.into_iter().for_each(|d| report.push(d)),
            }
        }
        (files, digests)
    }
}

/// The prompt files a flow's `prompts` name, by their names.
fn prompt_files_of<'a>(flow: &'a str, spec: &'a FlowSpec) -> impl Iterator<Item = String> + 'a {
    spec.prompts
        .sources
        .iter()
        .filter_map(move |source| match source {
            PromptSource::File(reference) => prompt_files::resolve(flow, reference),
            PromptSource::Table(_) => None,
        })
}

fn source_of<'a>(input: &'a Input, parsed: &'a Parsed, index: &'a LazyIndex<'a>) -> FlowSource<'a> {
    FlowSource {
        name: &input.name,
        file: &input.file,
        index,
        spec: &parsed.spec,
    }
}

/// The text a parsed flow was parsed from.
fn text_of<'a>(input: &'a Input, parsed: &'a Parsed) -> &'a str {
    parsed
        .read_again
        .as_deref()
        .or(input.text.as_deref())
        .unwrap_or_default()
}

/// Parses one file (read again if the load was not handed its text), or
/// returns every mistake found in it.
fn parse(input: &Input, max: MaxFileBytes) -> Result<Parsed, Vec<Diagnostic>> {
    let read_again = match &input.text {
        Some(_) => None,
        None => Some(read_again(&input.file, max).ok_or_else(|| {
            vec![Diagnostic::error(
                &input.file,
                Position::START,
                "cannot read this file again",
            )]
        })?),
    };
    let text = read_again
        .as_deref()
        .or(input.text.as_deref())
        .unwrap_or_default();
    // Shape first: it is what keeps a deeply nested file from costing
    // serde's time.
    checked_shape(&input.file, text)?;
    let spec = serde_yaml_ng::from_str::<FlowSpec>(text)
        .map_err(|error| structural_errors(&input.file, text, &error))?;
    Ok(Parsed { spec, read_again })
}

/// What the server serves: a loaded set with every declared secret read
/// from the environment. A missing one refuses the set, so the server does
/// not start (or a reload keeps the last good set).
pub(crate) fn with_environment_secrets(loaded: Loaded) -> Result<Loaded, Report> {
    Ok(Loaded {
        flows: loaded.flows.with_secrets(&SecretSource::Environment)?,
        warnings: loaded.warnings,
    })
}

/// A short hash of every file: equal sets have equal versions.
fn version_of(inputs: &[Input]) -> String {
    let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut sorted: Vec<&Input> = inputs.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for input in sorted {
        context.update(input.name.as_bytes());
        context.update(&[0]);
        context.update(input.digest.as_bytes());
    }
    let digest = context.finish();
    digest.as_ref()[..6]
        .iter()
        .fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Numbers that route calls: each may belong to one flow only.
fn claim_numbers(
    flows: &[Arc<Flow>],
    positions: &Positions<'_>,
    report: &mut Report,
) -> HashMap<String, FlowId> {
    let mut by_number: HashMap<String, FlowId> = HashMap::new();
    for (id, flow) in flows.iter().enumerate() {
        for (i, number) in flow.numbers.iter().enumerate() {
            if let Some(&owner) = by_number.get(number) {
                report.push(
                    Diagnostic::error(
                        &flow.file,
                        positions.value(id, &format!("numbers.{i}")),
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
