//! Raw HTTP straight to the emulator (no MCP), for the emulator's own tests.

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// One emulator answer: status, headers and the JSON body (`null` when the body is empty).
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

/// Reads `resp` whole; a body that is neither empty nor JSON fails the test, naming `what`.
pub async fn read(what: &str, resp: reqwest::Response) -> Resp {
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("read body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{what}: body is not JSON ({e}): {text}"))
    };
    Resp {
        status,
        headers,
        body,
    }
}

/// Sends `method path` to the emulator at `base_url` with an optional Bearer `key`, JSON `body`
/// and `Idempotency-Key`, and reads the answer.
pub async fn send(
    http: &reqwest::Client,
    base_url: &str,
    (method, path): (Method, &str),
    key: Option<&str>,
    body: Option<&Value>,
    idem: Option<&str>,
) -> Resp {
    let mut req = http.request(method.clone(), format!("{base_url}{path}"));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    if let Some(i) = idem {
        req = req.header("Idempotency-Key", i);
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    read(&format!("{method} {path}"), resp).await
}
