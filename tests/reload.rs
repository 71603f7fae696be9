//! Hot reload, over the router and the real file watcher: edits go live,
//! broken edits change nothing for callers and say why at `/flows`, and
//! calls in progress end sensibly.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use callflow::engine::EngineSettings;
use callflow::http::{self, AppState};
use callflow::reload::{self, Changes, FlowStore, KEPT_VERSIONS, Reload, WatchSettings, Watching};
use callflow::simulator::{CallSetup, SimulatedCall};
use common::{Folder, heard, press, repo_path};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(repo_path(&format!(
        "tests/fixtures/flows/reload/{name}.yaml"
    )))
    .unwrap()
}

/// one.yaml with its greeting made unique.
fn greeting(words: &str) -> String {
    fixture("one").replace("Welcome to version one.", words)
}

fn open(dir: &Path) -> FlowStore {
    FlowStore::open(dir, &EngineSettings::default())
        .unwrap_or_else(|report| panic!("the folder should load:\n{report}"))
        .0
}

/// `/flows` needs the admin key, which [`flows_json`] sends (the key has
/// its own tests).
fn router(store: &Arc<FlowStore>) -> Router {
    let admin = callflow::http::admin::AdminGate::with_key(
        callflow::http::admin::AdminKey::parse(ADMIN_KEY).unwrap(),
    );
    http::router(AppState::with_store(store.clone(), common::sealing_engine()).with_admin(admin))
}

const ADMIN_KEY: &str = "reload-test-admin-key-01";

/// A store over `folder` with the real watcher running.
fn watched(folder: &Folder) -> (Arc<FlowStore>, Router, Watching) {
    let store = Arc::new(open(&folder.path));
    let watching = reload::spawn_watcher(store.clone(), WatchSettings::default())
        .expect("the folder can be watched");
    let router = router(&store);
    (store, router, watching)
}

/// What a new call to the default flow hears first.
async fn greeting_heard(router: &Router) -> String {
    let call = SimulatedCall::start(router.clone(), CallSetup::default())
        .await
        .unwrap();
    call.heard()
        .first()
        .map(|s| s.to_string())
        .unwrap_or_default()
}

