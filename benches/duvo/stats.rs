//! Latency samples and their percentiles.

use serde_json::{Value, json};
use std::time::Duration;

/// Latencies of one measurement, in microseconds.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    us: Vec<f64>,
}

impl Samples {
    /// Records one latency.
    pub fn push(&mut self, d: Duration) {
        self.us.push(d.as_secs_f64() * 1e6);
    }

    /// Adds every sample of `other`.
    pub fn extend(&mut self, other: Samples) {
        self.us.extend(other.us);
    }

    /// How many samples.
    pub fn len(&self) -> usize {
        self.us.len()
    }

    /// The `p`-th percentile (0–100) in microseconds, nearest rank; 0 when empty.
    pub fn percentile(&self, p: f64) -> f64 {
        if self.us.is_empty() {
            return 0.0;
        }
        let mut sorted = self.us.clone();
        sorted.sort_by(f64::total_cmp);
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    /// p50, p90, p99 and the sample count, as JSON (microseconds).
    pub fn to_json(&self) -> Value {
        json!({
            "n": self.len(),
            "p50_us": round(self.percentile(50.0)),
            "p90_us": round(self.percentile(90.0)),
            "p99_us": round(self.percentile(99.0)),
        })
    }
}

/// Rounds to one decimal.
pub fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Microseconds as a short human string (`850 µs`, `1.24 ms`).
pub fn human_us(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}
