//! The emulator's seeded fault profile over HTTP: each kind does what it says, faulted requests
//! do not run (except `*_after_commit`, whose retries are answered from the idempotency store),
//! every fault is in the request log, and the same seed replays the same faults.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use duvo_emulator::faults::{FaultKind, FaultProfile, FaultRule};
use duvo_emulator::{DEMO_API_KEY, DEMO_TEAM_ID, EmulatorConfig, RunningEmulator};
use serde_json::{Value, json};
use std::time::Duration;

/// A client that never retries and never reuses a connection a fault broke.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("reqwest client")
}

async fn set_profile(emu: &RunningEmulator, profile: Value) -> Value {
    let resp = http()
        .put(format!("{}/_emulator/fault-profile", emu.base_url()))
        .json(&profile)
        .send()
        .await
        .expect("fault-profile endpoint");
    assert!(
        resp.status().is_success(),
        "profile refused: {}",
        resp.status()
    );
    resp.json().await.expect("profile JSON")
}

async fn clear_profile(emu: &RunningEmulator) -> Value {
    http()
        .delete(format!("{}/_emulator/fault-profile", emu.base_url()))
        .send()
        .await
        .expect("fault-profile endpoint")
        .json()
        .await
        .expect("JSON")
}

fn one_rule(rule: Value) -> Value {
    json!({"seed": 1, "rules": [rule]})
}

async fn get(emu: &RunningEmulator, path: &str) -> Result<reqwest::Response, reqwest::Error> {
    http()
        .get(format!("{}{path}", emu.base_url()))
        .bearer_auth(DEMO_API_KEY)
        .send()
        .await
}

async fn start_run(
    emu: &RunningEmulator,
    agent: &str,
    message: &str,
    key: &str,
) -> Result<reqwest::Response, reqwest::Error> {
    http()
        .post(format!("{}/v2/teams/{DEMO_TEAM_ID}/runs", emu.base_url()))
        .bearer_auth(DEMO_API_KEY)
        .header("idempotency-key", key)
        .json(&json!({"agent_id": agent, "message": message}))
        .send()
        .await
}

/// How many Jobs have `title` (read with no profile active).
async fn runs_titled(emu: &RunningEmulator, title: &str) -> usize {
    let v: Value = get(
        emu,
        &format!("/v2/teams/{DEMO_TEAM_ID}/runs?limit=100&search={title}"),
    )
    .await
    .expect("listRuns")
    .json()
    .await
    .expect("listRuns JSON");
    v["data"]
        .as_array()
        .or_else(|| v["runs"].as_array())
        .expect("runs list")
        .iter()
        .filter(|r| r["title"] == title)
        .count()
}

async fn first_agent(emu: &RunningEmulator) -> String {
    let v: Value = get(emu, &format!("/v2/teams/{DEMO_TEAM_ID}/agents?limit=1"))
        .await
        .expect("listAgents")
        .json()
        .await
        .expect("JSON");
    v["agents"][0]["id"]
        .as_str()
        .or_else(|| v["data"][0]["id"].as_str())
        .unwrap_or_else(|| panic!("no agent in {v}"))
        .to_owned()
}

fn runs_path() -> String {
    format!("/v2/teams/{DEMO_TEAM_ID}/runs")
}

async fn log_entries_with_fault(emu: &RunningEmulator) -> Vec<Value> {
    request_log(emu)
        .await
        .into_iter()
        .filter(|e| e.get("fault").is_some())
        .collect()
}

