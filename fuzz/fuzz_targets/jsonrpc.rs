//! JSON-RPC frames → rmcp message parsing → our line transport → the real dispatcher, offline.
//!
//! The input is split into lines. Each line goes through rmcp's parser and our malformed-frame
//! answers; then all of them are fed to one `duvo-mcp` session (`DuvoServer` over
//! `transport::lines::LineTransport`, in memory) whose Duvo API is the in-process emulator on
//! loopback. Invariants: no panic, every output line is JSON-RPC 2.0, every request with a usable
//! id gets exactly one response with that id, and the session answers within a bound.
#![no_main]

use duvo_emulator::{self as emulator, EmulatorConfig, RunningEmulator};
use duvo_mcp::app::{App, AppSettings, Upstream};
use duvo_mcp::client::{ApiKey, ClientConfig};
use duvo_mcp::server::DuvoServer;
use duvo_mcp::transport::lines::LineTransport;
use duvo_mcp::transport::malformed::error_for_line;
use libfuzzer_sys::fuzz_target;
use rmcp::ServiceExt;
use rmcp::model::ClientJsonRpcMessage;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

struct World {
    rt: tokio::runtime::Runtime,
    server: DuvoServer,
    _emulator: RunningEmulator,
}

static WORLD: LazyLock<World> = LazyLock::new(|| {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let (server, emu) = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let config = EmulatorConfig {
            time_scale: 0.001,
            rate_limit_per_minute: u32::MAX,
            ..EmulatorConfig::default()
        };
        let emu = emulator::start(listener, config)
            .await
            .unwrap_or_else(|e| panic!("emulator: {e}"));
        let base = url::Url::parse(emu.base_url()).unwrap_or_else(|e| panic!("url: {e}"));
        let upstream = Upstream::Api {
            client: Box::new(ClientConfig::new(
                base,
                Some(ApiKey::new(emu.demo_key())),
            )),
            team_id: Some(emulator::DEMO_TEAM_ID.to_owned()),
        };
        let app = App::build(AppSettings::new(upstream))
            .await
            .unwrap_or_else(|e| panic!("app: {e}"));
        (app.server(), emu)
    });
    World {
        rt,
        server,
        _emulator: emu,
    }
});

/// The id a response must echo: a JSON object with a string or integer `id` and a `method`.
fn request_id(line: &[u8]) -> Option<String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line);
    let v: Value = serde_json::from_slice(line).ok()?;
    v.get("method")?;
    match v.get("id")? {
        id @ (Value::String(_) | Value::Number(_)) if id.is_string() || id.is_i64() => {
            Some(id.to_string())
        }
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let lines: Vec<&[u8]> = data.split(|b| *b == b'\n').take(16).collect();
    let mut expected: HashMap<String, usize> = HashMap::new();
    for line in &lines {
        // rmcp's parser must not panic on anything.
        let _ = serde_json::from_slice::<ClientJsonRpcMessage>(line);
        if let Some(answer) = error_for_line(line) {
            assert_eq!(answer["jsonrpc"], "2.0");
            assert!(answer["error"]["code"].is_i64(), "{answer}");
            assert!(answer.get("id").is_some(), "{answer}");
        }
        if let Some(id) = request_id(line) {
            *expected.entry(id).or_default() += 1;
        }
    }
    // Duplicate ids make "exactly one answer each" ambiguous; skip the session for those.
    if expected.values().any(|n| *n > 1) || expected.keys().any(|id| id.contains("init")) {
        return;
    }
    let world = &*WORLD;
    world.rt.block_on(async {
        let (mut input, server_read) = tokio::io::duplex(1 << 20);
        let (server_write, output) = tokio::io::duplex(1 << 20);
        let server = world.server.clone();
        let session = tokio::spawn(async move {
            if let Ok(running) = server.serve(LineTransport::new(server_read, server_write)).await {
                let _ = running.waiting().await;
            }
        });
        let init = br#"{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"fuzz","version":"0"}}}
{"jsonrpc":"2.0","method":"notifications/initialized"}
"#;
        let mut all = init.to_vec();
        for line in &lines {
            all.extend_from_slice(line);
            all.push(b'\n');
        }
        let writer = tokio::spawn(async move {
            let _ = input.write_all(&all).await;
            let _ = input.flush().await;
            input
        });
        let mut out = BufReader::new(output).lines();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let done = tokio::time::timeout(Duration::from_secs(30), async {
            while expected.keys().any(|id| !seen.contains_key(id)) {
                let Ok(Some(line)) = out.next_line().await else {
                    break;
                };
                let v: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("non-JSON output ({e}): {line}"));
                assert_eq!(v["jsonrpc"], "2.0", "{line}");
                if v.get("result").is_some() || v.get("error").is_some() {
                    let id = v.get("id").unwrap_or_else(|| panic!("no id: {line}"));
                    *seen.entry(id.to_string()).or_default() += 1;
                }
            }
        })
        .await;
        assert!(done.is_ok(), "no answer within 30 s to {:?}", String::from_utf8_lossy(data));
        for id in expected.keys() {
            assert_eq!(seen.get(id), Some(&1), "answers to id {id}");
        }
        // Close the input and let the session end by itself (EOF), draining its output.
        drop(writer.await);
        let bound = Duration::from_secs(10);
        let _ = tokio::time::timeout(bound, async {
            while let Ok(Some(_)) = out.next_line().await {}
        })
        .await;
        if tokio::time::timeout(bound, session).await.is_err() {
            panic!("the session did not end within {bound:?} after EOF");
        }
    });
});
