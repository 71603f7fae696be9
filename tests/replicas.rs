//! Many replicas behind a real load balancer, as production runs them.
//!
//! Three `callflow` processes share `STATE_KEY` behind HAProxy, which sends
//! every webhook to the next replica in turn (round-robin per request), so
//! a call's turns land on different replicas. 200 simulated calls, signed
//! as Twilio signs them, go through the balancer while a rolling update
//! lands: each replica's flows folder is a ConfigMap-style mount whose
//! `..data` link is swapped to the new flows, one replica after another,
//! and one replica is stopped with SIGTERM (drained, as Kubernetes does it)
//! and started again on the new flows. No answer may be an HTTP error or
//! anything but TwiML, and every call must either follow its flow to the
//! end or take the documented path for a step an edit removed: the flow's
//! `fallback` step.
//!
//! HAProxy comes from Debian's packages (`.ci/run` installs it). Outside
//! CI the test says so and passes when it is missing; in CI it fails.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use callflow::signature::{AuthToken, SIGNATURE_HEADER, compute_signature};
use callflow::simulator::{CallEnd, CallSetup, CallerAction, SimulatedCall, SimulationError};
use common::Folder;
use common::process::{Process, free_port, get, tool, wait_until_listening};
use http_body_util::BodyExt;

const CALLS: usize = 200;
const REPLICAS: usize = 3;
/// A new call every so often, so the calls overlap the rolling update.
const CALL_EVERY: Duration = Duration::from_millis(20);
/// The caller's pause between two turns.
const THINK: Duration = Duration::from_millis(15);
const AUTH_TOKEN: &str = "replica-test-auth-token-0123456789";
const STATE_KEY: &str = "the replica test's state key, shared by every replica";
const ADMIN_KEY: &str = "replica-test-admin-key-0001";
/// What Twilio calls: the TLS terminator's address, which signatures cover.
const PUBLIC_URL: &str = "https://line.example.test";

/// A replica's flows folder laid out as the kubelet lays out a ConfigMap
/// volume: `main.yaml` is a link through `..data`, which points at a
/// hidden folder; an update writes a new hidden folder and swaps `..data`
/// in one rename, then removes the old folder.
struct ConfigMapMount {
    dir: PathBuf,
    generation: usize,
}

impl ConfigMapMount {
    fn new(dir: PathBuf, flow: &str) -> ConfigMapMount {
        std::fs::create_dir_all(&dir).unwrap();
        let mut mount = ConfigMapMount { dir, generation: 0 };
        mount.publish(flow);
        std::os::unix::fs::symlink("..data/main.yaml", mount.dir.join("main.yaml")).unwrap();
        mount
    }

    fn publish(&mut self, flow: &str) {
        self.generation += 1;
        let data = format!("..generation_{}", self.generation);
        std::fs::create_dir(self.dir.join(&data)).unwrap();
        std::fs::write(self.dir.join(&data).join("main.yaml"), flow).unwrap();
        let swap = self.dir.join("..data_tmp");
        std::os::unix::fs::symlink(&data, &swap).unwrap();
        std::fs::rename(&swap, self.dir.join("..data")).unwrap();
        if self.generation > 1 {
            let old = format!("..generation_{}", self.generation - 1);
            std::fs::remove_dir_all(self.dir.join(old)).unwrap();
        }
    }
}

struct Replica {
    port: u16,
    mount: ConfigMapMount,
    log: PathBuf,
    process: Option<Process>,
}

impl Replica {
    async fn start(&mut self) {
        let flows = self.mount.dir.to_str().unwrap().to_owned();
        let env = [
            ("FLOWS_DIR", flows.as_str()),
            ("STATE_KEY", STATE_KEY),
            ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
            ("PUBLIC_URL", PUBLIC_URL),
            ("ADMIN_KEY", ADMIN_KEY),
            ("SHUTDOWN_DRAIN", "1"),
            ("RUST_LOG", "info"),
            ("LOG_FORMAT", "json"),
        ];
        self.process = Some(Process::serve(self.port, &env, Some(&self.log)).await);
    }

