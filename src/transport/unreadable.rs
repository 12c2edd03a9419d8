//! `POST /mcp` bodies rmcp cannot read as a JSON-RPC message get a JSON-RPC error with 400.
//!
//! rmcp answers such a body with `415 Unsupported Media Type` and a plain-text line, although the
//! media type was right and the body was wrong (found by `tests/fuzz_props.rs`). This layer keeps
//! the body, and when rmcp says 415 to a request that did declare `application/json`, answers
//! `400 Bad Request` with the same JSON-RPC error the stdio transport gives (the request's id when
//! it has a usable one, else `null`): parse error, invalid request or invalid params.

use crate::transport::lines::error_for_line;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use http::{HeaderValue, Method, StatusCode, header};
use serde_json::json;

/// Whether the request declares a JSON body.
fn declares_json(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// The middleware (a route layer of `/mcp`, inside the session caps); `max_body` as rmcp's.
pub async fn answer_unreadable(
    State(max_body): State<usize>,
    req: Request,
    next: Next,
) -> Response {
    if req.method() != Method::POST || !declares_json(&req) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    // rmcp reads the body whole anyway; the same bound applies here.
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return (StatusCode::BAD_REQUEST, "Bad Request: unreadable body\n").into_response();
        };
        if buf.len() + chunk.len() > max_body {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("Payload Too Large: the limit is {max_body} bytes\n"),
            )
                .into_response();
        }
        buf.extend_from_slice(&chunk);
    }
    let bytes = Bytes::from(buf);
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes.clone())))
        .await;
    if resp.status() != StatusCode::UNSUPPORTED_MEDIA_TYPE {
        return resp;
    }
    let answer = error_for_line(&bytes).unwrap_or_else(|| {
        json!({"jsonrpc": "2.0", "id": null, "error": {
            "code": -32600, "message": "Invalid Request: not a JSON-RPC request"}})
    });
    let mut out = (StatusCode::BAD_REQUEST, answer.to_string()).into_response();
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    out
}
