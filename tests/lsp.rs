//! `callflow lsp`, driven as an editor drives it: a real session over the
//! built binary's stdin and stdout, on a copy of `tests/fixtures/lsp`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use common::{Folder, repo_path};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

/// One editor's session with the server.
struct Session {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    /// Notifications read while waiting for something else.
    seen: Vec<Value>,
    next_id: i64,
}

impl Session {
    fn start() -> Session {
        let mut child = Command::new(env!("CARGO_BIN_EXE_callflow"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (sender, messages) = channel();
        std::thread::spawn(move || {
            loop {
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    if stdout.read_line(&mut header).unwrap_or(0) == 0 {
                        return;
                    }
                    let header = header.trim();
                    if header.is_empty() {
                        break;
                    }
                    if let Some(n) = header.strip_prefix("Content-Length: ") {
                        length = n.parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                stdout.read_exact(&mut body).unwrap();
                if sender.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
            }
        });
        Session {
            child,
            stdin,
            messages,
            seen: Vec::new(),
            next_id: 0,
        }
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    fn next_message(&mut self) -> Value {
        self.messages
            .recv_timeout(WAIT)
            .expect("the server answers in time")
    }

    /// The whole response to a request.
    fn ask(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let message = self.next_message();
            if message["id"] == json!(id) {
                return message;
            }
            self.seen.push(message);
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let response = self.ask(method, params);
        assert!(response.get("error").is_none(), "{response}");
        response["result"].clone()
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        let wanted = |message: &Value| {
            message["method"] == "textDocument/publishDiagnostics"
                && message["params"]["uri"] == uri
        };
        if let Some(at) = self.seen.iter().position(wanted) {
            let message = self.seen.remove(at);
            return message["params"]["diagnostics"].as_array().unwrap().clone();
        }
        loop {
            let message = self.next_message();
            if wanted(&message) {
                return message["params"]["diagnostics"].as_array().unwrap().clone();
            }
            self.seen.push(message);
        }
    }
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

fn at(uri: &str, line: u32, character: u32) -> Value {
    json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } })
}

fn range(line: u32, start: u32, end: u32) -> Value {
    json!({ "start": { "line": line, "character": start }, "end": { "line": line, "character": end } })
}

fn labels(completion: &Value) -> Vec<String> {
    completion
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["label"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn an_editor_session_checks_unsaved_text_navigates_completes_and_renames_steps() {
    let folder = Folder::new("lsp");
    for file in ["main.yaml", "billing.yaml"] {
        std::fs::copy(
            repo_path(&format!("tests/fixtures/lsp/{file}")),
            folder.join(file),
        )
        .unwrap();
    }
    let root = folder.path.canonicalize().unwrap();
    let main = uri(&root.join("main.yaml"));
    let billing = uri(&root.join("billing.yaml"));
    let written = std::fs::read_to_string(root.join("main.yaml")).unwrap();

    let mut session = Session::start();
    let initialized = session.request(
        "initialize",
        json!({ "processId": null, "rootUri": uri(&root), "capabilities": {} }),
    );
    assert_eq!(initialized["serverInfo"]["name"], "callflow");
    assert_eq!(initialized["capabilities"]["renameProvider"], true);
    session.notify("initialized", json!({}));
    // The folder is checked at once: the mistake on disk shows before any
    // file is opened.
    assert_eq!(session.diagnostics(&main).len(), 1);

    session.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": main, "languageId": "yaml", "version": 1, "text": written } }),
    );
    let diagnostics = session.diagnostics(&main);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    let mistake = &diagnostics[0];
    // As `callflow check` says it: main.yaml:6:11, with its help line.
    assert_eq!(
        mistake["message"],
        "there is no step named `menuu` in this flow\nhelp: did you mean `menu`?"
    );
    assert_eq!(mistake["range"], range(5, 10, 15));
    assert_eq!(mistake["severity"], 1);
    assert_eq!(mistake["code"], "unknown-step");

    // Names lead to their steps while the folder has an error, too: a
    // `goto` into billing, to billing's step.
    let definition = session.request("textDocument/definition", at(&main, 14, 34));
    assert_eq!(
        definition,
        json!({ "uri": billing, "range": range(5, 2, 6) })
    );

    // Fixed in the editor, not saved: the unsaved text is what counts.
    let fixed = written.replace("next: menuu", "next: menu");
    session.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": main, "version": 2 }, "contentChanges": [{ "text": fixed }] }),
    );
    assert_eq!(session.diagnostics(&main), Vec::<Value>::new());
    assert_eq!(
        std::fs::read_to_string(root.join("main.yaml")).unwrap(),
        written
    );

    // `next: menu` leads to the step `menu`.
    let definition = session.request("textDocument/definition", at(&main, 5, 12));
    assert_eq!(definition, json!({ "uri": main, "range": range(6, 2, 6) }));

    // Every place `menu` is named: its definition, `next`, and option 2.
    let mut params = at(&main, 6, 3);
    params["context"] = json!({ "includeDeclaration": true });
    let references = session.request("textDocument/references", params);
    assert_eq!(
        references,
        json!([
            { "uri": main, "range": range(6, 2, 6) },
            { "uri": main, "range": range(5, 10, 14) },
            { "uri": main, "range": range(11, 11, 15) },
        ])
    );

    // After `next: `, the flow's steps; where a key goes, the step's keys.
    let steps = session.request("textDocument/completion", at(&main, 5, 10));
    assert_eq!(
        labels(&steps),
        ["welcome", "menu", "billing", "goodbye", "hangup"]
    );
    let keys = labels(&session.request("textDocument/completion", at(&main, 4, 4)));
    for key in ["say", "menu", "dial", "next", "goto"] {
        assert!(keys.contains(&key.to_owned()), "{keys:?}");
    }

    let hover = session.request("textDocument/hover", at(&main, 4, 5));
    let doc = hover["contents"]["value"].as_str().unwrap();
    assert!(
        doc.starts_with("**say**\n\nSays text to the caller: `say: Hello.`"),
        "{doc}"
    );
    assert_eq!(hover["range"], range(4, 4, 7));

    // Renaming `card` from main.yaml's `goto` renames it in billing.yaml.
    let mut params = at(&main, 14, 35);
    params["newName"] = json!("card_entry");
    let edit = session.request("textDocument/rename", params);
    let change =
        |line, start, end| json!({ "range": range(line, start, end), "newText": "card_entry" });
    assert_eq!(
        edit,
        json!({ "changes": {
            billing.clone(): [change(5, 2, 6), change(4, 10, 14)],
            main.clone(): [change(14, 33, 37)],
        } })
    );
    // Names that would break the flow are refused, saying why.
    let mut refused = |name: &str| {
        let mut params = at(&main, 5, 10);
        params["newName"] = json!(name);
        session.ask("textDocument/rename", params)["error"]["message"].clone()
    };
    assert_eq!(
        refused("main menu"),
        "`main menu` cannot be a step name: use letters, digits, `_` and `-`"
    );
    assert_eq!(
        refused("goodbye"),
        "flow `main` already has a step named `goodbye`"
    );

    session.request("shutdown", Value::Null);
    session.notify("exit", Value::Null);
    let began = Instant::now();
    let status = loop {
        if let Some(status) = session.child.try_wait().unwrap() {
            break status;
        }
        assert!(began.elapsed() < WAIT, "the server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
}
