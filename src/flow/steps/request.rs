//! `request`: calls another server's HTTP API in the middle of a call (an
//! order lookup, a CRM record, a survey's answers), saves values from its
//! JSON answer, and goes on, or where `on` says when it failed.
//!
//! The status goes into the call's `http_status` variable, so a flow can
//! branch on it (`404`: no such order). Nothing here can break the call: a
//! failure without an `on` route is a problem like any other, and the
//! caller hears the flow's fallback or the apology.
//!
//! - `url`: the URL, its host written out and its values encoded.
//! - `body`: `json` and `form` bodies.
//! - `compile`: headers, body, time limit, saves and routes, checked.
//! - `save`: values from the answer, by dotted path.

mod body;
mod compile;
pub(crate) mod save;
pub(crate) mod url;

use std::time::{Duration, Instant};

use axum::http::{HeaderName, HeaderValue, Method};
use indexmap::IndexMap;
use serde::Deserialize;

use super::{Call, Outcome, Route, StepError, StepKind, StepSpec, Then};
use crate::flow::compiler::Compiler;
use crate::flow::target::Target;
use crate::flow::template::Text;
use crate::flow::yaml::Scalar;
use crate::outbound::{Failure, Job, JobKind, Prepared, Reply, Seen, stub::parse_method};
use body::BodyTemplate;
use save::SavePath;
use url::UrlTemplate;

/// The variable that holds the status of the last `request` that got an
/// answer; unset when it got none (a timeout, a network failure).
pub const STATUS_VARIABLE: &str = "http_status";
/// A request's time limit when the flow sets none, in seconds.
pub const DEFAULT_TIMEOUT_SECS: f64 = 5.0;
/// The longest time limit a flow may set, in seconds.
pub const MAX_TIMEOUT_SECS: f64 = 10.0;

/// Variables a `save` may not fill: the status's own, and the call's
/// language, which an answer should not switch under the caller.
const RESERVED: &[&str] = &[STATUS_VARIABLE, "language"];
/// Headers callflow writes itself, or that would misdescribe the body.
const OWN_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "user-agent",
    "traceparent",
];

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestSpec {
    pub(crate) url: String,
    pub(crate) method: Option<String>,
    #[serde(default)]
    pub(crate) query: IndexMap<String, Scalar>,
    #[serde(default)]
    pub(crate) headers: IndexMap<String, Scalar>,
    pub(crate) json: Option<serde_json::Value>,
    pub(crate) form: Option<IndexMap<String, Scalar>>,
    /// Seconds.
    pub(crate) timeout: Option<f64>,
    /// Variable: dotted path in the JSON answer.
    #[serde(default)]
    pub(crate) save: IndexMap<String, String>,
    /// `false`: send in the background and go on at once.
    pub(crate) wait: Option<bool>,
}

/// How a request can go wrong, as a key of the step's `on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestOutcome {
    /// A network failure, a status outside 2xx, or an answer without
    /// what `save` needs.
    Error,
    /// No answer within the request's time, or the turn's.
    Timeout,
}

impl RequestOutcome {
    pub const ALL: [RequestOutcome; 2] = [RequestOutcome::Error, RequestOutcome::Timeout];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestOutcome::Error => "error",
            RequestOutcome::Timeout => "timeout",
        }
    }

    pub fn parse(text: &str) -> Option<RequestOutcome> {
        RequestOutcome::ALL.into_iter().find(|o| o.as_str() == text)
    }
}

#[derive(Debug)]
pub struct Request {
    pub method: Method,
    url: UrlTemplate,
    query: Vec<(String, Text)>,
    headers: Vec<(HeaderName, Text)>,
    body: Option<BodyTemplate>,
    pub timeout: Duration,
    save: Vec<SavePath>,
    pub wait: bool,
    on_error: Option<Target>,
    on_timeout: Option<Target>,
}

impl StepKind for Request {
    type Spec = RequestSpec;

    fn compile(spec: &RequestSpec, step: &StepSpec, cx: &mut Compiler<'_>, path: &str) -> Self {
        let own = format!("{path}.request");
        let method = match spec.method.as_deref().map(parse_method) {
            None => Method::GET,
            Some(Ok(method)) => method,
            Some(Err(message)) => {
                let at = cx.value(&format!("{own}.method"));
                cx.error(at, message);
                Method::GET
            }
        };
        let url = UrlTemplate::compile(cx, &spec.url, &format!("{own}.url"));
        let query = spec
            .query
            .iter()
            .map(|(name, value)| {
                (
                    name.clone(),
                    cx.request_text(value.as_str(), &format!("{own}.query.{name}")),
                )
            })
            .collect();
        let headers = compile::headers(cx, &spec.headers, &own);
        let body = compile::body(cx, spec, &method, &own);
        let timeout = compile::timeout(cx, spec.timeout, &own);
        let wait = spec.wait.unwrap_or(true);
        let save = compile::saves(cx, &spec.save, &own, wait);
        let (on_error, on_timeout) = compile::routes(cx, step, path, wait);
        Request {
            method,
            url,
            query,
            headers,
            body,
            timeout,
            save,
            wait,
            on_error,
            on_timeout,
        }
    }

