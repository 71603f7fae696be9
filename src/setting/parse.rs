//! The value parsers every setting goes through, and the two ways of feeding them: the process
//! environment (through clap's `env`, read by the settings tree in `config`) and a lookup
//! function ([`from_lookup`], [`from_vars`]).
//!
//! A parser returns the validated type (parse, don't validate), so the rest of the program never
//! sees a raw string. On failure it returns a [`SettingProblem`] that names the variable; the
//! problem travels inside the `clap::Error` as its source, so callers can print it without clap's
//! `invalid value '…'` framing, which would repeat the value (and values can be secrets).

use std::ffi::OsStr;

use clap::builder::TypedValueParser;
use clap::{Arg, Args, Command, FromArgMatches};

use super::{SettingProblem, SettingsError, VARIABLES};
use crate::signature::truncate_for_log;

/// How one setting turns its text (trimmed, never empty) into its type. The first argument is
/// the variable's name, for the message.
pub type Parse<T> = fn(&'static str, &str) -> Result<T, SettingProblem>;

/// A clap value parser made from a [`Parse`] function.
///
/// It trims the value (a stray newline from copying a secret is a common mistake), refuses an
/// empty one (only a flag can be empty; empty variables are dropped as unset before parsing),
/// and finds the variable's name from the argument's `env`, so the name is written once.
#[derive(Clone, Copy)]
pub struct Setting<T>(Parse<T>);

/// Wraps `parse` for `#[arg(value_parser = setting(...))]`.
pub const fn setting<T>(parse: Parse<T>) -> Setting<T> {
    Setting(parse)
}

impl<T: Clone + Send + Sync + 'static> TypedValueParser for Setting<T> {
    type Value = T;

    fn parse_ref(&self, cmd: &Command, arg: Option<&Arg>, value: &OsStr) -> Result<T, clap::Error> {
        let name = variable(arg);
        // Lossy, so a value that is not UTF-8 is reported as malformed rather than as missing.
        let text = value.to_string_lossy();
        let text = text.trim();
        let parsed = if text.is_empty() {
            Err(SettingProblem::Empty { name })
        } else {
            (self.0)(name, text)
        };
        parsed.map_err(|problem| carry(problem, cmd, arg))
    }
}

/// The variable an argument reads, as the `'static` name the problems carry.
fn variable(arg: Option<&Arg>) -> &'static str {
    let env = arg.and_then(Arg::get_env);
    VARIABLES
        .iter()
        .copied()
        .find(|name| env == Some(OsStr::new(name)))
        .unwrap_or("this setting")
}

/// A clap error whose source is `problem`. clap builds such errors only for its closure-based
/// parsers, so one is used to wrap it; the value clap would quote is replaced by a placeholder.
fn carry(problem: SettingProblem, cmd: &Command, arg: Option<&Arg>) -> clap::Error {
    let fail = move |_: &str| Err::<(), _>(problem.clone());
    fail.parse_ref(cmd, arg, OsStr::new("(see below)"))
        .expect_err("the wrapper always fails")
}

/// The setting problem behind a clap error, if a setting's parser caused it.
pub fn problem_of(error: &clap::Error) -> Option<&SettingProblem> {
    std::error::Error::source(error)?.downcast_ref()
}

/// The one reading of yes/no values: true/false, 1/0, yes/no, on/off, in any case.
pub fn yes_no(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// [`yes_no`] as a setting.
pub fn flag(name: &'static str, value: &str) -> Result<bool, SettingProblem> {
    yes_no(value).ok_or_else(|| SettingProblem::Flag {
        name,
        shown: truncate_for_log(value, 40),
    })
}

fn whole_number(
    name: &'static str,
    value: &str,
    min: u64,
    max: u64,
) -> Result<u64, SettingProblem> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| SettingProblem::Number {
            name,
            shown: truncate_for_log(value, 40),
            min,
            max,
        })
}

/// A TCP port; 0 lets the system pick a free one.
pub fn port(name: &'static str, value: &str) -> Result<u16, SettingProblem> {
    whole_number(name, value, 0, u16::MAX.into()).map(|n| u16::try_from(n).unwrap_or(u16::MAX))
}

