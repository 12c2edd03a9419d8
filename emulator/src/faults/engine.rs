//! Seeded fault decisions, one per API request, and counts of what was injected.
//!
//! Every request seen while a profile is active consumes the same number of draws from the
//! profile's `StdRng` (one for the failure kinds, two per delay rule), whether or not a rule
//! matches it, so the k-th request's fate depends only on the seed, the profile and the
//! requests before it. The failure kinds share the first draw: their rates are consecutive
//! segments of 0..1 in rule order, and the request gets the kind whose segment the draw falls
//! in (none when that rule's filters do not match it).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::profile::{FaultKind, FaultProfile};

/// A failure to inject into one request.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// Error status with the envelope.
    Error {
        /// Status.
        status: u16,
        /// `retry-after` seconds, if any.
        retry_after: Option<u64>,
    },
    /// 429 of a storm.
    RateLimited {
        /// `retry-after` seconds.
        retry_after: u64,
    },
    /// Close without answering.
    DropBefore,
    /// Run, then abort mid-body.
    DropAfterCommit,
    /// 200 with a truncated JSON body, not run.
    Malformed,
    /// Run, then answer with the body cut.
    MalformedAfterCommit,
}

impl Failure {
    /// Name in the request log and the counters (`error_503`, `rate_limit`, …).
    pub fn label(&self) -> String {
        match self {
            Self::Error { status, .. } => format!("error_{status}"),
            Self::RateLimited { .. } => "rate_limit".into(),
            Self::DropBefore => "drop_before".into(),
            Self::DropAfterCommit => "drop_after_commit".into(),
            Self::Malformed => "malformed".into(),
            Self::MalformedAfterCommit => "malformed_after_commit".into(),
        }
    }

    /// True when the operation runs before the failure (the `*_after_commit` kinds).
    pub fn after_commit(&self) -> bool {
        matches!(self, Self::DropAfterCommit | Self::MalformedAfterCommit)
    }
}

/// What happens to one request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decision {
    /// Added before anything else (latency and slow rules).
    pub delay: Duration,
    /// True when a `slow` rule fired.
    pub slow: bool,
    /// The failure, if any.
    pub failure: Option<Failure>,
}

impl Decision {
    /// True when nothing is injected.
    pub fn is_clean(&self) -> bool {
        self.delay.is_zero() && self.failure.is_none()
    }
}

#[derive(Debug)]
struct Storm {
    rule: usize,
    left: u32,
    retry_after: u64,
}

#[derive(Debug)]
struct EngineState {
    profile: FaultProfile,
    rng: StdRng,
    storm: Option<Storm>,
    seen: u64,
    faulted: u64,
    injected: BTreeMap<String, u64>,
    /// Injections per rule (for `limit`).
    fired: Vec<u64>,
}

impl EngineState {
    fn new(profile: FaultProfile) -> Self {
        Self {
            rng: StdRng::seed_from_u64(profile.seed),
            fired: vec![0; profile.rules.len()],
            profile,
            storm: None,
            seen: 0,
            faulted: 0,
            injected: BTreeMap::new(),
        }
    }
}

/// The active profile, its random state and counters (shared by the middleware and the routes).
#[derive(Debug)]
pub struct FaultEngine {
    state: Mutex<EngineState>,
}

