//! Per-call overhead: `getRun` through MCP over stdio next to the same GET sent straight to the
//! emulator, interleaved in blocks so both see the same machine state.

use crate::stats::Samples;
use crate::stdio_client::StdioSession;
use anyhow::bail;
use std::time::Instant;

/// Calls per block of each kind.
const BLOCK: usize = 100;

/// Both latency distributions.
pub struct Overhead {
    /// `tools/call getRun` over stdio, write to answer read.
    pub mcp: Samples,
    /// `GET /v2/runs/{id}` with the same key, straight to the emulator.
    pub direct: Samples,
}

/// Runs `calls` of each kind (after a warm-up).
pub async fn measure(emulator_base: &str, run_id: &str, calls: usize) -> anyhow::Result<Overhead> {
    let http = reqwest::Client::new();
    let url = format!("{emulator_base}/v2/runs/{run_id}");
    let mut session = StdioSession::spawn(emulator_base)?;
    session.initialize().await?;
    let mut id = 10;
    let (mut mcp, mut direct) = (Samples::default(), Samples::default());
    let blocks = calls.div_ceil(BLOCK) + 1;
    for block in 0..blocks {
        let warmup = block == 0;
        for _ in 0..BLOCK {
            let t = Instant::now();
            let body = http
                .get(&url)
                .bearer_auth(duvo_emulator::DEMO_API_KEY)
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await?;
            let _: serde_json::Value = serde_json::from_slice(&body)?;
            if !warmup {
                direct.push(t.elapsed());
            }
        }
        for _ in 0..BLOCK {
            id += 1;
            let t = Instant::now();
            if !session.get_run(id, run_id).await? {
                bail!("getRun returned a tool error");
            }
            if !warmup {
                mcp.push(t.elapsed());
            }
        }
    }
    session.close().await;
    Ok(Overhead { mcp, direct })
}
