//! TwiML: the XML documents Twilio executes on a call.
//!
//! [`Element`]s are written the way Twilio's own helper libraries write
//! them: attributes sorted by name, no whitespace between elements,
//! `<Verb />` for empty elements, and their escaping rules. Writing the same
//! bytes as the official libraries means a flow author can compare our
//! output with any Twilio example character for character, and our tests
//! can hold us to Twilio's vectors.
//!
//! The engine writes each verb into a `Document` as a step makes it,
//! without keeping a tree; [`Response`] is the same document as a tree.
//!
//! [`Element::parse`] reads TwiML back into the same tree; the call simulator
//! and the tests use it, so what we parse is exactly what we write.

use std::borrow::Cow;
use std::fmt;

use quick_xml::Reader;
use quick_xml::events::Event;

/// One TwiML element: a verb such as `Say`, or a noun nested in a verb such
/// as `Number` inside `Dial`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Static for the verbs callflow writes, so a webhook allocates no names.
    pub name: Cow<'static, str>,
    /// Attribute names as Twilio spells them (`numDigits`, `callerId`).
    /// Kept sorted by name, so two equal documents compare equal.
    attributes: Vec<(Cow<'static, str>, String)>,
    pub text: Option<String>,
    pub children: Vec<Element>,
}

impl Element {
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        Element {
            name: name.into(),
            attributes: Vec::new(),
            text: None,
            children: Vec::new(),
        }
    }

    /// An element whose content is text, such as `<Say>Hello</Say>`.
    pub fn with_text(name: impl Into<Cow<'static, str>>, text: impl Into<String>) -> Self {
        let mut element = Element::new(name);
        element.text = Some(text.into());
        element
    }

    /// Sets an attribute, replacing an earlier value of the same name.
    pub fn attr(mut self, name: impl Into<Cow<'static, str>>, value: impl Into<String>) -> Self {
        self.set_attr(name, value);
        self
    }

    /// Sets an attribute only when a value is given: flows leave most
    /// attributes out, and Twilio's defaults then apply.
    pub fn attr_opt<V: Into<String>>(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: Option<V>,
    ) -> Self {
        if let Some(value) = value {
            self.set_attr(name, value);
        }
        self
    }

    pub fn set_attr(&mut self, name: impl Into<Cow<'static, str>>, value: impl Into<String>) {
        let (name, value) = (name.into(), value.into());
        match self
            .attributes
            .binary_search_by(|(n, _)| n.as_ref().cmp(name.as_ref()))
        {
            Ok(at) => self.attributes[at].1 = value,
            Err(at) => self.attributes.insert(at, (name, value)),
        }
    }

    pub fn child(mut self, child: Element) -> Self {
        self.children.push(child);
        self
    }

    pub fn get_attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.attributes
            .iter()
            .map(|(n, v)| (n.as_ref(), v.as_str()))
    }

    /// The text of this element and of its descendants, in document order.
    pub fn all_text(&self) -> String {
        let mut out = self.text.clone().unwrap_or_default();
        for child in &self.children {
            out.push_str(&child.all_text());
        }
        out
    }

    /// Appends this element as TwiML, exactly as [`Response::to_xml`]
    /// writes it inside a document.
    pub(crate) fn write_to(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        for (name, value) in &self.attributes {
            out.push(' ');
            out.push_str(name);
            out.push_str("=\"");
            escape_attribute(value, out);
            out.push('"');
        }
        let text = self.text.as_deref().unwrap_or("");
        if text.is_empty() && self.children.is_empty() {
            out.push_str(" />");
            return;
        }
        out.push('>');
        escape_text(text, out);
        for child in &self.children {
            child.write_to(out);
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }

    /// Reads a TwiML document (or any XML) into an element tree.
    pub fn parse(xml: &str) -> Result<Element, ParseError> {
        let mut reader = Reader::from_str(xml);
        let mut stack: Vec<Element> = Vec::new();
        loop {
            match reader.read_event()? {
                Event::Start(start) => stack.push(element_from_start(&start)?),
                Event::Empty(start) => {
                    let element = element_from_start(&start)?;
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(element),
                        None => return Ok(element),
                    }
                }
                Event::Text(text) => {
                    let text = text.decode().map_err(quick_xml::Error::from)?;
                    let text = quick_xml::escape::unescape(&text)
                        .map_err(|e| ParseError(e.to_string()))?;
                    append_text(&mut stack, &text);
                }
                Event::GeneralRef(reference) => {
                    let name = reference.decode().map_err(quick_xml::Error::from)?;
                    let resolved = resolve_reference(&name)
                        .ok_or_else(|| ParseError(format!("unknown entity &{name};")))?;
                    append_text(&mut stack, &resolved);
                }
                Event::CData(data) => {
                    let text = String::from_utf8_lossy(&data).into_owned();
                    append_text(&mut stack, &text);
                }
                Event::End(_) => {
                    let done = stack
                        .pop()
                        .ok_or_else(|| ParseError("unbalanced end tag".into()))?;
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => return Ok(done),
                    }
                }
                Event::Eof => return Err(ParseError("the document ended early".into())),
                _ => {}
            }
        }
    }
}

