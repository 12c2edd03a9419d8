//! One snapshot file per tool the model sees (`tests/snapshots/tools/<name>.json`: name, title,
//! description, annotations, input schema), REST and composite alike, read from `tools/list` of
//! `duvo-mcp stdio --toolsets all`. A change to any tool's contract shows as a diff in review.
//!
//! After an intended change: `UPDATE_SNAPSHOTS=1 cargo test --test tool_snapshots`.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{connect, start_emulator};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn snapshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/tools")
}

/// A line diff: `-` expected, `+` actual (common prefix and suffix dropped).
fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let head = e.iter().zip(&a).take_while(|(x, y)| x == y).count();
    let tail = e[head..]
        .iter()
        .rev()
        .zip(a[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let mut out = format!("@@ line {} @@\n", head + 1);
    for l in &e[head..e.len() - tail] {
        out.push_str(&format!("-{l}\n"));
    }
    for l in &a[head..a.len() - tail] {
        out.push_str(&format!("+{l}\n"));
    }
    out
}

#[tokio::test]
async fn every_tool_matches_its_snapshot() {
    let emu = start_emulator().await;
    let client = connect(&emu, emu.demo_key(), &["--toolsets", "all"], &[]).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    client.cancel().await.ok();

    let mut actual: BTreeMap<String, String> = BTreeMap::new();
    for t in &tools {
        let snap = json!({
            "name": t.name,
            "title": t.title,
            "description": t.description,
            "annotations": t.annotations,
            "inputSchema": t.input_schema,
        });
        let text = serde_json::to_string_pretty(&snap).expect("a tool serialises") + "\n";
        actual.insert(t.name.to_string(), text);
    }
    assert!(
        actual.contains_key("runAssignment") && actual.contains_key("getRun"),
        "composite and REST tools are both listed"
    );

    let dir = snapshot_dir();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(&dir).expect("create the snapshot directory");
        for entry in std::fs::read_dir(&dir).expect("read the snapshot directory") {
            let path = entry.expect("a directory entry").path();
            if path.extension().is_some_and(|e| e == "json") {
                std::fs::remove_file(&path).expect("remove an old snapshot");
            }
        }
        for (name, text) in &actual {
            std::fs::write(dir.join(format!("{name}.json")), text).expect("write a snapshot");
        }
        return;
    }

    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.extension().is_some_and(|e| e == "json") {
                let name = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .expect("a UTF-8 file name")
                    .to_owned();
                let text = std::fs::read_to_string(&path).expect("read a snapshot");
                expected.insert(name, text);
            }
        }
    }

    let mut problems = Vec::new();
    for (name, text) in &actual {
        match expected.get(name) {
            None => problems.push(format!("{name}: new tool, no snapshot")),
            Some(snap) if snap != text => {
                problems.push(format!("{name}: changed\n{}", diff(snap, text)));
            }
            Some(_) => {}
        }
    }
    for name in expected.keys().filter(|n| !actual.contains_key(*n)) {
        problems.push(format!("{name}: snapshot of a tool no longer listed"));
    }
    assert!(
        problems.is_empty(),
        "{} tool snapshot(s) differ from tests/snapshots/tools/:\n\n{}\n\nIf the change is \
         intended: UPDATE_SNAPSHOTS=1 cargo test --test tool_snapshots (and review the diff)",
        problems.len(),
        problems.join("\n\n")
    );
    // Every snapshot parses as JSON (hand edits included).
    for (name, text) in &expected {
        serde_json::from_str::<Value>(text)
            .unwrap_or_else(|e| panic!("{name}.json is not JSON: {e}"));
    }
}
