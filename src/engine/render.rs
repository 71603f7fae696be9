//! Compiled steps to TwiML verbs: where `say` becomes `<Say>`, a menu
//! becomes `<Gather>`, a dial becomes `<Dial>` with its nouns.
//!
//! Attribute names and values follow Twilio's TwiML reference; attributes a
//! flow leaves out are left out of the TwiML too, so Twilio's documented
//! defaults apply.

use crate::dial_target::{DialTarget, TargetKind};
use crate::flow::spec::{InputMode, RejectReason};
use crate::flow::{Action, Conference, DialNoun, Gather, Play, Prompt, Record, Speech, Text};
use crate::twiml::{Element, Prewritten};

/// The `<Say>` of `speech`, written when flows load: whole for plain text,
/// with the text as hole 0 for a template.
pub fn prewrite_say(speech: &Speech) -> Option<Prewritten> {
    match &speech.text {
        Text::Plain(text) => Prewritten::new(&[spoken(speech, text)], 0),
        Text::Template { .. } => Prewritten::new(&[spoken(speech, &Prewritten::hole(0))], 1),
    }
}

/// A step's TwiML written when flows load, with the callback URL as hole
/// 0, when nothing in it is templated. `say` steps use their speech's own
/// (see [`prewrite_say`]); steps that write no TwiML have none.
pub fn prewrite_step(action: &Action) -> Option<Prewritten> {
    let url = Prewritten::hole(0);
    match action {
        Action::Play(spec) => Prewritten::new(&[play(spec, plain_opt(spec.url.as_ref())?)], 0),
        Action::Pause(seconds) => Prewritten::new(&[pause(*seconds)], 0),
        Action::Hangup => Prewritten::new(&[hangup()], 0),
        Action::Reject(reason) => Prewritten::new(&[reject(*reason)], 0),
        Action::Gather(spec) => {
            let prompts = plain_prompts(&spec.prompts)?;
            Prewritten::new(&[gather(spec, &url, prompts), redirect(&url)], 2)
        }
        Action::Menu(menu) => {
            let prompts = plain_prompts(&menu.gather.prompts)?;
            Prewritten::new(&[gather(&menu.gather, &url, prompts), redirect(&url)], 2)
        }
        Action::Record(spec) => {
            let mut verbs = plain_prompts(&spec.prompts)?;
            verbs.push(record(
                spec,
                &url,
                plain_opt(spec.transcribe_callback.as_ref())?,
                plain_opt(spec.recording_status_callback.as_ref())?,
            ));
            verbs.push(redirect(&url));
            Prewritten::new(&verbs, 2)
        }
        // Only the `<Dial>`: the engine says `say` before it.
        Action::Dial(spec) => {
            let nouns = spec
                .nouns
                .iter()
                .map(|noun| match noun {
                    DialNoun::Fixed(target) => Some(target_noun(target)),
                    DialNoun::Templated { .. } => None,
                    DialNoun::Conference(conference) => {
                        Some(self::conference(conference, plain(&conference.room)?))
                    }
                    DialNoun::Queue(queue) => Some(Element::with_text("Queue", plain(queue)?)),
                })
                .collect::<Option<Vec<_>>>()?;
            let attributes = DialAttributes {
                action: &url,
                caller_id: plain_opt(spec.caller_id.as_ref())?,
                timeout: spec.timeout,
                time_limit: spec.time_limit,
                record: spec.record.map(|r| r.as_str()),
                answer_on_bridge: spec.answer_on_bridge,
                ring_tone: spec.ring_tone.as_deref(),
                hangup_on_star: spec.hangup_on_star,
            };
            Prewritten::new(&[dial(attributes, nouns)], 1)
        }
        _ => None,
    }
}

fn plain(text: &Text) -> Option<&str> {
    match text {
        Text::Plain(text) => Some(text),
        Text::Template { .. } => None,
    }
}

/// `Some(None)` when there is no text, `None` when it is templated.
fn plain_opt(text: Option<&Text>) -> Option<Option<&str>> {
    text.map_or(Some(None), |text| plain(text).map(Some))
}

fn plain_prompts(prompts: &[Prompt]) -> Option<Vec<Element>> {
    prompts
        .iter()
        .map(|spec| Some(prompt(spec, plain_opt(spec.text())?)))
        .collect()
}

/// `<Say>` for `speech`, saying `text` (its text as rendered).
pub fn spoken(speech: &Speech, text: &str) -> Element {
    say(
        text,
        speech.voice.as_deref(),
        speech.language.as_deref(),
        speech.loop_count,
    )
}

/// A gather's or recording's prompt, with its [`Prompt::text`] as rendered.
pub fn prompt(spec: &Prompt, rendered: Option<&str>) -> Element {
    match spec {
        Prompt::Say(speech) => spoken(speech, rendered.unwrap_or("")),
        Prompt::Play(play_spec) => play(play_spec, rendered),
    }
}

/// `<Number>`, `<Client>` or `<Sip>` for a checked target.
pub fn target_noun(target: &DialTarget) -> Element {
    let name = match target.kind() {
        TargetKind::Number => "Number",
        TargetKind::Client => "Client",
        TargetKind::Sip => "Sip",
    };
    Element::with_text(name, target.noun_text())
}

