//! Hostile and ordinary dial targets against `callflow::dial_target`: what is refused, what it
//! normalises to, what an allow list permits, and that the numbers refused by default (invalid,
//! premium-rate and similar types, high-risk destinations) cannot be reached by a broad pattern.

use callflow::dial_target::{
    AllowList, HIGH_RISK_DESTINATIONS, NotPermitted, PatternProblem, Refusal, TargetKind, parse,
};
use proptest::prelude::*;

mod common;

use std::time::Duration;

use callflow::config::Settings;
use callflow::simulator::{CallEnd, CallSetup, SimulatedCall};

use TargetKind::{Client, Number, Sip};

fn allow(patterns: &[&str]) -> AllowList {
    let owned: Vec<String> = patterns.iter().map(|p| (*p).to_owned()).collect();
    AllowList::parse(&owned).expect("valid patterns")
}

#[test]
fn accepted_targets_normalise() {
    // (raw, expected kind, canonical, noun text)
    let cases: &[(&str, Option<TargetKind>, &str, &str)] = &[
        ("+15551234567", None, "+15551234567", "+15551234567"),
        ("  +1 (555) 123-4567 ", None, "+15551234567", "+15551234567"),
        (
            "+44.20.7946.0018",
            Some(Number),
            "+442079460018",
            "+442079460018",
        ),
        ("0044 20 7946 0018", None, "+442079460018", "+442079460018"),
        ("+1234567", None, "+1234567", "+1234567"),
        (
            "+123456789012345",
            None,
            "+123456789012345",
            "+123456789012345",
        ),
        ("client:alice", None, "client:alice", "alice"),
        ("Client:Agent_7", None, "client:Agent_7", "Agent_7"),
        ("alice", Some(Client), "client:alice", "alice"),
        ("client:bob", Some(Client), "client:bob", "bob"),
        (
            "sip:bob@example.com",
            None,
            "sip:bob@example.com",
            "sip:bob@example.com",
        ),
        (
            "SIP:Bob@PBX.Example.com:05060;Transport=TLS",
            Some(Sip),
            "sip:Bob@pbx.example.com:5060;transport=tls",
            "sip:Bob@pbx.example.com:5060;transport=tls",
        ),
        (
            "sips:+15551234567@trunk.example.com;region=ie1;edge=dublin",
            None,
            "sips:+15551234567@trunk.example.com;region=ie1;edge=dublin",
            "sips:+15551234567@trunk.example.com;region=ie1;edge=dublin",
        ),
        (
            "sip:ops@[2001:db8::1]:5061",
            None,
            "sip:ops@[2001:db8::1]:5061",
            "sip:ops@[2001:db8::1]:5061",
        ),
        (
            "sip:ops@192.0.2.10",
            None,
            "sip:ops@192.0.2.10",
            "sip:ops@192.0.2.10",
        ),
    ];
    for &(raw, expected, canonical, noun) in cases {
        let target = parse(raw, expected).unwrap_or_else(|e| panic!("{raw:?} refused: {e}"));
        assert_eq!(target.as_str(), canonical, "{raw:?}");
        assert_eq!(target.noun_text(), noun, "{raw:?}");
        assert_eq!(target.to_string(), canonical);
    }
    assert_eq!(parse("client:x", None).unwrap().kind(), Client);
    assert_eq!(parse("sip:x@y", None).unwrap().kind(), Sip);
    assert_eq!(parse("+15551234567", None).unwrap().kind(), Number);
    // Whitespace around the value (a template's trailing newline) is trimmed, never inside it.
    assert_eq!(
        parse("\n client:alice \r\n", None).unwrap().as_str(),
        "client:alice"
    );
}

/// The refusal variant, checked with a predicate so the table stays readable.
type Check = fn(&Refusal) -> bool;

