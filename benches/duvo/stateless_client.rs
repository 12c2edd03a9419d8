//! A small client of stateless `/mcp` (protocol 2026-07-28): every call is one POST carrying its
//! protocol version and capabilities in `_meta`, answered as one `application/json` body. The
//! counterpart of `sse_client.rs` (as lean), so the two transports are compared server to
//! server rather than client to client: rmcp's own client costs more per call than either.

use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicI64, Ordering};

/// The protocol version every request names.
const VERSION: &str = "2026-07-28";

/// One stateless client (no session: each call stands alone).
pub struct StatelessClient {
    url: String,
    http: reqwest::Client,
    next_id: AtomicI64,
}

impl StatelessClient {
    /// A client of `{base}/mcp`; checks it with `server/discover`.
    pub async fn open(base: &str, http: &reqwest::Client) -> anyhow::Result<Self> {
        let c = Self {
            url: format!("{base}/mcp"),
            http: http.clone(),
            next_id: AtomicI64::new(1),
        };
        let r = c.request("server/discover", None, json!({})).await?;
        if r.get("result").is_none() {
            bail!("server/discover failed: {r}");
        }
        Ok(c)
    }

    /// POSTs one request (with the SEP-2243 `Mcp-Method` / `Mcp-Name` headers) and parses the
    /// answer, JSON or a one-event SSE stream.
    async fn request(
        &self,
        method: &str,
        name: Option<&str>,
        params: Value,
    ) -> anyhow::Result<Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut params = params;
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": VERSION,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "duvo-bench", "version": "1"},
        });
        let mut req = self
            .http
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", VERSION)
            .header("mcp-method", method);
        if let Some(name) = name {
            req = req.header("mcp-name", name);
        }
        let resp = req
            .json(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .send()
            .await?;
        let status = resp.status();
        let is_sse = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let body = resp.bytes().await?;
        if !status.is_success() {
            bail!(
                "POST /mcp {method}: {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        if is_sse {
            let text = String::from_utf8_lossy(&body);
            return text
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .filter_map(|d| serde_json::from_str::<Value>(d.trim_start()).ok())
                .find(|m| m["id"].as_i64() == Some(id))
                .context("no answer in the event stream");
        }
        serde_json::from_slice(&body).context("answer is not JSON")
    }

    /// `tools/call getRun`; `true` when the tool succeeded.
    pub async fn get_run(&self, run_id: &str) -> anyhow::Result<bool> {
        let r = self
            .request(
                "tools/call",
                Some("getRun"),
                json!({"name": "getRun", "arguments": {"run_id": run_id}}),
            )
            .await?;
        Ok(r.get("result").is_some() && r["result"]["isError"] != true)
    }
}
