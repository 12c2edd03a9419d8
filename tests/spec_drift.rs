//! Following Duvo's live spec: the emulator serves a "newer" spec (tests/fixtures/openapi-newer.json,
//! written by tests/fixtures/make_newer_spec.py), `duvo-mcp stdio` starts on its bundled catalog,
//! loads that spec in the background and tells the client `notifications/tools/list_changed`;
//! then the new operations are listed, searchable and callable, new arguments on curated tools
//! are sent (the emulator's request log), a widened enum is accepted and the removed operation
//! is gone. `catalog diff` reports exactly the fixture's changes, and nothing for the snapshot.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod http_support;

use common::*;
use rmcp::model::{ClientCapabilities, ClientConfig, Implementation};
use rmcp::service::NotificationContext;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/openapi-newer.json"
);

/// A client that records `notifications/tools/list_changed`.
#[derive(Clone, Default)]
struct Watcher {
    changed: Arc<tokio::sync::Notify>,
}

impl ClientHandler for Watcher {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("drift-watcher", "0"),
        )
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.changed.notify_one();
    }
}

fn names(tools: &[rmcp::model::Tool]) -> Vec<String> {
    tools.iter().map(|t| t.name.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn newer_spec_becomes_the_catalog_after_list_changed() {
    // This test binary emulates the fixture spec (process-wide), stateful where it has a model.
    let fixture = std::fs::read_to_string(FIXTURE).expect("fixture");
    // The other test of this binary may have chosen it already (same file, same process).
    let _ = duvo_emulator::spec::use_spec(fixture);
    let emu = start_emulator().await;
    // The emulator serves the spec it emulates.
    let served: Value = reqwest::get(format!("{}/openapi.json", emu.base_url()))
        .await
        .expect("GET /openapi.json")
        .json()
        .await
        .expect("spec JSON");
    assert!(served["paths"]["/v2/teams/{teamId}/automations"].is_object());

    let cache = tempfile::tempdir().expect("cache dir");
    let url = format!("{}/openapi.json", emu.base_url());
    let watcher = Watcher::default();
    let changed = watcher.changed.clone();
    let client = watcher
        .serve(spawn(
            &emu,
            emu.demo_key(),
            &["--toolsets", "all"],
            &[
                ("DUVO_OPENAPI_URL", url.as_str()),
                (
                    "DUVO_OPENAPI_CACHE_DIR",
                    cache.path().to_str().expect("utf-8"),
                ),
            ],
        ))
        .await
        .expect("MCP handshake");

    // Wide margin: the only thing bounded here is the background load on a busy machine.
    tokio::time::timeout(Duration::from_secs(90), changed.notified())
        .await
        .expect("notifications/tools/list_changed after the spec loaded");

    let tools = client.list_all_tools().await.expect("tools/list");
    let listed = names(&tools);
    for new in [
        "createAutomation",
        "listAutomations",
        "getAutomation",
        "getAutomationReadiness",
    ] {
        assert!(listed.iter().any(|n| n == new), "{new} not listed");
    }
    assert!(
        !listed.iter().any(|n| n == "bulkRetryCases"),
        "the removed operation is still listed"
    );
    let create = tools
        .iter()
        .find(|t| t.name == "createAutomation")
        .expect("createAutomation");
    // Generated: hints from the method, `{teamId}` → optional team_id, body fields flat.
    let props = create.input_schema["properties"]
        .as_object()
        .expect("properties");
    assert!(props.contains_key("team_id") && props.contains_key("name"));
    assert_eq!(create.input_schema["required"], json!(["name"]));
    // oneOf of constants → enum; nullable → a null type.
    assert_eq!(props["mode"]["enum"], json!(["manual", "scheduled"]));
    assert_eq!(props["description"]["type"], json!(["string", "null"]));
    let list_runs = tools
        .iter()
        .find(|t| t.name == "listRuns")
        .expect("listRuns");
    let status_enum = list_runs.input_schema["properties"]["status"]["enum"]
        .as_array()
        .expect("status enum");
    assert!(status_enum.contains(&json!("archived")), "enum not widened");

    // Searchable and callable through the meta tools.
    let found = call_ok(
        &client,
        "searchTools",
        json!({"query": "automation", "limit": 10}),
    )
    .await;
    let found: Vec<&str> = found["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(found.contains(&"createAutomation"), "{found:?}");
    let made = call(
        &client,
        "callTool",
        json!({"name": "createAutomation", "arguments": {"name": "Nightly report"}}),
    )
    .await;
    assert_ne!(made.is_error, Some(true), "{}", text(&made));
    let got = call(&client, "listAutomations", json!({"limit": 5})).await;
    assert_ne!(got.is_error, Some(true), "{}", text(&got));

    // New arguments and a widened enum on a curated tool are validated by the spec and sent.
    let runs = call(
        &client,
        "listRuns",
        json!({"until": "2026-01-01T00:00:00Z", "count_only": "true", "status": "archived"}),
    )
    .await;
    assert!(
        !text(&runs).contains("nothing was sent"),
        "refused before sending: {}",
        text(&runs)
    );
    let agent = call(
        &client,
        "createAgent",
        json!({"name": "Drift check", "type": "computer_use"}),
    )
    .await;
    assert!(
        !text(&agent).contains("nothing was sent"),
        "refused before sending: {}",
        text(&agent)
    );
    let log = request_log(&emu).await;
    let sent = log.iter().any(|e| {
        let q = e["query"].as_str().unwrap_or("");
        e["path"].as_str().is_some_and(|p| p.ends_with("/runs"))
            && q.contains("until=2026-01-01T00%3A00%3A00Z")
            && q.contains("count_only=true")
            && q.contains("status=archived")
    });
    assert!(
        sent,
        "listRuns' new arguments not in the request log: {log:?}"
    );
    assert!(
        log.iter()
            .any(|e| e["method"] == "POST"
                && e["path"].as_str().is_some_and(|p| p.ends_with("/agents"))),
        "createAgent with the new argument was not sent"
    );
    assert!(
        log.iter().any(|e| e["method"] == "POST"
            && e["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/automations"))),
        "createAutomation was not sent"
    );

    // The removed operation is neither callable nor served.
    let gone = call(
        &client,
        "callTool",
        json!({"name": "bulkRetryCases", "arguments": {}}),
    )
    .await;
    assert_eq!(gone.is_error, Some(true));
    assert!(text(&gone).contains("Unknown tool"), "{}", text(&gone));
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/v2/queues/{}/cases/bulk-retry",
            emu.base_url(),
            uuid::Uuid::nil()
        ))
        .bearer_auth(emu.demo_key())
        .json(&json!({"case_ids": []}))
        .send()
        .await
        .expect("emulator");
    assert_eq!(resp.status().as_u16(), 404);
    // The live spec was cached for next time (one file pair per URL).
    let cached = std::fs::read_dir(cache.path()).expect("cache").count();
    assert_eq!(cached, 2, "spec and its metadata cached");
    client.cancel().await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn http_sessions_are_told_too() {
    let fixture = std::fs::read_to_string(FIXTURE).expect("fixture");
    // The other test of this binary may have chosen it already (same file, same process).
    let _ = duvo_emulator::spec::use_spec(fixture);
    let emu = start_emulator().await;
    let url = format!("{}/openapi.json", emu.base_url());
    let cache = tempfile::tempdir().expect("cache dir");
    let server = http_support::spawn(
        &["--toolsets", "all"],
        &[
            ("DUVO_API_BASE_URL", emu.base_url()),
            ("DUVO_API_KEY", emu.demo_key()),
            ("DUVO_OPENAPI_URL", url.as_str()),
            (
                "DUVO_OPENAPI_CACHE_DIR",
                cache.path().to_str().expect("utf-8"),
            ),
        ],
    )
    .await;
    let watcher = Watcher::default();
    let changed = watcher.changed.clone();
    let client = watcher
        .serve(rmcp::transport::StreamableHttpClientTransport::from_uri(
            server.url("/mcp"),
        ))
        .await
        .expect("legacy HTTP session");
    tokio::time::timeout(Duration::from_secs(90), changed.notified())
        .await
        .expect("notifications/tools/list_changed on the HTTP session");
    let listed = names(&client.list_all_tools().await.expect("tools/list"));
    assert!(listed.iter().any(|n| n == "listAutomations"));
    assert!(!listed.iter().any(|n| n == "bulkRetryCases"));
    client.cancel().await.ok();
}

fn diff(args: &[&str]) -> (i32, Value) {
    let out = std::process::Command::new(binary())
        .args(["catalog", "diff", "--json"])
        .args(args)
        .env_remove("DUVO_OPENAPI_URL")
        .output()
        .expect("run catalog diff");
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), json)
}