#[test]
fn hostile_targets_are_refused() {
    let number_char: Check = |r| matches!(r, Refusal::NumberCharacter { .. });
    let client: Check = |r| matches!(r, Refusal::ClientIdentity { .. });
    let sip: Check = |r| matches!(r, Refusal::Sip { .. });
    let cases: &[(&str, Option<TargetKind>, Check)] = &[
        // XML injection.
        ("+1555<Hangup/>", None, number_char),
        (
            "+15551234567</Number><Number>+19005550100",
            None,
            number_char,
        ),
        ("client:alice\"/><Dial>", None, client),
        ("client:alice<", Some(Client), client),
        ("alice&amp;", Some(Client), client),
        ("sip:bob@example.com\"><Play>x</Play>", None, sip),
        ("sip:\"bob\"@example.com", None, sip),
        ("sip:bob@example.com?X-Header=a&b=c", None, sip),
        ("sip:bob@exa<mple.com", None, sip),
        // Unicode digits and look-alikes are refused, not converted.
        ("+１５５５１２３４５６７", None, number_char),
        ("+١٥٥٥١٢٣٤٥٦٧", None, number_char),
        ("+1555\u{00a0}1234567", None, number_char),
        ("+1555\u{202e}1234567", None, number_char),
        ("\u{ff0b}15551234567", None, number_char),
        // Dial-string tricks: pauses, extensions, DTMF, wildcards.
        ("+15551234567w1234", None, number_char),
        ("+15551234567,,9", None, number_char),
        ("+15551234567;ext=9", None, number_char),
        ("+15551234567#", None, number_char),
        ("*67+15551234567", None, number_char),
        ("+1555123%34567", None, number_char),
        ("+1 800 FLOWERS", None, number_char),
        ("+1555\t1234567", None, number_char),
        ("+1555\n1234567", None, number_char),
        ("+1555\r\n<Hangup/>", None, number_char),
        ("+1555\u{0}1234567", None, number_char),
        ("++15551234567", None, number_char),
        ("+1555+1234567", None, number_char),
        ("tel:+15551234567", None, number_char),
        // Format.
        ("5551234567", None, |r| {
            matches!(r, Refusal::NotInternational { .. })
        }),
        ("(555) 123-4567", None, |r| {
            matches!(r, Refusal::NotInternational { .. })
        }),
        ("+0441234567", None, |r| {
            matches!(r, Refusal::CountryCodeZero { .. })
        }),
        ("000441234567", None, |r| {
            matches!(r, Refusal::CountryCodeZero { .. })
        }),
        ("+123456", None, |r| {
            matches!(r, Refusal::NumberLength { digits: 6, .. })
        }),
        ("+1234567890123456", None, |r| {
            matches!(r, Refusal::NumberLength { digits: 16, .. })
        }),
        ("+", None, |r| {
            matches!(r, Refusal::NumberLength { digits: 0, .. })
        }),
        // Empty and oversized.
        ("", None, |r| matches!(r, Refusal::Empty)),
        ("   \t\n ", None, |r| matches!(r, Refusal::Empty)),
        ("", Some(Client), |r| matches!(r, Refusal::Empty)),
        // Clients.
        ("client:", None, client),
        ("client:alice.smith", None, client),
        ("client:alice smith", None, client),
        ("client: alice", None, client),
        ("client:alice-1", None, client),
        ("client:élodie", None, client),
        ("client:ali\nce", None, client),
        ("client:client:alice", None, client),
        // Wrong kind for the field.
        ("client:alice", Some(Number), |r| {
            matches!(
                r,
                Refusal::WrongKind {
                    expected: Number,
                    found: Client,
                    ..
                }
            )
        }),
        ("sip:bob@example.com", Some(Client), |r| {
            matches!(
                r,
                Refusal::WrongKind {
                    expected: Client,
                    found: Sip,
                    ..
                }
            )
        }),
        ("client:alice", Some(Sip), |r| {
            matches!(r, Refusal::WrongKind { .. })
        }),
        ("+15551234567", Some(Client), client),
        ("bob@example.com", Some(Sip), sip),
        ("+15551234567", Some(Sip), sip),
        // SIP shape.
        ("sip:example.com", None, sip),
        ("sip:@example.com", None, sip),
        ("sip:bob@", None, sip),
        ("sip:a@b@example.com", None, sip),
        ("sip:bob@example.com;maddr=attacker.net", None, sip),
        ("sip:bob@example.com;transport=sctp", None, sip),
        ("sip:bob@example.com;transport=tls;transport=udp", None, sip),
        ("sip:bob@example.com:0", None, sip),
        ("sip:bob@example.com:65536", None, sip),
        ("sip:bob@-example.com", None, sip),
        ("sip:bob@example..com", None, sip),
        ("sip:bob smith@example.com", None, sip),
        ("sip:bob@exam\nple.com", None, sip),
        ("sip:bob%40evil@example.com", None, sip),
        ("sip:bob@[::1", None, sip),
    ];
    for &(raw, expected, check) in cases {
        match parse(raw, expected) {
            Ok(target) => panic!("{raw:?} ({expected:?}) was accepted as {target}"),
            Err(refusal) => assert!(check(&refusal), "{raw:?}: unexpected refusal {refusal:?}"),
        }
    }
}

#[test]
fn client_identity_length_limit() {
    let max = format!("client:{}", "a".repeat(121));
    assert!(parse(&max, None).is_ok());
    let over = format!("client:{}", "a".repeat(122));
    assert!(matches!(
        parse(&over, None),
        Err(Refusal::ClientIdentity { .. })
    ));
}

