//! The browser test page: `public/` as static files, and the Twilio Voice
//! SDK and the diagram's layout library from `node_modules/`.
//!
//! - `GET /` redirects to `/voice-client.html`.
//! - `GET /?key=…` (or `/voice-client.html?key=…`) signs the browser in with the admin key
//!   first (see [`admin`](super::admin)); the files themselves hold nothing secret and stay
//!   public, while the APIs they call need the key.
//! - `GET /vendor/twilio.min.js`: the SDK bundle of the npm package
//!   `@twilio/voice-sdk`, pinned in `package.json` and installed by `npm ci`.
//!   The project commits no third-party code, so the bundle comes from
//!   `node_modules/` at run time; when it is missing the answer is a 503 that
//!   says what to run.
//! - `GET /vendor/dagre.js`: the layout library the page draws flow
//!   diagrams with (`@dagrejs/dagre`, its self-contained ES module), served
//!   the same way: pinned in `package.json`, from `node_modules/`, a 503
//!   that says what to run when missing.
//! - `GET /vendor/status`: whether the SDK and the layout library are
//!   installed, so the page can say so (and keep simulation working)
//!   without a failed script load in the console.
//! - Anything else is looked up in the public folder.
//!
//! Both folders are found relative to the working directory by default.
//! `PUBLIC_DIR` moves the public folder; the SDK is then looked up in
//! `node_modules/` beside it (in the public folder's parent), which is the
//! repository's own layout.
//!
//! Its settings are the [`Page`] group of the settings tree, checked into [`PageSettings`].

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::from_fn_with_state;

use super::HttpError;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use clap::Args;
use serde::Serialize;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use super::admin::{AdminGate, AdminKey, admin_key, sign_in};
use super::simulate::SimulatorMode;
use crate::setting::{names, parse, setting};

/// The browser test page and its simulator: the group of the settings tree that
/// [`Page::settings`] checks.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Test page")]
pub struct Page {
    /// The folder of the page's files; the SDK is looked up in node_modules/ beside it.
    #[arg(long, env = names::PUBLIC_DIR, global = true, default_value = "public",
          value_parser = setting(parse::path))]
    pub public_dir: PathBuf,

    /// Whether the simulator answers (for whoever holds the admin key): on or off.
    #[arg(long, env = names::SIMULATOR, global = true, default_value = "on",
          value_parser = setting(SimulatorMode::parse))]
    pub simulator: SimulatorMode,

    /// The key to the test page's APIs, the simulator and /flows; unset, a new one is logged at start.
    #[arg(long, env = names::ADMIN_KEY, global = true, hide_env_values = true,
          value_parser = setting(admin_key))]
    pub admin_key: Option<AdminKey>,
}

impl Page {
    /// The page's settings as the variables describe them.
    pub fn settings(&self) -> PageSettings {
        PageSettings::new(&self.public_dir).with_simulator(self.simulator)
    }
}

/// The page itself.
pub const PAGE_PATH: &str = "/voice-client.html";
/// Where the page loads the SDK from.
pub const SDK_PATH: &str = "/vendor/twilio.min.js";
/// The SDK bundle inside `node_modules/`.
const SDK_IN_NODE_MODULES: &str = "node_modules/@twilio/voice-sdk/dist/twilio.min.js";
/// Where the page loads the diagram's layout library from.
pub const DIAGRAM_PATH: &str = "/vendor/dagre.js";
/// The layout library inside `node_modules/`: its ES module, which holds
/// the graph library it needs, so the browser loads one file.
const DIAGRAM_IN_NODE_MODULES: &str = "node_modules/@dagrejs/dagre/dist/dagre.esm.js";
/// What to do when it is missing.
const DIAGRAM_MISSING: &str = "The diagram library is not installed. Run `npm ci` in the callflow folder (it installs @dagrejs/dagre from package.json), then reload the page. Simulated calls work without it.";
/// What to do when the bundle is missing.
const SDK_MISSING: &str = "The Twilio Voice SDK is not installed. Run `npm ci` in the callflow folder (it installs @twilio/voice-sdk from package.json), then reload the page. Simulated calls work without it.";

/// Where the page's files are, and whether its simulator answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSettings {
    /// The folder served as static files (`PUBLIC_DIR`, default `public`).
    pub public_dir: PathBuf,
    /// The SDK bundle served at [`SDK_PATH`].
    pub sdk_file: PathBuf,
    /// The layout library served at [`DIAGRAM_PATH`].
    pub diagram_file: PathBuf,
    /// Who may use the simulation API (`SIMULATOR`).
    pub simulator: SimulatorMode,
}

impl Default for PageSettings {
    fn default() -> Self {
        PageSettings::new("public")
    }
}

impl PageSettings {
    /// Settings for a public folder, with the SDK in `node_modules/` beside it
    /// and the simulator at its default.
    pub fn new(public_dir: impl Into<PathBuf>) -> Self {
        let public_dir = public_dir.into();
        let sdk_file = beside(&public_dir, SDK_IN_NODE_MODULES);
        let diagram_file = beside(&public_dir, DIAGRAM_IN_NODE_MODULES);
        PageSettings {
            public_dir,
            sdk_file,
            diagram_file,
            simulator: SimulatorMode::default(),
        }
    }

