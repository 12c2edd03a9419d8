//! The scale test (issue 14): the emulator at a small per-window limit, Redis, three
//! `duvo-mcp http --stateless --redis-url …` replicas with one key behind nginx round-robin.
//! Stateless clients make 1.5× the budget in calls while one replica gets SIGTERM half way:
//! every call succeeds (clients retry connection failures and 502/503 on another replica, as a
//! balancer would), the emulator answers 429 to at most 1 % of requests, an input-required
//! retry sealed by one replica is accepted by another, and a repeated `runAssignment` through
//! another replica returns the first Job. A second run stops Redis half way: calls still
//! succeed and each replica logs the fallback once.
//!
//! Loopback only; needs Debian's `nginx` and `redis-server` (`.ci/run` installs them). Without
//! them the test says so on stderr and does nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_support;

use duvo_emulator::{self as emulator, EmulatorConfig, RunningEmulator};
use http_support::{Server, messages, spawn};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// Requests per window at the emulator.
const LIMIT: u32 = 40;
/// Seconds per emulator window (shortened so the test waits seconds, not a minute).
const WINDOW_SECS: u32 = 8;
/// Calls in the load phase: 1.5 × the budget.
const CALLS: usize = (LIMIT as usize) * 3 / 2;
/// Concurrent clients.
const WORKERS: usize = 6;
const STATE_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const KEY: &str = "dv_scale_test_key_0001";

fn tool(name: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

struct Redis {
    child: Child,
    port: u16,
}

async fn start_redis(bin: &Path) -> Redis {
    let port = free_port();
    let child = Command::new(bin)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args([
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn redis-server");
    wait_port(port).await;
    Redis { child, port }
}

async fn wait_port(port: u16) {
    let until = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < until, "port {port} never opened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Nginx {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

async fn start_nginx(bin: &Path, upstreams: &[&Server]) -> Nginx {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let servers: String = upstreams
        .iter()
        .map(|s| {
            format!(
                "    server {} max_fails=1 fail_timeout=30s;\n",
                s.base.trim_start_matches("http://")
            )
        })
        .collect();
    let d = dir.path().display();
    // Running as root, nginx's workers would switch to `nobody`, who cannot read the tempdir.
    let user = if rustix::process::geteuid().is_root() {
        "user root;"
    } else {
        ""
    };
    let conf = format!(
        "{user}
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 512; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  upstream duvo_mcp {{
{servers}    keepalive 16;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://duvo_mcp;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_set_header Host $host;
      proxy_buffering off;
      proxy_read_timeout 120s;
      proxy_next_upstream error timeout;
    }}
  }}
}}
"
    );
    let path = dir.path().join("nginx.conf");
    std::fs::write(&path, conf).expect("write nginx.conf");
    let child = Command::new(bin)
        .arg("-p")
        .arg(dir.path())
        .arg("-e")
        .arg(dir.path().join("error.log"))
        .arg("-c")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn nginx");
    wait_port(port).await;
    Nginx {
        child,
        port,
        _dir: dir,
    }
}

async fn replica(emu: &RunningEmulator, redis_port: u16) -> Server {
    let redis = format!("redis://127.0.0.1:{redis_port}/0");
    spawn(
        &[
            "--stateless",
            "--redis-url",
            &redis,
            "--base-url",
            emu.base_url(),
            "--shutdown-timeout",
            "5",
        ],
        &[
            ("DUVO_API_KEY", KEY),
            ("DUVO_MCP_STATE_KEY", STATE_KEY),
            // The load is the point: keep the log to what the test reads.
            ("DUVO_MCP_LOG", "info"),
        ],
    )
    .await
}

/// A 2026-07-28 stateless request body (with elicitation declared, for input-required).
fn request(id: usize, method: &str, params: Value) -> Value {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {"form": {}}},
        "io.modelcontextprotocol/clientInfo": {"name": "duvo-mcp-scale", "version": "1"},
    });
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// Outcome of one tool call with retries.
struct Called {
    result: Value,
    retries: usize,
}

