//! Shared helpers: load a folder of flows and play calls against the router.
#![allow(dead_code)]

pub mod process;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use callflow::engine::{CallState, EngineSettings, StateKey};
use callflow::http::{self, AppState, Clock};
use callflow::simulator::{CallSetup, CallerAction, SimulatedCall};

/// A flows folder of its own for one test, removed when the test ends.
pub struct Folder {
    pub path: PathBuf,
}

impl Folder {
    pub fn new(test: &str) -> Folder {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "callflow-test-{}-{}-{test}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Folder { path }
    }

    pub fn join(&self, relative: &str) -> PathBuf {
        self.path.join(relative)
    }

    /// Writes `relative` in place, as `echo > file` does.
    pub fn write(&self, relative: &str, text: &str) {
        std::fs::write(self.join(relative), text).unwrap();
    }

    pub fn remove(&self, relative: &str) {
        std::fs::remove_file(self.join(relative)).unwrap();
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The names of the flows `dir` loads, sorted.
pub fn flow_names(dir: &std::path::Path) -> Vec<String> {
    let loaded = callflow::flow::load(dir).unwrap_or_else(|r| panic!("{r}"));
    let mut names: Vec<String> = loaded
        .flows
        .flows()
        .iter()
        .map(|f| f.name.clone())
        .collect();
    names.sort();
    names
}

pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The `STATE_KEY` of tests that build callback URLs themselves or compare them whole.
pub const STATE_KEY: &str = "a test line's state key, 32 characters or more";

/// Engine settings whose seals tests can reproduce.
pub fn sealing_engine() -> EngineSettings {
    EngineSettings {
        state_key: StateKey::from_secret(STATE_KEY).unwrap(),
        ..EngineSettings::default()
    }
}

/// A callback URL for `step` of `flow`, sealed with [`STATE_KEY`], as the server itself would
/// write it after waiting there.
pub fn sealed_url(flow: &str, step: &str, version: Option<&str>) -> String {
    let state = CallState {
        flow: flow.into(),
        step: step.into(),
        version: version.map(str::to_owned),
        ..CallState::default()
    };
    state.url("", &StateKey::from_secret(STATE_KEY).unwrap())
}

/// A webhook as Twilio (or anyone who can reach `/voice`) posts it.
pub fn webhook(
    url: &str,
    form: impl Into<axum::body::Body>,
) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.into())
        .unwrap()
}

/// The flows in `dir` at the instant `at`, as the server's state.
pub fn state_at(dir: &str, at: &str) -> AppState {
    let flows = callflow::flow::load(&repo_path(dir))
        .unwrap_or_else(|report| panic!("{dir} should load:\n{report}"))
        .flows;
    let settings = EngineSettings {
        caller_id: Some("+15550001111".into()),
        ..sealing_engine()
    };
    AppState::new(flows, settings).with_clock(Clock::Fixed(at.parse().unwrap()))
}

/// The flows folder at the Tuesday morning [`OPEN`], behind `key` as the
/// admin key: what the operator's own tools read.
pub fn state_with_key(key: &str) -> AppState {
    let admin = http::admin::AdminGate::with_key(http::admin::AdminKey::parse(key).unwrap());
    state_at("flows", OPEN).with_admin(admin)
}