pub fn say(
    text: &str,
    voice: Option<&str>,
    language: Option<&str>,
    loop_count: Option<u32>,
) -> Element {
    Element::with_text("Say", text)
        .attr_opt("voice", voice)
        .attr_opt("language", language)
        .attr_opt("loop", loop_count.map(|n| n.to_string()))
}

pub fn play(spec: &Play, url: Option<&str>) -> Element {
    let element = match url {
        Some(url) => Element::with_text("Play", url),
        None => Element::new("Play"),
    };
    element
        .attr_opt("loop", spec.loop_count.map(|n| n.to_string()))
        .attr_opt("digits", spec.digits.as_deref())
}

pub fn pause(seconds: u32) -> Element {
    Element::new("Pause").attr("length", seconds.to_string())
}

/// `<Gather>` posting to `action`; the prompts go inside so the caller can
/// answer before they finish.
pub fn gather(spec: &Gather, action: &str, prompts: Vec<Element>) -> Element {
    let input = spec
        .input
        .iter()
        .map(|mode| match mode {
            InputMode::Dtmf => "dtmf",
            InputMode::Speech => "speech",
        })
        .collect::<Vec<_>>()
        .join(" ");
    let mut element = Element::new("Gather")
        .attr("action", action)
        .attr_opt("input", (input != "dtmf").then_some(input))
        .attr_opt("numDigits", spec.num_digits.map(|n| n.to_string()))
        .attr_opt("finishOnKey", spec.finish_on_key.as_deref())
        .attr_opt("timeout", spec.timeout.map(|n| n.to_string()))
        .attr_opt("speechTimeout", spec.speech_timeout.as_deref())
        .attr_opt("hints", spec.hints.as_deref())
        .attr_opt("language", spec.language.as_deref());
    element.children = prompts;
    element
}

/// `<Redirect>` back to the waiting step: Twilio reaches it when a gather
/// times out or a recording is empty, so the step learns there was no input.
pub fn redirect(url: &str) -> Element {
    Element::with_text("Redirect", url)
}

pub struct DialAttributes<'a> {
    pub action: &'a str,
    pub caller_id: Option<&'a str>,
    pub timeout: Option<u32>,
    pub time_limit: Option<u32>,
    pub record: Option<&'a str>,
    pub answer_on_bridge: Option<bool>,
    pub ring_tone: Option<&'a str>,
    pub hangup_on_star: Option<bool>,
}

pub fn dial(attributes: DialAttributes<'_>, nouns: Vec<Element>) -> Element {
    let mut element = Element::new("Dial")
        .attr("action", attributes.action)
        .attr_opt("callerId", attributes.caller_id.filter(|c| !c.is_empty()))
        .attr_opt("timeout", attributes.timeout.map(|n| n.to_string()))
        .attr_opt("timeLimit", attributes.time_limit.map(|n| n.to_string()))
        .attr_opt("record", attributes.record)
        .attr_opt("answerOnBridge", attributes.answer_on_bridge.map(bool_text))
        .attr_opt("ringTone", attributes.ring_tone)
        .attr_opt("hangupOnStar", attributes.hangup_on_star.map(bool_text));
    element.children = nouns;
    element
}

pub fn conference(spec: &Conference, room: &str) -> Element {
    Element::with_text("Conference", room)
        .attr_opt("muted", spec.muted.map(bool_text))
        .attr_opt("beep", spec.beep.as_deref())
        .attr_opt("startConferenceOnEnter", spec.start_on_enter.map(bool_text))
        .attr_opt("endConferenceOnExit", spec.end_on_exit.map(bool_text))
        .attr_opt("waitUrl", spec.wait_url.as_deref())
        .attr_opt(
            "maxParticipants",
            spec.max_participants.map(|n| n.to_string()),
        )
}

pub fn record(
    spec: &Record,
    action: &str,
    transcribe_callback: Option<&str>,
    recording_status_callback: Option<&str>,
) -> Element {
    Element::new("Record")
        .attr("action", action)
        .attr_opt("maxLength", spec.max_length.map(|n| n.to_string()))
        .attr_opt("timeout", spec.timeout.map(|n| n.to_string()))
        .attr_opt("finishOnKey", spec.finish_on_key.as_deref())
        .attr_opt("playBeep", spec.play_beep.map(bool_text))
        .attr_opt(
            "trim",
            spec.trim
                .map(|trim| if trim { "trim-silence" } else { "do-not-trim" }),
        )
        .attr_opt("transcribe", spec.transcribe.map(bool_text))
        .attr_opt(
            "transcribeCallback",
            transcribe_callback.filter(|u| !u.is_empty()),
        )
        .attr_opt(
            "recordingStatusCallback",
            recording_status_callback.filter(|u| !u.is_empty()),
        )
}

pub fn reject(reason: RejectReason) -> Element {
    Element::new("Reject").attr(
        "reason",
        match reason {
            RejectReason::Busy => "busy",
            RejectReason::Rejected => "rejected",
        },
    )
}

pub fn hangup() -> Element {
    Element::new("Hangup")
}

fn bool_text(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}
