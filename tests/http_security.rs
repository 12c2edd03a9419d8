//! `duvo-mcp http` admission rules on every route: Host and Origin allow-lists (403), the inbound
//! token (401), passthrough keys (each caller's own Duvo key, never another's), body limit (413),
//! session and stream caps (503), refusing to start unauthenticated off loopback, and that no key
//! or token reaches the log.

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_support;

use duvo_emulator::{self as emulator, DEMO_API_KEY, EmulatorConfig, OTHER_TEAM_KEY};
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

/// Raw GET/DELETE on `/mcp` naming a session, with the caller's own key.
async fn on_session(method: reqwest::Method, url: &str, key: &str, session: &str) -> StatusCode {
    http()
        .request(method, url)
        .header("authorization", format!("Bearer {key}"))
        .header("accept", "text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", "2025-06-18")
        .header("last-event-id", "0/1")
        .send()
        .await
        .expect("request")
        .status()
}

#[tokio::test]
async fn a_session_id_is_useless_to_a_caller_with_another_key() {
    let server = spawn(&["--demo", "--passthrough-auth"], &[]).await;
    let mcp = server.url("/mcp");
    let victim_h = headers(&[("authorization", &format!("Bearer {DEMO_API_KEY}"))]);
    let victim = Mcp::legacy(&mcp, victim_h.clone())
        .await
        .expect("victim session");
    let sid = victim.session.clone().expect("session id");
    // The attacker knows the id and brings its own valid key.
    let mut thief = Mcp::modern(
        &mcp,
        headers(&[("authorization", &format!("Bearer {OTHER_TEAM_KEY}"))]),
    );
    thief.session = Some(sid.clone());
    let r = thief.request("tools/list", json!({}), false).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "POST: {}", r.body);
    assert_eq!(
        r.body, "Not Found: Session not found",
        "same as an unknown session"
    );
    let get = on_session(reqwest::Method::GET, &mcp, OTHER_TEAM_KEY, &sid).await;
    assert_eq!(get, StatusCode::NOT_FOUND, "GET with Last-Event-ID");
    let del = on_session(reqwest::Method::DELETE, &mcp, OTHER_TEAM_KEY, &sid).await;
    assert_eq!(
        del,
        StatusCode::NOT_FOUND,
        "DELETE of another caller's session"
    );
    // The victim's session is untouched.
    assert!(victim.tool_names().await.contains(&"listAgents".to_owned()));

    // Legacy SSE: posting to the victim's session with another key is refused and delivers
    // nothing on the victim's stream.
    let mut sse = sse_connect(&server.base, victim_h.clone())
        .await
        .expect("victim /sse");
    sse.initialize().await;
    let attack = http()
        .post(&sse.post_url)
        .header("authorization", format!("Bearer {OTHER_TEAM_KEY}"))
        .json(&json!({"jsonrpc": "2.0", "id": 999, "method": "tools/list"}))
        .send()
        .await
        .expect("attacker POST /message");
    assert_eq!(attack.status(), StatusCode::NOT_FOUND);
    let own = sse.request("ping", json!({}), false).await;
    assert!(
        own.iter().all(|m| m["id"] != json!(999)),
        "the attacker's request reached the victim's session: {own:?}"
    );

    // Session ids never reach the log (rmcp logs them at INFO).
    assert!(!server.log().contains(&sid), "session id logged");
}

