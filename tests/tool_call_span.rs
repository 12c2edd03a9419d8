//! Every tool call runs in a `tool_call` span (tool, request id, attempts, upstream status,
//! duration); the client's requests and retries log inside it, so a retry names its call.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{binary, inject_fault, start_emulator};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use serde_json::json;
use std::process::Stdio;

#[tokio::test]
async fn a_retried_call_logs_its_attempts_inside_the_tool_call_span() {
    let emu = start_emulator().await;
    let log_dir = tempfile::tempdir().expect("temp dir");
    let log_path = log_dir.path().join("stderr.log");
    let log_file = std::fs::File::create(&log_path).expect("log file");
    let cmd = tokio::process::Command::new(binary()).configure(|c| {
        c.arg("stdio")
            .env_remove("DUVO_TEAM_ID")
            .env_remove("DUVO_TOOLSETS")
            .env_remove("DUVO_TOOLS")
            .env_remove("DUVO_EXCLUDE_TOOLS")
            .env_remove("DUVO_READ_ONLY")
            .env("DUVO_API_BASE_URL", emu.base_url())
            .env("DUVO_API_KEY", emu.demo_key())
            .env("DUVO_MCP_LOG", "warn,duvo_mcp=debug");
    });
    let (transport, _) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::from(log_file))
        .spawn()
        .expect("spawn duvo-mcp");
    let client = ().serve(transport).await.expect("MCP handshake");

    // One 503 the client retries: two attempts, the second answered 200 (`/v2/teams/` spares
    // the team look-up, `/v2/teams`).
    inject_fault(&emu, 503, 1, "/v2/teams/").await;
    let r = client
        .call_tool(
            CallToolRequestParams::new("listAgents")
                .with_arguments(json!({}).as_object().cloned().unwrap_or_default()),
        )
        .await
        .expect("tools/call");
    assert_ne!(r.is_error, Some(true), "{r:?}");
    client.cancel().await.ok();

    let log = std::fs::read_to_string(&log_path).expect("read stderr");
    let in_span: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("tool_call{tool=listAgents"))
        .collect();
    let requests = in_span
        .iter()
        .filter(|l| l.contains("duvo request"))
        .count();
    assert_eq!(
        requests, 3,
        "the team look-up and both attempts are child events of the call's span:\n{log}"
    );
    let finished = in_span
        .iter()
        .find(|l| l.contains("tool call finished"))
        .unwrap_or_else(|| panic!("no closing event in the span:\n{log}"));
    for field in [
        "request_id=",
        "attempts=2",
        "upstream_status=200",
        "is_error=false",
        "duration_ms=",
    ] {
        assert!(finished.contains(field), "{field} missing in {finished}");
    }
}
