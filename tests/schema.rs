//! `callflow schema`: the JSON Schema editors check flows with. It is kept
//! in the repository (`schema/flow.schema.json`), accepts every shipped
//! flow and every kind of step, and refuses what `callflow check` refuses
//! for a misspelt key. `callflow schema --tests` is the same for flow test
//! files (`schema/flow-test.schema.json`).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::repo_path;
use serde_json::Value;

/// What `callflow schema` prints.
fn printed_schema() -> String {
    printed(&[])
}

/// What `callflow schema --tests` prints.
fn printed_test_schema() -> String {
    printed(&["--tests"])
}

fn printed(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_callflow"))
        .arg("schema")
        .args(args)
        .output()
        .expect("the binary runs");
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

fn validator() -> jsonschema::Validator {
    validator_of(&printed_schema())
}

fn test_validator() -> jsonschema::Validator {
    validator_of(&printed_test_schema())
}

fn validator_of(printed: &str) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(printed).unwrap();
    jsonschema::draft202012::new(&schema).expect("the schema is a valid draft 2020-12 schema")
}

/// A YAML flow as the JSON an editor checks (keys such as `1:` as text).
fn as_json(yaml: &str) -> Value {
    let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(yaml).unwrap();
    serde_json::to_value(value).unwrap()
}

/// Every mistake the schema finds in `yaml`, as `path: message`.
fn schema_errors(validator: &jsonschema::Validator, yaml: &str) -> Vec<String> {
    let instance = as_json(yaml);
    validator
        .iter_errors(&instance)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect()
}

/// The flow files of a folder (not its tests or prompt files).
fn flow_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_path(dir))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_schema_in_the_repository_is_the_one_the_types_make() {
    let kept = std::fs::read_to_string(repo_path("schema/flow.schema.json")).unwrap();
    assert!(
        kept == printed_schema(),
        "schema/flow.schema.json is out of date: run `cargo run -- schema > schema/flow.schema.json`"
    );
}

#[test]
fn the_test_schema_in_the_repository_is_the_one_the_types_make() {
    let kept = std::fs::read_to_string(repo_path("schema/flow-test.schema.json")).unwrap();
    assert!(
        kept == printed_test_schema(),
        "schema/flow-test.schema.json is out of date: run `cargo run -- schema --tests > schema/flow-test.schema.json`"
    );
}

#[test]
fn the_schema_is_draft_2020_12_with_docs() {
    let schema: Value = serde_json::from_str(&printed_schema()).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert!(
        schema["properties"]["timezone"]["description"]
            .as_str()
            .unwrap()
            .contains("IANA time zone")
    );
    every_key_is_described(&schema);
    // Closed values are enums.
    assert_eq!(
        schema["$defs"]["RejectReason"]["enum"],
        serde_json::json!(["busy", "rejected"])
    );
}

#[test]
fn the_test_schema_is_draft_2020_12_with_docs() {
    let schema: Value = serde_json::from_str(&printed_test_schema()).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    every_key_is_described(&schema);
    // Closed values are enums: the dial outcomes a test can play, and how a
    // wait in a queue ends at once (`queued` with `outcome`).
    let item = &schema["$defs"]["ItemSpec"]["properties"];
    assert_eq!(
        item["outcome"]["enum"],
        serde_json::json!([
            "completed",
            "answered",
            "busy",
            "no-answer",
            "failed",
            "canceled",
            "bridged",
            "full",
            "hangup",
            "error"
        ])
    );
    assert_eq!(
        item["queue"]["enum"],
        serde_json::json!(["hold", "bridged", "full", "hangup", "error"])
    );
    assert_eq!(
        item["callee"]["anyOf"][0]["enum"],
        serde_json::json!(["accepts", "declines", "silent"])
    );
    assert!(
        item["ends"]["enum"]
            .as_array()
            .unwrap()
            .contains(&"dial completed".into())
    );
}

#[test]
fn every_shipped_flow_and_example_passes_the_schema() {
    let validator = validator();
    let files: Vec<PathBuf> = [flow_files("flows"), flow_files("examples/flows")].concat();
    assert!(files.len() >= 10, "{files:?}");
    for file in files {
        passes_and_names(&validator, &file, "flow.schema.json");
    }
}

