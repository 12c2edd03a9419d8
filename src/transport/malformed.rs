//! Every answer to malformed JSON-RPC, whichever way it arrived.
//!
//! - **Lines** (stdio, [`super::lines`]): rmcp's own stdio transport drops unparsable lines
//!   silently and answers well-formed JSON it cannot read as a message with an error that carries
//!   no `id`, so a client waiting on that id waits forever (found by `tests/fuzz_props.rs`).
//!   [`classify`] reads each line: a message rmcp can read goes to the handler; anything else gets
//!   exactly one JSON-RPC error that echoes the request's id when it has a usable one (`null`
//!   otherwise). Malformed notifications and responses get no answer (JSON-RPC never answers
//!   those).
//! - **HTTP bodies** (`POST /mcp`): [`answer_unreadable`] gives the same errors with 400.
//! - **Typed requests with unfitting params** (any transport): [`custom_request_error`].

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use http::{HeaderValue, Method, StatusCode, header};
use rmcp::model::{ClientJsonRpcMessage, ErrorCode, ErrorData, RequestId};
use serde_json::{Value, json};

/// JSON-RPC: invalid JSON.
pub(crate) const PARSE_ERROR: i64 = -32700;
/// JSON-RPC: not a valid request object.
pub(crate) const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC: the method's params do not fit.
const INVALID_PARAMS: i64 = -32602;

/// What to do with one input line.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// A message for the handler.
    Message(Box<ClientJsonRpcMessage>),
    /// Answer with this JSON-RPC error.
    Answer(Value),
    /// Nothing to do (blank line, malformed notification or response).
    Skip,
}

/// Reads one line (without its `\n`).
pub(crate) fn classify(line: &[u8]) -> Outcome {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Outcome::Skip;
    }
    if let Ok(msg) = serde_json::from_slice::<ClientJsonRpcMessage>(line) {
        return Outcome::Message(Box::new(msg));
    }
    let value = match serde_json::from_slice::<Value>(line) {
        Ok(v) => v,
        Err(e) => {
            let what = if std::str::from_utf8(line).is_err() {
                "not UTF-8".to_owned()
            } else {
                e.to_string()
            };
            return Outcome::Answer(error(
                Value::Null,
                PARSE_ERROR,
                format!("Parse error: {what}"),
            ));
        }
    };
    let obj = match value {
        Value::Object(obj) => obj,
        Value::Array(_) => {
            return Outcome::Answer(error(
                Value::Null,
                INVALID_REQUEST,
                "Invalid Request: batches are not supported; send one JSON-RPC message per line"
                    .into(),
            ));
        }
        _ => {
            return Outcome::Answer(error(
                Value::Null,
                INVALID_REQUEST,
                "Invalid Request: expected a JSON-RPC message object".into(),
            ));
        }
    };
    let Some(method) = obj.get("method") else {
        if obj.contains_key("result") || obj.contains_key("error") {
            tracing::debug!("ignoring a malformed response from the client");
            return Outcome::Skip;
        }
        let id = usable_id(obj.get("id")).unwrap_or(Value::Null);
        return Outcome::Answer(error(
            id,
            INVALID_REQUEST,
            "Invalid Request: no method".into(),
        ));
    };
    let Some(raw_id) = obj.get("id") else {
        tracing::debug!("ignoring a malformed notification");
        return Outcome::Skip;
    };
    let Some(id) = usable_id(Some(raw_id)) else {
        return Outcome::Answer(error(
            Value::Null,
            INVALID_REQUEST,
            "Invalid Request: id must be a string or an integer".into(),
        ));
    };
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Outcome::Answer(error(
            id,
            INVALID_REQUEST,
            "Invalid Request: jsonrpc must be \"2.0\"".into(),
        ));
    }
    let Some(method) = method.as_str() else {
        return Outcome::Answer(error(
            id,
            INVALID_REQUEST,
            "Invalid Request: method must be a string".into(),
        ));
    };
    let why = match obj.get("params") {
        Some(Value::Object(_)) | None => "they do not match the method's schema",
        Some(_) => "params must be an object",
    };
    Outcome::Answer(error(
        id,
        INVALID_PARAMS,
        format!("Invalid params for {method}: {why}"),
    ))
}

/// The JSON-RPC error the stdio transport answers `line` (without its `\n`) with, or `None` when the
/// line goes to the handler or needs no answer. For tests and the fuzz targets.
pub fn error_for_line(line: &[u8]) -> Option<Value> {
    match classify(line) {
        Outcome::Answer(answer) => Some(answer),
        Outcome::Message(_) | Outcome::Skip => None,
    }
}

/// The id as JSON when it is one rmcp accepts (a string or an integer, `1.0` and `-0.0`
/// included), written as rmcp writes it in a response (`1`, `0`), so every answer to one id looks
/// the same whichever path produced it.
fn usable_id(id: Option<&Value>) -> Option<Value> {
    let id = serde_json::from_value::<RequestId>(id?.clone()).ok()?;
    serde_json::to_value(id).ok()
}

/// The answer to a line longer than `max` bytes (dropped unread).
pub(crate) fn too_long(max: usize) -> Value {
    error(
        Value::Null,
        INVALID_REQUEST,
        format!("Invalid Request: a message longer than {max} bytes was dropped"),
    )
}

fn error(id: Value, code: i64, message: String) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

