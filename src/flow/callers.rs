//! `callers:`: which callers a flow answers at all. A blocked call gets
//! `<Reject>` before its first step, so it is never answered and never
//! billed; a private line can answer only the numbers it lists.
//!
//! Patterns are dial patterns (`+1900*`, `client:agent_*`), plus the word
//! `anonymous` for a withheld number: no `From`, an empty one, or one of
//! the words carriers put there instead.

use serde::Deserialize;

use super::compiler::Compiler;
use super::steps::reject::RejectReason;
use crate::dial_target::{self, AllowList};

/// The word for callers whose number is withheld.
const ANONYMOUS: &str = "anonymous";

/// What a withheld number arrives as: the words carriers write, and
/// `+266696687`, "ANONYMOUS" spelled on a keypad, which Twilio shows for
/// some of them.
const WITHHELD: &[&str] = &[
    "anonymous",
    "restricted",
    "unknown",
    "private",
    "unavailable",
    "+266696687",
];

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallersSpec {
    /// Callers never answered.
    #[serde(default)]
    pub block: Vec<String>,
    /// When given, the only callers answered (a private line).
    pub allow: Option<Vec<String>>,
    /// How a blocked call is turned away: `rejected` (the default) or `busy`.
    pub answer_blocked_with: Option<RejectReason>,
}

/// Callers a list names.
#[derive(Debug)]
struct CallerList {
    anonymous: bool,
    numbers: AllowList,
}

impl CallerList {
    fn compile(cx: &mut Compiler<'_>, patterns: &[String], path: &str) -> CallerList {
        let is_anonymous = |pattern: &String| pattern.trim().eq_ignore_ascii_case(ANONYMOUS);
        // Where each number pattern is written, for a message at its line.
        let (written, numbers): (Vec<usize>, Vec<String>) = patterns
            .iter()
            .enumerate()
            .filter(|(_, pattern)| !is_anonymous(pattern))
            .map(|(i, pattern)| (i, pattern.clone()))
            .unzip();
        let numbers = AllowList::parse(&numbers).unwrap_or_else(|error| {
            let at = cx.value(&format!("{path}.{}", written[error.index]));
            cx.error(at, format!("{} is not a caller pattern: {}", error.pattern, error.problem))
                .help = Some("use number patterns such as \"+1900*\", `client:` or `sip:` patterns, or the word anonymous".into());
            AllowList::parse(&[]).expect("an empty list parses")
        });
        CallerList {
            anonymous: patterns.iter().any(is_anonymous),
            numbers,
        }
    }

    /// Whether the list names the caller `from` (as Twilio sent it).
    fn names(&self, from: Option<&str>) -> bool {
        if withheld(from) {
            return self.anonymous;
        }
        let from = from.unwrap_or_default();
        dial_target::parse(from, None).is_ok_and(|caller| self.numbers.matches(&caller))
    }
}

/// Whether `from` is a withheld number.
fn withheld(from: Option<&str>) -> bool {
    let from = from.unwrap_or_default().trim();
    from.is_empty() || WITHHELD.iter().any(|word| from.eq_ignore_ascii_case(word))
}

/// A flow's `callers:`, checked.
#[derive(Debug)]
pub struct Callers {
    block: CallerList,
    allow: Option<CallerList>,
    pub reason: RejectReason,
}

impl Callers {
    pub(super) fn compile(cx: &mut Compiler<'_>, spec: &CallersSpec) -> Callers {
        if spec.block.is_empty() && spec.allow.is_none() {
            let at = cx.key("callers");
            cx.error(at, "`callers` needs `block`, `allow`, or both");
        }
        Callers {
            block: CallerList::compile(cx, &spec.block, "callers.block"),
            allow: spec
                .allow
                .as_ref()
                .map(|allow| CallerList::compile(cx, allow, "callers.allow")),
            reason: spec.answer_blocked_with.unwrap_or(RejectReason::Rejected),
        }
    }

    /// Why the flow turns away the caller `from`, or `None` to answer.
    pub fn turns_away(&self, from: Option<&str>) -> Option<&'static str> {
        if self.block.names(from) {
            return Some("the caller is blocked");
        }
        match &self.allow {
            Some(allow) if !allow.names(from) => Some("the caller is not on the allowed list"),
            _ => None,
        }
    }
}
