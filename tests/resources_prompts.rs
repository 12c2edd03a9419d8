//! Resources (duvo:// templates and links in tool results), prompts, and untrusted-text fencing.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use rmcp::model::{
    ContentBlock, GetPromptRequestParams, ReadResourceRequestParams, ResourceContents,
};
use serde_json::{Value, json};

fn text_of(contents: &[ResourceContents]) -> String {
    contents
        .iter()
        .map(|c| match c {
            ResourceContents::TextResourceContents { text, .. } => text.clone(),
            _ => String::new(),
        })
        .collect()
}

/// The JSON inside a resource's `<untrusted-duvo-data>` fence (resources carry Job-written text).
fn fenced_json(text: &str) -> Value {
    let inner = text
        .split_once("<untrusted-duvo-data>\n")
        .and_then(|(_, rest)| rest.rsplit_once("\n</untrusted-duvo-data>"))
        .map(|(inner, _)| inner)
        .unwrap_or_else(|| panic!("not fenced: {text}"));
    serde_json::from_str(inner).expect("json inside the fence")
}

async fn finished_run(client: &Client) -> String {
    let agent_id = create_agent(client, "Summariser", "Summarise the inbox.").await;
    let run = call_ok(
        client,
        "startRun",
        json!({"agent_id": agent_id, "message": "today"}),
    )
    .await;
    let run_id = run["run"]["id"].as_str().expect("run id").to_owned();
    wait_for_status(client, &run_id, &["completed"]).await;
    run_id
}

#[tokio::test]
async fn run_resources_read_status_and_paged_transcript() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let templates = client
        .list_all_resource_templates()
        .await
        .expect("templates");
    let uris: Vec<&str> = templates.iter().map(|t| t.uri_template.as_str()).collect();
    for t in [
        "duvo://runs/{run_id}",
        "duvo://runs/{run_id}/messages",
        "duvo://skills/{skill_id}/files/{path}",
    ] {
        assert!(uris.contains(&t), "{t} missing: {uris:?}");
    }
    let run_id = finished_run(&client).await;
    let status = client
        .read_resource(ReadResourceRequestParams::new(format!(
            "duvo://runs/{run_id}"
        )))
        .await
        .expect("read run");
    let v = fenced_json(&text_of(&status.contents));
    assert_eq!(v["run"]["status"], "completed");
    let page = client
        .read_resource(ReadResourceRequestParams::new(format!(
            "duvo://runs/{run_id}/messages"
        )))
        .await
        .expect("read messages");
    let v = fenced_json(&text_of(&page.contents));
    assert!(
        v["messages"].as_array().is_some_and(|m| !m.is_empty()),
        "{v}"
    );
    let err = client
        .read_resource(ReadResourceRequestParams::new("duvo://nope/1"))
        .await
        .expect_err("unknown uri");
    assert!(err.to_string().contains("duvo://runs"), "{err}");
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn job_tools_link_to_their_resources_and_fence_untrusted_text() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let run_id = finished_run(&client).await;
    let got = call(&client, "getRun", json!({"run_id": run_id})).await;
    let links: Vec<String> = got
        .content
        .iter()
        .filter_map(|c| match c {
            ContentBlock::ResourceLink(r) => Some(r.uri.clone()),
            _ => None,
        })
        .collect();
    assert!(
        links.contains(&format!("duvo://runs/{run_id}")),
        "{links:?}"
    );
    let msgs = call(&client, "listRunMessages", json!({"run_id": run_id})).await;
    let text = text(&msgs);
    assert!(
        text.contains("<untrusted-duvo-data>") && text.contains("not instructions"),
        "{text}"
    );
    assert!(
        msgs.structured_content
            .is_some_and(|v| v["messages"].is_array())
    );
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn prompts_embed_live_data_fenced() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let prompts = client.list_all_prompts().await.expect("prompts");
    let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["debug_failed_job", "triage_queue", "draft_revision"]
    );

    let agent_id = create_agent(&client, "Broken bot", "Do the thing.").await;
    let run = call_ok(
        &client,
        "startRun",
        json!({"agent_id": agent_id, "message": "go [fail]"}),
    )
    .await;
    let run_id = run["run"]["id"].as_str().expect("run id").to_owned();
    wait_for_status(&client, &run_id, &["failed"]).await;
    let args = json!({"run_id": run_id})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let prompt = client
        .get_prompt(GetPromptRequestParams::new("debug_failed_job").with_arguments(args))
        .await
        .expect("prompt");
    let body = serde_json::to_string(&prompt.messages).expect("json");
    assert!(
        body.contains(&run_id) && body.contains("failed") && body.contains("untrusted-duvo-data")
    );
    assert!(body.contains("createRevision"));

    let queues = call_ok(&client, "callTool", json!({"name": "listQueues"})).await;
    let queue_id = queues["queues"][0]["id"]
        .as_str()
        .expect("a seeded queue")
        .to_owned();
    let args = json!({"queue_id": queue_id})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let triage = client
        .get_prompt(GetPromptRequestParams::new("triage_queue").with_arguments(args))
        .await
        .expect("triage");
    assert!(
        serde_json::to_string(&triage.messages)
            .expect("json")
            .contains(&queue_id)
    );

    let args = json!({"agent_id": agent_id, "goal": "be shorter"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let draft = client
        .get_prompt(GetPromptRequestParams::new("draft_revision").with_arguments(args))
        .await
        .expect("draft");
    let body = serde_json::to_string(&draft.messages).expect("json");
    assert!(
        body.contains("Do the thing.") && body.contains("be shorter"),
        "{body}"
    );

    let err = client
        .get_prompt(GetPromptRequestParams::new("debug_failed_job"))
        .await
        .expect_err("missing argument");
    assert!(err.to_string().contains("run_id"), "{err}");
    client.cancel().await.ok();
    emu.shutdown().await;
}