/// Calls a tool at `url`, retrying connection failures and 502/503 (a replica going away) like
/// a balancer would, up to 20 times.
async fn call(http: &reqwest::Client, urls: &[String], name: &str, args: Value) -> Called {
    let body = request(1, "tools/call", json!({"name": name, "arguments": args}));
    call_raw(http, urls, name, body).await
}

async fn call_raw(http: &reqwest::Client, urls: &[String], name: &str, body: Value) -> Called {
    let mut retries = 0;
    loop {
        let url = &urls[retries % urls.len()];
        let sent = http
            .post(url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", name)
            .json(&body)
            .send()
            .await;
        let failed = match sent {
            Ok(resp) if resp.status() == StatusCode::OK => {
                let ct = resp
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let text = resp.text().await.unwrap_or_default();
                let msgs = messages(&ct, &text);
                if let Some(err) = msgs.iter().find_map(|m| m.get("error")) {
                    panic!("{name}: JSON-RPC error {err}");
                }
                match msgs.into_iter().find_map(|m| m.get("result").cloned()) {
                    Some(result) => return Called { result, retries },
                    None => format!("no result in {text}"),
                }
            }
            Ok(resp)
                if matches!(
                    resp.status(),
                    StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE
                ) =>
            {
                format!("HTTP {}", resp.status())
            }
            Ok(resp) => {
                let status = resp.status();
                panic!(
                    "{name}: HTTP {status}: {}",
                    resp.text().await.unwrap_or_default()
                );
            }
            Err(e) => format!("{e}"),
        };
        retries += 1;
        assert!(
            retries <= 20,
            "{name}: still failing after 20 retries: {failed}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn structured(r: &Value) -> &Value {
    assert_ne!(r["isError"], true, "tool error: {r}");
    &r["structuredContent"]
}

/// What the load phase saw.
struct Load {
    calls: usize,
    retries: usize,
    requests: usize,
    too_many: usize,
}

/// `CALLS` listAgents calls through nginx from `WORKERS` clients; `halfway` runs once when half
/// are done.
async fn load<F: FnOnce() + Send + 'static>(emu: &RunningEmulator, lb: &str, halfway: F) -> Load {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let base = emu.base_url().to_owned();
    http.delete(format!("{base}/_emulator/requests"))
        .send()
        .await
        .expect("clear log");
    let next = Arc::new(AtomicUsize::new(0));
    let retries = Arc::new(AtomicUsize::new(0));
    let halfway = Arc::new(std::sync::Mutex::new(Some(halfway)));
    let urls = vec![format!("{lb}/mcp")];
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let (http, next, retries, halfway, urls) = (
            http.clone(),
            next.clone(),
            retries.clone(),
            halfway.clone(),
            urls.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut ok = 0;
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= CALLS {
                    return ok;
                }
                if i == CALLS / 2
                    && let Some(f) = halfway.lock().expect("lock").take()
                {
                    f();
                }
                let c = call(&http, &urls, "listAgents", json!({"limit": 5})).await;
                structured(&c.result);
                retries.fetch_add(c.retries, Ordering::SeqCst);
                ok += 1;
            }
        }));
    }
    let mut calls = 0;
    for w in workers {
        calls += w.await.expect("worker");
    }
    let log: Vec<Value> = http
        .get(format!("{base}/_emulator/requests"))
        .send()
        .await
        .expect("log")
        .json()
        .await
        .expect("log json");
    let requests: Vec<&Value> = log
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.starts_with("/v2/")))
        .collect();
    Load {
        calls,
        retries: retries.load(Ordering::SeqCst),
        requests: requests.len(),
        too_many: requests.iter().filter(|r| r["status"] == 429).count(),
    }
}

