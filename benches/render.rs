//! The cost of answering one webhook: what the engine adds on top of the
//! web server for each turn of a call, and the whole webhook short of the
//! socket; and the cost of checking one dial target built from caller input.
//!
//! Run with `cargo bench --bench render`.

use std::borrow::Cow;
use std::hint::black_box;
use std::path::Path;

use callflow::engine::{self, EngineSettings, Webhook};
use criterion::{Criterion, criterion_group, criterion_main};

fn pairs(query: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    form_urlencoded::parse(query.as_bytes()).collect()
}

fn bench(c: &mut Criterion) {
    let flows = callflow::flow::load(Path::new("flows"))
        .expect("default flows load")
        .flows;
    let settings = EngineSettings::default();
    // A turn is async; nothing in these flows waits, so a runtime on this
    // thread runs each one to its end.
    let turns = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let first = pairs(
        "AccountSid=AC00000000000000000000000000000000&CallSid=CA00000000000000000000000000000001\
         &From=%2B15551112222&To=%2B15553334444&CallStatus=ringing&Direction=inbound&ApiVersion=2010-04-01",
    );
    let open: jiff::Timestamp = "2026-11-24T15:30:00Z".parse().unwrap();
    let closed: jiff::Timestamp = "2026-11-24T03:30:00Z".parse().unwrap();

    c.bench_function("first webhook, office open (say + hours + menu)", |b| {
        b.iter(|| {
            let webhook = Webhook {
                query: &[],
                params: &first,
                now: open,
            };
            black_box(turns.block_on(engine::answer(&flows, &settings, black_box(&webhook))))
        })
    });
    c.bench_function(
        "first webhook, office closed (say + hours + say + record)",
        |b| {
            b.iter(|| {
                let webhook = Webhook {
                    query: &[],
                    params: &first,
                    now: closed,
                };
                black_box(turns.block_on(engine::answer(&flows, &settings, black_box(&webhook))))
            })
        },
    );
    // The callback URL the first webhook's menu writes, sealed.
    let menu_url = engine::CallState {
        flow: "main".into(),
        step: "menu".into(),
        ..engine::CallState::default()
    }
    .url("", &settings.state_key);
    let menu_query = pairs(menu_url.split_once('?').map_or("", |(_, query)| query));
    let mut pressed = first.clone();
    pressed.push(("Digits".into(), "1".into()));
    c.bench_function("menu answer: press 1 -> say + dial", |b| {
        b.iter(|| {
            let webhook = Webhook {
                query: &menu_query,
                params: &pressed,
                now: open,
            };
            black_box(turns.block_on(engine::answer(&flows, &settings, black_box(&webhook))))
        })
    });
    // What the metrics add to a webhook: counting the turn (a call
    // started, three steps entered, two moves between them) and timing
    // the request.
    let metrics = callflow::metrics::Metrics::default();
    let webhook = Webhook {
        query: &[],
        params: &first,
        now: open,
    };
    let answer = turns.block_on(engine::answer(&flows, &settings, &webhook));
    c.bench_function("metrics: count a first webhook's turn and time it", |b| {
        b.iter(|| {
            metrics.observe_turn(black_box(&answer.report), answer.flow);
            metrics.observe_webhook(Some("/voice"), black_box(0.000_01));
        })
    });
    // What a forged webhook costs: the signature check that refuses it,
    // against the turn a genuine one gets (above).
    let token = callflow::signature::AuthToken::new("0123456789abcdef0123456789abcdef").unwrap();
    let forged = "bm90IGEgc2lnbmF0dXJlIGF0IGFsbA==";
    c.bench_function("refuse a forged first webhook (signature check)", |b| {
        b.iter(|| {
            black_box(callflow::signature::validate(
                &token,
                callflow::signature::Algorithm::HmacSha1,
                black_box("https://ivr.example.com/voice"),
                &first,
                forged,
            ))
        })
    });
    // The whole webhook as the server handles it, short of the socket:
    // the router and its layers, body, form, engine and the HTTP answer.
    let app = callflow::http::router(
        callflow::http::AppState::new(
            callflow::flow::load(Path::new("flows")).unwrap().flows,
            settings.clone(),
        )
        .with_clock(callflow::http::Clock::Fixed(open)),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let body = "AccountSid=AC00000000000000000000000000000000&CallSid=CA00000000000000000000000000000001\
         &From=%2B15551112222&To=%2B15553334444&CallStatus=ringing&Direction=inbound&ApiVersion=2010-04-01";
    c.bench_function("first webhook through the server, no socket", |b| {
        b.iter(|| {
            let request = axum::http::Request::post("/voice")
                .header("host", "ivr.example.com")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(axum::body::Body::from(body))
                .unwrap();
            let response = runtime.block_on(tower::ServiceExt::oneshot(app.clone(), request));
            black_box(response.unwrap())
        })
    });
    c.bench_function("render one say step (preview)", |b| {
        b.iter(|| {
            black_box(turns.block_on(engine::preview(
                &flows,
                &settings,
                "main",
                Some("goodbye"),
                open,
            )))
        })
    });
}

/// One dial target from caller input, parsed and held to an allow list: the libphonenumber
/// metadata and the high-risk list are read for every number.
fn dial_check(c: &mut Criterion) {
    use callflow::dial_target::{AllowList, parse};
    let allow = AllowList::parse(&["+*".to_owned(), "client:*".to_owned()]).unwrap();
    let check = |raw: &str| {
        let target = parse(raw, None).unwrap();
        allow.check(&target).is_ok()
    };
    // Compile the patterns of the calling codes used below, as earlier calls would have.
    let numbers = [
        "+12125550123",
        "+442079460018",
        "+4930123456",
        "+33612345678",
        "+390612345678",
        "+48701234567",
        "+18765550100",
        "+5371234567",
    ];
    for number in numbers {
        check(number);
    }
    c.bench_function("dial check: a US number under +*", |b| {
        b.iter(|| black_box(check(black_box("+1 (212) 555-0123"))))
    });
    c.bench_function("dial check: a Jamaican +1 number (a shared code)", |b| {
        b.iter(|| black_box(check(black_box("+18765550100"))))
    });
    c.bench_function("dial check: eight countries in turn", |b| {
        b.iter(|| {
            for number in numbers {
                black_box(check(black_box(number)));
            }
        })
    });
}

criterion_group!(benches, bench, dial_check);
criterion_main!(benches);
