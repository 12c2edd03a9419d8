//! Operating `duvo-mcp http` at scale (issue 14, part B), through the real binary talking HTTP
//! to the emulator: `/readyz`, `/metrics` (parsed as Prometheus text), OTLP traces to a loopback
//! collector with `traceparent` forwarded upstream, `--log-format json`, and what connectors can
//! send (the token in `X-Auth-Token`/`X-API-Key`, narrowing as `/mcp` query parameters).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_support;

use axum::body::Bytes;
use duvo_emulator::{self as emulator, DEMO_API_KEY, DEMO_TEAM_ID, EmulatorConfig};
use http_support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOKEN: &str = "test-token-7f3a9c1e5b2d4f60";
const MISSING_RUN: &str = "00000000-0000-4000-8000-000000000000";

async fn start_emulator() -> emulator::RunningEmulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    emulator::start(
        listener,
        EmulatorConfig {
            time_scale: 0.01,
            ..EmulatorConfig::default()
        },
    )
    .await
    .expect("emulator")
}

/// A server with the demo key against `emu`, protected by [`TOKEN`].
async fn token_server(emu: &emulator::RunningEmulator, env: &[(&str, &str)]) -> Server {
    let mut all = vec![
        ("DUVO_API_KEY", DEMO_API_KEY),
        ("DUVO_TEAM_ID", DEMO_TEAM_ID),
        ("DUVO_MCP_AUTH_TOKEN", TOKEN),
    ];
    all.extend_from_slice(env);
    spawn(&["--base-url", emu.base_url()], &all).await
}

fn bearer() -> reqwest::header::HeaderMap {
    headers(&[("authorization", &format!("Bearer {TOKEN}"))])
}

async fn get(url: &str, extra: &[(&str, &str)]) -> (StatusCode, String) {
    let resp = http()
        .get(url)
        .headers(headers(extra))
        .send()
        .await
        .expect("GET");
    let status = resp.status();
    (status, resp.text().await.expect("body"))
}

async fn emulator_log(emu: &emulator::RunningEmulator) -> Vec<Value> {
    http()
        .get(format!("{}/_emulator/requests", emu.base_url()))
        .send()
        .await
        .expect("request log")
        .json()
        .await
        .expect("log JSON")
}

