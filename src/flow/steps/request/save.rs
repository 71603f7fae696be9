//! `save:`: variables taken from a JSON answer by dotted path
//! (`delivery.eta`, `items.0.name`).

use serde_json::Value;

/// One variable and the path to its value.
#[derive(Debug)]
pub struct SavePath {
    pub var: String,
    /// The path as written, for messages.
    pub path: String,
    segments: Vec<String>,
}

impl SavePath {
    /// `None` when the path has an empty segment (`a..b`, `.a`).
    pub(crate) fn parse(var: &str, path: &str) -> Option<SavePath> {
        let segments: Vec<String> = path.split('.').map(str::to_owned).collect();
        if segments.iter().any(|segment| segment.trim().is_empty()) {
            return None;
        }
        Some(SavePath {
            var: var.to_owned(),
            path: path.to_owned(),
            segments,
        })
    }

    /// The value at the path, as the call keeps it: text as it is, numbers
    /// and booleans written out, null empty, objects and lists as JSON.
    pub(crate) fn find(&self, document: &Value) -> Option<String> {
        let mut value = document;
        for segment in &self.segments {
            value = match value {
                Value::Object(map) => map.get(segment)?,
                Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(text_of(value))
    }
}

/// A JSON value as the call keeps it (and as flow tests compare it): text
/// as it is, numbers and booleans written out, null empty, the rest as
/// JSON.
pub(crate) fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_go_through_objects_and_lists() {
        let document: Value = serde_json::json!({
            "status": "shipped",
            "delivery": { "eta": "tomorrow", "days": 1, "late": false, "note": null },
            "items": [{ "name": "kettle" }, { "name": "mug" }]
        });
        let find = |path: &str| SavePath::parse("v", path).unwrap().find(&document);
        assert_eq!(find("status").as_deref(), Some("shipped"));
        assert_eq!(find("delivery.eta").as_deref(), Some("tomorrow"));
        assert_eq!(find("delivery.days").as_deref(), Some("1"));
        assert_eq!(find("delivery.late").as_deref(), Some("false"));
        assert_eq!(find("delivery.note").as_deref(), Some(""));
        assert_eq!(find("items.1.name").as_deref(), Some("mug"));
        assert_eq!(find("items.2.name"), None);
        assert_eq!(find("status.x"), None);
        assert!(SavePath::parse("v", "a..b").is_none());
    }
}
