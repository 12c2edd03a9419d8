//! Seeded fault injection: a [`FaultProfile`] of rules that slow down or break API requests.
//!
//! Kinds (each rule: `kind`, `rate` 0–1, optional `path_prefix`, `methods` and `limit` — the
//! rule stops after that many injections):
//! - `latency` (`fixed_ms`, `jitter_ms`): added delay, then a normal answer;
//! - `slow` (`ms`, default 3000): a very slow answer (delay first, then the operation runs);
//! - `error` (`status` 400–599, `retry_after`?): the Duvo error envelope; not run;
//! - `rate_limit` (`retry_after` s, default 1; `burst`, default 1): a 429 storm: this request
//!   and the next `burst - 1` matching ones get 429 with `retry-after`; not run;
//! - `drop_before`: the connection closes without an answer; not run;
//! - `drop_after_commit`: the operation runs (its idempotency record is stored), then the
//!   status, headers and half the body are sent and the connection aborts;
//! - `malformed`: 200 with a truncated JSON body; not run;
//! - `malformed_after_commit`: the operation runs, its answer arrives with the body cut in half.
//!
//! Only the `*_after_commit` kinds run the operation: they are the case where a retry without
//! the same `Idempotency-Key` would duplicate a write.
//!
//! Set by [`super::EmulatorConfig::faults`], `duvo-mcp emulator --fault-profile JSON|@file` or
//! `--fault-rate R [--fault-seed S]` ([`FaultProfile::mixed`]), and at run time with
//! `PUT /_emulator/fault-profile` (the profile JSON, or `{"seed", "rate"}`; restarts the random
//! sequence and the counters), `GET` (`{active, profile, requests_seen, faulted, injected}`) and
//! `DELETE` (no faults; answers the final counts). Every injected fault is in the request log
//! (`GET /_emulator/requests`): `fault` (its label, e.g. `error_503`, `drop_after_commit`,
//! `slow`, `latency`) and `fault_delay_ms`; a `drop_before` entry has `status: null`.
//!
//! Determinism: the k-th API request the emulator sees gets a fate that depends only on the
//! seed, the profile and the requests before it (see `engine.rs`), so the same seed and the same
//! request sequence give the same faults. With concurrent requests the order of arrival — and so
//! which request gets which fault — depends on scheduling; the rates hold, the exact mapping does
//! not. Client retries are requests too: a faulted request changes the sequence after it (a
//! sequential client replays exactly; backoff timing does not matter, only order). Changing the
//! profile (`PUT`) restarts the sequence from its seed.

mod engine;
mod profile;
mod respond;

pub use engine::{Decision, Failure, FaultEngine};
pub use profile::{FaultKind, FaultProfile, FaultRule};

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::errors::{ApiError, ApiResult};
use super::ok;
use super::state::AppState;

/// Fault flags of `duvo-mcp emulator`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct FaultArgs {
    /// Fault profile: JSON `{"seed", "rate"?, "rules"?: [...]}` or `@file` (see the emulator docs).
    #[arg(long, value_name = "JSON|@FILE", env = "DUVO_EMULATOR_FAULT_PROFILE")]
    pub fault_profile: Option<String>,
    /// Fail about this share of requests (0.0–1.0) with a mix of every fault kind.
    #[arg(long, value_name = "RATE", env = "DUVO_EMULATOR_FAULT_RATE")]
    pub fault_rate: Option<f64>,
    /// Seed of the fault profile's random sequence (default: the profile's, else 0).
    #[arg(long, value_name = "N", env = "DUVO_EMULATOR_FAULT_SEED")]
    pub fault_seed: Option<u64>,
}

impl FaultArgs {
    /// The profile the flags describe (none without flags).
    pub fn profile(&self) -> Result<FaultProfile, String> {
        FaultProfile::from_cli(
            self.fault_profile.as_deref(),
            self.fault_rate,
            self.fault_seed,
        )
    }
}

