//! The legacy HTTP+SSE transport (MCP 2024-11-05, deprecated but still used by older clients):
//! `GET /sse` opens an event stream whose first event names the POST endpoint
//! (`/message?sessionId=…`); the client POSTs JSON-RPC there (202 Accepted) and every server
//! message arrives as an `event: message` on the stream.
//!
//! rmcp no longer ships this transport, so it is built here on rmcp's (Sink, Stream) transport:
//! one handler session per stream. Each POSTed message carries the POST's `http::request::Parts`
//! in its extensions, exactly like Streamable HTTP, so passthrough keys and narrowing headers work
//! here too. Admission (Host/Origin/auth) and drain refusal happen in the router's middleware.

use crate::transport::limits::{
    InFlight, Limits, SseSessionCount, hold_until_body_ends, unavailable,
};
use crate::transport::owners::{Fingerprint, Owners, SseOwner};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use http::{HeaderMap, HeaderValue, StatusCode, request::Parts};
use rmcp::model::{ClientJsonRpcMessage, ClientNotification, RequestId, ServerJsonRpcMessage};
use rmcp::{ServerHandler, ServiceExt};
use serde::Deserialize;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Route of the event stream.
pub const SSE_PATH: &str = "/sse";
/// Route clients POST messages to.
pub const MESSAGE_PATH: &str = "/message";
/// Messages buffered per direction and session.
const CHANNEL_CAPACITY: usize = 64;

/// Settings of the legacy transport.
#[derive(Clone, Debug)]
pub struct SseConfig {
    /// Interval of SSE comment pings.
    pub keep_alive: Duration,
    /// A session with no client message and no request in flight for this long is closed.
    pub idle_timeout: Duration,
}

/// One live `/sse` session.
struct Session {
    /// Who opened it: only POSTs with the same credentials reach it.
    owner: Fingerprint,
    tx: mpsc::Sender<ClientJsonRpcMessage>,
    ct: CancellationToken,
    last_seen: Mutex<Instant>,
    /// Requests the handler has not answered yet; each holds an in-flight count.
    pending: Mutex<HashMap<RequestId, InFlight>>,
}

impl Session {
    fn touch(&self) {
        *self.last_seen.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<RequestId, InFlight>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn idle_for(&self) -> Option<Duration> {
        if !self.pending().is_empty() {
            return None;
        }
        Some(
            self.last_seen
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .elapsed(),
        )
    }
}

type Sessions = Arc<RwLock<HashMap<String, Arc<Session>>>>;

/// The legacy SSE endpoints' state; `H` is cloned for each session.
pub struct LegacySse<H> {
    handler: H,
    sessions: Sessions,
    limits: Arc<Limits>,
    owners: Arc<Owners>,
    ct: CancellationToken,
    config: SseConfig,
}

impl<H> LegacySse<H>
where
    H: ServerHandler + Clone,
{
    /// State for the routes; `ct` ends every session when cancelled.
    pub fn new(
        handler: H,
        limits: Arc<Limits>,
        owners: Arc<Owners>,
        ct: CancellationToken,
        config: SseConfig,
    ) -> Arc<Self> {
        let me = Arc::new(Self {
            handler,
            sessions: Arc::new(RwLock::new(HashMap::new())),
            limits,
            owners,
            ct,
            config,
        });
        me.clone().spawn_reaper();
        me
    }

    fn session(&self, id: &str) -> Option<Arc<Session>> {
        self.sessions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// Closes sessions idle past the timeout, until the server stops.
    fn spawn_reaper(self: Arc<Self>) {
        let idle = self.config.idle_timeout;
        let tick = (idle / 4).clamp(Duration::from_millis(100), Duration::from_secs(30));
        let ct = self.ct.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = ct.cancelled() => return,
                    () = tokio::time::sleep(tick) => {}
                }
                let expired: Vec<Arc<Session>> = self
                    .sessions
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .values()
                    .filter(|s| s.idle_for().is_some_and(|d| d >= idle))
                    .cloned()
                    .collect();
                for s in expired {
                    tracing::debug!("closing an idle /sse session");
                    s.ct.cancel();
                }
            }
        });
    }
}

/// Removes a session from the table when its stream ends, for whatever reason.
struct SessionEntry {
    id: String,
    sessions: Sessions,
    ct: CancellationToken,
    _count: SseSessionCount,
    _owner: SseOwner,
}

impl Drop for SessionEntry {
    fn drop(&mut self) {
        self.ct.cancel();
        self.sessions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
        tracing::debug!("/sse session closed");
    }
}