/// A count of at least one (of something kept or allowed).
pub fn count(name: &'static str, value: &str) -> Result<usize, SettingProblem> {
    let max = u64::try_from(usize::MAX).unwrap_or(u64::MAX);
    whole_number(name, value, 1, max).map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// A whole number of seconds, from 1 to 300.
pub fn seconds(name: &'static str, value: &str) -> Result<std::time::Duration, SettingProblem> {
    whole_number(name, value, 1, 300).map(std::time::Duration::from_secs)
}

/// A whole number of seconds, from 0 (no wait at all) to 300.
pub fn seconds_or_zero(
    name: &'static str,
    value: &str,
) -> Result<std::time::Duration, SettingProblem> {
    whole_number(name, value, 0, 300).map(std::time::Duration::from_secs)
}

/// Any text; trimmed, like every setting.
pub fn text(_: &'static str, value: &str) -> Result<String, SettingProblem> {
    Ok(value.to_owned())
}

/// A path, relative to the working directory unless absolute.
pub fn path(_: &'static str, value: &str) -> Result<std::path::PathBuf, SettingProblem> {
    Ok(value.into())
}

/// A `RUST_LOG` filter, checked by the same parser the logger uses.
pub fn log_filter(_: &'static str, value: &str) -> Result<String, SettingProblem> {
    tracing_subscriber::EnvFilter::try_new(value)
        .map(|_| value.to_owned())
        .map_err(|error| SettingProblem::LogFilter {
            shown: truncate_for_log(value, 60),
            reason: error.to_string(),
        })
}

/// Runs every setting of `command` through its own parser over the values `lookup` gives
/// (blank values count as unset). Returns the flags that hand the good values to clap, and
/// every problem found, in declaration order.
pub fn check_each(
    command: &Command,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> (Vec<String>, Vec<SettingProblem>) {
    let mut flags = Vec::new();
    let mut problems = Vec::new();
    for arg in command.get_arguments() {
        let (Some(name), Some(long)) = (arg.get_env().and_then(OsStr::to_str), arg.get_long())
        else {
            continue;
        };
        let Some(value) = lookup(name).filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        // Each value is parsed alone, by a command holding only its argument, so that one bad
        // value does not hide the next.
        let flag = format!("--{long}={value}");
        let alone = Command::new("callflow")
            .no_binary_name(true)
            .arg(arg.clone().required(false));
        match alone.try_get_matches_from([&flag]) {
            Ok(_) => flags.push(flag),
            Err(error) => problems.push(
                problem_of(&error)
                    .cloned()
                    .unwrap_or_else(|| SettingProblem::Refused(error.to_string())),
            ),
        }
    }
    (flags, problems)
}

/// Reads the settings group `T` (or the whole tree) through `lookup` (a variable's name in, its
/// value out) instead of the process environment, with the same parsers. Values are trimmed and
/// blank ones count as unset; every problem is reported, not only the first.
pub fn from_lookup<T: Args + FromArgMatches>(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<T, SettingsError> {
    let command = T::augment_args(Command::new("callflow"));
    let (flags, problems) = check_each(&command, &lookup);
    if !problems.is_empty() {
        return Err(SettingsError { problems });
    }
    let refused = |error: clap::Error| SettingsError {
        problems: vec![
            problem_of(&error)
                .cloned()
                .unwrap_or_else(|| SettingProblem::Refused(error.to_string())),
        ],
    };
    // Only the flags count: what the process environment holds must not leak into tests.
    let matches = command
        .mut_args(|arg| arg.env(None))
        .try_get_matches_from(std::iter::once("callflow".to_owned()).chain(flags))
        .map_err(refused)?;
    T::from_arg_matches(&matches).map_err(refused)
}

/// Reads the settings group `T` from `NAME=value` pairs (see [`from_lookup`]); a name callflow
/// does not read is a problem too, so a typo cannot go unnoticed.
pub fn from_vars<T: Args + FromArgMatches>(pairs: &[(&str, &str)]) -> Result<T, SettingsError> {
    let unknown: Vec<SettingProblem> = pairs
        .iter()
        .filter(|(name, _)| !VARIABLES.contains(name))
        .map(|(name, _)| SettingProblem::Unknown {
            name: (*name).to_owned(),
        })
        .collect();
    if !unknown.is_empty() {
        return Err(SettingsError { problems: unknown });
    }
    from_lookup(|name| {
        pairs
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yes_no_reads_the_usual_spellings_in_any_case() {
        for yes in ["true", "TRUE", "1", "yes", "Yes", "on", " ON "] {
            assert_eq!(yes_no(yes), Some(true), "{yes}");
        }
        for no in ["false", "False", "0", "no", "NO", "off", "Off"] {
            assert_eq!(yes_no(no), Some(false), "{no}");
        }
        for neither in ["maybe", "", "2", "y", "enabled"] {
            assert_eq!(yes_no(neither), None, "{neither}");
        }
        assert_eq!(
            flag("TWILIO_ALLOW_UNSIGNED", "maybe")
                .unwrap_err()
                .to_string(),
            "TWILIO_ALLOW_UNSIGNED=\"maybe\" is not understood; use true or false"
        );
    }

    #[test]
    fn numbers_name_the_variable_and_the_range() {
        assert_eq!(port("PORT", "8080"), Ok(8080));
        assert_eq!(port("PORT", "0"), Ok(0));
        assert_eq!(
            port("PORT", "65536").unwrap_err().to_string(),
            "PORT=\"65536\" must be a whole number from 0 to 65535"
        );
        assert!(port("PORT", "http").is_err());
        assert_eq!(count("FLOW_VERSIONS_KEPT", "3"), Ok(3));
        assert!(count("FLOW_VERSIONS_KEPT", "0").is_err());
        assert!(count("FLOW_VERSIONS_KEPT", "-1").is_err());
    }

    #[test]
    fn a_bad_log_filter_names_rust_log() {
        assert_eq!(
            log_filter("RUST_LOG", "callflow=debug").as_deref(),
            Ok("callflow=debug")
        );
        let message = log_filter("RUST_LOG", "callflow=loud")
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("RUST_LOG=\"callflow=loud\""),
            "{message}"
        );
    }
}
