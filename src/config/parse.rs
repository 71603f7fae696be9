//! Reading the process's own command line and environment into the settings tree: the one
//! place callflow reads environment variables, so none can be missing from `--help`. The value
//! parsers of the server's and flows' groups are the shared ones, named here for `mod.rs`.

use clap::Command;

use crate::flow::MaxFileBytes;
use crate::setting::parse::check_each;
pub(super) use crate::setting::parse::{
    count, log_filter, path, port, seconds, seconds_or_zero, text,
};
use crate::setting::{SettingsError, problem_of};

/// Why the command line, with the environment, could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CommandLineError {
    /// Settings with bad values: every one found, to print one per line.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// Anything else (an unknown flag), or a request for help or the version: clap prints it.
    #[error(transparent)]
    Clap(#[from] clap::Error),
}

/// Reads the whole command line of `command` (which flattens [`Settings`](super::Settings)) and the process
/// environment. A variable set but blank counts as unset. A bad setting comes back with every
/// other bad variable in the environment, so they can all be fixed in one go.
pub fn read_command_line(command: Command) -> Result<clap::ArgMatches, CommandLineError> {
    let command = ignore_blank_env(command);
    command.clone().try_get_matches().map_err(|error| {
        let Some(first) = problem_of(&error).cloned() else {
            return CommandLineError::Clap(error);
        };
        let (_, mut problems) = check_each(&command, &env_var);
        if !problems.contains(&first) {
            problems.insert(0, first);
        }
        SettingsError { problems }.into()
    })
}

/// A size limit in bytes, of at least one.
pub(super) fn file_bytes(
    name: &'static str,
    value: &str,
) -> Result<MaxFileBytes, crate::setting::SettingProblem> {
    count(name, value).map(|n| {
        MaxFileBytes::new(u64::try_from(n).unwrap_or(u64::MAX)).unwrap_or(MaxFileBytes::DEFAULT)
    })
}

/// Reads an environment variable as text, lossily (see [`Setting`](crate::setting::Setting)).
fn env_var(name: &str) -> Option<String> {
    std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
}

/// `command` with the blank environment variables dropped, so that an empty variable counts as
/// unset (as `NAME=` in `.env` is usually meant) instead of failing its parser.
fn ignore_blank_env(command: Command) -> Command {
    command.mut_args(|arg| {
        let blank = arg
            .get_env()
            .and_then(|name| name.to_str())
            .and_then(env_var)
            .is_some_and(|value| value.trim().is_empty());
        if blank { arg.env(None) } else { arg }
    })
}
