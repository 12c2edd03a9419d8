//! MCP over stdin/stdout: stdout carries JSON-RPC only; logs go to stderr.
//!
//! When stdin closes the process leaves promptly: a session that never began (a 2026-07-28
//! client that only sent `server/discover`, a host probing the server) ends with status 0, and
//! calls still running get [`EOF_GRACE`] to answer, are then cancelled, and after
//! [`CANCEL_GRACE`] the process exits without them (hosts kill a server about 2 s after closing
//! its stdin).

use super::ServerFactory;
use rmcp::ServiceExt;
use rmcp::service::{QuitReason, ServerInitializeError};
use std::time::Duration;

/// After stdin closes, how long running calls may still answer before they are cancelled.
pub const EOF_GRACE: Duration = Duration::from_millis(1200);
/// After cancelling them, how long the session may take to end before the process leaves anyway.
pub const CANCEL_GRACE: Duration = Duration::from_millis(300);
/// How long answers already queued may take to be written when the session never began.
const FLUSH_GRACE: Duration = Duration::from_millis(300);

/// Serves a handler from `factory` on this process's stdin/stdout until the client closes stdin.
pub async fn serve<F: ServerFactory>(factory: F) -> anyhow::Result<()> {
    let server = factory.make();
    // Our own line framing: every malformed frame gets a JSON-RPC error with its id. Pipes (as
    // MCP clients launch us) are driven non-blocking on the IO reactor: about 45 µs less per call
    // than the blocking stdin thread (`cargo bench --bench duvo`); anything else falls back.
    let (stdin, stdout) = rmcp::transport::stdio_pipes();
    let transport = super::lines::LineTransport::new(stdin, stdout);
    let signals = transport.signals();
    let running = match server.serve(transport).await {
        Ok(running) => running,
        // rmcp reports EOF before `initialize` as an error, but a 2026-07-28 session that only
        // sent `server/discover` (answered inside `serve`) is complete, and a host that opens
        // and closes the server to probe it did nothing wrong: both end quietly with status 0.
        Err(ServerInitializeError::ConnectionClosed(_)) => {
            tracing::debug!("stdin closed before a session began");
            signals.output_finished(FLUSH_GRACE).await;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let ct = running.cancellation_token();
    let mut waiting = std::pin::pin!(running.waiting());
    tokio::select! {
        ended = &mut waiting => return finished(ended),
        () = signals.input_closed() => {}
    }
    // Work around rmcp: after EOF its service loop waits a fixed 5 s for running handlers before
    // it cancels them (`drain_timeout` in rmcp::service). Bound it here instead: a short grace,
    // then cancel, then leave even if a call is stuck (main drops the runtime without waiting
    // for blocking threads).
    if let Ok(ended) = tokio::time::timeout(EOF_GRACE, &mut waiting).await {
        return finished(ended);
    }
    tracing::debug!("stdin closed with calls still running; cancelling them");
    ct.cancel();
    if let Ok(ended) = tokio::time::timeout(CANCEL_GRACE, &mut waiting).await {
        return finished(ended);
    }
    tracing::debug!("calls still running after cancellation; exiting without them");
    Ok(())
}

fn finished(ended: Result<QuitReason, tokio::task::JoinError>) -> anyhow::Result<()> {
    let reason = ended?;
    tracing::debug!(?reason, "stdio session ended");
    Ok(())
}
