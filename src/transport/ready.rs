//! `GET /readyz`: readiness for load balancers and Kubernetes. Ready means: not draining, and
//! every registered [`ReadinessCheck`] passes (the upstream probe below; shared state such as
//! Redis registers its own). 200 `{"status":"ok","checks":{…}}` when ready, else 503
//! `{"status":"unavailable","checks":{…}}`. Like `/healthz` it is answered before admission (no
//! Host, Origin or token check) and reveals nothing but check names and fixed words — no URL,
//! no key, no error text from upstream.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use http::{HeaderValue, StatusCode, header};
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

use crate::transport::limits::Limits;

/// Readiness path.
pub const READY_PATH: &str = "/readyz";

/// What one check found. The texts are fixed words: they are shown to anyone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckStatus {
    /// Working.
    Ok,
    /// Working in a reduced mode (e.g. shared state unreachable, falling back to in-process);
    /// still ready.
    Degraded(&'static str),
    /// Not working: the server is not ready.
    Failed(&'static str),
}

impl CheckStatus {
    fn word(&self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Degraded(w) | Self::Failed(w) => w,
        }
    }
}

/// One readiness condition (upstream, Redis …).
pub trait ReadinessCheck: Send + Sync {
    /// The key in the `checks` object.
    fn name(&self) -> &'static str;
    /// Runs the check (bounded in time by the caller as well).
    fn check(&self) -> BoxFuture<'_, CheckStatus>;
}

/// The registered checks. Cheap to clone.
#[derive(Clone, Default)]
pub struct Checks(Vec<Arc<dyn ReadinessCheck>>);

impl std::fmt::Debug for Checks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|c| c.name()))
            .finish()
    }
}

impl Checks {
    /// Adds a check.
    pub fn push(&mut self, check: Arc<dyn ReadinessCheck>) {
        self.0.push(check);
    }
}

/// Longest time one check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);
/// How long an upstream probe result is reused (probes from many pollers cost one request).
const PROBE_TTL: Duration = Duration::from_secs(2);

/// Upstream reachability: an unauthenticated `GET` of the API root. It carries no key, so it
/// costs no rate budget; any HTTP answer below 500 (Duvo answers 401/404 there) means the API
/// is reachable, a 5xx, a time-out or a connection failure means it is not.
pub struct UpstreamProbe {
    http: reqwest::Client,
    url: Url,
    last: tokio::sync::Mutex<Option<(Instant, CheckStatus)>>,
}

impl UpstreamProbe {
    /// A probe of `base_url` (its root path).
    pub fn new(base_url: &Url) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(CHECK_TIMEOUT)
            .user_agent(concat!(
                "duvo-mcp/",
                env!("CARGO_PKG_VERSION"),
                " readiness"
            ))
            .build()?;
        Ok(Self {
            http,
            url: base_url.clone(),
            last: tokio::sync::Mutex::new(None),
        })
    }

    async fn probe(&self) -> CheckStatus {
        // One probe at a time; concurrent pollers share its answer.
        let mut last = self.last.lock().await;
        if let Some((at, status)) = last.as_ref()
            && at.elapsed() < PROBE_TTL
        {
            return status.clone();
        }
        let status = match self.http.get(self.url.clone()).send().await {
            Ok(resp) if resp.status().is_server_error() => CheckStatus::Failed("upstream error"),
            Ok(_) => CheckStatus::Ok,
            Err(e) if e.is_timeout() => CheckStatus::Failed("upstream timeout"),
            Err(_) => CheckStatus::Failed("upstream unreachable"),
        };
        if status != CheckStatus::Ok {
            tracing::warn!(
                status = status.word(),
                "readiness: the Duvo API is not reachable"
            );
        }
        *last = Some((Instant::now(), status.clone()));
        status
    }
}

impl ReadinessCheck for UpstreamProbe {
    fn name(&self) -> &'static str {
        "upstream"
    }
    fn check(&self) -> BoxFuture<'_, CheckStatus> {
        Box::pin(self.probe())
    }
}

/// Redis, when `--redis-url` is set: ready while it answers. While it is down the replica keeps
/// serving from in-process state (the fallback), but `/readyz` says so and answers 503: the
/// issue's readiness rule is "Redis reachable when configured", so a balancer that honours
/// readiness prefers replicas that still share the rate budget.
pub struct SharedStateCheck(pub crate::shared_state::SharedState);

impl ReadinessCheck for SharedStateCheck {
    fn name(&self) -> &'static str {
        "redis"
    }
    fn check(&self) -> BoxFuture<'_, CheckStatus> {
        Box::pin(async move {
            match self.0.status() {
                crate::shared_state::Status::Up | crate::shared_state::Status::Off => {
                    CheckStatus::Ok
                }
                crate::shared_state::Status::Down => {
                    CheckStatus::Failed("down (serving from in-process fallback)")
                }
            }
        })
    }
}

/// State of the `/readyz` handler.
#[derive(Clone)]
pub struct Readiness {
    /// The registered checks.
    pub checks: Checks,
    /// Drain state.
    pub limits: Arc<Limits>,
}

/// `GET /readyz`.
pub async fn readyz(State(r): State<Readiness>) -> Response {
    let results = futures::future::join_all(r.checks.0.iter().map(|c| async move {
        let status = tokio::time::timeout(CHECK_TIMEOUT + Duration::from_secs(1), c.check())
            .await
            .unwrap_or(CheckStatus::Failed("timeout"));
        (c.name(), status)
    }))
    .await;
    let mut checks = serde_json::Map::new();
    let draining = r.limits.draining();
    checks.insert(
        "shutdown".into(),
        (if draining { "draining" } else { "ok" }).into(),
    );
    let mut ready = !draining;
    for (name, status) in results {
        ready &= !matches!(status, CheckStatus::Failed(_));
        checks.insert(name.into(), status.word().into());
    }
    let body = serde_json::json!({
        "status": if ready { "ok" } else { "unavailable" },
        "checks": checks,
    });
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut resp = (code, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
