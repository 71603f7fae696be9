//! The flows folder as the editor sees it: every flow file, with the open
//! documents' unsaved text in place of what is on disk, checked exactly as
//! `callflow check` checks it.
//!
//! Every change reads and checks the whole folder again, since a change to
//! one flow can break another (a `goto` into a step that was renamed).
//! That stays cheap because one [`Loader`] is kept for the session, as hot
//! reload keeps one: a flow whose text did not change is not parsed or
//! compiled again, and only the checks across flows run over the whole
//! set. What is left per change is reading every file and hashing its
//! text; outlines too are made again only for files whose text changed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::documents::Documents;
use super::outline::Outline;
use crate::flow::load::{Input, Loader, Source, read_overlaid};
use crate::flow::secrets::SecretValues;
use crate::flow::{MaxFileBytes, Report, SecretSource};

pub(crate) struct Workspace {
    folder: PathBuf,
    max: MaxFileBytes,
    loader: Loader,
    /// Every flow file's outline, by the path the checker names it with.
    outlines: HashMap<PathBuf, Outline>,
}

impl Workspace {
    pub(crate) fn new(folder: PathBuf, max: MaxFileBytes) -> Workspace {
        Workspace {
            folder,
            max,
            loader: Loader::new(max),
            outlines: HashMap::new(),
        }
    }

    pub(crate) fn folder(&self) -> &Path {
        &self.folder
    }

    /// Reads and checks the folder; with what the checker reports, as
    /// `callflow check` reports it: a refused set's errors, or a loaded
    /// set's warnings and the secrets missing from the environment.
    pub(crate) fn check(&mut self, documents: &Documents) -> Vec<Report> {
        let sources = match read_overlaid(&self.folder, self.max, documents.overlay()) {
            Ok(sources) => sources,
            Err(report) => return vec![report],
        };
        self.outline(&sources);
        let inputs = sources.into_iter().map(Input::from).collect();
        match self.loader.load(inputs) {
            Ok(loaded) => {
                let (_, missing) =
                    SecretValues::resolve(&loaded.flows, &SecretSource::Environment, false);
                vec![loaded.warnings, missing]
            }
            Err(report) => vec![report],
        }
    }

    fn outline(&mut self, sources: &[Source]) {
        let mut outlines = HashMap::with_capacity(sources.len());
        for source in sources {
            let outline = match self.outlines.remove(&source.file) {
                Some(kept) if kept.text == source.text && kept.flow == source.name => kept,
                _ => Outline::of(source),
            };
            outlines.insert(source.file.clone(), outline);
        }
        self.outlines = outlines;
    }

    pub(crate) fn outline_of(&self, file: &Path) -> Option<&Outline> {
        self.outlines.get(file)
    }

    /// The file and outline of the flow named `flow`.
    pub(crate) fn flow(&self, flow: &str) -> Option<(&Path, &Outline)> {
        self.files().find(|(_, outline)| outline.flow == flow)
    }

    /// Every flow file, with its outline.
    pub(crate) fn files(&self) -> impl Iterator<Item = (&Path, &Outline)> {
        self.outlines
            .iter()
            .map(|(file, outline)| (file.as_path(), outline))
    }
}
