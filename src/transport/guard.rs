//! Request admission for every HTTP route: Host and Origin allow-lists (DNS-rebinding and
//! cross-site protection) and inbound authentication (a shared token and/or the caller's own Duvo
//! key in passthrough mode). Secrets are compared in constant time and never logged.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Header that carries the inbound token when `Authorization` is taken by the caller's Duvo key
/// (`--passthrough-auth` together with `--auth-token`).
pub const HEADER_MCP_AUTH: &str = "x-mcp-auth";

/// Headers that may also carry the shared token with `--passthrough-auth`, for clients that can
/// only send a few standard headers (Claude's connectors allow `Authorization`, `X-API-Key` and
/// `X-Auth-Token`). Checked after `X-MCP-Auth`, first present wins.
pub const CONNECTOR_TOKEN_HEADERS: [&str; 2] = ["x-auth-token", "x-api-key"];

/// Prometheus metrics path: behind Host/Origin and the shared token (when set), never a Duvo key.
pub const METRICS_PATH: &str = "/metrics";

/// Liveness path: answered before admission (no Host/Origin/token check; Kubernetes probes send
/// `Host: <pod-ip>:<port>`), and it reveals nothing but `{"status":"ok"}`.
pub const HEALTH_PATH: &str = "/healthz";

/// Loopback names accepted in `Host` by default.
pub const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A configuration value that cannot be used, with the reason.
#[derive(Debug, thiserror::Error)]
pub enum GuardConfigError {
    /// An `--allowed-hosts` entry does not parse.
    #[error("--allowed-hosts entry {0:?} is not a host or host:port")]
    BadHost(String),
    /// An `--allowed-origins` entry does not parse.
    #[error(
        "--allowed-origins entry {0:?} is not an origin like https://app.example.com, http://localhost:* or null"
    )]
    BadOrigin(String),
    /// The token is empty or too short to be a secret.
    #[error(
        "the inbound auth token must be at least 16 characters (generate one with `openssl rand -hex 32`)"
    )]
    WeakToken,
}

/// One `Host` allow-list entry: a host and an optional port (`None` = any port).
#[derive(Clone, Debug, PartialEq, Eq)]
struct HostRule {
    host: String,
    port: Option<u16>,
}

/// The `Host` allow-list; `any` disables the check.
#[derive(Clone, Debug)]
pub struct HostList {
    any: bool,
    rules: Vec<HostRule>,
}

impl HostList {
    /// Parses entries such as `localhost`, `127.0.0.1:8787`, `[::1]`, `mcp.example.com`; `*` = any.
    pub fn parse(entries: &[String]) -> Result<Self, GuardConfigError> {
        let mut rules = Vec::new();
        let mut any = false;
        for raw in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            if raw == "*" {
                any = true;
                continue;
            }
            let (host, port) =
                split_authority(raw).ok_or_else(|| GuardConfigError::BadHost(raw.into()))?;
            rules.push(HostRule { host, port });
        }
        Ok(Self { any, rules })
    }

    /// The loopback default.
    pub fn loopback() -> Self {
        Self {
            any: false,
            rules: LOOPBACK_HOSTS
                .iter()
                .map(|h| HostRule {
                    host: (*h).to_owned(),
                    port: None,
                })
                .collect(),
        }
    }

    /// Whether any host is accepted.
    pub fn is_any(&self) -> bool {
        self.any
    }

    /// Entries in the form rmcp's `allowed_hosts` takes (`host` or `host:port`).
    pub fn for_rmcp(&self) -> Vec<String> {
        self.rules
            .iter()
            .map(|r| {
                let host = if r.host.contains(':') {
                    format!("[{}]", r.host)
                } else {
                    r.host.clone()
                };
                match r.port {
                    Some(p) => format!("{host}:{p}"),
                    None => host,
                }
            })
            .collect()
    }

    /// Whether a `Host` header value is allowed.
    pub fn allows(&self, host_header: &str) -> bool {
        if self.any {
            return true;
        }
        let Some((host, port)) = split_authority(host_header) else {
            return false;
        };
        self.rules
            .iter()
            .any(|r| r.host == host && r.port.is_none_or(|p| port == Some(p)))
    }
}

/// Splits `host[:port]` (IPv6 in brackets) into a lower-case host without brackets and a port.
fn split_authority(raw: &str) -> Option<(String, Option<u16>)> {
    let raw = raw.trim();
    if raw.is_empty() || raw.contains(['/', '@', ' ', '?', '#']) {
        return None;
    }
    let (host, port) = if let Some(rest) = raw.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?.parse::<u16>().ok()?),
        };
        (h, port)
    } else if raw.matches(':').count() > 1 {
        (raw, None) // a bare IPv6 address
    } else if let Some((h, p)) = raw.split_once(':') {
        (h, Some(p.parse::<u16>().ok()?))
    } else {
        (raw, None)
    };
    if host.is_empty() {
        return None;
    }
    Some((host.to_ascii_lowercase(), port))
}

