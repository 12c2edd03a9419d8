//! The text content of the workflow tools carries what the person must decide (a client without
//! elicitation may forward only text): the human request's title, description, every question
//! and its options, and the next call, printed once.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};

fn text_only(r: &rmcp::model::CallToolResult) -> String {
    assert_ne!(r.is_error, Some(true), "{}", text(r));
    text(r)
}

fn assert_once(text: &str, needle: &str) {
    assert_eq!(
        text.matches(needle).count(),
        1,
        "{needle:?} should be printed exactly once in:\n{text}"
    );
}

/// Everything of `request` a person needs, found in `text`.
fn assert_shows_request(text: &str, request: &Value) {
    for key in ["title", "description"] {
        let s = request[key].as_str().expect(key);
        assert!(
            text.contains(s),
            "text lacks the request's {key} {s:?}:\n{text}"
        );
    }
    for q in request["questions"].as_array().into_iter().flatten() {
        let question = q["question"].as_str().expect("question");
        assert!(text.contains(question), "text lacks {question:?}:\n{text}");
        for o in q["options"].as_array().into_iter().flatten() {
            for key in ["label", "description"] {
                if let Some(s) = o[key].as_str() {
                    assert!(text.contains(s), "text lacks option {key} {s:?}:\n{text}");
                }
            }
        }
    }
}

#[tokio::test]
async fn approval_text_shows_what_is_approved_and_the_call_once() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await; // no elicitation capability
    let agent_id = create_agent(&client, "Invoice approvals", "Post supplier invoices.").await;
    let r = call(
        &client,
        "runAssignment",
        json!({"agent_id": agent_id, "message": "Post it [approval]", "wait_seconds": 60}),
    )
    .await;
    let text = text_only(&r);
    let body = r.structured_content.clone().expect("structured");
    assert_eq!(body["status"], "waiting", "{body}");
    let request = &body["pending_human_request"];
    assert!(
        request["title"]
            .as_str()
            .unwrap_or("")
            .contains("INV-10482"),
        "{request}"
    );
    assert_shows_request(&text, request);
    assert_once(&text, "respondToHumanRequest {");
    assert_once(&text, "waitForRun {");

    // waitForRun on the same waiting Job: the same content, the call once.
    let run_id = body["run_id"].as_str().expect("run id");
    let r = call(
        &client,
        "waitForRun",
        json!({"run_id": run_id, "wait_seconds": 1}),
    )
    .await;
    let text = text_only(&r);
    assert_shows_request(&text, request);
    assert_once(&text, "respondToHumanRequest {");
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn question_text_shows_every_question_with_its_options_and_the_call_once() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let agent_id = create_agent(&client, "Supplier onboarding", "Onboard suppliers.").await;
    let r = call(
        &client,
        "runAssignment",
        json!({"agent_id": agent_id, "message": "New supplier [question]", "wait_seconds": 60}),
    )
    .await;
    let text = text_only(&r);
    let body = r.structured_content.clone().expect("structured");
    let request = &body["pending_human_request"];
    assert_eq!(request["type"], "question", "{body}");
    assert!(
        request["questions"]
            .as_array()
            .is_some_and(|q| q.len() >= 2),
        "{request}"
    );
    assert_shows_request(&text, request);
    assert!(
        text.contains("Net 60") && text.contains("Requires CFO sign-off"),
        "{text}"
    );
    assert_once(&text, "respondToHumanRequest {");
    assert_once(&text, "waitForRun {");
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn run_assignment_with_files_says_what_it_uploaded_and_where() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let agent_id = create_agent(&client, "Stock check", "Check the SKUs in the file.").await;
    let r = call(
        &client,
        "runAssignment",
        json!({
            "agent_id": agent_id,
            "message": "Check these SKUs",
            "files": [{"name": "skus.csv", "text": "sku,qty\n4017,3\n"}],
            "wait_seconds": 0
        }),
    )
    .await;
    let text = text_only(&r);
    let body = r.structured_content.clone().expect("structured");
    let sandbox = body["sandbox_id"]
        .as_str()
        .expect("sandbox_id in the result");
    assert_eq!(body["uploaded"][0]["path"], "/workspace/skus.csv", "{body}");
    assert!(
        text.contains(sandbox) && text.contains("/workspace/skus.csv"),
        "the text names the Sandbox and the path: {text}"
    );
    // The Job got that Sandbox.
    let run = call_ok(&client, "getRun", json!({"run_id": body["run_id"]})).await;
    assert!(run.to_string().contains(sandbox), "{run}");
    client.cancel().await.ok();
    emu.shutdown().await;
}
