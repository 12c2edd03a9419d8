//! HTTP-level tests of the Duvo API emulator (`duvo_emulator`).
// Tests: unwrapping and panicking is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).

mod common;

use common::emu_http::{self, Resp};

use std::time::{Duration, Instant};

use duvo_emulator::{
    self as emulator, DEMO_API_KEY, DEMO_TEAM_ID, EmulatorConfig, OTHER_TEAM_ID, OTHER_TEAM_KEY,
    RunningEmulator,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const SECRET_KEY: &str = "dv_SECRET_test_key_do_not_log";

struct Ctx {
    emu: RunningEmulator,
    http: reqwest::Client,
}

impl Ctx {
    async fn new(config: EmulatorConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let emu = emulator::start(listener, config)
            .await
            .expect("start emulator");
        Self {
            emu,
            http: reqwest::Client::new(),
        }
    }

    async fn fast() -> Self {
        Self::new(EmulatorConfig {
            time_scale: 0.01,
            ..EmulatorConfig::default()
        })
        .await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
        idem: Option<&str>,
    ) -> Resp {
        emu_http::send(
            &self.http,
            self.emu.base_url(),
            (method, path),
            key,
            body,
            idem,
        )
        .await
    }

    async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, Some(SECRET_KEY), None, None)
            .await
    }

    async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(SECRET_KEY), Some(&body), None)
            .await
    }

    async fn create_agent(&self, name: &str, sop: &str) -> (String, String) {
        let r = self
            .post(
                &format!("/v2/teams/{DEMO_TEAM_ID}/agents"),
                json!({"name": name, "build": {"name": "v1", "config": config(sop)}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "createAgent: {}", r.body);
        (
            r.body["agent"]["id"]
                .as_str()
                .expect("agent.id")
                .to_string(),
            r.body["build"]["id"]
                .as_str()
                .expect("build.id")
                .to_string(),
        )
    }

    async fn start_run(&self, agent_id: &str, message: &str) -> String {
        let r = self
            .post(
                &format!("/v2/teams/{DEMO_TEAM_ID}/runs"),
                json!({"agent_id": agent_id, "message": message}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "startRun: {}", r.body);
        r.body["run"]["id"].as_str().expect("run.id").to_string()
    }

    /// Poll getRun until its status is one of `want` (bounded), returning the getRun body.
    async fn wait_for(&self, run_id: &str, want: &[&str]) -> Value {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut last = Value::Null;
        while Instant::now() < deadline {
            let r = self.get(&format!("/v2/runs/{run_id}")).await;
            assert_eq!(r.status, StatusCode::OK, "getRun: {}", r.body);
            let status = r.body["run"]["status"].as_str().unwrap_or_default();
            if want.contains(&status) {
                return r.body;
            }
            last = r.body;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("run {run_id} did not reach {want:?} within 15 s; last getRun: {last}");
    }
}

fn config(sop: &str) -> Value {
    json!({
        "version": "v2",
        "data": {
            "models": {
                "agent": {"model": "claude-sonnet-4-6"},
                "browsing": {"provider": "anthropic", "model": "claude-sonnet-4-5"}
            },
            "input": sop
        }
    })
}

fn assert_envelope(r: &Resp, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "body: {}", r.body);
    assert_eq!(r.body["error"], code, "body: {}", r.body);
    assert!(r.body["message"].is_string(), "body: {}", r.body);
    let keys: Vec<&String> = r.body.as_object().expect("object").keys().collect();
    assert_eq!(keys.len(), 2, "envelope has only error+message: {}", r.body);
}

fn assert_keys(v: &Value, keys: &[&str]) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"));
    for k in keys {
        assert!(obj.contains_key(*k), "missing key {k} in {v}");
    }
}

#[tokio::test]
async fn auth_401_403_and_team_endpoints() {
    let ctx = Ctx::fast().await;
    let path = format!("/v2/teams/{DEMO_TEAM_ID}/agents");

    let r = ctx.send(Method::GET, &path, None, None, None).await;
    assert_envelope(&r, StatusCode::UNAUTHORIZED, "unauthorized");
    assert!(r.headers.contains_key("x-ratelimit-limit"));

    let r = ctx
        .send(Method::GET, &path, Some("sk_live_nope"), None, None)
        .await;
    assert_envelope(&r, StatusCode::UNAUTHORIZED, "unauthorized");

    let url = format!("{}{}", ctx.emu.base_url(), path);
    let r = ctx
        .http
        .get(&url)
        .header("Authorization", "Basic ZHY6eA==")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let r = ctx.get(&format!("/v2/teams/{OTHER_TEAM_ID}/agents")).await;
    assert_envelope(&r, StatusCode::FORBIDDEN, "forbidden");

    // Items of another team are not visible (404).
    let other_agents = ctx
        .send(
            Method::GET,
            &format!("/v2/teams/{OTHER_TEAM_ID}/agents"),
            Some(OTHER_TEAM_KEY),
            None,
            None,
        )
        .await;
    assert_eq!(other_agents.status, StatusCode::OK);
    let other_id = other_agents.body["agents"][0]["id"]
        .as_str()
        .expect("other team has an agent");
    let r = ctx.get(&format!("/v2/agents/{other_id}")).await;
    assert_envelope(&r, StatusCode::NOT_FOUND, "not_found");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains(other_id)
    );

    let r = ctx.get("/v2/teams").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["teams"].as_array().map(Vec::len), Some(1));
    assert_eq!(r.body["teams"][0]["id"], DEMO_TEAM_ID);
    assert_keys(&r.body["teams"][0], &["id", "name", "organization_id"]);

    let r = ctx.get(&format!("/v2/teams/{DEMO_TEAM_ID}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_keys(
        &r.body["team"],
        &[
            "id",
            "name",
            "created_at",
            "organization_id",
            "slack_team_id",
            "discovery_mode",
        ],
    );
    assert!(r.body["team"]["slack_team_id"].is_null());

    let r = ctx.get(&format!("/v2/teams/{OTHER_TEAM_ID}")).await;
    assert_envelope(&r, StatusCode::FORBIDDEN, "forbidden");

    let r = ctx.get("/v2/profile").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["profile"]["teamId"], DEMO_TEAM_ID);
    assert_keys(&r.body["profile"], &["id", "name", "email", "teamId"]);

    let r = ctx
        .send(Method::GET, "/v2/profile", Some(DEMO_API_KEY), None, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);

    ctx.emu.shutdown().await;
}

