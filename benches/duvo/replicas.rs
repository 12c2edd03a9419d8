//! Throughput through nginx with 1 and 3 `duvo-mcp http --stateless --redis-url` replicas
//! (one key, the rate budget shared in Redis): stateless 2026-07-28 `getRun` calls from N
//! clients. Needs Debian's `nginx` and `redis-server`; skipped with a note when either is
//! missing.

use crate::procs::{self, Listening};
use crate::throughput::{self, Kind};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

const STATE_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// One measured configuration.
pub struct Row {
    /// Replicas behind nginx.
    pub replicas: usize,
    /// The measured cell.
    pub cell: throughput::Cell,
}

fn tool(name: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn wait_port(port: u16) -> anyhow::Result<()> {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("port {port} never opened")
}

fn spawn_quiet(cmd: &mut Command) -> anyhow::Result<Child> {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("spawning a helper")
}

async fn nginx(bin: &Path, dir: &Path, upstreams: &[&Listening]) -> anyhow::Result<(Child, u16)> {
    let port = free_port()?;
    let servers: String = upstreams
        .iter()
        .map(|s| format!("server {};", s.base.trim_start_matches("http://")))
        .collect();
    let d = dir.display();
    let user = if rustix::process::geteuid().is_root() {
        "user root;"
    } else {
        ""
    };
    let conf = format!(
        "{user} worker_processes 1; daemon off; pid {d}/nginx.pid; error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{ access_log off; client_body_temp_path {d}/b; proxy_temp_path {d}/p; fastcgi_temp_path {d}/f;
  uwsgi_temp_path {d}/u; scgi_temp_path {d}/s;
  upstream duvo_mcp {{ {servers} keepalive 64; }}
  server {{ listen 127.0.0.1:{port};
    location / {{ proxy_pass http://duvo_mcp; proxy_http_version 1.1; proxy_set_header Connection \"\";
      proxy_set_header Host $host; proxy_buffering off; }} }} }}"
    );
    let path = dir.join(format!("nginx-{port}.conf"));
    std::fs::write(&path, conf)?;
    let child = spawn_quiet(
        Command::new(bin)
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&path),
    )?;
    wait_port(port).await?;
    Ok((child, port))
}

/// Measures 1 and 3 replicas with `clients` clients for `window`; `None` (with a note on
/// stderr) when nginx or redis-server is missing.
pub async fn measure(
    emulator_base: &str,
    run_id: &str,
    clients: usize,
    window: Duration,
) -> anyhow::Result<Option<Vec<Row>>> {
    let (Some(nginx_bin), Some(redis_bin)) = (tool("nginx"), tool("redis-server")) else {
        eprintln!(
            "bench: replicas behind nginx SKIPPED (needs nginx and redis-server: apt-get install -y nginx redis-server)"
        );
        return Ok(None);
    };
    let dir = tempfile::tempdir()?;
    let redis_port = free_port()?;
    let _redis = spawn_quiet(
        Command::new(redis_bin)
            .args(["--port", &redis_port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"]),
    )?;
    wait_port(redis_port).await?;
    let redis_url = format!("redis://127.0.0.1:{redis_port}/0");
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let mut cmd = procs::command(&[
            "http",
            "--listen",
            "127.0.0.1:0",
            "--stateless",
            "--redis-url",
            &redis_url,
        ]);
        procs::server_env(&mut cmd, emulator_base);
        cmd.env("DUVO_MCP_STATE_KEY", STATE_KEY);
        replicas.push(procs::spawn_listening(cmd, "listening on ").await?);
    }
    let mut rows = Vec::new();
    for n in [1, 3] {
        let ups: Vec<&Listening> = replicas.iter().take(n).collect();
        let (mut lb, port) = nginx(&nginx_bin, dir.path(), &ups).await?;
        let base = format!("http://127.0.0.1:{port}");
        eprintln!("bench: {n} replica(s) behind nginx, {clients} clients");
        let cell =
            throughput::measure(Kind::McpStateless, None, &base, run_id, clients, window).await?;
        let _ = lb.kill().await;
        rows.push(Row { replicas: n, cell });
    }
    Ok(Some(rows))
}

/// The Markdown table of `rows`.
pub fn table(rows: &[Row]) -> String {
    let mut t = String::from(
        "\n### Stateless replicas behind nginx (Redis-shared budget)\n\n| replicas | clients | calls/s | p50 ms | p99 ms | errors |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for r in rows {
        let c = &r.cell;
        t.push_str(&format!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {} |\n",
            r.replicas,
            c.clients,
            c.rate(),
            c.samples.percentile(50.0) / 1000.0,
            c.samples.percentile(99.0) / 1000.0,
            c.errors
        ));
    }
    t
}