#[test]
fn sip_length_limit() {
    let host = format!("{}.example.com", "a".repeat(60));
    let ok = format!("sip:{}@{host}", "u".repeat(255 - 5 - host.len()));
    assert_eq!(ok.len(), 255);
    assert!(parse(&ok, None).is_ok(), "{ok}");
    let over = format!("sip:{}@{host}", "u".repeat(256 - 5 - host.len()));
    assert!(matches!(parse(&over, None), Err(Refusal::Sip { .. })));
}

#[test]
fn huge_input_is_refused_before_parsing() {
    let raw = "+1".to_owned() + &"5".repeat(10_000);
    let refusal = parse(&raw, None).unwrap_err();
    assert!(matches!(refusal, Refusal::TooLong { len: 10_002, .. }));
}

#[test]
fn refusal_messages_quote_little_and_escape() {
    let raw = format!("+1555<Hangup/>\n{}", "x".repeat(200));
    let message = parse(&raw, None).unwrap_err().to_string();
    assert!(message.contains("'<'"), "{message}");
    assert!(!message.contains('\n'), "{message}");
    assert!(!message.contains(&"x".repeat(41)), "{message}");
    assert!(message.contains("..."), "{message}");

    let message = parse("5551234567", None).unwrap_err().to_string();
    assert_eq!(
        message,
        "the number \"5551234567\" is not in international format (+ and country code)"
    );
    let message = parse("+1５55", None).unwrap_err().to_string();
    assert!(message.contains("non-ASCII digit U+FF15"), "{message}");
    assert!(message.contains("\\u{ff15}"), "{message}");
    let message = parse("+1555\u{0}1234567", None).unwrap_err().to_string();
    assert!(message.contains("a NUL byte"), "{message}");
    assert!(message.contains("\\u{0}"), "{message}");
}

#[test]
fn allow_list_permits_matching_targets() {
    let list = allow(&[
        "+1 555 *",
        "+44*",
        "client:agent_*",
        "sip:*@example.com",
        "sip:*@*.pbx.example.net",
        "sips:support@voice.example.org:5061;*",
    ]);
    // (raw, permitted)
    let cases = [
        ("+15551234567", true),
        ("+1 (555) 000-1111", true),
        ("+15561234567", false),
        ("+442079460018", true),
        ("+33142685300", false),
        ("client:agent_7", true),
        ("client:agent_", true),
        ("client:alice", false),
        ("client:Agent_7", false),
        ("sip:bob@example.com", true),
        ("sip:bob@EXAMPLE.com", true),
        ("sip:bob@example.com:5060", false),
        ("sip:bob@example.com;transport=tls", false),
        ("sip:bob@example.com.evil.net", false),
        ("sip:bob@evil.com", false),
        ("sips:bob@example.com", false),
        ("sip:ops@a.pbx.example.net", true),
        ("sip:ops@pbx.example.net", false),
        ("sip:ops@evilpbx.example.net", false),
        ("sips:support@voice.example.org:5061;transport=tls", true),
        ("sips:support@voice.example.org:5061", false),
        ("sips:support@voice.example.org;transport=tls", false),
    ];
    for (raw, want) in cases {
        let target = parse(raw, None).unwrap_or_else(|e| panic!("{raw}: {e}"));
        assert_eq!(list.permits(&target), want, "{raw}");
    }
}

#[test]
fn empty_allow_list_permits_nothing() {
    let list = AllowList::parse(&[]).unwrap();
    assert!(list.is_empty());
    for raw in ["+15551234567", "client:alice", "sip:bob@example.com"] {
        let target = parse(raw, None).unwrap();
        assert!(!list.permits(&target), "{raw}");
        assert!(matches!(
            list.check(&target),
            Err(NotPermitted::NotAllowed { .. })
        ));
    }
}

#[test]
fn patterns_only_match_their_own_kind() {
    let list = allow(&["+*", "client:*"]);
    assert!(list.permits(&parse("+12125550123", None).unwrap()));
    assert!(list.permits(&parse("client:x", None).unwrap()));
    assert!(!list.permits(&parse("sip:x@example.com", None).unwrap()));
    let sip_any = allow(&["sip:*"]);
    assert!(sip_any.permits(&parse("sip:x@example.com;transport=tcp", None).unwrap()));
    assert!(!sip_any.permits(&parse("sips:x@example.com", None).unwrap()));
}

