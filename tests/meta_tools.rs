//! searchTools, callTool, read-only mode and the default list's context budget, over MCP.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};

fn names(v: &Value) -> Vec<String> {
    v["tools"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn default_list_fits_the_context_budget_and_has_the_meta_tools() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    let bytes = serde_json::to_vec(&json!({ "tools": tools }))
        .expect("json")
        .len();
    assert!(
        tools.len() <= 40,
        "{} tools in the default list",
        tools.len()
    );
    assert!(bytes <= 32_000, "default tools/list is {bytes} bytes");
    let listed: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert!(listed.contains(&"searchTools") && listed.contains(&"callTool"));
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn search_finds_unlisted_tools_with_full_schemas_and_call_runs_them() {
    let emu = start_emulator().await;
    let client = connect(&emu, emu.demo_key(), &["--toolsets", "jobs"], &[]).await;
    let listed: Vec<String> = client
        .list_all_tools()
        .await
        .expect("tools/list")
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    assert!(!listed.contains(&"listAgents".to_owned()));

    let found = call_ok(&client, "searchTools", json!({"query": "list assignments"})).await;
    assert_eq!(
        names(&found).first().map(String::as_str),
        Some("listAgents"),
        "{found}"
    );
    let first = &found["tools"][0];
    assert_eq!(first["inputSchema"]["type"], "object");
    // Hints in words (the full annotations block was dropped from answers to keep them small).
    assert_eq!(first["hints"], "read-only", "{found}");

    let via_call = call_ok(
        &client,
        "callTool",
        json!({"name": "listAgents", "arguments": {"limit": 2}}),
    )
    .await;
    assert_eq!(via_call["limit"], 2, "{via_call}");

    // Same validation and errors as a direct call.
    let text = call_err(
        &client,
        "callTool",
        json!({"name": "getAgent", "arguments": {"agent_id": "nope"}}),
    )
    .await;
    assert!(
        text.contains("agent_id") && text.contains("nothing was sent"),
        "{text}"
    );
    let text = call_err(&client, "callTool", json!({"name": "listAgentz"})).await;
    assert!(
        text.contains("listAgents") && text.contains("searchTools"),
        "{text}"
    );
    let limited = call_ok(&client, "searchTools", json!({"query": "run", "limit": 2})).await;
    assert_eq!(names(&limited).len(), 2);
    let text = call_err(&client, "searchTools", json!({"limit": 2})).await;
    assert!(text.contains("query"), "{text}");
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn read_only_hides_every_mutating_tool_and_call_tool_refuses_them() {
    let emu = start_emulator().await;
    let client = connect(
        &emu,
        emu.demo_key(),
        &["--read-only", "--toolsets", "all"],
        &[],
    )
    .await;
    let tools = client.list_all_tools().await.expect("tools/list");
    for t in &tools {
        let a = t.annotations.as_ref().expect("annotations");
        assert_eq!(
            a.read_only_hint,
            Some(true),
            "{} is listed in read-only mode",
            t.name
        );
    }
    let agent_id = agent_named(&client, "").await;
    let text = call_err(
        &client,
        "callTool",
        json!({"name": "startRun", "arguments": {"agent_id": agent_id}}),
    )
    .await;
    assert!(
        text.contains("read-only") && text.contains("nothing was sent"),
        "{text}"
    );
    let direct = call_err(&client, "startRun", json!({"agent_id": agent_id})).await;
    assert!(direct.contains("read-only"), "{direct}");
    let found = call_ok(
        &client,
        "searchTools",
        json!({"query": "start a job", "limit": 20}),
    )
    .await;
    assert!(!names(&found).contains(&"startRun".to_owned()), "{found}");
    let log = request_log(&emu).await;
    assert!(
        log.iter().all(|r| r["method"] == "GET"),
        "read-only sent a write: {log:?}"
    );
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn excluded_tools_are_unreachable_everywhere() {
    let emu = start_emulator().await;
    let client = connect(
        &emu,
        emu.demo_key(),
        &["--exclude-tools", "stopRun,listAgents"],
        &[],
    )
    .await;
    let found = call_ok(&client, "searchTools", json!({"query": "stop a job"})).await;
    assert!(!names(&found).contains(&"stopRun".to_owned()));
    let text = call_err(&client, "callTool", json!({"name": "listAgents"})).await;
    assert!(text.contains("disabled"), "{text}");
    client.cancel().await.ok();
    emu.shutdown().await;
}
