//! Connections (connected integration instances): CRUD of user-provided MCP connections, header
//! credentials, and the seeded sample connections. OAuth starts, the Composio flow and the OAuth
//! callback live in `connections/oauth.rs`; probing MCP servers in `connections/probe.rs`.
//!
//! - A caller sees its own connections plus team-shared ones of its team; only the owner may
//!   change or delete one (403 otherwise); anything else is 404.
//! - Header credentials: `plaintext` and `secret` groups. Secret values never leave the emulator:
//!   `getConnectionCredentials` shows plaintext values and blanks secret ones (`""`).
//! - `updateConnection` `headers`: a group that is present replaces that group (`plaintext`,
//!   `secret`), an absent group is kept, `headers: null` clears both; a secret sent as `""` keeps
//!   its stored value (400 when there is none to keep).

mod oauth;
mod probe;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::auth::TeamCaller;
use super::errors::{ApiError, ApiResult};
use super::model::{Connection, id_opt, ts, ts_opt};
use super::seed::{DEMO_USER_ID, sid};
use super::state::{AppState, Caller, Store};
use super::validate::{self as v, Query};
use super::{created, ok};

/// Accepted `auth_method` values.
const AUTH_METHODS: &[&str] = &["url", "apikey", "headers", "oauth"];

impl Connection {
    /// A connection with everything optional unset.
    pub fn new(
        team_id: Uuid,
        user_id: Uuid,
        name: &str,
        kind: &str,
        provider: &str,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: Uuid::new_v4(),
            team_id,
            user_id: Some(user_id),
            name: name.to_string(),
            kind: kind.to_string(),
            provider: provider.to_string(),
            server_url: None,
            transport_type: None,
            auth_method: None,
            custom_integration_id: None,
            icon_url: None,
            oauth_provider: None,
            oauth_provider_key: None,
            oauth_scopes: None,
            plaintext_headers: BTreeMap::new(),
            secret_headers: BTreeMap::new(),
            has_oauth_tokens: false,
            integration_id: None,
            shared: false,
            created_by: Some(user_id),
            broken_at: None,
            broken_reason: None,
            created_at: at,
            updated_at: at,
        }
    }

    /// The Connection object of the spec (no header values, ever).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("name".into(), json!(self.name));
        m.insert("type".into(), json!(self.kind));
        m.insert("provider".into(), json!(self.provider));
        m.insert("user_id".into(), id_opt(&self.user_id));
        m.insert("team_id".into(), json!(self.team_id));
        if let Some(u) = &self.server_url {
            m.insert("server_url".into(), json!(u));
        }
        if let Some(t) = self.transport_type {
            m.insert("transport_type".into(), json!(t));
        }
        m.insert("auth_method".into(), json!(self.auth_method));
        m.insert(
            "custom_integration_id".into(),
            id_opt(&self.custom_integration_id),
        );
        m.insert("icon_url".into(), json!(self.icon_url));
        m.insert("oauth_provider".into(), json!(self.oauth_provider));
        m.insert("oauth_provider_key".into(), json!(self.oauth_provider_key));
        m.insert("oauth_scopes".into(), json!(self.oauth_scopes));
        m.insert(
            "has_headers".into(),
            json!(!self.plaintext_headers.is_empty() || !self.secret_headers.is_empty()),
        );
        m.insert("has_oauth_tokens".into(), json!(self.has_oauth_tokens));
        m.insert("integration_id".into(), id_opt(&self.integration_id));
        m.insert("shared".into(), json!(self.shared));
        m.insert("created_by".into(), id_opt(&self.created_by));
        m.insert("broken_at".into(), ts_opt(&self.broken_at));
        m.insert("broken_reason".into(), json!(self.broken_reason));
        m.insert("created_at".into(), json!(ts(&self.created_at)));
        m.insert("updated_at".into(), json!(ts(&self.updated_at)));
        Value::Object(m)
    }

    /// Whether `caller` can see it: its own, or shared within its team.
    pub fn visible_to(&self, caller: &Caller) -> bool {
        self.team_id == caller.team_id && (self.user_id == Some(caller.user_id) || self.shared)
    }
}