/// Port rule of an origin entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OriginPort {
    Any,
    Exact(u16),
}

/// One `Origin` allow-list entry.
#[derive(Clone, Debug, PartialEq, Eq)]
enum OriginRule {
    Null,
    Tuple {
        scheme: String,
        host: String,
        port: OriginPort,
    },
}

/// The `Origin` allow-list. Requests without `Origin` (non-browser clients) always pass.
#[derive(Clone, Debug)]
pub struct OriginList {
    any: bool,
    rules: Vec<OriginRule>,
}

impl OriginList {
    /// Parses entries such as `https://app.example.com`, `http://localhost:*`, `null`; `*` = any.
    /// An entry without a port means the scheme's default port.
    pub fn parse(entries: &[String]) -> Result<Self, GuardConfigError> {
        let mut rules = Vec::new();
        let mut any = false;
        for raw in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            if raw == "*" {
                any = true;
                continue;
            }
            rules.push(
                parse_origin_rule(raw).ok_or_else(|| GuardConfigError::BadOrigin(raw.into()))?,
            );
        }
        Ok(Self { any, rules })
    }

    /// The loopback default: `http(s)://localhost|127.0.0.1|[::1]` on any port.
    pub fn loopback() -> Self {
        let mut rules = Vec::new();
        for scheme in ["http", "https"] {
            for host in LOOPBACK_HOSTS {
                rules.push(OriginRule::Tuple {
                    scheme: scheme.to_owned(),
                    host: host.to_owned(),
                    port: OriginPort::Any,
                });
            }
        }
        Self { any: false, rules }
    }

    /// Whether any origin is accepted.
    pub fn is_any(&self) -> bool {
        self.any
    }

    /// Entries in the form rmcp's `allowed_origins` takes (always with an explicit port or `:*`).
    pub fn for_rmcp(&self) -> Vec<String> {
        self.rules
            .iter()
            .map(|r| match r {
                OriginRule::Null => "null".to_owned(),
                OriginRule::Tuple { scheme, host, port } => {
                    let host = if host.contains(':') {
                        format!("[{host}]")
                    } else {
                        host.clone()
                    };
                    match port {
                        OriginPort::Any => format!("{scheme}://{host}:*"),
                        OriginPort::Exact(p) => format!("{scheme}://{host}:{p}"),
                    }
                }
            })
            .collect()
    }

    /// Whether an `Origin` header value is allowed.
    pub fn allows(&self, origin: &str) -> bool {
        if self.any {
            return true;
        }
        let origin = origin.trim();
        if origin.eq_ignore_ascii_case("null") {
            return self.rules.contains(&OriginRule::Null);
        }
        let Some((scheme, host, port)) = parse_origin(origin) else {
            return false;
        };
        self.rules.iter().any(|r| match r {
            OriginRule::Null => false,
            OriginRule::Tuple {
                scheme: s,
                host: h,
                port: p,
            } => {
                *s == scheme
                    && *h == host
                    && match p {
                        OriginPort::Any => true,
                        OriginPort::Exact(p) => port == Some(*p),
                    }
            }
        })
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// `scheme://host[:port]` → (scheme, host, effective port).
fn parse_origin(raw: &str) -> Option<(String, String, Option<u16>)> {
    let (scheme, rest) = raw.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return None;
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = split_authority(rest)?;
    Some((scheme.clone(), host, port.or_else(|| default_port(&scheme))))
}

fn parse_origin_rule(raw: &str) -> Option<OriginRule> {
    if raw.eq_ignore_ascii_case("null") {
        return Some(OriginRule::Null);
    }
    if let Some(base) = raw.strip_suffix(":*") {
        let (scheme, rest) = base.split_once("://")?;
        let (host, port) = split_authority(rest)?;
        if port.is_some() {
            return None;
        }
        return Some(OriginRule::Tuple {
            scheme: scheme.to_ascii_lowercase(),
            host,
            port: OriginPort::Any,
        });
    }
    let (scheme, host, port) = parse_origin(raw)?;
    Some(OriginRule::Tuple {
        scheme,
        host,
        port: OriginPort::Exact(port?),
    })
}

/// How requests authenticate to this server.
#[derive(Clone)]
pub struct InboundAuth {
    /// The shared token, when `--auth-token` is set.
    token: Option<Arc<[u8]>>,
    /// Each request brings its own Duvo key in `Authorization` (multi-tenant).
    passthrough: bool,
}

impl std::fmt::Debug for InboundAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundAuth")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("passthrough", &self.passthrough)
            .finish()
    }
}

