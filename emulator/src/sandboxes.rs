//! Sandboxes: per-run file staging areas (create → upload → `startRun` with `sandbox_id`).
//!
//! - `createSandbox` → 201 `{sandbox_id: "sbx_…", expires_at}`; a sandbox lives 24 hours and
//!   belongs to the caller's team (another team's or an expired one is 404).
//! - `uploadSandboxFile`: multipart/form-data with a file part (named `file`, or else the first
//!   part with a filename) and an optional text part `path` (default `/workspace/<filename>`; a
//!   relative path is taken under `/workspace`, one ending in `/` gets the filename appended).
//!   Files over 10 MB (10 485 760 bytes) → 413.
//! - `createSandboxUploadUrl` → `{upload_url, path, expires_in_seconds: 900}`. The URL is served
//!   by the emulator itself (`{scheme}://{Host}/_emulator/uploads/{token}`, the Host the client
//!   used): `PUT` the raw bytes there, no `Authorization` needed (the token is the credential),
//!   any `Content-Type`, up to 64 MB. The token is single-use (spent by a successful PUT) and
//!   expires after 15 minutes; a spent, expired or unknown token → 403. Success → 200
//!   `{path, size_bytes}`.
//! - `listSandboxFiles?path=/workspace`: one directory level, directories with `size_bytes: 0`,
//!   directories first then by name; a missing directory → 404.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::{get, post, put};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::errors::{ApiError, ApiResult};
use super::model::{Sandbox, UploadGrant, ts};
use super::state::{AppState, Caller, Store};
use super::validate::{self as v, Query};
use super::{created, ok};

/// Largest file of a direct upload (`uploadSandboxFile`), in bytes.
pub const MAX_DIRECT_UPLOAD: u64 = 10 * 1024 * 1024;
/// Largest body accepted on a presigned upload URL, in bytes.
pub const MAX_PRESIGNED_UPLOAD: usize = 64 * 1024 * 1024;
/// Lifetime of a presigned upload URL, in seconds.
pub const UPLOAD_URL_TTL_SECS: i64 = 900;
/// Lifetime of a sandbox, in hours.
pub const SANDBOX_TTL_HOURS: i64 = 24;
/// Request body limit of the direct upload route (the file plus form overhead).
const DIRECT_BODY_LIMIT: usize = 32 * 1024 * 1024;
/// The directory files land in by default.
const WORKSPACE: &str = "/workspace";

/// The routes of this module (the presigned upload URL included).
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v2/sandboxes", post(create_sandbox))
        .route(
            "/v2/sandboxes/{sandbox_id}/upload-urls",
            post(create_upload_url),
        )
        .route(
            "/v2/sandboxes/{sandbox_id}/files",
            get(list_files)
                .post(upload_file)
                .layer(DefaultBodyLimit::max(DIRECT_BODY_LIMIT)),
        )
        .route("/_emulator/uploads/{token}", put(presigned_put))
}

/// A multipart part read up to a cap: `data` holds the bytes unless `size` exceeded the cap.
#[derive(Debug)]
pub(super) struct CappedPart {
    /// Form field name.
    pub name: Option<String>,
    /// File name, for file parts.
    pub file_name: Option<String>,
    /// The bytes (emptied when `size` is over the cap).
    pub data: Vec<u8>,
    /// Full size of the part.
    pub size: u64,
}

/// Read every part of a multipart body, keeping at most `cap` bytes of each (larger parts are
/// drained and reported with their size). Not multipart → 400; body over the route limit → 413.
pub(super) async fn read_parts(
    multipart: Result<Multipart, MultipartRejection>,
    cap: u64,
) -> ApiResult<Vec<CappedPart>> {
    let mut mp = multipart.map_err(|e| {
        ApiError::field(
            "body",
            format!("expected a multipart/form-data body ({})", e.body_text()),
        )
    })?;
    let fail = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "body: the request body is too large",
            )
        } else {
            ApiError::field(
                "body",
                format!("malformed multipart body ({})", e.body_text()),
            )
        }
    };
    let mut parts = Vec::new();
    while let Some(mut field) = mp.next_field().await.map_err(fail)? {
        let mut part = CappedPart {
            name: field.name().map(str::to_string),
            file_name: field.file_name().map(str::to_string),
            data: Vec::new(),
            size: 0,
        };
        while let Some(chunk) = field.chunk().await.map_err(fail)? {
            part.size += chunk.len() as u64;
            if part.size <= cap {
                part.data.extend_from_slice(&chunk);
            } else if !part.data.is_empty() {
                part.data = Vec::new();
            }
        }
        parts.push(part);
    }
    Ok(parts)
}

