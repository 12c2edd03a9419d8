//! Child processes of the bench: the emulator, `duvo-mcp http`, `duvo-mcp stdio`; their RSS.

use anyhow::{Context, bail};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The release binary cargo built for this bench.
pub const BINARY: &str = env!("CARGO_BIN_EXE_duvo-mcp");
/// How long a child may take to say where it listens.
const START_WAIT: Duration = Duration::from_secs(30);
/// Environment that could change what the children do, cleared before each spawn.
const CLEARED: &[&str] = &[
    "DUVO_API_KEY",
    "DUVO_API_BASE_URL",
    "DUVO_TEAM_ID",
    "DUVO_TOOLSETS",
    "DUVO_TOOLS",
    "DUVO_EXCLUDE_TOOLS",
    "DUVO_READ_ONLY",
    "DUVO_MCP_LISTEN",
    "DUVO_MCP_ALLOWED_HOSTS",
    "DUVO_MCP_ALLOWED_ORIGINS",
    "DUVO_MCP_AUTH_TOKEN",
    "DUVO_MCP_PASSTHROUGH_AUTH",
    "DUVO_MCP_MAX_SESSIONS",
    "DUVO_MCP_MAX_STREAMS",
    "DUVO_MCP_MAX_BODY_BYTES",
    "DUVO_MCP_MAX_SESSIONS_PER_CALLER",
    "DUVO_MCP_MAX_CONNECTIONS",
    "DUVO_MCP_HEADER_READ_TIMEOUT",
    "DUVO_MCP_BODY_READ_TIMEOUT",
];

/// A child that listens on a loopback URL; killed on drop.
pub struct Listening {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Listening {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }
}

/// A `duvo-mcp` command with a clean environment and quiet logs.
pub fn command(args: &[&str]) -> Command {
    command_of(std::path::Path::new(BINARY), args)
}

/// [`command`] for another build of `duvo-mcp` (e.g. the slim one).
pub fn command_of(binary: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(binary);
    cmd.args(args);
    for k in CLEARED {
        cmd.env_remove(k);
    }
    cmd.env("DUVO_MCP_LOG", "warn").kill_on_drop(true);
    cmd
}

/// Spawns `cmd` and waits for the stderr line containing `marker` followed by a URL.
pub async fn spawn_listening(mut cmd: Command, marker: &str) -> anyhow::Result<Listening> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().context("spawning duvo-mcp")?;
    let stderr = child.stderr.take().context("stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let found = tokio::time::timeout(START_WAIT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.split(marker).nth(1) {
                let url = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                return Some(url);
            }
        }
        None
    })
    .await
    .ok()
    .flatten();
    let Some(base) = found else {
        bail!("duvo-mcp did not report its address within {START_WAIT:?}");
    };
    // Keep draining stderr so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(Listening { child, base })
}

/// `duvo-mcp emulator` on a random loopback port, with the rate limit out of the way.
pub async fn emulator() -> anyhow::Result<Listening> {
    let cmd = command(&[
        "emulator",
        "--listen",
        "127.0.0.1:0",
        "--rate-limit",
        "1000000000",
        "--time-scale",
        "0.01",
    ]);
    spawn_listening(cmd, "listening on ").await
}

/// `duvo-mcp http` on a random loopback port against `emulator_base`, with `extra` flags.
pub async fn http_server(emulator_base: &str, extra: &[&str]) -> anyhow::Result<Listening> {
    let mut args = vec!["http", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let mut cmd = command(&args);
    server_env(&mut cmd, emulator_base);
    spawn_listening(cmd, "listening on ").await
}

/// Points a server command at the emulator with the demo key and team.
pub fn server_env(cmd: &mut Command, emulator_base: &str) {
    cmd.env("DUVO_API_KEY", duvo_emulator::DEMO_API_KEY)
        .env("DUVO_API_BASE_URL", emulator_base)
        .env("DUVO_TEAM_ID", duvo_emulator::DEMO_TEAM_ID);
}

/// Resident set size of `pid` in KiB (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS line")
}

/// CPU time `pid` has used so far (user + system, all its threads), in seconds: fields 14 and
/// 15 of `/proc/<pid>/stat`, in clock ticks (100 a second on Linux).
pub fn cpu_secs(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("no ')' in stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(i)
            .context("short stat line")?
            .parse::<u64>()
            .context("stat field")? as f64)
    };
    // After ')': field 3 is index 0, so utime (14) is 11 and stime (15) is 12.
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

/// The id of a finished Job in the emulator's seed data.
pub async fn seeded_run_id(http: &reqwest::Client, emulator_base: &str) -> anyhow::Result<String> {
    let url = format!(
        "{emulator_base}/v2/teams/{}/runs?limit=5",
        duvo_emulator::DEMO_TEAM_ID
    );
    let body: serde_json::Value = http
        .get(url)
        .bearer_auth(duvo_emulator::DEMO_API_KEY)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    body["data"]
        .as_array()
        .and_then(|runs| runs.first())
        .and_then(|r| r["id"].as_str())
        .map(str::to_owned)
        .context("the emulator lists no Jobs")
}
