//! createCases over MCP: 1,000 Cases in chunks while the API fails requests, every chunk
//! retried with its own Idempotency-Key, every input accounted for exactly once.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

/// Arms a fault without `retry-after` (so the client backs off quickly).
async fn fail_next(emu: &duvo_emulator::RunningEmulator, status: u16, count: u32, prefix: &str) {
    let resp = reqwest::Client::new()
        .post(format!("{}/_emulator/faults", emu.base_url()))
        .json(&json!({"status": status, "count": count, "path_prefix": prefix}))
        .send()
        .await
        .expect("fault endpoint");
    assert!(
        resp.status().is_success(),
        "fault not armed: {}",
        resp.status()
    );
}

async fn new_queue(client: &Client, name: &str) -> String {
    let q = call_ok(client, "createQueue", json!({"name": name})).await;
    q["queue"]["id"]
        .as_str()
        .or_else(|| q["id"].as_str())
        .unwrap_or_else(|| panic!("no queue id in {q}"))
        .to_owned()
}

/// Every Case of the queue, through listCases with paging (bounded). A page the server capped
/// for size returns fewer Cases; the next page starts after the ones returned.
async fn all_cases(client: &Client, queue: &str) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for _ in 0..100 {
        let got = call_ok(
            client,
            "listCases",
            json!({"queue_id": queue, "limit": 100, "offset": out.len(), "sort_order": "asc"}),
        )
        .await;
        let cases = got["cases"].as_array().cloned().unwrap_or_default();
        let total = got["total"].as_u64().expect("total");
        out.extend(cases.iter().cloned());
        if cases.is_empty() || out.len() as u64 >= total {
            return out;
        }
    }
    panic!("listCases did not finish paging");
}

#[tokio::test]
async fn a_thousand_cases_survive_failing_requests_exactly_once() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let queue = new_queue(&client, "Bulk intake").await;
    let path = format!("/v2/queues/{queue}/cases");
    // 7 × 503 outlast the client's own 5 attempts, so the workflow re-sends the first chunk;
    // then a 502 the client retries by itself.
    fail_next(&emu, 503, 7, &path).await;
    fail_next(&emu, 502, 1, &path).await;

    let inputs: Vec<Value> = (0..1000)
        .map(|i| json!({"title": format!("case-{i:04}"), "data": format!("{{\"n\": {i}}}")}))
        .collect();
    let out = call_ok(
        &client,
        "createCases",
        json!({"queue_id": queue, "cases": inputs}),
    )
    .await;
    assert_eq!(out["created"], 1000, "{}", out["failures"]);
    assert_eq!(out["complete"], true);
    assert_eq!(out["failures"], json!([]));
    let ids = out["case_ids"].as_array().expect("case_ids");
    assert_eq!(ids.len(), 1000);
    let by_index: HashMap<usize, String> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            (
                i,
                id.as_str()
                    .unwrap_or_else(|| panic!("input {i}: no id"))
                    .to_owned(),
            )
        })
        .collect();
    let distinct_ids: HashSet<&String> = by_index.values().collect();
    assert_eq!(distinct_ids.len(), 1000, "every input maps to its own Case");

    // The queue holds each input exactly once, and the result's ids are the real ones.
    let cases = all_cases(&client, &queue).await;
    assert_eq!(cases.len(), 1000);
    let mut titles: HashMap<String, String> = HashMap::new();
    for c in &cases {
        let title = c["title"].as_str().expect("title").to_owned();
        let id = c["id"].as_str().expect("id").to_owned();
        assert!(
            titles.insert(title.clone(), id).is_none(),
            "{title} created twice"
        );
    }
    for (index, id) in &by_index {
        assert_eq!(
            titles.get(&format!("case-{index:04}")),
            Some(id),
            "input {index} maps to the wrong Case"
        );
    }

    // Ten chunks, ten keys; every retry reused its chunk's key; one success per key.
    let log = request_log(&emu).await;
    let posts: Vec<&Value> = log
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"] == path.as_str())
        .collect();
    let mut per_key: HashMap<String, Vec<u64>> = HashMap::new();
    for p in &posts {
        let key = p["idempotency_key"]
            .as_str()
            .expect("every createCases request carries an Idempotency-Key");
        per_key
            .entry(key.to_owned())
            .or_default()
            .push(p["status"].as_u64().expect("status"));
    }
    assert_eq!(per_key.len(), 10, "one key per chunk: {per_key:?}");
    for (key, statuses) in &per_key {
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            1,
            "key {key}: {statuses:?}"
        );
    }
    let retried = per_key
        .values()
        .find(|s| s.len() > 5)
        .expect("one chunk was re-sent by the workflow after the client gave up");
    assert_eq!(
        retried.iter().filter(|s| **s == 503).count(),
        7,
        "{retried:?}"
    );
}

