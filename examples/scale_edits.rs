//! Edits flow files of a running server, one file at a time, and times
//! each edit from the write until a new call's first webhook is answered
//! with the edited TwiML: what `benches/scale.sh` reports as the reload
//! time.
//!
//! `scale_edits DIR PORT [TIMED] [TOTAL]`: the first TIMED edits (20) all
//! edit `flow_0000`, and their p50, p95 and slowest are printed; the rest,
//! up to TOTAL (100), edit the next files in turn, so that the server
//! ends up having kept versions that differ in several flows.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("the flows folder"));
    let port: u16 = args
        .next()
        .and_then(|p| p.parse().ok())
        .expect("the server's port");
    let timed: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(20);
    let total: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(100);

    let mut times = Vec::with_capacity(timed);
    for edit in 0..total.max(timed) {
        let flow = if edit < timed { 0 } else { edit - timed + 1 };
        let took = edit_and_wait(&dir, port, flow, edit);
        if edit < timed {
            times.push(took);
        }
    }
    times.sort();
    let at = |p: usize| times[(times.len() * p / 100).min(times.len() - 1)];
    println!(
        "one-file edit live after: p50 {} ms, p95 {} ms, max {} ms ({timed} edits)",
        at(50).as_millis(),
        at(95).as_millis(),
        times.last().copied().unwrap_or_default().as_millis()
    );
}

/// Rewrites the greeting of `flow_NNNN.yaml` and waits until the server
/// speaks it.
fn edit_and_wait(dir: &Path, port: u16, flow: usize, edit: usize) -> Duration {
    let name = format!("flow_{flow:04}");
    let path = dir.join(format!("{name}.yaml"));
    let text = std::fs::read_to_string(&path).expect("a generated flow");
    let greeting = format!("Welcome to line {flow}");
    let start = text.find(&greeting).expect("the generated greeting") + greeting.len();
    let end = start + text[start..].find(['{', '"']).unwrap_or(0);
    let marker = format!(" (edit {edit})");
    let edited = format!("{}{marker}{}", &text[..start], &text[end..]);
    let started = Instant::now();
    std::fs::write(&path, edited).expect("the flow is written");
    loop {
        if first_twiml(port, &name).contains(&marker) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "edit {edit} of {name} was never served"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The TwiML of a new call's first webhook to `flow`.
fn first_twiml(port: u16, flow: &str) -> String {
    let body = format!("flow={flow}&CallSid=CA{:032}&From=%2B15551112222", 1);
    let request = format!(
        "POST /voice HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let mut response = String::new();
    if stream.write_all(request.as_bytes()).is_ok() {
        let _ = stream.read_to_string(&mut response);
    }
    response
}
