//! Compiling a parsed flow into the model: its steps, start, fallback and
//! numbers. Each kind of step compiles its own YAML in its file under
//! [`steps`](super::steps), with the helpers of [`Compiler`]; every mistake
//! is reported and compiling goes on, so one pass finds them all.

use std::collections::HashMap;
use std::path::Path;

use jiff::tz::TimeZone;

use super::compiler::{Compiler, FlowDefaults, Names, unknown_step, valid_name};
use super::diagnostic::{Diagnostic, Report, codes};
use super::languages::{self, Prompts};
use super::model::{Flow, Step};
use super::position::LazyIndex;
use super::prompt_files::PromptFiles;
use super::spec::FlowSpec;
use super::steps::{ACTIONS, Action, StepSpec, hangup::Hangup};
use super::target::{FlowId, StepId, Target};
use super::template::Templates;
use crate::dial_target::{self, TargetKind};

/// One parsed flow file, ready to compile.
pub(super) struct FlowSource<'a> {
    pub name: &'a str,
    pub file: &'a Path,
    pub index: &'a LazyIndex<'a>,
    pub spec: &'a FlowSpec,
}

/// A flow's steps by name, numbered in the order written.
pub(super) fn step_names(spec: &FlowSpec) -> HashMap<String, StepId> {
    spec.steps
        .keys()
        .cloned()
        .enumerate()
        .map(|(i, n)| (n, i))
        .collect()
}

