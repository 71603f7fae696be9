//! Settings from flags, the environment and `.env`.
//!
//! Every setting can be given as a flag or as an environment variable (the
//! name in each flag's help); `.env` in the working directory is read first,
//! so a line's secrets and numbers can live there instead of in the shell.

use std::path::PathBuf;

use clap::Args;

use crate::engine::EngineSettings;

/// Where flows come from and how calls are routed to them.
#[derive(Debug, Clone, Args)]
pub struct FlowSettings {
    /// The folder of flow files (subfolders too).
    #[arg(long, env = "FLOWS_DIR", default_value = "./flows", global = true)]
    pub flows_dir: PathBuf,

    /// The base URL Twilio reaches this server at (`https://ivr.example.com`).
    /// Callback URLs are absolute under it; without it they are relative to
    /// the webhook, which works whenever /voice is at the root of the host.
    #[arg(long, env = "PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// The number browser calls show when they dial a phone: one of your
    /// Twilio numbers. Flows read it as `config.caller_id`.
    #[arg(long, env = "TWILIO_CALLER_ID", global = true)]
    pub caller_id: Option<String>,

    /// The flow for calls that nothing else routes.
    #[arg(long, env = "DEFAULT_FLOW", default_value = "main", global = true)]
    pub default_flow: String,

    /// The flow for browser calls that name a `To`.
    #[arg(long, env = "OUTBOUND_FLOW", default_value = "outbound", global = true)]
    pub outbound_flow: String,
}

impl FlowSettings {
    pub fn engine(&self) -> EngineSettings {
        EngineSettings {
            public_url: self
                .public_url
                .as_deref()
                .unwrap_or("")
                .trim_end_matches('/')
                .to_owned(),
            caller_id: self.caller_id.clone().filter(|c| !c.trim().is_empty()),
            default_flow: self.default_flow.clone(),
            outbound_flow: self.outbound_flow.clone(),
        }
    }
}

/// Where the server listens.
#[derive(Debug, Clone, Args)]
pub struct ServeSettings {
    /// The port to listen on.
    #[arg(long, env = "PORT", default_value_t = 3000)]
    pub port: u16,

    /// The address to listen on; 0.0.0.0 accepts connections from anywhere.
    #[arg(long, env = "HOST", default_value = "0.0.0.0")]
    pub host: String,

    /// How many versions of the flows to keep after edits, so that calls
    /// in progress finish on the flows they started with. Each costs about
    /// as much memory as the flows themselves.
    #[arg(long, env = "FLOW_VERSIONS_KEPT", default_value_t = crate::reload::KEPT_VERSIONS)]
    pub flow_versions_kept: usize,
}
