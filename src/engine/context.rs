//! What a template reads on a call: `call`, `vars`, `now`, `config`, `flow`
//! and `step`, each part built only when a template of the turn reads it.

use jiff::Timestamp;
use minijinja::Value;

use super::{CallState, Webhook};

#[derive(Default)]
pub(super) struct ContextParts {
    pub(super) call: Option<Value>,
    pub(super) vars: Option<Value>,
    pub(super) now: Option<Value>,
    pub(super) config: Option<Value>,
}

/// What a template sees at its top level: one object whose parts are
/// shared with the turn, rather than a map built for every render.
#[derive(Debug)]
pub(super) struct TemplateContext {
    pub(super) call: Value,
    pub(super) vars: Value,
    pub(super) now: Value,
    pub(super) config: Value,
    pub(super) flow: Value,
    pub(super) step: Value,
    /// Only for a request's parts; undefined everywhere else.
    pub(super) secrets: Value,
}

impl minijinja::value::Object for TemplateContext {
    fn get_value(self: &std::sync::Arc<Self>, key: &Value) -> Option<Value> {
        let part = match key.as_str()? {
            "call" => &self.call,
            "vars" => &self.vars,
            "now" => &self.now,
            "config" => &self.config,
            "flow" => &self.flow,
            "step" => &self.step,
            "secrets" => &self.secrets,
            _ => return None,
        };
        Some(part.clone())
    }

    fn enumerate(self: &std::sync::Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Str(crate::flow::template::CONTEXT_NAMES)
    }
}

/// Twilio's parameters (and custom ones), without callflow's own state
/// keys, as a template sees them in `call`. Looked up on use rather than
/// converted up front: a greeting reads one parameter of a dozen. All
/// names and values share one string, so building it is two allocations.
#[derive(Debug)]
struct CallParams {
    text: String,
    /// Where each name starts, where it ends (and its value starts), and
    /// where the value ends, in `text`.
    bounds: Vec<(usize, usize, usize)>,
}

impl CallParams {
    fn pairs(&self) -> impl DoubleEndedIterator<Item = (&str, &str)> {
        self.bounds
            .iter()
            .map(|&(start, middle, end)| (&self.text[start..middle], &self.text[middle..end]))
    }
}

impl minijinja::value::Object for CallParams {
    fn get_value(self: &std::sync::Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        // The last wins, as in `call_pairs`.
        self.pairs()
            .rev()
            .find(|(name, _)| *name == key)
            .map(|(_, value)| Value::from(value))
    }

    fn enumerate(self: &std::sync::Arc<Self>) -> minijinja::value::Enumerator {
        let mut names: Vec<&str> = self.pairs().map(|(name, _)| name).collect();
        names.sort_unstable();
        names.dedup();
        minijinja::value::Enumerator::Values(names.into_iter().map(Value::from).collect())
    }
}

/// What `call` shows, in order: the query's parameters that are not
/// callflow's state, then the body's. A name given twice reads the last.
fn call_pairs<'w>(webhook: &Webhook<'w>) -> impl DoubleEndedIterator<Item = (&'w str, &'w str)> {
    webhook
        .query
        .iter()
        .filter(|(key, _)| !CallState::is_state_key(key))
        .chain(webhook.params)
        .map(|(name, value)| (name.as_ref(), value.as_ref()))
}

pub(super) fn call_value(webhook: &Webhook<'_>) -> Value {
    let size = call_pairs(webhook)
        .map(|(name, value)| name.len() + value.len())
        .sum();
    let mut params = CallParams {
        text: String::with_capacity(size),
        bounds: Vec::with_capacity(webhook.query.len() + webhook.params.len()),
    };
    for (name, value) in call_pairs(webhook) {
        let start = params.text.len();
        params.text.push_str(name);
        let middle = params.text.len();
        params.text.push_str(value);
        params.bounds.push((start, middle, params.text.len()));
    }
    Value::from_object(params)
}

pub(super) fn now_value(now: Timestamp, zone: &jiff::tz::TimeZone) -> Value {
    let local = now.to_zoned(zone.clone());
    minijinja::context! {
        iso => local.timestamp().to_string(),
        date => local.date().to_string(),
        time => format!("{:02}:{:02}", local.hour(), local.minute()),
        hour => local.hour(),
        minute => local.minute(),
        weekday => crate::flow::schedule::weekday_name(local.weekday()),
        day => local.day(),
        month => local.month(),
        year => local.year(),
    }
}
