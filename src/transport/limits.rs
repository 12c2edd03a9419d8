//! Capacity and shutdown bookkeeping shared by the HTTP routes: caps on live sessions and open
//! event streams (503 + `retry-after` past them), the count of in-flight requests, and the drain
//! switch that refuses new work during a graceful shutdown.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use http::{HeaderValue, StatusCode, header};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// Seconds a client is told to wait before retrying past a cap or during shutdown.
pub const RETRY_AFTER_SECS: u64 = 5;

/// Shared counters and switches.
#[derive(Debug)]
pub struct Limits {
    max_sessions: usize,
    streams: Arc<Semaphore>,
    max_streams: usize,
    /// Sessions admitted but not yet visible in a session table.
    reserved_sessions: AtomicUsize,
    /// Live legacy `/sse` sessions.
    sse_sessions: AtomicUsize,
    /// The Streamable HTTP session table, when sessions are on.
    mcp_sessions: Option<Arc<LocalSessionManager>>,
    draining: AtomicBool,
    in_flight: AtomicUsize,
    idle: Notify,
}

impl Limits {
    /// Caps: `max_sessions` live MCP sessions (Streamable HTTP sessions in `mcp_sessions` plus
    /// `/sse` sessions), `max_streams` open event streams.
    pub fn new(
        max_sessions: usize,
        max_streams: usize,
        mcp_sessions: Option<Arc<LocalSessionManager>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            max_sessions,
            streams: Arc::new(Semaphore::new(max_streams)),
            max_streams,
            reserved_sessions: AtomicUsize::new(0),
            sse_sessions: AtomicUsize::new(0),
            mcp_sessions,
            draining: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
        })
    }

    /// The session cap.
    pub fn max_sessions(&self) -> usize {
        self.max_sessions
    }

    /// The stream cap.
    pub fn max_streams(&self) -> usize {
        self.max_streams
    }

    /// Live sessions of both kinds.
    pub async fn live_sessions(&self) -> usize {
        let mcp = match &self.mcp_sessions {
            Some(m) => m.sessions.read().await.len(),
            None => 0,
        };
        mcp + self.sse_sessions.load(Ordering::SeqCst)
    }

    /// Counts one live `/sse` session until the guard drops.
    pub fn sse_session(self: &Arc<Self>) -> SseSessionCount {
        self.sse_sessions.fetch_add(1, Ordering::SeqCst);
        SseSessionCount {
            limits: self.clone(),
        }
    }

    /// Reserves a session slot given `live` sessions now; `None` when the cap is reached.
    pub fn reserve_session(self: &Arc<Self>, live: usize) -> Option<SessionReservation> {
        let reserved = self.reserved_sessions.fetch_add(1, Ordering::SeqCst) + 1;
        if live + reserved > self.max_sessions {
            self.reserved_sessions.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(SessionReservation {
            limits: self.clone(),
        })
    }

    /// Takes a stream slot; `None` when the cap is reached.
    pub fn open_stream(&self) -> Option<OwnedSemaphorePermit> {
        self.streams.clone().try_acquire_owned().ok()
    }

    /// Event streams open now.
    pub fn open_streams(&self) -> usize {
        self.max_streams
            .saturating_sub(self.streams.available_permits())
    }

    /// Whether a graceful shutdown has begun.
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Starts refusing new requests.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Counts one in-flight request until the guard drops.
    pub fn begin_request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight {
            limits: self.clone(),
        }
    }

    /// Requests still being served.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Waits until no request is in flight, or `bound` passes; returns whether it drained.
    pub async fn wait_idle(&self, bound: Duration) -> bool {
        let wait = async {
            loop {
                let notified = self.idle.notified();
                if self.in_flight() == 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(bound, wait).await.is_ok()
    }
}

/// A held session slot (released on drop, once the session is visible in its table).
#[derive(Debug)]
pub struct SessionReservation {
    limits: Arc<Limits>,
}

impl Drop for SessionReservation {
    fn drop(&mut self) {
        self.limits.reserved_sessions.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One live `/sse` session (decremented on drop).
#[derive(Debug)]
pub struct SseSessionCount {
    limits: Arc<Limits>,
}

impl Drop for SseSessionCount {
    fn drop(&mut self) {
        self.limits.sse_sessions.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One in-flight request (decremented on drop).
#[derive(Debug)]
pub struct InFlight {
    limits: Arc<Limits>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.limits.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.limits.idle.notify_waiters();
        }
    }
}

/// 503 with `retry-after`, for caps and shutdown.
pub fn unavailable(reason: &'static str) -> Response {
    let mut resp = (
        StatusCode::SERVICE_UNAVAILABLE,
        format!("Service Unavailable: {reason}\n"),
    )
        .into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    resp
}

/// Keeps `held` alive until the response body has been sent (or dropped).
pub fn hold_until_body_ends<T: Send + Sync + 'static>(resp: Response, held: T) -> Response {
    let (parts, body) = resp.into_parts();
    let stream = body.into_data_stream().map(move |chunk| {
        let _ = &held;
        chunk
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cap_counts_live_and_reserved() {
        let l = Limits::new(2, 1, None);
        let a = l.reserve_session(1).expect("one live + one reserved fits");
        assert!(l.reserve_session(1).is_none(), "cap reached");
        drop(a);
        assert!(l.reserve_session(1).is_some());
        assert!(l.reserve_session(2).is_none());
    }

    #[test]
    fn stream_cap_releases_on_drop() {
        let l = Limits::new(1, 1, None);
        let p = l.open_stream().expect("first stream");
        assert!(l.open_stream().is_none());
        drop(p);
        assert!(l.open_stream().is_some());
    }

    #[tokio::test]
    async fn waits_for_in_flight_requests() {
        let l = Limits::new(1, 1, None);
        let req = l.begin_request();
        assert!(!l.wait_idle(Duration::from_millis(20)).await);
        let l2 = l.clone();
        let waiter = tokio::spawn(async move { l2.wait_idle(Duration::from_secs(10)).await });
        drop(req);
        assert!(waiter.await.expect("join"));
    }
}
