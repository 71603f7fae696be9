//! Which steps and routes of each flow the test calls took, so an author
//! sees the paths no test has tried, and CI can hold a line on them.
//!
//! A route is a way out of a step as the step kind names it for `callflow
//! graph` ([`Action::routes`]): a menu's options, `no_input`, `no_match`
//! and `otherwise`, a branch's arms, `open` and `closed`, each outcome of
//! `on:`, `next`. So a new kind's routes are counted with no change here.
//! Which route a call took comes from the server itself, which names the
//! route each step left by (the simulator's `x-callflow-routes`): two
//! routes of one step may lead to the same step (`busy` and `no-answer`
//! both to `voicemail`), so the next step alone could not tell them apart.
//!
//! The percentage `--fail-under` holds to is routes taken over routes, all
//! flows together: every step but the start is reached by some route, so
//! a step no call reaches lowers it too.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use crate::flow::diagnostic::Position;
use crate::flow::files::read_again;
use crate::flow::position::PositionIndex;
use crate::flow::steps::Route;
use crate::flow::{Action, Flow, FlowId, FlowSet, MaxFileBytes, Step, StepId, Target};
use crate::simulator::SimulatedCall;

#[derive(Debug, Default)]
pub struct Coverage {
    steps: HashSet<(FlowId, StepId)>,
    /// The names of the routes each step was left by.
    routes: HashMap<(FlowId, StepId), HashSet<String>>,
}

/// What the tests took of every flow, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub routes: usize,
    pub taken: usize,
}

impl Totals {
    /// Routes taken, in percent of all routes; 100 when there are none.
    pub fn percent(&self) -> f64 {
        if self.routes == 0 {
            return 100.0;
        }
        self.taken as f64 * 100.0 / self.routes as f64
    }
}

/// `--fail-under`: a share of routes from 0 to 100 percent.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Percent(f64);

#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a percentage from 0 to 100, such as 80")]
pub struct NotAPercent(String);

impl Percent {
    pub fn value(self) -> f64 {
        self.0
    }
}

impl std::str::FromStr for Percent {
    type Err = NotAPercent;

    /// `80`, `80%` or `82.5`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let number = text.trim().trim_end_matches('%').trim();
        match number.parse::<f64>() {
            Ok(value) if (0.0..=100.0).contains(&value) => Ok(Percent(value)),
            _ => Err(NotAPercent(text.to_owned())),
        }
    }
}

impl std::fmt::Display for Percent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}%", self.0)
    }
}

impl Coverage {
    /// Takes in what one call reached.
    pub fn record(&mut self, flows: &FlowSet, call: &SimulatedCall) {
        for exchange in &call.exchanges {
            for visited in &exchange.steps {
                if let Some(at) = visited
                    .rsplit_once(':')
                    .and_then(|(flow, step)| locate(flows, flow, step))
                {
                    self.steps.insert(at);
                }
            }
            for (step, route) in &exchange.routes {
                if let Some((flow, step)) = step
                    .rsplit_once(':')
                    .and_then(|(flow, step)| locate(flows, flow, step))
                {
                    self.routes
                        .entry((flow, step))
                        .or_default()
                        .insert(route.clone());
                }
            }
        }
    }

    /// Routes taken over all routes of every flow.
    pub fn totals(&self, flows: &FlowSet) -> Totals {
        let mut totals = Totals::default();
        for (flow_id, flow) in flows.flows().iter().enumerate() {
            for (step_id, step) in flow.steps.iter().enumerate() {
                for route in routes(step) {
                    totals.routes += 1;
                    if self.took(flow_id, step_id, &route) {
                        totals.taken += 1;
                    }
                }
            }
        }
        totals
    }

    fn took(&self, flow: FlowId, step: StepId, route: &Route) -> bool {
        self.routes
            .get(&(flow, step))
            .is_some_and(|names| names.contains(route.label.as_ref()))
    }

    /// One line per flow, then each step never reached and route never
    /// taken, at its place in the flow file (read again for positions, up
    /// to `max` bytes), then the total.
    pub fn report(&self, flows: &FlowSet, max: MaxFileBytes) -> String {
        let mut out = String::from("coverage:\n");
        for (flow_id, flow) in flows.flows().iter().enumerate() {
            self.report_flow(flows, flow_id, flow, max, &mut out);
        }
        let totals = self.totals(flows);
        let _ = writeln!(
            out,
            "  total: {} of {} routes taken ({})",
            totals.taken,
            totals.routes,
            percent(totals.percent())
        );
        out
    }

