//! `callflow schema --tests`: the flow test file format (`*.test.yaml`) as
//! a JSON Schema (draft 2020-12), the second part of `callflow schema`, so
//! that an editor completes and checks test files as it does flows.
//!
//! As for flows, the schema comes from the types serde reads test files
//! with ([`super::spec`]), each field's doc comment its description; only
//! the types that read themselves by hand (a scalar, a line of a script, a
//! short form or a map) and the closed values kept as written text (a
//! dial's outcome, an ending) are described here, to accept exactly what
//! their readers accept. `tests/schema.rs` checks every shipped test file
//! against it.

use crate::simulator::{CalleeAnswer, QueueEvent};
use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use super::load::Ending;
use super::spec::{
    ItemSpec, RequestSpec, RequestsSpec, ScriptLine, SetsSpec, TestFileSpec, Written,
};
use crate::flow::steps::dial::DialOutcome;

/// The schema of a test file, as `callflow schema --tests` prints it and
/// `schema/flow-test.schema.json` keeps it.
pub fn test_schema_json() -> String {
    crate::flow::schema::pretty(&test_schema())
}

/// The schema of a test file.
pub fn test_schema() -> Schema {
    crate::flow::schema::root_schema::<TestFileSpec>(
        "callflow flow test file",
        "Scripted calls played against the flows by `callflow test`: defaults for the calls, then `calls`, each with a `name` and `steps`. See the README's \"Testing flows\".",
    )
}

impl JsonSchema for Written {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Written".into()
    }

    /// Text, or a number or true/false YAML reads as one (`press: 1`).
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["string", "number", "boolean"] })
    }
}

impl JsonSchema for ScriptLine {
    fn schema_name() -> Cow<'static, str> {
        "ScriptLine".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "What the caller does (`press: \"1\"`, `silence`) or what must happen (`hears: …`, `dials: …`): one key a line, or `dials` with its `outcome`, `connects` with `handoff` or `fails`.",
            "anyOf": [
                { "enum": ["silence", "hangup", "records"] },
                generator.subschema_for::<ItemSpec>(),
            ]
        })
    }
}

impl JsonSchema for RequestsSpec {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Requests".into()
    }

    /// `POST https://…`, or the map that checks part of the body too.
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "string" },
                generator.subschema_for::<RequestSpec>(),
            ]
        })
    }
}

impl JsonSchema for SetsSpec {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Sets".into()
    }

    /// A variable's name, or variables and their values.
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "string" },
                { "type": "object", "additionalProperties": generator.subschema_for::<Written>() },
            ]
        })
    }
}

/// A dial's outcome as Twilio reports it (`refused` is the engine's own,
/// which no test can play), or, beside `queued`, how the wait ends.
pub(super) fn dial_outcome(_: &mut SchemaGenerator) -> Schema {
    let mut outcomes: Vec<&str> = DialOutcome::ALL
        .into_iter()
        .filter(|outcome| outcome.reported_by_twilio())
        .map(DialOutcome::as_str)
        .collect();
    for event in QueueEvent::ALL {
        if event != QueueEvent::Hold && !outcomes.contains(&event.as_str()) {
            outcomes.push(event.as_str());
        }
    }
    json_schema!({ "enum": outcomes })
}

/// What happens to a caller in a queue (`queue:`).
pub(super) fn queue_event(_: &mut SchemaGenerator) -> Schema {
    let events: Vec<&str> = QueueEvent::ALL
        .into_iter()
        .map(QueueEvent::as_str)
        .collect();
    json_schema!({ "enum": events })
}

/// How a callee answers a whisper (`callee:`).
pub(super) fn callee_answer(_: &mut SchemaGenerator) -> Schema {
    let answers: Vec<String> = CalleeAnswer::NAMED
        .into_iter()
        .map(|answer| answer.to_string())
        .collect();
    json_schema!({
        "anyOf": [
            { "enum": answers },
            { "type": "string", "pattern": "^[0-9*#]$" },
            { "type": "integer", "minimum": 0, "maximum": 9 },
        ]
    })
}

/// How a call may be expected to end (see [`Ending`]).
pub(super) fn ending(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "enum": Ending::SPELLINGS })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema lets through only what the loader takes.
    #[test]
    fn every_ending_the_schema_offers_is_one_the_loader_reads() {
        for spelling in Ending::SPELLINGS {
            assert!(Ending::parse(spelling).is_some(), "{spelling}");
        }
    }
}
