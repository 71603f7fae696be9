//! What `callflow check` (and every load) says about `request` steps and
//! secrets: each mistake with its file and line, before any call is made.

mod common;

use callflow::flow::load::{Source, load_sources};
use callflow::flow::{Report, SecretSource};

fn report(text: &str) -> String {
    match load_sources(vec![Source {
        name: "shop".into(),
        file: "flows/shop.yaml".into(),
        text: text.into(),
    }]) {
        Ok(loaded) => loaded.warnings.to_string(),
        Err(report) => report.to_string(),
    }
}

/// The report has `message` at `line` of the file.
fn says(report: &str, line: usize, message: &str) -> bool {
    report
        .lines()
        .any(|l| l.starts_with(&format!("flows/shop.yaml:{line}:")) && l.contains(message))
}

#[test]
fn a_templated_host_is_refused() {
    let report =
        report("steps:\n  lookup:\n    request:\n      url: \"https://{{ vars.host }}/orders\"\n");
    assert!(
        says(&report, 4, "must be written out, not templated"),
        "{report}"
    );
}

#[test]
fn only_http_and_https_are_allowed() {
    let report = report("steps:\n  lookup:\n    request: { url: \"ftp://shop.example.com/x\" }\n");
    assert!(says(&report, 3, "http or https, not `ftp`"), "{report}");
}

#[test]
fn a_secret_is_refused_anywhere_but_a_request() {
    let report = report(
        "secrets: [SHOP_TOKEN]\nsteps:\n  hello:\n    say: \"Your token is {{ secrets.SHOP_TOKEN }}\"\n    next: save\n  save:\n    set: { token: \"{{ secrets.SHOP_TOKEN }}\" }\n",
    );
    assert!(
        says(&report, 4, "secrets can only be read in a `request`"),
        "{report}"
    );
    assert!(
        says(&report, 7, "secrets can only be read in a `request`"),
        "{report}"
    );
}

#[test]
fn an_undeclared_secret_is_refused_with_a_suggestion() {
    let report = report(
        "secrets: [SHOP_TOKEN]\nsteps:\n  lookup:\n    request:\n      url: https://shop.example.com/orders\n      headers: { Authorization: \"Bearer {{ secrets.SHOP_TOKN }}\" }\n",
    );
    assert!(
        says(&report, 6, "`secrets.SHOP_TOKN` is not declared"),
        "{report}"
    );
    assert!(report.contains("did you mean `SHOP_TOKEN`?"), "{report}");
}

#[test]
fn callflows_own_settings_cannot_be_secrets() {
    let report = report("secrets: [TWILIO_AUTH_TOKEN]\nsteps:\n  a:\n    say: Hi\n");
    assert!(
        says(&report, 1, "one of callflow's own settings"),
        "{report}"
    );
}

#[test]
fn a_declared_secret_missing_from_the_environment_is_named() {
    let loaded = load_sources(vec![Source {
        name: "shop".into(),
        file: "flows/shop.yaml".into(),
        text: "secrets: [SHOP_TOKEN_FOR_A_TEST_NOBODY_SETS]\nsteps:\n  a:\n    say: Hi\n".into(),
    }])
    .unwrap_or_else(|r| panic!("{r}"));
    let report: Report = loaded
        .flows
        .with_secrets(&SecretSource::Environment)
        .expect_err("the variable is not set");
    let report = report.to_string();
    assert!(
        says(
            &report,
            1,
            "the environment has no `SHOP_TOKEN_FOR_A_TEST_NOBODY_SETS`"
        ),
        "{report}"
    );
}

#[test]
fn saves_that_clash_are_reported() {
    let report = report(
        "steps:\n  ask:\n    gather: { say: Order?, save_as: order }\n    next: lookup\n  lookup:\n    request:\n      url: https://shop.example.com/orders\n      save: { http_status: code }\n",
    );
    assert!(
        says(&report, 8, "`http_status` is callflow's own variable"),
        "{report}"
    );
    // Checks across steps run once every step compiles.
    let report = self::report(
        "steps:\n  ask:\n    gather: { say: Order?, save_as: order }\n    next: lookup\n  lookup:\n    request:\n      url: https://shop.example.com/orders\n      save: { order: id }\n",
    );
    assert!(
        says(&report, 8, "saves `order`, which step `ask` fills"),
        "{report}"
    );
}

#[test]
fn unknown_keys_and_wrong_outcomes_are_reported() {
    let report = report(
        "steps:\n  lookup:\n    request:\n      url: https://shop.example.com/orders\n      tiemout: 4\n    on: { busy: lookup }\n",
    );
    assert!(says(&report, 5, "tiemout"), "{report}");
    assert!(report.contains("did you mean `timeout`?"), "{report}");
    let report = self::report(
        "steps:\n  lookup:\n    request:\n      url: https://shop.example.com/orders\n    on: { busy: lookup }\n",
    );
    assert!(
        says(&report, 5, "`busy` is how a dial ends, not a request"),
        "{report}"
    );
}

#[test]
fn limits_are_checked() {
    let report = report(
        "steps:\n  lookup:\n    request:\n      url: https://shop.example.com/orders\n      timeout: 30\n      method: FETCH\n      json: { a: 1 }\n",
    );
    assert!(says(&report, 5, "at most 10 seconds"), "{report}");
    assert!(says(&report, 6, "`FETCH` is not a method"), "{report}");
    let report = self::report(
        "steps:\n  lookup:\n    request:\n      url: https://shop.example.com/orders\n      json: { a: 1 }\n",
    );
    assert!(says(&report, 5, "a GET request has no body"), "{report}");
}

#[test]
fn a_background_request_has_nothing_to_save_or_route() {
    let report = report(
        "steps:\n  post:\n    request:\n      url: https://hooks.example.com/x\n      method: POST\n      wait: false\n      save: { a: b }\n    on: { error: post }\n",
    );
    assert!(says(&report, 7, "no answer to save from"), "{report}");
    assert!(says(&report, 8, "no outcome to route"), "{report}");
}

/// The server reads declared secrets when it loads the flows: one the
/// environment lacks stops start-up, naming the variable and its line.
#[test]
fn start_up_stops_on_a_missing_secret() {
    let folder = common::Folder::new("missing-secret");
    folder.write(
        "main.yaml",
        "secrets: [CALLFLOW_TEST_SECRET_NOBODY_SETS]\nsteps:\n  a:\n    say: Hi\n",
    );
    let refused = callflow::reload::FlowStore::open(
        &folder.path,
        &callflow::engine::EngineSettings::default(),
    );
    let Err(report) = refused else {
        panic!("the flows were served without their secret");
    };
    let report = report.to_string();
    assert!(
        report.contains("main.yaml:1:")
            && report.contains("the environment has no `CALLFLOW_TEST_SECRET_NOBODY_SETS`"),
        "{report}"
    );
}
