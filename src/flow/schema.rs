//! `callflow schema`: the flow file format as a JSON Schema (draft
//! 2020-12), so that editors complete keys, show their docs and mark
//! mistakes as the author types, before `callflow check` runs.
//!
//! The schema is generated from the same spec types serde reads flows
//! with (`#[derive(JsonSchema)]` beside `#[derive(Deserialize)]`), so it
//! cannot list a key the loader refuses or miss one it takes, and each
//! key's doc comment becomes its description. The types that read
//! themselves by hand (a short form or a map, one value or a list) get
//! their schema by hand here, written to accept exactly the forms their
//! `Deserialize` impls accept; `tests/schema.rs` checks every shipped flow
//! and one step of every kind against it.

use std::borrow::Cow;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use super::languages::PromptsSpec;
use super::spec::FlowSpec;
use super::steps::menu::{OptionSpec, RetriesSpec};
use super::steps::{ON_KEYS, OnKey};
use super::yaml::{OneOrMany, Scalar, Shorthand};

/// The schema of a flow file, as `callflow schema` prints it and
/// `schema/flow.schema.json` keeps it: pretty JSON, ending with a newline.
pub fn flow_schema_json() -> String {
    pretty(&flow_schema())
}

/// A schema as the repository keeps it: pretty JSON, ending with a newline.
pub fn pretty(schema: &Schema) -> String {
    let mut json = serde_json::to_string_pretty(schema).expect("a schema is JSON");
    json.push('\n');
    json
}

/// The schema of a flow file.
pub fn flow_schema() -> Schema {
    let mut schema = root_schema::<FlowSpec>(
        "callflow flow file",
        "A call flow: settings, then `steps`, each with one action (say, menu, dial, ...) and where to go next. See the README's \"The flow language\".",
    );
    describe_keys(&mut schema);
    schema
}

/// The draft 2020-12 schema of a file read as `T`, with its title and
/// description.
pub fn root_schema<T: JsonSchema>(title: &str, description: &str) -> Schema {
    let generator = SchemaGenerator::new(SchemaSettings::draft2020_12());
    let mut schema = generator.into_root_schema_for::<T>();
    schema.insert("title".into(), title.into());
    schema.insert("description".into(), description.into());
    schema
}

impl JsonSchema for Scalar {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Scalar".into()
    }

    /// Text, a number or true/false: `1:` and `"1":` are the same key.
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["string", "number", "boolean"] })
    }
}

impl<T: JsonSchema> JsonSchema for Shorthand<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("Shorthand_{}", T::schema_name()).into()
    }

    fn schema_id() -> Cow<'static, str> {
        format!("callflow::Shorthand<{}>", T::schema_id()).into()
    }

    /// The one-line form (`say: Hello`: text or a number) or the full map.
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": ["string", "number"] },
                generator.subschema_for::<T>(),
            ]
        })
    }
}

impl<T: JsonSchema> JsonSchema for OneOrMany<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("OneOrMany_{}", T::schema_name()).into()
    }

    fn schema_id() -> Cow<'static, str> {
        format!("callflow::OneOrMany<{}>", T::schema_id()).into()
    }

    /// `input: dtmf` or `input: [dtmf, speech]`.
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let one = generator.subschema_for::<T>();
        json_schema!({
            "anyOf": [
                one,
                { "type": "array", "items": one },
            ]
        })
    }
}

impl JsonSchema for OnKey {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "OnKey".into()
    }

    /// How a dial ended or a request went.
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "enum": ON_KEYS })
    }
}

impl JsonSchema for OptionSpec {
    fn schema_name() -> Cow<'static, str> {
        "MenuOption".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The step this option leads to, or, in a flow with `languages`, `{ go: step, words: { en-US: sales, es-US: ventas } }`.",
            "anyOf": [
                { "type": "string" },
                {
                    "type": "object",
                    "properties": {
                        "go": { "type": "string", "description": "The step this option leads to." },
                        "words": {
                            "type": "object",
                            "description": "Language code → the word a caller may say for this option.",
                            "additionalProperties": { "type": "string" },
                        },
                    },
                    "required": ["go", "words"],
                    "additionalProperties": false,
                },
            ]
        })
    }
}

impl JsonSchema for RetriesSpec {
    fn schema_name() -> Cow<'static, str> {
        "Retries".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let count = json_schema!({ "type": "integer", "minimum": 0 });
        json_schema!({
            "description": "Extra tries after the first: one count for silence and wrong answers, or `{ no_input: 1, no_match: 3 }`.",
            "anyOf": [
                count,
                {
                    "type": "object",
                    "properties": { "no_input": count, "no_match": count },
                    "additionalProperties": false,
                },
            ]
        })
    }
}

