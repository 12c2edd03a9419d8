//! Raw stdio: stdout carries JSON-RPC only, both protocol eras work, and the API key never leaks.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// Runs `duvo-mcp stdio` with `env`, writes `lines` to stdin, closes it, returns (stdout, stderr).
async fn raw_session(env: &[(&str, &str)], lines: &[Value], extra: &[&str]) -> (String, String) {
    let mut cmd = tokio::process::Command::new(binary());
    cmd.arg("stdio")
        .env_remove("DUVO_TEAM_ID")
        .env_remove("DUVO_TOOLSETS")
        .env_remove("DUVO_READ_ONLY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn duvo-mcp");
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel::<String>();
    let readers = tokio::spawn(async move {
        let read_out = async move {
            let mut out = Vec::new();
            let mut lines = BufReader::new(stdout).split(b'\n');
            while let Ok(Some(line)) = lines.next_segment().await {
                out.extend_from_slice(&line);
                out.push(b'\n');
                let _ = seen_tx.send(String::from_utf8_lossy(&line).into_owned());
            }
            out
        };
        let mut err = Vec::new();
        let (out, _) = tokio::join!(read_out, stderr.read_to_end(&mut err));
        (out, err)
    });
    for line in lines {
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write");
    }
    for line in extra {
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write");
    }
    stdin.flush().await.expect("flush");
    // Close stdin once every request in `lines` is answered (the server leaves soon after EOF,
    // cancelling what still runs), and give the raw `extra` lines a moment.
    let mut waiting: Vec<Value> = lines
        .iter()
        .filter(|l| l.get("method").is_some())
        .filter_map(|l| l.get("id").cloned())
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !waiting.is_empty() {
        let Ok(Some(line)) = tokio::time::timeout_at(deadline, seen.recv()).await else {
            break;
        };
        if let Ok(msg) = serde_json::from_str::<Value>(&line)
            && (msg.get("result").is_some() || msg.get("error").is_some())
        {
            waiting.retain(|id| *id != msg["id"]);
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(stdin);
    let (out, err) = tokio::time::timeout(Duration::from_secs(30), readers)
        .await
        .expect("server exits after stdin closes")
        .expect("reader task");
    let _ = child.kill().await;
    (
        String::from_utf8(out).expect("stdout is UTF-8"),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw-test", "version": "0"}}})
}

fn initialized() -> Value {
    json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
}

fn call(id: u64, name: &str, args: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": args}})
}

/// Parses every stdout line as a JSON-RPC 2.0 message; panics on anything else.
fn messages(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("non-JSON on stdout ({e}): {line:?}"));
            assert_eq!(v["jsonrpc"], "2.0", "not JSON-RPC 2.0: {line}");
            assert!(
                v.get("result").is_some() || v.get("error").is_some() || v.get("method").is_some(),
                "not a JSON-RPC message: {line}"
            );
            v
        })
        .collect()
}

fn response(msgs: &[Value], id: u64) -> &Value {
    msgs.iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("no response with id {id} in {msgs:?}"))
}