#[test]
fn deny_list_cannot_be_bypassed_by_broad_patterns() {
    let broad = allow(&[
        "+*", "+1*", "+19*", "+44*", "+4*", "+8*", "+9*", "+6*", "+3*", "+2*",
    ]);
    let denied = [
        "+19005550100",
        "+1-900-555-0100",
        "+1 (900) 555 0100",
        "001 900 555 0100",
        "+1.900.555.0100",
        "+19765550100",
        "+18095550100",
        "+18765550100",
        "+447011223344",
        "+447640123456",
        "+448712345678",
        "+449012345678",
        "+8816212345678",
        "+88234567890",
        "+88312345678",
        "+870773123456",
        "+97912345678",
        "+6901234",
        "+4990012345678",
        "+61190012345",
    ];
    for raw in denied {
        let target = parse(raw, None).unwrap_or_else(|e| panic!("{raw}: {e}"));
        assert!(!broad.permits(&target), "{raw} slipped through");
        match broad.check(&target) {
            Err(NotPermitted::Denied { prefix, .. }) => {
                assert!(target.as_str().starts_with(&prefix));
            }
            other => panic!("{raw}: expected a deny-list refusal, got {other:?}"),
        }
    }
    // Ordinary numbers next to the ranges still pass.
    for raw in [
        "+12125550100",
        "+18005550100",
        "+447911123456",
        "+442079460018",
        "+4930123456",
    ] {
        let target = parse(raw, None).unwrap();
        assert!(broad.permits(&target), "{raw} should be allowed");
    }
}

#[test]
fn deny_list_yields_only_to_a_pattern_naming_the_range() {
    let target = parse("+1 900 555 0100", None).unwrap();
    for pattern in [
        "+1900*",
        "+1900555*",
        "+1 900 555 *",
        "+19005550100",
        "001900*",
    ] {
        assert!(allow(&[pattern]).permits(&target), "{pattern}");
    }
    for pattern in ["+1*", "+190*", "+19*0*", "+*", "+1*900*", "+1*5550100"] {
        assert!(!allow(&[pattern]).permits(&target), "{pattern}");
    }
    // A pattern naming a different denied range does not open this one.
    assert!(!allow(&["+1976*", "+1*"]).permits(&target));
    // Explicitly allowing one UK pager range (076 40), which `+447*` does not open.
    let pager = parse("+447640123456", None).unwrap();
    assert!(allow(&["+447640*"]).permits(&pager));
    assert!(!allow(&["+447*"]).permits(&pager));
}

#[test]
fn deny_list_covers_numbers_dialled_through_a_sip_trunk() {
    let trunk = allow(&["sip:*@trunk.example.com", "sips:*@trunk.example.com;*"]);
    for raw in [
        "sip:+19005550100@trunk.example.com",
        "sip:+1-900-555-0100@trunk.example.com",
        "sip:+1.900.555.0100@trunk.example.com",
        "sip:0019005550100@trunk.example.com",
        "sips:+447011223344@trunk.example.com;transport=tls",
    ] {
        let target = parse(raw, None).unwrap_or_else(|e| panic!("{raw}: {e}"));
        assert!(
            matches!(trunk.check(&target), Err(NotPermitted::Denied { .. })),
            "{raw} slipped through"
        );
    }
    for raw in [
        "sip:+12125550123@trunk.example.com",
        "sip:alice@trunk.example.com",
        // Bare digits mean whatever the trunk's dial plan says; only + and 00 are read as E.164.
        "sip:19005550100@trunk.example.com",
    ] {
        let target = parse(raw, None).unwrap();
        assert!(trunk.permits(&target), "{raw}");
    }
    let on_purpose = allow(&["sip:+1900*@trunk.example.com"]);
    assert!(on_purpose.permits(&parse("sip:+19005550100@trunk.example.com", None).unwrap()));
    let broad_user = allow(&["sip:+1*@trunk.example.com"]);
    assert!(!broad_user.permits(&parse("sip:+19005550100@trunk.example.com", None).unwrap()));
}

#[test]
fn denied_message_tells_how_to_allow_on_purpose() {
    let target = parse("+19005550100", None).unwrap();
    let message = allow(&["+1*"]).check(&target).unwrap_err().to_string();
    assert!(message.contains("+1900"), "{message}");
    assert!(message.contains("premium"), "{message}");
    assert!(message.contains("starts with +1900"), "{message}");
}

/// Patterns, index of the bad one, and a predicate on why it is bad.
type PatternCase = (&'static [&'static str], usize, fn(&PatternProblem) -> bool);

