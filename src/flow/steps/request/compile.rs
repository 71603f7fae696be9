//! Compiling a request's parts that are not templates of their own: its
//! headers, body, time limit, saves and routes, each checked as the flow
//! loads.

use axum::http::{HeaderName, Method};
use indexmap::IndexMap;

use super::body::{self, BodyTemplate, Json};
use super::save::SavePath;
use super::{
    DEFAULT_TIMEOUT_SECS, MAX_TIMEOUT_SECS, OWN_HEADERS, RESERVED, RequestOutcome, RequestSpec,
};
use crate::flow::compiler::Compiler;
use crate::flow::steps::{OnKey, StepSpec};
use crate::flow::target::Target;
use crate::flow::template::Text;
use crate::flow::yaml::Scalar;
use std::time::Duration;

pub(super) fn headers(
    cx: &mut Compiler<'_>,
    spec: &IndexMap<String, Scalar>,
    own: &str,
) -> Vec<(HeaderName, Text)> {
    let mut headers = Vec::with_capacity(spec.len());
    for (name, value) in spec {
        let path = format!("{own}.headers.{name}");
        let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
            let at = cx.key(&path);
            cx.error(at, format!("`{name}` is not a header name"));
            continue;
        };
        if OWN_HEADERS.contains(&header.as_str()) {
            let at = cx.key(&path);
            cx.error(at, format!("callflow writes the `{name}` header itself"));
            continue;
        }
        headers.push((header, cx.request_text(value.as_str(), &path)));
    }
    headers
}

pub(super) fn body(
    cx: &mut Compiler<'_>,
    spec: &RequestSpec,
    method: &Method,
    own: &str,
) -> Option<BodyTemplate> {
    let body = match (&spec.json, &spec.form) {
        (Some(_), Some(_)) => {
            let at = cx.key(&format!("{own}.form"));
            cx.error(at, "a request sends `json` or `form`, not both");
            return None;
        }
        (Some(json), None) => BodyTemplate::Json(Json::compile(cx, json, &format!("{own}.json"))),
        (None, Some(form)) => BodyTemplate::Form(body::form(cx, form, &format!("{own}.form"))),
        (None, None) => return None,
    };
    if *method == Method::GET {
        let key = if spec.json.is_some() { "json" } else { "form" };
        let at = cx.key(&format!("{own}.{key}"));
        cx.error(at, "a GET request has no body").help =
            Some("send values in `query`, or use `method: POST`".into());
    }
    Some(body)
}

pub(super) fn timeout(cx: &mut Compiler<'_>, seconds: Option<f64>, own: &str) -> Duration {
    let Some(seconds) = seconds else {
        return Duration::from_secs_f64(DEFAULT_TIMEOUT_SECS);
    };
    if !(seconds > 0.0 && seconds <= MAX_TIMEOUT_SECS) {
        let at = cx.value(&format!("{own}.timeout"));
        cx.error(
            at,
            format!("a request's timeout is more than 0 and at most {MAX_TIMEOUT_SECS} seconds"),
        )
        .help = Some(
            "a caller waits in silence meanwhile, and Twilio gives up on a turn after 15 s".into(),
        );
        return Duration::from_secs_f64(DEFAULT_TIMEOUT_SECS);
    }
    Duration::from_secs_f64(seconds)
}

pub(super) fn saves(
    cx: &mut Compiler<'_>,
    spec: &IndexMap<String, String>,
    own: &str,
    wait: bool,
) -> Vec<SavePath> {
    if !spec.is_empty() && !wait {
        let at = cx.key(&format!("{own}.save"));
        cx.error(
            at,
            "a request sent with `wait: false` has no answer to save from",
        );
        return Vec::new();
    }
    let mut saves = Vec::with_capacity(spec.len());
    for (var, path) in spec {
        let field = format!("{own}.save.{var}");
        cx.check_variable_key(var, &field);
        if RESERVED.contains(&var.as_str()) {
            let at = cx.key(&field);
            cx.error(
                at,
                format!("`{var}` is callflow's own variable: save the value under another name"),
            );
            continue;
        }
        match SavePath::parse(var, path) {
            Some(save) => saves.push(save),
            None => {
                let at = cx.value(&field);
                cx.error(at, format!("`{path}` is not a path: write keys and list positions joined by dots, such as `items.0.name`"));
            }
        }
    }
    saves
}

/// `on: { error, timeout }`; a dial's outcomes are refused here.
pub(super) fn routes(
    cx: &mut Compiler<'_>,
    step: &StepSpec,
    path: &str,
    wait: bool,
) -> (Option<Target>, Option<Target>) {
    let (mut error, mut timeout) = (None, None);
    for (key, target) in step.on.iter().flatten() {
        let field = format!("{path}.on.{}", key.as_str());
        match key {
            OnKey::Request(outcome) => {
                if !wait {
                    let at = cx.key(&field);
                    cx.error(at, "a request sent with `wait: false` has no outcome to route: the call never waits for it");
                    continue;
                }
                let target = Some(cx.step_target(target, &field));
                match outcome {
                    RequestOutcome::Error => error = target,
                    RequestOutcome::Timeout => timeout = target,
                }
            }
            OnKey::Dial(_) | OnKey::Queue(_) => {
                let what = match key {
                    OnKey::Dial(_) => "a dial ends",
                    _ => "a wait in a queue ends",
                };
                let at = cx.key(&field);
                cx.error(
                    at,
                    format!("`{}` is how {what}, not a request", key.as_str()),
                )
                .help = Some("a request's `on` takes `error` and `timeout`".into());
            }
        }
    }
    (error, timeout)
}
