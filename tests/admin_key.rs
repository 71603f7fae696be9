//! The admin key as the red-team run met the server: the reproductions of issue 14 (a token for
//! anyone, `/flows` and the simulator behind nginx or a forward, PIN guessing), now refused
//! without the key and answered with it; the sign-in link; and the start-up log a newcomer
//! clicks.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use callflow::config::Settings;
use callflow::flow::load::Source;
use callflow::http::{self, AppState};
use callflow::token::{TokenService, vars};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt as _;

use common::repo_path;

const KEY: &str = "admin-key-for-the-tests-0123";
const BEARER: &str = "Bearer admin-key-for-the-tests-0123";

/// The four Twilio token values, and `extra`.
fn settings(extra: &[(&str, &str)]) -> Settings {
    let mut pairs = vec![
        (vars::ACCOUNT_SID, "AC0123456789abcdef0123456789abcdef"),
        (vars::API_KEY, "SKfedcba9876543210fedcba9876543210"),
        (vars::API_SECRET, "not_a_real_secret_4f9a2c"),
        (vars::TWIML_APP_SID, "AP00112233445566778899aabbccddeeff"),
    ];
    pairs.extend_from_slice(extra);
    Settings::from_vars(&pairs).expect("valid settings")
}

/// The server as `callflow serve` builds it from `settings`, on the repository's flows.
fn state(settings: &Settings, flows: callflow::flow::FlowSet) -> AppState {
    AppState::new(flows, settings.engine())
        .with_tokens(TokenService::new(settings.token_settings()))
        .with_page(settings.page())
        .with_admin(settings.admin())
}

fn repository_flows() -> callflow::flow::FlowSet {
    callflow::flow::load(&repo_path("flows")).unwrap().flows
}

/// Only the four Twilio values and `ADMIN_KEY`.
fn app() -> Router {
    http::router(state(&settings(&[("ADMIN_KEY", KEY)]), repository_flows()))
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    json: Value,
}

async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

/// A request as curl on the server's own machine sends it, plus `headers`.
fn request(
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "localhost:3000");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    }
    .unwrap()
}

/// The refusal every admin surface gives without the key: 401, a challenge, and a reason
/// that says what to do.
fn assert_needs_the_key(reply: &Reply, what: &str) {
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "{what}: {:?}",
        reply.json
    );
    assert!(
        reply.headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Bearer"),
        "{what}"
    );
    let error = reply.json["error"].as_str().unwrap_or_default();
    assert!(error.contains("?key="), "{what}: {error}");
    assert!(error.contains("Authorization: Bearer"), "{what}: {error}");
}

