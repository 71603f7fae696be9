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
use super::{OutboundSettings, Prepared, RetryPolicy};

/// A request to send in the background, and where it came from.
#[derive(Debug, Clone)]
pub struct Job {
    pub request: Prepared,
    pub place: JobPlace,
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
                "the background queue is full; this request is dropped"
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
                tracing::debug!(
                    call_sid = place.call_sid,
                    flow = place.flow,
                    step = place.step,
                    method = %request.method,
                    url = request.shown_url,
                    status = reply.status,
                    attempt,
                    "background request sent"
                );
                return true;
            }
            Ok(reply) => format!("the server answered {}", reply.status),
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
                    "background request failed: {problem}; {}",
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
