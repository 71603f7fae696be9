//! `dial`: connects the caller to a number, a browser client, a SIP
//! address, a conference or a queue, as `<Dial>`; resumes with how the dial
//! ended and goes where `on` says. Targets built from templates are checked
//! against the step's `allow` list on every call, so caller input can never
//! dial anywhere else.

use serde::Deserialize;

use super::prompt::{Heard, Prompt, PromptItemSpec};
use super::say::{SaySpec, Speech};
use super::{Call, OnKey, Outcome, Route, StepError, StepKind, StepSpec, Then};
use crate::dial_target::{self, AllowList, DialTarget, TargetKind};
use crate::engine::Leg;
use crate::flow::compiler::Compiler;
use crate::flow::target::{StepId, Target};
use crate::flow::template::Text;
use crate::flow::yaml::{FromShorthand, OneOrMany, Scalar, Shorthand};
use crate::twiml::{Element, bool_text};

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DialSpec {
    /// A number, `client:NAME` or SIP URI, usually from a template.
    pub(crate) to: Option<Scalar>,
    pub(crate) number: Option<OneOrMany<Scalar>>,
    pub(crate) client: Option<OneOrMany<Scalar>>,
    pub(crate) sip: Option<Scalar>,
    pub(crate) conference: Option<Shorthand<ConferenceSpec>>,
    pub(crate) queue: Option<Scalar>,
    /// Said before dialling.
    pub(crate) say: Option<Shorthand<SaySpec>>,
    /// Said and played before dialling: a list of `say`, `play` and `pause`.
    pub(crate) prompt: Option<Vec<PromptItemSpec>>,
    pub(crate) caller_id: Option<Scalar>,
    pub(crate) timeout: Option<u32>,
    pub(crate) time_limit: Option<u32>,
    pub(crate) record: Option<DialRecord>,
    pub(crate) answer_on_bridge: Option<bool>,
    pub(crate) ring_tone: Option<String>,
    pub(crate) hangup_on_star: Option<bool>,
    /// Rings the people to call one after another, in the order written, each for `timeout` seconds, until one answers; left out, they all ring at once.
    pub(crate) one_at_a_time: Option<bool>,
    /// A step run on the called person's phone when they answer, before the two are joined: it can say who calls and ask "press 1 to accept". Its steps end to join the call, or hang up to decline it.
    pub(crate) whisper: Option<String>,
    /// Patterns a target built from a template must match: `+1*`, `client:*`.
    pub(crate) allow: Option<Vec<String>>,
    /// Said when a target is refused by `allow`.
    pub(crate) refused: Option<Shorthand<SaySpec>>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConferenceSpec {
    pub(crate) room: Scalar,
    pub(crate) muted: Option<bool>,
    pub(crate) beep: Option<Scalar>,
    pub(crate) start_on_enter: Option<bool>,
    pub(crate) end_on_exit: Option<bool>,
    pub(crate) wait_url: Option<String>,
    pub(crate) max_participants: Option<u32>,
}

impl FromShorthand for ConferenceSpec {
    fn from_shorthand(room: String) -> Self {
        ConferenceSpec {
            room: Scalar(room),
            muted: None,
            beep: None,
            start_on_enter: None,
            end_on_exit: None,
            wait_url: None,
            max_participants: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DialRecord {
    DoNotRecord,
    RecordFromAnswer,
    RecordFromRinging,
    RecordFromAnswerDual,
    RecordFromRingingDual,
}

impl DialRecord {
    pub fn as_str(self) -> &'static str {
        match self {
            DialRecord::DoNotRecord => "do-not-record",
            DialRecord::RecordFromAnswer => "record-from-answer",
            DialRecord::RecordFromRinging => "record-from-ringing",
            DialRecord::RecordFromAnswerDual => "record-from-answer-dual",
            DialRecord::RecordFromRingingDual => "record-from-ringing-dual",
        }
    }
}

/// How a `dial` ended, as Twilio reports it in `DialCallStatus`, plus
/// `refused` for a target the flow's `allow` list turned down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DialOutcome {
    Completed,
    Answered,
    Busy,
    NoAnswer,
    Failed,
    Canceled,
    Refused,
}

impl DialOutcome {
    pub const ALL: [DialOutcome; 7] = [
        DialOutcome::Completed,
        DialOutcome::Answered,
        DialOutcome::Busy,
        DialOutcome::NoAnswer,
        DialOutcome::Failed,
        DialOutcome::Canceled,
        DialOutcome::Refused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DialOutcome::Completed => "completed",
            DialOutcome::Answered => "answered",
            DialOutcome::Busy => "busy",
            DialOutcome::NoAnswer => "no-answer",
            DialOutcome::Failed => "failed",
            DialOutcome::Canceled => "canceled",
            DialOutcome::Refused => "refused",
        }
    }

    /// Whether Twilio sends this in `DialCallStatus`; `refused` is the
    /// engine's own.
    pub fn reported_by_twilio(self) -> bool {
        self != DialOutcome::Refused
    }

    pub fn parse(text: &str) -> Option<DialOutcome> {
        DialOutcome::ALL.into_iter().find(|o| o.as_str() == text)
    }
}

#[derive(Debug)]
pub struct Dial {
    /// What the caller hears before the dial rings.
    pub before: Vec<Prompt>,
    pub nouns: Vec<DialNoun>,
    pub caller_id: Option<Text>,
    pub timeout: Option<u32>,
    pub time_limit: Option<u32>,
    pub record: Option<DialRecord>,
    pub answer_on_bridge: Option<bool>,
    pub ring_tone: Option<String>,
    pub hangup_on_star: Option<bool>,
    /// `sequential`: ring one after another.
    pub one_at_a_time: Option<bool>,
    /// Checks targets built from templates; `None` when every target is
    /// written literally in the flow.
    pub allow: Option<AllowList>,
    pub refused: Speech,
    pub routes: Vec<(DialOutcome, Target)>,
    /// The first step the callee hears before the two are joined.
    pub whisper: Option<Target>,
}

#[derive(Debug)]
pub enum DialNoun {
    /// Written in the flow and checked at load time.
    Fixed(DialTarget),
    /// Rendered per call and checked against the step's `allow` list.
    Templated {
        text: Text,
        kind: Option<TargetKind>,
    },
    Conference(Conference),
    Queue(Text),
}

#[derive(Debug)]
pub struct Conference {
    pub room: Text,
    pub muted: Option<bool>,
    pub beep: Option<String>,
    pub start_on_enter: Option<bool>,
    pub end_on_exit: Option<bool>,
    pub wait_url: Option<String>,
    pub max_participants: Option<u32>,
}

impl Dial {
    pub(crate) fn route(&self, outcome: DialOutcome) -> Option<Target> {
        self.routes
            .iter()
            .find(|(o, _)| *o == outcome)
            .map(|(_, target)| *target)
    }

    /// The nouns, rendered and checked for this call; `Err` with the
    /// reason when a target from a template is refused.
    fn nouns<'w>(
        &self,
        call: &mut impl Call<'w>,
    ) -> Result<Result<Vec<Element>, String>, StepError> {
        let mut nouns = Vec::with_capacity(self.nouns.len());
        for noun in &self.nouns {
            nouns.push(match noun {
                DialNoun::Fixed(target) => target_noun(target),
                DialNoun::Templated { text, kind } => {
                    let raw = call.render(text)?;
                    match self.check(&raw, *kind) {
                        Ok(target) => target_noun(&target),
                        Err(reason) => return Ok(Err(reason)),
                    }
                }
                DialNoun::Conference(conference) => {
                    let room = call.render(&conference.room)?;
                    conference.noun(&room)
                }
                DialNoun::Queue(queue) => Element::with_text("Queue", call.render(queue)?),
            });
        }
        Ok(Ok(nouns))
    }

    /// Says `refused` and goes where `on: refused` leads (or hangs up).
    fn refuse<'w>(&self, call: &mut impl Call<'w>) -> Result<Then, StepError> {
        self.refused.say(call)?;
        call.note(Outcome::Dial(DialOutcome::Refused));
        let next = self.route(DialOutcome::Refused).unwrap_or(Target::Hangup);
        Ok(Then::Go(next))
    }

    /// Whether the dial calls someone (a number, a browser client, a SIP address), which the
    /// dial limits count; joining a conference or a queue places no call.
    fn places_a_call(&self) -> bool {
        self.nouns
            .iter()
            .any(|noun| matches!(noun, DialNoun::Fixed(_) | DialNoun::Templated { .. }))
    }

    /// A target built from a template, parsed and held to `allow`.
    fn check(&self, raw: &str, kind: Option<TargetKind>) -> Result<DialTarget, String> {
        let target = dial_target::parse(raw, kind).map_err(|refusal| refusal.to_string())?;
        match &self.allow {
            Some(allow) => allow
                .check(&target)
                .map(|()| target)
                .map_err(|refusal| refusal.to_string()),
            None => Err("the step has no allow list".to_owned()),
        }
    }
}

