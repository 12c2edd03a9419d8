//! OAuth 2.1 resource-server mode (`--oauth-issuer`, `--public-url`): duvo-mcp accepts access
//! tokens issued *for itself* by the configured authorization servers and calls Duvo with its own
//! key (never with the caller's token).
//!
//! - RFC 9728 protected resource metadata at `/.well-known/oauth-protected-resource/mcp` (path
//!   inserted) and `/.well-known/oauth-protected-resource` (root form); `resource` is
//!   `--public-url` exactly, never derived from `Host` or `X-Forwarded-*`.
//! - `/mcp`, `/sse` and `/message` need `Authorization: Bearer <token>`: a missing or invalid
//!   token gets `401` with `WWW-Authenticate: Bearer resource_metadata="…", scope="…"`; a token in
//!   the query string gets `400`.
//! - Scopes (see [`scopes`]): a `duvo:read` token sees read-only tools only, and a `tools/call` of
//!   a tool that changes data (directly or through `callTool`) gets `403` with
//!   `error="insufficient_scope", scope="duvo:read duvo:write"` (step-up).
//! - With `--passthrough-auth` too, `Authorization: Bearer dv_…` keeps its direct-key meaning
//!   (decided by the `dv_` prefix); any other bearer is validated here and then removed from the
//!   request, so it can reach neither Duvo nor a log.
//! - Sessions are bound to the token's issuer and subject (not to the token, which rotates on
//!   refresh), through [`SUBJECT_HEADER`], which this layer alone sets.

pub mod issuer;
pub mod scopes;
pub mod validate;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};
use issuer::Issuer;
use scopes::Access;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Internal request header carrying a digest of the validated token's issuer and subject (for
/// session binding). Any value a client sends is removed first.
pub const SUBJECT_HEADER: &str = "x-duvo-mcp-oauth-subject";

/// Path of the protected resource metadata, root form.
pub const METADATA_ROOT: &str = "/.well-known/oauth-protected-resource";

/// Query parameters that would carry a token (RFC 6750 §2.3 and common variants): refused.
const TOKEN_QUERY_PARAMS: [&str; 3] = ["access_token", "token", "api_key"];

/// Decides whether a `tools/call` (tool name, arguments) changes data, i.e. needs `duvo:write`.
pub type WriteJudge = Arc<dyn Fn(&str, &serde_json::Value) -> bool + Send + Sync>;

/// The resource-server configuration, checked.
pub struct OAuth {
    /// `--public-url`: the canonical resource identifier (the exact `/mcp` URL).
    pub resource: String,
    /// The trusted issuers, in configuration order.
    pub issuers: Vec<Issuer>,
    /// Client credentials for RFC 7662 introspection, when configured.
    introspection_client: Option<(String, String)>,
    /// `Authorization: Bearer dv_…` keeps its direct-key meaning.
    passthrough: bool,
    /// Whether a `tools/call` needs write (set by the composition root).
    judge: std::sync::OnceLock<WriteJudge>,
    /// Largest body peeked for the tool name.
    max_body: usize,
    /// Recent active introspection answers.
    introspected: validate::IntrospectionCache,
}

impl std::fmt::Debug for OAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth")
            .field("resource", &self.resource)
            .field("issuers", &self.issuers)
            .field("passthrough", &self.passthrough)
            .finish_non_exhaustive()
    }
}

