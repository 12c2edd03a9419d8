//! `duvo-mcp http` admission rules on every route: Host and Origin allow-lists (403), the inbound
//! token (401), passthrough keys (each caller's own Duvo key, never another's), body limit (413),
//! session and stream caps (503), refusing to start unauthenticated off loopback, and that no key
//! or token reaches the log.

mod http_support;

use duvo_mcp::emulator::{self, DEMO_API_KEY, EmulatorConfig, OTHER_TEAM_KEY};
use http_support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const TOKEN: &str = "test-token-7f3a9c1e5b2d4f60";

/// Every route but `/healthz` (which answers before admission), with a method that reaches it.
fn routes(base: &str) -> Vec<(reqwest::Method, String)> {
    vec![
        (reqwest::Method::POST, format!("{base}/mcp")),
        (reqwest::Method::GET, format!("{base}/sse")),
        (reqwest::Method::POST, format!("{base}/message?sessionId=x")),
    ]
}

async fn status_of(
    method: reqwest::Method,
    url: &str,
    extra: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap) {
    let resp = http()
        .request(method, url)
        .headers(headers(extra))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(initialize_body().to_string())
        .send()
        .await
        .expect("request");
    (resp.status(), resp.headers().clone())
}

#[tokio::test]
async fn foreign_host_and_origin_are_refused_on_every_route() {
    let server = spawn(&["--demo"], &[]).await;
    for (method, url) in routes(&server.base) {
        let (s, _) = status_of(method.clone(), &url, &[("host", "evil.example.com")]).await;
        assert_eq!(
            s,
            StatusCode::FORBIDDEN,
            "Host evil.example.com on {method} {url}"
        );
        let (s, _) = status_of(
            method.clone(),
            &url,
            &[("origin", "https://evil.example.com")],
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "Origin evil on {method} {url}");
        let (s, _) = status_of(
            method.clone(),
            &url,
            &[("host", "localhost.evil.example.com:80")],
        )
        .await;
        assert_eq!(
            s,
            StatusCode::FORBIDDEN,
            "look-alike Host on {method} {url}"
        );
    }
    // Liveness answers any Host and Origin (it reveals nothing).
    for extra in [
        ("host", "evil.example.com"),
        ("host", "10.1.2.3:8787"),
        ("origin", "https://evil.example.com"),
    ] {
        let resp = http()
            .get(server.url("/healthz"))
            .headers(headers(&[extra]))
            .send()
            .await
            .expect("healthz");
        assert_eq!(resp.status(), StatusCode::OK, "healthz with {extra:?}");
        assert_eq!(resp.text().await.expect("body"), r#"{"status":"ok"}"#);
    }
    // Loopback names and a loopback browser origin pass.
    let (s, _) = status_of(
        reqwest::Method::GET,
        &server.url("/healthz"),
        &[("origin", "http://localhost:6274")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let ok = post(
        &server.url("/mcp"),
        &headers(&[("host", "localhost"), ("origin", "http://127.0.0.1:3000")]),
        &initialize_body(),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
}

#[tokio::test]
async fn configured_host_and_origin_lists_replace_the_loopback_defaults() {
    let server = spawn(
        &[
            "--demo",
            "--allowed-hosts",
            "mcp.example.com",
            "--allowed-origins",
            "https://app.example.com",
        ],
        &[],
    )
    .await;
    let mcp = server.url("/mcp");
    let r = post(
        &mcp,
        &headers(&[
            ("host", "mcp.example.com"),
            ("origin", "https://app.example.com"),
        ]),
        &initialize_body(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = post(
        &mcp,
        &headers(&[
            ("host", "mcp.example.com"),
            ("origin", "https://other.example.com"),
        ]),
        &initialize_body(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // 127.0.0.1 (what reqwest sends by default) is no longer listed.
    let (s, _) = status_of(reqwest::Method::POST, &server.url("/mcp"), &[]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Liveness does not depend on the Host list (Kubernetes probes send Host: <pod-ip>:<port>).
    let (s, _) = status_of(
        reqwest::Method::GET,
        &server.url("/healthz"),
        &[("host", "10.1.2.3:8787")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = status_of(
        reqwest::Method::GET,
        &server.url("/sse"),
        &[("host", "mcp.example.com")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn the_token_is_required_on_every_route_but_health() {
    let server = spawn(&["--demo"], &[("DUVO_MCP_AUTH_TOKEN", TOKEN)]).await;
    let (s, _) = status_of(reqwest::Method::GET, &server.url("/healthz"), &[]).await;
    assert_eq!(s, StatusCode::OK, "health probes need no token");
    for (method, url) in routes(&server.base) {
        let (s, h) = status_of(method.clone(), &url, &[]).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "no token on {method} {url}");
        assert!(h.get("www-authenticate").is_some(), "401 names the scheme");
        let (s, _) = status_of(
            method.clone(),
            &url,
            &[("authorization", "Bearer test-token-7f3a9c1e5b2d4f6X")],
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "wrong token on {method} {url}");
        let (s, _) = status_of(method.clone(), &url, &[("authorization", TOKEN)]).await;
        assert_eq!(
            s,
            StatusCode::UNAUTHORIZED,
            "token without the Bearer scheme on {method} {url}"
        );
    }
    let auth = headers(&[("authorization", &format!("Bearer {TOKEN}"))]);
    let mcp = Mcp::legacy(&server.url("/mcp"), auth.clone())
        .await
        .expect("session with the token");
    assert!(mcp.tool_names().await.contains(&"listAgents".to_owned()));
    let mut sse = sse_connect(&server.base, auth)
        .await
        .expect("SSE with the token");
    sse.initialize().await;
    let agents = sse.call("listAgents", json!({})).await;
    assert!(!agent_names(&agents).is_empty(), "{agents}");
    // A message POST without the token is refused even with a valid session id.
    let r = http()
        .post(&sse.post_url)
        .json(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        !server.log().contains(TOKEN),
        "the token must never be logged"
    );
}

#[tokio::test]
async fn non_loopback_listen_needs_authentication() {
    let (code, stderr) = run_to_exit(&["--demo", "--listen", "0.0.0.0:0"], &[]).await;
    assert_ne!(code, Some(0));
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0 without authentication"),
        "{stderr}"
    );
    assert!(
        stderr.contains("DUVO_MCP_AUTH_TOKEN"),
        "the error says how to fix it: {stderr}"
    );
    let (code, stderr) = run_to_exit(&["--demo", "--auth-token", "short"], &[]).await;
    assert_ne!(code, Some(0), "a weak token is refused: {stderr}");
    let (code, stderr) = run_to_exit(&["--passthrough-auth", "--listen", "0.0.0.0:0"], &[]).await;
    assert_ne!(
        code,
        Some(0),
        "passthrough alone does not open a public port: {stderr}"
    );
    assert!(stderr.contains("X-MCP-Auth"), "{stderr}");
}

#[tokio::test]
async fn non_loopback_listen_starts_with_a_token() {
    let mut server = spawn(
        &["--demo", "--listen", "0.0.0.0:0"],
        &[("DUVO_MCP_AUTH_TOKEN", TOKEN)],
    )
    .await;
    assert!(
        server.base.starts_with("http://0.0.0.0:"),
        "{}",
        server.base
    );
    server.terminate();
    assert_eq!(server.wait_exit(WAIT).await, Some(0));
}

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

async fn request_log(emu: &emulator::RunningEmulator) -> Vec<Value> {
    http()
        .get(format!("{}/_emulator/requests", emu.base_url()))
        .send()
        .await
        .expect("log")
        .json::<Value>()
        .await
        .expect("json")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn passthrough_uses_each_callers_own_key() {
    let emu = start_emulator().await;
    let server = spawn(&["--passthrough-auth", "--base-url", emu.base_url()], &[]).await;
    let url = server.url("/mcp");

    // No key: refused before any MCP processing.
    let r = post(&url, &headers(&[]), &initialize_body()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.body.contains("dv_"),
        "says which key is expected: {}",
        r.body
    );

    let demo = Mcp::legacy(
        &url,
        headers(&[("authorization", &format!("Bearer {DEMO_API_KEY}"))]),
    )
    .await
    .expect("demo session");
    let other = Mcp::legacy(
        &url,
        headers(&[("authorization", &format!("Bearer {OTHER_TEAM_KEY}"))]),
    )
    .await
    .expect("other session");
    let stateless_other = Mcp::modern(
        &url,
        headers(&[("authorization", &format!("Bearer {OTHER_TEAM_KEY}"))]),
    );
    for _ in 0..2 {
        // Interleaved: each caller sees its own team's Assignments only.
        let mine = demo.call("listAgents", json!({})).await;
        let theirs = other.call("listAgents", json!({})).await;
        let theirs_stateless = stateless_other.call("listAgents", json!({})).await;
        let mine = agent_names(mine.result());
        assert!(
            !mine.is_empty() && !mine.contains(&"Route Planner".to_owned()),
            "demo key sees the demo team: {mine:?}"
        );
        assert_eq!(agent_names(theirs.result()), vec!["Route Planner"]);
        assert_eq!(
            agent_names(theirs_stateless.result()),
            vec!["Route Planner"]
        );
    }
    // Over the legacy SSE transport the key of each POST is used.
    let mut sse = sse_connect(
        &server.base,
        headers(&[("authorization", &format!("Bearer {OTHER_TEAM_KEY}"))]),
    )
    .await
    .expect("sse");
    sse.initialize().await;
    assert_eq!(
        agent_names(&sse.call("listAgents", json!({})).await),
        vec!["Route Planner"]
    );

    let log = request_log(&emu).await;
    assert!(!log.is_empty());
    assert!(
        log.iter()
            .all(|e| e["authorization_present"] == json!(true)),
        "every upstream call carried a key: {log:?}"
    );
    let stderr = server.log();
    assert!(
        !stderr.contains(DEMO_API_KEY) && !stderr.contains(OTHER_TEAM_KEY),
        "keys never logged"
    );
}

#[tokio::test]
async fn passthrough_with_a_token_takes_the_token_in_x_mcp_auth() {
    let emu = start_emulator().await;
    let server = spawn(
        &["--passthrough-auth", "--base-url", emu.base_url()],
        &[("DUVO_MCP_AUTH_TOKEN", TOKEN)],
    )
    .await;
    let url = server.url("/mcp");
    let key = format!("Bearer {OTHER_TEAM_KEY}");
    let r = post(
        &url,
        &headers(&[("authorization", &key)]),
        &initialize_body(),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "the key alone is not enough"
    );
    let r = post(
        &url,
        &headers(&[("x-mcp-auth", &format!("Bearer {TOKEN}"))]),
        &initialize_body(),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "the token alone is not enough"
    );
    let both = headers(&[
        ("authorization", &key),
        ("x-mcp-auth", &format!("Bearer {TOKEN}")),
    ]);
    let mcp = Mcp::legacy(&url, both).await.expect("token and key");
    assert_eq!(
        agent_names(mcp.call("listAgents", json!({})).await.result()),
        vec!["Route Planner"]
    );
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let server = spawn(&["--demo", "--max-body-bytes", "2048"], &[]).await;
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"pad":"{}"}}}}"#,
        "x".repeat(4096)
    );
    // A new request (checked before rmcp sees it) and a request in a session (rmcp's own limit).
    let r = post_raw(&server.url("/mcp"), &headers(&[]), big.clone().into_bytes()).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    let mcp = Mcp::legacy(&server.url("/mcp"), headers(&[]))
        .await
        .expect("session");
    let sid = mcp.session.clone().expect("sid");
    let r = post_raw(
        &server.url("/mcp"),
        &headers(&[("mcp-session-id", &sid)]),
        big.clone().into_bytes(),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    let sse = sse_connect(&server.base, headers(&[])).await.expect("sse");
    let r = http()
        .post(&sse.post_url)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Small requests still work.
    assert!(!mcp.tool_names().await.is_empty());
}

#[tokio::test]
async fn sessions_past_the_cap_get_503_with_retry_after() {
    let server = spawn(&["--demo", "--max-sessions", "1"], &[]).await;
    let url = server.url("/mcp");
    let first = Mcp::legacy(&url, headers(&[]))
        .await
        .expect("first session");
    let refused = Mcp::legacy(&url, headers(&[]))
        .await
        .err()
        .expect("second session refused");
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers.get("retry-after").is_some());
    let (status, _) = sse_connect(&server.base, headers(&[]))
        .await
        .err()
        .expect("SSE session refused");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    // Stateless requests open no session and still work; so does the live session.
    assert!(
        !Mcp::modern(&url, headers(&[]))
            .tool_names()
            .await
            .is_empty()
    );
    assert!(!first.tool_names().await.is_empty());
    // Closing the session frees the slot.
    let sid = first.session.clone().expect("sid");
    let del = http()
        .delete(&url)
        .header("mcp-session-id", sid)
        .send()
        .await
        .expect("DELETE");
    assert!(del.status().is_success(), "{}", del.status());
    let again = tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(m) = Mcp::legacy(&url, headers(&[])).await {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("a slot frees up after DELETE");
    assert!(again.session.is_some());
}

#[tokio::test]
async fn streams_past_the_cap_get_503_with_retry_after() {
    let server = spawn(&["--demo", "--max-streams", "1"], &[]).await;
    let first = sse_connect(&server.base, headers(&[]))
        .await
        .expect("first stream");
    let (status, _) = sse_connect(&server.base, headers(&[]))
        .await
        .err()
        .expect("second stream refused");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    // The standalone GET /mcp stream counts too.
    let mcp = Mcp::legacy(&server.url("/mcp"), headers(&[]))
        .await
        .expect("session");
    let get = http()
        .get(server.url("/mcp"))
        .header("accept", "text/event-stream")
        .header("mcp-session-id", mcp.session.clone().expect("sid"))
        .send()
        .await
        .expect("GET /mcp");
    assert_eq!(get.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(get.headers().get("retry-after").is_some());
    drop(first);
    tokio::time::timeout(WAIT, async {
        loop {
            if sse_connect(&server.base, headers(&[])).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the slot frees when the first stream closes");
}
