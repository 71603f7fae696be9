//! The keys a flow file takes at each place, with their docs, read from
//! the JSON Schema `callflow schema` prints: the same text the README's
//! reference and the YAML extension show, generated from the types the
//! loader reads flows with, so completion offers no key the loader refuses.

use serde_json::Value;

use crate::flow::schema::flow_schema;

/// The flow file schema, walked by the keys of a place.
pub(crate) struct Keys {
    schema: Value,
}

/// A key the schema allows, and what it does.
#[derive(Debug)]
pub(crate) struct Key {
    pub name: String,
    pub doc: Option<String>,
}

impl Keys {
    pub(crate) fn new() -> Keys {
        Keys {
            schema: serde_json::to_value(flow_schema()).unwrap_or_default(),
        }
    }

    /// The keys the map at `parents` (as [`Place`](super::place::Place)
    /// gives them) may have.
    pub(crate) fn keys_at(&self, parents: &[String]) -> Vec<Key> {
        let mut keys: Vec<Key> = Vec::new();
        for node in self.nodes_at(parents) {
            for (name, property) in node
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if !keys.iter().any(|key| &key.name == name) {
                    keys.push(Key {
                        name: name.clone(),
                        doc: self.doc(property),
                    });
                }
            }
        }
        keys
    }

    /// What `key`, in the map at `parents`, does.
    pub(crate) fn doc_of(&self, parents: &[String], key: &str) -> Option<String> {
        self.keys_at(parents)
            .into_iter()
            .find(|found| found.name == key)
            .and_then(|found| found.doc)
    }

    /// The schemas of the value at `path`: every alternative a short form
    /// or a reference leads to.
    fn nodes_at(&self, path: &[String]) -> Vec<&Value> {
        let mut nodes = self.alternatives(&self.schema);
        for part in path {
            nodes = nodes
                .into_iter()
                .filter_map(|node| {
                    if part == "#" {
                        return node.get("items");
                    }
                    node.get("properties")
                        .and_then(|properties| properties.get(part))
                        .or_else(|| node.get("additionalProperties").filter(|v| v.is_object()))
                })
                .flat_map(|node| self.alternatives(node))
                .collect();
        }
        nodes
    }

    /// `node`, with its `$ref` followed and its `anyOf` and `oneOf` opened.
    fn alternatives<'a>(&'a self, node: &'a Value) -> Vec<&'a Value> {
        let mut out = Vec::new();
        let mut pending = vec![node];
        while let Some(node) = pending.pop() {
            if let Some(target) = node.get("$ref").and_then(Value::as_str) {
                pending.extend(self.definition(target));
                continue;
            }
            for many in ["anyOf", "oneOf", "allOf"] {
                pending.extend(
                    node.get(many)
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten(),
                );
            }
            out.push(node);
        }
        out
    }

    fn definition(&self, reference: &str) -> Option<&Value> {
        let name = reference.strip_prefix("#/$defs/")?;
        self.schema.get("$defs")?.get(name)
    }

    /// A property's description, or that of what it refers to.
    fn doc(&self, property: &Value) -> Option<String> {
        self.alternatives(property)
            .into_iter()
            .find_map(|node| node.get("description").and_then(Value::as_str))
            .map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|part| (*part).to_owned()).collect()
    }

    #[test]
    fn keys_follow_references_short_forms_and_lists() {
        let keys = Keys::new();
        let names = |parents: &[&str]| -> Vec<String> {
            keys.keys_at(&path(parents))
                .into_iter()
                .map(|key| key.name)
                .collect()
        };
        assert!(names(&[]).contains(&"steps".to_owned()));
        assert!(names(&["steps", "any"]).contains(&"menu".to_owned()));
        assert!(names(&["steps", "any", "menu"]).contains(&"options".to_owned()));
        assert!(names(&["steps", "any", "branch", "#"]).contains(&"goto".to_owned()));
        assert!(names(&["steps", "any", "goto"]).contains(&"step".to_owned()));
        let doc = keys.doc_of(&path(&["steps", "any"]), "goto").unwrap();
        assert!(doc.starts_with("Goes on in another flow"), "{doc}");
    }
}