impl JsonSchema for PromptsSpec {
    fn schema_name() -> Cow<'static, str> {
        "Prompts".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let table = json_schema!({
            "type": "object",
            "description": "Prompt name → language code → text.",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": generator.subschema_for::<Scalar>(),
            },
        });
        let file = json_schema!({
            "type": "string",
            "description": "The path of a shared prompt file, from this flow file's folder.",
        });
        json_schema!({
            "anyOf": [
                table,
                file,
                { "type": "array", "items": { "anyOf": [table, file] } },
            ]
        })
    }
}

/// `hangup:`, `hangup: true` or `hangup: {}` (see `steps::hangup::flag`).
pub(crate) fn hangup(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "Ends the call: `hangup: true` (or `hangup:` alone).",
        "anyOf": [
            { "type": "null" },
            { "const": true },
            { "type": "object", "maxProperties": 0 },
        ]
    })
}

pub(crate) fn leave(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "Takes a caller on hold out of the queue (among an `enqueue`'s `hold` steps): `leave: true` (or `leave:` alone).",
        "anyOf": [
            { "type": "null" },
            { "const": true },
            { "type": "object", "maxProperties": 0 },
        ]
    })
}

/// `return:`, `return: true`, or the values given back (see
/// `steps::give_back::values`).
pub(crate) fn give_back(generator: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "Ends a sub-flow and goes back to the `call` that started it, setting the values given here (each among the flow's `returns`).",
        "anyOf": [
            { "type": "null" },
            { "const": true },
            { "type": "object", "additionalProperties": generator.subschema_for::<Scalar>() },
        ]
    })
}

/// Gives each key without a doc comment of its own the words the README's
/// reference uses for it, so that every key an editor completes has a
/// description on hover. Many kinds share keys (`say`, `timeout`, the
/// speech options), which is why these live in one table instead of on
/// every field: a `(kind, key)` row is for a key that means something else
/// there, a `("*", key)` row for every other place.
fn describe_keys(schema: &mut Schema) {
    let described = |def: &str, properties: &mut serde_json::Map<String, serde_json::Value>| {
        for (key, property) in properties.iter_mut() {
            // `true` (any value, as `json` takes) is the empty schema.
            if property.as_bool() == Some(true) {
                *property = serde_json::Value::Object(serde_json::Map::new());
            }
            let Some(property) = property.as_object_mut() else {
                continue;
            };
            if property.contains_key("description") {
                continue;
            }
            let doc = KEY_DOCS
                .iter()
                .find(|(of, name, _)| *of == def && name == key)
                .or_else(|| {
                    KEY_DOCS
                        .iter()
                        .find(|(of, name, _)| *of == "*" && name == key)
                });
            if let Some((_, _, doc)) = doc {
                property.insert("description".into(), (*doc).into());
            }
        }
    };
    if let Some(properties) = schema
        .get_mut("properties")
        .and_then(serde_json::Value::as_object_mut)
    {
        described("FlowSpec", properties);
    }
    if let Some(defs) = schema
        .get_mut("$defs")
        .and_then(serde_json::Value::as_object_mut)
    {
        for (def, value) in defs.iter_mut() {
            if let Some(properties) = value
                .get_mut("properties")
                .and_then(serde_json::Value::as_object_mut)
            {
                described(def, properties);
            }
        }
    }
}

