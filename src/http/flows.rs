//! `GET /flows`: what is serving, and why the last reload was refused.
//!
//! The browser page and anyone editing flows on a live server read it: the
//! version (a hash of every flow file), when it went live, each flow with
//! its steps, and the last refused reload with every diagnostic, as
//! `callflow check` reports them.

use std::net::SocketAddr;

use axum::extract::rejection::ExtensionRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;

use super::HttpError;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::AppState;
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
    Json(FlowsView::of(&state.flows.status())).into_response()
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
