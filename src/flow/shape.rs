//! What no flow or flow test file may be, whatever its keys: nested deeper
//! than [`MAX_DEPTH`], or with a key written twice in one map.
//!
//! Both are found before serde parses the file, in the one pass that
//! indexes positions (`position::scan`). A deeply nested file costs far more
//! than its size to parse (a 200 KB one took seconds and held up the next
//! live edit), so the pass stops at the limit. A key written twice is
//! something YAML parsers settle silently by keeping the last one: a second
//! step with the same name would replace the first, unnoticed.

use std::path::Path;

use super::diagnostic::Position;
use super::diagnostic::{Diagnostic, codes};
use super::position::{Duplicate, PositionIndex, scan, scan_shape};

/// How deep maps and lists may nest. A flow needs about eight levels
/// (`steps`, a step, `menu`, `options`, an option, ...); the rest is room.
pub const MAX_DEPTH: usize = 32;

/// The file's position index, or every problem of its shape.
pub(crate) fn checked_index(file: &Path, text: &str) -> Result<PositionIndex, Vec<Diagnostic>> {
    let scan = scan(text, MAX_DEPTH);
    problems(file, scan.duplicates, scan.too_deep)?;
    Ok(scan.index)
}

/// Every problem of the file's shape, found without indexing it.
pub(crate) fn checked_shape(file: &Path, text: &str) -> Result<(), Vec<Diagnostic>> {
    let scan = scan_shape(text, MAX_DEPTH);
    problems(file, scan.duplicates, scan.too_deep)
}

fn problems(
    file: &Path,
    duplicates: Vec<Duplicate>,
    too_deep: Option<Position>,
) -> Result<(), Vec<Diagnostic>> {
    let mut problems: Vec<Diagnostic> = duplicates
        .iter()
        .map(|duplicate| {
            let first = if duplicate.first.line == duplicate.again.line {
                format!(
                    "{}, column {}",
                    duplicate.first.line, duplicate.first.column
                )
            } else {
                duplicate.first.line.to_string()
            };
            let key = &duplicate.key;
            if duplicate.map == "steps" {
                Diagnostic::error(
                    file,
                    duplicate.again,
                    format!("duplicate step `{key}`; first defined at line {first}"),
                )
                .with_code(codes::DUPLICATE_STEP)
                .with_help(
                    "give each step its own name: the second would silently replace the first",
                )
            } else {
                let within = match duplicate.map.as_str() {
                    "" => String::new(),
                    map => format!(" in `{map}`"),
                };
                Diagnostic::error(
                    file,
                    duplicate.again,
                    format!("duplicate key `{key}`{within}; first defined at line {first}"),
                )
                .with_code(codes::DUPLICATE_KEY)
                .with_help("write each key once: the second would silently replace the first")
            }
        })
        .collect();
    if let Some(at) = too_deep {
        problems.push(
            Diagnostic::error(
                file,
                at,
                format!("maps and lists nest more than {MAX_DEPTH} levels deep here"),
            )
            .with_code(codes::TOO_DEEP)
            .with_help("no flow needs this much nesting: the file is read no further"),
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
