//! Client-side rate limiter, one per API key, fed by Duvo's `x-ratelimit-*` headers.
//!
//! Duvo allows 300 requests a minute per key. The limiter keeps its own count of the current
//! window (so a burst never exceeds the budget even before the first answer) and adopts the
//! server's view (`x-ratelimit-limit`, `-remaining`, `-reset`) from every response.

use http::HeaderMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Duvo's documented budget per key and minute.
pub const DEFAULT_LIMIT: u32 = 300;
/// Length of a rate-limit window when the server has not said otherwise.
pub const WINDOW: Duration = Duration::from_secs(60);

/// The budget of one API key.
#[derive(Debug)]
pub struct RateLimiter {
    state: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    limit: u32,
    remaining: u32,
    reset_at: Instant,
}

impl RateLimiter {
    /// A limiter with `limit` requests per minute, starting a fresh window now.
    pub fn new(limit: u32) -> Self {
        Self {
            state: Mutex::new(Window {
                limit,
                remaining: limit,
                reset_at: Instant::now() + WINDOW,
            }),
        }
    }

    /// Takes one request from the budget, or says how long to wait for the next window.
    pub fn try_acquire(&self, now: Instant) -> Result<(), Duration> {
        let mut w = self.lock();
        if now >= w.reset_at {
            w.remaining = w.limit;
            w.reset_at = now + WINDOW;
        }
        if w.remaining > 0 {
            w.remaining -= 1;
            Ok(())
        } else {
            Err(w.reset_at.saturating_duration_since(now))
        }
    }

    /// Waits until a request may be sent, then takes it from the budget.
    pub async fn acquire(&self) {
        loop {
            match self.try_acquire(Instant::now()) {
                Ok(()) => return,
                Err(wait) => {
                    tracing::debug!(wait_ms = wait.as_millis() as u64, "rate limit: waiting");
                    tokio::time::sleep(wait.max(Duration::from_millis(10))).await;
                }
            }
        }
    }

    /// Adopts the server's view of the window from a response's headers.
    pub fn observe(&self, headers: &HeaderMap, now: Instant) {
        let limit = header_u64(headers, "x-ratelimit-limit");
        let remaining = header_u64(headers, "x-ratelimit-remaining");
        let reset = header_u64(headers, "x-ratelimit-reset").and_then(unix_to_instant(now));
        let mut w = self.lock();
        // A key allowed more than we assumed: our own count (which only ever goes down within a
        // window) would hold it to the assumed budget, so take the server's count instead.
        let raised = limit.is_some_and(|l| clamp_u32(l) > w.limit);
        if let Some(limit) = limit {
            w.limit = clamp_u32(limit).max(1);
        }
        if let Some(reset_at) = reset {
            let new_window = reset_at > w.reset_at + Duration::from_secs(1);
            w.reset_at = reset_at;
            if let Some(remaining) = remaining {
                // In the same window, in-flight requests may already have taken budget locally.
                w.remaining = if new_window || raised {
                    clamp_u32(remaining)
                } else {
                    w.remaining.min(clamp_u32(remaining))
                };
            }
        } else if let Some(remaining) = remaining {
            w.remaining = if raised {
                clamp_u32(remaining)
            } else {
                w.remaining.min(clamp_u32(remaining))
            };
        }
    }

    /// Empties the budget until `retry_after` has passed (after a 429).
    pub fn block_for(&self, retry_after: Duration, now: Instant) {
        let mut w = self.lock();
        // The server says when to try again; the next answer's headers correct the window.
        w.remaining = 0;
        w.reset_at = now + retry_after;
    }

    /// The share of the current window's budget left, 0.0–1.0 (1.0 once the window is over).
    pub fn share_left(&self, now: Instant) -> f64 {
        let w = self.lock();
        if now >= w.reset_at || w.limit == 0 {
            return 1.0;
        }
        f64::from(w.remaining) / f64::from(w.limit)
    }

    /// Requests left in the current window (for tests and diagnostics).
    pub fn remaining(&self) -> u32 {
        self.lock().remaining
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Window> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(crate) fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn clamp_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Converts a Unix timestamp (seconds) into an `Instant`, relative to `now`.
fn unix_to_instant(now: Instant) -> impl Fn(u64) -> Option<Instant> {
    move |secs| {
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
        // Never trust a reset more than two windows away (clock skew, bad header).
        let ahead = secs.saturating_sub(wall).min(2 * WINDOW.as_secs());
        Some(now + Duration::from_secs(ahead))
    }
}

/// Parses `retry-after` (seconds; HTTP dates are treated as one second).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    Some(match raw.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs >= 0.0 => Duration::from_secs_f64(secs.min(3600.0)),
        _ => Duration::from_secs(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("header value"));
        }
        h
    }

    #[test]
    fn budget_runs_out_and_refills_next_window() {
        let rl = RateLimiter::new(2);
        let t0 = Instant::now();
        assert!(rl.try_acquire(t0).is_ok());
        assert!(rl.try_acquire(t0).is_ok());
        let wait = rl.try_acquire(t0).expect_err("third request must wait");
        assert!(wait > Duration::from_secs(50));
        assert!(rl.try_acquire(t0 + WINDOW + Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn server_headers_lower_the_budget() {
        let rl = RateLimiter::new(300);
        let now = Instant::now();
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        rl.observe(
            &headers(&[
                ("x-ratelimit-limit", "300".into()),
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", (wall + 30).to_string()),
            ]),
            now,
        );
        assert_eq!(rl.remaining(), 0);
        let wait = rl.try_acquire(now).expect_err("exhausted by the server");
        assert!(wait <= Duration::from_secs(31) && wait >= Duration::from_secs(28));
    }

    #[test]
    fn a_higher_server_limit_is_adopted_within_the_window() {
        let rl = RateLimiter::new(3);
        let now = Instant::now();
        for _ in 0..3 {
            assert!(rl.try_acquire(now).is_ok());
        }
        assert!(rl.try_acquire(now).is_err(), "the assumed budget is spent");
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        rl.observe(
            &headers(&[
                ("x-ratelimit-limit", "1000".into()),
                ("x-ratelimit-remaining", "997".into()),
                ("x-ratelimit-reset", (wall + 60).to_string()),
            ]),
            now,
        );
        assert_eq!(rl.remaining(), 997);
        assert!(rl.try_acquire(now).is_ok());
        // Later answers in the same window still only lower the count.
        rl.observe(
            &headers(&[
                ("x-ratelimit-limit", "1000".into()),
                ("x-ratelimit-remaining", "999".into()),
                ("x-ratelimit-reset", (wall + 60).to_string()),
            ]),
            now,
        );
        assert_eq!(rl.remaining(), 996);
    }

    #[test]
    fn block_for_after_429() {
        let rl = RateLimiter::new(300);
        let now = Instant::now();
        rl.block_for(Duration::from_secs(5), now);
        assert!(rl.try_acquire(now).is_err());
    }

    #[test]
    fn retry_after_parses_seconds() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", "2".into())])),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_after(&headers(&[(
                "retry-after",
                "Wed, 21 Oct 2015 07:28:00 GMT".into()
            )])),
            Some(Duration::from_secs(1))
        );
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }
}
