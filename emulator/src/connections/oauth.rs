//! OAuth-based connections: native providers, remote MCP servers (Dynamic Client Registration),
//! Composio (start/finalize, not in the spec) and the emulator's OAuth callback.
//!
//! - `startNativeOAuth` (providers: google, gmail, googlesheets, googlecalendar, googledrive,
//!   googledocs, outlook, onedrive, sharepoint, slack; others → 404) and `authorizeMcpOAuth`
//!   answer `{authorization_url}` on a fake provider host (`*.example`) whose `redirect_uri` is
//!   the emulator's own `GET /_emulator/oauth/callback` and whose `state` names the pending flow
//!   (valid 10 minutes). Calling that callback with `?state=…&code=…` plays the provider's
//!   redirect: the connection is created (or, with `reconnect_instance_id`, repaired in place),
//!   then 303 to `return_url` when one was given, else 200 `{connection}`; `?error=access_denied`
//!   cancels the flow (400).
//! - Composio: `start` → `{redirect_url, status, connected_account_id: "ca_…"}`. OAuth schemes
//!   (no `auth_scheme`, `OAUTH2`, `OAUTH1`) are `INITIATED` with a redirect URL; other schemes
//!   need `auth_fields` and complete at once (`ACTIVE`, `redirect_url: null`), or `FAILED` when a
//!   field is empty; `NO_AUTH` is `ACTIVE`. `finalize` accepts an `INITIATED` account as if the
//!   user had completed the redirect, or an `ACTIVE` one; it creates a connection (`provider:
//!   "composio"`, `type`: the app slug) and answers `{integration_id: <its id>, mcp_url}`.
//!   An unknown account (or another team's) is 404, a `FAILED` one 400, a finalized one 409.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::super::auth::TeamCaller;
use super::super::errors::{ApiError, ApiResult};
use super::super::model::{ComposioAccount, FlowKind, PendingOAuth};
use super::super::ok;
use super::super::sandboxes::client_base;
use super::super::seed::sid;
use super::super::state::{AppState, Caller, Store};
use super::super::validate::{self as v, Query};
use super::probe::supports_dcr;
use super::{Connection, transport_for};

/// How long an OAuth `state` stays valid.
const STATE_TTL_MINUTES: i64 = 10;

/// A native OAuth provider: slug, OAuth provider, display name, scopes.
struct Native {
    slug: &'static str,
    oauth_provider: &'static str,
    title: &'static str,
    scopes: &'static [&'static str],
}

const NATIVE: &[Native] = &[
    Native {
        slug: "google",
        oauth_provider: "google",
        title: "Google",
        scopes: &["openid", "email", "profile"],
    },
    Native {
        slug: "gmail",
        oauth_provider: "google",
        title: "Gmail",
        scopes: &[
            "https://www.googleapis.com/auth/gmail.modify",
            "https://www.googleapis.com/auth/userinfo.email",
        ],
    },
    Native {
        slug: "googlesheets",
        oauth_provider: "google",
        title: "Google Sheets",
        scopes: &[
            "https://www.googleapis.com/auth/spreadsheets",
            "https://www.googleapis.com/auth/drive.file",
        ],
    },
    Native {
        slug: "googlecalendar",
        oauth_provider: "google",
        title: "Google Calendar",
        scopes: &["https://www.googleapis.com/auth/calendar"],
    },
    Native {
        slug: "googledrive",
        oauth_provider: "google",
        title: "Google Drive",
        scopes: &["https://www.googleapis.com/auth/drive"],
    },
    Native {
        slug: "googledocs",
        oauth_provider: "google",
        title: "Google Docs",
        scopes: &["https://www.googleapis.com/auth/documents"],
    },
    Native {
        slug: "outlook",
        oauth_provider: "microsoft",
        title: "Outlook",
        scopes: &["Mail.ReadWrite", "Mail.Send", "offline_access"],
    },
    Native {
        slug: "onedrive",
        oauth_provider: "microsoft",
        title: "OneDrive",
        scopes: &["Files.ReadWrite.All", "offline_access"],
    },
    Native {
        slug: "sharepoint",
        oauth_provider: "microsoft",
        title: "SharePoint",
        scopes: &["Sites.ReadWrite.All", "offline_access"],
    },
    Native {
        slug: "slack",
        oauth_provider: "slack",
        title: "Slack",
        scopes: &["channels:read", "chat:write", "users:read", "search:read"],
    },
];

