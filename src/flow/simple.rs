//! Templates of the shape most flows use, kept without the template engine.
//!
//! Most templated text in a flow is a sentence with a caller's parameter or
//! a variable in it, sometimes behind an `if`:
//! `Thanks for calling{% if call.CallerName %}, {{ call.CallerName }}{% endif %}.`
//! minijinja keeps a whole compiled program per template, many times the
//! size of such a sentence, so a line with many flows keeps these as their
//! pieces instead and renders them here, with minijinja's exact output.
//! Anything else (filters, `else`, loops, whitespace control, comments, a
//! trailing newline) is left to minijinja.

use minijinja::Value;

/// A recognised template: text, `{{ call.Name }}` or `{{ vars.name }}`,
/// and `{% if call.Name %}…{% endif %}` around those.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simple(Vec<Piece>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Value(Lookup),
    If(Lookup, Vec<Piece>),
}

/// A value a simple template reads: a caller's parameter or a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Lookup {
    root: Root,
    key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    Call,
    Vars,
}

impl Simple {
    /// Recognises `source`, or `None` when minijinja must render it.
    pub fn parse(source: &str) -> Option<Simple> {
        // minijinja drops one trailing newline; leave that rule to it.
        if source.ends_with('\n') {
            return None;
        }
        let mut rest = source;
        let mut pieces = Vec::new();
        let mut open_if: Option<(Lookup, Vec<Piece>)> = None;
        while !rest.is_empty() {
            let tag = ["{{", "{%", "{#"]
                .iter()
                .filter_map(|opener| rest.find(opener))
                .min()
                .unwrap_or(rest.len());
            let target = match &mut open_if {
                Some((_, body)) => body,
                None => &mut pieces,
            };
            if tag > 0 {
                target.push(Piece::Text(rest[..tag].to_owned()));
            }
            rest = &rest[tag..];
            if let Some(inside) = rest.strip_prefix("{{") {
                let (expression, after) = inside.split_once("}}")?;
                target.push(Piece::Value(lookup(expression)?));
                rest = after;
            } else if let Some(inside) = rest.strip_prefix("{%") {
                let (statement, after) = inside.split_once("%}")?;
                rest = after;
                let statement = statement.trim_matches(is_space);
                if let Some(condition) = statement.strip_prefix("if") {
                    // `ifx` is not `if x`; nested ifs go to minijinja.
                    if !condition.starts_with(is_space) || open_if.is_some() {
                        return None;
                    }
                    open_if = Some((lookup(condition)?, Vec::new()));
                } else if statement == "endif" {
                    let (condition, body) = open_if.take()?;
                    pieces.push(Piece::If(condition, body));
                } else {
                    return None;
                }
            } else if rest.starts_with("{#") {
                return None;
            }
        }
        open_if.is_none().then_some(Simple(pieces))
    }

    /// The text, with values read from `context` as minijinja reads them.
    pub fn render(&self, context: &Value) -> String {
        let mut out = String::with_capacity(128);
        render_pieces(&self.0, context, &mut out);
        out
    }
}

impl Lookup {
    /// The value in `context`: undefined when it is missing.
    fn read(&self, context: &Value) -> Value {
        let root = match self.root {
            Root::Call => "call",
            Root::Vars => "vars",
        };
        context
            .get_attr(root)
            .and_then(|part| part.get_attr(&self.key))
            .unwrap_or(Value::UNDEFINED)
    }
}

fn render_pieces(pieces: &[Piece], context: &Value, out: &mut String) {
    use std::fmt::Write as _;
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Value(lookup) => {
                let value = lookup.read(context);
                if let Some(text) = value.as_str() {
                    out.push_str(text);
                } else if !value.is_undefined() {
                    let _ = write!(out, "{value}");
                }
            }
            Piece::If(condition, body) => {
                if condition.read(context).is_true() {
                    render_pieces(body, context, out);
                }
            }
        }
    }
}

/// Jinja's whitespace inside tags.
fn is_space(c: char) -> bool {
    c.is_ascii_whitespace()
}

/// `call.Name` or `vars.name`, with spaces around it; whitespace control
/// (`{{-`) and anything else are refused.
fn lookup(expression: &str) -> Option<Lookup> {
    let (root, key) = expression.trim_matches(is_space).split_once('.')?;
    let root = match root {
        "call" => Root::Call,
        "vars" => Root::Vars,
        _ => return None,
    };
    let mut chars = key.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    (starts_well && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')).then(|| Lookup {
        root,
        key: key.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greetings_and_variables_are_recognised() {
        for source in [
            "Thanks for calling{% if call.CallerName %}, {{ call.CallerName }}{% endif %}.",
            "Your account is {{vars.account}}.",
            "{%if vars.vip %}Welcome back.{% endif %}",
        ] {
            assert!(Simple::parse(source).is_some(), "{source}");
        }
    }

    #[test]
    fn everything_else_is_left_to_minijinja() {
        for source in [
            "{{ call.From | upper }}",
            "{{ now.time }}",
            "{{ call }}",
            "{{ call.From.x }}",
            "{{- call.From }}",
            "{% if vars.a %}a{% else %}b{% endif %}",
            "{% if vars.a %}{% if vars.b %}b{% endif %}{% endif %}",
            "{% if vars.a %}never closed",
            "{% endif %}",
            "{% for x in vars %}{% endfor %}",
            "{# note #}Hello",
            "Hello {{ call.From }}\n",
            "{% ifvars.a %}x{% endif %}",
        ] {
            assert_eq!(Simple::parse(source), None, "{source}");
        }
    }
}
