//! Languages as data: a flow lists the languages it speaks, each with its
//! voice, and keeps its words in prompt tables with one text per language,
//! instead of copying every branch once per language.
//!
//! The call's `language` variable picks the language at run time, so a
//! caller's choice made once (`set: { language: es-US }`) holds for the rest
//! of the call, sub-flows included. The first language listed is the
//! default: it speaks while the variable is unset, and when it holds a
//! language the flow does not list, since a caller must never hear silence
//! because of a typo in a `set`.
//!
//! Everything is resolved when flows load: each `say` is compiled once per
//! language, so a webhook only picks one, and a prompt missing a translation
//! is an error in `callflow check` rather than silence on a live call.

use std::fmt;
use std::path::PathBuf;

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use super::compiler::{Compiler, near_or_list};
use super::diagnostic::Position;
use super::prompt_files::{self, PromptFiles};
use super::template::Text;
use super::yaml::Scalar;

/// The variable that picks the language of a call.
pub const LANGUAGE_VARIABLE: &str = "language";

/// One entry of a flow's `languages:`, as written.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LanguageSpec {
    /// The voice every `say` in this language uses unless it names its own.
    pub voice: Option<String>,
}

/// A prompt table as written: name → language → text.
pub type PromptTables = IndexMap<String, IndexMap<String, Scalar>>;

/// `prompts:` as written: the flow's own table, the path of a shared
/// prompt file, or a list of both, where a prompt named again replaces the
/// one before it (so a flow can reword one shared prompt).
#[derive(Debug, Default)]
pub struct PromptsSpec {
    pub sources: Vec<PromptSource>,
    /// Whether it was written as a list: where its parts are in the file.
    pub listed: bool,
}

/// One part of `prompts:`.
#[derive(Debug)]
pub enum PromptSource {
    Table(PromptTables),
    /// A prompt file's path from the flow file's folder.
    File(String),
}

impl PromptsSpec {
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    fn one(source: PromptSource) -> PromptsSpec {
        PromptsSpec {
            sources: vec![source],
            listed: false,
        }
    }

    /// Where part `i` is in the flow file.
    fn path(&self, i: usize) -> String {
        if self.listed {
            format!("prompts.{i}")
        } else {
            "prompts".to_owned()
        }
    }
}

/// Reads one part of `prompts:`: a path, or a table.
struct SourceVisitor;

impl<'de> Visitor<'de> for SourceVisitor {
    type Value = PromptSource;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a table of prompts, or the path of a prompt file")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<PromptSource, E> {
        Ok(PromptSource::File(v.to_owned()))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PromptSource, A::Error> {
        PromptTables::deserialize(de::value::MapAccessDeserializer::new(map))
            .map(PromptSource::Table)
    }
}

impl<'de> Deserialize<'de> for PromptSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SourceVisitor)
    }
}

impl<'de> Deserialize<'de> for PromptsSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpecVisitor;
        impl<'de> Visitor<'de> for SpecVisitor {
            type Value = PromptsSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table of prompts, the path of a prompt file, or a list of them")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PromptsSpec, A::Error> {
                let mut sources = Vec::new();
                while let Some(source) = seq.next_element()? {
                    sources.push(source);
                }
                Ok(PromptsSpec {
                    sources,
                    listed: true,
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PromptsSpec, E> {
                SourceVisitor.visit_str(v).map(PromptsSpec::one)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PromptsSpec, A::Error> {
                SourceVisitor.visit_map(map).map(PromptsSpec::one)
            }
        }
        deserializer.deserialize_any(SpecVisitor)
    }
}

/// A flow's prompt tables, compiled: each prompt's text in every language
/// of the flow, in the order of `languages`.
#[derive(Debug, Default)]
pub(crate) struct Prompts {
    pub(crate) texts: IndexMap<String, Vec<Text>>,
    /// Prompts from shared files that lack a text in some of the flow's
    /// languages: an error where the flow uses one.
    pub(crate) missing: IndexMap<String, Missing>,
}

/// Where a shared prompt is written, and the flow's languages it lacks.
#[derive(Debug)]
pub(crate) struct Missing {
    pub(crate) file: PathBuf,
    pub(crate) at: Position,
    pub(crate) languages: Vec<String>,
}

/// Which of `languages` (codes, the default first) a call whose `language`
/// variable holds `chosen` speaks: its index.
pub fn pick<'a>(languages: impl IntoIterator<Item = &'a str>, chosen: Option<&str>) -> usize {
    let Some(chosen) = chosen.map(str::trim) else {
        return 0;
    };
    languages
        .into_iter()
        .position(|code| code.eq_ignore_ascii_case(chosen))
        .unwrap_or(0)
}