/// `GET path`, with `key` as the bearer token when given: the status and
/// the body's text.
pub async fn get_with_key(
    router: &axum::Router,
    path: &str,
    key: Option<&str>,
) -> (axum::http::StatusCode, String) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut request = axum::http::Request::get(path);
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let response = router
        .clone()
        .oneshot(request.body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// The router, as the simulator and flow tests use it.
pub fn router_at(dir: &str, at: &str) -> axum::Router {
    http::router(state_at(dir, at))
}

/// What the server runs: the same router, with every layer.
pub fn app_at(dir: &str, at: &str) -> axum::Router {
    router_at(dir, at)
}

/// Sends `request` to the server at `address` over a new connection, as
/// Twilio would, and returns the answer.
pub async fn send_over_socket(
    address: std::net::SocketAddr,
    request: axum::http::Request<axum::body::Body>,
) -> axum::response::Response {
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let response = sender.send_request(request).await.unwrap();
    response.map(axum::body::Body::new)
}

/// A Tuesday morning, when the default flow's office is open.
pub const OPEN: &str = "2026-11-24T10:30:00-05:00";
/// The same Tuesday at night.
pub const CLOSED: &str = "2026-11-24T22:00:00-05:00";

/// Asserts that each of `lines` is in `transcript`, and that they first
/// appear in the order given.
#[track_caller]
pub fn assert_in_order(transcript: &str, lines: &[&str]) {
    let order: Vec<usize> = lines
        .iter()
        .map(|line| {
            transcript
                .find(line)
                .unwrap_or_else(|| panic!("{line}\n{transcript}"))
        })
        .collect();
    assert!(order.is_sorted(), "{transcript}");
}

/// The value of `name` in the first element of `xml` that has it, as
/// written (entities not decoded).
#[track_caller]
pub fn attribute<'x>(xml: &'x str, name: &str) -> &'x str {
    let marker = format!(" {name}=\"");
    let start = xml
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {xml}"))
        + marker.len();
    &xml[start..start + xml[start..].find('"').unwrap()]
}

pub async fn call(
    dir: &str,
    at: &str,
    setup: CallSetup,
    script: Vec<CallerAction>,
) -> SimulatedCall {
    SimulatedCall::play_script(router_at(dir, at), setup, script)
        .await
        .expect("the simulated call runs")
}

/// A call to the default flow through `router`, played with `script`.
pub async fn play(router: &axum::Router, script: Vec<CallerAction>) -> SimulatedCall {
    SimulatedCall::play_script(router.clone(), CallSetup::default(), script)
        .await
        .expect("the simulated call runs")
}

pub fn press(keys: &str) -> CallerAction {
    CallerAction::Press(keys.into())
}

pub fn say(words: &str) -> CallerAction {
    CallerAction::Say(words.into())
}

pub fn outcome(status: &str) -> CallerAction {
    CallerAction::DialOutcome(status.into())
}

pub fn setup(from: &str, to: &str) -> CallSetup {
    CallSetup {
        from: from.into(),
        to: to.into(),
        ..CallSetup::default()
    }
}

/// Whether any line heard contains `needle`.
pub fn heard(call: &SimulatedCall, needle: &str) -> bool {
    call.heard().iter().any(|line| line.contains(needle))
}

/// `app` served on a loopback port until the returned sender sends (or is
/// dropped); the handle says how the server ended.
pub async fn serve(
    app: axum::Router,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    serve_with(app, http::Limits::default()).await
}

/// [`serve`] with other connection limits.
pub async fn serve_with(
    app: axum::Router,
    limits: http::Limits,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(http::run(listener, app, limits, async move {
        let _ = stopped.await;
    }));
    (address, stop, server)
}

/// Log output collected in memory, for tests that read what the server
/// logged.
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// Collects what this thread logs until the guard is dropped.
pub fn capture_log() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .fmt_fields(callflow::logging::fields())
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

/// Asserts that a refusal of `GET /voice/token` names every setting that
/// would open it, so the operator knows what to set.
pub fn assert_names_the_token_settings(error: &str) {
    for setting in [
        "ADMIN_KEY",
        "TOKEN_AUTH_BEARER",
        "TOKEN_AUTH_BASIC",
        "TOKEN_PUBLIC",
    ] {
        assert!(error.contains(setting), "{setting}: {error}");
    }
}

/// `text` loaded as the one flow `main` (file `main.yaml`): the flows, or
/// what loading reported.
pub fn main_flow(text: &str) -> Result<callflow::flow::FlowSet, String> {
    callflow::flow::load_sources(vec![callflow::flow::load::Source {
        name: "main".into(),
        file: "main.yaml".into(),
        text: text.into(),
    }])
    .map(|loaded| loaded.flows)
    .map_err(|report| report.to_string())
}
