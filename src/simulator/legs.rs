//! The parts of a call Twilio plays on URLs of their own: a caller's wait
//! in a queue (`<Enqueue waitUrl>`, with `<Leave>`), and the whisper a
//! dialled person hears before being joined (`<Number url>`).
//!
//! A queue's hold steps play as Twilio plays them: fetched from the wait
//! URL with the queue's parameters, played to their end, and fetched again
//! each time the caller holds on. A whisper is fetched as the callee's own
//! call, with its own CallSid, and played through at once; what it heard
//! and whether the callee was joined go into the transcript, and the
//! caller's dial ends as Twilio would end it.

use axum::http::Method;

use super::{CallEnd, CalleeAnswer, Event, QueueEvent, SimulatedCall, SimulationError, Waiting};
use super::{describe_noun, method_of, new_call_sid};
use crate::twiml::Element;

/// Where a caller in a queue will be placed: behind one other caller, then
/// at the front after the next round of hold steps.
const FIRST_POSITION: u32 = 2;
/// How long each round of hold steps is taken to last.
const SECONDS_PER_HOLD: u32 = 30;
/// Twilio's queue size when `<Enqueue>` sets none.
const DEFAULT_MAX_QUEUE_SIZE: &str = "1000";
/// The key `accepts` presses at a whisper's question.
const ACCEPT_KEY: &str = "1";

/// A caller's stay in a queue.
#[derive(Debug)]
pub(super) struct QueueStay {
    enqueue: Element,
    /// The verbs after `<Enqueue>`, which Twilio plays when it has no
    /// action to ask, and the document they came from.
    after: Vec<Element>,
    after_url: String,
    holds: u32,
    queue_sid: String,
}

impl QueueStay {
    pub(super) fn waiting(&self) -> Waiting {
        Waiting::Queue {
            queue: self.enqueue.text.clone().unwrap_or_default(),
            holds: self.holds,
        }
    }

    fn position(&self) -> u32 {
        FIRST_POSITION
            .saturating_sub(self.holds.saturating_sub(1))
            .max(1)
    }
}

/// The parameters of the caller's dial action after a whisper: joined, the
/// two talked; not joined, the callee answered but never met the caller.
pub(super) fn whispered_dial(joined: bool) -> Vec<(String, String)> {
    vec![
        ("DialCallStatus".into(), "completed".into()),
        ("DialCallSid".into(), new_call_sid()),
        ("DialBridged".into(), joined.to_string()),
        (
            "DialCallDuration".into(),
            if joined { "42" } else { "6" }.into(),
        ),
    ]
}

impl SimulatedCall {
    /// The caller enters the queue `<Enqueue>` names, and waits there.
    pub(super) fn enqueue(&mut self, verb: Element) {
        let queue = verb.text.clone().unwrap_or_default();
        self.events.push(Event::Queued { queue });
        let stay = QueueStay {
            enqueue: verb,
            after: std::mem::take(&mut self.pending),
            after_url: self.document_url.clone(),
            holds: 0,
            queue_sid: format!("QU{}", &new_call_sid()[2..]),
        };
        self.waiting = stay.waiting();
        self.waiting_at = None;
        self.queue = Some(stay);
    }

    /// Plays a turn of the wait: another round of hold steps, or its end.
    pub(super) async fn queue_turn(&mut self, event: QueueEvent) -> Result<(), SimulationError> {
        let Some(mut stay) = self.queue.take() else {
            return Err(SimulationError::Unexpected {
                waiting: "nothing in a queue".into(),
                action: super::CallerAction::Queue(event),
            });
        };
        let result = match event {
            QueueEvent::Hold => return self.hold(stay).await,
            QueueEvent::Bridged => "bridged",
            QueueEvent::Full => "queue-full",
            QueueEvent::Hangup => "hangup",
            QueueEvent::Error => "error",
        };
        if event == QueueEvent::Hangup {
            // Twilio still reports the wait's end; nobody hears the answer.
            self.events.push(Event::LeftQueue {
                result: result.into(),
            });
            if let Some(action) = stay.enqueue.get_attr("action").map(str::to_owned) {
                let params = self.queue_params(&stay, result);
                self.exchange(method_of(&stay.enqueue), action, params)
                    .await?;
            }
            self.end(CallEnd::CallerHungUp);
            return Ok(());
        }
        stay.holds += 1;
        self.leave_queue(stay, result).await?;
        self.advance().await
    }

