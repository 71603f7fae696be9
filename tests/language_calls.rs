//! Languages as data: whole calls through the bilingual example flow
//! (`examples/flows/multilingual.yaml`), whose one set of steps speaks each
//! language from its prompt tables, in that language's voice, and listens
//! in that language; and `callflow check` on prompt tables with mistakes.

mod common;

use std::process::Command;

use callflow::simulator::{CallSetup, CallerAction, SimulatedCall};
use common::*;

const EXAMPLES: &str = "examples/flows";
const LINE: &str = "+15554440100";

fn to_the_line() -> CallSetup {
    setup("+15556667777", LINE)
}

/// The TwiML of the first answer that says `words`.
fn answer_saying<'a>(call: &'a SimulatedCall, words: &str) -> &'a str {
    call.exchanges
        .iter()
        .find(|e| e.twiml.contains(words))
        .map(|e| e.twiml.as_str())
        .unwrap_or_else(|| panic!("nothing says {words:?}:\n{}", call.transcript()))
}

/// Asserts that `words` are said in `voice` and `language` somewhere in
/// the call, and returns the TwiML that says them.
fn said_in<'a>(call: &'a SimulatedCall, voice: &str, language: &str, words: &str) -> &'a str {
    let twiml = answer_saying(call, words);
    let say = format!(r#"<Say language="{language}" voice="{voice}">{words}"#);
    assert!(twiml.contains(&say), "{say}\n---\n{twiml}");
    twiml
}

/// The opening `<Gather …>` tag of an answer.
fn gather_tag(twiml: &str) -> &str {
    let start = twiml
        .find("<Gather")
        .unwrap_or_else(|| panic!("no gather: {twiml}"));
    let end = start + twiml[start..].find('>').expect("the tag ends");
    &twiml[start..=end]
}