#[tokio::test]
async fn stdout_carries_only_json_rpc() {
    let emu = start_emulator().await;
    let missing = "00000000-0000-4000-8000-000000000000";
    let (stdout, stderr) = raw_session(
        &[
            ("DUVO_API_KEY", emu.demo_key()),
            ("DUVO_API_BASE_URL", emu.base_url()),
            ("DUVO_MCP_LOG", "debug"),
        ],
        &[
            initialize(),
            initialized(),
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
            call(3, "listAgents", json!({})),
            call(4, "getRun", json!({"run_id": missing})),
            call(5, "noSuchTool", json!({})),
        ],
        &[
            "this is not json",
            r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"listRuns","arguments":{}}}"#,
        ],
    )
    .await;
    let msgs = messages(&stdout);
    assert!(response(&msgs, 1)["result"]["serverInfo"]["name"] == "duvo-mcp");
    assert!(
        response(&msgs, 2)["result"]["tools"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    );
    assert!(response(&msgs, 3)["result"]["structuredContent"]["agents"].is_array());
    assert_eq!(response(&msgs, 4)["result"]["isError"], true);
    assert_eq!(response(&msgs, 5)["error"]["code"], -32602);
    // rmcp skips a malformed line; the session must go on and answer the next request.
    assert!(response(&msgs, 6)["result"]["structuredContent"]["data"].is_array());
    assert!(
        stderr.contains("duvo-mcp serving MCP on stdio"),
        "logs go to stderr: {stderr}"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn stateless_2026_requests_work_without_initialize() {
    let emu = start_emulator().await;
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "modern-test", "version": "0"}
    });
    let (stdout, _) = raw_session(
        &[("DUVO_API_KEY", emu.demo_key()), ("DUVO_API_BASE_URL", emu.base_url())],
        &[
            json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": meta}}),
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": meta}}),
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
                "name": "listAgents", "arguments": {"limit": 1}, "_meta": meta}}),
        ],
        &[],
    )
    .await;
    let msgs = messages(&stdout);
    let discover = response(&msgs, 1);
    assert!(
        discover["result"]["supportedVersions"]
            .as_array()
            .is_some_and(|v| v.iter().any(|x| x == "2026-07-28")),
        "{discover}"
    );
    assert!(
        response(&msgs, 2)["result"]["tools"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    );
    let listed = response(&msgs, 3);
    assert_eq!(
        listed["result"]["structuredContent"]["limit"], 1,
        "{listed}"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn the_api_key_appears_in_no_output_and_no_log_line() {
    let emu = start_emulator().await;
    let secret = "dv_LEAKCHECK_5b1e9c2d7a44";
    let missing = "00000000-0000-4000-8000-000000000000";
    inject_fault(&emu, 503, 3, "/v2/runs").await;
    let lines = [
        initialize(),
        initialized(),
        call(2, "listAgents", json!({})),
        call(3, "getRun", json!({"run_id": missing})),
        call(4, "startRun", json!({"agent_id": missing})),
        call(
            5,
            "listAgents",
            json!({"team_id": duvo_emulator::OTHER_TEAM_ID}),
        ),
        call(6, "startRun", json!({"bogus": true})),
    ];
    let (stdout, stderr) = raw_session(
        &[
            ("DUVO_API_KEY", secret),
            ("DUVO_API_BASE_URL", emu.base_url()),
            ("DUVO_MCP_LOG", "trace"),
        ],
        &lines,
        &[],
    )
    .await;
    messages(&stdout);
    assert!(
        stderr.lines().count() > 10,
        "trace logging was on: {stderr}"
    );
    assert!(!stdout.contains("LEAKCHECK"), "key leaked on stdout");
    assert!(!stderr.contains("LEAKCHECK"), "key leaked in logs");

    // Error paths: a rejected key, and an unreachable API.
    let bad = "sk_LEAKCHECK_not_a_duvo_key";
    for base in [emu.base_url(), "http://127.0.0.1:9"] {
        let (stdout, stderr) = raw_session(
            &[
                ("DUVO_API_KEY", bad),
                ("DUVO_API_BASE_URL", base),
                ("DUVO_TEAM_ID", duvo_emulator::DEMO_TEAM_ID),
                ("DUVO_MCP_LOG", "trace"),
            ],
            &[
                initialize(),
                initialized(),
                call(2, "listAgents", json!({})),
            ],
            &[],
        )
        .await;
        let msgs = messages(&stdout);
        assert_eq!(response(&msgs, 2)["result"]["isError"], true);
        assert!(
            !stdout.contains("LEAKCHECK") && !stderr.contains("LEAKCHECK"),
            "key leaked ({base})"
        );
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn missing_key_is_a_clear_startup_error() {
    let out = tokio::process::Command::new(binary())
        .arg("stdio")
        .env_remove("DUVO_API_KEY")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "nothing on stdout");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("DUVO_API_KEY") && err.contains("--demo"),
        "{err}"
    );
}
