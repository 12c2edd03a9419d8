//! A small client of the legacy HTTP+SSE transport: `GET /sse` (reqwest streaming), then
//! JSON-RPC POSTed to the endpoint it names, answers matched by id from the event stream.

use anyhow::{Context, bail};
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// Bound on the endpoint event and on every answer.
const WAIT: Duration = Duration::from_secs(30);

type Pending = Arc<Mutex<HashMap<i64, oneshot::Sender<Value>>>>;

/// One open `/sse` session (the stream closes on drop).
pub struct SseSession {
    post_url: String,
    http: reqwest::Client,
    pending: Pending,
    next_id: AtomicI64,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for SseSession {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl SseSession {
    /// Opens `GET {base}/sse` and waits for the `endpoint` event.
    pub async fn open(base: &str, http: &reqwest::Client) -> anyhow::Result<Self> {
        let resp = http
            .get(format!("{base}/sse"))
            .header("accept", "text/event-stream")
            .send()
            .await?;
        if !resp.status().is_success() {
            bail!("GET /sse: {}", resp.status());
        }
        let pending: Pending = Arc::default();
        let (endpoint_tx, endpoint_rx) = oneshot::channel::<String>();
        let reader = tokio::spawn(read_events(resp, pending.clone(), endpoint_tx));
        let path = tokio::time::timeout(WAIT, endpoint_rx)
            .await
            .context("no endpoint event in time")?
            .context("stream closed before the endpoint event")?;
        Ok(Self {
            post_url: format!("{base}{path}"),
            http: http.clone(),
            pending,
            next_id: AtomicI64::new(1),
            reader,
        })
    }

    /// POSTs one message; the transport answers 202.
    async fn post(&self, msg: &Value) -> anyhow::Result<()> {
        let resp = self.http.post(&self.post_url).json(msg).send().await?;
        if resp.status().as_u16() != 202 {
            bail!("POST /message: {}", resp.status());
        }
        Ok(())
    }

    /// Sends a request and waits for its response message.
    pub async fn request(&self, method: &str, params: Value) -> anyhow::Result<Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, tx);
        self.post(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await?;
        tokio::time::timeout(WAIT, rx)
            .await
            .context("no answer in time")?
            .context("stream closed")
    }

    /// `initialize` + `notifications/initialized`.
    pub async fn initialize(&self) -> anyhow::Result<()> {
        let init = crate::stdio_client::initialize(0)["params"].clone();
        let r = self.request("initialize", init).await?;
        if r.get("result").is_none() {
            bail!("initialize failed: {r}");
        }
        self.post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await
    }

    /// `tools/call getRun`; `true` when the tool succeeded.
    pub async fn get_run(&self, run_id: &str) -> anyhow::Result<bool> {
        let r = self
            .request(
                "tools/call",
                json!({"name": "getRun", "arguments": {"run_id": run_id}}),
            )
            .await?;
        Ok(r.get("result").is_some() && r["result"]["isError"] != true)
    }
}

/// Parses the event stream: the first `endpoint` event goes to `endpoint`, `message` events
/// with an id complete the matching pending request.
async fn read_events(resp: reqwest::Response, pending: Pending, endpoint: oneshot::Sender<String>) {
    let mut endpoint = Some(endpoint);
    let mut stream = resp.bytes_stream();
    let mut buf: Vec<u8> = Vec::new();
    let (mut event, mut data) = (String::new(), String::new());
    while let Some(Ok(chunk)) = stream.next().await {
        buf.extend_from_slice(&chunk);
        while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
            let raw: Vec<u8> = buf.drain(..=pos).collect();
            let line = String::from_utf8_lossy(&raw);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                let (name, body) = (std::mem::take(&mut event), std::mem::take(&mut data));
                if name == "endpoint" {
                    if let Some(tx) = endpoint.take() {
                        let _ = tx.send(body);
                    }
                } else if let Ok(msg) = serde_json::from_str::<Value>(&body)
                    && let Some(id) = msg["id"].as_i64()
                    && let Some(tx) = pending
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&id)
                {
                    let _ = tx.send(msg);
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
}
