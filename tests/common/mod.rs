//! Shared harness: an in-process Duvo emulator and `duvo-mcp stdio` driven by rmcp's client.
#![allow(dead_code)]

use duvo_emulator::{self as emulator, EmulatorConfig, RunningEmulator};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A test MCP client connected to a `duvo-mcp stdio` child process.
pub type Client = RunningService<RoleClient, ()>;

/// Starts the emulator on an ephemeral loopback port with fast Jobs.
pub async fn start_emulator() -> RunningEmulator {
    start_emulator_with(EmulatorConfig {
        time_scale: 0.01,
        ..EmulatorConfig::default()
    })
    .await
}

/// Starts the emulator with `config` on an ephemeral loopback port.
pub async fn start_emulator_with(config: EmulatorConfig) -> RunningEmulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    emulator::start(listener, config)
        .await
        .expect("emulator starts")
}

/// The `duvo-mcp` binary built for this test run.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_duvo-mcp")
}

/// Spawns `duvo-mcp stdio` against `emu` with `key` and extra `args`/`env`, and connects.
pub async fn connect(
    emu: &RunningEmulator,
    key: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Client {
    ().serve(spawn(emu, key, args, env))
        .await
        .expect("MCP handshake")
}

/// Spawns `duvo-mcp stdio` against `emu`; the caller picks the client handler and lifecycle.
pub fn spawn(
    emu: &RunningEmulator,
    key: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> TokioChildProcess {
    let mut cmd = tokio::process::Command::new(binary());
    cmd.arg("stdio").args(args);
    let base = emu.base_url().to_owned();
    let key = key.to_owned();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let cmd = cmd.configure(move |c| {
        c.env_remove("DUVO_TEAM_ID")
            .env_remove("DUVO_TOOLSETS")
            .env_remove("DUVO_TOOLS")
            .env_remove("DUVO_EXCLUDE_TOOLS")
            .env_remove("DUVO_READ_ONLY")
            // The bundled snapshot unless a test names another spec (no internet in tests).
            .env("DUVO_OPENAPI_URL", "off")
            .env_remove("DUVO_OPENAPI_CACHE_DIR")
            .env_remove("DUVO_OPENAPI_TIMEOUT")
            .env("DUVO_API_BASE_URL", &base)
            .env("DUVO_API_KEY", &key);
        for (k, v) in &env {
            c.env(k, v);
        }
    });
    let (transport, _stderr) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn duvo-mcp");
    transport
}

/// Connects with the emulator's demo key and no extra options.
pub async fn connect_default(emu: &RunningEmulator) -> Client {
    connect(emu, emu.demo_key(), &[], &[]).await
}

/// Calls `name` with `args`; panics only on protocol errors.
pub async fn call<H: rmcp::ClientHandler>(
    client: &RunningService<RoleClient, H>,
    name: &str,
    args: Value,
) -> CallToolResult {
    let args = args.as_object().cloned().unwrap_or_default();
    client
        .call_tool(CallToolRequestParams::new(name.to_owned()).with_arguments(args))
        .await
        .unwrap_or_else(|e| panic!("{name}: protocol error {e}"))
}

/// Calls `name` and returns its structured content, panicking with the text if it is an error.
pub async fn call_ok<H: rmcp::ClientHandler>(
    client: &RunningService<RoleClient, H>,
    name: &str,
    args: Value,
) -> Value {
    let r = call(client, name, args).await;
    assert_ne!(r.is_error, Some(true), "{name} failed: {}", text(&r));
    r.structured_content
        .clone()
        .unwrap_or_else(|| panic!("{name}: no structuredContent"))
}

/// Calls `name`, expects an `isError` result, returns its text.
pub async fn call_err<H: rmcp::ClientHandler>(
    client: &RunningService<RoleClient, H>,
    name: &str,
    args: Value,
) -> String {
    let r = call(client, name, args).await;
    assert_eq!(
        r.is_error,
        Some(true),
        "{name} should fail, got {}",
        text(&r)
    );
    text(&r)
}

/// All text content of a result, joined.
pub fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The id of the first Assignment whose name contains `needle`.
pub async fn agent_named(client: &Client, needle: &str) -> String {
    let list = call_ok(client, "listAgents", json!({"limit": 100})).await;
    list["agents"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|x| x["name"].as_str().is_some_and(|n| n.contains(needle)))
        })
        .and_then(|a| a["id"].as_str())
        .unwrap_or_else(|| panic!("no Assignment named like {needle:?} in {list}"))
        .to_owned()
}

/// Creates an Assignment with a first build whose SOP is `sop`; returns its id.
pub async fn create_agent<H: rmcp::ClientHandler>(
    client: &RunningService<RoleClient, H>,
    name: &str,
    sop: &str,
) -> String {
    let created = call_ok(
        client,
        "createAgent",
        json!({
            "name": name,
            "build": {"name": "v1", "config": {"version": "v2", "data": {
                "models": {"agent": {"model": "claude-sonnet-4-6"},
                           "browsing": {"provider": "anthropic", "model": "claude-sonnet-4-5"}},
                "input": sop}}}
        }),
    )
    .await;
    created["agent"]["id"]
        .as_str()
        .expect("agent id")
        .to_owned()
}

/// Polls `getRun` until the status is one of `wanted` (bounded), returns the last `getRun` answer.
pub async fn wait_for_status<H: rmcp::ClientHandler>(
    client: &RunningService<RoleClient, H>,
    run_id: &str,
    wanted: &[&str],
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = call_ok(client, "getRun", json!({"run_id": run_id})).await;
        let status = got["run"]["status"].as_str().unwrap_or("").to_owned();
        if wanted.contains(&status.as_str()) {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "run {run_id} stuck in {status:?}, wanted {wanted:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Arms an emulator fault: the next `count` requests under `path_prefix` fail with `status`.
pub async fn inject_fault(emu: &RunningEmulator, status: u16, count: u32, path_prefix: &str) {
    let resp = reqwest::Client::new()
        .post(format!("{}/_emulator/faults", emu.base_url()))
        .json(&json!({"status": status, "count": count, "retry_after": 1, "path_prefix": path_prefix}))
        .send()
        .await
        .expect("fault endpoint");
    assert!(
        resp.status().is_success(),
        "fault not armed: {}",
        resp.status()
    );
}

/// The emulator's log of requests seen.
pub async fn request_log(emu: &RunningEmulator) -> Vec<Value> {
    reqwest::Client::new()
        .get(format!("{}/_emulator/requests", emu.base_url()))
        .send()
        .await
        .expect("request log")
        .json::<Value>()
        .await
        .expect("request log JSON")
        .as_array()
        .cloned()
        .unwrap_or_default()
}
