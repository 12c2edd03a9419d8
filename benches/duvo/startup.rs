//! Start-up: process start to the first `tools/list` answer over stdio.

use crate::stats::Samples;
use crate::stdio_client::{StdioSession, initialize};
use serde_json::json;
use std::time::Instant;

/// Start-up times and the size of the answer.
pub struct Startup {
    /// Spawn → `tools/list` answer read, per run.
    pub samples: Samples,
    /// Bytes of the `tools/list` response line (default tools).
    pub tools_list_bytes: usize,
}

/// Spawns `duvo-mcp stdio` `runs` times; each time sends `initialize`, `initialized` and
/// `tools/list` at once and times until the `tools/list` answer is read.
pub async fn measure(emulator_base: &str, runs: usize) -> anyhow::Result<Startup> {
    let mut samples = Samples::default();
    let mut tools_list_bytes = 0;
    for _ in 0..runs {
        let t0 = Instant::now();
        let mut s = StdioSession::spawn(emulator_base)?;
        s.send(&initialize(1)).await?;
        s.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await?;
        s.send(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
            .await?;
        let line = s.wait_for(2).await?;
        samples.push(t0.elapsed());
        tools_list_bytes = line.len();
        s.close().await;
    }
    Ok(Startup {
        samples,
        tools_list_bytes,
    })
}
