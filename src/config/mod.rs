//! Every setting callflow reads, as one clap tree.
//!
//! Each setting is a flag and an environment variable: the flag is the variable's name in lower
//! case with dashes (`TWILIO_AUTH_TOKEN` is `--twilio-auth-token`). `.env` in the working
//! directory is loaded into the environment before the command line is parsed, so a line's
//! secrets and numbers can live there. An empty variable counts as unset.
//!
//! The tree is the only reader: `callflow serve --help` lists every variable with its default,
//! `callflow config` prints what is in effect, and the parts of the program take their settings
//! from a parsed [`Settings`] ([`Settings::webhook_auth`], [`Settings::token_settings`],
//! [`Settings::page`], [`Settings::admin`], [`Settings::engine`]). Each value is parsed into its validated type once
//! (a [`PublicUrl`], an [`AuthToken`](crate::signature::AuthToken) that never prints, a
//! [`SimulatorMode`](crate::http::simulate::SimulatorMode)…), and a bad value stops start-up with
//! a [`SettingProblem`] naming the variable.
//!
//! The server's and the flows' groups are declared here. The others live with the part they
//! configure ([`Webhooks`] and [`Page`] in `http`, [`Tokens`] in `token`), so those parts never
//! import this module; the names, parsers and problems they all share are in `crate::setting`.
//!
//! Tests and embedders build settings with [`Settings::from_vars`], which runs the same parsers
//! over `NAME=value` pairs without touching the process environment.

mod parse;
mod report;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Command};

pub use crate::http::page::Page;
pub use crate::http::signature::Webhooks;
pub use crate::metrics::Monitoring;
pub use crate::setting::names::VARIABLES;
pub use crate::setting::{
    Parse, PublicUrl, Setting, SettingProblem, SettingsError, problem_of, setting, yes_no,
};
pub use crate::token::Tokens;
pub use parse::{CommandLineError, flow_secret, read_command_line};
pub use report::effective;

use crate::dial_limit::{DialLimiter, DialLimits, DialRate, dial_rate};
use crate::engine::{EngineSettings, ShortSecret, StateKey};
use crate::flow::MaxFileBytes;
use crate::http::admin::AdminGate;
use crate::http::page::PageSettings;
use crate::http::signature::WebhookAuth;
use crate::messaging::Texting;
use crate::outbound::{Outbound, OutboundSettings};
use crate::setting::{names, public_url};
use crate::token::TokenSettings;

/// All of callflow's settings. Every field is `global`, so each subcommand accepts them and
/// `callflow serve --help` lists them all, grouped by heading.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    #[command(flatten)]
    pub server: Server,
    #[command(flatten)]
    pub flows: Flows,
    #[command(flatten)]
    pub webhooks: Webhooks,
    #[command(flatten)]
    pub tokens: Tokens,
    #[command(flatten)]
    pub page: Page,
    #[command(flatten)]
    pub monitoring: Monitoring,
}

/// Where the server listens and what it keeps.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Server")]
pub struct Server {
    /// The port to listen on; 0 lets the system pick one.
    #[arg(long, env = names::PORT, global = true, default_value = "3000",
          value_parser = setting(parse::port))]
    pub port: u16,

    /// The address to listen on; 0.0.0.0 accepts connections from anywhere.
    #[arg(long, env = names::HOST, global = true, default_value = "0.0.0.0",
          value_parser = setting(parse::text))]
    pub host: String,

    /// Versions of the flows kept after edits, so calls in progress finish on the flows they
    /// started with; each costs about as much memory as the flows.
    #[arg(long, env = names::FLOW_VERSIONS_KEPT, global = true,
          default_value_t = crate::reload::KEPT_VERSIONS, value_parser = setting(parse::count))]
    pub flow_versions_kept: usize,

    /// Log detail, such as `info` or `callflow=debug` [default: info; error for `test`].
    #[arg(long, env = names::RUST_LOG, global = true, value_parser = setting(parse::log_filter))]
    pub rust_log: Option<String>,

    /// Seconds a client has to send a request's header, from connecting or from its last
    /// answer; also how long an idle kept-alive connection stays open.
    #[arg(long, env = names::HEADER_TIMEOUT, global = true, default_value = "10",
          value_parser = setting(parse::seconds))]
    pub header_timeout: Duration,

    /// Connections open at once; more wait to be accepted. Keep it below `ulimit -n`.
    #[arg(long, env = names::MAX_CONNECTIONS, global = true, default_value = "1000",
          value_parser = setting(parse::count))]
    pub max_connections: usize,

    /// Seconds after SIGTERM during which /readyz fails but every request is still answered,
    /// so load balancers stop sending calls before the server stops; 0 stops at once.
    #[arg(long, env = names::SHUTDOWN_DRAIN, global = true, default_value = "0",
          value_parser = setting(parse::seconds_or_zero))]
    pub shutdown_drain: Duration,

    /// Seconds shutdown (SIGTERM) waits for answers in flight before it closes what is left.
    #[arg(long, env = names::SHUTDOWN_GRACE, global = true, default_value = "10",
          value_parser = setting(parse::seconds))]
    pub shutdown_grace: Duration,
}

