//! MCP over stdin/stdout: stdout carries JSON-RPC only; logs go to stderr.

use crate::server::DuvoServer;
use rmcp::ServiceExt;

/// Serves `server` on this process's stdin/stdout until the client closes stdin.
pub async fn serve(server: DuvoServer) -> anyhow::Result<()> {
    let running = server.serve(rmcp::transport::stdio()).await?;
    let reason = running.waiting().await?;
    tracing::debug!(?reason, "stdio session ended");
    Ok(())
}
