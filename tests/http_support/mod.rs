//! Harness for the `duvo-mcp http` tests: spawns the binary on a random loopback port and speaks
//! MCP to it over raw HTTP (Streamable HTTP, legacy and 2026-07-28, and the legacy SSE transport),
//! so every header and status code is visible to the test.
#![allow(dead_code)]

use futures::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use std::process::Stdio;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// Bound on every wait in these tests.
pub const WAIT: Duration = Duration::from_secs(20);
/// Environment variables cleared before spawning, so the host's settings never leak in.
const CLEARED: [&str; 30] = [
    "DUVO_API_KEY",
    "DUVO_API_BASE_URL",
    "DUVO_TEAM_ID",
    "DUVO_TOOLSETS",
    "DUVO_TOOLS",
    "DUVO_EXCLUDE_TOOLS",
    "DUVO_READ_ONLY",
    "DUVO_MCP_LISTEN",
    "DUVO_MCP_ALLOWED_HOSTS",
    "DUVO_MCP_ALLOWED_ORIGINS",
    "DUVO_MCP_AUTH_TOKEN",
    "DUVO_MCP_PASSTHROUGH_AUTH",
    "DUVO_MCP_MAX_SESSIONS",
    "DUVO_MCP_MAX_STREAMS",
    "DUVO_MCP_MAX_SESSIONS_PER_CALLER",
    "DUVO_MCP_MAX_CONNECTIONS",
    "DUVO_MCP_HEADER_READ_TIMEOUT",
    "DUVO_MCP_BODY_READ_TIMEOUT",
    "DUVO_MCP_REDIS_URL",
    "DUVO_MCP_STATE_KEY",
    "DUVO_MCP_STATE_KEY_PREVIOUS",
    "DUVO_MCP_STATELESS",
    "DUVO_MCP_LOG_FORMAT",
    "DUVO_MCP_OAUTH_ISSUER",
    "DUVO_MCP_PUBLIC_URL",
    "DUVO_MCP_OAUTH_CLIENT_ID",
    "DUVO_MCP_OAUTH_CLIENT_SECRET",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "DUVO_OPENAPI_CACHE_DIR",
    "DUVO_OPENAPI_TIMEOUT",
];

/// A running `duvo-mcp http` child.
pub struct Server {
    /// The process (killed on drop).
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Everything it wrote to stderr so far.
    pub stderr: Arc<Mutex<String>>,
}

impl Server {
    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("child still running")
    }

    /// Stderr so far.
    pub fn log(&self) -> String {
        self.stderr.lock().expect("stderr lock").clone()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits (bounded) for the process to exit; returns its exit code.
    pub async fn wait_exit(&mut self, bound: Duration) -> Option<i32> {
        tokio::time::timeout(bound, self.child.wait())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "duvo-mcp did not exit within {bound:?}; log:\n{}",
                    self.log()
                )
            })
            .expect("wait for child")
            .code()
    }
}

/// `duvo-mcp http`, or, when this harness is compiled into the conformance crate's tests, its
/// fixture server (which takes the same flags).
fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = match option_env!("CARGO_BIN_EXE_duvo-mcp-conformance") {
        Some(fixtures) => Command::new(fixtures),
        None => {
            let mut cmd = Command::new(option_env!("CARGO_BIN_EXE_duvo-mcp").unwrap_or("duvo-mcp"));
            cmd.arg("http");
            cmd
        }
    };
    cmd.args(args);
    for k in CLEARED {
        cmd.env_remove(k);
    }
    cmd.env("DUVO_MCP_LOG", "debug");
    // The bundled snapshot unless a test names another spec (no internet in tests).
    cmd.env("DUVO_OPENAPI_URL", "off");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// Spawns `duvo-mcp http --listen 127.0.0.1:0 <args>` and waits until it prints its URL.
