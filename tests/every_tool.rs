//! Table-driven: every tool in the catalog is called through MCP against the emulator — once
//! with valid arguments (must not be an error) and once with an invalid one (must be an
//! actionable error, nothing sent). The emulator checks every answer against the spec.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use duvo_emulator::EmulatorConfig;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// When a tool runs: 0 first; 1 removes one item; 2 removes a container others depend on.
fn phase(name: &str) -> u8 {
    const CONTAINERS: &[&str] = &[
        "bulkDeleteCases",
        "clearQueueCases",
        "deleteAgent",
        "deleteAgentFolder",
        "deleteConnection",
        "deleteQueue",
        "deleteSkill",
        "moveAgent",
    ];
    if CONTAINERS.contains(&name) {
        return 2;
    }
    let lower = name.to_ascii_lowercase();
    let removes = [
        "delete", "remove", "clear", "unlink", "detach", "unpin", "stop", "reject", "consume",
    ]
    .iter()
    .any(|w| lower.starts_with(w));
    u8::from(removes)
}

/// Real ids from the seeded emulator, by argument name.
async fn discover_ids(client: &Client) -> BTreeMap<String, Value> {
    let mut ids = BTreeMap::new();
    let op = |name: &'static str, args: Value| async move {
        call_ok(client, "callTool", json!({"name": name, "arguments": args})).await
    };
    // Full detail: the ids of the latest Revision (listAgents is compact by default).
    let agents = op("listAgents", json!({"limit": 100, "detail": "full"})).await;
    let agent = agents["agents"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["latest_build"]["id"].is_string()))
        .cloned()
        .expect("a seeded Assignment with a build");
    ids.insert("agent_id".into(), agent["id"].clone());
    if let Some(other) = agents["agents"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["id"] != agent["id"]))
    {
        ids.insert("second_agent_id".into(), other["id"].clone());
    }
    ids.insert("agentId".into(), agent["id"].clone());
    ids.insert("build_id".into(), agent["latest_build"]["id"].clone());
    ids.insert("buildId".into(), agent["latest_build"]["id"].clone());
    let runs = op("listRuns", json!({"limit": 100})).await;
    if let Some(run) = runs["data"].as_array().and_then(|a| a.first()) {
        ids.insert("run_id".into(), run["id"].clone());
        ids.insert("runId".into(), run["id"].clone());
    }
    let queues = op("listQueues", json!({})).await;
    if let Some(q) = queues["queues"].as_array().and_then(|a| a.first()) {
        ids.insert("queue_id".into(), q["id"].clone());
        let cases = op("listCases", json!({"queue_id": q["id"], "limit": 100})).await;
        if let Some(c) = cases["cases"].as_array().and_then(|a| a.first()) {
            ids.insert("case_id".into(), c["id"].clone());
        }
    }
    let skills = op("listSkills", json!({})).await;
    if let Some(s) = skills["skills"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["team_id"].is_string()).or(a.first()))
    {
        ids.insert("skill_id".into(), s["id"].clone());
    }
    for a in agents["agents"].as_array().cloned().unwrap_or_default() {
        let schedules = op("listAgentSchedules", json!({"agent_id": a["id"]})).await;
        if let Some(s) = schedules["schedules"].as_array().and_then(|x| x.first()) {
            ids.insert("schedule_id".into(), s["id"].clone());
            ids.insert("schedule_agent_id".into(), a["id"].clone());
            break;
        }
    }
    if let Some(queue_id) = ids.get("queue_id").cloned() {
        let labels = op("listQueueLabels", json!({"queue_id": queue_id})).await;
        if let Some(l) = labels["labels"].as_array().and_then(|a| a.first()) {
            ids.insert("label_id".into(), l["id"].clone());
        }
        let cases = op("listCases", json!({"queue_id": queue_id, "limit": 100})).await;
        for c in cases["cases"].as_array().cloned().unwrap_or_default() {
            let runs = op("listCaseRuns", json!({"case_id": c["id"]})).await;
            if let Some(r) = runs["runs"].as_array().and_then(|x| x.first()) {
                ids.insert("case_with_run".into(), c["id"].clone());
                ids.insert("case_run_id".into(), r["id"].clone());
                break;
            }
        }
    }
    let composio = op(
        "startComposioOAuth",
        json!({"auth_config_id": "ac_every_tool", "callback_url": "https://example.com/cb"}),
    )
    .await;
    ids.insert(
        "connected_account_id".into(),
        composio["connected_account_id"].clone(),
    );
    let connections = op("listConnections", json!({})).await;
    if let Some(c) = connections["integrations"]
        .as_array()
        .and_then(|a| a.first())
    {
        ids.insert("connection_id".into(), c["id"].clone());
    }
    let folders = op("listAgentFolders", json!({})).await;
    if let Some(f) = folders["folders"].as_array().and_then(|a| a.first()) {
        ids.insert("folder_id".into(), f["id"].clone());
    }
    let sandbox = op("createSandbox", json!({})).await;
    ids.insert("sandbox_id".into(), sandbox["sandbox_id"].clone());
    ids
}