/// Whether `code` looks like a language tag such as `en-US` or `es`.
fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 35
        && code
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Checks a flow's `languages` and `prompts` and compiles the prompts'
/// texts as templates, reporting every mistake: a prompt without a text
/// in one of the languages, a text in a language the flow does not list.
pub(crate) fn compile_tables<'a>(
    cx: &mut Compiler<'a>,
    languages: &IndexMap<String, LanguageSpec>,
    prompts: &PromptsSpec,
    flow_language: Option<&str>,
    files: &'a PromptFiles,
) -> Prompts {
    for code in languages.keys() {
        if !valid_code(code) {
            let at = cx.key(&format!("languages.{code}"));
            cx.error(
                at,
                format!("`{code}` is not a language: write a tag such as en-US or es-US"),
            );
        }
    }
    if flow_language.is_some() && !languages.is_empty() {
        let at = cx.key("language");
        cx.error(
            at,
            "`language` and `languages` cannot both be given: the first of `languages` is the default",
        )
        .help = Some("remove `language`, and list the default language first".into());
    }
    if !prompts.is_empty() && languages.is_empty() {
        let at = cx.key("prompts");
        cx.error(at, "prompts need `languages`: list the languages this flow speaks")
            .help = Some(
            "add, for example, `languages: { en-US: { voice: Polly.Joanna } }`; the first is the default"
                .into(),
        );
    }
    let mut compiled = Prompts::default();
    for (i, source) in prompts.sources.iter().enumerate() {
        let path = prompts.path(i);
        match source {
            PromptSource::Table(table) => own_table(cx, languages, table, &path, &mut compiled),
            PromptSource::File(reference) => {
                shared_file(cx, languages, reference, &path, files, &mut compiled);
            }
        }
    }
    compiled
}

/// The flow's own table: every prompt needs a text in each of the flow's
/// languages, and only in those.
fn own_table(
    cx: &mut Compiler<'_>,
    languages: &IndexMap<String, LanguageSpec>,
    table: &PromptTables,
    at: &str,
    compiled: &mut Prompts,
) {
    let codes: Vec<String> = languages.keys().cloned().collect();
    for (name, texts) in table {
        let path = format!("{at}.{name}");
        // Without `languages` at all, that one mistake is reported above.
        for code in texts.keys().filter(|_| !languages.is_empty()) {
            if !languages.contains_key(code) {
                let at = cx.key(&format!("{path}.{code}"));
                let help = near_or_list(
                    code,
                    &codes,
                    "this flow's languages are",
                    "add it to `languages`, or remove this text",
                );
                cx.error(
                    at,
                    format!("prompt `{name}` has a text in `{code}`, which is not one of this flow's `languages`"),
                )
                .help = Some(help);
            }
        }
        let mut each = Vec::with_capacity(languages.len());
        for code in languages.keys() {
            match texts.get(code) {
                Some(text) => each.push(cx.text(text.as_str(), &format!("{path}.{code}"))),
                None => {
                    let at = cx.key(&path);
                    cx.error(
                        at,
                        format!("prompt `{name}` has no `{code}` text: a caller in `{code}` would hear nothing"),
                    )
                    .help = Some(format!(
                        "add `{code}: ...`: every prompt needs a text in each of `languages`"
                    ));
                    each.push(Text::Plain(String::new()));
                }
            }
        }
        compiled.missing.shift_remove(name);
        compiled.texts.insert(name.clone(), each);
    }
}

/// A shared prompt file. Flows that speak different languages share it,
/// so a text in a language this flow does not speak is no mistake, and a
/// missing translation is reported only where this flow uses the prompt.
fn shared_file<'a>(
    cx: &mut Compiler<'a>,
    languages: &IndexMap<String, LanguageSpec>,
    reference: &str,
    at: &str,
    files: &'a PromptFiles,
    compiled: &mut Prompts,
) {
    let found = prompt_files::resolve(cx.name, reference).and_then(|name| files.get(&name));
    let Some(file) = found else {
        let at = cx.value(at);
        let mut known: Vec<String> = files
            .keys()
            .map(|name| prompt_files::reference_from(cx.name, name))
            .collect();
        known.sort();
        let help = near_or_list(
            reference,
            &known,
            "the prompt files are",
            "prompt files live in a folder named `prompts` inside the flows folder, such as prompts/common.yaml",
        );
        cx.error(
            at,
            format!("there is no prompt file `{reference}`: the path is read from this flow file's folder"),
        )
        .help = Some(help);
        return;
    };
    let (flow_file, flow_index) = (cx.file, cx.index);
    (cx.file, cx.index) = (&file.file, &file.index);
    for (name, texts) in &file.table {
        for code in texts.keys().filter(|code| !valid_code(code)) {
            let at = cx.key(&format!("{name}.{code}"));
            cx.error(
                at,
                format!("`{code}` is not a language: write a tag such as en-US or es-US"),
            );
        }
        let mut each = Vec::with_capacity(languages.len());
        let mut absent = Vec::new();
        for code in languages.keys() {
            match texts.get(code) {
                Some(text) => each.push(cx.text(text.as_str(), &format!("{name}.{code}"))),
                None => {
                    absent.push(code.clone());
                    each.push(Text::Plain(String::new()));
                }
            }
        }
        if absent.is_empty() {
            compiled.missing.shift_remove(name);
        } else {
            let missing = Missing {
                file: file.file.clone(),
                at: file.index.key(name),
                languages: absent,
            };
            compiled.missing.insert(name.clone(), missing);
        }
        compiled.texts.insert(name.clone(), each);
    }
    (cx.file, cx.index) = (flow_file, flow_index);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_language_is_the_default() {
        let codes = ["en-US", "es-US"];
        assert_eq!(pick(codes, None), 0);
        assert_eq!(pick(codes, Some("es-US")), 1);
        assert_eq!(pick(codes, Some("es-us")), 1);
        assert_eq!(pick(codes, Some("fr-FR")), 0);
        assert_eq!(pick(codes, Some("")), 0);
    }

    #[test]
    fn language_codes() {
        assert!(valid_code("en-US"));
        assert!(valid_code("es"));
        assert!(!valid_code("en US"));
        assert!(!valid_code("-US"));
        assert!(!valid_code(""));
    }
}