#[tokio::test]
async fn errors_and_429_storms_answer_the_envelope_without_running() {
    let emu = start_emulator().await;
    let agent = first_agent(&emu).await;
    set_profile(
        &emu,
        json!({"seed": 1, "rules": [
            {"kind": "error", "status": 502, "rate": 1.0, "retry_after": 4, "methods": ["POST"]},
        ]}),
    )
    .await;
    // Filters: GETs pass.
    assert_eq!(get(&emu, "/v2/teams").await.expect("GET").status(), 200);
    let r = start_run(&emu, &agent, "fault-error-1", "k-error-1")
        .await
        .expect("answer");
    assert_eq!(r.status(), 502);
    assert_eq!(r.headers()["retry-after"], "4");
    let body: Value = r.json().await.expect("envelope");
    assert_eq!(body["error"], "bad_gateway");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("Injected fault"))
    );

    set_profile(
        &emu,
        one_rule(
            json!({"kind": "rate_limit", "rate": 1.0, "retry_after": 3, "burst": 2,
                        "path_prefix": "/v2/profile"}),
        ),
    )
    .await;
    for _ in 0..2 {
        let r = get(&emu, "/v2/profile").await.expect("answer");
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "3");
        assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
        let body: Value = r.json().await.expect("envelope");
        assert_eq!(body["error"], "rate_limited");
    }
    let report = clear_profile(&emu).await;
    assert_eq!(report["last"]["injected"]["rate_limit"], 2);
    assert_eq!(
        runs_titled(&emu, "fault-error-1").await,
        0,
        "a faulted request does not run"
    );

    let faults = log_entries_with_fault(&emu).await;
    let labels: Vec<&str> = faults.iter().filter_map(|e| e["fault"].as_str()).collect();
    assert_eq!(labels, vec!["error_502", "rate_limit", "rate_limit"]);
    assert_eq!(faults[0]["status"], 502);
    assert_eq!(faults[0]["idempotency_key"], "k-error-1");
    emu.shutdown().await;
}

#[tokio::test]
async fn drop_before_closes_without_an_answer_and_runs_nothing() {
    let emu = start_emulator().await;
    let agent = first_agent(&emu).await;
    set_profile(
        &emu,
        one_rule(json!({"kind": "drop_before", "rate": 1.0, "path_prefix": runs_path(), "methods": ["POST"]})),
    )
    .await;
    let err = start_run(&emu, &agent, "fault-drop-before", "k-drop-before")
        .await
        .expect_err("no answer at all");
    assert!(!err.is_timeout(), "closed, not hung: {err}");
    assert!(err.status().is_none(), "{err}");
    clear_profile(&emu).await;
    assert_eq!(runs_titled(&emu, "fault-drop-before").await, 0);
    let faults = log_entries_with_fault(&emu).await;
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0]["fault"], "drop_before");
    assert_eq!(faults[0]["status"], Value::Null);
    emu.shutdown().await;
}

