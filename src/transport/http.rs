//! `duvo-mcp http`: MCP over HTTP from one process and one shared Duvo client.
//!
//! Routes: `/mcp` (Streamable HTTP: legacy `initialize` sessions with `Mcp-Session-Id`, and
//! stateless 2026-07-28 requests), `GET /sse` + `POST /message` (the deprecated HTTP+SSE
//! transport, see [`super::sse`]) and `GET /healthz`. Every route but `/healthz` passes the
//! admission guard ([`super::guard`]: Host/Origin allow-lists, inbound auth); all pass the drain
//! switch ([`super::limits`]); `/mcp` and `/sse` sessions are bound to their caller and count
//! against the session, per-caller and stream caps ([`super::owners`]). Connections are accepted
//! by [`super::accept`] (TCP_NODELAY, header-read time-out, connection cap).

use crate::transport::ServerFactory;
use crate::transport::accept::{self, ConnectionLimits};
use crate::transport::guard::{Guard, HostList, InboundAuth, OriginList, admission};
use crate::transport::limits::{Limits, hold_until_body_ends, unavailable};
use crate::transport::owners::{Binding, Owners, is_priming_frame, predates_priming};
use crate::transport::sse::{self, LegacySse, SseConfig};
use anyhow::Context;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::StreamExt;
use http::{HeaderValue, Method, StatusCode, header};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Streamable HTTP route.
pub const MCP_PATH: &str = "/mcp";
/// Interval of SSE keep-alive comments on every stream.
const SSE_KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How long the server waits for streams to close after the drain, before exiting anyway.
const CLOSE_GRACE: Duration = Duration::from_secs(3);

/// What `duvo-mcp http` serves with: plain values (the command line builds them, see
/// `duvo_mcp::cli::HttpArgs`), checked by [`HttpServer::bind`] before anything listens.
#[derive(Clone)]
pub struct HttpSettings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Accepted Host values (empty: loopback names only).
    pub allowed_hosts: Vec<String>,
    /// Accepted browser Origins (empty: loopback origins only).
    pub allowed_origins: Vec<String>,
    /// Shared inbound access token, if any.
    pub auth_token: Option<String>,
    /// Each request's own `Authorization: Bearer dv_…` is the Duvo key.
    pub passthrough_auth: bool,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Live sessions before 503.
    pub max_sessions: usize,
    /// Open event streams before 503.
    pub max_streams: usize,
    /// Live sessions per caller before 429.
    pub max_sessions_per_caller: usize,
    /// Open TCP connections.
    pub max_connections: usize,
    /// Seconds to send a request's headers (and keep-alive idle time).
    pub header_read_timeout: u64,
    /// Seconds to send a request's body.
    pub body_read_timeout: u64,
    /// Seconds without client activity before a session closes.
    pub session_idle_timeout: u64,
    /// Seconds in-flight requests get on SIGINT/SIGTERM.
    pub shutdown_timeout: u64,
    /// Serve the deprecated HTTP+SSE transport (/sse, /message).
    pub sse: bool,
    /// Serve only stateless 2026-07-28 requests on /mcp (legacy sessions refused, /sse off).
    pub stateless: bool,
    /// OAuth resource-server mode: the trusted authorization servers (issuer URLs).
    pub oauth_issuers: Vec<String>,
    /// The exact `/mcp` URL clients use (the OAuth resource identifier).
    pub public_url: Option<String>,
    /// Client id and secret for RFC 7662 introspection of opaque tokens, if any.
    pub oauth_introspection_client: Option<(String, String)>,
}

impl std::fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSettings")
            .field("listen", &self.listen)
            .field(
                "auth_token",
                &self.auth_token.as_ref().map(|_| "<redacted>"),
            )
            .field("passthrough_auth", &self.passthrough_auth)
            .field("oauth_issuers", &self.oauth_issuers)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

/// Validated HTTP settings.
#[derive(Clone, Debug)]
struct Settings {
    guard: Arc<Guard>,
    max_body: usize,
    max_sessions: usize,
    max_streams: usize,
    max_per_caller: usize,
    connections: ConnectionLimits,
    body_read: Duration,
    idle: Duration,
    drain: Duration,
    sse: bool,
    /// `/readyz` checks besides draining (the upstream probe; shared state adds its own).
    checks: crate::transport::ready::Checks,
    /// The Prometheus recorder behind `/metrics` (`None`: not installed).
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// `--stateless`: only 2026-07-28 stateless requests on `/mcp`, no `/sse`.
    stateless: bool,
    /// OAuth resource-server mode.
    oauth: Option<Arc<crate::transport::oauth::OAuth>>,
}