pub async fn spawn(args: &[&str], env: &[(&str, &str)]) -> Server {
    let mut all = Vec::new();
    if !args.contains(&"--listen") {
        all.extend(["--listen", "127.0.0.1:0"]);
    }
    all.extend_from_slice(args);
    let mut child = command(&all, env).spawn().expect("spawn duvo-mcp http");
    let stderr = child.stderr.take().expect("stderr piped");
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, mut rx) = mpsc::channel::<String>(1);
    let sink = log.clone();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        let mut tx = Some(tx);
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.split("listening on http://").nth(1)
                && let Some(t) = tx.take()
            {
                let host = rest.split_whitespace().next().unwrap_or_default();
                let url = format!("http://{host}");
                let _ = t.send(url).await;
            }
            let mut s = sink.lock().expect("stderr lock");
            s.push_str(&line);
            s.push('\n');
        }
    });
    let base = tokio::time::timeout(WAIT, rx.recv())
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| {
            panic!(
                "duvo-mcp http did not start; stderr:\n{}",
                log.lock().expect("lock")
            )
        });
    Server {
        child,
        base,
        stderr: log,
    }
}

/// Runs `duvo-mcp http <args>` expecting it to refuse to start; returns (exit code, stderr).
pub async fn run_to_exit(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = tokio::time::timeout(WAIT, command(args, env).output())
        .await
        .expect("duvo-mcp exits")
        .expect("run duvo-mcp");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Headers from `(name, value)` pairs.
pub fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(
            HeaderName::from_bytes(k.as_bytes()).expect("header name"),
            HeaderValue::from_str(v).expect("header value"),
        );
    }
    h
}

/// A reqwest client with a bounded timeout.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(WAIT)
        .build()
        .expect("reqwest client")
}

/// An `initialize` request body.
pub fn initialize_body() -> Value {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "duvo-mcp-tests", "version": "1"}}})
}

/// Parses every JSON-RPC message in a JSON or SSE response body.
pub fn messages(content_type: &str, body: &str) -> Vec<Value> {
    if content_type.starts_with("application/json") {
        return serde_json::from_str::<Value>(body).into_iter().collect();
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect()
}

/// A raw response: status, headers and the JSON-RPC messages it carried.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// JSON-RPC messages in arrival order.
    pub messages: Vec<Value>,
    /// The raw body.
    pub body: String,
}

impl Reply {
    /// The message with a `result` or `error` (the response).
    pub fn response(&self) -> &Value {
        self.messages
            .iter()
            .find(|m| m.get("result").is_some() || m.get("error").is_some())
            .unwrap_or_else(|| panic!("no JSON-RPC response in {self:?}"))
    }

    /// The `result`, panicking on a JSON-RPC error.
    pub fn result(&self) -> &Value {
        let r = self.response();
        r.get("result")
            .unwrap_or_else(|| panic!("JSON-RPC error: {r}"))
    }

    /// Progress values of `notifications/progress` in this reply.
    pub fn progress(&self) -> Vec<f64> {
        progress_of(&self.messages)
    }
}

/// Progress values of `notifications/progress` messages.
pub fn progress_of(msgs: &[Value]) -> Vec<f64> {
    msgs.iter()
        .filter(|m| m["method"] == "notifications/progress")
        .filter_map(|m| m["params"]["progress"].as_f64())
        .collect()
}

/// POSTs `body` to `url` with MCP's Accept/Content-Type plus `extra` headers.
pub async fn post(url: &str, extra: &HeaderMap, body: &Value) -> Reply {
    post_raw(url, extra, serde_json::to_vec(body).expect("serialize")).await
}

/// POSTs raw bytes to `url` (MCP content headers plus `extra`).
pub async fn post_raw(url: &str, extra: &HeaderMap, body: Vec<u8>) -> Reply {
    let resp = http()
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .headers(extra.clone())
        .body(body)
        .send()
        .await
        .expect("POST");
    let status = resp.status();
    let headers = resp.headers().clone();
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = resp.text().await.unwrap_or_default();
    let messages = messages(&ct, &body);
    Reply {
        status,
        headers,
        messages,
        body,
    }
}

/// An MCP client over Streamable HTTP: a legacy session or stateless 2026-07-28 requests.
pub struct Mcp {
    url: String,
    headers: HeaderMap,
    /// The session id (legacy mode).
    pub session: Option<String>,
    next_id: AtomicI64,
}