/// Normalize a sandbox path: absolute (a relative one is taken under `/workspace`), no `..`.
fn clean_path(field: &str, raw: &str) -> ApiResult<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(ApiError::field(field, "must not be empty"));
    }
    if raw.chars().any(char::is_control) {
        return Err(ApiError::field(
            field,
            "must not contain control characters",
        ));
    }
    let full = if raw.starts_with('/') {
        raw.to_string()
    } else {
        format!("{WORKSPACE}/{raw}")
    };
    let mut segs = Vec::new();
    for seg in full.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                return Err(ApiError::field(
                    field,
                    format!("'{raw}' must not contain '..'"),
                ));
            }
            s => segs.push(s),
        }
    }
    let out = format!("/{}", segs.join("/"));
    if out.len() > 1024 {
        return Err(ApiError::field(field, "must be at most 1024 characters"));
    }
    Ok(out)
}

/// A destination file path: not the root, not an existing directory, no file as a parent.
fn file_dest(sbx: &Sandbox, field: &str, path: &str) -> ApiResult<()> {
    if path == "/" || path == WORKSPACE {
        return Err(ApiError::field(
            field,
            format!("{path} is a directory; name a file"),
        ));
    }
    let as_dir = format!("{path}/");
    if sbx.files.keys().any(|k| k.starts_with(&as_dir)) {
        return Err(ApiError::field(
            field,
            format!("{path} is a directory; name a file"),
        ));
    }
    let mut parent = path;
    while let Some((p, _)) = parent.rsplit_once('/') {
        if p.is_empty() {
            break;
        }
        if sbx.files.contains_key(p) {
            return Err(ApiError::field(
                field,
                format!("{p} is a file, not a directory"),
            ));
        }
        parent = p;
    }
    Ok(())
}

fn not_found(raw: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("Sandbox {raw} not found (or expired); createSandbox makes a new one"),
    )
}

/// Index of a live sandbox of the caller's team, or 404.
fn sandbox_idx(store: &Store, caller: &Caller, raw: &str, now: DateTime<Utc>) -> ApiResult<usize> {
    store
        .sandboxes
        .iter()
        .position(|s| s.id == raw && s.team_id == caller.team_id && s.expires_at > now)
        .ok_or_else(|| not_found(raw))
}

/// `POST /v2/sandboxes` (createSandbox).
async fn create_sandbox(State(st): State<Arc<AppState>>, caller: Caller) -> ApiResult<Response> {
    let now = Utc::now();
    let id = format!("sbx_{}", &Uuid::new_v4().simple().to_string()[..24]);
    let expires_at = now + Duration::hours(SANDBOX_TTL_HOURS);
    let mut store = st.store();
    store.sandboxes.retain(|s| s.expires_at > now);
    store.sandboxes.push(Sandbox {
        id: id.clone(),
        team_id: caller.team_id,
        expires_at,
        files: BTreeMap::new(),
        grants: Vec::new(),
    });
    Ok(created(
        json!({ "sandbox_id": id, "expires_at": ts(&expires_at) }),
    ))
}

/// Base URL the client used: `x-forwarded-proto` (default http) and the `Host` header (or, in
/// HTTP/2, the request's authority).
pub(super) fn client_base(headers: &HeaderMap, uri: &Uri) -> ApiResult<String> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .map(str::trim)
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .ok_or_else(|| ApiError::field("Host", "a valid Host header is required"))?;
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
    {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    Ok(format!("{scheme}://{host}"))
}