/// The routes of this module.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/v2/teams/{teamId}/connections/oauth/native/{provider}/start",
            post(start_native),
        )
        .route(
            "/v2/teams/{teamId}/connections/oauth/mcp/start",
            post(start_mcp),
        )
        .route(
            "/v2/teams/{teamId}/connections/composio/start",
            post(composio_start),
        )
        .route(
            "/v2/teams/{teamId}/connections/composio/finalize",
            post(composio_finalize),
        )
        .route("/_emulator/oauth/callback", get(callback))
}

fn random_token() -> String {
    Uuid::new_v4().simple().to_string()
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Validate `reconnect_instance_id`: a connection the caller owns.
fn reconnect_target(
    store: &Store,
    caller: &Caller,
    map: &serde_json::Map<String, Value>,
    missing: StatusCode,
) -> ApiResult<Option<Uuid>> {
    let Some(id) = v::opt_uuid(map, "reconnect_instance_id")? else {
        return Ok(None);
    };
    let found = store
        .connections
        .iter()
        .any(|c| c.id == id && c.team_id == caller.team_id && c.user_id == Some(caller.user_id));
    if !found {
        return Err(ApiError::new(
            missing,
            ApiError::code_for_status(missing),
            format!("reconnect_instance_id: connection {id} not found"),
        ));
    }
    Ok(Some(id))
}

fn register(store: &mut Store, flow: PendingOAuth) {
    let now = Utc::now();
    let pending = &mut store.connection_flows.pending;
    pending.retain(|p| p.expires_at > now);
    pending.push(flow);
}

/// `POST /v2/teams/{teamId}/connections/oauth/native/{provider}/start` (startNativeOAuth).
async fn start_native(
    State(st): State<Arc<AppState>>,
    TeamCaller(caller): TeamCaller,
    Path((_, provider)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let Some(native) = NATIVE.iter().find(|n| n.slug == provider) else {
        let known: Vec<&str> = NATIVE.iter().map(|n| n.slug).collect();
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "Native OAuth provider '{provider}' is not configured (known: {})",
                known.join(", ")
            ),
        ));
    };
    let map = v::json_object(&body)?;
    let return_url = v::opt_str(&map, "return_url", 1)?;
    let base = client_base(&headers, &uri)?;
    let state = random_token();
    {
        let mut store = st.store();
        let reconnect = reconnect_target(&store, &caller, &map, StatusCode::NOT_FOUND)?;
        register(
            &mut store,
            PendingOAuth {
                state: state.clone(),
                team_id: caller.team_id,
                user_id: caller.user_id,
                kind: FlowKind::Native(native.slug),
                return_url,
                reconnect,
                expires_at: Utc::now() + Duration::minutes(STATE_TTL_MINUTES),
            },
        );
    }
    let url = format!(
        "https://oauth.{}.example/authorize?response_type=code&client_id=duvo-{}&redirect_uri={}&scope={}&state={state}&access_type=offline&prompt=consent",
        native.oauth_provider,
        native.slug,
        enc(&format!("{base}/_emulator/oauth/callback")),
        enc(&native.scopes.join(" ")),
    );
    Ok(ok(json!({ "authorization_url": url })))
}

/// `POST /v2/teams/{teamId}/connections/oauth/mcp/start` (authorizeMcpOAuth).
async fn start_mcp(
    State(st): State<Arc<AppState>>,
    TeamCaller(caller): TeamCaller,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let map = v::json_object(&body)?;
    let server_url = v::req_str(&map, "mcp_server_url", 1)?;
    v::uri("mcp_server_url", &server_url)?;
    let name = v::req_str(&map, "name", 1)?;
    let custom_integration_id = v::opt_uuid(&map, "custom_integration_id")?;
    let return_url = v::opt_str(&map, "return_url", 1)?;
    let integration_type = v::opt_str(&map, "integration_type", 1)?;
    let Some(endpoint) = supports_dcr(&server_url).map(|(e, _)| e) else {
        return Err(ApiError::field(
            "mcp_server_url",
            format!(
                "{server_url} does not support OAuth Dynamic Client Registration; create the connection with headers instead"
            ),
        ));
    };
    let base = client_base(&headers, &uri)?;
    let state = random_token();
    {
        let mut store = st.store();
        let reconnect = reconnect_target(&store, &caller, &map, StatusCode::BAD_REQUEST)?;
        register(
            &mut store,
            PendingOAuth {
                state: state.clone(),
                team_id: caller.team_id,
                user_id: caller.user_id,
                kind: FlowKind::Mcp {
                    server_url,
                    name,
                    custom_integration_id,
                    integration_type,
                },
                return_url,
                reconnect,
                expires_at: Utc::now() + Duration::minutes(STATE_TTL_MINUTES),
            },
        );
    }
    let client_id = format!("dcr_{}", &random_token()[..16]);
    let url = format!(
        "{endpoint}?response_type=code&client_id={client_id}&redirect_uri={}&code_challenge={}&code_challenge_method=S256&scope=mcp&state={state}",
        enc(&format!("{base}/_emulator/oauth/callback")),
        random_token(),
    );
    Ok(ok(json!({ "authorization_url": url })))
}

