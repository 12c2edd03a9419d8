//! The per-key rate budget in Redis: one hash per key digest (`limit`, `remaining`, `reset` in
//! Unix ms, `confirmed`), read and written only by Lua scripts so replicas take tokens
//! atomically. Fed by Duvo's `x-ratelimit-*` answers like the in-process
//! [`RateLimiter`](crate::client::ratelimit::RateLimiter), with one addition: an answer whose
//! reset lies in the past describes a window that is over and is ignored, so a late answer can
//! never reopen a spent window.

use super::{SharedState, unix_ms};
use crate::client::ratelimit::{RateLimiter, WINDOW, header_u64};
use http::HeaderMap;
use redis::Script;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// Loads the window (a fresh one when absent or over); shared by every script.
const LOAD: &str = r"
local k = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[3])
local v = redis.call('HMGET', k, 'limit', 'remaining', 'reset', 'confirmed')
local limit = tonumber(v[1]) or tonumber(ARGV[2])
local remaining = tonumber(v[2])
local reset = tonumber(v[3]) or 0
local confirmed = tonumber(v[4]) or 0
if remaining == nil or now >= reset then
  remaining = limit
  reset = now + window
  confirmed = 0
end
";

const SAVE: &str = r"
redis.call('HSET', k, 'limit', limit, 'remaining', remaining, 'reset', reset, 'confirmed', confirmed)
redis.call('PEXPIRE', k, math.max(reset - now, 0) + 2 * window)
";

/// ARGV: now_ms, default_limit, window_ms → 0 (taken) or ms to wait.
static ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{LOAD}
local wait = 0
if remaining > 0 then remaining = remaining - 1 else wait = reset - now end
{SAVE}
return wait"
    ))
});

/// ARGV: now_ms, default_limit, window_ms, limit (-1 = absent), remaining (-1), reset_ms (-1).
static OBSERVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{LOAD}
local hl = tonumber(ARGV[4])
local hr = tonumber(ARGV[5])
local hreset = tonumber(ARGV[6])
local raised = hl >= 0 and hl > limit
if hl >= 0 then limit = math.max(hl, 1) end
if hreset >= 0 then
  if hreset > now then
    local new_window = hreset > reset + 1000
    if new_window or confirmed == 0 or hreset >= reset - 1000 then
      if hr >= 0 then
        if new_window or raised then remaining = hr else remaining = math.min(remaining, hr) end
      end
      reset = hreset
      confirmed = 1
    end
  end
elseif hr >= 0 then
  if raised then remaining = hr else remaining = math.min(remaining, hr) end
end
{SAVE}
return remaining"
    ))
});

/// ARGV: now_ms, default_limit, window_ms, block_ms.
static BLOCK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{LOAD}
remaining = 0
reset = now + tonumber(ARGV[4])
confirmed = 0
{SAVE}
return 0"
    ))
});

fn window_ms() -> i64 {
    i64::try_from(WINDOW.as_millis()).unwrap_or(60_000)
}

/// The budget of one key: shared through Redis when up, else the in-process `local` limiter.
pub struct Budget<'a> {
    shared: &'a SharedState,
    key: String,
    default_limit: u32,
    local: &'a RateLimiter,
}

impl SharedState {
    /// The budget of the key whose SHA-256 is `digest`, for requests to `base` (one budget per
    /// key and API root).
    pub fn budget<'a>(
        &'a self,
        base: &str,
        digest: &[u8; 32],
        default_limit: u32,
        local: &'a RateLimiter,
    ) -> Budget<'a> {
        use sha2::{Digest, Sha256};
        let key = if self.is_configured() {
            let mut h = Sha256::new();
            h.update(base.as_bytes());
            h.update(digest);
            super::redis_key("rl", &h.finalize())
        } else {
            String::new()
        };
        Budget {
            shared: self,
            key,
            default_limit,
            local,
        }
    }
}

impl Budget<'_> {
    /// Waits until a request may be sent, then takes it from the (shared) budget.
    pub async fn acquire(&self) {
        loop {
            let shared = self
                .shared
                .with_redis(|mut c| async move {
                    ACQUIRE
                        .key(&self.key)
                        .arg(unix_ms())
                        .arg(self.default_limit)
                        .arg(window_ms())
                        .invoke_async::<i64>(&mut c)
                        .await
                })
                .await;
            match shared {
                Some(0) => return,
                Some(wait) => {
                    let wait = Duration::from_millis(u64::try_from(wait).unwrap_or(10));
                    tracing::debug!(
                        wait_ms = wait.as_millis() as u64,
                        "rate limit (shared): waiting"
                    );
                    tokio::time::sleep(wait.clamp(Duration::from_millis(10), WINDOW)).await;
                }
                None => return self.local.acquire().await,
            }
        }
    }

    /// Adopts the server's view of the window from a response's headers.
    pub async fn observe(&self, headers: &HeaderMap) {
        let limit = header_u64(headers, "x-ratelimit-limit");
        let remaining = header_u64(headers, "x-ratelimit-remaining");
        let reset = header_u64(headers, "x-ratelimit-reset");
        if limit.is_none() && remaining.is_none() && reset.is_none() {
            return;
        }
        let now = unix_ms();
        let as_arg = |v: Option<u64>| v.map_or(-1, |v| i64::try_from(v).unwrap_or(i64::MAX));
        // Never trust a reset more than two windows away (clock skew, bad header).
        let reset_ms = reset.map_or(-1, |s| {
            i64::try_from(s)
                .unwrap_or(i64::MAX / 1000)
                .saturating_mul(1000)
                .min(now + 2 * window_ms())
        });
        let done = self
            .shared
            .with_redis(|mut c| async move {
                OBSERVE
                    .key(&self.key)
                    .arg(now)
                    .arg(self.default_limit)
                    .arg(window_ms())
                    .arg(as_arg(limit))
                    .arg(as_arg(remaining))
                    .arg(reset_ms)
                    .invoke_async::<i64>(&mut c)
                    .await
            })
            .await;
        if done.is_none() {
            self.local.observe(headers, Instant::now());
        }
    }

    /// Empties the budget until `retry_after` has passed (after a 429).
    pub async fn block_for(&self, retry_after: Duration) {
        let ms = i64::try_from(retry_after.as_millis()).unwrap_or(i64::MAX / 2);
        let done = self
            .shared
            .with_redis(|mut c| async move {
                BLOCK
                    .key(&self.key)
                    .arg(unix_ms())
                    .arg(self.default_limit)
                    .arg(window_ms())
                    .arg(ms)
                    .invoke_async::<i64>(&mut c)
                    .await
            })
            .await;
        if done.is_none() {
            self.local.block_for(retry_after, Instant::now());
        }
    }
}
