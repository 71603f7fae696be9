//! The settings tree as a user meets it: `callflow serve --help`, `callflow config`, `.env`, and
//! the messages for bad values; plus the promises the tree makes to the rest of the program.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output};

use callflow::config::{SettingProblem, Settings, VARIABLES};

const AUTH_TOKEN: &str = "authtoken-Zx81-never-shown";
const API_SECRET: &str = "apisecret-Qm42-never-shown";
const BEARER: &str = "bearer-Kp93-never-shown-long-enough";
const BASIC: &str = "ops:basic-Wt07-never-shown";
const ADMIN: &str = "admin-Rv56-never-shown-either";
/// Every secret setting, with a value that must never be shown.
const SECRETS: [(&str, &str); 5] = [
    ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
    ("TWILIO_API_SECRET", API_SECRET),
    ("TOKEN_AUTH_BEARER", BEARER),
    ("TOKEN_AUTH_BASIC", BASIC),
    ("ADMIN_KEY", ADMIN),
];

/// An empty folder of its own, so no `.env` but the test's own is read.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("callflow-settings-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `callflow ARGS` in `dir` with only `vars` (and PATH) in its environment.
fn callflow(dir: &PathBuf, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_callflow"));
    command.args(args).current_dir(dir).env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command.envs(vars.iter().copied());
    command.output().expect("callflow runs")
}

/// The first word after `variable` on its line of `callflow config`.
fn value_of<'a>(config: &'a str, variable: &str) -> Option<&'a str> {
    config.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next() == Some(variable))
            .then(|| words.next())
            .flatten()
    })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The variable each argument of the tree reads.
fn variables_of_the_tree() -> Vec<String> {
    Settings::command()
        .get_arguments()
        .filter_map(|arg| arg.get_env())
        .map(|name| name.to_string_lossy().into_owned())
        .collect()
}

#[test]
fn the_tree_is_consistent_and_reads_exactly_the_listed_variables() {
    Settings::command().debug_assert();
    assert_eq!(variables_of_the_tree(), VARIABLES);
    let unique: BTreeSet<&&str> = VARIABLES.iter().collect();
    assert_eq!(unique.len(), VARIABLES.len(), "a variable is listed twice");
}

#[test]
fn every_flag_is_its_variable_in_lower_case_and_has_a_one_line_help() {
    for arg in Settings::command().get_arguments() {
        let variable = arg.get_env().expect("every setting has a variable");
        let variable = variable.to_string_lossy();
        let expected = variable.to_ascii_lowercase().replace('_', "-");
        assert_eq!(arg.get_long(), Some(expected.as_str()), "{variable}");
        let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        assert!(
            !help.is_empty() && !help.contains('\n'),
            "{variable}: {help:?}"
        );
    }
}

#[test]
fn serve_help_lists_every_variable_and_no_secret() {
    let dir = scratch("help");
    let output = callflow(&dir, &["serve", "--help"], &SECRETS);
    assert!(output.status.success(), "{output:?}");
    let help = text(&output.stdout);
    for variable in VARIABLES {
        assert!(
            help.contains(&format!("[env: {variable}")),
            "{variable}:\n{help}"
        );
    }
    for default in [
        "[default: 3000]",
        "[default: ./flows]",
        "[default: 3600]",
        "[default: on]",
        "[default: 30]",
    ] {
        assert!(help.contains(default), "{default}:\n{help}");
    }
    for secret in [AUTH_TOKEN, API_SECRET, BEARER, BASIC, ADMIN] {
        assert!(!help.contains(secret), "{secret} in --help:\n{help}");
    }
}

#[test]
fn config_lists_every_variable_with_secrets_hidden() {
    let dir = scratch("config");
    let output = callflow(
        &dir,
        &["config", "--default-flow", "support"],
        &[
            &SECRETS[..],
            &[("PORT", "8081"), ("PUBLIC_URL", "https://ivr.example.com/")],
        ]
        .concat(),
    );
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    let line = |variable: &str| {
        stdout
            .lines()
            .find(|line| line.split_whitespace().next() == Some(variable))
            .unwrap_or_else(|| panic!("no line for {variable}:\n{stdout}"))
            .to_owned()
    };
    for variable in VARIABLES {
        line(variable);
    }
    assert!(line("PORT").contains("8081"), "{stdout}");
    assert!(line("PORT").contains("environment"), "{stdout}");
    assert!(line("HOST").contains("0.0.0.0 ") && line("HOST").contains("default"));
    assert!(
        line("DEFAULT_FLOW").contains("support") && line("DEFAULT_FLOW").contains("command line")
    );
    assert!(line("TWILIO_CALLER_ID").contains("(unset)"), "{stdout}");
    for (variable, _) in SECRETS {
        assert!(line(variable).contains("(set, hidden)"), "{stdout}");
    }
    for secret in [AUTH_TOKEN, API_SECRET, BEARER, BASIC, ADMIN, "basic-Wt07"] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret}"
        );
    }
}

