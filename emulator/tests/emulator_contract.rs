//! Contract tests of the emulator against `spec/openapi.json`: every operation of the spec gets a
//! valid request built from the spec, every response is checked against the spec by the
//! emulator's own contract layer (`validate_responses`), and the generic handler rejects invalid
//! input naming the field.
// Tests: unwrapping and panicking is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).

use std::collections::BTreeMap;
use std::time::Duration;

use duvo_emulator::spec::{self, ExampleRequest, GENERIC_HEADER, OperationInfo};
use duvo_emulator::{
    self as emulator, DEMO_API_KEY, DEMO_TEAM_ID, EmulatorConfig, OTHER_TEAM_ID, RunningEmulator,
};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

const SOME_UUID: &str = "5f0c8a1e-2b3d-4c5e-8f7a-9b0c1d2e3f4a";

async fn start() -> RunningEmulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    emulator::start(
        listener,
        EmulatorConfig {
            time_scale: 0.01,
            rate_limit_per_minute: 100_000,
            validate_responses: true,
            ..EmulatorConfig::default()
        },
    )
    .await
    .expect("emulator starts")
}

/// One HTTP answer.
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    bytes: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    fn generic(&self) -> bool {
        self.headers.contains_key(GENERIC_HEADER)
    }

    fn content_type(&self) -> String {
        self.headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }

    fn message(&self) -> String {
        let v = self.json();
        v.get("message")
            .or_else(|| v.get("error"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    }
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    fn new(emu: &RunningEmulator) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .expect("http client");
        Self {
            base: emu.base_url().to_string(),
            http,
        }
    }

    async fn raw(
        &self,
        method: &str,
        path: &str,
        query: &[(String, String)],
        body: Option<reqwest::Body>,
        content_type: Option<&str>,
    ) -> Answer {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(DEMO_API_KEY)
            .query(query);
        if let Some(b) = body {
            req = req.body(b);
        }
        if let Some(ct) = content_type {
            req = req.header(reqwest::header::CONTENT_TYPE, ct);
        }
        let resp = req.send().await.expect("request is answered");
        Answer {
            status: resp.status(),
            headers: resp.headers().clone(),
            bytes: resp.bytes().await.expect("body").to_vec(),
        }
    }

    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let (b, ct) = match body {
            Some(v) => (
                Some(reqwest::Body::from(v.to_string())),
                Some("application/json"),
            ),
            None => (None, None),
        };
        self.raw(method, path, &[], b, ct).await
    }

    async fn example(&self, op: &OperationInfo, ex: &ExampleRequest) -> Answer {
        if ex.multipart {
            let (name, content) = if op.id.contains("Skill") {
                (
                    "SKILL.md",
                    "---\nname: contract-skill\ndescription: Uploaded by the contract test.\n---\n\n# Contract skill\n",
                )
            } else {
                ("data.csv", "a,b\n1,2\n")
            };
            let boundary = "contract-boundary-7d1f";
            let body = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n{content}\r\n--{boundary}--\r\n"
            );
            let ct = format!("multipart/form-data; boundary={boundary}");
            return self
                .raw(
                    &ex.method,
                    &ex.path,
                    &ex.query,
                    Some(reqwest::Body::from(body)),
                    Some(&ct),
                )
                .await;
        }
        let (b, ct) = match &ex.body {
            Some(v) => (
                Some(reqwest::Body::from(v.to_string())),
                Some("application/json"),
            ),
            None => (None, None),
        };
        self.raw(&ex.method, &ex.path, &ex.query, b, ct).await
    }

    async fn contract(&self) -> Value {
        let resp = self
            .http
            .get(format!("{}/_emulator/contract", self.base))
            .send()
            .await
            .expect("contract report");
        resp.json().await.expect("contract JSON")
    }
}

/// The first object with a string `id` in the first array of `v` (optionally one matching `pick`).
fn first_id(v: &Value, pick: &dyn Fn(&Value) -> bool) -> Option<String> {
    let arrays: Vec<&Vec<Value>> = match v {
        Value::Array(a) => vec![a],
        Value::Object(m) => m.values().filter_map(Value::as_array).collect(),
        _ => Vec::new(),
    };
    arrays
        .into_iter()
        .flatten()
        .filter(|item| pick(item))
        .find_map(|item| item.get("id").and_then(Value::as_str).map(str::to_string))
}

fn operation(id: &str) -> OperationInfo {
    spec::operations()
        .into_iter()
        .find(|o| o.id == id)
        .unwrap_or_else(|| panic!("operation {id} is in the spec"))
}

