//! Checks across steps and flows, once every flow is compiled: steps that
//! no call can reach, loops that would spin without ever waiting for the
//! caller or ending the call, and gathers that wait in silence.

use std::sync::Arc;

use std::collections::{HashMap, VecDeque};

use super::calls::in_scope;
use super::diagnostic::{Diagnostic, Report, codes};
use super::model::{Flow, Step};
use super::positions::Positions;
use super::steps::Action;
use super::steps::prompt::Prompt;
use super::target::{FlowId, StepId, Target};

type Node = (FlowId, StepId);

/// Where a step can lead: `None` means the call ends.
fn targets(flow: FlowId, step: &Step) -> Vec<Option<Node>> {
    let mut out = Vec::new();
    step.action
        .targets(step.next.unwrap_or(Target::Hangup), &mut out);
    out.into_iter()
        .map(|target| match target {
            Target::Step(step) => Some((flow, step)),
            Target::Flow(other, step) => Some((other, step)),
            Target::Hangup | Target::End => None,
        })
        .collect()
}

/// Whether a step hands the call to the caller or ends it, which breaks any
/// loop through it.
fn pauses_or_ends(action: &Action) -> bool {
    action.waits() || action.ends()
}

pub(super) fn check_steps(
    flows: &[Arc<Flow>],
    scope: &[FlowId],
    positions: &Positions<'_>,
    report: &mut Report,
) {
    warn_unreachable(flows, scope, positions, report);
    refuse_endless_loops(flows, scope, positions, report);
    super::calls::check_calls(flows, scope, positions, report);
    warn_silent_gathers(flows, scope, positions, report);
    warn_saves_over_input(flows, scope, positions, report);
}

/// A `request` that saves into a variable the caller fills (a gather's,
/// menu's or recording's `save_as`) would overwrite what the caller
/// entered with whatever the far server answers: the flow reads one and
/// gets the other. Names the request saves under are better its own.
fn warn_saves_over_input(
    flows: &[Arc<Flow>],
    scope: &[FlowId],
    positions: &Positions<'_>,
    report: &mut Report,
) {
    for (id, flow) in in_scope(flows, scope) {
        let inputs: Vec<(&str, &str)> = flow
            .steps
            .iter()
            .filter_map(|step| {
                let var = match &step.action {
                    Action::Gather(gather) => gather.save_as.as_deref(),
                    Action::Menu(menu) => menu.gather.save_as.as_deref(),
                    Action::Record(record) => Some(record.save_as.as_str()),
                    _ => None,
                }?;
                Some((var, step.name.as_str()))
            })
            .collect();
        for step in &flow.steps {
            let Action::Request(request) = &step.action else {
                continue;
            };
            for var in request.saved_vars() {
                if let Some((_, input)) = inputs.iter().find(|(name, _)| *name == var) {
                    let at = positions.key(id, &format!("steps.{}.request.save.{var}", step.name));
                    report.push(
                        Diagnostic::warning(
                            &flow.file,
                            at,
                            format!("this request saves `{var}`, which step `{input}` fills with what the caller entered"),
                        )
                        .with_code(codes::OVERWRITES_INPUT)
                        .with_help(format!("save the answer under a name of its own, such as `{}_{var}`", step.name.replace('-', "_"))),
                    );
                }
            }
        }
    }
}

/// A gather with no `say` or `play` of its own is fine when a `say` or
/// `play` step leads straight into it: that prompt is spoken in the same
/// turn, just before the wait. Only a gather nothing is said before
/// leaves the caller in silence.
fn warn_silent_gathers(
    flows: &[Arc<Flow>],
    scope: &[FlowId],
    positions: &Positions<'_>,
    report: &mut Report,
) {
    let mut prompted: Vec<Vec<bool>> = flows.iter().map(|f| vec![false; f.steps.len()]).collect();
    for (id, flow) in in_scope(flows, scope) {
        for step in &flow.steps {
            if !matches!(step.action, Action::Say(_) | Action::Play(_)) {
                continue;
            }
            match step.next {
                Some(Target::Step(next)) => prompted[id][next] = true,
                Some(Target::Flow(other, next)) => prompted[other][next] = true,
                Some(Target::Hangup | Target::End) | None => {}
            }
        }
    }
    for (id, flow) in in_scope(flows, scope) {
        for (step_id, step) in flow.steps.iter().enumerate() {
            let Action::Gather(gather) = &step.action else {
                continue;
            };
            if Prompt::silent(&gather.prompts) && !prompted[id][step_id] {
                report.push(Diagnostic::warning(
                    &flow.file,
                    positions.key(id, &format!("steps.{}.gather", step.name)),
                    "the caller hears nothing while this waits: add `say`, `play` or `prompt`, or lead into it from a `say` step",
                ).with_code(codes::SILENT_WAIT));
            }
        }
    }
}