fn append_text(stack: &mut [Element], text: &str) {
    if let Some(current) = stack.last_mut() {
        current.text.get_or_insert_with(String::new).push_str(text);
    }
}

fn resolve_reference(name: &str) -> Option<String> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix('x') {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(code).map(String::from);
    }
    quick_xml::escape::resolve_xml_entity(name).map(str::to_owned)
}

fn element_from_start(start: &quick_xml::events::BytesStart<'_>) -> Result<Element, ParseError> {
    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let mut element = Element::new(name);
    for attribute in start.attributes() {
        let attribute = attribute.map_err(quick_xml::Error::from)?;
        let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
        let value = attribute.unescape_value()?.into_owned();
        element.set_attr(key, value);
    }
    Ok(element)
}

/// The TwiML document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not well-formed TwiML: {0}")]
pub struct ParseError(String);

impl From<quick_xml::Error> for ParseError {
    fn from(error: quick_xml::Error) -> Self {
        ParseError(error.to_string())
    }
}

/// A whole TwiML document: `<Response>` and its verbs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    pub verbs: Vec<Element>,
}

impl Response {
    pub fn new() -> Self {
        Response::default()
    }

    pub fn push(&mut self, verb: Element) {
        self.verbs.push(verb);
    }

    /// Serializes the document as Twilio's helper libraries do.
    pub fn to_xml(&self) -> String {
        let mut document = Document::start();
        for verb in &self.verbs {
            verb.write_to(document.verbs());
        }
        document.finish()
    }

    /// Reads a document written by [`Response::to_xml`] (or by Twilio's
    /// libraries) back into verbs.
    pub fn parse(xml: &str) -> Result<Response, ParseError> {
        let root = Element::parse(xml)?;
        if root.name != "Response" {
            return Err(ParseError(format!(
                "the root element is <{}>, not <Response>",
                root.name
            )));
        }
        Ok(Response {
            verbs: root.children,
        })
    }
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_xml())
    }
}

const XML_DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// A document written as it goes: verbs are appended by
/// [`Element::write_to`], and [`Document::finish`] closes it. The engine writes its answers this way, without building a
/// tree; [`Response::to_xml`] writes a tree through it too.
#[derive(Debug)]
pub(crate) struct Document {
    out: String,
}