/// `POST /v2/sandboxes/{sandbox_id}/upload-urls` (createSandboxUploadUrl).
async fn create_upload_url(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(sandbox_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let now = Utc::now();
    let mut store = st.store();
    let idx = sandbox_idx(&store, &caller, &sandbox_id, now)?;
    let map = v::json_object(&body)?;
    let path = clean_path("path", &v::req_str(&map, "path", 1)?)?;
    let base = client_base(&headers, &uri)?;
    let sbx = &mut store.sandboxes[idx];
    file_dest(sbx, "path", &path)?;
    let token = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    sbx.grants.retain(|g| g.expires_at > now);
    sbx.grants.push(UploadGrant {
        token: token.clone(),
        path: path.clone(),
        expires_at: now + Duration::seconds(UPLOAD_URL_TTL_SECS),
    });
    Ok(ok(json!({
        "upload_url": format!("{base}/_emulator/uploads/{token}"),
        "path": path,
        "expires_in_seconds": UPLOAD_URL_TTL_SECS,
    })))
}

/// `PUT /_emulator/uploads/{token}`: the presigned upload (no bearer key; the token is the credential).
async fn presigned_put(
    State(st): State<Arc<AppState>>,
    Path(token): Path<String>,
    body: Body,
) -> ApiResult<Response> {
    let denied = || {
        ApiError::forbidden(
            "This upload URL is invalid, expired or already used; request a new one with createSandboxUploadUrl",
        )
    };
    let now = Utc::now();
    let known = {
        let store = st.store();
        store.sandboxes.iter().any(|s| {
            s.expires_at > now
                && s.grants
                    .iter()
                    .any(|g| g.token == token && g.expires_at > now)
        })
    };
    if !known {
        return Err(denied());
    }
    let Ok(bytes) = to_bytes(body, MAX_PRESIGNED_UPLOAD).await else {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "body: uploads through a presigned URL are limited to {} MB",
                MAX_PRESIGNED_UPLOAD / 1024 / 1024
            ),
        ));
    };
    let mut store = st.store();
    let sbx = store
        .sandboxes
        .iter_mut()
        .find(|s| s.expires_at > now && s.grants.iter().any(|g| g.token == token))
        .ok_or_else(denied)?;
    let gi = sbx
        .grants
        .iter()
        .position(|g| g.token == token && g.expires_at > now)
        .ok_or_else(denied)?;
    let path = sbx.grants[gi].path.clone();
    file_dest(sbx, "path", &path)?;
    sbx.grants.remove(gi);
    let size = bytes.len();
    sbx.files.insert(path.clone(), bytes.to_vec());
    Ok(ok(json!({ "path": path, "size_bytes": size })))
}

/// `POST /v2/sandboxes/{sandbox_id}/files` (uploadSandboxFile): multipart `file` + optional `path`.
async fn upload_file(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(sandbox_id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    {
        let store = st.store();
        sandbox_idx(&store, &caller, &sandbox_id, Utc::now())?;
    }
    let parts = read_parts(multipart, MAX_DIRECT_UPLOAD).await?;
    let mut file = None;
    let mut dest = None;
    for p in parts {
        match p.name.as_deref() {
            Some("path") if p.file_name.is_none() => dest = Some(p),
            Some("file") => file = Some(p),
            _ if file.is_none() && p.file_name.is_some() => file = Some(p),
            _ => {}
        }
    }
    let Some(file) = file else {
        return Err(ApiError::field(
            "file",
            "is required: send multipart/form-data with a part 'file' holding the bytes (and a filename)",
        ));
    };
    if file.size > MAX_DIRECT_UPLOAD {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "file: {} bytes is over the 10 MB limit of direct uploads; use createSandboxUploadUrl for larger files",
                file.size
            ),
        ));
    }
    let base_name = file
        .file_name
        .as_deref()
        .and_then(|n| n.rsplit(['/', '\\']).next())
        .map(str::trim)
        .filter(|n| !n.is_empty() && *n != "." && *n != "..");
    let dest = match dest {
        Some(p) => {
            let raw = String::from_utf8(p.data)
                .map_err(|_| ApiError::field("path", "must be UTF-8 text"))?;
            let raw = raw.trim();
            if raw.is_empty() {
                None
            } else if raw.ends_with('/') {
                let name = base_name.ok_or_else(|| {
                    ApiError::field("file", "needs a filename when 'path' is a directory")
                })?;
                Some(format!("{raw}{name}"))
            } else {
                Some(raw.to_string())
            }
        }
        None => None,
    };
    let raw = match (dest, base_name) {
        (Some(d), _) => d,
        (None, Some(name)) => format!("{WORKSPACE}/{name}"),
        (None, None) => {
            return Err(ApiError::field(
                "file",
                "needs a filename, or send a 'path' part with the destination",
            ));
        }
    };
    let path = clean_path("path", &raw)?;
    let mut store = st.store();
    let idx = sandbox_idx(&store, &caller, &sandbox_id, Utc::now())?;
    let sbx = &mut store.sandboxes[idx];
    file_dest(sbx, "path", &path)?;
    let size = file.data.len();
    sbx.files.insert(path.clone(), file.data);
    Ok(created(json!({ "path": path, "size_bytes": size })))
}

