//! Every listed tool's input schema uses only JSON Schema 2020-12 `format`s, so strict
//! validators (Ajv `strict: true` + ajv-formats) accept every tool.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use duvo_mcp::render::schema::STANDARD_FORMATS;
use serde_json::Value;

/// Every `format` keyword in `schema` that JSON Schema 2020-12 does not define, with its path.
fn nonstandard_formats(schema: &Value, at: &str, out: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::String(f)) = map.get("format")
                && !STANDARD_FORMATS.contains(&f.as_str())
            {
                out.push(format!("{at}: format {f:?}"));
            }
            for (k, v) in map {
                nonstandard_formats(v, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                nonstandard_formats(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn every_listed_schema_uses_only_standard_formats() {
    let emu = start_emulator().await;
    let client = connect(&emu, emu.demo_key(), &["--toolsets", "all"], &[]).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(tools.len() > 200, "--toolsets all lists the catalog");
    let mut bad = Vec::new();
    for tool in &tools {
        let schema = Value::Object((*tool.input_schema).clone());
        nonstandard_formats(&schema, &tool.name, &mut bad);
    }
    assert!(bad.is_empty(), "non-standard formats: {bad:#?}");
    // The integer arguments that carried Rust formats keep their bounds.
    let run = tools
        .iter()
        .find(|t| t.name == "runAssignment")
        .expect("runAssignment listed");
    let wait = &run.input_schema["properties"]["wait_seconds"];
    assert_eq!(wait["minimum"], 0, "{wait}");
    assert!(wait["maximum"].is_number(), "{wait}");
    client.cancel().await.ok();
    emu.shutdown().await;
}
