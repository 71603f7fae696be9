//! `callflow graph`: a flow as a picture. Every step is a box, every way
//! out of it an arrow named as the flow names it (`1`, `no_input`, `busy`,
//! `open`, a branch's condition), so an author sees the whole flow the way
//! a canvas editor shows it.
//!
//! The picture is built once from the compiled flow, where every name is
//! already resolved, as a [`Graph`]; [`mermaid`] and [`dot`] only write it
//! out. The ways out come from each step kind's own
//! [`routes`](super::steps::Action::routes), so a new kind is drawn
//! without a change here.

pub mod dot;
pub mod mermaid;

use super::model::{Flow, FlowSet};
use super::steps::{Action, Route};
use super::target::Target;

/// `callflow graph --format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    /// A Mermaid flowchart, which GitHub and GitLab draw in Markdown.
    #[default]
    Mermaid,
    /// Graphviz DOT, for `dot -Tsvg`.
    Dot,
}

/// A flow drawn as nodes and labelled edges, in the order of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    pub flow: String,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Letters, digits and `_` only, never a word either format reserves
    /// (`end`): step names may hold `-`, which Mermaid reads as an arrow.
    pub id: String,
    /// The step's name (or what the node stands for).
    pub label: String,
    /// The step's kind (`menu`), under the name.
    pub kind: Option<&'static str>,
    pub shape: Shape,
    /// The step it stands for: its name in this flow, `flow:step` in
    /// another, as the metrics name where a call moved; `None` for the
    /// nodes that stand for no step (start, ends).
    pub step: Option<String>,
}

/// What a node is, which each format draws in its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Where calls come in (or, for `fallback`, where broken ones go).
    Entry,
    /// A step that runs and goes on within the same turn.
    Step,
    /// `branch` and `hours`: a choice the call makes without the caller.
    Choice,
    /// A step that waits for the caller: `menu`, `gather`, `record`.
    Waits,
    /// A `dial`: the call waits for someone else.
    Dial,
    /// The call ends here: `hangup`, `reject`, and where flows run out.
    Ends,
    /// A step of another flow, which `goto` or `call` leads to.
    OtherFlow,
}

impl Shape {
    /// The shape's name, as Mermaid's classes and the page's JSON call it.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Entry => "entry",
            Shape::Step => "step",
            Shape::Choice => "choice",
            Shape::Waits => "waits",
            Shape::Dial => "dial",
            Shape::Ends => "ends",
            Shape::OtherFlow => "flow",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// The routes that take this arrow, joined (`1, sales`); empty for the
    /// arrow into the start.
    pub label: String,
    /// Into another flow: drawn dashed, as a link rather than a step.
    pub link: bool,
}

/// Longest route name shown whole; longer ones (branch conditions) are cut
/// with `…`, since an arrow's label wider than its boxes hides the picture.
const MAX_LABEL: usize = 28;

/// Ids of the nodes that stand for no step.
const ENTRY: &str = "n_start";
const FALLBACK: &str = "n_fallback";
const END: &str = "n_end";
const HANGUP: &str = "n_hangup";

/// The graph of the flow named `name`, or `None` when there is none.
pub fn build(flows: &FlowSet, name: &str) -> Option<Graph> {
    let flow = flows.by_name(name)?;
    let mut graph = Graph {
        flow: name.to_owned(),
        nodes: Vec::new(),
        edges: Vec::new(),
    };
    graph.node(ENTRY, "start", None, Shape::Entry, None);
    for (id, step) in flow.steps.iter().enumerate() {
        let shape = shape_of(&step.action);
        let kind = Some(step.action.kind());
        graph.node(
            &step_id(id),
            &step.name,
            kind,
            shape,
            Some(step.name.clone()),
        );
    }
    graph.edge(ENTRY, step_id(flow.start), "", false);
    if let Some(fallback) = flow.fallback {
        graph.node(FALLBACK, "on error", None, Shape::Entry, None);
        graph.edge(FALLBACK, step_id(fallback), "fallback", false);
    }
    for (id, step) in flow.steps.iter().enumerate() {
        let mut routes = Vec::new();
        step.action
            .routes(step.next.unwrap_or(Target::End), &mut routes);
        for Route { label, target } in routes {
            let (to, link) = graph.target_node(flows, flow, target);
            graph.edge(&step_id(id), to, &shorten(&label), link);
        }
    }
    Some(graph)
}

fn step_id(step: usize) -> String {
    format!("s{step}")
}

