//! Flow test files as the author writes them in YAML.
//!
//! These types mirror the file one to one; [`super::load`] checks them
//! against the flows and turns them into scripts. Unknown keys are refused,
//! so a typo such as `heard:` is an error with a line number rather than an
//! expectation silently skipped, which would make a test pass that checks
//! nothing.
//!
//! Each type also derives its JSON Schema (`callflow schema --tests`,
//! [`super::schema`]), each field's doc comment becoming what an editor
//! shows for its key: a new key is a field with a doc comment.

use std::fmt;

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

pub use crate::flow::yaml::{FromShorthand, Shorthand};

pub use crate::outbound::stub::StubSpec;

/// One `*.test.yaml` file: defaults for its calls, and the calls.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestFileSpec {
    /// The flow every call starts in, unless a call names its own; left out,
    /// routing picks the flow as it does for a real call.
    pub flow: Option<String>,
    /// The caller, `"+15551112222"` when left out; `client:alice` is a
    /// browser call. Quote numbers: YAML drops the `+` of a bare one.
    pub from: Option<Written>,
    /// The number called (for a browser call, what it dials),
    /// `"+15553334444"` when left out.
    pub to: Option<Written>,
    /// The time the flows see, such as `2026-11-24T10:30:00-05:00`; a
    /// fixed Wednesday noon in New York when left out.
    pub at: Option<Written>,
    /// More parameters for every call's first webhook, such as
    /// `CallerName: Ada`.
    #[serde(default)]
    pub params: IndexMap<String, Written>,
    /// The language every call starts in (the call's `language` variable),
    /// unless a call names its own.
    pub language: Option<String>,
    /// Stubbed answers for the flows' requests, for every call.
    #[serde(default)]
    pub http: Vec<StubSpec>,
    /// The calls: each a name and a script.
    pub calls: Vec<CallSpec>,
}

/// One test call: who calls, when, and the script.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallSpec {
    /// What the results call this call.
    pub name: String,
    /// The flow the call starts in, over the file's `flow`.
    pub flow: Option<String>,
    /// The caller, over the file's `from`.
    pub from: Option<Written>,
    /// The number called, over the file's `to`.
    pub to: Option<Written>,
    /// The time the flows see, over the file's `at`.
    pub at: Option<Written>,
    /// More parameters for the first webhook, added to the file's.
    #[serde(default)]
    pub params: IndexMap<String, Written>,
    /// The language the call starts in: its `language` variable.
    pub language: Option<String>,
    /// Stubs of this call only, tried before the file's.
    #[serde(default)]
    pub http: Vec<StubSpec>,
    /// The script: what the caller does and what must happen, in order.
    #[serde(default)]
    pub steps: Vec<ScriptLine>,
}