/// `(where, key, description)`: `where` is the spec's name in `$defs`
/// (`DialSpec`), or `*` for a key that means the same wherever it is.
const KEY_DOCS: &[(&str, &str, &str)] = &[
    (
        "FlowSpec",
        "steps",
        "The flow's steps by name (letters, digits, `_` and `-`). Each has one action and usually `next`.",
    ),
    // The actions of a step.
    (
        "StepSpec",
        "say",
        "Says text to the caller: `say: Hello.` or `say: { text: …, voice: …, language: …, loop: … }`, or `say: { prompt: name }`.",
    ),
    (
        "StepSpec",
        "play",
        "Plays an audio file (`play: https://…/hold.mp3`) or presses keys on the line (`play: { digits: ww1234 }`).",
    ),
    ("StepSpec", "pause", "Seconds of silence."),
    (
        "StepSpec",
        "gather",
        "Asks for keys or speech and saves the answer in a variable (`save_as`), then goes on to `next`.",
    ),
    (
        "StepSpec",
        "menu",
        "Asks the caller to choose: each option (a key or a word) leads to a step; retries and messages for silence and wrong answers.",
    ),
    (
        "StepSpec",
        "branch",
        "Goes to the first arm whose `if` holds for this call (`- if: vars.tries > 2` / `goto: operator`); an arm without `if` always does.",
    ),
    (
        "StepSpec",
        "hours",
        "Opening hours: goes to `open` or `closed` by the time of the call.",
    ),
    (
        "StepSpec",
        "set",
        "Sets the call's variables: `set: { tries: 0, account: \"{{ call.Digits }}\" }`.",
    ),
    (
        "StepSpec",
        "dial",
        "Connects the caller to a number, a browser client, a SIP address, a conference or a queue; `on:` routes how it ended.",
    ),
    (
        "StepSpec",
        "record",
        "Records a message (voicemail), then goes on to `next`.",
    ),
    (
        "StepSpec",
        "goto",
        "Goes on in another flow, at its start (`goto: billing`) or at a step (`goto: { flow: billing, step: card }`), and does not come back.",
    ),
    (
        "StepSpec",
        "call",
        "Runs another flow as a sub-flow, which comes back to this step's `next` (`call: verify_caller`, or `{ flow, step, with }`).",
    ),
    (
        "StepSpec",
        "reject",
        "Refuses the call without answering it: `busy` or `rejected`.",
    ),
    (
        "StepSpec",
        "request",
        "Asks another server (HTTP) and saves parts of its JSON answer; `on:` routes `error` and `timeout`.",
    ),
    (
        "StepSpec",
        "sms",
        "Texts the caller (or a number `allow` permits) while the call goes on: `sms: Your code is 1234.` or `{ body, to, from, allow }`.",
    ),
    (
        "StepSpec",
        "connect",
        "Hands the call to an AI agent (`conversation_relay`) or a media server (`stream`) over a WebSocket; `on:` routes `completed` and `error`.",
    ),
    (
        "StepSpec",
        "start_stream",
        "Sends a copy of the call's audio to a WebSocket of yours while the flow goes on (`<Start><Stream>`): `{ url, name, track, parameters }`.",
    ),
    (
        "StepSpec",
        "enqueue",
        "Puts the caller in a queue until an agent's `dial: { queue }` takes them, running the `hold` steps while they wait: `enqueue: support` or `{ queue, hold, max_size }`; `on:` routes bridged, leave, queue-full, hangup and error.",
    ),
    (
        "StepSpec",
        "start_recording",
        "Starts recording the whole call from here (`<Start><Recording>`) while the flow goes on: `start_recording: {}` or `{ name, channels, track, trim, status_callback }`.",
    ),
    (
        "StepSpec",
        "stop_recording",
        "Stops a recording a `start_recording` step (or `record_calls` with a `name`) started: `stop_recording: {}`, or its `name`.",
    ),
    // Prompts, wherever a step speaks before it listens, records or dials.
    (
        "*",
        "say",
        "What the caller hears first: text (`say: Press 1.`) or `{ text, voice, language, loop }`, or `{ prompt: name }`.",
    ),
    (
        "*",
        "play",
        "An audio file the caller hears (`play: https://…`), or `{ url, loop, digits }`.",
    ),
    (
        "*",
        "text",
        "The words to say; may be a template (`Hello {{ call.CallerName }}`).",
    ),
    (
        "*",
        "voice",
        "The voice, such as `Polly.Joanna`; the flow's `voice` when left out.",
    ),
    (
        "*",
        "language",
        "The language code, such as `en-US`; the flow's `language` when left out.",
    ),
    (
        "*",
        "loop",
        "How many times; 0 repeats until the caller hangs up.",
    ),
    ("*", "url", "The URL of the audio file."),
    // Listening.
    (
        "*",
        "input",
        "How the caller may answer: `dtmf` (keys), `speech`, or both.",
    ),
    ("*", "num_digits", "Stops listening after this many keys."),
    (
        "*",
        "finish_on_key",
        "The key that ends the input (`#`); `\"\"` for none.",
    ),
    (
        "*",
        "timeout",
        "Seconds of silence before the caller is taken to have said nothing.",
    ),
    (
        "*",
        "speech_timeout",
        "Seconds of silence that end speech, or `auto`.",
    ),
    (
        "*",
        "hints",
        "Words and phrases the caller is likely to say, for speech recognition.",
    ),
    (
        "*",
        "speech_model",
        "Twilio's speech recognition model, such as `googlev2_telephony`.",
    ),
    (
        "*",
        "enhanced",
        "Use Twilio's enhanced (premium) speech model.",
    ),
    (
        "*",
        "profanity_filter",
        "Mask profanity in what the caller said (Twilio's default: on).",
    ),
    (
        "*",
        "barge_in",
        "Stop the prompt as soon as the caller starts answering (Twilio's default: on).",
    ),
    (
        "*",
        "action_on_empty_result",
        "Go on even when the caller gave nothing (Twilio's actionOnEmptyResult).",
    ),
    ("*", "max_speech_time", "Longest speech, in seconds."),
    (
        "MenuSpec",
        "no_input",
        "What the caller hears when they said nothing and may try again.",
    ),
    (
        "MenuSpec",
        "no_match",
        "What the caller hears when their answer is no option and they may try again.",
    ),
    // Dials.
    (
        "DialSpec",
        "number",
        "A phone number in E.164 (`+15551230001`), or a list dialled at once (the first to answer gets the call).",
    ),
    (
        "DialSpec",
        "client",
        "A browser or app client's identity (Voice SDK), or a list.",
    ),
    (
        "DialSpec",
        "sip",
        "A SIP address (`sip:alice@example.sip.twilio.com`).",
    ),
    (
        "DialSpec",
        "conference",
        "A conference room's name, or `{ room, muted, beep, start_on_enter, end_on_exit, wait_url, max_participants }`.",
    ),
    (
        "DialSpec",
        "queue",
        "A Twilio queue's name: the caller waits there for an agent.",
    ),
    (
        "DialSpec",
        "caller_id",
        "The number the called party sees; the called number when left out.",
    ),
    (
        "DialSpec",
        "timeout",
        "Seconds to let it ring before the dial ends as `no-answer`.",
    ),
    (
        "DialSpec",
        "time_limit",
        "Longest connected call, in seconds.",
    ),
    (
        "DialSpec",
        "record",
        "Whether and how to record the connected call.",
    ),
    (
        "DialSpec",
        "answer_on_bridge",
        "Keep the caller hearing ringing until the other side answers.",
    ),
    (
        "DialSpec",
        "ring_tone",
        "The country whose ring tone the caller hears (`us`, `uk`, `de`, …).",
    ),
    (
        "DialSpec",
        "hangup_on_star",
        "Let the caller leave the connected call by pressing `*`.",
    ),
    (
        "ConferenceSpec",
        "room",
        "The conference's name; may be a template (`Room {{ vars.pin }}`).",
    ),
    ("ConferenceSpec", "muted", "Join muted."),
    (
        "ConferenceSpec",
        "beep",
        "Beep when someone joins or leaves: `true`, `false`, `onEnter` or `onExit`.",
    ),
    (
        "ConferenceSpec",
        "start_on_enter",
        "The conference starts when this caller joins; others wait with music until then.",
    ),
    (
        "ConferenceSpec",
        "end_on_exit",
        "The conference ends when this caller leaves.",
    ),
    (
        "ConferenceSpec",
        "wait_url",
        "What callers hear while they wait for the conference to start.",
    ),
    (
        "ConferenceSpec",
        "max_participants",
        "Most callers in the room at once.",
    ),
    // Records.
    (
        "RecordSpec",
        "finish_on_key",
        "The key that ends the recording (`#`).",
    ),
    ("RecordSpec", "play_beep", "Beep before recording starts."),
    (
        "RecordSpec",
        "trim",
        "Trim silence from the start and the end of the recording.",
    ),
    (
        "RecordSpec",
        "transcribe",
        "Have Twilio transcribe the message.",
    ),
    // Moving between flows.
    (
        "*",
        "flow",
        "The other flow's name (its file name without `.yaml`).",
    ),
    ("*", "step", "A step of that flow; its start when left out."),
    (
        "BranchArmSpec",
        "if",
        "A condition, such as `vars.account | length == 6`; the arm always applies without it.",
    ),
    (
        "BranchArmSpec",
        "goto",
        "The step to go to when the condition holds.",
    ),
    (
        "HoursSpec",
        "timezone",
        "The IANA time zone of these hours; the flow's `timezone` when left out.",
    ),
    // Requests.
    (
        "RequestSpec",
        "url",
        "The URL to ask; may be a template, and may read `secrets.NAME`.",
    ),
    (
        "RequestSpec",
        "method",
        "`GET` (the default), `POST`, `PUT`, `PATCH` or `DELETE`.",
    ),
    (
        "RequestSpec",
        "query",
        "Query parameters, name → value (templates allowed).",
    ),
    (
        "RequestSpec",
        "headers",
        "Request headers, name → value (templates allowed; `secrets.NAME` for tokens).",
    ),
    (
        "RequestSpec",
        "json",
        "A JSON body; its text values may be templates.",
    ),
    (
        "RequestSpec",
        "form",
        "A form body (`application/x-www-form-urlencoded`), name → value.",
    ),
    (
        "SpeechOptions",
        "speech_model",
        "Twilio's speech recognition model, such as `googlev2_telephony`.",
    ),
];