impl Mcp {
    /// Opens a legacy session (`initialize` + `notifications/initialized`); `Err` is the refusal.
    pub async fn legacy(url: &str, headers: HeaderMap) -> Result<Self, Reply> {
        let reply = post(url, &headers, &initialize_body()).await;
        if reply.status != StatusCode::OK {
            return Err(reply);
        }
        let session = reply
            .headers
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .expect("Mcp-Session-Id header");
        let me = Self {
            url: url.to_owned(),
            headers,
            session: Some(session),
            next_id: AtomicI64::new(1),
        };
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let r = post(
            &me.url,
            &me.request_headers("notifications/initialized", None),
            &note,
        )
        .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "initialized: {}", r.body);
        Ok(me)
    }

    /// Stateless 2026-07-28 requests (no handshake).
    pub fn modern(url: &str, headers: HeaderMap) -> Self {
        Self {
            url: url.to_owned(),
            headers,
            session: None,
            next_id: AtomicI64::new(1),
        }
    }

    fn request_headers(&self, method: &str, name: Option<&str>) -> HeaderMap {
        let mut h = self.headers.clone();
        match &self.session {
            Some(s) => {
                h.insert(
                    "mcp-session-id",
                    HeaderValue::from_str(s).expect("session id"),
                );
                h.insert(
                    "mcp-protocol-version",
                    HeaderValue::from_static("2025-06-18"),
                );
            }
            None => {
                h.insert(
                    "mcp-protocol-version",
                    HeaderValue::from_static("2026-07-28"),
                );
                h.insert("mcp-method", HeaderValue::from_str(method).expect("method"));
                if let Some(n) = name {
                    h.insert("mcp-name", HeaderValue::from_str(n).expect("name"));
                }
            }
        }
        h
    }

    /// Sends one request; `progress` adds a progress token.
    pub async fn request(&self, method: &str, mut params: Value, progress: bool) -> Reply {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let name = params
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let mut meta = serde_json::Map::new();
        if progress {
            meta.insert("progressToken".into(), json!(format!("p{id}")));
        }
        if self.session.is_none() {
            meta.insert(
                "io.modelcontextprotocol/protocolVersion".into(),
                json!("2026-07-28"),
            );
            meta.insert(
                "io.modelcontextprotocol/clientCapabilities".into(),
                json!({}),
            );
            meta.insert(
                "io.modelcontextprotocol/clientInfo".into(),
                json!({"name": "duvo-mcp-tests", "version": "1"}),
            );
        }
        if !meta.is_empty() {
            params["_meta"] = Value::Object(meta);
        }
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        post(
            &self.url,
            &self.request_headers(method, name.as_deref()),
            &body,
        )
        .await
    }

    /// `tools/list` → tool names.
    pub async fn tool_names(&self) -> Vec<String> {
        let r = self.request("tools/list", json!({}), false).await;
        assert_eq!(r.status, StatusCode::OK, "tools/list: {}", r.body);
        r.result()["tools"]
            .as_array()
            .expect("tools array")
            .iter()
            .filter_map(|t| t["name"].as_str().map(str::to_owned))
            .collect()
    }

    /// `tools/call` → the reply.
    pub async fn call(&self, name: &str, args: Value) -> Reply {
        self.request(
            "tools/call",
            json!({"name": name, "arguments": args}),
            false,
        )
        .await
    }
}

