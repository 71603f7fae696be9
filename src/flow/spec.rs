//! The frame of a flow file as the author writes it in YAML, and the small
//! YAML shapes every kind of step shares.
//!
//! Each kind of step declares its own YAML in its file under
//! [`steps`](super::steps). Unknown keys are refused (`deny_unknown_fields`)
//! so that a typo such as `tiemout:` is an error with a line number instead
//! of a setting silently ignored on a live line.
//!
//! Most fields that hold speech accept a short form and a long form:
//! `say: Hello` or `say: { text: Hello, voice: Polly.Amy }`.

use std::fmt;
use std::marker::PhantomData;

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use super::steps::StepSpec;
/// The simulator's API names dial outcomes as the flow language does.
pub use super::steps::dial::DialOutcome;

/// One file in the flows folder.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowSpec {
    /// What the flow is for; shown by `/flows` and in logs.
    pub description: Option<String>,
    /// Default voice of every `say` in this flow.
    pub voice: Option<String>,
    /// Default language of every `say` and speech `gather` in this flow.
    pub language: Option<String>,
    /// IANA time zone for `hours` and for `now` in templates.
    pub timezone: Option<String>,
    /// Called numbers (E.164) whose calls this flow answers.
    #[serde(default)]
    pub numbers: Vec<String>,
    /// The first step; the first step in the file when left out.
    pub start: Option<String>,
    /// Where a call goes when something goes wrong at run time, instead of
    /// the built-in apology.
    pub fallback: Option<String>,
    pub steps: IndexMap<String, StepSpec>,
}

/// A scalar written as text or as a number (`1:` and `"1":` are the same
/// menu key; `timeout: 5` and `speech_timeout: auto` are both fine).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scalar(pub String);

impl Scalar {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("text or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// Types with a one-line form: `say: Hello` means `say: { text: Hello }`.
pub trait FromShorthand {
    fn from_shorthand(text: String) -> Self;
}

/// Either the one-line form of `T` or its full map.
#[derive(Debug, Clone)]
pub struct Shorthand<T>(pub T);

impl<'de, T> Deserialize<'de> for Shorthand<T>
where
    T: Deserialize<'de> + FromShorthand,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ShorthandVisitor<T>(PhantomData<T>);
        impl<'de, T> Visitor<'de> for ShorthandVisitor<T>
        where
            T: Deserialize<'de> + FromShorthand,
        {
            type Value = Shorthand<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("text, or a map of settings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Shorthand(T::from_shorthand(v.to_owned())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Shorthand(T::from_shorthand(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Shorthand(T::from_shorthand(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Shorthand(T::from_shorthand(v.to_string())))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Shorthand)
            }
        }
        deserializer.deserialize_any(ShorthandVisitor(PhantomData))
    }
}

/// One value or a list of them: `input: dtmf` or `input: [dtmf, speech]`.
#[derive(Debug, Clone)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrManyVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for OneOrManyVisitor<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value or a list of values")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(OneOrMany(items))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                T::deserialize(de::value::StrDeserializer::new(v)).map(|t| OneOrMany(vec![t]))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|t| OneOrMany(vec![t]))
            }
        }
        deserializer.deserialize_any(OneOrManyVisitor(PhantomData))
    }
}
