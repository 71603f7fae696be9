//! How long routing a first webhook by its called number takes as the line
//! claims more numbers: flows of two steps, ten numbers each, from 1,000 to
//! 100,000 numbers. The time should not grow with the count. The lookup
//! alone is timed too: a whole webhook at 100,000 numbers also meets flows
//! that are no longer in the CPU's cache, which a line of that size pays
//! whatever its lookup.
//!
//! `cargo run --release --example route_numbers`

use std::borrow::Cow;
use std::time::Instant;

use callflow::engine::{self, EngineSettings, Webhook};
use callflow::flow::load::Source;
use callflow::flow::load_sources;

const NUMBERS_PER_FLOW: usize = 10;
const WEBHOOKS: usize = 200_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    for numbers in [1_000, 10_000, 100_000] {
        let flows = numbers / NUMBERS_PER_FLOW;
        let sources = (0..flows).map(source).collect();
        let set = load_sources(sources)
            .unwrap_or_else(|report| panic!("{report}"))
            .flows;
        let settings = EngineSettings::default();
        let now = jiff::Timestamp::now();
        let started = Instant::now();
        runtime.block_on(async {
            for n in 0..WEBHOOKS {
                // Numbers spread over the whole set.
                let number = format!("+1555{:07}", (n * 7919) % numbers);
                let params = [
                    (Cow::Borrowed("To"), Cow::Owned(number)),
                    (Cow::Borrowed("From"), Cow::Borrowed("+15551112222")),
                ];
                let webhook = Webhook {
                    query: &[],
                    params: &params,
                    now,
                };
                let answer = engine::answer(&set, &settings, &webhook).await;
                assert!(answer.problem.is_none(), "{:?}", answer.problem);
            }
        });
        let each = started.elapsed() / WEBHOOKS as u32;
        let called: Vec<String> = (0..WEBHOOKS)
            .map(|n| format!("+1555{:07}", (n * 7919) % numbers))
            .collect();
        let started = Instant::now();
        for number in &called {
            assert!(std::hint::black_box(set.for_number(number)).is_some());
        }
        let lookup = started.elapsed() / WEBHOOKS as u32;
        println!(
            "{numbers:>7} numbers in {flows:>6} flows: a first webhook routed by number takes {each:?}, the lookup {lookup:?}"
        );
    }
}

/// A flow answering ten numbers of its own.
fn source(i: usize) -> Source {
    let numbers: Vec<String> = (0..NUMBERS_PER_FLOW)
        .map(|n| format!("\"+1555{:07}\"", i * NUMBERS_PER_FLOW + n))
        .collect();
    Source {
        name: format!("flow_{i:05}"),
        file: format!("flow_{i:05}.yaml").into(),
        text: format!(
            "numbers: [{}]\nsteps:\n  hello:\n    say: Line {i}.\n    next: bye\n  bye:\n    say: Goodbye.\n",
            numbers.join(", ")
        ),
    }
}