    fn targets(&self, next: Target, out: &mut Vec<Target>) {
        out.push(next);
        out.extend(self.on_error);
        out.extend(self.on_timeout);
    }

    fn routes(&self, next: Target, out: &mut Vec<Route>) {
        out.push(Route::new("next", next));
        out.extend(self.on_error.map(|target| Route::new("error", target)));
        out.extend(self.on_timeout.map(|target| Route::new("timeout", target)));
    }

    async fn perform<'w>(&self, call: &mut impl Call<'w>, next: Target) -> Result<Then, StepError> {
        let prepared = match self.prepare(call) {
            Ok(prepared) => prepared,
            Err(PrepareError::Template(error)) => return Err(error),
            Err(PrepareError::Invalid(problem)) => {
                let url = self.url.render(call, true).unwrap_or_default();
                call.saw_request(Seen {
                    method: self.method.to_string(),
                    url: url.clone(),
                    status: None,
                    problem: Some(problem.clone()),
                    millis: 0,
                    body: None,
                    background: false,
                });
                call.unset_var(STATUS_VARIABLE);
                return self.failed(call, RequestOutcome::Error, &url, problem, 0);
            }
        };
        if !self.wait {
            let place = call.place().job();
            let shown = seen(&prepared, None, None, 0, true);
            // Stubs answer at once; the network answers after the turn.
            let answered = call.outbound().send_later(Job {
                request: prepared,
                place,
                kind: JobKind::Request,
            });
            call.saw_request(match answered {
                Some(Ok(reply)) => Seen {
                    status: Some(reply.status),
                    ..shown
                },
                Some(Err(failure)) => Seen {
                    problem: Some(failure.to_string()),
                    ..shown
                },
                None => shown,
            });
            return Ok(Then::Go(next));
        }
        let started = Instant::now();
        let result = if prepared.timeout.is_zero() {
            Err(Failure::Timeout)
        } else {
            call.outbound().send(&prepared).await
        };
        let millis = started.elapsed().as_millis() as u64;
        match result {
            Ok(reply) => self.answered(call, &prepared, reply, millis, next),
            Err(failure) => {
                let outcome = match failure {
                    Failure::Timeout => RequestOutcome::Timeout,
                    _ => RequestOutcome::Error,
                };
                let problem = failure.to_string();
                call.saw_request(seen(&prepared, None, Some(problem.clone()), millis, false));
                call.unset_var(STATUS_VARIABLE);
                self.failed(call, outcome, &prepared.shown_url, problem, millis)
            }
        }
    }
}

/// Why a request could not even be built.
enum PrepareError {
    Template(StepError),
    /// A rendered header or URL that is not valid (a line break from the
    /// caller's input, say): the request's `error`.
    Invalid(String),
}

impl From<StepError> for PrepareError {
    fn from(error: StepError) -> Self {
        PrepareError::Template(error)
    }
}

impl Request {
    /// The variables `save` fills, for the checks across steps.
    pub(crate) fn saved_vars(&self) -> impl Iterator<Item = &str> {
        self.save.iter().map(|save| save.var.as_str())
    }

