//! `callflow graph`: every step drawn, every way out of it an arrow named
//! as the flow names it, as Mermaid and as DOT that Graphviz reads.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::process::{Command, Output, Stdio};

use common::repo_path;

/// `callflow graph FLOW [--format F]` over the flows in `dir`.
fn graph(dir: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callflow"))
        .env("FLOWS_DIR", repo_path(dir))
        .arg("graph")
        .args(args)
        .output()
        .expect("the binary runs")
}

fn mermaid(dir: &str, flow: &str) -> String {
    let output = graph(dir, &[flow]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A chart read back: each node's label (the step's name, before its kind)
/// and class, and each arrow as (from, label, to) by those names.
struct Chart {
    nodes: HashMap<String, (String, String)>,
    edges: BTreeSet<(String, String, String)>,
    dashed: BTreeSet<(String, String)>,
}

fn read_mermaid(chart: &str) -> Chart {
    let mut lines = chart.lines();
    assert_eq!(lines.next(), Some("flowchart TD"));
    let mut nodes = HashMap::new();
    let mut raw_edges = Vec::new();
    for line in lines.map(str::trim) {
        if line.starts_with("classDef ") {
            continue;
        }
        if let Some((from, rest)) = line.split_once(" -->").or_else(|| line.split_once(" -.->")) {
            let dashed = line.contains(" -.->");
            let (label, to) = match rest.strip_prefix("|\"") {
                Some(labelled) => {
                    let (label, to) = labelled.split_once("\"| ").unwrap();
                    (label.to_owned(), to.to_owned())
                }
                None => (String::new(), rest.trim().to_owned()),
            };
            raw_edges.push((from.to_owned(), label, to, dashed));
            continue;
        }
        let id: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        assert!(!id.is_empty(), "a node line starts with a plain id: {line}");
        let label = line.split('"').nth(1).unwrap();
        let name = label.split("<br/>").next().unwrap().to_owned();
        let class = line.rsplit(":::").next().unwrap().to_owned();
        nodes.insert(id, (name, class));
    }
    let name = |id: &str| nodes[id].0.clone();
    let edges = raw_edges
        .iter()
        .map(|(from, label, to, _)| (name(from), label.clone(), name(to)))
        .collect();
    let dashed = raw_edges
        .iter()
        .filter(|edge| edge.3)
        .map(|(from, _, to, _)| (name(from), name(to)))
        .collect();
    Chart {
        nodes,
        edges,
        dashed,
    }
}

fn edge(from: &str, label: &str, to: &str) -> (String, String, String) {
    (from.into(), label.into(), to.into())
}

#[test]
fn every_step_is_a_node_and_every_route_a_labelled_edge() {
    let chart = read_mermaid(&mermaid("tests/fixtures/flows/graph", "desk"));
    let names: BTreeSet<&str> = chart
        .nodes
        .values()
        .map(|(name, _)| name.as_str())
        .collect();
    for step in [
        "open-hours",
        "main-menu",
        "lookup",
        "verify",
        "route",
        "agent",
        "billing",
        "closed",
        "sorry",
        "bye",
    ] {
        assert!(names.contains(step), "no node for step {step}: {names:?}");
    }
    let expected = [
        edge("start", "", "open-hours"),
        edge("on error", "fallback", "sorry"),
        // hours
        edge("open-hours", "open", "main-menu"),
        edge("open-hours", "closed", "closed"),
        // menu: two keys to one step share an arrow
        edge("main-menu", "1, orders", "lookup"),
        edge("main-menu", "2", "billing"),
        edge("main-menu", "3", "route"),
        edge("main-menu", "no_input", "closed"),
        edge("main-menu", "no_match", "agent"),
        // request outcomes
        edge("lookup", "next", "verify"),
        edge("lookup", "error, timeout", "sorry"),
        // a call into another flow, and where it comes back to
        edge("verify", "call", "flow verified"),
        edge("verify", "next", "route"),
        // branch arms, the long condition shortened, quotes escaped
        edge("route", "vars.verified == #quot;yes#quot; and…", "agent"),
        edge("route", "vars.tier", "main-menu"),
        edge("route", "else", "closed"),
        // dial outcomes
        edge("agent", "busy, no-answer", "closed"),
        edge("agent", "next", "bye"),
        // goto another flow's step
        edge("billing", "goto", "flow billing: card"),
        edge("closed", "next", "bye"),
    ];
    assert_eq!(chart.edges, expected.into_iter().collect());
    assert_eq!(
        chart.dashed,
        [
            ("verify".into(), "flow verified".into()),
            ("billing".into(), "flow billing: card".into())
        ]
        .into_iter()
        .collect(),
        "links into other flows are dashed"
    );
}

#[test]
fn waiting_steps_dials_and_ends_look_different() {
    let chart = read_mermaid(&mermaid("tests/fixtures/flows/graph", "desk"));
    let class = |step: &str| {
        chart
            .nodes
            .values()
            .find(|(name, _)| name == step)
            .map(|(_, class)| class.clone())
            .unwrap()
    };
    assert_eq!(class("main-menu"), "waits");
    assert_eq!(class("agent"), "dial");
    assert_eq!(class("bye"), "ends");
    assert_eq!(class("sorry"), "ends");
    assert_eq!(class("route"), "choice");
    assert_eq!(class("closed"), "step");
    let classes: BTreeSet<&str> = chart.nodes.values().map(|(_, c)| c.as_str()).collect();
    assert!(classes.contains("flow"));
}

#[test]
fn a_goto_into_the_same_flow_leads_to_its_step() {
    let chart = read_mermaid(&mermaid("tests/fixtures/flows/steps", "kinds"));
    assert!(
        chart.edges.contains(&edge("goto", "goto", "say")),
        "{:?}",
        chart.edges
    );
    assert!(chart.edges.contains(&edge("call", "call", "flow called")));
}

#[test]
fn a_sub_flow_returns_to_an_end() {
    let chart = read_mermaid(&mermaid("tests/fixtures/flows/graph", "verified"));
    assert!(chart.edges.contains(&edge("done", "return", "end")));
    assert!(chart.edges.contains(&edge("ask", "next", "done")));
}

#[test]
fn labels_cannot_break_the_chart() {
    let chart = mermaid("tests/fixtures/flows/graph", "desk");
    for line in chart.lines().filter(|line| line.contains('"')) {
        // Every quote opens or closes a label: an even number a line.
        assert_eq!(line.matches('"').count() % 2, 0, "{line}");
        assert!(!line.contains('<') || line.contains("<br/>"), "{line}");
    }
    // Step names with `-` never become ids (Mermaid reads `-` as an arrow).
    assert!(chart.contains("s0{\"open-hours"), "{chart}");
}

#[test]
fn dot_output_is_read_by_graphviz() {
    let output = graph("tests/fixtures/flows/graph", &["desk", "--format", "dot"]);
    assert!(output.status.success());
    let dot_text = String::from_utf8(output.stdout).unwrap();
    assert!(dot_text.starts_with("digraph \"desk\" {"), "{dot_text}");
    assert!(
        dot_text.contains("\"s1\" [label=\"main-menu\\n(menu)\""),
        "{dot_text}"
    );
    assert!(
        dot_text.contains("[label=\"vars.verified == \\\"yes\\\" and…\"]"),
        "{dot_text}"
    );
    assert!(
        dot_text.contains("[label=\"goto\", style=dashed]"),
        "{dot_text}"
    );
    let Some(dot) = common::process::tool("dot", "apt-get install graphviz") else {
        return;
    };
    let mut child = Command::new(dot)
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(dot_text.as_bytes())
        .unwrap();
    let rendered = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&rendered.stderr);
    assert!(rendered.status.success() && stderr.is_empty(), "{stderr}");
    let svg = String::from_utf8_lossy(&rendered.stdout);
    for step in ["lookup", "agent", "bye"] {
        assert!(
            svg.contains(&format!(">{step}<")),
            "the picture shows {step}"
        );
    }
    let nodes = dot_text
        .lines()
        .filter(|l| l.contains(" [label=") && !l.contains("->"))
        .count();
    let edges = dot_text.lines().filter(|l| l.contains(" -> ")).count();
    assert_eq!(svg.matches("class=\"node\"").count(), nodes);
    assert_eq!(svg.matches("class=\"edge\"").count(), edges);
}

#[test]
fn an_unknown_flow_is_named_with_the_ones_there_are() {
    let output = graph("tests/fixtures/flows/graph", &["dsk"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no flow named `dsk`"), "{stderr}");
    assert!(stderr.contains("did you mean `desk`?"), "{stderr}");
}

/// The README's picture of `flows/main.yaml` is the command's output, so
/// it cannot fall behind the flow.
#[test]
fn the_readme_diagram_is_what_the_command_draws() {
    let chart = mermaid("flows", "main");
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    assert!(
        readme.contains(&format!("```mermaid\n{chart}```\n")),
        "the README's diagram of flows/main.yaml is out of date: replace its ```mermaid block with \
         the output of `FLOWS_DIR=flows callflow graph main`:\n{chart}"
    );
}
