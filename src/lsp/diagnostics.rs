//! The checker's diagnostics, as the editor underlines them: the same
//! messages, severities, codes and places `callflow check` prints, with the
//! help line under the message as `check` prints it. A file that had
//! diagnostics and has none now is sent an empty list, which clears them.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use lsp_types::{DiagnosticSeverity, NumberOrString, PublishDiagnosticsParams};

use super::documents::{Documents, range_of, uri_of};
use super::workspace::Workspace;
use crate::flow::Report;
use crate::flow::diagnostic::{Diagnostic, Severity};

/// The files last sent diagnostics, to clear when they have none.
#[derive(Debug, Default)]
pub(crate) struct Published {
    files: HashSet<PathBuf>,
}

/// What to send after a check.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub publish: Vec<PublishDiagnosticsParams>,
    /// Mistakes of the folder itself (gone, no flows in it), which no
    /// file can show.
    pub folder: Vec<String>,
}

impl Published {
    pub(crate) fn update(
        &mut self,
        reports: &[Report],
        workspace: &Workspace,
        documents: &Documents,
    ) -> Outcome {
        let mut by_file: BTreeMap<&Path, Vec<&Diagnostic>> = BTreeMap::new();
        let mut outcome = Outcome::default();
        for diagnostic in reports.iter().flat_map(|report| &report.diagnostics) {
            if diagnostic.file == workspace.folder() {
                outcome.folder.push(diagnostic.to_string());
            } else {
                by_file
                    .entry(&diagnostic.file)
                    .or_default()
                    .push(diagnostic);
            }
        }
        let now: HashSet<PathBuf> = by_file.keys().map(|file| file.to_path_buf()).collect();
        for cleared in self.files.difference(&now) {
            if let Some(uri) = uri_of(cleared) {
                outcome
                    .publish
                    .push(PublishDiagnosticsParams::new(uri, Vec::new(), None));
            }
        }
        for (file, diagnostics) in by_file {
            let text = text_of(file, workspace, documents);
            let Some(uri) = uri_of(file) else { continue };
            let diagnostics = diagnostics.iter().map(|d| to_lsp(&text, d)).collect();
            outcome
                .publish
                .push(PublishDiagnosticsParams::new(uri, diagnostics, None));
        }
        self.files = now;
        outcome
    }
}

/// The text positions are counted in: the editor's, else the disk's.
fn text_of(file: &Path, workspace: &Workspace, documents: &Documents) -> String {
    workspace
        .outline_of(file)
        .map(|outline| outline.text.clone())
        .or_else(|| documents.text(file).map(str::to_owned))
        .or_else(|| std::fs::read_to_string(file).ok())
        .unwrap_or_default()
}

fn to_lsp(text: &str, diagnostic: &Diagnostic) -> lsp_types::Diagnostic {
    let message = match &diagnostic.help {
        Some(help) => format!("{}\nhelp: {help}", diagnostic.message),
        None => diagnostic.message.clone(),
    };
    lsp_types::Diagnostic {
        range: range_of(text, diagnostic.position, token_chars(text, diagnostic)),
        severity: Some(match diagnostic.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(diagnostic.code.to_owned())),
        source: Some("callflow".to_owned()),
        message,
        ..lsp_types::Diagnostic::default()
    }
}

/// How far the underline reaches: the word or name at the position (a
/// step name, a key), or one character where there is none.
fn token_chars(text: &str, diagnostic: &Diagnostic) -> usize {
    let line = text
        .lines()
        .nth(diagnostic.position.line.saturating_sub(1))
        .unwrap_or("");
    let chars = line
        .chars()
        .skip(diagnostic.position.column.saturating_sub(1))
        .take_while(|c| !c.is_whitespace() && !":,{}[]#".contains(*c))
        .count();
    chars.max(1)
}