const DOCUMENT_START: &str = concat!(r#"<?xml version="1.0" encoding="UTF-8"?>"#, "<Response>");

impl Document {
    pub fn start() -> Self {
        // Most answers are a few hundred bytes to a kilobyte.
        let mut out = String::with_capacity(1024);
        out.push_str(DOCUMENT_START);
        Document { out }
    }

    /// Where the next verbs go.
    pub fn verbs(&mut self) -> &mut String {
        &mut self.out
    }

    pub fn finish(mut self) -> String {
        if self.out.len() == DOCUMENT_START.len() {
            self.out.truncate(XML_DECLARATION.len());
            self.out.push_str("<Response />");
        } else {
            self.out.push_str("</Response>");
        }
        self.out
    }
}

/// How TwiML writes a yes or no.
pub(crate) fn bool_text(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// Text content escapes `&`, `<` and `>`, as Twilio's libraries do, and
/// `\r`, which XML parsers would otherwise turn into `\n`.
fn escape_text(text: &str, out: &mut String) {
    escape(text, out, &TEXT_SPECIAL);
}

/// Attribute values also escape `"` and the whitespace that XML parsers
/// would otherwise normalise to spaces.
fn escape_attribute(value: &str, out: &mut String) {
    escape(value, out, &ATTRIBUTE_SPECIAL);
}

/// What to do with each byte: copy it ([`COPY`]), replace it with its
/// entity ([`ESCAPE`]), or look closer ([`INSPECT`]: control characters,
/// which XML cannot carry, and 0xEF, which starts U+FFFE and U+FFFF).
static TEXT_SPECIAL: [u8; 256] = byte_actions(b"&<>\r");
static ATTRIBUTE_SPECIAL: [u8; 256] = byte_actions(b"&<>\"\n\r\t");

const COPY: u8 = 0;
const ESCAPE: u8 = 1;
const INSPECT: u8 = 2;

const fn byte_actions(escaped: &[u8]) -> [u8; 256] {
    let mut table = [COPY; 256];
    let mut byte = 0;
    while byte < 0x20 {
        if byte != b'\t' as usize && byte != b'\n' as usize && byte != b'\r' as usize {
            table[byte] = INSPECT;
        }
        byte += 1;
    }
    table[0xEF] = INSPECT;
    let mut i = 0;
    while i < escaped.len() {
        table[escaped[i] as usize] = ESCAPE;
        i += 1;
    }
    table
}

fn entity(byte: u8) -> &'static str {
    match byte {
        b'&' => "&amp;",
        b'<' => "&lt;",
        b'>' => "&gt;",
        b'"' => "&quot;",
        b'\n' => "&#10;",
        b'\r' => "&#13;",
        b'\t' => "&#09;",
        _ => "",
    }
}

/// Copies `text` into `out`, escaping what `actions` marks and dropping
/// characters XML 1.0 cannot carry at all (control characters, U+FFFE,
/// U+FFFF): a caller's speech or a custom parameter containing one would
/// otherwise make Twilio refuse the whole document. Runs of ordinary bytes
/// are copied whole; this is on every webhook's path.
fn escape(text: &str, out: &mut String, actions: &[u8; 256]) {
    let bytes = text.as_bytes();
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        let (replacement, width) = match actions[byte as usize] {
            COPY => {
                at += 1;
                continue;
            }
            ESCAPE => (entity(byte), 1),
            _ if byte < 0x20 => ("", 1),
            _ if matches!(bytes.get(at + 1..at + 3), Some([0xBF, 0xBE | 0xBF])) => ("", 3),
            _ => {
                at += 1;
                continue;
            }
        };
        out.push_str(&text[copied..at]);
        out.push_str(replacement);
        at += width;
        copied = at;
    }
    out.push_str(&text[copied..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_sorted_and_empty_elements_self_close() {
        let mut response = Response::new();
        response.push(
            Element::new("Gather")
                .attr("timeout", "5")
                .attr("action", "/voice?a=1&b=2"),
        );
        assert_eq!(
            response.to_xml(),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/voice?a=1&amp;b=2" timeout="5" /></Response>"#
        );
    }

    #[test]
    fn parse_reads_back_what_to_xml_writes() {
        let mut response = Response::new();
        response.push(Element::with_text("Say", "Tom & \"Jerry\" <3").attr("voice", "a\tb\nc"));
        response.push(Element::new("Hangup"));
        let parsed = Response::parse(&response.to_xml()).unwrap();
        assert_eq!(parsed, response);
    }

    #[test]
    fn newlines_and_tabs_stay_raw_in_text_as_twilio_writes_them() {
        let mut response = Response::new();
        response.push(Element::with_text("Say", "one\ntwo\tthree\u{1}\u{fffe}"));
        assert!(response.to_xml().contains("<Say>one\ntwo\tthree</Say>"));
    }

    #[test]
    fn control_characters_in_attributes_survive_a_round_trip() {
        let mut response = Response::new();
        response.push(Element::new("Gather").attr("hints", "line1\r\nline2"));
        let parsed = Response::parse(&response.to_xml()).unwrap();
        assert_eq!(parsed.verbs[0].get_attr("hints"), Some("line1\r\nline2"));
    }
}
