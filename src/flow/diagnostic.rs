//! Mistakes found in flow files, reported the way a good compiler does.
//!
//! Every diagnostic names the file, the line and the column, says what is
//! wrong in words a flow author (not only a programmer) understands, and
//! offers a fix where one is likely ("did you mean `timeout`?"). The server's
//! start-up, `callflow check` and hot reload all print the same [`Report`].

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// The stable names of the kinds of mistake (a diagnostic's `code`). Once
/// published a code keeps its meaning: CI scripts match on it.
pub mod codes {
    /// An error that has no code of its own yet.
    pub const FLOW_ERROR: &str = "flow-error";
    /// A warning that has no code of its own yet.
    pub const FLOW_WARNING: &str = "flow-warning";
    /// The file is not valid YAML, or a value has the wrong type.
    pub const INVALID_YAML: &str = "invalid-yaml";
    pub const UNKNOWN_KEY: &str = "unknown-key";
    pub const UNKNOWN_VALUE: &str = "unknown-value";
    pub const MISSING_KEY: &str = "missing-key";
    pub const DUPLICATE_KEY: &str = "duplicate-key";
    pub const DUPLICATE_STEP: &str = "duplicate-step";
    pub const TOO_DEEP: &str = "too-deep";
    pub const NO_STEPS: &str = "no-steps";
    pub const EMPTY_STEP: &str = "empty-step";
    pub const TWO_ACTIONS: &str = "two-actions";
    /// A key's value is not one it takes (a time, a number, a name).
    pub const INVALID_SETTING: &str = "invalid-setting";
    /// A template or a condition does not compile, or reads what is not there.
    pub const INVALID_TEMPLATE: &str = "invalid-template";
    pub const UNDECLARED_SECRET: &str = "undeclared-secret";
    pub const MISPLACED_KEY: &str = "misplaced-key";
    pub const UNUSED_NEXT: &str = "unused-next";
    pub const UNKNOWN_STEP: &str = "unknown-step";
    pub const UNKNOWN_FLOW: &str = "unknown-flow";
    pub const UNKNOWN_PROMPT: &str = "unknown-prompt";
    pub const MISSING_TRANSLATION: &str = "missing-translation";
    pub const UNREACHABLE_STEP: &str = "unreachable-step";
    pub const ENDLESS_LOOP: &str = "endless-loop";
    pub const SILENT_WAIT: &str = "silent-wait";
    pub const OVERWRITES_INPUT: &str = "overwrites-input";
    pub const BAD_CALL: &str = "bad-call";
    pub const RETURN_WITHOUT_CALL: &str = "return-without-call";
    pub const MISSING_SECRET: &str = "missing-secret";
    /// A step runs where Twilio cannot do what it does: a hold step that
    /// records, a whisper that dials, a `leave` outside a queue's hold.
    pub const WRONG_LEG: &str = "wrong-leg";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A place in a flow file. Lines and columns count from 1, as editors do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    pub const START: Position = Position { line: 1, column: 1 };
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A short kebab-case name of the kind of mistake (`unknown-step`),
    /// which stays the same when the message's wording changes, so that CI
    /// scripts and editors can match on it. Kinds without a name of their
    /// own yet are `flow-error` or `flow-warning`; the README lists them.
    pub code: &'static str,
    pub file: PathBuf,
    #[serde(flatten)]
    pub position: Position,
    pub message: String,
    /// A suggestion, such as the closest known name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(file: &Path, position: Position, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code: codes::FLOW_ERROR,
            file: file.to_owned(),
            position,
            message: message.into(),
            help: None,
        }
    }

    pub fn warning(file: &Path, position: Position, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            code: codes::FLOW_WARNING,
            ..Diagnostic::error(file, position, message)
        }
    }

    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {severity}: {}",
            self.file.display(),
            self.position.line,
            self.position.column,
            self.message
        )?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Every diagnostic of one load, in file and line order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }

    pub fn is_empty(&self) -> bool {
        self.diagnostics.is_empty()
    }

    /// The report with each file named from `dir` (`sales/desk.yaml`), as
    /// it is shown to anyone who should not learn where the folder is on
    /// the machine; `dir` itself becomes `.`.
    pub fn relative_to(&self, dir: &Path) -> Report {
        Report {
            diagnostics: self
                .diagnostics
                .iter()
                .map(|diagnostic| Diagnostic {
                    file: relative_path(&diagnostic.file, dir),
                    ..diagnostic.clone()
                })
                .collect(),
        }
    }

    pub(crate) fn sort(&mut self) {
        self.diagnostics.sort_by(|a, b| {
            (&a.file, a.position, a.severity).cmp(&(&b.file, b.position, b.severity))
        });
        self.diagnostics.dedup();
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for diagnostic in &self.diagnostics {
            writeln!(f, "{diagnostic}")?;
        }
        f.write_str(&self.summary())
    }
}

impl Report {
    /// `2 errors, 1 warning`: the last line of the text form.
    pub fn summary(&self) -> String {
        let errors = self.errors().count();
        let warnings = self.diagnostics.len() - errors;
        format!(
            "{errors} {}, {warnings} {}",
            plural(errors, "error", "errors"),
            plural(warnings, "warning", "warnings")
        )
    }
}

/// `path` from `dir`. A path outside `dir` keeps only its file name, so
/// nothing above the folder is ever shown.
pub fn relative_path(path: &Path, dir: &Path) -> PathBuf {
    let shown_dir = dir.strip_prefix(".").unwrap_or(dir);
    let relative = path
        .strip_prefix(dir)
        .or_else(|_| path.strip_prefix(shown_dir))
        .ok()
        .filter(|relative| !relative.has_root())
        .map_or_else(
            || path.file_name().map(PathBuf::from).unwrap_or_default(),
            Path::to_owned,
        );
    if relative.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        relative
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// The known name closest to a misspelt one, if it is close enough to be a
/// likely typo.
pub fn closest<'a>(wrong: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wrong = wrong.to_lowercase();
    known
        .into_iter()
        .map(|name| (edit_distance(&wrong, &name.to_lowercase()), name))
        .filter(|(distance, name)| *distance <= (name.chars().count() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_shown_from_the_flows_folder() {
        let cases = [
            ("./flows", "flows/main.yaml", "main.yaml"),
            ("./flows", "./flows/sales/desk.yaml", "sales/desk.yaml"),
            ("./flows", "./flows", "."),
            (
                "/srv/callflow/flows",
                "/srv/callflow/flows/main.yaml",
                "main.yaml",
            ),
            // Never anything above the folder.
            ("./flows", "/srv/elsewhere/other.yaml", "other.yaml"),
            (".", "/srv/flows/main.yaml", "main.yaml"),
            (".", "flows/main.yaml", "flows/main.yaml"),
        ];
        for (dir, path, shown) in cases {
            assert_eq!(
                relative_path(Path::new(path), Path::new(dir)),
                Path::new(shown),
                "{path} from {dir}"
            );
        }
    }

    #[test]
    fn closest_finds_typos_but_not_unrelated_names() {
        let known = ["timeout", "retries", "options"];
        assert_eq!(closest("tiemout", known), Some("timeout"));
        assert_eq!(closest("option", known), Some("options"));
        assert_eq!(closest("banana", known), None);
    }
}
