//! Which steps and menu options of each flow the test calls reached, so an
//! author sees the paths no test has tried.
//!
//! Steps come from the steps each webhook reports having run. A menu
//! option counts as chosen when a webhook resumed at the menu with input
//! that picks it, decided by the menu's own `Menu::choose`, so
//! `1` and `sales` leading to the same step are told apart.

use std::collections::HashSet;
use std::fmt::Write as _;

use crate::engine::CallState;
use crate::flow::files::read_again;
use crate::flow::languages::LANGUAGE_VARIABLE;
use crate::flow::position::PositionIndex;
use crate::flow::{Action, FlowId, FlowSet, MaxFileBytes, StepId};
use crate::simulator::SimulatedCall;

#[derive(Debug, Default)]
pub struct Coverage {
    steps: HashSet<(FlowId, StepId)>,
    /// (flow, menu step, index of the option).
    options: HashSet<(FlowId, StepId, usize)>,
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
            let query = exchange.url.split_once('?').map_or("", |(_, q)| q);
            let pairs: Vec<_> = form_urlencoded::parse(query.as_bytes()).collect();
            let Some(state) = CallState::read(&pairs) else {
                continue;
            };
            let Some((flow, step)) = locate(flows, &state.flow, &state.step) else {
                continue;
            };
            if let Action::Menu(menu) = &flows.get(flow).step(step).action {
                let input = |name: &str| {
                    exchange
                        .params
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.trim())
                        .filter(|v| !v.is_empty())
                };
                let language = state.vars.get(LANGUAGE_VARIABLE).map(String::as_str);
                if let Some(chosen) = menu.choose(input("Digits"), input("SpeechResult"), language)
                    && let Some(i) = menu.options.iter().position(|o| std::ptr::eq(o, chosen))
                {
                    self.options.insert((flow, step, i));
                }
            }
        }
    }

    /// One line per flow, then each step and option never reached, at its
    /// place in the flow file (read again for positions, up to `max` bytes).
    pub fn report(&self, flows: &FlowSet, max: MaxFileBytes) -> String {
        let mut out = String::from("coverage:\n");
        for (flow_id, flow) in flows.flows().iter().enumerate() {
            let index = read_again(&flow.file, max)
                .map(|text| PositionIndex::build(&text))
                .unwrap_or_default();
            let at = |path: &str| {
                let p = index.key(path);
                format!("{}:{}:{}", flow.file.display(), p.line, p.column)
            };
            let mut missed = Vec::new();
            let mut steps_reached = 0;
            let (mut options, mut options_chosen) = (0, 0);
            for (step_id, step) in flow.steps.iter().enumerate() {
                if self.steps.contains(&(flow_id, step_id)) {
                    steps_reached += 1;
                } else {
                    missed.push(format!(
                        "{}: step `{}` is never reached",
                        at(&format!("steps.{}", step.name)),
                        step.name
                    ));
                }
                if let Action::Menu(menu) = &step.action {
                    for (i, option) in menu.options.iter().enumerate() {
                        options += 1;
                        if self.options.contains(&(flow_id, step_id, i)) {
                            options_chosen += 1;
                        } else {
                            missed.push(format!(
                                "{}: option `{}` of menu `{}` is never chosen",
                                at(&format!("steps.{}.menu.options.{}", step.name, option.key)),
                                option.key,
                                step.name
                            ));
                        }
                    }
                }
            }
            let total = flow.steps.len();
            let _ = write!(out, "  {}: ", flow.name);
            if steps_reached == 0 {
                let _ = writeln!(out, "no test reaches this flow (0 of {total} steps)");
                continue;
            }
            let _ = write!(out, "{steps_reached} of {total} steps");
            if options > 0 {
                let _ = write!(out, ", {options_chosen} of {options} menu options");
            }
            out.push('\n');
            for line in missed {
                let _ = writeln!(out, "    {line}");
            }
        }
        out
    }
}

fn locate(flows: &FlowSet, flow: &str, step: &str) -> Option<(FlowId, StepId)> {
    let flow_id = flows.id_of(flow)?;
    let step_id = flows.get(flow_id).step_id(step)?;
    Some((flow_id, step_id))
}
