//! `menu`: a gather whose answer picks one of its options, by key or by
//! word, with retries and messages for silence and for unknown choices.
//!
//! Silence and a wrong answer are different failures: a caller who says
//! nothing may have gone, one who presses 9 is still there. So a menu may
//! count them apart (`retries: { no_input: 1, no_match: 3 }`) and send each
//! somewhere of its own once its tries run out (`on: { no_input: …,
//! no_match: … }`), falling back to `otherwise`.

use std::fmt;

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::gather::{self, Gather, InputMode};
use super::play::PlaySpec;
use super::prompt::{Heard, Prompt, PromptItemSpec};
use super::say::{SaySpec, Speech};
use super::speech::{self, SpeechOptions};
use super::{Call, MenuResult, Outcome, Route, StepError, StepKind, StepSpec, Then};
use crate::flow::compiler::{Compiler, near_or_list};
use crate::flow::languages::{self, LANGUAGE_VARIABLE};
use crate::flow::target::{StepId, Target};
use crate::flow::yaml::{OneOrMany, Scalar, Shorthand};

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MenuSpec {
    pub(crate) say: Option<Shorthand<SaySpec>>,
    pub(crate) play: Option<Shorthand<PlaySpec>>,
    /// A list of `say`, `play` and `pause` items, instead of `say` and `play`.
    pub(crate) prompt: Option<Vec<PromptItemSpec>>,
    pub(crate) input: Option<OneOrMany<InputMode>>,
    pub(crate) timeout: Option<u32>,
    pub(crate) speech_timeout: Option<Scalar>,
    pub(crate) hints: Option<OneOrMany<String>>,
    pub(crate) language: Option<String>,
    /// How the step listens ([`speech`]): over the flow's `speech:`.
    pub(crate) speech_model: Option<String>,
    pub(crate) enhanced: Option<bool>,
    pub(crate) profanity_filter: Option<bool>,
    pub(crate) barge_in: Option<bool>,
    pub(crate) action_on_empty_result: Option<bool>,
    pub(crate) max_speech_time: Option<u32>,
    /// Key or word → step, or key → `{ go: step, words: { en-US: …, es-US: … } }`.
    pub(crate) options: IndexMap<Scalar, OptionSpec>,
    /// Extra tries after the first when the caller is silent or picks
    /// nothing known: one count for both, or one for each.
    pub(crate) retries: Option<RetriesSpec>,
    pub(crate) no_input: Option<Shorthand<SaySpec>>,
    pub(crate) no_match: Option<Shorthand<SaySpec>>,
    /// Where the call goes when the tries are used up.
    pub(crate) otherwise: Option<String>,
    /// Where the call goes when the tries are used up by silence, or by
    /// wrong answers; `otherwise` for the one left out.
    pub(crate) on: Option<IndexMap<Failure, String>>,
    /// The variable that receives the option the caller chose.
    pub(crate) save_as: Option<String>,
}

/// A menu option's value: the step it leads to, or, in a flow with
/// `languages`, `{ go: step, words: { en-US: sales, es-US: ventas } }`,
/// whose words a caller may say in their language.
#[derive(Debug, Clone)]
pub(crate) enum OptionSpec {
    Go(String),
    Words {
        go: String,
        words: IndexMap<String, String>,
    },
}

impl<'de> Deserialize<'de> for OptionSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Words {
            go: String,
            words: IndexMap<String, String>,
        }
        struct OptionVisitor;
        impl<'de> Visitor<'de> for OptionVisitor {
            type Value = OptionSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a step name, or a map such as `{ go: sales, words: { en-US: sales, es-US: ventas } }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(OptionSpec::Go(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let Words { go, words } =
                    Words::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(OptionSpec::Words { go, words })
            }
        }
        deserializer.deserialize_any(OptionVisitor)
    }
}

/// `retries: 2`, or `retries: { no_input: 1, no_match: 3 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetriesSpec {
    Together(u32),
    Apart {
        no_input: Option<u32>,
        no_match: Option<u32>,
    },
}

impl<'de> Deserialize<'de> for RetriesSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Apart {
            no_input: Option<u32>,
            no_match: Option<u32>,
        }
        struct RetriesVisitor;
        impl<'de> Visitor<'de> for RetriesVisitor {
            type Value = RetriesSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of retries, or a map such as `{ no_input: 1, no_match: 3 }`")
            }
            // Text is most likely a number mistyped: say what one looks like.
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Err(E::invalid_type(de::Unexpected::Str(v), &"a whole number"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                u32::try_from(v)
                    .map(RetriesSpec::Together)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                u64::try_from(v)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let Apart { no_input, no_match } =
                    Apart::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RetriesSpec::Apart { no_input, no_match })
            }
        }
        deserializer.deserialize_any(RetriesVisitor)
    }
}

