//! Plays Twilio's side of a call against the router, with no Twilio at all.
//!
//! A [`SimulatedCall`] posts the webhooks Twilio would post (CallSid, From,
//! To, CallStatus, then Digits, SpeechResult, DialCallStatus, RecordingUrl
//! on the action requests), executes the TwiML it gets back verb by verb,
//! and stops wherever Twilio would wait: a `<Gather>` waits for keys or
//! speech, a `<Dial>` for the far end to answer or not, a `<Record>` for a
//! message. [`SimulatedCall::respond`] plays the caller's part there.
//!
//! It records what the caller hears, what is dialled and recorded, every
//! webhook exchanged, and how the call ends. Integration tests, `callflow
//! call`, flow tests and the browser page all drive calls through this one
//! interpreter, so they agree with each other about what a flow does.

use std::fmt;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde::Serialize;
use tower::ServiceExt;

use crate::engine::NOTICE_PATH;
use crate::messaging::texted::{self, TEXTS_HEADER, Texted};
use crate::outbound::Seen;
use crate::outbound::seen::{self, REQUESTS_HEADER};
use crate::twiml::{Element, Response};

mod legs;

/// Response header listing the steps a webhook ran, as `flow:step` separated
/// by spaces, for a request that carries the same header (any value): the
/// simulator asks for it; Twilio does not, and its answers stay lean.
pub const STEPS_HEADER: &str = "x-callflow-steps";

/// Response header naming the route each step of a webhook left by, as
/// form-encoded `flow:step=route` pairs, for a request that carries it:
/// flow tests' coverage counts routes from it.
pub const ROUTES_HEADER: &str = "x-callflow-routes";

/// Webhooks one simulated call may make before it is declared stuck.
pub const MAX_WEBHOOKS: usize = 200;

/// Who calls whom.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct CallSetup {
    pub from: String,
    pub to: String,
    /// Sent as the `flow` parameter, as a TwiML App URL or the browser SDK
    /// would.
    pub flow: Option<String>,
    /// More parameters for the first webhook (the browser SDK's custom
    /// parameters, `CallerName`, ...).
    #[serde(default)]
    pub params: Vec<(String, String)>,
}

impl Default for CallSetup {
    fn default() -> Self {
        CallSetup {
            from: "+15551112222".into(),
            to: "+15553334444".into(),
            flow: None,
            params: Vec::new(),
        }
    }
}

/// What the caller (or the far end of a dial) does when the call waits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "value")]
pub enum CallerAction {
    /// Press keys at a gather.
    Press(String),
    /// Say words at a gather that listens to speech.
    Say(String),
    /// Do nothing until the gather times out.
    Silence,
    /// How a dial ends: `completed`, `busy`, `no-answer`, `failed`, ...
    DialOutcome(String),
    /// Leave a message at a recording.
    Record,
    /// The agent (or media server) a `<Connect>` reached ends its session,
    /// handing over this JSON (`{"reason": "billing"}`) when given.
    AgentEnds(Option<String>),
    /// The `<Connect>` session fails.
    AgentFails,
    /// What happens to a caller in a queue: they hold on (the hold steps
    /// play, again), or the wait ends.
    Queue(QueueEvent),
    /// How the person a dial with a whisper reaches answers it.
    Callee(CalleeAnswer),
    HangUp,
}

/// A turn of a caller's wait in a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QueueEvent {
    /// The caller holds on: Twilio fetches the hold steps (again).
    Hold,
    /// An agent takes the call; the two talk, then hang up.
    Bridged,
    /// The queue is full.
    #[serde(alias = "queue-full")]
    Full,
    /// The caller hangs up while holding.
    Hangup,
    /// Twilio cannot queue the call.
    Error,
}

impl QueueEvent {
    pub const ALL: [QueueEvent; 5] = [
        QueueEvent::Hold,
        QueueEvent::Bridged,
        QueueEvent::Full,
        QueueEvent::Hangup,
        QueueEvent::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            QueueEvent::Hold => "hold",
            QueueEvent::Bridged => "bridged",
            QueueEvent::Full => "full",
            QueueEvent::Hangup => "hangup",
            QueueEvent::Error => "error",
        }
    }

    /// `hold`, `bridged`, `full` (or `queue-full`), `hangup`, `error`.
    pub fn parse(text: &str) -> Option<QueueEvent> {
        let text = text.trim().to_ascii_lowercase();
        if text == "queue-full" {
            return Some(QueueEvent::Full);
        }
        QueueEvent::ALL.into_iter().find(|e| e.as_str() == text)
    }
}

