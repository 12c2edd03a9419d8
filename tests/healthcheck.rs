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

/// A one-shot HTTP server on loopback that answers 200 and reports the `Host` it was sent.
async fn host_recorder() -> (String, tokio::task::JoinHandle<Option<String>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/healthz", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.ok()?;
        let mut buf = vec![0u8; 4096];
        let mut got = Vec::new();
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = sock.read(&mut buf).await.ok()?;
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        let head = String::from_utf8_lossy(&got).into_owned();
        let _ = sock
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 15\r\nconnection: close\r\n\r\n{\"status\":\"ok\"}")
            .await;
        head.lines()
            .find_map(|l| {
                l.strip_prefix("host: ")
                    .or_else(|| l.strip_prefix("Host: "))
            })
            .map(str::to_owned)
    });
    (url, task)
}

/// `/healthz` itself answers any Host (issue 9: Kubernetes probes), but a proxy in front of the
/// container may still route by name: the probe sends the first allowed host, or `--host`.
#[tokio::test]
async fn host_follows_the_allowed_hosts_setting() {
    // The server answers whatever the Host.
    let server = spawn(&["--demo", "--allowed-hosts", "mcp.example.com"], &[]).await;
    let ok = probe(&["--url", &server.url("/healthz")], &[]).await;
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    // The image passes the server's settings in the environment; the probe sends the first one.
    let (url, seen) = host_recorder().await;
    let ok = probe(
        &["--url", &url],
        &[("DUVO_MCP_ALLOWED_HOSTS", "mcp.example.com, *.internal")],
    )
    .await;
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(
        seen.await.expect("join").as_deref(),
        Some("mcp.example.com")
    );

    let (url, seen) = host_recorder().await;
    let explicit = probe(&["--url", &url, "--host", "other.example.com"], &[]).await;
    assert!(explicit.status.success());
    assert_eq!(
        seen.await.expect("join").as_deref(),
        Some("other.example.com")
    );
}