/// Real ids from the seeded data, harvested through list operations (spec-built requests).
async fn harvest(api: &Api) -> Map<String, Value> {
    let mut known = Map::new();
    known.insert("teamId".into(), json!(DEMO_TEAM_ID));
    let profile = api.send("GET", "/v2/profile", None).await.json();
    if let Some(id) = profile.pointer("/profile/id").and_then(Value::as_str) {
        known.insert("userId".into(), json!(id));
    }
    let any = |_: &Value| true;
    let team_owned = |v: &Value| v.get("team_id").is_some_and(|t| !t.is_null());
    // (list operation, names the first id is known by, pick)
    type Pick<'a> = &'a dyn Fn(&Value) -> bool;
    let lists: &[(&str, &[&str], Pick<'_>)] = &[
        ("listAgents", &["agent_id"], &any),
        ("listAgentRevisions", &["build_id", "revision_id"], &any),
        ("listRuns", &["run_id"], &any),
        ("listQueues", &["queue_id", "case_queue_id"], &any),
        ("listCases", &["case_id"], &any),
        ("listSkills", &["skill_id"], &team_owned),
        ("listAgentSchedules", &["schedule_id"], &any),
        ("listConnections", &["connection_id"], &any),
        ("listAgentFolders", &["folder_id"], &any),
        ("listQueueLabels", &["label_id"], &any),
    ];
    // An Assignment with a schedule, when one has any (so schedule operations find theirs).
    let agents = api
        .send("GET", &format!("/v2/teams/{DEMO_TEAM_ID}/agents"), None)
        .await;
    for agent in agents.json()["agents"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let Some(id) = agent.get("id").and_then(Value::as_str) else {
            continue;
        };
        let schedules = api
            .send("GET", &format!("/v2/agents/{id}/schedules"), None)
            .await;
        if let Some(schedule) = first_id(&schedules.json(), &any) {
            known.insert("agent_id".into(), json!(id));
            known.insert("schedule_id".into(), json!(schedule));
            break;
        }
    }
    let sandbox = api.send("POST", "/v2/sandboxes", None).await;
    if let Some(id) = sandbox.json().get("sandbox_id").and_then(Value::as_str) {
        known.insert("sandbox_id".into(), json!(id));
    }
    for (op_id, names, pick) in lists {
        let op = operation(op_id);
        let Some(ex) = spec::example_request(op_id, &known) else {
            continue;
        };
        let answer = api.example(&op, &ex).await;
        if !answer.status.is_success() || answer.generic() {
            continue;
        }
        if let Some(id) = first_id(&answer.json(), pick) {
            for n in *names {
                known.entry((*n).to_string()).or_insert(json!(id));
            }
        }
    }
    // Values some explicit handlers need beyond the spec's minimal bodies.
    known.insert("provider".into(), json!("gmail"));
    known.insert("server_url".into(), json!("https://mcp.example.com/mcp"));
    known.insert("case".into(), json!({"title": "Contract test case"}));
    // Selections of bulk operations: the first case.
    if let Some(case) = known.get("case_id").cloned() {
        known.insert("case_ids".into(), json!([case]));
    }
    known
}

/// Order: reads, then writes, then deletions (deepest paths first) so ids stay valid.
fn phase(op: &OperationInfo) -> (u8, i64) {
    let depth = i64::try_from(op.template.matches('/').count()).unwrap_or(0);
    let lower = op.id.to_ascii_lowercase();
    let destructive = op.method == "DELETE"
        || lower.contains("delete")
        || lower.contains("clear")
        || lower.starts_with("move");
    match op.method.as_str() {
        _ if destructive => (2, -depth),
        "GET" => (0, 0),
        _ => (1, 0),
    }
}

/// `{error: string, message?: string, ...}` (extra fields are checked by the contract layer
/// against the error schema the spec declares).
fn envelope_ok(v: &Value) -> bool {
    let Some(m) = v.as_object() else {
        return false;
    };
    m.get("error").is_some_and(Value::is_string) && m.get("message").is_none_or(Value::is_string)
}

#[tokio::test]
async fn every_spec_operation_is_served_and_every_response_conforms() {
    let emu = start().await;
    let api = Api::new(&emu);
    let known = harvest(&api).await;

    // A stopped Job is listed as `stopped`, which the spec's response enum forgets (a documented
    // quirk the contract layer allows). `[approval]` keeps the Job waiting until it is stopped.
    let agent = known
        .get("agent_id")
        .and_then(Value::as_str)
        .expect("an agent id");
    let runs = format!("/v2/teams/{DEMO_TEAM_ID}/runs");
    let started = api
        .send(
            "POST",
            &runs,
            Some(json!({"agent_id": agent, "input": "Contract test [approval]"})),
        )
        .await;
    assert_eq!(
        started.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&started.bytes)
    );
    let run_id = started.json()["run"]["id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let stopped = api
        .send("POST", &format!("/v2/runs/{run_id}/stop"), None)
        .await;
    assert_eq!(stopped.status, StatusCode::OK);
    let listed = api
        .raw(
            "GET",
            &runs,
            &[("status".into(), "stopped".into())],
            None,
            None,
        )
        .await;
    assert!(
        listed.json().to_string().contains(&run_id),
        "{}",
        listed.json()
    );

    let mut ops = spec::operations();
    ops.sort_by_key(phase);
    let mut failures = Vec::new();
    let mut generic = 0usize;
    let mut explicit_ok = 0usize;
    let mut explicit_4xx: BTreeMap<String, String> = BTreeMap::new();
    for op in &ops {
        let ex = spec::example_request(&op.id, &known).expect("example for every operation");
        let a = api.example(op, &ex).await;
        let what = format!("{} {} {}", op.id, ex.method, ex.path);
        if a.generic() {
            generic += 1;
            if op.redirects {
                let location = a
                    .headers
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if a.status != StatusCode::PERMANENT_REDIRECT
                    || !location.ends_with("/cases/bulk-reprocess")
                {
                    failures.push(format!(
                        "{what}: expected 308 → bulk-reprocess, got {} {location:?}",
                        a.status
                    ));
                }
                continue;
            }
            let expected = op.success.expect("a 2xx is declared");
            if a.status.as_u16() != expected {
                failures.push(format!(
                    "{what}: generic answer {} (expected {expected}): {}",
                    a.status,
                    String::from_utf8_lossy(&a.bytes)
                ));
                continue;
            }
            if let Some(media) = op.media {
                let essence = media.split(';').next().unwrap_or(media);
                let magic_ok = match essence {
                    "application/zip" => a.bytes.starts_with(b"PK\x03\x04"),
                    "application/pdf" => a.bytes.starts_with(b"%PDF-"),
                    _ => String::from_utf8_lossy(&a.bytes).contains("<html"),
                };
                if !a.content_type().starts_with(essence) || !magic_ok {
                    failures.push(format!(
                        "{what}: not a valid {media} body ({})",
                        a.content_type()
                    ));
                }
            } else if expected != 204 && !a.content_type().starts_with("application/json") {
                failures.push(format!("{what}: not JSON ({})", a.content_type()));
            }
        } else if a.status.is_success() || a.status == StatusCode::PERMANENT_REDIRECT {
            explicit_ok += 1;
        } else if a.status.is_client_error() {
            // Explicit handlers may reject generated ids or values; the error must still be an envelope.
            if !envelope_ok(&a.json()) {
                failures.push(format!(
                    "{what}: explicit {} without the error envelope: {}",
                    a.status,
                    String::from_utf8_lossy(&a.bytes)
                ));
            }
            explicit_4xx.insert(
                op.id.clone(),
                format!("{} {}", a.status.as_u16(), a.message()),
            );
        } else {
            failures.push(format!(
                "{what}: {} {}",
                a.status,
                String::from_utf8_lossy(&a.bytes)
            ));
        }
    }
    eprintln!(
        "contract run: {} operations, {generic} generic, {explicit_ok} explicit 2xx/308, {} explicit 4xx",
        ops.len(),
        explicit_4xx.len()
    );
    for (id, why) in &explicit_4xx {
        eprintln!("  explicit 4xx {id}: {why}");
    }
    assert_eq!(ops.len(), 213, "every operation of the spec is exercised");
    assert!(
        generic > 0,
        "the generic handler serves the operations without explicit routes"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );

    let report = api.contract().await;
    let checked = report["checked"].as_u64().unwrap_or(0);
    assert!(
        checked >= 200,
        "the contract layer checked the responses: {report}"
    );
    let violations = report["violations"].as_array().cloned().unwrap_or_default();
    assert!(
        violations.is_empty(),
        "{} responses break the spec:\n{}",
        violations.len(),
        serde_json::to_string_pretty(&violations).unwrap_or_default()
    );
    assert_eq!(emu.contract_report()["checked"], report["checked"]);
    emu.shutdown().await;
}

#[tokio::test]
async fn generic_handler_rejects_invalid_input_naming_the_field() {
    let emu = start().await;
    let api = Api::new(&emu);
    let processes = format!("/v2/teams/{DEMO_TEAM_ID}/clarity-v2/processes");
    let chart = format!("/v2/organizations/{SOME_UUID}/insights/usage-chart");
    let rubrics = format!("/v2/agents/{SOME_UUID}/eval-rubrics");
    let long = "Does the output list every invoice line?";
    let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    };
    let json_body = |v: Value| Some(reqwest::Body::from(v.to_string()));
    let ct = Some("application/json");
    let cases: Vec<(Answer, &str)> = vec![
        (
            api.raw("GET", &processes, &q(&[("limit", "abc")]), None, None)
                .await,
            "limit: ",
        ),
        (
            api.raw("GET", &processes, &q(&[("limit", "0")]), None, None)
                .await,
            "limit: must be >= 1",
        ),
        (
            api.raw("GET", &processes, &q(&[("status", "bogus")]), None, None)
                .await,
            "status: invalid value",
        ),
        (
            api.raw(
                "GET",
                &chart,
                &q(&[
                    ("startDate", "2025-01-01T00:00:00Z"),
                    ("endDate", "2025-02-01T00:00:00Z"),
                    ("granularity", "year"),
                ]),
                None,
                None,
            )
            .await,
            "granularity: invalid value",
        ),
        (
            api.raw(
                "GET",
                &chart,
                &q(&[("endDate", "2025-02-01T00:00:00Z"), ("granularity", "day")]),
                None,
                None,
            )
            .await,
            "startDate: is required",
        ),
        (
            api.raw(
                "GET",
                &chart,
                &q(&[
                    ("startDate", "yesterday"),
                    ("endDate", "2025-02-01T00:00:00Z"),
                    ("granularity", "day"),
                ]),
                None,
                None,
            )
            .await,
            "startDate: must be an ISO-8601 date-time",
        ),
        (
            api.send(
                "GET",
                &format!("/v2/agent/not-a-uuid/runs/{SOME_UUID}/evaluation"),
                None,
            )
            .await,
            "agentId: must be a UUID",
        ),
        (
            api.raw(
                "POST",
                &rubrics,
                &[],
                json_body(json!({"description": long})),
                ct,
            )
            .await,
            "title: is required",
        ),
        (
            api.raw(
                "POST",
                &rubrics,
                &[],
                json_body(json!({"title": 5, "description": long})),
                ct,
            )
            .await,
            "title: must be of type string",
        ),
        (
            api.raw(
                "POST",
                &rubrics,
                &[],
                json_body(json!({"title": "OK title", "description": long, "bogus": 1})),
                ct,
            )
            .await,
            "bogus: is not a known field",
        ),
        (
            api.raw(
                "POST",
                &rubrics,
                &[],
                Some(reqwest::Body::from("{not json")),
                ct,
            )
            .await,
            "body: malformed JSON",
        ),
        (
            api.raw("POST", &rubrics, &[], None, None).await,
            "body: is required",
        ),
        (
            api.raw(
                "POST",
                &format!("/v2/organizations/{SOME_UUID}/members"),
                &[],
                json_body(json!({"email": "a@example.com", "role": "overlord"})),
                ct,
            )
            .await,
            "role: invalid value",
        ),
    ];
    for (a, expected) in &cases {
        assert_eq!(
            a.status,
            StatusCode::BAD_REQUEST,
            "{expected}: {}",
            String::from_utf8_lossy(&a.bytes)
        );
        assert!(a.generic(), "{expected}: answered by the generic handler");
        let body = a.json();
        assert_eq!(body["error"], "invalid_request", "{body}");
        let message = body["message"].as_str().unwrap_or("");
        assert!(
            message.starts_with(expected),
            "{message:?} should start with {expected:?}"
        );
    }

    // Duvo Pulse declares error bodies without `message`: the problem goes into `error`.
    let a = api.send("POST", "/v2/artifacts", Some(json!({}))).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.json(), json!({"error": "message: is required"}));

    // Another team's id in the path → 403, as for explicit routes.
    let a = api
        .send(
            "GET",
            &format!("/v2/teams/{OTHER_TEAM_ID}/clarity-v2/processes"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.json()["error"], "forbidden");

    // The same for operations whose `{teamId}` the spec forgets to declare.
    let a = api
        .send(
            "GET",
            &format!("/v2/teams/{OTHER_TEAM_ID}/files/content/notes/a.txt"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = api
        .send(
            "GET",
            &format!("/v2/teams/{DEMO_TEAM_ID}/files/content/notes/a.txt"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["path"], "notes/a.txt", "the wildcard is echoed");

    // Unknown path → 404; known path, undeclared method → 405.
    let a = api.send("GET", "/v2/no/such/thing", None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.json()["error"], "not_found");
    let a = api
        .send("PUT", &format!("/v2/artifacts/{SOME_UUID}"), None)
        .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.json()["error"], "method_not_allowed");

    // Valid input is accepted, and the error answers above all conform to the spec.
    let a = api
        .raw(
            "GET",
            &processes,
            &q(&[("limit", "5"), ("status", "review")]),
            None,
            None,
        )
        .await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&a.bytes)
    );
    let report = api.contract().await;
    assert_eq!(report["violations"], json!([]), "{report}");
    emu.shutdown().await;
}