    /// Another round of hold steps, from the wait URL.
    async fn hold(&mut self, mut stay: QueueStay) -> Result<(), SimulationError> {
        stay.holds += 1;
        let Some(url) = stay.enqueue.get_attr("waitUrl").map(str::to_owned) else {
            self.events.push(Event::Played {
                url: "Twilio's hold music".into(),
            });
            self.waiting = stay.waiting();
            self.queue = Some(stay);
            return Ok(());
        };
        let mut params = self.standard_params("in-progress");
        let position = stay.position();
        params.extend([
            ("QueueSid".into(), stay.queue_sid.clone()),
            ("QueuePosition".into(), position.to_string()),
            (
                "QueueTime".into(),
                ((stay.holds - 1) * SECONDS_PER_HOLD).to_string(),
            ),
            ("AvgQueueTime".into(), "60".into()),
            ("CurrentQueueSize".into(), position.to_string()),
            (
                "MaxQueueSize".into(),
                stay.enqueue
                    .get_attr("maxQueueSize")
                    .unwrap_or(DEFAULT_MAX_QUEUE_SIZE)
                    .to_owned(),
            ),
        ]);
        let method = match stay.enqueue.get_attr("waitUrlMethod") {
            Some(m) if m.eq_ignore_ascii_case("GET") => Method::GET,
            _ => Method::POST,
        };
        self.queue = Some(stay);
        self.fetch(method, url, params).await?;
        self.advance().await
    }

    /// The caller is out of the queue: Twilio asks the `<Enqueue>`'s action
    /// with `QueueResult`, or plays what followed it.
    pub(super) async fn leave_queue(
        &mut self,
        stay: QueueStay,
        result: &str,
    ) -> Result<(), SimulationError> {
        self.events.push(Event::LeftQueue {
            result: result.into(),
        });
        match stay.enqueue.get_attr("action").map(str::to_owned) {
            Some(action) => {
                let params = self.queue_params(&stay, result);
                self.fetch(method_of(&stay.enqueue), action, params).await
            }
            None => {
                self.pending = stay.after;
                self.document_url = stay.after_url;
                Ok(())
            }
        }
    }

    fn queue_params(&self, stay: &QueueStay, result: &str) -> Vec<(String, String)> {
        let mut params = self.standard_params("in-progress");
        params.extend([
            ("QueueResult".into(), result.into()),
            ("QueueSid".into(), stay.queue_sid.clone()),
            (
                "QueueTime".into(),
                (stay.holds * SECONDS_PER_HOLD).to_string(),
            ),
        ]);
        params
    }

    /// The callee answers the dial and hears its whisper; says whether the
    /// two were joined.
    pub(super) async fn whisper(
        &mut self,
        dial: &Element,
        answer: CalleeAnswer,
    ) -> Result<bool, SimulationError> {
        let Some(noun) = dial.children.iter().find(|n| n.get_attr("url").is_some()) else {
            return Ok(true);
        };
        let url = noun.get_attr("url").unwrap_or_default().to_owned();
        let callee = describe_noun(noun);
        let sid = new_call_sid();
        let caller_id = dial
            .get_attr("callerId")
            .map_or_else(|| self.setup.from.clone(), str::to_owned);
        let parent = self.call_sid.clone();
        let params = |status: &str| {
            vec![
                ("AccountSid".to_owned(), super::ACCOUNT_SID.to_owned()),
                ("ApiVersion".into(), "2010-04-01".into()),
                ("CallSid".into(), sid.clone()),
                ("ParentCallSid".into(), parent.clone()),
                ("CallStatus".into(), status.into()),
                ("Direction".into(), "outbound-dial".into()),
                ("From".into(), caller_id.clone()),
                ("To".into(), callee.clone()),
            ]
        };
        let first = params("in-progress");
        let mut verbs = self.exchange(method_of(noun), url.clone(), first).await?;
        let mut at = 0;
        let joined = loop {
            let Some(verb) = verbs.get(at).cloned() else {
                // The whisper ran out: Twilio joins the two.
                break answer != CalleeAnswer::Declines;
            };
            at += 1;
            match verb.name.as_ref() {
                "Say" => self.events.push(Event::CalleeHeard {
                    text: verb.all_text(),
                }),
                "Play" | "Pause" => {}
                "Gather" => {
                    for prompt in verb.children.iter().filter(|c| c.name == "Say") {
                        self.events.push(Event::CalleeHeard {
                            text: prompt.all_text(),
                        });
                    }
                    let mut form = params("in-progress");
                    match answer {
                        CalleeAnswer::Declines => break false,
                        // Falls through to what follows the question.
                        CalleeAnswer::Silent => continue,
                        CalleeAnswer::Accepts => form.push(("Digits".into(), ACCEPT_KEY.into())),
                        CalleeAnswer::Presses(key) => form.push(("Digits".into(), key.to_string())),
                    }
                    let action = verb
                        .get_attr("action")
                        .map_or_else(|| url.clone(), str::to_owned);
                    verbs = self.exchange(method_of(&verb), action, form).await?;
                    at = 0;
                }
                "Redirect" => {
                    let to = verb.text.clone().unwrap_or_else(|| url.clone());
                    verbs = self
                        .exchange(method_of(&verb), to, params("in-progress"))
                        .await?;
                    at = 0;
                }
                // `<Hangup>`, or anything Twilio does not play there.
                _ => break false,
            }
        };
        self.events.push(Event::CalleeAnswered { joined });
        Ok(joined)
    }
}
