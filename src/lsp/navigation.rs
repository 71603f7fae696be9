//! Going from a name to the step it names, finding every place a step is
//! named, and renaming a step everywhere, across the flows of the folder.

use std::collections::HashMap;
use std::path::Path;

use lsp_types::{Location, Range, TextEdit, WorkspaceEdit};

use super::documents::{range_of, uri_of};
use super::outline::{Mention, Named, Outline};
use super::workspace::Workspace;
use crate::flow::compiler::valid_name;

/// Why a rename is refused, said to the flow's author.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RenameRefused {
    #[error(
        "put the cursor on a step's name, where it is defined or where it is named, to rename it"
    )]
    NotAStep,
    #[error("`{0}` cannot be a step name: use letters, digits, `_` and `-`")]
    InvalidName(String),
    #[error("`hangup` is a built-in target that ends the call; name this step differently")]
    Hangup,
    #[error("flow `{flow}` already has a step named `{step}`")]
    Taken { flow: String, step: String },
}

/// The step or flow named (or defined) at `line` and `column` (from 0,
/// characters) of `file`.
pub(crate) fn named_at(
    workspace: &Workspace,
    file: &Path,
    line: usize,
    column: usize,
) -> Option<Named> {
    let outline = workspace.outline_of(file)?;
    outline
        .mentions
        .iter()
        .chain(&outline.steps)
        .find(|mention| mention.covers(line, column))
        .map(|mention| mention.named.clone())
}

/// Where a step is defined; for a flow, where its start step is.
pub(crate) fn definition(workspace: &Workspace, named: &Named) -> Option<Location> {
    let (flow, step) = match named {
        Named::Step { flow, step } => (flow, Some(step)),
        Named::Flow(flow) => (flow, None),
    };
    let (file, outline) = workspace.flow(flow)?;
    let step = step.or(outline.start.as_ref())?;
    let defined = defined(outline, step)?;
    location(file, outline, defined)
}

/// Every place a step is named as a target, with its definition first
/// when `with_definition`.
pub(crate) fn references(
    workspace: &Workspace,
    named: &Named,
    with_definition: bool,
) -> Vec<Location> {
    occurrences(workspace, named, with_definition)
        .into_iter()
        .filter_map(|(file, outline, mention)| location(file, outline, mention))
        .collect()
}

/// The edits that rename a step where it is defined and everywhere it is
/// named.
pub(crate) fn rename(
    workspace: &Workspace,
    named: &Named,
    new_name: &str,
) -> Result<WorkspaceEdit, RenameRefused> {
    let Named::Step { flow, .. } = named else {
        return Err(RenameRefused::NotAStep);
    };
    if new_name == "hangup" {
        return Err(RenameRefused::Hangup);
    }
    if !valid_name(new_name, false) {
        return Err(RenameRefused::InvalidName(new_name.to_owned()));
    }
    if let Some((_, outline)) = workspace.flow(flow)
        && defined(outline, new_name).is_some()
    {
        return Err(RenameRefused::Taken {
            flow: flow.clone(),
            step: new_name.to_owned(),
        });
    }
    let mut changes: HashMap<_, Vec<TextEdit>> = HashMap::new();
    for (file, outline, mention) in occurrences(workspace, named, true) {
        if let Some(uri) = uri_of(file) {
            changes
                .entry(uri)
                .or_default()
                .push(TextEdit::new(range(outline, mention), new_name.to_owned()));
        }
    }
    Ok(WorkspaceEdit::new(changes))
}

fn occurrences<'w>(
    workspace: &'w Workspace,
    named: &Named,
    with_definition: bool,
) -> Vec<(&'w Path, &'w Outline, &'w Mention)> {
    let Named::Step { flow, step } = named else {
        return Vec::new();
    };
    let mut found = Vec::new();
    if with_definition
        && let Some((file, outline)) = workspace.flow(flow)
        && let Some(defined) = defined(outline, step)
    {
        found.push((file, outline, defined));
    }
    let mut files: Vec<(&Path, &Outline)> = workspace.files().collect();
    files.sort_by_key(|(file, _)| *file);
    for (file, outline) in files {
        for mention in outline.mentions.iter().filter(|m| &m.named == named) {
            found.push((file, outline, mention));
        }
    }
    found
}

fn defined<'o>(outline: &'o Outline, step: &str) -> Option<&'o Mention> {
    outline
        .steps
        .iter()
        .find(|defined| matches!(&defined.named, Named::Step { step: name, .. } if name == step))
}

fn range(outline: &Outline, mention: &Mention) -> Range {
    range_of(&outline.text, mention.at, mention.chars)
}

fn location(file: &Path, outline: &Outline, mention: &Mention) -> Option<Location> {
    Some(Location::new(uri_of(file)?, range(outline, mention)))
}