/// The routes of this module (OAuth, Composio and probing included).
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/v2/teams/{teamId}/connections",
            get(list_connections).post(create_connection),
        )
        .route(
            "/v2/connections/{connection_id}",
            get(get_connection)
                .patch(update_connection)
                .delete(delete_connection),
        )
        .route(
            "/v2/connections/{connection_id}/credentials",
            get(get_credentials),
        )
        .merge(oauth::routes())
        .merge(probe::routes())
}

fn not_found(raw: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("Connection {raw} not found; listConnections shows the valid ids"),
    )
}

/// Index of a connection the caller can see, or 404 (a non-UUID id is 400).
fn visible(store: &Store, caller: &Caller, raw: &str) -> ApiResult<usize> {
    let id = v::uuid("connection_id", raw)?;
    store
        .connections
        .iter()
        .position(|c| c.id == id && c.visible_to(caller))
        .ok_or_else(|| not_found(raw))
}

/// Index of a connection the caller owns: 403 for a team-shared one of someone else.
fn owned(store: &Store, caller: &Caller, raw: &str) -> ApiResult<usize> {
    let idx = visible(store, caller, raw)?;
    if store.connections[idx].user_id != Some(caller.user_id) {
        return Err(ApiError::forbidden(
            "Only the owner of a shared connection can change or delete it",
        ));
    }
    Ok(idx)
}

/// Transport of an MCP server URL: `sse` when its path ends in `/sse`, else `http`.
fn transport_for(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    if path.trim_end_matches('/').ends_with("/sse") {
        "sse"
    } else {
        "http"
    }
}

/// A `{name: value}` object of strings with valid HTTP header names.
fn header_map(field: &str, v: &Value) -> ApiResult<BTreeMap<String, String>> {
    let Value::Object(m) = v else {
        return Err(ApiError::field(
            field,
            "must be an object of header name → value",
        ));
    };
    let mut out = BTreeMap::new();
    for (k, val) in m {
        let valid = !k.is_empty()
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !valid {
            return Err(ApiError::field(
                &format!("{field}.{k}"),
                "is not a valid HTTP header name",
            ));
        }
        let Value::String(s) = val else {
            return Err(ApiError::field(&format!("{field}.{k}"), "must be a string"));
        };
        if s.contains(['\r', '\n']) {
            return Err(ApiError::field(
                &format!("{field}.{k}"),
                "must not contain line breaks",
            ));
        }
        out.insert(k.clone(), s.clone());
    }
    Ok(out)
}

/// The two header groups of a `headers` object: (plaintext, secret), each `None` when absent.
type HeaderGroups = (
    Option<BTreeMap<String, String>>,
    Option<BTreeMap<String, String>>,
);

fn header_groups(v: &Value) -> ApiResult<HeaderGroups> {
    let Value::Object(m) = v else {
        return Err(ApiError::field(
            "headers",
            "must be an object {plaintext?, secret?}",
        ));
    };
    if let Some(k) = m
        .keys()
        .find(|k| !matches!(k.as_str(), "plaintext" | "secret"))
    {
        return Err(ApiError::field(
            &format!("headers.{k}"),
            "is not accepted; use headers.plaintext or headers.secret",
        ));
    }
    let plain = m
        .get("plaintext")
        .map(|p| header_map("headers.plaintext", p))
        .transpose()?;
    let secret = m
        .get("secret")
        .map(|p| header_map("headers.secret", p))
        .transpose()?;
    Ok((plain, secret))
}

fn enum_field(
    map: &Map<String, Value>,
    field: &str,
    allowed: &[&str],
    required: bool,
) -> ApiResult<Option<String>> {
    let val = if required {
        Some(v::req_str(map, field, 1)?)
    } else {
        v::opt_str(map, field, 1)?
    };
    match val {
        Some(s) if !allowed.contains(&s.as_str()) => Err(ApiError::field(
            field,
            format!(
                "invalid value '{s}' (expected one of: {})",
                allowed.join(", ")
            ),
        )),
        other => Ok(other),
    }
}