impl Server {
    /// The bounds the accept loop keeps.
    pub fn limits(&self) -> crate::http::Limits {
        crate::http::Limits {
            header_timeout: self.header_timeout,
            max_connections: self.max_connections,
            shutdown_grace: self.shutdown_grace,
        }
    }
}

/// Where flows come from and how calls are routed to them.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Flows")]
pub struct Flows {
    /// The folder of flow files (subfolders too).
    #[arg(long, env = names::FLOWS_DIR, global = true, default_value = "./flows",
          value_parser = setting(parse::path))]
    pub flows_dir: PathBuf,

    /// The largest flow or flow test file read, in bytes; a larger one is an error naming it.
    #[arg(long, env = names::FLOW_FILE_MAX_BYTES, global = true, default_value = "1048576",
          value_parser = setting(parse::file_bytes))]
    pub flow_file_max_bytes: MaxFileBytes,

    /// The https base URL Twilio reaches this server at; callback URLs become absolute under
    /// it, and webhook signatures are checked against it.
    #[arg(long, env = names::PUBLIC_URL, global = true, value_parser = setting(public_url))]
    pub public_url: Option<PublicUrl>,

    /// Secret that seals each call's state in callback URLs, the same on every replica (32+
    /// characters) [default: derived from TWILIO_AUTH_TOKEN, else random at start-up].
    #[arg(long, env = names::STATE_KEY, global = true, hide_env_values = true,
          value_parser = setting(state_key))]
    pub state_key: Option<StateKey>,

    /// One of your Twilio numbers: what browser calls show when they dial a phone
    /// (`config.caller_id` in flows).
    #[arg(long, env = names::TWILIO_CALLER_ID, global = true, value_parser = setting(parse::text))]
    pub twilio_caller_id: Option<String>,

    /// The flow for calls that nothing else routes.
    #[arg(long, env = names::DEFAULT_FLOW, global = true, default_value = "main",
          value_parser = setting(parse::text))]
    pub default_flow: String,

    /// The flow for browser calls that name a `To`.
    #[arg(long, env = names::OUTBOUND_FLOW, global = true, default_value = "outbound",
          value_parser = setting(parse::text))]
    pub outbound_flow: String,

    /// Dials a minute that the calls of one browser identity (`client:…`) may place; past it
    /// the dial takes the flow's `refused` path. `off` for no limit. Counted per process.
    #[arg(long, env = names::DIAL_RATE_LIMIT, global = true,
          default_value_t = DialLimits::default().per_identity, value_parser = setting(dial_rate))]
    pub dial_rate_limit: DialRate,

    /// Dials a minute that all browser calls together may place; `off` for no limit. Counted
    /// per process.
    #[arg(long, env = names::DIAL_RATE_LIMIT_TOTAL, global = true,
          default_value_t = DialLimits::default().total, value_parser = setting(dial_rate))]
    pub dial_rate_limit_total: DialRate,

    /// The largest answer a flow's `request` step reads, in bytes; a larger one is the request's
    /// `error`.
    #[arg(long, env = names::REQUEST_MAX_BODY_BYTES, global = true, default_value = "262144",
          value_parser = setting(parse::count))]
    pub request_max_body_bytes: usize,

    /// Where Twilio's REST API is reached, for text messages; another server for tests and staging.
    #[arg(long, env = names::TWILIO_API_BASE, global = true,
          default_value = crate::messaging::api::DEFAULT_BASE, value_parser = setting(api_base))]
    pub twilio_api_base: PublicUrl,
}