#[tokio::test]
async fn drop_after_commit_runs_once_and_the_same_key_replays() {
    let emu = start_emulator().await;
    let agent = first_agent(&emu).await;
    set_profile(
        &emu,
        one_rule(json!({"kind": "drop_after_commit", "rate": 1.0, "path_prefix": runs_path(), "methods": ["POST"]})),
    )
    .await;
    let r = start_run(&emu, &agent, "fault-drop-after", "k-drop-after")
        .await
        .expect("the status line and headers arrive");
    assert_eq!(r.status(), 201);
    let declared: usize = r.headers()["content-length"]
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("content-length");
    assert!(declared > 0);
    assert!(r.bytes().await.is_err(), "the body is cut off");
    clear_profile(&emu).await;
    assert_eq!(
        runs_titled(&emu, "fault-drop-after").await,
        1,
        "the operation ran"
    );

    // The retry with the same key is answered from the idempotency store: still one Job.
    let again = start_run(&emu, &agent, "fault-drop-after", "k-drop-after")
        .await
        .expect("answer");
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let body: Value = again.json().await.expect("full JSON this time");
    assert!(body["run"]["id"].is_string(), "{body}");
    assert_eq!(runs_titled(&emu, "fault-drop-after").await, 1);

    let faults = log_entries_with_fault(&emu).await;
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0]["fault"], "drop_after_commit");
    assert_eq!(
        faults[0]["status"], 201,
        "the operation's own status is logged"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn malformed_bodies_before_and_after_commit() {
    let emu = start_emulator().await;
    let agent = first_agent(&emu).await;
    set_profile(
        &emu,
        one_rule(json!({"kind": "malformed", "rate": 1.0, "path_prefix": runs_path()})),
    )
    .await;
    let r = start_run(&emu, &agent, "fault-malformed", "k-malformed")
        .await
        .expect("answer");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .is_ok_and(|c| c.contains("json"))
    );
    let bytes = r.bytes().await.expect("a complete (bad) body");
    assert_eq!(bytes.first(), Some(&b'{'));
    assert!(
        serde_json::from_slice::<Value>(&bytes).is_err(),
        "truncated JSON"
    );
    clear_profile(&emu).await;
    assert_eq!(
        runs_titled(&emu, "fault-malformed").await,
        0,
        "malformed does not run"
    );

    set_profile(
        &emu,
        one_rule(
            json!({"kind": "malformed_after_commit", "rate": 1.0, "path_prefix": runs_path(),
                        "methods": ["POST"]}),
        ),
    )
    .await;
    let r = start_run(&emu, &agent, "fault-malformed-after", "k-malformed-after")
        .await
        .expect("answer");
    assert_eq!(r.status(), 201);
    let bytes = r.bytes().await.expect("a complete (cut) body");
    assert!(serde_json::from_slice::<Value>(&bytes).is_err(), "cut JSON");
    clear_profile(&emu).await;
    assert_eq!(
        runs_titled(&emu, "fault-malformed-after").await,
        1,
        "after_commit runs"
    );
    let again = start_run(&emu, &agent, "fault-malformed-after", "k-malformed-after")
        .await
        .expect("answer");
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let body: Value = again.json().await.expect("the stored answer is whole");
    assert!(body["run"]["id"].is_string(), "{body}");
    assert_eq!(runs_titled(&emu, "fault-malformed-after").await, 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn delays_are_logged_and_answer_normally() {
    let emu = start_emulator().await;
    set_profile(
        &emu,
        json!({"seed": 4, "rules": [
            {"kind": "latency", "rate": 1.0, "fixed_ms": 30, "jitter_ms": 10, "path_prefix": "/v2/teams"},
            {"kind": "slow", "rate": 1.0, "ms": 200, "path_prefix": "/v2/profile"},
        ]}),
    )
    .await;
    assert_eq!(get(&emu, "/v2/teams").await.expect("answer").status(), 200);
    assert_eq!(
        get(&emu, "/v2/profile").await.expect("answer").status(),
        200
    );
    let faults = log_entries_with_fault(&emu).await;
    assert_eq!(faults.len(), 2, "{faults:?}");
    assert_eq!(faults[0]["fault"], "latency");
    let ms = faults[0]["fault_delay_ms"].as_u64().expect("delay");
    assert!((30..=40).contains(&ms), "{ms}");
    assert_eq!(faults[0]["status"], 200);
    assert_eq!(faults[1]["fault"], "slow");
    assert_eq!(faults[1]["fault_delay_ms"], 200);
    emu.shutdown().await;
}

/// The outcome of one request as a short string (status, `dropped` or `bad-json`).
async fn outcome(emu: &RunningEmulator, path: &str) -> String {
    match get(emu, path).await {
        Err(_) => "dropped".to_owned(),
        Ok(r) => {
            let status = r.status().as_u16();
            match r.bytes().await {
                Err(_) => format!("{status}-cut"),
                Ok(b) if serde_json::from_slice::<Value>(&b).is_err() => {
                    format!("{status}-bad-json")
                }
                Ok(_) => status.to_string(),
            }
        }
    }
}

#[tokio::test]
async fn the_same_seed_replays_the_same_faults_over_http() {
    let emu = start_emulator().await;
    let profile = json!({"seed": 42, "rules": [
        {"kind": "error", "status": 500, "rate": 0.05},
        {"kind": "error", "status": 503, "rate": 0.05},
        {"kind": "rate_limit", "rate": 0.03, "burst": 2},
        {"kind": "drop_before", "rate": 0.05},
        {"kind": "drop_after_commit", "rate": 0.05},
        {"kind": "malformed", "rate": 0.05},
        {"kind": "malformed_after_commit", "rate": 0.05},
    ]});
    let paths = [
        "/v2/teams",
        "/v2/profile",
        &format!("/v2/teams/{DEMO_TEAM_ID}/agents"),
    ];
    let mut runs: Vec<Vec<String>> = Vec::new();
    for _ in 0..2 {
        set_profile(&emu, profile.clone()).await;
        let mut seen = Vec::new();
        for i in 0..150 {
            seen.push(outcome(&emu, paths[i % paths.len()]).await);
        }
        runs.push(seen);
    }
    assert_eq!(runs[0], runs[1], "same seed, same sequence, same faults");
    for kind in ["500", "503", "429", "dropped", "200-cut", "200-bad-json"] {
        assert!(
            runs[0].iter().any(|o| o == kind),
            "{kind} never happened: {:?}",
            runs[0]
        );
    }
    let report = clear_profile(&emu).await;
    assert_eq!(report["last"]["requests_seen"], 150);
    emu.shutdown().await;
}

#[tokio::test]
async fn config_profile_applies_from_the_start_and_bad_profiles_are_refused() {
    let emu = start_emulator_with(EmulatorConfig {
        time_scale: 0.01,
        faults: FaultProfile {
            seed: 9,
            rules: vec![
                FaultRule::new(
                    FaultKind::Error {
                        status: 503,
                        retry_after: None,
                    },
                    1.0,
                )
                .on_path("/v2/profile"),
            ],
        },
        ..EmulatorConfig::default()
    })
    .await;
    assert_eq!(
        get(&emu, "/v2/profile").await.expect("answer").status(),
        503
    );
    let report: Value = http()
        .get(format!("{}/_emulator/fault-profile", emu.base_url()))
        .send()
        .await
        .expect("GET profile")
        .json()
        .await
        .expect("JSON");
    assert_eq!(report["active"], true);
    assert_eq!(report["profile"]["seed"], 9);
    assert_eq!(report["injected"]["error_503"], 1);

    let r = http()
        .put(format!("{}/_emulator/fault-profile", emu.base_url()))
        .json(&json!({"rules": [{"kind": "error", "rate": 0.5}]}))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.expect("envelope");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("rules[0].status")),
        "{body}"
    );
    // The old profile is still in force.
    assert_eq!(
        get(&emu, "/v2/profile").await.expect("answer").status(),
        503
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn emulator_command_takes_fault_flags() {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(binary())
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--fault-rate",
            "0.2",
            "--fault-seed",
            "7",
        ])
        .env_remove("DUVO_EMULATOR_FAULT_PROFILE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn duvo-mcp emulator");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    let base = tokio::time::timeout(Duration::from_secs(20), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.strip_prefix("Duvo emulator listening on ") {
                return Some(url.trim().to_owned());
            }
        }
        None
    })
    .await
    .expect("emulator starts in time")
    .expect("base URL printed");
    let report: Value = http()
        .get(format!("{base}/_emulator/fault-profile"))
        .send()
        .await
        .expect("GET profile")
        .json()
        .await
        .expect("JSON");
    assert_eq!(report["active"], true);
    assert_eq!(
        FaultProfile::from_json(&report["profile"]).expect("profile"),
        FaultProfile::mixed(0.2, 7)
    );
    child.kill().await.expect("stop the emulator we started");

    let out = tokio::process::Command::new(binary())
        .args(["emulator", "--listen", "127.0.0.1:0", "--fault-rate", "3"])
        .output()
        .await
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fault-rate"));
}