// ---- Streamable HTTP: bodies rmcp cannot read ----
//
// rmcp answers a `POST /mcp` body it cannot read as a JSON-RPC message with `415 Unsupported
// Media Type` and a plain-text line, although the media type was right and the body was wrong
// (found by `tests/fuzz_props.rs`). [`answer_unreadable`] keeps the body, and when rmcp says 415
// to a request that did declare `application/json`, answers `400 Bad Request` with the same
// JSON-RPC error the stdio transport gives (the request's id when it has a usable one, else
// `null`): parse error, invalid request or invalid params.

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
            "code": INVALID_REQUEST, "message": "Invalid Request: not a JSON-RPC request"}})
    });
    let mut out = (StatusCode::BAD_REQUEST, answer.to_string()).into_response();
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    out
}

// ---- Typed requests whose params do not fit ----
//
// rmcp turns a request for a known MCP method whose params do not fit (e.g. `tools/call` without
// `name`, or with `arguments` that are not an object) into a custom request, whose default answer
// is `-32601 Method not found` with the bare method name as message. That tells the client the
// wrong thing; [`custom_request_error`] says what is wrong with the params instead.

/// MCP client request methods that may reach `on_custom_request` only with malformed params.
const MCP_METHODS: &[(&str, &str)] = &[
    ("tools/call", "{\"name\": string, \"arguments\": object}"),
    ("tools/list", "{\"cursor\"?: string}"),
    ("resources/read", "{\"uri\": string}"),
    ("resources/list", "{\"cursor\"?: string}"),
    ("resources/templates/list", "{\"cursor\"?: string}"),
    (
        "prompts/get",
        "{\"name\": string, \"arguments\"?: {string: string}}",
    ),
    ("prompts/list", "{\"cursor\"?: string}"),
    (
        "completion/complete",
        "{\"ref\": object, \"argument\": {\"name\", \"value\"}}",
    ),
];

/// The answer to a request rmcp delivered as a custom request.
pub fn custom_request_error(method: &str, params: Option<&Value>) -> ErrorData {
    let Some((_, expected)) = MCP_METHODS.iter().find(|(m, _)| *m == method) else {
        return ErrorData::new(
            ErrorCode::METHOD_NOT_FOUND,
            format!("method not found: {method}"),
            None,
        );
    };
    let why = match params {
        None => "params are missing",
        Some(Value::Object(_)) => "params do not match the method's schema",
        Some(_) => "params must be an object",
    };
    ErrorData::invalid_params(
        format!("invalid params for {method}: {why}; expected {expected}"),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(line: &str) -> Value {
        match classify(line.as_bytes()) {
            Outcome::Answer(v) => v,
            other => panic!("{line}: expected an answer, got {other:?}"),
        }
    }

    #[test]
    fn messages_pass_and_blank_lines_are_skipped() {
        assert!(matches!(
            classify(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
            Outcome::Message(_)
        ));
        assert!(matches!(
            classify("\u{feff}{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r".as_bytes()),
            Outcome::Message(_)
        ));
        assert!(matches!(classify(b"  \r"), Outcome::Skip));
    }

    #[test]
    fn malformed_requests_are_answered_with_their_id() {
        let a = answer(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":"x"}"#);
        assert_eq!(a["id"], 7);
        assert_eq!(a["error"]["code"], INVALID_PARAMS);
        let a = answer(r#"{"jsonrpc":"1.0","id":"a","method":"ping"}"#);
        assert_eq!(a["id"], "a");
        assert_eq!(a["error"]["code"], INVALID_REQUEST);
        let a = answer(r#"{"jsonrpc":"2.0","id":8,"method":5}"#);
        assert_eq!(
            (a["id"].clone(), a["error"]["code"].clone()),
            (json!(8), json!(INVALID_REQUEST))
        );
    }

    #[test]
    fn integral_float_ids_are_answered_as_integers() {
        for (line, id) in [
            (
                r#"{"jsonrpc":"2.0","id":-0.0,"method":"tools/call","params":"x"}"#,
                0,
            ),
            (r#"{"jsonrpc":"1.0","id":7.0,"method":"ping"}"#, 7),
            (r#"{"jsonrpc":"2.0","id":1e2,"method":5}"#, 100),
        ] {
            let a = answer(line);
            assert_eq!(a["id"], json!(id), "{line}: {a}");
            assert!(a["id"].is_i64(), "{line}: {a}");
        }
    }

    #[test]
    fn unusable_ids_batches_and_garbage_get_a_null_id() {
        for line in [
            r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":9007199254740992.0,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":9223372036854775808,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
            r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
            r#""text""#,
            "not json",
            "[[[[[",
        ] {
            let a = answer(line);
            assert!(a["id"].is_null(), "{line}: {a}");
            assert!(a["error"]["code"].is_i64(), "{line}: {a}");
        }
        let a = match classify(b"\xff\xfe{") {
            Outcome::Answer(v) => v,
            other => panic!("{other:?}"),
        };
        assert_eq!(a["error"]["code"], PARSE_ERROR);
    }

    #[test]
    fn malformed_notifications_and_responses_are_not_answered() {
        assert!(matches!(
            classify(br#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":5}"#),
            Outcome::Skip
        ));
        assert!(matches!(
            classify(br#"{"jsonrpc":"2.0","id":3,"result":5,"error":1}"#),
            Outcome::Skip
        ));
    }

    #[test]
    fn known_methods_get_invalid_params_and_others_method_not_found() {
        let e = custom_request_error("tools/call", Some(&json!({"arguments": [1]})));
        assert_eq!(e.code, ErrorCode::INVALID_PARAMS);
        assert!(e.message.contains("tools/call") && e.message.contains("name"));
        let e = custom_request_error("tools/call", None);
        assert!(e.message.contains("missing"), "{}", e.message);
        let e = custom_request_error("no/such", None);
        assert_eq!(e.code, ErrorCode::METHOD_NOT_FOUND);
        assert!(e.message.contains("no/such"));
    }
}
