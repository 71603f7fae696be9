//! callflow turns YAML call flows into Twilio voice calls.
//!
//! A person running a phone line writes flows in `flows/*.yaml`; Twilio posts
//! a webhook to `/voice` for every turn of a call, and callflow answers with
//! the TwiML of the step the call has reached. Everything a call needs between
//! two webhooks travels in the URLs Twilio calls back, so any instance can
//! answer any webhook and a restart loses no call.
//!
//! # Layout
//!
//! - [`flow`]: the flow language. `steps` holds each kind of step in a
//!   file of its own (its YAML, checks, TwiML and how it resumes); `load`
//!   reads, compiles and checks a folder of flows into a validated
//!   [`flow::FlowSet`]; `diagnostic` reports mistakes with file, line and
//!   column.
//! - [`engine`]: answers one webhook, as an async turn: resumes the call
//!   where its URL says and runs steps until the caller has to act.
//! - [`twiml`]: TwiML elements and a serializer that writes what Twilio's
//!   own helper libraries write.
//! - [`dial_target`]: what a flow may dial, and the normalisation that stops
//!   caller input from dialling anywhere else.
//! - [`dial_limit`]: how many dials browser calls may make a minute, per
//!   identity and overall.
//! - [`rate_limit`]: the per-client limiter behind the token endpoint's and
//!   the dials' limits.
//! - [`signature`]: X-Twilio-Signature, so forged webhooks are refused.
//! - [`token`]: Twilio Voice access tokens for the browser SDK.
//! - [`http`]: one axum router for every request (`/voice`, `/voice/token`,
//!   `/flows`, `/healthz`, the browser test page and its `/simulate` API),
//!   the tower layers every request goes through, one error type, and the
//!   accept loop with its connection limits.
//! - [`reload`]: hot reload: watch the flows folder, check, swap; keep
//!   recent versions for calls in progress.
//! - [`simulator`]: plays Twilio's side of a call against the router, for
//!   tests, `callflow call` and the browser page.
//! - [`flowtest`]: flow tests, calls scripted in `*.test.yaml` and played
//!   by `callflow test`.
//! - [`config`]: every setting, as one clap tree read from flags, the
//!   environment and `.env`; `callflow config` prints it.
//! - [`setting`]: what every group of settings is built from: the variable
//!   names, the value parsers and the problems they report.
//! - [`outbound`]: requests to other servers: the shared client, the
//!   background queue with its retries, and stubs for tests.
//! - [`logging`]: the log, one line per event, with every value escaped so
//!   that nothing a caller sends can forge a line.
//! - [`lsp`]: `callflow lsp`, a language server for flow files.
//! - [`cli`]: the `callflow` command line.

pub mod cli;
pub mod config;
pub mod dial_limit;
pub mod dial_target;
pub mod engine;
pub mod flow;
pub mod flowtest;
pub mod http;
pub mod logging;
pub mod lsp;
pub mod messaging;
pub mod metrics;
pub mod outbound;
pub mod rate_limit;
pub mod reload;
pub mod report;
pub mod setting;
pub mod signature;
pub mod simulator;
pub mod token;
pub mod twiml;
