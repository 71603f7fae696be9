//! Where each flow file defines its steps and names others, for going to
//! a definition, finding references and renaming.
//!
//! This is read from the YAML itself, with the checker's own position
//! index, rather than from the compiled flows: a folder with any error
//! compiles to nothing, and an author asks where a step is used most
//! while the flows are broken. The keys that name a step are the ones the
//! step kinds resolve as targets (`next`, `on:`, menu options, `otherwise`,
//! branch arms' `goto`, `hours`' `open` and `closed`, `start`, `fallback`),
//! and `goto` and `call` name another flow and, optionally, its step.

use serde_yaml_ng::{Mapping, Value};

use crate::flow::diagnostic::Position;
use crate::flow::load::Source;
use crate::flow::position::PositionIndex;

/// What a name written in a flow file stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Named {
    /// A step of a flow (this one or another).
    Step { flow: String, step: String },
    /// A flow, at its start (`goto: billing`).
    Flow(String),
}

/// A name written in a flow file, where it is written.
#[derive(Debug, Clone)]
pub(crate) struct Mention {
    pub named: Named,
    pub at: Position,
    /// Its length in characters.
    pub chars: usize,
}

impl Mention {
    /// Whether the character at `line` and `column` (from 0) is in it.
    pub(crate) fn covers(&self, line: usize, column: usize) -> bool {
        let start = self.at.column - 1;
        self.at.line == line + 1 && (start..=start + self.chars).contains(&column)
    }
}

/// One flow file's steps and the names it writes.
#[derive(Debug, Default)]
pub(crate) struct Outline {
    /// The flow's name.
    pub flow: String,
    pub text: String,
    /// Each step's name where it is defined (`steps.NAME:`).
    pub steps: Vec<Mention>,
    /// Each name of a step or flow written as a target.
    pub mentions: Vec<Mention>,
    /// The step a call starts at: `start`, or the first written.
    pub start: Option<String>,
}

impl Outline {
    /// The outline of `source`; empty (but for its text) while the file is
    /// not valid YAML, as it often is mid-edit.
    pub(crate) fn of(source: &Source) -> Outline {
        let mut outline = Outline {
            flow: source.name.clone(),
            text: source.text.clone(),
            ..Outline::default()
        };
        let Ok(Value::Mapping(top)) = serde_yaml_ng::from_str::<Value>(&source.text) else {
            return outline;
        };
        let index = PositionIndex::build(&source.text);
        let mut reader = Reader {
            flow: &source.name,
            index: &index,
            text: &source.text,
            outline: &mut outline,
        };
        reader.top(&top);
        outline
    }
}

struct Reader<'a> {
    flow: &'a str,
    index: &'a PositionIndex,
    text: &'a str,
    outline: &'a mut Outline,
}