impl StepKind for Dial {
    type Spec = DialSpec;
    const WAITS: bool = true;

    fn compile(spec: &DialSpec, step: &StepSpec, cx: &mut Compiler<'_>, path: &str) -> Self {
        let dial_path = format!("{path}.dial");
        let mut nouns = Vec::new();
        let mut templated = false;
        let mut add =
            |cx: &mut Compiler<'_>, raw: &Scalar, kind: Option<TargetKind>, field: String| {
                let raw = raw.as_str();
                if Text::is_template_source(raw) {
                    templated = true;
                    let text = cx.text(raw, &field);
                    nouns.push(DialNoun::Templated { text, kind });
                    return;
                }
                match dial_target::parse(raw, kind) {
                    Ok(target) => nouns.push(DialNoun::Fixed(target)),
                    Err(refusal) => {
                        let at = cx.value(&field);
                        cx.error(at, format!("cannot dial `{raw}`: {refusal}"));
                    }
                }
            };
        if let Some(to) = &spec.to {
            add(cx, to, None, format!("{dial_path}.to"));
        }
        for (field, kind, values) in [
            ("number", TargetKind::Number, &spec.number),
            ("client", TargetKind::Client, &spec.client),
        ] {
            if let Some(values) = values {
                let many = values.0.len() > 1;
                for (i, value) in values.0.iter().enumerate() {
                    let field = if many {
                        format!("{dial_path}.{field}.{i}")
                    } else {
                        format!("{dial_path}.{field}")
                    };
                    add(cx, value, Some(kind), field);
                }
            }
        }
        if let Some(sip) = &spec.sip {
            add(cx, sip, Some(TargetKind::Sip), format!("{dial_path}.sip"));
        }
        let people = nouns.len();
        if let Some(Shorthand(conference)) = &spec.conference {
            let room = cx.text(conference.room.as_str(), &format!("{dial_path}.conference"));
            nouns.push(DialNoun::Conference(Conference {
                room,
                muted: conference.muted,
                beep: conference.beep.as_ref().map(|b| b.as_str().to_owned()),
                start_on_enter: conference.start_on_enter,
                end_on_exit: conference.end_on_exit,
                wait_url: conference.wait_url.clone(),
                max_participants: conference.max_participants,
            }));
        }
        if let Some(queue) = &spec.queue {
            let queue = cx.text(queue.as_str(), &format!("{dial_path}.queue"));
            nouns.push(DialNoun::Queue(queue));
        }
        if nouns.is_empty() && !cx.has_errors() {
            let at = cx.key(&dial_path);
            cx.error(at, "a dial needs someone to call: `to`, `number`, `client`, `sip`, `conference` or `queue`");
        }
        if nouns.len() > people && (people > 0 || nouns.len() - people > 1) {
            let at = cx.key(&dial_path);
            cx.error(
                at,
                "a conference or queue is dialled on its own: use a separate step for it",
            );
        }
        if spec.one_at_a_time == Some(true) && people < 2 && !cx.has_errors() {
            let at = cx.key(&format!("{dial_path}.one_at_a_time"));
            cx.warning(
                at,
                "`one_at_a_time` rings several people in turn, and this dial calls only one",
            );
        }
        let allow = match &spec.allow {
            Some(patterns) => match AllowList::parse(patterns) {
                Ok(list) => Some(list),
                Err(error) => {
                    let at = cx.value(&format!("{dial_path}.allow"));
                    cx.error(at, format!("bad `allow` pattern: {error}"));
                    None
                }
            },
            None => {
                if templated {
                    let at = cx.key(&dial_path);
                    cx.error(at, "this dial's target comes from a template, so it needs an `allow` list")
                        .help = Some("for example `allow: [\"+1*\", \"client:*\"]`: targets outside it are refused, never dialled".into());
                }
                None
            }
        };
        let caller_id = spec
            .caller_id
            .as_ref()
            .map(|c| cx.text(c.as_str(), &format!("{dial_path}.caller_id")));
        let refused = match &spec.refused {
            Some(Shorthand(say)) => Speech::compile(cx, say, &format!("{dial_path}.refused")),
            None => Speech::built_in(cx, "Sorry, that number cannot be called from this line."),
        };
        let whisper = spec.whisper.as_deref().map(|name| {
            let field = format!("{dial_path}.whisper");
            if name == "hangup" || nouns.iter().any(|n| matches!(n, DialNoun::Conference(_))) {
                let at = cx.value(&field);
                cx.error(at, "`whisper` names a step the person called hears before the call is joined (a conference has none)");
            }
            cx.step_target(name, &field)
        });
        let mut routes = Vec::new();
        for (key, target) in step.on.iter().flatten() {
            let field = format!("{path}.on.{}", key.as_str());
            match key {
                OnKey::Dial(outcome) => routes.push((*outcome, cx.step_target(target, &field))),
                OnKey::Request(_) => {
                    let at = cx.key(&field);
                    cx.error(at, format!("`{}` is how a request goes, not a dial", key.as_str()))
                        .help = Some("a dial's `on` takes how it ended: completed, busy, no-answer, failed, canceled, refused".into());
                }
                OnKey::Queue(_) => {
                    let at = cx.key(&field);
                    cx.error(at, format!("`{}` is how a wait in a queue ends, not a dial", key.as_str()))
                        .help = Some("a dial's `on` takes how it ended: completed, busy, no-answer, failed, canceled, refused".into());
                }
            }
        }
        Dial {
            before: Heard::BeforeVerb.prompts(cx, &spec.say, &None, &spec.prompt, &dial_path),
            nouns,
            caller_id,
            timeout: spec.timeout,
            time_limit: spec.time_limit,
            record: spec.record,
            answer_on_bridge: spec.answer_on_bridge,
            one_at_a_time: spec.one_at_a_time,
            ring_tone: spec.ring_tone.clone(),
            hangup_on_star: spec.hangup_on_star,
            allow,
            refused,
            routes,
            whisper,
        }
    }

    fn targets(&self, next: Target, out: &mut Vec<Target>) {
        out.extend(self.routes.iter().map(|(_, target)| *target));
        out.push(next);
    }

    fn legs(&self, out: &mut Vec<(Leg, Target)>) {
        out.extend(self.whisper.map(|whisper| (Leg::Callee, whisper)));
    }

    fn routes(&self, next: Target, out: &mut Vec<Route>) {
        let on = self.routes.iter();
        out.extend(on.map(|(outcome, target)| Route::new(outcome.as_str(), *target)));
        out.push(Route::new("next", next));
        out.extend(self.whisper.map(|whisper| Route::new("whisper", whisper)));
    }

    async fn perform<'w>(
        &self,
        call: &mut impl Call<'w>,
        _next: Target,
    ) -> Result<Then, StepError> {
        let mut nouns = match self.nouns(call)? {
            Ok(nouns) => nouns,
            Err(reason) => {
                let place = call.place();
                tracing::warn!(
                    call_sid = place.call_sid,
                    flow = %place.flow,
                    step = %place.step,
                    %reason,
                    "refused to dial a target built from caller input"
                );
                return self.refuse(call);
            }
        };
        if self.places_a_call()
            && let Err(limited) = call.count_dial()
        {
            let place = call.place();
            tracing::warn!(
                call_sid = place.call_sid,
                flow = %place.flow,
                step = %place.step,
                limit = limited.setting(),
                reason = %limited,
                "refused to dial: a browser dial limit is reached"
            );
            return self.refuse(call);
        }
        for verb in Prompt::render_all(&self.before, call)? {
            call.emit(verb);
        }
        let caller_id = self
            .caller_id
            .as_ref()
            .map(|id| call.render(id))
            .transpose()?;
        if self.whisper.is_some() {
            let whisper = call.leg_url(Leg::Callee);
            for noun in &mut nouns {
                if matches!(noun.name.as_ref(), "Number" | "Client" | "Sip" | "Queue") {
                    noun.set_attr("url", whisper.clone());
                    noun.set_attr("method", "POST");
                }
            }
        }
        let url = call.waiting_url();
        call.emit(verb(
            DialAttributes {
                action: &url,
                caller_id: caller_id.as_deref(),
                timeout: self.timeout,
                time_limit: self.time_limit,
                record: self.record.map(|r| r.as_str()),
                answer_on_bridge: self.answer_on_bridge,
                ring_tone: self.ring_tone.as_deref(),
                hangup_on_star: self.hangup_on_star,
                sequential: self.one_at_a_time,
            },
            nouns,
        ));
        Ok(Then::Stop)
    }

    fn resume<'w>(
        &self,
        call: &mut impl Call<'w>,
        _here: StepId,
        next: Target,
    ) -> Result<Option<Target>, StepError> {
        if call.leg() == Leg::Callee {
            // The callee answered: the whisper, or (edited away) the join.
            return Ok(Some(self.whisper.unwrap_or(Target::End)));
        }
        let status = call.param("DialCallStatus").unwrap_or("failed");
        let mut outcome = DialOutcome::parse(status).unwrap_or(DialOutcome::Failed);
        // A callee who answered and declined the whisper (or let it run out)
        // was never joined: for the caller, nobody answered.
        if self.whisper.is_some()
            && outcome == DialOutcome::Completed
            && call.param("DialBridged") == Some("false")
        {
            outcome = DialOutcome::NoAnswer;
        }
        call.note(Outcome::Dial(outcome));
        Ok(Some(self.route(outcome).unwrap_or(next)))
    }
}

