//! A [`Graph`] as a Mermaid flowchart, which GitHub, GitLab and many
//! editors draw from a ```` ```mermaid ```` block in Markdown.
//!
//! Every label is quoted and every character Mermaid reads as syntax
//! inside one (`"`, `|`, `#`, `<`, `>`, `&`, `` ` ``) is written as its
//! entity code, so no step name, menu key or branch condition can break
//! the chart or inject markup into it.

use std::fmt::Write;

use super::{Graph, Shape};

/// The flowchart, top to bottom, ending with a newline.
pub fn write(graph: &Graph) -> String {
    let mut out = String::from("flowchart TD\n");
    for node in &graph.nodes {
        let mut label = escape(&node.label);
        if let Some(kind) = node.kind {
            let _ = write!(label, "<br/>({kind})");
        }
        let (open, close) = match node.shape {
            Shape::Entry => ("((", "))"),
            Shape::Step => ("[", "]"),
            Shape::Choice => ("{", "}"),
            Shape::Waits => ("([", "])"),
            Shape::Dial => ("[[", "]]"),
            Shape::Ends => ("(((", ")))"),
            Shape::OtherFlow => ("[/", "/]"),
        };
        let class = node.shape.name();
        let _ = writeln!(out, "    {}{open}\"{label}\"{close}:::{class}", node.id);
    }
    for edge in &graph.edges {
        let arrow = if edge.link { "-.->" } else { "-->" };
        if edge.label.is_empty() {
            let _ = writeln!(out, "    {} {arrow} {}", edge.from, edge.to);
        } else {
            let label = escape(&edge.label);
            let _ = writeln!(out, "    {} {arrow}|\"{label}\"| {}", edge.from, edge.to);
        }
    }
    // Waiting steps warm, dials green, ends red, choices blue: the colours
    // say where the caller acts, where the call leaves the line, and where
    // it stops, at a glance.
    out.push_str(concat!(
        "    classDef entry fill:#eeeeee,stroke:#666666\n",
        "    classDef step fill:#ffffff,stroke:#666666\n",
        "    classDef choice fill:#e3eefc,stroke:#3b6fb6\n",
        "    classDef waits fill:#fff3d4,stroke:#b7791f\n",
        "    classDef dial fill:#ddf4e4,stroke:#2f855a\n",
        "    classDef ends fill:#fde2e2,stroke:#c53030\n",
        "    classDef flow fill:#f3e8fd,stroke:#6b46c1,stroke-dasharray:4 3\n",
    ));
    out
}

/// Text safe inside a quoted Mermaid label.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '|' => out.push_str("#124;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '`' => out.push_str("#96;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_cannot_break_out_of_their_quotes() {
        assert_eq!(
            escape(r#"vars.x | length > 2 and "a" # <b>"#),
            "vars.x #124; length #gt; 2 and #quot;a#quot; #35; #lt;b#gt;"
        );
    }
}