#[tokio::test]
async fn a_token_for_agent_bob_needs_the_key_once_only_the_twilio_values_are_set() {
    let app = app();
    let reply = send(
        &app,
        request("GET", "/voice/token?identity=agent_bob", &[], None),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    common::assert_names_the_token_settings(reply.json["error"].as_str().unwrap());
    assert!(reply.json.get("token").is_none());

    let page = send(
        &app,
        request(
            "GET",
            "/voice/token?identity=agent_bob",
            &[("authorization", BEARER)],
            None,
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.json["identity"], "agent_bob");
}

#[tokio::test]
async fn flows_and_the_simulator_need_the_key_as_bearer_or_cookie() {
    let app = app();
    let cookie = format!("callflow_admin={KEY}");
    let start = json!({ "flow": "main", "at": common::OPEN });
    for (what, uri) in [("/flows", "/flows"), ("/simulate", "/simulate")] {
        let reply = send(&app, request("GET", uri, &[], None)).await;
        assert_needs_the_key(&reply, what);
    }
    let reply = send(
        &app,
        request("POST", "/simulate/calls", &[], Some(start.clone())),
    )
    .await;
    assert_needs_the_key(&reply, "POST /simulate/calls");

    for proof in [("authorization", BEARER), ("cookie", cookie.as_str())] {
        let flows = send(&app, request("GET", "/flows", &[proof], None)).await;
        assert_eq!(flows.status, StatusCode::OK, "{proof:?}");
        assert_eq!(flows.json["flows"][0]["name"], "main");
        let call = send(
            &app,
            request("POST", "/simulate/calls", &[proof], Some(start.clone())),
        )
        .await;
        assert_eq!(
            call.status,
            StatusCode::CREATED,
            "{proof:?}: {:?}",
            call.json
        );
        // The call's own routes need the key too: its id alone is not enough.
        let id = call.json["id"].as_str().unwrap();
        let uri = format!("/simulate/calls/{id}");
        let stranger = send(&app, request("GET", &uri, &[], None)).await;
        assert_needs_the_key(&stranger, "GET /simulate/calls/{id}");
        let stranger = send(
            &app,
            request(
                "POST",
                &uri,
                &[],
                Some(json!({ "action": "press", "value": "1" })),
            ),
        )
        .await;
        assert_needs_the_key(&stranger, "POST /simulate/calls/{id}");
        let stranger = send(&app, request("DELETE", &uri, &[], None)).await;
        assert_needs_the_key(&stranger, "DELETE /simulate/calls/{id}");
        assert_eq!(
            send(&app, request("GET", &uri, &[proof], None))
                .await
                .status,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn a_wrong_key_is_refused_and_says_the_key_may_have_changed() {
    let app = app();
    for proof in [
        ("authorization", "Bearer admin-key-for-the-tests-0124"),
        ("cookie", "callflow_admin=admin-key-for-the-tests-0124"),
        ("authorization", "Basic YWRtaW46YWRtaW4="),
    ] {
        let reply = send(&app, request("GET", "/flows", &[proof], None)).await;
        assert_needs_the_key(&reply, &format!("{proof:?}"));
    }
    let stale = send(
        &app,
        request(
            "GET",
            "/flows",
            &[("cookie", "callflow_admin=from-the-last-run-0000")],
            None,
        ),
    )
    .await;
    assert!(stale.json["error"].as_str().unwrap().contains("restart"));
}

#[tokio::test]
async fn the_link_sets_an_httponly_strict_cookie_and_lands_on_the_page_without_the_key() {
    let app = app();
    let link = send(&app, request("GET", &format!("/?key={KEY}"), &[], None)).await;
    assert_eq!(link.status, StatusCode::SEE_OTHER);
    assert_eq!(link.headers[header::LOCATION], "/voice-client.html");
    assert_eq!(link.headers[header::CACHE_CONTROL], "no-store");
    let set_cookie = link.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    let attributes: Vec<&str> = set_cookie.split("; ").collect();
    assert_eq!(attributes[0], format!("callflow_admin={KEY}"));
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(attributes.contains(&attribute), "{attribute}: {set_cookie}");
    }
    // Served over plain http here, so not Secure (the browser would drop it).
    assert!(!attributes.contains(&"Secure"), "{set_cookie}");

    // The cookie it set opens the APIs.
    let flows = send(
        &app,
        request("GET", "/flows", &[("cookie", attributes[0])], None),
    )
    .await;
    assert_eq!(flows.status, StatusCode::OK);

    // The page's own URL works as a link too, and other parameters stay.
    let page = send(
        &app,
        request(
            "GET",
            &format!("/voice-client.html?mode=real&key={KEY}"),
            &[],
            None,
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.headers[header::LOCATION],
        "/voice-client.html?mode=real"
    );
    assert!(page.headers.contains_key(header::SET_COOKIE));

    // A wrong key sets nothing.
    let wrong = send(
        &app,
        request("GET", "/?key=admin-key-for-the-tests-0124", &[], None),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(!wrong.headers.contains_key(header::SET_COOKIE));
    assert!(
        wrong.json["error"]
            .as_str()
            .unwrap()
            .contains("start-up log")
    );

    // The page's files hold nothing secret and stay public.
    let html = send(&app, request("GET", "/voice-client.html", &[], None)).await;
    assert_eq!(html.status, StatusCode::OK);
}

#[tokio::test]
async fn the_cookie_is_secure_when_the_page_is_opened_through_an_https_public_url() {
    let settings = settings(&[
        ("ADMIN_KEY", KEY),
        ("PUBLIC_URL", "https://ivr.example.com"),
    ]);
    let app = http::router(state(&settings, repository_flows()));
    let link = Request::get(format!("/?key={KEY}"))
        .header(header::HOST, "ivr.example.com")
        .body(Body::empty())
        .unwrap();
    let reply = send(&app, link).await;
    assert!(
        reply.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .ends_with("; Secure")
    );
}

/// A four-digit PIN in front of a private number.
fn vault() -> callflow::flow::FlowSet {
    let text = "start: ask\nsteps:\n  ask:\n    gather:\n      say: Enter your PIN.\n      num_digits: 4\n      save_as: pin\n    next: check\n  check:\n    branch:\n      - if: vars.pin == \"4321\"\n        goto: private\n    next: wrong\n  wrong:\n    say: Wrong PIN.\n  private:\n    dial: { number: \"+15551239999\" }\n";
    callflow::flow::load_sources(vec![Source {
        name: "main".into(),
        file: "main.yaml".into(),
        text: text.into(),
    }])
    .unwrap_or_else(|report| panic!("{report}"))
    .flows
}

#[tokio::test]
async fn the_simulator_no_longer_guesses_pins_for_strangers() {
    let app = http::router(state(&settings(&[("ADMIN_KEY", KEY)]), vault()));
    // A stranger cannot place the call that would try a PIN.
    for _ in 0..5 {
        let reply = send(
            &app,
            request("POST", "/simulate/calls", &[], Some(json!({}))),
        )
        .await;
        assert_needs_the_key(&reply, "a guess");
    }
    // The operator, with the key, still can: the test above is refused for the key alone.
    let call = send(
        &app,
        request(
            "POST",
            "/simulate/calls",
            &[("authorization", BEARER)],
            Some(json!({})),
        ),
    )
    .await;
    assert_eq!(call.status, StatusCode::CREATED);
    let id = call.json["id"].as_str().unwrap();
    let answer = send(
        &app,
        request(
            "POST",
            &format!("/simulate/calls/{id}"),
            &[("authorization", BEARER)],
            Some(json!({ "action": "press", "value": "4321" })),
        ),
    )
    .await;
    assert_eq!(answer.json["waiting"]["targets"], json!(["+15551239999"]));
}

// ---- behind a proxy, over real sockets ----------------------------------------------------

/// A proxy on a loopback port that forwards each connection to `upstream` as nginx's default
/// `proxy_pass http://127.0.0.1:PORT` does: `Host: 127.0.0.1:PORT`, `Connection: close`, and
/// no forwarding header, plus `extra` headers of its own (a CDN's `True-Client-IP`, `Via`).
async fn proxy(upstream: SocketAddr, extra: &'static [(&'static str, &'static str)]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(forward(client, upstream, extra));
        }
    });
    address
}

async fn forward(
    mut client: TcpStream,
    upstream: SocketAddr,
    extra: &'static [(&'static str, &'static str)],
) {
    // The request's head, up to the blank line; whatever follows is body.
    let mut buffer = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = client.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the client closed before its request was complete");
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap();
    let mut rewritten = format!("{request_line}\r\nHost: {upstream}\r\nConnection: close\r\n");
    for line in lines {
        let name = line
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !["host", "connection"].contains(&name.as_str()) {
            rewritten.push_str(line);
            rewritten.push_str("\r\n");
        }
    }
    for (name, value) in extra {
        rewritten.push_str(&format!("{name}: {value}\r\n"));
    }
    rewritten.push_str("\r\n");
    let mut server = TcpStream::connect(upstream).await.unwrap();
    server.write_all(rewritten.as_bytes()).await.unwrap();
    server.write_all(&buffer[head_end + 4..]).await.unwrap();
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}

/// One request over a new connection, as a browser elsewhere sends it to the proxy.
async fn raw(
    address: SocketAddr,
    method: &str,
    target: &str,
    auth: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let (status, _, json) = raw_with(
        address,
        method,
        target,
        auth.map(|a| format!("Authorization: {a}")),
        body,
    )
    .await;
    (status, json)
}

/// [`raw`] with any one header line, and the answer's head.
async fn raw_with(
    address: SocketAddr,
    method: &str,
    target: &str,
    header_line: Option<String>,
    body: &str,
) -> (u16, String, Value) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let auth = header_line
        .map(|line| format!("{line}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: ivr.example.com\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    (
        status,
        head.to_owned(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

async fn assert_proxied_surfaces_need_the_key(front: SocketAddr) {
    let start = r#"{"flow":"main"}"#;
    let surfaces = [
        ("GET", "/flows", "", 200),
        ("POST", "/simulate/calls", start, 201),
        ("GET", "/voice/token?identity=agent_bob", "", 200),
    ];
    for (method, target, body, _) in surfaces {
        let (status, json) = raw(front, method, target, None, body).await;
        assert_eq!(status, 401, "{method} {target} without the key: {json}");
        assert!(json["error"].as_str().unwrap().contains("?key="), "{json}");
    }
    for (method, target, body, ok) in surfaces {
        let (status, json) = raw(front, method, target, Some(BEARER), body).await;
        assert_eq!(status, ok, "{method} {target} with the key: {json}");
    }
}

/// Serves the app, puts a proxy adding `extra` in front of it (or none, for `None`), and
/// checks every admin surface through it.
async fn check_the_surfaces_behind(front: Option<&'static [(&'static str, &'static str)]>) {
    let (upstream, stop, server) = common::serve(app()).await;
    let address = match front {
        Some(extra) => proxy(upstream, extra).await,
        None => upstream,
    };
    assert_proxied_surfaces_need_the_key(address).await;
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn behind_an_nginx_like_proxy_nothing_opens_without_the_key() {
    check_the_surfaces_behind(Some(&[])).await;
}

#[tokio::test]
async fn behind_a_proxy_that_adds_only_true_client_ip_and_via_nothing_opens_without_the_key() {
    check_the_surfaces_behind(Some(&[
        ("True-Client-IP", "203.0.113.9"),
        ("Via", "1.1 edge-cache"),
    ]))
    .await;
}

#[tokio::test]
async fn straight_from_loopback_nothing_opens_without_the_key_either() {
    check_the_surfaces_behind(None).await;
}

// ---- the start-up log ------------------------------------------------------------------------

/// A `callflow serve` process, stopped when dropped.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `callflow serve` on a free loopback port with only `vars`, until its log has shown
/// `until`; returns the running server and its log so far.
fn serve_until(vars: &[(&str, &str)], until: &str) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_callflow"))
        .arg("serve")
        .current_dir(repo_path(""))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PORT", "0")
        .env("HOST", "127.0.0.1")
        .env("NO_COLOR", "1")
        .env("FLOWS_DIR", repo_path("flows"))
        .envs(vars.iter().copied())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("callflow starts");
    let stderr = child.stderr.take().unwrap();
    let running = Running(child);
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut log = String::new();
    while !log.contains(until) {
        let left = deadline.saturating_duration_since(Instant::now());
        match received.recv_timeout(left) {
            Ok(line) => {
                log.push_str(&line);
                log.push('\n');
            }
            Err(_) => break,
        }
    }
    assert!(
        log.contains(until),
        "the log never showed {until:?}:\n{log}"
    );
    (running, log)
}

#[tokio::test]
async fn cargo_run_then_the_printed_link_is_all_a_newcomer_needs() {
    let (_server, log) = serve_until(&[("SIMULATOR", "local")], "/?key=");
    let link = log
        .split_whitespace()
        .find(|word| word.starts_with("http://127.0.0.1:") && word.contains("/?key="))
        .unwrap_or_else(|| panic!("no link in the log:\n{log}"));
    let rest = &link["http://".len()..];
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    let address: SocketAddr = authority.parse().expect("the address actually bound");
    assert_ne!(address.port(), 0);
    assert!(path.len() >= "/?key=".len() + 43, "{path}");
    // The old SIMULATOR=local is accepted, and the log says what it means now.
    assert!(log.contains("SIMULATOR=local no longer"), "{log}");

    // Clicking the link: a cookie, and the page.
    let (status, head, _) = raw_with(address, "GET", path, None, "").await;
    assert_eq!(status, 303, "{head}");
    assert!(head.contains("location: /voice-client.html\r\n"), "{head}");
    let cookie = head
        .lines()
        .find_map(|line| line.strip_prefix("set-cookie: "))
        .unwrap_or_else(|| panic!("no cookie: {head}"));
    let pair = cookie.split(';').next().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );

    // The browser's next requests carry it; without it the same request is refused.
    let (status, _, flows) = raw_with(
        address,
        "GET",
        "/flows",
        Some(format!("Cookie: {pair}")),
        "",
    )
    .await;
    assert_eq!(status, 200, "{flows}");
    assert_eq!(flows["flows"][0]["name"], "main");
    let (status, _, _) = raw_with(address, "GET", "/flows", None, "").await;
    assert_eq!(status, 401);
}

#[test]
fn a_set_admin_key_is_never_printed_and_token_public_is_warned_about() {
    let (_server, log) = serve_until(
        &[
            ("ADMIN_KEY", KEY),
            ("TOKEN_PUBLIC", "true"),
            (vars::ACCOUNT_SID, "AC0123456789abcdef0123456789abcdef"),
            (vars::API_KEY, "SKfedcba9876543210fedcba9876543210"),
            (vars::API_SECRET, "not_a_real_secret_4f9a2c"),
            (vars::TWIML_APP_SID, "AP00112233445566778899aabbccddeeff"),
        ],
        "?key=<ADMIN_KEY>",
    );
    assert!(!log.contains(KEY), "{log}");
    assert!(log.contains("http://127.0.0.1:"), "{log}");
    let warning = log
        .lines()
        .find(|line| line.contains("TOKEN_PUBLIC=true"))
        .unwrap_or_else(|| panic!("no TOKEN_PUBLIC warning:\n{log}"));
    assert!(warning.contains("WARN"), "{warning}");
}