/// How a callee answers a dial's whisper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum CalleeAnswer {
    /// Answers and accepts: presses 1 at the whisper's question, the
    /// usual key for yes.
    Accepts,
    /// Answers and hangs up at the whisper's question (or before it ends).
    Declines,
    /// Answers and presses nothing.
    Silent,
    /// Answers and presses this key at the whisper's question.
    Presses(char),
}

impl CalleeAnswer {
    /// The answers with names; a key (`2`) is an answer too.
    pub const NAMED: [CalleeAnswer; 3] = [
        CalleeAnswer::Accepts,
        CalleeAnswer::Declines,
        CalleeAnswer::Silent,
    ];

    /// `accepts`, `declines`, `silent`, or a key: `0`-`9`, `*`, `#`.
    pub fn parse(text: &str) -> Option<CalleeAnswer> {
        let text = text.trim().to_ascii_lowercase();
        let mut chars = text.chars();
        if let (Some(key), None) = (chars.next(), chars.next())
            && (key.is_ascii_digit() || key == '*' || key == '#')
        {
            return Some(CalleeAnswer::Presses(key));
        }
        CalleeAnswer::NAMED
            .into_iter()
            .find(|a| a.to_string() == text)
    }
}

impl fmt::Display for CalleeAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CalleeAnswer::Accepts => f.write_str("accepts"),
            CalleeAnswer::Declines => f.write_str("declines"),
            CalleeAnswer::Silent => f.write_str("silent"),
            CalleeAnswer::Presses(key) => write!(f, "{key}"),
        }
    }
}

impl From<CalleeAnswer> for String {
    fn from(answer: CalleeAnswer) -> String {
        answer.to_string()
    }
}

impl TryFrom<String> for CalleeAnswer {
    type Error = String;

    fn try_from(text: String) -> Result<CalleeAnswer, String> {
        CalleeAnswer::parse(&text)
            .ok_or_else(|| format!("`{text}` is not accepts, declines, silent or a key"))
    }
}

impl fmt::Display for CallerAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallerAction::Press(keys) => write!(f, "caller presses {keys}"),
            CallerAction::Say(words) => write!(f, "caller says \"{words}\""),
            CallerAction::Silence => f.write_str("caller stays silent"),
            CallerAction::DialOutcome(outcome) => write!(f, "the dial ends: {outcome}"),
            CallerAction::Record => f.write_str("caller leaves a message"),
            CallerAction::AgentEnds(None) => f.write_str("agent ends the session"),
            CallerAction::AgentEnds(Some(handoff)) => write!(f, "agent hands over: {handoff}"),
            CallerAction::AgentFails => f.write_str("agent session fails"),
            CallerAction::Queue(QueueEvent::Hold) => f.write_str("caller holds on"),
            CallerAction::Queue(QueueEvent::Hangup) => f.write_str("caller hangs up while holding"),
            CallerAction::Queue(event) => {
                write!(f, "the wait in the queue ends: {}", event.as_str())
            }
            CallerAction::Callee(CalleeAnswer::Presses(key)) => write!(f, "callee presses {key}"),
            CallerAction::Callee(answer) => write!(f, "callee {answer}"),
            CallerAction::HangUp => f.write_str("caller hangs up"),
        }
    }
}