#[tokio::test]
async fn an_unknown_queue_fails_every_input_and_stops_early() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let queue = "7d1e2f3a-4b5c-4d6e-8f70-0123456789ab";
    let inputs: Vec<Value> = (0..250)
        .map(|i| json!({"title": format!("t{i}")}))
        .collect();
    let r = call(
        &client,
        "createCases",
        json!({"queue_id": queue, "cases": inputs}),
    )
    .await;
    assert_eq!(r.is_error, Some(true));
    let body = r.structured_content.clone().expect("structured");
    assert_eq!(body["created"], 0);
    let ids = body["case_ids"].as_array().expect("case_ids");
    assert_eq!(ids.len(), 250);
    assert!(ids.iter().all(Value::is_null), "{body}");
    let failures = body["failures"].as_array().expect("failures");
    assert_eq!(failures[0]["first"], 0);
    assert_eq!(failures[0]["last"], 99);
    assert!(
        failures[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("404")),
        "{}",
        failures[0]
    );
    assert_eq!(failures[1]["first"], 100);
    assert_eq!(failures[1]["last"], 249);
    assert!(
        failures[1]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("not sent")),
        "{}",
        failures[1]
    );
    assert!(text(&r).starts_with("No Case created"), "{}", text(&r));
    let log = request_log(&emu).await;
    let posts = log
        .iter()
        .filter(|x| {
            x["method"] == "POST" && x["path"].as_str().is_some_and(|p| p.ends_with("/cases"))
        })
        .count();
    assert_eq!(posts, 1, "a 404 stops the remaining chunks");
}

#[tokio::test]
async fn one_case_or_a_list_but_not_both() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let queue = new_queue(&client, "Single intake").await;
    let one = call_ok(
        &client,
        "createCases",
        json!({"queue_id": queue, "case": {"title": "only", "priority": "high",
               "labels": [{"key": "region", "value": "EU"}]}}),
    )
    .await;
    assert_eq!(one["created"], 1);
    let id = one["case_ids"][0].as_str().expect("case id");
    let got = call_ok(&client, "getCase", json!({"case_id": id})).await;
    let case = if got["case"].is_object() {
        &got["case"]
    } else {
        &got
    };
    assert_eq!(case["title"], "only");
    assert_eq!(case["priority"], "high");

    let both = call_err(
        &client,
        "createCases",
        json!({"queue_id": queue, "case": {"title": "a"}, "cases": [{"title": "b"}]}),
    )
    .await;
    assert!(both.contains("not both"), "{both}");
}

/// One retry policy per request: a chunk Duvo keeps failing with a 502 (which may hide a
/// created chunk) gets the client's own attempts only, never a workflow round on top; the
/// answer says to check listCases before re-sending.
#[tokio::test]
async fn a_failing_chunk_gets_only_the_clients_retries() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let queue = new_queue(&client, "Stubborn intake").await;
    let path = format!("/v2/queues/{queue}/cases");
    fail_next(&emu, 502, 40, &path).await;
    let r = call(
        &client,
        "createCases",
        json!({"queue_id": queue, "cases": [{"title": "a"}, {"title": "b"}]}),
    )
    .await;
    assert_eq!(r.is_error, Some(true), "{}", text(&r));
    assert!(text(&r).contains("check listCases"), "{}", text(&r));
    let log = request_log(&emu).await;
    let posts: Vec<&Value> = log
        .iter()
        .filter(|x| x["method"] == "POST" && x["path"] == path.as_str())
        .collect();
    assert!(
        (1..=5).contains(&posts.len()),
        "one client round (at most 5 attempts) for the chunk, got {}",
        posts.len()
    );
}