impl Reader<'_> {
    fn top(&mut self, top: &Mapping) {
        for key in ["start", "fallback"] {
            self.step(top.get(key), key);
        }
        let Some(Value::Mapping(steps)) = top.get("steps") else {
            return;
        };
        let explicit_start = top.get("start").and_then(name_of);
        let first = steps.keys().next().and_then(name_of);
        self.outline.start = explicit_start.or(first);
        for (name, step) in steps {
            let Some(name) = name_of(name) else { continue };
            let path = format!("steps.{name}");
            let at = self.index.key(&path);
            self.outline.steps.push(Mention {
                chars: name.chars().count(),
                named: Named::Step {
                    flow: self.flow.to_owned(),
                    step: name,
                },
                at: self.unquoted(at),
            });
            if let Value::Mapping(step) = step {
                self.keys_of_step(step, &path);
            }
        }
    }

    fn keys_of_step(&mut self, step: &Mapping, path: &str) {
        for (key, value) in step {
            let Some(key) = key.as_str() else { continue };
            let path = format!("{path}.{key}");
            match key {
                "next" | "open" | "closed" => self.step(Some(value), &path),
                "on" => self.each_step(value, &path),
                "branch" => {
                    for (i, arm) in value.as_sequence().into_iter().flatten().enumerate() {
                        self.step(arm.get("goto"), &format!("{path}.{i}.goto"));
                    }
                }
                "menu" => self.menu(value, &path),
                "goto" | "call" => self.other_flow(value, &path),
                // The steps run on another leg: a queue's hold, a whisper.
                "enqueue" => self.step(value.get("hold"), &format!("{path}.hold")),
                "dial" => self.step(value.get("whisper"), &format!("{path}.whisper")),
                _ => {}
            }
        }
    }

    fn menu(&mut self, menu: &Value, path: &str) {
        if let Some(Value::Mapping(options)) = menu.get("options") {
            for (key, option) in options {
                let Some(key) = name_of(key) else { continue };
                let option_path = format!("{path}.options.{key}");
                match option {
                    Value::Mapping(_) => {
                        self.step(option.get("go"), &format!("{option_path}.go"));
                    }
                    _ => self.step(Some(option), &option_path),
                }
            }
        }
        if let Some(on) = menu.get("on") {
            self.each_step(on, &format!("{path}.on"));
        }
        self.step(menu.get("otherwise"), &format!("{path}.otherwise"));
    }

    /// `goto: billing`, or `goto: { flow: billing, step: card }`.
    fn other_flow(&mut self, value: &Value, path: &str) {
        if let Some(flow) = name_of(value) {
            self.mention(Named::Flow(flow), path);
            return;
        }
        let Some(flow) = value.get("flow").and_then(name_of) else {
            return;
        };
        self.mention(Named::Flow(flow.clone()), &format!("{path}.flow"));
        if let Some(step) = value.get("step").and_then(name_of) {
            self.mention(Named::Step { flow, step }, &format!("{path}.step"));
        }
    }

    fn each_step(&mut self, map: &Value, path: &str) {
        for (key, value) in map.as_mapping().into_iter().flatten() {
            if let Some(key) = name_of(key) {
                self.step(Some(value), &format!("{path}.{key}"));
            }
        }
    }

    /// A step of this flow named at `path`; `hangup` is no step.
    fn step(&mut self, value: Option<&Value>, path: &str) {
        let Some(step) = value.and_then(name_of) else {
            return;
        };
        if step == "hangup" {
            return;
        }
        let named = Named::Step {
            flow: self.flow.to_owned(),
            step,
        };
        self.mention(named, path);
    }

    fn mention(&mut self, named: Named, path: &str) {
        let written = match &named {
            Named::Step { step, .. } => step,
            Named::Flow(flow) => flow,
        };
        let chars = written.chars().count();
        let at = self.unquoted(self.index.value(path));
        self.outline.mentions.push(Mention { named, at, chars });
    }

    /// Past the opening quote of a quoted name.
    fn unquoted(&self, at: Position) -> Position {
        let quoted = self
            .text
            .lines()
            .nth(at.line.saturating_sub(1))
            .and_then(|line| line.chars().nth(at.column.saturating_sub(1)))
            .is_some_and(|c| c == '"' || c == '\'');
        Position {
            line: at.line,
            column: at.column + usize::from(quoted),
        }
    }
}

/// A name as written: text, or a number (`404:` is a step name too).
fn name_of(value: &Value) -> Option<String> {
    match value {
        Value::String(name) => Some(name.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outline(text: &str) -> Outline {
        Outline::of(&Source {
            name: "main".into(),
            file: "main.yaml".into(),
            text: text.into(),
        })
    }

    fn step(name: &str) -> Named {
        Named::Step {
            flow: "main".into(),
            step: name.into(),
        }
    }

    #[test]
    fn every_key_that_names_a_step_is_a_mention_where_the_name_is_written() {
        let found = outline(
            "start: menu\nsteps:\n  menu:\n    menu:\n      options: { 1: sales, 2: { go: \"help\" } }\n      on: { no_input: bye }\n    next: hangup\n  check:\n    branch:\n      - if: x\n        goto: sales\n  sales:\n    goto: { flow: billing, step: card }\n  help:\n    call: verify\n  bye:\n    hangup: true\n",
        );
        let at = |line, column| Position { line, column };
        let mentions: Vec<(Named, Position)> = found
            .mentions
            .iter()
            .map(|m| (m.named.clone(), m.at))
            .collect();
        assert_eq!(
            mentions,
            [
                (step("menu"), at(1, 8)),
                (step("sales"), at(5, 21)),
                (step("help"), at(5, 38)),
                (step("bye"), at(6, 23)),
                (step("sales"), at(11, 15)),
                (Named::Flow("billing".into()), at(13, 19)),
                (
                    Named::Step {
                        flow: "billing".into(),
                        step: "card".into()
                    },
                    at(13, 34)
                ),
                (Named::Flow("verify".into()), at(15, 11)),
            ]
        );
        assert_eq!(found.steps.len(), 5);
        assert_eq!(found.steps[1].at, at(8, 3));
        assert_eq!(found.start.as_deref(), Some("menu"));
    }

    /// A queue's `hold` and a dial's `whisper` name the steps they run.
    #[test]
    fn hold_and_whisper_name_steps() {
        let found = outline(
            "steps:
  wait:
    enqueue: { queue: support, hold: music }
  doctor:
    dial: { number: \"+14155550100\", whisper: announce }
  music:
    play: https://example.com/hold.mp3
  announce:
    say: A call for you.
",
        );
        let mentions: Vec<(Named, Position)> = found
            .mentions
            .iter()
            .map(|m| (m.named.clone(), m.at))
            .collect();
        assert_eq!(
            mentions,
            [
                (
                    step("music"),
                    Position {
                        line: 3,
                        column: 38
                    }
                ),
                (
                    step("announce"),
                    Position {
                        line: 5,
                        column: 46
                    }
                ),
            ]
        );
    }
}
