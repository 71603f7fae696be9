//! `connect`: hands the call to an AI agent (`<Connect><ConversationRelay>`)
//! or to a media server of yours (`<Connect><Stream>`) over a WebSocket, and
//! goes on when that session ends: "an AI first, a person when it hands
//! over" is a few lines.
//!
//! When the session ends, Twilio posts to the `<Connect>`'s action, which
//! brings the call back here. An agent that hands over sends `HandoffData`,
//! a JSON text, and `save` copies its fields into variables by path, as a
//! request's `save` does. `on: { completed, error }` says where each ending
//! goes; `next` takes the rest.

use indexmap::IndexMap;
use serde::Deserialize;

use super::request::save::SavePath;
use super::{Call, OnKey, Route, StepError, StepKind, StepSpec, Then, dial, request};
use crate::flow::compiler::Compiler;
use crate::flow::target::{StepId, Target};
use crate::flow::template::Text;
use crate::flow::yaml::Scalar;
use crate::twiml::{Element, bool_text};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConnectSpec {
    /// An AI agent through Twilio's ConversationRelay.
    pub(crate) conversation_relay: Option<RelaySpec>,
    /// The call's audio to a media server of yours.
    pub(crate) stream: Option<StreamSpec>,
    /// Variables from the agent's `HandoffData`, by dotted path.
    #[serde(default)]
    pub(crate) save: IndexMap<String, String>,
}

/// `<ConversationRelay>`: Twilio turns speech to text and back; your
/// agent answers over the WebSocket at `url`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RelaySpec {
    /// The agent's WebSocket, `wss://` with its host written out.
    pub(crate) url: String,
    /// What the agent says first; a template.
    pub(crate) welcome_greeting: Option<Scalar>,
    /// The language the agent hears and speaks, such as `en-US`.
    pub(crate) language: Option<String>,
    /// The voice of the agent's speech, as the text-to-speech provider names it.
    pub(crate) voice: Option<String>,
    /// Who turns the agent's text into speech (`ElevenLabs`, `Google`, `Amazon`).
    pub(crate) tts_provider: Option<String>,
    /// Who turns the caller's speech into text (`Deepgram`, `Google`).
    pub(crate) transcription_provider: Option<String>,
    /// `any`, `none`, `speech` or `dtmf`: what may cut the agent short.
    pub(crate) interruptible: Option<Scalar>,
    /// Whether keys the caller presses reach the agent.
    pub(crate) dtmf_detection: Option<bool>,
    /// Values your agent receives with the session; templates.
    #[serde(default)]
    pub(crate) parameters: IndexMap<String, Scalar>,
}

/// `<Stream>`: the call's audio, both ways, over the WebSocket at `url`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StreamSpec {
    /// The media server's WebSocket, `wss://` with its host written out.
    pub(crate) url: String,
    /// A name for the stream, unique within the call.
    pub(crate) name: Option<String>,
    /// Values your server receives with the stream; templates.
    #[serde(default)]
    pub(crate) parameters: IndexMap<String, Scalar>,
}

#[derive(Debug)]
pub struct Connect {
    /// `ConversationRelay` or `Stream`.
    pub noun: &'static str,
    socket: Socket,
    /// Attributes written as they are, by TwiML name.
    fixed: Vec<(&'static str, String)>,
    /// Attributes rendered for each call, by TwiML name.
    templated: Vec<(&'static str, Text)>,
    save: Vec<SavePath>,
    on_completed: Option<Target>,
    on_error: Option<Target>,
}

impl StepKind for Connect {
    type Spec = ConnectSpec;
    const WAITS: bool = true;

    fn compile(spec: &ConnectSpec, step: &StepSpec, cx: &mut Compiler<'_>, path: &str) -> Self {
        let own = format!("{path}.connect");
        let mut fixed = Vec::new();
        let mut templated = Vec::new();
        let (noun, url, parameters, field) = match (&spec.conversation_relay, &spec.stream) {
            (Some(relay), None) => {
                let field = format!("{own}.conversation_relay");
                if let Some(greeting) = &relay.welcome_greeting {
                    let text = cx.text(greeting.as_str(), &format!("{field}.welcome_greeting"));
                    templated.push(("welcomeGreeting", text));
                }
                for (name, value) in [
                    ("language", &relay.language),
                    ("voice", &relay.voice),
                    ("ttsProvider", &relay.tts_provider),
                    ("transcriptionProvider", &relay.transcription_provider),
                ] {
                    if let Some(value) = value {
                        fixed.push((name, value.clone()));
                    }
                }
                if let Some(interruptible) = &relay.interruptible {
                    fixed.push(("interruptible", interruptible.as_str().to_owned()));
                }
                if let Some(dtmf) = relay.dtmf_detection {
                    fixed.push(("dtmfDetection", bool_text(dtmf).to_owned()));
                }
                ("ConversationRelay", &relay.url, &relay.parameters, field)
            }
            (None, Some(stream)) => {
                if let Some(name) = &stream.name {
                    fixed.push(("name", name.clone()));
                }
                let field = format!("{own}.stream");
                ("Stream", &stream.url, &stream.parameters, field)
            }
            _ => {
                let at = cx.key(&own);
                cx.error(
                    at,
                    "a `connect` takes one of `conversation_relay` (an AI agent) or `stream` (your media server)",
                );
                return Connect::empty();
            }
        };
        let socket = Socket::compile(cx, url, parameters, &field);
        let mut save = Vec::with_capacity(spec.save.len());
        for (var, path) in &spec.save {
            let at = format!("{own}.save.{var}");
            cx.check_variable_key(var, &at);
            match SavePath::parse(var, path) {
                Some(found) => save.push(found),
                None => {
                    let at = cx.value(&at);
                    cx.error(at, format!("`{path}` is not a path: write keys and list positions joined by dots, such as `queue.name`"));
                }
            }
        }
        let (on_completed, on_error) = routes(cx, step, path);
        Connect {
            noun,
            socket,
            fixed,
            templated,
            save,
            on_completed,
            on_error,
        }
    }

    fn targets(&self, next: Target, out: &mut Vec<Target>) {
        out.push(next);
        out.extend(self.on_completed);
        out.extend(self.on_error);
    }

    fn routes(&self, next: Target, out: &mut Vec<Route>) {
        out.push(Route::new("next", next));
        out.extend(
            self.on_completed
                .map(|target| Route::new("completed", target)),
        );
        out.extend(self.on_error.map(|target| Route::new("error", target)));
    }

    async fn perform<'w>(
        &self,
        call: &mut impl Call<'w>,
        _next: Target,
    ) -> Result<Then, StepError> {
        let mut noun = Element::new(self.noun);
        for (name, value) in &self.fixed {
            noun = noun.attr(*name, value.clone());
        }
        for (name, text) in &self.templated {
            noun = noun.attr(*name, call.render(text)?);
        }
        let noun = self.socket.render(call, noun)?;
        let action = call.waiting_url();
        call.emit(Element::new("Connect").attr("action", action).child(noun));
        Ok(Then::Stop)
    }

    fn resume<'w>(
        &self,
        call: &mut impl Call<'w>,
        _here: StepId,
        next: Target,
    ) -> Result<Option<Target>, StepError> {
        let failed =
            call.given("SessionStatus") == Some("failed") || call.given("ErrorCode").is_some();
        if failed {
            return Ok(Some(self.on_error.unwrap_or(next)));
        }
        let handoff: serde_json::Value = call
            .given("HandoffData")
            .and_then(|data| serde_json::from_str(data).ok())
            .unwrap_or_default();
        for save in &self.save {
            match save.find(&handoff) {
                Some(value) => call.set_var(&save.var, &value),
                None => call.unset_var(&save.var),
            }
        }
        Ok(Some(self.on_completed.unwrap_or(next)))
    }
}

