//! `callflow config`: the settings in effect, one variable a line, secrets hidden.

use std::fmt::Write as _;

use clap::parser::ValueSource;
use clap::{ArgMatches, Command};

/// Describes every setting of `command` as parsed into `matches`: its variable, its value (or
/// `(set, hidden)` for a secret, `(unset)`), and where the value came from.
///
/// Secrets are the arguments whose environment values `--help` hides too, so one mark on the
/// argument keeps a secret out of both.
pub fn effective(command: &Command, matches: &ArgMatches) -> String {
    let mut out = String::new();
    let mut heading = None;
    for arg in command.get_arguments() {
        let Some(name) = arg.get_env().and_then(|name| name.to_str()) else {
            continue;
        };
        if arg.get_help_heading() != heading {
            heading = arg.get_help_heading();
            let _ = writeln!(out, "\n# {}", heading.unwrap_or("Other"));
        }
        let id = arg.get_id().as_str();
        let source = matches.value_source(id);
        let value = match source {
            None => "(unset)".to_owned(),
            Some(_) if arg.is_hide_env_values_set() => "(set, hidden)".to_owned(),
            Some(_) => matches
                .get_raw(id)
                .into_iter()
                .flatten()
                .map(|raw| raw.to_string_lossy().trim().to_owned())
                .collect::<Vec<_>>()
                .join(" "),
        };
        let from = match source {
            Some(ValueSource::DefaultValue) => "  (default)",
            Some(ValueSource::EnvVariable) => "  (environment or .env)",
            Some(ValueSource::CommandLine) => "  (command line)",
            _ => "",
        };
        let _ = writeln!(out, "{name:<26} {value}{from}");
    }
    out.trim_start().to_owned()
}
