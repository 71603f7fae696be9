//! The pieces every group of settings is made of: the variable names, the value-parser adapter
//! and the shared parsers, the problems a bad value is reported as, and [`PublicUrl`].
//!
//! It sits below every part that has settings and uses nothing of callflow but the signature
//! module's log truncation. So each part can declare and check its own group of settings (the
//! token endpoint's group lives in `token`, the webhook and test-page groups in `http`) while
//! `config` gathers the groups into one tree, and no two modules import each other.
//!
//! [`from_lookup`] and [`from_vars`] read any group, or the whole tree, from a lookup function
//! instead of the process environment, for tests and embedders.

pub mod names;
pub mod parse;
mod problem;
mod public_url;

pub use names::VARIABLES;
pub use parse::{Parse, Setting, from_lookup, from_vars, problem_of, setting, yes_no};
pub use problem::{SettingProblem, SettingsError};
pub use public_url::{PublicUrl, public_url};
