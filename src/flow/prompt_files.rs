//! Prompt tables kept in files of their own, shared by several flows.
//!
//! An agency or a company with many lines says the same things on all of
//! them ("our offices are closed", "please hold"), in the same languages.
//! Those texts live once in a file under a folder named `prompts` in the
//! flows folder, and each flow names the file in its `prompts:`, so a
//! translation fixed there is fixed on every line.
//!
//! A file under a `prompts` folder is never a flow. It holds one table:
//! prompt name, then language, then text, as a flow's own `prompts:` does.
//! It is read, checked and versioned with the flows, so an edit to it
//! reloads like an edit to a flow and a call keeps the version it started
//! with.

use std::collections::HashMap;
use std::path::PathBuf;

use super::diagnostic::Diagnostic;
use super::languages::PromptTables;
use super::position::LazyIndex;
use super::read::Source;
use super::shape::checked_index;
use super::yaml_error::yaml_error;

/// The folder name that marks prompt files.
pub const FOLDER: &str = "prompts";

/// One prompt file that parsed.
#[derive(Debug)]
pub(crate) struct PromptFile {
    /// The path shown in diagnostics.
    pub file: PathBuf,
    pub index: LazyIndex<'static>,
    pub table: PromptTables,
}

/// The prompt files of a set, by name: their path in the flows folder
/// without `.yaml` (`prompts/common`), as a flow's is.
pub(crate) type PromptFiles = HashMap<String, PromptFile>;

/// Whether the file named `name` (its path in the folder without `.yaml`)
/// is a prompt file rather than a flow: it sits inside a `prompts` folder.
pub(crate) fn is_prompt_file(name: &str) -> bool {
    let mut folders = name.split('/').rev().skip(1);
    folders.any(|folder| folder == FOLDER)
}

/// Parses a prompt file, or reports every mistake that stops it.
pub(crate) fn parse(source: &Source) -> Result<PromptFile, Vec<Diagnostic>> {
    let index = checked_index(&source.file, &source.text)?;
    if source.text.trim().is_empty() {
        return Ok(PromptFile {
            file: source.file.clone(),
            index: LazyIndex::built(index),
            table: PromptTables::default(),
        });
    }
    let table = serde_yaml_ng::from_str::<PromptTables>(&source.text)
        .map_err(|error| vec![yaml_error(&source.file, &error)])?;
    Ok(PromptFile {
        file: source.file.clone(),
        index: LazyIndex::built(index),
        table,
    })
}

/// The name of the prompt file that the flow `flow` refers to as
/// `reference`: a path from the flow file's own folder, as a link in a
/// document is, with or without `.yaml`. `None` when it leads out of the
/// flows folder.
pub(crate) fn resolve(flow: &str, reference: &str) -> Option<String> {
    let reference = reference.trim();
    let reference = reference
        .strip_suffix(".yaml")
        .or_else(|| reference.strip_suffix(".yml"))
        .unwrap_or(reference);
    let mut parts: Vec<&str> = flow.split('/').collect();
    parts.pop();
    for part in reference.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// How the flow `flow` would refer to the prompt file `name`: the
/// inverse of [`resolve`], for the help that names the files there are.
pub(crate) fn reference_from(flow: &str, name: &str) -> String {
    let mut folder: Vec<&str> = flow.split('/').collect();
    folder.pop();
    let target: Vec<&str> = name.split('/').collect();
    let shared = folder
        .iter()
        .zip(&target)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts = vec![".."; folder.len() - shared];
    parts.extend(&target[shared..]);
    format!("{}.yaml", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_inside_a_prompts_folder_are_prompt_files() {
        assert!(is_prompt_file("prompts/common"));
        assert!(is_prompt_file("acme/prompts/common"));
        assert!(!is_prompt_file("prompts"));
        assert!(!is_prompt_file("main"));
        assert!(!is_prompt_file("sales/desk"));
    }

    #[test]
    fn references_are_read_from_the_flow_files_folder() {
        assert_eq!(
            resolve("main", "prompts/common.yaml").as_deref(),
            Some("prompts/common")
        );
        assert_eq!(
            resolve("acme/main", "prompts/common.yml").as_deref(),
            Some("acme/prompts/common")
        );
        assert_eq!(
            resolve("acme/main", "../prompts/common").as_deref(),
            Some("prompts/common")
        );
        assert_eq!(resolve("main", "../prompts/common.yaml"), None);
    }

    #[test]
    fn the_help_names_files_as_the_flow_would_refer_to_them() {
        for (flow, name) in [
            ("main", "prompts/common"),
            ("acme/main", "prompts/common"),
            ("acme/main", "acme/prompts/common"),
            ("acme/north/main", "acme/prompts/common"),
        ] {
            let reference = reference_from(flow, name);
            assert_eq!(
                resolve(flow, &reference).as_deref(),
                Some(name),
                "{reference}"
            );
        }
        assert_eq!(
            reference_from("acme/main", "prompts/common"),
            "../prompts/common.yaml"
        );
    }
}
