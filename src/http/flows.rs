//! `GET /flows`: what is serving, and why the last reload was refused.
//!
//! The browser page and anyone editing flows on a live server read it: the
//! version (a hash of every flow file), when it went live, each flow with
//! its steps, and the last refused reload with every diagnostic, as
//! `callflow check` reports them.
//!
//! It shows what the flows say, whom they dial and where their files are, so
//! it needs the admin key ([`admin`](super::admin)), as the simulator does.
//! `SIMULATOR=off` does not hide it: the key's holder is the operator.

use std::sync::Arc;

use axum::extract::State;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::AppState;
use super::admin::{self, AdminGate};
use crate::flow::{Diagnostic, Flow};
use crate::reload::{ReloadError, Status};

pub fn router(admin: Arc<AdminGate>) -> Router<AppState> {
    Router::new()
        .route("/flows", get(list_flows))
        .route_layer(from_fn_with_state(admin, admin::require))
}

async fn list_flows(State(state): State<AppState>) -> Json<FlowsView> {
    Json(FlowsView::of(&state.flows.status()))
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
    pub fn of(status: &Status) -> FlowsView {
        FlowsView {
            version: status.serving.version().to_owned(),
            loaded_at: status.loaded_at.to_string(),
            flows: status.serving.flows().iter().map(FlowView::of).collect(),
            last_error: status.last_error.as_ref().map(ErrorView::of),
        }
    }
}

impl FlowView {
    fn of(flow: &Flow) -> FlowView {
        FlowView {
            name: flow.name.clone(),
            file: flow.file.display().to_string(),
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
    fn of(error: &ReloadError) -> ErrorView {
        ErrorView {
            at: error.at.to_string(),
            report: error.report.to_string(),
            diagnostics: error.report.diagnostics.clone(),
        }
    }
}
