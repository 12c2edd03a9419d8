//! Errors point the right way (issue 12, item 10), through the real server and the emulator:
//! fallbacks that exist, the user's terms (Assignment/Job/Revision, the tool they called), every
//! valid enum value, the valid question texts, "did you mean" for an unknown tool, and
//! evaluation answers that say which Assignment they are for and when they are placeholders.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use rmcp::model::CallToolRequestParams;
use serde_json::json;

const UNKNOWN: &str = "11111111-2222-4333-8444-555555555555";

async fn all_tools(emu: &duvo_emulator::RunningEmulator) -> Client {
    connect(emu, emu.demo_key(), &["--toolsets", "all"], &[]).await
}

#[tokio::test]
async fn sync_skill_directory_without_allow_dir_suggests_tools_that_exist() {
    let emu = start_emulator().await;
    let client = all_tools(&emu).await;
    let err = call_err(
        &client,
        "syncSkillDirectory",
        json!({"path": "/tmp/returns-triage"}),
    )
    .await;
    assert!(
        err.contains("--allow-dir") && err.contains("uploadSkill") && err.contains("createSkill"),
        "{err}"
    );
    assert!(!err.contains("content_base64 or text"), "{err}");
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn run_assignment_errors_say_what_failed_in_product_terms() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let err = call_err(
        &client,
        "runAssignment",
        json!({"agent_id": UNKNOWN, "message": "hi", "wait_seconds": 0}),
    )
    .await;
    assert!(
        err.starts_with(&format!("Could not start a Job of Assignment {UNKNOWN}")),
        "{err}"
    );
    assert!(!err.contains("startRun failed"), "{err}");
    assert!(
        err.contains(&format!("Assignment {UNKNOWN} not found")),
        "the API's noun in the product's word: {err}"
    );
    let err = call_err(&client, "waitForRun", json!({"run_id": UNKNOWN})).await;
    assert!(
        err.starts_with(&format!("Could not read Job {UNKNOWN}")),
        "{err}"
    );
    assert!(!err.contains("getRun failed"), "{err}");
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn not_found_hints_are_worded_in_product_terms() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let err = call_err(&client, "getRun", json!({"run_id": UNKNOWN})).await;
    assert!(
        err.contains(&format!(
            "run_id={UNKNOWN} (a Job id: find valid ones with listRuns)"
        )),
        "{err}"
    );
    assert!(!err.contains("valid ids:"), "{err}");
    assert!(err.contains(&format!("Job {UNKNOWN} not found")), "{err}");
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn enum_errors_list_every_valid_value() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    let list_runs = tools
        .iter()
        .find(|t| t.name == "listRuns")
        .expect("listRuns");
    let values: Vec<String> = list_runs.input_schema["properties"]["status"]["enum"]
        .as_array()
        .expect("status enum")
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert!(values.len() > 3, "{values:?}");
    let err = call_err(&client, "listRuns", json!({"status": "error"})).await;
    for v in &values {
        assert!(err.contains(v.as_str()), "{v} missing: {err}");
    }
    assert!(!err.contains("other candidates"), "{err}");
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn an_unknown_question_key_lists_the_valid_question_texts() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let agent_id = create_agent(&client, "Supplier onboarding", "Onboard suppliers.").await;
    let out = call_ok(
        &client,
        "runAssignment",
        json!({"agent_id": agent_id, "message": "New supplier [question]", "wait_seconds": 60}),
    )
    .await;
    let request = &out["pending_human_request"];
    let err = call_err(
        &client,
        "respondToHumanRequest",
        json!({
            "run_id": out["run_id"],
            "request_id": request["id"],
            "answers": {"Which payment terms?": "Net 30"}
        }),
    )
    .await;
    for q in request["questions"].as_array().expect("questions") {
        let q = q["question"].as_str().expect("text");
        assert!(err.contains(q), "{q:?} missing: {err}");
    }
    assert!(err.contains("Which payment terms?"), "{err}");
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn an_unknown_tool_called_directly_gets_did_you_mean() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let err = client
        .call_tool(CallToolRequestParams::new("listJobs"))
        .await
        .expect_err("an unknown tool is a protocol error");
    let msg = err.to_string();
    assert!(
        msg.contains("Did you mean") && msg.contains("listRuns"),
        "{msg}"
    );
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn eval_scores_say_which_assignment_and_that_demo_data_is_a_placeholder() {
    let emu = start_emulator().await;
    let client = all_tools(&emu).await;
    let agent_id = agent_named(&client, "").await;
    let r = call(
        &client,
        "getEvalScores",
        json!({"agent_id": agent_id, "since": "2026-01-01T00:00:00Z"}),
    )
    .await;
    let t = text(&r);
    assert_ne!(r.is_error, Some(true), "{t}");
    let body = r.structured_content.clone().expect("structured");
    assert_eq!(body["for"]["agent_id"], agent_id.as_str(), "{body}");
    assert!(t.contains(&agent_id), "{t}");
    assert!(
        t.starts_with("Placeholder data") && t.contains("generated"),
        "the emulator's spec-generated answer says so: {t}"
    );
    // A real (explicitly emulated) answer carries no such note.
    let r = call(&client, "listAgents", json!({"limit": 1})).await;
    assert!(!text(&r).contains("Placeholder data"), "{}", text(&r));
    client.cancel().await.ok();
    emu.shutdown().await;
}