/// One thing that happened on the call, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Event {
    Heard {
        text: String,
    },
    Played {
        url: String,
    },
    Paused {
        seconds: u32,
    },
    /// A gather started listening.
    Listening {
        step: Option<String>,
    },
    Dialled {
        targets: Vec<String>,
    },
    Recording,
    /// A `<Start>` began something that runs beside the call (a recording,
    /// a stream); the call goes on.
    Started {
        what: String,
    },
    /// A `<Stop>` ended something started beside the call.
    Stopped {
        what: String,
    },
    /// A `<Connect>` handed the call to an agent or media server.
    Connected {
        noun: String,
        url: String,
    },
    /// The caller entered a queue.
    Queued {
        queue: String,
    },
    /// The caller's wait in the queue ended, as Twilio's `QueueResult`.
    LeftQueue {
        result: String,
    },
    /// The person dialled heard this in the whisper, before being joined.
    CalleeHeard {
        text: String,
    },
    /// The person dialled took the call after the whisper, or did not.
    CalleeAnswered {
        joined: bool,
    },
    /// The flow made a request to another server.
    Requested {
        #[serde(flatten)]
        request: Seen,
    },
    /// The flow sent a text message (in a simulation, only noted).
    Texted {
        #[serde(flatten)]
        text: Texted,
    },
    Caller {
        action: CallerAction,
    },
    Ended {
        end: CallEnd,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Heard { text } => write!(f, "hears: {text}"),
            Event::Played { url } => write!(f, "hears audio: {url}"),
            Event::Paused { seconds } => write!(f, "silence: {seconds}s"),
            Event::Listening { step } => match step {
                Some(step) => write!(f, "waits for the caller (step {step})"),
                None => f.write_str("waits for the caller"),
            },
            Event::Dialled { targets } => write!(f, "dials {}", targets.join(", ")),
            Event::Recording => f.write_str("records a message"),
            Event::Connected { noun, url } => write!(f, "connects to {noun} {url}"),
            Event::Started { what } => write!(f, "starts {what}"),
            Event::Stopped { what } => write!(f, "stops {what}"),
            Event::Queued { queue } => write!(f, "waits in queue {queue}"),
            Event::LeftQueue { result } => write!(f, "leaves the queue: {result}"),
            Event::CalleeHeard { text } => write!(f, "callee hears: {text}"),
            Event::CalleeAnswered { joined: true } => {
                f.write_str("callee accepts: the call is joined")
            }
            Event::CalleeAnswered { joined: false } => {
                f.write_str("callee declines: the call is not joined")
            }
            Event::Requested { request } => write!(f, "{request}"),
            Event::Texted { text } => write!(f, "{text}"),
            Event::Caller { action } => write!(f, "{action}"),
            Event::Ended { end } => write!(f, "call ends: {end}"),
        }
    }
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "how", content = "detail")]
pub enum CallEnd {
    /// `<Hangup>`.
    Hangup,
    /// `<Reject>` with its reason.
    Rejected(String),
    /// The TwiML ran out of verbs, which Twilio treats as a hang-up.
    EndOfTwiml,
    CallerHungUp,
    /// A verb the simulator does not play (`Enqueue`, `Connect`, ...).
    Unsupported(String),
}

impl fmt::Display for CallEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallEnd::Hangup => f.write_str("hangup"),
            CallEnd::Rejected(reason) => write!(f, "rejected ({reason})"),
            CallEnd::EndOfTwiml => f.write_str("no more TwiML (Twilio hangs up)"),
            CallEnd::CallerHungUp => f.write_str("the caller hung up"),
            CallEnd::Unsupported(verb) => write!(f, "<{verb}> is not simulated"),
        }
    }
}

/// One webhook and its answer.
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub params: Vec<(String, String)>,
    pub status: u16,
    pub twiml: String,
    /// The flow steps the webhook ran (`flow:step`), from the server's
    /// `x-callflow-steps` header.
    pub steps: Vec<String>,
    /// The routes those steps left by, as (`flow:step`, route), from the
    /// server's `x-callflow-routes` header.
    pub routes: Vec<(String, String)>,
    /// How many events the call had when this webhook was posted: where its
    /// steps fall in the transcript, so flow tests can check their order.
    pub at_event: usize,
}