/// Create (or repair) the connection a completed flow stands for.
fn complete(store: &mut Store, flow: PendingOAuth) -> Value {
    let now = Utc::now();
    if let Some(id) = flow.reconnect
        && let Some(c) = store.connections.iter_mut().find(|c| c.id == id)
    {
        c.broken_at = None;
        c.broken_reason = None;
        c.has_oauth_tokens = true;
        c.updated_at = now;
        return c.to_json();
    }
    let c = match flow.kind {
        FlowKind::Native(slug) => {
            let native = NATIVE.iter().find(|n| n.slug == slug);
            let title = native.map_or(slug, |n| n.title);
            let user = store
                .user(flow.user_id)
                .map(|u| u.email.clone())
                .unwrap_or_default();
            let mut c = Connection::new(
                flow.team_id,
                flow.user_id,
                &format!("{title} ({user})"),
                slug,
                "native",
                now,
            );
            c.auth_method = Some("oauth".into());
            c.oauth_provider = native.map(|n| n.oauth_provider.to_string());
            c.oauth_provider_key = Some(slug.to_string());
            c.oauth_scopes = native.map(|n| n.scopes.iter().map(|s| (*s).to_string()).collect());
            c.has_oauth_tokens = true;
            c.integration_id = Some(sid(&format!("int:{slug}")));
            c
        }
        FlowKind::Mcp {
            server_url,
            name,
            custom_integration_id,
            integration_type,
        } => {
            let kind = integration_type.unwrap_or_else(|| "custom_mcp".to_string());
            let mut c = Connection::new(flow.team_id, flow.user_id, &name, &kind, "user", now);
            c.transport_type = Some(transport_for(&server_url));
            c.server_url = Some(server_url);
            c.auth_method = Some("oauth".into());
            c.custom_integration_id = custom_integration_id;
            c.has_oauth_tokens = true;
            c.integration_id = Some(sid(&format!("int:{kind}")));
            c
        }
    };
    let out = c.to_json();
    store.connections.push(c);
    out
}

/// `GET /_emulator/oauth/callback?state=…&code=…`: the provider's redirect back to Duvo.
async fn callback(State(st): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let q = Query::parse(raw.as_deref());
    let state = q
        .get("state")
        .ok_or_else(|| ApiError::field("state", "is required"))?;
    let now = Utc::now();
    let mut store = st.store();
    let idx = store
        .connection_flows
        .pending
        .iter()
        .position(|p| p.state == state && p.expires_at > now)
        .ok_or_else(|| ApiError::field("state", "unknown, expired or already used"))?;
    let flow = store.connection_flows.pending.remove(idx);
    if let Some(err) = q.get("error") {
        return Err(ApiError::bad_request(format!(
            "The OAuth flow was cancelled by the provider ({err})"
        )));
    }
    if q.get("code").is_none() {
        return Err(ApiError::field("code", "is required"));
    }
    let return_url = flow.return_url.clone();
    let connection = complete(&mut store, flow);
    match return_url {
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
            Ok((StatusCode::SEE_OTHER, [(header::LOCATION, url)]).into_response())
        }
        _ => Ok(ok(json!({ "connection": connection }))),
    }
}

