//! A request's body: `json:` (any shape, string values templated) or
//! `form:` (names and templated values).

use indexmap::IndexMap;

use crate::flow::compiler::Compiler;
use crate::flow::steps::{Call, StepError};
use crate::flow::template::Text;
use crate::flow::yaml::Scalar;
use crate::outbound::Body;

#[derive(Debug)]
pub enum BodyTemplate {
    Json(Json),
    Form(Vec<(String, Text)>),
}

/// A JSON value whose strings are templates.
#[derive(Debug)]
pub enum Json {
    Object(Vec<(String, Json)>),
    Array(Vec<Json>),
    Text(Text),
    /// Numbers, booleans and null, as written.
    Literal(serde_json::Value),
}

impl Json {
    pub(super) fn compile(cx: &mut Compiler<'_>, value: &serde_json::Value, path: &str) -> Json {
        match value {
            serde_json::Value::Object(map) => Json::Object(
                map.iter()
                    .map(|(key, value)| {
                        (
                            key.clone(),
                            Json::compile(cx, value, &format!("{path}.{key}")),
                        )
                    })
                    .collect(),
            ),
            serde_json::Value::Array(items) => Json::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, value)| Json::compile(cx, value, &format!("{path}.{i}")))
                    .collect(),
            ),
            serde_json::Value::String(text) => Json::Text(cx.request_text(text, path)),
            other => Json::Literal(other.clone()),
        }
    }

    fn render<'w>(
        &self,
        call: &mut impl Call<'w>,
        masked: bool,
    ) -> Result<serde_json::Value, StepError> {
        Ok(match self {
            Json::Object(fields) => {
                let mut map = serde_json::Map::with_capacity(fields.len());
                for (key, value) in fields {
                    map.insert(key.clone(), value.render(call, masked)?);
                }
                serde_json::Value::Object(map)
            }
            Json::Array(items) => serde_json::Value::Array(
                items
                    .iter()
                    .map(|item| item.render(call, masked))
                    .collect::<Result<_, _>>()?,
            ),
            Json::Text(text) => {
                serde_json::Value::String(call.render_request(text, masked)?.into_owned())
            }
            Json::Literal(value) => value.clone(),
        })
    }

    fn uses_secrets(&self) -> bool {
        match self {
            Json::Object(fields) => fields.iter().any(|(_, value)| value.uses_secrets()),
            Json::Array(items) => items.iter().any(Json::uses_secrets),
            Json::Text(text) => text.uses().secrets,
            Json::Literal(_) => false,
        }
    }
}

/// Compiles `form:` values at `path`.
pub(super) fn form(
    cx: &mut Compiler<'_>,
    spec: &IndexMap<String, Scalar>,
    path: &str,
) -> Vec<(String, Text)> {
    spec.iter()
        .map(|(name, value)| {
            (
                name.clone(),
                cx.request_text(value.as_str(), &format!("{path}.{name}")),
            )
        })
        .collect()
}

impl BodyTemplate {
    /// The body for this call, and what of it may be shown.
    pub(super) fn render<'w>(&self, call: &mut impl Call<'w>) -> Result<Body, StepError> {
        match self {
            BodyTemplate::Json(json) => {
                let text = json.render(call, false)?.to_string();
                let shown = if json.uses_secrets() {
                    json.render(call, true)?.to_string()
                } else {
                    text.clone()
                };
                Ok(Body {
                    content_type: "application/json",
                    bytes: text.into_bytes(),
                    shown,
                })
            }
            BodyTemplate::Form(fields) => {
                let text = encode_form(call, fields, false)?;
                let shown = if fields.iter().any(|(_, value)| value.uses().secrets) {
                    encode_form(call, fields, true)?
                } else {
                    text.clone()
                };
                Ok(Body {
                    content_type: "application/x-www-form-urlencoded",
                    bytes: text.into_bytes(),
                    shown,
                })
            }
        }
    }
}

fn encode_form<'w>(
    call: &mut impl Call<'w>,
    fields: &[(String, Text)],
    masked: bool,
) -> Result<String, StepError> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        form.append_pair(name, &call.render_request(value, masked)?);
    }
    Ok(form.finish())
}