#[test]
fn bad_patterns_say_which_and_why() {
    let cases: &[PatternCase] = &[
        (&[""], 0, |p| matches!(p, PatternProblem::Empty)),
        (&["+1*", "*"], 1, |p| matches!(p, PatternProblem::BareStar)),
        (&["**"], 0, |p| matches!(p, PatternProblem::BareStar)),
        (&["1555*"], 0, |p| {
            matches!(p, PatternProblem::NumberNotInternational)
        }),
        (&["+1 800 FLOWERS*"], 0, |p| {
            matches!(p, PatternProblem::NumberCharacter)
        }),
        (&["+1555"], 0, |p| {
            matches!(p, PatternProblem::NumberInvalid(_))
        }),
        (&["+0*"], 0, |p| {
            matches!(p, PatternProblem::NumberImpossible)
        }),
        (&["+1234567890123456*"], 0, |p| {
            matches!(p, PatternProblem::NumberImpossible)
        }),
        (&["tel:+1*"], 0, |p| {
            matches!(p, PatternProblem::UnknownKind)
        }),
        (&["alice"], 0, |p| matches!(p, PatternProblem::UnknownKind)),
        (&["client:"], 0, |p| matches!(p, PatternProblem::Client)),
        (&["client:agent.*"], 0, |p| {
            matches!(p, PatternProblem::Client)
        }),
        (&["sip:*@example.com*"], 0, |p| {
            matches!(p, PatternProblem::Sip(_))
        }),
        (&["sip:*@ex*ample.com"], 0, |p| {
            matches!(p, PatternProblem::Sip(_))
        }),
        (&["sip:example.com"], 0, |p| {
            matches!(p, PatternProblem::Sip(_))
        }),
        (&["sip:*@exa<mple.com"], 0, |p| {
            matches!(p, PatternProblem::Sip(_))
        }),
        (&["sip:bob@example.com", "sip:a b@example.com"], 1, |p| {
            matches!(p, PatternProblem::Sip(_))
        }),
    ];
    for &(patterns, index, check) in cases {
        let owned: Vec<String> = patterns.iter().map(|p| (*p).to_owned()).collect();
        let error = AllowList::parse(&owned).unwrap_err();
        assert_eq!(error.index, index, "{patterns:?}");
        assert!(check(&error.problem), "{patterns:?}: {:?}", error.problem);
        let message = error.to_string();
        assert!(message.contains(&format!("#{}", index + 1)), "{message}");
    }
}

/// The high-risk list rendered as Markdown: the snapshot is the block the README shows, and a
/// change to the list shows up in review.
#[test]
fn high_risk_table_markdown() {
    let mut markdown = String::from("| Prefix | Why it is refused |\n| --- | --- |\n");
    for destination in HIGH_RISK_DESTINATIONS {
        markdown.push_str(&format!(
            "| `{}` | {} |\n",
            destination.prefix, destination.reason
        ));
    }
    insta::assert_snapshot!(markdown);
}

/// The strict charset each kind's TwiML text must stay within.
fn noun_text_is_strict(kind: TargetKind, text: &str) -> bool {
    match kind {
        Number => {
            let digits = &text[1..];
            text.starts_with('+')
                && (7..=15).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit())
                && !digits.starts_with('0')
        }
        Client => {
            (1..=121).contains(&text.len())
                && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        }
        Sip => {
            (text.starts_with("sip:") || text.starts_with("sips:"))
                && text.len() <= 255
                && text.matches('@').count() == 1
                && text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._+-@:;=[]".contains(&b))
        }
    }
}

fn any_expected() -> impl Strategy<Value = Option<TargetKind>> {
    prop_oneof![
        Just(None),
        Just(Some(Number)),
        Just(Some(Client)),
        Just(Some(Sip))
    ]
}

fn near_valid() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[+0-9 ()\\-.]{0,24}",
        "[+0０-９٠-٩w,;#*<>&\"' \n\t\\x00-]{0,20}",
        "(client:|Client:|)[A-Za-z0-9_. <>\"&é]{0,130}",
        "sips?:[A-Za-z0-9@.:;=\\-\\[\\]<>\"&%? ]{0,60}",
        "(sip|SIP|sips):[a-z]{1,5}@[a-z.]{1,12}(:[0-9]{1,6})?(;(transport|region|edge|maddr)=[a-z0-9.]{0,5}){0,3}",
    ]
}