/// `POST /v2/teams/{teamId}/connections/composio/start` (not in the spec).
async fn composio_start(
    State(st): State<Arc<AppState>>,
    TeamCaller(caller): TeamCaller,
    body: Bytes,
) -> ApiResult<Response> {
    let map = v::json_object(&body)?;
    v::req_str(&map, "auth_config_id", 1)?;
    let callback_url = v::req_str(&map, "callback_url", 1)?;
    v::uri("callback_url", &callback_url)?;
    let scheme = v::opt_str(&map, "auth_scheme", 1)?.map(|s| s.to_ascii_uppercase());
    if let Some(s) = &scheme
        && !s
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(ApiError::field(
            "auth_scheme",
            "must be a Composio auth scheme such as OAUTH2, API_KEY or BEARER_TOKEN",
        ));
    }
    let fields = match map.get("auth_fields") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m.clone()),
        Some(other) => {
            return Err(ApiError::field(
                "auth_fields",
                format!("must be an object, got {}", v::type_name(other)),
            ));
        }
    };
    let scheme = match (scheme, &fields) {
        (Some(s), _) => s,
        (None, Some(_)) => {
            return Err(ApiError::field(
                "auth_scheme",
                "is required when auth_fields are sent (e.g. API_KEY)",
            ));
        }
        (None, None) => "OAUTH2".to_string(),
    };
    let id = format!("ca_{}", &random_token()[..20]);
    let (status, redirect) = if scheme.starts_with("OAUTH") {
        let link = format!(
            "https://connect.composio.example/link/lk_{}?callback_url={}",
            &random_token()[..20],
            enc(&callback_url)
        );
        ("INITIATED", Some(link))
    } else if scheme == "NO_AUTH" {
        ("ACTIVE", None)
    } else {
        let Some(f) = fields.as_ref().filter(|f| !f.is_empty()) else {
            return Err(ApiError::field(
                "auth_fields",
                format!("are required for auth_scheme {scheme} (e.g. {{\"api_key\": \"…\"}})"),
            ));
        };
        let empty = f
            .values()
            .any(|v| v.as_str().is_some_and(str::is_empty) || v.is_null());
        (if empty { "FAILED" } else { "ACTIVE" }, None)
    };
    st.store().connection_flows.composio.push(ComposioAccount {
        id: id.clone(),
        team_id: caller.team_id,
        user_id: caller.user_id,
        auth_scheme: scheme,
        status,
        finalized: None,
    });
    Ok(ok(json!({
        "redirect_url": redirect,
        "status": status,
        "connected_account_id": id,
    })))
}

/// `POST /v2/teams/{teamId}/connections/composio/finalize` (not in the spec).
async fn composio_finalize(
    State(st): State<Arc<AppState>>,
    TeamCaller(caller): TeamCaller,
    body: Bytes,
) -> ApiResult<Response> {
    let map = v::json_object(&body)?;
    let app = v::req_str(&map, "app", 1)?;
    if !app
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(ApiError::field(
            "app",
            "must be a Composio app slug (lowercase letters, digits, '-' or '_'), e.g. slack",
        ));
    }
    let integration_name = v::req_str(&map, "integration_name", 1)?;
    let account_id = v::req_str(&map, "connected_account_id", 1)?;
    let mut store = st.store();
    let Some(acc) = store
        .connection_flows
        .composio
        .iter_mut()
        .find(|a| a.id == account_id && a.team_id == caller.team_id)
    else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "Composio connected account {account_id} not found; get one from POST /v2/teams/{{teamId}}/connections/composio/start"
            ),
        ));
    };
    if let Some(existing) = acc.finalized {
        return Err(ApiError::conflict(
            "conflict",
            format!(
                "connected_account_id: {account_id} was already finalized as connection {existing}"
            ),
        ));
    }
    if acc.status == "FAILED" {
        return Err(ApiError::field(
            "connected_account_id",
            format!("{account_id} failed to connect (status FAILED); start a new connection"),
        ));
    }
    let now = Utc::now();
    let mut c = Connection::new(
        caller.team_id,
        acc.user_id,
        &integration_name,
        &app,
        "composio",
        now,
    );
    let server = Uuid::new_v4();
    let mcp_url = format!(
        "https://backend.composio.example/v3/mcp/{server}/mcp?connected_account_id={account_id}"
    );
    c.server_url = Some(mcp_url.clone());
    c.transport_type = Some("http");
    c.auth_method = Some(
        match acc.auth_scheme.as_str() {
            s if s.starts_with("OAUTH") => "oauth",
            "NO_AUTH" => "url",
            _ => "apikey",
        }
        .to_string(),
    );
    c.has_oauth_tokens = acc.auth_scheme.starts_with("OAUTH");
    c.integration_id = Some(sid(&format!("int:{app}")));
    acc.status = "ACTIVE";
    acc.finalized = Some(c.id);
    let id = c.id;
    store.connections.push(c);
    Ok(ok(json!({ "integration_id": id, "mcp_url": mcp_url })))
}
