//! The session: the handshake, then one message at a time, in order.
//!
//! Requests are answered on this one thread, in the order they came:
//! each costs microseconds next to a check of the folder, and a check
//! runs after every change before the next message is read, so an answer
//! never speaks of text older than the last change the editor sent.

use std::path::{Path, PathBuf};

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidChangeWatchedFiles, DidCloseTextDocument, DidOpenTextDocument,
    DidSaveTextDocument, Notification as _, PublishDiagnostics, ShowMessage,
};
use lsp_types::request::{
    Completion, GotoDefinition, HoverRequest, References, Rename, Request as _,
};
use lsp_types::{
    CompletionOptions, CompletionParams, CompletionResponse, GotoDefinitionParams,
    GotoDefinitionResponse, HoverParams, HoverProviderCapability, InitializeParams,
    InitializeResult, MessageType, OneOf, ReferenceParams, RenameParams, ServerCapabilities,
    ServerInfo, ShowMessageParams, TextDocumentPositionParams, TextDocumentSyncCapability,
    TextDocumentSyncKind,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::LspError;
use super::diagnostics::Published;
use super::documents::{Documents, from_lsp, path_of};
use super::keys::Keys;
use super::navigation::{RenameRefused, definition, named_at, references, rename};
use super::outline::Named;
use super::workspace::Workspace;
use crate::flow::MaxFileBytes;

/// Serves one editor over stdin and stdout until it says `exit`. The flows
/// folder is `folder`, or the editor's root folder when not given.
pub(crate) fn serve(folder: Option<PathBuf>, max: MaxFileBytes) -> Result<(), LspError> {
    let (connection, io_threads) = Connection::stdio();
    let (id, params) = connection.initialize_start()?;
    let params: InitializeParams = serde_json::from_value(params)?;
    let folder = folder
        .or_else(|| root_of(&params))
        .ok_or(LspError::NoFolder)?;
    let folder = folder.canonicalize().unwrap_or(folder);
    let result = InitializeResult {
        capabilities: capabilities(),
        server_info: Some(ServerInfo {
            name: "callflow".to_owned(),
            version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        }),
    };
    connection.initialize_finish(id, serde_json::to_value(result)?)?;
    let mut server = Server {
        connection: &connection,
        documents: Documents::default(),
        workspace: Workspace::new(folder, max),
        published: Published::default(),
        keys: Keys::new(),
    };
    // The handshake took the editor's `initialized`: check the folder now,
    // so every file's mistakes show before any is opened.
    server.check()?;
    for message in &connection.receiver {
        match message {
            Message::Request(request) => {
                if connection.handle_shutdown(&request)? {
                    break;
                }
                let response = server.answer(request);
                connection
                    .sender
                    .send(response.into())
                    .map_err(|_| LspError::Disconnected)?;
            }
            Message::Notification(notification) => server.notified(notification)?,
            Message::Response(_) => {}
        }
    }
    drop(server);
    drop(connection);
    io_threads.join()?;
    Ok(())
}

/// The editor's root folder: its first workspace folder, or `rootUri`.
fn root_of(params: &InitializeParams) -> Option<PathBuf> {
    let folder = params
        .workspace_folders
        .as_ref()
        .and_then(|folders| folders.first())
        .map(|folder| &folder.uri);
    #[allow(deprecated)]
    let root = folder.or(params.root_uri.as_ref())?;
    root.to_file_path().ok()
}

fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Left(true)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![":".to_owned(), " ".to_owned()]),
            ..CompletionOptions::default()
        }),
        ..ServerCapabilities::default()
    }
}

struct Server<'c> {
    connection: &'c Connection,
    documents: Documents,
    workspace: Workspace,
    published: Published,
    keys: Keys,
}

