//! A raw `duvo-mcp stdio` session: JSON-RPC lines in, lines out, nothing in between.

use crate::procs;
use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// Bound on waiting for one answer.
const ANSWER_WAIT: Duration = Duration::from_secs(30);

/// One `duvo-mcp stdio` child and its pipes (killed on drop).
pub struct StdioSession {
    /// The process.
    pub child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl StdioSession {
    /// Spawns `duvo-mcp stdio` against the emulator at `emulator_base`.
    pub fn spawn(emulator_base: &str) -> anyhow::Result<Self> {
        Self::spawn_binary(std::path::Path::new(procs::BINARY), emulator_base)
    }

    /// [`Self::spawn`] with another build of `duvo-mcp`.
    pub fn spawn_binary(binary: &std::path::Path, emulator_base: &str) -> anyhow::Result<Self> {
        let mut cmd = procs::command_of(binary, &["stdio"]);
        procs::server_env(&mut cmd, emulator_base);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().context("spawning duvo-mcp stdio")?;
        let stdin = child.stdin.take().context("stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("stdout")?).lines();
        Ok(Self {
            child,
            stdin,
            stdout,
        })
    }

    /// Writes one message as a line.
    pub async fn send(&mut self, msg: &Value) -> anyhow::Result<()> {
        let mut line = serde_json::to_vec(msg)?;
        line.push(b'\n');
        self.stdin.write_all(&line).await?;
        self.stdin.flush().await?;
        Ok(())
    }

    /// Reads lines until the response with `id`; returns that line.
    pub async fn wait_for(&mut self, id: i64) -> anyhow::Result<String> {
        let marker = format!("\"id\":{id},");
        let mut last = String::new();
        loop {
            let line = tokio::time::timeout(ANSWER_WAIT, self.stdout.next_line())
                .await
                .with_context(|| format!("no answer to request {id} in time; last line: {last}"))??
                .context("duvo-mcp closed stdout")?;
            if line.contains(&marker) {
                return Ok(line);
            }
            last = line.chars().take(300).collect();
        }
    }

    /// Sends `initialize` (id 1) and `notifications/initialized`.
    pub async fn initialize(&mut self) -> anyhow::Result<()> {
        self.send(&initialize(1)).await?;
        self.wait_for(1).await?;
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await
    }

    /// Calls `getRun` with request id `id`; `true` when the tool succeeded.
    pub async fn get_run(&mut self, id: i64, run_id: &str) -> anyhow::Result<bool> {
        self.send(&get_run_request(id, run_id)).await?;
        let line = self.wait_for(id).await?;
        let v: Value = serde_json::from_str(&line)?;
        if v.get("error").is_some() {
            bail!("getRun failed: {line}");
        }
        Ok(v["result"]["isError"] != true)
    }

    /// Closes stdin and waits (bounded) for the process to exit.
    pub async fn close(mut self) {
        drop(self.stdin);
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// An `initialize` request.
pub fn initialize(id: i64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "duvo-bench", "version": "1"}}})
}

/// A `tools/call` of `getRun`.
pub fn get_run_request(id: i64, run_id: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": "getRun", "arguments": {"run_id": run_id}}})
}
