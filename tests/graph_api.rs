//! `GET /flows/graph?flow=NAME`, what the page draws a flow from: the same
//! nodes and arrows as `callflow graph`, each step's YAML with its line,
//! and how many real calls took each step and arrow; and who may read it.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use axum::Router;
use axum::http::StatusCode;
use callflow::http;
use callflow::simulator::{CallSetup, SimulatedCall};
use common::*;
use serde_json::Value;

const ADMIN_KEY: &str = "graph-api-test-admin-key-42";

async fn get(router: &Router, path: &str, key: Option<&str>) -> (StatusCode, Value) {
    let (status, body) = get_with_key(router, path, key).await;
    let json = serde_json::from_str(&body).unwrap_or_else(|_| panic!("JSON, got {status} {body}"));
    (status, json)
}

async fn graph_of(router: &Router, flow: &str) -> Value {
    let (status, graph) = get(
        router,
        &format!("/flows/graph?flow={flow}"),
        Some(ADMIN_KEY),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{graph}");
    graph
}

/// Each arrow as (from, to) by node id, and the arrows of the Mermaid
/// chart `callflow graph` prints, the same way.
fn arrows(graph: &Value) -> BTreeSet<(String, String)> {
    graph["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| {
            let end = |key: &str| edge[key].as_str().unwrap().to_owned();
            (end("from"), end("to"))
        })
        .collect()
}

fn cli_arrows(flow: &str) -> BTreeSet<(String, String)> {
    let output = Command::new(env!("CARGO_BIN_EXE_callflow"))
        .env("FLOWS_DIR", repo_path("flows"))
        .args(["graph", flow])
        .output()
        .expect("the binary runs");
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter(|line| line.contains(" -->") || line.contains(" -.->"))
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            (words[0].to_owned(), words[words.len() - 1].to_owned())
        })
        .collect()
}

fn node<'g>(graph: &'g Value, step: &str) -> &'g Value {
    graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["step"] == step)
        .unwrap_or_else(|| panic!("a node for {step} in {graph}"))
}

fn edge_calls(graph: &Value, from: &str, to: &str) -> Value {
    let id = |step: &str| {
        graph["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|node| node["step"] == step || node["id"] == step)
            .map(|node| node["id"].clone())
            .unwrap()
    };
    let (from, to) = (id(from), id(to));
    graph["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|edge| edge["from"] == from && edge["to"] == to)
        .unwrap_or_else(|| panic!("an arrow {from} -> {to}"))["calls"]
        .clone()
}

#[tokio::test]
async fn the_page_s_picture_is_the_command_s_with_each_step_s_yaml() {
    let router = http::router(state_with_key(ADMIN_KEY));
    let graph = graph_of(&router, "main").await;
    assert_eq!(graph["flow"], "main");
    assert_eq!(graph["file"], "main.yaml");
    assert_eq!(arrows(&graph), cli_arrows("main"));

    let text = std::fs::read_to_string(repo_path("flows/main.yaml")).unwrap();
    let flows = callflow::flow::load(&repo_path("flows")).unwrap().flows;
    let main = flows.by_name("main").unwrap();
    for step in &main.steps {
        let node = node(&graph, &step.name);
        assert_eq!(node["kind"], step.action.kind());
        let source = &node["source"];
        let line = source["line"].as_u64().unwrap() as usize;
        assert_eq!(
            text.lines().nth(line - 1).unwrap(),
            format!("  {}:", step.name),
            "{} starts on its line",
            step.name
        );
        assert!(text.contains(source["yaml"].as_str().unwrap()), "{source}");
    }
    let menu = node(&graph, "menu")["source"]["yaml"].as_str().unwrap();
    assert!(menu.starts_with("  menu:\n    menu:\n"), "{menu}");
    assert!(menu.contains("otherwise: goodbye"), "{menu}");
    assert!(!menu.contains("sales:\n    dial"), "only the menu: {menu}");

    // The shapes say what a step does with the call, as in `callflow graph`.
    assert_eq!(node(&graph, "menu")["shape"], "waits");
    assert_eq!(node(&graph, "sales")["shape"], "dial");
    assert_eq!(node(&graph, "office_hours")["shape"], "choice");
    assert_eq!(node(&graph, "welcome")["shape"], "step");
    let ends: Vec<&Value> = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|node| node["shape"] == "ends")
        .collect();
    assert_eq!(ends.len(), 1, "{graph}");
    assert_eq!(ends[0]["label"], "hang up");
}

#[tokio::test]
async fn steps_and_arrows_carry_the_real_calls_that_took_them() {
    let router = http::router(state_with_key(ADMIN_KEY));
    let before = graph_of(&router, "main").await;
    assert_eq!(node(&before, "welcome")["calls"], 0);
    assert_eq!(edge_calls(&before, "menu", "sales"), 0);

    // Sales answers, then goodbye; and a caller who hangs up at the menu.
    play(&router, vec![press("1"), outcome("completed")]).await;
    SimulatedCall::start(router.clone(), CallSetup::default())
        .await
        .unwrap();

    let graph = graph_of(&router, "main").await;
    assert_eq!(node(&graph, "welcome")["calls"], 2);
    assert_eq!(node(&graph, "menu")["calls"], 2);
    assert_eq!(node(&graph, "sales")["calls"], 1);
    assert_eq!(node(&graph, "support")["calls"], 0);
    assert_eq!(edge_calls(&graph, "n_start", "welcome"), 2);
    assert_eq!(edge_calls(&graph, "welcome", "office_hours"), 2);
    assert_eq!(edge_calls(&graph, "menu", "sales"), 1);
    assert_eq!(edge_calls(&graph, "sales", "goodbye"), 1);
    assert_eq!(edge_calls(&graph, "sales", "voicemail"), 0);
    assert_eq!(edge_calls(&graph, "goodbye", "n_hangup"), 1);
    let hangup = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["id"] == "n_hangup")
        .unwrap();
    assert_eq!(hangup["calls"], 1);
}

#[tokio::test]
async fn the_picture_needs_the_admin_key_and_names_the_flows_it_has() {
    let router = http::router(state_with_key(ADMIN_KEY));
    let (status, body) = get(&router, "/flows/graph?flow=main", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = get(
        &router,
        "/flows/graph?flow=main",
        Some("not-the-key-at-all-000"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, body) = get(&router, "/flows/graph?flow=mian", Some(ADMIN_KEY)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("\"mian\""), "{error}");
    assert!(error.contains("main, outbound"), "{error}");
}
