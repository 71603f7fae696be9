//! Reading a folder of flow files from disk.
//!
//! Only the files are read here; nothing is parsed or checked, so hot reload
//! can read the folder, see which files changed, and parse only those.
//! Which files are read, and how, is `files`' concern.

use std::path::{Path, PathBuf};

use super::diagnostic::{Diagnostic, Position, Report};
use super::files::{MaxFileBytes, read_folder};

/// One flow file's name and text.
#[derive(Debug, Clone)]
pub struct Source {
    /// The flow's name: its path in the folder without `.yaml`.
    pub name: String,
    /// The path shown in diagnostics.
    pub file: PathBuf,
    pub text: String,
}

/// Reads the flow files of `dir` without checking them, as [`load()`](super::load()) does:
/// hot reload reads first so that it can tell which files changed. A file
/// the folder's rules refuse (a pipe, a link leading out, a file over `max`)
/// is an error naming it, as is a folder that is gone.
pub(crate) fn read_sources(dir: &Path, max: MaxFileBytes) -> Result<Vec<Source>, Report> {
    let (found, mut report) = match read_folder(dir, max, is_flow_file) {
        Ok(read) => read,
        Err(error) => {
            let message = if error.kind() == std::io::ErrorKind::NotFound {
                "the flows folder is not there (deleted or moved?)".to_owned()
            } else {
                format!("cannot read the flows folder: {error}")
            };
            report_only(Diagnostic::error(dir, Position::START, message))
        }
    };
    if report.has_errors() {
        report.sort();
        return Err(report);
    }
    if found.is_empty() {
        report.push(
            Diagnostic::error(
                dir,
                Position::START,
                "there are no flow files in this folder",
            )
            .with_help("a flow is a file such as main.yaml; see the README for the language"),
        );
        return Err(report);
    }
    for warning in &report.diagnostics {
        tracing::warn!("{warning}");
    }
    Ok(found
        .into_iter()
        .map(|found| Source {
            name: flow_name(&found.relative),
            file: display_path(&found.path),
            text: found.text,
        })
        .collect())
}

fn report_only(diagnostic: Diagnostic) -> (Vec<super::files::Found>, Report) {
    let mut report = Report::default();
    report.push(diagnostic);
    (Vec::new(), report)
}

/// `main.yaml` and `sales/desk.yml`, but not the flow test `main.test.yaml`.
fn is_flow_file(file_name: &str) -> bool {
    file_name
        .strip_suffix(".yaml")
        .or_else(|| file_name.strip_suffix(".yml"))
        .is_some_and(|stem| !stem.ends_with(".test"))
}

/// `sales/desk.yaml` is the flow `sales/desk`.
fn flow_name(relative: &Path) -> String {
    let relative = relative.to_string_lossy().replace('\\', "/");
    relative
        .strip_suffix(".yaml")
        .or_else(|| relative.strip_suffix(".yml"))
        .unwrap_or(&relative)
        .to_owned()
}

/// `./flows/main.yaml` reads better as `flows/main.yaml`.
fn display_path(path: &Path) -> PathBuf {
    path.strip_prefix(".").unwrap_or(path).to_owned()
}