impl Settings {
    /// Applies the security rules that must hold before anything listens.
    fn from_args(args: &HttpSettings) -> anyhow::Result<Self> {
        let hosts = if args.allowed_hosts.iter().all(|h| h.trim().is_empty()) {
            HostList::loopback()
        } else {
            HostList::parse(&args.allowed_hosts)?
        };
        let origins = if args.allowed_origins.iter().all(|o| o.trim().is_empty()) {
            OriginList::loopback()
        } else {
            OriginList::parse(&args.allowed_origins)?
        };
        let token = args.auth_token.as_deref().filter(|t| !t.trim().is_empty());
        let auth = InboundAuth::new(token, args.passthrough_auth)?;
        let oauth = if args.oauth_issuers.iter().all(|i| i.trim().is_empty()) {
            if args.public_url.is_some() {
                tracing::warn!("--public-url has no effect without --oauth-issuer");
            }
            None
        } else {
            Some(Arc::new(crate::transport::oauth::OAuth::new(
                &args.oauth_issuers,
                args.public_url.as_deref(),
                args.oauth_introspection_client.clone(),
                args.passthrough_auth,
                args.max_body_bytes,
            )?))
        };
        if !args.listen.ip().is_loopback() && !auth.has_token() && oauth.is_none() {
            anyhow::bail!(
                "refusing to listen on {} without authentication: anyone who can reach it could use \
                 this server. Set DUVO_MCP_AUTH_TOKEN (or --auth-token) to a long random secret \
                 (with --passthrough-auth clients send it as X-MCP-Auth: Bearer <token>), or sign \
                 callers in with --oauth-issuer and --public-url, or listen on 127.0.0.1",
                args.listen
            );
        }
        if !args.listen.ip().is_loopback() && args.allowed_hosts.is_empty() {
            tracing::warn!(
                "listening on {} but only loopback Host names are accepted; set --allowed-hosts \
                 (DUVO_MCP_ALLOWED_HOSTS) to the public host name",
                args.listen
            );
        }
        if args.max_sessions == 0 || args.max_streams == 0 || args.max_body_bytes == 0 {
            anyhow::bail!("--max-sessions, --max-streams and --max-body-bytes must be at least 1");
        }
        if args.session_idle_timeout == 0 {
            anyhow::bail!("--session-idle-timeout must be at least 1 second");
        }
        if args.max_sessions_per_caller == 0 || args.max_connections == 0 {
            anyhow::bail!("--max-sessions-per-caller and --max-connections must be at least 1");
        }
        if args.header_read_timeout == 0 || args.body_read_timeout == 0 {
            anyhow::bail!(
                "--header-read-timeout and --body-read-timeout must be at least 1 second"
            );
        }
        Ok(Self {
            guard: Arc::new(Guard {
                hosts,
                origins,
                auth,
                oauth: oauth.is_some(),
            }),
            max_body: args.max_body_bytes,
            max_sessions: args.max_sessions,
            max_streams: args.max_streams,
            max_per_caller: args.max_sessions_per_caller,
            connections: ConnectionLimits {
                header_read_timeout: Duration::from_secs(args.header_read_timeout),
                max_connections: args.max_connections,
                // `WWW-Authenticate` as written, for clients that match it case-sensitively.
                title_case_headers: oauth.is_some(),
            },
            body_read: Duration::from_secs(args.body_read_timeout),
            idle: Duration::from_secs(args.session_idle_timeout),
            drain: Duration::from_secs(args.shutdown_timeout),
            sse: args.sse && !args.stateless,
            checks: crate::transport::ready::Checks::default(),
            metrics: None,
            stateless: args.stateless,
            oauth,
        })
    }

