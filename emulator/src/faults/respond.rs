//! The faulty answers themselves: error envelopes, 429s, dropped connections, broken bodies.
//!
//! A dropped connection is a response body that fails: hyper buffers the status line and
//! headers, polls the body, and on its error closes the connection without flushing anything
//! (`drop_before`). Mid-response drops first hand over part of the body and pause so hyper
//! flushes the headers and that part, then fail (`drop_after_commit`); `content-length` is the
//! full length, so the client sees a short body.

use std::time::Duration;

use axum::body::{Body, Bytes, to_bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use futures::StreamExt;

use super::super::errors::ApiError;
use super::engine::Failure;

/// Largest response body a `*_after_commit` fault buffers.
const MAX_BODY: usize = 64 * 1024 * 1024;
/// How long a mid-response drop waits after the partial body, so it reaches the client.
const FLUSH_PAUSE: Duration = Duration::from_millis(20);

/// The answer to a failure that does not run the operation.
pub fn before(failure: &Failure, rate_limit: u32) -> Response {
    match failure {
        Failure::Error {
            status,
            retry_after,
        } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut err = ApiError::new(
                status,
                ApiError::code_for_status(status),
                format!(
                    "Injected fault: the emulator's fault profile answered {}",
                    status.as_u16()
                ),
            );
            if let Some(s) = retry_after {
                err = err.with_retry_after(*s);
            }
            err.into_response()
        }
        Failure::RateLimited { retry_after } => {
            let mut resp = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("Injected fault: rate limit storm; retry in {retry_after} s"),
            )
            .with_retry_after(*retry_after)
            .into_response();
            let reset = Utc::now().timestamp() + i64::try_from(*retry_after).unwrap_or(1);
            let h = resp.headers_mut();
            h.insert("x-ratelimit-limit", HeaderValue::from(rate_limit));
            h.insert("x-ratelimit-remaining", HeaderValue::from(0u32));
            h.insert("x-ratelimit-reset", HeaderValue::from(reset));
            resp
        }
        Failure::Malformed => {
            let body = r#"{"injected_fault": "malformed", "data": [{"id": "5d2c0e6a-1b3f-4c7d-9e8a-0f1b2c3d4e5f", "title": "tru"#;
            json_response(StatusCode::OK, Bytes::from_static(body.as_bytes()))
        }
        // Only the kinds above answer without running; the rest never reach here.
        Failure::DropBefore | Failure::DropAfterCommit | Failure::MalformedAfterCommit => dropped(),
    }
}

/// A response whose body fails at once: the connection closes with nothing sent.
pub fn dropped() -> Response {
    let stream = futures::stream::once(async { Err::<Bytes, std::io::Error>(abort()) });
    Response::new(Body::from_stream(stream))
}

/// The answer to a `*_after_commit` failure, given the operation's real response.
pub async fn after(failure: &Failure, resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = to_bytes(body, MAX_BODY).await.unwrap_or_default();
    let half = bytes.len() / 2;
    match failure {
        Failure::MalformedAfterCommit => {
            let cut = bytes.slice(..half.min(bytes.len().saturating_sub(1)));
            parts.headers.remove(header::CONTENT_LENGTH);
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Response::from_parts(parts, Body::from(cut))
        }
        _ => {
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
            let first = bytes.slice(..half);
            let stream = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(first) })
                .chain(futures::stream::once(async {
                    tokio::time::sleep(FLUSH_PAUSE).await;
                    Err::<Bytes, std::io::Error>(abort())
                }));
            Response::from_parts(parts, Body::from_stream(stream))
        }
    }
}

fn json_response(status: StatusCode, body: Bytes) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn abort() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        "injected fault: connection dropped",
    )
}