/// How a try at a menu failed: the caller gave nothing, or gave something
/// that is not an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    NoInput,
    NoMatch,
}

impl Failure {
    /// As written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::NoInput => "no_input",
            Failure::NoMatch => "no_match",
        }
    }
}

/// How many failed tries a menu allows after the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retries {
    /// Silence and wrong answers use up the same tries.
    Together(u32),
    /// Each kind of failure has its own tries, counted apart.
    Apart { no_input: u32, no_match: u32 },
}

/// Extra tries when `retries` is left out, or one of its counts is.
const DEFAULT_RETRIES: u32 = 2;

#[derive(Debug)]
pub struct Menu {
    /// Boxed: a menu carries a gather and two messages, and without the box
    /// every step of every kind would be as large as a menu.
    pub gather: Box<Gather>,
    pub options: Vec<MenuOption>,
    /// The flow's languages (the default first), which options' `spoken`
    /// words follow; empty for a flow without `languages`.
    pub languages: Vec<String>,
    pub retries: Retries,
    pub no_input: Option<Speech>,
    pub no_match: Option<Speech>,
    /// Where the call goes when the tries are used up; `None` ends it.
    pub otherwise: Option<Target>,
    /// Where the call goes when silence used up the tries; `otherwise`
    /// when `None`.
    pub on_no_input: Option<Target>,
    /// Where the call goes when wrong answers used up the tries.
    pub on_no_match: Option<Target>,
}

#[derive(Debug)]
pub struct MenuOption {
    /// As written: `1`, `sales`.
    pub key: String,
    /// Lowercase words a caller may say for this option, when it is a word.
    pub words: Option<String>,
    /// Lowercase words a caller may say for this option in each of the
    /// menu's `languages` (`None` where none are given), when the option
    /// gives words per language.
    pub spoken: Vec<Option<String>>,
    pub target: Target,
}

impl StepKind for Menu {
    type Spec = MenuSpec;
    const WAITS: bool = true;