/// What the call is waiting for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "for")]
pub enum Waiting {
    /// A gather: keys and/or speech.
    Input {
        dtmf: bool,
        speech: bool,
        /// Seconds Twilio waits for input.
        timeout: u32,
        num_digits: Option<u32>,
        /// Asked among hold steps: the wait in the queue may end here too.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        holding: bool,
    },
    /// A dial's outcome.
    Dial {
        targets: Vec<String>,
        /// The callee hears a whisper first, and may decline.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        whisper: bool,
    },
    /// A caller in a queue, between two rounds of hold steps (or before
    /// the first): they hold on, or the wait ends.
    Queue {
        queue: String,
        /// Rounds of hold steps played so far.
        holds: u32,
    },
    /// A recording.
    Record,
    /// A `<Connect>` session: how it ends.
    Agent {
        url: String,
    },
    Ended {
        end: CallEnd,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum SimulationError {
    #[error("webhook {url} answered HTTP {status}: {body}")]
    Http {
        url: String,
        status: u16,
        body: String,
    },
    #[error("webhook {url} did not answer TwiML: {error}")]
    BadTwiml { url: String, error: String },
    #[error("the call made {MAX_WEBHOOKS} webhooks without ending: the flow loops")]
    TooManyWebhooks,
    #[error("the call is waiting for {waiting}, so the caller cannot do this: {action}")]
    Unexpected {
        waiting: String,
        action: CallerAction,
    },
    #[error("the call has ended")]
    Ended,
}

/// A call in progress against a router.
#[derive(Debug)]
pub struct SimulatedCall {
    router: Router,
    setup: CallSetup,
    call_sid: String,
    /// Verbs of the current document not executed yet.
    pending: Vec<Element>,
    /// The URL the current document came from (Twilio's default action).
    document_url: String,
    /// The verb the call waits at.
    waiting_at: Option<Element>,
    waiting: Waiting,
    /// The caller's stay in a queue, while there is one.
    queue: Option<legs::QueueStay>,
    pub events: Vec<Event>,
    pub exchanges: Vec<Exchange>,
}

impl SimulatedCall {
    /// Places the call: posts the first webhook and plays the TwiML until the
    /// call waits or ends.
    pub async fn start(router: Router, setup: CallSetup) -> Result<SimulatedCall, SimulationError> {
        let mut call = SimulatedCall {
            router,
            call_sid: new_call_sid(),
            setup,
            pending: Vec::new(),
            document_url: "/voice".into(),
            waiting_at: None,
            waiting: Waiting::Ended {
                end: CallEnd::EndOfTwiml,
            },
            queue: None,
            events: Vec::new(),
            exchanges: Vec::new(),
        };
        let mut first = call.standard_params("ringing");
        if let Some(flow) = &call.setup.flow {
            first.push(("flow".into(), flow.clone()));
        }
        first.extend(call.setup.params.clone());
        call.fetch(Method::POST, "/voice".into(), first).await?;
        call.advance().await?;
        Ok(call)
    }

    pub fn waiting(&self) -> &Waiting {
        &self.waiting
    }

    pub fn call_sid(&self) -> &str {
        &self.call_sid
    }

    pub fn ended(&self) -> Option<&CallEnd> {
        match &self.waiting {
            Waiting::Ended { end } => Some(end),
            _ => None,
        }
    }

    /// Everything the caller heard, one line per `<Say>`.
    pub fn heard(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Heard { text } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Every request the flow made, in order.
    pub fn requests(&self) -> Vec<&Seen> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Requested { request } => Some(request),
                _ => None,
            })
            .collect()
    }

