//! The state of a call between two webhooks, carried in the URL.
//!
//! When a step waits for the caller (a gather, a dial, a recording), the
//! TwiML tells Twilio to post the result to a URL such as
//! `/voice?flow=main&step=menu&try=1&var.account=123456`. That URL is the
//! whole memory of the call: no session store, so any instance behind a
//! load balancer answers any webhook and a restart loses no call.
//!
//! The URL also names the version of the flows the call started on
//! (`v=3f2a...`), so that a hot reload does not change a flow under a call
//! in progress; see the `reload` module.
//!
//! Because the URL is the call's memory, whoever can post to `/voice` could
//! rewrite it: jump past a PIN check, set a variable, reset a counter. So
//! every URL ends with a `seal`, a MAC over the state (see [`StateKey`]),
//! and a webhook whose state is not sealed by this line's key is refused
//! ([`CallState::from_query`]). A URL without any state, such as the Voice
//! URL in Twilio's console (`/voice?flow=support`), needs no seal; one
//! carrying any state key ([`CallState::is_state_key`]) must have one.

use super::seal::StateKey;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Names and values of a query or form, decoded; borrowed from the request
/// where nothing needed decoding.
pub type Pairs<'a> = [(Cow<'a, str>, Cow<'a, str>)];

/// Query keys that belong to the state, not to the caller.
const FLOW: &str = "flow";
const STEP: &str = "step";
const ATTEMPT: &str = "try";
const MISSES: &str = "miss";
const IDLE: &str = "idle";
const VERSION: &str = "v";
const RETURNS: &str = "ret";
const LEG: &str = "leg";
const VAR_PREFIX: &str = "var.";
const SEAL: &str = "seal";

/// Longest value a variable keeps, so URLs stay well within what Twilio
/// and proxies accept.
pub const MAX_VALUE_LEN: usize = 500;
/// Most variables a call carries.
pub const MAX_VARS: usize = 32;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallState {
    pub flow: String,
    /// The step that is waiting for this webhook's result.
    pub step: String,
    /// Failed tries of the current menu; only the silent ones when the
    /// menu counts wrong answers apart.
    pub attempt: u32,
    /// Wrong answers at the current menu, when it counts them apart.
    pub misses: u32,
    /// Turns in a row in which the caller gave no input.
    pub idle: u32,
    pub vars: BTreeMap<String, String>,
    /// The version of the flow set the call runs on ([`FlowSet::version`]).
    ///
    /// [`FlowSet::version`]: crate::flow::FlowSet::version
    pub version: Option<String>,
    /// The `call` steps whose sub-flows are in progress, outermost first:
    /// where each sub-flow comes back to. Written `ret=main:verify,billing:pin`;
    /// flow and step names never hold `:` or `,`.
    pub returns: Vec<ReturnPoint>,
    /// Whose phone the webhook is about: the caller's, or a leg of its own
    /// that a step opened (hold steps in a queue, a whisper to the callee).
    pub leg: Leg,
}

/// The part of a call a webhook is about. Twilio runs the steps of a queue's
/// hold and of a dial's whisper on URLs of their own; the leg in the URL
/// tells the engine that these steps end differently: the end of hold
/// steps plays them again, the end of a whisper joins the callee.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Leg {
    /// The caller, as for every step outside a hold or a whisper.
    #[default]
    Caller,
    /// The caller on hold in a queue: Twilio's `waitUrl`.
    Queue,
    /// The person dialled, before the two are joined: a `<Number url>`.
    Callee,
}

impl Leg {
    pub fn as_str(self) -> &'static str {
        match self {
            Leg::Caller => "caller",
            Leg::Queue => "queue",
            Leg::Callee => "callee",
        }
    }

    fn parse(text: &str) -> Option<Leg> {
        [Leg::Caller, Leg::Queue, Leg::Callee]
            .into_iter()
            .find(|leg| leg.as_str() == text)
    }
}

/// A `call` step a sub-flow comes back to, by its flow's and its own name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnPoint {
    pub flow: String,
    pub step: String,
}

/// Why a webhook's state was refused: someone other than this line wrote
/// it, or changed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StateRejected {
    #[error("state tampered: the callback URL carries call state but no seal")]
    Unsealed,
    #[error("state tampered: the callback URL's seal does not match its state")]
    BadSeal,
}

