//! serde's YAML errors, said to the person editing the flow.
//!
//! serde stops at the first mistake of a file and words it for a Rust
//! programmer; an author wants every mistake of the file at once, at its
//! line and column, with the key they probably meant.

use std::collections::HashMap;
use std::path::Path;

use super::diagnostic::{Diagnostic, Position, closest, codes};
use super::position::PositionIndex;
use super::steps::{ACTIONS, StepSpec};

/// The flow's top level with each step kept as raw YAML, to tell a mistake
/// in the top level from mistakes in steps.
#[derive(serde::Deserialize)]
struct ShallowFlow {
    #[serde(default)]
    steps: indexmap::IndexMap<String, serde_yaml_ng::Value>,
    #[serde(flatten)]
    _rest: HashMap<String, serde_yaml_ng::Value>,
}

/// Every structural mistake of a file that serde refused. serde stops at
/// the first error, so each step is parsed again on its own, from its own
/// lines of the file (columns untouched, lines offset), and reports its own
/// mistake at its real position.
pub(super) fn structural_errors(
    file: &Path,
    text: &str,
    first: &serde_yaml_ng::Error,
) -> Vec<Diagnostic> {
    let whole = yaml_error(file, first);
    let Ok(shallow) = serde_yaml_ng::from_str::<ShallowFlow>(text) else {
        return vec![whole];
    };
    let index = PositionIndex::build(text);
    let lines: Vec<&str> = text.lines().collect();
    let names: Vec<&String> = shallow.steps.keys().collect();
    let mut found = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let key = index.key(&format!("steps.{name}"));
        let value = index.value(&format!("steps.{name}"));
        let end_line = names
            .get(i + 1)
            .map(|next| index.key(&format!("steps.{next}")).line - 1)
            .unwrap_or(lines.len());
        let Some(slice) = step_text(&lines, key, value, end_line) else {
            continue;
        };
        if let Err(error) = serde_yaml_ng::from_str::<StepSpec>(&slice) {
            let mut diagnostic = yaml_error(file, &error);
            diagnostic.position.line += value.line - 1;
            let path = format!("steps.{name}");
            diagnostic.message = diagnostic
                .message
                .replace(" in `", &format!(" in `{path}."))
                .replace(&format!("`{path}.`"), &format!("`{path}`"));
            if !diagnostic.message.contains(" in `") {
                diagnostic.message.push_str(&format!(" in `{path}`"));
            }
            found.push(diagnostic);
        }
    }
    if found.is_empty() {
        found.push(whole);
    }
    found
}

/// The text of one step's value, with the lines before it blanked so line
/// and column numbers stay those of the file.
fn step_text(lines: &[&str], key: Position, value: Position, end_line: usize) -> Option<String> {
    if value.line == 0 || end_line < value.line || end_line > lines.len() {
        return None;
    }
    let mut text = String::new();
    for (offset, line) in lines[value.line - 1..end_line].iter().enumerate() {
        if offset == 0 && value.line == key.line {
            // `menu: { ... }`: keep only the value, in its column.
            let start = line
                .char_indices()
                .nth(value.column - 1)
                .map_or(line.len(), |(at, _)| at);
            text.push_str(&" ".repeat(value.column - 1));
            text.push_str(&line[start..]);
        } else {
            text.push_str(line);
        }
        text.push('\n');
    }
    Some(text)
}

/// Turns serde's message into one for a flow author, at serde's position.
pub(crate) fn yaml_error(file: &Path, error: &serde_yaml_ng::Error) -> Diagnostic {
    let position = error
        .location()
        .map(|l| Position {
            line: l.line(),
            column: l.column(),
        })
        .unwrap_or(Position::START);
    let message = plain_types(&without_positions(&error.to_string()));
    // serde_yaml names where it was as `steps.menu.menu: ...`.
    let (path, detail) = match message.split_once(": ") {
        Some((path, detail)) if !path.contains(' ') => (Some(path.to_owned()), detail.to_owned()),
        _ => (None, message.clone()),
    };
    let within = path
        .as_deref()
        .map(|p| format!(" in `{p}`"))
        .unwrap_or_default();

    if let Some((field, expected)) = parse_unknown_field(&detail) {
        let is_step = path
            .as_deref()
            .is_some_and(|p| p.starts_with("steps.") && p.matches('.').count() == 1);
        let diagnostic =
            Diagnostic::error(file, position, format!("unknown key `{field}`{within}"))
                .with_code(codes::UNKNOWN_KEY);
        if field.contains(' ') {
            return diagnostic.with_help(
                "inside `{ ... }` a comma separates settings: put text that contains a comma in quotes",
            );
        }
        if let Some(near) = closest(&field, expected.iter().map(String::as_str)) {
            return diagnostic.with_help(format!("did you mean `{near}`?"));
        }
        let help = if is_step {
            format!(
                "a step has one action ({}) and may have `next`",
                ACTIONS.join(", ")
            )
        } else {
            format!("the keys allowed here are {}", expected.join(", "))
        };
        return diagnostic.with_help(help);
    }
    if let Some(rest) = detail.strip_prefix("unknown variant ") {
        let diagnostic = Diagnostic::error(file, position, format!("unknown value {rest}{within}"))
            .with_code(codes::UNKNOWN_VALUE);
        // A step's own `on` is a dial's; a menu's routes sit inside the menu.
        // Steps are also read one by one, where the step's `on` is just `on`.
        let menu_route = rest.starts_with("`no_input`") || rest.starts_with("`no_match`");
        let step_on = path.as_deref().is_some_and(|p| {
            p == "on"
                || p.starts_with("steps.") && p.ends_with(".on") && p.matches('.').count() == 2
        });
        if menu_route && step_on {
            return diagnostic.with_help(
                "a menu's `on` goes inside the menu, beside `otherwise`: `menu: { ..., on: { no_input: ... } }`",
            );
        }
        return diagnostic;
    }
    if let Some(field) = detail
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
    {
        return Diagnostic::error(file, position, format!("`{field}` is missing{within}"))
            .with_code(codes::MISSING_KEY);
    }
    Diagnostic::error(file, position, format!("{detail}{within}")).with_code(codes::INVALID_YAML)
}

/// Drops serde's " at line 5 column 1": the diagnostic has the position.
fn without_positions(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(" at line ") {
        out.push_str(&rest[..at]);
        let after = &rest[at + " at line ".len()..];
        let skip = after
            .find(|c: char| !(c.is_ascii_digit() || c == ' ' || "column".contains(c)))
            .unwrap_or(after.len());
        rest = &after[skip..];
    }
    out.push_str(rest);
    out
}

/// Rust's type names as a flow author would say them.
fn plain_types(message: &str) -> String {
    [
        ("expected u32", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected a sequence", "expected a list"),
        ("expected a boolean", "expected true or false"),
        ("expected a string", "expected text"),
    ]
    .iter()
    .fold(message.to_owned(), |m, (from, to)| m.replace(from, to))
}

/// Reads serde's "unknown field `x`, expected one of `a`, `b`".
fn parse_unknown_field(detail: &str) -> Option<(String, Vec<String>)> {
    let rest = detail.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    Some((field.to_owned(), expected))
}