/// What the fault layer did to a request that went on to the API middleware (for its log entry).
#[derive(Clone, Debug)]
pub(crate) struct FaultNote {
    /// The failure's label, or `slow`/`latency` for delays only.
    pub label: String,
    /// Delay added, in milliseconds.
    pub delay_ms: u64,
}

impl FaultNote {
    /// Adds `fault` and `fault_delay_ms` to a request-log entry.
    pub fn annotate(&self, entry: &mut Value) {
        if let Some(obj) = entry.as_object_mut() {
            obj.insert("fault".into(), json!(self.label));
            obj.insert("fault_delay_ms".into(), json!(self.delay_ms));
        }
    }
}

/// State of the fault layer: the emulator (for the request log) and the engine.
#[derive(Clone, Debug)]
pub(crate) struct FaultLayer {
    /// The emulator.
    pub state: Arc<AppState>,
    /// The fault engine.
    pub engine: Arc<FaultEngine>,
}

/// Routes `/_emulator/fault-profile` over `engine`.
pub(crate) fn routes<S>(engine: Arc<FaultEngine>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route(
            "/_emulator/fault-profile",
            get(get_profile).put(put_profile).delete(delete_profile),
        )
        .with_state(engine)
}

async fn get_profile(State(engine): State<Arc<FaultEngine>>) -> Response {
    ok(engine.report())
}

async fn put_profile(State(engine): State<Arc<FaultEngine>>, body: Bytes) -> ApiResult<Response> {
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("body: not JSON: {e}")))?;
    let profile = FaultProfile::from_json(&v).map_err(ApiError::bad_request)?;
    tracing::debug!(
        seed = profile.seed,
        rules = profile.rules.len(),
        "fault profile set"
    );
    engine.set(profile);
    Ok(ok(engine.report()))
}

async fn delete_profile(State(engine): State<Arc<FaultEngine>>) -> Response {
    let last = engine.report();
    engine.set(FaultProfile::none());
    ok(json!({ "cleared": true, "last": last }))
}

/// The outermost middleware: decides each API request's fate and injects it.
pub(crate) async fn middleware(
    State(fx): State<FaultLayer>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    if path.starts_with("/_emulator") || !fx.engine.active() {
        return next.run(req).await;
    }
    let method = req.method().as_str().to_owned();
    let decision = fx.engine.decide(&method, &path);
    if decision.is_clean() {
        return next.run(req).await;
    }
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }
    let delay_ms = u64::try_from(decision.delay.as_millis()).unwrap_or(u64::MAX);
    let label = match &decision.failure {
        Some(f) => f.label(),
        None if decision.slow => "slow".to_owned(),
        None => "latency".to_owned(),
    };
    tracing::debug!(%method, %path, fault = %label, delay_ms, "injected fault");
    match decision.failure {
        Some(f) if !f.after_commit() => {
            let resp = match f {
                Failure::DropBefore => respond::dropped(),
                _ => respond::before(&f, fx.state.config.rate_limit_per_minute),
            };
            let status = (!matches!(f, Failure::DropBefore)).then(|| resp.status().as_u16());
            let mut entry = log_entry(&req, &method, &path, status);
            FaultNote { label, delay_ms }.annotate(&mut entry);
            fx.state.control().log(entry);
            resp
        }
        failure => {
            req.extensions_mut().insert(FaultNote { label, delay_ms });
            let resp = next.run(req).await;
            match failure {
                Some(f) => respond::after(&f, resp).await,
                None => resp,
            }
        }
    }
}

/// A request-log entry shaped like the API middleware's (never the key itself).
fn log_entry(req: &Request, method: &str, path: &str, status: Option<u16>) -> Value {
    let idem = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty());
    json!({
        "method": method,
        "path": path,
        "query": req.uri().query(),
        "idempotency_key": idem,
        "authorization_present": req.headers().contains_key(header::AUTHORIZATION),
        "status": status,
    })
}
