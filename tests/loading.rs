//! Flow files with mistakes: every mistake is reported at once, with its
//! file, line and column and a message a flow author can act on.

mod common;

use callflow::flow::load::{Source, load_sources};
use common::repo_path;

/// The report for one broken fixture, loaded on its own.
fn report_for(name: &str) -> String {
    let path = repo_path(&format!("tests/fixtures/flows/broken/{name}.yaml"));
    let text = std::fs::read_to_string(&path).unwrap();
    let source = Source {
        name: name.into(),
        file: format!("flows/{name}.yaml").into(),
        text,
    };
    match load_sources(vec![source]) {
        Ok(_) => panic!("{name} should not load"),
        Err(report) => report.to_string(),
    }
}

#[test]
fn a_yaml_syntax_error_names_its_line() {
    insta::assert_snapshot!(report_for("syntax"));
}

#[test]
fn a_misspelt_key_suggests_the_right_one() {
    insta::assert_snapshot!(report_for("typo"));
}

#[test]
fn a_wrong_type_says_what_was_expected() {
    insta::assert_snapshot!(report_for("wrong_type"));
}

#[test]
fn every_broken_step_of_a_file_is_reported_at_once() {
    insta::assert_snapshot!(report_for("many_steps"));
}

#[test]
fn a_loop_that_never_waits_is_an_error_and_an_orphan_step_a_warning() {
    insta::assert_snapshot!(report_for("endless"));
}

#[test]
fn every_broken_reference_is_reported_in_one_pass() {
    insta::assert_snapshot!(report_for("references"));
}

#[test]
fn the_default_flows_load_without_warnings() {
    let loaded = callflow::flow::load(&repo_path("flows")).unwrap_or_else(|r| panic!("{r}"));
    assert!(loaded.warnings.is_empty(), "{}", loaded.warnings);
    assert!(loaded.flows.by_name("main").is_some() && loaded.flows.by_name("outbound").is_some());
}

#[test]
fn a_broken_flow_file_stops_the_server_at_start_up() {
    let dir = repo_path("tests/fixtures/flows/broken");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_callflow"))
        .env("FLOWS_DIR", &dir)
        .env("PORT", "0")
        .output()
        .expect("the binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("typo.yaml:5:7: error: unknown key `tiemout`"),
        "{stderr}"
    );
    assert!(stderr.contains("not starting"), "{stderr}");
}

#[test]
fn check_exits_1_on_errors_and_0_when_clean() {
    let run = |dir: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_callflow"))
            .args(["check", repo_path(dir).to_str().unwrap()])
            .output()
            .expect("the binary runs")
    };
    assert_eq!(run("tests/fixtures/flows/broken").status.code(), Some(1));
    let clean = run("flows");
    assert_eq!(clean.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&clean.stdout).contains("2 flows"));
}

#[test]
fn the_example_flows_load_without_warnings() {
    let loaded =
        callflow::flow::load(&repo_path("examples/flows")).unwrap_or_else(|r| panic!("{r}"));
    assert!(loaded.warnings.is_empty(), "{}", loaded.warnings);
    assert!(loaded.flows.flows().len() >= 4);
}