#[tokio::test]
async fn generic_bodies_are_deterministic_and_echo_ids() {
    let emu = start().await;
    let api = Api::new(&emu);
    let path = format!("/v2/agents/{SOME_UUID}/eval-rubrics");
    let body = json!({"title": "Lines complete", "description": "Does the output list every invoice line?"});
    let a = api.send("POST", &path, Some(body.clone())).await;
    let b = api.send("POST", &path, Some(body)).await;
    assert_eq!(
        a.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&a.bytes)
    );
    assert!(a.generic());
    assert_eq!(a.json(), b.json(), "same request, same body");
    let text = a.json().to_string();
    assert!(
        text.contains("Lines complete"),
        "the body echoes the request: {text}"
    );

    let a = api
        .send(
            "GET",
            &format!("/v2/clarity-v2/processes/{SOME_UUID}"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        a.json().to_string().contains(SOME_UUID),
        "the path id is echoed: {}",
        a.json()
    );

    let a = api
        .send(
            "GET",
            &format!("/v2/artifacts/{SOME_UUID}/export/pdf"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.content_type().starts_with("application/pdf"));
    assert!(a.bytes.starts_with(b"%PDF-"));
    let a = api
        .send("GET", &format!("/v2/artifacts/{SOME_UUID}/render"), None)
        .await;
    assert!(a.content_type().starts_with("text/html"));
    emu.shutdown().await;
}

#[tokio::test]
async fn contract_layer_catches_a_wrong_response() {
    // Unit level: the validator rejects a body of the wrong shape.
    let team = format!("/v2/teams/{DEMO_TEAM_ID}");
    let wrong = spec::check_response("GET", &team, 200, &json!({"team": {"id": 5}}));
    assert!(!wrong.is_empty(), "a wrong getTeam body is caught");
    let undeclared = spec::check_response("GET", &team, 201, &json!({}));
    assert!(!undeclared.is_empty(), "an undeclared 2xx is caught");
    assert!(spec::check_response("GET", &team, 429, &json!({"error": "rate_limited"})).is_empty());

    // End to end: Duvo Pulse declares 404 bodies as `{error}` only, so an injected fault's
    // `{error, message}` envelope on a Pulse path is a violation the layer must record.
    let emu = start().await;
    let api = Api::new(&emu);
    let fault = api
        .http
        .post(format!("{}/_emulator/faults", api.base))
        .json(&json!({"status": 404, "count": 1, "path_prefix": "/v2/artifacts"}))
        .send()
        .await
        .expect("fault");
    assert!(fault.status().is_success());
    let a = api
        .send("GET", &format!("/v2/artifacts/{SOME_UUID}"), None)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let report = api.contract().await;
    let violations = report["violations"].as_array().cloned().unwrap_or_default();
    assert_eq!(violations.len(), 1, "{report}");
    assert_eq!(violations[0]["operationId"], "getPulseDashboard");
    assert_eq!(violations[0]["status"], 404);
    assert!(!violations[0]["errors"].as_array().is_none_or(Vec::is_empty));

    // DELETE clears the log.
    let cleared = api
        .http
        .delete(format!("{}/_emulator/contract", api.base))
        .send()
        .await
        .expect("clear");
    assert!(cleared.status().is_success());
    let report = api.contract().await;
    assert_eq!(report["checked"], 0);
    assert_eq!(report["violations"], json!([]));
    emu.shutdown().await;
}

#[tokio::test]
async fn contract_checking_is_off_by_default() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let emu = emulator::start(listener, EmulatorConfig::default())
        .await
        .expect("emulator starts");
    let api = Api::new(&emu);
    let a = api.send("GET", "/v2/teams", None).await;
    assert_eq!(a.status, StatusCode::OK);
    let report = api.contract().await;
    assert_eq!(report["enabled"], false);
    assert_eq!(report["checked"], 0);
    emu.shutdown().await;
}
