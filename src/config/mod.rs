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
//! [`Settings::page`], [`Settings::engine`]). Each value is parsed into its validated type once
//! (a [`PublicUrl`], an [`AuthToken`] that never prints, a [`SimulatorMode`]…), and a bad value
//! stops start-up with a [`SettingProblem`] naming the variable.
//!
//! Tests and embedders build settings with [`Settings::from_vars`], which runs the same parsers
//! over `NAME=value` pairs without touching the process environment.

mod parse;
mod problem;
mod public_url;
mod report;

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Command, FromArgMatches};

pub use parse::{Parse, Setting, problem_of, setting, yes_no};
pub use problem::{SettingProblem, SettingsError};
pub use public_url::PublicUrl;
pub use report::effective;

use crate::engine::EngineSettings;
use crate::http::page::{ENV_PUBLIC_DIR, PageSettings};
use crate::http::signature::{
    ENV_ALLOW_UNSIGNED, ENV_AUTH_TOKEN, ENV_PUBLIC_URL, ENV_TRUST_FORWARDED, WebhookAuth,
};
use crate::http::simulate::{ENV_SIMULATOR, SimulatorMode};
use crate::signature::AuthToken;
use crate::token::settings::{self as token_settings, CorsOrigins, vars};
use crate::token::{
    AccountSid, ApiKeySid, AppSid, IdentityAllowList, RateLimit, Region, Secret, TokenSettings, Ttl,
};

/// The port to listen on.
pub const ENV_PORT: &str = "PORT";
/// The address to listen on.
pub const ENV_HOST: &str = "HOST";
/// How many versions of the flows stay loaded after edits.
pub const ENV_FLOW_VERSIONS_KEPT: &str = "FLOW_VERSIONS_KEPT";
/// The log filter.
pub const ENV_RUST_LOG: &str = "RUST_LOG";
/// How long a client has to send a request's header.
pub const ENV_HEADER_TIMEOUT: &str = "HEADER_TIMEOUT";
/// Connections open at once.
pub const ENV_MAX_CONNECTIONS: &str = "MAX_CONNECTIONS";
/// How long shutdown waits for answers in flight.
pub const ENV_SHUTDOWN_GRACE: &str = "SHUTDOWN_GRACE";
/// The folder of flows.
pub const ENV_FLOWS_DIR: &str = "FLOWS_DIR";
/// The number browser calls show.
pub const ENV_CALLER_ID: &str = "TWILIO_CALLER_ID";
/// The flow for calls nothing else routes.
pub const ENV_DEFAULT_FLOW: &str = "DEFAULT_FLOW";
/// The flow for browser calls that name a `To`.
pub const ENV_OUTBOUND_FLOW: &str = "OUTBOUND_FLOW";

/// Every environment variable callflow reads, in the order `--help` lists them.
pub const VARIABLES: &[&str] = &[
    ENV_PORT,
    ENV_HOST,
    ENV_FLOW_VERSIONS_KEPT,
    ENV_RUST_LOG,
    ENV_HEADER_TIMEOUT,
    ENV_MAX_CONNECTIONS,
    ENV_SHUTDOWN_GRACE,
    ENV_FLOWS_DIR,
    ENV_PUBLIC_URL,
    ENV_CALLER_ID,
    ENV_DEFAULT_FLOW,
    ENV_OUTBOUND_FLOW,
    ENV_AUTH_TOKEN,
    ENV_TRUST_FORWARDED,
    ENV_ALLOW_UNSIGNED,
    vars::ACCOUNT_SID,
    vars::API_KEY,
    vars::API_SECRET,
    vars::TWIML_APP_SID,
    vars::TOKEN_TTL,
    vars::VOICE_REGION,
    vars::AUTH_BEARER,
    vars::AUTH_BASIC,
    vars::IDENTITY_ALLOW,
    vars::RATE_LIMIT,
    vars::TRUST_FORWARDED_FOR,
    vars::CORS_ORIGINS,
    ENV_PUBLIC_DIR,
    ENV_SIMULATOR,
];

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
}