    fn report_flow(
        &self,
        flows: &FlowSet,
        flow_id: FlowId,
        flow: &Flow,
        max: MaxFileBytes,
        out: &mut String,
    ) {
        let index = read_again(&flow.file, max)
            .map(|text| PositionIndex::build(&text))
            .unwrap_or_default();
        let at = |position: Position| {
            format!(
                "{}:{}:{}",
                flow.file.display(),
                position.line,
                position.column
            )
        };
        let mut missed = Vec::new();
        let mut steps_reached = 0;
        let (mut options, mut options_chosen) = (0, 0);
        let (mut all_routes, mut taken) = (0, 0);
        for (step_id, step) in flow.steps.iter().enumerate() {
            if self.steps.contains(&(flow_id, step_id)) {
                steps_reached += 1;
            } else {
                let place = index.key(&format!("steps.{}", step.name));
                missed.push((place, format!("step `{}` is never reached", step.name)));
            }
            for (i, route) in routes(step).iter().enumerate() {
                let option = is_option(step, route);
                let took = self.took(flow_id, step_id, route);
                all_routes += 1;
                options += usize::from(option);
                if took {
                    taken += 1;
                    options_chosen += usize::from(option);
                    continue;
                }
                let place = route_position(&index, step, route, i);
                missed.push((
                    place,
                    if option {
                        format!(
                            "option `{}` of menu `{}` is never chosen",
                            route.label, step.name
                        )
                    } else {
                        format!(
                            "route `{}` of step `{}` ({}) is never taken",
                            one_line(&route.label),
                            step.name,
                            leads_to(flows, flow, route.target)
                        )
                    },
                ));
            }
        }
        let total = flow.steps.len();
        let _ = write!(out, "  {}: ", flow.name);
        if steps_reached == 0 {
            let _ = writeln!(
                out,
                "no test reaches this flow (0 of {total} steps, 0 of {all_routes} routes)"
            );
            return;
        }
        let _ = write!(out, "{steps_reached} of {total} steps");
        if options > 0 {
            let _ = write!(out, ", {options_chosen} of {options} menu options");
        }
        let _ = writeln!(out, ", {taken} of {all_routes} routes");
        // In the order of the file, as an author reads it.
        missed.sort_by_key(|(place, _)| (place.line, place.column));
        for (place, line) in missed {
            let _ = writeln!(out, "    {}: {line}", at(place));
        }
    }
}

/// A step's routes, one per name: a menu with only `otherwise` names it
/// for silence and for wrong answers alike, which is one route.
fn routes(step: &Step) -> Vec<Route> {
    let mut all = Vec::new();
    step.action
        .routes(step.next.unwrap_or(Target::End), &mut all);
    let mut seen = HashSet::new();
    all.retain(|route| seen.insert(route.label.clone()));
    all
}

/// Whether the route is one of a menu's options, which the report counts
/// and words apart, as callers choose them.
fn is_option(step: &Step, route: &Route) -> bool {
    matches!(&step.action, Action::Menu(menu)
        if menu.options.iter().any(|option| option.key == route.label))
}

/// Where the route is written. Kinds write a route named `busy` under `on`
/// (theirs or the step's), as a key of their own or of their `options`,
/// or beside the kind (`open`, `next`); a list's items (a branch's arms)
/// are its routes in order; a default way that goes where the step's
/// `next` does (a branch's `else`) is that `next`. A route written nowhere
/// (a `next` left out) is at its step.
fn route_position(index: &PositionIndex, step: &Step, route: &Route, i: usize) -> Position {
    let (name, kind, label) = (&step.name, step.action.kind(), &route.label);
    let mut places = vec![
        format!("steps.{name}.{kind}.options.{label}"),
        format!("steps.{name}.{kind}.on.{label}"),
        format!("steps.{name}.on.{label}"),
        format!("steps.{name}.{label}"),
        format!("steps.{name}.{kind}.{label}"),
        format!("steps.{name}.{kind}.{i}"),
    ];
    if step.next == Some(route.target) {
        places.push(format!("steps.{name}.next"));
    }
    places
        .iter()
        .find_map(|path| index.find_key(path))
        .unwrap_or_else(|| index.key(&format!("steps.{name}")))
}

/// Where a route leads, in the words of the report.
fn leads_to(flows: &FlowSet, flow: &Flow, target: Target) -> String {
    match target {
        Target::Step(step) => format!("to `{}`", flow.step(step).name),
        Target::Flow(other, step) => {
            let other = flows.get(other);
            format!("to `{}` of flow `{}`", other.step(step).name, other.name)
        }
        Target::End => "to the end of the flow".into(),
        Target::Hangup => "hangs up".into(),
    }
}

/// A route's name on one line: a branch's condition may span several.
fn one_line(label: &str) -> String {
    label.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A percentage as the report writes it: whole, rounded down, so that a
/// shortfall never shows as 100%.
pub fn percent(value: f64) -> String {
    format!("{}%", value.floor())
}

fn locate(flows: &FlowSet, flow: &str, step: &str) -> Option<(FlowId, StepId)> {
    let flow_id = flows.id_of(flow)?;
    let step_id = flows.get(flow_id).step_id(step)?;
    Some((flow_id, step_id))
}
