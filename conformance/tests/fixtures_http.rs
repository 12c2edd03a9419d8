//! The conformance fixture server over duvo-mcp's HTTP transport: progress notifications reach
//! the client over `/mcp` (legacy session and stateless 2026-07-28) and `/sse`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../../tests/http_support/mod.rs"]
mod http_support;

use http_support::*;
use serde_json::json;

#[tokio::test]
async fn progress_reaches_the_client_on_every_transport() {
    let server = spawn(&["--demo"], &[]).await;
    let url = server.url("/mcp");
    let args = json!({"name": "test_tool_with_progress", "arguments": {}});

    let legacy = Mcp::legacy(&url, headers(&[])).await.expect("session");
    let r = legacy.request("tools/call", args.clone(), true).await;
    assert_eq!(
        r.progress(),
        vec![0.0, 50.0, 100.0],
        "legacy session: {}",
        r.body
    );
    assert_eq!(result_text(r.result()), "Progress test completed");

    let modern = Mcp::modern(&url, headers(&[]));
    let r = modern.request("tools/call", args.clone(), true).await;
    assert_eq!(
        r.progress(),
        vec![0.0, 50.0, 100.0],
        "stateless: {}",
        r.body
    );
    assert_eq!(r.result()["resultType"], "complete");

    let mut sse = sse_connect(&server.base, headers(&[])).await.expect("sse");
    sse.initialize().await;
    let msgs = sse.request("tools/call", args, true).await;
    assert_eq!(progress_of(&msgs), vec![0.0, 50.0, 100.0], "sse: {msgs:?}");

    // Without a progress token there are no progress notifications.
    let r = modern
        .request(
            "tools/call",
            json!({"name": "test_tool_with_progress", "arguments": {}}),
            false,
        )
        .await;
    assert!(r.progress().is_empty());
}
