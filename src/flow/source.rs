//! A step as its flow file writes it, with the line it starts on, for the
//! page's diagram: clicking a step shows the YAML an author would edit, not
//! a rendering of what the compiler made of it.
//!
//! Only the flow file's own text is shown, as the author wrote it: secrets
//! are named there (`{{ secrets.CRM_TOKEN }}`), never their values, which
//! come from the environment.

use std::path::Path;

use super::files::{MaxFileBytes, read_again};
use super::position::PositionIndex;

/// The text of one step, from its name's line to the line before the next
/// key at its level or above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepSource {
    /// 1-based, as editors and `callflow check` count.
    pub line: usize,
    pub yaml: String,
}

/// The steps of one flow file as it is on disk now.
pub struct FlowSource {
    text: String,
    index: PositionIndex,
}

impl FlowSource {
    /// Reads `file` again, with the same care as a load (see
    /// [`files`](super::files)); `None` when it cannot be read now.
    pub fn read(file: &Path, max: MaxFileBytes) -> Option<FlowSource> {
        read_again(file, max).map(FlowSource::of)
    }

    pub fn of(text: String) -> FlowSource {
        let index = PositionIndex::build(&text);
        FlowSource { text, index }
    }

    /// The step named `step`, or `None` when the file no longer has it
    /// (an edit since the version serving was loaded).
    pub fn step(&self, step: &str) -> Option<StepSource> {
        let at = self.index.exact_key(&format!("steps.{step}"))?;
        let mut lines = self.text.lines().skip(at.line - 1);
        let first = lines.next()?;
        let indent = at.column - 1;
        let mut block = vec![first];
        block.extend(lines.take_while(|line| {
            let content = line.trim_start_matches(' ');
            content.is_empty() || line.len() - content.len() > indent
        }));
        while block.len() > 1 && block.last().is_some_and(|line| line.trim().is_empty()) {
            block.pop();
        }
        Some(StepSource {
            line: at.line,
            yaml: block.join("\n"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLOW: &str = "\
start: welcome
steps:
  welcome:
    say: Hello.
    # the menu comes next
    next: menu

  menu:
    menu:
      say: Press 1.
      options: { 1: welcome }
# the end of the steps
fallback: menu
";

    #[test]
    fn a_step_runs_from_its_name_to_the_next_step() {
        let source = FlowSource::of(FLOW.to_owned());
        assert_eq!(
            source.step("welcome"),
            Some(StepSource {
                line: 3,
                yaml: "  welcome:\n    say: Hello.\n    # the menu comes next\n    next: menu"
                    .into()
            })
        );
        let menu = source.step("menu").unwrap();
        assert_eq!(menu.line, 8);
        assert!(
            menu.yaml.ends_with("options: { 1: welcome }"),
            "{}",
            menu.yaml
        );
    }

    #[test]
    fn a_step_the_file_no_longer_has_is_none() {
        let source = FlowSource::of(FLOW.to_owned());
        assert_eq!(source.step("goodbye"), None);
        // A top-level key of the same name is no step.
        assert_eq!(source.step("fallback"), None);
    }
}