/// The text of a tool result.
pub fn result_text(result: &Value) -> String {
    result["content"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// Names of the agents in a `listAgents` result.
pub fn agent_names(result: &Value) -> Vec<String> {
    result["structuredContent"]["agents"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// One SSE event: (event name, data).
pub type SseEvent = (String, String);

/// A client of the legacy HTTP+SSE transport.
pub struct SseClient {
    events: mpsc::Receiver<SseEvent>,
    /// Absolute URL to POST messages to.
    pub post_url: String,
    headers: HeaderMap,
    next_id: AtomicI64,
    /// Messages received but not yet consumed.
    backlog: Vec<Value>,
    /// The task reading the stream (aborted on drop, which closes the connection).
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for SseClient {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Opens `GET /sse`; `Err` carries the refusal status and body.
pub async fn sse_connect(
    base: &str,
    headers: HeaderMap,
) -> Result<SseClient, (StatusCode, String)> {
    let resp = reqwest::Client::new()
        .get(format!("{base}/sse"))
        .header("accept", "text/event-stream")
        .headers(headers.clone())
        .send()
        .await
        .expect("GET /sse");
    if resp.status() != StatusCode::OK {
        let status = resp.status();
        return Err((status, resp.text().await.unwrap_or_default()));
    }
    let (tx, mut rx) = mpsc::channel::<SseEvent>(256);
    let reader = tokio::spawn(async move {
        let mut stream = resp.bytes_stream();
        let mut buf = String::new();
        let (mut event, mut data) = (String::new(), String::new());
        while let Some(Ok(chunk)) = stream.next().await {
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(pos) = buf.find('\n') {
                let line = buf[..pos].trim_end_matches('\r').to_owned();
                buf.drain(..=pos);
                if line.is_empty() {
                    if !data.is_empty() || !event.is_empty() {
                        let ev = (std::mem::take(&mut event), std::mem::take(&mut data));
                        if tx.send(ev).await.is_err() {
                            return;
                        }
                    }
                } else if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    if !data.is_empty() {
                        data.push('\n');
                    }
                    data.push_str(v.trim_start());
                }
            }
        }
    });
    let first = tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("endpoint event in time")
        .expect("stream open");
    assert_eq!(
        first.0, "endpoint",
        "first SSE event names the POST endpoint"
    );
    Ok(SseClient {
        events: rx,
        post_url: format!("{base}{}", first.1),
        headers,
        next_id: AtomicI64::new(1),
        backlog: Vec::new(),
        reader,
    })
}

impl SseClient {
    /// POSTs one message; returns the status.
    pub async fn post(&self, msg: &Value) -> StatusCode {
        http()
            .post(&self.post_url)
            .header("content-type", "application/json")
            .headers(self.headers.clone())
            .json(msg)
            .send()
            .await
            .expect("POST /message")
            .status()
    }

    /// The next `message` event (bounded); `None` when the stream ended.
    pub async fn next_message(&mut self) -> Option<Value> {
        if !self.backlog.is_empty() {
            return Some(self.backlog.remove(0));
        }
        loop {
            let ev = tokio::time::timeout(WAIT, self.events.recv())
                .await
                .expect("SSE event in time")?;
            if ev.0 == "message" {
                return Some(serde_json::from_str(&ev.1).expect("message is JSON"));
            }
        }
    }

    /// Waits (bounded) until the stream ends.
    pub async fn wait_closed(&mut self, bound: Duration) -> bool {
        tokio::time::timeout(bound, async { while self.events.recv().await.is_some() {} })
            .await
            .is_ok()
    }

    /// Sends a request and collects messages until its response; returns all of them.
    pub async fn request(&mut self, method: &str, mut params: Value, progress: bool) -> Vec<Value> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        if progress {
            params["_meta"] = json!({"progressToken": format!("p{id}")});
        }
        let status = self
            .post(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{method} not accepted");
        let mut seen = Vec::new();
        loop {
            let m = self
                .next_message()
                .await
                .expect("stream open until the response");
            let done =
                m["id"] == json!(id) && (m.get("result").is_some() || m.get("error").is_some());
            seen.push(m);
            if done {
                return seen;
            }
        }
    }

    /// `initialize` + `notifications/initialized`.
    pub async fn initialize(&mut self) {
        let init = initialize_body()["params"].clone();
        let msgs = self.request("initialize", init, false).await;
        assert!(msgs.last().expect("response")["result"]["protocolVersion"].is_string());
        let status = self
            .post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }

    /// `tools/call` → the result object.
    pub async fn call(&mut self, name: &str, args: Value) -> Value {
        let msgs = self
            .request(
                "tools/call",
                json!({"name": name, "arguments": args}),
                false,
            )
            .await;
        msgs.last().expect("response")["result"].clone()
    }

    /// `tools/list` → names.
    pub async fn tool_names(&mut self) -> Vec<String> {
        let msgs = self.request("tools/list", json!({}), false).await;
        msgs.last().expect("response")["result"]["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .filter_map(|t| t["name"].as_str().map(str::to_owned))
            .collect()
    }
}