/// The file passes the schema, and starts with the line that leads an
/// editor to it, `schema/NAME` relative to the file.
fn passes_and_names(validator: &jsonschema::Validator, file: &std::path::Path, name: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    let errors = schema_errors(validator, &text);
    assert!(errors.is_empty(), "{}: {errors:#?}", file.display());
    let relative = file.strip_prefix(repo_path(".")).unwrap();
    let depth = relative.components().count() - 1;
    let modeline = format!(
        "# yaml-language-server: $schema={}schema/{name}\n",
        "../".repeat(depth)
    );
    assert!(
        text.starts_with(&modeline),
        "{} starts with {modeline}",
        relative.display()
    );
    let target = file
        .parent()
        .unwrap()
        .join(modeline.trim_end().rsplit('=').next().unwrap());
    assert!(
        target.is_file(),
        "{} leads to the schema",
        relative.display()
    );
}

/// Every key says what it is, for the editor's hover.
fn every_key_is_described(schema: &Value) {
    let mut places = vec![schema];
    places.extend(schema["$defs"].as_object().unwrap().values());
    for place in places {
        for (key, property) in place["properties"].as_object().into_iter().flatten() {
            assert!(
                property["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "`{key}` has no description: {property}"
            );
        }
    }
}

#[test]
fn one_step_of_every_kind_passes_the_schema() {
    let validator = validator();
    for file in flow_files("tests/fixtures/flows/steps") {
        let errors = schema_errors(&validator, &std::fs::read_to_string(&file).unwrap());
        assert!(errors.is_empty(), "{}: {errors:#?}", file.display());
    }
}

#[test]
fn short_forms_and_full_forms_both_pass() {
    let validator = validator();
    let flow = r#"
steps:
  short:
    say: Hello.
    next: full
  full:
    say: { text: Hello., voice: Polly.Amy, loop: 2 }
    next: ask
  ask:
    menu:
      say: Press 1.
      input: dtmf
      retries: { no_input: 1, no_match: 2 }
      options: { 1: short, 2: { go: full, words: { en-US: two } } }
  call_it:
    call: verify
  done:
    hangup: true
"#;
    assert_eq!(schema_errors(&validator, flow), Vec::<String>::new());
}

#[test]
fn a_misspelt_key_or_an_unknown_value_is_refused() {
    let validator = validator();
    let main = std::fs::read_to_string(repo_path("flows/main.yaml")).unwrap();
    let misspelt = main.replacen("      timeout: 5\n", "      tiemout: 5\n", 1);
    assert_ne!(main, misspelt);
    let errors = schema_errors(&validator, &misspelt);
    assert!(
        errors
            .iter()
            .any(|error| error.contains("/steps/menu/menu") && error.contains("tiemout")),
        "{errors:#?}"
    );
    let errors = schema_errors(&validator, "steps:\n  no:\n    reject: maybe\n");
    assert!(!errors.is_empty(), "`maybe` is no reason to reject");
    let errors = schema_errors(&validator, "steps:\n  a:\n    say: Hi.\n    nxt: b\n");
    assert!(!errors.is_empty(), "`nxt` is no key of a step");
}

/// The flow test files below a folder, at any depth.
fn test_files(dir: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![repo_path(dir)];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.to_string_lossy().ends_with(".test.yaml") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_shipped_test_file_passes_the_test_schema() {
    let validator = test_validator();
    let files: Vec<PathBuf> = [test_files("flows"), test_files("examples")].concat();
    assert!(files.len() >= 10, "{files:?}");
    for file in files {
        passes_and_names(&validator, &file, "flow-test.schema.json");
    }
}

#[test]
fn a_misspelt_test_key_or_an_unknown_outcome_is_refused() {
    let validator = test_validator();
    let main = std::fs::read_to_string(repo_path("flows/tests/main.test.yaml")).unwrap();
    let misspelt = main.replacen("      - hears: ", "      - heard: ", 1);
    assert_ne!(main, misspelt);
    let errors = schema_errors(&validator, &misspelt);
    assert!(
        errors
            .iter()
            .any(|error| error.contains("/calls/0/steps/0") && error.contains("heard")),
        "{errors:#?}"
    );
    let call = |line: &str| format!("calls:\n  - name: a call\n    steps:\n      - {line}\n");
    assert_eq!(
        schema_errors(
            &validator,
            &call("dials: \"+15551230001\"\n        outcome: busy")
        ),
        Vec::<String>::new()
    );
    let errors = schema_errors(
        &validator,
        &call("dials: \"+15551230001\"\n        outcome: engaged"),
    );
    assert!(!errors.is_empty(), "`engaged` is no dial outcome");
    let errors = schema_errors(&validator, &call("ends: vanished"));
    assert!(!errors.is_empty(), "`vanished` is no ending");
    let errors = schema_errors(&validator, "calls: []\nfrm: \"+15551112222\"\n");
    assert!(!errors.is_empty(), "`frm` is no key of a test file");
}