/// One line of a call's script: an action, an expectation, or a `dials`
/// expectation with the dial's `outcome`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemSpec {
    /// Expects the caller to hear text holding these words (any case), or
    /// `/a regex/`; also matches the URL of a `play`.
    pub hears: Option<Written>,
    /// The caller presses keys at a menu or gather: `"1"`, `"1234#"`.
    pub press: Option<Written>,
    /// The caller says words at a menu or gather that listens to speech.
    pub say: Option<Written>,
    /// The caller says nothing until the menu or gather times out.
    pub silence: Option<bool>,
    /// Expects a dial of this target: a number, `client:bob`, a `sip:`
    /// address, `conference:NAME`, `queue:NAME`, or `/a regex/`.
    pub dials: Option<Written>,
    /// How the dial the call waits at ends: `completed` (answered, then
    /// over), `answered`, `busy`, `no-answer`, `failed` or `canceled`;
    /// usually on the `dials` line. Beside `queued`: how the wait ends at
    /// once (`bridged`, `full`, `hangup`, `error`).
    #[serde(default)]
    #[schemars(schema_with = "super::schema::dial_outcome")]
    pub outcome: Option<Written>,
    /// Expects a recording, and leaves a message there.
    pub records: Option<bool>,
    /// Expects the call to go through this step, of any flow, or
    /// `flow:step`.
    pub reaches: Option<Written>,
    /// Expects the call's variables to hold these values (exactly, or
    /// `/a regex/`); `sets: account` only asks that it has one.
    pub sets: Option<SetsSpec>,
    /// Plays the rest of the call, then expects it to have ended so:
    /// `hangup` (the flow hung up, or had nothing more to say), `reject`
    /// (a `reject` step) or `dial completed` (the last thing was an
    /// answered dial, then at most a goodbye).
    #[serde(default)]
    #[schemars(schema_with = "super::schema::ending")]
    pub ends: Option<Written>,
    /// The caller hangs up, wherever the call is.
    pub hangup: Option<bool>,
    /// Expects the call to have made this request: `POST https://…`, `*`
    /// matching anything, or `{ method, url, json | form }`.
    pub requests: Option<RequestsSpec>,
    /// Expects the call to have sent a text holding these words, or
    /// `{ to, body }`.
    pub texts: Option<Shorthand<TextSpec>>,
    /// A `connect` to this URL; the session then ends as `handoff` or
    /// `fails` say (completed, handing nothing over, when neither does).
    pub connects: Option<Written>,
    /// The handoff data the agent sends as the `connects` session ends.
    pub handoff: Option<serde_json::Value>,
    /// The `connects` session fails.
    pub fails: Option<bool>,
    /// The caller enters this queue; the hold steps then play, unless
    /// `outcome` (bridged, full, hangup, error) ends the wait at once.
    pub queued: Option<Written>,
    /// What happens next to the caller in a queue: hold (the hold steps
    /// play again), bridged, full, hangup or error.
    #[serde(default)]
    #[schemars(schema_with = "super::schema::queue_event")]
    pub queue: Option<Written>,
    /// How the person dialled answers the dial's whisper: accepts, declines
    /// or silent.
    #[serde(default)]
    #[schemars(schema_with = "super::schema::callee_answer")]
    pub callee: Option<Written>,
    /// Words the person dialled hears in the whisper.
    pub callee_hears: Option<Written>,
}

/// Every key of a script line, in the order of the reference.
pub const ITEM_KEYS: [&str; 20] = [
    "hears",
    "press",
    "say",
    "silence",
    "dials",
    "outcome",
    "records",
    "reaches",
    "sets",
    "ends",
    "hangup",
    "requests",
    "texts",
    "connects",
    "handoff",
    "fails",
    "queued",
    "queue",
    "callee",
    "callee_hears",
];

/// `texts: "words of the message"`, or `texts: { to: "+1555…", body: … }`:
/// a text message the call must have sent.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TextSpec {
    /// The number texted, whole.
    pub to: Option<Written>,
    /// Words the message holds, or `/a regex/`.
    pub body: Option<String>,
}

impl FromShorthand for TextSpec {
    fn from_shorthand(body: String) -> Self {
        TextSpec {
            to: None,
            body: Some(body),
        }
    }
}

impl ItemSpec {
    /// The keys present, in the order of [`ITEM_KEYS`].
    pub fn keys(&self) -> Vec<&'static str> {
        let present = [
            self.hears.is_some(),
            self.press.is_some(),
            self.say.is_some(),
            self.silence.is_some(),
            self.dials.is_some(),
            self.outcome.is_some(),
            self.records.is_some(),
            self.reaches.is_some(),
            self.sets.is_some(),
            self.ends.is_some(),
            self.hangup.is_some(),
            self.requests.is_some(),
            self.texts.is_some(),
            self.connects.is_some(),
            self.handoff.is_some(),
            self.fails.is_some(),
            self.queued.is_some(),
            self.queue.is_some(),
            self.callee.is_some(),
            self.callee_hears.is_some(),
        ];
        ITEM_KEYS
            .into_iter()
            .zip(present)
            .filter_map(|(key, present)| present.then_some(key))
            .collect()
    }
}

