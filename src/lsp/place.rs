//! Where in a flow file the cursor is: under which keys, and whether a key
//! or a value is being written there.
//!
//! Completion is asked for mid-edit, when the file is seldom valid YAML
//! (`  ne` on a line of its own is not), so this reads the lines above by
//! their indentation instead of parsing: a key written left of the
//! cursor's column, above it, holds it. Lists (`- if: …`) and one level
//! of flow style on the cursor's line (`on: { busy: … }`) are followed.

/// Where the cursor is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Place {
    /// The keys that hold it, outermost first; `#` stands for an item of
    /// a list.
    pub parents: Vec<String>,
    pub slot: Slot,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// A key is being written; what is typed of it so far.
    Key(String),
    /// The value of `key` is being written.
    Value { key: String, typed: String },
}

/// One line, split: its indentation, where its list dash is, where its
/// content starts, and the content.
struct Line<'a> {
    dash: Option<usize>,
    content_at: usize,
    content: &'a str,
}

fn split(line: &str) -> Line<'_> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let rest = &line[indent..];
    match rest
        .strip_prefix('-')
        .filter(|r| r.is_empty() || r.starts_with(' '))
    {
        Some(after) => {
            let content = after.trim_start_matches(' ');
            Line {
                dash: Some(indent),
                content_at: indent + 1 + (after.len() - content.len()),
                content,
            }
        }
        None => Line {
            dash: None,
            content_at: indent,
            content: rest,
        },
    }
}

/// The key a line's content starts with (`next` of `next: menu`).
fn key_of(content: &str) -> Option<&str> {
    if content.starts_with('#') || content.starts_with('{') || content.starts_with('[') {
        return None;
    }
    let (key, _) = content.split_once(':')?;
    let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
    (!key.is_empty()).then_some(key)
}

/// The place at `line` and `column` (from 0, in characters) of `text`.
pub(crate) fn place_at(text: &str, line: usize, column: usize) -> Place {
    let lines: Vec<&str> = text.lines().collect();
    let current = lines.get(line).copied().unwrap_or("");
    let before: String = current.chars().take(column).collect();
    let here = split(&before);
    let mut parents = Vec::new();
    let mut within = here.content_at;
    let mut in_list = false;
    if let Some(dash) = here.dash {
        parents.push("#".to_owned());
        within = dash;
        in_list = true;
    }
    for above in lines[..line.min(lines.len())].iter().rev() {
        if within == 0 && !in_list {
            break;
        }
        let above = split(above);
        if above.content.is_empty() || above.content.starts_with('#') {
            continue;
        }
        let holds = match key_of(above.content) {
            Some(_) if above.content_at < within => true,
            Some(_) => in_list && above.dash.is_none() && above.content_at == within,
            None => false,
        };
        if holds {
            parents.push(key_of(above.content).unwrap_or_default().to_owned());
            within = above.content_at;
            in_list = false;
            if let Some(dash) = above.dash {
                parents.push("#".to_owned());
                within = dash;
                in_list = true;
            }
        } else if let Some(dash) = above.dash
            && dash < within
            && within <= above.content_at
        {
            parents.push("#".to_owned());
            within = dash;
            in_list = true;
        }
    }
    parents.reverse();
    let mut content = here.content;
    // One level of flow style: `on: { busy: vo`.
    if let Some(open) = content.rfind('{')
        && !content[open..].contains('}')
    {
        if let Some(key) = key_of(content) {
            parents.push(key.to_owned());
        }
        let inner = &content[open + 1..];
        content = inner.rsplit(',').next().unwrap_or(inner);
    }
    let slot = match content.split_once(':') {
        Some((key, typed)) => Slot::Value {
            key: key
                .trim()
                .trim_matches(|c| c == '"' || c == '\'')
                .to_owned(),
            typed: typed.trim().to_owned(),
        },
        None => Slot::Key(content.trim().to_owned()),
    };
    Place { parents, slot }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parents(place: &Place) -> Vec<&str> {
        place.parents.iter().map(String::as_str).collect()
    }

    #[test]
    fn keys_above_with_less_indentation_hold_the_cursor() {
        let text = "steps:\n  check:\n    branch:\n      - if: x\n        goto: sa\n    ne\n";
        let place = place_at(text, 4, 16);
        assert_eq!(parents(&place), ["steps", "check", "branch", "#"]);
        assert_eq!(
            place.slot,
            Slot::Value {
                key: "goto".into(),
                typed: "sa".into()
            }
        );
        let place = place_at(text, 5, 6);
        assert_eq!(parents(&place), ["steps", "check"]);
        assert_eq!(place.slot, Slot::Key("ne".into()));
    }

    #[test]
    fn a_list_written_at_its_keys_indentation_and_flow_style_are_followed() {
        let text = "steps:\n  check:\n    branch:\n    - goto: a\n    dial: x\n    on: { busy: vo";
        let place = place_at(text, 3, 12);
        assert_eq!(parents(&place), ["steps", "check", "branch", "#"]);
        let place = place_at(text, 5, 18);
        assert_eq!(parents(&place), ["steps", "check", "on"]);
        assert_eq!(
            place.slot,
            Slot::Value {
                key: "busy".into(),
                typed: "vo".into()
            }
        );
    }
}