async fn emulator() -> RunningEmulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    emulator::start(
        listener,
        EmulatorConfig {
            rate_limit_per_minute: LIMIT,
            rate_window_secs: WINDOW_SECS,
            time_scale: 0.02,
            ..EmulatorConfig::default()
        },
    )
    .await
    .expect("emulator")
}

fn kill_term(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_share_one_budget_behind_nginx() {
    let (Some(nginx_bin), Some(redis_bin)) = (tool("nginx"), tool("redis-server")) else {
        eprintln!(
            "SKIPPED: the scale test needs nginx and redis-server (apt-get install -y nginx redis-server; .ci/run does it)"
        );
        return;
    };
    let emu = emulator().await;
    let redis = start_redis(&redis_bin).await;
    let (a, b, c) = (
        replica(&emu, redis.port).await,
        replica(&emu, redis.port).await,
        replica(&emu, redis.port).await,
    );
    let mut nginx = start_nginx(&nginx_bin, &[&a, &b, &c]).await;
    let lb = format!("http://127.0.0.1:{}", nginx.port);

    // A legacy session is refused with an error naming the mode.
    let refused = reqwest::Client::new()
        .post(format!("{lb}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .json(&http_support::initialize_body())
        .send()
        .await
        .expect("initialize");
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let body: Value = refused.json().await.expect("json error");
    assert_eq!(body["id"], 0, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("--stateless")),
        "{body}"
    );

    let started = Instant::now();
    let victim = a.pid();
    let load1 = load(&emu, &lb, move || kill_term(victim)).await;
    eprintln!(
        "scale run 1 (Redis up, replica SIGTERM half way): {} calls ok, {} client retries, {} upstream requests, {} answered 429, {:.1} s",
        load1.calls,
        load1.retries,
        load1.requests,
        load1.too_many,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(load1.calls, CALLS, "every call succeeds");
    assert!(
        load1.requests >= CALLS,
        "each call reached the emulator: {}",
        load1.requests
    );
    assert!(
        load1.too_many * 100 <= load1.requests,
        "at most 1 % 429s: {} of {}",
        load1.too_many,
        load1.requests
    );

    // Input-required: sealed by replica b, retried on replica c.
    let http = reqwest::Client::new();
    let (bu, cu) = (vec![b.url("/mcp")], vec![c.url("/mcp")]);
    let created = call(
        &http,
        &bu,
        "createAgent",
        json!({"name": "Payer", "build": {"name": "v1", "config": {"version": "v2", "data": {
            "models": {"agent": {"model": "claude-sonnet-4-6"},
                       "browsing": {"provider": "anthropic", "model": "claude-sonnet-4-5"}},
            "input": "Pay supplier invoices."}}}}),
    )
    .await;
    let agent = structured(&created.result)["agent"]["id"]
        .as_str()
        .expect("agent id")
        .to_owned();
    let asked = call(
        &http,
        &bu,
        "runAssignment",
        json!({"agent_id": agent, "message": "Pay [approval]", "wait_seconds": 30}),
    )
    .await
    .result;
    assert_eq!(asked["resultType"], "input_required", "{asked}");
    let state = asked["requestState"].as_str().expect("requestState");
    let retry = request(
        2,
        "tools/call",
        json!({"name": "runAssignment",
               "arguments": {"agent_id": agent, "message": "Pay [approval]", "wait_seconds": 30},
               "inputResponses": {"human_request": {"action": "accept", "content": {"approve": true}}},
               "requestState": state}),
    );
    let resumed = call_raw(&http, &cu, "runAssignment", retry).await.result;
    assert_ne!(
        resumed["resultType"], "input_required",
        "replica c opened b's state: {resumed}"
    );
    assert_eq!(structured(&resumed)["status"], "completed", "{resumed}");

    // The same runAssignment through another replica returns the first Job.
    let args = json!({"agent_id": agent, "message": "Summarise the week", "wait_seconds": 0});
    let first = call(&http, &bu, "runAssignment", args.clone()).await.result;
    let again = call(&http, &cu, "runAssignment", args).await.result;
    let first_id = structured(&first)["run_id"].clone();
    assert!(first_id.is_string(), "{first}");
    assert_eq!(
        structured(&again)["run_id"],
        first_id,
        "second replica returned the first Job: {again}"
    );

    // Every replica that served calls exposes Prometheus-format metrics that count them.
    let mut served = 0.0;
    for s in [&b, &c] {
        let text = http
            .get(s.url("/metrics"))
            .send()
            .await
            .expect("scrape")
            .text()
            .await
            .expect("metrics body");
        let parsed = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
            .expect("Prometheus text format");
        served += parsed
            .samples
            .iter()
            .filter(|x| x.metric == "duvo_mcp_tool_calls_total")
            .map(|x| match x.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
                _ => 0.0,
            })
            .sum::<f64>();
    }
    assert!(served >= 1.0, "tool calls counted in /metrics: {served}");
    // Shared state up: ready.
    let ready = http.get(b.url("/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), StatusCode::OK);

    // Run 2: Redis stops half way; calls still succeed and the fallback is logged once.
    let pid = redis.child.id().expect("redis pid");
    let started = Instant::now();
    let load2 = load(&emu, &lb, move || kill_term(pid)).await;
    eprintln!(
        "scale run 2 (Redis stopped half way): {} calls ok, {} client retries, {} upstream requests, {} answered 429, {:.1} s",
        load2.calls,
        load2.retries,
        load2.requests,
        load2.too_many,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(load2.calls, CALLS, "every call succeeds without Redis");
    for s in [&b, &c] {
        let log = s.log();
        let n = log.matches("Redis unavailable").count();
        assert_eq!(n, 1, "fallback logged once per replica:\n{log}");
        // And /readyz says so: Redis is configured but unreachable.
        let ready = http.get(s.url("/readyz")).send().await.expect("readyz");
        assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: Value = ready.json().await.expect("readyz json");
        assert!(
            body["checks"]["redis"]
                .as_str()
                .is_some_and(|w| w.starts_with("down")),
            "{body}"
        );
    }
    let _ = nginx.child.kill().await;
    drop((b, c, a));
    emu.shutdown().await;
}

#[tokio::test]
async fn stateless_mode_serves_2026_requests_and_refuses_legacy_sessions_and_sse() {
    let s = spawn(
        &["--demo", "--stateless"],
        &[("DUVO_MCP_STATE_KEY", STATE_KEY)],
    )
    .await;
    let modern = http_support::Mcp::modern(&s.url("/mcp"), http_support::headers(&[]));
    assert!(modern.tool_names().await.contains(&"listAgents".to_owned()));
    let refused = http_support::post(
        &s.url("/mcp"),
        &http_support::headers(&[]),
        &http_support::initialize_body(),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    let err = &refused.response()["error"];
    assert_eq!(refused.response()["id"], 0);
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("--stateless") && m.contains("2026-07-28")),
        "{err}"
    );
    let sse = reqwest::Client::new()
        .get(s.url("/sse"))
        .send()
        .await
        .expect("GET /sse");
    assert_eq!(sse.status(), StatusCode::NOT_FOUND, "/sse is off");
}

#[tokio::test]
async fn redis_and_stateless_require_the_state_key() {
    for args in [
        vec!["--demo", "--stateless"],
        vec!["--demo", "--redis-url", "redis://127.0.0.1:1/0"],
    ] {
        let (code, log) = http_support::run_to_exit(&args, &[]).await;
        assert_eq!(code, Some(2), "{log}");
        assert!(
            log.contains("DUVO_MCP_STATE_KEY is required") && log.contains("openssl rand -hex 32"),
            "{log}"
        );
    }
    let (code, log) =
        http_support::run_to_exit(&["--demo"], &[("DUVO_MCP_STATE_KEY", "too short")]).await;
    assert_eq!(code, Some(2), "{log}");
    assert!(log.contains("32 random bytes"), "{log}");
}