    /// Renders the request for this call, with its time limit cut to what
    /// is left of the turn.
    fn prepare<'w>(&self, call: &mut impl Call<'w>) -> Result<Prepared, PrepareError> {
        let mut url = self.url.render(call, false)?;
        let mut shown_url = self.url.render(call, true)?;
        if !self.query.is_empty() {
            let separator = if self.url.has_query() { '&' } else { '?' };
            let mut sent = form_urlencoded::Serializer::new(String::new());
            let mut shown = form_urlencoded::Serializer::new(String::new());
            for (name, value) in &self.query {
                sent.append_pair(name, &call.render_request(value, false)?);
                shown.append_pair(name, &call.render_request(value, true)?);
            }
            url.push(separator);
            url.push_str(&sent.finish());
            shown_url.push(separator);
            shown_url.push_str(&shown.finish());
        }
        if reqwest::Url::parse(&url).is_err() {
            return Err(PrepareError::Invalid(format!(
                "`{shown_url}` is not a valid URL"
            )));
        }
        let mut headers = Vec::with_capacity(self.headers.len() + 1);
        for (name, value) in &self.headers {
            let rendered = call.render_request(value, false)?;
            let mut value = HeaderValue::from_str(&rendered).map_err(|_| {
                PrepareError::Invalid(format!(
                    "the `{name}` header's value is not one a header can hold"
                ))
            })?;
            value.set_sensitive(true);
            headers.push((name.clone(), value));
        }
        if let Some(traceparent) = call
            .traceparent()
            .and_then(|t| HeaderValue::from_str(&t).ok())
        {
            headers.push((HeaderName::from_static("traceparent"), traceparent));
        }
        let body = match &self.body {
            Some(body) => Some(body.render(call)?),
            None => None,
        };
        let timeout = if self.wait {
            self.timeout.min(call.time_left())
        } else {
            self.timeout
        };
        Ok(Prepared {
            method: self.method.clone(),
            url,
            shown_url,
            headers,
            body,
            timeout,
        })
    }

    /// Takes in an answer: the status, then what `save` asks for.
    fn answered<'w>(
        &self,
        call: &mut impl Call<'w>,
        prepared: &Prepared,
        reply: Reply,
        millis: u64,
        next: Target,
    ) -> Result<Then, StepError> {
        call.set_var(STATUS_VARIABLE, &reply.status.to_string());
        let outcome = if reply.is_success() {
            self.save(call, &reply.body)
        } else {
            Err(format!("the server answered {}", reply.status))
        };
        let problem = outcome.err();
        call.saw_request(seen(
            prepared,
            Some(reply.status),
            problem.clone(),
            millis,
            false,
        ));
        match problem {
            None => {
                call.note(Outcome::Request {
                    outcome: "ok",
                    millis,
                });
                Ok(Then::Go(next))
            }
            Some(problem) => {
                let url = &prepared.shown_url;
                self.failed(call, RequestOutcome::Error, url, problem, millis)
            }
        }
    }

    /// Saves every variable, or none when the answer lacks any of them.
    fn save<'w>(&self, call: &mut impl Call<'w>, body: &[u8]) -> Result<(), String> {
        if self.save.is_empty() {
            return Ok(());
        }
        let document: serde_json::Value = serde_json::from_slice(body)
            .map_err(|_| "the answer is not JSON, so nothing could be saved".to_owned())?;
        let mut values = Vec::with_capacity(self.save.len());
        for path in &self.save {
            let value = path
                .find(&document)
                .ok_or_else(|| format!("the answer has no `{}` for `{}`", path.path, path.var))?;
            values.push(value);
        }
        for (path, value) in self.save.iter().zip(values) {
            call.set_var(&path.var, &value);
        }
        Ok(())
    }

    /// Goes where `on` says for `outcome` (`timeout` falls back on
    /// `error`), or fails the step, which the caller hears as the flow's
    /// fallback or the apology. Either way the problem is logged.
    fn failed<'w>(
        &self,
        call: &mut impl Call<'w>,
        outcome: RequestOutcome,
        shown_url: &str,
        problem: String,
        millis: u64,
    ) -> Result<Then, StepError> {
        call.note(Outcome::Request {
            outcome: outcome.as_str(),
            millis,
        });
        let route = match outcome {
            RequestOutcome::Timeout => self.on_timeout.or(self.on_error),
            RequestOutcome::Error => self.on_error,
        };
        let place = call.place();
        match route {
            Some(target) => {
                tracing::warn!(
                    call_sid = place.call_sid,
                    flow = place.flow,
                    step = place.step,
                    method = %self.method,
                    url = shown_url,
                    "the request failed ({}): {problem}; the call goes on at `on.{}`",
                    outcome.as_str(),
                    outcome.as_str()
                );
                Ok(Then::Go(target))
            }
            None => Err(StepError::Request(format!(
                "the request {} {shown_url} failed ({}): {problem}, and the step has no `on: {{ {}: ... }}`",
                self.method,
                outcome.as_str(),
                RequestOutcome::Error.as_str()
            ))),
        }
    }
}

fn seen(
    prepared: &Prepared,
    status: Option<u16>,
    problem: Option<String>,
    millis: u64,
    background: bool,
) -> Seen {
    Seen {
        method: prepared.method.to_string(),
        url: prepared.shown_url.clone(),
        status,
        problem,
        millis,
        body: prepared.body.as_ref().map(|body| body.shown.clone()),
        background,
    }
}
