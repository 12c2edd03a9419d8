//! API keys, teams, rate limiting, fault injection, idempotency and the request log.
//!
//! Every non-`/_emulator` request passes through [`api_middleware`], in this order:
//! 1. an injected fault (from `POST /_emulator/faults`) answers immediately, doing no work;
//! 2. the fixed 60-second rate-limit window of the presented key is counted (429 past the limit);
//! 3. the bearer key is checked (401) and the [`Caller`] is attached to the request;
//! 4. for POST/PATCH/PUT/DELETE with an `Idempotency-Key`, a stored response is replayed
//!    (or 409 `idempotency_key_reused` when the body differs); otherwise the handler runs and
//!    its response (unless 429/5xx) is stored for 24 hours.
//!
//! Every response gets `x-ratelimit-limit`, `x-ratelimit-remaining` and `x-ratelimit-reset`,
//! and is appended to the request log (`GET /_emulator/requests`) without the key itself (only
//! what kind of credential it was: `credential`).
//! The seeded fault profile (`faults.rs`) runs in an outer layer; what it did to a request that
//! reaches this middleware (delays, `*_after_commit` faults) is added to its log entry.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use super::errors::{ApiError, ApiResult};
use super::seed::{DEMO_USER_ID, OTHER_USER_ID};
use super::state::{AppState, Caller, IdemEntry, RateInfo};
use super::{DEMO_TEAM_ID, OTHER_TEAM_ID, OTHER_TEAM_KEY};

/// Largest request body the middleware buffers for idempotency.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// The default team's id as a `Uuid`.
pub fn demo_team() -> Uuid {
    Uuid::parse_str(DEMO_TEAM_ID).unwrap_or_default()
}

/// The second team's id as a `Uuid`.
pub fn other_team() -> Uuid {
    Uuid::parse_str(OTHER_TEAM_ID).unwrap_or_default()
}

/// Extract the bearer token from an `Authorization` header value.
fn bearer(value: Option<&str>) -> Option<&str> {
    let v = value?.trim();
    let (scheme, rest) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

/// Resolve the caller from the raw `Authorization` header.
fn authenticate(header_value: Option<&str>) -> ApiResult<Caller> {
    let Some(raw) = header_value else {
        return Err(ApiError::unauthorized(
            "Missing Authorization header; send 'Authorization: Bearer <api key>'",
        ));
    };
    let Some(token) = bearer(Some(raw)) else {
        return Err(ApiError::unauthorized(
            "Authorization header must use the Bearer scheme: 'Bearer <api key>'",
        ));
    };
    if !token.starts_with("dv_") || token.len() <= 3 {
        return Err(ApiError::unauthorized("Invalid API key"));
    }
    if token == OTHER_TEAM_KEY {
        Ok(Caller {
            team_id: other_team(),
            user_id: OTHER_USER_ID,
        })
    } else {
        Ok(Caller {
            team_id: demo_team(),
            user_id: DEMO_USER_ID,
        })
    }
}

/// The authenticated caller as a handler argument (the auth middleware put it in the request).
impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("Missing or invalid API key"))
    }
}

/// The caller of a `/v2/teams/{teamId}/…` route, 403 unless `{teamId}` is the caller's team.
#[derive(Debug, Clone)]
pub struct TeamCaller(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for TeamCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::forbidden(format!("This API key is not authorized: {e}")))?;
        let team = params.get("teamId").map_or("", String::as_str);
        check_team(&caller, team)?;
        Ok(Self(caller))
    }
}

/// 403 unless `raw` is the caller's team id.
pub fn check_team(caller: &Caller, raw: &str) -> ApiResult<()> {
    match Uuid::parse_str(raw.trim()) {
        Ok(id) if id == caller.team_id => Ok(()),
        _ => Err(ApiError::forbidden(format!(
            "This API key is not authorized for team {raw}"
        ))),
    }
}

fn set_rate_headers(resp: &mut Response, rate: RateInfo) {
    let h = resp.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(rate.limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(rate.remaining));
    h.insert("x-ratelimit-reset", HeaderValue::from(rate.reset));
}

