//! Playing one test call: the script against what the call does.
//!
//! The call is driven by the simulator, exactly as `callflow call` and the
//! integration tests drive it. Expectations are checked in the order they
//! are written against one timeline of the call (what was said, dialled and
//! recorded, the steps each webhook ran, the variables after each turn):
//! each one is looked for from where the previous one matched, so `hears`
//! after `dials` must be heard after the dial. A webhook reports the steps
//! it ran but not which of them said what, so `reaches` and `sets` are
//! looked for from the start of the webhook that said what was matched
//! last: `hears: Sorry` then `reaches: menu` holds when one webhook said
//! sorry and went back to the menu. Actions are played where the
//! call waits, and an action also moves the check past everything that came
//! before it. The call is not driven further than the script says, unless
//! the script ends with `ends:`, which plays on to the end (silence at
//! gathers, dials answered, messages left) and checks how the call ended.

use std::collections::BTreeMap;

use axum::Router;

use super::load::{Ending, Item, Pattern, TestCall};
use super::requests::RequestExpectation;
use crate::engine::CallState;
use crate::outbound::Failure as RequestFailure;
use crate::simulator::{CallEnd, CallerAction, Event, Exchange, SimulatedCall, Waiting};
use crate::twiml::{Element, Response};

/// How one test call went.
#[derive(Debug)]
pub struct Played {
    pub failure: Option<Failure>,
    /// The call as far as it went, for the transcript and coverage; `None`
    /// when it could not even be placed.
    pub call: Option<SimulatedCall>,
}

/// Why a test call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The script line (index) that failed; `None` for the call itself.
    pub line: Option<usize>,
    /// What the line expected, as a sentence.
    pub expected: String,
    /// What happened instead.
    pub actual: String,
}

/// Plays a test call against a router whose clock is the call's `at`.
pub async fn play(router: Router, test: &TestCall) -> Played {
    let call = match SimulatedCall::start(router, test.setup.clone()).await {
        Ok(call) => call,
        Err(error) => {
            return Played {
                failure: Some(Failure {
                    line: None,
                    expected: "expected the call to be placed".into(),
                    actual: error.to_string(),
                }),
                call: None,
            };
        }
    };
    // The engine apologises rather than fail, so a call no flow answered
    // could pass a loose script; the first webhook running no step says so,
    // unless its flow turned the caller away (`callers`) before any step.
    let turned_away = matches!(call.ended(), Some(CallEnd::Rejected(_)));
    if !turned_away && call.exchanges.first().is_some_and(|e| e.steps.is_empty()) {
        return Played {
            failure: Some(Failure {
                line: None,
                expected: "expected a flow to answer the call".into(),
                actual: "no flow did: name one with `flow:`, or check which flow routing picks (DEFAULT_FLOW, OUTBOUND_FLOW, a flow's `numbers`)".into(),
            }),
            call: Some(call),
        };
    }
    let mut player = Player {
        call,
        cursor: 0,
        steps_cursor: 0,
        vars_cursor: 0,
        requests_cursor: 0,
        floor: 0,
        after_line: None,
    };
    let mut failure = None;
    for (n, line) in test.script.iter().enumerate() {
        if let Err((expected, actual)) = player.line(&line.item).await {
            failure = Some(Failure {
                line: Some(n),
                expected,
                actual,
            });
            break;
        }
        player.after_line = Some(line.position.line);
    }
    // A request no stub answered took the flow's error path, which may
    // well be what the script then failed on: say so first.
    if let Some(unstubbed) = unstubbed(&player.call) {
        failure = Some(Failure {
            line: None,
            expected: "expected every request the call makes to be stubbed".into(),
            actual: format!(
                "the call made {unstubbed}, which no `http:` stub matches: add one (`- match: {unstubbed}`)"
            ),
        });
    }
    Played {
        failure,
        call: Some(player.call),
    }
}

