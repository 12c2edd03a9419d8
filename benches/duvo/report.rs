//! The figures as a Markdown table on stdout and as JSON in `target/bench/results.json`.

use crate::builds::Build;
use crate::context::Row;
use crate::memory::Memory;
use crate::node_client::NodeLatency;
use crate::overhead::Overhead;
use crate::startup::Startup;
use crate::stats::{human_us, round};
use crate::throughput::Cell;
use serde_json::{Value, json};
use std::fmt::Write as _;

/// Everything one bench run measured.
pub struct Report {
    /// Start-up over stdio.
    pub startup: Startup,
    /// Per-call overhead over stdio.
    pub overhead: Overhead,
    /// HTTP throughput cells.
    pub throughput: Vec<Cell>,
    /// `/mcp` latency from the TypeScript SDK.
    pub node: NodeLatency,
    /// RSS figures.
    pub memory: Memory,
    /// Size and idle RSS of the default and the slim build.
    pub builds: Vec<Build>,
    /// `tools/list` sizes.
    pub context: Vec<Row>,
    /// Wall time of the whole run, seconds.
    pub wall_secs: f64,
    /// Length of each throughput window, seconds.
    pub window_secs: f64,
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

impl Report {
    /// The tables, Markdown.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let s = &self.startup.samples;
        let _ = writeln!(
            out,
            "### Start-up (stdio: spawn → first tools/list answer)\n"
        );
        let _ = writeln!(
            out,
            "| runs | median | p90 | max |\n| ---: | ---: | ---: | ---: |"
        );
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |\n",
            s.len(),
            human_us(s.percentile(50.0)),
            human_us(s.percentile(90.0)),
            human_us(s.percentile(100.0))
        );

        let (m, d) = (&self.overhead.mcp, &self.overhead.direct);
        let _ = writeln!(
            out,
            "### Per-call overhead (getRun, sequential, one stdio session)\n"
        );
        let _ = writeln!(
            out,
            "| path | calls | p50 | p99 |\n| --- | ---: | ---: | ---: |"
        );
        let _ = writeln!(
            out,
            "| MCP over stdio → duvo-mcp → emulator | {} | {} | {} |",
            m.len(),
            human_us(m.percentile(50.0)),
            human_us(m.percentile(99.0))
        );
        let _ = writeln!(
            out,
            "| same GET straight to the emulator | {} | {} | {} |",
            d.len(),
            human_us(d.percentile(50.0)),
            human_us(d.percentile(99.0))
        );
        let _ = writeln!(
            out,
            "| **duvo-mcp's cost** | | **{}** | **{}** |\n",
            human_us(m.percentile(50.0) - d.percentile(50.0)),
            human_us(m.percentile(99.0) - d.percentile(99.0))
        );

        out.push_str(&throughput_table(&self.throughput, self.window_secs));

        let mem = &self.memory;
        let per_session = (mem.http_sse_kib.saturating_sub(mem.http_idle_kib)) as f64
            / mem.sessions.max(1) as f64;
        let _ = writeln!(out, "\n### Memory (VmRSS)\n");
        let _ = writeln!(out, "| process | RSS |\n| --- | ---: |");
        let _ = writeln!(
            out,
            "| stdio, idle after tools/list | {} |",
            mib(mem.stdio_idle_kib)
        );
        let _ = writeln!(out, "| http, idle | {} |", mib(mem.http_idle_kib));
        let _ = writeln!(
            out,
            "| http, {} open SSE sessions | {} ({:.1} KiB per session) |",
            mem.sessions,
            mib(mem.http_sse_kib),
            per_session
        );

        out.push_str(&builds_table(&self.builds));

