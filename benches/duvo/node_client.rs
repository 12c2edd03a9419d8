//! Per-call `/mcp` latency from a Node client (the TypeScript SDK, `node_latency.mjs`), so a
//! delayed-ACK stall (~40 ms per response without TCP_NODELAY) shows up in the figures. Skipped,
//! with the reason, when `node` or the SDK (`tests/external/node_modules`, installed by `.ci/run`;
//! or `DUVO_BENCH_NODE_MODULES`) is missing.

use crate::stats::Samples;
use anyhow::Context;
use std::path::PathBuf;
use std::time::Duration;

/// What the Node client measured, or why it did not run.
pub enum NodeLatency {
    /// Figures: the SDK version, `tools/list` and `ping` latencies.
    Measured {
        /// `@modelcontextprotocol/sdk` version.
        sdk: String,
        /// `tools/list` per call.
        tools_list: Samples,
        /// `ping` per call.
        ping: Samples,
    },
    /// Not measured, and why.
    Skipped(String),
}

fn node_modules() -> PathBuf {
    std::env::var_os("DUVO_BENCH_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/external/node_modules")
        })
}

/// Runs `calls` `tools/list` and `ping` calls on one session at `base`/mcp.
pub async fn measure(base: &str, calls: usize) -> NodeLatency {
    match run(base, calls).await {
        Ok(m) => m,
        Err(e) => NodeLatency::Skipped(format!("{e:#}")),
    }
}

async fn run(base: &str, calls: usize) -> anyhow::Result<NodeLatency> {
    let modules = node_modules();
    if !modules.join("@modelcontextprotocol/sdk").is_dir() {
        anyhow::bail!(
            "no @modelcontextprotocol/sdk in {} (run .ci/run)",
            modules.display()
        );
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/duvo/node_latency.mjs");
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("node")
            .arg(&script)
            .arg(format!("{base}/mcp"))
            .arg(calls.to_string())
            .env("NODE_PATH", &modules)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .context("node client timed out")?
    .context("running node")?;
    if !out.status.success() {
        anyhow::bail!(
            "node client failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("reading the node client's JSON")?;
    let samples = |key: &str| {
        let mut s = Samples::default();
        for ms in v[key].as_array().into_iter().flatten() {
            if let Some(ms) = ms.as_f64() {
                s.push(Duration::from_secs_f64(ms / 1000.0));
            }
        }
        s
    };
    Ok(NodeLatency::Measured {
        sdk: v["sdk"].as_str().unwrap_or("?").to_owned(),
        tools_list: samples("tools_list_ms"),
        ping: samples("ping_ms"),
    })
}
