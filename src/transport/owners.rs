//! Who opened each HTTP session, and how many sessions each caller holds.
//!
//! Every `/mcp` session and every `/sse` session is bound to a fingerprint of the credentials
//! that created it: the caller's Duvo key (passthrough) and the shared token (`--auth-token`),
//! hashed with SHA-256 under a random per-process salt (the raw values are never stored). A
//! request naming a session with another fingerprint is answered exactly like one naming an
//! unknown session (404), so a leaked session id neither works for nor is confirmed to another
//! caller. Wherever callers present credentials (a passthrough key, the shared token, or both)
//! each caller (fingerprint) may also hold at most `per_caller` sessions, so one client cannot
//! fill the global cap. With a shared token alone every client is the same caller: size
//! `--max-sessions-per-caller` for all of them together. In OAuth resource-server mode a session
//! is bound to the token's issuer and subject (not the token itself, which a refresh replaces),
//! so a user keeps their sessions across token refreshes and no other user can use them.

use crate::transport::guard::InboundAuth;
use http::HeaderMap;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// A salted SHA-256 of the credentials a request presented.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fingerprint(..)")
    }
}

/// What is known about one live `/mcp` session.
#[derive(Clone, Copy, Debug)]
pub struct Binding {
    /// Who opened it.
    pub owner: Fingerprint,
    /// It negotiated a protocol older than 2025-11-25 (no SSE priming events for it).
    pub pre_priming: bool,
}

/// The session-owner table shared by `/mcp` and `/sse`.
pub struct Owners {
    salt: [u8; 32],
    auth: InboundAuth,
    per_caller: Option<usize>,
    mcp_table: Arc<LocalSessionManager>,
    mcp: Mutex<HashMap<Arc<str>, Binding>>,
    sse: Mutex<HashMap<Fingerprint, usize>>,
    reserved: Mutex<HashMap<Fingerprint, usize>>,
}

impl std::fmt::Debug for Owners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Owners")
            .field("per_caller", &self.per_caller)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Owners {
    /// A table for a server authenticating with `auth`; `per_caller` caps each caller's sessions
    /// whenever callers present credentials (passthrough key, shared token, or an OAuth token
    /// when `oauth`); `mcp_table` is rmcp's live-session table.
    pub fn new(
        auth: InboundAuth,
        oauth: bool,
        per_caller: usize,
        mcp_table: Arc<LocalSessionManager>,
    ) -> Arc<Self> {
        let per_caller = (auth.passthrough() || auth.has_token() || oauth).then_some(per_caller);
        Arc::new(Self {
            salt: rand::random(),
            auth,
            per_caller,
            mcp_table,
            mcp: Mutex::new(HashMap::new()),
            sse: Mutex::new(HashMap::new()),
            reserved: Mutex::new(HashMap::new()),
        })
    }

    /// The per-caller cap, when enforced.
    pub fn per_caller(&self) -> Option<usize> {
        self.per_caller
    }

    /// The fingerprint of the credentials in `headers` (already admitted by the guard).
    pub fn fingerprint(&self, headers: &HeaderMap) -> Fingerprint {
        let (token, key) = self.auth.presented(headers);
        // OAuth: the validated token's issuer and subject (set by the OAuth layer only).
        let subject = headers
            .get(crate::transport::oauth::SUBJECT_HEADER)
            .and_then(|v| v.to_str().ok());
        let mut h = Sha256::new();
        h.update(self.salt);
        for part in [token, key, subject] {
            match part {
                Some(v) => {
                    h.update([1u8]);
                    h.update((v.len() as u64).to_be_bytes());
                    h.update(v.as_bytes());
                }
                None => h.update([0u8]),
            }
        }
        Fingerprint(h.finalize().into())
    }

    /// The binding of a live `/mcp` session (`None`: unknown, ended, or never bound).
    pub async fn mcp_binding(&self, session: &str) -> Option<Binding> {
        let binding = lock(&self.mcp).get(session).copied()?;
        if self.mcp_table.sessions.read().await.contains_key(session) {
            Some(binding)
        } else {
            lock(&self.mcp).remove(session);
            None
        }
    }

    /// Records who opened a new `/mcp` session.
    pub fn bind_mcp(&self, session: &str, binding: Binding) {
        lock(&self.mcp).insert(Arc::from(session), binding);
    }

    /// Forgets a `/mcp` session (after `DELETE`).
    pub fn unbind_mcp(&self, session: &str) {
        lock(&self.mcp).remove(session);
    }

    /// Reserves a session for `caller` under the per-caller cap; `None` when the caller is at
    /// it. Drop the reservation once the session is bound (or failed to open).
    pub async fn reserve(self: &Arc<Self>, caller: Fingerprint) -> Option<CallerReservation> {
        let Some(cap) = self.per_caller else {
            return Some(CallerReservation {
                owners: self.clone(),
                caller,
                counted: false,
            });
        };
        // Forget sessions rmcp has closed (idle time-out, DELETE, shutdown).
        let live: std::collections::HashSet<Arc<str>> = self
            .mcp_table
            .sessions
            .read()
            .await
            .keys()
            .cloned()
            .collect();
        let mut mcp = lock(&self.mcp);
        mcp.retain(|id, _| live.contains(id));
        let held = mcp.values().filter(|b| b.owner == caller).count()
            + lock(&self.sse).get(&caller).copied().unwrap_or(0);
        drop(mcp);
        let mut reserved = lock(&self.reserved);
        let r = reserved.entry(caller).or_insert(0);
        if held + *r >= cap {
            if *r == 0 {
                reserved.remove(&caller);
            }
            return None;
        }
        *r += 1;
        Some(CallerReservation {
            owners: self.clone(),
            caller,
            counted: true,
        })
    }

    /// Counts one live `/sse` session of `caller` until the guard drops.
    pub fn sse_session(self: &Arc<Self>, caller: Fingerprint) -> SseOwner {
        *lock(&self.sse).entry(caller).or_insert(0) += 1;
        SseOwner {
            owners: self.clone(),
            caller,
        }
    }
}

