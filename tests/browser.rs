//! The browser test page, tested in a real browser: headless Chromium driven
//! by `playwright-core` (tests/browser/page.test.mjs, and the flow diagram in
//! tests/browser/diagram.test.mjs) against callflow servers started here on
//! loopback ports.
//!
//! Needs Node, Chromium (Debian's `chromium`, or the path in `CHROMIUM`) and
//! `npm ci` (for `playwright-core` and the Twilio SDK). Where one is missing
//! the tests say why and pass, except with `CI=true`, where they fail.
//! Screenshots land in `tests/artifacts/`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use callflow::config::Settings;
use callflow::engine::EngineSettings;
use callflow::http::admin::{AdminGate, AdminKey};
use callflow::http::page::PageSettings;
use callflow::http::simulate::SimulatorMode;
use callflow::http::{self, AppState, Clock};
use callflow::token::{TokenService, vars};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use common::repo_path;

/// What the browser tests run with.
struct Tools {
    node: PathBuf,
    chromium: PathBuf,
}

/// Finds Node and Chromium and checks `npm ci` ran; `None` (after saying
/// why) when the tests cannot run here.
fn tools(node_only: bool) -> Option<Tools> {
    match find_tools(node_only) {
        Ok(tools) => Some(tools),
        Err(why) if ci() => panic!(
            "{why}\nCI must run the browser tests: install them with `apt-get install -y chromium nodejs npm` and `npm ci`"
        ),
        Err(why) => {
            eprintln!("skipping the browser tests: {why} (with CI=true this fails)");
            None
        }
    }
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

fn find_tools(node_only: bool) -> Result<Tools, String> {
    let node = on_path("node").ok_or("node is not installed")?;
    let chromium = match std::env::var_os("CHROMIUM") {
        Some(path) => PathBuf::from(path),
        None => on_path("chromium")
            .or_else(|| on_path("chromium-browser"))
            .unwrap_or_default(),
    };
    if node_only {
        return Ok(Tools { node, chromium });
    }
    if !chromium.is_file() {
        return Err(
            "Chromium is not installed (apt-get install -y chromium, or set CHROMIUM to its path)"
                .into(),
        );
    }
    for (file, package) in [
        (
            "node_modules/playwright-core/package.json",
            "playwright-core",
        ),
        (
            "node_modules/@twilio/voice-sdk/dist/twilio.min.js",
            "@twilio/voice-sdk",
        ),
        (
            "node_modules/@dagrejs/dagre/dist/dagre.esm.js",
            "@dagrejs/dagre",
        ),
    ] {
        if !repo_path(file).is_file() {
            return Err(format!("{package} is not installed (run `npm ci`)"));
        }
    }
    Ok(Tools { node, chromium })
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}

/// A server on a loopback port; dropping the sender stops it.
struct Server {
    url: String,
    _stop: oneshot::Sender<()>,
}

async fn serve(state: AppState) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(http::run(
        listener,
        http::router(state),
        http::Limits::default(),
        async {
            let _ = stopped.await;
        },
    ));
    Server { url, _stop: stop }
}

/// The admin key the servers here hold; the page is opened with it, as a
/// newcomer opens the link the log prints.
const ADMIN_KEY: &str = "browser-test-admin-key-7788";
/// The auth token the diagram's server checks webhook signatures with, as
/// Twilio's real calls are signed.
const AUTH_TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// The repository's flows, with credentials shaped like Twilio's so a token
/// is issued, though no Twilio account has them.
fn app(page: PageSettings) -> AppState {
    let flows = callflow::flow::load(&repo_path("flows"))
        .unwrap_or_else(|report| panic!("flows/ should load:\n{report}"))
        .flows;
    let fake = Settings::from_vars(&[
        (vars::ACCOUNT_SID, "AC0123456789abcdef0123456789abcdef"),
        (vars::API_KEY, "SKfedcba9876543210fedcba9876543210"),
        (vars::API_SECRET, "not_a_real_secret_4f9a2c"),
        (vars::TWIML_APP_SID, "AP00112233445566778899aabbccddeeff"),
    ])
    .expect("valid");
    let tokens = TokenService::new(fake.token_settings());
    let engine = EngineSettings {
        caller_id: Some("+15550001111".into()),
        ..EngineSettings::default()
    };
    AppState::new(flows, engine)
        .with_tokens(tokens)
        .with_page(page)
        .with_admin(AdminGate::with_key(AdminKey::parse(ADMIN_KEY).unwrap()))
}

