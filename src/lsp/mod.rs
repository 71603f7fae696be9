//! `callflow lsp`: a language server for flow files, over stdin and stdout.
//!
//! An editor that speaks the Language Server Protocol gets, as the author
//! types: the checker's diagnostics (the same `callflow check` prints, for
//! the unsaved text), going to the step a name leads to across flows,
//! every place a step is named, renaming a step everywhere, completion of
//! step names and keys, and each key's doc on hover.
//!
//! - `server`: the session, one message at a time.
//! - `documents`: open documents' text, and editor positions.
//! - `workspace`: the flows folder, read with the open documents in place
//!   of their files and checked.
//! - `diagnostics`: the checker's report as the editor shows it.
//! - `outline`: where each file defines and names steps.
//! - `navigation`: definition, references, rename.
//! - `place`: where in the YAML the cursor is, mid-edit.
//! - `keys`: the keys the schema allows, with their docs.
//! - `completion` and `hover`.

mod completion;
mod diagnostics;
mod documents;
mod hover;
mod keys;
mod navigation;
mod outline;
mod place;
mod server;
mod workspace;

use std::path::PathBuf;

use crate::flow::MaxFileBytes;

/// Why the server stopped before the editor said `exit`.
#[derive(Debug, thiserror::Error)]
pub enum LspError {
    #[error("the editor broke the protocol: {0}")]
    Protocol(#[from] lsp_server::ProtocolError),
    #[error("a message could not be read or written: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the editor went away: {0}")]
    Io(#[from] std::io::Error),
    #[error("the editor went away")]
    Disconnected,
    #[error(
        "no flows folder: give one (`callflow lsp flows`) or open the flows folder in the editor"
    )]
    NoFolder,
}

/// Serves one editor until it says `exit`; the flows folder is `folder`,
/// or the editor's root folder when not given.
pub fn run(folder: Option<PathBuf>, max: MaxFileBytes) -> Result<(), LspError> {
    server::serve(folder, max)
}
