//! `cargo bench --bench duvo`: figures for start-up, per-call overhead, HTTP throughput, memory
//! and context size, against the built-in emulator on loopback. Prints Markdown tables on stdout
//! and writes `target/bench/results.json`. No timing assertions: it measures, it never fails on
//! a number. `DUVO_BENCH_QUICK=1` shrinks every count for a smoke run; `DUVO_BENCH_ONLY=builds`
//! measures only the two builds' size and idle RSS (see `builds.rs`), `DUVO_BENCH_ONLY=replicas`
//! only stateless replicas behind nginx (`replicas.rs`), `DUVO_BENCH_ONLY=startup` only start-up
//! side by side with the fastest peer and `/bin/cat` (`peers.rs`), `DUVO_BENCH_ONLY=throughput`
//! only the HTTP throughput table (`throughput.rs`).

mod builds;
mod context;
mod memory;
mod node_client;
mod overhead;
mod peers;
mod procs;
mod replicas;
mod report;
mod sse_client;
mod startup;
mod stateless_client;
mod stats;
mod stdio_client;
mod throughput;

use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// How much to measure.
struct Plan {
    startup_runs: usize,
    overhead_calls: usize,
    window: Duration,
    concurrency: [usize; 3],
    sse_sessions: usize,
    node_calls: usize,
}

impl Plan {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                startup_runs: 5,
                overhead_calls: 300,
                window: Duration::from_millis(700),
                concurrency: [1, 16, 64],
                sse_sessions: 100,
                node_calls: 10,
            }
        } else {
            Self {
                startup_runs: 20,
                overhead_calls: 2000,
                window: Duration::from_secs(4),
                concurrency: [1, 16, 64],
                sse_sessions: 1000,
                node_calls: 30,
            }
        }
    }
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `target/bench/results.json` (next to the binary's profile directory), or `DUVO_BENCH_OUT`.
fn output_path() -> PathBuf {
    if let Ok(p) = std::env::var("DUVO_BENCH_OUT") {
        return PathBuf::from(p);
    }
    let bin = PathBuf::from(procs::BINARY);
    let target = bin
        .parent()
        .and_then(|profile| profile.parent())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("bench").join("results.json")
}

async fn run() -> anyhow::Result<()> {
    let quick = std::env::var("DUVO_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let plan = Plan::new(quick);
    let started = Instant::now();
    let http = reqwest::Client::new();
    let emulator = procs::emulator().await?;
    // `DUVO_BENCH_ONLY=builds|replicas` measures one part alone (read once, here).
    let only = std::env::var("DUVO_BENCH_ONLY").unwrap_or_default();
    let run_id = procs::seeded_run_id(&http, &emulator.base).await?;
    let replicas_window = if quick {
        plan.window
    } else {
        Duration::from_secs(8)
    };
    if only == "replicas" {
        if let Some(rows) = replicas::measure(&emulator.base, &run_id, 16, replicas_window).await? {
            println!("{}", replicas::table(&rows));
        }
        return Ok(());
    }
    if only == "startup" {
        eprintln!("bench: start-up side by side ({} runs each)", peers::RUNS);
        println!("{}", peers::table(&peers::measure(&emulator.base).await));
        return Ok(());
    }
    if only == "throughput" {
        let server = procs::http_server(
            &emulator.base,
            &["--max-sessions", "2000", "--max-streams", "2000"],
        )
        .await?;
        let cells = throughput_cells(&server, &run_id, &plan).await?;
        println!(
            "{}",
            report::throughput_table(&cells, plan.window.as_secs_f64())
        );
        return Ok(());
    }
    eprintln!("bench: the two builds (size, idle RSS)");
    let builds = builds::measure(&emulator.base).await;
    if only == "builds" {
        println!("{}", report::builds_table(&builds));
        return Ok(());
    }

    eprintln!("bench: start-up ({} runs)", plan.startup_runs);
    let startup = startup::measure(&emulator.base, plan.startup_runs).await?;
    eprintln!("bench: start-up side by side ({} runs each)", peers::RUNS);
    let side_by_side = peers::measure(&emulator.base).await;

    eprintln!(
        "bench: per-call overhead ({} calls each)",
        plan.overhead_calls
    );
    let overhead = overhead::measure(&emulator.base, &run_id, plan.overhead_calls).await?;

    let server = procs::http_server(
        &emulator.base,
        &["--max-sessions", "2000", "--max-streams", "2000"],
    )
    .await?;
    let throughput = throughput_cells(&server, &run_id, &plan).await?;
    eprintln!("bench: Node client (TypeScript SDK) on /mcp");
    let node = node_client::measure(&server.base, plan.node_calls).await;
    drop(server);
    let replica_rows = replicas::measure(&emulator.base, &run_id, 16, replicas_window).await?;

    eprintln!("bench: memory ({} SSE sessions)", plan.sse_sessions);
    let memory = memory::measure(&emulator.base, plan.sse_sessions).await?;
    let context = context::measure()?;
    drop(emulator);

    let report = report::Report {
        builds,
        startup,
        overhead,
        throughput,
        node,
        memory,
        context,
        wall_secs: started.elapsed().as_secs_f64(),
        window_secs: plan.window.as_secs_f64(),
    };
    let table = report.table();
    println!("{table}");
    println!("{}", peers::table(&side_by_side));
    if let Some(rows) = &replica_rows {
        println!("{}", replicas::table(rows));
    }
    let path = output_path();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut json = report.json();
    json["startup_side_by_side"] = peers::json(&side_by_side);
    let json = serde_json::to_string_pretty(&json)?;
    std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("bench: figures written to {}", path.display());
    Ok(())
}

/// Every transport × client count of the plan against `server`.
async fn throughput_cells(
    server: &procs::Listening,
    run_id: &str,
    plan: &Plan,
) -> anyhow::Result<Vec<throughput::Cell>> {
    let mut cells = Vec::new();
    for kind in throughput::Kind::ALL {
        for clients in plan.concurrency {
            eprintln!("bench: {} with {clients} clients", kind.label());
            let cell = throughput::measure(
                kind,
                Some(server.pid()),
                &server.base,
                run_id,
                clients,
                plan.window,
            )
            .await
            .with_context(|| format!("{} x{clients}", kind.label()))?;
            cells.push(cell);
        }
    }
    Ok(cells)
}
