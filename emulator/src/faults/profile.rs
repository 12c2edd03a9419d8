//! What a fault profile says: rules (kind, rate, filters) and a seed, with their JSON form.

use serde_json::{Map, Value, json};

/// Longest added latency or slow delay one rule may ask for.
const MAX_DELAY_MS: u64 = 600_000;

/// A seeded set of fault rules; the default (no rules) injects nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultProfile {
    /// Seed of the profile's `StdRng` (same seed + same request sequence → same faults).
    pub seed: u64,
    /// The rules, in order (failure kinds share one draw per request, in this order).
    pub rules: Vec<FaultRule>,
}

/// One rule: what to inject, how often, and to which requests.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    /// What to inject.
    pub kind: FaultKind,
    /// Probability per matching request, 0.0–1.0 (for `rate_limit`: of starting a storm).
    pub rate: f64,
    /// Only paths starting with this prefix (default: every API path).
    pub path_prefix: Option<String>,
    /// Only these methods, upper case (empty: every method).
    pub methods: Vec<String>,
    /// Stop after injecting this many times (storms count once); `None`: no end.
    pub limit: Option<u64>,
}

/// The kinds of fault. Only the `*_after_commit` kinds let the operation run; delays run it late.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// Wait `fixed_ms` plus a uniform `0..=jitter_ms`, then answer normally.
    Latency {
        /// Always added.
        fixed_ms: u64,
        /// Upper bound of the random part.
        jitter_ms: u64,
    },
    /// Wait `ms` (a very slow answer), then answer normally.
    Slow {
        /// The delay.
        ms: u64,
    },
    /// Answer `status` with the Duvo error envelope, without running the operation.
    Error {
        /// 400–599.
        status: u16,
        /// `retry-after` seconds to send, if any.
        retry_after: Option<u64>,
    },
    /// A 429 storm: this request and the next `burst - 1` matching ones get 429 with `retry-after`.
    RateLimit {
        /// `retry-after` seconds.
        retry_after: u64,
        /// 429s per storm (at least 1).
        burst: u32,
    },
    /// Close the connection without answering; the operation does not run.
    DropBefore,
    /// Run the operation (idempotency record stored), send the headers and part of the body,
    /// then abort the connection.
    DropAfterCommit,
    /// Answer 200 with a truncated JSON body; the operation does not run.
    Malformed,
    /// Run the operation, then answer its status with the body cut in half (invalid JSON).
    MalformedAfterCommit,
}

impl FaultKind {
    /// The JSON `kind` name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Latency { .. } => "latency",
            Self::Slow { .. } => "slow",
            Self::Error { .. } => "error",
            Self::RateLimit { .. } => "rate_limit",
            Self::DropBefore => "drop_before",
            Self::DropAfterCommit => "drop_after_commit",
            Self::Malformed => "malformed",
            Self::MalformedAfterCommit => "malformed_after_commit",
        }
    }

    /// True for delays (latency, slow): they never fail a request.
    pub fn is_delay(&self) -> bool {
        matches!(self, Self::Latency { .. } | Self::Slow { .. })
    }
}

impl FaultRule {
    /// A rule for every request.
    pub fn new(kind: FaultKind, rate: f64) -> Self {
        Self {
            kind,
            rate,
            path_prefix: None,
            methods: Vec::new(),
            limit: None,
        }
    }

    /// Stops the rule after `n` injections.
    pub fn at_most(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    /// Restricts the rule to paths starting with `prefix`.
    pub fn on_path(mut self, prefix: impl Into<String>) -> Self {
        self.path_prefix = Some(prefix.into());
        self
    }

    /// Restricts the rule to `methods`.
    pub fn on_methods(mut self, methods: &[&str]) -> Self {
        self.methods = methods.iter().map(|m| m.to_ascii_uppercase()).collect();
        self
    }

    /// Whether the rule applies to a request.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.path_prefix
            .as_deref()
            .is_none_or(|p| path.starts_with(p))
            && (self.methods.is_empty()
                || self.methods.iter().any(|m| m.eq_ignore_ascii_case(method)))
    }

    fn to_json(&self) -> Value {
        let mut v = json!({ "kind": self.kind.name(), "rate": self.rate });
        let extra = match &self.kind {
            FaultKind::Latency {
                fixed_ms,
                jitter_ms,
            } => json!({ "fixed_ms": fixed_ms, "jitter_ms": jitter_ms }),
            FaultKind::Slow { ms } => json!({ "ms": ms }),
            FaultKind::Error {
                status,
                retry_after,
            } => json!({ "status": status, "retry_after": retry_after }),
            FaultKind::RateLimit { retry_after, burst } => {
                json!({ "retry_after": retry_after, "burst": burst })
            }
            _ => json!({}),
        };
        if let (Some(obj), Value::Object(extra)) = (v.as_object_mut(), extra) {
            obj.extend(extra);
            if let Some(p) = &self.path_prefix {
                obj.insert("path_prefix".into(), json!(p));
            }
            if !self.methods.is_empty() {
                obj.insert("methods".into(), json!(self.methods));
            }
            if let Some(n) = self.limit {
                obj.insert("limit".into(), json!(n));
            }
        }
        v
    }

