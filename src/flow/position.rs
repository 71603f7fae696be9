//! Where each key and value of a YAML file is, so that a mistake found after
//! parsing (a step that does not exist, a bad time range) can still be
//! reported at its line and column.
//!
//! serde gives positions only for the errors it finds itself; this index is
//! built from yaml-rust2's event parser, which reports a position for every
//! node. Paths are the keys from the root, such as `steps.menu.next`; items
//! of a list are their index (`steps.check.branch.0.goto`).
//!
//! The same single pass finds what serde would not say, or would take too
//! long to: a key written twice in one map (serde keeps the last one
//! silently), and nesting deeper than a flow ever needs, where the pass stops
//! before the cost of a deep file can grow (see `shape`).

use std::collections::HashMap;
use std::sync::OnceLock;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use super::diagnostic::Position;

/// What one pass over a file found besides positions.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub index: PositionIndex,
    /// Keys written twice in the same map, in file order.
    pub duplicates: Vec<Duplicate>,
    /// Where nesting first went past the limit; the pass stopped there.
    pub too_deep: Option<Position>,
}

/// A key written a second time in one map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Duplicate {
    /// The path of the map (`steps`, `steps.menu`; empty for the top).
    pub map: String,
    pub key: String,
    pub first: Position,
    pub again: Position,
}

/// A file's index, made on its first lookup: most flows compile without
/// a mistake, and then never need one.
#[derive(Debug)]
pub(crate) struct LazyIndex<'a> {
    text: &'a str,
    index: OnceLock<PositionIndex>,
}

impl<'a> LazyIndex<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        LazyIndex {
            text,
            index: OnceLock::new(),
        }
    }

    /// An index made already.
    pub(crate) fn built(index: PositionIndex) -> LazyIndex<'static> {
        LazyIndex {
            text: "",
            index: OnceLock::from(index),
        }
    }

    /// [`PositionIndex::key`].
    pub(crate) fn key(&self, path: &str) -> Position {
        self.index().key(path)
    }

    /// [`PositionIndex::value`].
    pub(crate) fn value(&self, path: &str) -> Position {
        self.index().value(path)
    }

    fn index(&self) -> &PositionIndex {
        self.index.get_or_init(|| PositionIndex::build(self.text))
    }
}

#[derive(Debug, Default)]
pub struct PositionIndex {
    /// Path → (position of the key, position of the value).
    nodes: HashMap<String, (Position, Position)>,
}

impl PositionIndex {
    /// Indexes a file. A file the event parser cannot read yields an empty
    /// index: serde reports the syntax error with its own position.
    pub fn build(source: &str) -> PositionIndex {
        scan(source, usize::MAX).index
    }

    /// The position of a key (`steps.menu.next` → where `next:` is written).
    /// Falls back to the nearest enclosing node that is known.
    pub fn key(&self, path: &str) -> Position {
        self.lookup(path, |(key, _)| key)
    }

    /// The position of a key written at exactly this path, without falling
    /// back: for callers that try several places a thing may be written.
    pub fn find_key(&self, path: &str) -> Option<Position> {
        self.nodes.get(path).map(|&(key, _)| key)
    }

    /// The position of a key's value (`steps.menu.next` → where the step
    /// name after `next:` is written).
    pub fn value(&self, path: &str) -> Position {
        self.lookup(path, |(_, value)| value)
    }

    /// Where the key at `path` is written, only when that very key is in
    /// the file (no fallback to an enclosing one).
    pub fn exact_key(&self, path: &str) -> Option<Position> {
        self.nodes.get(path).map(|(key, _)| *key)
    }

    fn lookup(&self, path: &str, pick: fn((Position, Position)) -> Position) -> Position {
        let mut path = path;
        loop {
            if let Some(found) = self.nodes.get(path) {
                return pick(*found);
            }
            match path.rfind('.') {
                Some(dot) => path = &path[..dot],
                None => return Position::START,
            }
        }
    }
}