/// `GET /sse`: opens a session and streams its messages.
pub async fn open<H>(State(app): State<Arc<LegacySse<H>>>, headers: HeaderMap) -> Response
where
    H: ServerHandler + Clone,
{
    let caller = app.owners.fingerprint(&headers);
    let live = app.limits.live_sessions().await;
    let Some(reservation) = app.limits.reserve_session(live) else {
        tracing::warn!(
            cap = app.limits.max_sessions(),
            "session cap reached; refusing /sse"
        );
        return unavailable("too many sessions");
    };
    let Some(permit) = app.limits.open_stream() else {
        tracing::warn!(
            cap = app.limits.max_streams(),
            "stream cap reached; refusing /sse"
        );
        return unavailable("too many open streams");
    };
    let Some(mine) = app.owners.reserve(caller).await else {
        return crate::transport::http::too_many_for_caller(
            app.owners.per_caller().unwrap_or_default(),
        );
    };
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (in_tx, in_rx) = mpsc::channel::<ClientJsonRpcMessage>(CHANNEL_CAPACITY);
    let (out_tx, out_rx) = mpsc::channel::<ServerJsonRpcMessage>(CHANNEL_CAPACITY);
    let ct = app.ct.child_token();
    let session = Arc::new(Session {
        owner: caller,
        tx: in_tx,
        ct: ct.clone(),
        last_seen: Mutex::new(Instant::now()),
        pending: Mutex::new(HashMap::new()),
    });
    app.sessions
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id.clone(), session.clone());
    let entry = SessionEntry {
        id: id.clone(),
        sessions: app.sessions.clone(),
        ct: ct.clone(),
        _count: app.limits.sse_session(),
        _owner: app.owners.sse_session(caller),
    };
    drop(mine);
    drop(reservation);
    tracing::debug!("/sse session opened");

    let handler = app.handler.clone();
    let serve_ct = ct.clone();
    tokio::spawn(async move {
        match handler
            .serve_with_ct((out_tx, in_rx), serve_ct.clone())
            .await
        {
            Ok(running) => {
                let _ = running.waiting().await;
            }
            Err(e) => tracing::debug!(error = %e, "/sse session ended before initialization"),
        }
        serve_ct.cancel();
    });

    let endpoint = futures::stream::once(futures::future::ready(Ok::<_, Infallible>(
        Event::default()
            .event("endpoint")
            .data(format!("{MESSAGE_PATH}?sessionId={id}")),
    )));
    let answered = session.clone();
    let messages = out_rx.map(move |msg| {
        let answered_id = match &msg {
            ServerJsonRpcMessage::Response(r) => Some(r.id.clone()),
            ServerJsonRpcMessage::Error(e) => e.id.clone(),
            _ => None,
        };
        if let Some(rid) = answered_id {
            answered.pending().remove(&rid);
        }
        let data = serde_json::to_string(&msg).unwrap_or_default();
        Ok::<_, Infallible>(Event::default().event("message").data(data))
    });
    let stream = endpoint.chain(messages).take_until(ct.cancelled_owned());
    let sse = Sse::new(stream).keep_alive(KeepAlive::new().interval(app.config.keep_alive));
    let mut resp = sse.into_response();
    resp.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    hold_until_body_ends(resp, (permit, entry, session))
}

/// Query of `POST /message`.
#[derive(Debug, Deserialize)]
pub struct MessageQuery {
    #[serde(rename = "sessionId")]
    session_id: String,
}

/// `POST /message?sessionId=…`: hands one JSON-RPC message to the session (202).
pub async fn post<H>(
    State(app): State<Arc<LegacySse<H>>>,
    Query(query): Query<MessageQuery>,
    parts: Parts,
    body: Bytes,
) -> Response
where
    H: ServerHandler + Clone,
{
    // A session opened with other credentials is answered exactly like an unknown one.
    let caller = app.owners.fingerprint(&parts.headers);
    let Some(session) = app.session(&query.session_id).filter(|s| s.owner == caller) else {
        return (
            StatusCode::NOT_FOUND,
            "Not Found: unknown or expired session\n",
        )
            .into_response();
    };
    let mut msg: ClientJsonRpcMessage = match serde_json::from_slice(&body) {
        Ok(m) => m,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("Bad Request: not a JSON-RPC message ({e})\n"),
            )
                .into_response();
        }
    };
    session.touch();
    match &msg {
        ClientJsonRpcMessage::Request(r) => {
            session
                .pending()
                .insert(r.id.clone(), app.limits.begin_request());
        }
        ClientJsonRpcMessage::Notification(n) => {
            if let ClientNotification::CancelledNotification(c) = &n.notification
                && let Some(rid) = &c.params.request_id
            {
                session.pending().remove(rid);
            }
        }
        _ => {}
    }
    msg.insert_extension(parts);
    if session.tx.clone().send(msg).await.is_err() {
        return (StatusCode::GONE, "Gone: the session has ended\n").into_response();
    }
    (StatusCode::ACCEPTED, "Accepted").into_response()
}
