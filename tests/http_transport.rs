//! `duvo-mcp http` transport behaviour: per-request narrowing headers on `/mcp` (legacy session
//! and stateless 2026-07-28) and `/sse`, idle session expiry, and graceful shutdown (in-flight calls
//! finish within the bound; new work is refused). Progress: conformance/tests/fixtures_http.rs.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_support;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use duvo_emulator::{self as emulator, DEMO_API_KEY, DEMO_TEAM_ID, EmulatorConfig};
use http_support::*;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

#[tokio::test]
async fn tool_errors_are_results_over_http() {
    let server = spawn(&["--demo"], &[]).await;
    let mcp = Mcp::modern(&server.url("/mcp"), headers(&[]));
    let r = mcp
        .call(
            "getAgent",
            json!({"agent_id": "00000000-0000-4000-8000-000000000000"}),
        )
        .await;
    assert_eq!(r.result()["isError"], true, "{}", r.body);
    assert!(
        result_text(r.result()).contains("listAgents"),
        "says how to find a valid id"
    );
    let r = mcp.call("noSuchTool", json!({})).await;
    assert_eq!(r.response()["error"]["code"], -32602);
}

async fn check_narrowing(list: Vec<String>, what: &str, present: &[&str], absent: &[&str]) {
    for p in present {
        assert!(
            list.iter().any(|n| n == p),
            "{what}: {p} should be listed in {list:?}"
        );
    }
    for a in absent {
        assert!(
            !list.iter().any(|n| n == a),
            "{what}: {a} should not be listed"
        );
    }
}

#[tokio::test]
async fn narrowing_headers_shrink_the_list_and_never_widen_it() {
    let server = spawn(
        &["--demo", "--toolsets", "jobs", "--exclude-tools", "stopRun"],
        &[],
    )
    .await;
    let url = server.url("/mcp");
    let plain = Mcp::modern(&url, headers(&[]));
    check_narrowing(
        plain.tool_names().await,
        "server filters",
        &["getRun", "startRun"],
        &["stopRun", "listAgents"],
    )
    .await;

    let wider = Mcp::modern(
        &url,
        headers(&[
            ("x-mcp-toolsets", "jobs,assignments"),
            ("x-mcp-tools", "stopRun"),
        ]),
    );
    check_narrowing(
        wider.tool_names().await,
        "asking for more",
        &["getRun"],
        &["listAgents", "stopRun"],
    )
    .await;
    let r = wider
        .call(
            "stopRun",
            json!({"run_id": "00000000-0000-4000-8000-000000000000"}),
        )
        .await;
    assert_eq!(
        r.result()["isError"],
        true,
        "an excluded tool stays uncallable: {}",
        r.body
    );

    let narrow = Mcp::legacy(
        &url,
        headers(&[
            ("x-mcp-toolsets", "jobs"),
            ("x-mcp-exclude-tools", "getRun"),
        ]),
    )
    .await
    .expect("session");
    check_narrowing(
        narrow.tool_names().await,
        "excluding",
        &["listRuns"],
        &["getRun"],
    )
    .await;
    let r = narrow
        .call(
            "getRun",
            json!({"run_id": "00000000-0000-4000-8000-000000000000"}),
        )
        .await;
    assert_eq!(
        r.result()["isError"],
        true,
        "a hidden tool can't be called: {}",
        r.body
    );
    assert!(result_text(r.result()).contains("disabled"), "{}", r.body);

    let ro = Mcp::modern(&url, headers(&[("x-mcp-read-only", "true")]));
    check_narrowing(
        ro.tool_names().await,
        "read-only",
        &["getRun", "listRuns"],
        &["startRun", "postRunMessage"],
    )
    .await;
    let r = ro
        .call(
            "startRun",
            json!({"agent_id": "00000000-0000-4000-8000-000000000000"}),
        )
        .await;
    assert_eq!(r.result()["isError"], true, "{}", r.body);
    assert!(result_text(r.result()).contains("read-only"), "{}", r.body);

    // The same headers narrow the legacy SSE transport (they ride on each POST).
    let mut sse = sse_connect(&server.base, headers(&[("x-mcp-read-only", "true")]))
        .await
        .expect("sse");
    sse.initialize().await;
    check_narrowing(
        sse.tool_names().await,
        "read-only over SSE",
        &["getRun"],
        &["startRun"],
    )
    .await;
    let r = sse
        .call(
            "startRun",
            json!({"agent_id": "00000000-0000-4000-8000-000000000000"}),
        )
        .await;
    assert_eq!(r["isError"], true, "{r}");
}

