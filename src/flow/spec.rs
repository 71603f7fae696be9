//! The flow language as the author writes it in YAML.
//!
//! These types mirror the file one to one and are only ever read by the
//! loader, which checks them and compiles them into the model in
//! [`crate::flow`]. Unknown keys are refused (`deny_unknown_fields`) so that a
//! typo such as `tiemout:` is an error with a line number instead of a
//! setting silently ignored on a live line.
//!
//! Most fields that hold speech accept a short form and a long form:
//! `say: Hello` or `say: { text: Hello, voice: Polly.Amy }`.

use std::fmt;
use std::marker::PhantomData;

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

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

/// One step: exactly one action key plus where to go next.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    pub say: Option<Shorthand<SaySpec>>,
    pub play: Option<Shorthand<PlaySpec>>,
    /// Seconds of silence.
    pub pause: Option<u32>,
    pub gather: Option<GatherSpec>,
    pub menu: Option<MenuSpec>,
    pub branch: Option<Vec<BranchArmSpec>>,
    pub hours: Option<HoursSpec>,
    pub set: Option<IndexMap<String, Scalar>>,
    pub dial: Option<DialSpec>,
    pub record: Option<RecordSpec>,
    pub goto: Option<Shorthand<GotoSpec>>,
    #[serde(default, deserialize_with = "flag")]
    pub hangup: Option<()>,
    pub reject: Option<RejectReason>,

    /// The step that follows; a step with nowhere to go ends the call.
    pub next: Option<String>,
    /// `dial` only: where each outcome of the dial leads.
    pub on: Option<IndexMap<DialOutcome, String>>,
    /// `hours` only: where calls go while open.
    pub open: Option<String>,
    /// `hours` only: where calls go while closed.
    pub closed: Option<String>,
}

impl StepSpec {
    /// The action keys present, in the order of the language reference.
    pub fn actions(&self) -> Vec<&'static str> {
        let present = [
            ("say", self.say.is_some()),
            ("play", self.play.is_some()),
            ("pause", self.pause.is_some()),
            ("gather", self.gather.is_some()),
            ("menu", self.menu.is_some()),
            ("branch", self.branch.is_some()),
            ("hours", self.hours.is_some()),
            ("set", self.set.is_some()),
            ("dial", self.dial.is_some()),
            ("record", self.record.is_some()),
            ("goto", self.goto.is_some()),
            ("hangup", self.hangup.is_some()),
            ("reject", self.reject.is_some()),
        ];
        present
            .into_iter()
            .filter(|(_, here)| *here)
            .map(|(name, _)| name)
            .collect()
    }
}