    fn rmcp_config(&self, ct: CancellationToken) -> StreamableHttpServerConfig {
        let mut config = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(!self.stateless)
            // Stateless (2026-07-28) requests whose first message is the answer get it as one
            // `application/json` body instead of an SSE stream with a priming event; a handler
            // that notifies or asks first (progress, elicitation) still gets a stream. rmcp
            // applies this to stateless requests only: legacy sessions keep their SSE answers.
            .with_json_response(true)
            .with_sse_keep_alive(Some(SSE_KEEP_ALIVE))
            .with_max_request_body_bytes(self.max_body)
            .with_cancellation_token(ct);
        config = if self.guard.hosts.is_any() {
            config.disable_allowed_hosts()
        } else {
            config.with_allowed_hosts(self.guard.hosts.for_rmcp())
        };
        if self.guard.origins.is_any() {
            config.disable_allowed_origins()
        } else {
            config
                .with_allowed_origins(self.guard.origins.for_rmcp())
                .enforce_origin_validation()
        }
    }
}

/// A checked, bound HTTP server, ready to serve.
#[derive(Debug)]
pub struct HttpServer {
    settings: Settings,
    listener: TcpListener,
    addr: SocketAddr,
}

/// What the start-up banner says besides the URLs.
#[derive(Clone, Debug, Default)]
pub struct Banner {
    /// Tools `tools/list` shows.
    pub tools: usize,
    /// Where calls go (no credentials).
    pub upstream: String,
    /// Further lines, e.g. `conformance fixtures: on`.
    pub notes: Vec<String>,
}