#[tokio::test]
async fn idle_sessions_expire() {
    let server = spawn(&["--demo", "--session-idle-timeout", "1"], &[]).await;
    let url = server.url("/mcp");
    let mcp = Mcp::legacy(&url, headers(&[])).await.expect("session");
    let mut sse = sse_connect(&server.base, headers(&[])).await.expect("sse");
    sse.initialize().await;
    assert!(
        sse.wait_closed(WAIT).await,
        "an idle /sse session is closed"
    );
    let gone = tokio::time::timeout(WAIT, async {
        loop {
            let r = mcp.request("tools/list", json!({}), false).await;
            if r.status == StatusCode::NOT_FOUND {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1500)).await;
        }
    })
    .await;
    assert!(
        gone.is_ok(),
        "an idle /mcp session expires (404 for its id)"
    );
}

/// A Duvo API front that holds each request for `delay` before forwarding it to the emulator.
#[derive(Clone)]
struct SlowUpstream {
    target: String,
    delay: Duration,
    seen: Arc<AtomicUsize>,
    arrived: Arc<Notify>,
}

async fn slow_forward(
    State(up): State<SlowUpstream>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    up.seen.fetch_add(1, Ordering::SeqCst);
    up.arrived.notify_waiters();
    tokio::time::sleep(up.delay).await;
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", up.target))
        .body(body);
    for (k, v) in &headers {
        if k != "host" {
            req = req.header(k, v);
        }
    }
    match req.send().await {
        Ok(resp) => {
            let status = resp.status();
            let ct = resp.headers().get("content-type").cloned();
            let bytes = resp.bytes().await.unwrap_or_default();
            let mut out = (status, bytes).into_response();
            if let Some(ct) = ct {
                out.headers_mut().insert("content-type", ct);
            }
            out
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

async fn slow_upstream(delay: Duration) -> (emulator::RunningEmulator, SlowUpstream, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let emu = emulator::start(listener, EmulatorConfig::default())
        .await
        .expect("emulator");
    let up = SlowUpstream {
        target: emu.base_url().trim_end_matches('/').to_owned(),
        delay,
        seen: Arc::new(AtomicUsize::new(0)),
        arrived: Arc::new(Notify::new()),
    };
    let app = axum::Router::new()
        .fallback(slow_forward)
        .with_state(up.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (emu, up, base)
}

async fn wait_for_upstream_hits(up: &SlowUpstream, n: usize) {
    tokio::time::timeout(WAIT, async {
        loop {
            let arrived = up.arrived.notified();
            if up.seen.load(Ordering::SeqCst) >= n {
                return;
            }
            arrived.await;
        }
    })
    .await
    .expect("the calls reached the upstream");
}

/// `duvo-mcp http` with the demo key against `upstream`, draining for at most
/// `shutdown_timeout` seconds.
async fn spawn_against(upstream: &str, shutdown_timeout: &str) -> Server {
    spawn(
        &[
            "--base-url",
            upstream,
            "--team-id",
            DEMO_TEAM_ID,
            "--shutdown-timeout",
            shutdown_timeout,
        ],
        &[("DUVO_API_KEY", DEMO_API_KEY)],
    )
    .await
}

#[tokio::test]
async fn shutdown_lets_in_flight_calls_finish() {
    let (_emu, up, upstream) = slow_upstream(Duration::from_millis(1500)).await;
    let mut server = spawn_against(&upstream, "20").await;
    let url = server.url("/mcp");
    let legacy = Mcp::legacy(&url, headers(&[])).await.expect("session");
    let mut sse = sse_connect(&server.base, headers(&[])).await.expect("sse");
    sse.initialize().await;

    let stateless = tokio::spawn({
        let url = url.clone();
        async move {
            Mcp::modern(&url, headers(&[]))
                .call("listAgents", json!({}))
                .await
        }
    });
    let in_session = tokio::spawn(async move { legacy.call("listAgents", json!({})).await });
    let over_sse = tokio::spawn(async move {
        let r = sse.call("listAgents", json!({})).await;
        (r, sse)
    });
    wait_for_upstream_hits(&up, 3).await; // all three calls are in flight
    server.terminate();

    let r = stateless.await.expect("join");
    assert!(
        !agent_names(r.result()).is_empty(),
        "stateless call finished: {}",
        r.body
    );
    let r = in_session.await.expect("join");
    assert!(
        !agent_names(r.result()).is_empty(),
        "session call finished: {}",
        r.body
    );
    let (r, _sse) = over_sse.await.expect("join");
    assert!(!agent_names(&r).is_empty(), "SSE call finished: {r}");

    assert_eq!(
        server.wait_exit(WAIT).await,
        Some(0),
        "clean exit; log:\n{}",
        server.log()
    );
    let after = http().get(server.url("/healthz")).send().await;
    assert!(after.is_err(), "nothing listens after shutdown");
    assert!(
        server.log().contains("in-flight requests finished"),
        "{}",
        server.log()
    );
}

#[tokio::test]
async fn shutdown_refuses_new_work_and_is_bounded() {
    let (_emu, up, upstream) = slow_upstream(Duration::from_secs(60)).await;
    let mut server = spawn_against(&upstream, "3").await;
    let url = server.url("/mcp");
    let stuck = tokio::spawn({
        let url = url.clone();
        async move {
            Mcp::modern(&url, headers(&[]))
                .call("listAgents", json!({}))
                .await
        }
    });
    wait_for_upstream_hits(&up, 1).await;
    server.terminate();
    // New work is refused while the call drains: the listener is closed (a fresh connection fails;
    // a kept-alive one would get 503), yet the process is still running.
    tokio::time::timeout(WAIT, async {
        loop {
            let fresh = reqwest::Client::new()
                .get(server.url("/healthz"))
                .send()
                .await;
            if fresh.is_err() || fresh.is_ok_and(|r| r.status() == StatusCode::SERVICE_UNAVAILABLE)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("new requests are refused after SIGTERM");
    assert!(
        server.child.try_wait().expect("try_wait").is_none(),
        "still draining the in-flight call when new work is refused"
    );
    // The upstream would take a minute; the server gives up after its 3 s bound.
    assert_eq!(server.wait_exit(Duration::from_secs(15)).await, Some(0));
    assert!(
        server.log().contains("shutdown bound reached"),
        "{}",
        server.log()
    );
    stuck.abort();
}

/// Raw `initialize` with `version`; returns (session id, raw body).
async fn raw_initialize(url: &str, version: &str) -> (String, String) {
    let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": version, "capabilities": {},
        "clientInfo": {"name": "duvo-mcp-tests", "version": "1"}}});
    let r = post(url, &headers(&[]), &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let sid = r
        .headers
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .expect("session id")
        .to_owned();
    (sid, r.body)
}

#[tokio::test]
async fn priming_events_only_go_to_sessions_that_understand_them() {
    let server = spawn(&["--demo"], &[]).await;
    let url = server.url("/mcp");
    // Python `mcp` 1.9–1.21 (2025-06-18 and older) fail to parse the empty `data:` event.
    let (sid, init) = raw_initialize(&url, "2025-06-18").await;
    assert!(
        !init.contains("retry:"),
        "priming event to a 2025-06-18 client: {init:?}"
    );
    let list = post(
        &url,
        &headers(&[
            ("mcp-session-id", &sid),
            ("mcp-protocol-version", "2025-06-18"),
        ]),
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    )
    .await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.body.contains("retry:"), "priming on a request stream");
    assert!(
        list.body.contains("listAgents"),
        "the result itself still arrives"
    );
    // 2025-11-25 clients keep it (it lets them resume a dropped stream).
    let (_, init) = raw_initialize(&url, "2025-11-25").await;
    assert!(
        init.contains("retry:"),
        "no priming event for 2025-11-25: {init:?}"
    );
}

#[tokio::test]
async fn mcp_responses_do_not_stall_on_delayed_acks() {
    // Without TCP_NODELAY each response's last small write waited for the client's delayed
    // ACK: ~44 ms per request on a kept-alive connection. Wide margin: median under 25 ms.
    let server = spawn(&["--demo"], &[]).await;
    let url = server.url("/mcp");
    let session = Mcp::legacy(&url, headers(&[])).await.expect("session");
    let sid = session.session.clone().expect("id");
    let client = http();
    let mut took = Vec::new();
    for i in 0..24 {
        let start = std::time::Instant::now();
        let resp = client
            .post(&url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-session-id", &sid)
            .header("mcp-protocol-version", "2025-06-18")
            .body(json!({"jsonrpc": "2.0", "id": i + 1, "method": "ping"}).to_string())
            .send()
            .await
            .expect("ping");
        assert_eq!(resp.status(), StatusCode::OK);
        let body = resp.text().await.expect("body");
        assert!(body.contains("\"result\""), "{body}");
        if i >= 4 {
            took.push(start.elapsed());
        }
    }
    took.sort();
    let median = took[took.len() / 2];
    assert!(
        median < Duration::from_millis(25),
        "median ping {median:?} (all: {took:?})"
    );
}

/// The `Content-Type` of a reply, without parameters.
fn content_type(r: &Reply) -> String {
    r.headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned()
}

#[tokio::test]
async fn stateless_answers_that_need_no_stream_are_plain_json() {
    // A stateless 2026-07-28 request whose answer is its first message gets it as one
    // `application/json` body (no SSE stream, no priming event), on a default server (legacy
    // sessions on) and on a --stateless one; a call that reports progress first still streams.
    let key = (
        "DUVO_MCP_STATE_KEY",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    );
    for args in [&["--demo"][..], &["--demo", "--stateless"][..]] {
        let server = spawn(args, &[key]).await;
        let mcp = Mcp::modern(&server.url("/mcp"), headers(&[]));
        let r = mcp.call("listAgents", json!({})).await;
        assert_eq!(r.status, StatusCode::OK, "{args:?}: {}", r.body);
        assert_eq!(content_type(&r), "application/json", "{args:?}: {r:?}");
        assert_eq!(r.result()["isError"], false, "{args:?}: {}", r.body);
        let body: serde_json::Value = serde_json::from_str(&r.body).expect("one JSON body");
        assert!(body["result"]["structuredContent"].is_object(), "{body}");
        let r = mcp.request("tools/list", json!({}), false).await;
        assert_eq!(content_type(&r), "application/json", "{args:?}: {r:?}");
        assert!(r.body.contains("listAgents"), "{}", r.body);
        // A tool error is an answer too.
        let r = mcp
            .call(
                "getAgent",
                json!({"agent_id": "00000000-0000-4000-8000-000000000000"}),
            )
            .await;
        assert_eq!(content_type(&r), "application/json", "{args:?}: {r:?}");
        assert_eq!(r.result()["isError"], true, "{}", r.body);
    }
    // Progress before the answer: the reply stays a stream and carries both.
    let server = spawn(&["--demo"], &[]).await;
    let mcp = Mcp::modern(&server.url("/mcp"), headers(&[]));
    let created = mcp
        .call(
            "createAgent",
            json!({"name": "Streamer", "build": {"name": "v1", "config": {"version": "v2",
                "data": {"models": {"agent": {"model": "claude-sonnet-4-6"},
                "browsing": {"provider": "anthropic", "model": "claude-sonnet-4-5"}},
                "input": "Say hi."}}}}),
        )
        .await;
    let agent_id = created.result()["structuredContent"]["agent"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("agent id in {}", created.body))
        .to_owned();
    let r = mcp
        .request(
            "tools/call",
            json!({"name": "runAssignment",
                   "arguments": {"agent_id": agent_id, "message": "go", "wait_seconds": 3}}),
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(content_type(&r), "text/event-stream", "{r:?}");
    assert!(!r.progress().is_empty(), "progress arrives: {}", r.body);
    assert!(r.result().get("content").is_some(), "{}", r.body);
}