/// A held per-caller session slot.
pub struct CallerReservation {
    owners: Arc<Owners>,
    caller: Fingerprint,
    counted: bool,
}

impl Drop for CallerReservation {
    fn drop(&mut self) {
        if !self.counted {
            return;
        }
        let mut reserved = lock(&self.owners.reserved);
        if let Some(r) = reserved.get_mut(&self.caller) {
            *r = r.saturating_sub(1);
            if *r == 0 {
                reserved.remove(&self.caller);
            }
        }
    }
}

/// One live `/sse` session of a caller (uncounted on drop).
pub struct SseOwner {
    owners: Arc<Owners>,
    caller: Fingerprint,
}

impl Drop for SseOwner {
    fn drop(&mut self) {
        let mut sse = lock(&self.owners.sse);
        if let Some(n) = sse.get_mut(&self.caller) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                sse.remove(&self.caller);
            }
        }
    }
}

/// Whether an SSE frame is a priming event (SEP-1699): `retry:` and/or `id:` with empty data
/// and nothing else. Clients older than 2025-11-25 fail to parse its empty `data`.
pub fn is_priming_frame(frame: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(frame) else {
        return false;
    };
    let mut retry = false;
    for line in text.lines() {
        if line.is_empty() || line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "retry" => retry = true,
            "id" | "event" => {}
            "data" if value.is_empty() => {}
            _ => return false,
        }
    }
    retry
}

/// Whether a negotiated protocol version predates SSE priming events (2025-11-25).
pub fn predates_priming(version: &str) -> bool {
    // MCP versions are ISO dates, which order as strings.
    version < "2025-11-25"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priming_frames_are_recognised() {
        assert!(is_priming_frame(b"data: \nid: 0/0\nretry: 3000\n\n"));
        assert!(is_priming_frame(b"id: 0\nretry: 3000\ndata:\n\n"));
        assert!(!is_priming_frame(
            b"data: {\"jsonrpc\":\"2.0\"}\nid: 0/1\n\n"
        ));
        assert!(!is_priming_frame(b":\n\n"));
        assert!(predates_priming("2025-06-18"));
        assert!(!predates_priming("2025-11-25"));
        assert!(!predates_priming("2026-07-28"));
    }
}
