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
use crate::engine::Leg;

type Node = (FlowId, StepId);

/// Where a step can lead: `None` means the call ends.
fn targets(flow: FlowId, step: &Step) -> Vec<Option<Node>> {
    let mut out = Vec::new();
    step.action
        .targets(step.next.unwrap_or(Target::Hangup), &mut out);
    let mut legs = Vec::new();
    step.action.legs(&mut legs);
    out.extend(legs.into_iter().map(|(_, target)| target));
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
    check_legs(flows, scope, positions, report);
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

/// The kinds of step that may run on a leg other than the caller's: the
/// verbs Twilio plays in a queue's wait URL (`Say`, `Play`, `Pause`,
/// `Gather`, `Hangup`, `Redirect`, `Leave`) and in a callee's `<Number url>`
/// (the same, less `Leave`), and steps that write no TwiML at all.
fn runs_on(leg: Leg, action: &Action) -> bool {
    match action {
        Action::Say(_)
        | Action::Play(_)
        | Action::Pause(_)
        | Action::Gather(_)
        | Action::Menu(_)
        | Action::Branch(_)
        | Action::Hours(_)
        | Action::Set(_)
        | Action::Goto(_)
        | Action::Hangup(_)
        | Action::Request(_)
        | Action::Sms(_) => true,
        Action::Leave(_) => leg == Leg::Queue,
        _ => leg == Leg::Caller,
    }
}

/// Steps that run while a caller holds, or on a callee's phone, may only do
/// what Twilio does there; and a `leave` on the caller's own path would do
/// nothing. Each step is checked on every leg that reaches it.
fn check_legs(
    flows: &[Arc<Flow>],
    scope: &[FlowId],
    positions: &Positions<'_>,
    report: &mut Report,
) {
    let mut entries: Vec<(Node, Leg, Node)> = Vec::new();
    for (id, flow) in in_scope(flows, scope) {
        entries.push(((id, flow.start), Leg::Caller, (id, flow.start)));
        if let Some(fallback) = flow.fallback {
            entries.push(((id, fallback), Leg::Caller, (id, fallback)));
        }
        for (step_id, step) in flow.steps.iter().enumerate() {
            let mut legs = Vec::new();
            step.action.legs(&mut legs);
            for (leg, target) in legs {
                let entry = match target {
                    Target::Step(entry) => (id, entry),
                    Target::Flow(other, entry) => (other, entry),
                    Target::Hangup | Target::End => continue,
                };
                entries.push(((id, step_id), leg, entry));
            }
        }
    }
    let mut reported = std::collections::HashSet::new();
    for (from, leg, entry) in entries {
        let mut seen = std::collections::HashSet::new();
        let mut queue = VecDeque::from([entry]);
        while let Some((flow, step_id)) = queue.pop_front() {
            if !seen.insert((flow, step_id)) {
                continue;
            }
            let step = &flows[flow].steps[step_id];
            if !runs_on(leg, &step.action) {
                if scope.contains(&flow) && reported.insert((flow, step_id, leg)) {
                    report.push(wrong_leg(flows, positions, (flow, step_id), leg, from));
                }
                continue;
            }
            let mut out = Vec::new();
            step.action
                .targets(step.next.unwrap_or(Target::Hangup), &mut out);
            queue.extend(out.into_iter().filter_map(|target| match target {
                Target::Step(next) => Some((flow, next)),
                Target::Flow(other, next) => Some((other, next)),
                Target::Hangup | Target::End => None,
            }));
        }
    }
}

fn wrong_leg(
    flows: &[Arc<Flow>],
    positions: &Positions<'_>,
    (flow, step_id): Node,
    leg: Leg,
    from: Node,
) -> Diagnostic {
    let step = &flows[flow].steps[step_id];
    let kind = step.action.kind();
    let opener = &flows[from.0].steps[from.1].name;
    let (message, help) = match leg {
        Leg::Queue => (
            format!(
                "step `{}` runs while a caller holds in the queue of `{opener}`, where Twilio cannot `{kind}`",
                step.name
            ),
            "hold steps may say, play, pause, gather, branch, check hours, set, goto, request, sms, leave and hang up; end them to play them again",
        ),
        Leg::Callee => (
            format!(
                "step `{}` runs on the phone of the person `{opener}` dials, before the call is joined, where Twilio cannot `{kind}`",
                step.name
            ),
            "whisper steps may say, play, pause, gather, branch, check hours, set, goto, request, sms and hang up (to decline); end them to join the call",
        ),
        Leg::Caller => (
            format!(
                "step `{}` is a `leave`, which only takes a caller out of a queue, but it runs on the caller's own path",
                step.name
            ),
            "run it from an `enqueue`'s `hold` steps",
        ),
    };
    Diagnostic::error(
        &flows[flow].file,
        positions.key(flow, &format!("steps.{}.{kind}", step.name)),
        message,
    )
    .with_code(codes::WRONG_LEG)
    .with_help(help)
}
