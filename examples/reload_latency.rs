//! Measures hot reload the way a caller sees it.
//!
//! 1. Memory: 10,000 reloads of 10 flow files through the real watcher,
//!    with webhooks pinned to old versions in between; report the resident
//!    set size before and after.
//! 2. Latency: with 10 and with 1,000 flow files of 20 steps each, edit
//!    `main.yaml` 100 times and time each edit from the write until a new
//!    call's first webhook is answered with the edited TwiML; report p50
//!    and p95.
//!
//! Run it in release mode: `cargo run --release --example reload_latency`.
//! `RELOADS=1000` shortens the memory run; `PARTS=memory` or
//! `PARTS=latency` runs one part.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use callflow::engine::EngineSettings;
use callflow::http::{self, AppState};
use callflow::reload::{self, FlowStore, WatchSettings};
use http_body_util::BodyExt;
use tower::ServiceExt;

const STEPS: usize = 20;
const EDITS: usize = 100;

#[tokio::main]
async fn main() {
    let reloads = std::env::var("RELOADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    println!(
        "hot reload, {STEPS} steps per flow, watcher defaults {:?}",
        WatchSettings::default()
    );
    let parts = std::env::var("PARTS").unwrap_or_else(|_| "memory,latency".into());
    // Memory first, in a process that has not yet held bigger sets.
    if parts.contains("memory") {
        measure_memory(10, reloads).await;
    }
    if parts.contains("latency") {
        for files in [10, 1_000] {
            measure_latency(files).await;
        }
    }
}

