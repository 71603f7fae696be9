//! Reading a folder of flow files from disk.
//!
//! Only the files are read here; nothing is parsed or checked, so hot reload
//! can read the folder, see which files changed, and parse only those.

use std::path::{Path, PathBuf};

use super::diagnostic::{Diagnostic, Position, Report};

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
/// hot reload reads first so that it can tell which files changed.
pub(crate) fn read_sources(dir: &Path) -> Result<Vec<Source>, Report> {
    let mut report = Report::default();
    let mut sources = Vec::new();
    if let Err(error) = collect_sources(dir, dir, &mut sources) {
        report.push(Diagnostic::error(
            dir,
            Position::START,
            format!("cannot read the flows folder: {error}"),
        ));
        return Err(report);
    }
    if sources.is_empty() {
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
    Ok(sources)
}

fn collect_sources(root: &Path, dir: &Path, out: &mut Vec<Source>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        if file_name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        // Follows symlinks, as ConfigMaps and many deploy tools use them.
        let metadata = std::fs::metadata(&path)?;
        if metadata.is_dir() {
            collect_sources(root, &path, out)?;
            continue;
        }
        let Some(stem) = file_name
            .strip_suffix(".yaml")
            .or_else(|| file_name.strip_suffix(".yml"))
        else {
            continue;
        };
        if stem.ends_with(".test") {
            continue;
        }
        let relative = path.strip_prefix(root).unwrap_or(&path);
        let mut name = relative
            .parent()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        if !name.is_empty() {
            name.push('/');
        }
        name.push_str(stem);
        out.push(Source {
            name,
            file: display_path(&path),
            text: std::fs::read_to_string(&path)?,
        });
    }
    Ok(())
}

/// `./flows/main.yaml` reads better as `flows/main.yaml`.
fn display_path(path: &Path) -> PathBuf {
    path.strip_prefix(".").unwrap_or(path).to_owned()
}