#[test]
fn a_bad_value_stops_with_every_problem_named_and_no_secret() {
    let dir = scratch("bad");
    let output = callflow(
        &dir,
        &["config"],
        &[
            ("TWILIO_ALLOW_UNSIGNED", "maybe"),
            ("TOKEN_RATE_LIMIT", "0"),
            ("TOKEN_AUTH_BEARER", "short-Hq5"),
            ("TWILIO_API_KEY", API_SECRET),
            ("ADMIN_KEY", "short-Jk2"),
        ],
    );
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "{}", text(&output.stdout));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("TWILIO_ALLOW_UNSIGNED=\"maybe\" is not understood; use true or false"),
        "{stderr}"
    );
    assert!(stderr.contains("TOKEN_RATE_LIMIT=\"0\""), "{stderr}");
    assert!(
        stderr.contains("TOKEN_AUTH_BEARER is too short"),
        "{stderr}"
    );
    assert!(
        stderr.contains("TWILIO_API_KEY does not look right"),
        "{stderr}"
    );
    assert!(stderr.contains("ADMIN_KEY is too short"), "{stderr}");
    assert!(
        !stderr.contains("short-Hq5") && !stderr.contains(API_SECRET),
        "{stderr}"
    );
    assert!(!stderr.contains("short-Jk2"), "{stderr}");

    let serve = callflow(&dir, &[], &[("PORT", "eighty")]);
    assert!(!serve.status.success());
    assert!(
        text(&serve.stderr).contains("PORT=\"eighty\" must be a whole number from 0 to 65535"),
        "{}",
        text(&serve.stderr)
    );
}

#[test]
fn dot_env_is_read_and_blank_variables_count_as_unset() {
    let dir = scratch("dotenv");
    std::fs::write(
        dir.join(".env"),
        format!("PORT=4321\nTWILIO_AUTH_TOKEN={AUTH_TOKEN}\nSIMULATOR=off\n"),
    )
    .unwrap();
    let output = callflow(
        &dir,
        &["config"],
        &[
            ("PUBLIC_URL", ""),
            ("FLOW_VERSIONS_KEPT", "  "),
            ("SIMULATOR", "on"),
        ],
    );
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    assert_eq!(value_of(&stdout, "PORT"), Some("4321"), "{stdout}");
    assert_eq!(
        value_of(&stdout, "TWILIO_AUTH_TOKEN"),
        Some("(set,"),
        "{stdout}"
    );
    // The environment wins over .env: dotenvy never overrides a variable already set.
    assert_eq!(value_of(&stdout, "SIMULATOR"), Some("on"), "{stdout}");
    assert_eq!(value_of(&stdout, "PUBLIC_URL"), Some("(unset)"), "{stdout}");
    assert_eq!(
        value_of(&stdout, "FLOW_VERSIONS_KEPT"),
        Some("8"),
        "{stdout}"
    );
    assert!(!stdout.contains(AUTH_TOKEN));
}

#[test]
fn from_vars_runs_the_same_parsers_and_refuses_unknown_names() {
    let settings = Settings::from_vars(&[
        ("PUBLIC_URL", " https://ivr.example.com/base// "),
        ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
        ("TOKEN_TRUST_FORWARDED_FOR", "ON"),
        ("TRUST_FORWARDED_HEADERS", "0"),
        ("TWILIO_CALLER_ID", "+15550001111"),
    ])
    .unwrap();
    // One PUBLIC_URL rule for the signature check and the callback URLs.
    assert_eq!(settings.engine().public_url, "https://ivr.example.com/base");
    assert_eq!(
        settings.webhook_auth().public_url.unwrap().as_str(),
        "https://ivr.example.com/base"
    );
    assert!(settings.token_settings().trust_forwarded_for());
    assert!(!settings.webhook_auth().trust_forwarded);
    assert_eq!(settings.engine().caller_id.as_deref(), Some("+15550001111"));
    let debug = format!("{settings:?}");
    assert!(!debug.contains(AUTH_TOKEN), "{debug}");

    let error = Settings::from_vars(&[("TWILIO_AUTH_TOKNE", AUTH_TOKEN)]).unwrap_err();
    assert_eq!(
        error.problems,
        [SettingProblem::Unknown {
            name: "TWILIO_AUTH_TOKNE".into()
        }]
    );
    let error =
        Settings::from_vars(&[("PUBLIC_URL", "ivr.example.com"), ("PORT", "-1")]).unwrap_err();
    assert_eq!(error.problems.len(), 2, "{error}");
    assert!(error.to_string().starts_with("PORT=\"-1\""), "{error}");
}

#[test]
fn a_secret_never_reaches_debug_output() {
    let sids = [
        ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef"),
        ("TWILIO_API_KEY", "SKfedcba9876543210fedcba9876543210"),
        ("TWILIO_TWIML_APP_SID", "AP00112233445566778899aabbccddeeff"),
    ];
    let settings = Settings::from_vars(&[&sids[..], &SECRETS[..]].concat()).unwrap();
    assert!(settings.token_settings().twilio().is_some());
    let shown = format!(
        "{settings:?} {:?} {:?} {:?}",
        settings.token_settings(),
        settings.webhook_auth(),
        settings.admin()
    );
    for secret in [AUTH_TOKEN, API_SECRET, BEARER, BASIC, ADMIN, "basic-Wt07"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains("[redacted]"), "{shown}");
}

#[test]
fn nothing_but_the_settings_tree_reads_the_environment() {
    fn rust_files(dir: &std::path::Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                found.push(path);
            }
        }
    }
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 10, "{files:?}");
    let readers: Vec<String> = files
        .iter()
        .filter(|path| {
            let code = std::fs::read_to_string(path).unwrap();
            code.contains("env::var") || code.contains("from_default_env")
        })
        .map(|path| path.strip_prefix(&src).unwrap().display().to_string())
        .collect();
    // A variable read anywhere else would be missing from --help and `callflow config`.
    assert_eq!(readers, ["config/parse.rs"]);
}