async fn measure_latency(files: usize) {
    let folder = Folder::generate(&format!("latency-{files}"), files);
    let rss_before = rss_kib();
    let started = Instant::now();
    let store = Arc::new(open(&folder.path));
    let load = started.elapsed();
    let rss_loaded = rss_kib();
    let _watching = reload::spawn_watcher(store.clone(), WatchSettings::default()).unwrap();
    let router = http::router(AppState::with_store(
        store.clone(),
        EngineSettings::default(),
    ));
    // Let the watcher settle before the first edit.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut latencies = Vec::with_capacity(EDITS);
    for edit in 1..=EDITS {
        let words = format!("Edit {edit} is live.");
        let written = Instant::now();
        std::fs::write(folder.path.join("main.yaml"), flow_text("main", &words)).unwrap();
        loop {
            if first_twiml(&router).await.contains(&words) {
                break;
            }
            assert!(
                written.elapsed() < Duration::from_secs(10),
                "edit {edit} never went live"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        latencies.push(written.elapsed());
    }
    latencies.sort();
    println!(
        "{files:>5} files: first load {} ms; write → new TwiML over {EDITS} edits: p50 {} ms, p95 {} ms, max {} ms; {} reloads",
        load.as_millis(),
        percentile(&latencies, 50).as_millis(),
        percentile(&latencies, 95).as_millis(),
        latencies.last().unwrap().as_millis(),
        store.reloads(),
    );
    println!(
        "{files:>5} files: RSS {rss_before} KiB before loading, {rss_loaded} KiB with one version, {} KiB with {} versions kept",
        rss_kib(),
        store.kept_versions().len(),
    );
}

async fn measure_memory(files: usize, reloads: usize) {
    let folder = Folder::generate("memory", files);
    let store = Arc::new(open(&folder.path));
    // A short quiet time: this run is about memory, not debouncing.
    let settings = WatchSettings {
        quiet: Duration::from_millis(2),
        ..WatchSettings::default()
    };
    let _watching = reload::spawn_watcher(store.clone(), settings).unwrap();
    let router = http::router(AppState::with_store(
        store.clone(),
        EngineSettings::default(),
    ));
    let mut pinned = Vec::new();

    let mut edit = 0;
    reload_times(&folder, &store, &router, &mut pinned, &mut edit, 100).await;
    let warm = rss_kib();
    let started = Instant::now();
    let mut checkpoints = vec![format!("{warm} KiB after 100")];
    for until in [1_000, 2_500, 5_000, 7_500, 10_000, 20_000, 50_000] {
        if until > reloads || edit >= reloads {
            break;
        }
        let count = until - edit;
        reload_times(&folder, &store, &router, &mut pinned, &mut edit, count).await;
        checkpoints.push(format!("{} KiB after {until}", rss_kib()));
    }
    if edit < reloads {
        let count = reloads - edit;
        reload_times(&folder, &store, &router, &mut pinned, &mut edit, count).await;
        checkpoints.push(format!("{} KiB after {reloads}", rss_kib()));
    }
    let after = rss_kib();
    println!(
        "{reloads} reloads of {files} files through the watcher in {:.1} s: RSS {warm} KiB after the first 100, {after} KiB after all {reloads} ({:+} KiB); {} versions kept",
        started.elapsed().as_secs_f64(),
        after as i64 - warm as i64,
        store.kept_versions().len(),
    );
    println!("  RSS: {}", checkpoints.join(", "));
}

/// Edits `main.yaml` `count` times, waiting for each edit to go live.
async fn reload_times(
    folder: &Folder,
    store: &FlowStore,
    router: &Router,
    pinned: &mut Vec<String>,
    edit: &mut usize,
    count: usize,
) {
    for _ in 0..count {
        *edit += 1;
        let words = format!("Edit {edit} is live.");
        let previous = store.current().version().to_owned();
        // As an editor saves: write in full, then rename over.
        let temporary = folder.path.join("main.yaml.tmp");
        std::fs::write(&temporary, flow_text("main", &words)).unwrap();
        std::fs::rename(&temporary, folder.path.join("main.yaml")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while store.current().version() == previous {
            assert!(Instant::now() < deadline, "edit {edit} never went live");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // A call in progress on a version a few reloads old.
        pinned.push(previous);
        if pinned.len() > 4 {
            let version = pinned.remove(0);
            pinned_webhook(router, &version).await;
        }
        assert!(first_twiml(router).await.contains(&words));
    }
}

fn open(dir: &Path) -> FlowStore {
    FlowStore::open(dir, &EngineSettings::default())
        .unwrap_or_else(|report| panic!("{report}"))
        .0
}

/// The TwiML a new call to the default flow gets.
async fn first_twiml(router: &Router) -> String {
    let request = Request::post("/voice")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(
            "CallSid=CA1&From=%2B15551112222&To=%2B15553334444",
        ))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

/// A caller at step 2 (a menu) of `main` pressing 1, on `version`.
async fn pinned_webhook(router: &Router, version: &str) {
    let request = Request::post(format!("/voice?flow=main&step=s02&v={version}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("CallSid=CA2&Digits=1"))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let _ = response.into_body().collect().await.unwrap();
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// VmRSS of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

/// A generated flows folder, removed at the end.
struct Folder {
    path: PathBuf,
}

impl Folder {
    fn generate(name: &str, files: usize) -> Folder {
        let path = std::env::temp_dir().join(format!(
            "callflow-reload-latency-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(path.join("main.yaml"), flow_text("main", "Welcome.")).unwrap();
        for n in 1..files {
            let name = format!("line_{n:04}");
            let text = flow_text(&name, &format!("This is line {n}."));
            std::fs::write(path.join(format!("{name}.yaml")), text).unwrap();
        }
        Folder { path }
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A flow of [`STEPS`] steps of the common kinds, greeting with `words`.
fn flow_text(name: &str, words: &str) -> String {
    let mut text =
        format!("description: Generated flow {name}\ntimezone: America/New_York\nsteps:\n");
    text.push_str(&format!("  s01:\n    say: \"{words}\"\n    next: s02\n"));
    for i in 2..STEPS {
        let next = format!("s{:02}", i + 1);
        let step = match i % 5 {
            2 => format!(
                "    menu:\n      say: Press 1 for the next step or 2 to skip it.\n      options: {{ 1: {next}, 2: s{:02}, help: {next} }}\n      retries: 1\n      otherwise: {next}\n",
                (i + 2).min(STEPS)
            ),
            3 => format!(
                "    gather:\n      say: Enter your account number.\n      num_digits: 6\n      save_as: account\n    next: {next}\n"
            ),
            4 => format!(
                "    branch:\n      - if: vars.account | length == 6\n        goto: {next}\n      - goto: {next}\n"
            ),
            0 => format!("    set: {{ seen: \"step {i} of {name}\" }}\n    next: {next}\n"),
            _ => format!(
                "    say: \"Step {i} of {name}, for {{{{ call.From }}}} at {{{{ now.time }}}}.\"\n    next: {next}\n"
            ),
        };
        text.push_str(&format!("  s{i:02}:\n{step}"));
    }
    text.push_str(&format!(
        "  s{STEPS:02}:\n    dial: {{ say: Connecting you., number: \"+15551230001\", timeout: 20 }}\n    on: {{ busy: s01 }}\n"
    ));
    text
}
