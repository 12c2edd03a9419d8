//! Memory: resident set size of the servers idle, and of `duvo-mcp http` holding many open,
//! initialized `/sse` sessions.

use crate::procs;
use crate::sse_client::SseSession;
use crate::stdio_client::StdioSession;
use futures::StreamExt;
use serde_json::json;
use std::time::Duration;

/// Pause before reading RSS, so the allocator settles.
const SETTLE: Duration = Duration::from_millis(500);

/// RSS figures in KiB.
pub struct Memory {
    /// `duvo-mcp stdio` after `initialize` and `tools/list`.
    pub stdio_idle_kib: u64,
    /// `duvo-mcp http` after start and one health check.
    pub http_idle_kib: u64,
    /// `duvo-mcp http` holding `sessions` initialized `/sse` sessions.
    pub http_sse_kib: u64,
    /// Sessions open at the second reading.
    pub sessions: usize,
}

/// Measures with `sessions` SSE sessions (the server's caps raised above that).
pub async fn measure(emulator_base: &str, sessions: usize) -> anyhow::Result<Memory> {
    let mut stdio = StdioSession::spawn(emulator_base)?;
    stdio.initialize().await?;
    stdio
        .send(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
        .await?;
    stdio.wait_for(2).await?;
    tokio::time::sleep(SETTLE).await;
    let stdio_idle_kib = procs::rss_kib(stdio.child.id().unwrap_or(0))?;
    stdio.close().await;

    let cap = (sessions + 100).to_string();
    let server = procs::http_server(
        emulator_base,
        &["--max-sessions", &cap, "--max-streams", &cap],
    )
    .await?;
    let http = reqwest::Client::new();
    http.get(format!("{}/healthz", server.base))
        .send()
        .await?
        .error_for_status()?;
    tokio::time::sleep(SETTLE).await;
    let http_idle_kib = procs::rss_kib(server.pid())?;

    let opened: Vec<anyhow::Result<SseSession>> = futures::stream::iter(0..sessions)
        .map(|_| async {
            let s = SseSession::open(&server.base, &http).await?;
            s.initialize().await?;
            Ok(s)
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let mut open = Vec::with_capacity(sessions);
    for s in opened {
        open.push(s?);
    }
    tokio::time::sleep(SETTLE).await;
    let http_sse_kib = procs::rss_kib(server.pid())?;
    let sessions = open.len();
    drop(open);
    Ok(Memory {
        stdio_idle_kib,
        http_idle_kib,
        http_sse_kib,
        sessions,
    })
}
