//! State that replicas of `duvo-mcp http` must agree on: the per-key rate budget, the team-id
//! cache and the `runAssignment` started-Job records ([`budget`], [`records`]), plus the key that
//! seals `requestState` ([`state_key`]).
//!
//! [`SharedState`] is a cheap handle: in-process (the default: callers keep their own maps) or
//! Redis (`--redis-url` / `DUVO_MCP_REDIS_URL`). Redis keys are namespaced `duvo-mcp:` and
//! carry only SHA-256 digests (never a Duvo key); every entry expires. When Redis stops
//! answering, the handle reports [`Status::Down`], logs it once, and every caller falls back to
//! its in-process state until a background probe sees Redis again ([`Status::Up`], logged once).
//! [`redis_status`] reports the process's status for readiness probes.

pub mod budget;
pub mod records;
pub mod state_key;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

/// Bound on one Redis round trip before the call falls back to in-process state.
const CALL_TIMEOUT: Duration = Duration::from_millis(1000);
/// How often a down Redis is probed.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// Where shared state lives right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// No Redis configured: everything is in-process (one replica).
    Off,
    /// Redis configured and answering: state is shared.
    Up,
    /// Redis configured but unreachable: in-process fallback until it answers again.
    Down,
}

impl Status {
    /// `off`, `up` or `down` (for `/readyz` and logs).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Off => "off",
            Status::Up => "up",
            Status::Down => "down",
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            1 => Status::Up,
            2 => Status::Down,
            _ => Status::Off,
        }
    }
}

/// The process-wide status reported by [`redis_status`] (the last handle connected sets it).
static PROCESS_STATUS: AtomicU8 = AtomicU8::new(0);

/// Redis status of this process (`Off` when no `--redis-url`): what `/readyz` reports.
pub fn redis_status() -> Status {
    Status::from_u8(PROCESS_STATUS.load(Ordering::Relaxed))
}

/// Handle on the shared state: in-process, or Redis with in-process fallback.
#[derive(Clone, Default)]
pub struct SharedState {
    redis: Option<Arc<Redis>>,
}

struct Redis {
    conn: ConnectionManager,
    status: AtomicU8,
}

impl std::fmt::Debug for SharedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it may carry a password.
        f.debug_struct("SharedState")
            .field("status", &self.status())
            .finish()
    }
}

impl SharedState {
    /// Everything in-process (no Redis).
    pub fn in_process() -> Self {
        Self::default()
    }

    /// Shares state through the Redis server at `url` (`redis://[user:pass@]host:port/db`).
    /// An unreachable Redis is not an error: the handle starts `Down` and recovers by itself.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url).map_err(|e| {
            anyhow::anyhow!(
                "DUVO_MCP_REDIS_URL / --redis-url is not a valid Redis URL ({}); use redis://host:6379/0",
                e.category()
            )
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_millis(800)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| anyhow::anyhow!("cannot set up the Redis connection: {}", e.category()))?;
        let redis = Arc::new(Redis {
            conn,
            status: AtomicU8::new(1),
        });
        let me = Self { redis: Some(redis) };
        if me.ping().await {
            tracing::info!(
                "shared state in Redis: rate budget, team cache and started Jobs are shared by every replica"
            );
            me.set_status(Status::Up);
        } else {
            me.went_down("not reachable at start-up");
        }
        Ok(me)
    }

    /// Where shared state lives right now.
    pub fn status(&self) -> Status {
        match &self.redis {
            None => Status::Off,
            Some(r) => Status::from_u8(r.status.load(Ordering::Relaxed)),
        }
    }

    /// True when a Redis URL is configured (up or down).
    pub fn is_configured(&self) -> bool {
        self.redis.is_some()
    }

    fn set_status(&self, s: Status) {
        if let Some(r) = &self.redis {
            r.status.store(s as u8, Ordering::Relaxed);
            PROCESS_STATUS.store(s as u8, Ordering::Relaxed);
        }
    }

    async fn ping(&self) -> bool {
        let Some(r) = &self.redis else { return false };
        let mut conn = r.conn.clone();
        let cmd = redis::cmd("PING");
        let ping = cmd.query_async::<String>(&mut conn);
        matches!(tokio::time::timeout(CALL_TIMEOUT, ping).await, Ok(Ok(_)))
    }

    /// Runs `op` on Redis; `None` when Redis is off or down (use in-process state then).
    /// A failure marks Redis down (logged once) and starts the recovery probe.
    pub(crate) async fn with_redis<T, F, Fut>(&self, op: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let r = self.redis.as_ref()?;
        if self.status() != Status::Up {
            return None;
        }
        match tokio::time::timeout(CALL_TIMEOUT, op(r.conn.clone())).await {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => {
                self.went_down(e.category());
                None
            }
            Err(_) => {
                self.went_down("no answer in time");
                None
            }
        }
    }

    /// Marks Redis down once per outage: logs it and probes until it answers again.
    fn went_down(&self, reason: &str) {
        let Some(r) = &self.redis else { return };
        let was = r.status.swap(Status::Down as u8, Ordering::Relaxed);
        PROCESS_STATUS.store(Status::Down as u8, Ordering::Relaxed);
        if was == Status::Down as u8 {
            return;
        }
        tracing::warn!(
            reason,
            "Redis unavailable: falling back to in-process state (rate budget, team cache, started Jobs are per replica until it is back)"
        );
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(PROBE_EVERY).await;
                if me.ping().await {
                    me.set_status(Status::Up);
                    tracing::info!("Redis reachable again: shared state restored");
                    return;
                }
            }
        });
    }
}

/// `duvo-mcp:<kind>:<hex>`: a Redis key that names only a digest.
pub(crate) fn redis_key(kind: &str, digest: &[u8]) -> String {
    let mut s = String::with_capacity(12 + kind.len() + digest.len() * 2);
    s.push_str("duvo-mcp:");
    s.push_str(kind);
    s.push(':');
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