#[tokio::test]
async fn readyz_is_ready_when_upstream_answers_for_any_host_and_without_the_token() {
    let emu = start_emulator().await;
    let server = token_server(&emu, &[]).await;
    // A probe's Host (the pod address) and no token: still answered.
    let (status, body) = get(&server.url("/readyz"), &[("host", "10.1.2.3:8787")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(v["status"], "ok", "{body}");
    assert_eq!(v["checks"]["upstream"], "ok", "{body}");
    assert_eq!(v["checks"]["shutdown"], "ok", "{body}");
    for secret in [TOKEN, DEMO_API_KEY, emu.base_url(), "127.0.0.1"] {
        assert!(!body.contains(secret), "/readyz reveals {secret}: {body}");
    }
    // The probe carried no key, so it cost no rate budget.
    let log = emulator_log(&emu).await;
    let probes: Vec<&Value> = log.iter().filter(|e| e["path"] == "/").collect();
    assert!(!probes.is_empty(), "the probe reached the API: {log:?}");
    assert!(
        probes.iter().all(|e| e["authorization_present"] == false),
        "{probes:?}"
    );
    // Everything else still needs the token.
    let (status, _) = get(&server.url("/metrics"), &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn readyz_is_503_when_upstream_is_unreachable_while_healthz_stays_200() {
    // A port nobody listens on.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let server = spawn(
        &["--base-url", &format!("http://{dead}")],
        &[
            ("DUVO_API_KEY", DEMO_API_KEY),
            ("DUVO_TEAM_ID", DEMO_TEAM_ID),
        ],
    )
    .await;
    let (status, body) = get(&server.url("/readyz"), &[]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let v: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(v["status"], "unavailable", "{body}");
    assert_eq!(v["checks"]["upstream"], "upstream unreachable", "{body}");
    assert!(!body.contains(&dead.to_string()), "{body}");
    let (status, _) = get(&server.url("/healthz"), &[]).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "liveness does not depend on upstream"
    );
}

/// The value of the sample `name` whose labels include `labels`, if any.
fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .find(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            prometheus_parse::Value::Histogram(b) => b.last().map(|c| c.count).unwrap_or(0.0),
            prometheus_parse::Value::Summary(_) => f64::NAN,
        })
}

async fn scrape(server: &Server) -> (String, prometheus_parse::Scrape) {
    let resp = http()
        .get(server.url("/metrics"))
        .headers(bearer())
        .send()
        .await
        .expect("scrape");
    assert_eq!(resp.status(), StatusCode::OK);
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(ct.starts_with("text/plain"), "{ct}");
    let text = resp.text().await.expect("body");
    let parsed = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("Prometheus text format");
    (text, parsed)
}

#[tokio::test]
async fn metrics_count_tool_calls_upstream_requests_and_sessions() {
    let emu = start_emulator().await;
    let server = token_server(&emu, &[]).await;
    let mcp = Mcp::legacy(&server.url("/mcp"), bearer())
        .await
        .expect("session");
    for _ in 0..2 {
        let r = mcp.call("listAgents", json!({})).await;
        assert_eq!(r.result()["isError"], false, "{}", r.body);
    }
    let r = mcp.call("getRun", json!({"run_id": MISSING_RUN})).await;
    assert_eq!(r.result()["isError"], true, "{}", r.body);

    let (text, m) = scrape(&server).await;
    let ok = sample(
        &m,
        "duvo_mcp_tool_calls_total",
        &[("tool", "listAgents"), ("outcome", "ok")],
    );
    assert_eq!(ok, Some(2.0), "{text}");
    let failed = sample(
        &m,
        "duvo_mcp_tool_calls_total",
        &[("tool", "getRun"), ("outcome", "error")],
    );
    assert_eq!(failed, Some(1.0), "{text}");
    let list = sample(
        &m,
        "duvo_mcp_upstream_requests_total",
        &[("operation", "GET /v2/teams/:id/agents"), ("status", "200")],
    );
    assert_eq!(list, Some(2.0), "{text}");
    let missing = sample(
        &m,
        "duvo_mcp_upstream_requests_total",
        &[("operation", "GET /v2/runs/:id"), ("status", "404")],
    );
    assert_eq!(missing, Some(1.0), "{text}");
    assert_eq!(
        sample(
            &m,
            "duvo_mcp_tool_call_duration_seconds",
            &[("tool", "listAgents")]
        ),
        Some(2.0),
        "latency histogram counts both calls: {text}"
    );
    assert!(
        sample(&m, "duvo_mcp_sessions", &[]).is_some_and(|v| v >= 1.0),
        "{text}"
    );
    assert!(sample(&m, "duvo_mcp_streams", &[]).is_some(), "{text}");
    for secret in [TOKEN, DEMO_API_KEY, DEMO_TEAM_ID, MISSING_RUN] {
        assert!(!text.contains(secret), "/metrics reveals {secret}");
    }

    // Another call, answered 429 once and retried, moves the counters.
    let armed = http()
        .post(format!("{}/_emulator/faults", emu.base_url()))
        .json(&json!({"status": 429, "count": 1, "retry_after": 1, "path_prefix": "/v2/teams"}))
        .send()
        .await
        .expect("arm fault");
    assert!(armed.status().is_success());
    let r = mcp.call("listAgents", json!({})).await;
    assert_eq!(r.result()["isError"], false, "{}", r.body);
    let (text, m) = scrape(&server).await;
    let ok = sample(
        &m,
        "duvo_mcp_tool_calls_total",
        &[("tool", "listAgents"), ("outcome", "ok")],
    );
    assert_eq!(ok, Some(3.0), "{text}");
    let op = ("operation", "GET /v2/teams/:id/agents");
    assert_eq!(
        sample(
            &m,
            "duvo_mcp_upstream_requests_total",
            &[op, ("status", "429")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &m,
            "duvo_mcp_upstream_requests_total",
            &[op, ("status", "200")]
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(&m, "duvo_mcp_upstream_retries_total", &[op]),
        Some(1.0),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_need_the_shared_token_but_no_duvo_key_in_passthrough_mode() {
    let emu = start_emulator().await;
    let server = spawn(
        &["--passthrough-auth", "--base-url", emu.base_url()],
        &[("DUVO_MCP_AUTH_TOKEN", TOKEN)],
    )
    .await;
    let (status, _) = get(&server.url("/metrics"), &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = get(&server.url("/metrics"), &[("x-auth-token", TOKEN)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = get(&server.url("/metrics"), &[("host", "evil.example.com")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "Host still checked");
}

/// A loopback OTLP/HTTP collector: keeps every `POST /v1/traces` body.
async fn collector() -> (String, Arc<Mutex<Vec<Bytes>>>) {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let sink = bodies.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock().expect("lock").push(body);
                (
                    [(axum::http::header::CONTENT_TYPE, "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), bodies)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

#[tokio::test]
async fn otlp_traces_reach_the_collector_and_traceparent_goes_upstream() {
    let emu = start_emulator().await;
    let (endpoint, bodies) = collector().await;
    let server = token_server(
        &emu,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    )
    .await;
    let mcp = Mcp::modern(&server.url("/mcp"), bearer());
    let r = mcp.call("listAgents", json!({})).await;
    assert_eq!(r.result()["isError"], false, "{}", r.body);

    // The emulator saw a W3C traceparent on the upstream request.
    let log = emulator_log(&emu).await;
    let entry = log
        .iter()
        .find(|e| e["path"] == format!("/v2/teams/{DEMO_TEAM_ID}/agents"))
        .unwrap_or_else(|| panic!("listAgents upstream: {log:?}"));
    let tp = entry["traceparent"].as_str().expect("traceparent sent");
    let parts: Vec<&str> = tp.split('-').collect();
    assert_eq!(parts.len(), 4, "{tp}");
    assert_eq!(parts[0], "00", "{tp}");
    assert_eq!(parts[1].len(), 32, "{tp}");
    assert_eq!(parts[2].len(), 16, "{tp}");
    let trace_id = hex_bytes(parts[1]);
    let span_id = hex_bytes(parts[2]);

    // The collector got the tool call span and the upstream attempt span of that trace.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let all: Vec<u8> = bodies.lock().expect("lock").concat();
        let done = contains(&all, b"tools/call listAgents")
            && contains(&all, b"GET /v2/teams/:id/agents")
            && contains(&all, &trace_id)
            && contains(&all, &span_id);
        if done {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "spans did not arrive ({} export requests); log:\n{}",
            bodies.lock().expect("lock").len(),
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn without_an_otlp_endpoint_no_traceparent_is_sent() {
    let emu = start_emulator().await;
    let server = token_server(&emu, &[]).await;
    let mcp = Mcp::modern(&server.url("/mcp"), bearer());
    mcp.call("listAgents", json!({})).await;
    let log = emulator_log(&emu).await;
    assert!(log.iter().all(|e| e["traceparent"].is_null()), "{log:?}");
}

#[tokio::test]
async fn log_format_json_writes_one_json_object_per_line_on_stderr() {
    // stdio: stdout stays JSON-RPC only (nothing here: stdin is closed), logs are JSON.
    let out = tokio::time::timeout(
        WAIT,
        tokio::process::Command::new(env!("CARGO_BIN_EXE_duvo-mcp"))
            .args(["stdio", "--demo", "--log-format", "json"])
            .env("DUVO_MCP_LOG", "info")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdin(std::process::Stdio::null())
            .output(),
    )
    .await
    .expect("stdio exits on EOF")
    .expect("run");
    assert!(out.stdout.is_empty(), "stdout: {:?}", out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "no log lines");
    for line in &lines {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{line}");
    }
    assert!(
        stderr.contains("serving MCP on stdio"),
        "the start-up line is there: {stderr}"
    );

    // http: tracing lines are JSON (the URL banner stays plain text for people and scripts).
    let server = spawn(&["--demo", "--log-format", "json"], &[]).await;
    let mcp = Mcp::modern(&server.url("/mcp"), headers(&[]));
    mcp.call("listAgents", json!({})).await;
    let log = server.log();
    let json_lines: Vec<Value> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        json_lines.iter().any(|v| v["level"] == "INFO"),
        "INFO records as JSON: {log}"
    );
    for line in log.lines() {
        let banner = line.starts_with("duvo-mcp http listening") || line.starts_with("  ");
        assert!(
            line.starts_with('{') || banner,
            "a plain-text log line: {line}"
        );
    }
}

#[tokio::test]
async fn connectors_send_the_token_as_x_auth_token_or_x_api_key_with_the_key_in_authorization() {
    let emu = start_emulator().await;
    let server = spawn(
        &["--passthrough-auth", "--base-url", emu.base_url()],
        &[("DUVO_MCP_AUTH_TOKEN", TOKEN)],
    )
    .await;
    let url = server.url("/mcp");
    let key = format!("Bearer {DEMO_API_KEY}");
    for name in ["x-auth-token", "x-api-key"] {
        for value in [TOKEN.to_owned(), format!("Bearer {TOKEN}")] {
            let h = headers(&[("authorization", &key), (name, &value)]);
            let legacy = Mcp::legacy(&url, h.clone())
                .await
                .unwrap_or_else(|r| panic!("{name}: {} {}", r.status, r.body));
            let r = legacy.call("listAgents", json!({})).await;
            assert_eq!(r.result()["isError"], false, "{name}: {}", r.body);
            let modern = Mcp::modern(&url, h);
            let r = modern.call("listAgents", json!({})).await;
            assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.body);
            assert_eq!(r.result()["isError"], false, "{name}: {}", r.body);
        }
        let wrong = headers(&[("authorization", &key), (name, "wrong-token-0000000000")]);
        let r = post(&url, &wrong, &initialize_body()).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{name} wrong token");
        let only_token = headers(&[(name, TOKEN)]);
        let r = post(&url, &only_token, &initialize_body()).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{name} without a key");
    }
    // X-MCP-Auth comes first: a wrong X-MCP-Auth is not rescued by a right X-API-Key.
    let h = headers(&[
        ("authorization", &key),
        ("x-mcp-auth", "wrong-token-0000000000"),
        ("x-api-key", TOKEN),
    ]);
    let r = post(&url, &h, &initialize_body()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // A session opened with X-Auth-Token continues with X-API-Key (same token, same caller).
    let opened = Mcp::legacy(
        &url,
        headers(&[("authorization", &key), ("x-auth-token", TOKEN)]),
    )
    .await
    .expect("session");
    let sid = opened.session.clone().expect("sid");
    let r = post(
        &url,
        &headers(&[
            ("authorization", &key),
            ("x-api-key", TOKEN),
            ("mcp-session-id", &sid),
            ("mcp-protocol-version", "2025-06-18"),
        ]),
        &json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": {}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn query_parameters_on_mcp_narrow_like_the_headers_and_never_widen() {
    let server = spawn(
        &["--demo", "--toolsets", "jobs", "--exclude-tools", "stopRun"],
        &[],
    )
    .await;
    let names = |url: String| async move { Mcp::modern(&url, headers(&[])).tool_names().await };
    let base = server.url("/mcp");
    let all = names(base.clone()).await;
    assert!(all.iter().any(|n| n == "startRun"), "{all:?}");

    // Narrowing: read-only and an excluded tool.
    let ro = names(format!("{base}?read_only=true&exclude_tools=listRuns")).await;
    assert!(ro.iter().any(|n| n == "getRun"), "{ro:?}");
    for gone in ["startRun", "listRuns", "stopRun"] {
        assert!(!ro.iter().any(|n| n == gone), "{gone} in {ro:?}");
    }
    let legacy = Mcp::legacy(&format!("{base}?read_only=true"), headers(&[]))
        .await
        .expect("session");
    let r = legacy
        .call(
            "startRun",
            json!({"agent_id": MISSING_RUN, "message": "hi"}),
        )
        .await;
    assert_eq!(r.result()["isError"], true, "{}", r.body);

    // Never widening: more toolsets and an excluded tool stay out, and stay uncallable.
    let wider = format!("{base}?toolsets=jobs,assignments&tools=stopRun");
    let w = names(wider.clone()).await;
    assert!(w.iter().any(|n| n == "getRun"), "{w:?}");
    for gone in ["listAgents", "stopRun"] {
        assert!(!w.iter().any(|n| n == gone), "{gone} in {w:?}");
    }
    let r = Mcp::modern(&wider, headers(&[]))
        .call("stopRun", json!({"run_id": MISSING_RUN}))
        .await;
    assert_eq!(r.result()["isError"], true, "{}", r.body);

    // Headers and query both apply: the query cannot undo a header's narrowing.
    let both = Mcp::modern(
        &format!("{base}?toolsets=jobs&read_only=false"),
        headers(&[("x-mcp-read-only", "true")]),
    )
    .tool_names()
    .await;
    assert!(!both.iter().any(|n| n == "startRun"), "{both:?}");

    // An unknown toolset is a clear error.
    let r = Mcp::modern(&format!("{base}?toolsets=nope"), headers(&[]))
        .request("tools/list", json!({}), false)
        .await;
    assert!(
        r.body.contains("nope"),
        "the error names the bad toolset: {}",
        r.body
    );
}