/// The step a flow starts at, reporting a flow without steps or with an
/// unknown `start`.
pub(super) fn start_of(
    flow: &FlowSource<'_>,
    steps: &HashMap<String, StepId>,
    report: &mut Report,
) -> StepId {
    if flow.spec.steps.is_empty() {
        report.push(
            Diagnostic::error(
                flow.file,
                flow.index.key("steps"),
                "this flow has no steps: add at least one under `steps:`",
            )
            .with_code(codes::NO_STEPS),
        );
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

/// Compiles one flow, reporting every problem it finds; with the flow, the
/// names of the other flows it leads to.
pub(super) fn compile_flow(
    report: &mut Report,
    templates: &Templates,
    names: &Names<'_>,
    id: FlowId,
    source: &FlowSource<'_>,
    prompt_files: &PromptFiles,
) -> (Flow, Vec<String>) {
    let spec = source.spec;
    let mut cx = Compiler {
        report,
        templates,
        names,
        flow: id,
        name: source.name,
        file: source.file,
        index: source.index,
        defaults: FlowDefaults {
            voice: spec.voice.as_deref(),
            language: spec.language.as_deref(),
            timezone: spec.timezone.as_deref(),
            returns: &spec.returns,
            speech: spec.speech.as_ref(),
            languages: &spec.languages,
            secrets: &spec.secrets,
        },
        prompts: Prompts::default(),
        refers: Vec::new(),
    };
    cx.prompts = languages::compile_tables(
        &mut cx,
        &spec.languages,
        &spec.prompts,
        spec.language.as_deref(),
        prompt_files,
    );
    let flow = flow(&mut cx, spec);
    (flow, cx.refers)
}

fn flow(cx: &mut Compiler<'_>, spec: &FlowSpec) -> Flow {
    let timezone = cx.timezone(spec.timezone.as_deref(), "timezone");
    for (i, name) in spec.returns.iter().enumerate() {
        cx.check_variable_value(name, &format!("returns.{i}"));
    }
    if let Some(speech) = &spec.speech {
        speech.check(cx, "speech");
    }
    let numbers = spec
        .numbers
        .iter()
        .enumerate()
        .filter_map(|(i, raw)| literal_number(cx, raw, &format!("numbers.{i}")))
        .collect();
    let secrets = super::secrets::declare(cx, &spec.secrets);
    let callers = spec
        .callers
        .as_ref()
        .map(|callers| super::callers::Callers::compile(cx, callers));
    let record_calls = spec
        .record_calls
        .as_ref()
        .map(|record| super::record_calls::RecordCalls::compile(cx, record));
    let fallback = spec
        .fallback
        .as_ref()
        .map(|name| cx.step_target(name, "fallback"));
    let fallback = match fallback {
        Some(Target::Step(id)) => Some(id),
        _ => None,
    };
    let steps = spec
        .steps
        .iter()
        .map(|(name, spec)| step(cx, name, spec))
        .collect();
    Flow {
        name: cx.name.to_owned(),
        description: spec.description.clone(),
        file: cx.file.to_owned(),
        steps,
        step_ids: cx.names.steps[cx.flow].clone(),
        start: cx.names.starts[cx.flow],
        fallback,
        timezone: timezone.unwrap_or(TimeZone::UTC),
        numbers,
        secrets,
        callers,
        record_calls,
    }
}

fn step(cx: &mut Compiler<'_>, name: &str, spec: &StepSpec) -> Step {
    let path = format!("steps.{name}");
    if !valid_name(name, false) || name == "hangup" {
        let at = cx.index.key(&path);
        let message = if name == "hangup" {
            "`hangup` is a built-in target that ends the call; name this step differently"
                .to_owned()
        } else {
            format!("`{name}` cannot be a step name: use letters, digits, `_` and `-`")
        };
        cx.error(at, message);
    }
    let actions = spec.actions();
    let action = match actions.as_slice() {
        [] => {
            let at = cx.index.key(&path);
            let diagnostic = cx.error(at, format!("step `{name}` does nothing"));
            diagnostic.code = codes::EMPTY_STEP;
            diagnostic.help = Some(format!("give it one action: {}", ACTIONS.join(", ")));
            Action::Hangup(Hangup)
        }
        [_] => spec
            .compile_action(cx, &path)
            .expect("the step has one action"),
        [first, second, ..] => {
            let at = cx.index.key(&format!("{path}.{second}"));
            let diagnostic = cx.error(
                at,
                format!("step `{name}` has both `{first}` and `{second}`"),
            );
            diagnostic.code = codes::TWO_ACTIONS;
            diagnostic.help =
                Some("a step does one thing: split it into two steps joined by `next`".into());
            Action::Hangup(Hangup)
        }
    };
    let next = spec
        .next
        .as_ref()
        .map(|target| cx.step_target(target, &format!("{path}.next")));
    if next.is_some() && !action.uses_next() {
        let at = cx.index.key(&format!("{path}.next"));
        cx.report.push(
            Diagnostic::warning(
                cx.file,
                at,
                format!("`next` is never used after `{}`", action.kind()),
            )
            .with_code(codes::UNUSED_NEXT),
        );
    }
    check_modifiers(cx, spec, &action, &path);
    Step {
        name: name.to_owned(),
        action,
        next,
    }
}

/// `on`, `open` and `closed` belong to one kind of step each.
fn check_modifiers(cx: &mut Compiler<'_>, spec: &StepSpec, action: &Action, path: &str) {
    let misplaced = [
        (
            "on",
            spec.on.is_some(),
            &["dial", "enqueue", "request", "connect"][..],
        ),
        ("open", spec.open.is_some(), &["hours"][..]),
        ("closed", spec.closed.is_some(), &["hours"][..]),
    ];
    for (key, present, owners) in misplaced {
        if present && !owners.contains(&action.kind()) {
            let at = cx.index.key(&format!("{path}.{key}"));
            let owners: Vec<String> = owners.iter().map(|o| format!("`{o}`")).collect();
            cx.error(
                at,
                format!(
                    "`{key}` belongs to a {} step, not a `{}` step",
                    owners.join(" or "),
                    action.kind()
                ),
            )
            .code = codes::MISPLACED_KEY;
        }
    }
}

fn literal_number(cx: &mut Compiler<'_>, raw: &str, path: &str) -> Option<String> {
    match dial_target::parse(raw, Some(TargetKind::Number)) {
        Ok(target) => Some(target.as_str().to_owned()),
        Err(refusal) => {
            let at = cx.index.value(path);
            cx.error(at, refusal.to_string()).help =
                Some("write numbers with + and the country code, like +15551234567".into());
            None
        }
    }
}
