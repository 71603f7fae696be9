//! Flows: the call scripts a line runs, loaded from YAML and checked.
//!
//! A [`FlowSet`] can only be made by [`load()`], which reads a folder of flow
//! files, checks every reference, template, number and time range, and
//! compiles the result: step names become indexes, text becomes plain
//! strings or compiled templates. The request path uses the set as it is and
//! never re-checks anything.
//!
//! - [`steps`]: each kind of step, one file each: its YAML, its compiled
//!   form, its checks, its TwiML and how it resumes.
//! - [`load`](mod@load): loading a set: read, parse, compile, check.
//! - `read`: reading flow files from disk.
//! - `files`: which files of the folder are read, and how (regular files,
//!   links inside the folder, a size limit, never blocking).
//! - `shape`: what no file may be: nested too deep, or a key written twice.
//! - `yaml_error`: serde's YAML errors, said to the flow's author.
//! - `compile`: compiling a flow's frame: its steps, start, numbers.
//! - `compiler`: what every kind compiles with: text, targets, names.
//! - `check`: checks across steps and flows (unreachable steps, loops).
//! - `calls`: checks that follow `call` across flows (sub-flows that never
//!   come back, recursion, depth).
//! - `spec`: the YAML of a flow file's frame.
//! - `yaml`: YAML shapes the kinds share (short forms, one or many).
//! - `model`: the compiled flows a call runs on.
//! - `target`: where a call goes.
//! - [`diagnostic`]: mistakes, with file, line and column.
//! - [`report_format`]: diagnostics as JSON Lines or GitHub annotations,
//!   for CI (`callflow check --format`).
//! - [`graph`]: a compiled flow drawn as Mermaid or DOT (`callflow graph`).
//! - `position`: where each key of a YAML file is, for diagnostics.
//! - `positions`: those of every flow of a set, made when a check needs them.
//! - `template`: templated text.
//! - `simple`: the common templates, kept without minijinja.
//! - `schedule`: opening hours.
//! - [`secrets`]: the environment variables a flow's requests may read.

pub mod callers;
mod calls;
mod check;
mod compile;
pub(crate) mod compiler;
pub mod diagnostic;
pub(crate) mod files;
pub mod graph;
pub(crate) mod languages;
pub mod load;
mod model;
pub(crate) mod position;
mod positions;
mod prompt_files;
mod read;
pub mod record_calls;
pub mod report_format;
pub(crate) mod schedule;
pub(crate) mod schema;
pub mod secrets;
pub(crate) mod shape;
pub(crate) mod simple;
pub mod source;
pub(crate) mod spec;
pub mod steps;
mod target;
pub(crate) mod template;
pub(crate) mod yaml;
pub(crate) mod yaml_error;

pub use diagnostic::{Diagnostic, Report};
pub use files::MaxFileBytes;
pub use load::{Loaded, load, load_limited, load_sources};
pub use model::{Flow, FlowSet, Step};
pub use secrets::SecretSource;
pub use steps::Action;
pub use target::{FlowId, StepId, Target};
pub use template::Text;
