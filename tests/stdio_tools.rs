//! End to end over stdio: rmcp's client → `duvo-mcp stdio` → HTTP → the emulator.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn lists_the_skeleton_tools_sorted_with_full_annotations() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for expected in [
        "getAgent",
        "getRun",
        "listAgentRevisions",
        "listAgents",
        "listRunMessages",
        "listRuns",
        "postRunMessage",
        "respondToHumanRequest",
        "startRun",
        "stopRun",
        "runAssignment",
        "waitForRun",
        "listQueues",
        "createCases",
        "listSchedules",
        "updateSchedule",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "tools/list must be sorted");
    for t in &tools {
        assert!(t.title.is_some(), "{} has no title", t.name);
        let a = t.annotations.as_ref().expect("annotations");
        assert!(a.read_only_hint.is_some() && a.destructive_hint.is_some());
        assert!(a.idempotent_hint.is_some() && a.open_world_hint.is_some());
        let schema = serde_json::to_string(&t.input_schema).expect("schema");
        assert!(
            !schema.contains("$ref") && !schema.contains("$defs"),
            "{}",
            t.name
        );
    }
    let info = client.peer_info().expect("server info");
    assert_eq!(
        info.server_info.as_ref().map(|s| s.name.as_str()),
        Some("duvo-mcp")
    );
    assert!(
        info.instructions
            .as_deref()
            .is_some_and(|i| i.contains("runAssignment"))
    );
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn assignment_with_first_build_then_job_to_completion() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let agent_id = create_agent(&client, "Weekly KPI digest", "Summarise last week's KPIs.").await;

    let got = call_ok(&client, "getAgent", json!({"agent_id": agent_id})).await;
    assert_eq!(got["agent"]["name"], "Weekly KPI digest");
    let revs = call_ok(&client, "listAgentRevisions", json!({"agent_id": agent_id})).await;
    assert_eq!(revs["total"], 1, "inline first build: {revs}");

    let renamed = call_ok(
        &client,
        "updateAgent",
        json!({"agent_id": agent_id, "name": "Weekly KPI digest (v2)"}),
    )
    .await;
    assert_eq!(renamed["agent"]["name"], "Weekly KPI digest (v2)");
    let rev = call_ok(
        &client,
        "createRevision",
        json!({"agent_id": agent_id, "name": "v2", "config": {"version": "v2", "data": {
            "models": {"agent": {"model": "claude-sonnet-4-6"}, "browsing": {"provider": "google", "model": "gemini-2.5-flash"}},
            "input": "Summarise last week's KPIs as a table."}}}),
    )
    .await;
    assert_eq!(rev["agent"]["id"], agent_id.as_str());

    let started = call_ok(
        &client,
        "startRun",
        json!({"agent_id": agent_id, "message": "Go for week 47"}),
    )
    .await;
    let run_id = started["run"]["id"].as_str().expect("run id").to_owned();
    let done = wait_for_status(&client, &run_id, &["completed", "failed"]).await;
    assert_eq!(done["run"]["status"], "completed");

    let msgs = call_ok(
        &client,
        "listRunMessages",
        json!({"run_id": run_id, "limit": 50}),
    )
    .await;
    let messages = msgs["messages"].as_array().expect("messages");
    assert!(!messages.is_empty());
    assert!(
        messages.iter().any(|m| m["text_content"]
            .as_str()
            .is_some_and(|t| t.contains("week 47"))),
        "the start message is in the transcript: {msgs}"
    );
    let runs = call_ok(&client, "listRuns", json!({"agent_id": agent_id})).await;
    assert_eq!(runs["total"], 1);
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn human_in_the_loop_approval_and_question_rounds() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let agent_id = create_agent(&client, "Refund desk", "Handle refund requests.").await;

    // Approval.
    let run = call_ok(
        &client,
        "startRun",
        json!({"agent_id": agent_id, "message": "Refund order 991 [approval]"}),
    )
    .await;
    let run_id = run["run"]["id"].as_str().expect("run id").to_owned();
    let waiting = wait_for_status(&client, &run_id, &["waiting"]).await;
    let request = &waiting["pending_human_request"];
    assert_eq!(request["type"], "approval");
    let request_id = request["id"].as_str().expect("request id");
    let answered = call_ok(
        &client,
        "respondToHumanRequest",
        json!({"run_id": run_id, "request_id": request_id, "approved": true}),
    )
    .await;
    assert_eq!(answered["human_request"]["id"], request_id);
    let done = wait_for_status(&client, &run_id, &["completed", "failed"]).await;
    assert_eq!(done["run"]["status"], "completed");

    // Question: answers are keyed by the question text.
    let run = call_ok(
        &client,
        "startRun",
        json!({"agent_id": agent_id, "message": "New vendor [question]"}),
    )
    .await;
    let run_id = run["run"]["id"].as_str().expect("run id").to_owned();
    let waiting = wait_for_status(&client, &run_id, &["waiting"]).await;
    let request = &waiting["pending_human_request"];
    assert_eq!(request["type"], "question");
    let mut answers = serde_json::Map::new();
    for q in request["questions"].as_array().expect("questions") {
        let answer = q["options"][0]["label"].as_str().unwrap_or("yes");
        answers.insert(
            q["question"].as_str().expect("text").to_owned(),
            json!(answer),
        );
    }
    call_ok(
        &client,
        "respondToHumanRequest",
        json!({"run_id": run_id, "request_id": request["id"], "answers": answers}),
    )
    .await;
    let done = wait_for_status(&client, &run_id, &["completed", "failed"]).await;
    assert_eq!(done["run"]["status"], "completed");

    // Answering a Job that is no longer waiting is an actionable error.
    let text = call_err(
        &client,
        "respondToHumanRequest",
        json!({"run_id": run_id, "request_id": request["id"], "answers": answers}),
    )
    .await;
    assert!(text.contains("400"), "{text}");
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn stop_a_running_job_and_post_a_follow_up() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let agent_id = create_agent(&client, "Long crawl", "Crawl every supplier page.").await;
    let run = call_ok(
        &client,
        "startRun",
        json!({"agent_id": agent_id, "message": "Crawl all [slow]"}),
    )
    .await;
    let run_id = run["run"]["id"].as_str().expect("run id").to_owned();
    wait_for_status(&client, &run_id, &["running"]).await;
    let stopped = call_ok(&client, "stopRun", json!({"run_id": run_id})).await;
    assert_eq!(stopped["success"], true);
    let got = wait_for_status(&client, &run_id, &["stopped"]).await;
    assert_eq!(got["run"]["status"], "stopped");
    let posted = call_ok(
        &client,
        "postRunMessage",
        json!({"run_id": run_id, "message": "Thanks, that is enough."}),
    )
    .await;
    assert_eq!(posted["message"]["text_content"], "Thanks, that is enough.");
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn errors_come_back_as_actionable_tool_results() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let missing = "00000000-0000-4000-8000-000000000000";

    // 404: names the id and the list tool that finds valid ones.
    let text = call_err(&client, "getRun", json!({"run_id": missing})).await;
    assert!(
        text.contains("404") && text.contains(missing) && text.contains("listRuns"),
        "{text}"
    );
    let text = call_err(&client, "startRun", json!({"agent_id": missing})).await;
    assert!(
        text.contains("404") && text.contains("listAgents"),
        "{text}"
    );

    // Local validation: nothing sent, fields named, arguments listed.
    let text = call_err(&client, "startRun", json!({"message": "hi", "bogus": 1})).await;
    assert!(
        text.contains("agent_id") && text.contains("bogus") && text.contains("nothing was sent"),
        "{text}"
    );
    let text = call_err(&client, "getRun", json!({"run_id": "not-a-uuid"})).await;
    assert!(text.contains("run_id"), "{text}");
    let text = call_err(
        &client,
        "listRunMessages",
        json!({"run_id": missing, "limit": 500}),
    )
    .await;
    assert!(text.contains("limit"), "{text}");

    // 400 from Duvo: answering an approval request without `approved`.
    let agent_id = create_agent(&client, "Approver", "Ask before paying.").await;
    let run = call_ok(
        &client,
        "startRun",
        json!({"agent_id": agent_id, "message": "Pay [approval]"}),
    )
    .await;
    let run_id = run["run"]["id"].as_str().expect("run id").to_owned();
    let waiting = wait_for_status(&client, &run_id, &["waiting"]).await;
    let text = call_err(
        &client,
        "respondToHumanRequest",
        json!({"run_id": run_id, "request_id": waiting["pending_human_request"]["id"]}),
    )
    .await;
    assert!(
        text.contains("400") && text.contains("approved") && text.contains("Fix the arguments"),
        "{text}"
    );

    // 403: another team's id.
    let text = call_err(
        &client,
        "listAgents",
        json!({"team_id": duvo_emulator::OTHER_TEAM_ID}),
    )
    .await;
    assert!(
        text.contains("403") && text.contains("omit team_id"),
        "{text}"
    );

    // Unknown tool: a JSON-RPC invalid-params error, not a tool result.
    let err = client
        .call_tool(rmcp::model::CallToolRequestParams::new("noSuchTool"))
        .await
        .expect_err("unknown tool is a protocol error");
    assert!(err.to_string().contains("noSuchTool"), "{err}");
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn bad_key_gives_an_actionable_401() {
    let emu = start_emulator().await;
    let client = connect(
        &emu,
        "not-a-duvo-key",
        &["--team-id", duvo_emulator::DEMO_TEAM_ID],
        &[],
    )
    .await;
    let text = call_err(&client, "listAgents", json!({})).await;
    assert!(
        text.contains("401") && text.contains("DUVO_API_KEY"),
        "{text}"
    );
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn transient_failures_are_retried_with_one_idempotency_key() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let agent_id = agent_named(&client, "").await;

    // A 429 storm of two answers, then success.
    inject_fault(&emu, 429, 2, "/v2/agents").await;
    let got = call_ok(&client, "getAgent", json!({"agent_id": agent_id})).await;
    assert_eq!(got["agent"]["id"], agent_id.as_str());

    // 503 on a POST: retried with the same Idempotency-Key, and exactly one Job exists.
    inject_fault(&emu, 503, 2, "/v2/teams").await;
    let run = call_ok(
        &client,
        "startRun",
        json!({"agent_id": agent_id, "message": "retry me"}),
    )
    .await;
    let run_id = run["run"]["id"].as_str().expect("run id").to_owned();
    let log = request_log(&emu).await;
    let starts: Vec<&serde_json::Value> = log
        .iter()
        .filter(|r| {
            r["method"] == "POST" && r["path"].as_str().is_some_and(|p| p.ends_with("/runs"))
        })
        .collect();
    assert_eq!(starts.len(), 3, "two failures and one success: {starts:?}");
    let keys: std::collections::BTreeSet<&str> = starts
        .iter()
        .filter_map(|r| r["idempotency_key"].as_str())
        .collect();
    assert_eq!(
        keys.len(),
        1,
        "one Idempotency-Key across retries: {starts:?}"
    );
    let runs = call_ok(
        &client,
        "listRuns",
        json!({"agent_id": agent_id, "limit": 100}),
    )
    .await;
    let matching = runs["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|r| r["id"] == run_id.as_str())
        .count();
    assert_eq!(matching, 1);

    // 500 is not retried, and the error says so.
    inject_fault(&emu, 500, 1, "/v2/runs").await;
    let text = call_err(&client, "getRun", json!({"run_id": run_id})).await;
    assert!(text.contains("500") && text.contains("retry"), "{text}");
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn team_is_resolved_from_the_key_once() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    call_ok(&client, "listAgents", json!({})).await;
    call_ok(&client, "listRuns", json!({})).await;
    let log = request_log(&emu).await;
    let lookups = log.iter().filter(|r| r["path"] == "/v2/teams").count();
    assert_eq!(lookups, 1, "GET /v2/teams once: {log:?}");
    client.cancel().await.ok();
    emu.shutdown().await;
}