    fn address(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The version of the flows it serves, from `GET /flows`.
    async fn version(&self) -> String {
        let answer = common::process::exchange(
            self.address(),
            &format!(
                "GET /flows HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {ADMIN_KEY}\r\nConnection: close\r\n\r\n"
            ),
        )
        .await;
        let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        let flows: serde_json::Value =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"));
        flows["version"].as_str().unwrap().to_owned()
    }

    /// Publishes `flow` to its mount and waits until it serves it.
    async fn update(&mut self, flow: &str) {
        let before = self.version().await;
        self.mount.publish(flow);
        let started = Instant::now();
        while self.version().await == before {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "replica on port {} did not reload",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGTERM, the drain and the exit; then the new flows, and a new
    /// process on the same port (a pod replaced in a rolling update).
    async fn restart_on(&mut self, flow: &str) {
        let mut process = self.process.take().expect("running");
        process.terminate();
        let exit = process.wait(Duration::from_secs(20)).await;
        assert!(exit.success(), "{exit}");
        self.mount.publish(flow);
        self.start().await;
    }
}

/// HAProxy balancing and retrying as `deploy/haproxy/haproxy.cfg` does
/// (round-robin per request, `/readyz` checks, a failed connection retried
/// on another replica), without TLS, and with checks every 100 ms instead of
/// every second, so a drain of 1 s instead of 5 outlasts them.
fn haproxy_config(listen: u16, replicas: &[Replica]) -> String {
    let servers: String = replicas
        .iter()
        .enumerate()
        .map(|(i, replica)| format!("    server replica{i} 127.0.0.1:{} check\n", replica.port))
        .collect();
    format!(
        "global
    maxconn 1000

defaults
    mode http
    timeout connect 2s
    timeout client 15s
    timeout server 15s
    timeout check 2s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout

frontend line
    bind 127.0.0.1:{listen}
    default_backend callflow

backend callflow
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 100ms fall 1 rise 1
    http-response set-header X-Served-By %s
{servers}"
    )
}

/// Twilio's side of the wire: each webhook the simulator makes is signed
/// for `PUBLIC_URL` and sent to the balancer over a new connection.
#[derive(Clone)]
struct ToBalancer {
    address: SocketAddr,
    token: AuthToken,
    answers: Arc<Mutex<Answers>>,
}

/// Every answer, per CallSid: its status, and which replica gave it.
type Answers = BTreeMap<String, Vec<(u16, String)>>;

async fn forward(State(to): State<ToBalancer>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let path = parts.uri.path_and_query().unwrap().as_str().to_owned();
    let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let signed_params: &[(String, String)] = if parts.method == "GET" { &[] } else { &params };
    let query_params: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let call_sid = params
        .iter()
        .chain(&query_params)
        .find(|(name, _)| name == "CallSid")
        .map(|(_, sid)| sid.clone())
        .unwrap_or_default();
    let signature = compute_signature(
        &to.token,
        callflow::signature::Algorithm::HmacSha1,
        &format!("{PUBLIC_URL}{path}"),
        signed_params,
    );
    let mut outgoing = axum::http::Request::builder()
        .method(parts.method)
        .uri(path)
        .header("host", "line.example.test")
        .header(SIGNATURE_HEADER, signature);
    for (name, value) in &parts.headers {
        outgoing = outgoing.header(name, value);
    }
    let response =
        common::send_over_socket(to.address, outgoing.body(Body::from(body)).unwrap()).await;
    let served_by = response
        .headers()
        .get("x-served-by")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    to.answers
        .lock()
        .unwrap()
        .entry(call_sid)
        .or_default()
        .push((response.status().as_u16(), served_by));
    response
}

/// What the caller does, by kind of call.
fn script(kind: usize) -> Vec<CallerAction> {
    let press = |keys: &str| CallerAction::Press(keys.into());
    match kind {
        0 => vec![press("1"), CallerAction::DialOutcome("completed".into())],
        1 => vec![
            press("1"),
            CallerAction::DialOutcome("busy".into()),
            CallerAction::Record,
        ],
        2 => vec![press("2"), press("4242#")],
        _ => vec![press("3"), press("4")],
    }
}

/// What the caller hears when the call follows its flow to the end, with
/// the version named in a line written as `version N`: each turn may be
/// answered from either version.
fn expected(kind: usize) -> Vec<&'static str> {
    const WELCOME: &str = "Welcome to the replica line, version N.";
    const MENU: &str = "For sales press 1, for your account press 2, to rate us press 3.";
    const BYE: &str = "Goodbye from version N.";
    match kind {
        0 => vec![WELCOME, MENU, "Connecting you to sales.", BYE],
        1 => vec![
            WELCOME,
            MENU,
            "Connecting you to sales.",
            "Please leave a message after the tone.",
            BYE,
        ],
        2 => vec![
            WELCOME,
            MENU,
            "Enter your account number, then press pound.",
            "Account 4242 is in good standing.",
            BYE,
        ],
        _ => vec![
            WELCOME,
            MENU,
            "Rate us from 1 to 5.",
            "Thanks for rating us 4.",
            BYE,
        ],
    }
}

/// The documented path for a step an edit removed: the flow's `fallback`.
const STEP_REMOVED: [&str; 4] = [
    "Welcome to the replica line, version N.",
    "For sales press 1, for your account press 2, to rate us press 3.",
    "Rate us from 1 to 5.",
    "This part of the line has just changed. Please call again.",
];

fn heard(call: &SimulatedCall) -> Vec<String> {
    call.heard()
        .iter()
        .map(|line| {
            line.replace("version one", "version N")
                .replace("version two", "version N")
        })
        .collect()
}

/// The flows version of a call's first callback URL (`v=`).
fn started_on(call: &SimulatedCall) -> Option<String> {
    let twiml = &call.exchanges.first()?.twiml;
    let start = twiml.find("v=")? + 2;
    Some(
        twiml[start..]
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect(),
    )
}

/// A call as Twilio would place it, a turn every [`THINK`].
async fn place_call(router: Router, kind: usize) -> Result<SimulatedCall, SimulationError> {
    let mut call = SimulatedCall::start(router, CallSetup::default()).await?;
    for action in script(kind) {
        if call.ended().is_some() {
            break;
        }
        tokio::time::sleep(THINK).await;
        call.respond(action).await?;
    }
    Ok(call)
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_calls_cross_three_replicas_through_a_rolling_update() {
    let Some(haproxy) = tool("haproxy", "apt-get install haproxy") else {
        return;
    };
    let v1 = std::fs::read_to_string(common::repo_path("tests/fixtures/replicas/v1.yaml")).unwrap();
    let v2 = std::fs::read_to_string(common::repo_path("tests/fixtures/replicas/v2.yaml")).unwrap();
    let folder = Folder::new("replicas");
    let began = Instant::now();

    let mut replicas: Vec<Replica> = (0..REPLICAS)
        .map(|i| Replica {
            port: free_port(),
            mount: ConfigMapMount::new(folder.join(&format!("flows-{i}")), &v1),
            log: folder.join(&format!("replica-{i}.log")),
            process: None,
        })
        .collect();
    for replica in &mut replicas {
        replica.start().await;
    }
    let lb_port = free_port();
    let config = folder.join("haproxy.cfg");
    std::fs::write(&config, haproxy_config(lb_port, &replicas)).unwrap();
    let haproxy_log = std::fs::File::create(folder.join("haproxy.log")).unwrap();
    let balancer = std::process::Command::new(&haproxy)
        .arg("-db")
        .arg("-f")
        .arg(&config)
        .stdout(haproxy_log.try_clone().unwrap())
        .stderr(haproxy_log)
        .spawn()
        .expect("haproxy starts");
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _balancer = KillOnDrop(balancer);
    let lb = SocketAddr::from(([127, 0, 0, 1], lb_port));
    wait_until_listening(lb).await;
    let ready = get(lb, "/readyz").await;
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    let first_version = replicas[0].version().await;

    let to = ToBalancer {
        address: lb,
        token: AuthToken::new(AUTH_TOKEN).unwrap(),
        answers: Arc::default(),
    };
    let router = Router::new().fallback(forward).with_state(to.clone());

    // The rolling update, while the calls go on: replica 0 gets the new
    // flows; replica 2 is stopped (SIGTERM, drained) and replaced by a
    // process on the new flows; replica 1 gets them last.
    let update = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(800)).await;
        replicas[0].update(&v2).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        replicas[2].restart_on(&v2).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        replicas[1].update(&v2).await;
        replicas
    });

