//! Soak: `duvo-mcp stdio` against an emulator failing ~15 % of requests in every way the fault
//! profile knows (seeded). Cases go in through `createCases` (single `case` calls and batched
//! `cases` calls, concurrently), Jobs through `startRun` (one after another); failed tool calls
//! are handled like a careful model would (read the advice, check with a list tool, re-send
//! only what is missing). Then, with faults off, the API itself proves every Case and every Job
//! exists exactly once, every failed call was actionable, every retry reused its
//! `Idempotency-Key` (short form: one key per chunk and per `startRun` call in the request log),
//! the server still answers and its memory stayed bounded.
//!
//! Short form in the normal suite (300 Cases, 40 Jobs); long form (10,000 Cases, 200 Jobs):
//! `cargo test --release --test soak -- --ignored --nocapture`.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use duvo_emulator::{DEMO_API_KEY, DEMO_TEAM_ID, EmulatorConfig, RunningEmulator};
use futures::StreamExt;
use rmcp::model::CallToolResult;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

/// How big a soak is.
struct Plan {
    /// Label in titles and messages.
    tag: &'static str,
    /// Cases sent one per `createCases {case}` call.
    single: usize,
    /// Cases sent in `createCases {cases}` calls of `batch` each.
    batched: usize,
    batch: usize,
    /// Jobs started with `startRun`.
    jobs: usize,
    /// Concurrent tool calls while pushing Cases.
    concurrency: usize,
    /// Check the request log for key reuse (the log keeps the last 10,000 requests).
    check_keys: bool,
}

/// Every tool call is bounded; a stuck call fails the soak instead of hanging it.
const CALL_LIMIT: Duration = Duration::from_secs(180);
/// Upper bound on the server's resident memory growth over the soak (a resource bound).
const RSS_GROWTH_LIMIT_KB: u64 = 64 * 1024;
/// Failure kinds of the soak profile.
const FAILURE_KINDS: [&str; 8] = [
    "error_500",
    "error_502",
    "error_503",
    "rate_limit",
    "drop_before",
    "drop_after_commit",
    "malformed",
    "malformed_after_commit",
];

/// ~15 % of requests fail (each failure kind about 2 %), plus a little latency on every request
/// and a rare slow answer; `startRun` additionally fails with 500 one time in ten, so failed
/// tool calls (500s on writes are not retried by the client) certainly happen.
fn soak_profile(seed: u64) -> Value {
    json!({"seed": seed, "rules": [
        {"kind": "latency", "rate": 1.0, "fixed_ms": 0, "jitter_ms": 3},
        {"kind": "slow", "rate": 0.005, "ms": 800},
        {"kind": "error", "status": 500, "rate": 0.02},
        {"kind": "error", "status": 502, "rate": 0.02},
        {"kind": "error", "status": 503, "rate": 0.02},
        {"kind": "rate_limit", "rate": 0.008, "retry_after": 1, "burst": 2},
        {"kind": "drop_before", "rate": 0.02},
        {"kind": "drop_after_commit", "rate": 0.025},
        {"kind": "malformed", "rate": 0.015},
        {"kind": "malformed_after_commit", "rate": 0.02},
        {"kind": "error", "status": 500, "rate": 0.10,
         "path_prefix": format!("/v2/teams/{DEMO_TEAM_ID}/runs"), "methods": ["POST"]},
    ]})
}

/// Why a failed tool result is not actionable, if it is not: it must name what failed (an HTTP
/// status, or that Duvo could not be reached / read / answered in time) and what to do next.
fn not_actionable(text: &str) -> Option<String> {
    let names_status = (400..600).any(|s| text.contains(&format!("Duvo returned {s}")))
        || text.contains("could not reach Duvo")
        || text.contains("did not answer in time")
        || text.contains("unreadable response");
    let advice = [
        "check with the matching get/list tool",
        "check listCases before re-sending",
        "check with a list tool",
        "It is safe to retry",
        "Retry after",
        "Retry shortly",
        "then retry",
    ];
    let advises = advice.iter().any(|a| text.contains(a));
    match (names_status, advises) {
        (true, true) => None,
        (false, _) => Some(format!("names no status or cause: {text}")),
        (_, false) => Some(format!("says nothing about what to do: {text}")),
    }
}

