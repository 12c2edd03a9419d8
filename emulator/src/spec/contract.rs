//! Response contract checking: every `/v2/...` JSON response against the spec.
//!
//! When [`ContractLog`] is enabled (`EmulatorConfig::validate_responses`), the middleware buffers
//! each JSON response of an API path and validates it against the schema the spec declares for
//! that operation and status; errors without a declared schema are checked against the standard
//! `{error, message?}` envelope (e.g. 429), and a 2xx the spec does not declare (or a 2xx on a path
//! the spec does not know) is itself a violation. Violations (method, path, status, operationId,
//! the first few schema errors) are kept for `GET /_emulator/contract` and cleared by
//! `DELETE /_emulator/contract`. Non-JSON bodies are not checked.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::document::{Lookup, SPEC};
use super::validators::{envelope_validator, problems};

/// Violations kept at most (the count of checked responses keeps growing).
const MAX_VIOLATIONS: usize = 1000;
/// Schema errors kept per violation.
const ERRORS_PER_VIOLATION: usize = 5;
/// Largest response body checked.
const MAX_CHECKED_BODY: usize = 32 * 1024 * 1024;

#[derive(Debug, Default)]
struct Log {
    checked: u64,
    violations: Vec<Value>,
}

/// Contract-check results of one emulator.
#[derive(Debug, Default)]
pub struct ContractLog {
    enabled: bool,
    log: Mutex<Log>,
}

impl ContractLog {
    /// A log that checks responses when `enabled`.
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            log: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `{"enabled", "checked", "violations": [{method, path, status, operationId, errors}]}`.
    pub fn report(&self) -> Value {
        let log = self.lock();
        json!({
            "enabled": self.enabled,
            "checked": log.checked,
            "violations": log.violations,
        })
    }

    /// Forget everything; returns how many violations were dropped.
    pub fn clear(&self) -> usize {
        let mut log = self.lock();
        let n = log.violations.len();
        *log = Log::default();
        n
    }

    fn record(&self, violation: Option<Value>) {
        let mut log = self.lock();
        log.checked += 1;
        if let Some(v) = violation {
            tracing::warn!(violation = %v, "emulator response breaks the OpenAPI contract");
            if log.violations.len() < MAX_VIOLATIONS {
                log.violations.push(v);
            }
        }
    }
}

/// Schema errors of a response `body` for `method path` with `status` (empty = conforms), and the
/// operation id when the request matched an operation.
pub fn check_response(
    method: &Method,
    path: &str,
    status: u16,
    body: &Value,
) -> (Option<String>, Vec<String>) {
    let (op, validator) = match SPEC.lookup(method, path) {
        Lookup::Found(op, _) => match op.response(status) {
            Some(r) => match &r.schema {
                Some(schema) => (Some(op), r.validator.get(schema, &SPEC.defs_response)),
                // Declared without content (the MCP endpoint): nothing to check.
                None => return (Some(op.id.clone()), Vec::new()),
            },
            None if (200..300).contains(&status) => {
                return (
                    Some(op.id.clone()),
                    vec![format!(
                        "status {status} is not declared for {} (declared: {})",
                        op.id,
                        op.responses
                            .iter()
                            .map(|r| r.status.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )],
                );
            }
            None => (Some(op), envelope_validator()),
        },
        // Documented by Duvo but missing from the spec (see tools/connections.json).
        _ if path.contains("/connections/composio/") => return (None, Vec::new()),
        _ if (200..300).contains(&status) => {
            return (
                None,
                vec![format!("no operation in the spec for {method} {path}")],
            );
        }
        _ => (None, envelope_validator()),
    };
    let id = op.map(|o| o.id.clone());
    match validator {
        Some(v) => (id, problems(&v, body, ERRORS_PER_VIOLATION)),
        None => (id, Vec::new()),
    }
}

fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let ct = ct.to_ascii_lowercase();
            ct.starts_with("application/json") || ct.contains("+json")
        })
}

/// Middleware validating every `/v2/...` JSON response (a no-op unless the log is enabled).
pub async fn contract_middleware(
    State(log): State<Arc<ContractLog>>,
    req: Request,
    next: Next,
) -> Response {
    if !log.enabled || !req.uri().path().starts_with("/v2/") {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    if !is_json(&resp) {
        return resp;
    }
    let status = resp.status().as_u16();
    let (parts, body) = resp.into_parts();
    let bytes = match to_bytes(body, MAX_CHECKED_BODY).await {
        Ok(b) => b,
        Err(e) => {
            log.record(Some(json!({
                "method": method.as_str(), "path": path, "status": status,
                "operationId": null, "errors": [format!("response body unreadable: {e}")],
            })));
            return Response::from_parts(parts, Body::empty());
        }
    };
    let (op_id, errors) = match serde_json::from_slice::<Value>(&bytes) {
        Ok(body) => check_response(&method, &path, status, &body),
        Err(e) => (None, vec![format!("response is not valid JSON: {e}")]),
    };
    let violation = (!errors.is_empty()).then(|| {
        json!({
            "method": method.as_str(),
            "path": path,
            "status": status,
            "operationId": op_id,
            "errors": errors,
        })
    });
    log.record(violation);
    Response::from_parts(parts, Body::from(bytes))
}

async fn report(State(log): State<Arc<ContractLog>>) -> Response {
    axum::Json(log.report()).into_response()
}

async fn clear(State(log): State<Arc<ContractLog>>) -> Response {
    axum::Json(json!({ "cleared": log.clear() })).into_response()
}

/// `GET`/`DELETE /_emulator/contract` over `log`, mergeable into any router.
pub fn contract_routes<S>(log: Arc<ContractLog>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/_emulator/contract", get(report).delete(clear))
        .with_state(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_bodies_are_caught_and_right_ones_pass() {
        let path = "/v2/teams/3b6f2a4e-1c8d-4e5f-9a7b-2d4c6e8f0a1b";
        let good = json!({"team": {
            "id": "3b6f2a4e-1c8d-4e5f-9a7b-2d4c6e8f0a1b",
            "name": "Acme", "organization_id": "7c1e9d2b-5a3f-4b8e-8d6c-0f2a4b6c8e1d"
        }});
        let (id, errors) = check_response(&Method::GET, path, 200, &good);
        assert_eq!(id.as_deref(), Some("getTeam"));
        // The real schema may ask for more fields; the point is that wrong shapes fail.
        let bad = json!({"team": {"id": 5}});
        let (_, bad_errors) = check_response(&Method::GET, path, 200, &bad);
        assert!(!bad_errors.is_empty());
        assert!(errors.len() <= bad_errors.len());
        let (_, e) = check_response(&Method::GET, path, 429, &json!({"error": "rate_limited"}));
        assert!(e.is_empty(), "{e:?}");
        let (_, e) = check_response(&Method::GET, path, 429, &json!({"code": 1}));
        assert!(!e.is_empty());
        let (_, e) = check_response(&Method::GET, path, 201, &good);
        assert!(e[0].contains("not declared"), "{e:?}");
        let (id, e) = check_response(&Method::GET, "/v2/nope", 200, &json!({}));
        assert!(id.is_none() && !e.is_empty());
    }

    #[test]
    fn log_counts_and_clears() {
        let log = ContractLog::new(true);
        log.record(None);
        log.record(Some(json!({"x": 1})));
        assert_eq!(log.report()["checked"], 2);
        assert_eq!(log.clear(), 1);
        assert_eq!(log.report()["checked"], 0);
    }
}
