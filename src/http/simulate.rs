//! The simulation API: the browser page plays calls through the live flows
//! with no Twilio, using the same [`SimulatedCall`] as `callflow call` and
//! the tests, so the page never has its own copy of the TwiML rules.
//!
//! - `GET /simulate`: whether this client may simulate, and why not.
//! - `POST /simulate/calls` `{from?, to?, flow?, params?, at?}`: places a
//!   call; 201 with its state.
//! - `GET /simulate/calls/{id}`: the state again.
//! - `POST /simulate/calls/{id}` `{action, value?}`: the caller's move where
//!   the call waits (`press`, `say`, `silence`, `dial_outcome`, `record`,
//!   `hang_up`); 200 with the new state.
//! - `DELETE /simulate/calls/{id}`: forgets the call.
//!
//! Every state carries the whole call so far (all events, exchanges and
//! steps), so a page that missed an answer loses nothing; it tells what is
//! new by counting.
//!
//! Each call posts its webhooks to a `/voice` router built on the server's
//! own [`AppState`], so it sees the flow set live: after a hot reload, the
//! next webhook uses the new flows, as Twilio's would. Signature checks are
//! left out of that inner router (nothing leaves the process, and the
//! simulator cannot sign as Twilio), and `at` can fix the clock the flows
//! see (opening hours). Its turns are counted in no metrics: `/metrics` and
//! the page's heat map count real calls, not an author trying an edit.
//!
//! Calls are held in memory, at most [`MAX_CALLS`]; one unused for
//! [`IDLE_EXPIRY`] is dropped, and when the store is full the least
//! recently used goes. Twilio's calls stay stateless; only this dev tool
//! keeps anything.
//!
//! Every route needs the admin key ([`admin`](super::admin)): a simulation never dials or
//! costs money, but it shows what the flows say and whom they dial (staff numbers, hours), and
//! it would let anyone try PINs as fast as they like. `SIMULATOR=off` switches it off even for
//! the key's holder; `on`, the default, leaves it to the key. `local`, the old default, once
//! trusted a browser on the server's own machine; addresses and headers prove nothing behind a
//! proxy or a forward, so it now means `on`, and start-up warns (see
//! [`SimulatorMode::startup_warning`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use indexmap::IndexMap;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::signature::WebhookAuth;
use super::{AppState, Clock, HttpError, admin, callbacks, voice};
use crate::flow::spec::DialOutcome;
use crate::metrics::Metrics;
use crate::setting::{SettingProblem, yes_no};
use crate::simulator::{
    CallSetup, CalleeAnswer, CallerAction, Event, Exchange, QueueEvent, SimulatedCall,
    SimulationError, Waiting,
};

/// The `DialCallStatus` values Twilio sends after a `<Dial>`. (A flow's
/// `refused` route is taken by the engine itself, never reported by Twilio.)
fn twilio_dial_statuses() -> impl Iterator<Item = DialOutcome> {
    DialOutcome::ALL
        .into_iter()
        .filter(|o| o.reported_by_twilio())
}

/// Calls held at once.
pub const MAX_CALLS: usize = 100;
/// A call unused this long is forgotten.
pub const IDLE_EXPIRY: Duration = Duration::from_secs(600);
/// Largest request body: a call's setup is a few hundred bytes.
const MAX_BODY_BYTES: usize = 16 * 1024;
const MAX_FIELD_CHARS: usize = 256;
const MAX_PARAMS: usize = 32;
const MAX_SPEECH_CHARS: usize = 1000;
const MAX_KEYS: usize = 64;

/// Whether the simulation API answers the admin key's holder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SimulatorMode {
    /// No one.
    Off,
    /// Whoever holds the admin key.
    #[default]
    On,
    /// `SIMULATOR=local`, the old default: now the same as [`SimulatorMode::On`], because no
    /// address or header can show that a browser is on this machine. Accepted so existing
    /// settings keep working; start-up warns.
    Local,
}

