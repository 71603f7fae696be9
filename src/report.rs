//! `callflow report`: what callers did, from the call events of JSON logs.
//!
//! With `LOG_FORMAT=json` every webhook writes a `turn` event and every
//! status callback a `call_ended` event (see `http::monitor`). A report
//! reads those lines from a file or from standard input (`kubectl logs` of
//! every replica, piped in): no database, and replicas need no coordination,
//! since each replica's log is just more lines, joined here by CallSid.
//! Lines that are not call events (other log lines, text, garbage) are
//! skipped.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

/// Which events a report counts.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Events at or after this instant only.
    pub since: Option<Timestamp>,
    /// Calls that started in this flow only.
    pub flow: Option<String>,
}

/// The report: one entry per flow, by name.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct Report {
    pub flows: BTreeMap<String, FlowReport>,
}

/// What the calls of one flow did.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct FlowReport {
    /// Calls that started in this flow.
    pub calls: u64,
    /// Times each step (`flow:step`) was entered by these calls.
    pub steps: BTreeMap<String, u64>,
    /// Per menu step, how often each option was chosen, or `no_input`,
    /// `no_match`, `exhausted`.
    pub menus: BTreeMap<String, BTreeMap<String, u64>>,
    /// Per dial step, how often each outcome happened.
    pub dials: BTreeMap<String, BTreeMap<String, u64>>,
    /// Turns that ended in the spoken apology.
    pub apologies: u64,
    /// How and where calls ended: `completed at main:goodbye`, `hung up
    /// at main:menu` (the caller left while the call waited there), ...
    pub ended: BTreeMap<String, u64>,
    /// Call lengths from Twilio's status callbacks, in seconds.
    pub duration_p50: Option<u64>,
    pub duration_p95: Option<u64>,
}

/// One call, as its events tell it.
#[derive(Debug, Default)]
struct Call {
    flow: Option<String>,
    /// When the call's first event was written, to order its turns.
    turns: Vec<Turn>,
    duration: Option<u64>,
    status_seen: bool,
}

#[derive(Debug)]
struct Turn {
    at: String,
    started: bool,
    entered: Vec<String>,
    menus: Vec<(String, String)>,
    dials: Vec<(String, String)>,
    end: String,
    step: String,
}

/// Reads call events from `input` and counts them.
pub fn read(input: impl BufRead, filter: &Filter) -> std::io::Result<Report> {
    let mut calls: HashMap<String, Call> = HashMap::new();
    for line in input.lines() {
        let line = line?;
        let Some(event) = parse_event(&line, filter) else {
            continue;
        };
        let sid = text(&event, "call_sid").to_owned();
        let call = calls.entry(sid).or_default();
        match text(&event, "event") {
            "turn" => {
                let turn = turn_of(&event);
                if turn.started || call.flow.is_none() {
                    call.flow = Some(text(&event, "flow").to_owned());
                }
                call.turns.push(turn);
            }
            "call_ended" => {
                call.status_seen = true;
                call.duration = event.get("duration").and_then(Value::as_u64);
            }
            _ => {}
        }
    }
    Ok(summarise(calls, filter))
}

/// A call event of `line`, when it is one that `filter` keeps.
fn parse_event(line: &str, filter: &Filter) -> Option<Value> {
    let start = line.find('{')?;
    let event: Value = serde_json::from_str(line[start..].trim_end()).ok()?;
    if event.get("target").and_then(Value::as_str) != Some("callflow::call") {
        return None;
    }
    if let Some(since) = filter.since {
        let at: Timestamp = text(&event, "timestamp").parse().ok()?;
        if at < since {
            return None;
        }
    }
    Some(event)
}

fn text<'v>(event: &'v Value, name: &str) -> &'v str {
    event.get(name).and_then(Value::as_str).unwrap_or("")
}

/// `main:menu=1 main:other=no_input` as pairs.
fn pairs(event: &Value, name: &str) -> Vec<(String, String)> {
    text(event, name)
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .map(|(step, what)| (step.to_owned(), what.to_owned()))
        .collect()
}

