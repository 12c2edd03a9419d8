//! runAssignment / waitForRun over MCP: waiting, progress, cancellation, human requests through
//! elicitation (legacy), input-required results (2026-07-28), and clients that can ask no one.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, ClientCapabilities, ClientConfig, ClientRequest,
    ElicitRequestParams, ElicitResult, ElicitationAction, ErrorData, Implementation,
    ProgressNotificationParam, ProtocolVersion,
};
use rmcp::service::{NotificationContext, PeerRequestOptions, RequestContext};
use rmcp::{ClientHandler, ClientLifecycleMode, ClientServiceExt, RoleClient, ServiceExt};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the test user answers elicitations.
#[derive(Clone, Copy, Debug)]
enum Answer {
    Approve,
    Deny,
    Decline,
    FirstOption,
}

/// A client that can ask its (simulated) user, and records progress and prompts.
#[derive(Clone)]
struct TestUser {
    answer: Answer,
    elicit: bool,
    progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
    prompts: Arc<Mutex<Vec<String>>>,
}

impl TestUser {
    fn new(answer: Answer, elicit: bool) -> Self {
        Self {
            answer,
            elicit,
            progress: Arc::default(),
            prompts: Arc::default(),
        }
    }
}

impl ClientHandler for TestUser {
    fn get_info(&self) -> ClientConfig {
        let caps = if self.elicit {
            ClientCapabilities::builder().enable_elicitation().build()
        } else {
            ClientCapabilities::default()
        };
        ClientConfig::new(caps, Implementation::new("test-user", "0"))
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let ElicitRequestParams::FormElicitationParams {
            message,
            requested_schema,
            ..
        } = request
        else {
            return Ok(ElicitResult::new(ElicitationAction::Decline));
        };
        self.prompts.lock().expect("lock").push(message);
        let schema = serde_json::to_value(&requested_schema).expect("schema");
        Ok(match self.answer {
            Answer::Decline => ElicitResult::new(ElicitationAction::Decline),
            Answer::Approve => {
                ElicitResult::new(ElicitationAction::Accept).with_content(json!({"approve": true}))
            }
            Answer::Deny => {
                ElicitResult::new(ElicitationAction::Accept).with_content(json!({"approve": false}))
            }
            Answer::FirstOption => {
                let mut content = serde_json::Map::new();
                for (key, prop) in schema["properties"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
                {
                    let first = prop["enum"][0]
                        .as_str()
                        .or(prop["items"]["enum"][0].as_str())
                        .unwrap_or("yes")
                        .to_owned();
                    let value = if prop["type"] == "array" {
                        json!([first])
                    } else {
                        json!(first)
                    };
                    content.insert(key, value);
                }
                ElicitResult::new(ElicitationAction::Accept).with_content(Value::Object(content))
            }
        })
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.progress.lock().expect("lock").push(params);
    }
}

/// The Assignment most human-request tests run: name and SOP.
const PAYER: (&str, &str) = ("Payer", "Pay supplier invoices.");

/// One `runAssignment` by a user who answers prompts with `answer`: a stdio session against a
/// fresh emulator (offering elicitation when `elicit`), a new Assignment `name` with SOP `sop`,
/// and the call's structured result.
struct UserRun {
    emu: duvo_emulator::RunningEmulator,
    user: TestUser,
    client: rmcp::service::RunningService<RoleClient, TestUser>,
    done: Value,
}

impl UserRun {
    async fn start(
        (answer, elicit): (Answer, bool),
        (name, sop): (&str, &str),
        message: &str,
        wait_seconds: u64,
    ) -> Self {
        let emu = start_emulator().await;
        let user = TestUser::new(answer, elicit);
        let client = user
            .clone()
            .serve(spawn(&emu, emu.demo_key(), &[], &[]))
            .await
            .expect("handshake");
        let agent_id = create_agent(&client, name, sop).await;
        let done = call_ok(
            &client,
            "runAssignment",
            json!({"agent_id": agent_id, "message": message, "wait_seconds": wait_seconds}),
        )
        .await;
        Self {
            emu,
            user,
            client,
            done,
        }
    }

