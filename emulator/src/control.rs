//! Test hooks under `/_emulator` (no auth, not part of the Duvo API).
//!
//! - `POST /_emulator/faults` `{"status": 429|500|502|503|504 (any 400–599), "count": N (default 1),
//!   "retry_after": S?, "path_prefix": "/v2/…"?}`: the next N API requests whose path starts with
//!   `path_prefix` (default: every API path) fail with that status and the Duvo envelope, before
//!   any work (429 always carries `retry-after`, default 1; other statuses only when `retry_after`
//!   is given). Faults queue up; the first matching one is used. Answers `{"faults": [...]}`.
//! - `GET /_emulator/faults`: the active faults. `DELETE /_emulator/faults`: clear them.
//! - `GET /_emulator/requests`: `[{method, path, query, idempotency_key, authorization_present,
//!   traceparent, status}]`, oldest first (never the key itself). `DELETE /_emulator/requests`: clear the log.
//! - `GET /_emulator/webhooks`: `[{url, payload}]` webhook deliveries attempted.
//! - `PUT/GET/DELETE /_emulator/fault-profile`: the seeded fault profile (set, counts, off);
//!   served by `faults.rs`. Its faults add `fault` and `fault_delay_ms` to request-log entries.
//! - `GET /_emulator/contract`: `{enabled, checked, violations: [{method, path, status,
//!   operationId, errors}]}` of the response contract check (`EmulatorConfig::validate_responses`);
//!   `DELETE /_emulator/contract` clears it. Served by `spec/contract.rs`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::errors::{ApiError, ApiResult};
use super::ok;
use super::state::{AppState, Fault};
use super::validate as v;

/// `POST /_emulator/faults`.
pub async fn add_fault(State(st): State<Arc<AppState>>, body: Bytes) -> ApiResult<Response> {
    let b = v::json_object(&body)?;
    let status = match b.get("status") {
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|s| (400..=599).contains(s))
            .and_then(|s| u16::try_from(s).ok())
            .and_then(|s| StatusCode::from_u16(s).ok())
            .ok_or_else(|| ApiError::field("status", "must be an HTTP error status (400-599)"))?,
        None | Some(Value::Null) => return Err(ApiError::field("status", "is required")),
        Some(_) => return Err(ApiError::field("status", "must be an integer")),
    };
    let count = match b.get("count") {
        None | Some(Value::Null) => 1,
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|c| *c >= 1)
            .and_then(|c| u32::try_from(c).ok())
            .ok_or_else(|| ApiError::field("count", "must be a positive integer"))?,
        Some(_) => return Err(ApiError::field("count", "must be a positive integer")),
    };
    let retry_after = match b.get("retry_after") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(
            n.as_u64()
                .ok_or_else(|| ApiError::field("retry_after", "must be a non-negative integer"))?,
        ),
        Some(_) => {
            return Err(ApiError::field(
                "retry_after",
                "must be a non-negative integer",
            ));
        }
    };
    let path_prefix = match b.get("path_prefix") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ApiError::field("path_prefix", "must be a string")),
    };
    let mut ctl = st.control();
    ctl.faults.push(Fault {
        status,
        remaining: count,
        retry_after,
        path_prefix,
    });
    let faults: Vec<Value> = ctl.faults.iter().map(Fault::to_json).collect();
    Ok(ok(json!({ "faults": faults })))
}

/// `GET /_emulator/faults`.
pub async fn list_faults(State(st): State<Arc<AppState>>) -> Response {
    let faults: Vec<Value> = st.control().faults.iter().map(Fault::to_json).collect();
    ok(json!({ "faults": faults }))
}

/// `DELETE /_emulator/faults`.
pub async fn clear_faults(State(st): State<Arc<AppState>>) -> Response {
    let mut ctl = st.control();
    let n = ctl.faults.len();
    ctl.faults.clear();
    ok(json!({ "cleared": n }))
}

/// `GET /_emulator/requests`.
pub async fn list_requests(State(st): State<Arc<AppState>>) -> Response {
    let log: Vec<Value> = st.control().requests.iter().cloned().collect();
    ok(Value::Array(log))
}

/// `DELETE /_emulator/requests`.
pub async fn clear_requests(State(st): State<Arc<AppState>>) -> Response {
    let mut ctl = st.control();
    let n = ctl.requests.len();
    ctl.requests.clear();
    ok(json!({ "cleared": n }))
}

/// `GET /_emulator/webhooks`.
pub async fn list_webhooks(State(st): State<Arc<AppState>>) -> Response {
    ok(Value::Array(st.control().webhooks.clone()))
}