proptest! {
    #[test]
    fn every_accepted_target_is_in_its_strict_charset(raw in near_valid(), expected in any_expected()) {
        if let Ok(target) = parse(&raw, expected) {
            prop_assert!(
                noun_text_is_strict(target.kind(), target.noun_text()),
                "{:?} -> {:?}", raw, target
            );
            if let Some(kind) = expected {
                prop_assert_eq!(target.kind(), kind);
            }
            // Canonical forms are stable: parsing them again gives the same target.
            prop_assert_eq!(parse(target.as_str(), None), Ok(target.clone()));
        }
    }

    #[test]
    fn refusal_messages_stay_short_and_single_line(raw in any::<String>(), expected in any_expected()) {
        if let Err(refusal) = parse(&raw, expected) {
            let message = refusal.to_string();
            prop_assert!(!message.contains('\n') && !message.contains('\r'));
            prop_assert!(message.chars().all(|c| c.is_ascii() && !c.is_ascii_control()));
        }
    }

    #[test]
    fn high_risk_destinations_stay_closed_to_broad_patterns(
        range in proptest::sample::select(HIGH_RISK_DESTINATIONS),
        tail in "[0-9]{0,12}",
    ) {
        let digits = range.prefix.len() - 1 + tail.len();
        prop_assume!((7..=15).contains(&digits));
        let target = parse(&format!("{}{}", range.prefix, tail), None).unwrap();
        // Every pattern whose literal prefix is shorter than the destination's.
        for cut in 1..range.prefix.len() {
            let pattern = format!("{}*", &range.prefix[..cut]);
            prop_assert!(!allow(&[pattern.as_str()]).permits(&target), "{} vs {}", pattern, target);
        }
        // The destination's own pattern opens it; the number may still be refused for what it
        // is (random digits are seldom a valid number), never for where it is.
        let exact = format!("{}*", range.prefix);
        match allow(&[exact.as_str()]).check(&target) {
            Ok(()) => {}
            Err(NotPermitted::Denied { prefix, .. }) => prop_assert_ne!(prefix, range.prefix),
            Err(other) => prop_assert!(false, "{}: {}", target, other),
        }
    }
}

/// Asserts that `patterns` refuse `raw` with a default refusal (not "no pattern matches"), and
/// returns the refusal's message.
fn refused_by_default(patterns: &[&str], raw: &str) -> String {
    let target = parse(raw, None).unwrap_or_else(|e| panic!("{raw}: {e}"));
    match allow(patterns).check(&target) {
        Err(refusal @ NotPermitted::Denied { .. }) => refusal.to_string(),
        other => panic!("{raw} under {patterns:?}: expected a default refusal, got {other:?}"),
    }
}

/// A pattern for every broader prefix of `number`'s first digits: `+*`, `+5*`, `+53*`… up to
/// (not including) `upto` digits.
fn broader_patterns(number: &str, upto: usize) -> Vec<String> {
    (0..upto)
        .map(|digits| format!("+{}*", &number[1..1 + digits]))
        .collect()
}

/// Ordinary numbers of the destinations favoured by international revenue-share fraud, with
/// the prefix that opens each. Valid numbers from each country's own numbering plan.
const IRSF: &[(&str, &str, &str)] = &[
    ("Cuba", "+5351234567", "+53"),
    ("Somalia", "+25271123456", "+252"),
    ("Sierra Leone", "+23225123456", "+232"),
    ("Guinea", "+224601123456", "+224"),
    ("Guinea-Bissau", "+245955012345", "+245"),
    ("Gambia", "+2203012345", "+220"),
    ("Liberia", "+231770123456", "+231"),
    ("Chad", "+23563012345", "+235"),
    ("Republic of the Congo", "+242222123456", "+242"),
    ("DR Congo", "+243991234567", "+243"),
    ("Sao Tome and Principe", "+2399812345", "+239"),
    ("Comoros", "+2693212345", "+269"),
    ("Diego Garcia", "+2463801234", "+246"),
    ("Ascension", "+24740123", "+247"),
    ("Saint Helena", "+29051234", "+290"),
    ("Falkland Islands", "+50051234", "+500"),
    ("Norfolk Island / Antarctica", "+672381234", "+672"),
    ("Nauru", "+6745551234", "+674"),
    ("Papua New Guinea", "+67570123456", "+675"),
    ("Tonga", "+6767715123", "+676"),
    ("Solomon Islands", "+6777421234", "+677"),
    ("Vanuatu", "+6785912345", "+678"),
    ("Palau", "+6806201234", "+680"),
    ("Wallis and Futuna", "+681821234", "+681"),
    ("Cook Islands", "+68271234", "+682"),
    ("Niue", "+6838884012", "+683"),
    ("Samoa", "+6857212345", "+685"),
    ("Kiribati", "+68672001234", "+686"),
    ("Tuvalu", "+688901234", "+688"),
    ("Tokelau", "+6907290", "+690"),
    ("Micronesia", "+6913501234", "+691"),
    ("Marshall Islands", "+6922351234", "+692"),
    ("Inmarsat", "+870773123456", "+870"),
    ("Iridium (GMSS)", "+881612345678", "+881"),
    ("International Networks", "+8823421234", "+882"),
    ("International Networks", "+883510012345", "+883"),
    ("Jamaica", "+18765550100", "+1876"),
    ("Dominican Republic", "+18095550100", "+1809"),
];