#[tokio::test]
async fn the_spanish_path_speaks_spanish_prompts_in_the_spanish_voice_and_listens_in_spanish() {
    let call = call(EXAMPLES, OPEN, to_the_line(), vec![press("2"), press("1")]).await;
    let menu = said_in(
        &call,
        "Polly.Lupe",
        "es-US",
        "Para nuestro horario, oprima 1",
    );
    assert!(gather_tag(menu).contains(r#"language="es-US""#), "{menu}");
    assert!(!menu.contains("Polly.Joanna"), "{menu}");
    said_in(&call, "Polly.Lupe", "es-US", "Abrimos todos los días");
    assert!(!heard(&call, "We are open"), "{}", call.transcript());
}

#[tokio::test]
async fn the_english_path_speaks_english_prompts_in_the_english_voice_and_listens_in_english() {
    let call = call(EXAMPLES, OPEN, to_the_line(), vec![press("1"), press("1")]).await;
    let menu = said_in(&call, "Polly.Joanna", "en-US", "For opening hours, press 1");
    assert!(gather_tag(menu).contains(r#"language="en-US""#), "{menu}");
    assert!(!menu.contains("Polly.Lupe"), "{menu}");
    assert!(
        heard(&call, "We are open every day"),
        "{}",
        call.transcript()
    );
    assert!(!heard(&call, "Abrimos"), "{}", call.transcript());
}

#[tokio::test]
async fn spanish_menu_messages_for_silence_and_wrong_answers_are_spanish() {
    let call = call(
        EXAMPLES,
        OPEN,
        to_the_line(),
        vec![press("2"), CallerAction::Silence, press("9")],
    )
    .await;
    said_in(&call, "Polly.Lupe", "es-US", "No escuché nada.");
    said_in(&call, "Polly.Lupe", "es-US", "Esa opción");
}

#[tokio::test]
async fn a_call_starting_in_spanish_skips_the_choice_and_hears_spanish() {
    let mut setup = to_the_line();
    setup.params.push(("language".into(), "es-US".into()));
    let call = call(EXAMPLES, OPEN, setup, vec![]).await;
    assert_eq!(
        call.heard().first().copied(),
        Some(
            "Para nuestro horario, oprima 1 o diga horario. Para hablar con alguien, oprima 2 o diga persona."
        ),
        "{}",
        call.transcript()
    );
    assert!(!heard(&call, "For English"), "{}", call.transcript());
}

#[tokio::test]
async fn the_first_language_speaks_when_the_variable_is_unset_or_unknown() {
    // Unset: the language choice, plain text, is said in the first
    // language's voice and language.
    let unset = call(EXAMPLES, OPEN, to_the_line(), vec![]).await;
    said_in(&unset, "Polly.Joanna", "en-US", "For English, press 1");
    // A language the flow does not list: English prompts, English voice.
    let mut setup = to_the_line();
    setup.params.push(("language".into(), "fr-FR".into()));
    let unknown = call(EXAMPLES, OPEN, setup, vec![]).await;
    let menu = said_in(&unknown, "Polly.Joanna", "en-US", "For opening hours");
    assert!(gather_tag(menu).contains(r#"language="en-US""#), "{menu}");
}

/// What `callflow check` prints for `dir`, which it must refuse.
fn check_refuses(dir: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_callflow"))
        .args(["check", dir])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs");
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(1), "{report}");
    report
}

#[test]
fn check_names_missing_translations_unknown_prompts_and_languages_at_their_lines() {
    let dir = "tests/fixtures/flows/languages_broken";
    let report = check_refuses(dir);
    for line in [
        "main.yaml:9:3: error: prompt `goodbye` has no `es-US` text: a caller in `es-US` would hear nothing",
        "main.yaml:11:3: error: prompt `menu` has no `es-US` text",
        "main.yaml:11:30: error: prompt `menu` has a text in `es-UZ`, which is not one of this flow's `languages`\n  help: did you mean `es-US`?",
        "main.yaml:14:20: error: there is no prompt named `welcom` in this flow\n  help: did you mean `welcome`?",
        "main.yaml:23:48: error: `es-MX` is not one of this flow's `languages`\n  help: this flow's languages are `en-US`, `es-US`",
        "main.yaml:24:9: error: option `again` gives `words`, so its key must be keys to press, such as `1`",
        "other.yaml:2:1: error: prompts need `languages`: list the languages this flow speaks",
        "other.yaml:6:25: error: a `say` has `text` or `prompt`, not both",
    ] {
        let line = format!("{dir}/{line}");
        assert!(report.contains(&line), "{line}\n---\n{report}");
    }
    assert!(report.ends_with("8 errors, 0 warnings\n"), "{report}");
}

#[tokio::test]
async fn prompt_list_items_and_record_prompts_are_said_in_the_calls_language() {
    let folder = Folder::new("language-prompts");
    folder.write(
        "main.yaml",
        "languages:\n  en-US: { voice: Polly.Joanna }\n  es-US: { voice: Polly.Lupe }\n\
         prompts:\n  ask: { en-US: Press 1., es-US: Oprima 1. }\n  \
         leave: { en-US: Leave a message., es-US: Deje un mensaje. }\n\
         steps:\n  ask:\n    menu:\n      prompt:\n        - say: { prompt: ask }\n        - pause: 1\n      \
         options: { 1: message }\n  message:\n    record: { say: { prompt: leave } }\n",
    );
    let dir = folder.path.to_str().unwrap();
    let mut setup = CallSetup::default();
    setup.params.push(("language".into(), "es-US".into()));
    let call = call(dir, OPEN, setup, vec![press("1")]).await;
    said_in(&call, "Polly.Lupe", "es-US", "Oprima 1.");
    said_in(&call, "Polly.Lupe", "es-US", "Deje un mensaje.");
    assert!(!heard(&call, "Leave a message"), "{}", call.transcript());
}

/// A folder of two lines that share `prompts/common.yaml`: one at the top,
/// which rewords one shared prompt in its own table, and one in a client's
/// subfolder, which refers to the file from there.
fn lines_sharing_prompts() -> Folder {
    let folder = Folder::new("shared-prompts");
    std::fs::create_dir_all(folder.join("prompts")).unwrap();
    folder.write(
        "prompts/common.yaml",
        "closed:\n  en-US: We are closed.\n  es-US: Estamos cerrados.\n\
         goodbye:\n  en-US: Goodbye.\n  es-US: Adiós.\n",
    );
    folder.write(
        "main.yaml",
        "numbers: [\"+15550000001\"]\n\
         languages:\n  en-US: { voice: Polly.Joanna }\n  es-US: { voice: Polly.Lupe }\n\
         prompts:\n  - prompts/common.yaml\n  - goodbye: { en-US: Bye from main., es-US: Adiós desde main. }\n\
         steps:\n  start:\n    say: { prompt: closed }\n    next: bye\n  bye:\n    say: { prompt: goodbye }\n",
    );
    std::fs::create_dir_all(folder.join("acme")).unwrap();
    folder.write(
        "acme/desk.yaml",
        "numbers: [\"+15550000002\"]\n\
         languages:\n  es-US: { voice: Polly.Lupe }\n\
         prompts: ../prompts/common.yaml\n\
         steps:\n  start:\n    say: { prompt: closed }\n    next: bye\n  bye:\n    say: { prompt: goodbye }\n",
    );
    folder
}

#[tokio::test]
async fn flows_share_a_prompt_file_and_a_flows_own_table_rewords_one_of_its_prompts() {
    let folder = lines_sharing_prompts();
    let dir = folder.path.to_str().unwrap();

    let mut spanish = setup("+15556667777", "+15550000001");
    spanish.params.push(("language".into(), "es-US".into()));
    let main = call(dir, OPEN, spanish, vec![]).await;
    said_in(&main, "Polly.Lupe", "es-US", "Estamos cerrados.");
    said_in(&main, "Polly.Lupe", "es-US", "Adiós desde main.");
    assert!(!heard(&main, "Adiós."), "{}", main.transcript());

    let desk = call(dir, OPEN, setup("+15556667777", "+15550000002"), vec![]).await;
    said_in(&desk, "Polly.Lupe", "es-US", "Estamos cerrados.");
    said_in(&desk, "Polly.Lupe", "es-US", "Adiós.");
}

#[test]
fn a_prompt_file_is_not_a_flow_and_its_edits_change_the_version() {
    let folder = lines_sharing_prompts();
    assert_eq!(flow_names(&folder.path), ["acme/desk", "main"]);
    let loaded = callflow::flow::load(&folder.path).unwrap_or_else(|r| panic!("{r}"));

    folder.write(
        "prompts/common.yaml",
        "closed:\n  en-US: Closed today.\n  es-US: Cerrado hoy.\n\
         goodbye:\n  en-US: Goodbye.\n  es-US: Adiós.\n",
    );
    let edited = callflow::flow::load(&folder.path).unwrap_or_else(|r| panic!("{r}"));
    assert_ne!(edited.flows.version(), loaded.flows.version());
}

#[test]
fn check_points_into_the_prompt_file_and_names_the_flow_that_lacks_a_translation() {
    let dir = "tests/fixtures/flows/prompt_files_broken";
    let report = check_refuses(dir);
    for line in [
        // A reference that leads nowhere, with the file meant, as this
        // flow must write it from its subfolder.
        "acme/desk.yaml:6:5: error: there is no prompt file `prompts/comon.yaml`: the path is read from this flow file's folder\n  help: did you mean `../prompts/common.yaml`?",
        // A translation missing for a flow that uses the prompt, at the
        // prompt's line in the shared file, once per flow.
        "prompts/common.yaml:1:1: error: prompt `goodbye` has no fr-FR text, and flow `acme/desk` speaks fr-FR and uses it",
        "prompts/common.yaml:4:1: error: prompt `closed` has no es-US text, and flow `main` speaks es-US and uses it",
        // Mistakes in the file itself, reported once however many flows
        // take it in.
        "prompts/common.yaml:9:10: error: syntax error",
        "prompts/common.yaml:11:3: error: `en_GB` is not a language",
    ] {
        let line = format!("{dir}/{line}");
        assert!(report.contains(&line), "{line}\n---\n{report}");
    }
    // `unused` has no French, but the French flow never says it.
    assert!(!report.contains("`unused`"), "{report}");
    assert!(report.ends_with("5 errors, 0 warnings\n"), "{report}");
}