#[tokio::test]
async fn delete_answers_204_for_a_live_session_and_404_for_an_unknown_one() {
    let server = spawn(&["--demo"], &[]).await;
    let mcp = server.url("/mcp");
    let s = Mcp::legacy(&mcp, headers(&[])).await.expect("session");
    let sid = s.session.clone().expect("id");
    let del = |sid: String| {
        let url = mcp.clone();
        async move {
            http()
                .delete(url)
                .header("mcp-session-id", sid)
                .header("mcp-protocol-version", "2025-06-18")
                .send()
                .await
                .expect("DELETE")
                .status()
        }
    };
    assert_eq!(del(sid.clone()).await, StatusCode::NO_CONTENT);
    assert_eq!(
        del(sid.clone()).await,
        StatusCode::NOT_FOUND,
        "already gone"
    );
    assert_eq!(del("no-such-session".into()).await, StatusCode::NOT_FOUND);
    let r = s.request("tools/list", json!({}), false).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn one_caller_cannot_fill_the_session_cap() {
    // Settings through the environment, so the old server starts too and the test fails on
    // behaviour rather than on an unknown flag.
    let server = spawn(
        &["--demo", "--passthrough-auth", "--max-sessions", "10"],
        &[("DUVO_MCP_MAX_SESSIONS_PER_CALLER", "2")],
    )
    .await;
    let mcp = server.url("/mcp");
    let a = headers(&[("authorization", &format!("Bearer {DEMO_API_KEY}"))]);
    let b = headers(&[("authorization", &format!("Bearer {OTHER_TEAM_KEY}"))]);
    let first = Mcp::legacy(&mcp, a.clone()).await.expect("a: 1");
    let _second = Mcp::legacy(&mcp, a.clone()).await.expect("a: 2");
    let refused = Mcp::legacy(&mcp, a.clone())
        .await
        .err()
        .expect("a: 3 refused");
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    assert!(refused.headers.get("retry-after").is_some());
    let (status, _) = sse_connect(&server.base, a.clone())
        .await
        .err()
        .expect("a: /sse refused too");
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Another caller is not locked out.
    let other = Mcp::legacy(&mcp, b.clone())
        .await
        .expect("b still gets a session");
    assert!(other.tool_names().await.contains(&"listAgents".to_owned()));
    let mut other_sse = sse_connect(&server.base, b).await.expect("b: /sse");
    other_sse.initialize().await;
    // Closing one of a's sessions frees a slot for a.
    let status = http()
        .delete(&mcp)
        .headers(a.clone())
        .header("mcp-session-id", first.session.clone().expect("id"))
        .header("mcp-protocol-version", "2025-06-18")
        .send()
        .await
        .expect("DELETE")
        .status();
    assert!(status.is_success(), "{status}");
    Mcp::legacy(&mcp, a).await.expect("a: a slot again");
}

#[tokio::test]
async fn the_shared_token_is_one_caller_under_the_per_caller_cap() {
    let server = spawn(
        &["--demo", "--max-sessions", "10"],
        &[
            ("DUVO_MCP_AUTH_TOKEN", TOKEN),
            ("DUVO_MCP_MAX_SESSIONS_PER_CALLER", "2"),
        ],
    )
    .await;
    let mcp = server.url("/mcp");
    let auth = headers(&[("authorization", &format!("Bearer {TOKEN}"))]);
    let _first = Mcp::legacy(&mcp, auth.clone()).await.expect("1");
    let _second = Mcp::legacy(&mcp, auth.clone()).await.expect("2");
    let refused = Mcp::legacy(&mcp, auth.clone())
        .await
        .err()
        .expect("3 refused");
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    assert!(refused.headers.get("retry-after").is_some());
}

/// Reads from `sock` until EOF; `true` if the server closed it within `bound`.
async fn closed_within(sock: &mut tokio::net::TcpStream, bound: Duration) -> (bool, String) {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let read = tokio::time::timeout(bound, async {
        let mut buf = [0u8; 1024];
        loop {
            match sock.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    (read.is_ok(), String::from_utf8_lossy(&got).into_owned())
}

#[tokio::test]
async fn silent_and_half_sent_connections_are_closed() {
    use tokio::io::AsyncWriteExt;
    let server = spawn(
        &["--demo"],
        &[
            ("DUVO_MCP_AUTH_TOKEN", TOKEN),
            ("DUVO_MCP_HEADER_READ_TIMEOUT", "1"),
            ("DUVO_MCP_BODY_READ_TIMEOUT", "1"),
        ],
    )
    .await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    // Wide margin: the configured timeouts are 1 s; without them these stayed open > 95 s.
    let bound = Duration::from_secs(8);
    let mut silent = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let mut half_head = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    half_head
        .write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl")
        .await
        .expect("write");
    // A full head with the token, and a body that stops half-way.
    let mut half_body = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    half_body
        .write_all(
            format!(
                "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\
                 Accept: application/json, text/event-stream\r\nContent-Type: application/json\r\n\
                 Content-Length: 500\r\n\r\n{{\"jsonrpc\":"
            )
            .as_bytes(),
        )
        .await
        .expect("write");
    let (a, b, c) = tokio::join!(
        closed_within(&mut silent, bound),
        closed_within(&mut half_head, bound),
        closed_within(&mut half_body, bound)
    );
    assert!(a.0, "a silent connection stayed open");
    assert!(b.0, "a half-sent request head stayed open");
    assert!(c.0, "a half-sent body stayed open");
    assert!(c.1.starts_with("HTTP/1.1 408"), "half body: {:?}", c.1);
    // The server still serves.
    let ok = http()
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn past_the_connection_cap_new_connections_wait_instead_of_failing() {
    let server = spawn(&["--demo"], &[("DUVO_MCP_MAX_CONNECTIONS", "2")]).await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    let first = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let _second = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let url = server.url("/healthz");
    let mut probe = tokio::spawn(async move { http().get(url).send().await.map(|r| r.status()) });
    // Both slots are held by silent connections: the probe waits in the backlog.
    let early = tokio::time::timeout(Duration::from_millis(700), &mut probe).await;
    assert!(
        early.is_err(),
        "a third connection was served past the cap: {early:?}"
    );
    drop(first);
    let status = tokio::time::timeout(WAIT, probe)
        .await
        .expect("served once a slot frees")
        .expect("join")
        .expect("healthz");
    assert_eq!(status, StatusCode::OK);
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_soft_open_file_limit_is_raised_to_the_hard_one() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    // Start with a low soft limit, as many shells and service managers do (1024).
    let mut child = tokio::process::Command::new("sh")
        .args([
            "-c",
            "ulimit -Sn 256 && exec \"$0\" http --demo --listen 127.0.0.1:0",
            env!("CARGO_BIN_EXE_duvo-mcp"),
        ])
        .env_remove("DUVO_API_KEY")
        .env_remove("DUVO_MCP_LISTEN")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn via sh");
    let pid = child.id().expect("pid");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    tokio::time::timeout(WAIT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("listening on") {
                return;
            }
        }
        panic!("duvo-mcp http did not start");
    })
    .await
    .expect("started in time");
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let row = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("open files row");
    let cols: Vec<&str> = row.split_whitespace().collect();
    let (soft, hard) = (cols[3], cols[4]);
    assert_ne!(soft, "256", "soft limit not raised: {row}");
    assert_eq!(soft, hard, "{row}");
    let _ = child.kill().await;
}
