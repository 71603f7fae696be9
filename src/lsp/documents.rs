//! The documents the editor has open, and the two ways of counting places.
//!
//! An open document's text is what its author sees, saved or not, so the
//! checks read it instead of the file on disk. The checker counts lines and
//! columns from 1, in characters; the protocol counts from 0, in UTF-16
//! units, so a line with an accent or an emoji before a mistake would put
//! every underline after it off by one without the conversion here.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use lsp_types::{Range, Url};

use crate::flow::diagnostic::Position;

/// Open documents' text, by the path the checker names their file with.
#[derive(Debug, Default)]
pub(crate) struct Documents {
    open: HashMap<PathBuf, String>,
}

impl Documents {
    /// A document opened, or its whole text after a change (the server
    /// asks for whole texts: flows are small, and it keeps this simple).
    pub(crate) fn set(&mut self, path: PathBuf, text: String) {
        self.open.insert(path, text);
    }

    /// Closed: the file on disk counts again.
    pub(crate) fn close(&mut self, path: &Path) {
        self.open.remove(path);
    }

    /// Every open document's text, for the loader to read instead of disk.
    pub(crate) fn overlay(&self) -> &HashMap<PathBuf, String> {
        &self.open
    }

    pub(crate) fn text(&self, path: &Path) -> Option<&str> {
        self.open.get(path).map(String::as_str)
    }
}

/// The file a document address names, as the checker names it: resolved,
/// so that it matches the folder's own resolved path.
pub(crate) fn path_of(uri: &Url) -> Option<PathBuf> {
    let path = uri.to_file_path().ok()?;
    Some(path.canonicalize().unwrap_or(path))
}

pub(crate) fn uri_of(path: &Path) -> Option<Url> {
    Url::from_file_path(path).ok()
}

/// A checker position (from 1, characters) in the protocol's terms.
pub(crate) fn to_lsp(text: &str, at: Position) -> lsp_types::Position {
    let line = at.line.saturating_sub(1);
    let column = at.column.saturating_sub(1);
    let units: usize = text
        .lines()
        .nth(line)
        .unwrap_or("")
        .chars()
        .take(column)
        .map(char::len_utf16)
        .sum();
    lsp_types::Position::new(as_u32(line), as_u32(units))
}

/// A protocol position as a line and a character column, both from 0.
pub(crate) fn from_lsp(text: &str, at: lsp_types::Position) -> (usize, usize) {
    let line = at.line as usize;
    let mut units = 0;
    let column = text
        .lines()
        .nth(line)
        .unwrap_or("")
        .chars()
        .take_while(|c| {
            units += c.len_utf16();
            units <= at.character as usize
        })
        .count();
    (line, column)
}

/// The `chars` characters from `at`, as a protocol range.
pub(crate) fn range_of(text: &str, at: Position, chars: usize) -> Range {
    let end = Position {
        line: at.line,
        column: at.column + chars,
    };
    Range::new(to_lsp(text, at), to_lsp(text, end))
}

fn as_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_utf16_units_for_the_editor() {
        let text = "say: café 🎉 next\n";
        let at = Position {
            line: 1,
            column: 13,
        };
        // 12 characters before, the emoji two units.
        assert_eq!(to_lsp(text, at), lsp_types::Position::new(0, 13));
        assert_eq!(from_lsp(text, lsp_types::Position::new(0, 13)), (0, 12));
    }
}
