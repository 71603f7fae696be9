//! `callflow test --coverage` and `--fail-under`: every way out of every
//! step is counted, the ones no call took are listed at their place in the
//! flow file, and CI can fail a run that took too few.
//!
//! The fixture `tests/fixtures/flowtests/coverage/` has a flow with a route
//! of every kind, several of them leading to the same step, so that which
//! one a call took can only be told from the route itself.

mod common;

use std::process::{Command, Output};

use common::repo_path;

const DIR: &str = "tests/fixtures/flowtests/coverage";

/// `callflow test DIR ARGS…`, run from the repository, as CI runs it.
fn test(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callflow"))
        .current_dir(repo_path("."))
        .arg("test")
        .arg(DIR)
        .args(args)
        .env_remove("FLOWS_DIR")
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// The lines from `coverage:` on.
fn coverage(output: &str) -> Vec<&str> {
    output
        .lines()
        .skip_while(|line| *line != "coverage:")
        .collect()
}

#[test]
fn every_route_no_call_took_is_listed_at_its_line() {
    let output = test(&["--coverage"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    let at = |place: &str| format!("    {DIR}/desk.yaml:{place}");
    assert_eq!(
        coverage(&text),
        [
            "coverage:",
            "  desk: 8 of 9 steps, 2 of 3 menu options, 10 of 20 routes",
            &at("11:5: route `closed` of step `hours` (to `closed`) is never taken"),
            // The menu asked again after the first silence: that is not
            // option `0`, though `0` leads back to the menu too.
            &at("19:9: option `0` of menu `menu` is never chosen"),
            // The second silence went to `bye` by `on: no_input`, never by
            // `otherwise`, which also leads there.
            &at("21:7: route `otherwise` of step `menu` (to `bye`) is never taken"),
            // Both arms lead to `support`; the call took the second.
            &at(
                "30:11: route `vars.account == \"1\"` of step `check` (to `support`) is never taken"
            ),
            &at("34:5: route `else` of step `check` (to `bye`) is never taken"),
            // `busy` was dialled; `no-answer` leads to the same voicemail.
            &at("38:28: route `no-answer` of step `sales` (to `voicemail`) is never taken"),
            &at("39:5: route `next` of step `sales` (to `bye`) is never taken"),
            &at("43:29: route `timeout` of step `support` (to `voicemail`) is never taken"),
            &at("44:5: route `next` of step `support` (to `bye`) is never taken"),
            &at("50:3: step `closed` is never reached"),
            &at("52:5: route `next` of step `closed` (to `bye`) is never taken"),
            "  unreached: no test reaches this flow (0 of 2 steps, 0 of 1 routes)",
            "  total: 10 of 21 routes taken (47%)",
            "3 passed, 0 failed",
        ]
    );
}

#[test]
fn fail_under_passes_above_the_line_and_fails_below_it() {
    let above = test(&["--fail-under", "47"]);
    let text = stdout(&above);
    assert_eq!(above.status.code(), Some(0), "{text}");
    // It lists the coverage without `--coverage`: a failing run must say
    // what to test next.
    assert!(
        text.contains("\n  total: 10 of 21 routes taken (47%)\n"),
        "{text}"
    );
    assert!(text.ends_with("3 passed, 0 failed\n"), "{text}");

    let below = test(&["--coverage", "--fail-under", "47.7%"]);
    let text = stdout(&below);
    assert_eq!(below.status.code(), Some(1), "{text}");
    assert!(
        text.ends_with(
            "3 passed, 0 failed\n\
             coverage failed: 10 of 21 routes taken (47%), below --fail-under 47.7%\n"
        ),
        "{text}"
    );
}

#[test]
fn fail_under_takes_only_a_percentage() {
    let output = test(&["--fail-under", "150"]);
    assert_eq!(output.status.code(), Some(2));
    let error = String::from_utf8(output.stderr).unwrap();
    assert!(
        error.contains("`150` is not a percentage from 0 to 100, such as 80"),
        "{error}"
    );
}

#[test]
fn failing_calls_still_fail_a_run_whose_coverage_holds() {
    let output = Command::new(env!("CARGO_BIN_EXE_callflow"))
        .current_dir(repo_path("."))
        .args(["test", "tests/fixtures/flowtests/run", "--fail-under", "0"])
        .env_remove("FLOWS_DIR")
        .output()
        .expect("the binary runs");
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.ends_with("7 passed, 9 failed\n"), "{text}");
}