// ---- The shared Duvo client against each kind ----------------------------------------------

use duvo_mcp::client::request::Method as ApiMethod;
use duvo_mcp::client::retry::RetryPolicy;
use duvo_mcp::client::{ApiError, ApiKey, ApiRequest, ClientConfig, DuvoClient, RequestBody};

/// Our client with short backoffs (the policy's shape, not its pace, is under test).
fn duvo_client(base: &str) -> DuvoClient {
    let mut config = ClientConfig::new(
        url::Url::parse(base).expect("base URL"),
        Some(ApiKey::new(DEMO_API_KEY)),
    );
    config.retry = RetryPolicy {
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        ..RetryPolicy::default()
    };
    DuvoClient::new(config).expect("client")
}

fn start_run_request(agent: &str, message: &str) -> ApiRequest {
    let mut req = ApiRequest::new(ApiMethod::Post, runs_path());
    req.body = RequestBody::Json(json!({"agent_id": agent, "message": message}));
    req
}

#[tokio::test]
async fn the_client_retries_every_transient_kind_with_one_key_and_writes_once() {
    let emu = start_emulator().await;
    let agent = first_agent(&emu).await;
    let client = duvo_client(emu.base_url());
    let kinds = [
        json!({"kind": "error", "status": 502}),
        json!({"kind": "error", "status": 503, "retry_after": 0}),
        json!({"kind": "rate_limit", "retry_after": 0, "burst": 2}),
        json!({"kind": "drop_before"}),
        json!({"kind": "drop_after_commit"}),
        json!({"kind": "malformed"}),
        json!({"kind": "malformed_after_commit"}),
    ];
    for (i, kind) in kinds.iter().enumerate() {
        let mut rule = kind.clone();
        rule["rate"] = json!(1.0);
        rule["limit"] = json!(1);
        rule["path_prefix"] = json!(runs_path());
        rule["methods"] = json!(["POST"]);
        set_profile(&emu, one_rule(rule)).await;
        http()
            .delete(format!("{}/_emulator/requests", emu.base_url()))
            .send()
            .await
            .expect("clear log");
        let title = format!("client-survives-{i}");
        let answer = client
            .send(&start_run_request(&agent, &title))
            .await
            .unwrap_or_else(|e| panic!("{kind}: the client should have recovered: {e}"));
        assert_eq!(answer.status, 201, "{kind}");
        let report = clear_profile(&emu).await;
        assert!(
            report["last"]["faulted"].as_u64() >= Some(1),
            "{kind}: {report}"
        );
        assert_eq!(
            runs_titled(&emu, &title).await,
            1,
            "{kind}: exactly one Job"
        );
        let posts: Vec<Value> = request_log(&emu)
            .await
            .into_iter()
            .filter(|e| e["method"] == "POST" && e["path"] == runs_path().as_str())
            .collect();
        assert!(posts.len() >= 2, "{kind}: retried: {posts:?}");
        let key = posts[0]["idempotency_key"].as_str().expect("a key");
        assert!(
            posts.iter().all(|p| p["idempotency_key"] == key),
            "{kind}: every retry reuses the key: {posts:?}"
        );
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn the_client_retries_unreadable_reads_and_explains_when_it_gives_up() {
    let emu = start_emulator().await;
    let client = duvo_client(emu.base_url());
    set_profile(
        &emu,
        one_rule(
            json!({"kind": "malformed", "rate": 1.0, "limit": 2, "path_prefix": "/v2/profile"}),
        ),
    )
    .await;
    let answer = client
        .send(&ApiRequest::new(ApiMethod::Get, "/v2/profile"))
        .await
        .expect("a read survives two garbled answers");
    assert_eq!(answer.status, 200);

    set_profile(
        &emu,
        one_rule(json!({"kind": "malformed", "rate": 1.0, "path_prefix": "/v2/profile"})),
    )
    .await;
    let err = client
        .send(&ApiRequest::new(ApiMethod::Get, "/v2/profile"))
        .await
        .expect_err("always garbled");
    assert!(
        matches!(err, ApiError::Decode { attempts: 5, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("after 5 attempt(s)") && text.contains("Retry shortly"),
        "{text}"
    );

    // A 500 on a write is not retried (it may have run); the caller is told to check first.
    let agent = first_agent(&emu).await;
    set_profile(
        &emu,
        one_rule(json!({"kind": "error", "status": 500, "rate": 1.0, "limit": 1, "path_prefix": runs_path()})),
    )
    .await;
    let err = client
        .send(&start_run_request(&agent, "client-500"))
        .await
        .expect_err("500 is returned");
    assert_eq!(err.status(), Some(500));
    clear_profile(&emu).await;
    assert_eq!(runs_titled(&emu, "client-500").await, 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn an_in_flight_key_is_asked_again_with_the_same_key() {
    use axum::http::HeaderMap;
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/v2/things",
        axum::routing::post(move |headers: HeaderMap| {
            let log = Arc::clone(&log);
            async move {
                let key = headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let mut seen = log.lock().unwrap_or_else(|e| e.into_inner());
                seen.push(key);
                if seen.len() == 1 {
                    (
                        axum::http::StatusCode::CONFLICT,
                        axum::Json(
                            json!({"error": "idempotency_key_in_use", "message": "still running"}),
                        ),
                    )
                } else {
                    (
                        axum::http::StatusCode::CREATED,
                        axum::Json(json!({"id": "t1"})),
                    )
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = duvo_client(&format!("http://{addr}"));
    let mut req = ApiRequest::new(ApiMethod::Post, "/v2/things");
    req.body = RequestBody::Json(json!({"name": "x"}));
    let answer = client
        .send(&req)
        .await
        .expect("answered after the first attempt finished");
    assert_eq!(answer.status, 201);
    let keys = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert_eq!(keys.len(), 2);
    assert!(!keys[0].is_empty() && keys[0] == keys[1], "{keys:?}");
    server.abort();
}