impl SimulatorMode {
    /// Reads a `SIMULATOR` value: on or off, with the yes/no spellings meaning on and off, and
    /// the old `local`.
    pub fn parse(_: &'static str, value: &str) -> Result<Self, SettingProblem> {
        if value.trim().eq_ignore_ascii_case("local") {
            return Ok(SimulatorMode::Local);
        }
        match yes_no(value) {
            Some(true) => Ok(SimulatorMode::On),
            Some(false) => Ok(SimulatorMode::Off),
            None => Err(SettingProblem::Simulator {
                shown: value.chars().take(40).collect(),
            }),
        }
    }

    /// What the mode does: `Local` is `On`.
    pub fn effective(self) -> SimulatorMode {
        match self {
            SimulatorMode::Local => SimulatorMode::On,
            mode => mode,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            SimulatorMode::Off => "off (SIMULATOR=off)",
            SimulatorMode::On => "on, for whoever holds the admin key (SIMULATOR=on)",
            SimulatorMode::Local => {
                "on, for whoever holds the admin key (SIMULATOR=local now means on)"
            }
        }
    }

    /// Logged at start-up for the old `local`, whose meaning changed.
    pub fn startup_warning(self) -> Option<&'static str> {
        (self == SimulatorMode::Local).then_some(
            "SIMULATOR=local no longer looks at where a request comes from: the admin key now guards the simulator and /flows wherever the browser is, so local means on; set SIMULATOR=on (or off) to silence this warning",
        )
    }

    /// Why the simulator does not answer, or `None` when it does.
    pub(crate) fn refusal(self) -> Option<&'static str> {
        (self.effective() == SimulatorMode::Off).then_some(
            "The simulator is switched off on this server (SIMULATOR=off). Remove the setting or set SIMULATOR=on to simulate.",
        )
    }
}

/// The simulation API, with its own state, ready to `.merge()`.
pub fn router(app: AppState) -> Router {
    let mode = app.page.simulator;
    let state = Arc::new(Simulator {
        mode,
        // The inner router's webhooks come from this process, not Twilio.
        unsigned: Arc::new(WebhookAuth::unchecked()),
        uncounted: Metrics::default(),
        app,
        calls: Calls::new(MAX_CALLS, IDLE_EXPIRY),
    });
    let admin = state.app.admin.clone();
    Router::new()
        .route("/simulate", get(status))
        .route("/simulate/calls", axum::routing::post(start_call))
        .route(
            "/simulate/calls/{id}",
            get(show_call).post(act).delete(forget_call),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .route_layer(from_fn_with_state(admin, admin::require))
        .with_state(state)
}

struct Simulator {
    mode: SimulatorMode,
    unsigned: Arc<WebhookAuth>,
    /// Where simulated turns are counted instead of the line's metrics,
    /// which count real calls only (the page's heat map among them).
    uncounted: Metrics,
    app: AppState,
    calls: Calls,
}

impl Simulator {
    /// Whether the simulator is on; the admin key was checked in front of every route.
    fn check(&self) -> Result<(), HttpError> {
        match self.mode.refusal() {
            Some(reason) => Err(HttpError::Forbidden(reason.to_owned())),
            None => Ok(()),
        }
    }

    /// `/voice` on the live flows, unsigned, at the call's clock, sending
    /// no texts, counted in no metrics.
    fn voice_router(&self, at: Option<Timestamp>) -> Router {
        let mut state = self.app.clone();
        state.parts_mut().webhook_auth = self.unsigned.clone();
        state.parts_mut().metrics = self.uncounted.clone();
        state.parts_mut().engine = Arc::new(self.app.engine.simulated());
        if let Some(at) = at {
            state.parts_mut().clock = Clock::Fixed(at);
        }
        voice::router(state.clone()).merge(callbacks::router(state))
    }
}

/// What the page is told about the simulator.
#[derive(Serialize)]
struct StatusBody {
    enabled: bool,
    mode: SimulatorMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    max_calls: usize,
    idle_expiry_seconds: u64,
    dial_outcomes: Vec<&'static str>,
}

async fn status(State(sim): State<Arc<Simulator>>) -> Response {
    let reason = sim.mode.refusal();
    Json(StatusBody {
        enabled: reason.is_none(),
        mode: sim.mode.effective(),
        reason,
        max_calls: MAX_CALLS,
        idle_expiry_seconds: IDLE_EXPIRY.as_secs(),
        dial_outcomes: twilio_dial_statuses().map(DialOutcome::as_str).collect(),
    })
    .into_response()
}

/// The body of `POST /simulate/calls`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartRequest {
    from: Option<String>,
    to: Option<String>,
    flow: Option<String>,
    #[serde(default)]
    params: IndexMap<String, String>,
    /// RFC 3339; the flows see this instant as now.
    at: Option<String>,
}

