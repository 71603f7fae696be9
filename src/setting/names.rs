//! The name of every environment variable callflow reads, written once.
//!
//! They live here, below every part that reads a setting, so that a message, a clap argument
//! and a test all spell a name the same way without importing the module that owns the setting.

/// The port to listen on.
pub const PORT: &str = "PORT";
/// The address to listen on.
pub const HOST: &str = "HOST";
/// How many versions of the flows stay loaded after edits.
pub const FLOW_VERSIONS_KEPT: &str = "FLOW_VERSIONS_KEPT";
/// The log filter.
pub const RUST_LOG: &str = "RUST_LOG";
/// How long a client has to send a request's header.
pub const HEADER_TIMEOUT: &str = "HEADER_TIMEOUT";
/// Connections open at once.
pub const MAX_CONNECTIONS: &str = "MAX_CONNECTIONS";
/// How long shutdown waits for answers in flight.
pub const SHUTDOWN_GRACE: &str = "SHUTDOWN_GRACE";
/// How long a replica keeps serving after SIGTERM, with readiness failing, before shutdown.
pub const SHUTDOWN_DRAIN: &str = "SHUTDOWN_DRAIN";
/// The folder of flows.
pub const FLOWS_DIR: &str = "FLOWS_DIR";
/// The largest flow file read, in bytes.
pub const FLOW_FILE_MAX_BYTES: &str = "FLOW_FILE_MAX_BYTES";
/// The public base URL Twilio calls.
pub const PUBLIC_URL: &str = "PUBLIC_URL";
/// The key that seals call state in callback URLs.
pub const STATE_KEY: &str = "STATE_KEY";
/// The number browser calls show.
pub const TWILIO_CALLER_ID: &str = "TWILIO_CALLER_ID";
/// The flow for calls nothing else routes.
pub const DEFAULT_FLOW: &str = "DEFAULT_FLOW";
/// The flow for browser calls that name a `To`.
pub const OUTBOUND_FLOW: &str = "OUTBOUND_FLOW";
/// Dials per minute for the calls of one browser identity.
pub const DIAL_RATE_LIMIT: &str = "DIAL_RATE_LIMIT";
/// Dials per minute for all browser calls together.
pub const DIAL_RATE_LIMIT_TOTAL: &str = "DIAL_RATE_LIMIT_TOTAL";
/// The largest answer body a `request` step reads.
pub const REQUEST_MAX_BODY_BYTES: &str = "REQUEST_MAX_BODY_BYTES";
/// The Twilio auth token webhooks are signed with.
pub const TWILIO_AUTH_TOKEN: &str = "TWILIO_AUTH_TOKEN";
/// Lets `X-Forwarded-Proto`/`X-Forwarded-Host` decide the checked URL.
pub const TRUST_FORWARDED_HEADERS: &str = "TRUST_FORWARDED_HEADERS";
/// Switches signature checks off on purpose.
pub const TWILIO_ALLOW_UNSIGNED: &str = "TWILIO_ALLOW_UNSIGNED";
/// Account SID, `AC` + 32 hex.
pub const TWILIO_ACCOUNT_SID: &str = "TWILIO_ACCOUNT_SID";
/// API key SID, `SK` + 32 hex.
pub const TWILIO_API_KEY: &str = "TWILIO_API_KEY";
/// The API key's secret.
pub const TWILIO_API_SECRET: &str = "TWILIO_API_SECRET";
/// Where Twilio's REST API is reached (text messages).
pub const TWILIO_API_BASE: &str = "TWILIO_API_BASE";
/// TwiML App SID, `AP` + 32 hex.
pub const TWILIO_TWIML_APP_SID: &str = "TWILIO_TWIML_APP_SID";
/// Token lifetime in seconds.
pub const TWILIO_TOKEN_TTL: &str = "TWILIO_TOKEN_TTL";
/// Twilio region of the API key.
pub const TWILIO_VOICE_REGION: &str = "TWILIO_VOICE_REGION";
/// Shared secret for `Authorization: Bearer` on the token endpoint.
pub const TOKEN_AUTH_BEARER: &str = "TOKEN_AUTH_BEARER";
/// `user:password` for HTTP basic auth on the token endpoint.
pub const TOKEN_AUTH_BASIC: &str = "TOKEN_AUTH_BASIC";
/// Identity patterns allowed a token.
pub const TOKEN_IDENTITY_ALLOW: &str = "TOKEN_IDENTITY_ALLOW";
/// Token requests per minute for each client address.
pub const TOKEN_RATE_LIMIT: &str = "TOKEN_RATE_LIMIT";
/// Whether `X-Forwarded-For` names the token endpoint's client.
pub const TOKEN_TRUST_FORWARDED_FOR: &str = "TOKEN_TRUST_FORWARDED_FOR";
/// Origins of pages elsewhere that may call the token endpoint.
pub const TOKEN_CORS_ORIGINS: &str = "TOKEN_CORS_ORIGINS";
/// Opens the token endpoint to anyone, on purpose.
pub const TOKEN_PUBLIC: &str = "TOKEN_PUBLIC";
/// The folder of the browser test page's files.
pub const PUBLIC_DIR: &str = "PUBLIC_DIR";
/// Whether the simulator answers.
pub const SIMULATOR: &str = "SIMULATOR";
/// The key to the test page's APIs, the simulator and `/flows`.
pub const ADMIN_KEY: &str = "ADMIN_KEY";
/// `text` or `json` log lines.
pub const LOG_FORMAT: &str = "LOG_FORMAT";
/// Whether call events show the digits and words callers gave.
pub const LOG_INPUTS: &str = "LOG_INPUTS";
/// Opens `/metrics` to anyone, on purpose.
pub const METRICS_PUBLIC: &str = "METRICS_PUBLIC";

/// Every environment variable callflow reads, in the order `--help` lists them.
pub const VARIABLES: &[&str] = &[
    PORT,
    HOST,
    FLOW_VERSIONS_KEPT,
    RUST_LOG,
    HEADER_TIMEOUT,
    MAX_CONNECTIONS,
    SHUTDOWN_DRAIN,
    SHUTDOWN_GRACE,
    FLOWS_DIR,
    FLOW_FILE_MAX_BYTES,
    PUBLIC_URL,
    STATE_KEY,
    TWILIO_CALLER_ID,
    DEFAULT_FLOW,
    OUTBOUND_FLOW,
    DIAL_RATE_LIMIT,
    DIAL_RATE_LIMIT_TOTAL,
    REQUEST_MAX_BODY_BYTES,
    TWILIO_API_BASE,
    TWILIO_AUTH_TOKEN,
    TRUST_FORWARDED_HEADERS,
    TWILIO_ALLOW_UNSIGNED,
    TWILIO_ACCOUNT_SID,
    TWILIO_API_KEY,
    TWILIO_API_SECRET,
    TWILIO_TWIML_APP_SID,
    TWILIO_TOKEN_TTL,
    TWILIO_VOICE_REGION,
    TOKEN_AUTH_BEARER,
    TOKEN_AUTH_BASIC,
    TOKEN_IDENTITY_ALLOW,
    TOKEN_RATE_LIMIT,
    TOKEN_TRUST_FORWARDED_FOR,
    TOKEN_CORS_ORIGINS,
    TOKEN_PUBLIC,
    PUBLIC_DIR,
    SIMULATOR,
    ADMIN_KEY,
    LOG_FORMAT,
    LOG_INPUTS,
    METRICS_PUBLIC,
];
