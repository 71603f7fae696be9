//! `GET /flows/graph?flow=NAME`: a flow as the page draws it.
//!
//! The nodes and arrows are [`graph::build`]'s, the ones `callflow graph`
//! writes as Mermaid or DOT, so the page and the command never disagree.
//! Each node and arrow also carries what the page adds to the picture:
//!
//! - `calls`: how many calls took it since this process started, from the
//!   line's metrics (step entries, and moves from step to step). An arrow
//!   into an end counts the calls that entered its step and moved on to no
//!   other drawn step: they ended there, hung up while it waited, or wait
//!   there now. The `on error` arrow is not counted (`null`).
//! - `source`: the step as its file writes it, with its line, read from the
//!   file as it is on disk now (`null` when the file no longer has it).
//!
//! It shows what the flows say and whom they dial, so it needs the admin
//! key, as `GET /flows` does. It shows the flow file's own text, which names
//! secrets but never holds their values.

use std::path::Path;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::admin::{self, AdminGate};
use super::{AppState, HttpError};
use crate::flow::MaxFileBytes;
use crate::flow::diagnostic::relative_path;
use crate::flow::graph::{self, Graph, Shape};
use crate::flow::source::FlowSource;
use crate::metrics::Metrics;

/// Where the page reads a flow's picture.
pub const GRAPH_PATH: &str = "/flows/graph";

pub fn router(admin: Arc<AdminGate>) -> Router<AppState> {
    Router::new()
        .route(GRAPH_PATH, get(flow_graph))
        .route_layer(from_fn_with_state(admin, admin::require))
}

#[derive(Debug, Deserialize)]
struct Wanted {
    flow: String,
}

#[derive(Debug, Serialize)]
pub struct GraphView {
    pub flow: String,
    /// Named from the flows folder, as `GET /flows` names it.
    pub file: String,
    /// The version serving, as `GET /flows` gives it.
    pub version: String,
    pub nodes: Vec<NodeView>,
    pub edges: Vec<EdgeView>,
}

#[derive(Debug, Serialize)]
pub struct NodeView {
    pub id: String,
    pub label: String,
    pub kind: Option<&'static str>,
    /// `entry`, `step`, `choice`, `waits`, `dial`, `ends` or `flow`.
    pub shape: &'static str,
    /// The step's name in this flow, `flow:step` in another; `null` for
    /// start and the ends.
    pub step: Option<String>,
    pub calls: u64,
    pub source: Option<SourceView>,
}

#[derive(Debug, Serialize)]
pub struct SourceView {
    pub line: usize,
    pub yaml: String,
}

#[derive(Debug, Serialize)]
pub struct EdgeView {
    pub from: String,
    pub to: String,
    pub label: String,
    /// Into another flow: drawn dashed.
    pub link: bool,
    pub calls: Option<u64>,
}

async fn flow_graph(
    State(state): State<AppState>,
    Query(wanted): Query<Wanted>,
) -> Result<Json<GraphView>, HttpError> {
    let status = state.flows.status();
    let flows = &status.serving;
    let Some(graph) = graph::build(flows, &wanted.flow) else {
        let names: Vec<&str> = flows.flows().iter().map(|f| f.name.as_str()).collect();
        return Err(HttpError::NotFound(format!(
            "there is no flow named {:?}; the flows are: {}",
            wanted.flow,
            names.join(", ")
        )));
    };
    let flow = flows.by_name(&wanted.flow).expect("the graph was built");
    let dir = state.flows.dir().unwrap_or(Path::new("."));
    let source = FlowSource::read(&flow.file, MaxFileBytes::default());
    let mut view = GraphView::of(&graph, &state.metrics, source.as_ref());
    view.file = relative_path(&flow.file, dir).display().to_string();
    view.version = flows.version().to_owned();
    Ok(Json(view))
}

impl GraphView {
    /// The picture with its counts and the steps' text; `file` and
    /// `version` are left to the caller.
    pub fn of(graph: &Graph, metrics: &Metrics, source: Option<&FlowSource>) -> GraphView {
        let flow = graph.flow.as_str();
        let step_of = |id: &str| {
            graph
                .nodes
                .iter()
                .find(|node| node.id == id)
                .and_then(|node| node.step.as_deref())
        };
        let edges: Vec<EdgeView> = graph
            .edges
            .iter()
            .map(|edge| {
                let calls = match (step_of(&edge.from), step_of(&edge.to)) {
                    (Some(from), Some(to)) => Some(metrics.routes_taken(flow, from, to)),
                    // Into the start: the calls this flow answered first.
                    (None, Some(_)) if edge.label.is_empty() => Some(metrics.calls_started(flow)),
                    (Some(from), None) => Some(ended_at(graph, metrics, from)),
                    (None, _) => None,
                };
                EdgeView {
                    from: edge.from.clone(),
                    to: edge.to.clone(),
                    label: edge.label.clone(),
                    link: edge.link,
                    calls,
                }
            })
            .collect();
        let nodes = graph
            .nodes
            .iter()
            .map(|node| {
                let own_step = node.kind.and(node.step.as_deref());
                let calls = match own_step {
                    Some(step) => metrics.step_entries(flow, step),
                    // Start, the ends and other flows: what their arrows carried.
                    None => edges
                        .iter()
                        .filter(|edge| {
                            let start = node.shape == Shape::Entry && edge.from == node.id;
                            start || edge.to == node.id
                        })
                        .filter_map(|edge| edge.calls)
                        .sum(),
                };
                NodeView {
                    id: node.id.clone(),
                    label: node.label.clone(),
                    kind: node.kind,
                    shape: node.shape.name(),
                    step: node.step.clone(),
                    calls,
                    source: own_step
                        .and_then(|step| source?.step(step))
                        .map(|s| SourceView {
                            line: s.line,
                            yaml: s.yaml,
                        }),
                }
            })
            .collect();
        GraphView {
            flow: graph.flow.clone(),
            file: String::new(),
            version: String::new(),
            nodes,
            edges,
        }
    }
}

/// Calls that entered `step` and moved to none of the steps its arrows
/// lead to, nor back to itself (a menu asked again).
fn ended_at(graph: &Graph, metrics: &Metrics, step: &str) -> u64 {
    let flow = graph.flow.as_str();
    let from = graph
        .nodes
        .iter()
        .find(|node| node.kind.is_some() && node.step.as_deref() == Some(step))
        .map(|node| node.id.as_str());
    let mut targets = vec![step];
    for edge in graph
        .edges
        .iter()
        .filter(|edge| Some(edge.from.as_str()) == from)
    {
        let to = graph.nodes.iter().find(|node| node.id == edge.to);
        if let Some(to) = to.and_then(|node| node.step.as_deref())
            && !targets.contains(&to)
        {
            targets.push(to);
        }
    }
    let moved: u64 = targets
        .iter()
        .map(|to| metrics.routes_taken(flow, step, to))
        .sum();
    metrics.step_entries(flow, step).saturating_sub(moved)
}