fn run_node(tools: &Tools, args: &[&str], env: &[(&str, String)]) -> Output {
    let mut command = Command::new(&tools.node);
    command.args(args).current_dir(repo_path(""));
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("node runs")
}

/// Runs one file of browser tests with Node's test runner, off the
/// servers' threads.
async fn run_test_file(
    tools: Tools,
    file: &'static str,
    env: Vec<(&'static str, String)>,
) -> Output {
    tokio::task::spawn_blocking(move || {
        run_node(&tools, &["--test", "--test-reporter=spec", file], &env)
    })
    .await
    .unwrap()
}

fn assert_passed(what: &str, output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Shown with --nocapture, and on failure.
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_works_in_headless_chromium() {
    let Some(tools) = tools(false) else {
        return;
    };
    let public = repo_path("public");
    let main = serve(app(PageSettings::new(&public))).await;
    let no_sdk = {
        let mut page = PageSettings::new(&public);
        page.sdk_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/no-such-sdk.js");
        serve(app(page)).await
    };
    let simulator_off = serve(app(
        PageSettings::new(&public).with_simulator(SimulatorMode::Off)
    ))
    .await;

    let artifacts = repo_path("tests/artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    for screenshot in ["real-call.png", "simulated-call.png"] {
        // A stale picture from an earlier run must not pass for a new one.
        let _ = std::fs::remove_file(artifacts.join(screenshot));
    }
    let env = vec![
        ("CALLFLOW_URL", main.url.clone()),
        ("CALLFLOW_NO_SDK_URL", no_sdk.url.clone()),
        ("CALLFLOW_SIM_OFF_URL", simulator_off.url.clone()),
        ("CALLFLOW_ADMIN_KEY", ADMIN_KEY.to_owned()),
        ("CHROMIUM", tools.chromium.display().to_string()),
        ("ARTIFACTS_DIR", artifacts.display().to_string()),
    ];
    let output = run_test_file(tools, "tests/browser/page.test.mjs", env).await;
    assert_passed("the browser tests", &output);
    for screenshot in ["real-call.png", "simulated-call.png"] {
        assert!(
            artifacts.join(screenshot).is_file(),
            "{screenshot} was saved"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_diagram_works_in_headless_chromium() {
    let Some(tools) = tools(false) else {
        return;
    };
    let public = repo_path("public");
    let signed = Settings::from_vars(&[("TWILIO_AUTH_TOKEN", AUTH_TOKEN)])
        .expect("valid")
        .webhook_auth();
    // A Tuesday morning in New York, when flows/main.yaml's office is open.
    let open = Clock::Fixed("2026-11-24T10:30:00-05:00".parse().unwrap());
    let main = serve(
        app(PageSettings::new(&public))
            .with_webhook_auth(signed)
            .with_clock(open),
    )
    .await;
    let no_diagram = {
        let mut page = PageSettings::new(&public);
        page.diagram_file = repo_path("tests/fixtures/no-such-diagram-library.js");
        serve(app(page)).await
    };

    let artifacts = repo_path("tests/artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let screenshots = [
        "diagram-before.png",
        "diagram-after.png",
        "diagram-heat.png",
    ];
    for screenshot in screenshots {
        let _ = std::fs::remove_file(artifacts.join(screenshot));
    }
    let env = vec![
        ("CALLFLOW_URL", main.url.clone()),
        ("CALLFLOW_NO_DIAGRAM_URL", no_diagram.url.clone()),
        ("CALLFLOW_AUTH_TOKEN", AUTH_TOKEN.to_owned()),
        ("CALLFLOW_ADMIN_KEY", ADMIN_KEY.to_owned()),
        ("CHROMIUM", tools.chromium.display().to_string()),
        ("ARTIFACTS_DIR", artifacts.display().to_string()),
    ];
    let output = run_test_file(tools, "tests/browser/diagram.test.mjs", env).await;
    assert_passed("the diagram's browser tests", &output);
    for screenshot in screenshots {
        assert!(
            artifacts.join(screenshot).is_file(),
            "{screenshot} was saved"
        );
    }
}

#[test]
fn the_error_explanations_read_right() {
    let Some(tools) = tools(true) else {
        return;
    };
    let output = run_node(
        &tools,
        &[
            "--test",
            "--test-reporter=spec",
            "tests/browser/errors.test.mjs",
        ],
        &[],
    );
    assert_passed("the error explanation tests", &output);
}
