//! The HTTP accept loop: one hyper connection per accepted TCP socket, with the limits
//! `axum::serve` does not offer.
//!
//! - `TCP_NODELAY` on every accepted socket: responses go out in two or three small writes
//!   (headers + priming event, result event, chunk terminator), and with Nagle's algorithm the
//!   client's delayed ACK held the last one for ~40 ms on every `/mcp` response.
//! - A header-read timeout (hyper's HTTP/1 `header_read_timeout`). Hyper arms it whenever the
//!   connection waits for a request head, so it bounds both a new connection that sends nothing
//!   (or half a request) and an idle keep-alive connection waiting for its next request.
//! - A cap on open connections: past it, `accept` waits for a connection to close (the kernel's
//!   backlog holds new ones) rather than failing, so the process never runs out of descriptors.
//! - Accept errors (`EMFILE`, `ENFILE`, …) back off briefly instead of spinning.
//!
//! Body-read deadlines are applied per request in the router (`body_deadline` in `http.rs`).

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_util::sync::CancellationToken;

/// Limits applied to every accepted connection.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// Time allowed to receive a request's headers, counted from when the connection starts
    /// waiting for them (also the idle keep-alive timeout).
    pub header_read_timeout: Duration,
    /// Open connections before `accept` waits.
    pub max_connections: usize,
    /// HTTP/1 response header names in Title-Case (`WWW-Authenticate`), for OAuth clients.
    pub title_case_headers: bool,
}

/// Accepts connections on `listener` and serves `app` on them until `stop` is cancelled; then
/// stops accepting, asks every connection to close gracefully, and returns once all have.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    stop: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Dropped by each connection task when it ends; `closed()` resolves when all are gone.
    let (done_tx, _) = watch::channel(());
    let mut warned_full = false;
    loop {
        let permit = tokio::select! {
            () = stop.cancelled() => break,
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        if slots.available_permits() == 0 && !warned_full {
            warned_full = true;
            tracing::warn!(
                cap = limits.max_connections,
                "connection cap reached; new connections wait until others close"
            );
        } else if slots.available_permits() > 0 {
            warned_full = false;
        }
        let accepted = tokio::select! {
            () = stop.cancelled() => break,
            a = listener.accept() => a,
        };
        let (tcp, _peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE/ENFILE/ECONNABORTED: transient; back off so the loop does not spin.
                tracing::warn!(error = %e, "accept failed; retrying shortly");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let service = TowerToHyperService::new(app.clone());
        let stop = stop.clone();
        let done = done_tx.subscribe();
        tokio::spawn(async move {
            // hyper-util's own HTTP/1-or-2 detection waits for bytes without a time-out, so a
            // silent connection would sit there forever: detect here, within the header time-out.
            let Some(h2) = sniff_h2(&tcp, limits.header_read_timeout).await else {
                drop(done);
                drop(permit);
                return;
            };
            let mut builder = Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .title_case_headers(limits.title_case_headers);
            builder
                .http2()
                .timer(TokioTimer::new())
                .keep_alive_interval(Some(limits.header_read_timeout))
                .keep_alive_timeout(limits.header_read_timeout);
            let builder = if h2 {
                builder.http2_only()
            } else {
                builder.http1_only()
            };
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service);
            let mut conn = std::pin::pin!(conn);
            let mut stopping = false;
            loop {
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    () = stop.cancelled(), if !stopping => {
                        stopping = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(done);
            drop(permit);
        });
    }
    drop(listener);
    done_tx.closed().await;
}

/// Whether the client opens with the HTTP/2 preface (`Some(true)`), with anything else
/// (`Some(false)`), or sends nothing (or closes) within `within` (`None`).
async fn sniff_h2(tcp: &TcpStream, within: Duration) -> Option<bool> {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let deadline = tokio::time::Instant::now() + within;
    let mut buf = [0u8; 24];
    loop {
        let n = tokio::time::timeout_at(deadline, tcp.peek(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        if buf[..n] != PREFACE[..n] {
            return Some(false);
        }
        if n == PREFACE.len() {
            return Some(true);
        }
        // A partial preface: `peek` would return the same bytes at once, so wait a little.
        tokio::time::sleep(Duration::from_millis(20)).await;
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (each connection costs one descriptor);
/// returns the soft limit now in force, when known.
pub fn raise_nofile_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let mut lim = getrlimit(Resource::Nofile);
        if let (Some(cur), hard) = (lim.current, lim.maximum) {
            // macOS refuses values above OPEN_MAX even when the hard limit is "unlimited".
            let target = hard.unwrap_or(cur.max(10_240));
            if target > cur {
                lim.current = Some(target);
                if let Err(e) = setrlimit(Resource::Nofile, lim) {
                    tracing::debug!(error = %e, "could not raise RLIMIT_NOFILE");
                }
            }
        }
        getrlimit(Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}