impl Conference {
    /// `<Conference>` joining `room`, the room's name as rendered.
    pub fn noun(&self, room: &str) -> Element {
        Element::with_text("Conference", room)
            .attr_opt("muted", self.muted.map(bool_text))
            .attr_opt("beep", self.beep.as_deref())
            .attr_opt("startConferenceOnEnter", self.start_on_enter.map(bool_text))
            .attr_opt("endConferenceOnExit", self.end_on_exit.map(bool_text))
            .attr_opt("waitUrl", self.wait_url.as_deref())
            .attr_opt(
                "maxParticipants",
                self.max_participants.map(|n| n.to_string()),
            )
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

/// The attributes of `<Dial>`, as rendered for one call.
pub struct DialAttributes<'a> {
    pub action: &'a str,
    pub caller_id: Option<&'a str>,
    pub timeout: Option<u32>,
    pub time_limit: Option<u32>,
    pub record: Option<&'a str>,
    pub answer_on_bridge: Option<bool>,
    pub ring_tone: Option<&'a str>,
    pub hangup_on_star: Option<bool>,
    pub sequential: Option<bool>,
}

pub fn verb(attributes: DialAttributes<'_>, nouns: Vec<Element>) -> Element {
    let mut element = Element::new("Dial")
        .attr("action", attributes.action)
        .attr_opt("callerId", attributes.caller_id.filter(|c| !c.is_empty()))
        .attr_opt("timeout", attributes.timeout.map(|n| n.to_string()))
        .attr_opt("timeLimit", attributes.time_limit.map(|n| n.to_string()))
        .attr_opt("record", attributes.record)
        .attr_opt("answerOnBridge", attributes.answer_on_bridge.map(bool_text))
        .attr_opt("ringTone", attributes.ring_tone)
        .attr_opt("hangupOnStar", attributes.hangup_on_star.map(bool_text))
        .attr_opt("sequential", attributes.sequential.map(bool_text));
    element.children = nouns;
    element
}
