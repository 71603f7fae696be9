//! How `callflow check` writes its diagnostics: as text for people, as
//! JSON Lines for programs, or as GitHub Actions annotations, which put
//! each mistake on the line of the pull request that made it.
//!
//! JSON Lines rather than one array: a program can read each mistake as it
//! comes, and `grep`, `jq -c` and `wc -l` work line by line on it.

use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use super::diagnostic::{Diagnostic, Report, Severity};

/// `callflow check --format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// `file:line:column: error: message`, with `help:` below (the default).
    #[default]
    Text,
    /// One JSON object per line, per diagnostic.
    Json,
    /// GitHub Actions workflow commands (`::error file=…,line=…::…`).
    Github,
}

/// One diagnostic as a line of `--format json`. Every key is always there
/// (`hint` is `null` when there is none), so a reader need not guess.
#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    file: String,
    line: usize,
    column: usize,
    severity: Severity,
    code: &'a str,
    message: &'a str,
    hint: Option<&'a str>,
}

impl<'a> From<&'a Diagnostic> for JsonDiagnostic<'a> {
    fn from(diagnostic: &'a Diagnostic) -> Self {
        JsonDiagnostic {
            file: shown_file(&diagnostic.file),
            line: diagnostic.position.line,
            column: diagnostic.position.column,
            severity: diagnostic.severity,
            code: diagnostic.code,
            message: &diagnostic.message,
            hint: diagnostic.help.as_deref(),
        }
    }
}

/// Writes what `callflow check` prints: every diagnostic of `reports` as
/// `format` wants it, and, in text and for GitHub, a last line: `ready`
/// when the flows loaded, else the count of mistakes. JSON has nothing but
/// the objects, so that every line parses.
pub fn write_check(
    reports: &[Report],
    ready: Option<&str>,
    format: ReportFormat,
    out: &mut impl Write,
) -> io::Result<()> {
    let diagnostics = reports.iter().flat_map(|report| &report.diagnostics);
    match format {
        // Each report as the server's start-up and reloads print it.
        ReportFormat::Text => {
            for report in reports.iter().filter(|report| !report.is_empty()) {
                writeln!(out, "{report}")?;
            }
            if let Some(ready) = ready {
                writeln!(out, "{ready}")?;
            }
        }
        ReportFormat::Json => {
            for diagnostic in diagnostics {
                serde_json::to_writer(&mut *out, &JsonDiagnostic::from(diagnostic))?;
                writeln!(out)?;
            }
        }
        // GitHub shows the lines that are not commands in the job's log.
        ReportFormat::Github => {
            for diagnostic in diagnostics.clone() {
                writeln!(out, "{}", github_annotation(diagnostic))?;
            }
            match ready {
                Some(ready) => writeln!(out, "{ready}")?,
                None => {
                    let all = Report {
                        diagnostics: diagnostics.cloned().collect(),
                    };
                    writeln!(out, "{}", all.summary())?;
                }
            }
        }
    }
    Ok(())
}

/// `::error file=flows/main.yaml,line=5,col=7,title=unknown-key::…`: the
/// hint goes on a line of its own under the message, as in the text form.
pub fn github_annotation(diagnostic: &Diagnostic) -> String {
    let command = match diagnostic.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut message = diagnostic.message.clone();
    if let Some(help) = &diagnostic.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    format!(
        "::{command} file={},line={},col={},title={}::{}",
        escape_property(&shown_file(&diagnostic.file)),
        diagnostic.position.line,
        diagnostic.position.column,
        escape_property(&format!("callflow {}", diagnostic.code)),
        escape_data(&message)
    )
}

/// The file as a path from the repository's root: `./flows/main.yaml`
/// (the default `FLOWS_DIR`) becomes `flows/main.yaml`, which is how GitHub
/// names the file in a pull request.
fn shown_file(path: &Path) -> String {
    let kept: PathBuf = path
        .components()
        .filter(|part| !matches!(part, Component::CurDir))
        .collect();
    kept.display().to_string()
}

/// GitHub's rule for a workflow command's message: without it a `%` or a
/// line break in a flow's text would cut the annotation short.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// GitHub's rule for a property's value (`file=…`), where `:` and `,` also
/// end the value.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::diagnostic::{Position, codes};

    fn unknown_key() -> Diagnostic {
        Diagnostic::error(
            Path::new("flows/main.yaml"),
            Position { line: 5, column: 7 },
            "unknown key `tiemout` in `steps.menu`",
        )
        .with_code(codes::UNKNOWN_KEY)
        .with_help("did you mean `timeout`?")
    }

    #[test]
    fn an_annotation_names_the_file_line_column_and_code() {
        assert_eq!(
            github_annotation(&unknown_key()),
            "::error file=flows/main.yaml,line=5,col=7,title=callflow unknown-key::unknown key `tiemout` in `steps.menu`%0Ahelp: did you mean `timeout`?"
        );
    }

    #[test]
    fn files_are_named_from_the_repository_root() {
        let mut diagnostic = unknown_key();
        diagnostic.file = PathBuf::from("./flows/./sales/desk.yaml");
        assert!(github_annotation(&diagnostic).starts_with("::error file=flows/sales/desk.yaml,"));
    }

    #[test]
    fn annotations_escape_what_would_end_them_early() {
        let warning = Diagnostic::warning(
            Path::new("flows/a,b:c%.yaml"),
            Position::START,
            "100% sure:\r\nline two, still",
        );
        assert_eq!(
            github_annotation(&warning),
            "::warning file=flows/a%2Cb%3Ac%25.yaml,line=1,col=1,title=callflow flow-warning::100%25 sure:%0D%0Aline two, still"
        );
    }

    #[test]
    fn json_lines_have_every_key_even_without_a_hint() {
        let mut report = Report::default();
        report.push(unknown_key());
        report.push(Diagnostic::warning(
            Path::new("flows/main.yaml"),
            Position::START,
            "a",
        ));
        let mut out = Vec::new();
        write_check(&[report], None, ReportFormat::Json, &mut out).unwrap();
        let lines: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(
            lines[0],
            serde_json::json!({
                "file": "flows/main.yaml", "line": 5, "column": 7, "severity": "error",
                "code": "unknown-key", "message": "unknown key `tiemout` in `steps.menu`",
                "hint": "did you mean `timeout`?"
            })
        );
        assert_eq!(lines[1]["hint"], serde_json::Value::Null);
        assert_eq!(lines[1]["code"], "flow-warning");
    }
}