/// The action keys a step may have, for messages.
pub const ACTIONS: &[&str] = &[
    "say", "play", "pause", "gather", "menu", "branch", "hours", "set", "dial", "record", "goto",
    "hangup", "reject",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaySpec {
    pub text: Scalar,
    pub voice: Option<String>,
    pub language: Option<String>,
    /// How many times to say it; 0 repeats until the caller hangs up.
    #[serde(rename = "loop")]
    pub loop_count: Option<u32>,
}

impl FromShorthand for SaySpec {
    fn from_shorthand(text: String) -> Self {
        SaySpec {
            text: Scalar(text),
            voice: None,
            language: None,
            loop_count: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaySpec {
    pub url: Option<Scalar>,
    #[serde(rename = "loop")]
    pub loop_count: Option<u32>,
    /// Keys to press on the line (DTMF); `w` waits half a second.
    pub digits: Option<String>,
}

impl FromShorthand for PlaySpec {
    fn from_shorthand(url: String) -> Self {
        PlaySpec {
            url: Some(Scalar(url)),
            loop_count: None,
            digits: None,
        }
    }
}

/// How the caller may answer a `gather` or `menu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputMode {
    Dtmf,
    Speech,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatherSpec {
    pub say: Option<Shorthand<SaySpec>>,
    pub play: Option<Shorthand<PlaySpec>>,
    pub input: Option<OneOrMany<InputMode>>,
    pub num_digits: Option<u32>,
    pub finish_on_key: Option<String>,
    pub timeout: Option<u32>,
    pub speech_timeout: Option<Scalar>,
    pub hints: Option<OneOrMany<String>>,
    pub language: Option<String>,
    /// The variable that receives what the caller pressed or said.
    pub save_as: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MenuSpec {
    pub say: Option<Shorthand<SaySpec>>,
    pub play: Option<Shorthand<PlaySpec>>,
    pub input: Option<OneOrMany<InputMode>>,
    pub timeout: Option<u32>,
    pub speech_timeout: Option<Scalar>,
    pub hints: Option<OneOrMany<String>>,
    pub language: Option<String>,
    /// Key or word → step.
    pub options: IndexMap<Scalar, String>,
    /// Extra tries after the first when the caller is silent or picks
    /// nothing known.
    pub retries: Option<u32>,
    pub no_input: Option<Shorthand<SaySpec>>,
    pub no_match: Option<Shorthand<SaySpec>>,
    /// Where the call goes when the tries are used up.
    pub otherwise: Option<String>,
    /// The variable that receives the option the caller chose.
    pub save_as: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchArmSpec {
    #[serde(rename = "if")]
    pub condition: Option<String>,
    pub goto: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoursSpec {
    pub timezone: Option<String>,
    /// Days (`mon-fri`, `sat`, `mon,wed`) → time ranges (`09:00-17:00`).
    pub open: IndexMap<String, OneOrMany<String>>,
    /// Whole days closed: `2026-12-25`, or `12-25` for every year.
    #[serde(default)]
    pub closed_on: Vec<Scalar>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialSpec {
    /// A number, `client:NAME` or SIP URI, usually from a template.
    pub to: Option<Scalar>,
    pub number: Option<OneOrMany<Scalar>>,
    pub client: Option<OneOrMany<Scalar>>,
    pub sip: Option<Scalar>,
    pub conference: Option<Shorthand<ConferenceSpec>>,
    pub queue: Option<Scalar>,
    /// Said before dialling.
    pub say: Option<Shorthand<SaySpec>>,
    pub caller_id: Option<Scalar>,
    pub timeout: Option<u32>,
    pub time_limit: Option<u32>,
    pub record: Option<DialRecord>,
    pub answer_on_bridge: Option<bool>,
    pub ring_tone: Option<String>,
    pub hangup_on_star: Option<bool>,
    /// Patterns a target built from a template must match: `+1*`, `client:*`.
    pub allow: Option<Vec<String>>,
    /// Said when a target is refused by `allow`.
    pub refused: Option<Shorthand<SaySpec>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConferenceSpec {
    pub room: Scalar,
    pub muted: Option<bool>,
    pub beep: Option<Scalar>,
    pub start_on_enter: Option<bool>,
    pub end_on_exit: Option<bool>,
    pub wait_url: Option<String>,
    pub max_participants: Option<u32>,
}

impl FromShorthand for ConferenceSpec {
    fn from_shorthand(room: String) -> Self {
        ConferenceSpec {
            room: Scalar(room),
            muted: None,
            beep: None,
            start_on_enter: None,
            end_on_exit: None,
            wait_url: None,
            max_participants: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DialRecord {
    DoNotRecord,
    RecordFromAnswer,
    RecordFromRinging,
    RecordFromAnswerDual,
    RecordFromRingingDual,
}

impl DialRecord {
    pub fn as_str(self) -> &'static str {
        match self {
            DialRecord::DoNotRecord => "do-not-record",
            DialRecord::RecordFromAnswer => "record-from-answer",
            DialRecord::RecordFromRinging => "record-from-ringing",
            DialRecord::RecordFromAnswerDual => "record-from-answer-dual",
            DialRecord::RecordFromRingingDual => "record-from-ringing-dual",
        }
    }
}

/// How a `dial` ended, as Twilio reports it in `DialCallStatus`, plus
/// `refused` for a target the flow's `allow` list turned down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DialOutcome {
    Completed,
    Answered,
    Busy,
    NoAnswer,
    Failed,
    Canceled,
    Refused,
}

impl DialOutcome {
    pub const ALL: [DialOutcome; 7] = [
        DialOutcome::Completed,
        DialOutcome::Answered,
        DialOutcome::Busy,
        DialOutcome::NoAnswer,
        DialOutcome::Failed,
        DialOutcome::Canceled,
        DialOutcome::Refused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DialOutcome::Completed => "completed",
            DialOutcome::Answered => "answered",
            DialOutcome::Busy => "busy",
            DialOutcome::NoAnswer => "no-answer",
            DialOutcome::Failed => "failed",
            DialOutcome::Canceled => "canceled",
            DialOutcome::Refused => "refused",
        }
    }

    /// Whether Twilio sends this in `DialCallStatus`; `refused` is the
    /// engine's own.
    pub fn reported_by_twilio(self) -> bool {
        self != DialOutcome::Refused
    }

    pub fn parse(text: &str) -> Option<DialOutcome> {
        DialOutcome::ALL.into_iter().find(|o| o.as_str() == text)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSpec {
    pub say: Option<Shorthand<SaySpec>>,
    pub play: Option<Shorthand<PlaySpec>>,
    /// Longest message in seconds.
    pub max_length: Option<u32>,
    /// Seconds of silence that end the recording.
    pub timeout: Option<u32>,
    pub finish_on_key: Option<String>,
    pub play_beep: Option<bool>,
    pub trim: Option<bool>,
    pub transcribe: Option<bool>,
    /// Where Twilio posts the transcription.
    pub transcribe_callback: Option<Scalar>,
    /// Where Twilio posts the finished recording (your voicemail inbox).
    pub recording_status_callback: Option<Scalar>,
    /// The variable that receives the recording's URL.
    pub save_as: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GotoSpec {
    pub flow: String,
    pub step: Option<String>,
}

impl FromShorthand for GotoSpec {
    fn from_shorthand(flow: String) -> Self {
        GotoSpec { flow, step: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RejectReason {
    Busy,
    Rejected,
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

/// `hangup:` with no value, `hangup: true` or `hangup: {}` all mean "hang up";
/// `hangup: false` is refused rather than read as "do not hang up", which a
/// step has no way to mean.
fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<()>, D::Error> {
    let value = serde_yaml_ng::Value::deserialize(deserializer)?;
    match value {
        serde_yaml_ng::Value::Bool(false) => Err(de::Error::custom(
            "`hangup: false` has no meaning: remove the step, or write `hangup: true`",
        )),
        _ => Ok(Some(())),
    }
}