/// Indexes the first document of a file, noting duplicate keys, and stops
/// where maps and lists nest more than `max_depth` deep. Each event costs
/// at most `max_depth` work, so the pass is linear in the file. A file the
/// event parser cannot read yields an empty scan: serde reports the syntax
/// error with its own position.
pub(crate) fn scan(source: &str, max_depth: usize) -> Scan {
    scan_recording(source, max_depth, true)
}

/// [`scan`] for the shape only: duplicate keys and nesting, no index.
pub(crate) fn scan_shape(source: &str, max_depth: usize) -> Scan {
    scan_recording(source, max_depth, false)
}

fn scan_recording(source: &str, max_depth: usize, record: bool) -> Scan {
    let mut builder = Builder {
        max_depth,
        record,
        ..Builder::default()
    };
    let mut parser = Parser::new_from_str(source);
    loop {
        match parser.next_token() {
            Ok((Event::DocumentEnd | Event::StreamEnd, _)) => break,
            Ok((event, mark)) => {
                builder.on_event(event, mark);
                if builder.too_deep.is_some() {
                    break;
                }
            }
            // The scanner's own limit, met while it looks ahead (`[[[[`).
            Err(error) if error.info().contains("recursion limit") => {
                builder.too_deep = Some(position(*error.marker()));
                break;
            }
            Err(_) => return Scan::default(),
        }
    }
    Scan {
        index: PositionIndex {
            nodes: builder.nodes,
        },
        duplicates: builder.duplicates,
        too_deep: builder.too_deep,
    }
}

/// What the builder is inside of.
enum Frame {
    /// A mapping: the next scalar is a key when `pending_key` is None.
    Map {
        parent: Parent,
        pending_key: Option<(String, Position)>,
        /// Each key written so far, with where.
        keys: HashMap<String, Position>,
    },
    Seq {
        parent: Parent,
        next_index: usize,
    },
}

/// The path the builder goes back to when a mapping or list ends.
enum Parent {
    /// The path was this long before the container's own part was added.
    Length(usize),
    /// The container had no place (a mapping used as a key): it stood at
    /// the root, and the path it left was this.
    Detached(String),
}

/// Where a value went in the container it is in.
enum Place {
    Root,
    Key(String),
    Index(usize),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    /// The path of the innermost open container, kept as one buffer that
    /// grows and shrinks, so that only recorded nodes cost a string each.
    path: String,
    nodes: HashMap<String, (Position, Position)>,
    /// Whether positions are kept, or only the shape checked.
    record: bool,
    max_depth: usize,
    duplicates: Vec<Duplicate>,
    too_deep: Option<Position>,
}