        let _ = writeln!(out, "\n### Context (tools/list size)\n");
        let _ = writeln!(
            out,
            "| --toolsets | tools | bytes | ≈ tokens (bytes/4) |\n| --- | ---: | ---: | ---: |"
        );
        for r in &self.context {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                r.selection,
                r.tools,
                r.bytes,
                r.bytes / 4
            );
        }
        match &self.node {
            NodeLatency::Measured {
                sdk,
                tools_list,
                ping,
            } => {
                let _ = writeln!(
                    out,
                    "\n### /mcp from a Node client (TypeScript SDK {sdk}, one session, sequential)\n"
                );
                let _ = writeln!(
                    out,
                    "| call | n | median | p90 |\n| --- | ---: | ---: | ---: |"
                );
                for (name, s) in [("tools/list", tools_list), ("ping", ping)] {
                    let _ = writeln!(
                        out,
                        "| {name} | {} | {} | {} |",
                        s.len(),
                        human_us(s.percentile(50.0)),
                        human_us(s.percentile(90.0))
                    );
                }
            }
            NodeLatency::Skipped(why) => {
                let _ = writeln!(out, "\n/mcp from a Node client: skipped ({why}).");
            }
        }
        let _ = writeln!(
            out,
            "\nWhole run: {:.0} s (tools/list over stdio, default list: {} bytes on the wire).",
            self.wall_secs, self.startup.tools_list_bytes
        );
        out
    }

    /// The same figures as JSON.
    pub fn json(&self) -> Value {
        let m = &self.overhead.mcp;
        let d = &self.overhead.direct;
        json!({
            "machine": {
                "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
                "os": std::env::consts::OS,
            },
            "startup": {
                "runs": self.startup.samples.len(),
                "median_us": round(self.startup.samples.percentile(50.0)),
                "p90_us": round(self.startup.samples.percentile(90.0)),
                "max_us": round(self.startup.samples.percentile(100.0)),
                "tools_list_bytes": self.startup.tools_list_bytes,
            },
            "overhead": {
                "tool": "getRun",
                "mcp_stdio": m.to_json(),
                "direct_http": d.to_json(),
                "cost_p50_us": round(m.percentile(50.0) - d.percentile(50.0)),
                "cost_p99_us": round(m.percentile(99.0) - d.percentile(99.0)),
            },
            "throughput": self.throughput.iter().map(|c| json!({
                "transport": c.kind.label(),
                "clients": c.clients,
                "calls": c.calls,
                "errors": c.errors,
                "seconds": round(c.secs),
                "calls_per_sec": round(c.rate()),
                "latency": c.samples.to_json(),
                "server_cpu_us_per_call": c.server_cpu_us_per_call().map(round),
                "client_cpu_us_per_call": c.client_cpu_us_per_call().map(round),
            })).collect::<Vec<_>>(),
            "node_client": match &self.node {
                NodeLatency::Measured { sdk, tools_list, ping } => json!({
                    "sdk": sdk,
                    "tools_list": tools_list.to_json(),
                    "ping": ping.to_json(),
                }),
                NodeLatency::Skipped(why) => json!({ "skipped": why }),
            },
            "memory": {
                "stdio_idle_kib": self.memory.stdio_idle_kib,
                "http_idle_kib": self.memory.http_idle_kib,
                "http_with_sse_sessions_kib": self.memory.http_sse_kib,
                "sse_sessions": self.memory.sessions,
            },
            "builds": self.builds.iter().map(|b| match &b.figures {
                Ok(f) => json!({
                    "build": b.name, "binary": b.path.display().to_string(),
                    "bytes": f.bytes, "stdio_idle_kib": f.idle_rss_kib,
                }),
                Err(why) => json!({ "build": b.name, "skipped": why }),
            }).collect::<Vec<_>>(),
            "context": self.context.iter().map(|r| json!({
                "toolsets": r.selection, "tools": r.tools, "bytes": r.bytes,
            })).collect::<Vec<_>>(),
            "wall_seconds": round(self.wall_secs),
        })
    }
}

/// The builds table: binary size and idle RSS of the default and the slim build.
pub fn builds_table(builds: &[Build]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n### Builds (release binary, stdio idle after initialize)\n"
    );
    let _ = writeln!(out, "| build | binary | RSS |\n| --- | ---: | ---: |");
    for b in builds {
        match &b.figures {
            Ok(f) => {
                let _ = writeln!(
                    out,
                    "| {} | {:.1} MB | {} |",
                    b.name,
                    f.bytes as f64 / 1e6,
                    mib(f.idle_rss_kib)
                );
            }
            Err(why) => {
                let _ = writeln!(out, "| {} | — | — ({why}) |", b.name);
            }
        }
    }
    out
}

/// The HTTP throughput table, with the server's CPU time per call (what the transport costs the
/// server, independent of how heavy the client is).
pub fn throughput_table(cells: &[Cell], window_secs: f64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### HTTP throughput (getRun, {window_secs:.0} s per cell, every client its own session)\n"
    );
    let _ = writeln!(
        out,
        "| transport | clients | calls/s | p50 | p99 | server CPU per call | client CPU per call | errors |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for c in cells {
        let us = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), |us| format!("{us:.0} µs"));
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {} | {} | {} | {} | {} |",
            c.kind.label(),
            c.clients,
            c.rate(),
            human_us(c.samples.percentile(50.0)),
            human_us(c.samples.percentile(99.0)),
            us(c.server_cpu_us_per_call()),
            us(c.client_cpu_us_per_call()),
            c.errors
        );
    }
    out
}
