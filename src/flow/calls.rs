//! Checks that follow `call` steps across flows, once every flow is
//! compiled: a sub-flow that can never come back, a flow that calls itself
//! (directly or through others), calls nested deeper than a call may go,
//! and `return` steps no call leads to. A `call` naming a flow or step
//! that does not exist is reported when the step compiles, as for `goto`.
//!
//! Each call step starts a frame: the steps a call can run inside the
//! sub-flow before it comes back, following `next`, options and `goto`
//! (even into other flows), and passing over nested calls to their `next`.

use std::sync::Arc;

use std::collections::VecDeque;

use super::diagnostic::{Diagnostic, Report, codes};
use super::model::{Flow, Step};
use super::positions::Positions;
use super::steps::Action;
use super::steps::call::MAX_DEPTH;
use super::target::{FlowId, StepId, Target};

type Node = (FlowId, StepId);

/// The flows a check looks at, with their ids: a part of the set that no
/// `goto` or `call` leads into or out of, so what the checks find there
/// depends on it alone.
pub(super) fn in_scope<'a>(
    flows: &'a [Arc<Flow>],
    scope: &'a [FlowId],
) -> impl Iterator<Item = (FlowId, &'a Arc<Flow>)> + 'a {
    scope.iter().map(|&id| (id, &flows[id]))
}

/// One `call` step: where it is, and where the sub-flow starts.
struct CallSite {
    at: Node,
    entry: Node,
}

/// Where a step leads inside its frame: `None` is the end of the flow
/// (which comes back), a hang-up is left out. A call step leads to its
/// `next`; its sub-flow is a frame of its own.
fn frame_targets(flow: FlowId, step: &Step) -> Vec<Option<Node>> {
    let next = step.next.unwrap_or(Target::End);
    let mut out = Vec::new();
    if step.action.calls().is_some() {
        out.push(next);
    } else {
        step.action.targets(next, &mut out);
    }
    out.into_iter()
        .filter_map(|target| match target {
            Target::Step(step) => Some(Some((flow, step))),
            Target::Flow(other, step) => Some(Some((other, step))),
            Target::End => Some(None),
            Target::Hangup => None,
        })
        .collect()
}

/// A sub-flow as a `call` names it: `flow `billing`` when it starts at the
/// flow's start, else `flow:step`.
fn sub_flow(flows: &[Arc<Flow>], (flow, step): Node) -> String {
    if flows[flow].start == step {
        format!("flow `{}`", flows[flow].name)
    } else {
        format!("`{}`", name(flows, (flow, step)))
    }
}

fn name(flows: &[Arc<Flow>], (flow, step): Node) -> String {
    format!("{}:{}", flows[flow].name, flows[flow].steps[step].name)
}

pub(super) fn check_calls(
    flows: &[Arc<Flow>],
    scope: &[FlowId],
    positions: &Positions<'_>,
    report: &mut Report,
) {
    let mut sites = Vec::new();
    for (id, flow) in in_scope(flows, scope) {
        for (step_id, step) in flow.steps.iter().enumerate() {
            if let Some(Target::Flow(to, entry)) = step.action.calls() {
                sites.push(CallSite {
                    at: (id, step_id),
                    entry: (to, entry),
                });
            }
        }
    }
    let error_at = |(flow, step): Node, message: String, help: &str| {
        Diagnostic::error(
            &flows[flow].file,
            positions.key(
                flow,
                &format!("steps.{}.call", flows[flow].steps[step].name),
            ),
            message,
        )
        .with_code(codes::BAD_CALL)
        .with_help(help)
    };

    let comes_back = comes_back(flows, scope);
    for site in &sites {
        if !comes_back[site.entry.0][site.entry.1] {
            report.push(error_at(
                site.at,
                format!(
                    "{} never comes back here: every way through it hangs up, or loops without reaching `return` or its end",
                    sub_flow(flows, site.entry)
                ),
                "end a way through the sub-flow with `return` or a step without `next`, or use `goto` if the call should not come back",
            ));
        }
    }

    // Which calls each sub-flow can make in its own frame.
    let inner: Vec<Vec<usize>> = sites
        .iter()
        .map(|site| {
            let frame = frame_of(flows, [site.entry]);
            (0..sites.len())
                .filter(|&other| frame[sites[other].at.0][sites[other].at.1])
                .collect()
        })
        .collect();
    let mut recursive = false;
    for (i, site) in sites.iter().enumerate() {
        if let Some(path) = path_back(&inner, i) {
            recursive = true;
            let chain: Vec<String> = std::iter::once(i)
                .chain(path)
                .map(|s| format!("`{}`", name(flows, sites[s].at)))
                .collect();
            report.push(error_at(
                site.at,
                format!(
                    "this call comes round to itself, so its sub-flows would nest without end: {}",
                    chain.join(" → ")
                ),
                "a flow cannot call itself, directly or through others: repeat steps with `next` or `goto` inside the sub-flow instead",
            ));
        }
    }
    if !recursive {
        refuse_deep_nesting(flows, &sites, &inner, report, &error_at);
    }
    warn_returns_outside_calls(flows, scope, positions, &sites, report);
}

/// Which steps can reach the end of their flow or a `return`, within their
/// frame: a step that calls comes back only when its sub-flow does.
fn comes_back(flows: &[Arc<Flow>], scope: &[FlowId]) -> Vec<Vec<bool>> {
    let mut back: Vec<Vec<bool>> = flows.iter().map(|f| vec![false; f.steps.len()]).collect();
    let mut waiting_on: Vec<Vec<Vec<Node>>> = flows
        .iter()
        .map(|f| vec![Vec::new(); f.steps.len()])
        .collect();
    for (id, flow) in in_scope(flows, scope) {
        for (step_id, step) in flow.steps.iter().enumerate() {
            for target in frame_targets(id, step).into_iter().flatten() {
                waiting_on[target.0][target.1].push((id, step_id));
            }
            if let Some(Target::Flow(to, entry)) = step.action.calls() {
                waiting_on[to][entry].push((id, step_id));
            }
        }
    }
    let holds = |back: &Vec<Vec<bool>>, (flow, step): Node| -> bool {
        let here = &flows[flow].steps[step];
        let called_back = match here.action.calls() {
            Some(Target::Flow(to, entry)) => back[to][entry],
            Some(_) => false,
            None => true,
        };
        called_back
            && frame_targets(flow, here)
                .into_iter()
                .any(|target| target.is_none_or(|(f, s)| back[f][s]))
    };
    let mut queue: VecDeque<Node> = VecDeque::new();
    for (id, flow) in in_scope(flows, scope) {
        for step in 0..flow.steps.len() {
            if holds(&back, (id, step)) {
                back[id][step] = true;
                queue.push_back((id, step));
            }
        }
    }
    while let Some((flow, step)) = queue.pop_front() {
        for &(f, s) in &waiting_on[flow][step] {
            if !back[f][s] && holds(&back, (f, s)) {
                back[f][s] = true;
                queue.push_back((f, s));
            }
        }
    }
    back
}

/// The steps a call can run inside the frames starting at `entries`.
fn frame_of(flows: &[Arc<Flow>], entries: impl IntoIterator<Item = Node>) -> Vec<Vec<bool>> {
    let mut seen: Vec<Vec<bool>> = flows.iter().map(|f| vec![false; f.steps.len()]).collect();
    let mut queue: VecDeque<Node> = entries.into_iter().collect();
    while let Some((flow, step)) = queue.pop_front() {
        if std::mem::replace(&mut seen[flow][step], true) {
            continue;
        }
        queue.extend(
            frame_targets(flow, &flows[flow].steps[step])
                .into_iter()
                .flatten(),
        );
    }
    seen
}

/// The calls from `start`'s sub-flow that lead back to `start`, in order,
/// ending with `start`; `None` when none does.
fn path_back(inner: &[Vec<usize>], start: usize) -> Option<Vec<usize>> {
    let mut parent: Vec<Option<usize>> = vec![None; inner.len()];
    let mut queue: VecDeque<usize> = VecDeque::new();
    for &next in &inner[start] {
        if parent[next].is_none() {
            parent[next] = Some(start);
            queue.push_back(next);
        }
    }
    while let Some(site) = queue.pop_front() {
        if site == start {
            let mut path = vec![start];
            let mut at = parent[start].expect("reached from a parent");
            while at != start {
                path.push(at);
                at = parent[at].expect("reached from a parent");
            }
            path.reverse();
            return Some(path);
        }
        for &next in &inner[site] {
            if parent[next].is_none() {
                parent[next] = Some(site);
                queue.push_back(next);
            }
        }
    }
    None
}

/// Calls nested deeper than [`MAX_DEPTH`], reported at the outermost call
/// of each chain. Only run when no call is recursive, so the calls form a
/// tree-like graph without cycles.
fn refuse_deep_nesting(
    flows: &[Arc<Flow>],
    sites: &[CallSite],
    inner: &[Vec<usize>],
    report: &mut Report,
    error_at: &dyn Fn(Node, String, &str) -> Diagnostic,
) {
    fn depth(site: usize, inner: &[Vec<usize>], memo: &mut Vec<Option<usize>>) -> usize {
        if let Some(known) = memo[site] {
            return known;
        }
        let deepest = inner[site]
            .iter()
            .map(|&next| depth(next, inner, memo))
            .max()
            .unwrap_or(0);
        memo[site] = Some(deepest + 1);
        deepest + 1
    }
    let mut memo = vec![None; sites.len()];
    let called: Vec<bool> = (0..sites.len())
        .map(|site| inner.iter().any(|calls| calls.contains(&site)))
        .collect();
    for (i, site) in sites.iter().enumerate() {
        let deep = depth(i, inner, &mut memo);
        if deep <= MAX_DEPTH || called[i] {
            continue;
        }
        let mut chain = vec![i];
        while let Some(&next) = inner[*chain.last().expect("not empty")]
            .iter()
            .max_by_key(|&&next| memo[next])
        {
            chain.push(next);
        }
        let chain: Vec<String> = chain
            .iter()
            .map(|&s| format!("`{}`", name(flows, sites[s].at)))
            .collect();
        report.push(error_at(
            site.at,
            format!(
                "calls nest {deep} deep from here, and at most {MAX_DEPTH} sub-flows may be in progress at once: {}",
                chain.join(" → ")
            ),
            "flatten the chain: let a sub-flow `return` and the caller make the next call",
        ));
    }
}

/// A `return` no call leads to only ever ends the call: most likely the
/// flow was meant to be called, or `hangup` was meant.
fn warn_returns_outside_calls(
    flows: &[Arc<Flow>],
    scope: &[FlowId],
    positions: &Positions<'_>,
    sites: &[CallSite],
    report: &mut Report,
) {
    let inside = frame_of(flows, sites.iter().map(|site| site.entry));
    for (id, flow) in in_scope(flows, scope) {
        for (step_id, step) in flow.steps.iter().enumerate() {
            if matches!(step.action, Action::Return(_)) && !inside[id][step_id] {
                report.push(
                    Diagnostic::warning(
                        &flow.file,
                        positions.key(id, &format!("steps.{}.return", step.name)),
                        "no `call` leads to this `return`, so it only ever ends the call",
                    )
                    .with_code(codes::RETURN_WITHOUT_CALL)
                    .with_help(
                        "call this flow with `call` from another, or end the call with `hangup`",
                    ),
                );
            }
        }
    }
}