fn warn_unreachable(
    flows: &[Arc<Flow>],
    scope: &[FlowId],
    positions: &Positions<'_>,
    report: &mut Report,
) {
    let mut reached: Vec<Vec<bool>> = flows.iter().map(|f| vec![false; f.steps.len()]).collect();
    let mut queue: VecDeque<Node> = VecDeque::new();
    for (id, flow) in in_scope(flows, scope) {
        queue.push_back((id, flow.start));
        queue.extend(flow.fallback.map(|step| (id, step)));
    }
    while let Some((flow, step)) = queue.pop_front() {
        if std::mem::replace(&mut reached[flow][step], true) {
            continue;
        }
        queue.extend(
            targets(flow, &flows[flow].steps[step])
                .into_iter()
                .flatten(),
        );
    }
    for (id, flow) in in_scope(flows, scope) {
        for (step_id, step) in flow.steps.iter().enumerate() {
            if !reached[id][step_id] {
                report.push(
                    Diagnostic::warning(
                        &flow.file,
                        positions.key(id, &format!("steps.{}", step.name)),
                        format!("step `{}` is never reached: no step leads to it", step.name),
                    )
                    .with_code(codes::UNREACHABLE_STEP)
                    .with_help("point a `next`, an option or a route at it, or remove it"),
                );
            }
        }
    }
}

/// A loop of steps that never wait (say, set, branch, ...) and offer no way
/// out would run until the engine's step limit cuts the call off. Steps
/// from which no path leads to a waiting step or the end of the call are
/// exactly those loops.
fn refuse_endless_loops(
    flows: &[Arc<Flow>],
    scope: &[FlowId],
    positions: &Positions<'_>,
    report: &mut Report,
) {
    let mut can_leave: HashMap<Node, bool> = HashMap::new();
    let mut callers: HashMap<Node, Vec<Node>> = HashMap::new();
    let mut queue: VecDeque<Node> = VecDeque::new();
    for (id, flow) in in_scope(flows, scope) {
        for (step_id, step) in flow.steps.iter().enumerate() {
            let node = (id, step_id);
            if pauses_or_ends(&step.action) {
                continue;
            }
            let mut leaves = false;
            for target in targets(id, step) {
                match target {
                    None => leaves = true,
                    Some(next) if pauses_or_ends(&flows[next.0].steps[next.1].action) => {
                        leaves = true
                    }
                    Some(next) => callers.entry(next).or_default().push(node),
                }
            }
            can_leave.insert(node, leaves);
            if leaves {
                queue.push_back(node);
            }
        }
    }
    while let Some(node) = queue.pop_front() {
        for caller in callers.get(&node).into_iter().flatten() {
            if let Some(leaves @ false) = can_leave.get_mut(caller) {
                *leaves = true;
                queue.push_back(*caller);
            }
        }
    }
    for (id, flow) in in_scope(flows, scope) {
        let trapped: Vec<&str> = (0..flow.steps.len())
            .filter(|&step| can_leave.get(&(id, step)) == Some(&false))
            .map(|step| flow.steps[step].name.as_str())
            .collect();
        if let Some(first) = trapped.first() {
            report.push(
                Diagnostic::error(
                    &flow.file,
                    positions.key(id, &format!("steps.{first}")),
                    format!(
                        "these steps loop forever without waiting for the caller: {}",
                        trapped.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
                    ),
                )
                .with_code(codes::ENDLESS_LOOP)
                .with_help("add a way out: a menu or gather in the loop, a branch that leaves it, or a step that ends the call"),
            );
        }
    }
}