impl OAuth {
    /// Checks `--oauth-issuer` (HTTPS except loopback) and `--public-url` (an absolute URL ending
    /// in `/mcp`, HTTPS except loopback). `introspection_client` is (client id, secret).
    pub fn new(
        issuers: &[String],
        public_url: Option<&str>,
        introspection_client: Option<(String, String)>,
        passthrough: bool,
        max_body: usize,
    ) -> anyhow::Result<Self> {
        let Some(resource) = public_url.map(str::trim).filter(|u| !u.is_empty()) else {
            anyhow::bail!(
                "--oauth-issuer needs --public-url (DUVO_MCP_PUBLIC_URL): the exact URL clients use \
                 for this server's /mcp endpoint, e.g. https://mcp.example.com/mcp"
            );
        };
        let u = url::Url::parse(resource)
            .map_err(|e| anyhow::anyhow!("--public-url {resource:?} is not a URL: {e}"))?;
        if u.scheme() != "https" && !(u.scheme() == "http" && issuer::is_loopback(&u)) {
            anyhow::bail!(
                "--public-url {resource:?} must use https (plain http is accepted only on loopback)"
            );
        }
        if !u.path().ends_with(crate::transport::http::MCP_PATH)
            || u.query().is_some()
            || u.fragment().is_some()
        {
            anyhow::bail!(
                "--public-url {resource:?} must be the /mcp endpoint's URL, without query or \
                 fragment (e.g. https://mcp.example.com/mcp)"
            );
        }
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let mut checked = Vec::new();
        for raw in issuers.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
            issuer::check_issuer_url(raw)?;
            checked.push(Issuer::new(raw.to_owned(), http.clone()));
        }
        if checked.is_empty() {
            anyhow::bail!("--oauth-issuer is empty");
        }
        Ok(Self {
            resource: resource.to_owned(),
            issuers: checked,
            introspection_client,
            passthrough,
            judge: std::sync::OnceLock::new(),
            max_body,
            introspected: validate::IntrospectionCache::default(),
        })
    }

    /// Sets how a `tools/call` is judged (without it, only the scope floor `duvo:read` applies
    /// at the HTTP layer and the server narrows a read token to read-only tools).
    pub fn set_judge(&self, judge: WriteJudge) {
        if self.judge.set(judge).is_err() {
            tracing::debug!("the tools/call judge was already set");
        }
    }

    /// The path-inserted metadata URL (RFC 9728 §3.1).
    pub fn metadata_url(&self) -> String {
        match url::Url::parse(&self.resource) {
            Ok(u) => format!(
                "{}{METADATA_ROOT}{}",
                u.origin().ascii_serialization(),
                u.path().trim_end_matches('/')
            ),
            Err(_) => METADATA_ROOT.to_owned(),
        }
    }

    /// The path the path-inserted metadata is served at on this server.
    pub fn metadata_path(&self) -> String {
        match url::Url::parse(&self.resource) {
            Ok(u) => format!("{METADATA_ROOT}{}", u.path().trim_end_matches('/')),
            Err(_) => METADATA_ROOT.to_owned(),
        }
    }

    /// The RFC 9728 document.
    pub fn metadata(&self) -> serde_json::Value {
        serde_json::json!({
            "resource": self.resource,
            "authorization_servers": self.issuers.iter().map(|i| i.url.clone()).collect::<Vec<_>>(),
            "scopes_supported": [scopes::READ, scopes::WRITE],
            "bearer_methods_supported": ["header"],
            "resource_name": "duvo-mcp",
        })
    }

    fn challenge(&self, status: StatusCode, error: Option<(&str, &str)>, scope: &str) -> Response {
        let mut value = format!("Bearer resource_metadata=\"{}\"", self.metadata_url());
        value.push_str(&format!(", scope=\"{scope}\""));
        if let Some((code, description)) = error {
            value = format!(
                "Bearer error=\"{code}\", error_description=\"{}\", {}",
                header_safe(description),
                value.trim_start_matches("Bearer ")
            );
        }
        let text = match error {
            Some((_, d)) => format!("{}: {d}\n", status.canonical_reason().unwrap_or("Error")),
            None => format!(
                "Unauthorized: this server needs an OAuth access token (Authorization: Bearer …); \
                 see {}\n",
                self.metadata_url()
            ),
        };
        let mut resp = (status, text).into_response();
        if let Ok(v) = HeaderValue::from_str(&value) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        resp.headers_mut().insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("WWW-Authenticate"),
        );
        resp
    }
}

/// `text` as a quoted-string body: printable ASCII, no `"` or `\\`, at most 200 characters (an
/// untrusted token's claims may end up in it; the header must stay valid).
fn header_safe(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            ' '..='~' => c,
            _ => '?',
        })
        .take(200)
        .collect()
}

/// Whether a path is one this layer protects.
fn protected(path: &str) -> bool {
    path == crate::transport::http::MCP_PATH
        || path == crate::transport::sse::SSE_PATH
        || path == crate::transport::sse::MESSAGE_PATH
}

/// `GET /.well-known/oauth-protected-resource[/mcp]`: the metadata, readable from any origin.
pub async fn metadata(State(oauth): State<Arc<OAuth>>) -> Response {
    let mut resp = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        oauth.metadata().to_string(),
    )
        .into_response();
    resp.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    resp
}

