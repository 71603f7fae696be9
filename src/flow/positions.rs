//! Where the keys of every flow of a set are, for the checks that span
//! flows. A reload parses only the files that changed, so the index of an
//! unchanged file is made again (from its text, read again if need be) only
//! when a check has something to say about it, which is rare.

use std::cell::OnceCell;
use std::path::Path;

use super::diagnostic::Position;
use super::files::{MaxFileBytes, read_again};
use super::position::PositionIndex;
use super::target::FlowId;

/// One flow's file, and its index once made.
struct Located<'a> {
    file: &'a Path,
    /// The text, when the load has it.
    text: Option<&'a str>,
    index: OnceCell<PositionIndex>,
}

/// The position indexes of a set's flows, by flow id, made on first use.
pub(super) struct Positions<'a> {
    flows: Vec<Located<'a>>,
    max: MaxFileBytes,
}

impl<'a> Positions<'a> {
    pub(super) fn new(max: MaxFileBytes) -> Self {
        Positions {
            flows: Vec::new(),
            max,
        }
    }

    /// Adds the next flow: its file, and its text when at hand.
    pub(super) fn push(&mut self, file: &'a Path, text: Option<&'a str>) {
        self.flows.push(Located {
            file,
            text,
            index: OnceCell::new(),
        });
    }

    /// Where the key at `path` of flow `flow` is written.
    pub(super) fn key(&self, flow: FlowId, path: &str) -> Position {
        self.index(flow).key(path)
    }

    /// Where the value at `path` of flow `flow` is written.
    pub(super) fn value(&self, flow: FlowId, path: &str) -> Position {
        self.index(flow).value(path)
    }

    fn index(&self, flow: FlowId) -> &PositionIndex {
        let located = &self.flows[flow];
        located.index.get_or_init(|| match located.text {
            Some(text) => PositionIndex::build(text),
            // A file that cannot be read again is named at its start.
            None => read_again(located.file, self.max)
                .map(|text| PositionIndex::build(&text))
                .unwrap_or_default(),
        })
    }
}
