//! Property tests: no input makes the loader or the webhook panic, and any
//! text a caller controls reaches TwiML as well-formed XML that reads back
//! as the same text. CI runs them with many cases (PROPTEST_CASES).

mod common;

use callflow::engine::{self, EngineSettings, Webhook};
use callflow::flow::load::{Source, load_sources};
use callflow::twiml::Response;
use proptest::prelude::*;
use std::borrow::Cow;

fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default);
    ProptestConfig::with_cases(cases)
}

fn load(text: &str) -> Result<callflow::flow::load::Loaded, callflow::flow::Report> {
    load_sources(vec![Source {
        name: "main".into(),
        file: "main.yaml".into(),
        text: text.into(),
    }])
}

/// YAML made of the language's own words, so the generator reaches deep
/// into the loader instead of stopping at a syntax error.
fn flowish_yaml() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "say",
        "play",
        "pause",
        "gather",
        "menu",
        "branch",
        "hours",
        "set",
        "dial",
        "record",
        "goto",
        "hangup",
        "reject",
        "next",
        "on",
        "open",
        "closed",
        "options",
        "retries",
        "text",
        "timeout",
        "number",
        "to",
        "allow",
        "if",
        "save_as",
        "input",
        "busy",
        "1",
        "main",
        "steps",
        "start",
        "fallback",
        "timezone",
        "numbers",
        "mon-fri",
        "closed_on",
        "no-answer",
    ]);
    let value = prop::sample::select(vec![
        "hello",
        "1",
        "-3",
        "true",
        "false",
        "null",
        "[]",
        "{}",
        "\"{{ call.From }}\"",
        "\"{% if %}\"",
        "main",
        "hangup",
        "\"+15551230001\"",
        "\"+1900555\"",
        "[dtmf, speech]",
        "\"09:00-17:00\"",
        "America/New_York",
        "\"client:*\"",
        "busy",
        "x: y",
        "\"[\"",
    ]);
    let line = (0usize..4, key, value)
        .prop_map(|(indent, k, v)| format!("{}{k}: {v}", "  ".repeat(indent)));
    prop::collection::vec(line, 0..24).prop_map(|lines| format!("steps:\n{}\n", lines.join("\n")))
}

/// One turn, run to its end outside a runtime: nothing in these flows waits.
fn answer_now<'f>(flows: &'f callflow::flow::FlowSet, webhook: &Webhook<'_>) -> engine::Answer<'f> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(engine::answer(flows, &EngineSettings::default(), webhook))
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn the_loader_never_panics_on_any_text(text in ".{0,400}") {
        let _ = load(&text);
    }

    #[test]
    fn the_loader_never_panics_on_flow_shaped_yaml(text in flowish_yaml()) {
        if let Err(report) = load(&text) {
            // A refused file always says why, with a position.
            prop_assert!(report.has_errors());
            prop_assert!(report.diagnostics.iter().all(|d| d.position.line >= 1));
        }
    }

    #[test]
    fn any_webhook_gets_well_formed_twiml(
        params in prop::collection::vec(
            (prop::sample::select(vec!["CallSid", "From", "To", "Digits", "SpeechResult", "DialCallStatus",
                "RecordingUrl", "flow", "CallerName", "x"]), ".{0,40}"),
            0..8),
        query in prop::collection::vec(
            (prop::sample::select(vec!["flow", "step", "try", "idle", "var.account", "var.x"]), ".{0,20}"),
            0..5),
    ) {
        let flows = callflow::flow::load(&common::repo_path("flows")).unwrap().flows;
        let owned = |pairs: Vec<(&'static str, String)>| -> Vec<(Cow<'static, str>, Cow<'static, str>)> {
            pairs.into_iter().map(|(k, v)| (Cow::Borrowed(k), Cow::Owned(v))).collect()
        };
        let (params, query) = (owned(params), owned(query));
        let webhook = Webhook { query: &query, params: &params, now: "2026-11-24T15:30:00Z".parse().unwrap() };
        let answer = answer_now(&flows, &webhook);
        prop_assert!(Response::parse(&answer.twiml).is_ok(), "{}", answer.twiml);
    }

    #[test]
    fn caller_text_reaches_twiml_intact(said in any::<String>(), name in any::<String>()) {
        let flows = load(
            "steps:\n  echo:\n    say: \"You said {{ call.SpeechResult }}\"\n    next: name\n  name:\n    gather: { say: \"{{ call.CallerName }}\", hints: \"{{ call.CallerName }}\" }\n",
        );
        // `hints` is not a template field: the flow must load regardless.
        let flows = flows.unwrap().flows;
        let params = vec![("SpeechResult".into(), said.clone().into()), ("CallerName".into(), name.clone().into())];
        let webhook = Webhook { query: &[], params: &params, now: "2026-11-24T15:30:00Z".parse().unwrap() };
        let twiml = answer_now(&flows, &webhook).twiml;
        let parsed = Response::parse(&twiml).unwrap_or_else(|e| panic!("{e}: {twiml}"));
        let representable = |text: &str| -> String {
            text.chars()
                .filter(|&c| !matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}'))
                .collect()
        };
        prop_assert_eq!(parsed.verbs[0].text.as_deref().unwrap_or(""), format!("You said {}", representable(&said)));
        // A prompt that renders to nothing but blanks writes no `<Say>` at all.
        let heard = if name.trim().is_empty() { String::new() } else { representable(&name) };
        prop_assert_eq!(parsed.verbs[1].all_text(), heard);
    }
}