    /// Whether any request reached the emulator's `/respond` endpoint.
    async fn responded(&self) -> bool {
        request_log(&self.emu)
            .await
            .iter()
            .any(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/respond")))
    }

    async fn end(self) {
        self.client.cancel().await.ok();
        self.emu.shutdown().await;
    }
}

#[tokio::test]
async fn run_assignment_waits_to_completion_with_progress() {
    let run = UserRun::start(
        (Answer::Approve, false),
        ("Report writer", "Write the weekly report."),
        "Week 48",
        30,
    )
    .await;
    let (done, user) = (&run.done, &run.user);
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["finished"], true);
    assert!(
        done["last_messages"]
            .as_array()
            .is_some_and(|m| !m.is_empty()),
        "{done}"
    );
    assert!(done["messages_total"].as_u64().unwrap_or(0) >= 1);
    let progress = user.progress.lock().expect("lock").clone();
    assert!(!progress.is_empty(), "progress notifications arrive");
    assert!(
        progress
            .iter()
            .any(|p| p.message.as_deref().is_some_and(|m| m.contains("status"))),
        "{progress:?}"
    );
    run.end().await;
}

#[tokio::test]
async fn short_wait_says_still_running_and_wait_for_run_picks_up() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let agent_id = create_agent(&client, "Crawler", "Crawl all supplier pages.").await;
    let first = call_ok(
        &client,
        "runAssignment",
        json!({"agent_id": agent_id, "message": "go [slow]", "wait_seconds": 0}),
    )
    .await;
    assert_eq!(first["finished"], false, "{first}");
    let run_id = first["run_id"].as_str().expect("run id").to_owned();
    assert!(
        first["next"]
            .as_str()
            .is_some_and(|n| n.contains("still running") || n.contains("Still running")),
        "{first}"
    );
    let later = call_ok(
        &client,
        "waitForRun",
        json!({"run_id": run_id, "wait_seconds": 60}),
    )
    .await;
    assert_eq!(later["status"], "completed", "{later}");
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn waiting_polls_once_per_interval_within_the_key_budget() {
    // Duvo's guidance: a key polled more often than every 5 s approaches its rate limit. A wait
    // on a Job that does not change sends one getRun per poll, starting 1 s apart; the message
    // count (for progress) is asked again only when the Job changed.
    let emu = start_emulator_with(duvo_emulator::EmulatorConfig {
        // Jobs whose next step is minutes away: nothing changes during the wait.
        time_scale: 100.0,
        ..Default::default()
    })
    .await;
    let client = connect_default(&emu).await;
    let agent_id = create_agent(&client, "Crawler", "Crawl all supplier pages.").await;
    let started = call_ok(
        &client,
        "startRun",
        json!({"agent_id": agent_id, "message": "[slow] [slow] [slow]"}),
    )
    .await;
    let run_id = started["run"]["id"].as_str().expect("run id").to_owned();
    let before = request_log(&emu).await.len();
    let waited = call_ok(
        &client,
        "waitForRun",
        json!({"run_id": run_id, "wait_seconds": 3}),
    )
    .await;
    assert_eq!(waited["finished"], false, "{waited}");
    let log = request_log(&emu).await;
    let during = &log[before..];
    let count = |suffix: &str| {
        during
            .iter()
            .filter(|e| {
                e["method"] == "GET"
                    && e["path"]
                        .as_str()
                        .is_some_and(|p| p.ends_with(&format!("{run_id}{suffix}")))
            })
            .count()
    };
    // Polls at 0, 1 and 2.5 s, then the answer at the deadline: one count on the first poll
    // and two for the answer (total and last page). Polls 0.5 s apart with two requests each
    // sent five getRun and seven listRunMessages.
    assert!(count("") <= 4, "getRun sent {} times in 3 s", count(""));
    assert!(
        count("/messages") <= 3,
        "listRunMessages sent {} times in 3 s",
        count("/messages")
    );
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn cancelling_the_wait_returns_promptly_and_stops_only_on_request() {
    // Lifelike-ish Jobs, so a [slow] one is still running when the wait is cancelled.
    let emu = start_emulator_with(duvo_emulator::EmulatorConfig {
        time_scale: 0.5,
        ..Default::default()
    })
    .await;
    let client = connect_default(&emu).await;
    let agent_id = create_agent(&client, "Crawler", "Crawl all supplier pages.").await;
    for stop in [false, true] {
        let started = call_ok(
            &client,
            "startRun",
            json!({"agent_id": agent_id, "message": "[slow] [slow]"}),
        )
        .await;
        let run_id = started["run"]["id"].as_str().expect("run id").to_owned();
        let params = CallToolRequestParams::new("waitForRun").with_arguments(
            json!({"run_id": run_id, "wait_seconds": 120, "stop_on_cancel": stop})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        let handle = client
            .peer()
            .send_cancellable_request(
                ClientRequest::CallToolRequest(CallToolRequest::new(params)),
                PeerRequestOptions::no_options(),
            )
            .await
            .expect("send");
        tokio::time::sleep(Duration::from_millis(700)).await;
        let t0 = Instant::now();
        handle.cancel(Some("test".into())).await.expect("cancel");
        // The server answers nothing for a cancelled request; prove it is free again and see the Job.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = call_ok(&client, "getRun", json!({"run_id": run_id})).await;
            let status = got["run"]["status"].as_str().unwrap_or("").to_owned();
            if !stop {
                assert_ne!(
                    status, "stopped",
                    "without stop_on_cancel the Job keeps running"
                );
                break;
            }
            if status == "stopped" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "Job not stopped after cancel: {status}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(t0.elapsed() < Duration::from_secs(10));
    }
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn approval_is_asked_through_elicitation_and_forwarded() {
    let run = UserRun::start(
        (Answer::Approve, true),
        PAYER,
        "Pay invoice 7 [approval]",
        60,
    )
    .await;
    assert_eq!(run.done["status"], "completed", "{}", run.done);
    let prompts = run.user.prompts.lock().expect("lock").clone();
    assert_eq!(prompts.len(), 1, "asked once: {prompts:?}");
    assert!(run.responded().await, "the answer reached Duvo");
    run.end().await;
}

#[tokio::test]
async fn a_denial_through_elicitation_reaches_duvo() {
    let run = UserRun::start((Answer::Deny, true), PAYER, "Pay invoice 8 [approval]", 60).await;
    let done = &run.done;
    assert_eq!(done["status"], "completed", "{done}");
    let run_id = done["run_id"].as_str().expect("run id");
    let msgs = call_ok(
        &run.client,
        "listRunMessages",
        json!({"run_id": run_id, "limit": 50}),
    )
    .await;
    assert!(
        msgs.to_string().to_lowercase().contains("denied")
            || msgs.to_string().contains("not taken"),
        "{msgs}"
    );
    run.end().await;
}

#[tokio::test]
async fn questions_are_asked_with_their_options() {
    let run = UserRun::start(
        (Answer::FirstOption, true),
        ("Onboarder", "Onboard suppliers."),
        "New supplier [question]",
        60,
    )
    .await;
    assert_eq!(run.done["status"], "completed", "{}", run.done);
    assert_eq!(run.user.prompts.lock().expect("lock").len(), 1);
    run.end().await;
}

#[tokio::test]
async fn declined_prompt_leaves_the_request_open_and_says_so() {
    let run = UserRun::start((Answer::Decline, true), PAYER, "Pay [approval]", 60).await;
    let out = &run.done;
    assert_eq!(out["status"], "waiting", "{out}");
    assert!(
        out["note"].as_str().is_some_and(|n| n.contains("declined")),
        "{out}"
    );
    assert!(out["pending_human_request"]["id"].is_string());
    assert!(!run.responded().await);
    run.end().await;
}

#[tokio::test]
async fn a_client_that_cannot_ask_gets_the_request_and_the_call_that_answers_it() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let agent_id = create_agent(&client, "Payer", "Pay supplier invoices.").await;
    let out = call_ok(
        &client,
        "runAssignment",
        json!({"agent_id": agent_id, "message": "Pay [approval]", "wait_seconds": 60}),
    )
    .await;
    assert_eq!(out["status"], "waiting", "{out}");
    let next = out["next"].as_str().unwrap_or("");
    assert!(
        next.contains("respondToHumanRequest") && next.contains("approved"),
        "{out}"
    );
    let request_id = out["pending_human_request"]["id"]
        .as_str()
        .expect("request id");
    let run_id = out["run_id"].as_str().expect("run id");
    call_ok(
        &client,
        "respondToHumanRequest",
        json!({"run_id": run_id, "request_id": request_id, "approved": false}),
    )
    .await;
    let after = call_ok(&client, "waitForRun", json!({"run_id": run_id})).await;
    assert_eq!(after["status"], "completed", "{after}");
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn modern_clients_get_an_input_required_round_trip() {
    let emu = start_emulator().await;
    let user = TestUser::new(Answer::Approve, true);
    let client = user
        .clone()
        .serve_with_lifecycle(
            spawn(&emu, emu.demo_key(), &[], &[]),
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .expect("discover");
    let agent_id = create_agent(&client, "Payer", "Pay supplier invoices.").await;
    // call_tool drives the input-required rounds through create_elicitation, then retries.
    let done = call_ok(
        &client,
        "runAssignment",
        json!({"agent_id": agent_id, "message": "Pay [approval]", "wait_seconds": 60}),
    )
    .await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(user.prompts.lock().expect("lock").len(), 1);
    let runs = call_ok(&client, "listRuns", json!({"agent_id": agent_id})).await;
    assert_eq!(
        runs["total"], 1,
        "the retry resumed the same Job, it did not start another"
    );
    client.cancel().await.ok();
    emu.shutdown().await;
}

/// Jobs of `agent_id`, as the API lists them.
async fn jobs_of(client: &Client, agent_id: &str) -> Vec<String> {
    let runs = call_ok(
        client,
        "listRuns",
        json!({"agent_id": agent_id, "limit": 50}),
    )
    .await;
    runs["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A `tools/call` whose client gives up after `timeout` (as the TS SDK, llama-index and
/// openai-agents do), or the structured result if it came in time.
async fn call_with_timeout(
    client: &Client,
    args: Value,
    timeout: Duration,
) -> Result<Value, rmcp::ServiceError> {
    let params = CallToolRequestParams::new("runAssignment")
        .with_arguments(args.as_object().cloned().unwrap_or_default());
    let handle = client
        .peer()
        .send_request_with_option(
            ClientRequest::CallToolRequest(CallToolRequest::new(params)),
            PeerRequestOptions::with_timeout(timeout),
        )
        .await?;
    match handle.await_response().await? {
        rmcp::model::ServerResult::CallToolResult(r) => {
            assert_ne!(r.is_error, Some(true), "{:?}", r.content);
            Ok(r.structured_content.expect("structured result"))
        }
        other => panic!("unexpected answer {other:?}"),
    }
}

#[tokio::test]
async fn a_retry_after_a_client_time_out_gets_the_job_already_started() {
    // Lifelike-ish Jobs: a [slow] one runs ~12 s, far past the client's 3 s time-out.
    let emu = start_emulator_with(duvo_emulator::EmulatorConfig {
        time_scale: 0.5,
        ..Default::default()
    })
    .await;
    let client = connect_default(&emu).await;
    let agent_id = create_agent(&client, "Crawler", "Crawl all supplier pages.").await;
    let args = json!({"agent_id": agent_id, "message": "Crawl suppliers [slow]"});

    let first = call_with_timeout(&client, args.clone(), Duration::from_secs(3)).await;
    assert!(
        matches!(first, Err(rmcp::ServiceError::Timeout { .. })),
        "the client gives up first: {first:?}"
    );
    let started = jobs_of(&client, &agent_id).await;
    assert_eq!(started.len(), 1, "the first call started the Job");

    // The model retries the same call (same Job inputs; it asks for no wait this time).
    let mut retry = args.clone();
    retry["wait_seconds"] = json!(0);
    let again = call_with_timeout(&client, retry, Duration::from_secs(3))
        .await
        .expect("the retry answers in time");
    assert_eq!(again["run_id"], started[0].as_str(), "{again}");
    assert!(
        again["note"]
            .as_str()
            .is_some_and(|n| n.contains("new_job")),
        "{again}"
    );
    assert_eq!(
        jobs_of(&client, &agent_id).await,
        started,
        "the retry started no second Job"
    );

    // Asking for a new Job starts one.
    let mut fresh = args.clone();
    fresh["wait_seconds"] = json!(0);
    fresh["new_job"] = json!(true);
    let second = call_ok(&client, "runAssignment", fresh).await;
    assert_ne!(second["run_id"], started[0].as_str(), "{second}");
    assert_eq!(jobs_of(&client, &agent_id).await.len(), 2);

    // Waits are capped below the 300 s at which Claude's hosts stop a call.
    let mut long = args.clone();
    long["wait_seconds"] = json!(300);
    let refused = call_err(&client, "runAssignment", long).await;
    assert!(refused.contains("wait_seconds"), "{refused}");
    assert_eq!(
        jobs_of(&client, &agent_id).await.len(),
        2,
        "nothing started"
    );
    client.cancel().await.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn a_retry_while_the_first_call_is_still_starting_attaches_to_its_job() {
    let emu = start_emulator().await;
    let client = connect_default(&emu).await;
    let agent_id = create_agent(&client, "Crawler", "Crawl all supplier pages.").await;
    // startRun takes 1.5 s, so the second call arrives while the first is still starting.
    let profile = json!({"seed": 1, "rules": [{"kind": "latency", "rate": 1.0, "fixed_ms": 1500,
        "methods": ["POST"], "path_prefix": "/v2/teams/"}]});
    let resp = reqwest::Client::new()
        .put(format!("{}/_emulator/fault-profile", emu.base_url()))
        .json(&profile)
        .send()
        .await
        .expect("fault profile");
    assert!(resp.status().is_success(), "{}", resp.status());
    let args =
        json!({"agent_id": agent_id, "message": "Crawl suppliers [slow]", "wait_seconds": 0});
    let (a, b) = tokio::join!(call_ok(&client, "runAssignment", args.clone()), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        call_ok(&client, "runAssignment", args.clone()).await
    });
    assert_eq!(a["run_id"], b["run_id"], "{a} {b}");
    let jobs = jobs_of(&client, &agent_id).await;
    assert_eq!(jobs.len(), 1, "one Job for two identical calls: {jobs:?}");
    client.cancel().await.ok();
    emu.shutdown().await;
}
