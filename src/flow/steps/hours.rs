//! `hours`: goes to `open` or `closed` by the flow's opening hours at the
//! moment of the call. It writes no TwiML.

use indexmap::IndexMap;
use jiff::tz::TimeZone;
use serde::Deserialize;

use super::{Call, Route, StepError, StepKind, StepSpec, Then};
use crate::flow::compiler::Compiler;
use crate::flow::schedule::Schedule;
use crate::flow::target::Target;
use crate::flow::yaml::{OneOrMany, Scalar};

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HoursSpec {
    pub(crate) timezone: Option<String>,
    /// Days (`mon-fri`, `sat`, `mon,wed`) → time ranges (`09:00-17:00`).
    pub(crate) open: IndexMap<String, OneOrMany<String>>,
    /// Whole days closed: `2026-12-25`, or `12-25` for every year.
    #[serde(default)]
    pub(crate) closed_on: Vec<Scalar>,
}

#[derive(Debug)]
pub struct Hours {
    pub schedule: Schedule,
    pub open: Target,
    pub closed: Target,
}

impl StepKind for Hours {
    type Spec = HoursSpec;
    const USES_NEXT: bool = false;

    fn compile(spec: &HoursSpec, step: &StepSpec, cx: &mut Compiler<'_>, path: &str) -> Self {
        let hours_path = format!("{path}.hours");
        let zone = match &spec.timezone {
            Some(name) => cx.timezone(Some(name), &format!("{hours_path}.timezone")),
            None => match cx.flow_timezone() {
                Some(name) => cx.timezone(Some(&name), "timezone"),
                None => {
                    let at = cx.key(&hours_path);
                    cx.error(at, "opening hours need a time zone")
                        .help = Some("add `timezone: America/New_York` (any IANA name) to the hours or to the flow".into());
                    None
                }
            },
        };
        let mut schedule = Schedule::new(zone.unwrap_or(TimeZone::UTC));
        for (days, ranges) in &spec.open {
            for range in &ranges.0 {
                if let Err(message) = schedule.open(days, range) {
                    let at = cx.key(&format!("{hours_path}.open.{days}"));
                    cx.error(at, message);
                }
            }
        }
        for (i, day) in spec.closed_on.iter().enumerate() {
            if let Err(message) = schedule.close_on(day.as_str()) {
                let at = cx.value(&format!("{hours_path}.closed_on.{i}"));
                cx.error(at, message);
            }
        }
        let mut route = |key: &str, target: &Option<String>| match target {
            Some(target) => cx.step_target(target, &format!("{path}.{key}")),
            None => {
                let at = cx.key(path);
                cx.error(
                    at,
                    format!("an `hours` step needs `{key}:` with the step to go to"),
                );
                Target::Hangup
            }
        };
        let open = route("open", &step.open);
        let closed = route("closed", &step.closed);
        Hours {
            schedule,
            open,
            closed,
        }
    }

    fn targets(&self, _next: Target, out: &mut Vec<Target>) {
        out.extend([self.open, self.closed]);
    }

    fn routes(&self, _next: Target, out: &mut Vec<Route>) {
        out.extend([
            Route::new("open", self.open),
            Route::new("closed", self.closed),
        ]);
    }

    async fn perform<'w>(
        &self,
        call: &mut impl Call<'w>,
        _next: Target,
    ) -> Result<Then, StepError> {
        Ok(Then::Go(if self.schedule.is_open(call.now()) {
            self.open
        } else {
            self.closed
        }))
    }
}
