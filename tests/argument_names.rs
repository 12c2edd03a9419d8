//! One spelling per argument across the catalog: snake_case names, booleans as booleans, integer
//! paging; the API's own spelling (`agentId`, as calls written for Duvo's hosted server use) is
//! still accepted and mapped, and what reaches the API is the API's spelling.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};

fn types(schema: &Value) -> Vec<String> {
    match &schema["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// A string argument that is really a flag: an enum of "true"/"false", a const of one, or a
/// description that says to pass the string "true".
fn string_flag(schema: &Value) -> bool {
    if let Some(branches) = schema["anyOf"].as_array() {
        return branches.iter().any(string_flag);
    }
    if !types(schema).iter().any(|t| t == "string") {
        return false;
    }
    let is_flag = |v: &Value| v == "true" || v == "false";
    let enum_flag = schema["enum"]
        .as_array()
        .is_some_and(|e| !e.is_empty() && e.iter().all(is_flag));
    let const_flag = is_flag(&schema["const"]);
    let described = schema["description"]
        .as_str()
        .is_some_and(|d| d.starts_with("\"true\""));
    enum_flag || const_flag || described
}

#[test]
fn every_argument_is_snake_case_with_boolean_flags_and_integer_paging() {
    let out = std::process::Command::new(binary())
        .args(["tools", "--json", "--toolsets", "all"])
        .env("DUVO_API_KEY", "dv_test_not_used")
        .output()
        .expect("duvo-mcp tools runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tools: Vec<Value> = serde_json::from_slice(&out.stdout).expect("tools --json");
    assert!(
        tools.len() > 150,
        "the whole catalog: {} tools",
        tools.len()
    );
    let mut problems = Vec::new();
    for t in &tools {
        let name = t["name"].as_str().unwrap_or("?");
        let Some(props) = t["inputSchema"]["properties"].as_object() else {
            continue;
        };
        for (arg, schema) in props {
            if arg.chars().any(|c| c.is_ascii_uppercase()) || arg.contains('-') {
                problems.push(format!("{name}.{arg}: not snake_case"));
            }
            if (arg == "limit" || arg == "offset") && !types(schema).iter().any(|t| t == "integer")
            {
                problems.push(format!(
                    "{name}.{arg}: paging must be an integer, is {schema}"
                ));
            }
            if string_flag(schema) {
                problems.push(format!("{name}.{arg}: a flag typed as a string: {schema}"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The emulator's log entries for requests whose path contains `needle`.
async fn requests_to(emu: &duvo_emulator::RunningEmulator, needle: &str) -> Vec<Value> {
    request_log(emu)
        .await
        .into_iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.contains(needle)))
        .collect()
}

#[tokio::test]
async fn renamed_arguments_accept_both_spellings_and_send_the_api_spelling() {
    let emu = start_emulator().await;
    let client = connect(&emu, emu.demo_key(), &["--toolsets", "all"], &[]).await;
    let list = call_ok(&client, "listAgents", json!({"limit": 100})).await;
    let agents = list["agents"].as_array().expect("agents");
    let (a, b) = (&agents[0], &agents[1]);
    let agent_id = a["id"].as_str().expect("id").to_owned();
    let since = "2020-01-01T00:00:00Z";

    // Path parameter: the tool's spelling and the API's reach the same path.
    for spelling in ["agent_id", "agentId"] {
        let r = call(
            &client,
            "getEvalScores",
            json!({spelling: agent_id, "since": since}),
        )
        .await;
        assert_ne!(r.is_error, Some(true), "{spelling}: {}", text(&r));
    }
    let hits = requests_to(&emu, &format!("/v2/agent/{agent_id}/eval-scores")).await;
    assert_eq!(hits.len(), 2, "both spellings reach the API: {hits:#?}");

    // Both spellings with different values: a clear error, nothing sent.
    let err = call_err(
        &client,
        "getEvalScores",
        json!({"agent_id": agent_id, "agentId": b["id"], "since": since}),
    )
    .await;
    assert!(
        err.contains("agent_id") && err.contains("agentId") && err.contains("twice"),
        "{err}"
    );
    assert_eq!(
        requests_to(&emu, "/eval-scores").await.len(),
        2,
        "the conflicting call must not reach the API"
    );

    // Body field: handover_target_ids goes out as handoverTargetIds, whichever spelling the
    // call used: the emulator reads only that name and refuses an unknown target under it.
    let build_id = a["latest_revision"]["id"]
        .as_str()
        .expect("build")
        .to_owned();
    let unknown = "0b5e2f4a-3c1d-4e6f-8a9b-1c2d3e4f5a6b";
    for spelling in ["handover_target_ids", "handoverTargetIds"] {
        let err = call_err(
            &client,
            "updateRevision",
            json!({"build_id": build_id, spelling: [unknown]}),
        )
        .await;
        assert!(
            err.contains("handoverTargetIds") && err.contains(unknown),
            "{spelling}: the API did not get handoverTargetIds: {err}"
        );
    }

    // Booleans: true and "true" both send include_schedules=true; limit is an integer.
    for flag in [json!(true), json!("true")] {
        call_ok(
            &client,
            "listAgents",
            json!({"include_schedules": flag, "limit": 5}),
        )
        .await;
    }
    let listed = requests_to(&emu, "/agents").await;
    let with_flag = listed
        .iter()
        .filter(|r| r["query"].to_string().contains("include_schedules=true"))
        .count();
    assert_eq!(with_flag, 2, "{listed:#?}");
    let err = call_err(&client, "listRuns", json!({"limit": 2.5})).await;
    assert!(err.contains("limit"), "{err}");

    client.cancel().await.ok();
    emu.shutdown().await;
}