    fn from_json(v: &Value, at: usize) -> Result<Self, String> {
        let field = |name: &str| format!("rules[{at}].{name}");
        let obj = v
            .as_object()
            .ok_or_else(|| format!("rules[{at}]: must be an object"))?;
        let kind_name = obj.get("kind").and_then(Value::as_str).ok_or_else(|| {
            format!(
                "{}: is required (one of {})",
                field("kind"),
                KINDS.join(", ")
            )
        })?;
        let allowed: &[&str] = match kind_name {
            "latency" => &["fixed_ms", "jitter_ms"],
            "slow" => &["ms"],
            "error" => &["status", "retry_after"],
            "rate_limit" => &["retry_after", "burst"],
            _ => &[],
        };
        for key in obj.keys() {
            let common =
                ["kind", "rate", "path_prefix", "methods", "limit"].contains(&key.as_str());
            if !common && !allowed.contains(&key.as_str()) {
                return Err(format!(
                    "{}: unknown field for kind {kind_name}",
                    field(key)
                ));
            }
        }
        let ms = |name: &str, default: u64| -> Result<u64, String> {
            match obj.get(name) {
                None | Some(Value::Null) => Ok(default),
                Some(v) => v
                    .as_u64()
                    .filter(|n| *n <= MAX_DELAY_MS)
                    .ok_or_else(|| format!("{}: must be an integer 0–{MAX_DELAY_MS}", field(name))),
            }
        };
        let secs =
            |name: &str| -> Result<Option<u64>, String> {
                match obj.get(name) {
                    None | Some(Value::Null) => Ok(None),
                    Some(v) => v.as_u64().filter(|n| *n <= 3600).map(Some).ok_or_else(|| {
                        format!("{}: must be an integer 0–3600 (seconds)", field(name))
                    }),
                }
            };
        let kind = match kind_name {
            "latency" => FaultKind::Latency {
                fixed_ms: ms("fixed_ms", 0)?,
                jitter_ms: ms("jitter_ms", 0)?,
            },
            "slow" => FaultKind::Slow {
                ms: ms("ms", 3_000)?,
            },
            "error" => FaultKind::Error {
                status: obj
                    .get("status")
                    .and_then(Value::as_u64)
                    .filter(|s| (400..=599).contains(s))
                    .and_then(|s| u16::try_from(s).ok())
                    .ok_or_else(|| {
                        format!("{}: must be an HTTP error status 400–599", field("status"))
                    })?,
                retry_after: secs("retry_after")?,
            },
            "rate_limit" => FaultKind::RateLimit {
                retry_after: secs("retry_after")?.unwrap_or(1),
                burst: match obj.get("burst") {
                    None | Some(Value::Null) => 1,
                    Some(v) => v
                        .as_u64()
                        .filter(|n| (1..=1000).contains(n))
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| format!("{}: must be an integer 1–1000", field("burst")))?,
                },
            },
            "drop_before" => FaultKind::DropBefore,
            "drop_after_commit" => FaultKind::DropAfterCommit,
            "malformed" => FaultKind::Malformed,
            "malformed_after_commit" => FaultKind::MalformedAfterCommit,
            other => {
                return Err(format!(
                    "{}: unknown kind {other:?} (one of {})",
                    field("kind"),
                    KINDS.join(", ")
                ));
            }
        };
        let rate = match obj.get("rate") {
            None | Some(Value::Null) => {
                return Err(format!("{}: is required (0.0–1.0)", field("rate")));
            }
            Some(v) => v
                .as_f64()
                .filter(|r| r.is_finite() && (0.0..=1.0).contains(r))
                .ok_or_else(|| format!("{}: must be a number 0.0–1.0", field("rate")))?,
        };
        let path_prefix = match obj.get("path_prefix") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.starts_with('/') => Some(s.clone()),
            Some(_) => {
                return Err(format!(
                    "{}: must be a path starting with /",
                    field("path_prefix")
                ));
            }
        };
        let methods = match obj.get("methods") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|m| {
                    m.as_str()
                        .map(str::to_ascii_uppercase)
                        .filter(|m| ["GET", "POST", "PATCH", "PUT", "DELETE"].contains(&m.as_str()))
                        .ok_or_else(|| {
                            format!(
                                "{}: items must be GET, POST, PATCH, PUT or DELETE",
                                field("methods")
                            )
                        })
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(format!("{}: must be a list of methods", field("methods"))),
        };
        let limit = match obj.get("limit") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .ok_or_else(|| format!("{}: must be a non-negative integer", field("limit")))?,
            ),
        };
        Ok(Self {
            kind,
            rate,
            path_prefix,
            methods,
            limit,
        })
    }
}

