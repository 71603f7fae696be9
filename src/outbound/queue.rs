//! The background sender: requests a call does not wait for (`wait:
//! false`, and later text messages and voicemail notifications).
//!
//! Jobs go into a bounded queue and a worker sends them, a limited number
//! at a time, retrying what [`RetryPolicy`] says is worth it. Pushing never
//! waits: when the queue is full the job is dropped and a warning logged,
//! because a webhook must never be held up by a slow far server. Every
//! failure is logged with the call, flow and step it came from, and the
//! URL with its secrets masked, never headers or body.

use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};

use super::send::exchange;
use super::{OutboundSettings, Prepared, Reply, RetryPolicy};

/// A request to send in the background, and where it came from.
#[derive(Debug, Clone)]
pub struct Job {
    pub request: Prepared,
    pub place: JobPlace,
    pub kind: JobKind,
}

/// What a background request is for, which decides what its answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// A flow's `request` with `wait: false`: any 2xx is a success.
    Request,
    /// A text message to Twilio's Messages API: the answer holds the new
    /// MessageSid, or Twilio's reason for refusing it.
    TextMessage,
    /// A voicemail notification to the flow's webhook.
    Notification,
}

impl JobKind {
    /// What a job of this kind is, in a log line.
    fn noun(self) -> &'static str {
        match self {
            JobKind::Request => "background request",
            JobKind::TextMessage => "text message",
            JobKind::Notification => "voicemail notification",
        }
    }

    /// Why `reply`, which is not a success, is a failure.
    fn refusal(self, reply: &Reply) -> String {
        match self {
            JobKind::TextMessage => crate::messaging::api::read_reply(reply)
                .err()
                .unwrap_or_else(|| format!("Twilio answered {}", reply.status)),
            JobKind::Request | JobKind::Notification => {
                format!("the server answered {}", reply.status)
            }
        }
    }
}

/// The call, flow and step a job belongs to, for its log lines.
#[derive(Debug, Clone)]
pub struct JobPlace {
    pub call_sid: String,
    pub flow: String,
    pub step: String,
}

pub(super) struct Queue {
    jobs: mpsc::Sender<Job>,
}

impl Queue {
    /// Starts the worker on the current runtime.
    pub(super) fn start(
        client: reqwest::Client,
        settings: OutboundSettings,
        concurrency: usize,
    ) -> Queue {
        let (jobs, waiting) = mpsc::channel(settings.queue_capacity.max(1));
        tokio::spawn(work(waiting, client, settings, concurrency));
        Queue { jobs }
    }

    /// Queues `job`, or drops it with a warning when the queue is full.
    pub(super) fn push(&self, job: Job) {
        if let Err(error) = self.jobs.try_send(job) {
            let (mpsc::error::TrySendError::Full(job) | mpsc::error::TrySendError::Closed(job)) =
                error;
            tracing::warn!(
                call_sid = job.place.call_sid,
                flow = job.place.flow,
                step = job.place.step,
                method = %job.request.method,
                url = job.request.shown_url,
                "the background queue is full; this {} is dropped",
                job.kind.noun()
            );
        }
    }
}

async fn work(
    mut waiting: mpsc::Receiver<Job>,
    client: reqwest::Client,
    settings: OutboundSettings,
    concurrency: usize,
) {
    let slots = Arc::new(Semaphore::new(concurrency));
    while let Some(job) = waiting.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let client = client.clone();
        tokio::spawn(async move {
            deliver(&client, &job, settings.max_body_bytes, settings.retry).await;
            drop(slot);
        });
    }
}

/// Sends `job`, trying again while it is worth it; logs every failure.
/// Returns whether it got through.
pub(super) async fn deliver(
    client: &reqwest::Client,
    job: &Job,
    max_body: usize,
    policy: RetryPolicy,
) -> bool {
    let place = &job.place;
    let request = &job.request;
    for attempt in 1..=policy.tries.max(1) {
        let outcome = exchange(client, request, max_body).await;
        let problem = match &outcome {
            Ok(reply) if reply.is_success() => {
                sent(job, reply, attempt);
                return true;
            }
            Ok(reply) => job.kind.refusal(reply),
            Err(failure) => failure.to_string(),
        };
        let last = attempt == policy.tries || !RetryPolicy::worth_retrying(&outcome);
        // A level must be known when the line is compiled: one macro call
        // for each, with the same fields.
        macro_rules! failed {
            ($level:expr, $then:literal) => {
                tracing::event!(
                    $level,
                    call_sid = place.call_sid,
                    flow = place.flow,
                    step = place.step,
                    method = %request.method,
                    url = request.shown_url,
                    attempt,
                    "{} failed: {problem}; {}",
                    job.kind.noun(),
                    $then
                )
            };
        }
        if last {
            failed!(tracing::Level::ERROR, "giving up");
            return false;
        }
        failed!(tracing::Level::WARN, "trying again");
        tokio::time::sleep(policy.wait_after(attempt)).await;
    }
    false
}

/// Logs a job that got through: a text message with the SID Twilio gave
/// it, which is what an operator looks up in Twilio's console.
fn sent(job: &Job, reply: &Reply, attempt: u32) {
    let place = &job.place;
    match job.kind {
        JobKind::TextMessage => tracing::info!(
            call_sid = place.call_sid,
            flow = place.flow,
            step = place.step,
            message_sid = crate::messaging::api::read_reply(reply).ok(),
            attempt,
            "Twilio accepted the text message"
        ),
        JobKind::Request | JobKind::Notification => tracing::debug!(
            call_sid = place.call_sid,
            flow = place.flow,
            step = place.step,
            method = %job.request.method,
            url = job.request.shown_url,
            status = reply.status,
            attempt,
            "{} sent",
            job.kind.noun()
        ),
    }
}