fn position(mark: Marker) -> Position {
    Position {
        line: mark.line(),
        column: mark.col() + 1,
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl Builder {
    /// Claims the place a new value goes, and records the key and value
    /// positions; `None` for a value with no place (a mapping's key).
    fn place_value(&mut self, at: Position) -> Option<Place> {
        match self.stack.last_mut() {
            None => Some(Place::Root),
            Some(Frame::Map { pending_key, .. }) => {
                let (key, key_at) = pending_key.take()?;
                if self.record {
                    self.nodes.insert(join(&self.path, &key), (key_at, at));
                }
                Some(Place::Key(key))
            }
            Some(Frame::Seq { next_index, .. }) => {
                let index = *next_index;
                *next_index += 1;
                if self.record {
                    self.nodes
                        .insert(join(&self.path, &index.to_string()), (at, at));
                }
                Some(Place::Index(index))
            }
        }
    }

    /// Places a new mapping or list, and makes its path the current one.
    fn enter(&mut self, at: Position) -> Parent {
        let length = self.path.len();
        let separator = |path: &mut String| {
            if !path.is_empty() {
                path.push('.');
            }
        };
        match self.place_value(at) {
            Some(Place::Root) => Parent::Length(length),
            Some(Place::Key(key)) => {
                separator(&mut self.path);
                self.path.push_str(&key);
                Parent::Length(length)
            }
            Some(Place::Index(index)) => {
                separator(&mut self.path);
                self.path.push_str(&index.to_string());
                Parent::Length(length)
            }
            None => Parent::Detached(std::mem::take(&mut self.path)),
        }
    }

    /// Leaves the innermost mapping or list.
    fn leave(&mut self) {
        let parent = match self.stack.pop() {
            Some(Frame::Map { parent, .. } | Frame::Seq { parent, .. }) => parent,
            None => return,
        };
        match parent {
            Parent::Length(length) => self.path.truncate(length),
            Parent::Detached(path) => self.path = path,
        }
    }

    /// Whether one more level would pass the limit; notes where if so.
    fn deeper(&mut self, at: Position) -> bool {
        if self.stack.len() < self.max_depth {
            return false;
        }
        self.too_deep = Some(at);
        true
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let at = position(mark);
        match event {
            Event::Scalar(text, ..) => {
                if let Some(Frame::Map {
                    pending_key: pending @ None,
                    keys,
                    ..
                }) = self.stack.last_mut()
                {
                    match keys.get(&text) {
                        Some(&first) => self.duplicates.push(Duplicate {
                            map: self.path.clone(),
                            key: text.clone(),
                            first,
                            again: at,
                        }),
                        None => {
                            keys.insert(text.clone(), at);
                        }
                    }
                    *pending = Some((text, at));
                    return;
                }
                self.place_value(at);
            }
            Event::Alias(_) => {
                self.place_value(at);
            }
            Event::MappingStart(..) => {
                if self.deeper(at) {
                    return;
                }
                let parent = self.enter(at);
                self.stack.push(Frame::Map {
                    parent,
                    pending_key: None,
                    keys: HashMap::new(),
                });
            }
            Event::SequenceStart(..) => {
                if self.deeper(at) {
                    return;
                }
                let parent = self.enter(at);
                self.stack.push(Frame::Seq {
                    parent,
                    next_index: 0,
                });
            }
            Event::MappingEnd | Event::SequenceEnd => self.leave(),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_and_values_in_block_and_flow_style() {
        let source = "steps:\n  menu:\n    next: goodbye\n    on: { busy: voicemail }\n    branch:\n      - goto: a\n";
        let index = PositionIndex::build(source);
        assert_eq!(
            index.key("steps.menu.next"),
            Position { line: 3, column: 5 }
        );
        assert_eq!(
            index.value("steps.menu.next"),
            Position {
                line: 3,
                column: 11
            }
        );
        assert_eq!(
            index.value("steps.menu.on.busy"),
            Position {
                line: 4,
                column: 17
            }
        );
        assert_eq!(
            index.value("steps.menu.branch.0.goto"),
            Position {
                line: 6,
                column: 15
            }
        );
        // Unknown paths fall back to the nearest known parent.
        assert_eq!(
            index.key("steps.menu.nothing"),
            Position { line: 2, column: 3 }
        );
    }

    #[test]
    fn a_key_written_twice_in_one_map_is_noted_with_both_places() {
        let source =
            "steps:\n  a:\n    say: x\n    say: y\n  b: { say: z }\n  a:\n    hangup: true\n";
        let found = scan(source, 32);
        let at = |line, column| Position { line, column };
        assert_eq!(
            found.duplicates,
            [
                Duplicate {
                    map: "steps.a".into(),
                    key: "say".into(),
                    first: at(3, 5),
                    again: at(4, 5),
                },
                Duplicate {
                    map: "steps".into(),
                    key: "a".into(),
                    first: at(2, 3),
                    again: at(6, 3),
                },
            ]
        );
        // The same key in different maps is no duplicate.
        assert!(scan("a: { x: 1 }\nb: { x: 1 }\n", 32).duplicates.is_empty());
    }

    #[test]
    fn the_pass_stops_where_nesting_passes_the_limit() {
        let found = scan("a:\n  b:\n    c: [[1]]\n", 3);
        assert_eq!(found.too_deep, Some(Position { line: 3, column: 8 }));
        assert!(scan("a:\n  b:\n    c: [1]\n", 4).too_deep.is_none());
        for deep in ["[".repeat(100_000), "{a: ".repeat(50_000)] {
            assert!(scan(&deep, 32).too_deep.is_some());
        }
    }
}