/// A value that fits `schema`, preferring real ids for id-named arguments.
fn example(name: &str, schema: &Value, ids: &BTreeMap<String, Value>) -> Value {
    if let Some(id) = ids.get(name) {
        return id.clone();
    }
    if let Some(c) = schema.get("const") {
        return c.clone();
    }
    if let Some(first) = schema["enum"]
        .as_array()
        .and_then(|e| e.iter().find(|v| !v.is_null()))
    {
        return first.clone();
    }
    if let Some(default) = schema.get("default") {
        return default.clone();
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(first) = schema[key]
            .as_array()
            .and_then(|a| a.iter().find(|b| b["type"] != "null"))
        {
            return example(name, first, ids);
        }
    }
    let ty = match &schema["type"] {
        Value::Array(types) => types
            .iter()
            .find(|t| *t != "null")
            .and_then(|t| t.as_str())
            .unwrap_or("string")
            .to_owned(),
        Value::String(t) => t.clone(),
        _ => "string".to_owned(),
    };
    match ty.as_str() {
        "object" => {
            let mut out = Map::new();
            for req in schema["required"].as_array().cloned().unwrap_or_default() {
                let Some(req) = req.as_str() else { continue };
                out.insert(
                    req.to_owned(),
                    example(req, &schema["properties"][req], ids),
                );
            }
            Value::Object(out)
        }
        "array" => {
            let n = schema["minItems"].as_u64().unwrap_or(1).max(1);
            (0..n)
                .map(|i| example(&format!("{name}{i}"), &schema["items"], ids))
                .collect()
        }
        "integer" | "number" => json!(
            schema["minimum"]
                .as_f64()
                .map(|m| m.max(1.0) as i64)
                .unwrap_or(1)
        ),
        "boolean" => json!(false),
        _ => match schema["format"].as_str() {
            Some("uuid") => json!(uuid::Uuid::new_v4().to_string()),
            Some("uri") => json!("https://example.com/hook"),
            Some("date-time") => json!("2026-11-30T09:00:00Z"),
            Some("date") => json!("2026-11-30"),
            Some("email") => json!("ops@example.com"),
            _ => {
                let min = schema["minLength"].as_u64().unwrap_or(1) as usize;
                let base = if name.contains("name") {
                    format!("Test {name}")
                } else {
                    "example".to_owned()
                };
                json!(format!(
                    "{base}{}",
                    "x".repeat(min.saturating_sub(base.len()))
                ))
            }
        },
    }
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Arguments the schema alone cannot pick well (stateful rules of the API).
fn overrides(name: &str, ids: &BTreeMap<String, Value>) -> Option<Value> {
    let id = |k: &str| ids.get(k).cloned().unwrap_or(Value::Null);
    let v2 = json!({"version": "v2", "data": {
        "models": {"agent": {"model": "claude-sonnet-4-6"}, "browsing": {"provider": "anthropic", "model": "claude-sonnet-4-5"}},
        "input": "Check prices."}});
    Some(match name {
        "createAgent" => json!({"name": "Every-tool agent", "build": {"name": "v1", "config": v2}}),
        "createRevision" => json!({"agent_id": id("agent_id"), "name": "v-next", "config": v2}),
        "startRun" => json!({"agent_id": id("agent_id"), "message": "hello"}),
        "runAssignment" => {
            json!({"agent_id": id("agent_id"), "message": "hello", "wait_seconds": 0})
        }
        "waitForRun" => json!({"run_id": id("run_id"), "wait_seconds": 0}),
        "postRunMessage" => json!({"run_id": id("run_id"), "message": "thanks"}),
        "createSkill" => {
            json!({"name": "every-tool-skill", "description": "A skill made by the every-tool test.", "content": "# Hello\nDo the thing."})
        }
        "createCases" => {
            json!({"queue_id": id("queue_id"), "cases": [{"title": "Every-tool case", "data": "n=1"}]})
        }
        "createSchedule" => {
            json!({"agent_id": id("agent_id"), "enabled": false, "frequency": "every_5_minutes", "timezone": "UTC"})
        }
        "updateSchedule" | "deleteSchedule" => {
            json!({"agent_id": id("schedule_agent_id"), "schedule_id": id("schedule_id")})
        }
        "bulkDeleteCases" | "bulkReprocessCases" => {
            json!({"queue_id": id("queue_id"), "case_ids": [id("case_id")]})
        }
        "bulkUpdateCasePriority" => {
            json!({"queue_id": id("queue_id"), "case_ids": [id("case_id")], "priority": "high"})
        }
        "bulkUpdateCaseStatus" => {
            json!({"queue_id": id("queue_id"), "case_ids": [id("case_id")], "status": "pending"})
        }
        "completeClarityArtifactImport" => {
            json!({"process_id": uuid(), "capture_id": uuid(), "file_name": "map.png", "content_type": "image/png"})
        }
        "createClarityArtifactImportUploadUrl" => {
            json!({"process_id": uuid(), "file_name": "map.png", "content_type": "image/png"})
        }
        "createConnection" => {
            json!({"name": "Every-tool MCP", "provider": "user", "auth_method": "url", "server_url": "https://mcp.example.com/mcp"})
        }
        "finalizeComposioOAuth" => {
            json!({"app": "slack", "integration_name": "Slack", "connected_account_id": id("connected_account_id")})
        }
        "getSkillFileContent" => json!({"skill_id": id("skill_id"), "path": "SKILL.md"}),
        "listCaseRunRecentMessages" => {
            json!({"case_id": id("case_with_run"), "run_id": id("case_run_id")})
        }
        "postprocessClaritySnapshot" => {
            json!({"process_id": uuid(), "type": "current_process", "current_process_id": uuid()})
        }
        "probeMcpServer" => json!({"server_url": "https://mcp.example.com/mcp"}),
        "startNativeOAuth" => json!({"provider": "google"}),
        "deleteAgentFolder" => json!({"folder_id": id("folder_id"), "force": "true"}),
        "moveAgentsToFolder" => {
            json!({"agent_ids": [id("agent_id")], "folder_id": id("folder_id")})
        }
        "unlinkCaseLabels" => {
            json!({"queue_id": id("queue_id"), "case_id": id("case_with_run"), "label_ids": [id("label_id")]})
        }
        "moveAgent" => {
            json!({"agent_id": id("second_agent_id"), "target_team_id": uuid(), "dry_run": "true"})
        }
        "uploadSandboxFiles" => {
            json!({"sandbox_id": id("sandbox_id"), "files": [{"name": "a.txt", "text": "hi"}]})
        }
        "uploadSandboxFile" => {
            json!({"sandbox_id": id("sandbox_id"), "file_name": "b.txt", "content_base64": "aGk="})
        }
        _ => return None,
    })
}

/// Tools whose correct answer to a team-scoped key is a refusal: (tool, text it must contain, why).
const EXPECTED_REFUSALS: &[(&str, &str, &str)] = &[(
    "moveAgent",
    "403",
    "an API key is scoped to one team, so moving an Assignment to another team is refused",
)];

/// Tools whose valid call needs state this table cannot set up cheaply; each has its own test.
const COVERED_ELSEWHERE: &[(&str, &str)] = &[
    (
        "respondToHumanRequest",
        "needs a waiting Job: stdio_tools human_in_the_loop test",
    ),
    (
        "syncSkillDirectory",
        "needs --allow-dir and a folder: workflows_files tests",
    ),
    (
        "uploadSkill",
        "needs a zip: workflows_files (syncSkillDirectory) and emulator skill tests",
    ),
];

#[tokio::test]
async fn every_tool_answers_valid_input_and_rejects_invalid_input() {
    let emu = start_emulator_with(EmulatorConfig {
        time_scale: 0.01,
        validate_responses: true,
        ..EmulatorConfig::default()
    })
    .await;
    let client = connect(&emu, emu.demo_key(), &["--toolsets", "all"], &[]).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(
        tools.len() >= 211,
        "{} tools with --toolsets all",
        tools.len()
    );
    let ids = discover_ids(&client).await;

    let mut order: Vec<_> = tools
        .iter()
        .filter(|t| !["searchTools", "callTool", "callReadTool"].contains(&t.name.as_ref()))
        .collect();
    order.sort_by_key(|t| (phase(&t.name), t.name.to_string()));

    let mut failures = Vec::new();
    let mut called = 0;
    for tool in order {
        let name = tool.name.to_string();
        // Invalid input: an unknown argument is refused before anything is sent.
        let mut bad = example(&name, &Value::Object((*tool.input_schema).clone()), &ids);
        bad["__not_an_argument"] = json!(1);
        let r = call(&client, &name, bad).await;
        let msg = text(&r);
        if r.is_error != Some(true) || !msg.contains("__not_an_argument") {
            failures.push(format!("{name}: invalid input not rejected clearly: {msg}"));
        }
        if COVERED_ELSEWHERE.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let args = overrides(&name, &ids)
            .unwrap_or_else(|| example(&name, &Value::Object((*tool.input_schema).clone()), &ids));
        let r = call(&client, &name, args.clone()).await;
        called += 1;
        if let Some((_, needle, _)) = EXPECTED_REFUSALS.iter().find(|(n, _, _)| *n == name) {
            if r.is_error != Some(true) || !text(&r).contains(needle) {
                failures.push(format!(
                    "{name}: expected a refusal with {needle}: {}",
                    text(&r)
                ));
            }
        } else if r.is_error == Some(true) {
            failures.push(format!("{name} {args}: {}", text(&r)));
        }
    }
    let contract: Value = reqwest::get(format!("{}/_emulator/contract", emu.base_url()))
        .await
        .expect("contract report")
        .json()
        .await
        .expect("json");
    assert!(
        failures.is_empty(),
        "{} of {called} tools failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        contract["violations"].as_array().map(Vec::len),
        Some(0),
        "emulator answers that break the spec: {contract}"
    );
    client.cancel().await.ok();
    emu.shutdown().await;
}