#[test]
fn irsf_destinations_are_refused_under_every_broad_pattern() {
    for &(place, number, prefix) in IRSF {
        let digits = prefix.len() - 1;
        for pattern in broader_patterns(number, digits) {
            let message = refused_by_default(&[pattern.as_str()], number);
            assert!(
                message.contains("high-risk") && message.contains(prefix),
                "{place} {number} under {pattern}: {message}"
            );
        }
        // A browser-dialling flow's usual list does not reach them either.
        refused_by_default(&["+*", "client:*"], number);
    }
}

#[test]
fn a_high_risk_country_opens_only_when_its_code_is_named() {
    let cuba = parse("+53 7 123 4567", None).unwrap();
    for pattern in ["+53*", "+537*", "+5371234567", "0053*"] {
        assert!(allow(&[pattern]).permits(&cuba), "{pattern}");
    }
    for pattern in ["+*", "+5*", "+5*3*"] {
        assert!(!allow(&[pattern]).permits(&cuba), "{pattern}");
    }
    // Naming another high-risk code beside `+*` does not open this one.
    assert!(!allow(&["+252*", "+*"]).permits(&cuba));
    let message = refused_by_default(&["+*"], "+5371234567");
    assert!(message.contains("Cuba"), "{message}");
    assert!(message.contains("starts with +53"), "{message}");
    // A Cuban shared-cost number needs its range named too, not only the country.
    assert!(!allow(&["+53*"]).permits(&parse("+538071234567", None).unwrap()));
    assert!(allow(&["+53807*"]).permits(&parse("+538071234567", None).unwrap()));
    // And through a SIP trunk.
    let trunk = parse("sip:+5351234567@trunk.example.com", None).unwrap();
    assert!(!allow(&["sip:*@trunk.example.com"]).permits(&trunk));
    assert!(allow(&["sip:+53*@trunk.example.com"]).permits(&trunk));
}

#[test]
fn national_premium_ranges_are_refused_under_the_country_pattern() {
    // (country, premium-rate number, country pattern)
    let cases = [
        ("PL", "+48701234567", "+48*"),
        ("CZ", "+420900123456", "+420*"),
        ("SE", "+469001234567", "+46*"),
        ("IE", "+3531520123456", "+353*"),
        ("HU", "+3690123456", "+36*"),
        ("RO", "+40900123456", "+40*"),
        ("GR", "+309091234567", "+30*"),
        ("DK", "+4590123456", "+45*"),
        ("NO", "+4782012345", "+47*"),
        ("PT", "+351760123456", "+351*"),
        ("FI", "+358600123456", "+358*"),
        ("IL", "+9721919123456", "+972*"),
        ("LV", "+37190123456", "+371*"),
        ("LT", "+37090012345", "+370*"),
        ("DE", "+499001234567", "+49*"),
        ("AU", "+611900123456", "+61*"),
        ("IT", "+39899123456", "+39*"),
        ("ES", "+34803123456", "+34*"),
    ];
    for (country, number, pattern) in cases {
        for patterns in [&["+*"][..], &[pattern], &[pattern, "+*", "client:*"]] {
            let message = refused_by_default(patterns, number);
            assert!(
                message.contains("premium-rate"),
                "{country} {number}: {message}"
            );
        }
    }
    // Other types refused by default: shared cost, personal, UAN, voicemail, pager.
    for (number, what) in [
        ("+48801234567", "shared-cost"),
        ("+447011223344", "personal"),
        ("+443001234567", "UAN"),
        ("+49177991234567", "voicemail"),
        ("+447640123456", "pager"),
    ] {
        let message = refused_by_default(&["+*"], number);
        assert!(message.contains(what), "{number}: {message}");
    }
}

#[test]
fn special_nanp_codes_are_refused_under_plus_one() {
    for (number, why) in [
        ("+15005550100", "personal"),
        ("+14565550100", "not a valid number"),
        ("+18805550100", "not a valid number"),
        ("+17105550100", "not a valid number"),
        ("+19005550100", "premium-rate"),
    ] {
        let message = refused_by_default(&["+1*"], number);
        assert!(message.contains(why), "{number}: {message}");
        let opening = &number[..5];
        assert!(
            message.contains(&format!("starts with {opening}")),
            "{message}"
        );
    }
}

#[test]
fn ordinary_numbers_still_dial() {
    // (number, its country's pattern)
    let cases = [
        ("+12125550123", "+1*"),
        ("+16175550123", "+1*"),
        ("+14155550123", "+1*"),
        ("+18005550100", "+1*"),
        ("+442079460018", "+44*"),
        ("+441212345678", "+44*"),
        ("+447400123456", "+44*"),
        ("+447911123456", "+44*"),
        ("+4930123456", "+49*"),
        ("+4915123456789", "+49*"),
        ("+33142685300", "+33*"),
        ("+33612345678", "+33*"),
        ("+48123456789", "+48*"),
        ("+48512345678", "+48*"),
        // Italian fixed lines keep a leading zero after the country code.
        ("+390612345678", "+39*"),
    ];
    for (number, pattern) in cases {
        let target = parse(number, None).unwrap();
        for patterns in [&["+*"][..], &[pattern]] {
            assert_eq!(
                allow(patterns).check(&target),
                Ok(()),
                "{number} under {patterns:?}"
            );
        }
    }
}