impl Settings {
    /// The settings as a command of their own, for reading them without the rest of the CLI.
    pub fn command() -> Command {
        Settings::augment_args(Command::new("callflow"))
    }

    /// Reads the settings through `lookup` (a variable's name in, its value out) instead of the
    /// process environment, with the same parsers. Values are trimmed and blank ones count as
    /// unset; every problem is reported, not only the first.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        crate::setting::from_lookup(lookup)
    }

    /// Reads the settings from `NAME=value` pairs (see [`Settings::from_lookup`]); a name
    /// callflow does not read is a problem too, so a typo cannot go unnoticed.
    pub fn from_vars(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        crate::setting::from_vars(pairs)
    }

    /// What the engine needs: routing, the callback base, and the key that seals call state
    /// (`STATE_KEY`, else derived from `TWILIO_AUTH_TOKEN`). Without either, each call of this
    /// makes a new random key, so a server calls it once.
    pub fn engine(&self) -> EngineSettings {
        let mut engine = self.flows.engine();
        engine.state_key = StateKey::choose(
            self.flows.state_key.as_ref(),
            self.webhooks.twilio_auth_token.as_ref(),
        );
        engine.texting = Texting::from_settings(
            &self.tokens,
            self.webhooks.twilio_auth_token.as_ref(),
            self.flows.twilio_api_base.as_str(),
            self.flows.public_url.as_ref(),
        );
        engine
    }

    /// How webhooks are checked.
    pub fn webhook_auth(&self) -> WebhookAuth {
        WebhookAuth::new(&self.webhooks, self.flows.public_url.clone())
    }

    /// The token endpoint's settings.
    pub fn token_settings(&self) -> TokenSettings {
        TokenSettings::new(&self.tokens)
    }

    /// The browser test page's settings.
    pub fn page(&self) -> PageSettings {
        self.page.settings()
    }

    /// The admin key (a new random one when `ADMIN_KEY` is unset), with `PUBLIC_URL` to tell
    /// when its cookie must be `Secure`. Call it once: each call without `ADMIN_KEY` makes a
    /// new key.
    pub fn admin(&self) -> AdminGate {
        AdminGate::new(self.page.admin_key.clone(), self.flows.public_url.as_ref())
    }
}

impl Flows {
    /// What the engine needs: routing and the callback base.
    pub fn engine(&self) -> EngineSettings {
        EngineSettings {
            public_url: self
                .public_url
                .as_ref()
                .map_or_else(String::new, |url| url.as_str().to_owned()),
            caller_id: self.twilio_caller_id.clone(),
            default_flow: self.default_flow.clone(),
            outbound_flow: self.outbound_flow.clone(),
            state_key: StateKey::choose(self.state_key.as_ref(), None),
            dials: DialLimiter::new(DialLimits {
                per_identity: self.dial_rate_limit,
                total: self.dial_rate_limit_total,
            }),
            outbound: Outbound::network(OutboundSettings {
                max_body_bytes: self.request_max_body_bytes,
                ..OutboundSettings::default()
            }),
            turn_budget: crate::engine::TURN_BUDGET,
            // The credentials are in other groups: `Settings::engine` fills this in.
            texting: Texting::Unconfigured,
        }
    }
}

/// `TWILIO_API_BASE`, held to the same rules as `PUBLIC_URL`.
fn api_base(_: &'static str, value: &str) -> Result<PublicUrl, SettingProblem> {
    PublicUrl::parse(value).map_err(|problem| match problem {
        SettingProblem::PublicUrl { shown, problem } => SettingProblem::ApiBase { shown, problem },
        other => other,
    })
}

/// `STATE_KEY` as a setting.
fn state_key(name: &'static str, value: &str) -> Result<StateKey, SettingProblem> {
    StateKey::from_secret(value).map_err(|ShortSecret(chars)| SettingProblem::ShortSecret {
        name,
        chars,
        min: StateKey::MIN_SECRET_CHARS,
    })
}