#[tokio::test]
async fn agents_and_revisions() {
    let ctx = Ctx::fast().await;
    let r = ctx
        .post(
            &format!("/v2/teams/{DEMO_TEAM_ID}/agents"),
            json!({"name": "Expense Audit", "build": {"name": "First", "config": config("Review expense reports.")}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let agent = &r.body["agent"];
    assert_keys(
        agent,
        &[
            "id",
            "name",
            "slack_enabled",
            "microsoft_teams_enabled",
            "agentic_memory_enabled",
            "team_id",
            "thread_id",
            "created_at",
            "updated_at",
        ],
    );
    assert!(agent["thread_id"].is_null());
    assert_eq!(agent["team_id"], DEMO_TEAM_ID);
    let build = &r.body["build"];
    assert_keys(
        build,
        &[
            "id",
            "copilot_id",
            "agent_id",
            "name",
            "config",
            "status",
            "revision_number",
            "parent_build_id",
            "created_by",
            "created_at",
            "updated_at",
        ],
    );
    assert_eq!(build["revision_number"], 1);
    assert!(build["parent_build_id"].is_null());
    assert_eq!(build["config"]["version"], "v2");
    assert_eq!(build["config"]["data"]["files"], json!([]));
    let agent_id = agent["id"].as_str().expect("id").to_string();
    let build_id = build["id"].as_str().expect("id").to_string();

    // Without a build.
    let r = ctx
        .post(
            &format!("/v2/teams/{DEMO_TEAM_ID}/agents"),
            json!({"name": "Bare"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(r.body.get("build").is_none());

    let r = ctx.get(&format!("/v2/agents/{agent_id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["user_context"]["pinned_at"].is_null());

    let r = ctx
        .send(
            Method::PATCH,
            &format!("/v2/agents/{agent_id}"),
            Some(SECRET_KEY),
            Some(&json!({"name": "Expense Audit (EU)", "pinned": true, "slack_enabled": true})),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["agent"]["name"], "Expense Audit (EU)");
    assert_eq!(r.body["agent"]["slack_enabled"], true);
    assert!(r.body["user_context"]["pinned_at"].is_string());

    let r = ctx
        .get(&format!(
            "/v2/teams/{DEMO_TEAM_ID}/agents?limit=100&include_schedules=true"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["limit"], 100);
    assert_eq!(r.body["offset"], 0);
    let first = &r.body["agents"][0];
    assert_eq!(first["id"], agent_id.as_str(), "pinned agent comes first");
    assert_keys(
        first,
        &[
            "pinned_at",
            "last_run_at",
            "latest_build",
            "integration_configs",
            "user_triggers",
            "case_trigger_enabled",
            "case_trigger_has_conflict",
            "case_trigger_conflicting_agents",
            "case_queue_name",
        ],
    );
    assert_eq!(first["latest_build"]["id"], build_id.as_str());
    assert_eq!(first["latest_build"]["schedules"], json!([]));

    let r = ctx
        .post(
            &format!("/v2/agents/{agent_id}/revisions"),
            json!({"name": "Second", "config": config("Review expense reports; flag anything over EUR 500.")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["agent"]["id"], agent_id.as_str());
    assert_eq!(r.body["build"]["revision_number"], 2);
    assert_eq!(r.body["build"]["parent_build_id"], build_id.as_str());
    let second = r.body["build"]["id"].as_str().expect("id").to_string();

    let r = ctx.get(&format!("/v2/agents/{agent_id}/revisions")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["total"], 2);
    assert_eq!(r.body["builds"][0]["id"], second.as_str());

    let r = ctx
        .get(&format!("/v2/agents/{agent_id}/revisions/{build_id}"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["build"]["id"], build_id.as_str());

    // v1 configs and bad enums are rejected, naming the field.
    let r = ctx
        .post(
            &format!("/v2/teams/{DEMO_TEAM_ID}/agents"),
            json!({"name": "Old", "build": {"name": "b", "config": {"version": "v1", "data": {"model": "gpt-4o", "tools": [], "input": "x"}}}}),
        )
        .await;
    assert_envelope(&r, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("build.config.version")
    );
    let mut bad = config("x");
    bad["data"]["models"]["agent"]["model"] = json!("gpt-2");
    let r = ctx
        .post(
            &format!("/v2/teams/{DEMO_TEAM_ID}/agents"),
            json!({"name": "Bad", "build": {"name": "b", "config": bad}}),
        )
        .await;
    assert_envelope(&r, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("build.config.data.models.agent.model"),
        "{}",
        r.body
    );

    let r = ctx
        .send(
            Method::DELETE,
            &format!("/v2/agents/{agent_id}"),
            Some(SECRET_KEY),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({"success": true}));
    let r = ctx.get(&format!("/v2/agents/{agent_id}")).await;
    assert_envelope(&r, StatusCode::NOT_FOUND, "not_found");

    ctx.emu.shutdown().await;
}

#[tokio::test]
async fn run_completes_with_messages() {
    let ctx = Ctx::fast().await;
    let (agent_id, build_id) = ctx
        .create_agent("Weekly Digest", "Summarise the week's tickets.")
        .await;
    let r = ctx
        .post(
            &format!("/v2/teams/{DEMO_TEAM_ID}/runs"),
            json!({"agent_id": agent_id, "message": "Summarise week 18", "webhook_url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let run = &r.body["run"];
    assert_keys(
        run,
        &[
            "id",
            "agent_id",
            "build_id",
            "status",
            "source",
            "sandbox_id",
            "started_at",
            "completed_at",
            "created_at",
            "updated_at",
            "human_in_the_loop_enabled",
        ],
    );
    assert_eq!(run["build_id"], build_id.as_str());
    assert_eq!(run["human_in_the_loop_enabled"], false);
    assert!(run["sandbox_id"].is_null());
    let run_id = run["id"].as_str().expect("id").to_string();

    let done = ctx.wait_for(&run_id, &["completed", "failed"]).await;
    assert_eq!(done["run"]["status"], "completed");
    assert!(done["run"]["completed_at"].is_string());
    assert!(done["run"]["started_at"].is_string());
    assert!(done["pending_human_request"].is_null());

    let r = ctx
        .get(&format!("/v2/runs/{run_id}/messages?limit=50"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let msgs = r.body["messages"].as_array().expect("messages");
    assert!(!msgs.is_empty());
    assert_eq!(r.body["total"].as_u64(), Some(msgs.len() as u64));
    assert_eq!(msgs[0]["role"], "user");
    assert_eq!(msgs[0]["text_content"], "Summarise week 18");
    assert!(msgs.iter().any(|m| m.get("tool_call").is_some()));
    assert!(
        msgs.iter()
            .any(|m| m["role"] == "tool" && m.get("tool_result").is_some())
    );
    assert_eq!(
        msgs.last().map(|m| m["role"].clone()),
        Some(json!("assistant"))
    );

    let r = ctx
        .get(&format!(
            "/v2/teams/{DEMO_TEAM_ID}/runs?agent_id={agent_id}"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["total"], 1);
    let item = &r.body["data"][0];
    assert_keys(
        item,
        &[
            "id",
            "created_at",
            "updated_at",
            "started_at",
            "completed_at",
            "status",
            "source",
            "title",
            "run_number",
            "agent_id",
            "agent_name",
            "build_id",
            "user_id",
            "case_queue_item_id",
            "case_queue_id",
            "case_queue_name",
            "case_title",
            "postponed_to",
            "submitted_prompt_count",
        ],
    );
    assert_eq!(item["agent_name"], "Weekly Digest");
    assert_eq!(item["run_number"], 1);
    assert_eq!(item["source"], "api");

    // The webhook delivery was attempted and recorded.
    let hooks = ctx.get("/_emulator/webhooks").await;
    assert!(
        hooks
            .body
            .as_array()
            .is_some_and(|h| h.iter().any(|d| d["payload"]["event"] == "run_completed")),
        "{}",
        hooks.body
    );

    // Resume a completed run with a follow-up message.
    let r = ctx
        .post(
            &format!("/v2/runs/{run_id}/messages"),
            json!({"message": "Add the totals please"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_keys(
        &r.body["message"],
        &["id", "type", "role", "timestamp", "text_content"],
    );
    let done = ctx.wait_for(&run_id, &["completed", "failed"]).await;
    assert_eq!(done["run"]["status"], "completed");

    ctx.emu.shutdown().await;
}

#[tokio::test]
async fn approval_run_waits_and_completes() {
    let ctx = Ctx::fast().await;
    let (agent_id, _) = ctx
        .create_agent("Refund Desk", "Request approval before issuing any refund.")
        .await;
    let run_id = ctx
        .start_run(&agent_id, "Refund order 1182 [approval]")
        .await;
    let waiting = ctx
        .wait_for(&run_id, &["waiting", "completed", "failed"])
        .await;
    assert_eq!(waiting["run"]["status"], "waiting");
    assert_eq!(waiting["run"]["human_in_the_loop_enabled"], true);
    let req = &waiting["pending_human_request"];
    assert_eq!(req["type"], "approval");
    assert_keys(req, &["id", "title", "description", "created_at", "type"]);
    let req_id = req["id"].as_str().expect("request id").to_string();

    let path = format!("/v2/runs/{run_id}/human-requests/{req_id}/respond");
    let r = ctx.post(&path, json!({})).await;
    assert_envelope(&r, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("approved")
    );

    let r = ctx.post(&path, json!({"approved": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let hr = &r.body["human_request"];
    assert_keys(
        hr,
        &[
            "id",
            "run_id",
            "title",
            "description",
            "response",
            "responded_at",
            "created_at",
        ],
    );
    assert_eq!(hr["run_id"], run_id.as_str());
    assert!(hr["responded_at"].is_string());

    let done = ctx.wait_for(&run_id, &["completed", "failed"]).await;
    assert_eq!(done["run"]["status"], "completed");

    // Only while waiting.
    let r = ctx.post(&path, json!({"approved": true})).await;
    assert_envelope(&r, StatusCode::BAD_REQUEST, "invalid_request");

    ctx.emu.shutdown().await;
}

#[tokio::test]
async fn question_run_answered() {
    let ctx = Ctx::fast().await;
    let (agent_id, _) = ctx.create_agent("Vendor Setup", "Create vendors.").await;
    let run_id = ctx
        .start_run(&agent_id, "Set up vendor ACME [question]")
        .await;
    let waiting = ctx
        .wait_for(&run_id, &["waiting", "completed", "failed"])
        .await;
    assert_eq!(waiting["run"]["status"], "waiting");
    let req = &waiting["pending_human_request"];
    assert_eq!(req["type"], "question");
    let questions = req["questions"].as_array().expect("questions");
    assert!(!questions.is_empty());
    assert!(
        questions[0]["options"]
            .as_array()
            .is_some_and(|o| !o.is_empty())
    );
    let req_id = req["id"].as_str().expect("id").to_string();
    let path = format!("/v2/runs/{run_id}/human-requests/{req_id}/respond");

    let r = ctx.post(&path, json!({"answers": {}})).await;
    assert_envelope(&r, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("answers")
    );

    let mut answers = serde_json::Map::new();
    for q in questions {
        let text = q["question"].as_str().expect("question text");
        let label = q["options"][0]["label"].as_str().expect("option label");
        answers.insert(text.to_string(), json!(label));
    }
    let r = ctx.post(&path, json!({ "answers": answers })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["human_request"]["response"].is_string());

    let done = ctx.wait_for(&run_id, &["completed", "failed"]).await;
    assert_eq!(done["run"]["status"], "completed");

    ctx.emu.shutdown().await;
}

#[tokio::test]
async fn fail_trigger_ends_failed() {
    let ctx = Ctx::fast().await;
    let (agent_id, _) = ctx.create_agent("Flaky", "Do the thing.").await;
    let run_id = ctx.start_run(&agent_id, "go [fail]").await;
    let done = ctx.wait_for(&run_id, &["completed", "failed"]).await;
    assert_eq!(done["run"]["status"], "failed");
    let r = ctx
        .get(&format!("/v2/runs/{run_id}/messages?limit=50"))
        .await;
    let msgs = r.body["messages"].as_array().expect("messages");
    assert!(msgs.iter().any(|m| m["tool_result"]["error"].is_string()));
    ctx.emu.shutdown().await;
}

#[tokio::test]
async fn stop_slow_run() {
    let ctx = Ctx::fast().await;
    let (agent_id, _) = ctx.create_agent("Bulk Updater", "Update records.").await;
    let run_id = ctx
        .start_run(&agent_id, "Update all 5,000 records [slow]")
        .await;
    let r = ctx
        .send(
            Method::POST,
            &format!("/v2/runs/{run_id}/stop"),
            Some(SECRET_KEY),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["success"], true);
    let r = ctx.get(&format!("/v2/runs/{run_id}")).await;
    assert_eq!(r.body["run"]["status"], "stopped");
    assert!(r.body["run"]["completed_at"].is_string());

    // A second stop is a no-op that still succeeds.
    let r = ctx
        .send(
            Method::POST,
            &format!("/v2/runs/{run_id}/stop"),
            Some(SECRET_KEY),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["success"], true);
    assert!(r.body["message"].is_string());

    // The cancelled task does not bring the run back to life.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = ctx.get(&format!("/v2/runs/{run_id}")).await;
    assert_eq!(r.body["run"]["status"], "stopped");
    ctx.emu.shutdown().await;
}

#[tokio::test]
async fn validation_errors_name_the_field() {
    let ctx = Ctx::fast().await;
    let runs = format!("/v2/teams/{DEMO_TEAM_ID}/runs");

    let r = ctx.post(&runs, json!({"agent_id": "not-a-uuid"})).await;
    assert_envelope(&r, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(r.body["message"], "agent_id: must be a UUID");

    let r = ctx.post(&runs, json!({"message": "hi"})).await;
    assert_envelope(&r, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("agent_id")
    );

    let r = ctx.post(&runs, json!({"agent_id": 42})).await;
    assert_envelope(&r, StatusCode::BAD_REQUEST, "invalid_request");

    let missing = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d";
    let r = ctx.post(&runs, json!({"agent_id": missing})).await;
    assert_envelope(&r, StatusCode::NOT_FOUND, "not_found");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains(missing)
    );

    let r = ctx
        .post(
            &runs,
            json!({"agent_id": missing, "webhook_url": "not a url"}),
        )
        .await;
    assert!(
        r.body["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("webhook_url")
    );

    let url = format!("{}{}", ctx.emu.base_url(), runs);
    let raw = ctx
        .http
        .post(&url)
        .bearer_auth(SECRET_KEY)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    let body: Value = raw.json().await.expect("json");
    assert_eq!(body["error"], "invalid_request");

    let r = ctx
        .get(&format!("/v2/teams/{DEMO_TEAM_ID}/agents?limit=0"))
        .await;
    assert_envelope(&r, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("limit")
    );

    let r = ctx
        .get(&format!("/v2/teams/{DEMO_TEAM_ID}/runs?status=bogus"))
        .await;
    assert!(
        r.body["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("status")
    );

    let r = ctx
        .get(&format!("/v2/runs/{missing}/messages?limit=51"))
        .await;
    assert_envelope(&r, StatusCode::BAD_REQUEST, "invalid_request");

    let r = ctx.get("/v2/runs/xyz").await;
    assert_eq!(r.body["message"], "run_id: must be a UUID");

    let r = ctx.get(&format!("/v2/runs/{missing}")).await;
    assert_envelope(&r, StatusCode::NOT_FOUND, "not_found");

    let r = ctx.get("/v2/nope").await;
    assert_envelope(&r, StatusCode::NOT_FOUND, "not_found");

    ctx.emu.shutdown().await;
}

#[tokio::test]
async fn rate_limit_429_after_limit() {
    let ctx = Ctx::new(EmulatorConfig {
        time_scale: 0.01,
        rate_limit_per_minute: 5,
        ..EmulatorConfig::default()
    })
    .await;
    for i in 0..5u32 {
        let r = ctx.get("/v2/profile").await;
        assert_eq!(r.status, StatusCode::OK, "request {i}");
        assert_eq!(r.headers["x-ratelimit-limit"], "5");
        assert_eq!(
            r.headers["x-ratelimit-remaining"].to_str().ok(),
            Some((4 - i).to_string().as_str())
        );
        assert!(r.headers.contains_key("x-ratelimit-reset"));
    }
    let r = ctx.get("/v2/profile").await;
    assert_envelope(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(r.headers["x-ratelimit-remaining"], "0");
    let reset: i64 = r.headers["x-ratelimit-reset"]
        .to_str()
        .ok()
        .and_then(|s| s.parse().ok())
        .expect("numeric reset");
    assert!(reset > 1_600_000_000, "reset is a Unix timestamp");

    // Another key has its own window.
    let r = ctx
        .send(Method::GET, "/v2/profile", Some("dv_another"), None, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    ctx.emu.shutdown().await;
}

#[tokio::test]
async fn fault_hook_and_request_log() {
    let ctx = Ctx::fast().await;
    let r = ctx
        .send(
            Method::POST,
            "/_emulator/faults",
            None,
            Some(&json!({"status": 503, "count": 2, "path_prefix": "/v2/profile"})),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Non-matching paths are unaffected.
    assert_eq!(ctx.get("/v2/teams").await.status, StatusCode::OK);
    for _ in 0..2 {
        let r = ctx.get("/v2/profile").await;
        assert_envelope(&r, StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
        assert!(r.headers.contains_key("x-ratelimit-limit"));
    }
    assert_eq!(ctx.get("/v2/profile").await.status, StatusCode::OK);

    ctx.send(
        Method::POST,
        "/_emulator/faults",
        None,
        Some(&json!({"status": 429, "count": 1, "retry_after": 2})),
        None,
    )
    .await;
    let r = ctx.get("/v2/teams").await;
    assert_envelope(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert_eq!(r.headers["retry-after"], "2");

    ctx.send(
        Method::POST,
        "/_emulator/faults",
        None,
        Some(&json!({"status": 500, "count": 5})),
        None,
    )
    .await;
    let r = ctx
        .send(Method::DELETE, "/_emulator/faults", None, None, None)
        .await;
    assert_eq!(r.body["cleared"], 1);
    assert_eq!(ctx.get("/v2/teams").await.status, StatusCode::OK);

    let log = ctx
        .send(Method::GET, "/_emulator/requests", None, None, None)
        .await;
    let entries = log.body.as_array().expect("log array");
    let statuses: Vec<u64> = entries
        .iter()
        .filter(|e| e["path"] == "/v2/profile")
        .filter_map(|e| e["status"].as_u64())
        .collect();
    assert_eq!(statuses, vec![503, 503, 200]);
    assert_keys(
        &entries[0],
        &[
            "method",
            "path",
            "query",
            "idempotency_key",
            "authorization_present",
            "status",
        ],
    );
    assert_eq!(entries[0]["authorization_present"], true);
    assert!(
        !log.body.to_string().contains(SECRET_KEY),
        "key must never be logged"
    );
    ctx.emu.shutdown().await;
}

#[tokio::test]
async fn idempotency_key_replays_start_run() {
    let ctx = Ctx::fast().await;
    let (agent_id, _) = ctx.create_agent("Once Only", "Do it once.").await;
    let path = format!("/v2/teams/{DEMO_TEAM_ID}/runs");
    let body = json!({"agent_id": agent_id, "message": "hello"});
    let key = "idem-7d1f0c8e";

    // A faulted attempt stores nothing; the retry with the same key does the work.
    ctx.send(
        Method::POST,
        "/_emulator/faults",
        None,
        Some(&json!({"status": 502, "count": 1, "path_prefix": path})),
        None,
    )
    .await;
    let r0 = ctx
        .send(
            Method::POST,
            &path,
            Some(SECRET_KEY),
            Some(&body),
            Some(key),
        )
        .await;
    assert_eq!(r0.status, StatusCode::BAD_GATEWAY);

    let r1 = ctx
        .send(
            Method::POST,
            &path,
            Some(SECRET_KEY),
            Some(&body),
            Some(key),
        )
        .await;
    assert_eq!(r1.status, StatusCode::CREATED, "{}", r1.body);
    let r2 = ctx
        .send(
            Method::POST,
            &path,
            Some(SECRET_KEY),
            Some(&body),
            Some(key),
        )
        .await;
    assert_eq!(r2.status, StatusCode::CREATED);
    assert_eq!(r1.body["run"]["id"], r2.body["run"]["id"]);

    let r = ctx.get(&format!("{path}?agent_id={agent_id}")).await;
    assert_eq!(r.body["total"], 1, "only one run was created");

    let other = json!({"agent_id": agent_id, "message": "different"});
    let r3 = ctx
        .send(
            Method::POST,
            &path,
            Some(SECRET_KEY),
            Some(&other),
            Some(key),
        )
        .await;
    assert_envelope(&r3, StatusCode::CONFLICT, "idempotency_key_reused");

    let log = ctx
        .send(Method::GET, "/_emulator/requests", None, None, None)
        .await;
    let keyed: Vec<&Value> = log
        .body
        .as_array()
        .expect("log")
        .iter()
        .filter(|e| e["idempotency_key"] == key)
        .collect();
    assert_eq!(keyed.len(), 4);
    ctx.emu.shutdown().await;
}

#[tokio::test]
async fn seed_data_is_readable() {
    let ctx = Ctx::fast().await;
    let r = ctx.get(&format!("/v2/teams/{DEMO_TEAM_ID}/agents")).await;
    assert_eq!(r.body["total"], 4);
    let agents = r.body["agents"].as_array().expect("agents");
    let sales = agents
        .iter()
        .find(|a| a["name"] == "Daily Sales Report")
        .expect("Daily Sales Report");
    let sales_id = sales["id"].as_str().expect("id");
    let invoice = agents
        .iter()
        .find(|a| a["name"] == "Invoice Approval")
        .expect("Invoice Approval");
    assert_eq!(invoice["case_queue_name"], "Invoice Inbox");

    let r = ctx.get(&format!("/v2/agents/{sales_id}/schedules")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["schedules"].as_array().map(Vec::len), Some(1));
    assert_eq!(r.body["schedules"][0]["frequency"], "workday");

    let r = ctx.get(&format!("/v2/teams/{DEMO_TEAM_ID}/queues")).await;
    assert_eq!(r.body["limit"], 250);
    let queue_id = r.body["queues"][0]["id"]
        .as_str()
        .expect("queue")
        .to_string();
    let r = ctx.get(&format!("/v2/queues/{queue_id}")).await;
    assert_eq!(r.body["queue"]["name"], "Invoice Inbox");

    let r = ctx.get(&format!("/v2/queues/{queue_id}/cases")).await;
    assert_eq!(r.body["total"], 6);
    let r = ctx
        .get(&format!("/v2/queues/{queue_id}/cases?status=needs_input"))
        .await;
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["cases"][0]["display_status"], "needs_input");
    let r = ctx
        .get(&format!(
            "/v2/queues/{queue_id}/cases?status=postponed,completed"
        ))
        .await;
    assert_eq!(r.body["total"], 2);
    let r = ctx
        .get(&format!("/v2/queues/{queue_id}/cases?status=weird"))
        .await;
    assert_envelope(&r, StatusCode::BAD_REQUEST, "invalid_request");

    let r = ctx.get(&format!("/v2/teams/{DEMO_TEAM_ID}/skills")).await;
    let skills = r.body["skills"].as_array().expect("skills");
    assert_eq!(skills.len(), 2);
    assert!(skills.iter().any(|s| s["team_id"].is_null()));

    let r = ctx
        .get(&format!("/v2/teams/{DEMO_TEAM_ID}/runs?status=waiting"))
        .await;
    assert_eq!(r.body["total"], 1);
    let waiting_id = r.body["data"][0]["id"].as_str().expect("id").to_string();
    assert_eq!(r.body["data"][0]["case_queue_name"], "Invoice Inbox");
    let r = ctx.get(&format!("/v2/runs/{waiting_id}")).await;
    assert_eq!(r.body["pending_human_request"]["type"], "approval");

    let r = ctx
        .get(&format!("/v2/teams/{DEMO_TEAM_ID}/runs?limit=100"))
        .await;
    assert!(r.body["total"].as_u64().is_some_and(|t| t >= 7));
    ctx.emu.shutdown().await;
}

#[tokio::test]
async fn in_process_router_serves_requests() {
    // `router()` works without a listener too (e.g. behind another server).
    let app = emulator::router(EmulatorConfig {
        seed: false,
        ..EmulatorConfig::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let r = reqwest::Client::new()
        .get(format!("http://{addr}/v2/teams/{DEMO_TEAM_ID}/agents"))
        .bearer_auth(DEMO_API_KEY)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["total"], 0);
    server.abort();
}