/// One browser call from `from` to `to` through the `/voice` router, answered when it dials.
async fn browser_call(router: &axum::Router, from: &str, to: &str) -> SimulatedCall {
    SimulatedCall::play_script(
        router.clone(),
        common::setup(from, to),
        vec![common::outcome("completed")],
    )
    .await
    .expect("the simulated call runs")
}

fn was_refused(call: &SimulatedCall) -> bool {
    call.dialled().is_empty()
        && call
            .heard()
            .iter()
            .any(|said| said.contains("can only call numbers in North America"))
        && call.ended() == Some(&CallEnd::Hangup)
}

const NUMBER: &str = "+12125550143";

/// The example flows with the dial limits of `vars`, served by one router whose counts every
/// call shares.
fn router_with(vars: &[(&str, &str)]) -> axum::Router {
    let settings = Settings::from_vars(vars).expect("valid settings");
    callflow::http::router(common::state_at("flows", common::OPEN).with_engine(settings.engine()))
}

#[tokio::test(start_paused = true)]
async fn a_browser_identity_past_its_dial_limit_takes_the_refused_path() {
    // The defaults: 10 dials a minute for one identity.
    let router = common::router_at("flows", common::OPEN);
    for n in 1..=10 {
        let call = browser_call(&router, "client:alice", NUMBER).await;
        assert_eq!(call.dialled(), [NUMBER], "dial {n}: {}", call.transcript());
    }
    let eleventh = browser_call(&router, "client:alice", NUMBER).await;
    assert!(was_refused(&eleventh), "{}", eleventh.transcript());
    assert!(!eleventh.exchanges[0].twiml.contains("<Dial"));
    // Another identity is still served.
    let bob = browser_call(&router, "client:bob", NUMBER).await;
    assert_eq!(bob.dialled(), [NUMBER]);
    // The budget refills evenly: one dial every 6 seconds at 10 a minute.
    tokio::time::advance(Duration::from_secs(5)).await;
    assert!(was_refused(
        &browser_call(&router, "client:alice", NUMBER).await
    ));
    tokio::time::advance(Duration::from_secs(1)).await;
    let again = browser_call(&router, "client:alice", "client:bob").await;
    assert_eq!(again.dialled(), ["client:bob"]);
}

#[tokio::test(start_paused = true)]
async fn browser_calls_together_past_the_total_limit_take_the_refused_path() {
    let router = router_with(&[("DIAL_RATE_LIMIT", "2"), ("DIAL_RATE_LIMIT_TOTAL", "3")]);
    for identity in ["client:a", "client:b", "client:c"] {
        let call = browser_call(&router, identity, NUMBER).await;
        assert_eq!(call.dialled(), [NUMBER], "{identity}");
    }
    let fourth = browser_call(&router, "client:d", NUMBER).await;
    assert!(was_refused(&fourth), "{}", fourth.transcript());
    // 3 a minute refill one every 20 seconds.
    tokio::time::advance(Duration::from_secs(20)).await;
    assert_eq!(
        browser_call(&router, "client:d", NUMBER).await.dialled(),
        [NUMBER]
    );
}

#[tokio::test(start_paused = true)]
async fn dial_limits_can_be_switched_off_and_phone_calls_are_not_counted() {
    let router = router_with(&[("DIAL_RATE_LIMIT", "off"), ("DIAL_RATE_LIMIT_TOTAL", "off")]);
    for _ in 0..30 {
        assert_eq!(
            browser_call(&router, "client:alice", NUMBER)
                .await
                .dialled(),
            [NUMBER]
        );
    }
    // With the limits on, a phone call into the outbound flow is not counted.
    let router = router_with(&[("DIAL_RATE_LIMIT", "1"), ("DIAL_RATE_LIMIT_TOTAL", "1")]);
    for _ in 0..3 {
        let setup = CallSetup {
            flow: Some("outbound".into()),
            ..common::setup("+14155550100", NUMBER)
        };
        let call =
            SimulatedCall::play_script(router.clone(), setup, vec![common::outcome("completed")])
                .await
                .unwrap();
        assert_eq!(call.dialled(), [NUMBER]);
    }
    assert_eq!(
        browser_call(&router, "client:alice", NUMBER)
            .await
            .dialled(),
        [NUMBER]
    );
    assert!(was_refused(
        &browser_call(&router, "client:alice", NUMBER).await
    ));
}
