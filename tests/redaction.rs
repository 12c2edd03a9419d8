//! Upstream text never carries a secret out: an upstream that echoes the `Authorization` header
//! in its error `message`, `details` and bodies, and a base URL with `user:password@`, leave no
//! key or password in tool results or in the debug log (stdio, `DUVO_MCP_LOG=debug`).

// Test helpers outside #[test] fns may unwrap/expect/panic too (the crate denies them in src).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::Json;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use common::*;
use rmcp::ServiceExt;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use serde_json::json;
use std::process::Stdio;
use tokio::io::AsyncReadExt;

const KEY: &str = "dv_echoed_secret_key_0123456789";
/// The Job the echoing upstream answers 200 for.
const OK_RUN: &str = "00000000-0000-4000-8000-000000000001";

/// An upstream that echoes what it was sent: 400 with the Authorization header in `message`
/// and `details`, and 200 with it in the body for Job `OK_RUN`.
async fn echo(headers: HeaderMap, uri: Uri) -> axum::response::Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if uri.path().ends_with(OK_RUN) {
        return Json(json!({"run": {"id": "ok", "title": format!("sent {auth}")}})).into_response();
    }
    (
        StatusCode::BAD_REQUEST,
        Json(json!({
            "error": "bad_request",
            "message": format!("invalid credentials: {auth}"),
            "validationErrors": [{"field": "authorization", "message": format!("{auth} is not valid")}],
            "echo": {"headers": auth},
        })),
    )
        .into_response()
}

/// `duvo-mcp stdio` against `base_url` with `KEY`, debug logging, and its stderr collected.
async fn spawn_logged(
    base_url: &str,
) -> (
    rmcp::service::RunningService<rmcp::RoleClient, ()>,
    tokio::task::JoinHandle<String>,
) {
    let base = base_url.to_owned();
    let cmd = tokio::process::Command::new(binary()).configure(move |c| {
        c.arg("stdio")
            .env_remove("DUVO_TEAM_ID")
            .env("DUVO_API_BASE_URL", &base)
            .env("DUVO_API_KEY", KEY)
            .env("DUVO_MCP_LOG", "debug");
    });
    let (transport, stderr) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn duvo-mcp");
    let mut stderr = stderr.expect("stderr piped");
    let log = tokio::spawn(async move {
        let mut out = String::new();
        let _ = stderr.read_to_string(&mut out).await;
        out
    });
    let client = ().serve(transport).await.expect("handshake");
    (client, log)
}

#[tokio::test]
async fn an_echoing_upstream_leaves_no_key_in_results_or_logs() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let app = axum::Router::new().fallback(echo);
        axum::serve(listener, app).await.ok();
    });
    let (client, log) = spawn_logged(&format!("http://{addr}")).await;

    let failed = call_err(
        &client,
        "getRun",
        json!({"run_id": "6f1c0a57-3c1e-4c9a-9f0e-1a2b3c4d5e6f"}),
    )
    .await;
    assert!(failed.contains("invalid credentials"), "{failed}");
    assert!(failed.contains("[redacted]"), "{failed}");
    assert!(
        !failed.contains(KEY),
        "the key is in the tool result: {failed}"
    );

    let ok = call(&client, "getRun", json!({"run_id": OK_RUN})).await;
    let shown = format!("{} {:?}", text(&ok), ok.structured_content);
    assert!(shown.contains("sent Bearer [redacted]"), "{shown}");
    assert!(!shown.contains(KEY), "the key is in a result: {shown}");

    client.cancel().await.ok();
    let log = log.await.expect("stderr");
    assert!(
        log.contains("tool call failed"),
        "debug logging was on: {log}"
    );
    assert!(!log.contains(KEY), "the key is in the log:\n{log}");
    server.abort();
}

#[tokio::test]
async fn a_base_url_password_is_never_printed() {
    // Port 1 on loopback refuses connections: the call fails with "could not reach Duvo at …".
    let (client, log) = spawn_logged("http://duvo-user:hunter2-secret@127.0.0.1:1/").await;
    let failed = call_err(
        &client,
        "getRun",
        json!({"run_id": "6f1c0a57-3c1e-4c9a-9f0e-1a2b3c4d5e6f"}),
    )
    .await;
    assert!(
        failed.contains("could not reach Duvo at http://127.0.0.1:1/"),
        "{failed}"
    );
    assert!(
        !failed.contains("hunter2"),
        "the password is in the result: {failed}"
    );
    assert!(
        !failed.contains("duvo-user"),
        "the user name is in the result: {failed}"
    );
    client.cancel().await.ok();
    let log = log.await.expect("stderr");
    assert!(
        !log.contains("hunter2"),
        "the password is in the log:\n{log}"
    );
}