/// The API middleware (see the module docs for the order of checks).
pub async fn api_middleware(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/_emulator") || path == "/openapi.json" {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let query = req.uri().query().map(str::to_string);
    let idem_key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .filter(|s| !s.is_empty());
    let auth_raw = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("").to_string());
    let fault_note = req.extensions().get::<super::faults::FaultNote>().cloned();
    // W3C trace context sent by the client (duvo-mcp forwards it when OTLP traces are on).
    let traceparent = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);

    let (mut resp, rate) = process(
        &st,
        req,
        next,
        &path,
        idem_key.as_deref(),
        auth_raw.as_deref(),
    )
    .await;
    set_rate_headers(&mut resp, rate);

    let status = resp.status().as_u16();
    tracing::debug!(%method, %path, status, "emulator request");
    let mut entry = json!({
        "method": method.as_str(),
        "path": path,
        "query": query,
        "idempotency_key": idem_key,
        "authorization_present": auth_raw.is_some(),
        "credential": credential_kind(auth_raw.as_deref()),
        "traceparent": traceparent,
        "status": status,
    });
    if let Some(note) = &fault_note {
        note.annotate(&mut entry);
    }
    st.control().log(entry);
    resp
}

/// What kind of credential a request presented, for the request log (never the value):
/// `demo` (the demo key), `other_team`, `dv_key` (another `dv_…` key), `not_dv` (a bearer that
/// is no Duvo key, e.g. an OAuth token that should never reach Duvo), `malformed`, or null.
fn credential_kind(auth_raw: Option<&str>) -> Option<&'static str> {
    let raw = auth_raw?;
    Some(match bearer(Some(raw)) {
        Some(k) if k == super::DEMO_API_KEY => "demo",
        Some(k) if k == OTHER_TEAM_KEY => "other_team",
        Some(k) if k.starts_with("dv_") => "dv_key",
        Some(_) => "not_dv",
        None => "malformed",
    })
}

async fn process(
    st: &Arc<AppState>,
    mut req: Request,
    next: Next,
    path: &str,
    idem_key: Option<&str>,
    auth_raw: Option<&str>,
) -> (Response, RateInfo) {
    let bucket = bearer(auth_raw).unwrap_or("").to_string();
    let limit = st.config.rate_limit_per_minute;
    let now = Utc::now().timestamp();

    // 1. Injected faults: fail before doing any work.
    let fault = st.control().take_fault(path);
    if let Some(f) = fault {
        let mut rate = st.control().peek(&bucket, limit, now);
        let code = ApiError::code_for_status(f.status);
        let mut err = ApiError::new(
            f.status,
            code,
            format!(
                "Injected fault: the emulator was told to answer {}",
                f.status.as_u16()
            ),
        );
        let retry = if f.status == StatusCode::TOO_MANY_REQUESTS {
            Some(f.retry_after.unwrap_or(1))
        } else {
            f.retry_after
        };
        if let Some(secs) = retry {
            err = err.with_retry_after(secs);
        }
        if f.status == StatusCode::TOO_MANY_REQUESTS {
            rate.remaining = 0;
            rate.reset = now + i64::try_from(retry.unwrap_or(1)).unwrap_or(1);
        }
        return (err.into_response(), rate);
    }

    // 2. Rate limit per presented key.
    let window = i64::from(st.config.rate_window_secs.max(1));
    let rate = st.control().hit(&bucket, limit, now, window);
    if rate.limited {
        let wait = u64::try_from((rate.reset - now).max(1)).unwrap_or(1);
        let err = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("Rate limit of {limit} requests per minute exceeded; retry in {wait} s"),
        )
        .with_retry_after(wait);
        return (err.into_response(), rate);
    }

    // 3. Authentication.
    let caller = match authenticate(auth_raw) {
        Ok(c) => c,
        Err(e) => return (e.into_response(), rate),
    };
    req.extensions_mut().insert(caller);

    // 4. Idempotency for mutating methods.
    let mutating = matches!(
        *req.method(),
        Method::POST | Method::PATCH | Method::PUT | Method::DELETE
    );
    let Some(idem) = idem_key.filter(|_| mutating) else {
        return (next.run(req).await, rate);
    };
    (idempotent(st, req, next, path, idem, &bucket).await, rate)
}