async fn flows_json(router: &Router) -> Value {
    let response = router
        .clone()
        .oneshot(
            Request::get("/flows")
                .header("authorization", format!("Bearer {ADMIN_KEY}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&body).unwrap()
}

/// Polls `check` until it holds; fails after a few seconds, far longer
/// than a reload takes.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A call that pressed 1 at the menu of one.yaml heard it to the end.
fn assert_heard_version_one_to_the_end(call: &SimulatedCall) {
    assert_eq!(
        call.heard(),
        [
            "Welcome to version one.",
            "Press 1 to hear the news.",
            "The news of version one."
        ]
    );
}

async fn until_heard(router: &Router, words: &str) {
    eventually(&format!("a new call hears {words:?}"), || async {
        greeting_heard(router).await == words
    })
    .await;
}

#[tokio::test]
async fn a_valid_edit_is_what_the_next_call_hears() {
    let folder = Folder::new("valid");
    folder.write("main.yaml", &fixture("one"));
    let (store, router, _watching) = watched(&folder);
    assert_eq!(greeting_heard(&router).await, "Welcome to version one.");
    let before = flows_json(&router).await["version"].clone();

    folder.write("main.yaml", &fixture("two"));

    until_heard(&router, "Welcome to version two.").await;
    let flows = flows_json(&router).await;
    assert_ne!(flows["version"], before);
    assert_eq!(flows["version"], store.current().version());
    assert_eq!(flows["last_error"], Value::Null);
    assert_eq!(flows["flows"][0]["description"], "Reload test desk, edited");
}

#[tokio::test]
async fn an_edit_to_a_shared_prompt_file_is_what_the_next_call_hears() {
    let folder = Folder::new("prompt-file");
    std::fs::create_dir(folder.join("prompts")).unwrap();
    folder.write(
        "prompts/common.yaml",
        "hello:\n  en-US: Hello from the prompt file.\n",
    );
    folder.write(
        "main.yaml",
        "languages: { en-US: {} }\nprompts: prompts/common.yaml\n\
         steps:\n  start:\n    say: { prompt: hello }\n",
    );
    let (store, router, _watching) = watched(&folder);
    assert_eq!(greeting_heard(&router).await, "Hello from the prompt file.");

    folder.write("prompts/common.yaml", "hello:\n  en-US: Hello, edited.\n");
    until_heard(&router, "Hello, edited.").await;

    // A broken prompt file is refused like a broken flow.
    folder.write("prompts/common.yaml", "hello:\n  en-US: \"Hi {{ \"\n");
    assert!(matches!(store.reload(), Reload::Refused { .. }));
    assert_eq!(greeting_heard(&router).await, "Hello, edited.");
}

#[tokio::test]
async fn a_broken_edit_keeps_the_old_flows_and_says_why_until_a_good_save() {
    let folder = Folder::new("broken");
    folder.write("main.yaml", &fixture("one"));
    let (_store, router, _watching) = watched(&folder);
    let serving = flows_json(&router).await["version"].clone();

    folder.write("main.yaml", &fixture("half_written"));

    eventually("/flows shows the error", || async {
        !flows_json(&router).await["last_error"].is_null()
    })
    .await;
    let flows = flows_json(&router).await;
    assert_eq!(flows["version"], serving, "the old set keeps serving");
    let error = &flows["last_error"];
    // As `callflow check` says, with files named from the flows folder.
    let expected = callflow::flow::load(&folder.path)
        .unwrap_err()
        .relative_to(&folder.path);
    assert_eq!(
        error["report"],
        expected.to_string(),
        "as `callflow check` says"
    );
    let diagnostic = &error["diagnostics"][0];
    assert_eq!(diagnostic["severity"], "error");
    assert!(
        diagnostic["file"].as_str().unwrap().ends_with("main.yaml"),
        "{diagnostic}"
    );
    assert!(diagnostic["line"].as_u64().unwrap() >= 4, "{diagnostic}");
    assert!(
        error["at"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .is_ok()
    );
    assert_eq!(greeting_heard(&router).await, "Welcome to version one.");

    folder.write("main.yaml", &fixture("two"));

    until_heard(&router, "Welcome to version two.").await;
    assert_eq!(flows_json(&router).await["last_error"], Value::Null);
}

#[tokio::test]
async fn an_editor_save_by_rename_is_one_clean_reload() {
    let folder = Folder::new("rename");
    folder.write("main.yaml", &fixture("one"));
    let (store, router, _watching) = watched(&folder);

    // What vim and many editors do: a swap file, a temporary file written
    // in full, renamed over the original.
    folder.write(".main.yaml.swp", "swap");
    folder.write("main.yaml.tmp", &fixture("two"));
    std::fs::rename(folder.join("main.yaml.tmp"), folder.join("main.yaml")).unwrap();
    folder.remove(".main.yaml.swp");

    until_heard(&router, "Welcome to version two.").await;
    assert!(store.status().last_error.is_none());
    assert!(store.reloads() <= 2, "{} reloads", store.reloads());
}

#[cfg(unix)]
#[tokio::test]
async fn a_configmap_update_swapping_the_data_symlink_is_seen() {
    use std::os::unix::fs::symlink;
    // The kubelet's layout: files are links through `..data` to a
    // timestamped folder; an update writes a new folder and renames a new
    // `..data` link over the old one.
    let folder = Folder::new("configmap");
    std::fs::create_dir(folder.join("..2026_01_01_00_00_00.1")).unwrap();
    folder.write("..2026_01_01_00_00_00.1/main.yaml", &fixture("one"));
    symlink("..2026_01_01_00_00_00.1", folder.join("..data")).unwrap();
    symlink("..data/main.yaml", folder.join("main.yaml")).unwrap();
    let (store, router, _watching) = watched(&folder);
    assert_eq!(greeting_heard(&router).await, "Welcome to version one.");

    std::fs::create_dir(folder.join("..2026_01_01_00_05_00.2")).unwrap();
    folder.write("..2026_01_01_00_05_00.2/main.yaml", &fixture("two"));
    symlink("..2026_01_01_00_05_00.2", folder.join("..data_tmp")).unwrap();
    std::fs::rename(folder.join("..data_tmp"), folder.join("..data")).unwrap();
    std::fs::remove_dir_all(folder.join("..2026_01_01_00_00_00.1")).unwrap();

    until_heard(&router, "Welcome to version two.").await;
    assert!(store.status().last_error.is_none());
}

#[tokio::test]
async fn a_deleted_and_recreated_folder_is_watched_again() {
    let folder = Folder::new("recreated");
    folder.write("main.yaml", &fixture("one"));
    let (_store, router, _watching) = watched(&folder);
    assert_eq!(greeting_heard(&router).await, "Welcome to version one.");

    std::fs::remove_dir_all(&folder.path).unwrap();

    eventually("/flows says the folder is gone", || async {
        flows_json(&router).await["last_error"]["report"]
            .as_str()
            .is_some_and(|report| report.contains("the flows folder is not there"))
    })
    .await;
    assert_eq!(greeting_heard(&router).await, "Welcome to version one.");

    // Back as it was: the files are fine, and /flows says nothing else.
    std::fs::create_dir(&folder.path).unwrap();
    folder.write("main.yaml", &fixture("one"));
    eventually("/flows drops the stale error", || async {
        flows_json(&router).await["last_error"].is_null()
    })
    .await;

    // And edits in the new folder go live.
    folder.write("main.yaml", &fixture("two"));
    until_heard(&router, "Welcome to version two.").await;
    assert_eq!(flows_json(&router).await["last_error"], Value::Null);
}

#[tokio::test]
async fn a_folder_recreated_with_a_broken_file_reports_that_file() {
    let folder = Folder::new("recreated_broken");
    folder.write("main.yaml", &fixture("one"));
    let (_store, router, _watching) = watched(&folder);
    let error_in = |file: &'static str| {
        let router = router.clone();
        async move { flows_json(&router).await["last_error"]["diagnostics"][0]["file"] == file }
    };
    folder.write("main.yaml", &fixture("half_written"));
    eventually("/flows names the broken file", || error_in("main.yaml")).await;

    std::fs::remove_dir_all(&folder.path).unwrap();
    eventually("/flows says the folder is gone", || error_in(".")).await;

    // The same broken file again: it is what /flows must show.
    std::fs::create_dir(&folder.path).unwrap();
    folder.write("main.yaml", &fixture("half_written"));
    eventually("/flows names the broken file again", || {
        error_in("main.yaml")
    })
    .await;
    assert_eq!(greeting_heard(&router).await, "Welcome to version one.");
}

#[tokio::test]
async fn a_burst_of_100_writes_is_a_few_reloads() {
    let folder = Folder::new("burst");
    folder.write("main.yaml", &fixture("one"));
    let (store, router, _watching) = watched(&folder);

    for n in 1..=100 {
        folder.write("main.yaml", &greeting(&format!("This is write {n}.")));
        std::thread::sleep(Duration::from_millis(1));
    }

    until_heard(&router, "This is write 100.").await;
    let reloads = store.reloads();
    assert!(reloads <= 5, "100 writes made {reloads} reloads");
    assert!(store.status().last_error.is_none());
}

#[tokio::test]
async fn a_call_in_progress_stays_on_the_flows_it_started_with() {
    let folder = Folder::new("pinned");
    folder.write("main.yaml", &fixture("one"));
    let store = Arc::new(open(&folder.path));
    let router = router(&store);
    let mut call = SimulatedCall::start(router.clone(), CallSetup::default())
        .await
        .unwrap();

    // The edit removes the menu the call is waiting at.
    folder.write("main.yaml", &fixture("two"));
    assert!(matches!(store.reload(), Reload::Swapped { .. }));
    call.respond(press("1")).await.unwrap();

    assert_heard_version_one_to_the_end(&call);
    assert_eq!(greeting_heard(&router).await, "Welcome to version two.");
}

#[tokio::test]
async fn a_call_whose_step_was_removed_starts_the_flow_again_without_an_apology() {
    let folder = Folder::new("step-removed");
    folder.write("main.yaml", &fixture("one"));
    // Keeping only the serving version is what a restart (or another
    // instance) amounts to for a call in progress.
    let store = Arc::new(open(&folder.path).with_kept_versions(1));
    let router = router(&store);
    let mut call = SimulatedCall::start(router.clone(), CallSetup::default())
        .await
        .unwrap();

    folder.write("main.yaml", &fixture("two"));
    assert!(matches!(store.reload(), Reload::Swapped { .. }));
    call.respond(press("1")).await.unwrap();

    assert_eq!(
        &call.heard()[2..],
        ["Welcome to version two."],
        "{}",
        call.transcript()
    );
    assert!(call.ended().is_some());
    assert!(call.exchanges.iter().all(|e| e.status == 200));
}

#[tokio::test]
async fn a_call_whose_step_was_removed_goes_to_the_fallback_step() {
    let folder = Folder::new("fallback");
    folder.write("main.yaml", &fixture("one"));
    let store = Arc::new(open(&folder.path).with_kept_versions(1));
    let router = router(&store);
    let mut call = SimulatedCall::start(router.clone(), CallSetup::default())
        .await
        .unwrap();

    folder.write("main.yaml", &fixture("two_with_fallback"));
    assert!(matches!(store.reload(), Reload::Swapped { .. }));
    call.respond(press("1")).await.unwrap();

    assert_eq!(
        &call.heard()[2..],
        [
            "Our menu changed while you were on the line.",
            "Welcome to version two."
        ]
    );
}

#[tokio::test]
async fn a_call_whose_flow_was_removed_is_routed_like_a_new_call() {
    let folder = Folder::new("flow-removed");
    folder.write("main.yaml", &fixture("one"));
    folder.write("extra.yaml", &fixture("extra"));
    let store = Arc::new(open(&folder.path).with_kept_versions(1));
    let router = router(&store);
    let setup = CallSetup {
        flow: Some("extra".into()),
        ..CallSetup::default()
    };
    let mut call = SimulatedCall::start(router.clone(), setup).await.unwrap();

    folder.remove("extra.yaml");
    let outcome = store.reload();
    let Reload::Swapped { changes, .. } = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(
        changes,
        Changes {
            removed: vec!["extra".into()],
            ..Changes::default()
        }
    );
    call.respond(press("1")).await.unwrap();

    assert_eq!(call.heard()[2], "Welcome to version one.");
    assert!(
        !heard(&call, "something went wrong"),
        "{}",
        call.transcript()
    );
}

#[tokio::test]
async fn a_step_missing_from_the_version_the_url_names_is_still_a_fault() {
    let folder = Folder::new("fault");
    folder.write("main.yaml", &fixture("one"));
    let store = Arc::new(open(&folder.path));
    let url = common::sealed_url("main", "nowhere", Some(store.current().version()));
    let response = router(&store)
        .oneshot(
            Request::post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from("CallSid=CA1&Digits=1"))
                .unwrap(),
        )
        .await
        .unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    // No edit explains it, so it is not passed over in silence.
    assert!(
        String::from_utf8_lossy(&body).contains("something went wrong"),
        "{body:?}"
    );
}

#[tokio::test]
async fn a_flow_another_flow_goes_to_cannot_be_deleted() {
    let folder = Folder::new("goto");
    folder.write("main.yaml", &fixture("goes_to_extra"));
    folder.write("extra.yaml", &fixture("extra"));
    let store = open(&folder.path);
    let serving = store.current().version().to_owned();

    folder.remove("extra.yaml");

    let Reload::Refused(report) = store.reload() else {
        panic!("deleting a flow a goto names should be refused");
    };
    assert!(
        report
            .to_string()
            .contains("there is no flow named `extra`"),
        "{report}"
    );
    assert_eq!(store.current().version(), serving);
}

#[tokio::test]
async fn the_default_flow_cannot_be_deleted() {
    let folder = Folder::new("default");
    folder.write("main.yaml", &fixture("one"));
    folder.write("extra.yaml", &fixture("extra"));
    let store = open(&folder.path);

    folder.remove("main.yaml");

    let Reload::Refused(report) = store.reload() else {
        panic!("deleting the default flow should be refused");
    };
    assert!(
        report
            .to_string()
            .contains("flow `main` is gone, but the server routes calls to it"),
        "{report}"
    );
}

#[tokio::test]
async fn a_reload_names_what_changed_and_an_unchanged_folder_is_no_reload() {
    let folder = Folder::new("changes");
    folder.write("main.yaml", &fixture("one"));
    folder.write("extra.yaml", &fixture("extra"));
    let store = open(&folder.path);
    assert!(matches!(store.reload(), Reload::Unchanged { .. }));

    folder.write("main.yaml", &fixture("two"));
    folder.remove("extra.yaml");
    std::fs::create_dir(folder.join("sales")).unwrap();
    folder.write("sales/desk.yaml", &fixture("extra"));

    let Reload::Swapped { changes, .. } = store.reload() else {
        panic!("the edit should swap");
    };
    assert_eq!(
        changes.to_string(),
        "added sales/desk; removed extra; changed main"
    );
}

#[tokio::test]
async fn only_a_few_versions_are_kept_for_calls_in_progress() {
    let folder = Folder::new("kept");
    folder.write("main.yaml", &fixture("one"));
    let store = open(&folder.path);
    let mut versions = vec![store.current().version().to_owned()];
    for n in 0..KEPT_VERSIONS + 4 {
        folder.write("main.yaml", &greeting(&format!("Edit {n}.")));
        assert!(matches!(store.reload(), Reload::Swapped { .. }));
        versions.push(store.current().version().to_owned());
    }
    versions.reverse();
    versions.truncate(KEPT_VERSIONS);
    assert_eq!(store.kept_versions(), versions);
    // A version no longer kept answers on the serving set.
    let oldest = store.for_call(Some("000000000000"));
    assert_eq!(oldest.version(), store.current().version());
}

#[tokio::test]
async fn a_replaced_version_is_dropped_once_no_call_uses_it() {
    let folder = Folder::new("idle");
    folder.write("main.yaml", &fixture("one"));
    let store = open(&folder.path).with_version_idle(Duration::from_secs(1));
    let first = store.current().version().to_owned();
    folder.write("main.yaml", &fixture("two"));
    store.reload();
    let second = store.current().version().to_owned();
    assert_eq!(store.kept_versions(), [second.clone(), first.clone()]);

    // A call on the first version keeps it.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(store.for_call(Some(&first)).version(), first);
    tokio::time::sleep(Duration::from_millis(700)).await;
    store.drop_idle_versions();
    assert_eq!(store.kept_versions(), [second.clone(), first.clone()]);

    // Then no call comes back for it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    store.drop_idle_versions();
    assert_eq!(store.kept_versions(), vec![second.clone()]);
    assert_eq!(store.for_call(Some(&first)).version(), second);
}

#[tokio::test]
async fn get_flows_lists_the_serving_flows_and_their_steps() {
    let store = Arc::new(open(&repo_path("tests/fixtures/flows/routing")));
    let flows = flows_json(&router(&store)).await;
    let loaded_at = flows["loaded_at"].as_str().unwrap();
    assert!(loaded_at.parse::<jiff::Timestamp>().is_ok(), "{loaded_at}");
    let support = flows["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "support")
        .unwrap();
    assert_eq!(
        *support,
        serde_json::json!({
            "name": "support",
            // Named from the flows folder: where it is on the machine is not shown.
            "file": "support.yaml",
            "description": null,
            "numbers": ["+15550002222"],
            "start": "hello",
            "steps": [{"name": "hello", "kind": "say"}],
        })
    );
    assert_eq!(flows["version"], store.current().version());
    assert_eq!(flows["last_error"], Value::Null);
    let mut keys: Vec<&str> = flows
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort();
    assert_eq!(keys, ["flows", "last_error", "loaded_at", "version"]);
}

/// `callflow serve` itself: edits go live, SIGHUP reloads what no watcher
/// sees (here the flows folder is a symlink a deploy re-points), and the log
/// says what changed.
#[cfg(unix)]
#[test]
fn the_server_reloads_on_edits_and_on_sighup() {
    use std::os::unix::fs::symlink;
    let folder = Folder::new("server");
    for (release, flow) in [("release-1", "one"), ("release-2", "two")] {
        std::fs::create_dir(folder.join(release)).unwrap();
        folder.write(&format!("{release}/main.yaml"), &fixture(flow));
    }
    symlink("release-1", folder.join("current")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::File::create(folder.join("server.log")).unwrap();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_callflow"))
        .current_dir(&folder.path)
        .env("FLOWS_DIR", folder.join("current"))
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("RUST_LOG", "info")
        .env("ADMIN_KEY", ADMIN_KEY)
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("the server starts");
    let server_log = || std::fs::read_to_string(folder.join("server.log")).unwrap();
    let description = || {
        get_flows(port).map(|flows| {
            flows["flows"][0]["description"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
    };
    let wait_for = |what: &str, check: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !check() {
            assert!(
                Instant::now() < deadline,
                "timed out waiting until {what}:\n{}",
                server_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };

    wait_for("the server answers", &|| description().is_some());
    folder.write(
        "release-1/main.yaml",
        &fixture("one").replace("Reload test desk", "Saved while serving"),
    );
    wait_for("the edit is served", &|| {
        description().as_deref() == Some("Saved while serving")
    });
    assert!(server_log().contains("changed main"), "{}", server_log());

    symlink("release-2", folder.join("next")).unwrap();
    std::fs::rename(folder.join("next"), folder.join("current")).unwrap();
    let hangup = std::process::Command::new("kill")
        .args(["-HUP", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(hangup.success());
    wait_for("SIGHUP's reload is served", &|| {
        description().as_deref() == Some("Reload test desk, edited")
    });

    server.kill().unwrap();
    server.wait().unwrap();
    assert!(server_log().contains("SIGHUP"), "{}", server_log());
}

/// `GET /flows` over a plain socket, or `None` while nothing listens.
fn get_flows(port: u16) -> Option<Value> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    let request = format!(
        "GET /flows HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {ADMIN_KEY}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (_, body) = response.split_once("\r\n\r\n")?;
    serde_json::from_str(body).ok()
}

#[tokio::test]
async fn flows_are_shown_only_to_the_admin_key() {
    let folder = Folder::new("flows_access");
    folder.write("main.yaml", "steps:\n  hello:\n    say: Hi.\n");
    let store = Arc::new(open(&folder.path));
    let guarded = router(&store);
    let from = |addr: &str, host: &str, proxied: bool, key: bool| {
        let mut request = Request::get("/flows").header("host", host);
        if proxied {
            request = request.header("x-forwarded-for", "203.0.113.9");
        }
        if key {
            request = request.header("authorization", format!("Bearer {ADMIN_KEY}"));
        }
        let mut request = request.body(Body::empty()).unwrap();
        request.extensions_mut().insert(axum::extract::ConnectInfo(
            addr.parse::<std::net::SocketAddr>().unwrap(),
        ));
        request
    };
    let status = |request: Request<Body>| {
        let router = guarded.clone();
        async move { router.oneshot(request).await.unwrap().status() }
    };
    // No address or Host opens it, the server's own machine included.
    assert_eq!(
        status(from("127.0.0.1:5000", "localhost:3000", false, false)).await,
        401
    );
    assert_eq!(
        status(from("198.51.100.7:5000", "ivr.example.com", false, false)).await,
        401
    );
    // The key opens it from anywhere.
    assert_eq!(
        status(from("127.0.0.1:5000", "abc.ngrok.app", true, true)).await,
        200
    );
    assert_eq!(
        status(from("198.51.100.7:5000", "ivr.example.com", false, true)).await,
        200
    );
}

/// What a new call to `flow` hears, first to last.
async fn heard_in(router: &Router, flow: &str) -> Vec<String> {
    let setup = CallSetup {
        flow: Some(flow.into()),
        ..CallSetup::default()
    };
    let call = SimulatedCall::start(router.clone(), setup).await.unwrap();
    call.heard().iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn an_edit_to_one_flow_leaves_every_other_flow_shared_with_the_version_before() {
    let folder = Folder::new("shared");
    folder.write("main.yaml", &fixture("one"));
    folder.write("extra.yaml", &fixture("extra"));
    folder.write("front.yaml", &fixture("goes_to_extra"));
    let store = Arc::new(open(&folder.path));
    let router = router(&store);
    let first = store.current();

    folder.write("main.yaml", &greeting("Welcome to version two."));
    assert!(matches!(store.reload(), Reload::Swapped { .. }));
    let second = store.current();
    let shared = |a: &callflow::flow::FlowSet, b: &callflow::flow::FlowSet, name: &str| {
        Arc::ptr_eq(a.shared(name).unwrap(), b.shared(name).unwrap())
    };
    assert!(!shared(&first, &second, "main"));
    assert!(shared(&first, &second, "extra"));
    assert!(shared(&first, &second, "front"));

    // An edit to what `extra` says leaves `front`, which goes to it, as
    // it was; a new call through `front` hears the edit.
    folder.write(
        "extra.yaml",
        &fixture("extra").replace("This is the extra line.", "The extra line, edited."),
    );
    assert!(matches!(store.reload(), Reload::Swapped { .. }));
    let third = store.current();
    assert!(shared(&second, &third, "main"));
    assert!(shared(&second, &third, "front"));
    assert!(!shared(&second, &third, "extra"));
    assert_eq!(
        heard_in(&router, "front").await[..2],
        ["Welcome to version one.", "The extra line, edited."]
    );

    // A flow named before the others shifts their numbers: `front` is
    // compiled again, and still leads to `extra`.
    folder.write("a_first.yaml", &fixture("extra"));
    assert!(matches!(store.reload(), Reload::Swapped { .. }));
    assert_eq!(
        heard_in(&router, "front").await[..2],
        ["Welcome to version one.", "The extra line, edited."]
    );
}

#[tokio::test]
async fn a_call_on_an_edited_flow_finishes_on_its_old_version_while_other_flows_change() {
    let folder = Folder::new("pinned-among-many");
    folder.write("main.yaml", &fixture("one"));
    folder.write("extra.yaml", &fixture("extra"));
    let store = Arc::new(open(&folder.path));
    let router = router(&store);
    let mut call = SimulatedCall::start(router.clone(), CallSetup::default())
        .await
        .unwrap();
    let started_on = store.current();

    // The edit removes the menu the call waits at; then another flow is
    // edited again and again.
    folder.write("main.yaml", &fixture("two"));
    assert!(matches!(store.reload(), Reload::Swapped { .. }));
    for edit in 0..3 {
        let words = format!("Edit {edit} of the extra line.");
        folder.write(
            "extra.yaml",
            &fixture("extra").replace("This is the extra line.", &words),
        );
        assert!(matches!(store.reload(), Reload::Swapped { .. }));
    }
    call.respond(press("1")).await.unwrap();

    assert_heard_version_one_to_the_end(&call);
    // The version it finished on held the very flow it started on.
    assert!(
        store
            .kept_versions()
            .contains(&started_on.version().to_owned())
    );
    assert_eq!(greeting_heard(&router).await, "Welcome to version two.");
}

#[tokio::test]
async fn an_edit_to_a_prompt_file_compiles_again_exactly_the_flows_that_use_it() {
    let folder = Folder::new("prompt-file-users");
    std::fs::create_dir(folder.join("prompts")).unwrap();
    folder.write(
        "prompts/common.yaml",
        "hello:\n  en-US: Hello from the prompt file.\n",
    );
    let user = "languages: { en-US: {} }\nprompts: prompts/common.yaml\n\
                steps:\n  start:\n    say: { prompt: hello }\n";
    folder.write("main.yaml", user);
    folder.write("sales.yaml", user);
    folder.write("extra.yaml", &fixture("extra"));
    let store = Arc::new(open(&folder.path));
    let router = router(&store);
    let before = store.current();

    folder.write("prompts/common.yaml", "hello:\n  en-US: Hello, edited.\n");
    let outcome = store.reload();
    let Reload::Swapped { changes, .. } = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(changes.changed, ["prompts/common"]);
    let after = store.current();
    let shared =
        |name: &str| Arc::ptr_eq(before.shared(name).unwrap(), after.shared(name).unwrap());
    assert!(!shared("main"));
    assert!(!shared("sales"));
    assert!(shared("extra"));
    assert_eq!(heard_in(&router, "sales").await, ["Hello, edited."]);
}
