//! The generic handler: a request that no explicit route serves but that matches a spec operation.
//!
//! Auth and rate limiting already ran in the API middleware. Then: `{teamId}` of another team →
//! 403; path parameters, query parameters and the JSON body are checked against the spec → 400
//! `{"error": "invalid_request", "message": "<field>: <problem>"}`; multipart uploads need at
//! least one part. The answer is the operation's lowest declared 2xx with a body generated from
//! its schema (see `generate.rs`), and every answer of this handler (errors too) is marked `x-duvo-emulator: generic`; non-JSON operations get a
//! small valid file; deprecated redirecting operations answer 308 with a `Location`. Unknown
//! paths → 404, a known path with an undeclared method → 405.

use axum::Json;
use axum::body::{Bytes, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::super::auth::check_team;
use super::super::errors::ApiError;
use super::super::state::Caller;
use super::document::{Body, Lookup, Operation, SPEC, Segment};
use super::generate::{GenCtx, fnv, generate};
use super::params::{check, multipart_parts};
use super::quirks::MCP_PATH;
use super::validators::first_problem;

/// Largest body the generic handler reads (the API's upload limit).
const MAX_BODY: usize = 10 * 1024 * 1024;

/// Header marking responses of the generic handler.
pub const GENERIC_HEADER: &str = "x-duvo-emulator";

/// Router fallback (also used for "method not allowed" on explicit routes).
pub async fn fallback(req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let mut resp = match SPEC.lookup(&method, &path) {
        Lookup::NotFound => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("No route for {path}"),
        )
        .into_response(),
        Lookup::WrongMethod => ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("Method {method} is not allowed on {path}"),
        )
        .into_response(),
        Lookup::Found(op, params) => match handle(op, &params, req).await {
            Ok(resp) => resp,
            Err(e) => render_error(op, e),
        },
    };
    resp.headers_mut()
        .insert(GENERIC_HEADER, HeaderValue::from_static("generic"));
    resp
}

/// With another spec than the embedded one (`use_spec`): a `/v2/…` request whose operation the
/// spec lacks gets 404 (405 on a known path), also where a stateful route would serve it; an
/// operation the embedded spec does not have is answered by the spec-driven handler, whatever
/// stateful route its path would match. Without an override it does nothing.
pub async fn spec_gate(req: Request, next: axum::middleware::Next) -> Response {
    if !super::document::overridden() || !req.uri().path().starts_with("/v2/") {
        return next.run(req).await;
    }
    match SPEC.lookup(req.method(), req.uri().path()) {
        Lookup::Found(op, _) if super::document::BUNDLED_IDS.contains(&op.id) => {
            next.run(req).await
        }
        _ => fallback(req).await,
    }
}

/// `GET /openapi.json`: the emulated spec (public, like Duvo's).
pub async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        super::document::spec_text(),
    )
        .into_response()
}

/// Whether an error schema has room for a `message` next to `error`.
fn allows_message(schema: &Value) -> bool {
    let Value::Object(m) = schema else {
        return true;
    };
    if let Some(Value::Array(branches)) = m.get("anyOf").or_else(|| m.get("oneOf")) {
        return branches.iter().any(allows_message);
    }
    m.get("properties").and_then(|p| p.get("message")).is_some()
        || m.get("additionalProperties") != Some(&Value::Bool(false))
}

/// Render an error in the shape the operation declares for its status: the usual envelope, or
/// `{"error": "<message>"}` where the spec allows no `message` (Duvo Pulse, some Clarity ops).
fn render_error(op: &Operation, e: ApiError) -> Response {
    let declared = op
        .response(e.status.as_u16())
        .and_then(|r| r.schema.as_ref());
    if declared.is_none_or(allows_message) {
        return e.into_response();
    }
    (e.status, Json(json!({ "error": e.message }))).into_response()
}

async fn read_body(req: Request) -> Result<Bytes, ApiError> {
    to_bytes(req.into_body(), MAX_BODY).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "body: larger than the 10 MB limit",
        )
    })
}