impl HttpServer {
    /// Checks the settings (refusing, e.g., a public address without a token) and binds.
    pub async fn bind(settings: &HttpSettings) -> anyhow::Result<Self> {
        let mut checked = Settings::from_args(settings)?;
        fit_connections_to_nofile(&mut checked.connections);
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("binding {}", settings.listen))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        Ok(Self {
            settings: checked,
            listener,
            addr,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Adds a `/readyz` check (the upstream probe, shared state …).
    pub fn with_readiness(
        mut self,
        check: Arc<dyn crate::transport::ready::ReadinessCheck>,
    ) -> Self {
        self.settings.checks.push(check);
        self
    }

    /// In OAuth mode, tells the scope check which `tools/call`s change data (and so need
    /// `duvo:write`); without it a `duvo:read` token is narrowed by the server alone.
    pub fn with_write_judge(self, judge: crate::transport::oauth::WriteJudge) -> Self {
        if let Some(o) = &self.settings.oauth {
            o.set_judge(judge);
        }
        self
    }

    /// Serves handlers from `factory` until SIGINT/SIGTERM, then drains; prints the banner on
    /// stderr once it accepts connections.
    pub async fn serve<F: ServerFactory>(self, factory: F, banner: Banner) -> anyhow::Result<()> {
        let Self {
            mut settings,
            listener,
            addr,
        } = self;
        settings.metrics = crate::telemetry::metrics::install();
        if settings.oauth.is_some()
            && !settings.guard.auth.has_token()
            && !addr.ip().is_loopback()
            && settings.metrics.take().is_some()
        {
            tracing::warn!(
                "/metrics is off: with --oauth-issuer on a public address it needs \
                 DUVO_MCP_AUTH_TOKEN (which then guards /metrics only)"
            );
        }
        serve(factory, listener, &settings, || {
            print_banner(addr, &settings, &banner)
        })
        .await
    }
}

/// Prints the served URLs on stderr.
fn print_banner(addr: SocketAddr, s: &Settings, b: &Banner) {
    let base = format!("http://{addr}");
    eprintln!(
        "duvo-mcp http listening on {base} ({} tools; calls go to {})",
        b.tools, b.upstream
    );
    eprintln!("  Streamable HTTP: {base}{MCP_PATH}");
    if s.sse {
        eprintln!(
            "  legacy SSE:      {base}{} (messages: POST {base}{})",
            sse::SSE_PATH,
            sse::MESSAGE_PATH
        );
    }
    eprintln!(
        "  health:          {base}{} (liveness), {base}{} (readiness)",
        crate::transport::guard::HEALTH_PATH,
        crate::transport::ready::READY_PATH
    );
    if s.metrics.is_some() {
        eprintln!(
            "  metrics:         {base}{} (Prometheus; needs the token when one is set)",
            crate::transport::guard::METRICS_PATH
        );
    }
    let auth = &s.guard.auth;
    if let Some(o) = &s.oauth {
        let issuers: Vec<&str> = o.issuers.iter().map(|i| i.url.as_str()).collect();
        eprintln!(
            "  auth:            OAuth access tokens for {} from {}{}",
            o.resource,
            issuers.join(", "),
            if auth.passthrough() {
                ", or each caller's Authorization: Bearer dv_… key"
            } else {
                ""
            }
        );
        eprintln!("  OAuth metadata:  {}", o.metadata_url());
    }
    let mode = match (auth.has_token(), auth.passthrough()) {
        (true, true) => {
            "X-MCP-Auth: Bearer <token> and each caller's Authorization: Bearer dv_… key"
        }
        (true, false) => "Authorization: Bearer <token>",
        (false, true) => "each caller's Authorization: Bearer dv_… key (passthrough)",
        (false, false) => "none (loopback only)",
    };
    if s.oauth.is_none() {
        eprintln!("  auth:            {mode}");
    }
    if s.stateless {
        eprintln!(
            "  mode:            stateless (2026-07-28 requests only; legacy sessions and /sse off)"
        );
    }
    let shared = crate::shared_state::redis_status();
    if shared != crate::shared_state::Status::Off {
        eprintln!("  shared state:    Redis ({})", shared.as_str());
    }
    for note in &b.notes {
        eprintln!("  {note}");
    }
}

/// Serves handlers from `factory` on `listener` until a shutdown signal, then drains.
async fn serve<F, A>(
    factory: F,
    listener: TcpListener,
    s: &Settings,
    announce: A,
) -> anyhow::Result<()>
where
    F: ServerFactory,
    A: FnOnce(),
{
    let ct = CancellationToken::new();
    let mut sessions = LocalSessionManager::default();
    sessions.session_config.keep_alive = Some(s.idle);
    let sessions = Arc::new(sessions);
    let limits = Limits::new(s.max_sessions, s.max_streams, Some(sessions.clone()));
    let owners = Owners::new(
        s.guard.auth.clone(),
        s.oauth.is_some(),
        s.max_per_caller,
        sessions.clone(),
    );
    let app = router(factory, s, sessions, limits.clone(), owners, ct.clone());

    let stop_accepting = CancellationToken::new();
    let mut server = tokio::spawn(accept::serve(
        listener,
        app,
        s.connections,
        stop_accepting.clone(),
    ));
    let signal = shutdown_signal();
    announce();

    tokio::select! {
        result = &mut server => {
            ct.cancel();
            result.context("HTTP server task")?;
            anyhow::bail!("the HTTP accept loop stopped unexpectedly");
        }
        () = signal => {}
    }
    let in_flight = limits.in_flight();
    tracing::info!(
        in_flight,
        bound_secs = s.drain.as_secs(),
        "shutting down: refusing new requests, letting in-flight ones finish"
    );
    limits.start_draining();
    stop_accepting.cancel();
    if limits.wait_idle(s.drain).await {
        tracing::info!("in-flight requests finished");
    } else {
        tracing::warn!(
            in_flight = limits.in_flight(),
            "shutdown bound reached; abandoning in-flight requests"
        );
    }
    ct.cancel();
    match tokio::time::timeout(CLOSE_GRACE, server).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e).context("HTTP server task"),
        Err(_) => {
            tracing::warn!("streams still open after the drain; exiting anyway");
            Ok(())
        }
    }
}

/// State of the `/mcp` session middleware.
#[derive(Clone)]
struct McpCaps {
    limits: Arc<Limits>,
    owners: Arc<Owners>,
    max_body: usize,
}