/// A line of a script: the map form, or one of the words `silence`,
/// `hangup` and `records`, which read better than `- silence: true`.
#[derive(Debug)]
pub struct ScriptLine(pub ItemSpec);

impl<'de> Deserialize<'de> for ScriptLine {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LineVisitor;
        impl<'de> Visitor<'de> for LineVisitor {
            type Value = ScriptLine;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an action or an expectation, such as `hears: Welcome` or `press: 1`")
            }
            fn visit_str<E: de::Error>(self, word: &str) -> Result<ScriptLine, E> {
                let mut item = ItemSpec::default();
                match word.trim() {
                    "silence" => item.silence = Some(true),
                    "hangup" => item.hangup = Some(true),
                    "records" => item.records = Some(true),
                    other => {
                        return Err(E::custom(format!(
                            "`{other}` is not an action or an expectation (write `hears: ...`, \
                             `press: ...` and so on, or `silence`, `hangup`, `records`)"
                        )));
                    }
                }
                Ok(ScriptLine(item))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ScriptLine, A::Error> {
                ItemSpec::deserialize(de::value::MapAccessDeserializer::new(map)).map(ScriptLine)
            }
        }
        deserializer.deserialize_any(LineVisitor)
    }
}

/// `requests: POST https://hooks.example.com/survey`, or the map form
/// with a subset of the body: `{ method, url, json | form }`.
#[derive(Debug)]
pub enum RequestsSpec {
    Line(String),
    Full(RequestSpec),
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// `GET` when left out.
    pub method: Option<String>,
    /// The URL, `*` matching anything and secrets written `***`.
    pub url: String,
    /// Fields the JSON body holds at least (`5` matches `"5"`).
    pub json: Option<serde_json::Value>,
    /// Fields of the form body, each exactly or `/a regex/`.
    pub form: Option<IndexMap<String, Written>>,
}

impl<'de> Deserialize<'de> for RequestsSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RequestsVisitor;
        impl<'de> Visitor<'de> for RequestsVisitor {
            type Value = RequestsSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a method and a URL, or a map with `url` and maybe `method`, `json` or `form`",
                )
            }
            fn visit_str<E: de::Error>(self, line: &str) -> Result<RequestsSpec, E> {
                Ok(RequestsSpec::Line(line.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RequestsSpec, A::Error> {
                RequestSpec::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RequestsSpec::Full)
            }
        }
        deserializer.deserialize_any(RequestsVisitor)
    }
}

/// `sets: account` (set to anything) or `sets: { account: "123456" }`.
#[derive(Debug)]
pub enum SetsSpec {
    Name(String),
    Values(IndexMap<String, Written>),
}

impl<'de> Deserialize<'de> for SetsSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SetsVisitor;
        impl<'de> Visitor<'de> for SetsVisitor {
            type Value = SetsSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a variable name, or a map of variables and their values")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<SetsSpec, E> {
                Ok(SetsSpec::Name(name.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SetsSpec, A::Error> {
                IndexMap::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(SetsSpec::Values)
            }
        }
        deserializer.deserialize_any(SetsVisitor)
    }
}

/// A scalar as written. YAML reads `press: 1` and `dials: +15551230001` as
/// numbers; the first is fine as keys, the second loses its `+`, so the
/// loader needs to know which scalars were numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub text: String,
    pub number: bool,
}

impl Written {
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl<'de> Deserialize<'de> for Written {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct WrittenVisitor;
        impl Visitor<'_> for WrittenVisitor {
            type Value = Written;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("text or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Written, E> {
                Ok(Written {
                    text: v.to_owned(),
                    number: false,
                })
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Written, E> {
                self.visit_str(if v { "true" } else { "false" })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Written, E> {
                Ok(Written {
                    text: v.to_string(),
                    number: true,
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Written, E> {
                Ok(Written {
                    text: v.to_string(),
                    number: true,
                })
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Written, E> {
                Ok(Written {
                    text: v.to_string(),
                    number: true,
                })
            }
        }
        deserializer.deserialize_any(WrittenVisitor)
    }
}
