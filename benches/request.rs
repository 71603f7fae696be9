//! What one `request` step adds to a webhook: the same first webhook with
//! and without a lookup against a local HTTP server that answers at once,
//! 32 calls at a time, in the same run. The pool keeps connections warm,
//! so the lookup should cost a loopback round trip, not a handshake.
//!
//! Both go through callflow's own server on a loopback socket, 32
//! connections each sending webhooks one after another.
//!
//! Run with `cargo bench --bench request` (`ROUNDS=N` for more samples).
//! It prints p50 and p99 of each, and what the request adds at p99.

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use callflow::engine::EngineSettings;
use callflow::flow::load::Source;
use callflow::http::{self, AppState};
use http_body_util::BodyExt;

/// Calls in flight at once.
const CONCURRENCY: usize = 32;
/// Webhooks per connection before any is counted.
const WARM_UP: usize = 20;

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(200);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let far = far_server().await;
        let server = serve(router(far)).await;
        // Each caller is a connection sending webhooks one after another,
        // as Twilio does, alternating the two flows so both meet the same
        // machine; the first rounds warm connections and caches up.
        let mut callers = Vec::with_capacity(CONCURRENCY);
        for n in 0..CONCURRENCY {
            callers.push(tokio::spawn(caller(server, n, rounds)));
        }
        let (mut plain, mut lookup) = (Vec::new(), Vec::new());
        for caller in callers {
            let (p, l) = caller.await.unwrap();
            plain.extend(p);
            lookup.extend(l);
        }
        let (plain_p50, plain_p99) = percentiles(&mut plain);
        let (lookup_p50, lookup_p99) = percentiles(&mut lookup);
        println!(
            "{} webhooks each, {CONCURRENCY} connections at a time",
            plain.len()
        );
        println!("without the request: p50 {plain_p50:?}, p99 {plain_p99:?}");
        println!("with one request:    p50 {lookup_p50:?}, p99 {lookup_p99:?}");
        println!(
            "the request adds {:?} at p99 ({:?} at p50)",
            lookup_p99.saturating_sub(plain_p99),
            lookup_p50.saturating_sub(plain_p50)
        );
    });
}

/// callflow's server on a loopback port, as Twilio reaches it.
async fn serve(app: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(http::run(
        listener,
        app,
        http::Limits::default(),
        std::future::pending(),
    ));
    address
}

/// One connection's webhooks: `rounds` of each flow, after a warm-up.
async fn caller(
    server: std::net::SocketAddr,
    n: usize,
    rounds: usize,
) -> (Vec<Duration>, Vec<Duration>) {
    let stream = tokio::net::TcpStream::connect(server).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let (mut plain, mut lookup) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for round in 0..rounds + WARM_UP {
        for (flow, into) in [("plain", &mut plain), ("lookup", &mut lookup)] {
            let body = format!(
                "CallSid=CA{n:016}{round:016}&From=%2B15551112222&To=%2B15553334444&flow={flow}"
            );
            let request = axum::http::Request::post("/voice")
                .header("host", "127.0.0.1")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap();
            let started = Instant::now();
            let response = sender.send_request(request).await.unwrap();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let elapsed = started.elapsed();
            assert!(
                body.windows(7).any(|w| w == b"shipped"),
                "{}",
                String::from_utf8_lossy(&body)
            );
            if round >= WARM_UP {
                into.push(elapsed);
            }
        }
    }
    (plain, lookup)
}

/// A shop API answering at once on a loopback port.
async fn far_server() -> std::net::SocketAddr {
    let app = Router::new().route(
        "/orders/{id}",
        get(|| async { axum::Json(serde_json::json!({ "status": "shipped" })) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

/// Two flows that say the same; one looks the order up first.
fn router(far: std::net::SocketAddr) -> Router {
    let source = |name: &str, text: String| Source {
        name: name.into(),
        file: format!("{name}.yaml").into(),
        text,
    };
    let flows = callflow::flow::load_sources(vec![
        source(
            "plain",
            "steps:\n  tell:\n    say: Your order has shipped.\n".into(),
        ),
        source(
            "lookup",
            format!(
                "steps:\n  lookup:\n    request:\n      url: \"http://{far}/orders/{{{{ call.CallSid }}}}\"\n      save: {{ order_status: status }}\n    next: tell\n  tell:\n    say: \"Your order has {{{{ vars.order_status }}}}.\"\n"
            ),
        ),
    ])
    .expect("the flows load")
    .flows;
    http::router(AppState::new(flows, EngineSettings::default()))
}

fn percentiles(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.50), at(0.99))
}