impl CallState {
    /// Reads the state from a webhook's query when `key` sealed it, or
    /// `None` for the first webhook of a call (no state at all).
    pub fn from_query(
        query: &Pairs<'_>,
        key: &StateKey,
    ) -> Result<Option<CallState>, StateRejected> {
        let Some((_, seal)) = query.iter().find(|(k, _)| k == SEAL) else {
            if query.iter().any(|(k, _)| CallState::is_state_key(k)) {
                return Err(StateRejected::Unsealed);
            }
            return Ok(None);
        };
        // The seal covers the state as this line writes it, so any change
        // that alters what was read (a step, a variable, a duplicate key, a
        // counter spelled otherwise) no longer matches.
        let state = CallState::read(query).ok_or(StateRejected::Unsealed)?;
        let mut canonical = String::with_capacity(96);
        state.write_query(&mut canonical);
        if !key.verify(&canonical, seal) {
            return Err(StateRejected::BadSeal);
        }
        Ok(Some(state))
    }

    /// Reads the state from a query without checking its seal: only for
    /// tools reading URLs this process wrote itself (flow tests, coverage).
    pub fn read(query: &Pairs<'_>) -> Option<CallState> {
        let get = |key: &str| query.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        let step = get(STEP)?.to_string();
        let mut state = CallState {
            flow: get(FLOW).map(|flow| flow.to_string()).unwrap_or_default(),
            step,
            attempt: get(ATTEMPT).and_then(|v| v.parse().ok()).unwrap_or(0),
            misses: get(MISSES).and_then(|v| v.parse().ok()).unwrap_or(0),
            idle: get(IDLE).and_then(|v| v.parse().ok()).unwrap_or(0),
            vars: BTreeMap::new(),
            version: get(VERSION).map(|version| version.to_string()),
            returns: get(RETURNS).map_or_else(Vec::new, |list| read_returns(list)),
            leg: match get(LEG) {
                Some(leg) => Leg::parse(leg)?,
                None => Leg::Caller,
            },
        };
        for (key, value) in query {
            if let Some(name) = key.strip_prefix(VAR_PREFIX) {
                state.set_var(name, value);
            }
        }
        Some(state)
    }

    /// The flow set version a webhook's URL names, if any, without reading
    /// the rest of the state: the server picks the set before the engine
    /// runs.
    pub fn version_in<'q>(query: &'q Pairs<'_>) -> Option<&'q str> {
        query
            .iter()
            .find(|(k, _)| k == VERSION)
            .map(|(_, v)| v.as_ref())
    }

    /// Whether a query key is part of the state rather than a parameter the
    /// flow author might read in a template.
    pub fn is_state_key(key: &str) -> bool {
        matches!(
            key,
            STEP | ATTEMPT | MISSES | IDLE | VERSION | RETURNS | LEG | SEAL
        ) || key.starts_with(VAR_PREFIX)
    }

    /// Sets a variable, trimming its value to [`MAX_VALUE_LEN`] and
    /// ignoring new names past [`MAX_VARS`].
    pub fn set_var(&mut self, name: &str, value: &str) {
        if self.vars.len() >= MAX_VARS && !self.vars.contains_key(name) {
            return;
        }
        let mut end = value.len().min(MAX_VALUE_LEN);
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        self.vars.insert(name.to_owned(), value[..end].to_owned());
    }

    /// Forgets a variable: the step that saves it heard nothing this time,
    /// and an answer from an earlier visit must not pass for this one's.
    pub fn unset_var(&mut self, name: &str) {
        self.vars.remove(name);
    }

    /// The URL Twilio posts the next webhook to, sealed with `key`: `base`
    /// is empty (a URL relative to the webhook) or the server's public URL.
    pub fn url(&self, base: &str, key: &StateKey) -> String {
        self.url_at(base, "/voice", key)
    }

    /// [`url`](Self::url) on another of the server's paths, for Twilio's
    /// reports about the call (a finished recording, say).
    pub fn url_at(&self, base: &str, path: &str, key: &StateKey) -> String {
        let mut url = String::with_capacity(base.len() + 128);
        url.push_str(base);
        url.push_str(path);
        url.push('?');
        let query = url.len();
        self.write_query(&mut url);
        let seal = key.seal(&url[query..]);
        append_pair(&mut url, SEAL, &seal);
        url
    }

    /// The state as a query, in the one order the seal is made over.
    fn write_query(&self, url: &mut String) {
        url.push_str(FLOW);
        url.push('=');
        append_encoded(url, &self.flow);
        append_pair(url, STEP, &self.step);
        if self.leg != Leg::Caller {
            append_pair(url, LEG, self.leg.as_str());
        }
        if let Some(version) = &self.version {
            append_pair(url, VERSION, version);
        }
        if !self.returns.is_empty() {
            let list: Vec<String> = self
                .returns
                .iter()
                .map(|point| format!("{}:{}", point.flow, point.step))
                .collect();
            append_pair(url, RETURNS, &list.join(","));
        }
        if self.attempt > 0 {
            append_pair(url, ATTEMPT, &self.attempt.to_string());
        }
        if self.misses > 0 {
            append_pair(url, MISSES, &self.misses.to_string());
        }
        if self.idle > 0 {
            append_pair(url, IDLE, &self.idle.to_string());
        }
        for (name, value) in &self.vars {
            append_pair(url, &format!("{VAR_PREFIX}{name}"), value);
        }
    }
}

