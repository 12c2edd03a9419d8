//! What an assistant pays for everyday tasks, asserted through the real server: searchTools
//! finds the expected tool for the benchmark's query set (`benches/agent_tasks/queries.json`),
//! compact answers, listAgents compact with a name filter, the team-wide schedules view,
//! callReadTool, and instructions that lead with the workflow tools.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};

/// Query words that ask to delete: only then may a destructive tool rank first.
const DELETE_WORDS: &[&str] = &[
    "delete", "remove", "clear", "purge", "erase", "wipe", "drop", "empty", "destroy",
];

fn query_set() -> Vec<(String, Vec<String>)> {
    let v: Value = serde_json::from_str(include_str!("../benches/agent_tasks/queries.json"))
        .expect("queries.json parses");
    v.as_array()
        .expect("a list")
        .iter()
        .map(|q| {
            (
                q["query"].as_str().expect("query").to_owned(),
                q["expected"]
                    .as_array()
                    .expect("expected")
                    .iter()
                    .map(|e| e.as_str().expect("name").to_owned())
                    .collect(),
            )
        })
        .collect()
}

#[tokio::test]
async fn search_finds_the_expected_tool_first_and_answers_compactly() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    let destructive = |name: &str, hits: &[Value]| {
        hits.iter()
            .find(|h| h["name"] == name)
            .is_some_and(|h| h["hints"].as_str().unwrap_or("").contains("destructive"))
    };
    let set = query_set();
    assert!(set.len() >= 30, "the query set has {} queries", set.len());
    let mut first = 0;
    let mut problems = Vec::new();
    for (query, expected) in &set {
        let r = call(&client, "searchTools", json!({ "query": query })).await;
        let text = text(&r);
        assert!(
            text.len() <= 4096,
            "{query:?}: answer is {} bytes",
            text.len()
        );
        let hits = r.structured_content.clone().expect("structured")["tools"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let names: Vec<&str> = hits.iter().filter_map(|h| h["name"].as_str()).collect();
        let rank = names.iter().position(|n| expected.iter().any(|e| e == n));
        match rank {
            Some(0) => first += 1,
            Some(1 | 2) => {}
            _ => problems.push(format!("{query:?}: expected {expected:?}, got {names:?}")),
        }
        // No destructive tool above the expected (non-destructive) one unless asked to delete.
        let asks_delete = query
            .split_whitespace()
            .any(|w| DELETE_WORDS.contains(&w.to_lowercase().as_str()));
        if let Some(rank) = rank
            && !asks_delete
            && !destructive(names[rank], &hits)
        {
            for above in &names[..rank] {
                if destructive(above, &hits) {
                    problems.push(format!(
                        "{query:?}: destructive {above} above {}",
                        names[rank]
                    ));
                }
            }
        }
        // The best match, when it is not listed, comes with what is needed to call it.
        if let Some(best) = hits.first()
            && best["listed"] != true
        {
            assert!(
                best.get("inputSchema").is_some() || best.get("arguments").is_some(),
                "{query:?}: {best}"
            );
        }
        // Listed tools are marked as such.
        for h in &hits {
            let is_listed = tools
                .iter()
                .any(|t| t.name == h["name"].as_str().unwrap_or(""));
            assert_eq!(h["listed"] == true, is_listed, "{query:?}: {h}");
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        first * 10 >= set.len() * 9,
        "expected tool first for {first} of {} queries (target 90 %)",
        set.len()
    );
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn list_agents_is_compact_by_default_filters_by_name_and_gives_full_detail_on_request() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let r = call(&client, "listAgents", json!({})).await;
    let body = r.structured_content.clone().expect("structured");
    let n = body["agents"].as_array().expect("agents").len();
    assert!(n >= 2, "{body}");
    let t = text(&r);
    assert!(
        t.len() <= 600 * n,
        "{} text bytes for {n} Assignments",
        t.len()
    );
    assert!(!t.contains("@") && !t.contains("copilot_id"), "{t}");
    assert!(
        body["agents"][0]["latest_revision"]["id"].is_string(),
        "{body}"
    );

    let one = call_ok(&client, "listAgents", json!({ "name": "invoice" })).await;
    let names: Vec<&str> = one["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(names, ["Invoice Approval"], "{one}");
    assert_eq!(one["total"], 1);

    let full = call_ok(
        &client,
        "listAgents",
        json!({ "detail": "full", "limit": 1 }),
    )
    .await;
    assert!(
        full["agents"][0]["latest_build"]["config"].is_object(),
        "{full}"
    );
    let bad = call_err(&client, "listAgents", json!({ "detail": "everything" })).await;
    assert!(bad.contains("detail"), "{bad}");
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn list_schedules_shows_every_schedule_of_the_team_and_sees_a_pause() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let r = call(&client, "listSchedules", json!({})).await;
    let t = text(&r);
    let body = r.structured_content.clone().expect("structured");
    let s = &body["schedules"][0];
    assert_eq!(s["assignment"], "Daily Sales Report", "{body}");
    assert_eq!(s["enabled"], true, "{body}");
    assert!(
        t.contains("Daily Sales Report") && t.contains("workday"),
        "{t}"
    );
    call_ok(
        &client,
        "updateSchedule",
        json!({ "agent_id": s["agent_id"], "schedule_id": s["schedule_id"], "enabled": false }),
    )
    .await;
    let paused = call_ok(&client, "listSchedules", json!({ "enabled": false })).await;
    assert_eq!(
        paused["schedules"][0]["schedule_id"], s["schedule_id"],
        "{paused}"
    );
    let on = call_ok(&client, "listSchedules", json!({ "enabled": true })).await;
    assert_eq!(on["total"], 0, "{on}");
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn call_read_tool_reads_without_destructive_hints_and_refuses_writes() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    let read = tools
        .iter()
        .find(|t| t.name == "callReadTool")
        .expect("callReadTool listed");
    let a = read.annotations.clone().expect("annotations");
    assert_eq!(a.read_only_hint, Some(true));
    assert_eq!(a.destructive_hint, Some(false));
    let ok = call_ok(
        &client,
        "callReadTool",
        json!({ "name": "listTeamMembers" }),
    )
    .await;
    assert!(ok.is_object());
    let refused = call_err(
        &client,
        "callReadTool",
        json!({ "name": "deleteQueue", "arguments": { "queue_id": "00000000-0000-4000-8000-000000000000" } }),
    )
    .await;
    assert!(
        refused.contains("callTool") && refused.contains("nothing was sent"),
        "{refused}"
    );
    // Nothing reached Duvo for the refused call.
    assert!(
        !request_log(&emu)
            .await
            .iter()
            .any(|r| r["method"] == "DELETE"),
        "a DELETE was sent"
    );
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn instructions_lead_with_the_workflow_tools_and_one_polling_interval() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let info = client.peer_info().expect("server info");
    let instructions = info.instructions.clone().unwrap_or_default();
    let run = instructions.find("runAssignment").expect("runAssignment");
    let wait = instructions.find("waitForRun").expect("waitForRun");
    assert!(
        instructions
            .find("getRun")
            .is_none_or(|g| g > run && g > wait),
        "{instructions}"
    );
    assert!(
        !instructions.contains("5–10") && instructions.contains("5 s"),
        "{instructions}"
    );
    // Every description that gives a polling interval gives the same one.
    let tools = client.list_all_tools().await.expect("tools/list");
    for t in &tools {
        let d = t.description.as_deref().unwrap_or("");
        if d.contains("poll") || d.contains("Poll") {
            assert!(d.contains("at most every 5 s"), "{}: {d}", t.name);
        }
    }
    client.cancel().await.ok();
    emu.shutdown().await;
}