    fn compile(spec: &MenuSpec, _step: &StepSpec, cx: &mut Compiler<'_>, path: &str) -> Self {
        let path = format!("{path}.menu");
        let mut options = Vec::new();
        let languages: Vec<String> = cx.languages().into_iter().map(|(code, _)| code).collect();
        for (i, (key, option)) in spec.options.iter().enumerate() {
            let key = key.as_str().trim().to_owned();
            let option_path = format!("{path}.options.{key}");
            let is_keys = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '*' || c == '#');
            let words = (!is_keys).then(|| normalise_speech(&key));
            if words.as_deref() == Some("") {
                let at = cx.key(&format!("{path}.options"));
                cx.error(at, format!("option {} has no key or word", i + 1));
            }
            let (target, target_path, spoken) = match option {
                OptionSpec::Go(target) => (target, option_path.clone(), Vec::new()),
                OptionSpec::Words {
                    go,
                    words: by_language,
                } => {
                    let spoken = spoken_words(cx, &languages, by_language, &option_path);
                    if !is_keys {
                        let at = cx.key(&option_path);
                        cx.error(at, format!("option `{key}` gives `words`, so its key must be keys to press, such as `1`"));
                    }
                    (go, format!("{option_path}.go"), spoken)
                }
            };
            options.push(MenuOption {
                target: cx.step_target(target, &target_path),
                key,
                words,
                spoken,
            });
        }
        if options.is_empty() {
            let at = cx.key(&format!("{path}.options"));
            cx.error(at, "a menu needs at least one option, such as `1: sales`");
        }
        let has_words = options
            .iter()
            .any(|o| o.words.is_some() || o.spoken.iter().any(Option::is_some));
        let input = match &spec.input {
            Some(input) => input.0.clone(),
            None if has_words => vec![InputMode::Dtmf, InputMode::Speech],
            None => vec![InputMode::Dtmf],
        };
        if has_words && !input.contains(&InputMode::Speech) {
            let at = cx.value(&format!("{path}.input"));
            cx.warning(at, "some options are words, but this menu does not listen to speech: add `speech` to `input`");
        }
        let speech = input.contains(&InputMode::Speech);
        let key_lengths: Vec<usize> = options
            .iter()
            .filter(|o| o.words.is_none())
            .map(|o| o.key.len())
            .collect();
        // One-key menus answer as soon as the key is pressed.
        let num_digits = match key_lengths.first() {
            Some(&len) if key_lengths.iter().all(|&l| l == len) => Some(len as u32),
            _ => None,
        };
        let hints = match &spec.hints {
            Some(hints) => Some(hints.0.join(", ")),
            None if speech && has_words => Some(
                // Every language's words: the hints are one list.
                options
                    .iter()
                    .flat_map(|o| o.words.iter().chain(o.spoken.iter().flatten()))
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            None => None,
        };
        let prompts = Heard::InGather.prompts(cx, &spec.say, &spec.play, &spec.prompt, &path);
        if Prompt::silent(&prompts) {
            let at = cx.key(&path);
            cx.warning(
                at,
                "the caller hears no choices: add `say` or `play` to the menu",
            );
        }
        // The built-in messages are English: a flow in another language
        // says nothing rather than the wrong language.
        let english = cx
            .flow_language()
            .is_none_or(|l| l.to_lowercase().starts_with("en"));
        let message = |cx: &mut Compiler<'_>,
                       say: &Option<Shorthand<SaySpec>>,
                       field: &str,
                       default: &str| match say {
            // `""` is how an author silences the built-in words.
            Some(Shorthand(say)) => {
                Some(Speech::compile_message(cx, say, &format!("{path}.{field}")))
            }
            None => english.then(|| Speech::built_in(cx, default)),
        };
        let no_input = message(
            cx,
            &spec.no_input,
            "no_input",
            "Sorry, I didn't catch that.",
        );
        let no_match = message(
            cx,
            &spec.no_match,
            "no_match",
            "Sorry, that is not one of the choices.",
        );
        let mut routes = IndexMap::new();
        for (failure, target) in spec.on.iter().flatten() {
            let key = failure.as_str();
            routes.insert(
                *failure,
                cx.step_target(target, &format!("{path}.on.{key}")),
            );
        }
        let route = |failure: Failure| routes.get(&failure).copied();
        Menu {
            gather: Box::new(Gather {
                prompts,
                input,
                num_digits,
                finish_on_key: None,
                timeout: spec.timeout,
                speech_timeout: cx
                    .speech_timeout(&spec.speech_timeout, &format!("{path}.speech_timeout")),
                hints,
                language: spec
                    .language
                    .clone()
                    .or_else(|| cx.flow_language())
                    .filter(|_| speech),
                languages: gather::listen_in(cx, &spec.language, speech),
                speech: SpeechOptions::compile(cx, &speech::written!(spec), &path, speech),
                save_as: cx.save_as(&spec.save_as, &format!("{path}.save_as")),
            }),
            options,
            languages,
            retries: match spec.retries {
                None => Retries::Together(DEFAULT_RETRIES),
                Some(RetriesSpec::Together(n)) => Retries::Together(n),
                Some(RetriesSpec::Apart { no_input, no_match }) => Retries::Apart {
                    no_input: no_input.unwrap_or(DEFAULT_RETRIES),
                    no_match: no_match.unwrap_or(DEFAULT_RETRIES),
                },
            },
            no_input,
            no_match,
            otherwise: spec
                .otherwise
                .as_ref()
                .map(|t| cx.step_target(t, &format!("{path}.otherwise"))),
            on_no_input: route(Failure::NoInput),
            on_no_match: route(Failure::NoMatch),
        }
    }

    fn targets(&self, _next: Target, out: &mut Vec<Target>) {
        out.extend(self.options.iter().map(|o| o.target));
        let otherwise = self.otherwise.unwrap_or(Target::Hangup);
        out.push(self.on_no_input.unwrap_or(otherwise));
        out.push(self.on_no_match.unwrap_or(otherwise));
    }