/// `GET /v2/teams/{teamId}/connections` (listConnections): newest first, `type` filter, paging.
async fn list_connections(
    State(st): State<Arc<AppState>>,
    TeamCaller(caller): TeamCaller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(raw.as_deref());
    let page = q.page(100, 100)?;
    let kind = q.get("type");
    let store = st.store();
    let mut all: Vec<&Connection> = store
        .connections
        .iter()
        .filter(|c| c.visible_to(&caller) && kind.is_none_or(|k| c.kind == k))
        .collect();
    all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
    Ok(ok(v::page_envelope(
        "integrations",
        all,
        page,
        Connection::to_json,
    )))
}

/// `GET /v2/connections/{connection_id}` (getConnection).
async fn get_connection(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let store = st.store();
    let idx = visible(&store, &caller, &id)?;
    Ok(ok(store.connections[idx].to_json()))
}

/// `POST /v2/teams/{teamId}/connections` (createConnection): a user-provided MCP server.
async fn create_connection(
    State(st): State<Arc<AppState>>,
    TeamCaller(caller): TeamCaller,
    body: Bytes,
) -> ApiResult<Response> {
    let map = v::json_object(&body)?;
    let name = v::req_str(&map, "name", 1)?;
    match v::req_str(&map, "provider", 1)?.as_str() {
        "user" => {}
        other => {
            return Err(ApiError::field(
                "provider",
                format!(
                    "invalid value '{other}' (only \"user\"; OAuth integrations start with startNativeOAuth or authorizeMcpOAuth)"
                ),
            ));
        }
    }
    let auth_method = enum_field(&map, "auth_method", AUTH_METHODS, true)?;
    let server_url = v::opt_str(&map, "server_url", 1)?;
    if let Some(u) = &server_url {
        v::uri("server_url", u)?;
    }
    let kind = v::opt_str(&map, "type", 1)?.unwrap_or_else(|| "custom_mcp".to_string());
    let custom_integration_id = v::opt_uuid(&map, "custom_integration_id")?;
    let (plain, secret) = match map.get("headers") {
        None | Some(Value::Null) => (None, None),
        Some(h) => header_groups(h)?,
    };
    let (plain, secret) = (plain.unwrap_or_default(), secret.unwrap_or_default());
    if server_url.is_none() && custom_integration_id.is_none() {
        return Err(ApiError::field(
            "server_url",
            "is required for a user-provided MCP connection (the server's URL)",
        ));
    }
    if auth_method.as_deref() == Some("headers") && plain.is_empty() && secret.is_empty() {
        return Err(ApiError::field(
            "headers",
            "auth_method 'headers' needs at least one header in headers.plaintext or headers.secret",
        ));
    }
    if let Some((k, _)) = secret.iter().find(|(_, v)| v.is_empty()) {
        return Err(ApiError::field(
            &format!("headers.secret.{k}"),
            "must not be empty",
        ));
    }
    let now = Utc::now();
    let mut c = Connection::new(caller.team_id, caller.user_id, &name, &kind, "user", now);
    c.transport_type = server_url.as_deref().map(transport_for);
    c.server_url = server_url;
    c.auth_method = auth_method;
    c.custom_integration_id = custom_integration_id;
    c.integration_id = Some(sid(&format!("int:{kind}")));
    c.plaintext_headers = plain;
    c.secret_headers = secret;
    let out = c.to_json();
    st.store().connections.push(c);
    Ok(created(out))
}