/// What the soak saw go wrong at the tool level.
#[derive(Default)]
struct Failures {
    /// (tool, text) of every `isError` result.
    errors: Vec<(String, String)>,
    /// Per-input failure reasons of partial `createCases` answers.
    partial_reasons: Vec<String>,
}

async fn bounded_call(client: &Client, name: &str, args: Value) -> CallToolResult {
    tokio::time::timeout(CALL_LIMIT, call(client, name, args))
        .await
        .unwrap_or_else(|_| panic!("{name} did not answer within {CALL_LIMIT:?}"))
}

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

async fn emulator_json(
    emu: &RunningEmulator,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut req = reqwest::Client::new().request(method, format!("{}{path}", emu.base_url()));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("emulator control endpoint");
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.expect("control JSON")
}

/// Pages a list endpoint of the API directly (faults off): every item of `field`.
async fn api_list_all(emu: &RunningEmulator, path: &str, field: &str) -> Vec<Value> {
    let http = reqwest::Client::new();
    let mut out: Vec<Value> = Vec::new();
    for _ in 0..1_000 {
        let sep = if path.contains('?') { '&' } else { '?' };
        let page: Value = http
            .get(format!(
                "{}{path}{sep}limit=100&offset={}&sort_order=asc",
                emu.base_url(),
                out.len()
            ))
            .bearer_auth(DEMO_API_KEY)
            .send()
            .await
            .expect("list page")
            .json()
            .await
            .expect("list JSON");
        let items = page[field].as_array().cloned().unwrap_or_default();
        let total = page["total"].as_u64().expect("total");
        out.extend(items.iter().cloned());
        if items.is_empty() || out.len() as u64 >= total {
            return out;
        }
    }
    panic!("{path} did not finish paging");
}

/// Whether a Case titled `title` exists, asked through `listCases` (under faults: a failed read
/// is simply asked again, as the error says it is safe to).
async fn case_exists(client: &Client, queue: &str, title: &str, seen: &mut Failures) -> bool {
    for _ in 0..20 {
        let r = bounded_call(
            client,
            "listCases",
            json!({"queue_id": queue, "search": title, "limit": 100}),
        )
        .await;
        if r.is_error == Some(true) {
            seen.errors.push(("listCases".into(), text(&r)));
            continue;
        }
        let body = r.structured_content.unwrap_or_default();
        return body["cases"]
            .as_array()
            .is_some_and(|cases| cases.iter().any(|c| c["title"] == title));
    }
    panic!("listCases kept failing for {title}");
}

/// Whether a Job with title `message` exists for `agent`, through `listRuns` (under faults).
async fn job_exists(client: &Client, agent: &str, message: &str, seen: &mut Failures) -> bool {
    for _ in 0..20 {
        let r = bounded_call(
            client,
            "listRuns",
            json!({"agent_id": agent, "search": message, "limit": 100}),
        )
        .await;
        if r.is_error == Some(true) {
            seen.errors.push(("listRuns".into(), text(&r)));
            continue;
        }
        let body = r.structured_content.unwrap_or_default();
        return body["data"]
            .as_array()
            .is_some_and(|runs| runs.iter().any(|run| run["title"] == message));
    }
    panic!("listRuns kept failing for {message}");
}

/// The outcome of one `createCases` call: created titles, failed titles, chunks sent.
struct Pushed {
    created: Vec<String>,
    failed: Vec<String>,
    chunks: usize,
    error: Option<String>,
    reasons: Vec<String>,
}

