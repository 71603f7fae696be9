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

use indexmap::IndexMap;
use serde::Deserialize;

use super::compiler::{Compiler, near_or_list};
use super::template::Text;
use super::yaml::Scalar;

/// The variable that picks the language of a call.
pub const LANGUAGE_VARIABLE: &str = "language";

/// One entry of a flow's `languages:`, as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageSpec {
    /// The voice every `say` in this language uses unless it names its own.
    pub voice: Option<String>,
}

/// `prompts:` as written: name → language → text.
pub type PromptTables = IndexMap<String, IndexMap<String, Scalar>>;

/// A flow's prompt tables, compiled: each prompt's text in every language
/// of the flow, in the order of `languages`.
#[derive(Debug, Default)]
pub(crate) struct Prompts {
    pub(crate) texts: IndexMap<String, Vec<Text>>,
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
pub(crate) fn compile_tables(
    cx: &mut Compiler<'_>,
    languages: &IndexMap<String, LanguageSpec>,
    prompts: &PromptTables,
    flow_language: Option<&str>,
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
    let codes: Vec<String> = languages.keys().cloned().collect();
    let mut compiled = Prompts::default();
    for (name, texts) in prompts {
        let path = format!("prompts.{name}");
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
        compiled.texts.insert(name.clone(), each);
    }
    compiled
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
