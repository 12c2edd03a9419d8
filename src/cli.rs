//! Command-line flags shared by the `duvo-mcp` binary and the conformance fixture server, and
//! their conversion into the plain settings the transports take.

use crate::app::{AppSettings, Upstream};
use crate::config::{ConnectionArgs, FilterArgs};
use crate::transport::http::HttpSettings;
use clap::Args;
use std::net::SocketAddr;

/// Flags of `duvo-mcp http`.
#[derive(Args, Clone, Debug)]
pub struct HttpArgs {
    /// Where and as whom to call Duvo.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Which tools to expose.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Where the OpenAPI spec comes from.
    #[command(flatten)]
    pub spec: crate::catalog::source::SpecArgs,
    /// Address to listen on. Loopback by default; a non-loopback address needs --auth-token
    /// (with --passthrough-auth the token travels in `X-MCP-Auth`).
    #[arg(long, env = "DUVO_MCP_LISTEN", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,
    /// Accepted Host header values, comma-separated (`host` or `host:port`, `*` = any)
    /// [default: localhost,127.0.0.1,::1].
    #[arg(
        long,
        env = "DUVO_MCP_ALLOWED_HOSTS",
        value_delimiter = ',',
        value_name = "LIST"
    )]
    pub allowed_hosts: Vec<String>,
    /// Accepted browser Origin values, comma-separated (`https://app.example.com`,
    /// `http://localhost:*`, `null`, `*` = any) [default: http(s)://localhost|127.0.0.1|[::1] on any
    /// port]. Requests without Origin are not affected.
    #[arg(
        long,
        env = "DUVO_MCP_ALLOWED_ORIGINS",
        value_delimiter = ',',
        value_name = "LIST"
    )]
    pub allowed_origins: Vec<String>,
    /// Shared access token every request must present (`Authorization: Bearer <token>`, or
    /// `X-MCP-Auth: Bearer <token>` with --passthrough-auth). Prefer the environment variable.
    #[arg(
        long,
        env = "DUVO_MCP_AUTH_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub auth_token: Option<Secret>,
    /// Multi-tenant: each request's own `Authorization: Bearer dv_…` is the Duvo key (no server
    /// key); requests without one get 401.
    #[arg(
        long,
        env = "DUVO_MCP_PASSTHROUGH_AUTH",
        action = clap::ArgAction::SetTrue,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub passthrough_auth: bool,
    /// Largest request body accepted, in bytes (413 above).
    #[arg(long, env = "DUVO_MCP_MAX_BODY_BYTES", default_value_t = 4 << 20, value_name = "BYTES")]
    pub max_body_bytes: usize,
    /// Live MCP sessions (Streamable HTTP sessions plus /sse connections) before 503.
    #[arg(
        long,
        env = "DUVO_MCP_MAX_SESSIONS",
        default_value_t = 1000,
        value_name = "N"
    )]
    pub max_sessions: usize,
    /// Open server-to-client event streams (GET /sse, GET /mcp) before 503.
    #[arg(
        long,
        env = "DUVO_MCP_MAX_STREAMS",
        default_value_t = 1000,
        value_name = "N"
    )]
    pub max_streams: usize,
    /// Live sessions one caller (one Duvo key, in passthrough mode) may hold before 429, so
    /// one client cannot fill --max-sessions.
    #[arg(
        long,
        env = "DUVO_MCP_MAX_SESSIONS_PER_CALLER",
        default_value_t = 100,
        value_name = "N"
    )]
    pub max_sessions_per_caller: usize,
    /// Open TCP connections; past it new connections wait in the listen backlog until others
    /// close (lowered to fit the open-file limit).
    #[arg(
        long,
        env = "DUVO_MCP_MAX_CONNECTIONS",
        default_value_t = 4096,
        value_name = "N"
    )]
    pub max_connections: usize,
    /// Seconds a connection may take to send a request's headers, counted from when the server
    /// starts waiting for them; also how long an idle keep-alive connection stays open.
    #[arg(
        long,
        env = "DUVO_MCP_HEADER_READ_TIMEOUT",
        default_value_t = 10,
        value_name = "SECS"
    )]
    pub header_read_timeout: u64,
    /// Seconds a request may take to send its whole body (408 after).
    #[arg(
        long,
        env = "DUVO_MCP_BODY_READ_TIMEOUT",
        default_value_t = 30,
        value_name = "SECS"
    )]
    pub body_read_timeout: u64,
    /// Seconds without client activity after which a session is closed.
    #[arg(
        long,
        env = "DUVO_MCP_SESSION_IDLE_TIMEOUT",
        default_value_t = 600,
        value_name = "SECS"
    )]
    pub session_idle_timeout: u64,
    /// On SIGINT/SIGTERM, seconds to let in-flight requests finish before exiting.
    #[arg(
        long,
        env = "DUVO_MCP_SHUTDOWN_TIMEOUT",
        default_value_t = 20,
        value_name = "SECS"
    )]
    pub shutdown_timeout: u64,
    /// Do not serve the deprecated HTTP+SSE transport (/sse, /message).
    #[arg(long)]
    pub no_sse: bool,
    /// Share state between replicas (per-key rate budget, team cache, started Jobs) in this
    /// Redis (`redis://host:6379/0`); needs DUVO_MCP_STATE_KEY. Prefer the environment variable
    /// when the URL holds a password.
    #[arg(
        long,
        env = "DUVO_MCP_REDIS_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub redis_url: Option<Secret>,
    /// Serve only stateless 2026-07-28 requests on /mcp (legacy `initialize` sessions are
    /// refused, /sse is off): for replicas behind a round-robin balancer. Needs
    /// DUVO_MCP_STATE_KEY.
    #[arg(
        long,
        env = "DUVO_MCP_STATELESS",
        action = clap::ArgAction::SetTrue,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub stateless: bool,
    /// OAuth resource-server mode: trust access tokens from this authorization server (issuer
    /// URL, exactly as in its metadata; repeatable or comma-separated). Tokens must be issued for
    /// --public-url; Duvo is called with the server's own DUVO_API_KEY.
    #[arg(
        long = "oauth-issuer",
        env = "DUVO_MCP_OAUTH_ISSUER",
        value_delimiter = ',',
        value_name = "URL"
    )]
    pub oauth_issuers: Vec<String>,
    /// The exact URL clients use for this server's /mcp endpoint (OAuth resource identifier,
    /// e.g. https://mcp.example.com/mcp); never derived from Host or X-Forwarded-*.
    #[arg(long, env = "DUVO_MCP_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
}