async fn push_cases(client: &Client, queue: &str, titles: Vec<String>, single: bool) -> Pushed {
    let args = if single {
        json!({"queue_id": queue, "case": {"title": titles[0], "data": "soak"}})
    } else {
        let cases: Vec<Value> = titles
            .iter()
            .map(|t| json!({"title": t, "data": "soak"}))
            .collect();
        json!({"queue_id": queue, "cases": cases})
    };
    let r = bounded_call(client, "createCases", args).await;
    let body = r.structured_content.clone().unwrap_or_default();
    let ids = body["case_ids"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        ids.len(),
        titles.len(),
        "createCases accounts for every input: {}",
        text(&r)
    );
    let mut created = Vec::new();
    let mut failed = Vec::new();
    for (title, id) in titles.iter().zip(&ids) {
        if id.is_string() {
            created.push(title.clone());
        } else {
            failed.push(title.clone());
        }
    }
    let reasons = body["failures"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|x| x["error"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Pushed {
        created,
        failed,
        chunks: titles.len().div_ceil(100),
        error: (r.is_error == Some(true)).then(|| text(&r)),
        reasons,
    }
}

async fn soak(plan: Plan) {
    let started = Instant::now();
    // The soak sends thousands of requests a minute; the emulator's limit of 300 per key would
    // throttle it to a crawl, so raise it (the client adopts the limit from the headers).
    let emu = start_emulator_with(EmulatorConfig {
        time_scale: 0.01,
        rate_limit_per_minute: 1_000_000,
        ..EmulatorConfig::default()
    })
    .await;
    let transport = spawn(&emu, emu.demo_key(), &[], &[]);
    let pid = transport.id().expect("duvo-mcp pid");
    let client: Client = rmcp::ServiceExt::serve((), transport)
        .await
        .expect("MCP handshake");

    // Warm up without faults: a fresh Queue and Assignment, so the counts below are only ours.
    let queue = call_ok(
        &client,
        "createQueue",
        json!({"name": format!("Soak {}", plan.tag)}),
    )
    .await;
    let queue = queue["queue"]["id"]
        .as_str()
        .or_else(|| queue["id"].as_str())
        .expect("queue id")
        .to_owned();
    let agent = create_agent(
        &client,
        &format!("Soak worker {}", plan.tag),
        "Answer briefly.",
    )
    .await;
    call_ok(&client, "listRuns", json!({"agent_id": agent, "limit": 1})).await;
    let rss_before = rss_kb(pid);

    let mut seen = Failures::default();
    let seed = 7;
    emulator_json(
        &emu,
        reqwest::Method::PUT,
        "/_emulator/fault-profile",
        Some(soak_profile(seed)),
    )
    .await;

    // ---- Cases: single and batched calls, concurrently -------------------------------------
    let total_cases = plan.single + plan.batched;
    let title = |i: usize| format!("soak-{}-case-{i:05}", plan.tag);
    let mut calls: Vec<(Vec<String>, bool)> =
        (0..plan.single).map(|i| (vec![title(i)], true)).collect();
    let mut i = plan.single;
    while i < total_cases {
        let end = (i + plan.batch).min(total_cases);
        calls.push(((i..end).map(title).collect(), false));
        i = end;
    }
    let mut created: HashSet<String> = HashSet::new();
    let mut failed: Vec<String> = Vec::new();
    let mut chunks_sent = 0usize;
    let mut tool_calls = 0usize;
    let mut results = futures::stream::iter(calls)
        .map(|(titles, single)| push_cases(&client, &queue, titles, single))
        .buffer_unordered(plan.concurrency);
    while let Some(p) = results.next().await {
        tool_calls += 1;
        chunks_sent += p.chunks;
        if let Some(e) = p.error {
            seen.errors.push(("createCases".into(), e));
        } else {
            seen.partial_reasons.extend(p.reasons);
        }
        created.extend(p.created);
        failed.extend(p.failed);
    }
    drop(results);
    let first_round_failed = failed.len();

    // A careful model: for each input reported failed, look first, re-send only what is missing.
    let mut resent = 0usize;
    for _round in 0..5 {
        if failed.is_empty() {
            break;
        }
        let mut still = Vec::new();
        for t in std::mem::take(&mut failed) {
            if case_exists(&client, &queue, &t, &mut seen).await {
                created.insert(t);
                continue;
            }
            resent += 1;
            tool_calls += 1;
            let p = push_cases(&client, &queue, vec![t], true).await;
            chunks_sent += p.chunks;
            if let Some(e) = p.error {
                seen.errors.push(("createCases".into(), e));
            }
            created.extend(p.created);
            still.extend(p.failed);
        }
        failed = still;
    }
    assert!(
        failed.is_empty(),
        "Cases still failing after 5 rounds: {failed:?}"
    );

    // ---- Jobs: one after another (so this phase's faults replay exactly from the seed) ------
    let cases_phase =
        emulator_json(&emu, reqwest::Method::GET, "/_emulator/fault-profile", None).await;
    emulator_json(
        &emu,
        reqwest::Method::PUT,
        "/_emulator/fault-profile",
        Some(soak_profile(seed + 1)),
    )
    .await;
    let mut start_calls = 0usize;
    let mut job_retries = 0usize;
    for j in 0..plan.jobs {
        let message = format!("soak-{}-job-{j:04}", plan.tag);
        let mut started_ok = false;
        for _attempt in 0..6 {
            start_calls += 1;
            let r = bounded_call(
                &client,
                "startRun",
                json!({"agent_id": agent, "message": message}),
            )
            .await;
            if r.is_error != Some(true) {
                started_ok = true;
                break;
            }
            seen.errors.push(("startRun".into(), text(&r)));
            // "It may or may not have taken effect: check … before retrying."
            if job_exists(&client, &agent, &message, &mut seen).await {
                started_ok = true;
                break;
            }
            job_retries += 1;
        }
        assert!(started_ok, "{message} could not be started");
    }

    // ---- Proof, with faults off --------------------------------------------------------------
    let stats = emulator_json(
        &emu,
        reqwest::Method::DELETE,
        "/_emulator/fault-profile",
        None,
    )
    .await;
    let cases = api_list_all(&emu, &format!("/v2/queues/{queue}/cases"), "cases").await;
    let mut per_title: HashMap<String, usize> = HashMap::new();
    for c in &cases {
        *per_title
            .entry(c["title"].as_str().expect("title").to_owned())
            .or_default() += 1;
    }
    let twice: Vec<_> = per_title.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "Cases created more than once: {twice:?}");
    for i in 0..total_cases {
        assert_eq!(per_title.get(&title(i)), Some(&1), "{} missing", title(i));
    }
    assert_eq!(cases.len(), total_cases, "no stray Cases");
    assert_eq!(created.len(), total_cases);

    let runs = api_list_all(
        &emu,
        &format!("/v2/teams/{DEMO_TEAM_ID}/runs?agent_id={agent}"),
        "data",
    )
    .await;
    let mut per_message: HashMap<String, usize> = HashMap::new();
    for r in &runs {
        *per_message
            .entry(r["title"].as_str().expect("title").to_owned())
            .or_default() += 1;
    }
    for j in 0..plan.jobs {
        let m = format!("soak-{}-job-{j:04}", plan.tag);
        assert_eq!(
            per_message.get(&m),
            Some(&1),
            "{m}: started {:?} times",
            per_message.get(&m)
        );
    }
    assert_eq!(runs.len(), plan.jobs, "no stray Jobs");

    // Every failed tool call said what failed and what to do.
    assert!(
        !seen.errors.is_empty(),
        "the soak should have produced some failed tool calls"
    );
    for (tool, t) in &seen.errors {
        if let Some(why) = not_actionable(t) {
            panic!("{tool}: {why}");
        }
    }
    for reason in &seen.partial_reasons {
        if let Some(why) = not_actionable(reason) {
            panic!("createCases partial failure: {why}");
        }
    }

    // The profile really did fail 10–20 % of requests, in many ways.
    let mut requests = 0;
    let mut faulted = 0;
    let mut injected: BTreeMap<String, u64> = BTreeMap::new();
    for phase in [&cases_phase, &stats["last"]] {
        requests += phase["requests_seen"].as_u64().expect("requests_seen");
        faulted += phase["faulted"].as_u64().expect("faulted");
        let counts: BTreeMap<String, u64> =
            serde_json::from_value(phase["injected"].clone()).expect("counts");
        for (kind, n) in counts {
            *injected.entry(kind).or_default() += n;
        }
    }
    let share = faulted as f64 / requests.max(1) as f64;
    let kinds_seen = FAILURE_KINDS
        .iter()
        .filter(|k| injected.get(**k).is_some_and(|n| *n > 0))
        .count();

    // Every retry reused its key: one key per chunk sent and per startRun call.
    if plan.check_keys {
        let log = request_log(&emu).await;
        let keys_on = |path: &str| -> HashSet<String> {
            log.iter()
                .filter(|e| e["method"] == "POST" && e["path"] == path)
                .map(|e| {
                    e["idempotency_key"]
                        .as_str()
                        .expect("every write has a key")
                        .to_owned()
                })
                .collect()
        };
        let case_keys = keys_on(&format!("/v2/queues/{queue}/cases"));
        assert_eq!(
            case_keys.len(),
            chunks_sent,
            "one Idempotency-Key per chunk, reused by every retry"
        );
        let run_keys = keys_on(&format!("/v2/teams/{DEMO_TEAM_ID}/runs"));
        assert_eq!(
            run_keys.len(),
            start_calls,
            "one Idempotency-Key per startRun call"
        );
    }

    // The server is still up and answering on the same session, and its memory stayed bounded.
    let tools = tokio::time::timeout(Duration::from_secs(30), client.list_all_tools())
        .await
        .expect("tools/list in time")
        .expect("tools/list");
    assert!(!tools.is_empty());
    call_ok(&client, "listQueues", json!({"limit": 1})).await;
    let rss_after = rss_kb(pid);
    if cfg!(target_os = "linux") {
        let (Some(before), Some(after)) = (rss_before, rss_after) else {
            panic!("VmRSS of duvo-mcp ({pid}) unreadable: {rss_before:?} {rss_after:?}");
        };
        assert!(
            after < before + RSS_GROWTH_LIMIT_KB,
            "duvo-mcp grew from {before} kB to {after} kB"
        );
    }

    eprintln!(
        "soak {}: {total_cases} Cases ({} single, {} batched by {}) in {tool_calls} createCases calls \
         ({chunks_sent} chunks; {first_round_failed} inputs failed at first, {resent} re-sent after a check), \
         {} Jobs in {start_calls} startRun calls ({job_retries} re-started after a check); \
         {} failed tool calls, all actionable; upstream {requests} requests, {faulted} faulted ({:.1} %): {injected:?}; \
         RSS {:?} → {:?} kB; {:.1} s",
        plan.tag,
        plan.single,
        plan.batched,
        plan.batch,
        plan.jobs,
        seen.errors.len(),
        share * 100.0,
        rss_before,
        rss_after,
        started.elapsed().as_secs_f64(),
    );
    assert!(
        (0.10..=0.20).contains(&share),
        "faulted share {share:.3} of {requests}"
    );
    // Every failure kind happened. The sequence of fates is seeded and the number of requests
    // barely depends on scheduling, so the counts are stable from run to run; if a change to
    // the request pattern ever leaves a kind out, pick another seed.
    assert!(
        kinds_seen == FAILURE_KINDS.len(),
        "only {kinds_seen} failure kinds injected: {injected:?}"
    );

    client.cancel().await.expect("close the session");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_short_nothing_lost_nothing_doubled() {
    soak(Plan {
        tag: "short",
        single: 200,
        batched: 100,
        batch: 10,
        jobs: 40,
        concurrency: 8,
        check_keys: true,
    })
    .await;
}

/// The release check: `cargo test --release --test soak -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long soak (10,000 Cases, 200 Jobs): run as a release check"]
async fn soak_long_nothing_lost_nothing_doubled() {
    soak(Plan {
        tag: "long",
        single: 2_000,
        batched: 8_000,
        batch: 250,
        jobs: 200,
        concurrency: 16,
        check_keys: false,
    })
    .await;
}
