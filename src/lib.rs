//! callflow turns YAML call flows into Twilio voice calls.

pub mod dial_target;
pub mod http;
pub mod signature;
