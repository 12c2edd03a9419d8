//! HTTP throughput: tool calls per second and latency with N concurrent clients, each with its
//! own session (or stateless requests), calling `getRun` in a loop for a fixed window.

use crate::procs;
use crate::sse_client::SseSession;
use crate::stateless_client::StatelessClient;
use crate::stats::Samples;
use anyhow::Context;
use futures::StreamExt;
use rmcp::model::{CallToolRequestParams, ProtocolVersion};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientLifecycleMode, ClientServiceExt, RoleClient, ServiceExt};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which HTTP transport.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// `/mcp` with `initialize` and `Mcp-Session-Id` (rmcp client).
    McpLegacy,
    /// `/mcp` stateless 2026-07-28 (rmcp client, `server/discover`).
    McpStateless,
    /// `/mcp` stateless 2026-07-28 (hand-rolled client: one POST, one JSON answer).
    McpStatelessLean,
    /// `/sse` + `/message` (hand-rolled client).
    Sse,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 4] = [
        Kind::McpLegacy,
        Kind::McpStateless,
        Kind::McpStatelessLean,
        Kind::Sse,
    ];

    /// Its label in the report.
    pub fn label(self) -> &'static str {
        match self {
            Kind::McpLegacy => "/mcp legacy session",
            Kind::McpStateless => "/mcp stateless 2026-07-28 (rmcp client)",
            Kind::McpStatelessLean => "/mcp stateless 2026-07-28 (lean client)",
            Kind::Sse => "/sse + /message (lean client)",
        }
    }
}

/// One connected client.
enum Client {
    Rmcp(RunningService<RoleClient, ()>),
    Sse(SseSession),
    Stateless(StatelessClient),
}

impl Client {
    async fn connect(kind: Kind, base: &str, http: &reqwest::Client) -> anyhow::Result<Self> {
        let url = format!("{base}/mcp");
        Ok(match kind {
            Kind::McpLegacy => Client::Rmcp(
                ().serve(StreamableHttpClientTransport::from_uri(url))
                    .await
                    .context("legacy session")?,
            ),
            Kind::McpStateless => Client::Rmcp(
                ().serve_with_lifecycle(
                    StreamableHttpClientTransport::from_uri(url),
                    ClientLifecycleMode::Discover {
                        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                    },
                )
                .await
                .context("stateless client")?,
            ),
            Kind::McpStatelessLean => Client::Stateless(StatelessClient::open(base, http).await?),
            Kind::Sse => {
                let s = SseSession::open(base, http).await?;
                s.initialize().await?;
                Client::Sse(s)
            }
        })
    }

    /// One `getRun`; `true` when it succeeded.
    async fn get_run(&self, run_id: &str) -> bool {
        match self {
            Client::Rmcp(c) => {
                let args = json!({"run_id": run_id})
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
                c.call_tool(CallToolRequestParams::new("getRun").with_arguments(args))
                    .await
                    .is_ok_and(|r| r.is_error != Some(true))
            }
            Client::Sse(s) => s.get_run(run_id).await.unwrap_or(false),
            Client::Stateless(s) => s.get_run(run_id).await.unwrap_or(false),
        }
    }

    async fn close(self) {
        if let Client::Rmcp(c) = self {
            let _ = tokio::time::timeout(Duration::from_secs(5), c.cancel()).await;
        }
    }
}

/// One cell of the throughput table.
pub struct Cell {
    /// Transport.
    pub kind: Kind,
    /// Concurrent clients.
    pub clients: usize,
    /// Successful calls inside the window.
    pub calls: usize,
    /// Failed calls (protocol or tool errors).
    pub errors: usize,
    /// The window actually measured.
    pub secs: f64,
    /// Latency of each successful call.
    pub samples: Samples,
    /// CPU time (user + system, all threads) of the `duvo-mcp http` process in the window.
    pub server_cpu_secs: Option<f64>,
    /// CPU time of this bench process (the clients) in the window.
    pub client_cpu_secs: Option<f64>,
}

impl Cell {
    /// Successful calls per second.
    pub fn rate(&self) -> f64 {
        self.calls as f64 / self.secs.max(1e-9)
    }

    /// The server's CPU time per successful call, in microseconds: what the transport costs
    /// the server, whatever the client spends (client, server and emulator share the cores).
    pub fn server_cpu_us_per_call(&self) -> Option<f64> {
        self.server_cpu_secs
            .map(|s| s * 1e6 / self.calls.max(1) as f64)
    }

    /// The clients' CPU time per successful call, in microseconds (the bench process: the
    /// client library under test, e.g. rmcp's, against the lean hand-rolled ones).
    pub fn client_cpu_us_per_call(&self) -> Option<f64> {
        self.client_cpu_secs
            .map(|s| s * 1e6 / self.calls.max(1) as f64)
    }
}

/// Measures `kind` with `clients` concurrent clients for `window` against `base`; `pid` is the
/// server process whose CPU time is read (`None` behind a load balancer).
pub async fn measure(
    kind: Kind,
    pid: Option<u32>,
    base: &str,
    run_id: &str,
    clients: usize,
    window: Duration,
) -> anyhow::Result<Cell> {
    let http = reqwest::Client::new();
    let connected: Vec<anyhow::Result<Client>> = futures::stream::iter(0..clients)
        .map(|_| Client::connect(kind, base, &http))
        .buffer_unordered(16)
        .collect()
        .await;
    let mut all = Vec::with_capacity(clients);
    for c in connected {
        all.push(Arc::new(c?));
    }
    for c in &all {
        for _ in 0..3 {
            c.get_run(run_id).await;
        }
    }
    let cpu_before = pid.and_then(|p| procs::cpu_secs(p).ok());
    let client_before = procs::cpu_secs(std::process::id()).ok();
    let start = Instant::now();
    let deadline = start + window;
    let tasks: Vec<_> = all
        .iter()
        .map(|c| {
            let c = c.clone();
            let run_id = run_id.to_owned();
            tokio::spawn(async move {
                let (mut samples, mut errors) = (Samples::default(), 0usize);
                while Instant::now() < deadline {
                    let t = Instant::now();
                    if c.get_run(&run_id).await {
                        samples.push(t.elapsed());
                    } else {
                        errors += 1;
                    }
                }
                (samples, errors)
            })
        })
        .collect();
    let mut cell = Cell {
        kind,
        clients,
        calls: 0,
        errors: 0,
        secs: 0.0,
        samples: Samples::default(),
        server_cpu_secs: None,
        client_cpu_secs: None,
    };
    for t in tasks {
        let (samples, errors) = t.await.context("client task")?;
        cell.errors += errors;
        cell.samples.extend(samples);
    }
    cell.secs = start.elapsed().as_secs_f64();
    cell.client_cpu_secs = client_before
        .zip(procs::cpu_secs(std::process::id()).ok())
        .map(|(before, after)| after - before);
    cell.server_cpu_secs = cpu_before
        .zip(pid.and_then(|p| procs::cpu_secs(p).ok()))
        .map(|(before, after)| after - before);
    cell.calls = cell.samples.len();
    for c in all {
        if let Ok(c) = Arc::try_unwrap(c) {
            c.close().await;
        }
    }
    Ok(cell)
}