/// The whole application: `/healthz` (before admission), then the routes behind the admission,
/// drain and body-deadline layers (admission outermost).
fn router<F: ServerFactory>(
    factory: F,
    s: &Settings,
    sessions: Arc<LocalSessionManager>,
    limits: Arc<Limits>,
    owners: Arc<Owners>,
    ct: CancellationToken,
) -> Router {
    let sessions_factory = factory.clone();
    let mcp = StreamableHttpService::new(
        move || Ok(sessions_factory.make()),
        sessions,
        s.rmcp_config(ct.child_token()),
    );
    let caps = McpCaps {
        limits: limits.clone(),
        owners: owners.clone(),
        max_body: s.max_body,
    };
    let mut app = Router::new()
        .route_service(MCP_PATH, mcp)
        .route_layer(from_fn_with_state(
            s.max_body,
            crate::transport::malformed::answer_unreadable,
        ))
        .route_layer(from_fn_with_state(caps, mcp_sessions));
    if s.stateless {
        app = app.route_layer(axum::middleware::from_fn(stateless_only));
    }
    if s.sse {
        let legacy = LegacySse::new(
            factory.make(),
            limits.clone(),
            owners,
            ct.child_token(),
            SseConfig {
                keep_alive: SSE_KEEP_ALIVE,
                idle_timeout: s.idle,
            },
        );
        let sse_routes = Router::new()
            .route(sse::SSE_PATH, get(sse::open::<F::Handler>))
            .route(sse::MESSAGE_PATH, post(sse::post::<F::Handler>))
            .with_state(legacy)
            .layer(DefaultBodyLimit::max(s.max_body));
        app = app.merge(sse_routes);
    }
    if let Some(handle) = s.metrics.clone() {
        let scrape = crate::transport::metrics_route::Scrape {
            handle,
            limits: limits.clone(),
        };
        app = app.route(
            crate::transport::guard::METRICS_PATH,
            get(crate::transport::metrics_route::metrics).with_state(scrape),
        );
    }
    let ready = crate::transport::ready::Readiness {
        checks: s.checks.clone(),
        limits: limits.clone(),
    };
    let mut app = app.fallback(not_found);
    if let Some(oauth) = &s.oauth {
        app = app.layer(from_fn_with_state(
            oauth.clone(),
            crate::transport::oauth::layer,
        ));
    }
    let guarded = app
        .layer(from_fn_with_state(
            BodyDeadline {
                max: s.max_body,
                within: s.body_read,
            },
            body_deadline,
        ))
        .layer(from_fn_with_state(limits.clone(), drain))
        .layer(from_fn_with_state(s.guard.clone(), admission));
    // Liveness answers whatever the Host (Kubernetes probes send `Host: <pod-ip>:<port>`) and
    // without the token: it reveals nothing. It still says 503 while draining.
    // Readiness likewise, and outside the drain layer: it reports draining in its own JSON.
    let mut outer = Router::new();
    if let Some(oauth) = &s.oauth {
        // Public metadata: no Host, Origin or token check (like /healthz).
        let meta = get(crate::transport::oauth::metadata).with_state(oauth.clone());
        outer = outer
            .route(crate::transport::oauth::METADATA_ROOT, meta.clone())
            .route(&oauth.metadata_path(), meta);
    }
    outer
        .route(crate::transport::guard::HEALTH_PATH, get(healthz))
        .layer(from_fn_with_state(limits, drain))
        .route(
            crate::transport::ready::READY_PATH,
            get(crate::transport::ready::readyz).with_state(ready),
        )
        .merge(guarded)
}

/// First protocol version without sessions.
const STATELESS_VERSION: &str = "2026-07-28";

/// `--stateless`: lets through only 2026-07-28 requests without a session; anything else (a
/// legacy `initialize`, a request naming a session) gets HTTP 400 with a JSON-RPC error that
/// names the mode.
async fn stateless_only(req: Request, next: Next) -> Response {
    let modern = req
        .headers()
        .get("mcp-protocol-version")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() >= STATELESS_VERSION);
    let session = req.headers().contains_key("mcp-session-id");
    if modern && !session {
        return next.run(req).await;
    }
    // Answer with the request's id when it has one (the body was already read within bounds).
    let id = match req.method() == Method::POST {
        true => axum::body::to_bytes(req.into_body(), 1 << 20)
            .await
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v.get("id").cloned())
            .unwrap_or(serde_json::Value::Null),
        false => serde_json::Value::Null,
    };
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {
            "code": -32600,
            "message": "this server runs in --stateless mode: it serves only stateless MCP \
                        2026-07-28 requests (MCP-Protocol-Version: 2026-07-28, no Mcp-Session-Id); \
                        legacy initialize sessions and /sse are off. Use a 2026-07-28 client, or a \
                        deployment without --stateless behind sticky routing"
        }
    });
    (
        StatusCode::BAD_REQUEST,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.to_string(),
    )
        .into_response()
}

