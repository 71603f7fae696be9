//! Flow files with mistakes: every mistake is reported at once, with its
//! file, line and column and a message a flow author can act on.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use callflow::flow::MaxFileBytes;
use callflow::flow::load::{Source, load_sources};
use common::{Folder, flow_names, repo_path};

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

#[test]
fn keys_written_twice_step_names_included_name_both_lines() {
    insta::assert_snapshot!(report_for("duplicates"));
}

/// A flow that loads.
const HELLO: &str = "steps:\n  hello:\n    say: Hello.\n";

/// `callflow check DIR`, stopped and failed if it takes more than a few
/// seconds (a read that blocks would take forever).
fn check_within_seconds(dir: &std::path::Path, vars: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_callflow"))
        .arg("check")
        .arg(dir)
        .envs(vars.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!(
                "callflow check did not finish: {:?}",
                child.wait_with_output()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[cfg(unix)]
#[test]
fn check_names_a_fifo_in_the_folder_instead_of_hanging_on_it() {
    let folder = Folder::new("fifo");
    folder.write("main.yaml", HELLO);
    let made = Command::new("mkfifo")
        .arg(folder.join("pipe.yaml"))
        .status()
        .unwrap();
    assert!(made.success());
    let output = check_within_seconds(&folder.path, &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("pipe.yaml:1:1: error: this is a named pipe (FIFO), not a file"),
        "{stdout}"
    );
}

/// The report of loading `folder`, which must fail.
fn refused(folder: &Folder, max: MaxFileBytes) -> String {
    match callflow::flow::load_limited(&folder.path, max) {
        Ok(_) => panic!("the folder should not load"),
        Err(report) => report.relative_to(&folder.path).to_string(),
    }
}

#[cfg(unix)]
#[test]
fn a_link_to_dev_zero_is_refused_as_leading_outside_the_folder() {
    let folder = Folder::new("dev_zero");
    folder.write("main.yaml", HELLO);
    std::os::unix::fs::symlink("/dev/zero", folder.join("zero.yaml")).unwrap();
    let report = refused(&folder, MaxFileBytes::default());
    assert!(
        report.contains(
            "zero.yaml:1:1: error: this link leads outside the flows folder, so it is not read"
        ),
        "{report}"
    );
}

#[cfg(unix)]
#[test]
fn links_are_followed_inside_the_folder_only() {
    let folder = Folder::new("links");
    let elsewhere = Folder::new("links_elsewhere");
    folder.write("main.yaml", HELLO);
    elsewhere.write(
        "secret.yaml",
        "steps:\n  hello:\n    say: Not for callers.\n",
    );
    std::fs::create_dir(elsewhere.join("more")).unwrap();
    elsewhere.write("more/other.yaml", HELLO);
    std::os::unix::fs::symlink(elsewhere.join("secret.yaml"), folder.join("secret.yaml")).unwrap();
    std::os::unix::fs::symlink(elsewhere.join("more"), folder.join("more")).unwrap();
    let report = refused(&folder, MaxFileBytes::default());
    for file in ["secret.yaml", "more"] {
        assert!(
            report.contains(&format!(
                "{file}:1:1: error: this link leads outside the flows folder"
            )),
            "{report}"
        );
    }
    assert!(!report.contains("Not for callers"), "{report}");

    // A link to a file inside the folder is read.
    std::fs::remove_file(folder.join("secret.yaml")).unwrap();
    std::fs::remove_file(folder.join("more")).unwrap();
    std::os::unix::fs::symlink("main.yaml", folder.join("alias.yaml")).unwrap();
    let loaded = callflow::flow::load(&folder.path).unwrap_or_else(|r| panic!("{r}"));
    assert!(loaded.flows.by_name("alias").is_some());
}

#[cfg(unix)]
#[test]
fn a_configmap_layout_loads_each_file_once() {
    use std::os::unix::fs::symlink;
    // As the kubelet mounts a ConfigMap: each key a link through `..data`,
    // itself a link to a timestamped folder of real files.
    let folder = Folder::new("configmap_layout");
    std::fs::create_dir(folder.join("..2026_11_29_04_00_00.123")).unwrap();
    folder.write("..2026_11_29_04_00_00.123/main.yaml", HELLO);
    folder.write("..2026_11_29_04_00_00.123/outbound.yaml", HELLO);
    symlink("..2026_11_29_04_00_00.123", folder.join("..data")).unwrap();
    symlink("..data/main.yaml", folder.join("main.yaml")).unwrap();
    symlink("..data/outbound.yaml", folder.join("outbound.yaml")).unwrap();
    assert_eq!(flow_names(&folder.path), ["main", "outbound"]);
    let loaded = callflow::flow::load(&folder.path).unwrap_or_else(|r| panic!("{r}"));
    assert!(loaded.warnings.is_empty(), "{}", loaded.warnings);
}

#[test]
fn a_file_over_the_size_limit_is_refused_by_name() {
    let folder = Folder::new("too_large");
    folder.write("main.yaml", HELLO);
    let padding = format!("# {}\n", "x".repeat(2046));
    folder.write("large.yaml", &format!("{padding}{HELLO}"));
    let report = refused(&folder, MaxFileBytes::new(2048).unwrap());
    assert!(
        report.contains(
            "large.yaml:1:1: error: this file is 2081 bytes, over the limit of 2 KiB for one file"
        ),
        "{report}"
    );
    assert!(report.contains("FLOW_FILE_MAX_BYTES"), "{report}");
    // Under the default limit of 1 MiB, it loads.
    assert!(callflow::flow::load(&folder.path).is_ok());

    // `callflow check` takes the limit from the setting.
    let output = check_within_seconds(&folder.path, &[("FLOW_FILE_MAX_BYTES", "1024")]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("over the limit of 1 KiB"), "{stdout}");
}

#[test]
fn a_deeply_nested_file_is_refused_before_it_is_parsed() {
    // 200 KB of nesting: parsing it took seconds, and held up reloads.
    for (shape, text) in [
        ("flow lists", format!("steps: {}", "[".repeat(200_000))),
        ("flow maps", format!("steps: {}", "{a: ".repeat(50_000))),
        ("block maps", {
            let mut text = String::new();
            let mut depth = 0;
            while text.len() < 200_000 {
                text.push_str(&format!("{}a:\n", " ".repeat(depth)));
                depth += 1;
            }
            text
        }),
    ] {
        let source = Source {
            name: "main".into(),
            file: "flows/main.yaml".into(),
            text,
        };
        let report = match load_sources(vec![source]) {
            Ok(_) => panic!("{shape} should not load"),
            Err(report) => report.to_string(),
        };
        assert!(
            report.starts_with("flows/main.yaml:")
                && report.contains(": error: maps and lists nest more than 32 levels deep here"),
            "{shape}: {report}"
        );
        assert!(report.ends_with("1 error, 0 warnings"), "{shape}: {report}");
    }
    // Nesting as deep as flows go loads.
    let nested =
        "steps:\n  menu:\n    menu:\n      say: Press 1.\n      options:\n        1: menu\n";
    let source = Source {
        name: "main".into(),
        file: "flows/main.yaml".into(),
        text: nested.into(),
    };
    load_sources(vec![source]).unwrap_or_else(|r| panic!("{r}"));
}

/// `callflow check` on a folder of the fixtures, from the package root so
/// that the report names files as an author would.
fn check_report(dir: &str) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_callflow"))
        .args(["check", dir])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn a_call_or_return_naming_what_does_not_exist_is_an_error_at_its_line() {
    let (code, report) = check_report("tests/fixtures/flows/sub_broken");
    assert_eq!(code, Some(1), "{report}");
    for line in [
        "tests/fixtures/flows/sub_broken/main.yaml:4:11: error: there is no flow named `nowhere`",
        "tests/fixtures/flows/sub_broken/main.yaml:7:33: error: flow `helper` has no step named `nosuch`",
        "tests/fixtures/flows/sub_broken/main.yaml:10:15: error: `return` sets `secret`, which this flow does not declare in `returns`\n  help: declare it at the top of the file: `returns: [secret]`",
        "tests/fixtures/flows/sub_broken/helper.yaml:7:15: error: `return` sets `verifed`, which this flow does not declare in `returns`\n  help: did you mean `verified`?",
    ] {
        assert!(report.contains(line), "{line}\n---\n{report}");
    }
}

#[test]
fn check_follows_calls_across_flows_to_recursion_and_sub_flows_that_never_come_back() {
    let (code, report) = check_report("tests/fixtures/flows/sub_cycles");
    assert_eq!(code, Some(1), "{report}");
    for line in [
        "tests/fixtures/flows/sub_cycles/main.yaml:5:5: error: flow `hangs_up` never comes back here",
        "tests/fixtures/flows/sub_cycles/ping.yaml:8:5: error: this call comes round to itself, so its sub-flows would nest without end: `ping:again` → `pong:back` → `ping:again`",
        "tests/fixtures/flows/sub_cycles/pong.yaml:3:5: error: this call comes round to itself, so its sub-flows would nest without end: `pong:back` → `ping:again` → `pong:back`",
        "tests/fixtures/flows/sub_cycles/lonely.yaml:4:5: warning: no `call` leads to this `return`, so it only ever ends the call",
    ] {
        assert!(report.contains(line), "{line}\n---\n{report}");
    }
    // `round` calls `ping`, which can come back (press 2): only the
    // recursion is wrong there.
    assert!(report.ends_with("3 errors, 1 warning\n"), "{report}");
}

#[test]
fn calls_nested_nine_deep_are_an_error_at_the_outermost_call() {
    let (code, report) = check_report("tests/fixtures/flows/sub_deep");
    assert_eq!(code, Some(1), "{report}");
    assert!(
        report.starts_with(
            "tests/fixtures/flows/sub_deep/deep.yaml:4:5: error: calls nest 9 deep from here, and at most 8 sub-flows may be in progress at once: `deep:start` → `deep:l1` →"
        ),
        "{report}"
    );
    assert!(report.ends_with("1 error, 0 warnings\n"), "{report}");
    // Eight deep is allowed: the same chain started one step further in.
    let eight = std::fs::read_to_string(repo_path("tests/fixtures/flows/sub_deep/deep.yaml"))
        .unwrap()
        .replace(
            "    call: { flow: deep, step: l1 }",
            "    call: { flow: deep, step: l2 }",
        );
    let folder = Folder::new("eight-deep");
    folder.write("deep.yaml", &eight);
    let loaded = callflow::flow::load(&folder.path).unwrap_or_else(|r| panic!("{r}"));
    assert!(
        loaded
            .warnings
            .diagnostics
            .iter()
            .all(|d| !d.message.contains("nest"))
    );
}

#[test]
fn the_sub_flow_fixtures_load_without_warnings() {
    let loaded = callflow::flow::load(&repo_path("tests/fixtures/flows/sub_flows"))
        .unwrap_or_else(|r| panic!("{r}"));
    assert!(loaded.warnings.is_empty(), "{}", loaded.warnings);
}

#[test]
fn return_takes_nothing_or_a_map_of_values() {
    let load = |step: &str| {
        load_sources(vec![Source {
            name: "main".into(),
            file: "flows/main.yaml".into(),
            text: format!("steps:\n  a:\n    say: Hi.\n    next: b\n  b:\n    {step}\n"),
        }])
    };
    for fine in ["return:", "return: true", "return: {}"] {
        if let Err(report) = load(fine) {
            panic!("{fine}: {report}");
        }
    }
    let report = load("return: 5").unwrap_err().to_string();
    assert!(
        report.starts_with(
            "flows/main.yaml:6:5: error: `return` takes nothing (`return:`) or the values it gives back"
        ),
        "{report}"
    );
}

/// One flow file, loaded on its own: the report's text, errors or not.
fn report_of(text: &str) -> String {
    let source = Source {
        name: "main".into(),
        file: "flows/main.yaml".into(),
        text: text.into(),
    };
    match load_sources(vec![source]) {
        Ok(loaded) => loaded.warnings.to_string(),
        Err(report) => report.to_string(),
    }
}

#[test]
fn a_menus_routes_for_silence_and_wrong_keys_are_checked_like_other_targets() {
    let report = report_of(
        "steps:\n  choose:\n    menu:\n      say: Press 1.\n      options: { 1: operator }\n      on: { no_input: hangup, no_match: operater }\n  operator:\n    say: Hold on.\n",
    );
    assert!(
        report.contains(
            "flows/main.yaml:6:41: error: there is no step named `operater` in this flow\n  help: did you mean `operator`?"
        ),
        "{report}"
    );
    let report = report_of(
        "steps:\n  choose:\n    menu:\n      say: Press 1.\n      options: { 1: choose }\n      on: { no_answer: choose }\n",
    );
    assert!(report.contains("flows/main.yaml:6:"), "{report}");
    assert!(report.contains("`no_input`"), "{report}");
    // Written beside the menu, as a dial's `on` is, it is shown where it goes.
    let report = report_of(
        "steps:\n  choose:\n    menu:\n      say: Press 1.\n      options: { 1: choose }\n    on: { no_input: choose }\n",
    );
    assert!(
        report.contains("help: a menu's `on` goes inside the menu, beside `otherwise`"),
        "{report}"
    );
}

#[test]
fn a_gather_prompted_by_the_say_just_before_it_is_not_silent() {
    let prompted = report_of(
        "steps:\n  ask:\n    say: Enter your PIN.\n    next: pin\n  pin:\n    gather: { save_as: pin }\n",
    );
    assert!(!prompted.contains("hears nothing"), "{prompted}");
    let silent = report_of("steps:\n  pin:\n    gather: { save_as: pin }\n");
    assert!(
        silent.contains("flows/main.yaml:3:5: warning: the caller hears nothing while this waits"),
        "{silent}"
    );
}

/// The report of loading one flow written here, as `flows/main.yaml`:
/// `Err` with the errors, or `Ok` with the warnings.
fn load_text(text: &str) -> Result<String, String> {
    let source = Source {
        name: "main".into(),
        file: "flows/main.yaml".into(),
        text: text.into(),
    };
    match load_sources(vec![source]) {
        Ok(loaded) => Ok(loaded.warnings.to_string()),
        Err(report) => Err(report.to_string()),
    }
}

/// Asserts that the flow `text` does not load, and that its report has
/// `line` (such as `flows/main.yaml:5:7: error: ...`).
fn assert_refused_with(text: &str, line: &str) {
    match load_text(text) {
        Ok(warnings) => panic!("the flow should not load:\n{text}\n{warnings}"),
        Err(report) => assert!(report.contains(line), "{report}"),
    }
}

#[test]
fn a_prompt_list_beside_say_or_play_is_an_error_naming_both_keys() {
    assert_refused_with(
        "steps:\n  ask:\n    gather:\n      say: Hello.\n      prompt:\n        - say: Welcome back.\n",
        "flows/main.yaml:5:7: error: `prompt` and `say` cannot both be given",
    );
    assert_refused_with(
        "steps:\n  leave:\n    record:\n      say: Hi.\n      play: https://example.com/a.mp3\n      prompt: [pause: 1]\n",
        "flows/main.yaml:6:7: error: `prompt`, `say` and `play` cannot all be given",
    );
}

#[test]
fn a_prompt_item_is_exactly_one_say_play_or_pause() {
    let flow = "steps:\n  ask:\n    menu:\n      prompt:\n        - say: Hello.\n          pause: 1\n        - {}\n      options: { 1: hangup }\n";
    assert_refused_with(
        flow,
        "flows/main.yaml:5:11: error: a prompt item is one `say`, `play` or `pause`",
    );
    assert_refused_with(
        flow,
        "flows/main.yaml:7:11: error: this prompt item is empty",
    );
    // An item is checked as the step of its name is: a play needs a URL.
    assert_refused_with(
        "steps:\n  ask:\n    gather:\n      prompt:\n        - play: { loop: 2 }\n",
        "flows/main.yaml:5:11: error: `play` needs a `url`",
    );
}

#[test]
fn the_caller_hears_nothing_warning_counts_prompt_lists() {
    let warnings =
        load_text("steps:\n  ask:\n    gather:\n      prompt:\n        - say: Your PIN?\n")
            .unwrap();
    assert!(!warnings.contains("hears nothing"), "{warnings}");
    // Silence alone is nothing to hear.
    let warnings =
        load_text("steps:\n  ask:\n    gather:\n      prompt:\n        - pause: 2\n").unwrap();
    assert!(
        warnings
            .contains("flows/main.yaml:3:5: warning: the caller hears nothing while this waits"),
        "{warnings}"
    );
}

#[test]
fn hangup_false_is_an_error_not_a_step_that_does_nothing() {
    assert_refused_with(
        "steps:\n  bye:\n    hangup: false\n",
        "flows/main.yaml:3:5: error: `hangup` cannot be `false`",
    );
}

/// Twilio refuses `digits` on a `<Play>` inside `<Gather>`: the flow says
/// so when it loads, in either form of a gather's prompt, not mid-call.
#[test]
fn digits_in_a_gathers_prompt_are_an_error() {
    assert_refused_with(
        "steps:\n  ask:\n    gather:\n      prompt:\n        - play: { digits: \"1234\" }\n",
        "flows/main.yaml:5:19: error: Twilio presses no `digits`",
    );
    assert_refused_with(
        "steps:\n  ask:\n    menu:\n      play: { digits: \"1\" }\n      options: { 1: hangup }\n",
        "flows/main.yaml:4:15: error: Twilio presses no `digits`",
    );
    // Before a record, keys may be pressed.
    load_text("steps:\n  leave:\n    record:\n      prompt:\n        - play: { digits: \"1\" }\n")
        .unwrap();
}
