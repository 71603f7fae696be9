//! `GET /flows`: what is serving, and why the last reload was refused.
//!
//! The browser page and anyone editing flows on a live server read it: the
//! version (a hash of every flow file), when it went live, each flow with
//! its steps, and the last refused reload with every diagnostic, as
//! `callflow check` reports them. Files are named from the flows folder
//! (`sales/desk.yaml`): where the folder is on the machine is none of the
//! reader's business.

use std::net::SocketAddr;
use std::path::Path;

use axum::extract::rejection::ExtensionRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;

use super::HttpError;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::AppState;
use crate::flow::diagnostic::relative_path;
use crate::flow::{Diagnostic, Flow};
use crate::reload::{ReloadError, Status};

pub fn router() -> Router<AppState> {
    Router::new().route("/flows", get(list_flows))
}

/// `/flows` shows what the flows say and whom they dial, as the simulator
/// does, so the same `SIMULATOR` rule decides who may read it (by default,
/// only a client on the server's own machine).
async fn list_flows(
    State(state): State<AppState>,
    peer: Result<ConnectInfo<SocketAddr>, ExtensionRejection>,
    headers: HeaderMap,
) -> Response {
    let peer = peer.ok().map(|ConnectInfo(addr)| addr);
    if state.page.simulator.refusal(peer, &headers).is_some() {
        let reason = format!(
            "/flows lists what the flows say and whom they dial, so this server shows it only as the simulator allows: {}. Read it from the server's own machine (curl http://localhost:PORT/flows) or set SIMULATOR=on on a server only you can reach.",
            state.page.simulator.describe()
        );
        return HttpError::Forbidden(reason).into_response();
    }
    let dir = state.flows.dir().unwrap_or(Path::new("."));
    Json(FlowsView::of(&state.flows.status(), dir)).into_response()
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
