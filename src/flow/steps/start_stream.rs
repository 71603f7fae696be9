//! `start_stream`: sends a copy of the call's audio to a WebSocket of yours
//! (live transcription, monitoring, analytics) while the flow goes on, as
//! `<Start><Stream>`. The stream runs until the call ends. Unlike
//! `connect: { stream }`, which hands the call over, nothing waits for it.

use indexmap::IndexMap;
use serde::Deserialize;

use super::connect::Socket;
use super::{Call, StepError, StepKind, StepSpec, Then};
use crate::flow::compiler::Compiler;
use crate::flow::target::Target;
use crate::flow::yaml::Scalar;
use crate::twiml::Element;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StartStreamSpec {
    /// Your server's WebSocket, `wss://` with its host written out.
    pub(crate) url: String,
    /// A name for the stream, unique within the call.
    pub(crate) name: Option<String>,
    /// Whose audio: `inbound_track` (the caller, the default), `outbound_track` or `both_tracks`.
    pub(crate) track: Option<StreamTrack>,
    /// Values your server receives with the stream; templates.
    #[serde(default)]
    pub(crate) parameters: IndexMap<String, Scalar>,
}

#[derive(Debug, Clone, Copy, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StreamTrack {
    InboundTrack,
    OutboundTrack,
    BothTracks,
}

#[derive(Debug)]
pub struct StartStream {
    socket: Socket,
    name: Option<String>,
    track: Option<&'static str>,
}

impl StepKind for StartStream {
    type Spec = StartStreamSpec;

    fn compile(
        spec: &StartStreamSpec,
        _step: &StepSpec,
        cx: &mut Compiler<'_>,
        path: &str,
    ) -> Self {
        let own = format!("{path}.start_stream");
        StartStream {
            socket: Socket::compile(cx, &spec.url, &spec.parameters, &own),
            name: spec.name.clone(),
            track: spec.track.map(|track| match track {
                StreamTrack::InboundTrack => "inbound_track",
                StreamTrack::OutboundTrack => "outbound_track",
                StreamTrack::BothTracks => "both_tracks",
            }),
        }
    }

    async fn perform<'w>(&self, call: &mut impl Call<'w>, next: Target) -> Result<Then, StepError> {
        let stream = Element::new("Stream")
            .attr_opt("name", self.name.clone())
            .attr_opt("track", self.track);
        let stream = self.socket.render(call, stream)?;
        call.emit(Element::new("Start").child(stream));
        Ok(Then::Go(next))
    }
}