impl Server<'_> {
    /// Takes in a change and checks the folder again; a notification it
    /// cannot read is logged and left, as the protocol wants.
    fn notified(&mut self, notification: Notification) -> Result<(), LspError> {
        if let Err(Refusal(_, problem)) = self.take(notification) {
            tracing::warn!("callflow lsp: a notification it cannot read: {problem}");
            return Ok(());
        }
        self.check()
    }

    /// Takes in what a notification says about the open documents.
    fn take(&mut self, notification: Notification) -> Result<(), Refusal> {
        let method = notification.method.as_str();
        match method {
            DidOpenTextDocument::METHOD => {
                let params: lsp_types::DidOpenTextDocumentParams = params(notification.params)?;
                if let Some(path) = path_of(&params.text_document.uri) {
                    self.documents.set(path, params.text_document.text);
                }
            }
            DidChangeTextDocument::METHOD => {
                let params: lsp_types::DidChangeTextDocumentParams = params(notification.params)?;
                let (Some(path), Some(change)) = (
                    path_of(&params.text_document.uri),
                    params.content_changes.into_iter().next_back(),
                ) else {
                    return Ok(());
                };
                self.documents.set(path, change.text);
            }
            DidCloseTextDocument::METHOD => {
                let params: lsp_types::DidCloseTextDocumentParams = params(notification.params)?;
                if let Some(path) = path_of(&params.text_document.uri) {
                    self.documents.close(&path);
                }
            }
            DidSaveTextDocument::METHOD | DidChangeWatchedFiles::METHOD => {}
            _ => {
                return Err(Refusal(
                    ErrorCode::MethodNotFound,
                    format!("`{method}` is not one it takes"),
                ));
            }
        }
        Ok(())
    }

    /// Checks the folder and sends what changed.
    fn check(&mut self) -> Result<(), LspError> {
        let reports = self.workspace.check(&self.documents);
        let outcome = self
            .published
            .update(&reports, &self.workspace, &self.documents);
        for params in outcome.publish {
            self.notify::<PublishDiagnostics>(params)?;
        }
        for message in outcome.folder {
            self.notify::<ShowMessage>(ShowMessageParams {
                typ: MessageType::ERROR,
                message,
            })?;
        }
        Ok(())
    }

    fn notify<N: lsp_types::notification::Notification>(
        &self,
        params: N::Params,
    ) -> Result<(), LspError> {
        let notification = Notification::new(N::METHOD.to_owned(), params);
        self.connection
            .sender
            .send(notification.into())
            .map_err(|_| LspError::Disconnected)?;
        Ok(())
    }

    fn answer(&self, request: Request) -> Response {
        let id = request.id.clone();
        match self.dispatch(request) {
            Ok(result) => Response::new_ok(id, result),
            Err(Refusal(code, message)) => Response::new_err(id, code as i32, message),
        }
    }

    fn dispatch(&self, request: Request) -> Result<Value, Refusal> {
        let method = request.method.as_str();
        match method {
            GotoDefinition::METHOD => {
                let params: GotoDefinitionParams = params(request.params)?;
                let found = self
                    .named(&params.text_document_position_params)
                    .and_then(|named| definition(&self.workspace, &named))
                    .map(GotoDefinitionResponse::Scalar);
                to_json(found)
            }
            References::METHOD => {
                let params: ReferenceParams = params(request.params)?;
                let with_definition = params.context.include_declaration;
                let found = self
                    .named(&params.text_document_position)
                    .map(|named| references(&self.workspace, &named, with_definition));
                to_json(found)
            }
            Rename::METHOD => {
                let params: RenameParams = params(request.params)?;
                let named = self.named(&params.text_document_position);
                let edit = named
                    .ok_or(RenameRefused::NotAStep)
                    .and_then(|named| rename(&self.workspace, &named, &params.new_name))
                    .map_err(|refused| Refusal(ErrorCode::InvalidParams, refused.to_string()))?;
                to_json(edit)
            }
            Completion::METHOD => {
                let params: CompletionParams = params(request.params)?;
                let at = &params.text_document_position;
                let items = self.at(at).map(|(path, text, line, column)| {
                    let flow = self
                        .workspace
                        .outline_of(&path)
                        .map(|outline| outline.flow.clone())
                        .unwrap_or_default();
                    super::completion::complete(
                        &self.workspace,
                        &self.keys,
                        &flow,
                        &text,
                        line,
                        column,
                    )
                });
                to_json(items.map(CompletionResponse::Array))
            }
            HoverRequest::METHOD => {
                let params: HoverParams = params(request.params)?;
                let found = self.at(&params.text_document_position_params).and_then(
                    |(_, text, line, column)| super::hover::hover(&self.keys, &text, line, column),
                );
                to_json(found)
            }
            _ => Err(Refusal(
                ErrorCode::MethodNotFound,
                format!("callflow lsp does not answer `{method}`"),
            )),
        }
    }

    /// The file, its text as the editor has it, and the line and column
    /// (from 0, characters) a request points at.
    fn at(&self, at: &TextDocumentPositionParams) -> Option<(PathBuf, String, usize, usize)> {
        let path = path_of(&at.text_document.uri)?;
        let text = self.text(&path)?;
        let (line, column) = from_lsp(&text, at.position);
        Some((path, text, line, column))
    }

    fn text(&self, path: &Path) -> Option<String> {
        self.documents
            .text(path)
            .map(str::to_owned)
            .or_else(|| self.workspace.outline_of(path).map(|o| o.text.clone()))
    }

    fn named(&self, at: &TextDocumentPositionParams) -> Option<Named> {
        let (path, _, line, column) = self.at(at)?;
        named_at(&self.workspace, &path, line, column)
    }
}

/// A request refused, with the protocol's code for why.
struct Refusal(ErrorCode, String);

fn params<P: DeserializeOwned>(value: Value) -> Result<P, Refusal> {
    serde_json::from_value(value)
        .map_err(|error| Refusal(ErrorCode::InvalidParams, error.to_string()))
}

fn to_json(value: impl serde::Serialize) -> Result<Value, Refusal> {
    serde_json::to_value(value)
        .map_err(|error| Refusal(ErrorCode::InternalError, error.to_string()))
}