/// Where the server listens and what it keeps.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Server")]
pub struct Server {
    /// The port to listen on; 0 lets the system pick one.
    #[arg(long, env = ENV_PORT, global = true, default_value = "3000",
          value_parser = setting(parse::port))]
    pub port: u16,

    /// The address to listen on; 0.0.0.0 accepts connections from anywhere.
    #[arg(long, env = ENV_HOST, global = true, default_value = "0.0.0.0",
          value_parser = setting(parse::text))]
    pub host: String,

    /// Versions of the flows kept after edits, so calls in progress finish on the flows they
    /// started with; each costs about as much memory as the flows.
    #[arg(long, env = ENV_FLOW_VERSIONS_KEPT, global = true,
          default_value_t = crate::reload::KEPT_VERSIONS, value_parser = setting(parse::count))]
    pub flow_versions_kept: usize,

    /// Log detail, such as `info` or `callflow=debug` [default: info; error for `test`].
    #[arg(long, env = ENV_RUST_LOG, global = true, value_parser = setting(parse::log_filter))]
    pub rust_log: Option<String>,

    /// Seconds a client has to send a request's header, from connecting or from its last
    /// answer; also how long an idle kept-alive connection stays open.
    #[arg(long, env = ENV_HEADER_TIMEOUT, global = true, default_value = "10",
          value_parser = setting(parse::seconds))]
    pub header_timeout: Duration,

    /// Connections open at once; more wait to be accepted. Keep it below `ulimit -n`.
    #[arg(long, env = ENV_MAX_CONNECTIONS, global = true, default_value = "1000",
          value_parser = setting(parse::count))]
    pub max_connections: usize,

    /// Seconds shutdown (SIGTERM) waits for answers in flight before it closes what is left.
    #[arg(long, env = ENV_SHUTDOWN_GRACE, global = true, default_value = "10",
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
    #[arg(long, env = ENV_FLOWS_DIR, global = true, default_value = "./flows",
          value_parser = setting(parse::path))]
    pub flows_dir: PathBuf,

    /// The https base URL Twilio reaches this server at; callback URLs become absolute under
    /// it, and webhook signatures are checked against it.
    #[arg(long, env = ENV_PUBLIC_URL, global = true, value_parser = setting(public_url::public_url))]
    pub public_url: Option<PublicUrl>,

    /// One of your Twilio numbers: what browser calls show when they dial a phone
    /// (`config.caller_id` in flows).
    #[arg(long, env = ENV_CALLER_ID, global = true, value_parser = setting(parse::text))]
    pub twilio_caller_id: Option<String>,

    /// The flow for calls that nothing else routes.
    #[arg(long, env = ENV_DEFAULT_FLOW, global = true, default_value = "main",
          value_parser = setting(parse::text))]
    pub default_flow: String,

    /// The flow for browser calls that name a `To`.
    #[arg(long, env = ENV_OUTBOUND_FLOW, global = true, default_value = "outbound",
          value_parser = setting(parse::text))]
    pub outbound_flow: String,
}

/// How webhooks are checked to come from Twilio.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Webhook security")]
pub struct Webhooks {
    /// The auth token Twilio signs webhooks with; unset turns the signature check off.
    #[arg(long, env = ENV_AUTH_TOKEN, global = true, hide_env_values = true,
          value_parser = setting(auth_token))]
    pub twilio_auth_token: Option<AuthToken>,

    /// Without PUBLIC_URL, take scheme and host from X-Forwarded-Proto/-Host (only behind
    /// your own proxy).
    #[arg(long, env = ENV_TRUST_FORWARDED, global = true, value_name = "YES/NO",
          default_value = "false", num_args = 0..=1, default_missing_value = "true",
          action = ArgAction::Set, value_parser = setting(parse::flag))]
    pub trust_forwarded_headers: bool,

    /// Switch the signature check off although a token is set (local testing only).
    #[arg(long, env = ENV_ALLOW_UNSIGNED, global = true, value_name = "YES/NO",
          default_value = "false", num_args = 0..=1, default_missing_value = "true",
          action = ArgAction::Set, value_parser = setting(parse::flag))]
    pub twilio_allow_unsigned: bool,
}

/// The browser token endpoint (`GET /voice/token`): credentials and protections.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Browser tokens")]
pub struct Tokens {
    /// Your account SID, AC + 32 hex; without the four TWILIO_ credentials browser calls are off.
    #[arg(long, env = vars::ACCOUNT_SID, global = true,
          value_parser = setting(token_settings::sid::<AccountSid>))]
    pub twilio_account_sid: Option<AccountSid>,

    /// The API key SID that signs tokens, SK + 32 hex.
    #[arg(long, env = vars::API_KEY, global = true,
          value_parser = setting(token_settings::sid::<ApiKeySid>))]
    pub twilio_api_key: Option<ApiKeySid>,

    /// The API key's secret.
    #[arg(long, env = vars::API_SECRET, global = true, hide_env_values = true,
          value_parser = setting(token_settings::secret))]
    pub twilio_api_secret: Option<Secret>,

    /// The TwiML App whose Voice URL Twilio calls when the browser dials, AP + 32 hex.
    #[arg(long, env = vars::TWIML_APP_SID, global = true,
          value_parser = setting(token_settings::sid::<AppSid>))]
    pub twilio_twiml_app_sid: Option<AppSid>,

    /// Token lifetime in seconds, 1 to 86400.
    #[arg(long, env = vars::TOKEN_TTL, global = true, default_value = "3600",
          value_parser = setting(token_settings::ttl))]
    pub twilio_token_ttl: Ttl,

    /// The region the API key lives in (us1, ie1, au1, …); unset is Twilio's default, us1.
    #[arg(long, env = vars::VOICE_REGION, global = true,
          value_parser = setting(token_settings::region))]
    pub twilio_voice_region: Option<Region>,

    /// A shared secret callers send as `Authorization: Bearer …` (16 characters or more).
    #[arg(long, env = vars::AUTH_BEARER, global = true, hide_env_values = true,
          value_parser = setting(token_settings::bearer))]
    pub token_auth_bearer: Option<Secret>,

    /// `user:password` for HTTP basic auth on the token endpoint.
    #[arg(long, env = vars::AUTH_BASIC, global = true, hide_env_values = true,
          value_parser = setting(token_settings::basic))]
    pub token_auth_basic: Option<Secret>,

    /// Comma-separated identity patterns allowed a token, such as `agent_*,alice`.
    #[arg(long, env = vars::IDENTITY_ALLOW, global = true,
          value_parser = setting(token_settings::allow_list))]
    pub token_identity_allow: Option<IdentityAllowList>,

    /// Token requests per minute for each client address; unset is no limit.
    #[arg(long, env = vars::RATE_LIMIT, global = true,
          value_parser = setting(token_settings::rate_limit))]
    pub token_rate_limit: Option<RateLimit>,

    /// Take the client address from X-Forwarded-For (only behind your own proxy).
    #[arg(long, env = vars::TRUST_FORWARDED_FOR, global = true, value_name = "YES/NO",
          default_value = "false", num_args = 0..=1, default_missing_value = "true",
          action = ArgAction::Set, value_parser = setting(parse::flag))]
    pub token_trust_forwarded_for: bool,

    /// Origins of pages elsewhere that may call the endpoint (`https://a.example,…` or `*`);
    /// unset is same origin only.
    #[arg(long, env = vars::CORS_ORIGINS, global = true,
          value_parser = setting(token_settings::cors))]
    pub token_cors_origins: Option<CorsOrigins>,
}