impl InboundAuth {
    /// Builds the rules; a token shorter than 16 characters is refused.
    pub fn new(token: Option<&str>, passthrough: bool) -> Result<Self, GuardConfigError> {
        let token = match token.map(str::trim) {
            None => None,
            Some(t) if t.len() < 16 => return Err(GuardConfigError::WeakToken),
            Some(t) => Some(Arc::from(t.as_bytes())),
        };
        Ok(Self { token, passthrough })
    }

    /// Whether a shared token is required.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// Whether each request must carry its own Duvo key.
    pub fn passthrough(&self) -> bool {
        self.passthrough
    }

    /// The header that carries the shared token: `Authorization`, or `X-MCP-Auth` in passthrough
    /// mode (where `Authorization` carries the Duvo key).
    pub fn token_header(&self) -> HeaderName {
        if self.passthrough {
            HeaderName::from_static(HEADER_MCP_AUTH)
        } else {
            header::AUTHORIZATION
        }
    }

    /// The shared token as presented: `Authorization` (`Bearer`), or with `--passthrough-auth`
    /// the first of `X-MCP-Auth`, `X-Auth-Token`, `X-API-Key` present (`Bearer` or bare).
    fn presented_token<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        let value = |name: &str, bare_ok: bool| {
            headers
                .get(name)
                .map(|v| v.to_str().ok().and_then(|v| token_from(v, bare_ok)))
        };
        if !self.passthrough {
            return value(header::AUTHORIZATION.as_str(), false).flatten();
        }
        std::iter::once(HEADER_MCP_AUTH)
            .chain(CONNECTOR_TOKEN_HEADERS)
            .find_map(|name| value(name, true))
            .flatten()
    }

    /// The credentials a request presents: (shared token, passthrough Duvo key), each only when
    /// this server uses it. For fingerprinting who opened a session; never log them.
    pub fn presented<'a>(&self, headers: &'a HeaderMap) -> (Option<&'a str>, Option<&'a str>) {
        let token = if self.token.is_some() {
            self.presented_token(headers)
        } else {
            None
        };
        let key = if self.passthrough {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| token_from(v, false))
        } else {
            None
        };
        (token, key)
    }

    /// Checks the shared token only (when one is set); `Err` is the reason for a 401.
    pub fn check_token(&self, headers: &HeaderMap) -> Result<(), &'static str> {
        if let Some(expected) = &self.token {
            let Some(presented) = self.presented_token(headers) else {
                return Err(if self.passthrough {
                    "missing X-MCP-Auth: Bearer <token> (or X-Auth-Token / X-API-Key: <token>; \
                     this server requires an access token)"
                } else {
                    "missing Authorization: Bearer <token> (this server requires an access token)"
                });
            };
            if !bool::from(presented.as_bytes().ct_eq(expected)) {
                return Err("invalid access token");
            }
        }
        Ok(())
    }

    /// Checks one request's headers; `Err` is the reason for a 401 (never containing a secret).
    pub fn check(&self, headers: &HeaderMap) -> Result<(), &'static str> {
        self.check_token(headers)?;
        if self.passthrough {
            let key = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| token_from(v, false));
            if key.is_none() {
                return Err(
                    "missing Authorization: Bearer dv_… (this server uses each caller's own Duvo API key)",
                );
            }
        }
        Ok(())
    }
}

/// The token of a `Bearer <token>` value (or the bare value when `bare_ok`).
fn token_from(value: &str, bare_ok: bool) -> Option<&str> {
    let value = value.trim();
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return None,
        None if bare_ok => value,
        None => return None,
    };
    (!token.is_empty()).then_some(token)
}

/// Everything the admission middleware checks.
#[derive(Clone, Debug)]
pub struct Guard {
    /// `Host` allow-list.
    pub hosts: HostList,
    /// `Origin` allow-list.
    pub origins: OriginList,
    /// Inbound authentication.
    pub auth: InboundAuth,
    /// OAuth resource-server mode: `/mcp`, `/sse` and `/message` are authenticated by
    /// [`crate::transport::oauth::layer`] instead of [`InboundAuth`]; the shared token, when set,
    /// guards `/metrics` only.
    pub oauth: bool,
}

/// A 403 with a plain-text reason.
pub fn forbidden(reason: &'static str) -> Response {
    (StatusCode::FORBIDDEN, format!("Forbidden: {reason}\n")).into_response()
}