async fn handle(
    op: &Operation,
    params: &[(String, String)],
    req: Request,
) -> Result<Response, ApiError> {
    let caller = req
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| ApiError::unauthorized("Missing Authorization header"))?;
    let path = req.uri().path().to_string();
    let seed = fnv(0, format!("{} {path}", op.method).as_bytes());
    let mut ctx = GenCtx::new(&SPEC.defs_response, seed);
    ctx.know("team_id", Value::String(caller.team_id.to_string()));
    ctx.know("user_id", Value::String(caller.user_id.to_string()));

    let raw = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    if op.path_params.iter().any(|p| p.name == "teamId") {
        check_team(&caller, raw("teamId"))?;
    }
    for p in &op.path_params {
        let value = check(p, &[raw(&p.name)])?;
        if p.name == "*" {
            ctx.know("path", value.clone());
        }
        ctx.know(&p.name, value);
    }
    ctx.last_param = match op.segments.last() {
        Some(Segment::Param(name)) => Some(Value::String(raw(name).to_string())),
        _ => None,
    };

    let query: Vec<(String, String)> = req
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    for p in &op.query_params {
        let values: Vec<&str> = query
            .iter()
            .filter(|(k, v)| *k == p.name && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect();
        if values.is_empty() {
            if p.required {
                return Err(ApiError::field(&p.name, "is required"));
            }
            if let Some(d) = p.schema.get("default") {
                ctx.know(&p.name, d.clone());
            }
            continue;
        }
        let value = check(p, &values)?;
        ctx.know(&p.name, value);
    }

    if let Some(target) = op.redirect {
        return Ok(redirect(&path, target));
    }

    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    match &op.body {
        Body::None => {}
        Body::Json {
            required,
            schema,
            validator,
        } => {
            let bytes = read_body(req).await?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                if *required {
                    return Err(ApiError::field("body", "is required"));
                }
            } else {
                let body: Value = serde_json::from_slice(&bytes)
                    .map_err(|e| ApiError::field("body", format!("malformed JSON ({e})")))?;
                if let Some(v) = validator.get(schema, &SPEC.defs_request)
                    && let Some(p) = first_problem(&v, &body, "body")
                {
                    return Err(ApiError::field(&p.field, p.problem));
                }
                if let Value::Object(fields) = &body {
                    for (k, v) in fields {
                        if !v.is_object() && !v.is_array() && !v.is_null() {
                            ctx.know(k, v.clone());
                        }
                    }
                }
            }
        }
        Body::Multipart => {
            let bytes = read_body(req).await?;
            let parts = multipart_parts(&content_type, &bytes)
                .filter(|p| !p.is_empty())
                .ok_or_else(|| {
                    ApiError::field(
                        "body",
                        "must be a multipart/form-data upload with at least one part",
                    )
                })?;
            let file = parts
                .iter()
                .find(|p| p.filename.is_some())
                .unwrap_or(&parts[0]);
            ctx.know("size_bytes", Value::from(file.size));
            let dest = parts
                .iter()
                .find(|p| p.name.as_deref() == Some("path"))
                .and_then(|p| p.text.clone())
                .or_else(|| file.filename.clone());
            if let Some(dest) = dest {
                ctx.know("path", Value::String(dest));
            }
        }
    }
    Ok(success(op, &ctx))
}

fn redirect(path: &str, target: &str) -> Response {
    let location = match path.rsplit_once('/') {
        Some((prefix, _)) => format!("{prefix}/{target}"),
        None => target.to_string(),
    };
    let body = json!({
        "error": "moved_permanently",
        "message": format!(
            "Deprecated: this operation moved permanently to POST {location} (removal scheduled for 2026-06-10)"
        ),
    });
    let mut resp = (StatusCode::PERMANENT_REDIRECT, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

fn success(op: &Operation, ctx: &GenCtx<'_>) -> Response {
    let status = op
        .success
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    if op.template == MCP_PATH {
        let body = json!({
            "jsonrpc": "2.0",
            "id": null,
            "error": {
                "code": -32601,
                "message": "The Duvo emulator does not serve MCP over HTTP; run duvo-mcp against it instead",
            },
        });
        (status, Json(body)).into_response()
    } else if status == StatusCode::NO_CONTENT {
        status.into_response()
    } else if let Some(media) = op.media {
        let title = if op.id.contains("Skill") {
            "Sample skill"
        } else {
            "Sample dashboard"
        };
        let bytes = super::media::body_for(media, title);
        let mut r = (status, bytes).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
        r
    } else {
        let body = op
            .response(status.as_u16())
            .and_then(|r| r.schema.as_ref())
            .map(|s| generate(s, ctx))
            .unwrap_or_else(|| json!({}));
        (status, Json(body)).into_response()
    }
}