async fn idempotent(
    st: &Arc<AppState>,
    req: Request,
    next: Next,
    path: &str,
    idem: &str,
    api_key: &str,
) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "body: request body is too large",
        )
        .into_response();
    };
    let print = body_print(&parts.headers, &bytes);
    let key = (
        api_key.to_string(),
        idem.to_string(),
        parts.method.as_str().to_string(),
        path.to_string(),
    );
    let now = Utc::now();
    {
        let mut ctl = st.control();
        let expired = matches!(ctl.idem.get(&key), Some(IdemEntry::Done { at, .. }) if now - *at > chrono::Duration::hours(24));
        if expired {
            ctl.idem.remove(&key);
        }
        match ctl.idem.get(&key) {
            Some(IdemEntry::Done {
                body,
                status,
                response,
                ..
            }) => {
                if body.as_slice() != print.as_slice() {
                    return reused(idem);
                }
                let mut resp = Response::new(Body::from(response.clone()));
                *resp.status_mut() = *status;
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                resp.headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
                return resp;
            }
            Some(IdemEntry::InFlight { body }) => {
                if body.as_slice() != print.as_slice() {
                    return reused(idem);
                }
                return ApiError::conflict(
                    "idempotency_key_in_use",
                    format!("A request with Idempotency-Key '{idem}' is still being processed"),
                )
                .into_response();
            }
            None => {
                if ctl.idem.len() >= 1024 {
                    ctl.idem.retain(|_, e| match e {
                        IdemEntry::Done { at, .. } => now - *at <= chrono::Duration::hours(24),
                        IdemEntry::InFlight { .. } => true,
                    });
                }
                ctl.idem.insert(
                    key.clone(),
                    IdemEntry::InFlight {
                        body: print.clone(),
                    },
                );
            }
        }
    }

    // If the request future is dropped mid-way, forget the in-flight marker so retries can proceed.
    let mut guard = InFlightGuard {
        st: Arc::clone(st),
        key: Some(key.clone()),
    };
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes.clone())))
        .await;
    let (rparts, rbody) = resp.into_parts();
    let rbytes = to_bytes(rbody, usize::MAX).await.unwrap_or_default();
    let status = rparts.status;
    guard.key = None;
    {
        let mut ctl = st.control();
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            ctl.idem.remove(&key);
        } else {
            ctl.idem.insert(
                key,
                IdemEntry::Done {
                    body: print.clone(),
                    status,
                    response: rbytes.to_vec(),
                    at: now,
                },
            );
        }
    }
    Response::from_parts(rparts, Body::from(rbytes))
}

/// Removes an in-flight idempotency marker when dropped while still armed.
struct InFlightGuard {
    st: Arc<AppState>,
    key: Option<super::state::IdemKey>,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            self.st.control().idem.remove(&k);
        }
    }
}

fn reused(idem: &str) -> Response {
    ApiError::conflict(
        "idempotency_key_reused",
        format!(
            "Idempotency-Key '{idem}' was already used for this endpoint with a different request body"
        ),
    )
    .into_response()
}

/// What identifies a request body for idempotency: its bytes, with a multipart boundary
/// (random per attempt) replaced by a fixed marker so a retried upload matches its first try.
fn body_print(headers: &axum::http::HeaderMap, bytes: &[u8]) -> Vec<u8> {
    let boundary = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|ct| ct.starts_with("multipart/"))
        .and_then(|ct| {
            ct.split(';')
                .find_map(|p| p.trim().strip_prefix("boundary="))
        })
        .map(|b| b.trim_matches('"').as_bytes().to_vec())
        .filter(|b| !b.is_empty());
    let Some(boundary) = boundary else {
        return bytes.to_vec();
    };
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(&boundary) {
            out.extend_from_slice(b"BOUNDARY");
            i += boundary.len();
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer(Some("Bearer dv_x")), Some("dv_x"));
        assert_eq!(bearer(Some("bearer  dv_x ")), Some("dv_x"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(Some("Bearer")), None);
        assert_eq!(bearer(None), None);
    }

    #[test]
    fn keys_map_to_teams() {
        let c = authenticate(Some("Bearer dv_SECRET_abc")).map(|c| c.team_id);
        assert_eq!(c.ok(), Some(demo_team()));
        let c = authenticate(Some(&format!("Bearer {OTHER_TEAM_KEY}"))).map(|c| c.team_id);
        assert_eq!(c.ok(), Some(other_team()));
        assert!(authenticate(Some("Bearer sk_live_x")).is_err());
        assert!(authenticate(None).is_err());
    }
}