/// A 401 with `WWW-Authenticate: Bearer` and a plain-text reason.
pub fn unauthorized(reason: &'static str) -> Response {
    let mut resp = (
        StatusCode::UNAUTHORIZED,
        format!("Unauthorized: {reason}\n"),
    )
        .into_response();
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"duvo-mcp\""),
    );
    resp
}

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// 400: the request has no usable Host.
    BadRequest(&'static str),
    /// 403: Host or Origin not allowed.
    Forbidden(&'static str),
    /// 401: missing or wrong credentials.
    Unauthorized(&'static str),
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self {
            Self::BadRequest(r) => {
                (StatusCode::BAD_REQUEST, format!("Bad Request: {r}\n")).into_response()
            }
            Self::Forbidden(r) => forbidden(r),
            Self::Unauthorized(r) => unauthorized(r),
        }
    }
}

impl Guard {
    /// Decides whether a request may proceed.
    pub fn admit(&self, req: &Request<Body>) -> Result<(), Rejection> {
        let headers = req.headers();
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()));
        match host {
            Some(h) if self.hosts.allows(&h) => {}
            Some(h) => {
                tracing::warn!(host = %h, path = req.uri().path(), "rejected: Host not allowed");
                return Err(Rejection::Forbidden("Host header is not allowed"));
            }
            None => return Err(Rejection::BadRequest("missing Host header")),
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let ok = origin.to_str().is_ok_and(|o| self.origins.allows(o));
            if !ok {
                tracing::warn!(origin = ?origin, path = req.uri().path(), "rejected: Origin not allowed");
                return Err(Rejection::Forbidden("Origin header is not allowed"));
            }
        }
        if req.uri().path() == HEALTH_PATH {
            return Ok(());
        }
        if self.oauth && req.uri().path() != METRICS_PATH {
            return Ok(());
        }
        let check = if req.uri().path() == METRICS_PATH {
            self.auth.check_token(headers)
        } else {
            self.auth.check(headers)
        };
        check.map_err(|reason| {
            tracing::debug!(path = req.uri().path(), reason, "rejected: unauthenticated");
            Rejection::Unauthorized(reason)
        })
    }
}

/// Axum middleware applying [`Guard::admit`] to every request.
pub async fn admission(State(guard): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    match guard.admit(&req) {
        Ok(()) => next.run(req).await,
        Err(rejection) => rejection.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn hosts_match_with_and_without_ports() {
        let h = HostList::loopback();
        assert!(h.allows("localhost:8787"));
        assert!(h.allows("127.0.0.1"));
        assert!(h.allows("[::1]:9"));
        assert!(!h.allows("evil.example.com"));
        assert!(!h.allows("127.0.0.1.evil.com:80"));
        let h = HostList::parse(&list(&["mcp.example.com:443", "Other.Example"])).expect("parse");
        assert!(h.allows("mcp.example.com:443"));
        assert!(!h.allows("mcp.example.com:8443"));
        assert!(!h.allows("mcp.example.com"));
        assert!(h.allows("other.example:1234"));
        assert!(HostList::parse(&list(&["a/b"])).is_err());
        assert!(
            HostList::parse(&list(&["*"]))
                .expect("any")
                .allows("anything")
        );
    }

    #[test]
    fn origins_follow_scheme_host_port() {
        let o = OriginList::loopback();
        assert!(o.allows("http://localhost:6274"));
        assert!(o.allows("http://[::1]:3000"));
        assert!(!o.allows("http://evil.example.com"));
        assert!(!o.allows("null"));
        let o = OriginList::parse(&list(&["https://app.example.com", "null"])).expect("parse");
        assert!(o.allows("https://app.example.com"));
        assert!(o.allows("https://app.example.com:443"));
        assert!(!o.allows("https://app.example.com:8443"));
        assert!(!o.allows("http://app.example.com"));
        assert!(o.allows("null"));
        assert_eq!(o.for_rmcp(), vec!["https://app.example.com:443", "null"]);
        assert!(OriginList::parse(&list(&["app.example.com"])).is_err());
    }

    #[test]
    fn token_is_checked_in_the_right_header() {
        let auth = InboundAuth::new(Some("0123456789abcdef-token"), false).expect("auth");
        let mut h = HeaderMap::new();
        assert!(auth.check(&h).is_err());
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer wrong-token-000000"),
        );
        assert_eq!(auth.check(&h), Err("invalid access token"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer 0123456789abcdef-token"),
        );
        assert!(auth.check(&h).is_ok());

        let both = InboundAuth::new(Some("0123456789abcdef-token"), true).expect("auth");
        assert!(both.check(&h).is_err(), "token must move to X-MCP-Auth");
        h.insert(
            HEADER_MCP_AUTH,
            HeaderValue::from_static("0123456789abcdef-token"),
        );
        assert!(both.check(&h).is_ok());
        h.remove(header::AUTHORIZATION);
        assert!(
            both.check(&h).is_err(),
            "passthrough needs the caller's key"
        );
        assert!(InboundAuth::new(Some("short"), false).is_err());
    }
}