#[test]
fn catalog_diff_is_empty_for_the_snapshot_and_exact_for_the_fixture() {
    let (code, bundled) = diff(&["--bundled-spec"]);
    assert_eq!(code, 0, "{bundled}");
    assert_eq!(bundled["added_operations"], json!([]));
    assert_eq!(bundled["removed_operations"], json!([]));
    assert_eq!(bundled["changed_operations"], json!([]));

    let (code, newer) = diff(&["--openapi-url", FIXTURE]);
    assert_eq!(code, 1, "the overlay names an operation the spec lacks");
    assert_eq!(
        newer["added_operations"],
        json!([
            {"name": "createAutomation", "toolset": "automations"},
            {"name": "getAutomation", "toolset": "automations"},
            {"name": "getAutomationReadiness", "toolset": "automations"},
            {"name": "listAutomations", "toolset": "automations"}
        ])
    );
    assert_eq!(newer["removed_operations"], json!(["bulkRetryCases"]));
    let mut changed: Vec<Value> = newer["changed_operations"]
        .as_array()
        .expect("changed")
        .clone();
    changed.sort_by_key(|c| c["name"].as_str().unwrap_or("").to_owned());
    assert_eq!(
        Value::Array(changed),
        json!([
            {"name": "bulkUpdateCaseStatus", "widened_enums": {"status": ["canceled"]}},
            {"name": "createAgent", "added_arguments": ["type"]},
            {"name": "listRuns", "added_arguments": ["count_only", "until"],
             "widened_enums": {"status": ["archived"]}}
        ])
    );
}
