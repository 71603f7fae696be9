//! Writes many realistic flow files, for measuring start-up, check and
//! reload times and memory with a large line.
//!
//! `cargo run --release --example generate_flows -- DIR [COUNT] [STEPS]`
//! (defaults: 1000 flows of 20 steps).

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "generated-flows".into()));
    let count: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let steps: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(20)
        .max(4);
    std::fs::create_dir_all(&dir)?;
    for i in 0..count {
        std::fs::write(dir.join(format!("flow_{i:04}.yaml")), flow(i, steps))?;
    }
    println!("wrote {count} flows of {steps} steps to {}", dir.display());
    Ok(())
}

/// A flow with a greeting, a menu, a chain of says with a template, a
/// branch, a gather and a dial: each kind of work the engine does.
fn flow(i: usize, steps: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "description: Generated flow {i}\nvoice: Polly.Joanna\nlanguage: en-US"
    );
    let _ = writeln!(out, "numbers: [\"+1555{:07}\"]\nsteps:", 1_000_000 + i);
    let _ = writeln!(
        out,
        "  welcome:\n    say: \"Welcome to line {i}{{% if call.CallerName %}}, {{{{ call.CallerName }}}}{{% endif %}}.\"\n    next: menu"
    );
    let _ = writeln!(
        out,
        "  menu:\n    menu:\n      say: Press 1 for information or 2 for an agent.\n      options: {{ 1: info_0, info: info_0, 2: ask }}\n      otherwise: goodbye"
    );
    let chain = steps - 4;
    for s in 0..chain {
        let next = if s + 1 < chain {
            format!("info_{}", s + 1)
        } else {
            "check".into()
        };
        let _ = writeln!(
            out,
            "  info_{s}:\n    say: \"This is part {s} of the information for {{{{ call.From }}}}.\"\n    next: {next}"
        );
    }
    let _ = writeln!(
        out,
        "  check:\n    branch:\n      - if: call.Digits == \"1\"\n        goto: goodbye\n      - goto: ask"
    );
    let _ = writeln!(
        out,
        "  ask:\n    dial: {{ number: \"+1555{:07}\", timeout: 20 }}\n    on: {{ busy: goodbye }}",
        2_000_000 + i
    );
    let _ = writeln!(out, "  goodbye:\n    say: Goodbye.");
    out
}