    /// Each option by its key; silence and wrong answers by their own
    /// routes, or as `otherwise` where they fall back on it.
    fn routes(&self, _next: Target, out: &mut Vec<Route>) {
        let options = self.options.iter();
        out.extend(options.map(|o| Route::new(o.key.clone(), o.target)));
        let otherwise = Route::new("otherwise", self.otherwise.unwrap_or(Target::Hangup));
        for (label, route) in [
            ("no_input", self.on_no_input),
            ("no_match", self.on_no_match),
        ] {
            out.push(route.map_or_else(|| otherwise.clone(), |to| Route::new(label, to)));
        }
    }

    async fn perform<'w>(
        &self,
        call: &mut impl Call<'w>,
        _next: Target,
    ) -> Result<Then, StepError> {
        self.gather.wait(call)?;
        Ok(Then::Stop)
    }

    fn resume<'w>(
        &self,
        call: &mut impl Call<'w>,
        here: StepId,
        _next: Target,
    ) -> Result<Option<Target>, StepError> {
        let digits = call.given("Digits");
        let speech = call.given("SpeechResult");
        call.heard(digits.is_some() || speech.is_some())?;
        let language = call.var(LANGUAGE_VARIABLE);
        if let Some(option) = self.choose(digits, speech, language) {
            call.note(Outcome::Menu(MenuResult::Match(option.key.clone())));
            *call.attempt() = 0;
            *call.misses() = 0;
            if let Some(var) = &self.gather.save_as {
                call.set_var(var, &option.key);
            }
            return Ok(Some(option.target));
        }
        // No option was chosen this time, so none is saved: an answer from
        // an earlier visit must not pass for this one's.
        if let Some(var) = &self.gather.save_as {
            call.unset_var(var);
        }
        let failure = if digits.is_none() && speech.is_none() {
            Failure::NoInput
        } else {
            Failure::NoMatch
        };
        let message = match failure {
            Failure::NoInput => &self.no_input,
            Failure::NoMatch => &self.no_match,
        };
        if let Some(message) = message {
            message.say(call)?;
        }
        // With one count, `try` holds every failed try; counted apart, it
        // holds the silent ones and `miss` the wrong answers.
        let (count, allowed) = match (self.retries, failure) {
            (Retries::Together(n), _) => (call.attempt(), n),
            (Retries::Apart { no_input, .. }, Failure::NoInput) => (call.attempt(), no_input),
            (Retries::Apart { no_match, .. }, Failure::NoMatch) => (call.misses(), no_match),
        };
        *count = count.saturating_add(1);
        if *count > allowed {
            *call.attempt() = 0;
            *call.misses() = 0;
            call.note(Outcome::Menu(MenuResult::Exhausted(failure)));
            return Ok(Some(self.route(failure)));
        }
        call.note(Outcome::Menu(match failure {
            Failure::NoInput => MenuResult::NoInput,
            Failure::NoMatch => MenuResult::NoMatch,
        }));
        Ok(Some(Target::Step(here)))
    }
}

/// Spoken digits, so "one" or "1" picks option 1 by speech.
const SPOKEN_DIGITS: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];

impl Menu {
    /// Where the call goes once `failure` used up the tries.
    pub fn route(&self, failure: Failure) -> Target {
        let route = match failure {
            Failure::NoInput => self.on_no_input,
            Failure::NoMatch => self.on_no_match,
        };
        route.or(self.otherwise).unwrap_or(Target::Hangup)
    }

    /// The option a caller picked, by keys or by words. Flow test coverage
    /// counts options with it, exactly as calls choose them.
    /// `language` is the call's `language` variable, which picks the words
    /// of options that give words per language.
    pub(crate) fn choose(
        &self,
        digits: Option<&str>,
        speech: Option<&str>,
        language: Option<&str>,
    ) -> Option<&MenuOption> {
        if let Some(option) = digits.and_then(|digits| {
            self.options
                .iter()
                .find(|o| o.words.is_none() && o.key == digits)
        }) {
            return Some(option);
        }
        let said = normalise_speech(speech?);
        let padded = format!(" {said} ");
        let at = languages::pick(self.languages.iter().map(String::as_str), language);
        let by_words = self.options.iter().find(|o| {
            o.words
                .as_deref()
                .or_else(|| o.spoken.get(at).and_then(Option::as_deref))
                .is_some_and(|w| said == w || padded.contains(&format!(" {w} ")))
        });
        by_words.or_else(|| {
            let as_digit = SPOKEN_DIGITS
                .iter()
                .position(|d| *d == said)
                .map(|d| d.to_string())
                .unwrap_or(said);
            self.options
                .iter()
                .find(|o| o.words.is_none() && o.key == as_digit)
        })
    }
}