/// The first request of the call that no stub matched, as `METHOD URL`.
fn unstubbed(call: &SimulatedCall) -> Option<String> {
    let not_stubbed = RequestFailure::NotStubbed.to_string();
    call.requests()
        .into_iter()
        .find(|seen| seen.problem.as_deref() == Some(not_stubbed.as_str()))
        .map(|seen| format!("{} {}", seen.method, seen.url))
}

/// A line that did not hold: what it expected, and what happened.
type Miss = (String, String);

struct Player {
    call: SimulatedCall,
    /// Where in the timeline the next expectation starts looking.
    cursor: usize,
    /// Past the last step matched, which `reaches` may not match again.
    steps_cursor: usize,
    /// Past the last variables matched, for `sets`.
    vars_cursor: usize,
    /// Past the last request matched, for `requests`.
    requests_cursor: usize,
    /// Where the last action was played: nothing before it matches again.
    floor: usize,
    /// The file line of the last script line that held, for messages.
    after_line: Option<usize>,
}

/// Where an expectation looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Said, dialled, recorded: from the last match on.
    Events,
    /// Steps, from the start of the webhook of the last match on, as a
    /// webhook's steps are not placed among its events.
    Steps,
    /// Variables, likewise.
    Vars,
    /// Requests, likewise: a turn's requests are made before the caller
    /// hears anything of it, so `hears` then `requests` of one turn holds.
    Requests,
}

/// The call's timeline, and where each webhook's part of it starts.
struct Timeline<'c> {
    moments: Vec<Moment<'c>>,
    turn_starts: Vec<usize>,
}

