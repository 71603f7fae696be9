//! Twilio's report of a finished voicemail, for a `record` step with
//! `notify`: the step's notifications go out, in the background.
//!
//! The report comes to the URL the step wrote ([`super::NOTICE_PATH`]),
//! whose sealed state names the call's flow, step and variables, on the
//! flow version the call was on. Nothing here answers a caller: the call
//! has moved on, so a problem is logged and Twilio gets an empty answer.

use super::{CallState, EngineSettings, StateRejected, Turn, Webhook};
use crate::flow::FlowSet;
use crate::flow::steps::notify::Voicemail;
use crate::flow::steps::{Action, Call};
use crate::messaging::Texted;
use crate::outbound::Seen;

/// What a report set off: the transcript's share of it.
#[derive(Debug, Default)]
pub struct Noticed {
    pub requests: Vec<Seen>,
    pub texts: Vec<Texted>,
}

/// Sends the notifications Twilio's report `webhook` calls for; `Err` when
/// the report's state was not sealed by this line.
pub async fn notify(
    flows: &FlowSet,
    settings: &EngineSettings,
    webhook: &Webhook<'_>,
) -> Result<Noticed, StateRejected> {
    let call_sid = webhook.call_sid();
    let Some(state) = CallState::from_query(webhook.query, &settings.state_key)? else {
        tracing::warn!(
            call_sid,
            "a recording report without the call's state; nobody is notified"
        );
        return Ok(Noticed::default());
    };
    let found = flows.id_of(&state.flow).and_then(|flow| {
        let step = flows.get(flow).step_id(&state.step)?;
        match &flows.get(flow).step(step).action {
            Action::Record(record) => Some((flow, step, record)),
            _ => None,
        }
    });
    let Some((flow, step, record)) = found else {
        tracing::warn!(
            call_sid,
            flow = state.flow,
            step = state.step,
            "a recording report for a step that no longer records (the flow was edited); nobody is notified"
        );
        return Ok(Noticed::default());
    };
    let Some(notify) = &record.notify else {
        tracing::info!(
            call_sid,
            flow = state.flow,
            step = state.step,
            "a recording report for a step that no longer notifies (the flow was edited)"
        );
        return Ok(Noticed::default());
    };
    let Some(voicemail) = voicemail(webhook, record.transcribe == Some(true), &state) else {
        return Ok(Noticed::default());
    };
    let mut turn = Turn::new(flows, settings, webhook, Some(flows.version()));
    turn.enter_flow(flow);
    turn.state = state;
    turn.step = Some(step);
    if let Err(error) = notify.send(&mut turn, &voicemail).await {
        let place = turn.place();
        tracing::error!(
            call_sid = place.call_sid,
            flow = place.flow,
            step = place.step,
            "the voicemail notification could not be built: {error}"
        );
    }
    Ok(Noticed {
        requests: std::mem::take(&mut turn.requests),
        texts: std::mem::take(&mut turn.texts),
    })
}

/// The voicemail in a report, when this is the report that notifies: the
/// transcript's when the step transcribes (Twilio sends it, done or
/// failed), else the recording's once it is complete.
fn voicemail<'w>(
    webhook: &Webhook<'w>,
    transcribes: bool,
    state: &CallState,
) -> Option<Voicemail<'w>> {
    let given = |name| webhook.non_empty(name);
    let recording_url = given("RecordingUrl")?;
    let transcript = if transcribes {
        let status = given("TranscriptionStatus")?;
        (status == "completed")
            .then(|| given("TranscriptionText"))
            .flatten()
    } else {
        if given("RecordingStatus").is_some_and(|status| status != "completed") {
            tracing::warn!(
                call_sid = webhook.call_sid(),
                status = given("RecordingStatus"),
                "Twilio reports the recording did not complete; nobody is notified"
            );
            return None;
        }
        None
    };
    Some(Voicemail {
        recording_url,
        recording_sid: given("RecordingSid"),
        duration: given("RecordingDuration").and_then(|seconds| seconds.parse().ok()),
        transcript,
        from: given("From"),
        to: given("To"),
        vars: state.vars.clone(),
    })
}