fn turn_of(event: &Value) -> Turn {
    Turn {
        at: text(event, "timestamp").to_owned(),
        started: event.get("started").and_then(Value::as_bool) == Some(true),
        entered: text(event, "entered")
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        menus: pairs(event, "menus"),
        dials: pairs(event, "dials"),
        end: text(event, "end").to_owned(),
        step: format!("{}:{}", text(event, "flow"), text(event, "step")),
    }
}

fn summarise(calls: HashMap<String, Call>, filter: &Filter) -> Report {
    let mut report = Report::default();
    let mut durations: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (_, mut call) in calls {
        let Some(flow) = call.flow.take() else {
            // Only a status callback: a call no flow answered here.
            continue;
        };
        if filter.flow.as_ref().is_some_and(|only| *only != flow) {
            continue;
        }
        call.turns.sort_by(|a, b| a.at.cmp(&b.at));
        let entry = report.flows.entry(flow.clone()).or_default();
        if call.turns.iter().any(|t| t.started) {
            entry.calls += 1;
        }
        for turn in &call.turns {
            for step in &turn.entered {
                *entry.steps.entry(step.clone()).or_default() += 1;
            }
            for (step, choice) in &turn.menus {
                let menu = entry.menus.entry(step.clone()).or_default();
                *menu.entry(choice.clone()).or_default() += 1;
            }
            for (step, outcome) in &turn.dials {
                let dial = entry.dials.entry(step.clone()).or_default();
                *dial.entry(outcome.clone()).or_default() += 1;
            }
            if turn.end == "apology" {
                entry.apologies += 1;
            }
        }
        if let Some(last) = call.turns.last() {
            let how = match (last.end.as_str(), call.status_seen) {
                ("waiting", true) => format!("hung up at {}", last.step),
                ("waiting", false) => format!("no status yet, waiting at {}", last.step),
                (end, _) => format!("{} at {}", end.replace('_', " "), last.step),
            };
            *entry.ended.entry(how).or_default() += 1;
        }
        if let Some(seconds) = call.duration {
            durations.entry(flow).or_default().push(seconds);
        }
    }
    for (flow, mut seconds) in durations {
        seconds.sort_unstable();
        if let Some(entry) = report.flows.get_mut(&flow) {
            entry.duration_p50 = percentile(&seconds, 50);
            entry.duration_p95 = percentile(&seconds, 95);
        }
    }
    report
}

/// The nearest-rank percentile of sorted `values`.
fn percentile(values: &[u64], p: usize) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    let rank = (p * values.len()).div_ceil(100).max(1);
    values.get(rank - 1).copied()
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.flows.is_empty() {
            return writeln!(
                f,
                "no call events found (are the logs from a server with LOG_FORMAT=json?)"
            );
        }
        for (name, flow) in &self.flows {
            let duration = match (flow.duration_p50, flow.duration_p95) {
                (Some(p50), Some(p95)) => format!("duration p50 {p50} s, p95 {p95} s"),
                _ => "no durations (point the number's status callback at /voice/status)".into(),
            };
            writeln!(
                f,
                "flow {name}: calls {}, apologies {}, {duration}",
                flow.calls, flow.apologies
            )?;
            table(
                f,
                "steps entered",
                flow.steps.iter().map(|(k, v)| (k.clone(), *v)),
            )?;
            for (title, map) in [("menu", &flow.menus), ("dial", &flow.dials)] {
                for (step, counts) in map {
                    let rows = counts.iter().map(|(k, v)| (k.clone(), *v));
                    table(f, &format!("{title} {step}"), rows)?;
                }
            }
            table(
                f,
                "where calls ended",
                flow.ended.iter().map(|(k, v)| (k.clone(), *v)),
            )?;
            writeln!(f)?;
        }
        Ok(())
    }
}

/// A titled table of names and counts, counts aligned.
fn table(
    f: &mut std::fmt::Formatter<'_>,
    title: &str,
    rows: impl Iterator<Item = (String, u64)>,
) -> std::fmt::Result {
    let rows: Vec<(String, u64)> = rows.collect();
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(f, "  {title}:")?;
    let width = rows
        .iter()
        .map(|(name, _)| name.chars().count())
        .max()
        .unwrap_or(0);
    for (name, count) in rows {
        writeln!(f, "    {name:<width$}  {count:>6}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50), Some(50));
        assert_eq!(percentile(&values, 95), Some(95));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }
}
