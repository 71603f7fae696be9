//! `callflow test`: the shipped flow tests pass, and the runner's
//! expectations bite. Fixtures are under `tests/fixtures/flowtests/`: `run/`
//! has a small flow with passing and failing test files, `mistakes/` has
//! test files with mistakes in them.
//!
//! Paths are given relative to the package root (the working directory of
//! `cargo test`), so the reports in the snapshots hold no machine's path.

use std::process::Command;

use callflow::engine::EngineSettings;
use callflow::flowtest::{self, Options, RunError, Summary};

const RUN: &str = "tests/fixtures/flowtests/run";
const MISTAKES: &str = "tests/fixtures/flowtests/mistakes";

/// Runs the tests below `dir` through the library, returning the output.
async fn run(dir: &str, options: Options) -> (Result<Summary, RunError>, String) {
    let mut out = Vec::new();
    let result = flowtest::run(dir.as_ref(), EngineSettings::default(), &options, &mut out).await;
    (result, String::from_utf8(out).expect("the output is text"))
}

#[tokio::test]
async fn the_shipped_flow_tests_pass_and_cover_the_default_flows() {
    let (result, output) = run(
        "flows",
        Options {
            coverage: true,
            ..Options::default()
        },
    )
    .await;
    let summary = result.unwrap_or_else(|error| panic!("{error}"));
    assert!(summary.all_passed(), "{output}");
    assert!(summary.passed >= 10, "{output}");
    assert!(
        output.contains("  main: 12 of 12 steps, 5 of 5 menu options, "),
        "{output}"
    );
    assert!(output.contains("  outbound: 4 of 4 steps, "), "{output}");
}

#[tokio::test]
async fn the_example_flow_tests_pass_and_cover_the_example_flows() {
    let (result, output) = run(
        "examples/flows",
        Options {
            coverage: true,
            ..Options::default()
        },
    )
    .await;
    let summary = result.unwrap_or_else(|error| panic!("{error}"));
    assert!(summary.all_passed(), "{output}");
    assert!(summary.passed >= 40, "{output}");
    // Under `coverage:`, each flow has a line; what no call reaches is
    // listed below its flow's line, indented further. Every step is
    // reached and every option chosen (routes such as dial outcomes are
    // counted apart, in tests/coverage.rs).
    let coverage = output
        .split("\ncoverage:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no coverage report:\n{output}"));
    let untested: Vec<&str> = coverage
        .lines()
        .filter(|line| {
            line.contains("is never reached")
                || line.contains("is never chosen")
                || line.contains("no test reaches")
        })
        .collect();
    assert!(untested.is_empty(), "untested: {untested:#?}\n{output}");
    for flow in [
        "  clinic: 10 of 10 steps, 6 of 6 menu options, ",
        "  conference_line: 10 of 10 steps, ",
        "  multilingual: 8 of 8 steps, 7 of 7 menu options, ",
        "  support_line: 12 of 12 steps, 2 of 2 menu options, ",
        "  billing: 5 of 5 steps, ",
        "  orders: 7 of 7 steps, 2 of 2 menu options, ",
        "  verify_caller: 8 of 8 steps, ",
    ] {
        assert!(output.contains(flow), "{output}");
    }
}

