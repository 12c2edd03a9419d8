//! `duvo-mcp healthcheck` (the container image's HEALTHCHECK): exit 0 when `duvo-mcp http`
//! answers /healthz, non-zero with the reason otherwise, and the `Host` it sends follows
//! DUVO_MCP_ALLOWED_HOSTS so a server restricted to a public name stays healthy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_support;

use http_support::*;
use std::process::Output;

async fn probe(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_duvo-mcp"));
    cmd.arg("healthcheck")
        .args(args)
        .env_remove("DUVO_MCP_ALLOWED_HOSTS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    tokio::time::timeout(WAIT, cmd.output())
        .await
        .expect("healthcheck exits")
        .expect("run healthcheck")
}

#[tokio::test]
async fn healthy_server_passes_and_a_dead_one_fails() {
    let mut server = spawn(&["--demo"], &[]).await;
    let url = server.url("/healthz");
    let ok = probe(&["--url", &url], &[]).await;
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(ok.stdout.is_empty());

    server.terminate();
    server.wait_exit(WAIT).await;
    let dead = probe(&["--url", &url], &[]).await;
    assert!(!dead.status.success());
    let err = String::from_utf8_lossy(&dead.stderr);
    assert!(err.contains("not answering") && err.contains(&url), "{err}");
}

#[tokio::test]
async fn host_follows_the_allowed_hosts_setting() {
    let server = spawn(&["--demo", "--allowed-hosts", "mcp.example.com"], &[]).await;
    let url = server.url("/healthz");
    // The URL's own Host (127.0.0.1:port) is not allowed there: 403, reported.
    let refused = probe(&["--url", &url], &[]).await;
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("403"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    // The image passes the server's settings in the environment; the probe reads them.
    let ok = probe(
        &["--url", &url],
        &[("DUVO_MCP_ALLOWED_HOSTS", "*.internal, mcp.example.com")],
    )
    .await;
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let explicit = probe(&["--url", &url, "--host", "mcp.example.com"], &[]).await;
    assert!(explicit.status.success());
}
