//! `callflow check --format json|github`: the same mistakes as the text,
//! in forms CI reads, with the same exit codes.

mod common;

use std::process::{Command, Output};

use common::{Folder, repo_path};

/// `callflow check DIR --format FORMAT`, run from the repository, as a CI
/// job runs it, so that files are named from there.
fn check(dir: &str, format: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callflow"))
        .current_dir(repo_path("."))
        .args(["check", dir, "--format", format])
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// The `file:line:column: severity` of each diagnostic of the text form.
fn text_places(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| line.contains(": error: ") || line.contains(": warning: "))
        .map(|line| {
            let (place, rest) = line.split_once(": ").unwrap();
            format!("{place}: {}", rest.split(':').next().unwrap())
        })
        .collect()
}

#[test]
fn json_gives_one_object_a_line_for_every_mistake_the_text_lists() {
    let dir = "tests/fixtures/flows/broken";
    let json = check(dir, "json");
    assert_eq!(json.status.code(), Some(1), "errors still exit 1");
    let objects: Vec<serde_json::Value> = stdout(&json)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let places: Vec<String> = objects
        .iter()
        .map(|o| {
            format!(
                "{}:{}:{}: {}",
                o["file"].as_str().unwrap(),
                o["line"],
                o["column"],
                o["severity"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(places, text_places(&stdout(&check(dir, "text"))));

    let typo = objects
        .iter()
        .find(|o| o["file"] == "tests/fixtures/flows/broken/typo.yaml")
        .expect("the misspelt key is reported");
    assert_eq!(typo["line"], 5);
    assert_eq!(typo["column"], 7);
    assert_eq!(typo["severity"], "error");
    assert_eq!(typo["code"], "unknown-key");
    assert_eq!(
        typo["message"],
        "unknown key `tiemout` in `steps.menu.menu`"
    );
    assert_eq!(typo["hint"], "did you mean `timeout`?");
    for object in &objects {
        let code = object["code"].as_str().unwrap();
        assert!(
            !code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "codes are kebab-case: {code}"
        );
        assert!(object.get("hint").is_some(), "every key is there: {object}");
    }
}

#[test]
fn github_writes_an_annotation_for_every_mistake() {
    let dir = "tests/fixtures/flows/broken";
    let github = check(dir, "github");
    assert_eq!(github.status.code(), Some(1));
    let out = stdout(&github);
    let annotations: Vec<&str> = out.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(
        annotations.len(),
        text_places(&stdout(&check(dir, "text"))).len()
    );
    assert!(
        annotations.contains(
            &"::error file=tests/fixtures/flows/broken/typo.yaml,line=5,col=7,title=callflow unknown-key::unknown key `tiemout` in `steps.menu.menu`%0Ahelp: did you mean `timeout`?"
        ),
        "{out}"
    );
    assert!(annotations.iter().all(|line| !line.contains('\r')));
    assert!(
        out.lines().last().unwrap().ends_with("errors, 0 warnings"),
        "{out}"
    );
}

#[test]
fn warnings_are_annotated_as_warnings_and_exit_0() {
    let folder = Folder::new("check-warnings");
    folder.write(
        "main.yaml",
        "steps:\n  hello:\n    say: Hello.\n  orphan:\n    say: Nobody comes here.\n",
    );
    let dir = folder.path.to_str().unwrap();
    let github = check(dir, "github");
    assert_eq!(github.status.code(), Some(0));
    let out = stdout(&github);
    assert!(
        out.lines().any(|line| line.starts_with("::warning file=")
            && line.contains(
                ",line=4,col=3,title=callflow unreachable-step::step `orphan` is never reached"
            )),
        "{out}"
    );
    let json = check(dir, "json");
    assert_eq!(json.status.code(), Some(0));
    let lines: Vec<String> = stdout(&json).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 1, "only the objects: {lines:?}");
    let warning: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(warning["severity"], "warning");
    assert_eq!(warning["code"], "unreachable-step");
}

#[test]
fn clean_flows_give_no_json_and_exit_0_in_every_format() {
    for format in ["text", "json", "github"] {
        let output = check("flows", format);
        assert_eq!(output.status.code(), Some(0), "{format}");
    }
    assert_eq!(stdout(&check("flows", "json")), "");
    assert_eq!(
        stdout(&check("flows", "text")),
        "2 flows in flows are ready to serve\n"
    );
}

#[test]
fn an_unknown_format_is_refused_with_the_choices() {
    let output = check("flows", "xml");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("text") && stderr.contains("json") && stderr.contains("github"),
        "{stderr}"
    );
}
