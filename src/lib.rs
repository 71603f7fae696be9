//! callflow turns YAML call flows into Twilio voice calls.

pub mod signature;