/// One thing on the call's timeline.
#[derive(Debug)]
enum Moment<'c> {
    Event(&'c Event),
    /// A step a webhook ran, as `flow:step`.
    Step(&'c str),
    /// The variables after a webhook, as its callback URLs carry them.
    Vars(BTreeMap<String, String>),
}

impl Player {
    async fn line(&mut self, item: &Item) -> Result<(), Miss> {
        match item {
            Item::Hears(pattern) => self.expect_heard(pattern),
            Item::Dials { target, outcome } => {
                self.expect_dial(target)?;
                match outcome {
                    Some(outcome) => self.act(CallerAction::DialOutcome(outcome.clone())).await,
                    None => Ok(()),
                }
            }
            Item::Records => {
                self.expect(
                    Scope::Events,
                    |m| matches!(m, Moment::Event(Event::Recording)),
                    "expected a recording".into(),
                    |player| format!("no recording {}", player.after()),
                )?;
                self.act(CallerAction::Record).await
            }
            Item::Reaches { flow, step } => self.expect_step(flow.as_deref(), step),
            Item::Sets(vars) => self.expect_vars(vars),
            Item::Ends(ending) => self.expect_end(*ending).await,
            Item::Press(keys) => self.act(CallerAction::Press(keys.clone())).await,
            Item::Say(words) => self.act(CallerAction::Say(words.clone())).await,
            Item::Silence => self.act(CallerAction::Silence).await,
            Item::Outcome(outcome) => self.act(CallerAction::DialOutcome(outcome.clone())).await,
            Item::HangUp => self.act(CallerAction::HangUp).await,
            Item::Requests(expected) => self.expect_request(expected),
            Item::Texts { to, body } => self.expect_text(to.as_ref(), body.as_ref()),
            Item::Queued { queue, event } => {
                self.expect(
                    Scope::Events,
                    |m| matches!(m, Moment::Event(Event::Queued { queue: name }) if queue.matches(name)),
                    format!("expected the caller in queue {queue}"),
                    |player| format!("no queue was entered {}", player.after()),
                )?;
                self.act(CallerAction::Queue(*event)).await
            }
            Item::Queue(event) => self.act(CallerAction::Queue(*event)).await,
            Item::Callee(answer) => self.act(CallerAction::Callee(*answer)).await,
            Item::CalleeHears(pattern) => self.expect(
                Scope::Events,
                |m| matches!(m, Moment::Event(Event::CalleeHeard { text }) if pattern.matches(text)),
                format!("expected the callee to hear \"{pattern}\""),
                |player| format!("the callee did not hear it {}", player.after()),
            ),
            Item::Connects { url, end } => {
                self.expect(
                    Scope::Events,
                    |m| matches!(m, Moment::Event(Event::Connected { url: to, .. }) if url.matches(to)),
                    format!("expected a connect to {url}"),
                    |player| format!("no connect to {url} {}", player.after()),
                )?;
                self.act(end.clone()).await
            }
        }
    }

    /// Finds the first moment that fits where `scope` says to look, and
    /// moves past it.
    fn expect(
        &mut self,
        scope: Scope,
        fits: impl Fn(&Moment<'_>) -> bool,
        expected: String,
        actual: impl FnOnce(&Player) -> String,
    ) -> Result<(), Miss> {
        let timeline = timeline(&self.call);
        let start = self.start(scope, &timeline);
        let found = timeline.moments.iter().skip(start).position(fits);
        match found {
            Some(offset) => {
                let at = start + offset + 1;
                match scope {
                    Scope::Events => {}
                    Scope::Steps => self.steps_cursor = at,
                    Scope::Vars => self.vars_cursor = at,
                    Scope::Requests => self.requests_cursor = at,
                }
                self.cursor = self.cursor.max(at);
                Ok(())
            }
            None => Err((
                expected,
                format!("{}; {}", actual(self), self.whereabouts()),
            )),
        }
    }

    fn start(&self, scope: Scope, timeline: &Timeline<'_>) -> usize {
        match scope {
            Scope::Events => self.cursor,
            Scope::Steps | Scope::Vars | Scope::Requests => {
                let turn = timeline
                    .turn_starts
                    .iter()
                    .rev()
                    .find(|&&start| start < self.cursor)
                    .copied()
                    .unwrap_or(0);
                let own = match scope {
                    Scope::Steps => self.steps_cursor,
                    Scope::Requests => self.requests_cursor,
                    _ => self.vars_cursor,
                };
                turn.max(self.floor).max(own)
            }
        }
    }

    fn expect_heard(&mut self, pattern: &Pattern) -> Result<(), Miss> {
        let heard = |m: &Moment<'_>| match m {
            Moment::Event(Event::Heard { text }) => pattern.matches(text),
            Moment::Event(Event::Played { url }) => pattern.matches(url),
            _ => false,
        };
        let earlier = timeline(&self.call)
            .moments
            .iter()
            .take(self.cursor)
            .any(&heard);
        self.expect(
            Scope::Events,
            heard,
            format!("expected to hear \"{pattern}\""),
            |player| {
                let mut actual = format!("not heard {}", player.after());
                if earlier {
                    actual.push_str(" (it was heard earlier)");
                }
                actual
            },
        )
    }

    fn expect_dial(&mut self, target: &Pattern) -> Result<(), Miss> {
        self.expect(
            Scope::Events,
            |m| match m {
                Moment::Event(Event::Dialled { targets }) => {
                    targets.iter().any(|t| target.matches(t))
                }
                _ => false,
            },
            format!("expected a dial to {target}"),
            |player| {
                let dialled: Vec<&str> = player
                    .moments_after(Scope::Events)
                    .iter()
                    .filter_map(|m| match m {
                        Moment::Event(Event::Dialled { targets }) => Some(targets),
                        _ => None,
                    })
                    .flatten()
                    .map(String::as_str)
                    .collect();
                if dialled.is_empty() {
                    format!("nothing was dialled {}", player.after())
                } else {
                    format!("the call dialled {} {}", dialled.join(", "), player.after())
                }
            },
        )
    }

    fn expect_request(&mut self, expected: &RequestExpectation) -> Result<(), Miss> {
        self.expect(
            Scope::Requests,
            |m| matches!(m, Moment::Event(Event::Requested { request }) if expected.matches(request)),
            format!("expected a request {} {}", expected.method, expected.url),
            |player| {
                let made: Vec<String> = player
                    .moments_after(Scope::Requests)
                    .iter()
                    .filter_map(|m| match m {
                        Moment::Event(Event::Requested { request }) => {
                            let body = request.body.as_deref().map(|b| format!(" with {b}")).unwrap_or_default();
                            Some(format!("{} {}{body}", request.method, request.url))
                        }
                        _ => None,
                    })
                    .collect();
                if made.is_empty() {
                    format!("no request was made {}", player.after())
                } else {
                    format!("the requests made {} were {}", player.after(), made.join(", "))
                }
            },
        )
    }

    /// A text is sent in the turn, like a request: it shares their scope.
    fn expect_text(&mut self, to: Option<&Pattern>, body: Option<&Pattern>) -> Result<(), Miss> {
        let wanted: Vec<String> = [
            to.map(|to| format!("to {to}")),
            body.map(|body| format!("saying \"{body}\"")),
        ]
        .into_iter()
        .flatten()
        .collect();
        self.expect(
            Scope::Requests,
            |m| match m {
                Moment::Event(Event::Texted { text }) => {
                    text.refused.is_none()
                        && to.is_none_or(|to| to.matches(&text.to))
                        && body.is_none_or(|body| body.matches(&text.body))
                }
                _ => false,
            },
            format!("expected a text {}", wanted.join(" ")),
            |player| {
                let sent: Vec<String> = player
                    .moments_after(Scope::Requests)
                    .iter()
                    .filter_map(|m| match m {
                        Moment::Event(Event::Texted { text }) => Some(match &text.refused {
                            Some(reason) => {
                                format!("to {}: \"{}\" (not sent: {reason})", text.to, text.body)
                            }
                            None => format!("to {}: \"{}\"", text.to, text.body),
                        }),
                        _ => None,
                    })
                    .collect();
                if sent.is_empty() {
                    format!("no text was sent {}", player.after())
                } else {
                    format!("the texts sent {} were {}", player.after(), sent.join(", "))
                }
            },
        )
    }

    fn expect_step(&mut self, flow: Option<&str>, step: &str) -> Result<(), Miss> {
        let reached = |m: &Moment<'_>| match m {
            Moment::Step(visited) => match visited.rsplit_once(':') {
                Some((in_flow, name)) => name == step && flow.is_none_or(|f| f == in_flow),
                None => false,
            },
            _ => false,
        };
        let wanted = match flow {
            Some(flow) => format!("{flow}:{step}"),
            None => step.to_owned(),
        };
        self.expect(
            Scope::Steps,
            reached,
            format!("expected the call to reach step {wanted}"),
            |player| {
                let steps: Vec<&str> = player
                    .moments_after(Scope::Steps)
                    .iter()
                    .filter_map(|m| match m {
                        Moment::Step(step) => Some(*step),
                        _ => None,
                    })
                    .collect();
                if steps.is_empty() {
                    format!("no step ran {}", player.after())
                } else {
                    format!("the steps {} were {}", player.after(), steps.join(", "))
                }
            },
        )
    }

    fn expect_vars(&mut self, wanted: &[(String, Option<Pattern>)]) -> Result<(), Miss> {
        let holds = |vars: &BTreeMap<String, String>| {
            wanted
                .iter()
                .all(|(name, value)| match (vars.get(name), value) {
                    (Some(actual), Some(pattern)) => pattern.matches(actual),
                    (Some(actual), None) => !actual.is_empty(),
                    (None, _) => false,
                })
        };
        let expected = wanted
            .iter()
            .map(|(name, value)| match value {
                Some(value) => format!("{name} = {value}"),
                None => format!("{name} set"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        self.expect(
            Scope::Vars,
            |m| matches!(m, Moment::Vars(vars) if holds(vars)),
            format!("expected {expected}"),
            |player| {
                let last = player
                    .moments_after(Scope::Vars)
                    .iter()
                    .rev()
                    .find_map(|m| match m {
                        Moment::Vars(vars) => Some(vars.clone()),
                        _ => None,
                    })
                    .unwrap_or_default();
                let found: Vec<String> = wanted
                    .iter()
                    .map(|(name, _)| match last.get(name) {
                        Some(value) => format!("{name} was \"{value}\""),
                        None => format!("{name} was not set"),
                    })
                    .collect();
                let mut actual = format!("{} {}", found.join(", "), player.after());
                if player.call.ended().is_some() {
                    actual.push_str(
                        " (variables set in the webhook that ends a call are never sent on, so a test cannot see them)",
                    );
                }
                actual
            },
        )
    }

    /// Plays the call on to its end, then checks how it ended.
    async fn expect_end(&mut self, ending: Ending) -> Result<(), Miss> {
        let expected = format!("expected the call to end: {ending}");
        while self.call.ended().is_none() {
            let action = self.call.default_action();
            if let Err(error) = self.call.respond(action).await {
                return Err((expected, format!("the simulated call failed: {error}")));
            }
        }
        let end = self.call.ended().cloned().unwrap_or(CallEnd::EndOfTwiml);
        let holds = match ending {
            Ending::Hangup => matches!(end, CallEnd::Hangup | CallEnd::EndOfTwiml),
            Ending::Reject => matches!(end, CallEnd::Rejected(_)),
            Ending::DialCompleted => {
                return match last_dial(&self.call.events) {
                    LastDial::Completed if matches!(end, CallEnd::Hangup | CallEnd::EndOfTwiml) => {
                        Ok(())
                    }
                    LastDial::Completed => Err((expected, format!("it ended: {end}"))),
                    LastDial::None => Err((expected, "nothing was dialled".into())),
                    LastDial::EndedWith(outcome) => {
                        Err((expected, format!("the last dial ended: {outcome}")))
                    }
                    LastDial::WentOn(event) => Err((
                        expected,
                        format!("after the last dial was answered the call went on: {event}"),
                    )),
                };
            }
        };
        if holds {
            Ok(())
        } else {
            Err((expected, format!("it ended: {end}")))
        }
    }

    /// Plays an action where the call waits.
    async fn act(&mut self, action: CallerAction) -> Result<(), Miss> {
        let fits = match (self.call.waiting(), &action) {
            (Waiting::Ended { .. }, _) => false,
            (_, CallerAction::HangUp) => true,
            (Waiting::Input { dtmf, .. }, CallerAction::Press(_)) => *dtmf,
            (Waiting::Input { speech, .. }, CallerAction::Say(_)) => *speech,
            (waiting, action) => crate::simulator::fits(waiting, action),
        };
        if !fits {
            let actual = match self.call.waiting() {
                Waiting::Input { dtmf: false, .. } if matches!(action, CallerAction::Press(_)) => {
                    format!("{}, which listens to speech only", self.whereabouts())
                }
                Waiting::Input { speech: false, .. } if matches!(action, CallerAction::Say(_)) => {
                    format!("{}, which listens to keys only", self.whereabouts())
                }
                _ => self.whereabouts(),
            };
            return Err((format!("the {}", action_phrase(&action)), actual));
        }
        self.cursor = timeline(&self.call).moments.len();
        self.floor = self.cursor;
        self.call.respond(action.clone()).await.map_err(|error| {
            (
                format!("the {}", action_phrase(&action)),
                format!("the simulated call failed: {error}"),
            )
        })
    }

    /// "after line 9" or "at all".
    fn after(&self) -> String {
        match self.after_line {
            Some(line) => format!("after line {line}"),
            None => "at all".into(),
        }
    }

    fn moments_after(&self, scope: Scope) -> Vec<Moment<'_>> {
        let timeline = timeline(&self.call);
        let start = self.start(scope, &timeline);
        let mut moments = timeline.moments;
        moments.drain(..start.min(moments.len()));
        moments
    }

    /// Where the call is now, for a message.
    fn whereabouts(&self) -> String {
        let step = timeline(&self.call)
            .moments
            .iter()
            .rev()
            .find_map(|m| match m {
                Moment::Step(step) => Some(step.to_string()),
                _ => None,
            })
            .map(|step| format!(" at step {step}"))
            .unwrap_or_default();
        match self.call.waiting() {
            Waiting::Input { .. } => format!("the call waits for keys or speech{step}"),
            Waiting::Dial { targets, .. } => {
                format!(
                    "the call waits for the dial to {} to end{step}",
                    targets.join(", ")
                )
            }
            Waiting::Record => format!("the call waits for a recording{step}"),
            Waiting::Agent { url } => format!("the call is connected to {url}{step}"),
            Waiting::Queue { queue, .. } => format!("the call waits in queue {queue}{step}"),
            Waiting::Ended { end } => format!("the call has ended: {end}"),
        }
    }
}

/// "caller presses 1" and so on, as the transcript says it.
fn action_phrase(action: &CallerAction) -> String {
    match action {
        CallerAction::DialOutcome(outcome) => format!("dial to end: {outcome}"),
        other => other.to_string(),
    }
}

/// The call's events, the steps of its webhooks and its variables, in the
/// order they happened.
fn timeline(call: &SimulatedCall) -> Timeline<'_> {
    let mut timeline = Timeline {
        moments: Vec::with_capacity(call.events.len() * 2),
        turn_starts: Vec::with_capacity(call.exchanges.len()),
    };
    let mut exchanges = call.exchanges.iter().peekable();
    for (i, event) in call.events.iter().enumerate() {
        while let Some(exchange) = exchanges.next_if(|e| e.at_event <= i) {
            timeline.push_turn(exchange);
        }
        timeline.moments.push(Moment::Event(event));
    }
    for exchange in exchanges {
        timeline.push_turn(exchange);
    }
    timeline
}

impl<'c> Timeline<'c> {
    fn push_turn(&mut self, exchange: &'c Exchange) {
        self.turn_starts.push(self.moments.len());
        self.moments
            .extend(exchange.steps.iter().map(|s| Moment::Step(s.as_str())));
        if let Some(vars) = vars_after(exchange) {
            self.moments.push(Moment::Vars(vars));
        }
    }
}

/// The variables a webhook's answer carries on in its callback URLs; `None`
/// when it has none (the call ends there).
fn vars_after(exchange: &Exchange) -> Option<BTreeMap<String, String>> {
    let response = Response::parse(&exchange.twiml).ok()?;
    let url = response.verbs.iter().find_map(callback_url)?;
    let query = url.split_once('?')?.1;
    let pairs: Vec<_> = form_urlencoded::parse(query.as_bytes()).collect();
    CallState::read(&pairs).map(|state| state.vars)
}

fn callback_url(verb: &Element) -> Option<String> {
    if let Some(action) = verb.get_attr("action") {
        return Some(action.to_owned());
    }
    if verb.name == "Redirect" {
        return verb.text.clone();
    }
    verb.children.iter().find_map(callback_url)
}

enum LastDial<'c> {
    None,
    Completed,
    EndedWith(String),
    /// The call waited for the caller again after the dial.
    WentOn(&'c Event),
}

fn last_dial(events: &[Event]) -> LastDial<'_> {
    let Some(dial) = events
        .iter()
        .rposition(|e| matches!(e, Event::Dialled { .. }))
    else {
        return LastDial::None;
    };
    let after = &events[dial + 1..];
    let outcome = after.iter().find_map(|e| match e {
        Event::Caller {
            action: CallerAction::DialOutcome(outcome),
        } => Some(outcome.as_str()),
        _ => None,
    });
    match outcome {
        Some("completed" | "answered") => {}
        Some(other) => return LastDial::EndedWith(other.to_owned()),
        None => return LastDial::EndedWith("the caller hung up".into()),
    }
    match after
        .iter()
        .find(|e| matches!(e, Event::Listening { .. } | Event::Recording))
    {
        Some(event) => LastDial::WentOn(event),
        None => LastDial::Completed,
    }
}
