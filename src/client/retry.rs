//! When and how long to wait before retrying a Duvo call.

use rand::Rng;
use std::time::Duration;

/// Exponential backoff with full jitter; honours `retry-after` on 429.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff step.
    pub base_delay: Duration,
    /// Cap on one backoff step.
    pub max_delay: Duration,
    /// Longest `retry-after` we wait for inside one call; longer ones are returned to the caller.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Delay before the next attempt after an HTTP `status`, or `None` to give up.
    pub fn delay_for_status(
        &self,
        status: u16,
        retry_after: Option<Duration>,
        attempt: u32,
        retryable: bool,
    ) -> Option<Duration> {
        if !retryable || attempt > self.max_retries || !matches!(status, 429 | 502 | 503 | 504) {
            return None;
        }
        match (status, retry_after) {
            (429, Some(wait)) if wait > self.max_retry_after => None,
            (_, Some(wait)) => Some(wait + self.jitter(Duration::from_millis(100))),
            _ => Some(self.backoff(attempt)),
        }
    }

    /// Delay before the next attempt after a connection error or timeout, or `None`.
    pub fn delay_for_transport(&self, attempt: u32, retryable: bool) -> Option<Duration> {
        (retryable && attempt <= self.max_retries).then(|| self.backoff(attempt))
    }

    /// Full-jitter exponential backoff for `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        self.jitter(exp.min(self.max_delay))
    }

    fn jitter(&self, up_to: Duration) -> Duration {
        let ms = u64::try_from(up_to.as_millis()).unwrap_or(u64::MAX).max(1);
        Duration::from_millis(rand::rng().random_range(ms / 2..=ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_statuses_are_retried() {
        let p = RetryPolicy::default();
        for s in [400, 401, 403, 404, 409, 413, 500] {
            assert!(p.delay_for_status(s, None, 1, true).is_none(), "{s}");
        }
        for s in [429, 502, 503, 504] {
            assert!(p.delay_for_status(s, None, 1, true).is_some(), "{s}");
        }
    }

    #[test]
    fn non_retryable_requests_and_exhausted_attempts_give_up() {
        let p = RetryPolicy::default();
        assert!(p.delay_for_status(503, None, 1, false).is_none());
        assert!(
            p.delay_for_status(503, None, p.max_retries + 1, true)
                .is_none()
        );
        assert!(p.delay_for_transport(1, false).is_none());
        assert!(p.delay_for_transport(1, true).is_some());
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = RetryPolicy::default();
        let d = p
            .delay_for_status(429, Some(Duration::from_secs(2)), 1, true)
            .expect("retry");
        assert!(d >= Duration::from_secs(2) && d <= Duration::from_millis(2100));
        assert!(
            p.delay_for_status(429, Some(Duration::from_secs(120)), 1, true)
                .is_none()
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        assert!(p.backoff(1) <= Duration::from_millis(200));
        assert!(p.backoff(20) <= p.max_delay);
        assert!(p.backoff(20) >= p.max_delay / 2);
    }
}