/// An option's words per language at `path`, in the order of `languages`;
/// reports a language the flow does not list.
fn spoken_words(
    cx: &mut Compiler<'_>,
    languages: &[String],
    by_language: &IndexMap<String, String>,
    path: &str,
) -> Vec<Option<String>> {
    for (code, words) in by_language {
        if !languages.contains(code) {
            let at = cx.key(&format!("{path}.words.{code}"));
            let help = near_or_list(
                code,
                languages,
                "this flow's languages are",
                "list the flow's languages under `languages:`",
            );
            cx.error(
                at,
                format!("`{code}` is not one of this flow's `languages`"),
            )
            .help = Some(help);
        } else if normalise_speech(words).is_empty() {
            let at = cx.value(&format!("{path}.words.{code}"));
            cx.error(
                at,
                "these words are empty: write what a caller says for this option",
            );
        }
    }
    languages
        .iter()
        .map(|code| {
            by_language
                .get(code)
                .map(|words| normalise_speech(words))
                .filter(|words| !words.is_empty())
        })
        .collect()
}

/// Lowercase words without punctuation: how speech results are compared
/// with menu options, so "Sales." matches `sales`.
fn normalise_speech(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_lowercase().next().unwrap_or(c)
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn menu(keys: &[&str]) -> Menu {
        let options = keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let is_keys = key.chars().all(|c| c.is_ascii_digit());
                MenuOption {
                    key: (*key).to_owned(),
                    words: (!is_keys).then(|| normalise_speech(key)),
                    spoken: Vec::new(),
                    target: Target::Step(i),
                }
            })
            .collect();
        Menu {
            gather: Box::new(Gather {
                prompts: Vec::new(),
                input: vec![InputMode::Dtmf, InputMode::Speech],
                num_digits: None,
                finish_on_key: None,
                timeout: None,
                speech_timeout: None,
                hints: None,
                language: None,
                languages: Vec::new(),
                speech: SpeechOptions::default(),
                save_as: None,
            }),
            options,
            languages: Vec::new(),
            retries: Retries::Together(2),
            no_input: None,
            no_match: None,
            otherwise: None,
            on_no_input: None,
            on_no_match: None,
        }
    }

    fn chosen(menu: &Menu, digits: Option<&str>, speech: Option<&str>) -> Option<String> {
        menu.choose(digits, speech, None)
            .map(|option| option.key.clone())
    }

    #[test]
    fn keys_pick_key_options_only() {
        let menu = menu(&["1", "2", "sales"]);
        assert_eq!(chosen(&menu, Some("2"), None).as_deref(), Some("2"));
        assert_eq!(chosen(&menu, Some("3"), None), None);
        assert_eq!(chosen(&menu, Some("sales"), None), None);
    }

    #[test]
    fn words_pick_by_word_within_a_sentence_and_spoken_digits_pick_keys() {
        let menu = menu(&["1", "2", "sales", "customer service"]);
        assert_eq!(
            chosen(&menu, None, Some("Sales.")).as_deref(),
            Some("sales")
        );
        assert_eq!(
            chosen(&menu, None, Some("I'd like customer service, please")).as_deref(),
            Some("customer service")
        );
        assert_eq!(chosen(&menu, None, Some("two")).as_deref(), Some("2"));
        assert_eq!(chosen(&menu, None, Some("1")).as_deref(), Some("1"));
        assert_eq!(chosen(&menu, None, Some("wholesales")), None);
    }

    #[test]
    fn speech_is_compared_without_case_or_punctuation() {
        assert_eq!(normalise_speech("  Hello,   World!! "), "hello world");
        assert_eq!(normalise_speech("...?"), "");
    }
}