/// Digest of (issuer, subject) for [`SUBJECT_HEADER`].
fn subject_digest(g: &validate::Grant) -> String {
    let mut h = Sha256::new();
    h.update((g.issuer.len() as u64).to_be_bytes());
    h.update(g.issuer.as_bytes());
    h.update(g.subject.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The layer in front of `/mcp`, `/sse` and `/message` (see the module docs).
pub async fn layer(State(oauth): State<Arc<OAuth>>, mut req: Request, next: Next) -> Response {
    req.headers_mut().remove(SUBJECT_HEADER);
    // CORS preflights carry no credentials; they reach no tool.
    if !protected(req.uri().path()) || req.method() == Method::OPTIONS {
        return next.run(req).await;
    }
    if let Some(q) = req.uri().query()
        && url::form_urlencoded::parse(q.as_bytes())
            .any(|(k, _)| TOKEN_QUERY_PARAMS.contains(&k.as_ref()))
    {
        return oauth.challenge(
            StatusCode::BAD_REQUEST,
            Some((
                "invalid_request",
                "access tokens are not accepted in the query string; send Authorization: Bearer <token>",
            )),
            scopes::READ,
        );
    }
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().ok().and_then(bearer));
    let token = match presented {
        None => return oauth.challenge(StatusCode::UNAUTHORIZED, None, scopes::READ),
        Some(None) => {
            return oauth.challenge(
                StatusCode::UNAUTHORIZED,
                Some((
                    "invalid_request",
                    "the Authorization header must be Bearer <token>",
                )),
                scopes::READ,
            );
        }
        Some(Some(t)) => t.to_owned(),
    };
    if oauth.passthrough && token.starts_with("dv_") {
        // Today's direct-key meaning: the caller's own Duvo key, all its tools.
        return next.run(req).await;
    }
    let grant = match validate::validate(
        &token,
        &oauth.resource,
        &oauth.issuers,
        oauth.introspection_client.as_ref(),
        &oauth.introspected,
    )
    .await
    {
        Ok(g) => g,
        Err(why) => {
            tracing::info!(path = req.uri().path(), reason = %why, "rejected: invalid access token");
            return oauth.challenge(
                StatusCode::UNAUTHORIZED,
                Some(("invalid_token", &why)),
                scopes::READ,
            );
        }
    };
    drop(token);
    // The token goes no further: not upstream, not into the handler, not into a log.
    req.headers_mut().remove(header::AUTHORIZATION);
    if let Ok(v) = HeaderValue::from_str(&subject_digest(&grant)) {
        req.headers_mut().insert(SUBJECT_HEADER, v);
    }
    if grant.access == Access::None {
        return oauth.challenge(
            StatusCode::FORBIDDEN,
            Some((
                "insufficient_scope",
                "the token carries neither duvo:read nor duvo:write",
            )),
            scopes::READ,
        );
    }
    if grant.access == Access::Read && req.method() == Method::POST {
        let (parts, body) = req.into_parts();
        let bytes = match axum::body::to_bytes(body, oauth.max_body).await {
            Ok(b) => b,
            Err(_) => {
                return (StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large\n").into_response();
            }
        };
        if let Some(judge) = oauth.judge.get()
            && let Some(tool) = write_call(&bytes, judge)
        {
            tracing::info!(tool = %tool, "refused: tool needs duvo:write");
            return oauth.challenge(
                StatusCode::FORBIDDEN,
                Some((
                    "insufficient_scope",
                    &format!("{tool} changes data and needs the duvo:write scope"),
                )),
                scopes::WRITE_CHALLENGE,
            );
        }
        req = Request::from_parts(parts, Body::from(bytes));
    }
    req.extensions_mut().insert(grant.access);
    next.run(req).await
}

/// The token of `Bearer <token>`.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The first `tools/call` in a body (one message or a batch) that needs write, by tool name.
fn write_call(body: &[u8], judge: &WriteJudge) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let messages = match v {
        serde_json::Value::Array(items) => items,
        one => vec![one],
    };
    messages.iter().find_map(|m| {
        if m.get("method").and_then(|x| x.as_str()) != Some("tools/call") {
            return None;
        }
        let params = m.get("params")?;
        let name = params.get("name")?.as_str()?;
        let args = params
            .get("arguments")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        // `callTool` is named by the tool it would run.
        let shown = match args.get("name").and_then(|n| n.as_str()) {
            Some(inner) if name == crate::server::meta::CALL_TOOL => inner,
            _ => name,
        };
        judge(name, &args).then(|| shown.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_url_is_path_inserted() {
        let o = OAuth::new(
            &["http://127.0.0.1:9/".to_owned()],
            Some("https://mcp.example.com/duvo/mcp"),
            None,
            false,
            1024,
        )
        .unwrap();
        assert_eq!(
            o.metadata_url(),
            "https://mcp.example.com/.well-known/oauth-protected-resource/duvo/mcp"
        );
        assert_eq!(
            o.metadata_path(),
            "/.well-known/oauth-protected-resource/duvo/mcp"
        );
        assert_eq!(
            o.metadata()["authorization_servers"][0],
            "http://127.0.0.1:9/"
        );
        assert!(OAuth::new(&["https://a".to_owned()], None, None, false, 1).is_err());
        assert!(
            OAuth::new(
                &["https://a".to_owned()],
                Some("http://mcp.example.com/mcp"),
                None,
                false,
                1
            )
            .is_err()
        );
        assert!(
            OAuth::new(
                &["https://a".to_owned()],
                Some("https://mcp.example.com/"),
                None,
                false,
                1
            )
            .is_err()
        );
    }

    #[test]
    fn descriptions_stay_valid_header_text() {
        let d = header_safe("issuer \"x\\y\u{7}é\" is not trusted");
        assert_eq!(d, "issuer 'x'y??' is not trusted");
        assert!(HeaderValue::from_str(&d).is_ok());
    }

    #[test]
    fn write_calls_are_found_in_batches() {
        let judge: WriteJudge = Arc::new(|name, _| name == "startRun");
        let body = br#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"startRun","arguments":{}}}]"#;
        assert_eq!(write_call(body, &judge).as_deref(), Some("startRun"));
        let body =
            br#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"listAgents"}}"#;
        assert!(write_call(body, &judge).is_none());
    }
}
