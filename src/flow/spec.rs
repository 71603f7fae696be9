//! The frame of a flow file as the author writes it in YAML: its settings
//! and its steps.
//!
//! Each kind of step declares its own YAML in its file under
//! [`steps`](super::steps). Unknown keys are refused (`deny_unknown_fields`)
//! so that a typo such as `tiemout:` is an error with a line number instead
//! of a setting silently ignored on a live line.

use indexmap::IndexMap;
use serde::Deserialize;

use super::languages::{LanguageSpec, PromptsSpec};
use super::steps::StepSpec;
/// The simulator's API names dial outcomes as the flow language does.
pub use super::steps::dial::DialOutcome;
use super::steps::speech::SpeechOptions;

/// One file in the flows folder.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowSpec {
    /// What the flow is for; shown by `/flows` and in logs.
    pub description: Option<String>,
    /// Default voice of every `say` in this flow.
    pub voice: Option<String>,
    /// Default language of every `say` and speech `gather` in this flow.
    pub language: Option<String>,
    /// The languages the flow speaks, each with its voice; the first is the
    /// default. The call's `language` variable picks one.
    #[serde(default)]
    pub languages: IndexMap<String, LanguageSpec>,
    /// Texts by name, one per language, said with `say: { prompt: name }`:
    /// a table, the path of a shared prompt file, or a list of both.
    #[serde(default)]
    pub prompts: PromptsSpec,
    /// Defaults for how every `gather` and `menu` in this flow listens:
    /// speech model, barge-in and the rest.
    pub speech: Option<SpeechOptions>,
    /// IANA time zone for `hours` and for `now` in templates.
    pub timezone: Option<String>,
    /// Called numbers (E.164) whose calls this flow answers.
    #[serde(default)]
    pub numbers: Vec<String>,
    /// Callers the flow turns away before its first step (`block`), or the
    /// only ones it answers (`allow`).
    pub callers: Option<super::callers::CallersSpec>,
    /// Records every call from its start, after telling the caller so.
    pub(crate) record_calls: Option<super::record_calls::RecordCallsSpec>,
    /// The first step; the first step in the file when left out.
    pub start: Option<String>,
    /// Where a call goes when something goes wrong at run time, instead of
    /// the built-in apology.
    pub fallback: Option<String>,
    /// The variables this flow gives back when it is called as a sub-flow:
    /// the only names its `return` steps may set.
    #[serde(default)]
    pub returns: Vec<String>,
    /// Environment variables the flow's requests may read, as
    /// `secrets.NAME`, in their url, query, headers and body only.
    #[serde(default)]
    pub secrets: Vec<String>,
    pub steps: IndexMap<String, StepSpec>,
}
