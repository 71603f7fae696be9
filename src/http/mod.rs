//! The HTTP side of callflow: axum layers and handlers that face Twilio and the browser.

pub mod signature;