    let calls_began = Instant::now();
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..CALLS {
        let router = router.clone();
        calls.spawn(async move { (i % 4, place_call(router, i % 4).await) });
        tokio::time::sleep(CALL_EVERY).await;
    }
    let mut failures = Vec::new();
    let mut finished = Vec::new();
    while let Some(joined) = calls.join_next().await {
        match joined.unwrap() {
            (kind, Ok(call)) => finished.push((kind, call)),
            (_, Err(error)) => failures.push(error.to_string()),
        }
    }
    let calls_took = calls_began.elapsed();
    let replicas = update.await.unwrap();

    // 0 answers other than 200, 0 that are not TwiML.
    let answers = to.answers.lock().unwrap().clone();
    let turns: usize = answers.values().map(Vec::len).sum();
    let not_ok: Vec<_> = answers
        .iter()
        .flat_map(|(sid, list)| list.iter().map(move |answer| (sid, answer)))
        .filter(|(_, (status, _))| *status != 200)
        .collect();
    assert!(not_ok.is_empty(), "answers other than 200: {not_ok:?}");
    assert!(failures.is_empty(), "calls that failed: {failures:#?}");
    assert_eq!(finished.len(), CALLS);

    // Every call followed its flow to the end, or met the removed step's
    // documented path.
    let mut took_fallback = 0;
    for (kind, call) in &finished {
        assert_eq!(
            call.ended(),
            Some(&CallEnd::Hangup),
            "{}",
            call.transcript()
        );
        let heard = heard(call);
        if heard == expected(*kind) {
            continue;
        }
        assert!(
            *kind == 3 && heard == STEP_REMOVED,
            "call {} neither followed its flow nor took the fallback:\n{}",
            call.call_sid(),
            call.transcript()
        );
        took_fallback += 1;
    }