#[tokio::test]
async fn every_kind_of_failure_is_reported_with_its_line_and_both_transcripts() {
    let (result, output) = run(RUN, Options::default()).await;
    let summary = result.unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        summary,
        Summary {
            passed: 7,
            failed: 9,
            filtered_out: 0
        },
        "{output}"
    );
    // Each failure points at the failing line of the test file, then shows
    // the expected script and the actual transcript.
    let fail_file = format!("{RUN}/tests/fail.test.yaml");
    for (name, line) in [
        ("wrong words", 9),
        ("heard, but before the line that expects it", 14),
        ("wrong dial", 19),
        ("wrong ending", 24),
        ("wrong step", 29),
        ("wrong variable", 34),
        ("no recording", 39),
        ("an action where the call cannot take it", 44),
        ("the dial was not answered", 51),
    ] {
        let report = output
            .split(&format!("FAIL tests/fail.test.yaml: {name}\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("no FAIL line for `{name}`:\n{output}"));
        let report = report.split("\nFAIL ").next().unwrap_or(report);
        assert!(
            report.starts_with(&format!("  {fail_file}:{line}:")),
            "`{name}` should point at line {line}:\n{report}"
        );
        assert!(report.contains("\n  expected:\n"), "{report}");
        assert!(
            report.contains("\n  actual:\n    hears: Welcome to the test desk.\n"),
            "{report}"
        );
    }
    assert!(output.ends_with("7 passed, 9 failed\n"), "{output}");
    insta::assert_snapshot!(output);
}

#[tokio::test]
async fn filter_picks_calls_by_file_or_name() {
    let (result, output) = run(
        RUN,
        Options {
            filter: Some("PASS.test.yaml: SALES".into()),
            ..Options::default()
        },
    )
    .await;
    assert_eq!(
        result.unwrap_or_else(|error| panic!("{error}")),
        Summary {
            passed: 2,
            failed: 0,
            filtered_out: 14
        }
    );
    assert_eq!(
        output,
        "PASS tests/pass.test.yaml: sales answers\n\
         PASS tests/pass.test.yaml: sales is busy, a message is left\n\
         14 filtered out\n\
         2 passed, 0 failed\n"
    );
}

#[tokio::test]
async fn coverage_lists_the_steps_and_options_no_call_reaches() {
    let (_, output) = run(
        RUN,
        Options {
            filter: Some("sales answers".into()),
            coverage: true,
            ..Options::default()
        },
    )
    .await;
    insta::assert_snapshot!(output);
}

#[tokio::test]
async fn mistakes_in_test_files_are_reported_like_flow_mistakes() {
    let (result, output) = run(MISTAKES, Options::default()).await;
    assert!(output.is_empty(), "no call is played: {output}");
    match result {
        Err(error @ RunError::TestFiles(_)) => insta::assert_snapshot!(error.to_string()),
        other => panic!("expected test file mistakes, got {other:?}"),
    }
}

#[tokio::test]
async fn a_call_no_flow_answers_fails_even_if_its_script_holds() {
    let (result, output) = run("tests/fixtures/flowtests/unrouted", Options::default()).await;
    assert!(!result.unwrap().all_passed(), "{output}");
    assert!(
        output.starts_with(
            "FAIL tests/unrouted.test.yaml: routed to no flow\n  \
             tests/fixtures/flowtests/unrouted/tests/unrouted.test.yaml:4:11: \
             expected a flow to answer the call\n  but no flow did"
        ),
        "{output}"
    );
}

#[tokio::test]
async fn a_folder_without_tests_is_an_error_not_a_pass() {
    let (result, _) = run("tests/fixtures/flows/steps", Options::default()).await;
    match result {
        Err(RunError::TestFiles(report)) => {
            assert!(
                report.to_string().contains("there are no flow tests"),
                "{report}"
            );
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

/// The binary, as CI runs it: exit codes and the last line.
fn callflow_test(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_callflow"))
        .arg("test")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("FLOWS_DIR")
        .env("RUST_LOG", "off")
        .output()
        .expect("callflow runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn the_command_exits_0_when_all_pass_and_1_on_any_failure() {
    let (code, stdout) = callflow_test(&["flows"]);
    assert_eq!(code, Some(0), "{stdout}");
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.ends_with(" passed, 0 failed") && !last.starts_with("0 "),
        "{stdout}"
    );

    let (code, stdout) = callflow_test(&[RUN]);
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("7 passed, 9 failed"));

    let (code, stdout) = callflow_test(&[RUN, "--filter", "nine is turned away"]);
    assert_eq!(code, Some(0), "{stdout}");

    let (code, stdout) = callflow_test(&[MISTAKES]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("mistakes.test.yaml:2:7: error:"),
        "{stdout}"
    );
}

#[tokio::test]
async fn a_script_runs_in_the_language_its_file_or_call_names() {
    let (result, output) = run("tests/fixtures/flowtests/languages", Options::default()).await;
    let summary = result.unwrap_or_else(|error| panic!("{error}"));
    assert_eq!((summary.passed, summary.failed), (2, 1), "{output}");
    assert!(
        output.contains("PASS tests/desk.test.yaml: in Spanish by the file's language\n"),
        "{output}"
    );
    assert!(
        output.contains("PASS tests/desk.test.yaml: in English by the call's own language\n"),
        "{output}"
    );
    assert!(
        output.contains("FAIL tests/desk.test.yaml: in Spanish, expecting English\n"),
        "{output}"
    );
}

/// Flow tests answer requests from their `http:` stubs, check the
/// requests a call made, and fail a call whose request no stub matches,
/// naming it.
#[tokio::test]
async fn requests_are_stubbed_expected_and_never_left_unstubbed() {
    let (result, output) = run("tests/fixtures/flowtests/requests", Options::default()).await;
    let summary = result.unwrap_or_else(|error| panic!("{error}"));
    assert_eq!((summary.passed, summary.failed), (2, 2), "{output}");
    assert!(
        output.contains("PASS tests/shop.test.yaml: stubbed and expected\n"),
        "{output}"
    );
    assert!(
        output.contains("PASS tests/shop.test.yaml: a timeout stub takes the timeout route\n"),
        "{output}"
    );
    let not_made = output
        .split("FAIL tests/shop.test.yaml: a request that was not made\n")
        .nth(1)
        .unwrap_or_else(|| panic!("{output}"));
    assert!(
        not_made
            .contains("shop.test.yaml:26:9: expected a request POST https://hooks.example.com/log"),
        "{output}"
    );
    assert!(not_made.contains("with order=7&status=shipped"), "{output}");
    let unstubbed = output
        .split("FAIL tests/shop.test.yaml: a request no stub matches\n")
        .nth(1)
        .unwrap_or_else(|| panic!("{output}"));
    assert!(
        unstubbed.contains("but the call made GET https://crm.example.com/calls/CA"),
        "{output}"
    );
    assert!(
        unstubbed.contains("which no `http:` stub matches"),
        "{output}"
    );
}