    /// Every text message the flow sent, in order.
    pub fn texts(&self) -> Vec<&Texted> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Texted { text } => Some(text),
                _ => None,
            })
            .collect()
    }

    /// Every target dialled, in order.
    pub fn dialled(&self) -> Vec<&str> {
        self.events
            .iter()
            .flat_map(|e| match e {
                Event::Dialled { targets } => targets.iter().map(String::as_str).collect(),
                _ => Vec::new(),
            })
            .collect()
    }

    /// Plays the caller's part where the call waits, then runs on until it
    /// waits again or ends.
    pub async fn respond(&mut self, action: CallerAction) -> Result<(), SimulationError> {
        let verb = match (&self.waiting, &action) {
            (Waiting::Ended { .. }, _) => return Err(SimulationError::Ended),
            (_, CallerAction::HangUp) => {
                self.events.push(Event::Caller { action });
                self.end(CallEnd::CallerHungUp);
                return Ok(());
            }
            (waiting, action) if fits(waiting, action) => match self.waiting_at.take() {
                Some(verb) => verb,
                // Between two rounds of hold steps nothing waits but the
                // queue itself.
                None => Element::new("Enqueue"),
            },
            (waiting, _) => {
                return Err(SimulationError::Unexpected {
                    waiting: describe_waiting(waiting),
                    action,
                });
            }
        };
        self.events.push(Event::Caller {
            action: action.clone(),
        });
        let mut params = self.standard_params("in-progress");
        match &action {
            CallerAction::Press(keys) => {
                let finish = verb.get_attr("finishOnKey").unwrap_or("#");
                let digits = keys.trim_end_matches(|c| !finish.is_empty() && finish.contains(c));
                params.push(("Digits".into(), digits.to_owned()));
            }
            CallerAction::Say(words) => {
                params.push(("SpeechResult".into(), words.clone()));
                params.push(("Confidence".into(), "0.92".into()));
            }
            // Holding on at a question among hold steps is saying nothing.
            CallerAction::Queue(event) if verb.name != "Gather" || *event != QueueEvent::Hold => {
                return self.queue_turn(*event).await;
            }
            CallerAction::Silence | CallerAction::Queue(_) => {
                if verb.get_attr("actionOnEmptyResult") != Some("true") {
                    // Twilio falls through to the verb after the gather.
                    return self.advance().await;
                }
            }
            CallerAction::DialOutcome(outcome) => {
                params.push(("DialCallStatus".into(), outcome.clone()));
                params.push(("DialCallSid".into(), new_call_sid()));
                let answered = matches!(outcome.as_str(), "completed" | "answered");
                params.push((
                    "DialCallDuration".into(),
                    if answered { "42" } else { "0" }.into(),
                ));
                if verb.get_attr("action").is_none() {
                    return self.advance().await;
                }
            }
            CallerAction::Record => {
                params.push((
                    "RecordingUrl".into(),
                    format!(
                        "https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/RE{}",
                        &self.call_sid[2..]
                    ),
                ));
                params.push(("RecordingDuration".into(), "7".into()));
                params.push(("Digits".into(), "hangup".into()));
            }
            CallerAction::AgentEnds(handoff) => {
                params.push(("SessionId".into(), format!("VX{}", &self.call_sid[2..])));
                params.push(("SessionStatus".into(), "completed".into()));
                params.push(("SessionDuration".into(), "42".into()));
                if let Some(handoff) = handoff {
                    params.push(("HandoffData".into(), handoff.clone()));
                }
            }
            CallerAction::AgentFails => {
                params.push(("SessionId".into(), format!("VX{}", &self.call_sid[2..])));
                params.push(("SessionStatus".into(), "failed".into()));
                params.push(("SessionDuration".into(), "0".into()));
            }
            CallerAction::Callee(answer) => {
                let joined = self.whisper(&verb, *answer).await?;
                params.extend(legs::whispered_dial(joined));
            }
            CallerAction::HangUp => unreachable!("handled above"),
        }
        let action_url = verb
            .get_attr("action")
            .map(str::to_owned)
            .unwrap_or_else(|| self.document_url.clone());
        let method = method_of(&verb);
        self.fetch(method, action_url, params.clone()).await?;
        if matches!(action, CallerAction::Record) {
            self.report_recording(&verb, params).await?;
        }
        self.advance().await
    }

    /// Sends `request`, built for `url`, to the server's router.
    async fn post(
        &self,
        url: &str,
        request: Result<Request<Body>, axum::http::Error>,
    ) -> Result<axum::response::Response, SimulationError> {
        let request = request.map_err(|e| SimulationError::Http {
            url: url.to_owned(),
            status: 0,
            body: e.to_string(),
        })?;
        Ok(self
            .router
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {}))
    }

    /// Posts Twilio's later report of the recording, as Twilio would, when
    /// the `<Record>` asks for one at this server's notice path: what it
    /// sets off (a voicemail's notifications) joins the transcript. The
    /// transcript, when asked for, is [`SIMULATED_TRANSCRIPT`].
    async fn report_recording(
        &mut self,
        verb: &Element,
        mut params: Vec<(String, String)>,
    ) -> Result<(), SimulationError> {
        for (attribute, transcript) in [
            ("recordingStatusCallback", false),
            ("transcribeCallback", true),
        ] {
            let Some(url) = verb.get_attr(attribute) else {
                continue;
            };
            if !path_of(url).starts_with(NOTICE_PATH) {
                continue;
            }
            let recording = params
                .iter()
                .find(|(name, _)| name == "RecordingUrl")
                .map(|(_, url)| url.rsplit('/').next().unwrap_or_default().to_owned())
                .unwrap_or_default();
            params.retain(|(name, _)| name != "Digits");
            params.push(("RecordingSid".into(), recording));
            if transcript {
                params.push(("TranscriptionStatus".into(), "completed".into()));
                params.push(("TranscriptionText".into(), SIMULATED_TRANSCRIPT.into()));
            } else {
                params.push(("RecordingStatus".into(), "completed".into()));
            }
            let encoded = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&params)
                .finish();
            let request = Request::post(path_of(url))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(REQUESTS_HEADER, "?")
                .header(TEXTS_HEADER, "?")
                .body(Body::from(encoded));
            let response = self.post(url, request).await?;
            if !response.status().is_success() {
                return Err(SimulationError::Http {
                    url: url.to_owned(),
                    status: response.status().as_u16(),
                    body: String::new(),
                });
            }
            self.events.extend(set_off(response.headers()));
        }
        Ok(())
    }

    /// Executes pending verbs until the call waits or ends.
    async fn advance(&mut self) -> Result<(), SimulationError> {
        loop {
            if self.pending.is_empty() {
                if let Some(stay) = &self.queue {
                    // The hold steps ran out: Twilio asks for them again.
                    self.waiting = stay.waiting();
                    return Ok(());
                }
                self.end(CallEnd::EndOfTwiml);
                return Ok(());
            }
            let verb = self.pending.remove(0);
            match verb.name.as_ref() {
                "Say" | "Play" | "Pause" => self.hear(&verb),
                "Gather" => {
                    for prompt in &verb.children {
                        self.hear(prompt);
                    }
                    let input = verb.get_attr("input").unwrap_or("dtmf");
                    self.events.push(Event::Listening {
                        step: step_of(verb.get_attr("action")),
                    });
                    self.waiting = Waiting::Input {
                        dtmf: input.contains("dtmf"),
                        speech: input.contains("speech"),
                        timeout: verb
                            .get_attr("timeout")
                            .and_then(|t| t.parse().ok())
                            .unwrap_or(5),
                        num_digits: verb.get_attr("numDigits").and_then(|n| n.parse().ok()),
                        holding: self.queue.is_some(),
                    };
                    self.waiting_at = Some(verb);
                    return Ok(());
                }
                "Dial" => {
                    let targets: Vec<String> = if verb.children.is_empty() {
                        verb.text.iter().cloned().collect()
                    } else {
                        verb.children.iter().map(describe_noun).collect()
                    };
                    self.events.push(Event::Dialled {
                        targets: targets.clone(),
                    });
                    let whisper = verb
                        .children
                        .iter()
                        .any(|noun| noun.get_attr("url").is_some());
                    self.waiting = Waiting::Dial { targets, whisper };
                    self.waiting_at = Some(verb);
                    return Ok(());
                }
                "Record" => {
                    self.events.push(Event::Recording);
                    self.waiting = Waiting::Record;
                    self.waiting_at = Some(verb);
                    return Ok(());
                }
                "Start" => {
                    for child in &verb.children {
                        self.events.push(Event::Started {
                            what: child.name.to_string(),
                        });
                    }
                }
                "Stop" => {
                    for child in &verb.children {
                        self.events.push(Event::Stopped {
                            what: child.name.to_string(),
                        });
                    }
                }
                "Connect" => {
                    let Some(noun) = verb.children.first() else {
                        self.end(CallEnd::Unsupported("Connect".into()));
                        return Ok(());
                    };
                    let url = noun.get_attr("url").unwrap_or_default().to_owned();
                    self.events.push(Event::Connected {
                        noun: noun.name.to_string(),
                        url: url.clone(),
                    });
                    self.waiting = Waiting::Agent { url };
                    self.waiting_at = Some(verb);
                    return Ok(());
                }
                "Redirect" => {
                    let url = verb
                        .text
                        .clone()
                        .unwrap_or_else(|| self.document_url.clone());
                    let params = self.standard_params("in-progress");
                    self.fetch(method_of(&verb), url, params).await?;
                }
                "Hangup" => {
                    self.end(CallEnd::Hangup);
                    return Ok(());
                }
                "Enqueue" => {
                    self.enqueue(verb);
                    return Ok(());
                }
                "Leave" => {
                    if let Some(stay) = self.queue.take() {
                        self.leave_queue(stay, "leave").await?;
                    }
                }
                "Reject" => {
                    let reason = verb.get_attr("reason").unwrap_or("rejected").to_owned();
                    self.end(CallEnd::Rejected(reason));
                    return Ok(());
                }
                other => {
                    self.end(CallEnd::Unsupported(other.to_owned()));
                    return Ok(());
                }
            }
        }
    }

    fn hear(&mut self, verb: &Element) {
        let event = match verb.name.as_ref() {
            "Say" => Event::Heard {
                text: verb.all_text(),
            },
            "Play" => Event::Played {
                url: verb
                    .text
                    .clone()
                    .or_else(|| verb.get_attr("digits").map(|d| format!("keys {d}")))
                    .unwrap_or_default(),
            },
            "Pause" => Event::Paused {
                seconds: verb
                    .get_attr("length")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(1),
            },
            _ => return,
        };
        self.events.push(event);
    }

    fn end(&mut self, end: CallEnd) {
        self.pending.clear();
        self.queue = None;
        self.waiting_at = None;
        self.events.push(Event::Ended { end: end.clone() });
        self.waiting = Waiting::Ended { end };
    }

    fn standard_params(&self, status: &str) -> Vec<(String, String)> {
        let setup = &self.setup;
        vec![
            ("AccountSid".into(), ACCOUNT_SID.into()),
            ("ApiVersion".into(), "2010-04-01".into()),
            ("CallSid".into(), self.call_sid.clone()),
            ("CallStatus".into(), status.into()),
            ("Called".into(), setup.to.clone()),
            ("Caller".into(), setup.from.clone()),
            ("Direction".into(), "inbound".into()),
            ("From".into(), setup.from.clone()),
            ("To".into(), setup.to.clone()),
        ]
    }

    /// Posts one webhook; its TwiML becomes the pending verbs.
    async fn fetch(
        &mut self,
        method: Method,
        url: String,
        params: Vec<(String, String)>,
    ) -> Result<(), SimulationError> {
        self.pending = self.exchange(method, url.clone(), params).await?;
        self.document_url = url;
        Ok(())
    }

    /// Posts one webhook, notes it and what it set off, and gives the
    /// verbs of its TwiML.
    async fn exchange(
        &mut self,
        method: Method,
        url: String,
        params: Vec<(String, String)>,
    ) -> Result<Vec<Element>, SimulationError> {
        if self.exchanges.len() >= MAX_WEBHOOKS {
            return Err(SimulationError::TooManyWebhooks);
        }
        let path = path_of(&url);
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish();
        let request = if method == Method::GET {
            let separator = if path.contains('?') { '&' } else { '?' };
            Request::get(format!("{path}{separator}{encoded}"))
                .header(STEPS_HEADER, "?")
                .header(ROUTES_HEADER, "?")
                .header(REQUESTS_HEADER, "?")
                .header(TEXTS_HEADER, "?")
                .body(Body::empty())
        } else {
            Request::post(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(STEPS_HEADER, "?")
                .header(ROUTES_HEADER, "?")
                .header(REQUESTS_HEADER, "?")
                .header(TEXTS_HEADER, "?")
                .body(Body::from(encoded))
        };
        let response = self.post(&url, request).await?;
        let status = response.status();
        let steps = response
            .headers()
            .get(STEPS_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        let routes = response
            .headers()
            .get(ROUTES_HEADER)
            .map(|v| form_urlencoded::parse(v.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let set_off = set_off(response.headers());
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
            .unwrap_or_default();
        self.exchanges.push(Exchange {
            method: method.to_string(),
            url: url.clone(),
            params,
            status: status.as_u16(),
            twiml: body.clone(),
            steps,
            routes,
            at_event: self.events.len(),
        });
        // The requests came before the answer's verbs: the caller waited
        // for them.
        self.events.extend(set_off);
        if status != StatusCode::OK {
            return Err(SimulationError::Http {
                url,
                status: status.as_u16(),
                body,
            });
        }
        let document = Response::parse(&body).map_err(|e| SimulationError::BadTwiml {
            url: url.clone(),
            error: e.to_string(),
        })?;
        Ok(document.verbs)
    }

    /// Plays a whole call from a script: each time the call waits, the next
    /// action that fits is taken; with none left, the caller stays silent,
    /// dials complete and messages are left, until the call ends.
    pub async fn play_script(
        router: Router,
        setup: CallSetup,
        script: impl IntoIterator<Item = CallerAction>,
    ) -> Result<SimulatedCall, SimulationError> {
        let mut script: std::collections::VecDeque<CallerAction> = script.into_iter().collect();
        let mut call = SimulatedCall::start(router, setup).await?;
        while call.ended().is_none() {
            let action = match script.front() {
                Some(CallerAction::HangUp) => script.pop_front(),
                Some(next) if fits(call.waiting(), next) => script.pop_front(),
                _ => None,
            };
            let action = action.unwrap_or_else(|| call.default_action());
            call.respond(action).await?;
        }
        Ok(call)
    }

    /// What happens where the call waits when nobody says otherwise: the
    /// caller stays silent, dials are answered (and whispers accepted),
    /// messages are left, agents end their sessions, and a caller in a
    /// queue hears the hold steps once before an agent takes the call.
    pub fn default_action(&self) -> CallerAction {
        match &self.waiting {
            Waiting::Dial { whisper: true, .. } => CallerAction::Callee(CalleeAnswer::Accepts),
            Waiting::Dial { .. } => CallerAction::DialOutcome("completed".into()),
            Waiting::Record => CallerAction::Record,
            Waiting::Agent { .. } => CallerAction::AgentEnds(None),
            Waiting::Queue { holds: 0, .. } => CallerAction::Queue(QueueEvent::Hold),
            Waiting::Queue { .. } => CallerAction::Queue(QueueEvent::Bridged),
            _ => CallerAction::Silence,
        }
    }

    /// Every step the call went through, in order, as `flow:step`.
    pub fn steps(&self) -> Vec<&str> {
        self.exchanges
            .iter()
            .flat_map(|e| e.steps.iter().map(String::as_str))
            .collect()
    }

    /// The call's variables as of the last callback URL.
    pub fn vars(&self) -> std::collections::BTreeMap<String, String> {
        let last_url = self.exchanges.last().map(|e| e.url.as_str()).unwrap_or("");
        let query = last_url.split_once('?').map_or("", |(_, q)| q);
        form_urlencoded::parse(query.as_bytes())
            .filter_map(|(k, v)| {
                k.strip_prefix("var.")
                    .map(|k| (k.to_owned(), v.into_owned()))
            })
            .collect()
    }

    /// The transcript as text, one event a line.
    pub fn transcript(&self) -> String {
        self.events.iter().map(|e| format!("{e}\n")).collect()
    }
}

/// Whether an action can be played where the call waits.
pub fn fits(waiting: &Waiting, action: &CallerAction) -> bool {
    matches!(
        (waiting, action),
        (
            Waiting::Input { .. },
            CallerAction::Press(_) | CallerAction::Say(_) | CallerAction::Silence
        ) | (Waiting::Dial { .. }, CallerAction::DialOutcome(_))
            | (Waiting::Dial { whisper: true, .. }, CallerAction::Callee(_))
            | (Waiting::Record, CallerAction::Record)
            | (
                Waiting::Agent { .. },
                CallerAction::AgentEnds(_) | CallerAction::AgentFails
            )
            | (Waiting::Queue { .. }, CallerAction::Queue(_))
    ) || matches!(
        (waiting, action),
        (Waiting::Input { holding: true, .. }, CallerAction::Queue(_))
    )
}

fn describe_waiting(waiting: &Waiting) -> String {
    match waiting {
        Waiting::Input { .. } => "keys or speech".into(),
        Waiting::Dial { .. } => "a dial outcome".into(),
        Waiting::Record => "a recording".into(),
        Waiting::Agent { .. } => "an agent session to end".into(),
        Waiting::Queue { queue, .. } => format!("the wait in queue {queue}"),
        Waiting::Ended { .. } => "nothing (it ended)".into(),
    }
}

fn describe_noun(noun: &Element) -> String {
    let text = noun
        .children
        .iter()
        .find(|c| c.name == "Identity")
        .and_then(|c| c.text.clone())
        .or_else(|| noun.text.clone())
        .unwrap_or_default();
    match noun.name.as_ref() {
        "Client" => format!("client:{text}"),
        "Conference" => format!("conference:{text}"),
        "Queue" => format!("queue:{text}"),
        _ => text,
    }
}

fn method_of(verb: &Element) -> Method {
    match verb.get_attr("method") {
        Some(m) if m.eq_ignore_ascii_case("GET") => Method::GET,
        _ => Method::POST,
    }
}

/// The step named in a callback URL, for the transcript.
fn step_of(url: Option<&str>) -> Option<String> {
    let query = url?.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "step")
        .map(|(_, v)| v.into_owned())
}

/// The router only needs the path: drop the scheme and host of an absolute
/// callback URL (as written when `PUBLIC_URL` is set).
/// The requests and texts a webhook set off, from the answer's headers.
fn set_off(headers: &axum::http::HeaderMap) -> Vec<Event> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let requests = header(REQUESTS_HEADER)
        .map(seen::decode)
        .unwrap_or_default();
    let texts = header(TEXTS_HEADER).map(texted::decode).unwrap_or_default();
    requests
        .into_iter()
        .map(|request| Event::Requested { request })
        .chain(texts.into_iter().map(|text| Event::Texted { text }))
        .collect()
}

fn path_of(url: &str) -> String {
    match url.split_once("://") {
        Some((_, rest)) => match rest.find('/') {
            Some(slash) => rest[slash..].to_owned(),
            None => "/".into(),
        },
        None => url.to_owned(),
    }
}

const ACCOUNT_SID: &str = "AC00000000000000000000000000000000";

/// What a simulated caller's message says, when a flow asks Twilio for its
/// transcript.
pub const SIMULATED_TRANSCRIPT: &str = "Hello, this is a simulated message.";

fn new_call_sid() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let hex: String = (0..32)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect();
    format!("CA{hex}")
}