    // The turns did cross replicas, and the update did land mid-call.
    let served: BTreeSet<&str> = answers
        .values()
        .flatten()
        .map(|(_, replica)| replica.as_str())
        .collect();
    assert_eq!(served.len(), REPLICAS, "{served:?}");
    let crossing = answers
        .values()
        .filter(|list| list.iter().map(|(_, r)| r).collect::<BTreeSet<_>>().len() > 1)
        .count();
    assert!(
        crossing > CALLS / 2,
        "only {crossing} calls crossed replicas"
    );
    let versions: BTreeSet<Option<String>> = finished.iter().map(|(_, c)| started_on(c)).collect();
    assert!(
        versions.len() >= 2 && versions.contains(&Some(first_version.clone())),
        "calls started on {versions:?}"
    );
    let mut serving = BTreeSet::new();
    for replica in &replicas {
        serving.insert(replica.version().await);
    }
    assert_eq!(serving.len(), 1, "the update did not reach every replica");
    assert!(
        !serving.contains(&first_version),
        "still on the first flows"
    );

    // Each replica's log (stdout and stderr, the restarted one's two runs
    // one after the other) is in the test's folder.
    let logs: Vec<&Path> = replicas.iter().map(|r| r.log.as_path()).collect();
    for log in &logs {
        assert!(
            std::fs::metadata(log).unwrap().len() > 0,
            "{}",
            log.display()
        );
    }
    // `callflow report` over every replica's log, one after the other as
    // `kubectl logs` of each pod would give them, finds every call once.
    let mut all = Vec::new();
    for log in &logs {
        all.extend(std::fs::read(log).unwrap());
    }
    let merged = folder.join("all-replicas.log");
    std::fs::write(&merged, all).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_callflow"))
        .args(["report", merged.to_str().unwrap(), "--format", "json"])
        .output()
        .expect("callflow report runs");
    assert!(output.status.success(), "{output:?}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let counted: u64 = report["flows"]
        .as_object()
        .expect("flows in the report")
        .values()
        .map(|flow| flow["calls"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(counted, CALLS as u64, "{report:#}");

    eprintln!(
        "replicas: {CALLS} calls, {turns} turns over {REPLICAS} replicas in {:.1} s of calls \
         ({:.1} s in all); {crossing} calls crossed replicas; {took_fallback} took the \
         removed step's fallback",
        calls_took.as_secs_f64(),
        began.elapsed().as_secs_f64()
    );
}
