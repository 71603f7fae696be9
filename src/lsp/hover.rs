//! Hover: what a key does, from the schema's description of it.

use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind, Position as LspPosition, Range};

use super::keys::Keys;
use super::place::place_at;

/// The doc of the key at `line` and `column` (from 0, characters) of
/// `text`, with the range of the key; `None` where there is no key, or
/// none the schema knows there.
pub(crate) fn hover(keys: &Keys, text: &str, line: usize, column: usize) -> Option<Hover> {
    let chars: Vec<char> = text.lines().nth(line)?.chars().collect();
    let word = |c: &char| c.is_alphanumeric() || *c == '_' || *c == '-';
    let start = chars[..column.min(chars.len())]
        .iter()
        .rposition(|c| !word(c))
        .map_or(0, |at| at + 1);
    let end = chars[start..]
        .iter()
        .position(|c| !word(c))
        .map_or(chars.len(), |at| start + at);
    let key: String = chars[start..end].iter().collect();
    let is_key = chars[end..].iter().find(|c| **c != ' ') == Some(&':');
    if key.is_empty() || !is_key {
        return None;
    }
    let parents = place_at(text, line, start).parents;
    let doc = keys.doc_of(&parents, &key)?;
    let units = |upto: usize| -> u32 {
        let n: usize = chars[..upto].iter().map(|c| c.len_utf16()).sum();
        u32::try_from(n).unwrap_or(u32::MAX)
    };
    let line = u32::try_from(line).unwrap_or(u32::MAX);
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: format!("**{key}**\n\n{doc}"),
        }),
        range: Some(Range::new(
            LspPosition::new(line, units(start)),
            LspPosition::new(line, units(end)),
        )),
    })
}