impl FaultEngine {
    /// An engine running `profile` from its seed.
    pub fn new(profile: FaultProfile) -> Self {
        Self {
            state: Mutex::new(EngineState::new(profile)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, EngineState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the profile, restarting its random sequence and counters.
    pub fn set(&self, profile: FaultProfile) {
        *self.lock() = EngineState::new(profile);
    }

    /// True when the profile can inject something.
    pub fn active(&self) -> bool {
        !self.lock().profile.is_none()
    }

    /// Decides the fate of the next request (`method`, `path`) and counts it.
    pub fn decide(&self, method: &str, path: &str) -> Decision {
        let mut guard = self.lock();
        let st = &mut *guard;
        if st.profile.is_none() {
            return Decision::default();
        }
        st.seen += 1;
        let failure_draw: f64 = st.rng.random();
        let mut decision = Decision::default();
        for (i, rule) in st.profile.rules.iter().enumerate() {
            if !rule.kind.is_delay() {
                continue;
            }
            let hit: f64 = st.rng.random();
            let jitter: f64 = st.rng.random();
            let spent = rule.limit.is_some_and(|n| st.fired[i] >= n);
            if spent || !(hit < rule.rate && rule.matches(method, path)) {
                continue;
            }
            st.fired[i] += 1;
            match rule.kind {
                FaultKind::Latency {
                    fixed_ms,
                    jitter_ms,
                } => {
                    // jitter in 0..=jitter_ms
                    let extra = (jitter * (jitter_ms as f64 + 1.0)).floor() as u64;
                    decision.delay += Duration::from_millis(fixed_ms + extra.min(jitter_ms));
                }
                FaultKind::Slow { ms } => {
                    decision.delay += Duration::from_millis(ms);
                    decision.slow = true;
                }
                _ => {}
            }
        }
        decision.failure = match st.storm.take() {
            Some(mut storm) if st.profile.rules[storm.rule].matches(method, path) => {
                storm.left -= 1;
                let retry_after = storm.retry_after;
                if storm.left > 0 {
                    st.storm = Some(storm);
                }
                Some(Failure::RateLimited { retry_after })
            }
            other => {
                st.storm = other;
                pick_failure(st, failure_draw, method, path)
            }
        };
        if decision.slow {
            *st.injected.entry("slow".into()).or_default() += 1;
        } else if !decision.delay.is_zero() {
            *st.injected.entry("latency".into()).or_default() += 1;
        }
        if let Some(f) = &decision.failure {
            st.faulted += 1;
            *st.injected.entry(f.label()).or_default() += 1;
        }
        decision
    }

    /// `{active, profile, requests_seen, faulted, injected: {label: count}}`.
    pub fn report(&self) -> Value {
        let st = self.lock();
        json!({
            "active": !st.profile.is_none(),
            "profile": st.profile.to_json(),
            "requests_seen": st.seen,
            "faulted": st.faulted,
            "injected": st.injected,
        })
    }
}

/// The failure whose rate segment holds `draw`, if its rule matches (starting a storm for 429s).
fn pick_failure(st: &mut EngineState, draw: f64, method: &str, path: &str) -> Option<Failure> {
    let mut upper = 0.0;
    for (i, rule) in st.profile.rules.iter().enumerate() {
        if rule.kind.is_delay() {
            continue;
        }
        upper += rule.rate;
        if draw >= upper {
            continue;
        }
        if !rule.matches(method, path) || rule.limit.is_some_and(|n| st.fired[i] >= n) {
            return None;
        }
        st.fired[i] += 1;
        return Some(match rule.kind {
            FaultKind::Error {
                status,
                retry_after,
            } => Failure::Error {
                status,
                retry_after,
            },
            FaultKind::RateLimit { retry_after, burst } => {
                if burst > 1 {
                    st.storm = Some(Storm {
                        rule: i,
                        left: burst - 1,
                        retry_after,
                    });
                }
                Failure::RateLimited { retry_after }
            }
            FaultKind::DropBefore => Failure::DropBefore,
            FaultKind::DropAfterCommit => Failure::DropAfterCommit,
            FaultKind::Malformed => Failure::Malformed,
            FaultKind::MalformedAfterCommit => Failure::MalformedAfterCommit,
            FaultKind::Latency { .. } | FaultKind::Slow { .. } => return None,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::profile::FaultRule;
    use super::*;

    fn requests() -> Vec<(&'static str, String)> {
        (0..2000)
            .map(|i| match i % 4 {
                0 => ("GET", "/v2/teams".to_owned()),
                1 => ("POST", format!("/v2/queues/q{i}/cases")),
                2 => ("GET", format!("/v2/runs/r{i}")),
                _ => ("POST", "/v2/teams/t/runs".to_owned()),
            })
            .collect()
    }

    fn run(profile: &FaultProfile) -> Vec<Decision> {
        let engine = FaultEngine::new(profile.clone());
        requests()
            .iter()
            .map(|(m, p)| engine.decide(m, p))
            .collect()
    }

    #[test]
    fn same_seed_same_sequence_same_faults() {
        let p = FaultProfile::mixed(0.15, 7);
        let a = run(&p);
        assert_eq!(a, run(&p), "replayable");
        let other = run(&FaultProfile::mixed(0.15, 8));
        assert_ne!(a, other, "another seed gives other faults");
        // Resetting the profile restarts the sequence.
        let engine = FaultEngine::new(p.clone());
        for (m, path) in requests().iter().take(100) {
            engine.decide(m, path);
        }
        engine.set(p.clone());
        let again: Vec<Decision> = requests()
            .iter()
            .map(|(m, path)| engine.decide(m, path))
            .collect();
        assert_eq!(a, again);
        // About 15 % of requests fail (2000 draws: well within ±4 %).
        let failed = a.iter().filter(|d| d.failure.is_some()).count() as f64 / 2000.0;
        assert!((0.10..=0.20).contains(&failed), "{failed}");
        // Every failure kind of the mix shows up.
        let labels: std::collections::BTreeSet<String> = a
            .iter()
            .filter_map(|d| d.failure.as_ref().map(Failure::label))
            .collect();
        for l in [
            "error_500",
            "error_502",
            "error_503",
            "rate_limit",
            "drop_before",
            "drop_after_commit",
            "malformed",
            "malformed_after_commit",
        ] {
            assert!(labels.contains(l), "{l} missing from {labels:?}");
        }
    }

    #[test]
    fn filters_limit_a_rule_to_its_requests() {
        let p = FaultProfile {
            seed: 1,
            rules: vec![
                FaultRule::new(FaultKind::DropBefore, 1.0)
                    .on_path("/v2/queues")
                    .on_methods(&["POST"]),
            ],
        };
        for ((m, path), d) in requests().iter().zip(run(&p)) {
            let expect = *m == "POST" && path.starts_with("/v2/queues");
            assert_eq!(d.failure.is_some(), expect, "{m} {path}");
        }
    }

    #[test]
    fn storms_answer_burst_429s_in_a_row() {
        let p = FaultProfile {
            seed: 3,
            rules: vec![FaultRule::new(
                FaultKind::RateLimit {
                    retry_after: 2,
                    burst: 3,
                },
                0.05,
            )],
        };
        let d = run(&p);
        let first = d
            .iter()
            .position(|x| x.failure.is_some())
            .expect("a storm starts");
        for x in &d[first..first + 3] {
            assert_eq!(x.failure, Some(Failure::RateLimited { retry_after: 2 }));
        }
        // Storms come in runs of at least three.
        let mut run_len = 0;
        for x in &d {
            if x.failure.is_some() {
                run_len += 1;
            } else {
                assert!(run_len == 0 || run_len >= 3, "a storm of {run_len}");
                run_len = 0;
            }
        }
    }

    #[test]
    fn delays_add_fixed_plus_bounded_jitter_and_slow() {
        let p = FaultProfile {
            seed: 5,
            rules: vec![
                FaultRule::new(
                    FaultKind::Latency {
                        fixed_ms: 10,
                        jitter_ms: 5,
                    },
                    1.0,
                ),
                FaultRule::new(FaultKind::Slow { ms: 2_000 }, 0.1),
            ],
        };
        let d = run(&p);
        let mut jitters = std::collections::BTreeSet::new();
        for x in &d {
            assert!(x.failure.is_none());
            let ms = x.delay.as_millis() as u64 - if x.slow { 2_000 } else { 0 };
            assert!((10..=15).contains(&ms), "{ms}");
            jitters.insert(ms);
        }
        assert_eq!(
            jitters.len(),
            6,
            "every jitter value 0..=5 occurs: {jitters:?}"
        );
        assert!(d.iter().any(|x| x.slow) && d.iter().any(|x| !x.slow));
    }

    #[test]
    fn a_limited_rule_stops_after_its_count() {
        let p = FaultProfile {
            seed: 2,
            rules: vec![FaultRule::new(FaultKind::DropAfterCommit, 1.0).at_most(2)],
        };
        let d = run(&p);
        assert_eq!(d.iter().filter(|x| x.failure.is_some()).count(), 2);
        assert!(d[0].failure.is_some() && d[1].failure.is_some());
    }

    #[test]
    fn counters_and_report() {
        let engine = FaultEngine::new(FaultProfile {
            seed: 1,
            rules: vec![FaultRule::new(
                FaultKind::Error {
                    status: 503,
                    retry_after: None,
                },
                1.0,
            )],
        });
        for _ in 0..4 {
            assert_eq!(
                engine.decide("GET", "/v2/teams").failure,
                Some(Failure::Error {
                    status: 503,
                    retry_after: None
                })
            );
        }
        let r = engine.report();
        assert_eq!(r["requests_seen"], 4);
        assert_eq!(r["faulted"], 4);
        assert_eq!(r["injected"]["error_503"], 4);
        engine.set(FaultProfile::none());
        assert!(!engine.active());
        assert!(engine.decide("GET", "/v2/teams").is_clean());
        assert_eq!(engine.report()["requests_seen"], 0);
    }
}