/// A flag value that must never be printed (`Debug` shows `<redacted>`).
#[derive(Clone)]
pub struct Secret(String);

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `DUVO_MCP_OAUTH_CLIENT_ID` and `DUVO_MCP_OAUTH_CLIENT_SECRET`: how this server authenticates
/// to the issuers' RFC 7662 introspection endpoints (opaque tokens), when both are set.
fn introspection_client() -> Option<(String, String)> {
    let id = crate::config::env("DUVO_MCP_OAUTH_CLIENT_ID")?;
    let secret = crate::config::env("DUVO_MCP_OAUTH_CLIENT_SECRET")?;
    Some((id, secret))
}

impl HttpArgs {
    /// What the composition root builds the server from.
    pub fn app_settings(&self) -> anyhow::Result<AppSettings> {
        Ok(AppSettings {
            selection: self.filter.selection()?,
            passthrough_auth: self.passthrough_auth,
            oauth: self.oauth(),
            // The inbound token never goes upstream, but mask it in upstream strings all the same.
            secrets: self.auth_token.iter().map(|t| t.0.clone()).collect(),
            spec: self.spec.choice(),
            // OAuth callers are served with the server's key, so it is needed even with
            // --passthrough-auth (which then applies to `dv_` bearers only).
            ..AppSettings::new(Upstream::from_args(
                &self.connection,
                self.passthrough_auth && !self.oauth(),
            )?)
        })
    }

    /// Whether OAuth resource-server mode is on (`--oauth-issuer`).
    pub fn oauth(&self) -> bool {
        self.oauth_issuers.iter().any(|i| !i.trim().is_empty())
    }

    /// The transport's settings (checked when the server binds).
    pub fn settings(&self) -> HttpSettings {
        HttpSettings {
            listen: self.listen,
            allowed_hosts: self.allowed_hosts.clone(),
            allowed_origins: self.allowed_origins.clone(),
            auth_token: self.auth_token.as_ref().map(|t| t.0.clone()),
            passthrough_auth: self.passthrough_auth,
            max_body_bytes: self.max_body_bytes,
            max_sessions: self.max_sessions,
            max_streams: self.max_streams,
            max_sessions_per_caller: self.max_sessions_per_caller,
            max_connections: self.max_connections,
            header_read_timeout: self.header_read_timeout,
            body_read_timeout: self.body_read_timeout,
            session_idle_timeout: self.session_idle_timeout,
            shutdown_timeout: self.shutdown_timeout,
            sse: !self.no_sse,
            stateless: self.stateless,
            oauth_issuers: self.oauth_issuers.clone(),
            public_url: self.public_url.clone(),
            oauth_introspection_client: introspection_client(),
        }
    }

    /// Seals input-required `requestState` with `DUVO_MCP_STATE_KEY` (required with
    /// `--redis-url` or `--stateless`) and connects the shared state (Redis, or in-process).
    pub async fn shared_state(&self) -> anyhow::Result<crate::shared_state::SharedState> {
        use crate::shared_state::{SharedState, state_key};
        let redis = self
            .redis_url
            .as_ref()
            .map(|u| u.0.trim())
            .filter(|u| !u.is_empty());
        let required = match (redis.is_some(), self.stateless) {
            (true, true) => Some("--redis-url and --stateless"),
            (true, false) => Some("--redis-url (DUVO_MCP_REDIS_URL)"),
            (false, true) => Some("--stateless"),
            (false, false) => None,
        };
        match state_key::from_env(required)? {
            Some(codec) => {
                crate::workflows::human::use_state_codec(codec);
            }
            None => tracing::warn!(
                "DUVO_MCP_STATE_KEY is not set: input-required requestState is sealed with a \
                 random per-process key, so a retry after a restart or on another replica fails; \
                 set it (openssl rand -hex 32) when running several replicas"
            ),
        }
        match redis {
            Some(url) => SharedState::connect(url).await,
            None => Ok(SharedState::in_process()),
        }
    }
}
