//! `duvo-mcp healthcheck`: asks a running `duvo-mcp http` for `GET /healthz` and exits 0 on a
//! 2xx answer. For container `HEALTHCHECK`s: the image holds this binary and nothing else (no
//! shell, no curl).

use std::time::Duration;

/// The probe's settings.
#[derive(clap::Args, Debug)]
pub struct HealthArgs {
    /// Health URL of the server.
    #[arg(long, default_value = "http://127.0.0.1:8787/healthz")]
    pub url: String,
    /// `Host` header to send; by default the first non-wildcard entry of DUVO_MCP_ALLOWED_HOSTS,
    /// else the URL's own (the server checks `Host` on /healthz too).
    #[arg(long)]
    pub host: Option<String>,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 5)]
    pub timeout: u64,
}

/// Probes once; an error says what failed.
pub async fn run(args: HealthArgs) -> anyhow::Result<()> {
    let host = args.host.or_else(|| {
        crate::config::env("DUVO_MCP_ALLOWED_HOSTS").and_then(|v| {
            v.split(',')
                .map(str::trim)
                .find(|h| !h.is_empty() && !h.contains('*'))
                .map(str::to_owned)
        })
    });
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout))
        .build()?;
    let mut request = client.get(&args.url);
    if let Some(host) = host {
        request = request.header(reqwest::header::HOST, host);
    }
    let response = request
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{} is not answering: {e}", args.url))?;
    let status = response.status();
    anyhow::ensure!(status.is_success(), "{} answered {status}", args.url);
    Ok(())
}