async fn healthz() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        "{\"status\":\"ok\"}",
    )
        .into_response()
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not Found\n").into_response()
}

/// Refuses everything while draining; counts POSTs as in flight until their response ends.
async fn drain(State(limits): State<Arc<Limits>>, req: Request, next: Next) -> Response {
    if limits.draining() {
        let mut resp = unavailable("the server is shutting down");
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return resp;
    }
    if req.method() == Method::POST {
        let in_flight = limits.begin_request();
        let resp = next.run(req).await;
        return hold_until_body_ends(resp, in_flight);
    }
    next.run(req).await
}

/// Bounds of the body-deadline layer.
#[derive(Clone, Copy)]
struct BodyDeadline {
    max: usize,
    within: Duration,
}

/// Reads every request body (after admission) within `within`: a client that stops sending
/// half-way gets 408 and the connection is closed, instead of holding it open forever.
async fn body_deadline(State(d): State<BodyDeadline>, req: Request, next: Next) -> Response {
    let has_body = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .is_some_and(|v| v.as_bytes() != b"0")
        || req.headers().contains_key(header::TRANSFER_ENCODING);
    if !has_body {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match tokio::time::timeout(d.within, read_limited(body, d.max)).await {
        Ok(Ok(b)) => b,
        Ok(Err(resp)) => return *resp,
        Err(_) => {
            tracing::debug!(path = parts.uri.path(), "request body not received in time");
            let mut resp = (
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "Request Timeout: the body did not arrive within {} s\n",
                    d.within.as_secs()
                ),
            )
                .into_response();
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return resp;
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The 404 for a session that does not exist, is over, or belongs to another caller (the same
/// text rmcp gives for an unknown session, so the answers cannot be told apart).
fn session_not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not Found: Session not found").into_response()
}

/// `/mcp` sessions: binds each new session to its caller and answers requests naming a session
/// of another caller 404 (like an unknown one); applies the session, per-caller and stream caps;
/// answers `DELETE` 204 (rmcp says 202, and 202 for unknown sessions too: worked around here);
/// drops SSE priming events for sessions older than protocol 2025-11-25.
async fn mcp_sessions(State(caps): State<McpCaps>, req: Request, next: Next) -> Response {
    let session = req
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // Who is calling matters for a session's requests and for `initialize`; a stateless call
    // (neither) skips the hashing.
    let caller = session
        .as_ref()
        .map(|_| caps.owners.fingerprint(req.headers()));
    let binding = match &session {
        Some(id) => match caps.owners.mcp_binding(id).await {
            Some(b) if Some(b.owner) == caller => Some(b),
            Some(_) => {
                tracing::warn!("request for a session opened with other credentials; 404");
                return session_not_found();
            }
            None => return session_not_found(),
        },
        None => None,
    };
    let strip = binding.is_some_and(|b| b.pre_priming);
    if req.method() == Method::DELETE {
        let resp = next.run(req).await;
        if resp.status() == StatusCode::ACCEPTED
            && let Some(id) = &session
        {
            caps.owners.unbind_mcp(id);
            return StatusCode::NO_CONTENT.into_response();
        }
        return resp;
    }
    if req.method() == Method::GET {
        let Some(permit) = caps.limits.open_stream() else {
            tracing::warn!(
                cap = caps.limits.max_streams(),
                "stream cap reached; refusing GET /mcp"
            );
            return unavailable("too many open streams");
        };
        let resp = next.run(req).await;
        return if resp.status().is_success() {
            hold_until_body_ends(without_priming(resp, strip), permit)
        } else {
            resp
        };
    }
    if req.method() != Method::POST || session.is_some() {
        return without_priming(next.run(req).await, strip);
    }
    let (parts, body) = req.into_parts();
    let bytes = match read_limited(body, caps.max_body).await {
        Ok(b) => b,
        Err(resp) => return *resp,
    };
    let Some(version) = initialize_version(&bytes) else {
        return next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
    };
    let caller = caps.owners.fingerprint(&parts.headers);
    let live = caps.limits.live_sessions().await;
    let Some(reservation) = caps.limits.reserve_session(live) else {
        tracing::warn!(
            cap = caps.limits.max_sessions(),
            "session cap reached; refusing initialize"
        );
        return unavailable("too many sessions");
    };
    let Some(mine) = caps.owners.reserve(caller).await else {
        return too_many_for_caller(caps.owners.per_caller().unwrap_or_default());
    };
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let pre_priming = predates_priming(&version);
    if resp.status().is_success()
        && let Some(id) = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
    {
        caps.owners.bind_mcp(
            id,
            Binding {
                owner: caller,
                pre_priming,
            },
        );
    }
    drop(mine);
    drop(reservation);
    without_priming(resp, pre_priming)
}

/// 429 for a caller at its own session cap.
pub(crate) fn too_many_for_caller(cap: usize) -> Response {
    tracing::warn!(
        cap,
        "per-caller session cap reached; refusing a new session"
    );
    let mut resp = (
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "Too Many Requests: this caller already holds {cap} sessions; close unused ones \
             (DELETE /mcp with their Mcp-Session-Id) or let them expire\n"
        ),
    )
        .into_response();
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(crate::transport::limits::RETRY_AFTER_SECS),
    );
    resp
}

/// Drops SSE priming events from an event-stream response when `strip` (sessions that
/// negotiated a protocol older than 2025-11-25: their clients fail to parse the empty `data`).
/// rmcp sends them to every session; this is the work-around.
fn without_priming(resp: Response, strip: bool) -> Response {
    let is_sse = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !strip || !is_sse {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let stream = body.into_data_stream().filter(|chunk| {
        let keep = !matches!(chunk, Ok(bytes) if is_priming_frame(bytes));
        std::future::ready(keep)
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

/// Reads a body of at most `max` bytes; 413 above, 400 on a broken body.
async fn read_limited(body: Body, max: usize) -> Result<Bytes, Box<Response>> {
    let too_large = || {
        Box::new(
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("Payload Too Large: the limit is {max} bytes\n"),
            )
                .into_response(),
        )
    };
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| {
            Box::new((StatusCode::BAD_REQUEST, "Bad Request: unreadable body\n").into_response())
        })?;
        if buf.len() + chunk.len() > max {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buf))
}

/// The requested protocol version of an `initialize` request (`None`: not an `initialize`).
fn initialize_version(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Params {
        #[serde(rename = "protocolVersion")]
        protocol_version: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Probe {
        method: Option<String>,
        params: Option<Params>,
    }
    let probe = serde_json::from_slice::<Probe>(body).ok()?;
    (probe.method.as_deref() == Some("initialize")).then(|| {
        probe
            .params
            .and_then(|p| p.protocol_version)
            .unwrap_or_default()
    })
}

/// Lowers the connection cap to what the open-file limit allows (after raising it).
fn fit_connections_to_nofile(c: &mut ConnectionLimits) {
    let Some(nofile) = accept::raise_nofile_limit() else {
        return;
    };
    // Descriptors for the listener, upstream connections to Duvo, logs and files.
    let room = usize::try_from(nofile.saturating_sub(256))
        .unwrap_or(usize::MAX)
        .max(16);
    if c.max_connections > room {
        tracing::warn!(
            requested = c.max_connections,
            allowed = room,
            open_file_limit = nofile,
            "lowering --max-connections to fit the open-file limit"
        );
        c.max_connections = room;
    }
}

/// Installs the SIGINT/SIGTERM handlers now (so a signal right after the banner is caught) and
/// returns a future that resolves on the first of them.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let int = signal(SignalKind::interrupt());
        let term = signal(SignalKind::terminate());
        async move {
            match (int, term) {
                (Ok(mut int), Ok(mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                (int, term) => {
                    let e = int
                        .err()
                        .or(term.err())
                        .map(|e| e.to_string())
                        .unwrap_or_default();
                    tracing::warn!(error = %e, "cannot listen for SIGINT/SIGTERM; waiting for Ctrl-C");
                    if let Err(e) = tokio::signal::ctrl_c().await {
                        tracing::error!(error = %e, "cannot listen for Ctrl-C; stopping");
                    }
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C; stopping");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initialize_is_recognised() {
        assert_eq!(
            initialize_version(
                br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}"#
            )
            .as_deref(),
            Some("2025-06-18")
        );
        assert!(initialize_version(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#).is_none());
        assert!(initialize_version(b"not json").is_none());
    }
}