/// The browser test page and its simulator.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Test page")]
pub struct Page {
    /// The folder of the page's files; the SDK is looked up in node_modules/ beside it.
    #[arg(long, env = ENV_PUBLIC_DIR, global = true, default_value = "public",
          value_parser = setting(parse::path))]
    pub public_dir: PathBuf,

    /// Who may use the simulator: local (this machine), on (anyone) or off.
    #[arg(long, env = ENV_SIMULATOR, global = true, default_value = "local",
          value_parser = setting(SimulatorMode::parse))]
    pub simulator: SimulatorMode,
}

fn auth_token(name: &'static str, value: &str) -> Result<AuthToken, SettingProblem> {
    AuthToken::new(value).map_err(|_| SettingProblem::Empty { name })
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
        let command = Settings::command();
        let (flags, problems) = parse::check_each(&command, &lookup);
        if !problems.is_empty() {
            return Err(SettingsError { problems });
        }
        let refused = |error: clap::Error| SettingsError {
            problems: vec![
                problem_of(&error)
                    .cloned()
                    .unwrap_or_else(|| SettingProblem::Refused(error.to_string())),
            ],
        };
        // Only the flags count: what the process environment holds must not leak into tests.
        let matches = command
            .mut_args(|arg| arg.env(None))
            .try_get_matches_from(std::iter::once("callflow".to_owned()).chain(flags))
            .map_err(refused)?;
        Settings::from_arg_matches(&matches).map_err(refused)
    }

    /// Reads the settings from `NAME=value` pairs (see [`Settings::from_lookup`]); a name
    /// callflow does not read is a problem too, so a typo cannot go unnoticed.
    pub fn from_vars(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let unknown: Vec<SettingProblem> = pairs
            .iter()
            .filter(|(name, _)| !VARIABLES.contains(name))
            .map(|(name, _)| SettingProblem::Unknown {
                name: (*name).to_owned(),
            })
            .collect();
        if !unknown.is_empty() {
            return Err(SettingsError { problems: unknown });
        }
        Settings::from_lookup(|name| {
            pairs
                .iter()
                .rev()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    /// What the engine needs: routing and the callback base.
    pub fn engine(&self) -> EngineSettings {
        self.flows.engine()
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
        PageSettings::new(&self.page.public_dir).with_simulator(self.page.simulator)
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
        }
    }
}

/// Why the command line, with the environment, could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CommandLineError {
    /// Settings with bad values: every one found, to print one per line.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// Anything else (an unknown flag), or a request for help or the version: clap prints it.
    #[error(transparent)]
    Clap(#[from] clap::Error),
}

/// Reads the whole command line of `command` (which flattens [`Settings`]) and the process
/// environment. A variable set but blank counts as unset. A bad setting comes back with every
/// other bad variable in the environment, so they can all be fixed in one go.
pub fn read_command_line(command: Command) -> Result<clap::ArgMatches, CommandLineError> {
    let command = parse::ignore_blank_env(command);
    command.clone().try_get_matches().map_err(|error| {
        let Some(first) = problem_of(&error).cloned() else {
            return CommandLineError::Clap(error);
        };
        let (_, mut problems) = parse::check_each(&command, &parse::env_var);
        if !problems.contains(&first) {
            problems.insert(0, first);
        }
        SettingsError { problems }.into()
    })
}
