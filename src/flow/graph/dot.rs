//! A [`Graph`] in Graphviz's DOT language: `callflow graph main --format
//! dot | dot -Tsvg > main.svg`. Ids are quoted and labels escaped, so any
//! step name or condition is a valid DOT string.

use std::fmt::Write;

use super::{Graph, Shape};

/// The digraph, top to bottom, ending with a newline.
pub fn write(graph: &Graph) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", escape(&graph.flow));
    out.push_str("    rankdir=TB;\n");
    out.push_str("    node [fontname=\"Helvetica\", shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\"];\n");
    out.push_str("    edge [fontname=\"Helvetica\", fontsize=10];\n");
    for node in &graph.nodes {
        let mut label = escape(&node.label);
        if let Some(kind) = node.kind {
            let _ = write!(label, "\\n({kind})");
        }
        // The same colours as the Mermaid chart.
        let look = match node.shape {
            Shape::Entry => "shape=circle, fillcolor=\"#eeeeee\"",
            Shape::Step => "shape=box",
            Shape::Choice => "shape=diamond, style=filled, fillcolor=\"#e3eefc\"",
            Shape::Waits => "shape=box, fillcolor=\"#fff3d4\", penwidth=2",
            Shape::Dial => "shape=box3d, style=filled, fillcolor=\"#ddf4e4\"",
            Shape::Ends => "shape=doublecircle, style=filled, fillcolor=\"#fde2e2\"",
            Shape::OtherFlow => "shape=folder, style=\"filled,dashed\", fillcolor=\"#f3e8fd\"",
        };
        let _ = writeln!(out, "    \"{}\" [label=\"{label}\", {look}];", node.id);
    }
    for edge in &graph.edges {
        let mut attributes = Vec::new();
        if !edge.label.is_empty() {
            attributes.push(format!("label=\"{}\"", escape(&edge.label)));
        }
        if edge.link {
            attributes.push("style=dashed".to_owned());
        }
        let attributes = if attributes.is_empty() {
            String::new()
        } else {
            format!(" [{}]", attributes.join(", "))
        };
        let _ = writeln!(out, "    \"{}\" -> \"{}\"{attributes};", edge.from, edge.to);
    }
    out.push_str("}\n");
    out
}

/// Text safe inside a quoted DOT string.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace(['\n', '\r'], " ")
}
