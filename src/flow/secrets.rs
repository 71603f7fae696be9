//! Secrets: the environment variables a flow names in `secrets:`, for the
//! requests it makes (an API token, say).
//!
//! Templates never read the environment. A flow lists the variables it
//! needs; loading checks the names, and the server then reads exactly those
//! ([`SecretValues::resolve`]) before it serves the set, refusing to start
//! (or to reload) when one is missing. Values are only ever handed to a
//! request's url, query, headers and body, and every way of showing them
//! ([`Secret`]'s `Debug`, the transcript, logs) shows `***` instead.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use minijinja::Value;

use super::compiler::Compiler;
use super::diagnostic::{Diagnostic, Report, codes};
use super::model::FlowSet;
use crate::setting::names::VARIABLES;

/// What a secret shows wherever it could be seen: the transcript, the
/// page, logs, debug output.
pub const MASK: &str = "***";

/// A secret's value. It cannot be printed: `Debug` shows the mask.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    /// The value itself, for the request that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({MASK})")
    }
}

/// Where the server looks up the values of declared secrets.
pub enum SecretSource<'a> {
    /// The process environment: what `callflow serve` and reloads use.
    Environment,
    /// Given values, for tests and embedders.
    Given(&'a HashMap<String, String>),
    /// A stand-in for every secret: flow tests, whose requests are
    /// stubbed and must not depend on the machine they run on.
    Placeholders,
}

impl SecretSource<'_> {
    fn lookup(&self, name: &str) -> Option<String> {
        match self {
            SecretSource::Environment => crate::config::flow_secret(name),
            SecretSource::Given(values) => values.get(name).cloned(),
            SecretSource::Placeholders => Some(format!("test-{name}")),
        }
    }
}

/// The values of every secret a flow set declares, by name; empty until
/// [`SecretValues::resolve`] fills it.
#[derive(Debug, Clone, Default)]
pub struct SecretValues {
    values: Arc<HashMap<String, Secret>>,
}

impl SecretValues {
    /// Looks up every declared secret in `source`. A missing one is
    /// reported at its `secrets:` entry, as an error or (for `callflow
    /// check`, which may run far from the server's environment) a warning.
    pub fn resolve(
        flows: &FlowSet,
        source: &SecretSource<'_>,
        missing_is_error: bool,
    ) -> (SecretValues, Report) {
        let mut values = HashMap::new();
        let mut report = Report::default();
        for flow in flows.flows() {
            for declared in &flow.secrets {
                match source.lookup(&declared.name) {
                    Some(value) => {
                        values.insert(declared.name.clone(), Secret::new(value));
                    }
                    None => {
                        let message = format!(
                            "the environment has no `{}`, which this flow declares in `secrets`",
                            declared.name
                        );
                        let diagnostic = if missing_is_error {
                            Diagnostic::error(&flow.file, declared.at, message)
                        } else {
                            Diagnostic::warning(&flow.file, declared.at, message)
                        };
                        report.push(diagnostic.with_code(codes::MISSING_SECRET).with_help(format!(
                            "set {} in the server's environment (or its .env file); the server will not start without it",
                            declared.name
                        )));
                    }
                }
            }
        }
        report.sort();
        (
            SecretValues {
                values: Arc::new(values),
            },
            report,
        )
    }

    /// What `secrets` reads in a request's templates: the values, or the
    /// mask for each when `masked` (what the transcript shows).
    pub(crate) fn context(&self, masked: bool) -> Value {
        let map: HashMap<&str, &str> = self
            .values
            .iter()
            .map(|(name, secret)| {
                let shown = if masked { MASK } else { secret.expose() };
                (name.as_str(), shown)
            })
            .collect();
        Value::from_serialize(&map)
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// One name in a flow's `secrets:` list, and where it is written.
#[derive(Debug, Clone)]
pub struct DeclaredSecret {
    pub name: String,
    pub at: super::diagnostic::Position,
}

/// Checks a flow's `secrets:` list: each name an environment variable's,
/// written once, and none of callflow's own settings, which flows have no
/// business sending anywhere.
pub(super) fn declare(cx: &mut Compiler<'_>, names: &[String]) -> Vec<DeclaredSecret> {
    let mut declared: Vec<DeclaredSecret> = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let at = cx.value(&format!("secrets.{i}"));
        if !valid_name(name) {
            cx.error(
                at,
                format!("`{name}` cannot name a secret: use capital letters, digits and `_`, as environment variables are named"),
            );
            continue;
        }
        if VARIABLES.contains(&name.as_str()) {
            cx.error(
                at,
                format!("`{name}` is one of callflow's own settings, which flows cannot read"),
            )
            .help = Some("give the flow's secret a variable of its own".into());
            continue;
        }
        if declared.iter().any(|d| &d.name == name) {
            cx.error(at, format!("`{name}` is listed twice in `secrets`"));
            continue;
        }
        declared.push(DeclaredSecret {
            name: name.clone(),
            at,
        });
    }
    declared
}

fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_uppercase() || b == b'_')
        && bytes.all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && name.len() <= 64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let secret = Secret::new("sk_live_123".into());
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        let values = SecretValues {
            values: Arc::new([("TOKEN".to_owned(), secret)].into()),
        };
        assert!(!format!("{values:?}").contains("sk_live"));
    }

    #[test]
    fn secret_names_are_environment_variable_names() {
        assert!(valid_name("SHOP_TOKEN"));
        assert!(valid_name("_X1"));
        assert!(!valid_name("shop_token"));
        assert!(!valid_name("1X"));
        assert!(!valid_name("A-B"));
    }
}