    pub fn with_simulator(mut self, simulator: SimulatorMode) -> Self {
        self.simulator = simulator;
        self
    }

    /// Logged at start-up: where the page is and whether it is complete.
    pub fn startup_note(&self) -> String {
        let sdk = if self.sdk_file.is_file() {
            "the Twilio Voice SDK is installed"
        } else {
            "the Twilio Voice SDK is not installed (run `npm ci` for real calls)"
        };
        format!(
            "browser test page at {PAGE_PATH} from {}; {sdk}; simulator: {}",
            self.public_dir.display(),
            self.simulator.describe()
        )
    }
}

/// `node_modules/` lives in the public folder's parent.
fn beside(public_dir: &Path, in_node_modules: &str) -> PathBuf {
    let base = match public_dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    base.join(in_node_modules)
}

/// The files the page loads from `node_modules/`.
#[derive(Clone)]
struct Vendored {
    sdk: PathBuf,
    diagram: PathBuf,
}

/// The page's routes, with their own state, ready to `.merge()`. Carries a
/// fallback (the static files), so it must be the only merged router that
/// has one. The sign-in link is answered in front of them all.
pub fn router(settings: &PageSettings, admin: Arc<AdminGate>) -> Router {
    let files = ServeDir::new(&settings.public_dir).append_index_html_on_directories(false);
    Router::new()
        .route("/", get(|| async { Redirect::to(PAGE_PATH) }))
        .route(SDK_PATH, get(serve_sdk))
        .route(DIAGRAM_PATH, get(serve_diagram))
        .route("/vendor/status", get(sdk_status))
        .with_state(Vendored {
            sdk: settings.sdk_file.clone(),
            diagram: settings.diagram_file.clone(),
        })
        .fallback_service(files)
        .layer(from_fn_with_state(admin, sign_in))
}

async fn serve_sdk(State(vendored): State<Vendored>, request: Request) -> Response {
    serve_vendored(&vendored.sdk, SDK_MISSING, request).await
}

async fn serve_diagram(State(vendored): State<Vendored>, request: Request) -> Response {
    serve_vendored(&vendored.diagram, DIAGRAM_MISSING, request).await
}

/// A file from `node_modules/`, or a 503 that says what to run.
async fn serve_vendored(file: &Path, missing: &'static str, request: Request) -> Response {
    if !file.is_file() {
        return HttpError::NotConfigured {
            message: missing.to_owned(),
            missing: Vec::new(),
        }
        .into_response();
    }
    let result: Result<_, Infallible> = ServeFile::new(file).oneshot(request).await;
    match result {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}

#[derive(Serialize)]
struct SdkStatus {
    installed: bool,
    url: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<&'static str>,
}

impl SdkStatus {
    fn of(file: &Path, url: &'static str, missing: &'static str) -> SdkStatus {
        let installed = file.is_file();
        SdkStatus {
            installed,
            url,
            fix: (!installed).then_some(missing),
        }
    }
}

#[derive(Serialize)]
struct VendorStatus {
    twilio_sdk: SdkStatus,
    diagram: SdkStatus,
}

async fn sdk_status(State(vendored): State<Vendored>) -> Response {
    let body = VendorStatus {
        twilio_sdk: SdkStatus::of(&vendored.sdk, SDK_PATH, SDK_MISSING),
        diagram: SdkStatus::of(&vendored.diagram, DIAGRAM_PATH, DIAGRAM_MISSING),
    };
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdk_is_looked_up_beside_the_public_folder() {
        assert_eq!(
            PageSettings::new("public").sdk_file,
            Path::new(".").join(SDK_IN_NODE_MODULES)
        );
        assert_eq!(
            PageSettings::new("./public").sdk_file,
            Path::new(".").join(SDK_IN_NODE_MODULES)
        );
        assert_eq!(
            PageSettings::new("/srv/callflow/public").sdk_file,
            Path::new("/srv/callflow").join(SDK_IN_NODE_MODULES)
        );
        assert_eq!(
            PageSettings::new("/srv/callflow/public").diagram_file,
            Path::new("/srv/callflow").join(DIAGRAM_IN_NODE_MODULES)
        );
    }

    fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<PageSettings, crate::setting::SettingsError> {
        crate::setting::from_lookup::<Page>(lookup).map(|page| page.settings())
    }

    #[test]
    fn settings_come_from_the_environment() {
        let settings = from_lookup(|name| match name {
            "PUBLIC_DIR" => Some(" /srv/page/public ".into()),
            "SIMULATOR" => Some("off".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(settings.public_dir, Path::new("/srv/page/public"));
        assert_eq!(settings.simulator, SimulatorMode::Off);

        let defaults = from_lookup(|_| Some(String::new())).unwrap();
        assert_eq!(defaults, PageSettings::default());

        let wrong = from_lookup(|name| (name == "SIMULATOR").then(|| "maybe".into()));
        assert!(wrong.unwrap_err().to_string().contains("SIMULATOR"));
    }
}
