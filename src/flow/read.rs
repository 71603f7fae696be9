//! Reading a folder of flow files from disk (or, for the files an editor
//! has open, from the editor's unsaved text).
//!
//! Only the files are read here; nothing is parsed or checked, so hot reload
//! can read the folder, see which files changed, and parse only those.
//! Which files are read, and how, is `files`' concern.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::diagnostic::{Diagnostic, Position, Report};
use super::files::{Listed, MaxFileBytes, Stamp, read_folder_since};

/// One flow file's name and text.
#[derive(Debug, Clone)]
pub struct Source {
    /// The flow's name: its path in the folder without `.yaml`.
    pub name: String,
    /// The path shown in diagnostics.
    pub file: PathBuf,
    pub text: String,
}

/// One flow file as a load takes it: read now, or unchanged since a load
/// before read it.
#[derive(Debug)]
pub(crate) struct Input {
    pub name: String,
    pub file: PathBuf,
    /// `None` when the file was not read because its stamp is unchanged.
    pub text: Option<String>,
    /// A hash of the text, read now or before.
    pub digest: Digest,
    /// `None` for a source handed over in memory.
    pub stamp: Option<Stamp>,
    /// When reading the folder began: no later than the file was read.
    pub read_at: SystemTime,
}

impl From<Source> for Input {
    fn from(source: Source) -> Input {
        Input {
            digest: Digest::of(&source.text),
            name: source.name,
            file: source.file,
            text: Some(source.text),
            stamp: None,
            read_at: SystemTime::now(),
        }
    }
}

/// A hash of a flow file's text: equal texts, equal digests, on every
/// instance and across restarts, so versions made of them are too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Digest([u8; 16]);

impl Digest {
    pub(crate) fn of(text: &str) -> Digest {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
        let mut bytes = [0; 16];
        bytes.copy_from_slice(&digest.as_ref()[..16]);
        Digest(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Reads the flow files of `dir` without checking them, as [`load()`](super::load())
/// does, leaving unread each flow for which `held`, given its name and
/// stamp, has the digest of the text the caller holds unchanged. A file the
/// folder's rules refuse (a pipe, a link leading out, a file over `max`) is
/// an error naming it, as is a folder that is gone.
pub(crate) fn read_inputs(
    dir: &Path,
    max: MaxFileBytes,
    held: &dyn Fn(&str, &Stamp) -> Option<Digest>,
) -> Result<Vec<Input>, Report> {
    let read_at = SystemTime::now();
    let unchanged_file =
        |relative: &Path, stamp: &Stamp| held(&flow_name(relative), stamp).is_some();
    let (found, mut report) = match read_folder_since(dir, max, is_flow_file, &unchanged_file) {
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
    let inputs = found.into_iter().filter_map(|found| {
        let name = flow_name(&found.relative);
        let digest = match &found.text {
            Some(text) => Digest::of(text),
            None => held(&name, &found.stamp)?,
        };
        Some(Input {
            name,
            file: display_path(&found.path),
            text: found.text,
            digest,
            stamp: Some(found.stamp),
            read_at,
        })
    });
    Ok(inputs.collect())
}

/// Reads the flow files of `dir` as [`read_inputs`] does, but takes the
/// text of any file `overlay` holds (by the path diagnostics name it with)
/// from there rather than from disk: an editor's unsaved buffers are what
/// its author wants checked.
pub(crate) fn read_overlaid(
    dir: &Path,
    max: MaxFileBytes,
    overlay: &HashMap<PathBuf, String>,
) -> Result<Vec<Source>, Report> {
    let inputs = read_inputs(dir, max, &|_, _| None)?;
    Ok(inputs
        .into_iter()
        .map(|input| Source {
            text: overlay
                .get(&input.file)
                .cloned()
                .or(input.text)
                .unwrap_or_default(),
            name: input.name,
            file: input.file,
        })
        .collect())
}

fn report_only(diagnostic: Diagnostic) -> (Vec<Listed>, Report) {
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