impl Connect {
    /// What a `connect` with a mistake compiles to: the load fails anyway.
    fn empty() -> Connect {
        Connect {
            noun: "Stream",
            socket: Socket {
                url: Text::Plain(String::new()),
                parameters: Vec::new(),
            },
            fixed: Vec::new(),
            templated: Vec::new(),
            save: Vec::new(),
            on_completed: None,
            on_error: None,
        }
    }
}

/// A WebSocket a noun opens (`<ConversationRelay>`, `<Stream>`): its URL,
/// and the `<Parameter>`s the far server receives.
#[derive(Debug)]
pub(super) struct Socket {
    url: Text,
    parameters: Vec<(String, Text)>,
}

impl Socket {
    /// `url` and `parameters` written under `field`.
    pub(super) fn compile(
        cx: &mut Compiler<'_>,
        url: &str,
        parameters: &IndexMap<String, Scalar>,
        field: &str,
    ) -> Socket {
        Socket {
            url: socket_url(cx, url, &format!("{field}.url")),
            parameters: parameters
                .iter()
                .map(|(name, value)| {
                    let text = cx.text(value.as_str(), &format!("{field}.parameters.{name}"));
                    (name.clone(), text)
                })
                .collect(),
        }
    }

    /// `noun` with the URL and parameters as this call renders them.
    pub(super) fn render<'w>(
        &self,
        call: &mut impl Call<'w>,
        noun: Element,
    ) -> Result<Element, StepError> {
        let mut noun = noun.attr("url", call.render(&self.url)?);
        for (name, value) in &self.parameters {
            noun = noun.child(
                Element::new("Parameter")
                    .attr("name", name.clone())
                    .attr("value", call.render(value)?),
            );
        }
        Ok(noun)
    }
}

/// The WebSocket URL: `wss://` (or `ws://`), its host written out, so no
/// caller input can choose where the call's audio goes.
fn socket_url(cx: &mut Compiler<'_>, raw: &str, field: &str) -> Text {
    let trimmed = raw.trim();
    let lower = trimmed.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("wss://")
        .or_else(|| lower.strip_prefix("ws://"));
    let host = rest.map(|rest| rest.split(['/', '?']).next().unwrap_or_default());
    let problem = match host {
        None => Some("a `connect` URL starts with wss:// (or ws:// on a network of your own)"),
        Some("") => Some("the URL has no host"),
        Some(host) if host.contains("{{") || host.contains("{%") => Some(
            "the host must be written out: a template there would let caller input choose where the call's audio goes",
        ),
        Some(_) => None,
    };
    if let Some(problem) = problem {
        let at = cx.value(field);
        cx.error(at, problem);
    }
    cx.text(trimmed, field)
}

/// Where `on: { completed, error }` lead.
fn routes(cx: &mut Compiler<'_>, step: &StepSpec, path: &str) -> (Option<Target>, Option<Target>) {
    let (mut completed, mut error) = (None, None);
    for (key, target) in step.on.iter().flatten() {
        let field = format!("{path}.on.{}", key.as_str());
        match key {
            OnKey::Dial(dial::DialOutcome::Completed) => {
                completed = Some(cx.step_target(target, &field));
            }
            OnKey::Request(request::RequestOutcome::Error) => {
                error = Some(cx.step_target(target, &field));
            }
            _ => {
                let at = cx.key(&field);
                cx.error(at, format!("`{}` is not how a `connect` session ends", key.as_str()))
                    .help = Some("a connect's `on` takes `completed` (the session ended, the agent may have handed over) and `error` (it failed)".into());
            }
        }
    }
    (completed, error)
}
