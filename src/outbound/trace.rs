//! W3C Trace Context: an outgoing request joins the trace of the webhook
//! that caused it, so a business's tracing shows the call's lookup as part
//! of the call.

use std::fmt::Write as _;

/// The trace a webhook belongs to, from its `traceparent` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: String,
    flags: String,
}

impl TraceContext {
    /// Reads a `traceparent` header (`00-<trace>-<parent>-<flags>`);
    /// `None` for anything the specification says to ignore.
    pub fn parse(header: &str) -> Option<TraceContext> {
        let mut parts = header.trim().split('-');
        let version = parts.next()?;
        let trace_id = parts.next()?;
        let parent = parts.next()?;
        let flags = parts.next()?;
        let hex = |text: &str, len: usize| {
            text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        let zero = |text: &str| text.bytes().all(|b| b == b'0');
        // Version 00 has exactly four parts; later versions may add more.
        let valid = hex(version, 2)
            && version != "ff"
            && (version != "00" || parts.next().is_none())
            && hex(trace_id, 32)
            && !zero(trace_id)
            && hex(parent, 16)
            && !zero(parent)
            && hex(flags, 2);
        valid.then(|| TraceContext {
            trace_id: trace_id.to_owned(),
            flags: flags.to_owned(),
        })
    }

    /// The `traceparent` of an outgoing request: the same trace, a new
    /// span of callflow's own.
    pub fn child(&self) -> String {
        let span: u64 = loop {
            let span = rand::random::<u64>();
            if span != 0 {
                break span;
            }
        };
        let mut header = String::with_capacity(55);
        let _ = write!(header, "00-{}-{span:016x}-{}", self.trace_id, self.flags);
        header
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INCOMING: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_child_keeps_the_trace_and_flags_with_a_new_span() {
        let context = TraceContext::parse(INCOMING).unwrap();
        let child = context.child();
        let parts: Vec<&str> = child.split('-').collect();
        assert_eq!(parts[0], "00");
        assert_eq!(parts[1], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(parts[2].len(), 16);
        assert_ne!(parts[2], "00f067aa0ba902b7");
        assert_eq!(parts[3], "01");
        assert!(TraceContext::parse(&child).is_some());
    }

    #[test]
    fn malformed_headers_are_ignored() {
        for header in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert_eq!(TraceContext::parse(header), None, "{header}");
        }
    }
}