/// `GET /v2/sandboxes/{sandbox_id}/files` (listSandboxFiles): one directory level.
async fn list_files(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(sandbox_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(raw.as_deref());
    let dir = clean_path("path", q.get("path").unwrap_or(WORKSPACE))?;
    let store = st.store();
    let idx = sandbox_idx(&store, &caller, &sandbox_id, Utc::now())?;
    let sbx = &store.sandboxes[idx];
    if let Some(f) = sbx.files.get(&dir) {
        let name = dir.rsplit('/').next().unwrap_or(&dir);
        let item = json!({"name": name, "path": dir, "type": "file", "size_bytes": f.len()});
        return Ok(ok(json!({ "files": [item] })));
    }
    let prefix = if dir == "/" {
        "/".to_string()
    } else {
        format!("{dir}/")
    };
    let mut dirs = BTreeMap::new();
    let mut files = Vec::new();
    if dir == "/" {
        dirs.insert("workspace".to_string(), WORKSPACE.to_string());
    }
    for (path, f) in &sbx.files {
        let Some(rest) = path.strip_prefix(&prefix) else {
            continue;
        };
        match rest.split_once('/') {
            Some((d, _)) => {
                dirs.insert(d.to_string(), format!("{prefix}{d}"));
            }
            None => files.push(json!({
                "name": rest, "path": path, "type": "file", "size_bytes": f.len(),
            })),
        }
    }
    if dirs.is_empty() && files.is_empty() && dir != WORKSPACE && dir != "/" {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("Directory {dir} not found in sandbox {sandbox_id}"),
        ));
    }
    let mut out: Vec<Value> = dirs
        .into_iter()
        .map(|(name, path)| json!({"name": name, "path": path, "type": "dir", "size_bytes": 0}))
        .collect();
    out.extend(files);
    Ok(ok(json!({ "files": out })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_path_rules() {
        assert_eq!(
            clean_path("p", "data.csv").ok().as_deref(),
            Some("/workspace/data.csv")
        );
        assert_eq!(
            clean_path("p", "/tmp//a/./b").ok().as_deref(),
            Some("/tmp/a/b")
        );
        assert_eq!(clean_path("p", "/").ok().as_deref(), Some("/"));
        assert!(clean_path("p", "/workspace/../etc/passwd").is_err());
        assert!(clean_path("p", " ").is_err());
    }

    #[test]
    fn base_url_comes_from_the_host_header() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:4567".parse().expect("header"));
        assert_eq!(
            client_base(&h, &Uri::from_static("/")).ok().as_deref(),
            Some("http://127.0.0.1:4567")
        );
        h.insert("x-forwarded-proto", "https".parse().expect("header"));
        assert_eq!(
            client_base(&h, &Uri::from_static("/")).ok().as_deref(),
            Some("https://127.0.0.1:4567")
        );
        let h2 = HeaderMap::new();
        let uri: Uri = "http://10.0.0.2:81/v2/x".parse().expect("uri");
        assert_eq!(
            client_base(&h2, &uri).ok().as_deref(),
            Some("http://10.0.0.2:81")
        );
        h.insert(header::HOST, "evil/path".parse().expect("header"));
        assert!(client_base(&h, &Uri::from_static("/")).is_err());
    }
}
