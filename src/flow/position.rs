//! Where each key and value of a YAML file is, so that a mistake found after
//! parsing (a step that does not exist, a bad time range) can still be
//! reported at its line and column.
//!
//! serde gives positions only for the errors it finds itself; this index is
//! built from yaml-rust2's event parser, which reports a position for every
//! node. Paths are the keys from the root, such as `steps.menu.next`; items
//! of a list are their index (`steps.check.branch.0.goto`).

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use super::diagnostic::Position;

#[derive(Debug, Default)]
pub struct PositionIndex {
    /// Path → (position of the key, position of the value).
    nodes: HashMap<String, (Position, Position)>,
}

impl PositionIndex {
    /// Indexes a file. A file the event parser cannot read yields an empty
    /// index: serde reports the syntax error with its own position.
    pub fn build(source: &str) -> PositionIndex {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(source);
        if parser.load(&mut builder, false).is_err() {
            return PositionIndex::default();
        }
        PositionIndex {
            nodes: builder.nodes,
        }
    }

    /// The position of a key (`steps.menu.next` → where `next:` is written).
    /// Falls back to the nearest enclosing node that is known.
    pub fn key(&self, path: &str) -> Position {
        self.lookup(path, |(key, _)| key)
    }

    /// The position of a key's value (`steps.menu.next` → where the step
    /// name after `next:` is written).
    pub fn value(&self, path: &str) -> Position {
        self.lookup(path, |(_, value)| value)
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

/// What the builder is inside of.
enum Frame {
    /// A mapping: the next scalar is a key when `pending_key` is None.
    Map {
        path: String,
        pending_key: Option<(String, Position)>,
    },
    Seq {
        path: String,
        next_index: usize,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    nodes: HashMap<String, (Position, Position)>,
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
    /// Claims the place a new value goes: returns its path, and records the
    /// key and value positions.
    fn place_value(&mut self, at: Position) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Map { path, pending_key }) => {
                let (key, key_at) = pending_key.take()?;
                let full = join(path, &key);
                self.nodes.insert(full.clone(), (key_at, at));
                Some(full)
            }
            Some(Frame::Seq { path, next_index }) => {
                let full = join(path, &next_index.to_string());
                *next_index += 1;
                self.nodes.insert(full.clone(), (at, at));
                Some(full)
            }
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let at = position(mark);
        match event {
            Event::Scalar(text, ..) => {
                if let Some(Frame::Map {
                    pending_key: pending @ None,
                    ..
                }) = self.stack.last_mut()
                {
                    *pending = Some((text, at));
                    return;
                }
                self.place_value(at);
            }
            Event::Alias(_) => {
                self.place_value(at);
            }
            Event::MappingStart(..) => {
                let path = self.place_value(at).unwrap_or_default();
                self.stack.push(Frame::Map {
                    path,
                    pending_key: None,
                });
            }
            Event::SequenceStart(..) => {
                let path = self.place_value(at).unwrap_or_default();
                self.stack.push(Frame::Seq {
                    path,
                    next_index: 0,
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
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
}