fn shape_of(action: &Action) -> Shape {
    match action {
        Action::Dial(_) => Shape::Dial,
        Action::Branch(_) | Action::Hours(_) => Shape::Choice,
        action if action.ends() => Shape::Ends,
        action if action.waits() => Shape::Waits,
        _ => Shape::Step,
    }
}

/// `label` cut to [`MAX_LABEL`] characters, with `…` where it was cut.
fn shorten(label: &str) -> String {
    let label = label.split_whitespace().collect::<Vec<_>>().join(" ");
    if label.chars().count() <= MAX_LABEL {
        return label;
    }
    let cut: String = label.chars().take(MAX_LABEL - 1).collect();
    format!("{}…", cut.trim_end())
}

impl Graph {
    fn node(
        &mut self,
        id: &str,
        label: &str,
        kind: Option<&'static str>,
        shape: Shape,
        step: Option<String>,
    ) {
        if self.nodes.iter().all(|node| node.id != id) {
            self.nodes.push(Node {
                id: id.to_owned(),
                label: label.to_owned(),
                kind,
                shape,
                step,
            });
        }
    }

    /// One arrow per pair of nodes: a second route between the same two
    /// adds its name to the first's (`1, sales`).
    fn edge(&mut self, from: &str, to: String, label: &str, link: bool) {
        if let Some(edge) = self
            .edges
            .iter_mut()
            .find(|edge| edge.from == from && edge.to == to)
        {
            if !edge.label.split(", ").any(|known| known == label) {
                edge.label = format!("{}, {label}", edge.label);
            }
            return;
        }
        self.edges.push(Edge {
            from: from.to_owned(),
            to,
            label: label.to_owned(),
            link,
        });
    }

    /// The node a target is drawn as, added when first needed, and whether
    /// the arrow to it leaves the flow.
    fn target_node(&mut self, flows: &FlowSet, flow: &Flow, target: Target) -> (String, bool) {
        match target {
            Target::Step(step) => (step_id(step), false),
            Target::End => {
                self.node(END, "end", None, Shape::Ends, None);
                (END.to_owned(), false)
            }
            Target::Hangup => {
                self.node(HANGUP, "hang up", None, Shape::Ends, None);
                (HANGUP.to_owned(), false)
            }
            Target::Flow(other, step) => {
                let other_flow = flows.get(other);
                // `goto: { flow: this one, step: … }` is a step of this picture.
                if other_flow.name == flow.name {
                    return (step_id(step), false);
                }
                let id = format!("f{other}_{step}");
                let label = if step == other_flow.start {
                    format!("flow {}", other_flow.name)
                } else {
                    format!("flow {}: {}", other_flow.name, other_flow.steps[step].name)
                };
                let to = format!("{}:{}", other_flow.name, other_flow.steps[step].name);
                self.node(&id, &label, None, Shape::OtherFlow, Some(to));
                (id, true)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// The arrows are the ways the checks follow: a kind that changes
    /// `targets` and not `routes` would draw a flow other than the one that
    /// runs.
    #[test]
    fn every_kind_draws_the_targets_it_checks() {
        for dir in [
            "tests/fixtures/flows/steps",
            "tests/fixtures/flows/graph",
            "examples/flows",
            "flows",
        ] {
            let flows = crate::flow::load(Path::new(dir))
                .unwrap_or_else(|report| panic!("{report}"))
                .flows;
            for flow in flows.flows() {
                for step in &flow.steps {
                    let next = step.next.unwrap_or(Target::End);
                    let mut targets = Vec::new();
                    step.action.targets(next, &mut targets);
                    // The steps of another leg (hold, whisper) are drawn
                    // after the ways the call itself goes.
                    let mut legs = Vec::new();
                    step.action.legs(&mut legs);
                    targets.extend(legs.into_iter().map(|(_, target)| target));
                    let mut routes = Vec::new();
                    step.action.routes(next, &mut routes);
                    let routed: Vec<Target> = routes.iter().map(|route| route.target).collect();
                    assert_eq!(routed, targets, "{dir}: {}.{}", flow.name, step.name);
                }
            }
        }
    }

    #[test]
    fn long_conditions_are_cut_and_short_labels_kept() {
        assert_eq!(shorten("busy"), "busy");
        assert_eq!(
            shorten("vars.account | length == 6 and vars.tries < 3"),
            "vars.account | length == 6…"
        );
        assert_eq!(shorten("a\n  b"), "a b");
    }
}