/// Every kind name, for error messages.
const KINDS: &[&str] = &[
    "latency",
    "slow",
    "error",
    "rate_limit",
    "drop_before",
    "drop_after_commit",
    "malformed",
    "malformed_after_commit",
];

impl FaultProfile {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// True when the profile injects nothing.
    pub fn is_none(&self) -> bool {
        self.rules.iter().all(|r| r.rate <= 0.0)
    }

    /// A mix of every failure kind adding up to about `rate` of all requests, plus 0–4 ms of
    /// latency on every request and a rare slow answer. Shares of `rate`: 500 10 %, 502 15 %,
    /// 503 15 %, 429 storms (2 × 429, `retry-after: 1`) 15 %, drop_before 15 %,
    /// drop_after_commit 15 %, malformed 5 %, malformed_after_commit 10 %; slow (1.5 s) 5 %.
    pub fn mixed(rate: f64, seed: u64) -> Self {
        let r = if rate.is_finite() {
            rate.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let error = |status: u16, share: f64| {
            FaultRule::new(
                FaultKind::Error {
                    status,
                    retry_after: None,
                },
                r * share,
            )
        };
        Self {
            seed,
            rules: vec![
                FaultRule::new(
                    FaultKind::Latency {
                        fixed_ms: 0,
                        jitter_ms: 4,
                    },
                    if r > 0.0 { 1.0 } else { 0.0 },
                ),
                FaultRule::new(FaultKind::Slow { ms: 1_500 }, r * 0.05),
                error(500, 0.10),
                error(502, 0.15),
                error(503, 0.15),
                FaultRule::new(
                    FaultKind::RateLimit {
                        retry_after: 1,
                        burst: 2,
                    },
                    r * 0.075,
                ),
                FaultRule::new(FaultKind::DropBefore, r * 0.15),
                FaultRule::new(FaultKind::DropAfterCommit, r * 0.15),
                FaultRule::new(FaultKind::Malformed, r * 0.05),
                FaultRule::new(FaultKind::MalformedAfterCommit, r * 0.10),
            ],
        }
    }

    /// Checks rates: each 0.0–1.0, and the failure kinds (which share one draw) at most 1.0 together.
    pub fn validate(&self) -> Result<(), String> {
        for (i, r) in self.rules.iter().enumerate() {
            if !r.rate.is_finite() || !(0.0..=1.0).contains(&r.rate) {
                return Err(format!("rules[{i}].rate: must be a number 0.0–1.0"));
            }
        }
        let failing: f64 = self
            .rules
            .iter()
            .filter(|r| !r.kind.is_delay())
            .map(|r| r.rate)
            .sum();
        if failing > 1.0 + 1e-9 {
            return Err(format!(
                "rates of the failure kinds add up to {failing:.3}; at most 1.0 (they share one draw per request)"
            ));
        }
        Ok(())
    }

    /// Parses `{"seed"?, "rate"?, "rules"?: [...]}`: `rate` adds the [`Self::mixed`] rules,
    /// `rules` adds explicit ones after them.
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let empty = Map::new();
        let obj = match v {
            Value::Object(o) => o,
            Value::Null => &empty,
            _ => return Err("the fault profile must be a JSON object".into()),
        };
        for key in obj.keys() {
            if !["seed", "rate", "rules"].contains(&key.as_str()) {
                return Err(format!("{key}: unknown field (expected seed, rate, rules)"));
            }
        }
        let seed = match obj.get("seed") {
            None | Some(Value::Null) => 0,
            Some(s) => s
                .as_u64()
                .ok_or_else(|| "seed: must be a non-negative integer".to_owned())?,
        };
        let mut profile = match obj.get("rate") {
            None | Some(Value::Null) => Self {
                seed,
                rules: Vec::new(),
            },
            Some(r) => {
                let rate = r
                    .as_f64()
                    .filter(|r| r.is_finite() && (0.0..=1.0).contains(r))
                    .ok_or_else(|| "rate: must be a number 0.0–1.0".to_owned())?;
                Self::mixed(rate, seed)
            }
        };
        match obj.get("rules") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    profile.rules.push(FaultRule::from_json(item, i)?);
                }
            }
            Some(_) => return Err("rules: must be a list of rules".into()),
        }
        profile.validate()?;
        Ok(profile)
    }

    /// The JSON form accepted by [`Self::from_json`] (rules spelled out).
    pub fn to_json(&self) -> Value {
        json!({
            "seed": self.seed,
            "rules": self.rules.iter().map(FaultRule::to_json).collect::<Vec<_>>(),
        })
    }

    /// The profile of `duvo-mcp emulator`: `--fault-profile` (JSON, or `@file`) or `--fault-rate`
    /// (the [`Self::mixed`] profile), with `--fault-seed` overriding the seed of either.
    pub fn from_cli(
        profile: Option<&str>,
        rate: Option<f64>,
        seed: Option<u64>,
    ) -> Result<Self, String> {
        let mut out = match (profile, rate) {
            (Some(_), Some(_)) => {
                return Err("give --fault-profile or --fault-rate, not both".into());
            }
            (Some(text), None) => {
                let text = match text.strip_prefix('@') {
                    Some(path) => std::fs::read_to_string(path)
                        .map_err(|e| format!("--fault-profile: cannot read {path}: {e}"))?,
                    None => text.to_owned(),
                };
                let v: Value = serde_json::from_str(&text)
                    .map_err(|e| format!("--fault-profile: not JSON: {e}"))?;
                Self::from_json(&v).map_err(|e| format!("--fault-profile: {e}"))?
            }
            (None, Some(r)) => {
                if !(r.is_finite() && (0.0..=1.0).contains(&r)) {
                    return Err(format!("--fault-rate {r}: must be 0.0–1.0"));
                }
                Self::mixed(r, 0)
            }
            (None, None) => Self::none(),
        };
        if let Some(s) = seed {
            out.seed = s;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips_and_mixed_adds_up() {
        let p = FaultProfile::mixed(0.15, 7);
        p.validate().expect("valid");
        let failing: f64 = p
            .rules
            .iter()
            .filter(|r| !r.kind.is_delay())
            .map(|r| r.rate)
            .sum();
        assert!((failing - 0.15 * 0.925).abs() < 1e-9, "{failing}");
        let back = FaultProfile::from_json(&p.to_json()).expect("parses");
        assert_eq!(back, p);
        let short = FaultProfile::from_json(&json!({"seed": 7, "rate": 0.15})).expect("parses");
        assert_eq!(short, p);
    }

    #[test]
    fn rules_parse_with_filters_and_errors_name_the_field() {
        let p = FaultProfile::from_json(&json!({"seed": 1, "rules": [
            {"kind": "error", "status": 503, "rate": 0.5, "retry_after": 2,
             "path_prefix": "/v2/queues", "methods": ["post"]},
            {"kind": "rate_limit", "rate": 0.1, "burst": 3, "limit": 2},
        ]}))
        .expect("parses");
        assert_eq!(
            p.rules[0],
            FaultRule::new(
                FaultKind::Error {
                    status: 503,
                    retry_after: Some(2)
                },
                0.5
            )
            .on_path("/v2/queues")
            .on_methods(&["POST"])
        );
        assert_eq!(
            p.rules[1].kind,
            FaultKind::RateLimit {
                retry_after: 1,
                burst: 3
            }
        );
        assert_eq!(p.rules[1].limit, Some(2));
        assert_eq!(
            FaultProfile::from_json(&p.to_json()).expect("round trip"),
            p
        );
        assert!(p.rules[0].matches("POST", "/v2/queues/x/cases"));
        assert!(!p.rules[0].matches("GET", "/v2/queues/x/cases"));
        assert!(!p.rules[0].matches("POST", "/v2/teams"));

        let err = |v: Value| FaultProfile::from_json(&v).expect_err("must fail");
        assert!(
            err(json!({"rules": [{"kind": "error", "rate": 0.1}]})).contains("rules[0].status")
        );
        assert!(err(json!({"rules": [{"kind": "boom", "rate": 0.1}]})).contains("unknown kind"));
        assert!(
            err(json!({"rules": [{"kind": "drop_before", "rate": 1.5}]})).contains("rules[0].rate")
        );
        assert!(
            err(json!({"rules": [{"kind": "drop_before", "rate": 0.1, "ms": 3}]}))
                .contains("unknown field")
        );
        assert!(err(json!({"rules": [{"kind": "drop_before", "rate": 0.6}, {"kind": "malformed", "rate": 0.6}]}))
            .contains("add up"));
        assert!(err(json!({"sede": 1})).contains("unknown field"));
    }

    #[test]
    fn cli_forms() {
        assert!(
            FaultProfile::from_cli(None, None, None)
                .expect("none")
                .is_none()
        );
        let p = FaultProfile::from_cli(None, Some(0.2), Some(9)).expect("rate");
        assert_eq!(p, FaultProfile::mixed(0.2, 9));
        let p = FaultProfile::from_cli(
            Some(r#"{"seed": 3, "rules": [{"kind": "malformed", "rate": 1}]}"#),
            None,
            None,
        )
        .expect("json");
        assert_eq!(p.seed, 3);
        assert!(FaultProfile::from_cli(Some("{}"), Some(0.1), None).is_err());
        assert!(FaultProfile::from_cli(None, Some(2.0), None).is_err());
    }
}