/// The return points of `ret=main:verify,billing:pin`. A piece that is not
/// `flow:step` is dropped: the state then no longer writes what was sealed,
/// and the seal refuses it.
fn read_returns(list: &str) -> Vec<ReturnPoint> {
    list.split(',')
        .filter_map(|point| point.split_once(':'))
        .map(|(flow, step)| ReturnPoint {
            flow: flow.to_owned(),
            step: step.to_owned(),
        })
        .collect()
}

/// Appends `&name=value` to a query.
fn append_pair(url: &mut String, name: &str, value: &str) {
    url.push('&');
    append_encoded(url, name);
    url.push('=');
    append_encoded(url, value);
}

/// Appends `text` encoded exactly as `form_urlencoded` encodes it. Flow
/// and step names and versions are nearly always made of characters it
/// leaves alone, and those are copied as they are: its encoder, which
/// yields a piece per run, cost more than the rest of building the URL.
fn append_encoded(url: &mut String, text: &str) {
    if text.bytes().all(left_alone) {
        url.push_str(text);
    } else {
        url.extend(form_urlencoded::byte_serialize(text.as_bytes()));
    }
}

/// The bytes `application/x-www-form-urlencoded` keeps as they are.
fn left_alone(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'*' | b'-' | b'.' | b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(query: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
        form_urlencoded::parse(query.as_bytes()).collect()
    }

    fn key() -> StateKey {
        StateKey::from_secret("a state key of thirty-two characters").unwrap()
    }

    fn vault_state() -> CallState {
        let mut state = CallState {
            flow: "vault".into(),
            step: "pin".into(),
            attempt: 1,
            misses: 1,
            idle: 2,
            vars: BTreeMap::new(),
            version: Some("3f2a9c01b7de".into()),
            returns: vec![ReturnPoint {
                flow: "main".into(),
                step: "verify".into(),
            }],
            leg: Leg::Caller,
        };
        state.set_var("account", "123456");
        state
    }

    /// A hold's or a whisper's leg is read back, and sealed like the rest:
    /// a leg added, changed or spelled out where none is written is refused.
    #[test]
    fn the_leg_round_trips_and_is_sealed() {
        for leg in [Leg::Queue, Leg::Callee] {
            let state = CallState {
                leg,
                ..vault_state()
            };
            let url = state.url("", &key());
            let query = url.split_once('?').unwrap().1;
            assert!(
                query.contains(&format!("&leg={}&", leg.as_str())),
                "{query}"
            );
            let read = CallState::from_query(&pairs(query), &key()).unwrap();
            assert_eq!(read, Some(state));
        }
        let caller = vault_state().url("", &key());
        let query = caller.split_once('?').unwrap().1;
        assert!(!query.contains("leg="), "{query}");
        for forged in ["leg=queue", "leg=callee", "leg=agent"] {
            let forged = query.replace("&seal=", &format!("&{forged}&seal="));
            assert!(
                CallState::from_query(&pairs(&forged), &key()).is_err(),
                "{forged}"
            );
        }
    }

    #[test]
    fn the_url_round_trips_with_awkward_values() {
        let mut state = CallState {
            flow: "main".into(),
            step: "menu".into(),
            attempt: 2,
            misses: 3,
            idle: 1,
            vars: BTreeMap::new(),
            version: Some("3f2a9c01b7de".into()),
            returns: Vec::new(),
            leg: Leg::Caller,
        };
        state.set_var("said", "I'd like sales & support = 100% <now>");
        let url = state.url("https://ivr.example.com", &key());
        let query = url.split_once('?').unwrap().1;
        assert!(
            query.starts_with("flow=main&step=menu&v=3f2a9c01b7de&"),
            "{query}"
        );
        let query = pairs(query);
        assert_eq!(CallState::version_in(&query), Some("3f2a9c01b7de"));
        assert_eq!(CallState::from_query(&query, &key()), Ok(Some(state)));
    }

    proptest::proptest! {
        #[test]
        fn the_url_is_encoded_as_form_urlencoded_encodes_it(
            flow in "[ -~]{0,12}|.{0,12}",
            step in "[a-z_]{1,12}|[ -~]{0,12}",
            vars in proptest::collection::btree_map("[a-z]{1,6}", "[ -~]{0,16}|.{0,16}", 0..3),
        ) {
            let state = CallState {
                flow: flow.clone(),
                step: step.clone(),
                attempt: 1,
                misses: 0,
                idle: 0,
                vars: vars.clone(),
                version: Some("3f2a9c01b7de".into()),
                returns: Vec::new(),
                leg: Leg::Caller,
            };
            let mut expected = form_urlencoded::Serializer::for_suffix(String::from("/voice?"), 7);
            expected.append_pair(FLOW, &flow).append_pair(STEP, &step);
            expected.append_pair(VERSION, "3f2a9c01b7de").append_pair(ATTEMPT, "1");
            for (name, value) in &vars {
                expected.append_pair(&format!("{VAR_PREFIX}{name}"), value);
            }
            let expected = expected.finish();
            let seal = key().seal(&expected["/voice?".len()..]);
            proptest::prop_assert_eq!(state.url("", &key()), format!("{expected}&seal={seal}"));
        }

        /// Whatever an attacker changes in a sealed URL, the state either
        /// reads as it was written or is refused.
        #[test]
        fn no_edit_of_a_sealed_url_changes_the_state(
            cut in 0usize..200,
            insert in "[a-z0-9.=&%]{0,12}",
        ) {
            let state = vault_state();
            let url = state.url("", &key());
            let query = &url["/voice?".len()..];
            let at = (0..=cut.min(query.len())).rev().find(|&i| query.is_char_boundary(i)).unwrap();
            let edited = format!("{}{insert}{}", &query[..at], &query[at..]);
            if let Ok(Some(read)) = CallState::from_query(&pairs(&edited), &key()) {
                proptest::prop_assert_eq!(read, state);
            }
        }
    }

    #[test]
    fn the_first_webhook_has_no_state() {
        assert_eq!(
            CallState::from_query(&pairs("flow=support"), &key()),
            Ok(None)
        );
    }

    #[test]
    fn state_without_a_seal_is_refused() {
        for query in [
            "flow=vault&step=private_menu",
            "flow=vault&var.pin=4321",
            "flow=vault&idle=4294967295",
            "flow=vault&v=3f2a9c01b7de",
            "flow=vault&ret=main:verify",
        ] {
            assert_eq!(
                CallState::from_query(&pairs(query), &key()),
                Err(StateRejected::Unsealed),
                "{query}"
            );
        }
    }

    #[test]
    fn a_changed_step_variable_or_counter_breaks_the_seal() {
        let url = vault_state().url("", &key());
        let query = &url["/voice?".len()..];
        for (from, to) in [
            ("step=pin", "step=private_menu"),
            ("var.account=123456", "var.account=654321"),
            ("idle=2", "idle=4294967295"),
            ("try=1", "try=0"),
            ("miss=1", "miss=4294967295"),
            ("v=3f2a9c01b7de", "v=000000000000"),
            // A sub-flow would come back somewhere else, or nowhere.
            ("ret=main%3Averify", "ret=main%3Apaid"),
            ("ret=main%3Averify", "ret=main%3Averify%2Cmain%3Averify"),
            ("ret=main%3Averify", "ret=main"),
            ("&ret=main%3Averify", ""),
        ] {
            let edited = query.replace(from, to);
            assert_ne!(edited, query);
            assert_eq!(
                CallState::from_query(&pairs(&edited), &key()),
                Err(StateRejected::BadSeal),
                "{edited}"
            );
        }
        let added = format!("{query}&var.pin=4321");
        assert_eq!(
            CallState::from_query(&pairs(&added), &key()),
            Err(StateRejected::BadSeal)
        );
        let other_key = StateKey::from_secret("another key of thirty-two characters").unwrap();
        assert_eq!(
            CallState::from_query(&pairs(query), &other_key),
            Err(StateRejected::BadSeal)
        );
    }

    #[test]
    fn long_values_are_cut_on_a_character_boundary() {
        let mut state = CallState::default();
        state.set_var("x", &"é".repeat(400));
        assert_eq!(state.vars["x"].len(), MAX_VALUE_LEN);
    }

    /// The stack of sub-flows reads back as written, outermost first.
    #[test]
    fn the_return_points_round_trip_in_order() {
        let key = key();
        let state = CallState {
            flow: "verify_caller".into(),
            step: "ask_pin".into(),
            returns: vec![
                ReturnPoint {
                    flow: "main".into(),
                    step: "billing".into(),
                },
                ReturnPoint {
                    flow: "sales/emea".into(),
                    step: "check-card".into(),
                },
            ],
            leg: Leg::Caller,
            ..CallState::default()
        };
        let url = state.url("", &key);
        assert!(
            url.contains("&ret=main%3Abilling%2Csales%2Femea%3Acheck-card&"),
            "{url}"
        );
        let query = pairs(url.split_once("?").unwrap().1);
        assert_eq!(CallState::from_query(&query, &key), Ok(Some(state)));
    }
}