/// The setup as the page gave it, echoed back.
#[derive(Debug, Clone, Serialize)]
struct SetupView {
    from: String,
    to: String,
    flow: Option<String>,
    /// The instant the flows see, RFC 3339; `None` for the server's clock.
    at: Option<String>,
}

async fn start_call(
    State(sim): State<Arc<Simulator>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HttpError> {
    sim.check()?;
    let request: StartRequest = parse_json(&headers, &body)?;
    let defaults = CallSetup::default();
    let from = field("from", request.from)?.unwrap_or(defaults.from);
    let to = field("to", request.to)?.unwrap_or(defaults.to);
    let flow = field("flow", request.flow)?;
    if let Some(name) = &flow {
        let flows = sim.app.flows.current();
        if flows.id_of(name).is_none() {
            let known: Vec<&str> = flows.flows().iter().map(|f| f.name.as_str()).collect();
            return Err(HttpError::BadRequest(format!(
                "there is no flow named {name:?}; the flows are: {}",
                known.join(", ")
            )));
        }
    }
    if request.params.len() > MAX_PARAMS {
        return Err(HttpError::BadRequest(format!(
            "params: at most {MAX_PARAMS} parameters"
        )));
    }
    let mut params = Vec::with_capacity(request.params.len());
    for (name, value) in request.params {
        if name.is_empty() || name.len() > MAX_FIELD_CHARS || value.len() > 4 * MAX_FIELD_CHARS {
            return Err(HttpError::BadRequest(format!(
                "params: names must be 1 to {MAX_FIELD_CHARS} characters and values at most {} characters",
                4 * MAX_FIELD_CHARS
            )));
        }
        params.push((name, value));
    }
    let at = match field("at", request.at)? {
        Some(text) => Some(text.parse::<Timestamp>().map_err(|e| {
            HttpError::BadRequest(format!(
                "at: {text:?} is not a time with an offset, such as 2026-11-24T10:30:00-05:00 ({e})"
            ))
        })?),
        None => None,
    };
    let view = SetupView {
        from: from.clone(),
        to: to.clone(),
        flow: flow.clone(),
        at: at.map(|at| at.to_string()),
    };
    let setup = CallSetup {
        from,
        to,
        flow,
        params,
    };
    let call = SimulatedCall::start(sim.voice_router(at), setup)
        .await
        .map_err(|error| HttpError::Unprocessable {
            error: error.to_string(),
            call: None,
        })?;
    let session = Session {
        call,
        setup: view,
        failure: None,
    };
    let id = new_id();
    let body = session.view(&id);
    sim.calls.insert(id, session);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn show_call(
    State(sim): State<Arc<Simulator>>,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    sim.check()?;
    let session = sim.calls.get(&id).ok_or(unknown_call())?;
    let session = session.lock().await;
    Ok(Json(session.view(&id)).into_response())
}

async fn forget_call(
    State(sim): State<Arc<Simulator>>,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    sim.check()?;
    if sim.calls.remove(&id) {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(unknown_call())
    }
}

/// The body of `POST /simulate/calls/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionRequest {
    action: String,
    value: Option<String>,
}

async fn act(
    State(sim): State<Arc<Simulator>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, HttpError> {
    sim.check()?;
    let request: ActionRequest = parse_json(&headers, &body)?;
    let action = caller_action(request)?;
    let session = sim.calls.get(&id).ok_or(unknown_call())?;
    // Only this call's lock is held across the webhooks; other calls and the
    // store go on meanwhile.
    let mut session = session.lock().await;
    if let Some(failure) = &session.failure {
        return Err(HttpError::Conflict(format!(
            "the simulated call stopped earlier: {failure}; start a new call"
        )));
    }
    match session.call.respond(action).await {
        Ok(()) => Ok(Json(session.view(&id)).into_response()),
        Err(error @ (SimulationError::Unexpected { .. } | SimulationError::Ended)) => {
            Err(HttpError::Conflict(error.to_string()))
        }
        Err(error) => {
            session.failure = Some(error.to_string());
            Err(HttpError::Unprocessable {
                error: error.to_string(),
                call: Some(Box::new(session.view(&id))),
            })
        }
    }
}

/// Checks the page's action and its value.
fn caller_action(request: ActionRequest) -> Result<CallerAction, HttpError> {
    let value = request.value.filter(|v| !v.trim().is_empty());
    let needs =
        |what: &str| HttpError::BadRequest(format!("{}: give {what} as value", request.action));
    let action = match request.action.as_str() {
        "press" => {
            let keys = value.ok_or_else(|| needs("the keys"))?;
            let keys = keys.trim().to_owned();
            if keys.len() > MAX_KEYS
                || !keys
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
            {
                return Err(HttpError::BadRequest(format!(
                    "press: keys are 1 to {MAX_KEYS} of 0-9, * and #"
                )));
            }
            CallerAction::Press(keys)
        }
        "say" => {
            let words = value.ok_or_else(|| needs("the words"))?;
            if words.chars().count() > MAX_SPEECH_CHARS {
                return Err(HttpError::BadRequest(format!(
                    "say: at most {MAX_SPEECH_CHARS} characters"
                )));
            }
            CallerAction::Say(words.trim().to_owned())
        }
        "dial_outcome" => {
            let outcome = value.ok_or_else(|| needs("the outcome"))?;
            let outcome = outcome.trim().to_ascii_lowercase();
            if !twilio_dial_statuses().any(|o| o.as_str() == outcome) {
                let known: Vec<&str> = twilio_dial_statuses().map(DialOutcome::as_str).collect();
                return Err(HttpError::BadRequest(format!(
                    "dial_outcome: {outcome:?} is not one of {}",
                    known.join(", ")
                )));
            }
            CallerAction::DialOutcome(outcome)
        }
        "silence" => CallerAction::Silence,
        "record" => CallerAction::Record,
        "agent_ends" => {
            let handoff = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
            if let Some(handoff) = &handoff
                && (handoff.chars().count() > MAX_SPEECH_CHARS
                    || serde_json::from_str::<serde_json::Value>(handoff).is_err())
            {
                return Err(HttpError::BadRequest(format!(
                    "agent_ends: the handoff data is JSON of at most {MAX_SPEECH_CHARS} characters, such as {{\"reason\": \"billing\"}}"
                )));
            }
            CallerAction::AgentEnds(handoff)
        }
        "agent_fails" => CallerAction::AgentFails,
        "queue" => {
            let event = value.ok_or_else(|| needs("what happens"))?;
            CallerAction::Queue(QueueEvent::parse(&event).ok_or_else(|| {
                HttpError::BadRequest(
                    "queue: the value is one of hold, bridged, full, hangup, error".into(),
                )
            })?)
        }
        "callee" => {
            let answer = value.ok_or_else(|| needs("the answer"))?;
            CallerAction::Callee(CalleeAnswer::parse(&answer).ok_or_else(|| {
                HttpError::BadRequest(
                    "callee: the value is one of accepts, declines, silent, or a key (0-9, *, #)"
                        .into(),
                )
            })?)
        }
        "hang_up" => CallerAction::HangUp,
        other => {
            return Err(HttpError::BadRequest(format!(
                "action {:?} is not one of press, say, silence, dial_outcome, record, agent_ends, agent_fails, queue, callee, hang_up",
                other.chars().take(40).collect::<String>()
            )));
        }
    };
    Ok(action)
}

/// A text field: trimmed, empty counts as unset, bounded.
fn field(name: &str, value: Option<String>) -> Result<Option<String>, HttpError> {
    let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > MAX_FIELD_CHARS || value.chars().any(char::is_control) {
        return Err(HttpError::BadRequest(format!(
            "{name}: at most {MAX_FIELD_CHARS} characters, no control characters"
        )));
    }
    Ok(Some(value))
}

/// JSON bodies only: a form post from another site cannot start calls, and a
/// mistake is answered in words.
fn parse_json<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, HttpError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !is_json {
        return Err(HttpError::UnsupportedMediaType(
            "send the request as JSON, with Content-Type: application/json".to_owned(),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| HttpError::BadRequest(format!("the request body: {e}")))
}

/// One simulated call and what the page needs to show it.
struct Session {
    call: SimulatedCall,
    setup: SetupView,
    /// Set when a webhook broke the simulation; the call takes no more actions.
    failure: Option<String>,
}

/// A call's state as the page gets it.
#[derive(Serialize)]
struct CallView<'a> {
    id: &'a str,
    call_sid: &'a str,
    setup: &'a SetupView,
    waiting: &'a Waiting,
    events: &'a [Event],
    exchanges: &'a [Exchange],
    steps: Vec<&'a str>,
    vars: std::collections::BTreeMap<String, String>,
    failure: Option<&'a str>,
}

impl Session {
    fn view<'a>(&'a self, id: &'a str) -> serde_json::Value {
        let view = CallView {
            id,
            call_sid: self.call.call_sid(),
            setup: &self.setup,
            waiting: self.call.waiting(),
            events: &self.call.events,
            exchanges: &self.call.exchanges,
            steps: self.call.steps(),
            vars: self.call.vars(),
            failure: self.failure.as_deref(),
        };
        serde_json::to_value(view).unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }))
    }
}

