//! Completion: step names where a step is expected (`next:`, an option,
//! `on:`, a branch arm's `goto`, …), flow names after `goto` and `call`,
//! and the keys the schema allows where a key is expected, each with its
//! description.

use lsp_types::{CompletionItem, CompletionItemKind, Documentation, MarkupContent, MarkupKind};

use super::keys::Keys;
use super::outline::Named;
use super::place::{Place, Slot, place_at};
use super::workspace::Workspace;

/// What a value being written names.
enum Wanted {
    /// A step of the flow with this name; `hangup` too where it may end
    /// the call.
    Step {
        flow: String,
        or_hangup: bool,
    },
    Flow,
}

/// The completions at `line` and `column` (from 0, characters) of the
/// flow `flow`, whose text is `text`.
pub(crate) fn complete(
    workspace: &Workspace,
    keys: &Keys,
    flow: &str,
    text: &str,
    line: usize,
    column: usize,
) -> Vec<CompletionItem> {
    let place = place_at(text, line, column);
    match &place.slot {
        Slot::Key(_) => keys
            .keys_at(&place.parents)
            .into_iter()
            .map(|key| CompletionItem {
                insert_text: Some(format!("{}: ", key.name)),
                label: key.name,
                kind: Some(CompletionItemKind::PROPERTY),
                documentation: key.doc.map(markdown),
                ..CompletionItem::default()
            })
            .collect(),
        Slot::Value { key, .. } => match wanted(&place, key, flow, text, line) {
            Some(Wanted::Step { flow, or_hangup }) => {
                let Some((_, outline)) = workspace.flow(&flow) else {
                    return Vec::new();
                };
                let steps = outline.steps.iter().map(|step| &step.named);
                let mut items: Vec<CompletionItem> = steps
                    .filter_map(|named| match named {
                        Named::Step { step, .. } => Some(CompletionItem {
                            label: step.clone(),
                            kind: Some(CompletionItemKind::REFERENCE),
                            detail: Some(format!("step of {flow}")),
                            ..CompletionItem::default()
                        }),
                        Named::Flow(_) => None,
                    })
                    .collect();
                if or_hangup {
                    items.push(CompletionItem {
                        label: "hangup".to_owned(),
                        kind: Some(CompletionItemKind::KEYWORD),
                        detail: Some("ends the call".to_owned()),
                        ..CompletionItem::default()
                    });
                }
                items
            }
            Some(Wanted::Flow) => {
                let mut flows: Vec<&str> = workspace
                    .files()
                    .filter(|(_, outline)| !outline.steps.is_empty())
                    .map(|(_, outline)| outline.flow.as_str())
                    .collect();
                flows.sort_unstable();
                flows
                    .into_iter()
                    .map(|name| CompletionItem {
                        label: name.to_owned(),
                        kind: Some(CompletionItemKind::MODULE),
                        detail: Some("flow".to_owned()),
                        ..CompletionItem::default()
                    })
                    .collect()
            }
            None => Vec::new(),
        },
    }
}

fn markdown(text: String) -> Documentation {
    Documentation::MarkupContent(MarkupContent {
        kind: MarkupKind::Markdown,
        value: text,
    })
}

/// What the value of `key` at `place` names, if a step or a flow.
fn wanted(place: &Place, key: &str, flow: &str, text: &str, line: usize) -> Option<Wanted> {
    let parents: Vec<&str> = place.parents.iter().map(String::as_str).collect();
    let this = |or_hangup| {
        Some(Wanted::Step {
            flow: flow.to_owned(),
            or_hangup,
        })
    };
    match (parents.as_slice(), key) {
        ([], "start" | "fallback") => this(false),
        (["steps", _], "next" | "open" | "closed") => this(true),
        (["steps", _], "goto" | "call") => Some(Wanted::Flow),
        ([.., "goto" | "call"], "flow") => Some(Wanted::Flow),
        ([.., "goto" | "call"], "step") => Some(Wanted::Step {
            flow: sibling_flow(text, line)?,
            or_hangup: false,
        }),
        ([.., "menu"], "otherwise") | ([.., "branch", "#"], "goto") => this(true),
        ([.., "options", _], "go") => this(true),
        ([.., "on" | "options"], _) => this(true),
        _ => None,
    }
}

/// The `flow:` beside a `step:` being written, in flow style on the same
/// line or on a line of the same block.
fn sibling_flow(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let current = lines.get(line)?;
    let inline = |written: &str| {
        let after = written.split("flow:").nth(1)?;
        let name = after
            .trim_start()
            .split(|c: char| c == ',' || c == '}' || c.is_whitespace())
            .next()?;
        (!name.is_empty()).then(|| name.trim_matches(|c| c == '"' || c == '\'').to_owned())
    };
    if let Some(name) = inline(current) {
        return Some(name);
    }
    let indent = |l: &str| l.len() - l.trim_start().len();
    let own = indent(current);
    let block = |range: &mut dyn Iterator<Item = &&str>| {
        range
            .take_while(|l| l.trim().is_empty() || indent(l) >= own)
            .filter(|l| indent(l) == own)
            .find_map(|l| inline(l))
    };
    block(&mut lines[..line].iter().rev()).or_else(|| block(&mut lines[line + 1..].iter()))
}
