//! How `duvo-mcp stdio` ends when its client closes stdin, over raw stdio: a discover-only
//! 2026-07-28 session exits 0 without an ERROR, and a call still running does not hold the
//! process past a host's kill deadline.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use duvo_emulator::EmulatorConfig;
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// Bound on any single read in these tests.
const READ_BOUND: Duration = Duration::from_secs(20);

struct Raw {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: tokio::io::Lines<BufReader<ChildStdout>>,
    stderr: tokio::task::JoinHandle<String>,
}

impl Raw {
    fn spawn(emu: &duvo_emulator::RunningEmulator) -> Self {
        let mut child = tokio::process::Command::new(binary())
            .arg("stdio")
            .env_remove("DUVO_TEAM_ID")
            .env_remove("DUVO_TOOLSETS")
            .env_remove("DUVO_READ_ONLY")
            .env("DUVO_API_KEY", emu.demo_key())
            .env("DUVO_API_BASE_URL", emu.base_url())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn duvo-mcp");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut err = child.stderr.take().expect("stderr");
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text).await;
            text
        });
        Self {
            child,
            stdin,
            stdout,
            stderr,
        }
    }

    async fn send(&mut self, msg: Value) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin
            .write_all(format!("{msg}\n").as_bytes())
            .await
            .expect("write");
        stdin.flush().await.expect("flush");
    }

    /// The next stdout message that satisfies `wanted`.
    async fn next_where(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        loop {
            let line = tokio::time::timeout(READ_BOUND, self.stdout.next_line())
                .await
                .expect("an answer in time")
                .expect("read stdout")
                .expect("stdout open");
            let msg: Value = serde_json::from_str(&line).expect("JSON-RPC on stdout");
            if wanted(&msg) {
                return msg;
            }
        }
    }

    /// Closes stdin; returns the exit status, the time from closing to exit, and stderr.
    async fn close_and_wait(mut self) -> (std::process::ExitStatus, Duration, String) {
        drop(self.stdin.take());
        let closed = Instant::now();
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("the server exits after stdin closes")
            .expect("wait");
        let took = closed.elapsed();
        let stderr = self.stderr.await.expect("stderr task");
        (status, took, stderr)
    }
}

fn modern_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "discover-only", "version": "0"}
    })
}

#[tokio::test]
async fn a_discover_only_session_exits_zero_without_an_error() {
    let emu = start_emulator().await;
    let mut raw = Raw::spawn(&emu);
    raw.send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover",
                    "params": {"_meta": modern_meta()}}),
    )
    .await;
    let answer = raw.next_where(|m| m["id"] == 1).await;
    assert!(answer.get("result").is_some(), "{answer}");
    let (status, _, stderr) = raw.close_and_wait().await;
    assert!(!stderr.contains("ERROR"), "stderr: {stderr}");
    assert!(status.success(), "exit {status:?}; stderr: {stderr}");
}

#[tokio::test]
async fn a_host_that_closes_stdin_at_once_sees_exit_zero() {
    let emu = start_emulator().await;
    let raw = Raw::spawn(&emu);
    let (status, _, stderr) = raw.close_and_wait().await;
    assert!(!stderr.contains("ERROR"), "stderr: {stderr}");
    assert!(status.success(), "exit {status:?}; stderr: {stderr}");
}

#[tokio::test]
async fn stdin_closed_with_a_call_running_exits_well_before_a_host_kills_it() {
    // Lifelike Job durations: a `[slow]` Job runs about 25 s.
    let emu = start_emulator_with(EmulatorConfig::default()).await;
    let mut raw = Raw::spawn(&emu);
    raw.send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "eof-test", "version": "0"}}}),
    )
    .await;
    raw.next_where(|m| m["id"] == 1).await;
    raw.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;
    raw.send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                    "params": {"name": "listAgents", "arguments": {"limit": 1}}}))
        .await;
    let agents = raw.next_where(|m| m["id"] == 2).await;
    let agent = agents["result"]["structuredContent"]["agents"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no Assignment in {agents}"))
        .to_owned();
    raw.send(
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
        "name": "runAssignment",
        "arguments": {"agent_id": agent, "message": "[slow] take your time", "wait_seconds": 60},
        "_meta": {"progressToken": "p"}}}),
    )
    .await;
    // The call is running once it reports progress.
    raw.next_where(|m| m["method"] == "notifications/progress")
        .await;

    let (status, took, stderr) = raw.close_and_wait().await;
    eprintln!("exited {took:?} after stdin closed");
    // Hosts kill a server about 2 s after closing its stdin; the server used to take 5 s.
    assert!(
        took < Duration::from_secs(3),
        "took {took:?} to exit after stdin closed; stderr: {stderr}"
    );
    assert!(status.success(), "exit {status:?}; stderr: {stderr}");
    assert!(!stderr.contains("ERROR"), "stderr: {stderr}");
}
