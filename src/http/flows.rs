//! `GET /flows`: what is serving, and why the last reload was refused.
//!
//! The browser page and anyone editing flows on a live server read it: the
//! version (a hash of every flow file), when it went live, each flow with
//! its steps, and the last refused reload with every diagnostic, as
//! `callflow check` reports them. Files are named from the flows folder
//! (`sales/desk.yaml`): where the folder is on the machine is none of the
//! reader's business.
//!
//! It shows what the flows say and whom they dial, so it needs the admin
//! key ([`admin`](super::admin)), as the simulator does. `SIMULATOR=off`
//! does not hide it: the key's holder is the operator.

use std::path::Path;
use std::sync::Arc;

use axum::extract::State;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::AppState;
use super::admin::{self, AdminGate};
use crate::flow::diagnostic::relative_path;
use crate::flow::{Diagnostic, Flow};
use crate::reload::{ReloadError, Status};

pub fn router(admin: Arc<AdminGate>) -> Router<AppState> {
    Router::new()
        .route("/flows", get(list_flows))
        .route_layer(from_fn_with_state(admin, admin::require))
}

async fn list_flows(State(state): State<AppState>) -> Json<FlowsView> {
    let dir = state.flows.dir().unwrap_or(Path::new("."));
    Json(FlowsView::of(&state.flows.status(), dir))
}

#[derive(Debug, Serialize)]
pub struct FlowsView {
    pub version: String,
    /// RFC 3339.
    pub loaded_at: String,
    pub flows: Vec<FlowView>,
    pub last_error: Option<ErrorView>,
}

#[derive(Debug, Serialize)]
pub struct FlowView {
    pub name: String,
    pub file: String,
    pub description: Option<String>,
    pub numbers: Vec<String>,
    pub start: String,
    pub steps: Vec<StepView>,
}

#[derive(Debug, Serialize)]
pub struct StepView {
    pub name: String,
    pub kind: &'static str,
}

#[derive(Debug, Serialize)]
pub struct ErrorView {
    /// RFC 3339.
    pub at: String,
    /// The report as `callflow check` prints it.
    pub report: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl FlowsView {
    /// The status, with files named from `dir`, the flows folder.
    pub fn of(status: &Status, dir: &Path) -> FlowsView {
        FlowsView {
            version: status.serving.version().to_owned(),
            loaded_at: status.loaded_at.to_string(),
            flows: status
                .serving
                .flows()
                .iter()
                .map(|flow| FlowView::of(flow, dir))
                .collect(),
            last_error: status
                .last_error
                .as_ref()
                .map(|error| ErrorView::of(error, dir)),
        }
    }
}

impl FlowView {
    fn of(flow: &Flow, dir: &Path) -> FlowView {
        FlowView {
            name: flow.name.clone(),
            file: relative_path(&flow.file, dir).display().to_string(),
            description: flow.description.clone(),
            numbers: flow.numbers.clone(),
            start: flow.step(flow.start).name.clone(),
            steps: flow
                .steps
                .iter()
                .map(|step| StepView {
                    name: step.name.clone(),
                    kind: step.action.kind(),
                })
                .collect(),
        }
    }
}

impl ErrorView {
    fn of(error: &ReloadError, dir: &Path) -> ErrorView {
        let report = error.report.relative_to(dir);
        ErrorView {
            at: error.at.to_string(),
            report: report.to_string(),
            diagnostics: report.diagnostics,
        }
    }
}
