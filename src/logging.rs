//! How log lines are written: one event, one line, whatever a caller sent.
//!
//! Log values often come from requests (flow names, parameters, identities,
//! URLs). Written raw, a value holding a line break starts a line of its own,
//! and whoever sent it can forge whole log entries ("… ERROR admin login
//! ok"). So every field, the message included, is escaped as it is written:
//! line breaks and other control characters become visible escapes such as
//! `\n`, and no value can end the line it is on.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::field::Field;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::format::{FormatFields, Writer, debug_fn};

use crate::setting::SettingProblem;

/// How log lines are written (`LOG_FORMAT`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One readable line per event, every value escaped.
    #[default]
    Text,
    /// One JSON object per line, for log collectors and `callflow report`.
    Json,
}

impl LogFormat {
    pub fn parse(_: &'static str, value: &str) -> Result<LogFormat, SettingProblem> {
        match value.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(SettingProblem::LogFormat {
                shown: value.chars().take(40).collect(),
            }),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        })
    }
}

static JSON: AtomicBool = AtomicBool::new(false);

/// Whether the log is JSON, so call events are written at `info` for
/// reports; in a readable log they would drown everything else, and are
/// written at `debug`.
pub fn json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// Sets up the process's log: `filter` was checked when the settings were
/// parsed (`RUST_LOG`).
pub fn init(filter: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::new(filter);
    match format {
        LogFormat::Text => {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .fmt_fields(fields())
                .with_writer(std::io::stderr)
                .try_init();
        }
        LogFormat::Json => {
            JSON.store(true, Ordering::Relaxed);
            // JSON escapes every value itself. Events carry their own
            // fields; the request span would repeat them on every line.
            let _ = tracing_subscriber::fmt()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false)
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .try_init();
        }
    }
}

/// The field formatter every log line uses: `name=value` pairs and the
/// message, each escaped by [`escape_into`].
pub fn fields() -> impl for<'w> FormatFields<'w> + Send + Sync + 'static {
    debug_fn(write_field).delimited(" ")
}

fn write_field(writer: &mut Writer<'_>, field: &Field, value: &dyn fmt::Debug) -> fmt::Result {
    let text = format!("{value:?}");
    if field.name() != "message" {
        write!(writer, "{}=", field.name())?;
    }
    escape_into(writer, &text)
}

/// Writes `text` with every character that could end or rewrite a line
/// (line breaks, carriage returns, terminal escapes, Unicode line and
/// paragraph separators) as an escape; everything else as it is.
pub fn escape_into(out: &mut impl fmt::Write, text: &str) -> fmt::Result {
    for c in text.chars() {
        match c {
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_char('\t')?,
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => {
                write!(out, "\\u{{{:x}}}", c as u32)?
            }
            c => out.write_char(c)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        let mut out = String::new();
        escape_into(&mut out, text).unwrap();
        out
    }

    #[test]
    fn nothing_that_could_start_a_line_survives() {
        let forged = "main\n2026-11-29T04:00:00Z ERROR forged\r\x1b[2K\u{85}\u{2028}end";
        let out = escaped(forged);
        assert_eq!(
            out,
            "main\\n2026-11-29T04:00:00Z ERROR forged\\r\\u{1b}[2K\\u{85}\\u{2028}end"
        );
        assert!(!out.chars().any(|c| c.is_control()));
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        let text = "flow `main` step «menu»: tabs\tand ünïcödé";
        assert_eq!(escaped(text), text);
    }
}
