//! Realistic multi-step flows over MCP (all through `callTool`, as a model using the default
//! tool list would): Skills, Cases, folders, Schedules, Connections.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};

async fn op(client: &Client, name: &str, args: Value) -> Value {
    call_ok(client, "callTool", json!({"name": name, "arguments": args})).await
}

async fn op_err(client: &Client, name: &str, args: Value) -> String {
    call_err(client, "callTool", json!({"name": name, "arguments": args})).await
}

#[tokio::test]
async fn skill_create_list_update_download_delete() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let created = op(
        &client,
        "createSkill",
        json!({"name": "refund-policy", "description": "How to decide refunds.", "content": "# Refunds\nRefund within 30 days."}),
    )
    .await;
    let skill_id = created["skill"]["id"]
        .as_str()
        .or(created["id"].as_str())
        .unwrap_or_else(|| panic!("skill id in {created}"))
        .to_owned();
    let bad = op_err(
        &client,
        "createSkill",
        json!({"name": "Bad Name", "description": "x", "content": "y"}),
    )
    .await;
    assert!(bad.contains("400") && bad.contains("name"), "{bad}");

    let files = op(&client, "listSkillFiles", json!({"skill_id": skill_id})).await;
    assert!(files.to_string().contains("SKILL.md"), "{files}");
    op(
        &client,
        "updateSkillFile",
        json!({"skill_id": skill_id, "path": "references/limits.md", "content": "Max refund: 500 EUR"}),
    )
    .await;
    let read = op(
        &client,
        "getSkillFileContent",
        json!({"skill_id": skill_id, "path": "references/limits.md"}),
    )
    .await;
    assert!(read.to_string().contains("500 EUR"), "{read}");
    let download = call_ok(&client, "downloadSkill", json!({"skill_id": skill_id})).await;
    let text = download.to_string();
    assert!(
        text.contains("references/limits.md") && text.contains("SKILL.md"),
        "{text}"
    );
    op(&client, "deleteSkill", json!({"skill_id": skill_id})).await;
    let gone = op_err(&client, "listSkillFiles", json!({"skill_id": skill_id})).await;
    assert!(
        gone.contains("404") && gone.contains("listSkills"),
        "{gone}"
    );
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn cases_push_filter_search_bulk_update_delete() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let queue = op(&client, "createQueue", json!({"name": "Refund requests"})).await;
    let queue_id = queue["queue"]["id"]
        .as_str()
        .or(queue["id"].as_str())
        .unwrap_or_else(|| panic!("queue id in {queue}"))
        .to_owned();
    let cases: Vec<Value> = (0..30)
        .map(|i| json!({"title": format!("Refund #{i}"), "data": format!("order {i}; amount {}", i * 10), "priority": if i % 3 == 0 { "high" } else { "none" }}))
        .collect();
    let pushed = call_ok(
        &client,
        "createCases",
        json!({"queue_id": queue_id, "cases": cases}),
    )
    .await;
    assert_eq!(pushed["created"], 30, "{pushed}");
    assert_eq!(
        pushed["case_ids"].as_array().map(Vec::len),
        Some(30),
        "{pushed}"
    );

    let listed = op(
        &client,
        "listCases",
        json!({"queue_id": queue_id, "limit": 100}),
    )
    .await;
    assert_eq!(listed["total"], 30, "{listed}");
    let high = op(
        &client,
        "listCases",
        json!({"queue_id": queue_id, "priority": "high", "limit": 100}),
    )
    .await;
    assert_eq!(high["total"], 10, "{high}");
    let found = op(
        &client,
        "searchCases",
        json!({"queue_id": queue_id, "search": "Refund #1"}),
    )
    .await;
    let n = found["total"].as_u64().unwrap_or(0);
    assert!((1..30).contains(&n), "search narrows: {found}");

    let ids: Vec<Value> = listed["cases"].as_array().expect("cases")[..5]
        .iter()
        .map(|c| c["id"].clone())
        .collect();
    op(
        &client,
        "bulkUpdateCaseStatus",
        json!({"queue_id": queue_id, "case_ids": ids, "status": "completed"}),
    )
    .await;
    let done = op(
        &client,
        "listCases",
        json!({"queue_id": queue_id, "status": "completed"}),
    )
    .await;
    assert_eq!(done["total"], 5, "{done}");
    op(
        &client,
        "bulkDeleteCases",
        json!({"queue_id": queue_id, "case_ids": ids}),
    )
    .await;
    let left = op(&client, "listCases", json!({"queue_id": queue_id})).await;
    assert_eq!(left["total"], 25, "{left}");
    let one = left["cases"][0]["id"].clone();
    op(&client, "deleteCase", json!({"case_id": one})).await;
    let left = op(&client, "listCases", json!({"queue_id": queue_id})).await;
    assert_eq!(left["total"], 24);
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn folder_create_move_assignments_delete() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let a = create_agent(&client, "Folder test A", "Do A.").await;
    let b = create_agent(&client, "Folder test B", "Do B.").await;
    let folder = call_ok(&client, "createAgentFolder", json!({"name": "Back office"})).await;
    let folder_id = folder["folder"]["id"]
        .as_str()
        .expect("folder id")
        .to_owned();
    let moved = call_ok(
        &client,
        "moveAgentsToFolder",
        json!({"agent_ids": [a, b], "folder_id": folder_id}),
    )
    .await;
    assert_eq!(moved["moved_count"], 2, "{moved}");
    let got = call_ok(&client, "getAgent", json!({"agent_id": a})).await;
    assert_eq!(got["agent"]["folder_id"], folder_id.as_str());
    let refused = call_err(
        &client,
        "deleteAgentFolder",
        json!({"folder_id": folder_id}),
    )
    .await;
    assert!(
        refused.contains("400") && refused.contains("force"),
        "{refused}"
    );
    call_ok(
        &client,
        "deleteAgentFolder",
        json!({"folder_id": folder_id, "force": "true"}),
    )
    .await;
    let got = call_ok(&client, "getAgent", json!({"agent_id": a})).await;
    assert!(
        got["agent"]["folder_id"].is_null(),
        "back at the root: {got}"
    );
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn schedule_create_update_delete() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let agent_id = create_agent(&client, "Nightly digest", "Send the digest.").await;
    let created = op(
        &client,
        "createSchedule",
        json!({"agent_id": agent_id, "enabled": true, "frequency": "daily", "time": "06:30", "timezone": "Europe/Prague"}),
    )
    .await;
    let schedule_id = created["id"].as_str().expect("schedule id").to_owned();
    let bad = op_err(
        &client,
        "createSchedule",
        json!({"agent_id": agent_id, "enabled": true, "frequency": "daily", "time": "06:30", "timezone": "Mars/Olympus"}),
    )
    .await;
    assert!(bad.contains("timezone"), "{bad}");
    let updated = op(
        &client,
        "updateSchedule",
        json!({"agent_id": agent_id, "schedule_id": schedule_id, "enabled": false}),
    )
    .await;
    assert_eq!(updated["enabled"], false, "{updated}");
    let listed = op(&client, "listAgentSchedules", json!({"agent_id": agent_id})).await;
    assert_eq!(listed["schedules"].as_array().map(Vec::len), Some(1));
    op(
        &client,
        "deleteSchedule",
        json!({"agent_id": agent_id, "schedule_id": schedule_id}),
    )
    .await;
    let listed = op(&client, "listAgentSchedules", json!({"agent_id": agent_id})).await;
    assert_eq!(listed["schedules"].as_array().map(Vec::len), Some(0));
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn connection_create_probe_delete() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let created = op(
        &client,
        "createConnection",
        json!({"name": "Inventory MCP", "provider": "user", "auth_method": "headers",
               "server_url": "https://inventory.example.com/mcp",
               "headers": {"secret": {"Authorization": "Bearer inv-secret-123"}}}),
    )
    .await;
    assert!(
        !created.to_string().contains("inv-secret-123"),
        "secrets never come back"
    );
    let connection_id = created["id"].as_str().expect("connection id").to_owned();
    let probe = op(
        &client,
        "probeMcpServer",
        json!({"server_url": "https://inventory.example.com/mcp"}),
    )
    .await;
    assert_eq!(probe["success"], true, "{probe}");
    let down = op(
        &client,
        "probeMcpServer",
        json!({"server_url": "https://unreachable.example.com/mcp"}),
    )
    .await;
    assert_eq!(down["success"], false, "{down}");
    op(
        &client,
        "deleteConnection",
        json!({"connection_id": connection_id}),
    )
    .await;
    let gone = op_err(
        &client,
        "getConnection",
        json!({"connection_id": connection_id}),
    )
    .await;
    assert!(
        gone.contains("404") && gone.contains("listConnections"),
        "{gone}"
    );
    client.cancel().await.ok();
    emu.shutdown().await;
}