/// The calls in progress, bounded in number and idle time.
struct Calls {
    slots: Mutex<HashMap<String, Slot>>,
    max: usize,
    idle: Duration,
}

struct Slot {
    session: Arc<tokio::sync::Mutex<Session>>,
    last_used: Instant,
}

impl Calls {
    fn new(max: usize, idle: Duration) -> Self {
        Calls {
            slots: Mutex::new(HashMap::new()),
            max,
            idle,
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        // Nothing panics while the map is held, so a poisoned lock still holds a sound map.
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn insert(&self, id: String, session: Session) {
        let now = Instant::now();
        let mut slots = self.slots();
        slots.retain(|_, slot| now.duration_since(slot.last_used) < self.idle);
        while slots.len() >= self.max {
            let Some(oldest) = slots
                .iter()
                .min_by_key(|(_, slot)| slot.last_used)
                .map(|(id, _)| id.clone())
            else {
                break;
            };
            slots.remove(&oldest);
        }
        slots.insert(
            id,
            Slot {
                session: Arc::new(tokio::sync::Mutex::new(session)),
                last_used: now,
            },
        );
    }

    fn get(&self, id: &str) -> Option<Arc<tokio::sync::Mutex<Session>>> {
        let now = Instant::now();
        let mut slots = self.slots();
        let slot = slots.get_mut(id)?;
        if now.duration_since(slot.last_used) >= self.idle {
            slots.remove(id);
            return None;
        }
        slot.last_used = now;
        Some(slot.session.clone())
    }

    fn remove(&self, id: &str) -> bool {
        self.slots().remove(id).is_some()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots().len()
    }
}

/// Unguessable, so one holder of the key cannot stumble onto another's call.
fn new_id() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let hex: String = (0..32)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect();
    format!("sim_{hex}")
}

/// Why a simulated call is not known: it expired, or never was.
fn unknown_call() -> HttpError {
    HttpError::NotFound(format!(
        "there is no simulated call with that id (calls are forgotten after {} minutes unused, or when the server restarts); start a new call",
        IDLE_EXPIRY.as_secs() / 60
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_comes_from_simulator() {
        let from_vars = |pairs: &[(&str, &str)]| {
            crate::setting::from_vars::<crate::http::page::Page>(pairs).map(|page| page.simulator)
        };
        let read = |v: &str| from_vars(&[("SIMULATOR", v)]);
        assert_eq!(from_vars(&[]), Ok(SimulatorMode::On));
        assert_eq!(read(" "), Ok(SimulatorMode::On));
        assert_eq!(read("on"), Ok(SimulatorMode::On));
        assert_eq!(read("OFF"), Ok(SimulatorMode::Off));
        assert!(read("sometimes").is_err());
        // The old default is accepted, means on, and is warned about.
        assert_eq!(read("Local"), Ok(SimulatorMode::Local));
        assert_eq!(SimulatorMode::Local.effective(), SimulatorMode::On);
        assert_eq!(SimulatorMode::Local.refusal(), None);
        assert!(
            SimulatorMode::Local
                .startup_warning()
                .unwrap()
                .contains("admin key")
        );
        assert_eq!(SimulatorMode::On.startup_warning(), None);
        assert!(
            SimulatorMode::Off
                .refusal()
                .unwrap()
                .contains("SIMULATOR=off")
        );
    }

    #[test]
    fn actions_are_checked() {
        let action = |action: &str, value: Option<&str>| {
            caller_action(ActionRequest {
                action: action.into(),
                value: value.map(str::to_owned),
            })
        };
        assert_eq!(
            action("press", Some("12#")).unwrap(),
            CallerAction::Press("12#".into())
        );
        assert!(action("press", Some("12a")).is_err());
        assert!(action("press", None).is_err());
        assert_eq!(
            action("dial_outcome", Some("Busy")).unwrap(),
            CallerAction::DialOutcome("busy".into())
        );
        assert!(action("dial_outcome", Some("maybe")).is_err());
        assert!(action("dial_outcome", Some("refused")).is_err());
        assert_eq!(action("hang_up", None).unwrap(), CallerAction::HangUp);
        assert!(action("dance", None).is_err());
    }

    #[test]
    fn the_store_stays_bounded() {
        let calls = Calls::new(3, Duration::from_secs(60));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let flows = crate::flow::load_sources(vec![crate::flow::load::Source {
            name: "main".into(),
            file: "main.yaml".into(),
            text: "start: hi\nsteps:\n  hi:\n    say: Hi\n".into(),
        }])
        .unwrap()
        .flows;
        let router = voice::router(AppState::new(flows, Default::default()));
        for n in 0..5 {
            let call = runtime
                .block_on(SimulatedCall::start(router.clone(), CallSetup::default()))
                .unwrap();
            let session = Session {
                call,
                setup: SetupView {
                    from: String::new(),
                    to: String::new(),
                    flow: None,
                    at: None,
                },
                failure: None,
            };
            calls.insert(format!("call{n}"), session);
        }
        assert_eq!(calls.len(), 3);
        assert!(calls.get("call0").is_none(), "the oldest went first");
        assert!(calls.get("call4").is_some());
        assert!(calls.remove("call4"));
        assert!(!calls.remove("call4"));
    }
}