/// `PATCH /v2/connections/{connection_id}` (updateConnection).
async fn update_connection(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let map = v::json_object(&body)?;
    let name = v::opt_str(&map, "name", 1)?;
    let server_url = v::opt_str(&map, "server_url", 1)?;
    if let Some(u) = &server_url {
        v::uri("server_url", u)?;
    }
    let auth_method = enum_field(&map, "auth_method", AUTH_METHODS, false)?;
    let shared = v::opt_bool(&map, "shared")?;
    let headers = match map.get("headers") {
        None => None,
        Some(Value::Null) => Some((Some(BTreeMap::new()), Some(BTreeMap::new()))),
        Some(h) => Some(header_groups(h)?),
    };
    let mut store = st.store();
    let idx = owned(&store, &caller, &id)?;
    let c = &mut store.connections[idx];
    let mut secret_update = None;
    if let Some((_, Some(new_secret))) = &headers {
        let mut merged = BTreeMap::new();
        for (k, val) in new_secret {
            if val.is_empty() {
                let kept = c.secret_headers.get(k).ok_or_else(|| {
                    ApiError::field(
                        &format!("headers.secret.{k}"),
                        "is empty but no stored value exists to keep; send the value",
                    )
                })?;
                merged.insert(k.clone(), kept.clone());
            } else {
                merged.insert(k.clone(), val.clone());
            }
        }
        secret_update = Some(merged);
    }
    let changed = name.is_some()
        || server_url.is_some()
        || auth_method.is_some()
        || shared.is_some()
        || headers.is_some();
    if let Some(n) = name {
        c.name = n;
    }
    if let Some(u) = server_url {
        c.transport_type = Some(transport_for(&u));
        c.server_url = Some(u);
    }
    if let Some(a) = auth_method {
        c.auth_method = Some(a);
    }
    if let Some(s) = shared {
        c.shared = s;
    }
    if let Some((plain, _)) = headers
        && let Some(p) = plain
    {
        c.plaintext_headers = p;
    }
    if let Some(s) = secret_update {
        c.secret_headers = s;
    }
    if changed {
        c.updated_at = Utc::now();
    }
    Ok(ok(c.to_json()))
}

/// `DELETE /v2/connections/{connection_id}` (deleteConnection).
async fn delete_connection(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let mut store = st.store();
    let idx = owned(&store, &caller, &id)?;
    let c = store.connections.remove(idx);
    Ok(ok(json!({
        "success": true,
        "message": format!("Connection {} ({}) deleted", c.name, c.id),
    })))
}

/// `GET /v2/connections/{connection_id}/credentials` (getConnectionCredentials): header names;
/// plaintext values as stored, secret values blanked.
async fn get_credentials(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = Uuid::parse_str(id.trim()).map_err(|_| not_found(&id))?;
    let store = st.store();
    let c = store
        .connections
        .iter()
        .find(|c| c.id == id && c.visible_to(&caller))
        .ok_or_else(|| not_found(&id.to_string()))?;
    let mut headers = Map::new();
    for (k, val) in &c.plaintext_headers {
        headers.insert(k.clone(), json!(val));
    }
    for k in c.secret_headers.keys() {
        headers.insert(k.clone(), json!(""));
    }
    Ok(ok(json!({ "id": c.id, "headers": headers })))
}

/// Seed two connections for the default team: a user-provided NetSuite MCP server with header
/// credentials (shared) and a native Gmail OAuth connection.
pub(super) fn seed(store: &mut Store, team: Uuid, now: DateTime<Utc>) {
    let mut netsuite = Connection::new(
        team,
        DEMO_USER_ID,
        "NetSuite",
        "custom_mcp",
        "user",
        now - Duration::days(41),
    );
    netsuite.id = sid("connection:netsuite");
    netsuite.server_url = Some("https://mcp.netsuite.acme-ops.example/mcp".into());
    netsuite.transport_type = Some("http");
    netsuite.auth_method = Some("headers".into());
    netsuite.integration_id = Some(sid("int:custom_mcp"));
    netsuite.shared = true;
    netsuite.plaintext_headers =
        BTreeMap::from([("X-NetSuite-Account".into(), "TSTDRV2231457".into())]);
    netsuite.secret_headers = BTreeMap::from([(
        "Authorization".into(),
        "Bearer ns_live_7f2c9a41d8e3b6f0".into(),
    )]);
    store.connections.push(netsuite);

    let mut gmail = Connection::new(
        team,
        DEMO_USER_ID,
        "Gmail (dana.whitfield@acme-ops.example)",
        "gmail",
        "native",
        now - Duration::days(33),
    );
    gmail.id = sid("connection:gmail");
    gmail.auth_method = Some("oauth".into());
    gmail.oauth_provider = Some("google".into());
    gmail.oauth_provider_key = Some("gmail".into());
    gmail.oauth_scopes = Some(vec![
        "https://www.googleapis.com/auth/gmail.modify".into(),
        "https://www.googleapis.com/auth/userinfo.email".into(),
    ]);
    gmail.has_oauth_tokens = true;
    gmail.integration_id = Some(sid("int:gmail"));
    store.connections.push(gmail);
}
